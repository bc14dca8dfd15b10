// Package harness builds and runs a small C driver around a compiled model
// (a native or cross-compiled model.o / libmodel.a plus its model.h), for
// `effc run` and `effc bench` on the x86_64 and arm64 targets and for tests.
//
// The driver reads each input from a raw little-endian file, calls the
// model's run function with a 64-byte aligned arena, and writes each output
// to a raw file. The arena and buffers come from aligned_alloc in the
// harness; the model itself never allocates. For a model compiled with
// --weights file, the driver first reads the weights file into a 64-byte
// aligned buffer and hands it to the model's set_weights.
package harness

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/effc/effc/backend/toolchain"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
)

//go:embed harness.c.tmpl
var sourceTmpl string

var tmpl = template.Must(template.New("harness.c").Parse(sourceTmpl))

// Source returns harness.c for the model described by h; it includes the
// header as headerFile and takes every size from the header's macros. If h
// says the weights are in a file, weightsFile is the path the harness reads
// them from; otherwise it must be "".
func Source(h *runtime.HeaderInfo, headerFile, weightsFile string) ([]byte, error) {
	if h == nil {
		return nil, errors.New("harness: no header info")
	}
	if strings.ContainsAny(headerFile, "\"\\\n") {
		return nil, fmt.Errorf("harness: header file name %q cannot appear in #include; rename it", headerFile)
	}
	if (h.Weights != nil) != (weightsFile != "") {
		return nil, fmt.Errorf("harness: a weights file is needed exactly when the model was compiled with --weights file")
	}
	var b bytes.Buffer
	err := tmpl.Execute(&b, map[string]any{
		"Name":       h.Name,
		"Prefix":     h.Prefix,
		"Up":         strings.ToUpper(h.Prefix),
		"HeaderFile": headerFile,
		"LastIn":     len(h.Inputs) - 1,
		"LastOut":    len(h.Outputs) - 1,
		"Weights":    cQuote(weightsFile),
	})
	if err != nil {
		return nil, fmt.Errorf("harness: generating harness.c: %w", err)
	}
	return b.Bytes(), nil
}

// Options says how to build a harness.
type Options struct {
	CC     string   // C compiler: a path, or a toolchain name ("cc", "aarch64-linux-gnu-gcc"; a target.Spec's Link.CC)
	Flags  []string // extra compiler flags, e.g. "-march=armv8.2-a"
	Dir    string   // where harness.c and the executable are written (must exist)
	Lib    string   // the model: model.o or libmodel.a
	Header string   // the model's model.h
	// Weights is the weights file of a model compiled with --weights file;
	// "" means the file model.h names (weights.bin) beside model.h. The
	// harness reads it on every run, so it must stay in place.
	Weights string
}

