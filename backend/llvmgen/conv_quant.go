package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Quantized convolutions (ConvInteger, QLinearConv) as direct convolutions
// in int32, exact like the interpreter: (x - x_zp) * (w - w_zp[m]) summed
// with padding contributing zero; QLinearConv adds the int32 bias and
// requantizes with the float32 multiplier x_scale*w_scale[m]/y_scale.

// perChannel returns the index of a scalar-or-[M] parameter for channel m.
func perChannel(b *buf, m value.Value) value.Value {
	if b == nil || b.len() == 1 {
		return i64(0)
	}
	return m
}

// quantConvTerms are the int32 terms of a quantized convolution.
func (k *kernel) quantConvTerms(x, w, xzp, wzp *buf, init func(m value.Value) value.Value, store func(m, yi, acc value.Value)) convTerms {
	return convTerms{
		acc: types.I32,
		x: func(off value.Value) value.Value {
			return k.b.NewSub(k.toI32(k.load(x, off), x.dt), k.zpAt(xzp, i64(0)))
		},
		w: func(m, idx value.Value) value.Value {
			return k.b.NewSub(k.toI32(k.load(w, idx), w.dt), k.zpAt(wzp, perChannel(wzp, m)))
		},
		init:  init,
		madd:  func(acc, xv, wv value.Value) value.Value { return k.b.NewAdd(acc, k.b.NewMul(xv, wv)) },
		store: store,
	}
}

// convIntegerKernel is ConvInteger(x, w, x_zero_point?, w_zero_point?) to
// int32.
func convIntegerKernel(k *kernel) error {
	x, w, y := k.in[0], k.in[1], k.out[0]
	var xzp, wzp *buf
	if len(k.in) > 2 {
		xzp = k.in[2]
	}
	if len(k.in) > 3 {
		wzp = k.in[3]
	}
	g, err := newConvGeom(k.n, x.shape, w.shape)
	if err != nil {
		return err
	}
	if pl := newQConvPlan(k.e.cfg, g, x, w, wzp); pl != nil {
		k.qconvGemm(pl, x, xzp, nil, nil, y, nil)
		return nil
	}
	if qDepthwiseShape(g, x, w, wzp) {
		k.qdepthwise(g, x, xzp, w, wzp, nil, nil, y, nil)
		return nil
	}
	k.convDirect(g, x.shape, w.shape, y.shape, k.quantConvTerms(x, w, xzp, wzp,
		func(value.Value) value.Value { return i32(0) },
		func(_, yi, acc value.Value) { k.b.NewStore(acc, k.elemPtr(y, yi)) }))
	return nil
}

// qlinearConvKernel is QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp,
// y_scale, y_zp, B?).
func qlinearConvKernel(k *kernel) error {
	x, xs, xzp, w, ws, wzp, ys, yzp, y := k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.in[5], k.in[6], k.in[7], k.out[0]
	var bias *buf
	if len(k.in) > 8 {
		bias = k.in[8]
	}
	if yzp == nil || (yzp.dt != ir.Uint8 && yzp.dt != ir.Int8) {
		return fmt.Errorf("y_zero_point must be a u8 or i8 scalar")
	}
	g, err := newConvGeom(k.n, x.shape, w.shape)
	if err != nil {
		return err
	}
	mult := func(m value.Value) value.Value {
		return k.b.NewFDiv(k.b.NewFMul(k.f32At(xs, i64(0)), k.f32At(ws, perChannel(ws, m))), k.f32At(ys, i64(0)))
	}
	if xs.len() == 1 && ys.len() == 1 && (ws.len() == 1 || ws.len() == g.m) && (bias == nil || bias.len() == g.m) {
		if pl := newQConvPlan(k.e.cfg, g, x, w, wzp); pl != nil {
			k.qconvGemm(pl, x, xzp, bias, yzp, y, mult)
			return nil
		}
		if qDepthwiseShape(g, x, w, wzp) {
			k.qdepthwise(g, x, xzp, w, wzp, bias, yzp, y, mult)
			return nil
		}
	}
	init := func(m value.Value) value.Value {
		if bias == nil {
			return i32(0)
		}
		return k.load(bias, m)
	}
	store := func(m, yi, acc value.Value) {
		k.b.NewStore(k.requantize(acc, mult(m), k.zpAt(yzp, i64(0)), yzp.dt), k.elemPtr(y, yi))
	}
	k.convDirect(g, x.shape, w.shape, y.shape, k.quantConvTerms(x, w, xzp, wzp, init, store))
	return nil
}

