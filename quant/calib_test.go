package quant

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

const (
	digits  = "../testdata/digits/digits.onnx"
	digitsX = "../testdata/digits/test_x.npy"
)

func loadDigits(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := frontend.Load(digits)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// floatValues names the graph's float inputs and node outputs.
func floatValues(g *ir.Graph) []string {
	var names []string
	for _, v := range g.Values() {
		if !v.IsConst() && v.Type.DType.IsFloat() {
			names = append(names, v.Name)
		}
	}
	return names
}

func TestCalibrateDigits(t *testing.T) {
	g := loadDigits(t)
	src, err := OpenCalib(digitsX, g, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var progress bytes.Buffer
	tab, err := Calibrate(context.Background(), g, src, Options{MaxSamples: 200, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	// 12 batches of 16, then the 13th cut to 8 samples.
	if tab.Samples != 200 || tab.Batches != 13 {
		t.Errorf("%d samples in %d batches, want 200 in 13", tab.Samples, tab.Batches)
	}
	want := floatValues(g)
	if got := tab.Names(); len(got) != len(want) || len(got) < 10 {
		t.Errorf("calibrated %d values %v, want the %d float values %v", len(got), got, len(want), want)
	}
	if p := progress.String(); !strings.HasPrefix(p, "calibrated ") || !strings.Contains(p, " on 200 samples in ") || strings.Count(p, "\n") != 1 {
		t.Errorf("progress to a buffer: %q, want one summary line", p)
	}

	// Brute force: the first 200 images in one batch, keeping every
	// activation, then min and max over all of them.
	x, err := npy.Read(digitsX)
	if err != nil {
		t.Fatal(err)
	}
	x200 := ir.FromFloat32([]int64{200, 1, 8, 8}, x.Data.([]float32)[:200*64])
	kept := map[string]*ir.Tensor{}
	_, err = interp.RunWith(g, map[string]*ir.Tensor{"image": x200}, interp.RunOptions{
		Observe: func(v *ir.Value, t *ir.Tensor) error { kept[v.Name] = t.Clone(); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	relu := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Op == "Relu" {
			relu[n.Outputs[0].Name] = true
		}
	}
	if len(relu) == 0 {
		t.Fatal("the digits model has no Relu nodes")
	}
	// Batch sizes 16 and 200 may sum GEMMs in different orders.
	const tol = 1e-5
	for _, name := range want {
		s := tab.Stats[name]
		all := kept[name].Data.([]float32)
		lo, hi := all[0], all[0]
		for _, v := range all {
			lo, hi = min(lo, v), max(hi, v)
		}
		count := int64(len(all)) // once per sample, or once per batch without a batch axis
		if sh := kept[name].Shape; len(sh) == 0 || sh[0] != 200 {
			count *= int64(tab.Batches)
		}
		if s.Count != count || s.NonFinite != 0 ||
			math.Abs(float64(s.Min-lo)) > tol*max(1, math.Abs(float64(lo))) ||
			math.Abs(float64(s.Max-hi)) > tol*max(1, math.Abs(float64(hi))) {
			t.Errorf("%s: %d values in [%g, %g], brute force %d in [%g, %g]", name, s.Count, s.Min, s.Max, count, lo, hi)
		}
		for _, o := range []RangeOptions{{Method: MinMax}, {Method: Percentile}, {Method: Percentile, Symmetric: true}, {Method: Entropy}} {
			r, err := s.Range(o)
			if err != nil {
				t.Fatal(err)
			}
			if !isFinite(r.Min) || !isFinite(r.Max) || r.Min > r.Max || r.Min < s.Min || r.Max > s.Max {
				t.Errorf("%s: %v range %v is not a finite sub-range of [%g, %g]", name, o.Method, r, s.Min, s.Max)
			}
			if name == "image" && (r.Min < 0 || r.Max > 1) {
				t.Errorf("image: %v range %v, want within [0, 1]", o.Method, r)
			}
			if relu[name] && r.Min < 0 {
				t.Errorf("%s (Relu): %v range %v, want Min >= 0", name, o.Method, r)
			}
		}
	}
}

func TestCalibrateValuesAndCancel(t *testing.T) {
	g := loadDigits(t)
	first := g.Nodes[0].Outputs[0].Name
	open := func() *NPYSource {
		src, err := OpenCalib(digitsX, g, 32)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	tab, err := Calibrate(context.Background(), g, open(), Options{Values: []string{"image", first}, MaxSamples: 64, Bins: 256})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Names(); !reflect.DeepEqual(got, []string{first, "image"}) && !reflect.DeepEqual(got, []string{"image", first}) {
		t.Errorf("calibrated %v, want only image and %s", got, first)
	}
	if n := len(tab.Stats["image"].Hist.Pos); n != 256 {
		t.Errorf("%d bins, want 256", n)
	}
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Values: []string{"nope"}}, `value "nope" is not in the graph`},
		{Options{Values: []string{"fc.weight"}}, `value "fc.weight" is a constant`},
		{Options{Bins: 7}, "7 histogram bins"},
		{Options{MaxSamples: -1}, "MaxSamples is -1"},
	} {
		if _, err := Calibrate(context.Background(), g, open(), c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Calibrate(%+v): %v, want an error containing %q", c.opts, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Calibrate(ctx, g, open(), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v, want context.Canceled", err)
	}
	// Canceled in the middle of a batch, by the observer.
	ctx, cancel = context.WithCancel(context.Background())
	src := &funcSource{next: func() (map[string]*ir.Tensor, error) {
		b, err := open().Next()
		cancel()
		return b, err
	}}
	if _, err := Calibrate(ctx, g, src, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled during a batch: %v, want context.Canceled", err)
	}
}

// funcSource is a BatchSource made of a function.
type funcSource struct {
	next func() (map[string]*ir.Tensor, error)
}

func (s *funcSource) Next() (map[string]*ir.Tensor, error) { return s.next() }

// reluGraph is y = Relu(x), x: f32[batch,3].
func reluGraph(batch ir.Dim) *ir.Graph {
	typ := ir.TensorType(ir.Float32, ir.Shape{batch, ir.D(3)})
	x := &ir.Value{Name: "x", Type: typ}
	n := &ir.Node{Name: "relu", Op: "Relu", Inputs: []*ir.Value{x}}
	y := &ir.Value{Name: "y", Type: typ, Producer: n}
	n.Outputs = []*ir.Value{y}
	return &ir.Graph{Name: "relu", Opsets: map[string]int64{"": ir.CanonicalOpset},
		Inputs: []*ir.Value{x}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{n}}
}

// addGraph is y = a + b, a and b: f32[N,3].
func addGraph() *ir.Graph {
	typ := ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3)})
	a, b := &ir.Value{Name: "a", Type: typ}, &ir.Value{Name: "b", Type: typ}
	n := &ir.Node{Name: "add", Op: "Add", Inputs: []*ir.Value{a, b}}
	y := &ir.Value{Name: "y", Type: typ, Producer: n}
	n.Outputs = []*ir.Value{y}
	return &ir.Graph{Name: "add", Opsets: map[string]int64{"": ir.CanonicalOpset},
		Inputs: []*ir.Value{a, b}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{n}}
}

// save writes a float32 array of the given shape holding start, start+1, …
func save(t *testing.T, path string, start float32, shape ...int64) {
	t.Helper()
	d := make([]float32, ir.NumElements(shape))
	for i := range d {
		d[i] = start + float32(i)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(path, ir.FromFloat32(shape, d)); err != nil {
		t.Fatal(err)
	}
}

// shapes drains src and returns each batch's shape per input.
func shapes(t *testing.T, src BatchSource) []map[string][]int64 {
	t.Helper()
	var out []map[string][]int64
	for {
		b, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]int64{}
		for name, x := range b {
			m[name] = x.Shape
		}
		out = append(out, m)
	}
}

func TestOpenCalibFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.npy")
	save(t, file, -5, 10, 3)

	// A dynamic batch: batches of 4, 4 and 2.
	src, err := OpenCalib(file, reluGraph(ir.Sym("N")), 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := shapes(t, src); src.Samples() != 10 || !reflect.DeepEqual(got, []map[string][]int64{{"x": {4, 3}}, {"x": {4, 3}}, {"x": {2, 3}}}) {
		t.Errorf("dynamic batch: %d samples, batches %v", src.Samples(), got)
	}
	src.Close()

	// A fixed batch of 4: two batches, the last 2 samples dropped; with
	// MaxSamples 6 only one whole batch runs, with 3 none can.
	g := reluGraph(ir.D(4))
	open := func() *NPYSource {
		src, err := OpenCalib(file, g, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	if src := open(); src.Samples() != 8 || len(shapes(t, src)) != 2 {
		t.Errorf("fixed batch: %d samples, want 8 in 2 batches", src.Samples())
	}
	tab, err := Calibrate(context.Background(), g, open(), Options{MaxSamples: 6})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch holds -5 … 6; Relu clamps it to [0, 6].
	if tab.Samples != 4 || tab.Stats["x"].MinMax() != (Range{-5, 6}) || tab.Stats["y"].MinMax() != (Range{0, 6}) {
		t.Errorf("MaxSamples 6, batch 4: %d samples, x %v, y %v", tab.Samples, tab.Stats["x"].MinMax(), tab.Stats["y"].MinMax())
	}
	if _, err := Calibrate(context.Background(), g, open(), Options{MaxSamples: 3}); err == nil || !strings.Contains(err.Error(), "below the model's batch size 4") {
		t.Errorf("MaxSamples 3, batch 4: %v", err)
	}

	for _, c := range []struct {
		g     *ir.Graph
		batch int
		want  string
	}{
		{g, 3, "fixed batch size of 4"},
		{addGraph(), 0, `one .npy file for a model with 2 inputs ("a", "b")`},
		{reluGraph(ir.D(4)), -1, "batch size -1"},
		{reluGraph(ir.D(16)), 0, `10 samples, fewer than input "x"'s fixed batch size of 16`},
	} {
		if _, err := OpenCalib(file, c.g, c.batch); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenCalib(batch %d): %v, want an error containing %q", c.batch, err, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.npy")
	save(t, bad, 0, 10, 4)
	if _, err := OpenCalib(bad, g, 0); err == nil || !strings.Contains(err.Error(), `does not match input "x"`) {
		t.Errorf("wrong shape: %v", err)
	}
	if err := npy.Write(bad, ir.FromInt64([]int64{2, 3}, make([]int64, 6))); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCalib(bad, g, 0); err == nil || !strings.Contains(err.Error(), "dtype i64, but input \"x\" is f32[4,3]") {
		t.Errorf("wrong dtype: %v", err)
	}
}

func TestOpenCalibDir(t *testing.T) {
	// One input: a batch file, a sample file (one rank less), and a file
	// that is not .npy; then the same in a sub-directory named after the
	// input.
	g := reluGraph(ir.Sym("N"))
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "x")} {
		save(t, filepath.Join(dir, "00.npy"), 0, 2, 3)
		save(t, filepath.Join(dir, "01.npy"), 0, 3)
		if err := os.WriteFile(filepath.Join(dir, "README"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenCalib(strings.TrimSuffix(dir, string(filepath.Separator)+"x"), g, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes(t, src); src.Samples() != 3 || !reflect.DeepEqual(got, []map[string][]int64{{"x": {2, 3}}, {"x": {1, 3}}}) {
			t.Errorf("%s: %d samples, batches %v", dir, src.Samples(), got)
		}
	}

	// Two inputs: a sub-directory each, batch k from the k-th files.
	dir := t.TempDir()
	save(t, filepath.Join(dir, "a", "0.npy"), 0, 2, 3)   // 0 … 5
	save(t, filepath.Join(dir, "b", "0.npy"), 10, 2, 3)  // 10 … 15
	save(t, filepath.Join(dir, "a", "1.npy"), -9, 3)     // -9 … -7
	save(t, filepath.Join(dir, "b", "1.npy"), 100, 1, 3) // 100 … 102
	g = addGraph()
	src, err := OpenCalib(dir, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Calibrate(context.Background(), g, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// y: 10 … 20 from batch 1, 91 … 95 from batch 2.
	if tab.Samples != 3 || tab.Batches != 2 || tab.Stats["a"].MinMax() != (Range{-9, 5}) || tab.Stats["y"].MinMax() != (Range{10, 95}) {
		t.Errorf("%d samples in %d batches; a %v, y %v", tab.Samples, tab.Batches, tab.Stats["a"].MinMax(), tab.Stats["y"].MinMax())
	}

	save(t, filepath.Join(dir, "a", "2.npy"), 0, 3)
	empty := t.TempDir()
	wrong := t.TempDir()
	save(t, filepath.Join(wrong, "0.npy"), 0, 2, 4)
	for _, c := range []struct {
		dir  string
		g    *ir.Graph
		want string
	}{
		{dir, g, `2 files for input "b" but 3 for "a"`},
		{empty, g, "a sub-directory of .npy files per input"},
		{empty, reluGraph(ir.Sym("N")), `no .npy files for input "x"`},
		{wrong, reluGraph(ir.Sym("N")), `0.npy: shape [2 4] does not match input "x"`},
		{wrong, reluGraph(ir.D(1)), `0.npy: shape [2 4] does not match input "x"`},
	} {
		if _, err := OpenCalib(c.dir, c.g, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenCalib(%s): %v, want an error containing %q", c.dir, err, c.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := &progress{w: &buf, tty: true, total: 200, now: func() time.Time { return clock }}
	p.start = clock
	for done := 10; done <= 200; done += 10 {
		clock = clock.Add(50 * time.Millisecond) // 200 samples/s
		p.update(done)
	}
	p.finish(200, 5)
	out := buf.String()
	// Redrawn every 100 ms (10 times), once more at the end, plus the
	// final state by finish.
	if n := strings.Count(out, "\r"); n != 12 {
		t.Errorf("%d redraws, want 12:\n%q", n, out)
	}
	last := out[strings.LastIndex(out, "\r"):]
	if want := "\rcalibrating [" + strings.Repeat("=", barWidth) + "] 200/200 samples  200.0 samples/s\x1b[K\n"; last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if !strings.Contains(out, "["+strings.Repeat("=", 16)+strings.Repeat(" ", barWidth-16)+"] 110/200 samples") {
		t.Errorf("no bar at 110/200 in %q", out)
	}

	buf.Reset()
	p = &progress{w: &buf, tty: true, total: -1, now: func() time.Time { return clock }}
	p.draw(7)
	if got := buf.String(); got != "\rcalibrating 7 samples  0.0 samples/s\x1b[K" {
		t.Errorf("without a total: %q", got)
	}
	p.close() // after draw without finish: ends the line once
	p.close()
	if got := buf.String(); got != "\rcalibrating 7 samples  0.0 samples/s\x1b[K\n" {
		t.Errorf("closed without finishing: %q", got)
	}
	if isTerminal(&buf) {
		t.Error("a bytes.Buffer is a terminal")
	}
}
