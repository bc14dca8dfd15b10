package llvmgen

// reduceKernels holds the kernels for reductions, softmax family, normalization and pooling.
var reduceKernels = map[string]kernelFunc{}
