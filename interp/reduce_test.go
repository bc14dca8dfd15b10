package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func keepdims(k int64) map[string]*ir.Attr { return map[string]*ir.Attr{"keepdims": ir.IntAttr(k)} }

func TestReduce(t *testing.T) {
	x := tf32(sh(2, 2), 1, 2, 3, 4)
	ninf := float32(math.Inf(-1))
	cases := []struct {
		name  string
		op    string
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
		want  *ir.Tensor
	}{
		{"sum axis 1", "ReduceSum", keepdims(0), []*ir.Tensor{ti32(sh(2, 2), 1, 2, 3, 4), ti64(sh(1), 1)}, ti32(sh(2), 3, 7)},
		{"sum all", "ReduceSum", nil, []*ir.Tensor{x}, tf32(sh(1, 1), 10)},
		{"sum empty axes", "ReduceSum", nil, []*ir.Tensor{x, ti64(sh(0))}, tf32(sh(1, 1), 10)},
		{"sum noop", "ReduceSum", map[string]*ir.Attr{"noop_with_empty_axes": ir.IntAttr(1)}, []*ir.Tensor{x, ti64(sh(0))}, x},
		{"sum negative axis", "ReduceSum", nil, []*ir.Tensor{x, ti64(sh(1), -2)}, tf32(sh(1, 2), 4, 6)},
		{"sum u8 wraps", "ReduceSum", keepdims(0), []*ir.Tensor{tu8(sh(2), 200, 100)}, tu8(sh(), 44)},
		{"mean", "ReduceMean", keepdims(0), []*ir.Tensor{x, ti64(sh(1), 0)}, tf32(sh(2), 2, 3)},
		{"mean int truncates", "ReduceMean", keepdims(0), []*ir.Tensor{ti32(sh(2), 1, 2)}, ti32(sh(), 1)},
		{"max", "ReduceMax", keepdims(0), []*ir.Tensor{x, ti64(sh(1), 1)}, tf32(sh(2), 2, 4)},
		{"min int8", "ReduceMin", keepdims(0), []*ir.Tensor{ti8(sh(3), 5, -7, 2)}, ti8(sh(), -7)},
		{"prod", "ReduceProd", keepdims(0), []*ir.Tensor{x}, tf32(sh(), 24)},
		{"l1", "ReduceL1", keepdims(0), []*ir.Tensor{tf32(sh(2), -1, 2)}, tf32(sh(), 3)},
		{"l2", "ReduceL2", keepdims(0), []*ir.Tensor{tf32(sh(2), 3, -4)}, tf32(sh(), 5)},
		{"sumsquare int", "ReduceSumSquare", keepdims(0), []*ir.Tensor{ti64(sh(2), -1, 2)}, ti64(sh(), 5)},
		{"logsum", "ReduceLogSum", keepdims(0), []*ir.Tensor{tf32(sh(2), 1, 2)}, tf32(sh(), float32(math.Log(3)))},
		{"logsumexp large", "ReduceLogSumExp", keepdims(0), []*ir.Tensor{tf32(sh(2), 1000, 1000)}, tf32(sh(), float32(1000+math.Ln2))},
		// Reductions over an empty set give the identity (ONNX opset 18).
		{"empty sum", "ReduceSum", keepdims(0), []*ir.Tensor{tf32(sh(2, 0)), ti64(sh(1), 1)}, tf32(sh(2), 0, 0)},
		{"empty prod", "ReduceProd", keepdims(0), []*ir.Tensor{tf32(sh(2, 0)), ti64(sh(1), 1)}, tf32(sh(2), 1, 1)},
		{"empty max", "ReduceMax", keepdims(0), []*ir.Tensor{tf32(sh(2, 0)), ti64(sh(1), 1)}, tf32(sh(2), ninf, ninf)},
		{"empty min i32", "ReduceMin", keepdims(0), []*ir.Tensor{ti32(sh(1, 0)), ti64(sh(1), 1)}, ti32(sh(1), math.MaxInt32)},
		{"empty logsumexp", "ReduceLogSumExp", keepdims(0), []*ir.Tensor{tf32(sh(1, 0)), ti64(sh(1), 1)}, tf32(sh(1), ninf)},
	}
	for _, c := range cases {
		got := evalMath(t, c.op, c.attrs, c.in...)
		expectTensor(t, c.name, got[0], c.want)
	}
	evalMathErr(t, "out of range", "ReduceSum", nil, x, ti64(sh(1), 2))
	evalMathErr(t, "repeats axis", "ReduceSum", nil, x, ti64(sh(2), 1, -1))
	evalMathErr(t, "want i64", "ReduceSum", nil, x, tf32(sh(1), 1))
}

