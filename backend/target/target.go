// Package target describes the machines effc compiles for. Targets are data:
// one JSON file per target in targets/, embedded into the binary. A file may
// name parents in "inherits"; the child's fields replace its parents' (the
// "cpus" table merges entry by entry), as in TinyGo's target files.
//
// A Spec says everything the backend needs about a target: the LLVM triple,
// CPU and feature string for llc and opt, the vector width kernels should use,
// whether the target has FMA and an int8 dot product, how to link an
// artifact and how to run an executable built for it. docs/targets.md lists
// the targets.
package target

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/effc/effc/backend/toolchain"

	"github.com/effc/effc/internal/suggest"
)

//go:embed targets/*.json
var builtin embed.FS

// Int8 dot-product kinds of Spec.Int8Dot.
const (
	DotNone    = "none"    // no int8 dot product: widen and multiply
	DotVNNI    = "vnni"    // x86 VNNI: vpdpbusd (AVX512-VNNI or AVX-VNNI)
	DotDotprod = "dotprod" // Arm dot product: sdot/udot
)

// Object formats of Spec.ObjectFormat.
const (
	FormatELF  = "elf"
	FormatWasm = "wasm"
)

// Runners of Spec.Runner that are not command lines.
const (
	// RunnerDirect runs an executable as it is.
	RunnerDirect = "{}"
	// RunnerWazero runs a .wasm module in-process with runtime/wasmrt.
	RunnerWazero = "wazero {}"
)

// Spec is one compilation target after inheritance is resolved. Specs are
// values: WithCPU returns a new Spec and leaves the receiver alone.
type Spec struct {
	// Name is the target's name, the JSON file name without ".json".
	Name string `json:"-"`
	// Inherits names the parents whose fields this target starts from, in
	// order; later parents and then the target itself override earlier ones.
	Inherits []string `json:"inherits,omitempty"`
	// Description is one line for 'effc targets'.
	Description string `json:"description"`
	// Triple is the LLVM target triple (llc -mtriple).
	Triple string `json:"triple"`
	// CPU is the LLVM CPU name (llc -mcpu).
	CPU string `json:"cpu"`
	// Features are LLVM target features on top of the CPU's, such as
	// "+dotprod" (llc -mattr).
	Features []string `json:"features"`
	// VectorBits is the width of the SIMD registers kernels should use.
	VectorBits int `json:"vector_bits"`
	// HasFMA says whether a fused multiply-add is one instruction; without
	// it kernels use a multiply and an add (llvm.fma would become a libcall).
	HasFMA bool `json:"has_fma"`
	// Int8Dot is the int8 dot-product instruction family: DotNone, DotVNNI or
	// DotDotprod.
	Int8Dot string `json:"int8_dot"`
	// ObjectFormat is FormatELF or FormatWasm.
	ObjectFormat string `json:"object_format"`
	// DataLayout is an LLVM data layout string to put into modules; empty
	// lets llc use the triple's default.
	DataLayout string `json:"data_layout,omitempty"`
	// Link says how to link artifacts for this target.
	Link Link `json:"link"`
	// Runner is how to run an executable built for the target: a command
	// line in which "{}" stands for the executable's path. RunnerDirect runs
	// it as is, RunnerWazero means runtime/wasmrt runs it in-process.
	Runner string `json:"runner"`
	// NativeArch is the `uname -m` machine on which this target's code runs
	// natively, so that --cpu native can be resolved there; empty if none.
	NativeArch string `json:"native_arch,omitempty"`
	// OtherCPUs are the traits assumed for a CPU llc knows that is not in
	// CPUs: the architecture's baseline.
	OtherCPUs CPUInfo `json:"other_cpus"`
	// CPUs lists, for the CPUs effc knows well, what each brings.
	CPUs map[string]CPUInfo `json:"cpus,omitempty"`
}

// Link says how artifacts for a target are linked. ELF targets use a C
// compiler driver (CC) and an archiver (AR); wasm uses Linker directly.
// Tool names are those toolchain.Find accepts.
type Link struct {
	CC     string   `json:"cc,omitempty"`     // C compiler driver that links executables and shared libraries
	AR     string   `json:"ar,omitempty"`     // archiver for static libraries
	Linker string   `json:"linker,omitempty"` // a linker run directly (wasm-ld)
	Flags  []string `json:"flags,omitempty"`  // flags for the linker
	Libs   []string `json:"libs,omitempty"`   // libraries, last on the link line
}

