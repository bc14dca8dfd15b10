package llvmgen_test

import (
	"context"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
)

// BenchmarkQConv3x3 times the int8 form of BenchmarkConv3x3's ResNet-18
// layer-1 convolution (64->64 channels, 3x3, pad 1, 56x56, batch 1):
// QLinearConv with u8 activations, per-channel i8 weights and an int32
// bias, on x86_64 with --cpu native (VNNI where the CPU has it) and with
// the default CPU (x86-64-v3: AVX2 vpmaddwd). GOP/s counts a multiply-add
// as two operations, like BenchmarkConv3x3's GFLOP/s.
func BenchmarkQConv3x3(b *testing.B) {
	q := newQGraph(3)
	q.addConv(qConv{xdt: ir.Uint8, wdt: ir.Int8, ydt: ir.Uint8, xs: []int64{1, 64, 56, 56}, ws: []int64{64, 64, 3, 3},
		attrs: "pads=[1, 1, 1, 1]", perChannel: true, bias: true, xzp: 128})
	for _, cpu := range []string{"native", ""} {
		name := cpu
		if name == "" {
			name = "default"
		}
		b.Run(name, func(b *testing.B) { benchQ(b, cpu, q, 2*64*64*9*56*56) })
	}
}

// benchQ compiles q for x86_64 with the CPU (the target's default when
// empty), times runs of the artifact and reports the median as GOP/s for
// ops per run.
func benchQ(b *testing.B, cpu string, q *qGraph, ops float64) {
	spec, err := target.Load("x86_64")
	if err != nil {
		b.Fatal(err)
	}
	if cpu != "" {
		if spec, err = spec.WithCPU(cpu); err != nil {
			b.Fatal(err)
		}
	}
	e := &engine.Engine{Spec: spec}
	_, r, err := e.Bench(context.Background(), gmParse(b, q.src()), q.in, max(20, b.N))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Median.Microseconds()), "us/median")
	b.ReportMetric(ops/r.Median.Seconds()/1e9, "GOP/s")
	b.ReportMetric(ops/r.Min.Seconds()/1e9, "GOP/s-best")
}

// BenchmarkQMobileNet times MobileNetV2-shaped int8 layers on x86_64 with
// --cpu native: 1x1 convolutions with few input channels (the expansion
// 24->144 at 56x56, the projection 144->24 at 56x56, 96->576 at 14x14) and a
// 3x3 depthwise layer (144 channels, 56x56); compare BenchmarkPointwise and
// BenchmarkDepthwise3x3 (fp32).
func BenchmarkQMobileNet(b *testing.B) {
	for _, c := range []struct {
		name          string
		cin, cout, hw int64
		dw            bool
	}{
		{"pw24x144@56", 24, 144, 56, false},
		{"pw144x24@56", 144, 24, 56, false},
		{"pw16x96@112", 16, 96, 112, false},
		{"pw96x576@14", 96, 576, 14, false},
		{"dw144@56", 144, 144, 56, true},
	} {
		q := newQGraph(5)
		qc := qConv{xdt: ir.Uint8, wdt: ir.Int8, ydt: ir.Uint8, xs: []int64{1, c.cin, c.hw, c.hw}, ws: []int64{c.cout, c.cin, 1, 1},
			perChannel: true, bias: true, xzp: 128}
		ops := 2 * c.cin * c.cout * c.hw * c.hw
		if c.dw {
			qc.ws = []int64{c.cout, 1, 3, 3}
			qc.attrs = "group=144, pads=[1, 1, 1, 1]"
			ops = 2 * c.cout * 9 * c.hw * c.hw
		}
		q.addConv(qc)
		b.Run(c.name, func(b *testing.B) { benchQ(b, "native", q, float64(ops)) })
	}
}

// BenchmarkQLinearAdd times a MobileNetV2 residual effc.QLinearAdd on u8
// (1x24x56x56) on x86_64 with --cpu native; GOP/s counts one op per element.
func BenchmarkQLinearAdd(b *testing.B) {
	src := `effir 1
graph "qadd" opset{ai.onnx=18, effc=1} {
  input %a : u8[1,24,56,56]
  input %b : u8[1,24,56,56]
  const %as : f32[] = 0.0865
  const %az : u8[] = 113
  const %bs : f32[] = 0.077
  const %bz : u8[] = 110
  const %ys : f32[] = 0.0998
  const %yz : u8[] = 124
  %y : u8[1,24,56,56] = effc::QLinearAdd(%a, %as, %az, %b, %bs, %bz, %ys, %yz)  @add
  output %y
}
`
	q := newQGraph(9)
	shape := []int64{1, 24, 56, 56}
	q.in["a"] = fromF64(ir.Uint8, shape, q.ints(ir.NumElements(shape), 0, 255))
	q.in["b"] = fromF64(ir.Uint8, shape, q.ints(ir.NumElements(shape), 0, 255))
	spec, err := target.Load("x86_64")
	if err != nil {
		b.Fatal(err)
	}
	if spec, err = spec.WithCPU("native"); err != nil {
		b.Fatal(err)
	}
	_, r, err := (&engine.Engine{Spec: spec}).Bench(context.Background(), gmParse(b, src), q.in, max(20, b.N))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Median.Microseconds()), "us/median")
	b.ReportMetric(float64(ir.NumElements(shape))/r.Median.Seconds()/1e9, "GOP/s")
}
