package prune

import (
	"fmt"

	"github.com/effc/effc/ir"
)

// The tracer follows every output channel of every stem (a Conv,
// ConvTranspose, Gemm or MatMul with a constant weight) through the graph.
// Each stem output channel is an atom; a value whose channel axis the
// tracer can follow carries a desc listing, per channel position, the atom
// it holds. Ops that add channels of several values elementwise (Add, Mul,
// ...) unite the atoms at each position, so a connected set of atoms is one
// zero-invariant group (ZIG): the channels that must go together. Every
// parameter slice one channel touches is recorded on its atom as a ref.
// Anything the tracer cannot prove channel-separable marks the atoms it
// reaches bad, with the reason.

// role says what a parameter slice is to its channel.
type role uint8

const (
	roleOut  role = iota // a stem's weight rows for the channel: all zero means the channel is a constant
	roleBias             // a stem's bias entry
	roleAcc              // per-channel parameter of an accessory op (BN scale and shift, PRelu slope, depthwise weight, a constant operand)
	roleStat             // BN running mean and variance: removed with the channel, not part of its norm
	roleIn               // a consumer's input columns for the channel
)

var roleNames = [...]string{roleOut: "out", roleBias: "bias", roleAcc: "acc", roleStat: "stat", roleIn: "in"}

func (r role) String() string { return roleNames[r] }

// ref is the slice [lo,hi) along axis of constant input `input` of node.
type ref struct {
	node   *ir.Node
	input  int
	axis   int
	lo, hi int64
	role   role
}

// atom is one output channel of one stem.
type atom struct {
	parent int // union-find
	stem   *ir.Node
	ch     int
	refs   []ref
	bad    string // why the channel cannot be removed; "" when it can
}

// desc says which atom each channel position of a value holds. A channel
// spans block consecutive elements along axis (block > 1 after a Flatten).
type desc struct {
	axis  int
	atoms []int
	block int64
}

// fixup is a node whose attributes or shape inputs encode a channel count
// of a traced value; compaction rewrites it.
type fixup struct {
	node *ir.Node
	in   *desc   // the traced input
	outs []*desc // the traced outputs
}

type tracer struct {
	g      *ir.Graph
	atoms  []atom
	descs  map[*ir.Value]*desc
	users  map[*ir.Value][]*ir.Node
	fixups []fixup
}

func (t *tracer) find(a int) int {
	for t.atoms[a].parent != a {
		t.atoms[a].parent = t.atoms[t.atoms[a].parent].parent
		a = t.atoms[a].parent
	}
	return a
}

func (t *tracer) union(a, b int) {
	a, b = t.find(a), t.find(b)
	if a != b {
		t.atoms[b].parent = a
	}
}

func (t *tracer) newAtoms(stem *ir.Node, n int) []int {
	ids := make([]int, n)
	for c := range ids {
		ids[c] = len(t.atoms)
		t.atoms = append(t.atoms, atom{parent: len(t.atoms), stem: stem, ch: c})
	}
	return ids
}

// markBad records why the channels of d cannot be removed (first reason wins).
func (t *tracer) markBad(d *desc, format string, args ...any) {
	if d == nil {
		return
	}
	reason := fmt.Sprintf(format, args...)
	for _, a := range d.atoms {
		if t.atoms[a].bad == "" {
			t.atoms[a].bad = reason
		}
	}
}

// addRefs records, for every channel position of d, the slice of constant
// input `input` of n along axis that the channel touches.
func (t *tracer) addRefs(d *desc, n *ir.Node, input, axis int, r role) {
	for i, a := range d.atoms {
		lo := int64(i) * d.block
		t.atoms[a].refs = append(t.atoms[a].refs, ref{node: n, input: input, axis: axis, lo: lo, hi: lo + d.block, role: r})
	}
}

// trace analyzes g, which must have inferred shapes.
func trace(g *ir.Graph) *tracer {
	t := &tracer{g: g, descs: map[*ir.Value]*desc{}, users: g.Consumers()}
	for _, n := range g.Nodes {
		t.node(n)
	}
	for _, v := range g.Outputs {
		t.markBad(t.descs[v], "reaches graph output %q, whose width is fixed", v.Name)
	}
	return t
}

// rank of v, -1 when unknown.
func rank(v *ir.Value) int {
	if v == nil {
		return -1
	}
	if v.Const != nil {
		return len(v.Const.Shape)
	}
	if !v.Type.Ranked {
		return -1
	}
	return len(v.Type.Shape)
}

