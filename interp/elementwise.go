package interp

// Elementwise kernels of the math family: unary functions, broadcasting
// binary arithmetic, comparisons, logical and bitwise ops, the variadic
// Min/Max/Sum/Mean, Where, Clip and PRelu.
//
// Arithmetic runs on a widened view of each tensor (numView): floating types
// compute in float64 and round back to their own precision on store (for
// float32, float16 and bfloat16 this is the correctly rounded result of the
// basic operations), signed integers compute in int64 and unsigned integers in
// uint64, and the result is narrowed with Go's conversion, which gives the
// same wraparound as native arithmetic in the narrow type.

import (
	"fmt"
	"math"
	"reflect"

	"github.com/effc/effc/ir"
)

// elemClass is the arithmetic class of a dtype.
type elemClass int

const (
	classOther    elemClass = iota // string, complex, undefined
	classFloat                     // every floating type, fp8 included
	classSigned                    // int8..int64
	classUnsigned                  // uint8..uint64
	classBool                      // bool (viewed as int64 0/1)
)

// classOf returns dt's arithmetic class.
func classOf(dt ir.DType) elemClass {
	switch {
	case dt.IsFloat():
		return classFloat
	case dt.IsSigned():
		return classSigned
	case dt.IsUnsigned():
		return classUnsigned
	case dt == ir.Bool:
		return classBool
	}
	return classOther
}

// numView is a tensor's elements widened to one arithmetic representation:
// f for floating types, i for signed integers and bool, u for unsigned
// integers. Exactly one slice is set.
type numView struct {
	class elemClass
	f     []float64
	i     []int64
	u     []uint64
}

// viewOf widens t. The returned slices may alias t's data (float64 tensors)
// and must not be modified.
func viewOf(t *ir.Tensor) numView {
	v := numView{class: classOf(t.DType)}
	switch v.class {
	case classFloat:
		v.f = toFloat64(t)
	case classSigned, classBool:
		v.i = widenSigned(t)
	case classUnsigned:
		v.u = widenUnsigned(t)
	default:
		panic(fmt.Sprintf("interp: no numeric view of %s", t.DType))
	}
	return v
}

// widenSigned returns a signed integer or bool tensor as int64 (int64 data
// is returned as is and must not be modified).
func widenSigned(t *ir.Tensor) []int64 {
	switch d := t.Data.(type) {
	case []int64:
		return d
	case []int8:
		return widenTo[int8, int64](d)
	case []int16:
		return widenTo[int16, int64](d)
	case []int32:
		return widenTo[int32, int64](d)
	case []bool:
		out := make([]int64, len(d))
		for i, b := range d {
			if b {
				out[i] = 1
			}
		}
		return out
	}
	panic(fmt.Sprintf("interp: %s tensor holds %T", t.DType, t.Data))
}

// widenUnsigned returns an unsigned integer tensor as uint64 (uint64 data
// is returned as is and must not be modified).
func widenUnsigned(t *ir.Tensor) []uint64 {
	switch d := t.Data.(type) {
	case []uint64:
		return d
	case []uint8:
		return widenTo[uint8, uint64](d)
	case []uint16:
		return widenTo[uint16, uint64](d)
	case []uint32:
		return widenTo[uint32, uint64](d)
	}
	panic(fmt.Sprintf("interp: %s tensor holds %T", t.DType, t.Data))
}

// intElem is any Go integer type.
type intElem interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// widenTo converts between integer slices with Go conversion semantics
// (widening exactly, narrowing with wraparound).
func widenTo[S, D intElem](s []S) []D {
	out := make([]D, len(s))
	for i, x := range s {
		out[i] = D(x)
	}
	return out
}

// fromSigned narrows int64 values to a signed integer or bool tensor.
func fromSigned(dt ir.DType, shape []int64, v []int64) *ir.Tensor {
	t := &ir.Tensor{DType: dt, Shape: append([]int64{}, shape...)}
	switch dt {
	case ir.Int64:
		t.Data = v
	case ir.Int8:
		t.Data = widenTo[int64, int8](v)
	case ir.Int16:
		t.Data = widenTo[int64, int16](v)
	case ir.Int32:
		t.Data = widenTo[int64, int32](v)
	case ir.Bool:
		d := make([]bool, len(v))
		for i, x := range v {
			d[i] = x != 0
		}
		t.Data = d
	default:
		panic("interp: fromSigned to " + dt.String())
	}
	return t
}

