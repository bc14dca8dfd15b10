package ir

// Shape functions for the signal-processing ops (window functions, DFT,
// STFT, MelWeightMatrix) and the loss functions (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss).

// constScalarInt returns the value of input i when it is a constant
// one-element integer tensor.
func constScalarInt(n *Node, i int) (int64, bool) {
	v, ok := constInts(n, i)
	if !ok || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// inferWindow: HannWindow, HammingWindow, BlackmanWindow produce a 1-D
// tensor of `size` elements in dtype output_datatype (default f32).
func inferWindow(n *Node) ([]Type, error) {
	dt, err := dtypeAttr(n, "output_datatype", Float32)
	if err != nil {
		return nil, err
	}
	if t, ok := in(n, 0); ok && t.Ranked && len(t.Shape) != 0 && !(len(t.Shape) == 1 && t.Shape[0].Size == 1) {
		return nil, errf(n, "size has shape %s, want a scalar", t.Shape)
	}
	if s, ok := constScalarInt(n, 0); ok {
		d, err := dimFromInt(n, "size", s)
		if err != nil {
			return nil, err
		}
		return one(ranked(dt, Shape{d}))
	}
	return one(ranked(dt, Shape{Unknown()}))
}

// lossOutput is the type of a loss value: the target's shape with reduction
// "none", a scalar with "mean" or "sum".
func lossOutput(n *Node, dt DType) (Type, error) {
	switch r := n.AttrString("reduction", "mean"); r {
	case "mean", "sum":
		return ranked(dt, Shape{}), nil
	case "none":
		t, _ := in(n, 1)
		if !t.Ranked {
			return unranked(dt), nil
		}
		return ranked(dt, cloneShape(t.Shape)), nil
	default:
		return Type{}, errf(n, "reduction is %q, want none, sum or mean", r)
	}
}

// checkLossShapes checks that input 0 is (N, C, d1..dk), input 1 is
// (N, d1..dk) and the optional weight input 2 is (C).
func checkLossShapes(n *Node) error {
	x, _ := in(n, 0)
	t, _ := in(n, 1)
	if x.Ranked && len(x.Shape) < 2 {
		return errf(n, "input 0 has rank %d, want >= 2 (N, C, d1, ...)", len(x.Shape))
	}
	if x.Ranked && t.Ranked {
		if len(t.Shape) != len(x.Shape)-1 {
			return errf(n, "input 1 has rank %d, want %d (input 0 rank minus the class dim)", len(t.Shape), len(x.Shape)-1)
		}
		for i, d := range t.Shape {
			xd := x.Shape[i]
			if i > 0 {
				xd = x.Shape[i+1]
			}
			if _, ok := unifyDim(d, xd); !ok {
				return errf(n, "input 1 shape %s does not match input 0 shape %s without its class dim", t.Shape, x.Shape)
			}
		}
	}
	if w, ok := in(n, 2); ok && w.Ranked {
		if len(w.Shape) != 1 {
			return errf(n, "weight has rank %d, want 1", len(w.Shape))
		}
		if x.Ranked {
			if _, ok := unifyDim(w.Shape[0], x.Shape[1]); !ok {
				return errf(n, "weight has %s elements, input 0 has %s classes", w.Shape[0], x.Shape[1])
			}
		}
	}
	return nil
}

// inferNLLLoss: NegativeLogLikelihoodLoss.
func inferNLLLoss(n *Node) ([]Type, error) {
	if err := checkLossShapes(n); err != nil {
		return nil, err
	}
	t, err := lossOutput(n, in0(n).DType)
	if err != nil {
		return nil, err
	}
	return one(t)
}

// inferSCELoss: SoftmaxCrossEntropyLoss; the optional log_prob output has
// the scores' type.
func inferSCELoss(n *Node) ([]Type, error) {
	if err := checkLossShapes(n); err != nil {
		return nil, err
	}
	x := in0(n)
	t, err := lossOutput(n, x.DType)
	if err != nil {
		return nil, err
	}
	return []Type{t, {DType: x.DType, Shape: cloneShape(x.Shape), Ranked: x.Ranked}}, nil
}

// inferDFT: DFT (opset 17, axis attribute). The input is
// [batch, n_1, ..., n_k, 1 or 2]; the output has last dim 2 and the axis
// dim replaced by dft_length (input 1, default the axis size), or by
// dft_length/2+1 when onesided.
func inferDFT(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	if r < 2 {
		return nil, errf(n, "input 0 has rank %d, want >= 2 ([batch, ..., 1 or 2])", r)
	}
	if last := x.Shape[r-1]; last.Known() && last.Size != 1 && last.Size != 2 {
		return nil, errf(n, "input 0 last dim is %d, want 1 (real) or 2 (complex)", last.Size)
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 1), r)
	if err != nil {
		return nil, err
	}
	if axis == 0 || axis == r-1 {
		return nil, errf(n, "axis %d is the batch or the real/imaginary dim; want in [1, %d]", axis, r-2)
	}
	onesided := n.AttrInt("onesided", 0) != 0
	if onesided && n.AttrInt("inverse", 0) != 0 {
		return nil, errf(n, "onesided and inverse are both set; ONNX allows at most one")
	}
	out := cloneShape(x.Shape)
	out[r-1] = D(2)
	length := x.Shape[axis]
	if n.Input(1) != nil {
		length = Unknown()
		if l, ok := constScalarInt(n, 1); ok {
			if l < 1 {
				return nil, errf(n, "dft_length is %d, want >= 1", l)
			}
			if length, err = dimFromInt(n, "dft_length", l); err != nil {
				return nil, err
			}
		}
	}
	if onesided {
		if length.Known() {
			length = D(length.Size/2 + 1)
		} else {
			length = Unknown()
		}
	}
	out[axis] = length
	return one(ranked(x.DType, out))
}

