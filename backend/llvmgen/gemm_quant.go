package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Quantized matrix products (MatMulInteger, QLinearMatMul) as scalar loops
// that reproduce the interpreter exactly: (a - a_zp) * (b - b_zp) summed in
// int32 with wraparound, then for QLinear the multiplier a_scale*b_scale/
// y_scale in float32, the product in float64, round half to even, y_zp added
// and the result saturated to y_zp's type.

// i32 returns an i32 constant.
func i32(v int64) *constant.Int { return constant.NewInt(types.I32, v) }

// toI32 widens an 8/16-bit integer of dtype dt to i32 (sign- or
// zero-extending as the type says).
func (k *kernel) toI32(v value.Value, dt ir.DType) value.Value {
	switch dt {
	case ir.Int32, ir.Uint32:
		return v
	case ir.Int8, ir.Int16:
		return k.b.NewSExt(v, types.I32)
	}
	return k.b.NewZExt(v, types.I32)
}

// zpAt reads zero point b[idx] as i32 (0 when b is absent).
func (k *kernel) zpAt(b *buf, idx value.Value) value.Value {
	if b == nil {
		return i32(0)
	}
	return k.toI32(k.load(b, idx), b.dt)
}

// f32At reads a float scale b[idx] as float32.
func (k *kernel) f32At(b *buf, idx value.Value) value.Value {
	v := k.load(b, idx)
	if b.dt == ir.Float64 {
		return k.b.NewFPTrunc(v, types.Float)
	}
	return v
}

// requantize returns saturate(rint(double(acc) * double(mult)) + yzp) stored
// in dt's storage type (u8 or i8); acc is i32, mult float32, yzp i32.
func (k *kernel) requantize(acc, mult, yzp value.Value, dt ir.DType) value.Value {
	d := k.b.NewFMul(k.b.NewSIToFP(acc, types.Double), k.b.NewFPExt(mult, types.Double))
	r := k.call("llvm.rint.f64", types.Double, d)
	r = k.b.NewFAdd(r, k.b.NewSIToFP(yzp, types.Double))
	lo, hi := 0.0, 255.0
	if dt == ir.Int8 {
		lo, hi = -128, 127
	}
	lc, hc := constant.NewFloat(types.Double, lo), constant.NewFloat(types.Double, hi)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, r, lc), lc, r)
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, r, hc), hc, r)
	return k.b.NewTrunc(k.b.NewFPToSI(r, types.I32), types.I8)
}

// mmShape is a MatMul's shape plan: M, K, N, the broadcast batch shape and
// per batch index the batch index of A and of B.
type mmShape struct {
	m, k, n int64
	batch   []int64
	ia, ib  []int64
}

// planMatMul promotes 1-D operands and broadcasts the batch dims.
func planMatMul(a, b []int64) (*mmShape, error) {
	as, bs := append([]int64{}, a...), append([]int64{}, b...)
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("MatMul inputs must have rank >= 1")
	}
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	p := &mmShape{m: as[len(as)-2], k: as[len(as)-1], n: bs[len(bs)-1]}
	if bs[len(bs)-2] != p.k {
		return nil, fmt.Errorf("MatMul inner dims differ: %v x %v", a, b)
	}
	p.batch = broadcastBatch(as[:len(as)-2], bs[:len(bs)-2])
	p.ia = batchOffsets(p.batch, as[:len(as)-2])
	p.ib = batchOffsets(p.batch, bs[:len(bs)-2])
	return p, nil
}

// tableAt returns tab[i] for a runtime index i (a constant when tab is
// uniform or the identity).
func (k *kernel) tableAt(tab []int64, i value.Value) value.Value {
	switch {
	case allEqual(tab):
		return i64(tab[0])
	case identityTable(tab):
		return i
	}
	return k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, k.constTable(tab, true), i))
}

// qIndex is the element of a quantization parameter b for output batch bi
// and row/column i: a scalar, a [count] vector, or a [..., count, 1] /
// [..., 1, count] tensor broadcast over the batch.
func (k *kernel) qIndex(b *buf, batch []int64, bi, i value.Value) value.Value {
	if b == nil || b.len() == 1 {
		return i64(0)
	}
	if len(b.shape) == 1 {
		return i
	}
	count := b.len() / ir.NumElements(b.shape[:len(b.shape)-2])
	tab := batchOffsets(batch, b.shape[:len(b.shape)-2])
	return k.b.NewAdd(k.b.NewMul(k.tableAt(tab, bi), i64(count)), i)
}