// qconvPlan is a quantized 1-D or 2-D convolution with constant weights on
// the int8 GEMM (qgemm.go): per group, the packed weights are Q ([mg] rows
// of kw words) and the activations, packed per block of output rows into
// scratch like the fp32 im2col, are P. K runs over the kernel taps and,
// inside a tap, over the group's channels padded to a multiple of G, so a
// word holds G channels of one input position (all in bounds or all
// padding).
type qconvPlan struct {
	path  qgemmPath
	g     *convGeom // as 2-D
	cgp   int64     // channels per group rounded up to G
	kw    int64     // words per output channel
	w     qWeights
	flip  bool  // activations are stored xor 0x80
	shift int64 // stored zero point = x_zp + shift
}

// newQConvPlan packs w (zero point wzp subtracted) for the target, or
// returns nil when the convolution takes the scalar kernel: runtime
// weights or weight zero points, more than two spatial dims, a depthwise
// shape, or (byte paths) weights that do not fit int8 once wzp is
// subtracted.
func newQConvPlan(cfg Config, g *convGeom, x, w, wzp *buf) *qconvPlan {
	if w.konst == nil || (wzp != nil && wzp.konst == nil) || len(g.in) > 2 || g.cg() == 1 && g.group > 1 ||
		!isQ8(x.dt) || !isQ8(w.dt) || (wzp != nil && wzp.len() != 1 && wzp.len() != g.m) {
		return nil
	}
	g = g.as2D()
	path := qgemmPathFor(cfg)
	cg := g.cg()
	cgp := (cg + path.g - 1) / path.g * path.g
	taps := g.kern[0] * g.kern[1]
	kk := taps * cgp
	wv := w.konst.Int64s()
	var zv []int64
	if wzp != nil {
		zv = wzp.konst.Int64s()
	}
	vals := make([]int64, g.m*kk)
	for m := int64(0); m < g.m; m++ {
		var z int64
		if zv != nil {
			z = zv[m%int64(len(zv))]
		}
		for c := int64(0); c < cg; c++ {
			for t := int64(0); t < taps; t++ {
				vals[m*kk+t*cgp+c] = wv[(m*cg+c)*taps+t] - z
			}
		}
	}
	if !qFits(path, vals) {
		return nil
	}
	flip, shift := qActDomain(path, x.dt)
	return &qconvPlan{path: path, g: g, cgp: cgp, kw: kk / path.g, w: qPackRows(path, vals, g.m, kk), flip: flip, shift: shift}
}

// qDepthwiseShape reports a 1-D or 2-D depthwise convolution of 8-bit
// integers (one input channel per group, several groups) with per-tensor
// or per-channel weight zero points, for qdepthwise.
func qDepthwiseShape(g *convGeom, x, w, wzp *buf) bool {
	return len(g.in) <= 2 && g.cg() == 1 && g.group > 1 && isQ8(x.dt) && isQ8(w.dt) &&
		(wzp == nil || wzp.len() == 1 || wzp.len() == g.m)
}

// isQ8 reports an 8-bit integer dtype.
func isQ8(dt ir.DType) bool { return dt == ir.Uint8 || dt == ir.Int8 }

// qWordsBudget bounds the packed activations of one block: 1 MiB.
const qWordsBudget = 1 << 18

// qTableBytes is the scratch of a per-channel table of count elements of
// size bytes each, with room for a whole vector read past the end.
func qTableBytes(count, size int64) int64 { return (size*(count+16) + 63) &^ 63 }

// qconvWords is the most words per output channel any path uses (G = 2
// needs the most), so the scratch size and the block rows do not depend on
// the target.
func qconvWords(g *convGeom) int64 { return g.kern[0] * g.kern[1] * ((g.cg() + 1) / 2) }

// qconvRows is how many output rows one block of packed activations covers.
func qconvRows(g *convGeom) int64 {
	return max(1, min(g.out[0], qWordsBudget/(qconvWords(g)*g.out[1])))
}

