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

// Cast and CastLike (interp/cast.go). The target dtype is the output's.
// Values travel through the interpreter's float64 view: integers convert to
// double (rounding int64 and uint64 there, as the interpreter does), a
// narrow float target (float16, bfloat16, FP8) is reached by rounding the
// double to float32 with round-to-odd and then to the target once, floats
// truncate into integers with x86's "integer indefinite" result for NaN and
// overflow (numpy's behaviour, which the interpreter copies), integers wrap,
// and anything non-zero (NaN included) is true. FP8 values decode through a
// 256-entry table and encode with the interpreter's nearest-even search
// over the 128 magnitudes, with saturate.

// castKernel is Cast and CastLike.
func castKernel(k *kernel) error {
	if len(k.in) == 0 || k.in[0] == nil || len(k.out) == 0 || k.out[0] == nil {
		return fmt.Errorf("Cast needs input 0 and output 0")
	}
	x, out := k.in[0], k.out[0]
	from, to := x.dt, out.dt
	for _, dt := range []ir.DType{from, to} {
		if !castable(dt) {
			return fmt.Errorf("Cast between %s and %s cannot be compiled (%s is not a numeric or bool type)", from, to, dt)
		}
	}
	saturate := k.n.AttrInt("saturate", 1) != 0
	st, _ := storageType(to)
	if from == to {
		k.mapIndex(out, []*buf{x}, func(o value.Value, idx []value.Value) {
			k.b.NewStore(k.b.NewLoad(st, k.elemPtr(x, idx[0])), k.elemPtr(out, o))
		})
		return nil
	}
	k.mapIndex(out, []*buf{x}, func(o value.Value, idx []value.Value) {
		v := k.load(x, idx[0])
		k.b.NewStore(k.castValue(v, from, to, saturate), k.elemPtr(out, o))
	})
	return nil
}

// castable reports whether Cast compiles for dt.
func castable(dt ir.DType) bool {
	return isFloatDT(dt) || isIntDT(dt) || dt == ir.Bool || dt.IsFP8()
}

// castValue converts v, a compute value of dtype from (raw bits for FP8),
// to the storage bits of dtype to.
func (k *kernel) castValue(v value.Value, from, to ir.DType, saturate bool) value.Value {
	if from.IsFP8() {
		v = k.fp8Decode(v, from)
		from = ir.Float32
	}
	switch {
	case to == ir.Bool:
		if isFloatDT(from) {
			return k.boolByte(k.b.NewFCmp(enum.FPredUNE, v, ewFC(v, 0)))
		}
		return k.boolByte(k.b.NewICmp(enum.IPredNE, v, constant.NewInt(v.Type().(*types.IntType), 0)))
	case isIntDT(to):
		st, _ := storageType(to)
		if isFloatDT(from) {
			return k.castFloatToInt(k.ewToDouble(v, from), to)
		}
		return k.resizeInt(v, from, st.(*types.IntType))
	case to == ir.Float64:
		return k.ewToDouble(v, from)
	case to == ir.Float32:
		if from == ir.Float16 || from == ir.BFloat16 {
			return v
		}
		return k.b.NewFPTrunc(k.ewToDouble(v, from), types.Float)
	}
	// float16, bfloat16, FP8: round the float64 view to odd float32 first.
	var f value.Value
	if from == ir.Float32 || from == ir.Float16 || from == ir.BFloat16 {
		f = v
	} else {
		f = k.roundToOdd32(k.ewToDouble(v, from))
	}
	switch to {
	case ir.Float16:
		if k.wasm() {
			return k.f16Encode(f)
		}
		// Float32ToFloat16 gives the quiet NaN 0x7e00 with the sign kept.
		bits := k.narrow(f, ir.Float16)
		fb := k.b.NewBitCast(f, types.I32)
		sign := k.b.NewTrunc(k.b.NewLShr(k.b.NewAnd(fb, constant.NewInt(types.I32, math.MinInt32)), constant.NewInt(types.I32, 16)), types.I16)
		nan := k.b.NewOr(sign, constant.NewInt(types.I16, 0x7e00))
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredUNO, f, f), nan, bits)
	case ir.BFloat16:
		return k.narrow(f, ir.BFloat16)
	}
	return k.fp8Encode(f, to, saturate)
}

// resizeInt converts an integer or bool of dtype from to integer type t:
// sign extension for signed sources, zero extension otherwise, truncation
// when narrowing (Go's integer conversions).
func (k *kernel) resizeInt(v value.Value, from ir.DType, t *types.IntType) value.Value {
	vt := v.Type().(*types.IntType)
	switch {
	case vt.BitSize == t.BitSize:
		return v
	case vt.BitSize > t.BitSize:
		return k.b.NewTrunc(v, t)
	case from.IsSigned():
		return k.b.NewSExt(v, t)
	}
	return k.b.NewZExt(v, t)
}

