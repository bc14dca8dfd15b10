package interp

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// nnNode builds a node with nOut outputs for kernel tests.
func nnNode(op string, nOut int, attrs map[string]*ir.Attr) *ir.Node {
	n := &ir.Node{Name: "t_" + op, Op: op, Attrs: attrs}
	for i := 0; i < nOut; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: fmt.Sprintf("y%d", i)})
	}
	return n
}

// nnRun evaluates op through EvalNode and fails the test on error.
func nnRun(t *testing.T, op string, nOut int, attrs map[string]*ir.Attr, in ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	out, err := EvalNode(nnNode(op, nOut, attrs), in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// nnRand returns n pseudo-random values in [-1, 1).
func nnRand(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

// nnClose compares float tensors elementwise.
func nnClose(t *testing.T, what string, got *ir.Tensor, wantShape []int64, want []float64, tol float64) {
	t.Helper()
	if !equalShape(got.Shape, wantShape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, wantShape)
	}
	g := got.Float64s()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range g {
		if math.Abs(g[i]-want[i]) > tol*(1+math.Abs(want[i])) || math.IsNaN(g[i]) != math.IsNaN(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v (got %v)", what, i, g[i], want[i], g)
		}
	}
}

// naiveConv is a direct N-d convolution used as the oracle for the
// im2col + GEMM kernel: explicit pads only.
func naiveConv(x []float64, xs []int64, w []float64, ws []int64, b []float64, group int64, st, dil, pb, outSp []int64) []float64 {
	r := len(xs) - 2
	n, c, m := xs[0], xs[1], ws[0]
	cg, mg := c/group, m/group
	outP := nnProd(outSp)
	inStr := strides(xs[2:])
	kStr := strides(ws[2:])
	K := nnProd(ws[2:])
	out := make([]float64, n*m*outP)
	oc := make([]int64, r)
	kc := make([]int64, r)
	for in := int64(0); in < n; in++ {
		for oc1 := int64(0); oc1 < m; oc1++ {
			g := oc1 / mg
			for o := int64(0); o < outP; o++ {
				rem := o
				for d := r - 1; d >= 0; d-- {
					oc[d] = rem % outSp[d]
					rem /= outSp[d]
				}
				s := 0.0
				if b != nil {
					s = b[oc1]
				}
				for ci := int64(0); ci < cg; ci++ {
					for k := int64(0); k < K; k++ {
						rem := k
						for d := r - 1; d >= 0; d-- {
							kc[d] = rem % ws[2+d]
							rem /= ws[2+d]
						}
						off, ok := int64(0), true
						for d := 0; d < r; d++ {
							p := oc[d]*st[d] - pb[d] + kc[d]*dil[d]
							if p < 0 || p >= xs[2+d] {
								ok = false
								break
							}
							off += p * inStr[d]
						}
						if !ok {
							continue
						}
						xv := x[((in*c+g*cg+ci)*nnProd(xs[2:]))+off]
						wOff := int64(0)
						for d := 0; d < r; d++ {
							wOff += kc[d] * kStr[d]
						}
						s += xv * w[(oc1*cg+ci)*K+wOff]
					}
				}
				out[(in*m+oc1)*outP+o] = s
			}
		}
	}
	return out
}

func TestConvMatchesDirect(t *testing.T) {
	type tc struct {
		name   string
		xs, ws []int64
		group  int64
		attrs  map[string]*ir.Attr
		dt     ir.DType
		bias   bool
	}
	cases := []tc{
		{"1d_stride_pad", []int64{2, 3, 11}, []int64{4, 3, 3}, 1, map[string]*ir.Attr{"strides": ir.IntsAttr(2), "pads": ir.IntsAttr(1, 2)}, ir.Float32, true},
		{"2d_basic", []int64{1, 2, 6, 5}, []int64{3, 2, 3, 3}, 1, nil, ir.Float32, true},
		{"2d_pointwise", []int64{2, 4, 5, 5}, []int64{6, 4, 1, 1}, 1, nil, ir.Float32, true},
		{"2d_group", []int64{1, 4, 7, 6}, []int64{6, 2, 3, 2}, 2, map[string]*ir.Attr{"pads": ir.IntsAttr(1, 0, 2, 1)}, ir.Float32, false},
		{"2d_depthwise_mult", []int64{2, 3, 8, 8}, []int64{6, 1, 3, 3}, 3, map[string]*ir.Attr{"strides": ir.IntsAttr(2, 1), "pads": ir.IntsAttr(1, 1, 1, 1)}, ir.Float32, true},
		{"2d_dilated", []int64{1, 2, 9, 9}, []int64{2, 2, 3, 3}, 1, map[string]*ir.Attr{"dilations": ir.IntsAttr(2, 3), "pads": ir.IntsAttr(2, 1, 0, 3)}, ir.Float32, false},
		{"2d_same_upper", []int64{1, 1, 5, 6}, []int64{2, 1, 4, 3}, 1, map[string]*ir.Attr{"auto_pad": ir.StringAttr("SAME_UPPER"), "strides": ir.IntsAttr(2, 2)}, ir.Float32, true},
		{"2d_same_lower", []int64{1, 1, 5, 6}, []int64{2, 1, 4, 3}, 1, map[string]*ir.Attr{"auto_pad": ir.StringAttr("SAME_LOWER"), "strides": ir.IntsAttr(1, 2)}, ir.Float32, true},
		{"2d_valid", []int64{1, 2, 6, 7}, []int64{1, 2, 3, 2}, 1, map[string]*ir.Attr{"auto_pad": ir.StringAttr("VALID"), "strides": ir.IntsAttr(2, 3)}, ir.Float32, false},
		{"3d_group_stride", []int64{1, 4, 5, 6, 4}, []int64{2, 2, 2, 3, 2}, 2, map[string]*ir.Attr{"strides": ir.IntsAttr(1, 2, 1), "pads": ir.IntsAttr(1, 0, 1, 0, 1, 1)}, ir.Float32, true},
		{"2d_f64", []int64{1, 3, 6, 6}, []int64{2, 3, 3, 3}, 1, map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1, 1, 1)}, ir.Float64, true},
		{"2d_f16", []int64{1, 2, 5, 5}, []int64{2, 2, 3, 3}, 1, nil, ir.Float16, true},
	}
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xv := nnRand(rng, int(nnProd(c.xs)))
			wv := nnRand(rng, int(nnProd(c.ws)))
			bv := nnRand(rng, int(c.ws[0]))
			attrs := map[string]*ir.Attr{"group": ir.IntAttr(c.group)}
			for k, v := range c.attrs {
				attrs[k] = v
			}
			mk := func(shape []int64, v []float32) *ir.Tensor {
				return nnFromF32(c.dt, shape, append([]float32{}, v...))
			}
			in := []*ir.Tensor{mk(c.xs, xv), mk(c.ws, wv)}
			if c.bias {
				in = append(in, mk([]int64{c.ws[0]}, bv))
			}
			nd := nnNode("Conv", 1, attrs)
			g, err := windowGeometry(nd, c.xs[2:], c.ws[2:], false)
			if err != nil {
				t.Fatal(err)
			}
			var bias []float64
			if c.bias {
				bias = in[2].Float64s()
			}
			want := naiveConv(in[0].Float64s(), c.xs, in[1].Float64s(), c.ws, bias, c.group, g.strides, g.dils, g.padBegin, g.out)
			out := nnRun(t, "Conv", 1, attrs, in...)
			if out[0].DType != c.dt {
				t.Fatalf("output dtype %s, want %s", out[0].DType, c.dt)
			}
			tol := 1e-5
			if c.dt == ir.Float16 {
				tol = 2e-3
			}
			nnClose(t, c.name, out[0], append([]int64{c.xs[0], c.ws[0]}, g.out...), want, tol)
		})
	}
}

