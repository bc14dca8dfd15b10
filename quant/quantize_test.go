package quant

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// TestAffineFor checks scale and zero point against ONNX Runtime's
// compute_scale_zp on hand-computed cases.
func TestAffineFor(t *testing.T) {
	for _, c := range []struct {
		r    Range
		dt   ir.DType
		want Affine
	}{
		// [0, 2.55] on u8: s = 2.55/255 = 0.01, z = 0 (a ReLU output).
		{Range{0, 2.55}, ir.Uint8, Affine{0.01, 0, ir.Uint8}},
		// The same on i8: z = -128, so the clamp is the ReLU.
		{Range{0, 2.55}, ir.Int8, Affine{0.01, -128, ir.Int8}},
		// [-1, 1.55] on u8: s = 0.01, z = round(0 + 1/0.01) = 100.
		{Range{-1, 1.55}, ir.Uint8, Affine{0.01, 100, ir.Uint8}},
		// A range without 0 is widened to hold it: [1, 2.55] as [0, 2.55].
		{Range{1, 2.55}, ir.Uint8, Affine{0.01, 0, ir.Uint8}},
		// All zeros: scale 1, zero point at the bottom.
		{Range{0, 0}, ir.Int8, Affine{1, -128, ir.Int8}},
	} {
		got := affineFor(c.r, c.dt)
		if got.ZeroPoint != c.want.ZeroPoint || got.DType != c.want.DType || math.Abs(float64(got.Scale-c.want.Scale)) > 1e-7 {
			t.Errorf("affineFor(%v, %s) = %+v, want %+v", c.r, c.dt, got, c.want)
		}
	}
}

