// Opset canonicalization: the canonical form of every op.
//
// effc's IR gives every ai.onnx operator one meaning: its meaning in opset
// ir.CanonicalOpset (18). upgrade rewrites, in place, every node of a model
// that imports an older ai.onnx opset into that canonical form:
//
//   - Attributes that later opsets turned into inputs are inputs, held in new
//     constant values named "<node>.<attr>" and appended to g.Consts:
//     Reshape shape (<5), Squeeze/Unsqueeze axes (<13), ReduceSum axes (<13),
//     the other Reduce* axes (<18), Split split (<13), Slice starts/ends/axes
//     (<10), Pad pads/value (<11), Clip min/max (<11), TopK k (<10), Dropout
//     ratio (<12). Split without a split input gets num_outputs (<18).
//   - Constants whose dtype must follow a data input (Clip min/max, Pad value)
//     take that input's dtype when it is known, else they are float32 constants
//     fed through a CastLike node.
//   - Deprecated ops are replaced: Upsample (any opset) becomes Resize with a
//     scales input, coordinate_transformation_mode "asymmetric" and, for
//     nearest, nearest_mode "floor" (upsampling) or "ceil" (downsampling),
//     as Upsample and Resize-10 behave; Scatter becomes ScatterElements.
//   - Resize-10 gets the same modes and an absent roi; Resize-11 empty
//     roi/scales constants become absent inputs, and its
//     tf_half_pixel_for_nn mode becomes half_pixel with an adjusted
//     nearest_mode.
//   - Softmax, LogSoftmax and Hardmax before 13 coerced the input to 2-D at
//     axis. When the coercion is a no-op (axis is the last axis, or every
//     later dim is 1) only the axis attribute is made explicit; otherwise the
//     node becomes Flatten(axis) -> op(axis=-1) -> Reshape(to Shape(x)).
//   - Binary ops before 7 with broadcast=1 and an axis attribute (legacy
//     broadcasting), and PRelu before 7 with a 1-D per-channel slope
//     (axis 1), get B reshaped so numpy broadcasting aligns it at axis:
//     an Unsqueeze when the ranks are known, else a Shape/ConstantOfShape/
//     Concat/Reshape chain computing B's new shape at run time.
//   - BatchNormalization: is_test and spatial go; spatial=0 (per-activation
//     statistics) becomes the elementwise formula (X-mean)/sqrt(var+eps)*scale+B;
//     the training outputs mean/var set training_mode=1; saved_mean/saved_var
//     have no opset-18 equivalent and are refused when used.
//   - Dropout before 10 had a mask of the data dtype; it becomes the bool
//     mask followed by CastLike. is_test goes: effc always runs inference.
//   - Attributes with changed defaults or spellings are made explicit:
//     Concat axis (<4, default 1), Cast to as a string (<6), Selu alpha/gamma
//     (<6), LpPool/GlobalLpPool p as a float (<2), RoiAlign
//     coordinate_transformation_mode "output_half_pixel" (<16), Tile with
//     tiles/axis inputs (<6). consumed_inputs, Gemm broadcast and the RNN
//     output_sequence attributes are dropped.
//
// Ops not in the table (Conv, MaxPool, AveragePool, ArgMax, Resize >= 13,
// ...) only gained attributes whose defaults reproduce the older behaviour,
// or types; they need no rewrite. Nodes of other domains and models of
// opset >= 18 are left alone.

package frontend

import (
	"fmt"
	"math"
	"strings"

	"github.com/effc/effc/ir"
)

// upgradeRule rewrites one op from the form it had before opset `before`
// towards the canonical form. Rules for one op run in table order, oldest
// change first, so each sees the output of the previous ones.
type upgradeRule struct {
	op      string
	before  int64 // the rule applies when the model's opset < before
	rewrite func(u *upgrader, n *ir.Node) error
}

// anyOpset marks rules for deprecated ops that apply at every opset.
const anyOpset = math.MaxInt64

