package ir

// effc-domain quantized ops, made by the qdq-fuse pass.

func init() {
	// effc.QLinearAdd is com.microsoft QLinearAdd without broadcasting: A
	// and B have the same shape, every scale and zero point is a scalar,
	// and C = saturate(round_half_even((A−A_zp)·(A_scale/C_scale) +
	// (B−B_zp)·(B_scale/C_scale)) + C_zp), each ratio taken in float32 and
	// the rest in float64, which is exact for 8-bit inputs.
	op("effc.QLinearAdd", "A:T A_scale:f32 A_zero_point:T B:T B_scale:f32 B_zero_point:T C_scale:f32 C_zero_point:T -> C:T",
		"T:i8|u8", "", inferQLinearAdd)
}

// inferQLinearAdd: A's shape, which B must have too; C_zero_point's dtype.
func inferQLinearAdd(n *Node) ([]Type, error) {
	a, b := in0(n), Type{}
	if t, ok := in(n, 3); ok {
		b = t
	}
	dt := firstDType(n, 7, 0)
	if !a.Ranked {
		return []Type{unranked(dt)}, nil
	}
	if b.Ranked && len(a.Shape) != len(b.Shape) {
		return nil, errf(n, "input 3 (B) has shape %s, want A's %s", b.Shape, a.Shape)
	}
	if b.Ranked {
		for i, d := range a.Shape {
			if !sameOrUnknown(d, b.Shape[i]) {
				return nil, errf(n, "input 3 (B) has shape %s, want A's %s", b.Shape, a.Shape)
			}
		}
	}
	return one(ranked(dt, cloneShape(a.Shape)))
}
