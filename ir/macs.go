package ir

// MACs counts n's multiply-accumulates from its value types: Conv,
// ConvTranspose, Gemm and MatMul (and their integer, QLinear and effc fused
// forms) count multiply-accumulates; pooling windows, reductions,
// normalizations and elementwise arithmetic count one per element
// operation; data movement and activations count 0. Symbolic and unknown
// dims count as 1 and their names are added to symbolic ("?" for unnamed
// ones) when symbolic is not nil. Unknown shapes count 0.
func MACs(n *Node, symbolic map[string]bool) int64 {
	return macCounter{symbolic: symbolic}.count(n)
}

// macCounter counts one node's MACs, recording which symbolic dims it
// treated as 1.
type macCounter struct {
	symbolic map[string]bool
}

// numel is the element count of v's type with symbolic and unknown dims as
// 1; ok is false when the rank is unknown.
func (c macCounter) numel(v *Value) (int64, bool) {
	dims, ok := c.dims(v)
	if !ok {
		return 0, false
	}
	return product(dims), true
}

// dims returns v's dimension sizes with symbolic and unknown dims as 1.
func (c macCounter) dims(v *Value) ([]int64, bool) {
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
		if c.symbolic == nil {
			continue
		}
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
func (c macCounter) count(n *Node) int64 {
	out := n.Outputs
	var y *Value
	if len(out) > 0 {
		y = out[0]
	}
	switch {
	case n.Op == "Conv" || n.Op == "ConvInteger" || n.Domain == "effc" && n.Op == "FusedConv":
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
func (c macCounter) conv(y, w *Value) int64 {
	ny, ok1 := c.numel(y)
	wd, ok2 := c.dims(w)
	if !ok1 || !ok2 || len(wd) < 2 {
		return 0
	}
	return ny * product(wd[1:])
}

// matmul counts output elements times the inner dimension, A's last dim.
func (c macCounter) matmul(y, a *Value) int64 {
	ny, ok1 := c.numel(y)
	ad, ok2 := c.dims(a)
	if !ok1 || !ok2 || len(ad) == 0 {
		return 0
	}
	return ny * ad[len(ad)-1]
}
