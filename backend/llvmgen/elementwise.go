package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// elementwiseKernels holds the elementwise family: every op whose output
// element depends only on the input elements at the same (broadcast) index.
var elementwiseKernels = map[string]kernelFunc{
	"Relu": unary(func(k *kernel, x value.Value, dt ir.DType) value.Value {
		return k.max(x, k.zero(dt), dt)
	}),
	"Add": binary(func(k *kernel, x, y value.Value, dt ir.DType) value.Value { return k.arith("add", x, y, dt) }),
	"Sub": binary(func(k *kernel, x, y value.Value, dt ir.DType) value.Value { return k.arith("sub", x, y, dt) }),
	"Mul": binary(func(k *kernel, x, y value.Value, dt ir.DType) value.Value { return k.arith("mul", x, y, dt) }),
}

// scalarFunc computes one output element from the input elements, all in
// their compute types; dt is the dtype of input 0.
type scalarFunc func(k *kernel, xs []value.Value, dt ir.DType) value.Value

// unary adapts a one-input scalar function.
func unary(f func(k *kernel, x value.Value, dt ir.DType) value.Value) kernelFunc {
	return mapKernel(func(k *kernel, xs []value.Value, dt ir.DType) value.Value { return f(k, xs[0], dt) })
}

// binary adapts a two-input scalar function.
func binary(f func(k *kernel, x, y value.Value, dt ir.DType) value.Value) kernelFunc {
	return mapKernel(func(k *kernel, xs []value.Value, dt ir.DType) value.Value { return f(k, xs[0], xs[1], dt) })
}

// mapKernel builds a kernel that applies f elementwise over all present
// inputs with multidirectional broadcasting, writing output 0.
func mapKernel(f scalarFunc) kernelFunc {
	return func(k *kernel) error {
		var ins []*buf
		for _, b := range k.in {
			if b != nil {
				ins = append(ins, b)
			}
		}
		if len(ins) == 0 || k.out[0] == nil {
			return fmt.Errorf("elementwise kernel needs an input and output 0")
		}
		k.mapN(k.out[0], ins, func(xs []value.Value) value.Value { return f(k, xs, ins[0].dt) })
		return nil
	}
}

// mapN writes out[i] = f(ins[0][b0(i)], ins[1][b1(i)], ...) where bj maps an
// output index to input j's broadcast index. When every input has the output's
// shape or a single element, it is one flat loop that opt vectorizes.
func (k *kernel) mapN(out *buf, ins []*buf, f func(xs []value.Value) value.Value) {
	flat := true
	for _, in := range ins {
		if in.len() != out.len() && in.len() != 1 {
			flat = false
		}
	}
	if flat {
		k.loop(out.len(), func(i value.Value) {
			xs := make([]value.Value, len(ins))
			for j, in := range ins {
				idx := i
				if in.len() == 1 && out.len() != 1 {
					idx = i64(0)
				}
				xs[j] = k.load(in, idx)
			}
			k.store(out, i, f(xs))
		})
		return
	}
	outStr := strides(out.shape)
	inStr := make([][]int64, len(ins))
	for j, in := range ins {
		inStr[j] = broadcastStrides(in.shape, out.shape)
	}
	k.loopNest(out.shape, func(idx []value.Value) {
		xs := make([]value.Value, len(ins))
		for j, in := range ins {
			xs[j] = k.load(in, k.linear(idx, inStr[j], 0))
		}
		k.store(out, k.linear(idx, outStr, 0), f(xs))
	})
}

// zero returns 0 in dt's compute type.
func (k *kernel) zero(dt ir.DType) value.Value {
	t := computeType(dt)
	if dt.IsFloat() {
		return floatConst(t, 0)
	}
	return constant.NewInt(t.(*types.IntType), 0)
}

// max returns the larger of x and y (NaN-propagating for floats, like
// ONNX Max/Relu on NaN inputs).
func (k *kernel) max(x, y value.Value, dt ir.DType) value.Value {
	switch {
	case dt.IsFloat():
		// select(x < y, y, x) keeps x when x is NaN.
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, y), y, x)
	case dt.IsUnsigned() || dt == ir.Bool:
		return k.b.NewSelect(k.b.NewICmp(enum.IPredULT, x, y), y, x)
	}
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, x, y), y, x)
}

// arith emits add, sub or mul in dt's compute type (integers wrap).
func (k *kernel) arith(op string, x, y value.Value, dt ir.DType) value.Value {
	if dt.IsFloat() {
		switch op {
		case "add":
			return k.b.NewFAdd(x, y)
		case "sub":
			return k.b.NewFSub(x, y)
		case "mul":
			return k.b.NewFMul(x, y)
		}
	}
	switch op {
	case "add":
		return k.b.NewAdd(x, y)
	case "sub":
		return k.b.NewSub(x, y)
	case "mul":
		return k.b.NewMul(x, y)
	}
	panic("llvmgen: arith " + op)
}
