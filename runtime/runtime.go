// Package runtime generates the C-facing side of a compiled effc model: the
// documented header model.h (ABI functions, tensor macros) and the ES module
// loader for model.wasm. The ABI functions themselves are emitted by the
// backend; this package only describes them.
//
// # The ABI
//
// A model compiled with name N exports, with prefix P = "effc_" + N:
//
//	size_t P_arena_size(void);
//	int    P_run(void *arena, const void *const *inputs, void *const *outputs);
//
// The caller allocates one 64-byte aligned arena of P_arena_size() bytes per
// concurrent run, passes dense row-major input and output buffers in graph
// order, and gets 0 on success. The model never allocates, does no I/O and
// uses no libc beyond libm. docs/runtime.md is the full description.
//
// A model compiled with --weights file keeps its weights out of the
// artifacts, in weights.bin, and also exports
//
//	size_t P_weights_size(void);
//	int    P_set_weights(const void *weights, size_t size);
//
// The caller loads weights.bin into 64-byte aligned memory and passes it to
// P_set_weights once before the first P_run.
package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/effc/effc/ir"
)

// ArenaAlign is the alignment, in bytes, that the arena and every input and
// output buffer must have (it matches backend/plan.Align). The weights of a
// model compiled with --weights file need the same alignment.
const ArenaAlign = 64

// The non-zero values P_run returns.
const (
	RunMisaligned = 1 // the arena is not ArenaAlign-byte aligned
	RunNoWeights  = 2 // --weights file: P_set_weights never succeeded
)

// The non-zero values P_set_weights returns.
const (
	WeightsBadSize    = 1 // size is not P_weights_size()
	WeightsBadPointer = 2 // the pointer is NULL or not ArenaAlign-byte aligned
)

// WeightsFile describes the weights of a model compiled with --weights
// file: the file the compiler wrote beside the artifacts and its size, which
// P_set_weights insists on.
type WeightsFile struct {
	Name string // file name, "weights.bin"
	Size int64  // bytes
}

// TensorInfo describes one model input or output as model.h publishes it.
// In JSON (manifest.json) it is {"name": "x", "dtype": "f32", "shape": [2, 3]},
// the dtype spelled as in the IR text form.
type TensorInfo struct {
	Name  string
	DType ir.DType
	Shape []int64
}

type tensorInfoJSON struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// MarshalJSON writes t with lower-case keys and the dtype's name.
func (t TensorInfo) MarshalJSON() ([]byte, error) {
	shape := t.Shape
	if shape == nil {
		shape = []int64{}
	}
	return json.Marshal(tensorInfoJSON{t.Name, t.DType.String(), shape})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *TensorInfo) UnmarshalJSON(b []byte) error {
	var j tensorInfoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("tensor info: %w", err)
	}
	dt, err := ir.ParseDType(j.DType)
	if err != nil {
		return fmt.Errorf("tensor info %q: %w", j.Name, err)
	}
	*t = TensorInfo{Name: j.Name, DType: dt, Shape: j.Shape}
	if t.Shape == nil {
		t.Shape = []int64{}
	}
	return nil
}

// NumElements is the element count, or -1 if a dim is negative (symbolic) or
// the product overflows ir.MaxElements.
func (t TensorInfo) NumElements() int64 {
	n, err := ir.CheckedNumElements(t.Shape)
	if err != nil {
		return -1
	}
	return n
}

// ByteSize is NumElements times the element size, or -1 when either is unknown.
func (t TensorInfo) ByteSize() int64 {
	n := t.NumElements()
	if n < 0 || t.DType.Size() == 0 {
		return -1
	}
	return n * int64(t.DType.Size())
}

// check reports why t cannot cross the C ABI, or nil.
func (t TensorInfo) check() error {
	if t.DType.Size() == 0 {
		return fmt.Errorf("dtype %s has no fixed-size C representation", t.DType)
	}
	if _, err := ir.CheckedNumElements(t.Shape); err != nil {
		return fmt.Errorf("shape %v is not static (%v); bind symbolic dims with --shape or --batch before compiling", t.Shape, err)
	}
	return nil
}

// ValidName reports whether name can be a model name: it becomes part of C
// symbols, so only ASCII letters, digits and '_' are allowed.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("model name is empty; pass --name with letters, digits or '_'")
	}
	for i, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("model name %q has %q at byte %d; use only ASCII letters, digits and '_' (it is part of C symbol names)", name, r, i)
		}
	}
	return nil
}

