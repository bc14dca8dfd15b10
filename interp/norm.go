package interp

import (
	"fmt"
	"math"

	"github.com/effc/effc/ir"
)

// groupStats returns the mean and (biased) variance of x over the elements
// sharing each group id grp[i] in [0, ngroups).
func groupStats(x []float64, grp []int, ngroups int) (mean, variance []float64) {
	mean = make([]float64, ngroups)
	variance = make([]float64, ngroups)
	count := make([]float64, ngroups)
	for i, v := range x {
		mean[grp[i]] += v
		count[grp[i]]++
	}
	for g := range mean {
		if count[g] > 0 {
			mean[g] /= count[g]
		}
	}
	for i, v := range x {
		d := v - mean[grp[i]]
		variance[grp[i]] += d * d
	}
	for g := range variance {
		if count[g] > 0 {
			variance[g] /= count[g]
		}
	}
	return mean, variance
}

// reducedGroups maps each element of shape to the flat index of its slot in
// shape with the reduced axes collapsed to 1; it returns that kept shape.
func reducedGroups(shape []int64, reduced []int) ([]int, []int64) {
	kept := append([]int64{}, shape...)
	for _, a := range reduced {
		kept[a] = 1
	}
	return broadcastIndex(shape, kept), kept
}

// channelParam validates a per-channel [C] float operand.
func channelParam(t *ir.Tensor, c int64, what string) ([]float64, error) {
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("%s has dtype %s, want a float type", what, t.DType)
	}
	if len(t.Shape) != 1 || t.Shape[0] != c {
		return nil, fmt.Errorf("%s has shape %v, want [%d]", what, t.Shape, c)
	}
	return toFloat64(t), nil
}

// batchNormKernel implements BatchNormalization in inference mode:
// y = (x - mean) / sqrt(var + epsilon) * scale + B over channel dim 1.
func batchNormKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if nd.AttrInt("training_mode", 0) != 0 {
		return nil, fmt.Errorf("training_mode=1 is not supported: effc runs BatchNormalization in inference mode only")
	}
	if err := nnNeedInputs(in, 5, "X", "scale", "B", "input_mean", "input_var"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if err := nnWantRank(x, 2, "input 0 (X)"); err != nil {
		return nil, err
	}
	c := x.Shape[1]
	names := []string{"X", "scale", "B", "input_mean", "input_var"}
	p := make([][]float64, 5)
	for i := 1; i < 5; i++ {
		var err error
		if p[i], err = channelParam(in[i], c, nnInputName(i, names[i])); err != nil {
			return nil, err
		}
	}
	eps := float64(nd.AttrFloat("epsilon", 1e-5))
	mul := make([]float64, c)
	add := make([]float64, c)
	for i := range mul {
		mul[i] = p[1][i] / math.Sqrt(p[4][i]+eps)
		add[i] = p[2][i] - p[3][i]*mul[i]
	}
	plane := int(nnProd(x.Shape[2:]))
	if xd, ok := x.Data.([]float32); ok {
		out := make([]float32, len(xd))
		for i, v := range xd {
			ch := (i / plane) % int(c)
			out[i] = float32(float64(v)*mul[ch] + add[ch])
		}
		return []*ir.Tensor{{DType: ir.Float32, Shape: append([]int64{}, x.Shape...), Data: out}}, nil
	}
	xf := toFloat64(x)
	out := make([]float64, len(xf))
	for i, v := range xf {
		ch := (i / plane) % int(c)
		out[i] = v*mul[ch] + add[ch]
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}

// broadcastParam expands an optional scale/bias operand to x's shape with
// multidirectional broadcasting, refusing shapes that would grow x.
func broadcastParam(t *ir.Tensor, shape []int64, what string) ([]float64, error) {
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("%s has dtype %s, want a float type", what, t.DType)
	}
	b, err := broadcastShapes(shape, t.Shape)
	if err != nil || !equalShape(b, shape) {
		return nil, fmt.Errorf("%s has shape %v, not broadcastable to %v", what, t.Shape, shape)
	}
	v := toFloat64(t)
	idx := broadcastIndex(shape, t.Shape)
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out, nil
}

