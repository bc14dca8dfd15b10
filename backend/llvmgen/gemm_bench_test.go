package llvmgen_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
)

// benchNative compiles c for x86_64 with --cpu native, times runs of the
// artifact and reports the median as GFLOP/s for flops per run.
func benchNative(b *testing.B, c gmCase, flops float64) {
	spec, err := target.Load("x86_64")
	if err != nil {
		b.Fatal(err)
	}
	if spec, err = spec.WithCPU("native"); err != nil {
		b.Fatal(err)
	}
	t := &testing.T{}
	g := gmParse(t, c.src)
	e := &engine.Engine{Spec: spec}
	_, r, err := e.Bench(context.Background(), g, c.inputs, max(20, b.N))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Median.Microseconds()), "us/median")
	b.ReportMetric(flops/r.Median.Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(flops/r.Min.Seconds()/1e9, "GFLOP/s-best")
}

// BenchmarkConv3x3 times a ResNet-18 layer-1 convolution: 64->64 channels,
// 3x3, pad 1, 56x56, batch 1, with bias.
func BenchmarkConv3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	c := gmConv(rng, []int64{1, 64, 56, 56}, []int64{64, 64, 3, 3}, "pads=[1, 1, 1, 1]", true, true)
	benchNative(b, c, 2*64*64*9*56*56)
}

// BenchmarkGemm256 times a 256x256x256 Gemm with a constant (compile-time
// packed) B.
func BenchmarkGemm256(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	benchNative(b, gmGemm(rng, 256, 256, 256, false, false, 1, 1, nil, true), 2*256*256*256)
}

// BenchmarkDepthwise3x3 times a MobileNetV2 depthwise layer: 144 channels,
// 3x3, pad 1, 56x56.
func BenchmarkDepthwise3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	c := gmConv(rng, []int64{1, 144, 56, 56}, []int64{144, 1, 3, 3}, "group=144, pads=[1, 1, 1, 1]", true, true)
	benchNative(b, c, 2*144*9*56*56)
}

// BenchmarkPointwise times a MobileNetV2 1x1 expansion: 24->144, 56x56.
func BenchmarkPointwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(17, 18))
	c := gmConv(rng, []int64{1, 24, 56, 56}, []int64{144, 24, 1, 1}, "", true, true)
	benchNative(b, c, 2*144*24*56*56)
}
