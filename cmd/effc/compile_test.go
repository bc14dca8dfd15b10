package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// movementModel writes an ONNX model with ops whose kernels exist since the
// backend framework landed (Add, Relu, Transpose, Concat):
// y = Concat(Relu(x + b), Transpose(x)), x: f32[N,4,4].
func movementModel(t *testing.T) string {
	t.Helper()
	src := `effir 1
graph "movement" opset{ai.onnx=18} {
  input %x : f32[N,4,4]
  const %b : f32[4] = [1, -2, 0.5, 3]
  %s : f32[N,4,4] = Add(%x, %b)  @add
  %r : f32[N,4,4] = Relu(%s)  @relu
  %t : f32[N,4,4] = Transpose(%x) {perm=[0, 2, 1]}  @tr
  %y : f32[N,8,4] = Concat(%r, %t) {axis=1}  @concat
  output %y
}
`
	return writeModel(t, src, "movement.onnx")
}

// writeModel parses effir text, encodes it as ONNX and writes it to a
// temporary folder.
func writeModel(t *testing.T, src, name string) string {
	t.Helper()
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readDir returns every file under dir with its contents.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompileArtifacts(t *testing.T) {
	model := movementModel(t)
	for _, c := range []struct {
		target string
		emit   string
		files  []string
	}{
		{"x86_64", "", []string{"libmodel.a", "manifest.json", "model.h", "model.o"}},
		{"x86_64", "obj,shared,header,llvm,asm,manifest", []string{"libmodel.so", "manifest.json", "model.h", "model.ll", "model.o", "model.s"}},
		{"arm64", "lib,header,asm", []string{"libmodel.a", "model.h", "model.s"}},
		{"wasm32", "wasm,header,js,manifest", []string{"manifest.json", "model.h", "model.mjs", "model.wasm"}},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		args := []string{"compile", model, "--target", c.target, "--batch", "2", "-o", dir, "--name", "mv"}
		if c.emit != "" {
			args = append(args, "--emit", c.emit)
		}
		out := mustRun(t, args...)
		first := readDir(t, dir)
		var names []string
		for n := range first {
			names = append(names, n)
		}
		sort.Strings(names)
		if strings.Join(names, " ") != strings.Join(c.files, " ") {
			t.Errorf("%s --emit %q: files %v, want %v", c.target, c.emit, names, c.files)
		}
		for _, want := range []string{"compiled mv for " + c.target, "arena:", "of intermediate tensors"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: summary lacks %q:\n%s", c.target, want, out)
			}
		}
		for _, f := range c.files {
			if !strings.Contains(out, f) {
				t.Errorf("%s: summary does not list %s:\n%s", c.target, f, out)
			}
		}
		if h, ok := first["model.h"]; ok && !bytes.Contains(h, []byte("effc_mv_run")) {
			t.Errorf("%s: model.h does not declare effc_mv_run", c.target)
		}
		// A second compilation gives byte-identical files.
		mustRun(t, args...)
		second := readDir(t, dir)
		for n, data := range first {
			if !bytes.Equal(data, second[n]) {
				t.Errorf("%s: %s differs between two compilations", c.target, n)
			}
		}
		if len(second) != len(first) {
			t.Errorf("%s: second compilation wrote %d files, first %d", c.target, len(second), len(first))
		}
	}
}

