package llvmgen

import (
	"fmt"
	"math"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Helpers shared by the reduction, softmax, normalization and pooling
// kernels (the reduceKernels family). Their names carry an rd prefix so they
// cannot clash with helpers of the families written alongside.

// rdSlot allocates a stack slot of type t in the entry block, where SROA
// turns it into SSA values; kernels use slots for loop-carried accumulators.
func (k *kernel) rdSlot(t types.Type) value.Value {
	a := ll.NewAlloca(t)
	entry := k.f.Blocks[0]
	entry.Insts = append([]ll.Instruction{a}, entry.Insts...)
	return a
}

// rdGet loads a slot of type t.
func (k *kernel) rdGet(t types.Type, slot value.Value) value.Value { return k.b.NewLoad(t, slot) }

// rdSet stores x to a slot.
func (k *kernel) rdSet(slot, x value.Value) { k.b.NewStore(x, slot) }

// rdLoop emits `for i := lo; i < hi; i++ { body(i) }` with run-time i64
// bounds (the body is skipped when lo >= hi) and leaves k.b after the loop.
func (k *kernel) rdLoop(lo, hi value.Value, body func(i value.Value)) {
	pre := k.b
	header := k.f.NewBlock("")
	exit := k.f.NewBlock("")
	pre.NewCondBr(pre.NewICmp(enum.IPredSLT, lo, hi), header, exit)
	phi := header.NewPhi(ll.NewIncoming(lo, pre))
	k.b = header
	body(phi)
	next := k.b.NewAdd(phi, i64(1))
	phi.Incs = append(phi.Incs, ll.NewIncoming(next, k.b))
	k.b.NewCondBr(k.b.NewICmp(enum.IPredSLT, next, hi), header, exit)
	k.b = exit
}

// rdFAdd is an fadd that may be reassociated, so opt vectorizes sums.
func (k *kernel) rdFAdd(x, y value.Value) value.Value {
	a := k.b.NewFAdd(x, y)
	a.FastMathFlags = []enum.FastMathFlag{enum.FastMathFlagReassoc}
	return a
}

// rdIsNaN is x != x.
func (k *kernel) rdIsNaN(x value.Value) value.Value { return k.b.NewFCmp(enum.FPredUNO, x, x) }

// rdMaxNaN is max(acc, x) where a NaN in either gives NaN and +0 beats
// -0, bit for bit the interpreter's maxFloat (Go's math.Max); rdMinNaN is
// min, where -0 beats +0. Both work on scalars and vectors.
func (k *kernel) rdMaxNaN(acc, x value.Value) value.Value {
	take := k.b.NewOr(k.rdIsNaN(x), k.b.NewFCmp(enum.FPredOGT, x, acc))
	return k.rdZeroTie(acc, x, k.b.NewSelect(take, x, acc), true)
}

func (k *kernel) rdMinNaN(acc, x value.Value) value.Value {
	take := k.b.NewOr(k.rdIsNaN(x), k.b.NewFCmp(enum.FPredOLT, x, acc))
	return k.rdZeroTie(acc, x, k.b.NewSelect(take, x, acc), false)
}

// rdZeroTie returns res, except that when acc and x compare equal it
// returns their bits ANDed (isMax: +0 wins over -0) or ORed (-0 wins);
// equal non-zero values have equal bits, so only signed zeros change.
func (k *kernel) rdZeroTie(acc, x, res value.Value, isMax bool) value.Value {
	it := types.Type(types.I32)
	ft := x.Type()
	if vt, ok := ft.(*types.VectorType); ok {
		ft = vt.ElemType
	}
	if ft.Equal(types.Double) {
		it = types.I64
	}
	if vt, ok := x.Type().(*types.VectorType); ok {
		it = types.NewVector(vt.Len, it)
	}
	xa, xb := k.b.NewBitCast(acc, it), k.b.NewBitCast(x, it)
	var bits value.Value
	if isMax {
		bits = k.b.NewAnd(xa, xb)
	} else {
		bits = k.b.NewOr(xa, xb)
	}
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOEQ, acc, x), k.b.NewBitCast(bits, x.Type()), res)
}

// rdFloat returns the float compute type of dt (float for f32 and half
// types, double for f64).
func rdFloat(dt ir.DType) *types.FloatType {
	if dt == ir.Float64 {
		return types.Double
	}
	return types.Float
}

