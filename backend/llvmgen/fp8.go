package llvmgen

import (
	"math"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// FP8 weight decoding: DequantizeLinear(x fp8, scale f32, zero point?) is
// how an FP8-quantized model (quant.QuantizeFP8) stores a Conv, Gemm or
// MatMul weight. The fp8 bytes stay one byte each in the read-only data and
// this kernel decodes them into the arena on every run, fp32 accumulation
// following in the unchanged float kernel.
//
// Decoding is integer bit manipulation on vectors of fp8Lanes codes, the
// same operations on every target (x86 vpmovzxbd/vpslld/vpor/vaddps/vmulps,
// Arm ushll/shl/orr/fadd/fmul, wasm i8x16.shuffle/i32x4.shl/v128.or/
// f32x4.add/f32x4.mul; tests/fp8/codegen_test.go pins them):
//
//	mag = code & 0x7f, sign = (code & 0x80) << 24
//	normal (mag >= 1<<M):  bits = mag << (23-M) + (127-bias) << 23
//	subnormal:             value = (float(2^23 | mag) - 2^23) * 2^(1-bias-M)
//	then NaN/Inf codes by a select, the sign by an or, and * scale.
//
// No step touches a subnormal float, so a flush-to-zero mode in the caller
// cannot change the result. A 256-entry table with gathers was the other
// candidate; the bit path needs no gather (NEON and wasm have none) and
// measured faster (docs/passes/quantization.md, section FP8).
//
// Encoding (fp8Encode: QuantizeLinear to FP8 and Cast) is integer rounding
// as well, so the loops around it vectorize too.

// fp8Lanes is the vector width of the decoder, in fp8 codes: one 128-bit
// load, four 128-bit (two AVX2, one AVX-512) float vectors.
const fp8Lanes = 16

// fp8Bits describes a format for the decoder and encoder: mantissa bits,
// bias, the magnitude code of the largest finite value and the special
// codes.
type fp8Bits struct {
	man, bias int64
	maxCode   int64
	hasInf    bool // E5M2: magnitude 0x7c is Inf, 0x7d..0x7f NaN
	fnuz      bool // 0x80 is the only NaN, no -0; else (E4M3FN) 0x7f is NaN
}

// fp8BitsOf returns the description of format dt.
func fp8BitsOf(dt ir.DType) fp8Bits {
	switch dt {
	case ir.Float8E4M3FN:
		return fp8Bits{man: 3, bias: 7, maxCode: 0x7e}
	case ir.Float8E4M3FNUZ:
		return fp8Bits{man: 3, bias: 8, maxCode: 0x7f, fnuz: true}
	case ir.Float8E5M2:
		return fp8Bits{man: 2, bias: 15, maxCode: 0x7b, hasInf: true}
	}
	return fp8Bits{man: 2, bias: 16, maxCode: 0x7f, fnuz: true} // Float8E5M2FNUZ
}

// splatI32 is the i32 constant v, or a vector of it when t is a vector type.
func splatI32(t types.Type, v int64) value.Value { return splatConst(t, constant.NewInt(types.I32, v)) }

// splatF32 is the float constant v, or a vector of it for a vector type t.
func splatF32(t types.Type, v float64) value.Value {
	return splatConst(t, constant.NewFloat(types.Float, v))
}

// splatConst is c, or the constant vector of c in every lane when t is a
// vector type.
func splatConst(t types.Type, c constant.Constant) value.Value {
	vt, ok := t.(*types.VectorType)
	if !ok {
		return c
	}
	elems := make([]constant.Constant, vt.Len)
	for i := range elems {
		elems[i] = c
	}
	return constant.NewVector(vt, elems...)
}

// fp8DecodeBits decodes fp8 codes v (i8 or a vector of i8) of format dt to
// float (or a vector of floats) exactly, as ir.FP8ToFloat32 does: NaN codes
// give the quiet NaN with the code's sign (0x7fc00000 for the FNUZ NaN).
func (k *kernel) fp8DecodeBits(v value.Value, dt ir.DType) value.Value {
	f := fp8BitsOf(dt)
	it, ft := types.Type(types.I32), types.Type(types.Float)
	if vt, ok := v.Type().(*types.VectorType); ok {
		it, ft = types.NewVector(vt.Len, types.I32), types.NewVector(vt.Len, types.Float)
	}
	c := func(x int64) value.Value { return splatI32(it, x) }
	w := k.b.NewZExt(v, it)
	mag := k.b.NewAnd(w, c(0x7f))
	sign := k.b.NewShl(k.b.NewAnd(w, c(0x80)), c(24))
	normal := k.b.NewAdd(k.b.NewShl(mag, c(23-f.man)), c((127-f.bias)<<23))
	// float(mag) without a conversion instruction (LLVM 14 scalarizes
	// the vector one on wasm32): the bits 2^23 + mag, minus 2^23.
	magF := k.b.NewFSub(k.b.NewBitCast(k.b.NewOr(mag, c(0x4b000000)), ft), splatF32(ft, 0x1p23))
	sub := k.b.NewBitCast(k.b.NewFMul(magF, splatF32(ft, math.Ldexp(1, int(1-f.bias-f.man)))), it)
	isSub := k.b.NewICmp(enum.IPredULT, mag, c(1<<f.man))
	var bits value.Value = k.b.NewSelect(isSub, sub, normal)
	switch {
	case f.hasInf:
		// 0x7c: Inf; 0x7d..0x7f: NaN (quiet bit set).
		special := k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, mag, c(0x7c)), c(0x7f800000), c(0x7fc00000))
		bits = k.b.NewSelect(k.b.NewICmp(enum.IPredUGE, mag, c(0x7c)), special, bits)
	case !f.fnuz:
		bits = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, mag, c(0x7f)), c(0x7fc00000), bits)
	}
	bits = k.b.NewOr(bits, sign)
	if f.fnuz {
		bits = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, w, c(0x80)), c(0x7fc00000), bits)
	}
	return k.b.NewBitCast(bits, ft)
}

