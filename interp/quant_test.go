package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func TestQuantizeLinearRounding(t *testing.T) {
	x := tkF32(tkS(7), 0.5, 1.5, 2.5, -0.5, -1.5, 300, -300)
	zp := &ir.Tensor{DType: ir.Int8, Shape: tkS(), Data: []int8{0}}
	got := tkRun(t, "QuantizeLinear", 1, nil, x, tkF32(nil, 1), zp)[0]
	tkWant(t, got, ir.Int8, tkS(7), []int8{0, 2, 2, 0, -2, 127, -128})
	// Default output is uint8 with zero point 0; saturates at both ends.
	got = tkRun(t, "QuantizeLinear", 1, nil, x, tkF32(nil, 2))[0]
	tkWant(t, got, ir.Uint8, tkS(7), []uint8{0, 1, 1, 0, 0, 150, 0})
	// Operators.md example: scale 2, zero point 128.
	got = tkRun(t, "QuantizeLinear", 1, nil, tkF32(tkS(6), 0, 2, 3, 1000, -254, -1000), tkF32(nil, 2),
		&ir.Tensor{DType: ir.Uint8, Shape: tkS(), Data: []uint8{128}})[0]
	tkWant(t, got, ir.Uint8, tkS(6), []uint8{128, 129, 130, 255, 1, 0})
}

func TestQuantizeLinearAxisAndBlocks(t *testing.T) {
	x := tkF32(tkS(2, 4), 1, 2, 3, 4, 5, 6, 7, 8)
	// Per axis 0: row 0 scale 1, row 1 scale 2.
	got := tkRun(t, "QuantizeLinear", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x, tkF32(tkS(2), 1, 2),
		&ir.Tensor{DType: ir.Uint8, Shape: tkS(2), Data: []uint8{0, 10}})[0]
	tkWant(t, got, ir.Uint8, tkS(2, 4), []uint8{1, 2, 3, 4, 12, 13, 14, 14})
	// Blocks of 2 along axis 1: scales [[1, 2], [4, 8]].
	got = tkRun(t, "QuantizeLinear", 1, map[string]*ir.Attr{"axis": ir.IntAttr(1), "block_size": ir.IntAttr(2)}, x, tkF32(tkS(2, 2), 1, 2, 4, 8),
		&ir.Tensor{DType: ir.Int8, Shape: tkS(2, 2), Data: []int8{0, 0, 0, 0}})[0]
	tkWant(t, got, ir.Int8, tkS(2, 4), []int8{1, 2, 2, 2, 1, 2, 1, 1})
	tkErr(t, "want a scalar or [4]", "QuantizeLinear", 1, nil, x, tkF32(tkS(3), 1, 2, 3))
}

func TestQuantizeLinearFP8(t *testing.T) {
	x := tkF32(tkS(5), 0.5, 448, 1000, -448, 0.3)
	e4 := &ir.Tensor{DType: ir.Float8E4M3FN, Shape: tkS(), Data: []uint8{0}}
	got := tkRun(t, "QuantizeLinear", 1, nil, x, tkF32(nil, 1), e4)[0]
	// 0.5 = 2^-1: exponent 6, mantissa 0. 448 is the max (0x7e); 1000
	// saturates to it. 0.3 rounds to 0.3125 = 1.25*2^-2 (exp 5, mantissa 2).
	tkWant(t, got, ir.Float8E4M3FN, tkS(5), []uint8{0x30, 0x7e, 0x7e, 0xfe, 0x2a})
	got = tkRun(t, "QuantizeLinear", 1, map[string]*ir.Attr{"saturate": ir.IntAttr(0)}, x, tkF32(nil, 1), e4)[0]
	if d := got.Data.([]uint8); d[2] != 0x7f {
		t.Errorf("E4M3FN without saturate: 1000 -> %#x, want NaN 0x7f", d[2])
	}
	e5 := &ir.Tensor{DType: ir.Float8E5M2, Shape: tkS(), Data: []uint8{0}}
	got = tkRun(t, "QuantizeLinear", 1, map[string]*ir.Attr{"saturate": ir.IntAttr(0)}, tkF32(tkS(2), 0.5, 1e6), tkF32(nil, 1), e5)[0]
	tkWant(t, got, ir.Float8E5M2, tkS(2), []uint8{0x38, 0x7c})
	got = tkRun(t, "QuantizeLinear", 1, map[string]*ir.Attr{"output_dtype": ir.IntAttr(int64(ir.Float8E5M2))}, tkF32(tkS(2), 0.5, 1e6), tkF32(nil, 1))[0]
	tkWant(t, got, ir.Float8E5M2, tkS(2), []uint8{0x38, 0x7b})
	// DequantizeLinear decodes fp8 and multiplies by the scale.
	dq := tkRun(t, "DequantizeLinear", 1, nil, &ir.Tensor{DType: ir.Float8E4M3FN, Shape: tkS(2), Data: []uint8{0x30, 0xfe}}, tkF32(nil, 2))[0]
	tkWant(t, dq, ir.Float32, tkS(2), []float32{1, -896})
}

