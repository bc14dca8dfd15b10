package ir

import (
	"strings"
	"testing"
)

func TestBindBatch(t *testing.T) {
	g, conv, relu := convGraph(t)
	if got := relu.Outputs[0].Type.String(); got != "f32[N,8,32,32]" {
		t.Fatalf("before binding: got %s, want f32[N,8,32,32]", got)
	}
	if err := BindBatch(g, 4); err != nil {
		t.Fatal(err)
	}
	if got := g.Inputs[0].Type.String(); got != "f32[4,3,32,32]" {
		t.Errorf("input: got %s, want f32[4,3,32,32]", got)
	}
	if got := conv.Outputs[0].Type.String(); got != "f32[4,8,32,32]" {
		t.Errorf("symbol substituted in conv output: got %s, want f32[4,8,32,32]", got)
	}
	if err := InferShapes(g); err != nil {
		t.Fatalf("re-inferring: %v", err)
	}
	if got := relu.Outputs[0].Type.String(); got != "f32[4,8,32,32]" {
		t.Errorf("after re-inference: got %s, want f32[4,8,32,32]", got)
	}
	for _, n := range []int64{0, -1, 1 << 40} {
		if err := BindBatch(g, n); err == nil {
			t.Errorf("BindBatch(%d): got nil, want error", n)
		}
	}
}

func TestBindBatchUnknownDim(t *testing.T) {
	x := &Value{Name: "x", Type: ty(t, "f32[?,10]")}
	s := &Value{Name: "s", Type: ty(t, "f32[10]")}
	u := &Value{Name: "u", Type: ty(t, "f32[*]")}
	n := &Node{Name: "add", Op: "Add", Inputs: []*Value{x, s}}
	y := &Value{Name: "y", Producer: n}
	n.Outputs = []*Value{y}
	g := &Graph{Inputs: []*Value{x, s, u}, Outputs: []*Value{y}, Nodes: []*Node{n}}
	if err := BindBatch(g, 2); err != nil {
		t.Fatal(err)
	}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if got := y.Type.String(); got != "f32[2,10]" {
		t.Errorf("got %s, want f32[2,10]", got)
	}
	if got := s.Type.String(); got != "f32[10]" {
		t.Errorf("known dim 0 was rebound: got %s, want f32[10]", got)
	}
	if got := u.Type.String(); got != "f32[*]" {
		t.Errorf("unranked input changed: got %s", got)
	}
}

func TestBindShapes(t *testing.T) {
	g, _, relu := convGraph(t)
	if err := BindShapes(g, map[string][]int64{"x": {2, 3, 32, 32}}); err != nil {
		t.Fatal(err)
	}
	if got := relu.Outputs[0].Type.String(); got != "f32[2,8,32,32]" {
		t.Errorf("symbol substituted: got %s, want f32[2,8,32,32]", got)
	}
	cases := []struct {
		shapes map[string][]int64
		want   string
	}{
		{map[string][]int64{"input": {1}}, `bind shapes: "input" is not a graph input; inputs are "x" f32[N,3,32,32]`},
		{map[string][]int64{"x": {1, 3, 32}}, `bind shapes: input "x" has shape [N,3,32,32] (rank 4), got [1 3 32] (rank 3)`},
		{map[string][]int64{"x": {1, 4, 32, 32}}, `bind shapes: input "x" dim 1 is 3, got 4`},
		{map[string][]int64{"x": {-1, 3, 32, 32}}, `bind shapes: input "x": negative dimension -1 in shape [-1 3 32 32]`},
		{map[string][]int64{"x": {1 << 30, 3, 32, 32}}, `more than 2^31 elements`},
	}
	for _, c := range cases {
		g, _, _ := convGraph(t)
		err := BindShapes(g, c.shapes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BindShapes(%v): got %v, want %q", c.shapes, err, c.want)
		}
		if got := g.Inputs[0].Type.String(); got != "f32[N,3,32,32]" {
			t.Errorf("failed binding changed the input to %s", got)
		}
	}
}

func TestBindShapesSymbolConflict(t *testing.T) {
	a := &Value{Name: "a", Type: ty(t, "f32[N,4]")}
	b := &Value{Name: "b", Type: ty(t, "f32[N,4]")}
	c := &Value{Name: "c", Type: ty(t, "f32[*]")}
	g := &Graph{Inputs: []*Value{a, b, c}}
	err := BindShapes(g, map[string][]int64{"a": {1, 4}, "b": {2, 4}})
	want := `bind shapes: symbol N is bound to 1 by input "a" and to 2 by input "b"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := BindShapes(g, map[string][]int64{"a": {3, 4}, "c": {5}}); err != nil {
		t.Fatal(err)
	}
	if a.Type.String() != "f32[3,4]" || b.Type.String() != "f32[3,4]" || c.Type.String() != "f32[5]" {
		t.Errorf("got a=%s b=%s c=%s, want f32[3,4] f32[3,4] f32[5]", a.Type, b.Type, c.Type)
	}
}
