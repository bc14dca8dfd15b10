package interp

import (
	"fmt"

	"github.com/effc/effc/ir"
)

// nnKernels holds the neural-network family: convolutions, pooling,
// normalizations, resampling and detection ops. Each kernel lives in the
// file named in its comment.
var nnKernels = map[string]kernel{
	// conv.go
	"Conv":           convKernel,
	"effc.FusedConv": fusedConvKernel,
	"ConvTranspose":  convTransposeKernel,
	"ConvInteger":    convIntegerKernel,
	"QLinearConv":    qlinearConvKernel,
	"DeformConv":     deformConvKernel,
	// pool.go
	"MaxPool":           maxPoolKernel,
	"AveragePool":       averagePoolKernel,
	"LpPool":            lpPoolKernel,
	"GlobalAveragePool": globalAveragePoolKernel,
	"GlobalMaxPool":     globalMaxPoolKernel,
	"GlobalLpPool":      globalLpPoolKernel,
	"MaxUnpool":         maxUnpoolKernel,
	// norm.go
	"BatchNormalization":        batchNormKernel,
	"LayerNormalization":        layerNormKernel,
	"InstanceNormalization":     instanceNormKernel,
	"GroupNormalization":        groupNormKernel,
	"LRN":                       lrnKernel,
	"MeanVarianceNormalization": mvnKernel,
	"LpNormalization":           lpNormKernel,
	// resize.go
	"Resize": resizeKernel,
	// spatial.go
	"GridSample":   gridSampleKernel,
	"DepthToSpace": depthToSpaceKernel,
	"SpaceToDepth": spaceToDepthKernel,
	"Col2Im":       col2ImKernel,
	// detect.go
	"RoiAlign":          roiAlignKernel,
	"NonMaxSuppression": nonMaxSuppressionKernel,
	"MaxRoiPool":        maxRoiPoolKernel,
}

// nnInputName names input i of an op in messages ("input 1 (W)").
func nnInputName(i int, name string) string { return fmt.Sprintf("input %d (%s)", i, name) }

// nnNeedInputs checks that the required inputs (the first req) are present
// and that there are at most len(names) inputs.
func nnNeedInputs(in []*ir.Tensor, req int, names ...string) error {
	if len(in) > len(names) {
		return fmt.Errorf("got %d inputs, want at most %d", len(in), len(names))
	}
	for i := 0; i < req; i++ {
		if i >= len(in) || in[i] == nil {
			return fmt.Errorf("%s is required", nnInputName(i, names[i]))
		}
		if in[i].DataLen() != in[i].Len() {
			return fmt.Errorf("%s has %d elements for shape %v", nnInputName(i, names[i]), in[i].DataLen(), in[i].Shape)
		}
	}
	for i := req; i < len(in); i++ {
		if in[i] != nil && in[i].DataLen() != in[i].Len() {
			return fmt.Errorf("%s has %d elements for shape %v", nnInputName(i, names[i]), in[i].DataLen(), in[i].Shape)
		}
	}
	return nil
}

// nnOptInput returns in[i], or nil when the optional input is omitted.
func nnOptInput(in []*ir.Tensor, i int) *ir.Tensor {
	if i < len(in) && in[i] != nil {
		return in[i]
	}
	return nil
}

// nnWantFloat rejects tensors that are not of a floating dtype.
func nnWantFloat(t *ir.Tensor, what string) error {
	if !t.DType.IsFloat() {
		return fmt.Errorf("%s has dtype %s, want a float type", what, t.DType)
	}
	return nil
}

// nnWantRank rejects tensors of rank below r.
func nnWantRank(t *ir.Tensor, r int, what string) error {
	if len(t.Shape) < r {
		return fmt.Errorf("%s has shape %v, want rank >= %d", what, t.Shape, r)
	}
	return nil
}

// spatialGeom is the geometry of a sliding-window op over the trailing
// spatial dims: sizes, kernel, strides, dilations, pads and output sizes.
type spatialGeom struct {
	in, out               []int64
	kernel, strides, dils []int64
	padBegin, padEnd      []int64
	autoPad               string
}

