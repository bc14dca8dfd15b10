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
		nr.MACs = ir.MACs(n, symbolic)
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
