package llvmgen

import "fmt"

// reduceKernels holds the kernels for reductions, the softmax family,
// normalization and pooling (this family owns every pooling op).
var reduceKernels = map[string]kernelFunc{
	"ReduceMean":                reduceKernel(rdReduceOps["ReduceMean"]),
	"ReduceSum":                 reduceKernel(rdReduceOps["ReduceSum"]),
	"ReduceMax":                 reduceKernel(rdReduceOps["ReduceMax"]),
	"ReduceMin":                 reduceKernel(rdReduceOps["ReduceMin"]),
	"ReduceProd":                reduceKernel(rdReduceOps["ReduceProd"]),
	"ReduceL1":                  reduceKernel(rdReduceOps["ReduceL1"]),
	"ReduceL2":                  reduceKernel(rdReduceOps["ReduceL2"]),
	"ReduceLogSum":              reduceKernel(rdReduceOps["ReduceLogSum"]),
	"ReduceLogSumExp":           reduceKernel(rdReduceOps["ReduceLogSumExp"]),
	"ReduceSumSquare":           reduceKernel(rdReduceOps["ReduceSumSquare"]),
	"ArgMax":                    argKernel(true),
	"ArgMin":                    argKernel(false),
	"CumSum":                    cumSumKernel,
	"TopK":                      topKKernel,
	"Softmax":                   softmaxKernel(smSoftmax),
	"LogSoftmax":                softmaxKernel(smLogSoftmax),
	"Hardmax":                   softmaxKernel(smHardmax),
	"BatchNormalization":        batchNormKernel,
	"LayerNormalization":        layerNormKernel,
	"InstanceNormalization":     instanceNormKernel,
	"GroupNormalization":        groupNormKernel,
	"LRN":                       lrnKernel,
	"MeanVarianceNormalization": mvnKernel,
	"LpNormalization":           lpNormKernel,
	"MaxPool":                   notYet, "AveragePool": notYet, "LpPool": notYet, "GlobalAveragePool": notYet,
	"GlobalMaxPool": notYet, "GlobalLpPool": notYet, "MaxUnpool": notYet,
}

// notYet reserves an op for this family while its kernel is being written;
// compiling it fails with a clear error instead of silently miscompiling.
func notYet(k *kernel) error {
	return fmt.Errorf("compiled kernel for %s is not written yet; run it with the interpreter", k.n.Op)
}
