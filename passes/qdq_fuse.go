package passes

import (
	"math"

	"github.com/effc/effc/ir"
)

// fuseQDQ turns the ONNX QDQ patterns around Conv, Gemm, MatMul, Add and
// pooling (what 'effc quantize' and ONNX Runtime's quantizer write) into
// integer kernels, so a quantized model runs on integers instead of
// dequantizing into float ops:
//
//	%x = DequantizeLinear(%xq, %xs, %xz); %w = DequantizeLinear(%wq, %ws, %wz) {axis=0}
//	%b = DequantizeLinear(%bq: i32, %bs) {axis=0}; %c = Conv(%x, %w, %b); %r = Relu(%c)
//	%yq = QuantizeLinear(%r, %ys, %yz)
//	  ->  %yq = QLinearConv(%xq, %xs, %xz, %wq, %ws, %wz, %ys, %yz, %bq)
//
// A Relu or Clip between the op and the QuantizeLinear is absorbed only
// when the QuantizeLinear's saturation already computes it exactly: Relu
// when the output zero point is the bottom of its range, Clip when its
// bounds quantize to the range's ends. Gemm (transA=0, alpha=beta=1) with
// constant B becomes Reshape→QLinearConv 1x1→Reshape, which carries its
// int32 bias; MatMul with constant 2-D B becomes QLinearMatMul; Add of two
// dequantized tensors of one shape and type becomes effc.QLinearAdd;
// AveragePool and GlobalAveragePool become effc.QLinearAveragePool and
// effc.QLinearGlobalAveragePool; MaxPool, Flatten and Reshape between a
// DequantizeLinear and a QuantizeLinear of the same parameters run on the
// integers. Weights (and bias) must be constants, activation
// parameters per-tensor constants, and the bias scale x_scale·w_scale[m];
// every absorbed intermediate must have one reader and not be a graph
// output. The results equal the QDQ graph's up to the rounding of the
// requantization (QLinearConv scales the exact int32 sum by
// x_scale·w_scale/y_scale; the QDQ graph rounds a float32 convolution), so
// an output can differ by one quantization step where a value lies within
// float32 rounding of a rounding boundary.
func fuseQDQ(_ *Context, g *ir.Graph) error {
	f := &qdqFuser{g: g, consumers: g.Consumers(), dead: map[*ir.Node]bool{}}
	for _, n := range append([]*ir.Node{}, g.Nodes...) {
		if n.Domain != "" || f.dead[n] || len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		switch n.Op {
		case "Conv", "Gemm", "MatMul":
			f.fuseLayer(n)
		case "Add":
			f.fuseAdd(n)
		case "MaxPool", "Flatten", "Reshape":
			f.fusePassThrough(n)
		case "AveragePool", "GlobalAveragePool":
			f.fuseAveragePool(n)
		}
	}
	g.RemoveNodes(f.dead)
	return nil
}

// qdqFuser holds one run of fuseQDQ.
type qdqFuser struct {
	g         *ir.Graph
	consumers map[*ir.Value][]*ir.Node
	dead      map[*ir.Node]bool
}

// dequant is a DequantizeLinear's operands.
type dequant struct {
	q, scale, zp *ir.Value
	axis         int64
}

// dequantOf returns the operands of the DequantizeLinear producing v, whose
// scale (and zero point, if any) are constants.
func dequantOf(v *ir.Value) *dequant {
	if v == nil {
		return nil
	}
	n := v.Producer
	if n == nil || n.Op != "DequantizeLinear" || n.Domain != "" || n.AttrInt("block_size", 0) != 0 {
		return nil
	}
	d := &dequant{q: n.Inputs[0], scale: n.Input(1), zp: n.Input(2), axis: n.AttrInt("axis", 1)}
	if !d.scale.IsConst() || d.scale.Const.DType != ir.Float32 || d.zp != nil && (!d.zp.IsConst() || d.zp.Const.DType != d.q.Type.DType) {
		return nil
	}
	if r := int64(len(d.q.Type.Shape)); d.axis < 0 && d.q.Type.Ranked {
		d.axis += r
	}
	return d
}

