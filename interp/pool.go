package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// poolInput validates X [N, C, spatial...] for a pooling op: float, or (for
// MaxPool) 8-bit integers.
func poolInput(x *ir.Tensor, allowInt8 bool) error {
	if len(x.Shape) < 3 {
		return fmt.Errorf("input 0 (X) has shape %v, want rank >= 3 (N, C, spatial...)", x.Shape)
	}
	if x.DType.IsFloat() || (allowInt8 && nnIsQ8(x.DType)) {
		return nil
	}
	return fmt.Errorf("input 0 (X) has dtype %s, want a float type", x.DType)
}

// poolGeometry reads kernel_shape (required) and the window attributes.
func poolGeometry(nd *ir.Node, x *ir.Tensor) (*spatialGeom, error) {
	ks := nd.AttrInts("kernel_shape", nil)
	if ks == nil {
		return nil, fmt.Errorf("attribute kernel_shape is required")
	}
	g, err := windowGeometry(nd, x.Shape[2:], ks, nd.AttrInt("ceil_mode", 0) != 0)
	if err != nil {
		return nil, err
	}
	// As onnxruntime does: a window must always overlap the input.
	for d := range ks {
		if g.padBegin[d] >= ks[d] || g.padEnd[d] >= ks[d] {
			return nil, fmt.Errorf("pads %v must be smaller than kernel_shape %v", append(append([]int64{}, g.padBegin...), g.padEnd...), ks)
		}
	}
	return g, nil
}

// poolWindow lists, for one output position, the row-major offsets inside
// an input plane of the window elements that lie inside the input, and the
// number of window elements inside the padded input (count_include_pad).
type poolWindow struct {
	offs   []int
	padded int
}

// poolWindows enumerates the windows of every output position, row-major.
func poolWindows(g *spatialGeom) []poolWindow {
	r := len(g.in)
	// per axis and output index: valid input positions and padded count
	valid := make([][][]int, r)
	padded := make([][]int, r)
	for d := 0; d < r; d++ {
		valid[d] = make([][]int, g.out[d])
		padded[d] = make([]int, g.out[d])
		for o := int64(0); o < g.out[d]; o++ {
			for k := int64(0); k < g.kernel[d]; k++ {
				p := o*g.strides[d] - g.padBegin[d] + k*g.dils[d]
				if p >= -g.padBegin[d] && p < g.in[d]+g.padEnd[d] {
					padded[d][o]++
				}
				if p >= 0 && p < g.in[d] {
					valid[d][o] = append(valid[d][o], int(p))
				}
			}
		}
	}
	inStr := strides(g.in)
	outP := int(nnProd(g.out))
	wins := make([]poolWindow, outP)
	oidx := make([]int64, r)
	for o := 0; o < outP; o++ {
		w := poolWindow{padded: 1, offs: []int{0}}
		for d := 0; d < r; d++ {
			w.padded *= padded[d][oidx[d]]
			vs := valid[d][oidx[d]]
			next := make([]int, 0, len(w.offs)*len(vs))
			for _, base := range w.offs {
				for _, v := range vs {
					next = append(next, base+v*int(inStr[d]))
				}
			}
			w.offs = next
		}
		wins[o] = w
		for d := r - 1; d >= 0; d-- {
			oidx[d]++
			if oidx[d] < g.out[d] {
				break
			}
			oidx[d] = 0
		}
	}
	return wins
}

