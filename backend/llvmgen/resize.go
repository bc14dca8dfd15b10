package llvmgen

import (
	"fmt"
	"math"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Resize (opset 18/19) as interp/resize.go computes it: separable 1-D
// resampling axis by axis in double precision, every mode (nearest, linear,
// cubic), coordinate transformation, nearest mode, antialias,
// exclude_outside, axes and keep_aspect_ratio_policy. roi, scales and sizes
// may be runtime values (the ONNX tests feed them as inputs); only the output
// shape must be static. For each output index of an axis the kernel computes
// the taps (input index, weight) with the reference's formulas into scratch
// tables, then walks the data in memory order applying them.
//
// Scratch layout: the tap tables (maxOut rows of maxTaps indices, the same
// of weights, then maxOut tap counts, 8 bytes each) followed by two
// ping-pong double buffers for the intermediate results between axes.

func init() {
	scratchNeeds["Resize"] = func(n *ir.Node) int64 {
		p, err := planResize(n)
		if err != nil {
			return 0
		}
		return p.scratchBytes()
	}
}

// resizePlan is what the kernel decides at compile time.
type resizePlan struct {
	in, out []int64
	axes    []int // the axes the roi/scales/sizes values refer to, in order
	passes  []int // the axes resampled, in order
	maxTaps int64
	maxOut  int64 // largest output size of a resampled axis
	mid     int64 // largest intermediate element count
	mode    string
	coord   string
	nearest string
	cubicA  float64
	extrap  float64
	exclude bool
	aa      bool
}

// planResize validates n's attributes and static shapes.
func planResize(n *ir.Node) (*resizePlan, error) {
	if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return nil, fmt.Errorf("Resize needs input X and output Y")
	}
	x, y := n.Inputs[0].Type, n.Outputs[0].Type
	if !x.Ranked || !x.Shape.Static() || !y.Ranked || !y.Shape.Static() {
		return nil, fmt.Errorf("Resize needs static shapes")
	}
	p := &resizePlan{
		in: x.Shape.Sizes(), out: y.Shape.Sizes(),
		mode:    n.AttrString("mode", "nearest"),
		coord:   n.AttrString("coordinate_transformation_mode", "half_pixel"),
		nearest: n.AttrString("nearest_mode", "round_prefer_floor"),
		cubicA:  float64(n.AttrFloat("cubic_coeff_a", -0.75)),
		extrap:  float64(n.AttrFloat("extrapolation_value", 0)),
		exclude: n.AttrInt("exclude_outside", 0) != 0,
		aa:      n.AttrInt("antialias", 0) != 0,
	}
	r := len(p.in)
	if len(p.out) != r {
		return nil, fmt.Errorf("output rank %d differs from input rank %d", len(p.out), r)
	}
	switch p.mode {
	case "nearest":
		p.aa = false
	case "linear", "cubic":
	default:
		return nil, fmt.Errorf("mode %q is not one of nearest, linear, cubic", p.mode)
	}
	switch p.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "half_pixel_symmetric":
	default:
		return nil, fmt.Errorf("coordinate_transformation_mode %q is not supported", p.coord)
	}
	switch p.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("nearest_mode %q is not supported", p.nearest)
	}
	if a := n.AttrInts("axes", nil); a != nil {
		seen := map[int]bool{}
		for _, v := range a {
			if v < -int64(r) || v >= int64(r) {
				return nil, fmt.Errorf("axes %v out of range for rank %d", a, r)
			}
			if v < 0 {
				v += int64(r)
			}
			if seen[int(v)] {
				return nil, fmt.Errorf("axes %v repeats axis %d", a, v)
			}
			seen[int(v)] = true
			p.axes = append(p.axes, int(v))
		}
	} else {
		for i := 0; i < r; i++ {
			p.axes = append(p.axes, i)
		}
	}
	sc := constInput(n, 2)
	cur := append([]int64{}, p.in...)
	for i, a := range p.axes {
		if p.in[a] == 0 && p.out[a] > 0 {
			return nil, fmt.Errorf("cannot resize empty dim %d to %d", a, p.out[a])
		}
		// An axis is provably the identity when its size does not change and
		// its scale is exactly 1: given sizes under "stretch", or constant
		// scales holding 1. Identity passes are exact anyway; skipping saves time.
		if p.in[a] == p.out[a] && p.coord != "tf_crop_and_resize" {
			if sizesGiven(n) && n.AttrString("keep_aspect_ratio_policy", "stretch") == "stretch" {
				continue
			}
			if sc != nil && sc.Len() == len(p.axes) && sc.Float64s()[i] == 1 {
				continue
			}
		}
		p.passes = append(p.passes, a)
		cur[a] = p.out[a]
		if ir.NumElements(cur) > p.mid {
			p.mid = ir.NumElements(cur)
		}
		// Smallest possible scale for this static output size bounds the
		// antialiasing support (round(s*in) or floor(s*in) equals out).
		taps := int64(4)
		if p.aa && p.in[a] > 0 {
			s := math.Min(1, math.Max(float64(p.out[a])-0.5, 0.25)/float64(p.in[a]))
			support := 1.0
			if p.mode == "cubic" {
				support = 2
			}
			st := math.Floor(-support/s) + 1
			taps = int64(2-2*st) + 2
		}
		p.maxTaps = max(p.maxTaps, taps)
		p.maxOut = max(p.maxOut, p.out[a])
	}
	return p, nil
}

