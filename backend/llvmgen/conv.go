package llvmgen

import (
	"fmt"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Convolution. Conv with float32 data and one or two spatial dims runs on
// the register-blocked GEMM (gemm.go): the weights of each group, read in
// place, are the A operand ([M][Cg*K], broadcast per row); the B
// operand is the input itself for 1x1 stride-1 unpadded convolutions, and
// otherwise an im2col buffer in scratch filled one block of output rows at a
// time (so it stays in L2). Depthwise convolutions (one input channel per
// group) have a direct kernel vectorized over the output width. Everything
// else (other dtypes, 3-D and up) is a scalar direct loop.

// convGeom is a convolution's validated shape: batch, channels, groups and
// per spatial dim the input, kernel, output, stride, dilation and pads.
type convGeom struct {
	n, c, m, group int64
	in, kern, out  []int64
	str, dil       []int64
	padB, padE     []int64
}

// cg is the input channels per group, mg the output channels per group.
func (g *convGeom) cg() int64 { return g.c / g.group }
func (g *convGeom) mg() int64 { return g.m / g.group }

// newConvGeom reads Conv's attributes for input shape xs and weight shape ws
// (following the interpreter's windowGeometry).
func newConvGeom(n *ir.Node, xs, ws []int64) (*convGeom, error) {
	if len(xs) < 3 || len(ws) != len(xs) {
		return nil, fmt.Errorf("conv shapes %v and %v: want equal ranks >= 3", xs, ws)
	}
	r := len(xs) - 2
	g := &convGeom{n: xs[0], c: xs[1], m: ws[0], group: n.AttrInt("group", 1)}
	if g.group <= 0 || g.c%g.group != 0 || g.m%g.group != 0 || ws[1] != g.c/g.group {
		return nil, fmt.Errorf("group %d does not fit X %v and W %v", g.group, xs, ws)
	}
	g.in = xs[2:]
	g.kern = ws[2:]
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	g.str = n.AttrInts("strides", ones)
	g.dil = n.AttrInts("dilations", ones)
	g.padB, g.padE, g.out = make([]int64, r), make([]int64, r), make([]int64, r)
	if len(g.str) != r || len(g.dil) != r {
		return nil, fmt.Errorf("strides %v / dilations %v: want %d values", g.str, g.dil, r)
	}
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "NOTSET", "", "VALID":
		if ap != "VALID" {
			pads := n.AttrInts("pads", make([]int64, 2*r))
			if len(pads) != 2*r {
				return nil, fmt.Errorf("pads %v: want %d values", pads, 2*r)
			}
			copy(g.padB, pads[:r])
			copy(g.padE, pads[r:])
		}
		for i := 0; i < r; i++ {
			dk := (g.kern[i]-1)*g.dil[i] + 1
			g.out[i] = (g.in[i]+g.padB[i]+g.padE[i]-dk)/g.str[i] + 1
		}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			dk := (g.kern[i]-1)*g.dil[i] + 1
			o := (g.in[i] + g.str[i] - 1) / g.str[i]
			total := max(0, (o-1)*g.str[i]+dk-g.in[i])
			g.padB[i] = total / 2
			if ap == "SAME_LOWER" {
				g.padB[i] = total - total/2
			}
			g.padE[i] = total - g.padB[i]
			g.out[i] = o
		}
	default:
		return nil, fmt.Errorf("auto_pad %q", ap)
	}
	for _, o := range g.out {
		if o <= 0 {
			return nil, fmt.Errorf("empty conv output %v", g.out)
		}
	}
	return g, nil
}

// as2D returns the geometry of a 1-D convolution as a 2-D one with height 1.
func (g *convGeom) as2D() *convGeom {
	if len(g.in) == 2 {
		return g
	}
	h := *g
	h.in = []int64{1, g.in[0]}
	h.kern = []int64{1, g.kern[0]}
	h.out = []int64{1, g.out[0]}
	h.str = []int64{1, g.str[0]}
	h.dil = []int64{1, g.dil[0]}
	h.padB = []int64{0, g.padB[0]}
	h.padE = []int64{0, g.padE[0]}
	return &h
}