// dims of v, -1 for dims that are not known (a symbolic batch); ok is
// false when the rank is unknown.
func dims(v *ir.Value) ([]int64, bool) {
	if v == nil {
		return nil, false
	}
	if v.Const != nil {
		return v.Const.Shape, true
	}
	if !v.Type.Ranked {
		return nil, false
	}
	out := make([]int64, len(v.Type.Shape))
	for i, d := range v.Type.Shape {
		out[i] = d.Size
		if !d.Known() {
			out[i] = -1
		}
	}
	return out, true
}

// known reports whether every dim of d is known.
func known(d []int64) bool {
	for _, x := range d {
		if x < 0 {
			return false
		}
	}
	return true
}

// constInts reads a constant integer input, ok false when absent or not constant.
func constInts(v *ir.Value) ([]int64, bool) {
	if !v.IsConst() || v.Const.DataLen() < 0 || !isInt(v.Const.DType) {
		return nil, false
	}
	return v.Const.Int64s(), true
}

func isInt(dt ir.DType) bool { return dt == ir.Int64 || dt == ir.Int32 }

// rejectInputs marks every traced input of n bad.
func (t *tracer) rejectInputs(n *ir.Node, format string, args ...any) {
	for _, in := range n.Inputs {
		t.markBad(t.descs[in], "%s: %s", n, fmt.Sprintf(format, args...))
	}
}

// pass gives n's first output the channels of d.
func (t *tracer) pass(n *ir.Node, d *desc) {
	if len(n.Outputs) > 0 && n.Outputs[0] != nil {
		t.descs[n.Outputs[0]] = d
	}
	for _, o := range n.Outputs[1:] {
		if o != nil && len(t.users[o]) > 0 {
			t.markBad(d, "%s: its extra output %q is read", n, o.Name)
		}
	}
}

func (t *tracer) node(n *ir.Node) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		t.rejectInputs(n, "op of domain %q is not known to keep channels separate", n.Domain)
		return
	}
	in := t.descs[n.Input(0)]
	switch {
	case n.Op == "Conv":
		t.conv(n)
	case n.Op == "ConvTranspose":
		t.convTranspose(n)
	case n.Op == "Gemm":
		t.gemm(n)
	case n.Op == "MatMul":
		t.matmul(n)
	case n.Op == "BatchNormalization" || n.Op == "InstanceNormalization":
		t.norm(n, in)
	case n.Op == "PRelu":
		t.binary(n)
	case unaryOps[n.Op]:
		for _, x := range n.Inputs[1:] {
			if x != nil && !x.IsConst() {
				t.rejectInputs(n, "input %q is not a constant", x.Name)
				return
			}
		}
		if in != nil {
			t.pass(n, in)
		}
	case binaryOps[n.Op]:
		t.binary(n)
	case poolOps[n.Op]:
		if in != nil && in.axis != 1 {
			t.markBad(in, "%s pools with the channel on axis %d", n, in.axis)
		}
		if in != nil {
			t.pass(n, in)
		}
	case n.Op == "Concat":
		t.concat(n)
	case n.Op == "Split":
		t.split(n)
	case n.Op == "Slice":
		t.slice(n)
	case n.Op == "Flatten", n.Op == "Reshape":
		t.reshape(n, in)
	case n.Op == "Squeeze", n.Op == "Unsqueeze":
		t.squeeze(n, in)
	case n.Op == "Transpose":
		if in != nil {
			perm := n.AttrInts("perm", nil)
			axis := -1
			for j, p := range perm {
				if int(p) == in.axis {
					axis = j
				}
			}
			if perm == nil {
				axis = rank(n.Input(0)) - 1 - in.axis
			}
			if axis < 0 {
				t.markBad(in, "%s: cannot follow the channel axis", n)
				return
			}
			t.pass(n, &desc{axis: axis, atoms: in.atoms, block: in.block})
		}
	case reduceOps[n.Op]:
		t.reduce(n, in)
	case n.Op == "Softmax" || n.Op == "LogSoftmax" || n.Op == "Hardmax":
		if in != nil {
			axis := normAxis(n.AttrInt("axis", -1), rank(n.Input(0)))
			if axis == in.axis {
				t.markBad(in, "%s normalizes over the channel axis", n)
				return
			}
			t.pass(n, in)
		}
	case n.Op == "LayerNormalization":
		if in != nil {
			if normAxis(n.AttrInt("axis", -1), rank(n.Input(0))) <= in.axis {
				t.markBad(in, "%s normalizes over the channel axis: removing channels would change its mean and variance", n)
				return
			}
			t.pass(n, in)
		}
	case n.Op == "Pad":
		t.pad(n, in)
	case n.Op == "Resize":
		t.resize(n, in)
	default:
		t.rejectInputs(n, "op %s is not known to keep channels separate", n.Op)
	}
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(a int64, r int) int {
	if a < 0 {
		a += int64(r)
	}
	return int(a)
}

