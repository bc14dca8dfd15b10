package quant

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// DefaultBins is the number of histogram bins per sign (TensorRT's and ONNX
// Runtime's 2048).
const DefaultBins = 2048

// DefaultPercentile is the percentile the Percentile method keeps unless told
// otherwise.
const DefaultPercentile = 99.99

// Range is a closed interval of real values, the input to a scale and zero
// point computation.
type Range struct{ Min, Max float32 }

// Stats are the streaming statistics of one tensor: exact extremes and a
// magnitude histogram, both updated one batch at a time by Add. Their size
// depends on the number of bins only, never on how many values were added.
type Stats struct {
	Count     int64   // finite values added
	Zeros     int64   // of them exactly ±0 (they are in bin 0 of Pos too)
	NonFinite int64   // NaN and ±Inf values, left out of everything else
	Min, Max  float32 // extremes of the finite values; 0 while Count is 0
	Hist      Histogram
}

// Histogram counts finite values by magnitude, separately for each sign, in
// equal-width bins over [0, Limit]: bin i of Pos counts the values x >= 0
// with i·w < x <= (i+1)·w, where w = Limit/len(Pos), and bin i of Neg the
// values x < 0 with i·w < -x <= (i+1)·w; bin 0 of Pos also counts the zeros.
// Bins closed above put a magnitude equal to Limit in the last bin, where it
// stays, exactly, as Limit grows.
//
// Limit starts at the largest magnitude of the first batch holding a
// non-zero value (zeros always land in bin 0). When a later batch exceeds
// it, Limit doubles, as often as needed, and each doubling merges the bins
// pairwise (new bin i = old bins 2i and 2i+1): the old edges are a subset
// of the new ones, so re-binning is exact, unlike the interpolation ONNX
// Runtime's histogram collector does when its range grows. The price is
// resolution: the largest magnitude may end up anywhere in the upper half
// of [0, Limit], so a tensor whose range keeps growing uses between
// len(Pos)/2 and len(Pos) bins of each sign.
type Histogram struct {
	Limit    float64
	Pos, Neg []int64
}

// NewStats returns empty statistics with bins histogram bins per sign,
// DefaultBins if bins is 0. It panics unless bins is even and at least 2.
func NewStats(bins int) *Stats {
	if bins == 0 {
		bins = DefaultBins
	}
	if bins < 2 || bins%2 != 0 {
		panic(fmt.Sprintf("quant: %d histogram bins; want an even number >= 2", bins))
	}
	return &Stats{Hist: Histogram{Pos: make([]int64, bins), Neg: make([]int64, bins)}}
}

// String summarizes s for messages and debugging.
func (s *Stats) String() string {
	str := fmt.Sprintf("%d values in [%g, %g], histogram of %d bins per sign over |x| <= %g", s.Count, s.Min, s.Max, len(s.Hist.Pos), s.Hist.Limit)
	if s.NonFinite > 0 {
		str += fmt.Sprintf(", %d NaN or infinite values left out", s.NonFinite)
	}
	return str
}

// Add folds the values of t, a tensor of any float dtype, into s. It
// allocates nothing: dtypes other than float32 are widened through a
// fixed-size buffer on the stack (a float64 beyond float32's range counts as
// non-finite).
func (s *Stats) Add(t *ir.Tensor) {
	if d, ok := t.Data.([]float32); ok {
		s.add(d)
		return
	}
	var buf [1024]float32
	n := t.Len()
	for i := 0; i < n; i += len(buf) {
		c := buf[:min(len(buf), n-i)]
		for j := range c {
			c[j] = float32(t.Float64At(i + j))
		}
		s.add(c)
	}
}

