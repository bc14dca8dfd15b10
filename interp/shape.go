package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// reshapeKernel: Reshape(data, shape). A 0 in shape copies the input dim
// (unless allowzero=1, when it means an empty dim); one -1 is inferred.
func reshapeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	shp, err := ints1D(in[1], "input 1 (shape)")
	if err != nil {
		return nil, err
	}
	allowzero := n.AttrInt("allowzero", 0) != 0
	out := make([]int64, len(shp))
	infer := -1
	hasZero := false
	for i, d := range shp {
		switch {
		case d == 0 && !allowzero:
			if i >= len(x.Shape) {
				return nil, fmt.Errorf("input 1 (shape) %v copies dim %d, input 0 has rank %d", shp, i, len(x.Shape))
			}
			out[i] = x.Shape[i]
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("input 1 (shape) %v has more than one -1", shp)
			}
			infer = i
			out[i] = 1
		case d < 0:
			return nil, fmt.Errorf("input 1 (shape) %v has invalid dim %d", shp, d)
		default:
			if d == 0 {
				hasZero = true
			}
			out[i] = d
		}
	}
	if allowzero && hasZero && infer >= 0 {
		return nil, fmt.Errorf("input 1 (shape) %v mixes 0 and -1 with allowzero=1", shp)
	}
	prod, err := ir.CheckedNumElements(out)
	if err != nil {
		return nil, err
	}
	total := int64(x.Len())
	if infer >= 0 {
		if prod == 0 || total%prod != 0 {
			return nil, fmt.Errorf("cannot reshape input 0 (shape %v, %d elements) to %v", x.Shape, total, shp)
		}
		out[infer] = total / prod
		prod = total
	}
	if prod != total {
		return nil, fmt.Errorf("cannot reshape input 0 (shape %v, %d elements) to %v (%d elements)", x.Shape, total, out, prod)
	}
	return []*ir.Tensor{withShape(x, out)}, nil
}

// withShape returns a copy of x with a new shape of equal element count.
func withShape(x *ir.Tensor, shape []int64) *ir.Tensor {
	c := x.Clone()
	c.Shape = append([]int64{}, shape...)
	return c
}

// flattenKernel: Flatten(input) to 2-D [prod(dims[:axis]), prod(dims[axis:])].
func flattenKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	axis := n.AttrInt("axis", 1)
	if axis < -int64(r) || axis > int64(r) {
		return nil, fmt.Errorf("axis %d out of range for input 0 of rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return []*ir.Tensor{withShape(x, []int64{ir.NumElements(x.Shape[:axis]), ir.NumElements(x.Shape[axis:])})}, nil
}

// squeezeKernel: Squeeze(data, axes?) removes the listed size-1 dims, or
// every size-1 dim when axes is omitted.
func squeezeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	drop := make([]bool, r)
	if a := opt(in, 1); a != nil {
		axes, err := ints1D(a, "input 1 (axes)")
		if err != nil {
			return nil, err
		}
		ax, err := normAxes(axes, r)
		if err != nil {
			return nil, fmt.Errorf("input 1 (axes): %v", err)
		}
		for _, d := range ax {
			if x.Shape[d] != 1 {
				return nil, fmt.Errorf("input 1 (axes) squeezes dim %d of size %d (input 0 shape %v)", d, x.Shape[d], x.Shape)
			}
			drop[d] = true
		}
	} else {
		for d, s := range x.Shape {
			drop[d] = s == 1
		}
	}
	out := []int64{}
	for d, s := range x.Shape {
		if !drop[d] {
			out = append(out, s)
		}
	}
	return []*ir.Tensor{withShape(x, out)}, nil
}

// unsqueezeKernel: Unsqueeze(data, axes) inserts size-1 dims at the listed
// positions of the output.
func unsqueezeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	axes, err := ints1D(in[1], "input 1 (axes)")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape) + len(axes)
	ax, err := normAxes(axes, r)
	if err != nil {
		return nil, fmt.Errorf("input 1 (axes): %v", err)
	}
	ins := make([]bool, r)
	for _, d := range ax {
		ins[d] = true
	}
	out := make([]int64, r)
	j := 0
	for d := range out {
		if ins[d] {
			out[d] = 1
		} else {
			out[d] = x.Shape[j]
			j++
		}
	}
	return []*ir.Tensor{withShape(x, out)}, nil
}

