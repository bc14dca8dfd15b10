package frontend

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/encoding/protowire"
)

// conformanceDir holds the ONNX backend test models (Debian libonnx-testdata).
const conformanceDir = "/usr/share/libonnx-testdata/data"

// tensorOpts compare tensors by dtype, shape and content, NaNs equal.
var tensorOpts = cmp.Options{cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}

// graphDiff walks a and b and describes their first differences: graph
// fields, values by name, type and constant content, nodes by name, op,
// domain, attributes and the names of their inputs and outputs. Value
// Producer pointers are not followed (they form cycles); node order must
// match. IRVersion and the ai.onnx opset are compared after the encoder's
// floors (8 and 18; 9 and 19 with FP8), and Producer and SourceOpset are not
// compared (the encoder writes producer "effc" and a model of the canonical
// opset).
func graphDiff(a, b *ir.Graph) string {
	var d []string
	add := func(format string, args ...any) {
		if len(d) < 10 {
			d = append(d, fmt.Sprintf(format, args...))
		}
	}
	if a.Name != b.Name {
		add("name %q != %q", a.Name, b.Name)
	}
	floor := int64(minIRVersion)
	if usesFP8(a) {
		floor = fp8IRVersion
	}
	if max(a.IRVersion, floor) != max(b.IRVersion, floor) {
		add("ir version %d != %d", a.IRVersion, b.IRVersion)
	}
	wantOpsets := a.Opsets
	if usesFP8(a) && a.Opsets[""] < fp8Opset {
		wantOpsets = map[string]int64{}
		maps.Copy(wantOpsets, a.Opsets)
		wantOpsets[""] = fp8Opset
	}
	if s := cmp.Diff(wantOpsets, b.Opsets, cmpopts.EquateEmpty()); s != "" {
		add("opsets: %s", s)
	}
	if a.Doc != b.Doc {
		add("doc %q != %q", a.Doc, b.Doc)
	}
	if s := cmp.Diff(a.Metadata, b.Metadata, cmpopts.EquateEmpty()); s != "" {
		add("metadata: %s", s)
	}
	values := func(what string, x, y []*ir.Value) {
		if len(x) != len(y) {
			add("%s: %d values != %d", what, len(x), len(y))
			return
		}
		for i := range x {
			if s := valueDiff(x[i], y[i]); s != "" {
				add("%s %d: %s", what, i, s)
			}
		}
	}
	values("input", a.Inputs, b.Inputs)
	values("output", a.Outputs, b.Outputs)
	values("const", a.Consts, b.Consts)
	if len(a.Nodes) != len(b.Nodes) {
		add("%d nodes != %d", len(a.Nodes), len(b.Nodes))
		return strings.Join(d, "\n")
	}
	for i, n := range a.Nodes {
		m := b.Nodes[i]
		if n.Name != m.Name || n.Op != m.Op || n.Domain != m.Domain || n.Doc != m.Doc {
			add("node %d: %s domain %q doc %q != %s domain %q doc %q", i, n, n.Domain, n.Doc, m, m.Domain, m.Doc)
			continue
		}
		if s := cmp.Diff(n.Attrs, m.Attrs, tensorOpts); s != "" {
			add("%s attrs: %s", n, s)
		}
		if s := cmp.Diff(names(n.Inputs), names(m.Inputs)); s != "" {
			add("%s inputs: %s", n, s)
		}
		values(n.String()+" output", n.Outputs, m.Outputs)
	}
	return strings.Join(d, "\n")
}

func names(vs []*ir.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = encName(v)
	}
	return out
}

func valueDiff(x, y *ir.Value) string {
	if x == nil || y == nil {
		if x != y {
			return fmt.Sprintf("%v != %v", valueName(x), valueName(y))
		}
		return ""
	}
	if x.Name != y.Name {
		return fmt.Sprintf("name %q != %q", x.Name, y.Name)
	}
	want := x.Type
	if want.DType == ir.Undefined {
		want = ir.Type{} // the encoder drops a shape without a dtype
	}
	if s := cmp.Diff(want, y.Type, cmpopts.EquateEmpty()); s != "" {
		return fmt.Sprintf("%q type: %s", x.Name, s)
	}
	if s := cmp.Diff(x.Const, y.Const, tensorOpts); s != "" {
		return fmt.Sprintf("%q const: %s", x.Name, s)
	}
	return ""
}

