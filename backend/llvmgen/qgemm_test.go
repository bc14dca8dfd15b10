package llvmgen_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// qTargets are the target and CPU pairs that select each int8 GEMM path:
// x86_64 AVX2 (vpmaddwd) and --cpu native (AVX-512 VNNI on the machines
// these tests were written on, else whatever it has), arm64 with the dot
// product (sdot) and without it (cortex-a53: smlal), and wasm32
// (i32x4.dot_i16x8_s).
var qTargets = []struct{ target, cpu string }{
	{"x86_64", ""},
	{"x86_64", "native"},
	{"x86_64", "x86-64"},
	{"arm64", ""},
	{"arm64", "cortex-a53"},
	{"wasm32", ""},
}

// qGraph builds one effir graph holding many quantized nodes, so that a
// target compiles and runs them all in one artifact.
type qGraph struct {
	rng  *rand.Rand
	body strings.Builder
	ins  strings.Builder
	outs strings.Builder
	in   map[string]*ir.Tensor
	n    int
}

func newQGraph(seed uint64) *qGraph {
	return &qGraph{rng: rand.New(rand.NewPCG(seed, 99)), in: map[string]*ir.Tensor{}}
}

// name returns a fresh value name.
func (q *qGraph) name(p string) string {
	q.n++
	return fmt.Sprintf("%s%d", p, q.n)
}

// ints returns count integers uniform in [lo, hi], with lo and hi
// themselves at the first two positions (the extremes of the products).
func (q *qGraph) ints(count int64, lo, hi int64) []float64 {
	v := make([]float64, count)
	for i := range v {
		v[i] = float64(lo + q.rng.Int64N(hi-lo+1))
	}
	if count > 1 {
		v[0], v[1] = float64(lo), float64(hi)
	}
	return v
}

// input adds a graph input of dtype dt with values vals.
func (q *qGraph) input(dt ir.DType, shape []int64, vals []float64) string {
	n := q.name("x")
	fmt.Fprintf(&q.ins, "  input %%%s : %s\n", n, gmType(dt.String(), shape))
	q.in[n] = fromF64(dt, shape, vals)
	return n
}

// konst adds a constant; a nil shape is a scalar.
func (q *qGraph) konst(dt ir.DType, shape []int64, vals []float64) string {
	n := q.name("c")
	t := fromF64(dt, shape, vals)
	lit := gmLit(t)
	if len(shape) == 0 {
		lit = fmt.Sprint(vals[0])
	}
	fmt.Fprintf(&q.body, "  const %%%s : %s = %s\n", n, gmType(dt.String(), shape), lit)
	return n
}

// node adds an output node.
func (q *qGraph) node(op string, args []string, attrs string) {
	n := q.name("y")
	for i, a := range args {
		if a != "" {
			args[i] = "%" + a
		}
	}
	if attrs != "" {
		attrs = " {" + attrs + "}"
	}
	fmt.Fprintf(&q.body, "  %%%s = %s(%s)%s  @%s\n", n, op, strings.Join(args, ", "), attrs, n)
	fmt.Fprintf(&q.outs, "  output %%%s\n", n)
}

// src is the graph's effir text.
func (q *qGraph) src() string {
	return "effir 1\ngraph \"q\" opset{ai.onnx=21} {\n" + q.ins.String() + q.body.String() + q.outs.String() + "}\n"
}

// qRange is the value range of an 8-bit dtype.
func qRange(dt ir.DType) (int64, int64) {
	if dt == ir.Int8 {
		return -128, 127
	}
	return 0, 255
}

// qConv is one quantized convolution case.
type qConv struct {
	xdt, wdt, ydt ir.DType // ydt Int32: ConvInteger
	xs, ws        []int64
	attrs         string
	perChannel    bool  // w_scale and w_zero_point per output channel
	bias          bool  // QLinearConv bias
	xzp, wzp      int64 // zero points (wzp: of channel 0; others vary when perChannel)
}

