package llvmgen

import (
	bin "encoding/binary"
	"fmt"
	"math"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"
)

// The fp32 GEMM generator. It follows the BLIS structure: a register-blocked
// micro-kernel computes an MR x NR tile of C = A·B over a block of K, keeping
// the MR*NR/VW accumulators in vector registers; for every k it loads NR
// consecutive elements of a B row as NR/VW vectors, broadcasts MR elements
// of an A column and issues MR*NR/VW fused multiply-adds. The driver walks
// K in blocks of KC (so a KC x NR sliver of B stays in L1 while the MR-row
// slivers of A stream past it), N in panels of NR and M in panels of MR.
//
// A is addressed as A(i, k) = a + i*ars + k*aks, which covers row-major and
// transposed layouts (its elements are broadcast, so packing A measured no
// faster for convolution weights).
// B is either row-major (B(k, j) = b + k*ldb + j) or packed at compile time
// into panels of NR columns ([N/NR][K][NR], the last panel as wide as the
// remainder) so that each k step reads one contiguous run.
//
// Remainders: M % MR rows use a micro-kernel with fewer rows; N % NR columns
// use one with fewer vectors and then one whose "vectors" are scalars, so
// nothing is read or written outside the operands.
//
// The tile store applies an epilogue while the accumulators are still in
// registers: alpha scaling, accumulation into C, a per-row bias (convolution
// bias), a per-column bias, a residual addend and an activation.

// gemmTile is the register tile of the fp32 micro-kernel for a target.
type gemmTile struct {
	mr int64 // rows of C per tile (broadcast A elements)
	nr int64 // columns of C per tile, a multiple of vw
	vw int64 // floats per vector register
}

// gemmTileFor picks the tile for the target's vector width: about half to
// three quarters of the vector registers hold accumulators.
func gemmTileFor(cfg Config) gemmTile {
	vw := int64(cfg.VectorBits / 32)
	switch {
	case vw >= 16: // AVX-512: 32 registers, 8x32 = 16 accumulators
		return gemmTile{mr: 8, nr: 2 * vw, vw: vw}
	case vw == 8: // AVX2: 16 registers, 6x16 = 12 accumulators
		return gemmTile{mr: 6, nr: 16, vw: 8}
	case cfg.HasFMA: // NEON: 32 registers, 6x16 = 24 accumulators
		return gemmTile{mr: 6, nr: 16, vw: 4}
	}
	// wasm simd128 (no FMA, multiply then add): 4x8 = 8 accumulators
	return gemmTile{mr: 4, nr: 8, vw: 4}
}

// gemmKC is the K block: a KC x NR sliver of B takes at most 16 KiB of L1.
func gemmKC(t gemmTile) int64 { return max(64, 4096/t.nr) }

// activation is an elementwise function fused into a tile store.
type activation struct {
	kind string  // "" (none), "Relu", "Clip", "LeakyRelu"
	lo   float64 // Clip min, LeakyRelu alpha
	hi   float64 // Clip max
}

// epilogue is what a GEMM tile store does besides writing alpha*A·B.
type epilogue struct {
	alpha      float64     // scale of the product; 1 for none
	accumulate bool        // add C's current contents
	rowBias    value.Value // float* indexed by row i, or nil
	colBias    value.Value // float* indexed by column j, or nil
	residual   value.Value // float* addend laid out like C with row stride ldr, or nil
	ldr        int64
	act        activation
}

// gemmA says how the micro-kernel addresses A(i, k) = ptr + i*rs + k*ks.
type gemmA struct {
	ptr    value.Value // float*
	rs, ks int64
}

// gemmB says how the micro-kernel addresses B(k, j).
type gemmB struct {
	ptr    value.Value // float*
	packed bool        // panels of NR columns, [K][wp] each (wp = NR, or the remainder rounded up to VW, zero padded)
	ld     int64       // unpacked: B(k, j) = ptr + k*ld + j
	padded bool        // unpacked rows may be read up to n rounded up to VW
}

