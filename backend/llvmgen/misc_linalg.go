package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

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
	shapes := make([][]int64, len(in))
	for j, b := range in {
		shapes[j] = b.shape
	}
	eq := k.n.AttrString("equation", "")
	plan, err := ir.PlanEinsum(eq, shapes)
	if err != nil {
		return err
	}
	dims, opStr := plan.Dims, plan.OpStrides
	nOut := plan.NumOut
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
			k.ifThen(k.b.NewXor(k.mxGet(done), constant.True), func() {
				piv := k.mxLocal(types.I64, c)
				k.mxLoopV(k.b.NewSub(i64(m), k.b.NewAdd(c, i64(1))), func(i value.Value) {
					row := k.b.NewAdd(k.b.NewAdd(c, i64(1)), i)
					bigger := k.b.NewFCmp(enum.FPredOGT, fabs(ld(row, c)), fabs(ld(k.mxGet(piv), c)))
					k.mxSet(piv, k.b.NewSelect(bigger, row, k.mxGet(piv)))
				})
				pv := k.mxGet(piv)
				k.ifThen(k.b.NewFCmp(enum.FPredOEQ, ld(pv, c), mxF64c(0)), func() {
					k.mxSet(det, mxF64c(0))
					k.mxSet(done, constant.True)
				}, func() {
					k.ifThen(k.b.NewICmp(enum.IPredNE, pv, c), func() {
						k.loop(m, func(j value.Value) {
							u, v := ld(c, j), ld(pv, j)
							st(c, j, v)
							st(pv, j, u)
						})
						k.mxSet(det, k.b.NewFNeg(k.mxGet(det)))
					}, nil)
					d := ld(c, c)
					k.mxSet(det, k.b.NewFMul(k.mxGet(det), d))
					k.mxLoopV(k.b.NewSub(i64(m), k.b.NewAdd(c, i64(1))), func(i value.Value) {
						row := k.b.NewAdd(k.b.NewAdd(c, i64(1)), i)
						f := k.b.NewFDiv(ld(row, c), d)
						k.ifThen(k.b.NewFCmp(enum.FPredUNE, f, mxF64c(0)), func() {
							k.mxLoopV(k.b.NewSub(i64(m), c), func(jj value.Value) {
								j := k.b.NewAdd(c, jj)
								st(row, j, k.b.NewFSub(ld(row, j), k.b.NewFMul(f, ld(c, j))))
							})
						}, nil)
					})
				})
			}, nil)
		})
		k.mxStoreF64(out, p, k.mxGet(det))
	})
	return nil
}
