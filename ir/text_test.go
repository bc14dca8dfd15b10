package ir

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// -update rewrites testdata/*.effir from the graphs built here. The flag
// is registered only if no other test file in the package did already.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
	return true
}()

func doUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// ---- graph builders ----

type builder struct {
	g *Graph
	r *rand.Rand
}

func newBuilder(name string) *builder {
	return &builder{g: &Graph{Name: name, Opsets: map[string]int64{"": CanonicalOpset}}, r: rand.New(rand.NewPCG(1, 2))}
}

func (b *builder) input(name string, t Type) *Value {
	v := &Value{Name: name, Type: t}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *builder) konst(name string, t *Tensor) *Value {
	v := &Value{Name: name, Type: TensorType(t.DType, ShapeOf(t.Shape...)), Const: t}
	b.g.Consts = append(b.g.Consts, v)
	return v
}

// randF32 returns a deterministic f32 tensor with values in [-0.5, 0.5).
func (b *builder) randF32(shape ...int64) *Tensor {
	t := NewTensor(Float32, shape)
	for i, d := 0, t.Data.([]float32); i < len(d); i++ {
		d[i] = float32(b.r.Float64() - 0.5)
	}
	return t
}

// node adds a node; outs are (name, type) pairs, "" names an omitted output.
func (b *builder) node(name, op string, ins []*Value, attrs map[string]*Attr, outs ...any) []*Value {
	n := &Node{Name: name, Op: op, Inputs: ins, Attrs: attrs}
	for i := 0; i < len(outs); i += 2 {
		if outs[i].(string) == "" {
			n.Outputs = append(n.Outputs, nil)
			continue
		}
		n.Outputs = append(n.Outputs, &Value{Name: outs[i].(string), Type: outs[i+1].(Type), Producer: n})
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n.Outputs
}

func f32(dims ...Dim) Type { return TensorType(Float32, Shape(dims)) }

// resnetBlock is Conv-BN-Relu-Conv-Add-Relu-GlobalAveragePool-Flatten-Gemm
// with a symbolic batch N.
func resnetBlock() *Graph {
	b := newBuilder("resnet_block")
	g := b.g
	g.IRVersion, g.SourceOpset, g.Producer = 8, 13, "pytorch 1.13"
	g.Doc = "A residual block and a classifier head.\nBuilt by text_test.go."
	g.Metadata = map[string]string{"author": "effc", "license": "MIT"}
	N := Sym("N")
	x := b.input("x", f32(N, D(16), D(8), D(8)))
	w1 := b.konst("conv1.weight", b.randF32(16, 16, 3, 3))
	b1 := b.konst("conv1.bias", b.randF32(16))
	sc := b.konst("bn.scale", b.randF32(16))
	bi := b.konst("bn.bias", b.randF32(16))
	mean := b.konst("bn.mean", b.randF32(16))
	vr := b.konst("bn.var", FromFloat32([]int64{16}, []float32{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 2, 2, 2, 2, 0.25, 0.25, 0.25, 0.25}))
	w2 := b.konst("conv2.weight", b.randF32(16, 16, 3, 3))
	fw := b.konst("fc.weight", b.randF32(10, 16))
	fb := b.konst("fc.bias", b.randF32(10))
	shp := b.konst("shape", FromInt64([]int64{2}, []int64{1, -1}))
	_ = shp
	act := f32(N, D(16), D(8), D(8))
	conv := map[string]*Attr{"dilations": IntsAttr(1, 1), "group": IntAttr(1), "kernel_shape": IntsAttr(3, 3),
		"pads": IntsAttr(1, 1, 1, 1), "strides": IntsAttr(1, 1)}
	c1 := b.node("conv1", "Conv", []*Value{x, w1, b1}, conv, "conv1.out", act)[0]
	bn := b.node("bn1", "BatchNormalization", []*Value{c1, sc, bi, mean, vr},
		map[string]*Attr{"epsilon": FloatAttr(1e-5), "momentum": FloatAttr(0.9)}, "bn1.out", act)[0]
	r1 := b.node("relu1", "Relu", []*Value{bn}, nil, "relu1.out", act)[0]
	c2 := b.node("conv2", "Conv", []*Value{r1, w2, nil}, conv, "conv2.out", act)[0]
	a := b.node("add", "Add", []*Value{c2, x}, nil, "add.out", act)[0]
	r2 := b.node("relu2", "Relu", []*Value{a}, nil, "relu2.out", act)[0]
	gap := b.node("gap", "GlobalAveragePool", []*Value{r2}, nil, "gap.out", f32(N, D(16), D(1), D(1)))[0]
	fl := b.node("flatten", "Flatten", []*Value{gap}, map[string]*Attr{"axis": IntAttr(1)}, "flat", f32(N, D(16)))[0]
	y := b.node("fc", "Gemm", []*Value{fl, fw, fb},
		map[string]*Attr{"alpha": FloatAttr(1), "beta": FloatAttr(1), "transB": IntAttr(1)}, "y", f32(N, D(10)))[0]
	g.Outputs = []*Value{y}
	return g
}

// dtypes has one constant per dtype with edge-case values, plus every
// other corner of the syntax: unknown rank and dims, quoted names, custom
// domains, omitted operands and results, every attribute kind.
func dtypes() *Graph {
	b := newBuilder("every dtype")
	g := b.g
	g.Opsets["com.microsoft"] = 1
	nanPayload := math.Float32frombits(0x7fc00001)
	sNaN := math.Float32frombits(0xff800001)
	k := func(name string, dt DType, shape []int64, data any) *Value {
		return b.konst(name, &Tensor{DType: dt, Shape: shape, Data: data})
	}
	k("f32", Float32, []int64{11}, []float32{0, float32(math.Copysign(0, -1)), 1.5, -2, 1e-45, math.MaxFloat32,
		float32(math.NaN()), nanPayload, sNaN, float32(math.Inf(1)), float32(math.Inf(-1))})
	k("f64", Float64, []int64{2, 3}, []float64{0.1, -1e300, 5e-324, math.NaN(), math.Float64frombits(0x7ff0000000000001), math.Inf(-1)})
	k("f16", Float16, []int64{8}, []uint16{0x3c00, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7e01, 0x0001, 0x7bff})
	k("bf16", BFloat16, []int64{5}, []uint16{0x3f80, 0x7fc0, 0xff81, 0x0001, 0xc2f7})
	k("f8e4m3fn", Float8E4M3FN, []int64{5}, []uint8{0x38, 0x7e, 0x7f, 0xff, 0x01})
	k("f8e4m3fnuz", Float8E4M3FNUZ, []int64{4}, []uint8{0x40, 0x80, 0x7f, 0x00})
	k("f8e5m2", Float8E5M2, []int64{6}, []uint8{0x3c, 0x7c, 0xfc, 0x7e, 0x7d, 0x7b})
	k("f8e5m2fnuz", Float8E5M2FNUZ, []int64{3}, []uint8{0x40, 0x80, 0xff})
	k("i8", Int8, []int64{3}, []int8{-128, 0, 127})
	k("u8", Uint8, []int64{2}, []uint8{0, 255})
	k("i16", Int16, []int64{2}, []int16{-32768, 32767})
	k("u16", Uint16, []int64{1}, []uint16{65535})
	k("i32", Int32, []int64{2}, []int32{math.MinInt32, math.MaxInt32})
	k("u32", Uint32, []int64{1}, []uint32{math.MaxUint32})
	k("i64", Int64, []int64{2}, []int64{math.MinInt64, math.MaxInt64})
	k("u64", Uint64, []int64{1}, []uint64{math.MaxUint64})
	k("bool", Bool, []int64{2, 1}, []bool{true, false})
	k("str", String, []int64{3}, []string{"plain", "quote\" newline\n tab\t", "\x00\xffé"})
	k("c64", Complex64, []int64{2}, []complex64{complex(1, -2), complex(float32(math.Inf(1)), 0.5)})
	k("c128", Complex128, []int64{}, []complex128{complex(0.1, 1e-300)})
	k("scalar", Float32, []int64{}, []float32{0.0078125})
	k("empty", Int64, []int64{0}, []int64{})
	k("zero dims", Float32, []int64{2, 0, 3}, []float32{})
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprint("label", i)
	}
	k("labels", String, []int64{20}, many)
	// A constant whose value type is not its tensor's own type.
	odd := &Value{Name: "odd", Type: Type{DType: Float32, Ranked: true, Shape: Shape{Sym("K")}}, Const: FromFloat32([]int64{2}, []float32{1, 2})}
	g.Consts = append(g.Consts, odd)
	untyped := &Value{Name: "untyped", Const: FromInt64([]int64{1}, []int64{7})}
	g.Consts = append(g.Consts, untyped)

	x := b.input("/layer1/Conv_output_0", Type{DType: Float32})
	y := b.input("input with spaces", TensorType(Float16, Shape{Sym("batch size"), Unknown(), D(3), Sym("S")}))
	z := b.input("untyped_in", Type{})
	sc := b.input("scalar_in", TensorType(Bool, Shape{}))
	tiny := FromFloat32([]int64{2, 2}, []float32{1, 2, 3, 4})
	attrs := map[string]*Attr{
		"i": IntAttr(-7), "f": FloatAttr(2), "f_frac": FloatAttr(0.1), "f_nan": FloatAttr(float32(math.NaN())),
		"f_ninf": FloatAttr(float32(math.Inf(-1))), "f_negzero": FloatAttr(float32(math.Copysign(0, -1))),
		"s": StringAttr("héllo \"world\"\n"), "t": TensorAttr(tiny),
		"t_big": TensorAttr(b.randF32(4, 5)),
		"ints":  IntsAttr(1, -2, 3), "floats": FloatsAttr(1, 0.5, float32(math.Inf(1))),
		"strings": StringsAttr("a", "", "c d"), "tensors": {Kind: AttrTensors, Tensors: []*Tensor{tiny, Scalar(int64(3))}},
		"e_ints": {Kind: AttrInts}, "e_floats": {Kind: AttrFloats}, "e_strings": {Kind: AttrStrings}, "e_tensors": {Kind: AttrTensors},
		"weird name": IntAttr(1),
	}
	outs := b.node("custom node", "Foo", []*Value{x, nil, y, nil}, attrs,
		"foo.a", Type{DType: Float32}, "", nil, "foo:c", TensorType(Int64, Shape{Unknown()}))
	b.g.Nodes[len(b.g.Nodes)-1].Domain = "com.microsoft"
	b.g.Nodes[len(b.g.Nodes)-1].Doc = "custom op; doc with \"quotes\""
	side := &Node{Name: "", Op: "Print", Domain: "ai.effc.debug-ops", Inputs: []*Value{z, sc}}
	g.Nodes = append(g.Nodes, side)
	id := b.node("", "Identity", []*Value{outs[0]}, nil, "id", Type{})[0]
	g.Outputs = []*Value{id, outs[2], x}
	return g
}

