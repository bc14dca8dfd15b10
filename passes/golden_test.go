package passes

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

var update = flag.Bool("update", false, "rewrite the golden .out.effir files")

// TestGolden runs each testdata/<pass>/<case>.effir through the pipeline
// named on its "# pipeline:" line, with the verifier after every pass, and
// compares the result with <case>.out.effir. It also runs the interpreter on
// random inputs before and after: a pass must not change what the graph
// computes. `go test ./passes -run Golden -update` rewrites the goldens.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/*.effir")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range cases {
		if strings.HasSuffix(path, ".out.effir") {
			continue
		}
		n++
		t.Run(strings.TrimSuffix(path[len("testdata/"):], ".effir"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			spec := pipelineLine(t, src)
			g, err := ir.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			in := randomInputs(g, 1)
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatalf("before: %v", err)
			}
			checkPipeline(t, g, spec)
			got, err := interp.Run(g, in)
			if err != nil {
				t.Fatalf("after: %v", err)
			}
			compareOutputs(t, want, got, 1e-5)
			compareGolden(t, strings.TrimSuffix(path, ".effir")+".out.effir",
				"# pipeline: "+spec+"\n"+ir.Format(g, ir.PrintOptions{Weights: ir.WeightsFull}))
		})
	}
	if n < 5 {
		t.Fatalf("found %d golden cases, want at least 5", n)
	}
}

// TestGoldenDigitsDefaultPipeline pins the dump of the bundled ResNet-style
// model after the default pipeline: what `effc ir testdata/digits/digits.onnx`
// prints. The dump must parse back and print identically.
func TestGoldenDigitsDefaultPipeline(t *testing.T) {
	g, err := frontend.Load("../testdata/digits/digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	checkPipeline(t, g, DefaultPipeline)
	text := ir.Format(g, ir.PrintOptions{})
	back, err := ir.Parse([]byte(text))
	if err != nil {
		t.Fatalf("dump does not parse back: %v", err)
	}
	if again := ir.Format(back, ir.PrintOptions{}); again != text {
		t.Fatalf("dump does not print back identically:\n%s", again)
	}
	compareGolden(t, "testdata/pipelines/digits_default.out.effir", text)
}

func checkPipeline(t *testing.T, g *ir.Graph, spec string) {
	t.Helper()
	p, err := ParsePipeline(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(g, p, Options{VerifyEach: true}); err != nil {
		t.Fatal(err)
	}
}

func pipelineLine(t *testing.T, src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		if s, ok := strings.CutPrefix(line, "# pipeline:"); ok {
			return strings.TrimSpace(s)
		}
	}
	t.Fatal(`missing "# pipeline: ..." line`)
	return ""
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./passes -run Golden -update)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Fatalf("%s differs; got:\n%s", path, got)
	}
}

// randomInputs draws inputs for g, binding every symbolic dim to 2.
func randomInputs(g *ir.Graph, seed uint64) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(seed, seed))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		dims := v.Type.Shape.Sizes()
		for i := range dims {
			if dims[i] < 0 {
				dims[i] = 2
			}
		}
		t := ir.NewTensor(v.Type.DType, dims)
		if d, ok := t.Data.([]float32); ok {
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		}
		m[v.Name] = t
	}
	return m
}

func compareOutputs(t *testing.T, want, got map[string]*ir.Tensor, tol float64) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if g == nil {
			t.Fatalf("output %q missing", name)
		}
		wf, gf := w.Float64s(), g.Float64s()
		if len(wf) != len(gf) {
			t.Fatalf("output %q: %d elements, want %d", name, len(gf), len(wf))
		}
		for i := range wf {
			if d := math.Abs(wf[i] - gf[i]); d > tol*math.Max(1, math.Abs(wf[i])) {
				t.Fatalf("output %q[%d] = %g, want %g", name, i, gf[i], wf[i])
			}
		}
	}
}