// upgradeRules is the table of every form change between opset 1 and
// ir.CanonicalOpset that needs a rewrite.
var upgradeRules = []upgradeRule{
	{"Add", 7, legacyBroadcast}, {"Sub", 7, legacyBroadcast}, {"Mul", 7, legacyBroadcast},
	{"Div", 7, legacyBroadcast}, {"Pow", 7, legacyBroadcast}, {"And", 7, legacyBroadcast},
	{"Or", 7, legacyBroadcast}, {"Xor", 7, legacyBroadcast}, {"Equal", 7, legacyBroadcast},
	{"Greater", 7, legacyBroadcast}, {"Less", 7, legacyBroadcast},
	{"PRelu", 7, preluChannelSlope},
	{"Gemm", 7, dropAttrs("broadcast")},
	{"GRU", 7, dropAttrs("output_sequence")}, {"LSTM", 7, dropAttrs("output_sequence")},
	{"RNN", 7, dropAttrs("output_sequence")},
	{"Concat", 4, concatDefaultAxis},
	{"Cast", 6, castToString},
	{"Selu", 6, seluDefaults},
	{"LpPool", 2, intP}, {"GlobalLpPool", 2, intP},
	{"Tile", 6, tileRepeats},
	{"Reshape", 5, attrToInput("shape", 1, true)},
	{"Squeeze", 13, attrToInput("axes", 1, false)},
	{"Unsqueeze", 13, attrToInput("axes", 1, true)},
	{"ReduceSum", 13, attrToInput("axes", 1, false)},
	{"ReduceMean", 18, attrToInput("axes", 1, false)},
	{"ReduceMax", 18, attrToInput("axes", 1, false)},
	{"ReduceMin", 18, attrToInput("axes", 1, false)},
	{"ReduceProd", 18, attrToInput("axes", 1, false)},
	{"ReduceL1", 18, attrToInput("axes", 1, false)},
	{"ReduceL2", 18, attrToInput("axes", 1, false)},
	{"ReduceLogSum", 18, attrToInput("axes", 1, false)},
	{"ReduceLogSumExp", 18, attrToInput("axes", 1, false)},
	{"ReduceSumSquare", 18, attrToInput("axes", 1, false)},
	{"Split", 2, splitInputToInt64},
	{"Split", 13, attrToInput("split", 1, false)},
	{"Split", 18, splitNumOutputs},
	{"Slice", 10, sliceAttrs},
	{"Pad", 2, padRenamePaddings},
	{"Pad", 11, padAttrs},
	{"Clip", 11, clipAttrs},
	{"TopK", 10, topKAttr},
	{"Dropout", 12, dropoutAttrs},
	{"BatchNormalization", 15, batchNorm},
	{"Softmax", 13, coerce2D}, {"LogSoftmax", 13, coerce2D}, {"Hardmax", 13, coerce2D},
	{"Upsample", anyOpset, upsampleToResize},
	{"Resize", 11, resize10},
	{"Resize", 13, resize11},
	{"RoiAlign", 16, roiAlignMode},
	{"Scatter", anyOpset, renameOp("ScatterElements")},
}

// rulesByOp indexes upgradeRules by op name, keeping table order.
var rulesByOp = func() map[string][]upgradeRule {
	m := map[string][]upgradeRule{}
	for _, r := range upgradeRules {
		m[r.op] = append(m[r.op], r)
	}
	return m
}()

// upgrader carries the state of one upgrade run.
type upgrader struct {
	g     *ir.Graph
	opset int64
	uses  map[*ir.Value][]*ir.Node
	added bool // nodes were appended to g.Nodes: re-sort at the end
}

// upgrade rewrites every ai.onnx node of g, imported at opset, into its
// ir.CanonicalOpset form (see the file comment). It fails, naming the node,
// on forms that opset 18 cannot express.
func upgrade(g *ir.Graph, opset int64) error {
	if opset >= ir.CanonicalOpset {
		return nil
	}
	if opset < 1 {
		return fmt.Errorf("ai.onnx opset %d is invalid; opsets start at 1", opset)
	}
	u := &upgrader{g: g, opset: opset, uses: g.Consumers()}
	nodes := append([]*ir.Node(nil), g.Nodes...)
	for _, n := range nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue
		}
		if opset < 7 {
			delete(n.Attrs, "consumed_inputs")
		}
		op := n.Op
		for _, r := range rulesByOp[op] {
			if opset >= r.before {
				continue
			}
			if err := r.rewrite(u, n); err != nil {
				return fmt.Errorf("upgrading from opset %d: %w", opset, err)
			}
		}
	}
	if u.added {
		if err := g.TopoSort(); err != nil {
			return fmt.Errorf("upgrading from opset %d: %w", opset, err)
		}
	}
	return nil
}

// --- helpers ---

// used reports whether v is read by a node of the original graph or is a
// graph output.
func (u *upgrader) used(v *ir.Value) bool {
	return v != nil && (len(u.uses[v]) > 0 || u.g.IsOutput(v))
}

// constant appends a constant value named "<node>.<what>" to g.Consts.
func (u *upgrader) constant(n *ir.Node, what string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{
		Name:  u.g.UniqueName(n.Name + "." + what),
		Type:  ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)),
		Const: t,
	}
	u.g.Consts = append(u.g.Consts, v)
	return v
}

// ints is a 1-D int64 constant.
func (u *upgrader) ints(n *ir.Node, what string, vals []int64) *ir.Value {
	return u.constant(n, what, ir.FromInt64([]int64{int64(len(vals))}, append([]int64{}, vals...)))
}

// addNode appends a new node named after base with the given outputs (new
// values named after the node when outs is nil, one output).
func (u *upgrader) addNode(base, op string, attrs map[string]*ir.Attr, inputs []*ir.Value, outs []*ir.Value) *ir.Node {
	nd := &ir.Node{Name: u.g.UniqueName(base), Op: op, Inputs: inputs, Attrs: attrs}
	u.g.Nodes = append(u.g.Nodes, nd)
	if outs == nil {
		outs = []*ir.Value{{Name: u.g.UniqueName(nd.Name + ".out")}}
	}
	for _, o := range outs {
		o.Producer = nd
	}
	nd.Outputs = outs
	u.added = true
	return nd
}