// is8 reports whether dt is an 8-bit integer type.
func is8(dt ir.DType) bool { return dt == ir.Int8 || dt == ir.Uint8 }

// activation returns the per-tensor u8/i8 DequantizeLinear producing v.
func activation(v *ir.Value) *dequant {
	d := dequantOf(v)
	if d == nil || !is8(d.q.Type.DType) || d.scale.Const.Len() != 1 || d.zp != nil && d.zp.Const.Len() != 1 {
		return nil
	}
	return d
}

// zeroPoint returns d's zero point, adding a zero constant of d's type when
// it has none (QLinearConv and QLinearMatMul require one).
func (f *qdqFuser) zeroPoint(d *dequant) *ir.Value {
	if d.zp != nil {
		return d.zp
	}
	d.zp = f.g.AddConst(d.q.Name+"_zero_point", ir.NewTensor(d.q.Type.DType, nil))
	return d.zp
}

// zeroPointValue is d's per-tensor zero point, 0 when it has none.
func (d *dequant) zeroPointValue() int64 {
	if d.zp == nil {
		return 0
	}
	return d.zp.Const.Int64At(0)
}

// only returns the single reader of v, nil if v has several or is a graph
// output.
func (f *qdqFuser) only(v *ir.Value) *ir.Node {
	if v == nil || f.g.IsOutput(v) || len(f.consumers[v]) != 1 {
		return nil
	}
	return f.consumers[v][0]
}

// quantizeAfter follows y through an optional Relu or Clip to the
// per-tensor u8/i8 QuantizeLinear that reads it. It returns that node and
// the absorbed activation (nil if none), or nil when the pattern does not
// match or the activation is not exactly the QuantizeLinear's saturation.
func (f *qdqFuser) quantizeAfter(y *ir.Value) (q, act *ir.Node) {
	next := f.only(y)
	if next != nil && next.Domain == "" && (next.Op == "Relu" || next.Op == "Clip") {
		act, next = next, f.only(next.Outputs[0])
	}
	if next == nil || next.Op != "QuantizeLinear" || next.Domain != "" || len(next.Inputs) < 3 {
		return nil, nil
	}
	s, z := next.Inputs[1], next.Inputs[2]
	if !s.IsConst() || s.Const.DType != ir.Float32 || s.Const.Len() != 1 || !z.IsConst() || !is8(z.Const.DType) || z.Const.Len() != 1 {
		return nil, nil
	}
	if act != nil && !clampAbsorbs(act, float32(s.Const.Float64At(0)), z.Const) {
		return nil, nil
	}
	return next, act
}

// clampAbsorbs reports whether QuantizeLinear(scale, zp) of act's output
// equals QuantizeLinear of its input for every input: Relu when the zero
// point is the bottom of the range, Clip(lo, hi) when lo quantizes to the
// bottom and hi to the top (QuantizeLinear is monotonic and saturates).
func clampAbsorbs(act *ir.Node, scale float32, zp *ir.Tensor) bool {
	qmin, qmax := 0.0, 255.0
	if zp.DType == ir.Int8 {
		qmin, qmax = -128, 127
	}
	z := zp.Float64At(0)
	quant := func(x float32) float64 { return min(max(math.RoundToEven(float64(x/scale))+z, qmin), qmax) }
	if act.Op == "Relu" {
		return z == qmin
	}
	for i, end := range [...]float64{1: qmin, 2: qmax} {
		v := act.Input(i)
		if i == 0 || v == nil {
			continue
		}
		if !v.IsConst() || v.Const.Len() != 1 || v.Const.DType != ir.Float32 || quant(float32(v.Const.Float64At(0))) != end {
			return false
		}
	}
	return true
}

