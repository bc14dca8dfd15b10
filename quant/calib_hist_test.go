package quant

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// uniform returns n values evenly spread over [lo, hi], at bin-like centers.
func uniform(n int, lo, hi float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(lo + (hi-lo)*(float64(i)+0.5)/float64(n))
	}
	return d
}

// gaussian returns n standard normal values (seeded) followed by the
// outliers.
func gaussian(n int, outliers ...float32) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	d := make([]float32, n, n+len(outliers))
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return append(d, outliers...)
}

func statsOf(bins int, batches ...[]float32) *Stats {
	s := NewStats(bins)
	for _, b := range batches {
		s.Add(ir.FromFloat32([]int64{int64(len(b))}, b))
	}
	return s
}

// near reports whether got lies in [want-below, want+above].
func near(got float32, want, below, above float64) bool {
	return float64(got) >= want-below && float64(got) <= want+above
}

func TestMinMaxAndNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	s := statsOf(16, []float32{1, nan, -3}, []float32{inf, 2.5, -inf}, []float32{nan})
	if s.MinMax() != (Range{-3, 2.5}) || s.Count != 3 || s.NonFinite != 4 {
		t.Errorf("got %v, count %d, non-finite %d; want [-3 2.5], 3, 4", s.MinMax(), s.Count, s.NonFinite)
	}
	if !strings.Contains(s.String(), "4 NaN or infinite values left out") {
		t.Errorf("String() = %q does not mention the NaN and infinities", s.String())
	}
	if empty := NewStats(16); empty.Percentile(99, true) != (Range{}) || empty.Entropy(8) != (Range{}) {
		t.Errorf("empty stats: percentile %v, entropy %v; want zero ranges", empty.Percentile(99, true), empty.Entropy(8))
	}
}

func TestPercentileUniform(t *testing.T) {
	// Uniform on [-1, 1]: the p-th percentile of |x| is p/100, and cutting
	// (100-p)/2 % from each tail leaves [-p/100, p/100]. The histogram
	// answer is a bin edge at most one bin (2/2048) outward.
	s := statsOf(DefaultBins, uniform(200000, -1, 1))
	w := s.Hist.width()
	if r := s.Percentile(99, true); !near(r.Max, 0.99, 0, w) || r.Min != -r.Max {
		t.Errorf("symmetric 99%%: %v, want ±0.99 (+%.4f)", r, w)
	}
	if r := s.Percentile(98, false); !near(r.Min, -0.98, w, 0) || !near(r.Max, 0.98, 0, w) {
		t.Errorf("asymmetric 98%%: %v, want [-0.98, 0.98] (±%.4f outward)", r, w)
	}
	// Uniform on [2, 10]: asymmetric 90% is [2.4, 9.6]; the symmetric cut is
	// |x| <= 9.2, then clipped to the minimum, 2.
	s = statsOf(DefaultBins, uniform(200000, 2, 10))
	w = s.Hist.width()
	if r := s.Percentile(90, false); !near(r.Min, 2.4, w, 0) || !near(r.Max, 9.6, 0, w) {
		t.Errorf("asymmetric 90%% of U[2,10]: %v, want [2.4, 9.6]", r)
	}
	if r := s.Percentile(90, true); r.Min != s.Min || !near(r.Max, 9.2, 0, w) {
		t.Errorf("symmetric 90%% of U[2,10]: %v, want [%g, 9.2]", r, s.Min)
	}
	if r := s.Percentile(100, false); r != s.MinMax() {
		t.Errorf("100%%: %v, want the min/max %v", r, s.MinMax())
	}
}

