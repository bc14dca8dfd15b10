package interp

import (
	"math"
	"math/rand"
	"sort"
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

// refInterp1D follows the ONNX reference's _interpolate_1d_with_x: pick
// the n input indices nearest to x_ori (ties to the smaller index) in the
// edge-padded data, weight them with the mode's coefficients.
func refInterp1D(p *resizeParams, data []float64, scale float64, outW int, x float64, roiS, roiE float64) float64 {
	inW := len(data)
	xo := p.origCoord(x, inW, outW, scale, roiS, roiE)
	if p.coord == "tf_crop_and_resize" && (xo < 0 || xo > float64(inW-1)) {
		return p.extrap
	}
	ratio := xo - math.Floor(xo)
	if ratio == 0 {
		ratio = 1
	}
	_, c := p.coeffs(ratio, scale)
	n := len(c)
	pad := (n + 1) / 2
	padded := make([]float64, inW+2*pad)
	for i := range padded {
		padded[i] = data[min(max(i-pad, 0), inW-1)]
	}
	idx := make([]int, len(padded))
	for i := range idx {
		idx[i] = i
	}
	xp := xo + float64(pad)
	sort.SliceStable(idx, func(a, b int) bool {
		da, db := math.Abs(xp-float64(idx[a])), math.Abs(xp-float64(idx[b]))
		if da != db {
			return da < db
		}
		return idx[a] < idx[b]
	})
	near := append([]int{}, idx[:n]...)
	sort.Ints(near)
	if p.excludeOutside {
		s := 0.0
		for i, j := range near {
			if j-pad < 0 || j-pad >= inW {
				c[i] = 0
			}
			s += c[i]
		}
		for i := range c {
			c[i] /= s
		}
	}
	v := 0.0
	for i, j := range near {
		v += c[i] * padded[j]
	}
	return v
}

// refInterpND is the reference's recursive _interpolate_nd_with_x.
func refInterpND(p *resizeParams, data []float64, shape []int64, scales []float64, outSz []int64, x []float64, roi [][2]float64) float64 {
	if len(shape) == 1 {
		return refInterp1D(p, data, scales[0], int(outSz[0]), x[0], roi[0][0], roi[0][1])
	}
	inner := int(nnProd(shape[1:]))
	res := make([]float64, shape[0])
	for i := range res {
		res[i] = refInterpND(p, data[i*inner:(i+1)*inner], shape[1:], scales[1:], outSz[1:], x[1:], roi[1:])
	}
	return refInterp1D(p, res, scales[0], int(outSz[0]), x[0], roi[0][0], roi[0][1])
}

// TestResizeSeparableMatchesReference checks the axis-by-axis kernel
// against a direct transcription of the reference's N-d recursion, over
// random small shapes and every mode, coordinate mode and option.
func TestResizeSeparableMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	modes := []string{"nearest", "linear", "cubic"}
	coords := []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "half_pixel_symmetric"}
	nearest := []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}
	for iter := 0; iter < 300; iter++ {
		r := 1 + rng.Intn(3)
		shape := make([]int64, r)
		for i := range shape {
			shape[i] = int64(1 + rng.Intn(4))
		}
		x := ir.FromFloat32(shape, nnRand(rng, int(nnProd(shape))))
		attrs := map[string]*ir.Attr{
			"mode":                           ir.StringAttr(modes[rng.Intn(3)]),
			"coordinate_transformation_mode": ir.StringAttr(coords[rng.Intn(len(coords))]),
			"nearest_mode":                   ir.StringAttr(nearest[rng.Intn(4)]),
			"exclude_outside":                ir.IntAttr(int64(rng.Intn(2))),
			"antialias":                      ir.IntAttr(int64(rng.Intn(2))),
			"extrapolation_value":            ir.FloatAttr(-7),
			"cubic_coeff_a":                  ir.FloatAttr(-0.5 - rng.Float32()/2),
		}
		scales := make([]float32, r)
		roiV := make([]float32, 2*r)
		for i := range scales {
			scales[i] = []float32{0.5, 0.6, 1, 1.5, 2, 2.5}[rng.Intn(6)]
			roiV[i] = rng.Float32() * 0.4
			roiV[r+i] = 0.6 + rng.Float32()*0.6
		}
		in := []*ir.Tensor{x, ir.FromFloat32([]int64{int64(2 * r)}, roiV), ir.FromFloat32([]int64{int64(r)}, scales)}
		nd := nnNode("Resize", 1, attrs)
		out, err := EvalNode(nd, in)
		if err != nil {
			t.Fatalf("iter %d %v %v: %v", iter, shape, attrs, err)
		}
		p := &resizeParams{
			mode: nd.AttrString("mode", ""), coord: nd.AttrString("coordinate_transformation_mode", ""),
			nearest: nd.AttrString("nearest_mode", ""), cubicA: float64(nd.AttrFloat("cubic_coeff_a", 0)),
			extrap: -7, excludeOutside: nd.AttrInt("exclude_outside", 0) == 1, antialias: nd.AttrInt("antialias", 0) == 1 && nd.AttrString("mode", "") != "nearest",
		}
		sc := make([]float64, r)
		outSz := make([]int64, r)
		roi := make([][2]float64, r)
		for i := range sc {
			sc[i] = float64(scales[i])
			outSz[i] = int64(sc[i] * float64(shape[i]))
			roi[i] = [2]float64{float64(roiV[i]), float64(roiV[r+i])}
		}
		if !equalShape(out[0].Shape, outSz) {
			t.Fatalf("iter %d: shape %v, want %v", iter, out[0].Shape, outSz)
		}
		xs := x.Float64s()
		got := out[0].Float64s()
		oc := make([]float64, r)
		for o := range got {
			rem := o
			for d := r - 1; d >= 0; d-- {
				oc[d] = float64(rem % int(outSz[d]))
				rem /= int(outSz[d])
			}
			want := refInterpND(p, xs, shape, sc, outSz, oc, roi)
			if math.Abs(got[o]-float64(float32(want))) > 1e-5 {
				t.Fatalf("iter %d shape %v scales %v %s/%s/%s excl=%v aa=%v: element %d = %v, want %v",
					iter, shape, scales, p.mode, p.coord, p.nearest, p.excludeOutside, p.antialias, o, got[o], want)
			}
		}
	}
}
