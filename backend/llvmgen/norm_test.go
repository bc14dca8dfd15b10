package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

func TestNormCompiled(t *testing.T) {
	g := rdGraph(t, `  input %x : f32[2,6,5,3]
  input %sc : f32[6]
  input %b : f32[6]
  input %mu : f32[6]
  input %vr : f32[6]
  input %ls : f32[5,3]
  input %lb : f32[3]
  input %gs : f32[3]
  input %gb : f32[3]
  %bn = BatchNormalization(%x, %sc, %b, %mu, %vr) {epsilon=0.01}
  %ln, %lm, %li = LayerNormalization(%x, %ls, %lb) {axis=2}
  %ln3 = LayerNormalization(%x, %lb) {axis=-1, epsilon=0.001}
  %in = InstanceNormalization(%x, %sc, %b)
  %gn = GroupNormalization(%x, %gs, %gb) {num_groups=3}
  %gc = GroupNormalization(%x, %sc, %b) {num_groups=2}
  %lrn = LRN(%x) {size=3, alpha=0.01, beta=0.6, bias=1.5}
  %lrn4 = LRN(%x) {size=4}
  %mvn = MeanVarianceNormalization(%x)
  %mvn1 = MeanVarianceNormalization(%x) {axes=[1, 3]}
  output %bn
  output %ln
  output %lm
  output %li
  output %ln3
  output %in
  output %gn
  output %gc
  output %lrn
  output %lrn4
  output %mvn
  output %mvn1`)
	in := rdInputs(g, 31, false)
	vr := in["vr"].Data.([]float32)
	for i := range vr {
		vr[i] = vr[i]*vr[i] + 0.1 // variances are positive
	}
	rdCheck(t, g, in, 1e-4)
}

func TestNormCompiledF64AndHalf(t *testing.T) {
	g := rdGraph(t, `  input %x : f64[3,4,7]
  input %s : f64[7]
  input %c : f64[4]
  %ln = LayerNormalization(%x, %s)
  %in = InstanceNormalization(%x, %c, %c)
  %lrn = LRN(%x) {size=2}
  output %ln
  output %in
  output %lrn`)
	rdCheck(t, g, rdInputs(g, 32, false), 1e-4)
	h := rdGraph(t, `  input %x : f16[2,4,9]
  input %s : f16[9]
  input %c : f16[4]
  %ln = LayerNormalization(%x, %s)
  %in = InstanceNormalization(%x, %c, %c)
  %lrn = LRN(%x) {size=3}
  output %ln
  output %in
  output %lrn`)
	// f16 outputs: within about an f16 ULP (wasm32 decodes half with integer code).
	rdCheckOn(t, []string{"x86_64", "arm64", "wasm32"}, h, rdInputs(h, 33, false), 4e-3)
}

// LpNormalization is not in the ir op table yet, so its graph carries the
// output types itself instead of going through shape inference.
func TestLpNormalizationCompiled(t *testing.T) {
	g, err := ir.Parse([]byte(`effir 1
graph "g" opset{ai.onnx=18} {
  input %x : f32[3,5,11]
  %a : f32[3,5,11] = LpNormalization(%x) {axis=-1, p=1}
  %b : f32[3,5,11] = LpNormalization(%x) {axis=1}
  %c : f32[3,5,11] = LpNormalization(%x) {axis=0, p=1}
  output %a
  output %b
  output %c
}
`))
	if err != nil {
		t.Fatal(err)
	}
	rdCheck(t, g, rdInputs(g, 34, false), 1e-4)
}
