package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// compileCmd is `effc compile`.
var compileCmd = &command{
	name:    "compile",
	summary: "compile a model into a library or wasm module for a target",
	usage: "compile MODEL.onnx --target x86_64|arm64|wasm32 [--cpu C] [-o DIR] [--emit LIST] [--name NAME]\n" +
		"             [--weights embed|file] [--shape NAME=D0,D1,...] [--batch N] [--passes LIST]",
	about: `Compile loads MODEL.onnx, binds its symbolic input dims (--shape, --batch),
runs the pass pipeline (--passes, default "` + passes.DefaultPipeline + `") and compiles
the graph for --target into the folder -o (default ./out/<model>-<target>).
Every value needs a static shape after binding; every node needs a compiled
kernel ('effc ops' lists them).

--emit is a comma-separated list of artifact kinds: obj (model.o), lib
(libmodel.a), shared (libmodel.so), header (model.h), llvm (model.ll), asm
(model.s), wasm (model.wasm), manifest (manifest.json), js (model.mjs, an ES
module that loads model.wasm). Defaults: obj,lib,header,manifest natively,
wasm,header,manifest for wasm32. --name prefixes every symbol
(effc_<NAME>_run) so several models link into one program; docs/runtime.md
describes the C ABI.

--weights embed (the default) puts the weights in the artifacts' read-only
data. --weights file writes them to weights.bin in -o instead: the artifacts
hold no weight bytes, and the program loads weights.bin into 64-byte aligned
memory and passes it to effc_<NAME>_set_weights before the first run.

The artifacts are built in a temporary folder and renamed into place: a
failed compilation leaves -o as it was. Compiling the same model twice gives
byte-identical files. Compile prints each artifact with its size, the arena
(scratch) bytes against the sum of all intermediate tensors, and the time.`,
	examples: []string{
		"effc compile testdata/digits/digits.onnx --target x86_64 --batch 1",
		"effc compile testdata/digits/digits.onnx --target arm64 --cpu cortex-a76 --batch 1 -o out/digits-a76",
		"effc compile testdata/digits/digits.onnx --target wasm32 --batch 1 --emit wasm,header,js,manifest",
		"effc compile model.onnx --target x86_64 --cpu native --shape input=1,3,224,224 --emit obj,asm --name resnet",
		"effc compile testdata/digits/digits.onnx --target x86_64 --batch 1 --weights file",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		tf := addTargetFlags(fs)
		out := fs.String("o", "", "write the artifacts to `DIR` (default ./out/<model>-<target>)")
		emit := fs.String("emit", "", "comma-separated artifact `LIST`: "+strings.Join(backend.EmitKinds(), ","))
		name := fs.String("name", "model", "symbol prefix `NAME`: functions are effc_NAME_run and effc_NAME_arena_size")
		weights := addWeightsFlag(fs)
		pf := addPrepareFlags(fs)
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			if *tf.target == "" {
				return usagef("missing --target; valid targets: %s", strings.Join(target.List(), ", "))
			}
			kinds, err := parseEmit(*emit)
			if err != nil {
				return err
			}
			if err := checkWeights(*weights); err != nil {
				return err
			}
			if _, err := effc.Target(*tf.target, *tf.cpu); err != nil {
				return err
			}
			start := time.Now()
			g, pipeline, err := pf.load(e.stdout, path)
			if err != nil {
				return err
			}
			dir := *out
			if dir == "" {
				dir = defaultOutDir(path, *tf.target)
			}
			res, err := effc.Compile(g, *tf.target, effc.CompileOptions{
				CPU: *tf.cpu, Name: *name, Emit: kinds, OutDir: dir, Pipeline: pipeline, Weights: *weights,
			})
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			printCompileSummary(e.stdout, res, time.Since(start))
			return nil
		}
	},
}

// targetFlags are --target and --cpu.
type targetFlags struct {
	target, cpu *string
}

// addTargetFlags declares --target and --cpu on fs.
func addTargetFlags(fs *flag.FlagSet) targetFlags {
	return targetFlags{
		target: fs.String("target", "", "compile for `TARGET`: "+strings.Join(target.List(), ", ")+" ('effc targets')"),
		cpu:    fs.String("cpu", "", "LLVM `CPU` name or native (default: the target's; 'effc targets --cpus TARGET')"),
	}
}

// prepareFlags are --shape, --batch, --passes and the compression flags
// (--prune).
type prepareFlags struct {
	shapes stringList
	batch  *int64
	passes *string
	prune  *pruneFlag
	quant  *quantFlags
	fs     *flag.FlagSet
}

// addPrepareFlags declares --shape, --batch, --passes, --prune and the
// quantization flags on fs.
func addPrepareFlags(fs *flag.FlagSet) *prepareFlags {
	p := &prepareFlags{fs: fs, prune: addPruneFlags(fs), quant: addQuantFlags(fs, "")}
	fs.Var(&p.shapes, "shape", "bind input NAME's shape, e.g. image=1,1,8,8 (`NAME=D0,D1,...`, repeatable)")
	p.batch = fs.Int64("batch", 0, "bind the symbolic batch dimension (dim 0 of the inputs) to `N`")
	p.passes = fs.String("passes", passes.DefaultPipeline, "comma-separated `LIST` of passes and pipelines to run before compiling")
	return p
}

