package passes

import (
	"math"
	"testing"
)

// TestQuantizeMultiplier checks TFLite's QuantizeMultiplier: multipliers
// in (0, 1), above 1 (left shifts), the round-up to 2^31, tiny ones
// flushed to zero, and the ones Q31 cannot hold.
func TestQuantizeMultiplier(t *testing.T) {
	for _, c := range []struct {
		real  float64
		q     int32
		shift int
		ok    bool
	}{
		{0.5, 1 << 30, 0, true},
		{0.75, 3 << 29, 0, true},
		{0.1, 1717986918, 3, true},     // 0.8·2^−3
		{3e-4, 1319413953, 11, true},   // 0.6144·2^−11
		{1.5, 3 << 29, -1, true},       // 0.75·2^1: left shift 1
		{1000, 2097152000, -10, true},  // 0.9765625·2^10
		{1 - 1e-12, 1 << 30, -1, true}, // rounds to 2^31: halved, e+1
		{math.Ldexp(0.75, -31), 3 << 29, 31, true},
		{math.Ldexp(0.75, -32), 0, 0, true}, // below 2^−32: flushed
		{0, 0, 0, true},
		{math.Ldexp(1, 31), 0, 0, false},
		{-0.5, 0, 0, false},
		{math.NaN(), 0, 0, false},
		{math.Inf(1), 0, 0, false},
	} {
		q, s, ok := quantizeMultiplier(c.real)
		if q != c.q || s != c.shift || ok != c.ok {
			t.Errorf("quantizeMultiplier(%g) = %d, %d, %v, want %d, %d, %v", c.real, q, s, ok, c.q, c.shift, c.ok)
		}
		if ok && q != 0 {
			if got := math.Ldexp(float64(q), -31-s); math.Abs(got-c.real) > math.Ldexp(c.real, -30) {
				t.Errorf("quantizeMultiplier(%g): %d·2^(−31−%d) = %g", c.real, q, s, got)
			}
		}
	}
}
