package llvmgen_test

import (
	"context"
	"fmt"
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
	g := gmParse(b, c.src)
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

// BenchmarkResNetConvs times the other ResNet-18 convolution shapes: the
// 7x7 stride-2 stem, the stride-2 3x3 and 3x3 layers at 28x28, 14x14 and
// 7x7, and a 1x1 stride-2 downsample.
func BenchmarkResNetConvs(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		name       string
		cin, cout  int64
		hw, k, str int64
	}{
		{"stem7x7s2", 3, 64, 224, 7, 2},
		{"l2s2", 64, 128, 56, 3, 2},
		{"l2", 128, 128, 28, 3, 1},
		{"l3", 256, 256, 14, 3, 1},
		{"l4", 512, 512, 7, 3, 1},
		{"l4down1x1s2", 256, 512, 14, 1, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			pad := c.k / 2
			attrs := fmt.Sprintf("strides=[%d, %d], pads=[%d, %d, %d, %d]", c.str, c.str, pad, pad, pad, pad)
			gc := gmConv(rng, []int64{1, c.cin, c.hw, c.hw}, []int64{c.cout, c.cin, c.k, c.k}, attrs, true, true)
			o := (c.hw+2*pad-c.k)/c.str + 1
			benchNative(b, gc, float64(2*c.cin*c.cout*c.k*c.k*o*o))
		})
	}
}
