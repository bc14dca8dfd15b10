package frontend

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
	"github.com/google/go-cmp/cmp"
)

// gb builds small graphs for the upgrade tests.
type gb struct{ g *ir.Graph }

func newGB() *gb { return &gb{g: &ir.Graph{Opsets: map[string]int64{}}} }

// in adds a graph input of type t.
func (b *gb) in(name string, t ir.Type) *ir.Value {
	v := &ir.Value{Name: name, Type: t}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

// c adds a constant.
func (b *gb) c(name string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)), Const: t}
	b.g.Consts = append(b.g.Consts, v)
	return v
}

// node adds a node with nout outputs named "<name>_y<i>"; the last node's
// first output is the graph output.
func (b *gb) node(name, op string, attrs map[string]*ir.Attr, nout int, inputs ...*ir.Value) *ir.Node {
	n := &ir.Node{Name: name, Op: op, Inputs: inputs, Attrs: attrs}
	for i := 0; i < nout; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: name + "_y" + string(rune('0'+i)), Producer: n})
	}
	b.g.Nodes = append(b.g.Nodes, n)
	b.g.Outputs = []*ir.Value{n.Outputs[0]}
	return n
}

var (
	f32x4d  = ir.TensorType(ir.Float32, ir.ShapeOf(2, 3, 4, 5))
	f32any  = ir.Type{DType: ir.Float32}
	unknown = ir.Type{}
)

// inputNames lists a node's input names, "" for absent ones.
func inputNames(n *ir.Node) []string { return names(n.Inputs) }

// constOf returns the constant feeding input i of n, failing the test when
// there is none.
func constIn(t *testing.T, n *ir.Node, i int) *ir.Tensor {
	t.Helper()
	v := n.Input(i)
	if !v.IsConst() {
		t.Fatalf("%s: input %d is %v, want a constant", n, i, v)
	}
	return v.Const
}

// producerOps lists the ops of the producers chain reached through input 0
// from v, up to a graph input or constant.
func producerOps(v *ir.Value) []string {
	var ops []string
	for v != nil && v.Producer != nil {
		ops = append(ops, v.Producer.Op)
		v = v.Producer.Input(0)
	}
	return ops
}

func mustUpgrade(t *testing.T, g *ir.Graph, opset int64) {
	t.Helper()
	if err := upgrade(g, opset); err != nil {
		t.Fatalf("upgrade from %d: %v", opset, err)
	}
	// Every node must follow its inputs' producers and use only values
	// the graph defines.
	seen := map[*ir.Value]bool{}
	for _, v := range append(append([]*ir.Value{}, g.Inputs...), g.Consts...) {
		seen[v] = true
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != nil && !seen[in] {
				t.Fatalf("%s: input %d %q is not defined before the node", n, i, in.Name)
			}
		}
		for _, o := range n.Outputs {
			if o != nil {
				if o.Producer != n {
					t.Fatalf("%s: output %q has producer %v", n, o.Name, o.Producer)
				}
				seen[o] = true
			}
		}
	}
}

func TestUpgradeAttrsToInputs(t *testing.T) {
	for _, tc := range []struct {
		op, attr string
		opset    int64
		idx      int
	}{
		{"Reshape", "shape", 4, 1},
		{"Squeeze", "axes", 12, 1},
		{"Unsqueeze", "axes", 11, 1},
		{"ReduceSum", "axes", 12, 1},
		{"ReduceMean", "axes", 17, 1},
		{"ReduceMax", "axes", 13, 1},
		{"ReduceMin", "axes", 1, 1},
		{"ReduceProd", "axes", 11, 1},
		{"ReduceL1", "axes", 13, 1},
		{"ReduceL2", "axes", 13, 1},
		{"ReduceLogSum", "axes", 13, 1},
		{"ReduceLogSumExp", "axes", 13, 1},
		{"ReduceSumSquare", "axes", 13, 1},
	} {
		b := newGB()
		x := b.in("x", f32x4d)
		n := b.node("n", tc.op, map[string]*ir.Attr{tc.attr: ir.IntsAttr(0, -1), "keepdims": ir.IntAttr(0)}, 1, x)
		mustUpgrade(t, b.g, tc.opset)
		if n.HasAttr(tc.attr) || !n.HasAttr("keepdims") {
			t.Errorf("%s-%d: attrs %v, want %s gone and keepdims kept", tc.op, tc.opset, n.SortedAttrNames(), tc.attr)
		}
		c := constIn(t, n, tc.idx)
		if want := ir.FromInt64([]int64{2}, []int64{0, -1}); !cmp.Equal(c, want) {
			t.Errorf("%s-%d: input %d = %v, want %v", tc.op, tc.opset, tc.idx, c, want)
		}
		if name := n.Inputs[tc.idx].Name; name != "n."+tc.attr {
			t.Errorf("%s: constant named %q, want n.%s", tc.op, name, tc.attr)
		}
	}
}