// handGraph builds a graph using every encodable feature: symbolic and
// unknown dims, unranked and untyped values, every attribute kind, string,
// fp16, bool and scalar constants, omitted optional inputs and outputs,
// another standard domain (ai.onnx.ml), metadata and docs.
func handGraph() *ir.Graph {
	x := &ir.Value{Name: "x", Type: ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.Unknown()})}
	u := &ir.Value{Name: "u", Type: ir.Type{DType: ir.Int64}}
	w := &ir.Value{Name: "w", Type: ir.TensorType(ir.Float16, ir.ShapeOf(2)), Const: &ir.Tensor{DType: ir.Float16, Shape: []int64{2}, Data: []uint16{0x3c00, 0x7e00}}}
	s := &ir.Value{Name: "s", Type: ir.TensorType(ir.String, ir.ShapeOf(2)), Const: &ir.Tensor{DType: ir.String, Shape: []int64{2}, Data: []string{"a", ""}}}
	k := &ir.Value{Name: "k", Type: ir.TensorType(ir.Bool, ir.Shape{}), Const: &ir.Tensor{DType: ir.Bool, Shape: []int64{}, Data: []bool{true}}}
	e := &ir.Value{Name: "e", Type: ir.TensorType(ir.Float32, ir.ShapeOf(0, 2)), Const: &ir.Tensor{DType: ir.Float32, Shape: []int64{0, 2}, Data: []float32{}}}
	n1 := &ir.Node{Name: "n1", Op: "Custom", Domain: "ai.onnx.ml", Doc: "doc of n1", Inputs: []*ir.Value{x, nil, w}, Attrs: map[string]*ir.Attr{
		"f":  ir.FloatAttr(float32(math.Inf(-1))),
		"i":  ir.IntAttr(-7),
		"s":  ir.StringAttr("héllo\x00"),
		"t":  ir.TensorAttr(ir.FromInt64([]int64{2}, []int64{math.MinInt64, math.MaxInt64})),
		"fs": ir.FloatsAttr(1.5, float32(math.NaN())),
		"is": ir.IntsAttr(-1, 0, 1<<40),
		"ss": ir.StringsAttr("p", "q"),
		"ts": {Kind: ir.AttrTensors, Tensors: []*ir.Tensor{ir.Scalar(float64(2.5)), ir.Scalar(int32(-3))}},
	}}
	y1 := &ir.Value{Name: "y1", Type: ir.TensorType(ir.Float32, ir.Shape{ir.Sym("N"), ir.D(3), ir.Unknown()}), Producer: n1}
	y2 := &ir.Value{Name: "y2", Producer: n1}
	n1.Outputs = []*ir.Value{y1, nil, y2}
	n2 := &ir.Node{Name: "n2", Op: "Add", Inputs: []*ir.Value{y1, y2}}
	z := &ir.Value{Name: "z", Type: ir.Type{DType: ir.Float32}, Producer: n2}
	n2.Outputs = []*ir.Value{z}
	return &ir.Graph{
		Name: "hand", IRVersion: 9, Opsets: map[string]int64{"": ir.CanonicalOpset, "ai.onnx.ml": 3},
		Doc: "a graph", Metadata: map[string]string{"k1": "v1", "": "empty key"},
		Inputs: []*ir.Value{x, u}, Outputs: []*ir.Value{z, y1}, Consts: []*ir.Value{w, s, k, e},
		Nodes: []*ir.Node{n1, n2},
	}
}

func TestEncodeRoundTripHandGraph(t *testing.T) {
	g := handGraph()
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data, Options{})
	if err != nil {
		t.Fatalf("decode of encoded graph: %v", err)
	}
	if d := graphDiff(g, back); d != "" {
		t.Errorf("decode(encode(g)) differs:\n%s", d)
	}
	if back.Producer != "effc" {
		t.Errorf("producer %q, want effc", back.Producer)
	}
}