// pointwise reports a 1x1, stride-1, unpadded convolution: a plain GEMM of
// the weights with the input planes.
func (g *convGeom) pointwise() bool {
	for i := range g.in {
		if g.kern[i] != 1 || g.str[i] != 1 || g.padB[i] != 0 || g.padE[i] != 0 {
			return false
		}
	}
	return true
}

// convOptions is what a Conv kernel fuses into its store: an activation and
// a residual input (index into the node's inputs, laid out like the output;
// -1 for none). A fuse-epilogue pass registers kernels built with
// convKernelWith for its fused nodes.
type convOptions struct {
	act      activation
	residual int
}

// convKernel is the plain ONNX Conv.
func convKernel(k *kernel) error { return convKernelWith(convOptions{residual: -1})(k) }

// convKernelWith builds a Conv kernel that applies opts in the tile store.
func convKernelWith(opts convOptions) kernelFunc {
	return func(k *kernel) error {
		x, w, y := k.in[0], k.in[1], k.out[0]
		var bias, res *buf
		if len(k.in) > 2 {
			bias = k.in[2]
		}
		if opts.residual >= 0 {
			if opts.residual >= len(k.in) || k.in[opts.residual] == nil {
				return fmt.Errorf("fused residual input %d is missing", opts.residual)
			}
			res = k.in[opts.residual]
		}
		g, err := newConvGeom(k.n, x.shape, w.shape)
		if err != nil {
			return err
		}
		fast := x.dt == ir.Float32 && (len(g.in) == 1 || len(g.in) == 2) && (bias == nil || bias.dt == ir.Float32)
		if fast && g.cg() == 1 && g.mg() >= 1 && !g.pointwise() {
			k.depthwise(g.as2D(), x, w, bias, res, y, opts.act)
			return nil
		}
		if fast && w.dt == ir.Float32 {
			k.convGemm(g.as2D(), x, w, bias, res, y, opts.act)
			return nil
		}
		k.convScalar(g, x, w, bias, res, y, opts.act)
		return nil
	}
}

// im2colBudget bounds an im2col block (floats): 1 MiB.
const im2colBudget = 1 << 18

// im2colRows is how many output rows one im2col block covers.
func im2colRows(g *convGeom) int64 {
	kd := g.cg() * g.kern[0] * g.kern[1]
	return max(1, min(g.out[0], im2colBudget/(kd*g.out[1])))
}

// convScratch is Conv's scratch: the im2col block of the GEMM path.
func convScratch(n *ir.Node) int64 {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return 0
	}
	xt, wt := n.Inputs[0].Type, n.Inputs[1].Type
	if xt.DType != ir.Float32 || !xt.Ranked || !wt.Ranked || !xt.Shape.Static() || !wt.Shape.Static() {
		return 0
	}
	g, err := newConvGeom(n, xt.Shape.Sizes(), wt.Shape.Sizes())
	if err != nil || len(g.in) > 2 || g.pointwise() || g.cg() == 1 {
		return 0
	}
	g = g.as2D()
	return 4 * g.cg() * g.kern[0] * g.kern[1] * im2colLD(im2colRows(g)*g.out[1])
}

// im2colLD is the row stride of an im2col block of cols columns: rounded up
// to 16 floats (a whole vector on every target) with zeros in the padding,
// so the GEMM reads the last partial vector without a mask.
func im2colLD(cols int64) int64 { return (cols + 15) / 16 * 16 }

