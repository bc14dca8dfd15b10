// Package wasmrt runs an effc model.wasm from Go with wazero.
//
// A model.wasm exports its linear memory ("memory"), the global
// "__heap_base", and the two ABI functions effc_<name>_arena_size and
// effc_<name>_run (docs/runtime.md). Model.Run places the arena, the inputs,
// the outputs and the two pointer arrays at 64-byte aligned offsets from
// __heap_base, grows memory as needed, calls run and copies the outputs out.
//
// A model compiled with --weights file also exports effc_<name>_set_weights
// and effc_<name>_weights_size, and needs its weights.bin: give its bytes
// with WithWeights. Load copies them to the first 64-byte aligned offset at
// or after __heap_base and calls set_weights; the run layout starts after them.
//
// This package depends on wazero only (not on effc's ir), so programs can
// embed it to run compiled models without the compiler.
package wasmrt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Align is the alignment of the arena, of every input and output buffer
// and of the weights.
const Align = 64

// weightsBadSize is what set_weights returns for a wrong size
// (runtime.WeightsBadSize; this package does not import runtime).
const weightsBadSize = 1

const pageSize = 65536

// Model is one instantiated model.wasm. Its methods are safe for concurrent
// use; runs are serialized because they share the instance's memory.
type Model struct {
	mu        sync.Mutex
	rt        wazero.Runtime
	mod       api.Module
	mem       api.Memory
	run       api.Function
	prefix    string
	start     uint32 // where the run layout begins: __heap_base, or past the weights
	arenaSize uint32
	weights   []byte // see WithWeights
	inSizes   []int  // nil unless WithSignature was given
	outSizes  []int
	closed    bool
	interrupt bool // see WithInterrupt
}

// Option configures Load.
type Option func(*Model)

// WithInterrupt makes runs stop when their context is cancelled or times
// out. wazero implements this with a check on every loop back-edge, which
// makes tight kernel loops several times slower (MobileNetV2: 58 ms -> 356
// ms per run), so it is off unless asked for.
func WithInterrupt() Option {
	return func(m *Model) { m.interrupt = true }
}

// WithSignature records the byte size of every input and output (in graph
// order, as in model.h or manifest.json). Run then checks the inputs against
// it and outputSizes may be nil.
func WithSignature(inputBytes, outputBytes []int) Option {
	return func(m *Model) {
		m.inSizes = append([]int(nil), inputBytes...)
		m.outSizes = append([]int(nil), outputBytes...)
	}
}

// WithWeights gives the bytes of the weights.bin of a model compiled with
// --weights file. Load refuses a model compiled that way without them, and
// a model with embedded weights with them.
func WithWeights(weights []byte) Option {
	return func(m *Model) { m.weights = weights }
}

// Load compiles and instantiates wasm, a model compiled by effc with the
// given --name ("" means "model"). It fails with a message naming what is
// missing if the module lacks an export the ABI requires.
func Load(ctx context.Context, wasm []byte, name string, opts ...Option) (*Model, error) {
	prefix, err := prefixOf(name)
	if err != nil {
		return nil, err
	}
	m := &Model{prefix: prefix}
	for _, o := range opts {
		o(m)
	}
	for i, n := range append(append([]int(nil), m.inSizes...), m.outSizes...) {
		if n < 0 {
			return nil, fmt.Errorf("wasmrt: WithSignature: size %d at position %d is negative", n, i)
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(m.interrupt))
	ok := false
	defer func() {
		if !ok {
			rt.Close(ctx)
		}
	}()
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("wasmrt: model.wasm is not a valid WebAssembly module: %w", err)
	}
	needWASI := false
	var foreign []string
	for _, f := range cm.ImportedFunctions() {
		mod, fn, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			needWASI = true
			continue
		}
		foreign = append(foreign, mod+"."+fn)
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return nil, fmt.Errorf("wasmrt: model.wasm imports %s, which an effc model must not need (only libm is linked); rebuild it with effc compile --target wasm32", strings.Join(foreign, ", "))
	}
	if needWASI {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			return nil, fmt.Errorf("wasmrt: providing WASI imports to model.wasm: %w", err)
		}
	}
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("wasmrt: instantiating model.wasm: %w", err)
	}
	m.rt, m.mod = rt, mod
	if m.mem = mod.ExportedMemory("memory"); m.mem == nil {
		return nil, errors.New(`wasmrt: model.wasm does not export its memory as "memory"; link it with wasm-ld's default --export-memory`)
	}
	hb := mod.ExportedGlobal("__heap_base")
	if hb == nil {
		return nil, errors.New(`wasmrt: model.wasm does not export the global "__heap_base"; link it with wasm-ld --export=__heap_base`)
	}
	if hb.Type() != api.ValueTypeI32 {
		return nil, fmt.Errorf("wasmrt: __heap_base is %s, want i32 (is model.wasm built for wasm32?)", api.ValueTypeName(hb.Type()))
	}
	m.start = api.DecodeU32(hb.Get())
	sizeFn, err := m.export("_arena_size", nil, []api.ValueType{api.ValueTypeI32})
	if err != nil {
		return nil, err
	}
	i32 := api.ValueTypeI32
	if m.run, err = m.export("_run", []api.ValueType{i32, i32, i32}, []api.ValueType{i32}); err != nil {
		return nil, err
	}
	res, err := sizeFn.Call(ctx)
	if err != nil {
		return nil, fmt.Errorf("wasmrt: calling %s_arena_size: %w", prefix, err)
	}
	m.arenaSize = api.DecodeU32(res[0])
	if err := m.setWeights(ctx); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// setWeights copies m.weights into memory at the first aligned offset from
