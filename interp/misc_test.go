package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func TestRange(t *testing.T) {
	got := tkRun(t, "Range", 1, nil, tkF32(nil, 1), tkF32(nil, 5), tkF32(nil, 1.5))[0]
	tkWant(t, got, ir.Float32, tkS(3), []float32{1, 2.5, 4})
	i32 := func(v int32) *ir.Tensor { return &ir.Tensor{DType: ir.Int32, Shape: tkS(), Data: []int32{v}} }
	got = tkRun(t, "Range", 1, nil, i32(10), i32(4), i32(-3))[0]
	tkWant(t, got, ir.Int32, tkS(2), []int32{10, 7})
	got = tkRun(t, "Range", 1, nil, tkI64(nil, 3), tkI64(nil, 3), tkI64(nil, 1))[0]
	tkWant(t, got, ir.Int64, tkS(0), []int64{})
	// Spans near the int64 limits count exactly, without overflow.
	got = tkRun(t, "Range", 1, nil, tkI64(nil, math.MinInt64), tkI64(nil, math.MaxInt64), tkI64(nil, math.MaxInt64))[0]
	tkWant(t, got, ir.Int64, tkS(3), []int64{math.MinInt64, -1, math.MaxInt64 - 1})
	tkErr(t, "refuses tensors above 2^31", "Range", 1, nil, tkI64(nil, 0), tkI64(nil, math.MaxInt64), tkI64(nil, 1))
	tkErr(t, "refuses tensors above 2^31", "Range", 1, nil, tkF32(nil, 0), tkF32(nil, 1e30), tkF32(nil, 1))
	tkErr(t, "delta) is zero", "Range", 1, nil, tkI64(nil, 0), tkI64(nil, 5), tkI64(nil, 0))
	tkErr(t, "input 1 has dtype i32", "Range", 1, nil, tkI64(nil, 0), i32(5), tkI64(nil, 1))
}

func TestConstantOfShape(t *testing.T) {
	got := tkRun(t, "ConstantOfShape", 1, nil, tkI64(tkS(2), 2, 1))[0]
	tkWant(t, got, ir.Float32, tkS(2, 1), []float32{0, 0})
	v := &ir.Tensor{DType: ir.Int32, Shape: tkS(1), Data: []int32{7}}
	got = tkRun(t, "ConstantOfShape", 1, map[string]*ir.Attr{"value": ir.TensorAttr(v)}, tkI64(tkS(1), 3))[0]
	tkWant(t, got, ir.Int32, tkS(3), []int32{7, 7, 7})
	got = tkRun(t, "ConstantOfShape", 1, map[string]*ir.Attr{"value": ir.TensorAttr(v)}, tkI64(tkS(0)))[0]
	tkWant(t, got, ir.Int32, tkS(), []int32{7})
}

func TestDropout(t *testing.T) {
	x := tkF32(tkS(2, 2), 1, 2, 3, 4)
	outs := tkRun(t, "Dropout", 2, nil, x, tkF32(nil, 0.7))
	tkWant(t, outs[0], ir.Float32, tkS(2, 2), []float32{1, 2, 3, 4})
	tkWant(t, outs[1], ir.Bool, tkS(2, 2), []bool{true, true, true, true})
	tr := &ir.Tensor{DType: ir.Bool, Shape: tkS(), Data: []bool{true}}
	big := tkF32(tkS(1000), make([]float32, 1000)...)
	for i := range big.Data.([]float32) {
		big.Data.([]float32)[i] = 1
	}
	outs = tkRun(t, "Dropout", 2, map[string]*ir.Attr{"seed": ir.IntAttr(3)}, big, tkF32(nil, 0.5), tr)
	kept := 0
	for i, v := range outs[0].Data.([]float32) {
		m := outs[1].Data.([]bool)[i]
		if (m && v != 2) || (!m && v != 0) {
			t.Fatalf("element %d: value %v with mask %v; want 2 when kept, 0 when dropped", i, v, m)
		}
		if m {
			kept++
		}
	}
	if kept < 400 || kept > 600 {
		t.Errorf("kept %d of 1000 with ratio 0.5", kept)
	}
	tkErr(t, "want a value in [0, 1)", "Dropout", 1, nil, x, tkF32(nil, 1), tr)
}

func TestTriluEyeLike(t *testing.T) {
	x := tkI64(tkS(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9)
	got := tkRun(t, "Trilu", 1, nil, x, tkI64(nil, 1))[0]
	tkWant(t, got, ir.Int64, tkS(3, 3), []int64{0, 2, 3, 0, 0, 6, 0, 0, 0})
	got = tkRun(t, "Trilu", 1, map[string]*ir.Attr{"upper": ir.IntAttr(0)}, x, tkI64(nil, -1))[0]
	tkWant(t, got, ir.Int64, tkS(3, 3), []int64{0, 0, 0, 4, 0, 0, 7, 8, 0})
	tkErr(t, "want at least 2", "Trilu", 1, nil, tkI64(tkS(3), 1, 2, 3))

	e := tkRun(t, "EyeLike", 1, map[string]*ir.Attr{"k": ir.IntAttr(-1), "dtype": ir.IntAttr(int64(ir.Bool))}, tkF32(tkS(3, 2), 0, 0, 0, 0, 0, 0))[0]
	tkWant(t, e, ir.Bool, tkS(3, 2), []bool{false, false, true, false, false, true})
	e = tkRun(t, "EyeLike", 1, map[string]*ir.Attr{"k": ir.IntAttr(1)}, &ir.Tensor{DType: ir.Float16, Shape: tkS(2, 3), Data: make([]uint16, 6)})[0]
	tkWant(t, e, ir.Float16, tkS(2, 3), []uint16{0, 0x3c00, 0, 0, 0, 0x3c00})
	tkErr(t, "want 2", "EyeLike", 1, nil, tkF32(tkS(2), 0, 0))
}
