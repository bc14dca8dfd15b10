package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func castTo(dt ir.DType) map[string]*ir.Attr { return map[string]*ir.Attr{"to": ir.IntAttr(int64(dt))} }

func TestCast(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		in   *ir.Tensor
		to   ir.DType
		want *ir.Tensor
	}{
		{"f32->i32 truncates", tf32(sh(3), 1.9, -1.9, 0), ir.Int32, ti32(sh(3), 1, -1, 0)},
		{"f32->i32 NaN and overflow", tf32(sh(2), float32(nan), 3e9), ir.Int32, ti32(sh(2), math.MinInt32, math.MinInt32)},
		{"f32->i8 wraps via int32", tf32(sh(1), 300), ir.Int8, ti8(sh(1), 44)},
		{"i32->i8 wraps", ti32(sh(2), 200, -129), ir.Int8, ti8(sh(2), -56, 127)},
		{"i8->u8 wraps", ti8(sh(2), -1, 5), ir.Uint8, tu8(sh(2), 255, 5)},
		{"u8->i64", tu8(sh(2), 255, 5), ir.Int64, ti64(sh(2), 255, 5)},
		{"f32->bool", tf32(sh(3), 0, 0.5, float32(nan)), ir.Bool, tbool(sh(3), false, true, true)},
		{"bool->f32", tbool(sh(2), true, false), ir.Float32, tf32(sh(2), 1, 0)},
		{"i64->bool", ti64(sh(2), 0, -3), ir.Bool, tbool(sh(2), false, true)},
		{"f64->f32", tf64(sh(2), 0.1, -inf), ir.Float32, tf32(sh(2), 0.1, float32(-inf))},
		{"f32->f64", tf32(sh(1), 0.5), ir.Float64, tf64(sh(1), 0.5)},
		{"f32->str", tf32(sh(7), 0.9767611, 1e-5, float32(nan), float32(inf), 1, -2.5, 1e20), ir.String,
			&ir.Tensor{DType: ir.String, Shape: sh(7), Data: []string{"0.9767611", "1e-05", "nan", "inf", "1.0", "-2.5", "1e+20"}}},
		{"i64->str", ti64(sh(2), 5, -7), ir.String, &ir.Tensor{DType: ir.String, Shape: sh(2), Data: []string{"5", "-7"}}},
		{"str->i64", &ir.Tensor{DType: ir.String, Shape: sh(3), Data: []string{"12", "-3", "4.7"}}, ir.Int64, ti64(sh(3), 12, -3, 4)},
		{"str->bool", &ir.Tensor{DType: ir.String, Shape: sh(3), Data: []string{"true", "0", "2"}}, ir.Bool, tbool(sh(3), true, false, true)},
		// fp8 saturation (ONNX Cast-19, saturate defaults to 1).
		{"f32->e4m3fn saturates", tf32(sh(3), 1000, -1000, 1), ir.Float8E4M3FN, &ir.Tensor{DType: ir.Float8E4M3FN, Shape: sh(3), Data: []uint8{0x7e, 0xfe, 0x38}}},
	}
	for _, c := range cases {
		got := evalMath(t, "Cast", castTo(c.to), c.in)
		expectTensor(t, c.name, got[0], c.want)
	}
	// String to float: NaN and the spellings of infinity in the ONNX tests.
	got := evalMath(t, "Cast", castTo(ir.Float32), &ir.Tensor{DType: ir.String, Shape: sh(6), Data: []string{"0.5", "NaN", "INF", "-INF", "+INF", "1e3"}})
	expectTensor(t, "str->f32", got[0], tf32(sh(6), 0.5, float32(nan), float32(inf), float32(-inf), float32(inf), 1000))

	// saturate=0: out-of-range becomes NaN (E4M3FN) or infinity (E5M2).
	sat0 := castTo(ir.Float8E4M3FN)
	sat0["saturate"] = ir.IntAttr(0)
	got = evalMath(t, "Cast", sat0, tf32(sh(1), 1000))
	expectTensor(t, "e4m3fn no saturate", got[0], &ir.Tensor{DType: ir.Float8E4M3FN, Shape: sh(1), Data: []uint8{0x7f}})
	sat0 = castTo(ir.Float8E5M2)
	sat0["saturate"] = ir.IntAttr(0)
	got = evalMath(t, "Cast", sat0, tf32(sh(1), 1e6))
	expectTensor(t, "e5m2 no saturate", got[0], &ir.Tensor{DType: ir.Float8E5M2, Shape: sh(1), Data: []uint8{0x7c}})

	// float64 -> float16 rounds once: 1 + 2^-11 + 2^-40 is just above the
	// midpoint between 1 and the next f16, so it rounds up; rounding via
	// float32 first would land on the tie and round to 1.
	got = evalMath(t, "Cast", castTo(ir.Float16), tf64(sh(1), 1+math.Ldexp(1, -11)+math.Ldexp(1, -40)))
	expectTensor(t, "f64->f16 single rounding", got[0], &ir.Tensor{DType: ir.Float16, Shape: sh(1), Data: []uint16{0x3c01}})

	// Narrow floats print their own shortest digits, as numpy does for float16.
	f16 := &ir.Tensor{DType: ir.Float16, Shape: sh(3), Data: []uint16{ir.Float32ToFloat16(0.1), ir.Float32ToFloat16(1000.5), ir.Float32ToFloat16(-2e-5)}}
	got = evalMath(t, "Cast", castTo(ir.String), f16)
	expectTensor(t, "f16->str", got[0], &ir.Tensor{DType: ir.String, Shape: sh(3), Data: []string{"0.1", "1000.5", "-2e-05"}})

	// bf16 round trip.
	got = evalMath(t, "Cast", castTo(ir.BFloat16), tf32(sh(2), 1, -2))
	expectTensor(t, "f32->bf16", got[0], &ir.Tensor{DType: ir.BFloat16, Shape: sh(2), Data: []uint16{0x3f80, 0xc000}})

	// CastLike takes the dtype of its second input.
	got = evalMath(t, "CastLike", nil, tf32(sh(2), 1.5, -2.5), ti64(sh(1), 0))
	expectTensor(t, "CastLike", got[0], ti64(sh(2), 1, -2))

	evalMathErr(t, "attribute to", "Cast", castTo(0), tf32(sh(1), 1))
	evalMathErr(t, "attribute to is missing", "Cast", nil, tf32(sh(1), 1))
	evalMathErr(t, "cannot parse", "Cast", castTo(ir.Float32), &ir.Tensor{DType: ir.String, Shape: sh(1), Data: []string{"abc"}})
}
