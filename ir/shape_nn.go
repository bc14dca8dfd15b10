package ir

import (
	"fmt"
	"strings"
)

// Shape functions for convolution, pooling, normalization, matrix
// products, recurrent networks and detection ops.

// spatialParams are the per-spatial-dim window parameters of a conv or
// pool node, with ONNX defaults filled in and validated.
type spatialParams struct {
	kernel, strides, dilations, pads []int64 // kernel entries may be -1 (unknown)
	autoPad                          string
	ceil                             bool
}

// readSpatial reads kernel_shape/strides/dilations/pads/auto_pad for sp
// spatial dims; kernel supplies the kernel when the attribute is absent.
func readSpatial(n *Node, sp int, kernel []int64) (spatialParams, error) {
	p := spatialParams{autoPad: n.AttrString("auto_pad", "NOTSET"), ceil: n.AttrInt("ceil_mode", 0) != 0}
	ints := func(name string, def int64, count int, minV int64) ([]int64, error) {
		v := n.AttrInts(name, nil)
		if v == nil {
			v = make([]int64, count)
			for i := range v {
				v[i] = def
			}
			return v, nil
		}
		if len(v) != count {
			return nil, errf(n, "attribute %s has %d values, want %d (%d spatial dims)", name, len(v), count, sp)
		}
		for _, x := range v {
			if x < minV {
				return nil, errf(n, "attribute %s is %v, want every value >= %d", name, v, minV)
			}
		}
		return v, nil
	}
	var err error
	if k := n.AttrInts("kernel_shape", nil); k != nil {
		if len(k) != sp {
			return p, errf(n, "attribute kernel_shape has %d values, want %d (%d spatial dims)", len(k), sp, sp)
		}
		for _, x := range k {
			if x < 1 {
				return p, errf(n, "attribute kernel_shape is %v, want every value >= 1", k)
			}
		}
		p.kernel = k
	} else if kernel != nil {
		p.kernel = kernel
	} else {
		// The weight's rank is not known yet (it is computed, e.g. by a
		// DequantizeLinear not inferred yet): spatial sizes are unknown.
		p.kernel = make([]int64, sp)
		for i := range p.kernel {
			p.kernel[i] = -1
		}
	}
	if p.strides, err = ints("strides", 1, sp, 1); err != nil {
		return p, err
	}
	if p.dilations, err = ints("dilations", 1, sp, 1); err != nil {
		return p, err
	}
	if p.pads, err = ints("pads", 0, 2*sp, 0); err != nil {
		return p, err
	}
	switch p.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return p, errf(n, "attribute auto_pad is %q, want NOTSET, VALID, SAME_UPPER or SAME_LOWER", p.autoPad)
	}
	return p, nil
}

// windowOut computes the output size of spatial dim i for a sliding window.
func (p spatialParams) windowOut(n *Node, i int, in Dim) (Dim, error) {
	k := p.kernel[i]
	if !in.Known() || k < 0 {
		return Unknown(), nil
	}
	s, d := p.strides[i], p.dilations[i]
	if k > MaxElements || d > MaxElements {
		return Dim{}, errf(n, "spatial dim %d: kernel %d with dilation %d is absurdly large", i, k, d)
	}
	ek := (k-1)*d + 1
	switch p.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return D((in.Size + s - 1) / s), nil
	}
	pb, pe := int64(0), int64(0)
	if p.autoPad == "NOTSET" {
		pb, pe = p.pads[i], p.pads[i+len(p.kernel)]
		if pb > MaxElements || pe > MaxElements {
			return Dim{}, errf(n, "spatial dim %d: pads %d,%d are absurdly large", i, pb, pe)
		}
	}
	total := in.Size + pb + pe - ek
	if total < 0 {
		return Dim{}, errf(n, "spatial dim %d: input size %d with pads %d+%d is smaller than the dilated kernel %d; pad the input or shrink the kernel",
			i, in.Size, pb, pe, ek)
	}
	if p.ceil {
		out := (total+s-1)/s + 1
		// ONNX (like PyTorch) drops a last window that would start in the end padding.
		if (out-1)*s >= in.Size+pb {
			out--
		}
		return D(out), nil
	}
	return D(total/s + 1), nil
}