// windowGeometry reads kernel_shape-independent attributes (strides,
// dilations, pads, auto_pad) and computes output sizes for a window op with
// the given spatial input sizes and kernel. ceil selects ceil_mode rounding
// (pooling only).
func windowGeometry(n *ir.Node, in, kernel []int64, ceil bool) (*spatialGeom, error) {
	r := len(in)
	g := &spatialGeom{in: in, kernel: kernel}
	if len(kernel) != r {
		return nil, fmt.Errorf("kernel has %d spatial dims %v, input has %d %v", len(kernel), kernel, r, in)
	}
	for i, k := range kernel {
		if k <= 0 {
			return nil, fmt.Errorf("kernel dim %d is %d, want > 0", i, k)
		}
	}
	ones := func() []int64 {
		s := make([]int64, r)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	g.strides = n.AttrInts("strides", ones())
	g.dils = n.AttrInts("dilations", ones())
	if len(g.strides) != r {
		return nil, fmt.Errorf("strides %v has %d values, want %d", g.strides, len(g.strides), r)
	}
	if len(g.dils) != r {
		return nil, fmt.Errorf("dilations %v has %d values, want %d", g.dils, len(g.dils), r)
	}
	for i := 0; i < r; i++ {
		if g.strides[i] <= 0 || g.dils[i] <= 0 {
			return nil, fmt.Errorf("strides %v and dilations %v must be positive", g.strides, g.dils)
		}
	}
	g.autoPad = n.AttrString("auto_pad", "NOTSET")
	g.padBegin = make([]int64, r)
	g.padEnd = make([]int64, r)
	g.out = make([]int64, r)
	switch g.autoPad {
	case "NOTSET", "":
		pads := n.AttrInts("pads", make([]int64, 2*r))
		if len(pads) != 2*r {
			return nil, fmt.Errorf("pads %v has %d values, want %d", pads, len(pads), 2*r)
		}
		copy(g.padBegin, pads[:r])
		copy(g.padEnd, pads[r:])
		for i := 0; i < r; i++ {
			if g.padBegin[i] < 0 || g.padEnd[i] < 0 {
				return nil, fmt.Errorf("pads %v must be non-negative", pads)
			}
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < r; i++ {
			dk := (kernel[i]-1)*g.dils[i] + 1
			o := (in[i] + g.strides[i] - 1) / g.strides[i]
			total := max(0, (o-1)*g.strides[i]+dk-in[i])
			if g.autoPad == "SAME_UPPER" {
				g.padBegin[i] = total / 2
			} else {
				g.padBegin[i] = total - total/2
			}
			g.padEnd[i] = total - g.padBegin[i]
			g.out[i] = o
		}
		return g, g.check()
	default:
		return nil, fmt.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", g.autoPad)
	}
	for i := 0; i < r; i++ {
		dk := (kernel[i]-1)*g.dils[i] + 1
		span := in[i] + g.padBegin[i] + g.padEnd[i] - dk
		if span < 0 {
			return nil, fmt.Errorf("dilated kernel %d is larger than padded input %d in spatial dim %d", dk, in[i]+g.padBegin[i]+g.padEnd[i], i)
		}
		o := span/g.strides[i] + 1
		if ceil && span%g.strides[i] != 0 {
			o++
			// The last window must start inside the input or left padding.
			if (o-1)*g.strides[i] >= in[i]+g.padBegin[i] {
				o--
			}
		}
		g.out[i] = o
	}
	return g, g.check()
}

// check refuses empty or oversized outputs.
func (g *spatialGeom) check() error {
	if _, err := ir.CheckedNumElements(g.out); err != nil {
		return err
	}
	for i, o := range g.out {
		if o <= 0 {
			return fmt.Errorf("output spatial dim %d would be %d", i, o)
		}
	}
	return nil
}

// srcTable returns, for each kernel offset k and output position o along
// spatial dim d, the input position o*stride - padBegin + k*dilation, or -1
// when it falls outside the input. Entry [k*out+o].
func (g *spatialGeom) srcTable(d int) []int {
	t := make([]int, g.kernel[d]*g.out[d])
	for k := int64(0); k < g.kernel[d]; k++ {
		for o := int64(0); o < g.out[d]; o++ {
			p := o*g.strides[d] - g.padBegin[d] + k*g.dils[d]
			if p < 0 || p >= g.in[d] {
				p = -1
			}
			t[k*g.out[d]+o] = int(p)
		}
	}
	return t
}

// kernelShapeAttr returns kernel_shape, or the weight's trailing dims when
// the attribute is absent (convolutions).
func kernelShapeAttr(n *ir.Node, w []int64) ([]int64, error) {
	ks := n.AttrInts("kernel_shape", nil)
	if ks == nil {
		return append([]int64{}, w...), nil
	}
	if len(ks) != len(w) || !equalShape(ks, w) {
		return nil, fmt.Errorf("kernel_shape %v does not match weight spatial dims %v", ks, w)
	}
	return ks, nil
}

// nnF32 returns t's elements as float32 (shared when t is f32).
func nnF32(t *ir.Tensor) []float32 {
	if d, ok := t.Data.([]float32); ok {
		return d
	}
	out := make([]float32, t.Len())
	for i := range out {
		out[i] = float32(t.Float64At(i))
	}
	return out
}

// nnFromF32 builds a tensor of float dtype dt from float32 values.
func nnFromF32(dt ir.DType, shape []int64, v []float32) *ir.Tensor {
	if dt == ir.Float32 {
		return &ir.Tensor{DType: dt, Shape: append([]int64{}, shape...), Data: v}
	}
	f := make([]float64, len(v))
	for i, x := range v {
		f[i] = float64(x)
	}
	return fromFloat64(dt, shape, f)
}

// nnProd multiplies int64s.
func nnProd(s []int64) int64 {
	p := int64(1)
	for _, v := range s {
		p *= v
	}
	return p
}