// convGemm emits the GEMM path of a 2-D convolution.
func (k *kernel) convGemm(g *convGeom, x, w, bias, res, y *buf, act activation) {
	cg, mg := g.cg(), g.mg()
	kd := cg * g.kern[0] * g.kern[1]
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	P := OH * OW
	k.loop(g.n, func(n value.Value) {
		k.loop(g.group, func(gi value.Value) {
			ng := k.b.NewAdd(k.b.NewMul(n, i64(g.group)), gi)
			xg := k.gep(x.ptr, k.b.NewMul(ng, i64(cg*H*W)))
			yoff := k.b.NewMul(ng, i64(mg*P))
			yg := k.gep(y.ptr, yoff)
			ep := epilogue{alpha: 1, act: act}
			if bias != nil {
				ep.rowBias = k.gep(bias.ptr, k.b.NewMul(gi, i64(mg)))
			}
			var resg value.Value
			if res != nil {
				resg = k.gep(res.ptr, yoff)
			}
			// The weights are read in place (row-major [M][Cg*K]): packing
			// them measured no faster and would double the weights in the
			// module.
			a := gemmA{ptr: k.gep(w.ptr, k.b.NewMul(gi, i64(mg*kd))), rs: kd, ks: 1}
			if g.pointwise() {
				ep.residual, ep.ldr = resg, P
				k.gemm(gemmOp{m: mg, n: P, k: cg, a: a, b: gemmB{ptr: xg, ld: P}, c: yg, ldc: P, ep: ep})
				return
			}
			rb := im2colRows(g)
			sp := k.b.NewBitCast(k.scratch, f32p)
			block := func(oh0 value.Value, rows int64) {
				k.im2col(g, xg, sp, oh0, rows)
				e := ep
				off := k.b.NewMul(oh0, i64(OW))
				if resg != nil {
					e.residual, e.ldr = k.gep(resg, off), P
				}
				k.gemm(gemmOp{m: mg, n: rows * OW, k: kd, a: a, b: gemmB{ptr: sp, ld: im2colLD(rows * OW), padded: true}, c: k.gep(yg, off), ldc: P, ep: e})
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

// fill stores the float v to p[lo:hi] (static bounds).
func (k *kernel) fill(p value.Value, lo, hi int64, v value.Value) {
	if hi <= lo {
		return
	}
	k.loop(hi-lo, func(i value.Value) {
		k.b.NewStore(v, k.gep(p, k.b.NewAdd(i, i64(lo))))
	})
}

// validRange returns the output positions [lo, hi) along a dim whose input
// position o*s - pad + kk*d lies in [0, in).
func validRange(out, in, s, pad, kk, d int64) (int64, int64) {
	off := kk*d - pad // input = o*s + off
	lo := int64(0)
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	hi := out
	if last := in - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(out, last/s+1)
	}
	if hi < lo {
		hi = lo
	}
	return min(lo, out), hi
}

// im2col fills col [Cg*KH*KW][rows*OW] (row-major) for output rows
// [oh0, oh0+rows) of one group's input planes xg.
func (k *kernel) im2col(g *convGeom, xg, col, oh0 value.Value, rows int64) {
	cg := g.cg()
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OW := g.out[1]
	ld := im2colLD(rows * OW)
	zero := constant.NewFloat(types.Float, 0)
	k.loop(cg, func(c value.Value) {
		xc := k.gep(xg, k.b.NewMul(c, i64(H*W)))
		k.loop(KH, func(kh value.Value) {
			kr0 := k.b.NewMul(k.b.NewAdd(k.b.NewMul(c, i64(KH)), kh), i64(KW))
			for kw := int64(0); kw < KW; kw++ {
				dst := k.gep(col, k.b.NewMul(k.b.NewAdd(kr0, i64(kw)), i64(ld)))
				lo, hi := validRange(OW, W, g.str[1], g.padB[1], kw, g.dil[1])
				k.fill(dst, rows*OW, ld, zero)
				k.loop(rows, func(r value.Value) {
					oh := k.b.NewAdd(oh0, r)
					ih := k.b.NewAdd(k.b.NewSub(k.b.NewMul(oh, i64(g.str[0])), i64(g.padB[0])), k.b.NewMul(kh, i64(g.dil[0])))
					drow := k.gep(dst, k.b.NewMul(r, i64(OW)))
					ok := k.b.NewICmp(enum.IPredULT, ih, i64(H))
					k.ifThen(ok, func() {
						src := k.gep(xc, k.b.NewMul(ih, i64(W)))
						k.fill(drow, 0, lo, zero)
						if hi > lo {
							k.loop(hi-lo, func(i value.Value) {
								o := k.b.NewAdd(i, i64(lo))
								iw := k.b.NewAdd(k.b.NewMul(o, i64(g.str[1])), i64(kw*g.dil[1]-g.padB[1]))
								v := k.b.NewLoad(types.Float, k.gep(src, iw))
								k.b.NewStore(v, k.gep(drow, o))
							})
						}
						k.fill(drow, hi, OW, zero)
					}, func() {
						k.fill(drow, 0, OW, zero)
					})
				})
			}
		})
	})
}

// depthwise emits a convolution with one input channel per group (output
// channel m reads input channel m/mg). Per output row, the KH input rows are
// clamped into the image with their taps' weights zeroed when the row is in
// the padding, so every column sums all KH*KW taps without branches. The
// interior columns, where every tap is inside the row, are computed in
// vector strips (accumulators in registers, bias, residual and activation
// applied before the one store); the few border columns are scalar with
// exactly their valid taps.
func (k *kernel) depthwise(g *convGeom, x, w, bias, res, y *buf, act activation) {
	mg := g.mg()
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	sw, dw, pw := g.str[1], g.dil[1], g.padB[1]
	vw := int64(k.e.cfg.VectorBits / 32)
	// interior: columns where all taps are valid (for stride-2 vector loads
	// the element after the last tap must be inside the row too)
	clo, chi := int64(0), OW
	vin := W
	if sw == 2 {
		vin = W - 1
	}
	for kw := int64(0); kw < KW; kw++ {
		lo, hi := validRange(OW, vin, sw, pw, kw, dw)
		clo, chi = max(clo, lo), min(chi, hi)
	}
	if chi < clo || sw > 2 {
		clo, chi = 0, 0
	}
	if clo+OW-chi > 32 {
		k.depthwiseRows(g, x, w, bias, res, y, act)
		return
	}
	zero := constant.NewFloat(types.Float, 0)
	k.loop(g.n*g.m, func(nm value.Value) {
		n := k.b.NewUDiv(nm, i64(g.m))
		m := k.b.NewURem(nm, i64(g.m))
		xc := k.gep(x.ptr, k.b.NewMul(k.b.NewAdd(k.b.NewMul(n, i64(g.c)), k.b.NewUDiv(m, i64(mg))), i64(H*W)))
		var bv value.Value = zero
		if bias != nil {
			bv = k.b.NewLoad(types.Float, k.gep(bias.ptr, m))
		}
		wts := make([]value.Value, KH*KW)
		for i := range wts {
			wts[i] = k.b.NewLoad(types.Float, k.gep(w.ptr, k.b.NewAdd(k.b.NewMul(m, i64(KH*KW)), i64(int64(i)))))
		}
		k.loop(OH, func(oh value.Value) {
			rowOff := k.b.NewMul(k.b.NewAdd(k.b.NewMul(nm, i64(OH)), oh), i64(OW))
			yrow := k.gep(y.ptr, rowOff)
			var rrow value.Value
			if res != nil {
				rrow = k.gep(res.ptr, rowOff)
			}
			rows := make([]value.Value, KH)
			wk := make([]value.Value, KH*KW)
			for kh := int64(0); kh < KH; kh++ {
				ih := k.b.NewAdd(k.b.NewMul(oh, i64(g.str[0])), i64(kh*g.dil[0]-g.padB[0]))
				ok := k.b.NewICmp(enum.IPredULT, ih, i64(H))
				ihc := k.b.NewSelect(ok, ih, i64(0))
				rows[kh] = k.gep(xc, k.b.NewMul(ihc, i64(W)))
				for kw := int64(0); kw < KW; kw++ {
					wk[kh*KW+kw] = k.b.NewSelect(ok, wts[kh*KW+kw], zero)
				}
			}
			// finish applies the epilogue to nv vectors of width v at
			// column o and stores them.
			finish := func(acc []value.Value, o value.Value, v int64) {
				for j, a := range acc {
					col := k.b.NewAdd(o, i64(int64(j)*v))
					var z value.Value = zero
					if v > 1 {
						z = constant.NewZeroInitializer(vecType(v))
					}
					if rrow != nil {
						a = k.b.NewFAdd(a, k.loadVec(k.gep(rrow, col), v))
					}
					k.storeVec(k.applyAct(act, a, z, v), k.gep(yrow, col), v)
				}
			}
			// strip computes nv vectors of width v starting at column o
			// (all taps valid).
			strip := func(o value.Value, nv, v int64) {
				acc := make([]value.Value, nv)
				for j := range acc {
					acc[j] = k.splat(bv, v)
				}
				for kh := int64(0); kh < KH; kh++ {
					for kw := int64(0); kw < KW; kw++ {
						wv := k.splat(wk[kh*KW+kw], v)
						for j := int64(0); j < nv; j++ {
							col := k.b.NewAdd(o, i64(j*v))
							iw := k.b.NewAdd(k.b.NewMul(col, i64(sw)), i64(kw*dw-pw))
							p := k.gep(rows[kh], iw)
							var xv value.Value
							if sw == 2 && v > 1 {
								wide := k.loadVec(p, 2*v)
								mask := make([]constant.Constant, v)
								for l := range mask {
									mask[l] = constant.NewInt(types.I32, int64(2*l))
								}
								xv = k.b.NewShuffleVector(wide, constant.NewUndef(vecType(2*v)), constant.NewVector(types.NewVector(uint64(v), types.I32), mask...))
							} else {
								xv = k.loadVec(p, v)
							}
							acc[j] = k.fma(wv, xv, acc[j], v)
						}
					}
				}
				finish(acc, o, v)
			}
			// border column o (static): scalar with its valid taps only
			border := func(o int64) {
				acc := value.Value(bv)
				for kh := int64(0); kh < KH; kh++ {
					for kw := int64(0); kw < KW; kw++ {
						iw := o*sw + kw*dw - pw
						if iw < 0 || iw >= W {
							continue
						}
						xv := k.b.NewLoad(types.Float, k.gep(rows[kh], i64(iw)))
						acc = k.fma(wk[kh*KW+kw], xv, acc, 1)
					}
				}
				finish([]value.Value{acc}, i64(o), 1)
			}
			for o := int64(0); o < clo; o++ {
				border(o)
			}
			span := chi - clo
			u := int64(2) // vectors per strip
			if vw == 1 || sw > 2 {
				u = 1
			}
			if n := span / (u * vw); n > 0 {
				k.loop(n, func(i value.Value) { strip(k.b.NewAdd(k.b.NewMul(i, i64(u*vw)), i64(clo)), u, vw) })
			}
			rest := span % (u * vw)
			o := clo + span - rest
			if rest/vw > 0 {
				strip(i64(o), rest/vw, vw)
				o += rest / vw * vw
			}
			if rest%vw > 0 {
				strip(i64(o), rest%vw, 1)
			}
			for o := max(chi, clo); o < OW; o++ {
				border(o)
			}
		})
	})
}

// convTerms are the element-level pieces of a direct convolution: how an
// input and a weight element are read (zero points already subtracted), the
// accumulator's type and start value per output channel, how products
// accumulate, and how the finished sum is written.
type convTerms struct {
	acc   types.Type
	x     func(off value.Value) value.Value
	w     func(m, idx value.Value) value.Value
	init  func(m value.Value) value.Value
	madd  func(acc, x, w value.Value) value.Value
	store func(m, yi, acc value.Value)
}

// convDirect is the general direct convolution: any rank, dtype, group and
// runtime weights; positions in the padding contribute nothing. The
// accumulator lives in an alloca that mem2reg promotes.
func (k *kernel) convDirect(g *convGeom, xshape, wshape, yshape []int64, t convTerms) {
	r := len(g.in)
	acc := k.entryAlloca(t.acc)
	cg, mg := g.cg(), g.mg()
	outDims := append([]int64{g.n, g.m}, g.out...)
	inStr, wStr, yStr := strides(xshape), strides(wshape), strides(yshape)
	k.loopNest(outDims, func(oi []value.Value) {
		n, m := oi[0], oi[1]
		k.b.NewStore(t.init(m), acc)
		gi := k.b.NewUDiv(m, i64(mg))
		inner := append([]int64{cg}, g.kern...)
		k.loopNest(inner, func(ki []value.Value) {
			c := k.b.NewAdd(k.b.NewMul(gi, i64(cg)), ki[0])
			var ok value.Value = constant.True
			var xoff value.Value = k.b.NewAdd(k.b.NewMul(n, i64(inStr[0])), k.b.NewMul(c, i64(inStr[1])))
			for d := 0; d < r; d++ {
				p := k.b.NewAdd(k.b.NewMul(oi[2+d], i64(g.str[d])), k.b.NewSub(k.b.NewMul(ki[1+d], i64(g.dil[d])), i64(g.padB[d])))
				ok = k.b.NewAnd(ok, k.b.NewICmp(enum.IPredULT, p, i64(g.in[d])))
				xoff = k.b.NewAdd(xoff, k.b.NewMul(p, i64(inStr[2+d])))
			}
			k.ifThen(ok, func() {
				var widx value.Value = k.b.NewMul(m, i64(wStr[0]))
				widx = k.b.NewAdd(widx, k.b.NewMul(ki[0], i64(wStr[1])))
				for d := 0; d < r; d++ {
					widx = k.b.NewAdd(widx, k.b.NewMul(ki[1+d], i64(wStr[2+d])))
				}
				k.b.NewStore(t.madd(k.b.NewLoad(t.acc, acc), t.x(xoff), t.w(m, widx)), acc)
			}, nil)
		})
		t.store(m, k.linear(oi, yStr, 0), k.b.NewLoad(t.acc, acc))
	})
}

// convScalar is Conv as a direct convolution in the compute type, with the
// fused residual and activation.
func (k *kernel) convScalar(g *convGeom, x, w, bias, res, y *buf, act activation) {
	ct := computeType(x.dt)
	k.convDirect(g, x.shape, w.shape, y.shape, convTerms{
		acc: ct,
		x:   func(off value.Value) value.Value { return k.load(x, off) },
		w:   func(_, idx value.Value) value.Value { return k.load(w, idx) },
		init: func(m value.Value) value.Value {
			if bias != nil {
				return k.load(bias, m)
			}
			return k.zero(x.dt)
		},
		madd: func(acc, xv, wv value.Value) value.Value {
			return k.arith("add", acc, k.arith("mul", xv, wv, x.dt), x.dt)
		},
		store: func(_, yi, v value.Value) {
			if res != nil {
				v = k.arith("add", v, k.load(res, yi), x.dt)
			}
			if act.kind != "" && ct == types.Float {
				v = k.applyAct(act, v, constant.NewFloat(types.Float, 0), 1)
			}
			k.store(y, yi, v)
		},
	})
}

// entryAlloca allocates one t in the function's entry block (so mem2reg
// promotes it).
func (k *kernel) entryAlloca(t types.Type) value.Value {
	entry := k.f.Blocks[0]
	a := ll.NewAlloca(t)
	entry.Insts = append([]ll.Instruction{a}, entry.Insts...)
	return a
}

// depthwiseRows is the depthwise kernel for shapes with many border columns
// (large strides or kernels): one input channel per group (output
// channel m reads input channel m/mg): per output row, the bias is stored
// and each kernel tap adds w*x over the valid output columns, a loop opt
// vectorizes over the output width; then the activation/residual pass.
func (k *kernel) depthwiseRows(g *convGeom, x, w, bias, res, y *buf, act activation) {
	mg := g.mg()
	KH, KW := g.kern[0], g.kern[1]
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	zero := constant.NewFloat(types.Float, 0)
	k.loop(g.n*g.m, func(nm value.Value) {
		// input plane: n*C + m/mg = (nm / M)*C + (nm % M)/mg
		n := k.b.NewUDiv(nm, i64(g.m))
		m := k.b.NewURem(nm, i64(g.m))
		xc := k.gep(x.ptr, k.b.NewMul(k.b.NewAdd(k.b.NewMul(n, i64(g.c)), k.b.NewUDiv(m, i64(mg))), i64(H*W)))
		var bv value.Value = zero
		if bias != nil {
			bv = k.b.NewLoad(types.Float, k.gep(bias.ptr, m))
		}
		wts := make([]value.Value, KH*KW)
		for i := range wts {
			wts[i] = k.b.NewLoad(types.Float, k.gep(w.ptr, k.b.NewAdd(k.b.NewMul(m, i64(KH*KW)), i64(int64(i)))))
		}
		k.loop(OH, func(oh value.Value) {
			rowOff := k.b.NewMul(k.b.NewAdd(k.b.NewMul(nm, i64(OH)), oh), i64(OW))
			yrow := k.gep(y.ptr, rowOff)
			k.fill(yrow, 0, OW, bv)
			for kh := int64(0); kh < KH; kh++ {
				ih := k.b.NewAdd(k.b.NewMul(oh, i64(g.str[0])), i64(kh*g.dil[0]-g.padB[0]))
				ok := k.b.NewICmp(enum.IPredULT, ih, i64(H))
				k.ifThen(ok, func() {
					src := k.gep(xc, k.b.NewMul(ih, i64(W)))
					for kw := int64(0); kw < KW; kw++ {
						lo, hi := validRange(OW, W, g.str[1], g.padB[1], kw, g.dil[1])
						if hi <= lo {
							continue
						}
						wv := wts[kh*KW+kw]
						k.loop(hi-lo, func(i value.Value) {
							o := k.b.NewAdd(i, i64(lo))
							iw := k.b.NewAdd(k.b.NewMul(o, i64(g.str[1])), i64(kw*g.dil[1]-g.padB[1]))
							xv := k.b.NewLoad(types.Float, k.gep(src, iw))
							yp := k.gep(yrow, o)
							k.b.NewStore(k.fma(wv, xv, k.b.NewLoad(types.Float, yp), 1), yp)
						})
					}
				}, nil)
			}
			if res != nil || act.kind != "" {
				k.loop(OW, func(o value.Value) {
					yp := k.gep(yrow, o)
					v := value.Value(k.b.NewLoad(types.Float, yp))
					if res != nil {
						v = k.b.NewFAdd(v, k.b.NewLoad(types.Float, k.gep(res.ptr, k.b.NewAdd(rowOff, o))))
					}
					k.b.NewStore(k.applyAct(act, v, zero, 1), yp)
				})
			}
		})
	})
}

// convTransposeGeom computes ConvTranspose's geometry (like the
// interpreter's): input/kernel sizes, strides, dilations, the pads and the
// output sizes from pads/auto_pad, output_padding and output_shape. Here
// in is the smaller side: input position i and kernel offset k land at
// output i*stride - padB + k*dilation.
func convTransposeGeom(n *ir.Node, xs, ws []int64) (*convGeom, error) {
	if len(xs) < 3 || len(ws) != len(xs) {
		return nil, fmt.Errorf("ConvTranspose shapes %v and %v: want equal ranks >= 3", xs, ws)
	}
	r := len(xs) - 2
	g := &convGeom{n: xs[0], c: xs[1], group: n.AttrInt("group", 1)}
	if g.group <= 0 || g.c%g.group != 0 || ws[0] != g.c {
		return nil, fmt.Errorf("group %d does not fit X %v and W %v", g.group, xs, ws)
	}
	g.m = ws[1] * g.group
	g.in, g.kern = xs[2:], ws[2:]
	ones := make([]int64, r)
	for i := range ones {
		ones[i] = 1
	}
	g.str = n.AttrInts("strides", ones)
	g.dil = n.AttrInts("dilations", ones)
	outPad := n.AttrInts("output_padding", make([]int64, r))
	outShape := n.AttrInts("output_shape", nil)
	if len(outShape) == r+2 {
		outShape = outShape[2:]
	}
	if len(g.str) != r || len(g.dil) != r || len(outPad) != r || (outShape != nil && len(outShape) != r) {
		return nil, fmt.Errorf("strides %v, dilations %v, output_padding %v, output_shape %v: want %d values", g.str, g.dil, outPad, outShape, r)
	}
	g.padB, g.padE, g.out = make([]int64, r), make([]int64, r), make([]int64, r)
	full := func(i int) int64 { return g.str[i]*(g.in[i]-1) + outPad[i] + (g.kern[i]-1)*g.dil[i] + 1 }
	switch ap := n.AttrString("auto_pad", "NOTSET"); ap {
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			o := g.in[i] * g.str[i]
			if outShape != nil {
				o = outShape[i]
			}
			total := full(i) - o
			g.padB[i] = total / 2
			if ap == "SAME_LOWER" {
				g.padB[i] = total - total/2
			}
			g.padE[i] = total - g.padB[i]
			g.out[i] = o
		}
	case "NOTSET", "", "VALID":
		pads := make([]int64, 2*r)
		if ap != "VALID" {
			pads = n.AttrInts("pads", pads)
		}
		if len(pads) != 2*r {
			return nil, fmt.Errorf("pads %v: want %d values", pads, 2*r)
		}
		copy(g.padB, pads[:r])
		copy(g.padE, pads[r:])
		for i := 0; i < r; i++ {
			if outShape != nil {
				g.out[i] = outShape[i]
			} else {
				g.out[i] = full(i) - g.padB[i] - g.padE[i]
			}
		}
	default:
		return nil, fmt.Errorf("auto_pad %q", ap)
	}
	return g, nil
}

// convTransposeKernel is ConvTranspose as a gather: output position o of
// channel m sums x[c, i] * w[c, m % mg, k] over the group's channels and the
// kernel offsets k for which o + padB - k*dilation is a non-negative
// multiple of the stride, i = that / stride, inside the input.
func convTransposeKernel(k *kernel) error {
	x, w, y := k.in[0], k.in[1], k.out[0]
	var bias *buf
	if len(k.in) > 2 {
		bias = k.in[2]
	}
	g, err := convTransposeGeom(k.n, x.shape, w.shape)
	if err != nil {
		return err
	}
	r := len(g.in)
	ct := computeType(x.dt)
	acc := k.entryAlloca(ct)
	cg, mg := g.cg(), g.mg()
	inStr, wStr, yStr := strides(x.shape), strides(w.shape), strides(y.shape)
	k.loopNest(append([]int64{g.n, g.m}, g.out...), func(oi []value.Value) {
		n, m := oi[0], oi[1]
		var init value.Value = k.zero(x.dt)
		if bias != nil {
			init = k.load(bias, m)
		}
		k.b.NewStore(init, acc)
		gi := k.b.NewUDiv(m, i64(mg))
		mc := k.b.NewURem(m, i64(mg))
		k.loopNest(append([]int64{cg}, g.kern...), func(ki []value.Value) {
			c := k.b.NewAdd(k.b.NewMul(gi, i64(cg)), ki[0])
			var ok value.Value = constant.True
			var xoff value.Value = k.b.NewAdd(k.b.NewMul(n, i64(inStr[0])), k.b.NewMul(c, i64(inStr[1])))
			for d := 0; d < r; d++ {
				t := k.b.NewSub(k.b.NewAdd(oi[2+d], i64(g.padB[d])), k.b.NewMul(ki[1+d], i64(g.dil[d])))
				ok = k.b.NewAnd(ok, k.b.NewICmp(enum.IPredSGE, t, i64(0)))
				var i value.Value = t
				if g.str[d] != 1 {
					ok = k.b.NewAnd(ok, k.b.NewICmp(enum.IPredEQ, k.b.NewSRem(t, i64(g.str[d])), i64(0)))
					i = k.b.NewSDiv(t, i64(g.str[d]))
				}
				ok = k.b.NewAnd(ok, k.b.NewICmp(enum.IPredSLT, i, i64(g.in[d])))
				xoff = k.b.NewAdd(xoff, k.b.NewMul(i, i64(inStr[2+d])))
			}
			k.ifThen(ok, func() {
				var widx value.Value = k.b.NewAdd(k.b.NewMul(c, i64(wStr[0])), k.b.NewMul(mc, i64(wStr[1])))
				for d := 0; d < r; d++ {
					widx = k.b.NewAdd(widx, k.b.NewMul(ki[1+d], i64(wStr[2+d])))
				}
				prod := k.arith("mul", k.load(x, xoff), k.load(w, widx), x.dt)
				k.b.NewStore(k.arith("add", k.b.NewLoad(ct, acc), prod, x.dt), acc)
			}, nil)
		})
		k.store(y, k.linear(oi, yStr, 0), k.b.NewLoad(ct, acc))
	})
	return nil
}

// fusedConvKernel is effc.FusedConv (made by the fuse-epilogue pass): the
// Conv kernel with the residual input 3 and the activation applied while the
// result is in registers.
func fusedConvKernel(k *kernel) error {
	opts := convOptions{residual: -1}
	if len(k.in) > 3 && k.in[3] != nil {
		opts.residual = 3
	}
	switch act := k.n.AttrString("activation", ""); act {
	case "":
	case "Relu":
		opts.act = activation{kind: "Relu"}
	case "LeakyRelu":
		opts.act = activation{kind: "LeakyRelu", lo: float64(k.n.AttrFloat("alpha", 0.01))}
	case "Clip":
		opts.act = activation{kind: "Clip", lo: float64(k.n.AttrFloat("min", 0)), hi: float64(k.n.AttrFloat("max", 0))}
	default:
		return fmt.Errorf("activation %q is not one of Relu, LeakyRelu, Clip", act)
	}
	return convKernelWith(opts)(k)
}
