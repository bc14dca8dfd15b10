// Package interop checks that the ONNX models effc writes run in ONNX
// Runtime (onnxruntime-node, installed by `make bench-deps`) and compute
// what they should: the bundled digits model, the generated ResNet-18 and
// MobileNetV2 models and the ONNX conformance models are decoded, encoded
// with frontend.Save (as decoded, and after the default pass pipeline
// without fuse-epilogue), run in ONNX Runtime, and compared with effc's
// interpreter or the conformance reference outputs.
//
// Tests that need ONNX Runtime skip when it is missing, except in CI (the
// environment variable CI is set), where they fail.
package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/ortrun"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
	models "github.com/effc/effc/tests/models"
	onnxconf "github.com/effc/effc/tests/onnx"
)

// exportPipeline is the default pipeline without fuse-epilogue, whose
// effc.FusedConv nodes are effc-internal and cannot be exported.
func exportPipeline(t *testing.T) *passes.Pipeline {
	t.Helper()
	def, err := passes.ParsePipeline(passes.DefaultPipeline)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, name := range def.Passes() {
		if name != "fuse-epilogue" {
			keep = append(keep, name)
		}
	}
	p, err := passes.ParsePipeline(strings.Join(keep, ","))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// variant is one way of preparing a graph for export.
type variant struct {
	name     string
	pipeline *passes.Pipeline // nil: encode the graph as decoded
}

func variants(t *testing.T) []variant {
	return []variant{{"decoded", nil}, {"pipeline", exportPipeline(t)}}
}

// prepare returns a copy of g (decode(encode(g)), so g is left alone) with
// v's pipeline applied.
func (v variant) prepare(g *ir.Graph) (*ir.Graph, error) {
	data, err := frontend.Encode(g)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	c, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		return nil, fmt.Errorf("decode of the encoded graph: %w", err)
	}
	if v.pipeline != nil {
		if err := passes.Run(c, v.pipeline, passes.Options{VerifyEach: true}); err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", v.pipeline, err)
		}
	}
	return c, nil
}

// runORT saves g to dir/name.onnx and runs it in ONNX Runtime.
func runORT(r *ortrun.Runner, dir, name string, g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	path := filepath.Join(dir, name+".onnx")
	if err := frontend.Save(g, path); err != nil {
		return nil, err
	}
	return r.Run(context.Background(), path, inputs)
}

// compareOutputs checks every output of g in got against want.
func compareOutputs(g *ir.Graph, got, want map[string]*ir.Tensor, tol onnxconf.Tolerance) error {
	for i, o := range g.Outputs {
		if got[o.Name] == nil {
			return fmt.Errorf("output %d %q missing from ONNX Runtime's results", i, o.Name)
		}
		if err := onnxconf.Compare(got[o.Name], want[o.Name], tol); err != nil {
			return fmt.Errorf("output %d %q: %w", i, o.Name, err)
		}
	}
	return nil
}

// modelTolerance bounds ONNX Runtime against the interpreter on the whole
// models: both sum float32 products, in different orders (ONNX Runtime's
// MLAS kernels against gonum BLAS and effc's loops). Measured max abs
// differences of the outputs (as decoded): digits 4.4e-6 (max |logit| 10),
// ResNet-18 small 2.1e-5 (max 25), MobileNetV2 small 1.9e-5 (max 1.7);
// onnxconf.DefaultTolerance's atol 1e-5 is below the last two, so atol is
// 1e-4, about 5x the worst measured.
var modelTolerance = onnxconf.Tolerance{Rtol: 1e-3, Atol: 1e-4}

