package effc

import (
	"context"
	"fmt"
	"strings"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// CompileOptions configures Compile. The zero value compiles for the
// target's default CPU into OutDir with the target's default artifacts.
type CompileOptions struct {
	CPU      string   // LLVM CPU name or "native"; "" means the target's default
	Name     string   // symbol prefix: effc_<Name>_run; "" means "model"
	Emit     []string // artifact kinds (backend.EmitKinds); nil means backend.DefaultEmit
	OutDir   string   // where the artifacts go; required
	Pipeline string   // the pass pipeline g went through, recorded in manifest.json
	// Weights is backend.WeightsEmbed ("embed", the default for "") or
	// backend.WeightsFile ("file": weights.bin beside the artifacts, passed
	// to effc_<Name>_set_weights at run time).
	Weights string
	// Context cancels the external tools (opt, llc, the linker); nil means
	// context.Background().
	Context context.Context
}

// Compile compiles g for the named target ("x86_64", "arm64", "wasm32";
// target.List has them all) into opts.OutDir. g must have static shapes:
// bind symbolic dims first (Prepare does that and runs the pass pipeline).
// The artifacts appear only when everything succeeded; a failure leaves
// opts.OutDir as it was. Errors name the target, CPU or node at fault.
func Compile(g *ir.Graph, targetName string, opts CompileOptions) (res *backend.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error while compiling for %s: %v (please report this with the model)", targetName, r)
		}
	}()
	if g == nil {
		return nil, fmt.Errorf("compile: no graph")
	}
	spec, err := Target(targetName, opts.CPU)
	if err != nil {
		return nil, err
	}
	if opts.OutDir == "" {
		return nil, fmt.Errorf("compile: no output folder given (CompileOptions.OutDir, -o DIR)")
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return backend.Compile(ctx, g, spec, backend.Options{Name: opts.Name, Emit: opts.Emit, OutDir: opts.OutDir, Pipeline: opts.Pipeline, Weights: opts.Weights})
}

// Target loads the named target spec for cpu ("" for its default CPU).
// Unknown targets and CPUs are errors that list the valid ones.
func Target(name, cpu string) (*target.Spec, error) {
	spec, err := target.Load(name)
	if err != nil {
		return nil, err
	}
	if cpu == "" {
		return spec, nil
	}
	return spec.WithCPU(cpu)
}

// PrepareOptions says how Prepare turns a loaded graph into one the backend
// compiles.
type PrepareOptions struct {
	Shapes   map[string][]int64 // full shapes of inputs, by name (--shape)
	Batch    int64              // > 0: bind the symbolic batch dim of every input (--batch)
	Pipeline string             // pass pipeline; "" means passes.DefaultPipeline
	// NoPasses skips the pipeline (Pipeline is then ignored).
	NoPasses bool
}

// Prepare binds g's symbolic input dims (opts.Shapes, then opts.Batch),
// re-infers shapes, runs the pass pipeline and checks that every value left
// has a static shape. It returns the pipeline it ran, as recorded in
// manifest.json. g is modified in place.
func Prepare(g *ir.Graph, opts PrepareOptions) (pipeline string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error while preparing the graph: %v (please report this with the model)", r)
		}
	}()
	if len(opts.Shapes) > 0 {
		if err := ir.BindShapes(g, opts.Shapes); err != nil {
			return "", fmt.Errorf("--shape: %w", err)
		}
	}
	if opts.Batch < 0 {
		return "", fmt.Errorf("--batch %d: want a positive batch size", opts.Batch)
	}
	if opts.Batch > 0 {
		if err := ir.BindBatch(g, opts.Batch); err != nil {
			return "", fmt.Errorf("--batch %d: %w", opts.Batch, err)
		}
	}
	if len(opts.Shapes) > 0 || opts.Batch > 0 {
		if err := ir.InferShapes(g); err != nil {
			return "", fmt.Errorf("after binding shapes: %w", err)
		}
	}
	if !opts.NoPasses {
		spec := opts.Pipeline
		if spec == "" {
			spec = passes.DefaultPipeline
		}
		p, err := passes.ParsePipeline(spec)
		if err != nil {
			return "", fmt.Errorf("--passes: %w", err)
		}
		if err := passes.Run(g, p, passes.Options{}); err != nil {
			return "", err
		}
		pipeline = p.String()
	}
	return pipeline, StaticShapes(g)
}

// StaticShapes reports the first value of g whose shape is not fully known,
// with the flags that fix it.
func StaticShapes(g *ir.Graph) error {
	var syms []string
	for _, v := range g.Inputs {
		if v.Type.Ranked {
			for _, d := range v.Type.Shape {
				if !d.Known() && d.Param != "" {
					syms = append(syms, d.Param)
				}
			}
		}
	}
	fix := "bind symbolic dims with --shape NAME=D0,D1,... or --batch N"
	if len(syms) > 0 {
		fix = fmt.Sprintf("the inputs have symbolic dims %s: bind them with --shape NAME=D0,D1,... or --batch N", strings.Join(dedup(syms), ", "))
	}
	for _, v := range g.Inputs {
		if !v.Type.Ranked || !v.Type.Shape.Static() {
			return fmt.Errorf("input %q has type %s, which is not static; %s", v.Name, v.Type, fix)
		}
	}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v != nil && (!v.Type.Ranked || !v.Type.Shape.Static()) {
				return fmt.Errorf("%s: output %q has type %s, which is not static after the pass pipeline (its size depends on input data); the compiler needs static shapes, run it with the interpreter instead", n, v.Name, v.Type)
			}
		}
	}
	return nil
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
