package llvmgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// mxEinsumTerm is one parsed operand subscript (see interp/linalg.go): label
// ids per dim, ellipsis dims get ids 128+e.
type mxEinsumTerm struct {
	labels []int
	ellAt  int
	nExpl  int
}

// mxParseEinsumTerm parses one operand subscript such as "bij" or "...ii".
func mxParseEinsumTerm(s string) (mxEinsumTerm, error) {
	t := mxEinsumTerm{ellAt: -1}
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

// expand returns every dim's label given this term's ellipsis rank.
func (t mxEinsumTerm) expand(ell, maxEll int) []int {
	if t.ellAt < 0 {
		return t.labels
	}
	out := append([]int{}, t.labels[:t.ellAt]...)
	for e := maxEll - ell; e < maxEll; e++ {
		out = append(out, 128+e)
	}
	return append(out, t.labels[t.ellAt:]...)
}

// mxEinsumKernel compiles Einsum with a compile-time loop plan, like the
// interpreter: loops over the output labels (outer) and the summed labels
// (inner, sorted), each operand walked with per-label strides (repeated
// labels add up to a diagonal, size-1 dims broadcast). Floats multiply and
// accumulate in double precision, integers in 64 bits (wrapping).
func mxEinsumKernel(k *kernel) error {
	in := k.in
	out := k.out[0]
	for _, b := range in {
		if b == nil || b.dt != in[0].dt {
			return fmt.Errorf("Einsum operands must all be present and share a dtype")
		}
	}
	eq := strings.ReplaceAll(k.n.AttrString("equation", ""), " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	parts := strings.Split(lhs, ",")
	if len(parts) != len(in) {
		return fmt.Errorf("equation %q has %d operands, node has %d inputs", eq, len(parts), len(in))
	}
	terms := make([]mxEinsumTerm, len(parts))
	ells := make([]int, len(parts))
	maxEll := 0
	for j, p := range parts {
		t, err := mxParseEinsumTerm(p)
		if err != nil {
			return err
		}
		rank := len(in[j].shape)
		if t.ellAt < 0 && rank != t.nExpl || t.ellAt >= 0 && rank < t.nExpl {
			return fmt.Errorf("input %d has shape %v, want rank %d for %q", j, in[j].shape, t.nExpl, p)
		}
		if t.ellAt >= 0 {
			ells[j] = rank - t.nExpl
			maxEll = max(maxEll, ells[j])
		}
		terms[j] = t
	}
	size := map[int]int64{}
	count := map[int]int{}
	opLabels := make([][]int, len(in))
	for j, t := range terms {
		opLabels[j] = t.expand(ells[j], maxEll)
		for d, l := range opLabels[j] {
			dim := in[j].shape[d]
			if l < 128 {
				count[l]++
			}
			if s, ok := size[l]; !ok || s == 1 {
				size[l] = dim
			}
		}
	}
	var outLabels []int
	if explicit {
		ot, err := mxParseEinsumTerm(rhs)
		if err != nil {
			return err
		}
		outLabels = ot.expand(maxEll, maxEll)
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
	pos := map[int]int{}
	dims := make([]int64, len(all))
	for i, l := range all {
		dims[i] = size[l]
		pos[l] = i
	}
	opStr := make([][]int64, len(in))
	for j := range in {
		opStr[j] = make([]int64, len(all))
		st := strides(in[j].shape)
		for d, l := range opLabels[j] {
			if in[j].shape[d] != 1 {
				opStr[j][pos[l]] += st[d]
			}
		}
	}
	nOut := len(outLabels)
	if ir.NumElements(dims[:nOut]) != out.len() {
		return fmt.Errorf("equation %q gives %v elements, output has %d", eq, dims[:nOut], out.len())
	}
	float := out.dt.IsFloat()
	acT := types.Type(types.I64)
	var zero, oneV value.Value = i64(0), i64(1)
	if float {
		acT, zero, oneV = f64, mxF64c(0), mxF64c(1)
	}
	outStr := strides(dims[:nOut])
	k.loopNest(dims[:nOut], func(oi []value.Value) {
		acc := k.mxLocal(acT, zero)
		k.loopNest(dims[nOut:], func(si []value.Value) {
			idx := append(append([]value.Value{}, oi...), si...)
			p := oneV
			for j, b := range in {
				off := k.linear(idx, opStr[j], 0)
				if float {
					p = k.b.NewFMul(p, k.mxLoadF64(b, off))
				} else {
					p = k.b.NewMul(p, k.mxLoadInt(b, off))
				}
			}
			if float {
				k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), p))
			} else {
				k.mxSet(acc, k.b.NewAdd(k.mxGet(acc), p))
			}
		})
		o := k.linear(oi, outStr, 0)
		if float {
			k.mxStoreF64(out, o, k.mxGet(acc))
			return
		}
		v := k.mxGet(acc)
		if st, _ := storageType(out.dt); st != types.I64 {
			v = k.b.NewTrunc(v, st)
		}
		k.b.NewStore(v, k.elemPtr(out, o))
	})
	return nil
}

