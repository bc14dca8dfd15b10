package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Normalization kernels. Statistics are computed in the input's float
// compute type (float for fp32 and half types, double for f64) with two
// passes (mean, then the mean of squared deviations), matching the
// interpreter's formulas within the reduction tolerance.

// rdMeanVar returns the mean and biased variance of the n contiguous
// elements of x starting at base, in float type ft.
func (k *kernel) rdMeanVar(x *buf, base value.Value, n int64, ft *types.FloatType, sum value.Value) (mean, variance value.Value) {
	k.rdSet(sum, rdF(ft, 0))
	k.loop(n, func(j value.Value) {
		k.rdSet(sum, k.rdFAdd(k.rdGet(ft, sum), k.rdLoadF(x, k.rdAdd(base, j), ft)))
	})
	mean = k.b.NewFDiv(k.rdGet(ft, sum), rdF(ft, float64(n)))
	k.rdSet(sum, rdF(ft, 0))
	k.loop(n, func(j value.Value) {
		d := k.b.NewFSub(k.rdLoadF(x, k.rdAdd(base, j), ft), mean)
		k.rdSet(sum, k.rdFAdd(k.rdGet(ft, sum), k.b.NewFMul(d, d)))
	})
	variance = k.b.NewFDiv(k.rdGet(ft, sum), rdF(ft, float64(n)))
	return mean, variance
}

// rdEps reads the epsilon attribute (default 1e-5) as a constant of ft.
func (k *kernel) rdEps(ft *types.FloatType, def float64) value.Value {
	return rdF(ft, float64(k.n.AttrFloat("epsilon", float32(def))))
}

// rdInvStd is 1 / sqrt(variance + eps).
func (k *kernel) rdInvStd(variance, eps value.Value, ft *types.FloatType) value.Value {
	s := k.call(rdIntrinsic("llvm.sqrt", variance), ft, k.b.NewFAdd(variance, eps))
	return k.b.NewFDiv(rdF(ft, 1), s)
}

// rdChannelParam checks a per-channel [c] float operand.
func rdChannelParam(b *buf, c int64, what string) error {
	if err := rdNeedFloat(b, what); err != nil {
		return err
	}
	if len(b.shape) != 1 || b.shape[0] != c {
		return fmt.Errorf("%s has shape %v, want [%d]", what, b.shape, c)
	}
	return nil
}

// batchNormKernel compiles BatchNormalization in inference mode:
// y = x * mul[c] + add[c] with mul = scale / sqrt(var + eps) and
// add = B - mean * mul, computed in double like the interpreter.
func batchNormKernel(k *kernel) error {
	if k.n.AttrInt("training_mode", 0) != 0 {
		return fmt.Errorf("training_mode=1 is not supported: effc runs BatchNormalization in inference mode only")
	}
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	if len(x.shape) < 2 {
		return fmt.Errorf("input 0 (X) has shape %v, want rank >= 2", x.shape)
	}
	if len(k.in) < 5 {
		return fmt.Errorf("needs 5 inputs (X, scale, B, input_mean, input_var), got %d", len(k.in))
	}
	c := x.shape[1]
	for i, name := range []string{"scale", "B", "input_mean", "input_var"} {
		if err := rdChannelParam(k.in[i+1], c, fmt.Sprintf("input %d (%s)", i+1, name)); err != nil {
			return err
		}
	}
	eps := k.rdEps(types.Double, 1e-5)
	plane := ir.NumElements(x.shape[2:])
	k.loopNest([]int64{x.shape[0], c}, func(idx []value.Value) {
		ch := idx[1]
		p := func(i int) value.Value { return k.rdLoadF(k.in[i], ch, types.Double) }
		mul := k.b.NewFDiv(p(1), k.call("llvm.sqrt.f64", types.Double, k.b.NewFAdd(p(4), eps)))
		add := k.b.NewFSub(p(2), k.b.NewFMul(p(3), mul))
		base := k.rdMul(k.b.NewAdd(k.rdMul(idx[0], c), ch), plane)
		k.loop(plane, func(j value.Value) {
			i := k.rdAdd(base, j)
			v := k.rdLoadF(x, i, types.Double)
			k.rdStoreF(y, i, k.b.NewFAdd(k.b.NewFMul(v, mul), add))
		})
	})
	return nil
}

