package llvmgen

// linalgKernels holds the kernels for MatMul, Gemm and their quantized forms.
var linalgKernels = map[string]kernelFunc{}
