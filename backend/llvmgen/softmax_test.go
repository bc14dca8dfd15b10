package llvmgen_test

import "testing"

func TestSoftmaxCompiled(t *testing.T) {
	g := rdGraph(t, `  input %x : f32[3,5,17]
  input %d : f64[4,3]
  %s = Softmax(%x)
  %s1 = Softmax(%x) {axis=1}
  %l = LogSoftmax(%x)
  %l0 = LogSoftmax(%x) {axis=0}
  %hm = Hardmax(%x)
  %hm1 = Hardmax(%x) {axis=-2}
  %sd = Softmax(%d) {axis=0}
  %ld = LogSoftmax(%d)
  output %s
  output %s1
  output %l
  output %l0
  output %hm
  output %hm1
  output %sd
  output %ld`)
	rdCheck(t, g, rdInputs(g, 21, false), 1e-4)
	rdCheck(t, g, rdInputs(g, 22, true), 1e-4) // NaNs and ties
	// Large values: log(sum) must not be rounded at the magnitude of max.
	big := rdGraph(t, `  input %x : f32[2,11]
  %l = LogSoftmax(%x)
  %s = Softmax(%x)
  output %l
  output %s`)
	bin := rdInputs(big, 24, false)
	for i, v := range bin["x"].Data.([]float32) {
		bin["x"].Data.([]float32)[i] = 10000 + v
	}
	rdCheck(t, big, bin, 1e-5)
	// The inline exp over its whole range: lines [0, t] for t in [-100, 100).
	rng := rdGraph(t, `  input %x : f32[400,2]
  const %a : i64[1] = [1]
  %s = Softmax(%x)
  %l = LogSoftmax(%x)
  %e = ReduceLogSumExp(%x, %a)
  output %s
  output %l
  output %e`)
	rin := rdInputs(rng, 25, false)
	for i, d := 0, rin["x"].Data.([]float32); i < 400; i++ {
		d[2*i], d[2*i+1] = 0, float32(-100+float64(i)/2)
	}
	rdCheck(t, rng, rin, 1e-5)
	h := rdGraph(t, `  input %h : f16[2,9]
  %s = Softmax(%h)
  %l = LogSoftmax(%h) {axis=0}
  %m = Hardmax(%h)
  output %s
  output %l
  output %m`)
	// f16 outputs: within about an f16 ULP (wasm32 decodes half with integer code).
	rdCheckOn(t, []string{"x86_64", "arm64", "wasm32"}, h, rdInputs(h, 23, false), 2e-3)
}
