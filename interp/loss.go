package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// Loss-function kernels: NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss. They are pure functions of their inputs (no
// state, no gradients), so the interpreter evaluates them like any other op.

// nllLossKernel: NegativeLogLikelihoodLoss. input is (N, C, d1..dk) of
// log-probabilities, target (N, d1..dk) class indices, weight (C) optional.
func nllLossKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", x.DType)
	}
	loss, err := nllLoss(n, x.DType, x.Shape, toFloat64(x), in[1], opt(in, 2))
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{loss}, nil
}

// sceLossKernel: SoftmaxCrossEntropyLoss, the negative log-likelihood of
// LogSoftmax(scores) over the class axis 1; the optional second output is
// that log-probability tensor.
func sceLossKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", x.DType)
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("input 0 has rank %d, want >= 2 (N, C, d1, ...)", len(x.Shape))
	}
	src := toFloat64(x)
	logp := make([]float64, len(src))
	classes := int(x.Shape[1])
	outer := int(x.Shape[0])
	inner := int(ir.NumElements(x.Shape[2:]))
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*classes*inner + i
			m := math.Inf(-1)
			for c := 0; c < classes; c++ {
				m = math.Max(m, src[base+c*inner])
			}
			s := 0.0
			for c := 0; c < classes; c++ {
				s += math.Exp(src[base+c*inner] - m)
			}
			ls := math.Log(s)
			for c := 0; c < classes; c++ {
				logp[base+c*inner] = src[base+c*inner] - m - ls
			}
		}
	}
	loss, err := nllLoss(n, x.DType, x.Shape, logp, in[1], opt(in, 2))
	if err != nil {
		return nil, err
	}
	return numOutputs(n, loss, fromFloat64(x.DType, x.Shape, logp)), nil
}

// nllLoss computes loss[n, d] = -w[t]·x[n, t, d] with t = target[n, d] and
// w the weight (all ones when absent); a target equal to the ignore_index
// attribute contributes 0 with weight 0. reduction "none" returns the
// per-element losses in target's shape, "sum" their sum, "mean" their sum
// divided by the sum of the weights used.
func nllLoss(n *ir.Node, dt ir.DType, xShape []int64, x []float64, target, weight *ir.Tensor) (*ir.Tensor, error) {
	if len(xShape) < 2 {
		return nil, fmt.Errorf("input 0 has rank %d, want >= 2 (N, C, d1, ...)", len(xShape))
	}
	if target.DType != ir.Int32 && target.DType != ir.Int64 {
		return nil, fmt.Errorf("input 1 (target) has dtype %s, want i32 or i64", target.DType)
	}
	want := append([]int64{xShape[0]}, xShape[2:]...)
	if !equalShape(target.Shape, want) {
		return nil, fmt.Errorf("input 1 (target) has shape %v, want %v (input 0 shape %v without its class dim)", target.Shape, want, xShape)
	}
	classes := xShape[1]
	var w []float64
	if weight != nil {
		if weight.DType != dt || len(weight.Shape) != 1 || weight.Shape[0] != classes {
			return nil, fmt.Errorf("input 2 (weight) is %s%v, want %s[%d]", weight.DType, weight.Shape, dt, classes)
		}
		w = toFloat64(weight)
	}
	reduction := n.AttrString("reduction", "mean")
	if reduction != "none" && reduction != "sum" && reduction != "mean" {
		return nil, fmt.Errorf("reduction is %q, want none, sum or mean", reduction)
	}
	hasIgnore := n.HasAttr("ignore_index")
	ignore := n.AttrInt("ignore_index", 0)
	t := target.Int64s()
	inner := int(ir.NumElements(xShape[2:]))
	loss := make([]float64, len(t))
	sum, wsum := 0.0, 0.0
	for p, c := range t {
		if hasIgnore && c == ignore {
			continue
		}
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("target %d at position %d is outside [0, %d) and is not ignore_index", c, p, classes)
		}
		wc := 1.0
		if w != nil {
			wc = w[c]
		}
		b, i := p/inner, p%inner
		loss[p] = -x[(b*int(classes)+int(c))*inner+i] * wc
		sum += loss[p]
		wsum += wc
	}
	switch reduction {
	case "none":
		return fromFloat64(dt, target.Shape, loss), nil
	case "sum":
		return fromFloat64(dt, []int64{}, []float64{sum}), nil
	}
	// mean: 0/0 (every target ignored) is NaN, as in the ONNX reference.
	return fromFloat64(dt, []int64{}, []float64{sum / wsum}), nil
}
