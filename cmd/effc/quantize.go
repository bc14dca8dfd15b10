package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/effc/effc"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// quantizeCmd is `effc quantize`.
var quantizeCmd = &command{
	name:    "quantize",
	summary: "quantize a model to INT8 (calibrated post-training) and write it as QDQ ONNX",
	usage: "quantize MODEL.onnx (-o OUT.onnx | --compare) [--quantize int8|fp8-e4m3|fp8-e5m2] [--calib FILE.npy|DIR] [--calib-samples N] " +
		"[--calib-method M] [--calib-percentile P] [--keep-float LAYER,...] [--act uint8|int8] [--json]",
	about: `Quantize folds BatchNormalization, calibrates the model on --calib inputs
through the reference interpreter, and rewrites every Conv, Gemm and MatMul
with constant weights, and every residual Add of two quantized tensors, to
INT8 in ONNX QDQ form: int8 weights symmetric per output channel,
activations asymmetric per tensor (uint8, or int8 with --act int8) from
the calibrated ranges, int32 biases. It writes a model
ONNX Runtime runs; 'effc compile' fuses its QDQ patterns into integer
kernels. It prints per layer the scales and zero points and the SQNR of the
output against float on the calibration inputs, the ops left in float and
why, the weight bytes, and the model's error and top-1 agreement; --json
prints the report as JSON. Without --calib only the weights are quantized
(activations have no known range). docs/passes/quantization.md explains
the scheme and the report. --compare writes nothing: it quantizes with INT8,
FP8-E4M3 and FP8-E5M2 (W8A8) on the same calibration inputs and prints each
layer's output SQNR and the model's error under each scheme, side by side.`,
	examples: []string{
		"effc quantize testdata/digits/digits.onnx --calib testdata/digits/test_x.npy -o digits-int8.onnx",
		"effc quantize model.onnx --calib calib/ --calib-method entropy --keep-float conv1 -o model-int8.onnx",
		"effc quantize testdata/digits/digits.onnx --calib testdata/digits/test_x.npy --compare",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		out := fs.String("o", "", "write the quantized model to `OUT.onnx` (required)")
		qf := addQuantFlags(fs, quant.SchemeInt8)
		asJSON := fs.Bool("json", false, "print the report as JSON")
		compare := fs.Bool("compare", false, "instead of writing a model, quantize with every scheme (int8, fp8-e4m3, fp8-e5m2) and print each layer's SQNR side by side; needs --calib")
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			if *qf.requant != requantFloat {
				return usagef("--requant applies to compile, run and bench: the QDQ model written here requantizes in float as ONNX specifies")
			}
			if *compare {
				return compareSchemes(e.stdout, path, qf, *asJSON)
			}
			if *out == "" {
				return usagef("-o OUT.onnx is required (or --compare)")
			}
			if *qf.scheme == "" {
				return usagef("--quantize must name a scheme (int8, fp8-e4m3 or fp8-e5m2)")
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			rep, err := qf.quantize(g)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			return saveModel(e.stdout, g, *out, *asJSON, rep, func(w io.Writer) { printQuantizeReport(w, rep) })
		}
	},
}