func TestConvTiledIm2col(t *testing.T) {
	// A tiny buffer bound forces im2col to run in tiles of output rows
	// (1 row, then 2 rows of the 2-D case and 4 of the 3-D one, with a short
	// last tile); results must not change.
	defer func(v int) { im2colMaxElems = v }(im2colMaxElems)
	rng := rand.New(rand.NewSource(6))
	for _, limit := range []int{1, 200} {
		im2colMaxElems = limit
		for _, c := range []struct {
			xs, ws []int64
			pads   []int64
		}{
			{[]int64{1, 2, 7, 5}, []int64{3, 2, 3, 3}, []int64{1, 0, 1, 2}},
			{[]int64{2, 1, 4, 5, 3}, []int64{2, 1, 2, 3, 2}, []int64{0, 1, 1, 1, 0, 1}},
		} {
			x := ir.FromFloat32(c.xs, nnRand(rng, int(nnProd(c.xs))))
			w := ir.FromFloat32(c.ws, nnRand(rng, int(nnProd(c.ws))))
			attrs := map[string]*ir.Attr{"pads": ir.IntsAttr(c.pads...)}
			g, err := windowGeometry(nnNode("Conv", 1, attrs), c.xs[2:], c.ws[2:], false)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveConv(x.Float64s(), c.xs, w.Float64s(), c.ws, nil, 1, g.strides, g.dils, g.padBegin, g.out)
			got := nnRun(t, "Conv", 1, attrs, x, w)
			nnClose(t, "tiled", got[0], append([]int64{c.xs[0], c.ws[0]}, g.out...), want, 1e-5)
		}
	}
}

