package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/effc/effc"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/prune"
	"github.com/effc/effc/quant"
)

// pruneCmd is `effc prune`.
var pruneCmd = &command{
	name:    "prune",
	summary: "remove OTOv2 zero-invariant groups (or a ratio of channels) and write a smaller ONNX model",
	usage:   "prune MODEL.onnx -o OUT.onnx [--ratio R] [--by macs|params] [--calib FILE.npy|DIR] [--calib-samples N] [--json]",
	about: `Prune partitions the model's channels into OTOv2 zero-invariant groups,
removes every channel whose producer weights are exactly zero (folding any
constant such a channel still carries into its consumers' biases, so the
outputs do not change), rebuilds the model smaller and writes it as ONNX
that ONNX Runtime runs. With --ratio R it also removes the least salient
channels until R of the prunable MACs (or params with --by params) are gone;
that changes the outputs, and --calib measures by how much (max and mean
error, top-1 agreement) against the original. It prints per layer channels,
params and MACs before and after; --json prints the report as JSON.
docs/passes/otov2.md explains the groups, the modes and the report.`,
	examples: []string{
		"effc prune testdata/digits_oto/digits_oto.onnx -o pruned.onnx",
		"effc prune model.onnx -o small.onnx --ratio 0.3 --calib calib.npy",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		out := fs.String("o", "", "write the pruned model to `OUT.onnx` (required)")
		ratio := fs.Float64("ratio", 0, "also remove the least salient channels until this fraction of prunable MACs is gone (lossy)")
		by := fs.String("by", "macs", "what --ratio measures: macs or params")
		cf := addCalibFlags(fs)
		asJSON := fs.Bool("json", false, "print the report as JSON")
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			if *out == "" {
				return usagef("-o OUT.onnx is required")
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			opts := effc.PruneOptions{Ratio: *ratio, By: *by}
			if opts.Calib, err = cf.load(g); err != nil {
				return err
			}
			rep, err := effc.Prune(g, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			return saveModel(e.stdout, g, *out, *asJSON, rep, func(w io.Writer) { printPruneReport(w, rep) })
		}
	},
}

// saveModel writes g to path as ONNX, then the report: as indented JSON, or
// in text by print followed by a "wrote" line.
func saveModel(w io.Writer, g *ir.Graph, path string, asJSON bool, rep any, print func(io.Writer)) error {
	if err := frontend.Save(g, path); err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, rep)
	}
	print(w)
	fmt.Fprintf(w, "wrote %s\n", path)
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// calibFlags are --calib and --calib-samples.
type calibFlags struct {
	path    *string
	samples *int
}

func addCalibFlags(fs *flag.FlagSet) *calibFlags {
	return &calibFlags{
		path:    fs.String("calib", "", "calibration inputs: `FILE.npy` (axis 0 = samples) or a DIR of .npy files (prune: rank channels and measure the error on them)"),
		samples: fs.Int("calib-samples", 200, "use at most `N` calibration samples"),
	}
}

// load reads the calibration inputs, one sample per batch; nil without --calib.
func (c *calibFlags) load(g *ir.Graph) ([]map[string]*ir.Tensor, error) {
	if *c.path == "" {
		return nil, nil
	}
	src, err := quant.OpenCalib(*c.path, g, 1)
	if err != nil {
		return nil, fmt.Errorf("--calib: %w", err)
	}
	defer src.Close()
	var out []map[string]*ir.Tensor
	for n := 0; n < *c.samples; {
		b, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--calib: %w", err)
		}
		out = append(out, b)
		n += batchRows(b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--calib %s: no samples", *c.path)
	}
	return out, nil
}

// batchRows is the size of axis 0 of a batch's first input.
func batchRows(b map[string]*ir.Tensor) int {
	for _, t := range b {
		if len(t.Shape) > 0 {
			return int(t.Shape[0])
		}
	}
	return 1
}

// pruneFlag is `--prune otov2[=R]` on compile, run and bench.
type pruneFlag struct {
	mode *string
	by   *string
}

func addPruneFlags(fs *flag.FlagSet) *pruneFlag {
	return &pruneFlag{
		mode: fs.String("prune", "", "prune before compiling: `otov2` removes zero groups losslessly, otov2=R also removes R of prunable MACs"),
		by:   fs.String("prune-by", "macs", "what the otov2=R ratio measures: macs or params"),
	}
}