// modelHeader reads the top-level ModelProto fields ir_version,
// producer_name and opset_import with protowire, independent of the decoder.
func modelHeader(t *testing.T, data []byte) (irv uint64, producer string, opsets map[string]uint64) {
	t.Helper()
	opsets = map[string]uint64{}
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad tag")
		}
		b = b[n:]
		switch {
		case num == mIRVersion && typ == protowire.VarintType:
			irv, n = protowire.ConsumeVarint(b)
		case num == mProducerName && typ == protowire.BytesType:
			producer, n = protowire.ConsumeString(b)
		case num == mOpsetImport && typ == protowire.BytesType:
			var e []byte
			e, n = protowire.ConsumeBytes(b)
			var dom string
			var ver uint64
			for len(e) > 0 {
				num2, _, m := protowire.ConsumeTag(e)
				e = e[m:]
				if num2 == osDomain {
					dom, m = protowire.ConsumeString(e)
				} else {
					ver, m = protowire.ConsumeVarint(e)
				}
				if m < 0 {
					t.Fatal("bad opset entry")
				}
				e = e[m:]
			}
			opsets[dom] = ver
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			t.Fatalf("bad field %d", num)
		}
		b = b[n:]
	}
	return irv, producer, opsets
}

// TestEncodeModelFields checks the version floors: ir_version 8 and ai.onnx
// 18, other domains at 1 when not imported, and ir_version 9 with ai.onnx
// 19 once any FP8 tensor appears (a constant, a value type, a tensor
// attribute or a Cast target).
func TestEncodeModelFields(t *testing.T) {
	fp8 := []byte{0x38}
	for _, tc := range []struct {
		name      string
		edit      func(g *ir.Graph)
		irv, onnx uint64
	}{
		{"plain", func(*ir.Graph) {}, minIRVersion, ir.CanonicalOpset},
		{"fp8 constant", func(g *ir.Graph) {
			g.Consts[0].Const = &ir.Tensor{DType: ir.Float8E4M3FN, Shape: []int64{1}, Data: fp8}
		}, fp8IRVersion, fp8Opset},
		{"fp8 value type", func(g *ir.Graph) { g.Nodes[1].Outputs[0].Type.DType = ir.Float8E5M2FNUZ }, fp8IRVersion, fp8Opset},
		{"fp8 attribute", func(g *ir.Graph) {
			g.Nodes[0].Attrs["t"] = ir.TensorAttr(&ir.Tensor{DType: ir.Float8E5M2, Shape: []int64{1}, Data: fp8})
		}, fp8IRVersion, fp8Opset},
		{"cast to fp8", func(g *ir.Graph) {
			g.Nodes[1].Op = "Cast"
			g.Nodes[1].Inputs = g.Nodes[1].Inputs[:1]
			g.Nodes[1].Attrs = map[string]*ir.Attr{"to": ir.IntAttr(int64(ir.Float8E4M3FNUZ))}
		}, fp8IRVersion, fp8Opset},
	} {
		g := handGraph()
		g.IRVersion = 3 // too old for opset 18: raised to 8
		g.Opsets = nil  // ai.onnx 18 and the node's domain at version 1
		tc.edit(g)
		data, err := Encode(g)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		irv, producer, opsets := modelHeader(t, data)
		if irv != tc.irv || producer != "effc" {
			t.Errorf("%s: ir_version %d producer %q, want %d effc", tc.name, irv, producer, tc.irv)
		}
		if want := map[string]uint64{"": tc.onnx, "ai.onnx.ml": 1}; !cmp.Equal(opsets, want) {
			t.Errorf("%s: opsets %v, want %v", tc.name, opsets, want)
		}
	}
}