// unaryOps act on each element alone (their other inputs, when any, are
// constants such as Clip's bounds).
var unaryOps = set("Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
	"Softplus", "Softsign", "Gelu", "Mish", "ThresholdedRelu", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal",
	"Sin", "Cos", "Erf", "Sign", "Floor", "Ceil", "Round", "Clip", "Identity", "Dropout", "Cast")

// binaryOps combine two operands elementwise with broadcasting.
var binaryOps = set("Add", "Sub", "Mul", "Div", "Max", "Min", "Pow")

// poolOps reduce spatial windows channel by channel.
var poolOps = set("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool")

// reduceOps reduce over their axes input.
var reduceOps = set("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
	"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, s := range names {
		m[s] = true
	}
	return m
}

// stemOut creates the output atoms of a stem with n channels on axis, with
// the weight rows and bias entries they own.
func (t *tracer) stemOut(n *ir.Node, channels int64, axis int, wAxis, bias, bAxis int) *desc {
	d := &desc{axis: axis, atoms: t.newAtoms(n, int(channels)), block: 1}
	t.addRefs(d, n, 1, wAxis, roleOut)
	if bias >= 0 && n.Input(bias) != nil {
		if b := n.Input(bias); !b.IsConst() {
			t.markBad(d, "%s: its bias %q is not a constant", n, b.Name)
		} else {
			t.addRefs(d, n, bias, bAxis, roleBias)
		}
	}
	t.pass(n, d)
	return d
}

// stemIn records the input columns of a stem's weight that each channel of
// its traced data input reads.
func (t *tracer) stemIn(n *ir.Node, in *desc, wantAxis, wAxis int) {
	if in == nil {
		return
	}
	if in.axis != wantAxis {
		t.markBad(in, "%s reads the channel axis %d as a spatial axis", n, in.axis)
		return
	}
	t.addRefs(in, n, 1, wAxis, roleIn)
}

func (t *tracer) conv(n *ir.Node) {
	w := n.Input(1)
	in := t.descs[n.Input(0)]
	if !w.IsConst() || len(w.Const.Shape) < 3 {
		t.rejectInputs(n, "its weight is not a constant")
		return
	}
	group := n.AttrInt("group", 1)
	cout, cinG := w.Const.Shape[0], w.Const.Shape[1]
	switch {
	case group == 1:
		t.stemIn(n, in, 1, 1)
		t.stemOut(n, cout, 1, 0, 2, 0)
	case cinG == 1 && cout == group:
		// Depthwise: channel c in gives channel c out.
		if in == nil {
			return
		}
		if in.axis != 1 || in.block != 1 || int64(len(in.atoms)) != group {
			t.markBad(in, "%s: depthwise input channels are not on axis 1", n)
			return
		}
		t.addRefs(in, n, 1, 0, roleAcc)
		if b := n.Input(2); b != nil {
			if !b.IsConst() {
				t.markBad(in, "%s: its bias %q is not a constant", n, b.Name)
			} else {
				t.addRefs(in, n, 2, 0, roleAcc)
			}
		}
		t.pass(n, in)
		t.fixups = append(t.fixups, fixup{node: n, in: in})
	default:
		t.markBad(in, "%s: grouped convolution (group=%d) ties channels in blocks", n, group)
		d := t.stemOut(n, cout, 1, 0, 2, 0)
		t.markBad(d, "%s: grouped convolution (group=%d) ties channels in blocks", n, group)
	}
}

func (t *tracer) convTranspose(n *ir.Node) {
	w := n.Input(1)
	in := t.descs[n.Input(0)]
	if !w.IsConst() || len(w.Const.Shape) < 3 || n.AttrInt("group", 1) != 1 {
		t.rejectInputs(n, "its weight is not a constant or it is grouped")
		return
	}
	t.stemIn(n, in, 1, 0)
	t.stemOut(n, w.Const.Shape[1], 1, 1, 2, 0)
}

