package llvmgen

import (
	"fmt"
	"slices"

	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"
)

// Kernels of the effc-domain quantized ops (ir/ops_effc_quant.go), which
// the qdq-fuse pass makes; each computes exactly what its interpreter
// kernel in interp/quant_effc.go computes.
func init() {
	kernels["effc.QLinearAdd"] = qlinearAddKernel
}

// qlinearAddKernel is effc.QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp,
// C_scale, C_zp): (A−A_zp)·m_a + (B−B_zp)·m_b in double, with m_a =
// A_scale/C_scale and m_b = B_scale/C_scale divided in float, rounded half
// to even, plus C_zp, saturated to C's type.
func qlinearAddKernel(k *kernel) error {
	a, b, out := k.in[0], k.in[3], k.out[0]
	if !slices.Equal(a.shape, b.shape) || !slices.Equal(a.shape, out.shape) || a.dt != b.dt || a.dt != out.dt {
		return fmt.Errorf("A %s%v, B %s%v and C %s%v must have one shape and dtype", a.dt, a.shape, b.dt, b.shape, out.dt, out.shape)
	}
	lo, hi, err := quantLimits(out.dt)
	if err != nil {
		return err
	}
	scalar := func(i int) value.Value { return k.mxLoadF64(k.in[i], i64(0)) }
	ratio := func(i int) value.Value {
		f := k.b.NewFDiv(k.b.NewFPTrunc(scalar(i), types.Float), k.b.NewFPTrunc(scalar(6), types.Float))
		return k.b.NewFPExt(f, f64)
	}
	ma, mb := ratio(1), ratio(4)
	za, zb, zc := scalar(2), scalar(5), scalar(7)
	term := func(x *buf, i, zp, m value.Value) value.Value {
		return k.b.NewFMul(k.b.NewFSub(k.mxLoadF64(x, i), zp), m)
	}
	st := strides(a.shape)
	k.loopNest(a.shape, func(c []value.Value) {
		i := k.linear(c, st, 0)
		q := k.b.NewFAdd(term(a, i, za, ma), term(b, i, zb, mb))
		k.b.NewStore(k.roundSat(q, zc, out.dt, lo, hi), k.elemPtr(out, i))
	})
	return nil
}
