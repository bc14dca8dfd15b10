package llvmgen

import (
	"encoding/binary"
	"fmt"
	"strings"

	ll "github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// kernel is the state of one node's kernel function while it is written.
type kernel struct {
	e       *emitter
	n       *ir.Node
	f       *ll.Func
	b       *ll.Block // the block new instructions go to
	in      []*buf    // nil for omitted optional inputs
	out     []*buf    // nil for omitted optional outputs
	scratch value.Value
}

// buf is a tensor argument of a kernel: a typed pointer to its first
// element, its dtype and static shape, and the constant data when the value
// is a compile-time constant (kernels may specialise on it).
type buf struct {
	ptr   value.Value // pointer to storage elements (see storageType)
	dt    ir.DType
	shape []int64
	konst *ir.Tensor
}

// len is the element count.
func (b *buf) len() int64 { return ir.NumElements(b.shape) }

// bindBuf casts a raw i8* parameter to the value's storage element pointer.
func (k *kernel) bindBuf(p *ll.Param, v *ir.Value) (*buf, error) {
	if !v.Type.Ranked || !v.Type.Shape.Static() {
		return nil, fmt.Errorf("value %q has type %s, which is not static; bind symbolic dims with --shape or --batch", v.Name, v.Type)
	}
	st, err := storageType(v.Type.DType)
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", v.Name, err)
	}
	ptr := k.b.NewBitCast(p, types.NewPointer(st))
	ptr.SetName(p.Name() + "." + sanitize(v.Name))
	return &buf{ptr: ptr, dt: v.Type.DType, shape: v.Type.Shape.Sizes(), konst: v.Const}, nil
}

// storageType is the LLVM type one element is stored as. Half-precision and
// FP8 values are stored as raw integer bits and converted on load/store.
func storageType(dt ir.DType) (types.Type, error) {
	switch dt {
	case ir.Float32:
		return types.Float, nil
	case ir.Float64:
		return types.Double, nil
	case ir.Int8, ir.Uint8, ir.Bool, ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return types.I8, nil
	case ir.Int16, ir.Uint16, ir.Float16, ir.BFloat16:
		return types.I16, nil
	case ir.Int32, ir.Uint32:
		return types.I32, nil
	case ir.Int64, ir.Uint64:
		return types.I64, nil
	}
	return nil, fmt.Errorf("dtype %s cannot be compiled", dt)
}

// computeType is the LLVM type arithmetic on dt happens in: half precision
// widens to float; integers and bools keep their storage width.
func computeType(dt ir.DType) types.Type {
	switch dt {
	case ir.Float16, ir.BFloat16:
		return types.Float
	case ir.Float64:
		return types.Double
	case ir.Float32:
		return types.Float
	}
	st, _ := storageType(dt)
	return st
}

// i64 returns an i64 constant.
func i64(v int64) *constant.Int { return constant.NewInt(types.I64, v) }

// loop emits `for i := 0; i < n; i++ { body(i) }` at k.b and leaves k.b at
// the block after the loop. body may open nested loops.
func (k *kernel) loop(n int64, body func(i value.Value)) {
	if n <= 0 {
		return
	}
	pre := k.b
	header := k.f.NewBlock("")
	exit := k.f.NewBlock("")
	pre.NewBr(header)
	phi := header.NewPhi(ll.NewIncoming(i64(0), pre))
	k.b = header
	body(phi)
	next := k.b.NewAdd(phi, i64(1))
	phi.Incs = append(phi.Incs, ll.NewIncoming(next, k.b))
	k.b.NewCondBr(k.b.NewICmp(enum.IPredSLT, next, i64(n)), header, exit)
	k.b = exit
}

// loopNest emits nested loops over dims (outermost first) and calls body
// with the loop indices.
func (k *kernel) loopNest(dims []int64, body func(idx []value.Value)) {
	idx := make([]value.Value, len(dims))
	var rec func(d int)
	rec = func(d int) {
		if d == len(dims) {
			body(idx)
			return
		}
		k.loop(dims[d], func(i value.Value) {
			idx[d] = i
			rec(d + 1)
		})
	}
	rec(0)
}

// linear returns sum(idx[i] * strides[i]) + base, skipping zero strides.
func (k *kernel) linear(idx []value.Value, strides []int64, base int64) value.Value {
	var acc value.Value = i64(base)
	for i, s := range strides {
		if s == 0 || idx[i] == nil {
			continue
		}
		var term value.Value = idx[i]
		if s != 1 {
			term = k.b.NewMul(idx[i], i64(s))
		}
		if c, ok := acc.(*constant.Int); ok && c.X.Sign() == 0 {
			acc = term
		} else {
			acc = k.b.NewAdd(acc, term)
		}
	}
	return acc
}

