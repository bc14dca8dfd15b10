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
// The scalar functions live in elementwise_unary.go (one input),
// elementwise_binary.go (arithmetic, comparisons, logic, bit ops, the
// variadic ops, Where and Clip) and elementwise_cast.go (Cast, CastLike).
//
// Semantics follow the interpreter (interp/elementwise.go, interp/math.go,
// interp/cast.go): integer, comparison, selection and rounding ops are
// bit-exact; float32 transcendental functions call libm in single precision
// (within a few ulps); composite activations whose float32 evaluation would
// cancel badly (Gelu, Elu, Selu, Celu, Softplus, Mish, HardSigmoid,
// HardSwish, Softsign) are evaluated in double precision like the
// interpreter and rounded once.
var elementwiseKernels = map[string]kernelFunc{
	// Unary, any numeric type.
	"Abs":        unaryOp(accNumeric, absOp),
	"Neg":        unaryOp(accNumeric, negOp),
	"Sign":       unaryOp(accNumeric, signOp),
	"Relu":       unaryOp(accNumeric, reluOp),
	"Shrink":     unaryOp(accNumeric, shrinkOp),
	"BitwiseNot": unaryOp(accInt, bitwiseNotOp),

	// Unary, floating types only.
	"Reciprocal":      unaryOp(accFloat, reciprocalOp),
	"Floor":           unaryOp(accFloat, intrinsicOp("floor")),
	"Ceil":            unaryOp(accFloat, intrinsicOp("ceil")),
	"Round":           unaryOp(accFloat, roundOp),
	"Sqrt":            unaryOp(accFloat, intrinsicOp("sqrt")),
	"Exp":             unaryOp(accFloat, libmOp("exp")),
	"Log":             unaryOp(accFloat, libmOp("log")),
	"Erf":             unaryOp(accFloat, libmOp("erf")),
	"Tanh":            unaryOp(accFloat, libmOp("tanh")),
	"Sin":             unaryOp(accFloat, libmOp("sin")),
	"Cos":             unaryOp(accFloat, libmOp("cos")),
	"Tan":             unaryOp(accFloat, libmOp("tan")),
	"Asin":            unaryOp(accFloat, libmOp("asin")),
	"Acos":            unaryOp(accFloat, libmOp("acos")),
	"Atan":            unaryOp(accFloat, libmOp("atan")),
	"Sinh":            unaryOp(accFloat, libmOp("sinh")),
	"Cosh":            unaryOp(accFloat, libmOp("cosh")),
	"Asinh":           unaryOp(accFloat, libmOp("asinh")),
	"Acosh":           unaryOp(accFloat, acoshOp),
	"Atanh":           unaryOp(accFloat, libmOp("atanh")),
	"Sigmoid":         unaryOp(accFloat, sigmoidOp),
	"Softplus":        unaryOp(accFloat, inDouble(softplusOp)),
	"Softsign":        unaryOp(accFloat, inDouble(softsignOp)),
	"HardSwish":       unaryOp(accFloat, inDouble(hardSwishOp)),
	"HardSigmoid":     unaryOp(accFloat, inDouble(hardSigmoidOp)),
	"Mish":            unaryOp(accFloat, inDouble(mishOp)),
	"Gelu":            geluKernel,
	"Elu":             unaryOp(accFloat, inDouble(eluOp)),
	"Selu":            unaryOp(accFloat, inDouble(seluOp)),
	"Celu":            celuKernel,
	"LeakyRelu":       unaryOp(accFloat, leakyReluOp),
	"ThresholdedRelu": unaryOp(accFloat, thresholdedReluOp),

	// Predicates and logic (bool outputs are stored as 0/1 bytes).
	"IsNaN": unaryOp(accFloat, isNaNOp),
	"IsInf": unaryOp(accFloat, isInfOp),
	"Not":   unaryOp(accBool, notOp),
	"And":   binaryOp(accBool, logicOp("and")),
	"Or":    binaryOp(accBool, logicOp("or")),
	"Xor":   binaryOp(accBool, logicOp("xor")),

	// Broadcasting arithmetic.
	"Add":   binaryOp(accNumeric, arithOp("add")),
	"Sub":   binaryOp(accNumeric, arithOp("sub")),
	"Mul":   binaryOp(accNumeric, arithOp("mul")),
	"Div":   binaryOp(accNumeric, divOp),
	"Mod":   modKernel,
	"Pow":   powKernel,
	"PRelu": binaryOp(accNumeric, preluOp),

	// Comparisons.
	"Equal":          binaryOp(accNumericOrBool, compareOp(enum.FPredOEQ, enum.IPredEQ, enum.IPredEQ)),
	"Less":           binaryOp(accNumeric, compareOp(enum.FPredOLT, enum.IPredSLT, enum.IPredULT)),
	"LessOrEqual":    binaryOp(accNumeric, compareOp(enum.FPredOLE, enum.IPredSLE, enum.IPredULE)),
	"Greater":        binaryOp(accNumeric, compareOp(enum.FPredOGT, enum.IPredSGT, enum.IPredUGT)),
	"GreaterOrEqual": binaryOp(accNumeric, compareOp(enum.FPredOGE, enum.IPredSGE, enum.IPredUGE)),

	// Bit ops over integers.
	"BitShift":   bitShiftKernel,
	"BitwiseAnd": binaryOp(accInt, bitwiseOp("and")),
	"BitwiseOr":  binaryOp(accInt, bitwiseOp("or")),
	"BitwiseXor": binaryOp(accInt, bitwiseOp("xor")),

	// Variadic and selection.
	"Max":   variadicKernel("max"),
	"Min":   variadicKernel("min"),
	"Sum":   variadicKernel("sum"),
	"Mean":  meanKernel,
	"Where": whereKernel,
	"Clip":  clipKernel,

	// Casts.
	"Cast":     castKernel,
	"CastLike": castKernel,
}

