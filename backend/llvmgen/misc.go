package llvmgen

// miscKernels holds the kernels for everything else: losses, quantization,
// recurrent, sampling, linear-algebra extras and ops whose outputs are known
// at compile time. Each op's kernel lives in a misc_*.go, quant*.go, rnn*.go
// or resize*.go file; foldOr compiles a node with all-constant inputs by
// evaluating it once at compile time.
var miscKernels = map[string]kernelFunc{
	"NegativeLogLikelihoodLoss": foldOr(nllLossKernel),
	"SoftmaxCrossEntropyLoss":   foldOr(sceLossKernel),

	"QuantizeLinear":        foldOr(quantizeLinearKernel),
	"DequantizeLinear":      dequantizeLinearKernel, // folds constants itself, except fp8 weights
	"DynamicQuantizeLinear": foldOr(dynamicQuantizeLinearKernel),

	"Resize":            resizeKernel,
	"GridSample":        gridSampleKernel,
	"Col2Im":            col2ImKernel,
	"RoiAlign":          foldOr(roiAlignKernel),
	"NonMaxSuppression": foldOr(nonMaxSuppressionKernel),
	"RNN":               rnnKernel,
	"GRU":               rnnKernel,
	"LSTM":              rnnKernel,
	"Einsum":            foldOr(mxEinsumKernel),
	"Det":               foldOr(mxDetKernel),
	"DFT":               foldOr(dftKernel),
	"STFT":              foldOr(stftKernel),

	"Shape":           staticKernel,
	"Size":            staticKernel,
	"EyeLike":         staticKernel,
	"ConstantOfShape": staticKernel,
	"Range":           staticKernel,
	"HannWindow":      staticKernel,
	"HammingWindow":   staticKernel,
	"BlackmanWindow":  staticKernel,
	"MelWeightMatrix": foldOr(melWeightMatrixKernel),
	"NonZero":         foldOr(nonZeroKernel),
}
