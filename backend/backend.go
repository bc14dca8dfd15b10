// Package backend compiles a graph with static shapes into artifacts for one
// target: it plans the arena (backend/plan), builds the LLVM module
// (backend/llvmgen), and drives opt, llc, the archiver, the C compiler driver
// and wasm-ld (backend/toolchain) inside a temporary folder that is renamed
// into place only when everything succeeded.
package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"github.com/effc/effc/backend/llvmgen"
	"github.com/effc/effc/backend/plan"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
)

// Artifact kinds, as --emit spells them.
const (
	EmitObj      = "obj"      // model.o
	EmitLib      = "lib"      // libmodel.a
	EmitShared   = "shared"   // libmodel.so
	EmitHeader   = "header"   // model.h
	EmitLLVM     = "llvm"     // model.ll (before opt)
	EmitAsm      = "asm"      // model.s
	EmitWasm     = "wasm"     // model.wasm
	EmitManifest = "manifest" // manifest.json
	EmitJS       = "js"       // model.mjs, an ES module loader for model.wasm
)

// fileOf names each artifact kind's file.
var fileOf = map[string]string{
	EmitObj: "model.o", EmitLib: "libmodel.a", EmitShared: "libmodel.so", EmitHeader: "model.h",
	EmitLLVM: "model.ll", EmitAsm: "model.s", EmitWasm: "model.wasm", EmitManifest: "manifest.json", EmitJS: "model.mjs",
}

