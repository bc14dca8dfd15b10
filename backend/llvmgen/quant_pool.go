package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Kernels of effc.QLinearAveragePool and effc.QLinearGlobalAveragePool;
// each computes exactly what its interpreter kernel in
// interp/quant_pool.go computes: an int32 sum of x − x_zero_point per
// window, then saturate(round_half_even(s / n · m) + y_zero_point) in
// double with m = x_scale/y_scale divided in float.
func init() {
	kernels["effc.QLinearAveragePool"] = qlinearAveragePoolKernel
	kernels["effc.QLinearGlobalAveragePool"] = qlinearGlobalAveragePoolKernel
	// The 2-D path accumulates one output row of int32 sums.
	scratchNeeds["effc.QLinearAveragePool"] = func(n *ir.Node) int64 {
		if y := n.Outputs[0].Type; y.Ranked && len(y.Shape) == 4 && y.Shape[3].Known() {
			return 4 * y.Shape[3].Size
		}
		return 0
	}
}

// qpoolParts checks a quantized pool's operands and returns the zero
// points (i32), m as a double and the output limits.
func (k *kernel) qpoolParts() (xz, yz, m value.Value, lo, hi float64, err error) {
	x, y := k.in[0], k.out[0]
	if cl := k.n.AttrInt("channels_last", 0); cl != 0 {
		return nil, nil, nil, 0, 0, fmt.Errorf("channels_last = %d, want 0 (NCHW)", cl)
	}
	if x.dt != y.dt || len(x.shape) < 3 {
		return nil, nil, nil, 0, 0, fmt.Errorf("X %s%v and Y %s%v: want one 8-bit type, rank >= 3", x.dt, x.shape, y.dt, y.shape)
	}
	if lo, hi, err = quantLimits(y.dt); err != nil {
		return nil, nil, nil, 0, 0, err
	}
	scale := func(i int) value.Value { return k.b.NewFPTrunc(k.mxLoadF64(k.in[i], i64(0)), types.Float) }
	m = k.b.NewFPExt(k.b.NewFDiv(scale(1), scale(3)), f64)
	return k.zpAt(k.in[2], i64(0)), k.zpAt(k.in[4], i64(0)), m, lo, hi, nil
}

// qpoolStore writes y[i] = saturate(rint(s / max(n, 1) · m) + y_zp) for
// the int32 sum s and i32 count n.
func (k *kernel) qpoolStore(i, s, n, yz, m value.Value, lo, hi float64) {
	n = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, n, i32(0)), i32(1), n)
	q := k.b.NewFMul(k.b.NewFDiv(k.b.NewSIToFP(s, f64), k.b.NewSIToFP(n, f64)), m)
	y := k.out[0]
	k.b.NewStore(k.roundSat(q, k.b.NewSIToFP(yz, f64), y.dt, lo, hi), k.elemPtr(y, i))
}

// qlinearGlobalAveragePoolKernel sums each contiguous (n, c) plane in an
// int32 reduction, which the loop vectorizer widens.
func qlinearGlobalAveragePoolKernel(k *kernel) error {
	x := k.in[0]
	xz, yz, m, lo, hi, err := k.qpoolParts()
	if err != nil {
		return err
	}
	planes, plane := x.shape[0]*x.shape[1], ir.NumElements(x.shape[2:])
	acc := k.rdSlot(types.I32)
	k.loop(planes, func(pl value.Value) {
		base := k.rdMul(pl, plane)
		k.rdSet(acc, i32(0))
		k.loop(plane, func(j value.Value) {
			v := k.b.NewSub(k.toI32(k.load(x, k.rdAdd(base, j)), x.dt), xz)
			k.rdSet(acc, k.b.NewAdd(k.rdGet(types.I32, acc), v))
		})
		k.qpoolStore(pl, k.rdGet(types.I32, acc), i32(plane), yz, m, lo, hi)
	})
	return nil
}

// qpoolCounts is, per spatial dim d and output position o, the number of
// window elements inside the input, or inside the padded input when
// include (count_include_pad); a window's count is their product.
func qpoolCounts(g *rdPoolGeom, include bool) [][]int64 {
	cnt := make([][]int64, len(g.in))
	for d := range g.in {
		if include {
			cnt[d] = g.padded[d]
			continue
		}
		cnt[d] = make([]int64, g.out[d])
		for o := range cnt[d] {
			for kk := int64(0); kk < g.kernel[d]; kk++ {
				if p := int64(o)*g.strides[d] - g.padBegin[d] + kk*g.dils[d]; p >= 0 && p < g.in[d] {
					cnt[d][o]++
				}
			}
		}
	}
	return cnt
}

