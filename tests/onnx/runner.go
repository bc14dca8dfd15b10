// Package onnxconf runs the ONNX backend conformance tests (model.onnx plus
// test_data_set_N/{input,output}_K.pb folders, as shipped in onnx's
// backend/test/data and in libonnx-testdata) against any Engine: the
// reference interpreter or a compiled target.
package onnxconf

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
)

// Engine executes a decoded graph.
type Engine interface {
	// Name identifies the engine in reports ("interp", "x86-64").
	Name() string
	// Run evaluates g on inputs keyed by graph input name and returns the
	// graph outputs keyed by name.
	Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error)
}

// Tolerance bounds float mismatches: |got-want| <= Atol + Rtol*|want|.
type Tolerance struct {
	Rtol, Atol float64
}

// Status is the outcome of one test.
type Status int

// Test outcomes.
const (
	Passed Status = iota
	Failed
	Skipped
)

// String names the status.
func (s Status) String() string {
	return [...]string{"PASS", "FAIL", "SKIP"}[s]
}

// Result is one test's outcome. Test is "<suite>/<dir>", e.g. "node/test_abs".
type Result struct {
	Test   string
	Status Status
	Detail string // the error or skip reason; empty on success
}

// Report collects the results of a suite run, in test order.
type Report struct {
	Engine  string
	Results []Result
}

// Count returns how many results have status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// Summary is the one-line "N passed, N failed, N skipped".
func (r Report) Summary() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Count(Passed), r.Count(Failed), r.Count(Skipped))
}

// WriteTo writes one line per test ("FAIL node/test_abs: ...") followed by
// the summary.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, x := range r.Results {
		line := fmt.Sprintf("%s %s", x.Status, x.Test)
		if x.Detail != "" {
			line += ": " + x.Detail
		}
		k, err := fmt.Fprintln(w, line)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	k, err := fmt.Fprintf(w, "engine %s: %s\n", r.Engine, r.Summary())
	return n + int64(k), err
}

// Suites are the libonnx-testdata folders the runner walks. "real" holds
// full models downloaded on demand and is not part of the suite.
var Suites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

// Tests lists the test names ("node/test_abs") under root, sorted: every
// folder of a suite that holds a model.onnx.
func Tests(root string) ([]string, error) {
	var out []string
	for _, s := range Suites {
		ents, err := os.ReadDir(filepath.Join(root, s))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(root, s, e.Name(), "model.onnx")); err == nil {
				out = append(out, s+"/"+e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// RunSuite runs every test under root with engine e. skips maps test names
// to reasons; tol gives the float tolerance per test and output dtype.
func RunSuite(root string, e Engine, skips map[string]string, tol func(test string, dt ir.DType) Tolerance) Report {
	rep := Report{Engine: e.Name()}
	tests, err := Tests(root)
	if err != nil {
		rep.Results = append(rep.Results, Result{Test: root, Status: Failed, Detail: err.Error()})
		return rep
	}
	for _, t := range tests {
		rep.Results = append(rep.Results, RunTest(root, t, e, skips, tol))
	}
	return rep
}

// RunTest runs one test ("node/test_abs") under root.
func RunTest(root, test string, e Engine, skips map[string]string, tol func(test string, dt ir.DType) Tolerance) Result {
	if why, ok := skips[test]; ok {
		return Result{Test: test, Status: Skipped, Detail: why}
	}
	if err := runTest(filepath.Join(root, filepath.FromSlash(test)), test, e, tol); err != nil {
		return Result{Test: test, Status: Failed, Detail: err.Error()}
	}
	return Result{Test: test, Status: Passed}
}

func runTest(dir, test string, e Engine, tol func(string, ir.DType) Tolerance) error {
	g, err := frontend.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* folder in %s", dir)
	}
	sort.Strings(sets)
	for _, set := range sets {
		if err := runSet(g, set, test, e, tol); err != nil {
			if len(sets) > 1 {
				return fmt.Errorf("%s: %w", filepath.Base(set), err)
			}
			return err
		}
	}
	return nil
}

// readTensors reads prefix_0.pb, prefix_1.pb, ... from dir until one is missing.
func readTensors(dir, prefix string) ([]*ir.Tensor, []string, error) {
	var ts []*ir.Tensor
	var names []string
	for i := 0; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i))
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return ts, names, nil
		}
		if err != nil {
			return nil, nil, err
		}
		name, t, err := frontend.DecodeTensor(b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		ts = append(ts, t)
		names = append(names, name)
	}
}

