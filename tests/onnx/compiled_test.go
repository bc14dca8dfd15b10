package onnxconf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// compiledTargets are the targets TestConformanceCompiled runs, in order.
var compiledTargets = []string{"x86_64", "arm64", "wasm32"}

// compiledBar is the share of the tests the interpreter passes with static
// shapes that each compiled target must pass (issue 3).
const compiledBar = 0.95

// compiledWorkers bounds how many tests compile and run at once: each one
// runs opt, llc, the C compiler and the artifact, which are CPU-bound.
const compiledWorkers = 2

// Skip reasons of the compiled run that are not in the Skips table. They
// start with a fixed word so the report can count them.
const (
	skipInterp  = "interpreter: "
	skipDynamic = "dynamic: "
)

// compiledCase is the target-independent preparation of one test, shared
// by the three targets: the interpreter's verdict, the graph after the
// default pipeline, the inputs and expected outputs, and the tolerances.
type compiledCase struct {
	once   sync.Once
	name   string // the test, "node/test_relu"
	prefix string // "t<index>_": prepended to every value and node name, unique in a batch
	skip   string // non-empty: the test is skipped for every target
	fail   string // non-empty: the test fails for every target without compiling (no kernel)
	g      *ir.Graph
	inputs map[string]*ir.Tensor
	wants  []*ir.Tensor // in g.Outputs order
	tols   []Tolerance  // per output
	class  OpClass
	widen  []string // outputs whose tolerance was widened to the reference's precision
}

// prepare fills c for test under root. It never panics: a panic in the
// frontend, the interpreter or a pass becomes c.fail.
func (c *compiledCase) prepare(root, test string) {
	defer func() {
		if r := recover(); r != nil {
			c.fail = fmt.Sprintf("panic while preparing: %v\n%s", r, debug.Stack())
		}
	}()
	if why, ok := Skips[test]; ok {
		c.skip = why
		return
	}
	dir := filepath.Join(root, filepath.FromSlash(test))
	set := filepath.Join(dir, "test_data_set_0")
	ins, _, err := readTensors(set, "input")
	if err != nil {
		c.skip = skipInterp + "reading inputs: " + err.Error()
		return
	}
	wants, _, err := readTensors(set, "output")
	if err != nil {
		c.skip = skipInterp + "reading outputs: " + err.Error()
		return
	}
	// The interpreter's verdict, on the graph as decoded.
	g0, err := frontend.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		c.skip = skipInterp + "load: " + err.Error()
		return
	}
	if len(ins) > len(g0.Inputs) || len(wants) != len(g0.Outputs) {
		c.skip = skipInterp + fmt.Sprintf("test data has %d inputs and %d outputs, graph has %d and %d", len(ins), len(wants), len(g0.Inputs), len(g0.Outputs))
		return
	}
	inputs := map[string]*ir.Tensor{}
	for i, t := range ins {
		inputs[g0.Inputs[i].Name] = bf16Bits(t, g0.Inputs[i].Type.DType)
	}
	for i, o := range g0.Outputs {
		wants[i] = bf16Bits(wants[i], o.Type.DType)
	}
	ref, err := interp.Run(g0, inputs)
	if err != nil {
		c.skip = skipInterp + err.Error()
		return
	}
	for i, o := range g0.Outputs {
		t := ref[o.Name]
		if t == nil {
			c.skip = skipInterp + fmt.Sprintf("output %q missing", o.Name)
			return
		}
		if err := Compare(t, wants[i], ToleranceFor(test, wants[i].DType)); err != nil {
			c.skip = skipInterp + fmt.Sprintf("output %q: %v", o.Name, err)
			return
		}
	}

	// The graph the compiler sees: input dims bound to the test data's
	// shapes, then the default pipeline.
	g, err := frontend.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		c.fail = "load: " + err.Error()
		return
	}
	bind := map[string][]int64{}
	for i, t := range ins {
		if v := g.Inputs[i]; !v.Type.Ranked || !v.Type.Shape.Static() {
			bind[v.Name] = t.Shape
		}
	}
	if len(bind) > 0 {
		if err := ir.BindShapes(g, bind); err != nil {
			c.fail = "binding input shapes from the test data: " + err.Error()
			return
		}
	}
	freezeShapeOperands(g, inputs)
	if err := ir.InferShapes(g); err != nil {
		c.fail = "shape inference: " + err.Error()
		return
	}
	p, err := passes.ParsePipeline(passes.DefaultPipeline)
	if err != nil {
		c.fail = "pipeline: " + err.Error()
		return
	}
	if err := passes.Run(g, p, passes.Options{}); err != nil {
		c.fail = "default pipeline: " + err.Error()
		return
	}
	if v := firstDynamic(g); v != "" {
		c.skip = skipDynamic + v + " has no static shape after the default pipeline"
		return
	}
	for _, n := range g.Nodes {
		if !valueShaped[n.Op] {
			continue
		}
		for _, in := range n.Inputs {
			if in != nil && !in.IsConst() {
				c.skip = skipDynamic + fmt.Sprintf("the output shape of %s depends on the values of input %q", n, in.Name)
				return
			}
		}
	}
	for _, v := range g.Values() {
		if v.Type.DType == ir.String {
			c.skip = skipStrings + fmt.Sprintf("value %q is a string tensor; compiled models take and produce numeric buffers only (the interpreter runs string ops)", v.Name)
			return
		}
	}
	// Inputs the test data leaves out (optional inputs) have no value to
	// feed a compiled model.
	for _, v := range g.Inputs {
		if _, ok := inputs[v.Name]; !ok {
			c.skip = skipDynamic + fmt.Sprintf("input %q has no test data", v.Name)
			return
		}
	}
	var missing []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		op := n.Op
		if n.Domain != "" {
			op = n.Domain + "." + n.Op
		}
		if (n.Domain != "" || !llvmgen.Supported(n.Op)) && !seen[op] {
			seen[op] = true
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		c.fail = "no kernel for " + strings.Join(missing, ", ")
		return
	}
	// Unique names, so that tests merge into one batch graph; errors
	// naming a node then say which test it belongs to.
	c.inputs = map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		c.inputs[c.prefix+v.Name] = inputs[v.Name]
	}
	for _, v := range g.Values() {
		v.Name = c.prefix + v.Name
	}
	for _, n := range g.Nodes {
		n.Name = c.prefix + n.Name
	}
	c.g, c.wants = g, wants
	c.class = GraphClass(g)
	// The table cannot be stricter than the reference data itself: where
	// the interpreter (which accumulates in float64) is further from the
	// expected output than the class allows, the data was computed with a
	// different formula or precision, and the output keeps the
	// interpreter's tolerance.
	for i, o := range g0.Outputs {
		tol := CompiledToleranceFor(c.class, wants[i].DType)
		if Compare(ref[o.Name], wants[i], tol) != nil {
			tol = ToleranceFor(test, wants[i].DType)
			c.widen = append(c.widen, o.Name)
		}
		c.tols = append(c.tols, tol)
	}
}