// fromUnsigned narrows uint64 values to an unsigned integer tensor.
func fromUnsigned(dt ir.DType, shape []int64, v []uint64) *ir.Tensor {
	t := &ir.Tensor{DType: dt, Shape: append([]int64{}, shape...)}
	switch dt {
	case ir.Uint64:
		t.Data = v
	case ir.Uint8:
		t.Data = widenTo[uint64, uint8](v)
	case ir.Uint16:
		t.Data = widenTo[uint64, uint16](v)
	case ir.Uint32:
		t.Data = widenTo[uint64, uint32](v)
	default:
		panic("interp: fromUnsigned to " + dt.String())
	}
	return t
}

// float64At returns element k of the view as float64.
func (v numView) float64At(k int) float64 {
	switch v.class {
	case classFloat:
		return v.f[k]
	case classUnsigned:
		return float64(v.u[k])
	}
	return float64(v.i[k])
}

// checkInputs validates the input count: at least req present inputs at the
// front, at most max inputs in all (later ones may be nil when optional).
func checkInputs(in []*ir.Tensor, req, max int) error {
	if len(in) < req || len(in) > max {
		if req == max {
			return fmt.Errorf("got %d inputs, want %d", len(in), req)
		}
		return fmt.Errorf("got %d inputs, want %d to %d", len(in), req, max)
	}
	for i, t := range in {
		if t == nil {
			if i < req {
				return fmt.Errorf("input %d is missing", i)
			}
			continue
		}
		if !dataMatchesDType(t) {
			return fmt.Errorf("input %d is labelled %s but holds %T", i, t.DType, t.Data)
		}
		if t.DataLen() != t.Len() {
			return fmt.Errorf("input %d has %d elements, shape %v needs %d", i, t.DataLen(), t.Shape, t.Len())
		}
	}
	return nil
}

// dataMatchesDType reports whether t.Data is the Go slice type that
// t.DType calls for (see ir.Tensor).
func dataMatchesDType(t *ir.Tensor) bool {
	if !t.DType.Valid() {
		return false
	}
	return reflect.TypeOf(t.Data) == reflect.TypeOf(ir.MakeSlice(t.DType, 0))
}

// broadcastOutput is broadcastShapes that also refuses results larger
// than ir.MaxElements, before anything is allocated.
func broadcastOutput(shapes ...[]int64) ([]int64, error) {
	shape, err := broadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	if _, err := ir.CheckedNumElements(shape); err != nil {
		return nil, fmt.Errorf("broadcast result: %w", err)
	}
	return shape, nil
}

// checkSameDType requires inputs i and j (both present) to share a dtype.
func checkSameDType(in []*ir.Tensor, i, j int) error {
	if in[i].DType != in[j].DType {
		return fmt.Errorf("input %d has dtype %s, want %s matching input %d", j, in[j].DType, in[i].DType, i)
	}
	return nil
}

// unaryFuncs implements a unary op per arithmetic class; a nil entry means
// the class is not accepted. With intViaFloat, integer inputs without their
// own function compute through f and convert back.
type unaryFuncs struct {
	f           func(float64) float64
	i           func(int64) int64
	u           func(uint64) uint64
	intViaFloat bool
}

// unaryKernel builds a kernel from per-node functions (attributes are read
// by build).
func unaryKernel(build func(n *ir.Node) (unaryFuncs, error)) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 1); err != nil {
			return nil, err
		}
		fs, err := build(n)
		if err != nil {
			return nil, err
		}
		out, err := applyUnary(in[0], fs)
		if err != nil {
			return nil, err
		}
		return []*ir.Tensor{out}, nil
	}
}

// floatUnary is a unary kernel over floating types only.
func floatUnary(f func(float64) float64) kernel {
	return unaryKernel(func(*ir.Node) (unaryFuncs, error) { return unaryFuncs{f: f}, nil })
}

// applyUnary applies fs elementwise, picking the function for x's class.
func applyUnary(x *ir.Tensor, fs unaryFuncs) (*ir.Tensor, error) {
	c := classOf(x.DType)
	switch {
	case x.DType == ir.Float32 && fs.f != nil:
		src := x.Data.([]float32)
		out := make([]float32, len(src))
		for k, a := range src {
			out[k] = float32(fs.f(float64(a)))
		}
		return &ir.Tensor{DType: ir.Float32, Shape: append([]int64{}, x.Shape...), Data: out}, nil
	case c == classFloat && fs.f != nil:
		src := toFloat64(x)
		out := make([]float64, len(src))
		for k, a := range src {
			out[k] = fs.f(a)
		}
		return fromFloat64(x.DType, x.Shape, out), nil
	case c == classSigned && fs.i != nil:
		src := widenSigned(x)
		out := make([]int64, len(src))
		for k, a := range src {
			out[k] = fs.i(a)
		}
		return fromSigned(x.DType, x.Shape, out), nil
	case c == classUnsigned && fs.u != nil:
		src := widenUnsigned(x)
		out := make([]uint64, len(src))
		for k, a := range src {
			out[k] = fs.u(a)
		}
		return fromUnsigned(x.DType, x.Shape, out), nil
	case (c == classSigned || c == classUnsigned) && fs.intViaFloat && fs.f != nil:
		v := viewOf(x)
		out := make([]float64, x.Len())
		for k := range out {
			out[k] = fs.f(v.float64At(k))
		}
		return fromFloat64(x.DType, x.Shape, out), nil
	}
	return nil, fmt.Errorf("input 0 has dtype %s, which this op does not accept", x.DType)
}

