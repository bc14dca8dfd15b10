package llvmgen_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// TestUniqueKernel runs Unique flattened (unsorted, with NaN and -0), along
// an axis (sorted) and on integers, with the unique counts the interpreter
// finds as the static output shapes.
func TestUniqueKernel(t *testing.T) {
	const tmpl = `effir 1
graph "unique" opset{ai.onnx=11} {
  input %x : f32[10]
  input %m : i32[3,4]
  %y : f32[UA], %i : i64[UA], %v : i64[10], %c : i64[UA] = Unique(%x) {sorted=0}  @flat
  %ys : f32[UB], %is : i64[UB], %vs : i64[10], %cs : i64[UB] = Unique(%x)  @flat_sorted
  %ym : i32[3,UC], %im : i64[UC], %vm : i64[4], %cm : i64[UC] = Unique(%m) {axis=1}  @axis
  output %y
  output %i
  output %v
  output %c
  output %ys
  output %is
  output %vs
  output %cs
  output %ym
  output %im
  output %vm
  output %cm
}
`
	nan := float32(0)
	nan = nan / nan
	negZero := float32(0)
	negZero = -negZero
	in := map[string]*ir.Tensor{
		"x": {DType: ir.Float32, Shape: []int64{10}, Data: []float32{3, 1, nan, 2, 1, negZero, 0, nan, 3, -5}},
		"m": {DType: ir.Int32, Shape: []int64{3, 4}, Data: []int32{2, 1, 2, -7, 0, 4, 0, 1, 5, 5, 5, 5}},
	}
	g := parseGraph(t, tmpl)
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.NewReplacer(
		"UA]", fmt.Sprint(want["y"].Shape[0])+"]",
		"UB]", fmt.Sprint(want["ys"].Shape[0])+"]",
		"UC]", fmt.Sprint(want["im"].Shape[0])+"]").Replace(tmpl)
	checkOnTargets(t, src, in, 0)
}
