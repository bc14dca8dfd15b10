package passes

import "github.com/effc/effc/ir"

// fuseEpilogues merges a float32 Conv with the residual Add and the
// activation that follow it into one effc.FusedConv, so the compiled kernel
// applies them while the result is in registers and writes memory once:
//
//	%c = Conv(%x, %w, %b); %s = Add(%c, %r); %y = Relu(%s)
//	  ->  %y = effc.FusedConv(%x, %w, %b, %r) {activation="Relu", ...}
//
// The Add is absorbed only when its other operand has the convolution's
// exact shape, symbolic dims included (no broadcasting); the activation may be Relu, LeakyRelu, or
// Clip with constant scalar bounds. Every absorbed intermediate must have
// the next node as its only reader and must not be a graph output.
func fuseEpilogues(_ *Context, g *ir.Graph) error {
	consumers := g.Consumers()
	only := func(v *ir.Value) *ir.Node {
		if v == nil || g.IsOutput(v) || len(consumers[v]) != 1 {
			return nil
		}
		return consumers[v][0]
	}
	dead := map[*ir.Node]bool{}
	for _, conv := range g.Nodes {
		if conv.Op != "Conv" || conv.Domain != "" || dead[conv] || len(conv.Outputs) != 1 || conv.Outputs[0] == nil {
			continue
		}
		y := conv.Outputs[0]
		if y.Type.DType != ir.Float32 || !y.Type.Ranked {
			continue
		}
		absorbed, out := []*ir.Node{conv}, y
		var residual *ir.Value
		if add := only(out); add != nil && add.Op == "Add" && add.Domain == "" && len(add.Inputs) == 2 {
			other := add.Inputs[1]
			if add.Inputs[1] == out {
				other = add.Inputs[0]
			}
			if other != out && other != nil && sameType(other.Type, y.Type) {
				residual, out = other, add.Outputs[0]
				absorbed = append(absorbed, add)
			}
		}
		attrs := map[string]*ir.Attr{}
		if act := only(out); act != nil && act.Domain == "" {
			if name, a, ok := epilogueActivation(act); ok {
				attrs = a
				attrs["activation"] = ir.StringAttr(name)
				out = act.Outputs[0]
				absorbed = append(absorbed, act)
			}
		}
		if len(absorbed) == 1 {
			continue
		}
		last := absorbed[len(absorbed)-1]
		fused := &ir.Node{Name: conv.Name, Op: "FusedConv", Domain: "effc", Doc: conv.Doc}
		for k, a := range conv.Attrs {
			fused.SetAttr(k, a)
		}
		for k, a := range attrs {
			fused.SetAttr(k, a)
		}
		fused.Inputs = []*ir.Value{conv.Inputs[0], conv.Inputs[1], conv.Input(2), residual}
		fused.Outputs = []*ir.Value{out}
		out.Producer = fused
		// The fused node takes the place of the last absorbed node, where
		// the residual is already computed.
		for i, n := range g.Nodes {
			if n == last {
				g.Nodes[i] = fused
			}
		}
		for _, n := range absorbed[:len(absorbed)-1] {
			dead[n] = true
		}
		consumers = g.Consumers()
	}
	g.RemoveNodes(dead)
	return nil
}

// epilogueActivation recognises an activation the fused kernel applies and
// returns its attributes.
func epilogueActivation(n *ir.Node) (string, map[string]*ir.Attr, bool) {
	switch n.Op {
	case "Relu":
		return "Relu", map[string]*ir.Attr{}, true
	case "LeakyRelu":
		return "LeakyRelu", map[string]*ir.Attr{"alpha": ir.FloatAttr(n.AttrFloat("alpha", 0.01))}, true
	case "Clip":
		lo, hi := n.Input(1), n.Input(2)
		if lo == nil || hi == nil || !lo.IsConst() || !hi.IsConst() || lo.Const.Len() != 1 || hi.Const.Len() != 1 ||
			lo.Const.DType != ir.Float32 || hi.Const.DType != ir.Float32 {
			return "", nil, false
		}
		return "Clip", map[string]*ir.Attr{
			"min": ir.FloatAttr(float32(lo.Const.Float64At(0))),
			"max": ir.FloatAttr(float32(hi.Const.Float64At(0))),
		}, true
	}
	return "", nil, false
}

// sameType reports whether a and b have the same dtype and shape: equal
// sizes, or the same named symbol (N and N) where a size is not known.
func sameType(a, b ir.Type) bool {
	if a.DType != b.DType || !a.Ranked || !b.Ranked || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i, d := range a.Shape {
		e := b.Shape[i]
		if d.Size != e.Size || (d.Size < 0 && (d.Param == "" || d.Param != e.Param)) {
			return false
		}
	}
	return true
}