func (t *tracer) gemm(n *ir.Node) {
	b := n.Input(1)
	in := t.descs[n.Input(0)]
	if !b.IsConst() || len(b.Const.Shape) != 2 || n.AttrInt("transA", 0) != 0 {
		t.rejectInputs(n, "its weight is not a constant, or A is transposed")
		return
	}
	transB := n.AttrInt("transB", 0) != 0
	kAxis, nAxis := 0, 1
	if transB {
		kAxis, nAxis = 1, 0
	}
	t.stemIn(n, in, 1, kAxis)
	cols := b.Const.Shape[nAxis]
	c := n.Input(2)
	d := &desc{axis: 1, atoms: t.newAtoms(n, int(cols)), block: 1}
	t.addRefs(d, n, 1, nAxis, roleOut)
	switch {
	case c == nil:
	case !c.IsConst():
		t.markBad(d, "%s: its bias %q is not a constant", n, c.Name)
	case c.Const.Len() == 1:
		// A scalar bias is shared by every channel and stays.
	case len(c.Const.Shape) >= 1 && c.Const.Shape[len(c.Const.Shape)-1] == cols && c.Const.Len() == int(cols):
		t.addRefs(d, n, 2, len(c.Const.Shape)-1, roleBias)
	default:
		t.markBad(d, "%s: its bias %q varies along rows", n, c.Name)
	}
	t.pass(n, d)
}

func (t *tracer) matmul(n *ir.Node) {
	a, b := n.Input(0), n.Input(1)
	in := t.descs[a]
	if !b.IsConst() || len(b.Const.Shape) != 2 {
		t.rejectInputs(n, "its right operand is not a constant matrix")
		return
	}
	t.stemIn(n, in, rank(a)-1, 0)
	y := n.Outputs[0]
	t.stemOut(n, b.Const.Shape[1], rank(y)-1, 1, -1, 0)
}

func (t *tracer) norm(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	if in.axis != 1 || in.block != 1 {
		t.markBad(in, "%s: the channel is not on axis 1", n)
		return
	}
	for i := 1; i < len(n.Inputs); i++ {
		p := n.Inputs[i]
		if p == nil {
			continue
		}
		if !p.IsConst() || len(p.Const.Shape) != 1 {
			t.markBad(in, "%s: parameter %q is not a constant vector", n, p.Name)
			return
		}
		r := roleAcc
		if i >= 3 {
			r = roleStat
		}
		t.addRefs(in, n, i, 0, r)
	}
	t.pass(n, in)
}

// binary handles elementwise ops of two operands (and PRelu): two traced
// operands unite their channels; a constant operand that varies along the
// channel axis is a per-channel parameter.
func (t *tracer) binary(n *ir.Node) {
	y := n.Outputs[0]
	ry := rank(y)
	a, b := n.Input(0), n.Input(1)
	da, db := t.descs[a], t.descs[b]
	if da == nil && db == nil {
		return
	}
	// align maps a desc to output coordinates.
	align := func(v *ir.Value, d *desc) *desc {
		return &desc{axis: d.axis + ry - rank(v), atoms: d.atoms, block: d.block}
	}
	switch {
	case da != nil && db != nil:
		oa, ob := align(a, da), align(b, db)
		if oa.axis != ob.axis || len(oa.atoms) != len(ob.atoms) || oa.block != ob.block {
			t.markBad(da, "%s joins channels laid out differently", n)
			t.markBad(db, "%s joins channels laid out differently", n)
			return
		}
		for i := range oa.atoms {
			t.union(oa.atoms[i], ob.atoms[i])
		}
		t.pass(n, oa)
		return
	}
	d, other, otherIdx, v := da, b, 1, a
	if d == nil {
		d, other, otherIdx, v = db, a, 0, b
	}
	out := align(v, d)
	od, ok := dims(other)
	p := out.axis - (ry - len(od))
	width := int64(len(out.atoms)) * out.block
	switch {
	case !ok || p >= 0 && od[p] < 0:
		t.markBad(d, "%s: operand %q has an unknown shape", n, other.Name)
		return
	case p < 0 || od[p] == 1:
		// The operand is the same for every channel.
	case od[p] == width && other.IsConst():
		t.addRefs(out, n, otherIdx, p, roleAcc)
	default:
		t.markBad(d, "%s: joined with %q, which effc cannot trace channel by channel", n, other.Name)
		return
	}
	t.pass(n, out)
}