func TestConvSamePadsSplit(t *testing.T) {
	// Input 1x1x4 with kernel 2: total pad 1; SAME_UPPER puts it at the end,
	// SAME_LOWER at the start.
	x := ir.FromFloat32([]int64{1, 1, 4}, []float32{1, 2, 3, 4})
	w := ir.FromFloat32([]int64{1, 1, 2}, []float32{1, 10})
	up := nnRun(t, "Conv", 1, map[string]*ir.Attr{"auto_pad": ir.StringAttr("SAME_UPPER")}, x, w)
	nnClose(t, "SAME_UPPER", up[0], []int64{1, 1, 4}, []float64{21, 32, 43, 4}, 0)
	lo := nnRun(t, "Conv", 1, map[string]*ir.Attr{"auto_pad": ir.StringAttr("SAME_LOWER")}, x, w)
	nnClose(t, "SAME_LOWER", lo[0], []int64{1, 1, 4}, []float64{10, 21, 32, 43}, 0)
}

func TestConvErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, []int64{1, 3, 5, 5})
	cases := []struct {
		name  string
		in    []*ir.Tensor
		attrs map[string]*ir.Attr
		want  string
	}{
		{"rank", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{16, 3, 3})}, nil, "input 1 (W) has shape [16 3 3], want rank 4 like X"},
		{"channels", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{4, 2, 3, 3})}, nil, "want dim 1 = C/group = 3"},
		{"group", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{4, 1, 3, 3})}, map[string]*ir.Attr{"group": ir.IntAttr(2)}, "group 2 must divide"},
		{"bias", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{4, 3, 3, 3}), ir.NewTensor(ir.Float32, []int64{3})}, nil, "input 2 (B) has shape [3], want [4]"},
		{"dtype", []*ir.Tensor{ir.NewTensor(ir.Int32, []int64{1, 3, 5, 5}), ir.NewTensor(ir.Int32, []int64{4, 3, 3, 3})}, nil, "want a float type"},
		{"too_big_kernel", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{4, 3, 7, 3})}, nil, "larger than padded input"},
		{"pads_len", []*ir.Tensor{x, ir.NewTensor(ir.Float32, []int64{4, 3, 3, 3})}, map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1)}, "pads [1 1] has 2 values, want 4"},
		{"missing_w", []*ir.Tensor{x}, nil, "input 1 (W) is required"},
	}
	for _, c := range cases {
		_, err := EvalNode(nnNode("Conv", 1, c.attrs), c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), `node "t_Conv" (Conv): `) {
			t.Errorf("%s: error %q does not name the node", c.name, err)
		}
	}
}

