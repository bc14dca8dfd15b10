package llvmgen_test

import "testing"

// TestEinsumDetKernels covers Einsum (matmul, batch diagonal with ellipsis,
// implicit output, sum, integer operands) and Det (batched, with a singular
// matrix).
func TestEinsumDetKernels(t *testing.T) {
	src := `effir 1
graph "linalg" opset{ai.onnx=18} {
  input %a : f32[2,3,4]
  input %b : f32[2,4,5]
  input %d : f64[3,5,5]
  input %i : i32[3,4]
  input %m : f32[2,3,3]
  input %s : f32[3,3]
  %mm : f32[2,3,5] = Einsum(%a, %b) {equation="bij,bjk->bik"}  @batch_matmul
  %dg : f64[3,5] = Einsum(%d) {equation="...ii->...i"}  @diagonal
  %im : f32[4,3] = Einsum(%a) {equation="bij->ji"}  @sum_transpose
  %it : i32[4] = Einsum(%i, %i) {equation="ij,ij->j"}  @int_dot
  %ip : f32[] = Einsum(%a, %a) {equation="bij,bij"}  @inner
  %dt : f32[2] = Det(%m)  @det
  %ds : f32[] = Det(%s)  @det_singular
  %dd : f64[3] = Det(%d)  @det64
  output %mm
  output %dg
  output %im
  output %it
  output %ip
  output %dt
  output %ds
  output %dd
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 8, -9, 9, nil)
	s := in["s"].Data.([]float32)
	for j := 0; j < 3; j++ {
		s[6+j] = s[j] + s[3+j] // row 2 = row 0 + row 1
	}
	checkOnTargets(t, src, in, 1e-5)
}
