package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// movementKernels holds the data-movement family: ops whose output elements
// are copies of input elements (or a fill value) at positions fixed by the
// static shapes and constant operands.
var movementKernels = map[string]kernelFunc{
	"Identity":      indexMapKernel(nil),
	"Dropout":       dropoutKernel,
	"Reshape":       indexMapKernel(nil),
	"Flatten":       indexMapKernel(nil),
	"Squeeze":       indexMapKernel(nil),
	"Unsqueeze":     indexMapKernel(nil),
	"Transpose":     indexMapKernel(nil),
	"Concat":        indexMapKernel(nil),
	"Split":         indexMapKernel(nil),
	"Slice":         indexMapKernel(nil),
	"Expand":        indexMapKernel(nil),
	"Tile":          indexMapKernel(nil),
	"Pad":           indexMapKernel(map[int]bool{2: true}),
	"DepthToSpace":  indexMapKernel(nil),
	"SpaceToDepth":  indexMapKernel(nil),
	"Trilu":         indexMapKernel(nil),
	"CenterCropPad": indexMapKernel(nil),
	"Compress":      indexMapKernel(nil), // the condition must be a constant: it decides the output shape

	// Runtime indices (gather.go); constant ones use the index map.
	"Gather":          indexOr(gatherKernel),
	"GatherElements":  indexOr(gatherElementsKernel),
	"GatherND":        indexOr(gatherNDKernel),
	"ReverseSequence": indexOr(reverseSequenceKernel),
	"ScatterElements": foldOr(scatterElementsKernel),
	"ScatterND":       foldOr(scatterNDKernel),
	"OneHot":          foldOr(oneHotKernel),
	"Unique":          foldOr(uniqueKernel),
}

// indexMapKernel compiles an op by running it once at compile time on
// "iota" inputs — every data element replaced by its own position — with the
// reference interpreter. The result says, for every output element, which
// input element it copies (or that it is the fill value), so the kernel is a
// list of copies that needs no knowledge of the op. fill names the inputs
// that hold the fill value (Pad's constant_value); every other non-data
// input must be a constant.
//
// Contiguous runs become memcpy calls; scattered copies read an index table.
func indexMapKernel(fill map[int]bool) kernelFunc {
	return func(k *kernel) error {
		data := dataInputs(k.n)
		args := make([]*ir.Tensor, len(k.in))
		var offsets []int64 // global index of each data input's first element
		total := int64(0)
		for i, b := range k.in {
			if b == nil {
				continue
			}
			switch {
			case data[i]:
				offsets = append(offsets, total)
				t := ir.NewTensor(ir.Float64, b.shape)
				d := t.Data.([]float64)
				for j := range d {
					d[j] = float64(total + int64(j) + 1) // 0 means "fill"
				}
				total += b.len()
				args[i] = t
			case fill[i]:
				args[i] = ir.NewTensor(ir.Float64, b.shape) // zeros mark the fill value
			case b.konst != nil:
				args[i] = b.konst
			default:
				return fmt.Errorf("input %d must be a constant to compile %s (its value decides the output layout)", i, k.n.Op)
			}
		}
		if total >= 1<<52 {
			return fmt.Errorf("inputs too large to map (%d elements)", total)
		}
		outs, err := interp.EvalNode(k.n, args)
		if err != nil {
			return fmt.Errorf("computing the index map: %w", err)
		}
		var fillVal value.Value
		for i := range k.in {
			if fill[i] && k.in[i] != nil {
				fillVal = k.load(k.in[i], i64(0))
			}
		}
		for o, ob := range k.out {
			if ob == nil {
				continue
			}
			if o >= len(outs) || outs[o] == nil || outs[o].Len() != int(ob.len()) {
				return fmt.Errorf("index map of output %d does not match its shape %v", o, ob.shape)
			}
			src, ok := outs[o].Data.([]float64)
			if !ok {
				return fmt.Errorf("index map of output %d has dtype %s; only data outputs can be mapped", o, outs[o].DType)
			}
			if err := k.emitCopies(ob, src, offsets, fillVal); err != nil {
				return err
			}
		}
		return nil
	}
}

// dropoutKernel compiles Dropout for inference (and for the zero-ratio
// training runs the interpreter accepts): the output is a copy of the data
// and the optional mask is all true.
func dropoutKernel(k *kernel) error {
	x := k.in[0]
	if out := k.out[0]; out != nil {
		if out.dt != x.dt || out.len() != x.len() {
			return fmt.Errorf("output type %s%v differs from input %s%v", out.dt, out.shape, x.dt, x.shape)
		}
		k.mxCopy(out, x)
	}
	if len(k.out) > 1 && k.out[1] != nil {
		mask := k.out[1]
		st, err := storageType(mask.dt)
		if err != nil {
			return err
		}
		it, ok := st.(*types.IntType)
		if !ok {
			return fmt.Errorf("mask has dtype %s, want bool", mask.dt)
		}
		k.loop(mask.len(), func(i value.Value) {
			k.b.NewStore(constant.NewInt(it, 1), k.elemPtr(mask, i))
		})
	}
	return nil
}

// dataInputs returns which inputs of n carry the data being moved.
func dataInputs(n *ir.Node) map[int]bool {
	d := map[int]bool{0: true}
	if n.Op == "Concat" {
		for i := range n.Inputs {
			d[i] = true
		}
	}
	return d
}

// run is a contiguous copy: out[outStart:outStart+n] = in_j[inStart:inStart+n].
type run struct {
	input             int // data input index in order, -1 for fill
	outStart, inStart int64
	n                 int64
}