// gemmOp is one product C[M x N] (row stride ldc) = epilogue(A[M x K] · B[K x N]).
type gemmOp struct {
	m, n, k int64
	a       gemmA
	b       gemmB
	c       value.Value // float*
	ldc     int64
	ep      epilogue
}

// f32p is float*.
var f32p = types.NewPointer(types.Float)

// gep returns &p[off] for a float* p and an i64 offset (value or constant).
func (k *kernel) gep(p value.Value, off value.Value) value.Value {
	if c, ok := off.(*constant.Int); ok && c.X.Sign() == 0 {
		return p
	}
	return k.b.NewGetElementPtr(types.Float, p, off)
}

// mulAdd returns base + x*s for an i64 value x (constants fold).
func (k *kernel) mulAdd(base value.Value, x value.Value, s int64) value.Value {
	var t value.Value
	switch {
	case s == 0:
		return base
	case s == 1:
		t = x
	default:
		if c, ok := x.(*constant.Int); ok {
			t = i64(c.X.Int64() * s)
		} else {
			t = k.b.NewMul(x, i64(s))
		}
	}
	if c, ok := t.(*constant.Int); ok && c.X.Sign() == 0 {
		return base
	}
	if c, ok := base.(*constant.Int); ok && c.X.Sign() == 0 {
		return t
	}
	return k.b.NewAdd(base, t)
}

// gemm emits C = epilogue(A·B) for op. All sizes are static; op.m, op.n and
// op.k must be positive.
func (k *kernel) gemm(op gemmOp) {
	t := gemmTileFor(k.e.cfg)
	kc := gemmKC(t)
	nk := (op.k + kc - 1) / kc
	if nk == 1 {
		k.gemmKBlock(op, t, i64(0), op.k, true, true)
		return
	}
	k.gemmKBlock(op, t, i64(0), kc, true, false)
	if nk > 2 {
		k.loop(nk-2, func(p value.Value) {
			k.gemmKBlock(op, t, k.b.NewMul(k.b.NewAdd(p, i64(1)), i64(kc)), kc, false, false)
		})
	}
	k.gemmKBlock(op, t, i64((nk-1)*kc), op.k-(nk-1)*kc, false, true)
}

// gemmKBlock emits the tiles for K indices [p0, p0+kc). The first block
// overwrites C (or accumulates when the epilogue says so); later blocks add
// to it; only the last applies the rest of the epilogue.
func (k *kernel) gemmKBlock(op gemmOp, t gemmTile, p0 value.Value, kc int64, first, last bool) {
	// Every block's partial product is scaled by alpha, so the sum is
	// alpha*A·B.
	ep := epilogue{alpha: op.ep.alpha}
	if last {
		ep = op.ep
	}
	ep.accumulate = !first || op.ep.accumulate
	nFull, nRem := op.n/t.nr, op.n%t.nr
	panel := func(jp value.Value, j0 value.Value, w int64) {
		// columns [j0, j0+w): full vectors, then the remainder either as a
		// partial vector (B padded, or masked loads on x86) or as scalars
		nv, ns := w/t.vw, w%t.vw
		type run struct{ c0, nvec, vw, last int64 }
		var runs []run
		bmask := false
		switch {
		case ns > 0 && (op.b.packed || op.b.padded || k.e.cfg.VectorBits >= 256):
			runs = append(runs, run{0, nv + 1, t.vw, ns})
			bmask = !op.b.packed && !op.b.padded
		case ns > 0:
			if nv > 0 {
				runs = append(runs, run{0, nv, t.vw, 0})
			}
			runs = append(runs, run{nv * t.vw, ns, 1, 0})
		default:
			runs = append(runs, run{0, nv, t.vw, 0})
		}
		wp := (w + t.vw - 1) / t.vw * t.vw
		for _, r := range runs {
			var bp value.Value
			var bks int64
			if op.b.packed {
				// panel jp starts at jp*K*NR; inside it row k is at k*wp
				off := k.mulAdd(k.mulAdd(i64(r.c0), jp, op.k*t.nr), p0, wp)
				bp, bks = k.gep(op.b.ptr, off), wp
			} else {
				off := k.mulAdd(k.mulAdd(i64(r.c0), j0, 1), p0, op.b.ld)
				bp, bks = k.gep(op.b.ptr, off), op.b.ld
			}
			col := k.mulAdd(i64(r.c0), j0, 1)
			k.gemmRows(op, t, ep, bp, bks, p0, kc, col, r.nvec, r.vw, r.last, bmask && r.last > 0)
		}
	}
	if nFull > 0 {
		k.loop(nFull, func(jp value.Value) {
			panel(jp, k.b.NewMul(jp, i64(t.nr)), t.nr)
		})
	}
	if nRem > 0 {
		panel(i64(nFull), i64(nFull*t.nr), nRem)
	}
}

