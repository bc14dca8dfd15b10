package prune

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// builder makes small test graphs with random weights.
type builder struct {
	g   *ir.Graph
	rng *rand.Rand
	n   int
}

func newBuilder(inShape ...int64) (*builder, *ir.Value) {
	g := &ir.Graph{Name: "t", IRVersion: 8, Opsets: map[string]int64{"": ir.CanonicalOpset}}
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.ShapeOf(inShape...))}
	g.Inputs = []*ir.Value{x}
	return &builder{g: g, rng: rand.New(rand.NewSource(1))}, x
}

func (b *builder) name(p string) string {
	b.n++
	return p + string(rune('a'+b.n%26)) + strings.Repeat("x", b.n/26)
}

// w is a random constant; scale keeps activations moderate.
func (b *builder) w(shape ...int64) *ir.Value {
	t := ir.NewTensor(ir.Float32, shape)
	d := t.Data.([]float32)
	for i := range d {
		d[i] = float32(b.rng.NormFloat64() * 0.5)
	}
	return b.g.AddConst(b.name("w"), t)
}

func (b *builder) pos(shape ...int64) *ir.Value {
	v := b.w(shape...)
	for i, x := range v.Const.Data.([]float32) {
		v.Const.Data.([]float32)[i] = float32(math.Abs(float64(x))) + 0.5
	}
	return v
}

func (b *builder) ints(vals ...int64) *ir.Value {
	return b.g.AddConst(b.name("i"), ir.FromInt64([]int64{int64(len(vals))}, vals))
}

func (b *builder) op(op string, attrs map[string]*ir.Attr, in ...*ir.Value) *ir.Value {
	name := b.name(strings.ToLower(op))
	y := &ir.Value{Name: name + "_y"}
	n := &ir.Node{Name: name, Op: op, Inputs: in, Outputs: []*ir.Value{y}, Attrs: attrs}
	y.Producer = n
	b.g.Nodes = append(b.g.Nodes, n)
	return y
}

func (b *builder) conv(x *ir.Value, cin, cout, k int64, bias bool, attrs map[string]*ir.Attr) *ir.Value {
	if attrs == nil {
		attrs = map[string]*ir.Attr{}
	}
	group := int64(1)
	if a := attrs["group"]; a != nil {
		group = a.Int
	}
	if k > 1 && attrs["pads"] == nil {
		p := (k - 1) / 2
		attrs["pads"] = ir.IntsAttr(p, p, p, p)
	}
	in := []*ir.Value{x, b.w(cout, cin/group, k, k)}
	if bias {
		in = append(in, b.w(cout))
	}
	return b.op("Conv", attrs, in...)
}

func (b *builder) bn(x *ir.Value, c int64) *ir.Value {
	return b.op("BatchNormalization", nil, x, b.w(c), b.w(c), b.w(c), b.pos(c))
}

func (b *builder) relu(x *ir.Value) *ir.Value { return b.op("Relu", nil, x) }

func (b *builder) output(v *ir.Value) *ir.Graph {
	b.g.Outputs = []*ir.Value{v}
	if err := ir.InferShapes(b.g); err != nil {
		panic(err)
	}
	if err := ir.Verify(b.g); err != nil {
		panic(err)
	}
	return b.g
}

// zero sets the slice [c] along axis of the named node's input to zero.
func zero(t *testing.T, g *ir.Graph, node *ir.Value, input, axis int, chans ...int64) {
	t.Helper()
	v := node.Producer.Inputs[input]
	for _, c := range chans {
		forSlice(v.Const, ref{axis: axis, lo: c, hi: c + 1}, func(i int) { v.Const.Data.([]float32)[i] = 0 })
	}
}

func clone(t *testing.T, g *ir.Graph) *ir.Graph {
	t.Helper()
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	c, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomInput(g *ir.Graph) map[string]*ir.Tensor {
	rng := rand.New(rand.NewSource(7))
	out := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
		for i := range t.Data.([]float32) {
			t.Data.([]float32)[i] = float32(rng.NormFloat64())
		}
		out[v.Name] = t
	}
	return out
}

