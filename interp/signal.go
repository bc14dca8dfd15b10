package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// Signal-processing kernels: the window generators (HannWindow,
// HammingWindow, BlackmanWindow), DFT, STFT and MelWeightMatrix, following
// ai.onnx opset 17. All arithmetic is in float64; results are rounded to
// the output dtype once.

// windowKernel builds a window generator. coef returns the window's value
// at sample k of a window whose period is n1 (size when periodic, size-1
// when symmetric).
func windowKernel(coef func(k, n1 float64) float64) kernel {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := checkInputs(in, 1, 1); err != nil {
			return nil, err
		}
		size, err := scalarInt(in[0], "input 0 (size)")
		if err != nil {
			return nil, err
		}
		if size < 0 {
			return nil, fmt.Errorf("size is %d, want >= 0", size)
		}
		dt, err := numericDTypeAttr(n, "output_datatype")
		if err != nil {
			return nil, err
		}
		if err := checkOutShape([]int64{size}); err != nil {
			return nil, err
		}
		n1 := float64(size)
		if n.AttrInt("periodic", 1) == 0 {
			n1--
		}
		v := make([]float64, size)
		for k := range v {
			if n1 == 0 {
				v[k] = 1 // a symmetric window of one sample, as numpy's hanning(1)
				continue
			}
			v[k] = coef(float64(k), n1)
		}
		return []*ir.Tensor{fromFloat64(dt, []int64{size}, v)}, nil
	}
}

// hann is 0.5 - 0.5 cos(2πk/N), written as sin²(πk/N) as in the ONNX
// reference.
func hann(k, n1 float64) float64 {
	s := math.Sin(math.Pi * k / n1)
	return s * s
}

// hamming is α - (1-α) cos(2πk/N) with α = 25/46.
func hamming(k, n1 float64) float64 {
	const alpha = 25.0 / 46.0
	return alpha - (1-alpha)*math.Cos(2*math.Pi*k/n1)
}

// blackman is 0.42 - 0.5 cos(2πk/N) + 0.08 cos(4πk/N).
func blackman(k, n1 float64) float64 {
	return 0.42 - 0.5*math.Cos(2*math.Pi*k/n1) + 0.08*math.Cos(4*math.Pi*k/n1)
}

// numericDTypeAttr reads an output dtype attribute (default f32) and
// refuses non-numeric dtypes.
func numericDTypeAttr(n *ir.Node, name string) (ir.DType, error) {
	v := n.AttrInt(name, int64(ir.Float32))
	dt := ir.DType(v)
	if v <= 0 || v > 255 || !dt.Valid() {
		return 0, fmt.Errorf("attribute %s is %d, not a dtype", name, v)
	}
	switch dt {
	case ir.Bool, ir.String, ir.Complex64, ir.Complex128:
		return 0, fmt.Errorf("attribute %s is %s, want a numeric dtype", name, dt)
	}
	return dt, nil
}

// complexLines reads a [..., 1 or 2] float tensor as complex samples (the
// last dim is real or real/imaginary).
func complexLines(x *ir.Tensor, what string) ([]complex128, error) {
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("%s has dtype %s, want a floating type", what, x.DType)
	}
	r := len(x.Shape)
	if r == 0 || (x.Shape[r-1] != 1 && x.Shape[r-1] != 2) {
		return nil, fmt.Errorf("%s has shape %v, want a last dim of 1 (real) or 2 (complex)", what, x.Shape)
	}
	f := toFloat64(x)
	c := make([]complex128, len(f)/int(x.Shape[r-1]))
	if x.Shape[r-1] == 1 {
		for i := range c {
			c[i] = complex(f[i], 0)
		}
	} else {
		for i := range c {
			c[i] = complex(f[2*i], f[2*i+1])
		}
	}
	return c, nil
}

// dft computes out[k] = scale * Σ_j x[j] e^{∓2πi jk/n} for k < len(out),
// with n = len(x) (the caller pads or truncates), the sign + and scale 1/n
// when inverse. tw holds e^{-2πi m/n} for m < n.
func dft(x, out, tw []complex128, inverse bool) {
	n := len(x)
	for k := range out {
		var s complex128
		m := 0 // j*k mod n
		for j := 0; j < n; j++ {
			w := tw[m]
			if inverse {
				w = complex(real(w), -imag(w))
			}
			s += x[j] * w
			m += k
			if m >= n {
				m %= n
			}
		}
		if inverse {
			s /= complex(float64(n), 0)
		}
		out[k] = s
	}
}

