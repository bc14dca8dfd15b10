package passes

import "github.com/effc/effc/ir"

// eliminateDeadCode removes every node and constant that no graph output
// depends on, walking backwards from the outputs.
//
//	%a = Relu(%x); %b = Sigmoid(%x); output %a   ->   %a = Relu(%x); output %a
func eliminateDeadCode(_ *Context, g *ir.Graph) error {
	live := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	dead := map[*ir.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, o := range n.Outputs {
			if o != nil && live[o] {
				used = true
				break
			}
		}
		if !used {
			dead[n] = true
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				live[in] = true
			}
		}
	}
	g.RemoveNodes(dead)
	kept := g.Consts[:0]
	for _, c := range g.Consts {
		if live[c] {
			kept = append(kept, c)
		}
	}
	g.Consts = kept
	return nil
}
