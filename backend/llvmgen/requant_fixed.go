package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

func init() {
	kernels["effc.Requantize"] = requantizeKernel
}

// requantLanes is the vector width of effc.Requantize: 8 int32 lanes, whose
// products take two 256-bit (x86-64) or four 128-bit (arm64, wasm32) i64
// vectors.
const requantLanes = 8

// requantizeKernel is effc.Requantize(acc, bias?, multiplier, shift,
// y_zero_point) {axis, min, max}: gemmlowp's fixed-point requantization,
// bit for bit what interp/requant_fixed.go computes, requantLanes
// accumulators at a time. With channels on an inner axis (NCHW), a row of
// the spatial run shares one channel's parameters, splatted; with the
// channel axis last (matmul), the parameters are loaded as vectors too.
// The remainders take the same code on one-lane vectors.
func requantizeKernel(k *kernel) error {
	acc, bias, mult, shift, yz, out := k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.out[0]
	if yz.len() != 1 || !isQ8(yz.dt) || out.dt != yz.dt {
		return fmt.Errorf("y_zero_point %s%v must be a u8 or i8 scalar of y's dtype %s", yz.dt, yz.shape, out.dt)
	}
	lo, hi, err := interp.RequantizeBounds(k.n, out.dt)
	if err != nil {
		return err
	}
	if shift.konst != nil {
		for i, s := range shift.konst.Int64s() {
			if s < -31 || s > 31 {
				return fmt.Errorf("shift[%d] = %d, want in [-31, 31]", i, s)
			}
		}
	}
	axis := int(k.n.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(acc.shape)
	}
	if axis < 0 || axis >= len(acc.shape) {
		return fmt.Errorf("axis %d is out of range for acc %v", k.n.AttrInt("axis", 1), acc.shape)
	}
	channels, run := acc.shape[axis], ir.NumElements(acc.shape[axis+1:])
	rows, perLane := acc.len()/run, run == 1
	if perLane {
		rows, run = acc.len()/channels, channels
	}
	zp := k.sextI32(k.load(yz, i64(0)), yz.dt)
	k.loop(rows, func(r value.Value) {
		base := k.b.NewMul(r, i64(run))
		ch := value.Value(i64(0))
		if !perLane {
			ch = k.b.NewSRem(r, i64(channels))
		}
		block := func(off value.Value, lanes int64) {
			vt := types.NewVector(uint64(lanes), types.I32)
			// param is p's i32 value for this block: a scalar (splatted
			// below) unless p varies along the lanes.
			param := func(p *buf) value.Value {
				switch {
				case p == nil:
					return i32(0)
				case p.len() == 1:
					return k.sextI32(k.load(p, i64(0)), p.dt)
				case !perLane:
					return k.sextI32(k.load(p, ch), p.dt)
				}
				return k.sextI32(k.loadInts(p, off, lanes), p.dt)
			}
			splat := func(v value.Value) value.Value {
				if _, ok := v.Type().(*types.VectorType); ok {
					return v
				}
				return k.splatN(v, int64(vt.Len), vt.ElemType)
			}
			// Split the shift before splatting, so that a shift shared by
			// the lanes stays a uniform vector shift (wasm32 has no
			// per-lane one).
			sh := param(shift)
			neg := k.b.NewICmp(enum.IPredSLT, sh, splatI32(sh.Type(), 0))
			left := k.b.NewSelect(neg, k.b.NewSub(splatI32(sh.Type(), 0), sh), splatI32(sh.Type(), 0))
			right := k.b.NewSelect(neg, splatI32(sh.Type(), 0), sh)
			i := k.b.NewAdd(base, off)
			y := k.requantVec(k.loadInts(acc, i, lanes), splat(param(bias)), splat(param(mult)), splat(left), splat(right),
				k.splatN(zp, int64(vt.Len), vt.ElemType), lo, hi)
			yt := types.NewVector(uint64(lanes), types.I8)
			st := k.b.NewStore(k.b.NewTrunc(y, yt), k.b.NewBitCast(k.elemPtr(out, i), types.NewPointer(yt)))
			st.Align = 1
		}
		vecs := run / requantLanes
		k.loop(vecs, func(j value.Value) { block(k.b.NewMul(j, i64(requantLanes)), requantLanes) })
		k.loop(run-vecs*requantLanes, func(j value.Value) { block(k.b.NewAdd(j, i64(vecs*requantLanes)), 1) })
	})
	return nil
}

