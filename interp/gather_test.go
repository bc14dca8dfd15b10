package interp

import (
	"testing"

	"github.com/effc/effc/ir"
)

func TestGatherFamily(t *testing.T) {
	// Operators.md examples.
	data := tkF32(tkS(3, 2), 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)
	got := tkRun(t, "Gather", 1, nil, data, tkI64(tkS(2, 2), 0, 1, 1, 2))[0]
	tkWant(t, got, ir.Float32, tkS(2, 2, 2), []float32{1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7})
	got = tkRun(t, "Gather", 1, nil, data, &ir.Tensor{DType: ir.Int32, Shape: tkS(), Data: []int32{-1}})[0]
	tkWant(t, got, ir.Float32, tkS(2), []float32{4.5, 5.7})
	tkErr(t, "holds index 3, out of range for a dim of size 3", "Gather", 1, nil, data, tkI64(tkS(1), 3))
	tkErr(t, "want an integer type", "Gather", 1, nil, data, tkF32(tkS(1), 0))

	ge := tkRun(t, "GatherElements", 1, map[string]*ir.Attr{"axis": ir.IntAttr(1)},
		tkI64(tkS(2, 2), 1, 2, 3, 4), tkI64(tkS(2, 2), 0, 0, 1, 0))[0]
	tkWant(t, ge, ir.Int64, tkS(2, 2), []int64{1, 1, 4, 3})
	ge = tkRun(t, "GatherElements", 1, nil,
		tkI64(tkS(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9), tkI64(tkS(2, 3), -1, -2, 0, 2, 0, 0))[0]
	tkWant(t, ge, ir.Int64, tkS(2, 3), []int64{7, 5, 3, 7, 2, 3})
	tkErr(t, "rank 1", "GatherElements", 1, nil, tkI64(tkS(2, 2), 1, 2, 3, 4), tkI64(tkS(2), 0, 0))

	nd := tkRun(t, "GatherND", 1, map[string]*ir.Attr{"batch_dims": ir.IntAttr(1)},
		tkI64(tkS(2, 2, 2), 0, 1, 2, 3, 4, 5, 6, 7), tkI64(tkS(2, 1), 1, 0))[0]
	tkWant(t, nd, ir.Int64, tkS(2, 2), []int64{2, 3, 4, 5})
	nd = tkRun(t, "GatherND", 1, nil, tkI64(tkS(2, 2), 0, 1, 2, 3), tkI64(tkS(2, 2), 0, 0, 1, 1))[0]
	tkWant(t, nd, ir.Int64, tkS(2), []int64{0, 3})
	tkErr(t, "does not fit", "GatherND", 1, nil, tkI64(tkS(2, 2), 0, 1, 2, 3), tkI64(tkS(1, 3), 0, 0, 0))
}

func TestScatterReductions(t *testing.T) {
	data := tkF32(tkS(1, 5), 1, 2, 3, 4, 5)
	idx := tkI64(tkS(1, 2), 1, -4)
	upd := tkF32(tkS(1, 2), 1.1, 2.1)
	for _, c := range []struct {
		red  string
		want []float32
	}{
		{"none", []float32{1, 2.1, 3, 4, 5}},
		{"add", []float32{1, 2 + 1.1 + 2.1, 3, 4, 5}},
		{"mul", []float32{1, 2 * 1.1 * 2.1, 3, 4, 5}},
		{"max", []float32{1, 2.1, 3, 4, 5}},
		{"min", []float32{1, 1.1, 3, 4, 5}},
	} {
		got := tkRun(t, "ScatterElements", 1, map[string]*ir.Attr{"axis": ir.IntAttr(1), "reduction": ir.StringAttr(c.red)}, data, idx, upd)[0]
		tkWant(t, got, ir.Float32, tkS(1, 5), c.want)
	}
	if data.Data.([]float32)[1] != 2 {
		t.Fatal("ScatterElements modified its input")
	}
	// f16 reduces through float64 and rounds back.
	h := func(v ...float32) []uint16 {
		out := make([]uint16, len(v))
		for i, x := range v {
			out[i] = ir.Float32ToFloat16(x)
		}
		return out
	}
	got := tkRun(t, "ScatterND", 1, map[string]*ir.Attr{"reduction": ir.StringAttr("add")},
		&ir.Tensor{DType: ir.Float16, Shape: tkS(4), Data: h(1, 2, 3, 4)}, tkI64(tkS(2, 1), 3, 3),
		&ir.Tensor{DType: ir.Float16, Shape: tkS(2), Data: h(0.5, 0.25)})[0]
	tkWant(t, got, ir.Float16, tkS(4), h(1, 2, 3, 4.75))
	// ScatterND Operators.md example 1.
	got = tkRun(t, "ScatterND", 1, nil, tkI64(tkS(8), 1, 2, 3, 4, 5, 6, 7, 8), tkI64(tkS(4, 1), 4, 3, 1, 7), tkI64(tkS(4), 9, 10, 11, 12))[0]
	tkWant(t, got, ir.Int64, tkS(8), []int64{1, 11, 3, 10, 9, 6, 7, 12})
	tkErr(t, "want [2]", "ScatterND", 1, nil, tkI64(tkS(4), 1, 2, 3, 4), tkI64(tkS(2, 1), 0, 1), tkI64(tkS(3), 1, 2, 3))
	tkErr(t, "reduction \"avg\"", "ScatterElements", 1, map[string]*ir.Attr{"reduction": ir.StringAttr("avg")}, tkI64(tkS(2), 1, 2), tkI64(tkS(1), 0), tkI64(tkS(1), 1))
	tkErr(t, "not defined for str", "ScatterElements", 1, map[string]*ir.Attr{"reduction": ir.StringAttr("add")},
		&ir.Tensor{DType: ir.String, Shape: tkS(1), Data: []string{"a"}}, tkI64(tkS(1), 0), &ir.Tensor{DType: ir.String, Shape: tkS(1), Data: []string{"b"}})
}

func TestCompressNonZeroOneHot(t *testing.T) {
	x := tkF32(tkS(3, 2), 1, 2, 3, 4, 5, 6)
	b := func(v ...bool) *ir.Tensor { return &ir.Tensor{DType: ir.Bool, Shape: tkS(int64(len(v))), Data: v} }
	got := tkRun(t, "Compress", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x, b(false, true, true))[0]
	tkWant(t, got, ir.Float32, tkS(2, 2), []float32{3, 4, 5, 6})
	got = tkRun(t, "Compress", 1, map[string]*ir.Attr{"axis": ir.IntAttr(-1)}, x, b(false, true))[0]
	tkWant(t, got, ir.Float32, tkS(3, 1), []float32{2, 4, 6})
	got = tkRun(t, "Compress", 1, nil, x, b(false, true, false, false, true))[0]
	tkWant(t, got, ir.Float32, tkS(2), []float32{2, 5})
	tkErr(t, "beyond dim 0", "Compress", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x, b(false, false, false, true))

	nz := tkRun(t, "NonZero", 1, nil, tkI64(tkS(2, 2), 1, 0, 1, 1))[0]
	tkWant(t, nz, ir.Int64, tkS(2, 3), []int64{0, 1, 1, 0, 0, 1})
	nz = tkRun(t, "NonZero", 1, nil, &ir.Tensor{DType: ir.String, Shape: tkS(3), Data: []string{"", "x", ""}})[0]
	tkWant(t, nz, ir.Int64, tkS(1, 1), []int64{1})

	oh := tkRun(t, "OneHot", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)},
		tkI64(tkS(3), 0, -1, 7), tkF32(nil, 3), &ir.Tensor{DType: ir.String, Shape: tkS(2), Data: []string{"off", "on"}})[0]
	tkWant(t, oh, ir.String, tkS(3, 3), []string{"on", "off", "off", "off", "off", "off", "off", "on", "off"})
	tkErr(t, "want 2", "OneHot", 1, nil, tkI64(tkS(1), 0), tkI64(nil, 3), tkF32(tkS(3), 0, 1, 2))
	tkErr(t, "want a positive count", "OneHot", 1, nil, tkI64(tkS(1), 0), tkF32(nil, 1e30), tkF32(tkS(2), 0, 1))
}

