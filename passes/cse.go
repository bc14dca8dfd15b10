package passes

import (
	"fmt"
	"strings"

	"github.com/effc/effc/ir"
)

// cseConstLimit bounds the constants compared by content; larger ones are
// hashed first, so the limit only saves hashing time on big weights.
const cseConstLimit = 1 << 16

// eliminateCommonSubexpressions merges identical constants (same dtype,
// shape and data, up to cseConstLimit elements) and nodes with the same op,
// attributes and inputs, keeping the first:
//
//	%a = Relu(%x); %b = Relu(%x); %c = Add(%a, %b)   ->   %a = Relu(%x); %c = Add(%a, %a)
//
// Random ops never merge. A node whose output is a graph output is kept.
func eliminateCommonSubexpressions(_ *Context, g *ir.Graph) error {
	seenConst := map[string]*ir.Value{}
	keptConsts := g.Consts[:0]
	for _, c := range g.Consts {
		if c.Const.Len() <= cseConstLimit && !g.IsOutput(c) {
			if _, ok := c.Const.Data.([]string); !ok {
				if c.Const.DataLen() >= 0 {
					key := c.Const.Hash()
					if prev, ok := seenConst[key]; ok && tensorsEqual(prev.Const, c.Const) {
						g.ReplaceUses(c, prev)
						continue
					}
					seenConst[key] = c
				}
			}
		}
		keptConsts = append(keptConsts, c)
	}
	g.Consts = keptConsts

	seen := map[string]*ir.Node{}
	dead := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		if isRandom(n.Op) {
			continue
		}
		key := nodeKey(n)
		prev, ok := seen[key]
		if !ok {
			seen[key] = n
			continue
		}
		replaced := true
		for i, o := range n.Outputs {
			if o == nil {
				continue
			}
			if prev.Outputs[i] == nil || g.IsOutput(o) {
				replaced = false
				break
			}
		}
		if !replaced {
			continue
		}
		for i, o := range n.Outputs {
			if o != nil {
				g.ReplaceUses(o, prev.Outputs[i])
			}
		}
		dead[n] = true
	}
	g.RemoveNodes(dead)
	return nil
}

// nodeKey identifies a node by op, inputs (by identity) and attributes.
func nodeKey(n *ir.Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s::%s(", n.Domain, n.Op)
	for _, in := range n.Inputs {
		fmt.Fprintf(&b, "%p,", in)
	}
	fmt.Fprintf(&b, ")%d{", len(n.Outputs))
	for _, name := range n.SortedAttrNames() {
		a := n.Attrs[name]
		fmt.Fprintf(&b, "%s=%d:%v|%v|%q|%v|%v|%q|", name, a.Kind, a.Float, a.Int, a.String, a.Floats, a.Ints, a.Strings)
		if a.Tensor != nil {
			b.WriteString(a.Tensor.Hash())
		}
		for _, t := range a.Tensors {
			b.WriteString(t.Hash())
		}
	}
	b.WriteString("}")
	return b.String()
}

// tensorsEqual compares dtype, shape and raw bytes.
func tensorsEqual(a, b *ir.Tensor) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return string(a.Bytes()) == string(b.Bytes())
}