// qconvScratch is the scratch of QLinearConv and ConvInteger on the int8
// GEMM: the per-channel addend and multiplier tables and one block of packed
// activations (reserved whenever the shapes allow the GEMM path).
func qconvScratch(wIdx int) func(n *ir.Node) int64 {
	return func(n *ir.Node) int64 {
		if len(n.Inputs) <= wIdx || n.Inputs[0] == nil || n.Inputs[wIdx] == nil {
			return 0
		}
		xt, wt := n.Inputs[0].Type, n.Inputs[wIdx].Type
		if !xt.Ranked || !wt.Ranked || !xt.Shape.Static() || !wt.Shape.Static() {
			return 0
		}
		g, err := newConvGeom(n, xt.Shape.Sizes(), wt.Shape.Sizes())
		if err != nil || len(g.in) > 2 {
			return 0
		}
		g = g.as2D()
		rows := qconvRows(g)
		return qTableBytes(g.m, 4) + qTableBytes(g.m, 8) + 4*qconvWords(g)*im2colLD(rows*g.out[1])
	}
}

func init() {
	scratchNeeds["ConvInteger"] = qconvScratch(1)
	scratchNeeds["QLinearConv"] = qconvScratch(3)
}

// qconvGemm emits the int8 GEMM form of a convolution planned by pl: a
// prologue fills the per-channel tables (bias minus the zero-point
// correction; the requantization multipliers when mult is not nil), then
// per image, group and block of output rows the activations are packed and
// multiplied. y is int32 (ConvInteger) or requantized with zero point yzp.
func (k *kernel) qconvGemm(pl *qconvPlan, x, xzp, bias, yzp, y *buf, mult func(m value.Value) value.Value) {
	g, path := pl.g, pl.path
	cg, mg := g.cg(), g.mg()
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	addBytes, mulBytes := qTableBytes(g.m, 4), qTableBytes(g.m, 8)
	i32p := types.NewPointer(types.I32)
	addT := k.b.NewBitCast(k.scratch, i32p)
	mulT := k.b.NewBitCast(k.b.NewGetElementPtr(types.I8, k.scratch, i64(addBytes)), types.NewPointer(types.Double))
	pbuf := k.b.NewBitCast(k.b.NewGetElementPtr(types.I8, k.scratch, i64(addBytes+mulBytes)), i32p)
	xz := k.zpAt(xzp, i64(0))
	hasAdd := path.bytes() || bias != nil
	var sums value.Value
	if path.bytes() {
		sums = k.constTable(pl.w.sums, false)
	}
	xzEff := k.b.NewAdd(xz, i32(pl.shift))
	k.loop(g.m, func(m value.Value) {
		if hasAdd {
			var a value.Value = i32(0)
			if bias != nil {
				a = k.load(bias, m)
			}
			if path.bytes() {
				s := k.b.NewLoad(types.I32, k.gepI32(sums, m))
				a = k.b.NewSub(a, k.b.NewMul(xzEff, s))
			}
			k.b.NewStore(a, k.gepI32(addT, m))
		}
		if mult != nil {
			k.b.NewStore(k.b.NewFPExt(mult(m), types.Double), k.b.NewGetElementPtr(types.Double, mulT, m))
		}
	})
	var addP value.Value
	if hasAdd {
		addP = addT
	}
	var zy value.Value
	if yzp != nil {
		zy = k.zpAt(yzp, i64(0))
	}
	wq := k.constWords(pl.w.words)
	rb := qconvRows(g)
	k.loop(g.n, func(n value.Value) {
		k.loop(g.group, func(gi value.Value) {
			ng := k.b.NewAdd(k.b.NewMul(n, i64(g.group)), gi)
			xg := k.gepElem(x.ptr, x.dt, k.b.NewMul(ng, i64(cg*H*W)))
			yoff := k.b.NewMul(ng, i64(mg*OH*OW))
			m0 := k.b.NewMul(gi, i64(mg))
			op := qgemmOp{m: mg, kg: pl.kw, q: k.gepI32(wq, k.b.NewMul(m0, i64(pl.kw))), qrs: pl.kw, pAct: true,
				ldc: OH * OW, out: y.dt, perRow: true}
			if addP != nil {
				op.add = k.gepI32(addP, m0)
			}
			if mult != nil {
				op.mul = k.b.NewGetElementPtr(types.Double, mulT, m0)
				op.yzp = zy
			}
			block := func(oh0 value.Value, rows int64) {
				ld := im2colLD(rows * OW)
				k.qIm2col(pl, x.dt, xg, pbuf, oh0, rows, ld, xz)
				o := op
				o.n, o.p, o.pld = rows*OW, pbuf, ld
				o.c = k.gepElem(y.ptr, y.dt, k.b.NewAdd(yoff, k.b.NewMul(oh0, i64(OW))))
				k.qgemm(o)
			}
			if nb := OH / rb; nb > 0 {
				k.loop(nb, func(bi value.Value) { block(k.b.NewMul(bi, i64(rb)), rb) })
			}
			if rr := OH % rb; rr > 0 {
				block(i64(OH-rr), rr)
			}
		})
	})
}

