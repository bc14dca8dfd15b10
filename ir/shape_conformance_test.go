package ir_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
)

// conformanceData is the ONNX backend test data (Debian package
// libonnx-testdata).
const conformanceData = "/usr/share/libonnx-testdata/data"

// TestShapesConformance runs InferShapes and Verify over every
// conformance model whose ops are all in the table, with the models'
// declared output and intermediate types erased, and compares each
// inferred output type with the expected output tensor (output_N.pb):
//
//   - wrong: a known dim, the rank or the dtype contradicts the expected
//     tensor (a test failure);
//   - vague: the inferred type is correct but less specific (logged);
//   - errors from InferShapes or Verify on a model effc claims to support
//     fail the test, except those listed in conformanceExpectedErrors.
//
// Models using ops outside the table are counted and skipped.
func TestShapesConformance(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(conformanceData, "*", "*", "model.onnx"))
	if len(dirs) == 0 {
		t.Skip("no conformance data in " + conformanceData)
	}
	var exact, vague, unsupported, loadErr int
	var vagueList []string
	missing := map[string]int{}
	for _, model := range dirs {
		dir := filepath.Dir(model)
		name := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
		g, err := frontend.Load(model)
		if err != nil {
			loadErr++
			continue
		}
		if op := firstUnsupported(g); op != "" {
			missing[op]++
			unsupported++
			continue
		}
		declared := map[*ir.Value]ir.Type{}
		for _, n := range g.Nodes {
			for _, o := range n.Outputs {
				if o != nil {
					declared[o] = o.Type
					o.Type = ir.Type{}
				}
			}
		}
		expectErr, listed := conformanceExpectedErrors[name]
		// Before inference, intermediate values have no types; the
		// model must verify all the same.
		if err := ir.Verify(g); err != nil && !listed {
			t.Errorf("%s: Verify before InferShapes: %v", name, err)
		}
		if err := ir.InferShapes(g); err != nil {
			if !listed || !strings.Contains(err.Error(), expectErr) {
				t.Errorf("%s: InferShapes: %v", name, err)
			}
			continue
		}
		if err := ir.Verify(g); err != nil {
			if !listed || !strings.Contains(err.Error(), expectErr) {
				t.Errorf("%s: Verify: %v", name, err)
			}
			continue
		}
		if listed {
			t.Errorf("%s: listed in conformanceExpectedErrors (%q) but infers and verifies; remove it", name, expectErr)
		}
		for i, o := range g.Outputs {
			want, ok := readOutput(dir, i)
			if _, quirk := conformanceDataQuirks[name]; !ok || quirk {
				continue
			}
			switch verdict := compareType(o.Type, want); verdict {
			case "":
				exact++
			case "vague":
				vague++
				vagueList = append(vagueList, fmt.Sprintf("%s output %d: got %s, want %s%v", name, i, o.Type, want.DType, want.Shape))
			default:
				t.Errorf("%s: output %d: got %s, want %s%v (%s)", name, i, o.Type, want.DType, want.Shape, verdict)
			}
			// The model's own declaration must agree with inference too.
			if d, ok := declared[o]; ok {
				if _, err := mergeCheck(o.Type, d); err != nil {
					t.Errorf("%s: output %d: inferred %s, declared %s: %v", name, i, o.Type, d, err)
				}
			}
		}
	}
	sort.Strings(vagueList)
	for _, v := range vagueList {
		t.Logf("vague: %s", v)
	}
	var ops []string
	for op, c := range missing {
		ops = append(ops, fmt.Sprintf("%s(%d)", op, c))
	}
	sort.Strings(ops)
	t.Logf("ops outside the table: %s", strings.Join(ops, " "))
	t.Logf("conformance shapes: %d exact, %d correct but less specific, %d models skipped (unsupported ops), %d not loadable",
		exact, vague, unsupported, loadErr)
}

// conformanceExpectedErrors lists models that effc refuses on purpose,
// with a substring of the expected error and the reason.
var conformanceExpectedErrors = map[string]string{}