func TestCompileDefaultOutDir(t *testing.T) {
	model := movementModel(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := os.Chdir(tmp); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	mustRun(t, "compile", model, "--target", "wasm32", "--batch", "1")
	if _, err := os.Stat(filepath.Join(tmp, "out", "movement-wasm32", "model.wasm")); err != nil {
		t.Errorf("default -o: %v", err)
	}
}

// unsupportedOp returns a unary f32 op the interpreter runs but the
// compiler has no kernel for, or "" when every candidate compiles.
func unsupportedOp() string {
	for _, op := range []string{"Det", "Mish", "Softsign", "Erf", "Asinh", "Acosh", "Atanh", "Softplus", "Selu", "HardSwish"} {
		if !llvmgen.Supported(op) && ir.LookupOp("", op) != nil {
			return op
		}
	}
	return ""
}

// TestCompileFailureLeavesNothing: a node without a kernel fails the
// compilation, names the node, and leaves -o as it was (absent, or with its
// old contents) with no temporary folder beside it.
func TestCompileFailureLeavesNothing(t *testing.T) {
	op := unsupportedOp()
	if op == "" {
		t.Skip("every candidate op has a compiled kernel")
	}
	shape := "[2,3]"
	if op == "Det" {
		shape = "[3,3]"
	}
	outShape := shape
	if op == "Det" {
		outShape = "[]"
	}
	model := writeModel(t, `effir 1
graph "bad" opset{ai.onnx=18} {
  input %x : f32`+shape+`
  %y : f32`+outShape+` = `+op+`(%x)  @the_node
  output %y
}
`, "bad.onnx")
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	code, _, errs := effcRun(t, "compile", model, "--target", "x86_64", "-o", dir)
	if code != 1 || !strings.Contains(errs, `node "the_node" (`+op+`)`) || !strings.Contains(errs, "no compiled kernel") {
		t.Errorf("exit %d, stderr %q; want exit 1 naming node \"the_node\" (%s)", code, errs, op)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("-o %s exists after a failed compilation (%v)", dir, err)
	}
	// An existing folder stays as it was.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.o"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := effcRun(t, "compile", model, "--target", "x86_64", "-o", dir); code != 1 {
		t.Errorf("second failing compile: exit %d, want 1", code)
	}
	got := readDir(t, dir)
	if len(got) != 1 || string(got["model.o"]) != "old" {
		t.Errorf("-o after a failed compilation holds %v, want only the old model.o", got)
	}
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the parent of -o holds %v, want only out (no temporary build folder)", names)
	}
}

func TestCompileErrors(t *testing.T) {
	model := movementModel(t)
	out := filepath.Join(t.TempDir(), "o")
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"compile", model, "--target", "riscv", "-o", out}, 1, []string{`unknown target "riscv"`, "x86_64", "arm64", "wasm32"}},
		{[]string{"compile", model, "--target", "arm64", "--cpu", "cortex-a7x", "--batch", "1", "-o", out}, 1, []string{`unknown CPU "cortex-a7x" for target arm64`, "cortex-a7", "effc targets --cpus arm64"}},
		{[]string{"compile", model, "--target", "x86_64", "-o", out}, 1, []string{`input "x" has type f32[N,4,4], which is not static`, "--batch N"}},
		{[]string{"compile", model, "-o", out}, 2, []string{"missing --target", "x86_64, "}},
		{[]string{"compile", model, "--target", "x86_64", "--emit", "obj,exe", "--batch", "1"}, 2, []string{`unknown artifact kind "exe"`, "asm"}},
		{[]string{"compile", model, "--target", "wasm32", "--emit", "obj", "--batch", "1", "-o", out}, 1, []string{"--emit obj does not apply to target wasm32"}},
		{[]string{"compile", model, "--target", "x86_64", "--batch", "0", "-o", out}, 2, []string{"--batch 0"}},
		{[]string{"run", model, "--input", "x.npy", "--cpu", "znver3"}, 2, []string{"add --target"}},
	} {
		code, _, errs := effcRun(t, c.args...)
		if code != c.code {
			t.Errorf("effc %s: exit %d, want %d; stderr %q", strings.Join(c.args, " "), code, c.code, errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("effc %s: stderr %q lacks %q", strings.Join(c.args, " "), errs, w)
			}
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s exists after failed compilations", out)
	}
}

