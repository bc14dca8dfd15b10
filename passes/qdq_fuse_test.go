package passes

import (
	"math"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// qdqModel builds, as ONNX Runtime's static quantizer writes it, a QDQ
// model: u8 activations, u8 weights with zero point 128 (per tensor, with
// a per-tensor bias scale), Conv → Relu → MaxPool → Conv, and runs it
// through the ONNX encoder and decoder, so the test sees an imported model.
func qdqModel(t *testing.T) *ir.Graph {
	t.Helper()
	b := newBuilder()
	x := b.input("x", 2, 3, 6, 6)
	scalar := func(name string, dt ir.DType, v float64) *ir.Value {
		tt := ir.NewTensor(dt, nil)
		switch d := tt.Data.(type) {
		case []float32:
			d[0] = float32(v)
		case []uint8:
			d[0] = uint8(v)
		}
		return b.g.AddConst(name, tt)
	}
	weights := func(name string, dims ...int64) (*ir.Value, *ir.Value) {
		w := ir.NewTensor(ir.Uint8, dims)
		for i := range w.Data.([]uint8) {
			w.Data.([]uint8)[i] = uint8(b.rng.IntN(256))
		}
		return b.g.AddConst(name, w), scalar(name+"_scale", ir.Float32, 0.004)
	}
	bias := func(name string, xs float64, n int64) *ir.Value {
		q := ir.NewTensor(ir.Int32, []int64{n})
		for i := range q.Data.([]int32) {
			q.Data.([]int32)[i] = int32(b.rng.IntN(2001) - 1000)
		}
		return b.node("DequantizeLinear", nil, b.g.AddConst(name, q), scalar(name+"_scale", ir.Float32, xs*0.004))
	}
	qdq := func(v *ir.Value, s, z *ir.Value) *ir.Value {
		return b.node("DequantizeLinear", nil, b.node("QuantizeLinear", nil, v, s, z), s, z)
	}
	z128, z0 := scalar("zp128", ir.Uint8, 128), scalar("zp0", ir.Uint8, 0)
	xs, ys := scalar("xs", ir.Float32, 0.03), scalar("ys", ir.Float32, 0.05)
	w1, w1s := weights("w1", 4, 3, 3, 3)
	c1 := b.node("Conv", map[string]*ir.Attr{"pads": ir.IntsAttr(1, 1, 1, 1)}, qdq(x, xs, z128),
		b.node("DequantizeLinear", nil, w1, w1s, z128), bias("b1", 0.03, 4))
	r1 := qdq(b.node("Relu", nil, c1), ys, z0)
	p := qdq(b.node("MaxPool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "strides": ir.IntsAttr(2, 2)}, r1), ys, z0)
	w2, w2s := weights("w2", 2, 4, 1, 1)
	c2 := b.node("Conv", nil, p, b.node("DequantizeLinear", nil, w2, w2s, z128), bias("b2", 0.05, 2))
	y := qdq(c2, ys, z128)
	g := b.output(y)
	for _, n := range g.Nodes {
		if n.Op == "DequantizeLinear" && n.Inputs[0].IsConst() {
			n.SetAttr("axis", ir.IntAttr(0))
		}
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	imported, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(imported); err != nil {
		t.Fatal(err)
	}
	return imported
}

// TestQDQFuseImported checks that an imported QDQ model runs on integer
// kernels after the default pipeline (QLinearConv with the ReLU absorbed,
// MaxPool on u8) and computes what the QDQ graph computes, up to one
// quantization step where a value lies within float32 rounding of a
// rounding boundary.
func TestQDQFuseImported(t *testing.T) {
	g := qdqModel(t)
	in := map[string]*ir.Tensor{"x": randomInputs(g, 3)["x"]}
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	checkPipeline(t, g, DefaultPipeline)
	ops := map[string]int{}
	for _, n := range g.Nodes {
		ops[n.Op]++
	}
	if ops["QLinearConv"] != 2 || ops["Conv"] != 0 || ops["Relu"] != 0 || ops["MaxPool"] != 1 || ops["DequantizeLinear"] != 1 {
		t.Fatalf("after the default pipeline: %v; want 2 QLinearConv, the integer MaxPool and only the final DequantizeLinear", ops)
	}
	for _, n := range g.Nodes {
		if n.Op == "MaxPool" && n.Inputs[0].Type.DType != ir.Uint8 {
			t.Errorf("MaxPool reads %s, want u8", n.Inputs[0].Type)
		}
	}
	got, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	const step = 0.05 // the output scale
	w, gt := want[g.Outputs[0].Name].Float64s(), got[g.Outputs[0].Name].Float64s()
	off := 0
	for i := range w {
		switch d := math.Abs(w[i] - gt[i]); {
		case d > step*1.001:
			t.Fatalf("output[%d] = %g, the QDQ graph's %g: more than one step apart", i, gt[i], w[i])
		case d > 0:
			off++
		}
	}
	// One step apart needs a value within float32 rounding of a tie.
	if off > len(w)/100 {
		t.Errorf("%d of %d outputs are one step off the QDQ graph's, want at most 1%%", off, len(w))
	}
}
