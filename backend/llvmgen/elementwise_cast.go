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
// 256-entry table and encode with fp8Encode (fp8.go), integer rounding
// that matches ir.Float32ToFP8 bit for bit, with saturate.

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

// fp8Table returns a constant table of the float32 bits of the 256 FP8
// codes of format dt.
func (k *kernel) fp8Table(dt ir.DType) value.Value {
	vals := make([]int64, 256)
	for c := range vals {
		vals[c] = int64(math.Float32bits(ir.FP8ToFloat32(dt, uint8(c))))
	}
	return k.constTable(vals, false)
}

// fp8Decode converts FP8 bits of format dt to float through a 256-entry
// table (fp8.go's fp8DecodeBits is the vector decoder DequantizeLinear
// uses; the table is the baseline tests/fp8's BenchmarkDecode compares it
// with).
func (k *kernel) fp8Decode(v value.Value, dt ir.DType) value.Value {
	p := k.b.NewGetElementPtr(types.I32, k.fp8Table(dt), k.b.NewZExt(v, types.I64))
	return k.b.NewBitCast(k.b.NewLoad(types.I32, p), types.Float)
}