// fp8DequantizeKernel is DequantizeLinear with an fp8 input: (x - zp) *
// scale in float32. With a float32 scale per tensor or per axis it is
// vectorized, fp8Lanes codes at a time along the innermost run that shares
// one scale (or, with the axis last, along the axis with a vector of
// scales); other scale types, blocked scales and the remainders go one
// element at a time through the same decoder.
func (k *kernel) fp8DequantizeKernel(x, scale, zp, out *buf) error {
	pidx, err := k.quantParam(x, scale)
	if err != nil {
		return err
	}
	// rows × run elements; mode perRow: one scale per row (per tensor, or
	// axis not last); perLane: the axis is the last dim, lane j uses scale
	// j of the row.
	perTensor := scale.len() == 1 && len(scale.shape) <= 1
	axis := int(k.n.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(x.shape)
	}
	blocked := !perTensor && k.n.AttrInt("block_size", 0) > 0
	if blocked || scale.dt != ir.Float32 || len(x.shape) == 0 {
		k.fp8DequantizeScalar(x, scale, zp, out, pidx)
		return nil
	}
	var rows, run, channels int64 = 1, x.len(), 1
	perLane := false
	if !perTensor {
		channels = x.shape[axis]
		run = ir.NumElements(x.shape[axis+1:])
		rows = x.len() / run
		if run == 1 {
			perLane, rows, run = true, x.len()/channels, channels
		}
	}
	vt := types.NewVector(fp8Lanes, types.I8)
	ft := types.NewVector(fp8Lanes, types.Float)
	loadScale := func(i value.Value) value.Value {
		return k.b.NewFPTrunc(k.mxLoadF64(scale, i), types.Float)
	}
	k.loop(rows, func(r value.Value) {
		base := k.b.NewMul(r, i64(run))
		var s, z value.Value
		if !perLane {
			ch := value.Value(i64(0))
			if !perTensor {
				ch = k.b.NewSRem(r, i64(channels))
			}
			s = loadScale(ch)
			if zp != nil {
				z = k.fp8DecodeBits(k.load(zp, ch), zp.dt)
			}
		}
		vecs := run / fp8Lanes
		k.loop(vecs, func(j value.Value) {
			off := k.b.NewMul(j, i64(fp8Lanes))
			i := k.b.NewAdd(base, off)
			ld := k.b.NewLoad(vt, k.b.NewBitCast(k.elemPtr(x, i), types.NewPointer(vt)))
			ld.Align = 1
			d := k.fp8DecodeBits(ld, x.dt)
			var sv, zv value.Value
			if perLane {
				l := k.b.NewLoad(ft, k.b.NewBitCast(k.elemPtr(scale, off), types.NewPointer(ft)))
				l.Align = 4
				sv = l
				if zp != nil {
					zl := k.b.NewLoad(vt, k.b.NewBitCast(k.elemPtr(zp, off), types.NewPointer(vt)))
					zl.Align = 1
					zv = k.fp8DecodeBits(zl, zp.dt)
				}
			} else {
				sv = k.splatN(s, int64(ft.Len), ft.ElemType)
				if z != nil {
					zv = k.splatN(z, int64(ft.Len), ft.ElemType)
				}
			}
			if zv != nil {
				d = k.b.NewFSub(d, zv)
			}
			st := k.b.NewStore(k.b.NewFMul(d, sv), k.b.NewBitCast(k.elemPtr(out, i), types.NewPointer(ft)))
			st.Align = 4
		})
		for t := vecs * fp8Lanes; t < run; t++ {
			i := k.b.NewAdd(base, i64(t))
			d := k.fp8DecodeBits(k.load(x, i), x.dt)
			ss, zz := s, z
			if perLane {
				ss = loadScale(i64(t))
				if zp != nil {
					zz = k.fp8DecodeBits(k.load(zp, i64(t)), zp.dt)
				}
			}
			if zz != nil {
				d = k.b.NewFSub(d, zz)
			}
			k.store(out, i, k.b.NewFMul(d, ss))
		}
	})
	return nil
}

