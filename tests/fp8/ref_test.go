// Package fp8 checks effc's FP8 support end to end: the fp32 <-> FP8
// conversions of ir, the interpreter's Cast, QuantizeLinear and
// DequantizeLinear and the compiled kernels on every target against an
// independent reference written from the ONNX specification, and
// quant.QuantizeFP8 on the bundled digits model.
package fp8

import (
	"math"

	"github.com/effc/effc/ir"
)

// The reference below is written from the ONNX specification
// (docs/Operators.md Cast-19 and QuantizeLinear-19, onnx.ai/onnx/technical/
// float8.html), not from ir's search-based encoder:
//
//   - a value is (-1)^S * 2^(e-bias) * (1 + m/2^M) for e > 0 and
//     (-1)^S * 2^(1-bias) * m/2^M for e = 0;
//   - narrowing rounds to nearest, ties to even mantissa, and then, if the
//     rounded magnitude exceeds the largest finite value: saturate=1 gives
//     ±max, saturate=0 gives ±Inf (E5M2) or NaN (the others); ±Inf is
//     treated the same way (the Cast table, which is normative where the
//     technical note differs for the FNUZ types);
//   - NaN stays NaN: S.1111.111 (E4M3FN) and S.11111.11 (E5M2) keep the
//     input's sign, as the ONNX reference helpers do; the FNUZ types have
//     one NaN, 0x80, and no -0, so a negative value that rounds to zero
//     gives 0x00.

// format is an FP8 layout as the specification tabulates it.
type format struct {
	dt        ir.DType
	name      string
	exp, man  int
	bias      int
	fnuz      bool  // no -0, NaN is 0x80, no Inf
	hasInf    bool  // E5M2: S.11111.00 is Inf, S.11111.{01,10,11} NaN
	maxCode   uint8 // magnitude code of the largest finite value
	maxFinite float64
}

var formats = []format{
	{ir.Float8E4M3FN, "e4m3fn", 4, 3, 7, false, false, 0x7e, 448},
	{ir.Float8E4M3FNUZ, "e4m3fnuz", 4, 3, 8, true, false, 0x7f, 240},
	{ir.Float8E5M2, "e5m2", 5, 2, 15, false, true, 0x7b, 57344},
	{ir.Float8E5M2FNUZ, "e5m2fnuz", 5, 2, 16, true, false, 0x7f, 57344},
}

// isNaN reports whether code c is a NaN of format f.
func (f format) isNaN(c uint8) bool {
	switch {
	case f.fnuz:
		return c == 0x80
	case f.hasInf:
		return c&0x7f > 0x7c
	}
	return c&0x7f == 0x7f
}

// decode is the value of code c: exact; NaN codes give a NaN with the
// code's sign, except the FNUZ NaN 0x80, which gives a positive one.
func (f format) decode(c uint8) float64 {
	s := 1.0
	if c&0x80 != 0 {
		s = -1
	}
	if f.isNaN(c) {
		if f.fnuz {
			return math.NaN()
		}
		return math.Copysign(math.NaN(), s)
	}
	e := int(c>>f.man) & (1<<f.exp - 1)
	m := float64(int(c) & (1<<f.man - 1))
	if f.hasInf && e == 1<<f.exp-1 {
		return s * math.Inf(1)
	}
	if e == 0 {
		return s * math.Ldexp(m/float64(int(1)<<f.man), 1-f.bias)
	}
	return s * math.Ldexp(1+m/float64(int(1)<<f.man), e-f.bias)
}

// nan is the NaN code for an input with sign bit sign (0 or 0x80).
func (f format) nan(sign uint8) uint8 {
	if f.fnuz {
		return 0x80
	}
	return sign | 0x7f
}

// overflow is the code of a value whose rounded magnitude is beyond max.
func (f format) overflow(sign uint8, saturate bool) uint8 {
	switch {
	case saturate:
		return sign | f.maxCode
	case f.hasInf:
		return sign | 0x7c
	}
	return f.nan(sign)
}

// encode narrows x as the specification says: round to nearest even on the
// mantissa grid of x's binade (the subnormal grid below the smallest
// normal), then saturate or overflow.
func (f format) encode(x float32, saturate bool) uint8 {
	a := float64(x)
	var sign uint8
	if math.Signbit(a) {
		sign, a = 0x80, -a
	}
	switch {
	case math.IsNaN(a):
		return f.nan(sign)
	case math.IsInf(a, 1):
		return f.overflow(sign, saturate)
	}
	minNormalExp := 1 - f.bias
	_, e2 := math.Frexp(a) // a = frac * 2^e2, frac in [0.5, 1)
	e := e2 - 1            // a in [2^e, 2^(e+1))
	if a == 0 || e < minNormalExp {
		e = minNormalExp
	}
	quantum := math.Ldexp(1, e-f.man)
	r := math.RoundToEven(a / quantum) // exact: a has 24 bits, quantum is 2^k
	var code int
	switch {
	case r == 0:
		code = 0
	case e == minNormalExp && r < float64(int(1)<<f.man):
		code = int(r) // subnormal
	default:
		m := int(r) - 1<<f.man // r in [2^M, 2^(M+1)]
		if m == 1<<f.man {
			e, m = e+1, 0
		}
		code = (e+f.bias)<<f.man | m
	}
	if r*quantum > f.maxFinite {
		return f.overflow(sign, saturate)
	}
	if code == 0 && f.fnuz {
		return 0
	}
	return sign | uint8(code)
}

// edgeInputs returns the float32 inputs the cast tests use: every code's
// value, every midpoint between neighbouring codes and the floats on each
// side of it, half the smallest subnormal and its neighbours, values around
// and beyond max (the midpoint to the next, non-existent code included),
// fp32 subnormals and extremes, ±0, ±Inf and NaN (both signs), of all four
// formats and both signs.
func edgeInputs() []float32 {
	var xs []float32
	add := func(v float64) {
		f := float32(v)
		xs = append(xs, f, -f, math.Nextafter32(f, float32(math.Inf(1))), math.Nextafter32(f, float32(math.Inf(-1))),
			-math.Nextafter32(f, float32(math.Inf(1))), -math.Nextafter32(f, float32(math.Inf(-1))))
	}
	for _, f := range formats {
		for c := 0; c < int(f.maxCode); c++ {
			lo, hi := f.decode(uint8(c)), f.decode(uint8(c+1))
			add(lo)
			add((lo + hi) / 2) // exact in float32: one more bit than fp8
		}
		mx := f.decode(f.maxCode)
		ulp := mx - f.decode(f.maxCode-1)
		for _, v := range []float64{mx, mx + ulp/4, mx + ulp/2, mx + 3*ulp/4, mx + ulp, 2 * mx, mx * 1024} {
			add(v)
		}
		minSub := math.Ldexp(1, 1-f.bias-f.man)
		for _, v := range []float64{minSub / 2, minSub / 4, minSub * 3 / 4, minSub * 3 / 2, minSub / 1024} {
			add(v)
		}
	}
	for _, v := range []float64{0, 1, math.SmallestNonzeroFloat32, 1e-40, math.MaxFloat32, 1e30, math.Inf(1)} {
		add(v)
	}
	nan := math.Float32frombits(0x7fc00000)
	return append(xs, nan, math.Float32frombits(0xffc00000), math.Float32frombits(0x7f800001), math.Float32frombits(0xff812345))
}