// layerNormKernel implements LayerNormalization over dims [axis, rank),
// with optional Mean and InvStdDev outputs (stash dtype f32 by default).
func layerNormKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 2, "X", "Scale", "B"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	axis, err := normAxis(nd.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	eps := float64(nd.AttrFloat("epsilon", 1e-5))
	scale, err := broadcastParam(in[1], x.Shape, "input 1 (Scale)")
	if err != nil {
		return nil, err
	}
	var bias []float64
	if b := nnOptInput(in, 2); b != nil {
		if bias, err = broadcastParam(b, x.Shape, "input 2 (B)"); err != nil {
			return nil, err
		}
	}
	red := []int{}
	for a := axis; a < len(x.Shape); a++ {
		red = append(red, a)
	}
	grp, kept := reducedGroups(x.Shape, red)
	xf := toFloat64(x)
	ng := int(nnProd(kept))
	mean, variance := groupStats(xf, grp, ng)
	inv := make([]float64, ng)
	for g := range inv {
		inv[g] = 1 / math.Sqrt(variance[g]+eps)
	}
	out := make([]float64, len(xf))
	for i, v := range xf {
		y := (v - mean[grp[i]]) * inv[grp[i]] * scale[i]
		if bias != nil {
			y += bias[i]
		}
		out[i] = y
	}
	stash := x.DType
	if nd.AttrInt("stash_type", 1) == 1 {
		stash = ir.Float32
	}
	res := []*ir.Tensor{fromFloat64(x.DType, x.Shape, out), fromFloat64(stash, kept, mean), fromFloat64(stash, kept, inv)}
	return res[:min(len(res), max(len(nd.Outputs), 1))], nil
}

// instanceNormKernel implements InstanceNormalization: per (n, c) plane
// normalization with per-channel scale and B.
func instanceNormKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 3, "input", "scale", "B"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (input)"); err != nil {
		return nil, err
	}
	if err := nnWantRank(x, 3, "input 0 (input)"); err != nil {
		return nil, err
	}
	c := x.Shape[1]
	scale, err := channelParam(in[1], c, "input 1 (scale)")
	if err != nil {
		return nil, err
	}
	bias, err := channelParam(in[2], c, "input 2 (B)")
	if err != nil {
		return nil, err
	}
	eps := float64(nd.AttrFloat("epsilon", 1e-5))
	plane := int(nnProd(x.Shape[2:]))
	xf := toFloat64(x)
	grp := make([]int, len(xf))
	for i := range grp {
		grp[i] = i / max(plane, 1)
	}
	planes := int(x.Shape[0] * c)
	mean, variance := groupStats(xf, grp, planes)
	out := make([]float64, len(xf))
	for i, v := range xf {
		g := grp[i]
		ch := g % int(c)
		out[i] = (v-mean[g])/math.Sqrt(variance[g]+eps)*scale[ch] + bias[ch]
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}

// groupNormKernel implements GroupNormalization (opset 18): channels split
// into num_groups groups normalized together; scale and bias have one value
// per group. Per-channel [C] scale/bias (opset 21) are accepted as well.
func groupNormKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 3, "X", "scale", "bias"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if err := nnWantRank(x, 2, "input 0 (X)"); err != nil {
		return nil, err
	}
	c := x.Shape[1]
	ng := nd.AttrInt("num_groups", 0)
	if ng <= 0 || c%ng != 0 {
		return nil, fmt.Errorf("num_groups %d must be positive and divide the %d channels", ng, c)
	}
	pLen := ng
	if in[1].Len() == int(c) && c != ng {
		pLen = c
	}
	scale, err := channelParam(in[1], pLen, "input 1 (scale)")
	if err != nil {
		return nil, fmt.Errorf("%w (one value per group, or per channel)", err)
	}
	bias, err := channelParam(in[2], pLen, "input 2 (bias)")
	if err != nil {
		return nil, fmt.Errorf("%w (one value per group, or per channel)", err)
	}
	eps := float64(nd.AttrFloat("epsilon", 1e-5))
	plane := max(int(nnProd(x.Shape[2:])), 1)
	cpg := int(c / ng)
	xf := toFloat64(x)
	grp := make([]int, len(xf))
	for i := range grp {
		n := i / (plane * int(c))
		ch := (i / plane) % int(c)
		grp[i] = n*int(ng) + ch/cpg
	}
	mean, variance := groupStats(xf, grp, int(x.Shape[0]*ng))
	out := make([]float64, len(xf))
	for i, v := range xf {
		ch := (i / plane) % int(c)
		pi := ch / cpg
		if pLen == c {
			pi = ch
		}
		g := grp[i]
		out[i] = (v-mean[g])/math.Sqrt(variance[g]+eps)*scale[pi] + bias[pi]
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}

