package interp

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// tkNode builds a node of op with nOut outputs and the given attributes.
func tkNode(op string, nOut int, attrs map[string]*ir.Attr) *ir.Node {
	n := &ir.Node{Name: "n", Op: op, Attrs: attrs}
	for i := 0; i < nOut; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: "o"})
	}
	return n
}

// tkRun evaluates op and fails the test on error.
func tkRun(t *testing.T, op string, nOut int, attrs map[string]*ir.Attr, in ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	out, err := EvalNode(tkNode(op, nOut, attrs), in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// tkErr evaluates op, expecting an error that contains want.
func tkErr(t *testing.T, want, op string, nOut int, attrs map[string]*ir.Attr, in ...*ir.Tensor) {
	t.Helper()
	_, err := EvalNode(tkNode(op, nOut, attrs), in)
	if err == nil {
		t.Fatalf("%s: no error, want one containing %q", op, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q does not contain %q", op, err, want)
	}
	if strings.Contains(err.Error(), "internal error") {
		t.Fatalf("%s: kernel panicked instead of validating: %v", op, err)
	}
}

func tkF32(shape []int64, v ...float32) *ir.Tensor { return ir.FromFloat32(shape, v) }
func tkI64(shape []int64, v ...int64) *ir.Tensor   { return ir.FromInt64(shape, v) }
func tkS(v ...int64) []int64                       { return v }

// tkWant checks dtype, shape and data exactly.
func tkWant(t *testing.T, got *ir.Tensor, dt ir.DType, shape []int64, data any) {
	t.Helper()
	if got.DType != dt || !equalShape(got.Shape, shape) || !reflect.DeepEqual(got.Data, data) {
		t.Fatalf("got %s%v %v, want %s%v %v", got.DType, got.Shape, got.Data, dt, shape, data)
	}
}

// tkNear checks a float tensor's shape and values within tol.
func tkNear(t *testing.T, got *ir.Tensor, shape []int64, want []float64, tol float64) {
	t.Helper()
	if !equalShape(got.Shape, shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	g := got.Float64s()
	if len(g) != len(want) {
		t.Fatalf("%d values, want %d", len(g), len(want))
	}
	for i := range g {
		if math.Abs(g[i]-want[i]) > tol {
			t.Fatalf("element %d: got %v, want %v (all: %v)", i, g[i], want[i], g)
		}
	}
}

func TestTensorKernelsRegistered(t *testing.T) {
	for _, op := range []string{"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice",
		"Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND", "Expand", "Tile", "Pad", "Shape", "Size",
		"ConstantOfShape", "Range", "Identity", "Dropout", "Trilu", "OneHot", "NonZero", "EyeLike", "Compress",
		"ReverseSequence", "Unique", "CenterCropPad", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
		"MatMulInteger", "QLinearMatMul", "LSTM", "GRU", "RNN"} {
		if !Supported(op) {
			t.Errorf("%s is not registered", op)
		}
	}
}

func TestArityAndDataLength(t *testing.T) {
	tkErr(t, "has 1 inputs, want 2", "Reshape", 1, nil, tkF32(tkS(2), 1, 2))
	tkErr(t, "input 0 (f32[3]) holds 2 elements", "Identity", 1, nil, &ir.Tensor{DType: ir.Float32, Shape: tkS(3), Data: []float32{1, 2}})
	tkErr(t, "input 1 is required", "Gather", 1, nil, tkF32(tkS(2), 1, 2), nil)
}

// Data movement must work for every element type, not just floats.
func TestMovementAllDTypes(t *testing.T) {
	cases := []*ir.Tensor{
		{DType: ir.String, Shape: tkS(2, 2), Data: []string{"a", "b", "c", "d"}},
		{DType: ir.Bool, Shape: tkS(2, 2), Data: []bool{true, false, false, true}},
		{DType: ir.Float16, Shape: tkS(2, 2), Data: []uint16{0x3c00, 0x4000, 0x4200, 0x4400}},
		{DType: ir.Float8E4M3FN, Shape: tkS(2, 2), Data: []uint8{1, 2, 3, 4}},
		{DType: ir.Int8, Shape: tkS(2, 2), Data: []int8{-1, 2, -3, 4}},
		{DType: ir.Complex64, Shape: tkS(2, 2), Data: []complex64{1, 2i, 3, 4i}},
	}
	for _, x := range cases {
		tr := tkRun(t, "Transpose", 1, nil, x)[0]
		want := takeAny(x.Data, []int{0, 2, 1, 3}, nil)
		tkWant(t, tr, x.DType, tkS(2, 2), want)
		g := tkRun(t, "Gather", 1, map[string]*ir.Attr{"axis": ir.IntAttr(1)}, x, tkI64(tkS(1), -1))[0]
		tkWant(t, g, x.DType, tkS(2, 1), takeAny(x.Data, []int{1, 3}, nil))
		c := tkRun(t, "Concat", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x, x)[0]
		tkWant(t, c, x.DType, tkS(4, 2), takeAny(x.Data, []int{0, 1, 2, 3, 0, 1, 2, 3}, nil))
	}
}

func TestReshape(t *testing.T) {
	x := tkF32(tkS(2, 3, 4), make([]float32, 24)...)
	for _, c := range []struct {
		shape     []int64
		allowzero int64
		want      []int64
	}{
		{tkS(4, 2, 3), 0, tkS(4, 2, 3)},
		{tkS(-1), 0, tkS(24)},
		{tkS(0, -1), 0, tkS(2, 12)},
		{tkS(2, 0, 4, 1), 0, tkS(2, 3, 4, 1)},
		{tkS(3, -1, 2), 0, tkS(3, 4, 2)},
	} {
		got := tkRun(t, "Reshape", 1, map[string]*ir.Attr{"allowzero": ir.IntAttr(c.allowzero)}, x, tkI64(tkS(int64(len(c.shape))), c.shape...))[0]
		if !equalShape(got.Shape, c.want) {
			t.Errorf("Reshape to %v: shape %v, want %v", c.shape, got.Shape, c.want)
		}
	}
	empty := tkF32(tkS(0, 3))
	got := tkRun(t, "Reshape", 1, map[string]*ir.Attr{"allowzero": ir.IntAttr(1)}, empty, tkI64(tkS(2), 3, 0))[0]
	tkWant(t, got, ir.Float32, tkS(3, 0), []float32{})
	tkErr(t, "mixes 0 and -1", "Reshape", 1, map[string]*ir.Attr{"allowzero": ir.IntAttr(1)}, empty, tkI64(tkS(2), 0, -1))
	tkErr(t, "more than one -1", "Reshape", 1, nil, x, tkI64(tkS(2), -1, -1))
	tkErr(t, "cannot reshape", "Reshape", 1, nil, x, tkI64(tkS(2), 5, -1))
	tkErr(t, "copies dim 3, input 0 has rank 3", "Reshape", 1, nil, x, tkI64(tkS(4), 0, 0, 0, 0))
}

func TestSqueezeUnsqueezeFlatten(t *testing.T) {
	x := tkF32(tkS(1, 3, 1, 2), 1, 2, 3, 4, 5, 6)
	if got := tkRun(t, "Squeeze", 1, nil, x)[0]; !equalShape(got.Shape, tkS(3, 2)) {
		t.Errorf("Squeeze all: %v", got.Shape)
	}
	if got := tkRun(t, "Squeeze", 1, nil, x, tkI64(tkS(1), -2))[0]; !equalShape(got.Shape, tkS(1, 3, 2)) {
		t.Errorf("Squeeze -2: %v", got.Shape)
	}
	tkErr(t, "squeezes dim 1 of size 3", "Squeeze", 1, nil, x, tkI64(tkS(1), 1))
	if got := tkRun(t, "Unsqueeze", 1, nil, tkF32(tkS(3, 2), 1, 2, 3, 4, 5, 6), tkI64(tkS(2), 3, 0))[0]; !equalShape(got.Shape, tkS(1, 3, 2, 1)) {
		t.Errorf("Unsqueeze [3,0]: %v", got.Shape)
	}
	tkErr(t, "appears twice", "Unsqueeze", 1, nil, x, tkI64(tkS(2), 0, -6))
	if got := tkRun(t, "Flatten", 1, map[string]*ir.Attr{"axis": ir.IntAttr(-1)}, x)[0]; !equalShape(got.Shape, tkS(3, 2)) {
		t.Errorf("Flatten -1: %v", got.Shape)
	}
	if got := tkRun(t, "Flatten", 1, map[string]*ir.Attr{"axis": ir.IntAttr(0)}, x)[0]; !equalShape(got.Shape, tkS(1, 6)) {
		t.Errorf("Flatten 0: %v", got.Shape)
	}
}

func TestSplit(t *testing.T) {
	x := tkF32(tkS(7), 1, 2, 3, 4, 5, 6, 7)
	outs := tkRun(t, "Split", 3, map[string]*ir.Attr{"num_outputs": ir.IntAttr(3)}, x)
	tkWant(t, outs[0], ir.Float32, tkS(3), []float32{1, 2, 3})
	tkWant(t, outs[1], ir.Float32, tkS(3), []float32{4, 5, 6})
	tkWant(t, outs[2], ir.Float32, tkS(1), []float32{7})
	outs = tkRun(t, "Split", 2, nil, x, tkI64(tkS(2), 2, 5))
	tkWant(t, outs[1], ir.Float32, tkS(5), []float32{3, 4, 5, 6, 7})
	tkErr(t, "does not split evenly", "Split", 2, nil, x)
	tkErr(t, "sums to 6", "Split", 2, nil, x, tkI64(tkS(2), 2, 4))
}

func TestSlice(t *testing.T) {
	x := tkF32(tkS(2, 4), 1, 2, 3, 4, 5, 6, 7, 8)
	cases := []struct {
		name                      string
		starts, ends, axes, steps []int64
		shape                     []int64
		want                      []float32
	}{
		{"doc example 1", tkS(1, 0), tkS(2, 3), tkS(0, 1), tkS(1, 2), tkS(1, 2), []float32{5, 7}},
		{"doc example 2", tkS(0, 1), tkS(-1, 1000), nil, nil, tkS(1, 3), []float32{2, 3, 4}},
		{"negative step full", tkS(-1), tkS(math.MinInt64), tkS(1), tkS(-1), tkS(2, 4), []float32{4, 3, 2, 1, 8, 7, 6, 5}},
		{"INT_MAX end", tkS(1), tkS(math.MaxInt64), tkS(-1), tkS(2), tkS(2, 2), []float32{2, 4, 6, 8}},
		{"negative step 2", tkS(10), tkS(0), tkS(1), tkS(-2), tkS(2, 2), []float32{4, 2, 8, 6}},
		{"empty", tkS(3), tkS(1), tkS(1), nil, tkS(2, 0), []float32{}},
	}
	for _, c := range cases {
		in := []*ir.Tensor{x, tkI64(tkS(int64(len(c.starts))), c.starts...), tkI64(tkS(int64(len(c.ends))), c.ends...)}
		if c.axes != nil {
			in = append(in, tkI64(tkS(int64(len(c.axes))), c.axes...))
		} else if c.steps != nil {
			in = append(in, nil)
		}
		if c.steps != nil {
			in = append(in, tkI64(tkS(int64(len(c.steps))), c.steps...))
		}
		got := tkRun(t, "Slice", 1, nil, in...)[0]
		if !equalShape(got.Shape, c.shape) || !reflect.DeepEqual(got.Data, c.want) {
			t.Errorf("%s: got %v %v, want %v %v", c.name, got.Shape, got.Data, c.shape, c.want)
		}
	}
	tkErr(t, "zero step", "Slice", 1, nil, x, tkI64(tkS(1), 0), tkI64(tkS(1), 1), tkI64(tkS(1), 0), tkI64(tkS(1), 0))
}

func TestPadModes(t *testing.T) {
	x := tkF32(tkS(3, 2), 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)
	pads := tkI64(tkS(4), 0, 2, 0, 0)
	mode := func(m string) map[string]*ir.Attr { return map[string]*ir.Attr{"mode": ir.StringAttr(m)} }
	// Operators.md Pad examples.
	tkWant(t, tkRun(t, "Pad", 1, mode("constant"), x, pads, tkF32(nil, 0))[0], ir.Float32, tkS(3, 4),
		[]float32{0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7})
	tkWant(t, tkRun(t, "Pad", 1, mode("reflect"), x, pads)[0], ir.Float32, tkS(3, 4),
		[]float32{1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7})
	tkWant(t, tkRun(t, "Pad", 1, mode("edge"), x, pads)[0], ir.Float32, tkS(3, 4),
		[]float32{1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7})
	tkWant(t, tkRun(t, "Pad", 1, mode("wrap"), x, tkI64(tkS(4), 2, 1, 1, 1))[0], ir.Float32, tkS(6, 4),
		[]float32{3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0, 3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0})
	// axes input, a constant value and a negative (cropping) pad.
	got := tkRun(t, "Pad", 1, nil, x, tkI64(tkS(2), -1, 1), tkF32(nil, 9), tkI64(tkS(1), 0))[0]
	tkWant(t, got, ir.Float32, tkS(3, 2), []float32{2.3, 3.4, 4.5, 5.7, 9, 9})
	// reflect on a 1-D input beyond one period keeps bouncing between the
	// ends: indices -1..-4 map to 1, 2, 1, 0.
	got = tkRun(t, "Pad", 1, mode("reflect"), tkI64(tkS(3), 1, 2, 3), tkI64(tkS(2), 4, 0))[0]
	tkWant(t, got, ir.Int64, tkS(7), []int64{1, 2, 3, 2, 1, 2, 3})
	tkErr(t, "want 4 (2 per padded axis", "Pad", 1, nil, x, tkI64(tkS(2), 1, 1))
	tkErr(t, "mode \"mirror\"", "Pad", 1, mode("mirror"), x, pads)
	tkErr(t, "more than 2^31", "Pad", 1, nil, x, tkI64(tkS(4), 1<<40, 0, 0, 0))
}

func TestCenterCropPad(t *testing.T) {
	x := tkI64(tkS(3, 4), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	// crop dim 0 from 3 to 2 (start 0), pad dim 1 from 4 to 7 (1 before, 2 after).
	got := tkRun(t, "CenterCropPad", 1, nil, x, tkI64(tkS(2), 2, 7))[0]
	tkWant(t, got, ir.Int64, tkS(2, 7), []int64{0, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 0, 0})
	got = tkRun(t, "CenterCropPad", 1, map[string]*ir.Attr{"axes": ir.IntsAttr(-1)}, x, tkI64(tkS(1), 2))[0]
	tkWant(t, got, ir.Int64, tkS(3, 2), []int64{2, 3, 6, 7, 10, 11})
}

func TestExpandTileHostileSizes(t *testing.T) {
	x := tkF32(tkS(3, 1), 1, 2, 3)
	got := tkRun(t, "Expand", 1, nil, x, tkI64(tkS(3), 2, 1, 2))[0]
	tkWant(t, got, ir.Float32, tkS(2, 3, 2), []float32{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3})
	got = tkRun(t, "Tile", 1, nil, tkF32(tkS(2, 2), 1, 2, 3, 4), tkI64(tkS(2), 1, 2))[0]
	tkWant(t, got, ir.Float32, tkS(2, 4), []float32{1, 2, 1, 2, 3, 4, 3, 4})
	tkErr(t, "more than 2^31", "Expand", 1, nil, x, tkI64(tkS(3), 1<<20, 3, 1<<20))
	tkErr(t, "overflows", "Tile", 1, nil, x, tkI64(tkS(2), math.MaxInt64, 2))
	tkErr(t, "more than 2^31", "Tile", 1, nil, x, tkI64(tkS(2), 1<<30, 1<<10))
	tkErr(t, "not broadcastable", "Expand", 1, nil, x, tkI64(tkS(2), 2, 1))
	tkErr(t, "more than 2^31", "ConstantOfShape", 1, nil, tkI64(tkS(3), 1<<20, 1<<20, 4))
	tkErr(t, "negative dimension", "ConstantOfShape", 1, nil, tkI64(tkS(1), -1))
}

func TestShapeSizeIdentity(t *testing.T) {
	x := tkF32(tkS(2, 3, 4), make([]float32, 24)...)
	tkWant(t, tkRun(t, "Shape", 1, map[string]*ir.Attr{"start": ir.IntAttr(-2), "end": ir.IntAttr(100)}, x)[0], ir.Int64, tkS(2), []int64{3, 4})
	tkWant(t, tkRun(t, "Shape", 1, map[string]*ir.Attr{"start": ir.IntAttr(2), "end": ir.IntAttr(1)}, x)[0], ir.Int64, tkS(0), []int64{})
	tkWant(t, tkRun(t, "Size", 1, nil, x)[0], ir.Int64, tkS(), []int64{24})
	id := tkRun(t, "Identity", 1, nil, x)[0]
	id.Data.([]float32)[0] = 5
	if x.Data.([]float32)[0] != 0 {
		t.Error("Identity output aliases its input")
	}
}

func TestReverseSequence(t *testing.T) {
	// Operators.md batch_axis=0, time_axis=1 example.
	x := tkF32(tkS(4, 4), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
	got := tkRun(t, "ReverseSequence", 1, map[string]*ir.Attr{"batch_axis": ir.IntAttr(0), "time_axis": ir.IntAttr(1)}, x, tkI64(tkS(4), 1, 2, 3, 4))[0]
	tkWant(t, got, ir.Float32, tkS(4, 4), []float32{0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12})
	tkErr(t, "outside [0, 4]", "ReverseSequence", 1, nil, x, tkI64(tkS(4), 1, 2, 3, 5))
}

// TestHostileInputsAreErrors feeds malformed inputs to every kernel of the
// family: each must return a validation error, never panic (EvalNode turns
// panics into "internal error").
func TestHostileInputsAreErrors(t *testing.T) {
	sc := tkF32(nil, 1) // scalar
	str := &ir.Tensor{DType: ir.String, Shape: tkS(1), Data: []string{"x"}}
	x := tkF32(tkS(2, 2), 1, 2, 3, 4)
	i0 := tkI64(tkS(1), 0)
	at := func(kv ...any) map[string]*ir.Attr {
		m := map[string]*ir.Attr{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(*ir.Attr)
		}
		return m
	}
	cases := []struct {
		op    string
		nOut  int
		attrs map[string]*ir.Attr
		in    []*ir.Tensor
	}{
		{"Reshape", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 1), 4)}},
		{"Reshape", 1, nil, []*ir.Tensor{x, tkI64(tkS(2), -2, 2)}},
		{"Flatten", 1, nil, []*ir.Tensor{sc}},
		{"Squeeze", 1, nil, []*ir.Tensor{x, tkI64(tkS(1), 5)}},
		{"Transpose", 1, at("perm", ir.IntsAttr(0, 0)), []*ir.Tensor{x}},
		{"Concat", 1, at("axis", ir.IntAttr(0)), []*ir.Tensor{sc, sc}},
		{"Concat", 1, nil, []*ir.Tensor{x, x}},
		{"Concat", 1, at("axis", ir.IntAttr(0)), []*ir.Tensor{x, tkI64(tkS(2, 2), 1, 2, 3, 4)}},
		{"Split", 0, nil, []*ir.Tensor{x}},
		{"Split", 1, nil, []*ir.Tensor{sc}},
		{"Slice", 1, nil, []*ir.Tensor{sc, i0, i0}},
		{"Slice", 1, nil, []*ir.Tensor{x, tkF32(tkS(1), 0), i0}},
		{"Gather", 1, nil, []*ir.Tensor{sc, i0}},
		{"Gather", 1, at("axis", ir.IntAttr(7)), []*ir.Tensor{x, i0}},
		{"GatherElements", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 3), 0, 0, 0)}},
		{"GatherND", 1, at("batch_dims", ir.IntAttr(-1)), []*ir.Tensor{x, tkI64(tkS(1, 1), 0)}},
		{"GatherND", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 1), 9)}},
		{"ScatterElements", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 1), 5), tkF32(tkS(1, 1), 0)}},
		{"ScatterElements", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 1), 0), tkI64(tkS(1, 1), 0)}},
		{"ScatterND", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 3), 0, 0, 0), sc}},
		{"ScatterND", 1, nil, []*ir.Tensor{x, tkI64(tkS(1, 2), 0, -3), tkF32(tkS(1), 0)}},
		{"Expand", 1, nil, []*ir.Tensor{x, tkI64(tkS(1), -1)}},
		{"Tile", 1, nil, []*ir.Tensor{x, tkI64(tkS(2), -1, 1)}},
		{"Pad", 1, at("mode", ir.StringAttr("edge")), []*ir.Tensor{tkF32(tkS(0, 2)), tkI64(tkS(4), 1, 0, 1, 0)}},
		{"Pad", 1, nil, []*ir.Tensor{x, tkI64(tkS(4), -3, 0, 0, 0)}},
		{"Pad", 1, nil, []*ir.Tensor{x, tkI64(tkS(4), 1, 0, 1, 0), str}},
		{"CenterCropPad", 1, nil, []*ir.Tensor{x, tkI64(tkS(1), 2)}},
		{"ReverseSequence", 1, nil, []*ir.Tensor{tkF32(tkS(2), 1, 2), tkI64(tkS(1), 1)}},
		{"Compress", 1, nil, []*ir.Tensor{x, tkI64(tkS(1), 1)}},
		{"OneHot", 1, nil, []*ir.Tensor{str, tkI64(nil, 2), tkF32(tkS(2), 0, 1)}},
		{"OneHot", 1, at("axis", ir.IntAttr(5)), []*ir.Tensor{i0, tkI64(nil, 2), tkF32(tkS(2), 0, 1)}},
		{"Unique", 1, nil, []*ir.Tensor{{DType: ir.Complex64, Shape: tkS(1), Data: []complex64{1}}}},
		{"Unique", 1, at("axis", ir.IntAttr(2)), []*ir.Tensor{x}},
		{"ConstantOfShape", 1, nil, []*ir.Tensor{tkF32(tkS(1), 2)}},
		{"ConstantOfShape", 1, at("value", ir.TensorAttr(tkF32(tkS(2), 1, 2))), []*ir.Tensor{i0}},
		{"Range", 1, nil, []*ir.Tensor{str, str, str}},
		{"Range", 1, nil, []*ir.Tensor{tkF32(nil, 0), tkF32(nil, float32(math.Inf(1))), tkF32(nil, 1)}},
		{"Dropout", 2, nil, []*ir.Tensor{x, str}},
		{"Trilu", 1, nil, []*ir.Tensor{x, tkF32(nil, 1)}},
		{"EyeLike", 1, at("dtype", ir.IntAttr(99)), []*ir.Tensor{x}},
		{"EyeLike", 1, nil, []*ir.Tensor{{DType: ir.String, Shape: tkS(1, 1), Data: []string{""}}}},
		{"QuantizeLinear", 1, nil, []*ir.Tensor{x, sc, str}},
		{"QuantizeLinear", 1, nil, []*ir.Tensor{str, sc}},
		{"QuantizeLinear", 1, nil, []*ir.Tensor{sc, tkF32(tkS(2), 1, 1)}},
		{"QuantizeLinear", 1, at("block_size", ir.IntAttr(3)), []*ir.Tensor{x, tkF32(tkS(2, 2), 1, 1, 1, 1)}},
		{"DequantizeLinear", 1, nil, []*ir.Tensor{x, sc}},
		{"DequantizeLinear", 1, nil, []*ir.Tensor{i0, str}},
		{"DynamicQuantizeLinear", 3, nil, []*ir.Tensor{i0}},
		{"MatMulInteger", 1, nil, []*ir.Tensor{{DType: ir.Uint8, Shape: tkS(), Data: []uint8{1}}, {DType: ir.Uint8, Shape: tkS(1), Data: []uint8{1}}}},
		{"MatMulInteger", 1, nil, []*ir.Tensor{{DType: ir.Uint8, Shape: tkS(1, 1), Data: []uint8{1}}, {DType: ir.Uint8, Shape: tkS(1, 1), Data: []uint8{1}}, str}},
		{"RNN", 1, nil, []*ir.Tensor{x, x, x}},
		{"RNN", 1, at("direction", ir.StringAttr("sideways")), []*ir.Tensor{tkF32(tkS(1, 1, 1), 1), tkF32(tkS(1, 1, 1), 1), tkF32(tkS(1, 1, 1), 1)}},
		{"GRU", 1, nil, []*ir.Tensor{tkF32(tkS(1, 1, 1), 1), tkF32(tkS(1, 3, 1), 1, 1, 1), tkF32(tkS(1, 3, 1), 1, 1, 1), nil, tkI64(tkS(1), 2)}},
		{"LSTM", 1, nil, []*ir.Tensor{tkF32(tkS(1, 1, 1), 1), tkF32(tkS(1, 4, 1), 1, 1, 1, 1), tkF32(tkS(1, 4, 1), 1, 1, 1, 1), nil, nil, nil, nil, tkF32(tkS(1, 2), 1, 1)}},
		{"LSTM", 1, at("activations", ir.StringsAttr("Tanh")), []*ir.Tensor{tkF32(tkS(1, 1, 1), 1), tkF32(tkS(1, 4, 1), 1, 1, 1, 1), tkF32(tkS(1, 4, 1), 1, 1, 1, 1)}},
	}
	for i, c := range cases {
		_, err := EvalNode(tkNode(c.op, c.nOut, c.attrs), c.in)
		if err == nil {
			t.Errorf("case %d (%s): no error", i, c.op)
		} else if strings.Contains(err.Error(), "internal error") {
			t.Errorf("case %d (%s): panicked: %v", i, c.op, err)
		}
	}
}