func TestDequantizeLinear(t *testing.T) {
	i32 := &ir.Tensor{DType: ir.Int32, Shape: tkS(3), Data: []int32{-300, 0, 300}}
	got := tkRun(t, "DequantizeLinear", 1, nil, i32, tkF32(nil, 2))[0]
	tkWant(t, got, ir.Float32, tkS(3), []float32{-600, 0, 600})
	// Per axis 1 with zero points; the output takes the scale's dtype (f16).
	x := &ir.Tensor{DType: ir.Uint8, Shape: tkS(1, 2, 2), Data: []uint8{10, 20, 30, 40}}
	sc := &ir.Tensor{DType: ir.Float16, Shape: tkS(2), Data: []uint16{ir.Float32ToFloat16(0.5), ir.Float32ToFloat16(2)}}
	zp := &ir.Tensor{DType: ir.Uint8, Shape: tkS(2), Data: []uint8{10, 0}}
	got = tkRun(t, "DequantizeLinear", 1, nil, x, sc, zp)[0]
	tkNear(t, got, tkS(1, 2, 2), []float64{0, 5, 60, 80}, 0)
	if got.DType != ir.Float16 {
		t.Errorf("dtype %s, want f16", got.DType)
	}
	tkErr(t, "has dtype i8, input 0 has u8", "DequantizeLinear", 1, nil, x, tkF32(nil, 1), &ir.Tensor{DType: ir.Int8, Shape: tkS(), Data: []int8{0}})
}

func TestDynamicQuantizeLinear(t *testing.T) {
	// Operators.md example: x = [0, 2, -3, -2.5, 1.34, 0.5].
	outs := tkRun(t, "DynamicQuantizeLinear", 3, nil, tkF32(tkS(6), 0, 2, -3, -2.5, 1.34, 0.5))
	tkWant(t, outs[0], ir.Uint8, tkS(6), []uint8{153, 255, 0, 26, 221, 179})
	tkNear(t, outs[1], tkS(), []float64{5.0 / 255}, 1e-7)
	tkWant(t, outs[2], ir.Uint8, tkS(), []uint8{153})
	// All zeros: scale 1/255, zero point 0, no division by zero.
	outs = tkRun(t, "DynamicQuantizeLinear", 3, nil, tkF32(tkS(2), 0, 0))
	tkWant(t, outs[0], ir.Uint8, tkS(2), []uint8{0, 0})
	tkWant(t, outs[2], ir.Uint8, tkS(), []uint8{0})
	tkErr(t, "contains NaN", "DynamicQuantizeLinear", 3, nil, tkF32(tkS(1), float32(math.NaN())))
}

func TestMatMulInteger(t *testing.T) {
	a := &ir.Tensor{DType: ir.Uint8, Shape: tkS(4, 3), Data: []uint8{11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0}}
	b := &ir.Tensor{DType: ir.Uint8, Shape: tkS(3, 2), Data: []uint8{1, 4, 2, 5, 3, 6}}
	want := []int32{-38, -83, -44, -98, -50, -113, -56, -128}
	// Operators.md example with a scalar a_zero_point, then the same as a
	// per-row vector.
	got := tkRun(t, "MatMulInteger", 1, nil, a, b, &ir.Tensor{DType: ir.Uint8, Shape: tkS(), Data: []uint8{12}},
		&ir.Tensor{DType: ir.Uint8, Shape: tkS(), Data: []uint8{0}})[0]
	tkWant(t, got, ir.Int32, tkS(4, 2), want)
	got = tkRun(t, "MatMulInteger", 1, nil, a, b, &ir.Tensor{DType: ir.Uint8, Shape: tkS(4), Data: []uint8{12, 12, 12, 12}})[0]
	tkWant(t, got, ir.Int32, tkS(4, 2), want)
	// Per-column b zero point and a broadcast batch.
	a3 := &ir.Tensor{DType: ir.Int8, Shape: tkS(2, 1, 2), Data: []int8{1, 2, -1, -2}}
	b2 := &ir.Tensor{DType: ir.Int8, Shape: tkS(2, 2), Data: []int8{1, 0, 0, 1}}
	got = tkRun(t, "MatMulInteger", 1, nil, a3, b2, nil, &ir.Tensor{DType: ir.Int8, Shape: tkS(2), Data: []int8{1, 0}})[0]
	tkWant(t, got, ir.Int32, tkS(2, 1, 2), []int32{-2, 2, 2, -2})
	tkErr(t, "inner dims 3 and 2 differ", "MatMulInteger", 1, nil, a, b2)
	tkErr(t, "want u8 or i8", "MatMulInteger", 1, nil, tkF32(tkS(1, 1), 1), b2)
}

func TestQLinearMatMul(t *testing.T) {
	u8 := func(shape []int64, v ...uint8) *ir.Tensor { return &ir.Tensor{DType: ir.Uint8, Shape: shape, Data: v} }
	// Operators.md 2-D example.
	a := u8(tkS(2, 4), 208, 236, 0, 238, 3, 214, 255, 29)
	b := u8(tkS(4, 3), 152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247)
	got := tkRun(t, "QLinearMatMul", 1, nil, a, tkF32(nil, 0.0066), u8(nil, 113), b, tkF32(nil, 0.00705), u8(nil, 114), tkF32(nil, 0.0107), u8(nil, 118))[0]
	tkWant(t, got, ir.Uint8, tkS(2, 3), []uint8{168, 115, 255, 1, 66, 151})
	// Per-row a_scale equal to the scalar gives the same result.
	got = tkRun(t, "QLinearMatMul", 1, nil, a, tkF32(tkS(2), 0.0066, 0.0066), u8(tkS(2), 113, 113), b, tkF32(nil, 0.00705), u8(nil, 114), tkF32(nil, 0.0107), u8(nil, 118))[0]
	tkWant(t, got, ir.Uint8, tkS(2, 3), []uint8{168, 115, 255, 1, 66, 151})
	tkErr(t, "want scalars", "QLinearMatMul", 1, nil, a, tkF32(nil, 1), u8(nil, 0), b, tkF32(nil, 1), u8(nil, 0), tkF32(tkS(2), 1, 1), u8(nil, 0))
}
