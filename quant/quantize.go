package quant

import (
	"fmt"
	"strings"

	"github.com/effc/effc/ir"
)

// The quantization schemes Quantize accepts.
const (
	SchemeInt8    = "int8"
	SchemeFP8E4M3 = "fp8-e4m3"
	SchemeFP8E5M2 = "fp8-e5m2"
)

// QuantizeOptions configure Quantize.
type QuantizeOptions struct {
	// Scheme is SchemeInt8 ("" means int8), SchemeFP8E4M3 or
	// SchemeFP8E5M2 (QuantizeFP8).
	Scheme string
	// Calib holds the activation statistics of a calibration run on the
	// graph being quantized; nil quantizes the weights only.
	Calib *Table
	// Range derives each activation's range from its statistics.
	Range RangeOptions
	// KeepFloat names layers (node names) to leave in float (int8 only).
	KeepFloat []string
	// ActDType is the int8 scheme's activation type, ir.Uint8 (the default
	// for ir.Undefined) or ir.Int8; both are asymmetric per tensor.
	ActDType ir.DType
}

// Quantize rewrites g, in place, into the ONNX QDQ form of opts.Scheme and
// reports what it did. g should be cleaned up first, with BatchNormalization
// folded (the "quant-prep" pipeline), and calibrated in that form.
//
// For int8, every Conv, Gemm and MatMul with constant weights gets int8
// weights, symmetric per output channel, behind a DequantizeLinear; its
// activation input and output (after a Relu or Clip that follows it, which
// the output's range then absorbs) get a QuantizeLinear→DequantizeLinear
// pair with per-tensor asymmetric parameters from the calibrated ranges;
// its bias becomes int32 with scale s_in·s_w[m]. MaxPool, Flatten and
// Reshape on a quantized tensor keep its parameters; an Add of two
// quantized tensors of one shape, and an AveragePool or GlobalAveragePool
// of a quantized tensor, get their output (after a Relu or Clip) quantized
// with the calibrated range. Every other op stays float between the pairs. The qdq-fuse pass later turns the patterns into integer
// kernels; frontend.Save writes the QDQ form for ONNX Runtime as it is.
//
// Without opts.Calib only the weights are quantized. The FP8 schemes run
// QuantizeFP8 instead (see quantizeFP8). Report.Measure adds the per-layer
// error against the float graph.
func Quantize(g *ir.Graph, opts QuantizeOptions) (*Report, error) {
	switch opts.Scheme {
	case "", SchemeInt8:
		return quantizeInt8(g, opts)
	case SchemeFP8E4M3, SchemeFP8E5M2:
		return quantizeFP8(g, opts)
	}
	return nil, fmt.Errorf("unknown quantization scheme %q; want %s, %s or %s", opts.Scheme, SchemeInt8, SchemeFP8E4M3, SchemeFP8E5M2)
}

// quantizeFP8 runs QuantizeFP8 (weights per output channel; activations
// too when opts.Calib is set, W8A8) and reports it in the int8 scheme's
// terms, so Measure and the CLI serve both: one layer per quantized op,
// whose input parameters are the FP8 activation scale (zero point 0) and
// whose output, left in float32, is compared with the float model's.
func quantizeFP8(g *ir.Graph, opts QuantizeOptions) (*Report, error) {
	if len(opts.KeepFloat) > 0 {
		return nil, fmt.Errorf("--keep-float applies to int8 only; FP8 quantizes every weighted op")
	}
	format, err := ParseFP8Format(opts.Scheme)
	if err != nil {
		return nil, err
	}
	rep := &Report{Scheme: opts.Scheme, WeightsOnly: opts.Calib == nil, Activations: ir.Float32.String(), ConstBytes: Bytes{Before: constBytes(g)}}
	if opts.Calib != nil {
		rep.Activations, rep.Method, rep.Samples = format.String(), opts.Range.Method.String(), opts.Calib.Samples
	}
	res, err := QuantizeFP8(g, FP8Options{Format: format, WeightOnly: opts.Calib == nil, Calib: opts.Calib, Ranges: opts.Range})
	if err != nil {
		return nil, err
	}
	nodes := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		nodes[n.Name] = n
	}
	for _, fl := range res.Layers {
		l := Layer{Node: fl.Node, Op: fl.Op, WeightScaleMin: fl.ScaleMin, WeightScaleMax: fl.ScaleMax}
		if n := nodes[fl.Node]; n != nil && fl.Activation != "" {
			l.Input = &Affine{Scale: fl.ActScale, DType: format}
			l.in = probe{float: fl.Activation, quant: n.Inputs[0].Name}
			l.out = probe{float: n.Outputs[0].Name, quant: n.Outputs[0].Name}
		}
		rep.Layers = append(rep.Layers, l)
	}
	rep.WeightBytes = Bytes{Before: res.WeightBytesBefore, After: res.WeightBytesAfter}
	rep.ConstBytes.After = constBytes(g)
	return rep, nil
}

