// Package interp is effc's reference interpreter: the semantic oracle that
// constant folding, calibration and every compiled artifact are checked
// against. It executes canonical IR (ir.CanonicalOpset semantics) in pure
// Go; GEMM and convolution go through gonum's BLAS.
package interp

import (
	"fmt"
	"sort"

	"github.com/effc/effc/ir"
)

// kernel computes one node. in has one entry per node input, nil for an
// omitted optional input; the result has one entry per node output (nil for
// an output the node does not produce).
type kernel func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error)

// families lists the kernel tables, one per family file.
var families = []map[string]kernel{mathKernels, nnKernels, tensorKernels}

// kernels is the merged op -> kernel table.
var kernels = mergeFamilies()

func mergeFamilies() map[string]kernel {
	m := map[string]kernel{}
	for _, f := range families {
		for op, k := range f {
			if _, dup := m[op]; dup {
				panic("interp: op " + op + " registered twice")
			}
			m[op] = k
		}
	}
	return m
}

// Supported reports whether the interpreter has a kernel for the ai.onnx op.
func Supported(op string) bool { _, ok := kernels[op]; return ok }

// Ops returns the supported op names, sorted.
func Ops() []string {
	out := make([]string, 0, len(kernels))
	for op := range kernels {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// EvalNode runs one node on concrete inputs. A kernel that panics (a bug, or
// an input the kernel failed to validate) is reported as an error naming the
// node rather than crashing the caller.
func EvalNode(n *ir.Node, in []*ir.Tensor) (out []*ir.Tensor, err error) {
	key := n.Op
	switch n.Domain {
	case "", "ai.onnx":
	case "effc":
		key = "effc." + n.Op // effc's own ops, made by passes
	default:
		return nil, fmt.Errorf("%s: domain %q is not supported by the interpreter; only ai.onnx and effc ops run", n, n.Domain)
	}
	k, ok := kernels[key]
	if !ok {
		return nil, fmt.Errorf("%s: the interpreter has no kernel for op %s; see 'effc ops' for the supported list", n, n.Op)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: internal error in kernel: %v (please report this with the model)", n, r)
		}
	}()
	out, err = k(n, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n, err)
	}
	if len(out) > len(n.Outputs) {
		return nil, fmt.Errorf("%s: kernel produced %d outputs, node declares %d", n, len(out), len(n.Outputs))
	}
	return out, nil
}

// Run executes g on the named inputs and returns every graph output by name.
// Inputs must match the graph inputs' dtypes and ranks; symbolic dims accept
// any size.
func Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return RunWith(g, inputs, RunOptions{})
}

// RunOptions configures RunWith.
type RunOptions struct {
	// Observe, when set, sees every graph input and then every node output
	// as soon as it is computed, in execution order (constants are not
	// reported). The tensor belongs to the interpreter: Observe must not
	// modify it, and must not keep it, since intermediates are dropped as
	// soon as their last consumer has run. An error from Observe stops the
	// run and is returned wrapped.
	Observe func(v *ir.Value, t *ir.Tensor) error
}

// RunWith is Run with options: it executes g on the named inputs, reports
// values to opts.Observe, and returns every graph output by name.
func RunWith(g *ir.Graph, inputs map[string]*ir.Tensor, opts RunOptions) (map[string]*ir.Tensor, error) {
	observe := func(v *ir.Value, t *ir.Tensor) error {
		if opts.Observe == nil {
			return nil
		}
		if err := opts.Observe(v, t); err != nil {
			return fmt.Errorf("observing %q: %w", v.Name, err)
		}
		return nil
	}
	env := make(map[*ir.Value]*ir.Tensor, len(g.Nodes)+len(g.Consts)+len(g.Inputs))
	for _, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok {
			return nil, fmt.Errorf("missing input %q (%s)", v.Name, v.Type)
		}
		if err := checkInput(v, t); err != nil {
			return nil, err
		}
		env[v] = t
		if err := observe(v, t); err != nil {
			return nil, err
		}
	}
	for _, c := range g.Consts {
		if c.Const.DataLen() < 0 {
			return nil, fmt.Errorf("constant %q has no data (elided weights?); load the model from ONNX or print the IR with --weights full", c.Name)
		}
		env[c] = c.Const
	}
	// lastUse lets the interpreter drop intermediates early.
	lastUse := map[*ir.Value]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				lastUse[in] = i
			}
		}
	}
	for i, n := range g.Nodes {
		args := make([]*ir.Tensor, len(n.Inputs))
		for j, in := range n.Inputs {
			if in == nil {
				continue
			}
			t, ok := env[in]
			if !ok {
				return nil, fmt.Errorf("%s: input %q has no value (graph not in topological order?)", n, in.Name)
			}
			args[j] = t
		}
		outs, err := EvalNode(n, args)
		if err != nil {
			return nil, err
		}
		for j, o := range n.Outputs {
			if o == nil {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, fmt.Errorf("%s: output %d (%q) was not produced", n, j, o.Name)
			}
			env[o] = outs[j]
			if err := observe(o, outs[j]); err != nil {
				return nil, err
			}
		}
		for _, in := range n.Inputs {
			if in != nil && lastUse[in] == i && in.Producer != nil && !g.IsOutput(in) {
				delete(env, in)
			}
		}
	}
	res := make(map[string]*ir.Tensor, len(g.Outputs))
	for _, o := range g.Outputs {
		t, ok := env[o]
		if !ok {
			return nil, fmt.Errorf("graph output %q was not computed", o.Name)
		}
		res[o.Name] = t
	}
	return res, nil
}

// checkInput validates a runtime input against the graph input's type.
func checkInput(v *ir.Value, t *ir.Tensor) error {
	if t == nil {
		return fmt.Errorf("input %q is nil", v.Name)
	}
	if v.Type.DType != ir.Undefined && t.DType != v.Type.DType {
		return fmt.Errorf("input %q: dtype %s, want %s", v.Name, t.DType, v.Type.DType)
	}
	if n, err := ir.CheckedNumElements(t.Shape); err != nil || int(n) != t.DataLen() {
		return fmt.Errorf("input %q: data has %d elements, shape %v needs %d", v.Name, t.DataLen(), t.Shape, n)
	}
	if !v.Type.Ranked {
		return nil
	}
	if len(t.Shape) != len(v.Type.Shape) {
		return fmt.Errorf("input %q: rank %d (shape %v), want rank %d (%s)", v.Name, len(t.Shape), t.Shape, len(v.Type.Shape), v.Type.Shape)
	}
	for i, d := range v.Type.Shape {
		if d.Known() && d.Size != t.Shape[i] {
			return fmt.Errorf("input %q: shape %v does not match %s (dim %d: got %d, want %d)", v.Name, t.Shape, v.Type.Shape, i, t.Shape[i], d.Size)
		}
	}
	return nil
}
