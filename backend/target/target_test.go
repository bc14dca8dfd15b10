package target

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/effc/effc/backend/toolchain"
)

// TestBuiltinTargets loads every embedded target and checks the promises
// the backend relies on.
func TestBuiltinTargets(t *testing.T) {
	names := List()
	for _, want := range []string{"x86_64", "arm64", "wasm32"} {
		if !slices.Contains(names, want) {
			t.Errorf("List() = %v, missing %s", names, want)
		}
	}
	for _, name := range names {
		s, err := Load(name)
		if err != nil {
			t.Errorf("Load(%q): %v", name, err)
			continue
		}
		if s.Name != name {
			t.Errorf("Load(%q).Name = %q", name, s.Name)
		}
		args := strings.Join(s.LLCArgs(), " ")
		if !strings.Contains(args, "-mtriple="+s.Triple) || !strings.Contains(args, "-mcpu="+s.CPU) || !strings.Contains(args, "-O3") {
			t.Errorf("%s: LLCArgs() = %q", name, args)
		}
	}
	x, err := Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if x.Triple != "x86_64-pc-linux-gnu" || x.CPU != "x86-64-v3" || x.VectorBits != 256 || !x.HasFMA || x.Int8Dot != DotNone {
		t.Errorf("x86_64 = %+v", x)
	}
	a, err := Load("arm64")
	if err != nil {
		t.Fatal(err)
	}
	if a.Triple != "aarch64-linux-gnu" || a.VectorBits != 128 || a.Int8Dot != DotDotprod || !slices.Contains(a.Features, "+dotprod") {
		t.Errorf("arm64 = %+v", a)
	}
	argv, err := a.RunArgs("/tmp/x")
	if err != nil || strings.Join(argv, " ") != "qemu-aarch64 -L /usr/aarch64-linux-gnu /tmp/x" {
		t.Errorf("arm64 RunArgs = %q, %v", argv, err)
	}
	w, err := Load("wasm32")
	if err != nil {
		t.Fatal(err)
	}
	if w.ObjectFormat != FormatWasm || !w.InProcess() || !slices.Contains(w.Features, "+simd128") || w.Link.Linker != "wasm-ld" {
		t.Errorf("wasm32 = %+v", w)
	}
	if _, err := w.RunArgs("m.wasm"); err == nil {
		t.Error("wasm32 RunArgs succeeded; wasm runs in-process")
	}
	if argv, err := x.RunArgs("/tmp/x"); err != nil || len(argv) != 1 || argv[0] != "/tmp/x" {
		t.Errorf("x86_64 RunArgs = %q, %v", argv, err)
	}
}

// TestBuiltinInheritance checks that x86_64-avx512 is x86_64 with its own
// overrides.
func TestBuiltinInheritance(t *testing.T) {
	base, err := Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("x86_64-avx512")
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != "icelake-server" || s.VectorBits != 512 || s.Int8Dot != DotVNNI {
		t.Errorf("x86_64-avx512 overrides lost: %+v", s)
	}
	if s.Triple != base.Triple || s.Link.CC != base.Link.CC || len(s.CPUs) != len(base.CPUs) || !s.HasFMA {
		t.Errorf("x86_64-avx512 did not inherit from x86_64: %+v", s)
	}
	if !slices.Equal(s.Inherits, []string{"x86_64"}) {
		t.Errorf("Inherits = %v", s.Inherits)
	}
}

// testFS is a synthetic target directory for inheritance edge cases.
var testFS = fstest.MapFS{
	"targets/base.json": {Data: []byte(`{"triple": "t-base", "cpu": "c0", "features": ["+a"], "vector_bits": 128,
		"int8_dot": "none", "object_format": "elf", "link": {"cc": "cc", "ar": "ar"}, "runner": "{}",
		"other_cpus": {"vector_bits": 128, "int8_dot": "none", "features": []},
		"cpus": {"c1": {"vector_bits": 128, "int8_dot": "none", "features": []}, "c2": {"vector_bits": 256, "int8_dot": "none", "features": []}}}`)},
	"targets/mid.json": {Data: []byte(`{"inherits": ["base"], "cpu": "c1", "vector_bits": 256,
		"cpus": {"c2": {"vector_bits": 512, "int8_dot": "vnni", "features": []}, "c3": {"vector_bits": 128, "int8_dot": "none", "features": []}}}`)},
	"targets/leaf.json":    {Data: []byte(`{"inherits": ["mid"], "features": ["+b"], "has_fma": true}`)},
	"targets/two.json":     {Data: []byte(`{"inherits": ["base", "other"]}`)},
	"targets/other.json":   {Data: []byte(`{"inherits": ["base"], "triple": "t-other", "runner": "emu {}"}`)},
	"targets/cycle1.json":  {Data: []byte(`{"inherits": ["cycle2"]}`)},
	"targets/cycle2.json":  {Data: []byte(`{"inherits": ["cycle1"]}`)},
	"targets/orphan.json":  {Data: []byte(`{"inherits": ["nowhere"]}`)},
	"targets/typo.json":    {Data: []byte(`{"inherits": ["base"], "vector_bit": 256}`)},
	"targets/badbits.json": {Data: []byte(`{"inherits": ["base"], "vector_bits": 100}`)},
	"targets/baddot.json":  {Data: []byte(`{"inherits": ["base"], "int8_dot": "sdot"}`)},
	"targets/norun.json":   {Data: []byte(`{"inherits": ["base"], "runner": "qemu"}`)},
	"targets/notjson.json": {Data: []byte(`[1, 2`)},
}