// fuseLayer fuses a Conv, Gemm or MatMul between dequantized operands and
// a QuantizeLinear.
func (f *qdqFuser) fuseLayer(n *ir.Node) {
	x, w := activation(n.Inputs[0]), dequantOf(n.Input(1))
	if x == nil || w == nil || !w.q.IsConst() || w.q.Const.DType != ir.Int8 && w.q.Const.DType != ir.Uint8 {
		return
	}
	q, act := f.quantizeAfter(n.Outputs[0])
	if q == nil {
		return
	}
	var fused []*ir.Node
	switch n.Op {
	case "Conv":
		fused = f.qconv(n, x, w, q)
	case "Gemm":
		fused = f.qgemm(n, x, w, q)
	case "MatMul":
		fused = f.qmatmul(n, x, w, q)
	}
	if fused == nil {
		return
	}
	f.replace(q, fused, n, act)
}

// replace puts the fused nodes where q was (its inputs are computed there)
// and marks q and the absorbed nodes dead.
func (f *qdqFuser) replace(q *ir.Node, fused []*ir.Node, absorbed ...*ir.Node) {
	for i, n := range f.g.Nodes {
		if n == q {
			rest := append(append([]*ir.Node{}, fused...), f.g.Nodes[i+1:]...)
			f.g.Nodes = append(f.g.Nodes[:i], rest...)
			break
		}
	}
	f.dead[q] = true
	for _, n := range absorbed {
		if n != nil {
			f.dead[n] = true
		}
	}
	f.consumers = f.g.Consumers()
}

// channelParam checks that a weight parameter (scale or zero point) is
// per-tensor or has one element per channel of axis; nil params pass.
func channelParam(p *ir.Value, d *dequant, axis, channels int64) bool {
	return p == nil || p.Const.Len() == 1 || d.axis == axis && p.Const.Len() == int(channels)
}

// bias returns the int32 bias of a DequantizeLinear with zero point 0 and
// scale x_scale·w_scale[m] (to float32 rounding), as QLinearConv requires;
// ok is false when b does not have that form.
func bias(b *ir.Value, x, w *dequant, channels int64) (*ir.Value, bool) {
	if b == nil {
		return nil, true
	}
	d := dequantOf(b)
	if d == nil || !d.q.IsConst() || d.q.Const.DType != ir.Int32 || d.q.Const.Len() != int(channels) {
		return nil, false
	}
	if d.zp != nil {
		for _, z := range d.zp.Const.Int64s() {
			if z != 0 {
				return nil, false
			}
		}
	}
	xs, ws, bs := float32(x.scale.Const.Float64At(0)), w.scale.Const, d.scale.Const
	for m := 0; m < int(channels); m++ {
		want := xs * float32(ws.Float64At(m%ws.Len()))
		if got := float32(bs.Float64At(m % bs.Len())); math.Abs(float64(got-want)) > 1e-6*math.Abs(float64(want)) {
			return nil, false
		}
	}
	return d.q, true
}

// qconv builds QLinearConv for Conv n.
func (f *qdqFuser) qconv(n *ir.Node, x, w *dequant, q *ir.Node) []*ir.Node {
	m := w.q.Const.Shape[0]
	b, ok := bias(n.Input(2), x, w, m)
	if !ok || !channelParam(w.scale, w, 0, m) || !channelParam(w.zp, w, 0, m) {
		return nil
	}
	qc := &ir.Node{Name: n.Name, Op: "QLinearConv", Doc: n.Doc, Outputs: []*ir.Value{q.Outputs[0]},
		Inputs: []*ir.Value{x.q, x.scale, f.zeroPoint(x), w.q, w.scale, f.zeroPoint(w), q.Inputs[1], q.Inputs[2], b}}
	for k, a := range n.Attrs {
		qc.SetAttr(k, a)
	}
	q.Outputs[0].Producer = qc
	return []*ir.Node{qc}
}

