package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// builder is a tiny graph-construction helper for pass tests.
type builder struct {
	g   *ir.Graph
	rng *rand.Rand
}

func newBuilder() *builder {
	return &builder{
		g:   &ir.Graph{Name: "t", Opsets: map[string]int64{"": ir.CanonicalOpset}},
		rng: rand.New(rand.NewPCG(1, 2)),
	}
}

func (b *builder) input(name string, dims ...int64) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(ir.Float32, ir.ShapeOf(dims...))}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *builder) randConst(name string, dims ...int64) *ir.Value {
	t := ir.NewTensor(ir.Float32, dims)
	d := t.Data.([]float32)
	for i := range d {
		d[i] = float32(b.rng.NormFloat64())
	}
	return b.g.AddConst(name, t)
}

func (b *builder) posConst(name string, dims ...int64) *ir.Value {
	v := b.randConst(name, dims...)
	d := v.Const.Data.([]float32)
	for i := range d {
		d[i] = float32(math.Abs(float64(d[i]))) + 0.1
	}
	return v
}

func (b *builder) node(op string, attrs map[string]*ir.Attr, ins ...*ir.Value) *ir.Value {
	n := &ir.Node{Name: b.g.UniqueName(strings.ToLower(op)), Op: op, Inputs: ins, Attrs: attrs}
	out := &ir.Value{Name: n.Name + ".out", Producer: n}
	n.Outputs = []*ir.Value{out}
	b.g.Nodes = append(b.g.Nodes, n)
	return out
}

func (b *builder) output(vs ...*ir.Value) *ir.Graph {
	b.g.Outputs = append(b.g.Outputs, vs...)
	return b.g
}

func (b *builder) randInputs() map[string]*ir.Tensor {
	m := map[string]*ir.Tensor{}
	for _, v := range b.g.Inputs {
		t := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
		d := t.Data.([]float32)
		for i := range d {
			d[i] = float32(b.rng.NormFloat64())
		}
		m[v.Name] = t
	}
	return m
}

// runPipeline runs spec on g and checks the outputs against the graph before
// the pipeline within tol (relative to max(1, |want|)).
func runPipeline(t *testing.T, b *builder, spec string, tol float64) {
	t.Helper()
	in := b.randInputs()
	want, err := interp.Run(b.g, in)
	if err != nil {
		t.Fatalf("before %s: %v", spec, err)
	}
	p, err := ParsePipeline(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(b.g, p, Options{VerifyEach: true}); err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	got, err := interp.Run(b.g, in)
	if err != nil {
		t.Fatalf("after %s: %v", spec, err)
	}
	compareOutputs(t, want, got, tol)
}

func countOp(g *ir.Graph, op string) int {
	n := 0
	for _, nd := range g.Nodes {
		if nd.Op == op {
			n++
		}
	}
	return n
}

func TestPipelinesParseAndPrintBack(t *testing.T) {
	for _, name := range PipelineNames() {
		p, err := ParsePipeline(name)
		if err != nil {
			t.Fatalf("pipeline %s: %v", name, err)
		}
		q, err := ParsePipeline(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("pipeline %s: %q parses back as %q (%v)", name, p, q, err)
		}
	}
}

func TestPassOrder(t *testing.T) {
	for _, c := range order {
		for _, name := range []string{c.a, c.b} {
			if _, err := Lookup(name); err != nil {
				t.Errorf("order table names unknown pass: %v", err)
			}
		}
	}
	if _, err := ParsePipeline("shape-infer,bn-fold,const-fold"); err == nil ||
		!strings.Contains(err.Error(), "const-fold must run before bn-fold") {
		t.Fatalf("out-of-order pipeline: err = %v, want an ordering error", err)
	}
}

func TestUnknownPassListsValidNames(t *testing.T) {
	_, err := ParsePipeline("shape-infer,constfold")
	if err == nil || !strings.Contains(err.Error(), `unknown pass "constfold"`) || !strings.Contains(err.Error(), "const-fold") {
		t.Fatalf("err = %v, want unknown pass naming the valid ones", err)
	}
}

func TestPanicInPassNamesThePass(t *testing.T) {
	boom := &Pass{Name: "boom", Run: func(*Context, *ir.Graph) error { panic("kaboom") }}
	err := runOne(&Context{}, boom, &ir.Graph{})
	if err == nil || !strings.HasPrefix(err.Error(), "pass boom: internal error: kaboom") {
		t.Fatalf("err = %v", err)
	}
}

func TestBNFoldConv(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 2, 3, 6, 6)
	c := b.node("Conv", map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1, 1, 1)}, x, b.randConst("w", 4, 3, 3, 3), b.randConst("bias", 4))
	y := b.node("BatchNormalization", nil, c, b.randConst("s", 4), b.randConst("sh", 4), b.randConst("m", 4), b.posConst("v", 4))
	b.output(b.node("Relu", nil, y))
	runPipeline(t, b, "shape-infer,bn-fold,dce", 1e-5)
	if countOp(b.g, "BatchNormalization") != 0 {
		t.Fatalf("BatchNormalization not folded:\n%s", ir.Format(b.g, ir.PrintOptions{}))
	}
}

