package interp

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/ir"
)

// fixIndex maps a possibly negative index into [0, dim) or reports it.
func fixIndex(i, dim int64, what string) (int64, error) {
	if i < -dim || i >= dim {
		return 0, fmt.Errorf("%s holds index %d, out of range for a dim of size %d", what, i, dim)
	}
	if i < 0 {
		i += dim
	}
	return i, nil
}

// gatherKernel: Gather(data, indices) along axis.
func gatherKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, it := in[0], in[1]
	r := len(x.Shape)
	if r == 0 {
		return nil, fmt.Errorf("input 0 is a scalar, want rank >= 1")
	}
	axis, err := normAxis(n.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	ind, err := intsOf(it, "input 1 (indices)")
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	for i, v := range ind {
		if ind[i], err = fixIndex(v, dim, "input 1 (indices)"); err != nil {
			return nil, err
		}
	}
	out := append(append(append([]int64{}, x.Shape[:axis]...), it.Shape...), x.Shape[axis+1:]...)
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	outer := ir.NumElements(x.Shape[:axis])
	inner := ir.NumElements(x.Shape[axis+1:])
	idx := make([]int, 0, ir.NumElements(out))
	for o := int64(0); o < outer; o++ {
		for _, k := range ind {
			b := (o*dim + k) * inner
			for j := int64(0); j < inner; j++ {
				idx = append(idx, int(b+j))
			}
		}
	}
	return []*ir.Tensor{takeElems(x, out, idx, nil)}, nil
}

// gatherElementsKernel: GatherElements(data, indices): out[c] = data[c
// with c[axis] = indices[c]].
func gatherElementsKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, it := in[0], in[1]
	r := len(x.Shape)
	axis, err := normAxis(n.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	if err := sameRankWithin(x, it, axis, "input 1 (indices)"); err != nil {
		return nil, err
	}
	idx, err := elementIndices(x, it, axis)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{takeElems(x, it.Shape, idx, nil)}, nil
}

// sameRankWithin checks that t has x's rank and no larger dims outside axis
// (GatherElements, ScatterElements).
func sameRankWithin(x, t *ir.Tensor, axis int, what string) error {
	if len(t.Shape) != len(x.Shape) {
		return fmt.Errorf("%s has rank %d (shape %v), input 0 has rank %d", what, len(t.Shape), t.Shape, len(x.Shape))
	}
	for d := range t.Shape {
		if d != axis && t.Shape[d] > x.Shape[d] {
			return fmt.Errorf("%s has shape %v, larger than input 0 %v at dim %d", what, t.Shape, x.Shape, d)
		}
	}
	return nil
}

// gatherNDKernel: GatherND(data, indices) with batch_dims.
func gatherNDKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, it := in[0], in[1]
	b, r, q := int(n.AttrInt("batch_dims", 0)), len(x.Shape), len(it.Shape)
	if q < 1 || r < 1 {
		return nil, fmt.Errorf("input 0 (rank %d) and input 1 (indices, rank %d) must have rank >= 1", r, q)
	}
	m := int(it.Shape[q-1])
	if b < 0 || b >= min(r, q) || b+m > r {
		return nil, fmt.Errorf("batch_dims %d with input 1 (indices) last dim %d does not fit input 0 of rank %d (indices rank %d)", b, m, r, q)
	}
	for d := 0; d < b; d++ {
		if x.Shape[d] != it.Shape[d] {
			return nil, fmt.Errorf("input 1 (indices) shape %v and input 0 shape %v differ in batch dim %d", it.Shape, x.Shape, d)
		}
	}
	ind, err := intsOf(it, "input 1 (indices)")
	if err != nil {
		return nil, err
	}
	out := append(append([]int64{}, it.Shape[:q-1]...), x.Shape[b+m:]...)
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	slice := ir.NumElements(x.Shape[b+m:])
	batches := ir.NumElements(it.Shape[:b])
	perBatch := ir.NumElements(it.Shape[b : q-1])
	batchStride := ir.NumElements(x.Shape[b:])
	idx := make([]int, 0, ir.NumElements(out))
	for bi := int64(0); bi < batches; bi++ {
		for t := int64(0); t < perBatch; t++ {
			tup := ind[(bi*perBatch+t)*int64(m):][:m]
			s := bi * batchStride
			for j, v := range tup {
				k, err := fixIndex(v, x.Shape[b+j], "input 1 (indices)")
				if err != nil {
					return nil, err
				}
				s += k * str[b+j]
			}
			for e := int64(0); e < slice; e++ {
				idx = append(idx, int(s+e))
			}
		}
	}
	return []*ir.Tensor{takeElems(x, out, idx, nil)}, nil
}

