package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// rdPoolGeom is the window geometry of a pooling node over the spatial
// dims of X [N, C, spatial...], resolved at compile time.
type rdPoolGeom struct {
	in, out, kernel, strides, dils, padBegin, padEnd []int64
	// full[d] reports that every window along dim d lies inside the input,
	// so its kernel loop has a constant trip count.
	full []bool
	// klo/khi[d][o] bound the kernel offsets whose input position is inside
	// the input; padded[d][o] counts those inside the padded input.
	klo, khi, padded [][]int64
}

// rdPoolGeometry reads kernel_shape, strides, dilations, pads and
// auto_pad like the interpreter; the output sizes come from the static
// output shape (shape inference applied ceil_mode).
func rdPoolGeometry(n *ir.Node, x, y *buf) (*rdPoolGeom, error) {
	if len(x.shape) < 3 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank >= 3 (N, C, spatial...)", x.shape)
	}
	r := len(x.shape) - 2
	ks := n.AttrInts("kernel_shape", nil)
	if len(ks) != r {
		return nil, fmt.Errorf("attribute kernel_shape %v, want %d values", ks, r)
	}
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	g := &rdPoolGeom{in: x.shape[2:], out: y.shape[2:], kernel: ks,
		strides: n.AttrInts("strides", ones), dils: n.AttrInts("dilations", ones),
		padBegin: make([]int64, r), padEnd: make([]int64, r)}
	if len(g.strides) != r || len(g.dils) != r || len(g.out) != r {
		return nil, fmt.Errorf("strides %v, dilations %v or output shape %v do not match %d spatial dims", g.strides, g.dils, y.shape, r)
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
		pads := n.AttrInts("pads", make([]int64, 2*r))
		if len(pads) != 2*r {
			return nil, fmt.Errorf("pads %v has %d values, want %d", pads, len(pads), 2*r)
		}
		copy(g.padBegin, pads[:r])
		copy(g.padEnd, pads[r:])
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			dk := (ks[i]-1)*g.dils[i] + 1
			o := (g.in[i] + g.strides[i] - 1) / g.strides[i]
			total := max(0, (o-1)*g.strides[i]+dk-g.in[i])
			g.padBegin[i] = total / 2
			if ap == "SAME_LOWER" {
				g.padBegin[i] = total - total/2
			}
			g.padEnd[i] = total - g.padBegin[i]
		}
	default:
		return nil, fmt.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap)
	}
	for d := 0; d < r; d++ {
		if ks[d] <= 0 || g.strides[d] <= 0 || g.dils[d] <= 0 {
			return nil, fmt.Errorf("kernel_shape %v, strides %v and dilations %v must be positive", ks, g.strides, g.dils)
		}
		if g.padBegin[d] >= ks[d] || g.padEnd[d] >= ks[d] {
			return nil, fmt.Errorf("pads must be smaller than kernel_shape %v", ks)
		}
		full := true
		lo, hi, pad := make([]int64, g.out[d]), make([]int64, g.out[d]), make([]int64, g.out[d])
		for o := int64(0); o < g.out[d]; o++ {
			lo[o], hi[o] = ks[d], 0
			for kk := int64(0); kk < ks[d]; kk++ {
				p := o*g.strides[d] - g.padBegin[d] + kk*g.dils[d]
				if p >= -g.padBegin[d] && p < g.in[d]+g.padEnd[d] {
					pad[o]++
				}
				if p >= 0 && p < g.in[d] {
					lo[o] = min(lo[o], kk)
					hi[o] = max(hi[o], kk+1)
				}
			}
			if hi[o] < lo[o] {
				lo[o], hi[o] = 0, 0
			}
			if lo[o] != 0 || hi[o] != ks[d] {
				full = false
			}
		}
		g.klo, g.khi, g.padded = append(g.klo, lo), append(g.khi, hi), append(g.padded, pad)
		g.full = append(g.full, full)
	}
	return g, nil
}

