package probe

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
)

// TestModuleCodegen compiles the generated kernel for each target's default
// CPU and checks that llc turned it into the target's vector FMA (or
// multiply) instructions, with the promised number of them in the loop.
func TestModuleCodegen(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]string{
		"x86_64":        `vfmadd\d+ps\s+%ymm`,
		"x86_64-avx512": `vfmadd\d+ps\s+%zmm`,
		"arm64":         `fmla\s+v\d+\.4s`,
		"wasm32":        `f32x4\.mul`,
	} {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		m, perIter := Module(spec)
		lanes := int64(spec.VectorBits / 32)
		if perIter != 2*rounds*Accumulators*lanes {
			t.Errorf("%s: flops per iteration = %d, want %d", name, perIter, 2*rounds*Accumulators*lanes)
		}
		ll := filepath.Join(dir, name+".ll")
		if err := os.WriteFile(ll, []byte(m.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := toolchain.Run(context.Background(), dir, "llc", append(spec.LLCArgs(), "-o", "-", ll)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, m)
		}
		n := len(regexp.MustCompile(want).FindAllString(string(out), -1))
		if n < rounds*Accumulators {
			t.Errorf("%s: %d matches of %s in the assembly, want at least %d", name, n, want, rounds*Accumulators)
		}
		if strings.Contains(string(out), "fmaf") {
			t.Errorf("%s: the kernel calls fmaf instead of using vector instructions", name)
		}
	}
}

// TestPeakNative runs the probe on this machine with its native CPU.
func TestPeakNative(t *testing.T) {
	spec, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/cpuinfo"); err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	native, err := spec.WithCPU("native")
	if err != nil {
		t.Skipf("not an x86_64 machine: %v", err)
	}
	g, err := Peak(context.Background(), native)
	if err != nil {
		t.Fatal(err)
	}
	if !(g > 0) {
		t.Errorf("Peak = %v GFLOP/s, want a positive number", g)
	}
	t.Logf("x86_64 --cpu %s %v: %.1f GFLOP/s", native.CPU, native.Features, g)
}

// TestPeakArm64 runs the probe for arm64 under qemu-aarch64 (emulated, so
// the number says nothing about Arm hardware).
func TestPeakArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("runs under qemu")
	}
	spec, err := target.Load("arm64")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Peak(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !(g > 0) {
		t.Errorf("Peak = %v GFLOP/s, want a positive number", g)
	}
	t.Logf("arm64 under qemu: %.2f GFLOP/s (emulated)", g)
}

// TestPeakErrors covers the cases Peak refuses or cannot finish.
func TestPeakErrors(t *testing.T) {
	w, err := target.Load("wasm32")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Peak(context.Background(), w); err == nil || !strings.Contains(err.Error(), "wazero") {
		t.Errorf("Peak(wasm32) error = %v", err)
	}
	x, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Peak(ctx, x); err == nil {
		t.Error("Peak with a cancelled context succeeded")
	}
	for _, bad := range []string{"", "gflops", "gflops x", "gflops -1", "GFLOPS 3"} {
		if _, err := parseOutput(bad); err == nil {
			t.Errorf("parseOutput(%q) succeeded", bad)
		}
	}
	if g, err := parseOutput("gflops 12.5 iters 3 seconds 0.1 sink 1\n"); err != nil || g != 12.5 {
		t.Errorf("parseOutput = %v, %v", g, err)
	}
}