func TestUpgradeCanonicalUntouched(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("n", "ReduceMean", map[string]*ir.Attr{"axes": ir.IntsAttr(1)}, 1, x)
	mustUpgrade(t, b.g, 18) // an opset-18 model never carries the attribute form; nothing runs
	if !n.HasAttr("axes") || len(n.Inputs) != 1 || len(b.g.Consts) != 0 {
		t.Errorf("opset 18 node was rewritten: %v inputs %v", n.SortedAttrNames(), inputNames(n))
	}
	b = newGB()
	x = b.in("x", f32x4d)
	n = b.node("n", "Softmax", nil, 1, x)
	mustUpgrade(t, b.g, 13)
	if n.HasAttr("axis") || len(b.g.Nodes) != 1 {
		t.Errorf("opset-13 Softmax was rewritten")
	}
}

func TestUpgradeAbsentOptionalAttrStaysAbsent(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("n", "ReduceSum", nil, 1, x)
	mustUpgrade(t, b.g, 11)
	if len(n.Inputs) != 1 {
		t.Errorf("inputs %v, want just x (reduce over all axes)", inputNames(n))
	}
	b = newGB()
	x = b.in("x", f32x4d)
	b.node("n", "Unsqueeze", nil, 1, x)
	if err := upgrade(b.g, 11); err == nil || !strings.Contains(err.Error(), `node "n" (Unsqueeze): attribute "axes" is required`) {
		t.Errorf("Unsqueeze without axes: error %v", err)
	}
}

func TestUpgradeSlicePadClipTopK(t *testing.T) {
	b := newGB()
	x := b.in("x", ir.TensorType(ir.Float16, ir.ShapeOf(4, 4)))
	sl := b.node("sl", "Slice", map[string]*ir.Attr{"starts": ir.IntsAttr(1), "ends": ir.IntsAttr(3), "axes": ir.IntsAttr(1)}, 1, x)
	pad := b.node("pad", "Pad", map[string]*ir.Attr{"paddings": ir.IntsAttr(0, 1, 0, 1), "value": ir.FloatAttr(2.5)}, 1, x)
	clip := b.node("clip", "Clip", map[string]*ir.Attr{"max": ir.FloatAttr(6)}, 1, x)
	topk := b.node("topk", "TopK", map[string]*ir.Attr{"k": ir.IntAttr(2)}, 2, x)
	mustUpgrade(t, b.g, 1)
	if got := [][]int64{constIn(t, sl, 1).Int64s(), constIn(t, sl, 2).Int64s(), constIn(t, sl, 3).Int64s()}; !cmp.Equal(got, [][]int64{{1}, {3}, {1}}) {
		t.Errorf("Slice starts/ends/axes %v", got)
	}
	if len(sl.Attrs) != 0 {
		t.Errorf("Slice keeps attrs %v", sl.SortedAttrNames())
	}
	if got := constIn(t, pad, 1).Int64s(); !cmp.Equal(got, []int64{0, 1, 0, 1}) || len(pad.Attrs) != 0 {
		t.Errorf("Pad pads %v attrs %v", got, pad.SortedAttrNames())
	}
	// The pad value takes the data's dtype (f16 2.5 = 0x4100), as a scalar.
	if v := constIn(t, pad, 2); v.DType != ir.Float16 || len(v.Shape) != 0 || v.Data.([]uint16)[0] != 0x4100 {
		t.Errorf("Pad value %v %v %v, want f16 scalar 2.5", v.DType, v.Shape, v.Data)
	}
	if clip.Input(1) != nil || constIn(t, clip, 2).Float64At(0) != 6 || constIn(t, clip, 2).DType != ir.Float16 {
		t.Errorf("Clip inputs %v, want x, absent min, f16 max 6", inputNames(clip))
	}
	if got := constIn(t, topk, 1); !cmp.Equal(got, ir.FromInt64([]int64{1}, []int64{2})) || topk.HasAttr("k") {
		t.Errorf("TopK K %v attrs %v", got, topk.SortedAttrNames())
	}
}

