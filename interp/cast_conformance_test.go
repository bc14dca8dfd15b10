package interp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	onnxconf "github.com/effc/effc/tests/onnx"
)

type castConfEngine struct{}

func (castConfEngine) Name() string { return "interp" }
func (castConfEngine) Run(g *ir.Graph, in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return interp.Run(g, in)
}

// TestCastStringConformance runs the ONNX string Cast tests, which the
// conformance suite skips because compiled targets have no string tensors;
// the interpreter does implement them.
func TestCastStringConformance(t *testing.T) {
	root := "/usr/share/libonnx-testdata/data"
	if r := os.Getenv("EFFC_ONNX_TESTDATA"); r != "" {
		root = r
	}
	tests := []string{
		"node/test_cast_FLOAT_to_STRING",
		"node/test_cast_STRING_to_FLOAT",
		"node/test_castlike_FLOAT_to_STRING",
		"node/test_castlike_STRING_to_FLOAT",
	}
	for _, name := range tests {
		if _, err := os.Stat(root + "/" + name + "/model.onnx"); err != nil {
			t.Skipf("ONNX test data not installed under %s", root)
		}
		res := onnxconf.RunTest(root, name, castConfEngine{}, nil, onnxconf.ToleranceFor)
		if res.Status != onnxconf.Passed {
			t.Errorf("%s: %s %s", name, res.Status, res.Detail)
		}
	}
}

// TestCastLikeBF16Conformance runs the two bfloat16 CastLike tests node by
// node: their test data gives input "like" shape [1] while the model
// declares [3,4], so interp.Run's input check refuses them and the suite
// skips them; the kernel itself ignores the shape of "like".
func TestCastLikeBF16Conformance(t *testing.T) {
	root := "/usr/share/libonnx-testdata/data"
	if r := os.Getenv("EFFC_ONNX_TESTDATA"); r != "" {
		root = r
	}
	for _, name := range []string{"test_castlike_BFLOAT16_to_FLOAT", "test_castlike_FLOAT_to_BFLOAT16"} {
		dir := filepath.Join(root, "node", name)
		g, err := frontend.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			if _, statErr := os.Stat(dir); statErr != nil {
				t.Skipf("ONNX test data not installed under %s", root)
			}
			t.Fatalf("%s: %v", name, err)
		}
		if len(g.Nodes) != 1 || len(g.Inputs) != 2 || len(g.Outputs) != 1 {
			t.Fatalf("%s: want one CastLike node with 2 inputs, got %d nodes", name, len(g.Nodes))
		}
		read := func(file string, declared ir.DType) *ir.Tensor {
			b, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", file))
			if err != nil {
				t.Fatal(err)
			}
			_, x, err := frontend.DecodeTensor(b)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, file, err)
			}
			if declared == ir.BFloat16 && x.DType == ir.Uint16 {
				// Older test data stores bfloat16 as raw uint16 bits.
				x = &ir.Tensor{DType: ir.BFloat16, Shape: x.Shape, Data: x.Data}
			}
			return x
		}
		in := []*ir.Tensor{read("input_0.pb", g.Inputs[0].Type.DType), read("input_1.pb", g.Inputs[1].Type.DType)}
		want := read("output_0.pb", g.Outputs[0].Type.DType)
		got, err := interp.EvalNode(g.Nodes[0], in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := onnxconf.Compare(got[0], want, onnxconf.ToleranceFor("node/"+name, want.DType)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
