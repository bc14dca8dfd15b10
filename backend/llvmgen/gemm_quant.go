package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Quantized matrix products (MatMulInteger, QLinearMatMul) as scalar loops
// that reproduce the interpreter exactly: (a - a_zp) * (b - b_zp) summed in
// int32 with wraparound, then for QLinear the multiplier a_scale*b_scale/
// y_scale in float32, the product in float64, round half to even, y_zp added
// and the result saturated to y_zp's type.

// i32 returns an i32 constant.
func i32(v int64) *constant.Int { return constant.NewInt(types.I32, v) }

// toI32 widens an 8/16-bit integer of dtype dt to i32 (sign- or
// zero-extending as the type says).
func (k *kernel) toI32(v value.Value, dt ir.DType) value.Value {
	switch dt {
	case ir.Int32, ir.Uint32:
		return v
	case ir.Int8, ir.Int16:
		return k.b.NewSExt(v, types.I32)
	}
	return k.b.NewZExt(v, types.I32)
}

// zpAt reads zero point b[idx] as i32 (0 when b is absent).
func (k *kernel) zpAt(b *buf, idx value.Value) value.Value {
	if b == nil {
		return i32(0)
	}
	return k.toI32(k.load(b, idx), b.dt)
}

// f32At reads a float scale b[idx] as float32.
func (k *kernel) f32At(b *buf, idx value.Value) value.Value {
	v := k.load(b, idx)
	if b.dt == ir.Float64 {
		return k.b.NewFPTrunc(v, types.Float)
	}
	return v
}

// requantize returns saturate(rint(double(acc) * double(mult)) + yzp) stored
// in dt's storage type (u8 or i8); acc is i32, mult float32, yzp i32.
func (k *kernel) requantize(acc, mult, yzp value.Value, dt ir.DType) value.Value {
	d := k.b.NewFMul(k.b.NewSIToFP(acc, types.Double), k.b.NewFPExt(mult, types.Double))
	r := k.call("llvm.rint.f64", types.Double, d)
	r = k.b.NewFAdd(r, k.b.NewSIToFP(yzp, types.Double))
	lo, hi := 0.0, 255.0
	if dt == ir.Int8 {
		lo, hi = -128, 127
	}
	lc, hc := constant.NewFloat(types.Double, lo), constant.NewFloat(types.Double, hi)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, r, lc), lc, r)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, r, hc), hc, r)
	return k.b.NewTrunc(k.b.NewFPToSI(r, types.I32), types.I8)
}

// mmShape is a MatMul's shape plan: M, K, N, the broadcast batch shape and
// per batch index the batch index of A and of B.
type mmShape struct {
	m, k, n int64
	batch   []int64
	ia, ib  []int64
}

// planMatMul promotes 1-D operands and broadcasts the batch dims.
func planMatMul(a, b []int64) (*mmShape, error) {
	as, bs := append([]int64{}, a...), append([]int64{}, b...)
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("MatMul inputs must have rank >= 1")
	}
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	p := &mmShape{m: as[len(as)-2], k: as[len(as)-1], n: bs[len(bs)-1]}
	if bs[len(bs)-2] != p.k {
		return nil, fmt.Errorf("MatMul inner dims differ: %v x %v", a, b)
	}
	p.batch = broadcastBatch(as[:len(as)-2], bs[:len(bs)-2])
	p.ia = batchOffsets(p.batch, as[:len(as)-2])
	p.ib = batchOffsets(p.batch, bs[:len(bs)-2])
	return p, nil
}

// tableAt returns tab[i] for a runtime index i (a constant when tab is
// uniform or the identity).
func (k *kernel) tableAt(tab []int64, i value.Value) value.Value {
	switch {
	case allEqual(tab):
		return i64(tab[0])
	case identityTable(tab):
		return i
	}
	return k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, k.constTable(tab, true), i))
}

