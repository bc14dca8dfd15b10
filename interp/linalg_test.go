package interp

import (
	"testing"

	"github.com/effc/effc/ir"
)

func TestMatMul(t *testing.T) {
	a := tf32(sh(2, 3), 1, 2, 3, 4, 5, 6)
	b := tf32(sh(3, 2), 7, 8, 9, 10, 11, 12)
	cases := []struct {
		name string
		a, b *ir.Tensor
		want *ir.Tensor
	}{
		{"2d", a, b, tf32(sh(2, 2), 58, 64, 139, 154)},
		{"f64", tf64(sh(1, 2), 1, 2), tf64(sh(2, 1), 3, 4), tf64(sh(1, 1), 11)},
		{"vec·vec", tf32(sh(3), 1, 2, 3), tf32(sh(3), 4, 5, 6), tf32(sh(), 32)},
		{"mat·vec", a, tf32(sh(3), 1, 0, 1), tf32(sh(2), 4, 10)},
		{"vec·mat", tf32(sh(3), 1, 0, 1), b, tf32(sh(2), 18, 20)},
		{"batch broadcast", tf32(sh(2, 1, 2), 1, 0, 0, 1), tf32(sh(2, 2), 1, 2, 3, 4), tf32(sh(2, 1, 2), 1, 2, 3, 4)},
		{"batch both", tf32(sh(2, 1, 1, 1), 2, 3), tf32(sh(1, 3, 1, 1), 1, 10, 100), tf32(sh(2, 3, 1, 1), 2, 20, 200, 3, 30, 300)},
		{"i32", ti32(sh(1, 2), 1, 2), ti32(sh(2, 1), 3, 4), ti32(sh(1, 1), 11)},
		{"i8 wraps", ti8(sh(1, 2), 100, 100), ti8(sh(2, 1), 1, 1), ti8(sh(1, 1), -56)},
		{"u8", tu8(sh(1, 2), 1, 2), tu8(sh(2, 1), 3, 4), tu8(sh(1, 1), 11)},
		{"k=0", tf32(sh(2, 0)), tf32(sh(0, 2)), tf32(sh(2, 2), 0, 0, 0, 0)},
	}
	for _, c := range cases {
		got := evalMath(t, "MatMul", nil, c.a, c.b)
		expectTensor(t, c.name, got[0], c.want)
	}
	h := func(v ...float32) []uint16 {
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = ir.Float32ToFloat16(x)
		}
		return d
	}
	got := evalMath(t, "MatMul", nil, &ir.Tensor{DType: ir.Float16, Shape: sh(1, 2), Data: h(1, 2)}, &ir.Tensor{DType: ir.Float16, Shape: sh(2, 1), Data: h(3, 4)})
	expectTensor(t, "f16", got[0], &ir.Tensor{DType: ir.Float16, Shape: sh(1, 1), Data: h(11)})
	evalMathErr(t, "want dim 0 = 3", "MatMul", nil, a, tf32(sh(2, 2), 1, 2, 3, 4))
	evalMathErr(t, "2^31 elements", "MatMul", nil, ir.NewTensor(ir.Float32, sh(1<<16, 1)), ir.NewTensor(ir.Float32, sh(1, 1<<16)))
	evalMathErr(t, "batch dims", "MatMul", nil, ir.NewTensor(ir.Float32, sh(2, 1, 1)), ir.NewTensor(ir.Float32, sh(3, 1, 1)))
}

func TestGemm(t *testing.T) {
	a := tf32(sh(2, 2), 1, 2, 3, 4)
	b := tf32(sh(2, 2), 5, 6, 7, 8)
	attrs := func(kv ...any) map[string]*ir.Attr {
		m := map[string]*ir.Attr{}
		for i := 0; i < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case int:
				m[kv[i].(string)] = ir.IntAttr(int64(v))
			case float64:
				m[kv[i].(string)] = ir.FloatAttr(float32(v))
			}
		}
		return m
	}
	cases := []struct {
		name  string
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
		want  *ir.Tensor
	}{
		{"no bias", nil, []*ir.Tensor{a, b}, tf32(sh(2, 2), 19, 22, 43, 50)},
		{"scalar bias", nil, []*ir.Tensor{a, b, tf32(sh(), 1)}, tf32(sh(2, 2), 20, 23, 44, 51)},
		{"row bias", nil, []*ir.Tensor{a, b, tf32(sh(2), 1, 2)}, tf32(sh(2, 2), 20, 24, 44, 52)},
		{"column bias", nil, []*ir.Tensor{a, b, tf32(sh(2, 1), 1, 2)}, tf32(sh(2, 2), 20, 23, 45, 52)},
		{"transA", attrs("transA", 1), []*ir.Tensor{a, b}, tf32(sh(2, 2), 26, 30, 38, 44)},
		{"transB", attrs("transB", 1), []*ir.Tensor{a, b}, tf32(sh(2, 2), 17, 23, 39, 53)},
		{"alpha beta", attrs("alpha", 0.5, "beta", 2.0), []*ir.Tensor{a, b, tf32(sh(1), 1)}, tf32(sh(2, 2), 11.5, 13, 23.5, 27)},
		{"nonsquare trans", attrs("transA", 1, "transB", 1), []*ir.Tensor{tf32(sh(3, 1), 1, 2, 3), tf32(sh(2, 3), 1, 1, 1, 0, 1, 0)}, tf32(sh(1, 2), 6, 2)},
		{"f64", nil, []*ir.Tensor{tf64(sh(1, 2), 1, 2), tf64(sh(2, 1), 3, 4), tf64(sh(1), 1)}, tf64(sh(1, 1), 12)},
		{"i32 transB", attrs("transB", 1, "beta", 2.0), []*ir.Tensor{ti32(sh(1, 2), 1, 2), ti32(sh(1, 2), 3, 4), ti32(sh(1), 5)}, ti32(sh(1, 1), 21)},
	}
	for _, c := range cases {
		got := evalMath(t, "Gemm", c.attrs, c.in...)
		expectTensor(t, c.name, got[0], c.want)
	}
	evalMathErr(t, "want rank 2", "Gemm", nil, tf32(sh(2), 1, 2), b)
	evalMathErr(t, "does not broadcast", "Gemm", nil, a, b, tf32(sh(3), 1, 2, 3))
	evalMathErr(t, "inner dim", "Gemm", nil, ir.NewTensor(ir.Float32, sh(2, 3)), b)
}

