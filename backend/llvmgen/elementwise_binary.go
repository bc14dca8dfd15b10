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

// Scalar functions and kernels of the broadcasting multi-input elementwise
// ops: Div, Mod, Pow, PRelu, comparisons, logic, bit ops, Max/Min/Sum/Mean,
// Where and Clip. Integer division and remainder never trap: a zero divisor
// (which the interpreter rejects) divides by 1 instead, and -1 is handled
// without the INT_MIN / -1 overflow.

// safeDivisor replaces a zero integer divisor by 1.
func (k *kernel) safeDivisor(y value.Value, dt ir.DType) value.Value {
	return k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, y, k.zero(dt)), k.ewConst(dt, 1), y)
}

// divOp is Div: float division, or integer division truncating toward
// zero; x / -1 is the wrapping negation (the interpreter's divKernel).
func divOp(k *kernel, x, y value.Value, dt ir.DType) value.Value {
	switch {
	case isFloatDT(dt):
		return k.b.NewFDiv(x, y)
	case dt.IsUnsigned():
		return k.b.NewUDiv(x, k.safeDivisor(y, dt))
	}
	m1 := k.b.NewICmp(enum.IPredEQ, y, k.ewConst(dt, -1))
	d := k.b.NewSelect(m1, k.ewConst(dt, 1), k.safeDivisor(y, dt))
	return k.b.NewSelect(m1, k.b.NewSub(k.zero(dt), x), k.b.NewSDiv(x, d))
}

// modKernel is Mod. fmod=1 is C fmod (the result has the dividend's sign);
// fmod=0 gives the divisor's sign, as Python's %. Integer x % -1 is 0.
func modKernel(k *kernel) error {
	fmod := k.n.AttrInt("fmod", 0)
	if fmod != 0 && fmod != 1 {
		return fmt.Errorf("attribute fmod is %d, want 0 or 1", fmod)
	}
	return binaryOp(accNumeric, func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
		var r value.Value
		switch {
		case isFloatDT(dt):
			r = k.b.NewFRem(x, y)
			if fmod == 0 {
				zero := ewFC(r, 0)
				diff := k.b.NewXor(k.b.NewFCmp(enum.FPredOLT, r, zero), k.b.NewFCmp(enum.FPredOLT, y, zero))
				fix := k.b.NewAnd(k.b.NewFCmp(enum.FPredONE, r, zero), diff)
				r = k.b.NewSelect(fix, k.b.NewFAdd(r, y), r)
			}
			return r
		case dt.IsUnsigned():
			return k.b.NewURem(x, k.safeDivisor(y, dt))
		}
		m1 := k.b.NewICmp(enum.IPredEQ, y, k.ewConst(dt, -1))
		d := k.b.NewSelect(m1, k.ewConst(dt, 1), k.safeDivisor(y, dt))
		r = k.b.NewSelect(m1, k.zero(dt), k.b.NewSRem(x, d))
		if fmod == 0 {
			zero := k.zero(dt)
			diff := k.b.NewXor(k.b.NewICmp(enum.IPredSLT, r, zero), k.b.NewICmp(enum.IPredSLT, y, zero))
			fix := k.b.NewAnd(k.b.NewICmp(enum.IPredNE, r, zero), diff)
			r = k.b.NewSelect(fix, k.b.NewAdd(r, y), r)
		}
		return r
	})(k)
}

// preluOp is slope*x for x < 0, else x (unsigned x is returned as is).
func preluOp(k *kernel, x, s value.Value, dt ir.DType) value.Value {
	switch {
	case isFloatDT(dt):
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, ewFC(x, 0)), k.b.NewFMul(s, x), x)
	case dt.IsUnsigned():
		return x
	}
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, x, k.zero(dt)), k.b.NewMul(s, x), x)
}

// compareOp is a comparison with the given float (ordered, so NaN compares
// false except for nothing), signed and unsigned/bool predicates.
func compareOp(fp enum.FPred, sp, up enum.IPred) func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
		switch {
		case isFloatDT(dt):
			return k.boolByte(k.b.NewFCmp(fp, x, y))
		case isUnsignedDT(dt):
			return k.boolByte(k.b.NewICmp(up, x, y))
		}
		return k.boolByte(k.b.NewICmp(sp, x, y))
	}
}