// rdPoolFns are the callbacks of a windowed pool: begin starts a window,
// visit sees each window element inside the input (row-major window order,
// as the interpreter) with its offset in the plane and input coordinates,
// and end finishes the window at output index o within the plane.
type rdPoolFns struct {
	begin func()
	visit func(plane, off value.Value, pos []value.Value)
	end   func(plane, o value.Value, opos []value.Value)
}

// rdPoolTables holds the per-dim kernel-offset bound tables (nil where the
// dim's windows are all full).
func (k *kernel) rdPoolTables(g *rdPoolGeom) [][2]value.Value {
	tabs := make([][2]value.Value, len(g.in))
	for d := range g.in {
		if !g.full[d] {
			tabs[d] = [2]value.Value{k.constTable(g.klo[d], true), k.constTable(g.khi[d], true)}
		}
	}
	return tabs
}

// rdKRange loops over the kernel offsets along dim d whose input position
// is inside the input for output position od.
func (k *kernel) rdKRange(g *rdPoolGeom, tabs [][2]value.Value, d int, od value.Value, body func(kk value.Value)) {
	if g.full[d] {
		k.loop(g.kernel[d], body)
		return
	}
	lo := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, tabs[d][0], od))
	hi := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, tabs[d][1], od))
	k.rdLoop(lo, hi, body)
}

// rdPoolWindow emits one window: output coordinates oidx of plane pl.
func (k *kernel) rdPoolWindow(g *rdPoolGeom, tabs [][2]value.Value, pl value.Value, oidx []value.Value, fns rdPoolFns) {
	r := len(g.in)
	inStr := strides(g.in)
	fns.begin()
	pos := make([]value.Value, r)
	var rec func(d int, off value.Value)
	rec = func(d int, off value.Value) {
		if d == r {
			fns.visit(pl, off, append([]value.Value{}, pos...))
			return
		}
		start := k.b.NewSub(k.rdMul(oidx[d], g.strides[d]), i64(g.padBegin[d]))
		k.rdKRange(g, tabs, d, oidx[d], func(kk value.Value) {
			p := k.rdAdd(start, k.rdMul(kk, g.dils[d]))
			pos[d] = p
			rec(d+1, k.rdAdd(off, k.rdMul(p, inStr[d])))
		})
	}
	rec(0, i64(0))
	fns.end(pl, k.linear(oidx, strides(g.out), 0), oidx)
}

// rdPool loops over every (n, c) plane and output position of g and emits
// each window with rdPoolWindow.
func (k *kernel) rdPool(g *rdPoolGeom, planes int64, fns rdPoolFns) {
	tabs := k.rdPoolTables(g)
	k.loop(planes, func(pl value.Value) {
		k.loopNest(g.out, func(oidx []value.Value) { k.rdPoolWindow(g, tabs, pl, oidx, fns) })
	})
}

// rdInterior returns the output columns [lo, hi) of a 2-D pool whose
// windows lie entirely inside the input along the last dim.
func rdInterior(g *rdPoolGeom) (lo, hi int64) {
	d := len(g.in) - 1
	s, pb, span := g.strides[d], g.padBegin[d], (g.kernel[d]-1)*g.dils[d]
	lo = (pb + s - 1) / s
	last := g.in[d] - 1 - span + pb // largest ow*s allowed
	if last < 0 {
		return 0, 0
	}
	hi = min(last/s+1, g.out[d])
	return lo, max(lo, hi)
}

