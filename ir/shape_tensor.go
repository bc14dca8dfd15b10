package ir

import (
	"fmt"
	"math"
)

// Shape functions for data movement ops (reshapes, slicing, gathers,
// padding, tiling). Ops whose output shape depends on an input's values
// read it from Value.Const when it is constant, and otherwise give unknown
// dims, keeping the rank when it is still known.

// inferReshape resolves 0 (copy, unless allowzero) and -1 (infer) entries
// of a constant shape; a -1 can resolve to a symbolic dim when the symbols
// on both sides cancel (Reshape [N,3,4] to [-1,12] gives [N,12]).
func inferReshape(n *Node) ([]Type, error) {
	x := in0(n)
	target, ok := shapeValsOf(n, 1)
	if !ok {
		if l := inputLen(n, 1); l >= 0 {
			if l > maxRank {
				return nil, errf(n, "shape input has %d entries, want at most %d", l, maxRank)
			}
			if l == 1 && x.Ranked {
				// A 1-D result holds every element, whatever the value says.
				return one(ranked(x.DType, Shape{productDims(x.Shape)}))
			}
			return one(ranked(x.DType, unknownDims(int(l))))
		}
		return one(unranked(x.DType))
	}
	if len(target) > maxRank {
		return nil, errf(n, "shape has %d entries, want at most %d", len(target), maxRank)
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	out := make(Shape, len(target))
	infer := -1
	for i, sv := range target {
		v := sv.v
		switch {
		case !sv.known:
			out[i] = sv.dim()
		case v == -1:
			if infer >= 0 {
				return nil, errf(n, "shape %v has more than one -1; at most one dim can be inferred", shapeVals{vals: target})
			}
			infer = i
		case v == 0 && !allowZero:
			if !x.Ranked {
				out[i] = Unknown()
			} else if i >= len(x.Shape) {
				return nil, errf(n, "shape %v copies dim %d (a 0 entry), but input 0 has rank %d", shapeVals{vals: target}, i, len(x.Shape))
			} else {
				out[i] = x.Shape[i]
			}
		case v < -1:
			return nil, errf(n, "shape %v has entry %d, want >= -1", shapeVals{vals: target}, v)
		default:
			d, err := dimFromInt(n, fmt.Sprintf("shape[%d]", i), v)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
	}
	if !x.Ranked {
		if infer >= 0 {
			out[infer] = Unknown()
		}
		return one(ranked(x.DType, out))
	}
	// Cancel the symbols and known sizes of both sides.
	inKnown, inSyms, inUnknown := splitDims(x.Shape)
	outDims := make(Shape, 0, len(out))
	for i, d := range out {
		if i != infer {
			outDims = append(outDims, d)
		}
	}
	outKnown, outSyms, outUnknown := splitDims(outDims)
	for s, c := range outSyms {
		k := min(c, inSyms[s])
		inSyms[s] -= k
		outSyms[s] -= k
	}
	symsLeft := func(m map[string]int) []string {
		var l []string
		for s, c := range m {
			for ; c > 0; c-- {
				l = append(l, s)
			}
		}
		return l
	}
	inLeft, outLeft := symsLeft(inSyms), symsLeft(outSyms)
	exact := inUnknown == 0 && outUnknown == 0 && len(outLeft) == 0
	if infer >= 0 {
		out[infer] = Unknown()
		if exact && len(inLeft) == 0 {
			if outKnown == 0 {
				if inKnown != 0 {
					return nil, errf(n, "cannot infer the -1 dim of shape %v: the other dims hold 0 elements but input 0 %s holds %d",
						shapeVals{vals: target}, x.Shape, inKnown)
				}
			} else if inKnown%outKnown != 0 {
				return nil, errf(n, "cannot reshape %s (%d elements) to %v: %d is not a multiple of %d",
					x.Shape, inKnown, shapeVals{vals: target}, inKnown, outKnown)
			} else {
				out[infer] = D(inKnown / outKnown)
			}
		} else if exact && len(inLeft) == 1 && inKnown == outKnown {
			out[infer] = Sym(inLeft[0])
		}
	} else if exact && len(inLeft) == 0 && inKnown != outKnown {
		return nil, errf(n, "cannot reshape %s (%d elements) to %v (%d elements); element counts must match",
			x.Shape, inKnown, shapeVals{vals: target}, outKnown)
	}
	return one(ranked(x.DType, out))
}

// splitDims returns the product of the known dims (saturating at
// MaxElements+1), a multiset of symbols, and the count of unknown dims.
func splitDims(s Shape) (int64, map[string]int, int) {
	known, syms, unknown := int64(1), map[string]int{}, 0
	for _, d := range s {
		switch {
		case d.Known():
			if d.Size != 0 && known > MaxElements/d.Size {
				known = MaxElements + 1
			} else {
				known *= d.Size
			}
		case d.Param != "":
			syms[d.Param]++
		default:
			unknown++
		}
	}
	return known, syms, unknown
}

// productDims multiplies dims, keeping a single symbol when the rest are 1.
func productDims(s Shape) Dim {
	out := D(1)
	for _, d := range s {
		out = mulDims(out, d)
	}
	return out
}

// inferFlatten: [prod(dims[:axis]), prod(dims[axis:])].
func inferFlatten(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(ranked(x.DType, unknownDims(2)))
	}
	r := len(x.Shape)
	axis := n.AttrInt("axis", 1)
	if axis < -int64(r) || axis > int64(r) {
		return nil, errf(n, "axis %d is out of range for rank %d, want in [%d, %d]", axis, r, -r, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return one(ranked(x.DType, Shape{productDims(x.Shape[:axis]), productDims(x.Shape[axis:])}))
}

// inferSqueeze removes the listed axes (or every dim of size 1).
func inferSqueeze(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if n.Input(1) == nil {
		var out Shape
		for _, d := range x.Shape {
			if !d.Known() {
				return one(unranked(x.DType)) // cannot tell whether it is 1
			}
			if d.Size != 1 {
				out = append(out, d)
			}
		}
		if out == nil {
			out = Shape{}
		}
		return one(ranked(x.DType, out))
	}
	axes, ok := constInts(n, 1)
	if !ok {
		if l := inputLen(n, 1); l >= 0 && l <= int64(r) {
			return one(ranked(x.DType, unknownDims(r-int(l))))
		}
		return one(unranked(x.DType))
	}
	norm, err := normAxes(n, "axes", axes, r)
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}
	for _, a := range norm {
		if d := x.Shape[a]; d.Known() && d.Size != 1 {
			return nil, errf(n, "cannot squeeze axis %d of shape %s: its size is %d, want 1", a, x.Shape, d.Size)
		}
		drop[a] = true
	}
	out := Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return one(ranked(x.DType, out))
}

// inferUnsqueeze inserts size-1 dims at the listed output axes.
func inferUnsqueeze(n *Node) ([]Type, error) {
	x := in0(n)
	axes, ok := constInts(n, 1)
	if !ok {
		if l := inputLen(n, 1); l >= 0 && x.Ranked && int64(len(x.Shape))+l <= maxRank {
			return one(ranked(x.DType, unknownDims(len(x.Shape)+int(l))))
		}
		return one(unranked(x.DType))
	}
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape) + len(axes)
	if r > maxRank {
		return nil, errf(n, "output rank %d exceeds %d", r, maxRank)
	}
	norm, err := normAxes(n, "axes", axes, r)
	if err != nil {
		return nil, err
	}
	ins := map[int]bool{}
	for _, a := range norm {
		ins[a] = true
	}
	out := make(Shape, r)
	j := 0
	for i := range out {
		if ins[i] {
			out[i] = D(1)
		} else {
			out[i] = x.Shape[j]
			j++
		}
	}
	return one(ranked(x.DType, out))
}

// inferTranspose permutes the dims (reversing them by default).
func inferTranspose(n *Node) ([]Type, error) {
	x := in0(n)
	perm := n.AttrInts("perm", nil)
	if !x.Ranked {
		if perm != nil {
			return one(ranked(x.DType, unknownDims(len(perm))))
		}
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if perm == nil {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if len(perm) != r {
		return nil, errf(n, "perm %v has %d entries, want %d (the input rank)", perm, len(perm), r)
	}
	seen := make([]bool, r)
	out := make(Shape, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, errf(n, "perm %v is not a permutation of 0..%d", perm, r-1)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	return one(ranked(x.DType, out))
}

// inferConcat sums the axis dim and unifies the others.
func inferConcat(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	var out Shape
	axis, r := 0, -1
	anyUnranked := false
	for i := range n.Inputs {
		t, ok := in(n, i)
		if !ok {
			return nil, errf(n, "input %d is missing; Concat inputs cannot be omitted", i)
		}
		if !t.Ranked {
			anyUnranked = true
			continue
		}
		if r < 0 {
			r = len(t.Shape)
			a, err := normAxis(n, "axis", n.AttrInt("axis", 0), r)
			if err != nil {
				return nil, err
			}
			axis = a
			out = cloneShape(t.Shape)
			continue
		}
		if len(t.Shape) != r {
			return nil, errf(n, "input %d has rank %d, want %d (same as the first ranked input)", i, len(t.Shape), r)
		}
		for j, d := range t.Shape {
			if j == axis {
				out[j] = addDims(out[j], d)
				continue
			}
			u, ok := unifyDim(out[j], d)
			if !ok {
				return nil, errf(n, "input %d has shape %s: dim %d is %s, want %s (the other inputs; only axis %d may differ)",
					i, t.Shape, j, d, out[j], axis)
			}
			out[j] = u
		}
	}
	if r < 0 {
		return one(unranked(dt))
	}
	if anyUnranked {
		out[axis] = Unknown()
	}
	return one(ranked(dt, out))
}

// inferSplit gives each output its slice of the axis dim.
func inferSplit(n *Node) ([]Type, error) {
	x := in0(n)
	k := len(n.Outputs)
	types := make([]Type, k)
	for i := range types {
		types[i] = unranked(x.DType)
	}
	if !x.Ranked {
		return types, nil
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	sizes := make([]Dim, k)
	for i := range sizes {
		sizes[i] = Unknown()
	}
	split, constSplit := constInts(n, 1)
	switch {
	case constSplit:
		if len(split) != k {
			return nil, errf(n, "split %v has %d entries, want %d (one per output)", split, len(split), k)
		}
		sum := int64(0)
		for i, v := range split {
			d, err := dimFromInt(n, fmt.Sprintf("split[%d]", i), v)
			if err != nil {
				return nil, err
			}
			sizes[i] = d
			sum += v
		}
		if dim.Known() && sum != dim.Size {
			return nil, errf(n, "split %v sums to %d, want %d (axis %d of %s)", split, sum, dim.Size, axis, x.Shape)
		}
	case n.Input(1) != nil:
		// sizes unknown
	case n.HasAttr("num_outputs"):
		num := n.AttrInt("num_outputs", 0)
		if num != int64(k) {
			return nil, errf(n, "attribute num_outputs is %d, but the node has %d outputs", num, k)
		}
		if dim.Known() {
			chunk := (dim.Size + num - 1) / num
			for i := range sizes {
				sizes[i] = D(max(0, min(chunk, dim.Size-int64(i)*chunk)))
			}
		}
	default:
		if dim.Known() {
			if dim.Size%int64(k) != 0 {
				return nil, errf(n, "axis %d of %s has size %d, not divisible into %d equal outputs; give split sizes",
					axis, x.Shape, dim.Size, k)
			}
			for i := range sizes {
				sizes[i] = D(dim.Size / int64(k))
			}
		} else if k == 1 {
			sizes[0] = dim
		}
	}
	for i := range types {
		s := cloneShape(x.Shape)
		s[axis] = sizes[i]
		types[i] = ranked(x.DType, s)
	}
	return types, nil
}

// inferSlice applies ONNX's clamping rules to constant starts/ends/steps.
func inferSlice(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	out := cloneShape(x.Shape)
	starts, ok1 := constInts(n, 1)
	ends, ok2 := constInts(n, 2)
	var axes []int64
	okAxes := true
	if n.Input(3) != nil {
		axes, okAxes = constInts(n, 3)
	}
	if !okAxes {
		return one(ranked(x.DType, unknownDims(r)))
	}
	if !ok1 || !ok2 {
		if axes == nil {
			return one(ranked(x.DType, unknownDims(r)))
		}
		norm, err := normAxes(n, "axes", axes, r)
		if err != nil {
			return nil, err
		}
		for _, a := range norm {
			out[a] = Unknown()
		}
		return one(ranked(x.DType, out))
	}
	if len(starts) != len(ends) {
		return nil, errf(n, "starts has %d entries and ends %d, want the same count", len(starts), len(ends))
	}
	if axes == nil {
		if len(starts) > r {
			return nil, errf(n, "starts has %d entries, want at most %d (the input rank)", len(starts), r)
		}
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(axes) != len(starts) {
		return nil, errf(n, "axes has %d entries, want %d (same as starts)", len(axes), len(starts))
	}
	norm, err := normAxes(n, "axes", axes, r)
	if err != nil {
		return nil, err
	}
	steps := make([]int64, len(starts))
	for i := range steps {
		steps[i] = 1
	}
	if n.Input(4) != nil {
		s, ok := constInts(n, 4)
		if !ok {
			for _, a := range norm {
				out[a] = Unknown()
			}
			return one(ranked(x.DType, out))
		}
		if len(s) != len(starts) {
			return nil, errf(n, "steps has %d entries, want %d (same as starts)", len(s), len(starts))
		}
		steps = s
	}
	for i, a := range norm {
		st, en, step := starts[i], ends[i], steps[i]
		if step == 0 {
			return nil, errf(n, "steps[%d] is 0, want a non-zero step", i)
		}
		d := x.Shape[a]
		if !d.Known() {
			if st == 0 && step == 1 && en >= MaxElements {
				continue // the whole dim: keep it, symbol and all
			}
			out[a] = Unknown()
			continue
		}
		out[a] = D(sliceCount(st, en, step, d.Size))
	}
	return one(ranked(x.DType, out))
}

// sliceCount is the number of elements Slice selects from a dim of size dim.
func sliceCount(start, end, step, dim int64) int64 {
	if start < 0 {
		start = max(start, -dim-1) + dim
	}
	if end < 0 {
		end = max(end, -dim-1) + dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
		if end <= start {
			return 0
		}
		return (end - start + step - 1) / step
	}
	start = min(max(start, 0), dim-1)
	end = min(max(end, -1), dim-1)
	if start <= end {
		return 0
	}
	s := -step
	if s < 0 { // step == MinInt64
		return 1
	}
	return (start - end + s - 1) / s
}

// shapeDims turns shape values into dims (Expand, ConstantOfShape);
// known values must be valid sizes.
func shapeDims(n *Node, what string, v []shapeVal) (Shape, error) {
	if len(v) > maxRank {
		return nil, errf(n, "%s has %d entries, want at most %d", what, len(v), maxRank)
	}
	s := make(Shape, len(v))
	for i, x := range v {
		if !x.known {
			s[i] = x.dim()
			continue
		}
		d, err := dimFromInt(n, fmt.Sprintf("%s[%d]", what, i), x.v)
		if err != nil {
			return nil, err
		}
		s[i] = d
	}
	return s, nil
}

// inferExpand broadcasts the input against the target shape.
func inferExpand(n *Node) ([]Type, error) {
	x := in0(n)
	v, ok := shapeValsOf(n, 1)
	if !ok {
		if l := inputLen(n, 1); l >= 0 && x.Ranked && l <= maxRank {
			return one(ranked(x.DType, unknownDims(max(len(x.Shape), int(l)))))
		}
		return one(unranked(x.DType))
	}
	target, err := shapeDims(n, "shape", v)
	if err != nil {
		return nil, err
	}
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	s, err := broadcastShapes(x.Shape, target)
	if err != nil {
		return nil, errf(n, "cannot expand %s to %v: %v", x.Shape, shapeVals{vals: v}, err)
	}
	return one(ranked(x.DType, s))
}

// inferTile multiplies each dim by its repeat count.
func inferTile(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	rep, ok := constInts(n, 1)
	if !ok {
		return one(ranked(x.DType, unknownDims(r)))
	}
	if len(rep) != r {
		return nil, errf(n, "repeats has %d entries, want %d (the input rank)", len(rep), r)
	}
	out := make(Shape, r)
	for i, k := range rep {
		kd, err := dimFromInt(n, fmt.Sprintf("repeats[%d]", i), k)
		if err != nil {
			return nil, err
		}
		out[i] = mulDims(x.Shape[i], kd)
	}
	return one(ranked(x.DType, out))
}

// inferPad adds the begin and end pads of each padded axis.
func inferPad(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	switch m := n.AttrString("mode", "constant"); m {
	case "constant", "reflect", "edge", "wrap":
	default:
		return nil, errf(n, "attribute mode is %q, want constant, reflect, edge or wrap", m)
	}
	r := len(x.Shape)
	pads, ok := constInts(n, 1)
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	if n.Input(3) != nil {
		a, okA := constInts(n, 3)
		if !okA {
			return one(ranked(x.DType, unknownDims(r)))
		}
		axes = a
	}
	norm, err := normAxes(n, "axes", axes, r)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	if !ok {
		for _, a := range norm {
			out[a] = Unknown()
		}
		return one(ranked(x.DType, out))
	}
	if len(pads) != 2*len(norm) {
		return nil, errf(n, "pads has %d entries, want %d (begin and end for each of %d axes)", len(pads), 2*len(norm), len(norm))
	}
	for i, a := range norm {
		pb, pe := pads[i], pads[i+len(norm)]
		if pb < -MaxElements || pb > MaxElements || pe < -MaxElements || pe > MaxElements {
			return nil, errf(n, "pads %v are absurdly large", pads)
		}
		d := x.Shape[a]
		if !d.Known() {
			if pb != 0 || pe != 0 {
				out[a] = Unknown()
			}
			continue
		}
		if out[a], err = dimFromInt(n, fmt.Sprintf("padded axis %d (%d%+d%+d)", a, d.Size, pb, pe), d.Size+pb+pe); err != nil {
			return nil, err
		}
	}
	return one(ranked(x.DType, out))
}

// blockSize reads and checks the blocksize attribute.
func blockSize(n *Node) (int64, error) {
	b := n.AttrInt("blocksize", 0)
	if b < 1 || b > MaxElements {
		return 0, errf(n, "attribute blocksize is %d, want >= 1", b)
	}
	return b, nil
}

// inferDepthToSpace: [N, C/(b*b), H*b, W*b].
func inferDepthToSpace(n *Node) ([]Type, error) {
	x := in0(n)
	b, err := blockSize(n)
	if err != nil {
		return nil, err
	}
	if m := n.AttrString("mode", "DCR"); m != "DCR" && m != "CRD" {
		return nil, errf(n, "attribute mode is %q, want DCR or CRD", m)
	}
	if !x.Ranked {
		return one(ranked(x.DType, unknownDims(4)))
	}
	if len(x.Shape) != 4 {
		return nil, errf(n, "input 0 has rank %d, want 4 ([N, C, H, W])", len(x.Shape))
	}
	c := Unknown()
	if d := x.Shape[1]; d.Known() {
		if b > MaxElements/b || d.Size%(b*b) != 0 {
			return nil, errf(n, "input 0 has %d channels, want a multiple of blocksize^2 = %d*%d", d.Size, b, b)
		}
		c = D(d.Size / (b * b))
	}
	return one(ranked(x.DType, Shape{x.Shape[0], c, mulDims(x.Shape[2], D(b)), mulDims(x.Shape[3], D(b))}))
}

// inferSpaceToDepth: [N, C*b*b, H/b, W/b].
func inferSpaceToDepth(n *Node) ([]Type, error) {
	x := in0(n)
	b, err := blockSize(n)
	if err != nil {
		return nil, err
	}
	if !x.Ranked {
		return one(ranked(x.DType, unknownDims(4)))
	}
	if len(x.Shape) != 4 {
		return nil, errf(n, "input 0 has rank %d, want 4 ([N, C, H, W])", len(x.Shape))
	}
	out := Shape{x.Shape[0], mulDims(x.Shape[1], mulDims(D(b), D(b))), Unknown(), Unknown()}
	for i := 2; i < 4; i++ {
		if d := x.Shape[i]; d.Known() {
			if d.Size%b != 0 {
				return nil, errf(n, "input 0 dim %d is %d, want a multiple of blocksize %d", i, d.Size, b)
			}
			out[i] = D(d.Size / b)
		}
	}
	return one(ranked(x.DType, out))
}

// inferGather: data[:axis] + indices + data[axis+1:].
func inferGather(n *Node) ([]Type, error) {
	x := in0(n)
	idx, _ := in(n, 1)
	if !x.Ranked || !idx.Ranked {
		return one(unranked(x.DType))
	}
	if len(x.Shape) == 0 {
		return nil, errf(n, "input 0 is a scalar, want rank >= 1")
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	if v, ok := constInts(n, 1); ok && x.Shape[axis].Known() {
		d := x.Shape[axis].Size
		for _, i := range v {
			if i < -d || i >= d {
				return nil, errf(n, "index %d is out of range for axis %d of size %d, want in [%d, %d]", i, axis, d, -d, d-1)
			}
		}
	}
	out := append(append(cloneShape(x.Shape[:axis]), idx.Shape...), x.Shape[axis+1:]...)
	if len(out) > maxRank {
		return nil, errf(n, "output rank %d exceeds %d", len(out), maxRank)
	}
	return one(ranked(x.DType, out))
}

// inferGatherElements: the indices' shape.
func inferGatherElements(n *Node) ([]Type, error) {
	x := in0(n)
	idx, _ := in(n, 1)
	if !idx.Ranked {
		return one(unranked(x.DType))
	}
	if x.Ranked {
		if len(idx.Shape) != len(x.Shape) {
			return nil, errf(n, "indices have rank %d, want %d (same as input 0)", len(idx.Shape), len(x.Shape))
		}
		if _, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape)); err != nil {
			return nil, err
		}
	}
	return one(ranked(x.DType, cloneShape(idx.Shape)))
}

// inferGatherND: data[:b] + indices[b:-1] + data[b+k:], k = indices[-1].
func inferGatherND(n *Node) ([]Type, error) {
	x := in0(n)
	idx, _ := in(n, 1)
	if !x.Ranked || !idx.Ranked {
		return one(unranked(x.DType))
	}
	b := n.AttrInt("batch_dims", 0)
	r, q := int64(len(x.Shape)), int64(len(idx.Shape))
	if q < 1 || r < 1 {
		return nil, errf(n, "inputs have ranks %d and %d, want >= 1 each", r, q)
	}
	if b < 0 || b >= min(r, q) {
		return nil, errf(n, "batch_dims is %d, want in [0, %d)", b, min(r, q))
	}
	last := idx.Shape[q-1]
	if !last.Known() {
		return one(unranked(x.DType))
	}
	k := last.Size
	if k < 1 || b+k > r {
		return nil, errf(n, "indices last dim is %d, want in [1, %d] (data rank %d - batch_dims %d)", k, r-b, r, b)
	}
	out := cloneShape(x.Shape[:b])
	out = append(out, idx.Shape[b:q-1]...)
	out = append(out, x.Shape[b+k:]...)
	return one(ranked(x.DType, out))
}

// inferCompress: a data-dependent length along axis (or flattened).
func inferCompress(n *Node) ([]Type, error) {
	x := in0(n)
	if !n.HasAttr("axis") {
		return one(ranked(x.DType, Shape{Unknown()}))
	}
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	out[axis] = Unknown()
	if c := n.Input(1); c != nil && c.Const != nil {
		if bs, ok := c.Const.Data.([]bool); ok && x.Shape[axis].Known() {
			cnt := int64(0)
			for i, v := range bs {
				if int64(i) < x.Shape[axis].Size && v {
					cnt++
				}
			}
			out[axis] = D(cnt)
		}
	}
	return one(ranked(x.DType, out))
}

// inferNonZero: [rank, count], count data-dependent.
func inferNonZero(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(ranked(Int64, unknownDims(2)))
	}
	return one(ranked(Int64, Shape{D(int64(len(x.Shape))), Unknown()}))
}

// inferUnique: data-dependent lengths.
func inferUnique(n *Node) ([]Type, error) {
	x := in0(n)
	y := ranked(x.DType, Shape{Unknown()})
	inv := ranked(Int64, Shape{Unknown()})
	if n.HasAttr("axis") {
		if !x.Ranked {
			y = unranked(x.DType)
		} else {
			axis, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape))
			if err != nil {
				return nil, err
			}
			s := cloneShape(x.Shape)
			s[axis] = Unknown()
			y = ranked(x.DType, s)
			inv = ranked(Int64, Shape{x.Shape[axis]})
		}
	} else if x.Ranked {
		inv = ranked(Int64, Shape{productDims(x.Shape)})
	}
	return []Type{y, ranked(Int64, Shape{Unknown()}), inv, ranked(Int64, Shape{Unknown()})}, nil
}

// inferOneHot inserts the depth dim at axis.
func inferOneHot(n *Node) ([]Type, error) {
	dt := firstDType(n, 2)
	idx := in0(n)
	if !idx.Ranked {
		return one(unranked(dt))
	}
	r := len(idx.Shape) + 1
	axis, err := normAxis(n, "axis", n.AttrInt("axis", -1), r)
	if err != nil {
		return nil, err
	}
	depth := Unknown()
	if v, ok := constFloats(n, 1); ok {
		if len(v) != 1 {
			return nil, errf(n, "depth has %d elements, want a scalar", len(v))
		}
		if math.IsNaN(v[0]) || v[0] < 1 || v[0] > MaxElements {
			return nil, errf(n, "depth is %g, want >= 1", v[0])
		}
		depth = D(int64(v[0]))
	}
	out := make(Shape, 0, r)
	out = append(out, idx.Shape[:axis]...)
	out = append(out, depth)
	out = append(out, idx.Shape[axis:]...)
	return one(ranked(dt, out))
}

// inferTopK sets the axis dim to K.
func inferTopK(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return []Type{unranked(x.DType), unranked(Int64)}, nil
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	out[axis] = Unknown()
	if k, ok := constInts(n, 1); ok {
		if len(k) != 1 {
			return nil, errf(n, "K has %d elements, want 1", len(k))
		}
		if k[0] < 0 {
			return nil, errf(n, "K is %d, want >= 0", k[0])
		}
		if d := x.Shape[axis]; d.Known() && k[0] > d.Size {
			return nil, errf(n, "K is %d, larger than axis %d of size %d", k[0], axis, d.Size)
		}
		if out[axis], err = dimFromInt(n, "K", k[0]); err != nil {
			return nil, err
		}
	}
	return []Type{ranked(x.DType, out), ranked(Int64, cloneShape(out))}, nil
}

// inferShape: [end-start] after ONNX's clamping.
func inferShape(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(ranked(Int64, Shape{Unknown()}))
	}
	r := int64(len(x.Shape))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start := clamp(n.AttrInt("start", 0))
	end := r
	if n.HasAttr("end") {
		end = clamp(n.AttrInt("end", r))
	}
	return one(ranked(Int64, Shape{D(max(0, end-start))}))
}

// inferSize: an i64 scalar.
func inferSize(n *Node) ([]Type, error) { return one(ranked(Int64, Shape{})) }

// inferConstantOfShape: dtype of the value attribute (f32 by default),
// shape from the input's values.
func inferConstantOfShape(n *Node) ([]Type, error) {
	dt := Float32
	if t := n.AttrTensor("value"); t != nil {
		if l := t.DataLen(); l >= 0 && l != 1 {
			return nil, errf(n, "attribute value has %d elements, want 1", l)
		}
		dt = t.DType
	}
	if v, ok := shapeValsOf(n, 0); ok {
		s, err := shapeDims(n, "shape", v)
		if err != nil {
			return nil, err
		}
		return one(ranked(dt, s))
	}
	if l := inputLen(n, 0); l >= 0 && l <= maxRank {
		return one(ranked(dt, unknownDims(int(l))))
	}
	return one(unranked(dt))
}

// inferRange: [max(ceil((limit-start)/delta), 0)].
func inferRange(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	st, ok1 := constFloats(n, 0)
	li, ok2 := constFloats(n, 1)
	de, ok3 := constFloats(n, 2)
	if !ok1 || !ok2 || !ok3 {
		// Range(0, n, 1) has length n, even when n is a symbol.
		if l, ok := shapeValsOf(n, 1); ok && ok1 && ok3 && len(l) == 1 && len(st) == 1 && st[0] == 0 && len(de) == 1 && de[0] == 1 {
			return one(ranked(dt, Shape{l[0].dim()}))
		}
		return one(ranked(dt, Shape{Unknown()}))
	}
	if len(st) != 1 || len(li) != 1 || len(de) != 1 {
		return nil, errf(n, "start, limit and delta have %d, %d, %d elements, want scalars", len(st), len(li), len(de))
	}
	if de[0] == 0 {
		return nil, errf(n, "delta is 0, want non-zero")
	}
	c := math.Ceil((li[0] - st[0]) / de[0])
	if math.IsNaN(c) {
		return nil, errf(n, "range (%g, %g, %g) has no defined length", st[0], li[0], de[0])
	}
	c = max(c, 0)
	if c > MaxElements {
		return nil, errf(n, "range (%g, %g, %g) has %g elements, more than 2^31", st[0], li[0], de[0], c)
	}
	return one(ranked(dt, Shape{D(int64(c))}))
}

// inferEyeLike: the input's 2-D shape, dtype from the attribute or input.
func inferEyeLike(n *Node) ([]Type, error) {
	x := in0(n)
	dt := x.DType
	if n.HasAttr("dtype") {
		var err error
		if dt, err = dtypeAttr(n, "dtype", Undefined); err != nil {
			return nil, err
		}
	}
	if x.Ranked && len(x.Shape) != 2 {
		return nil, errf(n, "input 0 has rank %d, want 2", len(x.Shape))
	}
	if !x.Ranked {
		return one(ranked(dt, unknownDims(2)))
	}
	return one(ranked(dt, cloneShape(x.Shape)))
}
