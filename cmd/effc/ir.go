package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/effc/effc"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// irCmd is `effc ir`.
var irCmd = &command{
	name:    "ir",
	summary: "print a model's IR after a pass pipeline",
	usage:   "ir MODEL.onnx [--passes LIST] [--print-after-all | --print-after PASS] [--weights full|elided] [--shape NAME=D0,D1,...] [--batch N] [--timing]",
	about: `Ir loads MODEL.onnx, optionally binds symbolic input dimensions to sizes
(--shape, --batch), runs a pass pipeline and prints the resulting IR in effc's
text form (docs/ir.md). --passes takes a comma-separated list of pass and
named-pipeline names; the default is the "` + passes.DefaultPipeline + `" pipeline. Use
--passes '' to print the IR as imported. --print-after and --print-after-all
dump the IR after the named passes while the pipeline runs; with
--print-after-all the last dump is the final IR and is not printed again.

Passes:   ` + strings.Join(passes.Names(), ", ") + `
Pipelines: ` + strings.Join(passes.PipelineNames(), ", "),
	examples: []string{
		"effc ir testdata/digits/digits.onnx",
		"effc ir testdata/digits/digits.onnx --passes '' --weights full",
		"effc ir testdata/digits/digits.onnx --passes shape-infer,const-fold,bn-fold,dce --print-after bn-fold",
		"effc ir testdata/digits/digits.onnx --print-after-all --batch 1",
		"effc ir model.onnx --shape input=1,3,224,224",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		pipeline := fs.String("passes", passes.DefaultPipeline, "comma-separated `LIST` of passes and pipelines to run")
		printAll := fs.Bool("print-after-all", false, "print the IR after every pass")
		var printAfter stringList
		fs.Var(&printAfter, "print-after", "print the IR after `PASS` (repeatable, or comma-separated)")
		weights := fs.String("weights", "elided", "how to print constants, `MODE` full or elided (elided shows large constants as size and hash)")
		var shapes stringList
		fs.Var(&shapes, "shape", "bind input NAME's shape, e.g. image=1,1,8,8 (`NAME=D0,D1,...`, repeatable)")
		batch := fs.Int64("batch", 0, "bind the symbolic batch dimension (dim 0 of the inputs) to `N`")
		timing := fs.Bool("timing", false, "print per-pass time, nodes, constant bytes and MACs before and after to stderr")
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			var popts ir.PrintOptions
			switch *weights {
			case "elided":
				popts.Weights = ir.WeightsElided
			case "full":
				popts.Weights = ir.WeightsFull
			default:
				return usagef("--weights %q: want full or elided", *weights)
			}
			bind, err := parseShapes(shapes)
			if err != nil {
				return err
			}
			if *batch < 0 || (*batch == 0 && flagSet(fs, "batch")) {
				return usagef("--batch %d: want a positive batch size", *batch)
			}
			p, err := passes.ParsePipeline(*pipeline)
			if err != nil {
				return usagef("--passes: %v", err)
			}
			var after []string
			for _, s := range printAfter {
				for _, name := range strings.Split(s, ",") {
					if name = strings.TrimSpace(name); name == "" {
						continue
					}
					if _, err := passes.Lookup(name); err != nil {
						return usagef("--print-after: %v", err)
					}
					after = append(after, name)
				}
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			if len(bind) > 0 {
				if err := ir.BindShapes(g, bind); err != nil {
					return fmt.Errorf("%s: --shape: %w", path, err)
				}
			}
			if *batch > 0 {
				if err := ir.BindBatch(g, *batch); err != nil {
					return fmt.Errorf("%s: --batch %d: %w", path, *batch, err)
				}
			}
			if len(bind) > 0 || *batch > 0 {
				// Binding changes input dims only; propagate them.
				if err := ir.InferShapes(g); err != nil {
					return fmt.Errorf("%s: after binding shapes: %w", path, err)
				}
			}
			opts := passes.Options{
				PrintAfter:    after,
				PrintAfterAll: *printAll,
				Out:           e.stdout,
				PrintOpts:     popts,
				VerifyEach:    true,
			}
			ctx, err := passes.RunContext(&passes.Context{}, g, p, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if *timing {
				passes.PrintStats(e.stderr, ctx.Stats)
			}
			if *printAll && len(p.String()) > 0 {
				return nil
			}
			return ir.Print(e.stdout, g, popts)
		}
	},
}

// parseShapes parses --shape values NAME=D0,D1,... into a map.
func parseShapes(specs []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	for _, s := range specs {
		i := strings.LastIndex(s, "=")
		if i <= 0 {
			return nil, usagef("--shape %q: want NAME=D0,D1,... (e.g. image=1,1,8,8)", s)
		}
		name, list := s[:i], s[i+1:]
		var dims []int64
		if list != "" {
			for _, f := range strings.Split(list, ",") {
				d, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				if err != nil || d < 0 {
					return nil, usagef("--shape %q: dimension %q is not a non-negative integer", s, f)
				}
				dims = append(dims, d)
			}
		}
		if _, dup := out[name]; dup {
			return nil, usagef("--shape: input %q given twice", name)
		}
		out[name] = dims
	}
	return out, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}