// elemPtr returns &b[i].
func (k *kernel) elemPtr(b *buf, i value.Value) value.Value {
	st, _ := storageType(b.dt)
	return k.b.NewGetElementPtr(st, b.ptr, i)
}

// load reads b[i] and converts it to its compute type.
func (k *kernel) load(b *buf, i value.Value) value.Value {
	st, _ := storageType(b.dt)
	v := k.b.NewLoad(st, k.elemPtr(b, i))
	return k.widen(v, b.dt)
}

// store converts x from b's compute type and writes b[i].
func (k *kernel) store(b *buf, i value.Value, x value.Value) {
	k.b.NewStore(k.narrow(x, b.dt), k.elemPtr(b, i))
}

// widen converts stored bits of dt to its compute type.
func (k *kernel) widen(v value.Value, dt ir.DType) value.Value {
	switch dt {
	case ir.Float16:
		if k.wasm() {
			// LLVM 14 turns half conversions into libcalls on wasm32 and
			// miscompiles them when vectorized, so decode the bits with
			// integer code there.
			return k.f16Decode(v)
		}
		h := k.b.NewBitCast(v, types.Half)
		return k.b.NewFPExt(h, types.Float)
	case ir.BFloat16:
		w := k.b.NewZExt(v, types.I32)
		s := k.b.NewShl(w, constant.NewInt(types.I32, 16))
		return k.b.NewBitCast(s, types.Float)
	}
	return v
}

// narrow converts a compute-type value to dt's stored bits (round to
// nearest even for half precision).
func (k *kernel) narrow(x value.Value, dt ir.DType) value.Value {
	switch dt {
	case ir.Float16:
		if k.wasm() {
			return k.f16Encode(x)
		}
		h := k.b.NewFPTrunc(x, types.Half)
		return k.b.NewBitCast(h, types.I16)
	case ir.BFloat16:
		// bits + 0x7fff + ((bits >> 16) & 1), NaN kept quiet.
		bits := k.b.NewBitCast(x, types.I32)
		lsb := k.b.NewAnd(k.b.NewLShr(bits, constant.NewInt(types.I32, 16)), constant.NewInt(types.I32, 1))
		r := k.b.NewAdd(k.b.NewAdd(bits, constant.NewInt(types.I32, 0x7fff)), lsb)
		nan := k.b.NewFCmp(enum.FPredUNO, x, x)
		q := k.b.NewOr(bits, constant.NewInt(types.I32, 0x400000))
		sel := k.b.NewSelect(nan, q, r)
		return k.b.NewTrunc(k.b.NewLShr(sel, constant.NewInt(types.I32, 16)), types.I16)
	}
	return x
}

// floatConst returns a constant of float type t.
func floatConst(t types.Type, v float64) constant.Constant {
	return constant.NewFloat(t.(*types.FloatType), v)
}

// call emits a call to a libm function or LLVM intrinsic of one float type.
func (k *kernel) call(name string, t types.Type, args ...value.Value) value.Value {
	ps := make([]types.Type, len(args))
	for i := range ps {
		ps[i] = t
	}
	return k.b.NewCall(k.e.intrinsic(name, t, ps...), args...)
}

// strides returns row-major strides of shape.
func strides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// broadcastStrides returns the strides to index a tensor of shape in while
// walking out (right-aligned), with 0 on broadcast dims.
func broadcastStrides(in, out []int64) []int64 {
	s := strides(in)
	res := make([]int64, len(out))
	off := len(out) - len(in)
	for i := range in {
		if in[i] != 1 {
			res[off+i] = s[i]
		}
	}
	return res
}

// constTable puts an array of i32 or i64 values in the read-only data and
// returns a pointer to its first element.
func (k *kernel) constTable(vals []int64, wide bool) value.Value {
	if wide {
		raw := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
		return k.rodata(raw, types.I64)
	}
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return k.rodata(raw, types.I32)
}

// rodata puts raw little-endian bytes in the model's read-only data blob
// (64-byte aligned) and returns a pointer to them typed as elem*. Every
// compile-time table and packed weight goes here, so the module text stays
// small whatever the model's size.
func (k *kernel) rodata(raw []byte, elem types.Type) value.Value {
	return k.e.rodataPtr(k.f, k.e.addRodata(raw), types.NewPointer(elem))
}

// wasm reports whether the module targets wasm32, where float16 values
// convert with integer code instead of fpext/fptrunc: LLVM 14 lowers those
// to __extendhfsf2/__truncsfhf2 libcalls, miscompiles them in vectorized
// loops (an i64 argument to an i32 parameter) and folds away a
// fptrunc/fpext round trip that must round.
func (k *kernel) wasm() bool { return strings.HasPrefix(k.e.cfg.Triple, "wasm") }

