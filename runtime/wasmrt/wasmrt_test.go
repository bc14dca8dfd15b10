package wasmrt

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/effc/effc/runtime/internal/fixture"
)

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"llc-14", "wasm-ld-14"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		t.Skip("wasi-libc not installed")
	}
}

func int32Bytes(v ...int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// TestRunFixture runs the ABI fixture model.wasm and checks its outputs
// exactly, twice (memory is reused) and from several goroutines.
func TestRunFixture(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	wasm, err := fixture.Wasm(ctx, t.TempDir(), "relu1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(ctx, wasm, "relu1", WithSignature([]int{24, 12}, []int{24, 12}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if m.ArenaSize() != fixture.ArenaSize {
		t.Errorf("ArenaSize = %d, want %d", m.ArenaSize(), fixture.ArenaSize)
	}
	x := Float32Bytes([]float32{-2, -0.5, 0, 0.25, 3, float32(math.Inf(1))})
	b := int32Bytes(1, -7, 1<<29)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 2; r++ {
				outs, err := m.Run(ctx, [][]byte{x, b}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				y, err := BytesFloat32(outs[0])
				if err != nil {
					t.Error(err)
					return
				}
				if want := []float32{1, 1, 1, 1.25, 4, float32(math.Inf(1))}; !reflect.DeepEqual(y, want) {
					t.Errorf("y = %v, want %v", y, want)
				}
				if want := int32Bytes(2, -14, 1<<30); !reflect.DeepEqual(outs[1], want) {
					t.Errorf("c = %v, want %v", outs[1], want)
				}
			}
		}()
	}
	wg.Wait()

	// Wrong sizes and counts are refused before the model runs.
	for _, c := range []struct {
		ins  [][]byte
		outs []int
		want string
	}{
		{[][]byte{x}, nil, "got 1 inputs, the model takes 2"},
		{[][]byte{x, b[:8]}, nil, "input 1 is 8 bytes, want 12"},
		{[][]byte{x, b}, []int{24}, "differ from the signature"},
	} {
		if _, err := m.Run(ctx, c.ins, c.outs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run: %v, want %q", err, c.want)
		}
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(ctx, [][]byte{x, b}, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run after Close: %v", err)
	}

	// Without a signature the caller gives output sizes.
	m2, err := Load(ctx, wasm, "relu1")
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close(ctx)
	outs, err := m2.Run(ctx, [][]byte{x, b}, []int{24, 12})
	if err != nil || len(outs[0]) != 24 || !reflect.DeepEqual(outs[1], int32Bytes(2, -14, 1<<30)) {
		t.Errorf("Run without signature: %v %v", outs, err)
	}
}

// TestLoadErrors checks the messages for a wrong name, missing exports, a
// non-wasm file, and a model returning non-zero.
func TestLoadErrors(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	dir := t.TempDir()
	wasm, err := fixture.Wasm(ctx, dir, "relu1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, wasm, "model"); err == nil || !strings.Contains(err.Error(), `no export "effc_model_arena_size"`) || !strings.Contains(err.Error(), "effc_relu1_run") {
		t.Errorf("wrong name: %v, want the missing export and the list of exports", err)
	}
	if _, err := Load(ctx, wasm, "a-b"); err == nil || !strings.Contains(err.Error(), "letters, digits") {
		t.Errorf("invalid name: %v", err)
	}
	if _, err := Load(ctx, []byte("not wasm"), "relu1"); err == nil || !strings.Contains(err.Error(), "not a valid WebAssembly module") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := Load(ctx, wasm, "relu1", WithSignature([]int{-1}, nil)); err == nil {
		t.Error("negative signature size accepted")
	}
	// Linked without --export=__heap_base.
	obj := filepath.Join(dir, "relu1-wasm32.o")
	noHB := filepath.Join(dir, "nohb.wasm")
	if out, err := exec.Command("wasm-ld-14", "--no-entry", "--export=effc_relu1_run", "--export=effc_relu1_arena_size",
		obj, "/usr/lib/wasm32-wasi/libc.a", "-o", noHB).CombinedOutput(); err != nil {
		t.Fatalf("wasm-ld: %v %s", err, out)
	}
	b, err := os.ReadFile(noHB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, b, "relu1"); err == nil || !strings.Contains(err.Error(), "__heap_base") {
		t.Errorf("no __heap_base: %v", err)
	}

	// A model with a 1 MiB arena (memory must grow) whose run returns the
	// arena's last byte, which it first sets to 7: Run must report 7.
	ll := `define i32 @effc_big_arena_size() {
  ret i32 1048576
}
define i32 @effc_big_run(i8* %a, i8** %i, i8** %o) {
  %last = getelementptr i8, i8* %a, i32 1048575
  store i8 7, i8* %last
  %v = load i8, i8* %last
  %r = zext i8 %v to i32
  ret i32 %r
}
define i32 @effc_wrong_arena_size(i32 %x) {
  ret i32 0
}
define i32 @effc_wrong_run(i8* %a, i8** %i, i8** %o) {
  ret i32 0
}
`
	big := buildLL(t, dir, "big", ll, "effc_big_run", "effc_big_arena_size", "effc_wrong_run", "effc_wrong_arena_size")
	m, err := Load(ctx, big, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if _, err := m.Run(ctx, nil, []int{4}); err == nil || !strings.Contains(err.Error(), "effc_big_run returned 7") {
		t.Errorf("non-zero run: %v, want 'returned 7'", err)
	}
	if _, err := Load(ctx, big, "wrong"); err == nil || !strings.Contains(err.Error(), "signature (i32) -> (i32), want () -> (i32)") {
		t.Errorf("bad signature: %v", err)
	}
}

// TestLoadRefusesImports checks that a module needing a host function other
// than WASI is refused with the import's name.
func TestLoadRefusesImports(t *testing.T) {
	needTools(t)
	ll := `declare void @host_log(i32)
define i32 @effc_imp_arena_size() {
  ret i32 0
}
define i32 @effc_imp_run(i8* %a, i8** %i, i8** %o) {
  call void @host_log(i32 1)
  ret i32 0
}
`
	wasm := buildLL(t, t.TempDir(), "imp", ll, "--allow-undefined", "effc_imp_run", "effc_imp_arena_size")
	if _, err := Load(context.Background(), wasm, "imp"); err == nil || !strings.Contains(err.Error(), "imports env.host_log") {
		t.Errorf("Load: %v, want a refusal naming env.host_log", err)
	}
}

func buildLL(t *testing.T, dir, name, ll string, exports ...string) []byte {
	t.Helper()
	src := filepath.Join(dir, name+".ll")
	if err := os.WriteFile(src, []byte(ll), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, name+".o")
	if out, err := exec.Command("llc-14", "-mtriple=wasm32-unknown-unknown", "-filetype=obj", src, "-o", obj).CombinedOutput(); err != nil {
		t.Fatalf("llc: %v %s", err, out)
	}
	args := []string{"--no-entry", "--export=__heap_base", obj, "-o", filepath.Join(dir, name+".wasm")}
	for _, e := range exports {
		if strings.HasPrefix(e, "--") {
			args = append(args, e) // a linker flag
		} else {
			args = append(args, "--export="+e)
		}
	}
	if out, err := exec.Command("wasm-ld-14", args...).CombinedOutput(); err != nil {
		t.Fatalf("wasm-ld: %v %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInterrupt checks that WithInterrupt makes a run with a cancelled
// context fail instead of running to completion.
func TestInterrupt(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	wasm, err := fixture.Wasm(ctx, t.TempDir(), "relu1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(ctx, wasm, "relu1", WithInterrupt(), WithSignature([]int{24, 12}, []int{24, 12}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Run(cancelled, [][]byte{make([]byte, 24), make([]byte, 12)}, nil); err == nil {
		t.Fatal("Run with a cancelled context and WithInterrupt succeeded, want an error")
	}
}