// add appends a one-output node and returns its output.
func (u *upgrader) add(n *ir.Node, suffix, op string, attrs map[string]*ir.Attr, inputs ...*ir.Value) *ir.Value {
	return u.addNode(n.Name+"."+suffix, op, attrs, inputs, nil).Outputs[0]
}

// constLike returns a constant holding vals (shape shape) with the dtype of
// ref: a typed constant when ref's dtype is known, else a float32 constant
// fed through CastLike(·, ref).
func (u *upgrader) constLike(n *ir.Node, what string, shape []int64, vals []float64, ref *ir.Value) (*ir.Value, error) {
	dt := ir.Undefined
	if ref != nil {
		dt = ref.Type.DType
		if ref.Const != nil {
			dt = ref.Const.DType
		}
	}
	if dt.Valid() && dt != ir.String {
		t, err := tensorOf(dt, shape, vals)
		if err != nil {
			return nil, fmt.Errorf("%s: attribute %s: %w", n, what, err)
		}
		return u.constant(n, what, t), nil
	}
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float32(v)
	}
	c := u.constant(n, what, ir.FromFloat32(shape, f))
	return u.add(n, what+".cast", "CastLike", nil, c, ref), nil
}

// tensorOf converts float64 values to a tensor of dtype dt.
func tensorOf(dt ir.DType, shape []int64, vals []float64) (*ir.Tensor, error) {
	if dt.Size() == 0 || dt == ir.Complex64 || dt == ir.Complex128 {
		return nil, fmt.Errorf("cannot make a %s constant", dt)
	}
	t := ir.NewTensor(dt, shape)
	for i, v := range vals {
		switch d := t.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []float64:
			d[i] = v
		case []int8:
			d[i] = int8(clampF(v, math.MinInt8, math.MaxInt8))
		case []int16:
			d[i] = int16(clampF(v, math.MinInt16, math.MaxInt16))
		case []int32:
			d[i] = int32(clampF(v, math.MinInt32, math.MaxInt32))
		case []int64:
			d[i] = int64(clampF(v, math.MinInt64, math.MaxInt64))
		case []uint32:
			d[i] = uint32(clampF(v, 0, math.MaxUint32))
		case []uint64:
			d[i] = uint64(clampF(v, 0, math.MaxUint64))
		case []bool:
			d[i] = v != 0
		case []uint16:
			switch dt {
			case ir.Float16:
				d[i] = ir.Float32ToFloat16(float32(v))
			case ir.BFloat16:
				d[i] = ir.Float32ToBFloat16(float32(v))
			default:
				d[i] = uint16(clampF(v, 0, math.MaxUint16))
			}
		case []uint8:
			if dt.IsFP8() {
				d[i] = ir.Float32ToFP8(dt, float32(v), true)
			} else {
				d[i] = uint8(clampF(v, 0, math.MaxUint8))
			}
		}
	}
	return t, nil
}

// clampF clamps v into [lo, hi] (the attribute limits ±FLT_MAX meet integer
// inputs in old Clip models).
func clampF(v, lo, hi float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v < lo:
		return lo
	case v > hi:
		return hi
	}
	return v
}

// setInput sets input i, padding omitted optional inputs with nil.
func setInput(n *ir.Node, i int, v *ir.Value) {
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	n.Inputs[i] = v
}

// numericConst reports whether v is a constant whose elements convert to
// numbers (not strings or complex values, where Tensor.Float64At panics).
func numericConst(v *ir.Value) bool {
	if !v.IsConst() {
		return false
	}
	dt := v.Const.DType
	return dt.IsFloat() || dt.IsInt() || dt == ir.Bool
}

// rankOf returns v's rank when known.
func rankOf(v *ir.Value) (int, bool) {
	switch {
	case v == nil:
		return 0, false
	case v.Const != nil:
		return len(v.Const.Shape), true
	case v.Type.Ranked:
		return len(v.Type.Shape), true
	}
	return 0, false
}

// --- rules ---

// dropAttrs removes attributes that no longer exist and whose every value
// has the canonical meaning.
func dropAttrs(names ...string) func(*upgrader, *ir.Node) error {
	return func(_ *upgrader, n *ir.Node) error {
		for _, a := range names {
			delete(n.Attrs, a)
		}
		return nil
	}
}

// renameOp replaces a deprecated op by its successor of the same semantics.
func renameOp(op string) func(*upgrader, *ir.Node) error {
	return func(_ *upgrader, n *ir.Node) error {
		n.Op = op
		return nil
	}
}