// qIm2col packs output rows [oh0, oh0+rows) of one group's input planes xg
// into dst as [kw][ld] words (G values of K per word, in the path's
// operand type): per kernel tap, per G channels, per output position the
// G input values at that position, or the padding (the zero point) outside
// the image. Channels past the group's end repeat its last channel (their
// weights are zero).
func (k *kernel) qIm2col(pl *qconvPlan, dt ir.DType, xg, dst value.Value, oh0 value.Value, rows, ld int64, xz value.Value) {
	g, path := pl.g, pl.path
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OW := g.out[1]
	cw := pl.cgp / path.g // words per tap
	var xz16 value.Value
	if !path.bytes() {
		xz16 = k.b.NewTrunc(xz, types.I16)
	}
	// conv maps a stored input byte to the operand type.
	conv := func(raw value.Value) value.Value {
		if path.bytes() {
			if pl.flip {
				return k.b.NewXor(raw, constant.NewInt(types.I8, -128))
			}
			return raw
		}
		if dt == ir.Int8 {
			return k.b.NewSub(k.b.NewSExt(raw, types.I16), xz16)
		}
		return k.b.NewSub(k.b.NewZExt(raw, types.I16), xz16)
	}
	// the padding word: G copies of the zero point in the operand type
	var pad value.Value = i32(0)
	if path.bytes() {
		pad = k.b.NewMul(k.b.NewZExt(conv(k.b.NewTrunc(xz, types.I8)), types.I32), i32(0x01010101))
	}
	k.loop(KH, func(kh value.Value) {
		for kw := int64(0); kw < KW; kw++ {
			lo, hi := validRange(OW, W, g.str[1], g.padB[1], kw, g.dil[1])
			tap := k.b.NewAdd(k.b.NewMul(kh, i64(KW)), i64(kw))
			k.loop(cw, func(cb value.Value) {
				planes := make([]value.Value, path.g)
				for s := range planes {
					var c value.Value = k.b.NewAdd(k.b.NewMul(cb, i64(path.g)), i64(int64(s)))
					if pl.cgp != g.cg() {
						c = k.b.NewSelect(k.b.NewICmp(enum.IPredULT, c, i64(g.cg())), c, i64(g.cg()-1))
					}
					planes[s] = k.gepElem(xg, dt, k.b.NewMul(c, i64(H*W)))
				}
				t := k.b.NewAdd(k.b.NewMul(tap, i64(cw)), cb)
				wrow := k.gepI32(dst, k.b.NewMul(t, i64(ld)))
				k.loop(rows, func(r value.Value) {
					oh := k.b.NewAdd(oh0, r)
					ih := k.b.NewAdd(k.b.NewSub(k.b.NewMul(oh, i64(g.str[0])), i64(g.padB[0])), k.b.NewMul(kh, i64(g.dil[0])))
					drow := k.gepI32(wrow, k.b.NewMul(r, i64(OW)))
					k.ifThen(k.b.NewICmp(enum.IPredULT, ih, i64(H)), func() {
						k.fillI32(drow, 0, lo, pad)
						if hi > lo {
							srcs := make([]value.Value, path.g)
							for s := range srcs {
								srcs[s] = k.gepElem(planes[s], dt, k.b.NewMul(ih, i64(W)))
							}
							k.loop(hi-lo, func(i value.Value) {
								o := k.b.NewAdd(i, i64(lo))
								iw := k.b.NewAdd(k.b.NewMul(o, i64(g.str[1])), i64(kw*g.dil[1]-g.padB[1]))
								// the word, built with shifts so that opt
								// vectorizes it as G loads and one store
								var word value.Value = i32(0)
								for s := range srcs {
									var v value.Value = k.b.NewZExt(conv(k.b.NewLoad(types.I8, k.b.NewGetElementPtr(types.I8, srcs[s], iw))), types.I32)
									if s > 0 {
										v = k.b.NewShl(v, i32(int64(s)*32/path.g))
									}
									word = k.b.NewOr(word, v)
								}
								k.b.NewStore(word, k.gepI32(drow, o))
							})
						}
						k.fillI32(drow, hi, OW, pad)
					}, func() {
						k.fillI32(drow, 0, OW, pad)
					})
				})
			})
		}
	})
}

