package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// gatherSlice returns d[idx[i]] for every i.
func gatherSlice[E any](d []E, idx []int) []E {
	out := make([]E, len(idx))
	for i, j := range idx {
		out[i] = d[j]
	}
	return out
}

// nnGather builds a tensor of shape whose element i is t's element idx[i];
// it moves data of any dtype without conversion.
func nnGather(t *ir.Tensor, shape []int64, idx []int) (*ir.Tensor, error) {
	out := &ir.Tensor{DType: t.DType, Shape: append([]int64{}, shape...)}
	switch d := t.Data.(type) {
	case []float32:
		out.Data = gatherSlice(d, idx)
	case []float64:
		out.Data = gatherSlice(d, idx)
	case []int8:
		out.Data = gatherSlice(d, idx)
	case []uint8:
		out.Data = gatherSlice(d, idx)
	case []int16:
		out.Data = gatherSlice(d, idx)
	case []uint16:
		out.Data = gatherSlice(d, idx)
	case []int32:
		out.Data = gatherSlice(d, idx)
	case []uint32:
		out.Data = gatherSlice(d, idx)
	case []int64:
		out.Data = gatherSlice(d, idx)
	case []uint64:
		out.Data = gatherSlice(d, idx)
	case []bool:
		out.Data = gatherSlice(d, idx)
	case []string:
		out.Data = gatherSlice(d, idx)
	case []complex64:
		out.Data = gatherSlice(d, idx)
	case []complex128:
		out.Data = gatherSlice(d, idx)
	default:
		return nil, fmt.Errorf("tensor of dtype %s has no data", t.DType)
	}
	return out, nil
}

// blockInput validates a 4-D input and the blocksize attribute.
func blockInput(nd *ir.Node, in []*ir.Tensor) (*ir.Tensor, int, error) {
	if err := nnNeedInputs(in, 1, "input"); err != nil {
		return nil, 0, err
	}
	x := in[0]
	if len(x.Shape) != 4 {
		return nil, 0, fmt.Errorf("input 0 (input) has shape %v, want rank 4 [N, C, H, W]", x.Shape)
	}
	b := nd.AttrInt("blocksize", 0)
	if b <= 0 {
		return nil, 0, fmt.Errorf("attribute blocksize is required and must be positive, got %d", b)
	}
	return x, int(b), nil
}

// depthToSpaceKernel implements DepthToSpace: [N, C, H, W] ->
// [N, C/b², H*b, W*b]; mode DCR takes the block offset from the high
// channel bits, CRD from the low ones.
func depthToSpaceKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, b, err := blockInput(nd, in)
	if err != nil {
		return nil, err
	}
	mode := nd.AttrString("mode", "DCR")
	if mode != "DCR" && mode != "CRD" {
		return nil, fmt.Errorf("mode %q is not DCR or CRD", mode)
	}
	n, c, h, w := int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	if c%(b*b) != 0 {
		return nil, fmt.Errorf("input 0 (input) has %d channels, not divisible by blocksize² = %d", c, b*b)
	}
	oc := c / (b * b)
	idx := make([]int, 0, x.Len())
	for in := 0; in < n; in++ {
		for co := 0; co < oc; co++ {
			for y := 0; y < h*b; y++ {
				for xx := 0; xx < w*b; xx++ {
					i, j := y%b, xx%b
					ci := (i*b+j)*oc + co
					if mode == "CRD" {
						ci = co*b*b + i*b + j
					}
					idx = append(idx, ((in*c+ci)*h+y/b)*w+xx/b)
				}
			}
		}
	}
	out, err := nnGather(x, []int64{int64(n), int64(oc), int64(h * b), int64(w * b)}, idx)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// spaceToDepthKernel implements SpaceToDepth, the inverse of DepthToSpace
// in DCR mode: [N, C, H, W] -> [N, C*b², H/b, W/b].
func spaceToDepthKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, b, err := blockInput(nd, in)
	if err != nil {
		return nil, err
	}
	n, c, h, w := int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	if h%b != 0 || w%b != 0 {
		return nil, fmt.Errorf("input 0 (input) has spatial dims %dx%d, not divisible by blocksize %d", h, w, b)
	}
	oh, ow := h/b, w/b
	idx := make([]int, 0, x.Len())
	for in := 0; in < n; in++ {
		for co := 0; co < c*b*b; co++ {
			blk, ci := co/c, co%c
			i, j := blk/b, blk%b
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					idx = append(idx, ((in*c+ci)*h+y*b+i)*w+xx*b+j)
				}
			}
		}
	}
	out, err := nnGather(x, []int64{int64(n), int64(c * b * b), int64(oh), int64(ow)}, idx)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// col2ImKernel implements Col2Im: input [N, C*∏block, L] is scattered and
