package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// quantRange returns the representable integer range of an integer
// quantized dtype.
func quantRange(dt ir.DType) (lo, hi float64, ok bool) {
	switch dt {
	case ir.Uint8:
		return 0, math.MaxUint8, true
	case ir.Int8:
		return math.MinInt8, math.MaxInt8, true
	case ir.Uint16:
		return 0, math.MaxUint16, true
	case ir.Int16:
		return math.MinInt16, math.MaxInt16, true
	case ir.Int32:
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}

// quantParamIndex maps each element of x to the element of its scale/zero
// point: per tensor (one element), per axis (1-D of the axis length) or
// blocked (block_size > 0: same rank as x, ceil(dim/block_size) on axis).
func quantParamIndex(n *ir.Node, x, scale *ir.Tensor) ([]int, error) {
	idx := make([]int, x.Len())
	if scale.Len() == 1 && len(scale.Shape) <= 1 {
		return idx, nil
	}
	r := len(x.Shape)
	axis, err := normAxis(n.AttrInt("axis", 1), r)
	if err != nil {
		return nil, fmt.Errorf("axis: %v", err)
	}
	bs := n.AttrInt("block_size", 0)
	if bs <= 0 {
		if len(scale.Shape) != 1 || scale.Shape[0] != x.Shape[axis] {
			return nil, fmt.Errorf("input 1 (scale) has shape %v, want a scalar or [%d] (input 0 dim %d, shape %v)", scale.Shape, x.Shape[axis], axis, x.Shape)
		}
		inner := ir.NumElements(x.Shape[axis+1:])
		for i := range idx {
			idx[i] = int((int64(i) / inner) % x.Shape[axis])
		}
		return idx, nil
	}
	if len(scale.Shape) != r {
		return nil, fmt.Errorf("input 1 (scale) has rank %d, input 0 has rank %d (blocked quantization)", len(scale.Shape), r)
	}
	for d := range x.Shape {
		want := x.Shape[d]
		if d == axis {
			want = (want + bs - 1) / bs
		}
		if scale.Shape[d] != want {
			return nil, fmt.Errorf("input 1 (scale) has shape %v, want dim %d = %d for block_size %d and input 0 shape %v", scale.Shape, d, want, bs, x.Shape)
		}
	}
	sstr := strides(scale.Shape)
	forEachIndex(x.Shape, func(pos int, c []int64) {
		s := int64(0)
		for d, v := range c {
			if d == axis {
				v /= bs
			}
			s += v * sstr[d]
		}
		idx[pos] = int(s)
	})
	return idx, nil
}

// checkZeroPoint validates an optional zero point against its scale.
func checkZeroPoint(zp, scale *ir.Tensor, what string) error {
	if zp != nil && !equalShape(zp.Shape, scale.Shape) && !(zp.Len() == 1 && scale.Len() == 1) {
		return fmt.Errorf("%s has shape %v, the scale has %v", what, zp.Shape, scale.Shape)
	}
	return nil
}

// quantizeLinearKernel: QuantizeLinear(x, y_scale, y_zero_point?):
// saturate(round_half_even(x / y_scale) + y_zero_point) into the zero
// point's dtype (or attr output_dtype; default uint8). FP8 outputs convert
// x / y_scale with rounding to nearest even, saturating when saturate=1.
func quantizeLinearKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, scale, zp := in[0], in[1], opt(in, 2)
	if !x.DType.IsFloat() && x.DType != ir.Int32 {
		return nil, fmt.Errorf("input 0 has dtype %s, want float or int32", x.DType)
	}
	if !scale.DType.IsFloat() {
		return nil, fmt.Errorf("input 1 (y_scale) has dtype %s, want a float type", scale.DType)
	}
	if err := checkZeroPoint(zp, scale, "input 2 (y_zero_point)"); err != nil {
		return nil, err
	}
	dt := ir.DType(n.AttrInt("output_dtype", 0))
	if zp != nil {
		if dt != ir.Undefined && dt != zp.DType {
			return nil, fmt.Errorf("output_dtype %s differs from input 2 (y_zero_point) dtype %s", dt, zp.DType)
		}
		dt = zp.DType
	}
	if dt == ir.Undefined {
		dt = ir.Uint8
	}
	lo, hi, ok := quantRange(dt)
	if !ok && !dt.IsFP8() {
		return nil, fmt.Errorf("output dtype %s is not a supported quantized type (u8, i8, u16, i16, i32, fp8)", dt)
	}
	pidx, err := quantParamIndex(n, x, scale)
	if err != nil {
		return nil, err
	}
	xs, ss := x.Float64s(), scale.Float64s()
	var zs []float64
	if zp != nil {
		zs = zp.Float64s()
	}
	// The reference computes x / scale in the input's precision.
	single := x.DType != ir.Float64
	q := make([]float64, len(xs))
	for i, v := range xs {
		s := v / ss[pidx[i]]
		if single {
			f := float32(v) / float32(ss[pidx[i]])
			// Half-precision inputs divide in half precision, as numpy does.
			switch x.DType {
			case ir.Float16:
				f = ir.Float16ToFloat32(ir.Float32ToFloat16(f))
			case ir.BFloat16:
				f = ir.BFloat16ToFloat32(ir.Float32ToBFloat16(f))
			}
			s = float64(f)
		}
		q[i] = s
	}
	if dt.IsFP8() {
		sat := n.AttrInt("saturate", 1) != 0
		out := make([]uint8, len(q))
		for i, v := range q {
			if zs != nil {
				v += zs[pidx[i]]
			}
			out[i] = ir.Float32ToFP8(dt, float32(v), sat)
		}
		return []*ir.Tensor{{DType: dt, Shape: append([]int64{}, x.Shape...), Data: out}}, nil
	}
	for i, v := range q {
		v = math.RoundToEven(v)
		if zs != nil {
			v += zs[pidx[i]]
		}
		if math.IsNaN(v) {
			v = 0
		}
		q[i] = min(max(v, lo), hi)
	}
	return []*ir.Tensor{fromFloat64(dt, x.Shape, q)}, nil
}

