package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// DFT and STFT as the interpreter computes them (interp/signal.go): a
// direct O(n²) transform in double precision with twiddles e^{-2πi m/n}
// indexed by j·k mod n. A transform length known at compile time uses a
// constant twiddle table computed with Go's math.Sincos like the
// interpreter; STFT's runtime frame_length fills a scratch table with libm
// sin/cos once per run.

func init() {
	scratchNeeds["STFT"] = func(n *ir.Node) int64 {
		if len(n.Inputs) == 0 || n.Inputs[0] == nil || !n.Inputs[0].Type.Ranked || len(n.Inputs[0].Type.Shape) != 3 {
			return 0
		}
		l := n.Inputs[0].Type.Shape.Sizes()[1]
		if l < 0 {
			return 0
		}
		return 16 * l
	}
}

// twiddleTable returns pointers to cos and sin of -2πm/n for m < n, a
// compile-time constant table.
func (k *kernel) twiddleTable(n int64) (re, im value.Value) {
	c := make([]float64, n)
	s := make([]float64, n)
	for m := range c {
		s[m], c[m] = math.Sincos(-2 * math.Pi * float64(m) / float64(n))
	}
	return k.mxF64Table(c), k.mxF64Table(s)
}

// runtimeTwiddles fills scratch with cos and sin of -2πm/n for a runtime n
// (at most maxN) and returns pointers to both halves.
func (k *kernel) runtimeTwiddles(n value.Value, maxN int64) (re, im value.Value) {
	sc := k.b.NewBitCast(k.scratch, types.NewPointer(f64))
	re = sc
	im = k.b.NewGetElementPtr(f64, sc, i64(maxN))
	nf := k.b.NewSIToFP(n, f64)
	k.mxLoopV(n, func(m value.Value) {
		a := k.b.NewFDiv(k.b.NewFMul(mxF64c(-2*math.Pi), k.b.NewSIToFP(m, f64)), nf)
		k.b.NewStore(k.call("cos", f64, a), k.b.NewGetElementPtr(f64, re, m))
		k.b.NewStore(k.call("sin", f64, a), k.b.NewGetElementPtr(f64, im, m))
	})
	return re, im
}

// dftLine emits out[k] = Σ_{j<avail} line(j) · w^(jk mod n) for k < bins,
// conjugated twiddles and a 1/n scale when inverse; store receives each bin.
func (k *kernel) dftLine(bins int64, n, avail value.Value, twRe, twIm value.Value, inverse bool,
	line func(j value.Value) (re, im value.Value), store func(kk, re, im value.Value)) {
	k.loop(bins, func(kk value.Value) {
		sr := k.mxLocal(f64, mxF64c(0))
		si := k.mxLocal(f64, mxF64c(0))
		m := k.mxLocal(types.I64, i64(0))
		k.mxLoopV(avail, func(j value.Value) {
			mv := k.mxGet(m)
			wr := k.mxAt(f64, twRe, mv)
			wi := k.mxAt(f64, twIm, mv)
			if inverse {
				wi = k.b.NewFNeg(wi)
			}
			xr, xi := line(j)
			pr := k.b.NewFSub(k.b.NewFMul(xr, wr), k.b.NewFMul(xi, wi))
			pi := k.b.NewFAdd(k.b.NewFMul(xr, wi), k.b.NewFMul(xi, wr))
			k.mxSet(sr, k.b.NewFAdd(k.mxGet(sr), pr))
			k.mxSet(si, k.b.NewFAdd(k.mxGet(si), pi))
			var next value.Value = k.b.NewAdd(mv, kk)
			next = k.b.NewSelect(k.b.NewICmp(enum.IPredSGE, next, n), k.b.NewSRem(next, n), next)
			k.mxSet(m, next)
		})
		re, im := k.mxGet(sr), k.mxGet(si)
		if inverse {
			nf := k.b.NewSIToFP(n, f64)
			re, im = k.b.NewFDiv(re, nf), k.b.NewFDiv(im, nf)
		}
		store(kk, re, im)
	})
}

// complexAt reads element pos of a [..., 1 or 2] real or complex tensor.
func (k *kernel) complexAt(x *buf, pos value.Value) (re, im value.Value) {
	c := x.shape[len(x.shape)-1]
	base := k.b.NewMul(pos, i64(c))
	re = k.mxLoadF64(x, base)
	if c == 2 {
		return re, k.mxLoadF64(x, k.b.NewAdd(base, i64(1)))
	}
	return re, mxF64c(0)
}

