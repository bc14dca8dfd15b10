package interp

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/ir"
)

// reduceOp describes one Reduce* op. Floating inputs accumulate in float64:
// acc starts at fInit, fStep folds each element in, fFinal turns the
// accumulator and the group size into the result. Integer inputs use the
// exact iStep/uStep paths when set (wrapping like the narrow type), and
// otherwise compute through the float path and truncate back.
type reduceOp struct {
	fInit  float64
	fStep  func(acc, x float64) float64
	fFinal func(acc float64, count int) float64
	// shiftMax subtracts each group's maximum before fStep and adds it
	// back after fFinal (ReduceLogSumExp).
	shiftMax bool

	iInit func(dt ir.DType) int64
	iStep func(acc, x int64) int64
	uInit func(dt ir.DType) uint64
	uStep func(acc, x uint64) uint64
}

// Building blocks of the reduceOp table below.

func constI(v int64) func(ir.DType) int64      { return func(ir.DType) int64 { return v } }
func constU(v uint64) func(ir.DType) uint64    { return func(ir.DType) uint64 { return v } }
func sumStep(acc, x float64) float64           { return acc + x }
func keepAcc(acc float64, _ int) float64       { return acc }
func sumStepI(acc, x int64) int64              { return acc + x }
func sumStepU(acc, x uint64) uint64            { return acc + x }
func sqStep(acc, x float64) float64            { return acc + x*x }
func absStepF(acc, x float64) float64          { return acc + math.Abs(x) }
func prodStepF(acc, x float64) float64         { return acc * x }
func expStep(acc, x float64) float64           { return acc + math.Exp(x) }
func logFinal(acc float64, _ int) float64      { return math.Log(acc) }
func sqrtFinal(acc float64, _ int) float64     { return math.Sqrt(acc) }
func meanFinal(acc float64, count int) float64 { return acc / float64(count) }

// intRange returns the smallest and largest value of an integer dtype.
func intRange(dt ir.DType) (int64, int64, uint64) {
	switch dt {
	case ir.Int8:
		return math.MinInt8, math.MaxInt8, 0
	case ir.Int16:
		return math.MinInt16, math.MaxInt16, 0
	case ir.Int32:
		return math.MinInt32, math.MaxInt32, 0
	case ir.Uint8:
		return 0, 0, math.MaxUint8
	case ir.Uint16:
		return 0, 0, math.MaxUint16
	case ir.Uint32:
		return 0, 0, math.MaxUint32
	case ir.Uint64:
		return 0, 0, math.MaxUint64
	}
	return math.MinInt64, math.MaxInt64, 0
}

var (
	reduceSum = reduceOp{fStep: sumStep, fFinal: keepAcc,
		iInit: constI(0), iStep: sumStepI, uInit: constU(0), uStep: sumStepU}
	reduceMean = reduceOp{fStep: sumStep, fFinal: meanFinal}
	reduceMax  = reduceOp{fInit: math.Inf(-1), fStep: maxFloat, fFinal: keepAcc,
		iInit: func(dt ir.DType) int64 { lo, _, _ := intRange(dt); return lo },
		iStep: func(acc, x int64) int64 { return max(acc, x) },
		uInit: constU(0), uStep: func(acc, x uint64) uint64 { return max(acc, x) }}
	reduceMin = reduceOp{fInit: math.Inf(1), fStep: minFloat, fFinal: keepAcc,
		iInit: func(dt ir.DType) int64 { _, hi, _ := intRange(dt); return hi },
		iStep: func(acc, x int64) int64 { return min(acc, x) },
		uInit: func(dt ir.DType) uint64 { _, _, hi := intRange(dt); return hi },
		uStep: func(acc, x uint64) uint64 { return min(acc, x) }}
	reduceProd = reduceOp{fInit: 1, fStep: prodStepF, fFinal: keepAcc,
		iInit: constI(1), iStep: func(acc, x int64) int64 { return acc * x },
		uInit: constU(1), uStep: func(acc, x uint64) uint64 { return acc * x }}
	reduceL1 = reduceOp{fStep: absStepF, fFinal: keepAcc,
		iInit: constI(0), iStep: func(acc, x int64) int64 { return acc + absInt(x) },
		uInit: constU(0), uStep: sumStepU}
	reduceL2        = reduceOp{fStep: sqStep, fFinal: sqrtFinal}
	reduceLogSum    = reduceOp{fStep: sumStep, fFinal: logFinal}
	reduceLogSumExp = reduceOp{fStep: expStep, fFinal: logFinal, shiftMax: true}
	reduceSumSquare = reduceOp{fStep: sqStep, fFinal: keepAcc,
		iInit: constI(0), iStep: func(acc, x int64) int64 { return acc + x*x },
		uInit: constU(0), uStep: func(acc, x uint64) uint64 { return acc + x*x }}
)

