package ir

import (
	"fmt"
	"math"
)

// Shape functions for reductions, arg-reductions and Resize.

// inferReduce: axes from the optional constant input; none (or empty)
// reduces every axis unless noop_with_empty_axes.
func inferReduce(n *Node) ([]Type, error) {
	x := in0(n)
	keep := n.AttrInt("keepdims", 1) != 0
	var axes []int64
	if n.Input(1) != nil {
		v, ok := constInts(n, 1)
		if !ok {
			if !x.Ranked {
				return one(unranked(x.DType))
			}
			if keep {
				return one(ranked(x.DType, unknownDims(len(x.Shape))))
			}
			if l := inputLen(n, 1); l >= 0 && l <= int64(len(x.Shape)) {
				return one(ranked(x.DType, unknownDims(len(x.Shape)-int(l))))
			}
			return one(unranked(x.DType))
		}
		axes = v
	}
	if len(axes) == 0 && n.AttrInt("noop_with_empty_axes", 0) != 0 {
		return inferSameAs0(n)
	}
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	reduce := make([]bool, r)
	if len(axes) == 0 {
		for i := range reduce {
			reduce[i] = true
		}
	} else {
		norm, err := normAxes(n, "axes", axes, r)
		if err != nil {
			return nil, err
		}
		for _, a := range norm {
			reduce[a] = true
		}
	}
	return one(ranked(x.DType, reducedShape(x.Shape, reduce, keep)))
}

// reducedShape drops (or sets to 1) the reduced dims.
func reducedShape(s Shape, reduce []bool, keep bool) Shape {
	out := Shape{}
	for i, d := range s {
		switch {
		case !reduce[i]:
			out = append(out, d)
		case keep:
			out = append(out, D(1))
		}
	}
	return out
}

// inferArg: ArgMax/ArgMin reduce one axis to i64 indices.
func inferArg(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(Int64))
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	reduce := make([]bool, len(x.Shape))
	reduce[axis] = true
	return one(ranked(Int64, reducedShape(x.Shape, reduce, n.AttrInt("keepdims", 1) != 0)))
}

// inferResize: sizes when constant, else floor(in*scale) for constant
// scales; axes (opset 18) restricts both to a subset of the dims.
func inferResize(n *Node) ([]Type, error) {
	x := in0(n)
	if !x.Ranked {
		return one(unranked(x.DType))
	}
	r := len(x.Shape)
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	if a := n.AttrInts("axes", nil); a != nil {
		axes = a
	}
	norm, err := normAxes(n, "axes", axes, r)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	present := func(i int) bool {
		v := n.Input(i)
		if v == nil {
			return false
		}
		// An empty tensor stands for an omitted input in older exports.
		if v.Type.Ranked && len(v.Type.Shape) == 1 && v.Type.Shape[0].Known() && v.Type.Shape[0].Size == 0 {
			return false
		}
		if v.Const != nil && v.Const.DataLen() == 0 {
			return false
		}
		return true
	}
	hasScales, hasSizes := present(2), present(3)
	if hasScales && hasSizes {
		return nil, errf(n, "has both scales and sizes, want exactly one")
	}
	unknownAxes := func() ([]Type, error) {
		for _, a := range norm {
			out[a] = Unknown()
		}
		return one(ranked(x.DType, out))
	}
	switch {
	case hasSizes:
		sizes, ok := constInts(n, 3)
		if !ok {
			return unknownAxes()
		}
		if len(sizes) != len(norm) {
			return nil, errf(n, "sizes has %d entries, want %d (one per axis)", len(sizes), len(norm))
		}
		policy := n.AttrString("keep_aspect_ratio_policy", "stretch")
		switch policy {
		case "stretch":
			for i, a := range norm {
				if out[a], err = dimFromInt(n, fmt.Sprintf("sizes[%d]", i), sizes[i]); err != nil {
					return nil, err
				}
			}
		case "not_larger", "not_smaller":
			scale := math.Inf(1)
			if policy == "not_smaller" {
				scale = math.Inf(-1)
			}
			for i, a := range norm {
				d := x.Shape[a]
				if !d.Known() || d.Size == 0 {
					return unknownAxes()
				}
				s := float64(sizes[i]) / float64(d.Size)
				if policy == "not_larger" {
					scale = min(scale, s)
				} else {
					scale = max(scale, s)
				}
			}
			for _, a := range norm {
				v := math.Round(scale * float64(x.Shape[a].Size))
				if out[a], err = dimFromInt(n, fmt.Sprintf("output axis %d", a), int64(max(min(v, MaxElements+1), -1))); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errf(n, "attribute keep_aspect_ratio_policy is %q, want stretch, not_larger or not_smaller", policy)
		}
	case hasScales:
		scales, ok := constFloats(n, 2)
		if !ok {
			return unknownAxes()
		}
		if len(scales) != len(norm) {
			return nil, errf(n, "scales has %d entries, want %d (one per axis)", len(scales), len(norm))
		}
		for i, a := range norm {
			if !(scales[i] > 0) || math.IsInf(scales[i], 0) {
				return nil, errf(n, "scales[%d] is %g, want > 0", i, scales[i])
			}
			d := x.Shape[a]
			if !d.Known() {
				if scales[i] != 1 {
					out[a] = Unknown()
				}
				continue
			}
			v := math.Floor(float64(float32(d.Size) * float32(scales[i])))
			if v > MaxElements {
				return nil, errf(n, "output axis %d would be %g (input %d x scale %g), more than 2^31", a, v, d.Size, scales[i])
			}
			out[a] = D(int64(v))
		}
	default:
		return nil, errf(n, "has neither scales nor sizes, want exactly one")
	}
	return one(ranked(x.DType, out))
}