// maxPoolKernel implements MaxPool with optional Indices output (flat
// indices into X; storage_order 1 numbers spatial positions column-major).
func maxPoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := poolInput(x, true); err != nil {
		return nil, err
	}
	g, err := poolGeometry(nd, x)
	if err != nil {
		return nil, err
	}
	colMajor := nd.AttrInt("storage_order", 0) == 1
	wins := poolWindows(g)
	xf := toFloat64(x)
	inP := int(nnProd(g.in))
	outP := len(wins)
	planes := int(x.Shape[0] * x.Shape[1])
	out := make([]float64, planes*outP)
	idx := make([]int64, planes*outP)
	inStr := strides(g.in)
	for pl := 0; pl < planes; pl++ {
		xp := xf[pl*inP : (pl+1)*inP]
		for o, w := range wins {
			best, bi := math.Inf(-1), -1
			for _, off := range w.offs {
				if v := xp[off]; v > best || bi < 0 {
					best, bi = v, off
				}
			}
			out[pl*outP+o] = best
			if bi >= 0 && colMajor {
				// re-number the spatial offset column-major
				cm, mul, rem := 0, 1, bi
				coords := make([]int, len(g.in))
				for d := 0; d < len(g.in); d++ {
					coords[d] = rem / int(inStr[d])
					rem %= int(inStr[d])
				}
				for d := 0; d < len(g.in); d++ {
					cm += coords[d] * mul
					mul *= int(g.in[d])
				}
				bi = cm
			}
			idx[pl*outP+o] = int64(pl*inP + bi)
		}
	}
	shape := append([]int64{x.Shape[0], x.Shape[1]}, g.out...)
	res := []*ir.Tensor{fromFloat64(x.DType, shape, out)}
	if len(nd.Outputs) > 1 && nd.Outputs[1] != nil {
		res = append(res, &ir.Tensor{DType: ir.Int64, Shape: shape, Data: idx})
	}
	return res, nil
}

// averagePoolKernel implements AveragePool; count_include_pad counts the
// padded positions (but not the ceil_mode overhang) in the divisor.
func averagePoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	include := nd.AttrInt("count_include_pad", 0) != 0
	return windowPool(nd, in, func(vals []float64, padded int) float64 {
		s := 0.0
		for _, v := range vals {
			s += v
		}
		if include {
			return s / float64(padded)
		}
		if len(vals) == 0 {
			return math.NaN()
		}
		return s / float64(len(vals))
	})
}

// lpPoolKernel implements LpPool: (Σ|x|^p)^(1/p) over each window.
func lpPoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	p := float64(nd.AttrInt("p", 2))
	if p <= 0 {
		return nil, fmt.Errorf("p = %v, want > 0", p)
	}
	return windowPool(nd, in, func(vals []float64, _ int) float64 { return lpNorm(vals, p) })
}

// lpNorm is (Σ|v|^p)^(1/p).
func lpNorm(vals []float64, p float64) float64 {
	s := 0.0
	for _, v := range vals {
		if p == 2 {
			s += v * v
		} else {
			s += math.Pow(math.Abs(v), p)
		}
	}
	if p == 2 {
		return math.Sqrt(s)
	}
	return math.Pow(s, 1/p)
}

// windowPool runs a float pooling reduction over every window.
func windowPool(nd *ir.Node, in []*ir.Tensor, reduce func(vals []float64, padded int) float64) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := poolInput(x, false); err != nil {
		return nil, err
	}
	g, err := poolGeometry(nd, x)
	if err != nil {
		return nil, err
	}
	wins := poolWindows(g)
	xf := toFloat64(x)
	inP := int(nnProd(g.in))
	outP := len(wins)
	planes := int(x.Shape[0] * x.Shape[1])
	out := make([]float64, planes*outP)
	var buf []float64
	for pl := 0; pl < planes; pl++ {
		xp := xf[pl*inP : (pl+1)*inP]
		for o, w := range wins {
			buf = buf[:0]
			for _, off := range w.offs {
				buf = append(buf, xp[off])
			}
			out[pl*outP+o] = reduce(buf, w.padded)
		}
	}
	shape := append([]int64{x.Shape[0], x.Shape[1]}, g.out...)
	return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
}

// globalPool reduces every [N, C] plane over all spatial dims, keeping them
// as size-1 dims.
func globalPool(in []*ir.Tensor, reduce func(plane []float64) float64) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := poolInput(x, false); err != nil {
		return nil, err
	}
	xf := toFloat64(x)
	planes := int(x.Shape[0] * x.Shape[1])
	inP := int(nnProd(x.Shape[2:]))
	out := make([]float64, planes)
	for pl := range out {
		out[pl] = reduce(xf[pl*inP : (pl+1)*inP])
	}
	shape := append([]int64{}, x.Shape...)
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	return []*ir.Tensor{fromFloat64(x.DType, shape, out)}, nil
}

