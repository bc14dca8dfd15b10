package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// Kernels of effc.QLinearAveragePool and effc.QLinearGlobalAveragePool
// (ir/ops_effc_quant.go), which the qdq-fuse pass makes.
func init() {
	kernels["effc.QLinearAveragePool"] = qlinearAveragePoolKernel
	kernels["effc.QLinearGlobalAveragePool"] = qlinearGlobalAveragePoolKernel
}

// qpoolParams checks the attributes and inputs of a quantized average pool and returns X,
// the zero points as int32, m = x_scale/y_scale in float32 (as float64),
// and the output range.
func qpoolParams(nd *ir.Node, in []*ir.Tensor) (x *ir.Tensor, xz, yz int32, m, lo, hi float64, err error) {
	if cl := nd.AttrInt("channels_last", 0); cl != 0 {
		return nil, 0, 0, 0, 0, 0, fmt.Errorf("channels_last = %d, want 0 (NCHW)", cl)
	}
	if len(in) < 5 || in[0] == nil {
		return nil, 0, 0, 0, 0, 0, fmt.Errorf("want 5 inputs (X, x_scale, x_zero_point, y_scale, y_zero_point)")
	}
	x = in[0]
	if !isInt8Type(x.DType) || len(x.Shape) < 3 {
		return nil, 0, 0, 0, 0, 0, fmt.Errorf("input 0 (X) is %s%v, want u8 or i8 of rank >= 3 (N, C, spatial...)", x.DType, x.Shape)
	}
	for i := 1; i < 5; i++ {
		t := in[i]
		want := x.DType
		if i == 1 || i == 3 {
			want = ir.Float32
		}
		if t == nil || t.Len() != 1 || t.DType != want {
			return nil, 0, 0, 0, 0, 0, fmt.Errorf("input %d is not a scalar of dtype %s", i, want)
		}
	}
	m = float64(float32(in[1].Float64At(0)) / float32(in[3].Float64At(0)))
	lo, hi, _ = quantRange(x.DType)
	return x, int32(in[2].Int64At(0)), int32(in[4].Int64At(0)), m, lo, hi, nil
}

// qpoolOut is saturate(round_half_even(s / n · m) + y_zero_point), with n
// 1 for an empty window.
func qpoolOut(s int32, n int, m float64, yz int32, lo, hi float64) float64 {
	v := math.RoundToEven(float64(s)/float64(max(n, 1))*m) + float64(yz)
	return min(max(v, lo), hi)
}

// qlinearAveragePoolKernel is effc.QLinearAveragePool: an int32 sum of x −
// x_zero_point over each window (the windows of AveragePool), divided by
// the window's count and rescaled as qpoolOut does.
func qlinearAveragePoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, xz, yz, m, lo, hi, err := qpoolParams(nd, in)
	if err != nil {
		return nil, err
	}
	g, err := poolGeometry(nd, x)
	if err != nil {
		return nil, err
	}
	include := nd.AttrInt("count_include_pad", 0) != 0
	wins := poolWindows(g)
	inP, outP := int(nnProd(g.in)), len(wins)
	planes := int(x.Shape[0] * x.Shape[1])
	shape := append([]int64{x.Shape[0], x.Shape[1]}, g.out...)
	out := ir.NewTensor(x.DType, shape)
	for pl := 0; pl < planes; pl++ {
		for o, w := range wins {
			var s int32
			for _, off := range w.offs {
				s += int32(x.Int64At(pl*inP+off)) - xz
			}
			n := len(w.offs)
			if include {
				n = w.padded
			}
			setFromFloat64(out, pl*outP+o, qpoolOut(s, n, m, yz, lo, hi))
		}
	}
	return []*ir.Tensor{out}, nil
}

// qlinearGlobalAveragePoolKernel is effc.QLinearGlobalAveragePool: the
// window is each whole (n, c) plane.
func qlinearGlobalAveragePoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, xz, yz, m, lo, hi, err := qpoolParams(nd, in)
	if err != nil {
		return nil, err
	}
	planes, inP := int(x.Shape[0]*x.Shape[1]), int(nnProd(x.Shape[2:]))
	shape := append([]int64{}, x.Shape...)
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	out := ir.NewTensor(x.DType, shape)
	for pl := 0; pl < planes; pl++ {
		var s int32
		for i := pl * inP; i < (pl+1)*inP; i++ {
			s += int32(x.Int64At(i)) - xz
		}
		setFromFloat64(out, pl, qpoolOut(s, inP, m, yz, lo, hi))
	}
	return []*ir.Tensor{out}, nil
}