// convLike types Conv, ConvInteger and QLinearConv: xi and wi index the
// data and weight inputs.
func convLike(n *Node, xi, wi int, dt DType) ([]Type, error) {
	x, _ := in(n, xi)
	w, _ := in(n, wi)
	if !x.Ranked && !w.Ranked {
		return one(unranked(dt))
	}
	r := len(x.Shape)
	if !x.Ranked {
		r = len(w.Shape)
	}
	if r < 3 {
		return nil, errf(n, "input %d has rank %d, want >= 3 ([N, C, spatial...])", xi, r)
	}
	if w.Ranked && len(w.Shape) != r {
		return nil, errf(n, "input %d (weight) has rank %d, want %d (same as input %d)", wi, len(w.Shape), r, xi)
	}
	sp := r - 2
	var kernel []int64
	if w.Ranked {
		kernel = w.Shape[2:].Sizes()
	}
	p, err := readSpatial(n, sp, kernel)
	if err != nil {
		return nil, err
	}
	group := n.AttrInt("group", 1)
	if group < 1 {
		return nil, errf(n, "attribute group is %d, want >= 1", group)
	}
	out := unknownDims(r)
	if x.Ranked {
		out[0] = x.Shape[0]
	}
	if w.Ranked {
		out[1] = w.Shape[0]
		if x.Ranked && x.Shape[1].Known() && w.Shape[1].Known() && x.Shape[1].Size != w.Shape[1].Size*group {
			return nil, errf(n, "input %d has %d channels, want %d (weight input channels %d x group %d)",
				xi, x.Shape[1].Size, w.Shape[1].Size*group, w.Shape[1].Size, group)
		}
		if w.Shape[0].Known() && w.Shape[0].Size%group != 0 {
			return nil, errf(n, "weight has %d output channels, want a multiple of group %d", w.Shape[0].Size, group)
		}
	}
	if x.Ranked {
		for i := 0; i < sp; i++ {
			if out[2+i], err = p.windowOut(n, i, x.Shape[2+i]); err != nil {
				return nil, err
			}
		}
	}
	return one(ranked(dt, out))
}

func inferConv(n *Node) ([]Type, error) { return convLike(n, 0, 1, firstDType(n, 0)) }

func inferConvInteger(n *Node) ([]Type, error) { return convLike(n, 0, 1, Int32) }

func inferQLinearConv(n *Node) ([]Type, error) { return convLike(n, 0, 3, firstDType(n, 7, 2)) }

