package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// gridSampleKernel compiles GridSample with a runtime grid, following
// interp/spatial.go: any number of spatial dims, modes nearest, (bi)linear
// and (bi)cubic (A = -0.75), padding zeros, border and reflection,
// align_corners. For every output position the taps (index, weight) of each
// spatial dim go to small stack tables, then every channel sums the tensor
// product of the taps in double precision, nested per dim like the
// reference's recursion.
func gridSampleKernel(k *kernel) error {
	x, grid, out := k.in[0], k.in[1], k.out[0]
	if len(x.shape) < 3 {
		return fmt.Errorf("X has shape %v, want rank >= 3", x.shape)
	}
	r := len(x.shape) - 2
	if len(grid.shape) != r+2 || grid.shape[0] != x.shape[0] || grid.shape[r+1] != int64(r) {
		return fmt.Errorf("grid has shape %v, want [%d, out..., %d]", grid.shape, x.shape[0], r)
	}
	mode := k.n.AttrString("mode", "linear")
	switch mode {
	case "bilinear":
		mode = "linear"
	case "bicubic":
		mode = "cubic"
	case "linear", "cubic", "nearest":
	default:
		return fmt.Errorf("mode %q is not one of linear, nearest, cubic", mode)
	}
	pad := k.n.AttrString("padding_mode", "zeros")
	if pad != "zeros" && pad != "border" && pad != "reflection" {
		return fmt.Errorf("padding_mode %q is not one of zeros, border, reflection", pad)
	}
	align := k.n.AttrInt("align_corners", 0) != 0
	dims := x.shape[2:]
	outP := ir.NumElements(grid.shape[1 : r+1])
	inP := ir.NumElements(dims)
	inStr := strides(dims)
	N, C := x.shape[0], x.shape[1]
	T := map[string]int64{"nearest": 1, "linear": 2, "cubic": 4}[mode]
	lo := make([]float64, r)
	hi := make([]float64, r)
	for i, d := range dims {
		lo[i], hi[i] = -0.5, float64(d)-0.5
		if align {
			lo[i], hi[i] = 0, float64(d-1)
		}
	}
	idxT := types.NewArray(uint64(int64(r)*T), types.I64)
	wT := types.NewArray(uint64(int64(r)*T), f64)
	idxA := k.mxLocal(idxT, nil)
	wA := k.mxLocal(wT, nil)
	idxAt := func(d int, t value.Value) value.Value {
		return k.b.NewGetElementPtr(idxT, idxA, i64(0), k.b.NewAdd(i64(int64(d)*T), t))
	}
	wAt := func(d int, t value.Value) value.Value {
		return k.b.NewGetElementPtr(wT, wA, i64(0), k.b.NewAdd(i64(int64(d)*T), t))
	}
	// lookup maps a tap index to a valid one, or -1 (reads zero).
	lookup := func(i value.Value, d int) value.Value {
		size := dims[d]
		switch pad {
		case "border":
			return k.mxClamp(i, 0, size-1)
		case "reflection":
			j := k.b.NewFPToSI(k.gsReflect(k.b.NewSIToFP(i, f64), lo[d], hi[d]), types.I64)
			return k.mxClamp(j, 0, size-1)
		}
		bad := k.b.NewOr(k.b.NewICmp(enum.IPredSLT, i, i64(0)), k.b.NewICmp(enum.IPredSGE, i, i64(size)))
		return k.b.NewSelect(bad, i64(-1), i)
	}
	one := mxF64c(1)
	k.loop(N, func(b value.Value) {
		k.loop(outP, func(o value.Value) {
			gBase := k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(outP)), o), i64(int64(r)))
			for d := 0; d < r; d++ {
				nv := k.mxLoadF64(grid, k.b.NewAdd(gBase, i64(int64(r-1-d))))
				size := float64(dims[d])
				var v value.Value
				if align {
					v = k.b.NewFMul(k.b.NewFDiv(k.b.NewFAdd(nv, one), mxF64c(2)), mxF64c(size-1))
				} else {
					v = k.b.NewFDiv(k.b.NewFSub(k.b.NewFMul(k.b.NewFAdd(nv, one), mxF64c(size)), one), mxF64c(2))
				}
				if mode == "nearest" {
					if r == 3 {
						v = k.call("llvm.round.f64", f64, v)
					} else {
						v = k.call("llvm.rint.f64", f64, v)
					}
				}
				outside := k.b.NewOr(k.b.NewFCmp(enum.FPredOLT, v, mxF64c(lo[d])), k.b.NewFCmp(enum.FPredOGT, v, mxF64c(hi[d])))
				switch pad {
				case "border":
					v = k.b.NewSelect(outside, k.mxFMin(k.mxFMax(v, mxF64c(0)), mxF64c(size-1)), v)
				case "reflection":
					v = k.b.NewSelect(outside, k.gsReflect(v, lo[d], hi[d]), v)
				}
				put := func(t int64, idx, w value.Value) {
					k.b.NewStore(lookup(idx, d), idxAt(d, i64(t)))
					k.b.NewStore(w, wAt(d, i64(t)))
				}
				switch mode {
				case "nearest":
					put(0, k.b.NewFPToSI(v, types.I64), one)
				case "linear":
					x0 := k.call("llvm.floor.f64", f64, v)
					f := k.b.NewFSub(v, x0)
					i0 := k.b.NewFPToSI(x0, types.I64)
					put(0, i0, k.b.NewFSub(one, f))
					put(1, k.b.NewAdd(i0, i64(1)), f)
				default:
					x0 := k.call("llvm.floor.f64", f64, v)
					f := k.b.NewFSub(v, x0)
					i0 := k.b.NewFPToSI(x0, types.I64)
					const A = -0.75
					far := func(t value.Value) value.Value { // ((A*t - 5A)*t + 8A)*t - 4A
						var w value.Value = k.b.NewFSub(k.b.NewFMul(mxF64c(A), t), mxF64c(5*A))
						w = k.b.NewFAdd(k.b.NewFMul(w, t), mxF64c(8*A))
						return k.b.NewFSub(k.b.NewFMul(w, t), mxF64c(4*A))
					}
					near := func(t value.Value) value.Value { // ((A+2)*t - (A+3))*t*t + 1
						w := k.b.NewFSub(k.b.NewFMul(mxF64c(A+2), t), mxF64c(A+3))
						return k.b.NewFAdd(k.b.NewFMul(k.b.NewFMul(w, t), t), one)
					}
					inv := k.b.NewFSub(one, f)
					put(0, k.b.NewSub(i0, i64(1)), far(k.b.NewFAdd(f, one)))
					put(1, i0, near(f))
					put(2, k.b.NewAdd(i0, i64(1)), near(inv))
					put(3, k.b.NewAdd(i0, i64(2)), far(k.b.NewFSub(mxF64c(2), f)))
				}
			}
			k.loop(C, func(ch value.Value) {
				xBase := k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(C)), ch), i64(inP))
				s := k.gsSum(x, xBase, idxAt, wAt, inStr, T, 0, i64(0), one)
				oi := k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(C)), ch), i64(outP)), o)
				k.mxStoreF64(out, oi, s)
			})
		})
	})
	return nil
}