// attrToInput moves the ints attribute attr to input index idx as an int64
// constant. required: the attribute must be present.
func attrToInput(attr string, idx int, required bool) func(*upgrader, *ir.Node) error {
	return func(u *upgrader, n *ir.Node) error {
		a, ok := n.Attrs[attr]
		if !ok {
			if required {
				return fmt.Errorf("%s: attribute %q is required at opset %d; the model is malformed", n, attr, u.opset)
			}
			return nil
		}
		if a.Kind != ir.AttrInts {
			return fmt.Errorf("%s: attribute %q is %s, want ints; the model is malformed", n, attr, a.Kind)
		}
		if len(a.Ints) == 0 && !required {
			// An empty list meant the default (all axes, equal split),
			// which an absent input means too.
			delete(n.Attrs, attr)
			return nil
		}
		if len(n.Inputs) > idx && n.Inputs[idx] != nil {
			return fmt.Errorf("%s: has both attribute %q and input %d; remove one", n, attr, idx)
		}
		if len(n.Inputs) < 1 {
			return fmt.Errorf("%s: has no data input; the model is malformed", n)
		}
		setInput(n, idx, u.ints(n, attr, a.Ints))
		delete(n.Attrs, attr)
		return nil
	}
}

// legacyBroadcast rewrites the opset-1/6 broadcast=1 axis=k form: B's dims
// align with A's starting at axis k. Numpy broadcasting aligns trailing
// dims, so B gets rank(A)-k-rank(B) trailing 1-dims.
func legacyBroadcast(u *upgrader, n *ir.Node) error {
	bc := n.AttrInt("broadcast", 0)
	axisAttr, hasAxis := n.Attrs["axis"]
	delete(n.Attrs, "broadcast")
	delete(n.Attrs, "axis")
	if bc == 0 || !hasAxis {
		return nil // equal shapes, or suffix alignment: numpy semantics
	}
	return broadcastAt(u, n, axisAttr.Int)
}

// preluChannelSlope upgrades PRelu before 7, whose 1-D slope of C values
// applied per channel (axis 1), not numpy-aligned with the last axis.
func preluChannelSlope(u *upgrader, n *ir.Node) error {
	if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return fmt.Errorf("%s: PRelu needs inputs X and slope, has %d; the model is malformed", n, len(n.Inputs))
	}
	rs, ok := rankOf(n.Inputs[1])
	if !ok || rs != 1 {
		return nil // a full-shape slope broadcasts the same under numpy rules
	}
	if s := n.Inputs[1].Const; s != nil && s.Len() == 1 {
		return nil
	}
	if rx, ok := rankOf(n.Inputs[0]); ok && rx < 2 {
		return nil
	}
	return broadcastAt(u, n, 1)
}

// broadcastAt makes input 1 (B) of n broadcast against input 0 (A) with
// B's dims aligned to A's starting at axis, by appending 1-dims to B.
func broadcastAt(u *upgrader, n *ir.Node, axisAttr int64) error {
	if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return fmt.Errorf("%s: legacy broadcast needs inputs A and B, has %d; the model is malformed", n, len(n.Inputs))
	}
	a, b := n.Inputs[0], n.Inputs[1]
	axis := axisAttr
	ra, okA := rankOf(a)
	rb, okB := rankOf(b)
	if okA && axis < 0 {
		axis += int64(ra)
	}
	if axis < 0 {
		return fmt.Errorf("%s: legacy broadcast axis %d is negative and the rank of input %q is unknown; declare its shape", n, axisAttr, a.Name)
	}
	if okA && okB {
		k := int64(ra) - axis - int64(rb)
		if k < 0 {
			return fmt.Errorf("%s: legacy broadcast of %q (rank %d) into %q (rank %d) at axis %d does not fit", n, b.Name, rb, a.Name, ra, axisAttr)
		}
		if k == 0 {
			return nil
		}
		if b.Const != nil {
			t := *b.Const
			t.Shape = append(append([]int64{}, t.Shape...), make([]int64, k)...)
			for i := rb; i < len(t.Shape); i++ {
				t.Shape[i] = 1
			}
			n.Inputs[1] = u.constant(n, "B", &t)
			return nil
		}
		axes := make([]int64, k)
		for i := range axes {
			axes[i] = int64(rb) + int64(i)
		}
		n.Inputs[1] = u.add(n, "unsqueeze", "Unsqueeze", nil, b, u.ints(n, "axes", axes))
		return nil
	}
	// Ranks unknown: new shape = Concat(Shape(B), ones(rank(A)-axis-rank(B))).
	shapeB := u.add(n, "shapeB", "Shape", nil, b)
	rankA := u.add(n, "rankA", "Shape", nil, u.add(n, "shapeA", "Shape", nil, a))
	rankB := u.add(n, "rankB", "Shape", nil, shapeB)
	k := u.add(n, "k", "Sub", nil, u.add(n, "k0", "Sub", nil, rankA, u.ints(n, "axis", []int64{axis})), rankB)
	ones := u.add(n, "ones", "ConstantOfShape", map[string]*ir.Attr{"value": ir.TensorAttr(ir.FromInt64([]int64{1}, []int64{1}))}, k)
	shape := u.add(n, "shape", "Concat", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, shapeB, ones)
	n.Inputs[1] = u.add(n, "reshape", "Reshape", nil, b, shape)
	return nil
}