// binaryFuncs implements a broadcasting binary op per arithmetic class.
type binaryFuncs struct {
	f func(a, b float64) float64
	i func(a, b int64) int64
	u func(a, b uint64) uint64
}

// binaryKernel builds a two-input broadcasting kernel; both inputs must
// share a dtype. build reads the node's attributes.
func binaryKernel(build func(n *ir.Node) (binaryFuncs, error)) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 2, 2); err != nil {
			return nil, err
		}
		if err := checkSameDType(in, 0, 1); err != nil {
			return nil, err
		}
		fs, err := build(n)
		if err != nil {
			return nil, err
		}
		out, err := applyBinary(in[0], in[1], fs)
		if err != nil {
			return nil, err
		}
		return []*ir.Tensor{out}, nil
	}
}

// fixedBinary is a binaryKernel without attributes.
func fixedBinary(fs binaryFuncs) kernel {
	return binaryKernel(func(*ir.Node) (binaryFuncs, error) { return fs, nil })
}

// applyBinary broadcasts a and b (same dtype) and applies fs.
func applyBinary(a, b *ir.Tensor, fs binaryFuncs) (*ir.Tensor, error) {
	shape, err := broadcastOutput(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	c := classOf(a.DType)
	if a.DType == ir.Float32 && fs.f != nil {
		return binaryF32(a, b, shape, fs.f), nil
	}
	ia, ib := broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
	switch {
	case c == classFloat && fs.f != nil:
		va, vb := toFloat64(a), toFloat64(b)
		out := make([]float64, len(ia))
		for k := range out {
			out[k] = fs.f(va[ia[k]], vb[ib[k]])
		}
		return fromFloat64(a.DType, shape, out), nil
	case c == classSigned && fs.i != nil:
		va, vb := widenSigned(a), widenSigned(b)
		out := make([]int64, len(ia))
		for k := range out {
			out[k] = fs.i(va[ia[k]], vb[ib[k]])
		}
		return fromSigned(a.DType, shape, out), nil
	case c == classUnsigned && fs.u != nil:
		va, vb := widenUnsigned(a), widenUnsigned(b)
		out := make([]uint64, len(ia))
		for k := range out {
			out[k] = fs.u(va[ia[k]], vb[ib[k]])
		}
		return fromUnsigned(a.DType, shape, out), nil
	}
	return nil, fmt.Errorf("input 0 has dtype %s, which this op does not accept", a.DType)
}

// binaryF32 is applyBinary's float32 path: each result is computed in
// float64 and rounded once, without widening whole tensors.
func binaryF32(a, b *ir.Tensor, shape []int64, f func(a, b float64) float64) *ir.Tensor {
	va, vb := a.Data.([]float32), b.Data.([]float32)
	out := make([]float32, ir.NumElements(shape))
	switch {
	case equalShape(a.Shape, shape) && equalShape(b.Shape, shape):
		for k := range out {
			out[k] = float32(f(float64(va[k]), float64(vb[k])))
		}
	case equalShape(a.Shape, shape) && len(vb) == 1:
		y := float64(vb[0])
		for k := range out {
			out[k] = float32(f(float64(va[k]), y))
		}
	default:
		forBroadcastRuns(shape, a.Shape, b.Shape, func(o, ia, ib, n, sa, sb int) {
			for j := 0; j < n; j++ {
				out[o+j] = float32(f(float64(va[ia+j*sa]), float64(vb[ib+j*sb])))
			}
		})
	}
	return &ir.Tensor{DType: ir.Float32, Shape: shape, Data: out}
}

// forBroadcastRuns walks the output of a two-input broadcast in runs along
// the innermost dimension after merging adjacent dims that are contiguous
// in both inputs: run(o, ia, ib, n, sa, sb) covers output elements o..o+n-1,
// which read a[ia+j*sa] and b[ib+j*sb] (strides 0 on broadcast dims).
func forBroadcastRuns(out, aShape, bShape []int64, run func(o, ia, ib, n, sa, sb int)) {
	rank := len(out)
	if ir.NumElements(out) == 0 {
		return
	}
	inStrides := func(in []int64) []int64 {
		st := make([]int64, rank)
		s := strides(in)
		off := rank - len(in)
		for i := range in {
			if in[i] != 1 {
				st[off+i] = s[i]
			}
		}
		return st
	}
	sa, sb := inStrides(aShape), inStrides(bShape)
	// Merge dim i into dim i+1 when both inputs step through them as one.
	var dims, da, db []int64
	for i := 0; i < rank; i++ {
		if out[i] == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && da[k] == sa[i]*out[i] && db[k] == sb[i]*out[i] {
			dims[k] *= out[i]
			da[k], db[k] = sa[i], sb[i]
			continue
		}
		dims, da, db = append(dims, out[i]), append(da, sa[i]), append(db, sb[i])
	}
	if len(dims) == 0 {
		run(0, 0, 0, 1, 0, 0)
		return
	}
	last := len(dims) - 1
	n := int(dims[last])
	coord := make([]int64, last)
	ia, ib := 0, 0
	for o := 0; ; o += n {
		run(o, ia, ib, n, int(da[last]), int(db[last]))
		d := last - 1
		for ; d >= 0; d-- {
			coord[d]++
			ia += int(da[d])
			ib += int(db[d])
			if coord[d] < dims[d] {
				break
			}
			ia -= int(da[d] * coord[d])
			ib -= int(db[d] * coord[d])
			coord[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// compareFuncs implements a broadcasting comparison per arithmetic class
// (bool inputs use i with 0/1).
type compareFuncs struct {
	f func(a, b float64) bool
	i func(a, b int64) bool
	u func(a, b uint64) bool
}

// compareKernel builds a comparison kernel producing bool.
func compareKernel(fs compareFuncs, allowBool bool) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 2, 2); err != nil {
			return nil, err
		}
		if err := checkSameDType(in, 0, 1); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		c := classOf(a.DType)
		if c == classOther || (c == classBool && !allowBool) {
			return nil, fmt.Errorf("input 0 has dtype %s, which this op does not accept", a.DType)
		}
		shape, err := broadcastOutput(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		ia, ib := broadcastIndex(shape, a.Shape), broadcastIndex(shape, b.Shape)
		out := make([]bool, len(ia))
		va, vb := viewOf(a), viewOf(b)
		switch c {
		case classFloat:
			for k := range out {
				out[k] = fs.f(va.f[ia[k]], vb.f[ib[k]])
			}
		case classUnsigned:
			for k := range out {
				out[k] = fs.u(va.u[ia[k]], vb.u[ib[k]])
			}
		default:
			for k := range out {
				out[k] = fs.i(va.i[ia[k]], vb.i[ib[k]])
			}
		}
		return []*ir.Tensor{{DType: ir.Bool, Shape: shape, Data: out}}, nil
	}
}

// logicalKernel builds a broadcasting kernel over two bool inputs.
func logicalKernel(f func(a, b bool) bool) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 2, 2); err != nil {
			return nil, err
		}
		for j := range in {
			if in[j].DType != ir.Bool {
				return nil, fmt.Errorf("input %d has dtype %s, want bool", j, in[j].DType)
			}
		}
		shape, err := broadcastOutput(in[0].Shape, in[1].Shape)
		if err != nil {
			return nil, err
		}
		ia, ib := broadcastIndex(shape, in[0].Shape), broadcastIndex(shape, in[1].Shape)
		a, b := in[0].Data.([]bool), in[1].Data.([]bool)
		out := make([]bool, len(ia))
		for k := range out {
			out[k] = f(a[ia[k]], b[ib[k]])
		}
		return []*ir.Tensor{{DType: ir.Bool, Shape: shape, Data: out}}, nil
	}
}

