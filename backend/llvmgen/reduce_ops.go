package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// rdReduce describes a Reduce* op the way the interpreter does
// (interp/reduce.go): floating inputs fold every element into an
// accumulator starting at init and finish with final; integer inputs use
// the exact wrapping integer fold when intStep is set, and otherwise the
// float path (in double) truncated back to the integer type.
type rdReduce struct {
	init     float64
	step     func(k *kernel, acc, x value.Value) value.Value // float fold
	final    func(k *kernel, acc value.Value, count int64) value.Value
	shiftMax bool // subtract the group maximum first (ReduceLogSumExp)
	extreme  int  // +1 ReduceMax, -1 ReduceMin: fp32/f64 rows use rdRowExtreme

	intInit func(dt ir.DType) int64
	intStep func(k *kernel, acc, x value.Value, dt ir.DType) value.Value
}

// Float folds.
func rdStepSum(k *kernel, acc, x value.Value) value.Value { return k.rdFAdd(acc, x) }
func rdStepSq(k *kernel, acc, x value.Value) value.Value  { return k.rdFAdd(acc, k.b.NewFMul(x, x)) }
func rdStepAbs(k *kernel, acc, x value.Value) value.Value {
	return k.rdFAdd(acc, k.call(rdIntrinsic("llvm.fabs", x), x.Type(), x))
}
func rdStepExp(k *kernel, acc, x value.Value) value.Value {
	return k.rdFAdd(acc, k.rdExp(x))
}
func rdStepProd(k *kernel, acc, x value.Value) value.Value {
	m := k.b.NewFMul(acc, x)
	m.FastMathFlags = []enum.FastMathFlag{enum.FastMathFlagReassoc}
	return m
}
func rdStepMax(k *kernel, acc, x value.Value) value.Value { return k.rdMaxNaN(acc, x) }
func rdStepMin(k *kernel, acc, x value.Value) value.Value { return k.rdMinNaN(acc, x) }

// Float finals.
func rdFinalMean(k *kernel, acc value.Value, count int64) value.Value {
	return k.b.NewFDiv(acc, rdF(acc.Type().(*types.FloatType), float64(count)))
}
func rdFinalSqrt(k *kernel, acc value.Value, _ int64) value.Value {
	return k.call(rdIntrinsic("llvm.sqrt", acc), acc.Type(), acc)
}
func rdFinalLog(k *kernel, acc value.Value, _ int64) value.Value {
	return k.call(rdIntrinsic("llvm.log", acc), acc.Type(), acc)
}

// rdIntrinsic names the float overload of an llvm.* math intrinsic.
func rdIntrinsic(base string, x value.Value) string {
	if x.Type().Equal(types.Double) {
		return base + ".f64"
	}
	return base + ".f32"
}

// Integer folds (wrapping in the storage width, like the interpreter's
// int64 fold truncated back).
func rdIntSum(k *kernel, acc, x value.Value, _ ir.DType) value.Value { return k.b.NewAdd(acc, x) }
func rdIntSq(k *kernel, acc, x value.Value, _ ir.DType) value.Value {
	return k.b.NewAdd(acc, k.b.NewMul(x, x))
}
func rdIntProd(k *kernel, acc, x value.Value, _ ir.DType) value.Value { return k.b.NewMul(acc, x) }
func rdIntAbs(k *kernel, acc, x value.Value, dt ir.DType) value.Value {
	if dt.IsUnsigned() {
		return k.b.NewAdd(acc, x)
	}
	neg := k.b.NewICmp(enum.IPredSLT, x, constant.NewInt(x.Type().(*types.IntType), 0))
	return k.b.NewAdd(acc, k.b.NewSelect(neg, k.b.NewSub(constant.NewInt(x.Type().(*types.IntType), 0), x), x))
}
func rdIntMax(k *kernel, acc, x value.Value, dt ir.DType) value.Value { return k.max(acc, x, dt) }
func rdIntMin(k *kernel, acc, x value.Value, dt ir.DType) value.Value {
	pred := enum.IPredSGT
	if dt.IsUnsigned() {
		pred = enum.IPredUGT
	}
	return k.b.NewSelect(k.b.NewICmp(pred, x, acc), acc, x)
}

func rdConst(v int64) func(ir.DType) int64 { return func(ir.DType) int64 { return v } }

// rdIntLow and rdIntHigh are the smallest and largest values of an integer
// dtype, as the bits of its storage type (uint64 max is -1).
func rdIntLow(dt ir.DType) int64 {
	if dt.IsUnsigned() {
		return 0
	}
	return -1 << (8*dt.Size() - 1)
}

