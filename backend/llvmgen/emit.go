// Package llvmgen lowers a planned effc graph to an LLVM module built with
// github.com/llir/llvm: one internal kernel function per node, specialised to
// the node's static shapes, and one exported entry point that calls them in
// order over the caller's input/output buffers and one static arena.
//
// Kernels are grouped by family, one family per file, each file holding its
// table of op -> kernel builder (elementwise.go, movement.go, ...). A kernel
// builder writes the body of its function with the loop and scalar helpers in
// builder.go; opt -O3 then vectorizes the simple loops for the target, and the
// hot families (GEMM, convolution) emit target vector types themselves.
package llvmgen

import (
	"fmt"
	"sort"
	"strings"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/backend/plan"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
)

// Config is what code generation needs to know about the target; the
// backend fills it from a target spec.
type Config struct {
	Name       string // symbol prefix: functions are effc_<Name>_run etc.
	Triple     string // LLVM target triple
	VectorBits int    // SIMD register width the hot kernels block for (128, 256, 512)
	HasFMA     bool   // fused multiply-add is cheap on the target
	// Int8Dot is the CPU's int8 dot product, as target.Spec.Int8Dot says:
	// "vnni", "dotprod" or "none"; the int8 GEMM (qgemm.go) picks its
	// instructions by it.
	Int8Dot string
	// Shards splits the kernels over this many modules so opt and llc can
	// run on them in parallel (0 or 1: one module).
	Shards int
	// ExternalWeights leaves the read-only data out of the artifacts: the
	// code reads it through a base pointer the caller hands to
	// effc_<Name>_set_weights at run time (effc compile --weights file).
	ExternalWeights bool
}

// Prefix is the C symbol prefix of a model's ABI functions.
func (c Config) Prefix() string { return "effc_" + c.Name }

// kernelFunc writes the body of node k.n's kernel.
type kernelFunc func(k *kernel) error

// families lists the kernel tables, one per family file.
var families = []map[string]kernelFunc{elementwiseKernels, movementKernels, reduceKernels, nnKernels, linalgKernels, miscKernels}

// kernels is the merged op -> kernel builder table.
var kernels = mergeFamilies()

func mergeFamilies() map[string]kernelFunc {
	m := map[string]kernelFunc{}
	for _, f := range families {
		for op, k := range f {
			if _, dup := m[op]; dup {
				panic("llvmgen: op " + op + " has two kernels")
			}
			m[op] = k
		}
	}
	return m
}

// scratchNeeds says how many bytes of arena scratch a node's kernel uses
// while it runs (an im2col buffer, a transposed copy); ops not listed need none.
var scratchNeeds = map[string]func(n *ir.Node) int64{
	"Gemm":           gemmScratch,
	"Conv":           convScratch,
	"effc.FusedConv": convScratch,
}

// ScratchBytes is the scratch a node's kernel needs, for backend/plan.
func ScratchBytes(n *ir.Node) int64 {
	if f, ok := scratchNeeds[kernelKey(n)]; ok {
		return f(n)
	}
	return 0
}

// kernelKey is the kernel table key of n: the op name for ai.onnx ops,
// "effc.<Op>" for effc's own ops, and a name no table has otherwise.
func kernelKey(n *ir.Node) string {
	switch n.Domain {
	case "", "ai.onnx":
		return n.Op
	}
	return n.Domain + "." + n.Op
}

// Supported reports whether the compiler has a kernel for op.
func Supported(op string) bool { _, ok := kernels[op]; return ok }

