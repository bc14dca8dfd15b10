package ir

// ReplaceUses makes every reader of old read new instead: node inputs and,
// when old is a graph output, the output list. A graph output keeps its name
// (users bind outputs by name): if new is a node output that is not already a
// graph output, new takes old's name; otherwise ReplaceUses leaves the graph
// output alone and reports false.
func (g *Graph) ReplaceUses(old, new *Value) bool {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
	}
	if !g.IsOutput(old) {
		return true
	}
	if new.Producer == nil || g.IsOutput(new) {
		return false
	}
	new.Name = old.Name
	if old.Type.Ranked && !new.Type.Ranked {
		new.Type = old.Type
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = new
		}
	}
	return true
}

// RemoveNodes deletes the given nodes from g.Nodes, keeping the order of the
// rest. It does not touch values; run dead-code elimination afterwards.
func (g *Graph) RemoveNodes(dead map[*Node]bool) {
	if len(dead) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !dead[n] {
			kept = append(kept, n)
		}
	}
	for i := len(kept); i < len(g.Nodes); i++ {
		g.Nodes[i] = nil
	}
	g.Nodes = kept
}

// AddConst appends a constant value named after base (made unique) and
// returns it.
func (g *Graph) AddConst(base string, t *Tensor) *Value {
	v := &Value{Name: g.UniqueName(base), Type: TensorType(t.DType, ShapeOf(t.Shape...)), Const: t}
	g.Consts = append(g.Consts, v)
	return v
}
