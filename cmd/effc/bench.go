package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/probe"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
)

// benchCmd is `effc bench`.
var benchCmd = &command{
	name:    "bench",
	summary: "time a model compiled for a target, or measure the machine's FMA peak",
	usage:   "bench MODEL.onnx --target T [--cpu C] [--runs N] [--batch N] [--ort] [--shape NAME=D0,...] [--passes LIST] [--weights embed|file] | bench --peak [--target T] [--cpu C]",
	about: `Bench compiles MODEL.onnx for --target like 'effc compile' (a symbolic
batch dim is bound to --batch, default 1) and runs it --runs times after one
warm-up run on seeded random inputs, timing each call of the model's run
function. It prints the median and minimum latency, the model's GFLOP/s
(2 x the multiply-accumulates that 'effc inspect' counts, over the median),
and that as a fraction of the peak measured by the FMA probe for the same
target and CPU (backend/probe: independent vector FMAs on one core).
--weights file compiles the weights to weights.bin beside the artifacts, as
'effc compile --weights file' does, and loads it before the timed runs.

x86_64 runs natively, arm64 under qemu-aarch64 (the times measure the
emulator, not arm64 hardware), wasm32 in-process with wazero (the probe does
not run there, so no peak fraction). Use --cpu native on x86_64 for the
numbers of this machine.

With --ort it also runs ONNX Runtime for Node (bench/ort-bench.mjs, one
intra-op thread, installed by 'make bench-deps') on the same model and input
shapes in the same invocation and prints effc's latency over ONNX Runtime's.

With --peak and no model it only runs the probe and prints its GFLOP/s
(default target x86_64 with --cpu native).`,
	examples: []string{
		"effc bench testdata/digits/digits.onnx --target x86_64 --cpu native --runs 200",
		"effc bench testdata/digits/digits.onnx --target wasm32 --batch 8",
		"effc bench testdata/digits/digits.onnx --target x86_64 --weights file",
		"effc bench out/models/resnet18.onnx --target x86_64 --cpu native --runs 20 --ort",
		"effc bench --peak",
		"effc bench --peak --target arm64",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		tf := addTargetFlags(fs)
		runs := fs.Int("runs", 50, "time `N` runs")
		peak := fs.Bool("peak", false, "measure and print the FMA peak of the target and CPU, without a model")
		pf := addPrepareFlags(fs)
		weights := addWeightsFlag(fs)
		ort := fs.Bool("ort", false, "also time ONNX Runtime for Node (1 intra-op thread) on the same model and print the latency ratio; needs 'make bench-deps'")
		ortScript := fs.String("ort-script", "bench/ort-bench.mjs", "the ONNX Runtime benchmark `SCRIPT` (run with node)")
		return func(e *env, args []string) error {
			if *peak {
				if err := noArgs(args); err != nil {
					return usagef("--peak takes no model: %v", err)
				}
				name, cpu := *tf.target, *tf.cpu
				if name == "" {
					name = "x86_64"
					if cpu == "" {
						cpu = "native"
					}
				}
				spec, err := effc.Target(name, cpu)
				if err != nil {
					return err
				}
				gf, err := probe.Peak(context.Background(), spec)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "peak: %.1f GFLOP/s (%s, cpu %s, one core, %d-bit vectors, fma %s)\n",
					gf, spec.Name, spec.CPU, spec.VectorBits, yesNo(spec.HasFMA))
				return nil
			}
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			if *tf.target == "" {
				return usagef("missing --target; valid targets: %s", strings.Join(target.List(), ", "))
			}
			if *runs < 1 || *runs > 1000000 {
				return usagef("--runs %d: want 1 to 1000000", *runs)
			}
			if err := checkWeights(*weights); err != nil {
				return err
			}
			spec, err := effc.Target(*tf.target, *tf.cpu)
			if err != nil {
				return err
			}
			opts, err := pf.options()
			if err != nil {
				return err
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			if _, err := pf.compress(e.stdout, g); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if opts.Batch == 0 && len(opts.Shapes) == 0 && hasSymbolicBatch(g) {
				opts.Batch = 1
			}
			// MACs on the bound graph as the model states it, before passes
			// fold BatchNormalization into convolutions.
			bindOnly := opts
			bindOnly.NoPasses = true
			if _, err := effc.Prepare(g, bindOnly); err != nil && !strings.Contains(err.Error(), "not static") {
				return fmt.Errorf("%s: %w", path, err)
			}
			macs := effc.Inspect(g).Totals.MACs
			opts.Shapes, opts.Batch = nil, 0
			if _, err := effc.Prepare(g, opts); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			feeds := randomInputs(g)
			start := time.Now()
			_, b, err := (&engine.Engine{Spec: spec, Weights: *weights}).Bench(context.Background(), g, feeds, *runs)
			if err != nil {
				return fmt.Errorf("%s: target %s: %w", path, spec.Name, err)
			}
			printBench(e.stdout, spec, b, macs, integerMACs(g), time.Since(start))
			if *ort {
				return benchORT(e.stdout, *ortScript, path, g, *runs, b)
			}
			return nil
		}
	},
}