// add folds a batch of float32 values into s: one pass for the extremes,
// then the histogram grows to cover them, then a pass to count.
func (s *Stats) add(d []float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	var finite int64
	for _, x := range d {
		if isFinite(x) {
			lo, hi = min(lo, x), max(hi, x)
			finite++
		}
	}
	s.NonFinite += int64(len(d)) - finite
	if finite == 0 {
		return
	}
	if s.Count == 0 {
		s.Min, s.Max = lo, hi
	} else {
		s.Min, s.Max = min(s.Min, lo), max(s.Max, hi)
	}
	s.Count += finite
	h := &s.Hist
	h.cover(float64(max(-lo, hi)))
	n := len(h.Pos)
	scale := 0.0 // every value is 0 while Limit is
	if h.Limit > 0 {
		scale = float64(n) / h.Limit
	}
	for _, x := range d {
		if !isFinite(x) {
			continue
		}
		if x == 0 {
			s.Zeros++
		}
		b := h.Pos
		if x < 0 {
			b, x = h.Neg, -x
		}
		v := float64(x) * scale
		i := int(v)
		if float64(i) == v { // on an edge: the bin below
			i--
		}
		b[min(max(i, 0), n-1)]++
	}
}

func isFinite(x float32) bool { return x-x == 0 }

// cover doubles Limit, merging bins pairwise, until it is at least a.
func (h *Histogram) cover(a float64) {
	if a <= h.Limit {
		return
	}
	if h.Limit == 0 {
		h.Limit = a
		return
	}
	for h.Limit < a {
		for _, b := range [][]int64{h.Pos, h.Neg} {
			half := len(b) / 2
			for i := 0; i < half; i++ {
				b[i] = b[2*i] + b[2*i+1]
			}
			clear(b[half:])
		}
		h.Limit *= 2
	}
}

// width is the width of one bin.
func (h *Histogram) width() float64 { return h.Limit / float64(len(h.Pos)) }

// clip intersects [lo, hi] with the observed extremes.
func (s *Stats) clip(lo, hi float64) Range {
	return Range{max(s.Min, float32(lo)), min(s.Max, float32(hi))}
}

// MinMax is the observed range [Min, Max], exact (not read off the
// histogram).
func (s *Stats) MinMax() Range { return Range{s.Min, s.Max} }

// Percentile clips the p% of values a quantizer need not represent, for p in
// (0, 100]; it panics otherwise. Read off the histogram, each bound is the
// bin edge on the far side of the bin holding the wanted quantile, so the
// clipping is off by at most one bin width, never inward.
//
// Symmetric: the bound is the p-th percentile of |x|, and the range is
// [-t, t]. Asymmetric: (100−p)/2 % of the values is cut from each tail. As
// ONNX Runtime does, the range is then intersected with [Min, Max]: for a
// ReLU output a symmetric cut gives [0, t].
func (s *Stats) Percentile(p float64, symmetric bool) Range {
	if !(p > 0 && p <= 100) {
		panic(fmt.Sprintf("quant: percentile %v outside (0, 100]", p))
	}
	if s.Count == 0 {
		return Range{}
	}
	h, w := &s.Hist, s.Hist.width()
	if symmetric {
		want := p / 100 * float64(s.Count)
		var cum int64
		for i := range h.Pos {
			cum += h.Pos[i] + h.Neg[i]
			if float64(cum) >= want {
				t := float64(i+1) * w
				return s.clip(-t, t)
			}
		}
		return s.MinMax()
	}
	// Walk the signed bins upward from the most negative for the lower
	// bound, downward from the most positive for the upper one; each stops
	// in the bin holding the first value past the tail.
	tail := (100 - p) / 200 * float64(s.Count)
	n := len(h.Pos)
	lo, hi := float64(s.Min), float64(s.Max)
	var cum int64
	for j := 0; j < 2*n; j++ {
		if j < n {
			i := n - 1 - j
			cum += h.Neg[i]
			lo = -float64(i+1) * w
		} else {
			i := j - n
			cum += h.Pos[i]
			lo = float64(i) * w
		}
		if float64(cum) > tail {
			break
		}
	}
	cum = 0
	for j := 0; j < 2*n; j++ {
		if j < n {
			i := n - 1 - j
			cum += h.Pos[i]
			hi = float64(i+1) * w
		} else {
			i := j - n
			cum += h.Neg[i]
			hi = -float64(i) * w
		}
		if float64(cum) > tail {
			break
		}
	}
	return s.clip(lo, hi)
}

