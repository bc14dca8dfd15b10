// Package engine runs a graph by compiling it for a target and executing the
// artifact: natively, under qemu-aarch64 for arm64, or in-process with wazero
// for wasm32. It is what `effc run --target` and the per-target conformance
// runs use, so every compiled result can be compared with the interpreter.
package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime/harness"
	"github.com/effc/effc/runtime/wasmrt"
)

// Engine compiles and runs graphs for one target.
type Engine struct {
	Spec *target.Spec
	// Keep, when not empty, is a folder where each compilation's artifacts
	// stay for inspection; otherwise they go to a temporary folder.
	Keep string
	// Weights is where the compiled model keeps its weights:
	// backend.WeightsEmbed ("" means that) or backend.WeightsFile, with
	// which the artifact runs with the weights.bin compiled beside it (the
	// harness reads it, or for wasm32 wasmrt.WithWeights gets its bytes).
	Weights string
}

// Name identifies the engine in reports ("x86_64", "arm64", "wasm32").
func (e *Engine) Name() string { return e.Spec.Name }

// Bench is the timing of repeated runs of a compiled artifact.
type Bench struct {
	Runs   int
	Median time.Duration
	Min    time.Duration
}

// Run compiles g (which must have static shapes), runs it once on inputs
// and returns the outputs by name.
func (e *Engine) Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	out, _, err := e.run(context.Background(), g, inputs, 0)
	return out, err
}

// Bench compiles g and times runs repetitions on inputs.
func (e *Engine) Bench(ctx context.Context, g *ir.Graph, inputs map[string]*ir.Tensor, runs int) (map[string]*ir.Tensor, *Bench, error) {
	return e.run(ctx, g, inputs, runs)
}

func (e *Engine) run(ctx context.Context, g *ir.Graph, inputs map[string]*ir.Tensor, bench int) (map[string]*ir.Tensor, *Bench, error) {
	dir := e.Keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "effc-run-")
		if err != nil {
			return nil, nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ins := make([]*ir.Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok {
			return nil, nil, fmt.Errorf("missing input %q (%s)", v.Name, v.Type)
		}
		if t.DType != v.Type.DType || !sameShape(t.Shape, v.Type.Shape) {
			return nil, nil, fmt.Errorf("input %q: got %s%v, the compiled model takes %s", v.Name, t.DType, t.Shape, v.Type)
		}
		ins[i] = t
	}
	emit := []string{backend.EmitWasm, backend.EmitHeader}
	if !e.Spec.InProcess() {
		emit = []string{backend.EmitObj, backend.EmitHeader}
	}
	art := filepath.Join(dir, "artifacts")
	res, err := backend.Compile(ctx, g, e.Spec, backend.Options{OutDir: art, Emit: emit, Weights: e.Weights})
	if err != nil {
		return nil, nil, err
	}
	var outs []*ir.Tensor
	var b *Bench
	if e.Spec.InProcess() {
		outs, b, err = runWasm(ctx, res, ins, bench)
	} else {
		outs, b, err = e.runNative(ctx, dir, res, ins, bench)
	}
	if err != nil {
		return nil, nil, err
	}
	m := map[string]*ir.Tensor{}
	for j, v := range g.Outputs {
		m[v.Name] = outs[j]
	}
	return m, b, nil
}

// runNative links the harness with model.o and runs it (under the target's
// runner, e.g. qemu-aarch64). A model compiled with backend.WeightsFile
// declares weights.bin in model.h, and the harness reads it from beside
// model.h.
func (e *Engine) runNative(ctx context.Context, dir string, res *backend.Result, ins []*ir.Tensor, bench int) ([]*ir.Tensor, *Bench, error) {
	cc, err := toolchain.Find(e.Spec.Link.CC)
	if err != nil {
		return nil, nil, err
	}
	exe, err := harness.Build(ctx, harness.Options{CC: cc, Dir: dir, Lib: res.Files[backend.EmitObj], Header: res.Files[backend.EmitHeader]})
	if err != nil {
		return nil, nil, err
	}
	argv, err := e.Spec.RunArgs(exe)
	if err != nil {
		return nil, nil, err
	}
	runner := argv[:len(argv)-1] // the executable comes last
	if len(runner) > 0 {
		path, err := toolchain.Find(runner[0])
		if err != nil {
			return nil, nil, err
		}
		runner[0] = path
	}
	if bench > 0 {
		r, outs, err := harness.Bench(ctx, runner, exe, ins, res.Manifest.Outputs, bench)
		if err != nil {
			return nil, nil, err
		}
		return outs, &Bench{Runs: bench, Median: r.Median, Min: r.Min}, nil
	}
	outs, err := harness.Run(ctx, runner, exe, ins, res.Manifest.Outputs)
	return outs, nil, err
}

// runWasm loads model.wasm with wazero, and its weights.bin if it was
// compiled with backend.WeightsFile, and runs it in-process.
func runWasm(ctx context.Context, res *backend.Result, ins []*ir.Tensor, bench int) ([]*ir.Tensor, *Bench, error) {
	wasm, err := os.ReadFile(res.Files[backend.EmitWasm])
	if err != nil {
		return nil, nil, err
	}
	var opts []wasmrt.Option
	if f, ok := res.Files["weights"]; ok {
		w, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, wasmrt.WithWeights(w))
	}
	m, err := wasmrt.Load(ctx, wasm, res.Manifest.Name, opts...)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close(ctx)
	raw := make([][]byte, len(ins))
	for i, t := range ins {
		raw[i] = t.Bytes()
	}
	sizes := make([]int, len(res.Manifest.Outputs))
	for j, o := range res.Manifest.Outputs {
		sizes[j] = int(o.ByteSize())
	}
	var b *Bench
	var outRaw [][]byte
	if bench > 0 {
		times := make([]time.Duration, bench)
		for r := 0; r < bench; r++ {
			start := time.Now()
			if outRaw, err = m.Run(ctx, raw, sizes); err != nil {
				return nil, nil, err
			}
			times[r] = time.Since(start)
		}
		b = summarize(times)
	} else if outRaw, err = m.Run(ctx, raw, sizes); err != nil {
		return nil, nil, err
	}
	outs := make([]*ir.Tensor, len(outRaw))
	for j, o := range res.Manifest.Outputs {
		t, err := ir.TensorFromBytes(o.DType, o.Shape, outRaw[j])
		if err != nil {
			return nil, nil, fmt.Errorf("output %q: %w", o.Name, err)
		}
		outs[j] = t
	}
	return outs, b, nil
}

func summarize(times []time.Duration) *Bench {
	sorted := append([]time.Duration{}, times...)
	slices.Sort(sorted)
	return &Bench{Runs: len(times), Median: sorted[len(sorted)/2], Min: sorted[0]}
}

func sameShape(a []int64, s ir.Shape) bool {
	if len(a) != len(s) {
		return false
	}
	for i, d := range s {
		if d.Size != a[i] {
			return false
		}
	}
	return true
}
