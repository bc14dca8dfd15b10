package passes

import (
	"math"

	"github.com/effc/effc/ir"
)

// foldBatchNorms folds an inference BatchNormalization into the Conv,
// ConvTranspose or Gemm that feeds it, when the producer's weights and the
// BatchNormalization parameters are constants and nothing else reads the
// producer's output. With s = scale / sqrt(var + epsilon):
//
//	%c = Conv(%x, %w, %b); %y = BatchNormalization(%c, %scale, %shift, %mean, %var)
//	  ->  %y = Conv(%x, %w·s, (%b - %mean)·s + %shift)
//
// Output channel m of the producer is scaled by s[m]; the bias is created
// when the producer had none. Only float32 and float64 weights fold.
func foldBatchNorms(_ *Context, g *ir.Graph) error {
	consumers := g.Consumers()
	dead := map[*ir.Node]bool{}
	for _, bn := range g.Nodes {
		if bn.Op != "BatchNormalization" || bn.Domain != "" || bn.AttrInt("training_mode", 0) != 0 {
			continue
		}
		if len(bn.Inputs) != 5 || extraOutputsUsed(bn, consumers) {
			continue
		}
		x := bn.Inputs[0]
		p := x.Producer
		if p == nil || len(consumers[x]) != 1 || g.IsOutput(x) || dead[p] {
			continue
		}
		s, shift, ok := bnAffine(bn)
		if !ok {
			continue
		}
		var folded bool
		switch p.Op {
		case "Conv":
			folded = foldIntoConv(g, p, s, shift)
		case "ConvTranspose":
			folded = foldIntoConvTranspose(g, p, s, shift)
		case "Gemm":
			folded = foldIntoGemm(g, p, s, shift)
		}
		if !folded {
			continue
		}
		if g.ReplaceUses(bn.Outputs[0], x) {
			dead[bn] = true
		}
	}
	g.RemoveNodes(dead)
	return nil
}

// extraOutputsUsed reports whether the training outputs of bn are read.
func extraOutputsUsed(bn *ir.Node, consumers map[*ir.Value][]*ir.Node) bool {
	for _, o := range bn.Outputs[1:] {
		if o != nil && len(consumers[o]) > 0 {
			return true
		}
	}
	return false
}

