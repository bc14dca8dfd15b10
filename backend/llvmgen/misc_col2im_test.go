package llvmgen_test

import "testing"

// TestCol2ImKernel checks Col2Im with overlapping blocks (sums), padding,
// strides and dilations against the interpreter.
func TestCol2ImKernel(t *testing.T) {
	src := `effir 1
graph "col2im" opset{ai.onnx=18} {
  input %x : f32[2,6,12]
  input %y : f32[1,8,4]
  const %img : i64[2] = [5, 5]
  const %blk : i64[2] = [1, 3]
  const %img2 : i64[2] = [6, 5]
  const %blk2 : i64[2] = [2, 2]
  %a : f32[2,2,5,5] = Col2Im(%x, %img, %blk) {pads=[0, 1, 1, 0], strides=[2, 1]}  @overlap
  %b : f32[1,2,6,5] = Col2Im(%y, %img2, %blk2) {dilations=[2, 1], strides=[2, 2]}  @dilated
  output %a
  output %b
}
`
	g := parseGraph(t, src)
	checkOnTargets(t, src, randomInputs(g, 12, 0, 1, nil), 1e-6)
}