// lrnKernel implements LRN across channels:
// y = x / (bias + alpha/size * Σ x²)^beta over a window of size channels.
func lrnKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	if err := nnWantRank(x, 3, "input 0 (X)"); err != nil {
		return nil, err
	}
	size := nd.AttrInt("size", 0)
	if size <= 0 {
		return nil, fmt.Errorf("attribute size is required and must be positive, got %d", size)
	}
	alpha := float64(nd.AttrFloat("alpha", 1e-4))
	beta := float64(nd.AttrFloat("beta", 0.75))
	bias := float64(nd.AttrFloat("bias", 1))
	c := int(x.Shape[1])
	plane := int(nnProd(x.Shape[2:]))
	lo, hi := int((size-1)/2), int((size-1+1)/2)
	xf := toFloat64(x)
	out := make([]float64, len(xf))
	for n := 0; n < int(x.Shape[0]); n++ {
		base := n * c * plane
		for ch := 0; ch < c; ch++ {
			for p := 0; p < plane; p++ {
				s := 0.0
				for k := max(0, ch-lo); k <= min(c-1, ch+hi); k++ {
					v := xf[base+k*plane+p]
					s += v * v
				}
				i := base + ch*plane + p
				out[i] = xf[i] / math.Pow(bias+alpha/float64(size)*s, beta)
			}
		}
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}

// mvnKernel implements MeanVarianceNormalization over axes (default
// [0, 2, 3]): y = (x - E[x]) / (sqrt(E[x²] - E[x]²) + 1e-9), as in the ONNX
// function body.
func mvnKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "X"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (X)"); err != nil {
		return nil, err
	}
	axes := nd.AttrInts("axes", []int64{0, 2, 3})
	red, err := normAxes(axes, len(x.Shape))
	if err != nil {
		return nil, fmt.Errorf("axes %v: %w", axes, err)
	}
	grp, kept := reducedGroups(x.Shape, red)
	xf := toFloat64(x)
	mean, variance := groupStats(xf, grp, int(nnProd(kept)))
	out := make([]float64, len(xf))
	for i, v := range xf {
		g := grp[i]
		out[i] = (v - mean[g]) / (math.Sqrt(variance[g]) + 1e-9)
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}

// lpNormKernel implements LpNormalization: x divided by its L1 or L2 norm
// along axis (a zero norm gives NaN, as in the ONNX reference).
func lpNormKernel(nd *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := nnNeedInputs(in, 1, "input"); err != nil {
		return nil, err
	}
	x := in[0]
	if err := nnWantFloat(x, "input 0 (input)"); err != nil {
		return nil, err
	}
	p := nd.AttrInt("p", 2)
	if p != 1 && p != 2 {
		return nil, fmt.Errorf("p = %d, want 1 or 2", p)
	}
	axis, err := normAxis(nd.AttrInt("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	grp, kept := reducedGroups(x.Shape, []int{axis})
	xf := toFloat64(x)
	norm := make([]float64, nnProd(kept))
	for i, v := range xf {
		if p == 1 {
			norm[grp[i]] += math.Abs(v)
		} else {
			norm[grp[i]] += v * v
		}
	}
	if p == 2 {
		for i := range norm {
			norm[i] = math.Sqrt(norm[i])
		}
	}
	out := make([]float64, len(xf))
	for i, v := range xf {
		out[i] = v / norm[grp[i]]
	}
	return []*ir.Tensor{fromFloat64(x.DType, x.Shape, out)}, nil
}
