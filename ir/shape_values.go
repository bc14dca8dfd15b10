package ir

import "fmt"

// Shape-value propagation (ONNX calls it data propagation). Exported
// models compute shapes at run time: Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape. InferShapes tracks the element values of small
// integer tensors derived from shapes — each a known number, a symbol
// ("N"), or unknown — so the Reshape at the end of such a chain gets
// [N,S,12,64] instead of [?,?,?,?].
//
// The values live only for the duration of one InferShapes call. A shape
// function sees them through a shadow copy of its node whose input carries
// a synthetic constant: a plain []int64 when every value is known, or a
// symbolicInts tensor, which only the symbol-aware functions (Reshape,
// Expand, ConstantOfShape, Range) read and everything else treats as not
// constant.

// shapeVal is one element of a shape-valued tensor.
type shapeVal struct {
	known bool
	v     int64  // the value when known
	param string // the symbol when not known ("" = nothing known)
}

// dim returns the value as a dimension.
func (s shapeVal) dim() Dim {
	switch {
	case s.known && s.v >= 0:
		return D(s.v)
	case !s.known && s.param != "":
		return Sym(s.param)
	}
	return Unknown()
}

// valOfDim returns a dimension as a value.
func valOfDim(d Dim) shapeVal {
	if d.Known() {
		return shapeVal{known: true, v: d.Size}
	}
	return shapeVal{param: d.Param}
}

// symbolicInts is the Data of a synthetic constant whose values are not
// all known.
type symbolicInts []shapeVal

// shapeVals holds the values of one tensor: rank 0 or 1.
type shapeVals struct {
	vals   []shapeVal
	scalar bool
}

// shapeData maps values to their propagated contents.
type shapeData map[*Value]shapeVals

// lookup returns the values of v: from its constant when it has one, else
// from propagation.
func (sd shapeData) lookup(v *Value) (shapeVals, bool) {
	if v == nil {
		return shapeVals{}, false
	}
	if v.Const != nil {
		if len(v.Const.Shape) > 1 {
			return shapeVals{}, false
		}
		ints, ok := tensorInts(v.Const)
		if !ok || len(ints) > maxRank {
			return shapeVals{}, false
		}
		sv := shapeVals{vals: make([]shapeVal, len(ints)), scalar: len(v.Const.Shape) == 0}
		for i, x := range ints {
			sv.vals[i] = shapeVal{known: true, v: x}
		}
		return sv, true
	}
	sv, ok := sd[v]
	return sv, ok
}

// shapeValsOf returns the values of input i of a (possibly shadowed) node:
// known constants or a symbolicInts synthetic constant.
func shapeValsOf(n *Node, i int) ([]shapeVal, bool) {
	v := n.Input(i)
	if v == nil || v.Const == nil {
		return nil, false
	}
	if s, ok := v.Const.Data.(symbolicInts); ok {
		return s, true
	}
	ints, ok := tensorInts(v.Const)
	if !ok {
		return nil, false
	}
	out := make([]shapeVal, len(ints))
	for j, x := range ints {
		out[j] = shapeVal{known: true, v: x}
	}
	return out, true
}

// shadow returns n itself, or a copy whose non-constant inputs with
// propagated values are replaced by synthetic constants.
func (sd shapeData) shadow(n *Node) *Node {
	var c *Node
	for i, v := range n.Inputs {
		if v == nil || v.Const != nil {
			continue
		}
		sv, ok := sd[v]
		if !ok {
			continue
		}
		shape := []int64{int64(len(sv.vals))}
		if sv.scalar {
			shape = []int64{}
		}
		t := &Tensor{DType: Int64, Shape: shape}
		allKnown := true
		ints := make([]int64, len(sv.vals))
		for j, x := range sv.vals {
			allKnown = allKnown && x.known
			ints[j] = x.v
		}
		if allKnown {
			t.Data = ints
		} else {
			t.Data = symbolicInts(sv.vals)
		}
		if c == nil {
			cp := *n
			cp.Inputs = append([]*Value{}, n.Inputs...)
			c = &cp
		}
		c.Inputs[i] = &Value{Name: v.Name, Type: v.Type, Const: t}
	}
	if c == nil {
		return n
	}
	return c
}