// TestORTDigits runs the bundled digits CNN on its 360 held-out images in
// ONNX Runtime, exported as decoded and after the pipeline, and checks the
// logits against the interpreter and the top-1 accuracy against the one the
// training script recorded.
func TestORTDigits(t *testing.T) {
	ortrun.Require(t)
	g, err := frontend.Load("../../testdata/digits/digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		NCorrect int `json:"n_correct"`
		NTest    int `json:"n_test"`
	}
	data, err := os.ReadFile("../../testdata/digits/accuracy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &acc); err != nil {
		t.Fatal(err)
	}
	x := readNPY(t, "../../testdata/digits/test_x.npy", ir.Float32, []int64{int64(acc.NTest), 1, 8, 8})
	labels := readNPY(t, "../../testdata/digits/test_y.npy", ir.Int64, []int64{int64(acc.NTest)})
	inputs := map[string]*ir.Tensor{"image": x}
	want, err := interp.Run(g, inputs)
	if err != nil {
		t.Fatal(err)
	}
	var r ortrun.Runner
	defer r.Close()
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			pg, err := v.prepare(g)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runORT(&r, t.TempDir(), "digits", pg, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if err := compareOutputs(pg, got, want, modelTolerance); err != nil {
				t.Error(err)
			}
			if n := correct(got["logits"], labels); n != acc.NCorrect {
				t.Errorf("ONNX Runtime classifies %d of %d images correctly, want %d (accuracy.json)", n, acc.NTest, acc.NCorrect)
			}
		})
	}
}

// correct counts the rows of logits whose argmax is the label.
func correct(logits, labels *ir.Tensor) int {
	if logits == nil || len(logits.Shape) != 2 {
		return -1
	}
	k := int(logits.Shape[1])
	n := 0
	for i, y := range labels.Int64s() {
		best := 0
		for j := 1; j < k; j++ {
			if logits.Float64At(i*k+j) > logits.Float64At(i*k+best) {
				best = j
			}
		}
		if int64(best) == y {
			n++
		}
	}
	return n
}

