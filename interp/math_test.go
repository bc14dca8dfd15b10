package interp

import (
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// TestMathKernelsHostileInputs feeds every math-family kernel malformed
// inputs and attributes: each must answer with an error or a result, never
// a panic (EvalNode turns a panic into an "internal error in kernel").
func TestMathKernelsHostileInputs(t *testing.T) {
	f := tf32(sh(2, 3), 1, 2, 3, 4, 5, 6)
	inputs := [][]*ir.Tensor{
		{},
		{nil},
		{nil, nil},
		{tf32(sh(), 1)},
		{f},
		{f, f},
		{f, f, f},
		{f, nil, nil},
		{f, ti64(sh(1), 1)},
		{f, ti64(sh(1), 5)},
		{f, ti64(sh(1), -9)},
		{f, ti64(sh(2), 0, 0)},
		{f, tf32(sh(3), 1, 2, 3)},
		{f, ti32(sh(2, 3), 1, 2, 3, 4, 5, 6)},
		{tf32(sh(0)), tf32(sh(0))},
		{tf32(sh(0, 3)), tf32(sh(3, 0))},
		{ti8(sh(2), -128, 127), ti8(sh(2), -1, 0)},
		{tu8(sh(2), 0, 255), tu8(sh(2), 0, 3)},
		{tbool(sh(2), true, false), tbool(sh(2), false, true), tbool(sh(1), true)},
		{tbool(sh(2), true, false), f, f},
		{&ir.Tensor{DType: ir.String, Shape: sh(1), Data: []string{"x"}}},
		{&ir.Tensor{DType: ir.String, Shape: sh(1), Data: []string{"x"}}, &ir.Tensor{DType: ir.String, Shape: sh(1), Data: []string{"y"}}},
		{&ir.Tensor{DType: ir.Complex64, Shape: sh(1), Data: []complex64{1}}, &ir.Tensor{DType: ir.Complex64, Shape: sh(1), Data: []complex64{1}}},
		{&ir.Tensor{DType: ir.Float8E4M3FN, Shape: sh(2), Data: []uint8{0x7f, 0x38}}, &ir.Tensor{DType: ir.Float8E4M3FN, Shape: sh(2), Data: []uint8{1, 2}}},
		{&ir.Tensor{DType: ir.Float32, Shape: sh(3), Data: []float32{1}}}, // data shorter than shape
		{&ir.Tensor{DType: ir.Float32, Shape: sh(2)}},                                        // no data
		{f, &ir.Tensor{DType: ir.Float32, Shape: sh(2, 3), Data: []int32{1, 2, 3, 4, 5, 6}}}, // data of the wrong type
		{tbool(sh(1), true), f, &ir.Tensor{DType: ir.Float32, Shape: sh(1), Data: []float64{1}}},
		{f, nil, &ir.Tensor{DType: ir.Float32, Shape: sh(), Data: []uint16{1}}},
	}
	attrs := []map[string]*ir.Attr{
		nil,
		{"axis": ir.IntAttr(99), "to": ir.IntAttr(999), "direction": ir.StringAttr("UP")},
		{"axis": ir.IntAttr(-99), "keepdims": ir.IntAttr(0), "to": ir.IntAttr(int64(ir.String))},
		{"equation": ir.StringAttr("ab,bc->ac"), "transA": ir.IntAttr(1), "to": ir.IntAttr(int64(ir.Float8E5M2))},
		{"equation": ir.StringAttr("..a.,->"), "alpha": ir.FloatAttr(0.5), "fmod": ir.IntAttr(3)},
		{"equation": ir.StringAttr("i...i->...i"), "noop_with_empty_axes": ir.IntAttr(1), "exclusive": ir.IntAttr(1), "reverse": ir.IntAttr(1)},
		{"approximate": ir.StringAttr("fast"), "select_last_index": ir.IntAttr(1), "largest": ir.IntAttr(0)},
	}
	ops := make([]string, 0, len(mathKernels))
	for op := range mathKernels {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		for i, in := range inputs {
			for j, a := range attrs {
				_, err := EvalNode(mathNode(op, a), in)
				if err != nil && strings.Contains(err.Error(), "internal error") {
					t.Errorf("%s, inputs #%d, attrs #%d: %v", op, i, j, err)
				}
			}
		}
	}
}