// dequantizeLinearKernel: DequantizeLinear(x, x_scale, x_zero_point?):
// (x - x_zero_point) * x_scale in the scale's dtype.
func dequantizeLinearKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, scale, zp := in[0], in[1], opt(in, 2)
	if !x.DType.IsInt() && !x.DType.IsFP8() {
		return nil, fmt.Errorf("input 0 has dtype %s, want an integer or fp8 type", x.DType)
	}
	if !scale.DType.IsFloat() {
		return nil, fmt.Errorf("input 1 (x_scale) has dtype %s, want a float type", scale.DType)
	}
	if err := checkZeroPoint(zp, scale, "input 2 (x_zero_point)"); err != nil {
		return nil, err
	}
	if zp != nil && zp.DType != x.DType {
		return nil, fmt.Errorf("input 2 (x_zero_point) has dtype %s, input 0 has %s", zp.DType, x.DType)
	}
	pidx, err := quantParamIndex(n, x, scale)
	if err != nil {
		return nil, err
	}
	xs, ss := x.Float64s(), scale.Float64s()
	var zs []float64
	if zp != nil {
		zs = zp.Float64s()
	}
	single := scale.DType != ir.Float64
	out := make([]float64, len(xs))
	for i, v := range xs {
		if zs != nil {
			v -= zs[pidx[i]]
		}
		if single {
			out[i] = float64(float32(v) * float32(ss[pidx[i]]))
		} else {
			out[i] = v * ss[pidx[i]]
		}
	}
	return []*ir.Tensor{fromFloat64(scale.DType, x.Shape, out)}, nil
}

// dynamicQuantizeLinearKernel: DynamicQuantizeLinear(x) to uint8 with a
// scale and zero point computed from x's range (extended to include 0).
func dynamicQuantizeLinearKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := in[0]
	if x.DType != ir.Float32 && x.DType != ir.Float16 && x.DType != ir.BFloat16 {
		return nil, fmt.Errorf("input 0 has dtype %s, want f32", x.DType)
	}
	xs := x.Float64s()
	var lo, hi float32
	for _, v := range xs {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("input 0 contains NaN; its range is undefined")
		}
		lo = min(lo, float32(v))
		hi = max(hi, float32(v))
	}
	span := hi - lo
	if hi == lo {
		span = 1
	}
	scale := span / 255
	zp := float32(math.RoundToEven(float64(min(max(0-lo/scale, 0), 255))))
	y := make([]uint8, len(xs))
	for i, v := range xs {
		q := math.RoundToEven(float64(float32(v)/scale)) + float64(zp)
		y[i] = uint8(min(max(q, 0), 255))
	}
	return numOutputs(n,
		&ir.Tensor{DType: ir.Uint8, Shape: append([]int64{}, x.Shape...), Data: y},
		&ir.Tensor{DType: ir.Float32, Shape: []int64{}, Data: []float32{scale}},
		&ir.Tensor{DType: ir.Uint8, Shape: []int64{}, Data: []uint8{uint8(zp)}}), nil
}