func (t *tracer) concat(n *ir.Node) {
	y := n.Outputs[0]
	axis := normAxis(n.AttrInt("axis", 0), rank(y))
	var traced *desc
	for _, in := range n.Inputs {
		if d := t.descs[in]; d != nil {
			traced = d
			break
		}
	}
	if traced == nil {
		return
	}
	if traced.axis != axis {
		// Stacking along another axis: every operand must hold the same channels.
		for _, in := range n.Inputs {
			d := t.descs[in]
			if d == nil || d.axis != traced.axis || len(d.atoms) != len(traced.atoms) || d.block != traced.block {
				t.rejectInputs(n, "concatenates along axis %d operands whose channels differ", axis)
				return
			}
			for i := range d.atoms {
				t.union(traced.atoms[i], d.atoms[i])
			}
		}
		t.pass(n, traced)
		return
	}
	out := &desc{axis: axis, block: 1}
	for _, in := range n.Inputs {
		d := t.descs[in]
		if d == nil {
			ds, ok := dims(in)
			if !ok || ds[axis] < 0 {
				t.rejectInputs(n, "operand %q has an unknown shape", in.Name)
				return
			}
			// Untraced channels still take places: give them atoms that stay.
			d = &desc{axis: axis, atoms: t.newAtoms(n, int(ds[axis])), block: 1}
			t.markBad(d, "%s: concatenated input %q is not a traced channel set", n, in.Name)
		}
		if d.block != 1 {
			t.rejectInputs(n, "concatenates flattened channels")
			return
		}
		out.atoms = append(out.atoms, d.atoms...)
	}
	t.pass(n, out)
}

func (t *tracer) split(n *ir.Node) {
	in := t.descs[n.Input(0)]
	if in == nil {
		return
	}
	axis := normAxis(n.AttrInt("axis", 0), rank(n.Input(0)))
	if axis != in.axis {
		for _, o := range n.Outputs {
			if o != nil {
				t.descs[o] = in
			}
		}
		return
	}
	if in.block != 1 {
		t.markBad(in, "%s splits flattened channels", n)
		return
	}
	var sizes []int64
	if s := n.Input(1); s != nil {
		var ok bool
		if sizes, ok = constInts(s); !ok {
			t.markBad(in, "%s: split sizes are not constant", n)
			return
		}
	} else {
		k := int64(len(n.Outputs))
		c := int64(len(in.atoms))
		step := (c + k - 1) / k
		for lo := int64(0); lo < c; lo += step {
			sizes = append(sizes, min(step, c-lo))
		}
	}
	if len(sizes) != len(n.Outputs) {
		t.markBad(in, "%s: split sizes do not match its outputs", n)
		return
	}
	f := fixup{node: n, in: in}
	lo := int64(0)
	for i, o := range n.Outputs {
		d := &desc{axis: axis, atoms: in.atoms[lo : lo+sizes[i]], block: 1}
		lo += sizes[i]
		f.outs = append(f.outs, d)
		if o != nil {
			t.descs[o] = d
		}
	}
	t.fixups = append(t.fixups, f)
}

func (t *tracer) slice(n *ir.Node) {
	in := t.descs[n.Input(0)]
	if in == nil {
		return
	}
	starts, ok1 := constInts(n.Input(1))
	ends, ok2 := constInts(n.Input(2))
	axes, ok3 := constInts(n.Input(3))
	steps, ok4 := constInts(n.Input(4))
	if !ok1 || !ok2 || (n.Input(3) != nil && !ok3) || (n.Input(4) != nil && !ok4) {
		t.markBad(in, "%s: its bounds are not constant", n)
		return
	}
	r := rank(n.Input(0))
	for j := range starts {
		axis := j
		if axes != nil {
			axis = normAxis(axes[j], r)
		}
		if axis != in.axis {
			continue
		}
		if (steps != nil && steps[j] != 1) || in.block != 1 {
			t.markBad(in, "%s: slices the channel axis with a step", n)
			return
		}
		c := int64(len(in.atoms))
		lo, hi := clampIndex(starts[j], c), clampIndex(ends[j], c)
		if hi < lo {
			hi = lo
		}
		d := &desc{axis: in.axis, atoms: in.atoms[lo:hi], block: 1}
		t.fixups = append(t.fixups, fixup{node: n, in: in, outs: []*desc{d}})
		t.pass(n, d)
		return
	}
	t.pass(n, in)
}

// clampIndex resolves a Slice bound against a dimension of size c.
func clampIndex(i, c int64) int64 {
	if i < 0 {
		i += c
	}
	return max(0, min(i, c))
}