// transposeKernel: Transpose(data) with perm (default: reversed dims).
func transposeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	perm := n.AttrInts("perm", nil)
	if perm == nil {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v has %d entries, input 0 has rank %d", perm, len(perm), r)
	}
	p, err := normAxes(perm, r)
	if err != nil {
		return nil, fmt.Errorf("perm %v: %v", perm, err)
	}
	str := strides(x.Shape)
	outShape := make([]int64, r)
	outStr := make([]int64, r)
	for i, a := range p {
		outShape[i] = x.Shape[a]
		outStr[i] = str[a]
	}
	return []*ir.Tensor{takeElems(x, outShape, stridedIndex(outShape, outStr, 0), nil)}, nil
}

// concatKernel: Concat(inputs...) along axis.
func concatKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if !n.HasAttr("axis") {
		return nil, fmt.Errorf("attribute axis is required")
	}
	x0 := in[0]
	r := len(x0.Shape)
	axis, err := normAxis(n.AttrInt("axis", 0), r)
	if err != nil {
		return nil, err
	}
	outShape := append([]int64{}, x0.Shape...)
	outShape[axis] = 0
	for i, t := range in {
		if t == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		if t.DType != x0.DType {
			return nil, fmt.Errorf("input %d has dtype %s, input 0 has %s", i, t.DType, x0.DType)
		}
		if len(t.Shape) != r {
			return nil, fmt.Errorf("input %d has rank %d (shape %v), input 0 has rank %d", i, len(t.Shape), t.Shape, r)
		}
		for d := range t.Shape {
			if d != axis && t.Shape[d] != x0.Shape[d] {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v; they differ outside axis %d", i, t.Shape, x0.Shape, axis)
			}
		}
		outShape[axis] += t.Shape[axis]
	}
	out, err := newTensor(x0.DType, outShape)
	if err != nil {
		return nil, err
	}
	outer := int(ir.NumElements(outShape[:axis]))
	inner := int(ir.NumElements(outShape[axis+1:]))
	rowOut := int(outShape[axis]) * inner
	off := 0
	for _, t := range in {
		blk := int(t.Shape[axis]) * inner
		for o := 0; o < outer; o++ {
			copyElems(out.Data, o*rowOut+off, t.Data, o*blk, blk)
		}
		off += blk
	}
	return []*ir.Tensor{out}, nil
}

// splitKernel: Split(input, split?) along axis into the node's outputs,
// sized by split, by num_outputs (last chunk smaller), or evenly.
func splitKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	axis, err := normAxis(n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	dim := x.Shape[axis]
	nout := len(n.Outputs)
	var sizes []int64
	if s := opt(in, 1); s != nil {
		sizes, err = ints1D(s, "input 1 (split)")
		if err != nil {
			return nil, err
		}
		sum := int64(0)
		for _, v := range sizes {
			if v < 0 {
				return nil, fmt.Errorf("input 1 (split) %v has a negative size", sizes)
			}
			sum += v
		}
		if sum != dim {
			return nil, fmt.Errorf("input 1 (split) %v sums to %d, input 0 dim %d is %d", sizes, sum, axis, dim)
		}
		if len(sizes) != nout {
			return nil, fmt.Errorf("input 1 (split) has %d entries, node has %d outputs", len(sizes), nout)
		}
	} else {
		num := n.AttrInt("num_outputs", int64(nout))
		if num != int64(nout) || num <= 0 {
			return nil, fmt.Errorf("num_outputs is %d, node has %d outputs", num, nout)
		}
		chunk := (dim + num - 1) / num
		if !n.HasAttr("num_outputs") && dim%num != 0 {
			return nil, fmt.Errorf("input 0 dim %d (%d) does not split evenly into %d outputs", axis, dim, num)
		}
		rest := dim
		for i := int64(0); i < num; i++ {
			c := min(chunk, rest)
			sizes = append(sizes, c)
			rest -= c
		}
	}
	outer := int(ir.NumElements(x.Shape[:axis]))
	inner := int(ir.NumElements(x.Shape[axis+1:]))
	row := int(dim) * inner
	outs := make([]*ir.Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		shp := append([]int64{}, x.Shape...)
		shp[axis] = s
		t := ir.NewTensor(x.DType, shp)
		blk := int(s) * inner
		for o := 0; o < outer; o++ {
			copyElems(t.Data, o*blk, x.Data, o*row+off, blk)
		}
		off += blk
		outs[i] = t
	}
	return outs, nil
}

