package interp

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

func TestCol2ImDocExample(t *testing.T) {
	// ONNX Col2Im example: (1, 5, 5) columns, image 5x5, block 1x5.
	in := ir.FromFloat32([]int64{1, 5, 5}, []float32{
		1, 6, 11, 16, 21,
		2, 7, 12, 17, 22,
		3, 8, 13, 18, 23,
		4, 9, 14, 19, 24,
		5, 0, 15, 20, 25,
	})
	out := nnRun(t, "Col2Im", 1, nil, in, ir.FromInt64([]int64{2}, []int64{5, 5}), ir.FromInt64([]int64{2}, []int64{1, 5}))
	want := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25}
	nnClose(t, "col2im", out[0], []int64{1, 1, 5, 5}, want, 0)
}

func TestCol2ImInvertsIm2Col(t *testing.T) {
	// Col2Im of the im2col matrix of an all-ones image counts, per pixel,
	// how many windows cover it: with 3x3 blocks, stride 2, pads 1 on 5x5.
	attrs := map[string]*ir.Attr{"strides": ir.IntsAttr(2, 2), "pads": ir.IntsAttr(1, 1, 1, 1)}
	g, err := windowGeometry(nnNode("Col2Im", 1, attrs), []int64{5, 5}, []int64{3, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	L := int(nnProd(g.out))
	cols := make([]float32, 9*L)
	tabs := [][]int{g.srcTable(0), g.srcTable(1)}
	ones := make([]float32, 25)
	for i := range ones {
		ones[i] = 1
	}
	im2col(cols, ones, 1, 25, 9, 0, int(g.out[0]), g, tabs, strides(g.in))
	out := nnRun(t, "Col2Im", 1, attrs, ir.FromFloat32([]int64{1, 9, int64(L)}, cols),
		ir.FromInt64([]int64{2}, []int64{5, 5}), ir.FromInt64([]int64{2}, []int64{3, 3}))
	// Windows span [-1, 1], [1, 3], [3, 5] along each axis, so positions
	// 1 and 3 are covered twice.
	cover := []float64{1, 2, 1, 2, 1}
	var want []float64
	for _, a := range cover {
		for _, b := range cover {
			want = append(want, a*b)
		}
	}
	nnClose(t, "coverage", out[0], []int64{1, 1, 5, 5}, want, 0)
}

func TestDepthSpaceRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	v := make([]int64, 2*8*2*3)
	for i := range v {
		v[i] = rng.Int63n(1000)
	}
	x := ir.FromInt64([]int64{2, 8, 2, 3}, v)
	bs := map[string]*ir.Attr{"blocksize": ir.IntAttr(2)}
	d2s := nnRun(t, "DepthToSpace", 1, bs, x)
	if !equalShape(d2s[0].Shape, []int64{2, 2, 4, 6}) || d2s[0].DType != ir.Int64 {
		t.Fatalf("DepthToSpace: %s%v", d2s[0].DType, d2s[0].Shape)
	}
	back := nnRun(t, "SpaceToDepth", 1, bs, d2s[0])
	nnClose(t, "round trip", back[0], x.Shape, x.Float64s(), 0)
	// CRD: output channel 0 takes input channels 0..3 (DCR takes 0, 2, 4, 6).
	crd := nnRun(t, "DepthToSpace", 1, map[string]*ir.Attr{"blocksize": ir.IntAttr(2), "mode": ir.StringAttr("CRD")}, x)
	y := crd[0].Data.([]int64)
	for i, ci := range []int{0, 1, 2, 3} {
		// pixel (0,0) of input channel ci lands at (i/2, i%2)
		if got, want := y[(i/2)*6+i%2], v[ci*6]; got != want {
			t.Errorf("CRD block %d: got %d, want %d", i, got, want)
		}
	}
	yd := d2s[0].Data.([]int64)
	for i, ci := range []int{0, 2, 4, 6} {
		if got, want := yd[(i/2)*6+i%2], v[ci*6]; got != want {
			t.Errorf("DCR block %d: got %d, want %d", i, got, want)
		}
	}
	_, err := EvalNode(nnNode("DepthToSpace", 1, map[string]*ir.Attr{"blocksize": ir.IntAttr(3)}), []*ir.Tensor{x})
	if err == nil || !strings.Contains(err.Error(), "not divisible by blocksize² = 9") {
		t.Errorf("bad blocksize: error %v", err)
	}
}

func TestGridSamplePadding(t *testing.T) {
	// X is one row [1 2 3]; sample at normalized x = 1.5 (beyond the right
	// edge): with align_corners the pixel coordinate is 2.5.
	x := ir.FromFloat32([]int64{1, 1, 1, 3}, []float32{1, 2, 3})
	grid := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{1.5, 0})
	cases := []struct {
		pad, mode string
		want      float64
	}{
		{"zeros", "bilinear", 1.5},      // 0.5*3 + 0.5*0
		{"border", "bilinear", 3},       // clamped to 2
		{"reflection", "bilinear", 2.5}, // reflected to 1.5
		{"zeros", "nearest", 3},         // rint(2.5) = 2 (half to even) -> X[2]
	}
	for _, c := range cases {
		out := nnRun(t, "GridSample", 1, map[string]*ir.Attr{"align_corners": ir.IntAttr(1), "padding_mode": ir.StringAttr(c.pad), "mode": ir.StringAttr(c.mode)}, x, grid)
		nnClose(t, c.pad+"/"+c.mode, out[0], []int64{1, 1, 1, 1}, []float64{c.want}, 1e-6)
	}
}

