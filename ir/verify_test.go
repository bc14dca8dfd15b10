package ir

import (
	"errors"
	"strings"
	"testing"
)

// convGraph builds x -> Conv(w, b) -> Relu -> y, typed and valid.
func convGraph(t *testing.T) (*Graph, *Node, *Node) {
	t.Helper()
	x := &Value{Name: "x", Type: ty(t, "f32[N,3,32,32]")}
	w := &Value{Name: "w", Type: ty(t, "f32[8,3,3,3]"), Const: NewTensor(Float32, []int64{8, 3, 3, 3})}
	b := &Value{Name: "b", Type: ty(t, "f32[8]"), Const: NewTensor(Float32, []int64{8})}
	conv := &Node{Name: "conv1", Op: "Conv", Inputs: []*Value{x, w, b}, Attrs: map[string]*Attr{"pads": IntsAttr(1, 1, 1, 1)}}
	c := &Value{Name: "c", Producer: conv}
	conv.Outputs = []*Value{c}
	relu := &Node{Name: "relu1", Op: "Relu", Inputs: []*Value{c}}
	y := &Value{Name: "y", Producer: relu}
	relu.Outputs = []*Value{y}
	g := &Graph{Inputs: []*Value{x}, Consts: []*Value{w, b}, Outputs: []*Value{y}, Nodes: []*Node{conv, relu}}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g, conv, relu
}

func TestVerifyValid(t *testing.T) {
	g, _, _ := convGraph(t)
	if err := Verify(g); err != nil {
		t.Fatalf("valid graph: %v", err)
	}
}

func TestVerifyMessages(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(g *Graph, conv, relu *Node)
		want   string // one of the joined errors, exactly
	}{
		{"same-var dtype", func(g *Graph, conv, relu *Node) {
			g.Consts[0].Type.DType, g.Consts[0].Const = Int8, NewTensor(Int8, []int64{8, 3, 3, 3})
		}, `node "conv1" (Conv): input 1 has dtype i8, want f32 (same as input 0)`},
		{"constraint", func(g *Graph, conv, relu *Node) {
			g.Inputs[0].Type.DType = Int64
		}, `node "conv1" (Conv): input 0 has dtype i64, want one of f32, f16, f64, bf16`},
		{"arity", func(g *Graph, conv, relu *Node) {
			relu.Inputs = append(relu.Inputs, g.Inputs[0])
		}, `node "relu1" (Relu): has 2 inputs, want 1`},
		{"arity range", func(g *Graph, conv, relu *Node) {
			conv.Inputs = conv.Inputs[:1]
		}, `node "conv1" (Conv): has 1 inputs, want 2 to 3`},
		{"missing required", func(g *Graph, conv, relu *Node) {
			conv.Inputs[1] = nil
		}, `node "conv1" (Conv): input 1 (W) is missing, want a value (it is not optional)`},
		{"attr kind", func(g *Graph, conv, relu *Node) {
			conv.Attrs["group"] = IntsAttr(1)
		}, `node "conv1" (Conv): attribute "group" has kind ints, want int`},
		{"unknown attr", func(g *Graph, conv, relu *Node) {
			relu.SetAttr("alpha", FloatAttr(1))
		}, `node "relu1" (Relu): unknown attribute "alpha"; Relu has no attributes`},
		{"required attr", func(g *Graph, conv, relu *Node) {
			relu.Op = "Cast"
		}, `node "relu1" (Cast): missing required attribute "to" (int)`},
		{"unknown op", func(g *Graph, conv, relu *Node) {
			relu.Op = "FancyOp"
		}, `node "relu1" (FancyOp): unknown op FancyOp (domain ai.onnx); effc supports: see 'effc ops'`},
		{"undefined input", func(g *Graph, conv, relu *Node) {
			relu.Inputs[0] = &Value{Name: "ghost"}
		}, `node "relu1" (Relu): input 0 "ghost" is not defined (not a graph input, constant, or earlier node output)`},
		{"order", func(g *Graph, conv, relu *Node) {
			g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0]
		}, `node "relu1" (Relu): input 0 "c" is produced by later node "conv1" (Conv); nodes are not in topological order`},
		{"cycle", func(g *Graph, conv, relu *Node) {
			conv.Inputs[0] = relu.Outputs[0]
		}, `graph has a cycle through node "conv1" (Conv)`},
		{"producer", func(g *Graph, conv, relu *Node) {
			relu.Outputs[0].Producer = conv
		}, `node "relu1" (Relu): output 0 "y" has producer node "conv1" (Conv), want this node`},
		{"defined twice", func(g *Graph, conv, relu *Node) {
			relu.Outputs[0] = conv.Outputs[0]
		}, `value "c" is defined twice: by node "conv1" (Conv) and by node "relu1" (Relu)`},
		{"name twice", func(g *Graph, conv, relu *Node) {
			relu.Outputs[0].Name = "x"
		}, `value name "x" is used twice: by graph input and by node "relu1" (Relu); rename one`},
		{"node name twice", func(g *Graph, conv, relu *Node) {
			relu.Name = "conv1"
		}, `node "conv1" (Relu): node name is used twice; rename one`},
		{"output undefined", func(g *Graph, conv, relu *Node) {
			g.Outputs = append(g.Outputs, &Value{Name: "z"})
		}, `graph output 1 "z" is not defined by any input, constant or node`},
		{"const length", func(g *Graph, conv, relu *Node) {
			g.Consts[1].Const.Data = []float32{1, 2, 3}
		}, `constant "b" has 3 elements, want 8 for shape [8]`},
		{"const go type", func(g *Graph, conv, relu *Node) {
			g.Consts[1].Const.Data = make([]float64, 8)
		}, `constant "b" holds []float64, want []float32 for dtype f32`},
		{"const negative shape", func(g *Graph, conv, relu *Node) {
			g.Consts[1].Const.Shape = []int64{-8}
		}, `constant "b": negative dimension -8 in shape [-8]`},
		{"const huge shape", func(g *Graph, conv, relu *Node) {
			g.Consts[1].Const.Shape = []int64{1 << 20, 1 << 20}
		}, `constant "b": shape [1048576 1048576] has more than 2^31 elements; effc refuses tensors this large`},
		{"bad dim", func(g *Graph, conv, relu *Node) {
			g.Inputs[0].Type.Shape[2] = Dim{Size: -7}
		}, `value "x" dim 2 is -7, want >= 0 (or -1 for unknown)`},
		{"stale type", func(g *Graph, conv, relu *Node) {
			relu.Outputs[0].Type = ty(t, "f32[N,9,32,32]")
		}, `node "relu1" (Relu): output 0 has type f32[N,9,32,32], but its shape function gives f32[N,8,32,32]; re-run shape inference after rewriting`},
		{"shape error", func(g *Graph, conv, relu *Node) {
			conv.Attrs["strides"] = IntsAttr(0, 1)
		}, `node "conv1" (Conv): attribute strides is [0 1], want every value >= 1`},
		{"huge type", func(g *Graph, conv, relu *Node) {
			g.Inputs[0].Type = ty(t, "f32[N,65536,65536,2]")
		}, `value "x" type f32[N,65536,65536,2]: shape [65536 65536 2] has more than 2^31 elements; effc refuses tensors this large`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, conv, relu := convGraph(t)
			c.mutate(g, conv, relu)
			err := Verify(g)
			if err == nil {
				t.Fatalf("got nil, want error %q", c.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if line == c.want {
					return
				}
			}
			t.Fatalf("got errors:\n%v\nwant one to be:\n%s", err, c.want)
		})
	}
}