// dftKernel compiles DFT (opset 17). The transform length must be known at
// compile time: no dft_length, a constant one, or (when not onesided) the
// output's static bin count.
func dftKernel(k *kernel) error {
	x, out := k.in[0], k.out[0]
	r := len(x.shape)
	if r < 2 || (x.shape[r-1] != 1 && x.shape[r-1] != 2) {
		return fmt.Errorf("input has shape %v, want [..., 1 or 2]", x.shape)
	}
	axis, err := k.axisAttr("axis", 1, r)
	if err != nil {
		return err
	}
	if axis == 0 || axis == r-1 {
		return fmt.Errorf("axis %d is the batch or the real/imaginary dim", axis)
	}
	inverse, onesided := k.n.AttrInt("inverse", 0) != 0, k.n.AttrInt("onesided", 0) != 0
	size := x.shape[axis]
	bins := out.shape[axis]
	length := size
	if l := k.mxInput(1); l != nil {
		switch {
		case l.konst != nil:
			length = l.konst.Int64s()[0]
		case !onesided:
			length = bins
		default:
			return fmt.Errorf("a onesided DFT needs a constant dft_length to compile")
		}
	}
	if length < 1 {
		return fmt.Errorf("dft_length %d, want >= 1", length)
	}
	outer := ir.NumElements(x.shape[:axis])
	inner := ir.NumElements(x.shape[axis+1 : r-1])
	twRe, twIm := k.twiddleTable(length)
	k.loop(outer, func(o value.Value) {
		k.loop(inner, func(i value.Value) {
			line := func(j value.Value) (value.Value, value.Value) {
				return k.complexAt(x, k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(size)), j), i64(inner)), i))
			}
			store := func(kk, re, im value.Value) {
				p := k.b.NewMul(k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(bins)), kk), i64(inner)), i), i64(2))
				k.mxStoreF64(out, p, re)
				k.mxStoreF64(out, k.b.NewAdd(p, i64(1)), im)
			}
			k.dftLine(bins, i64(length), i64(min(size, length)), twRe, twIm, inverse, line, store)
		})
	})
	return nil
}

// stftKernel compiles STFT with a runtime frame_step and, without a window,
// a runtime frame_length (clamped into [1, signal length]).
func stftKernel(k *kernel) error {
	x, out := k.in[0], k.out[0]
	if len(x.shape) != 3 || len(out.shape) != 4 {
		return fmt.Errorf("signal %v or output %v has the wrong rank", x.shape, out.shape)
	}
	batch, length := x.shape[0], x.shape[1]
	frames, bins := out.shape[1], out.shape[2]
	step := k.mxLoadInt(k.in[1], i64(0))
	window := k.mxInput(2)
	var n value.Value
	var twRe, twIm value.Value
	switch {
	case window != nil:
		flen := window.len()
		n = i64(flen)
		twRe, twIm = k.twiddleTable(flen)
	case k.mxInput(3) != nil:
		n = k.mxClamp(k.mxLoadInt(k.in[3], i64(0)), 1, length)
		twRe, twIm = k.runtimeTwiddles(n, length)
	default:
		return fmt.Errorf("neither window nor frame_length is given")
	}
	k.loop(batch, func(b value.Value) {
		k.loop(frames, func(f value.Value) {
			start := k.b.NewAdd(k.b.NewMul(b, i64(length)), k.b.NewMul(f, step))
			last := k.b.NewAdd(k.b.NewMul(b, i64(length)), i64(length-1))
			line := func(j value.Value) (value.Value, value.Value) {
				// A frame_step too large for the static frame count would
				// read past the signal row; clamp instead.
				var idx value.Value = k.b.NewAdd(start, j)
				idx = k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, idx, last), last, idx)
				re, im := k.complexAt(x, idx)
				if window != nil {
					w := k.mxLoadF64(window, j)
					re, im = k.b.NewFSub(k.b.NewFMul(re, w), k.b.NewFMul(im, mxF64c(0))), k.b.NewFAdd(k.b.NewFMul(re, mxF64c(0)), k.b.NewFMul(im, w))
				}
				return re, im
			}
			store := func(kk, re, im value.Value) {
				p := k.b.NewMul(k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(frames)), f), i64(bins)), kk), i64(2))
				k.mxStoreF64(out, p, re)
				k.mxStoreF64(out, k.b.NewAdd(p, i64(1)), im)
			}
			k.dftLine(bins, n, n, twRe, twIm, false, line, store)
		})
	})
	return nil
}

