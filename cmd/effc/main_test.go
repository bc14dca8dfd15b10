package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
)

const (
	digits      = "../../testdata/digits/digits.onnx"
	digitsX     = "../../testdata/digits/test_x.npy"
	digitsY     = "../../testdata/digits/test_y.npy"
	digitsAcc   = "../../testdata/digits/accuracy.json"
	digitsTorch = "../../testdata/digits/test_logits.npy"
)

// effcRun runs the CLI in-process and returns its exit status and output.
func effcRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := effcRun(t, args...)
	if code != 0 {
		t.Fatalf("effc %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestInspectText(t *testing.T) {
	out := mustRun(t, "inspect", digits)
	for _, want := range []string{
		"file:        " + digits,
		"ir_version:  7",
		"(source 13)",
		"producer:    pytorch 1.13.0",
		"inputs:      image f32[N,1,8,8]",
		"outputs:     logits f32[N,10]",
		"NAME", "SPARSITY",
		"MACs count symbolic dims N as 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, " BatchNormalization "); n != 6 {
		t.Errorf("inspect lists %d BatchNormalization rows, want 6:\n%s", n, out)
	}
	// The row of block1's first conv: 16x8x8 outputs, fan-in 16x3x3, 2304 weights.
	if !hasLine(out, "/block1/conv1/Conv", "Conv", "f32[N,16,8,8]", "2304", "147456", "0.0%") {
		t.Errorf("no row for /block1/conv1/Conv with 2304 params and 147456 MACs:\n%s", out)
	}
	if !hasLine(out, "total", "23 nodes", "540480") {
		t.Errorf("no total row with 23 nodes and 540480 MACs:\n%s", out)
	}
}

// hasLine reports whether some line of s holds the whitespace-separated
// tokens of fields, in order (other tokens may come between).
func hasLine(s string, fields ...string) bool {
	want := strings.Fields(strings.Join(fields, " "))
	for _, line := range strings.Split(s, "\n") {
		j := 0
		for _, tok := range strings.Fields(line) {
			if j < len(want) && tok == want[j] {
				j++
			}
		}
		if j == len(want) {
			return true
		}
	}
	return false
}

func TestInspectJSON(t *testing.T) {
	out := mustRun(t, "inspect", digits, "--json")
	var r effc.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("inspect --json is not a Report: %v\n%s", err, out)
	}
	g, err := effc.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	if want := effc.Inspect(g); !reflect.DeepEqual(&r, want) {
		t.Errorf("inspect --json differs from effc.Inspect:\n got %+v\nwant %+v", r, *want)
	}
	if r.Totals.MACs != 540480 || r.Totals.Nodes != 23 {
		t.Errorf("totals: %d MACs in %d nodes, want 540480 in 23", r.Totals.MACs, r.Totals.Nodes)
	}
	if r.IRVersion != 7 || r.SourceOpset != 13 || len(r.Inputs) != 1 || r.Inputs[0].Type != "f32[N,1,8,8]" {
		t.Errorf("header: ir_version %d, source opset %d, inputs %v", r.IRVersion, r.SourceOpset, r.Inputs)
	}
	for _, key := range []string{`"totals"`, `"macs"`, `"sparsity"`, `"weight_bytes"`, `"source_opset"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks key %s", key)
		}
	}
	// Flags before and after the model path give the same output.
	if out2 := mustRun(t, "inspect", "--json", digits); out2 != out {
		t.Errorf("inspect --json MODEL differs from inspect MODEL --json")
	}
}

// accuracy reads testdata/digits/accuracy.json.
func accuracy(t *testing.T) (correct, total int) {
	t.Helper()
	var acc struct {
		NCorrect int     `json:"n_correct"`
		NTest    int     `json:"n_test"`
		Acc      float64 `json:"test_accuracy"`
	}
	data, err := os.ReadFile(digitsAcc)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &acc); err != nil {
		t.Fatal(err)
	}
	if float64(acc.NCorrect)/float64(acc.NTest) != acc.Acc {
		t.Fatalf("accuracy.json is inconsistent: %d/%d != %v", acc.NCorrect, acc.NTest, acc.Acc)
	}
	return acc.NCorrect, acc.NTest
}

func TestRunLabels(t *testing.T) {
	correct, total := accuracy(t)
	out := mustRun(t, "run", digits, "--input", digitsX, "--labels", digitsY)
	want := fmt.Sprintf("accuracy: %d/%d = %.4f", correct, total, float64(correct)/float64(total))
	if !strings.Contains(out, want) {
		t.Errorf("run --labels: want %q (testdata/digits/accuracy.json), got:\n%s", want, out)
	}
	if !strings.HasPrefix(out, fmt.Sprintf("logits: f32[%d,10] min ", total)) {
		t.Errorf("run summary does not start with the logits line:\n%s", out)
	}
}

func TestRunOutputDir(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, "run", digits, "--input", "image="+digitsX, "--output-dir", dir)
	file := filepath.Join(dir, "logits.npy")
	if !strings.Contains(out, "wrote "+file) {
		t.Errorf("run output does not mention %s:\n%s", file, out)
	}
	got, err := readNPY(file)
	if err != nil {
		t.Fatal(err)
	}
	want, err := readNPY(digitsTorch)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Shape, want.Shape) || got.DType != ir.Float32 {
		t.Fatalf("logits.npy is %s%v, want f32%v", got.DType, got.Shape, want.Shape)
	}
	// Same tolerance as the facade's test: PyTorch sums in another order.
	const tol = 1e-3
	g, w := got.Data.([]float32), want.Data.([]float32)
	for i := range w {
		if math.Abs(float64(g[i]-w[i])) > tol {
			t.Fatalf("logits[%d,%d] = %g, PyTorch %g", i/10, i%10, g[i], w[i])
		}
	}
}

func TestRunPB(t *testing.T) {
	x, err := readNPY(digitsX)
	if err != nil {
		t.Fatal(err)
	}
	// The first three images as a TensorProto.
	three := ir.FromFloat32([]int64{3, 1, 8, 8}, x.Data.([]float32)[:3*64])
	data, err := frontend.EncodeTensor("image", three)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pb := filepath.Join(dir, "input_0.pb")
	if err := os.WriteFile(pb, data, 0o644); err != nil {
		t.Fatal(err)
	}
	npy := filepath.Join(dir, "three.npy")
	if err := writeNPY(npy, three); err != nil {
		t.Fatal(err)
	}
	a := mustRun(t, "run", digits, "--input", pb)
	b := mustRun(t, "run", "--input", npy, digits)
	if a != b || !strings.HasPrefix(a, "logits: f32[3,10] ") {
		t.Errorf("run of a .pb and the same .npy differ:\n%s\n%s", a, b)
	}
}

func TestRunBadInputs(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	if err := writeNPY(bad, ir.NewTensor(ir.Float32, []int64{2, 1, 9, 8})); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string // the whole stderr
	}{
		{[]string{"run", digits, "--input", bad},
			"effc: " + digits + `: input "image": shape [2,1,9,8] does not match [N,1,8,8] (dim 2: got 9, want 8)` + "\n"},
		{[]string{"run", digits, "--input", digitsY},
			"effc: " + digits + `: input "image": dtype i64 does not match f32[N,1,8,8]` + "\n"},
		{[]string{"run", digits, "--input", "label=" + digitsY},
			"effc: --input label=" + digitsY + `: the graph has no input "label"; its inputs are "image"` + "\n"},
		{[]string{"run", digits, "--input", digitsX, "--input", digitsX},
			"effc: --input " + digitsX + `: every graph input is already bound ("image"); remove the extra --input` + "\n"},
		{[]string{"run", digits, "--input", "image=" + digitsX, "--input", digitsX},
			"effc: --input " + digitsX + `: every graph input is already bound ("image"); remove the extra --input` + "\n"},
		{[]string{"run", digits, "--input", filepath.Join(dir, "x.txt")},
			"effc: " + filepath.Join(dir, "x.txt") + ": unknown tensor file type; want .npy (NumPy) or .pb (ONNX TensorProto)\n"},
		{[]string{"run", digits, "--input", digitsX, "--labels", digitsX},
			"effc: --labels " + digitsX + ": labels have dtype f32, want an integer type\n"},
	}
	for _, c := range cases {
		code, _, errs := effcRun(t, c.args...)
		if code != 1 || errs != c.want {
			t.Errorf("effc %s:\n exit %d, stderr %q\nwant exit 1, stderr %q", strings.Join(c.args, " "), code, errs, c.want)
		}
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(junk, []byte("this is not a protobuf\n\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"inspect", filepath.Join(dir, "missing.onnx")},
		{"inspect", junk},
		{"run", junk, "--input", digitsX},
		{"ir", junk},
	} {
		code, out, errs := effcRun(t, args...)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "effc: ") || strings.Count(errs, "\n") != 1 {
			t.Errorf("effc %s: exit %d, stdout %q, stderr %q; want exit 1 and one line 'effc: ...'", strings.Join(args, " "), code, out, errs)
		}
		if !strings.Contains(errs, args[1]) {
			t.Errorf("effc %s: error %q does not name the file", strings.Join(args, " "), errs)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string // in stderr
	}{
		{nil, "Usage: effc <command>"},
		{[]string{"frobnicate"}, `effc: unknown command "frobnicate"; run 'effc help' for the list`},
		{[]string{"help", "frobnicate"}, `effc: unknown command "frobnicate"`},
		{[]string{"inspect"}, "effc inspect: missing MODEL.onnx argument"},
		{[]string{"inspect", digits, digits}, "effc inspect: want one MODEL.onnx argument, got 2"},
		{[]string{"inspect", digits, "--bogus"}, "effc inspect: flag provided but not defined: -bogus"},
		{[]string{"ir", digits, "--weights", "half"}, `effc ir: --weights "half": want full or elided`},
		{[]string{"ir", digits, "--passes", "no-such-pass"}, `effc ir: --passes: unknown pass "no-such-pass"`},
		{[]string{"ir", digits, "--print-after", "no-such-pass"}, `effc ir: --print-after: unknown pass "no-such-pass"`},
		{[]string{"ir", digits, "--shape", "image"}, `effc ir: --shape "image": want NAME=D0,D1,...`},
		{[]string{"ir", digits, "--shape", "image=1,x"}, `effc ir: --shape "image=1,x": dimension "x" is not a non-negative integer`},
		{[]string{"ir", digits, "--batch", "0"}, "effc ir: --batch 0: want a positive batch size"},
		{[]string{"run", digits}, "effc run: missing --input FILE"},
		{[]string{"run", digits, "--input"}, "effc run: flag needs an argument: -input"},
		{[]string{"ops", "extra"}, `effc ops: unexpected argument "extra"`},
		{[]string{"version", "extra"}, `effc version: unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, out, errs := effcRun(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("effc %s: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q",
				strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}, {c.name, "x.onnx", "--help"}} {
			code, out, errs := effcRun(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("effc %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
				continue
			}
			for _, want := range []string{"Usage: effc " + c.name, "Examples:\n  effc " + c.name} {
				if !strings.Contains(out, want) {
					t.Errorf("effc %s: output lacks %q:\n%s", strings.Join(args, " "), want, out)
				}
			}
		}
	}
	out := mustRun(t, "help")
	for _, c := range commands {
		if !strings.Contains(out, "\n  "+c.name+" ") {
			t.Errorf("effc help does not list %s:\n%s", c.name, out)
		}
	}
	if out := mustRun(t, "run", "--help"); !strings.Contains(out, "--input FILE") || !strings.Contains(out, "--labels FILE.npy") {
		t.Errorf("effc run --help does not describe its flags:\n%s", out)
	}
}

func TestIR(t *testing.T) {
	imported := mustRun(t, "ir", digits, "--passes", "")
	if n := strings.Count(imported, "= BatchNormalization("); n != 6 {
		t.Errorf("ir --passes '': %d BatchNormalization nodes, want 6:\n%s", n, imported)
	}
	def := mustRun(t, "ir", digits)
	if strings.Contains(def, "= BatchNormalization(") || !strings.Contains(def, "= Conv(") {
		t.Errorf("ir with the default pipeline still has BatchNormalization (bn-fold) or lost Conv:\n%s", def)
	}
	if strings.Count(def, "\n") >= strings.Count(imported, "\n") {
		t.Errorf("the default pipeline did not shrink the IR (%d lines, imported %d)", strings.Count(def, "\n"), strings.Count(imported, "\n"))
	}
	full := mustRun(t, "ir", digits, "--weights", "full", "--passes", "")
	if len(full) <= len(imported) {
		t.Errorf("--weights full is not longer than elided (%d <= %d bytes)", len(full), len(imported))
	}
	// The flag after the model and the batch binding.
	b1 := mustRun(t, "ir", digits, "--batch", "4", "--passes", "")
	if strings.Contains(b1, "[N,") || !strings.Contains(b1, "[4,1,8,8]") || !strings.Contains(b1, "f32[4,10]") {
		t.Errorf("ir --batch 4 still has a symbolic batch or lacks [4,1,8,8]:\n%s", b1)
	}
	s1 := mustRun(t, "ir", digits, "--shape", "image=2,1,8,8", "--passes", "")
	if !strings.Contains(s1, "[2,10]") {
		t.Errorf("ir --shape image=2,1,8,8 does not give logits [2,10]:\n%s", s1)
	}
	// --print-after prints the dump and then the final IR.
	pa := mustRun(t, "ir", digits, "--passes", "shape-infer,identity-elim", "--print-after", "identity-elim")
	if len(pa) <= len(mustRun(t, "ir", digits, "--passes", "shape-infer,identity-elim")) {
		t.Errorf("--print-after printed nothing more than the final IR")
	}
	// --print-after-all prints one dump per pass and not the final IR again.
	all := mustRun(t, "ir", digits, "--passes", "shape-infer,identity-elim", "--print-after-all")
	one := mustRun(t, "ir", digits, "--passes", "shape-infer,identity-elim", "--print-after", "shape-infer,identity-elim")
	if len(all) >= len(one) {
		t.Errorf("--print-after-all (%d bytes) should be one final IR shorter than --print-after of both passes (%d bytes)", len(all), len(one))
	}
}

func TestOpsAndVersion(t *testing.T) {
	ops := strings.Fields(mustRun(t, "ops"))
	for _, want := range []string{"Conv", "Gemm", "BatchNormalization", "Relu", "GlobalAveragePool"} {
		found := false
		for _, op := range ops {
			found = found || op == want
		}
		if !found {
			t.Errorf("effc ops does not list %s", want)
		}
	}
	all := mustRun(t, "ops", "--all")
	if strings.Count(all, "\n") < len(ops) || strings.Count(all, " interp\n") != len(ops) {
		t.Errorf("ops --all: %d lines with %d marked interp, want >= %d lines with exactly %d marked",
			strings.Count(all, "\n"), strings.Count(all, " interp\n"), len(ops), len(ops))
	}
	if v := mustRun(t, "version"); !strings.HasPrefix(v, "effc "+effc.Version+" go") {
		t.Errorf("effc version printed %q", v)
	}
}

func TestReorderArgs(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Bool("json", false, "")
	fs.Bool("v", false, "")
	fs.String("input", "", "")
	fs.String("out", "", "")
	got := reorderArgs(fs, []string{"m.onnx", "--json", "--input", "a.npy", "--out=x", "-v", "--", "--literal"})
	want := []string{"--json", "--input", "a.npy", "--out=x", "-v", "--", "m.onnx", "--literal"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reorderArgs = %q, want %q", got, want)
	}
}

func TestNPYFloat16FromNumPy(t *testing.T) {
	// np.save("h.npy", np.array([[1.5, -2, 65504]], dtype=np.float16)),
	// bytes as NumPy 1.24 writes them.
	header := "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 3), }"
	header += strings.Repeat(" ", 128-10-len(header)-1) + "\n" // total header 128 bytes
	file := "\x93NUMPY\x01\x00" + string([]byte{byte(len(header)), 0}) + header + "\x00\x3e\x00\xc0\xff\x7b"
	path := filepath.Join(t.TempDir(), "h.npy")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.DType != ir.Float16 || !reflect.DeepEqual(got.Shape, []int64{1, 3}) ||
		got.Float64At(0) != 1.5 || got.Float64At(1) != -2 || got.Float64At(2) != 65504 {
		t.Errorf("read %s%v %v, want f16[1,3] [1.5 -2 65504]", got.DType, got.Shape, got.Float64s())
	}
}

func TestNPYRoundTrip(t *testing.T) {
	// Writing back what NumPy wrote gives the same bytes: same header
	// layout, same padding, same data.
	for _, path := range []string{digitsX, digitsY, digitsTorch} {
		x, err := readNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "x.npy")
		if err := writeNPY(out, x); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(out)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: writeNPY(readNPY(f)) differs from f (%d vs %d bytes)", path, len(b), len(a))
		}
	}
	for _, tt := range []*ir.Tensor{
		ir.Scalar(float32(2.5)),
		{DType: ir.Int8, Shape: []int64{3}, Data: []int8{-1, 0, 1}},
		{DType: ir.Bool, Shape: []int64{2, 1}, Data: []bool{true, false}},
		{DType: ir.Uint16, Shape: []int64{0, 4}, Data: []uint16{}},
		{DType: ir.Float16, Shape: []int64{2}, Data: []uint16{ir.Float32ToFloat16(1.5), ir.Float32ToFloat16(-2)}},
		ir.FromInt64([]int64{2, 2, 2}, []int64{1, 2, 3, 4, 5, 6, 7, 8}),
	} {
		out := filepath.Join(t.TempDir(), "t.npy")
		if err := writeNPY(out, tt); err != nil {
			t.Fatal(err)
		}
		got, err := readNPY(out)
		if err != nil {
			t.Fatalf("%s%v: %v", tt.DType, tt.Shape, err)
		}
		if got.DType != tt.DType || !reflect.DeepEqual(got.Shape, tt.Shape) || !reflect.DeepEqual(got.Data, tt.Data) {
			t.Errorf("round trip of %s%v %v gave %s%v %v", tt.DType, tt.Shape, tt.Data, got.DType, got.Shape, got.Data)
		}
	}
}