// shapeOperands lists, per op, the inputs that decide the output's shape or
// the kernel's structure (axes, target shapes, pads, counts, sizes) rather
// than carrying data.
var shapeOperands = map[string][]int{
	"ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1}, "ReduceL1": {1},
	"ReduceL2": {1}, "ReduceLogSum": {1}, "ReduceLogSumExp": {1}, "ReduceSumSquare": {1},
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1, 3}, "Squeeze": {1},
	"Unsqueeze": {1}, "Split": {1}, "TopK": {1}, "Resize": {1, 2, 3}, "ConstantOfShape": {0}, "Range": {0, 1, 2},
	"OneHot": {1}, "CenterCropPad": {1}, "CumSum": {1}, "Trilu": {1}, "Compress": {1}, "Dropout": {1, 2},
	"Col2Im": {1, 2}, "MaxUnpool": {2}, "DFT": {1, 2}, "STFT": {1, 3}, "BlackmanWindow": {0},
	"HannWindow": {0}, "HammingWindow": {0}, "MelWeightMatrix": {0, 1, 2, 3, 4},
}

// valueShaped lists the ops whose output shape depends on the values of
// their data inputs (how many elements are non-zero, unique or selected):
// ONNX shape inference gives them a symbolic dim, and a test model's
// declared output shape only holds for its own data.
var valueShaped = map[string]bool{"NonZero": true, "Unique": true, "NonMaxSuppression": true}

// skipStrings is the skip reason of graphs with string tensors.
const skipStrings = "strings: "

