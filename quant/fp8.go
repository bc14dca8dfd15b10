package quant

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// FP8 quantization (docs/passes/quantization.md, section FP8). Weights of
// Conv, ConvTranspose, Gemm and MatMul (and effc.FusedConv) become
//
//	%w = const f32[M,C,kh,kw]   ->   %w8 = const f8e4m3fn[M,C,kh,kw]
//	                                 %ws = const f32[M]
//	                                 %wq = DequantizeLinear(%w8, %ws) {axis=0}
//
// with one scale per output channel, ws[c] = max|W[c]| / max_fp8 (448 for
// E4M3FN, 57344 for E5M2; 1 for an all-zero channel), and W8 the codes of
// W / ws rounded to nearest even and saturated, as QuantizeLinear-19 with
// saturate=1 computes them. In W8A8 mode each such op's activation input X
// also goes through QuantizeLinear→DequantizeLinear with a per-tensor scale
// amax/max_fp8 from the calibrated range of X and an fp8 zero point 0. The
// result is standard ONNX at opset 19, which the encoder raises graphs with
// FP8 tensors to.
//
// Run it after the pass pipeline (bn-fold has then folded the batch norms
// into the weights): const-fold would evaluate the weights' DequantizeLinear
// back to float32 constants.

// FP8Options configures QuantizeFP8.
type FP8Options struct {
	// Format is ir.Float8E4M3FN or ir.Float8E5M2.
	Format ir.DType
	// WeightOnly leaves activations in float32. Otherwise (W8A8) Calib must
	// hold statistics for every quantized op's activation input.
	WeightOnly bool
	// Calib is a calibration of the graph being quantized (Calibrate).
	Calib *Table
	// Ranges derives the activation ranges from Calib; the zero value is
	// MinMax, whose amax maps to the format's largest finite value.
	Ranges RangeOptions
}

// FP8Layer is what QuantizeFP8 did to one op.
type FP8Layer struct {
	Node, Op string
	Weight   string // the float32 weight constant that was quantized
	Axis     int    // the weight's channel axis; -1 for a per-tensor scale
	Channels int
	// ScaleMin and ScaleMax bound the weight scales.
	ScaleMin, ScaleMax float32
	// WeightBytes are the weight's bytes in float32 (before) and as fp8
	// codes (after); ScaleBytes the float32 scales added (after only).
	WeightBytesBefore, WeightBytesAfter, ScaleBytes int64
	// RelError is ‖W − DQ(Q(W))‖₂ / ‖W‖₂ (0 for an all-zero weight).
	RelError float64
	// Activation is the quantized activation input in W8A8 mode ("" in
	// weight-only mode) and ActScale its scale.
	Activation string
	ActScale   float32
}

// FP8Result summarises a QuantizeFP8 run.
type FP8Result struct {
	Format ir.DType
	Layers []FP8Layer
	// Totals over the layers (a weight shared by several ops counts once).
	WeightBytesBefore, WeightBytesAfter, ScaleBytes int64
}

// Ratio is the weight storage before over after, scales included.
func (r *FP8Result) Ratio() float64 {
	after := r.WeightBytesAfter + r.ScaleBytes
	if after == 0 {
		return 0
	}
	return float64(r.WeightBytesBefore) / float64(after)
}

// FP8Max is the largest finite value of an FP8 format: 448 (E4M3FN), 240
// (E4M3FNUZ) or 57344 (E5M2, E5M2FNUZ).
func FP8Max(dt ir.DType) float32 {
	switch dt {
	case ir.Float8E4M3FN:
		return 448
	case ir.Float8E4M3FNUZ:
		return 240
	case ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return 57344
	}
	return 0
}