// scalarFunc computes one output element from the input elements, all in
// their compute types; dt is the dtype of input 0.
type scalarFunc func(k *kernel, xs []value.Value, dt ir.DType) value.Value

// ewAccept checks that an elementwise op takes dtype dt.
type ewAccept func(dt ir.DType) bool

// isFloatDT reports whether dt computes in floating point in compiled code
// (float32, float64, float16 and bfloat16; FP8 is only handled by Cast).
func isFloatDT(dt ir.DType) bool {
	return dt == ir.Float32 || dt == ir.Float64 || dt == ir.Float16 || dt == ir.BFloat16
}

// isIntDT reports whether dt is a signed or unsigned integer type.
func isIntDT(dt ir.DType) bool { return dt.IsSigned() || dt.IsUnsigned() }

// isUnsignedDT reports whether integer comparisons on dt are unsigned
// (unsigned integers and bool).
func isUnsignedDT(dt ir.DType) bool { return dt.IsUnsigned() || dt == ir.Bool }

func accFloat(dt ir.DType) bool         { return isFloatDT(dt) }
func accInt(dt ir.DType) bool           { return isIntDT(dt) }
func accBool(dt ir.DType) bool          { return dt == ir.Bool }
func accNumeric(dt ir.DType) bool       { return isFloatDT(dt) || isIntDT(dt) }
func accNumericOrBool(dt ir.DType) bool { return accNumeric(dt) || dt == ir.Bool }

// unaryOp adapts a one-input scalar function.
func unaryOp(acc ewAccept, f func(k *kernel, x value.Value, dt ir.DType) value.Value) kernelFunc {
	return mapKernel(acc, func(k *kernel, xs []value.Value, dt ir.DType) value.Value { return f(k, xs[0], dt) })
}

// binaryOp adapts a two-input scalar function.
func binaryOp(acc ewAccept, f func(k *kernel, x, y value.Value, dt ir.DType) value.Value) kernelFunc {
	return mapKernel(acc, func(k *kernel, xs []value.Value, dt ir.DType) value.Value { return f(k, xs[0], xs[1], dt) })
}