// Ops returns the ops with kernels, sorted.
func Ops() []string {
	out := make([]string, 0, len(kernels))
	for op := range kernels {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// emitter holds module-wide state.
type emitter struct {
	cfg     Config
	m       *ll.Module
	g       *ir.Graph
	plan    *plan.Plan
	consts  map[*ir.Value]int64      // offset of each constant's data in rodata
	decls   map[string]*ll.Func      // libm functions and intrinsics
	tables  int                      // counter for generated constant tables
	weights *ll.Global               // the read-only data blob, or the pointer to it (see shard)
	rodata  []byte                   // the blob's contents, 64-byte aligned pieces
	bases   map[*ll.Func]value.Value // with ExternalWeights: each function's load of the blob's address
	shards  []*shard                 // shard 0 holds the entry points
}

// shard is one of the modules kernels are spread over. The emitter's m,
// decls and weights always point at the shard being written.
type shard struct {
	m       *ll.Module
	decls   map[string]*ll.Func
	weights *ll.Global
}

// newShard starts a module that refers to the read-only data: it declares
// the external blob effc_<Name>_weights, or with ExternalWeights the pointer
// effc_<Name>.weights_base that set_weights fills (defined in shard 0, null
// until then).
func (e *emitter) newShard() *shard {
	m := ll.NewModule()
	m.TargetTriple = e.cfg.Triple
	var w *ll.Global
	if e.cfg.ExternalWeights {
		if len(e.shards) == 0 {
			w = m.NewGlobalDef(e.cfg.Prefix()+".weights_base", constant.NewNull(i8p))
		} else {
			w = m.NewGlobal(e.cfg.Prefix()+".weights_base", i8p)
			w.Linkage = enum.LinkageExternal
		}
		w.Align = 8
	} else {
		w = m.NewGlobal(e.cfg.Prefix()+"_weights", types.NewArray(0, types.I8))
		w.Immutable = true
		w.Linkage = enum.LinkageExternal
		w.Align = 64
	}
	w.Visibility = enum.VisibilityHidden
	sh := &shard{m: m, decls: map[string]*ll.Func{}, weights: w}
	e.shards = append(e.shards, sh)
	return sh
}

// use makes sh the shard new code goes to.
func (e *emitter) use(sh *shard) { e.m, e.decls, e.weights = sh.m, sh.decls, sh.weights }

// Module is the result of Emit: the LLVM modules (Shards[0] holds the entry
// points; the others hold kernels it calls) and the read-only data they refer
// to through the external symbol WeightsSymbol. Keeping weights out of the
// module text keeps opt and llc fast on large models; the backend turns
// Rodata into an object of its own (llvm-objcopy for ELF, a data-only module
// for wasm) and links everything. With Config.ExternalWeights, WeightsSymbol
// is instead the hidden pointer set_weights stores the caller's copy of
// Rodata in, and Rodata is what the caller must provide (weights.bin).
type Module struct {
	Shards        []*ll.Module
	Rodata        []byte
	WeightsSymbol string
}

// DataModule is a module that only defines sym as the given read-only
// bytes, for targets whose object files cannot be made from a binary blob
// directly (wasm32).
func DataModule(sym, triple string, data []byte) *ll.Module {
	m := ll.NewModule()
	m.TargetTriple = triple
	if len(data) == 0 {
		data = []byte{0}
	}
	gl := m.NewGlobalDef(sym, constant.NewCharArray(data))
	gl.Immutable = true
	gl.Visibility = enum.VisibilityHidden
	gl.Align = 64
	return m
}

// String is the LLVM assembly of every shard (without the read-only data);
// with more than one shard it is for reading, not for llc.
func (m *Module) String() string {
	var b strings.Builder
	for i, sh := range m.Shards {
		if i > 0 {
			fmt.Fprintf(&b, "\n; ---- shard %d ----\n", i)
		}
		b.WriteString(sh.String())
	}
	return b.String()
}

// Emit builds the module for g, which must have static shapes everywhere and
// be planned by p. Nodes without a kernel are reported by name.
func Emit(g *ir.Graph, p *plan.Plan, cfg Config) (*Module, error) {
	e := &emitter{cfg: cfg, g: g, plan: p, consts: map[*ir.Value]int64{}, bases: map[*ll.Func]value.Value{}}
	for i := 0; i < max(cfg.Shards, 1); i++ {
		e.newShard()
	}
	e.use(e.shards[0])
	var missing []string
	for _, n := range g.Nodes {
		if !Supported(kernelKey(n)) {
			missing = append(missing, n.String())
		}
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return nil, fmt.Errorf("no compiled kernel for %s; run it with the interpreter (effc run without --target) or see 'effc ops' for what compiles", strings.Join(missing, ", "))
	}
	for _, c := range g.Consts {
		if err := e.addConst(c); err != nil {
			return nil, err
		}
	}
	if err := e.emitEntry(); err != nil {
		return nil, err
	}
	e.emitArenaSize()
	if cfg.ExternalWeights {
		e.emitWeightsABI()
	}
	mods := make([]*ll.Module, len(e.shards))
	for i, sh := range e.shards {
		mods[i] = sh.m
	}
	return &Module{Shards: mods, Rodata: e.rodata, WeightsSymbol: e.shards[0].weights.Name()}, nil
}

// addConst places a constant's bytes in read-only data.
func (e *emitter) addConst(c *ir.Value) error {
	if c.Const.DataLen() < 0 {
		return fmt.Errorf("constant %q has no data (elided weights); compile from the ONNX model", c.Name)
	}
	if c.Const.DType == ir.String {
		return fmt.Errorf("constant %q is a string tensor; strings cannot be compiled", c.Name)
	}
	e.consts[c] = e.addRodata(c.Const.Bytes())
	return nil
}

// addRodata appends raw to the read-only data blob at a 64-byte aligned
// offset and returns that offset.
func (e *emitter) addRodata(raw []byte) int64 {
	off := (len(e.rodata) + 63) &^ 63
	e.rodata = append(e.rodata, make([]byte, off-len(e.rodata))...)
	e.rodata = append(e.rodata, raw...)
	if len(raw) == 0 {
		e.rodata = append(e.rodata, 0) // keep a distinct address for empty tensors
	}
	return int64(off)
}

// rodataPtr returns a pointer of type typ to byte off of the read-only data,
// for use anywhere in f (a function of the current shard): a constant
// address in the embedded blob, or with ExternalWeights an offset from the
// base pointer that f loads once in its entry block (which dominates every
// use, wherever the caller is writing).
func (e *emitter) rodataPtr(f *ll.Func, off int64, typ *types.PointerType) value.Value {
	if !e.cfg.ExternalWeights {
		p := constant.NewGetElementPtr(types.NewArray(0, types.I8), e.weights, i64(0), i64(off))
		if typ.Equal(i8p) {
			return p
		}
		return constant.NewBitCast(p, typ)
	}
	entry := f.Blocks[0]
	base, ok := e.bases[f]
	if !ok {
		ld := entry.NewLoad(i8p, e.weights)
		ld.SetName("weights.base")
		base = ld
		e.bases[f] = base
	}
	p := entry.NewGetElementPtr(types.I8, base, i64(off))
	if typ.Equal(i8p) {
		return p
	}
	return entry.NewBitCast(p, typ)
}

var i8p = types.NewPointer(types.I8)

// emitEntry writes P_run(arena, inputs, outputs): it computes every value's
// address and calls the node kernels in order.
func (e *emitter) emitEntry() error {
	arena := ll.NewParam("arena", i8p)
	inputs := ll.NewParam("inputs", types.NewPointer(i8p))
	outputs := ll.NewParam("outputs", types.NewPointer(i8p))
	f := e.m.NewFunc(e.cfg.Prefix()+"_run", types.I32, arena, inputs, outputs)
	// A misaligned arena is refused (return 1) rather than risking the
	// aligned vector accesses the plan's 64-byte offsets allow.
	check := f.NewBlock("entry")
	bad := f.NewBlock("misaligned")
	bad.NewRet(constant.NewInt(types.I32, runtime.RunMisaligned))
	b := f.NewBlock("run")
	next := b
	if e.cfg.ExternalWeights {
		// Weights that were never set are refused (return 2). The entry
		// block loads their address for every constant below.
		base := check.NewLoad(i8p, e.weights)
		base.SetName("weights.base")
		e.bases[f] = base
		next = f.NewBlock("checkweights")
		none := f.NewBlock("noweights")
		none.NewRet(constant.NewInt(types.I32, runtime.RunNoWeights))
		next.NewCondBr(next.NewICmp(enum.IPredEQ, base, constant.NewNull(i8p)), none, b)
	}
	low := check.NewAnd(check.NewPtrToInt(arena, types.I64), constant.NewInt(types.I64, plan.Align-1))
	check.NewCondBr(check.NewICmp(enum.IPredNE, low, constant.NewInt(types.I64, 0)), bad, next)
	addr := map[*ir.Value]value.Value{}
	for i, v := range e.g.Inputs {
		p := b.NewGetElementPtr(i8p, inputs, constant.NewInt(types.I32, int64(i)))
		ld := b.NewLoad(i8p, p)
		ld.SetName("in." + sanitize(v.Name))
		addr[v] = ld
	}
	outAddr := map[*ir.Value]value.Value{}
	for j, v := range e.g.Outputs {
		p := b.NewGetElementPtr(i8p, outputs, constant.NewInt(types.I32, int64(j)))
		ld := b.NewLoad(i8p, p)
		ld.SetName("out." + sanitize(v.Name))
		outAddr[v] = ld
	}
	// Walk values in graph order so the module text is deterministic.
	for _, c := range e.g.Consts {
		addr[c] = e.rodataPtr(f, e.consts[c], i8p)
	}
	for _, n := range e.g.Nodes {
		for _, o := range n.Outputs {
			if off, ok := e.plan.Offsets[o]; ok && o != nil {
				gep := b.NewGetElementPtr(types.I8, arena, constant.NewInt(types.I64, off))
				gep.SetName("v." + sanitize(o.Name))
				addr[o] = gep
			}
		}
	}
	for _, v := range e.g.Outputs {
		if v.Producer != nil {
			addr[v] = outAddr[v]
		}
	}
	for i, n := range e.g.Nodes {
		sh := e.shards[i%len(e.shards)]
		e.use(sh)
		kf, err := e.emitKernel(i, n)
		e.use(e.shards[0])
		if err != nil {
			return err
		}
		if sh != e.shards[0] {
			// Shard 0 calls the kernel through a declaration; the kernel
			// is hidden, so it stays inside the linked model.
			kf.Linkage = enum.LinkageExternal
			kf.Visibility = enum.VisibilityHidden
			ps := make([]*ll.Param, len(kf.Params))
			for j, p := range kf.Params {
				ps[j] = ll.NewParam("", p.Typ)
			}
			decl := e.m.NewFunc(kf.Name(), types.Void, ps...)
			decl.Visibility = enum.VisibilityHidden
			kf = decl
		}
		var args []value.Value
		for _, in := range n.Inputs {
			if in == nil {
				args = append(args, constant.NewNull(i8p))
				continue
			}
			args = append(args, addr[in])
		}
		for _, o := range n.Outputs {
			if o == nil {
				args = append(args, constant.NewNull(i8p))
				continue
			}
			a, ok := addr[o]
			if !ok {
				return fmt.Errorf("%s: output %q has no buffer (internal error in the memory plan)", n, o.Name)
			}
			args = append(args, a)
		}
		if off, ok := e.plan.Scratch[n]; ok {
			args = append(args, b.NewGetElementPtr(types.I8, arena, constant.NewInt(types.I64, off)))
		} else {
			args = append(args, constant.NewNull(i8p))
		}
		b.NewCall(kf, args...)
	}
	// Graph outputs that are graph inputs or constants are copied.
	for _, v := range e.g.Outputs {
		if v.Producer != nil {
			continue
		}
		size, err := plan.ByteSize(v)
		if err != nil {
			return err
		}
		e.memcpy(b, outAddr[v], addr[v], size)
	}
	b.NewRet(constant.NewInt(types.I32, 0))
	return nil
}

// emitArenaSize writes P_arena_size() returning the planned arena bytes.
func (e *emitter) emitArenaSize() {
	f := e.m.NewFunc(e.cfg.Prefix()+"_arena_size", e.sizeType())
	f.NewBlock("entry").NewRet(constant.NewInt(e.sizeType(), e.plan.ArenaSize))
}

// emitWeightsABI writes, for ExternalWeights, P_weights_size() returning
// the bytes of weights.bin and P_set_weights(weights, size), which checks
// the size and the pointer's alignment and stores the pointer for P_run
// and the kernels.
func (e *emitter) emitWeightsABI() {
	st := e.sizeType()
	want := constant.NewInt(st, int64(len(e.rodata)))
	e.m.NewFunc(e.cfg.Prefix()+"_weights_size", st).NewBlock("entry").NewRet(want)

	weights, size := ll.NewParam("weights", i8p), ll.NewParam("size", st)
	f := e.m.NewFunc(e.cfg.Prefix()+"_set_weights", types.I32, weights, size)
	entry := f.NewBlock("entry")
	badSize := f.NewBlock("badsize")
	badSize.NewRet(constant.NewInt(types.I32, runtime.WeightsBadSize))
	checkPtr := f.NewBlock("checkptr")
	badPtr := f.NewBlock("badptr")
	badPtr.NewRet(constant.NewInt(types.I32, runtime.WeightsBadPointer))
	set := f.NewBlock("set")
	entry.NewCondBr(entry.NewICmp(enum.IPredNE, size, want), badSize, checkPtr)
	addr := checkPtr.NewPtrToInt(weights, types.I64)
	low := checkPtr.NewAnd(addr, constant.NewInt(types.I64, plan.Align-1))
	null := checkPtr.NewICmp(enum.IPredEQ, addr, constant.NewInt(types.I64, 0))
	misaligned := checkPtr.NewICmp(enum.IPredNE, low, constant.NewInt(types.I64, 0))
	checkPtr.NewCondBr(checkPtr.NewOr(null, misaligned), badPtr, set)
	set.NewStore(weights, e.weights)
	set.NewRet(constant.NewInt(types.I32, 0))
}

// sizeType is C's size_t on the target.
func (e *emitter) sizeType() *types.IntType {
	if strings.HasPrefix(e.cfg.Triple, "wasm32") {
		return types.I32
	}
	return types.I64
}

// memcpy emits a call to llvm.memcpy.
func (e *emitter) memcpy(b *ll.Block, dst, src value.Value, n int64) {
	f := e.intrinsic("llvm.memcpy.p0i8.p0i8.i64", types.Void, i8p, i8p, types.I64, types.I1)
	b.NewCall(f, dst, src, constant.NewInt(types.I64, n), constant.False)
}

// intrinsic declares (once) and returns an external function.
func (e *emitter) intrinsic(name string, ret types.Type, params ...types.Type) *ll.Func {
	if f, ok := e.decls[name]; ok {
		return f
	}
	ps := make([]*ll.Param, len(params))
	for i, t := range params {
		ps[i] = ll.NewParam("", t)
	}
	f := e.m.NewFunc(name, ret, ps...)
	e.decls[name] = f
	return f
}

// emitKernel builds node n's kernel function.
func (e *emitter) emitKernel(idx int, n *ir.Node) (*ll.Func, error) {
	var params []*ll.Param
	k := &kernel{e: e, n: n}
	mk := func(name string) *ll.Param {
		p := ll.NewParam(name, i8p)
		p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
		params = append(params, p)
		return p
	}
	for i := range n.Inputs {
		mk(fmt.Sprintf("in%d", i))
	}
	for i := range n.Outputs {
		mk(fmt.Sprintf("out%d", i))
	}
	scratch := mk("scratch")
	f := e.m.NewFunc(fmt.Sprintf("%s.k%d.%s", e.cfg.Prefix(), idx, n.Op), types.Void, params...)
	f.Linkage = enum.LinkageInternal
	k.f = f
	k.b = f.NewBlock("entry")
	k.scratch = scratch
	for i, in := range n.Inputs {
		if in == nil {
			k.in = append(k.in, nil)
			continue
		}
		bf, err := k.bindBuf(params[i], in)
		if err != nil {
			return nil, err
		}
		k.in = append(k.in, bf)
	}
	for i, o := range n.Outputs {
		if o == nil {
			k.out = append(k.out, nil)
			continue
		}
		bf, err := k.bindBuf(params[len(n.Inputs)+i], o)
		if err != nil {
			return nil, err
		}
		k.out = append(k.out, bf)
	}
	if err := kernels[kernelKey(n)](k); err != nil {
		return nil, fmt.Errorf("%s: %w", n, err)
	}
	k.b.NewRet(nil)
	return f, nil
}

// sanitize makes an ONNX name usable as an LLVM local name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