// ParseFP8Format maps the CLI spellings fp8-e4m3 and fp8-e5m2 (and the IR's
// f8e4m3fn, f8e5m2) to the format QuantizeFP8 takes.
func ParseFP8Format(s string) (ir.DType, error) {
	switch s {
	case "fp8-e4m3", "fp8-e4m3fn", "e4m3", "f8e4m3fn":
		return ir.Float8E4M3FN, nil
	case "fp8-e5m2", "e5m2", "f8e5m2":
		return ir.Float8E5M2, nil
	}
	return ir.Undefined, fmt.Errorf("unknown FP8 format %q; want fp8-e4m3 or fp8-e5m2", s)
}

// QuantizeFP8 rewrites g in place as the package comment above describes
// and reports per layer what it did. Ops whose weight is not a float32
// constant are left alone. g must have inferred shapes.
func QuantizeFP8(g *ir.Graph, opts FP8Options) (*FP8Result, error) {
	if opts.Format != ir.Float8E4M3FN && opts.Format != ir.Float8E5M2 {
		return nil, fmt.Errorf("quantize fp8: format %s; want %s or %s", opts.Format, ir.Float8E4M3FN, ir.Float8E5M2)
	}
	if !opts.WeightOnly && opts.Calib == nil {
		return nil, fmt.Errorf("quantize fp8: W8A8 needs a calibration table (or WeightOnly)")
	}
	res := &FP8Result{Format: opts.Format}
	q := &fp8Rewriter{g: g, opts: opts, weights: map[*ir.Value]*fp8Weight{}, acts: map[*ir.Value]*ir.Value{}}
	for _, n := range append([]*ir.Node{}, g.Nodes...) {
		wi, axis, ok := fp8WeightInput(n)
		if !ok {
			continue
		}
		w := n.Inputs[wi]
		layer := FP8Layer{Node: n.Name, Op: n.Op, Weight: w.Name}
		qw, fresh, err := q.weight(w, axis)
		if err != nil {
			return nil, fmt.Errorf("quantize fp8: %s: %w", n, err)
		}
		n.Inputs[wi] = qw.out
		layer.Axis, layer.Channels = qw.axis, len(qw.scales)
		layer.ScaleMin, layer.ScaleMax = qw.scaleMin, qw.scaleMax
		layer.WeightBytesBefore, layer.WeightBytesAfter, layer.ScaleBytes = 4*int64(w.Const.Len()), int64(w.Const.Len()), 4*int64(len(qw.scales))
		layer.RelError = qw.relErr
		if fresh {
			res.WeightBytesBefore += layer.WeightBytesBefore
			res.WeightBytesAfter += layer.WeightBytesAfter
			res.ScaleBytes += layer.ScaleBytes
		}
		if !opts.WeightOnly {
			if x := n.Inputs[0]; x != nil && !x.IsConst() && x.Type.DType == ir.Float32 {
				dq, s, err := q.activation(x)
				if err != nil {
					return nil, fmt.Errorf("quantize fp8: %s: %w", n, err)
				}
				n.Inputs[0] = dq
				layer.Activation, layer.ActScale = x.Name, s
			}
		}
		res.Layers = append(res.Layers, layer)
	}
	q.dropUnused()
	if err := g.TopoSort(); err != nil {
		return nil, fmt.Errorf("quantize fp8: %w", err)
	}
	return res, nil
}

// fp8WeightInput returns the index of n's weight input and its output
// channel axis (-1: per tensor), when n is an op QuantizeFP8 handles and
// the weight is a float32 constant.
func fp8WeightInput(n *ir.Node) (input, axis int, ok bool) {
	w := n.Input(1)
	if w == nil || !w.IsConst() || w.Const.DType != ir.Float32 || len(w.Const.Shape) == 0 {
		return 0, 0, false
	}
	rank := len(w.Const.Shape)
	switch {
	case n.Op == "Conv" && (n.Domain == "" || n.Domain == "ai.onnx"), n.Op == "FusedConv" && n.Domain == "effc":
		return 1, 0, true
	case n.Op == "ConvTranspose" && n.Domain == "":
		return 1, 1, rank >= 2
	case n.Op == "Gemm" && n.Domain == "":
		if n.AttrInt("transB", 0) != 0 {
			return 1, 0, rank == 2
		}
		return 1, 1, rank == 2
	case n.Op == "MatMul" && n.Domain == "":
		if rank == 1 {
			return 1, -1, true
		}
		return 1, rank - 1, true
	}
	return 0, 0, false
}