// intMatMul emits the integer product loops and calls store(bi, i, j, yi,
// acc) for each output element.
func (k *kernel) intMatMul(p *mmShape, a, b, azp, bzp *buf, store func(bi, i, j, yi, acc value.Value)) {
	nb := ir.NumElements(p.batch)
	k.loop(nb, func(bi value.Value) {
		ao := k.b.NewMul(k.tableAt(p.ia, bi), i64(p.m*p.k))
		bo := k.b.NewMul(k.tableAt(p.ib, bi), i64(p.k*p.n))
		k.loopNest([]int64{p.m, p.n}, func(idx []value.Value) {
			za := k.zpAt(azp, k.qIndex(azp, p.batch, bi, idx[0]))
			zb := k.zpAt(bzp, k.qIndex(bzp, p.batch, bi, idx[1]))
			s := k.sumLoop(p.k, i32(0), func(q, acc value.Value) value.Value {
				x := k.b.NewSub(k.toI32(k.load(a, k.b.NewAdd(ao, k.linear([]value.Value{idx[0], q}, []int64{p.k, 1}, 0))), a.dt), za)
				w := k.b.NewSub(k.toI32(k.load(b, k.b.NewAdd(bo, k.linear([]value.Value{q, idx[1]}, []int64{p.n, 1}, 0))), b.dt), zb)
				return k.b.NewAdd(acc, k.b.NewMul(x, w))
			})
			yi := k.b.NewAdd(k.b.NewMul(bi, i64(p.m*p.n)), k.linear(idx, []int64{p.n, 1}, 0))
			store(bi, idx[0], idx[1], yi, s)
		})
	})
}

// matMulIntegerKernel is MatMulInteger(A, B, a_zero_point?, b_zero_point?)
// to int32.
func matMulIntegerKernel(k *kernel) error {
	p, err := planMatMul(k.in[0].shape, k.in[1].shape)
	if err != nil {
		return err
	}
	var azp, bzp *buf
	if len(k.in) > 2 {
		azp = k.in[2]
	}
	if len(k.in) > 3 {
		bzp = k.in[3]
	}
	y := k.out[0]
	if pl := newQMatMulPlan(k.e.cfg, k.in[0], k.in[1], azp, bzp); pl != nil {
		k.qmatmulGemm(pl, k.in[0], azp, nil, y, nil)
		return nil
	}
	k.intMatMul(p, k.in[0], k.in[1], azp, bzp, func(_, _, _, yi, acc value.Value) {
		k.b.NewStore(acc, k.elemPtr(y, yi))
	})
	return nil
}

// qlinearMatMulKernel is QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp,
// y_scale, y_zp).
func qlinearMatMulKernel(k *kernel) error {
	a, as, azp, b, bs, bzp, ys, yzp := k.in[0], k.in[1], k.in[2], k.in[3], k.in[4], k.in[5], k.in[6], k.in[7]
	p, err := planMatMul(a.shape, b.shape)
	if err != nil {
		return err
	}
	y := k.out[0]
	if yzp == nil || (yzp.dt != ir.Uint8 && yzp.dt != ir.Int8) {
		return fmt.Errorf("y_zero_point must be a u8 or i8 scalar")
	}
	if as.len() == 1 && ys.len() == 1 && qColumnParam(bs, p.n) {
		if pl := newQMatMulPlan(k.e.cfg, a, b, azp, bzp); pl != nil {
			k.qmatmulGemm(pl, a, azp, yzp, y, func(j value.Value) value.Value {
				return k.b.NewFDiv(k.b.NewFMul(k.f32At(as, i64(0)), k.f32At(bs, perChannel(bs, j))), k.f32At(ys, i64(0)))
			})
			return nil
		}
	}
	k.intMatMul(p, a, b, azp, bzp, func(bi, i, j, yi, acc value.Value) {
		sa := k.f32At(as, k.qIndex(as, p.batch, bi, i))
		sb := k.f32At(bs, k.qIndex(bs, p.batch, bi, j))
		mult := k.b.NewFDiv(k.b.NewFMul(sa, sb), k.f32At(ys, i64(0)))
		k.b.NewStore(k.requantize(acc, mult, k.zpAt(yzp, i64(0)), yzp.dt), k.elemPtr(y, yi))
	})
	return nil
}