// scatterElementsKernel: ScatterElements(data, indices, updates) along
// axis with reduction none/add/mul/max/min.
func scatterElementsKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, it, u := in[0], in[1], in[2]
	axis, err := normAxis(n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	if err := sameRankWithin(x, it, axis, "input 1 (indices)"); err != nil {
		return nil, err
	}
	if !equalShape(it.Shape, u.Shape) {
		return nil, fmt.Errorf("input 2 (updates) has shape %v, input 1 (indices) has %v", u.Shape, it.Shape)
	}
	if u.DType != x.DType {
		return nil, fmt.Errorf("input 2 (updates) has dtype %s, input 0 has %s", u.DType, x.DType)
	}
	di, err := elementIndices(x, it, axis)
	if err != nil {
		return nil, err
	}
	out := x.Clone()
	si := make([]int, len(di))
	for i := range si {
		si[i] = i
	}
	if err := scatterInto(out, di, u, si, n.AttrString("reduction", "none")); err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// scatterNDKernel: ScatterND(data, indices, updates) with reduction.
func scatterNDKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, it, u := in[0], in[1], in[2]
	r, q := len(x.Shape), len(it.Shape)
	if q < 1 {
		return nil, fmt.Errorf("input 1 (indices) is a scalar, want rank >= 1")
	}
	k := int(it.Shape[q-1])
	if k > r {
		return nil, fmt.Errorf("input 1 (indices) last dim %d exceeds input 0 rank %d", k, r)
	}
	want := append(append([]int64{}, it.Shape[:q-1]...), x.Shape[k:]...)
	if !equalShape(u.Shape, want) {
		return nil, fmt.Errorf("input 2 (updates) has shape %v, want %v", u.Shape, want)
	}
	if u.DType != x.DType {
		return nil, fmt.Errorf("input 2 (updates) has dtype %s, input 0 has %s", u.DType, x.DType)
	}
	ind, err := intsOf(it, "input 1 (indices)")
	if err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	slice := ir.NumElements(x.Shape[k:])
	tuples := ir.NumElements(it.Shape[:q-1])
	di := make([]int, 0, u.Len())
	for t := int64(0); t < tuples; t++ {
		s := int64(0)
		for j, v := range ind[t*int64(k):][:k] {
			kk, err := fixIndex(v, x.Shape[j], "input 1 (indices)")
			if err != nil {
				return nil, err
			}
			s += kk * str[j]
		}
		for e := int64(0); e < slice; e++ {
			di = append(di, int(s+e))
		}
	}
	si := make([]int, len(di))
	for i := range si {
		si[i] = i
	}
	out := x.Clone()
	if err := scatterInto(out, di, u, si, n.AttrString("reduction", "none")); err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// number is the set of Go element types arithmetic reductions work on.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

func assignIdx[T any](d []T, di []int, s []T, si []int) {
	for i, j := range di {
		d[j] = s[si[i]]
	}
}

func reduceIdx[T number](d []T, di []int, s []T, si []int, red string) {
	for i, j := range di {
		v := s[si[i]]
		switch red {
		case "add":
			d[j] += v
		case "mul":
			d[j] *= v
		case "max":
			d[j] = max(d[j], v)
		case "min":
			d[j] = min(d[j], v)
		}
	}
}

// scatterInto writes src[si[i]] into dst[di[i]] in order, combining with the
// existing value per reduction (none, add, mul, max, min). dst and src share
// a dtype. f16/bf16/fp8 reduce in float64 and round back per element.
func scatterInto(dst *ir.Tensor, di []int, src *ir.Tensor, si []int, red string) error {
	switch red {
	case "none":
		switch d := dst.Data.(type) {
		case []float32:
			assignIdx(d, di, src.Data.([]float32), si)
		case []float64:
			assignIdx(d, di, src.Data.([]float64), si)
		case []int8:
			assignIdx(d, di, src.Data.([]int8), si)
		case []uint8:
			assignIdx(d, di, src.Data.([]uint8), si)
		case []int16:
			assignIdx(d, di, src.Data.([]int16), si)
		case []uint16:
			assignIdx(d, di, src.Data.([]uint16), si)
		case []int32:
			assignIdx(d, di, src.Data.([]int32), si)
		case []uint32:
			assignIdx(d, di, src.Data.([]uint32), si)
		case []int64:
			assignIdx(d, di, src.Data.([]int64), si)
		case []uint64:
			assignIdx(d, di, src.Data.([]uint64), si)
		case []bool:
			assignIdx(d, di, src.Data.([]bool), si)
		case []string:
			assignIdx(d, di, src.Data.([]string), si)
		case []complex64:
			assignIdx(d, di, src.Data.([]complex64), si)
		case []complex128:
			assignIdx(d, di, src.Data.([]complex128), si)
		default:
			return fmt.Errorf("cannot scatter %s data", dst.DType)
		}
		return nil
	case "add", "mul", "max", "min":
	default:
		return fmt.Errorf("reduction %q is not one of none, add, mul, max, min", red)
	}
	if dst.DType == ir.Float16 || dst.DType == ir.BFloat16 || dst.DType.IsFP8() {
		dv, sv := dst.Float64s(), src.Float64s()
		reduceIdx(dv, di, sv, si, red)
		dst.Data = fromFloat64(dst.DType, dst.Shape, dv).Data
		return nil
	}
	switch d := dst.Data.(type) {
	case []float32:
		reduceIdx(d, di, src.Data.([]float32), si, red)
	case []float64:
		reduceIdx(d, di, src.Data.([]float64), si, red)
	case []int8:
		reduceIdx(d, di, src.Data.([]int8), si, red)
	case []uint8:
		reduceIdx(d, di, src.Data.([]uint8), si, red)
	case []int16:
		reduceIdx(d, di, src.Data.([]int16), si, red)
	case []uint16:
		reduceIdx(d, di, src.Data.([]uint16), si, red)
	case []int32:
		reduceIdx(d, di, src.Data.([]int32), si, red)
	case []uint32:
		reduceIdx(d, di, src.Data.([]uint32), si, red)
	case []int64:
		reduceIdx(d, di, src.Data.([]int64), si, red)
	case []uint64:
		reduceIdx(d, di, src.Data.([]uint64), si, red)
	default:
		return fmt.Errorf("reduction %s is not defined for %s data", red, dst.DType)
	}
	return nil
}

// compressKernel: Compress(input, condition) keeps the slices along axis
// (or elements of the flattened input) whose condition is true.
func compressKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, c := in[0], in[1]
	if c.DType != ir.Bool {
		return nil, fmt.Errorf("input 1 (condition) has dtype %s, want bool", c.DType)
	}
	if len(c.Shape) != 1 {
		return nil, fmt.Errorf("input 1 (condition) has rank %d, want 1", len(c.Shape))
	}
	shape := x.Shape
	axis := 0
	if n.HasAttr("axis") {
		var err error
		if axis, err = normAxis(n.AttrInt("axis", 0), len(x.Shape)); err != nil {
			return nil, err
		}
	} else {
		shape = []int64{int64(x.Len())}
	}
	cond := c.Data.([]bool)
	dim := shape[axis]
	var keep []int64
	for i, v := range cond {
		if v {
			if int64(i) >= dim {
				return nil, fmt.Errorf("input 1 (condition) selects index %d, beyond dim %d of size %d", i, axis, dim)
			}
			keep = append(keep, int64(i))
		}
	}
	out := append([]int64{}, shape...)
	out[axis] = int64(len(keep))
	outer := ir.NumElements(shape[:axis])
	inner := ir.NumElements(shape[axis+1:])
	idx := make([]int, 0, ir.NumElements(out))
	for o := int64(0); o < outer; o++ {
		for _, k := range keep {
			for j := int64(0); j < inner; j++ {
				idx = append(idx, int((o*dim+k)*inner+j))
			}
		}
	}
	return []*ir.Tensor{takeElems(x, out, idx, nil)}, nil
}

