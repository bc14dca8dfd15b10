package codegen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
)

// int8Re is what model.s must contain for the int8 GEMM on each target and
// CPU, by the CPU's int8 dot product: VNNI vpdpbusd (on zmm registers with
// AVX512-VNNI, on ymm with AVX-VNNI), AVX2 vpmaddwd on ymm, Arm sdot, the
// NEON fallback's widening multiply-accumulate, and wasm's int16 dot.
var int8Re = []struct {
	target, cpu string
	re          *regexp.Regexp
}{
	{"x86_64", "", regexp.MustCompile(`\bvpmaddwd\s+%ymm`)},
	{"x86_64", "icelake-server", regexp.MustCompile(`\bvpdpbusd\s+(\(|\d|%zmm)`)},
	{"x86_64", "alderlake", regexp.MustCompile(`\{vex\}\s+vpdpbusd\s+(\(|\d|%ymm)`)},
	{"x86_64", "native", nil}, // by what the machine has, see nativeRe
	{"arm64", "", regexp.MustCompile(`\bsdot\s+v\d+\.4s`)},
	{"arm64", "cortex-a53", regexp.MustCompile(`\bsmlal2?\s+v\d+\.4s`)},
	{"wasm32", "", regexp.MustCompile(`\bi32x4\.dot_i16x8_s\b`)},
}

// nativeRe is the int8 instruction for the --cpu native spec.
func nativeRe(spec *target.Spec) *regexp.Regexp {
	switch {
	case spec.Int8Dot == target.DotVNNI:
		return regexp.MustCompile(`\bvpdpbusd\b`)
	case spec.VectorBits >= 256:
		return regexp.MustCompile(`\bvpmaddwd\s+%[yz]mm`)
	}
	return regexp.MustCompile(`\bpmaddwd\b`)
}