// TestInheritance covers multi-level and multiple inheritance and the
// per-entry merge of the cpus table.
func TestInheritance(t *testing.T) {
	leaf, err := loadFS(testFS, "leaf")
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Triple != "t-base" || leaf.CPU != "c1" || leaf.VectorBits != 256 || !leaf.HasFMA || !slices.Equal(leaf.Features, []string{"+b"}) {
		t.Errorf("leaf = %+v", leaf)
	}
	if len(leaf.CPUs) != 3 || leaf.CPUs["c1"].VectorBits != 128 || leaf.CPUs["c2"].VectorBits != 512 || leaf.CPUs["c2"].Int8Dot != DotVNNI {
		t.Errorf("leaf cpus not merged entry by entry: %+v", leaf.CPUs)
	}
	two, err := loadFS(testFS, "two")
	if err != nil {
		t.Fatal(err)
	}
	if two.Triple != "t-other" || two.Runner != "emu {}" || two.CPU != "c0" {
		t.Errorf("two (later parent wins) = %+v", two)
	}
	base, err := loadFS(testFS, "base")
	if err != nil {
		t.Fatal(err)
	}
	if base.VectorBits != 128 || len(base.CPUs) != 2 {
		t.Errorf("loading children changed base: %+v", base)
	}
}

// TestLoadErrors checks that every broken target file gets an error naming
// the problem.
func TestLoadErrors(t *testing.T) {
	for name, want := range map[string]string{
		"cycle1":  "inheritance cycle cycle1 -> cycle2 -> cycle1",
		"orphan":  `inherits "nowhere", which does not exist`,
		"typo":    `unknown field "vector_bit"`,
		"badbits": "multiple of 128",
		"baddot":  `"int8_dot" is "sdot"`,
		"norun":   "has no {}",
		"notjson": "not a JSON object",
		"missing": "valid targets: badbits, baddot, base",
	} {
		_, err := loadFS(testFS, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("loadFS(%q) error = %v, want it to contain %q", name, err, want)
		}
	}
	_, err := Load("x86-64")
	if err == nil || !strings.Contains(err.Error(), "arm64, wasm32, x86_64") {
		t.Errorf("Load(x86-64) error = %v, want the list of targets", err)
	}
}

// TestWithCPU checks named CPUs against the CPU table and llc's list.
func TestWithCPU(t *testing.T) {
	x, err := Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	icl, err := x.WithCPU("icelake-server")
	if err != nil {
		t.Fatal(err)
	}
	if icl.CPU != "icelake-server" || icl.VectorBits != 512 || icl.Int8Dot != DotVNNI || !icl.HasFMA {
		t.Errorf("icelake-server = %+v", icl)
	}
	if x.CPU != "x86-64-v3" || x.VectorBits != 256 {
		t.Errorf("WithCPU changed its receiver: %+v", x)
	}
	// A CPU llc knows but the table does not: the conservative baseline.
	old, err := x.WithCPU("core2")
	if err != nil {
		t.Fatal(err)
	}
	if old.VectorBits != 128 || old.HasFMA || len(old.Features) != 0 {
		t.Errorf("core2 = %+v, want the x86-64 baseline", old)
	}
	_, err = x.WithCPU("skylake-avx")
	if err == nil || !strings.Contains(err.Error(), "skylake-avx512") || !strings.Contains(err.Error(), "effc targets --cpus x86_64") {
		t.Errorf("WithCPU(skylake-avx) error = %v, want close matches", err)
	}
	a, err := Load("arm64")
	if err != nil {
		t.Fatal(err)
	}
	a76, err := a.WithCPU("cortex-a76")
	if err != nil {
		t.Fatal(err)
	}
	if a76.Int8Dot != DotDotprod || strings.Contains(strings.Join(a76.LLCArgs(), " "), "-mattr") {
		t.Errorf("cortex-a76 = %+v, LLCArgs %q", a76, a76.LLCArgs())
	}
	if _, err := a.WithCPU("icelake-server"); err == nil {
		t.Error("arm64 accepted an x86 CPU")
	}
	w, err := Load("wasm32")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WithCPU("native"); err == nil || !strings.Contains(err.Error(), "no native CPU") {
		t.Errorf("wasm32 --cpu native error = %v", err)
	}
	if same, err := a.WithCPU("generic"); err != nil || same.Int8Dot != DotDotprod {
		t.Errorf("WithCPU(own CPU) = %+v, %v; want the spec unchanged", same, err)
	}
}

