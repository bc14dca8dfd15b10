package runtime

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// fixtureIO is the signature of runtime/internal/fixture's model.
var (
	fixtureIns  = []TensorInfo{{Name: "x", DType: ir.Float32, Shape: []int64{2, 3}}, {Name: "b", DType: ir.Int32, Shape: []int64{3}}}
	fixtureOuts = []TensorInfo{{Name: "y", DType: ir.Float32, Shape: []int64{2, 3}}, {Name: "c", DType: ir.Int32, Shape: []int64{3}}}
)

func TestPrefixAndValidName(t *testing.T) {
	for name, want := range map[string]string{"": "effc_model", "resnet18": "effc_resnet18", "a-b.c": "effc_a_b_c", "Net_2": "effc_Net_2"} {
		if got := Prefix(name); got != want {
			t.Errorf("Prefix(%q) = %q, want %q", name, got, want)
		}
	}
	for _, ok := range []string{"model", "Net_2", "_x"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a-b", "é", "a b"} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", bad)
		}
	}
}

// TestHeaderRoundTrip checks that ParseHeader recovers what Header wrote,
// including names that need escaping and rank-0 tensors.
func TestHeaderRoundTrip(t *testing.T) {
	ins := []TensorInfo{
		{Name: `we"ird\name?`, DType: ir.Float16, Shape: []int64{1, 3, 224, 224}},
		{Name: "scalar\n\x01é", DType: ir.Int64, Shape: []int64{}},
		{Name: "empty", DType: ir.Bool, Shape: []int64{0, 4}},
	}
	outs := []TensorInfo{{Name: "*/ out /* x", DType: ir.Float8E4M3FN, Shape: []int64{7}}}
	src := Header("net_1", ins, outs, 12345)
	h, err := ParseHeader(src)
	if err != nil {
		t.Fatalf("ParseHeader: %v\n%s", err, src)
	}
	want := &HeaderInfo{Name: "net_1", Prefix: "effc_net_1", Inputs: ins, Outputs: outs, ArenaSize: 12345}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("ParseHeader(Header(...)) =\n%+v\nwant\n%+v", h, want)
	}
	if _, err := ParseHeader([]byte("#define FOO 1\n")); err == nil || !strings.Contains(err.Error(), "not an effc model.h") {
		t.Errorf("ParseHeader(non-effc header) error = %v, want 'not an effc model.h'", err)
	}
	bad := bytes.Replace(src, []byte("EFFC_NET_1_INPUT_0_BYTES 301056"), []byte("EFFC_NET_1_INPUT_0_BYTES 3"), 1)
	if bytes.Equal(bad, src) {
		t.Fatal("test setup: BYTES line not found")
	}
	if _, err := ParseHeader(bad); err == nil || !strings.Contains(err.Error(), "takes 301056 bytes") {
		t.Errorf("ParseHeader(edited BYTES) error = %v, want a size mismatch", err)
	}
}

// TestHeaderCompiles compiles a C file that includes two generated headers
// (two models in one program) with -Wall -Werror -pedantic, checking every
// macro's value with static assertions, and once more as C++.
func TestHeaderCompiles(t *testing.T) {
	cc := lookTool(t, "cc")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "relu1.h"), Header("relu1", fixtureIns, fixtureOuts, 64))
	write(t, filepath.Join(dir, "other.h"), Header("other", []TensorInfo{{Name: "s", DType: ir.Float64, Shape: []int64{}}}, nil, 0))
	src := `#include <string.h>
#include "relu1.h"
#include "other.h"
#include "relu1.h" /* the include guard makes this harmless */
_Static_assert(EFFC_RELU1_NUM_INPUTS == 2 && EFFC_RELU1_NUM_OUTPUTS == 2, "counts");
_Static_assert(EFFC_RELU1_ARENA_SIZE == 64 && EFFC_RELU1_ARENA_ALIGN == 64 && EFFC_RELU1_ARENA_SIZE_ROUNDED == 64, "arena");
_Static_assert(EFFC_RELU1_INPUT_0_NUMEL == 6 && EFFC_RELU1_INPUT_0_BYTES == 24 && EFFC_RELU1_INPUT_0_RANK == 2, "x");
_Static_assert(EFFC_RELU1_INPUT_1_BYTES == 12 && EFFC_RELU1_INPUT_1_DTYPE_ONNX == 6, "b");
_Static_assert(EFFC_RELU1_OUTPUT_INDEX_C == 1 && EFFC_RELU1_INPUT_INDEX_X == 0, "index macros");
_Static_assert(EFFC_RELU1_IO_POOL_SIZE == 4 * 64, "pool");
_Static_assert(EFFC_OTHER_NUM_OUTPUTS == 0 && EFFC_OTHER_INPUT_0_BYTES == 8 && EFFC_OTHER_ARENA_SIZE_ROUNDED == 64, "other");
static const long shape[] = EFFC_RELU1_INPUT_0_SHAPE;
static const size_t sizes[] = EFFC_RELU1_OUTPUT_BYTES_LIST;
static const char *const names[] = EFFC_RELU1_INPUT_NAMES_LIST;
static EFFC_RELU1_INPUT_0_CTYPE xbuf[EFFC_RELU1_INPUT_0_NUMEL];
static EFFC_RELU1_INPUT_1_CTYPE bbuf[EFFC_RELU1_INPUT_1_NUMEL];
static const char *const none[] = EFFC_OTHER_OUTPUT_NAMES_LIST;
size_t (*fa)(void) = effc_relu1_arena_size;
int (*fr)(void *, const void *const *, void *const *) = effc_relu1_run;
int (*fo)(void *, const void *const *, void *const *) = effc_other_run;
int check(void) {
  return shape[0] == 2 && shape[1] == 3 && sizes[0] == 24 && sizes[1] == 12 &&
         strcmp(names[1], "b") == 0 && strcmp(EFFC_RELU1_INPUT_0_DTYPE, "f32") == 0 &&
         strcmp(EFFC_RELU1_MODEL_NAME, "relu1") == 0 && sizeof xbuf == 24 && sizeof bbuf == 12 && none[0] == 0;
}
`
	write(t, filepath.Join(dir, "use.c"), []byte(src))
	run(t, dir, cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "use.c", "-o", "use.o")
	if cxx, err := exec.LookPath("g++"); err == nil {
		cpp := strings.ReplaceAll(src, "_Static_assert", "static_assert")
		write(t, filepath.Join(dir, "use.cc"), []byte(cpp))
		run(t, dir, cxx, "-std=c++11", "-Wall", "-Werror", "-c", "use.cc", "-o", "usecc.o")
		out, err := exec.Command("nm", filepath.Join(dir, "usecc.o")).CombinedOutput()
		if err != nil {
			t.Fatalf("nm: %v: %s", err, out)
		}
		if !bytes.Contains(out, []byte(" U effc_relu1_run\n")) {
			t.Errorf("C++ references are mangled; extern \"C\" missing? nm:\n%s", out)
		}
	}
}

