// Package codegen checks the assembly the backend emits for Conv- and
// Gemm-heavy models, so that vectorization of the hot kernels cannot
// silently vanish: model.s must hold the target's fused multiply-add or
// vector float instructions.
package codegen

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/ir"
)

// vectorRe is what model.s must contain per target: AVX2/AVX-512 FMA
// (vfmadd132ps/213ps/231ps and their scalar forms count too, but the
// kernels are vector), NEON fused multiply-add on 4 float lanes, and wasm
// simd128 f32x4 arithmetic.
var vectorRe = map[string]*regexp.Regexp{
	"x86_64": regexp.MustCompile(`\bvfmadd\d{3}ps\b`),
	"arm64":  regexp.MustCompile(`\bfmla\s+v\d+\.4s`),
	"wasm32": regexp.MustCompile(`\bf32x4\.(mul|add|relaxed_madd)\b`),
}

// models are small graphs dominated by one hot op each.
var models = []struct {
	name, op, src string
}{
	{"conv3x3", "Conv", `effir 1
graph "conv3x3" opset{ai.onnx=18} {
  input %x : f32[1,16,16,16]
  input %w : f32[32,16,3,3]
  input %b : f32[32]
  %c : f32[1,32,16,16] = Conv(%x, %w, %b) {kernel_shape=[3, 3], pads=[1, 1, 1, 1]}  @conv
  %y : f32[1,32,16,16] = Relu(%c)  @relu
  output %y
}
`},
	{"conv1x1", "Conv", `effir 1
graph "conv1x1" opset{ai.onnx=18} {
  input %x : f32[1,64,8,8]
  input %w : f32[64,64,1,1]
  %y : f32[1,64,8,8] = Conv(%x, %w) {kernel_shape=[1, 1]}  @conv
  output %y
}
`},
	{"gemm", "Gemm", `effir 1
graph "gemm" opset{ai.onnx=18} {
  input %x : f32[4,256]
  input %w : f32[128,256]
  input %b : f32[128]
  %y : f32[4,128] = Gemm(%x, %w, %b) {transB=1}  @fc
  output %y
}
`},
	{"matmul", "MatMul", `effir 1
graph "matmul" opset{ai.onnx=18} {
  input %x : f32[32,64]
  input %w : f32[64,64]
  %y : f32[32,64] = MatMul(%x, %w)  @mm
  output %y
}
`},
}

// parse builds a model: every input but %x becomes a constant weight of
// seeded random numbers (the text form would need them written out).
func parse(t *testing.T, src string) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var inputs []*ir.Value
	for _, v := range g.Inputs {
		if v.Name == "x" {
			inputs = append(inputs, v)
			continue
		}
		d := make([]float32, ir.NumElements(v.Type.Shape.Sizes()))
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		v.Const = ir.FromFloat32(v.Type.Shape.Sizes(), d)
		g.Consts = append(g.Consts, v)
	}
	g.Inputs = inputs
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestVectorized compiles each model for each target with --emit asm and
// looks for the target's vector FMA in model.s. A model is skipped only
// while its op has no kernel (llvmgen.Supported), so the check starts by
// itself when the kernel lands.
func TestVectorized(t *testing.T) {
	for _, m := range models {
		for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
			t.Run(m.name+"/"+tname, func(t *testing.T) {
				if !llvmgen.Supported(m.op) {
					t.Skipf("no compiled kernel for %s yet", m.op)
				}
				g := parse(t, m.src)
				if _, err := effc.Prepare(g, effc.PrepareOptions{}); err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(t.TempDir(), "out")
				if _, err := effc.Compile(g, tname, effc.CompileOptions{OutDir: dir, Emit: []string{backend.EmitAsm}}); err != nil {
					t.Fatal(err)
				}
				asm, err := os.ReadFile(filepath.Join(dir, "model.s"))
				if err != nil {
					t.Fatal(err)
				}
				re := vectorRe[tname]
				n := len(re.FindAllIndex(asm, -1))
				if n == 0 {
					t.Errorf("%s for %s: model.s (%d bytes) has no match for %s: the %s kernel is not vectorized", m.name, tname, len(asm), re, m.op)
				}
				t.Logf("%d matches of %s", n, re)
			})
		}
	}
}

// TestPatternsMatchKnownAssembly keeps the regexps honest: each matches a
// line of the instruction it stands for and not a look-alike.
func TestPatternsMatchKnownAssembly(t *testing.T) {
	for _, c := range []struct {
		target, line string
		match        bool
	}{
		{"x86_64", "\tvfmadd231ps\t%ymm1, %ymm2, %ymm0", true},
		{"x86_64", "\tvfmadd231ss\t%xmm1, %xmm2, %xmm0", false},
		{"x86_64", "\tvmulps\t%ymm1, %ymm2, %ymm0", false},
		{"arm64", "\tfmla\tv0.4s, v1.4s, v2.s[0]", true},
		{"arm64", "\tfmadd\ts0, s1, s2, s3", false},
		{"wasm32", "\tf32x4.mul", true},
		{"wasm32", "\tf32.mul", false},
	} {
		if got := vectorRe[c.target].MatchString(c.line); got != c.match {
			t.Errorf("%s pattern on %q: %v, want %v", c.target, c.line, got, c.match)
		}
	}
}