func TestPercentileGaussianWithOutliers(t *testing.T) {
	// 10^6 N(0,1) values and 10 outliers at ±20. The 99.99th percentile
	// of |x| is Φ⁻¹(1 - 0.0001/2) = 3.8906, and cutting 0.005% per tail
	// gives the same bounds. Tolerance: one bin (40/2048) plus 0.1 for the
	// sampling error of a quantile with 100 values beyond it
	// (sd ≈ sqrt(1e-4/1e6)/(2φ(3.89)) ≈ 0.024) and the 10 outliers in it.
	const z = 3.8906
	var out []float32
	for i := range 10 {
		out = append(out, float32(20*(1-2*(i%2))))
	}
	s := statsOf(DefaultBins, gaussian(1000000, out...))
	w := s.Hist.width()
	if s.MinMax() != (Range{-20, 20}) {
		t.Fatalf("min/max %v, want the outliers ±20", s.MinMax())
	}
	if r := s.Percentile(99.99, true); !near(r.Max, z, 0.1, w+0.1) || r.Min != -r.Max {
		t.Errorf("symmetric 99.99%%: %v, want ±%g", r, z)
	}
	if r := s.Percentile(99.99, false); !near(r.Min, -z, w+0.1, 0.1) || !near(r.Max, z, 0.1, w+0.1) {
		t.Errorf("asymmetric 99.99%%: %v, want ±%g", r, z)
	}
}

func TestEntropy(t *testing.T) {
	// Uniform: every bin is equally full and clipping only piles counts
	// onto an edge bin, so the least divergence is at (nearly) the full
	// range. Gaussian with outliers: the outliers are ignored and the
	// threshold lands in the tail of the bell; 8-bit (128-level) KL
	// calibration of N(0,1) is known to land near 3-5σ (TensorRT's 2017
	// GTC talk shows thresholds of this size), and MSE-optimal clipping for
	// 8 bits is 3.92σ (Banner et al., ACIQ): accept [2.5σ, 8σ], far below
	// the outliers at 50.
	s := statsOf(DefaultBins, uniform(200000, -1, 1))
	if r := s.Entropy(128); r.Max < 0.95 || r.Min > -0.95 {
		t.Errorf("uniform: %v, want about [-1, 1]", r)
	}
	s = statsOf(DefaultBins, gaussian(1000000, 50, -50, 50))
	r := s.Entropy(128)
	t.Logf("entropy range of N(0,1) with outliers at ±50: %v", r)
	if r.Max < 2.5 || r.Max > 8 || r.Min != -r.Max {
		t.Errorf("gaussian with outliers: %v, want ±t with t in [2.5, 8]", r)
	}
	// A ReLU-like (half-normal) tensor: the range starts at its minimum, 0.
	half := gaussian(100000, 40)
	for i, x := range half {
		half[i] = max(x, 0)
	}
	if r := statsOf(DefaultBins, half).Entropy(128); r.Min != 0 || r.Max < 2.5 || r.Max > 8 {
		t.Errorf("half-normal: %v, want [0, t] with t in [2.5, 8]", r)
	}
	// Exact zeros (a ReLU output is mostly zeros) are representable without
	// error and must not move the threshold: 90% zeros give the same t as
	// the non-zero values alone. Counted in bin 0, they used to drag t down
	// to a sixth of the range, which cost the digits model 232 of its 360
	// test images with --calib-method entropy.
	var pos []float32
	for _, x := range gaussian(50000, 0) {
		pos = append(pos, float32(math.Abs(float64(x))))
	}
	alone := statsOf(DefaultBins, pos).Entropy(128)
	zeros := append(make([]float32, 9*len(pos)), pos...)
	if r := statsOf(DefaultBins, zeros).Entropy(128); math.Abs(float64(r.Max-alone.Max)) > 0.05*float64(alone.Max) {
		t.Errorf("90%% zeros: %v, want the threshold of the non-zero values alone, %v", r, alone)
	}
	// With no more bins in use than levels there is nothing to clip.
	if r := statsOf(DefaultBins, []float32{-1, 0.5, 3}).Entropy(4096); r != (Range{-1, 3}) {
		t.Errorf("few bins: %v, want the min/max [-1, 3]", r)
	}
}

