package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// TestQuantizeAveragePool checks the QDQ form on Conv → AveragePool →
// Relu → Conv → GlobalAveragePool → Flatten: each pool's output gets a
// pair from its calibrated range (the AveragePool's after the Relu, which
// it absorbs), Flatten reuses its input's pair, the report lists no float
// op, and the default pipeline turns the pools into
// effc.QLinearAveragePool and effc.QLinearGlobalAveragePool and the
// Flatten into one on integers.
func TestQuantizeAveragePool(t *testing.T) {
	g := &ir.Graph{Name: "t", Opsets: map[string]int64{"": ir.CanonicalOpset}}
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.ShapeOf(1, 1, 4, 4))}
	g.Inputs = []*ir.Value{x}
	node := func(op string, attrs map[string]*ir.Attr, ins ...*ir.Value) *ir.Value {
		n := &ir.Node{Name: op + "_" + string(rune('0'+len(g.Nodes))), Op: op, Inputs: ins, Attrs: attrs}
		n.Outputs = []*ir.Value{{Name: n.Name + "_out", Producer: n}}
		g.Nodes = append(g.Nodes, n)
		return n.Outputs[0]
	}
	w := g.AddConst("w", ir.FromFloat32([]int64{1, 1, 1, 1}, []float32{0.5}))
	p := node("AveragePool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "pads": ir.IntsAttr(1, 1, 1, 1),
		"count_include_pad": ir.IntAttr(1)}, node("Conv", nil, x, w))
	c := node("Conv", nil, node("Relu", nil, p), w)
	g.Outputs = []*ir.Value{node("Flatten", nil, node("GlobalAveragePool", nil, c))}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	tab := &Table{Stats: map[string]*Stats{}, Samples: 1}
	for i, v := range g.Values() {
		if !v.IsConst() {
			s := NewStats(0)
			s.Add(ir.FromFloat32([]int64{2}, []float32{0, 2 + float32(i)/8})) // ReLU-like, so the Relu is absorbed
			tab.Stats[v.Name] = s
		}
	}
	rep, err := Quantize(g, QuantizeOptions{Calib: tab, Range: RangeOptions{Method: MinMax}})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, l := range rep.Layers {
		ops = append(ops, l.Op+"+"+l.Activation)
	}
	want := []string{"Conv+", "AveragePool+Relu", "Conv+", "GlobalAveragePool+", "Flatten+"}
	if len(ops) != len(want) || len(rep.Float) != 0 {
		t.Fatalf("layers %v, float ops %+v; want %v and none", ops, rep.Float, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Fatalf("layers %v, want %v", ops, want)
		}
	}
	if gap, fl := rep.Layers[3], rep.Layers[4]; *gap.Input == *gap.Output || *fl.Input != *gap.Output || *fl.Output != *gap.Output {
		t.Errorf("GlobalAveragePool %v → %v, Flatten %v → %v: want a calibrated pair, then the same one", *gap.Input, *gap.Output, *fl.Input, *fl.Output)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var ins []map[string]*ir.Tensor
	var before [][]float64
	for range 8 {
		v := make([]float32, 16)
		for i := range v {
			v[i] = 2 * rng.Float32()
		}
		in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{1, 1, 4, 4}, v)}
		out, err := interp.Run(g, in)
		if err != nil {
			t.Fatal(err)
		}
		ins, before = append(ins, in), append(before, out[g.Outputs[0].Name].Float64s())
	}
	pl, err := passes.ParsePipeline(passes.DefaultPipeline)
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.Run(g, pl, passes.Options{VerifyEach: true}); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, nd := range g.Nodes {
		n[nd.Domain+"."+nd.Op]++
	}
	if n["effc.QLinearAveragePool"] != 1 || n["effc.QLinearGlobalAveragePool"] != 1 || n[".Flatten"] != 1 ||
		n[".AveragePool"]+n[".GlobalAveragePool"]+n[".Relu"] != 0 || n[".DequantizeLinear"] != 1 {
		t.Errorf("after the default pipeline: %v", n)
	}
	// The integer pools round s/n exactly where the QDQ graph rounds a
	// float32 mean: a step of a pool's scale at a tie, which the later
	// layers shrink or pass on.
	tol := 0.0
	for _, l := range rep.Layers {
		tol += float64(l.Output.Scale)
	}
	for i, in := range ins {
		out, err := interp.Run(g, in)
		if err != nil {
			t.Fatal(err)
		}
		for k, got := range out[g.Outputs[0].Name].Float64s() {
			if d := math.Abs(got - before[i][k]); d > tol {
				t.Errorf("input %d, output %d: fused %g, QDQ %g", i, k, got, before[i][k])
			}
		}
	}
}