// mapKernel builds a kernel that applies f elementwise over all present
// inputs with multidirectional broadcasting, writing output 0. Input 0's
// dtype must pass acc.
func mapKernel(acc ewAccept, f scalarFunc) kernelFunc {
	return func(k *kernel) error {
		ins, err := k.presentInputs()
		if err != nil {
			return err
		}
		if !acc(ins[0].dt) {
			return unsupportedDType(ins[0].dt)
		}
		k.mapN(k.out[0], ins, func(xs []value.Value) value.Value { return f(k, xs, ins[0].dt) })
		return nil
	}
}

// presentInputs returns the non-nil inputs and checks that output 0 exists.
func (k *kernel) presentInputs() ([]*buf, error) {
	var ins []*buf
	for _, b := range k.in {
		if b != nil {
			ins = append(ins, b)
		}
	}
	if len(ins) == 0 || len(k.out) == 0 || k.out[0] == nil {
		return nil, fmt.Errorf("elementwise kernel needs an input and output 0")
	}
	return ins, nil
}

// unsupportedDType is the error for an input dtype the compiled kernel does
// not take.
func unsupportedDType(dt ir.DType) error {
	return fmt.Errorf("input 0 has dtype %s, which the compiled kernel does not ewAccept", dt)
}

// mapN writes out[i] = f(ins[0][b0(i)], ins[1][b1(i)], ...) where bj maps an
// output index to input j's broadcast index, loading and storing through the
// compute types (see mapIndex for the loop structure).
func (k *kernel) mapN(out *buf, ins []*buf, f func(xs []value.Value) value.Value) {
	k.mapIndex(out, ins, func(o value.Value, idx []value.Value) {
		xs := make([]value.Value, len(ins))
		for j, in := range ins {
			xs[j] = k.load(in, idx[j])
		}
		k.store(out, o, f(xs))
	})
}

// mapIndex calls body(o, idx) for every output element o, with idx[j] the
// element of ins[j] that broadcasts to it. When every input has the output's
// size or a single element, it is one flat loop. Otherwise the output dims
// are merged where every input steps through them as one (so [N,C,H,W] +
// [C,1,1] becomes a loop nest over N, C and a contiguous H*W inner loop) and
// size-1 dims are dropped; the inner loop has unit or zero strides, which
// opt vectorizes.
func (k *kernel) mapIndex(out *buf, ins []*buf, body func(o value.Value, idx []value.Value)) {
	flat := true
	for _, in := range ins {
		if in.len() != out.len() && in.len() != 1 {
			flat = false
		}
	}
	if flat {
		k.loop(out.len(), func(i value.Value) {
			idx := make([]value.Value, len(ins))
			for j, in := range ins {
				idx[j] = i
				if in.len() == 1 && out.len() != 1 {
					idx[j] = i64(0)
				}
			}
			body(i, idx)
		})
		return
	}
	dims, outStr, inStr := mergeBroadcastDims(out.shape, ins)
	k.loopNest(dims, func(iv []value.Value) {
		idx := make([]value.Value, len(ins))
		for j := range ins {
			idx[j] = k.linear(iv, inStr[j], 0)
		}
		body(k.linear(iv, outStr, 0), idx)
	})
}