// layerNormKernel compiles LayerNormalization over dims [axis, rank) with
// Scale and optional B broadcast to X, and the optional Mean and
// InvStdDev outputs.
func layerNormKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	axis, err := rdAxis(k.n.AttrInt("axis", -1), len(x.shape))
	if err != nil {
		return fmt.Errorf("attribute axis: %w", err)
	}
	if len(k.in) < 2 || k.in[1] == nil {
		return fmt.Errorf("input 1 (Scale) is missing")
	}
	var bias *buf
	if len(k.in) > 2 {
		bias = k.in[2]
	}
	params := []*buf{k.in[1]}
	if bias != nil {
		params = append(params, bias)
	}
	// Each parameter is either "row-shaped" (indexed by the position within
	// the normalized row) or broadcast generally over X.
	rowShaped := true
	pStr := make([][]int64, len(params))
	for i, p := range params {
		if err := rdNeedFloat(p, "Scale/B"); err != nil {
			return err
		}
		if len(p.shape) > len(x.shape) {
			return fmt.Errorf("input %d has shape %v, not broadcastable to %v", i+1, p.shape, x.shape)
		}
		for d := range p.shape {
			xd := x.shape[len(x.shape)-len(p.shape)+d]
			if p.shape[d] != 1 && p.shape[d] != xd {
				return fmt.Errorf("input %d has shape %v, not broadcastable to %v", i+1, p.shape, x.shape)
			}
		}
		pStr[i] = broadcastStrides(p.shape, x.shape)
		if p.len() != ir.NumElements(x.shape[axis:]) || len(p.shape) > len(x.shape)-axis {
			rowShaped = false
		}
	}
	ft := rdFloat(x.dt)
	eps := k.rdEps(ft, 1e-5)
	rowLen := ir.NumElements(x.shape[axis:])
	sum := k.rdSlot(ft)
	var meanOut, invOut *buf
	if len(k.out) > 1 {
		meanOut = k.out[1]
	}
	if len(k.out) > 2 {
		invOut = k.out[2]
	}
	k.loopNest(x.shape[:axis], func(ridx []value.Value) {
		row := k.linear(ridx, strides(x.shape[:axis]), 0)
		base := k.rdMul(row, rowLen)
		mean, variance := k.rdMeanVar(x, base, rowLen, ft, sum)
		inv := k.rdInvStd(variance, eps, ft)
		if meanOut != nil {
			k.rdStoreF(meanOut, row, mean)
		}
		if invOut != nil {
			k.rdStoreF(invOut, row, inv)
		}
		write := func(i, si, bi value.Value) {
			var v value.Value = k.b.NewFMul(k.b.NewFMul(k.b.NewFSub(k.rdLoadF(x, i, ft), mean), inv), k.rdLoadF(params[0], si, ft))
			if bias != nil {
				v = k.b.NewFAdd(v, k.rdLoadF(bias, bi, ft))
			}
			k.rdStoreF(y, i, v)
		}
		if rowShaped {
			k.loop(rowLen, func(j value.Value) { write(k.rdAdd(base, j), j, j) })
			return
		}
		k.loopNest(x.shape[axis:], func(tidx []value.Value) {
			all := append(append([]value.Value{}, ridx...), tidx...)
			i := k.linear(all, strides(x.shape), 0)
			var bi value.Value
			if bias != nil {
				bi = k.linear(all, pStr[1], 0)
			}
			write(i, k.linear(all, pStr[0], 0), bi)
		})
	})
	return nil
}

// instanceNormKernel compiles InstanceNormalization: every (n, c) plane is
// normalized, then scaled by scale[c] and shifted by B[c].
func instanceNormKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (input)"); err != nil {
		return err
	}
	if len(x.shape) < 3 {
		return fmt.Errorf("input 0 has shape %v, want rank >= 3", x.shape)
	}
	c := x.shape[1]
	if len(k.in) < 3 {
		return fmt.Errorf("needs inputs input, scale and B")
	}
	for i, name := range []string{"scale", "B"} {
		if err := rdChannelParam(k.in[i+1], c, fmt.Sprintf("input %d (%s)", i+1, name)); err != nil {
			return err
		}
	}
	return k.rdGroupNorm(x, y, c, c, k.in[1], k.in[2], true)
}

// groupNormKernel compiles GroupNormalization: channels split into
// num_groups groups normalized together; scale and bias hold one value per
// group, or (opset 21) one per channel.
func groupNormKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	if len(x.shape) < 2 {
		return fmt.Errorf("input 0 has shape %v, want rank >= 2", x.shape)
	}
	if len(k.in) < 3 {
		return fmt.Errorf("needs inputs X, scale and bias")
	}
	c := x.shape[1]
	ng := k.n.AttrInt("num_groups", 0)
	if ng <= 0 || c%ng != 0 {
		return fmt.Errorf("num_groups %d must be positive and divide the %d channels", ng, c)
	}
	perChannel := k.in[1].len() == c && c != ng
	pLen := ng
	if perChannel {
		pLen = c
	}
	for i, name := range []string{"scale", "bias"} {
		if err := rdChannelParam(k.in[i+1], pLen, fmt.Sprintf("input %d (%s)", i+1, name)); err != nil {
			return fmt.Errorf("%w (one value per group, or per channel)", err)
		}
	}
	return k.rdGroupNorm(x, y, c, ng, k.in[1], k.in[2], perChannel)
}