// TestCPUTable checks every entry of every CPU table against llc: the CPU
// exists, it really has the vector width, FMA and int8 dot product the
// table claims, and its features are accepted.
func TestCPUTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs llc about fifty times")
	}
	dir := t.TempDir()
	for _, name := range []string{"x86_64", "arm64", "wasm32"} {
		s, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		cpus, err := CPUs(s.Triple)
		if err != nil {
			t.Fatal(err)
		}
		for cpu := range s.CPUs {
			if !slices.Contains(cpus, cpu) {
				t.Errorf("%s: cpus table has %q, which llc does not know", name, cpu)
				continue
			}
			c, err := s.WithCPU(cpu)
			if err != nil {
				t.Errorf("%s: WithCPU(%q): %v", name, cpu, err)
				continue
			}
			checkCodegen(t, dir, c)
		}
		checkCodegen(t, dir, s)
	}
}

// checkCodegen compiles a vector FMA (and an int8 dot product where the spec
// claims one) for s and checks the instructions llc picks.
func checkCodegen(t *testing.T, dir string, s *Spec) {
	t.Helper()
	n := s.VectorBits / 32
	vt := fmt.Sprintf("<%d x float>", n)
	src := fmt.Sprintf(`declare %[1]s @llvm.fma.v%[2]df32(%[1]s, %[1]s, %[1]s)
define void @f(%[1]s* %%p) {
  %%a = load %[1]s, %[1]s* %%p
  %%b = call %[1]s @llvm.fma.v%[2]df32(%[1]s %%a, %[1]s %%a, %[1]s %%a)
  store %[1]s %%b, %[1]s* %%p
  ret void
}
`, vt, n)
	if !s.HasFMA {
		// No fused multiply-add: kernels multiply and add.
		src = fmt.Sprintf(`define void @f(%[1]s* %%p) {
  %%a = load %[1]s, %[1]s* %%p
  %%m = fmul %[1]s %%a, %%a
  %%b = fadd %[1]s %%m, %%a
  store %[1]s %%b, %[1]s* %%p
  ret void
}
`, vt)
	}
	switch s.Int8Dot {
	case DotVNNI:
		if s.VectorBits == 512 {
			src += "declare <16 x i32> @llvm.x86.avx512.vpdpbusd.512(<16 x i32>, <16 x i32>, <16 x i32>)\n" +
				"define <16 x i32> @dot(<16 x i32> %a, <16 x i32> %b, <16 x i32> %c) {\n" +
				"  %r = call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(<16 x i32> %a, <16 x i32> %b, <16 x i32> %c)\n  ret <16 x i32> %r\n}\n"
		} else {
			src += "declare <8 x i32> @llvm.x86.avx512.vpdpbusd.256(<8 x i32>, <8 x i32>, <8 x i32>)\n" +
				"define <8 x i32> @dot(<8 x i32> %a, <8 x i32> %b, <8 x i32> %c) {\n" +
				"  %r = call <8 x i32> @llvm.x86.avx512.vpdpbusd.256(<8 x i32> %a, <8 x i32> %b, <8 x i32> %c)\n  ret <8 x i32> %r\n}\n"
		}
	case DotDotprod:
		src += "declare <4 x i32> @llvm.aarch64.neon.sdot.v4i32.v16i8(<4 x i32>, <16 x i8>, <16 x i8>)\n" +
			"define <4 x i32> @dot(<4 x i32> %a, <16 x i8> %b, <16 x i8> %c) {\n" +
			"  %r = call <4 x i32> @llvm.aarch64.neon.sdot.v4i32.v16i8(<4 x i32> %a, <16 x i8> %b, <16 x i8> %c)\n  ret <4 x i32> %r\n}\n"
	}
	ll := filepath.Join(dir, s.Name+"-"+s.CPU+".ll")
	if err := os.WriteFile(ll, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := toolchain.Run(context.Background(), dir, "llc", append(s.LLCArgs(), "-o", "-", ll)...)
	if err != nil {
		t.Errorf("%s --cpu %s: %v", s.Name, s.CPU, err)
		return
	}
	asm := string(out)
	var fma, dot string
	switch {
	case strings.HasPrefix(s.Triple, "x86_64"):
		reg := map[int]string{128: "xmm", 256: "ymm", 512: "zmm"}[s.VectorBits]
		fma = `vfmadd\w+\s+%` + reg
		if !s.HasFMA {
			fma = `mulps\s+%` + reg
		}
		if s.Int8Dot == DotVNNI {
			dot = `vpdpbusd`
		}
	case strings.HasPrefix(s.Triple, "aarch64"):
		fma = `fmla\s+v\d+\.4s`
		if s.Int8Dot == DotDotprod {
			dot = `sdot\s+v\d+\.4s`
		}
	default:
		fma = `f32x4\.mul`
	}
	if !regexp.MustCompile(fma).MatchString(asm) {
		t.Errorf("%s --cpu %s: claims %d-bit vectors with FMA=%v but the assembly has no %s", s.Name, s.CPU, s.VectorBits, s.HasFMA, fma)
	}
	if dot != "" && !regexp.MustCompile(dot).MatchString(asm) {
		t.Errorf("%s --cpu %s: claims int8 dot %s but the assembly has no %s", s.Name, s.CPU, s.Int8Dot, dot)
	}
}

// TestNative resolves --cpu native on the test machine and checks that the
// result agrees with /proc/cpuinfo and compiles.
func TestNative(t *testing.T) {
	name := map[string]string{"x86_64": "x86_64", "aarch64": "arm64"}[hostArch()]
	if name == "" {
		t.Skipf("no target runs natively on %s", hostArch())
	}
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.WithCPU("native")
	if err != nil {
		t.Fatal(err)
	}
	if n.CPU == "native" || n.VectorBits < 128 {
		t.Errorf("native = %+v", n)
	}
	flags, err := cpuinfoFlags("/proc/cpuinfo")
	if err == nil && hostArch() == "x86_64" {
		if flags["avx512f"] && flags["avx512vl"] && flags["avx512bw"] && n.VectorBits != 512 {
			t.Errorf("cpuinfo has AVX-512 but native has %d-bit vectors", n.VectorBits)
		}
		if flags["avx2"] && flags["fma"] && (n.VectorBits < 256 || !n.HasFMA) {
			t.Errorf("cpuinfo has AVX2+FMA but native = %+v", n)
		}
	}
	checkCodegen(t, t.TempDir(), n)
	other := map[string]string{"x86_64": "arm64", "aarch64": "x86_64"}[hostArch()]
	o, err := Load(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.WithCPU("native"); err == nil || !strings.Contains(err.Error(), "name a CPU instead") {
		t.Errorf("%s --cpu native on %s: err = %v", other, hostArch(), err)
	}
}

// TestFromFlags checks the cpuinfo flag mapping on recorded flag sets.
func TestFromFlags(t *testing.T) {
	x, err := Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	set := func(s string) map[string]bool { return parseCPUInfo("processor : 0\nflags : " + s + "\n") }
	cases := []struct {
		flags string
		cpu   string
		bits  int
		dot   string
	}{
		{"fpu sse sse2", "x86-64", 128, DotNone},
		{"sse2 ssse3 sse4_1 sse4_2 popcnt", "x86-64-v2", 128, DotNone},
		{"sse4_2 popcnt ssse3 avx avx2 fma bmi1 bmi2 f16c movbe avx_vnni", "x86-64-v3", 256, DotVNNI},
		{"avx2 fma bmi1 bmi2 f16c movbe avx512f avx512bw avx512cd avx512dq avx512vl avx512_vnni", "x86-64-v4", 512, DotVNNI},
		{"avx2 fma bmi1 bmi2 f16c movbe avx512f avx512bw avx512cd avx512dq avx512vl", "x86-64-v4", 512, DotNone},
	}
	for _, c := range cases {
		s := x.fromFlags(set(c.flags))
		if s.CPU != c.cpu || s.VectorBits != c.bits || s.Int8Dot != c.dot {
			t.Errorf("flags %q: got cpu %s, %d bits, dot %s; want %s, %d, %s", c.flags, s.CPU, s.VectorBits, s.Int8Dot, c.cpu, c.bits, c.dot)
		}
	}
	a, err := Load("arm64")
	if err != nil {
		t.Fatal(err)
	}
	arm := a.fromFlags(parseCPUInfo("processor\t: 0\nFeatures\t: fp asimd evtstrm aes crc32 asimdhp asimddp\n"))
	if arm.Int8Dot != DotDotprod || !slices.Contains(arm.Features, "+dotprod") {
		t.Errorf("arm64 with asimddp = %+v", arm)
	}
	if h := parseHostCPU("LLVM\n  Host CPU: znver3\n"); h != "znver3" {
		t.Errorf("parseHostCPU = %q", h)
	}
	if h := parseHostCPU("  Host CPU: (unknown)\n"); h != "" {
		t.Errorf("parseHostCPU(unknown) = %q", h)
	}
}
