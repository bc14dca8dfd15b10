package onnxconf

import "github.com/effc/effc/ir"

// DefaultTolerance is the float tolerance for float32 and float64 outputs.
// ONNX's backend test runner (onnx/backend/test/runner/__init__.py,
// assert_similar_outputs) defaults to rtol=1e-3, atol=1e-7. effc uses a
// looser atol of 1e-5 because its kernels accumulate in a different order
// (gonum BLAS, blocked reductions) and tiny outputs near zero then differ by
// a few ulps of the larger intermediate values.
var DefaultTolerance = Tolerance{Rtol: 1e-3, Atol: 1e-5}

// DTypeTolerance overrides DefaultTolerance for narrow float outputs.
var DTypeTolerance = map[ir.DType]Tolerance{
	// binary16 has an 11-bit significand: one ulp is 2^-10 ≈ 9.8e-4
	// relative, so allow about two ulps.
	ir.Float16: {Rtol: 2e-3, Atol: 1e-3},
	// bfloat16 has an 8-bit significand: one ulp is 2^-7 ≈ 7.8e-3.
	ir.BFloat16: {Rtol: 1.6e-2, Atol: 1e-2},
	// FP8 outputs come from exact casts in the reference data; compare
	// decoded values exactly.
	ir.Float8E4M3FN:   {},
	ir.Float8E4M3FNUZ: {},
	ir.Float8E5M2:     {},
	ir.Float8E5M2FNUZ: {},
}

// TestTolerance overrides the tolerance of single tests (name as in Skips).
// It starts empty: an entry must say where its numbers come from (the ONNX
// test case's own expect(..., rtol=, atol=) or a measured kernel error bound).
var TestTolerance = map[string]Tolerance{}

// ToleranceFor returns the tolerance for one test output of dtype dt.
func ToleranceFor(test string, dt ir.DType) Tolerance {
	if t, ok := TestTolerance[test]; ok {
		return t
	}
	if t, ok := DTypeTolerance[dt]; ok {
		return t
	}
	return DefaultTolerance
}
