package ir

import (
	"fmt"
	"sort"
	"strings"
)

// EinsumPlan is an Einsum equation resolved against operand shapes: the
// loop nest that computes it, output labels first, then the summed labels.
// The interpreter walks it at run time and the backend compiles it, so both
// read the equation the same way.
type EinsumPlan struct {
	Dims      []int64   // size of each loop label
	NumOut    int       // the first NumOut loops are the output dims
	OutShape  []int64   // = Dims[:NumOut]
	OpStrides [][]int64 // per operand, the element stride of each loop (0 where broadcast; repeated labels add up, walking the diagonal)
}

// einsumTerm is one parsed operand subscript: label ids per explicit dim,
// ellipsis dims get ids 128+e (e counted over the broadcast ellipsis rank,
// right-aligned).
type einsumTerm struct {
	labels []int
	ellAt  int // position of "..." among the explicit labels, -1 if absent
	nExpl  int
}

// parseEinsumTerm parses one operand subscript such as "bij" or "...ii".
func parseEinsumTerm(s string) (einsumTerm, error) {
	t := einsumTerm{ellAt: -1}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '.':
			if !strings.HasPrefix(s[i:], "...") || t.ellAt >= 0 {
				return t, fmt.Errorf("bad ellipsis in subscript %q", s)
			}
			t.ellAt = len(t.labels)
			i += 2
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			t.labels = append(t.labels, int(ch))
			t.nExpl++
		default:
			return t, fmt.Errorf("bad character %q in subscript %q", ch, s)
		}
	}
	return t, nil
}

// expand returns the label ids of every dim given ellipsis rank ell (the
// dims "..." stands for in this term) and the global ellipsis rank maxEll.
func (t einsumTerm) expand(ell, maxEll int) []int {
	if t.ellAt < 0 {
		return t.labels
	}
	out := append([]int{}, t.labels[:t.ellAt]...)
	for e := maxEll - ell; e < maxEll; e++ {
		out = append(out, 128+e)
	}
	return append(out, t.labels[t.ellAt:]...)
}

// einsumLabelName prints a label id for error messages.
func einsumLabelName(l int) string {
	if l >= 128 {
		return "..."
	}
	return string(rune(l))
}

// PlanEinsum resolves equation (explicit "ij,jk->ik" or implicit "ij,jk")
// against the operand shapes: ellipsis broadcasting, repeated labels
// (diagonals), size-1 dims broadcasting against other operands.
func PlanEinsum(equation string, shapes [][]int64) (*EinsumPlan, error) {
	eq := strings.ReplaceAll(equation, " ", "")
	if eq == "" {
		return nil, fmt.Errorf("attribute equation is missing")
	}
	lhs, rhs, explicit := strings.Cut(eq, "->")
	parts := strings.Split(lhs, ",")
	if len(parts) != len(shapes) {
		return nil, fmt.Errorf("equation %q has %d operands, node has %d inputs", eq, len(parts), len(shapes))
	}
	terms := make([]einsumTerm, len(parts))
	maxEll := 0
	ells := make([]int, len(parts))
	for j, p := range parts {
		t, err := parseEinsumTerm(p)
		if err != nil {
			return nil, fmt.Errorf("equation %q: %w", eq, err)
		}
		rank := len(shapes[j])
		if t.ellAt < 0 && rank != t.nExpl || t.ellAt >= 0 && rank < t.nExpl {
			return nil, fmt.Errorf("input %d has shape %v, want rank %d for subscript %q", j, shapes[j], t.nExpl, p)
		}
		if t.ellAt >= 0 {
			ells[j] = rank - t.nExpl
			maxEll = max(maxEll, ells[j])
		}
		terms[j] = t
	}
	// Label sizes, checked across operands (size-1 dims broadcast).
	size := map[int]int64{}
	count := map[int]int{}
	opLabels := make([][]int, len(shapes))
	for j, t := range terms {
		opLabels[j] = t.expand(ells[j], maxEll)
		for d, l := range opLabels[j] {
			dim := shapes[j][d]
			if l < 128 {
				count[l]++
			}
			if s, ok := size[l]; ok && s != dim && s != 1 && dim != 1 {
				return nil, fmt.Errorf("input %d has shape %v: label %q has size %d, elsewhere %d", j, shapes[j], einsumLabelName(l), dim, s)
			}
			if s, ok := size[l]; !ok || s == 1 {
				size[l] = dim
			}
		}
	}
	var outLabels []int
	if explicit {
		ot, err := parseEinsumTerm(rhs)
		if err != nil {
			return nil, fmt.Errorf("equation %q: %w", eq, err)
		}
		outLabels = ot.expand(maxEll, maxEll)
		seen := map[int]bool{}
		for _, l := range outLabels {
			if _, ok := size[l]; !ok {
				return nil, fmt.Errorf("equation %q: output label %q does not appear in the inputs", eq, einsumLabelName(l))
			}
			if seen[l] {
				return nil, fmt.Errorf("equation %q: output label %q repeats", eq, einsumLabelName(l))
			}
			seen[l] = true
		}
	} else {
		for e := 0; e < maxEll; e++ {
			outLabels = append(outLabels, 128+e)
		}
		var once []int
		for l, c := range count {
			if c == 1 {
				once = append(once, l)
			}
		}
		sort.Ints(once)
		outLabels = append(outLabels, once...)
	}
	// Loop order: output labels, then summed labels.
	inOut := map[int]bool{}
	for _, l := range outLabels {
		inOut[l] = true
	}
	var summed []int
	for l := range size {
		if !inOut[l] {
			summed = append(summed, l)
		}
	}
	sort.Ints(summed)
	all := append(append([]int{}, outLabels...), summed...)
	p := &EinsumPlan{Dims: make([]int64, len(all)), NumOut: len(outLabels)}
	pos := map[int]int{}
	for i, l := range all {
		p.Dims[i] = size[l]
		pos[l] = i
	}
	p.OutShape = p.Dims[:p.NumOut]
	p.OpStrides = make([][]int64, len(shapes))
	for j, shape := range shapes {
		p.OpStrides[j] = make([]int64, len(all))
		st := int64(1)
		for d := len(shape) - 1; d >= 0; d-- {
			if shape[d] != 1 {
				p.OpStrides[j][pos[opLabels[j][d]]] += st
			}
			st *= shape[d]
		}
	}
	if _, err := CheckedNumElements(p.OutShape); err != nil {
		return nil, fmt.Errorf("equation %q: result: %w", eq, err)
	}
	return p, nil
}