// TestVerifyElidedData: a constant whose Data is not a typed slice (the
// text parser's elided-weight placeholder) verifies.
func TestVerifyElidedData(t *testing.T) {
	g, _, _ := convGraph(t)
	type elided struct{ hash string }
	g.Consts[0].Const.Data = elided{"sha256:0123"}
	if err := Verify(g); err != nil {
		t.Fatalf("elided constant: %v", err)
	}
	g.Consts[0].Const.Data = nil
	if err := Verify(g); err == nil || !strings.Contains(err.Error(), `constant "w" has no data`) {
		t.Fatalf("nil data: got %v, want a no-data error", err)
	}
}

func TestVerifyCapsErrors(t *testing.T) {
	g, _, relu := convGraph(t)
	for i := 0; i < 30; i++ {
		n := &Node{Name: "bad" + string(rune('a'+i)), Op: "Relu", Inputs: []*Value{{Name: "ghost"}}}
		n.Outputs = []*Value{{Name: "o" + string(rune('a'+i)), Producer: n}}
		g.Nodes = append(g.Nodes, n)
	}
	_ = relu
	err := Verify(g)
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("got %v, want a joined error", err)
	}
	errs := joined.Unwrap()
	if len(errs) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d (capped) + 1 summary", len(errs), maxErrors)
	}
	if got, want := errs[len(errs)-1].Error(), "... and 10 more errors"; got != want {
		t.Errorf("summary: got %q, want %q", got, want)
	}
}

func TestVerifyOptionalAndVariadic(t *testing.T) {
	x := &Value{Name: "x", Type: ty(t, "f32[4]")}
	mx := &Value{Name: "mx", Type: ty(t, "f32[]"), Const: Scalar(float32(6))}
	clip := &Node{Name: "clip", Op: "Clip", Inputs: []*Value{x, nil, mx}}
	c := &Value{Name: "c", Producer: clip}
	clip.Outputs = []*Value{c}
	cat := &Node{Name: "cat", Op: "Concat", Inputs: []*Value{x, c, x}, Attrs: map[string]*Attr{"axis": IntAttr(0)}}
	y := &Value{Name: "y", Producer: cat}
	cat.Outputs = []*Value{y}
	g := &Graph{Inputs: []*Value{x}, Consts: []*Value{mx}, Outputs: []*Value{y}, Nodes: []*Node{clip, cat}}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if err := Verify(g); err != nil {
		t.Fatalf("Clip with omitted min and variadic Concat: %v", err)
	}
	if y.Type.String() != "f32[12]" {
		t.Errorf("concat: got %s, want f32[12]", y.Type)
	}
	cat.Inputs = nil
	if err := Verify(g); err == nil || !strings.Contains(err.Error(), `node "cat" (Concat): has 0 inputs, want at least 1`) {
		t.Errorf("empty Concat: got %v", err)
	}
}