// freezeShapeOperands turns graph inputs that feed a shape operand into
// constants holding the test data's value. ONNX tests feed axes, target
// shapes and pads as inputs so that one model covers several values; a
// compiled model fixes them at compile time, as exported models do with
// initializers. The data inputs stay inputs.
func freezeShapeOperands(g *ir.Graph, inputs map[string]*ir.Tensor) {
	freeze := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		for _, i := range shapeOperands[n.Op] {
			if v := n.Input(i); v != nil && v.Producer == nil && v.Const == nil && inputs[v.Name] != nil {
				freeze[v] = true
			}
		}
	}
	if len(freeze) == 0 {
		return
	}
	var keep []*ir.Value
	for _, v := range g.Inputs {
		if freeze[v] {
			v.Const = inputs[v.Name]
			g.Consts = append(g.Consts, v)
			continue
		}
		keep = append(keep, v)
	}
	g.Inputs = keep
}

// firstDynamic names the first value of g whose type is not static, or "".
func firstDynamic(g *ir.Graph) string {
	check := func(v *ir.Value) bool { return v == nil || v.Type.Ranked && v.Type.Shape.Static() }
	for _, v := range g.Inputs {
		if !check(v) {
			return fmt.Sprintf("input %q (%s)", v.Name, v.Type)
		}
	}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if !check(v) {
				return fmt.Sprintf("%s output %q (%s)", n, v.Name, v.Type)
			}
		}
	}
	return ""
}

// runCompiled compiles and runs the prepared case on e and compares the
// outputs. crash reports a failure of the artifact itself (a signal, a
// wasm trap) as opposed to a wrong result or a compile error.
func runCompiled(c *compiledCase, e *engine.Engine) (err error, crash bool) {
	got, err := e.Run(c.g, c.inputs)
	if err != nil {
		msg := err.Error()
		crash = strings.Contains(msg, "signal: ") || strings.Contains(msg, "wasm error: ") || strings.Contains(msg, "core dumped")
		return fmt.Errorf("run: %w", err), crash
	}
	return compareOutputs(c, got), false
}

// compareOutputs checks c's outputs in got (which may hold other tests'
// outputs too) against the expected ones.
func compareOutputs(c *compiledCase, got map[string]*ir.Tensor) error {
	for i, o := range c.g.Outputs {
		t := got[o.Name]
		if t == nil {
			return fmt.Errorf("output %d %q missing from the engine's results", i, strings.TrimPrefix(o.Name, c.prefix))
		}
		if err := Compare(t, c.wants[i], c.tols[i]); err != nil {
			return fmt.Errorf("output %d %q (%s tolerance): %w", i, strings.TrimPrefix(o.Name, c.prefix), c.class, err)
		}
	}
	return nil
}