// qgemm builds Reshape→QLinearConv→Reshape for Gemm n: A [M,K] as an
// [M,K,1,1] image, B as N 1x1 kernels, C as the int32 bias.
func (f *qdqFuser) qgemm(n *ir.Node, x, w *dequant, q *ir.Node) []*ir.Node {
	wt := w.q.Const
	if len(wt.Shape) != 2 || n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 ||
		!x.q.Type.Ranked || len(x.q.Type.Shape) != 2 {
		return nil
	}
	transB := n.AttrInt("transB", 0) != 0
	nAxis := int64(1)
	if transB {
		nAxis = 0
	}
	k, cols := wt.Shape[1-nAxis], wt.Shape[nAxis]
	b, ok := bias(n.Input(2), x, w, cols)
	if !ok || !channelParam(w.scale, w, nAxis, cols) || !channelParam(w.zp, w, nAxis, cols) {
		return nil
	}
	kernel := ir.NewTensor(wt.DType, []int64{cols, k, 1, 1})
	for j := int64(0); j < cols; j++ {
		for i := int64(0); i < k; i++ {
			src := i*cols + j // B[i, j]
			if transB {
				src = j*k + i // B[j, i]
			}
			setInt(kernel, j*k+i, wt.Int64At(int(src)))
		}
	}
	g, dt, rows := f.g, x.q.Type.DType, x.q.Type.Shape[0]
	image := &ir.Value{Name: g.UniqueName(n.Name + "_image"), Type: ir.TensorType(dt, ir.Shape{rows, ir.D(k), ir.D(1), ir.D(1)})}
	toImage := &ir.Node{Name: g.UniqueName(n.Name + "_to_image"), Op: "Reshape", Outputs: []*ir.Value{image},
		Inputs: []*ir.Value{x.q, g.AddConst(n.Name+"_image_shape", ir.FromInt64([]int64{4}, []int64{0, k, 1, 1}))}}
	image.Producer = toImage
	conv := &ir.Value{Name: g.UniqueName(n.Name + "_conv"), Type: ir.TensorType(q.Outputs[0].Type.DType, ir.Shape{rows, ir.D(cols), ir.D(1), ir.D(1)})}
	qc := &ir.Node{Name: n.Name, Op: "QLinearConv", Doc: n.Doc, Outputs: []*ir.Value{conv},
		Attrs: map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(1, 1)},
		Inputs: []*ir.Value{image, x.scale, f.zeroPoint(x), g.AddConst(n.Name+"_kernel", kernel), w.scale, f.zeroPoint(w),
			q.Inputs[1], q.Inputs[2], b}}
	conv.Producer = qc
	out := q.Outputs[0]
	fromImage := &ir.Node{Name: g.UniqueName(n.Name + "_from_image"), Op: "Reshape", Outputs: []*ir.Value{out},
		Inputs: []*ir.Value{conv, g.AddConst(n.Name+"_output_shape", ir.FromInt64([]int64{2}, []int64{0, cols}))}}
	out.Producer = fromImage
	return []*ir.Node{toImage, qc, fromImage}
}

// setInt stores an integer into element i of an 8-bit tensor.
func setInt(t *ir.Tensor, i int64, v int64) {
	switch d := t.Data.(type) {
	case []int8:
		d[i] = int8(v)
	case []uint8:
		d[i] = uint8(v)
	}
}

// qmatmul builds QLinearMatMul for MatMul n with a constant 2-D B, whose
// parameters are per-tensor or per column.
func (f *qdqFuser) qmatmul(n *ir.Node, x, w *dequant, q *ir.Node) []*ir.Node {
	if len(w.q.Const.Shape) != 2 {
		return nil
	}
	cols := w.q.Const.Shape[1]
	if !channelParam(w.scale, w, 1, cols) || !channelParam(w.zp, w, 1, cols) {
		return nil
	}
	qm := &ir.Node{Name: n.Name, Op: "QLinearMatMul", Doc: n.Doc, Outputs: []*ir.Value{q.Outputs[0]},
		Inputs: []*ir.Value{x.q, x.scale, f.zeroPoint(x), w.q, w.scale, f.zeroPoint(w), q.Inputs[1], q.Inputs[2]}}
	q.Outputs[0].Producer = qm
	return []*ir.Node{qm}
}