// sliceKernel: Slice(data, starts, ends, axes?, steps?) with negative
// indices, clamping and negative steps.
func sliceKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	starts, err := ints1D(in[1], "input 1 (starts)")
	if err != nil {
		return nil, err
	}
	ends, err := ints1D(in[2], "input 2 (ends)")
	if err != nil {
		return nil, err
	}
	if len(ends) != len(starts) {
		return nil, fmt.Errorf("input 2 (ends) has %d elements, input 1 (starts) has %d", len(ends), len(starts))
	}
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if a := opt(in, 3); a != nil {
		if axes, err = ints1D(a, "input 3 (axes)"); err != nil {
			return nil, err
		}
		if len(axes) != len(starts) {
			return nil, fmt.Errorf("input 3 (axes) has %d elements, input 1 (starts) has %d", len(axes), len(starts))
		}
	}
	steps := make([]int64, len(starts))
	for i := range steps {
		steps[i] = 1
	}
	if s := opt(in, 4); s != nil {
		if steps, err = ints1D(s, "input 4 (steps)"); err != nil {
			return nil, err
		}
		if len(steps) != len(starts) {
			return nil, fmt.Errorf("input 4 (steps) has %d elements, input 1 (starts) has %d", len(steps), len(starts))
		}
	}
	ax, err := normAxes(axes, r)
	if err != nil {
		return nil, fmt.Errorf("input 3 (axes): %v", err)
	}
	outShape := append([]int64{}, x.Shape...)
	str := strides(x.Shape)
	outStr := append([]int64{}, str...)
	base := int64(0)
	for i, a := range ax {
		dim, step := x.Shape[a], steps[i]
		if step == 0 {
			return nil, fmt.Errorf("input 4 (steps) has a zero step for axis %d", a)
		}
		start, end := sliceBounds(starts[i], ends[i], dim, step)
		var cnt int64
		if step > 0 {
			if end > start {
				cnt = (end - start + step - 1) / step
			}
		} else if start > end {
			cnt = (start - end - step - 1) / -step
		}
		outShape[a] = cnt
		outStr[a] = str[a] * step
		if cnt > 0 {
			base += start * str[a]
		}
	}
	if ir.NumElements(outShape) == 0 {
		return []*ir.Tensor{ir.NewTensor(x.DType, outShape)}, nil
	}
	return []*ir.Tensor{takeElems(x, outShape, stridedIndex(outShape, outStr, base), nil)}, nil
}

// sliceBounds clamps one axis's start and end as ONNX Slice does.
func sliceBounds(start, end, dim, step int64) (int64, int64) {
	if start < 0 {
		start = max(start, -dim-1) + dim
	}
	if end < 0 {
		end = max(end, -dim-1) + dim
	}
	if step > 0 {
		return min(max(start, 0), dim), min(max(end, 0), dim)
	}
	return min(max(start, 0), dim-1), min(max(end, -1), dim-1)
}

// expandKernel: Expand(input, shape) broadcasts input against shape.
func expandKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	shp, err := ints1D(in[1], "input 1 (shape)")
	if err != nil {
		return nil, err
	}
	for _, d := range shp {
		if d < 0 {
			return nil, fmt.Errorf("input 1 (shape) %v has a negative dim", shp)
		}
	}
	out, err := broadcastShapes(x.Shape, shp)
	if err != nil {
		return nil, fmt.Errorf("input 1 (shape): %v", err)
	}
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	return []*ir.Tensor{takeElems(x, out, broadcastIndex(out, x.Shape), nil)}, nil
}

