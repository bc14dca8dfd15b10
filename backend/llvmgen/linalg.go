package llvmgen

import (
	"fmt"
	"math"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// linalgKernels holds the kernels for MatMul, Gemm and their quantized forms.
var linalgKernels = map[string]kernelFunc{
	"MatMul":        matMulKernel,
	"Gemm":          gemmKernel,
	"MatMulInteger": matMulIntegerKernel,
	"QLinearMatMul": qlinearMatMulKernel,
}

// sumLoop emits acc = init; for i < n { acc = f(i, acc) } and returns the
// final acc (init when n <= 0).
func (k *kernel) sumLoop(n int64, init value.Value, f func(i, acc value.Value) value.Value) value.Value {
	if n <= 0 {
		return init
	}
	pre := k.b
	header := k.f.NewBlock("")
	exit := k.f.NewBlock("")
	pre.NewBr(header)
	i := header.NewPhi(ll.NewIncoming(i64(0), pre))
	acc := header.NewPhi(ll.NewIncoming(init, pre))
	k.b = header
	nx := f(i, acc)
	in := k.b.NewAdd(i, i64(1))
	i.Incs = append(i.Incs, ll.NewIncoming(in, k.b))
	acc.Incs = append(acc.Incs, ll.NewIncoming(nx, k.b))
	k.b.NewCondBr(k.b.NewICmp(enum.IPredSLT, in, i64(n)), header, exit)
	k.b = exit
	return nx
}

// matMulKernel is MatMul with numpy semantics: 1-D operands promoted, batch
// dims broadcast. float32 uses the packed GEMM (a constant B is packed at
// compile time); other dtypes are scalar loops (integers wrap like the
// interpreter's).
func matMulKernel(k *kernel) error {
	a, b, y := k.in[0], k.in[1], k.out[0]
	as, bs := append([]int64{}, a.shape...), append([]int64{}, b.shape...)
	if len(as) == 0 || len(bs) == 0 {
		return fmt.Errorf("MatMul inputs must have rank >= 1")
	}
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	m, kk := as[len(as)-2], as[len(as)-1]
	n := bs[len(bs)-1]
	if bs[len(bs)-2] != kk {
		return fmt.Errorf("MatMul inner dims differ: %v x %v", a.shape, b.shape)
	}
	batch := broadcastBatch(as[:len(as)-2], bs[:len(bs)-2])
	nb := ir.NumElements(batch)
	if y.len() != nb*m*n {
		return fmt.Errorf("MatMul output has %d elements, want %d", y.len(), nb*m*n)
	}
	ia := batchOffsets(batch, as[:len(as)-2])
	ib := batchOffsets(batch, bs[:len(bs)-2])
	if m == 0 || n == 0 || nb == 0 {
		return nil
	}
	if kk == 0 {
		k.loop(y.len(), func(i value.Value) { k.store(y, i, k.zero(y.dt)) })
		return nil
	}
	// batch p reads A at ia[p]*m*kk, B at ib[p]*kk*n
	offs := func(p value.Value, tab []int64, scale int64) value.Value {
		if allEqual(tab) {
			return i64(tab[0] * scale)
		}
		if identityTable(tab) {
			return k.b.NewMul(p, i64(scale))
		}
		t := k.constTable(tab, true)
		return k.b.NewMul(k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, t, p)), i64(scale))
	}
	if a.dt == ir.Float32 {
		bop := gemmB{ptr: b.ptr, ld: n}
		bsize := kk * n // elements per batch of B as the kernel reads it
		if b.konst != nil {
			// pack every batch of B; each packed batch is kk*n floats
			src := b.konst.Data.([]float32)
			t := gemmTileFor(k.e.cfg)
			var packed []float32
			for q := int64(0); q < int64(len(src))/(kk*n); q++ {
				pb := packB(src[q*kk*n:], kk, n, n, 1, t)
				bsize = int64(len(pb))
				packed = append(packed, pb...)
			}
			bop = gemmB{ptr: k.constF32(packed), packed: true}
		}
		k.loop(nb, func(p value.Value) {
			op := gemmOp{m: m, n: n, k: kk,
				a:   gemmA{ptr: k.gep(a.ptr, offs(p, ia, m*kk)), rs: kk, ks: 1},
				b:   bop,
				c:   k.gep(y.ptr, k.b.NewMul(p, i64(m*n))),
				ldc: n, ep: epilogue{alpha: 1}}
			op.b.ptr = k.gep(bop.ptr, offs(p, ib, bsize))
			k.gemm(op)
		})
		return nil
	}
	ct := computeType(a.dt)
	k.loop(nb, func(p value.Value) {
		ao, bo := offs(p, ia, m*kk), offs(p, ib, kk*n)
		yo := k.b.NewMul(p, i64(m*n))
		k.loopNest([]int64{m, n}, func(idx []value.Value) {
			s := k.sumLoop(kk, k.zero(a.dt), func(q, acc value.Value) value.Value {
				x := k.load(a, k.b.NewAdd(ao, k.linear([]value.Value{idx[0], q}, []int64{kk, 1}, 0)))
				w := k.load(b, k.b.NewAdd(bo, k.linear([]value.Value{q, idx[1]}, []int64{n, 1}, 0)))
				return k.arith("add", acc, k.arith("mul", x, w, a.dt), a.dt)
			})
			_ = ct
			k.store(y, k.b.NewAdd(yo, k.linear(idx, []int64{n, 1}, 0)), s)
		})
	})
	return nil
}