func TestUpgradeConstLikeUnknownDType(t *testing.T) {
	b := newGB()
	x := b.in("x", unknown)
	clip := b.node("clip", "Clip", map[string]*ir.Attr{"min": ir.FloatAttr(0), "max": ir.FloatAttr(6)}, 1, x)
	mustUpgrade(t, b.g, 6)
	for i := 1; i <= 2; i++ {
		v := clip.Input(i)
		if v == nil || v.Producer == nil || v.Producer.Op != "CastLike" || v.Producer.Inputs[1] != x || !v.Producer.Inputs[0].IsConst() {
			t.Fatalf("Clip input %d = %v, want CastLike(f32 const, x)", i, v)
		}
	}
	if b.g.Nodes[len(b.g.Nodes)-1] != clip {
		t.Errorf("Clip is not after its CastLike inputs")
	}
}

func TestUpgradeSplit(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	s1 := b.node("s1", "Split", map[string]*ir.Attr{"split": ir.IntsAttr(1, 2), "axis": ir.IntAttr(1)}, 2, x)
	s2 := b.node("s2", "Split", nil, 3, x)
	sizes := b.c("sizes", ir.FromFloat32([]int64{2}, []float32{2, 3}))
	s3 := b.node("s3", "Split", nil, 2, x, sizes)
	mustUpgrade(t, b.g, 1)
	if got := constIn(t, s1, 1).Int64s(); !cmp.Equal(got, []int64{1, 2}) || s1.HasAttr("split") || s1.HasAttr("num_outputs") {
		t.Errorf("Split with split attr: input %v attrs %v", got, s1.SortedAttrNames())
	}
	if s2.AttrInt("num_outputs", 0) != 3 || s2.AttrInt("axis", -1) != 0 || len(s2.Inputs) != 1 {
		t.Errorf("Split without sizes: attrs %v inputs %v, want num_outputs=3 axis=0", s2.SortedAttrNames(), inputNames(s2))
	}
	if c := constIn(t, s3, 1); c.DType != ir.Int64 || !cmp.Equal(c.Int64s(), []int64{2, 3}) {
		t.Errorf("Split-1 float split input became %v %v, want int64 [2 3]", c.DType, c.Data)
	}
	b = newGB()
	x = b.in("x", f32x4d)
	s4 := b.node("s4", "Split", nil, 2, x)
	mustUpgrade(t, b.g, 13)
	if s4.AttrInt("num_outputs", 0) != 2 {
		t.Errorf("Split-13 without split input: want num_outputs=2, attrs %v", s4.SortedAttrNames())
	}
}

func TestUpgradeSoftmax(t *testing.T) {
	// Rank known, axis not last: Flatten -> Softmax(-1) -> Reshape(Shape(x)).
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("sm", "Softmax", nil, 1, x)
	y := n.Outputs[0]
	mustUpgrade(t, b.g, 11)
	if got := producerOps(y); !cmp.Equal(got, []string{"Reshape", "Softmax", "Flatten"}) {
		t.Fatalf("output chain %v, want Reshape <- Softmax <- Flatten", got)
	}
	if n.AttrInt("axis", 0) != -1 || n.Inputs[0].Producer.AttrInt("axis", 0) != 1 {
		t.Errorf("softmax axis %d flatten axis %d, want -1 and 1", n.AttrInt("axis", 0), n.Inputs[0].Producer.AttrInt("axis", 0))
	}
	r := y.Producer
	if sh := r.Input(1); sh == nil || sh.Producer == nil || sh.Producer.Op != "Shape" || sh.Producer.Inputs[0] != x || r.AttrInt("allowzero", 0) != 1 {
		t.Errorf("Reshape inputs %v, want Shape(x) with allowzero=1", inputNames(r))
	}
	if !b.g.IsOutput(y) || y.Name != "sm_y0" {
		t.Errorf("graph output changed to %q", b.g.Outputs[0].Name)
	}

	// Trailing dims of 1 after axis: the flatten is a no-op.
	b = newGB()
	x = b.in("x", ir.TensorType(ir.Float32, ir.ShapeOf(2, 3, 1, 1)))
	n = b.node("lsm", "LogSoftmax", nil, 1, x)
	mustUpgrade(t, b.g, 1)
	if len(b.g.Nodes) != 1 || n.AttrInt("axis", 0) != 1 {
		t.Errorf("no-op coercion rewritten: %d nodes, axis %d", len(b.g.Nodes), n.AttrInt("axis", 0))
	}

	// Last axis: keep, axis made explicit.
	b = newGB()
	x = b.in("x", ir.TensorType(ir.Float32, ir.ShapeOf(2, 3)))
	n = b.node("hm", "Hardmax", nil, 1, x)
	mustUpgrade(t, b.g, 12)
	if len(b.g.Nodes) != 1 || n.AttrInt("axis", 0) != 1 {
		t.Errorf("2-D Hardmax rewritten: %d nodes, axis %d", len(b.g.Nodes), n.AttrInt("axis", 0))
	}

	// Unknown rank, explicit axis -1: always the last axis.
	b = newGB()
	x = b.in("x", unknown)
	b.node("sm", "Softmax", map[string]*ir.Attr{"axis": ir.IntAttr(-1)}, 1, x)
	mustUpgrade(t, b.g, 12)
	if len(b.g.Nodes) != 1 {
		t.Errorf("axis=-1 Softmax rewritten into %d nodes", len(b.g.Nodes))
	}

	// Unknown rank, default axis: rewritten.
	b = newGB()
	x = b.in("x", unknown)
	b.node("sm", "Softmax", nil, 1, x)
	mustUpgrade(t, b.g, 12)
	if len(b.g.Nodes) != 4 {
		t.Errorf("unknown-rank Softmax: %d nodes, want Flatten, Softmax, Shape, Reshape", len(b.g.Nodes))
	}
}