// concatDefaultAxis makes Concat-1's default axis 1 explicit.
func concatDefaultAxis(_ *upgrader, n *ir.Node) error {
	if !n.HasAttr("axis") {
		n.SetAttr("axis", ir.IntAttr(1))
	}
	return nil
}

// castToString maps Cast-1's string "to" ("FLOAT") to the dtype number.
func castToString(_ *upgrader, n *ir.Node) error {
	a, ok := n.Attrs["to"]
	if !ok || a.Kind != ir.AttrString {
		return nil
	}
	dt, ok := onnxTypeNames[strings.ToUpper(a.String)]
	if !ok {
		return fmt.Errorf("%s: attribute to=%q is not an ONNX type name (FLOAT, INT64, ...)", n, a.String)
	}
	n.SetAttr("to", ir.IntAttr(int64(dt)))
	return nil
}

// onnxTypeNames are TensorProto.DataType names as Cast-1 spells them.
var onnxTypeNames = map[string]ir.DType{
	"FLOAT": ir.Float32, "UINT8": ir.Uint8, "INT8": ir.Int8, "UINT16": ir.Uint16, "INT16": ir.Int16,
	"INT32": ir.Int32, "INT64": ir.Int64, "STRING": ir.String, "BOOL": ir.Bool, "FLOAT16": ir.Float16,
	"DOUBLE": ir.Float64, "UINT32": ir.Uint32, "UINT64": ir.Uint64, "COMPLEX64": ir.Complex64,
	"COMPLEX128": ir.Complex128, "BFLOAT16": ir.BFloat16,
}

// seluDefaults pins Selu-1's defaults (alpha 1.6732, gamma 1.0507), which
// differ from the later ones.
func seluDefaults(_ *upgrader, n *ir.Node) error {
	if !n.HasAttr("alpha") {
		n.SetAttr("alpha", ir.FloatAttr(1.6732))
	}
	if !n.HasAttr("gamma") {
		n.SetAttr("gamma", ir.FloatAttr(1.0507))
	}
	return nil
}

// intP converts LpPool-1's float p to the later int p.
func intP(_ *upgrader, n *ir.Node) error {
	a, ok := n.Attrs["p"]
	if !ok || a.Kind != ir.AttrFloat {
		return nil
	}
	if a.Float != float32(math.Trunc(float64(a.Float))) {
		return fmt.Errorf("%s: p=%g is not an integer; opset 18 only has integer p", n, a.Float)
	}
	n.SetAttr("p", ir.IntAttr(int64(a.Float)))
	return nil
}

// tileRepeats turns Tile-1 (input, tiles, axis) into Tile(input, repeats).
func tileRepeats(u *upgrader, n *ir.Node) error {
	if len(n.Inputs) != 3 {
		return nil // already the two-input form
	}
	tiles, axis := n.Inputs[1], n.Inputs[2]
	r, ok := rankOf(n.Inputs[0])
	if !numericConst(tiles) || !numericConst(axis) || !ok || tiles.Const.Len() != 1 || axis.Const.Len() != 1 {
		return fmt.Errorf("%s: Tile-1 with non-constant tiles/axis or unknown input rank has no opset-18 form; make tiles and axis constants and declare the input shape", n)
	}
	ax := axis.Const.Int64At(0)
	if ax < 0 || ax >= int64(r) {
		return fmt.Errorf("%s: axis %d out of range for rank %d", n, ax, r)
	}
	rep := make([]int64, r)
	for i := range rep {
		rep[i] = 1
	}
	rep[ax] = tiles.Const.Int64At(0)
	n.Inputs = []*ir.Value{n.Inputs[0], u.ints(n, "repeats", rep)}
	return nil
}

// splitInputToInt64 makes Split-1's optional split input (typed like the
// data) int64, and its default axis explicit.
func splitInputToInt64(u *upgrader, n *ir.Node) error {
	if !n.HasAttr("axis") {
		n.SetAttr("axis", ir.IntAttr(0))
	}
	s := n.Input(1)
	if s == nil {
		return nil
	}
	if n.HasAttr("split") {
		return fmt.Errorf("%s: has both attribute split and input split; remove one", n)
	}
	if numericConst(s) {
		n.Inputs[1] = u.ints(n, "split", s.Const.Int64s())
		return nil
	}
	n.Inputs[1] = u.add(n, "split.cast", "Cast", map[string]*ir.Attr{"to": ir.IntAttr(int64(ir.Int64))}, s)
	return nil
}

