package fp8

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/ortrun"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// exportPipeline is the default pipeline without fuse-epilogue, whose
// effc.FusedConv nodes cannot be exported.
const exportPipeline = "shape-infer,identity-elim,const-fold,dce,cse,bn-fold,dce,shape-infer"

// TestONNXRuntime exports FP8 digits (E4M3 and E5M2 weight-only, E4M3
// W8A8) as ONNX, runs the files in ONNX Runtime and compares the logits
// with the interpreter's: the graphs QuantizeFP8 writes are standard
// opset-19 ONNX that another runtime reads the same way. It skips when ONNX
// Runtime (make bench-deps) is missing, except in CI. The W8A8 case skips
// while ONNX Runtime's own QDQ fusion rejects FP8 convolutions (see
// below).
func TestONNXRuntime(t *testing.T) {
	if err := ortrun.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	set := loadSet(t)
	load := func(batch int64) *ir.Graph {
		g, err := frontend.Load(filepath.Join(digitsDir, "digits.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := effc.Prepare(g, effc.PrepareOptions{Batch: batch, Pipeline: exportPipeline}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	xs := set.x.Data.([]float32)
	head := ir.FromFloat32(append([]int64{200}, set.x.Shape[1:]...), xs[:200*64])
	cg := load(200)
	tab, err := quant.Calibrate(context.Background(), cg, &oneBatch{map[string]*ir.Tensor{cg.Inputs[0].Name: head}}, quant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r ortrun.Runner
	defer r.Close()
	for _, c := range []struct {
		name string
		opts quant.FP8Options
		// tol bounds |ORT − interp| on the logits: float32 convolutions
		// summed in another order, and for W8A8 an activation that lands
		// on the other side of an FP8 rounding midpoint.
		tol float64
	}{
		{"e4m3-weights", quant.FP8Options{Format: ir.Float8E4M3FN, WeightOnly: true}, 1e-4},
		{"e5m2-weights", quant.FP8Options{Format: ir.Float8E5M2, WeightOnly: true}, 1e-4},
		{"e4m3-w8a8", quant.FP8Options{Format: ir.Float8E4M3FN, Calib: tab}, 0.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := load(360)
			if _, err := quant.QuantizeFP8(g, c.opts); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), c.name+".onnx")
			if err := frontend.Save(g, path); err != nil {
				t.Fatal(err)
			}
			in := map[string]*ir.Tensor{g.Inputs[0].Name: set.x}
			got, err := r.Run(context.Background(), path, in)
			if err != nil && !c.opts.WeightOnly && strings.Contains(err.Error(), "QLinearConv") {
				// ONNX Runtime's QDQ fusion (default optimization level)
				// turns DequantizeLinear(fp8) → Conv → QuantizeLinear into
				// a QLinearConv, which has no float8 types, and then
				// refuses its own rewrite. The model is valid ONNX.
				t.Skipf("known ONNX Runtime limitation: %v", err)
			}
			if err != nil {
				t.Fatalf("ONNX Runtime: %v", err)
			}
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			name := g.Outputs[0].Name
			gl, wl := got[name].Float64s(), want[name].Float64s()
			worst := 0.0
			for i := range wl {
				worst = max(worst, math.Abs(gl[i]-wl[i]))
			}
			ng, nw := correct(t, got[name], set.y), correct(t, want[name], set.y)
			t.Logf("%s: ONNX Runtime %d/360, interpreter %d/360, logits differ by at most %.3g", c.name, ng, nw, worst)
			if worst > c.tol {
				t.Errorf("logits differ by %.3g, want at most %g", worst, c.tol)
			}
			if ng != nw {
				t.Errorf("ONNX Runtime scores %d, the interpreter %d", ng, nw)
			}
		})
	}
}