// tileKernel: Tile(input, repeats) repeats the input along every axis.
func tileKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	reps, err := ints1D(in[1], "input 1 (repeats)")
	if err != nil {
		return nil, err
	}
	if len(reps) != len(x.Shape) {
		return nil, fmt.Errorf("input 1 (repeats) has %d elements, input 0 has rank %d", len(reps), len(x.Shape))
	}
	out := make([]int64, len(reps))
	for i, r := range reps {
		if r < 0 {
			return nil, fmt.Errorf("input 1 (repeats) %v has a negative count", reps)
		}
		if r != 0 && x.Shape[i] > math.MaxInt64/r {
			return nil, fmt.Errorf("output dim %d overflows (%d × %d)", i, x.Shape[i], r)
		}
		out[i] = x.Shape[i] * r
	}
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	idx := make([]int, ir.NumElements(out))
	forEachIndex(out, func(pos int, c []int64) {
		s := int64(0)
		for d, v := range c {
			s += (v % x.Shape[d]) * str[d]
		}
		idx[pos] = int(s)
	})
	return []*ir.Tensor{takeElems(x, out, idx, nil)}, nil
}

// padKernel: Pad(data, pads, constant_value?, axes?) in mode constant,
// reflect, edge or wrap. Negative pads crop.
func padKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	pads, err := ints1D(in[1], "input 1 (pads)")
	if err != nil {
		return nil, err
	}
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	if a := opt(in, 3); a != nil {
		if axes, err = ints1D(a, "input 3 (axes)"); err != nil {
			return nil, err
		}
	}
	ax, err := normAxes(axes, r)
	if err != nil {
		return nil, fmt.Errorf("input 3 (axes): %v", err)
	}
	if len(pads) != 2*len(ax) {
		return nil, fmt.Errorf("input 1 (pads) has %d elements, want %d (2 per padded axis, input 0 has rank %d)", len(pads), 2*len(ax), r)
	}
	mode := n.AttrString("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge", "wrap":
	default:
		return nil, fmt.Errorf("mode %q is not one of constant, reflect, edge, wrap", mode)
	}
	var fill *ir.Tensor
	if c := opt(in, 2); c != nil && mode == "constant" {
		if c.DType != x.DType {
			return nil, fmt.Errorf("input 2 (constant_value) has dtype %s, input 0 has %s", c.DType, x.DType)
		}
		if c.Len() != 1 {
			return nil, fmt.Errorf("input 2 (constant_value) has %d elements, want 1", c.Len())
		}
		fill = c
	}
	before := make([]int64, r)
	after := make([]int64, r)
	for i, a := range ax {
		before[a], after[a] = pads[i], pads[i+len(ax)]
	}
	// Crop first (negative pads), then pad the cropped region.
	lo := make([]int64, r)
	eff := make([]int64, r)
	out := make([]int64, r)
	for d := 0; d < r; d++ {
		lo[d] = max(0, -before[d])
		eff[d] = x.Shape[d] - lo[d] - max(0, -after[d])
		if eff[d] < 0 {
			return nil, fmt.Errorf("input 1 (pads) crops more than dim %d (%d) holds", d, x.Shape[d])
		}
		out[d] = eff[d] + max(0, before[d]) + max(0, after[d])
		if mode != "constant" && eff[d] == 0 && out[d] > 0 {
			return nil, fmt.Errorf("mode %s cannot pad the empty dim %d", mode, d)
		}
	}
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	idx := make([]int, ir.NumElements(out))
	forEachIndex(out, func(pos int, c []int64) {
		s := int64(0)
		for d, v := range c {
			i := v - max(0, before[d])
			m := eff[d]
			if i < 0 || i >= m {
				switch mode {
				case "constant":
					s = -1
				case "edge":
					i = min(max(i, 0), m-1)
				case "wrap":
					i = ((i % m) + m) % m
				case "reflect":
					if m == 1 {
						i = 0
					} else {
						p := 2 * (m - 1)
						i = ((i % p) + p) % p
						if i >= m {
							i = p - i
						}
					}
				}
			}
			if s < 0 {
				break
			}
			s += (i + lo[d]) * str[d]
		}
		idx[pos] = int(s)
	})
	return []*ir.Tensor{takeElems(x, out, idx, fill)}, nil
}

