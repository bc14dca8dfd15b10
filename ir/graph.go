// Package ir is effc's intermediate representation: a graph of nodes over
// typed values, with constants held as dense tensors.
//
// Ops are ONNX operators in one canonical form: the frontend upgrades every
// node to the semantics of opset CanonicalOpset (attributes that later
// opsets turned into inputs are inputs; deprecated ops are rewritten), so
// passes, the interpreter and the backend each know one meaning per op.
package ir

import (
	"fmt"
	"sort"
	"strings"
)

// CanonicalOpset is the ai.onnx opset whose operator semantics the IR uses.
const CanonicalOpset = 18

// Dim is one dimension of a shape: a known size, a named symbol, or unknown.
type Dim struct {
	Size  int64  // >= 0 when known; -1 when symbolic or unknown
	Param string // symbol name ("N", "batch") when symbolic
}

// Known reports whether the dimension has a concrete size.
func (d Dim) Known() bool { return d.Size >= 0 }

// String prints the size, the symbol, or "?".
func (d Dim) String() string {
	switch {
	case d.Size >= 0:
		return fmt.Sprint(d.Size)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// D returns a known dimension.
func D(n int64) Dim { return Dim{Size: n} }

// Sym returns a symbolic dimension.
func Sym(name string) Dim { return Dim{Size: -1, Param: name} }

// Unknown returns an unknown dimension.
func Unknown() Dim { return Dim{Size: -1} }

// Shape is a list of dims. A nil Shape in a Type with Ranked false means the
// rank is unknown; an empty non-nil one is a scalar.
type Shape []Dim

// ShapeOf builds a fully known shape.
func ShapeOf(dims ...int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = D(d)
	}
	return s
}

// Static reports whether every dim is known.
func (s Shape) Static() bool {
	for _, d := range s {
		if !d.Known() {
			return false
		}
	}
	return true
}

// Sizes returns the dims as int64, -1 for unknown ones.
func (s Shape) Sizes() []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = d.Size
	}
	return out
}

// String prints "[N,3,224,224]".
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Quant carries the quantization parameters of a quantized tensor type:
// real = (q - ZeroPoint) * Scale, per tensor (len 1) or per Axis.
type Quant struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int // meaningful when len(Scale) > 1
}

// Type is a value's tensor type.
type Type struct {
	DType  DType
	Shape  Shape
	Ranked bool   // false: rank unknown, Shape ignored
	Quant  *Quant // non-nil for quantized tensors
}

// TensorType returns a ranked type.
func TensorType(dt DType, shape Shape) Type { return Type{DType: dt, Shape: shape, Ranked: true} }

// String prints "f32[N,3,224,224]", "i64[?]" or "f32[*]" for unknown rank.
func (t Type) String() string {
	if !t.Ranked {
		return t.DType.String() + "[*]"
	}
	return t.DType.String() + t.Shape.String()
}

// Value is an SSA value: a graph input, a constant, or a node output.
type Value struct {
	Name     string
	Type     Type
	Const    *Tensor // non-nil for initializers and folded constants
	Producer *Node   // nil for graph inputs and constants
}

// IsConst reports whether the value is a compile-time constant.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

// Node is one operator application.
type Node struct {
	Name    string
	Op      string
	Domain  string   // "" for ai.onnx
	Inputs  []*Value // nil entries are omitted optional inputs
	Outputs []*Value // nil entries are omitted optional outputs
	Attrs   map[string]*Attr
	Doc     string
}

// String identifies a node in messages: `node "conv1" (Conv)`.
func (n *Node) String() string { return fmt.Sprintf("node %q (%s)", n.Name, n.Op) }

// Input returns input i, or nil when absent.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Graph is a model: inputs, constants, nodes in topological order, outputs.
type Graph struct {
	Name      string
	IRVersion int64
	// Opsets maps domain to opset version ("" = ai.onnx). After the frontend
	// canonicalizes nodes, Opsets[""] is at least CanonicalOpset.
	Opsets      map[string]int64
	SourceOpset int64  // ai.onnx opset the source model imported
	Producer    string // producer_name/version of the source model
	Doc         string
	Metadata    map[string]string

	Inputs  []*Value
	Outputs []*Value
	Consts  []*Value // initializers and constants, in declaration order
	Nodes   []*Node
}

// Values returns every value of the graph: inputs, constants, node outputs.
func (g *Graph) Values() []*Value {
	var out []*Value
	out = append(out, g.Inputs...)
	out = append(out, g.Consts...)
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// Consumers maps each value to the nodes that read it, in node order.
func (g *Graph) Consumers() map[*Value][]*Node {
	m := map[*Value][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				m[in] = append(m[in], n)
			}
		}
	}
	return m
}

// IsOutput reports whether v is a graph output.
func (g *Graph) IsOutput(v *Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// Opset returns the imported ai.onnx opset version.
func (g *Graph) Opset() int64 { return g.Opsets[""] }

// TopoSort orders g.Nodes so every node follows its inputs' producers. It
// keeps the existing order where possible and reports a cycle by naming a
// node on it.
func (g *Graph) TopoSort() error {
	state := map[*Node]int{} // 0 new, 1 visiting, 2 done
	index := map[*Node]int{}
	for i, n := range g.Nodes {
		index[n] = i
	}
	out := make([]*Node, 0, len(g.Nodes))
	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("graph has a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, in := range n.Inputs {
			if in != nil && in.Producer != nil {
				if _, ok := index[in.Producer]; !ok {
					return fmt.Errorf("%s: input %q is produced by a node not in the graph", n, in.Name)
				}
				if err := visit(in.Producer); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, n := range g.Nodes {
		if err := visit(n); err != nil {
			return err
		}
	}
	g.Nodes = out
	return nil
}

// UniqueName returns base if no value or node of g uses it, else base.1,
// base.2, ...
func (g *Graph) UniqueName(base string) string {
	used := map[string]bool{}
	for _, v := range g.Values() {
		used[v.Name] = true
	}
	for _, n := range g.Nodes {
		used[n.Name] = true
	}
	if !used[base] {
		return base
	}
	for i := 1; ; i++ {
		s := fmt.Sprintf("%s.%d", base, i)
		if !used[s] {
			return s
		}
	}
}

// SortedAttrNames returns the node's attribute names in order.
func (n *Node) SortedAttrNames() []string {
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
