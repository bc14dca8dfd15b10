package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

func init() {
	kernels["effc.Requantize"] = requantizeKernel
}

// requantizeKernel is effc.Requantize(acc, bias?, multiplier, shift,
// y_zero_point) {axis, min, max}, gemmlowp's fixed-point requantization
// (ir/ops_effc_quant.go has the formula): per channel c of axis,
// clamp(RDBPOT(SRDHM((acc+bias[c])·2^left, multiplier[c]), right) + y_zp)
// with left = max(−shift[c], 0) and right = max(shift[c], 0).
func requantizeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	acc, bias, mult, shift, yz := in[0], in[1], in[2], in[3], in[4]
	if acc.DType != ir.Int32 || mult.DType != ir.Int32 || shift.DType != ir.Int8 && shift.DType != ir.Int32 {
		return nil, fmt.Errorf("acc, multiplier and shift have dtypes %s, %s and %s, want i32, i32 and i8 or i32", acc.DType, mult.DType, shift.DType)
	}
	if !isInt8Type(yz.DType) || yz.Len() != 1 {
		return nil, fmt.Errorf("input 4 (y_zero_point) is %s%v, want a u8 or i8 scalar", yz.DType, yz.Shape)
	}
	axis, err := normAxis(n.AttrInt("axis", 1), len(acc.Shape))
	if err != nil {
		return nil, err
	}
	channels := acc.Shape[axis]
	inner := int(ir.NumElements(acc.Shape[axis+1:]))
	param := func(t *ir.Tensor, what string, perTensorOK bool) (func(c int) int64, error) {
		switch {
		case t == nil:
			return func(int) int64 { return 0 }, nil
		case t.Len() == 1 && perTensorOK:
			v := t.Int64At(0)
			return func(int) int64 { return v }, nil
		case int64(t.Len()) == channels:
			return func(c int) int64 { return t.Int64At(c) }, nil
		}
		return nil, fmt.Errorf("%s has %d elements, want %d (one per channel of axis %d)", what, t.Len(), channels, axis)
	}
	b, err := param(bias, "input 1 (bias)", false)
	if err != nil {
		return nil, err
	}
	m, err := param(mult, "input 2 (multiplier)", true)
	if err != nil {
		return nil, err
	}
	s, err := param(shift, "input 3 (shift)", true)
	if err != nil {
		return nil, err
	}
	for c := range int(channels) {
		if sh := s(c); sh < -31 || sh > 31 {
			return nil, fmt.Errorf("shift[%d] = %d, want in [-31, 31]", c, sh)
		}
	}
	lo, hi, err := RequantizeBounds(n, yz.DType)
	if err != nil {
		return nil, err
	}
	zp := int32(yz.Int64At(0))
	out := ir.NewTensor(yz.DType, acc.Shape)
	for i, a := range acc.Data.([]int32) {
		c := i / inner % int(channels)
		sh := s(c)
		v := a + int32(b(c))
		v <<= max(-sh, 0)
		v = roundingDivideByPOT(saturatingRoundingDoublingHighMul(v, int32(m(c))), int(max(sh, 0)))
		setFromFloat64(out, i, float64(min(max(v+zp, lo), hi)))
	}
	return []*ir.Tensor{out}, nil
}

// RequantizeBounds returns effc.Requantize n's clamp bounds for output
// dtype dt: the min and max attributes, each defaulting to dt's range, and
// an error unless lo ≤ hi within that range.
func RequantizeBounds(n *ir.Node, dt ir.DType) (lo, hi int32, err error) {
	flo, fhi, _ := quantRange(dt)
	l, h := n.AttrInt("min", int64(flo)), n.AttrInt("max", int64(fhi))
	if float64(l) < flo || float64(h) > fhi || l > h {
		return 0, 0, fmt.Errorf("clamp [min=%d, max=%d] is not an interval within %s's range [%g, %g]", l, h, dt, flo, fhi)
	}
	return int32(l), int32(h), nil
}

// saturatingRoundingDoublingHighMul is gemmlowp's fixed-point product
// (ARM sqrdmulh): 2·a·b / 2^32 rounded to nearest with ties up (the
// nudge is 2^30, or 1−2^30 for a negative product, before a truncating
// division), saturating the one overflow (INT32_MIN·INT32_MIN).
func saturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - 1<<30
	}
	return int32((ab + nudge) / (1 << 31)) // Go's division truncates toward zero, as C's
}

// roundingDivideByPOT is gemmlowp's x / 2^n (0 ≤ n ≤ 31) rounded to
// nearest, ties away from zero.
func roundingDivideByPOT(x int32, n int) int32 {
	mask := int32(uint32(1)<<n - 1)
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> n
	if x&mask > threshold {
		r++
	}
	return r
}