// options parses the flag; ok is false when --prune was not given.
func (p *pruneFlag) options() (opts effc.PruneOptions, ok bool, err error) {
	mode := *p.mode
	if mode == "" {
		return opts, false, nil
	}
	name, ratio, hasRatio := strings.Cut(mode, "=")
	if name != "otov2" {
		return opts, false, usagef("--prune %s: the only mode is otov2 (otov2 or otov2=RATIO)", mode)
	}
	opts.By = *p.by
	if hasRatio {
		r, err := strconv.ParseFloat(ratio, 64)
		if err != nil || r <= 0 || r >= 1 {
			return opts, false, usagef("--prune %s: want a ratio in (0,1), e.g. otov2=0.3", mode)
		}
		opts.Ratio = r
	}
	return opts, true, nil
}

// apply prunes g when --prune was given and prints the report to w; the
// report is nil without --prune.
func (p *pruneFlag) apply(w io.Writer, g *ir.Graph) (*effc.PruneReport, error) {
	opts, ok, err := p.options()
	if err != nil || !ok {
		return nil, err
	}
	rep, err := effc.Prune(g, opts)
	if err != nil {
		return nil, err
	}
	printPruneReport(w, rep)
	return rep, nil
}

// printPruneReport writes the per-layer table and the totals.
func printPruneReport(w io.Writer, rep *effc.PruneReport) {
	r := rep.Result
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\top\tchannels\t\tparams\t\tMACs\t\t\n")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t→ %d\t%d\t→ %d\t%d\t→ %d\t\n", l.Node, l.Op, l.ChannelsBefore, l.ChannelsAfter,
			l.ParamsBefore, l.ParamsAfter, l.MACsBefore, l.MACsAfter)
	}
	tw.Flush()
	mode := "lossless (only exactly-zero groups and dead channels)"
	if !r.Lossless {
		mode = "lossy (salient channels removed)"
	}
	fmt.Fprintf(w, "removed %d channels (%d exactly zero, %d dead with folded constants): %s\n", r.Removed, r.RemovedZero, r.RemovedDead, mode)
	fmt.Fprintf(w, "params %d → %d (%s), weight bytes %d → %d, MACs %d → %d (%s; the removed groups account for %d)\n",
		r.Before.Params, r.After.Params, percent(r.Before.Params, r.After.Params), r.Before.Bytes, r.After.Bytes,
		r.Before.MACs, r.After.MACs, percent(r.Before.MACs, r.After.MACs), r.PredictedMACs)
	for _, k := range r.Kept {
		fmt.Fprintf(w, "kept dead channel %d of group %d: %s\n", k.Channel, k.Group, k.Reason)
	}
	if q := rep.Quality; q != nil {
		fmt.Fprintf(w, "on %d calibration samples: max abs error %.3g, mean abs error %.3g, max rel error %.3g, top-1 agreement %.2f%%\n",
			q.Samples, q.MaxAbs, q.MeanAbs, q.MaxRel, 100*q.Top1)
	}
}

// percent prints the change from a to b, e.g. "-42.1%".
func percent(a, b int64) string {
	if a == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(b-a)/float64(a))
}

// printGroups writes the group table of `effc inspect --groups`.
func printGroups(w io.Writer, a *prune.Analysis) {
	prunable, zero := 0, 0
	for _, gr := range a.Groups {
		if gr.Prunable {
			prunable += gr.Channels
			zero += len(gr.Zero)
		}
	}
	fmt.Fprintf(w, "zero-invariant groups: %d group sets, %d prunable channels, %d of them exactly zero\n", len(a.Groups), prunable, zero)
	for _, gr := range a.Groups {
		status := "prunable"
		if !gr.Prunable {
			status = "not prunable: " + gr.Reason
		}
		fmt.Fprintf(w, "\ngroup %d: %d channels, producers %s; %s\n", gr.ID, gr.Channels, strings.Join(gr.Producers, ", "), status)
		fmt.Fprintf(w, "  zero %d, dead %d, norm min/mean/max %s, per channel %d params %d MACs\n",
			len(gr.Zero), len(gr.Dead), normSummary(gr.Norms), gr.ParamsPerChannel, gr.MACsPerChannel)
		for _, m := range gr.Members {
			block := ""
			if m.Block > 1 {
				block = fmt.Sprintf(" block %d", m.Block)
			}
			fmt.Fprintf(w, "  %-4s %s (%s) %s axis %d%s\n", m.Role, m.Node, m.Op, m.Param, m.Axis, block)
		}
	}
}

func normSummary(n []float64) string {
	if len(n) == 0 {
		return "-"
	}
	lo, hi, sum := n[0], n[0], 0.0
	for _, x := range n {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	return fmt.Sprintf("%.3g/%.3g/%.3g", lo, sum/float64(len(n)), hi)
}
