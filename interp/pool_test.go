package interp

import (
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

func TestMaxPoolIndicesStorageOrder(t *testing.T) {
	x := ir.FromFloat32([]int64{1, 1, 2, 3}, []float32{1, 2, 3, 4, 5, 6})
	attrs := map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2)}
	out := nnRun(t, "MaxPool", 2, attrs, x)
	nnClose(t, "Y", out[0], []int64{1, 1, 1, 2}, []float64{5, 6}, 0)
	nnClose(t, "Indices row-major", out[1], []int64{1, 1, 1, 2}, []float64{4, 5}, 0)
	attrs["storage_order"] = ir.IntAttr(1)
	out = nnRun(t, "MaxPool", 2, attrs, x)
	// column-major: h + w*H
	nnClose(t, "Indices column-major", out[1], []int64{1, 1, 1, 2}, []float64{3, 5}, 0)
}

func TestPoolWindows(t *testing.T) {
	x3 := ir.FromFloat32([]int64{1, 1, 3}, []float32{1, 2, 3})
	cases := []struct {
		name  string
		op    string
		x     *ir.Tensor
		attrs map[string]*ir.Attr
		shape []int64
		want  []float64
	}{
		{"avg_exclude_pad", "AveragePool", x3, map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "pads": ir.IntsAttr(1, 1)},
			[]int64{1, 1, 4}, []float64{1, 1.5, 2.5, 3}},
		{"avg_include_pad", "AveragePool", x3, map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "pads": ir.IntsAttr(1, 1), "count_include_pad": ir.IntAttr(1)},
			[]int64{1, 1, 4}, []float64{0.5, 1.5, 2.5, 1.5}},
		// ceil_mode drops a last window that would start in the end padding.
		{"ceil_drop_last", "AveragePool", x3, map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "strides": ir.IntsAttr(2), "pads": ir.IntsAttr(1, 1), "ceil_mode": ir.IntAttr(1)},
			[]int64{1, 1, 2}, []float64{1, 2.5}},
		{"pad_not_smaller_than_kernel", "AveragePool", x3, map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(1), "pads": ir.IntsAttr(0, 1)},
			nil, nil},
		{"ceil_partial", "MaxPool", x3, map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "strides": ir.IntsAttr(2), "ceil_mode": ir.IntAttr(1)},
			[]int64{1, 1, 2}, []float64{2, 3}},
		{"max_dilated", "MaxPool", ir.FromFloat32([]int64{1, 1, 5}, []float32{5, 1, 2, 9, 0}), map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "dilations": ir.IntsAttr(2)},
			[]int64{1, 1, 3}, []float64{5, 9, 2}},
		{"lp2", "LpPool", ir.FromFloat32([]int64{1, 1, 2}, []float32{3, -4}), map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2)},
			[]int64{1, 1, 1}, []float64{5}},
		{"lp1", "LpPool", ir.FromFloat32([]int64{1, 1, 3}, []float32{-1, 2, -3}), map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "p": ir.IntAttr(1)},
			[]int64{1, 1, 2}, []float64{3, 5}},
		{"global_lp", "GlobalLpPool", ir.FromFloat32([]int64{1, 2, 1, 2}, []float32{3, 4, 6, 8}), nil,
			[]int64{1, 2, 1, 1}, []float64{5, 10}},
		{"global_avg_3d", "GlobalAveragePool", ir.FromFloat32([]int64{1, 1, 2, 1, 2}, []float32{1, 2, 3, 6}), nil,
			[]int64{1, 1, 1, 1, 1}, []float64{3}},
		{"same_lower", "MaxPool", ir.FromFloat32([]int64{1, 1, 4}, []float32{1, 4, 2, 3}), map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2), "auto_pad": ir.StringAttr("SAME_LOWER")},
			[]int64{1, 1, 4}, []float64{1, 4, 4, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.shape == nil {
				_, err := EvalNode(nnNode(c.op, 1, c.attrs), []*ir.Tensor{c.x})
				if err == nil || !strings.Contains(err.Error(), "must be smaller than kernel_shape") {
					t.Fatalf("error %v, want pads refused", err)
				}
				return
			}
			out := nnRun(t, c.op, 1, c.attrs, c.x)
			nnClose(t, c.name, out[0], c.shape, c.want, 1e-6)
		})
	}
}

func TestMaxUnpool(t *testing.T) {
	x := ir.FromFloat32([]int64{1, 1, 1, 2}, []float32{7, 9})
	idx := ir.FromInt64([]int64{1, 1, 1, 2}, []int64{2, 5})
	attrs := map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "strides": ir.IntsAttr(2, 2)}
	out := nnRun(t, "MaxUnpool", 1, attrs, x, idx)
	nnClose(t, "inferred", out[0], []int64{1, 1, 2, 4}, []float64{0, 0, 7, 0, 0, 9, 0, 0}, 0)
	shape := ir.FromInt64([]int64{4}, []int64{1, 1, 3, 5})
	out = nnRun(t, "MaxUnpool", 1, attrs, x, idx, shape)
	nnClose(t, "output_shape", out[0], []int64{1, 1, 3, 5}, []float64{0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0}, 0)
	_, err := EvalNode(nnNode("MaxUnpool", 1, attrs), []*ir.Tensor{x, ir.FromInt64([]int64{1, 1, 1, 2}, []int64{2, 8})})
	if err == nil || !strings.Contains(err.Error(), "input 1 (I) has index 8") {
		t.Errorf("out-of-range index: error %v", err)
	}
}

func TestPoolErrors(t *testing.T) {
	x := ir.NewTensor(ir.Float32, []int64{1, 1, 4, 4})
	cases := []struct {
		op    string
		attrs map[string]*ir.Attr
		want  string
	}{
		{"MaxPool", nil, "attribute kernel_shape is required"},
		{"AveragePool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2)}, "kernel has 1 spatial dims"},
		{"MaxPool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "auto_pad": ir.StringAttr("SAME")}, `auto_pad "SAME" is not one of`},
		{"LpPool", map[string]*ir.Attr{"kernel_shape": ir.IntsAttr(2, 2), "strides": ir.IntsAttr(0, 1)}, "must be positive"},
	}
	for _, c := range cases {
		_, err := EvalNode(nnNode(c.op, 1, c.attrs), []*ir.Tensor{x})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want %q", c.op, c.attrs, err, c.want)
		}
	}
}