// gsSum emits the reference's recursive sum Σ_t (level d+1) over the taps
// of dim d, skipping padded (-1) and zero-weight taps.
func (k *kernel) gsSum(x *buf, xBase value.Value, idxAt, wAt func(int, value.Value) value.Value, str []int64, T int64, d int, off, w value.Value) value.Value {
	if d == len(str) {
		return k.b.NewFMul(w, k.mxLoadF64(x, k.b.NewAdd(xBase, off)))
	}
	acc := k.mxLocal(f64, mxF64c(0))
	k.loop(T, func(t value.Value) {
		idx := k.b.NewLoad(types.I64, idxAt(d, t))
		tw := k.b.NewLoad(f64, wAt(d, t))
		ok := k.b.NewAnd(k.b.NewICmp(enum.IPredSGE, idx, i64(0)), k.b.NewFCmp(enum.FPredUNE, tw, mxF64c(0)))
		k.ifThen(ok, func() {
			v := k.gsSum(x, xBase, idxAt, wAt, str, T, d+1, k.b.NewAdd(off, k.b.NewMul(idx, i64(str[d]))), k.b.NewFMul(w, tw))
			k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), v))
		}, nil)
	})
	return k.mxGet(acc)
}

// gsReflect reflects x at lo and hi until it lies within them, like
// interp's gsReflect.
func (k *kernel) gsReflect(x value.Value, lo, hi float64) value.Value {
	rng := hi - lo
	if rng <= 0 {
		return mxF64c(lo)
	}
	fold := func(dx value.Value) (r value.Value, even value.Value) {
		n := k.b.NewFPToSI(k.b.NewFDiv(dx, mxF64c(rng)), types.I64)
		r = k.b.NewFSub(dx, k.b.NewFMul(k.b.NewSIToFP(n, f64), mxF64c(rng)))
		even = k.b.NewICmp(enum.IPredEQ, k.b.NewAnd(n, i64(1)), i64(0))
		return r, even
	}
	below := k.b.NewFCmp(enum.FPredOLT, x, mxF64c(lo))
	above := k.b.NewFCmp(enum.FPredOGT, x, mxF64c(hi))
	rb, eb := fold(k.b.NewFSub(mxF64c(lo), x))
	vb := k.b.NewSelect(eb, k.b.NewFAdd(mxF64c(lo), rb), k.b.NewFSub(mxF64c(hi), rb))
	ra, ea := fold(k.b.NewFSub(x, mxF64c(hi)))
	va := k.b.NewSelect(ea, k.b.NewFSub(mxF64c(hi), ra), k.b.NewFAdd(mxF64c(lo), ra))
	return k.b.NewSelect(below, vb, k.b.NewSelect(above, va, x))
}