// __heap_base and hands them to set_weights, for a model compiled with
// --weights file; it moves m.start past them.
func (m *Model) setWeights(ctx context.Context) error {
	if m.mod.ExportedFunction(m.prefix+"_set_weights") == nil {
		if m.weights != nil {
			return fmt.Errorf("wasmrt: WithWeights was given, but model.wasm embeds its weights (it has no export %s_set_weights; it was compiled without --weights file)", m.prefix)
		}
		return nil
	}
	i32 := api.ValueTypeI32
	set, err := m.export("_set_weights", []api.ValueType{i32, i32}, []api.ValueType{i32})
	if err != nil {
		return err
	}
	sizeFn, err := m.export("_weights_size", nil, []api.ValueType{i32})
	if err != nil {
		return err
	}
	res, err := sizeFn.Call(ctx)
	if err != nil {
		return fmt.Errorf("wasmrt: calling %s_weights_size: %w", m.prefix, err)
	}
	want := api.DecodeU32(res[0])
	if m.weights == nil {
		return fmt.Errorf("wasmrt: model.wasm was compiled with --weights file: load it with wasmrt.WithWeights and the %d bytes of its weights.bin", want)
	}
	at := alignUp(uint64(m.start))
	end := alignUp(at + uint64(len(m.weights)))
	if end > 1<<32 {
		return fmt.Errorf("wasmrt: %d bytes of weights do not fit in wasm32's 4 GiB", len(m.weights))
	}
	if err := m.grow(end); err != nil {
		return err
	}
	if !m.mem.Write(uint32(at), m.weights) {
		return errors.New("wasmrt: writing the weights out of memory bounds")
	}
	res, err = set.Call(ctx, at, uint64(len(m.weights)))
	if err != nil {
		return fmt.Errorf("wasmrt: %s_set_weights trapped: %w", m.prefix, err)
	}
	switch rc := int32(api.DecodeU32(res[0])); rc {
	case 0:
	case weightsBadSize:
		return fmt.Errorf("wasmrt: %s_set_weights refused the weights: they are %d bytes, the model wants %d; pass the weights.bin compiled with this model.wasm", m.prefix, len(m.weights), want)
	default:
		return fmt.Errorf("wasmrt: %s_set_weights returned %d", m.prefix, rc)
	}
	m.start = uint32(end)
	m.weights = nil // the module keeps its own copy
	return nil
}

// grow makes memory at least end bytes long.
func (m *Model) grow(end uint64) error {
	if have := uint64(m.mem.Size()); end > have {
		pages := (end - have + pageSize - 1) / pageSize
		if _, ok := m.mem.Grow(uint32(pages)); !ok {
			return fmt.Errorf("wasmrt: cannot grow model memory by %d pages to %d bytes (the module's maximum or wazero's limit)", pages, end)
		}
	}
	return nil
}

// export finds prefix+suffix and checks its signature.
func (m *Model) export(suffix string, params, results []api.ValueType) (api.Function, error) {
	name := m.prefix + suffix
	f := m.mod.ExportedFunction(name)
	if f == nil {
		var have []string
		for n := range m.mod.ExportedFunctionDefinitions() {
			have = append(have, n)
		}
		sort.Strings(have)
		return nil, fmt.Errorf("wasmrt: model.wasm has no export %q; was it compiled with --name %q? it exports: %s",
			name, strings.TrimPrefix(m.prefix, "effc_"), strings.Join(have, ", "))
	}
	d := f.Definition()
	if !slices.Equal(d.ParamTypes(), params) || !slices.Equal(d.ResultTypes(), results) {
		return nil, fmt.Errorf("wasmrt: export %s has signature %s -> %s, want %s -> %s (the wasm32 C ABI)",
			name, typeNames(d.ParamTypes()), typeNames(d.ResultTypes()), typeNames(params), typeNames(results))
	}
	return f, nil
}

