package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"relu", "relu", 0}, {"relu", "Relu", 1}, {"kitten", "sitting", 3},
		{"skylake-avx", "skylake-avx512", 3}, {"", "abc", 3},
		{strings.Repeat("a", 65), "a", 1 << 30},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
