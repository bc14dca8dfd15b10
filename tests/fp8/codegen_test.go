package fp8

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// decodeRe pins the instructions of the FP8 weight decoder
// (backend/llvmgen/fp8.go) per target: widening the codes to 32-bit lanes,
// shifting exponent and mantissa into place, or-ing in the sign and the
// multiply by the scale, all on vectors (opt turns the subnormal path's
// subtraction of 2^23 into an add, which the convolution has too). The
// x86_64 target is AVX2 (ymm registers).
var decodeRe = map[string][]*regexp.Regexp{
	"x86_64": {
		regexp.MustCompile(`\bvpmovzxbd\s+[^\n]*%ymm`),
		regexp.MustCompile(`\bvpslld\s+\$\d+, %ymm`),
		regexp.MustCompile(`\bvpor\s+[^\n]*%ymm`),
		regexp.MustCompile(`\bvmulps\s+[^\n]*%ymm`),
	},
	"arm64": {
		regexp.MustCompile(`\b(ushll|uxtl)2?\s+v\d+\.4s`),
		regexp.MustCompile(`\bshl\s+v\d+\.4s`),
		regexp.MustCompile(`\borr\s+v\d+\.(4s|16b)`),
		regexp.MustCompile(`\bfmul\s+v\d+\.4s`),
	},
	"wasm32": {
		regexp.MustCompile(`\bi8x16\.shuffle\b`),
		regexp.MustCompile(`\bi32x4\.shl\b`),
		regexp.MustCompile(`\bv128\.or\b`),
		regexp.MustCompile(`\bf32x4\.mul\b`),
	},
}

// decoderGraph is a 3x3 convolution whose weight QuantizeFP8 turns into
// DequantizeLinear of 64·64·9 E4M3 codes when fp8 is set.
func decoderGraph(t *testing.T, fp8 bool) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(`effir 1
graph "fp8conv" opset{ai.onnx=19} {
  input %x : f32[1,64,8,8]
  input %w : f32[64,64,3,3]
  %y : f32[1,64,8,8] = Conv(%x, %w) {kernel_shape=[3, 3], pads=[1, 1, 1, 1]}  @conv
  output %y
}
`))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := g.Inputs[1]
	d := make([]float32, ir.NumElements(w.Type.Shape.Sizes()))
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
	w.Const = ir.FromFloat32(w.Type.Shape.Sizes(), d)
	g.Inputs = g.Inputs[:1]
	g.Consts = append(g.Consts, w)
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if !fp8 {
		return g
	}
	if _, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestDecoderVectorized compiles the convolution for each target with
// --emit asm, once with FP8 weights and once in float32, and checks that
// the FP8 model.s holds each of the target's decoder instructions. opt
// inlines the decoder into the entry point, so the float model stands in
// for "the rest": the widening, shift and convert instructions must be
// absent from it, which ties them to the decoder.
func TestDecoderVectorized(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles for three targets")
	}
	asm := func(t *testing.T, g *ir.Graph, name string) string {
		dir := filepath.Join(t.TempDir(), "out")
		if _, err := effc.Compile(g, name, effc.CompileOptions{OutDir: dir, Emit: []string{backend.EmitAsm}}); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "model.s"))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(name, func(t *testing.T) {
			fp8, f32 := asm(t, decoderGraph(t, true), name), asm(t, decoderGraph(t, false), name)
			for i, re := range decodeRe[name] {
				if !re.MatchString(fp8) {
					t.Errorf("%s: the FP8 model has no %s", name, re)
				}
				if i < 3 && re.MatchString(f32) {
					t.Errorf("%s: the float32 model has %s too: the check does not pin the decoder", name, re)
				}
			}
		})
	}
}