// isNonZero reports whether element i is not zero (non-empty for strings).
func isNonZero(t *ir.Tensor, i int) bool {
	switch d := t.Data.(type) {
	case []string:
		return d[i] != ""
	case []bool:
		return d[i]
	case []complex64:
		return d[i] != 0
	case []complex128:
		return d[i] != 0
	case []int64:
		return d[i] != 0
	case []uint64:
		return d[i] != 0
	}
	return t.Float64At(i) != 0
}

// nonZeroKernel: NonZero(X) returns the coordinates of non-zero elements as
// int64 [rank, count].
func nonZeroKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	var hits [][]int64
	forEachIndex(x.Shape, func(pos int, c []int64) {
		if isNonZero(x, pos) {
			hits = append(hits, append([]int64{}, c...))
		}
	})
	nz := int64(len(hits))
	data := make([]int64, int64(r)*nz)
	for j, c := range hits {
		for d, v := range c {
			data[int64(d)*nz+int64(j)] = v
		}
	}
	return []*ir.Tensor{ir.FromInt64([]int64{int64(r), nz}, data)}, nil
}

// oneHotKernel: OneHot(indices, depth, values) inserts a depth-long axis
// holding values[1] at each index and values[0] elsewhere.
func oneHotKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	it, dt, vt := in[0], in[1], in[2]
	if dt.Len() != 1 {
		return nil, fmt.Errorf("input 1 (depth) has %d elements, want a scalar", dt.Len())
	}
	if dt.DType == ir.String || dt.DType == ir.Bool {
		return nil, fmt.Errorf("input 1 (depth) has dtype %s, want a number", dt.DType)
	}
	df := dt.Float64At(0)
	if math.IsNaN(df) || df < 1 || df > ir.MaxElements {
		return nil, fmt.Errorf("input 1 (depth) is %v, want a positive count", df)
	}
	depth := int64(df)
	if vt.Len() != 2 {
		return nil, fmt.Errorf("input 2 (values) has %d elements, want 2 ([off, on])", vt.Len())
	}
	if it.DType == ir.String || it.DType == ir.Bool {
		return nil, fmt.Errorf("input 0 (indices) has dtype %s, want a number", it.DType)
	}
	r := len(it.Shape)
	axis := n.AttrInt("axis", -1)
	if axis < -int64(r+1) || axis > int64(r) {
		return nil, fmt.Errorf("axis %d out of range for output rank %d", axis, r+1)
	}
	if axis < 0 {
		axis += int64(r + 1)
	}
	out := append(append(append([]int64{}, it.Shape[:axis]...), depth), it.Shape[axis:]...)
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	ind := make([]int64, it.Len())
	for i := range ind {
		v := int64(it.Float64At(i))
		if v < 0 {
			v += depth
		}
		ind[i] = v
	}
	outer := ir.NumElements(it.Shape[:axis])
	inner := ir.NumElements(it.Shape[axis:])
	idx := make([]int, ir.NumElements(out))
	p := 0
	for o := int64(0); o < outer; o++ {
		for d := int64(0); d < depth; d++ {
			for j := int64(0); j < inner; j++ {
				if ind[o*inner+j] == d {
					idx[p] = 1
				}
				p++
			}
		}
	}
	return []*ir.Tensor{takeElems(vt, out, idx, nil)}, nil
}

