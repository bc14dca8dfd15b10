package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// roiAlignKernel compiles RoiAlign like interp/detect.go: per roi, output
// bin and channel, a (runtime-sized when sampling_ratio is 0) grid of
// bilinear samples reduced by avg or max, in double precision. Samples
// outside the image contribute four zero-weight terms, as in the reference.
// Batch indices are clamped into [0, N).
func roiAlignKernel(k *kernel) error {
	x, rois, bi, out := k.in[0], k.in[1], k.in[2], k.out[0]
	if len(x.shape) != 4 || len(rois.shape) != 2 || rois.shape[1] != 4 {
		return fmt.Errorf("X %v must be [N, C, H, W] and rois %v [R, 4]", x.shape, rois.shape)
	}
	mode := k.n.AttrString("mode", "avg")
	if mode != "avg" && mode != "max" {
		return fmt.Errorf("mode %q is not avg or max", mode)
	}
	ctm := k.n.AttrString("coordinate_transformation_mode", "half_pixel")
	if ctm != "half_pixel" && ctm != "output_half_pixel" {
		return fmt.Errorf("coordinate_transformation_mode %q is not supported", ctm)
	}
	oh, ow := k.n.AttrInt("output_height", 1), k.n.AttrInt("output_width", 1)
	sr := k.n.AttrInt("sampling_ratio", 0)
	ss := float64(k.n.AttrFloat("spatial_scale", 1))
	if oh <= 0 || ow <= 0 || sr < 0 {
		return fmt.Errorf("output_height %d, output_width %d, sampling_ratio %d", oh, ow, sr)
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	nr := rois.shape[0]
	offset := 0.5
	if ctm == "output_half_pixel" {
		offset = 0
	}
	one := mxF64c(1)
	fmax := func(a, b value.Value) value.Value { // math.Max for finite values
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, b, a), b, a)
	}
	k.loop(nr, func(r value.Value) {
		b := k.mxClamp(k.mxLoadInt(bi, r), 0, N-1)
		coord := func(i int64) value.Value {
			v := k.mxLoadF64(rois, k.b.NewAdd(k.b.NewMul(r, i64(4)), i64(i)))
			return k.b.NewFSub(k.b.NewFMul(v, mxF64c(ss)), mxF64c(offset))
		}
		sw, sh, ew, eh := coord(0), coord(1), coord(2), coord(3)
		var rw, rh value.Value = k.b.NewFSub(ew, sw), k.b.NewFSub(eh, sh)
		if ctm == "output_half_pixel" {
			rw, rh = fmax(rw, one), fmax(rh, one)
		}
		bw, bh := k.b.NewFDiv(rw, mxF64c(float64(ow))), k.b.NewFDiv(rh, mxF64c(float64(oh)))
		var gh, gw value.Value = i64(sr), i64(sr)
		if sr == 0 {
			gh = k.b.NewFPToSI(k.call("llvm.ceil.f64", f64, k.b.NewFDiv(rh, mxF64c(float64(oh)))), types.I64)
			gw = k.b.NewFPToSI(k.call("llvm.ceil.f64", f64, k.b.NewFDiv(rw, mxF64c(float64(ow)))), types.I64)
			gh = k.mxClamp(gh, 0, 1<<16)
			gw = k.mxClamp(gw, 0, 1<<16)
		}
		cnt := k.b.NewMul(gh, gw)
		count := k.b.NewSIToFP(k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, cnt, i64(1)), i64(1), cnt), f64)
		ghF, gwF := k.b.NewSIToFP(gh, f64), k.b.NewSIToFP(gw, f64)
		k.loop(C, func(ch value.Value) {
			plane := k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(C)), ch), i64(H*W))
			k.loop(oh, func(ph value.Value) {
				k.loop(ow, func(pw value.Value) {
					acc := k.mxLocal(f64, mxF64c(0))
					first := k.mxLocal(types.I1, constant.True)
					k.mxLoopV(gh, func(iy value.Value) {
						yy := k.b.NewFAdd(k.b.NewFAdd(sh, k.b.NewFMul(k.b.NewSIToFP(ph, f64), bh)),
							k.b.NewFDiv(k.b.NewFMul(k.b.NewFAdd(k.b.NewSIToFP(iy, f64), mxF64c(0.5)), bh), ghF))
						k.mxLoopV(gw, func(ix value.Value) {
							xx := k.b.NewFAdd(k.b.NewFAdd(sw, k.b.NewFMul(k.b.NewSIToFP(pw, f64), bw)),
								k.b.NewFDiv(k.b.NewFMul(k.b.NewFAdd(k.b.NewSIToFP(ix, f64), mxF64c(0.5)), bw), gwF))
							outside := k.b.NewOr(
								k.b.NewOr(k.b.NewFCmp(enum.FPredOLT, yy, mxF64c(-1)), k.b.NewFCmp(enum.FPredOGT, yy, mxF64c(float64(H)))),
								k.b.NewOr(k.b.NewFCmp(enum.FPredOLT, xx, mxF64c(-1)), k.b.NewFCmp(enum.FPredOGT, xx, mxF64c(float64(W)))))
							// Coordinates clamped into the image before the
							// integer conversion (the outside case is masked below).
							y := k.mxFMin(fmax(yy, mxF64c(0)), mxF64c(float64(H)))
							xv := k.mxFMin(fmax(xx, mxF64c(0)), mxF64c(float64(W)))
							yl := k.b.NewFPToSI(y, types.I64)
							xl := k.b.NewFPToSI(xv, types.I64)
							yEdge := k.b.NewICmp(enum.IPredSGE, yl, i64(H-1))
							xEdge := k.b.NewICmp(enum.IPredSGE, xl, i64(W-1))
							yhI := k.b.NewSelect(yEdge, i64(H-1), k.b.NewAdd(yl, i64(1)))
							xhI := k.b.NewSelect(xEdge, i64(W-1), k.b.NewAdd(xl, i64(1)))
							ylI := k.b.NewSelect(yEdge, i64(H-1), yl)
							xlI := k.b.NewSelect(xEdge, i64(W-1), xl)
							y = k.b.NewSelect(yEdge, mxF64c(float64(H-1)), y)
							xv = k.b.NewSelect(xEdge, mxF64c(float64(W-1)), xv)
							ly := k.b.NewFSub(y, k.b.NewSIToFP(ylI, f64))
							lx := k.b.NewFSub(xv, k.b.NewSIToFP(xlI, f64))
							hy, hx := k.b.NewFSub(one, ly), k.b.NewFSub(one, lx)
							idx := [4]value.Value{
								k.b.NewAdd(k.b.NewMul(ylI, i64(W)), xlI), k.b.NewAdd(k.b.NewMul(ylI, i64(W)), xhI),
								k.b.NewAdd(k.b.NewMul(yhI, i64(W)), xlI), k.b.NewAdd(k.b.NewMul(yhI, i64(W)), xhI),
							}
							wts := [4]value.Value{k.b.NewFMul(hy, hx), k.b.NewFMul(hy, lx), k.b.NewFMul(ly, hx), k.b.NewFMul(ly, lx)}
							for q := 0; q < 4; q++ {
								ii := k.b.NewSelect(outside, i64(0), idx[q])
								wq := k.b.NewSelect(outside, mxF64c(0), wts[q])
								t := k.b.NewFMul(wq, k.mxLoadF64(x, k.b.NewAdd(plane, ii)))
								if mode == "avg" {
									k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), t))
									continue
								}
								take := k.b.NewOr(k.mxGet(first), k.b.NewFCmp(enum.FPredOGT, t, k.mxGet(acc)))
								k.mxSet(acc, k.b.NewSelect(take, t, k.mxGet(acc)))
								k.mxSet(first, constant.False)
							}
						})
					})
					v := k.mxGet(acc)
					if mode == "avg" {
						v = k.b.NewFDiv(v, count)
					}
					o := k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(r, i64(C)), ch), i64(oh)), ph), i64(ow)), pw)
					k.mxStoreF64(out, o, v)
				})
			})
		})
	})
	return nil
}