// rdPoolRows is the fast path of 2-D fp32/f64 MaxPool (without Indices)
// and AveragePool: the interior output columns of each output row are
// computed as whole rows — for each kernel tap, one loop over the columns
// that combines x into the output row — so the column loop vectorizes
// (strided loads for stride 2). Border columns use the window path. first
// combines the row's first tap (it initialises), comb the others, and
// fin (may be nil) finishes an interior element given the output row.
func (k *kernel) rdPoolRows(g *rdPoolGeom, x, y *buf, fns rdPoolFns,
	comb func(acc, v value.Value) value.Value, fin func(acc, oh value.Value) value.Value) {
	tabs := k.rdPoolTables(g)
	lo, hi := rdInterior(g)
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	inP, outP := H*W, OH*OW
	k.loop(x.shape[0]*x.shape[1], func(pl value.Value) {
		k.loop(OH, func(oh value.Value) {
			cols := func(from, n int64) {
				k.loop(n, func(i value.Value) {
					k.rdPoolWindow(g, tabs, pl, []value.Value{oh, k.rdAdd(i, i64(from))}, fns)
				})
			}
			cols(0, lo)
			orow := k.rdAdd(k.rdMul(pl, outP), k.rdMul(oh, OW))
			hstart := k.b.NewSub(k.rdMul(oh, g.strides[0]), i64(g.padBegin[0]))
			var khFirst value.Value = i64(0)
			if !g.full[0] {
				khFirst = k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, tabs[0][0], oh))
			}
			k.rdKRange(g, tabs, 0, oh, func(kh value.Value) {
				ih := k.rdAdd(hstart, k.rdMul(kh, g.dils[0]))
				irow := k.rdAdd(k.rdMul(pl, inP), k.rdMul(ih, W))
				firstRow := k.b.NewICmp(enum.IPredEQ, kh, khFirst)
				// All taps of the row in one column loop: for stride 2 the
				// loads form complete interleaved groups (ld2 on arm64).
				k.loop(hi-lo, func(i value.Value) {
					ow := k.rdAdd(i, i64(lo))
					o := k.rdAdd(orow, ow)
					base := k.rdAdd(irow, k.rdMul(ow, g.strides[1]))
					var acc value.Value
					for kw := int64(0); kw < g.kernel[1]; kw++ {
						v := k.load(x, k.rdAdd(base, i64(kw*g.dils[1]-g.padBegin[1])))
						if kw == 0 {
							acc = k.b.NewSelect(firstRow, v, comb(k.load(y, o), v))
							continue
						}
						acc = comb(acc, v)
					}
					k.store(y, o, acc)
				})
			})
			if fin != nil {
				k.loop(hi-lo, func(i value.Value) {
					o := k.rdAdd(orow, k.rdAdd(i, i64(lo)))
					k.store(y, o, fin(k.load(y, o), oh))
				})
			}
			cols(hi, OW-hi)
		})
	})
}

