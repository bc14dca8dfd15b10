package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// resizeTap is one weighted input index of a 1-D resampling.
type resizeTap struct {
	idx int
	w   float64
}

// resizeAxis is the 1-D resampling along one axis: for each output index,
// its taps, or extrapolate (tf_crop_and_resize outside the input).
type resizeAxis struct {
	taps        [][]resizeTap
	extrapolate []bool
}

// resizeParams are Resize's attributes.
type resizeParams struct {
	mode, coord, nearest string
	cubicA, extrap       float64
	excludeOutside       bool
	antialias            bool
}

// resizeKernel implements Resize (opset 18/19): nearest (all nearest
// modes), linear and cubic in any number of dims, every coordinate
// transformation mode, antialias, axes and keep_aspect_ratio_policy. It
// follows the ONNX reference implementation, applied separably axis by
// axis (the N-d interpolation is a tensor product of 1-D ones).
func resizeKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X", "roi", "scales", "sizes"); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType == ir.String || x.DType == ir.Bool || x.DType == ir.Complex64 || x.DType == ir.Complex128 {
		return nil, fmt.Errorf("input 0 (X) has dtype %s, want a numeric type", x.DType)
	}
	r := len(x.Shape)
	p := resizeParams{
		mode:           nd.AttrString("mode", "nearest"),
		coord:          nd.AttrString("coordinate_transformation_mode", "half_pixel"),
		nearest:        nd.AttrString("nearest_mode", "round_prefer_floor"),
		cubicA:         float64(nd.AttrFloat("cubic_coeff_a", -0.75)),
		extrap:         float64(nd.AttrFloat("extrapolation_value", 0)),
		excludeOutside: nd.AttrInt("exclude_outside", 0) != 0,
		antialias:      nd.AttrInt("antialias", 0) != 0,
	}
	switch p.mode {
	case "nearest", "linear", "cubic":
	default:
		return nil, fmt.Errorf("mode %q is not one of nearest, linear, cubic", p.mode)
	}
	switch p.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "half_pixel_symmetric":
	default:
		return nil, fmt.Errorf("coordinate_transformation_mode %q is not supported", p.coord)
	}
	switch p.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("nearest_mode %q is not one of round_prefer_floor, round_prefer_ceil, floor, ceil", p.nearest)
	}
	if p.mode == "nearest" {
		p.antialias = false
	}
	axes := make([]int, 0, r)
	if a := nd.AttrInts("axes", nil); a != nil {
		var err error
		if axes, err = normAxes(a, r); err != nil {
			return nil, fmt.Errorf("axes %v: %w", a, err)
		}
	} else {
		for i := 0; i < r; i++ {
			axes = append(axes, i)
		}
	}
	na := len(axes)
	nonEmpty := func(i int) *ir.Tensor {
		if t := nnOptInput(in, i); t != nil && t.Len() > 0 {
			return t
		}
		return nil
	}
	roiT, scalesT, sizesT := nonEmpty(1), nonEmpty(2), nonEmpty(3)
	if (scalesT == nil) == (sizesT == nil) {
		return nil, fmt.Errorf("exactly one of input 2 (scales) and input 3 (sizes) must be given")
	}
	// full-rank roi: starts then ends
	roi := make([]float64, 2*r)
	for i := 0; i < r; i++ {
		roi[r+i] = 1
	}
	// roi only matters for tf_crop_and_resize; other modes ignore it.
	if roiT != nil && p.coord == "tf_crop_and_resize" {
		v := toFloat64(roiT)
		if len(v) != 2*na {
			return nil, fmt.Errorf("input 1 (roi) has %d values, want %d (starts and ends of %d axes)", len(v), 2*na, na)
		}
		for i, a := range axes {
			roi[a], roi[r+a] = v[i], v[na+i]
		}
	}
	scale := make([]float64, r)
	outSize := append([]int64{}, x.Shape...)
	for i := range scale {
		scale[i] = 1
	}
	if scalesT != nil {
		if !scalesT.DType.IsFloat() {
			return nil, fmt.Errorf("input 2 (scales) has dtype %s, want f32", scalesT.DType)
		}
		v := toFloat64(scalesT)
		if len(v) != na {
			return nil, fmt.Errorf("input 2 (scales) has %d values, want %d", len(v), na)
		}
		for i, a := range axes {
			if !(v[i] > 0) {
				return nil, fmt.Errorf("input 2 (scales) = %v, want positive values", v)
			}
			// the reference keeps the scale in float32
			scale[a] = float64(float32(v[i]))
			outSize[a] = int64(scale[a] * float64(x.Shape[a]))
		}
	} else {
		if sizesT.DType != ir.Int64 {
			return nil, fmt.Errorf("input 3 (sizes) has dtype %s, want i64", sizesT.DType)
		}
		v := sizesT.Int64s()
		if len(v) != na {
			return nil, fmt.Errorf("input 3 (sizes) has %d values, want %d", len(v), na)
		}
		for i, a := range axes {
			if v[i] <= 0 {
				return nil, fmt.Errorf("input 3 (sizes) = %v, want positive values", v)
			}
			outSize[a] = v[i]
			scale[a] = float64(v[i]) / float64(x.Shape[a])
		}
		switch pol := nd.AttrString("keep_aspect_ratio_policy", "stretch"); pol {
		case "stretch":
		case "not_larger", "not_smaller":
			s := scale[axes[0]]
			for _, a := range axes[1:] {
				if pol == "not_larger" {
					s = math.Min(s, scale[a])
				} else {
					s = math.Max(s, scale[a])
				}
			}
			for _, a := range axes {
				scale[a] = s
				outSize[a] = int64(s*float64(x.Shape[a]) + 0.5)
			}
		default:
			return nil, fmt.Errorf("keep_aspect_ratio_policy %q is not one of stretch, not_larger, not_smaller", pol)
		}
	}
	if _, err := ir.CheckedNumElements(outSize); err != nil {
		return nil, err
	}
	for a := 0; a < r; a++ {
		if x.Shape[a] == 0 && outSize[a] > 0 {
			return nil, fmt.Errorf("cannot resize empty dim %d to %d", a, outSize[a])
		}
	}
	data := toFloat64(x)
	shape := append([]int64{}, x.Shape...)
	for a := 0; a < r; a++ {
		if outSize[a] == shape[a] && scale[a] == 1 && p.coord != "tf_crop_and_resize" {
			continue
		}
		ax := p.axis1D(int(x.Shape[a]), int(outSize[a]), scale[a], roi[a], roi[r+a])
		data = ax.apply(data, shape, a, p.extrap)
		shape[a] = outSize[a]
	}
	return []*ir.Tensor{fromFloat64(x.DType, shape, data)}, nil
}