// fillI32 stores the i32 v to p[lo:hi] (static bounds).
func (k *kernel) fillI32(p value.Value, lo, hi int64, v value.Value) {
	if hi <= lo {
		return
	}
	k.loop(hi-lo, func(i value.Value) {
		k.b.NewStore(v, k.gepI32(p, k.b.NewAdd(i, i64(lo))))
	})
}

// qdepthwise is a quantized convolution with one input channel per group
// (depthwise; output channel m reads input channel m/mg), with runtime or
// constant weights, vectorized over the output width like the fp32
// depthwise kernel: per output row the KH input rows are clamped into the
// image with their taps' weights zeroed when the row is in the padding; the
// interior columns (every tap inside the row) are computed in vectors of
// int32 accumulators, (x - x_zp) * (w - w_zp[m]) per tap from a vector load
// of the input bytes (strided loads take every s-th byte of a wider load),
// then the bias and the requantization (mult gives channel m's multiplier;
// nil for ConvInteger's int32 output) before one store; the border columns
// use the same code one lane wide with only their valid taps.
func (k *kernel) qdepthwise(g *convGeom, x, xzp, w, wzp, bias, yzp, y *buf, mult func(m value.Value) value.Value) {
	g = g.as2D()
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	sw, dw, pw := g.str[1], g.dil[1], g.padB[1]
	clo, chi := int64(0), OW
	for kw := int64(0); kw < KW; kw++ {
		lo, hi := validRange(OW, W, sw, pw, kw, dw)
		clo, chi = max(clo, lo), min(chi, hi)
	}
	if chi < clo {
		clo, chi = 0, 0
	}
	if clo+OW-chi > 32 {
		k.qdepthwiseRows(g, x, xzp, w, wzp, bias, yzp, y, mult)
		return
	}
	vl := int64(k.e.cfg.VectorBits / 32)
	fexact := qdwFloatExact(KH * KW)
	xz := k.zpAt(xzp, i64(0))
	var zy value.Value
	if yzp != nil {
		zy = k.zpAt(yzp, i64(0))
	}
	ext := func(v value.Value, n int64) value.Value {
		if x.dt == ir.Int8 {
			return k.b.NewSExt(v, ivec(n, types.I32))
		}
		return k.b.NewZExt(v, ivec(n, types.I32))
	}
	k.loop(g.n*g.m, func(nm value.Value) {
		m, xc, wts, b0 := k.qdepthwiseChannel(g, nm, x, w, wzp, bias)
		var mul value.Value
		if mult != nil {
			mul = k.b.NewFPExt(mult(m), types.Double)
		}
		k.loop(OH, func(oh value.Value) {
			yrow := k.b.NewMul(k.b.NewAdd(k.b.NewMul(nm, i64(OH)), oh), i64(OW))
			rows := make([]value.Value, KH)
			wk := make([]value.Value, KH*KW)
			for kh := int64(0); kh < KH; kh++ {
				ih := k.b.NewAdd(k.b.NewMul(oh, i64(g.str[0])), i64(kh*g.dil[0]-g.padB[0]))
				ok := k.b.NewICmp(enum.IPredULT, ih, i64(H))
				rows[kh] = k.gepElem(xc, x.dt, k.b.NewMul(k.b.NewSelect(ok, ih, i64(0)), i64(W)))
				for kw := int64(0); kw < KW; kw++ {
					wk[kh*KW+kw] = k.b.NewSelect(ok, wts[kh*KW+kw], i32(0))
				}
			}
			// The interior chunks accumulate in float32 (see qdwFloatExact):
			// per tap one byte-to-float conversion and one FMA, like the
			// fp32 kernel, instead of a widening, a subtraction and an
			// int32 multiply (vpmulld); the zero point is taken out once
			// per row: sum((x - xz) * w) = sum(x * w) - xz * sum(w).
			var wkf []value.Value
			var corr value.Value
			if fexact {
				wkf = make([]value.Value, KH*KW)
				var ws value.Value = i32(0)
				for i := range wk {
					wkf[i] = k.b.NewSIToFP(wk[i], types.Float)
					ws = k.b.NewAdd(ws, wk[i])
				}
				corr = k.b.NewSub(b0, k.b.NewMul(xz, ws))
			}
			// fchunk computes the interior columns [o, o+v) in float32.
			fchunk := func(o value.Value, v int64) {
				ft := ivec(v, types.Float)
				var acc value.Value = constant.NewZeroInitializer(ft)
				for kh := int64(0); kh < KH; kh++ {
					for kw := int64(0); kw < KW; kw++ {
						iw := k.b.NewAdd(k.b.NewMul(o, i64(sw)), i64(kw*dw-pw))
						// strided: a load of v*sw bytes (a power-of-two
						// vector that LLVM deinterleaves well, where
						// (v-1)*sw+1 bytes is scalarized), started adj
						// bytes early so that it stays inside the row for
						// every interior vector; else the exact span
						span, adj := (v-1)*sw+1, int64(0)
						if sw > 1 {
							if a, ok := qdwStridedAdj(clo, chi, v, sw, kw*dw-pw, W); ok {
								span, adj = v*sw, a
							}
						}
						p := k.b.NewGetElementPtr(types.I8, rows[kh], k.b.NewSub(iw, i64(adj)))
						xv := k.loadAligned1(ivec(span, types.I8), p)
						if span != v {
							lanes := make([]constant.Constant, v)
							for l := range lanes {
								lanes[l] = i32(int64(l)*sw + adj)
							}
							xv = k.b.NewShuffleVector(xv, constant.NewUndef(ivec(span, types.I8)), constant.NewVector(ivec(v, types.I32), lanes...))
						}
						var xf value.Value
						if x.dt == ir.Int8 {
							xf = k.b.NewSIToFP(xv, ft)
						} else {
							xf = k.b.NewUIToFP(xv, ft)
						}
						acc = k.fma(xf, k.splatN(wkf[kh*KW+kw], v, types.Float), acc, v)
					}
				}
				ai := k.b.NewAdd(k.b.NewFPToSI(acc, ivec(v, types.I32)), k.splatN(corr, v, types.I32))
				yp := k.gepElem(y.ptr, y.dt, k.b.NewAdd(yrow, o))
				if mult == nil {
					k.storeAligned1(ai, yp)
					return
				}
				k.storeAligned1(k.qRequant(ai, k.splatN(mul, v, types.Double), zy, v, y.dt), yp)
			}
			// chunk computes columns [o, o+v) with the taps valid says.
			chunk := func(o value.Value, v int64, valid func(kw int64) bool) {
				acc := k.splatN(b0, v, types.I32)
				zx := k.splatN(xz, v, types.I32)
				for kh := int64(0); kh < KH; kh++ {
					for kw := int64(0); kw < KW; kw++ {
						if !valid(kw) {
							continue
						}
						iw := k.b.NewAdd(k.b.NewMul(o, i64(sw)), i64(kw*dw-pw))
						p := k.b.NewGetElementPtr(types.I8, rows[kh], iw)
						span := (v-1)*sw + 1
						xv := k.loadAligned1(ivec(span, types.I8), p)
						if span != v {
							lanes := make([]constant.Constant, v)
							for l := range lanes {
								lanes[l] = i32(int64(l) * sw)
							}
							xv = k.b.NewShuffleVector(xv, constant.NewUndef(ivec(span, types.I8)), constant.NewVector(ivec(v, types.I32), lanes...))
						}
						xs := k.b.NewSub(ext(xv, v), zx)
						acc = k.b.NewAdd(acc, k.b.NewMul(xs, k.splatN(wk[kh*KW+kw], v, types.I32)))
					}
				}
				yp := k.gepElem(y.ptr, y.dt, k.b.NewAdd(yrow, o))
				if mult == nil {
					k.storeAligned1(acc, yp)
					return
				}
				k.storeAligned1(k.qRequant(acc, k.splatN(mul, v, types.Double), zy, v, y.dt), yp)
			}
			all := func(int64) bool { return true }
			border := func(o int64) {
				chunk(i64(o), 1, func(kw int64) bool {
					iw := o*sw + kw*dw - pw
					return iw >= 0 && iw < W
				})
			}
			for o := int64(0); o < clo; o++ {
				border(o)
			}
			span := chi - clo
			if nv := span / vl; nv > 0 {
				k.loop(nv, func(i value.Value) {
					o := k.b.NewAdd(k.b.NewMul(i, i64(vl)), i64(clo))
					if fexact {
						fchunk(o, vl)
					} else {
						chunk(o, vl, all)
					}
				})
			}
			if rest := span % vl; rest > 0 && span >= vl {
				// the last vl interior columns again, overlapping the
				// previous vector: they store the same values
				if fexact {
					fchunk(i64(chi-vl), vl)
				} else {
					chunk(i64(chi-vl), vl, all)
				}
			} else if rest > 0 {
				k.loop(rest, func(i value.Value) { chunk(k.b.NewAdd(i, i64(chi-rest)), 1, all) })
			}
			for o := max(chi, clo); o < OW; o++ {
				border(o)
			}
		})
	})
}

