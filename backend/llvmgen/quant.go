package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Quantization kernels, following interp/quant.go exactly: x / scale is
// divided in the input's precision, rounded half to even (llvm.rint in the
// default rounding mode), offset by the zero point and saturated to the
// output type's range; NaN quantizes to the zero point's clamp of 0.
// FP8 quantized types go through fp8.go: QuantizeLinear encodes with
// fp8Encode (nearest even, saturate attribute), DequantizeLinear decodes
// with vectors of integer bit operations.

// quantLimits is the integer range of a quantized dtype.
func quantLimits(dt ir.DType) (lo, hi float64, err error) {
	switch dt {
	case ir.Uint8:
		return 0, math.MaxUint8, nil
	case ir.Int8:
		return math.MinInt8, math.MaxInt8, nil
	case ir.Uint16:
		return 0, math.MaxUint16, nil
	case ir.Int16:
		return math.MinInt16, math.MaxInt16, nil
	case ir.Int32:
		return math.MinInt32, math.MaxInt32, nil
	}
	return 0, 0, fmt.Errorf("quantized dtype %s is not compiled (u8, i8, u16, i16, i32, fp8)", dt)
}

// quantParam returns, for element coordinates c of x, the index of its
// scale and zero point: per tensor, per axis or blocked (block_size).
func (k *kernel) quantParam(x, scale *buf) (func(c []value.Value) value.Value, error) {
	if scale.len() == 1 && len(scale.shape) <= 1 {
		return func([]value.Value) value.Value { return i64(0) }, nil
	}
	axis, err := k.axisAttr("axis", 1, len(x.shape))
	if err != nil {
		return nil, err
	}
	bs := k.n.AttrInt("block_size", 0)
	if bs <= 0 {
		if len(scale.shape) != 1 || scale.shape[0] != x.shape[axis] {
			return nil, fmt.Errorf("scale has shape %v, want a scalar or [%d]", scale.shape, x.shape[axis])
		}
		return func(c []value.Value) value.Value { return c[axis] }, nil
	}
	if len(scale.shape) != len(x.shape) {
		return nil, fmt.Errorf("blocked scale has rank %d, input has rank %d", len(scale.shape), len(x.shape))
	}
	sstr := strides(scale.shape)
	return func(c []value.Value) value.Value {
		cc := append([]value.Value{}, c...)
		cc[axis] = k.b.NewSDiv(c[axis], i64(bs))
		return k.linear(cc, sstr, 0)
	}, nil
}

// roundSat rounds the double q half to even, adds the zero point zp (a
// double or nil), maps NaN to 0, saturates to [lo, hi] and converts to dt's
// storage integer.
func (k *kernel) roundSat(q, zp value.Value, dt ir.DType, lo, hi float64) value.Value {
	r := k.call("llvm.rint.f64", f64, q)
	if zp != nil {
		r = k.b.NewFAdd(r, zp)
	}
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredUNO, r, r), mxF64c(0), r)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, r, mxF64c(lo)), mxF64c(lo), r)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, r, mxF64c(hi)), mxF64c(hi), r)
	st, _ := storageType(dt)
	w := k.b.NewFPToSI(r, types.I64) // every limit fits in i64; u8 255 does not fit fptosi to i8
	return k.b.NewTrunc(w, st)
}

// quantizeLinearKernel: QuantizeLinear(x, y_scale, y_zero_point?).
func quantizeLinearKernel(k *kernel) error {
	x, scale, zp, out := k.in[0], k.in[1], k.mxInput(2), k.out[0]
	if !x.dt.IsFloat() && x.dt != ir.Int32 {
		return fmt.Errorf("input 0 has dtype %s, want float or int32", x.dt)
	}
	if out.dt.IsFP8() {
		return k.fp8QuantizeKernel(x, scale, zp, out)
	}
	lo, hi, err := quantLimits(out.dt)
	if err != nil {
		return err
	}
	pidx, err := k.quantParam(x, scale)
	if err != nil {
		return err
	}
	xs := strides(x.shape)
	k.loopNest(x.shape, func(c []value.Value) {
		i := k.linear(c, xs, 0)
		p := pidx(c)
		q := k.quantDivide(x, scale, i, p)
		var z value.Value
		if zp != nil {
			z = k.mxLoadF64(zp, p)
		}
		k.b.NewStore(k.roundSat(q, z, out.dt, lo, hi), k.elemPtr(out, i))
	})
	return nil
}