// notKernel is Not: logical negation of a bool tensor.
func notKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 1, 1); err != nil {
		return nil, err
	}
	if in[0].DType != ir.Bool {
		return nil, fmt.Errorf("input 0 has dtype %s, want bool", in[0].DType)
	}
	src := in[0].Data.([]bool)
	out := make([]bool, len(src))
	for k, b := range src {
		out[k] = !b
	}
	return []*ir.Tensor{{DType: ir.Bool, Shape: append([]int64{}, in[0].Shape...), Data: out}}, nil
}

// floatPredicate builds IsNaN/IsInf style kernels: float in, bool out.
func floatPredicate(build func(n *ir.Node) func(float64) bool) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 1); err != nil {
			return nil, err
		}
		if !in[0].DType.IsFloat() {
			return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", in[0].DType)
		}
		p := build(n)
		src := toFloat64(in[0])
		out := make([]bool, len(src))
		for k, x := range src {
			out[k] = p(x)
		}
		return []*ir.Tensor{{DType: ir.Bool, Shape: append([]int64{}, in[0].Shape...), Data: out}}, nil
	}
}

// isInfPredicate reads IsInf's detect_positive and detect_negative.
func isInfPredicate(n *ir.Node) func(float64) bool {
	pos, neg := n.AttrInt("detect_positive", 1) != 0, n.AttrInt("detect_negative", 1) != 0
	return func(x float64) bool { return (pos && math.IsInf(x, 1)) || (neg && math.IsInf(x, -1)) }
}

