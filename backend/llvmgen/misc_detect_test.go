package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestRoiAlignKernel covers RoiAlign in avg and max mode, both coordinate
// transformation modes, fixed and adaptive sampling grids, and boxes partly
// outside the image.
func TestRoiAlignKernel(t *testing.T) {
	src := `effir 1
graph "roi" opset{ai.onnx=16} {
  input %x : f32[2,3,8,9]
  input %rois : f32[4,4]
  input %bi : i64[4]
  %a : f32[4,3,3,2] = RoiAlign(%x, %rois, %bi) {output_height=3, output_width=2, sampling_ratio=2, spatial_scale=0.5}  @avg
  %b : f32[4,3,2,3] = RoiAlign(%x, %rois, %bi) {mode="max", output_height=2, output_width=3, coordinate_transformation_mode="output_half_pixel"}  @max
  %c : f32[4,3,4,4] = RoiAlign(%x, %rois, %bi) {output_height=4, output_width=4}  @adaptive
  output %a
  output %b
  output %c
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 10, 0, 2, map[string]*ir.Tensor{
		"rois": {DType: ir.Float32, Shape: []int64{4, 4}, Data: []float32{
			0, 0, 7, 6, 2.5, 1.2, 12.3, 15.9, -3, -2, 4, 3, 6, 5, 20, 18}},
		"bi": ir.FromInt64([]int64{4}, []int64{0, 1, 1, 0}),
	})
	checkOnTargets(t, src, in, 1e-5)
}
