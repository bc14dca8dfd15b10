package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

func init() {
	scratchNeeds["Softmax"] = softmaxScratch
	scratchNeeds["LogSoftmax"] = softmaxScratch
}

// softmaxScratch is the scratch of Softmax/LogSoftmax over a non-last axis
// of fp32/f64 data: a max row and a sum row over the trailing dims, so the
// loops over them run contiguously (see softmaxColumns).
func softmaxScratch(n *ir.Node) int64 {
	if len(n.Inputs) == 0 || n.Inputs[0] == nil {
		return 0
	}
	t := n.Inputs[0].Type
	if !t.Ranked || !t.Shape.Static() || (t.DType != ir.Float32 && t.DType != ir.Float64) {
		return 0
	}
	shape := t.Shape.Sizes()
	axis, err := rdAxis(n.AttrInt("axis", -1), len(shape))
	if err != nil || len(shape) == 0 {
		return 0
	}
	if inner := ir.NumElements(shape[axis+1:]); inner > 1 {
		return 2 * inner * int64(t.DType.Size())
	}
	return 0
}

// softmaxKind selects Softmax, LogSoftmax or Hardmax.
type softmaxKind int

const (
	smSoftmax softmaxKind = iota
	smLogSoftmax
	smHardmax
)

// rdLines loops over the 1-D lines of x along axis: body gets the offset of
// the line's first element and the stride between its elements (a constant
// 1 when axis is the last dim, so the line loops are contiguous).
func (k *kernel) rdLines(shape []int64, axis int, body func(base value.Value, size, stride int64)) {
	outer, size, inner := rdSplitAxis(shape, axis)
	k.loopNest([]int64{outer, inner}, func(idx []value.Value) {
		body(k.rdAdd(k.rdMul(idx[0], size*inner), idx[1]), size, inner)
	})
}

// softmaxKernel compiles Softmax, LogSoftmax and Hardmax over the axis
// attribute (default -1, opset-13 single-axis semantics). Softmax subtracts
// the line maximum before exp (NaN anywhere in a line makes it NaN, as in
// the interpreter) and sums in the compute type.
func softmaxKernel(kind softmaxKind) kernelFunc {
	return func(k *kernel) error {
		x, y := k.in[0], k.out[0]
		if err := rdNeedFloat(x, "input 0"); err != nil {
			return err
		}
		if len(x.shape) == 0 {
			return fmt.Errorf("input 0 is a scalar, want rank >= 1")
		}
		axis, err := rdAxis(k.n.AttrInt("axis", -1), len(x.shape))
		if err != nil {
			return fmt.Errorf("attribute axis: %w", err)
		}
		ft := rdFloat(x.dt)
		if kind == smHardmax {
			k.hardmaxLines(x, y, axis)
			return nil
		}
		if _, _, inner := rdSplitAxis(x.shape, axis); inner > 1 && softmaxScratch(k.n) > 0 {
			k.softmaxColumns(x, y, axis, kind == smLogSoftmax)
			return nil
		}
		mSlot, sSlot := k.rdSlot(ft), k.rdSlot(ft)
		// keepExp stores exp(x - max) in the output and divides it in place;
		// half outputs recompute it instead of re-reading rounded values.
		keepExp := kind == smSoftmax && (x.dt == ir.Float32 || x.dt == ir.Float64)
		k.rdLines(x.shape, axis, func(base value.Value, size, stride int64) {
			at := func(j value.Value) value.Value { return k.rdAdd(base, k.rdMul(j, stride)) }
			var m value.Value
			if stride == 1 {
				m = k.rdRowExtreme(x, base, size, ft, true, false, mSlot)
			} else {
				k.rdSet(mSlot, rdF(ft, math.Inf(-1)))
				k.loop(size, func(j value.Value) {
					k.rdSet(mSlot, k.rdMaxNaN(k.rdGet(ft, mSlot), k.load(x, at(j))))
				})
				m = k.rdGet(ft, mSlot)
			}
			k.rdSet(sSlot, rdF(ft, 0))
			k.loop(size, func(j value.Value) {
				e := k.rdExp(k.b.NewFSub(k.load(x, at(j)), m))
				if keepExp {
					k.store(y, at(j), e)
				}
				k.rdSet(sSlot, k.rdFAdd(k.rdGet(ft, sSlot), e))
			})
			s := k.rdGet(ft, sSlot)
			if kind == smLogSoftmax {
				// (x - max) - log(sum): adding max to log(sum) first would
				// round it at max's magnitude.
				ls := k.call(rdIntrinsic("llvm.log", s), ft, s)
				k.loop(size, func(j value.Value) {
					k.store(y, at(j), k.b.NewFSub(k.b.NewFSub(k.load(x, at(j)), m), ls))
				})
				return
			}
			k.loop(size, func(j value.Value) {
				var e value.Value
				if keepExp {
					e = k.load(y, at(j))
				} else {
					e = k.rdExp(k.b.NewFSub(k.load(x, at(j)), m))
				}
				k.store(y, at(j), k.b.NewFDiv(e, s))
			})
		})
		return nil
	}
}