// add adds c to the graph: x is an input, everything else constant.
func (q *qGraph) addConv(c qConv) {
	xlo, xhi := qRange(c.xdt)
	x := q.input(c.xdt, c.xs, q.ints(ir.NumElements(c.xs), xlo, xhi))
	m := c.ws[0]
	kk := ir.NumElements(c.ws) / m
	wlo, whi := qRange(c.wdt)
	w := q.konst(c.wdt, c.ws, q.ints(ir.NumElements(c.ws), wlo, whi))
	nz := int64(1)
	if c.perChannel {
		nz = m
	}
	zs := make([]float64, nz)
	for i := range zs {
		zs[i] = float64(c.wzp)
		if i > 0 && c.wzp != 0 {
			zs[i] = float64(min(max(c.wzp+int64(i%5)-2, wlo), whi))
		}
	}
	zshape := []int64{nz}
	if !c.perChannel {
		zshape = nil
	}
	xz := q.konst(c.xdt, nil, []float64{float64(c.xzp)})
	wz := q.konst(c.wdt, zshape, zs)
	if c.ydt == ir.Int32 {
		q.node("ConvInteger", []string{x, w, xz, wz}, c.attrs)
		return
	}
	const xsc = 0.02
	wsc := make([]float64, nz)
	for i := range wsc {
		wsc[i] = 0.002 + 0.01*q.rng.Float64()
	}
	// y_scale puts a typical accumulator (sqrt(K) * 74 * 74) at about 40
	// steps, so outputs span the range and some saturate.
	ysc := xsc * wsc[0] * math.Sqrt(float64(kk)) * 74 * 74 / 40
	ylo, yhi := qRange(c.ydt)
	args := []string{x, q.konst(ir.Float32, nil, []float64{xsc}), xz, w, q.konst(ir.Float32, zshape, wsc), wz,
		q.konst(ir.Float32, nil, []float64{ysc}), q.konst(c.ydt, nil, []float64{float64((ylo + yhi) / 2)})}
	if c.bias {
		args = append(args, q.konst(ir.Int32, []int64{m}, q.ints(m, -20000, 20000)))
	}
	q.node("QLinearConv", args, c.attrs)
}

