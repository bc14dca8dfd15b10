// Package prune_test checks OTOv2 pruning end to end: generated ResNet-18-
// and MobileNetV2-shaped models with 40% of their prunable channels zeroed,
// pruned, compared with the original on the interpreter, written as ONNX
// and run in ONNX Runtime, and compiled.
package prune_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/internal/ortrun"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/tests/models"
)

// zeroFraction zeroes frac of the channels of every prunable group (every
// k-th channel, at least one kept) and returns how many it zeroed.
func zeroFraction(t *testing.T, g *ir.Graph, frac float64) int {
	t.Helper()
	a, err := effc.Groups(g)
	if err != nil {
		t.Fatal(err)
	}
	zeroed := 0
	for _, gr := range a.Groups {
		if !gr.Prunable {
			continue
		}
		n := int(math.Floor(frac * float64(gr.Channels)))
		n = min(n, gr.Channels-1)
		for i := 0; i < n; i++ {
			// Spread the zero channels over the group.
			ch := i * gr.Channels / max(n, 1)
			if err := a.ZeroChannel(gr, ch); err != nil {
				t.Fatal(err)
			}
			zeroed++
		}
	}
	return zeroed
}

func load(t *testing.T, g *ir.Graph) *ir.Graph {
	t.Helper()
	data, err := frontend.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	c, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(c); err != nil {
		t.Fatal(err)
	}
	return c
}

// near checks |got-want| <= tol·max(1, max|want|) elementwise.
func near(t *testing.T, what string, got, want *ir.Tensor, tol float64) {
	t.Helper()
	if got == nil || got.Len() != want.Len() {
		t.Fatalf("%s: got %v, want %d elements", what, got, want.Len())
	}
	scale := 1.0
	for i := 0; i < want.Len(); i++ {
		scale = math.Max(scale, math.Abs(want.Float64At(i)))
	}
	for i := 0; i < want.Len(); i++ {
		if d := math.Abs(got.Float64At(i) - want.Float64At(i)); d > tol*scale {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %g > %g)", what, i, got.Float64At(i), want.Float64At(i), d, tol*scale)
		}
	}
}

func TestZeroGroupsRemovedLosslessly(t *testing.T) {
	for _, m := range []struct {
		name  string
		build func(models.Config) (*ir.Graph, error)
		cfg   models.Config
	}{
		{"resnet18", models.ResNet18, models.SmallResNet},
		{"mobilenetv2", models.MobileNetV2, models.Small},
	} {
		t.Run(m.name, func(t *testing.T) {
			g0, err := m.build(m.cfg)
			if err != nil {
				t.Fatal(err)
			}
			g := load(t, g0)
			zeroed := zeroFraction(t, g, 0.4)
			orig := load(t, g)
			in := map[string]*ir.Tensor{"input": models.Input(m.cfg)}
			want, err := interp.Run(orig, in)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := effc.Prune(g, effc.PruneOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Removed != zeroed || rep.RemovedZero != zeroed || !rep.Lossless {
				t.Fatalf("removed %d channels (%d zero, lossless %v), want all %d zeroed ones", rep.Removed, rep.RemovedZero, rep.Lossless, zeroed)
			}
			drop := rep.Before.MACs - rep.After.MACs
			if drop < rep.PredictedMACs*9/10 {
				t.Errorf("MACs fell by %d, want at least 90%% of the %d the zero groups account for", drop, rep.PredictedMACs)
			}
			t.Logf("%s: %d channels removed, MACs %d -> %d (%.1f%%), params %d -> %d",
				m.name, rep.Removed, rep.Before.MACs, rep.After.MACs,
				100*float64(drop)/float64(rep.Before.MACs), rep.Before.Params, rep.After.Params)
			got, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "pruned logits", got["logits"], want["logits"], 1e-5)

			// The pruned model is valid ONNX that ONNX Runtime runs.
			path := filepath.Join(t.TempDir(), "pruned.onnx")
			if err := frontend.Save(g, path); err != nil {
				t.Fatal(err)
			}
			t.Run("onnxruntime", func(t *testing.T) {
				ortrun.Require(t)
				ort, err := ortrun.Run(context.Background(), path, in)
				if err != nil {
					t.Fatal(err)
				}
				near(t, "ORT logits of the pruned model", ort["logits"], want["logits"], 1e-4)
			})
			t.Run("x86_64", func(t *testing.T) {
				if testing.Short() {
					t.Skip("compiles the model")
				}
				c, err := effc.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := effc.Prepare(c, effc.PrepareOptions{}); err != nil {
					t.Fatal(err)
				}
				spec, err := effc.Target("x86_64", "")
				if err != nil {
					t.Fatal(err)
				}
				out, err := (&engine.Engine{Spec: spec}).Run(c, in)
				if err != nil {
					t.Fatal(err)
				}
				near(t, "compiled logits of the pruned model", out["logits"], want["logits"], 1e-4)
			})
		})
	}
}

