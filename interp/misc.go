package interp

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/effc/effc/ir"
)

// constantOfShapeKernel: ConstantOfShape(shape) filled with the value
// attribute (one element; default float32 0), whose dtype the output takes.
func constantOfShapeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	shp, err := ints1D(in[0], "input 0 (shape)")
	if err != nil {
		return nil, err
	}
	val := n.AttrTensor("value")
	if val == nil {
		val = &ir.Tensor{DType: ir.Float32, Shape: []int64{1}, Data: []float32{0}}
	}
	if val.DataLen() != 1 {
		return nil, fmt.Errorf("attribute value holds %d elements, want 1", val.DataLen())
	}
	if err := checkOutShape(shp); err != nil {
		return nil, err
	}
	idx := make([]int, ir.NumElements(shp)) // all zero: element 0 of value
	return []*ir.Tensor{takeElems(val, shp, idx, nil)}, nil
}

// rangeKernel: Range(start, limit, delta) with
// max(ceil((limit-start)/delta), 0) elements of the inputs' dtype.
func rangeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	dt := in[0].DType
	for i, t := range in {
		if t.DType != dt {
			return nil, fmt.Errorf("input %d has dtype %s, input 0 has %s", i, t.DType, dt)
		}
		if t.Len() != 1 {
			return nil, fmt.Errorf("input %d has %d elements (shape %v), want a scalar", i, t.Len(), t.Shape)
		}
	}
	switch {
	case dt.IsInt():
		start, limit, delta := in[0].Int64At(0), in[1].Int64At(0), in[2].Int64At(0)
		if delta == 0 {
			return nil, fmt.Errorf("input 2 (delta) is zero")
		}
		// Count in uint64 so spans near the int64 limits cannot overflow.
		var span, step uint64
		switch {
		case delta > 0 && limit > start:
			span, step = uint64(limit)-uint64(start), uint64(delta)
		case delta < 0 && start > limit:
			span, step = uint64(start)-uint64(limit), uint64(-delta)
		}
		var c uint64
		if span > 0 {
			c = (span-1)/step + 1
		}
		if c > ir.MaxElements {
			return nil, fmt.Errorf("output would hold %d elements; effc refuses tensors above 2^31", c)
		}
		cnt := int64(c)
		v := make([]float64, cnt)
		vals := make([]int64, cnt)
		for i := range vals {
			vals[i] = start + int64(i)*delta
			v[i] = float64(vals[i])
		}
		if dt == ir.Int64 {
			return []*ir.Tensor{ir.FromInt64([]int64{cnt}, vals)}, nil
		}
		return []*ir.Tensor{fromFloat64(dt, []int64{cnt}, v)}, nil
	case dt.IsFloat():
		start, limit, delta := in[0].Float64At(0), in[1].Float64At(0), in[2].Float64At(0)
		if delta == 0 {
			return nil, fmt.Errorf("input 2 (delta) is zero")
		}
		c := math.Ceil((limit - start) / delta)
		if math.IsNaN(c) {
			return nil, fmt.Errorf("range start %v, limit %v, delta %v has no defined length", start, limit, delta)
		}
		if c > ir.MaxElements {
			return nil, fmt.Errorf("output would hold %v elements; effc refuses tensors above 2^31", c)
		}
		cnt := int64(max(c, 0))
		v := make([]float64, cnt)
		for i := range v {
			v[i] = start + float64(i)*delta
		}
		return []*ir.Tensor{fromFloat64(dt, []int64{cnt}, v)}, nil
	}
	return nil, fmt.Errorf("input 0 has dtype %s, want a number", dt)
}

// dropoutKernel: Dropout(data, ratio?, training_mode?). In inference (the
// default) it is the identity and the mask is all true; with training_mode
// true it zeroes elements with probability ratio (seeded by attr seed) and
// scales the rest by 1/(1-ratio).
func dropoutKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	ratio := 0.5
	if r := opt(in, 1); r != nil {
		if r.Len() != 1 || !r.DType.IsFloat() {
			return nil, fmt.Errorf("input 1 (ratio) is %s%v, want a float scalar", r.DType, r.Shape)
		}
		ratio = r.Float64At(0)
	}
	training := false
	if t := opt(in, 2); t != nil {
		if t.Len() != 1 || t.DType != ir.Bool {
			return nil, fmt.Errorf("input 2 (training_mode) is %s%v, want a bool scalar", t.DType, t.Shape)
		}
		training = t.Data.([]bool)[0]
	}
	mask := make([]bool, x.Len())
	for i := range mask {
		mask[i] = true
	}
	y := x.Clone()
	if training && ratio != 0 {
		if !(ratio > 0 && ratio < 1) {
			return nil, fmt.Errorf("input 1 (ratio) is %v, want a value in [0, 1)", ratio)
		}
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input 0 has dtype %s; training-mode dropout needs floats", x.DType)
		}
		rng := rand.New(rand.NewSource(n.AttrInt("seed", 0)))
		v := x.Float64s()
		scale := 1 / (1 - ratio)
		for i := range v {
			if rng.Float64() < ratio {
				mask[i] = false
				v[i] = 0
			} else {
				v[i] *= scale
			}
		}
		y = fromFloat64(x.DType, x.Shape, v)
	}
	return numOutputs(n, y, &ir.Tensor{DType: ir.Bool, Shape: append([]int64{}, x.Shape...), Data: mask}), nil
}

// triluKernel: Trilu(input, k?) keeps the upper (upper=1, j-i >= k) or
// lower (j-i <= k) triangle of the last two dims and zeroes the rest.
func triluKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	r := len(x.Shape)
	if r < 2 {
		return nil, fmt.Errorf("input 0 has rank %d, want at least 2", r)
	}
	k := int64(0)
	if kt := opt(in, 1); kt != nil {
		var err error
		if k, err = scalarInt(kt, "input 1 (k)"); err != nil {
			return nil, err
		}
	}
	upper := n.AttrInt("upper", 1) != 0
	rows, cols := x.Shape[r-2], x.Shape[r-1]
	idx := make([]int, x.Len())
	for p := range idx {
		e := int64(p) % (rows * cols)
		d := e%cols - e/cols // j - i
		if (upper && d >= k) || (!upper && d <= k) {
			idx[p] = p
		} else {
			idx[p] = -1
		}
	}
	return []*ir.Tensor{takeElems(x, x.Shape, idx, nil)}, nil
}

// eyeLikeKernel: EyeLike(input) is a 2-D tensor of input's shape with ones
// on diagonal k, of dtype attr dtype (default input's).
func eyeLikeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	if len(x.Shape) != 2 {
		return nil, fmt.Errorf("input 0 has rank %d (shape %v), want 2", len(x.Shape), x.Shape)
	}
	dt := x.DType
	if n.HasAttr("dtype") {
		dt = ir.DType(n.AttrInt("dtype", 0))
	}
	if !dt.Valid() || dt == ir.String || dt == ir.Complex64 || dt == ir.Complex128 {
		return nil, fmt.Errorf("dtype %s is not supported by EyeLike", dt)
	}
	k := n.AttrInt("k", 0)
	rows, cols := x.Shape[0], x.Shape[1]
	v := make([]float64, rows*cols)
	for i := int64(0); i < rows; i++ {
		if j := i + k; j >= 0 && j < cols {
			v[i*cols+j] = 1
		}
	}
	return []*ir.Tensor{fromFloat64(dt, x.Shape, v)}, nil
}