// rdLoadF reads b[i] converted to the float type t (integers convert by
// signedness).
func (k *kernel) rdLoadF(b *buf, i value.Value, t *types.FloatType) value.Value {
	x := k.load(b, i)
	return k.rdToF(x, b.dt, t)
}

// rdToF converts a compute-type value of dt to the float type t.
func (k *kernel) rdToF(x value.Value, dt ir.DType, t *types.FloatType) value.Value {
	switch {
	case dt.IsFloat():
		xt := computeType(dt).(*types.FloatType)
		switch {
		case xt == t:
			return x
		case xt.Kind == types.FloatKindDouble:
			return k.b.NewFPTrunc(x, t)
		}
		return k.b.NewFPExt(x, t)
	case dt.IsUnsigned() || dt == ir.Bool:
		return k.b.NewUIToFP(x, t)
	}
	return k.b.NewSIToFP(x, t)
}

// rdStoreF converts x of float type t to dt and writes b[i] (integers are
// truncated toward zero, as the interpreter's conversion does).
func (k *kernel) rdStoreF(b *buf, i value.Value, x value.Value) {
	k.store(b, i, k.rdFromF(x, b.dt))
}

// rdFromF converts a float value to dt's compute type.
func (k *kernel) rdFromF(x value.Value, dt ir.DType) value.Value {
	ct := computeType(dt)
	xt := x.Type().(*types.FloatType)
	switch {
	case dt.IsFloat():
		ft := ct.(*types.FloatType)
		switch {
		case ft == xt:
			return x
		case ft.Kind == types.FloatKindDouble:
			return k.b.NewFPExt(x, ft)
		}
		return k.b.NewFPTrunc(x, ft)
	case dt.IsUnsigned():
		return k.b.NewFPToUI(x, ct)
	}
	return k.b.NewFPToSI(x, ct)
}

// rdF returns the float constant v of type t.
func rdF(t *types.FloatType, v float64) value.Value { return constant.NewFloat(t, v) }

// rdDims is a tensor shape split into kept and reduced dims after merging
// neighbouring dims of the same kind: kept dims index the output (row-major,
// the same order with or without keepdims) and reduced dims are walked per
// output element.
type rdDims struct {
	keptSize, keptStride []int64 // sizes and input strides of kept dims
	redSize, redStride   []int64 // sizes and input strides of reduced dims
	lastKept             bool    // the innermost merged dim is kept (size keptSize[len-1], stride 1)
	count                int64   // elements per group
	groups               int64   // number of groups (output elements)
}

// rdSplit merges the dims of shape by reduced[] (dims of size 1 are dropped)
// and returns the split.
func rdSplit(shape []int64, reduced []bool) rdDims {
	type dim struct {
		size int64
		red  bool
	}
	var ds []dim
	for i, s := range shape {
		if s == 1 {
			continue
		}
		if n := len(ds); n > 0 && ds[n-1].red == reduced[i] {
			ds[n-1].size *= s
			continue
		}
		ds = append(ds, dim{s, reduced[i]})
	}
	d := rdDims{count: 1, groups: 1}
	stride := int64(1)
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].red {
			d.redSize = append([]int64{ds[i].size}, d.redSize...)
			d.redStride = append([]int64{stride}, d.redStride...)
			d.count *= ds[i].size
		} else {
			d.keptSize = append([]int64{ds[i].size}, d.keptSize...)
			d.keptStride = append([]int64{stride}, d.keptStride...)
			d.groups *= ds[i].size
		}
		stride *= ds[i].size
	}
	d.lastKept = len(ds) > 0 && !ds[len(ds)-1].red
	if ir.NumElements(shape) == 0 {
		// Empty input: either no groups, or every group is an empty
		// reduction (only reduced dims are zero), as one flat kept dim.
		d.groups = ir.NumElements(rdKeptShape(shape, reduced))
		d.count = 0
		d.keptSize, d.keptStride = []int64{d.groups}, []int64{0}
		d.redSize, d.redStride = []int64{0}, []int64{0}
		d.lastKept = false
	}
	return d
}

// rdKeptShape is shape with reduced dims set to 1.
func rdKeptShape(shape []int64, reduced []bool) []int64 {
	out := append([]int64{}, shape...)
	for i := range out {
		if reduced[i] {
			out[i] = 1
		}
	}
	return out
}