// Unary function helpers.

// absInt is |a| with wraparound (the most negative value maps to itself).
func absInt(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// signFloat is -1, 0 or 1 by sign; NaN stays NaN.
func signFloat(a float64) float64 {
	switch {
	case a > 0:
		return 1
	case a < 0:
		return -1
	case a == 0:
		return 0
	}
	return a // NaN
}

// signInt is -1, 0 or 1 by sign.
func signInt(a int64) int64 {
	switch {
	case a > 0:
		return 1
	case a < 0:
		return -1
	}
	return 0
}

// signUint is 0 for 0 and 1 otherwise.
func signUint(a uint64) uint64 {
	if a > 0 {
		return 1
	}
	return 0
}

// sigmoid is 1/(1+exp(-x)), evaluated without overflow for either sign.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1+exp(x)) without overflow.
func softplus(x float64) float64 {
	return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

// attrF reads a float attribute as float64, def when absent.
func attrF(n *ir.Node, name string, def float32) float64 { return float64(n.AttrFloat(name, def)) }

// leakyRelu reads LeakyRelu's alpha (default 0.01).
func leakyRelu(n *ir.Node) (unaryFuncs, error) {
	alpha := attrF(n, "alpha", 0.01)
	return unaryFuncs{f: func(x float64) float64 {
		if x < 0 {
			return alpha * x
		}
		return x
	}}, nil
}

// elu reads Elu's alpha (default 1).
func elu(n *ir.Node) (unaryFuncs, error) {
	alpha := attrF(n, "alpha", 1)
	return unaryFuncs{f: func(x float64) float64 {
		if x < 0 {
			return alpha * (math.Exp(x) - 1)
		}
		return x
	}}, nil
}

// selu reads Selu's alpha and gamma (defaults from the ONNX spec).
func selu(n *ir.Node) (unaryFuncs, error) {
	alpha := attrF(n, "alpha", 1.67326319217681884765625)
	gamma := attrF(n, "gamma", 1.05070102214813232421875)
	return unaryFuncs{f: func(x float64) float64 {
		if x <= 0 {
			return gamma * (alpha*math.Exp(x) - alpha)
		}
		return gamma * x
	}}, nil
}

// celu reads Celu's alpha (default 1): max(0,x) + min(0, alpha*(exp(x/alpha)-1)).
func celu(n *ir.Node) (unaryFuncs, error) {
	alpha := attrF(n, "alpha", 1)
	if alpha == 0 {
		return unaryFuncs{}, fmt.Errorf("attribute alpha is 0, want non-zero")
	}
	return unaryFuncs{f: func(x float64) float64 {
		return math.Max(0, x) + math.Min(0, alpha*(math.Exp(x/alpha)-1))
	}}, nil
}

// hardSigmoid reads HardSigmoid's alpha (0.2) and beta (0.5).
func hardSigmoid(n *ir.Node) (unaryFuncs, error) {
	alpha, beta := attrF(n, "alpha", 0.2), attrF(n, "beta", 0.5)
	return unaryFuncs{f: func(x float64) float64 { return math.Max(0, math.Min(1, alpha*x+beta)) }}, nil
}

// hardSwish is x * max(0, min(1, x/6 + 1/2)).
func hardSwish(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) }

// thresholdedRelu reads ThresholdedRelu's alpha (default 1).
func thresholdedRelu(n *ir.Node) (unaryFuncs, error) {
	alpha := attrF(n, "alpha", 1)
	return unaryFuncs{f: func(x float64) float64 {
		if x > alpha {
			return x
		}
		return 0
	}}, nil
}

// shrink reads Shrink's lambd (0.5) and bias (0); integer inputs compute
// through float64.
func shrink(n *ir.Node) (unaryFuncs, error) {
	lambd, bias := attrF(n, "lambd", 0.5), attrF(n, "bias", 0)
	return unaryFuncs{intViaFloat: true, f: func(x float64) float64 {
		switch {
		case x < -lambd:
			return x + bias
		case x > lambd:
			return x - bias
		}
		return 0
	}}, nil
}

// gelu reads Gelu's approximate attribute: "none" (erf form) or "tanh".
func gelu(n *ir.Node) (unaryFuncs, error) {
	switch a := n.AttrString("approximate", "none"); a {
	case "none":
		return unaryFuncs{f: func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }}, nil
	case "tanh":
		c := math.Sqrt(2 / math.Pi)
		return unaryFuncs{f: func(x float64) float64 {
			return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x)))
		}}, nil
	default:
		return unaryFuncs{}, fmt.Errorf("attribute approximate is %q, want \"none\" or \"tanh\"", a)
	}
}