// rdGroupNorm normalizes each of the ng contiguous channel groups of every
// batch item of x [N, C, ...] and applies scale/bias per channel
// (perChannel) or per group.
func (k *kernel) rdGroupNorm(x, y *buf, c, ng int64, scale, bias *buf, perChannel bool) error {
	ft := rdFloat(x.dt)
	eps := k.rdEps(ft, 1e-5)
	plane := ir.NumElements(x.shape[2:])
	cpg := c / ng
	sum := k.rdSlot(ft)
	k.loopNest([]int64{x.shape[0], ng}, func(idx []value.Value) {
		grp := k.b.NewAdd(k.rdMul(idx[0], ng), idx[1])
		base := k.rdMul(grp, cpg*plane)
		mean, variance := k.rdMeanVar(x, base, cpg*plane, ft, sum)
		inv := k.rdInvStd(variance, eps, ft)
		k.loop(cpg, func(cc value.Value) {
			pi := idx[1]
			if perChannel {
				pi = k.b.NewAdd(k.rdMul(idx[1], cpg), cc)
			}
			sc := k.b.NewFMul(inv, k.rdLoadF(scale, pi, ft))
			bs := k.rdLoadF(bias, pi, ft)
			cbase := k.rdAdd(base, k.rdMul(cc, plane))
			k.loop(plane, func(j value.Value) {
				i := k.rdAdd(cbase, j)
				k.rdStoreF(y, i, k.b.NewFAdd(k.b.NewFMul(k.b.NewFSub(k.rdLoadF(x, i, ft), mean), sc), bs))
			})
		})
	})
	return nil
}

// lrnKernel compiles LRN across channels:
// y = x / (bias + alpha/size * Σ x²)^beta over a window of size channels.
// fp32/f64 accumulate the window sums in the output row, so the inner loop
// runs contiguously over the spatial positions.
func lrnKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	if len(x.shape) < 3 {
		return fmt.Errorf("input 0 has shape %v, want rank >= 3", x.shape)
	}
	size := k.n.AttrInt("size", 0)
	if size <= 0 {
		return fmt.Errorf("attribute size is required and must be positive, got %d", size)
	}
	ft := rdFloat(x.dt)
	alpha := rdF(ft, float64(k.n.AttrFloat("alpha", 1e-4))/float64(size))
	beta := rdF(ft, float64(k.n.AttrFloat("beta", 0.75)))
	bias := rdF(ft, float64(k.n.AttrFloat("bias", 1)))
	c := x.shape[1]
	plane := ir.NumElements(x.shape[2:])
	lo, hi := (size-1)/2, size/2
	inRow := x.dt == ir.Float32 || x.dt == ir.Float64
	sum := k.rdSlot(ft)
	k.loopNest([]int64{x.shape[0], c}, func(idx []value.Value) {
		ch := idx[1]
		from := k.rdSmax(k.b.NewSub(ch, i64(lo)), i64(0))
		to := k.rdSmin(k.b.NewAdd(ch, i64(hi+1)), i64(c))
		nbase := k.rdMul(idx[0], c*plane)
		rowBase := k.rdAdd(nbase, k.rdMul(ch, plane))
		final := func(i, s value.Value) {
			d := k.b.NewFAdd(bias, k.b.NewFMul(alpha, s))
			k.rdStoreF(y, i, k.b.NewFDiv(k.rdLoadF(x, i, ft), k.call(rdIntrinsic("llvm.pow", d), ft, d, beta)))
		}
		if inRow {
			k.loop(plane, func(p value.Value) { k.store(y, k.rdAdd(rowBase, p), rdF(ft, 0)) })
			k.rdLoop(from, to, func(kc value.Value) {
				src := k.rdAdd(nbase, k.rdMul(kc, plane))
				k.loop(plane, func(p value.Value) {
					v := k.load(x, k.rdAdd(src, p))
					o := k.rdAdd(rowBase, p)
					k.store(y, o, k.b.NewFAdd(k.load(y, o), k.b.NewFMul(v, v)))
				})
			})
			k.loop(plane, func(p value.Value) {
				i := k.rdAdd(rowBase, p)
				final(i, k.load(y, i))
			})
			return
		}
		k.loop(plane, func(p value.Value) {
			k.rdSet(sum, rdF(ft, 0))
			k.rdLoop(from, to, func(kc value.Value) {
				v := k.rdLoadF(x, k.rdAdd(k.rdAdd(nbase, k.rdMul(kc, plane)), p), ft)
				k.rdSet(sum, k.b.NewFAdd(k.rdGet(ft, sum), k.b.NewFMul(v, v)))
			})
			final(k.rdAdd(rowBase, p), k.rdGet(ft, sum))
		})
	})
	return nil
}

