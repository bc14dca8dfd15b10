package passes

import "github.com/effc/effc/ir"

// eliminateIdentities removes nodes that copy their input: Identity, and
// Dropout in inference mode (no training_mode input, or a constant false
// one) whose mask output is unused.
//
//	%b = Identity(%a); %c = Relu(%b)   ->   %c = Relu(%a)
//
// A node whose output is a graph output stays when removing it would rename
// a graph input or another output.
func eliminateIdentities(_ *Context, g *ir.Graph) error {
	consumers := g.Consumers()
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if !isCopy(n, consumers) || n.Inputs[0] == nil || n.Outputs[0] == nil {
			continue
		}
		if g.ReplaceUses(n.Outputs[0], n.Inputs[0]) {
			dead[n] = true
		}
	}
	g.RemoveNodes(dead)
	return nil
}

// isCopy reports whether n forwards input 0 unchanged to its only used output.
func isCopy(n *ir.Node, consumers map[*ir.Value][]*ir.Node) bool {
	if n.Domain != "" || len(n.Inputs) == 0 {
		return false
	}
	switch n.Op {
	case "Identity":
		return true
	case "Dropout":
		if len(n.Outputs) > 1 && n.Outputs[1] != nil && len(consumers[n.Outputs[1]]) > 0 {
			return false
		}
		mode := n.Input(2)
		if mode == nil {
			return true
		}
		return mode.IsConst() && mode.Const.Len() == 1 && mode.Const.Float64At(0) == 0
	}
	return false
}
