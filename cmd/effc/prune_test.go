package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/ir"
)

const (
	digitsOTO  = "../../testdata/digits_oto/digits_oto.onnx"
	digitsOTOX = "../../testdata/digits_oto/test_x.npy"
	digitsOTOY = "../../testdata/digits_oto/test_y.npy"
)

// TestPruneDigitsOTO is issue 4's acceptance check: the OTO-trained digits
// model has half of its 896 groups exactly zero; effc prune removes all of
// them, the accuracy is unchanged and the logits agree within 1e-4.
func TestPruneDigitsOTO(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pruned.onnx")
	rep := mustRun(t, "prune", digitsOTO, "-o", out)
	for _, want := range []string{
		"removed 448 channels (448 exactly zero, 448 dead with folded constants): lossless",
		"/block3/conv1/Conv", "256  → 128",
		"wrote " + out,
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("effc prune output lacks %q:\n%s", want, rep)
		}
	}
	acc := func(model string) string {
		o := mustRun(t, "run", model, "--input", digitsOTOX, "--labels", digitsOTOY)
		i := strings.Index(o, "accuracy: ")
		if i < 0 {
			t.Fatalf("no accuracy line:\n%s", o)
		}
		return strings.Fields(o[i:])[1]
	}
	if a, b := acc(digitsOTO), acc(out); a != b || a != "359/360" {
		t.Errorf("accuracy %s before pruning, %s after; want 359/360 both (testdata/digits_oto/accuracy.json)", a, b)
	}
	x, err := npy.Read(digitsOTOX)
	if err != nil {
		t.Fatal(err)
	}
	logits := func(path string) *ir.Tensor {
		g, err := effc.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		o, err := effc.Run(g, map[string]*ir.Tensor{"image": x})
		if err != nil {
			t.Fatal(err)
		}
		return o["logits"]
	}
	a, b := logits(digitsOTO), logits(out)
	maxDiff := 0.0
	for i := 0; i < a.Len(); i++ {
		maxDiff = math.Max(maxDiff, math.Abs(a.Float64At(i)-b.Float64At(i)))
	}
	if maxDiff > 1e-4 {
		t.Errorf("max |logit difference| %g over the test split, want <= 1e-4", maxDiff)
	}
}

func TestPruneJSONAndGroups(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pruned.onnx")
	var rep struct {
		Removed  int  `json:"removed"`
		Lossless bool `json:"lossless"`
		Before   struct{ MACs int64 }
		After    struct{ MACs int64 }
		Layers   []struct {
			Node          string `json:"node"`
			ChannelsAfter int64  `json:"channels_after"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "prune", digitsOTO, "-o", out, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 448 || !rep.Lossless || rep.After.MACs*3 > rep.Before.MACs || len(rep.Layers) != 10 {
		t.Errorf("prune --json: %+v", rep)
	}
	text := mustRun(t, "inspect", digitsOTO, "--groups")
	for _, want := range []string{
		"zero-invariant groups: 7 group sets, 896 prunable channels, 448 of them exactly zero",
		"group 0: 64 channels, producers /block1/conv2/Conv, /stem/stem.0/Conv; prunable",
		`not prunable: reaches graph output "logits"`,
		"removed 448 channels",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect --groups lacks %q", want)
		}
	}
	var groups struct {
		Groups []struct {
			Producers []string `json:"producers"`
			Zero      []int    `json:"zero"`
			Prunable  bool     `json:"prunable"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", digitsOTO, "--groups", "--json")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups.Groups) != 7 || len(groups.Groups[5].Zero) != 128 {
		t.Errorf("inspect --groups --json: %d groups, want 7 with 128 zero channels in group 5", len(groups.Groups))
	}
}

func TestPruneUsage(t *testing.T) {
	for _, args := range [][]string{
		{"prune", digitsOTO},
		{"prune", digitsOTO, "-o", "x.onnx", "--ratio", "1.5"},
		{"compile", digitsOTO, "--target", "x86_64", "--prune", "magnitude"},
		{"run", digitsOTO, "--input", digitsOTOX, "--prune", "otov2=2"},
	} {
		code, _, stderr := effcRun(t, args...)
		if code == 0 || !strings.HasPrefix(stderr, "effc") || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("effc %s: exit %d, stderr %q; want an error", strings.Join(args, " "), code, stderr)
		}
	}
}

// TestCompilePruned compiles the pruned digits model for x86_64 and checks
// the compiled artifact classifies the test split as the original does.
func TestCompilePruned(t *testing.T) {
	o := mustRun(t, "run", digitsOTO, "--input", digitsOTOX, "--labels", digitsOTOY, "--prune", "otov2", "--target", "x86_64")
	if !strings.Contains(o, "removed 448 channels") || !strings.Contains(o, fmt.Sprintf("accuracy: %d/%d", 359, 360)) {
		t.Errorf("compiled pruned run:\n%s", o)
	}
}