func TestArgMaxMin(t *testing.T) {
	x := tf32(sh(2, 2), 2, 1, 3, 10)
	got := evalMath(t, "ArgMax", nil, x)
	expectTensor(t, "argmax axis0", got[0], ti64(sh(1, 2), 1, 1))
	got = evalMath(t, "ArgMin", map[string]*ir.Attr{"axis": ir.IntAttr(-1), "keepdims": ir.IntAttr(0)}, x)
	expectTensor(t, "argmin axis -1", got[0], ti64(sh(2), 1, 0))
	ties := ti32(sh(2, 2), 2, 2, 3, 10)
	got = evalMath(t, "ArgMax", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, ties)
	expectTensor(t, "argmax first", got[0], ti64(sh(2, 1), 0, 1))
	got = evalMath(t, "ArgMax", map[string]*ir.Attr{"axis": ir.IntAttr(1), "select_last_index": ir.IntAttr(1)}, ties)
	expectTensor(t, "argmax last", got[0], ti64(sh(2, 1), 1, 1))
	got = evalMath(t, "ArgMin", map[string]*ir.Attr{"axis": ir.IntAttr(1), "select_last_index": ir.IntAttr(1)}, ties)
	expectTensor(t, "argmin last", got[0], ti64(sh(2, 1), 1, 0))
	evalMathErr(t, "axis 2 out of range", "ArgMax", map[string]*ir.Attr{"axis": ir.IntAttr(2)}, x)
}

func TestTopK(t *testing.T) {
	x := tf32(sh(4), 3, 1, 3, 2)
	got := evalMath(t, "TopK", nil, x, ti64(sh(1), 2))
	expectTensor(t, "top2 values", got[0], tf32(sh(2), 3, 3))
	expectTensor(t, "top2 indices (ties: smaller index first)", got[1], ti64(sh(2), 0, 2))
	got = evalMath(t, "TopK", map[string]*ir.Attr{"largest": ir.IntAttr(0)}, x, ti64(sh(1), 3))
	expectTensor(t, "bottom3 values", got[0], tf32(sh(3), 1, 2, 3))
	expectTensor(t, "bottom3 indices", got[1], ti64(sh(3), 1, 3, 0))
	// Axis 0 of a 3x2 int matrix.
	m := ti32(sh(3, 2), 1, 6, 5, 2, 3, 4)
	got = evalMath(t, "TopK", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, m, ti64(sh(1), 2))
	expectTensor(t, "axis0 values", got[0], ti32(sh(2, 2), 5, 6, 3, 4))
	expectTensor(t, "axis0 indices", got[1], ti64(sh(2, 2), 1, 0, 2, 2))
	evalMathErr(t, "want 0..4", "TopK", nil, x, ti64(sh(1), 5))
}