func TestHistogramGrowthIsExact(t *testing.T) {
	// Limit starts at the first batch's max |x| (1) and doubles twice for
	// a second batch reaching 4: the same bins as one batch whose max |x| is
	// 4. Values sit at bin centers of the final histogram, or at ±1, the
	// first limit, an edge of both.
	const bins = 64
	w := 4.0 / bins
	center := func(i int, sign float32) float32 { return sign * float32((float64(i)+0.5)*w) }
	first, second := []float32{1, -1}, []float32{}
	for i := range bins / 4 { // |x| < 1
		first = append(first, center(i, 1), center(i, -1), center(i, 1))
	}
	for i := range bins {
		second = append(second, center(i, float32(1-2*(i%2))))
	}
	second = append(second, 4)
	grown := statsOf(bins, first, second)
	once := statsOf(bins, append(append([]float32{}, first...), second...))
	if grown.Hist.Limit != 4 || !reflect.DeepEqual(grown.Hist, once.Hist) {
		t.Errorf("grown histogram (limit %g)\n %v %v\nwant (limit %g)\n %v %v",
			grown.Hist.Limit, grown.Hist.Pos, grown.Hist.Neg, once.Hist.Limit, once.Hist.Pos, once.Hist.Neg)
	}
	// Zeros before any non-zero value stay in bin 0.
	z := statsOf(bins, []float32{0, 0}, []float32{3})
	if z.Hist.Pos[0] != 2 || z.Hist.Pos[bins-1] != 1 || z.Hist.Limit != 3 {
		t.Errorf("zeros then 3: limit %g, bins %v", z.Hist.Limit, z.Hist.Pos)
	}
}

func TestStatsMemoryIsBounded(t *testing.T) {
	// The statistics are the same size after 10 values and after 10^6, and
	// adding a batch allocates nothing, whatever its dtype.
	small := statsOf(DefaultBins, gaussian(10))
	big := statsOf(DefaultBins, gaussian(1000000, 1e4))
	for _, s := range []*Stats{small, big} {
		if len(s.Hist.Pos) != DefaultBins || cap(s.Hist.Pos) != DefaultBins || len(s.Hist.Neg) != DefaultBins || cap(s.Hist.Neg) != DefaultBins {
			t.Errorf("%d values: histogram of %d/%d bins, want %d", s.Count, cap(s.Hist.Pos), cap(s.Hist.Neg), DefaultBins)
		}
	}
	f32 := ir.FromFloat32([]int64{4096}, gaussian(4096))
	f16 := ir.NewTensor(ir.Float16, []int64{4096})
	for i, x := range f32.Data.([]float32) {
		f16.Data.([]uint16)[i] = ir.Float32ToFloat16(x * 100)
	}
	for _, x := range []*ir.Tensor{f32, f16} {
		if a := testing.AllocsPerRun(10, func() { big.Add(x) }); a != 0 {
			t.Errorf("Add of a %s batch: %v allocations, want 0", x.DType, a)
		}
	}
}

func TestRangeOptions(t *testing.T) {
	s := statsOf(DefaultBins, uniform(100000, -1, 1))
	for _, c := range []struct {
		o    RangeOptions
		want Range
	}{
		{RangeOptions{Method: MinMax}, s.MinMax()},
		{RangeOptions{Method: Percentile}, s.Percentile(DefaultPercentile, false)},
		{RangeOptions{Method: Percentile, Percentile: 90, Symmetric: true}, s.Percentile(90, true)},
		{RangeOptions{Method: Entropy}, s.Entropy(128)},
	} {
		if got, err := s.Range(c.o); err != nil || got != c.want {
			t.Errorf("Range(%+v) = %v, %v; want %v", c.o, got, err, c.want)
		}
	}
	for _, o := range []RangeOptions{{Method: Percentile, Percentile: 101}, {Method: Entropy, TargetBins: 1}, {Method: 9}} {
		if _, err := s.Range(o); err == nil {
			t.Errorf("Range(%+v): no error", o)
		}
	}
	for _, name := range []string{"minmax", "percentile", "entropy"} {
		if m, err := ParseMethod(name); err != nil || m.String() != name {
			t.Errorf("ParseMethod(%q) = %v, %v", name, m, err)
		}
	}
	if _, err := ParseMethod("kl"); err == nil || !strings.Contains(err.Error(), "minmax, percentile, entropy") {
		t.Errorf("ParseMethod(kl): %v, want the list of methods", err)
	}
}
