package interp_test

import (
	"os"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	onnxconf "github.com/effc/effc/tests/onnx"
)

type interpEngine struct{}

func (interpEngine) Name() string { return "interp" }
func (interpEngine) Run(g *ir.Graph, in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
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
		res := onnxconf.RunTest(root, name, interpEngine{}, nil, onnxconf.ToleranceFor)
		if res.Status != onnxconf.Passed {
			t.Errorf("%s: %s %s", name, res.Status, res.Detail)
		}
	}
}
