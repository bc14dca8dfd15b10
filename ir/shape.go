package ir

import (
	"errors"
	"fmt"
)

// InferShapes sets the Type of every node output, visiting g.Nodes in
// order (which must be topological; Verify checks that). Where a value
// already has a type — declared by the model's value_info or outputs, or
// left by an earlier run — the inferred and declared types are merged:
// each dim takes the more specific of the two, and a contradiction (two
// different known sizes, ranks or dtypes) is an error naming the node.
//
// It stops at the first node it cannot type: later nodes would only
// report consequences of that error. Graph inputs and constants whose
// types hold more than 2^31 elements are refused up front.
func InferShapes(g *Graph) error {
	for _, v := range append(append([]*Value{}, g.Inputs...), g.Consts...) {
		if v != nil && v.Type.Ranked {
			if _, err := checkedKnownElements(v.Type.Shape); err != nil {
				return fmt.Errorf("value %q type %s: %v", v.Name, v.Type, err)
			}
		}
	}
	sd := shapeData{}
	for i, n := range g.Nodes {
		if n == nil {
			return fmt.Errorf("node %d is nil", i)
		}
		if err := inferNode(n, sd); err != nil {
			return err
		}
		sd.propagate(n)
	}
	return nil
}

// inferNode types the outputs of one node; sd supplies the propagated
// values of shape-computing inputs (nil for none).
func inferNode(n *Node, sd shapeData) error {
	def := LookupOp(n.Domain, n.Op)
	if def == nil {
		return unknownOpError(n)
	}
	types, err := def.Infer(sd.shadow(n))
	if err != nil {
		return err
	}
	for i, out := range n.Outputs {
		if out == nil {
			continue
		}
		if i >= len(types) {
			return fmt.Errorf("%s: has %d outputs, but the op defines %d; remove the extra outputs", n, len(n.Outputs), len(types))
		}
		t := types[i]
		if t.Ranked {
			if _, err := checkedKnownElements(t.Shape); err != nil {
				return fmt.Errorf("%s: output %d shape %s: %v", n, i, t.Shape, err)
			}
		}
		merged, err := mergeTypes(t, out.Type)
		if err != nil {
			return fmt.Errorf("%s: output %d %v", n, i, err)
		}
		out.Type = merged
	}
	return nil
}

// checkedKnownElements multiplies the known dims of s, refusing products
// above MaxElements.
func checkedKnownElements(s Shape) (int64, error) {
	known := make([]int64, 0, len(s))
	for _, d := range s {
		if d.Known() {
			known = append(known, d.Size)
		}
	}
	return CheckedNumElements(known)
}

// mergeTypes combines an inferred type with a declared one, keeping the
// more specific information at each position.
func mergeTypes(inferred, declared Type) (Type, error) {
	out := inferred
	if inferred.DType == Undefined {
		out.DType = declared.DType
	} else if declared.DType != Undefined && declared.DType != inferred.DType {
		return Type{}, fmt.Errorf("dtype %s conflicts with declared %s", inferred.DType, declared.DType)
	}
	if out.Quant == nil {
		out.Quant = declared.Quant
	}
	switch {
	case !declared.Ranked:
		return out, nil
	case !inferred.Ranked:
		out.Ranked, out.Shape = true, append(Shape{}, declared.Shape...)
		return out, nil
	}
	if len(inferred.Shape) != len(declared.Shape) {
		return Type{}, fmt.Errorf("shape %s conflicts with declared %s (rank %d, want %d)",
			inferred.Shape, declared.Shape, len(inferred.Shape), len(declared.Shape))
	}
	s := make(Shape, len(inferred.Shape))
	for i, d := range inferred.Shape {
		e := declared.Shape[i]
		switch {
		case d.Known() && e.Known() && d.Size != e.Size:
			return Type{}, fmt.Errorf("shape %s conflicts with declared %s", inferred.Shape, declared.Shape)
		case d.Known():
			s[i] = d
		case e.Known():
			s[i] = e
		case e.Param != "":
			s[i] = e // the model's own name for the dim wins
		default:
			s[i] = d
		}
	}
	out.Shape = s
	return out, nil
}

// ---- helpers shared by the shape functions ----

// errf formats an error prefixed with the node.
func errf(n *Node, format string, args ...any) error {
	return fmt.Errorf("%s: %s", n, fmt.Sprintf(format, args...))
}

