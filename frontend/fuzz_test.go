package frontend

import (
	"testing"

	"github.com/effc/effc/ir"
)

// FuzzDecode feeds arbitrary bytes to Decode and DecodeTensor: they must
// return an error or a well-formed graph, never panic or allocate from a
// declared size. Seeds are small models from the ONNX backend tests
// (testdata/fuzz/FuzzDecode).
func FuzzDecode(f *testing.F) {
	f.Add(reluModel())
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, tt, err := DecodeTensor(data); err == nil {
			fuzzTensorOK(t, "tensor", tt)
		}
		g, err := Decode(data, Options{})
		if err != nil {
			if g != nil {
				t.Fatalf("Decode returned a graph and an error %v", err)
			}
			return
		}
		fuzzGraphOK(t, g)
	})
}

func fuzzTensorOK(t *testing.T, what string, tt *ir.Tensor) {
	t.Helper()
	n, err := ir.CheckedNumElements(tt.Shape)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if int64(tt.DataLen()) != n {
		t.Fatalf("%s: %d elements for shape %v", what, tt.DataLen(), tt.Shape)
	}
}

// checkGraph checks the invariants Decode promises: unique node and value
// names, constants with data, every input defined before its use.
func fuzzGraphOK(t *testing.T, g *ir.Graph) {
	t.Helper()
	defined := map[*ir.Value]bool{}
	names := map[string]bool{}
	def := func(v *ir.Value) {
		if names[v.Name] {
			t.Fatalf("value %q defined twice", v.Name)
		}
		names[v.Name] = true
		defined[v] = true
	}
	for _, v := range g.Inputs {
		def(v)
	}
	for _, v := range g.Consts {
		if v.Const == nil {
			t.Fatalf("constant %q has no tensor", v.Name)
		}
		fuzzTensorOK(t, v.Name, v.Const)
		def(v)
	}
	nodeNames := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Name == "" || nodeNames[n.Name] {
			t.Fatalf("node name %q empty or duplicated", n.Name)
		}
		nodeNames[n.Name] = true
		for _, in := range n.Inputs {
			if in != nil && !defined[in] {
				t.Fatalf("%s uses %q before its definition", n, in.Name)
			}
		}
		for _, o := range n.Outputs {
			if o != nil {
				if o.Producer != n {
					t.Fatalf("%s: output %q has producer %v", n, o.Name, o.Producer)
				}
				def(o)
			}
		}
	}
	for _, o := range g.Outputs {
		if !defined[o] {
			t.Fatalf("graph output %q undefined", o.Name)
		}
	}
	if g.Opsets[""] < ir.CanonicalOpset {
		t.Fatalf("Opsets[\"\"] = %d, want >= %d", g.Opsets[""], ir.CanonicalOpset)
	}
}