// castFloatToInt converts double f to integer dtype to as the interpreter's
// Cast does: truncation toward zero; for signed targets NaN and values
// outside int64 give MinInt64 (and int32 targets give MinInt32 outside
// int32); unsigned targets convert [2^63, 2^64) directly and everything
// else through int64; the result then wraps to the target width.
func (k *kernel) castFloatToInt(f value.Value, to ir.DType) value.Value {
	st, _ := storageType(to)
	t := st.(*types.IntType)
	d := func(v float64) value.Value { return constant.NewFloat(types.Double, v) }
	// floatToInt64
	inRange := k.b.NewAnd(k.b.NewFCmp(enum.FPredOLT, f, d(1<<63)), k.b.NewFCmp(enum.FPredOGE, f, d(-(1<<63))))
	s := k.b.NewFPToSI(k.b.NewSelect(inRange, f, d(0)), types.I64)
	var r value.Value = k.b.NewSelect(inRange, s, i64(math.MinInt64))
	switch {
	case to == ir.Int32:
		ok := k.b.NewAnd(k.b.NewICmp(enum.IPredSGE, r, i64(math.MinInt32)), k.b.NewICmp(enum.IPredSLE, r, i64(math.MaxInt32)))
		r = k.b.NewSelect(ok, r, i64(math.MinInt32))
	case to.IsUnsigned():
		hi := k.b.NewAnd(k.b.NewFCmp(enum.FPredOGE, f, d(1<<63)), k.b.NewFCmp(enum.FPredOLT, f, d(1<<64)))
		u := k.b.NewFPToUI(k.b.NewSelect(hi, f, d(1<<63)), types.I64)
		r = k.b.NewSelect(hi, u, r)
	}
	if t.BitSize == 64 {
		return r
	}
	return k.b.NewTrunc(r, t)
}

// roundToOdd32 rounds double x to float toward zero and sets the lowest
// mantissa bit when inexact (interp roundToOdd32), so rounding the result
// to a narrower format equals rounding x directly.
func (k *kernel) roundToOdd32(x value.Value) value.Value {
	f := k.b.NewFPTrunc(x, types.Float)
	back := k.b.NewFPExt(f, types.Double)
	bits := k.b.NewBitCast(f, types.I32)
	exact := k.b.NewFCmp(enum.FPredOEQ, back, x)
	inf := k.b.NewFCmp(enum.FPredOEQ, k.ewIntr("fabs", f), constant.NewFloat(types.Float, math.Inf(1)))
	nan := k.b.NewFCmp(enum.FPredUNO, x, x)
	keep := k.b.NewOr(k.b.NewOr(exact, inf), nan)
	away := k.b.NewFCmp(enum.FPredOGT, k.ewIntr("fabs", back), k.ewIntr("fabs", x))
	dec := k.b.NewZExt(away, types.I32)
	odd := k.b.NewOr(k.b.NewSub(bits, dec), constant.NewInt(types.I32, 1))
	return k.b.NewBitCast(k.b.NewSelect(keep, bits, odd), types.Float)
}

// fp8Params are the encoding facts of an FP8 format that ir keeps private:
// the magnitude code of the largest finite value, the NaN code (the
// positive one where NaN is signed), whether it has infinities (E5M2) and
// whether it lacks negative zero (the FNUZ types).
func fp8Params(dt ir.DType) (maxCode, nanCode uint8, hasInf, fnuz bool) {
	switch dt {
	case ir.Float8E4M3FN:
		return 0x7e, 0x7f, false, false
	case ir.Float8E4M3FNUZ:
		return 0x7f, 0x80, false, true
	case ir.Float8E5M2:
		return 0x7b, 0x7f, true, false
	}
	return 0x7f, 0x80, false, true // Float8E5M2FNUZ
}

// fp8Table returns a constant table of the float32 bits of FP8 codes
// 0..n-1 of format dt.
func (k *kernel) fp8Table(dt ir.DType, n int) value.Value {
	vals := make([]int64, n)
	for c := range vals {
		vals[c] = int64(math.Float32bits(ir.FP8ToFloat32(dt, uint8(c))))
	}
	return k.constTable(vals, false)
}