// logicOp is And, Or or Xor on 0/1 bool bytes.
func logicOp(op string) func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
	return bitwiseOp(op)
}

// bitwiseOp is BitwiseAnd, BitwiseOr or BitwiseXor.
func bitwiseOp(op string) func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
		switch op {
		case "and":
			return k.b.NewAnd(x, y)
		case "or":
			return k.b.NewOr(x, y)
		}
		return k.b.NewXor(x, y)
	}
}

// bitShiftKernel is BitShift over unsigned integers: shifts by the element
// width or more give 0, as the interpreter's uint64 shifts narrowed.
func bitShiftKernel(k *kernel) error {
	dir := k.n.AttrString("direction", "")
	if dir != "LEFT" && dir != "RIGHT" {
		return fmt.Errorf("attribute direction is %q, want \"LEFT\" or \"RIGHT\"", dir)
	}
	return binaryOp(func(dt ir.DType) bool { return dt.IsUnsigned() }, func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
		w := float64(x.Type().(*types.IntType).BitSize)
		big := k.b.NewICmp(enum.IPredUGE, y, k.ewConst(dt, w))
		s := k.b.NewSelect(big, k.zero(dt), y)
		var r value.Value
		if dir == "LEFT" {
			r = k.b.NewShl(x, s)
		} else {
			r = k.b.NewLShr(x, s)
		}
		return k.b.NewSelect(big, k.zero(dt), r)
	})(k)
}

// roundTrip rounds a float compute value to dt's storage precision and
// back (float16 and bfloat16 only), as the interpreter does between the
// steps of a variadic fold.
func (k *kernel) ewRoundTrip(x value.Value, dt ir.DType) value.Value {
	if dt == ir.Float16 && k.wasm() {
		return k.f16Decode(k.f16Encode(x))
	}
	if dt == ir.Float16 || dt == ir.BFloat16 {
		return k.widen(k.narrow(x, dt), dt)
	}
	return x
}

// variadicKernel is Max, Min or Sum over one or more inputs: a left fold
// in the inputs' dtype, each step rounded to it (interp variadicKernel).
func variadicKernel(op string) kernelFunc {
	return mapKernel(accNumeric, func(k *kernel, xs []value.Value, dt ir.DType) value.Value {
		acc := xs[0]
		for _, x := range xs[1:] {
			switch op {
			case "max":
				acc = k.max(acc, x, dt)
			case "min":
				acc = k.ewMin(acc, x, dt)
			default:
				acc = k.ewRoundTrip(k.arith("add", acc, x, dt), dt)
			}
		}
		return acc
	})
}

// meanKernel is Mean: the sum of all inputs in double precision, divided by
// the input count and rounded once (a single input is copied).
func meanKernel(k *kernel) error {
	return mapKernel(accFloat, func(k *kernel, xs []value.Value, dt ir.DType) value.Value {
		if len(xs) == 1 {
			return xs[0]
		}
		var sum value.Value = constant.NewFloat(types.Double, 0)
		for _, x := range xs {
			if !ewIsDouble(x) {
				x = k.b.NewFPExt(x, types.Double)
			}
			sum = k.b.NewFAdd(sum, x)
		}
		m := k.b.NewFDiv(sum, constant.NewFloat(types.Double, float64(len(xs))))
		if ewIsDouble(xs[0]) {
			return m
		}
		return k.b.NewFPTrunc(m, xs[0].Type())
	})(k)
}