// maxPoolKernel compiles MaxPool (float or 8-bit integer X) with the
// optional Indices output: flat indices into X, spatial positions numbered
// column-major when storage_order is 1. The first maximal element of a
// window wins; a NaN is only kept when it comes first, as in the
// interpreter.
func maxPoolKernel(k *kernel) error {
	x, y := k.in[0], k.out[0]
	if x == nil || !(x.dt.IsFloat() && x.dt.Size() >= 2 || x.dt == ir.Int8 || x.dt == ir.Uint8) {
		return fmt.Errorf("input 0 (X) must be a float or 8-bit integer tensor")
	}
	g, err := rdPoolGeometry(k.n, x, y)
	if err != nil {
		return err
	}
	var ind *buf
	if len(k.out) > 1 {
		ind = k.out[1]
	}
	colMajor := k.n.AttrInt("storage_order", 0) == 1
	t := computeType(x.dt)
	best, bestI := k.rdSlot(t), k.rdSlot(types.I64)
	inP, outP := ir.NumElements(g.in), ir.NumElements(g.out)
	cm := make([]int64, len(g.in)) // column-major strides
	acc := int64(1)
	for d := range g.in {
		cm[d] = acc
		acc *= g.in[d]
	}
	gt := func(a, b value.Value) value.Value {
		switch {
		case x.dt.IsFloat():
			return k.b.NewFCmp(enum.FPredOGT, a, b)
		case x.dt == ir.Uint8:
			return k.b.NewICmp(enum.IPredUGT, a, b)
		}
		return k.b.NewICmp(enum.IPredSGT, a, b)
	}
	init := k.zero(x.dt)
	if x.dt.IsFloat() {
		init = rdF(t.(*types.FloatType), math.Inf(-1))
	}
	fns := rdPoolFns{begin: func() {
		k.rdSet(best, init)
		k.rdSet(bestI, i64(-1))
	}, visit: func(pl, off value.Value, pos []value.Value) {
		v := k.load(x, k.rdAdd(k.rdMul(pl, inP), off))
		b, bi := k.rdGet(t, best), k.rdGet(types.I64, bestI)
		take := k.b.NewOr(gt(v, b), k.b.NewICmp(enum.IPredSLT, bi, i64(0)))
		k.rdSet(best, k.b.NewSelect(take, v, b))
		num := off
		if colMajor {
			num = k.linear(pos, cm, 0)
		}
		k.rdSet(bestI, k.b.NewSelect(take, num, bi))
	}, end: func(pl, o value.Value, _ []value.Value) {
		oi := k.rdAdd(k.rdMul(pl, outP), o)
		k.store(y, oi, k.rdGet(t, best))
		if ind != nil {
			k.store(ind, oi, k.b.NewAdd(k.rdMul(pl, inP), k.rdGet(types.I64, bestI)))
		}
	}}
	if ind == nil && rdRowsOK(g, x, true) {
		// Strict > keeps the first maximal element, as the window path does.
		k.rdPoolRows(g, x, y, fns, func(acc, v value.Value) value.Value {
			return k.b.NewSelect(gt(v, acc), v, acc)
		}, nil)
		return nil
	}
	k.rdPool(g, x.shape[0]*x.shape[1], fns)
	return nil
}

// rdRowsOK reports whether rdPoolRows applies: 2-D, an output type that
// can hold the accumulator (fp32, f64, and for MaxPool 8-bit integers when
// ints), some interior columns, and no output row whose window misses the
// input.
func rdRowsOK(g *rdPoolGeom, x *buf, ints bool) bool {
	ok := x.dt == ir.Float32 || x.dt == ir.Float64 || ints && (x.dt == ir.Int8 || x.dt == ir.Uint8)
	if len(g.in) != 2 || !ok {
		return false
	}
	if lo, hi := rdInterior(g); hi <= lo {
		return false
	}
	for o := range g.klo[0] {
		if g.klo[0][o] >= g.khi[0][o] {
			return false
		}
	}
	return true
}

// averagePoolKernel compiles AveragePool; count_include_pad counts the
// padded positions (not the ceil_mode overhang) in the divisor; a window
// with no input element gives NaN.
func averagePoolKernel(k *kernel) error {
	include := k.n.AttrInt("count_include_pad", 0) != 0
	return k.rdSumPool(func(v value.Value) value.Value { return v }, func(s, valid, padded value.Value) value.Value {
		if include {
			return k.b.NewFDiv(s, padded)
		}
		return k.b.NewFDiv(s, valid)
	}, true, include)
}

// lpPoolKernel compiles LpPool: (Σ|x|^p)^(1/p) over each window.
func lpPoolKernel(k *kernel) error {
	p := k.n.AttrInt("p", 2)
	if p <= 0 {
		return fmt.Errorf("p = %d, want > 0", p)
	}
	step, final := k.rdLpParts(p)
	return k.rdSumPool(step, func(s, _, _ value.Value) value.Value { return final(s) }, false, false)
}

