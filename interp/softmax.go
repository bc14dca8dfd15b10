package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// softmaxKernel builds Softmax, LogSoftmax and Hardmax: row is applied to
// every 1-D slice along the `axis` attribute (default -1, opset-13
// single-axis semantics). Floating types only; computation is in float64.
func softmaxKernel(row func(x, out []float64)) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", x.DType)
		}
		if len(x.Shape) == 0 {
			return nil, fmt.Errorf("input 0 is a scalar, want rank >= 1")
		}
		axis, err := normAxis(n.AttrInt("axis", -1), len(x.Shape))
		if err != nil {
			return nil, fmt.Errorf("attribute axis: %w", err)
		}
		src := toFloat64(x)
		out := make([]float64, len(src))
		outer := int(ir.NumElements(x.Shape[:axis]))
		size := int(x.Shape[axis])
		inner := int(ir.NumElements(x.Shape[axis+1:]))
		rowIn, rowOut := make([]float64, size), make([]float64, size)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*size*inner + i
				for k := 0; k < size; k++ {
					rowIn[k] = src[base+k*inner]
				}
				row(rowIn, rowOut)
				for k := 0; k < size; k++ {
					out[base+k*inner] = rowOut[k]
				}
			}
		}
		return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
	}
}

// rowMax returns the largest element (NaN if any is NaN, -Inf if empty).
func rowMax(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// softmaxRow computes exp(x - max) / sum.
func softmaxRow(x, out []float64) {
	m := rowMax(x)
	sum := 0.0
	for k, v := range x {
		out[k] = math.Exp(v - m)
		sum += out[k]
	}
	for k := range out {
		out[k] /= sum
	}
}

// logSoftmaxRow computes x - max - log(sum(exp(x - max))).
func logSoftmaxRow(x, out []float64) {
	m := rowMax(x)
	sum := 0.0
	for _, v := range x {
		sum += math.Exp(v - m)
	}
	ls := math.Log(sum)
	for k, v := range x {
		out[k] = v - m - ls
	}
}

// hardmaxRow puts 1 at the first maximal element and 0 elsewhere; a NaN
// counts as the maximum, as in numpy's argmax.
func hardmaxRow(x, out []float64) {
	best := 0
	for k, v := range x {
		out[k] = 0
		if x[best] == x[best] && (v > x[best] || v != v) {
			best = k
		}
	}
	if len(x) > 0 {
		out[best] = 1
	}
}