// origCoord maps output index x to the input coordinate.
func (p *resizeParams) origCoord(x float64, inW int, outW int, scale, roiStart, roiEnd float64) float64 {
	in := float64(inW)
	lenResized := scale * in
	switch p.coord {
	case "align_corners":
		if lenResized == 1 {
			return 0
		}
		return x * (in - 1) / (lenResized - 1)
	case "asymmetric":
		return x / scale
	case "tf_crop_and_resize":
		var v float64
		if lenResized == 1 {
			v = (roiEnd - roiStart) * (in - 1) / 2
		} else {
			v = x * (roiEnd - roiStart) * (in - 1) / (lenResized - 1)
		}
		return v + roiStart*(in-1)
	case "pytorch_half_pixel":
		if lenResized == 1 {
			return -0.5
		}
		return (x+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float64(outW) / lenResized
		center := in / 2
		return center*(1-adj) + (x+0.5)/scale - 0.5
	}
	return (x+0.5)/scale - 0.5
}

// coeffs returns the interpolation weights for fractional position ratio
// in (0, 1]; weight i applies to input index floor'(x) + start + i.
func (p *resizeParams) coeffs(ratio, scale float64) (start int, c []float64) {
	switch p.mode {
	case "nearest":
		right := false
		if ratio == 1 {
			right = true
		} else {
			switch p.nearest {
			case "round_prefer_floor":
				right = ratio > 0.5
			case "round_prefer_ceil":
				right = ratio >= 0.5
			case "ceil":
				right = true
			}
		}
		if right {
			return 0, []float64{0, 1}
		}
		return 0, []float64{1, 0}
	case "linear":
		if !p.antialias {
			return 0, []float64{1 - ratio, ratio}
		}
		s := math.Min(scale, 1)
		st := int(math.Floor(-1/s) + 1)
		n := 2 - 2*st
		c = make([]float64, n)
		sum := 0.0
		for i := range c {
			a := (float64(st+i) - ratio) * s
			c[i] = math.Max(0, math.Min(1, 1-math.Abs(a)))
			sum += c[i]
		}
		for i := range c {
			c[i] /= sum
		}
		return st, c
	}
	A := p.cubicA
	if !p.antialias {
		return -1, []float64{
			((A*(ratio+1)-5*A)*(ratio+1)+8*A)*(ratio+1) - 4*A,
			((A+2)*ratio-(A+3))*ratio*ratio + 1,
			((A+2)*(1-ratio)-(A+3))*(1-ratio)*(1-ratio) + 1,
			((A*((1-ratio)+1)-5*A)*((1-ratio)+1)+8*A)*((1-ratio)+1) - 4*A,
		}
	}
	s := math.Min(scale, 1)
	st := int(math.Floor(-2/s) + 1)
	n := 2 - 2*st
	c = make([]float64, n)
	sum := 0.0
	for i := range c {
		x := math.Abs(s * (float64(st+i) - ratio))
		switch {
		case x <= 1:
			c[i] = (A+2)*x*x*x - (A+3)*x*x + 1
		case x < 2:
			c[i] = A*x*x*x - 5*A*x*x + 8*A*x - 4*A
		}
		sum += c[i]
	}
	for i := range c {
		c[i] /= sum
	}
	return st, c
}

// axis1D precomputes the taps of every output index along one axis.
func (p *resizeParams) axis1D(inW, outW int, scale, roiStart, roiEnd float64) *resizeAxis {
	ax := &resizeAxis{taps: make([][]resizeTap, outW), extrapolate: make([]bool, outW)}
	for o := 0; o < outW; o++ {
		xo := p.origCoord(float64(o), inW, outW, scale, roiStart, roiEnd)
		if p.coord == "tf_crop_and_resize" && (xo < 0 || xo > float64(inW-1)) {
			ax.extrapolate[o] = true
			continue
		}
		// ratio in (0, 1]: prefer the pixel left of xo
		x0 := math.Floor(xo)
		ratio := xo - x0
		if ratio == 0 {
			x0--
			ratio = 1
		}
		st, c := p.coeffs(ratio, scale)
		if p.excludeOutside {
			sum := 0.0
			for i := range c {
				idx := int(x0) + st + i
				if idx < 0 || idx >= inW {
					c[i] = 0
				}
				sum += c[i]
			}
			if sum != 0 {
				for i := range c {
					c[i] /= sum
				}
			}
		}
		taps := make([]resizeTap, 0, len(c))
		for i, w := range c {
			if w == 0 {
				continue
			}
			idx := min(max(int(x0)+st+i, 0), inW-1)
			taps = append(taps, resizeTap{idx, w})
		}
		ax.taps[o] = taps
	}
	return ax
}

// apply resamples data (of shape) along axis a.
func (ax *resizeAxis) apply(data []float64, shape []int64, a int, extrap float64) []float64 {
	outer := int(nnProd(shape[:a]))
	inner := int(nnProd(shape[a+1:]))
	inW, outW := int(shape[a]), len(ax.taps)
	out := make([]float64, outer*outW*inner)
	for o := 0; o < outer; o++ {
		src := data[o*inW*inner:]
		for j := 0; j < outW; j++ {
			dst := out[(o*outW+j)*inner : (o*outW+j+1)*inner]
			if ax.extrapolate[j] {
				for k := range dst {
					dst[k] = extrap
				}
				continue
			}
			for _, t := range ax.taps[j] {
				s := src[t.idx*inner : (t.idx+1)*inner]
				for k, v := range s {
					dst[k] += t.w * v
				}
			}
		}
	}
	return out
}