// splitNumOutputs sets Split-18's num_outputs when no split sizes are given
// (older Split divided equally among its outputs).
func splitNumOutputs(_ *upgrader, n *ir.Node) error {
	if n.Input(1) == nil && !n.HasAttr("num_outputs") {
		n.SetAttr("num_outputs", ir.IntAttr(int64(len(n.Outputs))))
	}
	return nil
}

// sliceAttrs moves Slice-1's starts/ends/axes to inputs 1-3.
func sliceAttrs(u *upgrader, n *ir.Node) error {
	for i, name := range []string{"starts", "ends", "axes"} {
		a, ok := n.Attrs[name]
		if !ok {
			if name == "axes" {
				continue
			}
			return fmt.Errorf("%s: attribute %q is required before opset 10; the model is malformed", n, name)
		}
		if a.Kind != ir.AttrInts {
			return fmt.Errorf("%s: attribute %q is %s, want ints", n, name, a.Kind)
		}
		setInput(n, i+1, u.ints(n, name, a.Ints))
		delete(n.Attrs, name)
	}
	return nil
}

// padRenamePaddings renames Pad-1's paddings to pads (same layout).
func padRenamePaddings(_ *upgrader, n *ir.Node) error {
	if a, ok := n.Attrs["paddings"]; ok {
		n.SetAttr("pads", a)
		delete(n.Attrs, "paddings")
	}
	return nil
}

// padAttrs moves Pad-2's pads and value to inputs 1 and 2.
func padAttrs(u *upgrader, n *ir.Node) error {
	a, ok := n.Attrs["pads"]
	if !ok || a.Kind != ir.AttrInts {
		return fmt.Errorf("%s: ints attribute pads is required before opset 11; the model is malformed", n)
	}
	if len(n.Inputs) < 1 || n.Inputs[0] == nil {
		return fmt.Errorf("%s: has no data input; the model is malformed", n)
	}
	setInput(n, 1, u.ints(n, "pads", a.Ints))
	delete(n.Attrs, "pads")
	if v, ok := n.Attrs["value"]; ok {
		if v.Kind != ir.AttrFloat {
			return fmt.Errorf("%s: attribute value is %s, want float; the model is malformed", n, v.Kind)
		}
		delete(n.Attrs, "value")
		if (v.Float != 0 || math.Signbit(float64(v.Float))) && n.AttrString("mode", "constant") == "constant" {
			c, err := u.constLike(n, "value", []int64{}, []float64{float64(v.Float)}, n.Inputs[0])
			if err != nil {
				return err
			}
			setInput(n, 2, c)
		}
	}
	return nil
}

// clipAttrs moves Clip-1/6's min and max to inputs 1 and 2. An absent
// attribute becomes an absent input: no bound (the old defaults were
// ±FLT_MAX, which differ only for infinite inputs).
func clipAttrs(u *upgrader, n *ir.Node) error {
	if len(n.Inputs) < 1 || n.Inputs[0] == nil {
		return fmt.Errorf("%s: has no input; the model is malformed", n)
	}
	for i, name := range []string{"min", "max"} {
		a, ok := n.Attrs[name]
		if !ok {
			continue
		}
		if a.Kind != ir.AttrFloat {
			return fmt.Errorf("%s: attribute %s is %s, want float; the model is malformed", n, name, a.Kind)
		}
		delete(n.Attrs, name)
		c, err := u.constLike(n, name, []int64{}, []float64{float64(a.Float)}, n.Inputs[0])
		if err != nil {
			return err
		}
		setInput(n, i+1, c)
	}
	return nil
}

// topKAttr moves TopK-1's k to input K (1-D int64).
func topKAttr(u *upgrader, n *ir.Node) error {
	a, ok := n.Attrs["k"]
	if !ok || a.Kind != ir.AttrInt {
		return fmt.Errorf("%s: int attribute k is required before opset 10; the model is malformed", n)
	}
	delete(n.Attrs, "k")
	setInput(n, 1, u.ints(n, "k", []int64{a.Int}))
	return nil
}

// dropoutAttrs moves ratio to an input, drops is_test, and before opset 10
// turns the data-typed mask into bool mask + CastLike.
func dropoutAttrs(u *upgrader, n *ir.Node) error {
	delete(n.Attrs, "is_test")
	if a, ok := n.Attrs["ratio"]; ok {
		if a.Kind != ir.AttrFloat {
			return fmt.Errorf("%s: attribute ratio is %s, want float; the model is malformed", n, a.Kind)
		}
		delete(n.Attrs, "ratio")
		setInput(n, 1, u.constant(n, "ratio", ir.Scalar(a.Float)))
	}
	if len(n.Outputs) < 2 || n.Outputs[1] == nil {
		return nil
	}
	if !u.used(n.Outputs[1]) {
		n.Outputs = n.Outputs[:1]
		return nil
	}
	if u.opset < 10 && len(n.Inputs) > 0 {
		old := n.Outputs[1]
		m := &ir.Value{Name: u.g.UniqueName(old.Name + ".bool"), Type: ir.Type{DType: ir.Bool, Shape: old.Type.Shape, Ranked: old.Type.Ranked}, Producer: n}
		n.Outputs[1] = m
		u.addNode(n.Name+".mask", "CastLike", nil, []*ir.Value{m, n.Inputs[0]}, []*ir.Value{old})
	}
	return nil
}