// quantized is QuantizeLinear -> QLinearConv -> DequantizeLinear with
// per-tensor activation and per-axis weight quantization.
func quantized() *Graph {
	b := newBuilder("qconv")
	g := b.g
	g.IRVersion = 9
	N := Sym("N")
	x := b.input("x", f32(N, D(3), D(8), D(8)))
	xs := b.konst("x.scale", Scalar(float32(0.0078125)))
	xz := b.konst("x.zp", &Tensor{DType: Uint8, Shape: []int64{}, Data: []uint8{128}})
	wscale := []float32{0.01, 0.02, 0.015, 0.0125}
	wq := NewTensor(Int8, []int64{4, 3, 3, 3})
	for i, d := 0, wq.Data.([]int8); i < len(d); i++ {
		d[i] = int8(b.r.IntN(255) - 127)
	}
	w := b.konst("w", wq)
	w.Type.Quant = &Quant{Scale: wscale, ZeroPoint: []int32{0, 0, 0, 0}, Axis: 0}
	ws := b.konst("w.scale", FromFloat32([]int64{4}, wscale))
	wz := b.konst("w.zp", &Tensor{DType: Int8, Shape: []int64{4}, Data: []int8{0, 0, 0, 0}})
	ys := b.konst("y.scale", Scalar(float32(0.05)))
	yz := b.konst("y.zp", &Tensor{DType: Uint8, Shape: []int64{}, Data: []uint8{120}})
	bias := b.konst("bias", &Tensor{DType: Int32, Shape: []int64{4}, Data: []int32{100, -50, 0, 25}})
	qa := TensorType(Uint8, Shape{N, D(3), D(8), D(8)})
	qa.Quant = &Quant{Scale: []float32{0.0078125}, ZeroPoint: []int32{128}}
	xq := b.node("quant", "QuantizeLinear", []*Value{x, xs, xz}, nil, "xq", qa)[0]
	qy := TensorType(Uint8, Shape{N, D(4), D(8), D(8)})
	qy.Quant = &Quant{Scale: []float32{0.05}, ZeroPoint: []int32{120}}
	yq := b.node("qconv", "QLinearConv", []*Value{xq, xs, xz, w, ws, wz, ys, yz, bias},
		map[string]*Attr{"kernel_shape": IntsAttr(3, 3), "pads": IntsAttr(1, 1, 1, 1)}, "yq", qy)[0]
	// An fp8 per-axis (symmetric, no zero point) type, axis 1.
	f8 := TensorType(Float8E4M3FN, Shape{N, D(4), D(8), D(8)})
	f8.Quant = &Quant{Scale: []float32{0.5, 0.25, 0.125, 1}, Axis: 1}
	y8 := b.node("to_fp8", "Cast", []*Value{yq}, map[string]*Attr{"to": IntAttr(int64(Float8E4M3FN)), "saturate": IntAttr(1)}, "y8", f8)[0]
	y := b.node("dequant", "DequantizeLinear", []*Value{yq, ys, yz}, nil, "y", f32(N, D(4), D(8), D(8)))[0]
	g.Outputs = []*Value{y, y8}
	return g
}

