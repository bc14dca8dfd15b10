package onnxconf

import (
	"github.com/effc/effc/ir"
)

// OpClass groups ops by how far a compiled kernel may drift from the
// reference data: the class decides the tolerance of a compiled test.
type OpClass int

// Op classes, from strictest to loosest. A test takes the loosest class
// among the nodes left after the default pipeline.
const (
	// ClassExact: data movement, integer and bool ops, selection (Max,
	// Relu, MaxPool, ArgMax, TopK, comparisons) and rounding. Every output
	// element is one of the inputs or an exactly rounded function of them,
	// so a correct kernel reproduces the reference bit for bit.
	ClassExact OpClass = iota
	// ClassElementwise: fp32 arithmetic and math functions evaluated per
	// element (Add, Exp, Tanh, Sigmoid, ...).
	ClassElementwise
	// ClassAccumulate: reductions, normalizations, pooling averages,
	// convolutions and matrix products, whose kernels sum in a different
	// order (vector lanes, blocking, FMA) than the reference.
	ClassAccumulate
)

// String names the class in reports.
func (c OpClass) String() string {
	return [...]string{"exact", "elementwise", "accumulate"}[c]
}

// CompiledTolerance is the tolerance table of the compiled conformance run,
// by op class. Integer and bool outputs are always compared exactly
// (Compare does that for every non-float dtype).
var CompiledTolerance = map[OpClass]Tolerance{
	ClassExact: {},
	// A few ULP of fp32: one ULP is 2^-23 ≈ 1.2e-7 relative, so rtol 1e-5
	// allows about 80 ULP, covering libm's expf/tanhf/erff (<= 4 ULP in
	// glibc and wasi-libc) against numpy's float64-then-rounded reference
	// with room for two chained functions (Sigmoid = 1/(1+exp(-x))). Atol
	// 1e-6 covers outputs that cancel to near zero (sin(pi), x-x), where
	// the relative error of a correctly rounded input is unbounded.
	ClassElementwise: {Rtol: 1e-5, Atol: 1e-6},
	// abs-or-rel 1e-4, the bound for reductions and convolutions
	// (|d| <= 1e-4 + 1e-4*|want|, at most twice max(abs, rel)): an fp32 sum
	// of n terms in any order is within about n*2^-24*sum|x| of the exact
	// sum; for the test suite's sizes (n <= a few thousand, |x| ~ 1) that is
	// below 1e-4.
	ClassAccumulate: {Rtol: 1e-4, Atol: 1e-4},
}

// exactOps are the ClassExact ops that take or produce floats (ops whose
// outputs are all integer or bool are exact whatever their class).
var exactOps = setOf(
	// data movement
	"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Pad",
	"Tile", "Expand", "Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "DepthToSpace",
	"SpaceToDepth", "CenterCropPad", "Compress", "ReverseSequence", "Trilu", "Dropout", "Shape", "Size",
	"ConstantOfShape", "EyeLike", "OneHot", "Where", "NonZero", "Unique", "Col2Im",
	// selection and sign
	"Relu", "Max", "Min", "MaxPool", "GlobalMaxPool", "MaxUnpool", "ReduceMax", "ReduceMin", "ArgMax", "ArgMin",
	"TopK", "Hardmax", "Abs", "Neg", "Sign", "Clip", "Shrink", "ThresholdedRelu",
	// comparisons and predicates
	"Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "IsNaN", "IsInf", "Not", "And", "Or", "Xor",
	// exactly rounded
	"Floor", "Ceil", "Round", "Cast", "CastLike",
)

// accumulateOps are the ClassAccumulate ops.
var accumulateOps = setOf(
	"Conv", "ConvTranspose", "ConvInteger", "DeformConv", "QLinearConv", "Gemm", "MatMul", "MatMulInteger",
	"QLinearMatMul", "Einsum", "Det", "RNN", "GRU", "LSTM",
	"ReduceSum", "ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
	"ReduceSumSquare", "CumSum", "Mean", "Sum",
	"Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization",
	"GroupNormalization", "MeanVarianceNormalization", "LpNormalization", "LRN",
	"AveragePool", "GlobalAveragePool", "LpPool", "GlobalLpPool", "RoiAlign", "MaxRoiPool", "GridSample", "Resize",
	"DFT", "STFT", "MelWeightMatrix", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
)

func setOf(ops ...string) map[string]bool {
	m := map[string]bool{}
	for _, op := range ops {
		m[op] = true
	}
	return m
}

// ClassOf returns an op's class: ClassElementwise unless listed as exact
// or accumulating.
func ClassOf(op string) OpClass {
	switch {
	case exactOps[op]:
		return ClassExact
	case accumulateOps[op]:
		return ClassAccumulate
	}
	return ClassElementwise
}

// GraphClass is the loosest class among g's nodes; a graph with no nodes
// left (everything folded to constants) is exact.
func GraphClass(g *ir.Graph) OpClass {
	c := ClassExact
	for _, n := range g.Nodes {
		if k := ClassOf(n.Op); k > c {
			c = k
		}
	}
	return c
}

// CompiledToleranceFor is the tolerance of a compiled output of dtype dt
// from a graph of class c. Narrow floats keep DTypeTolerance when it is
// looser: a kernel computing in fp32 and rounding once to fp16/bf16 can
// land one ULP of the narrow type away from the reference's rounding.
func CompiledToleranceFor(c OpClass, dt ir.DType) Tolerance {
	tol := CompiledTolerance[c]
	if c == ClassExact {
		return tol
	}
	if d, ok := DTypeTolerance[dt]; ok && (dt == ir.Float16 || dt == ir.BFloat16) {
		tol.Rtol = max(tol.Rtol, d.Rtol)
		tol.Atol = max(tol.Atol, d.Atol)
	}
	return tol
}