// maxDetDim bounds Det's matrix size: the LU copy lives on the stack.
const maxDetDim = 128

// mxDetKernel compiles Det over [..., M, M] by LU decomposition with partial
// pivoting in double precision, like the interpreter.
func mxDetKernel(k *kernel) error {
	x, out := k.in[0], k.out[0]
	r := len(x.shape)
	if r < 2 || x.shape[r-1] != x.shape[r-2] || !x.dt.IsFloat() {
		return fmt.Errorf("input has type %s%v, want float [..., M, M]", x.dt, x.shape)
	}
	m := x.shape[r-1]
	if m > maxDetDim {
		return fmt.Errorf("matrices of size %d exceed the compiled limit %d", m, maxDetDim)
	}
	nb := ir.NumElements(x.shape[:r-2])
	at := types.NewArray(uint64(max(m*m, 1)), f64)
	arr := k.mxLocal(at, nil)
	a := func(i value.Value) value.Value { return k.b.NewGetElementPtr(at, arr, i64(0), i) }
	ld := func(row, col value.Value) value.Value {
		return k.b.NewLoad(f64, a(k.b.NewAdd(k.b.NewMul(row, i64(m)), col)))
	}
	st := func(row, col, v value.Value) {
		k.b.NewStore(v, a(k.b.NewAdd(k.b.NewMul(row, i64(m)), col)))
	}
	fabs := func(v value.Value) value.Value { return k.call("llvm.fabs.f64", f64, v) }
	k.loop(nb, func(p value.Value) {
		base := k.b.NewMul(p, i64(m*m))
		k.loop(m*m, func(i value.Value) {
			k.b.NewStore(k.mxLoadF64(x, k.b.NewAdd(base, i)), a(i))
		})
		det := k.mxLocal(f64, mxF64c(1))
		done := k.mxLocal(types.I1, constant.False)
		k.loop(m, func(c value.Value) {
			k.mxIf(k.b.NewXor(k.mxGet(done), constant.True), func() {
				piv := k.mxLocal(types.I64, c)
				k.mxLoopV(k.b.NewSub(i64(m), k.b.NewAdd(c, i64(1))), func(i value.Value) {
					row := k.b.NewAdd(k.b.NewAdd(c, i64(1)), i)
					bigger := k.b.NewFCmp(enum.FPredOGT, fabs(ld(row, c)), fabs(ld(k.mxGet(piv), c)))
					k.mxSet(piv, k.b.NewSelect(bigger, row, k.mxGet(piv)))
				})
				pv := k.mxGet(piv)
				k.mxIfElse(k.b.NewFCmp(enum.FPredOEQ, ld(pv, c), mxF64c(0)), func() {
					k.mxSet(det, mxF64c(0))
					k.mxSet(done, constant.True)
				}, func() {
					k.mxIf(k.b.NewICmp(enum.IPredNE, pv, c), func() {
						k.loop(m, func(j value.Value) {
							u, v := ld(c, j), ld(pv, j)
							st(c, j, v)
							st(pv, j, u)
						})
						k.mxSet(det, k.b.NewFNeg(k.mxGet(det)))
					})
					d := ld(c, c)
					k.mxSet(det, k.b.NewFMul(k.mxGet(det), d))
					k.mxLoopV(k.b.NewSub(i64(m), k.b.NewAdd(c, i64(1))), func(i value.Value) {
						row := k.b.NewAdd(k.b.NewAdd(c, i64(1)), i)
						f := k.b.NewFDiv(ld(row, c), d)
						k.mxIf(k.b.NewFCmp(enum.FPredUNE, f, mxF64c(0)), func() {
							k.mxLoopV(k.b.NewSub(i64(m), c), func(jj value.Value) {
								j := k.b.NewAdd(c, jj)
								st(row, j, k.b.NewFSub(ld(row, j), k.b.NewFMul(f, ld(c, j))))
							})
						})
					})
				})
			})
		})
		k.mxStoreF64(out, p, k.mxGet(det))
	})
	return nil
}
