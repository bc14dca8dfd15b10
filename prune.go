package effc

import (
	"fmt"
	"math"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
	"github.com/effc/effc/prune"
)

// PruneOptions configures Prune.
type PruneOptions struct {
	// Ratio 0 removes only OTOv2 zero groups (lossless); a ratio in (0,1)
	// also removes the least salient channels until that fraction of the
	// prunable MACs (or params, see By) is gone.
	Ratio float64
	By    string // "macs" (default) or "params"
	// Calib are inputs to measure the pruned model's outputs against the
	// original's on (--calib); with a Ratio they also rank the channels by
	// how much they feed their consumers. nil skips both.
	Calib []map[string]*ir.Tensor
}

// PruneReport is what Prune did and, with calibration inputs, what it
// cost in accuracy.
type PruneReport struct {
	*prune.Result
	// Pipeline is the pass pipeline Prune ran.
	Pipeline string `json:"pipeline"`
	// Quality compares the pruned outputs with the original's on
	// PruneOptions.Calib; nil without calibration inputs.
	Quality *Quality `json:"quality,omitempty"`
}

// Quality compares a transformed model's outputs with the original's.
type Quality struct {
	Samples int     `json:"samples"`
	MaxAbs  float64 `json:"max_abs_error"`
	MeanAbs float64 `json:"mean_abs_error"`
	// MaxRel is the largest |a-b| / max(|b|, 1e-6·max|b|) over all elements.
	MaxRel float64 `json:"max_rel_error"`
	// Top1 is the fraction of samples whose first output has the same
	// argmax over its last axis in both models (classifiers).
	Top1 float64 `json:"top1_agreement"`
}

// Prune runs the "prune" pipeline (clean-up, then the prune-otov2 pass) on
// g in place and reports per layer channels, params and MACs before and
// after. g keeps its standard ONNX form, so frontend.Save can write it.
func Prune(g *ir.Graph, opts PruneOptions) (rep *PruneReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("internal error while pruning: %v (please report this with the model)", r)
		}
	}()
	var orig *ir.Graph
	if len(opts.Calib) > 0 {
		if orig, err = cloneGraph(g); err != nil {
			return nil, err
		}
	}
	p, err := passes.ParsePipeline("prune")
	if err != nil {
		return nil, err
	}
	ctx := &passes.Context{Prune: prune.Options{Ratio: opts.Ratio, By: opts.By, Calib: opts.Calib}}
	if _, err := passes.RunContext(ctx, g, p, passes.Options{}); err != nil {
		return nil, err
	}
	rep = &PruneReport{Result: ctx.Pruned, Pipeline: p.String()}
	if orig != nil {
		if rep.Quality, err = Compare(orig, g, opts.Calib); err != nil {
			return nil, fmt.Errorf("measuring the pruned model on the calibration inputs: %w", err)
		}
	}
	return rep, nil
}

// Groups cleans g up the way Prune does (identity elimination, constant
// folding, dead code) and returns its OTOv2 zero-invariant groups.
func Groups(g *ir.Graph) (a *prune.Analysis, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("internal error while finding groups: %v (please report this with the model)", r)
		}
	}()
	p, err := passes.ParsePipeline("shape-infer,identity-elim,const-fold,dce,shape-infer")
	if err != nil {
		return nil, err
	}
	if err := passes.Run(g, p, passes.Options{}); err != nil {
		return nil, err
	}
	return prune.Analyze(g)
}

// cloneGraph deep-copies g through the ONNX encoder.
func cloneGraph(g *ir.Graph) (*ir.Graph, error) {
	data, err := frontend.Encode(g)
	if err != nil {
		return nil, err
	}
	c, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		return nil, err
	}
	return c, ir.InferShapes(c)
}

// Compare runs want and got on every input set with the interpreter and
// measures how far got's outputs are from want's.
func Compare(want, got *ir.Graph, inputs []map[string]*ir.Tensor) (*Quality, error) {
	q := &Quality{}
	var sum float64
	var count int64
	agree := 0
	for i, in := range inputs {
		w, err := interp.Run(want, in)
		if err != nil {
			return nil, fmt.Errorf("input %d: original model: %w", i, err)
		}
		gt, err := interp.Run(got, in)
		if err != nil {
			return nil, fmt.Errorf("input %d: transformed model: %w", i, err)
		}
		for oi, o := range want.Outputs {
			a, b := gt[o.Name], w[o.Name]
			if a == nil || a.Len() != b.Len() {
				return nil, fmt.Errorf("input %d: output %q changed shape", i, o.Name)
			}
			scale := 0.0
			for k := 0; k < b.Len(); k++ {
				scale = math.Max(scale, math.Abs(b.Float64At(k)))
			}
			for k := 0; k < b.Len(); k++ {
				d := math.Abs(a.Float64At(k) - b.Float64At(k))
				q.MaxAbs = math.Max(q.MaxAbs, d)
				q.MaxRel = math.Max(q.MaxRel, d/math.Max(math.Abs(b.Float64At(k)), 1e-6*scale+1e-30))
				sum += d
				count++
			}
			if oi == 0 {
				rows, same := argmaxAgree(a, b)
				agree += same
				q.Samples += rows
			}
		}
	}
	if count > 0 {
		q.MeanAbs = sum / float64(count)
	}
	if q.Samples > 0 {
		q.Top1 = float64(agree) / float64(q.Samples)
	}
	return q, nil
}

// argmaxAgree counts the rows (over the last axis) where a and b have the
// same argmax.
func argmaxAgree(a, b *ir.Tensor) (rows, same int) {
	n := 1
	if len(b.Shape) > 0 {
		n = int(b.Shape[len(b.Shape)-1])
	}
	if n == 0 {
		return 0, 0
	}
	for r := 0; r*n < b.Len(); r++ {
		if argmax(a, r*n, n) == argmax(b, r*n, n) {
			same++
		}
		rows++
	}
	return rows, same
}

func argmax(t *ir.Tensor, off, n int) int {
	best := 0
	for i := 1; i < n; i++ {
		if t.Float64At(off+i) > t.Float64At(off+best) {
			best = i
		}
	}
	return best
}