func runSet(g *ir.Graph, set, test string, e Engine, tol func(string, ir.DType) Tolerance) error {
	ins, _, err := readTensors(set, "input")
	if err != nil {
		return err
	}
	wants, _, err := readTensors(set, "output")
	if err != nil {
		return err
	}
	if len(ins) > len(g.Inputs) {
		return fmt.Errorf("test data has %d inputs, graph has %d", len(ins), len(g.Inputs))
	}
	if len(wants) != len(g.Outputs) {
		return fmt.Errorf("test data has %d outputs, graph has %d", len(wants), len(g.Outputs))
	}
	inputs := map[string]*ir.Tensor{}
	for i, t := range ins {
		inputs[g.Inputs[i].Name] = bf16Bits(t, g.Inputs[i].Type.DType)
	}
	got, err := e.Run(g, inputs)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	for i, o := range g.Outputs {
		t, ok := got[o.Name]
		if !ok || t == nil {
			return fmt.Errorf("output %d %q missing from the engine's results", i, o.Name)
		}
		want := bf16Bits(wants[i], o.Type.DType)
		if err := Compare(t, want, tol(test, want.DType)); err != nil {
			return fmt.Errorf("output %d %q: %w", i, o.Name, err)
		}
	}
	return nil
}

// bf16Bits relabels a uint16 tensor as bfloat16 when the graph declares
// bfloat16: ONNX test data written before bfloat16 had its own numpy
// dtype stores bfloat16 values as their raw uint16 bits.
func bf16Bits(t *ir.Tensor, declared ir.DType) *ir.Tensor {
	if declared == ir.BFloat16 && t.DType == ir.Uint16 {
		return &ir.Tensor{DType: ir.BFloat16, Shape: t.Shape, Data: t.Data}
	}
	return t
}

// Compare checks got against want: same dtype and shape, floats within tol
// (NaN matches NaN, infinities must match exactly), everything else exact.
// The error names the first mismatching element.
func Compare(got, want *ir.Tensor, tol Tolerance) error {
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !equalShape(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	n := want.Len()
	if got.DataLen() != n {
		return fmt.Errorf("data has %d elements, shape %v wants %d", got.DataLen(), got.Shape, n)
	}
	bad, first := 0, -1
	var worst float64
	switch g := got.Data.(type) {
	case []string:
		w := want.Data.([]string)
		for i := range w {
			if g[i] != w[i] {
				return fmt.Errorf("element %d is %q, want %q", i, g[i], w[i])
			}
		}
		return nil
	case []complex64:
		w := want.Data.([]complex64)
		for i := range w {
			if !within(float64(real(g[i])), float64(real(w[i])), tol) || !within(float64(imag(g[i])), float64(imag(w[i])), tol) {
				return fmt.Errorf("element %d is %v, want %v", i, g[i], w[i])
			}
		}
		return nil
	case []complex128:
		w := want.Data.([]complex128)
		for i := range w {
			if !within(real(g[i]), real(w[i]), tol) || !within(imag(g[i]), imag(w[i]), tol) {
				return fmt.Errorf("element %d is %v, want %v", i, g[i], w[i])
			}
		}
		return nil
	}
	if want.DType.IsFloat() {
		for i := 0; i < n; i++ {
			a, b := got.Float64At(i), want.Float64At(i)
			if !within(a, b, tol) {
				bad++
				if first < 0 {
					first = i
				}
				if d := math.Abs(a - b); d > worst || math.IsNaN(d) {
					worst = d
				}
			}
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d elements differ (rtol %g, atol %g); first at %d: got %g, want %g; max abs diff %g",
				bad, n, tol.Rtol, tol.Atol, first, got.Float64At(first), want.Float64At(first), worst)
		}
		return nil
	}
	for i := 0; i < n; i++ {
		if got.Int64At(i) != want.Int64At(i) {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d elements differ; first at %d: got %d, want %d", bad, n, first, got.Int64At(first), want.Int64At(first))
	}
	return nil
}

func within(a, b float64, tol Tolerance) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(b, 0) || math.IsInf(a, 0):
		return a == b
	}
	return math.Abs(a-b) <= tol.Atol+tol.Rtol*math.Abs(b)
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Group buckets failure details by cause for triage: the detail with node
// names, numbers and quoted values stripped.
func Group(r Report) map[string][]string {
	out := map[string][]string{}
	for _, x := range r.Results {
		if x.Status != Failed {
			continue
		}
		out[cause(x.Detail)] = append(out[cause(x.Detail)], x.Test)
	}
	return out
}

func cause(detail string) string {
	var b strings.Builder
	inQuote := false
	for _, c := range detail {
		switch {
		case c == '"':
			inQuote = !inQuote
			if inQuote {
				b.WriteString(`"…"`)
			}
		case inQuote:
		case c >= '0' && c <= '9':
			if s := b.String(); !strings.HasSuffix(s, "#") {
				b.WriteByte('#')
			}
		default:
			b.WriteRune(c)
		}
	}
	s := b.String()
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}