// twoInputModel writes an ONNX model y = a + b with a, b: f32[N,3] and
// returns its path.
func twoInputModel(t *testing.T) string {
	t.Helper()
	typ := ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3)})
	a := &ir.Value{Name: "a", Type: typ}
	b := &ir.Value{Name: "b", Type: typ}
	n := &ir.Node{Name: "add", Op: "Add", Inputs: []*ir.Value{a, b}}
	y := &ir.Value{Name: "y/sum", Type: typ, Producer: n}
	n.Outputs = []*ir.Value{y}
	g := &ir.Graph{Name: "two", IRVersion: 8, Opsets: map[string]int64{"": ir.CanonicalOpset},
		Inputs: []*ir.Value{a, b}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{n}}
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "two.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunTwoInputs(t *testing.T) {
	model := twoInputModel(t)
	dir := filepath.Dir(model)
	save := func(name string, shape []int64, data []float32) string {
		p := filepath.Join(dir, name)
		if err := writeNPY(p, ir.FromFloat32(shape, data)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := save("a.npy", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := save("b.npy", []int64{2, 3}, []float32{10, 20, 30, 40, 50, 60})
	b3 := save("b3.npy", []int64{3, 3}, make([]float32, 9))

	// By position, by name in either order: the same sum.
	want := "y/sum: f32[2,3] min 11 max 66 mean 38.5 argmax[0] 2\n"
	for _, args := range [][]string{
		{"run", model, "--input", a, "--input", b},
		{"run", model, "--input", "b=" + b, "--input", "a=" + a},
		{"run", model, "--input", "b=" + b, "--input", a},
		{"run", model, "--input", a, "--input", "b=" + b},
	} {
		if out := mustRun(t, args...); out != want {
			t.Errorf("effc %s:\n got %q\nwant %q", strings.Join(args, " "), out, want)
		}
	}
	// Output names become safe file names.
	out := t.TempDir()
	mustRun(t, "run", model, "--input", a, "--input", b, "--output-dir", out)
	sum, err := readNPY(filepath.Join(out, "y_sum.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sum.Data, []float32{11, 22, 33, 44, 55, 66}) {
		t.Errorf("y_sum.npy holds %v", sum.Data)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", model, "--input", a, "--input", b3},
			`input "b": shape [3,3] does not match [N,3] (dim 0: got 3, but input "a" set N = 2)`},
		{[]string{"run", model, "--input", a},
			`missing input "b" (f32[N,3]); the graph's inputs are "a" f32[N,3], "b" f32[N,3]`},
		{[]string{"run", model, "--input", "a=" + a, "--input", "a=" + b},
			`--input a=` + b + `: input "a" is bound twice`},
		{[]string{"run", model, "--input", "b=" + a, "--input", b3},
			`input "b": shape [2,3] does not match [N,3] (dim 0: got 2, but input "a" set N = 3)`},
	} {
		code, _, errs := effcRun(t, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("effc %s: exit %d, stderr %q; want exit 1 and one line containing %q", strings.Join(c.args, " "), code, errs, c.want)
		}
	}
}

func TestPanicBecomesError(t *testing.T) {
	boom := func(*env, []string) error { panic("index out of range [3] with length 3") }
	err := runSafely(boom, &env{}, nil)
	const want = "internal error: index out of range [3] with length 3 (please report this with the command line and model)"
	if err == nil || err.Error() != want {
		t.Errorf("runSafely of a panicking command: %v, want %q", err, want)
	}
}