// qmmPlan is a quantized MatMul with a constant 2-D B on the int8 GEMM
// (qgemm.go): B, zero points subtracted, is packed at compile time into
// panels (the operand P, one output column per lane) and the rows of A are
// packed per block into scratch (the broadcast operand Q). The per-column
// tables hold the activation zero-point correction and the requantization
// multipliers.
type qmmPlan struct {
	path  qgemmPath
	kk, n int64 // K and N
	rows  int64 // rows of A (its batch dims flattened)
	kw    int64 // words per row of A
	w     qWeights
	flip  bool
	shift int64
}

// newQMatMulPlan packs b (zero points bzp subtracted) or returns nil when
// the product takes the scalar kernel: runtime or batched B, per-row or
// batched a_zero_point, per-column zero points that are not [N] or [1, N],
// or (byte paths) values that do not fit int8.
func newQMatMulPlan(cfg Config, a, b, azp, bzp *buf) *qmmPlan {
	if b.konst == nil || len(b.shape) != 2 || !isQ8(a.dt) || !isQ8(b.dt) || len(a.shape) == 0 ||
		(azp != nil && azp.len() != 1) || (bzp != nil && (bzp.konst == nil || !qColumnParam(bzp, b.shape[1]))) {
		return nil
	}
	kk, n := b.shape[0], b.shape[1]
	if a.shape[len(a.shape)-1] != kk || kk == 0 || n == 0 {
		return nil
	}
	path := qgemmPathFor(cfg)
	bv := b.konst.Int64s()
	var zv []int64
	if bzp != nil {
		zv = bzp.konst.Int64s()
	}
	vals := make([]int64, kk*n)
	for q := int64(0); q < kk; q++ {
		for j := int64(0); j < n; j++ {
			vals[q*n+j] = bv[q*n+j]
			if zv != nil {
				vals[q*n+j] -= zv[j%int64(len(zv))]
			}
		}
	}
	if !qFits(path, vals) {
		return nil
	}
	flip, shift := qActDomain(path, a.dt)
	return &qmmPlan{path: path, kk: kk, n: n, rows: a.len() / kk, kw: (kk + path.g - 1) / path.g,
		w: qPackPanels(path, vals, kk, n), flip: flip, shift: shift}
}

// qColumnParam reports a per-tensor parameter or one per column of an
// n-column B: a scalar, [n] or [1, n].
func qColumnParam(p *buf, n int64) bool {
	return p.len() == 1 || p.len() == n && (len(p.shape) == 1 || len(p.shape) == 2 && p.shape[0] == 1)
}

// qmmRows is how many rows of A one packed block holds (sized for G = 2,
// the most words per row, so it does not depend on the target).
func qmmRows(rows, kk int64) int64 { return max(1, min(rows, qWordsBudget/((kk+1)/2))) }

// qmatmulScratch is the scratch of QLinearMatMul and MatMulInteger on the
// int8 GEMM: the per-column tables and one block of packed rows of A.
func qmatmulScratch(n *ir.Node) int64 {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil {
		return 0
	}
	bi := 1
	if n.Op == "QLinearMatMul" {
		bi = 3
	}
	if len(n.Inputs) <= bi || n.Inputs[bi] == nil {
		return 0
	}
	at, bt := n.Inputs[0].Type, n.Inputs[bi].Type
	if !at.Ranked || !bt.Ranked || !at.Shape.Static() || !bt.Shape.Static() || len(bt.Shape.Sizes()) != 2 {
		return 0
	}
	bs := bt.Shape.Sizes()
	kk, cols := bs[0], bs[1]
	if kk == 0 {
		return 0
	}
	rows := ir.NumElements(at.Shape.Sizes()) / kk
	return qTableBytes(cols, 4) + qTableBytes(cols, 8) + 4*qmmRows(rows, kk)*((kk+1)/2)
}