// in returns the type of input i and whether that input is present.
func in(n *Node, i int) (Type, bool) {
	v := n.Input(i)
	if v == nil {
		return Type{}, false
	}
	return v.Type, true
}

// in0 returns the type of input 0 (zero Type when absent).
func in0(n *Node) Type { t, _ := in(n, 0); return t }

// unranked is a type of unknown rank.
func unranked(dt DType) Type { return Type{DType: dt} }

// ranked is a type of known rank.
func ranked(dt DType, s Shape) Type { return Type{DType: dt, Shape: s, Ranked: true} }

// unknownDims returns r unknown dims.
func unknownDims(r int) Shape {
	s := make(Shape, r)
	for i := range s {
		s[i] = Unknown()
	}
	return s
}

// cloneShape copies s (never nil, so a scalar stays a scalar).
func cloneShape(s Shape) Shape { return append(Shape{}, s...) }

// one returns a single-output result.
func one(t Type) ([]Type, error) { return []Type{t}, nil }

// maxRank bounds the rank of any inferred shape; far beyond any real model.
const maxRank = 64

// tensorInts returns t's elements as int64 when t holds an integer slice
// whose length matches its shape; ok is false otherwise (including elided
// data, whose Go type is not a slice effc decodes here).
func tensorInts(t *Tensor) ([]int64, bool) {
	if t == nil {
		return nil, false
	}
	n, err := CheckedNumElements(t.Shape)
	if err != nil {
		return nil, false
	}
	var out []int64
	switch d := t.Data.(type) {
	case []int64:
		out = append(out, d...)
	case []int32:
		for _, v := range d {
			out = append(out, int64(v))
		}
	case []int16:
		for _, v := range d {
			out = append(out, int64(v))
		}
	case []int8:
		for _, v := range d {
			out = append(out, int64(v))
		}
	case []uint8:
		if t.DType.IsFP8() {
			return nil, false
		}
		for _, v := range d {
			out = append(out, int64(v))
		}
	case []uint32:
		for _, v := range d {
			out = append(out, int64(v))
		}
	default:
		return nil, false
	}
	if int64(len(out)) != n {
		return nil, false
	}
	return out, true
}

// tensorFloats returns t's elements as float64 for numeric slices whose
// length matches the shape.
func tensorFloats(t *Tensor) ([]float64, bool) {
	if t == nil {
		return nil, false
	}
	n, err := CheckedNumElements(t.Shape)
	if err != nil {
		return nil, false
	}
	switch t.Data.(type) {
	case []float32, []float64, []int8, []uint8, []int16, []uint16, []int32, []uint32, []int64, []uint64:
	default:
		return nil, false
	}
	if int64(t.DataLen()) != n {
		return nil, false
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = t.Float64At(i)
	}
	return out, true
}

// constInts returns the elements of input i when it is a constant integer
// tensor.
func constInts(n *Node, i int) ([]int64, bool) {
	v := n.Input(i)
	if v == nil || v.Const == nil {
		return nil, false
	}
	return tensorInts(v.Const)
}

// constFloats returns the elements of input i when it is a constant
// numeric tensor.
func constFloats(n *Node, i int) ([]float64, bool) {
	v := n.Input(i)
	if v == nil || v.Const == nil {
		return nil, false
	}
	return tensorFloats(v.Const)
}

