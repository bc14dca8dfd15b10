// Package quant holds effc's quantization machinery. Its calibration layer
// (the calib*.go files) runs a model on sample inputs through the reference
// interpreter and records, for every float tensor, streaming statistics from
// which a quantizer derives each tensor's range: minmax, percentile or
// entropy (KL). See docs/passes/quantization.md.
//
//	src, err := quant.OpenCalib("calib/", g, 0)
//	...
//	defer src.Close()
//	tab, err := quant.Calibrate(ctx, g, src, quant.Options{MaxSamples: 200, Progress: os.Stderr})
//	...
//	ranges, err := tab.Ranges(quant.RangeOptions{Method: quant.Percentile})
package quant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// Method names a way of deriving a Range from Stats.
type Method int

// The calibration methods; see the Stats methods of the same names.
const (
	MinMax Method = iota
	Percentile
	Entropy
)

var methodNames = [...]string{MinMax: "minmax", Percentile: "percentile", Entropy: "entropy"}

// String is the method's name as ParseMethod accepts it.
func (m Method) String() string {
	if m >= 0 && int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod parses a method name: minmax, percentile or entropy.
func ParseMethod(name string) (Method, error) {
	for m, n := range methodNames {
		if n == name {
			return Method(m), nil
		}
	}
	return 0, fmt.Errorf("unknown calibration method %q; want %s", name, strings.Join(methodNames[:], ", "))
}

// RangeOptions selects a method and its parameters.
type RangeOptions struct {
	Method Method
	// Percentile: the percentile kept, in (0, 100]; 0 means
	// DefaultPercentile. Symmetric cuts |x| instead of each tail.
	Percentile float64
	Symmetric  bool
	// Entropy: the number of quantized levels of |x|; 0 means 128 (8-bit).
	TargetBins int
}

// Range derives a range from s as o says.
func (s *Stats) Range(o RangeOptions) (Range, error) {
	switch o.Method {
	case MinMax:
		return s.MinMax(), nil
	case Percentile:
		p := o.Percentile
		if p == 0 {
			p = DefaultPercentile
		}
		if !(p > 0 && p <= 100) {
			return Range{}, fmt.Errorf("percentile %v is outside (0, 100]", p)
		}
		return s.Percentile(p, o.Symmetric), nil
	case Entropy:
		bins := o.TargetBins
		if bins == 0 {
			bins = 128
		}
		if bins < 2 {
			return Range{}, fmt.Errorf("entropy calibration to %d bins; want at least 2", bins)
		}
		return s.Entropy(bins), nil
	}
	return Range{}, fmt.Errorf("unknown calibration method %v", o.Method)
}

// Table is the result of a calibration run: statistics per value name.
type Table struct {
	Stats   map[string]*Stats
	Samples int // samples run: the batches' sizes along the first input's axis 0
	Batches int
}

// Names returns the calibrated value names, sorted.
func (t *Table) Names() []string {
	names := make([]string, 0, len(t.Stats))
	for n := range t.Stats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Ranges derives every value's range as o says.
func (t *Table) Ranges(o RangeOptions) (map[string]Range, error) {
	out := make(map[string]Range, len(t.Stats))
	for name, s := range t.Stats {
		r, err := s.Range(o)
		if err != nil {
			return nil, err
		}
		out[name] = r
	}
	return out, nil
}

// BatchSource yields calibration batches: Next returns the graph inputs of
// one batch by name, and io.EOF after the last. A source that knows how many
// samples it holds may also have a Samples() int method, which gives the
// progress bar its total.
type BatchSource interface {
	Next() (map[string]*ir.Tensor, error)
}

// Options configure Calibrate.
type Options struct {
	// Values restricts calibration to the named values (graph inputs or
	// node outputs, of a float dtype); nil means every float graph input
	// and node output.
	Values []string
	// MaxSamples stops after that many samples; 0 means every sample of
	// the source. A batch that would go past it is cut short, unless the
	// model's batch size is fixed: then only whole batches run.
	MaxSamples int
	// Bins is the number of histogram bins per sign; 0 means DefaultBins.
	// It must be even.
	Bins int
	// Progress receives a one-line progress bar when it is a terminal, and
	// a one-line summary at the end otherwise; nil means silence.
	Progress io.Writer
}

// Calibrate runs g on every batch of src with the reference interpreter and
// returns the statistics of its float values. Each value is folded into its
// Stats as soon as the interpreter computes it, and the interpreter drops
// intermediates after their last use, so memory holds one batch's live
// tensors plus a fixed-size histogram per value, whatever the number of
// samples. Canceling ctx stops the run within one node.
func Calibrate(ctx context.Context, g *ir.Graph, src BatchSource, opts Options) (*Table, error) {
	bins := opts.Bins
	if bins == 0 {
		bins = DefaultBins
	}
	if bins < 2 || bins%2 != 0 {
		return nil, fmt.Errorf("calibration: %d histogram bins; want an even number >= 2", bins)
	}
	if opts.MaxSamples < 0 {
		return nil, fmt.Errorf("calibration: MaxSamples is %d; want 0 (all) or more", opts.MaxSamples)
	}
	if len(g.Inputs) == 0 {
		return nil, fmt.Errorf("calibration: the graph has no inputs")
	}
	tab := &Table{Stats: map[string]*Stats{}}
	var watch map[*ir.Value]bool
	if opts.Values != nil {
		var err error
		if watch, err = watchSet(g, opts.Values); err != nil {
			return nil, fmt.Errorf("calibration: %w", err)
		}
		for v := range watch {
			tab.Stats[v.Name] = NewStats(bins)
		}
	}
	observe := func(v *ir.Value, t *ir.Tensor) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !t.DType.IsFloat() || watch != nil && !watch[v] {
			return nil
		}
		s := tab.Stats[v.Name]
		if s == nil {
			s = NewStats(bins)
			tab.Stats[v.Name] = s
		}
		s.Add(t)
		return nil
	}

	total := -1
	if n, ok := src.(interface{ Samples() int }); ok {
		total = n.Samples()
	}
	if opts.MaxSamples > 0 && (total < 0 || total > opts.MaxSamples) {
		total = opts.MaxSamples
	}
	prog := newProgress(opts.Progress, total)
	defer prog.close()
	fixed := int64(-1) // the model's fixed batch size, if any
	if in := g.Inputs[0]; in.Type.Ranked && len(in.Type.Shape) > 0 && in.Type.Shape[0].Known() {
		fixed = in.Type.Shape[0].Size
	}
	for opts.MaxSamples == 0 || tab.Samples < opts.MaxSamples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("calibration batch %d: %w", tab.Batches+1, err)
		}
		n := batchSize(g, batch)
		if left := int64(opts.MaxSamples - tab.Samples); opts.MaxSamples > 0 && n > left {
			if fixed >= 0 {
				break
			}
			batch, n = headRows(batch, n, left), left
		}
		if _, err := interp.RunWith(g, batch, interp.RunOptions{Observe: observe}); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return nil, ctxErr
			}
			return nil, fmt.Errorf("calibration batch %d: %w", tab.Batches+1, err)
		}
		tab.Samples += int(n)
		tab.Batches++
		prog.update(tab.Samples)
	}
	if tab.Batches == 0 {
		if fixed >= 0 && opts.MaxSamples > 0 {
			return nil, fmt.Errorf("calibration: MaxSamples %d is below the model's batch size %d", opts.MaxSamples, fixed)
		}
		return nil, fmt.Errorf("calibration: the source holds no samples")
	}
	prog.finish(tab.Samples, len(tab.Stats))
	return tab, nil
}