// qdepthwiseChannel sets up the (batch, channel) pair nm of a depthwise
// quantized convolution: it returns the output channel m, the input
// plane it reads, the KH·KW taps as int32 (w - w_zp[m]) and the int32 bias
// (0 without one).
func (k *kernel) qdepthwiseChannel(g *convGeom, nm value.Value, x, w, wzp, bias *buf) (m, xc value.Value, wts []value.Value, b0 value.Value) {
	n := k.b.NewUDiv(nm, i64(g.m))
	m = k.b.NewURem(nm, i64(g.m))
	xc = k.gepElem(x.ptr, x.dt, k.b.NewMul(k.b.NewAdd(k.b.NewMul(n, i64(g.c)), k.b.NewUDiv(m, i64(g.mg()))), i64(g.in[0]*g.in[1])))
	wz := k.zpAt(wzp, perChannel(wzp, m))
	taps := g.kern[0] * g.kern[1]
	wts = make([]value.Value, taps)
	for i := range wts {
		wi := k.b.NewAdd(k.b.NewMul(m, i64(taps)), i64(int64(i)))
		wts[i] = k.b.NewSub(k.toI32(k.load(w, wi), w.dt), wz)
	}
	b0 = i32(0)
	if bias != nil {
		b0 = k.load(bias, m)
	}
	return m, xc, wts, b0
}