// options checks the flags and returns them as effc.PrepareOptions.
func (p *prepareFlags) options() (effc.PrepareOptions, error) {
	bind, err := parseShapes(p.shapes)
	if err != nil {
		return effc.PrepareOptions{}, err
	}
	if *p.batch < 0 || (*p.batch == 0 && flagSet(p.fs, "batch")) {
		return effc.PrepareOptions{}, usagef("--batch %d: want a positive batch size", *p.batch)
	}
	if _, err := passes.ParsePipeline(*p.passes); err != nil {
		return effc.PrepareOptions{}, usagef("--passes: %v", err)
	}
	if _, _, err := p.prune.options(); err != nil {
		return effc.PrepareOptions{}, err
	}
	pipeline, err := p.quant.pipeline(*p.passes)
	if err != nil {
		return effc.PrepareOptions{}, err
	}
	return effc.PrepareOptions{Shapes: bind, Batch: *p.batch, Pipeline: pipeline, NoPasses: strings.TrimSpace(*p.passes) == ""}, nil
}

// load reads the model at path, compresses it as the flags say (printing
// the report to w) and prepares it for the backend.
func (p *prepareFlags) load(w io.Writer, path string) (*ir.Graph, string, error) {
	opts, err := p.options()
	if err != nil {
		return nil, "", err
	}
	g, err := effc.Load(path)
	if err != nil {
		return nil, "", err
	}
	ran, err := p.compress(w, g)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	pipeline, err := effc.Prepare(g, opts)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if ran != "" {
		pipeline = ran + "," + pipeline // manifest.json records the whole story
	}
	return g, pipeline, nil
}

// compress applies --prune, then --quantize, to g, printing their reports
// to w; it returns the pipelines that ran ("" when none).
func (p *prepareFlags) compress(w io.Writer, g *ir.Graph) (string, error) {
	var ran []string
	pr, err := p.prune.apply(w, g)
	if err != nil {
		return "", err
	}
	if pr != nil {
		ran = append(ran, pr.Pipeline)
	}
	qr, err := p.quant.apply(w, g)
	if err != nil {
		return "", err
	}
	if qr != nil {
		ran = append(ran, qr.Pipeline)
	}
	return strings.Join(ran, ","), nil
}

// parseEmit splits --emit; "" means the target's defaults (nil).
func parseEmit(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	valid := map[string]bool{}
	for _, k := range backend.EmitKinds() {
		valid[k] = true
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if !valid[k] {
			return nil, usagef("--emit %q: unknown artifact kind %q; valid: %s", s, k, strings.Join(backend.EmitKinds(), ","))
		}
		out = append(out, k)
	}
	return out, nil
}

// defaultOutDir is ./out/<model basename without extension>-<target>.
func defaultOutDir(model, tgt string) string {
	base := strings.TrimSuffix(filepath.Base(model), filepath.Ext(model))
	return filepath.Join("out", base+"-"+tgt)
}

// printCompileSummary lists the artifacts with their sizes, the arena
// against the sum of intermediates, and the compile time.
func printCompileSummary(w io.Writer, res *backend.Result, took time.Duration) {
	m := res.Manifest
	fmt.Fprintf(w, "compiled %s for %s (cpu %s, %s) into %s in %.2fs\n", m.Name, m.Target, m.CPU, m.Triple, res.Dir, took.Seconds())
	kinds := make([]string, 0, len(res.Files))
	for k := range res.Files {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return res.Files[kinds[i]] < res.Files[kinds[j]] })
	for _, k := range kinds {
		size := "?"
		if st, err := os.Stat(res.Files[k]); err == nil {
			size = formatBytes(st.Size())
		}
		fmt.Fprintf(w, "  %-16s %10s  (%s)\n", filepath.Base(res.Files[k]), size, k)
	}
	var scratch, largest int64
	if res.Plan != nil {
		for n := range res.Plan.Scratch {
			b := llvmgen.ScratchBytes(n)
			scratch += b
			largest = max(largest, b)
		}
	}
	fmt.Fprintf(w, "arena: %s (%d bytes) for %s (%d bytes) of intermediate tensors without reuse",
		formatBytes(m.ArenaSize), m.ArenaSize, formatBytes(m.SumInter), m.SumInter)
	if m.SumInter > 0 {
		fmt.Fprintf(w, " (%.1f%%)", 100*float64(m.ArenaSize)/float64(m.SumInter))
	}
	if scratch > 0 {
		fmt.Fprintf(w, "; it also holds kernel scratch (largest %s, %s summed over %d nodes)", formatBytes(largest), formatBytes(scratch), len(res.Plan.Scratch))
	}
	fmt.Fprintln(w)
}

// formatBytes prints a byte count as B, KiB or MiB.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// addWeightsFlag defines --weights MODE, where compile, run --target and
// bench put the weights: backend.WeightsEmbed or backend.WeightsFile.
func addWeightsFlag(fs *flag.FlagSet) *string {
	return fs.String("weights", backend.WeightsEmbed, "where the weights go, `MODE` embed (read-only data) or file (weights.bin beside the artifacts)")
}

// checkWeights returns a usage error unless mode is a --weights mode.
func checkWeights(mode string) error {
	if !slices.Contains(backend.WeightsModes(), mode) {
		return usagef("--weights %q: want %s", mode, strings.Join(backend.WeightsModes(), " or "))
	}
	return nil
}