// fp8Lookup loads table[idx] (an i64 index) as a float.
func (k *kernel) fp8Lookup(table, idx value.Value) value.Value {
	p := k.b.NewGetElementPtr(types.I32, table, idx)
	return k.b.NewBitCast(k.b.NewLoad(types.I32, p), types.Float)
}

// fp8Decode converts FP8 bits of format dt to float through a 256-entry table.
func (k *kernel) fp8Decode(v value.Value, dt ir.DType) value.Value {
	return k.fp8Lookup(k.fp8Table(dt, 256), k.b.NewZExt(v, types.I64))
}

// fp8Encode converts float f to FP8 bits of format dt as ir.Float32ToFP8:
// the largest magnitude code not above |f| by a branch-free binary search,
// then round to nearest even against the next code, with overflow to ±max
// (saturate), infinity (E5M2) or NaN.
func (k *kernel) fp8Encode(f value.Value, dt ir.DType, saturate bool) value.Value {
	maxCode, nanCode, hasInf, fnuz := fp8Params(dt)
	tab := k.fp8Table(dt, 128)
	c8 := func(v uint8) value.Value { return constant.NewInt(types.I8, int64(v)) }
	dbl := func(v value.Value) value.Value { return k.b.NewFPExt(v, types.Double) }
	bits := k.b.NewBitCast(f, types.I32)
	neg := k.b.NewICmp(enum.IPredSLT, bits, constant.NewInt(types.I32, 0))
	sign := k.b.NewSelect(neg, c8(0x80), c8(0))
	xf := dbl(k.ewIntr("fabs", f))
	best := value.Value(i64(0))
	for step := int64(64); step >= 1; step /= 2 {
		cand := k.b.NewAdd(best, i64(step))
		ok := k.b.NewAnd(k.b.NewICmp(enum.IPredSLE, cand, i64(int64(maxCode))),
			k.b.NewFCmp(enum.FPredOLE, dbl(k.fp8Lookup(tab, k.b.NewAnd(cand, i64(127)))), xf))
		best = k.b.NewSelect(ok, cand, best)
	}
	v := dbl(k.fp8Lookup(tab, best))
	inexact := k.b.NewFCmp(enum.FPredONE, v, xf)
	atMax := k.b.NewICmp(enum.IPredEQ, best, i64(int64(maxCode)))
	below := dbl(k.fp8Lookup(tab, k.b.NewSelect(atMax, i64(int64(maxCode)-1), i64(0))))
	halfUlp := k.b.NewFMul(k.b.NewFSub(v, below), constant.NewFloat(types.Double, 0.5))
	over := k.b.NewFSub(xf, v)
	odd := k.b.NewTrunc(best, types.I1)
	// Beyond max: overflow above the midpoint to max+ulp, and at it when
	// max's mantissa is odd (E4M3FN's 448 is even: 464 rounds to 448).
	ovf := k.b.NewAnd(k.b.NewAnd(inexact, atMax),
		k.b.NewOr(k.b.NewFCmp(enum.FPredOGT, over, halfUlp),
			k.b.NewAnd(k.b.NewFCmp(enum.FPredOEQ, over, halfUlp), odd)))
	next := dbl(k.fp8Lookup(tab, k.b.NewSelect(atMax, best, k.b.NewAdd(best, i64(1)))))
	under := k.b.NewFSub(next, xf)
	var up value.Value = k.b.NewOr(k.b.NewFCmp(enum.FPredOGT, over, under),
		k.b.NewAnd(k.b.NewFCmp(enum.FPredOEQ, over, under), odd))
	up = k.b.NewAnd(k.b.NewAnd(inexact, k.b.NewXor(atMax, constant.True)), up)
	code := k.b.NewTrunc(k.b.NewAdd(best, k.b.NewZExt(up, types.I64)), types.I8)
	var res value.Value = k.b.NewOr(sign, code)
	if fnuz {
		res = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, code, c8(0)), c8(0), res)
	}
	// NaN keeps x's sign except in the FNUZ types, whose one NaN is 0x80.
	nan := value.Value(c8(nanCode))
	if !fnuz {
		nan = k.b.NewOr(sign, c8(nanCode))
	}
	var overflow value.Value
	switch {
	case saturate:
		overflow = k.b.NewOr(sign, c8(maxCode))
	case hasInf:
		overflow = k.b.NewOr(sign, c8(0x7c))
	default:
		overflow = nan
	}
	isInf := k.b.NewFCmp(enum.FPredOEQ, xf, constant.NewFloat(types.Double, math.Inf(1)))
	res = k.b.NewSelect(k.b.NewOr(ovf, isInf), overflow, res)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredUNO, f, f), nan, res)
}
