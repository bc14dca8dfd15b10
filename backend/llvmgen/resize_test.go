package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestResizeKernels covers Resize's modes, coordinate transformations,
// nearest modes, antialias, exclude_outside, axes, keep_aspect_ratio_policy,
// runtime roi/scales/sizes and the index-map path (constant nearest, u8),
// against the interpreter.
func TestResizeKernels(t *testing.T) {
	src := `effir 1
graph "resize" opset{ai.onnx=19} {
  input %x : f32[1,2,4,5]
  input %sc : f32[4]
  input %sz : i64[4]
  input %sz2 : i64[2]
  input %roi : f32[8]
  input %xu : u8[1,2,4,5]
  const %up : f32[4] = [1, 1, 2, 1.5]
  const %down : f32[2] = [0.6, 0.45]
  %a : f32[1,2,2,3] = Resize(%x, _, %sc) {mode="linear"}  @linear_scales
  %b : f32[1,2,7,9] = Resize(%x, _, _, %sz) {mode="cubic", coordinate_transformation_mode="align_corners"}  @cubic_sizes
  %c : f32[1,2,7,9] = Resize(%x, _, _, %sz) {mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"}  @nearest_floor
  %d : f32[1,2,7,9] = Resize(%x, %roi, _, %sz) {mode="linear", coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0}  @crop
  %e : f32[1,2,8,7] = Resize(%x, _, %up) {mode="nearest", nearest_mode="round_prefer_ceil"}  @nearest_ceil
  %f : f32[1,2,2,2] = Resize(%x, _, %down) {mode="cubic", antialias=1, exclude_outside=1, coordinate_transformation_mode="pytorch_half_pixel", axes=[2, 3]}  @cubic_aa
  %g : f32[1,2,2,2] = Resize(%x, _, %down) {mode="linear", antialias=1, coordinate_transformation_mode="half_pixel_symmetric", axes=[2, 3]}  @linear_aa
  %h : f32[1,2,8,10] = Resize(%x, _, _, %sz2) {mode="cubic", exclude_outside=1, cubic_coeff_a=-0.5, axes=[2, 3], keep_aspect_ratio_policy="not_larger"}  @keep_ratio
  %u : u8[1,2,8,7] = Resize(%xu, _, %up) {mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="ceil"}  @nearest_u8
  output %u
  output %a
  output %b
  output %c
  output %d
  output %e
  output %f
  output %g
  output %h
}
`
	g := parseGraph(t, src)
	fixed := map[string]*ir.Tensor{
		"sc":  {DType: ir.Float32, Shape: []int64{4}, Data: []float32{1, 1, 0.6, 0.6}},
		"sz":  ir.FromInt64([]int64{4}, []int64{1, 2, 7, 9}),
		"sz2": ir.FromInt64([]int64{2}, []int64{8, 12}),
		"roi": {DType: ir.Float32, Shape: []int64{8}, Data: []float32{0, 0, 0.4, 0.6, 1, 1, 1.2, 0.7}},
	}
	checkOnTargets(t, src, randomInputs(g, 4, 0, 200, fixed), 1e-5)
}