// rewriter inserts the QDQ form of the int8 scheme into a graph.
type rewriter struct {
	g      *ir.Graph
	act    ir.DType
	ranges map[string]Range        // nil: weights only
	dq     map[*ir.Value]*ir.Value // float activation -> its DequantizeLinear output
	params map[*ir.Value]Affine    // DequantizeLinear output -> its parameters
	// floatName maps a DequantizeLinear output to the name of the float
	// activation it stands for, as the float graph names it.
	floatName map[*ir.Value]string
	rep       *Report
}

// quantizeInt8 is Quantize for the int8 scheme.
func quantizeInt8(g *ir.Graph, opts QuantizeOptions) (*Report, error) {
	act := opts.ActDType
	if act == ir.Undefined {
		act = ir.Uint8
	}
	if act != ir.Uint8 && act != ir.Int8 {
		return nil, fmt.Errorf("activation type %s: want u8 or i8", act)
	}
	nodes := map[string]bool{}
	for _, n := range g.Nodes {
		nodes[n.Name] = true
	}
	keep := map[string]bool{}
	var unknown []string
	for _, name := range opts.KeepFloat {
		if !nodes[name] {
			unknown = append(unknown, name)
		}
		keep[name] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("--keep-float: no node named %s; layer names are in the report", strings.Join(unknown, ", "))
	}
	r := &rewriter{g: g, act: act, dq: map[*ir.Value]*ir.Value{}, params: map[*ir.Value]Affine{}, floatName: map[*ir.Value]string{},
		rep: &Report{Scheme: SchemeInt8, Activations: act.String(), ConstBytes: Bytes{Before: constBytes(g)}}}
	if opts.Calib == nil {
		r.rep.WeightsOnly = true
	} else {
		var err error
		if r.ranges, err = opts.Calib.Ranges(opts.Range); err != nil {
			return nil, fmt.Errorf("calibration ranges: %w", err)
		}
		r.rep.Method, r.rep.Samples = opts.Range.Method.String(), opts.Calib.Samples
	}
	reasons := map[*ir.Node]string{}
	folded := map[*ir.Node]bool{}
	for _, n := range append([]*ir.Node{}, g.Nodes...) {
		if keep[n.Name] {
			reasons[n] = "--keep-float"
			continue
		}
		if !isLayer(n) {
			switch {
			case n.Domain != "" || r.ranges == nil:
			case n.Op == "MaxPool", n.Op == "Flatten", n.Op == "Reshape":
				r.passThrough(n)
			case n.Op == "AveragePool", n.Op == "GlobalAveragePool":
				if act := r.averagePool(n); act != nil {
					folded[act] = true
				}
			case n.Op == "Add":
				if act := r.residual(n); act != nil {
					folded[act] = true
				}
			}
			continue
		}
		act, why, err := r.layer(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if why != "" {
			reasons[n] = why
		}
		if act != nil {
			folded[act] = true
		}
	}
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	if err := ir.InferShapes(g); err != nil {
		return nil, fmt.Errorf("after inserting QuantizeLinear/DequantizeLinear: %w", err)
	}
	r.listFloat(reasons, folded)
	r.rep.ConstBytes.After = constBytes(g)
	return r.rep, nil
}

// isLayer reports whether n is an op the int8 scheme gives integer weights.
func isLayer(n *ir.Node) bool {
	return n.Domain == "" && (n.Op == "Conv" || n.Op == "Gemm" || n.Op == "MatMul")
}

// layerWeights checks that n's weights (and bias) have the form the scheme
// quantizes and returns them with the per-channel axis; a non-empty reason
// says why n stays float.
func layerWeights(n *ir.Node) (w, b *ir.Value, axis int, reason string) {
	w = n.Input(1)
	if !w.IsConst() || w.Const.DType != ir.Float32 {
		return nil, nil, 0, "its weights are not a float32 constant"
	}
	rank := len(w.Const.Shape)
	switch n.Op {
	case "Conv":
		if rank < 3 {
			return nil, nil, 0, "its weights are not a convolution kernel"
		}
		b = n.Input(2)
	case "Gemm":
		if rank != 2 || n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
			return nil, nil, 0, "only Gemm with transA=0, alpha=1 and beta=1 has an integer kernel"
		}
		if n.AttrInt("transB", 0) == 0 {
			axis = 1
		}
		b = n.Input(2)
	case "MatMul":
		if rank != 2 {
			return nil, nil, 0, "only MatMul with a 2-D constant B has an integer kernel"
		}
		axis = 1
	}
	if b != nil && (!b.IsConst() || b.Const.DType != ir.Float32 || len(b.Const.Shape) != 1 || b.Const.Shape[0] != w.Const.Shape[axis]) {
		return nil, nil, 0, fmt.Sprintf("its bias is not a float32 constant of shape [%d]", w.Const.Shape[axis])
	}
	return w, b, axis, ""
}

