package onnxconf

import (
	"math"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

func TestCompare(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f := func(v ...float32) *ir.Tensor { return ir.FromFloat32([]int64{int64(len(v))}, v) }
	tol := Tolerance{Rtol: 1e-3, Atol: 1e-5}
	cases := []struct {
		name      string
		got, want *ir.Tensor
		err       string // "" = must match
	}{
		{"equal", f(1, 2), f(1, 2), ""},
		{"within rtol", f(1000.5), f(1000), ""},
		{"within atol", f(1e-6), f(0), ""},
		{"outside", f(1, 2.01), f(1, 2), "1 of 2 elements differ"},
		{"nan matches nan", f(nan), f(nan), ""},
		{"nan vs number", f(nan), f(1), "differ"},
		{"inf exact", f(inf), f(inf), ""},
		{"inf vs big", f(3e38), f(inf), "differ"},
		{"shape", ir.FromFloat32([]int64{1, 2}, []float32{1, 2}), f(1, 2), "shape [1 2], want [2]"},
		{"dtype", ir.FromInt64([]int64{1}, []int64{1}), f(1), "dtype i64, want f32"},
		{"ints exact", ir.FromInt64([]int64{2}, []int64{1, 3}), ir.FromInt64([]int64{2}, []int64{1, 2}), "got 3, want 2"},
		{"short data", &ir.Tensor{DType: ir.Float32, Shape: []int64{3}, Data: []float32{1}}, f(1, 2, 3), "data has 1 elements"},
		{"strings", &ir.Tensor{DType: ir.String, Shape: []int64{1}, Data: []string{"a"}},
			&ir.Tensor{DType: ir.String, Shape: []int64{1}, Data: []string{"b"}}, `"a", want "b"`},
		{"bool", &ir.Tensor{DType: ir.Bool, Shape: []int64{1}, Data: []bool{true}},
			&ir.Tensor{DType: ir.Bool, Shape: []int64{1}, Data: []bool{false}}, "differ"},
		{"f16 within", &ir.Tensor{DType: ir.Float16, Shape: []int64{1}, Data: []uint16{ir.Float32ToFloat16(1.0005)}},
			&ir.Tensor{DType: ir.Float16, Shape: []int64{1}, Data: []uint16{ir.Float32ToFloat16(1)}}, ""},
	}
	for _, c := range cases {
		err := Compare(c.got, c.want, tol)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		}
	}
}

// zeroEngine returns zeros in the
// shape of test_abs; it must fail that test, whose outputs are not zero.
type zeroEngine struct{}

func (zeroEngine) Name() string { return "zero" }

func (zeroEngine) Run(g *ir.Graph, in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	out := map[string]*ir.Tensor{}
	for _, o := range g.Outputs {
		out[o.Name] = ir.NewTensor(ir.Float32, []int64{3, 4, 5})
	}
	return out, nil
}

func TestRunnerCatchesWrongEngine(t *testing.T) {
	root := testdataRoot()
	if tests, _ := Tests(root); len(tests) == 0 {
		t.Skip("no ONNX test data")
	}
	r := RunTest(root, "node/test_abs", zeroEngine{}, nil, ToleranceFor)
	if r.Status != Failed || !strings.Contains(r.Detail, "elements differ") {
		t.Errorf("zero engine on test_abs: %v %q, want a value mismatch", r.Status, r.Detail)
	}
	r = RunTest(root, "node/test_abs", zeroEngine{}, map[string]string{"node/test_abs": "why"}, ToleranceFor)
	if r.Status != Skipped || r.Detail != "why" {
		t.Errorf("skip not honoured: %+v", r)
	}
	rep := Report{Results: []Result{{Status: Passed}, {Status: Failed}, {Status: Failed}, {Status: Skipped}}}
	if got := rep.Summary(); got != "1 passed, 2 failed, 1 skipped" {
		t.Errorf("summary %q", got)
	}
}