// propagate records the values of n's first output when the op computes a
// small integer tensor from shapes.
func (sd shapeData) propagate(n *Node) {
	if n.Domain != "" || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return
	}
	out := n.Outputs[0]
	if !out.Type.DType.IsInt() {
		return
	}
	vals := func(i int) (shapeVals, bool) { return sd.lookup(n.Input(i)) }
	known := func(i int) ([]int64, bool) {
		sv, ok := vals(i)
		if !ok {
			return nil, false
		}
		r := make([]int64, len(sv.vals))
		for j, x := range sv.vals {
			if !x.known {
				return nil, false
			}
			r[j] = x.v
		}
		return r, true
	}
	var res shapeVals
	switch n.Op {
	case "Shape":
		x := in0(n)
		if !x.Ranked {
			return
		}
		r := int64(len(x.Shape))
		clamp := func(v int64) int64 {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		start, end := clamp(n.AttrInt("start", 0)), r
		if n.HasAttr("end") {
			end = clamp(n.AttrInt("end", r))
		}
		for i := start; i < end; i++ {
			res.vals = append(res.vals, valOfDim(x.Shape[i]))
		}
	case "Size":
		x := in0(n)
		if !x.Ranked {
			return
		}
		res = shapeVals{vals: []shapeVal{valOfDim(productDims(x.Shape))}, scalar: true}
	case "Identity", "Cast":
		sv, ok := vals(0)
		if !ok {
			return
		}
		res = sv
	case "Reshape", "Squeeze", "Unsqueeze", "Flatten":
		sv, ok := vals(0)
		if !ok || !out.Type.Ranked || len(out.Type.Shape) > 1 {
			return
		}
		res = shapeVals{vals: sv.vals, scalar: len(out.Type.Shape) == 0}
		if res.scalar && len(sv.vals) != 1 {
			return
		}
	case "Gather":
		data, ok := vals(0)
		idx, ok2 := known(1)
		if !ok || !ok2 || data.scalar {
			return
		}
		ix, _ := vals(1)
		res.scalar = ix.scalar
		m := int64(len(data.vals))
		for _, i := range idx {
			if i < -m || i >= m {
				return
			}
			if i < 0 {
				i += m
			}
			res.vals = append(res.vals, data.vals[i])
		}
	case "Slice":
		data, ok := vals(0)
		st, ok1 := known(1)
		en, ok2 := known(2)
		if !ok || !ok1 || !ok2 || data.scalar || len(st) != 1 || len(en) != 1 {
			return
		}
		step := int64(1)
		if n.Input(4) != nil {
			s, ok := known(4)
			if !ok || len(s) != 1 || s[0] == 0 {
				return
			}
			step = s[0]
		}
		if n.Input(3) != nil {
			a, ok := known(3)
			if !ok || len(a) != 1 || (a[0] != 0 && a[0] != -1) {
				return
			}
		}
		m := int64(len(data.vals))
		cnt := sliceCount(st[0], en[0], step, m)
		first := st[0]
		if first < 0 {
			first = max(first, -m-1) + m
		}
		if step > 0 {
			first = min(max(first, 0), m)
		} else {
			first = min(max(first, 0), m-1)
		}
		for k := int64(0); k < cnt; k++ {
			res.vals = append(res.vals, data.vals[first+k*step])
		}
	case "Concat":
		for i := range n.Inputs {
			sv, ok := vals(i)
			if !ok || sv.scalar {
				return
			}
			res.vals = append(res.vals, sv.vals...)
		}
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		a, ok1 := vals(0)
		b, ok2 := vals(1)
		if !ok1 || !ok2 {
			return
		}
		l := max(len(a.vals), len(b.vals))
		if (len(a.vals) != l && len(a.vals) != 1) || (len(b.vals) != l && len(b.vals) != 1) {
			return
		}
		res.scalar = a.scalar && b.scalar
		for i := 0; i < l; i++ {
			res.vals = append(res.vals, arith(n.Op, a.vals[min(i, len(a.vals)-1)], b.vals[min(i, len(b.vals)-1)]))
		}
	default:
		return
	}
	if len(res.vals) > maxRank {
		return
	}
	sd[out] = res
}

// arith applies a binary op to two shape values; symbols survive only
// the identities x*1, x/1, x+0, x-0.
func arith(op string, a, b shapeVal) shapeVal {
	if a.known && b.known {
		x, y := a.v, b.v
		switch op {
		case "Add":
			return shapeVal{known: true, v: x + y}
		case "Sub":
			return shapeVal{known: true, v: x - y}
		case "Mul":
			if x != 0 && (y > MaxElements || y < -MaxElements || x > MaxElements || x < -MaxElements) {
				return shapeVal{}
			}
			return shapeVal{known: true, v: x * y}
		case "Div":
			if y == 0 || (x == -1<<63 && y == -1) {
				return shapeVal{}
			}
			return shapeVal{known: true, v: x / y}
		case "Max":
			return shapeVal{known: true, v: max(x, y)}
		case "Min":
			return shapeVal{known: true, v: min(x, y)}
		}
		return shapeVal{}
	}
	isK := func(s shapeVal, k int64) bool { return s.known && s.v == k }
	switch {
	case op == "Mul" && isK(b, 1), op == "Div" && isK(b, 1), (op == "Add" || op == "Sub") && isK(b, 0):
		return a
	case op == "Mul" && isK(a, 1), op == "Add" && isK(a, 0):
		return b
	case (op == "Max" || op == "Min") && !a.known && !b.known && a.param != "" && a.param == b.param:
		return a
	}
	return shapeVal{}
}

// String prints the values for debugging and test messages.
func (s shapeVals) String() string {
	parts := make([]string, len(s.vals))
	for i, v := range s.vals {
		switch {
		case v.known:
			parts[i] = fmt.Sprint(v.v)
		case v.param != "":
			parts[i] = v.param
		default:
			parts[i] = "?"
		}
	}
	if s.scalar && len(parts) == 1 {
		return parts[0]
	}
	return fmt.Sprint(parts)
}