func TestEncodeTensorRoundTrip(t *testing.T) {
	for _, tc := range []*ir.Tensor{
		ir.FromFloat32([]int64{2, 2}, []float32{1, -0, float32(math.Inf(1)), 3.25}),
		{DType: ir.BFloat16, Shape: []int64{3}, Data: []uint16{1, 2, 0xffff}},
		{DType: ir.Float8E5M2, Shape: []int64{2}, Data: []uint8{0x7c, 0x01}},
		{DType: ir.Uint64, Shape: []int64{1}, Data: []uint64{math.MaxUint64}},
		{DType: ir.Complex64, Shape: []int64{1}, Data: []complex64{complex(1, -2)}},
		{DType: ir.String, Shape: []int64{}, Data: []string{"xyz"}},
		{DType: ir.Int8, Shape: []int64{0}, Data: []int8{}},
	} {
		b, err := EncodeTensor("t", tc)
		if err != nil {
			t.Fatalf("%s%v: %v", tc.DType, tc.Shape, err)
		}
		name, got, err := DecodeTensor(b)
		if err != nil {
			t.Fatalf("%s%v: decode: %v", tc.DType, tc.Shape, err)
		}
		if name != "t" {
			t.Errorf("name %q, want t", name)
		}
		if d := cmp.Diff(tc, got, tensorOpts); d != "" {
			t.Errorf("%s%v round trip (-want +got):\n%s", tc.DType, tc.Shape, d)
		}
	}
}

func TestEncodeRejectsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    func() *ir.Graph
		want string
	}{
		{"data type", func() *ir.Graph {
			g := handGraph()
			g.Consts[0].Const = &ir.Tensor{DType: ir.Float32, Shape: []int64{2}, Data: []int64{1, 2}}
			return g
		}, `initializer "w": data of Go type []int64 does not hold dtype f32`},
		{"data length", func() *ir.Graph {
			g := handGraph()
			g.Consts[0].Const = ir.FromFloat32([]int64{3}, []float32{1})
			return g
		}, "data has 1 elements, shape [3] needs 3"},
		{"graph attribute", func() *ir.Graph {
			g := handGraph()
			g.Nodes[1].SetAttr("body", &ir.Attr{Kind: ir.AttrGraph})
			return g
		}, `node "n2" (Add): attribute "body": kind graph cannot be encoded`},
		{"quantized type", func() *ir.Graph {
			g := handGraph()
			g.Inputs[0].Type.Quant = &ir.Quant{Scale: []float32{1}}
			return g
		}, `value "x" has a quantized type`},
		{"effc op", func() *ir.Graph {
			g := handGraph()
			g.Nodes[1].Op, g.Nodes[1].Domain = "FusedConv", "effc"
			return g
		}, `node "n2" (FusedConv): effc.FusedConv is an effc-internal op that no ONNX runtime can execute; export the graph before the pass that created it (effc.FusedConv comes from fuse-epilogue`},
		{"vendor domain", func() *ir.Graph {
			g := handGraph()
			g.Nodes[0].Domain = "com.microsoft"
			return g
		}, `node "n1" (Custom): domain "com.microsoft" is not a standard ONNX domain`},
		{"duplicate value name", func() *ir.Graph {
			g := handGraph()
			g.Nodes[1].Outputs[0].Name = "y1"
			return g
		}, `node "n2" (Add): output 0 is named "y1" like another value; ONNX needs unique value names`},
		{"undefined input", func() *ir.Graph {
			g := handGraph()
			g.Nodes[1].Inputs[1] = &ir.Value{Name: "ghost", Type: ir.TensorType(ir.Float32, nil)}
			return g
		}, `node "n2" (Add): input 1 "ghost" is not a graph input, constant or node output of the graph`},
		{"undefined output", func() *ir.Graph {
			g := handGraph()
			g.Outputs[0] = &ir.Value{Name: "z"}
			return g
		}, `graph output 0 "z" is not a graph input, constant or node output of the graph`},
		{"input without dtype", func() *ir.Graph {
			g := handGraph()
			g.Inputs[1].Type = ir.Type{}
			return g
		}, `input "u" has no element type; ONNX requires one for every graph input`},
		{"unnamed value", func() *ir.Graph {
			g := handGraph()
			g.Nodes[1].Outputs[0].Name = ""
			g.Outputs = g.Outputs[1:]
			return g
		}, `node "n2" (Add): output 0 has an empty name`},
	} {
		_, err := Encode(tc.g())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestEncodeRepairsForONNXRuntime: what ONNX Runtime refuses but effc's IR
// allows is written in a form it accepts: repeated node names get the
// decoder's suffixes, and a shape without a dtype is dropped (ONNX has no
// tensor type without an element type).
func TestEncodeRepairsForONNXRuntime(t *testing.T) {
	g := handGraph()
	g.Nodes[0].Name, g.Nodes[1].Name = "n", "n"
	g.Nodes[0].Outputs[0].Type.DType = ir.Undefined // y1: ranked, no dtype
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := back.Nodes[0].Name, back.Nodes[1].Name; a != "n" || b != "n.1" {
		t.Errorf("node names %q, %q; want n, n.1", a, b)
	}
	if typ := back.Nodes[0].Outputs[0].Type; typ.DType != ir.Undefined || typ.Ranked {
		t.Errorf("y1 decoded as %s, want untyped", typ)
	}
}

// TestEncodeRoundTripConformance checks decode(encode(g)) == g for every
// conformance model the decoder accepts.
func TestEncodeRoundTripConformance(t *testing.T) {
	var files []string
	for _, dir := range []string{"node", "pytorch-converted", "pytorch-operator", "simple"} {
		m, _ := filepath.Glob(filepath.Join(conformanceDir, dir, "*", "model.onnx"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no conformance models under %s", conformanceDir)
	}
	decoded := 0
	for _, f := range files {
		g, err := Load(f)
		if err != nil {
			continue // the decoder's own tests cover what it refuses
		}
		decoded++
		data, err := Encode(g)
		if err != nil {
			t.Errorf("%s: encode: %v", f, err)
			continue
		}
		back, err := Decode(data, Options{})
		if err != nil {
			t.Errorf("%s: decode of encoded model: %v", f, err)
			continue
		}
		if d := graphDiff(g, back); d != "" {
			t.Errorf("%s: decode(encode(g)) differs:\n%s", f, d)
		}
	}
	t.Logf("round-tripped %d of %d models", decoded, len(files))
	if decoded < len(files)/2 {
		t.Errorf("only %d of %d conformance models decoded", decoded, len(files))
	}
	if _, err := os.Stat(conformanceDir); err != nil {
		t.Fatal(err)
	}
}

// FuzzEncodeRoundTrip: whatever the decoder accepts, the encoder writes and
// the decoder reads back to an equal graph, unless it holds a node outside
// the standard ONNX domains or a graph input without dtype, which the
// encoder refuses. Seeds are a few backend models and the hand-built graph.
func FuzzEncodeRoundTrip(f *testing.F) {
	if b, err := Encode(handGraph()); err == nil {
		f.Add(b)
	}
	for _, name := range []string{"node/test_softmax_default_axis", "node/test_upsample_nearest", "pytorch-converted/test_PReLU_2d_multiparam", "simple/test_expand_shape_model1"} {
		if b, err := os.ReadFile(filepath.Join(conformanceDir, name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data, Options{})
		if err != nil {
			return
		}
		enc, err := Encode(g)
		for _, n := range g.Nodes {
			if !standardDomains[n.Domain] {
				if err == nil {
					t.Fatalf("encode of a graph with %s in domain %q succeeded, want an error", n, n.Domain)
				}
				return
			}
		}
		for _, v := range g.Inputs {
			if v.Type.DType == ir.Undefined {
				if err == nil {
					t.Fatalf("encode of a graph with input %q without dtype succeeded, want an error", v.Name)
				}
				return
			}
		}
		if err != nil {
			t.Fatalf("encode of a decoded graph: %v", err)
		}
		back, err := Decode(enc, Options{})
		if err != nil {
			t.Fatalf("decode of encoded graph: %v", err)
		}
		if d := graphDiff(g, back); d != "" {
			t.Fatalf("decode(encode(g)) differs:\n%s", d)
		}
	})
}
