package plan

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// chain builds x -> Relu -> Relu -> ... (n nodes) with f32[1,c] values and,
// when skip, an Add joining node 0's output into the last node.
func chain(n int, c int64) *ir.Graph {
	g := &ir.Graph{Opsets: map[string]int64{"": ir.CanonicalOpset}}
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.ShapeOf(1, c))}
	g.Inputs = []*ir.Value{x}
	prev := x
	for i := 0; i < n; i++ {
		nd := &ir.Node{Name: "r" + string(rune('a'+i)), Op: "Relu", Inputs: []*ir.Value{prev}}
		out := &ir.Value{Name: nd.Name + ".out", Type: x.Type, Producer: nd}
		nd.Outputs = []*ir.Value{out}
		g.Nodes = append(g.Nodes, nd)
		prev = out
	}
	g.Outputs = []*ir.Value{prev}
	return g
}

func TestChainReusesTwoBuffers(t *testing.T) {
	g := chain(10, 100) // 400 bytes per value, 9 intermediates
	p, err := Make(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SumIntermediates != 9*400 {
		t.Fatalf("SumIntermediates = %d, want %d", p.SumIntermediates, 9*400)
	}
	if want := int64(2 * 448); p.ArenaSize != want {
		t.Fatalf("ArenaSize = %d, want %d (two 64-aligned 400-byte buffers)", p.ArenaSize, want)
	}
	for v, off := range p.Offsets {
		if off%Align != 0 {
			t.Fatalf("%s at offset %d, not %d-aligned", v.Name, off, Align)
		}
	}
}

func TestRandomGraphsNeverOverlapLiveBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 200; trial++ {
		g := &ir.Graph{}
		x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.ShapeOf(4))}
		g.Inputs = []*ir.Value{x}
		vals := []*ir.Value{x}
		for i := 0; i < 2+rng.IntN(20); i++ {
			a, b := vals[rng.IntN(len(vals))], vals[rng.IntN(len(vals))]
			nd := &ir.Node{Name: "n", Op: "Add", Inputs: []*ir.Value{a, b}}
			out := &ir.Value{Name: "v", Type: ir.TensorType(ir.Float32, ir.ShapeOf(int64(1+rng.IntN(300)))), Producer: nd}
			nd.Outputs = []*ir.Value{out}
			g.Nodes = append(g.Nodes, nd)
			vals = append(vals, out)
		}
		g.Outputs = []*ir.Value{vals[len(vals)-1]}
		scratch := func(n *ir.Node) int64 { return int64(len(n.Inputs[0].Name)) * 10 }
		p, err := Make(g, scratch)
		if err != nil {
			t.Fatal(err)
		}
		checkNoOverlap(t, g, p, scratch)
	}
}

// checkNoOverlap verifies that no two buffers alive at the same node share
// bytes, and that all of them fit in the arena.
func checkNoOverlap(t *testing.T, g *ir.Graph, p *Plan, scratch func(*ir.Node) int64) {
	t.Helper()
	type span struct{ lo, hi int64 }
	lastUse := map[*ir.Value]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			lastUse[in] = i
		}
	}
	for i, n := range g.Nodes {
		var live []span
		for v, off := range p.Offsets {
			first := -1
			for j, m := range g.Nodes {
				if m.Outputs[0] == v {
					first = j
				}
			}
			last := max(lastUse[v], first)
			if first <= i && i <= last {
				sz, _ := ByteSize(v)
				live = append(live, span{off, off + sz})
			}
		}
		if off, ok := p.Scratch[n]; ok {
			live = append(live, span{off, off + scratch(n)})
		}
		for a := range live {
			if live[a].hi > p.ArenaSize {
				t.Fatalf("buffer [%d,%d) beyond arena %d", live[a].lo, live[a].hi, p.ArenaSize)
			}
			for b := a + 1; b < len(live); b++ {
				if live[a].lo < live[b].hi && live[b].lo < live[a].hi {
					t.Fatalf("node %d: live buffers %v and %v overlap", i, live[a], live[b])
				}
			}
		}
	}
}

func TestSymbolicShapeIsRefusedWithAdvice(t *testing.T) {
	g := chain(3, 4)
	g.Nodes[0].Outputs[0].Type = ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(4)})
	_, err := Make(g, nil)
	if err == nil || !strings.Contains(err.Error(), "--batch N") || !strings.Contains(err.Error(), `node "ra" (Relu)`) {
		t.Fatalf("err = %v, want a node-named error suggesting --batch", err)
	}
}