// batchNorm upgrades BatchNormalization 1-14 to 15: drops is_test/spatial,
// expands spatial=0, maps training outputs to training_mode.
func batchNorm(u *upgrader, n *ir.Node) error {
	delete(n.Attrs, "is_test")
	spatial := n.AttrInt("spatial", 1)
	delete(n.Attrs, "spatial")
	if len(n.Inputs) != 5 || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("%s: has %d inputs and %d outputs, want 5 inputs and output Y; the model is malformed", n, len(n.Inputs), len(n.Outputs))
	}
	for i := range n.Inputs {
		if n.Inputs[i] == nil {
			return fmt.Errorf("%s: input %d is missing; all five inputs are required", n, i)
		}
	}
	training := false
	for i := 1; i < len(n.Outputs); i++ {
		if !u.used(n.Outputs[i]) {
			continue
		}
		if i >= 3 {
			return fmt.Errorf("%s: output %d (saved_mean/saved_var) is used; opset 18 BatchNormalization has no such output, export the model in inference mode", n, i)
		}
		training = true
	}
	if u.opset >= 14 {
		return nil
	}
	if training {
		if spatial == 0 {
			return fmt.Errorf("%s: training-mode BatchNormalization with spatial=0 has no opset-18 form; export the model in inference mode", n)
		}
		n.SetAttr("training_mode", ir.IntAttr(1))
		if len(n.Outputs) > 3 {
			n.Outputs = n.Outputs[:3]
		}
		return nil
	}
	n.Outputs = n.Outputs[:1]
	if spatial != 0 {
		return nil
	}
	// Per-activation statistics: Y = (X - mean) / sqrt(var + eps) * scale + B,
	// with scale, B, mean, var of shape (C x D1 x ... x Dn) broadcasting
	// against (N x C x D1 x ... x Dn).
	x, scale, bias, mean, variance := n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Inputs[3], n.Inputs[4]
	eps, err := u.constLike(n, "epsilon", []int64{}, []float64{float64(n.AttrFloat("epsilon", 1e-5))}, variance)
	if err != nil {
		return err
	}
	centered := u.add(n, "sub", "Sub", nil, x, mean)
	std := u.add(n, "sqrt", "Sqrt", nil, u.add(n, "addeps", "Add", nil, variance, eps))
	scaled := u.add(n, "mul", "Mul", nil, u.add(n, "div", "Div", nil, centered, std), scale)
	// The node itself becomes the final Add, keeping its name and output.
	n.Op = "Add"
	n.Attrs = nil
	n.Inputs = []*ir.Value{scaled, bias}
	return nil
}

// coerce2D upgrades Softmax/LogSoftmax/Hardmax before 13, which flattened
// the input to 2-D at axis (default 1) and normalized over the second dim.
func coerce2D(u *upgrader, n *ir.Node) error {
	axis := n.AttrInt("axis", 1)
	if len(n.Inputs) != 1 || n.Inputs[0] == nil || len(n.Outputs) != 1 || n.Outputs[0] == nil {
		return fmt.Errorf("%s: want one input and one output; the model is malformed", n)
	}
	x := n.Inputs[0]
	if axis == -1 {
		n.SetAttr("axis", ir.IntAttr(-1))
		return nil
	}
	if r, ok := rankOf(x); ok {
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a > int64(r) {
			return fmt.Errorf("%s: axis %d out of range for rank %d", n, axis, r)
		}
		noop := a < int64(r)
		var shape ir.Shape
		if x.Const != nil {
			shape = ir.ShapeOf(x.Const.Shape...)
		} else {
			shape = x.Type.Shape
		}
		for i := a + 1; i < int64(r) && noop; i++ {
			noop = shape[i].Size == 1
		}
		if noop {
			n.SetAttr("axis", ir.IntAttr(a))
			return nil
		}
	}
	y := n.Outputs[0]
	flat := u.add(n, "flatten", "Flatten", map[string]*ir.Attr{"axis": ir.IntAttr(axis)}, x)
	n.Inputs[0] = flat
	n.SetAttr("axis", ir.IntAttr(-1))
	out := &ir.Value{Name: u.g.UniqueName(n.Name + ".2d"), Producer: n}
	n.Outputs[0] = out
	shape := u.add(n, "shape", "Shape", nil, x)
	u.addNode(n.Name+".reshape", "Reshape", map[string]*ir.Attr{"allowzero": ir.IntAttr(1)}, []*ir.Value{out, shape}, []*ir.Value{y})
	return nil
}

