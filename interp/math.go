package interp

import (
	"math"

	"github.com/effc/effc/ir"
)

// mathKernels holds the math family: elementwise functions, broadcasting
// arithmetic, comparisons, logic and bit ops (elementwise.go), casts
// (cast.go), softmax variants (softmax.go), reductions, arg/top-k and cumsum
// (reduce.go), MatMul, Gemm, Einsum and Det (linalg.go), window functions,
// DFT, STFT and MelWeightMatrix (signal.go), and loss functions (loss.go).
var mathKernels = map[string]kernel{
	// Unary, floats and integers.
	"Abs": unaryKernel(func(*ir.Node) (unaryFuncs, error) {
		return unaryFuncs{f: math.Abs, i: absInt, u: func(a uint64) uint64 { return a }}, nil
	}),
	"Neg": unaryKernel(func(*ir.Node) (unaryFuncs, error) {
		return unaryFuncs{f: func(a float64) float64 { return -a }, i: func(a int64) int64 { return -a }}, nil
	}),
	"Sign": unaryKernel(func(*ir.Node) (unaryFuncs, error) {
		return unaryFuncs{f: signFloat, i: signInt, u: signUint}, nil
	}),
	"Relu": unaryKernel(func(*ir.Node) (unaryFuncs, error) {
		return unaryFuncs{f: func(a float64) float64 { return math.Max(a, 0) }, i: func(a int64) int64 { return max(a, 0) }}, nil
	}),
	"Shrink": unaryKernel(shrink),

	// Unary, floats only.
	"Reciprocal":      floatUnary(func(a float64) float64 { return 1 / a }),
	"Floor":           floatUnary(math.Floor),
	"Ceil":            floatUnary(math.Ceil),
	"Round":           floatUnary(math.RoundToEven),
	"Sqrt":            floatUnary(math.Sqrt),
	"Exp":             floatUnary(math.Exp),
	"Log":             floatUnary(math.Log),
	"Erf":             floatUnary(math.Erf),
	"Tanh":            floatUnary(math.Tanh),
	"Sigmoid":         floatUnary(sigmoid),
	"Softplus":        floatUnary(softplus),
	"Softsign":        floatUnary(func(a float64) float64 { return a / (1 + math.Abs(a)) }),
	"HardSwish":       floatUnary(hardSwish),
	"Mish":            floatUnary(func(a float64) float64 { return a * math.Tanh(softplus(a)) }),
	"Sin":             floatUnary(math.Sin),
	"Cos":             floatUnary(math.Cos),
	"Tan":             floatUnary(math.Tan),
	"Asin":            floatUnary(math.Asin),
	"Acos":            floatUnary(math.Acos),
	"Atan":            floatUnary(math.Atan),
	"Sinh":            floatUnary(math.Sinh),
	"Cosh":            floatUnary(math.Cosh),
	"Asinh":           floatUnary(math.Asinh),
	"Acosh":           floatUnary(math.Acosh),
	"Atanh":           floatUnary(math.Atanh),
	"LeakyRelu":       unaryKernel(leakyRelu),
	"Elu":             unaryKernel(elu),
	"Selu":            unaryKernel(selu),
	"Celu":            unaryKernel(celu),
	"HardSigmoid":     unaryKernel(hardSigmoid),
	"ThresholdedRelu": unaryKernel(thresholdedRelu),
	"Gelu":            unaryKernel(gelu),

	// Predicates and logic.
	"IsNaN": floatPredicate(func(*ir.Node) func(float64) bool { return math.IsNaN }),
	"IsInf": floatPredicate(isInfPredicate),
	"Not":   notKernel,
	"And":   logicalKernel(func(a, b bool) bool { return a && b }),
	"Or":    logicalKernel(func(a, b bool) bool { return a || b }),
	"Xor":   logicalKernel(func(a, b bool) bool { return a != b }),

	// Broadcasting arithmetic.
	"Add": fixedBinary(addFuncs),
	"Sub": fixedBinary(binaryFuncs{
		f: func(a, b float64) float64 { return a - b },
		i: func(a, b int64) int64 { return a - b },
		u: func(a, b uint64) uint64 { return a - b },
	}),
	"Mul": fixedBinary(binaryFuncs{
		f: func(a, b float64) float64 { return a * b },
		i: func(a, b int64) int64 { return a * b },
		u: func(a, b uint64) uint64 { return a * b },
	}),
	"Div":   divKernel,
	"Mod":   modKernel,
	"Pow":   powKernel,
	"PRelu": preluKernel,

	// Comparisons.
	"Equal": compareKernel(compareFuncs{
		f: func(a, b float64) bool { return a == b },
		i: func(a, b int64) bool { return a == b },
		u: func(a, b uint64) bool { return a == b },
	}, true),
	"Less": compareKernel(compareFuncs{
		f: func(a, b float64) bool { return a < b },
		i: func(a, b int64) bool { return a < b },
		u: func(a, b uint64) bool { return a < b },
	}, false),
	"LessOrEqual": compareKernel(compareFuncs{
		f: func(a, b float64) bool { return a <= b },
		i: func(a, b int64) bool { return a <= b },
		u: func(a, b uint64) bool { return a <= b },
	}, false),
	"Greater": compareKernel(compareFuncs{
		f: func(a, b float64) bool { return a > b },
		i: func(a, b int64) bool { return a > b },
		u: func(a, b uint64) bool { return a > b },
	}, false),
	"GreaterOrEqual": compareKernel(compareFuncs{
		f: func(a, b float64) bool { return a >= b },
		i: func(a, b int64) bool { return a >= b },
		u: func(a, b uint64) bool { return a >= b },
	}, false),

	// Bit ops over integers.
	"BitShift": binaryKernel(bitShiftKernel),
	"BitwiseAnd": fixedBinary(binaryFuncs{
		i: func(a, b int64) int64 { return a & b },
		u: func(a, b uint64) uint64 { return a & b },
	}),
	"BitwiseOr": fixedBinary(binaryFuncs{
		i: func(a, b int64) int64 { return a | b },
		u: func(a, b uint64) uint64 { return a | b },
	}),
	"BitwiseXor": fixedBinary(binaryFuncs{
		i: func(a, b int64) int64 { return a ^ b },
		u: func(a, b uint64) uint64 { return a ^ b },
	}),
	"BitwiseNot": unaryKernel(func(*ir.Node) (unaryFuncs, error) {
		return unaryFuncs{i: func(a int64) int64 { return ^a }, u: func(a uint64) uint64 { return ^a }}, nil
	}),

	// Variadic and selection.
	"Min":   variadicKernel(minFuncs, false),
	"Max":   variadicKernel(maxFuncs, false),
	"Sum":   variadicKernel(addFuncs, false),
	"Mean":  variadicKernel(addFuncs, true),
	"Where": whereKernel,
	"Clip":  clipKernel,

	// Casts.
	"Cast":     castKernel,
	"CastLike": castLikeKernel,

	// Softmax family.
	"Softmax":    softmaxKernel(softmaxRow),
	"LogSoftmax": softmaxKernel(logSoftmaxRow),
	"Hardmax":    softmaxKernel(hardmaxRow),

	// Reductions and friends.
	"ReduceSum":       reduceKernel(reduceSum),
	"ReduceMean":      reduceKernel(reduceMean),
	"ReduceMax":       reduceKernel(reduceMax),
	"ReduceMin":       reduceKernel(reduceMin),
	"ReduceProd":      reduceKernel(reduceProd),
	"ReduceL1":        reduceKernel(reduceL1),
	"ReduceL2":        reduceKernel(reduceL2),
	"ReduceLogSum":    reduceKernel(reduceLogSum),
	"ReduceLogSumExp": reduceKernel(reduceLogSumExp),
	"ReduceSumSquare": reduceKernel(reduceSumSquare),
	"ArgMax":          argKernel(true),
	"ArgMin":          argKernel(false),
	"TopK":            topKKernel,
	"CumSum":          cumSumKernel,

	// Signal processing (signal.go).
	"HannWindow":      windowKernel(hann),
	"HammingWindow":   windowKernel(hamming),
	"BlackmanWindow":  windowKernel(blackman),
	"DFT":             dftKernel,
	"STFT":            stftKernel,
	"MelWeightMatrix": melWeightMatrixKernel,

	// Loss functions (loss.go).
	"NegativeLogLikelihoodLoss": nllLossKernel,
	"SoftmaxCrossEntropyLoss":   sceLossKernel,

	// Linear algebra.
	"MatMul": matMulKernel,
	"Gemm":   gemmKernel,
	"Einsum": einsumKernel,
	"Det":    detKernel,
}