// Binary function helpers.

// powInt computes a**b in wrapping int64 arithmetic; negative exponents give
// the truncated real result (0 unless |a| == 1).
func powInt(a, b int64) int64 {
	if b < 0 {
		switch a {
		case 1:
			return 1
		case -1:
			if b%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r := int64(1)
	for b > 0 {
		if b&1 == 1 {
			r *= a
		}
		a *= a
		b >>= 1
	}
	return r
}

// powUint computes a**b in wrapping uint64 arithmetic.
func powUint(a, b uint64) uint64 {
	r := uint64(1)
	for b > 0 {
		if b&1 == 1 {
			r *= a
		}
		a *= a
		b >>= 1
	}
	return r
}

// powKernel is Pow: the base's dtype is the output dtype; the exponent may
// be any numeric type.
func powKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	x, y := in[0], in[1]
	cx, cy := classOf(x.DType), classOf(y.DType)
	if cx != classFloat && cx != classSigned && cx != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
	}
	if cy != classFloat && cy != classSigned && cy != classUnsigned {
		return nil, fmt.Errorf("input 1 has dtype %s, want a numeric type", y.DType)
	}
	shape, err := broadcastOutput(x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	ix, iy := broadcastIndex(shape, x.Shape), broadcastIndex(shape, y.Shape)
	vx, vy := viewOf(x), viewOf(y)
	switch {
	case cx == classFloat:
		out := make([]float64, len(ix))
		for k := range out {
			out[k] = math.Pow(vx.f[ix[k]], vy.float64At(iy[k]))
		}
		return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
	case cy == classFloat:
		out := make([]float64, len(ix))
		for k := range out {
			out[k] = math.Pow(vx.float64At(ix[k]), vy.f[iy[k]])
		}
		return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
	case cx == classSigned:
		out := make([]int64, len(ix))
		for k := range out {
			var e int64
			if cy == classUnsigned {
				e = int64(min(vy.u[iy[k]], math.MaxInt64))
			} else {
				e = vy.i[iy[k]]
			}
			out[k] = powInt(vx.i[ix[k]], e)
		}
		return []*ir.Tensor{fromSigned(x.DType, shape, out)}, nil
	default:
		out := make([]uint64, len(ix))
		for k := range out {
			var e uint64
			if cy == classSigned {
				if vy.i[iy[k]] < 0 {
					if vx.u[ix[k]] == 1 {
						out[k] = 1
					}
					continue
				}
				e = uint64(vy.i[iy[k]])
			} else {
				e = vy.u[iy[k]]
			}
			out[k] = powUint(vx.u[ix[k]], e)
		}
		return []*ir.Tensor{fromUnsigned(x.DType, shape, out)}, nil
	}
}

// checkNoIntZero reports an error when an integer divisor tensor holds 0.
func checkNoIntZero(t *ir.Tensor, idx int) error {
	switch classOf(t.DType) {
	case classSigned:
		for _, v := range widenSigned(t) {
			if v == 0 {
				return fmt.Errorf("input %d holds an integer zero divisor", idx)
			}
		}
	case classUnsigned:
		for _, v := range widenUnsigned(t) {
			if v == 0 {
				return fmt.Errorf("input %d holds an integer zero divisor", idx)
			}
		}
	}
	return nil
}

// divKernel is Div; integer division truncates toward zero.
func divKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	if err := checkNoIntZero(in[1], 1); err != nil {
		return nil, err
	}
	return fixedBinary(binaryFuncs{
		f: func(a, b float64) float64 { return a / b },
		i: func(a, b int64) int64 {
			if b == -1 {
				return -a // avoid the MinInt64 / -1 trap; wraps like narrow types
			}
			return a / b
		},
		u: func(a, b uint64) uint64 { return a / b },
	})(n, in)
}