// uniqueKernel: Unique(X) with sorted and optional axis; outputs Y,
// indices (first occurrences), inverse_indices and counts.
func uniqueKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	if x.DType == ir.Complex64 || x.DType == ir.Complex128 {
		return nil, fmt.Errorf("input 0 has dtype %s, which has no order", x.DType)
	}
	shape := []int64{int64(x.Len())}
	axis := 0
	if n.HasAttr("axis") {
		var err error
		if axis, err = normAxis(n.AttrInt("axis", 0), len(x.Shape)); err != nil {
			return nil, err
		}
		shape = x.Shape
	}
	dim := int(shape[axis])
	outer := int(ir.NumElements(shape[:axis]))
	inner := int(ir.NumElements(shape[axis+1:]))
	// elem returns the flat position of element e of slice s.
	elem := func(s, e int) int { return (e/inner*dim+s)*inner + e%inner }
	size := outer * inner
	cmpSlices := func(a, b int) int {
		for e := 0; e < size; e++ {
			if c := elemCompare(x, elem(a, e), elem(b, e)); c != 0 {
				return c
			}
		}
		return 0
	}
	// Stable sort of slice positions groups equal slices with their first
	// occurrence leading each group.
	byVal := make([]int, dim)
	for i := range byVal {
		byVal[i] = i
	}
	sort.SliceStable(byVal, func(i, j int) bool { return cmpSlices(byVal[i], byVal[j]) < 0 })
	group := make([]int, dim) // slice position -> group leader (first occurrence)
	for i, s := range byVal {
		if i > 0 && cmpSlices(byVal[i-1], s) == 0 {
			group[s] = group[byVal[i-1]]
		} else {
			group[s] = s
		}
	}
	var firsts []int // first occurrence of each unique slice, in order of appearance
	id := map[int]int{}
	inverse := make([]int64, dim)
	for s := 0; s < dim; s++ {
		g := group[s]
		u, ok := id[g]
		if !ok {
			u = len(firsts)
			id[g] = u
			firsts = append(firsts, g)
		}
		inverse[s] = int64(u)
	}
	order := make([]int, len(firsts)) // output position -> unique id
	for i := range order {
		order[i] = i
	}
	if n.AttrInt("sorted", 1) != 0 {
		sort.SliceStable(order, func(i, j int) bool { return cmpSlices(firsts[order[i]], firsts[order[j]]) < 0 })
	}
	rank := make([]int64, len(order))
	for p, u := range order {
		rank[u] = int64(p)
	}
	counts := make([]int64, len(order))
	for s := range inverse {
		inverse[s] = rank[inverse[s]]
		counts[inverse[s]]++
	}
	indices := make([]int64, len(order))
	for p, u := range order {
		indices[p] = int64(firsts[u])
	}
	yShape := append([]int64{}, shape...)
	yShape[axis] = int64(len(order))
	idx := make([]int, 0, int(ir.NumElements(yShape)))
	for o := 0; o < outer; o++ {
		for _, s := range indices {
			for j := 0; j < inner; j++ {
				idx = append(idx, (o*dim+int(s))*inner+j)
			}
		}
	}
	k := []int64{int64(len(order))}
	return numOutputs(n,
		takeElems(x, yShape, idx, nil),
		ir.FromInt64(k, indices),
		ir.FromInt64([]int64{int64(dim)}, inverse),
		ir.FromInt64(append([]int64{}, k...), counts)), nil
}

// elementIndices maps each position of the indices tensor it to the flat
// offset in x it addresses along axis (GatherElements reads there,
// ScatterElements writes there); negative indices count from the end.
func elementIndices(x, it *ir.Tensor, axis int) ([]int, error) {
	ind, err := intsOf(it, "input 1 (indices)")
	if err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	idx := make([]int, len(ind))
	var bad error
	forEachIndex(it.Shape, func(pos int, c []int64) {
		if bad != nil {
			return
		}
		k, err := fixIndex(ind[pos], x.Shape[axis], "input 1 (indices)")
		if err != nil {
			bad = err
			return
		}
		s := int64(0)
		for d, v := range c {
			if d == axis {
				v = k
			}
			s += v * str[d]
		}
		idx[pos] = int(s)
	})
	return idx, bad
}
