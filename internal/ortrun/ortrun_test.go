package ortrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// identityModel writes a model with one Identity per tensor, input "in_<k>"
// to output "out_<k>", typed and shaped like the tensor, and returns its path.
func identityModel(t *testing.T, ins map[string]*ir.Tensor) string {
	t.Helper()
	g := &ir.Graph{Name: "identities", Opsets: map[string]int64{"": ir.CanonicalOpset}}
	for _, k := range sortedKeys(ins) {
		typ := ir.TensorType(ins[k].DType, ir.ShapeOf(ins[k].Shape...))
		x := &ir.Value{Name: k, Type: typ}
		n := &ir.Node{Name: "id_" + k, Op: "Identity", Inputs: []*ir.Value{x}}
		y := &ir.Value{Name: "out" + strings.TrimPrefix(k, "in"), Type: typ, Producer: n}
		n.Outputs = []*ir.Value{y}
		g.Inputs = append(g.Inputs, x)
		g.Outputs = append(g.Outputs, y)
		g.Nodes = append(g.Nodes, n)
	}
	b, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "identities.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sortedKeys(m map[string]*ir.Tensor) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// everyDType holds one tensor of each dtype the exchange carries, with
// values at the edges of their ranges (NaN, -0, extremes, empty and scalar
// shapes).
func everyDType() map[string]*ir.Tensor {
	return map[string]*ir.Tensor{
		"in_f32":   ir.FromFloat32([]int64{2, 3}, []float32{1.5, -0, float32(math.NaN()), 3e38, -1e-40, 7}),
		"in_f64":   {DType: ir.Float64, Shape: []int64{2}, Data: []float64{1e300, -2.5}},
		"in_f16":   {DType: ir.Float16, Shape: []int64{3}, Data: []uint16{0x3c00, 0x7c00, 0x8001}},
		"in_i8":    {DType: ir.Int8, Shape: []int64{2}, Data: []int8{-128, 127}},
		"in_i16":   {DType: ir.Int16, Shape: []int64{1}, Data: []int16{-32768}},
		"in_i32":   {DType: ir.Int32, Shape: []int64{}, Data: []int32{-7}},
		"in_i64":   ir.FromInt64([]int64{2}, []int64{-1 << 63, 1<<63 - 1}),
		"in_u8":    {DType: ir.Uint8, Shape: []int64{0, 4}, Data: []uint8{}},
		"in_u16":   {DType: ir.Uint16, Shape: []int64{1}, Data: []uint16{65535}},
		"in_u32":   {DType: ir.Uint32, Shape: []int64{1}, Data: []uint32{1<<32 - 1}},
		"in_u64":   {DType: ir.Uint64, Shape: []int64{1}, Data: []uint64{1<<64 - 1}},
		"in_bool":  {DType: ir.Bool, Shape: []int64{3}, Data: []bool{true, false, true}},
		"in_str":   {DType: ir.String, Shape: []int64{2}, Data: []string{"héllo", ""}},
		"in_empty": {DType: ir.String, Shape: []int64{0}, Data: []string{}},
	}
}

// TestRunEveryDType sends one tensor of every supported dtype through
// Identity nodes in ONNX Runtime and expects each back bit for bit.
func TestRunEveryDType(t *testing.T) {
	Require(t)
	ins := everyDType()
	got, err := Run(context.Background(), identityModel(t, ins), ins)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ins) {
		t.Errorf("%d outputs, want %d", len(got), len(ins))
	}
	for k, want := range ins {
		out := "out" + strings.TrimPrefix(k, "in")
		if d := cmp.Diff(want, got[out], cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-sent +received):\n%s", out, d)
		}
	}
}