// upsampleToResize replaces Upsample (1, 7, 9/10) by Resize.
func upsampleToResize(u *upgrader, n *ir.Node) error {
	if len(n.Inputs) < 1 || n.Inputs[0] == nil {
		return fmt.Errorf("%s: has no input X; the model is malformed", n)
	}
	var scales *ir.Value
	switch {
	case n.HasAttr("scales"):
		s := n.AttrFloats("scales", nil)
		scales = u.constant(n, "scales", ir.FromFloat32([]int64{int64(len(s))}, append([]float32{}, s...)))
	case n.HasAttr("height_scale") || n.HasAttr("width_scale"):
		h, w := n.AttrFloat("height_scale", 1), n.AttrFloat("width_scale", 1)
		scales = u.constant(n, "scales", ir.FromFloat32([]int64{4}, []float32{1, 1, h, w}))
	case n.Input(1) != nil:
		scales = n.Inputs[1]
	default:
		return fmt.Errorf("%s: has no scales (attribute or input); the model is malformed", n)
	}
	for _, a := range []string{"scales", "height_scale", "width_scale"} {
		delete(n.Attrs, a)
	}
	n.Op = "Resize"
	n.Inputs = []*ir.Value{n.Inputs[0], nil, scales}
	return legacyResizeModes(n, scales)
}

// resize10 upgrades Resize-10 (X, scales) to the canonical inputs and modes.
func resize10(_ *upgrader, n *ir.Node) error {
	if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return fmt.Errorf("%s: Resize-10 needs inputs X and scales, has %d; the model is malformed", n, len(n.Inputs))
	}
	scales := n.Inputs[1]
	n.Inputs = []*ir.Value{n.Inputs[0], nil, scales}
	return legacyResizeModes(n, scales)
}

// legacyResizeModes sets the modes of Upsample/Resize-10: asymmetric
// coordinates; nearest rounds down when upsampling and up when downsampling.
func legacyResizeModes(n *ir.Node, scales *ir.Value) error {
	mode := strings.ToLower(n.AttrString("mode", "nearest"))
	n.Attrs = map[string]*ir.Attr{"coordinate_transformation_mode": ir.StringAttr("asymmetric")}
	switch mode {
	case "nearest":
		n.SetAttr("mode", ir.StringAttr("nearest"))
		rounding := "floor"
		if numericConst(scales) {
			up, down := false, false
			for _, s := range scales.Const.Float64s() {
				up = up || s > 1
				down = down || s < 1
			}
			if up && down {
				return fmt.Errorf("%s: nearest resize that upsamples some axes and downsamples others has no opset-18 form (old rounding was per axis)", n)
			}
			if down {
				rounding = "ceil"
			}
		}
		n.SetAttr("nearest_mode", ir.StringAttr(rounding))
	case "linear", "bilinear", "trilinear":
		n.SetAttr("mode", ir.StringAttr("linear"))
	default:
		return fmt.Errorf("%s: mode %q is not nearest or linear", n, mode)
	}
	return nil
}

// resize11 upgrades Resize-11: empty roi/scales constants (placeholders)
// become absent inputs, and tf_half_pixel_for_nn, removed in 13, becomes
// half_pixel with the nearest_mode that rounds to the same pixel.
func resize11(_ *upgrader, n *ir.Node) error {
	if n.AttrString("coordinate_transformation_mode", "") == "tf_half_pixel_for_nn" {
		// x_orig = (x+0.5)/scale is half_pixel's h plus 0.5, and
		// round_prefer_floor(h+0.5) = ceil(h), floor(h+0.5) = round_prefer_ceil(h).
		rounding := map[string]string{"round_prefer_floor": "ceil", "floor": "round_prefer_ceil"}[n.AttrString("nearest_mode", "round_prefer_floor")]
		if n.AttrString("mode", "nearest") != "nearest" || rounding == "" {
			return fmt.Errorf("%s: coordinate_transformation_mode tf_half_pixel_for_nn (removed in opset 13) has an equivalent only for mode nearest with nearest_mode round_prefer_floor or floor; re-export with half_pixel", n)
		}
		n.SetAttr("coordinate_transformation_mode", ir.StringAttr("half_pixel"))
		n.SetAttr("nearest_mode", ir.StringAttr(rounding))
	}
	for i := 1; i <= 2 && i < len(n.Inputs); i++ {
		if v := n.Inputs[i]; v.IsConst() && v.Const.Len() == 0 {
			n.Inputs[i] = nil
		}
	}
	for len(n.Inputs) > 1 && n.Inputs[len(n.Inputs)-1] == nil {
		n.Inputs = n.Inputs[:len(n.Inputs)-1]
	}
	return nil
}

// roiAlignMode pins RoiAlign-10's coordinates: it did not shift by half a
// pixel, which opset 16 calls "output_half_pixel".
func roiAlignMode(_ *upgrader, n *ir.Node) error {
	if !n.HasAttr("coordinate_transformation_mode") {
		n.SetAttr("coordinate_transformation_mode", ir.StringAttr("output_half_pixel"))
	}
	return nil
}
