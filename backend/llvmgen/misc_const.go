package llvmgen

import (
	"fmt"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// shapeOnlyOps are ops whose outputs depend on their inputs' static shapes
// (and attributes) but not on the values: their non-constant inputs are
// replaced by zeros when the output is computed at compile time.
var shapeOnlyOps = map[string]bool{"Shape": true, "Size": true, "EyeLike": true}

// staticKernel compiles a node whose outputs are known at compile time —
// every input is a constant, or the op only reads its inputs' shapes — by
// running the reference interpreter on it once and copying the result from
// read-only data. The constant-folding pass normally removes such nodes; this
// kernel covers graphs compiled without it.
func staticKernel(k *kernel) error {
	args := make([]*ir.Tensor, len(k.in))
	for i, b := range k.in {
		switch {
		case b == nil:
		case b.konst != nil:
			args[i] = b.konst
		case shapeOnlyOps[k.n.Op]:
			args[i] = ir.NewTensor(b.dt, b.shape)
		default:
			return fmt.Errorf("input %d must be a constant to compile %s (its value decides the output)", i, k.n.Op)
		}
	}
	outs, err := interp.EvalNode(k.n, args)
	if err != nil {
		return fmt.Errorf("computing the constant output: %w", err)
	}
	for o, ob := range k.out {
		if ob == nil {
			continue
		}
		if o >= len(outs) || outs[o] == nil || outs[o].DType != ob.dt || int64(outs[o].Len()) != ob.len() {
			return fmt.Errorf("constant output %d does not match its type %s%v", o, ob.dt, ob.shape)
		}
		n := ob.len() * int64(ob.dt.Size())
		if n == 0 {
			continue
		}
		k.e.memcpy(k.b, k.b.NewBitCast(ob.ptr, i8p), k.mxBytesGlobal(outs[o].Bytes()), n)
	}
	return nil
}

// allConst reports whether every present input of k is a compile-time
// constant.
func (k *kernel) allConst() bool {
	for _, b := range k.in {
		if b != nil && b.konst == nil {
			return false
		}
	}
	return true
}

// foldOr compiles a node with staticKernel when all its inputs are
// constants and with f otherwise.
func foldOr(f kernelFunc) kernelFunc {
	return func(k *kernel) error {
		if k.allConst() {
			return staticKernel(k)
		}
		return f(k)
	}
}