var goldenCases = []struct {
	name  string
	build func() *Graph
}{
	{"resnet_block", resnetBlock},
	{"dtypes", dtypes},
	{"quantized", quantized},
}

// ---- equality ----

// snapshot is a pointer-free, NaN-safe picture of a graph for go-cmp:
// values are referenced by index, floats compared by bits, tensor data by
// its raw encoding, and nil/empty slices and maps are not distinguished.
type snapshot struct {
	Name, Producer, Doc    string
	IRVersion, SourceOpset int64
	Opsets                 map[string]int64
	Metadata               map[string]string
	Values                 []snapValue
	Inputs, Consts, Outs   []int
	Nodes                  []snapNode
}

type snapValue struct {
	Name     string
	Type     string
	Const    string
	Producer int
}

type snapNode struct {
	Name, Op, Domain, Doc string
	Inputs, Outputs       []int
	Attrs                 map[string]string
}

func snapTensor(t *Tensor) string {
	if t == nil {
		return "<nil>"
	}
	s := fmt.Sprintf("%s%v ", t.DType, append([]int64{}, t.Shape...))
	switch d := t.Data.(type) {
	case ElidedData:
		return s + fmt.Sprintf("elided %d %s", d.Bytes, d.Hash)
	case []string:
		return s + fmt.Sprintf("%q", d)
	}
	return s + fmt.Sprintf("%x", t.Bytes())
}