// inferConvTranspose: out = stride*(in-1) + output_padding + dilated
// kernel - pads, or output_shape when given, or in*stride for SAME.
func inferConvTranspose(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	x, w := in0(n), Type{}
	if t, ok := in(n, 1); ok {
		w = t
	}
	if !x.Ranked {
		return one(unranked(dt))
	}
	r := len(x.Shape)
	if r < 3 {
		return nil, errf(n, "input 0 has rank %d, want >= 3 ([N, C, spatial...])", r)
	}
	if w.Ranked && len(w.Shape) != r {
		return nil, errf(n, "input 1 (weight) has rank %d, want %d (same as input 0)", len(w.Shape), r)
	}
	sp := r - 2
	var kernel []int64
	if w.Ranked {
		kernel = w.Shape[2:].Sizes()
	}
	p, err := readSpatial(n, sp, kernel)
	if err != nil {
		return nil, err
	}
	group := n.AttrInt("group", 1)
	if group < 1 {
		return nil, errf(n, "attribute group is %d, want >= 1", group)
	}
	outPad := n.AttrInts("output_padding", make([]int64, sp))
	if len(outPad) != sp {
		return nil, errf(n, "attribute output_padding has %d values, want %d", len(outPad), sp)
	}
	out := unknownDims(r)
	out[0] = x.Shape[0]
	if w.Ranked {
		out[1] = mulDims(w.Shape[1], D(group))
		if x.Shape[1].Known() && w.Shape[0].Known() && x.Shape[1].Size != w.Shape[0].Size {
			return nil, errf(n, "input 0 has %d channels, want %d (weight dim 0)", x.Shape[1].Size, w.Shape[0].Size)
		}
	}
	if os := n.AttrInts("output_shape", nil); os != nil {
		if len(os) < sp {
			return nil, errf(n, "attribute output_shape has %d values, want %d", len(os), sp)
		}
		os = os[len(os)-sp:]
		for i, v := range os {
			if out[2+i], err = dimFromInt(n, fmt.Sprintf("output_shape[%d]", i), v); err != nil {
				return nil, err
			}
		}
		return one(ranked(dt, out))
	}
	for i := 0; i < sp; i++ {
		d := x.Shape[2+i]
		k := p.kernel[i]
		if !d.Known() || k < 0 {
			continue
		}
		if d.Size > MaxElements || k > MaxElements || p.dilations[i] > MaxElements || p.strides[i] > MaxElements {
			return nil, errf(n, "spatial dim %d: sizes are absurdly large", i)
		}
		var v int64
		if p.autoPad == "SAME_UPPER" || p.autoPad == "SAME_LOWER" {
			v = d.Size * p.strides[i]
		} else {
			pb, pe := p.pads[i], p.pads[i+sp]
			if p.autoPad == "VALID" {
				pb, pe = 0, 0
			}
			v = p.strides[i]*(d.Size-1) + outPad[i] + (k-1)*p.dilations[i] + 1 - pb - pe
		}
		if out[2+i], err = dimFromInt(n, fmt.Sprintf("output spatial dim %d", i), v); err != nil {
			return nil, err
		}
	}
	return one(ranked(dt, out))
}

// inferPool types MaxPool, AveragePool and LpPool.
func inferPool(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return []Type{unranked(x.DType), unranked(Int64)}, nil
	}
	r := len(x.Shape)
	if r < 3 {
		return nil, errf(n, "input 0 has rank %d, want >= 3 ([N, C, spatial...])", r)
	}
	p, err := readSpatial(n, r-2, nil)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	for i := 0; i < r-2; i++ {
		if out[2+i], err = p.windowOut(n, i, x.Shape[2+i]); err != nil {
			return nil, err
		}
	}
	return []Type{ranked(x.DType, out), ranked(Int64, cloneShape(out))}, nil
}

// inferGlobalPool: [N, C, 1, 1, ...].
func inferGlobalPool(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	if len(x.Shape) < 3 {
		return nil, errf(n, "input 0 has rank %d, want >= 3 ([N, C, spatial...])", len(x.Shape))
	}
	out := cloneShape(x.Shape)
	for i := 2; i < len(out); i++ {
		out[i] = D(1)
	}
	return one(ranked(x.DType, out))
}

// inferMaxUnpool: output_shape when constant, else (in-1)*stride + kernel - pads.
func inferMaxUnpool(n *Node) ([]Type, error) {
	x := in0(n)
	if v, ok := constInts(n, 2); ok {
		return shapeFromValues(n, x.DType, v, "output_shape")
	}
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if r < 3 {
		return nil, errf(n, "input 0 has rank %d, want >= 3", r)
	}
	p, err := readSpatial(n, r-2, nil)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	if n.Input(2) != nil {
		for i := 2; i < r; i++ {
			out[i] = Unknown()
		}
		return one(ranked(x.DType, out))
	}
	for i := 0; i < r-2; i++ {
		d := x.Shape[2+i]
		if !d.Known() {
			out[2+i] = Unknown()
			continue
		}
		if d.Size > MaxElements || p.kernel[i] > MaxElements || p.strides[i] > MaxElements {
			return nil, errf(n, "spatial dim %d: sizes are absurdly large", i)
		}
		v := (d.Size-1)*p.strides[i] + p.kernel[i] - p.pads[i] - p.pads[i+r-2]
		if out[2+i], err = dimFromInt(n, fmt.Sprintf("output spatial dim %d", i), v); err != nil {
			return nil, err
		}
	}
	return one(ranked(x.DType, out))
}