// whereKernel is Where(condition, X, Y): a select on the stored bits of X
// and Y (no float conversion, so NaN payloads and FP8 pass through).
func whereKernel(k *kernel) error {
	if len(k.in) != 3 || k.in[0] == nil || k.in[1] == nil || k.in[2] == nil {
		return fmt.Errorf("Where needs three inputs")
	}
	c, x, y := k.in[0], k.in[1], k.in[2]
	if c.dt != ir.Bool {
		return fmt.Errorf("input 0 has dtype %s, want bool", c.dt)
	}
	if x.dt != y.dt || k.out[0].dt != x.dt {
		return fmt.Errorf("inputs 1 and 2 have dtypes %s and %s, want one dtype", x.dt, y.dt)
	}
	st, err := storageType(x.dt)
	if err != nil {
		return err
	}
	out := k.out[0]
	k.mapIndex(out, []*buf{c, x, y}, func(o value.Value, idx []value.Value) {
		cv := k.b.NewLoad(types.I8, k.elemPtr(c, idx[0]))
		xv := k.b.NewLoad(st, k.elemPtr(x, idx[1]))
		yv := k.b.NewLoad(st, k.elemPtr(y, idx[2]))
		pick := k.b.NewICmp(enum.IPredNE, cv, constant.NewInt(types.I8, 0))
		k.b.NewStore(k.b.NewSelect(pick, xv, yv), k.elemPtr(out, o))
	})
	return nil
}

// clipKernel is Clip(input, min?, max?) with scalar bounds that may be
// runtime values: for floats x < min gives min, then > max gives max (NaN
// inputs stay NaN, a NaN bound is ignored); integers take max then min.
func clipKernel(k *kernel) error {
	if len(k.in) == 0 || k.in[0] == nil {
		return fmt.Errorf("Clip needs input 0")
	}
	x := k.in[0]
	if !accNumeric(x.dt) {
		return unsupportedDType(x.dt)
	}
	var bounds [2]value.Value
	for j := 1; j < len(k.in) && j < 3; j++ {
		b := k.in[j]
		if b == nil {
			continue
		}
		if b.dt != x.dt {
			return fmt.Errorf("input %d has dtype %s, want %s matching input 0", j, b.dt, x.dt)
		}
		if b.len() != 1 || len(b.shape) > 1 {
			return fmt.Errorf("input %d has shape %v, want a scalar", j, b.shape)
		}
		bounds[j-1] = k.load(b, i64(0))
	}
	dt := x.dt
	k.mapN(k.out[0], []*buf{x}, func(xs []value.Value) value.Value {
		r := xs[0]
		if isFloatDT(dt) {
			if lo := bounds[0]; lo != nil {
				r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, r, lo), lo, r)
			}
			if hi := bounds[1]; hi != nil {
				r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, r, hi), hi, r)
			}
			return r
		}
		if lo := bounds[0]; lo != nil {
			r = k.max(r, lo, dt)
		}
		if hi := bounds[1]; hi != nil {
			r = k.ewMin(r, hi, dt)
		}
		return r
	})
	return nil
}

// powKernel is Pow(X, Y): the output has X's dtype and Y may be any numeric
// type. Float bases use powf when both operands compute in float and pow in
// double otherwise; integer bases with an integer exponent use wrapping
// square-and-multiply in 64 bits (interp powInt/powUint); integer bases with
// a float exponent compute in double and truncate.
func powKernel(k *kernel) error {
	if len(k.in) != 2 || k.in[0] == nil || k.in[1] == nil {
		return fmt.Errorf("Pow needs two inputs")
	}
	xb, yb := k.in[0], k.in[1]
	if !accNumeric(xb.dt) {
		return unsupportedDType(xb.dt)
	}
	if !accNumeric(yb.dt) {
		return fmt.Errorf("input 1 has dtype %s, which the compiled kernel does not ewAccept", yb.dt)
	}
	xdt, ydt := xb.dt, yb.dt
	k.mapN(k.out[0], []*buf{xb, yb}, func(xs []value.Value) value.Value {
		x, y := xs[0], xs[1]
		switch {
		case isFloatDT(xdt) && isFloatDT(ydt) && !ewIsDouble(x) && !ewIsDouble(y):
			return k.ewLibm("pow", x, y)
		case isFloatDT(xdt) || isFloatDT(ydt):
			xd, yd := k.ewToDouble(x, xdt), k.ewToDouble(y, ydt)
			r := k.ewLibm("pow", xd, yd)
			if isFloatDT(xdt) {
				if ewIsDouble(x) {
					return r
				}
				return k.b.NewFPTrunc(r, x.Type())
			}
			return k.ewDoubleToInt(r, xdt)
		}
		return k.powInt(x, y, xdt, ydt)
	})
	return nil
}