// CPUInfo is what a CPU brings: the Spec fields that change with --cpu.
type CPUInfo struct {
	VectorBits int      `json:"vector_bits"`
	HasFMA     bool     `json:"has_fma"`
	Int8Dot    string   `json:"int8_dot"`
	Features   []string `json:"features"`
}

// List returns the names of the built-in targets, sorted.
func List() []string {
	names, err := listFS(builtin)
	if err != nil {
		// The embedded directory always exists; this cannot happen.
		return nil
	}
	return names
}

// Load returns the built-in target called name, with its parents merged in.
func Load(name string) (*Spec, error) {
	return loadFS(builtin, name)
}

// listFS lists the targets in fsys's targets/ directory.
func listFS(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, "targets")
	if err != nil {
		return nil, fmt.Errorf("target: reading target directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// loadFS loads target name from fsys and checks it.
func loadFS(fsys fs.FS, name string) (*Spec, error) {
	names, err := listFS(fsys)
	if err != nil {
		return nil, err
	}
	if !contains(names, name) {
		return nil, fmt.Errorf("unknown target %q; valid targets: %s (run 'effc targets' for details)", name, strings.Join(names, ", "))
	}
	raw, err := resolve(fsys, name, nil)
	if err != nil {
		return nil, err
	}
	delete(raw, "inherits")
	merged, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	s := &Spec{}
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("target %s: %w (fix targets/%s.json or a file it inherits)", name, err, name)
	}
	s.Name = name
	parents, _ := readRaw(fsys, name)
	if p, ok := parents["inherits"]; ok {
		_ = json.Unmarshal(p, &s.Inherits)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("target %s: %w (fix targets/%s.json or a file it inherits)", name, err, name)
	}
	return s, nil
}

// readRaw reads one target file as a map of its top-level fields.
func readRaw(fsys fs.FS, name string) (map[string]json.RawMessage, error) {
	data, err := fs.ReadFile(fsys, path.Join("targets", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("target %s: targets/%s.json is not a JSON object: %w", name, name, err)
	}
	return raw, nil
}

// resolve returns target name's fields with its parents merged in. stack is
// the chain of targets being resolved, to report inheritance cycles.
func resolve(fsys fs.FS, name string, stack []string) (map[string]json.RawMessage, error) {
	if contains(stack, name) {
		return nil, fmt.Errorf("target %s: inheritance cycle %s -> %s", stack[0], strings.Join(stack, " -> "), name)
	}
	stack = append(stack, name)
	own, err := readRaw(fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && len(stack) > 1 {
			return nil, fmt.Errorf("target %s inherits %q, which does not exist", stack[len(stack)-2], name)
		}
		return nil, err
	}
	var parents []string
	if p, ok := own["inherits"]; ok {
		if err := json.Unmarshal(p, &parents); err != nil {
			return nil, fmt.Errorf("target %s: \"inherits\" must be a list of target names: %w", name, err)
		}
	}
	merged := map[string]json.RawMessage{}
	for _, parent := range parents {
		pf, err := resolve(fsys, parent, stack)
		if err != nil {
			return nil, err
		}
		if err := mergeInto(merged, pf); err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
	}
	if err := mergeInto(merged, own); err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	return merged, nil
}

// mergeInto overrides dst's fields with src's. The "cpus" table merges entry
// by entry; every other field is replaced whole.
func mergeInto(dst, src map[string]json.RawMessage) error {
	for k, v := range src {
		if k != "cpus" || dst[k] == nil {
			dst[k] = v
			continue
		}
		var a, b map[string]json.RawMessage
		if err := json.Unmarshal(dst[k], &a); err != nil {
			return fmt.Errorf("\"cpus\" must be an object: %w", err)
		}
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("\"cpus\" must be an object: %w", err)
		}
		for ck, cv := range b {
			a[ck] = cv
		}
		m, err := json.Marshal(a)
		if err != nil {
			return err
		}
		dst[k] = m
	}
	return nil
}

// check validates a merged spec.
func (s *Spec) check() error {
	switch {
	case s.Triple == "":
		return errors.New("no \"triple\"")
	case s.CPU == "":
		return errors.New("no \"cpu\"")
	case s.ObjectFormat != FormatELF && s.ObjectFormat != FormatWasm:
		return fmt.Errorf("\"object_format\" is %q, want %q or %q", s.ObjectFormat, FormatELF, FormatWasm)
	case !strings.Contains(s.Runner, "{}"):
		return fmt.Errorf("\"runner\" %q has no {} for the executable", s.Runner)
	case s.ObjectFormat == FormatELF && (s.Link.CC == "" || s.Link.AR == ""):
		return errors.New("an ELF target needs \"link\": {\"cc\", \"ar\"}")
	case s.ObjectFormat == FormatWasm && s.Link.Linker == "":
		return errors.New("a wasm target needs \"link\": {\"linker\"}")
	}
	if err := checkInfo("", CPUInfo{s.VectorBits, s.HasFMA, s.Int8Dot, s.Features}); err != nil {
		return err
	}
	if err := checkInfo("other_cpus: ", s.OtherCPUs); err != nil {
		return err
	}
	for name, c := range s.CPUs {
		if err := checkInfo("cpus."+name+": ", c); err != nil {
			return err
		}
	}
	return nil
}

// checkInfo validates the CPU-dependent fields.
func checkInfo(where string, c CPUInfo) error {
	if c.VectorBits < 128 || c.VectorBits%128 != 0 {
		return fmt.Errorf("%s\"vector_bits\" is %d, want a positive multiple of 128", where, c.VectorBits)
	}
	switch c.Int8Dot {
	case DotNone, DotVNNI, DotDotprod:
	default:
		return fmt.Errorf("%s\"int8_dot\" is %q, want %q, %q or %q", where, c.Int8Dot, DotNone, DotVNNI, DotDotprod)
	}
	for _, f := range c.Features {
		if len(f) < 2 || (f[0] != '+' && f[0] != '-') || strings.ContainsAny(f, ", ") {
			return fmt.Errorf("%sfeature %q must look like +name or -name", where, f)
		}
	}
	return nil
}

// clone returns a deep copy of s.
func (s *Spec) clone() *Spec {
	c := *s
	c.Inherits = append([]string(nil), s.Inherits...)
	c.Features = append([]string(nil), s.Features...)
	c.Link.Flags = append([]string(nil), s.Link.Flags...)
	c.Link.Libs = append([]string(nil), s.Link.Libs...)
	c.CPUs = make(map[string]CPUInfo, len(s.CPUs))
	for k, v := range s.CPUs {
		v.Features = append([]string(nil), v.Features...)
		c.CPUs[k] = v
	}
	return &c
}

// withInfo returns a copy of s for cpu with the traits in info.
func (s *Spec) withInfo(cpu string, info CPUInfo) *Spec {
	c := s.clone()
	c.CPU = cpu
	c.VectorBits = info.VectorBits
	c.HasFMA = info.HasFMA
	c.Int8Dot = info.Int8Dot
	c.Features = append([]string(nil), info.Features...)
	return c
}

// WithCPU returns a copy of s for another CPU. cpu must be a CPU llc knows
// for s's triple, or "native" for the machine effc runs on. The vector
// width, FMA, int8 dot product and features come from s.CPUs; a CPU not in
// that table gets s.OtherCPUs, the architecture's baseline. Asking for the
// spec's own CPU returns an unchanged copy.
func (s *Spec) WithCPU(cpu string) (*Spec, error) {
	if cpu == "" || cpu == s.CPU {
		return s.clone(), nil
	}
	if cpu == "native" {
		return s.native()
	}
	cpus, err := CPUs(s.Triple)
	if err != nil {
		return nil, err
	}
	if !contains(cpus, cpu) {
		return nil, fmt.Errorf("unknown CPU %q for target %s; close matches: %s (run 'effc targets --cpus %s' for all %d)",
			cpu, s.Name, strings.Join(closest(cpu, cpus, 5), ", "), s.Name, len(cpus))
	}
	info, ok := s.CPUs[cpu]
	if !ok {
		info = s.OtherCPUs
	}
	return s.withInfo(cpu, info), nil
}

// cpuCache holds llc's CPU list per triple.
var cpuCache struct {
	sync.Mutex
	m map[string][]string
}

// CPUs returns the CPU names llc knows for triple, sorted. It runs
// `llc -mtriple=TRIPLE -mcpu=help` once per triple and caches the answer.
func CPUs(triple string) ([]string, error) {
	cpuCache.Lock()
	defer cpuCache.Unlock()
	if c, ok := cpuCache.m[triple]; ok {
		return c, nil
	}
	llc, err := toolchain.Find("llc")
	if err != nil {
		return nil, fmt.Errorf("listing CPUs for %s: %w", triple, err)
	}
	cmd := exec.CommandContext(context.Background(), llc, "-mtriple="+triple, "-mcpu=help", "-o", os.DevNull, "-")
	cmd.Stdin = strings.NewReader("")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	runErr := cmd.Run()
	cpus := parseCPUHelp(out.String())
	if len(cpus) == 0 {
		return nil, fmt.Errorf("listing CPUs for %s: %s -mcpu=help printed no CPU list (%v): %.300s; check that llvm-%s is installed correctly",
			triple, llc, runErr, out.String(), toolchain.LLVMVersion)
	}
	if cpuCache.m == nil {
		cpuCache.m = map[string][]string{}
	}
	cpuCache.m[triple] = cpus
	return cpus, nil
}

// parseCPUHelp extracts the CPU names from llc's -mcpu=help output: the
// lines between "Available CPUs" and "Available features".
func parseCPUHelp(out string) []string {
	var cpus []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Available CPUs"):
			in = true
			continue
		case strings.HasPrefix(line, "Available features"):
			in = false
		}
		if !in {
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 && f[1] == "-" {
			cpus = append(cpus, f[0])
		}
	}
	sort.Strings(cpus)
	return cpus
}