func rdIntHigh(dt ir.DType) int64 {
	if dt.IsUnsigned() {
		if dt.Size() == 8 {
			return -1
		}
		return 1<<(8*dt.Size()) - 1
	}
	return 1<<(8*dt.Size()-1) - 1
}

var rdReduceOps = map[string]rdReduce{
	"ReduceSum":       {step: rdStepSum, intInit: rdConst(0), intStep: rdIntSum},
	"ReduceMean":      {step: rdStepSum, final: rdFinalMean},
	"ReduceMax":       {init: math.Inf(-1), step: rdStepMax, extreme: 1, intInit: rdIntLow, intStep: rdIntMax},
	"ReduceMin":       {init: math.Inf(1), step: rdStepMin, extreme: -1, intInit: rdIntHigh, intStep: rdIntMin},
	"ReduceProd":      {init: 1, step: rdStepProd, intInit: rdConst(1), intStep: rdIntProd},
	"ReduceL1":        {step: rdStepAbs, intInit: rdConst(0), intStep: rdIntAbs},
	"ReduceL2":        {step: rdStepSq, final: rdFinalSqrt},
	"ReduceLogSum":    {step: rdStepSum, final: rdFinalLog},
	"ReduceLogSumExp": {step: rdStepExp, final: rdFinalLog, shiftMax: true},
	"ReduceSumSquare": {step: rdStepSq, intInit: rdConst(0), intStep: rdIntSq},
}

// rdNumeric refuses dtypes the reductions do not compile (bool, fp8).
func rdNumeric(b *buf, what string) error {
	if b == nil {
		return fmt.Errorf("%s is missing", what)
	}
	if b.dt.IsInt() || (b.dt.IsFloat() && b.dt.Size() >= 2) {
		return nil
	}
	return fmt.Errorf("%s has dtype %s, want a numeric type", what, b.dt)
}

// reduceKernel compiles a Reduce* node: data, optional constant axes input
// (or axes attribute before opset 18), keepdims, noop_with_empty_axes.
//
// When the innermost input dim is kept and the accumulator fits the output
// type (fp32, f64, integers), the kernel accumulates whole output rows: the
// inner loop runs contiguously over the kept dim and vectorizes. Otherwise
// each output element folds its group into a scalar, with the innermost
// reduced dim contiguous.
func reduceKernel(op rdReduce) kernelFunc {
	return func(k *kernel) error {
		x, y := k.in[0], k.out[0]
		if err := rdNumeric(x, "input 0 (data)"); err != nil {
			return err
		}
		var axes []int64
		if len(k.in) > 1 && k.in[1] != nil {
			a, err := k.rdConstInts(1, "axes")
			if err != nil {
				return err
			}
			axes = a
		} else {
			axes = k.n.AttrInts("axes", nil)
		}
		rank := len(x.shape)
		reduced := make([]bool, rank)
		if len(axes) == 0 {
			if k.n.AttrInt("noop_with_empty_axes", 0) != 0 {
				k.e.memcpy(k.b, k.b.NewBitCast(y.ptr, i8p), k.b.NewBitCast(x.ptr, i8p), x.len()*int64(x.dt.Size()))
				return nil
			}
			for i := range reduced {
				reduced[i] = true
			}
		}
		for _, a := range axes {
			ax, err := rdAxis(a, rank)
			if err != nil {
				return fmt.Errorf("axes %v: %w", axes, err)
			}
			if reduced[ax] {
				return fmt.Errorf("axes %v repeats axis %d", axes, a)
			}
			reduced[ax] = true
		}
		d := rdSplit(x.shape, reduced)
		if d.groups != y.len() {
			return fmt.Errorf("output has %d elements, want %d", y.len(), d.groups)
		}
		intPath := x.dt.IsInt() && op.intStep != nil
		if d.lastKept && !op.shiftMax && (intPath || x.dt == ir.Float32 || x.dt == ir.Float64) {
			k.reduceRows(op, d, x, y, intPath)
			return nil
		}
		k.reduceScalar(op, d, x, y, intPath)
		return nil
	}
}

// rdPlusZero is r + (+0): the interpreter adds its (zero) max shift to
// every float reduction result, which turns a -0 result into +0; adding
// +0 here (which LLVM may not fold away) keeps the compiled result
// bit-identical.
func rdPlusZero(k *kernel, r value.Value) value.Value {
	return k.b.NewFAdd(r, rdF(r.Type().(*types.FloatType), 0))
}

