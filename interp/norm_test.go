package interp

import (
	"math"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

func TestGroupNormalizationPerGroup(t *testing.T) {
	// 4 channels, 2 groups: group 0 = channels 0,1 = {1,2,3,4}, group 1 =
	// channels 2,3 = {10,10,20,20}; opset 18 scale/bias per group.
	x := ir.FromFloat32([]int64{1, 4, 2}, []float32{1, 2, 3, 4, 10, 10, 20, 20})
	scale := ir.FromFloat32([]int64{2}, []float32{1, 2})
	bias := ir.FromFloat32([]int64{2}, []float32{0, 1})
	eps := 1e-5
	out := nnRun(t, "GroupNormalization", 1, map[string]*ir.Attr{"num_groups": ir.IntAttr(2)}, x, scale, bias)
	s0 := math.Sqrt(1.25 + eps)
	s1 := math.Sqrt(25 + eps)
	want := []float64{-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0,
		-5/s1*2 + 1, -5/s1*2 + 1, 5/s1*2 + 1, 5/s1*2 + 1}
	nnClose(t, "per-group", out[0], []int64{1, 4, 2}, want, 1e-6)

	// Per-channel scale (opset 21 layout) is accepted too.
	scale4 := ir.FromFloat32([]int64{4}, []float32{1, 0, 0, 1})
	bias4 := ir.FromFloat32([]int64{4}, []float32{0, 7, 7, 0})
	out = nnRun(t, "GroupNormalization", 1, map[string]*ir.Attr{"num_groups": ir.IntAttr(2)}, x, scale4, bias4)
	want = []float64{-1.5 / s0, -0.5 / s0, 7, 7, 7, 7, 5 / s1, 5 / s1}
	nnClose(t, "per-channel", out[0], []int64{1, 4, 2}, want, 1e-6)

	_, err := EvalNode(nnNode("GroupNormalization", 1, map[string]*ir.Attr{"num_groups": ir.IntAttr(3)}), []*ir.Tensor{x, scale, bias})
	if err == nil || !strings.Contains(err.Error(), "num_groups 3 must be positive and divide the 4 channels") {
		t.Errorf("bad num_groups: error %v", err)
	}
}

func TestLayerNormalizationOutputs(t *testing.T) {
	x := ir.FromFloat32([]int64{2, 2}, []float32{1, 3, 2, 6})
	scale := ir.FromFloat32([]int64{2}, []float32{1, 2})
	b := ir.FromFloat32([]int64{2}, []float32{0, 1})
	out := nnRun(t, "LayerNormalization", 3, nil, x, scale, b)
	e := 1e-5
	i0, i1 := 1/math.Sqrt(1+e), 1/math.Sqrt(4+e)
	nnClose(t, "Y", out[0], []int64{2, 2}, []float64{-i0, i0*2 + 1, -2 * i1, 2*i1*2 + 1}, 1e-6)
	nnClose(t, "Mean", out[1], []int64{2, 1}, []float64{2, 4}, 1e-6)
	nnClose(t, "InvStdDev", out[2], []int64{2, 1}, []float64{i0, i1}, 1e-6)
	if out[1].DType != ir.Float32 {
		t.Errorf("Mean dtype %s, want f32 (stash_type 1)", out[1].DType)
	}
	// axis 0 normalizes everything together; Scale broadcasts from [2].
	out = nnRun(t, "LayerNormalization", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x, scale)
	m, v := 3.0, (4+0+1+9)/4.0
	s := 1 / math.Sqrt(v+e)
	nnClose(t, "axis0", out[0], []int64{2, 2}, []float64{(1 - m) * s, (3 - m) * s * 2, (2 - m) * s, (6 - m) * s * 2}, 1e-6)
}

func TestBatchNormalization(t *testing.T) {
	x := ir.FromFloat32([]int64{1, 2, 2}, []float32{1, 2, 3, 4})
	p := func(v ...float32) *ir.Tensor { return ir.FromFloat32([]int64{2}, v) }
	out := nnRun(t, "BatchNormalization", 1, map[string]*ir.Attr{"epsilon": ir.FloatAttr(0)}, x, p(2, 1), p(1, 0), p(1, 3), p(4, 1))
	nnClose(t, "Y", out[0], []int64{1, 2, 2}, []float64{1, 2, 0, 1}, 1e-6)
	// float64 path
	x64 := &ir.Tensor{DType: ir.Float64, Shape: []int64{1, 2}, Data: []float64{1, 3}}
	p64 := func(v ...float64) *ir.Tensor { return &ir.Tensor{DType: ir.Float64, Shape: []int64{2}, Data: v} }
	out = nnRun(t, "BatchNormalization", 1, map[string]*ir.Attr{"epsilon": ir.FloatAttr(0)}, x64, p64(1, 1), p64(0, 0), p64(0, 1), p64(1, 4))
	nnClose(t, "Y f64", out[0], []int64{1, 2}, []float64{1, 1}, 1e-12)

	_, err := EvalNode(nnNode("BatchNormalization", 1, map[string]*ir.Attr{"training_mode": ir.IntAttr(1)}), []*ir.Tensor{x, p(1, 1), p(0, 0), p(0, 0), p(1, 1)})
	if err == nil || !strings.Contains(err.Error(), "training_mode=1 is not supported") {
		t.Errorf("training mode: error %v", err)
	}
	_, err = EvalNode(nnNode("BatchNormalization", 1, nil), []*ir.Tensor{x, ir.FromFloat32([]int64{3}, []float32{1, 1, 1}), p(0, 0), p(0, 0), p(1, 1)})
	if err == nil || !strings.Contains(err.Error(), "input 1 (scale) has shape [3], want [2]") {
		t.Errorf("bad scale: error %v", err)
	}
}

func TestInstanceNormAndMVN(t *testing.T) {
	x := ir.FromFloat32([]int64{1, 2, 2}, []float32{1, 3, 5, 5})
	p := func(v ...float32) *ir.Tensor { return ir.FromFloat32([]int64{2}, v) }
	out := nnRun(t, "InstanceNormalization", 1, nil, x, p(1, 1), p(0, 2))
	i := 1 / math.Sqrt(1+1e-5)
	nnClose(t, "instance", out[0], []int64{1, 2, 2}, []float64{-i, i, 2, 2}, 1e-6)

	x4 := ir.FromFloat32([]int64{2, 1, 1, 2}, []float32{1, 3, 5, 7})
	out = nnRun(t, "MeanVarianceNormalization", 1, nil, x4)
	// axes 0,2,3: mean 4, std sqrt(5)
	s := math.Sqrt(5)
	nnClose(t, "mvn", out[0], []int64{2, 1, 1, 2}, []float64{-3 / s, -1 / s, 1 / s, 3 / s}, 1e-6)
	out = nnRun(t, "MeanVarianceNormalization", 1, map[string]*ir.Attr{"axes": ir.IntsAttr(-1)}, x4)
	nnClose(t, "mvn last axis", out[0], []int64{2, 1, 1, 2}, []float64{-1, 1, -1, 1}, 1e-6)
}

func TestLRNWindow(t *testing.T) {
	// size 2 covers channels c and c+1 (floor((2-1)/2) = 0 before,
	// ceil((2-1)/2) = 1 after).
	x := ir.FromFloat32([]int64{1, 3, 1, 1}, []float32{1, 2, 3})
	out := nnRun(t, "LRN", 1, map[string]*ir.Attr{"size": ir.IntAttr(2), "alpha": ir.FloatAttr(2), "beta": ir.FloatAttr(1), "bias": ir.FloatAttr(1)}, x)
	nnClose(t, "lrn", out[0], []int64{1, 3, 1, 1}, []float64{1.0 / (1 + 5), 2.0 / (1 + 13), 3.0 / (1 + 9)}, 1e-6)
}

func TestLpNormalization(t *testing.T) {
	x := ir.FromFloat32([]int64{2, 2}, []float32{3, 4, -6, 8})
	out := nnRun(t, "LpNormalization", 1, nil, x)
	nnClose(t, "p2 axis -1", out[0], []int64{2, 2}, []float64{0.6, 0.8, -0.6, 0.8}, 1e-6)
	out = nnRun(t, "LpNormalization", 1, map[string]*ir.Attr{"p": ir.IntAttr(1), "axis": ir.IntAttr(0)}, x)
	nnClose(t, "p1 axis 0", out[0], []int64{2, 2}, []float64{3.0 / 9, 4.0 / 12, -6.0 / 9, 8.0 / 12}, 1e-6)
	_, err := EvalNode(nnNode("LpNormalization", 1, map[string]*ir.Attr{"p": ir.IntAttr(3)}), []*ir.Tensor{x})
	if err == nil || !strings.Contains(err.Error(), "p = 3, want 1 or 2") {
		t.Errorf("p=3: error %v", err)
	}
}
