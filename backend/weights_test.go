package backend_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/effc/effc"
	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
	"github.com/effc/effc/runtime/harness"
	"github.com/effc/effc/runtime/wasmrt"
)

// digitsBatch is the batch the digits model is compiled for.
const digitsBatch = 3

// digitsPipeline is the default pipeline without fuse-epilogue: it leaves
// digits 16 nodes, so the backend spreads the kernels over two shards and
// the weights pointer is read across modules.
const digitsPipeline = "shape-infer,identity-elim,const-fold,dce,cse,bn-fold"

// loadDigits returns testdata/digits/digits.onnx bound to digitsBatch and
// through digitsPipeline, and seeded standard-normal images.
func loadDigits(t *testing.T) (*ir.Graph, map[string]*ir.Tensor) {
	t.Helper()
	g, err := effc.Load("../testdata/digits/digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := effc.Prepare(g, effc.PrepareOptions{Batch: digitsBatch, Pipeline: digitsPipeline}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := ir.NewTensor(ir.Float32, g.Inputs[0].Type.Shape.Sizes())
	for i, d := 0, x.Data.([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	return g, map[string]*ir.Tensor{g.Inputs[0].Name: x}
}

// needTarget skips the test unless the tools to build and run name's
// artifacts are installed.
func needTarget(t *testing.T, spec *target.Spec) {
	t.Helper()
	tools := []string{"opt", "llc"}
	switch {
	case spec.InProcess():
		tools = append(tools, spec.Link.Linker)
	default:
		tools = append(tools, "ld.lld", "objcopy", spec.Link.CC)
		if argv, err := spec.RunArgs("x"); err == nil && len(argv) > 1 {
			tools = append(tools, argv[0])
		}
	}
	for _, tool := range tools {
		if _, err := toolchain.Find(tool); err != nil {
			t.Skip(err)
		}
	}
}

// readDir returns every file of dir by name.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

// TestWeightsFile compiles the digits CNN for every target with --weights
// embed and --weights file and checks that in file mode:
//   - weights.bin is exactly the blob embed mode puts in read-only data
//     (manifest size and hash) and model.h, manifest.json and the
//     artifacts' exports describe it;
//   - the code artifacts hold none of it: each is smaller than its embed
//     counterpart by about the blob, and no 64-byte piece of the blob
//     appears in them;
//   - the model, run through the harness (natively or under qemu) or
//     wasmrt with weights.bin, matches the interpreter;
//   - compiling again gives byte-identical files.
func TestWeightsFile(t *testing.T) {
	g, in := loadDigits(t)
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.Nodes); n < 16 {
		t.Fatalf("digits has %d nodes after the pipeline; the test wants >= 16 so kernels spread over several shards", n)
	}
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		t.Run(name, func(t *testing.T) {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			needTarget(t, spec)
			ctx := context.Background()
			dir := t.TempDir()
			emit := []string{backend.EmitObj, backend.EmitLib, backend.EmitHeader, backend.EmitManifest}
			code := []string{"model.o", "libmodel.a"}
			if spec.InProcess() {
				emit = []string{backend.EmitWasm, backend.EmitHeader, backend.EmitManifest, backend.EmitJS}
				code = []string{"model.wasm"}
			}
			compile := func(sub, mode string) *backend.Result {
				res, err := backend.Compile(ctx, g, spec, backend.Options{OutDir: filepath.Join(dir, sub), Emit: emit, Weights: mode})
				if err != nil {
					t.Fatalf("--weights %s: %v", mode, err)
				}
				return res
			}
			embed := compile("embed", backend.WeightsEmbed)
			file := compile("file", backend.WeightsFile)

			blob, err := os.ReadFile(filepath.Join(file.Dir, "weights.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if file.Files["weights"] != filepath.Join(file.Dir, "weights.bin") {
				t.Errorf(`Result.Files["weights"] = %q, want weights.bin in %s`, file.Files["weights"], file.Dir)
			}
			if _, err := os.Stat(filepath.Join(embed.Dir, "weights.bin")); !os.IsNotExist(err) {
				t.Errorf("embed mode left weights.bin in its folder (stat: %v)", err)
			}
			sum := sha256.Sum256(blob)
			wantW := backend.ManifestWeights{Mode: "file", File: "weights.bin", Bytes: int64(len(blob)), SHA256: hex.EncodeToString(sum[:])}
			if file.Manifest.Weights != wantW {
				t.Errorf("file mode manifest weights = %+v, want %+v", file.Manifest.Weights, wantW)
			}
			wantW.Mode, wantW.File = "embed", ""
			if embed.Manifest.Weights != wantW {
				t.Errorf("embed mode manifest weights = %+v, want %+v (the same blob as weights.bin)", embed.Manifest.Weights, wantW)
			}
			hdr, err := os.ReadFile(file.Files[backend.EmitHeader])
			if err != nil {
				t.Fatal(err)
			}
			h, err := runtime.ParseHeader(hdr)
			if err != nil {
				t.Fatal(err)
			}
			if want := (&runtime.WeightsFile{Name: "weights.bin", Size: int64(len(blob))}); !reflect.DeepEqual(h.Weights, want) {
				t.Errorf("model.h weights = %+v, want %+v", h.Weights, want)
			}
			for _, s := range []string{"effc_model_set_weights(const void *weights, size_t size);", "size_t effc_model_weights_size(void);", "#define EFFC_MODEL_RUN_NO_WEIGHTS 2"} {
				if !bytes.Contains(hdr, []byte(s)) {
					t.Errorf("file mode model.h lacks %q", s)
				}
			}
			if eh, _ := os.ReadFile(embed.Files[backend.EmitHeader]); bytes.Contains(eh, []byte("set_weights")) {
				t.Errorf("embed mode model.h declares set_weights")
			}

			// The code artifacts do not carry the weights.
			var probes [][]byte
			for off := 0; off+64 <= len(blob); off += 4096 {
				if p := blob[off : off+64]; bytes.Count(p, []byte{0}) < 16 {
					probes = append(probes, p)
				}
			}
			if len(probes) < 10 {
				t.Fatalf("only %d probes of the %d-byte blob", len(probes), len(blob))
			}
			for _, f := range code {
				e, err := os.ReadFile(filepath.Join(embed.Dir, f))
				if err != nil {
					t.Fatal(err)
				}
				a, err := os.ReadFile(filepath.Join(file.Dir, f))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d bytes with --weights embed, %d with --weights file (weights.bin %d)", f, len(e), len(a), len(blob))
				// File mode adds set_weights, weights_size and a load of
				// the weights pointer per kernel: well under codeSlack.
				const codeSlack = 1024
				if len(a)+len(blob) > len(e)+codeSlack {
					t.Errorf("%s is %d bytes in file mode, more than embed mode's %d minus the %d-byte blob plus %d: the weights are still in it", f, len(a), len(e), len(blob), codeSlack)
				}
				for i, p := range probes {
					if !bytes.Contains(e, p) {
						t.Fatalf("%s (embed mode) lacks probe %d of weights.bin: the probes test nothing", f, i)
					}
					if bytes.Contains(a, p) {
						t.Errorf("%s (file mode) contains probe %d of weights.bin", f, i)
						break
					}
				}
			}

			// Runs match the interpreter.
			var got []*ir.Tensor
			if spec.InProcess() {
				wasm, err := os.ReadFile(file.Files[backend.EmitWasm])
				if err != nil {
					t.Fatal(err)
				}
				m, err := wasmrt.Load(ctx, wasm, "model", wasmrt.WithWeights(blob))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close(ctx)
				outs, err := m.Run(ctx, [][]byte{in["image"].Bytes()}, []int{int(file.Manifest.Outputs[0].ByteSize())})
				if err != nil {
					t.Fatal(err)
				}
				y, err := ir.TensorFromBytes(ir.Float32, file.Manifest.Outputs[0].Shape, outs[0])
				if err != nil {
					t.Fatal(err)
				}
				got = []*ir.Tensor{y}
				checkClose(t, got[0], want[g.Outputs[0].Name])
				if node, err := exec.LookPath("node"); err == nil {
					got[0] = runNode(t, node, file, in["image"])
				}
			} else {
				exe, runner := buildHarness(t, spec, file, "")
				if got, err = harness.Run(ctx, runner, exe, []*ir.Tensor{in["image"]}, file.Manifest.Outputs); err != nil {
					t.Fatal(err)
				}
			}
			checkClose(t, got[0], want[g.Outputs[0].Name])

			again := compile("again", backend.WeightsFile)
			a, b := readDir(t, file.Dir), readDir(t, again.Dir)
			if len(a) != len(b) {
				t.Errorf("second compile wrote %d files, the first %d", len(b), len(a))
			}
			for f, data := range a {
				if !bytes.Equal(data, b[f]) {
					t.Errorf("%s differs between two compilations", f)
				}
			}
		})
	}
}

// runNode runs res's model.mjs in Node on x: load() fetches model.wasm and
// weights.bin beside it.
func runNode(t *testing.T, node string, res *backend.Result, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(in, x.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import { readFileSync, writeFileSync } from "node:fs";
const [mjs, inPath, outPath] = process.argv.slice(2);
const { load } = await import(mjs);
const model = await load();
const x = readFileSync(inPath);
const [y] = model.run([new Uint8Array(x.buffer, x.byteOffset, x.byteLength)]);
writeFileSync(outPath, new Uint8Array(y.buffer));
`
	sp := filepath.Join(dir, "run.mjs")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(node, sp, "file://"+res.Files[backend.EmitJS], in, out).CombinedOutput(); err != nil {
		t.Fatalf("node model.mjs: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ir.TensorFromBytes(ir.Float32, res.Manifest.Outputs[0].Shape, raw)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// buildHarness builds the C harness around res (compiled for a native or
// qemu target) with the given weights file ("" for the default).
func buildHarness(t *testing.T, spec *target.Spec, res *backend.Result, weights string) (string, []string) {
	t.Helper()
	cc, err := toolchain.Find(spec.Link.CC)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := harness.Build(context.Background(), harness.Options{CC: cc, Dir: t.TempDir(), Lib: res.Files[backend.EmitObj], Header: res.Files[backend.EmitHeader], Weights: weights})
	if err != nil {
		t.Fatal(err)
	}
	argv, err := spec.RunArgs(exe)
	if err != nil {
		t.Fatal(err)
	}
	return exe, argv[:len(argv)-1]
}

// checkClose compares f32 outputs with a relative tolerance of 1e-4: the
// compiled convolutions sum in a different order than the interpreter's.
func checkClose(t *testing.T, got, want *ir.Tensor) {
	t.Helper()
	g, w := got.Float64s(), want.Float64s()
	if len(g) != len(w) {
		t.Fatalf("got %d values, want %d", len(g), len(w))
	}
	for i := range w {
		if d := math.Abs(g[i] - w[i]); !(d <= 1e-4*math.Max(1, math.Abs(w[i]))) {
			t.Fatalf("output[%d] = %g, want %g", i, g[i], w[i])
		}
	}
}

// weightsGraph is a small model with constants: Relu(x + b) * s.
func weightsGraph(t *testing.T) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(`effir 1
graph "w" opset{ai.onnx=18} {
  input %x : f32[2,4]
  const %b : f32[4] = [1, -2, 0.5, 3]
  const %s : f32[2,4] = [1, 2, 3, 4, 5, 6, 7, 8]
  %a : f32[2,4] = Add(%x, %b)  @add
  %r : f32[2,4] = Relu(%a)  @relu
  %y : f32[2,4] = Mul(%r, %s)  @mul
  output %y
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestWeightsSetAndRunCodes links a file-mode model with a C program that
// checks the documented return codes: run before set_weights returns
// EFFC_MODEL_RUN_NO_WEIGHTS (2); set_weights refuses a wrong size (1), a
// misaligned pointer and NULL (2), and a refusal keeps run refusing; then
// it accepts the aligned copy of weights.bin and run computes
// Relu(x + b) * s.
func TestWeightsSetAndRunCodes(t *testing.T) {
	for _, name := range []string{"x86_64", "arm64"} {
		t.Run(name, func(t *testing.T) {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			needTarget(t, spec)
			dir := t.TempDir()
			res, err := backend.Compile(context.Background(), weightsGraph(t), spec, backend.Options{OutDir: filepath.Join(dir, "out"), Emit: []string{backend.EmitObj, backend.EmitHeader}, Weights: backend.WeightsFile})
			if err != nil {
				t.Fatal(err)
			}
			src := `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
int main(int argc, char **argv) {
	static _Alignas(64) float x[8] = {-3, -2, -1, 0, 1, 2, 3, 4}, y[8];
	const void *in[] = {x};
	void *out[] = {y};
	void *arena = aligned_alloc(64, EFFC_MODEL_ARENA_SIZE_ROUNDED);
	size_t n = effc_model_weights_size();
	char *w = aligned_alloc(64, n + 64);
	FILE *f = fopen(argv[1], "rb");
	if (argc != 2 || !f || fread(w, 1, n + 1, f) != n || n != EFFC_MODEL_WEIGHTS_SIZE) return 9;
	printf("%d", effc_model_run(arena, in, out));
	printf(" %d", effc_model_set_weights(w, n - 1));
	printf(" %d", effc_model_set_weights(w, n + 64));
	memmove(w + 8, w, n);
	printf(" %d", effc_model_set_weights(w + 8, n));
	printf(" %d", effc_model_set_weights(NULL, n));
	printf(" %d", effc_model_run(arena, in, out));
	memmove(w, w + 8, n);
	printf(" %d", effc_model_set_weights(w, n));
	printf(" %d", effc_model_run(arena, in, out));
	for (int i = 0; i < 8; i++) printf(" %g", y[i]);
	printf("\n");
	return 0;
}
`
			if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			cc, err := toolchain.Find(spec.Link.CC)
			if err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(dir, "main")
			if out, err := exec.Command(cc, "-std=c11", "-I", res.Dir, "-o", exe, filepath.Join(dir, "main.c"), res.Files[backend.EmitObj], "-lm").CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cc, err, out)
			}
			argv, err := spec.RunArgs(exe)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(argv[0], append(argv[1:], res.Files["weights"])...).Output()
			if err != nil {
				t.Fatal(err)
			}
			// Relu(x + b) * s for x = -3..4, b = [1,-2,0.5,3], s = 1..8.
			const want = "2 1 1 2 2 2 0 0 0 0 0 12 10 0 24.5 56"
			if got := strings.TrimSpace(string(out)); got != want {
				t.Fatalf("codes and outputs = %q, want %q", got, want)
			}
		})
	}
}

// TestWeightsFileRefused checks the errors of hosts given the wrong weights:
// the harness and wasmrt report the size set_weights refused, wasmrt
// refuses a file-mode model without weights and an embed-mode model with
// them, and the harness refuses a weights file for an embed-mode model.
func TestWeightsFileRefused(t *testing.T) {
	g := weightsGraph(t)
	ctx := context.Background()
	t.Run("x86_64", func(t *testing.T) {
		spec, err := target.Load("x86_64")
		if err != nil {
			t.Fatal(err)
		}
		needTarget(t, spec)
		dir := t.TempDir()
		emit := []string{backend.EmitObj, backend.EmitHeader}
		res, err := backend.Compile(ctx, g, spec, backend.Options{OutDir: filepath.Join(dir, "file"), Emit: emit, Weights: backend.WeightsFile})
		if err != nil {
			t.Fatal(err)
		}
		blob, err := os.ReadFile(res.Files["weights"])
		if err != nil {
			t.Fatal(err)
		}
		short := filepath.Join(dir, "short.bin")
		if err := os.WriteFile(short, blob[:len(blob)-4], 0o644); err != nil {
			t.Fatal(err)
		}
		exe, runner := buildHarness(t, spec, res, short)
		x := ir.NewTensor(ir.Float32, []int64{2, 4})
		_, err = harness.Run(ctx, runner, exe, []*ir.Tensor{x}, res.Manifest.Outputs)
		wantMsg := "effc_model_set_weights refused " + short + ": it has " + strconv.Itoa(len(blob)-4) + " bytes, the model wants " + strconv.Itoa(len(blob))
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("harness with a short weights file: %v, want %q", err, wantMsg)
		}
		embed, err := backend.Compile(ctx, g, spec, backend.Options{OutDir: filepath.Join(dir, "embed"), Emit: emit})
		if err != nil {
			t.Fatal(err)
		}
		_, err = harness.Build(ctx, harness.Options{Dir: t.TempDir(), Lib: embed.Files[backend.EmitObj], Header: embed.Files[backend.EmitHeader], Weights: short})
		if err == nil || !strings.Contains(err.Error(), "embeds its weights") {
			t.Errorf("harness.Build with weights for an embed-mode model: %v, want 'embeds its weights'", err)
		}
	})
	t.Run("wasm32", func(t *testing.T) {
		spec, err := target.Load("wasm32")
		if err != nil {
			t.Fatal(err)
		}
		needTarget(t, spec)
		dir := t.TempDir()
		emit := []string{backend.EmitWasm}
		res, err := backend.Compile(ctx, g, spec, backend.Options{OutDir: filepath.Join(dir, "file"), Emit: emit, Weights: backend.WeightsFile})
		if err != nil {
			t.Fatal(err)
		}
		wasm, err := os.ReadFile(res.Files[backend.EmitWasm])
		if err != nil {
			t.Fatal(err)
		}
		blob, err := os.ReadFile(res.Files["weights"])
		if err != nil {
			t.Fatal(err)
		}
		_, err = wasmrt.Load(ctx, wasm, "model", wasmrt.WithWeights(append(blob, 0)))
		wantMsg := "effc_model_set_weights refused the weights: they are " + strconv.Itoa(len(blob)+1) + " bytes, the model wants " + strconv.Itoa(len(blob))
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("wasmrt with a long weights file: %v, want %q", err, wantMsg)
		}
		if _, err = wasmrt.Load(ctx, wasm, "model"); err == nil || !strings.Contains(err.Error(), "compiled with --weights file") {
			t.Errorf("wasmrt without weights: %v, want 'compiled with --weights file'", err)
		}
		m, err := wasmrt.Load(ctx, wasm, "model", wasmrt.WithWeights(blob))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		out, err := m.Run(ctx, [][]byte{wasmrt.Float32Bytes([]float32{-3, -2, -1, 0, 1, 2, 3, 4})}, []int{32})
		if err != nil {
			t.Fatal(err)
		}
		if y, _ := wasmrt.BytesFloat32(out[0]); !reflect.DeepEqual(y, []float32{0, 0, 0, 12, 10, 0, 24.5, 56}) {
			t.Errorf("y = %v, want Relu(x + b) * s = [0 0 0 12 10 0 24.5 56]", y)
		}
		embed, err := backend.Compile(ctx, g, spec, backend.Options{OutDir: filepath.Join(dir, "embed"), Emit: emit})
		if err != nil {
			t.Fatal(err)
		}
		ew, err := os.ReadFile(embed.Files[backend.EmitWasm])
		if err != nil {
			t.Fatal(err)
		}
		if _, err = wasmrt.Load(ctx, ew, "model", wasmrt.WithWeights(blob)); err == nil || !strings.Contains(err.Error(), "embeds its weights") {
			t.Errorf("wasmrt with weights for an embed-mode model: %v, want 'embeds its weights'", err)
		}
	})
}
