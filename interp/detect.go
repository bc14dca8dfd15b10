package interp

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/ir"
)

// roiAlignKernel implements RoiAlign: each box of rois [R, 4] (x1, y1, x2,
// y2 in input coordinates times 1/spatial_scale) is cut into output bins,
// each bin sampled on a grid with bilinear interpolation and reduced by avg
// or max. coordinate_transformation_mode half_pixel shifts by -0.5;
// output_half_pixel (legacy) does not and forces a box of at least 1x1.
func roiAlignKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 3, "X", "rois", "batch_indices"); err != nil {
		return nil, err
	}
	x, rois, bi := in[0], in[1], in[2]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank 4 [N, C, H, W]", x.Shape)
	}
	if len(rois.Shape) != 2 || rois.Shape[1] != 4 || !rois.DType.IsFloat() {
		return nil, fmt.Errorf("input 1 (rois) is %s%v, want float [num_rois, 4]", rois.DType, rois.Shape)
	}
	nr := rois.Shape[0]
	if len(bi.Shape) != 1 || bi.Shape[0] != nr || !bi.DType.IsInt() {
		return nil, fmt.Errorf("input 2 (batch_indices) is %s%v, want i64[%d]", bi.DType, bi.Shape, nr)
	}
	mode := nd.AttrString("mode", "avg")
	if mode != "avg" && mode != "max" {
		return nil, fmt.Errorf("mode %q is not avg or max", mode)
	}
	ctm := nd.AttrString("coordinate_transformation_mode", "half_pixel")
	if ctm != "half_pixel" && ctm != "output_half_pixel" {
		return nil, fmt.Errorf("coordinate_transformation_mode %q is not half_pixel or output_half_pixel", ctm)
	}
	oh, ow := nd.AttrInt("output_height", 1), nd.AttrInt("output_width", 1)
	sr := nd.AttrInt("sampling_ratio", 0)
	ss := float64(nd.AttrFloat("spatial_scale", 1))
	if oh <= 0 || ow <= 0 || sr < 0 {
		return nil, fmt.Errorf("output_height %d and output_width %d must be positive, sampling_ratio %d non-negative", oh, ow, sr)
	}
	c, h, w := int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	if nr > 0 && (h == 0 || w == 0) {
		return nil, fmt.Errorf("input 0 (X) has shape %v: cannot sample an empty image", x.Shape)
	}
	xf := toFloat64(x)
	rf := toFloat64(rois)
	for i, v := range rf {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("input 1 (rois) has non-finite value %v at %d", v, i)
		}
	}
	bidx := bi.Int64s()
	out := make([]float64, int(nr)*c*int(oh*ow))
	offset := 0.5
	if ctm == "output_half_pixel" {
		offset = 0
	}
	type sample struct {
		idx [4]int
		w   [4]float64
	}
	for r := 0; r < int(nr); r++ {
		b := bidx[r]
		if b < 0 || b >= x.Shape[0] {
			return nil, fmt.Errorf("input 2 (batch_indices) has %d at %d, want [0, %d)", b, r, x.Shape[0])
		}
		sw, sh := rf[4*r]*ss-offset, rf[4*r+1]*ss-offset
		ew, eh := rf[4*r+2]*ss-offset, rf[4*r+3]*ss-offset
		rw, rh := ew-sw, eh-sh
		if ctm == "output_half_pixel" {
			rw, rh = math.Max(rw, 1), math.Max(rh, 1)
		}
		bw, bh := rw/float64(ow), rh/float64(oh)
		gh, gw := int(sr), int(sr)
		if sr == 0 {
			gh, gw = int(math.Ceil(rh/float64(oh))), int(math.Ceil(rw/float64(ow)))
		}
		if gh*gw > 1<<16 {
			return nil, fmt.Errorf("roi %d needs a %dx%d sampling grid per bin; set sampling_ratio", r, gh, gw)
		}
		count := float64(max(gh*gw, 1))
		for ph := 0; ph < int(oh); ph++ {
			for pw := 0; pw < int(ow); pw++ {
				var samples []sample
				for iy := 0; iy < gh; iy++ {
					yy := sh + float64(ph)*bh + (float64(iy)+0.5)*bh/float64(gh)
					for ix := 0; ix < gw; ix++ {
						xx := sw + float64(pw)*bw + (float64(ix)+0.5)*bw/float64(gw)
						if yy < -1 || yy > float64(h) || xx < -1 || xx > float64(w) {
							samples = append(samples, sample{})
							continue
						}
						y, xv := math.Max(yy, 0), math.Max(xx, 0)
						yl, xl := int(y), int(xv)
						var yh, xh int
						if yl >= h-1 {
							yl, yh, y = h-1, h-1, float64(h-1)
						} else {
							yh = yl + 1
						}
						if xl >= w-1 {
							xl, xh, xv = w-1, w-1, float64(w-1)
						} else {
							xh = xl + 1
						}
						ly, lx := y-float64(yl), xv-float64(xl)
						hy, hx := 1-ly, 1-lx
						samples = append(samples, sample{
							idx: [4]int{yl*w + xl, yl*w + xh, yh*w + xl, yh*w + xh},
							w:   [4]float64{hy * hx, hy * lx, ly * hx, ly * lx},
						})
					}
				}
				for ch := 0; ch < c; ch++ {
					plane := xf[(int(b)*c+ch)*h*w:]
					var v float64
					if mode == "avg" {
						for _, s := range samples {
							for k := 0; k < 4; k++ {
								v += s.w[k] * plane[s.idx[k]]
							}
						}
						v /= count
					} else {
						first := true
						for _, s := range samples {
							for k := 0; k < 4; k++ {
								if t := s.w[k] * plane[s.idx[k]]; first || t > v {
									v, first = t, false
								}
							}
						}
					}
					out[((r*c+ch)*int(oh)+ph)*int(ow)+pw] = v
				}
			}
		}
	}
	return []*ir.Tensor{fromFloat64(x.DType, []int64{nr, int64(c), oh, ow}, out)}, nil
}

