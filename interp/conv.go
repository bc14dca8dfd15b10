package interp

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/effc/effc/ir"
)

// nnFloat is the element type of the BLAS-backed convolution cores.
type nnFloat interface{ float32 | float64 }

// nnGemm computes c = op(a) × b (beta 0) with row-major operands: op(a) is
// m×k (a stored k×m when transA), b is k×n, c is m×n. float32 goes through
// blas32, float64 through blas64.
func nnGemm[T nnFloat](transA bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	ta := blas.NoTrans
	ar, ac := m, k
	if transA {
		ta, ar, ac = blas.Trans, k, m
	}
	switch av := any(a).(type) {
	case []float32:
		blas32.Gemm(ta, blas.NoTrans, 1,
			blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: av},
			blas32.General{Rows: k, Cols: n, Stride: ldb, Data: any(b).([]float32)},
			0, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float32)})
	case []float64:
		blas64.Gemm(ta, blas.NoTrans, 1,
			blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: av},
			blas64.General{Rows: k, Cols: n, Stride: ldb, Data: any(b).([]float64)},
			0, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float64)})
	}
}

// convParams is a validated convolution: shapes, group and geometry.
type convParams struct {
	n, c, m, group int64
	geom           *spatialGeom
}

// convSetup validates X [N,C,D...] and W [M,C/group,k...] and computes the
// geometry of Conv, ConvInteger and QLinearConv.
func convSetup(nd *ir.Node, xs, ws []int64, xName, wName string) (*convParams, error) {
	if len(xs) < 3 {
		return nil, fmt.Errorf("%s has shape %v, want rank >= 3 (N, C, spatial...)", xName, xs)
	}
	if len(ws) != len(xs) {
		return nil, fmt.Errorf("%s has shape %v, want rank %d like X", wName, ws, len(xs))
	}
	p := &convParams{n: xs[0], c: xs[1], m: ws[0], group: nd.AttrInt("group", 1)}
	if p.group <= 0 || p.c%p.group != 0 || p.m%p.group != 0 {
		return nil, fmt.Errorf("group %d must divide input channels %d and output channels %d", p.group, p.c, p.m)
	}
	if ws[1] != p.c/p.group {
		return nil, fmt.Errorf("%s has shape %v, want dim 1 = C/group = %d", wName, ws, p.c/p.group)
	}
	ks, err := kernelShapeAttr(nd, ws[2:])
	if err != nil {
		return nil, err
	}
	if p.geom, err = windowGeometry(nd, xs[2:], ks, false); err != nil {
		return nil, err
	}
	return p, nil
}

// outShape is [N, M, out...].
func (p *convParams) outShape() []int64 {
	return append([]int64{p.n, p.m}, p.geom.out...)
}

// convCore runs the convolution without bias: im2col per image and group,
// then one GEMM against the group's filters.
func convCore[T nnFloat](x, w []T, p *convParams) []T {
	g := p.geom
	r := len(g.in)
	inPlane := nnProd(g.in)
	outP := int(nnProd(g.out))
	K := int(nnProd(g.kernel))
	cg, mg := int(p.c/p.group), int(p.m/p.group)
	out := make([]T, int(p.n*p.m)*outP)
	pointwise := K == 1
	for d := 0; d < r; d++ {
		pointwise = pointwise && g.strides[d] == 1 && g.padBegin[d] == 0 && g.padEnd[d] == 0
	}
	tabs := make([][]int, r)
	for d := range tabs {
		tabs[d] = g.srcTable(d)
	}
	inStr := strides(g.in)
	// The column buffer covers a tile of output rows (all dims but the
	// last) so that large images do not need a cg*K*outP buffer.
	last := int(g.out[r-1])
	outer := outP / last
	tile := outer
	if !pointwise && cg*K*outP > im2colMaxElems {
		tile = max(1, im2colMaxElems/(cg*K*last))
	}
	var col []T
	if !pointwise {
		col = make([]T, cg*K*tile*last)
	}
	for n := 0; n < int(p.n); n++ {
		for gi := 0; gi < int(p.group); gi++ {
			xg := x[(n*int(p.c)+gi*cg)*int(inPlane):]
			wg := w[gi*mg*cg*K:]
			og := out[(n*int(p.m)+gi*mg)*outP:]
			if pointwise {
				nnGemm(false, mg, outP, cg*K, wg, cg*K, xg, outP, og, outP)
				continue
			}
			for o0 := 0; o0 < outer; o0 += tile {
				o1 := min(o0+tile, outer)
				tp := (o1 - o0) * last
				im2col(col[:cg*K*tp], xg[:cg*int(inPlane)], cg, int(inPlane), K, o0, o1, g, tabs, inStr)
				nnGemm(false, mg, tp, cg*K, wg, cg*K, col, tp, og[o0*last:], outP)
			}
		}
	}
	return out
}