func TestBNFoldConvWithoutBiasGroupedAndOutput(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 1, 4, 5, 5)
	c := b.node("Conv", map[string]*ir.Attr{"group": ir.IntAttr(2)}, x, b.randConst("w", 6, 2, 3, 3))
	y := b.node("BatchNormalization", map[string]*ir.Attr{"epsilon": ir.FloatAttr(1e-3)}, c,
		b.randConst("s", 6), b.randConst("sh", 6), b.randConst("m", 6), b.posConst("v", 6))
	b.output(y)
	runPipeline(t, b, "shape-infer,bn-fold,dce", 1e-5)
	if countOp(b.g, "BatchNormalization") != 0 || b.g.Outputs[0].Name != y.Name {
		t.Fatalf("want BN folded and output name %q kept:\n%s", y.Name, ir.Format(b.g, ir.PrintOptions{}))
	}
}

func TestBNFoldConvTransposeAndGemm(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 1, 4, 3, 3)
	c := b.node("ConvTranspose", map[string]*ir.Attr{"group": ir.IntAttr(2), "strides": ir.IntsAttr(2, 2)}, x, b.randConst("w", 4, 3, 2, 2), b.randConst("bias", 6))
	y := b.node("BatchNormalization", nil, c, b.randConst("s", 6), b.randConst("sh", 6), b.randConst("m", 6), b.posConst("v", 6))
	f := b.node("Flatten", nil, y)
	gm := b.node("Gemm", map[string]*ir.Attr{"transB": ir.IntAttr(1), "beta": ir.FloatAttr(0.5)}, f, b.randConst("gw", 5, 216), b.randConst("gc", 5))
	z := b.node("BatchNormalization", nil, gm, b.randConst("s2", 5), b.randConst("sh2", 5), b.randConst("m2", 5), b.posConst("v2", 5))
	b.output(b.node("Relu", nil, z))
	runPipeline(t, b, "shape-infer,bn-fold,dce", 1e-4)
	if n := countOp(b.g, "BatchNormalization"); n != 0 {
		t.Fatalf("%d BatchNormalization left:\n%s", n, ir.Format(b.g, ir.PrintOptions{}))
	}
}

func TestBNFoldSkipsSharedProducer(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 1, 3, 4, 4)
	c := b.node("Conv", nil, x, b.randConst("w", 2, 3, 1, 1))
	y := b.node("BatchNormalization", nil, c, b.randConst("s", 2), b.randConst("sh", 2), b.randConst("m", 2), b.posConst("v", 2))
	b.output(y, b.node("Relu", nil, c))
	runPipeline(t, b, "shape-infer,bn-fold,dce", 1e-5)
	if countOp(b.g, "BatchNormalization") != 1 {
		t.Fatal("BatchNormalization folded although the Conv output has another reader")
	}
}