func TestEinsum(t *testing.T) {
	eq := func(s string) map[string]*ir.Attr { return map[string]*ir.Attr{"equation": ir.StringAttr(s)} }
	m := tf32(sh(2, 2), 1, 2, 3, 4)
	cases := []struct {
		eq   string
		in   []*ir.Tensor
		want *ir.Tensor
	}{
		{"ij,jk->ik", []*ir.Tensor{m, m}, tf32(sh(2, 2), 7, 10, 15, 22)},
		{"ij,jk", []*ir.Tensor{m, m}, tf32(sh(2, 2), 7, 10, 15, 22)}, // implicit output
		{"ji", []*ir.Tensor{m}, tf32(sh(2, 2), 1, 3, 2, 4)},          // implicit: sorted labels => transpose
		{"ij->ji", []*ir.Tensor{m}, tf32(sh(2, 2), 1, 3, 2, 4)},
		{"ii->i", []*ir.Tensor{m}, tf32(sh(2), 1, 4)},
		{"ii", []*ir.Tensor{m}, tf32(sh(), 5)}, // trace
		{"ij->", []*ir.Tensor{m}, tf32(sh(), 10)},
		{"ij->i", []*ir.Tensor{m}, tf32(sh(2), 3, 7)},
		{"i,i", []*ir.Tensor{tf32(sh(3), 1, 2, 3), tf32(sh(3), 4, 5, 6)}, tf32(sh(), 32)},
		{"i,j->ij", []*ir.Tensor{tf32(sh(2), 1, 2), tf32(sh(3), 1, 10, 100)}, tf32(sh(2, 3), 1, 10, 100, 2, 20, 200)},
		{"bij,bjk->bik", []*ir.Tensor{tf32(sh(2, 1, 2), 1, 2, 3, 4), tf32(sh(2, 2, 1), 1, 1, 2, 2)}, tf32(sh(2, 1, 1), 3, 14)},
		{"...ij->...ji", []*ir.Tensor{tf32(sh(1, 2, 2), 1, 2, 3, 4)}, tf32(sh(1, 2, 2), 1, 3, 2, 4)},
		{"...ii->...i", []*ir.Tensor{tf32(sh(2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8)}, tf32(sh(2, 2), 1, 4, 5, 8)},
		{"...j,j->...", []*ir.Tensor{m, tf32(sh(2), 1, 1)}, tf32(sh(2), 3, 7)},
		{"...ij,...jk", []*ir.Tensor{tf32(sh(2, 1, 2), 1, 2, 3, 4), m}, tf32(sh(2, 1, 2), 7, 10, 15, 22)},
		{"ij,ij->ij", []*ir.Tensor{ti64(sh(1, 2), 2, 3), ti64(sh(1, 2), 4, 5)}, ti64(sh(1, 2), 8, 15)},
	}
	for _, c := range cases {
		got := evalMath(t, "Einsum", eq(c.eq), c.in...)
		expectTensor(t, c.eq, got[0], c.want)
	}
	evalMathErr(t, "label \"j\"", "Einsum", eq("ij,jk->ik"), ir.NewTensor(ir.Float32, sh(2, 3)), m)
	evalMathErr(t, "want rank 2", "Einsum", eq("ij->i"), tf32(sh(3), 1, 2, 3))
	evalMathErr(t, "has 2 operands", "Einsum", eq("i,i"), tf32(sh(1), 1))
	evalMathErr(t, "does not appear", "Einsum", eq("i->j"), tf32(sh(1), 1))
	big := ir.NewTensor(ir.Float32, sh(4096))
	evalMathErr(t, "2^36 steps", "Einsum", eq("i,j,k,l->"), big, big, big, big)
	evalMathErr(t, "2^31 elements", "Einsum", eq("i,j,k->ijk"), big, big, big)
}

func TestDet(t *testing.T) {
	got := evalMath(t, "Det", nil, tf32(sh(2, 2), 1, 2, 3, 4))
	expectTensor(t, "2x2", got[0], tf32(sh(), -2))
	got = evalMath(t, "Det", nil, tf64(sh(2, 3, 3), 0, 1, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 0, 0, 0, 4))
	expectTensor(t, "batch with pivoting", got[0], tf64(sh(2), -1, 24))
	got = evalMath(t, "Det", nil, tf32(sh(2, 2), 1, 2, 2, 4))
	expectTensor(t, "singular", got[0], tf32(sh(), 0))
	evalMathErr(t, "want [..., M, M]", "Det", nil, ir.NewTensor(ir.Float32, sh(2, 3)))
}