// rdInitValue is op's initial accumulator in type t.
func rdInitValue(op rdReduce, dt ir.DType, t types.Type, intPath bool) value.Value {
	if intPath {
		return constant.NewInt(t.(*types.IntType), op.intInit(dt))
	}
	return rdF(t.(*types.FloatType), op.init)
}

// reduceRows accumulates into whole output rows (innermost dim kept).
func (k *kernel) reduceRows(op rdReduce, d rdDims, x, y *buf, intPath bool) {
	n := len(d.keptSize)
	L := d.keptSize[n-1]
	t := computeType(x.dt)
	k.loopNest(d.keptSize[:n-1], func(idx []value.Value) {
		base := k.linear(idx, d.keptStride[:n-1], 0)
		row := k.rdMul(k.linear(idx, strides(d.keptSize[:n-1]), 0), L)
		init := rdInitValue(op, x.dt, t, intPath)
		k.loop(L, func(l value.Value) { k.store(y, k.rdAdd(row, l), init) })
		k.rdWalk(d, base, func(off value.Value) {
			k.loop(L, func(l value.Value) {
				o := k.rdAdd(row, l)
				xv := k.load(x, k.rdAdd(off, l))
				acc := k.load(y, o)
				if intPath {
					k.store(y, o, op.intStep(k, acc, xv, x.dt))
				} else {
					k.store(y, o, op.step(k, acc, xv))
				}
			})
		})
		if !intPath {
			k.loop(L, func(l value.Value) {
				o := k.rdAdd(row, l)
				r := k.load(y, o)
				if op.final != nil {
					r = op.final(k, r, d.count)
				}
				k.store(y, o, rdPlusZero(k, r))
			})
		}
	})
}

// reduceScalar folds each output element's group into a scalar.
func (k *kernel) reduceScalar(op rdReduce, d rdDims, x, y *buf, intPath bool) {
	var t types.Type
	var ft *types.FloatType
	if intPath {
		t = computeType(x.dt)
	} else {
		ft = rdFloat(x.dt)
		if x.dt.IsInt() {
			ft = types.Double
		}
		t = ft
	}
	acc := k.rdSlot(t)
	var shift value.Value
	if op.shiftMax {
		shift = k.rdSlot(ft)
	}
	k.rdGroups(d, func(base, o value.Value) {
		var m value.Value
		if op.shiftMax {
			k.rdSet(shift, rdF(ft, math.Inf(-1)))
			k.rdWalk(d, base, func(off value.Value) {
				k.rdSet(shift, k.rdMaxNaN(k.rdGet(ft, shift), k.rdLoadF(x, off, ft)))
			})
			m = k.rdGet(ft, shift)
			inf := k.b.NewFCmp(enum.FPredOEQ, k.call(rdIntrinsic("llvm.fabs", m), ft, m), rdF(ft, math.Inf(1)))
			m = k.b.NewSelect(inf, rdF(ft, 0), m)
		}
		k.rdSet(acc, rdInitValue(op, x.dt, t, intPath))
		if last := len(d.redSize) - 1; op.extreme != 0 && !intPath && !d.lastKept && last >= 0 &&
			(x.dt == ir.Float32 || x.dt == ir.Float64) {
			// Innermost reduced dim contiguous: vector rows.
			row := k.rdSlot(ft)
			k.loopNest(d.redSize[:last], func(idx []value.Value) {
				off := k.rdAdd(base, k.linear(idx, d.redStride[:last], 0))
				v := k.rdRowExtreme(x, off, d.redSize[last], ft, op.extreme > 0, false, row)
				k.rdSet(acc, op.step(k, k.rdGet(t, acc), v))
			})
			k.rdStoreF(y, o, rdPlusZero(k, k.rdGet(t, acc)))
			return
		}
		k.rdWalk(d, base, func(off value.Value) {
			a := k.rdGet(t, acc)
			if intPath {
				k.rdSet(acc, op.intStep(k, a, k.load(x, off), x.dt))
				return
			}
			xv := k.rdLoadF(x, off, ft)
			if m != nil {
				xv = k.b.NewFSub(xv, m)
			}
			k.rdSet(acc, op.step(k, a, xv))
		})
		r := k.rdGet(t, acc)
		if intPath {
			k.store(y, o, r)
			return
		}
		if op.final != nil {
			r = op.final(k, r, d.count)
		}
		if m != nil {
			r = k.b.NewFAdd(r, m)
		} else {
			r = rdPlusZero(k, r)
		}
		k.rdStoreF(y, o, r)
	})
}