// quantDivide is QuantizeLinear's x[i] / scale[p] as a double: divided in
// float32 (in half precision for f16/bf16 x, as numpy does; in double for
// f64 x), int32 x converted to float32 first.
func (k *kernel) quantDivide(x, scale *buf, i, p value.Value) value.Value {
	if x.dt == ir.Float64 {
		return k.b.NewFDiv(k.load(x, i), k.mxLoadF64(scale, p))
	}
	xv := k.load(x, i)
	if x.dt == ir.Int32 {
		xv = k.b.NewSIToFP(xv, types.Float)
	}
	f := value.Value(k.b.NewFDiv(xv, k.b.NewFPTrunc(k.mxLoadF64(scale, p), types.Float)))
	if x.dt == ir.Float16 || x.dt == ir.BFloat16 {
		f = k.widen(k.narrow(f, x.dt), x.dt)
	}
	return k.b.NewFPExt(f, f64)
}

// dequantizeLinearKernel: DequantizeLinear(x, x_scale, x_zero_point?):
// (x - zp) * scale, multiplied in single precision unless the scale is f64.
// With constant inputs the result is folded into read-only data
// (staticKernel), except for fp8 x: an FP8 weight (quant.QuantizeFP8)
// stays one byte per element and is decoded on every run.
func dequantizeLinearKernel(k *kernel) error {
	x, scale, zp, out := k.in[0], k.in[1], k.mxInput(2), k.out[0]
	if x.dt.IsFP8() {
		return k.fp8DequantizeKernel(x, scale, zp, out)
	}
	if k.allConst() {
		return staticKernel(k)
	}
	if !x.dt.IsInt() {
		return fmt.Errorf("input 0 has dtype %s; only integer and fp8 inputs are compiled", x.dt)
	}
	pidx, err := k.quantParam(x, scale)
	if err != nil {
		return err
	}
	xs := strides(x.shape)
	k.loopNest(x.shape, func(c []value.Value) {
		i := k.linear(c, xs, 0)
		p := pidx(c)
		v := k.mxLoadF64(x, i)
		if zp != nil {
			v = k.b.NewFSub(v, k.mxLoadF64(zp, p))
		}
		if scale.dt == ir.Float64 {
			k.mxStoreF64(out, i, k.b.NewFMul(v, k.load(scale, p)))
			return
		}
		s := k.b.NewFPTrunc(k.mxLoadF64(scale, p), types.Float)
		k.store(out, i, k.b.NewFMul(k.b.NewFPTrunc(v, types.Float), s))
	})
	return nil
}

// dynamicQuantizeLinearKernel: DynamicQuantizeLinear(x) -> y (u8), scale,
// zero point, over the range [min(x, 0), max(x, 0)] in single precision.
// NaN inputs (an error in the interpreter) are ignored by the range.
func dynamicQuantizeLinearKernel(k *kernel) error {
	x := k.in[0]
	if x.dt != ir.Float32 && x.dt != ir.Float16 && x.dt != ir.BFloat16 {
		return fmt.Errorf("input 0 has dtype %s, want f32", x.dt)
	}
	f32 := func(v float64) constant.Constant { return floatConst(types.Float, v) }
	lo := k.mxLocal(types.Float, f32(0))
	hi := k.mxLocal(types.Float, f32(0))
	k.loop(x.len(), func(i value.Value) {
		v := k.load(x, i)
		l, h := k.mxGet(lo), k.mxGet(hi)
		k.mxSet(lo, k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, v, l), v, l))
		k.mxSet(hi, k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, v, h), v, h))
	})
	l, h := k.mxGet(lo), k.mxGet(hi)
	span := k.b.NewSelect(k.b.NewFCmp(enum.FPredOEQ, h, l), f32(1), k.b.NewFSub(h, l))
	scale := k.b.NewFDiv(span, f32(255))
	var z value.Value = k.b.NewFSub(f32(0), k.b.NewFDiv(l, scale))
	z = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, z, f32(0)), f32(0), z)
	z = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, z, f32(255)), f32(255), z)
	zp := k.call("llvm.rint.f64", f64, k.b.NewFPExt(z, f64))
	if y := k.out[0]; y != nil {
		k.loop(x.len(), func(i value.Value) {
			q := k.b.NewFPExt(k.b.NewFDiv(k.load(x, i), scale), f64)
			k.b.NewStore(k.roundSat(q, zp, ir.Uint8, 0, 255), k.elemPtr(y, i))
		})
	}
	if s := k.mxOutput(1); s != nil {
		k.store(s, i64(0), scale)
	}
	if zo := k.mxOutput(2); zo != nil {
		k.b.NewStore(k.b.NewFPToUI(zp, types.I8), k.elemPtr(zo, i64(0)))
	}
	return nil
}