// gemmRows emits the micro-kernel calls down all of M for one column run
// starting at column col of C with B sliver bp (k stride bks).
func (k *kernel) gemmRows(op gemmOp, t gemmTile, ep epilogue, bp value.Value, bks int64, p0 value.Value, kc int64, col value.Value, nvec, vw, last int64, bmask bool) {
	mFull, mRem := op.m/t.mr, op.m%t.mr
	call := func(ip value.Value, mr int64) {
		i0 := k.mulAdd(i64(0), ip, t.mr)
		ap := k.gep(op.a.ptr, k.mulAdd(k.mulAdd(i64(0), i0, op.a.rs), p0, op.a.ks))
		ars, aks := op.a.rs, op.a.ks
		cp := k.gep(op.c, k.mulAdd(col, i0, op.ldc))
		null := constant.NewNull(f32p)
		var rb, cb, res value.Value = null, null, null
		if ep.rowBias != nil {
			rb = k.gep(ep.rowBias, i0)
		}
		if ep.colBias != nil {
			cb = k.gep(ep.colBias, col)
		}
		if ep.residual != nil {
			res = k.gep(ep.residual, k.mulAdd(col, i0, ep.ldr))
		}
		f := k.microKernel(ukKey{mr: mr, nvec: nvec, vw: vw, last: last, bmask: bmask, ars: ars, aks: aks, bks: bks, ldc: op.ldc, ldr: ep.ldr,
			alpha: ep.alpha, accumulate: ep.accumulate, rowBias: ep.rowBias != nil, colBias: ep.colBias != nil,
			residual: ep.residual != nil, act: ep.act})
		k.b.NewCall(f, ap, bp, cp, i64(kc), rb, cb, res)
	}
	if mFull > 0 {
		k.loop(mFull, func(ip value.Value) { call(ip, t.mr) })
	}
	if mRem > 0 {
		call(i64(mFull), mRem)
	}
}

// ukKey identifies one specialised micro-kernel: tile shape, strides and
// epilogue are compile-time constants in its body.
type ukKey struct {
	mr, nvec, vw     int64
	last             int64 // valid lanes of the last vector; 0 when all are
	bmask            bool  // load the last B vector masked (B not padded)
	ars, aks, bks    int64
	ldc, ldr         int64
	alpha            float64
	accumulate       bool
	rowBias, colBias bool
	residual         bool
	act              activation
}

// name is the micro-kernel's symbol suffix.
func (u ukKey) name() string {
	s := fmt.Sprintf("ukr.%dx%dx%d.a%d_%d.b%d.c%d", u.mr, u.nvec, u.vw, u.ars, u.aks, u.bks, u.ldc)
	if u.last > 0 {
		s += fmt.Sprintf(".last%d", u.last)
		if u.bmask {
			s += "m"
		}
	}
	if u.alpha != 1 {
		s += fmt.Sprintf(".al%x", math.Float32bits(float32(u.alpha)))
	}
	if u.accumulate {
		s += ".acc"
	}
	if u.rowBias {
		s += ".rb"
	}
	if u.colBias {
		s += ".cb"
	}
	if u.residual {
		s += fmt.Sprintf(".res%d", u.ldr)
	}
	if u.act.kind != "" {
		s += fmt.Sprintf(".%s_%x_%x", u.act.kind, math.Float32bits(float32(u.act.lo)), math.Float32bits(float32(u.act.hi)))
	}
	return s
}