func TestGridSampleIntegerX(t *testing.T) {
	// X may be any numeric type; interpolated values truncate like the
	// reference's astype: halfway between 10 and 15 -> 12.
	x := &ir.Tensor{DType: ir.Int32, Shape: []int64{1, 1, 1, 2}, Data: []int32{10, 15}}
	grid := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{0, 0})
	out := nnRun(t, "GridSample", 1, map[string]*ir.Attr{"align_corners": ir.IntAttr(1)}, x, grid)
	if out[0].DType != ir.Int32 {
		t.Fatalf("dtype %s, want i32", out[0].DType)
	}
	nnClose(t, "int", out[0], []int64{1, 1, 1, 1}, []float64{12}, 0)
}

func TestGridSample3DIdentity(t *testing.T) {
	// An align_corners grid hitting every voxel centre reproduces X.
	rng := rand.New(rand.NewSource(5))
	d, h, w := 2, 3, 4
	x := ir.FromFloat32([]int64{1, 2, int64(d), int64(h), int64(w)}, nnRand(rng, 2*d*h*w))
	norm := func(i, n int) float32 { return float32(2*i)/float32(n-1) - 1 }
	var g []float32
	for k := 0; k < d; k++ {
		for j := 0; j < h; j++ {
			for i := 0; i < w; i++ {
				g = append(g, norm(i, w), norm(j, h), norm(k, d))
			}
		}
	}
	grid := ir.FromFloat32([]int64{1, int64(d), int64(h), int64(w), 3}, g)
	for _, mode := range []string{"linear", "nearest", "cubic"} {
		out := nnRun(t, "GridSample", 1, map[string]*ir.Attr{"align_corners": ir.IntAttr(1), "mode": ir.StringAttr(mode)}, x, grid)
		nnClose(t, mode, out[0], x.Shape, x.Float64s(), 1e-5)
	}
}