// TestQuantizeWeightsAndBias checks per-channel symmetric weights (the
// largest magnitude of each channel maps to ±127) and the int32 bias.
func TestQuantizeWeightsAndBias(t *testing.T) {
	w := ir.FromFloat32([]int64{2, 3}, []float32{1.27, -0.635, 0, 0.5, 0.25, -1})
	cw, err := quantizeWeights(w, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantQ := []int8{127, -64, 0, 64, 32, -127} // -0.635/0.01 = -63.5 rounds to even
	if !equalInts(cw.Q.Data.([]int8), wantQ) || math.Abs(float64(cw.Scales[0]-0.01)) > 1e-9 || math.Abs(float64(cw.Scales[1]-1.0/127)) > 1e-9 {
		t.Errorf("axis 0: q %v scales %v, want %v [0.01 1/127]", cw.Q.Data, cw.Scales, wantQ)
	}
	cw, err = quantizeWeights(w, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cw.Scales) != 3 || cw.Scales[2] != float32(1)/127 {
		t.Errorf("axis 1: scales %v, want 3 with the last 1/127", cw.Scales)
	}
	zero, err := quantizeWeights(ir.FromFloat32([]int64{1, 2}, []float32{0, 0}), 0)
	if err != nil || zero.Scales[0] != 1 {
		t.Errorf("all-zero channel: scale %v (%v), want 1", zero.Scales, err)
	}
	if _, err := quantizeWeights(ir.FromFloat32([]int64{1}, []float32{float32(math.Inf(1))}), 0); err == nil {
		t.Error("infinite weight: no error")
	}
	bq, bs, err := quantizeBias(ir.FromFloat32([]int64{2}, []float32{0.5, -3e9}), 0.5, []float32{0.01, 0.001})
	if err != nil {
		t.Fatal(err)
	}
	if got := bq.Data.([]int32); got[0] != 100 || got[1] != math.MinInt32 || bs[0] != 0.005 || bs[1] != 0.0005 {
		t.Errorf("bias %v scales %v, want [100 MinInt32] (saturated) [0.005 0.0005]", got, bs)
	}
}

func equalInts(a, b []int8) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQuantizeMaxPoolPassThrough checks the QDQ form on Conv → Relu →
// MaxPool → Conv: the Relu is absorbed by the first Conv's output range,
// the MaxPool output reuses its input's parameters, and the second Conv
// reads that pair instead of adding one from the calibrated range.
func TestQuantizeMaxPoolPassThrough(t *testing.T) {
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
	c := node("Conv", nil, x, w)
	p := node("MaxPool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2)}, node("Relu", nil, c))
	g.Outputs = []*ir.Value{node("Conv", nil, p, w)}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	tab := &Table{Stats: map[string]*Stats{}, Samples: 1}
	for _, v := range g.Values() {
		if !v.IsConst() {
			s := NewStats(0)
			s.Add(ir.FromFloat32([]int64{2}, []float32{-1, 2}))
			tab.Stats[v.Name] = s
		}
	}
	rep, err := Quantize(g, QuantizeOptions{Calib: tab, Range: RangeOptions{Method: MinMax}})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range g.Nodes {
		ops[n.Op]++
	}
	// x, the Relu output, the MaxPool output and the graph output get a
	// pair each; the two weights a DequantizeLinear each.
	if ops["QuantizeLinear"] != 4 || ops["DequantizeLinear"] != 6 {
		t.Errorf("ops %v: want 4 QuantizeLinear and 6 DequantizeLinear", ops)
	}
	if len(rep.Layers) != 3 || rep.Layers[0].Activation != "Relu" || rep.Layers[1].Op != "MaxPool" ||
		*rep.Layers[1].Input != *rep.Layers[0].Output || *rep.Layers[2].Input != *rep.Layers[0].Output {
		t.Errorf("layers %+v", rep.Layers)
	}
}

// TestQuantizeSchemes checks the scheme dispatch.
func TestQuantizeSchemes(t *testing.T) {
	g := &ir.Graph{Opsets: map[string]int64{"": ir.CanonicalOpset}}
	for scheme, want := range map[string]string{
		"int4": `unknown quantization scheme "int4"`,
	} {
		if _, err := Quantize(g, QuantizeOptions{Scheme: scheme}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("scheme %s: error %v, want %q", scheme, err, want)
		}
	}
	if _, err := Quantize(g, QuantizeOptions{ActDType: ir.Int16}); err == nil {
		t.Error("i16 activations: no error")
	}
}

// TestQuantizeMatMulGemm checks the other weighted ops on an MLP, x →
// MatMul → Relu → Gemm (transB=0, bias): calibrated on random inputs, the
// QDQ graph stays within a few quantization steps of float, and the default
// pipeline runs both layers on integers (QLinearMatMul, and the Gemm as a
// 1x1 QLinearConv between two Reshapes).
func TestQuantizeMatMulGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	randT := func(dims ...int64) *ir.Tensor {
		tt := ir.NewTensor(ir.Float32, dims)
		for i := range tt.Data.([]float32) {
			tt.Data.([]float32)[i] = float32(rng.NormFloat64())
		}
		return tt
	}
	g := &ir.Graph{Name: "mlp", Opsets: map[string]int64{"": ir.CanonicalOpset}}
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(8)})}
	g.Inputs = []*ir.Value{x}
	node := func(name, op string, attrs map[string]*ir.Attr, ins ...*ir.Value) *ir.Value {
		n := &ir.Node{Name: name, Op: op, Inputs: ins, Attrs: attrs}
		n.Outputs = []*ir.Value{{Name: name + "_out", Producer: n}}
		g.Nodes = append(g.Nodes, n)
		return n.Outputs[0]
	}
	h := node("relu", "Relu", nil, node("mm", "MatMul", nil, x, g.AddConst("w1", randT(8, 6))))
	g.Outputs = []*ir.Value{node("fc", "Gemm", nil, h, g.AddConst("w2", randT(6, 4)), g.AddConst("b2", randT(4)))}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	var batches []map[string]*ir.Tensor
	for range 8 {
		batches = append(batches, map[string]*ir.Tensor{"x": randT(4, 8)})
	}
	want := map[int]*ir.Tensor{}
	for i, b := range batches {
		out, err := interp.Run(g, b)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out["fc_out"]
	}
	src := &sliceSource{batches: batches}
	tab, err := Calibrate(context.Background(), g, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Quantize(g, QuantizeOptions{Calib: tab, Range: RangeOptions{Method: MinMax}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Layers) != 2 || rep.Layers[0].Activation != "Relu" || rep.Layers[1].Op != "Gemm" {
		t.Fatalf("layers %+v", rep.Layers)
	}
	p, err := passes.ParsePipeline(passes.DefaultPipeline)
	if err != nil {
		t.Fatal(err)
	}
	if err := passes.Run(g, p, passes.Options{VerifyEach: true}); err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range g.Nodes {
		ops[n.Op]++
	}
	if ops["QLinearMatMul"] != 1 || ops["QLinearConv"] != 1 || ops["MatMul"]+ops["Gemm"]+ops["Relu"] != 0 {
		t.Errorf("after the default pipeline: %v", ops)
	}
	step := float64(rep.Layers[1].Output.Scale)
	for i, b := range batches {
		out, err := interp.Run(g, b)
		if err != nil {
			t.Fatal(err)
		}
		got, w := out["fc_out"].Float64s(), want[i].Float64s()
		for k := range w {
			// Two quantized layers and the input: a few steps of the
			// output scale at most on data the ranges cover.
			if d := math.Abs(got[k] - w[k]); d > 4*step {
				t.Fatalf("batch %d output %d: int8 %g, float %g (step %g)", i, k, got[k], w[k], step)
			}
		}
	}
}

// sliceSource is a BatchSource over batches in memory.
type sliceSource struct {
	batches []map[string]*ir.Tensor
	next    int
}

func (s *sliceSource) Next() (map[string]*ir.Tensor, error) {
	if s.next == len(s.batches) {
		return nil, io.EOF
	}
	s.next++
	return s.batches[s.next-1], nil
}
