package llvmgen_test

import "testing"

// TestQLinearAddKernel checks effc.QLinearAdd bit-exactly against the
// interpreter on every target: u8 and i8, zero points at the ends of the
// ranges (saturation at both ends), and scales whose ratios are not exact.
func TestQLinearAddKernel(t *testing.T) {
	src := `effir 1
graph "qadd" opset{ai.onnx=18, effc=1} {
  input %a : u8[2,3,5]
  input %b : u8[2,3,5]
  input %c : i8[2,3,5]
  const %as : f32[] = 0.037
  const %az : u8[] = 128
  const %bs : f32[] = 0.011
  const %bz : u8[] = 3
  const %ys : f32[] = 0.029
  const %yz : u8[] = 0
  const %cs : f32[] = 0.005
  const %cz : i8[] = -128
  const %dz : i8[] = 127
  %y : u8[2,3,5] = effc::QLinearAdd(%a, %as, %az, %b, %bs, %bz, %ys, %yz)  @add_u8
  %z : i8[2,3,5] = effc::QLinearAdd(%c, %cs, %cz, %c, %ys, %dz, %as, %cz)  @add_i8
  output %y
  output %z
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 5, 0, 256, nil)
	for i, v := range randomInputs(g, 6, -128, 128, nil)["c"].Data.([]int8) {
		in["c"].Data.([]int8)[i] = v
	}
	checkOnTargets(t, src, in, 0)
}
