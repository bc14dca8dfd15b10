package llvmgen_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// gmTargets are the targets every kernel test runs on.
var gmTargets = []string{"x86_64", "arm64", "wasm32"}

// gmLit formats a tensor's values as an effir literal.
func gmLit(t *ir.Tensor) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := 0; i < t.Len(); i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%v", t.Float64At(i))
	}
	sb.WriteByte(']')
	return sb.String()
}

// gmType is the effir type of a tensor, e.g. f32[2,3].
func gmType(dt string, shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return dt + "[" + strings.Join(parts, ",") + "]"
}

// gmRand fills a float32 tensor with values in [-1, 1).
func gmRand(rng *rand.Rand, shape []int64) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, shape)
	for i, d := 0, t.Data.([]float32); i < len(d); i++ {
		d[i] = float32(rng.Float64()*2 - 1)
	}
	return t
}

// gmCase is a one-node (or few-node) graph in effir text plus inputs.
type gmCase struct {
	name   string
	src    string
	inputs map[string]*ir.Tensor
}

// gmParse parses effir text and infers shapes.
func gmParse(t testing.TB, src string) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// gmCheck compares every output with abs-or-rel tolerance tol.
func gmCheck(t *testing.T, want, got map[string]*ir.Tensor, tol float64) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("output %s missing", name)
		}
		wf, gf := w.Float64s(), g.Float64s()
		if len(wf) != len(gf) {
			t.Fatalf("%s: %d elements, want %d", name, len(gf), len(wf))
		}
		for i := range wf {
			d := math.Abs(wf[i] - gf[i])
			if !(d <= tol || d <= tol*math.Abs(wf[i])) && !(math.IsNaN(wf[i]) && math.IsNaN(gf[i])) {
				t.Fatalf("%s[%d] = %v, want %v (shape %v)", name, i, gf[i], wf[i], w.Shape)
			}
		}
	}
}

// gmRun compiles and runs each case on every target and compares with
// the interpreter.
func gmRun(t *testing.T, cases []gmCase, tol float64) {
	for _, tg := range gmTargets {
		spec, err := target.Load(tg)
		if err != nil {
			t.Fatal(err)
		}
		e := &engine.Engine{Spec: spec}
		for _, c := range cases {
			t.Run(tg+"/"+c.name, func(t *testing.T) {
				g := gmParse(t, c.src)
				want, err := interp.Run(g, c.inputs)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.Run(g, c.inputs)
				if err != nil {
					t.Fatal(err)
				}
				gmCheck(t, want, got, tol)
			})
		}
	}
}

// gmGemm builds Gemm(A, B, C?) with the given attributes; constB makes B
// a constant (packed at compile time).
func gmGemm(rng *rand.Rand, m, n, kk int64, tA, tB bool, alpha, beta float64, cShape []int64, constB bool) gmCase {
	as := []int64{m, kk}
	if tA {
		as = []int64{kk, m}
	}
	bs := []int64{kk, n}
	if tB {
		bs = []int64{n, kk}
	}
	a, b := gmRand(rng, as), gmRand(rng, bs)
	in := map[string]*ir.Tensor{"a": a}
	var sb strings.Builder
	fmt.Fprintf(&sb, "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %%a : %s\n", gmType("f32", as))
	if constB {
		fmt.Fprintf(&sb, "  const %%b : %s = %s\n", gmType("f32", bs), gmLit(b))
	} else {
		fmt.Fprintf(&sb, "  input %%b : %s\n", gmType("f32", bs))
		in["b"] = b
	}
	args := "%a, %b"
	if cShape != nil {
		fmt.Fprintf(&sb, "  input %%c : %s\n", gmType("f32", cShape))
		in["c"] = gmRand(rng, cShape)
		args += ", %c"
	}
	ti := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	fmt.Fprintf(&sb, "  %%y : %s = Gemm(%s) {alpha=%v, beta=%v, transA=%d, transB=%d}  @gemm\n  output %%y\n}\n",
		gmType("f32", []int64{m, n}), args, alpha, beta, ti(tA), ti(tB))
	name := fmt.Sprintf("gemm_%dx%dx%d_tA%v_tB%v_c%v_const%v", m, n, kk, tA, tB, cShape, constB)
	return gmCase{name: name, src: sb.String(), inputs: in}
}

func TestGemmCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []gmCase{
		gmGemm(rng, 1, 1, 1, false, false, 1, 1, nil, false),
		gmGemm(rng, 7, 19, 5, false, false, 1, 1, nil, true),
		gmGemm(rng, 13, 37, 300, false, true, 0.5, 2, []int64{37}, true),
		gmGemm(rng, 13, 37, 70, true, true, 1, 1, []int64{13, 37}, false),
		gmGemm(rng, 6, 33, 9, true, false, 1.5, 1, []int64{1, 33}, false),
		gmGemm(rng, 17, 16, 600, false, false, 1, 0.25, []int64{17, 1}, true),
		gmGemm(rng, 2, 1000, 64, false, true, 1, 1, []int64{1000}, true),
	}
	gmRun(t, cases, 1e-4)
}

// gmMatMul builds MatMul(a, b) with b constant or an input.
func gmMatMul(rng *rand.Rand, as, bs, ys []int64, constB bool) gmCase {
	a, b := gmRand(rng, as), gmRand(rng, bs)
	in := map[string]*ir.Tensor{"a": a}
	var sb strings.Builder
	fmt.Fprintf(&sb, "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %%a : %s\n", gmType("f32", as))
	if constB {
		fmt.Fprintf(&sb, "  const %%b : %s = %s\n", gmType("f32", bs), gmLit(b))
	} else {
		fmt.Fprintf(&sb, "  input %%b : %s\n", gmType("f32", bs))
		in["b"] = b
	}
	fmt.Fprintf(&sb, "  %%y : %s = MatMul(%%a, %%b)  @mm\n  output %%y\n}\n", gmType("f32", ys))
	return gmCase{name: fmt.Sprintf("matmul_%v_%v_const%v", as, bs, constB), src: sb.String(), inputs: in}
}

func TestMatMulCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []gmCase{
		gmMatMul(rng, []int64{3, 5}, []int64{5, 7}, []int64{3, 7}, false),
		gmMatMul(rng, []int64{5}, []int64{5, 7}, []int64{7}, true),
		gmMatMul(rng, []int64{3, 5}, []int64{5}, []int64{3}, false),
		gmMatMul(rng, []int64{2, 1, 9, 20}, []int64{3, 20, 17}, []int64{2, 3, 9, 17}, false),
		gmMatMul(rng, []int64{2, 9, 20}, []int64{2, 20, 40}, []int64{2, 9, 40}, true),
		gmMatMul(rng, []int64{4, 25, 130}, []int64{130, 33}, []int64{4, 25, 33}, true),
	}
	gmRun(t, cases, 1e-4)
}

// TestGemmAssembly checks that the micro-kernel is vectorized as intended on
// each target: vector FMAs on x86_64 (ymm) and arm64 (fmla .4s), f32x4
// multiplies and adds on wasm32.
func TestGemmAssembly(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := gmGemm(rng, 24, 64, 32, false, false, 1, 1, nil, true)
	pats := map[string]*regexp.Regexp{
		"x86_64": regexp.MustCompile(`vfmadd\d+ps\s+[^\n]*ymm`),
		"arm64":  regexp.MustCompile(`fmla\s+v\d+\.4s`),
		"wasm32": regexp.MustCompile(`f32x4\.(mul|add)`),
	}
	for _, tg := range gmTargets {
		t.Run(tg, func(t *testing.T) {
			spec, err := target.Load(tg)
			if err != nil {
				t.Fatal(err)
			}
			s := gmAsm(t, spec, gmParse(t, c.src))
			if !pats[tg].MatchString(s) {
				t.Fatalf("model.s has no %s", pats[tg])
			}
		})
	}
}

// gmAsm compiles g for spec and returns model.s.
func gmAsm(t *testing.T, spec *target.Spec, g *ir.Graph) string {
	t.Helper()
	dir := t.TempDir()
	if err := gmCompile(spec, g, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "model.s"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gmCompile compiles g for spec into dir/out with model.s and model.ll.
func gmCompile(spec *target.Spec, g *ir.Graph, dir string) error {
	_, err := backend.Compile(context.Background(), g, spec, backend.Options{OutDir: filepath.Join(dir, "out"), Emit: []string{backend.EmitAsm, backend.EmitLLVM}})
	return err
}

// gmTyped is a tensor of dtype dt with small random values (integers in
// [-20, 20), or [0, 40) for unsigned types).
func gmTyped(rng *rand.Rand, dt ir.DType, shape []int64) *ir.Tensor {
	t := ir.NewTensor(dt, shape)
	for i := 0; i < t.Len(); i++ {
		v := rng.IntN(40) - 20
		switch d := t.Data.(type) {
		case []float64:
			d[i] = rng.Float64()*2 - 1
		case []int32:
			d[i] = int32(v)
		case []int64:
			d[i] = int64(v)
		case []uint8:
			d[i] = uint8(v + 20)
		case []int8:
			d[i] = int8(v)
		}
	}
	return t
}

// TestLinalgOtherDTypes covers the scalar MatMul and Gemm paths: float64,
// int32 and int64 (wrapping products, integral alpha/beta).
func TestLinalgOtherDTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	mk := func(name, ty string, dt ir.DType, as, bs []int64, body string, extra map[string]*ir.Tensor) gmCase {
		in := map[string]*ir.Tensor{"a": gmTyped(rng, dt, as), "b": gmTyped(rng, dt, bs)}
		src := fmt.Sprintf("effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %%a : %s\n  input %%b : %s\n", gmType(ty, as), gmType(ty, bs))
		for k, v := range extra {
			src += fmt.Sprintf("  input %%%s : %s\n", k, gmType(ty, v.Shape))
			in[k] = v
		}
		return gmCase{name: name, src: src + body + "  output %y\n}\n", inputs: in}
	}
	cases := []gmCase{
		mk("matmul_f64", "f64", ir.Float64, []int64{2, 3, 5}, []int64{5, 4}, "  %y = MatMul(%a, %b)  @mm\n", nil),
		mk("matmul_i32", "i32", ir.Int32, []int64{3, 7}, []int64{2, 7, 5}, "  %y = MatMul(%a, %b)  @mm\n", nil),
		mk("gemm_f64", "f64", ir.Float64, []int64{6, 4}, []int64{5, 6}, "  %y = Gemm(%a, %b, %c) {alpha=0.5, beta=2.0, transA=1, transB=1}  @g\n",
			map[string]*ir.Tensor{"c": gmTyped(rng, ir.Float64, []int64{5})}),
		mk("gemm_i64", "i64", ir.Int64, []int64{3, 4}, []int64{4, 2}, "  %y = Gemm(%a, %b, %c) {alpha=2.0, beta=3.0}  @g\n",
			map[string]*ir.Tensor{"c": gmTyped(rng, ir.Int64, []int64{3, 1})}),
	}
	gmRun(t, cases, 1e-9)
}