// rdIntOrder is the integer predicate "a is larger" (largest) or "a is
// smaller" for dt's signedness.
func rdIntOrder(dt ir.DType, largest bool) enum.IPred {
	switch {
	case dt.IsUnsigned() && largest:
		return enum.IPredUGT
	case dt.IsUnsigned():
		return enum.IPredULT
	case largest:
		return enum.IPredSGT
	}
	return enum.IPredSLT
}

// argKernel compiles ArgMax (largest) or ArgMin: axis, keepdims,
// select_last_index. As in the interpreter, the first NaN wins.
func argKernel(largest bool) kernelFunc {
	return func(k *kernel) error {
		x, y := k.in[0], k.out[0]
		if err := rdNumeric(x, "input 0 (data)"); err != nil {
			return err
		}
		if len(x.shape) == 0 {
			return fmt.Errorf("input 0 is a scalar, want rank >= 1")
		}
		axis, err := rdAxis(k.n.AttrInt("axis", 0), len(x.shape))
		if err != nil {
			return err
		}
		outer, size, inner := rdSplitAxis(x.shape, axis)
		if size == 0 {
			return fmt.Errorf("input 0 has shape %v, empty along axis %d", x.shape, axis)
		}
		last := k.n.AttrInt("select_last_index", 0) != 0
		t := computeType(x.dt)
		bestI, bestV := k.rdSlot(types.I64), k.rdSlot(t)
		fl := x.dt.IsFloat()
		gt := func(a, b value.Value) value.Value { // a strictly beats b, ignoring NaN
			if fl {
				if largest {
					return k.b.NewFCmp(enum.FPredOGT, a, b)
				}
				return k.b.NewFCmp(enum.FPredOLT, a, b)
			}
			return k.b.NewICmp(rdIntOrder(x.dt, largest), a, b)
		}
		// upd reports whether the current value cv replaces the best bv.
		upd := func(cv, bv value.Value) value.Value {
			if fl {
				bN, cN := k.rdIsNaN(bv), k.rdIsNaN(cv)
				cb := k.b.NewAnd(k.b.NewXor(bN, constant.True), k.b.NewOr(cN, gt(cv, bv)))
				if !last {
					return cb
				}
				bc := k.b.NewAnd(k.b.NewXor(cN, constant.True), k.b.NewOr(bN, gt(bv, cv)))
				tie := k.b.NewAnd(k.b.NewXor(bc, constant.True), k.b.NewXor(bN, constant.True))
				return k.b.NewOr(cb, tie)
			}
			u := gt(cv, bv)
			if last {
				u = k.b.NewOr(u, k.b.NewXor(gt(bv, cv), constant.True))
			}
			return u
		}
		if inner > 1 && argScratch(k.n) > 0 {
			// Best values of all inner positions in a scratch row, so the
			// loops run contiguously over them.
			vrow := k.b.NewBitCast(k.scratch, types.NewPointer(t))
			k.loop(outer, func(o value.Value) {
				base, obase := k.rdMul(o, size*inner), k.rdMul(o, inner)
				k.loop(inner, func(i value.Value) {
					k.b.NewStore(k.load(x, k.rdAdd(base, i)), k.b.NewGetElementPtr(t, vrow, i))
					k.store(y, k.rdAdd(obase, i), i64(0))
				})
				k.rdLoop(i64(1), i64(size), func(j value.Value) {
					row := k.rdAdd(base, k.rdMul(j, inner))
					k.loop(inner, func(i value.Value) {
						vp := k.b.NewGetElementPtr(t, vrow, i)
						cv, bv := k.load(x, k.rdAdd(row, i)), k.b.NewLoad(t, vp)
						u := upd(cv, bv)
						k.b.NewStore(k.b.NewSelect(u, cv, bv), vp)
						oi := k.rdAdd(obase, i)
						k.store(y, oi, k.b.NewSelect(u, j, k.load(y, oi)))
					})
				})
			})
			return nil
		}
		k.loopNest([]int64{outer, inner}, func(idx []value.Value) {
			base := k.b.NewAdd(k.rdMul(idx[0], size*inner), idx[1])
			k.rdSet(bestI, i64(0))
			k.rdSet(bestV, k.load(x, base))
			k.rdLoop(i64(1), i64(size), func(j value.Value) {
				cv := k.load(x, k.b.NewAdd(base, k.rdMul(j, inner)))
				bv := k.rdGet(t, bestV)
				u := upd(cv, bv)
				k.rdSet(bestI, k.b.NewSelect(u, j, k.rdGet(types.I64, bestI)))
				k.rdSet(bestV, k.b.NewSelect(u, cv, bv))
			})
			k.store(y, k.b.NewAdd(k.rdMul(idx[0], inner), idx[1]), k.rdGet(types.I64, bestI))
		})
		return nil
	}
}