// melWeightMatrixKernel compiles MelWeightMatrix with runtime inputs (the
// output shape [dft_length/2+1, num_mel_bins] is static): the mel points are
// computed at run time with libm log10/pow like the interpreter's formulas,
// each clamped into the spectrogram's bins (an error in the interpreter),
// then the triangles are written.
func melWeightMatrixKernel(k *kernel) error {
	out := k.out[0]
	if len(out.shape) != 2 || len(k.in) < 5 {
		return fmt.Errorf("output %v, want [bins, mels] from five inputs", out.shape)
	}
	specBins, mels := out.shape[0], out.shape[1]
	dftLen := k.mxLoadInt(k.in[1], i64(0))
	rate := k.b.NewSIToFP(k.mxLoadInt(k.in[2], i64(0)), f64)
	lo, hi := k.mxLoadF64(k.in[3], i64(0)), k.mxLoadF64(k.in[4], i64(0))
	mel := func(hz value.Value) value.Value {
		v := k.b.NewFAdd(mxF64c(1), k.b.NewFDiv(hz, mxF64c(700)))
		return k.b.NewFMul(mxF64c(2595), k.call("log10", f64, v))
	}
	loMel, hiMel := mel(lo), mel(hi)
	step := k.b.NewFDiv(k.b.NewFSub(hiMel, loMel), mxF64c(float64(mels+2)))
	pt := types.NewArray(uint64(mels+2), types.I64)
	pts := k.mxLocal(pt, nil)
	at := func(i value.Value) value.Value { return k.b.NewGetElementPtr(pt, pts, i64(0), i) }
	n1 := k.b.NewSIToFP(k.b.NewAdd(dftLen, i64(1)), f64)
	k.loop(mels+2, func(i value.Value) {
		m := k.b.NewFAdd(k.b.NewFMul(k.b.NewSIToFP(i, f64), step), loMel)
		hz := k.b.NewFMul(mxF64c(700), k.b.NewFSub(k.call("pow", f64, mxF64c(10), k.b.NewFDiv(m, mxF64c(2595))), mxF64c(1)))
		bin := k.call("llvm.floor.f64", f64, k.b.NewFDiv(k.b.NewFMul(n1, hz), rate))
		bin = k.mxFMin(k.mxFMax(bin, mxF64c(0)), mxF64c(float64(specBins-1)))
		k.b.NewStore(k.b.NewFPToSI(bin, types.I64), at(i))
	})
	k.loop(out.len(), func(i value.Value) { k.mxStoreF64(out, i, mxF64c(0)) })
	k.loop(mels, func(i value.Value) {
		l := k.b.NewLoad(types.I64, at(i))
		c := k.b.NewLoad(types.I64, at(k.b.NewAdd(i, i64(1))))
		h := k.b.NewLoad(types.I64, at(k.b.NewAdd(i, i64(2))))
		idx := func(j value.Value) value.Value { return k.b.NewAdd(k.b.NewMul(j, i64(mels)), i) }
		k.ifThen(k.b.NewICmp(enum.IPredEQ, c, l), func() {
			k.mxStoreF64(out, idx(c), mxF64c(1))
		}, func() {
			den := k.b.NewSIToFP(k.b.NewSub(c, l), f64)
			k.mxLoopV(k.b.NewAdd(k.b.NewSub(c, l), i64(1)), func(d value.Value) {
				j := k.b.NewAdd(l, d)
				k.mxStoreF64(out, idx(j), k.b.NewFDiv(k.b.NewSIToFP(d, f64), den))
			})
		})
		den := k.b.NewSIToFP(k.b.NewSub(h, c), f64)
		k.mxLoopV(k.b.NewSub(h, c), func(d value.Value) {
			j := k.b.NewAdd(c, d)
			k.mxStoreF64(out, idx(j), k.b.NewFDiv(k.b.NewSIToFP(k.b.NewSub(h, j), f64), den))
		})
	})
	return nil
}
