package effc

import (
	"sort"

	"github.com/effc/effc/ir"
)

// Report summarizes a graph for `effc inspect`: its header, one row per node
// and totals. It marshals to JSON as `effc inspect --json` prints it.
//
// MACs are counted on shapes as shape inference left them. A symbolic
// dimension (such as a batch dimension "N") or an unknown one counts as 1;
// such dimensions are listed in Symbolic, so the figures are per unit of
// each listed dimension (per sample for a symbolic batch).
type Report struct {
	Graph       string       `json:"graph"`
	IRVersion   int64        `json:"ir_version"`
	Opset       int64        `json:"opset"`        // ai.onnx opset of the IR (canonical)
	SourceOpset int64        `json:"source_opset"` // ai.onnx opset the model was exported with
	Producer    string       `json:"producer"`
	Inputs      []ValueInfo  `json:"inputs"`
	Outputs     []ValueInfo  `json:"outputs"`
	Nodes       []NodeReport `json:"nodes"`
	Totals      Totals       `json:"totals"`
	// Symbolic lists the dimension names counted as 1 in MACs ("?" for
	// dimensions with neither a size nor a name), sorted.
	Symbolic []string `json:"symbolic,omitempty"`
}

// ValueInfo names a graph input or output and its type, e.g. "f32[N,1,8,8]".
type ValueInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// NodeReport is one node's row in a Report.
type NodeReport struct {
	Name string `json:"name"`
	Op   string `json:"op"`
	// Domain is empty for ai.onnx ops.
	Domain string `json:"domain,omitempty"`
	// Output is the type of the node's first output, e.g. "f32[N,16,8,8]".
	Output string `json:"output"`
	// Params counts the elements of the node's constant weight inputs (see
	// IsWeight); a constant shared by several nodes counts in each of them.
	Params int64 `json:"params"`
	// MACs counts multiply-accumulates for Conv, ConvTranspose, Gemm and
	// MatMul (and their integer and QLinear forms), and one per
	// element-operation for pooling windows, reductions, BatchNormalization
	// and elementwise arithmetic; 0 for data movement and activations.
	MACs int64 `json:"macs"`
	// Zeros counts exact zeros among the Params elements.
	Zeros int64 `json:"zeros"`
	// Sparsity is Zeros/Params, 0 when the node has no weights.
	Sparsity float64 `json:"sparsity"`
}

// Totals sums a Report. Params, Zeros and WeightBytes count each constant
// weight once, however many nodes read it.
type Totals struct {
	Nodes       int     `json:"nodes"`
	Params      int64   `json:"params"`
	WeightBytes int64   `json:"weight_bytes"`
	MACs        int64   `json:"macs"`
	Zeros       int64   `json:"zeros"`
	Sparsity    float64 `json:"sparsity"`
}

// Inspect builds the Report of g. It reads shapes from value types, so run it
// on a graph after shape inference (Load does that).
func Inspect(g *ir.Graph) *Report {
	r := &Report{
		Graph:       g.Name,
		IRVersion:   g.IRVersion,
		Opset:       g.Opset(),
		SourceOpset: g.SourceOpset,
		Producer:    g.Producer,
		Inputs:      []ValueInfo{},
		Outputs:     []ValueInfo{},
		Nodes:       []NodeReport{},
	}
	for _, v := range g.Inputs {
		r.Inputs = append(r.Inputs, ValueInfo{Name: v.Name, Type: v.Type.String()})
	}
	for _, v := range g.Outputs {
		r.Outputs = append(r.Outputs, ValueInfo{Name: v.Name, Type: v.Type.String()})
	}
	symbolic := map[string]bool{}
	seen := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		nr := NodeReport{Name: n.Name, Op: n.Op, Domain: n.Domain}
		for _, o := range n.Outputs {
			if o != nil {
				nr.Output = o.Type.String()
				break
			}
		}
		for i, in := range n.Inputs {
			if !IsWeight(n, i) {
				continue
			}
			cnt, zeros := int64(in.Const.Len()), countZeros(in.Const)
			nr.Params += cnt
			nr.Zeros += zeros
			if !seen[in] {
				seen[in] = true
				r.Totals.Params += cnt
				r.Totals.Zeros += zeros
				r.Totals.WeightBytes += in.Const.ByteSize()
			}
		}
		if nr.Params > 0 {
			nr.Sparsity = float64(nr.Zeros) / float64(nr.Params)
		}
		c := macCounter{symbolic: symbolic}
		nr.MACs = c.count(n)
		r.Totals.MACs += nr.MACs
		r.Nodes = append(r.Nodes, nr)
	}
	r.Totals.Nodes = len(g.Nodes)
	if r.Totals.Params > 0 {
		r.Totals.Sparsity = float64(r.Totals.Zeros) / float64(r.Totals.Params)
	}
	for s := range symbolic {
		r.Symbolic = append(r.Symbolic, s)
	}
	sort.Strings(r.Symbolic)
	return r
}

// IsWeight reports whether input i of n is a constant weight: a constant
// that holds numbers the model learned or calibrated, rather than a shape,
// an axis list or an index. Constants of dtype i64, bool or string are
// never weights; i32 constants are weights only as the bias of a quantized
// op (QLinearConv, ConvInteger and the like), where they are the usual bias
// type. Every other constant input is a weight.
func IsWeight(n *ir.Node, i int) bool {
	v := n.Input(i)
	if !v.IsConst() {
		return false
	}
	switch v.Const.DType {
	case ir.Int64, ir.Bool, ir.String, ir.Undefined:
		return false
	case ir.Int32, ir.Uint32, ir.Uint64:
		return quantizedOps[n.Op]
	}
	return true
}