// check prunes g and compares its outputs with the original's.
func check(t *testing.T, g *ir.Graph, opts Options, tol float64) *Result {
	t.Helper()
	orig := clone(t, g)
	in := randomInput(g)
	want, err := interp.Run(orig, in)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Prune(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := interp.Run(g, in)
	if err != nil {
		t.Fatalf("pruned graph: %v", err)
	}
	for name, w := range want {
		gt := got[name]
		if gt == nil || gt.Len() != w.Len() {
			t.Fatalf("output %s: got %v, want shape %v", name, gt, w.Shape)
		}
		for i := 0; i < w.Len(); i++ {
			a, b := gt.Float64At(i), w.Float64At(i)
			if math.Abs(a-b) > tol*math.Max(1, math.Abs(b)) {
				t.Fatalf("output %s[%d] = %g, want %g (tolerance %g)", name, i, a, b, tol)
			}
		}
	}
	if res.Before.MACs-res.After.MACs < res.PredictedMACs*9/10 {
		t.Errorf("MACs fell by %d, want at least 90%% of the predicted %d", res.Before.MACs-res.After.MACs, res.PredictedMACs)
	}
	return res
}

func wantShape(t *testing.T, v *ir.Value, shape ...int64) {
	t.Helper()
	got := v.Const.Shape
	if len(got) != len(shape) {
		t.Fatalf("%s has shape %v, want %v", v.Name, got, shape)
	}
	for i := range got {
		if got[i] != shape[i] {
			t.Fatalf("%s has shape %v, want %v", v.Name, got, shape)
		}
	}
}

func group(t *testing.T, a *Analysis, producer string) *Group {
	t.Helper()
	for _, gr := range a.Groups {
		for _, p := range gr.Producers {
			if p == producer {
				return gr
			}
		}
	}
	t.Fatalf("no group has producer %s", producer)
	return nil
}

func TestChainFlattenGemm(t *testing.T) {
	b, x := newBuilder(1, 3, 4, 4)
	c1 := b.conv(x, 3, 8, 3, true, nil)
	y := b.relu(b.bn(c1, 8))
	c2 := b.conv(y, 8, 6, 3, false, nil)
	y = b.relu(c2)
	f := b.op("Flatten", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, y)
	gemm := b.op("Gemm", map[string]*ir.Attr{"transB": ir.IntAttr(1)}, f, b.w(10, 6*16), b.w(10))
	g := b.output(gemm)
	// Channels 1 and 4 of c1 (weights, bias, BN scale and shift) and 2 of c2.
	zero(t, g, c1, 1, 0, 1, 4)
	zero(t, g, c1, 2, 0, 1, 4)
	bn := c1.Producer
	_ = bn
	bnNode := g.Nodes[1]
	for _, i := range []int{1, 2} {
		forSlice(bnNode.Inputs[i].Const, ref{lo: 1, hi: 2}, func(k int) { bnNode.Inputs[i].Const.Data.([]float32)[k] = 0 })
		forSlice(bnNode.Inputs[i].Const, ref{lo: 4, hi: 5}, func(k int) { bnNode.Inputs[i].Const.Data.([]float32)[k] = 0 })
	}
	zero(t, g, c2, 1, 0, 2)

	a, err := Analyze(g)
	if err != nil {
		t.Fatal(err)
	}
	g1 := group(t, a, c1.Producer.Name)
	if !g1.Prunable || len(g1.Zero) != 2 || g1.Channels != 8 {
		t.Fatalf("group of %s: %+v", c1.Producer.Name, g1)
	}
	g2 := group(t, a, c2.Producer.Name)
	if len(g2.Members) != 2 || g2.Members[1].Block != 16 {
		t.Fatalf("group of %s members %+v, want conv rows and a 16-wide Gemm block", c2.Producer.Name, g2.Members)
	}
	if gg := group(t, a, gemm.Producer.Name); gg.Prunable || !strings.Contains(gg.Reason, "graph output") {
		t.Fatalf("Gemm group: prunable=%v reason %q, want not prunable (graph output)", gg.Prunable, gg.Reason)
	}
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 3 || res.RemovedZero != 3 || !res.Lossless {
		t.Fatalf("removed %d (zero %d, lossless %v), want 3 zero channels", res.Removed, res.RemovedZero, res.Lossless)
	}
	wantShape(t, c1.Producer.Inputs[1], 6, 3, 3, 3)
	wantShape(t, c2.Producer.Inputs[1], 5, 6, 3, 3)
	wantShape(t, gemm.Producer.Inputs[1], 10, 80)
}

func TestResidualJoinMerges(t *testing.T) {
	b, x := newBuilder(1, 2, 5, 5)
	stem := b.conv(x, 2, 6, 3, false, nil)
	s := b.relu(b.bn(stem, 6))
	c1 := b.conv(s, 6, 4, 3, false, nil)
	h := b.relu(b.bn(c1, 4))
	c2 := b.conv(h, 4, 6, 3, false, nil)
	sum := b.relu(b.op("Add", nil, b.bn(c2, 6), s))
	head := b.conv(sum, 6, 3, 1, true, nil)
	g := b.output(head)
	a, err := Analyze(g)
	if err != nil {
		t.Fatal(err)
	}
	gr := group(t, a, stem.Producer.Name)
	if len(gr.Producers) != 2 || gr.Producers[0] != c2.Producer.Name && gr.Producers[1] != c2.Producer.Name {
		t.Fatalf("stream group producers %v, want %s and %s merged by the Add", gr.Producers, stem.Producer.Name, c2.Producer.Name)
	}
	// Zero stream channel 2 in both producers and both BNs; inner channel 1.
	zeroBN := func(n *ir.Node, c int64) {
		for _, i := range []int{1, 2} {
			forSlice(n.Inputs[i].Const, ref{lo: c, hi: c + 1}, func(k int) { n.Inputs[i].Const.Data.([]float32)[k] = 0 })
		}
	}
	zero(t, g, stem, 1, 0, 2)
	zero(t, g, c2, 1, 0, 2)
	zeroBN(g.Nodes[1], 2)
	zeroBN(g.Nodes[7], 2)
	zero(t, g, c1, 1, 0, 1)
	zeroBN(g.Nodes[4], 1)
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 2 {
		t.Fatalf("removed %d channels, want 2", res.Removed)
	}
	wantShape(t, stem.Producer.Inputs[1], 5, 2, 3, 3)
	wantShape(t, c1.Producer.Inputs[1], 3, 5, 3, 3)
	wantShape(t, c2.Producer.Inputs[1], 5, 3, 3, 3)
	wantShape(t, head.Producer.Inputs[1], 3, 5, 1, 1)
}

func TestHalfZeroResidualIsKept(t *testing.T) {
	// Only one side of the join is zero: the channel is live.
	b, x := newBuilder(1, 2, 4, 4)
	p := b.conv(x, 2, 4, 1, false, nil)
	q := b.conv(x, 2, 4, 1, false, nil)
	out := b.conv(b.op("Add", nil, p, q), 4, 2, 1, false, nil)
	g := b.output(out)
	zero(t, g, p, 1, 0, 0)
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 0 {
		t.Fatalf("removed %d channels, want 0", res.Removed)
	}
}

func TestInvertedResidualDepthwise(t *testing.T) {
	b, x := newBuilder(1, 4, 6, 6)
	stem := b.conv(x, 4, 4, 1, true, nil)
	clip := func(v *ir.Value) *ir.Value {
		lo := b.g.AddConst("lo", ir.FromFloat32(nil, []float32{0}))
		hi := b.g.AddConst("hi", ir.FromFloat32(nil, []float32{6}))
		return b.op("Clip", nil, v, lo, hi)
	}
	e := b.conv(stem, 4, 12, 1, false, nil)
	h := clip(b.bn(e, 12))
	dw := b.conv(h, 12, 12, 3, false, map[string]*ir.Attr{"group": ir.IntAttr(12)})
	h = clip(b.bn(dw, 12))
	p := b.conv(h, 12, 4, 1, false, nil)
	sum := b.op("Add", nil, b.bn(p, 4), stem)
	g := b.output(b.op("GlobalAveragePool", nil, b.conv(sum, 4, 3, 1, false, nil)))
	// Expansion channels 0 and 5: rows and BN scale/shift zero. The
	// depthwise BN shift stays nonzero, so the channel reaches the
	// projection as a nonzero constant that must be folded exactly.
	zero(t, g, e, 1, 0, 0, 5)
	bn := g.Nodes[2]
	for _, i := range []int{1, 2} {
		for _, c := range []int64{0, 5} {
			forSlice(bn.Inputs[i].Const, ref{lo: c, hi: c + 1}, func(k int) { bn.Inputs[i].Const.Data.([]float32)[k] = 0 })
		}
	}
	dwBN := g.Nodes[5]
	for _, c := range []int{0, 5} {
		dwBN.Inputs[2].Const.Data.([]float32)[c] = 1 // shift
		dwBN.Inputs[3].Const.Data.([]float32)[c] = 0 // mean
	}
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 2 || res.RemovedDead != 2 || res.RemovedZero != 0 || !res.Lossless {
		t.Fatalf("removed %d (dead %d, zero %d, lossless %v), want 2 dead non-zero channels", res.Removed, res.RemovedDead, res.RemovedZero, res.Lossless)
	}
	wantShape(t, e.Producer.Inputs[1], 10, 4, 1, 1)
	wantShape(t, dw.Producer.Inputs[1], 10, 1, 3, 3)
	if dw.Producer.AttrInt("group", 0) != 10 {
		t.Fatalf("depthwise group = %d, want 10", dw.Producer.AttrInt("group", 0))
	}
	wantShape(t, p.Producer.Inputs[1], 4, 10, 1, 1)
	if p.Producer.Input(2) == nil {
		t.Fatal("projection got no bias for the folded constants")
	}
}

func TestConcatOffsets(t *testing.T) {
	b, x := newBuilder(1, 3, 4, 4)
	ca := b.conv(x, 3, 4, 3, false, nil)
	cb := b.conv(x, 3, 6, 1, false, nil)
	cat := b.op("Concat", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, b.relu(ca), b.relu(cb))
	out := b.conv(cat, 10, 5, 1, false, nil)
	g := b.output(out)
	zero(t, g, ca, 1, 0, 1)
	zero(t, g, cb, 1, 0, 2, 5)
	check(t, g, Options{}, 1e-5)
	wantShape(t, out.Producer.Inputs[1], 5, 7, 1, 1)
}

func TestSplitAndSlice(t *testing.T) {
	b, x := newBuilder(1, 3, 4, 4)
	c := b.conv(x, 3, 8, 1, false, nil)
	y := b.relu(c)
	sp := b.op("Split", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, y, b.ints(3, 5))
	n := sp.Producer
	second := &ir.Value{Name: "split_b", Producer: n}
	n.Outputs = append(n.Outputs, second)
	sl := b.op("Slice", nil, second, b.ints(1), b.ints(4), b.ints(1))
	o1 := b.conv(sp, 3, 2, 1, false, nil)
	o2 := b.conv(sl, 3, 2, 1, false, nil)
	g := b.output(b.op("Add", nil, o1, o2))
	zero(t, g, c, 1, 0, 1, 4, 7)
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 3 {
		t.Fatalf("removed %d, want 3", res.Removed)
	}
	wantShape(t, o1.Producer.Inputs[1], 2, 2, 1, 1)
	wantShape(t, o2.Producer.Inputs[1], 2, 2, 1, 1)
}

func TestMLPBlockFoldsBias(t *testing.T) {
	b, x := newBuilder(1, 5, 16)
	m1 := b.op("MatMul", nil, x, b.w(16, 32))
	bias := b.w(32)
	h := b.op("Gelu", nil, b.op("Add", nil, m1, bias))
	m2 := b.op("MatMul", nil, h, b.w(32, 16))
	g := b.output(b.op("Add", nil, b.op("Add", nil, m2, b.w(16)), x))
	// Hidden units 3, 7 and 20 have zero rows but a nonzero bias: Gelu(b)
	// reaches the second MatMul as a constant.
	zero(t, g, m1, 1, 1, 3, 7, 20)
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 3 || res.RemovedZero != 0 || !res.Lossless {
		t.Fatalf("removed %d (zero %d, lossless %v), want 3 dead channels folded", res.Removed, res.RemovedZero, res.Lossless)
	}
	wantShape(t, m1.Producer.Inputs[1], 16, 29)
	wantShape(t, m2.Producer.Inputs[1], 29, 16)
	wantShape(t, bias, 29)
}

func TestUnprunableReasons(t *testing.T) {
	b, x := newBuilder(1, 4, 4, 4)
	gc := b.conv(x, 4, 4, 3, false, map[string]*ir.Attr{"group": ir.IntAttr(2)})
	y := b.conv(b.relu(gc), 4, 4, 1, false, nil)
	sm := b.op("Softmax", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, y)
	g := b.output(sm)
	a, err := Analyze(g)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{gc.Producer.Name: "grouped convolution", y.Producer.Name: "channel axis"} {
		gr := group(t, a, name)
		if gr.Prunable || !strings.Contains(gr.Reason, want) {
			t.Errorf("group of %s: prunable %v, reason %q; want not prunable because of %q", name, gr.Prunable, gr.Reason, want)
		}
	}
}

func TestNonzeroBiasPaddedConsumerIsKept(t *testing.T) {
	b, x := newBuilder(1, 2, 5, 5)
	c1 := b.conv(x, 2, 4, 3, true, nil)
	c2 := b.conv(b.relu(c1), 4, 3, 3, false, nil)
	g := b.output(c2)
	zero(t, g, c1, 1, 0, 1)
	c1.Producer.Inputs[2].Const.Data.([]float32)[1] = 0.75 // relu(0.75) ≠ 0
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 0 || len(res.Kept) != 1 || !strings.Contains(res.Kept[0].Reason, "zero-pads") {
		t.Fatalf("removed %d, kept %+v; want the channel kept because the 3x3 consumer pads", res.Removed, res.Kept)
	}
}

func TestRatio(t *testing.T) {
	b, x := newBuilder(1, 3, 6, 6)
	c1 := b.conv(x, 3, 16, 3, true, nil)
	c2 := b.conv(b.relu(c1), 16, 16, 3, true, nil)
	g := b.output(b.op("GlobalAveragePool", nil, b.conv(b.relu(c2), 16, 4, 1, false, nil)))
	orig := clone(t, g)
	res, err := Prune(g, Options{Ratio: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lossless || res.Removed == 0 {
		t.Fatalf("ratio pruning removed %d channels, lossless %v", res.Removed, res.Lossless)
	}
	if drop := res.Before.MACs - res.After.MACs; drop < res.Before.MACs/5 {
		t.Fatalf("MACs fell by %d of %d, want at least a fifth for a 30%% ratio", drop, res.Before.MACs)
	}
	if _, err := interp.Run(g, randomInput(orig)); err != nil {
		t.Fatal(err)
	}
}

func TestRatioByParams(t *testing.T) {
	b, x := newBuilder(1, 3, 6, 6)
	c1 := b.conv(x, 3, 16, 3, true, nil)
	c2 := b.conv(b.relu(c1), 16, 16, 3, true, nil)
	g := b.output(b.op("GlobalAveragePool", nil, b.conv(b.relu(c2), 16, 4, 1, false, nil)))
	res, err := Prune(g, Options{Ratio: 0.5, By: "params"})
	if err != nil {
		t.Fatal(err)
	}
	if res.After.Params*10 > res.Before.Params*7 {
		t.Fatalf("params %d -> %d, want at least 30%% fewer for a 50%% params ratio", res.Before.Params, res.After.Params)
	}
	if _, err := Prune(g, Options{Ratio: 0.5, By: "flops"}); err == nil {
		t.Fatal("By flops: want an error")
	}
}

// TestResizeSqueezeMatMulHead: channels pass through Resize (channel scale
// 1), Pad, GlobalAveragePool and Squeeze into a MatMul classifier.
func TestResizeSqueezeMatMulHead(t *testing.T) {
	b, x := newBuilder(1, 3, 4, 4)
	c1 := b.conv(x, 3, 8, 3, true, nil)
	scales := b.g.AddConst("scales", ir.FromFloat32([]int64{4}, []float32{1, 1, 2, 2}))
	up := b.op("Resize", map[string]*ir.Attr{"mode": ir.StringAttr("nearest")}, b.relu(c1), nil, scales)
	padded := b.op("Pad", nil, up, b.ints(0, 0, 1, 1, 0, 0, 1, 1))
	c2 := b.conv(padded, 8, 6, 3, false, nil)
	gap := b.op("GlobalAveragePool", nil, b.relu(c2))
	sq := b.op("Squeeze", nil, gap, b.ints(2, 3))
	g := b.output(b.op("MatMul", nil, sq, b.w(6, 5)))
	zero(t, g, c1, 1, 0, 2, 5)
	zero(t, g, c1, 2, 0, 2, 5)
	zero(t, g, c2, 1, 0, 1)
	res := check(t, g, Options{}, 1e-5)
	if res.Removed != 3 {
		t.Fatalf("removed %d, want 3", res.Removed)
	}
	wantShape(t, c2.Producer.Inputs[1], 5, 6, 3, 3)
	wantShape(t, g.Outputs[0].Producer.Inputs[1], 5, 5)
}