// fusePassThrough runs a MaxPool, Flatten or Reshape between a
// DequantizeLinear and a QuantizeLinear with the same scale and zero point
// on the integers: the maximum commutes with the monotonic dequantization,
// Flatten and Reshape only move data, and requantizing a dequantized
// integer gives it back.
func (f *qdqFuser) fusePassThrough(n *ir.Node) {
	x := activation(n.Inputs[0])
	if x == nil || len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return
	}
	q := f.only(n.Outputs[0])
	if q == nil || q.Op != "QuantizeLinear" || q.Domain != "" || len(q.Inputs) < 3 {
		return
	}
	s, z := q.Inputs[1], q.Inputs[2]
	if !s.IsConst() || s.Const.Len() != 1 || !z.IsConst() || z.Const.Len() != 1 || z.Const.DType != x.q.Type.DType ||
		float32(s.Const.Float64At(0)) != float32(x.scale.Const.Float64At(0)) || z.Const.Int64At(0) != x.zeroPointValue() {
		return
	}
	ins := append([]*ir.Value{x.q}, n.Inputs[1:]...)
	p := &ir.Node{Name: n.Name, Op: n.Op, Doc: n.Doc, Inputs: ins, Outputs: []*ir.Value{q.Outputs[0]}}
	for k, a := range n.Attrs {
		p.SetAttr(k, a)
	}
	q.Outputs[0].Producer = p
	f.replace(q, []*ir.Node{p}, n)
}

// fuseAveragePool turns DequantizeLinear(x) → AveragePool or
// GlobalAveragePool → [Relu | Clip] → QuantizeLinear, with per-tensor
// parameters and x and the output of one 8-bit type, into
// effc.QLinearAveragePool or effc.QLinearGlobalAveragePool, which sum the
// window in int32 and requantize once.
func (f *qdqFuser) fuseAveragePool(n *ir.Node) {
	x := activation(n.Inputs[0])
	if x == nil || !x.q.Type.Ranked || len(x.q.Type.Shape) < 3 {
		return
	}
	q, act := f.quantizeAfter(n.Outputs[0])
	if q == nil || q.Inputs[2].Const.DType != x.q.Type.DType {
		return
	}
	qp := &ir.Node{Name: n.Name, Op: "QLinear" + n.Op, Domain: "effc", Doc: n.Doc, Outputs: []*ir.Value{q.Outputs[0]},
		Inputs: []*ir.Value{x.q, x.scale, f.zeroPoint(x), q.Inputs[1], q.Inputs[2]}}
	for k, a := range n.Attrs {
		qp.SetAttr(k, a)
	}
	q.Outputs[0].Producer = qp
	f.replace(q, []*ir.Node{qp}, n, act)
}

// fuseAdd turns DequantizeLinear(a), DequantizeLinear(b) → Add → [Relu |
// Clip] → QuantizeLinear, with a, b and the output of one 8-bit type and a
// and b of one shape (a residual connection), into effc.QLinearAdd.
func (f *qdqFuser) fuseAdd(n *ir.Node) {
	a, b := activation(n.Inputs[0]), activation(n.Input(1))
	if a == nil || b == nil || !sameType(n.Inputs[0].Type, n.Inputs[1].Type) || a.q.Type.DType != b.q.Type.DType {
		return
	}
	q, act := f.quantizeAfter(n.Outputs[0])
	if q == nil || q.Inputs[2].Const.DType != a.q.Type.DType {
		return
	}
	qa := &ir.Node{Name: n.Name, Op: "QLinearAdd", Domain: "effc", Doc: n.Doc, Outputs: []*ir.Value{q.Outputs[0]},
		Inputs: []*ir.Value{a.q, a.scale, f.zeroPoint(a), b.q, b.scale, f.zeroPoint(b), q.Inputs[1], q.Inputs[2]}}
	q.Outputs[0].Producer = qa
	f.replace(q, []*ir.Node{qa}, n, act)
}