// broadcastBatch is the numpy broadcast of two batch shapes (validated by
// shape inference).
func broadcastBatch(a, b []int64) []int64 {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := range out {
		out[i] = 1
		if j := i - (r - len(a)); j >= 0 && a[j] != 1 {
			out[i] = a[j]
		}
		if j := i - (r - len(b)); j >= 0 && b[j] != 1 {
			out[i] = b[j]
		}
	}
	return out
}

// batchOffsets returns, for every index of the broadcast batch shape out,
// the flat batch index of a tensor with batch shape in.
func batchOffsets(out, in []int64) []int64 {
	n := ir.NumElements(out)
	st := broadcastStrides(in, out)
	res := make([]int64, n)
	coord := make([]int64, len(out))
	for i := int64(0); i < n; i++ {
		off := int64(0)
		for d, c := range coord {
			off += c * st[d]
		}
		res[i] = off
		for d := len(out) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < out[d] {
				break
			}
			coord[d] = 0
		}
	}
	return res
}

// allEqual reports whether every element of t equals t[0].
func allEqual(t []int64) bool {
	for _, v := range t {
		if v != t[0] {
			return false
		}
	}
	return true
}

// identityTable reports whether t[i] == i for all i.
func identityTable(t []int64) bool {
	for i, v := range t {
		if v != int64(i) {
			return false
		}
	}
	return true
}

