package llvmgen

// miscKernels holds the kernels for everything else: quantization, recurrent, sampling and detection ops.
var miscKernels = map[string]kernelFunc{}