// TestHeaderRefusesDynamicShapes checks that an unbindable tensor turns into
// an #error the C compiler reports, and that ParseHeader refuses it too.
func TestHeaderRefusesDynamicShapes(t *testing.T) {
	cc := lookTool(t, "cc")
	dir := t.TempDir()
	h := Header("dyn", []TensorInfo{{Name: "x", DType: ir.Float32, Shape: []int64{-1, 3}}}, nil, 0)
	write(t, filepath.Join(dir, "dyn.h"), h)
	write(t, filepath.Join(dir, "use.c"), []byte("#include \"dyn.h\"\nint x;\n"))
	cmd := exec.Command(cc, "-c", "use.c", "-o", "use.o")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("--shape or --batch")) {
		t.Errorf("cc on a header with a dynamic dim: err=%v, output %s; want an #error naming --shape", err, out)
	}
	if _, err := ParseHeader(h); err == nil || !strings.Contains(err.Error(), "not static") {
		t.Errorf("ParseHeader: %v, want the compiler's error", err)
	}
	if _, err := JSLoader("dyn", []TensorInfo{{Name: "s", DType: ir.String, Shape: []int64{1}}}, nil); err == nil {
		t.Error("JSLoader accepted a string tensor")
	}
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir, tool string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return out
}

func TestTensorInfoJSON(t *testing.T) {
	in := []TensorInfo{{Name: "x", DType: ir.Float16, Shape: []int64{1, 3}}, {Name: "s", DType: ir.Int64, Shape: []int64{}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"x","dtype":"f16","shape":[1,3]},{"name":"s","dtype":"i64","shape":[]}]`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out []TensorInfo
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`[{"name":"x","dtype":"float","shape":[1]}]`), &out); err == nil || !strings.Contains(err.Error(), "unknown dtype") {
		t.Errorf("bad dtype: %v", err)
	}
}

// FuzzParseHeader checks that ParseHeader never panics and that whatever it
// accepts survives a Header round trip.
func FuzzParseHeader(f *testing.F) {
	f.Add(Header("relu1", fixtureIns, fixtureOuts, 64))
	f.Add(Header("", nil, nil, 0))
	f.Add([]byte("#define EFFC_X_MODEL_NAME \"x\"\n#define EFFC_X_ARENA_SIZE 1\n#define EFFC_X_NUM_INPUTS 99999999\n"))
	f.Add([]byte("#define EFFC_X_MODEL_NAME \"\\"))
	f.Fuzz(func(t *testing.T, src []byte) {
		h, err := ParseHeader(src)
		if err != nil {
			return
		}
		again, err := ParseHeader(HeaderWithWeights(h.Name, h.Inputs, h.Outputs, h.ArenaSize, h.Weights))
		if err != nil {
			t.Fatalf("re-parse of a regenerated header: %v", err)
		}
		if !reflect.DeepEqual(again, h) {
			t.Fatalf("round trip changed %+v into %+v", h, again)
		}
	})
}