// closest returns up to n names from cands nearest to s: those sharing a
// prefix with it first, then by edit distance.
func closest(s string, cands []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for _, c := range cands {
		d := suggest.Distance(s, c)
		if strings.HasPrefix(c, s) || strings.HasPrefix(s, c) {
			d -= 100
		}
		all = append(all, scored{c, d})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].d < all[j].d })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].name)
	}
	return out
}

// LLCArgs returns the llc flags for s: triple, CPU, features and -O3, plus a
// position-independent relocation model for ELF so that objects can go
// into shared libraries. The caller adds -filetype, -o and the input.
func (s *Spec) LLCArgs() []string {
	args := s.machineArgs()
	args = append(args, "-O3")
	if s.ObjectFormat == FormatELF {
		args = append(args, "-relocation-model=pic")
	}
	return args
}

// OptArgs returns the opt flags for s: triple, CPU, features and -O3. The
// caller adds -S or -o and the input.
func (s *Spec) OptArgs() []string {
	return append(s.machineArgs(), "-O3")
}

// machineArgs are the flags llc and opt share.
func (s *Spec) machineArgs() []string {
	args := []string{"-mtriple=" + s.Triple, "-mcpu=" + s.CPU}
	if len(s.Features) > 0 {
		args = append(args, "-mattr="+strings.Join(s.Features, ","))
	}
	return args
}