// toDouble converts a compute value of dt to double.
func (k *kernel) ewToDouble(x value.Value, dt ir.DType) value.Value {
	switch {
	case ewIsDouble(x):
		return x
	case isFloatDT(dt):
		return k.b.NewFPExt(x, types.Double)
	}
	return k.ewIntToDouble(x, dt)
}

// powInt is integer x**y for integer dtypes xdt and ydt, in wrapping 64-bit
// arithmetic narrowed to x's width. A negative exponent gives the truncated
// real result: 1 for base 1, ±1 for base -1 (signed), 0 otherwise.
func (k *kernel) powInt(x, y value.Value, xdt, ydt ir.DType) value.Value {
	xt := x.Type()
	var a, e value.Value
	switch {
	case xt.Equal(types.I64):
		a = x
	case xdt.IsSigned():
		a = k.b.NewSExt(x, types.I64)
	default:
		a = k.b.NewZExt(x, types.I64)
	}
	if ydt.IsSigned() {
		e = y
		if !y.Type().Equal(types.I64) {
			e = k.b.NewSExt(y, types.I64)
		}
	} else {
		e = y
		if !y.Type().Equal(types.I64) {
			e = k.b.NewZExt(y, types.I64)
		} else if xdt.IsSigned() {
			// A uint64 exponent saturates at MaxInt64 for signed bases.
			big := k.b.NewICmp(enum.IPredSLT, y, i64(0))
			e = k.b.NewSelect(big, i64(math.MaxInt64), y)
		}
	}
	var negV value.Value = constant.False
	if ydt.IsSigned() {
		negV = k.b.NewICmp(enum.IPredSLT, e, i64(0))
	}
	loopE := k.b.NewSelect(negV, i64(0), e)
	r := k.squareMultiply(a, loopE)
	// Negative exponents.
	one := i64(1)
	var negR value.Value
	isOne := k.b.NewICmp(enum.IPredEQ, a, one)
	if xdt.IsSigned() {
		isM1 := k.b.NewICmp(enum.IPredEQ, a, i64(-1))
		odd := k.b.NewTrunc(e, types.I1)
		m1 := k.b.NewSelect(odd, i64(-1), one)
		negR = k.b.NewSelect(isOne, one, k.b.NewSelect(isM1, m1, i64(0)))
	} else {
		negR = k.b.NewSelect(isOne, one, i64(0))
	}
	res := k.b.NewSelect(negV, negR, r)
	if xt.Equal(types.I64) {
		return res
	}
	return k.b.NewTrunc(res, xt)
}

// squareMultiply emits `r := 1; for e != 0 { if e&1 { r *= a }; a *= a; e >>= 1 }`
// on i64 values and returns r; k.b is left after the loop.
func (k *kernel) squareMultiply(a, e value.Value) value.Value {
	pre := k.b
	body := k.f.NewBlock("")
	exit := k.f.NewBlock("")
	pre.NewCondBr(k.b.NewICmp(enum.IPredNE, e, i64(0)), body, exit)
	r := body.NewPhi(ll.NewIncoming(i64(1), pre))
	av := body.NewPhi(ll.NewIncoming(a, pre))
	ev := body.NewPhi(ll.NewIncoming(e, pre))
	odd := body.NewTrunc(ev, types.I1)
	r2 := body.NewSelect(odd, body.NewMul(r, av), r)
	a2 := body.NewMul(av, av)
	e2 := body.NewLShr(ev, i64(1))
	r.Incs = append(r.Incs, ll.NewIncoming(r2, body))
	av.Incs = append(av.Incs, ll.NewIncoming(a2, body))
	ev.Incs = append(ev.Incs, ll.NewIncoming(e2, body))
	body.NewCondBr(body.NewICmp(enum.IPredNE, e2, i64(0)), body, exit)
	res := exit.NewPhi(ll.NewIncoming(i64(1), pre), ll.NewIncoming(r2, body))
	k.b = exit
	return res
}