// modKernel is Mod. fmod=1 gives C fmod (sign of the dividend); fmod=0
// gives the sign of the divisor, as Python's %.
func modKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	if err := checkNoIntZero(in[1], 1); err != nil {
		return nil, err
	}
	fmod := n.AttrInt("fmod", 0)
	if fmod != 0 && fmod != 1 {
		return nil, fmt.Errorf("attribute fmod is %d, want 0 or 1", fmod)
	}
	fs := binaryFuncs{u: func(a, b uint64) uint64 { return a % b }}
	if fmod == 1 {
		fs.f = math.Mod
		fs.i = func(a, b int64) int64 {
			if b == -1 {
				return 0
			}
			return a % b
		}
	} else {
		fs.f = func(a, b float64) float64 {
			r := math.Mod(a, b)
			if r != 0 && (r < 0) != (b < 0) {
				r += b
			}
			return r
		}
		fs.i = func(a, b int64) int64 {
			if b == -1 {
				return 0
			}
			r := a % b
			if r != 0 && (r < 0) != (b < 0) {
				r += b
			}
			return r
		}
	}
	return fixedBinary(fs)(n, in)
}

// bitShiftKernel is BitShift over unsigned integers (direction LEFT/RIGHT).
func bitShiftKernel(n *ir.Node) (binaryFuncs, error) {
	switch d := n.AttrString("direction", ""); d {
	case "LEFT":
		return binaryFuncs{u: func(a, b uint64) uint64 { return a << b }}, nil
	case "RIGHT":
		return binaryFuncs{u: func(a, b uint64) uint64 { return a >> b }}, nil
	default:
		return binaryFuncs{}, fmt.Errorf("attribute direction is %q, want \"LEFT\" or \"RIGHT\"", d)
	}
}

// minFloat is math.Min except that any NaN operand gives NaN, as numpy's
// minimum does.
func minFloat(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Min(a, b)
}

// maxFloat is math.Max except that any NaN operand gives NaN.
func maxFloat(a, b float64) float64 {
	if a != a || b != b {
		return math.NaN()
	}
	return math.Max(a, b)
}

var (
	addFuncs = binaryFuncs{
		f: func(a, b float64) float64 { return a + b },
		i: func(a, b int64) int64 { return a + b },
		u: func(a, b uint64) uint64 { return a + b },
	}
	minFuncs = binaryFuncs{
		f: minFloat,
		i: func(a, b int64) int64 { return min(a, b) },
		u: func(a, b uint64) uint64 { return min(a, b) },
	}
	maxFuncs = binaryFuncs{
		f: maxFloat,
		i: func(a, b int64) int64 { return max(a, b) },
		u: func(a, b uint64) uint64 { return max(a, b) },
	}
)

// variadicKernel folds fs over one or more broadcasting inputs of one
// dtype. With mean, the result is divided by the input count (floats only).
func variadicKernel(fs binaryFuncs, mean bool) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("got 0 inputs, want at least 1")
		}
		if err := checkInputs(in, len(in), len(in)); err != nil {
			return nil, err
		}
		for j := 1; j < len(in); j++ {
			if err := checkSameDType(in, 0, j); err != nil {
				return nil, err
			}
		}
		if mean && classOf(in[0].DType) != classFloat {
			return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", in[0].DType)
		}
		if c := classOf(in[0].DType); c != classFloat && c != classSigned && c != classUnsigned {
			return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", in[0].DType)
		}
		acc := in[0]
		if len(in) == 1 {
			acc = acc.Clone()
		}
		for j := 1; j < len(in); j++ {
			var err error
			if acc, err = applyBinary(acc, in[j], fs); err != nil {
				return nil, fmt.Errorf("input %d: %w", j, err)
			}
		}
		if mean && len(in) > 1 {
			// Recompute the sum in float64 for one rounding only.
			shape := acc.Shape
			sum := make([]float64, acc.Len())
			for _, t := range in {
				idx := broadcastIndex(shape, t.Shape)
				v := toFloat64(t)
				for k := range sum {
					sum[k] += v[idx[k]]
				}
			}
			for k := range sum {
				sum[k] /= float64(len(in))
			}
			acc = fromFloat64(in[0].DType, shape, sum)
		}
		return []*ir.Tensor{acc}, nil
	}
}