// reshape follows Flatten and Reshape when the channel dimension survives
// whole as the leading part of one output dimension: the dims from the
// channel on are known, and for some output dim j, out[j] = C·m with the
// dims after j holding the rest of the channel's elements. The dims before
// then hold the same number of elements, since a reshape keeps the total.
func (t *tracer) reshape(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	xd, ok1 := dims(n.Input(0))
	yd, ok2 := dims(n.Outputs[0])
	if ok1 && ok2 && known(xd[in.axis:]) {
		width := xd[in.axis]
		rest := product(xd[in.axis+1:])
		for j := len(yd) - 1; j >= 0 && known(yd[j:]); j-- {
			d := yd[j]
			if width == 0 || d%width != 0 || d < width {
				continue
			}
			m := d / width
			if product(yd[j+1:])*m != rest {
				continue
			}
			out := &desc{axis: j, atoms: in.atoms, block: in.block * m}
			if n.Op == "Reshape" {
				t.fixups = append(t.fixups, fixup{node: n, in: in, outs: []*desc{out}})
			}
			t.pass(n, out)
			return
		}
	}
	t.markBad(in, "%s reshapes %v to %v, which mixes the channel dimension with others", n, xd, yd)
}

func product(d []int64) int64 {
	p := int64(1)
	for _, x := range d {
		p *= x
	}
	return p
}

func (t *tracer) squeeze(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	axes, ok := constInts(n.Input(1))
	if n.Input(1) == nil {
		ok = false
	}
	if !ok {
		t.markBad(in, "%s: its axes are not constant", n)
		return
	}
	axis := in.axis
	if n.Op == "Squeeze" {
		r := rank(n.Input(0))
		shift := 0
		for _, a := range axes {
			a := normAxis(a, r)
			if a == in.axis {
				t.markBad(in, "%s removes the channel axis", n)
				return
			}
			if a < in.axis {
				shift++
			}
		}
		axis -= shift
	} else {
		r := rank(n.Outputs[0])
		inserted := map[int]bool{}
		for _, a := range axes {
			inserted[normAxis(a, r)] = true
		}
		// The k-th kept output axis is input axis k.
		k := 0
		for j := 0; j < r; j++ {
			if inserted[j] {
				continue
			}
			if k == in.axis {
				axis = j
				break
			}
			k++
		}
	}
	t.pass(n, &desc{axis: axis, atoms: in.atoms, block: in.block})
}

func (t *tracer) reduce(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	r := rank(n.Input(0))
	var axes []int64
	if a := n.Input(1); a != nil {
		var ok bool
		if axes, ok = constInts(a); !ok {
			t.markBad(in, "%s: its axes are not constant", n)
			return
		}
	}
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			t.pass(n, in)
			return
		}
		t.markBad(in, "%s reduces over every axis, including the channels", n)
		return
	}
	shift := 0
	for _, a := range axes {
		a := normAxis(a, r)
		if a == in.axis {
			t.markBad(in, "%s reduces over the channel axis", n)
			return
		}
		if a < in.axis {
			shift++
		}
	}
	axis := in.axis
	if n.AttrInt("keepdims", 1) == 0 {
		axis -= shift
	}
	t.pass(n, &desc{axis: axis, atoms: in.atoms, block: in.block})
}

func (t *tracer) pad(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	pads, ok := constInts(n.Input(1))
	if !ok || n.Input(3) != nil {
		t.markBad(in, "%s: its pads are not constant or it pads chosen axes", n)
		return
	}
	r := rank(n.Input(0))
	if len(pads) != 2*r || pads[in.axis] != 0 || pads[in.axis+r] != 0 {
		t.markBad(in, "%s pads the channel axis", n)
		return
	}
	t.pass(n, in)
}

func (t *tracer) resize(n *ir.Node, in *desc) {
	if in == nil {
		return
	}
	if len(n.AttrInts("axes", nil)) > 0 {
		t.markBad(in, "%s resizes chosen axes", n)
		return
	}
	if s := n.Input(2); s.IsConst() && s.Const.Len() > in.axis && s.Const.Float64At(in.axis) == 1 {
		t.pass(n, in)
		return
	}
	if sz, ok := constInts(n.Input(3)); ok && len(sz) > in.axis && sz[in.axis] == int64(len(in.atoms))*in.block {
		t.fixups = append(t.fixups, fixup{node: n, in: in, outs: []*desc{in}})
		t.pass(n, in)
		return
	}
	t.markBad(in, "%s may resize the channel axis", n)
}
