package interp

// mathKernels holds this family's kernels.
var mathKernels = map[string]kernel{}
