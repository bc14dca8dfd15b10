package llvmgen

import (
	"encoding/binary"
	"fmt"
	"strings"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// The int8 GEMM. It has the structure of the fp32 GEMM (gemm.go): a
// register-blocked micro-kernel computes an MR x NR tile of int32
// accumulators, reading per step NR/VW vectors of the "panel" operand P and
// broadcasting one element of the "row" operand Q per tile row. The unit of
// both operands is a 32-bit word holding G consecutive values along K, so a
// product step covers G values of K at once:
//
//   - G = 4 bytes on CPUs with an int8 dot product: x86 VNNI `vpdpbusd`
//     (u8 x s8, per int32 lane the sum of four byte products, no
//     intermediate saturation) and Arm `sdot` (s8 x s8);
//   - G = 2 int16 values elsewhere: x86 `vpmaddwd` (SSE2/AVX2/AVX-512BW),
//     wasm simd128 `i32x4.dot_i16x8_s`, and on Arm without the dot product
//     `smlal`/`smlal2` into accumulators twice as wide (pairs folded in the
//     store). `vpmaddubsw` is not used: it adds two u8 x s8 products into a
//     saturating int16 (255*127*2 = 64770 > 32767), so its result depends
//     on the data; int16 operands with `vpmaddwd` cannot overflow (every
//     operand here is within [-255, 255]).
//
// The constant operand (weights) is packed at compile time with its zero
// point subtracted; the activations are packed at run time into scratch. On
// the int16 paths the activation zero point is subtracted while packing, so
// the product is exact as it stands. On the byte paths the activations are
// stored in the instruction's byte domain (u8 for VNNI, s8 for sdot; the
// other signedness is flipped with xor 0x80, which shifts the zero point by
// 128) and the zero point is corrected per output channel:
// sum((x - zx) * w) = sum(x * w) - zx * sum(w), with sum(w) computed at pack
// time. Convolution padding holds the zero point, so it contributes nothing.
//
// The tile store adds the per-row (convolution: bias and correction) or
// per-column (matmul: correction) int32 term and either stores int32
// (ConvInteger, MatMulInteger) or requantizes exactly like the interpreter:
// double(acc) * double(multiplier), round half to even, + y_zp, clamped to
// the output type, with the multiplier x_scale*w_scale/y_scale in float32.

// qgemmPath is the int8 GEMM's instruction family and register tile on a
// target.
type qgemmPath struct {
	isa   string // "vnni", "sdot", "pmaddwd", "wasmdot" or "smlal"
	g     int64  // K values per 32-bit word: 4 (bytes) or 2 (int16)
	vw    int64  // int32 lanes (output columns) per vector
	mr    int64  // rows of the tile
	nvec  int64  // vectors per tile row
	uact  bool   // byte paths: activations are stored unsigned (VNNI)
	wideN int64  // accumulator lanes per vector: vw, or 2*vw for smlal
}

// qgemmPathFor picks the int8 path for the target's triple, vector width and
// int8 dot product (Config.Int8Dot).
func qgemmPathFor(cfg Config) qgemmPath {
	vw := int64(cfg.VectorBits / 32)
	switch {
	case strings.HasPrefix(cfg.Triple, "x86_64"):
		p := qgemmPath{isa: "pmaddwd", g: 2, vw: vw, mr: 4, nvec: 2}
		switch {
		case vw >= 16: // 32 registers: 16 accumulators
			p.vw, p.mr = 16, 8
		case vw == 8: // 16 registers: 12 accumulators
			p.mr = 6
		}
		if cfg.Int8Dot == "vnni" && p.vw >= 8 {
			p.isa, p.g, p.uact = "vnni", 4, true
		}
		p.wideN = p.vw
		return p
	case strings.HasPrefix(cfg.Triple, "aarch64"):
		if cfg.Int8Dot == "dotprod" { // 32 registers: 24 accumulators
			return qgemmPath{isa: "sdot", g: 4, vw: 4, mr: 6, nvec: 4, wideN: 4}
		}
		// 4x3 accumulators of 8 lanes: 24 registers
		return qgemmPath{isa: "smlal", g: 2, vw: 4, mr: 4, nvec: 3, wideN: 8}
	}
	// wasm engines map v128 onto 16 x86 registers: 8 accumulators
	return qgemmPath{isa: "wasmdot", g: 2, vw: 4, mr: 4, nvec: 2, wideN: 4}
}

// bytes reports a byte path (a dot product over 4 bytes per lane).
func (p qgemmPath) bytes() bool { return p.g == 4 }

// nr is the tile's column count.
func (p qgemmPath) nr() int64 { return p.nvec * p.vw }

// qgemmOp is one product C[M x N] = store(Q[M x KG] . P[KG x N]) of 32-bit
// words (G values of K each).
type qgemmOp struct {
	m, n, kg int64
	q        value.Value // i32*: Q(i, t) = q[i*qrs + t]
	qrs      int64
	p        value.Value // i32*: packed panels, or P(t, j) = p[t*pld + j]
	pPacked  bool        // panels of NR columns, [KG][wp] each (wp = NR or the remainder rounded up to VW)
	pld      int64       // P's row stride when not packed (a multiple of VW)
	pAct     bool        // P holds the activations (convolution), else Q does (matmul)
	c        value.Value // output element pointer (i32*, or i8* for requantized outputs)
	ldc      int64       // C's row stride in elements
	out      ir.DType    // Int32, or the requantized Uint8 / Int8
	add      value.Value // i32* per-row or per-column addend, or nil
	mul      value.Value // double* per-row or per-column multiplier (requantized outputs)
	perRow   bool        // add and mul are indexed by row (else by column)
	yzp      value.Value // i32 output zero point (requantized outputs)
}

// qgemm emits op; m, n and kg must be positive.
func (k *kernel) qgemm(op qgemmOp) {
	path := qgemmPathFor(k.e.cfg)
	nr := path.nr()
	nFull, nRem := op.n/nr, op.n%nr
	panel := func(jp, j0 value.Value, w int64) {
		nv := (w + path.vw - 1) / path.vw
		wp := nv * path.vw
		var pp value.Value
		pks := op.pld
		if op.pPacked {
			pp = k.gepI32(op.p, k.mulAdd(i64(0), jp, op.kg*nr))
			pks = wp
		} else {
			pp = k.gepI32(op.p, j0)
		}
		k.qgemmRows(op, path, pp, pks, j0, nv, w%path.vw)
	}
	if nFull > 0 {
		k.loop(nFull, func(jp value.Value) { panel(jp, k.b.NewMul(jp, i64(nr)), nr) })
	}
	if nRem > 0 {
		panel(i64(nFull), i64(nFull*nr), nRem)
	}
}

// qgemmRows calls the micro-kernels down all of M for one panel of nvec
// vectors at column col (last: valid lanes of the last vector, 0 if all).
func (k *kernel) qgemmRows(op qgemmOp, path qgemmPath, pp value.Value, pks int64, col value.Value, nvec, last int64) {
	call := func(ip value.Value, mr int64) {
		i0 := k.mulAdd(i64(0), ip, path.mr)
		qp := k.gepI32(op.q, k.mulAdd(i64(0), i0, op.qrs))
		cp := k.b.NewBitCast(k.gepElem(op.c, op.out, k.mulAdd(col, i0, op.ldc)), i8p)
		idx := col
		if op.perRow {
			idx = i0
		}
		var add, mul value.Value = constant.NewNull(types.NewPointer(types.I32)), constant.NewNull(types.NewPointer(types.Double))
		if op.add != nil {
			add = k.gepI32(op.add, idx)
		}
		if op.out != ir.Int32 {
			mul = k.b.NewGetElementPtr(types.Double, op.mul, idx)
		}
		var yzp value.Value = i32(0)
		if op.yzp != nil {
			yzp = op.yzp
		}
		f := k.qMicroKernel(qukKey{path: path, mr: mr, nvec: nvec, last: last, qrs: op.qrs, pks: pks, ldc: op.ldc,
			pAct: op.pAct, out: op.out, add: op.add != nil, perRow: op.perRow})
		k.b.NewCall(f, qp, pp, cp, i64(op.kg), add, mul, yzp)
	}
	mFull, mRem := op.m/path.mr, op.m%path.mr
	if mFull > 0 {
		k.loop(mFull, func(ip value.Value) { call(ip, path.mr) })
	}
	if mRem > 0 {
		call(i64(mFull), mRem)
	}
}

// gepI32 returns &p[off] for an i32* p.
func (k *kernel) gepI32(p, off value.Value) value.Value {
	if c, ok := off.(*constant.Int); ok && c.X.Sign() == 0 {
		return p
	}
	return k.b.NewGetElementPtr(types.I32, p, off)
}

// gepElem returns &p[off] for a pointer to dt's storage elements.
func (k *kernel) gepElem(p value.Value, dt ir.DType, off value.Value) value.Value {
	st, _ := storageType(dt)
	return k.b.NewGetElementPtr(st, p, off)
}

// qukKey identifies one specialised int8 micro-kernel.
type qukKey struct {
	path           qgemmPath
	mr, nvec, last int64
	qrs, pks, ldc  int64
	pAct           bool
	out            ir.DType
	add, perRow    bool
}

// name is the micro-kernel's symbol suffix.
func (u qukKey) name() string {
	s := fmt.Sprintf("qukr.%s.%dx%dx%d.q%d.p%d.c%d.%s", u.path.isa, u.mr, u.nvec, u.path.vw, u.qrs, u.pks, u.ldc, u.out)
	if u.last > 0 {
		s += fmt.Sprintf(".last%d", u.last)
	}
	if u.pAct {
		s += ".pact"
	}
	if u.add {
		s += ".add"
	}
	if u.perRow {
		s += ".row"
	}
	return s
}

// qMicroKernel returns (emitting it once per module) the function
//
//	void qukr(i32 *q, i32 *p, i8 *c, i64 kg, i32 *add, double *mul, i32 yzp)
//
// computing the u.mr x (u.nvec*VW) tile of C.
func (k *kernel) qMicroKernel(u qukKey) *ll.Func {
	name := k.e.cfg.Prefix() + "." + u.name()
	if f, ok := k.e.decls[name]; ok {
		return f
	}
	i32p := types.NewPointer(types.I32)
	pq, pp, pc := ll.NewParam("q", i32p), ll.NewParam("p", i32p), ll.NewParam("c", i8p)
	pk := ll.NewParam("kg", types.I64)
	padd, pmul := ll.NewParam("add", i32p), ll.NewParam("mul", types.NewPointer(types.Double))
	pz := ll.NewParam("yzp", types.I32)
	for _, p := range []*ll.Param{pq, pp, pc, padd, pmul} {
		p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
	}
	f := k.e.m.NewFunc(name, types.Void, pq, pp, pc, pk, padd, pmul, pz)
	f.Linkage = enum.LinkageInternal
	k.e.decls[name] = f
	uk := &kernel{e: k.e, n: k.n, f: f}
	uk.b = f.NewBlock("entry")
	uk.emitQMicroKernel(u, pq, pp, pc, pk, padd, pmul, pz)
	uk.b.NewRet(nil)
	return f
}

// ivec is <n x elem>.
func ivec(n int64, elem types.Type) *types.VectorType { return types.NewVector(uint64(n), elem) }

// splatN broadcasts the scalar x (of type elem) to n lanes.
func (k *kernel) splatN(x value.Value, n int64, elem types.Type) value.Value {
	vt := ivec(n, elem)
	ins := k.b.NewInsertElement(constant.NewUndef(vt), x, i32(0))
	return k.b.NewShuffleVector(ins, constant.NewUndef(vt), constant.NewZeroInitializer(ivec(n, types.I32)))
}

// loadAligned4 loads a value of type t from p (any pointer) with align 4.
func (k *kernel) loadAligned4(t types.Type, p value.Value) value.Value {
	ld := k.b.NewLoad(t, k.b.NewBitCast(p, types.NewPointer(t)))
	ld.Align = 4
	return ld
}

// emitQMicroKernel writes the K loop (accumulators as phis) and the store.
func (k *kernel) emitQMicroKernel(u qukKey, pq, pp, pc, pk, padd, pmul, pz value.Value) {
	path := u.path
	accT := ivec(path.wideN, types.I32)
	wordT := ivec(path.vw, types.I32)
	n := int(u.mr * u.nvec)
	entry := k.b
	body := k.f.NewBlock("k")
	exit := k.f.NewBlock("store")
	entry.NewBr(body)
	k.b = body
	kp := body.NewPhi(ll.NewIncoming(i64(0), entry))
	qp := body.NewPhi(ll.NewIncoming(pq, entry))
	ppp := body.NewPhi(ll.NewIncoming(pp, entry))
	accs := make([]*ll.InstPhi, n)
	for i := range accs {
		accs[i] = body.NewPhi(ll.NewIncoming(constant.NewZeroInitializer(accT), entry))
	}
	pv := make([]value.Value, u.nvec)
	for v := range pv {
		pv[v] = k.loadAligned4(wordT, k.gepI32(ppp, i64(int64(v)*path.vw)))
	}
	next := make([]value.Value, n)
	for r := int64(0); r < u.mr; r++ {
		w := k.b.NewLoad(types.I32, k.gepI32(qp, i64(r*u.qrs)))
		w.Align = 4
		qs := k.splatN(w, path.vw, types.I32)
		for v := int64(0); v < u.nvec; v++ {
			i := r*u.nvec + v
			next[i] = k.qDot(path, u.pAct, accs[i], pv[v], qs)
		}
	}
	kn := k.b.NewAdd(kp, i64(1))
	latch := k.b
	kp.Incs = append(kp.Incs, ll.NewIncoming(kn, latch))
	qp.Incs = append(qp.Incs, ll.NewIncoming(k.gepI32(qp, i64(1)), latch))
	ppp.Incs = append(ppp.Incs, ll.NewIncoming(k.gepI32(ppp, i64(u.pks)), latch))
	for i := range accs {
		accs[i].Incs = append(accs[i].Incs, ll.NewIncoming(next[i], latch))
	}
	latch.NewCondBr(latch.NewICmp(enum.IPredSLT, kn, pk), body, exit)
	k.b = exit
	k.qStoreTile(u, next, pc, padd, pmul, pz)
}

// qDot returns acc plus the products of the word vectors pv (the panel
// operand) and qs (the broadcast row operand) on the path's instructions.
func (k *kernel) qDot(path qgemmPath, pAct bool, acc, pv, qs value.Value) value.Value {
	vw := path.vw
	switch path.isa {
	case "vnni":
		// vpdpbusd(acc, u8 operand, s8 operand): the activations are u8.
		act, wt := pv, qs
		if !pAct {
			act, wt = qs, pv
		}
		vt := ivec(vw, types.I32)
		f := k.e.intrinsic(fmt.Sprintf("llvm.x86.avx512.vpdpbusd.%d", vw*32), vt, vt, vt, vt)
		return k.b.NewCall(f, acc, act, wt)
	case "sdot":
		bt := ivec(16, types.I8)
		f := k.e.intrinsic("llvm.aarch64.neon.sdot.v4i32.v16i8", ivec(4, types.I32), ivec(4, types.I32), bt, bt)
		return k.b.NewCall(f, acc, k.b.NewBitCast(pv, bt), k.b.NewBitCast(qs, bt))
	case "smlal":
		ht, wt := ivec(2*vw, types.I16), ivec(2*vw, types.I32)
		a := k.b.NewSExt(k.b.NewBitCast(pv, ht), wt)
		b := k.b.NewSExt(k.b.NewBitCast(qs, ht), wt)
		return k.b.NewAdd(acc, k.b.NewMul(a, b))
	}
	ht, rt := ivec(2*vw, types.I16), ivec(vw, types.I32)
	name := "llvm.wasm.dot"
	if path.isa == "pmaddwd" {
		name = map[int64]string{4: "llvm.x86.sse2.pmadd.wd", 8: "llvm.x86.avx2.pmadd.wd", 16: "llvm.x86.avx512.pmaddw.d.512"}[vw]
	}
	f := k.e.intrinsic(name, rt, ht, ht)
	return k.b.NewAdd(acc, k.b.NewCall(f, k.b.NewBitCast(pv, ht), k.b.NewBitCast(qs, ht)))
}

// qStoreTile finishes the accumulators of a tile: pairs folded (smlal),
// the addend, then an int32 store or the requantization.
func (k *kernel) qStoreTile(u qukKey, acc []value.Value, pc, padd, pmul, pz value.Value) {
	path := u.path
	vw := path.vw
	cI32 := k.b.NewBitCast(pc, types.NewPointer(types.I32))
	for r := int64(0); r < u.mr; r++ {
		var rowAdd, rowMul value.Value
		if u.perRow {
			if u.add {
				ld := k.b.NewLoad(types.I32, k.gepI32(padd, i64(r)))
				ld.Align = 4
				rowAdd = k.splatN(ld, vw, types.I32)
			}
			if u.out != ir.Int32 {
				ld := k.b.NewLoad(types.Double, k.b.NewGetElementPtr(types.Double, pmul, i64(r)))
				ld.Align = 8
				rowMul = k.splatN(ld, vw, types.Double)
			}
		}
		for v := int64(0); v < u.nvec; v++ {
			x := acc[r*u.nvec+v]
			if path.wideN != vw {
				x = k.foldPairs(x, vw)
			}
			add, mul := rowAdd, rowMul
			if !u.perRow {
				if u.add {
					add = k.loadAligned4(ivec(vw, types.I32), k.gepI32(padd, i64(v*vw)))
				}
				if u.out != ir.Int32 {
					mul = k.loadAligned4(ivec(vw, types.Double), k.b.NewGetElementPtr(types.Double, pmul, i64(v*vw)))
				}
			}
			if add != nil {
				x = k.b.NewAdd(x, add)
			}
			off := r*u.ldc + v*vw
			if u.out == ir.Int32 {
				k.qStoreLanes(x, types.I32, cI32, off, vw, u.last, v == u.nvec-1)
				continue
			}
			k.qStoreLanes(k.qRequant(x, mul, pz, vw, u.out), types.I8, pc, off, vw, u.last, v == u.nvec-1)
		}
	}
}

// qRequant requantizes the n int32 lanes x exactly like the interpreter,
// clamp(nearbyint(double(x) * mul) + yzp, lo, hi) with mul n doubles and
// yzp an i32, as n bytes, in five double operations per lane and no
// rounding or float-to-int instruction:
//
//	d = double(x) * mul              the interpreter's product, same rounding
//	d = min(max(d, lo-yzp), hi-yzp)  the clamp, moved before the rounding
//	e = d + 1.5*2^52                 round half to even
//	byte = (low 8 bits of e's bit pattern) + yzp, modulo 256
//
// Why it is exact. The clamp commutes with the rounding: lo-yzp and hi-yzp
// are integers and nearbyint is monotonic, so nearbyint(d) + yzp > hi
// exactly when d > hi-yzp (and then nearbyint(clamped d) + yzp = hi), and
// likewise below. After the clamp |d| <= 255, so the exact sum
// d + 1.5*2^52 lies in [2^52, 2^53), where the doubles are exactly the
// integers: the add (round to nearest even, the default mode every target
// runs in) returns 1.5*2^52 + nearbyint(d), since 1.5*2^52 is even and
// adding an even integer keeps which neighbour of a tie is even. (Adding
// yzp too would not: an odd yzp moves ties to the other neighbour, so
// yzp is added after the rounding, in bytes.) The bit pattern is the
// exponent of 2^52 followed by the 52-bit fraction 2^51 + nearbyint(d),
// whose low 8 bits are nearbyint(d) modulo 256; adding yzp modulo 256 gives
// nearbyint(d) + yzp modulo 256, the u8 or i8 result (it is within
// [lo, hi]). No fast-math flags are set, so LLVM neither fuses the
// multiply and the add nor reassociates them. TestQuantRequantTies checks
// ties, odd and even zero points and saturation on every target.
func (k *kernel) qRequant(x, mul, yzp value.Value, n int64, dt ir.DType) value.Value {
	dv := ivec(n, types.Double)
	l, h := 0.0, 255.0
	if dt == ir.Int8 {
		l, h = -128, 127
	}
	zf := k.b.NewSIToFP(yzp, types.Double)
	lo := k.splatN(k.b.NewFSub(constant.NewFloat(types.Double, l), zf), n, types.Double)
	hi := k.splatN(k.b.NewFSub(constant.NewFloat(types.Double, h), zf), n, types.Double)
	magic := k.splatN(constant.NewFloat(types.Double, 6755399441055744.0), n, types.Double)
	var d value.Value = k.b.NewFMul(k.b.NewSIToFP(x, dv), mul)
	d = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, d, lo), lo, d)
	d = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, d, hi), hi, d)
	d = k.b.NewFAdd(d, magic)
	r := k.b.NewTrunc(k.b.NewBitCast(d, ivec(n, types.I64)), ivec(n, types.I8))
	return k.b.NewAdd(r, k.splatN(k.b.NewTrunc(yzp, types.I8), n, types.I8))
}

