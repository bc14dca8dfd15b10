// Package plan assigns every intermediate tensor of a graph an offset in one
// static arena, reusing memory between tensors whose lifetimes do not overlap.
//
// Graph inputs and outputs live in buffers the caller passes; constants live
// in the artifact's read-only data. Everything else — node outputs that are
// not graph outputs, and per-node kernel scratch — gets an arena slice. The
// allocator is TFLite's "greedy by size": buffers are placed largest first,
// each at the lowest 64-byte aligned offset that does not collide with an
// already placed buffer whose lifetime overlaps.
package plan

import (
	"fmt"
	"sort"

	"github.com/effc/effc/ir"
)

// Align is the alignment of every arena buffer, in bytes: a cache line, and
// enough for any vector load the backend emits (AVX-512 is 64 bytes).
const Align = 64

// Plan is the arena layout of one graph.
type Plan struct {
	ArenaSize        int64               // bytes the caller must provide
	Offsets          map[*ir.Value]int64 // arena offset of each intermediate value
	Scratch          map[*ir.Node]int64  // arena offset of each node's scratch buffer
	SumIntermediates int64               // bytes all intermediates would take without reuse
}

// buffer is one allocation request: bytes live from node index first to last.
type buffer struct {
	value       *ir.Value
	node        *ir.Node // for scratch
	size        int64
	first, last int
	offset      int64
}

// Make plans g, whose values must all have static shapes. scratch, when not
// nil, says how many bytes of temporary memory a node's kernel needs while it
// runs.
func Make(g *ir.Graph, scratch func(*ir.Node) int64) (*Plan, error) {
	index := map[*ir.Node]int{}
	for i, n := range g.Nodes {
		index[n] = i
	}
	lastUse := map[*ir.Value]int{}
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				lastUse[in] = i
			}
		}
	}
	var bufs []*buffer
	p := &Plan{Offsets: map[*ir.Value]int64{}, Scratch: map[*ir.Node]int64{}}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == nil || g.IsOutput(o) {
				continue
			}
			size, err := ByteSize(o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			last, used := lastUse[o]
			if !used {
				last = i // an unused output still needs somewhere to go
			}
			bufs = append(bufs, &buffer{value: o, size: size, first: i, last: last})
			p.SumIntermediates += size
		}
		if scratch != nil {
			if s := scratch(n); s > 0 {
				bufs = append(bufs, &buffer{node: n, size: s, first: i, last: i})
			}
		}
	}
	place(bufs)
	for _, b := range bufs {
		if b.value != nil {
			p.Offsets[b.value] = b.offset
		} else {
			p.Scratch[b.node] = b.offset
		}
		p.ArenaSize = max(p.ArenaSize, b.offset+b.size)
	}
	p.ArenaSize = roundUp(p.ArenaSize)
	return p, nil
}

// place assigns offsets, largest buffers first.
func place(bufs []*buffer) {
	order := append([]*buffer{}, bufs...)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].size != order[j].size {
			return order[i].size > order[j].size
		}
		return order[i].first < order[j].first
	})
	var placed []*buffer
	for _, b := range order {
		// Collect placed buffers alive at the same time, by offset.
		var live []*buffer
		for _, q := range placed {
			if q.first <= b.last && b.first <= q.last {
				live = append(live, q)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].offset < live[j].offset })
		off := int64(0)
		for _, q := range live {
			if off+b.size <= q.offset {
				break
			}
			off = max(off, roundUp(q.offset+q.size))
		}
		b.offset = off
		placed = append(placed, b)
	}
}

// ByteSize is the storage size of a value with a static shape.
func ByteSize(v *ir.Value) (int64, error) {
	t := v.Type
	if !t.Ranked || !t.Shape.Static() {
		return 0, fmt.Errorf("value %q has type %s, which is not static; bind symbolic dims with --shape NAME=D0,D1,... or --batch N", v.Name, t)
	}
	if t.DType.Size() == 0 {
		return 0, fmt.Errorf("value %q has dtype %s, which the compiler cannot store", v.Name, t.DType)
	}
	n, err := ir.CheckedNumElements(t.Shape.Sizes())
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", v.Name, err)
	}
	return n * int64(t.DType.Size()), nil
}

func roundUp(n int64) int64 { return (n + Align - 1) / Align * Align }