// mergeBroadcastDims collapses the output shape for a broadcast walk: size-1
// dims go, and a dim merges into the previous one when the output and every
// input are contiguous across the pair (or broadcast across both). It
// returns the merged dims with the output's and each input's strides.
func mergeBroadcastDims(out []int64, ins []*buf) (dims, outStr []int64, inStr [][]int64) {
	os := strides(out)
	is := make([][]int64, len(ins))
	for j, in := range ins {
		is[j] = broadcastStrides(in.shape, out)
	}
	inStr = make([][]int64, len(ins))
	for d, n := range out {
		if n == 1 {
			continue
		}
		if last := len(dims) - 1; last >= 0 {
			ok := outStr[last] == os[d]*n
			for j := range ins {
				ok = ok && inStr[j][last] == is[j][d]*n
			}
			if ok {
				dims[last] *= n
				outStr[last] = os[d]
				for j := range ins {
					inStr[j][last] = is[j][d]
				}
				continue
			}
		}
		dims = append(dims, n)
		outStr = append(outStr, os[d])
		for j := range ins {
			inStr[j] = append(inStr[j], is[j][d])
		}
	}
	return dims, outStr, inStr
}

// zero returns 0 in dt's compute type.
func (k *kernel) zero(dt ir.DType) value.Value { return k.ewConst(dt, 0) }

// cst returns v in dt's compute type (integers truncate v).
func (k *kernel) ewConst(dt ir.DType, v float64) value.Value {
	t := computeType(dt)
	if ft, ok := t.(*types.FloatType); ok {
		return constant.NewFloat(ft, v)
	}
	return constant.NewInt(t.(*types.IntType), int64(v))
}

// max returns the larger of x and y with the interpreter's semantics: for
// floats, NaN if either is NaN, and +0 over -0 (Go's math.Max).
func (k *kernel) max(x, y value.Value, dt ir.DType) value.Value {
	if isFloatDT(dt) {
		return k.fminmax(x, y, true)
	}
	pred := enum.IPredSLT
	if isUnsignedDT(dt) {
		pred = enum.IPredULT
	}
	return k.b.NewSelect(k.b.NewICmp(pred, x, y), y, x)
}

// min returns the smaller of x and y (for floats: NaN if either is NaN,
// -0 under +0, as Go's math.Min).
func (k *kernel) ewMin(x, y value.Value, dt ir.DType) value.Value {
	if isFloatDT(dt) {
		return k.fminmax(x, y, false)
	}
	pred := enum.IPredSLT
	if isUnsignedDT(dt) {
		pred = enum.IPredULT
	}
	return k.b.NewSelect(k.b.NewICmp(pred, x, y), x, y)
}

// fminmax is Go's math.Max (max) or math.Min on two floats of one type:
// ordered unequal operands select by comparison; equal ones (including
// +0/-0) combine their bits with AND for max and OR for min, which picks
// +0 or -0 respectively; unordered ones give NaN.
func (k *kernel) fminmax(x, y value.Value, isMax bool) value.Value {
	ft := x.Type().(*types.FloatType)
	it := types.I32
	if ft.Kind == types.FloatKindDouble {
		it = types.I64
	}
	bx, by := k.b.NewBitCast(x, it), k.b.NewBitCast(y, it)
	var eqBits value.Value
	if isMax {
		eqBits = k.b.NewAnd(bx, by)
	} else {
		eqBits = k.b.NewOr(bx, by)
	}
	eq := k.b.NewBitCast(eqBits, ft)
	tie := k.b.NewSelect(k.b.NewFCmp(enum.FPredUNO, x, y), k.b.NewFAdd(x, y), eq)
	big, small := value.Value(x), value.Value(y)
	if !isMax {
		big, small = y, x
	}
	// max: x > y ? x : (x < y ? y : tie); min mirrors it.
	r := k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, y), small, tie)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, x, y), big, r)
}

// arith emits add, sub or mul in dt's compute type (integers wrap).
func (k *kernel) arith(op string, x, y value.Value, dt ir.DType) value.Value {
	if isFloatDT(dt) {
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

// arithOp is the scalar function of Add, Sub or Mul.
func arithOp(op string) func(k *kernel, x, y value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x, y value.Value, dt ir.DType) value.Value { return k.arith(op, x, y, dt) }
}

// boolByte widens an i1 to the 0/1 byte a bool element is stored as.
func (k *kernel) boolByte(c value.Value) value.Value { return k.b.NewZExt(c, types.I8) }