// watchSet resolves value names to the graph's float inputs and node
// outputs.
func watchSet(g *ir.Graph, names []string) (map[*ir.Value]bool, error) {
	byName := map[string]*ir.Value{}
	for _, v := range g.Values() {
		byName[v.Name] = v
	}
	watch := map[*ir.Value]bool{}
	for _, name := range names {
		v := byName[name]
		switch {
		case v == nil:
			return nil, fmt.Errorf("value %q is not in the graph", name)
		case v.IsConst():
			return nil, fmt.Errorf("value %q is a constant; calibration observes inputs and node outputs", name)
		case v.Type.DType != ir.Undefined && !v.Type.DType.IsFloat():
			return nil, fmt.Errorf("value %q has dtype %s; calibration observes float values", name, v.Type.DType)
		}
		watch[v] = true
	}
	return watch, nil
}

// batchSize is the number of samples in a batch: the size of axis 0 of the
// graph's first input, or 1 for a scalar input.
func batchSize(g *ir.Graph, batch map[string]*ir.Tensor) int64 {
	if t := batch[g.Inputs[0].Name]; t != nil && len(t.Shape) > 0 {
		return t.Shape[0]
	}
	return 1
}

// headRows keeps the first k of the n samples of a batch: every input whose
// axis 0 has size n is cut to its first k rows (sharing the data).
func headRows(batch map[string]*ir.Tensor, n, k int64) map[string]*ir.Tensor {
	out := make(map[string]*ir.Tensor, len(batch))
	for name, t := range batch {
		if len(t.Shape) == 0 || t.Shape[0] != n {
			out[name] = t
			continue
		}
		shape := append([]int64{k}, t.Shape[1:]...)
		data := reflect.ValueOf(t.Data).Slice(0, int(ir.NumElements(shape))).Interface()
		out[name] = &ir.Tensor{DType: t.DType, Shape: shape, Data: data}
	}
	return out
}