// rdGroups loops over the kept dims; body gets the input offset of the
// group's first element and the group's output index.
func (k *kernel) rdGroups(d rdDims, body func(base, o value.Value)) {
	k.loopNest(d.keptSize, func(idx []value.Value) {
		base := k.linear(idx, d.keptStride, 0)
		o := k.linear(idx, strides(d.keptSize), 0)
		body(base, o)
	})
}

// rdWalk loops over the reduced dims of one group, innermost contiguous
// when the input's last dim is reduced; body gets the element's input offset.
func (k *kernel) rdWalk(d rdDims, base value.Value, body func(off value.Value)) {
	k.loopNest(d.redSize, func(idx []value.Value) {
		off := k.linear(idx, d.redStride, 0)
		body(k.rdAdd(base, off))
	})
}

// rdAdd adds two i64 values, folding constant zeros.
func (k *kernel) rdAdd(x, y value.Value) value.Value {
	if c, ok := x.(*constant.Int); ok && c.X.Sign() == 0 {
		return y
	}
	if c, ok := y.(*constant.Int); ok && c.X.Sign() == 0 {
		return x
	}
	return k.b.NewAdd(x, y)
}

// rdMul multiplies an i64 value by a constant.
func (k *kernel) rdMul(x value.Value, c int64) value.Value {
	if c == 1 {
		return x
	}
	return k.b.NewMul(x, i64(c))
}

// rdAxis normalises an axis attribute against rank.
func rdAxis(a int64, rank int) (int, error) {
	if a < -int64(rank) || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", a, rank)
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a), nil
}

// rdSplitAxis returns the element counts before, along and after axis.
func rdSplitAxis(shape []int64, axis int) (outer, size, inner int64) {
	return ir.NumElements(shape[:axis]), shape[axis], ir.NumElements(shape[axis+1:])
}

// rdNeedFloat refuses non-float data for the float-only ops.
func rdNeedFloat(b *buf, what string) error {
	if b == nil {
		return fmt.Errorf("%s is missing", what)
	}
	if !b.dt.IsFloat() || b.dt.Size() < 2 {
		return fmt.Errorf("%s has dtype %s, want a float type", what, b.dt)
	}
	return nil
}

// rdConstInts reads a constant integer input, or explains that it must be
// a constant to compile.
func (k *kernel) rdConstInts(i int, what string) ([]int64, error) {
	if i >= len(k.in) || k.in[i] == nil {
		return nil, nil
	}
	c := k.in[i].konst
	if c == nil {
		return nil, fmt.Errorf("input %d (%s) must be a compile-time constant to compile %s; make it an initializer or run with the interpreter", i, what, k.n.Op)
	}
	return c.Int64s(), nil
}

// rdExp is e^x in x's float type. For float it is an inline Cephes-style
// polynomial (about 2 ULP; exact 0 below -87.3, +Inf above 88.37, NaN kept)
// made of plain arithmetic and llvm.floor, so loops calling it vectorize;
// double calls llvm.exp.f64 (libm exp).
func (k *kernel) rdExp(x value.Value) value.Value {
	if !x.Type().Equal(types.Float) {
		return k.call(rdIntrinsic("llvm.exp", x), x.Type(), x)
	}
	f := types.Float
	c := func(v float64) value.Value { return rdF(f, v) }
	const lo, hi = -87.33654, 88.37626
	// Clamp with ordered compares so NaN passes through.
	xc := k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, c(lo)), c(lo), x)
	xc = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, xc, c(hi)), c(hi), xc)
	fx := k.call("llvm.floor.f32", f, k.b.NewFAdd(k.b.NewFMul(xc, c(1.44269504088896341)), c(0.5)))
	r := k.b.NewFSub(k.b.NewFSub(xc, k.b.NewFMul(fx, c(0.693359375))), k.b.NewFMul(fx, c(-2.12194440e-4)))
	var p value.Value = c(1.9875691500e-4)
	for _, q := range []float64{1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1} {
		p = k.b.NewFAdd(k.b.NewFMul(p, r), c(q))
	}
	y := k.b.NewFAdd(k.b.NewFAdd(k.b.NewFMul(p, k.b.NewFMul(r, r)), r), c(1))
	n := k.b.NewFPToSI(fx, types.I32)
	bits := k.b.NewShl(k.b.NewAdd(n, constant.NewInt(types.I32, 127)), constant.NewInt(types.I32, 23))
	res := k.b.NewFMul(y, k.b.NewBitCast(bits, f))
	out := k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, c(lo)), c(0), res)
	out = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, x, c(hi)), c(math.Inf(1)), out)
	return k.b.NewSelect(k.rdIsNaN(x), x, out)
}

