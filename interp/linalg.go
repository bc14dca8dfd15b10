package interp

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/effc/effc/ir"
)

// matMulKernel is MatMul with numpy semantics: 1-D operands are promoted
// (a prepended, b appended dim, removed afterwards) and batch dims
// broadcast. float32 and float64 go through gonum's Gemm; f16, bf16 and fp8
// compute in float32 and round back; integers are exact wrapping loops.
func matMulKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	if err := checkSameDType(in, 0, 1); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	c := classOf(a.DType)
	if c != classFloat && c != classSigned && c != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", a.DType)
	}
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, fmt.Errorf("inputs have shapes %v and %v, want rank >= 1 each", a.Shape, b.Shape)
	}
	as, bs := append([]int64{}, a.Shape...), append([]int64{}, b.Shape...)
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, nn := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, fmt.Errorf("input 1 has shape %v, want dim %d = %d matching input 0's shape %v", b.Shape, len(b.Shape)-2, k, a.Shape)
	}
	batch, err := broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, fmt.Errorf("batch dims: %w", err)
	}
	if _, err := ir.CheckedNumElements(append(append([]int64{}, batch...), m, nn)); err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	ia := broadcastIndex(batch, as[:len(as)-2])
	ib := broadcastIndex(batch, bs[:len(bs)-2])
	outShape := append(append([]int64{}, batch...), m, nn)
	mm, kk, nc := int(m), int(k), int(nn)
	var out *ir.Tensor
	switch a.DType {
	case ir.Float64:
		ad, bd := a.Data.([]float64), b.Data.([]float64)
		od := make([]float64, len(ia)*mm*nc)
		for p := range ia {
			gemm64(false, false, mm, nc, kk, 1, ad[ia[p]*mm*kk:], bd[ib[p]*kk*nc:], 0, od[p*mm*nc:])
		}
		out = &ir.Tensor{DType: ir.Float64, Shape: outShape, Data: od}
	default:
		if c == classFloat {
			ad, bd := float32sOf(a), float32sOf(b)
			od := make([]float32, len(ia)*mm*nc)
			for p := range ia {
				gemm32(false, false, mm, nc, kk, 1, ad[ia[p]*mm*kk:], bd[ib[p]*kk*nc:], 0, od[p*mm*nc:])
			}
			out = float32sTo(a.DType, outShape, od)
			break
		}
		va, vb := viewOf(a), viewOf(b)
		if c == classUnsigned {
			od := make([]uint64, len(ia)*mm*nc)
			for p := range ia {
				matMulLoop(mm, nc, kk, va.u[ia[p]*mm*kk:], vb.u[ib[p]*kk*nc:], od[p*mm*nc:])
			}
			out = fromUnsigned(a.DType, outShape, od)
		} else {
			od := make([]int64, len(ia)*mm*nc)
			for p := range ia {
				matMulLoop(mm, nc, kk, va.i[ia[p]*mm*kk:], vb.i[ib[p]*kk*nc:], od[p*mm*nc:])
			}
			out = fromSigned(a.DType, outShape, od)
		}
	}
	// Drop the promoted dims.
	final := append([]int64{}, batch...)
	if len(a.Shape) > 1 {
		final = append(final, m)
	}
	if len(b.Shape) > 1 {
		final = append(final, nn)
	}
	out.Shape = final
	return []*ir.Tensor{out}, nil
}

// matMulLoop computes c[m×n] = a[m×k] · b[k×n] in wrapping integer arithmetic.
func matMulLoop[T int64 | uint64](m, n, k int, a, b, c []T) {
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			x := a[i*k+p]
			if x == 0 {
				continue
			}
			for j := 0; j < n; j++ {
				c[i*n+j] += x * b[p*n+j]
			}
		}
	}
}

