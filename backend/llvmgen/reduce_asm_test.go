package llvmgen_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
)

// TestReduceFamilyVectorizes compiles the hot kernels of this family alone
// and checks model.s for the target's vector instructions, so a change that
// stops opt from vectorizing them fails here instead of silently slowing
// models down.
func TestReduceFamilyVectorizes(t *testing.T) {
	graphs := map[string]string{
		// Softmax: the max-subtracted exp loop (inline exp: vector floor) and the sum.
		"softmax": `  input %x : f32[16,1000]
  %y = Softmax(%x)
  output %y`,
		// ReduceSum over the last axis (scalar accumulator) and ReduceMean over
		// the first (row accumulation), LayerNormalization statistics.
		"reduce": `  input %x : f32[64,256]
  const %a1 : i64[1] = [1]
  const %a0 : i64[1] = [0]
  %s = ReduceSum(%x, %a1)
  %m = ReduceMean(%x, %a0)
  %l = LayerNormalization(%x, %x)
  output %s
  output %m
  output %l`,
		// The ResNet stem pool: 3x3 stride 2 rows over interleaved loads.
		"maxpool": `  input %x : f32[1,16,56,56]
  %y = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  output %y`,
	}
	want := map[string]map[string]string{
		"x86_64": {"softmax": `vroundps\s.*%ymm`, "reduce": `vaddps\s.*%ymm`, "maxpool": `vmaxps\s.*%ymm`},
		"arm64":  {"softmax": `frintm\s+v\d+\.4s`, "reduce": `fadd\s+v\d+\.4s`, "maxpool": `fcmgt\s+v\d+\.4s`},
		"wasm32": {"softmax": `f32x4\.floor`, "reduce": `f32x4\.add`, "maxpool": `f32x4\.gt`},
	}
	for _, name := range rdTargets {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for gname, body := range graphs {
			g := rdGraph(t, body)
			dir := t.TempDir()
			if _, err := backend.Compile(context.Background(), g, spec, backend.Options{OutDir: filepath.Join(dir, "out"), Emit: []string{backend.EmitAsm}}); err != nil {
				t.Fatalf("%s %s: %v", name, gname, err)
			}
			asm, err := os.ReadFile(filepath.Join(dir, "out", "model.s"))
			if err != nil {
				t.Fatal(err)
			}
			if re := regexp.MustCompile(want[name][gname]); !re.Match(asm) {
				t.Errorf("%s: %s kernel has no %q in model.s: not vectorized", name, gname, re)
			}
		}
	}
}