// conformanceDataQuirks lists outputs whose expected tensor does not
// describe the output type, so comparing them says nothing about effc.
var conformanceDataQuirks = map[string]string{
	// The expected bfloat16 outputs are stored as uint16 tensors.
	"node/test_cast_FLOAT_to_BFLOAT16":              "bf16 stored as u16",
	"node/test_castlike_FLOAT_to_BFLOAT16":          "bf16 stored as u16",
	"node/test_castlike_FLOAT_to_BFLOAT16_expanded": "bf16 stored as u16",
}

// firstUnsupported returns the first op not in the table, or "".
func firstUnsupported(g *ir.Graph) string {
	for _, n := range g.Nodes {
		if ir.LookupOp(n.Domain, n.Op) == nil {
			return n.Op
		}
	}
	return ""
}

// readOutput decodes test_data_set_0/output_i.pb.
func readOutput(dir string, i int) (*ir.Tensor, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
	if err != nil {
		return nil, false
	}
	_, t, err := frontend.DecodeTensor(data)
	if err != nil || t == nil {
		return nil, false
	}
	return t, true
}

// compareType returns "" when got matches want exactly, "vague" when got
// is correct but has unknown parts, else what contradicts.
func compareType(got ir.Type, want *ir.Tensor) string {
	vague := false
	switch {
	case got.DType == ir.Undefined:
		vague = true
	case got.DType != want.DType:
		return fmt.Sprintf("dtype %s, want %s", got.DType, want.DType)
	}
	if !got.Ranked {
		return "vague"
	}
	if len(got.Shape) != len(want.Shape) {
		return fmt.Sprintf("rank %d, want %d", len(got.Shape), len(want.Shape))
	}
	for i, d := range got.Shape {
		if !d.Known() {
			vague = true
			continue
		}
		if d.Size != want.Shape[i] {
			return fmt.Sprintf("dim %d is %d, want %d", i, d.Size, want.Shape[i])
		}
	}
	if vague {
		return "vague"
	}
	return ""
}

// mergeCheck reports whether two types contradict (known dims, rank or
// dtype differ).
func mergeCheck(a, b ir.Type) (bool, error) {
	if a.DType != ir.Undefined && b.DType != ir.Undefined && a.DType != b.DType {
		return false, fmt.Errorf("dtype %s vs %s", a.DType, b.DType)
	}
	if !a.Ranked || !b.Ranked {
		return true, nil
	}
	if len(a.Shape) != len(b.Shape) {
		return false, fmt.Errorf("rank %d vs %d", len(a.Shape), len(b.Shape))
	}
	for i := range a.Shape {
		if a.Shape[i].Known() && b.Shape[i].Known() && a.Shape[i].Size != b.Shape[i].Size {
			return false, fmt.Errorf("dim %d: %d vs %d", i, a.Shape[i].Size, b.Shape[i].Size)
		}
	}
	return true, nil
}