// im2colMaxElems bounds the im2col buffer (16 MiB of float32); a variable
// so tests can force tiling.
var im2colMaxElems = 1 << 22

// im2col fills col [cg*K, (o1-o0)*last] from one group's input planes for
// the output rows [o0, o1) (a row is all output dims but the last, of
// length last): row c*K+kidx, column = output position within the tile;
// zero where the window is in padding.
func im2col[T nnFloat](col, x []T, cg, inPlane, K, o0, o1 int, g *spatialGeom, tabs [][]int, inStr []int64) {
	r := len(g.in)
	kidx := make([]int64, r)
	last := int(g.out[r-1])
	tp := (o1 - o0) * last
	oidx := make([]int64, r)
	start := make([]int64, r) // multi-index of row o0
	for d, rem := r-2, int64(o0); d >= 0; d-- {
		start[d] = rem % g.out[d]
		rem /= g.out[d]
	}
	// For stride 1 along the last dim, each kernel offset reads the input
	// run [runLo, runHi) of output positions contiguously.
	unit := g.strides[r-1] == 1
	runLo := make([]int, g.kernel[r-1])
	runHi := make([]int, g.kernel[r-1])
	for k := range runLo {
		tl := tabs[r-1][k*last : (k+1)*last]
		lo := 0
		for lo < last && tl[lo] < 0 {
			lo++
		}
		hi := lo
		for hi < last && tl[hi] >= 0 {
			hi++
		}
		runLo[k], runHi[k] = lo, hi
	}
	for c := 0; c < cg; c++ {
		xc := x[c*inPlane : (c+1)*inPlane]
		clear(kidx)
		for k := 0; k < K; k++ {
			row := col[(c*K+k)*tp : (c*K+k+1)*tp]
			tl := tabs[r-1][int(kidx[r-1])*last : int(kidx[r-1]+1)*last]
			copy(oidx, start)
			for o := 0; o < o1-o0; o++ {
				off, ok := 0, true
				for d := 0; d < r-1; d++ {
					v := tabs[d][int(kidx[d]*g.out[d]+oidx[d])]
					if v < 0 {
						ok = false
						break
					}
					off += v * int(inStr[d])
				}
				dst := row[o*last : (o+1)*last]
				switch {
				case !ok:
					clear(dst)
				case unit:
					// stride 1: the valid positions are one contiguous run
					lo, hi := runLo[kidx[r-1]], runHi[kidx[r-1]]
					clear(dst[:lo])
					if hi > lo {
						copy(dst[lo:hi], xc[off+tl[lo]:off+tl[lo]+hi-lo])
					}
					clear(dst[hi:])
				default:
					for j, v := range tl {
						if v < 0 {
							dst[j] = 0
						} else {
							dst[j] = xc[off+v]
						}
					}
				}
				for d := r - 2; d >= 0; d-- {
					oidx[d]++
					if oidx[d] < g.out[d] {
						break
					}
					oidx[d] = 0
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
}

// nnAddBias adds b[m] to every element of output channel m.
func nnAddBias[T nnFloat](out []T, b []T, n, m, plane int) {
	for i := 0; i < n; i++ {
		for c := 0; c < m; c++ {
			row := out[(i*m+c)*plane : (i*m+c+1)*plane]
			bv := b[c]
			for j := range row {
				row[j] += bv
			}
		}
	}
}

// convKernel implements Conv for float types: float32 and float64 natively,
// float16/bfloat16 computed in float32.
func convKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "W", "B"); err != nil {
		return nil, err
	}
	x, w, b := in[0], in[1], nnOptInput(in, 2)
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if w.DType != x.DType {
		return nil, fmt.Errorf("input 1 (W) has dtype %s, want %s like X", w.DType, x.DType)
	}
	p, err := convSetup(nd, x.Shape, w.Shape, "input 0 (X)", "input 1 (W)")
	if err != nil {
		return nil, err
	}
	if b != nil {
		if b.DType != x.DType {
			return nil, fmt.Errorf("input 2 (B) has dtype %s, want %s like X", b.DType, x.DType)
		}
		if len(b.Shape) != 1 || b.Shape[0] != p.m {
			return nil, fmt.Errorf("input 2 (B) has shape %v, want [%d]", b.Shape, p.m)
		}
	}
	plane := int(nnProd(p.geom.out))
	if x.DType == ir.Float64 {
		out := convCore(x.Data.([]float64), w.Data.([]float64), p)
		if b != nil {
			nnAddBias(out, b.Data.([]float64), int(p.n), int(p.m), plane)
		}
		return []*ir.Tensor{{DType: ir.Float64, Shape: p.outShape(), Data: out}}, nil
	}
	out := convCore(nnF32(x), nnF32(w), p)
	if b != nil {
		nnAddBias(out, nnF32(b), int(p.n), int(p.m), plane)
	}
	return []*ir.Tensor{nnFromF32(x.DType, p.outShape(), out)}, nil
}

// convTransposeGeom computes ConvTranspose's pads and output sizes from
// strides, dilations, pads/auto_pad, output_padding and output_shape,
// following the ONNX reference: explicit output_shape with auto_pad SAME_*
// derives the pads; with explicit pads it only sets the output extent.
func convTransposeGeom(nd *ir.Node, in, kernel []int64) (*spatialGeom, error) {
	r := len(in)
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	g := &spatialGeom{in: in, kernel: kernel, padBegin: make([]int64, r), padEnd: make([]int64, r)}
	g.strides = nd.AttrInts("strides", ones)
	g.dils = nd.AttrInts("dilations", ones)
	outPad := nd.AttrInts("output_padding", make([]int64, r))
	outShape := nd.AttrInts("output_shape", nil)
	if len(g.strides) != r || len(g.dils) != r || len(outPad) != r {
		return nil, fmt.Errorf("strides %v, dilations %v and output_padding %v must have %d values", g.strides, g.dils, outPad, r)
	}
	for i := 0; i < r; i++ {
		if g.strides[i] <= 0 || g.dils[i] <= 0 || kernel[i] <= 0 {
			return nil, fmt.Errorf("strides %v, dilations %v and kernel %v must be positive", g.strides, g.dils, kernel)
		}
	}
	if outShape != nil {
		if len(outShape) == r+2 {
			outShape = outShape[2:]
		}
		if len(outShape) != r {
			return nil, fmt.Errorf("output_shape %v has %d values, want %d spatial dims", outShape, len(outShape), r)
		}
	}
	full := func(i int) int64 {
		return g.strides[i]*(in[i]-1) + outPad[i] + (kernel[i]-1)*g.dils[i] + 1
	}
	g.autoPad = nd.AttrString("auto_pad", "NOTSET")
	g.out = make([]int64, r)
	switch g.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			o := in[i] * g.strides[i]
			if outShape != nil {
				o = outShape[i]
			}
			total := full(i) - o
			if g.autoPad == "SAME_UPPER" {
				g.padBegin[i] = total / 2
			} else {
				g.padBegin[i] = total - total/2
			}
			g.padEnd[i] = total - g.padBegin[i]
			g.out[i] = o
		}
	case "NOTSET", "", "VALID":
		pads := make([]int64, 2*r)
		if g.autoPad != "VALID" {
			pads = nd.AttrInts("pads", pads)
		}
		if len(pads) != 2*r {
			return nil, fmt.Errorf("pads %v has %d values, want %d", pads, len(pads), 2*r)
		}
		copy(g.padBegin, pads[:r])
		copy(g.padEnd, pads[r:])
		for i := 0; i < r; i++ {
			if outShape != nil {
				g.out[i] = outShape[i]
			} else {
				g.out[i] = full(i) - g.padBegin[i] - g.padEnd[i]
			}
		}
	default:
		return nil, fmt.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", g.autoPad)
	}
	return g, g.check()
}

