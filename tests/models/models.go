// Package models generates ResNet-18-shaped and MobileNetV2-shaped ONNX
// models with seeded random weights, for whole-model tests and benchmarks
// of the compiled backend. The topology follows torchvision's resnet18 and
// mobilenet_v2 (BatchNormalization after every convolution, ReLU or ReLU6
// as Clip(0, 6), global average pooling, a Gemm classifier); the weights are
// He-initialized random numbers, so the models compute nothing useful but
// exercise every kernel at realistic shapes.
//
// Full size (Config ImageNet): 1x3x224x224 input, 1000 classes, full
// widths. Small (Config Small): 1x3x32x32, 10 classes, a quarter of the
// widths (an eighth for ResNet), small enough to compile for every target
// in a test.
//
//	go run ./tests/models/genmodels -o out/models   # writes the four .onnx files
package models

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
)

// Config sizes a generated model.
type Config struct {
	Size    int64   // input height and width
	Classes int64   // classifier outputs
	Width   float64 // channel multiplier against the original network
	Seed    uint64  // weights seed
}

// ImageNet is the full-size configuration.
var ImageNet = Config{Size: 224, Classes: 1000, Width: 1, Seed: 1}

// Small is the test configuration for MobileNetV2.
var Small = Config{Size: 32, Classes: 10, Width: 0.25, Seed: 1}

// SmallResNet is the test configuration for ResNet-18 (an eighth of the
// widths: 8, 16, 32, 64 channels).
var SmallResNet = Config{Size: 32, Classes: 10, Width: 0.125, Seed: 1}

// builder accumulates a graph.
type builder struct {
	g   *ir.Graph
	rng *rand.Rand
	n   int // node counter for unique names
}

func newBuilder(name string, c Config) (*builder, *ir.Value) {
	b := &builder{
		g:   &ir.Graph{Name: name, IRVersion: 8, Opsets: map[string]int64{"": ir.CanonicalOpset}, Producer: "effc tests/models"},
		rng: rand.New(rand.NewPCG(c.Seed, 0x5eed)),
	}
	x := &ir.Value{Name: "input", Type: ir.TensorType(ir.Float32, ir.ShapeOf(1, 3, c.Size, c.Size))}
	b.g.Inputs = []*ir.Value{x}
	return b, x
}

// konst adds a constant initializer.
func (b *builder) konst(name string, t *ir.Tensor) *ir.Value {
	v := &ir.Value{Name: name, Type: ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)), Const: t}
	b.g.Consts = append(b.g.Consts, v)
	return v
}

// random returns a tensor of normal numbers with standard deviation std.
func (b *builder) random(shape []int64, std float64) *ir.Tensor {
	t := ir.NewTensor(ir.Float32, shape)
	d := t.Data.([]float32)
	for i := range d {
		d[i] = float32(b.rng.NormFloat64() * std)
	}
	return t
}

// node adds a node with one output; shapes are filled by InferShapes later.
func (b *builder) node(op, name string, attrs map[string]*ir.Attr, ins ...*ir.Value) *ir.Value {
	b.n++
	n := &ir.Node{Name: fmt.Sprintf("%s_%d", name, b.n), Op: op, Inputs: ins, Attrs: attrs}
	out := &ir.Value{Name: n.Name + ".out", Producer: n}
	n.Outputs = []*ir.Value{out}
	b.g.Nodes = append(b.g.Nodes, n)
	return out
}

// conv adds Conv (He-initialized, no bias) followed by BatchNormalization
// with random statistics.
func (b *builder) convBN(name string, x *ir.Value, cin, cout, k, stride, group int64) *ir.Value {
	fanIn := float64(cin / group * k * k)
	w := b.konst(name+".weight", b.random([]int64{cout, cin / group, k, k}, math.Sqrt(2/fanIn)))
	y := b.node("Conv", name, map[string]*ir.Attr{
		"kernel_shape": ir.IntsAttr(k, k),
		"strides":      ir.IntsAttr(stride, stride),
		"pads":         ir.IntsAttr(k/2, k/2, k/2, k/2),
		"group":        ir.IntAttr(group),
	}, x, w)
	scale, bias, mean, vari := ir.NewTensor(ir.Float32, []int64{cout}), ir.NewTensor(ir.Float32, []int64{cout}),
		ir.NewTensor(ir.Float32, []int64{cout}), ir.NewTensor(ir.Float32, []int64{cout})
	for i := int64(0); i < cout; i++ {
		scale.Data.([]float32)[i] = float32(0.5 + b.rng.Float64())
		bias.Data.([]float32)[i] = float32(0.1 * b.rng.NormFloat64())
		mean.Data.([]float32)[i] = float32(0.1 * b.rng.NormFloat64())
		vari.Data.([]float32)[i] = float32(0.5 + b.rng.Float64())
	}
	return b.node("BatchNormalization", name+".bn", map[string]*ir.Attr{"epsilon": ir.FloatAttr(1e-5)},
		y, b.konst(name+".bn.scale", scale), b.konst(name+".bn.bias", bias),
		b.konst(name+".bn.mean", mean), b.konst(name+".bn.var", vari))
}

func (b *builder) relu(x *ir.Value) *ir.Value { return b.node("Relu", "relu", nil, x) }

// relu6 is Clip(x, 0, 6), as PyTorch exports ReLU6.
func (b *builder) relu6(x *ir.Value) *ir.Value {
	lo := b.konst(fmt.Sprintf("clip_min_%d", b.n+1), ir.FromFloat32(nil, []float32{0}))
	hi := b.konst(fmt.Sprintf("clip_max_%d", b.n+1), ir.FromFloat32(nil, []float32{6}))
	return b.node("Clip", "relu6", nil, x, lo, hi)
}