// TestShapesConformanceSymbolicBatch makes dim 0 of each conformance
// model's first input symbolic, infers (which must not fail), binds the
// batch back with BindBatch, re-infers, and requires every output the
// static run typed exactly to be exact again: symbols must flow through
// every shape function without breaking it.
func TestShapesConformanceSymbolicBatch(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(conformanceData, "*", "*", "model.onnx"))
	if len(dirs) == 0 {
		t.Skip("no conformance data in " + conformanceData)
	}
	var tried, kept, symOut int
	for _, model := range dirs {
		dir := filepath.Dir(model)
		name := filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir)
		if _, quirk := conformanceDataQuirks[name]; quirk {
			continue
		}
		if _, listed := conformanceExpectedErrors[name]; listed {
			continue
		}
		g, err := frontend.Load(model)
		if err != nil || firstUnsupported(g) != "" || len(g.Inputs) == 0 {
			continue
		}
		x := g.Inputs[0]
		if !x.Type.Ranked || len(x.Type.Shape) == 0 || !x.Type.Shape[0].Known() {
			continue
		}
		batch := x.Type.Shape[0].Size
		if batch < 1 {
			continue
		}
		clear := func() {
			for _, n := range g.Nodes {
				for _, o := range n.Outputs {
					if o != nil {
						o.Type = ir.Type{}
					}
				}
			}
		}
		clear()
		if ir.InferShapes(g) != nil {
			continue // TestShapesConformance reports it
		}
		staticExact := map[int]bool{}
		for i, o := range g.Outputs {
			if want, found := readOutput(dir, i); found && compareType(o.Type, want) == "" {
				staticExact[i] = true
			}
		}
		clear()
		x.Type.Shape = append(ir.Shape{ir.Sym("N")}, x.Type.Shape[1:]...)
		tried++
		if err := ir.InferShapes(g); err != nil {
			t.Errorf("%s: with symbolic batch: %v", name, err)
			continue
		}
		for _, o := range g.Outputs {
			if o.Type.Ranked && len(o.Type.Shape) > 0 && o.Type.Shape[0].Param == "N" {
				symOut++
				break
			}
		}
		if err := ir.BindBatch(g, batch); err != nil {
			t.Errorf("%s: BindBatch(%d): %v", name, batch, err)
			continue
		}
		if err := ir.InferShapes(g); err != nil {
			t.Errorf("%s: after BindBatch(%d): %v", name, batch, err)
			continue
		}
		ok := true
		for i, o := range g.Outputs {
			want, found := readOutput(dir, i)
			if !found {
				continue
			}
			if v := compareType(o.Type, want); v != "" && (v != "vague" || staticExact[i]) {
				t.Errorf("%s: output %d after binding: got %s, want %s%v (%s)", name, i, o.Type, want.DType, want.Shape, v)
				ok = false
			}
		}
		if ok {
			kept++
		}
	}
	t.Logf("symbolic batch: %d models tried, %d consistent after binding, %d keep N in an output", tried, kept, symOut)
}

// TestShapesLightModels types the real CNNs kept for the interpreter's
// tests (ResNet-50, Inception, DenseNet, ...) with a symbolic batch: they
// must infer and verify, and after BindBatch(1) the output must match the
// expected output tensor exactly.
func TestShapesLightModels(t *testing.T) {
	models, _ := filepath.Glob(filepath.Join("..", "interp", "testdata", "light", "light_*.onnx"))
	if len(models) == 0 {
		t.Skip("no light models in ../interp/testdata/light")
	}
	for _, model := range models {
		name := strings.TrimSuffix(filepath.Base(model), ".onnx")
		t.Run(name, func(t *testing.T) {
			g, err := frontend.Load(model)
			if err != nil {
				t.Skipf("not loadable: %v", err)
			}
			for _, n := range g.Nodes {
				for _, o := range n.Outputs {
					if o != nil {
						o.Type = ir.Type{}
					}
				}
			}
			x := g.Inputs[0]
			x.Type.Shape = append(ir.Shape{ir.Sym("N")}, x.Type.Shape[1:]...)
			if err := ir.InferShapes(g); err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			// Several of these (Caffe2-converted) models Reshape to a
			// constant [1, C], baking batch 1 in; that is their semantics,
			// not an inference failure, so it is only logged.
			if out := g.Outputs[0].Type; !out.Ranked || len(out.Shape) == 0 || out.Shape[0].Param != "N" {
				t.Logf("output with symbolic batch: %s (the model fixes the batch)", out)
			}
			if err := ir.BindBatch(g, 1); err != nil {
				t.Fatal(err)
			}
			if err := ir.InferShapes(g); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(strings.TrimSuffix(model, ".onnx") + "_output_0.pb")
			if err != nil {
				t.Skipf("no expected output: %v", err)
			}
			_, want, err := frontend.DecodeTensor(raw)
			if err != nil {
				t.Fatal(err)
			}
			if v := compareType(g.Outputs[0].Type, want); v != "" {
				t.Errorf("output after BindBatch(1): got %s, want %s%v (%s)", g.Outputs[0].Type, want.DType, want.Shape, v)
			}
		})
	}
}