// sizesGiven reports whether Resize's sizes input is present and non-empty.
func sizesGiven(n *ir.Node) bool {
	if len(n.Inputs) < 4 || n.Inputs[3] == nil {
		return false
	}
	t := n.Inputs[3].Type
	return t.Ranked && t.Shape.Static() && ir.NumElements(t.Shape.Sizes()) > 0
}

// constInput returns input i's constant data or nil.
func constInput(n *ir.Node, i int) *ir.Tensor {
	if i < len(n.Inputs) && n.Inputs[i] != nil {
		return n.Inputs[i].Const
	}
	return nil
}

func (p *resizePlan) scratchBytes() int64 {
	return 16*p.maxOut*p.maxTaps + 8*p.maxOut + 2*8*p.mid
}

// resizeKernel compiles Resize. Nearest resizing with constant (or absent)
// roi, scales and sizes and no non-zero extrapolation value is pure data
// movement and goes through the index map (memcpy runs and gather tables,
// exact for every dtype); everything else runs the general kernel.
func resizeKernel(k *kernel) error {
	p, err := planResize(k.n)
	if err != nil {
		return err
	}
	if p.mode == "nearest" && (p.coord != "tf_crop_and_resize" || p.extrap == 0) {
		constant := true
		for _, b := range k.in[1:] {
			if b != nil && b.konst == nil {
				constant = false
			}
		}
		if constant {
			return indexMapKernel(nil)(k)
		}
	}
	x, out := k.in[0], k.out[0]
	if !x.dt.IsFloat() && !x.dt.IsInt() {
		return fmt.Errorf("input 0 has dtype %s, want a number", x.dt)
	}
	r := len(p.in)
	na := len(p.axes)
	nonEmpty := func(i int) *buf {
		if b := k.mxInput(i); b != nil && b.len() > 0 {
			return b
		}
		return nil
	}
	roiB, scalesB, sizesB := nonEmpty(1), nonEmpty(2), nonEmpty(3)
	if (scalesB == nil) == (sizesB == nil) {
		return fmt.Errorf("exactly one of scales and sizes must be given")
	}
	if scalesB != nil && scalesB.len() != int64(na) || sizesB != nil && sizesB.len() != int64(na) {
		return fmt.Errorf("scales/sizes must have %d values", na)
	}
	if roiB != nil && p.coord == "tf_crop_and_resize" && roiB.len() != int64(2*na) {
		return fmt.Errorf("roi has %d values, want %d", roiB.len(), 2*na)
	}
	if len(p.passes) == 0 {
		if x.dt != out.dt || x.len() != out.len() {
			return fmt.Errorf("identity Resize changes the type")
		}
		k.mxCopy(out, x)
		return nil
	}
	// Runtime scale of each axis (double), roi starts and ends.
	scale := make([]value.Value, r)
	roiS := make([]value.Value, r)
	roiE := make([]value.Value, r)
	for a := 0; a < r; a++ {
		scale[a], roiS[a], roiE[a] = mxF64c(1), mxF64c(0), mxF64c(1)
	}
	for i, a := range p.axes {
		ii := i64(int64(i))
		if scalesB != nil {
			// the reference keeps the scale in float32
			s := k.b.NewFPTrunc(k.mxLoadF64(scalesB, ii), types.Float)
			scale[a] = k.b.NewFPExt(s, f64)
		} else {
			scale[a] = k.b.NewFDiv(k.b.NewSIToFP(k.mxLoadInt(sizesB, ii), f64), mxF64c(float64(p.in[a])))
		}
		if roiB != nil && p.coord == "tf_crop_and_resize" {
			roiS[a] = k.mxLoadF64(roiB, ii)
			roiE[a] = k.mxLoadF64(roiB, i64(int64(na+i)))
		}
	}
	if pol := k.n.AttrString("keep_aspect_ratio_policy", "stretch"); sizesB != nil && pol != "stretch" {
		if pol != "not_larger" && pol != "not_smaller" {
			return fmt.Errorf("keep_aspect_ratio_policy %q is not supported", pol)
		}
		s := scale[p.axes[0]]
		for _, a := range p.axes[1:] {
			if pol == "not_larger" {
				s = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, scale[a], s), scale[a], s)
			} else {
				s = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, scale[a], s), scale[a], s)
			}
		}
		for _, a := range p.axes {
			scale[a] = s
		}
	}
	rows := p.maxOut * p.maxTaps
	sc := k.b.NewBitCast(k.scratch, types.NewPointer(f64))
	tabs := resizeTables{
		idx: k.b.NewBitCast(k.scratch, types.NewPointer(types.I64)),
		w:   k.b.NewGetElementPtr(f64, sc, i64(rows)),
		cnt: k.b.NewBitCast(k.b.NewGetElementPtr(f64, sc, i64(2*rows)), types.NewPointer(types.I64)),
	}
	midBase := k.b.NewGetElementPtr(f64, sc, i64(2*rows+p.maxOut))
	mids := [2]*buf{
		{ptr: midBase, dt: ir.Float64},
		{ptr: k.b.NewGetElementPtr(f64, midBase, i64(p.mid)), dt: ir.Float64},
	}
	shape := append([]int64{}, p.in...)
	src := x
	for pi, a := range p.passes {
		dst := out
		if pi < len(p.passes)-1 {
			dst = mids[pi%2]
		}
		k.resizePass(p, src, dst, shape, a, scale[a], roiS[a], roiE[a], tabs)
		shape[a] = p.out[a]
		src = dst
	}
	return nil
}

