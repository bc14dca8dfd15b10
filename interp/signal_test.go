package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

// TestWindows checks the window generators against values worked out by
// hand from their formulas.
func TestWindows(t *testing.T) {
	const a = 25.0 / 46.0
	sym := map[string]*ir.Attr{"periodic": ir.IntAttr(0)}
	cases := []struct {
		op    string
		attrs map[string]*ir.Attr
		size  int64
		want  []float64
	}{
		{"HannWindow", nil, 4, []float64{0, 0.5, 1, 0.5}},
		{"HannWindow", sym, 3, []float64{0, 1, 0}},
		{"HannWindow", sym, 1, []float64{1}},
		{"HammingWindow", nil, 2, []float64{a - (1 - a), a + (1 - a)}},
		{"HammingWindow", sym, 3, []float64{4.0 / 46, 1, 4.0 / 46}},
		{"BlackmanWindow", nil, 4, []float64{0, 0.34, 1, 0.34}},
		{"BlackmanWindow", sym, 3, []float64{0, 1, 0}},
		{"HannWindow", nil, 0, []float64{}},
	}
	for _, c := range cases {
		out := evalMath(t, c.op, c.attrs, ti64(sh(), c.size))
		if out[0].DType != ir.Float32 {
			t.Errorf("%s: dtype %s, want f32 by default", c.op, out[0].DType)
		}
		nnClose(t, c.op, out[0], sh(c.size), c.want, 1e-6)
	}
	out := evalMath(t, "HannWindow", map[string]*ir.Attr{"output_datatype": ir.IntAttr(int64(ir.Float64))}, ti32(sh(1), 4))
	if out[0].DType != ir.Float64 {
		t.Errorf("output_datatype f64: got %s", out[0].DType)
	}
	evalMathErr(t, "want >= 0", "HannWindow", nil, ti64(sh(), -1))
	evalMathErr(t, "want a numeric dtype", "BlackmanWindow", map[string]*ir.Attr{"output_datatype": ir.IntAttr(int64(ir.Bool))}, ti64(sh(), 3))
	evalMathErr(t, "want a scalar", "HammingWindow", nil, ti64(sh(2), 3, 4))
}

// TestDFT checks DFT against the transform of [1, 2, 3, 4] worked out by
// hand: [10, -2+2i, -2, -2-2i].
func TestDFT(t *testing.T) {
	x := tf32(sh(1, 4, 1), 1, 2, 3, 4)
	full := []float64{10, 0, -2, 2, -2, 0, -2, -2}
	nnClose(t, "DFT", evalMath(t, "DFT", nil, x)[0], sh(1, 4, 2), full, 1e-6)
	nnClose(t, "DFT onesided", evalMath(t, "DFT", map[string]*ir.Attr{"onesided": ir.IntAttr(1)}, x)[0], sh(1, 3, 2), full[:6], 1e-6)

	// The inverse of the spectrum is the signal.
	spec := tf32(sh(1, 4, 2), 10, 0, -2, 2, -2, 0, -2, -2)
	inv := evalMath(t, "DFT", map[string]*ir.Attr{"inverse": ir.IntAttr(1)}, spec)[0]
	nnClose(t, "DFT inverse", inv, sh(1, 4, 2), []float64{1, 0, 2, 0, 3, 0, 4, 0}, 1e-6)

	// dft_length truncates ([1, 2] -> [3, -1]) or zero-pads.
	nnClose(t, "DFT truncated", evalMath(t, "DFT", nil, x, ti64(sh(), 2))[0], sh(1, 2, 2), []float64{3, 0, -1, 0}, 1e-6)
	pad := evalMath(t, "DFT", nil, tf32(sh(1, 1, 1), 5), ti64(sh(), 3))[0]
	nnClose(t, "DFT padded", pad, sh(1, 3, 2), []float64{5, 0, 5, 0, 5, 0}, 1e-6)

	// axis 2 of a [1, 2, 2, 1] input transforms each row.
	rows := evalMath(t, "DFT", map[string]*ir.Attr{"axis": ir.IntAttr(2)}, tf32(sh(1, 2, 2, 1), 1, 2, 3, 5))[0]
	nnClose(t, "DFT axis 2", rows, sh(1, 2, 2, 2), []float64{3, 0, -1, 0, 8, 0, -2, 0}, 1e-6)

	evalMathErr(t, "last dim of 1 (real) or 2", "DFT", nil, tf32(sh(1, 2, 3), 1, 2, 3, 4, 5, 6))
	evalMathErr(t, "batch or the real/imaginary dim", "DFT", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x)
	evalMathErr(t, "at most one", "DFT", map[string]*ir.Attr{"inverse": ir.IntAttr(1), "onesided": ir.IntAttr(1)}, x)
	evalMathErr(t, "dft_length is 0", "DFT", nil, x, ti64(sh(), 0))
}