func snapType(t Type) string {
	s := t.DType.String()
	if t.Ranked {
		s += fmt.Sprintf("%#v", append(Shape{}, t.Shape...))
	} else {
		s += "[*]"
	}
	if q := t.Quant; q != nil {
		bits := make([]uint32, len(q.Scale))
		for i, v := range q.Scale {
			bits[i] = math.Float32bits(v)
		}
		s += fmt.Sprintf(" q%x zp%v axis%d", bits, append([]int32{}, q.ZeroPoint...), q.Axis)
	}
	return s
}

func snapAttr(a *Attr) string {
	s := a.Kind.String() + " "
	switch a.Kind {
	case AttrInt:
		return s + fmt.Sprint(a.Int)
	case AttrFloat:
		return s + fmt.Sprintf("%#x", math.Float32bits(a.Float))
	case AttrString:
		return s + fmt.Sprintf("%q", a.String)
	case AttrTensor:
		return s + snapTensor(a.Tensor)
	case AttrInts:
		return s + fmt.Sprint(append([]int64{}, a.Ints...))
	case AttrFloats:
		for _, f := range a.Floats {
			s += fmt.Sprintf("%#x ", math.Float32bits(f))
		}
		return s
	case AttrStrings:
		return s + fmt.Sprintf("%q", append([]string{}, a.Strings...))
	case AttrTensors:
		for _, t := range a.Tensors {
			s += snapTensor(t) + "; "
		}
		return s
	}
	return s + "?"
}

func snap(g *Graph) snapshot {
	s := snapshot{Name: g.Name, Producer: g.Producer, Doc: g.Doc, IRVersion: g.IRVersion, SourceOpset: g.SourceOpset,
		Opsets: map[string]int64{}, Metadata: map[string]string{}}
	for k, v := range g.Opsets {
		s.Opsets[k] = v
	}
	for k, v := range g.Metadata {
		s.Metadata[k] = v
	}
	ids := map[*Value]int{}
	nodeIdx := map[*Node]int{}
	for i, n := range g.Nodes {
		nodeIdx[n] = i
	}
	ref := func(v *Value) int {
		if v == nil {
			return -1
		}
		if id, ok := ids[v]; ok {
			return id
		}
		ids[v] = len(s.Values)
		sv := snapValue{Name: v.Name, Type: snapType(v.Type), Producer: -1}
		if v.Const != nil {
			sv.Const = snapTensor(v.Const)
		}
		if v.Producer != nil {
			sv.Producer = nodeIdx[v.Producer]
		}
		s.Values = append(s.Values, sv)
		return ids[v]
	}
	for _, v := range g.Inputs {
		s.Inputs = append(s.Inputs, ref(v))
	}
	for _, v := range g.Consts {
		s.Consts = append(s.Consts, ref(v))
	}
	for _, n := range g.Nodes {
		sn := snapNode{Name: n.Name, Op: n.Op, Domain: n.Domain, Doc: n.Doc, Attrs: map[string]string{}}
		for _, v := range n.Inputs {
			sn.Inputs = append(sn.Inputs, ref(v))
		}
		for _, v := range n.Outputs {
			sn.Outputs = append(sn.Outputs, ref(v))
		}
		for k, a := range n.Attrs {
			sn.Attrs[k] = snapAttr(a)
		}
		s.Nodes = append(s.Nodes, sn)
	}
	for _, v := range g.Outputs {
		s.Outs = append(s.Outs, ref(v))
	}
	return s
}