// ArenaSize is the value of the model's arena_size function.
func (m *Model) ArenaSize() int { return int(m.arenaSize) }

// Run runs the model once. inputs are the raw little-endian bytes of each
// input in graph order; outputSizes the byte size of each output (nil if
// WithSignature was given). It returns one new slice per output.
func (m *Model) Run(ctx context.Context, inputs [][]byte, outputSizes []int) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("wasmrt: Run on a closed Model")
	}
	if m.inSizes != nil {
		if len(inputs) != len(m.inSizes) {
			return nil, fmt.Errorf("wasmrt: got %d inputs, the model takes %d", len(inputs), len(m.inSizes))
		}
		for i, in := range inputs {
			if len(in) != m.inSizes[i] {
				return nil, fmt.Errorf("wasmrt: input %d is %d bytes, want %d (check its shape and dtype against model.h)", i, len(in), m.inSizes[i])
			}
		}
		if outputSizes == nil {
			outputSizes = m.outSizes
		} else if !slices.Equal(outputSizes, m.outSizes) {
			return nil, fmt.Errorf("wasmrt: outputSizes %v differ from the signature %v", outputSizes, m.outSizes)
		}
	}
	for i, n := range outputSizes {
		if n < 0 {
			return nil, fmt.Errorf("wasmrt: output size %d at position %d is negative", n, i)
		}
	}
	// Layout: [weights |] arena | inputs | outputs | input pointers | output pointers.
	off := alignUp(uint64(m.start))
	arena := off
	off = alignUp(off + uint64(m.arenaSize))
	inOff := make([]uint64, len(inputs))
	for i, in := range inputs {
		inOff[i] = off
		off = alignUp(off + uint64(len(in)))
	}
	outOff := make([]uint64, len(outputSizes))
	for i, n := range outputSizes {
		outOff[i] = off
		off = alignUp(off + uint64(n))
	}
	inPtrs := off
	off += 4 * uint64(len(inputs))
	outPtrs := alignUp(off)
	end := outPtrs + 4*uint64(len(outputSizes))
	if end > 1<<32 {
		return nil, fmt.Errorf("wasmrt: arena (%d bytes) plus inputs and outputs need %d bytes, more than wasm32's 4 GiB", m.arenaSize, end)
	}
	if err := m.grow(end); err != nil {
		return nil, err
	}
	for i, in := range inputs {
		if !m.mem.Write(uint32(inOff[i]), in) {
			return nil, fmt.Errorf("wasmrt: writing input %d out of memory bounds", i)
		}
		if !m.mem.WriteUint32Le(uint32(inPtrs+4*uint64(i)), uint32(inOff[i])) {
			return nil, fmt.Errorf("wasmrt: writing input pointer %d out of memory bounds", i)
		}
	}
	for i := range outputSizes {
		if !m.mem.WriteUint32Le(uint32(outPtrs+4*uint64(i)), uint32(outOff[i])) {
			return nil, fmt.Errorf("wasmrt: writing output pointer %d out of memory bounds", i)
		}
	}
	res, err := m.run.Call(ctx, arena, inPtrs, outPtrs)
	if err != nil {
		return nil, fmt.Errorf("wasmrt: %s_run trapped: %w", m.prefix, err)
	}
	if rc := int32(api.DecodeU32(res[0])); rc != 0 {
		return nil, fmt.Errorf("wasmrt: %s_run returned %d (non-zero: the model refused to run)", m.prefix, rc)
	}
	outs := make([][]byte, len(outputSizes))
	for i, n := range outputSizes {
		b, ok := m.mem.Read(uint32(outOff[i]), uint32(n))
		if !ok {
			return nil, fmt.Errorf("wasmrt: reading output %d out of memory bounds", i)
		}
		outs[i] = append([]byte(nil), b...)
	}
	return outs, nil
}

// Close releases the wazero runtime. The Model cannot run afterwards.
func (m *Model) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if err := m.rt.Close(ctx); err != nil {
		return fmt.Errorf("wasmrt: closing: %w", err)
	}
	return nil
}

// Float32Bytes encodes v little-endian, the layout of an f32 input.
func Float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// BytesFloat32 decodes little-endian f32 data; a trailing partial element is an error.
func BytesFloat32(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("wasmrt: %d bytes is not a whole number of float32s", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func alignUp(n uint64) uint64 { return (n + Align - 1) / Align * Align }

func prefixOf(name string) (string, error) {
	if name == "" {
		name = "model"
	}
	for i, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", fmt.Errorf("wasmrt: model name %q has %q at byte %d; names are ASCII letters, digits and '_' as given to effc compile --name", name, r, i)
		}
	}
	return "effc_" + name, nil
}

func typeNames(ts []api.ValueType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = api.ValueTypeName(t)
	}
	return "(" + strings.Join(s, ", ") + ")"
}