// maxUnrolledRuns bounds the memcpy calls emitted straight-line.
const maxUnrolledRuns = 64

// emitCopies writes out from the index map src (global index + 1, 0 = fill).
func (k *kernel) emitCopies(out *buf, src []float64, offsets []int64, fillVal value.Value) error {
	runs := toRuns(src, offsets)
	elem := int64(out.dt.Size())
	if len(runs) <= maxUnrolledRuns {
		for _, r := range runs {
			if r.input < 0 {
				k.fillRange(out, r.outStart, r.n, fillVal)
				continue
			}
			in := k.dataBuf(r.input)
			dst := k.b.NewGetElementPtr(types.I8, k.b.NewBitCast(out.ptr, i8p), i64(r.outStart*elem))
			s := k.b.NewGetElementPtr(types.I8, k.b.NewBitCast(in.ptr, i8p), i64(r.inStart*elem))
			k.e.memcpy(k.b, dst, s, r.n*elem)
		}
		return nil
	}
	// Scattered: one table of source indices per data input; fill positions
	// get their own table.
	for j := range offsets {
		var dst, from []int64
		for i, v := range src {
			if v == 0 {
				continue
			}
			g := int64(v) - 1
			if inputOf(g, offsets) == j {
				dst = append(dst, int64(i))
				from = append(from, g-offsets[j])
			}
		}
		if len(dst) == 0 {
			continue
		}
		in := k.dataBuf(j)
		if len(dst) == len(src) && isIota(dst) {
			tab := k.constTable(from, from[len(from)-1] >= 1<<31)
			k.gatherLoop(out, in, nil, tab, int64(len(dst)), from[len(from)-1] >= 1<<31)
			continue
		}
		wide := max(dst[len(dst)-1], maxOf(from)) >= 1<<31
		k.gatherLoop(out, in, k.constTable(dst, wide), k.constTable(from, wide), int64(len(dst)), wide)
	}
	var fills []int64
	for i, v := range src {
		if v == 0 {
			fills = append(fills, int64(i))
		}
	}
	if len(fills) > 0 {
		wide := fills[len(fills)-1] >= 1<<31
		tab := k.constTable(fills, wide)
		et := tableElem(wide)
		k.loop(int64(len(fills)), func(i value.Value) {
			d := k.b.NewLoad(et, k.b.NewGetElementPtr(et, tab, i))
			k.store(out, k.toI64(d, wide), k.fillValue(out, fillVal))
		})
	}
	return nil
}

// gatherLoop emits out[dst[p]] = in[from[p]] for p < n (dst nil: p itself).
func (k *kernel) gatherLoop(out, in *buf, dst, from value.Value, n int64, wide bool) {
	et := tableElem(wide)
	st, _ := storageType(in.dt)
	k.loop(n, func(p value.Value) {
		s := k.toI64(k.b.NewLoad(et, k.b.NewGetElementPtr(et, from, p)), wide)
		v := k.b.NewLoad(st, k.b.NewGetElementPtr(st, in.ptr, s))
		var d value.Value = p
		if dst != nil {
			d = k.toI64(k.b.NewLoad(et, k.b.NewGetElementPtr(et, dst, p)), wide)
		}
		k.b.NewStore(v, k.b.NewGetElementPtr(st, out.ptr, d))
	})
}

// fillRange writes the fill value to out[start:start+n].
func (k *kernel) fillRange(out *buf, start, n int64, fillVal value.Value) {
	v := k.fillValue(out, fillVal)
	k.loop(n, func(i value.Value) {
		k.store(out, k.b.NewAdd(i, i64(start)), v)
	})
}

// fillValue is the runtime fill value, or zero.
func (k *kernel) fillValue(out *buf, fillVal value.Value) value.Value {
	if fillVal != nil {
		return fillVal
	}
	return k.zero(out.dt)
}

// dataBuf returns the j-th data input.
func (k *kernel) dataBuf(j int) *buf {
	data := dataInputs(k.n)
	for i, b := range k.in {
		if data[i] && b != nil {
			if j == 0 {
				return b
			}
			j--
		}
	}
	panic("llvmgen: data input out of range")
}

func (k *kernel) toI64(v value.Value, wide bool) value.Value {
	if wide {
		return v
	}
	return k.b.NewZExt(v, types.I64)
}

func tableElem(wide bool) types.Type {
	if wide {
		return types.I64
	}
	return types.I32
}

// toRuns groups the index map into maximal contiguous copies.
func toRuns(src []float64, offsets []int64) []run {
	var runs []run
	for i, v := range src {
		in, from := -1, int64(0)
		if v != 0 {
			g := int64(v) - 1
			in = inputOf(g, offsets)
			from = g - offsets[in]
		}
		if len(runs) > 0 {
			r := &runs[len(runs)-1]
			if r.input == in && (in < 0 || r.inStart+r.n == from) {
				r.n++
				continue
			}
		}
		runs = append(runs, run{input: in, outStart: int64(i), inStart: from, n: 1})
	}
	return runs
}

// inputOf finds which data input a global index belongs to.
func inputOf(g int64, offsets []int64) int {
	j := 0
	for j+1 < len(offsets) && offsets[j+1] <= g {
		j++
	}
	return j
}

func isIota(v []int64) bool {
	for i, x := range v {
		if x != int64(i) {
			return false
		}
	}
	return true
}

func maxOf(v []int64) int64 {
	m := int64(0)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