func TestUnique(t *testing.T) {
	// Operators.md example 1 (sorted=0).
	outs := tkRun(t, "Unique", 4, map[string]*ir.Attr{"sorted": ir.IntAttr(0)}, tkF32(tkS(6), 2, 1, 1, 3, 4, 3))
	tkWant(t, outs[0], ir.Float32, tkS(4), []float32{2, 1, 3, 4})
	tkWant(t, outs[1], ir.Int64, tkS(4), []int64{0, 1, 3, 4})
	tkWant(t, outs[2], ir.Int64, tkS(6), []int64{0, 1, 1, 2, 3, 2})
	tkWant(t, outs[3], ir.Int64, tkS(4), []int64{1, 2, 2, 1})
	// Strings, sorted, with only Y and indices requested.
	outs = tkRun(t, "Unique", 2, nil, &ir.Tensor{DType: ir.String, Shape: tkS(4), Data: []string{"b", "a", "b", "c"}})
	if len(outs) != 2 {
		t.Fatalf("%d outputs, want 2", len(outs))
	}
	tkWant(t, outs[0], ir.String, tkS(3), []string{"a", "b", "c"})
	tkWant(t, outs[1], ir.Int64, tkS(3), []int64{1, 0, 3})
	// Rows along axis 0, sorted lexicographically.
	outs = tkRun(t, "Unique", 4, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, tkI64(tkS(3, 2), 2, 1, 1, 5, 2, 1))
	tkWant(t, outs[0], ir.Int64, tkS(2, 2), []int64{1, 5, 2, 1})
	tkWant(t, outs[2], ir.Int64, tkS(3), []int64{1, 0, 1})
	tkWant(t, outs[3], ir.Int64, tkS(2), []int64{1, 2})
}
