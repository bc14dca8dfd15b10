package llvmgen_test

import "testing"

// TestGridSampleKernel covers GridSample's modes, padding modes and
// align_corners with grid points inside and outside [-1, 1], in 2-D and 3-D.
func TestGridSampleKernel(t *testing.T) {
	src := `effir 1
graph "grid" opset{ai.onnx=20} {
  input %x : f32[2,3,4,5]
  input %g : f32[2,3,6,2]
  input %x3 : f32[1,2,3,4,3]
  input %g3 : f32[1,2,2,3,3]
  %a : f32[2,3,3,6] = GridSample(%x, %g) {mode="linear", padding_mode="zeros"}  @linear_zeros
  %b : f32[2,3,3,6] = GridSample(%x, %g) {mode="cubic", padding_mode="border", align_corners=1}  @cubic_border
  %c : f32[2,3,3,6] = GridSample(%x, %g) {mode="nearest", padding_mode="reflection"}  @nearest_reflect
  %d : f32[2,3,3,6] = GridSample(%x, %g) {mode="linear", padding_mode="reflection", align_corners=1}  @linear_reflect
  %e : f32[2,3,3,6] = GridSample(%x, %g) {mode="cubic", padding_mode="zeros"}  @cubic_zeros
  %f : f32[1,2,2,2,3] = GridSample(%x3, %g3) {mode="nearest", padding_mode="border"}  @nearest_3d
  %h : f32[1,2,2,2,3] = GridSample(%x3, %g3) {mode="linear", padding_mode="zeros"}  @linear_3d
  output %a
  output %b
  output %c
  output %d
  output %e
  output %f
  output %h
}
`
	g := parseGraph(t, src)
	checkOnTargets(t, src, randomInputs(g, 6, 0, 1, nil), 1e-5)
}
