package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
	"github.com/effc/effc/runtime/internal/fixture"
)

var (
	fixtureIns  = []runtime.TensorInfo{{Name: "x", DType: ir.Float32, Shape: []int64{2, 3}}, {Name: "b", DType: ir.Int32, Shape: []int64{3}}}
	fixtureOuts = []runtime.TensorInfo{{Name: "y", DType: ir.Float32, Shape: []int64{2, 3}}, {Name: "c", DType: ir.Int32, Shape: []int64{3}}}
	qemu        = []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"}
)

// targetTools lists, per fixture target, the C compiler and runner.
var targetTools = map[string]struct {
	cc     string
	runner []string
}{
	"x86_64": {"cc", nil},
	"arm64":  {"aarch64-linux-gnu-gcc", qemu},
}

// buildFixture compiles the ABI fixture for target under name and builds a
// harness around it.
func buildFixture(t *testing.T, target, name string) (exe string, runner []string) {
	t.Helper()
	tools := targetTools[target]
	needed := []string{"llc-14", tools.cc}
	if tools.runner != nil {
		needed = append(needed, tools.runner[0])
	}
	for _, tool := range needed {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	obj, err := fixture.Object(ctx, dir, name, target)
	if err != nil {
		t.Fatal(err)
	}
	hdr := filepath.Join(dir, "model.h")
	if err := os.WriteFile(hdr, runtime.Header(name, fixtureIns, fixtureOuts, fixture.ArenaSize), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err = Build(ctx, Options{CC: tools.cc, Dir: dir, Lib: obj, Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	return exe, tools.runner
}

func fixtureInputs() []*ir.Tensor {
	return []*ir.Tensor{
		ir.FromFloat32([]int64{2, 3}, []float32{-2, -0.5, 0, 0.25, 3, 1e30}),
		{DType: ir.Int32, Shape: []int64{3}, Data: []int32{1, -7, 1 << 29}},
	}
}

var fixtureWant = []any{[]float32{1, 1, 1, 1.25, 4, 1e30}, []int32{2, -14, 1 << 30}}

// TestRunFixture runs the ABI fixture natively and under qemu-aarch64 and
// checks both outputs exactly.
func TestRunFixture(t *testing.T) {
	for _, target := range []string{"x86_64", "arm64"} {
		t.Run(target, func(t *testing.T) {
			exe, runner := buildFixture(t, target, "relu1")
			got, err := Run(context.Background(), runner, exe, fixtureInputs(), fixtureOuts)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range fixtureWant {
				if !reflect.DeepEqual(got[i].Data, w) || !reflect.DeepEqual(got[i].Shape, fixtureOuts[i].Shape) {
					t.Errorf("output %d = %v %v, want %v %v", i, got[i].Shape, got[i].Data, fixtureOuts[i].Shape, w)
				}
			}
			bench, out, err := Bench(context.Background(), runner, exe, fixtureInputs(), fixtureOuts, 5)
			if err != nil {
				t.Fatal(err)
			}
			if bench.Runs != 5 || bench.Min > bench.Median || bench.Median <= 0 {
				t.Errorf("bench = %+v, want 5 runs with 0 < min <= median", bench)
			}
			if !reflect.DeepEqual(out[0].Data, fixtureWant[0]) {
				t.Errorf("bench output 0 = %v, want %v", out[0].Data, fixtureWant[0])
			}
		})
	}
}

// TestRunErrors checks the messages for bad inputs, a bad bench count, a
// model that returns non-zero, and a broken build.
func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	exe, runner := buildFixture(t, "x86_64", "relu1")
	short := fixtureInputs()
	short[1] = &ir.Tensor{DType: ir.Int64, Shape: []int64{3}, Data: []int64{1, 2, 3}} // 24 bytes, want 12
	if _, err := Run(ctx, runner, exe, short, fixtureOuts); err == nil || !strings.Contains(err.Error(), `input 1 ("b")`) || !strings.Contains(err.Error(), "want exactly 12") {
		t.Errorf("wrong-size input: %v, want a message naming input 1 and 12 bytes", err)
	}
	if _, err := Run(ctx, runner, exe, fixtureInputs()[:1], fixtureOuts); err == nil || !strings.Contains(err.Error(), "want 2 inputs") {
		t.Errorf("missing input: %v, want a count message", err)
	}
	if _, err := Run(ctx, runner, exe, []*ir.Tensor{fixtureInputs()[0], nil}, fixtureOuts); err == nil {
		t.Error("nil input accepted")
	}
	if _, _, err := Bench(ctx, runner, exe, fixtureInputs(), fixtureOuts, 0); err == nil {
		t.Error("Bench with 0 runs accepted")
	}
	// A model whose run returns 7.
	dir := t.TempDir()
	ll := "define i64 @effc_bad_arena_size() {\n  ret i64 0\n}\n" +
		"define i32 @effc_bad_run(i8* %a, i8** %i, i8** %o) {\n  ret i32 7\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.ll"), []byte(ll), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("llc-14", "-mtriple=x86_64-linux-gnu", "-relocation-model=pic", "-filetype=obj",
		filepath.Join(dir, "bad.ll"), "-o", filepath.Join(dir, "bad.o")).CombinedOutput(); err != nil {
		t.Fatalf("llc: %v %s", err, out)
	}
	hdr := filepath.Join(dir, "bad.h")
	if err := os.WriteFile(hdr, runtime.Header("bad", nil, fixtureOuts[:1], 0), 0o644); err != nil {
		t.Fatal(err)
	}
	bad, err := Build(ctx, Options{Dir: dir, Lib: filepath.Join(dir, "bad.o"), Header: hdr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, nil, bad, nil, fixtureOuts[:1]); err == nil || !strings.Contains(err.Error(), "effc_bad_run returned 7") {
		t.Errorf("non-zero model: %v, want 'effc_bad_run returned 7'", err)
	}
	// Header and library disagree on the name: the link fails and says so.
	if err := os.WriteFile(hdr, runtime.Header("other", nil, nil, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, Options{Dir: dir, Lib: filepath.Join(dir, "bad.o"), Header: hdr}); err == nil || !strings.Contains(err.Error(), "effc_other_run") {
		t.Errorf("mismatched header: %v, want the linker's undefined effc_other_run", err)
	}
	if _, err := Build(ctx, Options{Dir: dir, Lib: filepath.Join(dir, "missing.a"), Header: hdr}); err == nil || !strings.Contains(err.Error(), "--emit obj or lib") {
		t.Errorf("missing library: %v", err)
	}
	if _, err := Build(ctx, Options{CC: "no-such-cc", Dir: dir, Lib: filepath.Join(dir, "bad.o"), Header: hdr}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing compiler: %v", err)
	}
}
