package interp

import (
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// TestNNKernelsRefuseHostileInputs feeds every NN-family kernel malformed
// inputs (missing, wrong rank, wrong dtype, empty, zero-sized, data not
// matching the shape) with and without typical attributes. Each must return
// an ordinary error or a result, never panic (EvalNode would report a panic
// as an "internal error").
func TestNNKernelsRefuseHostileInputs(t *testing.T) {
	f := func(shape ...int64) *ir.Tensor { return ir.NewTensor(ir.Float32, shape) }
	inputs := [][]*ir.Tensor{
		nil,
		{nil},
		{nil, nil, nil},
		{f()},
		{f(0)},
		{f(1, 1, 0, 0), f(1, 1, 1, 1)},
		{f(0, 1, 3, 3), f(1, 1, 1, 1), f(1)},
		{f(1, 2, 4, 4), f(3, 1, 3, 3)},
		{f(1, 2, 4, 4), f(2), f(2), f(2), f(2)},
		{f(1, 2, 4, 4), f(1, 2, 4, 4), f(1, 2, 4, 4), f(1, 2, 4, 4), f(1, 2, 4, 4)},
		{f(1, 1, 4, 4), f(1, 1, 2, 2, 2)},
		{f(1, 1, 4, 4), f(1, 4), ir.FromInt64([]int64{1}, []int64{0})},
		{f(1, 1, 4, 4), f(2, 5)},
		{f(1, 1, 4, 4), ir.FromFloat32([]int64{1, 5}, []float32{3, 0, 0, 1e30, -1e30})},
		{f(1, 1, 4, 4), ir.FromInt64([]int64{2}, []int64{-1, 5}), ir.FromInt64([]int64{2}, []int64{0, 2})},
		{f(1, 1, 4, 4), nil, f(4), ir.FromInt64([]int64{4}, []int64{1, 1, 2, 2})},
		{f(1, 1, 4, 4), nil, ir.FromFloat32([]int64{4}, []float32{1, 1, -2, 0})},
		{f(1, 1, 4, 4), nil, nil, ir.FromInt64([]int64{4}, []int64{1, 1, 0, 3})},
		{f(2, 3, 4), f(2, 5, 3), ir.FromInt64([]int64{1}, []int64{2}), f(1), f(1)},
		{ir.NewTensor(ir.Int32, []int64{1, 1, 4, 4}), ir.NewTensor(ir.Int32, []int64{1, 1, 2, 2})},
		{ir.NewTensor(ir.Uint8, []int64{1, 1, 4, 4}), f(1), ir.NewTensor(ir.Uint8, nil), ir.NewTensor(ir.Uint8, []int64{1, 1, 2, 2}), f(3), ir.NewTensor(ir.Uint8, []int64{2}), f(1), ir.NewTensor(ir.Uint8, nil)},
		{ir.NewTensor(ir.Uint8, []int64{1, 0, 4, 4}), ir.NewTensor(ir.Uint8, []int64{0, 0, 2, 2})},
		{ir.NewTensor(ir.Uint8, []int64{0, 1, 4, 4}), f(1), ir.NewTensor(ir.Uint8, nil), ir.NewTensor(ir.Int8, []int64{0, 1, 2, 2}), f(1), ir.NewTensor(ir.Int8, nil), f(1), ir.NewTensor(ir.Uint8, nil)},
		{ir.NewTensor(ir.String, []int64{1, 1, 2, 2})},
		{{DType: ir.Float32, Shape: []int64{1, 1, 4, 4}, Data: []float32{1, 2}}, f(1, 1, 2, 2)},
		{{DType: ir.Float32, Shape: []int64{1, 1, 2, 2}}},
	}
	attrSets := []map[string]*ir.Attr{
		nil,
		{"kernel_shape": ir.IntsAttr(2, 2), "strides": ir.IntsAttr(2, 2), "pads": ir.IntsAttr(1, 1, 1, 1), "blocksize": ir.IntAttr(2), "size": ir.IntAttr(3), "num_groups": ir.IntAttr(2), "output_height": ir.IntAttr(2), "pooled_shape": ir.IntsAttr(2, 2)},
		{"kernel_shape": ir.IntsAttr(5, 5), "auto_pad": ir.StringAttr("SAME_LOWER"), "group": ir.IntAttr(2), "axes": ir.IntsAttr(7), "axis": ir.IntAttr(-9), "mode": ir.StringAttr("cubic"), "ceil_mode": ir.IntAttr(1)},
		{"kernel_shape": ir.IntsAttr(-1, 0), "strides": ir.IntsAttr(0, 0), "dilations": ir.IntsAttr(-2, 1), "group": ir.IntAttr(0), "blocksize": ir.IntAttr(-3), "output_shape": ir.IntsAttr(1), "output_padding": ir.IntsAttr(9, 9)},
	}
	ops := make([]string, 0, len(nnKernels))
	for op := range nnKernels {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		for ai, attrs := range attrSets {
			for ii, in := range inputs {
				_, err := EvalNode(nnNode(op, 3, attrs), in)
				if err != nil && strings.Contains(err.Error(), "internal error") {
					t.Errorf("%s attrs #%d inputs #%d: %v", op, ai, ii, err)
				}
			}
		}
	}
}
