package llvmgen

import "fmt"

// reduceKernels holds the kernels for reductions, the softmax family,
// normalization and pooling (this family owns every pooling op).
var reduceKernels = map[string]kernelFunc{
	"ReduceMean": notYet, "ReduceSum": notYet, "ReduceMax": notYet, "ReduceMin": notYet,
	"ReduceProd": notYet, "ReduceL1": notYet, "ReduceL2": notYet, "ReduceLogSum": notYet,
	"ReduceLogSumExp": notYet, "ReduceSumSquare": notYet,
	"ArgMax": notYet, "ArgMin": notYet,
	"Softmax": notYet, "LogSoftmax": notYet, "Hardmax": notYet,
	"CumSum": notYet, "TopK": notYet,
	"BatchNormalization": notYet, "LayerNormalization": notYet, "InstanceNormalization": notYet,
	"GroupNormalization": notYet, "LRN": notYet, "MeanVarianceNormalization": notYet, "LpNormalization": notYet,
	"MaxPool": notYet, "AveragePool": notYet, "LpPool": notYet, "GlobalAveragePool": notYet,
	"GlobalMaxPool": notYet, "GlobalLpPool": notYet, "MaxUnpool": notYet,
}

// notYet reserves an op for this family while its kernel is being written;
// compiling it fails with a clear error instead of silently miscompiling.
func notYet(k *kernel) error {
	return fmt.Errorf("compiled kernel for %s is not written yet; run it with the interpreter", k.n.Op)
}