// twiddles returns e^{-2πi m/n} for m < n.
func twiddles(n int) []complex128 {
	tw := make([]complex128, n)
	for m := range tw {
		s, c := math.Sincos(-2 * math.Pi * float64(m) / float64(n))
		tw[m] = complex(c, s)
	}
	return tw
}

// maxDFTWork bounds the O(n²) direct transform's multiply-adds per node so
// a hostile dft_length cannot hang the interpreter.
const maxDFTWork = 1 << 34

// dftKernel: DFT (opset 17: axis attribute, optional dft_length input).
// Each line along axis is zero-padded or truncated to dft_length and
// transformed; onesided keeps the first dft_length/2+1 bins.
func dftKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 1, 2); err != nil {
		return nil, err
	}
	x := in[0]
	c, err := complexLines(x, "input 0")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if r < 2 {
		return nil, fmt.Errorf("input 0 has rank %d, want >= 2", r)
	}
	axis, err := normAxis(n.AttrInt("axis", 1), r)
	if err != nil {
		return nil, fmt.Errorf("attribute axis: %w", err)
	}
	if axis == 0 || axis == r-1 {
		return nil, fmt.Errorf("axis %d is the batch or the real/imaginary dim, want in [1, %d]", axis, r-2)
	}
	inverse, onesided := n.AttrInt("inverse", 0) != 0, n.AttrInt("onesided", 0) != 0
	if inverse && onesided {
		return nil, fmt.Errorf("inverse and onesided are both set; ONNX allows at most one")
	}
	size := int(x.Shape[axis])
	length := size
	if t := opt(in, 1); t != nil {
		l, err := scalarInt(t, "input 1 (dft_length)")
		if err != nil {
			return nil, err
		}
		if l < 1 || l > ir.MaxElements {
			return nil, fmt.Errorf("dft_length is %d, want in [1, 2^31]", l)
		}
		length = int(l)
	}
	bins := length
	if onesided {
		bins = length/2 + 1
	}
	outShape := append([]int64{}, x.Shape...)
	outShape[axis], outShape[r-1] = int64(bins), 2
	if err := checkOutShape(outShape); err != nil {
		return nil, err
	}
	outer := int(ir.NumElements(x.Shape[:axis]))
	inner := int(ir.NumElements(x.Shape[axis+1 : r-1]))
	if float64(outer)*float64(inner)*float64(bins)*float64(length) > maxDFTWork {
		return nil, fmt.Errorf("direct DFT of %d lines of length %d needs more than 2^34 steps; effc refuses it", outer*inner, length)
	}
	out := make([]float64, 2*outer*bins*inner)
	tw := twiddles(length)
	line, res := make([]complex128, length), make([]complex128, bins)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			for j := range line {
				line[j] = 0
				if j < size {
					line[j] = c[(o*size+j)*inner+i]
				}
			}
			dft(line, res, tw, inverse)
			for k, v := range res {
				p := 2 * ((o*bins+k)*inner + i)
				out[p], out[p+1] = real(v), imag(v)
			}
		}
	}
	return []*ir.Tensor{fromFloat64(x.DType, outShape, out)}, nil
}

// stftKernel: STFT. The signal [batch, length, 1 or 2] is cut into frames
// of frame_length samples every frame_step samples, each multiplied by the
// window (when given) and transformed; the output is
// [batch, frames, bins, 2] with bins = frame_length/2+1 when onesided.
func stftKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 4); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) != 3 {
		return nil, fmt.Errorf("signal has rank %d, want 3 ([batch, length, 1 or 2])", len(x.Shape))
	}
	c, err := complexLines(x, "input 0 (signal)")
	if err != nil {
		return nil, err
	}
	step, err := scalarInt(in[1], "input 1 (frame_step)")
	if err != nil {
		return nil, err
	}
	if step < 1 {
		return nil, fmt.Errorf("frame_step is %d, want >= 1", step)
	}
	var window []float64
	flen := int64(-1)
	if w := opt(in, 2); w != nil {
		if len(w.Shape) != 1 || w.DType != x.DType {
			return nil, fmt.Errorf("window is %s%v, want a 1-D %s tensor", w.DType, w.Shape, x.DType)
		}
		window, flen = toFloat64(w), w.Shape[0]
	}
	if t := opt(in, 3); t != nil {
		l, err := scalarInt(t, "input 3 (frame_length)")
		if err != nil {
			return nil, err
		}
		if window != nil && l != flen {
			return nil, fmt.Errorf("frame_length is %d but the window has %d samples", l, flen)
		}
		flen = l
	}
	if flen < 0 {
		return nil, fmt.Errorf("neither window nor frame_length is given; the frame length is unknown")
	}
	batch, length := int(x.Shape[0]), x.Shape[1]
	if flen < 1 || flen > length {
		return nil, fmt.Errorf("frame_length is %d, want in [1, signal length %d]", flen, length)
	}
	frames := int((length-flen)/step + 1)
	bins := int(flen)
	if n.AttrInt("onesided", 1) != 0 {
		bins = int(flen/2 + 1)
	}
	outShape := []int64{int64(batch), int64(frames), int64(bins), 2}
	if err := checkOutShape(outShape); err != nil {
		return nil, err
	}
	if float64(batch)*float64(frames)*float64(bins)*float64(flen) > maxDFTWork {
		return nil, fmt.Errorf("direct STFT of %d frames of length %d needs more than 2^34 steps; effc refuses it", batch*frames, flen)
	}
	out := make([]float64, 2*batch*frames*bins)
	tw := twiddles(int(flen))
	frame, res := make([]complex128, flen), make([]complex128, bins)
	for b := 0; b < batch; b++ {
		for f := 0; f < frames; f++ {
			start := b*int(length) + f*int(step)
			for j := range frame {
				frame[j] = c[start+j]
				if window != nil {
					frame[j] *= complex(window[j], 0)
				}
			}
			dft(frame, res, tw, false)
			for k, v := range res {
				p := 2 * ((b*frames+f)*bins + k)
				out[p], out[p+1] = real(v), imag(v)
			}
		}
	}
	return []*ir.Tensor{fromFloat64(x.DType, outShape, out)}, nil
}

