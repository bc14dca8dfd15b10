package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// smallGraph is Relu(Add(x, b)) -> Transpose -> Concat with x -> Pad: the
// elementwise and data-movement paths in one model.
func smallGraph(t *testing.T) *ir.Graph {
	t.Helper()
	src := `effir 1
graph "small" opset{ai.onnx=18} {
  input %x : f32[2,3,4]
  const %b : f32[4] = [1, -2, 0.5, 3]
  const %pads : i64[6] = [0, 1, 0, 0, 0, 2]
  const %pv : f32[] = 7
  %s : f32[2,3,4] = Add(%x, %b)  @add
  %r : f32[2,3,4] = Relu(%s)  @relu
  %t : f32[2,3,4] = Transpose(%r) {perm=[0, 1, 2]}  @t0
  %u : f32[4,3,2] = Transpose(%r) {perm=[2, 1, 0]}  @t1
  %c : f32[2,6,4] = Concat(%t, %x) {axis=1}  @concat
  %p : f32[2,7,6] = Pad(%c, %pads, %pv)  @pad
  %m : f32[4,3,2] = Mul(%u, %u)  @mul
  output %p
  output %m
}
`
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

func randInputs(g *ir.Graph) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(3, 4))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		for i, d := 0, t.Data.([]float32); i < len(d); i++ {
			d[i] = float32(rng.NormFloat64())
		}
		m[v.Name] = t
	}
	return m
}

func TestSmallGraphOnEveryTarget(t *testing.T) {
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(name, func(t *testing.T) {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			g := smallGraph(t)
			in := randInputs(g)
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{Spec: spec}
			got, err := e.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				wf, gf := w.Float64s(), got[k].Float64s()
				for i := range wf {
					if math.Float64bits(wf[i]) != math.Float64bits(gf[i]) {
						t.Fatalf("%s[%d] = %g, want %g (exact)", k, i, gf[i], wf[i])
					}
				}
			}
		})
	}
}

// TestFusedConvOnEveryTarget compiles the fuse-epilogue golden output
// (effc.FusedConv with a residual + Relu, and with Clip) for each target and
// compares it with the interpreter running the same fused graph.
func TestFusedConvOnEveryTarget(t *testing.T) {
	src, err := os.ReadFile("../../passes/testdata/fuse-epilogue/residual_relu.out.effir")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(name, func(t *testing.T) {
			g, err := ir.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.BindBatch(g, 2); err != nil {
				t.Fatal(err)
			}
			for _, v := range g.Values() {
				if v.Producer != nil {
					v.Type = ir.Type{}
				}
			}
			if err := ir.InferShapes(g); err != nil {
				t.Fatal(err)
			}
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			in := randInputs(g)
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&Engine{Spec: spec}).Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				wf, gf := w.Float64s(), got[k].Float64s()
				for i := range wf {
					if d := math.Abs(wf[i] - gf[i]); d > 1e-5*math.Max(1, math.Abs(wf[i])) {
						t.Fatalf("%s[%d] = %g, want %g", k, i, gf[i], wf[i])
					}
				}
			}
		})
	}
}

// TestMisalignedArenaIsRefused links the small graph's object with a C main
// that passes an arena off by 8 bytes: run must return 1 and, with the
// aligned arena, 0.
func TestMisalignedArenaIsRefused(t *testing.T) {
	spec, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := backend.Compile(context.Background(), smallGraph(t), spec, backend.Options{OutDir: filepath.Join(dir, "out"), Emit: []string{backend.EmitObj, backend.EmitHeader}})
	if err != nil {
		t.Fatal(err)
	}
	src := `#include <stdio.h>
#include <stdlib.h>
#include "model.h"
int main(void) {
	static float x[24], p[84], m[24];
	const void *in[] = {x};
	void *out[] = {p, m};
	char *arena = aligned_alloc(64, effc_model_arena_size() + 64);
	int bad = effc_model_run(arena + 8, in, out);
	int good = effc_model_run(arena, in, out);
	printf("%d %d\n", bad, good);
	return 0;
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "main")
	if out, err := exec.Command("cc", "-I", filepath.Dir(res.Files[backend.EmitHeader]), "-o", exe, filepath.Join(dir, "main.c"), res.Files[backend.EmitObj], "-lm").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "1 0" {
		t.Fatalf("run(misaligned), run(aligned) = %s, want 1 0", got)
	}
}

// TestWeightsFile runs the small graph compiled with backend.WeightsFile,
// whose artifacts carry no weights, and checks its outputs are exactly the
// interpreter's: the harness (x86_64, arm64) and wasmrt (wasm32) load
// weights.bin.
func TestWeightsFile(t *testing.T) {
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(name, func(t *testing.T) {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			g := smallGraph(t)
			in := randInputs(g)
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			keep := t.TempDir()
			got, err := (&Engine{Spec: spec, Keep: keep, Weights: backend.WeightsFile}).Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(keep, "artifacts", "weights.bin")); err != nil {
				t.Errorf("the artifacts have no weights.bin: %v", err)
			}
			for k, w := range want {
				wf, gf := w.Float64s(), got[k].Float64s()
				for i := range wf {
					if math.Float64bits(wf[i]) != math.Float64bits(gf[i]) {
						t.Fatalf("%s[%d] = %g, want %g (exact)", k, i, gf[i], wf[i])
					}
				}
			}
		})
	}
}
