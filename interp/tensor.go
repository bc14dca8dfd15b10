package interp

import (
	"fmt"

	"github.com/effc/effc/ir"
)

// tensorKernels holds the tensor family: shape manipulation and data
// movement (shape.go), indexing and scatter (gather.go), quantization
// (quant.go), recurrent layers (rnn.go) and the rest (misc.go). Each entry
// states the op's input arity; arity() checks it, and every present input's
// data length, before the kernel runs.
var tensorKernels = map[string]kernel{
	// shape.go
	"Reshape":         arity(2, 2, reshapeKernel),
	"Flatten":         arity(1, 1, flattenKernel),
	"Squeeze":         arity(1, 2, squeezeKernel),
	"Unsqueeze":       arity(2, 2, unsqueezeKernel),
	"Transpose":       arity(1, 1, transposeKernel),
	"Concat":          arity(1, -1, concatKernel),
	"Split":           arity(1, 2, splitKernel),
	"Slice":           arity(3, 5, sliceKernel),
	"Expand":          arity(2, 2, expandKernel),
	"Tile":            arity(2, 2, tileKernel),
	"Pad":             arity(2, 4, padKernel),
	"CenterCropPad":   arity(2, 2, centerCropPadKernel),
	"Shape":           arity(1, 1, shapeKernel),
	"Size":            arity(1, 1, sizeKernel),
	"Identity":        arity(1, 1, identityKernel),
	"ReverseSequence": arity(2, 2, reverseSequenceKernel),

	// gather.go
	"Gather":          arity(2, 2, gatherKernel),
	"GatherElements":  arity(2, 2, gatherElementsKernel),
	"GatherND":        arity(2, 2, gatherNDKernel),
	"ScatterElements": arity(3, 3, scatterElementsKernel),
	"ScatterND":       arity(3, 3, scatterNDKernel),
	"Compress":        arity(2, 2, compressKernel),
	"NonZero":         arity(1, 1, nonZeroKernel),
	"OneHot":          arity(3, 3, oneHotKernel),
	"Unique":          arity(1, 1, uniqueKernel),

	// misc.go
	"ConstantOfShape": arity(1, 1, constantOfShapeKernel),
	"Range":           arity(3, 3, rangeKernel),
	"Dropout":         arity(1, 3, dropoutKernel),
	"Trilu":           arity(1, 2, triluKernel),
	"EyeLike":         arity(1, 1, eyeLikeKernel),

	// quant.go
	"QuantizeLinear":        arity(2, 3, quantizeLinearKernel),
	"DequantizeLinear":      arity(2, 3, dequantizeLinearKernel),
	"DynamicQuantizeLinear": arity(1, 1, dynamicQuantizeLinearKernel),
	"MatMulInteger":         arity(2, 4, matMulIntegerKernel),
	"QLinearMatMul":         arity(8, 8, qlinearMatMulKernel),

	// rnn.go
	"RNN":  arity(3, 6, rnnKernel),
	"GRU":  arity(3, 6, gruKernel),
	"LSTM": arity(3, 8, lstmKernel),
}

// arity wraps k with input validation: between minIn and maxIn inputs
// (maxIn < 0: unbounded), the first minIn present, and every present input
// holding as many elements as its shape says.
func arity(minIn, maxIn int, k kernel) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(in) < minIn || (maxIn >= 0 && len(in) > maxIn) {
			if maxIn < 0 {
				return nil, fmt.Errorf("has %d inputs, want at least %d", len(in), minIn)
			}
			if minIn == maxIn {
				return nil, fmt.Errorf("has %d inputs, want %d", len(in), minIn)
			}
			return nil, fmt.Errorf("has %d inputs, want %d to %d", len(in), minIn, maxIn)
		}
		for i, t := range in {
			if t == nil {
				if i < minIn {
					return nil, fmt.Errorf("input %d is required but missing", i)
				}
				continue
			}
			ne, err := ir.CheckedNumElements(t.Shape)
			if err != nil {
				return nil, fmt.Errorf("input %d: %v", i, err)
			}
			if dl := t.DataLen(); int64(dl) != ne {
				return nil, fmt.Errorf("input %d (%s%v) holds %d elements, its shape needs %d", i, t.DType, t.Shape, dl, ne)
			}
		}
		return k(n, in)
	}
}

