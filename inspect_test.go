package effc

import (
	"reflect"
	"testing"

	"github.com/effc/effc/ir"
)

// graphBuilder assembles small graphs with hand-set types, so Inspect can be
// tested without the frontend or shape inference.
type graphBuilder struct{ g *ir.Graph }

func newGraph() *graphBuilder {
	return &graphBuilder{g: &ir.Graph{Name: "t", Opsets: map[string]int64{"": ir.CanonicalOpset}}}
}

func (b *graphBuilder) input(name string, dt ir.DType, shape ir.Shape) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(dt, shape)}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *graphBuilder) weight(name string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)), Const: t}
	b.g.Consts = append(b.g.Consts, v)
	return v
}

func (b *graphBuilder) node(name, op string, attrs map[string]*ir.Attr, out ir.Shape, ins ...*ir.Value) *ir.Value {
	n := &ir.Node{Name: name, Op: op, Inputs: ins, Attrs: attrs}
	o := &ir.Value{Name: name + "_out", Type: ir.TensorType(ir.Float32, out), Producer: n}
	n.Outputs = []*ir.Value{o}
	b.g.Nodes = append(b.g.Nodes, n)
	return o
}

// zerosEvery returns a float32 tensor whose every k-th element is 0 and the
// rest 1.
func zerosEvery(shape []int64, k int) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, shape)
	d := t.Data.([]float32)
	for i := range d {
		if i%k != 0 {
			d[i] = 1
		}
	}
	return t
}