// loadAligned1 loads a value of type t from p (any pointer) with align 1.
func (k *kernel) loadAligned1(t types.Type, p value.Value) value.Value {
	ld := k.b.NewLoad(t, k.b.NewBitCast(p, types.NewPointer(t)))
	ld.Align = 1
	return ld
}

// storeAligned1 stores x at p (any pointer, cast to x's type) with align 1.
func (k *kernel) storeAligned1(x, p value.Value) {
	st := k.b.NewStore(x, k.b.NewBitCast(p, types.NewPointer(x.Type())))
	st.Align = 1
}

// qdepthwiseRows is qdepthwise for shapes with many border columns (large
// strides, kernels or pads): per output row, an int32 row in scratch starts
// at the bias and each kernel tap adds (x - x_zp) * (w - w_zp[m]) over the
// output columns whose input is inside the image (the padding adds
// nothing); a second loop stores the row as int32 or requantized.
func (k *kernel) qdepthwiseRows(g *convGeom, x, xzp, w, wzp, bias, yzp, y *buf, mult func(m value.Value) value.Value) {
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	acc := k.b.NewBitCast(k.scratch, types.NewPointer(types.I32))
	xz := k.zpAt(xzp, i64(0))
	var zy value.Value
	if yzp != nil {
		zy = k.zpAt(yzp, i64(0))
	}
	k.loop(g.n*g.m, func(nm value.Value) {
		m, xc, wts, b0 := k.qdepthwiseChannel(g, nm, x, w, wzp, bias)
		var mul value.Value
		if mult != nil {
			mul = mult(m)
		}
		k.loop(OH, func(oh value.Value) {
			k.fillI32(acc, 0, OW, b0)
			for kh := int64(0); kh < KH; kh++ {
				ih := k.b.NewAdd(k.b.NewMul(oh, i64(g.str[0])), i64(kh*g.dil[0]-g.padB[0]))
				k.ifThen(k.b.NewICmp(enum.IPredULT, ih, i64(H)), func() {
					src := k.gepElem(xc, x.dt, k.b.NewMul(ih, i64(W)))
					for kw := int64(0); kw < KW; kw++ {
						lo, hi := validRange(OW, W, g.str[1], g.padB[1], kw, g.dil[1])
						if hi <= lo {
							continue
						}
						wv := wts[kh*KW+kw]
						k.loop(hi-lo, func(i value.Value) {
							o := k.b.NewAdd(i, i64(lo))
							iw := k.b.NewAdd(k.b.NewMul(o, i64(g.str[1])), i64(kw*g.dil[1]-g.padB[1]))
							xv := k.b.NewSub(k.toI32(k.b.NewLoad(types.I8, k.b.NewGetElementPtr(types.I8, src, iw)), x.dt), xz)
							ap := k.gepI32(acc, o)
							k.b.NewStore(k.b.NewAdd(k.b.NewLoad(types.I32, ap), k.b.NewMul(xv, wv)), ap)
						})
					}
				}, nil)
			}
			row := k.b.NewMul(k.b.NewAdd(k.b.NewMul(nm, i64(OH)), oh), i64(OW))
			k.loop(OW, func(o value.Value) {
				a := k.b.NewLoad(types.I32, k.gepI32(acc, o))
				yi := k.b.NewAdd(row, o)
				if mult == nil {
					k.b.NewStore(a, k.elemPtr(y, yi))
					return
				}
				k.b.NewStore(k.requantize(a, mul, zy, y.dt), k.elemPtr(y, yi))
			})
		})
	})
}

