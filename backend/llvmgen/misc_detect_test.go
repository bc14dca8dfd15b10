package llvmgen_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
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

// TestNonMaxSuppressionKernel runs NonMaxSuppression (corner and center box
// formats, score threshold, ties) with the output row count the interpreter
// finds, and with a smaller static count that drops the last selections.
func TestNonMaxSuppressionKernel(t *testing.T) {
	const tmpl = `effir 1
graph "nms" opset{ai.onnx=11} {
  input %boxes : f32[2,6,4]
  input %scores : f32[2,3,6]
  const %max : i64[] = 3
  const %iou : f32[] = 0.4
  const %th : f32[] = 0.2
  %a : i64[RA,3] = NonMaxSuppression(%boxes, %scores, %max, %iou, %th)  @corner
  %b : i64[RB,3] = NonMaxSuppression(%boxes, %scores, %max, %iou) {center_point_box=1}  @center
  output %a
  output %b
}
`
	g := parseGraph(t, tmpl) // RA and RB are symbolic dims here
	in := randomInputs(g, 11, 0, 1, nil)
	s := in["scores"].Data.([]float32)
	for i := range s {
		s[i] = float32(math.Abs(float64(s[i]))) / 2
	}
	s[3] = s[4] // a tie
	b := in["boxes"].Data.([]float32)
	for i := range b {
		b[i] = float32(math.Abs(float64(b[i])))
	}
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := want["a"].Shape[0], want["b"].Shape[0]
	static := func(a, b int64) string {
		return strings.NewReplacer("RA,", fmt.Sprint(a)+",", "RB,", fmt.Sprint(b)+",").Replace(tmpl)
	}
	checkOnTargets(t, static(ra, rb), in, 0)
	if ra > 1 {
		// Fewer static rows than selections: the prefix must match.
		g2 := parseGraph(t, static(ra-1, rb))
		for _, name := range targetNames[:1] {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&engine.Engine{Spec: spec}).Run(g2, in)
			if err != nil {
				t.Fatal(err)
			}
			w, gd := want["a"].Int64s(), got["a"].Int64s()
			for i := range gd {
				if gd[i] != w[i] {
					t.Fatalf("%s: truncated a[%d] = %d, want %d", name, i, gd[i], w[i])
				}
			}
		}
	}
}