func TestUpgradeLegacyBroadcast(t *testing.T) {
	// Constant B: reshaped in place to (3,1,1) for axis=1 of a rank-4 A.
	b := newGB()
	a := b.in("a", f32x4d)
	bias := b.c("bias", ir.FromFloat32([]int64{3}, []float32{1, 2, 3}))
	n := b.node("add", "Add", map[string]*ir.Attr{"broadcast": ir.IntAttr(1), "axis": ir.IntAttr(1)}, 1, a, bias)
	mustUpgrade(t, b.g, 6)
	if len(n.Attrs) != 0 {
		t.Errorf("attrs %v remain", n.SortedAttrNames())
	}
	if c := constIn(t, n, 1); !cmp.Equal(c.Shape, []int64{3, 1, 1}) || !cmp.Equal(c.Data, []float32{1, 2, 3}) {
		t.Errorf("B = %v %v, want [3 1 1] [1 2 3]", c.Shape, c.Data)
	}
	if !cmp.Equal(bias.Const.Shape, []int64{3}) {
		t.Errorf("original constant was modified: %v", bias.Const.Shape)
	}

	// Non-constant B of known rank: Unsqueeze at the trailing axes.
	b = newGB()
	a = b.in("a", f32x4d)
	bv := b.in("b", ir.TensorType(ir.Float32, ir.ShapeOf(2)))
	n = b.node("mul", "Mul", map[string]*ir.Attr{"broadcast": ir.IntAttr(1), "axis": ir.IntAttr(0)}, 1, a, bv)
	mustUpgrade(t, b.g, 1)
	u := n.Inputs[1].Producer
	if u == nil || u.Op != "Unsqueeze" || !cmp.Equal(constIn(t, u, 1).Int64s(), []int64{1, 2, 3}) {
		t.Errorf("B producer %v, want Unsqueeze axes [1 2 3]", u)
	}

	// Unknown ranks: a run-time reshape of B.
	b = newGB()
	a = b.in("a", unknown)
	bv = b.in("b", unknown)
	n = b.node("sub", "Sub", map[string]*ir.Attr{"broadcast": ir.IntAttr(1), "axis": ir.IntAttr(1)}, 1, a, bv)
	mustUpgrade(t, b.g, 6)
	if p := n.Inputs[1].Producer; p == nil || p.Op != "Reshape" || p.Inputs[0] != bv || p.Inputs[1].Producer.Op != "Concat" {
		t.Errorf("B producer %v, want Reshape(b, Concat(...))", p)
	}

	// broadcast without axis: numpy suffix alignment, attributes dropped.
	b = newGB()
	a = b.in("a", f32x4d)
	bv = b.in("b", ir.TensorType(ir.Float32, ir.ShapeOf(5)))
	n = b.node("div", "Div", map[string]*ir.Attr{"broadcast": ir.IntAttr(1)}, 1, a, bv)
	mustUpgrade(t, b.g, 6)
	if n.Inputs[1] != bv || len(n.Attrs) != 0 {
		t.Errorf("suffix broadcast rewritten: inputs %v attrs %v", inputNames(n), n.SortedAttrNames())
	}

	// B that does not fit.
	b = newGB()
	a = b.in("a", ir.TensorType(ir.Float32, ir.ShapeOf(2, 3)))
	bv = b.in("b", ir.TensorType(ir.Float32, ir.ShapeOf(3, 4)))
	b.node("bad", "Add", map[string]*ir.Attr{"broadcast": ir.IntAttr(1), "axis": ir.IntAttr(1)}, 1, a, bv)
	if err := upgrade(b.g, 6); err == nil || !strings.Contains(err.Error(), `node "bad" (Add): legacy broadcast`) {
		t.Errorf("misfit broadcast: error %v", err)
	}
}