// ortResult is the JSON line bench/ort-bench.mjs prints.
type ortResult struct {
	MedianUS float64 `json:"median_us"`
	MinUS    float64 `json:"min_us"`
	Runs     int     `json:"runs"`
	Version  string  `json:"ort"`
}

// benchORT times ONNX Runtime for Node on the same model, input shapes and
// run count, in the same effc invocation, and prints the ratio.
func benchORT(w io.Writer, script, model string, g *ir.Graph, runs int, b *engine.Bench) error {
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("--ort: %s not found: run effc from the repository root or pass --ort-script", script)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("--ort: node is not installed (Debian package nodejs)")
	}
	args := []string{script, model, fmt.Sprint(runs)}
	for _, v := range g.Inputs {
		dims := make([]string, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			dims[i] = fmt.Sprint(d.Size)
		}
		args = append(args, v.Name+"="+strings.Join(dims, ","))
	}
	cmd := exec.Command("node", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("--ort: node %s: %v: %s (did you run 'make bench-deps'?)", script, err, oneLine(stderr.String()))
	}
	var r ortResult
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("--ort: unexpected output %q: %v", out, err)
	}
	ortMedian := time.Duration(r.MedianUS * float64(time.Microsecond))
	ortMin := time.Duration(r.MinUS * float64(time.Microsecond))
	fmt.Fprintf(w, "onnxruntime-node %s (1 thread): median %s, min %s\n", r.Version, fmtDur(ortMedian), fmtDur(ortMin))
	fmt.Fprintf(w, "effc / onnxruntime: %.2fx median, %.2fx min (below 1 is faster)\n",
		b.Median.Seconds()/ortMedian.Seconds(), b.Min.Seconds()/ortMin.Seconds())
	return nil
}

// hasSymbolicBatch reports whether some input's first dim is not known.
func hasSymbolicBatch(g *ir.Graph) bool {
	for _, v := range g.Inputs {
		if v.Type.Ranked && len(v.Type.Shape) > 0 && !v.Type.Shape[0].Known() {
			return true
		}
	}
	return false
}

// randomInputs makes seeded inputs for g's (static) inputs: standard normal
// floats, zeros for other dtypes.
func randomInputs(g *ir.Graph) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(1, 2))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		switch d := t.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		case []float64:
			for i := range d {
				d[i] = rng.NormFloat64()
			}
		}
		m[v.Name] = t
	}
	return m
}

// integerMACs reports whether g's multiply-accumulates run on integer
// kernels (a quantized model after qdq-fuse).
func integerMACs(g *ir.Graph) bool {
	for _, n := range g.Nodes {
		switch n.Op {
		case "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger":
			return true
		}
	}
	return false
}

// printBench writes the latency, GFLOP/s and fraction of the probe's peak.
// The probe measures fp32 FMA; for an integer model the rate is GOP/s and
// is compared with that fp32 peak, which int8 dot products can exceed.
func printBench(w io.Writer, spec *target.Spec, b *engine.Bench, macs int64, integer bool, took time.Duration) {
	fmt.Fprintf(w, "target: %s (cpu %s)\n", spec.Name, spec.CPU)
	fmt.Fprintf(w, "runs: %d, median %s, min %s (compile and runs took %.1fs)\n", b.Runs, fmtDur(b.Median), fmtDur(b.Min), took.Seconds())
	if macs <= 0 || b.Median <= 0 {
		fmt.Fprintf(w, "GFLOP/s: n/a (the model has no counted multiply-accumulates)\n")
		return
	}
	gf := 2 * float64(macs) / b.Median.Seconds() / 1e9
	if integer {
		fmt.Fprintf(w, "GOP/s (int8 multiply-accumulates): %.2f (%d MACs)\n", gf, macs)
	} else {
		fmt.Fprintf(w, "GFLOP/s: %.2f (%d MACs)\n", gf, macs)
	}
	peak, err := probe.Peak(context.Background(), spec)
	if err != nil {
		fmt.Fprintf(w, "peak: n/a (%s)\n", oneLine(err.Error()))
		return
	}
	note := ""
	if spec.Runner != target.RunnerDirect {
		note = " (both measured under " + spec.Runner + ")"
	}
	if integer {
		fmt.Fprintf(w, "fp32 FMA peak: %.1f GFLOP/s; the int8 model runs at %.2fx it%s (int8 dot products, e.g. vpdpbusd with 4 MACs per 32-bit lane, are not bounded by it)\n", peak, gf/peak, note)
		return
	}
	fmt.Fprintf(w, "peak: %.1f GFLOP/s, model at %.1f%% of peak%s\n", peak, 100*gf/peak, note)
}

// fmtDur prints a latency in µs or ms.
func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}