// layer quantizes one Conv, Gemm or MatMul. It returns the Relu or Clip
// whose range the output took over, or a reason to leave n float.
func (r *rewriter) layer(n *ir.Node) (*ir.Node, string, error) {
	w, b, axis, reason := layerWeights(n)
	if reason != "" {
		return nil, reason, nil
	}
	cw, err := quantizeWeights(w.Const, axis)
	if err != nil {
		return nil, "", err
	}
	l := Layer{Node: n.Name, Op: n.Op, WeightScaleMin: cw.Scales[0], WeightScaleMax: cw.Scales[0]}
	for _, s := range cw.Scales {
		l.WeightScaleMin, l.WeightScaleMax = min(l.WeightScaleMin, s), max(l.WeightScaleMax, s)
	}
	r.rep.WeightBytes.Before += w.Const.ByteSize()
	r.rep.WeightBytes.After += cw.Q.ByteSize()
	x, out := n.Inputs[0], n.Outputs[0]
	point, act := r.outputPoint(out)
	var xa, ya Affine
	if r.ranges != nil {
		// x is already dequantized when an earlier layer's output is x.
		var known bool
		if xa, known = r.params[x]; !known {
			xr, ok := r.ranges[x.Name]
			if !ok {
				return nil, fmt.Sprintf("no calibration statistics for its input %q", x.Name), nil
			}
			xa = affineFor(xr, r.act)
		}
		yr, ok := r.ranges[point.Name]
		if !ok {
			return nil, fmt.Sprintf("no calibration statistics for its output %q", point.Name), nil
		}
		ya = affineFor(yr, r.act)
	}
	n.Inputs[1] = r.dequantize(w.Name, cw.Q, cw.Scales, zeroPoints(len(cw.Scales)), cw.Axis)
	if r.ranges == nil {
		r.rep.Layers = append(r.rep.Layers, l)
		return nil, "", nil
	}
	n.Inputs[0] = r.quantized(x, xa)
	if b != nil {
		bq, bs, err := quantizeBias(b.Const, xa.Scale, cw.Scales)
		if err != nil {
			return nil, "", err
		}
		n.Inputs[2] = r.dequantize(b.Name, bq, bs, nil, 0)
	}
	l.in, l.out = r.probe(n.Inputs[0]), r.probe(r.quantized(point, ya))
	l.Input, l.Output = &xa, &ya
	if act != nil {
		l.Activation = act.Op
	}
	r.rep.Layers = append(r.rep.Layers, l)
	return act, "", nil
}