// f16Decode converts float16 bits (i16) to float exactly, with integer
// operations only (ir.Float16ToFloat32).
func (k *kernel) f16Decode(h value.Value) value.Value {
	c := func(v int64) value.Value { return constant.NewInt(types.I32, v) }
	w := k.b.NewZExt(h, types.I32)
	sign := k.b.NewShl(k.b.NewAnd(w, c(0x8000)), c(16))
	exp := k.b.NewAnd(k.b.NewLShr(w, c(10)), c(0x1f))
	man := k.b.NewAnd(w, c(0x3ff))
	normal := k.b.NewOr(sign, k.b.NewOr(k.b.NewShl(k.b.NewAdd(exp, c(112)), c(23)), k.b.NewShl(man, c(13))))
	special := k.b.NewOr(sign, k.b.NewOr(c(0x7f800000), k.b.NewShl(man, c(13))))
	subF := k.b.NewFMul(k.b.NewUIToFP(man, types.Float), constant.NewFloat(types.Float, 0x1p-24))
	sub := k.b.NewOr(sign, k.b.NewBitCast(subF, types.I32))
	r := k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, exp, c(0x1f)), special, normal)
	r = k.b.NewSelect(k.b.NewICmp(enum.IPredEQ, exp, c(0)), sub, r)
	return k.b.NewBitCast(r, types.Float)
}

// f16Encode converts float x to float16 bits (i16), rounding to nearest
// even, with integer operations only (ir.Float32ToFloat16: NaN becomes the
// quiet NaN 0x7e00 with x's sign).
func (k *kernel) f16Encode(x value.Value) value.Value {
	c := func(v int64) value.Value { return constant.NewInt(types.I32, v) }
	b := k.b.NewBitCast(x, types.I32)
	sign := k.b.NewAnd(k.b.NewLShr(b, c(16)), c(0x8000))
	exp := k.b.NewAnd(k.b.NewLShr(b, c(23)), c(0xff))
	man := k.b.NewAnd(b, c(0x7fffff))
	e := k.b.NewSub(exp, c(112)) // exp - 127 + 15
	roundUp := func(r, rem, half value.Value) value.Value {
		odd := k.b.NewICmp(enum.IPredNE, k.b.NewAnd(r, c(1)), c(0))
		up := k.b.NewOr(k.b.NewICmp(enum.IPredUGT, rem, half),
			k.b.NewAnd(k.b.NewICmp(enum.IPredEQ, rem, half), odd))
		return k.b.NewAdd(r, k.b.NewZExt(up, types.I32))
	}
	// Normal: drop 13 mantissa bits (a carry may reach infinity, 0x7c00).
	nr := k.b.NewOr(k.b.NewShl(e, c(10)), k.b.NewLShr(man, c(13)))
	normal := roundUp(nr, k.b.NewAnd(man, c(0x1fff)), c(0x1000))
	// Subnormal (-10 <= e <= 0): shift the full significand by 14-e.
	inSub := k.b.NewAnd(k.b.NewICmp(enum.IPredSLE, e, c(0)), k.b.NewICmp(enum.IPredSGE, e, c(-10)))
	shift := k.b.NewSelect(inSub, k.b.NewSub(c(14), e), c(14))
	full := k.b.NewOr(man, c(0x800000))
	sr := k.b.NewLShr(full, shift)
	mask := k.b.NewSub(k.b.NewShl(c(1), shift), c(1))
	half := k.b.NewShl(c(1), k.b.NewSub(shift, c(1)))
	subnormal := roundUp(sr, k.b.NewAnd(full, mask), half)
	var r value.Value = normal
	r = k.b.NewSelect(inSub, subnormal, r)
	r = k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, e, c(-10)), c(0), r)
	r = k.b.NewSelect(k.b.NewICmp(enum.IPredSGE, e, c(0x1f)), c(0x7c00), r)
	isSpecial := k.b.NewICmp(enum.IPredEQ, exp, c(0xff))
	nanOrInf := k.b.NewSelect(k.b.NewICmp(enum.IPredNE, man, c(0)), c(0x7e00), c(0x7c00))
	r = k.b.NewSelect(isSpecial, nanOrInf, r)
	return k.b.NewTrunc(k.b.NewOr(sign, r), types.I16)
}

// ifThen emits if cond { then() } else { els() } (els may be nil) and
// leaves k.b at the join block.
func (k *kernel) ifThen(cond value.Value, then, els func()) {
	tb, join := k.f.NewBlock(""), k.f.NewBlock("")
	eb := join
	if els != nil {
		eb = k.f.NewBlock("")
	}
	k.b.NewCondBr(cond, tb, eb)
	k.b = tb
	then()
	k.b.NewBr(join)
	if els != nil {
		k.b = eb
		els()
		k.b.NewBr(join)
	}
	k.b = join
}