func TestConstFoldShapeChain(t *testing.T) {
	// Shape(x) -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape(x): the exporter's flatten.
	b := newBuilder()
	x := b.input("x", 2, 3, 4)
	s := b.node("Shape", nil, x)
	idx := b.g.AddConst("zero", ir.Scalar(int64(0)))
	n := b.node("Gather", nil, s, idx)
	ax := b.g.AddConst("axes", ir.FromInt64([]int64{1}, []int64{0}))
	u := b.node("Unsqueeze", nil, n, ax)
	m1 := b.g.AddConst("m1", ir.FromInt64([]int64{1}, []int64{-1}))
	cat := b.node("Concat", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, u, m1)
	b.output(b.node("Reshape", nil, x, cat))
	runPipeline(t, b, "shape-infer,const-fold,dce", 0)
	if len(b.g.Nodes) != 1 || b.g.Nodes[0].Op != "Reshape" || !b.g.Nodes[0].Inputs[1].IsConst() {
		t.Fatalf("want a single Reshape with a constant shape:\n%s", ir.Format(b.g, ir.PrintOptions{}))
	}
	if got := b.g.Nodes[0].Inputs[1].Const.Int64s(); len(got) != 2 || got[0] != 2 || got[1] != -1 {
		t.Fatalf("folded shape = %v, want [2 -1]", got)
	}
}

func TestCSEAndDCEAndIdentity(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 3, 4)
	r1 := b.node("Relu", nil, x)
	r2 := b.node("Relu", nil, x)
	id := b.node("Identity", nil, r2)
	b.node("Sigmoid", nil, x) // dead
	b.output(b.node("Add", nil, r1, id))
	runPipeline(t, b, "shape-infer,identity-elim,cse,dce", 0)
	if len(b.g.Nodes) != 2 || countOp(b.g, "Relu") != 1 || countOp(b.g, "Add") != 1 {
		t.Fatalf("want Relu+Add only:\n%s", ir.Format(b.g, ir.PrintOptions{}))
	}
}

func TestIdentityFeedingOutputKeepsName(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 3)
	r := b.node("Relu", nil, x)
	y := b.node("Identity", nil, r)
	y.Name = "y"
	direct := b.node("Identity", nil, x) // output that copies an input must stay
	direct.Name = "copy"
	b.output(y, direct)
	runPipeline(t, b, "identity-elim", 0)
	if b.g.Outputs[0].Name != "y" || b.g.Outputs[0].Producer.Op != "Relu" {
		t.Fatalf("want output y produced by Relu:\n%s", ir.Format(b.g, ir.PrintOptions{}))
	}
	if b.g.Outputs[1].Name != "copy" || countOp(b.g, "Identity") != 1 {
		t.Fatalf("identity from an input to an output must stay:\n%s", ir.Format(b.g, ir.PrintOptions{}))
	}
}

func TestPrintAfterDumpsParseBack(t *testing.T) {
	b := newBuilder()
	x := b.input("x", 2, 3)
	b.output(b.node("Relu", nil, b.node("Identity", nil, x)))
	var out strings.Builder
	p, err := ParsePipeline("shape-infer,identity-elim")
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(b.g, p, Options{PrintAfterAll: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	dumps := strings.Split(out.String(), "# *** IR dump after ")
	if len(dumps) != 3 || !strings.HasPrefix(dumps[2], "identity-elim (pass 2 of 2; nodes 2 -> 1)") {
		t.Fatalf("want two dumps with banners, got:\n%s", out.String())
	}
	for _, d := range dumps[1:] {
		if _, err := ir.Parse([]byte("# *** " + d)); err != nil {
			t.Fatalf("dump does not parse back: %v\n%s", err, d)
		}
	}
}
