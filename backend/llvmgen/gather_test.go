package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestGatherScatterKernels checks the runtime-index kernels (negative
// indices included) and the constant-index paths through the index map.
func TestGatherScatterKernels(t *testing.T) {
	src := `effir 1
graph "gather" opset{ai.onnx=18} {
  input %x : f32[3,4,2]
  input %i : i64[2,3]
  input %ie : i32[3,2,2]
  input %ind : i64[3,1]
  input %u : f32[3,2,2]
  input %un : f32[3,2]
  input %ind2 : i64[3,2]
  input %oh : i64[2,3]
  input %ov : f32[2]
  input %sl : i64[4]
  const %ci : i64[2] = [-1, 0]
  const %cc : bool[3] = [true, false, true]
  const %d : i64[] = 4
  %g : f32[3,2,3,2] = Gather(%x, %i) {axis=1}  @gather
  %gc : f32[2,4,2] = Gather(%x, %ci)  @gather_const
  %ge : f32[3,2,2] = GatherElements(%x, %ie) {axis=1}  @gather_elements
  %gn : f32[3,2] = GatherND(%x, %ind) {batch_dims=1}  @gather_nd
  %se : f32[3,4,2] = ScatterElements(%x, %ie, %u) {axis=1, reduction="add"}  @scatter_add
  %sn : f32[3,4,2] = ScatterND(%x, %ind2, %un) {reduction="mul"}  @scatter_nd
  %sm : f32[3,4,2] = ScatterElements(%x, %ie, %u) {axis=1, reduction="max"}  @scatter_max
  %o : f32[2,4,3] = OneHot(%oh, %d, %ov) {axis=1}  @onehot
  %rs : f32[3,4,2] = ReverseSequence(%x, %sl) {batch_axis=1, time_axis=0}  @revseq
  %cp : f32[2,4,2] = Compress(%x, %cc) {axis=0}  @compress
  %dr : f32[3,4,2], %dm : bool[3,4,2] = Dropout(%x)  @dropout
  output %g
  output %dr
  output %dm
  output %gc
  output %ge
  output %gn
  output %se
  output %sn
  output %sm
  output %o
  output %rs
  output %cp
}
`
	g := parseGraph(t, src)
	fixed := map[string]*ir.Tensor{
		"i":    ir.FromInt64([]int64{2, 3}, []int64{-1, 0, 3, 2, -4, 1}),
		"ind":  ir.FromInt64([]int64{3, 1}, []int64{1, -1, 0}),
		"ind2": ir.FromInt64([]int64{3, 2}, []int64{1, -1, 1, -1, 0, 2}),
		"oh":   ir.FromInt64([]int64{2, 3}, []int64{0, -1, 3, 7, 2, -5}),
		"sl":   ir.FromInt64([]int64{4}, []int64{3, 0, 1, 2}),
	}
	checkOnTargets(t, src, randomInputs(g, 2, -4, 4, fixed), 0)
}