// mmPlan is a numpy matmul: a is [..., M, K], b is [..., K, N] (1-D operands
// get a unit dim that is dropped again). It holds the output shape, the
// broadcast batch shape, M, K, N and, for each output batch, the batch
// offsets into a and b (in matrices).
type mmPlan struct {
	out            []int64
	batch          []int64
	m, k, nn       int64
	aBatch, bBatch []int
}

// planMatMul validates the operand shapes and builds their mmPlan.
func planMatMul(as, bs []int64) (*mmPlan, error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("matmul operands must have rank >= 1 (shapes %v and %v)", as, bs)
	}
	a, b := as, bs
	if len(a) == 1 {
		a = []int64{1, a[0]}
	}
	if len(b) == 1 {
		b = []int64{b[0], 1}
	}
	p := &mmPlan{m: a[len(a)-2], k: a[len(a)-1], nn: b[len(b)-1]}
	if b[len(b)-2] != p.k {
		return nil, fmt.Errorf("input 0 has shape %v and input 1 has %v: inner dims %d and %d differ", as, bs, p.k, b[len(b)-2])
	}
	ab, bb := a[:len(a)-2], b[:len(b)-2]
	batch, err := broadcastShapes(ab, bb)
	if err != nil {
		return nil, fmt.Errorf("batch dims: %v", err)
	}
	p.batch = batch
	p.aBatch = broadcastIndex(batch, ab)
	p.bBatch = broadcastIndex(batch, bb)
	p.out = append([]int64{}, batch...)
	if len(as) > 1 {
		p.out = append(p.out, p.m)
	}
	if len(bs) > 1 {
		p.out = append(p.out, p.nn)
	}
	if err := checkOutShape(p.out); err != nil {
		return nil, err
	}
	return p, nil
}

// qparam is a matmul operand's scale or zero point: per tensor, per row
// (operand a) or per column (operand b). The source tensor may be absent
// (zero), a scalar, a 1-D vector of length count, or an N-D tensor laid out
// as [..., count, 1] (rows) or [..., 1, count] (columns) whose leading dims
// broadcast to the batch.
type qparam struct {
	vals  []float64
	count int64 // 0: per tensor
	batch []int // per output batch: offset (in vectors) into vals
}