// TestRunnerRecovers: a model ONNX Runtime refuses is an error naming the
// model, a canceled run is ctx's error, and the Runner keeps working after
// both.
func TestRunnerRecovers(t *testing.T) {
	Require(t)
	var r Runner
	defer r.Close()
	ins := map[string]*ir.Tensor{"in_x": ir.FromFloat32([]int64{1}, []float32{2})}
	good := identityModel(t, ins)
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), bad, nil); err == nil || !strings.HasPrefix(err.Error(), "onnxruntime: "+bad) {
		t.Errorf("bad model: error %v, want one starting with %q", err, "onnxruntime: "+bad)
	}
	// A fresh process needs ~0.3 s to load ONNX Runtime, so the deadline
	// expires while the run waits for its answer and the process is killed.
	var slow Runner
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := slow.Run(ctx, good, ins); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run past its deadline: error %v, want context.DeadlineExceeded", err)
	}
	defer slow.Close()
	for i, r := range []*Runner{&r, &slow, &slow} {
		got, err := r.Run(context.Background(), good, ins)
		if err != nil {
			t.Fatalf("run %d after the failures: %v", i, err)
		}
		if v := got["out_x"].Data.([]float32)[0]; v != 2 {
			t.Errorf("run %d: out_x = %v, want 2", i, v)
		}
	}
	if err := slow.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestRunRefusesUnsupportedDTypes: dtypes onnxruntime-node cannot hold are
// refused before anything runs, with an error naming the input and dtype.
func TestRunRefusesUnsupportedDTypes(t *testing.T) {
	for _, tc := range []struct {
		in   *ir.Tensor
		want string
	}{
		{&ir.Tensor{DType: ir.BFloat16, Shape: []int64{1}, Data: []uint16{0}}, `input "x": dtype bf16: onnxruntime-node has no tensor type for it`},
		{&ir.Tensor{DType: ir.Float8E4M3FN, Shape: []int64{1}, Data: []uint8{0}}, "dtype f8e4m3fn: onnxruntime-node has no tensor type"},
		{&ir.Tensor{DType: ir.Complex64, Shape: []int64{1}, Data: []complex64{0}}, "dtype c64: onnxruntime-node has no tensor type"},
		{&ir.Tensor{DType: ir.Float32, Shape: []int64{2}, Data: []int64{1, 2}}, "data of Go type []int64 does not hold dtype f32"},
		{ir.FromFloat32([]int64{3}, []float32{1}), "data has 1 elements, shape [3] needs 3"},
		{nil, `input "x": nil tensor`},
	} {
		_, err := Run(context.Background(), "model.onnx", map[string]*ir.Tensor{"x": tc.in})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
}

// TestAvailableExplains: a bench folder without onnxruntime-node is an
// error that names `make bench-deps`, and EFFC_BENCH_DIR must hold the
// script.
func TestAvailableExplains(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(BenchDirEnv, dir)
	if err := Available(); err == nil || !strings.Contains(err.Error(), "no "+script) {
		t.Errorf("empty %s: error %v, want one saying the script is missing", BenchDirEnv, err)
	}
	if err := os.WriteFile(filepath.Join(dir, script), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Available(); err == nil || !strings.Contains(err.Error(), "make bench-deps") {
		t.Errorf("no node_modules: error %v, want one naming make bench-deps", err)
	}
	if d, err := BenchDir(); err != nil || d != dir {
		t.Errorf("BenchDir() = %q, %v; want %q", d, err, dir)
	}
}

// fakeTB records what Require does instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Skip(args ...any)          { f.skipped, f.msg = true, fmt.Sprint(args...) }
func (f *fakeTB) Fatalf(s string, a ...any) { f.failed, f.msg = true, fmt.Sprintf(s, a...) }

// TestRequireFailsInCI: without ONNX Runtime, Require skips on a developer
// machine and fails when CI is set.
func TestRequireFailsInCI(t *testing.T) {
	t.Setenv(BenchDirEnv, t.TempDir()) // ONNX Runtime is "missing" here
	for _, tc := range []struct {
		ci           string
		skip, failed bool
	}{{"", true, false}, {"true", false, true}, {"1", false, true}} {
		t.Setenv("CI", tc.ci)
		var f fakeTB
		Require(&f)
		if f.skipped != tc.skip || f.failed != tc.failed {
			t.Errorf("CI=%q: skipped %v failed %v, want %v %v (%s)", tc.ci, f.skipped, f.failed, tc.skip, tc.failed, f.msg)
		}
	}
}
