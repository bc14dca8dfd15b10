package ir

import (
	"fmt"
	"math"
)

// DType is an element type. Its numeric values are ONNX's TensorProto.DataType
// numbers, so the frontend and encoder convert without a table.
type DType uint8

// The element types effc knows. Names in the text form are in dtypeNames.
const (
	Undefined      DType = 0
	Float32        DType = 1
	Uint8          DType = 2
	Int8           DType = 3
	Uint16         DType = 4
	Int16          DType = 5
	Int32          DType = 6
	Int64          DType = 7
	String         DType = 8
	Bool           DType = 9
	Float16        DType = 10
	Float64        DType = 11
	Uint32         DType = 12
	Uint64         DType = 13
	Complex64      DType = 14
	Complex128     DType = 15
	BFloat16       DType = 16
	Float8E4M3FN   DType = 17
	Float8E4M3FNUZ DType = 18
	Float8E5M2     DType = 19
	Float8E5M2FNUZ DType = 20
)

var dtypeNames = [...]string{
	Undefined: "undef", Float32: "f32", Uint8: "u8", Int8: "i8", Uint16: "u16", Int16: "i16",
	Int32: "i32", Int64: "i64", String: "str", Bool: "bool", Float16: "f16", Float64: "f64",
	Uint32: "u32", Uint64: "u64", Complex64: "c64", Complex128: "c128", BFloat16: "bf16",
	Float8E4M3FN: "f8e4m3fn", Float8E4M3FNUZ: "f8e4m3fnuz", Float8E5M2: "f8e5m2", Float8E5M2FNUZ: "f8e5m2fnuz",
}

// String returns the short name used in the IR text form ("f32", "i8", "f8e4m3fn").
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// ParseDType is the inverse of DType.String.
func ParseDType(s string) (DType, error) {
	for i, n := range dtypeNames {
		if n == s {
			return DType(i), nil
		}
	}
	return Undefined, fmt.Errorf("unknown dtype %q", s)
}

// Valid reports whether d is one of the defined element types (not Undefined).
func (d DType) Valid() bool { return d > Undefined && int(d) < len(dtypeNames) }

// Size is the byte width of one element; 0 for String and Undefined.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8, Bool, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Int32, Uint32, Float32:
		return 4
	case Int64, Uint64, Float64, Complex64:
		return 8
	case Complex128:
		return 16
	}
	return 0
}

// IsFloat reports whether d is a floating-point type of any width.
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ:
		return true
	}
	return false
}

// IsInt reports whether d is a signed or unsigned integer type.
func (d DType) IsInt() bool { return d.IsSigned() || d.IsUnsigned() }

// IsSigned reports whether d is a signed integer type.
func (d DType) IsSigned() bool { return d == Int8 || d == Int16 || d == Int32 || d == Int64 }

// IsUnsigned reports whether d is an unsigned integer type.
func (d DType) IsUnsigned() bool { return d == Uint8 || d == Uint16 || d == Uint32 || d == Uint64 }

// IsFP8 reports whether d is one of the four 8-bit float formats.
func (d DType) IsFP8() bool { return d >= Float8E4M3FN && d <= Float8E5M2FNUZ }

// Float16ToFloat32 decodes IEEE binary16 bits.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(man) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Float32ToFloat16 encodes f as IEEE binary16, rounding to nearest even.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

// BFloat16ToFloat32 decodes bfloat16 bits.
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 encodes f as bfloat16, rounding to nearest even (NaN stays NaN).
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// fp8Format describes one 8-bit float layout.
type fp8Format struct {
	expBits, manBits int
	bias             int
	fnuz             bool // no negative zero, NaN is 0x80, no infinities
	hasInf           bool // E5M2 has IEEE infinities
	max              float64
}

func fp8Of(d DType) fp8Format {
	switch d {
	case Float8E4M3FN:
		return fp8Format{4, 3, 7, false, false, 448}
	case Float8E4M3FNUZ:
		return fp8Format{4, 3, 8, true, false, 240}
	case Float8E5M2:
		return fp8Format{5, 2, 15, false, true, 57344}
	case Float8E5M2FNUZ:
		return fp8Format{5, 2, 16, true, false, 57344}
	}
	panic("ir: not an fp8 dtype: " + d.String())
}

