package fp8

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// benchSizes are the numbers of E4M3 codes decoded per run: 64 Ki (the
// floats fit in L2: the decoder's own speed) and 4 Mi (16 MiB of floats:
// a large layer's weights, bound by memory bandwidth).
var benchSizes = []int{1 << 16, 1 << 22}

// BenchmarkDecode measures the compiled decoders on each target, reported
// as Gcodes/s (the median of 20 runs of the model's run function in the
// harness, under qemu-aarch64 for arm64 and wazero for wasm32):
//
//   - bits: DequantizeLinear(fp8, scale), the vectorized bit-manipulation
//     decoder of backend/llvmgen/fp8.go, multiply by the scale included;
//   - table: Cast(fp8 → f32), the 256-entry table lookup per code that the
//     Cast kernel uses (scalar loads; on x86_64 opt packs them with
//     vinsertps rather than gathering).
//
// Run it with go test ./tests/fp8 -run - -bench Decode -benchtime 1x.
func BenchmarkDecode(b *testing.B) {
	graphs := map[string]string{
		"bits":  "%%y : f32[%d] = DequantizeLinear(%%c, %%s)  @dq",
		"table": "%%y : f32[%d] = Cast(%%c) {to=1}  @cast",
	}
	for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
		for _, benchCodes := range benchSizes {
			rng := rand.New(rand.NewPCG(1, 1))
			codes := make([]uint8, benchCodes)
			for i := range codes {
				codes[i] = uint8(rng.IntN(256))
			}
			in := map[string]*ir.Tensor{"c": {DType: ir.Float8E4M3FN, Shape: []int64{int64(benchCodes)}, Data: codes}}
			for _, path := range []string{"bits", "table"} {
				b.Run(fmt.Sprintf("%s/%d/%s", tname, benchCodes, path), func(b *testing.B) {
					src := fmt.Sprintf("effir 1\ngraph \"decode\" opset{ai.onnx=19} {\n  input %%c : f8e4m3fn[%d]\n  const %%s : f32[] = 0.5\n  "+graphs[path]+"\n  output %%y\n}\n", benchCodes, benchCodes)
					g, err := ir.Parse([]byte(src))
					if err != nil {
						b.Fatal(err)
					}
					if err := ir.InferShapes(g); err != nil {
						b.Fatal(err)
					}
					spec, err := target.Load(tname)
					if err != nil {
						b.Fatal(err)
					}
					for range b.N {
						_, res, err := (&engine.Engine{Spec: spec}).Bench(context.Background(), g, in, 20)
						if err != nil {
							b.Fatal(err)
						}
						b.ReportMetric(float64(benchCodes)/res.Median.Seconds()/1e9, "Gcodes/s")
					}
				})
			}
		}
	}
}

// BenchmarkDigits times one digits inference (batch 1) compiled for each
// target, float32 against FP8-E4M3 weight-only, whose run decodes the
// 19,408 weight codes before the convolutions (median of 200 runs).
//
// Run it with go test ./tests/fp8 -run - -bench Digits -benchtime 1x.
func BenchmarkDigits(b *testing.B) {
	set := loadSet(b)
	x := ir.FromFloat32([]int64{1, 1, 8, 8}, set.x.Data.([]float32)[:64])
	for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
		for _, fp8 := range []bool{false, true} {
			name := tname + "/float32"
			if fp8 {
				name = tname + "/e4m3"
			}
			b.Run(name, func(b *testing.B) {
				g := prepared(b, 1)
				if fp8 {
					if _, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}); err != nil {
						b.Fatal(err)
					}
				}
				spec, err := target.Load(tname)
				if err != nil {
					b.Fatal(err)
				}
				for range b.N {
					_, res, err := (&engine.Engine{Spec: spec}).Bench(context.Background(), g, map[string]*ir.Tensor{g.Inputs[0].Name: x}, 200)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(res.Median.Nanoseconds())/1e3, "µs/inference")
				}
			})
		}
	}
}

// BenchmarkEncode measures Cast(f32 → E4M3FN, saturate=1), the encoder
// QuantizeLinear to FP8 shares (W8A8 activations), on 1 Mi normally
// distributed floats per run, as Gcodes/s (median of 20 runs).
//
// Run it with go test ./tests/fp8 -run - -bench Encode -benchtime 1x.
func BenchmarkEncode(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(2, 2))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * 100)
	}
	in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{n}, xs)}
	src := fmt.Sprintf("effir 1\ngraph \"encode\" opset{ai.onnx=19} {\n  input %%x : f32[%d]\n  %%y : f8e4m3fn[%d] = Cast(%%x) {saturate=1, to=17}  @cast\n  output %%y\n}\n", n, n)
	for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
		b.Run(tname, func(b *testing.B) {
			g, err := ir.Parse([]byte(src))
			if err != nil {
				b.Fatal(err)
			}
			if err := ir.InferShapes(g); err != nil {
				b.Fatal(err)
			}
			spec, err := target.Load(tname)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				_, res, err := (&engine.Engine{Spec: spec}).Bench(context.Background(), g, in, 20)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n)/res.Median.Seconds()/1e9, "Gcodes/s")
			}
		})
	}
}