// qIndex is the element of a quantization parameter b for output batch bi
// and row/column i: a scalar, a [count] vector, or a [..., count, 1] /
// [..., 1, count] tensor broadcast over the batch.
func (k *kernel) qIndex(b *buf, batch []int64, bi, i value.Value) value.Value {
	if b == nil || b.len() == 1 {
		return i64(0)
	}
	if len(b.shape) == 1 {
		return i
	}
	count := b.len() / ir.NumElements(b.shape[:len(b.shape)-2])
	tab := batchOffsets(batch, b.shape[:len(b.shape)-2])
	return k.b.NewAdd(k.b.NewMul(k.tableAt(tab, bi), i64(count)), i)
}

// intMatMul emits the integer product loops and calls store(bi, i, j, yi,
// acc) for each output element.
func (k *kernel) intMatMul(p *mmShape, a, b, azp, bzp *buf, store func(bi, i, j, yi, acc value.Value)) {
	nb := ir.NumElements(p.batch)
	k.loop(nb, func(bi value.Value) {
		ao := k.b.NewMul(k.tableAt(p.ia, bi), i64(p.m*p.k))
		bo := k.b.NewMul(k.tableAt(p.ib, bi), i64(p.k*p.n))
		k.loopNest([]int64{p.m, p.n}, func(idx []value.Value) {
			za := k.zpAt(azp, k.qIndex(azp, p.batch, bi, idx[0]))
			zb := k.zpAt(bzp, k.qIndex(bzp, p.batch, bi, idx[1]))
			s := k.sumLoop(p.k, i32(0), func(q, acc value.Value) value.Value {
				x := k.b.NewSub(k.toI32(k.load(a, k.b.NewAdd(ao, k.linear([]value.Value{idx[0], q}, []int64{p.k, 1}, 0))), a.dt), za)
				w := k.b.NewSub(k.toI32(k.load(b, k.b.NewAdd(bo, k.linear([]value.Value{q, idx[1]}, []int64{p.n, 1}, 0))), b.dt), zb)
				return k.b.NewAdd(acc, k.b.NewMul(x, w))
			})
			yi := k.b.NewAdd(k.b.NewMul(bi, i64(p.m*p.n)), k.linear(idx, []int64{p.n, 1}, 0))
			store(bi, idx[0], idx[1], yi, s)
		})
	})
}

// matMulIntegerKernel is MatMulInteger(A, B, a_zero_point?, b_zero_point?)
// to int32.
func matMulIntegerKernel(k *kernel) error {
	p, err := planMatMul(k.in[0].shape, k.in[1].shape)
	if err != nil {
		return err
	}
	var azp, bzp *buf
	if len(k.in) > 2 {
		azp = k.in[2]
	}
	if len(k.in) > 3 {
		bzp = k.in[3]
	}
	y := k.out[0]
	k.intMatMul(p, k.in[0], k.in[1], azp, bzp, func(_, _, _, yi, acc value.Value) {
		k.b.NewStore(acc, k.elemPtr(y, yi))
	})
	return nil
}

// qlinearMatMulKernel is QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp,
// y_scale, y_zp).
func qlinearMatMulKernel(k *kernel) error {
	a, as, azp, b, bs, bzp, ys, yzp := k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.in[5], k.in[6], k.in[7]
	p, err := planMatMul(a.shape, b.shape)
	if err != nil {
		return err
	}
	y := k.out[0]
	if yzp == nil || (yzp.dt != ir.Uint8 && yzp.dt != ir.Int8) {
		return fmt.Errorf("y_zero_point must be a u8 or i8 scalar")
	}
	k.intMatMul(p, a, b, azp, bzp, func(bi, i, j, yi, acc value.Value) {
		sa := k.f32At(as, k.qIndex(as, p.batch, bi, i))
		sb := k.f32At(bs, k.qIndex(bs, p.batch, bi, j))
		mult := k.b.NewFDiv(k.b.NewFMul(sa, sb), k.f32At(ys, i64(0)))
		k.b.NewStore(k.requantize(acc, mult, k.zpAt(yzp, i64(0)), yzp.dt), k.elemPtr(y, yi))
	})
	return nil
}