// reduceAxes reads the axes of a Reduce* node: the optional axes input
// (in[1]) or, failing that, an axes attribute. It returns which dims are
// reduced, or nil when the op is a no-op (empty axes with
// noop_with_empty_axes=1).
func reduceAxes(n *ir.Node, in []*ir.Tensor, rank int) ([]bool, error) {
	var axes []int64
	if len(in) > 1 && in[1] != nil {
		if c := classOf(in[1].DType); c != classSigned {
			return nil, fmt.Errorf("input 1 (axes) has dtype %s, want i64", in[1].DType)
		}
		if len(in[1].Shape) > 1 {
			return nil, fmt.Errorf("input 1 (axes) has shape %v, want rank 1", in[1].Shape)
		}
		axes = in[1].Int64s()
	} else {
		axes = n.AttrInts("axes", nil)
	}
	reduced := make([]bool, rank)
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return nil, nil
		}
		for i := range reduced {
			reduced[i] = true
		}
		return reduced, nil
	}
	for _, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, fmt.Errorf("input 1 (axes): %w", err)
		}
		if reduced[ax] {
			return nil, fmt.Errorf("input 1 (axes) %v repeats axis %d", axes, a)
		}
		reduced[ax] = true
	}
	return reduced, nil
}

// reduceIndex maps every element of a tensor of shape to its group (the
// flat index of its position in the reduced, keepdims shape). It returns
// the keepdims shape, the group of each element and the group size.
func reduceIndex(shape []int64, reduced []bool) ([]int64, []int, int) {
	keep := make([]int64, len(shape))
	count := int64(1)
	for i, d := range shape {
		keep[i] = d
		if reduced[i] {
			keep[i] = 1
			count *= d
		}
	}
	return keep, broadcastIndex(shape, keep), int(count)
}

// squeezeReduced drops the reduced dims from keep unless keepdims.
func squeezeReduced(keep []int64, reduced []bool, keepdims bool) []int64 {
	if keepdims {
		return keep
	}
	out := []int64{}
	for i, d := range keep {
		if !reduced[i] {
			out = append(out, d)
		}
	}
	return out
}

// reduceKernel builds a Reduce* kernel: data, optional axes input,
// attributes keepdims (default 1) and noop_with_empty_axes (default 0).
func reduceKernel(op reduceOp) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 2); err != nil {
			return nil, err
		}
		x := in[0]
		c := classOf(x.DType)
		if c != classFloat && c != classSigned && c != classUnsigned {
			return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
		}
		reduced, err := reduceAxes(n, in, len(x.Shape))
		if err != nil {
			return nil, err
		}
		if reduced == nil {
			return []*ir.Tensor{x.Clone()}, nil
		}
		keep, group, count := reduceIndex(x.Shape, reduced)
		outShape := squeezeReduced(keep, reduced, n.AttrInt("keepdims", 1) != 0)
		groups := int(ir.NumElements(keep))
		switch {
		case c == classSigned && op.iStep != nil:
			src := widenSigned(x)
			acc := make([]int64, groups)
			init := op.iInit(x.DType)
			for g := range acc {
				acc[g] = init
			}
			for k, v := range src {
				acc[group[k]] = op.iStep(acc[group[k]], v)
			}
			return []*ir.Tensor{fromSigned(x.DType, outShape, acc)}, nil
		case c == classUnsigned && op.uStep != nil:
			src := widenUnsigned(x)
			acc := make([]uint64, groups)
			init := op.uInit(x.DType)
			for g := range acc {
				acc[g] = init
			}
			for k, v := range src {
				acc[group[k]] = op.uStep(acc[group[k]], v)
			}
			return []*ir.Tensor{fromUnsigned(x.DType, outShape, acc)}, nil
		}
		v := viewOf(x)
		src := make([]float64, x.Len())
		for k := range src {
			src[k] = v.float64At(k)
		}
		shift := make([]float64, groups)
		if op.shiftMax {
			for g := range shift {
				shift[g] = math.Inf(-1)
			}
			for k, x := range src {
				shift[group[k]] = maxFloat(shift[group[k]], x)
			}
			for g := range shift {
				if math.IsInf(shift[g], 0) {
					shift[g] = 0
				}
			}
		}
		acc := make([]float64, groups)
		for g := range acc {
			acc[g] = op.fInit
		}
		for k, x := range src {
			g := group[k]
			acc[g] = op.fStep(acc[g], x-shift[g])
		}
		for g := range acc {
			acc[g] = op.fFinal(acc[g], count) + shift[g]
		}
		return []*ir.Tensor{fromFloat64(x.DType, outShape, acc)}, nil
	}
}