func TestCumSum(t *testing.T) {
	x := tf64(sh(5), 1, 2, 3, 4, 5)
	ax := ti32(sh(), 0)
	cases := []struct {
		exclusive, reverse int64
		want               []float64
	}{
		{0, 0, []float64{1, 3, 6, 10, 15}},
		{1, 0, []float64{0, 1, 3, 6, 10}},
		{0, 1, []float64{15, 14, 12, 9, 5}},
		{1, 1, []float64{14, 12, 9, 5, 0}},
	}
	for _, c := range cases {
		got := evalMath(t, "CumSum", map[string]*ir.Attr{"exclusive": ir.IntAttr(c.exclusive), "reverse": ir.IntAttr(c.reverse)}, x, ax)
		expectTensor(t, "cumsum", got[0], tf64(sh(5), c.want...))
	}
	got := evalMath(t, "CumSum", nil, ti32(sh(2, 3), 1, 2, 3, 4, 5, 6), ti64(sh(), -1))
	expectTensor(t, "cumsum axis -1", got[0], ti32(sh(2, 3), 1, 3, 6, 4, 9, 15))
	got = evalMath(t, "CumSum", nil, ti32(sh(2, 3), 1, 2, 3, 4, 5, 6), ti64(sh(1), 0))
	expectTensor(t, "cumsum axis 0", got[0], ti32(sh(2, 3), 1, 2, 3, 5, 7, 9))
	evalMathErr(t, "out of range", "CumSum", nil, x, ti64(sh(), 1))
}

func TestUnsignedPaths(t *testing.T) {
	u16 := func(v ...uint16) *ir.Tensor { return &ir.Tensor{DType: ir.Uint16, Shape: sh(int64(len(v))), Data: v} }
	got := evalMath(t, "ReduceMin", keepdims(0), tu8(sh(1, 0)), ti64(sh(1), 1))
	expectTensor(t, "empty min u8", got[0], tu8(sh(1), 255))
	got = evalMath(t, "ReduceMax", keepdims(0), u16(3, 65535, 7))
	expectTensor(t, "max u16", got[0], &ir.Tensor{DType: ir.Uint16, Shape: sh(), Data: []uint16{65535}})
	got = evalMath(t, "ReduceProd", keepdims(0), tu8(sh(3), 2, 3, 50))
	expectTensor(t, "prod u8 wraps", got[0], tu8(sh(), 44)) // 300 mod 256
	got = evalMath(t, "Pow", nil, tu8(sh(3), 2, 3, 1), ti64(sh(3), 3, 2, -1))
	expectTensor(t, "pow u8^i64", got[0], tu8(sh(3), 8, 9, 1))
	got = evalMath(t, "TopK", nil, u16(5, 65535, 7), ti64(sh(1), 2))
	expectTensor(t, "topk u16", got[0], u16(65535, 7))
	expectTensor(t, "topk u16 indices", got[1], ti64(sh(2), 1, 2))
	got = evalMath(t, "CumSum", map[string]*ir.Attr{"exclusive": ir.IntAttr(1)}, tu8(sh(3), 200, 100, 1), ti64(sh(), 0))
	expectTensor(t, "cumsum u8 exclusive", got[0], tu8(sh(3), 0, 200, 44))
	got = evalMath(t, "ArgMin", nil, u16(5, 3, 7))
	expectTensor(t, "argmin u16", got[0], ti64(sh(1), 1))
	got = evalMath(t, "Clip", nil, tu8(sh(3), 1, 5, 9), tu8(sh(), 2), tu8(sh(), 8))
	expectTensor(t, "clip u8", got[0], tu8(sh(3), 2, 5, 8))
	got = evalMath(t, "Min", nil, tu8(sh(2), 1, 200), tu8(sh(1), 100))
	expectTensor(t, "min u8", got[0], tu8(sh(2), 1, 100))
	got = evalMath(t, "Cast", castTo(ir.Uint64), tf64(sh(2), 1.8446744073709552e19/2, -1))
	expectTensor(t, "f64->u64", got[0], &ir.Tensor{DType: ir.Uint64, Shape: sh(2), Data: []uint64{1 << 63, math.MaxUint64}})
}