// summed into [N, C, image_shape...], the inverse of im2col.
func col2ImKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 3, "input", "image_shape", "block_shape"); err != nil {
		return nil, err
	}
	x := in[0]
	if !x.DType.IsFloat() && !x.DType.IsInt() {
		return nil, fmt.Errorf("input 0 (input) has dtype %s, want a numeric type", x.DType)
	}
	if len(x.Shape) != 3 {
		return nil, fmt.Errorf("input 0 (input) has shape %v, want rank 3 [N, C*prod(block_shape), L]", x.Shape)
	}
	img, blk := in[1].Int64s(), in[2].Int64s()
	if len(img) != len(blk) || len(img) == 0 {
		return nil, fmt.Errorf("input 1 (image_shape) %v and input 2 (block_shape) %v must have the same non-zero length", img, blk)
	}
	for i := range img {
		if img[i] <= 0 {
			return nil, fmt.Errorf("input 1 (image_shape) = %v, want positive dims", img)
		}
	}
	g, err := windowGeometry(nd, img, blk, false)
	if err != nil {
		return nil, err
	}
	K := nnProd(blk)
	if x.Shape[1]%K != 0 {
		return nil, fmt.Errorf("input 0 (input) dim 1 is %d, not divisible by prod(block_shape) = %d", x.Shape[1], K)
	}
	L := nnProd(g.out)
	if x.Shape[2] != L {
		return nil, fmt.Errorf("input 0 (input) has %d blocks, want %d for image %v and block %v", x.Shape[2], L, img, blk)
	}
	c := x.Shape[1] / K
	r := len(img)
	tabs := make([][]int, r)
	for d := range tabs {
		tabs[d] = g.srcTable(d)
	}
	imgP := int(nnProd(img))
	imStr := strides(img)
	xf := toFloat64(x)
	out := make([]float64, int(x.Shape[0]*c)*imgP)
	kidx := make([]int64, r)
	lidx := make([]int64, r)
	for pl := 0; pl < int(x.Shape[0]*c); pl++ {
		dst := out[pl*imgP : (pl+1)*imgP]
		clear(kidx)
		for k := 0; k < int(K); k++ {
			row := xf[(pl*int(K)+k)*int(L):]
			clear(lidx)
			for l := 0; l < int(L); l++ {
				off, ok := 0, true
				for d := 0; d < r; d++ {
					v := tabs[d][int(kidx[d]*g.out[d]+lidx[d])]
					if v < 0 {
						ok = false
						break
					}
					off += v * int(imStr[d])
				}
				if ok {
					dst[off] += row[l]
				}
				for d := r - 1; d >= 0; d-- {
					lidx[d]++
					if lidx[d] < g.out[d] {
						break
					}
					lidx[d] = 0
				}
			}
			for d := r - 1; d >= 0; d-- {
				kidx[d]++
				if kidx[d] < g.kernel[d] {
					break
				}
				kidx[d] = 0
			}
		}
	}
	shape := append([]int64{x.Shape[0], c}, img...)
	return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
}

// gsTap is one (index, weight) sample along one grid-sample axis; idx -1
// reads zero (padding_mode zeros).
type gsTap struct {
	idx int
	w   float64
}

