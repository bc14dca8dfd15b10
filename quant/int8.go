package quant

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// The INT8 scheme's integer math: affine parameters of activations
// (asymmetric, per tensor) and weights (symmetric int8, per output channel),
// and the int32 bias. Every value is computed in float32, the precision in
// which ONNX QuantizeLinear and DequantizeLinear apply it.

// Affine is one tensor's quantization parameters: real = (q - ZeroPoint) ·
// Scale, q in the range of DType (u8 or i8).
type Affine struct {
	Scale     float32  `json:"scale"`
	ZeroPoint int32    `json:"zero_point"`
	DType     ir.DType `json:"-"`
}

// minNormal32 is the smallest normal float32 (FLT_MIN): a smaller scale
// would lose precision, so it is replaced by 1.
const minNormal32 = 0x1p-126

// qRange is the integer range of an 8-bit activation type.
func qRange(dt ir.DType) (lo, hi int32) {
	if dt == ir.Int8 {
		return math.MinInt8, math.MaxInt8
	}
	return 0, math.MaxUint8
}

// affineFor maps r to dt's range as ONNX Runtime's compute_scale_zp does:
// the range is widened to hold 0 (so that zero padding and ReLU's zero are
// exact), scale = (max-min)/(qmax-qmin), zero point = round(qmin -
// min/scale) clamped to the range; a range too narrow for a normal float32
// scale gets scale 1 and the zero point of real 0 at the bottom of the range.
func affineFor(r Range, dt ir.DType) Affine {
	lo, hi := qRange(dt)
	rmin, rmax := min(r.Min, 0), max(r.Max, 0)
	s := (rmax - rmin) / float32(hi-lo)
	if !(s >= minNormal32) || math.IsInf(float64(s), 0) {
		return Affine{Scale: 1, ZeroPoint: lo, DType: dt}
	}
	z := math.RoundToEven(float64(float32(lo) - rmin/s))
	return Affine{Scale: s, ZeroPoint: int32(min(max(z, float64(lo)), float64(hi))), DType: dt}
}

// zeroPointTensor is the zero point as a scalar tensor of the quantized
// type, the form QuantizeLinear and DequantizeLinear take.
func (a Affine) zeroPointTensor() *ir.Tensor {
	if a.DType == ir.Int8 {
		return &ir.Tensor{DType: ir.Int8, Shape: []int64{}, Data: []int8{int8(a.ZeroPoint)}}
	}
	return &ir.Tensor{DType: ir.Uint8, Shape: []int64{}, Data: []uint8{uint8(a.ZeroPoint)}}
}

// weightQMax is the symmetric int8 weight range [-127, 127] (TFLite's and
// ONNX Runtime's): -128 is left out so that the range is symmetric.
const weightQMax = 127

// channelWeights is a weight tensor quantized symmetrically to int8 along
// Axis, with one scale per channel.
type channelWeights struct {
	Q      *ir.Tensor // int8, the shape of the float weights
	Scales []float32  // one per channel of Axis
	Axis   int
}

// quantizeWeights quantizes w (float32) per channel of axis: scale =
// max|w|/127 over the channel (1 for an all-zero channel), q = round half
// to even of w/scale.
func quantizeWeights(w *ir.Tensor, axis int) (*channelWeights, error) {
	data, ok := w.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("weights have dtype %s, want f32", w.DType)
	}
	if axis < 0 || axis >= len(w.Shape) {
		return nil, fmt.Errorf("weights of shape %v have no axis %d", w.Shape, axis)
	}
	ch := w.Shape[axis]
	inner := ir.NumElements(w.Shape[axis+1:])
	chanOf := func(i int) int { return int((int64(i) / inner) % ch) }
	amax := make([]float32, ch)
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("weights hold a non-finite value at element %d", i)
		}
		c := chanOf(i)
		amax[c] = max(amax[c], float32(math.Abs(float64(v))))
	}
	cw := &channelWeights{Scales: make([]float32, ch), Axis: axis}
	for c, a := range amax {
		cw.Scales[c] = a / weightQMax
		if !(cw.Scales[c] >= minNormal32) {
			cw.Scales[c] = 1
		}
	}
	q := make([]int8, len(data))
	for i, v := range data {
		r := math.RoundToEven(float64(v / cw.Scales[chanOf(i)]))
		q[i] = int8(min(max(r, -weightQMax), weightQMax))
	}
	cw.Q = &ir.Tensor{DType: ir.Int8, Shape: append([]int64{}, w.Shape...), Data: q}
	return cw, nil
}

// quantizeBias is the int32 bias of a layer with input scale sIn and
// per-channel weight scales sW: b_q[m] = round(b[m] / (sIn·sW[m])),
// saturated to int32, with scale sIn·sW[m] and zero point 0, the form
// QLinearConv takes. It also returns the scales.
func quantizeBias(b *ir.Tensor, sIn float32, sW []float32) (*ir.Tensor, []float32, error) {
	data, ok := b.Data.([]float32)
	if !ok || len(data) != len(sW) {
		return nil, nil, fmt.Errorf("bias is %s%v, want f32[%d]", b.DType, b.Shape, len(sW))
	}
	q := make([]int32, len(data))
	scales := make([]float32, len(data))
	for m, v := range data {
		scales[m] = sIn * sW[m]
		r := math.RoundToEven(float64(v) / float64(scales[m]))
		q[m] = int32(min(max(r, math.MinInt32), math.MaxInt32))
	}
	return &ir.Tensor{DType: ir.Int32, Shape: []int64{int64(len(q))}, Data: q}, scales, nil
}

// averagePool quantizes the output of an AveragePool or GlobalAveragePool
// whose input is quantized, after the Relu or Clip that follows it, with
// the calibrated output range (a mean needs its own scale: averaging
// narrows the range), so qdq-fuse makes it an effc.QLinearAveragePool or
// effc.QLinearGlobalAveragePool that sums in int32. It returns the
// absorbed activation, if any.
func (r *rewriter) averagePool(n *ir.Node) *ir.Node {
	x := n.Inputs[0]
	xa, ok := r.params[x]
	if !ok || len(n.Outputs) != 1 {
		return nil
	}
	return r.outputLayer(n, x, xa)
}
