package interp

import (
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

func TestResizeModes(t *testing.T) {
	row := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{10, 20})
	row4 := ir.FromFloat32([]int64{1, 1, 1, 4}, []float32{1, 2, 3, 4})
	sq := ir.FromFloat32([]int64{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	sc := func(v ...float32) *ir.Tensor { return ir.FromFloat32([]int64{int64(len(v))}, v) }
	sz := func(v ...int64) *ir.Tensor { return ir.FromInt64([]int64{int64(len(v))}, v) }
	asym := func(nm string) map[string]*ir.Attr {
		return map[string]*ir.Attr{"coordinate_transformation_mode": ir.StringAttr("asymmetric"), "nearest_mode": ir.StringAttr(nm)}
	}
	cases := []struct {
		name  string
		x     *ir.Tensor
		attrs map[string]*ir.Attr
		in    []*ir.Tensor // roi, scales, sizes
		shape []int64
		want  []float64
	}{
		// asymmetric x/2 = 0, .5, 1, 1.5: the nearest modes differ at .5
		{"round_prefer_floor", row, asym("round_prefer_floor"), []*ir.Tensor{nil, sc(1, 1, 1, 2)}, []int64{1, 1, 1, 4}, []float64{10, 10, 20, 20}},
		{"round_prefer_ceil", row, asym("round_prefer_ceil"), []*ir.Tensor{nil, sc(1, 1, 1, 2)}, []int64{1, 1, 1, 4}, []float64{10, 20, 20, 20}},
		{"floor", row, asym("floor"), []*ir.Tensor{nil, sc(1, 1, 1, 2)}, []int64{1, 1, 1, 4}, []float64{10, 10, 20, 20}},
		{"ceil", row, asym("ceil"), []*ir.Tensor{nil, sc(1, 1, 1, 2)}, []int64{1, 1, 1, 4}, []float64{10, 20, 20, 20}},
		// half_pixel linear upsample: x = -0.25, .25, .75, 1.25 (edges clamp)
		{"linear_half_pixel", row, map[string]*ir.Attr{"mode": ir.StringAttr("linear")}, []*ir.Tensor{nil, sc(1, 1, 1, 2)}, []int64{1, 1, 1, 4}, []float64{10, 12.5, 17.5, 20}},
		{"linear_align_corners", row, map[string]*ir.Attr{"mode": ir.StringAttr("linear"), "coordinate_transformation_mode": ir.StringAttr("align_corners")},
			[]*ir.Tensor{nil, nil, sz(1, 1, 1, 3)}, []int64{1, 1, 1, 3}, []float64{10, 15, 20}},
		// antialias linear downsample by 2: taps at -1..2 with weights
		// 1/8, 3/8, 3/8, 1/8 (edges clamp).
		{"linear_antialias", row4, map[string]*ir.Attr{"mode": ir.StringAttr("linear"), "antialias": ir.IntAttr(1)}, []*ir.Tensor{nil, sc(1, 1, 1, 0.5)}, []int64{1, 1, 1, 2}, []float64{1.625, 3.375}},
		// axes reorder: scales follow axes [3, 2]
		{"axes_3_2", sq, map[string]*ir.Attr{"axes": ir.IntsAttr(3, 2)}, []*ir.Tensor{nil, sc(2, 1)}, []int64{1, 1, 2, 4}, []float64{1, 1, 2, 2, 3, 3, 4, 4}},
		{"not_larger", sq, map[string]*ir.Attr{"axes": ir.IntsAttr(2, 3), "keep_aspect_ratio_policy": ir.StringAttr("not_larger")}, []*ir.Tensor{nil, nil, sz(3, 8)}, []int64{1, 1, 3, 3},
			[]float64{1, 1, 2, 1, 1, 2, 3, 3, 4}},
		{"not_smaller", sq, map[string]*ir.Attr{"axes": ir.IntsAttr(2, 3), "keep_aspect_ratio_policy": ir.StringAttr("not_smaller")}, []*ir.Tensor{nil, nil, sz(1, 4)}, []int64{1, 1, 4, 4},
			[]float64{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}},
		// scale 0.5 on width 3 gives 1 output: half_pixel samples x = 0.5,
		// half_pixel_symmetric re-centres the 1.5-pixel canvas to x = 1.
		{"half_pixel", ir.FromFloat32([]int64{1, 3}, []float32{1, 2, 4}), map[string]*ir.Attr{"mode": ir.StringAttr("linear")}, []*ir.Tensor{nil, sc(1, 0.5)}, []int64{1, 1}, []float64{1.5}},
		{"half_pixel_symmetric", ir.FromFloat32([]int64{1, 3}, []float32{1, 2, 4}), map[string]*ir.Attr{"mode": ir.StringAttr("linear"), "coordinate_transformation_mode": ir.StringAttr("half_pixel_symmetric")}, []*ir.Tensor{nil, sc(1, 0.5)}, []int64{1, 1}, []float64{2}},
		// tf_crop_and_resize: roi [0.5, 1.5] of a width-2 row -> x = .5, 1, 1.5; the last is outside and takes extrapolation_value
		{"tf_crop_extrapolate", row, map[string]*ir.Attr{"mode": ir.StringAttr("linear"), "coordinate_transformation_mode": ir.StringAttr("tf_crop_and_resize"), "extrapolation_value": ir.FloatAttr(-1), "axes": ir.IntsAttr(3)},
			[]*ir.Tensor{sc(0.5, 1.5), nil, sz(3)}, []int64{1, 1, 1, 3}, []float64{15, 20, -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append([]*ir.Tensor{c.x}, c.in...)
			out := nnRun(t, "Resize", 1, c.attrs, in...)
			nnClose(t, c.name, out[0], c.shape, c.want, 1e-6)
		})
	}
}

func TestResizeCubicIdentityAndInt(t *testing.T) {
	// Resizing to the same size is the identity for every mode.
	x := ir.FromFloat32([]int64{1, 1, 2, 3}, []float32{1, 5, 2, 7, 3, 9})
	for _, mode := range []string{"nearest", "linear", "cubic"} {
		out := nnRun(t, "Resize", 1, map[string]*ir.Attr{"mode": ir.StringAttr(mode)}, x, nil, nil, ir.FromInt64([]int64{4}, []int64{1, 1, 2, 3}))
		nnClose(t, mode, out[0], []int64{1, 1, 2, 3}, x.Float64s(), 1e-6)
	}
	// u8 nearest upsample keeps the dtype.
	u := &ir.Tensor{DType: ir.Uint8, Shape: []int64{1, 2}, Data: []uint8{3, 200}}
	out := nnRun(t, "Resize", 1, nil, u, nil, ir.FromFloat32([]int64{2}, []float32{1, 2}))
	if out[0].DType != ir.Uint8 {
		t.Fatalf("dtype %s, want u8", out[0].DType)
	}
	nnClose(t, "u8", out[0], []int64{1, 4}, []float64{3, 3, 200, 200}, 0)
}

func TestResizeErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, []int64{1, 1, 2, 2})
	sc := ir.FromFloat32([]int64{4}, []float32{1, 1, 2, 2})
	sz := ir.FromInt64([]int64{4}, []int64{1, 1, 4, 4})
	cases := []struct {
		in    []*ir.Tensor
		attrs map[string]*ir.Attr
		want  string
	}{
		{[]*ir.Tensor{x, nil, sc, sz}, nil, "exactly one of input 2 (scales) and input 3 (sizes)"},
		{[]*ir.Tensor{x}, nil, "exactly one of"},
		{[]*ir.Tensor{x, nil, ir.FromFloat32([]int64{2}, []float32{2, 2})}, nil, "input 2 (scales) has 2 values, want 4"},
		{[]*ir.Tensor{x, nil, sc}, map[string]*ir.Attr{"mode": ir.StringAttr("bilinear")}, `mode "bilinear" is not one of`},
		{[]*ir.Tensor{x, nil, sc}, map[string]*ir.Attr{"coordinate_transformation_mode": ir.StringAttr("tf_half_pixel_for_nn")}, "is not supported"},
	}
	for _, c := range cases {
		_, err := EvalNode(nnNode("Resize", 1, c.attrs), c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