// quantizedOps are the ops whose i32 constant inputs are weights (biases).
var quantizedOps = map[string]bool{
	"QLinearConv": true, "QLinearMatMul": true, "ConvInteger": true, "MatMulInteger": true,
	"QuantizeLinear": true, "DequantizeLinear": true,
}

// countZeros counts the elements of t equal to zero (either sign for floats).
func countZeros(t *ir.Tensor) int64 {
	if t.DataLen() < 0 {
		return 0 // elided weights: the data is not here to count
	}
	var z int64
	switch d := t.Data.(type) {
	case []float32:
		for _, x := range d {
			if x == 0 {
				z++
			}
		}
	case []float64:
		for _, x := range d {
			if x == 0 {
				z++
			}
		}
	case []int8:
		for _, x := range d {
			if x == 0 {
				z++
			}
		}
	case []string, []complex64, []complex128:
		return 0
	default:
		// fp16/bf16/fp8 (raw bits) and the wider integer types.
		for i, n := 0, t.Len(); i < n; i++ {
			if t.Float64At(i) == 0 {
				z++
			}
		}
	}
	return z
}

// macCounter counts one node's MACs, recording which symbolic dims it
// treated as 1.
type macCounter struct {
	symbolic map[string]bool
}

// numel is the element count of v's type with symbolic and unknown dims as
// 1; ok is false when the rank is unknown.
func (c macCounter) numel(v *ir.Value) (int64, bool) {
	dims, ok := c.dims(v)
	if !ok {
		return 0, false
	}
	return product(dims), true
}

// dims returns v's dimension sizes with symbolic and unknown dims as 1.
func (c macCounter) dims(v *ir.Value) ([]int64, bool) {
	if v == nil {
		return nil, false
	}
	if v.Const != nil {
		return v.Const.Shape, true
	}
	if !v.Type.Ranked {
		return nil, false
	}
	out := make([]int64, len(v.Type.Shape))
	for i, d := range v.Type.Shape {
		if d.Known() {
			out[i] = d.Size
			continue
		}
		out[i] = 1
		if d.Param != "" {
			c.symbolic[d.Param] = true
		} else {
			c.symbolic["?"] = true
		}
	}
	return out, true
}

func product(dims []int64) int64 {
	p := int64(1)
	for _, d := range dims {
		p *= d
	}
	return p
}

// elementwiseOps cost one operation per output element per extra input.
var elementwiseOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Sum": true, "Mean": true,
	"Max": true, "Min": true, "Pow": true, "PRelu": true,
}

// reduceOps cost one operation per input element.
var reduceOps = map[string]bool{
	"ReduceSum": true, "ReduceMean": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true,
	"ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true, "ReduceSumSquare": true,
	"GlobalAveragePool": true, "GlobalMaxPool": true, "GlobalLpPool": true,
}

// count returns n's MACs (see NodeReport.MACs); 0 when the shapes it needs
// are not known.
func (c macCounter) count(n *ir.Node) int64 {
	out := n.Outputs
	var y *ir.Value
	if len(out) > 0 {
		y = out[0]
	}
	switch {
	case n.Op == "Conv" || n.Op == "ConvInteger":
		return c.conv(y, n.Input(1))
	case n.Op == "QLinearConv":
		return c.conv(y, n.Input(3))
	case n.Op == "ConvTranspose":
		// Each input element scatters into Cout/group * prod(kernel) outputs.
		x, ok1 := c.numel(n.Input(0))
		w, ok2 := c.dims(n.Input(1))
		if !ok1 || !ok2 || len(w) < 2 {
			return 0
		}
		return x * product(w[1:])
	case n.Op == "Gemm":
		a, ok := c.dims(n.Input(0))
		ny, ok2 := c.numel(y)
		if !ok || !ok2 || len(a) != 2 {
			return 0
		}
		k := a[1]
		if n.AttrInt("transA", 0) != 0 {
			k = a[0]
		}
		return ny * k
	case n.Op == "MatMul" || n.Op == "MatMulInteger":
		return c.matmul(y, n.Input(0))
	case n.Op == "QLinearMatMul":
		return c.matmul(y, n.Input(0))
	case n.Op == "MaxPool" || n.Op == "AveragePool" || n.Op == "LpPool":
		ny, ok := c.numel(y)
		if !ok {
			return 0
		}
		return ny * product(n.AttrInts("kernel_shape", nil))
	case reduceOps[n.Op]:
		nx, ok := c.numel(n.Input(0))
		if !ok {
			return 0
		}
		return nx
	case n.Op == "BatchNormalization" || n.Op == "InstanceNormalization" || n.Op == "LayerNormalization":
		ny, ok := c.numel(y)
		if !ok {
			return 0
		}
		return ny
	case elementwiseOps[n.Op]:
		ny, ok := c.numel(y)
		if !ok {
			return 0
		}
		extra := int64(0)
		for _, in := range n.Inputs {
			if in != nil {
				extra++
			}
		}
		if extra > 1 {
			extra--
		}
		return ny * extra
	}
	return 0
}

// conv counts output elements times the weight's per-output fan-in
// (Cin/group * prod(kernel)).
func (c macCounter) conv(y, w *ir.Value) int64 {
	ny, ok1 := c.numel(y)
	wd, ok2 := c.dims(w)
	if !ok1 || !ok2 || len(wd) < 2 {
		return 0
	}
	return ny * product(wd[1:])
}

// matmul counts output elements times the inner dimension, A's last dim.
func (c macCounter) matmul(y, a *ir.Value) int64 {
	ny, ok1 := c.numel(y)
	ad, ok2 := c.dims(a)
	if !ok1 || !ok2 || len(ad) == 0 {
		return 0
	}
	return ny * ad[len(ad)-1]
}