func TestRoiAlignAvgMax(t *testing.T) {
	x := ir.FromFloat32([]int64{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	rois := ir.FromFloat32([]int64{1, 4}, []float32{0, 0, 2, 2})
	bi := ir.FromInt64([]int64{1}, []int64{0})
	// half_pixel: box [-0.5, 1.5]², one sample at (0.5, 0.5).
	attrs := map[string]*ir.Attr{"sampling_ratio": ir.IntAttr(1)}
	out := nnRun(t, "RoiAlign", 1, attrs, x, rois, bi)
	nnClose(t, "avg", out[0], []int64{1, 1, 1, 1}, []float64{2.5}, 1e-6)
	attrs["mode"] = ir.StringAttr("max")
	out = nnRun(t, "RoiAlign", 1, attrs, x, rois, bi)
	nnClose(t, "max", out[0], []int64{1, 1, 1, 1}, []float64{1}, 1e-6) // max of weighted corners 0.25*4
	_, err := EvalNode(nnNode("RoiAlign", 1, nil), []*ir.Tensor{x, rois, ir.FromInt64([]int64{1}, []int64{3})})
	if err == nil || !strings.Contains(err.Error(), "input 2 (batch_indices) has 3 at 0") {
		t.Errorf("bad batch index: error %v", err)
	}
}

func TestNonMaxSuppression(t *testing.T) {
	boxes := ir.FromFloat32([]int64{1, 3, 4}, []float32{
		0, 0, 1, 1,
		0, 0.1, 1, 1.1, // IoU with box 0 = 0.9/1.1
		1, 1, 0, 0, // flipped duplicate of box 0
	})
	scores := ir.FromFloat32([]int64{1, 1, 3}, []float32{0.5, 0.9, 0.3})
	maxOut := ir.FromInt64([]int64{1}, []int64{3})
	iou := ir.FromFloat32([]int64{1}, []float32{0.5})
	out := nnRun(t, "NonMaxSuppression", 1, nil, boxes, scores, maxOut, iou)
	// box 1 (0.9) first, it suppresses box 0 and box 2
	nnClose(t, "iou 0.5", out[0], []int64{1, 3}, []float64{0, 0, 1}, 0)
	iou = ir.FromFloat32([]int64{1}, []float32{0.95})
	out = nnRun(t, "NonMaxSuppression", 1, nil, boxes, scores, maxOut, iou)
	// box 2 is identical to box 0 (IoU 1) and is suppressed
	nnClose(t, "iou 0.95", out[0], []int64{2, 3}, []float64{0, 0, 1, 0, 0, 0}, 0)
	out = nnRun(t, "NonMaxSuppression", 1, nil, boxes, scores)
	nnClose(t, "no max", out[0], []int64{0, 3}, nil, 0)
	st := ir.FromFloat32([]int64{1}, []float32{0.6})
	out = nnRun(t, "NonMaxSuppression", 1, nil, boxes, scores, maxOut, ir.FromFloat32([]int64{1}, []float32{1}), st)
	nnClose(t, "score threshold", out[0], []int64{1, 3}, []float64{0, 0, 1}, 0)
}

func TestMaxRoiPool(t *testing.T) {
	v := make([]float32, 16)
	for i := range v {
		v[i] = float32(i)
	}
	x := ir.FromFloat32([]int64{1, 1, 4, 4}, v)
	rois := ir.FromFloat32([]int64{2, 5}, []float32{0, 0, 0, 3, 3, 0, 1, 1, 2, 2})
	out := nnRun(t, "MaxRoiPool", 1, map[string]*ir.Attr{"pooled_shape": ir.IntsAttr(2, 2)}, x, rois)
	// roi 0: 4x4 split into 2x2 bins; roi 1: rows/cols 1..2, one pixel per bin
	nnClose(t, "bins", out[0], []int64{2, 1, 2, 2}, []float64{5, 7, 13, 15, 5, 6, 9, 10}, 0)
	// spatial_scale 0.5: [2,2,6,6] -> rows/cols 1..3
	rois = ir.FromFloat32([]int64{1, 5}, []float32{0, 2, 2, 6, 6})
	out = nnRun(t, "MaxRoiPool", 1, map[string]*ir.Attr{"pooled_shape": ir.IntsAttr(1, 1), "spatial_scale": ir.FloatAttr(0.5)}, x, rois)
	nnClose(t, "scaled", out[0], []int64{1, 1, 1, 1}, []float64{15}, 0)
	_, err := EvalNode(nnNode("MaxRoiPool", 1, map[string]*ir.Attr{"pooled_shape": ir.IntsAttr(1, 1)}), []*ir.Tensor{x, ir.FromFloat32([]int64{1, 5}, []float32{1, 0, 0, 1, 1})})
	if err == nil || !strings.Contains(err.Error(), "roi 0 has batch index 1") {
		t.Errorf("bad batch: error %v", err)
	}
}