// Build writes harness.c into o.Dir and compiles it with the model into an
// executable, returning its path. The header is parsed to learn the model's
// name and inputs/outputs; the C compiler's stderr is part of any error.
func Build(ctx context.Context, o Options) (string, error) {
	if o.CC == "" {
		o.CC = "cc"
	}
	if o.Dir == "" {
		return "", errors.New("harness: Options.Dir is empty; give a directory to build in")
	}
	src, err := os.ReadFile(o.Header)
	if err != nil {
		return "", fmt.Errorf("harness: reading model header: %w (compile with --emit header)", err)
	}
	h, err := runtime.ParseHeader(src)
	if err != nil {
		return "", fmt.Errorf("harness: %s: %w", o.Header, err)
	}
	if _, err := os.Stat(o.Lib); err != nil {
		return "", fmt.Errorf("harness: model library: %w (compile with --emit obj or lib)", err)
	}
	headerAbs, err := filepath.Abs(o.Header)
	if err != nil {
		return "", fmt.Errorf("harness: %w", err)
	}
	weights := ""
	switch {
	case h.Weights != nil:
		weights = o.Weights
		if weights == "" {
			weights = filepath.Join(filepath.Dir(headerAbs), h.Weights.Name)
		}
		if weights, err = filepath.Abs(weights); err != nil {
			return "", fmt.Errorf("harness: %w", err)
		}
		if _, err := os.Stat(weights); err != nil {
			return "", fmt.Errorf("harness: the model was compiled with --weights file: %w", err)
		}
	case o.Weights != "":
		return "", fmt.Errorf("harness: Options.Weights is %s, but %s declares no weights file: the model embeds its weights (compiled without --weights file)", o.Weights, o.Header)
	}
	c, err := Source(h, filepath.Base(headerAbs), weights)
	if err != nil {
		return "", err
	}
	cPath := filepath.Join(o.Dir, "harness.c")
	if err := os.WriteFile(cPath, c, 0o644); err != nil {
		return "", fmt.Errorf("harness: writing harness.c: %w", err)
	}
	exe := filepath.Join(o.Dir, "harness")
	args := []string{"-std=c11", "-O2", "-Wall", "-Werror=implicit-function-declaration"}
	args = append(args, o.Flags...)
	args = append(args, "-I", filepath.Dir(headerAbs), "-o", exe, cPath, o.Lib, "-lm")
	cc := o.CC
	if toolchain.Package(cc) != "" { // a name toolchain knows: its error names the Debian package
		if cc, err = toolchain.Find(cc); err != nil {
			return "", fmt.Errorf("harness: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, cc, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("harness: C compiler %q not found: install gcc (native) or gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (arm64)", o.CC)
		}
		return "", fmt.Errorf("harness: %s %s: %v\n%s", o.CC, strings.Join(args, " "), err, stderr.String())
	}
	return exe, nil
}

// Run executes a built harness on inputs (in graph order; their raw bytes
// must match model.h) and decodes the outputs described by outs. runner is
// prepended to the command: nil natively, or e.g.
// []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"} for arm64 (a
// target.Spec's RunArgs(exe) without its last element).
func Run(ctx context.Context, runner []string, exe string, inputs []*ir.Tensor, outs []runtime.TensorInfo) ([]*ir.Tensor, error) {
	res, _, err := run(ctx, runner, exe, inputs, outs, 0)
	return res, err
}

// BenchResult holds the timing of repeated runs, measured inside the harness
// with CLOCK_MONOTONIC around each call of the model's run function.
type BenchResult struct {
	Runs   int
	Median time.Duration
	Min    time.Duration
}

// Bench runs the model n times after one warm-up run and returns the timing
// and the outputs of the last run.
func Bench(ctx context.Context, runner []string, exe string, inputs []*ir.Tensor, outs []runtime.TensorInfo, n int) (*BenchResult, []*ir.Tensor, error) {
	if n < 1 || n > 100000000 {
		return nil, nil, fmt.Errorf("harness: bench run count %d out of range; use 1 to 100000000", n)
	}
	res, b, err := run(ctx, runner, exe, inputs, outs, n)
	return b, res, err
}

var benchRe = regexp.MustCompile(`bench runs=(\d+) median_us=([0-9.]+) min_us=([0-9.]+)`)

func run(ctx context.Context, runner []string, exe string, inputs []*ir.Tensor, outs []runtime.TensorInfo, bench int) ([]*ir.Tensor, *BenchResult, error) {
	dir, err := os.MkdirTemp("", "effc-harness-")
	if err != nil {
		return nil, nil, fmt.Errorf("harness: %w", err)
	}
	defer os.RemoveAll(dir)
	name, args := exe, []string{}
	if len(runner) > 0 {
		name = runner[0]
		args = append(args, runner[1:]...)
		args = append(args, exe)
	}
	if bench > 0 {
		args = append(args, "--bench", strconv.Itoa(bench))
	}
	for i, t := range inputs {
		if t == nil {
			return nil, nil, fmt.Errorf("harness: input %d is nil", i)
		}
		if t.DType == ir.String || t.DType.Size() == 0 {
			return nil, nil, fmt.Errorf("harness: input %d has dtype %s, which has no raw encoding", i, t.DType)
		}
		if t.DataLen() != t.Len() {
			return nil, nil, fmt.Errorf("harness: input %d holds %d elements but its shape %v wants %d", i, t.DataLen(), t.Shape, t.Len())
		}
		p := filepath.Join(dir, fmt.Sprintf("in%d.bin", i))
		if err := os.WriteFile(p, t.Bytes(), 0o644); err != nil {
			return nil, nil, fmt.Errorf("harness: writing input %d: %w", i, err)
		}
		args = append(args, p)
	}
	for i, o := range outs {
		if o.ByteSize() < 0 {
			return nil, nil, fmt.Errorf("harness: output %d (%q) has no static byte size (%s%v)", i, o.Name, o.DType, o.Shape)
		}
		args = append(args, filepath.Join(dir, fmt.Sprintf("out%d.bin", i)))
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) && len(runner) > 0 {
			return nil, nil, fmt.Errorf("harness: runner %q not found: install qemu-user to run arm64 artifacts", runner[0])
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "(no message)"
		}
		return nil, nil, fmt.Errorf("harness: running %s failed (%v): %s", exe, err, msg)
	}
	res := make([]*ir.Tensor, len(outs))
	for i, o := range outs {
		raw, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("out%d.bin", i)))
		if err != nil {
			return nil, nil, fmt.Errorf("harness: output %d (%q): %w", i, o.Name, err)
		}
		t, err := ir.TensorFromBytes(o.DType, o.Shape, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("harness: output %d (%q): %w; does outs match the model's model.h?", i, o.Name, err)
		}
		res[i] = t
	}
	if bench == 0 {
		return res, nil, nil
	}
	m := benchRe.FindStringSubmatch(stdout.String())
	if m == nil {
		return nil, nil, fmt.Errorf("harness: no bench line in the harness output %q", stdout.String())
	}
	runs, _ := strconv.Atoi(m[1])
	med, _ := strconv.ParseFloat(m[2], 64)
	mn, _ := strconv.ParseFloat(m[3], 64)
	return res, &BenchResult{Runs: runs, Median: us(med), Min: us(mn)}, nil
}

// cQuote writes s as a C string literal, every byte outside printable ASCII
// (and '"', '\\', '?') as an octal escape; "" stays "".
func cQuote(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func us(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