// Prefix is the symbol prefix of model name: "effc_" + name, with characters
// that cannot appear in a C identifier replaced by '_' (and "model" for "").
func Prefix(name string) string {
	if name == "" {
		name = "model"
	}
	b := []byte(name)
	for i, c := range b {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return "effc_" + string(b)
}

// CType is the C element type of dt as model.h spells it. Types C lacks are
// carried as raw bits: float16/bfloat16 as uint16_t, the float8 formats and
// bool as uint8_t (ONNX stores bool as one byte). It is "" for dtypes with no
// fixed size (string, undefined).
func CType(dt ir.DType) string {
	switch dt {
	case ir.Float32:
		return "float"
	case ir.Float64:
		return "double"
	case ir.Int8:
		return "int8_t"
	case ir.Uint8, ir.Bool, ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return "uint8_t"
	case ir.Int16:
		return "int16_t"
	case ir.Uint16, ir.Float16, ir.BFloat16:
		return "uint16_t"
	case ir.Int32:
		return "int32_t"
	case ir.Uint32:
		return "uint32_t"
	case ir.Int64:
		return "int64_t"
	case ir.Uint64:
		return "uint64_t"
	case ir.Complex64:
		return "float" // pairs (re, im); NUMEL counts complex elements
	case ir.Complex128:
		return "double"
	}
	return ""
}

// cString quotes s as a C string literal, escaping everything outside
// printable ASCII as three-digit octal so the literal is unambiguous.
func cString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '?': // avoid trigraphs
			b.WriteString(`\077`)
		case c == '*': // keep "/*" and "*/" out of macro lines, so ParseHeader can strip comments
			b.WriteString(`\052`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// comment makes s safe inside a /* */ comment.
func comment(s string) string {
	s = strings.ReplaceAll(s, "*/", "* /")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func shapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Header returns model.h for a model compiled with the given name: a
// self-contained, documented C header with an include guard and extern "C",
// the two ABI prototypes, and macros for every input and output
// (P_INPUT_<i>_NAME, _DTYPE, _CTYPE, _RANK, _SHAPE, _NUMEL, _BYTES, and
// P_INPUT_INDEX_<NAME> when the name maps to a unique identifier), list
// initializers over all of them (P_INPUT_BYTES_LIST, ...), the arena size and
// alignment. P is the upper-cased Prefix(name).
//
// A tensor that cannot cross the ABI (a symbolic dim, a string dtype) yields
// a header containing an #error line that names it, so a C build fails with
// the reason instead of miscompiling.
func Header(name string, ins, outs []TensorInfo, arenaSize int64) []byte {
	return HeaderWithWeights(name, ins, outs, arenaSize, nil)
}

// HeaderWithWeights is Header for a model whose weights are in the file wf
// (--weights file); a nil wf means embedded weights, as in Header. The header
// then also has P_WEIGHTS_FILE, P_WEIGHTS_SIZE, P_WEIGHTS_ALIGN, the return
// codes P_RUN_NO_WEIGHTS, P_WEIGHTS_BAD_SIZE and P_WEIGHTS_BAD_POINTER, and
// the prototypes of P_weights_size and P_set_weights.
func HeaderWithWeights(name string, ins, outs []TensorInfo, arenaSize int64, wf *WeightsFile) []byte {
	p := Prefix(name)
	up := strings.ToUpper(p)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("/* %s.h: C interface of the effc-compiled model %s.\n", "model", cString(name))
	w(" *\n")
	w(" * Generated by effc; do not edit. Documentation: docs/runtime.md.\n")
	w(" *\n")
	w(" * Usage:\n")
	if wf != nil {
		w(" *   void *weights = aligned_alloc(%s_WEIGHTS_ALIGN, ...);  the bytes of %s\n", up, comment(wf.Name))
		w(" *   int wrc = %s_set_weights(weights, %s_WEIGHTS_SIZE);   once, 0 on success\n", p, up)
	}
	w(" *   void *arena = aligned_alloc(%s_ARENA_ALIGN, %s_ARENA_SIZE_ROUNDED);\n", up, up)
	w(" *   const void *inputs[%s_NUM_INPUTS] = { ... };   dense row-major, graph order\n", up)
	w(" *   void *outputs[%s_NUM_OUTPUTS] = { ... };\n", up)
	w(" *   int rc = %s_run(arena, inputs, outputs);          0 on success\n", p)
	w(" *\n")
	if wf != nil {
		w(" * The model does not allocate, does no I/O and uses no libc beyond libm:\n")
		w(" * link with -lm. Its only global state is the weights pointer that\n")
		w(" * %s_set_weights stores. Runs are reentrant: concurrent runs are safe as\n", p)
		w(" * long as each one has its own arena and outputs and %s_set_weights is\n", p)
		w(" * not called while one is in progress.\n")
	} else {
		w(" * The model does not allocate, does no I/O, keeps no global state and\n")
		w(" * uses no libc beyond libm: link with -lm. It is reentrant: concurrent\n")
		w(" * runs are safe as long as each one has its own arena and outputs.\n")
	}
	w(" */\n")
	w("#ifndef %s_H\n#define %s_H\n\n", up, up)
	w("#include <stddef.h>\n#include <stdint.h>\n\n")
	w("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n")
	w("/* The model name given to effc compile --name. */\n")
	w("#define %s_MODEL_NAME %s\n\n", up, cString(name))
	w("/* Bytes of scratch memory %s_run needs; equal to %s_arena_size(). */\n", p, p)
	if arenaSize < 0 {
		w("#error \"effc: negative arena size %d; the compiler produced an invalid plan, please report it\"\n", arenaSize)
		arenaSize = 0
	}
	w("#define %s_ARENA_SIZE %d\n", up, arenaSize)
	w("/* Required alignment, in bytes, of the arena and of every input and output buffer. */\n")
	w("#define %s_ARENA_ALIGN %d\n", up, ArenaAlign)
	rounded := (arenaSize + ArenaAlign - 1) / ArenaAlign * ArenaAlign
	if rounded == 0 {
		rounded = ArenaAlign
	}
	w("/* ARENA_SIZE rounded up to a non-zero multiple of ARENA_ALIGN, as aligned_alloc wants. */\n")
	w("#define %s_ARENA_SIZE_ROUNDED %d\n\n", up, rounded)
	w("/* Non-zero return value of %s_run: the arena is misaligned. */\n", p)
	w("#define %s_RUN_MISALIGNED %d\n\n", up, RunMisaligned)
	if wf != nil {
		w("/* ---- weights (compiled with --weights file) ---- */\n")
		w("/* The file the compiler wrote beside the library: %s_set_weights wants its bytes. */\n", p)
		w("#define %s_WEIGHTS_FILE %s\n", up, cString(wf.Name))
		w("/* Its size in bytes; equal to %s_weights_size(). */\n", p)
		w("#define %s_WEIGHTS_SIZE %d\n", up, wf.Size)
		w("/* Required alignment, in bytes, of the weights' address. */\n")
		w("#define %s_WEIGHTS_ALIGN %d\n", up, ArenaAlign)
		w("/* Non-zero return values of %s_run and %s_set_weights. */\n", p, p)
		w("#define %s_RUN_NO_WEIGHTS %d /* %s_run: %s_set_weights never succeeded */\n", up, RunNoWeights, p, p)
		w("#define %s_WEIGHTS_BAD_SIZE %d /* size is not %s_WEIGHTS_SIZE */\n", up, WeightsBadSize, up)
		w("#define %s_WEIGHTS_BAD_POINTER %d /* NULL or not %s_WEIGHTS_ALIGN-byte aligned */\n\n", up, WeightsBadPointer, up)
	}

	section := func(kind string, list []TensorInfo) {
		upKind := strings.ToUpper(kind)
		w("/* ---- %ss ---- */\n", kind)
		w("#define %s_NUM_%sS %d\n\n", up, upKind, len(list))
		names, dtypes, bytesList, numels, ranks := []string{}, []string{}, []string{}, []string{}, []string{}
		seen := map[string]int{}
		for _, t := range list {
			seen[identifier(t.Name)]++
		}
		for i, t := range list {
			m := fmt.Sprintf("%s_%s_%d", up, upKind, i)
			w("/* %s %d: %s %s%s */\n", kind, i, comment(strconv.Quote(t.Name)), t.DType, shapeString(t.Shape))
			if err := t.check(); err != nil {
				w("#error %s\n", cString(fmt.Sprintf("effc: %s %d (%q): %v", kind, i, t.Name, err)))
			}
			id := identifier(t.Name)
			if id != "" && seen[id] == 1 {
				w("#define %s_%s_INDEX_%s %d\n", up, upKind, id, i)
			}
			w("#define %s_NAME %s\n", m, cString(t.Name))
			w("#define %s_DTYPE %s\n", m, cString(t.DType.String()))
			w("#define %s_DTYPE_ONNX %d /* TensorProto.DataType */\n", m, int(t.DType))
			ct := CType(t.DType)
			if ct == "" {
				ct = "void"
			}
			w("#define %s_CTYPE %s\n", m, ct)
			w("#define %s_RANK %d\n", m, len(t.Shape))
			if len(t.Shape) == 0 {
				w("#define %s_SHAPE {0} /* rank 0: no dims; the 0 keeps the initializer valid C */\n", m)
			} else {
				dims := make([]string, len(t.Shape))
				for k, d := range t.Shape {
					dims[k] = strconv.FormatInt(d, 10)
				}
				w("#define %s_SHAPE {%s}\n", m, strings.Join(dims, ", "))
			}
			numel, size := t.NumElements(), t.ByteSize()
			if numel < 0 {
				numel = 0
			}
			if size < 0 {
				size = 0
			}
			w("#define %s_NUMEL %d\n", m, numel)
			w("#define %s_BYTES %d\n\n", m, size)
			names = append(names, m+"_NAME")
			dtypes = append(dtypes, m+"_DTYPE")
			bytesList = append(bytesList, m+"_BYTES")
			numels = append(numels, m+"_NUMEL")
			ranks = append(ranks, m+"_RANK")
		}
		list0 := func(items []string) string {
			if len(items) == 0 {
				return "{0} /* no " + kind + "s; the 0 keeps the initializer valid C */"
			}
			return "{" + strings.Join(items, ", ") + "}"
		}
		w("/* Initializers over all %ss, in order, e.g. static const size_t n[] = %s_%s_BYTES_LIST; */\n", kind, up, upKind)
		w("#define %s_%s_NAMES_LIST %s\n", up, upKind, list0(names))
		w("#define %s_%s_DTYPES_LIST %s\n", up, upKind, list0(dtypes))
		w("#define %s_%s_RANKS_LIST %s\n", up, upKind, list0(ranks))
		w("#define %s_%s_NUMELS_LIST %s\n", up, upKind, list0(numels))
		w("#define %s_%s_BYTES_LIST %s\n\n", up, upKind, list0(bytesList))
	}
	section("input", ins)
	section("output", outs)
	pool := int64(0)
	for _, t := range append(append([]TensorInfo(nil), ins...), outs...) {
		if n := t.ByteSize(); n > 0 {
			pool += (n + ArenaAlign - 1) / ArenaAlign * ArenaAlign
		}
	}
	if pool == 0 {
		pool = ArenaAlign
	}
	w("/* Bytes of one static buffer that holds every input and output, each at a\n")
	w(" * %s_ARENA_ALIGN-aligned offset (sizes rounded up), for programs that avoid malloc. */\n", up)
	w("#define %s_IO_POOL_SIZE %d\n\n", up, pool)

	w("/* Returns the number of bytes of scratch memory %s_run needs (%s_ARENA_SIZE). */\n", p, up)
	w("size_t %s_arena_size(void);\n\n", p)
	w("/* Runs the model once.\n")
	w(" *   arena:   %s_arena_size() bytes, %s_ARENA_ALIGN-byte aligned; contents need\n", p, up)
	w(" *            not be initialized and are garbage afterwards. One arena per\n")
	w(" *            concurrent run.\n")
	w(" *   inputs:  %s_NUM_INPUTS pointers to dense row-major buffers of\n", up)
	w(" *            %s_INPUT_<i>_BYTES bytes each, %s_ARENA_ALIGN-byte aligned.\n", up, up)
	w(" *   outputs: %s_NUM_OUTPUTS pointers to buffers of %s_OUTPUT_<i>_BYTES bytes,\n", up, up)
	w(" *            %s_ARENA_ALIGN-byte aligned; they must not overlap the inputs or arena.\n", up)
	w(" * Returns 0 on success and non-zero if the model refused to run\n")
	if wf != nil {
		w(" * (%s_RUN_MISALIGNED: misaligned arena; %s_RUN_NO_WEIGHTS: no weights\n", up, up)
		w(" * set); outputs are then unspecified. */\n")
	} else {
		w(" * (%s_RUN_MISALIGNED: misaligned arena); outputs are then unspecified. */\n", up)
	}
	w("int %s_run(void *arena, const void *const *inputs, void *const *outputs);\n\n", p)
	if wf != nil {
		w("/* Returns the number of bytes of weights the model reads (%s_WEIGHTS_SIZE). */\n", up)
		w("size_t %s_weights_size(void);\n\n", p)
		w("/* Makes %s_run read its weights from the given copy of %s: size bytes at a\n", p, comment(wf.Name))
		w(" * %s_WEIGHTS_ALIGN-byte aligned address, which must stay valid and unchanged while\n", up)
		w(" * runs use it. Call it before the first run; calling it again switches copies,\n")
		w(" * but not while a run is in progress. Returns 0, or %s_WEIGHTS_BAD_SIZE if\n", up)
		w(" * size is not %s_WEIGHTS_SIZE, or %s_WEIGHTS_BAD_POINTER if weights is NULL or\n", up, up)
		w(" * misaligned; after a refusal the previous weights, if any, stay in use. */\n")
		w("int %s_set_weights(const void *weights, size_t size);\n\n", p)
	}
	w("#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H */\n", up)
	return b.Bytes()
}

// identifier turns a tensor name into a C identifier fragment for its index
// macro, or "" if nothing usable remains.
func identifier(name string) string {
	b := []byte(name)
	keep := false
	for i, c := range b {
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			keep = keep || c != '_'
			continue
		}
		b[i] = '_'
	}
	if !keep {
		return ""
	}
	return strings.ToUpper(string(b))
}