// centerCropPadKernel: CenterCropPad(input, shape) crops or zero-pads the
// listed axes (attr axes, default all) around the center.
func centerCropPadKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	shp, err := ints1D(in[1], "input 1 (shape)")
	if err != nil {
		return nil, err
	}
	axes := n.AttrInts("axes", nil)
	if axes == nil {
		axes = make([]int64, r)
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	ax, err := normAxes(axes, r)
	if err != nil {
		return nil, fmt.Errorf("axes: %v", err)
	}
	if len(shp) != len(ax) {
		return nil, fmt.Errorf("input 1 (shape) has %d elements, want %d (one per axis)", len(shp), len(ax))
	}
	out := append([]int64{}, x.Shape...)
	off := make([]int64, r) // output coord - off = input coord
	for i, a := range ax {
		if shp[i] < 0 {
			return nil, fmt.Errorf("input 1 (shape) %v has a negative dim", shp)
		}
		dim := x.Shape[a]
		out[a] = shp[i]
		if shp[i] < dim {
			off[a] = -((dim - shp[i]) / 2)
		} else {
			off[a] = (shp[i] - dim) / 2
		}
	}
	if err := checkOutShape(out); err != nil {
		return nil, err
	}
	str := strides(x.Shape)
	idx := make([]int, ir.NumElements(out))
	forEachIndex(out, func(pos int, c []int64) {
		s := int64(0)
		for d, v := range c {
			i := v - off[d]
			if i < 0 || i >= x.Shape[d] {
				s = -1
				break
			}
			s += i * str[d]
		}
		idx[pos] = int(s)
	})
	return []*ir.Tensor{takeElems(x, out, idx, nil)}, nil
}

// shapeKernel: Shape(data) as int64, sliced by start/end attrs.
func shapeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := int64(len(x.Shape))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start := clamp(n.AttrInt("start", 0))
	end := clamp(n.AttrInt("end", r))
	dims := []int64{}
	if end > start {
		dims = append(dims, x.Shape[start:end]...)
	}
	return []*ir.Tensor{ir.FromInt64([]int64{int64(len(dims))}, dims)}, nil
}

// sizeKernel: Size(data), the element count as an int64 scalar.
func sizeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	return []*ir.Tensor{ir.Scalar(ir.NumElements(in[0].Shape))}, nil
}

// identityKernel: Identity(input) returns a copy.
func identityKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	return []*ir.Tensor{in[0].Clone()}, nil
}

// reverseSequenceKernel: ReverseSequence(input, sequence_lens) reverses the
// first sequence_lens[b] steps along time_axis for each batch b.
func reverseSequenceKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	if r < 2 {
		return nil, fmt.Errorf("input 0 has rank %d, want at least 2", r)
	}
	ta, err := normAxis(n.AttrInt("time_axis", 0), r)
	if err != nil {
		return nil, fmt.Errorf("time_axis: %v", err)
	}
	ba, err := normAxis(n.AttrInt("batch_axis", 1), r)
	if err != nil {
		return nil, fmt.Errorf("batch_axis: %v", err)
	}
	if ta > 1 || ba > 1 || ta == ba {
		return nil, fmt.Errorf("time_axis %d and batch_axis %d must be 0 and 1 in some order", ta, ba)
	}
	lens, err := ints1D(in[1], "input 1 (sequence_lens)")
	if err != nil {
		return nil, err
	}
	if int64(len(lens)) != x.Shape[ba] {
		return nil, fmt.Errorf("input 1 (sequence_lens) has %d elements, input 0 batch dim is %d", len(lens), x.Shape[ba])
	}
	for _, l := range lens {
		if l < 0 || l > x.Shape[ta] {
			return nil, fmt.Errorf("input 1 (sequence_lens) %v has a length outside [0, %d]", lens, x.Shape[ta])
		}
	}
	str := strides(x.Shape)
	idx := make([]int, x.Len())
	forEachIndex(x.Shape, func(pos int, c []int64) {
		t, l := c[ta], lens[c[ba]]
		if t < l {
			idx[pos] = pos + int((l-1-t-t)*str[ta])
		} else {
			idx[pos] = pos
		}
	})
	return []*ir.Tensor{takeElems(x, x.Shape, idx, nil)}, nil
}
