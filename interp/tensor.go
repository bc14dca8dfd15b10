package interp

// tensorKernels holds this family's kernels.
var tensorKernels = map[string]kernel{}