// qCheck runs the graph on the interpreter and on every entry of qTargets
// and compares all outputs exactly.
func qCheck(t *testing.T, q *qGraph) {
	src := q.src()
	g := gmParse(t, src)
	want, err := interp.Run(g, q.in)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range qTargets {
		t.Run(tc.target+"/"+tc.cpu, func(t *testing.T) {
			spec, err := target.Load(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if tc.cpu != "" {
				if spec, err = spec.WithCPU(tc.cpu); err != nil {
					t.Fatal(err)
				}
			}
			got, err := (&engine.Engine{Spec: spec}).Run(gmParse(t, src), q.in)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				wv, gv := w.Float64s(), got[name].Float64s()
				bad := 0
				for i := range wv {
					if wv[i] != gv[i] {
						if bad < 5 {
							t.Errorf("%s (int8 dot %s): %s[%d] = %v, want %v", tc.target, spec.Int8Dot, name, i, gv[i], wv[i])
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%s: %d of %d elements differ", name, bad, len(wv))
				}
			}
		})
	}
}

// TestQuantConv checks QLinearConv and ConvInteger with constant weights
// (the int8 GEMM, and the depthwise kernel) bit-exactly against the
// interpreter on every int8 path: channel counts that are not a multiple of the word size, output
// channels and pixels that leave tile remainders, strides, dilations,
// asymmetric padding, groups, 1-D, per-tensor and per-channel scales and
// zero points, u8 and i8 activations, weights and outputs, and u8 weights
// whose zero point leaves them outside int8 (the scalar kernel on the byte
// paths), and depthwise shapes with one and two outputs per channel,
// strides, interiors wider than a vector and many border columns; one
// convolution takes several blocks of packed activations.
func TestQuantConv(t *testing.T) {
	q := newQGraph(1)
	u8, i8, i32 := ir.Uint8, ir.Int8, ir.Int32
	for _, c := range []qConv{
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 5, 9, 11}, ws: []int64{13, 5, 3, 3}, attrs: "pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 131},
		{xdt: i8, wdt: i8, ydt: i8, xs: []int64{2, 8, 7, 5}, ws: []int64{19, 8, 1, 1}, xzp: -7},
		{xdt: u8, wdt: u8, ydt: u8, xs: []int64{1, 3, 17, 16}, ws: []int64{6, 3, 3, 3}, attrs: "strides=[2, 2], pads=[1, 0, 2, 1]", perChannel: true, bias: true, xzp: 0, wzp: 128},
		{xdt: i8, wdt: i8, ydt: u8, xs: []int64{1, 8, 6, 7}, ws: []int64{6, 4, 3, 3}, attrs: "group=2, dilations=[2, 1], pads=[2, 1, 2, 1]", bias: true, xzp: 100},
		{xdt: u8, wdt: i8, ydt: i8, xs: []int64{1, 4, 20}, ws: []int64{5, 4, 3}, attrs: "strides=[2], pads=[1, 1]", perChannel: true, xzp: 255},
		{xdt: u8, wdt: u8, ydt: u8, xs: []int64{1, 6, 5, 5}, ws: []int64{4, 6, 3, 3}, attrs: "pads=[1, 1, 1, 1]", xzp: 3, wzp: 5},
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 64, 6, 6}, ws: []int64{37, 64, 3, 3}, attrs: "pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 128},
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 16, 23, 29}, ws: []int64{33, 16, 1, 1}, bias: true, xzp: 10},
		{xdt: u8, wdt: i8, ydt: i32, xs: []int64{1, 6, 9, 8}, ws: []int64{7, 6, 2, 2}, attrs: "pads=[0, 1, 1, 0]", perChannel: true, xzp: 77},
		{xdt: i8, wdt: u8, ydt: i32, xs: []int64{2, 3, 5, 5}, ws: []int64{17, 3, 3, 3}, xzp: -128, wzp: 127},
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 8, 10, 12}, ws: []int64{8, 1, 3, 3}, attrs: "group=8, pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 128},
		{xdt: i8, wdt: i8, ydt: i8, xs: []int64{2, 4, 9, 11}, ws: []int64{8, 1, 3, 3}, attrs: "group=4, strides=[2, 2], pads=[0, 1, 1, 2]", bias: true, xzp: -1},
		{xdt: u8, wdt: u8, ydt: i32, xs: []int64{1, 6, 7, 7}, ws: []int64{6, 1, 5, 5}, attrs: "group=6, pads=[2, 2, 2, 2]", perChannel: true, xzp: 9, wzp: 120},
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 128, 31, 30}, ws: []int64{4, 128, 3, 3}, attrs: "pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 128},
		{xdt: u8, wdt: i8, ydt: u8, xs: []int64{1, 16, 6, 37}, ws: []int64{16, 1, 3, 3}, attrs: "group=16, pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 3},
		{xdt: i8, wdt: i8, ydt: u8, xs: []int64{1, 8, 7, 40}, ws: []int64{8, 1, 3, 3}, attrs: "group=8, strides=[2, 2], pads=[1, 1, 1, 1]", bias: true, xzp: 5},
		{xdt: u8, wdt: i8, ydt: i8, xs: []int64{1, 2, 3, 40}, ws: []int64{2, 1, 1, 3}, attrs: "group=2, pads=[0, 17, 0, 17]", perChannel: true, xzp: 200},
	} {
		q.addConv(c)
	}
	qCheck(t, q)
}

// qMatMul is one quantized MatMul case: B constant [K, N].
type qMatMul struct {
	adt, bdt, ydt ir.DType // ydt Int32: MatMulInteger
	as            []int64
	n             int64
	perColumn     bool // b_scale and b_zero_point per column, shaped [1, N] when row is set
	row           bool
	azp, bzp      int64
	azpInput      bool // a_zero_point is a graph input (dynamic quantization)
}