func init() {
	scratchNeeds["MatMulInteger"] = qmatmulScratch
	scratchNeeds["QLinearMatMul"] = qmatmulScratch
}

// qmatmulGemm emits the int8 GEMM form of a MatMul planned by pl: the
// per-column tables (mult, when not nil, gives column j's requantization
// multiplier), then per block of rows of A the packing and the product.
func (k *kernel) qmatmulGemm(pl *qmmPlan, a, azp, yzp, y *buf, mult func(j value.Value) value.Value) {
	path := pl.path
	addBytes, mulBytes := qTableBytes(pl.n, 4), qTableBytes(pl.n, 8)
	i32p := types.NewPointer(types.I32)
	addT := k.b.NewBitCast(k.scratch, i32p)
	mulT := k.b.NewBitCast(k.b.NewGetElementPtr(types.I8, k.scratch, i64(addBytes)), types.NewPointer(types.Double))
	qbuf := k.b.NewGetElementPtr(types.I8, k.scratch, i64(addBytes+mulBytes))
	za := k.zpAt(azp, i64(0))
	if path.bytes() || mult != nil {
		sums := value.Value(nil)
		if path.bytes() {
			sums = k.constTable(pl.w.sums, false)
		}
		zaEff := k.b.NewAdd(za, i32(pl.shift))
		k.loop(pl.n, func(j value.Value) {
			if sums != nil {
				s := k.b.NewLoad(types.I32, k.gepI32(sums, j))
				k.b.NewStore(k.b.NewSub(i32(0), k.b.NewMul(zaEff, s)), k.gepI32(addT, j))
			}
			if mult != nil {
				k.b.NewStore(k.b.NewFPExt(mult(j), types.Double), k.b.NewGetElementPtr(types.Double, mulT, j))
			}
		})
	}
	op := qgemmOp{n: pl.n, kg: pl.kw, q: k.b.NewBitCast(qbuf, i32p), qrs: pl.kw, p: k.constWords(pl.w.words), pPacked: true,
		ldc: pl.n, out: y.dt}
	if path.bytes() {
		op.add = addT
	}
	if mult != nil {
		op.mul, op.yzp = mulT, k.zpAt(yzp, i64(0))
	}
	elemT := types.Type(types.I8)
	if !path.bytes() {
		elemT = types.I16
	}
	dst := k.b.NewBitCast(qbuf, types.NewPointer(elemT))
	kp := pl.kw * path.g
	block := func(r0 value.Value, rows int64) {
		// pack rows [r0, r0+rows) of A: [rows][kw] words, K zero padded
		k.loop(rows, func(i value.Value) {
			src := k.gepElem(a.ptr, a.dt, k.b.NewMul(k.b.NewAdd(r0, i), i64(pl.kk)))
			drow := k.b.NewMul(i, i64(kp))
			k.loop(pl.kk, func(q value.Value) {
				raw := k.b.NewLoad(types.I8, k.b.NewGetElementPtr(types.I8, src, q))
				var v value.Value = raw
				switch {
				case !path.bytes():
					v = k.b.NewTrunc(k.b.NewSub(k.toI32(raw, a.dt), za), types.I16)
				case pl.flip:
					v = k.b.NewXor(raw, constant.NewInt(types.I8, -128))
				}
				k.b.NewStore(v, k.b.NewGetElementPtr(elemT, dst, k.b.NewAdd(drow, q)))
			})
			for q := pl.kk; q < kp; q++ {
				k.b.NewStore(constant.NewInt(elemT.(*types.IntType), 0), k.b.NewGetElementPtr(elemT, dst, k.b.NewAdd(drow, i64(q))))
			}
		})
		o := op
		o.m = rows
		o.c = k.gepElem(y.ptr, y.dt, k.b.NewMul(r0, i64(pl.n)))
		k.qgemm(o)
	}
	rb := qmmRows(pl.rows, pl.kk)
	if nb := pl.rows / rb; nb > 0 {
		k.loop(nb, func(bi value.Value) { block(k.b.NewMul(bi, i64(rb)), rb) })
	}
	if rr := pl.rows % rb; rr > 0 {
		block(i64(pl.rows-rr), rr)
	}
}