// opt returns input i, or nil when the node omits it.
func opt(in []*ir.Tensor, i int) *ir.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// numOutputs trims a kernel's full result list to the outputs the node
// declares (optional trailing outputs may be left off).
func numOutputs(n *ir.Node, outs ...*ir.Tensor) []*ir.Tensor {
	if len(n.Outputs) < len(outs) {
		return outs[:len(n.Outputs)]
	}
	return outs
}

// intsOf reads an integer tensor (shape, axes, indices) as int64; what
// names it in errors ("input 1 (shape)").
func intsOf(t *ir.Tensor, what string) ([]int64, error) {
	switch t.DType {
	case ir.Int64, ir.Int32, ir.Int16, ir.Int8, ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64:
		return t.Int64s(), nil
	}
	return nil, fmt.Errorf("%s has dtype %s, want an integer type", what, t.DType)
}

// ints1D is intsOf for a tensor that must be a scalar or 1-D.
func ints1D(t *ir.Tensor, what string) ([]int64, error) {
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("%s has rank %d (shape %v), want a 1-D tensor", what, len(t.Shape), t.Shape)
	}
	return intsOf(t, what)
}

// scalarInt reads a one-element integer tensor.
func scalarInt(t *ir.Tensor, what string) (int64, error) {
	v, err := intsOf(t, what)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%s has %d elements (shape %v), want a scalar", what, len(v), t.Shape)
	}
	return v[0], nil
}

// newTensor allocates a zero tensor after refusing shapes above
// ir.MaxElements.
func newTensor(dt ir.DType, shape []int64) (*ir.Tensor, error) {
	if _, err := ir.CheckedNumElements(shape); err != nil {
		return nil, fmt.Errorf("output: %v", err)
	}
	if !dt.Valid() {
		return nil, fmt.Errorf("output dtype %s is not a tensor element type", dt)
	}
	return ir.NewTensor(dt, shape), nil
}

// checkOutShape refuses an output shape above ir.MaxElements.
func checkOutShape(shape []int64) error {
	if _, err := ir.CheckedNumElements(shape); err != nil {
		return fmt.Errorf("output: %v", err)
	}
	return nil
}

// normAxes normalizes a list of possibly negative axes against rank and
// refuses duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool, len(axes))
	for i, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d appears twice in axes %v", a, axes)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// forEachIndex calls f with every coordinate of shape in row-major order
// along with its flat position. coord is reused between calls.
func forEachIndex(shape []int64, f func(pos int, coord []int64)) {
	n := int(ir.NumElements(shape))
	coord := make([]int64, len(shape))
	for pos := 0; pos < n; pos++ {
		f(pos, coord)
		for d := len(shape) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < shape[d] {
				break
			}
			coord[d] = 0
		}
	}
}

// stridedIndex returns, for each element of shape, base + Σ coord[d]*str[d]:
// the source positions of a strided view (Transpose, Slice).
func stridedIndex(shape, str []int64, base int64) []int {
	n := int(ir.NumElements(shape))
	idx := make([]int, n)
	rank := len(shape)
	coord := make([]int64, rank)
	pos := base
	for i := 0; i < n; i++ {
		idx[i] = int(pos)
		for d := rank - 1; d >= 0; d-- {
			coord[d]++
			pos += str[d]
			if coord[d] < shape[d] {
				break
			}
			pos -= str[d] * coord[d]
			coord[d] = 0
		}
	}
	return idx
}

// takeElems returns a tensor of t's dtype and the given shape whose element
// i is t's element idx[i], or fill's first element (zero when fill is nil)
// where idx[i] < 0. It works for every dtype: elements are moved, never
// converted.
func takeElems(t *ir.Tensor, shape []int64, idx []int, fill *ir.Tensor) *ir.Tensor {
	var f any
	if fill != nil {
		f = fill.Data
	}
	return &ir.Tensor{DType: t.DType, Shape: append([]int64{}, shape...), Data: takeAny(t.Data, idx, f)}
}

func take[T any](src []T, idx []int, fill any) []T {
	var f T
	if fs, ok := fill.([]T); ok && len(fs) > 0 {
		f = fs[0]
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		if j < 0 {
			out[i] = f
		} else {
			out[i] = src[j]
		}
	}
	return out
}

