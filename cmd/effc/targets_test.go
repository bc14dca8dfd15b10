package main

import (
	"strings"
	"testing"
)

func TestTargets(t *testing.T) {
	out := mustRun(t, "targets")
	for _, fields := range [][]string{
		{"x86_64", "x86_64-pc-linux-gnu", "x86-64-v3", "+avx2,+fma", "256-bit", "yes", "none", "native"},
		{"arm64", "aarch64-linux-gnu", "generic", "+v8.2a,+neon,+dotprod", "128-bit", "yes", "dotprod", "qemu-aarch64"},
		{"wasm32", "wasm32-unknown-unknown", "generic", "+simd128", "128-bit", "no", "none", "wazero"},
	} {
		if !hasLine(out, fields...) {
			t.Errorf("effc targets has no row %v:\n%s", fields, out)
		}
	}
	out = mustRun(t, "targets", "--cpus", "arm64")
	for _, fields := range [][]string{
		{"cortex-a76", "128-bit", "dotprod"},
		{"cortex-a72", "128-bit", "none"},
		{"thunderx", "128-bit", "none", "+neon", "baseline"},
		{"generic", "dotprod", "default"},
	} {
		if !hasLine(out, fields...) {
			t.Errorf("effc targets --cpus arm64 has no row %v:\n%s", fields, out)
		}
	}
	out = mustRun(t, "targets", "--cpus", "x86_64")
	if !hasLine(out, "icelake-server", "512-bit", "vnni") {
		t.Errorf("effc targets --cpus x86_64 lacks icelake-server:\n%s", out)
	}
	code, _, errs := effcRun(t, "targets", "--cpus", "x86")
	if code != 1 || !strings.Contains(errs, "valid targets: arm64, wasm32, x86_64") {
		t.Errorf("effc targets --cpus x86: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := effcRun(t, "targets", "extra"); code != 2 {
		t.Errorf("effc targets extra: exit %d, want 2", code)
	}
}