// gemm32 computes c = alpha·op(a)·op(b) + beta·c for row-major dense
// matrices (op(a) is m×k, op(b) k×n, c m×n).
func gemm32(tA, tB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	ga := blas32.General{Rows: m, Cols: k, Stride: max(k, 1), Data: a}
	ta := blas.NoTrans
	if tA {
		ga, ta = blas32.General{Rows: k, Cols: m, Stride: max(m, 1), Data: a}, blas.Trans
	}
	gb := blas32.General{Rows: k, Cols: n, Stride: max(n, 1), Data: b}
	tb := blas.NoTrans
	if tB {
		gb, tb = blas32.General{Rows: n, Cols: k, Stride: max(k, 1), Data: b}, blas.Trans
	}
	if k == 0 {
		for i := range c[:m*n] {
			c[i] *= beta
		}
		return
	}
	ga.Data, gb.Data = ga.Data[:ga.Rows*ga.Stride], gb.Data[:gb.Rows*gb.Stride]
	blas32.Gemm(ta, tb, alpha, ga, gb, beta, blas32.General{Rows: m, Cols: n, Stride: n, Data: c[:m*n]})
}

// gemm64 is gemm32 for float64.
func gemm64(tA, tB bool, m, n, k int, alpha float64, a, b []float64, beta float64, c []float64) {
	if m == 0 || n == 0 {
		return
	}
	ga := blas64.General{Rows: m, Cols: k, Stride: max(k, 1), Data: a}
	ta := blas.NoTrans
	if tA {
		ga, ta = blas64.General{Rows: k, Cols: m, Stride: max(m, 1), Data: a}, blas.Trans
	}
	gb := blas64.General{Rows: k, Cols: n, Stride: max(n, 1), Data: b}
	tb := blas.NoTrans
	if tB {
		gb, tb = blas64.General{Rows: n, Cols: k, Stride: max(k, 1), Data: b}, blas.Trans
	}
	if k == 0 {
		for i := range c[:m*n] {
			c[i] *= beta
		}
		return
	}
	ga.Data, gb.Data = ga.Data[:ga.Rows*ga.Stride], gb.Data[:gb.Rows*gb.Stride]
	blas64.Gemm(ta, tb, alpha, ga, gb, beta, blas64.General{Rows: m, Cols: n, Stride: n, Data: c[:m*n]})
}

// float32sOf returns a floating tensor's elements as float32 (aliasing
// float32 data).
func float32sOf(t *ir.Tensor) []float32 {
	if d, ok := t.Data.([]float32); ok {
		return d
	}
	f := toFloat64(t)
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out
}

// float32sTo encodes float32 values as floating dtype dt.
func float32sTo(dt ir.DType, shape []int64, v []float32) *ir.Tensor {
	if dt == ir.Float32 {
		return &ir.Tensor{DType: dt, Shape: shape, Data: v}
	}
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return fromFloat64(dt, shape, f)
}

