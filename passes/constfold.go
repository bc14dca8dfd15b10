package passes

import (
	"fmt"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// foldLimit bounds the elements a folded result may have: folding must not
// turn a small Expand or ConstantOfShape into megabytes of weights.
const foldLimit = 1 << 20

// foldConstants evaluates, with the reference interpreter, every node whose
// inputs are all constant, and replaces its outputs by constants. Shape and
// Size of a value with a static shape fold too, which removes the
// Shape→Gather→Concat→Reshape chains that exporters emit:
//
//	%s = Shape(%x: f32[1,64,7,7]); %f = Reshape(%x, %s2)   ->   %s = const i64[4] = [1,64,7,7]
//
// Nondeterministic ops (Random*), results above foldLimit elements and the
// DequantizeLinear of an FP8 constant stay: the last is how FP8 weights are
// stored (quant.QuantizeFP8), one byte each, decoded by the backend.
func foldConstants(_ *Context, g *ir.Graph) error {
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		outs, err := foldNode(n)
		if err != nil {
			return err
		}
		if outs == nil {
			continue
		}
		for i, o := range n.Outputs {
			if o == nil {
				continue
			}
			o.Const = outs[i]
			o.Producer = nil
			o.Type = ir.TensorType(outs[i].DType, ir.ShapeOf(outs[i].Shape...))
			g.Consts = append(g.Consts, o)
		}
		dead[n] = true
	}
	g.RemoveNodes(dead)
	return nil
}

// foldNode returns the constant outputs of n, or nil when n cannot fold.
func foldNode(n *ir.Node) ([]*ir.Tensor, error) {
	if n.Domain != "" || !interp.Supported(n.Op) || isRandom(n.Op) || isFP8Weight(n) {
		return nil, nil
	}
	if t := foldShapeOf(n); t != nil {
		return []*ir.Tensor{t}, nil
	}
	args := make([]*ir.Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		if in == nil {
			continue
		}
		if !in.IsConst() {
			return nil, nil
		}
		args[i] = in.Const
	}
	for _, o := range n.Outputs {
		if o != nil && o.Type.Ranked && o.Type.Shape.Static() && ir.NumElements(o.Type.Shape.Sizes()) > foldLimit {
			return nil, nil
		}
	}
	outs, err := interp.EvalNode(n, args)
	if err != nil {
		return nil, fmt.Errorf("folding constants: %w", err)
	}
	for i, o := range n.Outputs {
		if o != nil && (i >= len(outs) || outs[i] == nil) {
			return nil, nil
		}
		if o != nil && outs[i].Len() > foldLimit {
			return nil, nil
		}
	}
	return outs, nil
}

// foldShapeOf folds Shape and Size of a value whose shape is static.
func foldShapeOf(n *ir.Node) *ir.Tensor {
	if (n.Op != "Shape" && n.Op != "Size") || len(n.Inputs) != 1 || n.Inputs[0] == nil {
		return nil
	}
	t := n.Inputs[0].Type
	if !t.Ranked || !t.Shape.Static() {
		return nil
	}
	dims := t.Shape.Sizes()
	if n.Op == "Size" {
		return ir.Scalar(ir.NumElements(dims))
	}
	rank := int64(len(dims))
	start, end := n.AttrInt("start", 0), n.AttrInt("end", rank)
	start, end = clampAxis(start, rank), clampAxis(end, rank)
	if end < start {
		end = start
	}
	return ir.FromInt64([]int64{end - start}, append([]int64{}, dims[start:end]...))
}

// clampAxis applies Shape's start/end rule: negative counts from the back,
// then clamp to [0, rank].
func clampAxis(a, rank int64) int64 {
	if a < 0 {
		a += rank
	}
	return min(max(a, 0), rank)
}

// isFP8Weight reports whether n dequantizes an FP8 constant.
func isFP8Weight(n *ir.Node) bool {
	x := n.Input(0)
	return n.Op == "DequantizeLinear" && x.IsConst() && x.Const.DType.IsFP8()
}

func isRandom(op string) bool {
	switch op {
	case "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli":
		return true
	}
	return false
}
