package models

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// TestShapes pins the generated topologies against the published numbers:
// torchvision's resnet18 has 11,689,512 parameters and 1.82 GMACs at
// 224x224; mobilenet_v2 3,504,872 parameters and 0.30 GMACs. effc counts
// BatchNormalization's four vectors as parameters and its per-element
// scale-shift as MACs, so the totals are a little higher.
func TestShapes(t *testing.T) {
	for _, c := range []struct {
		name            string
		build           func(Config) (*ir.Graph, error)
		params, gmacsLo float64
		gmacsHi         float64
	}{
		{"resnet18", ResNet18, 11.69e6, 1.80, 1.85},
		{"mobilenetv2", MobileNetV2, 3.54e6, 0.29, 0.32},
	} {
		g, err := c.build(ImageNet)
		if err != nil {
			t.Fatal(err)
		}
		r := effc.Inspect(g)
		if p := float64(r.Totals.Params); math.Abs(p-c.params)/c.params > 0.01 {
			t.Errorf("%s: %d parameters, want about %.0f", c.name, r.Totals.Params, c.params)
		}
		if m := float64(r.Totals.MACs) / 1e9; m < c.gmacsLo || m > c.gmacsHi {
			t.Errorf("%s: %.3f GMACs, want %.2f to %.2f", c.name, m, c.gmacsLo, c.gmacsHi)
		}
		if got := g.Outputs[0].Type.String(); got != "f32[1,1000]" {
			t.Errorf("%s: output %s, want f32[1,1000]", c.name, got)
		}
		bn := 0
		for _, n := range g.Nodes {
			if n.Op == "BatchNormalization" {
				bn++
			}
		}
		if bn == 0 {
			t.Errorf("%s: no BatchNormalization nodes", c.name)
		}
	}
}

// TestDeterministic: the same config gives the same bytes.
func TestDeterministic(t *testing.T) {
	a, err := MobileNetV2(Small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MobileNetV2(Small)
	if err != nil {
		t.Fatal(err)
	}
	da, err := Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(da) != string(db) {
		t.Error("two MobileNetV2(Small) encodings differ")
	}
	if _, err := ResNet18(Config{Size: 8, Classes: 10, Width: 1}); err == nil {
		t.Error("ResNet18 with an 8x8 input: no error")
	}
}

// load encodes g to ONNX and decodes it again, as a user's file would be
// read, and prepares it for the backend.
func load(t *testing.T, g *ir.Graph) *ir.Graph {
	t.Helper()
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := frontend.Decode(data, frontend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g2); err != nil {
		t.Fatal(err)
	}
	return g2
}

// missingKernels lists the ops of g without a compiled kernel.
func missingKernels(g *ir.Graph) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range g.Nodes {
		if !llvmgen.Supported(n.Op) && !seen[n.Op] {
			seen[n.Op] = true
			out = append(out, n.Op)
		}
	}
	sort.Strings(out)
	return out
}

// TestSmallModelsCompiled compiles the small ResNet-18 and MobileNetV2 for
// every target and compares the logits with the interpreter's on the
// original (unoptimized) graph: |got-want| <= 1e-4 + 1e-4*max|want|, the
// reduction/convolution bound of the conformance table applied to a whole
// network's logits. A target is skipped, with the compiler's own error,
// only while some op of the model has no kernel.
func TestSmallModelsCompiled(t *testing.T) {
	for _, m := range []struct {
		name  string
		build func(Config) (*ir.Graph, error)
		cfg   Config
	}{
		{"resnet18", ResNet18, SmallResNet},
		{"mobilenetv2", MobileNetV2, Small},
	} {
		t.Run(m.name, func(t *testing.T) {
			g0, err := m.build(m.cfg)
			if err != nil {
				t.Fatal(err)
			}
			x := Input(m.cfg)
			ref, err := interp.Run(load(t, g0), map[string]*ir.Tensor{"input": x})
			if err != nil {
				t.Fatal(err)
			}
			want := ref["logits"]
			for _, tname := range []string{"x86_64", "arm64", "wasm32"} {
				t.Run(tname, func(t *testing.T) {
					g := load(t, g0)
					if _, err := effc.Prepare(g, effc.PrepareOptions{}); err != nil {
						t.Fatal(err)
					}
					spec, err := effc.Target(tname, "")
					if err != nil {
						t.Fatal(err)
					}
					got, err := (&engine.Engine{Spec: spec}).Run(g, map[string]*ir.Tensor{"input": x})
					if err != nil {
						if miss := missingKernels(g); len(miss) > 0 {
							t.Skipf("waiting for kernels %s: %v", strings.Join(miss, ", "), err)
						}
						t.Fatal(err)
					}
					if err := within(got["logits"], want, 1e-4); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// within checks |got-want| <= tol + tol*max|want| elementwise.
func within(got, want *ir.Tensor, tol float64) error {
	if got == nil {
		return fmt.Errorf("no logits in the compiled outputs")
	}
	g, w := got.Float64s(), want.Float64s()
	if len(g) != len(w) {
		return fmt.Errorf("logits have %d elements, want %d", len(g), len(w))
	}
	scale := 0.0
	for _, v := range w {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= tol+tol*scale) {
			return fmt.Errorf("logit %d: compiled %g, interpreter %g (|diff| %g > %g)", i, g[i], w[i], d, tol+tol*scale)
		}
	}
	return nil
}