// readNPY reads a little-endian .npy file of the given dtype and shape
// (checked by size: the data is the last bytes of the file).
func readNPY(t *testing.T, path string, dt ir.DType, shape []int64) *ir.Tensor {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	descr := map[ir.DType]string{ir.Float32: "'<f4'", ir.Int64: "'<i8'"}[dt]
	n := int(ir.NumElements(shape)) * dt.Size()
	if len(data) < n || !strings.Contains(string(data[:min(len(data), 128)]), "'descr': "+descr) {
		t.Fatalf("%s: not a %s .npy of %d elements", path, dt, ir.NumElements(shape))
	}
	x, err := ir.TensorFromBytes(dt, shape, data[len(data)-n:])
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

// TestORTGeneratedModels runs the small ResNet-18- and MobileNetV2-shaped
// models (tests/models) in ONNX Runtime and compares with the interpreter.
func TestORTGeneratedModels(t *testing.T) {
	ortrun.Require(t)
	var r ortrun.Runner
	defer r.Close()
	for _, m := range []struct {
		name  string
		build func(models.Config) (*ir.Graph, error)
		cfg   models.Config
	}{
		{"resnet18", models.ResNet18, models.SmallResNet},
		{"mobilenetv2", models.MobileNetV2, models.Small},
	} {
		g, err := m.build(m.cfg)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string]*ir.Tensor{g.Inputs[0].Name: models.Input(m.cfg)}
		want, err := interp.Run(g, inputs)
		if err != nil {
			t.Fatalf("%s: interpreter: %v", m.name, err)
		}
		for _, v := range variants(t) {
			t.Run(m.name+"/"+v.name, func(t *testing.T) {
				pg, err := v.prepare(g)
				if err != nil {
					t.Fatal(err)
				}
				got, err := runORT(&r, t.TempDir(), m.name, pg, inputs)
				if err != nil {
					t.Fatal(err)
				}
				if err := compareOutputs(pg, got, want, modelTolerance); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestEncodeRefusesFusedConv: after the default pipeline the digits model
// holds effc.FusedConv nodes, which Save refuses with an error naming the
// node and the pass, writing nothing.
func TestEncodeRefusesFusedConv(t *testing.T) {
	g, err := frontend.Load("../../testdata/digits/digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	p, err := passes.ParsePipeline(passes.DefaultPipeline)
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.Run(g, p, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	var fused *ir.Node
	for _, n := range g.Nodes {
		if n.Domain == "effc" && n.Op == "FusedConv" {
			fused = n
			break
		}
	}
	if fused == nil {
		t.Fatal("the default pipeline fused no convolution of digits; the test needs one")
	}
	path := filepath.Join(t.TempDir(), "digits.onnx")
	err = frontend.Save(g, path)
	if err == nil || !strings.Contains(err.Error(), fused.String()) || !strings.Contains(err.Error(), "fuse-epilogue") {
		t.Errorf("Save of a graph with effc.FusedConv: error %v, want one naming %s and fuse-epilogue", err, fused)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 0 {
		t.Errorf("Save failed but left %d files behind", len(ents))
	}
}

// conformanceRoot is where Debian's libonnx-testdata installs the ONNX
// backend test data; EFFC_ONNX_TESTDATA overrides it (as in tests/onnx).
func conformanceRoot() string {
	if r := os.Getenv("EFFC_ONNX_TESTDATA"); r != "" {
		return r
	}
	return "/usr/share/libonnx-testdata/data"
}

// ortEngine is an onnxconf.Engine that exports the graph (prepared by its
// variant) and runs it in ONNX Runtime.
type ortEngine struct {
	v   variant
	r   *ortrun.Runner
	dir string
}

func (e *ortEngine) Name() string { return "ort-" + e.v.name }

func (e *ortEngine) Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	pg, err := e.v.prepare(g)
	if err != nil {
		return nil, err
	}
	return runORT(e.r, e.dir, "model", pg, inputs)
}

// TestORTConformance exports every ONNX conformance model the interpreter
// runs (tests/onnx) through effc, as decoded and after the pipeline, runs it
// in ONNX Runtime and compares with the reference outputs. Skips are the
// conformance Skips plus ortSkips, tolerances ToleranceFor with ortTolerance
// overrides. EFFC_INTEROP_REPORT=path writes the
// per-test report to path.<variant>.
func TestORTConformance(t *testing.T) {
	ortrun.Require(t)
	root := conformanceRoot()
	tests, err := onnxconf.Tests(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Skipf("no ONNX test data under %s (install libonnx-testdata or set EFFC_ONNX_TESTDATA)", root)
	}
	skips := map[string]string{}
	for k, v := range onnxconf.Skips {
		skips[k] = v
	}
	for k, v := range ortSkips {
		if _, dup := skips[k]; dup {
			t.Errorf("ortSkips[%q] repeats a conformance skip", k)
		}
		skips[k] = v
	}
	var r ortrun.Runner
	defer r.Close()
	for _, v := range variants(t) {
		t.Run(v.name, func(t *testing.T) {
			e := &ortEngine{v: v, r: &r, dir: t.TempDir()}
			rep := onnxconf.Report{Engine: e.Name()}
			for _, name := range tests {
				var res onnxconf.Result
				t.Run(name, func(t *testing.T) {
					res = onnxconf.RunTest(root, name, e, skips, toleranceFor)
					switch res.Status {
					case onnxconf.Skipped:
						t.Skip(res.Detail)
					case onnxconf.Failed:
						t.Error(res.Detail)
					}
				})
				if res.Test != "" {
					rep.Results = append(rep.Results, res)
				}
			}
			if path := os.Getenv("EFFC_INTEROP_REPORT"); path != "" {
				if err := writeReport(path+"."+v.name, rep); err != nil {
					t.Errorf("writing the report: %v", err)
				}
			}
			t.Logf("%s: %s", e.Name(), rep.Summary())
		})
	}
	for k := range ortSkips {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(k), "model.onnx")); err != nil {
			t.Errorf("ortSkips[%q]: no such conformance test", k)
		}
	}
}

// writeReport writes rep's per-test lines and summary, then the failures
// grouped by cause.
func writeReport(path string, rep onnxconf.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := rep.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	groups := onnxconf.Group(rep)
	causes := make([]string, 0, len(groups))
	for c := range groups {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool { return len(groups[causes[i]]) > len(groups[causes[j]]) })
	for _, c := range causes {
		fmt.Fprintf(f, "\n%d × %s\n  %s\n", len(groups[c]), c, strings.Join(groups[c], " "))
	}
	return f.Close()
}