func TestUpgradeBatchNorm(t *testing.T) {
	mk := func(attrs map[string]*ir.Attr, nout int) (*gb, *ir.Node) {
		b := newGB()
		x := b.in("x", f32x4d)
		var ps []*ir.Value
		for _, p := range []string{"scale", "b", "mean", "var"} {
			ps = append(ps, b.c(p, ir.FromFloat32([]int64{3}, []float32{1, 2, 3})))
		}
		n := b.node("bn", "BatchNormalization", attrs, nout, append([]*ir.Value{x}, ps...)...)
		return b, n
	}
	// Inference: is_test, spatial, consumed_inputs go; unused outputs trimmed.
	b, n := mk(map[string]*ir.Attr{"is_test": ir.IntAttr(1), "spatial": ir.IntAttr(1), "consumed_inputs": ir.IntsAttr(0, 0, 0, 1, 1), "epsilon": ir.FloatAttr(1e-3)}, 5)
	mustUpgrade(t, b.g, 1)
	if !cmp.Equal(n.SortedAttrNames(), []string{"epsilon"}) || len(n.Outputs) != 1 {
		t.Errorf("attrs %v outputs %d, want [epsilon] and 1", n.SortedAttrNames(), len(n.Outputs))
	}
	// Running mean/var used: training mode.
	b, n = mk(nil, 3)
	b.g.Outputs = append(b.g.Outputs, n.Outputs[1])
	mustUpgrade(t, b.g, 9)
	if n.AttrInt("training_mode", 0) != 1 || len(n.Outputs) != 3 {
		t.Errorf("training BN: attrs %v outputs %d", n.SortedAttrNames(), len(n.Outputs))
	}
	// saved_mean used: refused.
	b, n = mk(nil, 5)
	b.g.Outputs = append(b.g.Outputs, n.Outputs[3])
	if err := upgrade(b.g, 7); err == nil || !strings.Contains(err.Error(), `node "bn" (BatchNormalization): output 3`) {
		t.Errorf("saved_mean used: error %v", err)
	}
	// spatial=0: the elementwise formula, ending in the node itself.
	b, n = mk(map[string]*ir.Attr{"spatial": ir.IntAttr(0), "epsilon": ir.FloatAttr(0.5)}, 1)
	y := n.Outputs[0]
	mustUpgrade(t, b.g, 8)
	if got := producerOps(y); !cmp.Equal(got, []string{"Add", "Mul", "Div", "Sub"}) {
		t.Errorf("spatial=0 chain %v, want Add <- Mul <- Div <- Sub", got)
	}
	if y.Producer != n || n.Name != "bn" {
		t.Errorf("output %q no longer produced by node bn", y.Name)
	}
	var eps *ir.Value
	for _, c := range b.g.Consts {
		if c.Name == "bn.epsilon" {
			eps = c
		}
	}
	if eps == nil || eps.Const.Float64At(0) != 0.5 {
		t.Errorf("epsilon constant %v, want bn.epsilon = 0.5", eps)
	}
}

func TestUpgradeDropout(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("d", "Dropout", map[string]*ir.Attr{"ratio": ir.FloatAttr(0.25), "is_test": ir.IntAttr(1)}, 2, x)
	mask := n.Outputs[1]
	b.g.Outputs = append(b.g.Outputs, mask)
	mustUpgrade(t, b.g, 6)
	if len(n.Attrs) != 0 || constIn(t, n, 1).Float64At(0) != 0.25 {
		t.Errorf("attrs %v inputs %v, want ratio input 0.25", n.SortedAttrNames(), inputNames(n))
	}
	if p := mask.Producer; p == nil || p.Op != "CastLike" || p.Inputs[0] != n.Outputs[1] || p.Inputs[1] != x {
		t.Errorf("old mask producer %v, want CastLike(bool mask, x)", p)
	}
	// Unused mask: dropped.
	b = newGB()
	x = b.in("x", f32x4d)
	n = b.node("d", "Dropout", nil, 2, x)
	mustUpgrade(t, b.g, 10)
	if len(n.Outputs) != 1 || len(b.g.Nodes) != 1 {
		t.Errorf("unused mask kept: %d outputs, %d nodes", len(n.Outputs), len(b.g.Nodes))
	}
}