// outputPoint is where a layer's output is quantized: after the Relu or
// Clip (with constant bounds) that is the only reader of y, whose clamp the
// output range then absorbs, else y itself.
func (r *rewriter) outputPoint(y *ir.Value) (*ir.Value, *ir.Node) {
	var readers []*ir.Node
	for _, n := range r.g.Nodes {
		for _, in := range n.Inputs {
			if in == y {
				readers = append(readers, n)
				break
			}
		}
	}
	if len(readers) != 1 || r.g.IsOutput(y) {
		return y, nil
	}
	a := readers[0]
	switch {
	case a.Domain != "":
	case a.Op == "Relu",
		a.Op == "Clip" && (a.Input(1) == nil || a.Input(1).IsConst()) && (a.Input(2) == nil || a.Input(2).IsConst()):
		return a.Outputs[0], a
	}
	return y, nil
}

// passThrough quantizes the output of a MaxPool, Flatten or Reshape whose
// input is quantized with the input's parameters: the maximum of
// dequantized values, and moved ones, requantize to the same integers, so
// qdq-fuse runs it on integers.
func (r *rewriter) passThrough(n *ir.Node) {
	p, ok := r.params[n.Inputs[0]]
	if !ok || len(n.Outputs) != 1 {
		return
	}
	r.rep.Layers = append(r.rep.Layers, Layer{Node: n.Name, Op: n.Op, Input: &p, Output: &p,
		in: r.probe(n.Inputs[0]), out: r.probe(r.quantized(n.Outputs[0], p))})
}

// residual quantizes the output of an Add of two quantized tensors of one
// shape (a residual connection), after the Relu or Clip that follows it,
// so qdq-fuse makes it an integer effc.QLinearAdd. It returns the absorbed
// activation, if any.
func (r *rewriter) residual(n *ir.Node) *ir.Node {
	a, b := n.Inputs[0], n.Input(1)
	pa, okA := r.params[a]
	_, okB := r.params[b]
	if !okA || !okB || len(n.Outputs) != 1 || !a.Type.Ranked || a.Type.Shape.String() != b.Type.Shape.String() {
		return nil
	}
	return r.outputLayer(n, a, pa)
}

// outputLayer quantizes n's output (after the activation it absorbs, if
// any) with the calibrated range and records n as a layer reading x, whose
// parameters are xa. It returns the absorbed activation; nil, with nothing
// recorded, when the output has no calibrated range.
func (r *rewriter) outputLayer(n *ir.Node, x *ir.Value, xa Affine) *ir.Node {
	point, act := r.outputPoint(n.Outputs[0])
	yr, ok := r.ranges[point.Name]
	if !ok {
		return nil
	}
	ya := affineFor(yr, r.act)
	l := Layer{Node: n.Name, Op: n.Op, Input: &xa, Output: &ya, in: r.probe(x), out: r.probe(r.quantized(point, ya))}
	if act != nil {
		l.Activation = act.Op
	}
	r.rep.Layers = append(r.rep.Layers, l)
	return act
}

