package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestRunWeightsFile runs the digits model compiled with --weights file for
// x86_64 and arm64 (the C harness loads weights.bin) and wasm32 (wasmrt
// does): the summary and the accuracy line (358/360) are exactly those of
// the embedded weights.
func TestRunWeightsFile(t *testing.T) {
	correct, total := accuracy(t)
	for _, tgt := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(tgt, func(t *testing.T) {
			args := []string{"run", digits, "--input", digitsX, "--labels", digitsY, "--target", tgt}
			_, embed, _ := strings.Cut(mustRun(t, args...), "\n") // past the target line and its time
			_, file, _ := strings.Cut(mustRun(t, append(args, "--weights", "file")...), "\n")
			if want := "accuracy: " + strconv.Itoa(correct) + "/" + strconv.Itoa(total); !strings.Contains(file, want) {
				t.Errorf("--weights file: output lacks %q:\n%s", want, file)
			}
			if file != embed {
				t.Errorf("--weights file printed\n%s\n--weights embed\n%s", file, embed)
			}
		})
	}
}

// TestBenchWeightsFile times the movement model compiled with --weights
// file on wasm32.
func TestBenchWeightsFile(t *testing.T) {
	out := mustRun(t, "bench", movementModel(t), "--target", "wasm32", "--runs", "3", "--batch", "2", "--weights", "file")
	if !strings.Contains(out, "runs: 3, median ") {
		t.Errorf("bench --weights file: output lacks the timing:\n%s", out)
	}
}

// TestWeightsUsageErrors checks that run and bench validate --weights like
// compile, and that run takes it only with --target.
func TestWeightsUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", digits, "--input", digitsX, "--target", "x86_64", "--weights", "half"}, `effc run: --weights "half": want embed or file`},
		{[]string{"run", digits, "--input", digitsX, "--weights", "file"}, "--weights apply to compiled runs; add --target T"},
		{[]string{"bench", digits, "--target", "x86_64", "--weights", "half"}, `effc bench: --weights "half": want embed or file`},
	} {
		code, out, errs := effcRun(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("effc %s: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q",
				strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
}