// argKernel builds ArgMax (largest) or ArgMin: attributes axis (0),
// keepdims (1), select_last_index (0); output int64 indices.
func argKernel(largest bool) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 1); err != nil {
			return nil, err
		}
		x := in[0]
		c := classOf(x.DType)
		if c != classFloat && c != classSigned && c != classUnsigned {
			return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
		}
		rank := len(x.Shape)
		if rank == 0 {
			return nil, fmt.Errorf("input 0 is a scalar, want rank >= 1")
		}
		axis, err := normAxis(n.AttrInt("axis", 0), rank)
		if err != nil {
			return nil, fmt.Errorf("attribute axis: %w", err)
		}
		if x.Shape[axis] == 0 {
			return nil, fmt.Errorf("input 0 has shape %v, empty along axis %d", x.Shape, axis)
		}
		last := n.AttrInt("select_last_index", 0) != 0
		v := viewOf(x)
		better := func(a, b int) bool { // element a strictly beats b
			var gt, lt bool
			switch c {
			case classFloat:
				if v.f[b] != v.f[b] {
					return false // the first NaN wins, as in numpy
				}
				if v.f[a] != v.f[a] {
					return true
				}
				gt, lt = v.f[a] > v.f[b], v.f[a] < v.f[b]
			case classUnsigned:
				gt, lt = v.u[a] > v.u[b], v.u[a] < v.u[b]
			default:
				gt, lt = v.i[a] > v.i[b], v.i[a] < v.i[b]
			}
			if largest {
				return gt
			}
			return lt
		}
		outer := int(ir.NumElements(x.Shape[:axis]))
		size := int(x.Shape[axis])
		inner := int(ir.NumElements(x.Shape[axis+1:]))
		out := make([]int64, outer*inner)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*size*inner + i
				best := 0
				for k := 1; k < size; k++ {
					cur := base + k*inner
					bi := base + best*inner
					if better(cur, bi) || (last && !better(bi, cur) && !(c == classFloat && v.f[bi] != v.f[bi])) {
						best = k
					}
				}
				out[o*inner+i] = int64(best)
			}
		}
		shape := append([]int64{}, x.Shape...)
		if n.AttrInt("keepdims", 1) != 0 {
			shape[axis] = 1
		} else {
			shape = append(shape[:axis], shape[axis+1:]...)
		}
		return []*ir.Tensor{ir.FromInt64(shape, out)}, nil
	}
}

