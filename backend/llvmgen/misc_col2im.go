package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

func init() {
	scratchNeeds["Col2Im"] = func(n *ir.Node) int64 {
		if len(n.Outputs) == 0 || n.Outputs[0] == nil || !n.Outputs[0].Type.Ranked || !n.Outputs[0].Type.Shape.Static() {
			return 0
		}
		s := n.Outputs[0].Type.Shape.Sizes()
		if len(s) < 3 {
			return 0
		}
		return 8 * ir.NumElements(s[2:])
	}
}

// maxCol2ImMapWork bounds the compile-time work of Col2Im's destination map
// (prod(block) interpreter runs over [1, prod(block), L] inputs).
const maxCol2ImMapWork = 1 << 27

// col2ImKernel compiles Col2Im with constant image_shape and block_shape.
// The destination of every (kernel offset k, block l) column element is
// found at compile time by running the interpreter once per k on an input
// holding 1 + l in row k and zeros elsewhere (for a fixed k the map is
// injective, so each output value names its source); the kernel then sums
// each image plane in double precision in the interpreter's order.
func col2ImKernel(k *kernel) error {
	x, out := k.in[0], k.out[0]
	if len(x.shape) != 3 || len(out.shape) < 3 {
		return fmt.Errorf("input %v must be [N, C*prod(block), L] and output [N, C, image...]", x.shape)
	}
	img, blk := k.mxInput(1), k.mxInput(2)
	if img == nil || blk == nil || img.konst == nil || blk.konst == nil {
		return fmt.Errorf("image_shape and block_shape must be constants to compile Col2Im")
	}
	K := ir.NumElements(blk.konst.Int64s())
	L := x.shape[2]
	if K <= 0 || x.shape[1]%K != 0 {
		return fmt.Errorf("input dim 1 (%d) is not a multiple of prod(block_shape) = %d", x.shape[1], K)
	}
	imgP := ir.NumElements(out.shape[2:])
	if K*K*L > maxCol2ImMapWork || imgP >= 1<<31 {
		return fmt.Errorf("Col2Im of %d columns of %d blocks is too large to map at compile time", K, L)
	}
	dest := make([]int64, K*L)
	for i := range dest {
		dest[i] = -1
	}
	for kk := int64(0); kk < K; kk++ {
		probe := ir.NewTensor(ir.Float64, []int64{1, K, L})
		d := probe.Data.([]float64)
		for l := int64(0); l < L; l++ {
			d[kk*L+l] = float64(l + 1)
		}
		outs, err := interp.EvalNode(k.n, []*ir.Tensor{probe, img.konst, blk.konst})
		if err != nil {
			return fmt.Errorf("computing the destination map: %w", err)
		}
		res, ok := outs[0].Data.([]float64)
		if !ok || int64(len(res)) != imgP {
			return fmt.Errorf("destination map has %d elements, want %d", len(res), imgP)
		}
		for p, v := range res {
			if v != 0 {
				dest[kk*L+int64(v)-1] = int64(p)
			}
		}
	}
	tab := k.constTable(dest, false)
	acc := &buf{ptr: k.b.NewBitCast(k.scratch, types.NewPointer(f64)), dt: ir.Float64}
	planes := ir.NumElements(out.shape[:2])
	k.loop(planes, func(pl value.Value) {
		k.loop(imgP, func(i value.Value) { k.store(acc, i, mxF64c(0)) })
		k.loop(K*L, func(kl value.Value) {
			d := k.b.NewSExt(k.mxAt(types.I32, tab, kl), types.I64)
			k.ifThen(k.b.NewICmp(enum.IPredSGE, d, i64(0)), func() {
				v := k.mxLoadF64(x, k.b.NewAdd(k.b.NewMul(pl, i64(K*L)), kl))
				k.store(acc, d, k.b.NewFAdd(k.load(acc, d), v))
			}, nil)
		})
		base := k.b.NewMul(pl, i64(imgP))
		k.loop(imgP, func(i value.Value) { k.mxStoreF64(out, k.b.NewAdd(base, i), k.load(acc, i)) })
	})
	return nil
}