// rdSmax and rdSmin are signed i64 max and min.
func (k *kernel) rdSmax(a, b value.Value) value.Value {
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, a, b), a, b)
}

func (k *kernel) rdSmin(a, b value.Value) value.Value {
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, a, b), a, b)
}

// mvnKernel compiles MeanVarianceNormalization over the axes attribute
// (default [0, 2, 3]): y = (x - E[x]) / (sqrt(Var[x]) + 1e-9).
func mvnKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	axes := k.n.AttrInts("axes", []int64{0, 2, 3})
	reduced := make([]bool, len(x.shape))
	for _, a := range axes {
		ax, err := rdAxis(a, len(x.shape))
		if err != nil {
			return fmt.Errorf("axes %v: %w", axes, err)
		}
		if reduced[ax] {
			return fmt.Errorf("axes %v repeats axis %d", axes, ax)
		}
		reduced[ax] = true
	}
	d := rdSplit(x.shape, reduced)
	ft := rdFloat(x.dt)
	sum := k.rdSlot(ft)
	n := rdF(ft, float64(d.count))
	k.rdGroups(d, func(base, _ value.Value) {
		k.rdSet(sum, rdF(ft, 0))
		k.rdWalk(d, base, func(off value.Value) {
			k.rdSet(sum, k.rdFAdd(k.rdGet(ft, sum), k.rdLoadF(x, off, ft)))
		})
		mean := k.b.NewFDiv(k.rdGet(ft, sum), n)
		k.rdSet(sum, rdF(ft, 0))
		k.rdWalk(d, base, func(off value.Value) {
			dv := k.b.NewFSub(k.rdLoadF(x, off, ft), mean)
			k.rdSet(sum, k.rdFAdd(k.rdGet(ft, sum), k.b.NewFMul(dv, dv)))
		})
		variance := k.b.NewFDiv(k.rdGet(ft, sum), n)
		den := k.b.NewFAdd(k.call(rdIntrinsic("llvm.sqrt", variance), ft, variance), rdF(ft, 1e-9))
		k.rdWalk(d, base, func(off value.Value) {
			k.rdStoreF(y, off, k.b.NewFDiv(k.b.NewFSub(k.rdLoadF(x, off, ft), mean), den))
		})
	})
	return nil
}

// lpNormKernel compiles LpNormalization: x divided by its L1 (p=1) or L2
// (p=2) norm along axis; a zero norm gives NaN or Inf as in the interpreter.
func lpNormKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (input)"); err != nil {
		return err
	}
	p := k.n.AttrInt("p", 2)
	if p != 1 && p != 2 {
		return fmt.Errorf("p = %d, want 1 or 2", p)
	}
	axis, err := rdAxis(k.n.AttrInt("axis", -1), len(x.shape))
	if err != nil {
		return fmt.Errorf("attribute axis: %w", err)
	}
	ft := rdFloat(x.dt)
	sum := k.rdSlot(ft)
	k.rdLines(x.shape, axis, func(base value.Value, size, stride int64) {
		at := func(j value.Value) value.Value { return k.rdAdd(base, k.rdMul(j, stride)) }
		k.rdSet(sum, rdF(ft, 0))
		k.loop(size, func(j value.Value) {
			v := k.rdLoadF(x, at(j), ft)
			if p == 1 {
				k.rdSet(sum, rdStepAbs(k, k.rdGet(ft, sum), v))
			} else {
				k.rdSet(sum, rdStepSq(k, k.rdGet(ft, sum), v))
			}
		})
		norm := k.rdGet(ft, sum)
		if p == 2 {
			norm = k.call(rdIntrinsic("llvm.sqrt", norm), ft, norm)
		}
		k.loop(size, func(j value.Value) {
			k.rdStoreF(y, at(j), k.b.NewFDiv(k.rdLoadF(x, at(j), ft), norm))
		})
	})
	return nil
}