// gemmKernel is Gemm(A, B, C?): Y = alpha·A'·B' + beta·C with A' = transA ?
// Aᵀ : A, C broadcasting unidirectionally to [M, N].
func gemmKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 3); err != nil {
		return nil, err
	}
	if err := checkSameDType(in, 0, 1); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("inputs have shapes %v and %v, want rank 2 each", a.Shape, b.Shape)
	}
	dc := classOf(a.DType)
	if dc != classFloat && dc != classSigned && dc != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", a.DType)
	}
	tA, tB := n.AttrInt("transA", 0) != 0, n.AttrInt("transB", 0) != 0
	alpha, beta := float64(n.AttrFloat("alpha", 1)), float64(n.AttrFloat("beta", 1))
	m, k := a.Shape[0], a.Shape[1]
	if tA {
		m, k = k, m
	}
	k2, nn := b.Shape[0], b.Shape[1]
	if tB {
		k2, nn = nn, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("input 1 has shape %v, want inner dim %d matching input 0's shape %v (transA=%v transB=%v)", b.Shape, k, a.Shape, tA, tB)
	}
	shape := []int64{m, nn}
	if _, err := ir.CheckedNumElements(shape); err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	var cIdx []int
	c := (*ir.Tensor)(nil)
	if len(in) > 2 && in[2] != nil {
		c = in[2]
		if err := checkSameDType(in, 0, 2); err != nil {
			return nil, err
		}
		bs, err := broadcastShapes(shape, c.Shape)
		if err != nil || !equalShape(bs, shape) {
			return nil, fmt.Errorf("input 2 has shape %v, which does not broadcast to [%d,%d]", c.Shape, m, nn)
		}
		cIdx = broadcastIndex(shape, c.Shape)
	}
	mm, kk, nc := int(m), int(k), int(nn)
	switch {
	case a.DType == ir.Float64:
		od := make([]float64, mm*nc)
		if c != nil {
			cd := c.Data.([]float64)
			for i := range od {
				od[i] = cd[cIdx[i]]
			}
		}
		gemm64(tA, tB, mm, nc, kk, alpha, a.Data.([]float64), b.Data.([]float64), beta, od)
		return []*ir.Tensor{{DType: ir.Float64, Shape: shape, Data: od}}, nil
	case dc == classFloat:
		od := make([]float32, mm*nc)
		if c != nil {
			cd := float32sOf(c)
			for i := range od {
				od[i] = cd[cIdx[i]]
			}
		}
		gemm32(tA, tB, mm, nc, kk, float32(alpha), float32sOf(a), float32sOf(b), float32(beta), od)
		return []*ir.Tensor{float32sTo(a.DType, shape, od)}, nil
	}
	// Integers: exact products, alpha and beta applied when integral.
	if alpha != math.Trunc(alpha) || beta != math.Trunc(beta) {
		return nil, fmt.Errorf("attributes alpha=%g beta=%g must be integral for %s inputs", alpha, beta, a.DType)
	}
	ta, tb := transposeIfInt(a, tA), transposeIfInt(b, tB)
	va, vb := viewOf(ta), viewOf(tb)
	if dc == classUnsigned {
		od := make([]uint64, mm*nc)
		matMulLoop(mm, nc, kk, va.u, vb.u, od)
		var cv []uint64
		if c != nil {
			cv = widenUnsigned(c)
		}
		for i := range od {
			od[i] *= uint64(int64(alpha))
			if c != nil {
				od[i] += uint64(int64(beta)) * cv[cIdx[i]]
			}
		}
		return []*ir.Tensor{fromUnsigned(a.DType, shape, od)}, nil
	}
	od := make([]int64, mm*nc)
	matMulLoop(mm, nc, kk, va.i, vb.i, od)
	var cv []int64
	if c != nil {
		cv = widenSigned(c)
	}
	for i := range od {
		od[i] *= int64(alpha)
		if c != nil {
			od[i] += int64(beta) * cv[cIdx[i]]
		}
	}
	return []*ir.Tensor{fromSigned(a.DType, shape, od)}, nil
}

// transposeIfInt returns the transpose of a 2-D tensor when t is set.
func transposeIfInt(x *ir.Tensor, t bool) *ir.Tensor {
	if !t {
		return x
	}
	r, c := int(x.Shape[0]), int(x.Shape[1])
	src := []int{}
	for j := 0; j < c; j++ {
		for i := 0; i < r; i++ {
			src = append(src, i*c+j)
		}
	}
	v := viewOf(x)
	shape := []int64{int64(c), int64(r)}
	if v.class == classUnsigned {
		out := make([]uint64, len(src))
		for k, s := range src {
			out[k] = v.u[s]
		}
		return fromUnsigned(x.DType, shape, out)
	}
	out := make([]int64, len(src))
	for k, s := range src {
		out[k] = v.i[s]
	}
	return fromSigned(x.DType, shape, out)
}

// maxEinsumWork bounds the index-loop iterations of one Einsum (products
// of every label's size), so a hostile equation fails fast.
const maxEinsumWork = 1 << 36

// productAtMost reports whether the product of dims is at most limit,
// without overflowing.
func productAtMost(dims []int64, limit int64) bool {
	p := int64(1)
	for _, d := range dims {
		if d == 0 {
			return true
		}
		if d < 0 || p > limit/d {
			return false
		}
		p *= d
	}
	return true
}

