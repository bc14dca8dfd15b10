package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Gather-family kernels whose indices are runtime values, so the index map
// of movement.go cannot be computed at compile time. Every index is wrapped
// when negative and then clamped into its dim: a compiled kernel has no error
// channel, so an out-of-range index (an error in the interpreter) reads or
// writes the nearest valid element instead of memory outside the tensor, and
// the run function still returns 0. With constant indices these ops go
// through indexMapKernel instead (see indexOr).

// indexOr compiles a node with indexMapKernel when every non-data input is a
// constant and with f otherwise.
func indexOr(f kernelFunc) kernelFunc {
	im := indexMapKernel(nil)
	return func(k *kernel) error {
		data := dataInputs(k.n)
		for i, b := range k.in {
			if b != nil && !data[i] && b.konst == nil {
				return f(k)
			}
		}
		return im(k)
	}
}

// mxMove copies the raw element src[si] to dst[di] (same dtype, bit-exact).
func (k *kernel) mxMove(dst *buf, di value.Value, src *buf, si value.Value) {
	st, _ := storageType(src.dt)
	v := k.b.NewLoad(st, k.elemPtr(src, si))
	k.b.NewStore(v, k.elemPtr(dst, di))
}

// axisAttr normalises an axis attribute against rank r.
func (k *kernel) axisAttr(name string, def int64, r int) (int, error) {
	a := k.n.AttrInt(name, def)
	if a < -int64(r) || a >= int64(r) {
		return 0, fmt.Errorf("%s %d out of range for rank %d", name, a, r)
	}
	if a < 0 {
		a += int64(r)
	}
	return int(a), nil
}

// gatherKernel: Gather(data, indices) along axis with runtime indices.
func gatherKernel(k *kernel) error {
	x, ind, out := k.in[0], k.in[1], k.out[0]
	axis, err := k.axisAttr("axis", 0, len(x.shape))
	if err != nil {
		return err
	}
	dim := x.shape[axis]
	outer := ir.NumElements(x.shape[:axis])
	inner := ir.NumElements(x.shape[axis+1:])
	n := ind.len()
	k.loop(n, func(j value.Value) {
		idx := k.mxWrapIndex(k.mxLoadInt(ind, j), dim)
		k.loop(outer, func(o value.Value) {
			src := k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(dim)), idx), i64(inner))
			dst := k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(n)), j), i64(inner))
			k.loop(inner, func(e value.Value) {
				k.mxMove(out, k.b.NewAdd(dst, e), x, k.b.NewAdd(src, e))
			})
		})
	})
	return nil
}

// elementsIndex returns the linear index into x of position c of indices
// with c[axis] replaced by the runtime index at that position.
func (k *kernel) elementsIndex(x, ind *buf, axis int, c []value.Value) (value.Value, value.Value) {
	pos := k.linear(c, strides(ind.shape), 0)
	idx := k.mxWrapIndex(k.mxLoadInt(ind, pos), x.shape[axis])
	cc := append([]value.Value{}, c...)
	cc[axis] = idx
	return pos, k.linear(cc, strides(x.shape), 0)
}

// gatherElementsKernel: GatherElements(data, indices) with runtime indices.
func gatherElementsKernel(k *kernel) error {
	x, ind, out := k.in[0], k.in[1], k.out[0]
	axis, err := k.axisAttr("axis", 0, len(x.shape))
	if err != nil {
		return err
	}
	if len(ind.shape) != len(x.shape) {
		return fmt.Errorf("indices rank %d differs from data rank %d", len(ind.shape), len(x.shape))
	}
	k.loopNest(ind.shape, func(c []value.Value) {
		pos, src := k.elementsIndex(x, ind, axis, c)
		k.mxMove(out, pos, x, src)
	})
	return nil
}

// gatherNDKernel: GatherND(data, indices) with batch_dims and runtime
// indices.
func gatherNDKernel(k *kernel) error {
	x, ind, out := k.in[0], k.in[1], k.out[0]
	b, r, q := int(k.n.AttrInt("batch_dims", 0)), len(x.shape), len(ind.shape)
	if q < 1 {
		return fmt.Errorf("indices must have rank >= 1")
	}
	m := int(ind.shape[q-1])
	if b < 0 || b+m > r {
		return fmt.Errorf("batch_dims %d and index length %d do not fit data rank %d", b, m, r)
	}
	str := strides(x.shape)
	slice := ir.NumElements(x.shape[b+m:])
	batches := ir.NumElements(ind.shape[:b])
	perBatch := ir.NumElements(ind.shape[b : q-1])
	batchStride := ir.NumElements(x.shape[b:])
	k.loop(batches, func(bi value.Value) {
		k.loop(perBatch, func(t value.Value) {
			tup := k.b.NewAdd(k.b.NewMul(bi, i64(perBatch)), t)
			var s value.Value = k.b.NewMul(bi, i64(batchStride))
			for j := 0; j < m; j++ {
				v := k.mxLoadInt(ind, k.b.NewAdd(k.b.NewMul(tup, i64(int64(m))), i64(int64(j))))
				s = k.b.NewAdd(s, k.b.NewMul(k.mxWrapIndex(v, x.shape[b+j]), i64(str[b+j])))
			}
			dst := k.b.NewMul(tup, i64(slice))
			k.loop(slice, func(e value.Value) {
				k.mxMove(out, k.b.NewAdd(dst, e), x, k.b.NewAdd(s, e))
			})
		})
	})
	return nil
}

