package quant_test

import (
	"math"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// fp8Graph has one op of each kind QuantizeFP8 handles, a weight shared by
// two ops, a Conv weight with an all-zero output channel and a MatMul with
// a float input as its second operand (left alone).
const fp8Graph = `effir 1
graph "fp8" opset{ai.onnx=18} {
  input %x : f32[2,3,4,4]
  input %v : f32[2,6]
  input %u : f32[6,4]
  const %wc : f32[4,3,1,1] = [1, -2, 3, 0, 0, 0, 0.5, 0.25, -0.125, 100, 1e-3, -7]
  const %wg : f32[6,5] = [1, 2, 3, 4, 5, -1, -2, -3, -4, -5, 0.1, 0.2, 0.3, 0.4, 0.5, 6, 7, 8, 9, 10, -0.5, 0.5, -0.5, 0.5, -0.5, 1e-4, 2e-4, 3e-4, 4e-4, 5e-4]
  const %wt : f32[3,6] = [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6, 0.5, 0.25, 0.125, 1, 2, 4]
  %c : f32[2,4,4,4] = Conv(%x, %wc) {kernel_shape=[1, 1]}  @conv
  %g : f32[2,5] = Gemm(%v, %wg)  @gemm
  %h : f32[2,5] = Gemm(%v, %wg)  @gemm2
  %t : f32[2,3] = Gemm(%v, %wt) {transB=1}  @gemmT
  %m : f32[2,5] = MatMul(%v, %wg)  @matmul
  %n : f32[2,4] = MatMul(%v, %u)  @float_matmul
  output %c
  output %g
  output %h
  output %t
  output %m
  output %n
}
`

func parseFP8Graph(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(fp8Graph))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestQuantizeFP8WeightOnly checks the rewrite: axes per op, scales
// max|W[c]|/448 with 1 for a zero channel, codes equal to what
// QuantizeLinear computes, one DequantizeLinear for the shared weight, the
// float32 weights gone, and the outputs close to the float model's.
func TestQuantizeFP8WeightOnly(t *testing.T) {
	g := parseFP8Graph(t)
	ref := parseFP8Graph(t)
	res, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	axes := map[string][2]int{"conv": {0, 4}, "gemm": {1, 5}, "gemm2": {1, 5}, "gemmT": {0, 3}, "matmul": {1, 5}}
	if len(res.Layers) != len(axes) {
		t.Fatalf("%d layers quantized, want %d: %+v", len(res.Layers), len(axes), res.Layers)
	}
	for _, l := range res.Layers {
		if want := axes[l.Node]; l.Axis != want[0] || l.Channels != want[1] {
			t.Errorf("%s: axis %d with %d channels, want %d and %d", l.Node, l.Axis, l.Channels, want[0], want[1])
		}
		if l.RelError <= 0 || l.RelError > 0.07 {
			t.Errorf("%s: relative weight error %v; E4M3 rounds to 3 mantissa bits (at most 2^-4 relative)", l.Node, l.RelError)
		}
	}
	// wg (30 floats) is shared by three ops and counts once; wc 12, wt 18.
	if res.WeightBytesBefore != 4*60 || res.WeightBytesAfter != 60 || res.ScaleBytes != 4*(4+5+3) {
		t.Errorf("bytes %d -> %d + %d scales, want 240 -> 60 + 48", res.WeightBytesBefore, res.WeightBytesAfter, res.ScaleBytes)
	}
	dqs := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		if n.Op == "DequantizeLinear" {
			dqs[n.Inputs[0].Name] = n
		}
	}
	if len(dqs) != 3 {
		t.Fatalf("%d DequantizeLinear nodes, want 3 (one per weight)", len(dqs))
	}
	for _, c := range g.Consts {
		if c.Const.DType == ir.Float32 && len(c.Const.Shape) >= 2 {
			t.Errorf("float32 weight %q is still in the graph", c.Name)
		}
	}
	// The conv weight: channel 1 is all zero (scale 1), channel 3 has
	// max 100 (scale 100/448), and its codes are QuantizeLinear's.
	dq := dqs["wc.fp8"]
	if dq == nil {
		t.Fatalf("no DequantizeLinear of wc.fp8 among %v", dqs)
	}
	scales := dq.Inputs[1].Const.Data.([]float32)
	want := []float32{3.0 / 448, 1, 0.5 / 448, 100.0 / 448}
	for i := range want {
		if scales[i] != want[i] {
			t.Errorf("conv scale %d = %v, want %v", i, scales[i], want[i])
		}
	}
	wc := ref.Consts[0].Const
	ql := &ir.Node{Op: "QuantizeLinear", Attrs: map[string]*ir.Attr{"axis": ir.IntAttr(0)}, Outputs: []*ir.Value{{Name: "q"}}}
	zp := &ir.Tensor{DType: ir.Float8E4M3FN, Shape: []int64{4}, Data: make([]uint8, 4)}
	q, err := interp.EvalNode(ql, []*ir.Tensor{wc, dq.Inputs[1].Const, zp})
	if err != nil {
		t.Fatal(err)
	}
	got := dq.Inputs[0].Const.Data.([]uint8)
	for i, c := range q[0].Data.([]uint8) {
		if got[i] != c {
			t.Errorf("conv code %d = %#02x, QuantizeLinear gives %#02x", i, got[i], c)
		}
	}
	// The quantized model stays close to the float one.
	in := map[string]*ir.Tensor{
		"x": ir.FromFloat32([]int64{2, 3, 4, 4}, ramp(96)),
		"v": ir.FromFloat32([]int64{2, 6}, ramp(12)),
		"u": ir.FromFloat32([]int64{6, 4}, ramp(24)),
	}
	a, err := interp.Run(ref, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range a {
		if e := relErr(w.Float64s(), b[name].Float64s()); e > 0.07 || (name == "n" && e != 0) {
			t.Errorf("output %s: relative error %v", name, e)
		}
	}
}

// TestQuantizeFP8W8A8 checks the activation pairs: one per activation,
// scale amax/57344 for E5M2 from the calibrated range, fp8 zero points, and
// the error for a value without statistics.
func TestQuantizeFP8W8A8(t *testing.T) {
	g := parseFP8Graph(t)
	tab := &quant.Table{Stats: map[string]*quant.Stats{}}
	for _, name := range []string{"x", "v"} {
		s := quant.NewStats(0)
		s.Add(ir.FromFloat32([]int64{3}, []float32{-3, 1, 2}))
		tab.Stats[name] = s
	}
	res, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E5M2, Calib: tab})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Layers {
		if l.ActScale != 3.0/57344 {
			t.Errorf("%s: activation %q scale %v, want 3/57344", l.Node, l.Activation, l.ActScale)
		}
	}
	var qs int
	for _, n := range g.Nodes {
		if n.Op == "QuantizeLinear" {
			qs++
			if zp := n.Inputs[2]; zp == nil || zp.Const.DType != ir.Float8E5M2 {
				t.Errorf("%s: zero point %v, want an f8e5m2 constant", n, zp)
			}
		}
	}
	if qs != 2 {
		t.Errorf("%d QuantizeLinear nodes, want 2 (x and v, each once)", qs)
	}
	if _, err := interp.Run(g, map[string]*ir.Tensor{
		"x": ir.FromFloat32([]int64{2, 3, 4, 4}, ramp(96)),
		"v": ir.FromFloat32([]int64{2, 6}, ramp(12)),
		"u": ir.FromFloat32([]int64{6, 4}, ramp(24)),
	}); err != nil {
		t.Fatal(err)
	}
	delete(tab.Stats, "v")
	_, err = quant.QuantizeFP8(parseFP8Graph(t), quant.FP8Options{Format: ir.Float8E5M2, Calib: tab})
	if err == nil || !strings.Contains(err.Error(), `activation "v" was not calibrated`) {
		t.Errorf("missing statistics: error %v", err)
	}
}