// TestRunTarget runs the movement model compiled for each target and
// checks the output summary against the interpreter's, then feeds an input
// of the wrong shape to a model compiled with a fixed batch.
func TestRunTarget(t *testing.T) {
	model := movementModel(t)
	x := filepath.Join(t.TempDir(), "x.npy")
	data := make([]float32, 3*16)
	for i := range data {
		data[i] = float32(i%7) - 3.25
	}
	if err := writeNPY(x, ir.FromFloat32([]int64{3, 4, 4}, data)); err != nil {
		t.Fatal(err)
	}
	want := mustRun(t, "run", model, "--input", x)
	for _, tgt := range []string{"x86_64", "arm64", "wasm32"} {
		out := mustRun(t, "run", model, "--input", x, "--target", tgt)
		head, rest, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(head, "target: "+tgt+" (cpu ") {
			t.Errorf("%s: first line %q, want the target", tgt, head)
		}
		if rest != want {
			t.Errorf("%s: run --target printed\n%s\nthe interpreter\n%s", tgt, rest, want)
		}
	}
	// Wrong rank at run time: checked against the model before compiling.
	bad := filepath.Join(t.TempDir(), "bad.npy")
	if err := writeNPY(bad, ir.FromFloat32([]int64{3, 4, 5}, make([]float32, 60))); err != nil {
		t.Fatal(err)
	}
	code, _, errs := effcRun(t, "run", model, "--input", bad, "--target", "x86_64")
	if code != 1 || !strings.Contains(errs, `input "x": shape [3,4,5] does not match [N,4,4]`) {
		t.Errorf("wrong input shape: exit %d, stderr %q", code, errs)
	}
}

// TestRunDigitsCompiled reproduces the interpreter's accuracy on the
// digits test split (358 of 360) with the model compiled for each target.
// It skips, with the compiler's error, only while an op of the model has no
// kernel, so it starts running by itself when the kernels land.
func TestRunDigitsCompiled(t *testing.T) {
	g, err := effc.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := effc.Prepare(g, effc.PrepareOptions{Batch: 1, Pipeline: passes.DefaultPipeline}); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, n := range g.Nodes {
		if !llvmgen.Supported(n.Op) && !slices.Contains(missing, n.Op) {
			missing = append(missing, n.Op)
		}
	}
	correct, total := accuracy(t)
	want := "accuracy: " + strconv.Itoa(correct) + "/" + strconv.Itoa(total)
	for _, tgt := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(tgt, func(t *testing.T) {
			code, out, errs := effcRun(t, "run", digits, "--input", digitsX, "--labels", digitsY, "--target", tgt)
			if code != 0 && len(missing) > 0 {
				t.Skipf("waiting for kernels %v: %s", missing, strings.TrimSpace(errs))
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if !strings.Contains(out, want) {
				t.Errorf("compiled for %s: output lacks %q:\n%s", tgt, want, out)
			}
		})
	}
}

func TestBench(t *testing.T) {
	model := movementModel(t)
	// wasm32: timing and GFLOP/s, but no probe under wazero.
	out := mustRun(t, "bench", model, "--target", "wasm32", "--runs", "5", "--batch", "2")
	for _, want := range []string{"target: wasm32", "runs: 5, median ", "GFLOP/s: ", "peak: n/a"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench wasm32: output lacks %q:\n%s", want, out)
		}
	}
	// x86_64: the probe's peak and the model's share of it.
	out = mustRun(t, "bench", model, "--target", "x86_64", "--runs", "3")
	for _, want := range []string{"target: x86_64 (cpu x86-64-v3)", "runs: 3, median ", "GFLOP/s: ", "% of peak"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench x86_64: output lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "bench", "--peak", "--target", "x86_64")
	if !strings.HasPrefix(out, "peak: ") || !strings.Contains(out, "GFLOP/s (x86_64, cpu x86-64-v3") {
		t.Errorf("bench --peak: %q", out)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", model, "--target", "x86_64", "--runs", "0"}, 2, "--runs 0"},
		{[]string{"bench", model}, 2, "missing --target"},
		{[]string{"bench", "--peak", model}, 2, "--peak takes no model"},
		{[]string{"bench", "--peak", "--target", "wasm32"}, 1, "wazero"},
		{[]string{"bench", model, "--target", "x86_64", "--cpu", "pentium9"}, 1, `unknown CPU "pentium9"`},
	} {
		code, _, errs := effcRun(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("effc %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errs, c.code, c.want)
		}
	}
}