// nonMaxSuppressionKernel implements NonMaxSuppression: per batch and
// class, boxes with score > score_threshold are taken in descending score
// order and kept unless their IoU with a kept box exceeds iou_threshold,
// up to max_output_boxes_per_class. Output rows are [batch, class, box].
func nonMaxSuppressionKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "boxes", "scores", "max_output_boxes_per_class", "iou_threshold", "score_threshold"); err != nil {
		return nil, err
	}
	boxes, scores := in[0], in[1]
	if len(boxes.Shape) != 3 || boxes.Shape[2] != 4 || !boxes.DType.IsFloat() {
		return nil, fmt.Errorf("input 0 (boxes) is %s%v, want float [batch, spatial, 4]", boxes.DType, boxes.Shape)
	}
	nb, ns := boxes.Shape[0], boxes.Shape[1]
	if len(scores.Shape) != 3 || scores.Shape[0] != nb || scores.Shape[2] != ns || !scores.DType.IsFloat() {
		return nil, fmt.Errorf("input 1 (scores) is %s%v, want float [%d, classes, %d]", scores.DType, scores.Shape, nb, ns)
	}
	nc := scores.Shape[1]
	maxOut := int64(0)
	if t := nnOptInput(in, 2); t != nil && t.Len() > 0 {
		maxOut = t.Int64At(0)
	}
	iouTh := 0.0
	if t := nnOptInput(in, 3); t != nil && t.Len() > 0 {
		iouTh = t.Float64At(0)
	}
	useScore, scoreTh := false, 0.0
	if t := nnOptInput(in, 4); t != nil && t.Len() > 0 {
		useScore, scoreTh = true, t.Float64At(0)
	}
	center := nd.AttrInt("center_point_box", 0)
	if center != 0 && center != 1 {
		return nil, fmt.Errorf("center_point_box = %d, want 0 or 1", center)
	}
	bf := toFloat64(boxes)
	sf := toFloat64(scores)
	// corners as y1, x1, y2, x2 with y1 <= y2, x1 <= x2
	corner := func(b, i int64) [4]float64 {
		v := bf[(b*ns+i)*4 : (b*ns+i)*4+4]
		if center == 1 {
			xc, yc, w, h := v[0], v[1], v[2], v[3]
			return [4]float64{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
		}
		return [4]float64{math.Min(v[0], v[2]), math.Min(v[1], v[3]), math.Max(v[0], v[2]), math.Max(v[1], v[3])}
	}
	iou := func(a, b [4]float64) float64 {
		ih := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
		iw := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
		if ih <= 0 || iw <= 0 {
			return 0
		}
		inter := ih * iw
		union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
		if union <= 0 {
			return 0
		}
		return inter / union
	}
	var sel []int64
	for b := int64(0); b < nb; b++ {
		for c := int64(0); c < nc; c++ {
			if maxOut <= 0 {
				continue
			}
			sc := sf[(b*nc+c)*ns : (b*nc+c+1)*ns]
			var cand []int64
			for i := int64(0); i < ns; i++ {
				if !useScore || sc[i] > scoreTh {
					cand = append(cand, i)
				}
			}
			sort.SliceStable(cand, func(i, j int) bool { return sc[cand[i]] > sc[cand[j]] })
			var kept []int64
			for _, i := range cand {
				if int64(len(kept)) >= maxOut {
					break
				}
				bi := corner(b, i)
				ok := true
				for _, k := range kept {
					if iou(bi, corner(b, k)) > iouTh {
						ok = false
						break
					}
				}
				if ok {
					kept = append(kept, i)
					sel = append(sel, b, c, i)
				}
			}
		}
	}
	if sel == nil {
		sel = []int64{}
	}
	return []*ir.Tensor{{DType: ir.Int64, Shape: []int64{int64(len(sel) / 3), 3}, Data: sel}}, nil
}