// compareSchemes is 'effc quantize --compare': every scheme on the same
// calibration inputs, per layer SQNR and the model's error side by side.
func compareSchemes(w io.Writer, path string, qf *quantFlags, asJSON bool) error {
	g, err := effc.Load(path)
	if err != nil {
		return err
	}
	if *qf.calib.path == "" {
		return usagef("--compare measures each layer on calibration inputs; add --calib FILE.npy|DIR")
	}
	opts, _, err := qf.options(g)
	if err != nil {
		return err
	}
	c, err := effc.CompareSchemes(g, effc.AllSchemes(), opts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if asJSON {
		return printJSON(w, c)
	}
	fmt.Fprintf(w, "output SQNR per layer (dB, higher is better) on %d calibration samples:\n", len(opts.Calib))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "layer\top\t%s\n", strings.Join(c.Schemes, "\t"))
	for _, l := range c.Layers {
		cells := make([]string, len(l.SQNR))
		for i, v := range l.SQNR {
			cells[i] = "float"
			if v != nil {
				cells[i] = fmt.Sprintf("%.1f", *v)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Node, l.Op, strings.Join(cells, "\t"))
	}
	for _, row := range []struct {
		name string
		f    func(i int) string
	}{
		{"max abs error", func(i int) string { return fmt.Sprintf("%.3g", c.Quality[i].MaxAbs) }},
		{"top-1 agreement", func(i int) string { return fmt.Sprintf("%.2f%%", 100*c.Quality[i].Top1) }},
		{"weight bytes", func(i int) string { return fmt.Sprint(c.WeightBytes[i]) }},
	} {
		cells := make([]string, len(c.Schemes))
		for i := range cells {
			cells[i] = row.f(i)
		}
		fmt.Fprintf(tw, "%s\t\t%s\n", row.name, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// quantFlags are --quantize and its calibration flags, on 'effc quantize'
// and (through apply) on compile, run and bench.
type quantFlags struct {
	fs         *flag.FlagSet // for --target, where the command has it
	scheme     *string
	calib      *calibFlags
	method     *string
	percentile *float64
	keep       *string
	act        *string
	requant    *string
}

// The --requant modes.
const (
	requantFloat = "float" // QLinearConv/QLinearMatMul's float32 multiplier, ONNX-exact
	requantFixed = "fixed" // the requant-fixed pass: Q31 multiplier and shift
)

// addQuantFlags declares the flags; scheme is --quantize's default.
func addQuantFlags(fs *flag.FlagSet, scheme string) *quantFlags {
	return &quantFlags{
		fs:     fs,
		scheme: fs.String("quantize", scheme, "quantization `SCHEME`: int8, fp8-e4m3 or fp8-e5m2"),
		calib:  addCalibFlags(fs),
		method: fs.String("calib-method", quant.Percentile.String(), "how activation ranges come from calibration: `METHOD` minmax, percentile or entropy"),
		percentile: fs.Float64("calib-percentile", quant.DefaultPercentile,
			"the percentile `P` the percentile method keeps"),
		keep: fs.String("keep-float", "", "comma-separated `LAYERS` (node names) to leave in float; the report suggests the worst"),
		act:  fs.String("act", "", "activation type `T`: uint8 or int8 (default: int8 for an arm64 --target, uint8 otherwise)"),
		requant: fs.String("requant", requantFloat, "how the integer kernels requantize, `MODE` float (float32 multiplier, as ONNX specifies) "+
			"or fixed (integers only: Q31 multiplier and shift, the requant-fixed pass after the pipeline)"),
	}
}

// pipeline returns the pass pipeline p with the pass --requant selects
// appended: requant-fixed for fixed, nothing for float.
func (q *quantFlags) pipeline(p string) (string, error) {
	switch *q.requant {
	case requantFloat:
		return p, nil
	case requantFixed:
		if strings.TrimSpace(p) == "" {
			return "", usagef("--requant fixed rewrites the integer kernels the pass pipeline makes; it needs --passes")
		}
		return p + ",requant-fixed", nil
	}
	return "", usagef("--requant %s: want %s or %s", *q.requant, requantFloat, requantFixed)
}

// options parses the flags; ok is false when --quantize was not given.
func (q *quantFlags) options(g *ir.Graph) (opts effc.QuantizeOptions, ok bool, err error) {
	if *q.scheme == "" {
		if *q.calib.path != "" || *q.keep != "" || *q.act != "" {
			return opts, false, usagef("--calib, --keep-float and --act apply to quantization; add --quantize int8")
		}
		return opts, false, nil
	}
	opts.Scheme = *q.scheme
	method, err := quant.ParseMethod(*q.method)
	if err != nil {
		return opts, false, usagef("--calib-method: %v", err)
	}
	opts.Range = quant.RangeOptions{Method: method, Percentile: *q.percentile}
	if *q.keep != "" {
		opts.KeepFloat = strings.Split(*q.keep, ",")
	}
	targetName := ""
	if f := q.fs.Lookup("target"); f != nil {
		targetName = f.Value.String()
	}
	if opts.ActDType, err = actDType(*q.act, targetName); err != nil {
		return opts, false, err
	}
	opts.Calib, err = q.calib.load(g)
	return opts, true, err
}

// actDType picks the activation type: --act, else what the target's int8
// dot product multiplies without a correction (Arm sdot: s8·s8; x86
// vpdpbusd: u8·s8; wasm widens either).
func actDType(flagValue, targetName string) (ir.DType, error) {
	switch flagValue {
	case "uint8":
		return ir.Uint8, nil
	case "int8":
		return ir.Int8, nil
	case "":
		if strings.HasPrefix(targetName, "arm64") {
			return ir.Int8, nil
		}
		return ir.Uint8, nil
	}
	return ir.Undefined, usagef("--act %s: want uint8 or int8", flagValue)
}

// quantize quantizes g as the flags say; it returns nil when --quantize was
// not given.
func (q *quantFlags) quantize(g *ir.Graph) (*effc.QuantizeReport, error) {
	opts, ok, err := q.options(g)
	if err != nil || !ok {
		return nil, err
	}
	return effc.Quantize(g, opts)
}

// apply quantizes g when --quantize was given, for compile, run and bench,
// and prints the report to w; the report is nil without --quantize. The
// activation type defaults to the one the command's --target multiplies
// best (see actDType).
func (q *quantFlags) apply(w io.Writer, g *ir.Graph) (*effc.QuantizeReport, error) {
	rep, err := q.quantize(g)
	if err != nil || rep == nil {
		return nil, err
	}
	printQuantizeReport(w, rep)
	return rep, nil
}

// printQuantizeReport writes the per-layer table, the float ops and the
// totals.
func printQuantizeReport(w io.Writer, rep *effc.QuantizeReport) {
	r := rep.Report
	weights, acts := "int8 symmetric per channel", r.Activations+" asymmetric per tensor"
	if r.Scheme != quant.SchemeInt8 {
		weights, acts = r.Scheme+" per channel", r.Activations+" per tensor with zero point 0"
	}
	if r.WeightsOnly {
		fmt.Fprintf(w, "no calibration data (--calib): weights-only quantization, %s; activations stay float\n", weights)
	} else {
		fmt.Fprintf(w, "%s: weights %s, activations %s, %s calibration on %d samples\n", r.Scheme, weights, acts, r.Method, r.Samples)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "layer\top\tinput scale/zp\toutput scale/zp\tweight scales\tSQNR dB\tloses dB\trel error\n")
	for _, l := range r.Layers {
		op := l.Op
		if l.Activation != "" {
			op += "+" + l.Activation
		}
		sqnr, loss, rel := "-", "-", "-"
		if l.Measured {
			sqnr, loss, rel = fmt.Sprintf("%.1f", l.SQNR), fmt.Sprintf("%.1f", l.InputSQNR-l.SQNR), fmt.Sprintf("%.2g", l.RelErr)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Node, op, affine(l.Input), affine(l.Output),
			weightScales(l), sqnr, loss, rel)
	}
	tw.Flush()
	for _, f := range r.Float {
		fmt.Fprintf(w, "float: %s (%s): %s\n", f.Node, f.Op, f.Reason)
	}
	fmt.Fprintf(w, "weight bytes %d → %d (%.2fx smaller); all constants %d → %d (scales, zero points and int32 biases included)\n",
		r.WeightBytes.Before, r.WeightBytes.After, ratio(r.WeightBytes), r.ConstBytes.Before, r.ConstBytes.After)
	if q := rep.Quality; q != nil {
		fmt.Fprintf(w, "on %d calibration samples: max abs error %.3g, mean abs error %.3g, top-1 agreement %.2f%%\n",
			q.Samples, q.MaxAbs, q.MeanAbs, 100*q.Top1)
	}
	switch {
	case len(r.Suggest) > 0:
		fmt.Fprintf(w, "worst layers (SQNR below %d dB, losing at least %d dB themselves): try --keep-float %s\n",
			quant.SuggestBelowDB, quant.SuggestMinLossDB, strings.Join(r.Suggest, ","))
	case rep.Quality != nil && r.Scheme == quant.SchemeInt8:
		fmt.Fprintf(w, "no layer is below %d dB SQNR while losing %d dB itself; nothing to keep in float\n", quant.SuggestBelowDB, quant.SuggestMinLossDB)
	}
}

func affine(a *quant.Affine) string {
	if a == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g/%d", a.Scale, a.ZeroPoint)
}

func weightScales(l quant.Layer) string {
	if l.WeightScaleMax == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3g..%.3g", l.WeightScaleMin, l.WeightScaleMax)
}

func ratio(b quant.Bytes) float64 {
	if b.After == 0 {
		return 0
	}
	return float64(b.Before) / float64(b.After)
}