// convTransposeKernel implements ConvTranspose: per image and group one
// GEMM W_gᵀ × X_g into columns, then col2im scatter-add into the output.
func convTransposeKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "W", "B"); err != nil {
		return nil, err
	}
	x, w, b := in[0], in[1], nnOptInput(in, 2)
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if w.DType != x.DType {
		return nil, fmt.Errorf("input 1 (W) has dtype %s, want %s like X", w.DType, x.DType)
	}
	if len(x.Shape) < 3 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank >= 3", x.Shape)
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("input 1 (W) has shape %v, want rank %d like X", w.Shape, len(x.Shape))
	}
	group := nd.AttrInt("group", 1)
	c := x.Shape[1]
	if group <= 0 || c%group != 0 || w.Shape[0] != c {
		return nil, fmt.Errorf("input 1 (W) has shape %v, want dim 0 = C = %d divisible by group %d", w.Shape, c, group)
	}
	m := w.Shape[1] * group
	ks, err := kernelShapeAttr(nd, w.Shape[2:])
	if err != nil {
		return nil, err
	}
	g, err := convTransposeGeom(nd, x.Shape[2:], ks)
	if err != nil {
		return nil, err
	}
	if b != nil && (b.DType != x.DType || len(b.Shape) != 1 || b.Shape[0] != m) {
		return nil, fmt.Errorf("input 2 (B) is %s%v, want %s[%d]", b.DType, b.Shape, x.DType, m)
	}
	p := &convParams{n: x.Shape[0], c: c, m: m, group: group, geom: g}
	plane := int(nnProd(g.out))
	if x.DType == ir.Float64 {
		out := convTransposeCore(x.Data.([]float64), w.Data.([]float64), p)
		if b != nil {
			nnAddBias(out, b.Data.([]float64), int(p.n), int(m), plane)
		}
		return []*ir.Tensor{{DType: ir.Float64, Shape: p.outShape(), Data: out}}, nil
	}
	out := convTransposeCore(nnF32(x), nnF32(w), p)
	if b != nil {
		nnAddBias(out, nnF32(b), int(p.n), int(m), plane)
	}
	return []*ir.Tensor{nnFromF32(x.DType, p.outShape(), out)}, nil
}