// maxRoiPoolKernel implements MaxRoiPool (Fast R-CNN ROI pooling): each
// roi [batch, x1, y1, x2, y2] is scaled by spatial_scale, rounded to whole
// pixels and split into pooled_shape bins, each reduced by max (0 for an
// empty bin).
func maxRoiPoolKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "rois"); err != nil {
		return nil, err
	}
	x, rois := in[0], in[1]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("input 0 (X) has shape %v, want rank 4 [N, C, H, W]", x.Shape)
	}
	if len(rois.Shape) != 2 || rois.Shape[1] != 5 || !rois.DType.IsFloat() {
		return nil, fmt.Errorf("input 1 (rois) is %s%v, want float [num_rois, 5]", rois.DType, rois.Shape)
	}
	ps := nd.AttrInts("pooled_shape", nil)
	if len(ps) != 2 || ps[0] <= 0 || ps[1] <= 0 {
		return nil, fmt.Errorf("pooled_shape %v, want two positive values", ps)
	}
	ss := float64(nd.AttrFloat("spatial_scale", 1))
	nr, c, h, w := int(rois.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	ph, pw := int(ps[0]), int(ps[1])
	xf := toFloat64(x)
	rf := toFloat64(rois)
	out := make([]float64, nr*c*ph*pw)
	for r := 0; r < nr; r++ {
		v := rf[5*r : 5*r+5]
		for _, e := range v {
			if math.IsNaN(e) || math.IsInf(e, 0) || math.Abs(e*ss) > 1<<40 {
				return nil, fmt.Errorf("input 1 (rois) has value %v in roi %d, want finite image coordinates", e, r)
			}
		}
		b := int(v[0])
		if b < 0 || b >= int(x.Shape[0]) {
			return nil, fmt.Errorf("input 1 (rois) roi %d has batch index %v, want [0, %d)", r, v[0], x.Shape[0])
		}
		sw, sh := int(math.Round(v[1]*ss)), int(math.Round(v[2]*ss))
		ew, eh := int(math.Round(v[3]*ss)), int(math.Round(v[4]*ss))
		rh, rw := max(eh-sh+1, 1), max(ew-sw+1, 1)
		bh, bw := float64(rh)/float64(ph), float64(rw)/float64(pw)
		for ch := 0; ch < c; ch++ {
			plane := xf[(b*c+ch)*h*w:]
			for i := 0; i < ph; i++ {
				hs := min(max(int(math.Floor(float64(i)*bh))+sh, 0), h)
				he := min(max(int(math.Ceil(float64(i+1)*bh))+sh, 0), h)
				for j := 0; j < pw; j++ {
					ws := min(max(int(math.Floor(float64(j)*bw))+sw, 0), w)
					we := min(max(int(math.Ceil(float64(j+1)*bw))+sw, 0), w)
					m := 0.0
					if he > hs && we > ws {
						m = math.Inf(-1)
						for y := hs; y < he; y++ {
							for xx := ws; xx < we; xx++ {
								m = math.Max(m, plane[y*w+xx])
							}
						}
					}
					out[((r*c+ch)*ph+i)*pw+j] = m
				}
			}
		}
	}
	return []*ir.Tensor{fromFloat64(x.DType, []int64{int64(nr), int64(c), int64(ph), int64(pw)}, out)}, nil
}
