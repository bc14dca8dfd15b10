package ir

// Shape functions for the quantization ops. (QLinearConv, ConvInteger,
// QLinearMatMul and MatMulInteger share the conv and matmul functions in
// shape_nn.go.)

// inferQuantize: x's shape; dtype of the zero point, else the
// output_dtype attribute, else u8.
func inferQuantize(n *Node) ([]Type, error) {
	x := in0(n)
	dt := firstDType(n, 2)
	if dt == Undefined && n.HasAttr("output_dtype") {
		var err error
		if dt, err = dtypeAttr(n, "output_dtype", Undefined); err != nil {
			return nil, err
		}
	}
	if dt == Undefined && n.Input(2) == nil {
		dt = Uint8
	}
	if err := checkQuantParams(n, x); err != nil {
		return nil, err
	}
	return one(Type{DType: dt, Shape: cloneShape(x.Shape), Ranked: x.Ranked})
}

// inferDequantize: x's shape; dtype of the scale (f32 by default).
func inferDequantize(n *Node) ([]Type, error) {
	x := in0(n)
	dt := firstDType(n, 1)
	if err := checkQuantParams(n, x); err != nil {
		return nil, err
	}
	return one(Type{DType: dt, Shape: cloneShape(x.Shape), Ranked: x.Ranked})
}

// checkQuantParams checks the scale's shape: a scalar (per tensor), or a
// 1-D tensor as long as x's axis dim (per axis), or x's rank (blocked).
func checkQuantParams(n *Node, x Type) error {
	s, ok := in(n, 1)
	if !ok || !s.Ranked || !x.Ranked {
		return nil
	}
	switch {
	case len(s.Shape) == 0 || (len(s.Shape) == 1 && s.Shape[0].Known() && s.Shape[0].Size == 1 && len(x.Shape) == 0):
		return nil
	case len(s.Shape) == 1 && n.AttrInt("block_size", 0) == 0:
		axis, err := normAxis(n, "axis", n.AttrInt("axis", 1), len(x.Shape))
		if err != nil {
			return err
		}
		if !sameOrUnknown(s.Shape[0], x.Shape[axis]) && !(s.Shape[0].Known() && s.Shape[0].Size == 1) {
			return errf(n, "input 1 (scale) has shape %s, want [%s] (axis %d of input 0 %s) or a scalar",
				s.Shape, x.Shape[axis], axis, x.Shape)
		}
	case len(s.Shape) != len(x.Shape):
		return errf(n, "input 1 (scale) has rank %d, want 0, 1, or %d (blocked)", len(s.Shape), len(x.Shape))
	}
	return nil
}

// inferDynamicQuantize: y like x in u8; scalar scale and zero point.
func inferDynamicQuantize(n *Node) ([]Type, error) {
	x := in0(n)
	return []Type{
		{DType: Uint8, Shape: cloneShape(x.Shape), Ranked: x.Ranked},
		ranked(Float32, Shape{}),
		ranked(Uint8, Shape{}),
	}, nil
}