// qlinearAveragePoolKernel compiles effc.QLinearAveragePool. With two
// spatial dims each output row is an int32 row in scratch: every kernel tap
// adds x − x_zp over the output columns whose input lies inside the image
// (a vectorized loop), and a second loop scales and stores the row. Other
// ranks walk each window.
func qlinearAveragePoolKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	xz, yz, m, lo, hi, err := k.qpoolParts()
	if err != nil {
		return err
	}
	g, err := rdPoolGeometry(k.n, x, y)
	if err != nil {
		return err
	}
	cnt := qpoolCounts(g, k.n.AttrInt("count_include_pad", 0) != 0)
	tabs := make([]value.Value, len(cnt))
	for d := range cnt {
		tabs[d] = k.constTable(cnt[d], false)
	}
	count := func(d int, o value.Value) value.Value {
		return k.b.NewLoad(types.I32, k.b.NewGetElementPtr(types.I32, tabs[d], o))
	}
	inP, outP := ir.NumElements(g.in), ir.NumElements(g.out)
	if len(g.in) != 2 {
		sum := k.rdSlot(types.I32)
		k.rdPool(g, x.shape[0]*x.shape[1], rdPoolFns{begin: func() { k.rdSet(sum, i32(0)) },
			visit: func(pl, off value.Value, _ []value.Value) {
				v := k.b.NewSub(k.toI32(k.load(x, k.rdAdd(k.rdMul(pl, inP), off)), x.dt), xz)
				k.rdSet(sum, k.b.NewAdd(k.rdGet(types.I32, sum), v))
			}, end: func(pl, o value.Value, opos []value.Value) {
				var n value.Value = i32(1)
				for d := range opos {
					n = k.b.NewMul(n, count(d, opos[d]))
				}
				k.qpoolStore(k.rdAdd(k.rdMul(pl, outP), o), k.rdGet(types.I32, sum), n, yz, m, lo, hi)
			}})
		return nil
	}
	H, W, OH, OW := g.in[0], g.in[1], g.out[0], g.out[1]
	acc := k.b.NewBitCast(k.scratch, types.NewPointer(types.I32))
	k.loop(x.shape[0]*x.shape[1], func(pl value.Value) {
		xp := k.gepElem(x.ptr, x.dt, k.rdMul(pl, inP))
		k.loop(OH, func(oh value.Value) {
			k.fillI32(acc, 0, OW, i32(0))
			for kh := int64(0); kh < g.kernel[0]; kh++ {
				ih := k.b.NewAdd(k.rdMul(oh, g.strides[0]), i64(kh*g.dils[0]-g.padBegin[0]))
				k.ifThen(k.b.NewICmp(enum.IPredULT, ih, i64(H)), func() {
					src := k.gepElem(xp, x.dt, k.rdMul(ih, W))
					for kw := int64(0); kw < g.kernel[1]; kw++ {
						clo, chi := validRange(OW, W, g.strides[1], g.padBegin[1], kw, g.dils[1])
						if chi <= clo {
							continue
						}
						k.loop(chi-clo, func(i value.Value) {
							o := k.b.NewAdd(i, i64(clo))
							iw := k.b.NewAdd(k.rdMul(o, g.strides[1]), i64(kw*g.dils[1]-g.padBegin[1]))
							v := k.b.NewSub(k.toI32(k.b.NewLoad(types.I8, k.gepElem(src, x.dt, iw)), x.dt), xz)
							ap := k.gepI32(acc, o)
							k.b.NewStore(k.b.NewAdd(k.b.NewLoad(types.I32, ap), v), ap)
						})
					}
				}, nil)
			}
			ch := count(0, oh)
			row := k.rdMul(k.rdAdd(k.rdMul(pl, OH), oh), OW)
			k.loop(OW, func(o value.Value) {
				n := k.b.NewMul(ch, count(1, o))
				k.qpoolStore(k.rdAdd(row, o), k.b.NewLoad(types.I32, k.gepI32(acc, o)), n, yz, m, lo, hi)
			})
		})
	})
	return nil
}
