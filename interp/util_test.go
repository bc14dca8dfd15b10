package interp

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestToFloat64 checks the per-tensor fast paths of toFloat64 against the
// per-element ir.Tensor.Float64s for every dtype class, including uint8 and
// uint16 tensors, whose Go slice types fp8, fp16 and bf16 share.
func TestToFloat64(t *testing.T) {
	ts := []*ir.Tensor{
		tf32(sh(3), 1.5, -2, 3e30),
		tf64(sh(2), 0.25, -7),
		{DType: ir.Float16, Shape: sh(2), Data: []uint16{ir.Float32ToFloat16(1.5), ir.Float32ToFloat16(-0.25)}},
		{DType: ir.BFloat16, Shape: sh(2), Data: []uint16{ir.Float32ToBFloat16(3), ir.Float32ToBFloat16(-96)}},
		{DType: ir.Float8E4M3FN, Shape: sh(2), Data: []uint8{0x38, 0xc0}},
		{DType: ir.Float8E5M2, Shape: sh(2), Data: []uint8{0x3c, 0x40}},
		{DType: ir.Uint16, Shape: sh(2), Data: []uint16{15360, 65535}},
		tu8(sh(2), 56, 255),
		ti8(sh(2), -128, 127),
		ti64(sh(1), 1<<40),
		tbool(sh(2), true, false),
	}
	for _, x := range ts {
		got, want := toFloat64(x), x.Float64s()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", x.DType, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s element %d: got %v, want %v", x.DType, i, got[i], want[i])
			}
		}
	}
	// uint16 15360 is 1.0 as fp16; as an integer it must stay 15360.
	if v := toFloat64(ts[6])[0]; v != 15360 {
		t.Errorf("uint16 15360 widened to %v", v)
	}
}