// rdRowExtreme returns the maximum (isMax) or minimum of the n contiguous
// elements of x from base, NaN when any is NaN (the interpreter's
// maxFloat/minFloat fold). fp32 and f64 rows use explicit target vectors
// (LLVM does not vectorize NaN-aware FP min/max reductions on its own): a
// lane-wise select accumulator, a lane-wise NaN flag, a horizontal fold and
// a scalar tail. Other dtypes fold scalars. With exactZero signed zeros
// resolve like rdMaxNaN (bit-exact); without, the vector lanes skip that
// work and a zero result may have either sign (for callers that do not
// care: Softmax's shift, Reduce* results normalised by rdPlusZero).
func (k *kernel) rdRowExtreme(x *buf, base value.Value, n int64, ft *types.FloatType, isMax, exactZero bool, acc value.Value) value.Value {
	pred, inf := enum.FPredOGT, math.Inf(-1)
	if !isMax {
		pred, inf = enum.FPredOLT, math.Inf(1)
	}
	fold := func(a, v value.Value) value.Value { // scalar, NaN-propagating
		if isMax {
			return k.rdMaxNaN(a, v)
		}
		return k.rdMinNaN(a, v)
	}
	elem := int64(x.dt.Size())
	lanes := int64(k.e.cfg.VectorBits) / (8 * elem)
	k.rdSet(acc, rdF(ft, inf))
	if (x.dt == ir.Float32 || x.dt == ir.Float64) && lanes >= 2 && n >= lanes {
		vt := types.NewVector(uint64(lanes), ft)
		mt := types.NewVector(uint64(lanes), types.I1)
		infs, falses := make([]constant.Constant, lanes), make([]constant.Constant, lanes)
		for i := range infs {
			infs[i], falses[i] = constant.NewFloat(ft, inf), constant.False
		}
		mv, nanv := k.rdSlot(vt), k.rdSlot(mt)
		k.rdSet(mv, constant.NewVector(vt, infs...))
		k.rdSet(nanv, constant.NewVector(mt, falses...))
		vp := k.b.NewBitCast(k.elemPtr(x, base), types.NewPointer(vt))
		k.loop(n/lanes, func(c value.Value) {
			ld := k.b.NewLoad(vt, k.b.NewGetElementPtr(vt, vp, c))
			ld.Align = ll.Align(elem)
			m := k.rdGet(vt, mv)
			sel := k.b.NewSelect(k.b.NewFCmp(pred, ld, m), ld, m)
			if exactZero {
				k.rdSet(mv, k.rdZeroTie(m, ld, sel, isMax))
			} else {
				k.rdSet(mv, sel)
			}
			k.rdSet(nanv, k.b.NewOr(k.rdGet(mt, nanv), k.b.NewFCmp(enum.FPredUNO, ld, ld)))
		})
		m, nv := k.rdGet(vt, mv), k.rdGet(mt, nanv)
		var r, anyNaN value.Value = rdF(ft, inf), constant.False
		for l := int64(0); l < lanes; l++ {
			e := k.b.NewExtractElement(m, constant.NewInt(types.I32, l))
			var sel value.Value = k.b.NewSelect(k.b.NewFCmp(pred, e, r), e, r)
			if exactZero {
				sel = k.rdZeroTie(r, e, sel, isMax)
			}
			r = sel
			anyNaN = k.b.NewOr(anyNaN, k.b.NewExtractElement(nv, constant.NewInt(types.I32, l)))
		}
		k.rdSet(acc, k.b.NewSelect(anyNaN, rdF(ft, math.NaN()), r))
		k.loop(n%lanes, func(j value.Value) {
			i := k.rdAdd(base, k.rdAdd(j, i64(n/lanes*lanes)))
			k.rdSet(acc, fold(k.rdGet(ft, acc), k.rdLoadF(x, i, ft)))
		})
		return k.rdGet(ft, acc)
	}
	k.loop(n, func(j value.Value) {
		k.rdSet(acc, fold(k.rdGet(ft, acc), k.rdLoadF(x, k.rdAdd(base, j), ft)))
	})
	return k.rdGet(ft, acc)
}