// addMatMul adds c to the graph: A is an input, B and the scales constant.
func (q *qGraph) addMatMul(c qMatMul) {
	alo, ahi := qRange(c.adt)
	a := q.input(c.adt, c.as, q.ints(ir.NumElements(c.as), alo, ahi))
	kk := c.as[len(c.as)-1]
	blo, bhi := qRange(c.bdt)
	b := q.konst(c.bdt, []int64{kk, c.n}, q.ints(kk*c.n, blo, bhi))
	var zshape []int64
	nz := int64(1)
	if c.perColumn {
		nz, zshape = c.n, []int64{c.n}
		if c.row {
			zshape = []int64{1, c.n}
		}
	}
	zs := make([]float64, nz)
	for i := range zs {
		zs[i] = float64(c.bzp)
		if i > 0 && c.bzp != 0 {
			zs[i] = float64(min(max(c.bzp+int64(i%3)-1, blo), bhi))
		}
	}
	var az string
	if c.azpInput {
		az = q.input(c.adt, nil, []float64{float64(c.azp)})
	} else {
		az = q.konst(c.adt, nil, []float64{float64(c.azp)})
	}
	bz := q.konst(c.bdt, zshape, zs)
	if c.ydt == ir.Int32 {
		q.node("MatMulInteger", []string{a, b, az, bz}, "")
		return
	}
	const asc = 0.03
	bsc := make([]float64, nz)
	for i := range bsc {
		bsc[i] = 0.002 + 0.01*q.rng.Float64()
	}
	ysc := asc * bsc[0] * math.Sqrt(float64(kk)) * 74 * 74 / 40
	ylo, yhi := qRange(c.ydt)
	q.node("QLinearMatMul", []string{a, q.konst(ir.Float32, nil, []float64{asc}), az, b, q.konst(ir.Float32, zshape, bsc), bz,
		q.konst(ir.Float32, nil, []float64{ysc}), q.konst(c.ydt, nil, []float64{float64((ylo + yhi) / 2)})}, "")
}

// TestQuantMatMulGemm checks QLinearMatMul and MatMulInteger with a
// constant B (the int8 GEMM) bit-exactly against the interpreter on every
// int8 path: K not a multiple of the word size, rows and columns that leave
// tile remainders, batched and 1-D A, per-tensor and per-column ([N] and
// [1, N]) parameters, u8 and i8 operands, a runtime a_zero_point, zero
// points that leave B outside int8 (the scalar kernel on byte paths), and
// enough rows of A for several packed blocks.
func TestQuantMatMulGemm(t *testing.T) {
	q := newQGraph(2)
	u8, i8, i32 := ir.Uint8, ir.Int8, ir.Int32
	for _, c := range []qMatMul{
		{adt: u8, bdt: i8, ydt: u8, as: []int64{3, 5, 37}, n: 29, perColumn: true, azp: 120},
		{adt: i8, bdt: u8, ydt: i8, as: []int64{7, 64}, n: 50, azp: -3, bzp: 128},
		{adt: u8, bdt: i8, ydt: u8, as: []int64{3}, n: 100, azp: 255},
		{adt: u8, bdt: i8, ydt: i8, as: []int64{40, 130}, n: 33, perColumn: true, row: true, azp: 1, bzp: 1},
		{adt: u8, bdt: i8, ydt: u8, as: []int64{2, 9, 256}, n: 64, perColumn: true, azp: 128},
		{adt: u8, bdt: i8, ydt: i32, as: []int64{6, 70}, n: 19, azp: 12},
		{adt: u8, bdt: u8, ydt: i32, as: []int64{5, 20}, n: 17, azp: 200, bzp: 100, azpInput: true},
		{adt: i8, bdt: i8, ydt: i32, as: []int64{1, 11}, n: 3, perColumn: true, azp: 0},
		{adt: u8, bdt: i8, ydt: u8, as: []int64{2, 520, 1030}, n: 5, azp: 7},
	} {
		q.addMatMul(c)
	}
	qCheck(t, q)
}