// rdLpParts returns the per-element term |v|^p and the final s^(1/p).
func (k *kernel) rdLpParts(p int64) (func(v value.Value) value.Value, func(s value.Value) value.Value) {
	if p == 2 {
		return func(v value.Value) value.Value { return k.b.NewFMul(v, v) },
			func(s value.Value) value.Value { return k.call(rdIntrinsic("llvm.sqrt", s), s.Type(), s) }
	}
	return func(v value.Value) value.Value {
			a := k.call(rdIntrinsic("llvm.fabs", v), v.Type(), v)
			return k.call(rdIntrinsic("llvm.pow", v), v.Type(), a, rdF(v.Type().(*types.FloatType), float64(p)))
		}, func(s value.Value) value.Value {
			return k.call(rdIntrinsic("llvm.pow", s), s.Type(), s, rdF(s.Type().(*types.FloatType), 1/float64(p)))
		}
}

// rdSumPool is a windowed float pool that sums term(x) over each window
// and writes final(sum, valid count, padded count). average selects the
// AveragePool row fast path (rdPoolRows), dividing interior elements by the
// padded (include) or valid element count.
func (k *kernel) rdSumPool(term func(v value.Value) value.Value, final func(s, valid, padded value.Value) value.Value, average, include bool) error {
	x, y := k.in[0], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	g, err := rdPoolGeometry(k.n, x, y)
	if err != nil {
		return err
	}
	ft := rdFloat(x.dt)
	sum, cnt := k.rdSlot(ft), k.rdSlot(types.I64)
	inP, outP := ir.NumElements(g.in), ir.NumElements(g.out)
	padTabs := make([]value.Value, len(g.in))
	for d := range g.in {
		padTabs[d] = k.constTable(g.padded[d], true)
	}
	fns := rdPoolFns{begin: func() {
		k.rdSet(sum, rdF(ft, 0))
		k.rdSet(cnt, i64(0))
	}, visit: func(pl, off value.Value, _ []value.Value) {
		v := k.rdLoadF(x, k.rdAdd(k.rdMul(pl, inP), off), ft)
		k.rdSet(sum, k.rdFAdd(k.rdGet(ft, sum), term(v)))
		k.rdSet(cnt, k.b.NewAdd(k.rdGet(types.I64, cnt), i64(1)))
	}, end: func(pl, o value.Value, opos []value.Value) {
		var padded value.Value = i64(1)
		for d := range opos {
			pd := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, padTabs[d], opos[d]))
			padded = k.b.NewMul(padded, pd)
		}
		valid := k.b.NewSIToFP(k.rdGet(types.I64, cnt), ft)
		r := final(k.rdGet(ft, sum), valid, k.b.NewSIToFP(padded, ft))
		k.rdStoreF(y, k.rdAdd(k.rdMul(pl, outP), o), r)
	}}
	if average && rdRowsOK(g, x, false) {
		// Interior elements: the whole kernel width is inside the input.
		div := make([]int64, g.out[0])
		for o := range div {
			if include {
				div[o] = g.padded[0][o] * g.kernel[1]
			} else {
				div[o] = (g.khi[0][o] - g.klo[0][o]) * g.kernel[1]
			}
		}
		divTab := k.constTable(div, true)
		k.rdPoolRows(g, x, y, fns, func(acc, v value.Value) value.Value { return k.b.NewFAdd(acc, v) },
			func(acc, oh value.Value) value.Value {
				d := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, divTab, oh))
				return k.b.NewFDiv(acc, k.b.NewSIToFP(d, ft))
			})
		return nil
	}
	k.rdPool(g, x.shape[0]*x.shape[1], fns)
	return nil
}

