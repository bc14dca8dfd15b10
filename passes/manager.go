package passes

import (
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/effc/effc/ir"
	"github.com/effc/effc/prune"
)

// Context carries what passes share during one run.
type Context struct {
	// Stats collects per-pass counters (nodes, constant bytes, MACs before
	// and after); filled by the manager.
	Stats []PassStats
	// Prune configures the prune-otov2 pass; the zero value removes only
	// exactly-zero groups, losslessly.
	Prune prune.Options
	// Pruned is prune-otov2's report (nil when it did not run).
	Pruned *prune.Result
}

// PassStats is what one pass did to the graph.
type PassStats struct {
	Pass          string
	Duration      time.Duration
	NodesBefore   int
	NodesAfter    int
	ConstBytesBef int64
	ConstBytesAft int64
	MACsBefore    int64 // per sample; symbolic dims count as 1
	MACsAfter     int64
}

// Pipeline is an ordered list of passes.
type Pipeline struct {
	passes []*Pass
}

// Names returns every pass name, in table order.
func Names() []string {
	out := make([]string, len(table))
	for i := range table {
		out[i] = table[i].Name
	}
	return out
}

// PipelineNames returns the named pipelines, sorted.
func PipelineNames() []string {
	out := make([]string, 0, len(pipelines))
	for k := range pipelines {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the pass with the given name; an unknown name is an error
// listing the valid ones.
func Lookup(name string) (*Pass, error) {
	for i := range table {
		if table[i].Name == name {
			return &table[i], nil
		}
	}
	return nil, fmt.Errorf("unknown pass %q; passes: %s; pipelines: %s",
		name, strings.Join(Names(), ", "), strings.Join(PipelineNames(), ", "))
}

// ParsePipeline parses a comma-separated list of pass and pipeline names.
// Named pipelines expand in place, so "default,bn-fold" is valid.
func ParsePipeline(spec string) (*Pipeline, error) {
	p := &Pipeline{}
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if sub, ok := pipelines[name]; ok {
			for _, s := range sub {
				ps, err := Lookup(s)
				if err != nil {
					return nil, fmt.Errorf("pipeline %q: %w", name, err)
				}
				p.passes = append(p.passes, ps)
			}
			continue
		}
		ps, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		p.passes = append(p.passes, ps)
	}
	if err := checkOrder(p); err != nil {
		return nil, err
	}
	return p, nil
}

// String prints the pipeline as its expanded pass list; ParsePipeline of the
// result gives the same pipeline.
func (p *Pipeline) String() string {
	names := make([]string, len(p.passes))
	for i, ps := range p.passes {
		names[i] = ps.Name
	}
	return strings.Join(names, ",")
}

// Passes returns the pass names in order.
func (p *Pipeline) Passes() []string { return strings.Split(p.String(), ",") }

// checkOrder enforces the order table: for each constraint (a, b) whose
// passes both appear, the first a must precede the first b.
func checkOrder(p *Pipeline) error {
	first := map[string]int{}
	for i, ps := range p.passes {
		if _, ok := first[ps.Name]; !ok {
			first[ps.Name] = i
		}
	}
	for _, c := range order {
		ia, okA := first[c.a]
		ib, okB := first[c.b]
		if okA && okB && ia > ib {
			return fmt.Errorf("pipeline %q: pass %s must run before %s", p, c.a, c.b)
		}
	}
	return nil
}

// Options selects the instruments of a run.
type Options struct {
	PrintAfter    []string        // print the IR after these passes
	PrintAfterAll bool            // print the IR after every pass
	Out           io.Writer       // where IR dumps and timing go (required when printing)
	PrintOpts     ir.PrintOptions // weights full or elided
	VerifyEach    bool            // run ir.Verify after every pass
	Timing        bool            // print a per-pass timing table at the end
}

// Run applies the pipeline to g. A pass error, a verifier failure or a panic
// inside a pass is returned as an error naming the pass.
func Run(g *ir.Graph, p *Pipeline, opts Options) error {
	_, err := RunContext(&Context{}, g, p, opts)
	return err
}

// RunContext is Run with an explicit context; it returns the context with
// per-pass statistics filled in.
func RunContext(ctx *Context, g *ir.Graph, p *Pipeline, opts Options) (*Context, error) {
	for _, name := range opts.PrintAfter {
		if _, err := Lookup(name); err != nil {
			return ctx, fmt.Errorf("--print-after: %w", err)
		}
	}
	for i, ps := range p.passes {
		st := PassStats{Pass: ps.Name, NodesBefore: len(g.Nodes), ConstBytesBef: constBytes(g), MACsBefore: macs(g)}
		start := time.Now()
		if err := runOne(ctx, ps, g); err != nil {
			return ctx, err
		}
		st.Duration = time.Since(start)
		st.NodesAfter, st.ConstBytesAft, st.MACsAfter = len(g.Nodes), constBytes(g), macs(g)
		ctx.Stats = append(ctx.Stats, st)
		if opts.VerifyEach {
			if err := ir.Verify(g); err != nil {
				return ctx, fmt.Errorf("verifier failed after pass %s: %w", ps.Name, err)
			}
		}
		if opts.PrintAfterAll || contains(opts.PrintAfter, ps.Name) {
			fmt.Fprintf(opts.Out, "# *** IR dump after %s (pass %d of %d; nodes %d -> %d) ***\n",
				ps.Name, i+1, len(p.passes), st.NodesBefore, st.NodesAfter)
			if err := ir.Print(opts.Out, g, opts.PrintOpts); err != nil {
				return ctx, err
			}
		}
	}
	if opts.Timing {
		PrintStats(opts.Out, ctx.Stats)
	}
	return ctx, nil
}

// runOne runs one pass, turning a panic into an error that names it.
func runOne(ctx *Context, ps *Pass, g *ir.Graph) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pass %s: internal error: %v (please report this with the model)\n%s", ps.Name, r, debug.Stack())
		}
	}()
	if err := ps.Run(ctx, g); err != nil {
		return fmt.Errorf("pass %s: %w", ps.Name, err)
	}
	return nil
}

// PrintStats writes one row per pass: time, nodes, constant bytes and MACs
// before and after.
func PrintStats(w io.Writer, stats []PassStats) {
	var total time.Duration
	fmt.Fprintf(w, "%-16s %10s %13s %21s %25s\n", "pass", "time", "nodes", "const bytes", "MACs")
	for _, s := range stats {
		total += s.Duration
		fmt.Fprintf(w, "%-16s %10s %6d -> %-4d %10d -> %-10d %11d -> %-11d\n", s.Pass, s.Duration.Round(time.Microsecond),
			s.NodesBefore, s.NodesAfter, s.ConstBytesBef, s.ConstBytesAft, s.MACsBefore, s.MACsAfter)
	}
	fmt.Fprintf(w, "%-16s %10s\n", "total", total.Round(time.Microsecond))
}

func constBytes(g *ir.Graph) int64 {
	var n int64
	for _, c := range g.Consts {
		n += c.Const.ByteSize()
	}
	return n
}

// macs is g's MAC count per sample (ir.MACs summed).
func macs(g *ir.Graph) int64 {
	var n int64
	for _, nd := range g.Nodes {
		n += ir.MACs(nd, nil)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