// qdwFloatExact reports whether qdepthwise may accumulate a window of taps
// kernel taps in float32 and get the interpreter's int32 sum exactly. Each
// term is x * (w - w_zp) with x an 8-bit value (|x| <= 255) and
// |w - w_zp| <= 255, an integer of magnitude <= 65025 < 2^24, so its float32
// product is exact; every partial sum of at most taps such terms is an
// integer of magnitude <= taps * 65025, exact in float32 while that is at
// most 2^24 (taps <= 258; a 3x3 window sums to at most 585225). An FMA or a
// multiply then an add of exact operands whose exact result is
// representable returns that result, so the float32 accumulator equals the
// integer sum in any order, and fptosi converts it exactly. The zero-point
// correction xz * sum(w - w_zp) and the bias are added in int32, which is
// the interpreter's sum((x - xz) * (w - w_zp)) + bias.
func qdwFloatExact(taps int64) bool { return taps*255*255 <= 1<<24 }

// qdwStridedAdj returns how many bytes before its first column a load of
// v*sw bytes starts for qdepthwise's interior vectors of v lanes (output
// columns o in [clo, chi-v], input columns o*sw + off + l*sw) so that it
// stays inside the row of W bytes for every such o, and whether one exists
// (adj < sw: the lanes are the bytes adj, adj+sw, ...).
func qdwStridedAdj(clo, chi, v, sw, off, W int64) (int64, bool) {
	first := clo*sw + off           // the first byte of the first vector
	last := (chi-v)*sw + off + v*sw // one past the last vector's load at adj 0
	adj := max(0, last-W)
	return adj, adj < sw && first-adj >= 0
}
