package ir

import (
	"fmt"
	"sort"
	"strings"
)

// BindShapes fixes the dims of graph inputs: shapes maps an input name to
// its full shape. A dim that was symbolic is replaced everywhere in the
// graph (so binding N=1 on one input turns every N into 1); a dim that was
// already known must match. Unknown input names, rank mismatches and
// conflicting dims are errors. Callers re-run InferShapes afterwards.
func BindShapes(g *Graph, shapes map[string][]int64) error {
	byName := map[string]*Value{}
	for _, v := range g.Inputs {
		if v != nil {
			byName[v.Name] = v
		}
	}
	names := make([]string, 0, len(shapes))
	for name := range shapes {
		names = append(names, name)
	}
	sort.Strings(names)
	syms := map[string]int64{}
	symFrom := map[string]string{}
	for _, name := range names {
		dims := shapes[name]
		v := byName[name]
		if v == nil {
			return fmt.Errorf("bind shapes: %q is not a graph input; inputs are %s", name, inputNames(g))
		}
		if _, err := CheckedNumElements(dims); err != nil {
			return fmt.Errorf("bind shapes: input %q: %v", name, err)
		}
		if len(dims) > maxRank {
			return fmt.Errorf("bind shapes: input %q: rank %d exceeds %d", name, len(dims), maxRank)
		}
		if !v.Type.Ranked {
			continue
		}
		if len(dims) != len(v.Type.Shape) {
			return fmt.Errorf("bind shapes: input %q has shape %s (rank %d), got %v (rank %d)",
				name, v.Type.Shape, len(v.Type.Shape), dims, len(dims))
		}
		for i, d := range v.Type.Shape {
			switch {
			case d.Known() && d.Size != dims[i]:
				return fmt.Errorf("bind shapes: input %q dim %d is %d, got %d", name, i, d.Size, dims[i])
			case d.Param != "":
				if prev, ok := syms[d.Param]; ok && prev != dims[i] {
					return fmt.Errorf("bind shapes: symbol %s is bound to %d by input %q and to %d by input %q",
						d.Param, prev, symFrom[d.Param], dims[i], name)
				}
				syms[d.Param], symFrom[d.Param] = dims[i], name
			}
		}
	}
	for _, name := range names {
		v := byName[name]
		v.Type.Shape = ShapeOf(shapes[name]...)
		v.Type.Ranked = true
	}
	return substituteSymbols(g, syms)
}

// BindBatch sets dim 0 of every ranked graph input whose dim 0 is
// symbolic or unknown to n, and replaces every other occurrence of those
// symbols in the graph. Callers re-run InferShapes afterwards.
func BindBatch(g *Graph, n int64) error {
	if n < 1 || n > MaxElements {
		return fmt.Errorf("bind batch: batch size %d, want in [1, 2^31]", n)
	}
	syms := map[string]int64{}
	for _, v := range g.Inputs {
		if v == nil || !v.Type.Ranked || len(v.Type.Shape) == 0 || v.Type.Shape[0].Known() {
			continue
		}
		if p := v.Type.Shape[0].Param; p != "" {
			syms[p] = n
		}
		v.Type.Shape = cloneShape(v.Type.Shape)
		v.Type.Shape[0] = D(n)
		if _, err := checkedKnownElements(v.Type.Shape); err != nil {
			return fmt.Errorf("bind batch: input %q: %v", v.Name, err)
		}
	}
	return substituteSymbols(g, syms)
}

// substituteSymbols replaces symbolic dims named in syms throughout g.
func substituteSymbols(g *Graph, syms map[string]int64) error {
	if len(syms) == 0 {
		return nil
	}
	seen := map[*Value]bool{}
	all := append(g.Values(), g.Outputs...)
	for _, v := range all {
		if v == nil || seen[v] || !v.Type.Ranked {
			continue
		}
		seen[v] = true
		changed := false
		for _, d := range v.Type.Shape {
			if _, ok := syms[d.Param]; ok && !d.Known() && d.Param != "" {
				changed = true
			}
		}
		if !changed {
			continue
		}
		s := cloneShape(v.Type.Shape)
		for i, d := range s {
			if size, ok := syms[d.Param]; ok && !d.Known() && d.Param != "" {
				s[i] = D(size)
			}
		}
		if _, err := checkedKnownElements(s); err != nil {
			return fmt.Errorf("binding %v: value %q: %v", syms, v.Name, err)
		}
		v.Type.Shape = s
	}
	return nil
}

// inputNames lists the graph inputs for messages.
func inputNames(g *Graph) string {
	var names []string
	for _, v := range g.Inputs {
		if v != nil {
			names = append(names, fmt.Sprintf("%q %s", v.Name, v.Type))
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