// Entropy picks the clipping threshold t that minimizes the KL divergence
// between the magnitude distribution and its quantization to targetBins
// levels (128 for 8-bit: seven bits of magnitude and a sign), TensorRT's
// entropy calibration as MXNet and ONNX Runtime implement it. For each
// candidate window of the first i bins of the |x| histogram (exact zeros
// left out: the zero point represents them without error), from
// targetBins up to all of them:
//
//   - P is the window, with the counts beyond it added to its last bin;
//   - Q merges the window (without those outliers) into targetBins
//     equal-width groups and spreads each group's count evenly over the
//     bins that are non-zero in P;
//   - both are smoothed (1e-4 moved onto their zero bins) and normalized,
//     and the divergence KL(P‖Q) = Σ P log(P/Q) is computed.
//
// The window with the least divergence wins; t is its upper edge, i·w, and
// the range is [-t, t] intersected with [Min, Max]. A histogram with at
// most targetBins bins in use has nothing to clip and returns [Min, Max].
// It panics if targetBins < 2.
func (s *Stats) Entropy(targetBins int) Range {
	if targetBins < 2 {
		panic(fmt.Sprintf("quant: entropy calibration to %d bins; want at least 2", targetBins))
	}
	h := &s.Hist
	mag := make([]float64, len(h.Pos))
	last := -1 // last non-zero bin
	for i := range mag {
		mag[i] = float64(h.Pos[i] + h.Neg[i])
		if i == 0 {
			// Exact zeros cost nothing: zero is always representable (the
			// zero point), so they stay out of the divergence. Left in,
			// the spike a ReLU puts at 0 drags the threshold down to where
			// each quantized level covers a single histogram bin.
			mag[0] -= float64(s.Zeros)
		}
		if mag[i] > 0 {
			last = i
		}
	}
	if s.Count == 0 || last < targetBins {
		return s.MinMax()
	}
	var outliers float64 // counts beyond the window
	for _, c := range mag[targetBins:] {
		outliers += c
	}
	p := make([]float64, len(mag))
	q := make([]float64, len(mag))
	best, bestKL := len(mag), math.Inf(1)
	for i := targetBins; i <= len(mag); i++ {
		copy(p, mag[:i])
		p[i-1] += outliers
		for g := 0; g < targetBins; g++ {
			a, b := g*i/targetBins, (g+1)*i/targetBins
			var sum, nonzero float64
			for j := a; j < b; j++ {
				sum += mag[j]
				if p[j] > 0 {
					nonzero++
				}
			}
			for j := a; j < b; j++ {
				q[j] = 0
				if p[j] > 0 {
					q[j] = sum / nonzero
				}
			}
		}
		if kl := divergence(p[:i], q[:i]); kl < bestKL {
			best, bestKL = i, kl
		}
		if i < len(mag) {
			outliers -= mag[i]
		}
	}
	t := float64(best) * h.width()
	return s.clip(-t, t)
}

// divergence is KL(p‖q) of two histograms after smoothing and
// normalization. It smooths in place: eps is moved onto each zero bin from
// the non-zero ones, as MXNet's _smooth_distribution does, so that no bin
// of q is zero where p is not. A q with no mass at all is infinitely far.
func divergence(p, q []float64) float64 {
	const eps = 1e-4
	if !smooth(p, eps) || !smooth(q, eps) {
		return math.Inf(1)
	}
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	var kl float64
	for i := range p {
		pi, qi := p[i]/sp, q[i]/sq
		if pi > 0 {
			kl += pi * math.Log(pi/qi)
		}
	}
	return kl
}

// smooth moves eps onto every zero bin of d, taking it evenly from the
// non-zero bins (less if a non-zero bin would go negative). It reports false
// if d is all zeros.
func smooth(d []float64, eps float64) bool {
	zeros, least := 0, math.Inf(1)
	for _, x := range d {
		if x == 0 {
			zeros++
		} else {
			least = min(least, x)
		}
	}
	nonzero := len(d) - zeros
	if nonzero == 0 {
		return false
	}
	take := min(eps*float64(zeros)/float64(nonzero), least/2)
	give := 0.0
	if zeros > 0 {
		give = take * float64(nonzero) / float64(zeros)
	}
	for i, x := range d {
		if x == 0 {
			d[i] = give
		} else {
			d[i] = x - take
		}
	}
	return true
}
