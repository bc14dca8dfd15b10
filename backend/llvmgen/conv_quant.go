package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Quantized convolutions (ConvInteger, QLinearConv) as direct convolutions
// in int32, exact like the interpreter: (x - x_zp) * (w - w_zp[m]) summed
// with padding contributing zero; QLinearConv adds the int32 bias and
// requantizes with the float32 multiplier x_scale*w_scale[m]/y_scale.

// perChannel returns the index of a scalar-or-[M] parameter for channel m.
func perChannel(b *buf, m value.Value) value.Value {
	if b == nil || b.len() == 1 {
		return i64(0)
	}
	return m
}

// quantConvTerms are the int32 terms of a quantized convolution.
func (k *kernel) quantConvTerms(x, w, xzp, wzp *buf, init func(m value.Value) value.Value, store func(m, yi, acc value.Value)) convTerms {
	return convTerms{
		acc: types.I32,
		x: func(off value.Value) value.Value {
			return k.b.NewSub(k.toI32(k.load(x, off), x.dt), k.zpAt(xzp, i64(0)))
		},
		w: func(m, idx value.Value) value.Value {
			return k.b.NewSub(k.toI32(k.load(w, idx), w.dt), k.zpAt(wzp, perChannel(wzp, m)))
		},
		init:  init,
		madd:  func(acc, xv, wv value.Value) value.Value { return k.b.NewAdd(acc, k.b.NewMul(xv, wv)) },
		store: store,
	}
}

// convIntegerKernel is ConvInteger(x, w, x_zero_point?, w_zero_point?) to
// int32.
func convIntegerKernel(k *kernel) error {
	x, w, y := k.in[0], k.in[1], k.out[0]
	var xzp, wzp *buf
	if len(k.in) > 2 {
		xzp = k.in[2]
	}
	if len(k.in) > 3 {
		wzp = k.in[3]
	}
	g, err := newConvGeom(k.n, x.shape, w.shape)
	if err != nil {
		return err
	}
	k.convDirect(g, x.shape, w.shape, y.shape, k.quantConvTerms(x, w, xzp, wzp,
		func(value.Value) value.Value { return i32(0) },
		func(_, yi, acc value.Value) { k.b.NewStore(acc, k.elemPtr(y, yi)) }))
	return nil
}

// qlinearConvKernel is QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp,
// y_scale, y_zp, B?).
func qlinearConvKernel(k *kernel) error {
	x, xs, xzp, w, ws, wzp, ys, yzp, y := k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.in[5], k.in[6], k.in[7], k.out[0]
	var bias *buf
	if len(k.in) > 8 {
		bias = k.in[8]
	}
	if yzp == nil || (yzp.dt != ir.Uint8 && yzp.dt != ir.Int8) {
		return fmt.Errorf("y_zero_point must be a u8 or i8 scalar")
	}
	g, err := newConvGeom(k.n, x.shape, w.shape)
	if err != nil {
		return err
	}
	init := func(m value.Value) value.Value {
		if bias == nil {
			return i32(0)
		}
		return k.load(bias, m)
	}
	store := func(m, yi, acc value.Value) {
		mult := k.b.NewFDiv(k.b.NewFMul(k.f32At(xs, i64(0)), k.f32At(ws, perChannel(ws, m))), k.f32At(ys, i64(0)))
		k.b.NewStore(k.requantize(acc, mult, k.zpAt(yzp, i64(0)), yzp.dt), k.elemPtr(y, yi))
	}
	k.convDirect(g, x.shape, w.shape, y.shape, k.quantConvTerms(x, w, xzp, wzp, init, store))
	return nil
}
