package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// nllLossKernel compiles NegativeLogLikelihoodLoss.
func nllLossKernel(k *kernel) error { return k.lossKernel(false) }

// sceLossKernel compiles SoftmaxCrossEntropyLoss (optional output 1 is the
// log-softmax of the scores over axis 1).
func sceLossKernel(k *kernel) error { return k.lossKernel(true) }

// lossKernel writes loss[p] = -w[t]·logp[n, t, d] with t = target[p], like
// interp/loss.go, computing in double precision. With softmax the
// log-probabilities are LogSoftmax(x) over axis 1, computed per position.
// A target equal to ignore_index contributes 0 with weight 0; a target
// outside [0, C) (an error in the interpreter) is treated the same way,
// since a compiled kernel has no error channel. Reductions: none, sum, mean
// (sum of losses over sum of weights; NaN when every target is ignored).
func (k *kernel) lossKernel(softmax bool) error {
	x, target, weight := k.in[0], k.in[1], k.mxInput(2)
	if len(x.shape) < 2 {
		return fmt.Errorf("input 0 has rank %d, want >= 2", len(x.shape))
	}
	if target.dt != ir.Int32 && target.dt != ir.Int64 {
		return fmt.Errorf("target has dtype %s, want i32 or i64", target.dt)
	}
	red := k.n.AttrString("reduction", "mean")
	if red != "none" && red != "sum" && red != "mean" {
		return fmt.Errorf("reduction is %q, want none, sum or mean", red)
	}
	classes := x.shape[1]
	inner := ir.NumElements(x.shape[2:])
	count := x.shape[0] * inner
	if target.len() != count {
		return fmt.Errorf("target has %d elements, want %d", target.len(), count)
	}
	hasIgnore := k.n.HasAttr("ignore_index")
	ignore := k.n.AttrInt("ignore_index", 0)
	loss := k.out[0]
	logp := k.mxOutput(1)
	sum := k.mxLocal(f64, mxF64c(0))
	wsum := k.mxLocal(f64, mxF64c(0))
	k.loop(count, func(p value.Value) {
		o := k.b.NewSDiv(p, i64(inner))
		i := k.b.NewSRem(p, i64(inner))
		base := k.b.NewAdd(k.b.NewMul(o, i64(classes*inner)), i) // x[o, 0, i]
		at := func(c value.Value) value.Value { return k.b.NewAdd(base, k.b.NewMul(c, i64(inner))) }
		var m, ls value.Value
		if softmax {
			mx := k.mxLocal(f64, mxF64c(math.Inf(-1)))
			k.loop(classes, func(c value.Value) {
				v := k.mxLoadF64(x, at(c))
				cur := k.mxGet(mx)
				k.mxSet(mx, k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, v, cur), v, cur))
			})
			m = k.mxGet(mx)
			s := k.mxLocal(f64, mxF64c(0))
			k.loop(classes, func(c value.Value) {
				v := k.b.NewFSub(k.mxLoadF64(x, at(c)), m)
				k.mxSet(s, k.b.NewFAdd(k.mxGet(s), k.call("exp", f64, v)))
			})
			ls = k.call("log", f64, k.mxGet(s))
			if logp != nil {
				k.loop(classes, func(c value.Value) {
					v := k.b.NewFSub(k.b.NewFSub(k.mxLoadF64(x, at(c)), m), ls)
					k.mxStoreF64(logp, at(c), v)
				})
			}
		}
		t := k.mxLoadInt(target, p)
		valid := k.b.NewAnd(k.b.NewICmp(enum.IPredSGE, t, i64(0)), k.b.NewICmp(enum.IPredSLT, t, i64(classes)))
		if hasIgnore {
			valid = k.b.NewAnd(valid, k.b.NewICmp(enum.IPredNE, t, i64(ignore)))
		}
		lossSlot := k.mxLocal(f64, mxF64c(0))
		k.ifThen(valid, func() {
			v := k.mxLoadF64(x, at(t))
			if softmax {
				v = k.b.NewFSub(k.b.NewFSub(v, m), ls)
			}
			var wc value.Value = mxF64c(1)
			if weight != nil {
				wc = k.mxLoadF64(weight, t)
			}
			l := k.b.NewFMul(k.b.NewFNeg(v), wc)
			k.mxSet(lossSlot, l)
			k.mxSet(sum, k.b.NewFAdd(k.mxGet(sum), l))
			k.mxSet(wsum, k.b.NewFAdd(k.mxGet(wsum), wc))
		}, nil)
		if red == "none" {
			k.mxStoreF64(loss, p, k.mxGet(lossSlot))
		}
	})
	switch red {
	case "sum":
		k.mxStoreF64(loss, i64(0), k.mxGet(sum))
	case "mean":
		k.mxStoreF64(loss, i64(0), k.b.NewFDiv(k.mxGet(sum), k.mxGet(wsum)))
	}
	return nil
}