// newQParam validates t and builds its qparam.
func newQParam(t *ir.Tensor, batch []int64, count int64, rows bool, what string) (*qparam, error) {
	if t == nil {
		return &qparam{vals: []float64{0}}, nil
	}
	if t.DType == ir.String || t.DType == ir.Complex64 || t.DType == ir.Complex128 {
		return nil, fmt.Errorf("%s has dtype %s", what, t.DType)
	}
	q := &qparam{vals: t.Float64s()}
	switch {
	case t.Len() == 1:
		return q, nil
	case len(t.Shape) == 1 && t.Shape[0] == count:
		q.count = count
		q.batch = make([]int, ir.NumElements(batch))
		return q, nil
	case len(t.Shape) >= 2:
		s := t.Shape
		vec, unit := s[len(s)-2], s[len(s)-1]
		if !rows {
			vec, unit = unit, vec
		}
		if vec == count && unit == 1 {
			pb := s[:len(s)-2]
			if _, err := broadcastShapes(batch, pb); err == nil && len(pb) <= len(batch) {
				okB := true
				for i := range pb {
					d := pb[len(pb)-1-i]
					if d != 1 && d != batch[len(batch)-1-i] {
						okB = false
					}
				}
				if okB {
					q.count = count
					q.batch = broadcastIndex(batch, pb)
					return q, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%s has shape %v; want a scalar, [%d], or per-%s [..., %s]", what, t.Shape, count, map[bool]string{true: "row", false: "column"}[rows],
		map[bool]string{true: fmt.Sprintf("%d, 1", count), false: fmt.Sprintf("1, %d", count)}[rows])
}

// at returns the parameter of row or column i of output batch bi.
func (q *qparam) at(bi int, i int64) float64 {
	if q.count == 0 {
		return q.vals[0]
	}
	return q.vals[int64(q.batch[bi])*q.count+i]
}

// intMatMul computes the integer product of (a - azp) and (b - bzp) per
// numpy matmul, accumulating in int32 with wraparound as ONNX specifies.
func intMatMul(p *mmPlan, a, b *ir.Tensor, azp, bzp *qparam) []int32 {
	av, bv := a.Int64s(), b.Int64s()
	out := make([]int32, ir.NumElements(p.out))
	mk, kn, mn := p.m*p.k, p.k*p.nn, p.m*p.nn
	for bi := range p.aBatch {
		ao, bo := int64(p.aBatch[bi])*mk, int64(p.bBatch[bi])*kn
		for i := int64(0); i < p.m; i++ {
			za := int32(azp.at(bi, i))
			for j := int64(0); j < p.nn; j++ {
				zb := int32(bzp.at(bi, j))
				var acc int32
				for k := int64(0); k < p.k; k++ {
					acc += (int32(av[ao+i*p.k+k]) - za) * (int32(bv[bo+k*p.nn+j]) - zb)
				}
				out[int64(bi)*mn+i*p.nn+j] = acc
			}
		}
	}
	return out
}

// isInt8Type reports whether dt is u8 or i8.
func isInt8Type(dt ir.DType) bool { return dt == ir.Int8 || dt == ir.Uint8 }

// matMulIntegerKernel: MatMulInteger(A, B, a_zero_point?, b_zero_point?)
// to int32.
func matMulIntegerKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, b := in[0], in[1]
	if !isInt8Type(a.DType) || !isInt8Type(b.DType) {
		return nil, fmt.Errorf("inputs 0 and 1 have dtypes %s and %s, want u8 or i8", a.DType, b.DType)
	}
	p, err := planMatMul(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	azp, err := newQParam(opt(in, 2), p.batch, p.m, true, "input 2 (a_zero_point)")
	if err != nil {
		return nil, err
	}
	bzp, err := newQParam(opt(in, 3), p.batch, p.nn, false, "input 3 (b_zero_point)")
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{{DType: ir.Int32, Shape: p.out, Data: intMatMul(p, a, b, azp, bzp)}}, nil
}

// qlinearMatMulKernel: QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp,
// y_scale, y_zp): the integer product rescaled by a_scale*b_scale/y_scale,
// rounded half to even, plus y_zp, saturated to y_zp's dtype.
func qlinearMatMulKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, as, azt, b, bs, bzt, ys, yzt := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
	if !isInt8Type(a.DType) || !isInt8Type(b.DType) {
		return nil, fmt.Errorf("inputs 0 and 3 have dtypes %s and %s, want u8 or i8", a.DType, b.DType)
	}
	for i, s := range []*ir.Tensor{as, bs, ys} {
		if !s.DType.IsFloat() {
			return nil, fmt.Errorf("input %d (scale) has dtype %s, want a float type", []int{1, 4, 6}[i], s.DType)
		}
	}
	p, err := planMatMul(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	azp, err := newQParam(azt, p.batch, p.m, true, "input 2 (a_zero_point)")
	if err != nil {
		return nil, err
	}
	bzp, err := newQParam(bzt, p.batch, p.nn, false, "input 5 (b_zero_point)")
	if err != nil {
		return nil, err
	}
	asc, err := newQParam(as, p.batch, p.m, true, "input 1 (a_scale)")
	if err != nil {
		return nil, err
	}
	bsc, err := newQParam(bs, p.batch, p.nn, false, "input 4 (b_scale)")
	if err != nil {
		return nil, err
	}
	if ys.Len() != 1 || yzt.Len() != 1 {
		return nil, fmt.Errorf("inputs 6 and 7 (y_scale, y_zero_point) have %d and %d elements, want scalars", ys.Len(), yzt.Len())
	}
	lo, hi, ok := quantRange(yzt.DType)
	if !ok || !isInt8Type(yzt.DType) {
		return nil, fmt.Errorf("input 7 (y_zero_point) has dtype %s, want u8 or i8", yzt.DType)
	}
	acc := intMatMul(p, a, b, azp, bzp)
	ysc, yzp := float32(ys.Float64At(0)), yzt.Float64At(0)
	q := make([]float64, len(acc))
	mn := p.m * p.nn
	for i, v := range acc {
		bi, r := int64(i)/mn, int64(i)%mn
		m, j := r/p.nn, r%p.nn
		mult := float32(asc.at(int(bi), m)) * float32(bsc.at(int(bi), j)) / ysc
		// As the reference: the multiplier in float32, the product in float64.
		y := math.RoundToEven(float64(v)*float64(mult)) + yzp
		q[i] = min(max(y, lo), hi)
	}
	return []*ir.Tensor{fromFloat64(yzt.DType, p.out, q)}, nil
}