// graphDiff returns "" when the graphs are equal, else a go-cmp diff.
func graphDiff(want, got *Graph) string { return cmp.Diff(snap(want), snap(got)) }

// ---- tests ----

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			got := Format(c.build(), PrintOptions{})
			if strings.Contains(got, "# error:") {
				t.Fatalf("Format failed:\n%s", got)
			}
			path := filepath.Join("testdata", c.name+".effir")
			if doUpdate() {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ir -run Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("Format differs from %s (rerun with -update if intended):\n%s", path, cmp.Diff(string(want), got))
			}
			// The golden file itself parses and prints back unchanged.
			g, err := Parse(want)
			if err != nil {
				t.Fatalf("Parse(%s): %v", path, err)
			}
			if again := Format(g, PrintOptions{}); again != string(want) {
				t.Errorf("Format(Parse(%s)) differs:\n%s", path, cmp.Diff(string(want), again))
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range goldenCases {
		for _, mode := range []WeightMode{WeightsElided, WeightsFull} {
			t.Run(fmt.Sprintf("%s/mode%d", c.name, mode), func(t *testing.T) {
				g := c.build()
				text := Format(g, PrintOptions{Weights: mode})
				g2, err := Parse([]byte(text))
				if err != nil {
					t.Fatalf("Parse: %v\n%s", err, text)
				}
				if text2 := Format(g2, PrintOptions{Weights: mode}); text2 != text {
					t.Fatalf("Format(Parse(Format(g))) != Format(g):\n%s", cmp.Diff(text, text2))
				}
				if mode == WeightsFull {
					if d := graphDiff(g, g2); d != "" {
						t.Fatalf("Parse(Format(g, full)) != g (-want +got):\n%s", d)
					}
					for _, n := range g2.Nodes {
						for _, o := range n.Outputs {
							if o != nil && o.Producer != n {
								t.Errorf("%s: output %s has Producer %v", n, o.Name, o.Producer)
							}
						}
					}
				}
			})
		}
	}
}

// TestElided checks that elided constants parse to ElidedData carrying the
// hash of the original data, and print back the same.
func TestElided(t *testing.T) {
	g := resnetBlock()
	g2, err := Parse([]byte(Format(g, PrintOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, v := range g2.Consts {
		orig := g.Consts[i].Const
		e, ok := v.Const.Data.(ElidedData)
		if orig.Len() <= MaxInlineElements {
			if ok {
				t.Errorf("%s (%d elements) was elided", v.Name, orig.Len())
			}
			continue
		}
		n++
		if !ok || !v.Const.IsElided() {
			t.Fatalf("%s: data %T, want ElidedData", v.Name, v.Const.Data)
		}
		if e.Hash != orig.Hash() || e.Bytes != orig.ByteSize() {
			t.Errorf("%s: elided %dB %s, want %dB %s", v.Name, e.Bytes, e.Hash, orig.ByteSize(), orig.Hash())
		}
	}
	if n != 3 {
		t.Errorf("%d constants elided, want 3 (two conv weights, fc.weight)", n)
	}
	// Full mode cannot invent data: an elided tensor stays elided.
	full := Format(g2, PrintOptions{Weights: WeightsFull})
	if !strings.Contains(full, "const %conv1.weight : f32[16,16,3,3] = elided 9216B sha256:") {
		t.Errorf("full-mode print of an elided graph lost the elision:\n%s", full)
	}
}

// TestSmallFloatBits checks that every f16, bf16 and fp8 bit pattern
// prints as text that parses back to the same bits.
func TestSmallFloatBits(t *testing.T) {
	for _, dt := range []DType{Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ} {
		n := 1 << (8 * dt.Size())
		bad := 0
		for b := 0; b < n; b++ {
			s := formatSmallFloat(dt, uint32(b))
			p := &parser{src: []byte(s), line: 1, col: 1}
			var got uint32
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("%v", r)
					}
				}()
				p.next()
				got = p.smallFloatElem(dt)
				return nil
			}()
			if err != nil || got != uint32(b) {
				if bad++; bad < 5 {
					t.Errorf("%s bits %#x print as %q, parse back to %#x (err %v)", dt, b, s, got, err)
				}
			}
		}
	}
}