// FP8ToFloat32 decodes one FP8 byte of format d. Every finite code and
// infinity decodes exactly. NaN codes decode to the quiet NaN 0x7fc00000
// with the code's sign (0xffc00000 for E4M3FN 0xff and E5M2 0xfd..0xff);
// the FNUZ types' only NaN, 0x80, decodes to 0x7fc00000.
func FP8ToFloat32(d DType, v uint8) float32 {
	f := fp8Of(d)
	sign := v >> 7
	exp := int(v>>f.manBits) & (1<<f.expBits - 1)
	man := int(v) & (1<<f.manBits - 1)
	nan := math.Float32frombits(uint32(sign)<<31 | 0x7fc00000)
	if f.fnuz {
		if v == 0x80 {
			return math.Float32frombits(0x7fc00000)
		}
	} else if f.hasInf {
		if exp == 1<<f.expBits-1 {
			if man == 0 {
				return float32(math.Inf(1 - 2*int(sign)))
			}
			return nan
		}
	} else if v&0x7f == 0x7f {
		return nan
	}
	var val float64
	if exp == 0 {
		val = math.Ldexp(float64(man), 1-f.bias-f.manBits)
	} else {
		val = math.Ldexp(float64(man|1<<f.manBits), exp-f.bias-f.manBits)
	}
	if sign == 1 {
		val = -val
	}
	return float32(val)
}

// Float32ToFP8 encodes x in format d as ONNX Cast-19 and QuantizeLinear-19
// specify: round to nearest, ties to even mantissa, then overflow. With
// saturate, values whose rounded magnitude exceeds the largest finite one
// (and ±Inf) clamp to ±max; otherwise they become ±Inf (E5M2) or NaN. NaN
// stays NaN: S.1111.111 (E4M3FN) or S.11111.11 (E5M2) with x's sign, 0x80
// for the FNUZ types, which also have no -0 (negative values that round to
// zero give 0x00).
func Float32ToFP8(d DType, x float32, saturate bool) uint8 {
	f := fp8Of(d)
	xf := float64(x)
	var sign uint8
	if math.Signbit(xf) {
		sign = 0x80
		xf = -xf
	}
	nan := sign | 0x7f
	if f.fnuz {
		nan = 0x80
	}
	if math.IsNaN(xf) {
		return nan
	}
	overflow := func() uint8 {
		if saturate {
			return sign | maxCode(f)
		}
		if f.hasInf {
			return sign | 0x7c
		}
		return nan
	}
	if math.IsInf(xf, 0) {
		return overflow()
	}
	// Find the nearest representable value by scanning the code space: 128
	// magnitudes, monotonic in code order.
	best, lo, hi := uint8(0), 0, int(maxCode(f))
	for lo <= hi {
		mid := (lo + hi) / 2
		if float64(FP8ToFloat32(d, uint8(mid))) <= xf {
			best = uint8(mid)
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	v := float64(FP8ToFloat32(d, best))
	if v != xf {
		if best == maxCode(f) {
			// Beyond max: the next value up would be max+ulp, so x rounds
			// to max below the midpoint, and at the midpoint too when max's
			// mantissa is even (E4M3FN: 464 rounds to 448, 470 overflows).
			ulp := v - float64(FP8ToFloat32(d, best-1))
			if xf-v > ulp/2 || (xf-v == ulp/2 && best&1 == 1) {
				return overflow()
			}
		} else {
			next := float64(FP8ToFloat32(d, best+1))
			if xf-v > next-xf || (xf-v == next-xf && best&1 == 1) {
				best++
			}
		}
	}
	if f.fnuz && best == 0 {
		return 0
	}
	return sign | best
}

// maxCode is the magnitude code of the largest finite value.
func maxCode(f fp8Format) uint8 {
	switch {
	case f.hasInf:
		return 0x7b
	case f.fnuz:
		return 0x7f
	}
	return 0x7e
}
