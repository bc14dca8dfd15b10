package quant

import (
	"testing"

	"github.com/effc/effc/ir"
)

// chain builds x → Conv a → Conv b with 1x1 identity weights.
func chain(t *testing.T) *ir.Graph {
	t.Helper()
	g := &ir.Graph{Name: "t", Opsets: map[string]int64{"": ir.CanonicalOpset}}
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.ShapeOf(1, 1, 4, 4))}
	g.Inputs = []*ir.Value{x}
	w := g.AddConst("w", ir.FromFloat32([]int64{1, 1, 1, 1}, []float32{1}))
	v := x
	for _, name := range []string{"a", "b"} {
		n := &ir.Node{Name: name, Op: "Conv", Inputs: []*ir.Value{v, w}}
		v = &ir.Value{Name: name + "_out", Producer: n}
		n.Outputs = []*ir.Value{v}
		g.Nodes = append(g.Nodes, n)
	}
	g.Outputs = []*ir.Value{v}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestMeasureSuggestsTheLayerThatLoses checks the per-layer measurement
// and the suggestion rule: when layer a's output range is set far too
// narrow, both layers' outputs are poor, but only a loses the SQNR (b's
// input is already a's poor output), so a alone is suggested.
func TestMeasureSuggestsTheLayerThatLoses(t *testing.T) {
	float, g := chain(t), chain(t)
	x := ir.NewTensor(ir.Float32, []int64{1, 1, 4, 4})
	for i := range x.Data.([]float32) {
		x.Data.([]float32)[i] = float32(i) / 15
	}
	tab := &Table{Stats: map[string]*Stats{}, Samples: 1}
	for name, r := range map[string][2]float32{"x": {0, 1}, "a_out": {0, 0.1}, "b_out": {0, 1}} {
		s := NewStats(0)
		s.Add(ir.FromFloat32([]int64{2}, r[:]))
		tab.Stats[name] = s
	}
	rep, err := Quantize(g, QuantizeOptions{Calib: tab, Range: RangeOptions{Method: MinMax}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Measure(float, g, []map[string]*ir.Tensor{{"x": x}}); err != nil {
		t.Fatal(err)
	}
	a, b := rep.Layers[0], rep.Layers[1]
	if !a.Measured || !b.Measured || a.InputSQNR < 40 || a.SQNR > 10 || b.InputSQNR != a.SQNR || b.SQNR > 10 {
		t.Errorf("layers: a %+v, b %+v; want a's input clean, both outputs poor, b's input SQNR = a's SQNR", a, b)
	}
	if len(rep.Suggest) != 1 || rep.Suggest[0] != "a" {
		t.Errorf("suggested %v, want [a]", rep.Suggest)
	}
}