// InProcess reports whether executables for s are run inside effc (wasm with
// runtime/wasmrt) rather than as a process.
func (s *Spec) InProcess() bool {
	return strings.HasPrefix(s.Runner, "wazero")
}

// RunArgs returns the command line that runs the executable at exe on this
// machine: exe itself for native targets, or the emulator's command line
// from Runner. It fails for in-process targets (see InProcess).
func (s *Spec) RunArgs(exe string) ([]string, error) {
	if s.InProcess() {
		return nil, fmt.Errorf("target %s runs its artifacts in-process with runtime/wasmrt, not as a command", s.Name)
	}
	var argv []string
	for _, f := range strings.Fields(s.Runner) {
		argv = append(argv, strings.ReplaceAll(f, "{}", exe))
	}
	return argv, nil
}

// hostArch is the `uname -m` name of the machine effc runs on.
func hostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}

// native resolves --cpu native on this machine.
func (s *Spec) native() (*Spec, error) {
	if s.NativeArch == "" {
		return nil, fmt.Errorf("target %s has no native CPU; name a CPU instead (run 'effc targets --cpus %s')", s.Name, s.Name)
	}
	if h := hostArch(); h != s.NativeArch {
		return nil, fmt.Errorf("--cpu native for target %s needs a %s machine, and this one is %s; name a CPU instead (run 'effc targets --cpus %s')",
			s.Name, s.NativeArch, h, s.Name)
	}
	if flags, err := cpuinfoFlags("/proc/cpuinfo"); err == nil && len(flags) > 0 {
		return s.fromFlags(flags), nil
	}
	// No /proc/cpuinfo (not Linux): trust llc's host CPU detection.
	llc, err := toolchain.Find("llc")
	if err != nil {
		return nil, fmt.Errorf("resolving --cpu native: %w", err)
	}
	out, err := exec.Command(llc, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("resolving --cpu native: %s --version: %w", llc, err)
	}
	host := parseHostCPU(string(out))
	if host == "" {
		return nil, fmt.Errorf("resolving --cpu native: neither /proc/cpuinfo nor llc knows this machine's CPU; name a CPU instead (run 'effc targets --cpus %s')", s.Name)
	}
	return s.WithCPU(host)
}