// int8Models are a QLinearConv (u8 activations, per-channel i8 weights,
// int32 bias: what post-training quantization emits) and a QLinearMatMul
// with a constant i8 B, both compiled on the int8 GEMM.
func int8Models() map[string]string {
	rng := rand.New(rand.NewPCG(7, 8))
	ints := func(n int64, lo, hi int64) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(lo + rng.Int64N(hi-lo+1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	scales := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprint(0.001 + 0.01*rng.Float64())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return map[string]string{
		"qconv3x3": `effir 1
graph "qconv3x3" opset{ai.onnx=21} {
  input %x : u8[1,16,16,16]
  const %xs : f32[] = 0.02
  const %xz : u8[] = 128
  const %w : i8[32,16,3,3] = ` + ints(32*16*9, -127, 127) + `
  const %ws : f32[32] = ` + scales(32) + `
  const %wz : i8[32] = ` + ints(32, 0, 0) + `
  const %ys : f32[] = 0.5
  const %yz : u8[] = 0
  const %b : i32[32] = ` + ints(32, -1000, 1000) + `
  %y : u8[1,32,16,16] = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %b) {kernel_shape=[3, 3], pads=[1, 1, 1, 1]}  @conv
  output %y
}
`,
		"qmatmul": `effir 1
graph "qmatmul" opset{ai.onnx=21} {
  input %x : u8[8,64]
  const %xs : f32[] = 0.02
  const %xz : u8[] = 128
  const %w : i8[64,48] = ` + ints(64*48, -127, 127) + `
  const %ws : f32[] = 0.004
  const %wz : i8[] = 0
  const %ys : f32[] = 0.5
  const %yz : u8[] = 0
  %y : u8[8,48] = QLinearMatMul(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz)  @mm
  output %y
}
`,
	}
}

// TestInt8Instructions compiles the int8 models for each target and CPU
// with --emit asm and looks for the int8 path's instruction in model.s.
func TestInt8Instructions(t *testing.T) {
	for name, src := range int8Models() {
		for _, c := range int8Re {
			t.Run(name+"/"+c.target+"/"+c.cpu, func(t *testing.T) {
				re := c.re
				if c.cpu == "native" {
					spec, err := target.Load(c.target)
					if err == nil {
						spec, err = spec.WithCPU("native")
					}
					if err != nil {
						t.Skipf("--cpu native: %v", err)
					}
					re = nativeRe(spec)
				}
				g, err := ir.Parse([]byte(src))
				if err != nil {
					t.Fatal(err)
				}
				if err := ir.InferShapes(g); err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(t.TempDir(), "out")
				if _, err := effc.Compile(g, c.target, effc.CompileOptions{CPU: c.cpu, OutDir: dir, Emit: []string{backend.EmitAsm}}); err != nil {
					t.Fatal(err)
				}
				asm, err := os.ReadFile(filepath.Join(dir, "model.s"))
				if err != nil {
					t.Fatal(err)
				}
				n := len(re.FindAllIndex(asm, -1))
				if n == 0 {
					t.Errorf("%s for %s --cpu %q: model.s (%d bytes) has no match for %s: the int8 GEMM path is not taken", name, c.target, c.cpu, len(asm), re)
				}
				t.Logf("%d matches of %s", n, re)
			})
		}
	}
}

// TestInt8PatternsMatchKnownAssembly keeps the int8 regexps honest.
func TestInt8PatternsMatchKnownAssembly(t *testing.T) {
	find := func(target, cpu string) *regexp.Regexp {
		for _, c := range int8Re {
			if c.target == target && c.cpu == cpu {
				return c.re
			}
		}
		panic(target + cpu)
	}
	for _, c := range []struct {
		target, cpu, line string
		match             bool
	}{
		{"x86_64", "", "\tvpmaddwd\t%ymm1, %ymm2, %ymm0", true},
		{"x86_64", "", "\tvpmaddubsw\t%ymm1, %ymm2, %ymm0", false},
		{"x86_64", "icelake-server", "\tvpdpbusd\t%zmm2, %zmm1, %zmm0", true},
		{"x86_64", "icelake-server", "\tvpdpbusd\t(%rax){1to16}, %zmm1, %zmm0", true},
		{"x86_64", "icelake-server", "\tvpdpbusds\t%zmm2, %zmm1, %zmm0", false},
		{"x86_64", "alderlake", "\t{vex}\tvpdpbusd\t%ymm2, %ymm1, %ymm0", true},
		{"arm64", "", "\tsdot\tv0.4s, v1.16b, v2.16b", true},
		{"arm64", "", "\tsdot\tv0.4s, v1.16b, v2.4b[1]", true},
		{"arm64", "cortex-a53", "\tsmlal2\tv0.4s, v1.8h, v2.8h", true},
		{"arm64", "cortex-a53", "\tsmull\tv0.4s, v1.4h, v2.4h", false},
		{"wasm32", "", "\ti32x4.dot_i16x8_s", true},
		{"wasm32", "", "\ti32x4.extmul_low_i16x8_s", false},
	} {
		if got := find(c.target, c.cpu).MatchString(c.line); got != c.match {
			t.Errorf("%s/%s pattern on %q: %v, want %v", c.target, c.cpu, c.line, got, c.match)
		}
	}
}

// depthwiseRe is what model.s must contain for the int8 depthwise kernel on
// each target: float32 vector multiply-adds (its interiors convert the bytes
// to float32 and accumulate there, which is exact for 3x3 windows; see
// qdwFloatExact in backend/llvmgen/conv_quant.go).
var depthwiseRe = map[string]*regexp.Regexp{
	"x86_64": regexp.MustCompile(`\bvfmadd\d+ps\s+.*%ymm`),
	"arm64":  regexp.MustCompile(`\bfmla\s+v\d+\.4s`),
	"wasm32": regexp.MustCompile(`\bf32x4\.mul\b`),
}

// TestInt8DepthwiseVectorized compiles a depthwise QLinearConv (runtime
// weights) for each target and looks for float32 vector multiply-adds.
func TestInt8DepthwiseVectorized(t *testing.T) {
	src := `effir 1
graph "qdw" opset{ai.onnx=21} {
  input %x : u8[1,32,28,28]
  input %w : i8[32,1,3,3]
  const %xs : f32[] = 0.02
  const %xz : u8[] = 128
  const %ws : f32[] = 0.01
  const %wz : i8[] = 0
  const %ys : f32[] = 0.5
  const %yz : u8[] = 0
  %y : u8[1,32,28,28] = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz) {group=32, kernel_shape=[3, 3], pads=[1, 1, 1, 1]}  @conv
  output %y
}
`
	for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(tname, func(t *testing.T) {
			g, err := ir.Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.InferShapes(g); err != nil {
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
			re := depthwiseRe[tname]
			if n := len(re.FindAllIndex(asm, -1)); n == 0 {
				t.Errorf("depthwise QLinearConv for %s: model.s (%d bytes) has no match for %s: the kernel is not vectorized", tname, len(asm), re)
			}
		})
	}
}