// TestSTFT frames [1, 2, 3, 4] into [1, 2] and [3, 4] and checks each
// frame's 2-point transform, with and without a window.
func TestSTFT(t *testing.T) {
	x := tf32(sh(1, 4, 1), 1, 2, 3, 4)
	out := evalMath(t, "STFT", nil, x, ti64(sh(), 2), nil, ti64(sh(), 2))[0]
	nnClose(t, "STFT", out, sh(1, 2, 2, 2), []float64{3, 0, -1, 0, 7, 0, -1, 0}, 1e-6)

	// A window [1, 0] keeps the first sample of each frame; frames every
	// sample give 3 of them.
	out = evalMath(t, "STFT", nil, x, ti64(sh(), 1), tf32(sh(2), 1, 0))[0]
	nnClose(t, "STFT window", out, sh(1, 3, 2, 2), []float64{1, 0, 1, 0, 2, 0, 2, 0, 3, 0, 3, 0}, 1e-6)

	// Two-sided output of a 3-sample frame has 3 bins.
	out = evalMath(t, "STFT", map[string]*ir.Attr{"onesided": ir.IntAttr(0)}, x, ti64(sh(), 1), nil, ti64(sh(), 3))[0]
	if !equalShape(out.Shape, sh(1, 2, 3, 2)) {
		t.Errorf("STFT two-sided: shape %v, want [1 2 3 2]", out.Shape)
	}

	evalMathErr(t, "frame length is unknown", "STFT", nil, x, ti64(sh(), 1))
	evalMathErr(t, "frame_step is 0", "STFT", nil, x, ti64(sh(), 0), nil, ti64(sh(), 2))
	evalMathErr(t, "want in [1, signal length 4]", "STFT", nil, x, ti64(sh(), 1), nil, ti64(sh(), 5))
	evalMathErr(t, "but the window has 2 samples", "STFT", nil, x, ti64(sh(), 1), tf32(sh(2), 1, 1), ti64(sh(), 3))
}

// TestMelWeightMatrix checks the matrix's shape and triangle structure,
// and that an upper edge above the Nyquist frequency is refused.
func TestMelWeightMatrix(t *testing.T) {
	out := evalMath(t, "MelWeightMatrix", nil, ti32(sh(), 8), ti32(sh(), 16), ti32(sh(), 8192), tf32(sh(), 0), tf32(sh(), 4096))[0]
	if !equalShape(out.Shape, sh(9, 8)) || out.DType != ir.Float32 {
		t.Fatalf("shape %s%v, want f32[9 8]", out.DType, out.Shape)
	}
	v := out.Float64s()
	for i := 0; i < 8; i++ {
		peak := 0.0
		for j := 0; j < 9; j++ {
			w := v[j*8+i]
			if w < 0 || w > 1 || math.IsNaN(w) {
				t.Fatalf("weight [%d,%d] = %v, want in [0, 1]", j, i, w)
			}
			peak = math.Max(peak, w)
		}
		if peak != 1 {
			t.Errorf("mel bin %d peaks at %v, want 1", i, peak)
		}
	}
	evalMathErr(t, "outside [0, 9)", "MelWeightMatrix", nil, ti32(sh(), 8), ti32(sh(), 16), ti32(sh(), 8192), tf32(sh(), 0), tf32(sh(), 9000))
	evalMathErr(t, "want 0 <= lower < upper", "MelWeightMatrix", nil, ti32(sh(), 8), ti32(sh(), 16), ti32(sh(), 8192), tf32(sh(), 100), tf32(sh(), 50))
	evalMathErr(t, "num_mel_bins) is 0", "MelWeightMatrix", nil, ti32(sh(), 0), ti32(sh(), 16), ti32(sh(), 8192), tf32(sh(), 0), tf32(sh(), 50))
}