// head is GlobalAveragePool, Flatten and the Gemm classifier.
func (b *builder) head(x *ir.Value, features, classes int64) *ir.Value {
	p := b.node("GlobalAveragePool", "pool", nil, x)
	f := b.node("Flatten", "flatten", map[string]*ir.Attr{"axis": ir.IntAttr(1)}, p)
	w := b.konst("fc.weight", b.random([]int64{classes, features}, math.Sqrt(1/float64(features))))
	bias := b.konst("fc.bias", b.random([]int64{classes}, 0.01))
	y := b.node("Gemm", "fc", map[string]*ir.Attr{"transB": ir.IntAttr(1)}, f, w, bias)
	y.Name = "logits"
	return y
}

// finish sets the output, infers shapes and verifies the graph.
func (b *builder) finish(y *ir.Value) (*ir.Graph, error) {
	b.g.Outputs = []*ir.Value{y}
	if err := ir.InferShapes(b.g); err != nil {
		return nil, fmt.Errorf("models: %s: %w", b.g.Name, err)
	}
	if err := ir.Verify(b.g); err != nil {
		return nil, fmt.Errorf("models: %s: %w", b.g.Name, err)
	}
	return b.g, nil
}

// scaled multiplies a channel count by w, rounded to a multiple of 8 (at
// least 8), as torchvision's _make_divisible does.
func scaled(c int64, w float64) int64 {
	v := int64(math.Round(float64(c)*w/8)) * 8
	return max(v, 8)
}

// ResNet18 builds a ResNet-18-shaped graph: a 7x7/2 stem with max pooling,
// four stages of two basic blocks (64, 128, 256, 512 channels times
// c.Width; stride 2 and a 1x1 projection at the start of stages 2-4).
func ResNet18(c Config) (*ir.Graph, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b, x := newBuilder("resnet18", c)
	ch := scaled(64, c.Width)
	y := b.relu(b.convBN("stem", x, 3, ch, 7, 2, 1))
	y = b.node("MaxPool", "maxpool", map[string]*ir.Attr{
		"kernel_shape": ir.IntsAttr(3, 3), "strides": ir.IntsAttr(2, 2), "pads": ir.IntsAttr(1, 1, 1, 1),
	}, y)
	for s, base := range []int64{64, 128, 256, 512} {
		cout := scaled(base, c.Width)
		for blk := 0; blk < 2; blk++ {
			stride := int64(1)
			if s > 0 && blk == 0 {
				stride = 2
			}
			name := fmt.Sprintf("layer%d.%d", s+1, blk)
			h := b.relu(b.convBN(name+".conv1", y, ch, cout, 3, stride, 1))
			h = b.convBN(name+".conv2", h, cout, cout, 3, 1, 1)
			short := y
			if stride != 1 || ch != cout {
				short = b.convBN(name+".downsample", y, ch, cout, 1, stride, 1)
			}
			y = b.relu(b.node("Add", name+".add", nil, h, short))
			ch = cout
		}
	}
	return b.finish(b.head(y, ch, c.Classes))
}

// MobileNetV2 builds a MobileNetV2-shaped graph: a 3x3/2 stem, seventeen
// inverted residual blocks (1x1 expansion, 3x3 depthwise, 1x1 linear
// projection; a residual Add when shapes allow), a 1x1 conv to 1280
// channels and the classifier. Channels scale with c.Width (the last conv
// keeps at least 1280*Width, as torchvision does for Width < 1: it keeps 1280).
func MobileNetV2(c Config) (*ir.Graph, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b, x := newBuilder("mobilenetv2", c)
	ch := scaled(32, c.Width)
	y := b.relu6(b.convBN("features.0", x, 3, ch, 3, 2, 1))
	settings := []struct{ t, c, n, s int64 }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	}
	idx := 1
	for _, st := range settings {
		cout := scaled(st.c, c.Width)
		for i := int64(0); i < st.n; i++ {
			stride := int64(1)
			if i == 0 {
				stride = st.s
			}
			name := fmt.Sprintf("features.%d", idx)
			idx++
			hidden := ch * st.t
			h := y
			if st.t != 1 {
				h = b.relu6(b.convBN(name+".expand", h, ch, hidden, 1, 1, 1))
			}
			h = b.relu6(b.convBN(name+".dw", h, hidden, hidden, 3, stride, hidden))
			h = b.convBN(name+".project", h, hidden, cout, 1, 1, 1)
			if stride == 1 && ch == cout {
				h = b.node("Add", name+".add", nil, y, h)
			}
			y, ch = h, cout
		}
	}
	last := scaled(1280, max(c.Width, 1))
	y = b.relu6(b.convBN(fmt.Sprintf("features.%d", idx), y, ch, last, 1, 1, 1))
	return b.finish(b.head(y, last, c.Classes))
}

func (c Config) check() error {
	if c.Size < 32 || c.Classes < 1 || !(c.Width > 0) {
		return fmt.Errorf("models: config %+v: want Size >= 32, Classes >= 1, Width > 0", c)
	}
	return nil
}

// Encode returns the ONNX bytes of g.
func Encode(g *ir.Graph) ([]byte, error) {
	data, err := frontend.Encode(g)
	if err != nil {
		return nil, fmt.Errorf("models: encoding %s: %w", g.Name, err)
	}
	return data, nil
}

// Input returns the seeded random input of a model built with c.
func Input(c Config) *ir.Tensor {
	rng := rand.New(rand.NewPCG(c.Seed, 0x1a9e))
	t := ir.NewTensor(ir.Float32, []int64{1, 3, c.Size, c.Size})
	for i, d := 0, t.Data.([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	return t
}
