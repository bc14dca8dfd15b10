package passes

import (
	"math"

	"github.com/effc/effc/ir"
)

// requantFixed replaces the float requantization of QLinearConv and
// QLinearMatMul by gemmlowp's integer-only one: the integer product
// followed by effc.Requantize, whose Q31 multiplier and shift are
// computed here from real = x_scale·w_scale[m]/y_scale:
//
//	%y = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %b)
//	  ->  %acc = ConvInteger(%x, %w, %xz, %wz)
//	      %y = effc::Requantize(%acc, %b, %multiplier, %shift, %yz) {axis=1}
//	%y = QLinearMatMul(%a, %as, %az, %b, %bs, %bz, %ys, %yz)
//	  ->  %acc = MatMulInteger(%a, %b, %az, %bz)
//	      %y = effc::Requantize(%acc, _, %multiplier, %shift, %yz) {axis=-1}
//
// It needs constant 8-bit weights (a 2-D B for QLinearMatMul), constant
// per-tensor x and y scales, and constant weight scales per tensor or per
// output channel; any other node, or a multiplier that Q31 with a shift in
// [−31, 31] cannot hold (real ≥ 2^31), is left unchanged. The outputs
// equal the float requantization's except where acc·real lies within
// about 2^−31 relative of a rounding tie, and at exact ties, which
// gemmlowp rounds away from zero where ONNX rounds to even: there they
// differ by one step.
func requantFixed(_ *Context, g *ir.Graph) error {
	var out []*ir.Node
	for _, n := range g.Nodes {
		if n.Domain == "" && (n.Op == "QLinearConv" || n.Op == "QLinearMatMul") {
			if r := fixedRequant(g, n); r != nil {
				out = append(out, r...)
				continue
			}
		}
		out = append(out, n)
	}
	g.Nodes = out
	return nil
}

// fixedRequant returns the integer product and effc.Requantize nodes for
// QLinearConv or QLinearMatMul n, or nil when n does not qualify.
func fixedRequant(g *ir.Graph, n *ir.Node) []*ir.Node {
	x, xs, xz, w, ws, wz, ys, yz := n.Inputs[0], n.Input(1), n.Input(2), n.Input(3), n.Input(4), n.Input(5), n.Input(6), n.Input(7)
	scalar := func(v *ir.Value) bool { return v.IsConst() && v.Const.DType == ir.Float32 && v.Const.Len() == 1 }
	if !is8(x.Type.DType) || !w.IsConst() || !is8(w.Const.DType) || yz == nil || !is8(yz.Type.DType) ||
		!scalar(xs) || !scalar(ys) || !ws.IsConst() || ws.Const.DType != ir.Float32 {
		return nil
	}
	op, axis, channels := "ConvInteger", int64(1), w.Const.Shape[0]
	var bias *ir.Value
	if n.Op == "QLinearMatMul" {
		if len(w.Const.Shape) != 2 {
			return nil
		}
		op, axis, channels = "MatMulInteger", -1, w.Const.Shape[1]
	} else {
		bias = n.Input(8)
	}
	if ws.Const.Len() != 1 && int64(ws.Const.Len()) != channels {
		return nil
	}
	mult := ir.NewTensor(ir.Int32, []int64{int64(ws.Const.Len())})
	shift := ir.NewTensor(ir.Int8, []int64{int64(ws.Const.Len())})
	for m := range ws.Const.Len() {
		real := xs.Const.Float64At(0) * ws.Const.Float64At(m) / ys.Const.Float64At(0)
		q, s, ok := quantizeMultiplier(real)
		if !ok {
			return nil
		}
		mult.Data.([]int32)[m], shift.Data.([]int8)[m] = q, int8(s)
	}
	accType := ir.Type{DType: ir.Int32}
	if y := n.Outputs[0]; y.Type.Ranked {
		accType = ir.TensorType(ir.Int32, append(ir.Shape{}, y.Type.Shape...))
	}
	acc := &ir.Value{Name: g.UniqueName(n.Outputs[0].Name + "_acc"), Type: accType}
	prod := &ir.Node{Name: n.Name, Op: op, Doc: n.Doc, Inputs: []*ir.Value{x, w, xz, wz}, Outputs: []*ir.Value{acc}}
	if op == "ConvInteger" {
		for k, a := range n.Attrs {
			prod.SetAttr(k, a)
		}
	}
	acc.Producer = prod
	rq := &ir.Node{Name: g.UniqueName(n.Name + "_requant"), Op: "Requantize", Domain: "effc", Outputs: n.Outputs,
		Inputs: []*ir.Value{acc, bias, g.AddConst(n.Name+"_multiplier", mult), g.AddConst(n.Name+"_shift", shift), yz},
		Attrs:  map[string]*ir.Attr{"axis": ir.IntAttr(axis)}}
	n.Outputs[0].Producer = rq
	return []*ir.Node{prod, rq}
}

// quantizeMultiplier is TFLite's QuantizeMultiplier in effc.Requantize's
// convention: real ≈ q·2^(−31−shift) with q a Q31 in [2^30, 2^31) and
// shift in [−31, 31] (negative: a left shift). real = f·2^e with f in
// [0.5, 1) (frexp); q = round(f·2^31), halved with e+1 when it rounds to
// 2^31; shift = −e. Zero, and a real below 2^−32, give q = 0 as in
// TFLite; ok is false for real ≥ 2^31, negative or not finite.
func quantizeMultiplier(real float64) (q int32, shift int, ok bool) {
	if !(real >= 0) || math.IsInf(real, 0) {
		return 0, 0, false
	}
	if real == 0 {
		return 0, 0, true
	}
	f, e := math.Frexp(real)
	qf := math.Round(f * (1 << 31))
	if qf == 1<<31 {
		qf /= 2
		e++
	}
	switch {
	case e > 31:
		return 0, 0, false
	case e < -31:
		return 0, 0, true
	}
	return int32(qf), -e, true
}