// convTransposeCore computes ConvTranspose without bias. Here geom.in is
// the input (the smaller side) and geom.out the output; an input position
// i and kernel offset k land at output i*stride - padBegin + k*dilation.
func convTransposeCore[T nnFloat](x, w []T, p *convParams) []T {
	g := p.geom
	r := len(g.in)
	inP := int(nnProd(g.in))
	outP := int(nnProd(g.out))
	K := int(nnProd(g.kernel))
	cg, mg := int(p.c/p.group), int(p.m/p.group)
	out := make([]T, int(p.n*p.m)*outP)
	// The column buffer covers a tile of input positions so that large
	// inputs do not need an mg*K*inP buffer.
	tile := inP
	if mg*K*inP > im2colMaxElems {
		tile = max(1, im2colMaxElems/max(mg*K, 1))
	}
	col := make([]T, mg*K*tile)
	// dst[d][k*in+i] is the output position, or -1 when cropped away.
	dst := make([][]int, r)
	for d := 0; d < r; d++ {
		t := make([]int, g.kernel[d]*g.in[d])
		for k := int64(0); k < g.kernel[d]; k++ {
			for i := int64(0); i < g.in[d]; i++ {
				o := i*g.strides[d] - g.padBegin[d] + k*g.dils[d]
				if o < 0 || o >= g.out[d] {
					o = -1
				}
				t[k*g.in[d]+i] = int(o)
			}
		}
		dst[d] = t
	}
	outStr := strides(g.out)
	inStr := strides(g.in)
	kidx := make([]int64, r)
	iidx := make([]int64, r)
	for n := 0; n < int(p.n); n++ {
		for gi := 0; gi < int(p.group); gi++ {
			xg := x[(n*int(p.c)+gi*cg)*inP:]
			wg := w[gi*cg*mg*K:]
			for i0 := 0; i0 < inP; i0 += tile {
				tp := min(tile, inP-i0)
				// col [mg*K, tp] = wgᵀ ([cg, mg*K]) × xg[:, i0:i0+tp] ([cg, tp])
				nnGemm(true, mg*K, tp, cg, wg, mg*K, xg[i0:], inP, col, tp)
				for mc := 0; mc < mg; mc++ {
					og := out[(n*int(p.m)+gi*mg+mc)*outP : (n*int(p.m)+gi*mg+mc+1)*outP]
					clear(kidx)
					for k := 0; k < K; k++ {
						row := col[(mc*K+k)*tp : (mc*K+k+1)*tp]
						for d, rem := 0, int64(i0); d < r; d++ {
							iidx[d] = rem / inStr[d]
							rem %= inStr[d]
						}
						for i := 0; i < tp; i++ {
							off, ok := 0, true
							for d := 0; d < r; d++ {
								v := dst[d][int(kidx[d]*g.in[d]+iidx[d])]
								if v < 0 {
									ok = false
									break
								}
								off += v * int(outStr[d])
							}
							if ok {
								og[off] += row[i]
							}
							for d := r - 1; d >= 0; d-- {
								iidx[d]++
								if iidx[d] < g.in[d] {
									break
								}
								iidx[d] = 0
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
			}
		}
	}
	return out
}

// nnZeroPoints reads a zero-point tensor for a quantized operand: absent
// means 0, otherwise a scalar/1-element tensor, or (perChannel > 0) one
// value per output channel.
func nnZeroPoints(t *ir.Tensor, want ir.DType, perChannel int64, what string) ([]float64, error) {
	if t == nil {
		return []float64{0}, nil
	}
	if t.DType != want {
		return nil, fmt.Errorf("%s has dtype %s, want %s like its operand", what, t.DType, want)
	}
	n := int64(t.Len())
	if n != 1 && (perChannel <= 0 || n != perChannel || len(t.Shape) != 1) {
		if perChannel > 0 {
			return nil, fmt.Errorf("%s has shape %v, want a scalar or [%d]", what, t.Shape, perChannel)
		}
		return nil, fmt.Errorf("%s has shape %v, want a scalar", what, t.Shape)
	}
	return t.Float64s(), nil
}

// nnIsQ8 reports whether dt is one of the 8-bit integer types.
func nnIsQ8(dt ir.DType) bool { return dt == ir.Uint8 || dt == ir.Int8 }

// quantConvAcc runs the integer convolution shared by ConvInteger and
// QLinearConv: (x - xzp) * (w - wzp[m]) accumulated exactly (float64
// accumulation is exact below 2^53, far beyond any int32 result).
func quantConvAcc(nd *ir.Node, x, w *ir.Tensor, xzpT, wzpT *ir.Tensor, names [4]string) ([]float64, *convParams, error) {
	if !nnIsQ8(x.DType) {
		return nil, nil, fmt.Errorf("%s has dtype %s, want u8 or i8", names[0], x.DType)
	}
	if !nnIsQ8(w.DType) {
		return nil, nil, fmt.Errorf("%s has dtype %s, want u8 or i8", names[1], w.DType)
	}
	p, err := convSetup(nd, x.Shape, w.Shape, names[0], names[1])
	if err != nil {
		return nil, nil, err
	}
	xzp, err := nnZeroPoints(xzpT, x.DType, 0, names[2])
	if err != nil {
		return nil, nil, err
	}
	wzp, err := nnZeroPoints(wzpT, w.DType, p.m, names[3])
	if err != nil {
		return nil, nil, err
	}
	xf := x.Float64s()
	for i := range xf {
		xf[i] -= xzp[0]
	}
	wf := w.Float64s()
	per := 1
	if p.m > 0 {
		per = max(len(wf)/int(p.m), 1)
	}
	for i := range wf {
		wf[i] -= wzp[(i/per)%len(wzp)]
	}
	return convCore(xf, wf, p), p, nil
}

// convIntegerKernel implements ConvInteger: u8/i8 inputs with zero points,
// int32 output.
func convIntegerKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "x", "w", "x_zero_point", "w_zero_point"); err != nil {
		return nil, err
	}
	acc, p, err := quantConvAcc(nd, in[0], in[1], nnOptInput(in, 2), nnOptInput(in, 3),
		[4]string{"input 0 (x)", "input 1 (w)", "input 2 (x_zero_point)", "input 3 (w_zero_point)"})
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(acc))
	for i, v := range acc {
		out[i] = int32(v)
	}
	return []*ir.Tensor{{DType: ir.Int32, Shape: p.outShape(), Data: out}}, nil
}

// nnScales reads a float scale tensor: a scalar, or (perChannel > 0) one
// value per output channel.
func nnScales(t *ir.Tensor, perChannel int64, what string) ([]float32, error) {
	if t.DType != ir.Float32 {
		return nil, fmt.Errorf("%s has dtype %s, want f32", what, t.DType)
	}
	n := int64(t.Len())
	if n != 1 && (perChannel <= 0 || n != perChannel) {
		return nil, fmt.Errorf("%s has shape %v, want a scalar or [%d]", what, t.Shape, max(perChannel, 1))
	}
	return t.Data.([]float32), nil
}

// qlinearConvKernel implements QLinearConv: integer convolution, int32
// bias, requantization by x_scale*w_scale/y_scale with round-half-even and
// saturation to the output type.
func qlinearConvKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 8, "x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "B"); err != nil {
		return nil, err
	}
	x, w := in[0], in[3]
	acc, p, err := quantConvAcc(nd, x, w, in[2], in[5],
		[4]string{"input 0 (x)", "input 3 (w)", "input 2 (x_zero_point)", "input 5 (w_zero_point)"})
	if err != nil {
		return nil, err
	}
	xs, err := nnScales(in[1], 0, "input 1 (x_scale)")
	if err != nil {
		return nil, err
	}
	ws, err := nnScales(in[4], p.m, "input 4 (w_scale)")
	if err != nil {
		return nil, err
	}
	ys, err := nnScales(in[6], 0, "input 6 (y_scale)")
	if err != nil {
		return nil, err
	}
	yzpT := in[7]
	if !nnIsQ8(yzpT.DType) || yzpT.Len() != 1 {
		return nil, fmt.Errorf("input 7 (y_zero_point) is %s%v, want a u8 or i8 scalar", yzpT.DType, yzpT.Shape)
	}
	yzp := yzpT.Float64At(0)
	var bias []int32
	if b := nnOptInput(in, 8); b != nil {
		if b.DType != ir.Int32 || len(b.Shape) != 1 || b.Shape[0] != p.m {
			return nil, fmt.Errorf("input 8 (B) is %s%v, want i32[%d]", b.DType, b.Shape, p.m)
		}
		bias = b.Data.([]int32)
	}
	lo, hi := 0.0, 255.0
	if yzpT.DType == ir.Int8 {
		lo, hi = -128, 127
	}
	plane := max(int(nnProd(p.geom.out)), 1)
	out := ir.NewTensor(yzpT.DType, p.outShape())
	for i, v := range acc {
		m := (i / plane) % int(p.m)
		if bias != nil {
			v += float64(bias[m])
		}
		scale := float64(xs[0] * ws[m%len(ws)] / ys[0])
		q := math.RoundToEven(v*scale) + yzp
		q = math.Max(lo, math.Min(hi, q))
		setFromFloat64(out, i, q)
	}
	return []*ir.Tensor{out}, nil
}