// gemmKernel is Gemm(A, B, C?) = alpha·A'·B' + beta·C. float32 uses the
// packed GEMM: a constant B is packed at compile time (transB folded in), a
// runtime transposed B is copied to scratch first; C of shape [N] or [1, N]
// with beta 1 is a column bias in the tile store, any other C is written to
// Y scaled by beta first and accumulated. Other dtypes are scalar loops.
func gemmKernel(k *kernel) error {
	a, b, y := k.in[0], k.in[1], k.out[0]
	var c *buf
	if len(k.in) > 2 {
		c = k.in[2]
	}
	tA, tB := k.n.AttrInt("transA", 0) != 0, k.n.AttrInt("transB", 0) != 0
	alpha, beta := float64(k.n.AttrFloat("alpha", 1)), float64(k.n.AttrFloat("beta", 1))
	if len(a.shape) != 2 || len(b.shape) != 2 {
		return fmt.Errorf("Gemm inputs must be 2-D")
	}
	m, kk := a.shape[0], a.shape[1]
	if tA {
		m, kk = kk, m
	}
	n := b.shape[1]
	if tB {
		n = b.shape[0]
	}
	if m == 0 || n == 0 {
		return nil
	}
	if !a.dt.IsFloat() && (alpha != math.Trunc(alpha) || beta != math.Trunc(beta)) {
		return fmt.Errorf("alpha=%g beta=%g must be integral for %s inputs", alpha, beta, a.dt)
	}
	// prefill writes Y = beta*C (broadcast) or zero.
	prefill := func() {
		if c == nil {
			k.loop(y.len(), func(i value.Value) { k.store(y, i, k.zero(y.dt)) })
			return
		}
		cs := broadcastStrides(c.shape, y.shape)
		k.loopNest(y.shape, func(idx []value.Value) {
			v := k.load(c, k.linear(idx, cs, 0))
			k.store(y, k.linear(idx, []int64{n, 1}, 0), k.arith("mul", v, k.scalarConst(y.dt, beta), y.dt))
		})
	}
	if a.dt != ir.Float32 {
		ars, aks := kk, int64(1)
		if tA {
			ars, aks = 1, m
		}
		brs, bcs := n, int64(1)
		if tB {
			brs, bcs = 1, kk
		}
		cs := []int64{}
		if c != nil {
			cs = broadcastStrides(c.shape, y.shape)
		}
		k.loopNest([]int64{m, n}, func(idx []value.Value) {
			s := k.sumLoop(kk, k.zero(a.dt), func(q, acc value.Value) value.Value {
				x := k.load(a, k.linear([]value.Value{idx[0], q}, []int64{ars, aks}, 0))
				w := k.load(b, k.linear([]value.Value{q, idx[1]}, []int64{brs, bcs}, 0))
				return k.arith("add", acc, k.arith("mul", x, w, a.dt), a.dt)
			})
			s = k.arith("mul", s, k.scalarConst(a.dt, alpha), a.dt)
			if c != nil {
				cv := k.arith("mul", k.load(c, k.linear(idx, cs, 0)), k.scalarConst(a.dt, beta), a.dt)
				s = k.arith("add", s, cv, a.dt)
			}
			k.store(y, k.linear(idx, []int64{n, 1}, 0), s)
		})
		return nil
	}
	if kk == 0 {
		prefill()
		return nil
	}
	op := gemmOp{m: m, n: n, k: kk, c: y.ptr, ldc: n, ep: epilogue{alpha: alpha}}
	if tA {
		op.a = gemmA{ptr: a.ptr, rs: 1, ks: m}
	} else {
		op.a = gemmA{ptr: a.ptr, rs: kk, ks: 1}
	}
	switch {
	case b.konst != nil:
		rs, cs := n, int64(1)
		if tB {
			rs, cs = 1, kk
		}
		op.b = gemmB{ptr: k.constF32(packB(b.konst.Data.([]float32), kk, n, rs, cs, gemmTileFor(k.e.cfg))), packed: true}
	case tB:
		// copy B^T (n x kk) to scratch as kk x n
		sp := k.b.NewBitCast(k.scratch, f32p)
		k.loopNest([]int64{kk, n}, func(idx []value.Value) {
			v := k.b.NewLoad(types.Float, k.gep(b.ptr, k.linear(idx, []int64{1, kk}, 0)))
			k.b.NewStore(v, k.gep(sp, k.linear(idx, []int64{n, 1}, 0)))
		})
		op.b = gemmB{ptr: sp, ld: n}
	default:
		op.b = gemmB{ptr: b.ptr, ld: n}
	}
	if c != nil && beta != 0 {
		if beta == 1 && c.len() == n && (len(c.shape) == 1 || c.shape[0] == 1) && n > 1 {
			op.ep.colBias = c.ptr
		} else {
			prefill()
			op.ep.accumulate = true
		}
	}
	k.gemm(op)
	return nil
}

// scalarConst is v in dt's compute type.
func (k *kernel) scalarConst(dt ir.DType, v float64) value.Value {
	t := computeType(dt)
	if dt.IsFloat() {
		if t == types.Float {
			v = float64(float32(v))
		}
		return floatConst(t, v)
	}
	return constant.NewInt(t.(*types.IntType), int64(v))
}

// gemmScratch is the scratch Gemm needs: a row-major copy of a transposed
// runtime B.
func gemmScratch(n *ir.Node) int64 {
	if n.AttrInt("transB", 0) == 0 || len(n.Inputs) < 2 || n.Inputs[1] == nil || n.Inputs[1].Const != nil {
		return 0
	}
	return 4 * ir.NumElements(n.Inputs[1].Type.Shape.Sizes())
}