// scatterReduce writes out[di] = reduction(out[di], upd[si]) with the
// ScatterElements/ScatterND reductions none, add, mul, max, min (max and min
// return NaN when either operand is NaN, like Go's max and min).
func (k *kernel) scatterReduce(out *buf, di value.Value, upd *buf, si value.Value, red string) {
	if red == "none" {
		k.mxMove(out, di, upd, si)
		return
	}
	dt := out.dt
	cur := k.load(out, di)
	v := k.load(upd, si)
	var r value.Value
	switch red {
	case "add":
		r = k.arith("add", cur, v, dt)
	case "mul":
		r = k.arith("mul", cur, v, dt)
	case "max", "min":
		var less value.Value // the comparison that picks v
		switch {
		case dt.IsFloat() && red == "max":
			less = k.b.NewFCmp(enum.FPredOLT, cur, v)
		case dt.IsFloat():
			less = k.b.NewFCmp(enum.FPredOGT, cur, v)
		case (dt.IsUnsigned() || dt == ir.Bool) && red == "max":
			less = k.b.NewICmp(enum.IPredULT, cur, v)
		case dt.IsUnsigned() || dt == ir.Bool:
			less = k.b.NewICmp(enum.IPredUGT, cur, v)
		case red == "max":
			less = k.b.NewICmp(enum.IPredSLT, cur, v)
		default:
			less = k.b.NewICmp(enum.IPredSGT, cur, v)
		}
		r = k.b.NewSelect(less, v, cur)
		if dt.IsFloat() {
			r = k.b.NewSelect(k.b.NewFCmp(enum.FPredUNO, v, v), v, r)
		}
	}
	k.store(out, di, r)
}

// scatterReduction validates the reduction attribute.
func (k *kernel) scatterReduction() (string, error) {
	red := k.n.AttrString("reduction", "none")
	switch red {
	case "none", "add", "mul", "max", "min":
		if red != "none" && k.out[0].dt == ir.Bool {
			return "", fmt.Errorf("reduction %s is not defined for bool data", red)
		}
		return red, nil
	}
	return "", fmt.Errorf("reduction %q is not one of none, add, mul, max, min", red)
}

// scatterElementsKernel: ScatterElements(data, indices, updates): a copy of
// data, then the updates written in index order.
func scatterElementsKernel(k *kernel) error {
	x, ind, upd, out := k.in[0], k.in[1], k.in[2], k.out[0]
	axis, err := k.axisAttr("axis", 0, len(x.shape))
	if err != nil {
		return err
	}
	red, err := k.scatterReduction()
	if err != nil {
		return err
	}
	if len(ind.shape) != len(x.shape) {
		return fmt.Errorf("indices rank %d differs from data rank %d", len(ind.shape), len(x.shape))
	}
	k.mxCopy(out, x)
	k.loopNest(ind.shape, func(c []value.Value) {
		pos, dst := k.elementsIndex(x, ind, axis, c)
		k.scatterReduce(out, dst, upd, pos, red)
	})
	return nil
}

// scatterNDKernel: ScatterND(data, indices, updates) with reduction.
func scatterNDKernel(k *kernel) error {
	x, ind, upd, out := k.in[0], k.in[1], k.in[2], k.out[0]
	q := len(ind.shape)
	if q < 1 {
		return fmt.Errorf("indices must have rank >= 1")
	}
	m := int(ind.shape[q-1])
	if m > len(x.shape) {
		return fmt.Errorf("index length %d exceeds data rank %d", m, len(x.shape))
	}
	red, err := k.scatterReduction()
	if err != nil {
		return err
	}
	str := strides(x.shape)
	slice := ir.NumElements(x.shape[m:])
	tuples := ir.NumElements(ind.shape[:q-1])
	k.mxCopy(out, x)
	k.loop(tuples, func(t value.Value) {
		var s value.Value = i64(0)
		for j := 0; j < m; j++ {
			v := k.mxLoadInt(ind, k.b.NewAdd(k.b.NewMul(t, i64(int64(m))), i64(int64(j))))
			s = k.b.NewAdd(s, k.b.NewMul(k.mxWrapIndex(v, x.shape[j]), i64(str[j])))
		}
		src := k.b.NewMul(t, i64(slice))
		k.loop(slice, func(e value.Value) {
			k.scatterReduce(out, k.b.NewAdd(s, e), upd, k.b.NewAdd(src, e), red)
		})
	})
	return nil
}