// einsumKernel is Einsum: a general implementation by index loops over
// explicit or implicit (no "->") equations with ellipsis broadcasting and
// repeated labels (diagonals).
func einsumKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("got 0 inputs, want at least 1")
	}
	if err := checkInputs(in, len(in), len(in)); err != nil {
		return nil, err
	}
	for j := 1; j < len(in); j++ {
		if err := checkSameDType(in, 0, j); err != nil {
			return nil, err
		}
	}
	dc := classOf(in[0].DType)
	if dc != classFloat && dc != classSigned && dc != classUnsigned {
		return nil, fmt.Errorf("input 0 has dtype %s, want a numeric type", in[0].DType)
	}
	shapes := make([][]int64, len(in))
	for j, t := range in {
		shapes[j] = t.Shape
	}
	eq := n.AttrString("equation", "")
	plan, err := ir.PlanEinsum(eq, shapes)
	if err != nil {
		return nil, err
	}
	dims, outShape := plan.Dims, plan.OutShape
	if !productAtMost(dims, maxEinsumWork) {
		return nil, fmt.Errorf("equation %q loops over %v (%d labels); more than the interpreter's limit of 2^36 steps", eq, dims, len(dims))
	}
	opStr := make([][]int, len(in))
	for j := range in {
		opStr[j] = make([]int, len(dims))
		for d, st := range plan.OpStrides[j] {
			opStr[j][d] = int(st)
		}
	}
	outStr := make([]int, len(dims))
	for i, s := range strides(outShape) {
		outStr[i] = int(s)
	}
	total := ir.NumElements(dims)
	nOut := int(ir.NumElements(outShape))
	views := make([]numView, len(in))
	for j := range in {
		views[j] = viewOf(in[j])
	}
	offs := make([]int, len(in))
	coord := make([]int64, len(dims))
	outOff := 0
	accF := make([]float64, nOut)
	accI := make([]int64, nOut)
	accU := make([]uint64, nOut)
	for it := int64(0); it < total; it++ {
		switch dc {
		case classFloat:
			p := 1.0
			for j := range views {
				p *= views[j].f[offs[j]]
			}
			accF[outOff] += p
		case classUnsigned:
			p := uint64(1)
			for j := range views {
				p *= views[j].u[offs[j]]
			}
			accU[outOff] += p
		default:
			p := int64(1)
			for j := range views {
				p *= views[j].i[offs[j]]
			}
			accI[outOff] += p
		}
		for d := len(dims) - 1; d >= 0; d-- {
			coord[d]++
			outOff += outStr[d]
			for j := range offs {
				offs[j] += opStr[j][d]
			}
			if coord[d] < dims[d] {
				break
			}
			c := int(coord[d])
			outOff -= outStr[d] * c
			for j := range offs {
				offs[j] -= opStr[j][d] * c
			}
			coord[d] = 0
		}
	}
	switch dc {
	case classFloat:
		return []*ir.Tensor{fromFloat64(in[0].DType, outShape, accF)}, nil
	case classUnsigned:
		return []*ir.Tensor{fromUnsigned(in[0].DType, outShape, accU)}, nil
	}
	return []*ir.Tensor{fromSigned(in[0].DType, outShape, accI)}, nil
}

// detKernel is Det over [..., M, M] floating inputs, by LU decomposition
// with partial pivoting in float64.
func detKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input 0 has dtype %s, want a floating type", x.DType)
	}
	r := len(x.Shape)
	if r < 2 || x.Shape[r-1] != x.Shape[r-2] {
		return nil, fmt.Errorf("input 0 has shape %v, want [..., M, M]", x.Shape)
	}
	m := int(x.Shape[r-1])
	src := toFloat64(x)
	batch := x.Shape[:r-2]
	nb := int(ir.NumElements(batch))
	out := make([]float64, nb)
	a := make([]float64, m*m)
	for p := 0; p < nb; p++ {
		copy(a, src[p*m*m:(p+1)*m*m])
		out[p] = luDet(a, m)
	}
	return []*ir.Tensor{fromFloat64(x.DType, batch, out)}, nil
}

// luDet returns the determinant of the m×m matrix a, destroying a.
func luDet(a []float64, m int) float64 {
	det := 1.0
	for c := 0; c < m; c++ {
		piv := c
		for r := c + 1; r < m; r++ {
			if math.Abs(a[r*m+c]) > math.Abs(a[piv*m+c]) {
				piv = r
			}
		}
		if a[piv*m+c] == 0 {
			return 0
		}
		if piv != c {
			for j := 0; j < m; j++ {
				a[c*m+j], a[piv*m+j] = a[piv*m+j], a[c*m+j]
			}
			det = -det
		}
		d := a[c*m+c]
		det *= d
		for r := c + 1; r < m; r++ {
			f := a[r*m+c] / d
			if f == 0 {
				continue
			}
			for j := c; j < m; j++ {
				a[r*m+j] -= f * a[c*m+j]
			}
		}
	}
	return det
}