// shapeFromValues turns constant shape values into a known shape.
func shapeFromValues(n *Node, dt DType, v []int64, what string) ([]Type, error) {
	if len(v) > maxRank {
		return nil, errf(n, "%s has %d entries, want at most %d", what, len(v), maxRank)
	}
	s := make(Shape, len(v))
	for i, x := range v {
		d, err := dimFromInt(n, fmt.Sprintf("%s[%d]", what, i), x)
		if err != nil {
			return nil, err
		}
		s[i] = d
	}
	return one(ranked(dt, s))
}

// inferCol2Im: [N, C*prod(block), L] -> [N, C, image_shape...].
func inferCol2Im(n *Node) ([]Type, error) {
	x := in0(n)
	img, okImg := constInts(n, 1)
	blk, okBlk := constInts(n, 2)
	sp := inputLen(n, 1)
	if okImg {
		sp = int64(len(img))
	}
	if sp < 0 {
		return one(unranked(x.DType))
	}
	if sp > maxRank {
		return nil, errf(n, "image_shape has %d entries, want at most %d", sp, maxRank)
	}
	if x.Ranked && len(x.Shape) != 3 {
		return nil, errf(n, "input 0 has rank %d, want 3 ([N, C*prod(block_shape), L])", len(x.Shape))
	}
	out := unknownDims(int(sp) + 2)
	if x.Ranked {
		out[0] = x.Shape[0]
		if okBlk && x.Shape[1].Known() {
			prod, err := CheckedNumElements(blk)
			if err != nil || prod == 0 {
				return nil, errf(n, "block_shape is %v, want positive sizes", blk)
			}
			if x.Shape[1].Size%prod != 0 {
				return nil, errf(n, "input 0 dim 1 is %d, want a multiple of prod(block_shape) = %d", x.Shape[1].Size, prod)
			}
			out[1] = D(x.Shape[1].Size / prod)
		}
	}
	if okImg {
		for i, v := range img {
			d, err := dimFromInt(n, fmt.Sprintf("image_shape[%d]", i), v)
			if err != nil {
				return nil, err
			}
			out[2+i] = d
		}
	}
	return one(ranked(x.DType, out))
}

// inferBatchNorm: Y like X; running stats like the input stats.
func inferBatchNorm(n *Node) ([]Type, error) {
	x := in0(n)
	if x.Ranked && len(x.Shape) < 2 {
		return nil, errf(n, "input 0 has rank %d, want >= 2 ([N, C, ...])", len(x.Shape))
	}
	stat := unranked(firstDType(n, 3))
	if x.Ranked {
		stat = ranked(stat.DType, Shape{x.Shape[1]})
	}
	for i := 1; i <= 4; i++ {
		if t, ok := in(n, i); ok && t.Ranked && x.Ranked {
			if len(t.Shape) != 1 || !sameOrUnknown(t.Shape[0], x.Shape[1]) {
				return nil, errf(n, "input %d has shape %s, want [%s] (the channel dim of input 0)", i, t.Shape, x.Shape[1])
			}
		}
	}
	return []Type{{DType: x.DType, Shape: cloneShape(x.Shape), Ranked: x.Ranked}, stat, stat}, nil
}

// sameOrUnknown reports whether two dims may be equal.
func sameOrUnknown(a, b Dim) bool { return !a.Known() || !b.Known() || a.Size == b.Size }