// whereKernel is Where(condition, X, Y) with three-way broadcasting.
func whereKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 3, 3); err != nil {
		return nil, err
	}
	if in[0].DType != ir.Bool {
		return nil, fmt.Errorf("input 0 has dtype %s, want bool", in[0].DType)
	}
	if err := checkSameDType(in, 1, 2); err != nil {
		return nil, err
	}
	shape, err := broadcastOutput(in[0].Shape, in[1].Shape, in[2].Shape)
	if err != nil {
		return nil, err
	}
	cond := in[0].Data.([]bool)
	ic := broadcastIndex(shape, in[0].Shape)
	ix := broadcastIndex(shape, in[1].Shape)
	iy := broadcastIndex(shape, in[2].Shape)
	pick := make([]int, len(ic)) // flat source index, negative for Y
	for k := range pick {
		if cond[ic[k]] {
			pick[k] = ix[k]
		} else {
			pick[k] = -1 - iy[k]
		}
	}
	out := &ir.Tensor{DType: in[1].DType, Shape: shape}
	switch x := in[1].Data.(type) {
	case []float32:
		out.Data = selectPick(x, in[2].Data.([]float32), pick)
	case []float64:
		out.Data = selectPick(x, in[2].Data.([]float64), pick)
	case []int8:
		out.Data = selectPick(x, in[2].Data.([]int8), pick)
	case []uint8:
		out.Data = selectPick(x, in[2].Data.([]uint8), pick)
	case []int16:
		out.Data = selectPick(x, in[2].Data.([]int16), pick)
	case []uint16:
		out.Data = selectPick(x, in[2].Data.([]uint16), pick)
	case []int32:
		out.Data = selectPick(x, in[2].Data.([]int32), pick)
	case []uint32:
		out.Data = selectPick(x, in[2].Data.([]uint32), pick)
	case []int64:
		out.Data = selectPick(x, in[2].Data.([]int64), pick)
	case []uint64:
		out.Data = selectPick(x, in[2].Data.([]uint64), pick)
	case []bool:
		out.Data = selectPick(x, in[2].Data.([]bool), pick)
	case []string:
		out.Data = selectPick(x, in[2].Data.([]string), pick)
	case []complex64:
		out.Data = selectPick(x, in[2].Data.([]complex64), pick)
	case []complex128:
		out.Data = selectPick(x, in[2].Data.([]complex128), pick)
	default:
		return nil, fmt.Errorf("input 1 has unsupported data %T", in[1].Data)
	}
	return []*ir.Tensor{out}, nil
}

// selectPick gathers x[p] for p >= 0 and y[-1-p] otherwise.
func selectPick[T any](x, y []T, pick []int) []T {
	out := make([]T, len(pick))
	for k, p := range pick {
		if p >= 0 {
			out[k] = x[p]
		} else {
			out[k] = y[-1-p]
		}
	}
	return out
}

// clipKernel is Clip(input, min?, max?); min and max are scalars of the
// input's dtype.
func clipKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 1, 3); err != nil {
		return nil, err
	}
	x := in[0]
	c := classOf(x.DType)
	if c != classFloat && c != classSigned && c != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", x.DType)
	}
	var bounds [2]*numView
	for j := 1; j < len(in); j++ {
		if in[j] == nil {
			continue
		}
		if err := checkSameDType(in, 0, j); err != nil {
			return nil, err
		}
		if in[j].Len() != 1 || len(in[j].Shape) > 1 {
			return nil, fmt.Errorf("input %d has shape %v, want a scalar", j, in[j].Shape)
		}
		v := viewOf(in[j])
		bounds[j-1] = &v
	}
	v := viewOf(x)
	switch c {
	case classFloat:
		out := append([]float64{}, v.f...)
		if b := bounds[0]; b != nil {
			for k := range out {
				if out[k] < b.f[0] {
					out[k] = b.f[0]
				}
			}
		}
		if b := bounds[1]; b != nil {
			for k := range out {
				if out[k] > b.f[0] {
					out[k] = b.f[0]
				}
			}
		}
		return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
	case classSigned:
		out := append([]int64{}, v.i...)
		for k := range out {
			if b := bounds[0]; b != nil {
				out[k] = max(out[k], b.i[0])
			}
			if b := bounds[1]; b != nil {
				out[k] = min(out[k], b.i[0])
			}
		}
		return []*ir.Tensor{fromSigned(x.DType, x.Shape, out)}, nil
	default:
		out := append([]uint64{}, v.u...)
		for k := range out {
			if b := bounds[0]; b != nil {
				out[k] = max(out[k], b.u[0])
			}
			if b := bounds[1]; b != nil {
				out[k] = min(out[k], b.u[0])
			}
		}
		return []*ir.Tensor{fromUnsigned(x.DType, x.Shape, out)}, nil
	}
}

// preluKernel is PRelu(X, slope): slope broadcasts unidirectionally to X.
func preluKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	if err := checkSameDType(in, 0, 1); err != nil {
		return nil, err
	}
	shape, err := broadcastOutput(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if !equalShape(shape, in[0].Shape) {
		return nil, fmt.Errorf("input 1 has shape %v, which does not broadcast to input 0's shape %v", in[1].Shape, in[0].Shape)
	}
	out, err := applyBinary(in[0], in[1], binaryFuncs{
		f: func(x, s float64) float64 {
			if x < 0 {
				return s * x
			}
			return x
		},
		i: func(x, s int64) int64 {
			if x < 0 {
				return s * x
			}
			return x
		},
		u: func(x, s uint64) uint64 { return x },
	})
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}