func TestRatioPruningReportsError(t *testing.T) {
	g0, err := models.ResNet18(models.SmallResNet)
	if err != nil {
		t.Fatal(err)
	}
	g := load(t, g0)
	calib := []map[string]*ir.Tensor{{"input": models.Input(models.SmallResNet)}}
	rep, err := effc.Prune(g, effc.PruneOptions{Ratio: 0.3, Calib: calib})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lossless || rep.Quality == nil || rep.Quality.Samples != 1 {
		t.Fatalf("report %+v, want a lossy prune with quality measured on 1 sample", rep)
	}
	if drop := rep.Before.MACs - rep.After.MACs; drop < rep.Before.MACs/5 {
		t.Fatalf("MACs fell by %d of %d, want at least a fifth for a 30%% ratio", drop, rep.Before.MACs)
	}
	if rep.Quality.MaxAbs == 0 {
		t.Fatalf("removing live channels left the outputs unchanged: %+v", rep.Quality)
	}
}

// TestDigitsOTOInONNXRuntime: the pruned OTO-trained digits model runs in
// ONNX Runtime with the original's outputs on the whole test split.
func TestDigitsOTOInONNXRuntime(t *testing.T) {
	ortrun.Require(t)
	g, err := effc.Load("../../testdata/digits_oto/digits_oto.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read("../../testdata/digits_oto/test_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{"image": x}
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := effc.Prune(g, effc.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pruned.onnx")
	if err := frontend.Save(g, path); err != nil {
		t.Fatal(err)
	}
	got, err := ortrun.Run(context.Background(), path, in)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ORT logits of the pruned digits_oto", got["logits"], want["logits"], 1e-4)
}

// TestLightModels zeroes 30% of the channels of every prunable group of the
// ONNX "light" models (real architectures: concat-heavy Inception and
// DenseNet, SqueezeNet, ResNet-50) and checks that pruning removes
// them all and keeps the outputs.
func TestLightModels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real architectures on the interpreter")
	}
	for _, name := range []string{"squeezenet", "inception_v1", "resnet50", "densenet121"} {
		t.Run(name, func(t *testing.T) {
			g, err := effc.Load("../../interp/testdata/light/light_" + name + ".onnx")
			if err != nil {
				t.Fatal(err)
			}
			zeroed := zeroFraction(t, g, 0.3)
			orig := load(t, g)
			in := map[string]*ir.Tensor{}
			for _, v := range orig.Inputs {
				x := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
				for i := range x.Data.([]float32) {
					x.Data.([]float32)[i] = float32(math.Sin(float64(i)))
				}
				in[v.Name] = x
			}
			// These models have random weights, so their logits reach 1e17 and
			// the final Softmax saturates: compare what enters it.
			logits := logitsName(orig)
			want := observe(t, orig, in, logits)
			rep, err := effc.Prune(g, effc.PruneOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Removed != zeroed {
				t.Fatalf("removed %d channels, want the %d zeroed; kept %v", rep.Removed, zeroed, rep.Kept)
			}
			near(t, logits, observe(t, g, in, logits), want, 1e-4)
			t.Logf("%s: %d channels removed, MACs %d -> %d", name, rep.Removed, rep.Before.MACs, rep.After.MACs)
		})
	}
}

// logitsName is the value that enters g's final Softmax (through Reshape and
// Flatten), or g's first output when there is none.
func logitsName(g *ir.Graph) string {
	v := g.Outputs[0]
	for v.Producer != nil {
		switch v.Producer.Op {
		case "Reshape", "Flatten", "Identity":
			v = v.Producer.Inputs[0]
			continue
		case "Softmax":
			return v.Producer.Inputs[0].Name
		}
		break
	}
	return g.Outputs[0].Name
}

// observe runs g and returns the value named name.
func observe(t *testing.T, g *ir.Graph, in map[string]*ir.Tensor, name string) *ir.Tensor {
	t.Helper()
	var got *ir.Tensor
	_, err := interp.RunWith(g, in, interp.RunOptions{Observe: func(v *ir.Value, x *ir.Tensor) error {
		if v.Name == name {
			got = x
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatalf("no value %q", name)
	}
	return got
}

// TestRatioWithCalibration: with calibration inputs, ratio pruning ranks
// channels by how much they feed their consumers and folds the removed
// channels' measured means. On the small digits model (16-channel residual
// stream, very sensitive) removing 13.5% of the MACs keeps top-1 agreement
// with the original at 85% or more on the calibration inputs; ranked by
// weight norm with bias folding it dropped to about 53%.
func TestRatioWithCalibration(t *testing.T) {
	g, err := effc.Load("../../testdata/digits/digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read("../../testdata/digits/test_x.npy")
	if err != nil {
		t.Fatal(err)
	}
	var calib []map[string]*ir.Tensor
	per := x.Len() / int(x.Shape[0])
	for i := 0; i < 100; i++ {
		s := ir.NewTensor(ir.Float32, append([]int64{1}, x.Shape[1:]...))
		copy(s.Data.([]float32), x.Data.([]float32)[i*per:(i+1)*per])
		calib = append(calib, map[string]*ir.Tensor{"image": s})
	}
	rep, err := effc.Prune(g, effc.PruneOptions{Ratio: 0.05, Calib: calib})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed == 0 || rep.Quality == nil || rep.Quality.Top1 < 0.85 {
		t.Fatalf("removed %d channels, quality %+v; want top-1 agreement >= 85%%", rep.Removed, rep.Quality)
	}
	t.Logf("ratio 0.05: %d channels, MACs %d -> %d, top-1 agreement %.2f", rep.Removed, rep.Before.MACs, rep.After.MACs, rep.Quality.Top1)
}
