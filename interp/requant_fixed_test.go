package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

// TestFixedPointPrimitives pins gemmlowp's SaturatingRoundingDoublingHighMul
// and RoundingDivideByPOT on their edge cases: the one saturation, ties
// (up for the product, away from zero for the shift) and shifts 0 and 31.
func TestFixedPointPrimitives(t *testing.T) {
	for _, c := range []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{1 << 30, 1 << 30, 1 << 29},
		{1, 1 << 30, 1},  // 0.5 rounds up
		{-1, 1 << 30, 0}, // −0.5 rounds up
		{-3, 1 << 30, -1},
		{123456, 0, 0},
	} {
		if got := saturatingRoundingDoublingHighMul(c.a, c.b); got != c.want {
			t.Errorf("SRDHM(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for _, c := range []struct {
		x    int32
		n    int
		want int32
	}{
		{5, 0, 5}, {-5, 0, -5}, {3, 1, 2}, {-3, 1, -2}, {-5, 2, -1}, {-6, 2, -2}, {6, 2, 2},
		{math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1}, {1 << 30, 31, 1}, {-(1 << 30), 31, -1}, {(1 << 30) - 1, 31, 0},
	} {
		if got := roundingDivideByPOT(c.x, c.n); got != c.want {
			t.Errorf("RDBPOT(%d, %d) = %d, want %d", c.x, c.n, got, c.want)
		}
	}
}

// TestRequantize checks effc.Requantize per channel with a bias, a left
// shift (shift −1), the clamp attributes and a bad shift.
func TestRequantize(t *testing.T) {
	n := &ir.Node{Op: "Requantize", Domain: "effc", Outputs: []*ir.Value{{Name: "y"}}, Attrs: map[string]*ir.Attr{"axis": ir.IntAttr(1), "min": ir.IntAttr(-100)}}
	acc := &ir.Tensor{DType: ir.Int32, Shape: []int64{1, 2, 3}, Data: []int32{100, -100, 7, 1000, -1000, 3}}
	bias := &ir.Tensor{DType: ir.Int32, Shape: []int64{2}, Data: []int32{1, -3}}
	mult := &ir.Tensor{DType: ir.Int32, Shape: []int64{2}, Data: []int32{1 << 30, 3 << 29}} // 0.5, 0.75
	shift := &ir.Tensor{DType: ir.Int8, Shape: []int64{2}, Data: []int8{2, -1}}             // ·2^−2, ·2
	zp := &ir.Tensor{DType: ir.Int8, Shape: nil, Data: []int8{3}}
	out, err := EvalNode(n, []*ir.Tensor{acc, bias, mult, shift, zp})
	if err != nil {
		t.Fatal(err)
	}
	// (acc+b)·0.5/4 and (acc+b)·1.5, rounded, plus 3, clamped to [−100, 127].
	want := []int8{16, -9, 4, 127, -100, 3}
	for i, w := range want {
		if got := out[0].Data.([]int8)[i]; got != w {
			t.Errorf("y[%d] = %d, want %d", i, got, w)
		}
	}
	shift.Data.([]int8)[0] = 32
	if _, err := EvalNode(n, []*ir.Tensor{acc, bias, mult, shift, zp}); err == nil {
		t.Error("shift 32: no error")
	}
}