// parseHostCPU returns the CPU from llc --version's "Host CPU:" line, or ""
// if llc does not know it.
func parseHostCPU(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Host CPU:"); ok {
			v = strings.TrimSpace(v)
			if v == "(unknown)" || v == "generic" {
				return ""
			}
			return v
		}
	}
	return ""
}

// cpuinfoFlags returns the CPU feature flags listed in a /proc/cpuinfo file
// ("flags" on x86, "Features" on arm64).
func cpuinfoFlags(file string) (map[string]bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseCPUInfo(string(data)), nil
}

// parseCPUInfo extracts the first processor's feature flags.
func parseCPUInfo(text string) map[string]bool {
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if k := strings.TrimSpace(key); k == "flags" || k == "Features" {
			flags := map[string]bool{}
			for _, f := range strings.Fields(val) {
				flags[f] = true
			}
			return flags
		}
	}
	return nil
}

// fromFlags builds the spec for a machine with the given cpuinfo flags: an
// x86-64 micro-architecture level or the Arm baseline, plus the features
// that matter to effc's kernels.
func (s *Spec) fromFlags(flags map[string]bool) *Spec {
	all := func(names ...string) bool {
		for _, n := range names {
			if !flags[n] {
				return false
			}
		}
		return true
	}
	if s.NativeArch == "aarch64" {
		info := CPUInfo{VectorBits: 128, HasFMA: true, Int8Dot: DotNone, Features: []string{"+neon"}}
		if flags["asimddp"] {
			info.Int8Dot = DotDotprod
			info.Features = append(info.Features, "+v8.2a", "+dotprod")
		}
		if flags["asimdhp"] {
			info.Features = append(info.Features, "+fullfp16")
		}
		return s.withInfo("generic", info)
	}
	var cpu string
	var info CPUInfo
	switch {
	case all("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx2", "fma"):
		cpu = "x86-64-v4"
		info = CPUInfo{VectorBits: 512, HasFMA: true, Int8Dot: DotNone, Features: []string{"-prefer-256-bit"}}
		if flags["avx512_vnni"] {
			info.Int8Dot = DotVNNI
			info.Features = append(info.Features, "+avx512vnni")
		}
	case all("avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"):
		cpu = "x86-64-v3"
		info = CPUInfo{VectorBits: 256, HasFMA: true, Int8Dot: DotNone}
		if flags["avx_vnni"] {
			info.Int8Dot = DotVNNI
			info.Features = append(info.Features, "+avxvnni")
		}
	case all("avx2", "fma"):
		cpu = "x86-64-v2"
		info = CPUInfo{VectorBits: 256, HasFMA: true, Int8Dot: DotNone, Features: []string{"+avx2", "+fma"}}
	case all("sse4_2", "popcnt", "ssse3"):
		cpu = "x86-64-v2"
		info = CPUInfo{VectorBits: 128, Int8Dot: DotNone}
	default:
		cpu = "x86-64"
		info = CPUInfo{VectorBits: 128, Int8Dot: DotNone}
	}
	if flags["f16c"] && cpu != "x86-64-v3" && cpu != "x86-64-v4" {
		info.Features = append(info.Features, "+f16c")
	}
	return s.withInfo(cpu, info)
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
