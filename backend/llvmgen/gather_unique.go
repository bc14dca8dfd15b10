package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

func init() {
	scratchNeeds["Unique"] = func(n *ir.Node) int64 {
		if len(n.Inputs) == 0 || n.Inputs[0] == nil || !n.Inputs[0].Type.Ranked || !n.Inputs[0].Type.Shape.Static() {
			return 0
		}
		s := n.Inputs[0].Type.Shape.Sizes()
		dim := ir.NumElements(s)
		if n.HasAttr("axis") {
			a := n.AttrInt("axis", 0)
			if a < 0 {
				a += int64(len(s))
			}
			if a < 0 || a >= int64(len(s)) {
				return 0
			}
			dim = s[a]
		}
		return 16 * dim
	}
}

// uniqueKernel compiles Unique (flattened or along axis, sorted or in order
// of first occurrence) for a runtime input, with the static unique count
// the graph declares for Y. It is O(slices²): each slice finds its first
// equal slice, then each first occurrence its output position (its rank
// among the first occurrences when sorted, comparing slices element by
// element with NaN last as in the interpreter). Unique slices past the
// static count are dropped; with fewer at run time the tail stays 0.
// Scratch: per slice, its first occurrence, then per slice its output
// position (valid for first occurrences).
func uniqueKernel(k *kernel) error {
	x := k.in[0]
	if !x.dt.IsFloat() && !x.dt.IsInt() && x.dt != ir.Bool {
		return fmt.Errorf("input has dtype %s, want a number", x.dt)
	}
	shape := []int64{x.len()}
	axis := 0
	if k.n.HasAttr("axis") {
		var err error
		if axis, err = k.axisAttr("axis", 0, len(x.shape)); err != nil {
			return err
		}
		shape = x.shape
	}
	dim := shape[axis]
	outer := ir.NumElements(shape[:axis])
	inner := ir.NumElements(shape[axis+1:])
	size := outer * inner
	sorted := k.n.AttrInt("sorted", 1) != 0
	y, idxOut, inv, counts := k.out[0], k.mxOutput(1), k.mxOutput(2), k.mxOutput(3)
	U := int64(-1)
	if y != nil {
		U = y.shape[axis]
		if len(y.shape) != len(shape) {
			U = y.len() / max(size, 1)
		}
	}
	for _, o := range []*buf{idxOut, counts} {
		if o != nil {
			U = o.len()
		}
	}
	if U < 0 {
		return fmt.Errorf("the unique count is not known")
	}
	first := k.b.NewBitCast(k.scratch, types.NewPointer(types.I64))
	pos := k.b.NewGetElementPtr(types.I64, first, i64(dim))
	at := func(p, i value.Value) value.Value { return k.b.NewGetElementPtr(types.I64, p, i) }
	elem := func(s, e value.Value) value.Value { // flat position of element e of slice s
		q := k.b.NewSDiv(e, i64(inner))
		r := k.b.NewSRem(e, i64(inner))
		return k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(q, i64(dim)), s), i64(inner)), r)
	}
	// cmp returns -1, 0 or 1 (i64) comparing slices a and b.
	cmp := func(a, b value.Value) value.Value {
		res := k.mxLocal(types.I64, i64(0))
		k.loop(size, func(e value.Value) {
			k.ifThen(k.b.NewICmp(enum.IPredEQ, k.mxGet(res), i64(0)), func() {
				u, v := k.load(x, elem(a, e)), k.load(x, elem(b, e))
				var lt, gt value.Value
				switch {
				case x.dt.IsFloat():
					un, vn := k.b.NewFCmp(enum.FPredUNO, u, u), k.b.NewFCmp(enum.FPredUNO, v, v)
					// NaN is greater than every number and equal to NaN.
					lt = k.b.NewOr(k.b.NewFCmp(enum.FPredOLT, u, v), k.b.NewAnd(k.b.NewXor(un, constant.True), vn))
					gt = k.b.NewOr(k.b.NewFCmp(enum.FPredOGT, u, v), k.b.NewAnd(un, k.b.NewXor(vn, constant.True)))
				case x.dt.IsUnsigned() || x.dt == ir.Bool:
					lt, gt = k.b.NewICmp(enum.IPredULT, u, v), k.b.NewICmp(enum.IPredUGT, u, v)
				default:
					lt, gt = k.b.NewICmp(enum.IPredSLT, u, v), k.b.NewICmp(enum.IPredSGT, u, v)
				}
				k.mxSet(res, k.b.NewSelect(lt, i64(-1), k.b.NewSelect(gt, i64(1), i64(0))))
			}, nil)
		})
		return k.mxGet(res)
	}
	// First occurrences.
	k.loop(dim, func(s value.Value) {
		f := k.mxLocal(types.I64, s)
		k.mxLoopV(s, func(t value.Value) {
			k.ifThen(k.b.NewICmp(enum.IPredEQ, k.mxGet(f), s), func() {
				k.ifThen(k.b.NewICmp(enum.IPredEQ, cmp(s, t), i64(0)), func() { k.mxSet(f, t) }, nil)
			}, nil)
		})
		k.b.NewStore(k.mxGet(f), at(first, s))
	})
	isFirst := func(s value.Value) value.Value {
		return k.b.NewICmp(enum.IPredEQ, k.b.NewLoad(types.I64, at(first, s)), s)
	}
	// Output positions of first occurrences.
	seen := k.mxLocal(types.I64, i64(0))
	k.loop(dim, func(s value.Value) {
		k.ifThen(isFirst(s), func() {
			if !sorted {
				k.b.NewStore(k.mxGet(seen), at(pos, s))
				k.mxSet(seen, k.b.NewAdd(k.mxGet(seen), i64(1)))
				return
			}
			rank := k.mxLocal(types.I64, i64(0))
			k.loop(dim, func(t value.Value) {
				k.ifThen(isFirst(t), func() {
					k.ifThen(k.b.NewICmp(enum.IPredSLT, cmp(t, s), i64(0)), func() {
						k.mxSet(rank, k.b.NewAdd(k.mxGet(rank), i64(1)))
					}, nil)
				}, nil)
			})
			k.b.NewStore(k.mxGet(rank), at(pos, s))
		}, nil)
	})
	for _, o := range []*buf{y, idxOut, counts} {
		if o != nil {
			k.loop(o.len(), func(i value.Value) { k.store(o, i, k.zero(o.dt)) })
		}
	}
	inRange := func(p value.Value) value.Value { return k.b.NewICmp(enum.IPredSLT, p, i64(U)) }
	k.loop(dim, func(s value.Value) {
		f := k.b.NewLoad(types.I64, at(first, s))
		p := k.b.NewLoad(types.I64, at(pos, f))
		if inv != nil {
			k.store(inv, s, p)
		}
		k.ifThen(inRange(p), func() {
			if counts != nil {
				k.store(counts, p, k.b.NewAdd(k.load(counts, p), i64(1)))
			}
			k.ifThen(isFirst(s), func() {
				if idxOut != nil {
					k.store(idxOut, p, s)
				}
				if y != nil {
					k.loop(outer, func(o value.Value) {
						k.loop(inner, func(j value.Value) {
							src := k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(dim)), s), i64(inner)), j)
							dst := k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(U)), p), i64(inner)), j)
							k.mxMove(y, dst, x, src)
						})
					})
				}
			}, nil)
		}, nil)
	})
	return nil
}