// TestConformanceCompiled runs the ONNX backend tests through
// backend/engine for each compiled target: one subtest per target and test,
// e.g. go test ./tests/onnx -run TestConformanceCompiled/x86_64/node/test_relu.
//
// A test is skipped when it is in Skips, when the interpreter does not pass
// it, when its graph has no static shapes after binding the input dims to
// the test data's shapes and running the default pipeline ("dynamic",
// counted separately; this includes NonZero, Unique and NonMaxSuppression
// on non-constant inputs, whose output shape depends on the data), or when
// it has string tensors, which the compiled C ABI does not carry. Graph
// inputs that feed shape operands (axes, target shapes, pads, ...) are
// frozen to the test data's values first (freezeShapeOperands). Every other test compiles and runs; a node without
// a kernel fails it with "no kernel for <op>". Outputs are compared with
// CompiledTolerance (tolerances_compiled.go).
//
// Compiling every test alone costs opt, llc, the C compiler and a process
// (or a wasm instantiation) per test, about a second each on two cores; so
// the selected tests are merged into batches of up to batchSize disjoint
// graphs (names prefixed per test), each compiled and run once. A batch
// that fails to build or crashes is split until the failing tests are
// alone, and a test whose output mismatches inside a batch is re-run alone
// before it counts as failed, so every failure is a single test's.
//
// Each target prints "engine T: N passed, N failed, N skipped" and the bar:
// passed / (passed + failed), the share of the tests the interpreter passes
// with static shapes. The bar is 95%; every kernel is in, so the test
// holds the line where it is and fails on any failure (logged grouped by
// cause), as the interpreter's conformance test does. EFFC_CONFORMANCE_REPORT=path
// writes each target's report to path.<target>; EFFC_CONFORMANCE_BATCH=n
// sets the batch size (1 compiles every test alone).
func TestConformanceCompiled(t *testing.T) {
	root := testdataRoot()
	tests, err := Tests(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Skipf("no ONNX test data under %s (install libonnx-testdata or set EFFC_ONNX_TESTDATA)", root)
	}
	batch := batchSize
	if s := os.Getenv("EFFC_CONFORMANCE_BATCH"); s != "" {
		if _, err := fmt.Sscan(s, &batch); err != nil || batch < 1 {
			t.Fatalf("EFFC_CONFORMANCE_BATCH=%q: want a positive integer", s)
		}
	}
	cases := map[string]*compiledCase{}
	for i, name := range tests {
		cases[name] = &compiledCase{name: name, prefix: fmt.Sprintf("t%d_", i)}
	}
	for _, tname := range compiledTargets {
		t.Run(tname, func(t *testing.T) {
			spec, err := target.Load(tname)
			if err != nil {
				t.Fatal(err)
			}
			e := &engine.Engine{Spec: spec}
			start := time.Now()
			var sel []string
			for _, name := range tests {
				if selected(t.Name() + "/" + name) {
					sel = append(sel, name)
				}
			}
			forEach(len(sel), compiledWorkers, func(i int) {
				c := cases[sel[i]]
				c.once.Do(func() { c.prepare(root, sel[i]) })
			})
			var todo []*compiledCase
			for _, name := range sel {
				if c := cases[name]; c.skip == "" && c.fail == "" {
					todo = append(todo, c)
				}
			}
			var batches [][]*compiledCase
			for i := 0; i < len(todo); i += batch {
				batches = append(batches, todo[i:min(i+batch, len(todo))])
			}
			var mu sync.Mutex
			outcomes := map[*compiledCase]outcome{}
			var st batchStats
			forEach(len(batches), compiledWorkers, func(i int) {
				var local batchStats
				r := runBatch(e, batches[i], &local)
				mu.Lock()
				defer mu.Unlock()
				for c, o := range r {
					outcomes[c] = o
				}
				st.builds += local.builds
				st.busy += local.busy
			})
			rep := Report{Engine: tname}
			for _, name := range sel {
				c := cases[name]
				res := Result{Test: name}
				o := outcomes[c]
				switch {
				case c.skip != "":
					res.Status, res.Detail = Skipped, c.skip
				case c.fail != "":
					res.Status, res.Detail = Failed, c.fail
					o.crash = strings.HasPrefix(c.fail, "panic")
				case o.err != nil:
					res.Status, res.Detail = Failed, o.err.Error()
				default:
					res.Status = Passed
				}
				full := res.Detail // a panic's stack stays out of the report
				res.Detail, _, _ = strings.Cut(res.Detail, "\n")
				rep.Results = append(rep.Results, res)
				t.Run(name, func(t *testing.T) {
					switch {
					case res.Status == Skipped:
						t.Skip(res.Detail)
					case o.crash:
						t.Error("crash: " + full)
					case res.Status == Failed:
						t.Log("FAIL: " + res.Detail)
					}
				})
			}
			st.compiled = len(todo)
			for _, c := range todo {
				if len(c.widen) > 0 {
					st.widened = append(st.widened, c.name)
				}
			}
			reportCompiled(t, rep, time.Since(start), st)
		})
	}
}

// batchSize is how many tests share one compiled artifact by default.
const batchSize = 32

// outcome is one test's compiled result.
type outcome struct {
	err   error
	crash bool
}

// batchStats counts the builds (compile + run) of a target's run.
type batchStats struct {
	compiled int           // tests that were compiled
	builds   int           // artifacts built: batches plus tests re-run alone
	busy     time.Duration // time spent building and running, summed over workers
	widened  []string      // tests compared at the interpreter's tolerance (see compiledCase.prepare)
}