// topKKernel is TopK(X, K): attributes axis (-1), largest (1), sorted (1).
// Outputs are always sorted; equal values keep the smaller index first.
func topKKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	c := classOf(x.DType)
	if c != classFloat && c != classSigned && c != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
	}
	rank := len(x.Shape)
	if rank == 0 {
		return nil, fmt.Errorf("input 0 is a scalar, want rank >= 1")
	}
	axis, err := normAxis(n.AttrInt("axis", -1), rank)
	if err != nil {
		return nil, fmt.Errorf("attribute axis: %w", err)
	}
	if in[1].Len() != 1 || classOf(in[1].DType) != classSigned {
		return nil, fmt.Errorf("input 1 (K) has type %s%v, want a 1-element i64 tensor", in[1].DType, in[1].Shape)
	}
	k := in[1].Int64At(0)
	size := int(x.Shape[axis])
	if k < 0 || k > int64(size) {
		return nil, fmt.Errorf("input 1 (K) is %d, want 0..%d (size of axis %d)", k, size, axis)
	}
	largest := n.AttrInt("largest", 1) != 0
	v := viewOf(x)
	// less orders element a before element b in the output.
	before := func(a, b int) bool {
		switch c {
		case classFloat:
			fa, fb := v.f[a], v.f[b]
			if fa != fa || fb != fb { // NaN sorts as the largest value
				if largest {
					return fa != fa && fb == fb
				}
				return fb != fb && fa == fa
			}
			if largest {
				return fa > fb
			}
			return fa < fb
		case classUnsigned:
			if largest {
				return v.u[a] > v.u[b]
			}
			return v.u[a] < v.u[b]
		}
		if largest {
			return v.i[a] > v.i[b]
		}
		return v.i[a] < v.i[b]
	}
	outer := int(ir.NumElements(x.Shape[:axis]))
	inner := int(ir.NumElements(x.Shape[axis+1:]))
	kk := int(k)
	pick := make([]int, outer*kk*inner) // flat source index per output element
	idx := make([]int64, len(pick))
	order := make([]int, size)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*size*inner + i
			for j := range order {
				order[j] = j
			}
			sort.SliceStable(order, func(p, q int) bool {
				return before(base+order[p]*inner, base+order[q]*inner)
			})
			for j := 0; j < kk; j++ {
				dst := o*kk*inner + j*inner + i
				pick[dst] = base + order[j]*inner
				idx[dst] = int64(order[j])
			}
		}
	}
	shape := append([]int64{}, x.Shape...)
	shape[axis] = k
	var vals *ir.Tensor
	switch c {
	case classFloat:
		out := make([]float64, len(pick))
		for j, p := range pick {
			out[j] = v.f[p]
		}
		vals = fromFloat64(x.DType, shape, out)
	case classUnsigned:
		out := make([]uint64, len(pick))
		for j, p := range pick {
			out[j] = v.u[p]
		}
		vals = fromUnsigned(x.DType, shape, out)
	default:
		out := make([]int64, len(pick))
		for j, p := range pick {
			out[j] = v.i[p]
		}
		vals = fromSigned(x.DType, shape, out)
	}
	return []*ir.Tensor{vals, ir.FromInt64(append([]int64{}, shape...), idx)}, nil
}

// cumSumKernel is CumSum(x, axis): attributes exclusive and reverse.
func cumSumKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	x := in[0]
	c := classOf(x.DType)
	if c != classFloat && c != classSigned && c != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
	}
	if in[1].Len() != 1 || classOf(in[1].DType) != classSigned {
		return nil, fmt.Errorf("input 1 (axis) has type %s%v, want a scalar i32 or i64", in[1].DType, in[1].Shape)
	}
	rank := len(x.Shape)
	if rank == 0 {
		return nil, fmt.Errorf("input 0 is a scalar, want rank >= 1")
	}
	axis, err := normAxis(in[1].Int64At(0), rank)
	if err != nil {
		return nil, fmt.Errorf("input 1 (axis): %w", err)
	}
	exclusive := n.AttrInt("exclusive", 0) != 0
	reverse := n.AttrInt("reverse", 0) != 0
	outer := int(ir.NumElements(x.Shape[:axis]))
	size := int(x.Shape[axis])
	inner := int(ir.NumElements(x.Shape[axis+1:]))
	// walk calls step(pos, prev, first) for every position along every
	// line in scan order: prev is the previous position in scan order
	// (meaningless when first).
	walk := func(step func(pos, prev int, first bool)) {
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*size*inner + i
				for j := 0; j < size; j++ {
					jj := j
					if reverse {
						jj = size - 1 - j
					}
					prevj := jj - 1
					if reverse {
						prevj = jj + 1
					}
					step(base+jj*inner, base+prevj*inner, j == 0)
				}
			}
		}
	}
	v := viewOf(x)
	switch c {
	case classFloat:
		return []*ir.Tensor{fromFloat64(x.DType, x.Shape, cumulate(v.f, walk, exclusive))}, nil
	case classUnsigned:
		return []*ir.Tensor{fromUnsigned(x.DType, x.Shape, cumulate(v.u, walk, exclusive))}, nil
	default:
		return []*ir.Tensor{fromSigned(x.DType, x.Shape, cumulate(v.i, walk, exclusive))}, nil
	}
}

// cumulate is CumSum's running sum over src in the order walk visits it:
// each position adds its predecessor's sum to its own value (inclusive) or
// to the predecessor's value (exclusive); the first along the axis starts
// the sum.
func cumulate[T float64 | uint64 | int64](src []T, walk func(step func(pos, prev int, first bool)), exclusive bool) []T {
	out := make([]T, len(src))
	walk(func(pos, prev int, first bool) {
		switch {
		case first && exclusive:
			out[pos] = 0
		case first:
			out[pos] = src[pos]
		case exclusive:
			out[pos] = out[prev] + src[prev]
		default:
			out[pos] = out[prev] + src[pos]
		}
	})
	return out
}