func init() {
	scratchNeeds["NonMaxSuppression"] = func(n *ir.Node) int64 {
		if len(n.Inputs) == 0 || n.Inputs[0] == nil || !n.Inputs[0].Type.Ranked || len(n.Inputs[0].Type.Shape) != 3 {
			return 0
		}
		ns := n.Inputs[0].Type.Shape.Sizes()[1]
		if ns < 0 {
			return 0
		}
		return 9*ns + 8
	}
}

// nonMaxSuppressionKernel compiles NonMaxSuppression with runtime boxes,
// scores and thresholds. The output's row count is the static count the
// graph declares: rows past the run-time selection stay 0 and selections
// past it are dropped. Instead of sorting, each step picks the unvisited
// candidate with the highest score (lowest index on ties, like the
// interpreter's stable sort) and keeps it unless its IoU with a kept box
// exceeds the threshold. Scratch: a visited flag per box, then the kept
// box indices.
func nonMaxSuppressionKernel(k *kernel) error {
	boxes, scores, out := k.in[0], k.in[1], k.out[0]
	if len(boxes.shape) != 3 || boxes.shape[2] != 4 || len(scores.shape) != 3 || len(out.shape) != 2 || out.shape[1] != 3 {
		return fmt.Errorf("boxes %v, scores %v or output %v have the wrong shape", boxes.shape, scores.shape, out.shape)
	}
	nb, ns, nc := boxes.shape[0], boxes.shape[1], scores.shape[1]
	rows := out.shape[0]
	center := k.n.AttrInt("center_point_box", 0)
	nonEmpty := func(i int) *buf {
		if b := k.mxInput(i); b != nil && b.len() > 0 {
			return b
		}
		return nil
	}
	var maxOut value.Value = i64(0)
	if t := nonEmpty(2); t != nil {
		maxOut = k.mxLoadInt(t, i64(0))
	}
	var iouTh value.Value = mxF64c(0)
	if t := nonEmpty(3); t != nil {
		iouTh = k.mxLoadF64(t, i64(0))
	}
	scoreT := nonEmpty(4)
	var scoreTh value.Value
	if scoreT != nil {
		scoreTh = k.mxLoadF64(scoreT, i64(0))
	}
	visited := k.scratch
	kept := k.b.NewBitCast(k.b.NewGetElementPtr(types.I8, k.scratch, i64(ns)), types.NewPointer(types.I64))
	k.loop(out.len(), func(i value.Value) { k.b.NewStore(i64(0), k.elemPtr(out, i)) })
	nOut := k.mxLocal(types.I64, i64(0))
	fmin := func(a, b value.Value) value.Value { return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, b, a), b, a) }
	fmax := func(a, b value.Value) value.Value { return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, b, a), b, a) }
	corner := func(b, i value.Value) [4]value.Value {
		base := k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(ns)), i), i64(4))
		var v [4]value.Value
		for q := range v {
			v[q] = k.mxLoadF64(boxes, k.b.NewAdd(base, i64(int64(q))))
		}
		if center == 1 {
			half := func(x value.Value) value.Value { return k.b.NewFDiv(x, mxF64c(2)) }
			return [4]value.Value{k.b.NewFSub(v[1], half(v[3])), k.b.NewFSub(v[0], half(v[2])), k.b.NewFAdd(v[1], half(v[3])), k.b.NewFAdd(v[0], half(v[2]))}
		}
		return [4]value.Value{fmin(v[0], v[2]), fmin(v[1], v[3]), fmax(v[0], v[2]), fmax(v[1], v[3])}
	}
	// iouAbove reports IoU(a, b) > th, with IoU 0 for empty intersections
	// or unions.
	iouAbove := func(a, b [4]value.Value) value.Value {
		ih := k.b.NewFSub(fmin(a[2], b[2]), fmax(a[0], b[0]))
		iw := k.b.NewFSub(fmin(a[3], b[3]), fmax(a[1], b[1]))
		inter := k.b.NewFMul(ih, iw)
		area := func(c [4]value.Value) value.Value {
			return k.b.NewFMul(k.b.NewFSub(c[2], c[0]), k.b.NewFSub(c[3], c[1]))
		}
		union := k.b.NewFSub(k.b.NewFAdd(area(a), area(b)), inter)
		zero := k.b.NewOr(k.b.NewOr(k.b.NewFCmp(enum.FPredOLE, ih, mxF64c(0)), k.b.NewFCmp(enum.FPredOLE, iw, mxF64c(0))),
			k.b.NewFCmp(enum.FPredOLE, union, mxF64c(0)))
		iou := k.b.NewSelect(zero, mxF64c(0), k.b.NewFDiv(inter, union))
		return k.b.NewFCmp(enum.FPredOGT, iou, iouTh)
	}
	k.loop(nb, func(b value.Value) {
		k.loop(nc, func(c value.Value) {
			sBase := k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(nc)), c), i64(ns))
			score := func(i value.Value) value.Value { return k.mxLoadF64(scores, k.b.NewAdd(sBase, i)) }
			k.loop(ns, func(i value.Value) {
				var skip value.Value = constant.False
				if scoreT != nil {
					skip = k.b.NewXor(k.b.NewFCmp(enum.FPredOGT, score(i), scoreTh), constant.True)
				}
				k.b.NewStore(k.b.NewZExt(skip, types.I8), k.b.NewGetElementPtr(types.I8, visited, i))
			})
			nKept := k.mxLocal(types.I64, i64(0))
			k.loop(ns, func(_ value.Value) {
				k.ifThen(k.b.NewICmp(enum.IPredSLT, k.mxGet(nKept), maxOut), func() {
					best := k.mxLocal(types.I64, i64(-1))
					bestS := k.mxLocal(f64, mxF64c(0))
					k.loop(ns, func(i value.Value) {
						free := k.b.NewICmp(enum.IPredEQ, k.b.NewLoad(types.I8, k.b.NewGetElementPtr(types.I8, visited, i)), constant.NewInt(types.I8, 0))
						k.ifThen(free, func() {
							s := score(i)
							better := k.b.NewOr(k.b.NewICmp(enum.IPredSLT, k.mxGet(best), i64(0)), k.b.NewFCmp(enum.FPredOGT, s, k.mxGet(bestS)))
							k.ifThen(better, func() {
								k.mxSet(best, i)
								k.mxSet(bestS, s)
							}, nil)
						}, nil)
					})
					bi := k.mxGet(best)
					k.ifThen(k.b.NewICmp(enum.IPredSGE, bi, i64(0)), func() {
						k.b.NewStore(constant.NewInt(types.I8, 1), k.b.NewGetElementPtr(types.I8, visited, bi))
						cb := corner(b, bi)
						ok := k.mxLocal(types.I1, constant.True)
						k.mxLoopV(k.mxGet(nKept), func(j value.Value) {
							kj := k.b.NewLoad(types.I64, k.b.NewGetElementPtr(types.I64, kept, j))
							k.mxSet(ok, k.b.NewAnd(k.mxGet(ok), k.b.NewXor(iouAbove(cb, corner(b, kj)), constant.True)))
						})
						k.ifThen(k.mxGet(ok), func() {
							n := k.mxGet(nKept)
							k.b.NewStore(bi, k.b.NewGetElementPtr(types.I64, kept, n))
							k.mxSet(nKept, k.b.NewAdd(n, i64(1)))
							row := k.mxGet(nOut)
							k.ifThen(k.b.NewICmp(enum.IPredSLT, row, i64(rows)), func() {
								base := k.b.NewMul(row, i64(3))
								k.b.NewStore(b, k.elemPtr(out, base))
								k.b.NewStore(c, k.elemPtr(out, k.b.NewAdd(base, i64(1))))
								k.b.NewStore(bi, k.elemPtr(out, k.b.NewAdd(base, i64(2))))
							}, nil)
							k.mxSet(nOut, k.b.NewAdd(row, i64(1)))
						}, nil)
					}, nil)
				}, nil)
			})
		})
	})
	return nil
}
