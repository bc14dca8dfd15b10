package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// TestQuantizeCommand runs 'effc quantize' on the digits model: the table,
// the totals and the written QDQ model, which 'effc run' classifies like
// the float model; --json; and weights-only mode without --calib.
func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "digits-int8.onnx")
	text := mustRun(t, "quantize", digits, "--calib", digitsX, "--calib-samples", "50", "-o", out)
	for _, want := range []string{
		"int8: weights int8 symmetric per channel, activations u8 asymmetric per tensor, percentile calibration on 50 samples",
		"/stem/stem.0/Conv", "Conv+Relu", "/fc/Gemm",
		"/block1/Add", "Add+Relu",
		"/pool/GlobalAveragePool   GlobalAveragePool", "/Flatten ",
		"weight bytes 77632 → 19408 (4.00x smaller)",
		"on 50 calibration samples",
		"wrote " + out,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("quantize output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "float: ") {
		t.Errorf("quantize left ops in float; GlobalAveragePool and Flatten run on integers:\n%s", text)
	}
	correct, total := accuracy(t)
	run := mustRun(t, "run", out, "--input", digitsX, "--labels", digitsY)
	if !strings.Contains(run, "accuracy: ") {
		t.Fatalf("run of the quantized model printed no accuracy:\n%s", run)
	}
	t.Logf("float %d/%d; int8: %s", correct, total, run[strings.Index(run, "accuracy: "):])

	js := mustRun(t, "quantize", digits, "--calib", digitsX, "--calib-samples", "20", "--act", "int8",
		"--calib-method", "minmax", "--keep-float", "/fc/Gemm", "--json", "-o", out)
	var rep struct {
		Activations string `json:"activations"`
		Method      string `json:"calibration_method"`
		Layers      []struct {
			Node   string  `json:"node"`
			SQNR   float64 `json:"sqnr_db"`
			Output struct {
				ZeroPoint int32 `json:"zero_point"`
			} `json:"output"`
		} `json:"layers"`
		Quality *struct {
			Top1 float64 `json:"top1_agreement"`
		} `json:"quality"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, js)
	}
	if rep.Activations != ir.Int8.String() || rep.Method != "minmax" || len(rep.Layers) != 10 || rep.Quality == nil {
		t.Errorf("--json report: %+v", rep)
	}
	if rep.Layers[0].Output.ZeroPoint != -128 {
		t.Errorf("int8 output of a Conv+Relu has zero point %d, want -128 (the ReLU clamp)", rep.Layers[0].Output.ZeroPoint)
	}

	wo := mustRun(t, "quantize", digits, "-o", out)
	if !strings.Contains(wo, "no calibration data (--calib): weights-only quantization") {
		t.Errorf("without --calib:\n%s", wo)
	}

	for _, args := range [][]string{
		{"quantize", digits},
		{"quantize", digits, "-o", out, "--act", "int4"},
		{"quantize", digits, "-o", out, "--calib-method", "mse"},
		{"quantize", digits, "-o", out, "--quantize", ""},
	} {
		if code, _, errs := effcRun(t, args...); code != 2 {
			t.Errorf("effc %s: exit %d, want 2 (usage); stderr %s", strings.Join(args, " "), code, errs)
		}
	}
	fp8 := mustRun(t, "quantize", digits, "--quantize", "fp8-e4m3", "--calib", digitsX, "--calib-samples", "20", "-o", out)
	if !strings.Contains(fp8, "fp8-e4m3: weights fp8-e4m3 per channel, activations f8e4m3fn per tensor with zero point 0") ||
		strings.Contains(fp8, "--keep-float") {
		t.Errorf("--quantize fp8-e4m3:\n%s", fp8)
	}
	if code, _, errs := effcRun(t, "quantize", digits, "-o", out, "--quantize", "fp8-e4m3", "--keep-float", "/fc/Gemm"); code != 1 || !strings.Contains(errs, "int8 only") {
		t.Errorf("--quantize fp8-e4m3 --keep-float: exit %d, stderr %s; want 1 and 'int8 only'", code, errs)
	}
}

// TestQuantFlagsApply checks the helper compile, run and bench use: nothing
// without --quantize, a usage error for calibration flags alone, and int8
// activations for an arm64 target.
func TestQuantFlagsApply(t *testing.T) {
	parse := func(args ...string) *quantFlags {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		addTargetFlags(fs)
		qf := addQuantFlags(fs, "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return qf
	}
	g, err := effc.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := parse("--target", "x86_64").apply(&out, g); err != nil || out.Len() > 0 {
		t.Fatalf("without --quantize: error %v, output %q", err, out.String())
	}
	var ue *usageError
	if _, err := parse("--calib", digitsX).apply(&out, g); !errors.As(err, &ue) {
		t.Errorf("--calib without --quantize: error %v, want a usage error", err)
	}
	if _, err := parse("--target", "arm64", "--quantize", "int8", "--calib", digitsX, "--calib-samples", "10").apply(&out, g); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range g.Nodes {
		found = found || n.Op == "QuantizeLinear" && n.Outputs[0].Type.DType == ir.Int8
	}
	if !found || !strings.Contains(out.String(), "activations i8 asymmetric") {
		t.Errorf("--quantize int8 for arm64: no i8 QuantizeLinear, or report %q", out.String())
	}
}

// TestQuantizeCompare: --compare prints each scheme's per-layer SQNR; on
// digits INT8 beats FP8-E4M3, which beats FP8-E5M2, on every convolution.
func TestQuantizeCompare(t *testing.T) {
	out := mustRun(t, "quantize", digits, "--calib", digitsX, "--calib-samples", "50", "--compare", "--json")
	var c effc.SchemeComparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Schemes) != 3 || len(c.Layers) < 7 {
		t.Fatalf("--compare: %d schemes, %d layers", len(c.Schemes), len(c.Layers))
	}
	for _, l := range c.Layers {
		if l.Op != "Conv" {
			continue
		}
		if l.SQNR[0] == nil || l.SQNR[1] == nil || l.SQNR[2] == nil || !(*l.SQNR[0] > *l.SQNR[1] && *l.SQNR[1] > *l.SQNR[2]) {
			t.Errorf("%s: SQNR %v, want int8 > fp8-e4m3 > fp8-e5m2", l.Node, l.SQNR)
		}
	}
	if code, _, _ := effcRun(t, "quantize", digits, "--compare"); code != 2 {
		t.Errorf("--compare without --calib: exit %d, want 2", code)
	}
}

// TestRequantFixedDigits compiles the INT8 digits model with --requant
// fixed for x86_64: every QLinearConv becomes ConvInteger →
// effc.Requantize, the compiled logits equal the interpreter's on the
// same graph bit for bit, the accuracy stays within 2 images of float
// requantization's 358/360, and few logits differ from that path.
func TestRequantFixedDigits(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs the digits model twice")
	}
	spec, err := effc.Target("x86_64", "")
	if err != nil {
		t.Fatal(err)
	}
	logits := map[string][]float64{}
	for _, mode := range []string{requantFloat, requantFixed} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		addTargetFlags(fs)
		qf := addQuantFlags(fs, "")
		if err := fs.Parse([]string{"--target", "x86_64", "--quantize", "int8", "--calib", digitsX, "--requant", mode}); err != nil {
			t.Fatal(err)
		}
		g, err := effc.Load(digits)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := qf.apply(io.Discard, g); err != nil {
			t.Fatal(err)
		}
		pipeline, err := qf.pipeline(passes.DefaultPipeline)
		if err != nil {
			t.Fatal(err)
		}
		feeds, err := bindInputs(g, []string{digitsX})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := runCompiled(io.Discard, g, feeds, spec, pipeline, backend.WeightsEmbed)
		if err != nil {
			t.Fatal(err)
		}
		ops := map[string]int{}
		for _, n := range g.Nodes {
			ops[n.Op]++
		}
		want := map[string]int{requantFloat: 0, requantFixed: 7}[mode]
		if ops["Requantize"] != want || mode == requantFixed && (ops["QLinearConv"] != 0 || ops["ConvInteger"] != 7) {
			t.Errorf("--requant %s: ops %v, want %d effc.Requantize after 7 ConvInteger", mode, ops, want)
		}
		if ops["QLinearGlobalAveragePool"] != 1 || ops["GlobalAveragePool"] != 0 || ops["DequantizeLinear"] != 1 {
			t.Errorf("--requant %s: ops %v, want effc.QLinearGlobalAveragePool and one DequantizeLinear (of the logits)", mode, ops)
		}
		name := g.Outputs[0].Name
		labels, err := readLabels(digitsY)
		if err != nil {
			t.Fatal(err)
		}
		correct, n, err := top1(outs[name], labels)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("--requant %s: %d/%d", mode, correct, n)
		if correct < 356 {
			t.Errorf("--requant %s: %d/%d correct, want at least 356", mode, correct, n)
		}
		logits[mode] = outs[name].Float64s()
		if mode != requantFixed {
			continue
		}
		ref, err := effc.Run(g, feeds)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range ref[name].Float64s() {
			if v != logits[mode][i] {
				t.Fatalf("logit %d: interpreter %v, compiled %v", i, v, logits[mode][i])
			}
		}
	}
	differ, most := 0, 0.0
	for i, v := range logits[requantFloat] {
		if d := math.Abs(v - logits[requantFixed][i]); d > 0 {
			differ, most = differ+1, max(most, d)
		}
	}
	t.Logf("%d of %d logits differ between float and fixed requantization, by at most %.3g", differ, len(logits[requantFloat]), most)
}

// TestRequantFlag: --requant float leaves the pipeline alone, fixed
// appends requant-fixed; anything else, fixed without passes, 'effc
// quantize --requant fixed' (which writes QDQ) and an interpreted
// 'effc run --requant' are usage errors.
func TestRequantFlag(t *testing.T) {
	for _, c := range []struct{ mode, passes, want string }{
		{"float", "default", "default"},
		{"fixed", "default", "default,requant-fixed"},
		{"fixed", "shape-infer,qdq-fuse", "shape-infer,qdq-fuse,requant-fixed"},
		{"fixed", "", ""},
		{"exact", "default", ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		qf := addQuantFlags(fs, "")
		if err := fs.Parse([]string{"--requant", c.mode}); err != nil {
			t.Fatal(err)
		}
		got, err := qf.pipeline(c.passes)
		var ue *usageError
		if got != c.want || (c.want == "") != errors.As(err, &ue) {
			t.Errorf("--requant %s --passes %q: %q, %v; want %q", c.mode, c.passes, got, err, c.want)
		}
	}
	for _, args := range [][]string{
		{"quantize", digits, "--calib", digitsX, "-o", filepath.Join(t.TempDir(), "q.onnx"), "--requant", "fixed"},
		{"run", digits, "--input", digitsX, "--quantize", "int8", "--requant", "fixed"},
		{"compile", digits, "--target", "x86_64", "--requant", "q31"},
	} {
		if code, _, errs := effcRun(t, args...); code != 2 || !strings.Contains(errs, "--requant") {
			t.Errorf("effc %s: exit %d, stderr %q; want a usage error naming --requant", strings.Join(args, " "), code, errs)
		}
	}
}