func TestInspectMACs(t *testing.T) {
	b := newGraph()
	x := b.input("x", ir.Float32, ir.Shape{ir.Sym("N"), ir.D(8), ir.D(10), ir.D(10)})
	// Grouped conv: 8 -> 16 channels, groups 2, 3x3, stride 1, pad 1.
	w := b.weight("w", zerosEvery([]int64{16, 4, 3, 3}, 4)) // 576 elements, 144 zeros
	c := b.node("conv", "Conv", map[string]*ir.Attr{"group": ir.IntAttr(2)},
		ir.Shape{ir.Sym("N"), ir.D(16), ir.D(10), ir.D(10)}, x, w)
	// ConvTranspose 16 -> 4 channels, 2x2 kernel, stride 2: W is [Cin, Cout/g, kh, kw].
	wt := b.weight("wt", zerosEvery([]int64{16, 4, 2, 2}, 1)) // all zeros
	ct := b.node("deconv", "ConvTranspose", nil, ir.Shape{ir.Sym("N"), ir.D(4), ir.D(20), ir.D(20)}, c, wt)
	p := b.node("pool", "MaxPool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "strides": ir.IntsAttr(2, 2)},
		ir.Shape{ir.Sym("N"), ir.D(4), ir.D(10), ir.D(10)}, ct)
	gp := b.node("gap", "GlobalAveragePool", nil, ir.Shape{ir.Sym("N"), ir.D(4), ir.D(1), ir.D(1)}, p)
	shape := b.weight("shape", ir.FromInt64([]int64{2}, []int64{-1, 4}))
	f := b.node("flat", "Reshape", nil, ir.Shape{ir.Sym("N"), ir.D(4)}, gp, shape)
	// Gemm as PyTorch's Linear exports it: transB, B [5,4], bias [5].
	wb := b.weight("fc.w", zerosEvery([]int64{5, 4}, 2)) // 20 elements, 10 zeros
	bias := b.weight("fc.b", zerosEvery([]int64{5}, 1))  // 5 zeros
	y := b.node("fc", "Gemm", map[string]*ir.Attr{"transB": ir.IntAttr(1)}, ir.Shape{ir.Sym("N"), ir.D(5)}, f, wb, bias)
	// A second node reading fc.w: per-node params count it again, totals do not.
	mm := b.node("mm", "MatMul", nil, ir.Shape{ir.Sym("N"), ir.D(4)}, y, wb)
	add := b.node("add", "Add", nil, ir.Shape{ir.Sym("N"), ir.D(4)}, mm, f)
	b.g.Outputs = []*ir.Value{add}

	r := Inspect(b.g)
	want := map[string]int64{
		"conv":   16 * 10 * 10 * (4 * 3 * 3), // out elements x fan-in (Cin/group x k)
		"deconv": 16 * 10 * 10 * (4 * 2 * 2), // in elements x Cout/group x k
		"pool":   4 * 10 * 10 * 4,            // out elements x window
		"gap":    4 * 10 * 10,                // input elements: [N,4,10,10]
		"flat":   0,
		"fc":     5 * 4,
		"mm":     4 * 5, // [N,5] x [5,4]: out elements x K=5
		"add":    4,
	}
	for _, n := range r.Nodes {
		if n.MACs != want[n.Name] {
			t.Errorf("node %q (%s): MACs %d, want %d", n.Name, n.Op, n.MACs, want[n.Name])
		}
	}
	var sum int64
	for _, v := range want {
		sum += v
	}
	if r.Totals.MACs != sum {
		t.Errorf("total MACs %d, want %d", r.Totals.MACs, sum)
	}
	if !reflect.DeepEqual(r.Symbolic, []string{"N"}) {
		t.Errorf("Symbolic = %v, want [N]", r.Symbolic)
	}

	type pz struct {
		params, zeros int64
		sparsity      float64
	}
	wantP := map[string]pz{
		"conv":   {576, 144, 0.25},
		"deconv": {256, 256, 1},
		"flat":   {0, 0, 0}, // the i64 shape is not a weight
		"fc":     {25, 15, 0.6},
		"mm":     {20, 10, 0.5},
	}
	for _, n := range r.Nodes {
		got := pz{n.Params, n.Zeros, n.Sparsity}
		if got != wantP[n.Name] {
			t.Errorf("node %q: params/zeros/sparsity %v, want %v", n.Name, got, wantP[n.Name])
		}
	}
	// fc.w counts once in the totals though two nodes read it.
	if r.Totals.Params != 576+256+25 || r.Totals.Zeros != 144+256+15 {
		t.Errorf("totals params %d zeros %d, want %d and %d", r.Totals.Params, r.Totals.Zeros, 576+256+25, 144+256+15)
	}
	if r.Totals.WeightBytes != 4*(576+256+25) {
		t.Errorf("weight bytes %d, want %d", r.Totals.WeightBytes, 4*(576+256+25))
	}
	if r.Totals.Nodes != 8 {
		t.Errorf("total nodes %d, want 8", r.Totals.Nodes)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Type != "f32[N,8,10,10]" {
		t.Errorf("inputs %+v, want x f32[N,8,10,10]", r.Inputs)
	}
}

func TestInspectGemmTransA(t *testing.T) {
	b := newGraph()
	a := b.input("a", ir.Float32, ir.ShapeOf(7, 3)) // transA: A^T is [3,7], K = 7
	w := b.weight("w", zerosEvery([]int64{7, 2}, 3))
	y := b.node("g", "Gemm", map[string]*ir.Attr{"transA": ir.IntAttr(1)}, ir.ShapeOf(3, 2), a, w)
	b.g.Outputs = []*ir.Value{y}
	r := Inspect(b.g)
	if got := r.Nodes[0].MACs; got != 3*2*7 {
		t.Errorf("Gemm transA MACs %d, want %d", got, 3*2*7)
	}
	if r.Symbolic != nil {
		t.Errorf("Symbolic = %v for a static graph, want none", r.Symbolic)
	}
}

func TestIsWeight(t *testing.T) {
	f := &ir.Value{Name: "f", Const: ir.FromFloat32([]int64{1}, []float32{1})}
	i32 := &ir.Value{Name: "b", Const: &ir.Tensor{DType: ir.Int32, Shape: []int64{1}, Data: []int32{0}}}
	i64 := &ir.Value{Name: "s", Const: ir.FromInt64([]int64{1}, []int64{1})}
	x := &ir.Value{Name: "x"}
	cases := []struct {
		op   string
		in   *ir.Value
		want bool
	}{
		{"Conv", f, true},
		{"Conv", x, false},
		{"Reshape", i64, false},
		{"Add", i32, false},
		{"QLinearConv", i32, true},
	}
	for _, c := range cases {
		n := &ir.Node{Name: "n", Op: c.op, Inputs: []*ir.Value{c.in}}
		if got := IsWeight(n, 0); got != c.want {
			t.Errorf("IsWeight(%s, %s) = %v, want %v", c.op, c.in.Name, got, c.want)
		}
	}
	if IsWeight(&ir.Node{Op: "Conv"}, 3) {
		t.Errorf("IsWeight of a missing input = true")
	}
}