// gridSampleKernel implements GridSample for any number of spatial dims
// (opset 16 names bilinear/bicubic and opset 20 names linear/cubic), with
// padding modes zeros, border and reflection, following the ONNX reference.
func gridSampleKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "grid"); err != nil {
		return nil, err
	}
	x, grid := in[0], in[1]
	if !x.DType.IsFloat() && !x.DType.IsInt() {
		return nil, fmt.Errorf("input 0 (X) has dtype %s, want a numeric type", x.DType)
	}
	if err := nnWantFloat(grid, "input 1 (grid)"); err != nil {
		return nil, err
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank >= 3", x.Shape)
	}
	r := len(x.Shape) - 2
	if len(grid.Shape) != r+2 || grid.Shape[0] != x.Shape[0] || grid.Shape[r+1] != int64(r) {
		return nil, fmt.Errorf("input 1 (grid) has shape %v, want [%d, out..., %d] for X %v", grid.Shape, x.Shape[0], r, x.Shape)
	}
	mode := nd.AttrString("mode", "linear")
	switch mode {
	case "bilinear":
		mode = "linear"
	case "bicubic":
		mode = "cubic"
	case "linear", "cubic", "nearest":
	default:
		return nil, fmt.Errorf("mode %q is not one of linear, nearest, cubic", mode)
	}
	pad := nd.AttrString("padding_mode", "zeros")
	if pad != "zeros" && pad != "border" && pad != "reflection" {
		return nil, fmt.Errorf("padding_mode %q is not one of zeros, border, reflection", pad)
	}
	align := nd.AttrInt("align_corners", 0) != 0
	dims := x.Shape[2:]
	outDims := grid.Shape[1 : r+1]
	outP := int(nnProd(outDims))
	inP := int(nnProd(dims))
	inStr := strides(dims)
	xf := toFloat64(x)
	gf := toFloat64(grid)
	n, c := int(x.Shape[0]), int(x.Shape[1])
	out := make([]float64, n*c*outP)
	lo := make([]float64, r)
	hi := make([]float64, r)
	for i, d := range dims {
		lo[i], hi[i] = -0.5, float64(d)-0.5
		if align {
			lo[i], hi[i] = 0, float64(d-1)
		}
	}
	lookup := func(i int, d int) int {
		size := int(dims[d])
		switch pad {
		case "border":
			return min(max(i, 0), size-1)
		case "reflection":
			j := int(gsReflect(float64(i), lo[d], hi[d]))
			return min(max(j, 0), size-1)
		}
		if i < 0 || i >= size {
			return -1
		}
		return i
	}
	taps := make([][]gsTap, r)
	for b := 0; b < n; b++ {
		for o := 0; o < outP; o++ {
			g := gf[(b*outP+o)*r : (b*outP+o+1)*r]
			for d := 0; d < r; d++ {
				nv := g[r-1-d] // grid coordinates are in reverse dim order
				size := float64(dims[d])
				var v float64
				if align {
					v = (nv + 1) / 2 * (size - 1)
				} else {
					v = ((nv+1)*size - 1) / 2
				}
				if mode == "nearest" {
					if r == 3 {
						v = math.Round(v)
					} else {
						v = math.RoundToEven(v)
					}
				}
				if v < lo[d] || v > hi[d] {
					if pad == "border" {
						v = math.Min(math.Max(v, 0), size-1)
					} else if pad == "reflection" {
						v = gsReflect(v, lo[d], hi[d])
					}
				}
				t := taps[d][:0]
				switch mode {
				case "nearest":
					t = append(t, gsTap{lookup(int(v), d), 1})
				case "linear":
					x0 := math.Floor(v)
					f := v - x0
					t = append(t, gsTap{lookup(int(x0), d), 1 - f}, gsTap{lookup(int(x0)+1, d), f})
				default:
					x0 := math.Floor(v)
					f := v - x0
					const A = -0.75
					cf := [4]float64{
						((A*(f+1)-5*A)*(f+1)+8*A)*(f+1) - 4*A,
						((A+2)*f-(A+3))*f*f + 1,
						((A+2)*(1-f)-(A+3))*(1-f)*(1-f) + 1,
						((A*(2-f)-5*A)*(2-f)+8*A)*(2-f) - 4*A,
					}
					for k := 0; k < 4; k++ {
						t = append(t, gsTap{lookup(int(x0)-1+k, d), cf[k]})
					}
				}
				taps[d] = t
			}
			for ch := 0; ch < c; ch++ {
				xp := xf[(b*c+ch)*inP:]
				out[(b*c+ch)*outP+o] = gsSum(xp, taps, inStr, 0, 0, 1)
			}
		}
	}
	shape := append([]int64{x.Shape[0], x.Shape[1]}, outDims...)
	return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
}

// gsSum is the tensor-product interpolation Σ ∏w · x over the taps of
// dims d.. (off is the offset of the dims already fixed, w their weight).
func gsSum(x []float64, taps [][]gsTap, str []int64, d, off int, w float64) float64 {
	if d == len(taps) {
		return w * x[off]
	}
	s := 0.0
	for _, t := range taps[d] {
		if t.idx < 0 || t.w == 0 {
			continue
		}
		s += gsSum(x, taps, str, d+1, off+t.idx*int(str[d]), w*t.w)
	}
	return s
}

// gsReflect reflects x at the borders lo and hi until it lies within them.
func gsReflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	if x < lo {
		dx := lo - x
		n := int(dx / rng)
		r := dx - float64(n)*rng
		if n%2 == 0 {
			return lo + r
		}
		return hi - r
	}
	if x > hi {
		dx := x - hi
		n := int(dx / rng)
		r := dx - float64(n)*rng
		if n%2 == 0 {
			return hi - r
		}
		return lo + r
	}
	return x
}