// EmitKinds lists the artifact kinds, sorted.
func EmitKinds() []string {
	out := make([]string, 0, len(fileOf))
	for k := range fileOf {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DefaultEmit is what a target produces unless told otherwise.
func DefaultEmit(spec *target.Spec) []string {
	if spec.ObjectFormat == target.FormatWasm {
		return []string{EmitWasm, EmitHeader, EmitManifest}
	}
	return []string{EmitObj, EmitLib, EmitHeader, EmitManifest}
}

// allowedEmit reports whether artifact kind k exists for spec's object format.
func allowedEmit(spec *target.Spec, k string) bool {
	switch k {
	case EmitWasm, EmitJS:
		return spec.ObjectFormat == target.FormatWasm
	case EmitObj, EmitLib, EmitShared:
		return spec.ObjectFormat != target.FormatWasm
	}
	return true
}

// Weights modes, as --weights spells them.
const (
	// WeightsEmbed puts the weights in the artifacts' read-only data.
	WeightsEmbed = "embed"
	// WeightsFile writes them to weights.bin beside the artifacts instead;
	// the caller loads that file and passes it to effc_<name>_set_weights.
	WeightsFile = "file"
)

// WeightsModes lists the weights modes, the default first.
func WeightsModes() []string { return []string{WeightsEmbed, WeightsFile} }

// weightsFileName is the file WeightsFile mode writes.
const weightsFileName = "weights.bin"

// Options configures one compilation.
type Options struct {
	Name     string   // symbol prefix: effc_<Name>_run; default "model"
	Emit     []string // artifact kinds; nil means DefaultEmit
	OutDir   string   // where artifacts go; replaced as a whole on success
	Pipeline string   // the pass pipeline that ran, recorded in the manifest
	Weights  string   // WeightsEmbed or WeightsFile; "" means WeightsEmbed
}

// Result describes a successful compilation.
type Result struct {
	Dir string // OutDir
	// Files maps each artifact kind to its path, plus "weights" to
	// weights.bin in WeightsFile mode.
	Files    map[string]string
	Plan     *plan.Plan
	Manifest *Manifest
}

// Manifest is manifest.json: what a runtime or a build system needs to know
// about the artifacts without parsing model.h.
type Manifest struct {
	Name      string                  `json:"name"`
	Target    string                  `json:"target"`
	Triple    string                  `json:"triple"`
	CPU       string                  `json:"cpu"`
	Features  []string                `json:"features"`
	Inputs    []runtime.TensorInfo    `json:"inputs"`
	Outputs   []runtime.TensorInfo    `json:"outputs"`
	ArenaSize int64                   `json:"arena_bytes"`
	SumInter  int64                   `json:"intermediate_bytes_without_reuse"`
	Pipeline  string                  `json:"pipeline,omitempty"`
	Weights   ManifestWeights         `json:"weights"`
	Files     map[string]ManifestFile `json:"files"`
}

// ManifestWeights says where the weights are: embedded in the artifacts'
// read-only data, or in File (WeightsFile mode), which the caller passes to
// effc_<name>_set_weights. Bytes and SHA256 describe that data in either
// mode: they are the size and hash of weights.bin.
type ManifestWeights struct {
	Mode   string `json:"mode"`
	File   string `json:"file,omitempty"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ManifestFile is one artifact's size and hash.
type ManifestFile struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Compile builds the artifacts of g for spec. g must have static shapes
// (bind symbolic dims first) and should have been through the default
// pipeline. On failure nothing is left at opts.OutDir that was not there.
func Compile(ctx context.Context, g *ir.Graph, spec *target.Spec, opts Options) (*Result, error) {
	if opts.Name == "" {
		opts.Name = "model"
	}
	if err := runtime.ValidName(opts.Name); err != nil {
		return nil, err
	}
	emit := opts.Emit
	if len(emit) == 0 {
		emit = DefaultEmit(spec)
	}
	want := map[string]bool{}
	for _, k := range emit {
		if _, ok := fileOf[k]; !ok {
			return nil, fmt.Errorf("unknown --emit kind %q; valid: %s", k, strings.Join(EmitKinds(), ","))
		}
		if !allowedEmit(spec, k) {
			return nil, fmt.Errorf("--emit %s does not apply to target %s (%s objects)", k, spec.Name, spec.ObjectFormat)
		}
		want[k] = true
	}
	if opts.OutDir == "" {
		return nil, fmt.Errorf("no output folder given (-o DIR)")
	}
	switch opts.Weights {
	case "":
		opts.Weights = WeightsEmbed
	case WeightsEmbed, WeightsFile:
	default:
		return nil, fmt.Errorf("unknown --weights mode %q; valid: %s", opts.Weights, strings.Join(WeightsModes(), ", "))
	}
	external := opts.Weights == WeightsFile
	ins, outs, err := signature(g)
	if err != nil {
		return nil, err
	}
	p, err := plan.Make(g, llvmgen.ScratchBytes)
	if err != nil {
		return nil, err
	}
	// Graphs of 16 nodes or more are split into shards (one per 8 nodes, up
	// to 4) that opt and llc compile in parallel. The count depends only on
	// the graph, so artifacts stay byte-identical across machines; --emit
	// llvm asks for one whole module.
	shards := min(4, max(1, len(g.Nodes)/8))
	if want[EmitLLVM] {
		shards = 1
	}
	mod, err := llvmgen.Emit(g, p, llvmgen.Config{Name: opts.Name, Triple: spec.Triple, VectorBits: spec.VectorBits, HasFMA: spec.HasFMA, Int8Dot: spec.Int8Dot, Shards: shards, ExternalWeights: external})
	if err != nil {
		return nil, err
	}

	parent := filepath.Dir(filepath.Clean(opts.OutDir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".effc-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	b := &build{ctx: ctx, dir: tmp, spec: spec, name: opts.Name, external: external}
	for i, sh := range mod.Shards {
		if err := b.write(shardFile(i, ".ll"), []byte(sh.String())); err != nil {
			return nil, err
		}
	}
	b.shards = len(mod.Shards)
	if err := b.write(weightsFileName, mod.Rodata); err != nil {
		return nil, err
	}
	b.weightsSym = mod.WeightsSymbol
	if err := b.compile(want); err != nil {
		return nil, err
	}
	var wf *runtime.WeightsFile
	if external {
		wf = &runtime.WeightsFile{Name: weightsFileName, Size: int64(len(mod.Rodata))}
	}
	if want[EmitHeader] {
		if err := b.write("model.h", runtime.HeaderWithWeights(opts.Name, ins, outs, p.ArenaSize, wf)); err != nil {
			return nil, err
		}
	}
	if want[EmitJS] {
		js, err := runtime.JSLoaderWithWeights(opts.Name, ins, outs, wf)
		if err != nil {
			return nil, err
		}
		if err := b.write("model.mjs", js); err != nil {
			return nil, err
		}
	}
	if !want[EmitLLVM] {
		os.Remove(filepath.Join(tmp, "model.ll"))
	}
	wsum := sha256.Sum256(mod.Rodata)
	man := &Manifest{Name: opts.Name, Target: spec.Name, Triple: spec.Triple, CPU: spec.CPU, Features: spec.Features,
		Inputs: ins, Outputs: outs, ArenaSize: p.ArenaSize, SumInter: p.SumIntermediates, Pipeline: opts.Pipeline,
		Weights: ManifestWeights{Mode: opts.Weights, Bytes: int64(len(mod.Rodata)), SHA256: hex.EncodeToString(wsum[:])},
		Files:   map[string]ManifestFile{}}
	files := map[string]string{}
	if external {
		man.Weights.File = weightsFileName
		files["weights"] = filepath.Join(opts.OutDir, weightsFileName)
	}
	for k := range want {
		if k == EmitManifest {
			continue
		}
		path := filepath.Join(tmp, fileOf[k])
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("artifact %s was not produced: %w", fileOf[k], err)
		}
		sum := sha256.Sum256(data)
		man.Files[fileOf[k]] = ManifestFile{Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
		files[k] = filepath.Join(opts.OutDir, fileOf[k])
	}
	if want[EmitManifest] {
		js, err := json.MarshalIndent(man, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := b.write("manifest.json", append(js, '\n')); err != nil {
			return nil, err
		}
		files[EmitManifest] = filepath.Join(opts.OutDir, "manifest.json")
	}
	if err := replaceDir(tmp, opts.OutDir); err != nil {
		return nil, err
	}
	return &Result{Dir: opts.OutDir, Files: files, Plan: p, Manifest: man}, nil
}

// signature describes g's inputs and outputs for the header and manifest.
func signature(g *ir.Graph) (ins, outs []runtime.TensorInfo, err error) {
	conv := func(vs []*ir.Value, what string) ([]runtime.TensorInfo, error) {
		var r []runtime.TensorInfo
		for _, v := range vs {
			if !v.Type.Ranked || !v.Type.Shape.Static() {
				return nil, fmt.Errorf("graph %s %q has type %s, which is not static; bind symbolic dims with --shape NAME=D0,D1,... or --batch N", what, v.Name, v.Type)
			}
			r = append(r, runtime.TensorInfo{Name: v.Name, DType: v.Type.DType, Shape: v.Type.Shape.Sizes()})
		}
		return r, nil
	}
	if ins, err = conv(g.Inputs, "input"); err != nil {
		return nil, nil, err
	}
	outs, err = conv(g.Outputs, "output")
	return ins, outs, err
}

// build runs the tools of one compilation in its temporary folder.
type build struct {
	ctx  context.Context
	dir  string
	spec *target.Spec
	name string
	// weightsSym is the symbol the module reads weights.bin through: the
	// data itself, or with external the pointer set_weights fills.
	weightsSym string
	external   bool // weights.bin stays a file beside the artifacts
	shards     int  // modules shard0.ll ... (model.ll when there is one)
}

// shardFile names shard i's intermediate file with the given extension.
func shardFile(i int, ext string) string { return fmt.Sprintf("shard%d%s", i, ext) }

func (b *build) write(name string, data []byte) error {
	return os.WriteFile(filepath.Join(b.dir, name), data, 0o644)
}

func (b *build) run(tool string, args ...string) error {
	_, err := toolchain.Run(b.ctx, b.dir, tool, args...)
	return err
}

// compile runs opt and llc, then archives or links what was asked for.
func (b *build) compile(want map[string]bool) error {
	// opt and llc each shard in parallel, one tool chain per CPU.
	sem := make(chan struct{}, max(1, goruntime.NumCPU()))
	errs := make([]error, b.shards)
	var wg sync.WaitGroup
	for i := 0; i < b.shards; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = b.compileShard(i, want[EmitAsm])
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var objs []string
	for i := 0; i < b.shards; i++ {
		objs = append(objs, shardFile(i, ".o"))
		defer os.Remove(filepath.Join(b.dir, shardFile(i, ".o")))
		defer os.Remove(filepath.Join(b.dir, shardFile(i, ".ll")))
	}
	if want[EmitAsm] {
		if err := b.concat("model.s", ".s"); err != nil {
			return err
		}
	}
	if want[EmitLLVM] {
		if err := os.Rename(filepath.Join(b.dir, shardFile(0, ".ll")), filepath.Join(b.dir, "model.ll")); err != nil {
			return err
		}
	}
	prefix := runtime.Prefix(b.name)
	exports := []string{prefix + "_run", prefix + "_arena_size"}
	if b.external {
		exports = append(exports, prefix+"_set_weights", prefix+"_weights_size")
	} else {
		if err := b.weightsObject(); err != nil {
			return err
		}
		defer os.Remove(filepath.Join(b.dir, "weights.o"))
		defer os.Remove(filepath.Join(b.dir, weightsFileName))
		objs = append(objs, "weights.o")
	}
	if b.spec.ObjectFormat == target.FormatWasm {
		args := append([]string{}, b.spec.Link.Flags...)
		for _, e := range exports {
			args = append(args, "--export="+e)
		}
		args = append(args, objs...)
		args = append(args, b.spec.Link.Libs...)
		args = append(args, "-o", "model.wasm")
		return b.run(b.spec.Link.Linker, args...)
	}
	// One relocatable model.o holding code and weights (or, with external,
	// the pointer to them); the weights symbol is made local so several
	// models link into one program.
	if err := b.run("ld.lld", append(append([]string{"-r"}, objs...), "-o", "model.o")...); err != nil {
		return err
	}
	if err := b.run("objcopy", "--localize-symbol="+b.weightsSym, "model.o"); err != nil {
		return err
	}
	if want[EmitLib] {
		if err := b.run(b.spec.Link.AR, "rcsD", "libmodel.a", "model.o"); err != nil {
			return err
		}
	}
	if want[EmitShared] {
		args := []string{"-shared", "-o", "libmodel.so", "model.o"}
		if err := b.run(b.spec.Link.CC, append(args, b.spec.Link.Libs...)...); err != nil {
			return err
		}
	}
	if !want[EmitObj] {
		os.Remove(filepath.Join(b.dir, "model.o"))
	}
	return nil
}

// compileShard runs opt and llc on shard i (and llc for assembly when asm).
func (b *build) compileShard(i int, asm bool) error {
	bc := shardFile(i, ".bc")
	defer os.Remove(filepath.Join(b.dir, bc))
	if err := b.run("opt", append(b.spec.OptArgs(), shardFile(i, ".ll"), "-o", bc)...); err != nil {
		return err
	}
	if asm {
		if err := b.run("llc", append(b.spec.LLCArgs(), "-filetype=asm", bc, "-o", shardFile(i, ".s"))...); err != nil {
			return err
		}
	}
	return b.run("llc", append(b.spec.LLCArgs(), "-filetype=obj", bc, "-o", shardFile(i, ".o"))...)
}

// concat joins every shard's file with extension ext into name.
func (b *build) concat(name, ext string) error {
	var all []byte
	for i := 0; i < b.shards; i++ {
		path := filepath.Join(b.dir, shardFile(i, ext))
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		all = append(all, data...)
		os.Remove(path)
	}
	return b.write(name, all)
}

// elfMachine maps a triple's architecture to llvm-objcopy's output format.
var elfMachine = map[string]string{"x86_64": "elf64-x86-64", "aarch64": "elf64-littleaarch64"}

// weightsObject turns weights.bin into weights.o defining the weights
// symbol: llvm-objcopy wraps the bytes for ELF; for wasm, whose objects
// llvm-objcopy cannot write, a data-only module goes through llc (no opt).
func (b *build) weightsObject() error {
	if b.spec.ObjectFormat == target.FormatWasm {
		data, err := os.ReadFile(filepath.Join(b.dir, weightsFileName))
		if err != nil {
			return err
		}
		m := llvmgen.DataModule(b.weightsSym, b.spec.Triple, data)
		if err := b.write("weights.ll", []byte(m.String())); err != nil {
			return err
		}
		defer os.Remove(filepath.Join(b.dir, "weights.ll"))
		return b.run("llc", append(b.spec.LLCArgs(), "-filetype=obj", "weights.ll", "-o", "weights.o")...)
	}
	arch, _, _ := strings.Cut(b.spec.Triple, "-")
	format, ok := elfMachine[arch]
	if !ok {
		return fmt.Errorf("target %s: no ELF output format known for architecture %s", b.spec.Name, arch)
	}
	return b.run("objcopy", "-I", "binary", "-O", format,
		"--rename-section=.data=.rodata,alloc,load,readonly,data,contents",
		"--set-section-alignment=.rodata=64",
		"--redefine-sym=_binary_weights_bin_start="+b.weightsSym,
		"--strip-symbol=_binary_weights_bin_end", "--strip-symbol=_binary_weights_bin_size",
		"weights.bin", "weights.o")
}

// replaceDir moves the finished folder tmp to dst, replacing what was there.
func replaceDir(tmp, dst string) error {
	final := tmp + ".done"
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil { // so the deferred RemoveAll has something to remove
		return err
	}
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = dst + ".old-" + filepath.Base(tmp)
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
	}
	if err := os.Rename(final, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