// forEach calls f(0..n-1) on workers goroutines and waits for them.
func forEach(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// caseRe finds the test prefix in an error that names a node or value.
var caseRe = regexp.MustCompile(`"(t\d+_)`)

// runBatch compiles cases as one graph and runs it, falling back to
// smaller batches and single tests as described on TestConformanceCompiled.
func runBatch(e *engine.Engine, cases []*compiledCase, st *batchStats) map[*compiledCase]outcome {
	out := map[*compiledCase]outcome{}
	solo := func(c *compiledCase) {
		t0 := time.Now()
		err, crash := safeRun(c, e)
		st.builds++
		st.busy += time.Since(t0)
		out[c] = outcome{err, crash}
	}
	if len(cases) == 1 {
		solo(cases[0])
		return out
	}
	g := &ir.Graph{Name: "conformance_batch", IRVersion: cases[0].g.IRVersion, Opsets: cases[0].g.Opsets}
	inputs := map[string]*ir.Tensor{}
	for _, c := range cases {
		g.Inputs = append(g.Inputs, c.g.Inputs...)
		g.Outputs = append(g.Outputs, c.g.Outputs...)
		g.Consts = append(g.Consts, c.g.Consts...)
		g.Nodes = append(g.Nodes, c.g.Nodes...)
		for k, v := range c.inputs {
			inputs[k] = v
		}
	}
	t0 := time.Now()
	got, err := safeEngineRun(e, g, inputs)
	st.builds++
	st.busy += time.Since(t0)
	if err != nil {
		// Tests the error names run alone; without a name, bisect.
		named := map[string]bool{}
		for _, m := range caseRe.FindAllStringSubmatch(err.Error(), -1) {
			named[m[1]] = true
		}
		var rest []*compiledCase
		for _, c := range cases {
			if named[c.prefix] {
				solo(c)
			} else {
				rest = append(rest, c)
			}
		}
		if len(rest) == len(cases) {
			h := len(cases) / 2
			for c, o := range runBatch(e, cases[:h], st) {
				out[c] = o
			}
			rest = cases[h:]
		}
		if len(rest) > 0 {
			for c, o := range runBatch(e, rest, st) {
				out[c] = o
			}
		}
		return out
	}
	for _, c := range cases {
		if compareOutputs(c, got) != nil {
			solo(c) // the verdict of a mismatch comes from the test alone
		} else {
			out[c] = outcome{}
		}
	}
	return out
}

// safeEngineRun is e.Run with a panic turned into an error.
func safeEngineRun(e *engine.Engine, g *ir.Graph, inputs map[string]*ir.Tensor) (got map[string]*ir.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return e.Run(g, inputs)
}

// selected reports whether the go test -run and -skip patterns select the
// test named name ("TestConformanceCompiled/x86_64/node/test_relu"), the
// way the testing package matches subtest names: the patterns and the name
// are split at '/', and each pattern element must match the name element
// at its position.
func selected(name string) bool {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" && !matchPattern(f.Value.String(), name, false) {
		return false
	}
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" && matchPattern(f.Value.String(), name, true) {
		return false
	}
	return true
}

// matchPattern matches a -run (full false) or -skip (full true) pattern
// against a test name; -skip needs every pattern element to be present.
func matchPattern(pattern, name string, full bool) bool {
	elems := strings.Split(name, "/")
	parts := splitPattern(pattern)
	if full && len(parts) > len(elems) {
		return false
	}
	for i, p := range parts {
		if i >= len(elems) {
			break
		}
		re, err := regexp.Compile(p)
		if err != nil || !re.MatchString(elems[i]) {
			return false
		}
	}
	return true
}

// splitPattern splits a -run pattern at the slashes outside brackets and
// parentheses, as the testing package does.
func splitPattern(p string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '\\':
			i++
		case '/':
			if depth == 0 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, p[start:])
}

// safeRun is runCompiled with a panic turned into a crash.
func safeRun(c *compiledCase, e *engine.Engine) (err error, crash bool) {
	defer func() {
		if r := recover(); r != nil {
			err, crash = fmt.Errorf("panic: %v\n%s", r, debug.Stack()), true
		}
	}()
	return runCompiled(c, e)
}