// microKernel returns (emitting it once per module) the function
//
//	void ukr(float *a, float *b, float *c, i64 kc, float *rowbias, float *colbias, float *res)
//
// computing the u.mr x (u.nvec*u.vw) tile of C. The emitter's function table
// (e.decls) caches it by name.
func (k *kernel) microKernel(u ukKey) *ll.Func {
	name := k.e.cfg.Prefix() + "." + u.name()
	if f, ok := k.e.decls[name]; ok {
		return f
	}
	pa, pb, pc := ll.NewParam("a", f32p), ll.NewParam("b", f32p), ll.NewParam("c", f32p)
	pk := ll.NewParam("kc", types.I64)
	prb, pcb, pres := ll.NewParam("rowbias", f32p), ll.NewParam("colbias", f32p), ll.NewParam("res", f32p)
	for _, p := range []*ll.Param{pa, pb, pc, prb, pcb, pres} {
		p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
	}
	f := k.e.m.NewFunc(name, types.Void, pa, pb, pc, pk, prb, pcb, pres)
	f.Linkage = enum.LinkageInternal
	k.e.decls[name] = f
	uk := &kernel{e: k.e, n: k.n, f: f}
	uk.b = f.NewBlock("entry")
	uk.emitMicroKernel(u, pa, pb, pc, pk, prb, pcb, pres)
	uk.b.NewRet(nil)
	return f
}

// vecType is <vw x float>, or float when vw is 1.
func vecType(vw int64) types.Type {
	if vw == 1 {
		return types.Float
	}
	return types.NewVector(uint64(vw), types.Float)
}

// splat broadcasts the float x to a vw-wide vector (x itself when vw is 1).
func (k *kernel) splat(x value.Value, vw int64) value.Value {
	if vw == 1 {
		return x
	}
	vt := types.NewVector(uint64(vw), types.Float)
	ins := k.b.NewInsertElement(constant.NewUndef(vt), x, constant.NewInt(types.I32, 0))
	return k.b.NewShuffleVector(ins, constant.NewUndef(vt), constant.NewZeroInitializer(types.NewVector(uint64(vw), types.I32)))
}

// loadVec loads vw floats at p (align 4).
func (k *kernel) loadVec(p value.Value, vw int64) value.Value {
	vt := vecType(vw)
	if vw > 1 {
		p = k.b.NewBitCast(p, types.NewPointer(vt))
	}
	ld := k.b.NewLoad(vt, p)
	ld.Align = 4
	return ld
}

// storeVec stores the vw floats x at p (align 4).
func (k *kernel) storeVec(x, p value.Value, vw int64) {
	if vw > 1 {
		p = k.b.NewBitCast(p, types.NewPointer(vecType(vw)))
	}
	st := k.b.NewStore(x, p)
	st.Align = 4
}

// fma returns a*b + c on vectors of vw floats: llvm.fma when the target has
// FMA, otherwise a multiply and an add.
func (k *kernel) fma(a, b, c value.Value, vw int64) value.Value {
	if !k.e.cfg.HasFMA {
		return k.b.NewFAdd(k.b.NewFMul(a, b), c)
	}
	name := "llvm.fma.f32"
	if vw > 1 {
		name = fmt.Sprintf("llvm.fma.v%df32", vw)
	}
	t := vecType(vw)
	return k.b.NewCall(k.e.intrinsic(name, t, t, t, t), a, b, c)
}