// foldPairs adds the even and odd lanes of a 2*vw-lane accumulator.
func (k *kernel) foldPairs(x value.Value, vw int64) value.Value {
	ev, od := make([]constant.Constant, vw), make([]constant.Constant, vw)
	for i := range ev {
		ev[i], od[i] = i32(int64(2*i)), i32(int64(2*i+1))
	}
	u := constant.NewUndef(ivec(2*vw, types.I32))
	a := k.b.NewShuffleVector(x, u, constant.NewVector(ivec(vw, types.I32), ev...))
	b := k.b.NewShuffleVector(x, u, constant.NewVector(ivec(vw, types.I32), od...))
	return k.b.NewAdd(a, b)
}

// qStoreLanes stores the vector x of vw elem values at p[off], or only its
// first last lanes when last > 0 and x is the tile row's last vector.
func (k *kernel) qStoreLanes(x value.Value, elem types.Type, p value.Value, off, vw, last int64, isLast bool) {
	if last > 0 && isLast {
		for l := int64(0); l < last; l++ {
			st := k.b.NewStore(k.b.NewExtractElement(x, i32(l)), k.b.NewGetElementPtr(elem, p, i64(off+l)))
			st.Align = 1
		}
		return
	}
	st := k.b.NewStore(x, k.b.NewBitCast(k.b.NewGetElementPtr(elem, p, i64(off)), types.NewPointer(ivec(vw, elem))))
	st.Align = 1
}