// naiveConvTranspose scatters every input element through the kernel.
func naiveConvTranspose(x []float64, xs []int64, w []float64, ws []int64, group int64, st, dil, pb, outSp []int64) []float64 {
	r := len(xs) - 2
	n, c := xs[0], xs[1]
	cg, mg := c/group, ws[1]
	m := mg * group
	inP, outP, K := nnProd(xs[2:]), nnProd(outSp), nnProd(ws[2:])
	outStr := strides(outSp)
	out := make([]float64, n*m*outP)
	ic := make([]int64, r)
	kc := make([]int64, r)
	for in := int64(0); in < n; in++ {
		for ci := int64(0); ci < c; ci++ {
			g := ci / cg
			for i := int64(0); i < inP; i++ {
				rem := i
				for d := r - 1; d >= 0; d-- {
					ic[d] = rem % xs[2+d]
					rem /= xs[2+d]
				}
				xv := x[(in*c+ci)*inP+i]
				for mo := int64(0); mo < mg; mo++ {
					for k := int64(0); k < K; k++ {
						rem := k
						for d := r - 1; d >= 0; d-- {
							kc[d] = rem % ws[2+d]
							rem /= ws[2+d]
						}
						off, ok := int64(0), true
						for d := 0; d < r; d++ {
							p := ic[d]*st[d] - pb[d] + kc[d]*dil[d]
							if p < 0 || p >= outSp[d] {
								ok = false
								break
							}
							off += p * outStr[d]
						}
						if ok {
							out[(in*m+g*mg+mo)*outP+off] += xv * w[(ci*mg+mo)*K+k]
						}
					}
				}
			}
		}
	}
	return out
}

func TestConvTransposeTiled(t *testing.T) {
	// Forcing tiles of 1 and 3 input positions must not change results.
	defer func(v int) { im2colMaxElems = v }(im2colMaxElems)
	rng := rand.New(rand.NewSource(9))
	xs, ws := []int64{2, 4, 3, 4}, []int64{4, 2, 3, 2}
	attrs := map[string]*ir.Attr{"group": ir.IntAttr(2), "strides": ir.IntsAttr(2, 1), "pads": ir.IntsAttr(1, 0, 0, 1)}
	x := ir.FromFloat32(xs, nnRand(rng, int(nnProd(xs))))
	w := ir.FromFloat32(ws, nnRand(rng, int(nnProd(ws))))
	g, err := convTransposeGeom(nnNode("ConvTranspose", 1, attrs), xs[2:], ws[2:])
	if err != nil {
		t.Fatal(err)
	}
	want := naiveConvTranspose(x.Float64s(), xs, w.Float64s(), ws, 2, g.strides, g.dils, g.padBegin, g.out)
	for _, limit := range []int{1, 36} { // mg*K = 12: tiles of 1 and 3
		im2colMaxElems = limit
		got := nnRun(t, "ConvTranspose", 1, attrs, x, w)
		nnClose(t, "tiled", got[0], append([]int64{2, 4}, g.out...), want, 1e-5)
	}
}

func TestConvTransposeMatchesDirect(t *testing.T) {
	cases := []struct {
		name   string
		xs, ws []int64
		group  int64
		attrs  map[string]*ir.Attr
		out    []int64
	}{
		{"1d", []int64{1, 2, 4}, []int64{2, 3, 3}, 1, map[string]*ir.Attr{"strides": ir.IntsAttr(2)}, []int64{9}},
		{"2d_group_pads", []int64{2, 4, 3, 4}, []int64{4, 2, 3, 2}, 2, map[string]*ir.Attr{"strides": ir.IntsAttr(2, 1), "pads": ir.IntsAttr(1, 0, 0, 1)}, []int64{6, 4}},
		{"2d_dil_outpad", []int64{1, 1, 3, 3}, []int64{1, 2, 2, 2}, 1, map[string]*ir.Attr{"strides": ir.IntsAttr(3, 2), "dilations": ir.IntsAttr(2, 2), "output_padding": ir.IntsAttr(1, 1)}, []int64{10, 8}},
		{"2d_output_shape_same", []int64{1, 1, 3, 3}, []int64{1, 1, 3, 3}, 1, map[string]*ir.Attr{"strides": ir.IntsAttr(2, 2), "auto_pad": ir.StringAttr("SAME_UPPER")}, []int64{6, 6}},
		{"3d", []int64{1, 2, 2, 3, 2}, []int64{2, 1, 2, 2, 2}, 1, nil, []int64{3, 4, 3}},
	}
	rng := rand.New(rand.NewSource(2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attrs := map[string]*ir.Attr{"group": ir.IntAttr(c.group)}
			for k, v := range c.attrs {
				attrs[k] = v
			}
			x := ir.FromFloat32(c.xs, nnRand(rng, int(nnProd(c.xs))))
			w := ir.FromFloat32(c.ws, nnRand(rng, int(nnProd(c.ws))))
			g, err := convTransposeGeom(nnNode("ConvTranspose", 1, attrs), c.xs[2:], c.ws[2:])
			if err != nil {
				t.Fatal(err)
			}
			if !equalShape(g.out, c.out) {
				t.Fatalf("output spatial %v, want %v", g.out, c.out)
			}
			want := naiveConvTranspose(x.Float64s(), c.xs, w.Float64s(), c.ws, c.group, g.strides, g.dils, g.padBegin, g.out)
			got := nnRun(t, "ConvTranspose", 1, attrs, x, w)
			nnClose(t, c.name, got[0], append([]int64{c.xs[0], c.ws[1] * c.group}, c.out...), want, 1e-5)
		})
	}
}