// reportCompiled prints a target's summary and bar, logs the failures by
// cause, and fails t on any failure (and, to say so, below the 95% bar).
func reportCompiled(t *testing.T, rep Report, wall time.Duration, st batchStats) {
	passed, failed := rep.Count(Passed), rep.Count(Failed)
	dynamic, interpSkip, str := 0, 0, 0
	for _, r := range rep.Results {
		switch {
		case r.Status != Skipped:
		case strings.HasPrefix(r.Detail, skipDynamic):
			dynamic++
		case strings.HasPrefix(r.Detail, skipStrings):
			str++
		case strings.HasPrefix(r.Detail, skipInterp):
			interpSkip++
		}
	}
	summary := fmt.Sprintf("engine %s: %s (%d dynamic, %d with strings, %d not passed by the interpreter, %d in Skips)",
		rep.Engine, rep.Summary(), dynamic, str, interpSkip, rep.Count(Skipped)-dynamic-str-interpSkip)
	bar := "bar: no test compiled"
	pct := 0.0
	if n := passed + failed; n > 0 {
		pct = float64(passed) / float64(n)
		bar = fmt.Sprintf("bar: %d/%d = %.1f%% of the tests the interpreter passes with static shapes (need %.0f%%)", passed, n, 100*pct, 100*compiledBar)
	}
	timing := fmt.Sprintf("time: %s wall; %d tests compiled in %d builds taking %s in total (%.2fs per test)",
		wall.Round(time.Second), st.compiled, st.builds, st.busy.Round(time.Second), seconds(st.busy, st.compiled))
	widened := fmt.Sprintf("tolerance: %d compiled tests kept the interpreter's tolerance because the reference data is further than their class bound from the interpreter's float64 result", len(st.widened))
	for _, line := range []string{summary, bar, timing, widened} {
		fmt.Println(line)
		t.Log(line)
	}
	if len(st.widened) > 0 {
		t.Logf("%s: %s", rep.Engine, strings.Join(st.widened, " "))
	}
	groups := Group(rep)
	causes := make([]string, 0, len(groups))
	for c := range groups {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(groups[causes[i]]) != len(groups[causes[j]]) {
			return len(groups[causes[i]]) > len(groups[causes[j]])
		}
		return causes[i] < causes[j]
	})
	var b strings.Builder
	for _, c := range causes {
		fmt.Fprintf(&b, "%4d  %s\n      %s\n", len(groups[c]), c, strings.Join(groups[c], " "))
	}
	if b.Len() > 0 {
		t.Logf("%s failures by cause:\n%s", rep.Engine, b.String())
	}
	if path := os.Getenv("EFFC_CONFORMANCE_REPORT"); path != "" {
		if err := writeReport(path+"."+rep.Engine, rep); err != nil {
			t.Errorf("writing conformance report: %v", err)
		}
	}
	if passed+failed > 0 && pct < compiledBar {
		t.Errorf("%s: %.1f%% < %.0f%% of the tests the interpreter passes with static shapes", rep.Engine, 100*pct, 100*compiledBar)
	}
	if failed > 0 {
		t.Errorf("%s: %d compiled conformance tests failed (see the grouped causes above)", rep.Engine, failed)
	}
}

func seconds(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return d.Seconds() / float64(n)
}

// TestCompiledBatchIsolatesFailures runs four tests as one batch with the
// expected output of one of them corrupted: that one, and only that one,
// must fail, with its verdict from a build of its own.
func TestCompiledBatchIsolatesFailures(t *testing.T) {
	root := testdataRoot()
	if tests, _ := Tests(root); len(tests) == 0 {
		t.Skip("no ONNX test data")
	}
	names := []string{"node/test_relu", "node/test_add", "node/test_transpose_default", "node/test_concat_2d_axis_0"}
	var cases []*compiledCase
	for i, name := range names {
		c := &compiledCase{name: name, prefix: fmt.Sprintf("t%d_", i)}
		c.prepare(root, name)
		if c.skip != "" || c.fail != "" {
			t.Skipf("%s does not compile here: %s%s", name, c.skip, c.fail)
		}
		cases = append(cases, c)
	}
	bad := cases[2]
	w := bad.wants[0].Clone()
	w.Data.([]float32)[0] += 1
	bad.wants[0] = w
	spec, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	var st batchStats
	out := runBatch(&engine.Engine{Spec: spec}, cases, &st)
	for i, c := range cases {
		o, ok := out[c]
		switch {
		case !ok:
			t.Errorf("%s: no outcome", names[i])
		case c == bad && (o.err == nil || !strings.Contains(o.err.Error(), "1 of")):
			t.Errorf("%s with a corrupted expected output: %v, want one differing element", names[i], o.err)
		case c != bad && o.err != nil:
			t.Errorf("%s: %v", names[i], o.err)
		}
	}
	if st.builds != 2 {
		t.Errorf("%d builds, want 2 (the batch, then the mismatching test alone)", st.builds)
	}
}

func TestSelected(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"TestConformanceCompiled/x86_64/node/test_relu", "TestConformanceCompiled/x86_64/node/test_relu", true},
		{"TestConformanceCompiled/x86_64/node/test_relu", "TestConformanceCompiled/arm64/node/test_relu", false},
		{"TestConformanceCompiled/x86_64", "TestConformanceCompiled/x86_64/simple/test_x", true},
		{"TestConformanceCompiled/(x86|arm)/node/test_(add|sub)$", "TestConformanceCompiled/arm64/node/test_sub", true},
		{"TestConformanceCompiled/(x86|arm)/node/test_(add|sub)$", "TestConformanceCompiled/arm64/node/test_sub_bcast", false},
	} {
		if got := matchPattern(c.pattern, c.name, false); got != c.want {
			t.Errorf("%q on %q: %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if matchPattern("TestConformanceCompiled/x86_64/node", "TestConformanceCompiled/x86_64", true) {
		t.Error("a -skip pattern longer than the name matched it")
	}
}
