package interp_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// lightModels are the ONNX "light" real-model tests (onnx/onnx
// backend/test/data/light, copied to testdata/light): the full
// architectures with every float initializer replaced by ConstantOfShape,
// and the output the ONNX reference evaluator computes for the
// deterministic input arange(n)/n. rtol/atol are the ones the ONNX backend
// test suite uses for these models (backend/test/case/model/__init__.py).
// slow marks models skipped under -short: VGG-19 (~20 GFLOPs, ~25 s on a
// shared 2-core box) and the two with 100M+-parameter fully connected layers.
var lightModels = []struct {
	name       string
	rtol, atol float64
	slow       bool
}{
	{"bvlc_alexnet", 1e-3, 1e-7, true},
	{"densenet121", 2e-3, 1e-7, false},
	{"inception_v1", 1e-3, 1e-7, false},
	{"inception_v2", 1e-3, 1e-7, false},
	{"resnet50", 1e-3, 1e-7, false},
	{"shufflenet", 1e-3, 1e-7, false},
	{"squeezenet", 1e-3, 1e-7, false},
	{"vgg19", 1e-3, 1e-7, true},
	{"zfnet512", 1e-3, 1e-7, true},
}

// TestLightModels runs real-size CNNs (Conv, BatchNormalization, MaxPool,
// AveragePool, LRN, Concat, Gemm...) end to end through the interpreter.
func TestLightModels(t *testing.T) {
	for _, m := range lightModels {
		t.Run(m.name, func(t *testing.T) {
			if m.slow && testing.Short() {
				t.Skip("slow model; run without -short")
			}
			dir := filepath.Join("testdata", "light")
			g, err := frontend.Load(filepath.Join(dir, "light_"+m.name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "light_"+m.name+"_output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := frontend.DecodeTensor(raw)
			if err != nil {
				t.Fatal(err)
			}
			inputs := map[string]*ir.Tensor{}
			for _, in := range g.Inputs {
				// The ONNX runner's dummy input: arange(n).reshape(shape) / n,
				// unknown dims set to 1.
				shape := make([]int64, len(in.Type.Shape))
				for i, d := range in.Type.Shape {
					shape[i] = max(d.Size, 1)
				}
				n := ir.NumElements(shape)
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(float64(i) / float64(n))
				}
				inputs[in.Name] = ir.FromFloat32(shape, v)
			}
			outs, err := interp.Run(g, inputs)
			if err != nil {
				t.Fatal(err)
			}
			got := outs[g.Outputs[0].Name]
			if got == nil || !equalShapes(got.Shape, want.Shape) {
				t.Fatalf("output %v, want shape %v", got, want.Shape)
			}
			gv, wv := got.Float64s(), want.Float64s()
			bad := 0
			for i := range wv {
				if math.Abs(gv[i]-wv[i]) > m.atol+m.rtol*math.Abs(wv[i]) || math.IsNaN(gv[i]) {
					if bad == 0 {
						t.Errorf("element %d = %v, want %v", i, gv[i], wv[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d outputs outside rtol %g atol %g", bad, len(wv), m.rtol, m.atol)
			}
		})
	}
}

func equalShapes(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