func TestConvIntegerPerChannelZeroPoint(t *testing.T) {
	// x - 1 = [[0 1][2 3]], filter 0 is w - 2 = [1 1 1 1], filter 1 is w - 5 = [-1 0 0 2].
	x := &ir.Tensor{DType: ir.Uint8, Shape: []int64{1, 1, 2, 2}, Data: []uint8{1, 2, 3, 4}}
	w := &ir.Tensor{DType: ir.Uint8, Shape: []int64{2, 1, 2, 2}, Data: []uint8{3, 3, 3, 3, 4, 5, 5, 7}}
	xzp := &ir.Tensor{DType: ir.Uint8, Shape: []int64{}, Data: []uint8{1}}
	wzp := &ir.Tensor{DType: ir.Uint8, Shape: []int64{2}, Data: []uint8{2, 5}}
	out := nnRun(t, "ConvInteger", 1, nil, x, w, xzp, wzp)
	if out[0].DType != ir.Int32 {
		t.Fatalf("dtype %s, want i32", out[0].DType)
	}
	nnClose(t, "ConvInteger", out[0], []int64{1, 2, 1, 1}, []float64{6, 6}, 0)
}

func TestQLinearConvRequantize(t *testing.T) {
	// Single 1x1 conv, two output channels with per-channel w_scale: the
	// int32 accumulators are x*w = 5*1 = 5 and 5*3 = 15 (+ bias 1 and -200).
	x := &ir.Tensor{DType: ir.Uint8, Shape: []int64{1, 1, 1, 1}, Data: []uint8{5}}
	w := &ir.Tensor{DType: ir.Int8, Shape: []int64{2, 1, 1, 1}, Data: []int8{1, 3}}
	f := func(v ...float32) *ir.Tensor { return ir.FromFloat32([]int64{int64(len(v))}, v) }
	u8 := func(v uint8) *ir.Tensor { return &ir.Tensor{DType: ir.Uint8, Shape: []int64{}, Data: []uint8{v}} }
	i8 := func(v int8) *ir.Tensor { return &ir.Tensor{DType: ir.Int8, Shape: []int64{}, Data: []int8{v}} }
	b := &ir.Tensor{DType: ir.Int32, Shape: []int64{2}, Data: []int32{1, -200}}
	// scale 0.5: (5+1)*0.5 = 3 -> +10 = 13; (15-200)*0.25 = -46.25 -> -46 + 10 -> clamps to 0.
	out := nnRun(t, "QLinearConv", 1, nil, x, f(1), u8(0), w, f(0.5, 0.25), i8(0), f(1), u8(10), b)
	nnClose(t, "u8", out[0], []int64{1, 2, 1, 1}, []float64{13, 0}, 0)
	// Round half to even: acc 5 * 0.5 = 2.5 -> 2, acc 15*0.5 = 7.5 -> 8.
	out = nnRun(t, "QLinearConv", 1, nil, x, f(1), u8(0), w, f(0.5), i8(0), f(1), i8(0))
	if out[0].DType != ir.Int8 {
		t.Fatalf("dtype %s, want i8", out[0].DType)
	}
	nnClose(t, "i8", out[0], []int64{1, 2, 1, 1}, []float64{2, 8}, 0)
	// Saturation at 127 for i8.
	out = nnRun(t, "QLinearConv", 1, nil, x, f(1), u8(0), w, f(100), i8(0), f(1), i8(0))
	nnClose(t, "i8 sat", out[0], []int64{1, 2, 1, 1}, []float64{127, 127}, 0)
}