func takeAny(src any, idx []int, fill any) any {
	switch s := src.(type) {
	case []float32:
		return take(s, idx, fill)
	case []float64:
		return take(s, idx, fill)
	case []int8:
		return take(s, idx, fill)
	case []uint8:
		return take(s, idx, fill)
	case []int16:
		return take(s, idx, fill)
	case []uint16:
		return take(s, idx, fill)
	case []int32:
		return take(s, idx, fill)
	case []uint32:
		return take(s, idx, fill)
	case []int64:
		return take(s, idx, fill)
	case []uint64:
		return take(s, idx, fill)
	case []bool:
		return take(s, idx, fill)
	case []string:
		return take(s, idx, fill)
	case []complex64:
		return take(s, idx, fill)
	case []complex128:
		return take(s, idx, fill)
	}
	panic(fmt.Sprintf("interp: takeAny of %T", src))
}

// copyElems copies n consecutive elements from src[soff:] to dst[doff:];
// dst and src must hold the same slice type.
func copyElems(dst any, doff int, src any, soff, n int) {
	switch d := dst.(type) {
	case []float32:
		copy(d[doff:doff+n], src.([]float32)[soff:soff+n])
	case []float64:
		copy(d[doff:doff+n], src.([]float64)[soff:soff+n])
	case []int8:
		copy(d[doff:doff+n], src.([]int8)[soff:soff+n])
	case []uint8:
		copy(d[doff:doff+n], src.([]uint8)[soff:soff+n])
	case []int16:
		copy(d[doff:doff+n], src.([]int16)[soff:soff+n])
	case []uint16:
		copy(d[doff:doff+n], src.([]uint16)[soff:soff+n])
	case []int32:
		copy(d[doff:doff+n], src.([]int32)[soff:soff+n])
	case []uint32:
		copy(d[doff:doff+n], src.([]uint32)[soff:soff+n])
	case []int64:
		copy(d[doff:doff+n], src.([]int64)[soff:soff+n])
	case []uint64:
		copy(d[doff:doff+n], src.([]uint64)[soff:soff+n])
	case []bool:
		copy(d[doff:doff+n], src.([]bool)[soff:soff+n])
	case []string:
		copy(d[doff:doff+n], src.([]string)[soff:soff+n])
	case []complex64:
		copy(d[doff:doff+n], src.([]complex64)[soff:soff+n])
	case []complex128:
		copy(d[doff:doff+n], src.([]complex128)[soff:soff+n])
	default:
		panic(fmt.Sprintf("interp: copyElems into %T", dst))
	}
}

// elemEqual reports whether element i of a equals element j of b (same
// dtype), comparing stored values (bit patterns for f16/bf16/fp8, so NaNs
// of one encoding compare equal).
func elemEqual(a *ir.Tensor, i int, b *ir.Tensor, j int) bool {
	switch d := a.Data.(type) {
	case []float32:
		x, y := d[i], b.Data.([]float32)[j]
		return x == y || (x != x && y != y)
	case []float64:
		x, y := d[i], b.Data.([]float64)[j]
		return x == y || (x != x && y != y)
	case []int8:
		return d[i] == b.Data.([]int8)[j]
	case []uint8:
		return d[i] == b.Data.([]uint8)[j]
	case []int16:
		return d[i] == b.Data.([]int16)[j]
	case []uint16:
		return d[i] == b.Data.([]uint16)[j]
	case []int32:
		return d[i] == b.Data.([]int32)[j]
	case []uint32:
		return d[i] == b.Data.([]uint32)[j]
	case []int64:
		return d[i] == b.Data.([]int64)[j]
	case []uint64:
		return d[i] == b.Data.([]uint64)[j]
	case []bool:
		return d[i] == b.Data.([]bool)[j]
	case []string:
		return d[i] == b.Data.([]string)[j]
	case []complex64:
		return d[i] == b.Data.([]complex64)[j]
	case []complex128:
		return d[i] == b.Data.([]complex128)[j]
	}
	panic(fmt.Sprintf("interp: elemEqual of %T", a.Data))
}

// elemCompare orders element i of t before element j: -1, 0 or +1. Numbers
// compare by value (NaN after everything), strings bytewise, false < true.
func elemCompare(t *ir.Tensor, i, j int) int {
	switch d := t.Data.(type) {
	case []string:
		switch {
		case d[i] < d[j]:
			return -1
		case d[i] > d[j]:
			return 1
		}
		return 0
	case []int64:
		return cmp3(d[i], d[j])
	case []uint64:
		return cmp3(d[i], d[j])
	case []complex64, []complex128:
		panic("interp: complex values have no order")
	}
	x, y := t.Float64At(i), t.Float64At(j)
	switch {
	case x != x && y != y:
		return 0
	case x != x:
		return 1
	case y != y:
		return -1
	}
	return cmp3(x, y)
}

func cmp3[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