// fp8Weight is a quantized weight: its DequantizeLinear output and stats.
type fp8Weight struct {
	out                *ir.Value
	axis               int
	scales             []float32
	scaleMin, scaleMax float32
	relErr             float64
}

// fp8Rewriter holds QuantizeFP8's state: the weights and activations
// already quantized (each once, however many ops read it).
type fp8Rewriter struct {
	g       *ir.Graph
	opts    FP8Options
	weights map[*ir.Value]*fp8Weight
	acts    map[*ir.Value]*ir.Value
	dropped []*ir.Value
}

// weight quantizes constant w along axis (or returns the earlier result;
// fresh reports a new one).
func (q *fp8Rewriter) weight(w *ir.Value, axis int) (qw *fp8Weight, fresh bool, err error) {
	if qw, ok := q.weights[w]; ok {
		return qw, false, nil
	}
	codes, scales, st, err := fp8QuantizeTensor(w.Const, axis, q.opts.Format)
	if err != nil {
		return nil, false, fmt.Errorf("weight %q: %w", w.Name, err)
	}
	g := q.g
	c8 := g.AddConst(w.Name+".fp8", codes)
	sshape := []int64{int64(len(scales))}
	if axis < 0 {
		sshape = nil
	}
	sc := g.AddConst(w.Name+".scale", ir.FromFloat32(sshape, scales))
	out := &ir.Value{Name: g.UniqueName(w.Name + ".dq"), Type: ir.TensorType(ir.Float32, ir.ShapeOf(w.Const.Shape...))}
	dq := &ir.Node{Name: g.UniqueName(w.Name + ".dequantize"), Op: "DequantizeLinear", Inputs: []*ir.Value{c8, sc}, Outputs: []*ir.Value{out}, Attrs: map[string]*ir.Attr{}}
	if axis >= 0 {
		dq.Attrs["axis"] = ir.IntAttr(int64(axis))
	}
	out.Producer = dq
	g.Nodes = append(g.Nodes, dq)
	qw = &fp8Weight{out: out, axis: axis, scales: scales, scaleMin: st.scaleMin, scaleMax: st.scaleMax, relErr: st.relErr}
	q.weights[w] = qw
	q.dropped = append(q.dropped, w)
	return qw, true, nil
}

// activation inserts (once per value) QuantizeLinear→DequantizeLinear on
// x with the per-tensor scale amax/max from x's calibrated range.
func (q *fp8Rewriter) activation(x *ir.Value) (*ir.Value, float32, error) {
	if dq, ok := q.acts[x]; ok {
		return dq, float32(dq.Producer.Inputs[1].Const.Float64At(0)), nil
	}
	st, ok := q.opts.Calib.Stats[x.Name]
	if !ok {
		return nil, 0, fmt.Errorf("activation %q was not calibrated (calibrate the graph being quantized, after the pass pipeline)", x.Name)
	}
	r, err := st.Range(q.opts.Ranges)
	if err != nil {
		return nil, 0, fmt.Errorf("activation %q: %w", x.Name, err)
	}
	amax := max(float32(math.Abs(float64(r.Min))), float32(math.Abs(float64(r.Max))))
	s := fp8Scale(amax, q.opts.Format)
	g := q.g
	sc := g.AddConst(x.Name+".scale", ir.FromFloat32(nil, []float32{s}))
	zp := g.AddConst(x.Name+".zero_point", &ir.Tensor{DType: q.opts.Format, Shape: []int64{}, Data: []uint8{0}})
	qv := &ir.Value{Name: g.UniqueName(x.Name + ".fp8"), Type: ir.TensorType(q.opts.Format, x.Type.Shape)}
	qn := &ir.Node{Name: g.UniqueName(x.Name + ".quantize"), Op: "QuantizeLinear", Inputs: []*ir.Value{x, sc, zp}, Outputs: []*ir.Value{qv}, Attrs: map[string]*ir.Attr{}}
	qv.Producer = qn
	dv := &ir.Value{Name: g.UniqueName(x.Name + ".dq"), Type: x.Type}
	dn := &ir.Node{Name: g.UniqueName(x.Name + ".dequantize"), Op: "DequantizeLinear", Inputs: []*ir.Value{qv, sc, zp}, Outputs: []*ir.Value{dv}, Attrs: map[string]*ir.Attr{}}
	dv.Producer = dn
	g.Nodes = append(g.Nodes, qn, dn)
	q.acts[x] = dv
	return dv, s, nil
}