// qWeights is a constant int8 operand packed for the int8 GEMM.
type qWeights struct {
	words []uint32 // the packed 32-bit words
	sums  []int64  // per output channel (row or column): the sum of its values
}

// qFits reports whether every value of the constant operand (zero point
// subtracted) fits the path's operand type: int8 on the byte paths (int16
// always holds them). When one does not, the scalar kernel runs.
func qFits(path qgemmPath, vals []int64) bool {
	for _, v := range vals {
		if path.bytes() && (v < -128 || v > 127) {
			return false
		}
	}
	return true
}

// qWord packs g values (int8 or int16 lanes) into a little-endian word.
func qWord(g int64, vals []int64) uint32 {
	var w uint32
	for i, v := range vals {
		if g == 4 {
			w |= uint32(uint8(v)) << (8 * i)
		} else {
			w |= uint32(uint16(v)) << (16 * i)
		}
	}
	return w
}

// qPackRows packs rows x kk values (row r at vals[r*kk:]) into [rows][KG]
// words, K zero padded, for the broadcast operand Q.
func qPackRows(path qgemmPath, vals []int64, rows, kk int64) qWeights {
	kg := (kk + path.g - 1) / path.g
	out := qWeights{words: make([]uint32, rows*kg), sums: make([]int64, rows)}
	grp := make([]int64, path.g)
	for r := int64(0); r < rows; r++ {
		for t := int64(0); t < kg; t++ {
			for s := range grp {
				grp[s] = 0
				if q := t*path.g + int64(s); q < kk {
					grp[s] = vals[r*kk+q]
					out.sums[r] += grp[s]
				}
			}
			out.words[r*kg+t] = qWord(path.g, grp)
		}
	}
	return out
}

