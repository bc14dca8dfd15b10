package interp

// nnKernels holds this family's kernels.
var nnKernels = map[string]kernel{}