// inferSTFT: STFT. signal is [batch, length, 1 or 2]; the output is
// [batch, frames, bins, 2] with frames = (length-frame_length)/frame_step+1
// and bins = frame_length (frame_length/2+1 when onesided). frame_length is
// input 3, or else the window's length.
func inferSTFT(n *Node) ([]Type, error) {
	x := in0(n)
	if x.Ranked && len(x.Shape) != 3 {
		return nil, errf(n, "signal has rank %d, want 3 ([batch, length, 1 or 2])", len(x.Shape))
	}
	if x.Ranked {
		if last := x.Shape[2]; last.Known() && last.Size != 1 && last.Size != 2 {
			return nil, errf(n, "signal last dim is %d, want 1 (real) or 2 (complex)", last.Size)
		}
	}
	flen := int64(-1)
	if l, ok := constScalarInt(n, 3); ok {
		flen = l
	} else if n.Input(3) == nil {
		if w, ok := in(n, 2); ok && w.Ranked && len(w.Shape) == 1 && w.Shape[0].Known() {
			flen = w.Shape[0].Size
		}
	}
	if flen == 0 || flen < -1 {
		return nil, errf(n, "frame_length is %d, want >= 1", flen)
	}
	step, stepOK := constScalarInt(n, 1)
	if stepOK && step < 1 {
		return nil, errf(n, "frame_step is %d, want >= 1", step)
	}
	out := Shape{Unknown(), Unknown(), Unknown(), D(2)}
	if x.Ranked {
		out[0] = x.Shape[0]
		if sl := x.Shape[1]; sl.Known() && flen > 0 && stepOK {
			if sl.Size < flen {
				return nil, errf(n, "signal length %d is shorter than frame_length %d", sl.Size, flen)
			}
			out[1] = D((sl.Size-flen)/step + 1)
		}
	}
	if flen > 0 {
		if n.AttrInt("onesided", 1) != 0 {
			out[2] = D(flen/2 + 1)
		} else {
			out[2] = D(flen)
		}
	}
	return one(ranked(x.DType, out))
}

// inferMelWeightMatrix: MelWeightMatrix produces
// [dft_length/2+1, num_mel_bins] in dtype output_datatype (default f32).
func inferMelWeightMatrix(n *Node) ([]Type, error) {
	dt, err := dtypeAttr(n, "output_datatype", Float32)
	if err != nil {
		return nil, err
	}
	out := Shape{Unknown(), Unknown()}
	if l, ok := constScalarInt(n, 1); ok {
		if l < 1 {
			return nil, errf(n, "dft_length is %d, want >= 1", l)
		}
		if out[0], err = dimFromInt(n, "dft_length/2+1", l/2+1); err != nil {
			return nil, err
		}
	}
	if b, ok := constScalarInt(n, 0); ok {
		if b < 1 {
			return nil, errf(n, "num_mel_bins is %d, want >= 1", b)
		}
		if out[1], err = dimFromInt(n, "num_mel_bins", b); err != nil {
			return nil, err
		}
	}
	return one(ranked(dt, out))
}
