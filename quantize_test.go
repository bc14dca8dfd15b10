package effc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/internal/ortrun"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// The bar for INT8 PTQ on the bundled digits model: at most 0.5
// accuracy points lost with 200 calibration samples, and weights at least
// 3.9x smaller (int8 against float32 is 4x; per-channel scales are counted
// separately, in the report's constant bytes).
const (
	maxAccuracyLoss = 0.5 // points
	minWeightRatio  = 3.9
	calibSamples    = 200
)

// digitsSplit is the bundled test split: the images, one input set per
// image, the labels and the float model's recorded number of correct
// answers.
type digitsSplit struct {
	x        *ir.Tensor
	samples  []map[string]*ir.Tensor
	labels   []int64
	nCorrect int
}

func loadDigitsSplit(t *testing.T) *digitsSplit {
	t.Helper()
	x, err := npy.Read("testdata/digits/test_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	y, err := npy.Read("testdata/digits/test_y.npy")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/digits/accuracy.json")
	if err != nil {
		t.Fatal(err)
	}
	var acc struct {
		NCorrect int `json:"n_correct"`
	}
	if err := json.Unmarshal(data, &acc); err != nil {
		t.Fatal(err)
	}
	s := &digitsSplit{x: x, labels: y.Int64s(), nCorrect: acc.NCorrect}
	d := x.Data.([]float32)
	for i := range s.labels {
		s.samples = append(s.samples, map[string]*ir.Tensor{"image": ir.FromFloat32([]int64{1, 1, 8, 8}, d[i*64:(i+1)*64])})
	}
	return s
}

// top1 returns the argmax of every row of logits.
func top1(logits *ir.Tensor) []int {
	n := int(logits.Shape[len(logits.Shape)-1])
	out := make([]int, logits.Len()/n)
	for r := range out {
		out[r] = argmax(logits, r*n, n)
	}
	return out
}

func (s *digitsSplit) correct(pred []int) int {
	n := 0
	for i, p := range pred {
		if int64(p) == s.labels[i] {
			n++
		}
	}
	return n
}

// runLogits runs g on the whole split with the interpreter.
func (s *digitsSplit) runLogits(t *testing.T, g *ir.Graph) []int {
	t.Helper()
	out, err := Run(g, map[string]*ir.Tensor{"image": s.x})
	if err != nil {
		t.Fatal(err)
	}
	return top1(out["logits"])
}