// inferLayerNorm: Y like X; Mean and InvStdDev keep dims before axis and
// have 1 from axis on.
func inferLayerNorm(n *Node) ([]Type, error) {
	x := in0(n)
	st, err := dtypeAttr(n, "stash_type", Float32)
	if err != nil {
		return nil, err
	}
	y := Type{DType: x.DType, Shape: cloneShape(x.Shape), Ranked: x.Ranked}
	if !x.Ranked {
		return []Type{y, unranked(st), unranked(st)}, nil
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	m := cloneShape(x.Shape)
	for i := axis; i < len(m); i++ {
		m[i] = D(1)
	}
	return []Type{y, ranked(st, m), ranked(st, cloneShape(m))}, nil
}

// inferGemm: [M, K] x [K, N] -> [M, N] with optional transposes.
func inferGemm(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	a, b := in0(n), Type{}
	if t, ok := in(n, 1); ok {
		b = t
	}
	if !a.Ranked || !b.Ranked {
		return one(ranked(dt, unknownDims(2)))
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, errf(n, "inputs have shapes %s and %s, want rank 2 each", a.Shape, b.Shape)
	}
	m, ka := a.Shape[0], a.Shape[1]
	if n.AttrInt("transA", 0) != 0 {
		m, ka = ka, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if n.AttrInt("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if !sameOrUnknown(ka, kb) {
		return nil, errf(n, "inner dims differ: A gives K=%s, B gives K=%s (shapes %s, %s); check transA/transB", ka, kb, a.Shape, b.Shape)
	}
	out := Shape{m, nn}
	if c, ok := in(n, 2); ok && c.Ranked {
		if len(c.Shape) > 2 {
			return nil, errf(n, "input 2 (C) has rank %d, want <= 2", len(c.Shape))
		}
		bs, err := broadcastShapes(out, c.Shape)
		if err != nil {
			return nil, errf(n, "input 2 (C) shape %s does not broadcast to %s: %v", c.Shape, out, err)
		}
		// C broadcasts unidirectionally: it must not grow the result.
		for i := range bs {
			if bs[i].Known() && out[i].Known() && bs[i].Size != out[i].Size {
				return nil, errf(n, "input 2 (C) shape %s does not broadcast to %s", c.Shape, out)
			}
		}
	}
	return one(ranked(dt, out))
}

// matmulShape computes numpy matmul's result shape.
func matmulShape(n *Node, a, b Shape) (Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, errf(n, "inputs have shapes %s and %s, want rank >= 1 each", a, b)
	}
	aa, bb := a, b
	if len(a) == 1 {
		aa = Shape{D(1), a[0]}
	}
	if len(b) == 1 {
		bb = Shape{b[0], D(1)}
	}
	ka, kb := aa[len(aa)-1], bb[len(bb)-2]
	if !sameOrUnknown(ka, kb) {
		return nil, errf(n, "inner dims differ: %s vs %s (shapes %s, %s)", ka, kb, a, b)
	}
	batch, err := broadcastShapes(aa[:len(aa)-2], bb[:len(bb)-2])
	if err != nil {
		return nil, errf(n, "batch dims of %s and %s do not broadcast: %v", a, b, err)
	}
	out := cloneShape(batch)
	if len(a) != 1 {
		out = append(out, aa[len(aa)-2])
	}
	if len(b) != 1 {
		out = append(out, bb[len(bb)-1])
	}
	return out, nil
}

func matmulLike(n *Node, ai, bi int, dt DType) ([]Type, error) {
	a, _ := in(n, ai)
	b, _ := in(n, bi)
	if !a.Ranked || !b.Ranked {
		return one(unranked(dt))
	}
	s, err := matmulShape(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	return one(ranked(dt, s))
}

func inferMatMul(n *Node) ([]Type, error) { return matmulLike(n, 0, 1, firstDType(n, 0)) }

func inferMatMulInteger(n *Node) ([]Type, error) { return matmulLike(n, 0, 1, Int32) }

func inferQLinearMatMul(n *Node) ([]Type, error) { return matmulLike(n, 0, 3, firstDType(n, 7, 2)) }

// inferDet: [*, M, M] -> [*].
func inferDet(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if r < 2 {
		return nil, errf(n, "input 0 has rank %d, want >= 2 ([*, M, M])", r)
	}
	if !sameOrUnknown(x.Shape[r-1], x.Shape[r-2]) {
		return nil, errf(n, "input 0 has shape %s, want square trailing matrices", x.Shape)
	}
	return one(ranked(x.DType, cloneShape(x.Shape[:r-2])))
}

// inferEinsum parses the equation and binds each letter to a dim.
func inferEinsum(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	eq := strings.ReplaceAll(n.AttrString("equation", ""), " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(n.Inputs) {
		return nil, errf(n, "equation %q has %d input terms, want %d (one per input)", eq, len(terms), len(n.Inputs))
	}
	letters := map[byte]Dim{}
	var ellipsis []Shape
	count := map[byte]int{}
	for i, term := range terms {
		t, _ := in(n, i)
		hasEll := strings.Contains(term, "...")
		plain := strings.Replace(term, "...", "", 1)
		if strings.Contains(plain, ".") {
			return nil, errf(n, "equation %q: term %q has a stray '.', want letters and at most one '...'", eq, term)
		}
		for j := 0; j < len(plain); j++ {
			c := plain[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return nil, errf(n, "equation %q: term %q has %q, want letters", eq, term, c)
			}
			count[c]++
		}
		if !t.Ranked {
			continue
		}
		ne := len(t.Shape) - len(plain)
		if ne < 0 || (!hasEll && ne != 0) {
			return nil, errf(n, "equation %q: term %q has %d labels, but input %d has rank %d", eq, term, len(plain), i, len(t.Shape))
		}
		pos := 0
		for j := 0; j < len(term); j++ {
			if strings.HasPrefix(term[j:], "...") {
				ellipsis = append(ellipsis, t.Shape[pos:pos+ne])
				pos += ne
				j += 2
				continue
			}
			c, d := term[j], t.Shape[pos]
			pos++
			if prev, ok := letters[c]; ok {
				u, ok := unifyDim(prev, d)
				if !ok {
					return nil, errf(n, "equation %q: label %c is %s in one place and %s in another", eq, c, prev, d)
				}
				letters[c] = u
			} else {
				letters[c] = d
			}
		}
	}
	for i := range n.Inputs {
		if t, _ := in(n, i); !t.Ranked {
			return one(unranked(dt))
		}
	}
	ell, err := broadcastShapes(ellipsis...)
	if err != nil {
		return nil, errf(n, "equation %q: ellipsis dims do not broadcast: %v", eq, err)
	}
	var out Shape
	if explicit {
		for j := 0; j < len(rhs); j++ {
			if strings.HasPrefix(rhs[j:], "...") {
				out = append(out, ell...)
				j += 2
				continue
			}
			d, ok := letters[rhs[j]]
			if !ok {
				return nil, errf(n, "equation %q: output label %q does not appear in the inputs", eq, rhs[j])
			}
			out = append(out, d)
		}
	} else {
		out = append(out, ell...)
		var once []byte
		for c, k := range count {
			if k == 1 {
				once = append(once, c)
			}
		}
		sortBytes(once)
		for _, c := range once {
			out = append(out, letters[c])
		}
	}
	if out == nil {
		out = Shape{}
	}
	return one(ranked(dt, out))
}

func sortBytes(b []byte) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j] < b[j-1]; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// inferRNN types LSTM, GRU and RNN outputs (layout 0: Y [seq, dirs, batch,
// hidden], Y_h [dirs, batch, hidden]; layout 1 puts batch first).
func inferRNN(n *Node) ([]Type, error) {
	dt := firstDType(n, 0)
	dirs := int64(1)
	switch d := n.AttrString("direction", "forward"); d {
	case "forward", "reverse":
	case "bidirectional":
		dirs = 2
	default:
		return nil, errf(n, "attribute direction is %q, want forward, reverse or bidirectional", d)
	}
	layout := n.AttrInt("layout", 0)
	if layout != 0 && layout != 1 {
		return nil, errf(n, "attribute layout is %d, want 0 or 1", layout)
	}
	hidden := Unknown()
	if h := n.AttrInt("hidden_size", -1); h >= 0 {
		d, err := dimFromInt(n, "hidden_size", h)
		if err != nil {
			return nil, err
		}
		hidden = d
	} else if h != -1 {
		return nil, errf(n, "attribute hidden_size is %d, want > 0", h)
	} else if r, ok := in(n, 2); ok && r.Ranked && len(r.Shape) == 3 {
		hidden = r.Shape[2]
	}
	seq, batch := Unknown(), Unknown()
	if x := in0(n); x.Ranked {
		if len(x.Shape) != 3 {
			return nil, errf(n, "input 0 has rank %d, want 3 ([seq, batch, input] for layout 0)", len(x.Shape))
		}
		seq, batch = x.Shape[0], x.Shape[1]
		if layout == 1 {
			seq, batch = batch, seq
		}
	}
	if w, ok := in(n, 1); ok && w.Ranked {
		if len(w.Shape) != 3 {
			return nil, errf(n, "input 1 (W) has rank %d, want 3", len(w.Shape))
		}
		if !sameOrUnknown(w.Shape[0], D(dirs)) {
			return nil, errf(n, "input 1 (W) dim 0 is %s, want %d (num_directions)", w.Shape[0], dirs)
		}
	}
	nd := D(dirs)
	y := Shape{seq, nd, batch, hidden}
	yh := Shape{nd, batch, hidden}
	if layout == 1 {
		y = Shape{batch, seq, nd, hidden}
		yh = Shape{batch, nd, hidden}
	}
	return []Type{ranked(dt, y), ranked(dt, yh), ranked(dt, cloneShape(yh))}, nil
}

// inferGridSample: X [N, C, D1..Dr], grid [N, O1..Or, r] -> [N, C, O1..Or].
func inferGridSample(n *Node) ([]Type, error) {
	x := in0(n)
	g, _ := in(n, 1)
	if !x.Ranked && !g.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if !x.Ranked {
		r = len(g.Shape)
	}
	if r < 3 {
		return nil, errf(n, "input 0 has rank %d, want >= 3 ([N, C, spatial...])", r)
	}
	out := unknownDims(r)
	if x.Ranked {
		out[0], out[1] = x.Shape[0], x.Shape[1]
	}
	if g.Ranked {
		if len(g.Shape) != r {
			return nil, errf(n, "input 1 (grid) has rank %d, want %d (same as input 0)", len(g.Shape), r)
		}
		if !sameOrUnknown(g.Shape[r-1], D(int64(r-2))) {
			return nil, errf(n, "input 1 (grid) last dim is %s, want %d (spatial rank)", g.Shape[r-1], r-2)
		}
		u, ok := unifyDim(out[0], g.Shape[0])
		if !ok {
			return nil, errf(n, "batch sizes differ: input 0 has %s, grid has %s", out[0], g.Shape[0])
		}
		out[0] = u
		copy(out[2:], g.Shape[1:r-1])
	}
	return one(ranked(x.DType, out))
}

// inferRoiAlign: [num_rois, C, output_height, output_width].
func inferRoiAlign(n *Node) ([]Type, error) {
	x := in0(n)
	oh, err := dimFromInt(n, "output_height", n.AttrInt("output_height", 1))
	if err != nil {
		return nil, err
	}
	ow, err := dimFromInt(n, "output_width", n.AttrInt("output_width", 1))
	if err != nil {
		return nil, err
	}
	out := Shape{Unknown(), Unknown(), oh, ow}
	if x.Ranked {
		if len(x.Shape) != 4 {
			return nil, errf(n, "input 0 has rank %d, want 4 ([N, C, H, W])", len(x.Shape))
		}
		out[1] = x.Shape[1]
	}
	if r, ok := in(n, 1); ok && r.Ranked {
		if len(r.Shape) != 2 || !sameOrUnknown(r.Shape[1], D(4)) {
			return nil, errf(n, "input 1 (rois) has shape %s, want [num_rois, 4]", r.Shape)
		}
		out[0] = r.Shape[0]
	}
	return one(ranked(x.DType, out))
}

// inferNMS: [num_selected, 3]; the count depends on the data.
func inferNMS(n *Node) ([]Type, error) {
	return one(ranked(Int64, Shape{Unknown(), D(3)}))
}