func init() {
	scratchNeeds["ArgMax"] = argScratch
	scratchNeeds["ArgMin"] = argScratch
}

// argScratch is ArgMax/ArgMin's scratch when the axis is not the last:
// one row of best values over the trailing dims (8 bytes per position,
// enough for any compute type).
func argScratch(n *ir.Node) int64 {
	if len(n.Inputs) == 0 || n.Inputs[0] == nil {
		return 0
	}
	t := n.Inputs[0].Type
	if !t.Ranked || !t.Shape.Static() {
		return 0
	}
	shape := t.Shape.Sizes()
	axis, err := rdAxis(n.AttrInt("axis", 0), len(shape))
	if err != nil || len(shape) == 0 {
		return 0
	}
	if inner := ir.NumElements(shape[axis+1:]); inner > 1 {
		return 8 * inner
	}
	return 0
}

// cumSumKernel compiles CumSum with a constant axis input: exclusive and
// reverse. Floats accumulate in their compute type; integers wrap.
func cumSumKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if err := rdNumeric(x, "input 0 (x)"); err != nil {
		return err
	}
	av, err := k.rdConstInts(1, "axis")
	if err != nil {
		return err
	}
	if len(av) != 1 {
		return fmt.Errorf("input 1 (axis) has %d values, want 1", len(av))
	}
	if len(x.shape) == 0 {
		return fmt.Errorf("input 0 is a scalar, want rank >= 1")
	}
	axis, err := rdAxis(av[0], len(x.shape))
	if err != nil {
		return err
	}
	exclusive := k.n.AttrInt("exclusive", 0) != 0
	reverse := k.n.AttrInt("reverse", 0) != 0
	outer, size, inner := rdSplitAxis(x.shape, axis)
	t := computeType(x.dt)
	add := func(a, b value.Value) value.Value {
		if x.dt.IsFloat() {
			return k.b.NewFAdd(a, b)
		}
		return k.b.NewAdd(a, b)
	}
	// pos maps scan step j to the position along the axis.
	pos := func(j value.Value) value.Value {
		if reverse {
			return k.b.NewSub(i64(size-1), j)
		}
		return j
	}
	if x.dt == ir.Float16 || x.dt == ir.BFloat16 {
		// Keep the running sum in float, not in the rounded output.
		acc := k.rdSlot(t)
		k.loopNest([]int64{outer, inner}, func(idx []value.Value) {
			base := k.b.NewAdd(k.rdMul(idx[0], size*inner), idx[1])
			k.rdSet(acc, k.zero(x.dt))
			k.loop(size, func(j value.Value) {
				p := k.b.NewAdd(base, k.rdMul(pos(j), inner))
				a := k.rdGet(t, acc)
				s := add(a, k.load(x, p))
				if exclusive {
					k.store(y, p, a)
				} else {
					k.store(y, p, s)
				}
				k.rdSet(acc, s)
			})
		})
		return nil
	}
	// Scan steps outer, inner loop contiguous: y[p] = y[prev] + x[p or prev].
	k.loop(outer, func(o value.Value) {
		k.loop(size, func(j value.Value) {
			first := k.b.NewICmp(enum.IPredEQ, j, i64(0))
			pj := pos(j)
			var prevj value.Value = k.b.NewAdd(pj, i64(-1))
			if reverse {
				prevj = k.b.NewAdd(pj, i64(1))
			}
			// On the first step prev is clamped to p; the select below
			// ignores what it reads there.
			prevj = k.b.NewSelect(first, pj, prevj)
			rowP := k.rdMul(k.b.NewAdd(k.rdMul(o, size), pj), inner)
			rowPrev := k.rdMul(k.b.NewAdd(k.rdMul(o, size), prevj), inner)
			k.loop(inner, func(i value.Value) {
				p := k.b.NewAdd(rowP, i)
				q := k.b.NewAdd(rowPrev, i)
				var v value.Value
				if exclusive {
					v = k.b.NewSelect(first, k.zero(x.dt), add(k.load(y, q), k.load(x, q)))
				} else {
					v = k.b.NewSelect(first, k.load(x, p), add(k.load(y, q), k.load(x, p)))
				}
				k.store(y, p, v)
			})
		})
	})
	return nil
}

