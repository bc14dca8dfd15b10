package llvmgen

import (
	"encoding/binary"
	"math"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Helpers shared by the scalar kernels of the misc, gather, quant, resize and
// rnn files: mutable locals, conditionals, float64 loads and stores, runtime
// index loads. They carry an "mx" prefix so they cannot collide with helpers
// other kernel families add to builder.go.

// mxLocal allocates a stack slot of type t in the entry block (so opt
// promotes it to registers) and stores init into it at k.b.
func (k *kernel) mxLocal(t types.Type, init value.Value) *ll.InstAlloca {
	a := ll.NewAlloca(t)
	entry := k.f.Blocks[0]
	entry.Insts = append([]ll.Instruction{a}, entry.Insts...)
	if init != nil {
		k.b.NewStore(init, a)
	}
	return a
}

// mxGet loads a local.
func (k *kernel) mxGet(a *ll.InstAlloca) value.Value { return k.b.NewLoad(a.ElemType, a) }

// mxSet stores into a local.
func (k *kernel) mxSet(a *ll.InstAlloca, v value.Value) { k.b.NewStore(v, a) }

// mxSelect returns the value of then() or els() depending on cond, both
// computed only on their branch.
func (k *kernel) mxSelect(t types.Type, cond value.Value, then, els func() value.Value) value.Value {
	slot := k.mxLocal(t, nil)
	k.ifThen(cond, func() { k.mxSet(slot, then()) }, func() { k.mxSet(slot, els()) })
	return k.mxGet(slot)
}

// mxLoopV emits `for i := 0; i < n; i++` with a runtime i64 bound n.
func (k *kernel) mxLoopV(n value.Value, body func(i value.Value)) {
	pre := k.b
	header := k.f.NewBlock("")
	bodyB := k.f.NewBlock("")
	exit := k.f.NewBlock("")
	pre.NewBr(header)
	phi := header.NewPhi(ll.NewIncoming(i64(0), pre))
	header.NewCondBr(header.NewICmp(enum.IPredSLT, phi, n), bodyB, exit)
	k.b = bodyB
	body(phi)
	next := k.b.NewAdd(phi, i64(1))
	phi.Incs = append(phi.Incs, ll.NewIncoming(next, k.b))
	k.b.NewBr(header)
	k.b = exit
}

// f64 is LLVM's double.
var f64 = types.Double

// mxF64c is a double constant.
func mxF64c(v float64) constant.Constant { return constant.NewFloat(types.Double, v) }

// mxToF64 converts a compute-type value of dt to double.
func (k *kernel) mxToF64(v value.Value, dt ir.DType) value.Value {
	switch {
	case dt == ir.Float64:
		return v
	case dt.IsFloat():
		return k.b.NewFPExt(v, f64)
	case dt.IsUnsigned() || dt == ir.Bool:
		return k.b.NewUIToFP(v, f64)
	}
	return k.b.NewSIToFP(v, f64)
}

// mxFromF64 converts a double to dt's compute type (floats round to
// nearest; integers truncate toward zero).
func (k *kernel) mxFromF64(x value.Value, dt ir.DType) value.Value {
	t := computeType(dt)
	switch {
	case dt == ir.Float64:
		return x
	case dt.IsFloat():
		return k.b.NewFPTrunc(x, t)
	case dt.IsUnsigned() || dt == ir.Bool:
		return k.b.NewFPToUI(x, t)
	}
	return k.b.NewFPToSI(x, t)
}

// mxLoadF64 reads b[i] as a double.
func (k *kernel) mxLoadF64(b *buf, i value.Value) value.Value {
	return k.mxToF64(k.load(b, i), b.dt)
}

// mxStoreF64 rounds x to b's dtype and writes b[i].
func (k *kernel) mxStoreF64(b *buf, i value.Value, x value.Value) {
	k.store(b, i, k.mxFromF64(x, b.dt))
}

// mxLoadInt reads an integer element b[i] widened to i64 (sign-extended for
// signed types). Float elements are truncated toward zero.
func (k *kernel) mxLoadInt(b *buf, i value.Value) value.Value {
	v := k.load(b, i)
	switch {
	case b.dt.IsFloat():
		return k.b.NewFPToSI(v, types.I64)
	case b.dt == ir.Int64 || b.dt == ir.Uint64:
		return v
	case b.dt.IsUnsigned() || b.dt == ir.Bool:
		return k.b.NewZExt(v, types.I64)
	}
	return k.b.NewSExt(v, types.I64)
}

// mxWrapIndex maps a runtime index in [-dim, dim) to [0, dim). Indices out
// of that range have no error channel in a compiled kernel: they are clamped
// into [0, dim) so the kernel never reads or writes out of bounds (the
// interpreter reports them as errors instead).
func (k *kernel) mxWrapIndex(i value.Value, dim int64) value.Value {
	neg := k.b.NewICmp(enum.IPredSLT, i, i64(0))
	w := k.b.NewSelect(neg, k.b.NewAdd(i, i64(dim)), i)
	return k.mxClamp(w, 0, dim-1)
}

// mxClamp clamps an i64 into [lo, hi].
func (k *kernel) mxClamp(i value.Value, lo, hi int64) value.Value {
	i = k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, i, i64(lo)), i64(lo), i)
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, i, i64(hi)), i64(hi), i)
}

// mxCopy copies all of src into dst (same dtype and element count).
func (k *kernel) mxCopy(dst, src *buf) {
	n := dst.len() * int64(dst.dt.Size())
	if n == 0 {
		return
	}
	k.e.memcpy(k.b, k.b.NewBitCast(dst.ptr, i8p), k.b.NewBitCast(src.ptr, i8p), n)
}

// mxF64Table puts doubles in the read-only data and returns a pointer to
// the first.
func (k *kernel) mxF64Table(vals []float64) value.Value {
	if len(vals) == 0 {
		vals = []float64{0}
	}
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return k.rodata(raw, f64)
}

// mxI64Table is constTable with 64-bit entries (never empty).
func (k *kernel) mxI64Table(vals []int64) value.Value {
	if len(vals) == 0 {
		vals = []int64{0}
	}
	return k.constTable(vals, true)
}

// mxAt loads element i of a constant table of element type t.
func (k *kernel) mxAt(t types.Type, tab, i value.Value) value.Value {
	return k.b.NewLoad(t, k.b.NewGetElementPtr(t, tab, i))
}

// mxBytesGlobal puts raw bytes in the read-only data and returns an i8*.
func (k *kernel) mxBytesGlobal(raw []byte) value.Value {
	return k.rodata(raw, types.I8)
}

// mxFMax/mxFMin are the NaN-ignoring double max/min of two values.
func (k *kernel) mxFMax(x, y value.Value) value.Value {
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, y, x), y, x)
}

func (k *kernel) mxFMin(x, y value.Value) value.Value {
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, y, x), y, x)
}

// mxShapeOf reports the static shape of input i, or nil when absent.
func (k *kernel) mxShapeOf(i int) []int64 {
	if i >= len(k.in) || k.in[i] == nil {
		return nil
	}
	return k.in[i].shape
}

// mxInput returns input i or nil when it is absent.
func (k *kernel) mxInput(i int) *buf {
	if i >= len(k.in) {
		return nil
	}
	return k.in[i]
}

// mxOutput returns output i or nil when it is absent.
func (k *kernel) mxOutput(i int) *buf {
	if i >= len(k.out) {
		return nil
	}
	return k.out[i]
}
