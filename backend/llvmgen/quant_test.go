package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestQuantKernels checks QuantizeLinear (per tensor and per axis, u8/i8/i32,
// halfway cases and saturation), DequantizeLinear and DynamicQuantizeLinear
// bit-exactly against the interpreter.
func TestQuantKernels(t *testing.T) {
	src := `effir 1
graph "quant" opset{ai.onnx=19} {
  input %x : f32[2,3,4]
  input %q8 : u8[2,3,4]
  const %s : f32[] = 0.02
  const %zp : u8[] = 128
  const %sa : f32[3] = [0.5, 0.01, 0.25]
  const %zpa : i8[3] = [0, -3, 7]
  const %zi : i32[] = -5
  %qa : u8[2,3,4] = QuantizeLinear(%x, %s, %zp)  @q_tensor
  %qb : i8[2,3,4] = QuantizeLinear(%x, %sa, %zpa) {axis=1}  @q_axis
  %qc : i32[2,3,4] = QuantizeLinear(%x, %s, %zi)  @q_i32
  %qd : u8[2,3,4] = QuantizeLinear(%x, %s)  @q_nozp
  %da : f32[2,3,4] = DequantizeLinear(%q8, %s, %zp)  @dq
  %db : f32[2,3,4] = DequantizeLinear(%qb, %sa, %zpa) {axis=1}  @dq_axis
  %y : u8[2,3,4], %ys : f32[], %yz : u8[] = DynamicQuantizeLinear(%x)  @dyn
  output %qa
  output %qb
  output %qc
  output %qd
  output %da
  output %db
  output %y
  output %ys
  output %yz
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 3, 0, 256, nil)
	// Exact halfway cases for the scale 0.02 and 0.5: x/scale = k + 0.5.
	x := in["x"].Data.([]float32)
	x[0], x[1], x[2], x[3] = 0.25, -0.75, 3.01, -9
	for i := 4; i < len(x); i++ {
		x[i] *= 3
	}
	in["x"] = &ir.Tensor{DType: ir.Float32, Shape: []int64{2, 3, 4}, Data: x}
	checkOnTargets(t, src, in, 0)
}