// BenchmarkConvResNetLayer times a 3x3 64->64 conv on 56x56, the bulk of
// a ResNet-18/34 stage.
func BenchmarkConvResNetLayer(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	x := ir.FromFloat32([]int64{1, 64, 56, 56}, nnRand(rng, 64*56*56))
	w := ir.FromFloat32([]int64{64, 64, 3, 3}, nnRand(rng, 64*64*9))
	nd := nnNode("Conv", 1, map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1, 1, 1)})
	for i := 0; i < b.N; i++ {
		if _, err := EvalNode(nd, []*ir.Tensor{x, w}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeformConvZeroOffsetIsConv(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	cases := []struct {
		xs, ws      []int64
		group, offG int64
		attrs       map[string]*ir.Attr
	}{
		{[]int64{1, 2, 5, 6}, []int64{3, 2, 3, 3}, 1, 1, map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1, 1, 1)}},
		{[]int64{2, 4, 6, 5}, []int64{4, 2, 2, 3}, 2, 2, map[string]*ir.Attr{"strides": ir.IntsAttr(2, 1), "dilations": ir.IntsAttr(1, 2), "pads": ir.IntsAttr(0, 2, 1, 0)}},
	}
	for _, c := range cases {
		attrs := map[string]*ir.Attr{"group": ir.IntAttr(c.group)}
		for k, v := range c.attrs {
			attrs[k] = v
		}
		x := ir.FromFloat32(c.xs, nnRand(rng, int(nnProd(c.xs))))
		w := ir.FromFloat32(c.ws, nnRand(rng, int(nnProd(c.ws))))
		b := ir.FromFloat32([]int64{c.ws[0]}, nnRand(rng, int(c.ws[0])))
		conv := nnRun(t, "Conv", 1, attrs, x, w, b)
		oh, ow := conv[0].Shape[2], conv[0].Shape[3]
		K := c.ws[2] * c.ws[3]
		off := ir.NewTensor(ir.Float32, []int64{c.xs[0], c.offG * 2 * K, oh, ow})
		dattrs := map[string]*ir.Attr{"offset_group": ir.IntAttr(c.offG)}
		for k, v := range attrs {
			dattrs[k] = v
		}
		got := nnRun(t, "DeformConv", 1, dattrs, x, w, off, b)
		nnClose(t, "zero offset", got[0], conv[0].Shape, conv[0].Float64s(), 1e-5)
		// a mask of 0.5 halves everything but the bias
		maskV := make([]float32, c.xs[0]*c.offG*K*oh*ow)
		for i := range maskV {
			maskV[i] = 0.5
		}
		mask := ir.FromFloat32([]int64{c.xs[0], c.offG * K, oh, ow}, maskV)
		half := nnRun(t, "DeformConv", 1, dattrs, x, w, off, nil, mask)
		plain := nnRun(t, "Conv", 1, attrs, x, w)
		want := plain[0].Float64s()
		for i := range want {
			want[i] /= 2
		}
		nnClose(t, "mask 0.5", half[0], conv[0].Shape, want, 1e-5)
	}
}

func TestDeformConvFractionalOffset(t *testing.T) {
	// 1x2 image [1 3], 1x1 kernel of 1, offset +0.5 along w: samples at
	// w = 0.5 (-> 2) and w = 1.5 (-> 0.5*3 + 0.5*0 outside = 1.5), times the
	// mask [1, 0.5].
	x := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{1, 3})
	w := ir.FromFloat32([]int64{1, 1, 1, 1}, []float32{1})
	off := ir.FromFloat32([]int64{1, 2, 1, 2}, []float32{0, 0, 0.5, 0.5})
	mask := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{1, 0.5})
	out := nnRun(t, "DeformConv", 1, nil, x, w, off, nil, mask)
	nnClose(t, "fractional", out[0], []int64{1, 1, 1, 2}, []float64{2, 0.75}, 1e-6)
	_, err := EvalNode(nnNode("DeformConv", 1, nil), []*ir.Tensor{x, w, ir.NewTensor(ir.Float32, []int64{1, 4, 1, 2})})
	if err == nil || !strings.Contains(err.Error(), "input 2 (offset) is f32[1 4 1 2], want float[1 2 1 2]") {
		t.Errorf("bad offset: error %v", err)
	}
}