// quantized inserts QuantizeLinear→DequantizeLinear with parameters a after
// the float activation v, makes every reader of v read the dequantized
// value, and returns it; a second call for v returns the same value. A graph
// output keeps its name: the dequantized value takes it.
func (r *rewriter) quantized(v *ir.Value, a Affine) *ir.Value {
	if d, ok := r.dq[v]; ok {
		return d
	}
	if _, ok := r.params[v]; ok {
		return v // v is a DequantizeLinear output already
	}
	g := r.g
	name := v.Name
	scale := g.AddConst(name+"_scale", &ir.Tensor{DType: ir.Float32, Shape: []int64{}, Data: []float32{a.Scale}})
	zp := g.AddConst(name+"_zero_point", a.zeroPointTensor())
	qv := &ir.Value{Name: g.UniqueName(name + "_quantized"), Type: ir.TensorType(a.DType, v.Type.Shape)}
	qn := &ir.Node{Name: g.UniqueName(name + "_QuantizeLinear"), Op: "QuantizeLinear", Inputs: []*ir.Value{v, scale, zp}, Outputs: []*ir.Value{qv}}
	qv.Producer = qn
	dv := &ir.Value{Name: g.UniqueName(name + "_dequantized"), Type: ir.TensorType(ir.Float32, v.Type.Shape)}
	dn := &ir.Node{Name: g.UniqueName(name + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: []*ir.Value{qv, scale, zp}, Outputs: []*ir.Value{dv}}
	dv.Producer = dn
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == v {
				n.Inputs[i] = dv
			}
		}
	}
	if g.IsOutput(v) {
		v.Name = g.UniqueName(name + "_float")
		dv.Name = name
		for i, o := range g.Outputs {
			if o == v {
				g.Outputs[i] = dv
			}
		}
	}
	g.Nodes = append(g.Nodes, qn, dn)
	r.dq[v], r.params[dv], r.floatName[dv] = dv, a, name
	return dv
}

// probe pairs the DequantizeLinear output dv with the float value it
// stands for, for Report.Measure.
func (r *rewriter) probe(dv *ir.Value) probe {
	return probe{float: r.floatName[dv], quant: dv.Name}
}

// dequantize adds the constant q with its per-axis scales (and zero
// points, if any) and a DequantizeLinear of them, and returns its output.
func (r *rewriter) dequantize(base string, q *ir.Tensor, scales []float32, zp *ir.Tensor, axis int) *ir.Value {
	g := r.g
	qc := g.AddConst(base+"_quantized", q)
	sc := g.AddConst(base+"_scale", &ir.Tensor{DType: ir.Float32, Shape: []int64{int64(len(scales))}, Data: scales})
	ins := []*ir.Value{qc, sc}
	if zp != nil {
		ins = append(ins, g.AddConst(base+"_zero_point", zp))
	}
	out := &ir.Value{Name: g.UniqueName(base + "_dequantized"), Type: ir.TensorType(ir.Float32, ir.ShapeOf(q.Shape...))}
	n := &ir.Node{Name: g.UniqueName(base + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: ins, Outputs: []*ir.Value{out},
		Attrs: map[string]*ir.Attr{"axis": ir.IntAttr(int64(axis))}}
	out.Producer = n
	g.Nodes = append(g.Nodes, n)
	return out
}

// zeroPoints is the int8 zero point (0) of n weight channels: ONNX
// Runtime's quantizer writes one, and QLinearConv needs one.
func zeroPoints(n int) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int8, Shape: []int64{int64(n)}, Data: make([]int8, n)}
}

// listFloat fills the report's float ops: every node that is neither a
// quantized layer, nor a Relu/Clip a layer's output range absorbed, nor a
// QuantizeLinear/DequantizeLinear, with the reason it stays float.
func (r *rewriter) listFloat(reasons map[*ir.Node]string, folded map[*ir.Node]bool) {
	quantized := map[string]bool{}
	for _, l := range r.rep.Layers {
		quantized[l.Node] = l.Output != nil || r.rep.WeightsOnly
	}
	for _, n := range r.g.Nodes {
		if quantized[n.Name] || folded[n] || n.Op == "QuantizeLinear" || n.Op == "DequantizeLinear" {
			continue
		}
		why := reasons[n]
		switch {
		case why != "":
		case r.rep.WeightsOnly:
			why = "weights-only quantization (no calibration data) quantizes no activations"
		case isLayer(n):
			why = "not quantized"
		default:
			why = "effc has no integer kernel for " + n.Op + "; it runs in float between DequantizeLinear and QuantizeLinear"
		}
		r.rep.Float = append(r.rep.Float, FloatOp{Node: n.Name, Op: n.Op, Reason: why})
	}
}

// constBytes is the size of the constants the graph's nodes read.
func constBytes(g *ir.Graph) int64 {
	seen := map[*ir.Value]bool{}
	var total int64
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in.IsConst() && !seen[in] {
				seen[in] = true
				total += in.Const.ByteSize()
			}
		}
	}
	return total
}