// hardmaxLines writes 1 at the first maximal element of every line and 0
// elsewhere; a NaN counts as the maximum (the first NaN wins).
func (k *kernel) hardmaxLines(x, y *buf, axis int) {
	t := computeType(x.dt)
	best, bestV := k.rdSlot(types.I64), k.rdSlot(t)
	one := rdF(rdFloat(y.dt), 1)
	k.rdLines(x.shape, axis, func(base value.Value, size, stride int64) {
		at := func(j value.Value) value.Value { return k.rdAdd(base, k.rdMul(j, stride)) }
		k.rdSet(best, i64(0))
		k.loop(size, func(j value.Value) {
			k.store(y, at(j), k.zero(y.dt))
		})
		if size == 0 {
			return
		}
		k.rdSet(bestV, k.load(x, base))
		k.loop(size, func(j value.Value) {
			v, bv := k.load(x, at(j)), k.rdGet(t, bestV)
			take := k.b.NewAnd(k.b.NewFCmp(enum.FPredORD, bv, bv),
				k.b.NewOr(k.b.NewFCmp(enum.FPredOGT, v, bv), k.rdIsNaN(v)))
			k.rdSet(best, k.b.NewSelect(take, j, k.rdGet(types.I64, best)))
			k.rdSet(bestV, k.b.NewSelect(take, v, bv))
		})
		k.store(y, at(k.rdGet(types.I64, best)), one)
	})
}

// softmaxColumns is Softmax/LogSoftmax over a non-last axis of fp32/f64
// data: per outer index, the max and the sum of exp for all inner positions
// are kept in two scratch rows and every pass loops contiguously over the
// inner positions (so it vectorizes), instead of walking each line with
// stride inner.
func (k *kernel) softmaxColumns(x, y *buf, axis int, logSoftmax bool) {
	outer, size, inner := rdSplitAxis(x.shape, axis)
	ft := rdFloat(x.dt)
	mrow := k.b.NewBitCast(k.scratch, types.NewPointer(ft))
	srow := k.b.NewGetElementPtr(ft, mrow, i64(inner))
	at := func(row value.Value, i value.Value) value.Value { return k.b.NewGetElementPtr(ft, row, i) }
	k.loop(outer, func(o value.Value) {
		base := k.rdMul(o, size*inner)
		pos := func(j, i value.Value) value.Value { return k.rdAdd(k.rdAdd(base, k.rdMul(j, inner)), i) }
		k.loop(inner, func(i value.Value) {
			k.b.NewStore(rdF(ft, math.Inf(-1)), at(mrow, i))
			k.b.NewStore(rdF(ft, 0), at(srow, i))
		})
		k.loop(size, func(j value.Value) {
			k.loop(inner, func(i value.Value) {
				p := at(mrow, i)
				k.b.NewStore(k.rdMaxNaN(k.b.NewLoad(ft, p), k.load(x, pos(j, i))), p)
			})
		})
		k.loop(size, func(j value.Value) {
			k.loop(inner, func(i value.Value) {
				e := k.rdExp(k.b.NewFSub(k.load(x, pos(j, i)), k.b.NewLoad(ft, at(mrow, i))))
				if !logSoftmax {
					k.store(y, pos(j, i), e)
				}
				p := at(srow, i)
				k.b.NewStore(k.b.NewFAdd(k.b.NewLoad(ft, p), e), p)
			})
		})
		if logSoftmax {
			k.loop(inner, func(i value.Value) {
				p := at(srow, i)
				s := k.b.NewLoad(ft, p)
				k.b.NewStore(k.call(rdIntrinsic("llvm.log", s), ft, s), p)
			})
		}
		k.loop(size, func(j value.Value) {
			k.loop(inner, func(i value.Value) {
				q := pos(j, i)
				s := k.b.NewLoad(ft, at(srow, i))
				if logSoftmax {
					// (x - max) - log(sum), as on the last axis.
					k.store(y, q, k.b.NewFSub(k.b.NewFSub(k.load(x, q), k.b.NewLoad(ft, at(mrow, i))), s))
					return
				}
				k.store(y, q, k.b.NewFDiv(k.load(y, q), s))
			})
		})
	})
}