// emitMicroKernel writes the body of a micro-kernel: the K loop with the
// accumulators as phis, then the epilogue and the tile store.
func (k *kernel) emitMicroKernel(u ukKey, pa, pb, pc, pk, prb, pcb, pres value.Value) {
	vt := vecType(u.vw)
	zero := constant.NewZeroInitializer(vt)
	n := int(u.mr * u.nvec)
	entry := k.b
	body := k.f.NewBlock("k")
	exit := k.f.NewBlock("store")
	entry.NewCondBr(entry.NewICmp(enum.IPredSGT, pk, i64(0)), body, exit)

	k.b = body
	kp := body.NewPhi(ll.NewIncoming(i64(0), entry))
	ap := body.NewPhi(ll.NewIncoming(pa, entry))
	bp := body.NewPhi(ll.NewIncoming(pb, entry))
	accs := make([]*ll.InstPhi, n)
	for i := range accs {
		accs[i] = body.NewPhi(ll.NewIncoming(zero, entry))
	}
	bv := make([]value.Value, u.nvec)
	for v := range bv {
		p := k.gep(bp, i64(int64(v)*u.vw))
		if u.bmask && int64(v) == u.nvec-1 {
			bv[v] = k.maskedLoad(p, u.vw, u.last)
		} else {
			bv[v] = k.loadVec(p, u.vw)
		}
	}
	next := make([]value.Value, n)
	for r := int64(0); r < u.mr; r++ {
		ld := k.b.NewLoad(types.Float, k.gep(ap, i64(r*u.ars)))
		ld.Align = 4
		as := k.splat(ld, u.vw)
		for v := int64(0); v < u.nvec; v++ {
			i := r*u.nvec + v
			next[i] = k.fma(as, bv[v], accs[i], u.vw)
		}
	}
	kn := k.b.NewAdd(kp, i64(1))
	an := k.b.NewGetElementPtr(types.Float, ap, i64(u.aks))
	bn := k.b.NewGetElementPtr(types.Float, bp, i64(u.bks))
	latch := k.b
	kp.Incs = append(kp.Incs, ll.NewIncoming(kn, latch))
	ap.Incs = append(ap.Incs, ll.NewIncoming(an, latch))
	bp.Incs = append(bp.Incs, ll.NewIncoming(bn, latch))
	for i := range accs {
		accs[i].Incs = append(accs[i].Incs, ll.NewIncoming(next[i], latch))
	}
	latch.NewCondBr(latch.NewICmp(enum.IPredSLT, kn, pk), body, exit)

	k.storeTile(u, exit, entry, latch, next, pc, prb, pcb, pres)
}

// storeTile writes the epilogue and stores of a finished tile into block
// exit, whose predecessors are entry (K empty: accumulators zero) and latch.
func (k *kernel) storeTile(u ukKey, exit, entry, latch *ll.Block, next []value.Value, pc, prb, pcb, pres value.Value) {
	vt := vecType(u.vw)
	zero := constant.NewZeroInitializer(vt)
	acc := make([]value.Value, len(next))
	for i := range next {
		acc[i] = exit.NewPhi(ll.NewIncoming(zero, entry), ll.NewIncoming(next[i], latch))
	}
	k.b = exit
	// epi finishes x (width w floats) for row r at column offset off.
	epi := func(x value.Value, r, off, w int64, rbs value.Value) {
		if u.alpha != 1 {
			x = k.b.NewFMul(x, k.splat(constant.NewFloat(types.Float, float64(float32(u.alpha))), w))
		}
		cp := k.gep(pc, i64(r*u.ldc+off))
		if u.accumulate {
			x = k.b.NewFAdd(x, k.loadVec(cp, w))
		}
		if rbs != nil {
			x = k.b.NewFAdd(x, k.splat(rbs, w))
		}
		if u.colBias {
			x = k.b.NewFAdd(x, k.loadVec(k.gep(pcb, i64(off)), w))
		}
		if u.residual {
			x = k.b.NewFAdd(x, k.loadVec(k.gep(pres, i64(r*u.ldr+off)), w))
		}
		var fz value.Value = constant.NewFloat(types.Float, 0)
		if w > 1 {
			fz = constant.NewZeroInitializer(vecType(w))
		}
		k.storeVec(k.applyAct(u.act, x, fz, w), cp, w)
	}
	for r := int64(0); r < u.mr; r++ {
		var rbs value.Value
		if u.rowBias {
			ld := k.b.NewLoad(types.Float, k.gep(prb, i64(r)))
			ld.Align = 4
			rbs = ld
		}
		for v := int64(0); v < u.nvec; v++ {
			x := acc[r*u.nvec+v]
			if u.last > 0 && v == u.nvec-1 {
				// partial vector: lane by lane, touching only valid columns
				for l := int64(0); l < u.last; l++ {
					epi(k.b.NewExtractElement(x, constant.NewInt(types.I32, l)), r, v*u.vw+l, 1, rbs)
				}
				continue
			}
			epi(x, r, v*u.vw, u.vw, rbs)
		}
	}
}

