package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestSignalKernels covers DFT (real and complex input, inverse, onesided
// with a constant zero-padding dft_length, axis 2), STFT (window and runtime
// frame_step; runtime frame_length) and NonZero with a runtime input.
func TestSignalKernels(t *testing.T) {
	src := `effir 1
graph "signal" opset{ai.onnx=17} {
  input %x : f32[2,6,3,1]
  input %xc : f32[2,6,3,2]
  input %sig : f32[1,40,1]
  input %step : i64[]
  input %flen : i64[]
  input %w : f32[8]
  input %nzx : f32[3,4]
  const %len : i64[] = 9
  %a : f32[2,6,3,2] = DFT(%x) {axis=1}  @dft
  %b : f32[2,6,3,2] = DFT(%xc) {axis=1, inverse=1}  @idft
  %c : f32[2,5,3,2] = DFT(%x, %len) {axis=1, onesided=1}  @dft_pad
  %d : f32[2,6,3,2] = DFT(%xc) {axis=2}  @dft_axis2
  %e : f32[1,9,5,2] = STFT(%sig, %step, %w)  @stft_window
  %f : f32[1,9,5,2] = STFT(%sig, %step, _, %flen)  @stft_len
  %nz : i64[2,7] = NonZero(%nzx)  @nonzero
  output %a
  output %b
  output %c
  output %d
  output %e
  output %f
  output %nz
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 9, 0, 1, map[string]*ir.Tensor{
		"step": {DType: ir.Int64, Shape: []int64{}, Data: []int64{4}},
		"flen": {DType: ir.Int64, Shape: []int64{}, Data: []int64{8}},
		"nzx":  {DType: ir.Float32, Shape: []int64{3, 4}, Data: []float32{0, 1, 0, 2, 3, 0, 0, 4, 5, 6, 0, 7}},
	})
	checkOnTargets(t, src, in, 1e-5)
}

// TestMelWeightMatrixKernel computes MelWeightMatrix from runtime inputs,
// including narrow bands where mel points share a bin.
func TestMelWeightMatrixKernel(t *testing.T) {
	src := `effir 1
graph "mel" opset{ai.onnx=17} {
  input %n : i32[]
  input %len : i32[]
  input %rate : i32[]
  input %lo : f32[]
  input %hi : f32[]
  %m : f32[9,8] = MelWeightMatrix(%n, %len, %rate, %lo, %hi)  @mel
  %m64 : f64[9,8] = MelWeightMatrix(%n, %len, %rate, %lo, %hi) {output_datatype=11}  @mel64
  output %m
  output %m64
}
`
	in := map[string]*ir.Tensor{
		"n":    {DType: ir.Int32, Shape: []int64{}, Data: []int32{8}},
		"len":  {DType: ir.Int32, Shape: []int64{}, Data: []int32{16}},
		"rate": {DType: ir.Int32, Shape: []int64{}, Data: []int32{8192}},
		"lo":   {DType: ir.Float32, Shape: []int64{}, Data: []float32{0}},
		"hi":   {DType: ir.Float32, Shape: []int64{}, Data: []float32{4096}},
	}
	checkOnTargets(t, src, in, 1e-6)
}
