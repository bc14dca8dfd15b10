package interp

import (
	"fmt"

	"github.com/effc/effc/ir"
)

// strides returns row-major strides of shape.
func strides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// broadcastShapes applies ONNX multidirectional broadcasting.
func broadcastShapes(shapes ...[]int64) ([]int64, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			switch {
			case d == out[off+i] || d == 1:
			case out[off+i] == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v are not broadcastable (dim %d: %d vs %d)", shapes, off+i, out[off+i], d)
			}
		}
	}
	return out, nil
}

// broadcastIndex returns, for each element of out (row-major), the flat index
// of the element of a tensor of shape in that broadcasts to it. in must be
// broadcastable to out.
func broadcastIndex(out, in []int64) []int {
	n := int(ir.NumElements(out))
	idx := make([]int, n)
	if equalShape(out, in) {
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	rank := len(out)
	inStr := make([]int64, rank) // stride in the input, 0 on broadcast dims
	s := strides(in)
	off := rank - len(in)
	for i := range in {
		if in[i] != 1 {
			inStr[off+i] = s[i]
		}
	}
	coord := make([]int64, rank)
	pos := int64(0)
	for i := 0; i < n; i++ {
		idx[i] = int(pos)
		for d := rank - 1; d >= 0; d-- {
			coord[d]++
			pos += inStr[d]
			if coord[d] < out[d] {
				break
			}
			pos -= inStr[d] * coord[d]
			coord[d] = 0
		}
	}
	return idx
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// toFloat64 returns t's elements as float64 (fp16/bf16/fp8 decoded,
// integers and bools converted). Floating dtypes are widened with one type
// switch per tensor rather than per element; float64 data is returned as is
// and must not be modified.
func toFloat64(t *ir.Tensor) []float64 {
	switch d := t.Data.(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []uint16:
		if t.DType != ir.Float16 && t.DType != ir.BFloat16 {
			break // a uint16 tensor
		}
		out := make([]float64, len(d))
		if t.DType == ir.BFloat16 {
			for i, v := range d {
				out[i] = float64(ir.BFloat16ToFloat32(v))
			}
		} else {
			for i, v := range d {
				out[i] = float64(ir.Float16ToFloat32(v))
			}
		}
		return out
	case []uint8:
		if !t.DType.IsFP8() {
			break // a uint8 tensor
		}
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(ir.FP8ToFloat32(t.DType, v))
		}
		return out
	}
	return t.Float64s()
}

// fromFloat64 builds a tensor of dtype dt from float64 values, rounding to
// the dtype (fp16/bf16/fp8 encoded, integers converted by Go's conversion of
// the truncated value, bools as v != 0).
func fromFloat64(dt ir.DType, shape []int64, v []float64) *ir.Tensor {
	t := &ir.Tensor{DType: dt, Shape: append([]int64{}, shape...)}
	switch dt {
	case ir.Float64:
		t.Data = v
	case ir.Float32:
		d := make([]float32, len(v))
		for i, x := range v {
			d[i] = float32(x)
		}
		t.Data = d
	case ir.Float16:
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = ir.Float32ToFloat16(float32(x))
		}
		t.Data = d
	case ir.BFloat16:
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = ir.Float32ToBFloat16(float32(x))
		}
		t.Data = d
	case ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		d := make([]uint8, len(v))
		for i, x := range v {
			d[i] = ir.Float32ToFP8(dt, float32(x), true)
		}
		t.Data = d
	default:
		t.Data = ir.MakeSlice(dt, len(v))
		for i, x := range v {
			setFromFloat64(t, i, x)
		}
	}
	return t
}

// setFromFloat64 stores x into element i of an integer or bool tensor.
func setFromFloat64(t *ir.Tensor, i int, x float64) {
	switch d := t.Data.(type) {
	case []int8:
		d[i] = int8(x)
	case []uint8:
		d[i] = uint8(x)
	case []int16:
		d[i] = int16(x)
	case []uint16:
		d[i] = uint16(x)
	case []int32:
		d[i] = int32(x)
	case []uint32:
		d[i] = uint32(x)
	case []int64:
		d[i] = int64(x)
	case []uint64:
		d[i] = uint64(x)
	case []bool:
		d[i] = x != 0
	case []float32:
		d[i] = float32(x)
	case []float64:
		d[i] = x
	default:
		panic(fmt.Sprintf("interp: setFromFloat64 on %s", t.DType))
	}
}