// bnAffine returns s and t with BN(x) = x·s + t per channel, when all
// parameters are constant vectors of one length.
func bnAffine(bn *ir.Node) (s, t []float64, ok bool) {
	var p [4][]float64
	for i := range p {
		v := bn.Inputs[i+1]
		if !v.IsConst() || v.Const.DataLen() < 0 || !v.Const.DType.IsFloat() || len(v.Const.Shape) != 1 {
			return nil, nil, false
		}
		p[i] = v.Const.Float64s()
		if len(p[i]) != len(p[0]) {
			return nil, nil, false
		}
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	s, t = make([]float64, len(p[0])), make([]float64, len(p[0]))
	for c := range s {
		s[c] = p[0][c] / math.Sqrt(p[3][c]+eps)
		t[c] = p[1][c] - p[2][c]*s[c]
	}
	return s, t, true
}

// foldIntoConv scales W[m, ...] by s[m] and sets b'[m] = b[m]·s[m] + t[m].
func foldIntoConv(g *ir.Graph, n *ir.Node, s, t []float64) bool {
	w, b, ok := foldableWeights(n, 1)
	if !ok || w.Shape[0] != int64(len(s)) {
		return false
	}
	per := w.Len() / len(s)
	return rewriteWeights(g, n, w, b, s, t, func(i int) int { return i / per })
}

// foldIntoConvTranspose scales W[c, j, ...] by s[o] where o is the output
// channel that weight feeds: group(c)·(M/g) + j.
func foldIntoConvTranspose(g *ir.Graph, n *ir.Node, s, t []float64) bool {
	w, b, ok := foldableWeights(n, 1)
	if !ok || len(w.Shape) < 2 {
		return false
	}
	groups := n.AttrInt("group", 1)
	cin, mg := w.Shape[0], w.Shape[1]
	if groups <= 0 || cin%groups != 0 || mg*groups != int64(len(s)) {
		return false
	}
	k := int64(w.Len()) / (cin * mg)
	return rewriteWeights(g, n, w, b, s, t, func(i int) int {
		c, j := int64(i)/(mg*k), (int64(i)/k)%mg
		return int(c/(cin/groups)*mg + j)
	})
}

// foldIntoGemm scales the columns of op(B) (output features) and folds the
// bias C (times beta) into a new C of shape [M].
func foldIntoGemm(g *ir.Graph, n *ir.Node, s, t []float64) bool {
	if n.AttrFloat("beta", 1) != 1 && n.Input(2) != nil && !n.Input(2).IsConst() {
		return false
	}
	w, _, ok := foldableWeights(n, 1)
	if !ok || len(w.Shape) != 2 {
		return false
	}
	transB := n.AttrInt("transB", 0) != 0
	m := w.Shape[1]
	if transB {
		m = w.Shape[0]
	}
	if m != int64(len(s)) {
		return false
	}
	c := n.Input(2)
	if c != nil && (!c.IsConst() || c.Const.DataLen() < 0 || !c.Const.DType.IsFloat() || !broadcastsToRow(c.Const.Shape, m)) {
		return false
	}
	// C may be [M], [1,M] or a scalar; fold beta·C into a [M] bias.
	beta := float64(n.AttrFloat("beta", 1))
	bias := make([]float64, m)
	if c != nil {
		cv := c.Const.Float64s()
		for j := range bias {
			bias[j] = beta * cv[j%len(cv)]
		}
	}
	bt := ir.NewTensor(w.DType, []int64{m})
	for j := range bias {
		setFloat(bt, j, bias[j])
	}
	col := func(i int) int {
		if transB {
			return i / int(w.Shape[1])
		}
		return i % int(m)
	}
	if !rewriteWeights(g, n, w, bt, s, t, col) {
		return false
	}
	n.SetAttr("beta", ir.FloatAttr(1))
	return true
}

// broadcastsToRow reports whether shape is [], [1], [M] or [1,M].
func broadcastsToRow(shape []int64, m int64) bool {
	n := ir.NumElements(shape)
	if n != 1 && n != m {
		return false
	}
	return len(shape) <= 1 || (len(shape) == 2 && shape[0] == 1)
}

// foldableWeights returns the constant weight (input wi) and bias (input 2,
// may be nil) of n when both are float32 or float64 with data.
func foldableWeights(n *ir.Node, wi int) (w, b *ir.Tensor, ok bool) {
	wv := n.Input(wi)
	if wv == nil || !wv.IsConst() || wv.Const.DataLen() < 0 {
		return nil, nil, false
	}
	w = wv.Const
	if w.DType != ir.Float32 && w.DType != ir.Float64 {
		return nil, nil, false
	}
	if bv := n.Input(2); bv != nil {
		if !bv.IsConst() || bv.Const.DType != w.DType || bv.Const.DataLen() < 0 {
			return nil, nil, false
		}
		b = bv.Const
	}
	return w, b, true
}

// rewriteWeights writes W' = W·s[ch(i)] and b' = b·s + t as new constants
// (the originals may be shared with other nodes) and points n at them.
func rewriteWeights(g *ir.Graph, n *ir.Node, w, b *ir.Tensor, s, t []float64, ch func(i int) int) bool {
	nw := w.Clone()
	for i := 0; i < nw.Len(); i++ {
		setFloat(nw, i, w.Float64At(i)*s[ch(i)])
	}
	nb := ir.NewTensor(w.DType, []int64{int64(len(s))})
	for c := range s {
		v := t[c]
		if b != nil {
			v += b.Float64At(c%b.Len()) * s[c]
		}
		setFloat(nb, c, v)
	}
	n.Inputs[1] = g.AddConst(n.Name+".weight.bnfold", nw)
	bias := g.AddConst(n.Name+".bias.bnfold", nb)
	for len(n.Inputs) < 3 {
		n.Inputs = append(n.Inputs, nil)
	}
	n.Inputs[2] = bias
	return true
}

// setFloat stores v into element i of a float32 or float64 tensor.
func setFloat(t *ir.Tensor, i int, v float64) {
	switch d := t.Data.(type) {
	case []float32:
		d[i] = float32(v)
	case []float64:
		d[i] = v
	}
}