// resizePass resamples src (of shape) along axis a into dst. Phase 1
// computes every output index's taps into row j of the tables, keeping only
// the non-zero weights in order (the reference skips zero-weight taps) and
// -1 as the count of extrapolated indices; phase 2 walks the data in memory
// order applying them.
func (k *kernel) resizePass(p *resizePlan, src, dst *buf, shape []int64, a int, scale, roiS, roiE value.Value, tabs resizeTables) {
	inW, outW := shape[a], p.out[a]
	outer := ir.NumElements(shape[:a])
	inner := ir.NumElements(shape[a+1:])
	T := p.maxTaps
	k.loop(outW, func(j value.Value) {
		row := k.b.NewMul(j, i64(T))
		tapW := k.b.NewGetElementPtr(f64, tabs.w, row)
		tapIdx := k.b.NewGetElementPtr(types.I64, tabs.idx, row)
		cnt := k.b.NewGetElementPtr(types.I64, tabs.cnt, j)
		xf := k.b.NewSIToFP(j, f64)
		xo := k.origCoord(p, xf, inW, outW, scale, roiS, roiE)
		var extrap value.Value
		if p.coord == "tf_crop_and_resize" {
			lo := k.b.NewFCmp(enum.FPredOLT, xo, mxF64c(0))
			hi := k.b.NewFCmp(enum.FPredOGT, xo, mxF64c(float64(inW-1)))
			extrap = k.b.NewOr(lo, hi)
		}
		body := func() {
			x0 := k.call("llvm.floor.f64", f64, xo)
			var ratio value.Value = k.b.NewFSub(xo, x0)
			isZero := k.b.NewFCmp(enum.FPredOEQ, ratio, mxF64c(0))
			x0 = k.b.NewSelect(isZero, k.b.NewFSub(x0, mxF64c(1)), x0)
			ratio = k.b.NewSelect(isZero, mxF64c(1), ratio)
			st, n := k.resizeCoeffs(p, ratio, scale, tapW)
			base := k.b.NewAdd(k.b.NewFPToSI(x0, types.I64), st)
			if p.exclude {
				sum := k.mxLocal(f64, mxF64c(0))
				k.mxLoopV(n, func(i value.Value) {
					idx := k.b.NewAdd(base, i)
					out := k.b.NewOr(k.b.NewICmp(enum.IPredSLT, idx, i64(0)), k.b.NewICmp(enum.IPredSGE, idx, i64(inW)))
					wp := k.b.NewGetElementPtr(f64, tapW, i)
					w := k.b.NewSelect(out, mxF64c(0), k.b.NewLoad(f64, wp))
					k.b.NewStore(w, wp)
					k.mxSet(sum, k.b.NewFAdd(k.mxGet(sum), w))
				})
				s := k.mxGet(sum)
				k.ifThen(k.b.NewFCmp(enum.FPredONE, s, mxF64c(0)), func() {
					k.mxLoopV(n, func(i value.Value) {
						wp := k.b.NewGetElementPtr(f64, tapW, i)
						k.b.NewStore(k.b.NewFDiv(k.b.NewLoad(f64, wp), s), wp)
					})
				}, nil)
			}
			// Compact the non-zero taps to the front, in order.
			m := k.mxLocal(types.I64, i64(0))
			k.mxLoopV(n, func(i value.Value) {
				w := k.mxAt(f64, tapW, i)
				k.ifThen(k.b.NewFCmp(enum.FPredUNE, w, mxF64c(0)), func() {
					mv := k.mxGet(m)
					idx := k.mxClamp(k.b.NewAdd(base, i), 0, inW-1)
					k.b.NewStore(w, k.b.NewGetElementPtr(f64, tapW, mv))
					k.b.NewStore(idx, k.b.NewGetElementPtr(types.I64, tapIdx, mv))
					k.mxSet(m, k.b.NewAdd(mv, i64(1)))
				}, nil)
			})
			k.b.NewStore(k.mxGet(m), cnt)
		}
		if extrap == nil {
			body()
			return
		}
		k.ifThen(extrap, func() { k.b.NewStore(i64(-1), cnt) }, body)
	})
	k.loop(outer, func(o value.Value) {
		sBase := k.b.NewMul(o, i64(inW*inner))
		k.loop(outW, func(j value.Value) {
			row := k.b.NewMul(j, i64(T))
			tapW := k.b.NewGetElementPtr(f64, tabs.w, row)
			tapIdx := k.b.NewGetElementPtr(types.I64, tabs.idx, row)
			n := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, tabs.cnt, j))
			dBase := k.b.NewMul(k.b.NewAdd(k.b.NewMul(o, i64(outW)), j), i64(inner))
			k.ifThen(k.b.NewICmp(enum.IPredSLT, n, i64(0)), func() {
				k.loop(inner, func(e value.Value) {
					k.mxStoreF64(dst, k.b.NewAdd(dBase, e), mxF64c(p.extrap))
				})
			}, func() {
				k.loop(inner, func(e value.Value) {
					acc := k.mxLocal(f64, mxF64c(0))
					k.mxLoopV(n, func(i value.Value) {
						w := k.mxAt(f64, tapW, i)
						idx := k.mxAt(types.I64, tapIdx, i)
						v := k.mxLoadF64(src, k.b.NewAdd(k.b.NewAdd(sBase, k.b.NewMul(idx, i64(inner))), e))
						k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), k.b.NewFMul(w, v)))
					})
					k.mxStoreF64(dst, k.b.NewAdd(dBase, e), k.mxGet(acc))
				})
			})
		})
	})
}