// applyAct applies an activation to x (vw floats); fzero is 0 of x's type.
func (k *kernel) applyAct(a activation, x, fzero value.Value, vw int64) value.Value {
	switch a.kind {
	case "Relu":
		// select(x < 0, 0, x) keeps NaN, like the elementwise Relu.
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, fzero), fzero, x)
	case "Clip":
		lo := k.splat(constant.NewFloat(types.Float, float64(float32(a.lo))), vw)
		hi := k.splat(constant.NewFloat(types.Float, float64(float32(a.hi))), vw)
		y := k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, lo), lo, x)
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, y, hi), hi, y)
	case "LeakyRelu":
		s := k.splat(constant.NewFloat(types.Float, float64(float32(a.lo))), vw)
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, fzero), k.b.NewFMul(x, s), x)
	}
	return x
}

// constF32 puts vals in the read-only data blob (64-byte aligned) and
// returns a float* to the first. Weights packed at compile time go here.
func (k *kernel) constF32(vals []float32) value.Value {
	raw := make([]byte, 4*max(len(vals), 1))
	for i, v := range vals {
		bin.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return k.rodata(raw, types.Float)
}

// packB lays out the K x N matrix b (B(k, j) = b[k*rs + j*cs]) as panels of
// NR columns, each [K][wp] with wp = NR or the last panel's width rounded up
// to VW (zero padded), for gemmB{packed: true}.
func packB(b []float32, kk, n, rs, cs int64, t gemmTile) []float32 {
	nFull, rem := n/t.nr, n%t.nr
	wpl := (rem + t.vw - 1) / t.vw * t.vw
	out := make([]float32, kk*(nFull*t.nr+wpl))
	for j0 := int64(0); j0 < n; j0 += t.nr {
		w := min(t.nr, n-j0)
		wp := (w + t.vw - 1) / t.vw * t.vw
		base := j0 * kk
		for q := int64(0); q < kk; q++ {
			for c := int64(0); c < w; c++ {
				out[base+q*wp+c] = b[q*rs+(j0+c)*cs]
			}
		}
	}
	return out
}

// maskedLoad loads the first lanes floats of a vw-wide vector at p (the
// rest zero) with llvm.masked.load.
func (k *kernel) maskedLoad(p value.Value, vw, lanes int64) value.Value {
	vt := types.NewVector(uint64(vw), types.Float)
	mt := types.NewVector(uint64(vw), types.I1)
	bits := make([]constant.Constant, vw)
	for i := range bits {
		bits[i] = constant.NewBool(int64(i) < lanes)
	}
	name := fmt.Sprintf("llvm.masked.load.v%df32.p0v%df32", vw, vw)
	f := k.e.intrinsic(name, vt, types.NewPointer(vt), types.I32, mt, vt)
	return k.b.NewCall(f, k.b.NewBitCast(p, types.NewPointer(vt)), constant.NewInt(types.I32, 4), constant.NewVector(mt, bits...), constant.NewZeroInitializer(vt))
}