// topKKernel compiles TopK with a constant K: axis, largest; outputs are
// sorted, equal values keep the smaller index first and NaN sorts as the
// largest value, as in the interpreter. Each of the K outputs of a line is
// found by one scan for the first element after the previous pick in that
// total order (no scratch memory).
func topKKernel(k *kernel) error {
	x := k.in[0]
	if err := rdNumeric(x, "input 0 (X)"); err != nil {
		return err
	}
	kv, err := k.rdConstInts(1, "K")
	if err != nil {
		return err
	}
	if len(kv) != 1 {
		return fmt.Errorf("input 1 (K) has %d values, want 1", len(kv))
	}
	if len(x.shape) == 0 {
		return fmt.Errorf("input 0 is a scalar, want rank >= 1")
	}
	axis, err := rdAxis(k.n.AttrInt("axis", -1), len(x.shape))
	if err != nil {
		return err
	}
	outer, size, inner := rdSplitAxis(x.shape, axis)
	K := kv[0]
	if K < 0 || K > size {
		return fmt.Errorf("input 1 (K) is %d, want 0..%d", K, size)
	}
	largest := k.n.AttrInt("largest", 1) != 0
	fl := x.dt.IsFloat()
	// before reports whether value a sorts strictly before value b.
	before := func(a, b value.Value) value.Value {
		if fl {
			aN, bN := k.rdIsNaN(a), k.rdIsNaN(b)
			var nanCase, cmp value.Value
			if largest {
				nanCase = k.b.NewAnd(aN, k.b.NewXor(bN, constant.True))
				cmp = k.b.NewFCmp(enum.FPredOGT, a, b)
			} else {
				nanCase = k.b.NewAnd(bN, k.b.NewXor(aN, constant.True))
				cmp = k.b.NewFCmp(enum.FPredOLT, a, b)
			}
			return k.b.NewSelect(k.b.NewOr(aN, bN), nanCase, cmp)
		}
		return k.b.NewICmp(rdIntOrder(x.dt, largest), a, b)
	}
	t := computeType(x.dt)
	prevV, prevI := k.rdSlot(t), k.rdSlot(types.I64)
	bestV, bestI := k.rdSlot(t), k.rdSlot(types.I64)
	vals, inds := k.out[0], k.out[1]
	k.loopNest([]int64{outer, inner}, func(idx []value.Value) {
		base := k.b.NewAdd(k.rdMul(idx[0], size*inner), idx[1])
		obase := k.b.NewAdd(k.rdMul(idx[0], K*inner), idx[1])
		k.loop(K, func(j value.Value) {
			k.rdSet(bestI, i64(-1))
			k.rdSet(bestV, k.zero(x.dt))
			pv, pi := k.rdGet(t, prevV), k.rdGet(types.I64, prevI)
			firstPick := k.b.NewICmp(enum.IPredEQ, j, i64(0))
			k.loop(size, func(e value.Value) {
				ev := k.load(x, k.b.NewAdd(base, k.rdMul(e, inner)))
				// after: the previous pick sorts strictly before e.
				after := k.b.NewOr(before(pv, ev),
					k.b.NewAnd(k.b.NewXor(before(ev, pv), constant.True), k.b.NewICmp(enum.IPredSLT, pi, e)))
				cand := k.b.NewOr(firstPick, after)
				bv, bi := k.rdGet(t, bestV), k.rdGet(types.I64, bestI)
				better := k.b.NewOr(k.b.NewICmp(enum.IPredSLT, bi, i64(0)), before(ev, bv))
				upd := k.b.NewAnd(cand, better)
				k.rdSet(bestV, k.b.NewSelect(upd, ev, bv))
				k.rdSet(bestI, k.b.NewSelect(upd, e, bi))
			})
			bv, bi := k.rdGet(t, bestV), k.rdGet(types.I64, bestI)
			o := k.b.NewAdd(obase, k.rdMul(j, inner))
			if vals != nil {
				k.store(vals, o, bv)
			}
			if inds != nil {
				k.store(inds, o, bi)
			}
			k.rdSet(prevV, bv)
			k.rdSet(prevI, bi)
		})
	})
	return nil
}
