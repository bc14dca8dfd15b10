package ir

import (
	"fmt"
	"strings"
)

// Shape functions for elementwise ops, type conversions and other ops
// whose output has the shape of an input.

// inferSameAs0: the output has input 0's type (unary elementwise ops,
// normalizations, scatters, Identity, Trilu, CumSum, ...).
func inferSameAs0(n *Node) ([]Type, error) {
	t := in0(n)
	return one(Type{DType: t.DType, Shape: cloneShape(t.Shape), Ranked: t.Ranked})
}

// broadcastInputs broadcasts the shapes of the present inputs from index
// start on; ok is false when one of them has unknown rank.
func broadcastInputs(n *Node, start int) (Shape, bool, error) {
	var shapes []Shape
	for i := start; i < len(n.Inputs); i++ {
		t, ok := in(n, i)
		if !ok {
			continue
		}
		if !t.Ranked {
			return nil, false, nil
		}
		shapes = append(shapes, t.Shape)
	}
	s, err := broadcastShapes(shapes...)
	if err != nil {
		parts := make([]string, len(shapes))
		for i, sh := range shapes {
			parts[i] = sh.String()
		}
		return nil, false, errf(n, "input shapes %s do not broadcast: %v; make the dims equal or 1",
			strings.Join(parts, ", "), err)
	}
	return s, true, nil
}

// inferBroadcast: multidirectional broadcasting; dtype of input 0.
func inferBroadcast(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	if len(n.Inputs) == 0 {
		return nil, errf(n, "has no inputs, want at least 1")
	}
	s, ok, err := broadcastInputs(n, 0)
	if err != nil || !ok {
		return []Type{unranked(dt)}, err
	}
	return one(ranked(dt, s))
}

// inferCompare: broadcasting, bool output.
func inferCompare(n *Node) ([]Type, error) {
	s, ok, err := broadcastInputs(n, 0)
	if err != nil || !ok {
		return []Type{unranked(Bool)}, err
	}
	return one(ranked(Bool, s))
}

// inferBool: input 0's shape, bool output (IsNaN, IsInf).
func inferBool(n *Node) ([]Type, error) {
	t := in0(n)
	return one(Type{DType: Bool, Shape: cloneShape(t.Shape), Ranked: t.Ranked})
}

// inferWhere: three-way broadcasting, dtype of X.
func inferWhere(n *Node) ([]Type, error) {
	dt := firstDType(n, 1, 2)
	s, ok, err := broadcastInputs(n, 0)
	if err != nil || !ok {
		return []Type{unranked(dt)}, err
	}
	return one(ranked(dt, s))
}

// inferSoftmax: same shape; checks the axis.
func inferSoftmax(n *Node) ([]Type, error) {
	t := in0(n)
	if t.Ranked {
		if _, err := normAxis(n, "axis", n.AttrInt("axis", -1), len(t.Shape)); err != nil {
			return nil, err
		}
	}
	return inferSameAs0(n)
}

// inferCast: input shape, dtype from attribute 'to'.
func inferCast(n *Node) ([]Type, error) {
	to, err := dtypeAttr(n, "to", Undefined)
	if err != nil {
		return nil, err
	}
	t := in0(n)
	return one(Type{DType: to, Shape: cloneShape(t.Shape), Ranked: t.Ranked})
}

// dtypeAttr reads an int attribute holding an ONNX dtype number.
func dtypeAttr(n *Node, name string, def DType) (DType, error) {
	a, ok := n.Attrs[name]
	if !ok {
		if def == Undefined {
			return Undefined, errf(n, "missing attribute %q (an ONNX TensorProto.DataType number)", name)
		}
		return def, nil
	}
	if a.Kind != AttrInt {
		return Undefined, errf(n, "attribute %q has kind %s, want int", name, a.Kind)
	}
	if a.Int <= 0 || a.Int > 255 || !DType(a.Int).Valid() {
		return Undefined, errf(n, "attribute %q is %d, not a dtype effc knows (want 1..%d)", name, a.Int, len(dtypeNames)-1)
	}
	return DType(a.Int), nil
}

// inferCastLike: input 0's shape, input 1's dtype.
func inferCastLike(n *Node) ([]Type, error) {
	t := in0(n)
	return one(Type{DType: firstDType(n, 1), Shape: cloneShape(t.Shape), Ranked: t.Ranked})
}

// inferDropout: output like input 0; mask has the same shape in bool.
func inferDropout(n *Node) ([]Type, error) {
	t := in0(n)
	if r, ok := constFloats(n, 1); ok && len(r) == 1 && (r[0] < 0 || r[0] >= 1) {
		return nil, errf(n, "ratio is %g, want in [0, 1)", r[0])
	}
	return []Type{
		{DType: t.DType, Shape: cloneShape(t.Shape), Ranked: t.Ranked},
		{DType: Bool, Shape: cloneShape(t.Shape), Ranked: t.Ranked},
	}, nil
}

// inferConstant: the type of whichever value attribute is set.
func inferConstant(n *Node) ([]Type, error) {
	var found []string
	var t Type
	for _, name := range n.SortedAttrNames() {
		a := n.Attrs[name]
		switch name {
		case "value", "sparse_value":
			if a.Tensor == nil {
				return nil, errf(n, "attribute %q has no tensor", name)
			}
			s := make(Shape, len(a.Tensor.Shape))
			for i, d := range a.Tensor.Shape {
				dd, err := dimFromInt(n, fmt.Sprintf("value dim %d", i), d)
				if err != nil {
					return nil, err
				}
				s[i] = dd
			}
			t = ranked(a.Tensor.DType, s)
		case "value_float":
			t = ranked(Float32, Shape{})
		case "value_int":
			t = ranked(Int64, Shape{})
		case "value_string":
			t = ranked(String, Shape{})
		case "value_floats":
			t = ranked(Float32, Shape{D(int64(len(a.Floats)))})
		case "value_ints":
			t = ranked(Int64, Shape{D(int64(len(a.Ints)))})
		case "value_strings":
			t = ranked(String, Shape{D(int64(len(a.Strings)))})
		default:
			continue
		}
		found = append(found, name)
	}
	if len(found) != 1 {
		return nil, errf(n, "has value attributes %v, want exactly one", found)
	}
	return one(t)
}