// fp8Encode converts float f (a scalar; opt vectorizes the loops it sits
// in) to the FP8 bits of format dt exactly as ir.Float32ToFP8 does, with
// integer operations and one float add, no table:
//
//	a = |f| bits; normal (a >= bits of 2^(1-bias)): round to nearest even
//	  by adding 2^(22-M) - 1 + lsb and shifting the mantissa down by 23-M,
//	  then rebias: code = (a + ...) >> (23-M) - (127-bias) << M
//	subnormal: code = bits(|f| + C) - bits(C) with C = 2^(24-bias-M), whose
//	  ulp is the subnormal quantum, so the float add rounds to nearest even
//	  (2^M, a carry into the smallest normal, is that normal's code)
//	code > maxCode (after rounding): ±max with saturate, else ±Inf (E5M2)
//	  or NaN; ±Inf likewise; NaN: sign|0x7f, or 0x80 for FNUZ, which also
//	  turns a signed zero code into 0x00.
func (k *kernel) fp8Encode(f value.Value, dt ir.DType, saturate bool) value.Value {
	p := fp8BitsOf(dt)
	c := func(x int64) value.Value { return constant.NewInt(types.I32, x) }
	bits := k.b.NewBitCast(f, types.I32)
	a := k.b.NewAnd(bits, c(0x7fffffff))
	sign := k.b.NewAnd(k.b.NewLShr(bits, c(24)), c(0x80))
	shift := 23 - p.man
	lsb := k.b.NewAnd(k.b.NewLShr(a, c(shift)), c(1))
	rounded := k.b.NewAdd(a, k.b.NewAdd(c(1<<(shift-1)-1), lsb))
	normal := k.b.NewSub(k.b.NewLShr(rounded, c(shift)), c((127-p.bias)<<p.man))
	magic := float32(math.Ldexp(1, int(24-p.bias-p.man)))
	sum := k.b.NewFAdd(k.b.NewBitCast(a, types.Float), constant.NewFloat(types.Float, float64(magic)))
	sub := k.b.NewSub(k.b.NewBitCast(sum, types.I32), c(int64(math.Float32bits(magic))))
	isSub := k.b.NewICmp(enum.IPredULT, a, c((128-p.bias)<<23))
	code := k.b.NewSelect(isSub, sub, normal)
	nan := c(0x80)
	if !p.fnuz {
		nan = k.b.NewOr(sign, c(0x7f))
	}
	var overflow value.Value
	switch {
	case saturate:
		overflow = k.b.NewOr(sign, c(p.maxCode))
	case p.hasInf:
		overflow = k.b.NewOr(sign, c(0x7c))
	default:
		overflow = nan
	}
	var res value.Value = k.b.NewOr(sign, code)
	if p.fnuz {
		res = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, code, c(0)), c(0), res)
	}
	// Overflow after rounding, or ±Inf (a == 0x7f800000 rounds past max).
	res = k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, code, c(p.maxCode)), overflow, res)
	res = k.b.NewSelect(k.b.NewICmp(enum.IPredUGT, a, c(0x7f800000)), nan, res)
	return k.b.NewTrunc(res, types.I8)
}

// fp8DequantizeScalar is the element-at-a-time DequantizeLinear for fp8
// inputs with any scale layout quantParam accepts (blocked included).
func (k *kernel) fp8DequantizeScalar(x, scale, zp, out *buf, pidx func([]value.Value) value.Value) {
	xs := strides(x.shape)
	k.loopNest(x.shape, func(c []value.Value) {
		i := k.linear(c, xs, 0)
		p := pidx(c)
		d := k.fp8DecodeBits(k.load(x, i), x.dt)
		if zp != nil {
			d = k.b.NewFSub(d, k.fp8DecodeBits(k.load(zp, p), zp.dt))
		}
		if scale.dt == ir.Float64 {
			k.mxStoreF64(out, i, k.b.NewFMul(k.b.NewFPExt(d, types.Double), k.load(scale, p)))
			return
		}
		k.store(out, i, k.b.NewFMul(d, k.b.NewFPTrunc(k.mxLoadF64(scale, p), types.Float)))
	})
}

// fp8QuantizeKernel is QuantizeLinear to an fp8 type: x / scale
// (quantDivide), plus the
// decoded zero point, then rounded to nearest even and saturated as the
// saturate attribute says (fp8Encode), as interp's quantizeLinearKernel.
func (k *kernel) fp8QuantizeKernel(x, scale, zp, out *buf) error {
	pidx, err := k.quantParam(x, scale)
	if err != nil {
		return err
	}
	saturate := k.n.AttrInt("saturate", 1) != 0
	xs := strides(x.shape)
	k.loopNest(x.shape, func(c []value.Value) {
		i := k.linear(c, xs, 0)
		p := pidx(c)
		q := k.quantDivide(x, scale, i, p)
		if zp != nil {
			q = k.b.NewFAdd(q, k.b.NewFPExt(k.fp8DecodeBits(k.load(zp, p), zp.dt), types.Double))
		}
		k.b.NewStore(k.fp8Encode(k.b.NewFPTrunc(q, types.Float), out.dt, saturate), k.elemPtr(out, i))
	})
	return nil
}