// globalPoolKernel compiles GlobalAveragePool, GlobalMaxPool and
// GlobalLpPool: each (n, c) plane reduces contiguously to one value.
func globalPoolKernel(kind string) kernelFunc {
	return func(k *kernel) error {
		x, y := k.in[0], k.out[0]
		if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
			return err
		}
		if len(x.shape) < 3 {
			return fmt.Errorf("input 0 (X) has shape %v, want rank >= 3 (N, C, spatial...)", x.shape)
		}
		ft := rdFloat(x.dt)
		planes, plane := x.shape[0]*x.shape[1], ir.NumElements(x.shape[2:])
		term, final := func(v value.Value) value.Value { return v }, func(s value.Value) value.Value {
			return k.b.NewFDiv(s, rdF(ft, float64(plane)))
		}
		if kind == "lp" {
			p := k.n.AttrInt("p", 2)
			if p <= 0 {
				return fmt.Errorf("p = %d, want > 0", p)
			}
			term, final = k.rdLpParts(p)
		}
		acc := k.rdSlot(ft)
		k.loop(planes, func(pl value.Value) {
			base := k.rdMul(pl, plane)
			if kind == "max" {
				k.rdStoreF(y, pl, k.rdRowExtreme(x, base, plane, ft, true, true, acc))
				return
			}
			k.rdSet(acc, rdF(ft, 0))
			k.loop(plane, func(j value.Value) {
				v := k.rdLoadF(x, k.rdAdd(base, j), ft)
				k.rdSet(acc, k.rdFAdd(k.rdGet(ft, acc), term(v)))
			})
			k.rdStoreF(y, pl, final(k.rdGet(ft, acc)))
		})
		return nil
	}
}

// maxUnpoolKernel compiles MaxUnpool: X scattered into a zero tensor at
// the flat positions I (MaxPool's Indices) of the unpooled shape, which an
// output_shape input may pad with zeros at the end of each dim. Indices
// outside the unpooled tensor are skipped (the interpreter rejects them).
func maxUnpoolKernel(k *kernel) error {
	x, ind, y := k.in[0], k.in[1], k.out[0]
	if err := rdNeedFloat(x, "input 0 (X)"); err != nil {
		return err
	}
	if ind == nil || ind.dt != ir.Int64 || ind.len() != x.len() {
		return fmt.Errorf("input 1 (I) must be i64 shaped like X %v", x.shape)
	}
	r := len(x.shape) - 2
	ks := k.n.AttrInts("kernel_shape", nil)
	if r < 1 || len(ks) != r {
		return fmt.Errorf("kernel_shape %v, want %d values", ks, r)
	}
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	st := k.n.AttrInts("strides", ones)
	pads := k.n.AttrInts("pads", make([]int64, 2*r))
	if len(st) != r || len(pads) != 2*r {
		return fmt.Errorf("strides %v and pads %v, want %d and %d values", st, pads, r, 2*r)
	}
	inferred := []int64{x.shape[0], x.shape[1]}
	for d := 0; d < r; d++ {
		inferred = append(inferred, (x.shape[d+2]-1)*st[d]+ks[d]-pads[d]-pads[d+r])
	}
	if len(y.shape) != len(inferred) {
		return fmt.Errorf("output shape %v does not match the unpooled %v", y.shape, inferred)
	}
	same := true
	for d := range inferred {
		if y.shape[d] < inferred[d] {
			return fmt.Errorf("output shape %v is smaller than the unpooled shape %v", y.shape, inferred)
		}
		same = same && y.shape[d] == inferred[d]
	}
	total := ir.NumElements(inferred)
	k.loop(y.len(), func(i value.Value) { k.store(y, i, k.zero(y.dt)) })
	inStr, outStr := strides(inferred), strides(y.shape)
	k.loop(x.len(), func(i value.Value) {
		j := k.load(ind, i)
		ok := k.b.NewAnd(k.b.NewICmp(enum.IPredSGE, j, i64(0)), k.b.NewICmp(enum.IPredSLT, j, i64(total)))
		k.ifThen(ok, func() {
			dst := j
			if !same {
				var acc value.Value = i64(0)
				for d := range inferred {
					c := k.b.NewSRem(k.b.NewSDiv(j, i64(inStr[d])), i64(inferred[d]))
					acc = k.rdAdd(acc, k.rdMul(c, outStr[d]))
				}
				dst = acc
			}
			k.store(y, dst, k.load(x, i))
		}, nil)
	})
	return nil
}