// qPackPanels packs the kk x n matrix vals (row-major) into panels of NR
// columns, [KG][wp] words each (wp = NR, or the last panel's width rounded
// up to VW, zero padded), for the panel operand P; sums are per column.
func qPackPanels(path qgemmPath, vals []int64, kk, n int64) qWeights {
	kg := (kk + path.g - 1) / path.g
	nr := path.nr()
	out := qWeights{sums: make([]int64, n)}
	grp := make([]int64, path.g)
	for j0 := int64(0); j0 < n; j0 += nr {
		w := min(nr, n-j0)
		wp := (w + path.vw - 1) / path.vw * path.vw
		for t := int64(0); t < kg; t++ {
			for c := int64(0); c < wp; c++ {
				for s := range grp {
					grp[s] = 0
					if q := t*path.g + int64(s); q < kk && c < w {
						grp[s] = vals[q*n+j0+c]
						out.sums[j0+c] += grp[s]
					}
				}
				out.words = append(out.words, qWord(path.g, grp))
			}
		}
	}
	return out
}

// constWords puts packed words in the read-only data and returns an i32*.
func (k *kernel) constWords(words []uint32) value.Value {
	raw := make([]byte, 4*max(len(words), 1))
	for i, w := range words {
		binary.LittleEndian.PutUint32(raw[4*i:], w)
	}
	return k.rodata(raw, types.I32)
}

// qActDomain returns how activations of dtype dt are stored for path and
// the zero point in that domain: flip says xor 0x80 (the byte paths when
// dt's signedness is not the instruction's), and the stored zero point is
// zx + shift.
func qActDomain(path qgemmPath, dt ir.DType) (flip bool, shift int64) {
	if !path.bytes() {
		return false, 0
	}
	if (dt == ir.Uint8) != path.uact {
		if dt == ir.Uint8 {
			return true, -128
		}
		return true, 128
	}
	return false, 0
}