// resizeTables are the per-output-index tap tables in scratch.
type resizeTables struct {
	idx, w, cnt value.Value // i64*, double*, i64*
}

// origCoord maps output index x (double) to the input coordinate, with the
// reference's operation order.
func (k *kernel) origCoord(p *resizePlan, x value.Value, inW, outW int64, scale, roiS, roiE value.Value) value.Value {
	in := mxF64c(float64(inW))
	inM1 := mxF64c(float64(inW - 1))
	lenResized := k.b.NewFMul(scale, in)
	isOne := k.b.NewFCmp(enum.FPredOEQ, lenResized, mxF64c(1))
	halfPixel := func() value.Value {
		return k.b.NewFSub(k.b.NewFDiv(k.b.NewFAdd(x, mxF64c(0.5)), scale), mxF64c(0.5))
	}
	switch p.coord {
	case "align_corners":
		v := k.b.NewFDiv(k.b.NewFMul(x, inM1), k.b.NewFSub(lenResized, mxF64c(1)))
		return k.b.NewSelect(isOne, mxF64c(0), v)
	case "asymmetric":
		return k.b.NewFDiv(x, scale)
	case "tf_crop_and_resize":
		d := k.b.NewFSub(roiE, roiS)
		one := k.b.NewFDiv(k.b.NewFMul(d, inM1), mxF64c(2))
		many := k.b.NewFDiv(k.b.NewFMul(k.b.NewFMul(x, d), inM1), k.b.NewFSub(lenResized, mxF64c(1)))
		v := k.b.NewSelect(isOne, one, many)
		return k.b.NewFAdd(v, k.b.NewFMul(roiS, inM1))
	case "pytorch_half_pixel":
		return k.b.NewSelect(isOne, mxF64c(-0.5), halfPixel())
	case "half_pixel_symmetric":
		adj := k.b.NewFDiv(mxF64c(float64(outW)), lenResized)
		center := mxF64c(float64(inW) / 2)
		c := k.b.NewFMul(center, k.b.NewFSub(mxF64c(1), adj))
		return k.b.NewFAdd(c, halfPixel())
	}
	return halfPixel()
}