// requantVec is gemmlowp's requantization on vectors of i32 (see
// ir/ops_effc_quant.go): v = (acc + bias) << left; the doubling high
// product with mult in i64, nudged and divided by 2^31 toward zero (an
// arithmetic shift after adding 2^31−1 to negative values),
// INT32_MIN·INT32_MIN saturated; the rounding right shift by right with
// ties away from zero; + zp, clamped to [lo, hi].
func (k *kernel) requantVec(acc, bias, mult, left, right, zp value.Value, lo, hi int32) value.Value {
	vt := acc.Type().(*types.VectorType)
	n := vt.Len
	wt := types.NewVector(n, types.I64)
	c32 := func(v int64) value.Value { return splatI32(vt, v) }
	c64 := func(v int64) value.Value { return splatI64(wt, v) }
	v := k.b.NewShl(k.b.NewAdd(acc, bias), left)

	// SaturatingRoundingDoublingHighMul(v, mult).
	ab := k.b.NewMul(k.b.NewSExt(v, wt), k.b.NewSExt(mult, wt))
	nudge := k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, ab, c64(0)), c64(1-1<<30), c64(1<<30))
	sum := k.b.NewAdd(ab, nudge)
	var hm value.Value = k.b.NewAShr(k.b.NewAdd(sum, k.b.NewAnd(k.b.NewAShr(sum, c64(63)), c64(1<<31-1))), c64(31))
	hm = k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, hm, c64(1<<31-1)), c64(1<<31-1), hm)
	x := k.b.NewTrunc(hm, vt)

	// RoundingDivideByPOT(x, right).
	mask := k.b.NewSub(k.b.NewShl(c32(1), right), c32(1))
	threshold := k.b.NewAdd(k.b.NewAShr(mask, c32(1)), k.b.NewZExt(k.b.NewICmp(enum.IPredSLT, x, c32(0)), vt))
	up := k.b.NewZExt(k.b.NewICmp(enum.IPredSGT, k.b.NewAnd(x, mask), threshold), vt)
	var y value.Value = k.b.NewAdd(k.b.NewAdd(k.b.NewAShr(x, right), up), zp)

	y = k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, y, c32(int64(lo))), c32(int64(lo)), y)
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, y, c32(int64(hi))), c32(int64(hi)), y)
}

// splatI64 is the constant vector of vt's lanes of the i64 v.
func splatI64(vt *types.VectorType, v int64) value.Value {
	return splatConst(vt, constant.NewInt(types.I64, v))
}

// loadInts loads lanes consecutive stored elements of b from b[i] as one
// vector (alignment 1).
func (k *kernel) loadInts(b *buf, i value.Value, lanes int64) value.Value {
	st, _ := storageType(b.dt)
	vt := types.NewVector(uint64(lanes), st)
	ld := k.b.NewLoad(vt, k.b.NewBitCast(k.elemPtr(b, i), types.NewPointer(vt)))
	ld.Align = 1
	return ld
}

// sextI32 widens an i8/u8/i32 scalar or vector of dtype dt to i32 lanes:
// sign extension for i8, zero extension for u8.
func (k *kernel) sextI32(v value.Value, dt ir.DType) value.Value {
	t := types.Type(types.I32)
	if vt, ok := v.Type().(*types.VectorType); ok {
		t = types.NewVector(vt.Len, types.I32)
	}
	switch dt {
	case ir.Int8:
		return k.b.NewSExt(v, t)
	case ir.Uint8:
		return k.b.NewZExt(v, t)
	}
	return v
}