// dropUnused removes the float32 weight constants no node or output reads
// any more.
func (q *fp8Rewriter) dropUnused() {
	used := map[*ir.Value]bool{}
	for _, n := range q.g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range q.g.Outputs {
		used[o] = true
	}
	drop := map[*ir.Value]bool{}
	for _, w := range q.dropped {
		drop[w] = !used[w]
	}
	kept := q.g.Consts[:0]
	for _, c := range q.g.Consts {
		if !drop[c] {
			kept = append(kept, c)
		}
	}
	q.g.Consts = kept
}

// fp8Scale is amax / max_fp8 in float32, or 1 when amax is 0 or not finite.
func fp8Scale(amax float32, dt ir.DType) float32 {
	if !(amax > 0) || math.IsInf(float64(amax), 0) {
		return 1
	}
	s := amax / FP8Max(dt)
	if s == 0 { // amax below max_fp8 · 2^-149
		return 1
	}
	return s
}

// fp8Stats are the statistics of one quantized weight.
type fp8Stats struct {
	scaleMin, scaleMax float32
	relErr             float64
}

// fp8QuantizeTensor quantizes w per slice along axis (per tensor when axis
// is -1): it returns the fp8 codes, the scales and the statistics.
// Non-finite weights are an error: no scale represents them.
func fp8QuantizeTensor(w *ir.Tensor, axis int, dt ir.DType) (*ir.Tensor, []float32, fp8Stats, error) {
	data := w.Data.([]float32)
	channels, inner := int64(1), int64(len(data))
	if axis >= 0 {
		channels = w.Shape[axis]
		inner = ir.NumElements(w.Shape[axis+1:])
	}
	chanOf := func(i int) int { return int(int64(i) / inner % channels) }
	amax := make([]float32, channels)
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fp8Stats{}, fmt.Errorf("element %d is %v; FP8 scales need finite weights", i, v)
		}
		c := chanOf(i)
		amax[c] = max(amax[c], float32(math.Abs(float64(v))))
	}
	scales := make([]float32, channels)
	st := fp8Stats{scaleMin: float32(math.Inf(1)), scaleMax: float32(math.Inf(-1))}
	for c, a := range amax {
		scales[c] = fp8Scale(a, dt)
		st.scaleMin = min(st.scaleMin, scales[c])
		st.scaleMax = max(st.scaleMax, scales[c])
	}
	codes := make([]uint8, len(data))
	var num, den float64
	for i, v := range data {
		s := scales[chanOf(i)]
		codes[i] = ir.Float32ToFP8(dt, v/s, true)
		d := float64(ir.FP8ToFloat32(dt, codes[i]) * s)
		num += (float64(v) - d) * (float64(v) - d)
		den += float64(v) * float64(v)
	}
	if den > 0 {
		st.relErr = math.Sqrt(num / den)
	}
	return &ir.Tensor{DType: dt, Shape: append([]int64{}, w.Shape...), Data: codes}, scales, st, nil
}
