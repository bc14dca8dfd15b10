package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindInstalled finds every tool that the test machine has; it needs
// 'make deps' to have been run.
func TestFindInstalled(t *testing.T) {
	for _, name := range Tools() {
		p, err := Find(name)
		if err != nil {
			t.Errorf("Find(%q): %v", name, err)
			continue
		}
		if !filepath.IsAbs(p) {
			t.Errorf("Find(%q) = %q, want an absolute path", name, p)
		}
	}
	p, err := Find("llc")
	if err == nil && !strings.HasSuffix(p, "llc-"+LLVMVersion) && !strings.HasSuffix(p, "llc") {
		t.Errorf("Find(llc) = %q", p)
	}
}

// TestFindMissing checks that a missing tool's error names its package and
// 'make deps'.
func TestFindMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Find("wasm-ld")
	if err == nil {
		t.Fatal("Find(wasm-ld) with an empty PATH succeeded")
	}
	for _, want := range []string{"lld-14", "make deps", "wasm-ld-14"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := Find("gcc-9000"); err == nil || !strings.Contains(err.Error(), "llc") {
		t.Errorf("Find(unknown) error = %v, want the list of known tools", err)
	}
}

// TestRun runs llc for real: once successfully, once on bad IR.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := "define i32 @f(i32 %x) {\n  %y = add i32 %x, 1\n  ret i32 %y\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "good.ll"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), dir, "llc", "-mtriple=x86_64-pc-linux-gnu", "-o", "-", "good.ll")
	if err != nil {
		t.Fatalf("llc good.ll: %v", err)
	}
	if !strings.Contains(string(out), "f:") {
		t.Errorf("llc output has no label f:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.ll"), []byte("define i32 @f( {"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), dir, "llc", "-o", "-", "bad.ll")
	if err == nil {
		t.Fatal("llc bad.ll succeeded")
	}
	if !strings.Contains(err.Error(), "llc") || !strings.Contains(err.Error(), "bad.ll") {
		t.Errorf("error %q does not name the tool and llc's message", err)
	}
}

// TestRunCancelled checks that a cancelled context stops the tool and says so.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, "", "llc", "--version")
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("Run with a cancelled context: err = %v, want context canceled", err)
	}
}