// globalAveragePoolKernel implements GlobalAveragePool.
func globalAveragePoolKernel(_ *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	return globalPool(in, func(p []float64) float64 {
		s := 0.0
		for _, v := range p {
			s += v
		}
		return s / float64(len(p))
	})
}

// globalMaxPoolKernel implements GlobalMaxPool.
func globalMaxPoolKernel(_ *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	return globalPool(in, func(p []float64) float64 {
		m := math.Inf(-1)
		for _, v := range p {
			m = math.Max(m, v)
		}
		return m
	})
}

// globalLpPoolKernel implements GlobalLpPool.
func globalLpPoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	p := float64(nd.AttrInt("p", 2))
	if p <= 0 {
		return nil, fmt.Errorf("p = %v, want > 0", p)
	}
	return globalPool(in, func(v []float64) float64 { return lpNorm(v, p) })
}

// maxUnpoolKernel implements MaxUnpool: scatter X into a zero tensor at
// the flat positions given by I (MaxPool's Indices).
func maxUnpoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "I", "output_shape"); err != nil {
		return nil, err
	}
	x, ind := in[0], in[1]
	if err := poolInput(x, false); err != nil {
		return nil, err
	}
	if ind.DType != ir.Int64 || !equalShape(ind.Shape, x.Shape) {
		return nil, fmt.Errorf("input 1 (I) is %s%v, want i64%v like X", ind.DType, ind.Shape, x.Shape)
	}
	ks := nd.AttrInts("kernel_shape", nil)
	r := len(x.Shape) - 2
	if len(ks) != r {
		return nil, fmt.Errorf("kernel_shape %v, want %d values", ks, r)
	}
	// Indices address the inferred shape (the MaxPool input); an explicit
	// output_shape pads that result with zeros at the end of each dim.
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	st := nd.AttrInts("strides", ones)
	pads := nd.AttrInts("pads", make([]int64, 2*r))
	if len(st) != r || len(pads) != 2*r {
		return nil, fmt.Errorf("strides %v and pads %v, want %d and %d values", st, pads, r, 2*r)
	}
	inferred := []int64{x.Shape[0], x.Shape[1]}
	for d := 0; d < r; d++ {
		inferred = append(inferred, (x.Shape[d+2]-1)*st[d]+ks[d]-pads[d]-pads[d+r])
	}
	total, err := ir.CheckedNumElements(inferred)
	if err != nil {
		return nil, err
	}
	xf := toFloat64(x)
	out := make([]float64, total)
	for i, j := range ind.Data.([]int64) {
		if j < 0 || j >= total {
			return nil, fmt.Errorf("input 1 (I) has index %d at %d, outside the unpooled %v (%d elements)", j, i, inferred, total)
		}
		out[j] = xf[i]
	}
	os := nnOptInput(in, 2)
	if os == nil {
		return []*ir.Tensor{fromFloat64(x.DType, inferred, out)}, nil
	}
	shape := os.Int64s()
	if len(shape) != len(x.Shape) {
		return nil, fmt.Errorf("input 2 (output_shape) is %v, want %d values", shape, len(x.Shape))
	}
	for d := range shape {
		if shape[d] < inferred[d] {
			return nil, fmt.Errorf("input 2 (output_shape) is %v, smaller than the unpooled shape %v", shape, inferred)
		}
	}
	if _, err := ir.CheckedNumElements(shape); err != nil {
		return nil, err
	}
	return []*ir.Tensor{fromFloat64(x.DType, shape, padEnd(out, inferred, shape))}, nil
}

// padEnd embeds data of shape from at the origin of a zero tensor of shape
// to (to >= from in every dim).
func padEnd(data []float64, from, to []int64) []float64 {
	out := make([]float64, nnProd(to))
	r := len(from)
	if len(data) == 0 {
		return out
	}
	last := int(from[r-1])
	ts := strides(to)
	idx := make([]int64, r)
	for src := 0; src < len(data); src += last {
		dst := 0
		for d := 0; d < r-1; d++ {
			dst += int(idx[d] * ts[d])
		}
		copy(out[dst:dst+last], data[src:src+last])
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < from[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}