// inputLen is the static length of 1-D input i (for shape-like inputs
// whose values are unknown), or -1.
func inputLen(n *Node, i int) int64 {
	t, ok := in(n, i)
	if !ok || !t.Ranked || len(t.Shape) != 1 || !t.Shape[0].Known() {
		return -1
	}
	return t.Shape[0].Size
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(n *Node, what string, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, errf(n, "%s %d is out of range for rank %d, want in [%d, %d]", what, axis, rank, -rank, rank-1)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// normAxes normalizes a list of axes and refuses duplicates.
func normAxes(n *Node, what string, axes []int64, rank int) ([]int, error) {
	seen := map[int]bool{}
	out := make([]int, len(axes))
	for i, a := range axes {
		x, err := normAxis(n, what, a, rank)
		if err != nil {
			return nil, err
		}
		if seen[x] {
			return nil, errf(n, "%s %v repeat axis %d; list each axis once", what, axes, x)
		}
		seen[x] = true
		out[i] = x
	}
	return out, nil
}

// dimFromInt turns a computed size into a known dim, refusing negatives
// and sizes above MaxElements.
func dimFromInt(n *Node, what string, v int64) (Dim, error) {
	if v < 0 {
		return Dim{}, errf(n, "%s is %d, want >= 0", what, v)
	}
	if v > MaxElements {
		return Dim{}, errf(n, "%s is %d, more than 2^31; effc refuses tensors this large", what, v)
	}
	return D(v), nil
}

// mulDims multiplies two dims: known*known is known, x*1 is x, else unknown.
func mulDims(a, b Dim) Dim {
	switch {
	case a.Known() && b.Known():
		if a.Size != 0 && b.Size > MaxElements/a.Size {
			return D(MaxElements + 1) // saturate: the element-count check refuses it
		}
		return D(a.Size * b.Size)
	case a.Known() && a.Size == 1:
		return b
	case b.Known() && b.Size == 1:
		return a
	case (a.Known() && a.Size == 0) || (b.Known() && b.Size == 0):
		return D(0)
	}
	return Unknown()
}

// addDims adds two dims when both are known, else unknown.
func addDims(a, b Dim) Dim {
	if a.Known() && b.Known() {
		return D(a.Size + b.Size)
	}
	if a.Known() && a.Size == 0 {
		return b
	}
	if b.Known() && b.Size == 0 {
		return a
	}
	return Unknown()
}

// sameDim reports whether two dims are provably equal.
func sameDim(a, b Dim) bool {
	if a.Known() || b.Known() {
		return a.Known() && b.Known() && a.Size == b.Size
	}
	return a.Param != "" && a.Param == b.Param
}

// unifyDim returns the more specific of two dims that must be equal, or an
// error when both are known and differ.
func unifyDim(a, b Dim) (Dim, bool) {
	switch {
	case a.Known() && b.Known():
		return a, a.Size == b.Size
	case a.Known():
		return a, true
	case b.Known():
		return b, true
	case a.Param != "":
		return a, true
	}
	return b, true
}

// broadcastShapes applies ONNX multidirectional broadcasting to ranked
// shapes, keeping symbolic dims: N vs 1 -> N, N vs N -> N, N vs M -> ?.
func broadcastShapes(shapes ...Shape) (Shape, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make(Shape, r)
	for i := range out {
		var cur Dim
		first := true
		for _, s := range shapes {
			j := i - (r - len(s))
			if j < 0 {
				continue
			}
			d := s[j]
			if first {
				cur, first = d, false
				continue
			}
			nd, err := broadcastDim(cur, d)
			if err != nil {
				return nil, fmt.Errorf("dim %d: %v", i, err)
			}
			cur = nd
		}
		out[i] = cur
	}
	return out, nil
}

// broadcastDim combines two dims under broadcasting.
func broadcastDim(a, b Dim) (Dim, error) {
	switch {
	case a.Known() && b.Known():
		switch {
		case a.Size == b.Size:
			return a, nil
		case a.Size == 1:
			return b, nil
		case b.Size == 1:
			return a, nil
		}
		return Dim{}, fmt.Errorf("sizes %d and %d do not broadcast", a.Size, b.Size)
	case a.Known() && a.Size == 1:
		return b, nil
	case b.Known() && b.Size == 1:
		return a, nil
	case a.Known():
		return a, nil // b must be a.Size or 1; either way the result is a
	case b.Known():
		return b, nil
	case a.Param != "" && a.Param == b.Param:
		return a, nil
	}
	return Unknown(), nil
}

// firstDType returns the dtype of the first present input with a defined
// dtype, preferring the given indices in order.
func firstDType(n *Node, idx ...int) DType {
	for _, i := range idx {
		if t, ok := in(n, i); ok && t.DType != Undefined {
			return t.DType
		}
	}
	return Undefined
}

// errorList collects errors up to a cap.
type errorList struct {
	errs    []error
	dropped int
}

const maxErrors = 20

func (l *errorList) add(err error) {
	if err == nil {
		return
	}
	if len(l.errs) >= maxErrors {
		l.dropped++
		return
	}
	l.errs = append(l.errs, err)
}

// full reports whether further errors would only be counted.
func (l *errorList) full() bool { return len(l.errs) >= maxErrors }

func (l *errorList) err() error {
	if l.dropped > 0 {
		return errors.Join(append(l.errs, fmt.Errorf("... and %d more errors", l.dropped))...)
	}
	return errors.Join(l.errs...)
}
