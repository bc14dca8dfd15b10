package fp8

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

const digitsDir = "../../testdata/digits"

// maxLoss is the bound for FP8-E4M3 weight-only: at most 0.3
// accuracy points below the float model on the 360 test images, i.e. at
// most one image (1/360 = 0.28 points).
const maxLoss = 0.3

// digitsSet is the held-out split and the float model's recorded score.
type digitsSet struct {
	x     *ir.Tensor // f32[360,1,8,8]
	y     []int64
	float int // correct answers of the float model (accuracy.json)
}

func loadSet(t testing.TB) *digitsSet {
	t.Helper()
	x, err := npy.Read(filepath.Join(digitsDir, "test_x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := npy.Read(filepath.Join(digitsDir, "test_y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(digitsDir, "accuracy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		Correct int `json:"n_correct"`
	}
	if err := json.Unmarshal(raw, &acc); err != nil {
		t.Fatal(err)
	}
	return &digitsSet{x: x, y: y.Int64s(), float: acc.Correct}
}

// prepared is digits after the default pipeline at the given batch size.
func prepared(t testing.TB, batch int64) *ir.Graph {
	t.Helper()
	g, err := frontend.Load(filepath.Join(digitsDir, "digits.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := effc.Prepare(g, effc.PrepareOptions{Batch: batch}); err != nil {
		t.Fatal(err)
	}
	return g
}

// correct counts the rows of logits whose argmax is the label.
func correct(t *testing.T, logits *ir.Tensor, y []int64) int {
	t.Helper()
	l := logits.Float64s()
	classes := len(l) / len(y)
	n := 0
	for i, label := range y {
		best := 0
		for c := 1; c < classes; c++ {
			if l[i*classes+c] > l[i*classes+best] {
				best = c
			}
		}
		if int64(best) == label {
			n++
		}
	}
	return n
}

// runInterp scores g on the split with the interpreter.
func runInterp(t *testing.T, g *ir.Graph, set *digitsSet) int {
	t.Helper()
	out, err := interp.Run(g, map[string]*ir.Tensor{g.Inputs[0].Name: set.x})
	if err != nil {
		t.Fatal(err)
	}
	return correct(t, out[g.Outputs[0].Name], set.y)
}

// runCompiled scores g (prepared at the split's batch size) compiled for
// the named target.
func runCompiled(t *testing.T, g *ir.Graph, set *digitsSet, name string) int {
	t.Helper()
	spec, err := target.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&engine.Engine{Spec: spec}).Run(g, map[string]*ir.Tensor{g.Inputs[0].Name: set.x})
	if err != nil {
		t.Fatal(err)
	}
	return correct(t, out[g.Outputs[0].Name], set.y)
}

// points is the accuracy of n correct answers out of total, in percent.
func points(n, total int) float64 { return 100 * float64(n) / float64(total) }

// logLayers prints what QuantizeFP8 did per layer.
func logLayers(t *testing.T, res *quant.FP8Result) {
	t.Helper()
	for _, l := range res.Layers {
		t.Logf("  %-28s %-9s axis %2d  %3d ch  scale [%.3g, %.3g]  %6d -> %5d B (+%3d B scales)  rel err %.4f  act %q scale %.3g",
			l.Node, l.Op, l.Axis, l.Channels, l.ScaleMin, l.ScaleMax, l.WeightBytesBefore, l.WeightBytesAfter, l.ScaleBytes, l.RelError, l.Activation, l.ActScale)
	}
	t.Logf("  weights %d -> %d bytes (%.2fx), %d bytes of scales (%.2fx with them)", res.WeightBytesBefore, res.WeightBytesAfter,
		float64(res.WeightBytesBefore)/float64(res.WeightBytesAfter), res.ScaleBytes, res.Ratio())
}

// TestDigitsWeightOnlyE4M3 is the acceptance check: FP8-E4M3
// weight-only digits loses at most 0.3 accuracy points on the interpreter
// and compiled for x86_64 (and arm64 and wasm32), and its weights take 4x
// fewer bytes, in the graph and in the artifact's read-only data.
func TestDigitsWeightOnlyE4M3(t *testing.T) {
	set := loadSet(t)
	g := prepared(t, 360)
	res, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	logLayers(t, res)
	if len(res.Layers) != 7 {
		t.Errorf("%d layers quantized, want digits' 6 Conv and 1 Gemm", len(res.Layers))
	}
	if r := float64(res.WeightBytesBefore) / float64(res.WeightBytesAfter); r < 3.9 {
		t.Errorf("weights take %d bytes, %d in float32: %.2fx smaller, want >= 3.9x", res.WeightBytesAfter, res.WeightBytesBefore, r)
	}
	total := len(set.y)
	n := runInterp(t, g, set)
	t.Logf("interp: E4M3 weight-only %d/%d (%.2f%%), float %d/%d", n, total, points(n, total), set.float, total)
	if loss := points(set.float, total) - points(n, total); loss > maxLoss {
		t.Errorf("interp: E4M3 weight-only loses %.2f points, want at most %.1f", loss, maxLoss)
	}
	if testing.Short() {
		return
	}
	for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
		n = runCompiled(t, g, set, tname)
		t.Logf("%s: E4M3 weight-only %d/%d (%.2f%%)", tname, n, total, points(n, total))
		if loss := points(set.float, total) - points(n, total); loss > maxLoss {
			t.Errorf("%s: E4M3 weight-only loses %.2f points, want at most %.1f", tname, loss, maxLoss)
		}
	}
	// The artifact: read-only data (weights.bin) of the fp8 model against
	// the float one, both at batch 1.
	bytesOf := func(g *ir.Graph) int64 {
		r, err := effc.Compile(g, "x86_64", effc.CompileOptions{OutDir: filepath.Join(t.TempDir(), "out"), Context: context.Background()})
		if err != nil {
			t.Fatal(err)
		}
		return r.Manifest.Weights.Bytes
	}
	fp32, q8 := prepared(t, 1), prepared(t, 1)
	if _, err := quant.QuantizeFP8(q8, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}); err != nil {
		t.Fatal(err)
	}
	b32, b8 := bytesOf(fp32), bytesOf(q8)
	t.Logf("artifact read-only data: float32 %d bytes, fp8 %d bytes (%.2fx)", b32, b8, float64(b32)/float64(b8))
	// 4x on the weights; the float32 biases and per-channel scales (616
	// bytes each on digits) and 64-byte alignment bring it to 3.88x.
	if float64(b32)/float64(b8) < 3.8 {
		t.Errorf("artifact read-only data %d bytes, float32 %d: want about 4x smaller", b8, b32)
	}
}