// TestQuantRequantTies checks the requantization (qRequant: clamp before
// rounding, rounding by adding 1.5*2^52 + y_zp) where it is delicate:
// multipliers of exactly 0.25 and 0.125 put many accumulators on ties
// (k + 0.5, rounded half to even), small scales keep most outputs inside the
// range next to its ends, and y_zp at the ends of u8 and i8, on the int8
// GEMM (1x1 and 3x3) and the depthwise kernel (interiors wider than a
// vector: the float32 accumulation; stride 2 with the interiors' wide loads
// ending at the row's end), bit-exactly against the interpreter.
func TestQuantRequantTies(t *testing.T) {
	q := newQGraph(7)
	for _, c := range []struct {
		xdt, ydt ir.DType
		xs, ws   []int64
		attrs    string
		ws0, yzp float64
		xzp      int64
		bias     bool
	}{
		{ir.Uint8, ir.Uint8, []int64{1, 5, 9, 37}, []int64{11, 5, 1, 1}, "", 0.5, 0, 128, true},
		{ir.Uint8, ir.Uint8, []int64{1, 5, 9, 37}, []int64{11, 5, 1, 1}, "", 0.25, 255, 3, false},
		{ir.Int8, ir.Int8, []int64{1, 4, 8, 21}, []int64{7, 4, 3, 3}, "pads=[1, 1, 1, 1]", 0.5, -128, -5, true},
		{ir.Uint8, ir.Int8, []int64{1, 4, 8, 21}, []int64{7, 4, 3, 3}, "pads=[1, 1, 1, 1]", 0.25, 127, 200, true},
		{ir.Uint8, ir.Uint8, []int64{1, 6, 7, 45}, []int64{6, 1, 3, 3}, "group=6, pads=[1, 1, 1, 1]", 0.5, 17, 128, true},
		{ir.Int8, ir.Uint8, []int64{1, 6, 7, 45}, []int64{6, 1, 3, 3}, "group=6, pads=[1, 1, 1, 1]", 0.25, 0, 0, false},
		{ir.Uint8, ir.Int8, []int64{1, 6, 9, 40}, []int64{6, 1, 3, 3}, "group=6, strides=[2, 2], pads=[1, 1, 1, 1]", 0.5, 0, 255, true},
		{ir.Uint8, ir.Uint8, []int64{1, 4, 9, 37}, []int64{4, 1, 3, 3}, "group=4, strides=[2, 2], pads=[1, 1, 1, 1]", 0.5, 3, 7, true},
		{ir.Int8, ir.Int8, []int64{1, 3, 5, 70}, []int64{3, 1, 3, 3}, "group=3, strides=[2, 2], pads=[0, 1, 0, 1]", 0.25, 1, -3, true},
		{ir.Uint8, ir.Uint8, []int64{2, 3, 6, 71}, []int64{3, 1, 3, 3}, "group=3, strides=[2, 2]", 0.25, 9, 128, false},
	} {
		xlo, xhi := qRange(c.xdt)
		x := q.input(c.xdt, c.xs, q.ints(ir.NumElements(c.xs), xlo, xhi))
		m := c.ws[0]
		// small weights keep sums near the output range
		w := q.konst(ir.Int8, c.ws, q.ints(ir.NumElements(c.ws), -3, 3))
		args := []string{x, q.konst(ir.Float32, nil, []float64{1}), q.konst(c.xdt, nil, []float64{float64(c.xzp)}),
			w, q.konst(ir.Float32, nil, []float64{c.ws0}), q.konst(ir.Int8, nil, []float64{0}),
			q.konst(ir.Float32, nil, []float64{2}), q.konst(c.ydt, nil, []float64{c.yzp})}
		if c.bias {
			args = append(args, q.konst(ir.Int32, []int64{m}, q.ints(m, -300, 300)))
		}
		q.node("QLinearConv", args, c.attrs)
	}
	qCheck(t, q)
}
