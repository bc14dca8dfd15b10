package llvmgen_test

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRequantizeKernel checks effc.Requantize bit-exactly against the
// interpreter on every target, with runtime and constant parameters,
// vector bodies and one-lane remainders: per-row parameters (axis 1, 13
// elements per row) and per-lane ones (axis last, 11 channels), u8 and i8
// outputs, the clamp attributes, and the edge cases of the fixed-point
// arithmetic: INT32_MIN·INT32_MIN, accumulators at both int32 ends, shifts
// 0, 31 and negative (left shifts), and negative values that round.
func TestRequantizeKernel(t *testing.T) {
	src := `effir 1
graph "requant" opset{ai.onnx=18, effc=1} {
  input %acc : i32[2,5,13]
  input %bias : i32[5]
  input %mult : i32[5]
  input %shift : i8[5]
  input %acc2 : i32[3,11]
  input %shift2 : i32[11]
  const %yz : u8[] = 128
  const %m2 : i32[1] = [1518500250]
  const %yz2 : i8[] = -3
  %y : u8[2,5,13] = effc::Requantize(%acc, %bias, %mult, %shift, %yz)  @rows
  %z : i8[3,11] = effc::Requantize(%acc2, _, %m2, %shift2, %yz2) {axis=-1, min=-50, max=100}  @lanes
  output %y
  output %z
}
`
	g := parseGraph(t, src)
	rng := rand.New(rand.NewPCG(3, 9))
	in := randomInputs(g, 4, -1<<12, 1<<12, nil)
	acc := in["acc"].Data.([]int32)
	for i := range acc {
		if i%7 == 0 {
			acc[i] = int32(rng.Uint32()) // anywhere in int32
		}
	}
	acc[0], acc[1], acc[13], acc[14], acc[26] = math.MinInt32, math.MaxInt32, math.MinInt32, math.MaxInt32, math.MinInt32
	// Channel 0: INT32_MIN·INT32_MIN doubling saturates; 1: shift 31;
	// 2: left shift 3; 3: right shift 5; 4: shift 0 and a multiplier of
	// 1/32, so that the doubling high product meets every tie.
	copy(in["bias"].Data.([]int32), []int32{0, 1000, -77, 5, -123})
	copy(in["mult"].Data.([]int32), []int32{math.MinInt32, math.MaxInt32, 1 << 25, 1518500250, 1 << 26})
	copy(in["shift"].Data.([]int8), []int8{0, 31, -3, 5, 0})
	acc2 := in["acc2"].Data.([]int32)
	for i := range acc2 {
		acc2[i] %= 256
	}
	acc2[0], acc2[1] = math.MinInt32, math.MaxInt32
	for i, s := range in["shift2"].Data.([]int32) {
		in["shift2"].Data.([]int32)[i] = s%12 + 4 // shifts −7..15
	}
	in["shift2"].Data.([]int32)[0] = 0
	checkOnTargets(t, src, in, 0)
}