// melWeightMatrixKernel: MelWeightMatrix. num_mel_bins+2 points equally
// spaced on the mel scale (mel = 2595 log10(1 + hz/700)) between the edge
// frequencies are mapped to spectrogram bins floor((dft_length+1)·hz /
// sample_rate); mel bin i is the triangle rising from point i to point i+1
// and falling to point i+2. The output is [dft_length/2+1, num_mel_bins].
func melWeightMatrixKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 5, 5); err != nil {
		return nil, err
	}
	var iv [3]int64
	for i, what := range []string{"input 0 (num_mel_bins)", "input 1 (dft_length)", "input 2 (sample_rate)"} {
		v, err := scalarInt(in[i], what)
		if err != nil {
			return nil, err
		}
		if v < 1 {
			return nil, fmt.Errorf("%s is %d, want >= 1", what, v)
		}
		iv[i] = v
	}
	mels, dftLen, rate := iv[0], iv[1], iv[2]
	var fv [2]float64
	for i, what := range []string{"input 3 (lower_edge_hertz)", "input 4 (upper_edge_hertz)"} {
		t := in[3+i]
		if !t.DType.IsFloat() || t.Len() != 1 {
			return nil, fmt.Errorf("%s is %s%v, want a floating scalar", what, t.DType, t.Shape)
		}
		fv[i] = toFloat64(t)[0]
	}
	lo, hi := fv[0], fv[1]
	if !(lo >= 0 && lo < hi) {
		return nil, fmt.Errorf("edge frequencies are [%g, %g], want 0 <= lower < upper", lo, hi)
	}
	dt, err := numericDTypeAttr(n, "output_datatype")
	if err != nil {
		return nil, err
	}
	specBins := dftLen/2 + 1
	shape := []int64{specBins, mels}
	if err := checkOutShape(shape); err != nil {
		return nil, err
	}
	loMel, hiMel := 2595*math.Log10(1+lo/700), 2595*math.Log10(1+hi/700)
	// The ONNX reference divides the mel range by num_mel_bins+2 (not +1),
	// so the last point falls short of upper_edge_hertz; effc matches it.
	melStep := (hiMel - loMel) / float64(mels+2)
	pts := make([]int64, mels+2)
	for i := range pts {
		hz := 700 * (math.Pow(10, (float64(i)*melStep+loMel)/2595) - 1)
		pts[i] = int64(math.Floor(float64(dftLen+1) * hz / float64(rate)))
		if pts[i] < 0 || pts[i] >= specBins {
			return nil, fmt.Errorf("mel point %d falls in spectrogram bin %d, outside [0, %d); lower upper_edge_hertz to at most sample_rate/2", i, pts[i], specBins)
		}
	}
	out := make([]float64, specBins*mels)
	for i := int64(0); i < mels; i++ {
		l, c, h := pts[i], pts[i+1], pts[i+2]
		if c == l {
			out[c*mels+i] = 1
		} else {
			for j := l; j <= c; j++ {
				out[j*mels+i] = float64(j-l) / float64(c-l)
			}
		}
		for j := c; j < h; j++ {
			out[j*mels+i] = float64(h-j) / float64(h-c)
		}
	}
	return []*ir.Tensor{fromFloat64(dt, shape, out)}, nil
}