// deformConvKernel implements DeformConv (2-D): every kernel tap of every
// output position samples X bilinearly (zero outside) at its regular
// position plus a learned offset, optionally scaled by a mask; the samples
// form an im2col matrix that one GEMM per group multiplies with W.
func deformConvKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 3, "X", "W", "offset", "B", "mask"); err != nil {
		return nil, err
	}
	x, w, off := in[0], in[1], in[2]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank 4: DeformConv is implemented for 2-D inputs", x.Shape)
	}
	if w.DType != x.DType {
		return nil, fmt.Errorf("input 1 (W) has dtype %s, want %s like X", w.DType, x.DType)
	}
	p, err := convSetup(nd, x.Shape, w.Shape, "input 0 (X)", "input 1 (W)")
	if err != nil {
		return nil, err
	}
	g := p.geom
	og := nd.AttrInt("offset_group", 1)
	if og <= 0 || p.c%og != 0 {
		return nil, fmt.Errorf("offset_group %d must be positive and divide the %d input channels", og, p.c)
	}
	kh, kw := int(g.kernel[0]), int(g.kernel[1])
	K := kh * kw
	oh, ow := int(g.out[0]), int(g.out[1])
	want := []int64{p.n, og * 2 * int64(K), int64(oh), int64(ow)}
	if !off.DType.IsFloat() || !equalShape(off.Shape, want) {
		return nil, fmt.Errorf("input 2 (offset) is %s%v, want float%v", off.DType, off.Shape, want)
	}
	var mask []float64
	if mt := nnOptInput(in, 4); mt != nil {
		wantM := []int64{p.n, og * int64(K), int64(oh), int64(ow)}
		if !mt.DType.IsFloat() || !equalShape(mt.Shape, wantM) {
			return nil, fmt.Errorf("input 4 (mask) is %s%v, want float%v", mt.DType, mt.Shape, wantM)
		}
		mask = toFloat64(mt)
	}
	var bias []float64
	if b := nnOptInput(in, 3); b != nil {
		if b.DType != x.DType || len(b.Shape) != 1 || b.Shape[0] != p.m {
			return nil, fmt.Errorf("input 3 (B) is %s%v, want %s[%d]", b.DType, b.Shape, x.DType, p.m)
		}
		bias = toFloat64(b)
	}
	xf, wf, of := toFloat64(x), toFloat64(w), toFloat64(off)
	c, m := int(p.c), int(p.m)
	h, wd := int(x.Shape[2]), int(x.Shape[3])
	outP := oh * ow
	cpo := c / int(og) // channels per offset group
	cg, mg := int(p.c/p.group), int(p.m/p.group)
	col := make([]float64, c*K*outP)
	out := make([]float64, int(p.n)*m*outP)
	sample := func(plane []float64, y, xx float64) float64 {
		if y <= -1 || y >= float64(h) || xx <= -1 || xx >= float64(wd) {
			return 0
		}
		y0, x0 := int(math.Floor(y)), int(math.Floor(xx))
		fy, fx := y-float64(y0), xx-float64(x0)
		at := func(yy, xi int) float64 {
			if yy < 0 || yy >= h || xi < 0 || xi >= wd {
				return 0
			}
			return plane[yy*wd+xi]
		}
		return (1-fy)*((1-fx)*at(y0, x0)+fx*at(y0, x0+1)) + fy*((1-fx)*at(y0+1, x0)+fx*at(y0+1, x0+1))
	}
	for n := 0; n < int(p.n); n++ {
		for ch := 0; ch < c; ch++ {
			plane := xf[(n*c+ch)*h*wd : (n*c+ch+1)*h*wd]
			grp := ch / cpo
			for k := 0; k < K; k++ {
				i, j := k/kw, k%kw
				row := col[(ch*K+k)*outP : (ch*K+k+1)*outP]
				offH := of[((n*int(og)+grp)*2*K+2*k)*outP:]
				offW := of[((n*int(og)+grp)*2*K+2*k+1)*outP:]
				for y := 0; y < oh; y++ {
					for xo := 0; xo < ow; xo++ {
						o := y*ow + xo
						py := float64(int64(y)*g.strides[0]-g.padBegin[0]+int64(i)*g.dils[0]) + offH[o]
						px := float64(int64(xo)*g.strides[1]-g.padBegin[1]+int64(j)*g.dils[1]) + offW[o]
						v := sample(plane, py, px)
						if mask != nil {
							v *= mask[((n*int(og)+grp)*K+k)*outP+o]
						}
						row[o] = v
					}
				}
			}
		}
		for gi := 0; gi < int(p.group); gi++ {
			nnGemm(false, mg, outP, cg*K, wf[gi*mg*cg*K:], cg*K, col[gi*cg*K*outP:], outP, out[(n*m+gi*mg)*outP:], outP)
		}
	}
	if bias != nil {
		nnAddBias(out, bias, int(p.n), m, outP)
	}
	return []*ir.Tensor{fromFloat64(x.DType, p.outShape(), out)}, nil
}
