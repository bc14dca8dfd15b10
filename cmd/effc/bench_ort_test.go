package main

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestBenchORT runs `effc bench --ort` on the digits model: ONNX Runtime for
// Node must load the same model and the ratio line must appear. It needs
// 'make bench-deps' (bench/node_modules); timings are printed, never asserted.
func TestBenchORT(t *testing.T) {
	if _, err := os.Stat("../../bench/node_modules/onnxruntime-node"); err != nil {
		t.Skip("onnxruntime-node not installed; run 'make bench-deps'")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	code, out, errOut := effcRun(t, "bench", "../../testdata/digits/digits.onnx", "--target", "x86_64",
		"--runs", "5", "--ort", "--ort-script", "../../bench/ort-bench.mjs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, re := range []string{
		`onnxruntime-node \d+\.\d+\.\d+ \(1 thread\): median [0-9.]+(µs|ms)`,
		`effc / onnxruntime: [0-9.]+x median`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("output lacks %q:\n%s", re, out)
		}
	}
}

func TestBenchORTMissingScript(t *testing.T) {
	code, _, errOut := effcRun(t, "bench", "../../testdata/digits/digits.onnx", "--target", "x86_64",
		"--runs", "1", "--ort", "--ort-script", "no/such/script.mjs")
	if code != 1 || !regexp.MustCompile(`--ort: no/such/script.mjs not found`).MatchString(errOut) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