func TestUpgradeResize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opset    int64
		op       string
		attrs    map[string]*ir.Attr
		scales   []float32 // scales input, nil for none
		want     map[string]string
		wantScls []float32
	}{
		{"upsample-7", 7, "Upsample", map[string]*ir.Attr{"scales": ir.FloatsAttr(1, 1, 2, 2)}, nil,
			map[string]string{"mode": "nearest", "nearest_mode": "floor", "coordinate_transformation_mode": "asymmetric"}, []float32{1, 1, 2, 2}},
		{"upsample-1 bilinear", 1, "Upsample", map[string]*ir.Attr{"height_scale": ir.FloatAttr(2), "width_scale": ir.FloatAttr(3), "mode": ir.StringAttr("bilinear")}, nil,
			map[string]string{"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, []float32{1, 1, 2, 3}},
		{"upsample-9", 9, "Upsample", map[string]*ir.Attr{"mode": ir.StringAttr("linear")}, []float32{1, 1, 2, 2},
			map[string]string{"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, []float32{1, 1, 2, 2}},
		{"resize-10 down", 10, "Resize", nil, []float32{1, 1, 0.5, 0.6},
			map[string]string{"mode": "nearest", "nearest_mode": "ceil", "coordinate_transformation_mode": "asymmetric"}, []float32{1, 1, 0.5, 0.6}},
	} {
		b := newGB()
		x := b.in("x", f32x4d)
		ins := []*ir.Value{x}
		if tc.scales != nil {
			ins = append(ins, b.c("sc", ir.FromFloat32([]int64{4}, tc.scales)))
		}
		n := b.node("r", tc.op, tc.attrs, 1, ins...)
		mustUpgrade(t, b.g, tc.opset)
		got := map[string]string{}
		for k, a := range n.Attrs {
			got[k] = a.String
		}
		if n.Op != "Resize" || !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %s attrs %v, want Resize %v", tc.name, n.Op, got, tc.want)
		}
		if len(n.Inputs) != 3 || n.Inputs[1] != nil || !cmp.Equal(constIn(t, n, 2).Data, tc.wantScls) {
			t.Errorf("%s: inputs %v, want x, no roi, scales %v", tc.name, inputNames(n), tc.wantScls)
		}
	}

	// Mixed up/down nearest resize: refused.
	b := newGB()
	x := b.in("x", f32x4d)
	b.node("r", "Resize", nil, 1, x, b.c("sc", ir.FromFloat32([]int64{4}, []float32{1, 1, 2, 0.5})))
	if err := upgrade(b.g, 10); err == nil || !strings.Contains(err.Error(), `node "r" (Resize)`) {
		t.Errorf("mixed scales: error %v", err)
	}

	// Resize-11: empty roi and scales placeholders become absent inputs;
	// tf_half_pixel_for_nn becomes half_pixel + ceil.
	b = newGB()
	x = b.in("x", f32x4d)
	empty := b.c("empty", ir.FromFloat32([]int64{0}, []float32{}))
	sizes := b.c("sizes", ir.FromInt64([]int64{4}, []int64{2, 3, 2, 2}))
	n := b.node("r", "Resize", map[string]*ir.Attr{"coordinate_transformation_mode": ir.StringAttr("tf_half_pixel_for_nn")}, 1, x, empty, empty, sizes)
	mustUpgrade(t, b.g, 11)
	if n.Inputs[1] != nil || n.Inputs[2] != nil || n.Inputs[3] != sizes {
		t.Errorf("Resize-11 inputs %v, want x, -, -, sizes", inputNames(n))
	}
	if n.AttrString("coordinate_transformation_mode", "") != "half_pixel" || n.AttrString("nearest_mode", "") != "ceil" {
		t.Errorf("tf_half_pixel_for_nn became %q/%q", n.AttrString("coordinate_transformation_mode", ""), n.AttrString("nearest_mode", ""))
	}
}

func TestUpgradeSmallRules(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	concat := b.node("concat", "Concat", nil, 1, x, x)
	cast := b.node("cast", "Cast", map[string]*ir.Attr{"to": ir.StringAttr("float16")}, 1, x)
	selu := b.node("selu", "Selu", map[string]*ir.Attr{"consumed_inputs": ir.IntsAttr(0)}, 1, x)
	lp := b.node("lp", "LpPool", map[string]*ir.Attr{"p": ir.FloatAttr(3), "kernel_shape": ir.IntsAttr(2, 2)}, 1, x)
	gemm := b.node("gemm", "Gemm", map[string]*ir.Attr{"broadcast": ir.IntAttr(1)}, 1, x, x, x)
	scatter := b.node("scatter", "Scatter", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, 1, x, x, x)
	roi := b.node("roi", "RoiAlign", nil, 1, x, x, x)
	tile := b.node("tile", "Tile", nil, 1, x, b.c("tiles", ir.Scalar(int64(3))), b.c("axis", ir.Scalar(int64(2))))
	rnn := b.node("rnn", "RNN", map[string]*ir.Attr{"output_sequence": ir.IntAttr(1), "hidden_size": ir.IntAttr(4)}, 1, x, x, x)
	mustUpgrade(t, b.g, 1)
	for _, c := range []struct {
		n    *ir.Node
		ok   bool
		what string
	}{
		{concat, concat.AttrInt("axis", 0) == 1, "Concat axis default 1"},
		{cast, cast.AttrInt("to", 0) == int64(ir.Float16), "Cast to=FLOAT16 as int"},
		{selu, selu.AttrFloat("alpha", 0) == 1.6732 && selu.AttrFloat("gamma", 0) == 1.0507 && !selu.HasAttr("consumed_inputs"), "Selu-1 defaults, consumed_inputs gone"},
		{lp, lp.Attrs["p"].Kind == ir.AttrInt && lp.AttrInt("p", 0) == 3, "LpPool p int"},
		{gemm, !gemm.HasAttr("broadcast"), "Gemm broadcast dropped"},
		{scatter, scatter.Op == "ScatterElements" && scatter.AttrInt("axis", 0) == 1, "Scatter -> ScatterElements"},
		{roi, roi.AttrString("coordinate_transformation_mode", "") == "output_half_pixel", "RoiAlign-10 output_half_pixel"},
		{tile, len(tile.Inputs) == 2 && cmp.Equal(constIn(t, tile, 1).Int64s(), []int64{1, 1, 3, 1}), "Tile-1 repeats"},
		{rnn, !rnn.HasAttr("output_sequence") && rnn.AttrInt("hidden_size", 0) == 4, "RNN output_sequence dropped"},
	} {
		if !c.ok {
			t.Errorf("%s: %s not done (attrs %v)", c.n, c.what, c.n.SortedAttrNames())
		}
	}

	b = newGB()
	x = b.in("x", f32x4d)
	b.node("cast", "Cast", map[string]*ir.Attr{"to": ir.StringAttr("FLOAT128")}, 1, x)
	if err := upgrade(b.g, 5); err == nil || !strings.Contains(err.Error(), `node "cast" (Cast): attribute to="FLOAT128"`) {
		t.Errorf("bad Cast to: error %v", err)
	}
}

func TestUpgradeIgnoresOtherDomains(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("n", "Softmax", map[string]*ir.Attr{"consumed_inputs": ir.IntsAttr(1)}, 1, x)
	n.Domain = "com.example"
	mustUpgrade(t, b.g, 1)
	if len(b.g.Nodes) != 1 || !n.HasAttr("consumed_inputs") || n.HasAttr("axis") {
		t.Errorf("custom-domain node rewritten")
	}
}

// TestUpgradeConformanceModels decodes every conformance model of an old
// opset and checks the upgraded graph names no attribute that opset 18
// moved to an input.
func TestUpgradeConformanceModels(t *testing.T) {
	moved := map[string]string{"Reshape": "shape", "Squeeze": "axes", "Unsqueeze": "axes", "ReduceSum": "axes",
		"ReduceMean": "axes", "ReduceMax": "axes", "ReduceMin": "axes", "Slice": "starts", "Pad": "pads",
		"Clip": "min", "TopK": "k", "Dropout": "ratio", "Split": "split"}
	files, _ := filepath.Glob(filepath.Join(conformanceDir, "*", "*", "model.onnx"))
	if len(files) == 0 {
		t.Skipf("no conformance models under %s", conformanceDir)
	}
	old := 0
	for _, f := range files {
		g, err := Load(f)
		if err != nil {
			if strings.Contains(err.Error(), "upgrading") {
				t.Errorf("%s: %v", f, err)
			}
			continue
		}
		if g.SourceOpset >= ir.CanonicalOpset {
			continue
		}
		old++
		for _, n := range g.Nodes {
			if a, ok := moved[n.Op]; ok && n.HasAttr(a) {
				t.Errorf("%s: %s still has attribute %q", f, n, a)
			}
			if n.Op == "Upsample" || n.Op == "Scatter" || n.HasAttr("consumed_inputs") {
				t.Errorf("%s: %s is not canonical", f, n)
			}
		}
	}
	if old == 0 {
		t.Errorf("no conformance model of an opset before %d decoded", ir.CanonicalOpset)
	}
}

func TestUpgradePReluChannelSlope(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	n := b.node("p", "PRelu", nil, 1, x, b.c("slope", ir.FromFloat32([]int64{3}, []float32{.1, .2, .3})))
	mustUpgrade(t, b.g, 6)
	if c := constIn(t, n, 1); !cmp.Equal(c.Shape, []int64{3, 1, 1}) {
		t.Errorf("PRelu-6 slope shape %v, want [3 1 1] (per channel)", c.Shape)
	}
	b = newGB()
	x = b.in("x", f32x4d)
	n = b.node("p", "PRelu", nil, 1, x, b.c("slope", ir.FromFloat32([]int64{3}, []float32{.1, .2, .3})))
	mustUpgrade(t, b.g, 7)
	if c := constIn(t, n, 1); !cmp.Equal(c.Shape, []int64{3}) {
		t.Errorf("PRelu-7 slope reshaped to %v; opset 7 already broadcasts like numpy", c.Shape)
	}
}

func TestUpgradeEmptyOptionalList(t *testing.T) {
	b := newGB()
	x := b.in("x", f32x4d)
	sq := b.node("sq", "Squeeze", map[string]*ir.Attr{"axes": ir.IntsAttr()}, 1, x)
	rm := b.node("rm", "ReduceMean", map[string]*ir.Attr{"axes": ir.IntsAttr()}, 1, x)
	mustUpgrade(t, b.g, 11)
	for _, n := range []*ir.Node{sq, rm} {
		if len(n.Inputs) != 1 || n.HasAttr("axes") {
			t.Errorf("%s: inputs %v attrs %v, want the empty axes list dropped", n, inputNames(n), n.SortedAttrNames())
		}
	}
}

// TestUpgradeMalformedNoPanic runs every rule on malformed nodes (missing
// inputs, string constants, attributes of the wrong kind, no outputs): each
// must succeed or return an error naming the node, never panic.
func TestUpgradeMalformedNoPanic(t *testing.T) {
	strT := &ir.Tensor{DType: ir.String, Shape: []int64{1}, Data: []string{"s"}}
	attrSets := []map[string]*ir.Attr{
		nil,
		{"axes": ir.StringAttr("x"), "shape": ir.FloatAttr(1), "split": ir.IntAttr(2), "starts": ir.IntsAttr(), "ends": ir.StringsAttr("a"),
			"pads": ir.FloatsAttr(1), "paddings": ir.IntAttr(0), "value": ir.IntsAttr(1), "min": ir.StringAttr("a"), "max": ir.IntAttr(1),
			"k": ir.FloatAttr(2), "ratio": ir.StringAttr("r"), "axis": ir.StringAttr("a"), "broadcast": ir.IntAttr(1), "to": ir.IntsAttr(1),
			"p": ir.FloatAttr(2.5), "scales": ir.IntsAttr(1), "mode": ir.StringAttr("cubic"), "spatial": ir.IntAttr(0),
			"coordinate_transformation_mode": ir.StringAttr("tf_half_pixel_for_nn"), "nearest_mode": ir.StringAttr("ceil")},
		{"axis": ir.IntAttr(-7), "broadcast": ir.IntAttr(1), "height_scale": ir.FloatAttr(2), "spatial": ir.IntAttr(0)},
	}
	for _, r := range upgradeRules {
		for ai, attrs := range attrSets {
			for ii := 0; ii < 4; ii++ {
				b := newGB()
				var ins []*ir.Value
				switch ii {
				case 1:
					ins = []*ir.Value{nil, nil}
				case 2:
					s := b.c("s", strT)
					ins = []*ir.Value{b.in("x", unknown), s, s, s, s}
				case 3:
					ins = []*ir.Value{b.in("x", ir.TensorType(ir.String, ir.ShapeOf(1))), b.in("y", unknown)}
				}
				copied := map[string]*ir.Attr{}
				for k, v := range attrs {
					copied[k] = v
				}
				n := &ir.Node{Name: "n", Op: r.op, Inputs: ins, Attrs: copied}
				if ii != 1 {
					n.Outputs = []*ir.Value{{Name: "y0", Producer: n}, nil, {Name: "y2", Producer: n}}
					b.g.Outputs = []*ir.Value{n.Outputs[0], n.Outputs[2]}
				}
				b.g.Nodes = []*ir.Node{n}
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s-%d attrs %d inputs %d: panic: %v", r.op, r.before, ai, ii, p)
						}
					}()
					if err := upgrade(b.g, 1); err != nil && !strings.Contains(err.Error(), `node "n" (`) {
						t.Errorf("%s attrs %d inputs %d: error does not name the node: %v", r.op, ai, ii, err)
					}
				}()
			}
		}
	}
}