// TestDigitsE5M2 reports E5M2 weight-only accuracy (two mantissa bits: the
// issue asks for the number, not a bound).
func TestDigitsE5M2(t *testing.T) {
	set := loadSet(t)
	g := prepared(t, 360)
	res, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E5M2, WeightOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	logLayers(t, res)
	n := runInterp(t, g, set)
	t.Logf("interp: E5M2 weight-only %d/%d (%.2f%%), float %d", n, len(set.y), points(n, len(set.y)), set.float)
}

// oneBatch is a BatchSource of a single batch.
type oneBatch struct{ batch map[string]*ir.Tensor }

// Next returns the batch once, then io.EOF.
func (s *oneBatch) Next() (map[string]*ir.Tensor, error) {
	if s.batch == nil {
		return nil, io.EOF
	}
	b := s.batch
	s.batch = nil
	return b, nil
}

// TestDigitsW8A8 calibrates on the first 200 test images and reports
// W8A8 accuracy (weights and the activations entering every Conv and the
// Gemm in FP8) for both formats, on the interpreter and for E4M3 compiled
// for every target.
func TestDigitsW8A8(t *testing.T) {
	set := loadSet(t)
	const calib = 200
	xs := set.x.Data.([]float32)
	per := len(xs) / int(set.x.Shape[0])
	head := ir.FromFloat32(append([]int64{calib}, set.x.Shape[1:]...), xs[:calib*per])
	for _, f := range []ir.DType{ir.Float8E4M3FN, ir.Float8E5M2} {
		// Calibrate digits at batch 200; the graph at batch 360 has the
		// same value names (the same pipeline ran on it).
		cg, g := prepared(t, calib), prepared(t, 360)
		tab, err := quant.Calibrate(context.Background(), cg, &oneBatch{map[string]*ir.Tensor{g.Inputs[0].Name: head}}, quant.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := quant.QuantizeFP8(g, quant.FP8Options{Format: f, Calib: tab})
		if err != nil {
			t.Fatal(err)
		}
		logLayers(t, res)
		for _, l := range res.Layers {
			if l.Activation == "" || l.ActScale <= 0 {
				t.Errorf("%s: activation not quantized (%q, scale %v)", l.Node, l.Activation, l.ActScale)
			}
		}
		n := runInterp(t, g, set)
		t.Logf("interp: %s W8A8 (calibrated on %d) %d/%d (%.2f%%), float %d", f, calib, n, len(set.y), points(n, len(set.y)), set.float)
		if f == ir.Float8E4M3FN && !testing.Short() {
			for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
				c := runCompiled(t, g, set, tname)
				t.Logf("%s: %s W8A8 %d/%d", tname, f, c, len(set.y))
				if c != n {
					t.Errorf("%s scores %d, the interpreter %d: the compiled Q/DQ kernels differ", tname, c, n)
				}
			}
		}
	}
}