// TestQuantizeDigits is the acceptance test: INT8 PTQ of the digits
// model calibrated on the first 200 test images loses at most 0.5 points on
// all 360, its weights are 4x smaller, and the QDQ model effc writes gives
// in ONNX Runtime the top-1 answers of effc's interpreter and of effc's
// compiled x86_64 artifact, image by image.
func TestQuantizeDigits(t *testing.T) {
	s := loadDigitsSplit(t)
	g := loadDigits(t)
	rep, err := Quantize(g, QuantizeOptions{Calib: s.samples[:calibSamples]})
	if err != nil {
		t.Fatal(err)
	}
	if rep.WeightsOnly || len(rep.Layers) != 11 || len(rep.Float) != 0 {
		t.Fatalf("quantized %d layers (weights only: %v), want the 6 Convs, the 2 residual Adds, GlobalAveragePool, Flatten and the Gemm; float ops %+v", len(rep.Layers), rep.WeightsOnly, rep.Float)
	}
	for _, l := range rep.Layers {
		if !l.Measured || l.SQNR < quant.SuggestBelowDB || l.Input == nil || l.Output == nil {
			t.Errorf("layer %s: measured %v, SQNR %.1f dB, parameters %v/%v", l.Node, l.Measured, l.SQNR, l.Input, l.Output)
		}
	}
	if r := float64(rep.WeightBytes.Before) / float64(rep.WeightBytes.After); r < minWeightRatio {
		t.Errorf("weights %d → %d bytes: %.2fx smaller, want at least %.1fx", rep.WeightBytes.Before, rep.WeightBytes.After, r, minWeightRatio)
	}
	if rep.Quality == nil || rep.Quality.Samples != calibSamples {
		t.Fatalf("quality %+v, want it measured on %d samples", rep.Quality, calibSamples)
	}

	qdq := s.runLogits(t, g)
	n := s.correct(qdq)
	loss := 100 * float64(s.nCorrect-n) / float64(len(s.labels))
	t.Logf("int8 (interpreter, QDQ): %d/%d correct, float %d/%d; SQNR of the logits %.1f dB",
		n, len(s.labels), s.nCorrect, len(s.labels), rep.Layers[len(rep.Layers)-1].SQNR)
	if loss > maxAccuracyLoss {
		t.Errorf("int8 loses %.2f accuracy points (%d/%d correct, float %d), want at most %.1f", loss, n, len(s.labels), s.nCorrect, maxAccuracyLoss)
	}

	path := filepath.Join(t.TempDir(), "digits-int8.onnx")
	if err := frontend.Save(g, path); err != nil {
		t.Fatal(err)
	}
	saved, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(saved, PrepareOptions{Batch: int64(len(s.labels))}); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, nd := range saved.Nodes {
		ops[nd.Op]++
	}
	if ops["QLinearConv"] != 7 || ops["QLinearAdd"] != 2 || ops["Conv"]+ops["Gemm"]+ops["Add"]+ops["Relu"] != 0 {
		t.Errorf("after the default pipeline: ops %v, want 7 QLinearConv (6 Convs, the Gemm), 2 effc.QLinearAdd and no float Conv, Gemm, Add or Relu", ops)
	}
	fused := s.runLogits(t, saved)
	spec, err := Target("x86_64", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&engine.Engine{Spec: spec}).Run(saved, map[string]*ir.Tensor{"image": s.x})
	if err != nil {
		t.Fatal(err)
	}
	compiled := top1(out["logits"])

	ortrun.Require(t)
	ort, err := ortrun.Run(context.Background(), path, map[string]*ir.Tensor{"image": s.x})
	if err != nil {
		t.Fatal(err)
	}
	want := top1(ort["logits"])
	for name, got := range map[string][]int{"interpreter (QDQ)": qdq, "interpreter (fused)": fused, "x86_64": compiled} {
		var differ []string
		for i := range want {
			if got[i] != want[i] {
				differ = append(differ, fmt.Sprintf("image %d: %d, ONNX Runtime %d", i, got[i], want[i]))
			}
		}
		if len(differ) > 0 {
			t.Errorf("%s: %d of %d top-1 answers differ from ONNX Runtime's: %v", name, len(differ), len(want), differ)
		}
	}
	t.Logf("ONNX Runtime: %d/%d correct; x86_64 artifact %d/%d", s.correct(want), len(want), s.correct(compiled), len(compiled))
}

// TestQuantizeWeightsOnly checks that without calibration data only the
// weights become int8: no activation is quantized, and the model still
// classifies as the float one does.
func TestQuantizeWeightsOnly(t *testing.T) {
	s := loadDigitsSplit(t)
	g := loadDigits(t)
	rep, err := Quantize(g, QuantizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.WeightsOnly || rep.Quality != nil || len(rep.Layers) != 7 {
		t.Fatalf("report: weights only %v, quality %v, %d layers; want weights only, no quality, 7 layers", rep.WeightsOnly, rep.Quality, len(rep.Layers))
	}
	for _, n := range g.Nodes {
		if n.Op == "QuantizeLinear" {
			t.Fatalf("weights-only quantization quantized activation %q", n.Inputs[0].Name)
		}
	}
	if n := s.correct(s.runLogits(t, g)); 100*float64(s.nCorrect-n)/float64(len(s.labels)) > maxAccuracyLoss {
		t.Errorf("weights-only int8: %d/%d correct, float %d", n, len(s.labels), s.nCorrect)
	}
}

// TestQuantizeKeepFloat checks --keep-float: the named layer stays float
// with that reason, and an unknown name is an error.
func TestQuantizeKeepFloat(t *testing.T) {
	s := loadDigitsSplit(t)
	g := loadDigits(t)
	rep, err := Quantize(g, QuantizeOptions{Calib: s.samples[:20], KeepFloat: []string{"/fc/Gemm"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Float {
		found = found || f.Node == "/fc/Gemm" && f.Reason == "--keep-float"
	}
	if !found || len(rep.Layers) != 10 {
		t.Errorf("with --keep-float /fc/Gemm: %d layers quantized, float ops %+v", len(rep.Layers), rep.Float)
	}
	_, err = Quantize(loadDigits(t), QuantizeOptions{KeepFloat: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), "no node named nope") {
		t.Errorf("unknown --keep-float layer: error %v, want one naming it", err)
	}
}