func TestFloatText(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want string
	}{
		{1, "1.0"}, {-0.0, "0.0"}, {float32(math.Copysign(0, -1)), "-0.0"}, {1e-5, "1e-05"}, {0.1, "0.1"},
		{16777216, "1.6777216e+07"}, {float32(math.NaN()), "nan"}, {math.Float32frombits(0x7fc00001), "nan:0x7fc00001"},
		{float32(math.Inf(-1)), "-inf"}, {3.4028235e38, "3.4028235e+38"},
	} {
		if got := floatAttr(c.v); got != c.want {
			t.Errorf("floatAttr(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const head = "effir 1\ngraph \"g\" {\n"
	for _, c := range []struct{ src, want string }{
		{"", "line 1:1: expected \"effir\", got end of input"},
		{"effir 2\n", "line 1:7: unsupported effir version 2"},
		{"effir 1\ngraph \"g\" irversion=3 {\n}\n", "line 2:11: unknown graph header field irversion"},
		{head + "  input %x = f32[1]\n}\n", "line 3:12: expected end of line after input %x, got '='"},
		{head + "  input %x : f32[1]\n  %y f32[1] = Relu(%x)\n}\n", "line 4:6: expected ':' after value name %y, got \"f32\""},
		{head + "  %y : f32[1] = Relu(%x)\n  output %y\n}\n", "line 3:22: value %x is used but never defined"},
		{head + "  input %x : f32[1]\n  input %x : f32[1]\n}\n", "line 4:9: value %x is defined twice (first at line 3:9)"},
		{head + "  input %x : f99[1]\n}\n", "line 3:14: unknown dtype \"f99\""},
		{head + "  const %c : i64[2] = [1, 2, 3]\n}\n", "line 3:23: tensor i64[2] has 2 elements, the data has more"},
		{head + "  const %c : i64[3] = [1, 2]\n}\n", "line 3:23: tensor i64[3] has 3 elements, the data has 2"},
		{head + "  const %c : i8[1] = [300]\n}\n", "line 3:23: 300 is not an i8"},
		{head + "  const %c : f32[N] = [1]\n}\n", "line 3:23: constant %c has no static type"},
		{head + "  const %c : f32[4] = elided 15B sha256:00ff\n}\n", "line 3:30: elided f32[4] data is 16B, not 15B"},
		{head + "  input %x : f32[1]\n  %y : f32[1] = Foo(%x) {a=[]}\n}\n", "line 4:29: empty list attribute a needs its kind"},
		{head + "  input %x : f32[1]\n  %y : f32[1] = Foo(%x) {a=1, a=2}\n}\n", "line 4:31: attribute a given twice"},
		{head + "  input %x : f32[1]\n  %y : f32[1] = Foo(%x) {a=[1, 2.5]}\n}\n", "line 4:32: expected integer (the list holds ints), got number 2.5"},
		{head + "  %a : f32[1] = Relu(%b)\n  %b : f32[1] = Relu(%a)\n}\n", "graph has a cycle"},
		{head + "  const %c : str[] = \"abc\n}\n", "line 3:22: unterminated string"},
		{head + "  const %c : f16[] = nan:0x3c00\n}\n", "line 3:22: nan:0x3c00 is not a NaN in f16"},
		{head + "  const %c : f8e4m3fn[] = inf\n}\n", "line 3:27: f8e4m3fn has no infinity"},
		{head + "  input %x : u8[1] quant(zp=1)\n}\n", "line 3:31: quant(...) needs a scale"},
		{head + "  input %x : f32[1]\n", "line 4:1: expected '}' closing the graph, got end of input"},
		{head + "}\n}\n", "line 4:1: expected end of input after the graph's closing '}', got '}'"},
		{head + "  input %x : f32[-1]\n}\n", "line 3:18: negative dimension -1"},
		{head + "  input % : f32[1]\n}\n", "line 3:9: expected a name after '%'"},
		{head + "  input %x : f32[1]\n  output %x $\n}\n", `line 4:13: unexpected character "$"`},
		{head + "  doc \"é\" x\n}\n", "line 3:11: expected end of line after doc string, got \"x\""},
	} {
		_, err := Parse([]byte(c.src))
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error %q", c.src, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q):\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

// TestParseForwardRef checks that out-of-order nodes are accepted and
// sorted, with Producer links set.
func TestParseForwardRef(t *testing.T) {
	src := `effir 1
graph "g" {
  input %x : f32[2]
  %z : f32[2] = Neg(%y)  @second
  %y : f32[2] = Relu(%x)  @first
  output %z
}
`
	g, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 2 || g.Nodes[0].Name != "first" || g.Nodes[1].Name != "second" {
		t.Fatalf("nodes not topologically sorted: %v", g.Nodes)
	}
	if g.Nodes[1].Inputs[0].Producer != g.Nodes[0] || g.Outputs[0].Producer != g.Nodes[1] {
		t.Errorf("Producer links wrong")
	}
}

// TestPrintErrors checks that malformed graphs give errors, not panics.
func TestPrintErrors(t *testing.T) {
	mk := func(c *Tensor) *Graph {
		return &Graph{Name: "bad", Consts: []*Value{{Name: "c", Const: c}}}
	}
	for _, c := range []struct {
		g    *Graph
		want string
	}{
		{mk(&Tensor{DType: Float32, Shape: []int64{3}, Data: []float32{1}}), "f32 tensor has 1 elements, shape [3] wants 3"},
		{mk(&Tensor{DType: Float32, Shape: []int64{1}, Data: []int64{1}}), "f32 tensor holds []int64 data, want []float32"},
		{mk(&Tensor{DType: 99, Shape: []int64{1}, Data: []int64{1}}), "invalid dtype"},
		{mk(&Tensor{DType: Float32, Shape: []int64{-1}, Data: []float32{}}), "negative dimension"},
		{&Graph{Nodes: []*Node{{Op: "If", Attrs: map[string]*Attr{"then_branch": {Kind: AttrGraph}}}}}, "attributes of kind graph have no text form"},
		{&Graph{Outputs: []*Value{nil}}, "graph output 0 is nil"},
	} {
		var b strings.Builder
		err := Print(&b, c.g, PrintOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Print error %v, want %q", err, c.want)
		}
		if s := Format(c.g, PrintOptions{}); !strings.Contains(s, "# error: ") {
			t.Errorf("Format did not report the error:\n%s", s)
		}
	}
}

// TestDocExample checks that the example in docs/ir.md parses and is
// already in printed form.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "ir.md"))
	if err != nil {
		t.Skipf("docs/ir.md not found: %v", err)
	}
	s := string(doc)
	i := strings.Index(s, "```\neffir 1\n")
	if i < 0 {
		t.Fatal("docs/ir.md has no example starting with effir 1")
	}
	s = s[i+4:]
	s = s[:strings.Index(s, "```")]
	g, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("docs/ir.md example: %v", err)
	}
	if got := Format(g, PrintOptions{}); got != s {
		t.Errorf("docs/ir.md example is not in printed form:\n%s", cmp.Diff(s, got))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

// TestPrintWriterError checks that write errors reach the caller.
func TestPrintWriterError(t *testing.T) {
	if err := Print(failWriter{}, resnetBlock(), PrintOptions{}); err == nil || err.Error() != "disk full" {
		t.Errorf("Print to a failing writer: %v, want disk full", err)
	}
	if s := Format(nil, PrintOptions{}); s != "# error: ir.Print: nil graph\n" {
		t.Errorf("Format(nil) = %q", s)
	}
}

// randGraph builds a graph with arbitrary names (any bytes), random float
// bit patterns, every dtype and attribute kind, omitted operands and
// results, and quantized types: the printer's input space, which the
// parser-side fuzzer cannot reach directly.
func randGraph(r *rand.Rand) *Graph {
	const pool = "aZ_09.:/-% \"\\\n\t#@{}[](),=?*é\xff\x00"
	str := func(max int) string {
		n := r.IntN(max + 1)
		b := make([]byte, n)
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = pool[r.IntN(len(pool))]
			} else {
				b[i] = byte('a' + r.IntN(26))
			}
		}
		return string(b)
	}
	used := map[string]bool{}
	vname := func() string {
		for {
			s := str(6)
			if !used[s] {
				used[s] = true
				return s
			}
		}
	}
	dtypesAll := []DType{Float32, Uint8, Int8, Uint16, Int16, Int32, Int64, String, Bool, Float16, Float64, Uint32, Uint64,
		Complex64, Complex128, BFloat16, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ}
	randTensor := func(maxElems int) *Tensor {
		dt := dtypesAll[r.IntN(len(dtypesAll))]
		shape := []int64{}
		n := 1
		for i, rank := 0, r.IntN(3); i < rank; i++ {
			d := r.IntN(3)
			if n > 0 {
				d = r.IntN(maxElems/n + 1)
			}
			shape = append(shape, int64(d))
			n *= d
		}
		t := NewTensor(dt, shape)
		raw := make([]byte, n*dt.Size())
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		if dt == String {
			for i, d := 0, t.Data.([]string); i < n; i++ {
				d[i] = str(5)
			}
			return t
		}
		if dt == Bool {
			for i, d := 0, t.Data.([]bool); i < n; i++ {
				d[i] = r.IntN(2) == 0
			}
			return t
		}
		t2, err := TensorFromBytes(dt, shape, raw)
		if err != nil {
			panic(err)
		}
		return t2
	}
	randType := func() Type {
		if r.IntN(6) == 0 {
			return Type{}
		}
		t := Type{DType: dtypesAll[r.IntN(len(dtypesAll))], Ranked: r.IntN(5) > 0}
		if r.IntN(10) == 0 {
			t.DType = Undefined
		}
		if t.Ranked {
			t.Shape = Shape{}
			for i, rank := 0, r.IntN(4); i < rank; i++ {
				switch r.IntN(3) {
				case 0:
					t.Shape = append(t.Shape, D(int64(r.IntN(100))))
				case 1:
					t.Shape = append(t.Shape, Sym(str(4)))
				default:
					t.Shape = append(t.Shape, Unknown())
				}
			}
		}
		if r.IntN(4) == 0 {
			q := &Quant{Axis: r.IntN(3) - 1}
			for i, n := 0, r.IntN(4); i < n; i++ {
				q.Scale = append(q.Scale, math.Float32frombits(r.Uint32()))
			}
			for i, n := 0, r.IntN(3); i < n; i++ {
				q.ZeroPoint = append(q.ZeroPoint, int32(r.Uint32()))
			}
			t.Quant = q
		}
		return t
	}
	g := &Graph{Name: str(8), IRVersion: r.Int64N(20) - 5, SourceOpset: r.Int64N(20), Producer: str(8), Doc: str(20),
		Opsets: map[string]int64{}, Metadata: map[string]string{}}
	for i, n := 0, r.IntN(3); i < n; i++ {
		if d := str(6); d != "ai.onnx" {
			g.Opsets[d] = r.Int64N(30)
		}
	}
	for i, n := 0, r.IntN(3); i < n; i++ {
		g.Metadata[str(5)] = str(10)
	}
	var vals []*Value
	for i, n := 0, r.IntN(3); i < n; i++ {
		v := &Value{Name: vname(), Type: randType()}
		g.Inputs = append(g.Inputs, v)
		vals = append(vals, v)
	}
	for i, n := 0, r.IntN(4); i < n; i++ {
		t := randTensor(40)
		v := &Value{Name: vname(), Type: TensorType(t.DType, ShapeOf(t.Shape...)), Const: t}
		if r.IntN(3) == 0 {
			v.Type = randType()
		}
		g.Consts = append(g.Consts, v)
		vals = append(vals, v)
	}
	for i, n := 0, r.IntN(5); i < n; i++ {
		nd := &Node{Name: str(6), Op: str(6), Doc: str(8)}
		if r.IntN(2) == 0 {
			nd.Domain = str(6)
		}
		for j, k := 0, r.IntN(4); j < k; j++ {
			if len(vals) == 0 || r.IntN(4) == 0 {
				nd.Inputs = append(nd.Inputs, nil)
			} else {
				nd.Inputs = append(nd.Inputs, vals[r.IntN(len(vals))])
			}
		}
		for j, k := 0, r.IntN(4); j < k; j++ {
			a := &Attr{Kind: []AttrKind{AttrInt, AttrFloat, AttrString, AttrTensor, AttrInts, AttrFloats, AttrStrings, AttrTensors}[r.IntN(8)]}
			m := r.IntN(4)
			switch a.Kind {
			case AttrInt:
				a.Int = int64(r.Uint64())
			case AttrFloat:
				a.Float = math.Float32frombits(r.Uint32())
			case AttrString:
				a.String = str(6)
			case AttrTensor:
				a.Tensor = randTensor(30)
			}
			for ; m > 0; m-- {
				switch a.Kind {
				case AttrInts:
					a.Ints = append(a.Ints, int64(r.Uint64()))
				case AttrFloats:
					a.Floats = append(a.Floats, math.Float32frombits(r.Uint32()))
				case AttrStrings:
					a.Strings = append(a.Strings, str(4))
				case AttrTensors:
					a.Tensors = append(a.Tensors, randTensor(20))
				}
			}
			nd.SetAttr(str(5), a)
		}
		for j, k := 0, r.IntN(3); j < k; j++ {
			if r.IntN(4) == 0 {
				nd.Outputs = append(nd.Outputs, nil)
				continue
			}
			v := &Value{Name: vname(), Type: randType(), Producer: nd}
			nd.Outputs = append(nd.Outputs, v)
			vals = append(vals, v)
		}
		g.Nodes = append(g.Nodes, nd)
	}
	for i, n := 0, r.IntN(3); i < n && len(vals) > 0; i++ {
		g.Outputs = append(g.Outputs, vals[r.IntN(len(vals))])
	}
	return g
}

// TestRoundTripRandom checks the round-trip properties on random graphs.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 300; i++ {
		g := randGraph(r)
		for _, mode := range []WeightMode{WeightsElided, WeightsFull} {
			opts := PrintOptions{Weights: mode}
			text := Format(g, opts)
			g2, err := Parse([]byte(text))
			if err != nil {
				t.Fatalf("graph %d mode %d: %v\n%s", i, mode, err, text)
			}
			if text2 := Format(g2, opts); text2 != text {
				t.Fatalf("graph %d mode %d: Format(Parse(Format(g))) != Format(g):\n%s", i, mode, cmp.Diff(text, text2))
			}
			if mode == WeightsFull {
				if d := graphDiff(g, g2); d != "" {
					t.Fatalf("graph %d: Parse(Format(g, full)) != g (-want +got):\n%s\n%s", i, d, text)
				}
			}
		}
	}
}
