package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// Kernels of the effc-domain quantized ops (ir/ops_effc_quant.go), which
// the qdq-fuse pass makes.
func init() {
	kernels["effc.QLinearAdd"] = qlinearAddKernel
}

// qlinearAddKernel is effc.QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp,
// C_scale, C_zp): (A−A_zp)·m_a + (B−B_zp)·m_b in float64, with m_a =
// A_scale/C_scale and m_b = B_scale/C_scale in float32, rounded half to
// even, plus C_zp, saturated. For 8-bit inputs each product is exact.
func qlinearAddKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, b, yz := in[0], in[3], in[7]
	if !isInt8Type(a.DType) || b.DType != a.DType || yz.DType != a.DType {
		return nil, fmt.Errorf("inputs 0, 3 and 7 have dtypes %s, %s and %s, want one of u8 and i8", a.DType, b.DType, yz.DType)
	}
	if !equalShape(a.Shape, b.Shape) {
		return nil, fmt.Errorf("input 3 (B) has shape %v, want A's %v", b.Shape, a.Shape)
	}
	var p [6]float64 // A_scale, A_zp, B_scale, B_zp, C_scale, C_zp
	for i, idx := range []int{1, 2, 4, 5, 6, 7} {
		t := in[idx]
		if t == nil || t.Len() != 1 || (idx == 1 || idx == 4 || idx == 6) && t.DType != ir.Float32 || (idx == 2 || idx == 5) && t.DType != a.DType {
			return nil, fmt.Errorf("input %d is not a scalar of the right dtype (f32 scales, zero points of A's dtype)", idx)
		}
		p[i] = t.Float64At(0)
	}
	ma := float64(float32(p[0]) / float32(p[4]))
	mb := float64(float32(p[2]) / float32(p[4]))
	lo, hi, _ := quantRange(yz.DType)
	out := ir.NewTensor(yz.DType, a.Shape)
	for i := range a.Len() {
		q := math.RoundToEven((a.Float64At(i)-p[1])*ma+(b.Float64At(i)-p[3])*mb) + p[5]
		setFromFloat64(out, i, min(max(q, lo), hi))
	}
	return []*ir.Tensor{out}, nil
}
