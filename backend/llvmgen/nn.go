package llvmgen

// nnKernels holds the kernels for convolution and its relatives.
var nnKernels = map[string]kernelFunc{
	"Conv":           convKernel,
	"effc.FusedConv": fusedConvKernel,
	"ConvInteger":    convIntegerKernel,
	"QLinearConv":    qlinearConvKernel,
	"ConvTranspose":  convTransposeKernel,
}