// TestPipelineKeepsFP8Weights runs the default pipeline (what effc compile
// does after --quantize) over FP8 digits: const-fold must leave the
// weights' DequantizeLinear alone, so they reach the backend as FP8.
func TestPipelineKeepsFP8Weights(t *testing.T) {
	g := prepared(t, 1)
	if _, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := effc.Prepare(g, effc.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	dq := 0
	for _, n := range g.Nodes {
		if n.Op == "DequantizeLinear" && n.Inputs[0].IsConst() && n.Inputs[0].Const.DType == ir.Float8E4M3FN {
			dq++
		}
	}
	if dq != 7 {
		t.Errorf("%d FP8 weight DequantizeLinear nodes after the default pipeline, want 7", dq)
	}
}

// TestFP8VersusINT8Weights answers the FP8-versus-INT8 question for
// digits' weights: per layer, the relative error ‖W − Ŵ‖₂/‖W‖₂ of E4M3,
// E5M2 and symmetric per-channel INT8 (scale max|W[c]|/127, round half to
// even, as quant's INT8 weights), all with per-output-channel scales. It
// logs the table and checks only the ordering the formats' mantissas
// predict for near-Gaussian weights: INT8 < E4M3 < E5M2.
func TestFP8VersusINT8Weights(t *testing.T) {
	e4, e5 := prepared(t, 1), prepared(t, 1)
	weights := map[string]*ir.Tensor{}
	for _, c := range e4.Consts {
		weights[c.Name] = c.Const
	}
	r4, err := quant.QuantizeFP8(e4, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r5, err := quant.QuantizeFP8(e5, quant.FP8Options{Format: ir.Float8E5M2, WeightOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%-28s %8s %8s %8s", "layer", "int8", "e4m3", "e5m2")
	for i, l := range r4.Layers {
		w := weights[l.Weight]
		i8 := int8Error(w, l.Axis)
		t.Logf("%-28s %8.4f %8.4f %8.4f", l.Node, i8, l.RelError, r5.Layers[i].RelError)
		if !(i8 < l.RelError && l.RelError < r5.Layers[i].RelError) {
			t.Errorf("%s: errors int8 %.4f, e4m3 %.4f, e5m2 %.4f; want increasing", l.Node, i8, l.RelError, r5.Layers[i].RelError)
		}
	}
}

// int8Error is the relative error of symmetric per-channel INT8 on w.
func int8Error(w *ir.Tensor, axis int) float64 {
	d := w.Data.([]float32)
	ch := w.Shape[axis]
	inner := ir.NumElements(w.Shape[axis+1:])
	amax := make([]float64, ch)
	for i, v := range d {
		c := int64(i) / inner % ch
		amax[c] = math.Max(amax[c], math.Abs(float64(v)))
	}
	var num, den float64
	for i, v := range d {
		c := int64(i) / inner % ch
		s := float32(amax[c] / 127)
		if s == 0 {
			s = 1
		}
		q := math.Max(-127, math.Min(127, math.RoundToEven(float64(v/s))))
		e := float64(v) - float64(float32(q)*s)
		num += e * e
		den += float64(v) * float64(v)
	}
	return math.Sqrt(num / den)
}