// resizeCoeffs writes the interpolation weights for ratio in (0, 1] to
// tapW[0:n] and returns the first tap's offset from floor'(x) and n (i64).
// Antialiased weights are normalised to sum 1, as in the reference.
func (k *kernel) resizeCoeffs(p *resizePlan, ratio, scale, tapW value.Value) (st, n value.Value) {
	put := func(i int64, w value.Value) { k.b.NewStore(w, k.b.NewGetElementPtr(f64, tapW, i64(i))) }
	one := mxF64c(1)
	switch {
	case p.mode == "nearest":
		var right value.Value = k.b.NewFCmp(enum.FPredOEQ, ratio, one)
		switch p.nearest {
		case "round_prefer_floor":
			right = k.b.NewOr(right, k.b.NewFCmp(enum.FPredOGT, ratio, mxF64c(0.5)))
		case "round_prefer_ceil":
			right = k.b.NewOr(right, k.b.NewFCmp(enum.FPredOGE, ratio, mxF64c(0.5)))
		case "ceil":
			right = constant.True
		}
		put(0, k.b.NewSelect(right, mxF64c(0), one))
		put(1, k.b.NewSelect(right, one, mxF64c(0)))
		return i64(0), i64(2)
	case p.mode == "linear" && !p.aa:
		put(0, k.b.NewFSub(one, ratio))
		put(1, ratio)
		return i64(0), i64(2)
	case p.mode == "cubic" && !p.aa:
		A := mxF64c(p.cubicA)
		c := func(t value.Value) value.Value { // ((A*t - 5A)*t + 8A)*t - 4A
			var v value.Value = k.b.NewFSub(k.b.NewFMul(A, t), mxF64c(5*p.cubicA))
			v = k.b.NewFAdd(k.b.NewFMul(v, t), mxF64c(8*p.cubicA))
			return k.b.NewFSub(k.b.NewFMul(v, t), mxF64c(4*p.cubicA))
		}
		d := func(t value.Value) value.Value { // ((A+2)*t - (A+3))*t*t + 1
			v := k.b.NewFSub(k.b.NewFMul(mxF64c(p.cubicA+2), t), mxF64c(p.cubicA+3))
			return k.b.NewFAdd(k.b.NewFMul(k.b.NewFMul(v, t), t), one)
		}
		inv := k.b.NewFSub(one, ratio)
		put(0, c(k.b.NewFAdd(ratio, one)))
		put(1, d(ratio))
		put(2, d(inv))
		put(3, c(k.b.NewFAdd(inv, one)))
		return i64(-1), i64(4)
	}
	// Antialiased linear or cubic: support scaled by s = min(scale, 1).
	support := 1.0
	if p.mode == "cubic" {
		support = 2
	}
	s := k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, scale, one), scale, one)
	stF := k.b.NewFAdd(k.call("llvm.floor.f64", f64, k.b.NewFDiv(mxF64c(-support), s)), one)
	st = k.b.NewFPToSI(stF, types.I64)
	n = k.b.NewSub(i64(2), k.b.NewMul(st, i64(2)))
	n = k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, n, i64(p.maxTaps)), i64(p.maxTaps), n)
	sum := k.mxLocal(f64, mxF64c(0))
	A := p.cubicA
	k.mxLoopV(n, func(i value.Value) {
		t := k.b.NewFSub(k.b.NewSIToFP(k.b.NewAdd(st, i), f64), ratio)
		var w value.Value
		if p.mode == "linear" {
			a := k.b.NewFMul(t, s)
			w = k.b.NewFSub(one, k.call("llvm.fabs.f64", f64, a))
			w = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, one, w), one, w)
			w = k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, mxF64c(0), w), mxF64c(0), w)
		} else {
			x := k.call("llvm.fabs.f64", f64, k.b.NewFMul(s, t))
			// (A+2)*x*x*x - (A+3)*x*x + 1, evaluated left to right like Go
			near := k.b.NewFAdd(k.b.NewFSub(k.b.NewFMul(k.b.NewFMul(k.b.NewFMul(mxF64c(A+2), x), x), x),
				k.b.NewFMul(k.b.NewFMul(mxF64c(A+3), x), x)), one)
			// A*x*x*x - 5*A*x*x + 8*A*x - 4*A
			far := k.b.NewFSub(k.b.NewFAdd(k.b.NewFSub(k.b.NewFMul(k.b.NewFMul(k.b.NewFMul(mxF64c(A), x), x), x),
				k.b.NewFMul(k.b.NewFMul(mxF64c(5*A), x), x)), k.b.NewFMul(mxF64c(8*A), x)), mxF64c(4*A))
			w = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, mxF64c(2)), far, mxF64c(0))
			w = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLE, x, one), near, w)
		}
		k.b.NewStore(w, k.b.NewGetElementPtr(f64, tapW, i))
		k.mxSet(sum, k.b.NewFAdd(k.mxGet(sum), w))
	})
	total := k.mxGet(sum)
	k.mxLoopV(n, func(i value.Value) {
		wp := k.b.NewGetElementPtr(f64, tapW, i)
		k.b.NewStore(k.b.NewFDiv(k.b.NewLoad(f64, wp), total), wp)
	})
	return st, n
}