// TestQuantizeFP8Errors checks the refusals.
func TestQuantizeFP8Errors(t *testing.T) {
	for _, c := range []struct {
		opts quant.FP8Options
		want string
	}{
		{quant.FP8Options{Format: ir.Int8, WeightOnly: true}, "want f8e4m3fn or f8e5m2"},
		{quant.FP8Options{Format: ir.Float8E4M3FN}, "W8A8 needs a calibration table"},
	} {
		if _, err := quant.QuantizeFP8(parseFP8Graph(t), c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	g := parseFP8Graph(t)
	g.Consts[0].Const.Data.([]float32)[5] = float32(math.Inf(1))
	if _, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}); err == nil || !strings.Contains(err.Error(), "finite") {
		t.Errorf("infinite weight: error %v", err)
	}
	for s, want := range map[string]ir.DType{"fp8-e4m3": ir.Float8E4M3FN, "fp8-e5m2": ir.Float8E5M2} {
		if got, err := quant.ParseFP8Format(s); got != want || err != nil {
			t.Errorf("ParseFP8Format(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := quant.ParseFP8Format("fp8-e3m4"); err == nil {
		t.Error("ParseFP8Format(fp8-e3m4) succeeded")
	}
}

// TestQuantizeFP8Exports checks that the quantized graph is standard ONNX:
// the encoder writes it at opset 19 (FP8 Q/DQ), and it decodes back to a
// graph that computes the same outputs.
func TestQuantizeFP8Exports(t *testing.T) {
	g := parseFP8Graph(t)
	tab := &quant.Table{Stats: map[string]*quant.Stats{}}
	for _, name := range []string{"x", "v"} {
		s := quant.NewStats(0)
		s.Add(ir.FromFloat32([]int64{2}, []float32{-4, 4}))
		tab.Stats[name] = s
	}
	if _, err := quant.QuantizeFP8(g, quant.FP8Options{Format: ir.Float8E4M3FN, Calib: tab}); err != nil {
		t.Fatal(err)
	}
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if back.SourceOpset < 19 {
		t.Errorf("exported at opset %d, want 19 (FP8 QuantizeLinear/DequantizeLinear)", back.SourceOpset)
	}
	in := map[string]*ir.Tensor{
		"x": ir.FromFloat32([]int64{2, 3, 4, 4}, ramp(96)),
		"v": ir.FromFloat32([]int64{2, 6}, ramp(12)),
		"u": ir.FromFloat32([]int64{6, 4}, ramp(24)),
	}
	a, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := interp.Run(back, in)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range a {
		if e := relErr(w.Float64s(), b[name].Float64s()); e != 0 {
			t.Errorf("output %s differs after the round trip (relative error %v)", name, e)
		}
	}
}

// ramp is n values spread over [-2, 2).
func ramp(n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = -2 + 4*float32(i)/float32(n)
	}
	return d
}

// relErr is ‖a − b‖₂ / ‖a‖₂.
func relErr(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += a[i] * a[i]
	}
	return math.Sqrt(num / den)
}
