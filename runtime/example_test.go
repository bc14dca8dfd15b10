package runtime

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/runtime/internal/fixture"
)

// exampleWant is what example.c and example.mjs print for the fixture model:
// x ramp (k-3)/2 -> relu+1, b ramp k -> 2k.
const exampleWant = "y f32 (6 elements): 1 1 1 1 1.5 2\nc i32 (3 elements): 0 2 4\n"

// TestExampleC builds example/example.c with the documented command lines
// against the fixture model (as libmodel.a) and runs it natively and under
// qemu-aarch64.
func TestExampleC(t *testing.T) {
	src, err := os.ReadFile("example/example.c")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, cc, ar string
		runner         []string
	}{
		{"x86_64", "cc", "ar", nil},
		{"arm64", "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ar", []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"}},
	} {
		t.Run(c.target, func(t *testing.T) {
			lookTool(t, "llc-14")
			lookTool(t, c.cc)
			lookTool(t, c.ar)
			dir := t.TempDir()
			obj, err := fixture.Object(context.Background(), dir, "model", c.target)
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "model.h"), Header("model", fixtureIns, fixtureOuts, fixture.ArenaSize))
			write(t, filepath.Join(dir, "example.c"), src)
			run(t, dir, c.ar, "rcs", "libmodel.a", obj)
			run(t, dir, c.cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", "example", "example.c", "libmodel.a", "-lm")
			cmd := []string{"./example"}
			if c.runner != nil {
				lookTool(t, c.runner[0])
				cmd = append(append([]string{}, c.runner...), "./example")
			}
			if got := string(run(t, dir, cmd[0], cmd[1:]...)); got != exampleWant {
				t.Errorf("example printed\n%s\nwant\n%s", got, exampleWant)
			}
		})
	}
}

// TestExampleJS runs example/example.mjs with node against the fixture's
// model.wasm through the generated model.mjs, and checks the loader's error
// for a wrong-size input.
func TestExampleJS(t *testing.T) {
	node := lookTool(t, "node")
	lookTool(t, "llc-14")
	lookTool(t, "wasm-ld-14")
	dir := t.TempDir()
	wasm, err := fixture.Wasm(context.Background(), dir, "model")
	if err != nil {
		t.Fatal(err)
	}
	loader, err := JSLoader("model", fixtureIns, fixtureOuts)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example/example.mjs")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "model.wasm"), wasm)
	write(t, filepath.Join(dir, "model.mjs"), loader)
	write(t, filepath.Join(dir, "example.mjs"), src)
	if got := string(run(t, dir, node, "example.mjs")); got != exampleWant {
		t.Errorf("example.mjs printed\n%s\nwant\n%s", got, exampleWant)
	}
	// load() from bytes, a wrong-size input, and a misnamed module.
	check := `import { load } from "./model.mjs";
import { readFile } from "node:fs/promises";
const m = await load(await readFile("model.wasm"));
const out = m.run([new Float32Array([-1, 2, -3, 4, -5, 6]), new Int32Array([5, 6, 7])]);
console.log(Array.from(out[0]).join(","), Array.from(out[1]).join(","), m.arenaSize);
try { m.run([new Float32Array(5), new Int32Array(3)]); } catch (e) { console.log(e.message); }
try { m.run([new Float32Array(6)]); } catch (e) { console.log(e.message); }
`
	write(t, filepath.Join(dir, "check.mjs"), []byte(check))
	got := string(run(t, dir, node, "check.mjs"))
	for _, want := range []string{
		"1,3,1,5,1,7 10,12,14 64\n",
		`input 0 ("x") must be a typed array of 24 bytes (f32[2,3]), got 20 bytes`,
		"run() wants an array of 2 typed arrays (x, b)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check.mjs printed\n%s\nwant it to contain %q", got, want)
		}
	}
	other, err := JSLoader("other", fixtureIns, fixtureOuts)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "other.mjs"), other)
	write(t, filepath.Join(dir, "misnamed.mjs"), []byte(`import { load } from "./other.mjs";
try { await load(new URL("./model.wasm", import.meta.url)); } catch (e) { console.log(e.message); }
`))
	if got := string(run(t, dir, node, "misnamed.mjs")); !strings.Contains(got, "does not export effc_other_run") {
		t.Errorf("misnamed load printed %q, want a missing-export message", got)
	}
}

// TestGlueSize measures the host-side runtime glue a program links besides
// the model: example.c compiled with -Os for x86_64 and arm64 (code plus
// read-only data), and the JS loader for wasm32. The model object itself
// needs no runtime library: the ABI is the two functions the backend emits.
// Issue 3 aims for under 8 KiB per target.
func TestGlueSize(t *testing.T) {
	const limit = 8 << 10
	for target, cc := range map[string]string{"x86_64": "cc", "arm64": "aarch64-linux-gnu-gcc"} {
		t.Run(target, func(t *testing.T) {
			lookTool(t, cc)
			dir := t.TempDir()
			src, err := os.ReadFile("example/example.c")
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "example.c"), src)
			write(t, filepath.Join(dir, "model.h"), Header("model", fixtureIns, fixtureOuts, fixture.ArenaSize))
			run(t, dir, cc, "-std=c11", "-Os", "-c", "example.c", "-o", "example.o")
			f, err := elf.Open(filepath.Join(dir, "example.o"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var code, rodata uint64
			for _, s := range f.Sections {
				switch {
				case s.Flags&elf.SHF_EXECINSTR != 0:
					code += s.Size
				case s.Flags&elf.SHF_ALLOC != 0 && s.Flags&elf.SHF_WRITE == 0 && s.Type == elf.SHT_PROGBITS && !strings.HasPrefix(s.Name, ".eh_frame"):
					rodata += s.Size
				}
			}
			t.Logf("%s: example.c glue = %d bytes code + %d bytes read-only data", target, code, rodata)
			if code+rodata > limit {
				t.Errorf("%s glue is %d bytes, over the %d-byte aim", target, code+rodata, limit)
			}
		})
	}
	js, err := JSLoader("model", fixtureIns, fixtureOuts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wasm32: model.mjs loader = %d bytes of source", len(js))
	if len(js) > limit {
		t.Errorf("model.mjs is %d bytes, over the %d-byte aim", len(js), limit)
	}
}