// oneHotKernel: OneHot(indices, depth, values). The depth is the output's
// static dim on axis; every element starts as values[0] and each in-range
// index (negative ones wrapped once) sets values[1]. Indices outside
// [-depth, depth) leave their row at values[0], as in the interpreter.
func oneHotKernel(k *kernel) error {
	ind, vals, out := k.in[0], k.in[2], k.out[0]
	r := len(ind.shape)
	axis := k.n.AttrInt("axis", -1)
	if axis < -int64(r+1) || axis > int64(r) {
		return fmt.Errorf("axis %d out of range for output rank %d", axis, r+1)
	}
	if axis < 0 {
		axis += int64(r + 1)
	}
	depth := out.shape[axis]
	outer := ir.NumElements(ind.shape[:axis])
	inner := ir.NumElements(ind.shape[axis:])
	k.loop(out.len(), func(i value.Value) { k.mxMove(out, i, vals, i64(0)) })
	k.loop(outer, func(o value.Value) {
		k.loop(inner, func(j value.Value) {
			v := k.mxLoadInt(ind, k.b.NewAdd(k.b.NewMul(o, i64(inner)), j))
			v = k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, v, i64(0)), k.b.NewAdd(v, i64(depth)), v)
			ok := k.b.NewAnd(k.b.NewICmp(enum.IPredSGE, v, i64(0)), k.b.NewICmp(enum.IPredSLT, v, i64(depth)))
			k.ifThen(ok, func() {
				dst := k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(depth)), v), i64(inner)), j)
				k.mxMove(out, dst, vals, i64(1))
			}, nil)
		})
	})
	return nil
}

// reverseSequenceKernel: ReverseSequence(input, sequence_lens) with runtime
// lengths: out[t, b] = in[L-1-t, b] for t < L = lens[b], else in[t, b].
// Lengths are clamped into [0, time dim].
func reverseSequenceKernel(k *kernel) error {
	x, lens, out := k.in[0], k.in[1], k.out[0]
	r := len(x.shape)
	if r < 2 {
		return fmt.Errorf("input 0 has rank %d, want at least 2", r)
	}
	ta, err := k.axisAttr("time_axis", 0, r)
	if err != nil {
		return err
	}
	ba, err := k.axisAttr("batch_axis", 1, r)
	if err != nil {
		return err
	}
	if ta > 1 || ba > 1 || ta == ba {
		return fmt.Errorf("time_axis %d and batch_axis %d must be 0 and 1 in some order", ta, ba)
	}
	str := strides(x.shape)
	inner := ir.NumElements(x.shape[2:])
	k.loop(x.shape[ba], func(b value.Value) {
		l := k.mxClamp(k.mxLoadInt(lens, b), 0, x.shape[ta])
		k.loop(x.shape[ta], func(t value.Value) {
			rev := k.b.NewSub(k.b.NewSub(l, i64(1)), t)
			src := k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, t, l), rev, t)
			dBase := k.b.NewAdd(k.b.NewMul(t, i64(str[ta])), k.b.NewMul(b, i64(str[ba])))
			sBase := k.b.NewAdd(k.b.NewMul(src, i64(str[ta])), k.b.NewMul(b, i64(str[ba])))
			k.loop(inner, func(e value.Value) {
				k.mxMove(out, k.b.NewAdd(dBase, e), x, k.b.NewAdd(sBase, e))
			})
		})
	})
	return nil
}

// nonZeroKernel: NonZero(X) with a runtime X and the static output shape
// [rank, count] the graph declares. Coordinates of non-zero elements are
// written in row-major order; past the static count they are dropped, and
// unused columns (fewer non-zeros at run time) stay 0.
func nonZeroKernel(k *kernel) error {
	x, out := k.in[0], k.out[0]
	r := int64(len(x.shape))
	if len(out.shape) != 2 || out.shape[0] != r {
		return fmt.Errorf("output shape %v, want [%d, count]", out.shape, r)
	}
	nz := out.shape[1]
	k.loop(out.len(), func(i value.Value) { k.b.NewStore(i64(0), k.elemPtr(out, i)) })
	cnt := k.mxLocal(types.I64, i64(0))
	xs := strides(x.shape)
	k.loopNest(x.shape, func(c []value.Value) {
		v := k.load(x, k.linear(c, xs, 0))
		var ne value.Value
		if x.dt.IsFloat() {
			ne = k.b.NewFCmp(enum.FPredUNE, v, k.zero(x.dt))
		} else {
			ne = k.b.NewICmp(enum.IPredNE, v, k.zero(x.dt))
		}
		n := k.mxGet(cnt)
		k.ifThen(k.b.NewAnd(ne, k.b.NewICmp(enum.IPredSLT, n, i64(nz))), func() {
			for d := int64(0); d < r; d++ {
				k.b.NewStore(c[d], k.elemPtr(out, k.b.NewAdd(i64(d*nz), n)))
			}
			k.mxSet(cnt, k.b.NewAdd(n, i64(1)))
		}, nil)
	})
	return nil
}
