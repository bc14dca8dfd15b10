package effc

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

const digitsModel = "testdata/digits/digits.onnx"

// twoInputs is a graph with inputs a: f32[N,3] and b: i64[N,?] and no nodes.
func twoInputs() *ir.Graph {
	g := &ir.Graph{Name: "t", Opsets: map[string]int64{"": ir.CanonicalOpset}}
	g.Inputs = []*ir.Value{
		{Name: "a", Type: ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3)})},
		{Name: "b", Type: ir.TensorType(ir.Int64, ir.Shape{ir.Sym("N"), ir.Unknown()})},
	}
	return g
}

func TestCheckInputs(t *testing.T) {
	f32 := func(shape ...int64) *ir.Tensor { return ir.NewTensor(ir.Float32, shape) }
	i64 := func(shape ...int64) *ir.Tensor { return ir.NewTensor(ir.Int64, shape) }
	cases := []struct {
		name string
		in   map[string]*ir.Tensor
		want string // "" for no error
	}{
		{"ok", map[string]*ir.Tensor{"a": f32(2, 3), "b": i64(2, 7)}, ""},
		{"ok batch 0", map[string]*ir.Tensor{"a": f32(0, 3), "b": i64(0, 1)}, ""},
		{"dim", map[string]*ir.Tensor{"a": f32(2, 4), "b": i64(2, 7)},
			`input "a": shape [2,4] does not match [N,3] (dim 1: got 4, want 3)`},
		{"rank", map[string]*ir.Tensor{"a": f32(2, 3, 1), "b": i64(2, 7)},
			`input "a": shape [2,3,1] does not match [N,3] (rank 3, want 2)`},
		{"symbol", map[string]*ir.Tensor{"a": f32(2, 3), "b": i64(5, 7)},
			`input "b": shape [5,7] does not match [N,?] (dim 0: got 5, but input "a" set N = 2)`},
		{"dtype", map[string]*ir.Tensor{"a": i64(2, 3), "b": i64(2, 7)},
			`input "a": dtype i64 does not match f32[N,3]`},
		{"missing", map[string]*ir.Tensor{"a": f32(2, 3)},
			`missing input "b" (i64[N,?]); the graph's inputs are "a" f32[N,3], "b" i64[N,?]`},
		{"unknown", map[string]*ir.Tensor{"a": f32(2, 3), "b": i64(2, 7), "c": f32(1)},
			`unknown input "c"; the graph's inputs are "a" f32[N,3], "b" i64[N,?]`},
		{"short data", map[string]*ir.Tensor{"a": {DType: ir.Float32, Shape: []int64{2, 3}, Data: make([]float32, 5)}, "b": i64(2, 7)},
			`input "a": data has 5 elements, shape [2,3] needs 6`},
		{"data type", map[string]*ir.Tensor{"a": {DType: ir.Float32, Shape: []int64{2, 3}, Data: make([]float64, 6)}, "b": i64(2, 7)},
			`input "a": f32 tensor holds []float64 data, want []float32`},
	}
	for _, c := range cases {
		err := CheckInputs(twoInputs(), c.in)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected error: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: no error, want %q", c.name, c.want)
		case c.want != "" && err.Error() != c.want:
			t.Errorf("%s: error\n  %s\nwant\n  %s", c.name, err, c.want)
		}
	}
}

// loadDigits loads the bundled example model with Load.
func loadDigits(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := Load(digitsModel)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return g
}

func TestLoadDigits(t *testing.T) {
	g := loadDigits(t)
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "image" || g.Inputs[0].Type.String() != "f32[N,1,8,8]" {
		t.Fatalf("inputs: got %v, want image f32[N,1,8,8]", g.Inputs)
	}
	if len(g.Outputs) != 1 || g.Outputs[0].Type.String() != "f32[N,10]" {
		t.Fatalf("outputs: got %v, want logits f32[N,10]", g.Outputs)
	}
	// Every node output has a type after Load (shape inference ran).
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && !o.Type.Ranked {
				t.Errorf("%s: output %q has no inferred shape", n, o.Name)
			}
		}
	}
	r := Inspect(g)
	// Hand count (testdata/digits/README.md): Conv layers 533,504 MACs,
	// Gemm 320, 6 BN over 3x[16,8,8] + 3x[32,4,4] = 4,608, Adds 1,024+512,
	// GlobalAveragePool 512 input elements.
	const wantMACs = 9216 + 2*147456 + 73728 + 147456 + 8192 + 320 + 4608 + 1536 + 512
	if r.Totals.MACs != wantMACs {
		t.Errorf("digits total MACs %d, want %d", r.Totals.MACs, wantMACs)
	}
	var constElems int64
	for _, c := range g.Consts {
		constElems += int64(c.Const.Len())
	}
	// All of digits' initializers are f32 weights, each read by some node.
	if r.Totals.Params != constElems {
		t.Errorf("digits total params %d, want %d (sum of initializer sizes)", r.Totals.Params, constElems)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-model.onnx")
	if err == nil || !strings.Contains(err.Error(), "testdata/no-such-model.onnx") {
		t.Fatalf("Load of a missing file: error %v, want one naming the file", err)
	}
}

func TestRunDigits(t *testing.T) {
	g := loadDigits(t)
	var acc struct {
		NCorrect int `json:"n_correct"`
		NTest    int `json:"n_test"`
	}
	data, err := os.ReadFile("testdata/digits/accuracy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &acc); err != nil {
		t.Fatal(err)
	}
	x := readNPYFloat32(t, "testdata/digits/test_x.npy", 4*acc.NTest*64)
	want := readNPYFloat32(t, "testdata/digits/test_logits.npy", 4*acc.NTest*10)
	in := ir.FromFloat32([]int64{int64(acc.NTest), 1, 8, 8}, x)
	outs, err := Run(g, map[string]*ir.Tensor{"image": in})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := outs["logits"]
	if got == nil || len(got.Shape) != 2 || got.Shape[0] != int64(acc.NTest) || got.Shape[1] != 10 {
		t.Fatalf("logits: got %v, want f32[%d,10]", got, acc.NTest)
	}
	// PyTorch and the interpreter sum in different orders; logits are O(10),
	// float32 accumulation over <= 288 terms per layer stays well inside 1e-3.
	const tol = 1e-3
	gd := got.Data.([]float32)
	for i := range want {
		if d := gd[i] - want[i]; d > tol || d < -tol {
			t.Fatalf("logits[%d,%d] = %g, PyTorch %g (tolerance %g)", i/10, i%10, gd[i], want[i], tol)
		}
	}

	bad := ir.NewTensor(ir.Float32, []int64{2, 1, 9, 8})
	_, err = Run(g, map[string]*ir.Tensor{"image": bad})
	const msg = `input "image": shape [2,1,9,8] does not match [N,1,8,8] (dim 2: got 9, want 8)`
	if err == nil || err.Error() != msg {
		t.Errorf("Run with a bad shape: error %v, want %q", err, msg)
	}
}

// readNPYFloat32 returns the data of a little-endian float32 .npy file whose
// data section is wantBytes long (the data sits at the end of the file).
func readNPYFloat32(t *testing.T, path string, wantBytes int) []float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data[:128]), "'descr': '<f4'") || len(data) < wantBytes {
		t.Fatalf("%s: not a float32 .npy of %d data bytes", path, wantBytes)
	}
	tt, err := ir.TensorFromBytes(ir.Float32, []int64{int64(wantBytes / 4)}, data[len(data)-wantBytes:])
	if err != nil {
		t.Fatal(err)
	}
	return tt.Data.([]float32)
}
