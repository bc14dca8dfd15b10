// Package suggest finds the names closest to a misspelt one, for "did you
// mean" hints in error messages (unknown ops, CPUs, passes).
package suggest

// maxLen bounds the names compared: the distance is quadratic in their
// length, and hostile input (a fuzzed op name) must not make errors slow.
const maxLen = 64

// Distance is the Levenshtein distance between a and b; names longer than
// 64 bytes are infinitely far from everything.
func Distance(a, b string) int {
	if len(a) > maxLen || len(b) > maxLen {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
