package frontend

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/effc/effc/ir"
)

// The helpers below build ONNX protobuf messages field by field, so the
// tests do not depend on the production encoder.

type msg []byte

func (m msg) varint(num int, v uint64) msg {
	b := protowire.AppendTag(m, protowire.Number(num), protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (m msg) bytes(num int, v []byte) msg {
	b := protowire.AppendTag(m, protowire.Number(num), protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (m msg) str(num int, s string) msg { return m.bytes(num, []byte(s)) }

func (m msg) fixed32(num int, v uint32) msg {
	b := protowire.AppendTag(m, protowire.Number(num), protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func (m msg) fixed64(num int, v uint64) msg {
	b := protowire.AppendTag(m, protowire.Number(num), protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func (m msg) packedVarints(num int, vs ...uint64) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, v)
	}
	return m.bytes(num, p)
}

func (m msg) packedFixed32(num int, vs ...uint32) msg {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendFixed32(p, v)
	}
	return m.bytes(num, p)
}

// tensorProto builds a TensorProto header; callers append the data.
func tensorProto(name string, dt ir.DType, dims ...int64) msg {
	var m msg
	for _, d := range dims {
		m = m.varint(tpDims, uint64(d))
	}
	m = m.varint(tpDataType, uint64(dt))
	if name != "" {
		m = m.str(tpName, name)
	}
	return m
}

func f32Tensor(name string, dims []int64, vals ...float32) msg {
	m := tensorProto(name, ir.Float32, dims...)
	var u []uint32
	for _, v := range vals {
		u = append(u, math.Float32bits(v))
	}
	return m.packedFixed32(tpFloatData, u...)
}

func vinfo(name string, dt ir.DType, dims ...int64) msg {
	var shape msg
	for _, d := range dims {
		shape = shape.bytes(1, msg(nil).varint(1, uint64(d)))
	}
	tt := msg(nil).varint(1, uint64(dt)).bytes(2, shape)
	return msg(nil).str(1, name).bytes(2, msg(nil).bytes(1, tt))
}

func mkNode(op, name string, inputs, outputs []string, attrs ...msg) msg {
	var m msg
	for _, in := range inputs {
		m = m.str(npInput, in)
	}
	for _, out := range outputs {
		m = m.str(npOutput, out)
	}
	if name != "" {
		m = m.str(npName, name)
	}
	m = m.str(npOpType, op)
	for _, a := range attrs {
		m = m.bytes(npAttribute, a)
	}
	return m
}

func intAttr(name string, v int64) msg {
	return msg(nil).str(apName, name).varint(apType, uint64(ir.AttrInt)).varint(apI, uint64(v))
}

// model wraps graph fields into a ModelProto importing ai.onnx opset 18.
func model(graph msg) []byte {
	opset := msg(nil).str(1, "").varint(2, 18)
	return msg(nil).varint(mpIRVersion, 8).bytes(mpOpsetImport, opset).str(mpProducerName, "test").bytes(mpGraph, graph)
}

// reluModel is x -> Relu -> Add(w) -> y.
func reluModel() []byte {
	g := msg(nil).
		bytes(gpNode, mkNode("Relu", "", []string{"x"}, []string{"r"})).
		bytes(gpNode, mkNode("Add", "add", []string{"r", "w"}, []string{"y"})).
		str(gpName, "g").
		bytes(gpInitializer, f32Tensor("w", []int64{2}, 1, 2)).
		bytes(gpInput, vinfo("x", ir.Float32, 2)).
		bytes(gpOutput, vinfo("y", ir.Float32, 2))
	return model(g)
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestDecodeSmallModel(t *testing.T) {
	g, err := Decode(reluModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" || g.Inputs[0].Type.String() != "f32[2]" {
		t.Errorf("inputs = %v", g.Inputs)
	}
	if len(g.Consts) != 1 || g.Consts[0].Name != "w" || !cmp.Equal(g.Consts[0].Const.Data, []float32{1, 2}) {
		t.Errorf("consts = %v", g.Consts)
	}
	if len(g.Nodes) != 2 || g.Nodes[0].Name != "Relu_0" || g.Nodes[1].Name != "add" {
		t.Fatalf("nodes = %v", g.Nodes)
	}
	if g.Nodes[1].Inputs[0] != g.Nodes[0].Outputs[0] || g.Nodes[1].Inputs[1] != g.Consts[0] {
		t.Errorf("Add inputs not wired to Relu output and initializer")
	}
	if len(g.Outputs) != 1 || g.Outputs[0] != g.Nodes[1].Outputs[0] || g.Outputs[0].Type.String() != "f32[2]" {
		t.Errorf("outputs = %v", g.Outputs)
	}
	if g.SourceOpset != 18 || g.Opsets[""] != 18 || g.IRVersion != 8 || g.Producer != "test" || g.Name != "g" {
		t.Errorf("header: opset %d/%v ir %d producer %q name %q", g.SourceOpset, g.Opsets, g.IRVersion, g.Producer, g.Name)
	}
}

func TestDecodeTruncated(t *testing.T) {
	data := reluModel()
	for _, n := range []int{1, 5, len(data) / 2, len(data) - 1} {
		_, err := Decode(data[:n], Options{})
		wantErr(t, err, "truncated protobuf at byte", "the file is incomplete or not an ONNX model")
	}
	// A graph cut inside its last field, in a well-formed ModelProto.
	g := mkNode("Relu", "r", []string{"x"}, []string{"y"})
	_, err := Decode(model(msg(nil).bytes(gpNode, g)[:len(g)]), Options{})
	wantErr(t, err, "truncated protobuf at byte", "of GraphProto")
}

func TestDecodeNotONNX(t *testing.T) {
	cases := map[string]string{
		"PK\x03\x04\x14\x00\x00\x00": "zip archive",
		"\x89HDF\r\n\x1a\n":          "not an ONNX model",
		"ir_version: 8\n":            "looks like text",
		"":                           "model has no graph",
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff": "not an ONNX model",
	}
	for in, want := range cases {
		_, err := Decode([]byte(in), Options{})
		wantErr(t, err, want)
	}
	// A valid protobuf of the wrong message: a TensorProto.
	_, err := Decode(f32Tensor("t", []int64{1}, 1), Options{})
	wantErr(t, err, "not an ONNX model")
}

func TestHugeTensorRefusedBeforeAllocating(t *testing.T) {
	// 2^40 elements declared with 4 bytes of data: must fail on the count,
	// not try to allocate 4 TiB.
	tp := tensorProto("big", ir.Float32, 1<<20, 1<<20).bytes(tpRawData, []byte{0, 0, 0, 0})
	_, _, err := DecodeTensor(tp)
	wantErr(t, err, `tensor "big"`, "more than 2^31 elements")
	// The same through typed data and in a model initializer.
	tp = tensorProto("big", ir.Int64, 1<<20, 1<<20).packedVarints(tpInt64Data, 1)
	g := msg(nil).bytes(gpInitializer, tp)
	_, err = Decode(model(g), Options{})
	wantErr(t, err, `initializer "big"`, "more than 2^31 elements")
	// Under the cap but without the data: refused on the length check.
	tp = tensorProto("mid", ir.Float32, 1<<30).bytes(tpRawData, []byte{0, 0, 0, 0})
	_, _, err = DecodeTensor(tp)
	wantErr(t, err, "raw data is 4 bytes")
	allocs := testing.AllocsPerRun(5, func() { DecodeTensor(tp) })
	if allocs > 20 {
		t.Errorf("refusing a bogus tensor took %v allocations", allocs)
	}
}

func TestDecodeCycle(t *testing.T) {
	g := msg(nil).
		bytes(gpNode, mkNode("Add", "a", []string{"x", "c"}, []string{"b"})).
		bytes(gpNode, mkNode("Relu", "r", []string{"b"}, []string{"c"})).
		bytes(gpInput, vinfo("x", ir.Float32, 1)).
		bytes(gpOutput, vinfo("c", ir.Float32, 1))
	_, err := Decode(model(g), Options{})
	wantErr(t, err, "cycle", "node ")
}

func TestDecodeOutOfOrderNodes(t *testing.T) {
	g := msg(nil).
		bytes(gpNode, mkNode("Relu", "second", []string{"a"}, []string{"y"})).
		bytes(gpNode, mkNode("Neg", "first", []string{"x"}, []string{"a"})).
		bytes(gpInput, vinfo("x", ir.Float32, 1)).
		bytes(gpOutput, vinfo("y", ir.Float32, 1))
	gr, err := Decode(model(g), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if gr.Nodes[0].Name != "first" || gr.Nodes[1].Name != "second" {
		t.Errorf("not topologically sorted: %v", gr.Nodes)
	}
}

func TestDecodeGraphErrors(t *testing.T) {
	in := vinfo("x", ir.Float32, 1)
	out := vinfo("y", ir.Float32, 1)
	cases := []struct {
		name  string
		graph msg
		want  []string
	}{
		{"undefined input", msg(nil).bytes(gpNode, mkNode("Relu", "r", []string{"nope"}, []string{"y"})).bytes(gpInput, in).bytes(gpOutput, out),
			[]string{`node "r" (Relu): input 0 "nope"`}},
		{"undefined output", msg(nil).bytes(gpInput, in).bytes(gpOutput, out), []string{`graph output "y"`}},
		{"two producers", msg(nil).bytes(gpNode, mkNode("Relu", "a", []string{"x"}, []string{"y"})).
			bytes(gpNode, mkNode("Neg", "b", []string{"x"}, []string{"y"})).bytes(gpInput, in).bytes(gpOutput, out),
			[]string{`node "b" (Neg): output "y" is already defined`}},
		{"subgraph", msg(nil).bytes(gpNode, mkNode("If", "x", []string{"x"}, []string{"y"},
			msg(nil).str(apName, "then_branch").varint(apType, uint64(ir.AttrGraph)).bytes(apG, nil))).bytes(gpInput, in).bytes(gpOutput, out),
			[]string{`node "x" (If): subgraph attributes are not supported (control flow)`}},
		{"ref attr", msg(nil).bytes(gpNode, mkNode("Relu", "", []string{"x"}, []string{"y"},
			msg(nil).str(apName, "alpha").str(apRefAttrName, "a").varint(apType, uint64(ir.AttrFloat)))).bytes(gpInput, in).bytes(gpOutput, out),
			[]string{`node "Relu_0" (Relu): attribute "alpha"`, "ref_attr_name"}},
		{"sequence input", msg(nil).bytes(gpInput, msg(nil).str(1, "s").bytes(2, msg(nil).bytes(4, nil))),
			[]string{`value "s": sequence types are not supported`}},
		{"sparse initializer", msg(nil).bytes(gpSparseInitializer, nil), []string{"sparse_initializer"}},
		{"sparse constant", msg(nil).bytes(gpNode, mkNode("Constant", "k", nil, []string{"y"},
			msg(nil).str(apName, "sparse_value").varint(apType, uint64(ir.AttrSparse)))).bytes(gpOutput, out),
			[]string{`node "k" (Constant)`, "sparse"}},
		{"duplicate attr", msg(nil).bytes(gpNode, mkNode("Relu", "r", []string{"x"}, []string{"y"}, intAttr("a", 1), intAttr("a", 2))).
			bytes(gpInput, in).bytes(gpOutput, out), []string{`node "r" (Relu): attribute "a" is given twice`}},
		{"wire type", msg(nil).varint(gpName, 3), []string{"field 2 of GraphProto", "wire type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(model(c.graph), Options{})
			wantErr(t, err, c.want...)
		})
	}
}

func TestDecodeConstantsAndInitializerInputs(t *testing.T) {
	str := func(s string) msg { return msg(nil).str(apName, s) }
	g := msg(nil).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c1"}, msg(nil).str(apName, "value").varint(apType, 4).bytes(apT, f32Tensor("", []int64{1}, 7)))).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c2"}, str("value_float").varint(apType, 1).fixed32(apF, math.Float32bits(2.5)))).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c3"}, str("value_floats").varint(apType, 6).packedFixed32(apFloats, math.Float32bits(1), math.Float32bits(2)))).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c4"}, str("value_int").varint(apType, 2).varint(apI, uint64(^uint64(0))))). // -1
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c5"}, str("value_ints").varint(apType, 7).varint(apInts, 3).varint(apInts, 4))).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c6"}, str("value_string").varint(apType, 3).str(apS, "hi"))).
		bytes(gpNode, mkNode("Constant", "", nil, []string{"c7"}, str("value_strings").varint(apType, 8).str(apStrings, "a").str(apStrings, "b"))).
		bytes(gpInitializer, f32Tensor("w", []int64{1}, 3)).
		bytes(gpInput, vinfo("w", ir.Float32, 1)). // old-style: initializer listed as input
		bytes(gpInput, vinfo("x", ir.Float32, 1)).
		bytes(gpOutput, vinfo("c1", ir.Float32, 1))
	gr, err := Decode(model(g), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gr.Inputs) != 1 || gr.Inputs[0].Name != "x" {
		t.Errorf("inputs = %v, want only x (w is an initializer)", gr.Inputs)
	}
	if len(gr.Nodes) != 0 {
		t.Errorf("Constant nodes kept as nodes: %v", gr.Nodes)
	}
	got := map[string]any{}
	types := map[string]string{}
	for _, c := range gr.Consts {
		got[c.Name] = c.Const.Data
		types[c.Name] = c.Type.String()
	}
	want := map[string]any{
		"w": []float32{3}, "c1": []float32{7}, "c2": []float32{2.5}, "c3": []float32{1, 2},
		"c4": []int64{-1}, "c5": []int64{3, 4}, "c6": []string{"hi"}, "c7": []string{"a", "b"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("constants (-want +got):\n%s", d)
	}
	wantTypes := map[string]string{"w": "f32[1]", "c1": "f32[1]", "c2": "f32[]", "c3": "f32[2]", "c4": "i64[]", "c5": "i64[2]", "c6": "str[]", "c7": "str[2]"}
	if d := cmp.Diff(wantTypes, types); d != "" {
		t.Errorf("constant types (-want +got):\n%s", d)
	}
	if gr.Outputs[0] != gr.Consts[1] {
		t.Errorf("output c1 is not the Constant's value")
	}
}

func TestDecodeAttributes(t *testing.T) {
	attrs := []msg{
		msg(nil).str(apName, "f").varint(apType, 1).fixed32(apF, math.Float32bits(0.5)),
		intAttr("i", -3),
		msg(nil).str(apName, "s").varint(apType, 3).str(apS, "xyz"),
		msg(nil).str(apName, "t").varint(apType, 4).bytes(apT, tensorProto("", ir.Int64, 2).packedVarints(tpInt64Data, 5, 6)),
		msg(nil).str(apName, "fs").varint(apType, 6).packedFixed32(apFloats, math.Float32bits(1), math.Float32bits(-1)),
		msg(nil).str(apName, "fu").varint(apType, 6).fixed32(apFloats, math.Float32bits(1)).fixed32(apFloats, math.Float32bits(-1)),
		msg(nil).str(apName, "is").varint(apType, 7).packedVarints(apInts, 1, uint64(math.MaxUint64)),
		msg(nil).str(apName, "iu").varint(apType, 7).varint(apInts, 1).varint(apInts, uint64(math.MaxUint64)),
		msg(nil).str(apName, "ss").varint(apType, 8).str(apStrings, "a").str(apStrings, ""),
		msg(nil).str(apName, "ts").varint(apType, 9).bytes(apTensors, f32Tensor("", []int64{1}, 1)).bytes(apTensors, f32Tensor("", nil, 2)),
		msg(nil).str(apName, "untyped").varint(apI, 9), // old models leave type unset
		msg(nil).str(apName, "empty").varint(apType, 7),
	}
	g := msg(nil).bytes(gpNode, mkNode("Foo", "n", []string{"x"}, []string{"y"}, attrs...)).
		bytes(gpInput, vinfo("x", ir.Float32)).bytes(gpOutput, vinfo("y", ir.Float32))
	gr, err := Decode(model(g), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := gr.Nodes[0]
	want := map[string]*ir.Attr{
		"f": ir.FloatAttr(0.5), "i": ir.IntAttr(-3), "s": ir.StringAttr("xyz"),
		"t":  ir.TensorAttr(ir.FromInt64([]int64{2}, []int64{5, 6})),
		"fs": ir.FloatsAttr(1, -1), "fu": ir.FloatsAttr(1, -1),
		"is": ir.IntsAttr(1, -1), "iu": ir.IntsAttr(1, -1), "ss": ir.StringsAttr("a", ""),
		"ts":      {Kind: ir.AttrTensors, Tensors: []*ir.Tensor{ir.FromFloat32([]int64{1}, []float32{1}), ir.FromFloat32([]int64{}, []float32{2})}},
		"untyped": ir.IntAttr(9), "empty": {Kind: ir.AttrInts},
	}
	if d := cmp.Diff(want, n.Attrs); d != "" {
		t.Errorf("attributes (-want +got):\n%s", d)
	}
}

func TestDecodeTypes(t *testing.T) {
	dims := msg(nil).
		bytes(1, msg(nil).varint(1, 3)).
		bytes(1, msg(nil).str(2, "N")).
		bytes(1, nil)
	tt := msg(nil).varint(1, uint64(ir.Float16)).bytes(2, dims)
	sym := msg(nil).str(1, "x").bytes(2, msg(nil).bytes(1, tt))
	unranked := msg(nil).str(1, "u").bytes(2, msg(nil).bytes(1, msg(nil).varint(1, uint64(ir.Int8))))
	untyped := msg(nil).str(1, "v")
	g := msg(nil).bytes(gpInput, sym).bytes(gpInput, unranked).bytes(gpInput, untyped).
		bytes(gpNode, mkNode("Identity", "", []string{"x"}, []string{"y"})).
		bytes(gpValueInfo, vinfo("y", ir.Float16, 7)).
		bytes(gpOutput, vinfo("y", ir.Float16))
	gr, err := Decode(model(g), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []ir.Type{gr.Inputs[0].Type, gr.Inputs[1].Type, gr.Inputs[2].Type, gr.Outputs[0].Type}
	want := []ir.Type{
		ir.TensorType(ir.Float16, ir.Shape{ir.D(3), ir.Sym("N"), ir.Unknown()}),
		{DType: ir.Int8},
		{},
		ir.TensorType(ir.Float16, ir.ShapeOf(7)), // value_info wins over the output declaration
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("types (-want +got):\n%s", d)
	}
}

// TestDecodeTensorDTypes decodes every dtype from raw_data and from its
// typed field, packed and unpacked, and checks they agree.
func TestDecodeTensorDTypes(t *testing.T) {
	type tc struct {
		dt    ir.DType
		data  any
		typed func(m msg, packed bool) msg
	}
	varints := func(num int, vs ...uint64) func(msg, bool) msg {
		return func(m msg, packed bool) msg {
			if packed {
				return m.packedVarints(num, vs...)
			}
			for _, v := range vs {
				m = m.varint(num, v)
			}
			return m
		}
	}
	fixed32s := func(vs ...uint32) func(msg, bool) msg {
		return func(m msg, packed bool) msg {
			if packed {
				return m.packedFixed32(tpFloatData, vs...)
			}
			for _, v := range vs {
				m = m.fixed32(tpFloatData, v)
			}
			return m
		}
	}
	fixed64s := func(vs ...uint64) func(msg, bool) msg {
		return func(m msg, packed bool) msg {
			if packed {
				var p []byte
				for _, v := range vs {
					p = protowire.AppendFixed64(p, v)
				}
				return m.bytes(tpDoubleData, p)
			}
			for _, v := range vs {
				m = m.fixed64(tpDoubleData, v)
			}
			return m
		}
	}
	neg := func(v int64) uint64 { return uint64(v) }
	cases := []tc{
		{ir.Float32, []float32{1.5, -2}, fixed32s(math.Float32bits(1.5), math.Float32bits(-2))},
		{ir.Uint8, []uint8{0, 255}, varints(tpInt32Data, 0, 255)},
		{ir.Int8, []int8{-128, 127}, varints(tpInt32Data, neg(-128), 127)},
		{ir.Uint16, []uint16{1, 65535}, varints(tpInt32Data, 1, 65535)},
		{ir.Int16, []int16{-32768, 7}, varints(tpInt32Data, neg(-32768), 7)},
		{ir.Int32, []int32{-1, math.MaxInt32}, varints(tpInt32Data, neg(-1), math.MaxInt32)},
		{ir.Int64, []int64{math.MinInt64, 42}, varints(tpInt64Data, neg(math.MinInt64), 42)},
		{ir.Bool, []bool{true, false}, varints(tpInt32Data, 1, 0)},
		{ir.Float16, []uint16{0x3c00, 0xc000}, varints(tpInt32Data, 0x3c00, 0xc000)},
		{ir.Float64, []float64{math.Pi, -0.25}, fixed64s(math.Float64bits(math.Pi), math.Float64bits(-0.25))},
		{ir.Uint32, []uint32{math.MaxUint32, 3}, varints(tpUint64Data, math.MaxUint32, 3)},
		{ir.Uint64, []uint64{math.MaxUint64, 3}, varints(tpUint64Data, math.MaxUint64, 3)},
		{ir.Complex64, []complex64{complex(1, 2), complex(-3, 4)}, fixed32s(math.Float32bits(1), math.Float32bits(2), math.Float32bits(-3), math.Float32bits(4))},
		{ir.Complex128, []complex128{complex(1, -2), complex(0.5, 4)}, fixed64s(math.Float64bits(1), math.Float64bits(-2), math.Float64bits(0.5), math.Float64bits(4))},
		{ir.BFloat16, []uint16{0x3f80, 0xc000}, varints(tpInt32Data, 0x3f80, 0xc000)},
		{ir.Float8E4M3FN, []uint8{0x38, 0xb8}, varints(tpInt32Data, 0x38, 0xb8)},
		{ir.Float8E4M3FNUZ, []uint8{0x40, 0x80}, varints(tpInt32Data, 0x40, 0x80)},
		{ir.Float8E5M2, []uint8{0x3c, 0x7c}, varints(tpInt32Data, 0x3c, 0x7c)},
		{ir.Float8E5M2FNUZ, []uint8{0x40, 0x01}, varints(tpInt32Data, 0x40, 0x01)},
	}
	for _, c := range cases {
		want := &ir.Tensor{DType: c.dt, Shape: []int64{2}, Data: c.data}
		t.Run(c.dt.String(), func(t *testing.T) {
			raw := tensorProto("t", c.dt, 2).bytes(tpRawData, want.Bytes())
			for name, m := range map[string]msg{
				"raw":      raw,
				"packed":   c.typed(tensorProto("t", c.dt, 2), true),
				"unpacked": c.typed(tensorProto("t", c.dt, 2), false),
			} {
				gotName, got, err := DecodeTensor(m)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if gotName != "t" {
					t.Errorf("%s: name %q", name, gotName)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%s (-want +got):\n%s", name, d)
				}
			}
			// One element short is a length error, not a panic.
			_, _, err := DecodeTensor(c.typed(tensorProto("t", c.dt, 3), true))
			wantErr(t, err, "values, want")
		})
	}
	// Strings.
	m := tensorProto("s", ir.String, 2).str(tpStringData, "a").str(tpStringData, "bc")
	_, got, err := DecodeTensor(m)
	if err != nil || !cmp.Equal(got.Data, []string{"a", "bc"}) {
		t.Errorf("strings: %v %v", got, err)
	}
	// Scalars and empty tensors.
	_, got, err = DecodeTensor(tensorProto("", ir.Float32).fixed32(tpFloatData, math.Float32bits(3)))
	if err != nil || len(got.Shape) != 0 || !cmp.Equal(got.Data, []float32{3}) {
		t.Errorf("scalar: %v %v", got, err)
	}
	_, got, err = DecodeTensor(tensorProto("", ir.Float32, 0, 5))
	if err != nil || !cmp.Equal(got.Data, []float32{}) {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestDecodeTensorErrors(t *testing.T) {
	cases := map[string]struct {
		m    msg
		want string
	}{
		"wrong field":   {tensorProto("", ir.Int8, 1).packedFixed32(tpFloatData, 0), "float_data given for a i8 tensor"},
		"raw and typed": {tensorProto("", ir.Float32, 1).bytes(tpRawData, make([]byte, 4)).packedFixed32(tpFloatData, 0), "both raw_data and typed"},
		"no data":       {tensorProto("", ir.Float32, 2), "has no data"},
		"no dtype":      {msg(nil).varint(tpDims, 1), "no data_type"},
		"bad dtype":     {msg(nil).varint(tpDataType, 99), "unsupported data_type 99"},
		"segment":       {tensorProto("", ir.Float32, 1).bytes(tpSegment, nil), "segment"},
		"odd packed":    {tensorProto("", ir.Float32, 1).bytes(tpFloatData, []byte{1, 2, 3}), "not a multiple of 4"},
		"string raw":    {tensorProto("", ir.String, 1).bytes(tpRawData, []byte{1}), "raw_data"},
		"no dir":        {tensorProto("", ir.Float32, 1).varint(tpDataLocation, 1).bytes(tpExternalData, msg(nil).str(1, "location").str(2, "w.bin")), "Options.Dir"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := DecodeTensor(c.m)
			wantErr(t, err, c.want)
		})
	}
}

func externalModel(entries ...[2]string) []byte {
	tp := tensorProto("w", ir.Float32, 2).varint(tpDataLocation, 1)
	for _, e := range entries {
		tp = tp.bytes(tpExternalData, msg(nil).str(1, e[0]).str(2, e[1]))
	}
	g := msg(nil).bytes(gpInitializer, tp).bytes(gpOutput, vinfo("w", ir.Float32, 2))
	return model(g)
}

func TestExternalData(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	payload := (&ir.Tensor{DType: ir.Float32, Shape: []int64{3}, Data: []float32{9, 1.5, -2}}).Bytes()
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "sub", "w.bin"), payload)
	write(filepath.Join(root, "secret.bin"), payload)
	if err := os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}

	// offset 4, length 8: elements 1 and 2.
	m := externalModel([2]string{"location", "sub/w.bin"}, [2]string{"offset", "4"}, [2]string{"length", "8"})
	write(filepath.Join(dir, "model.onnx"), m)
	g, err := Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(g.Consts[0].Const.Data, []float32{1.5, -2}) {
		t.Errorf("external data = %v", g.Consts[0].Const.Data)
	}
	// No length: the rest of the file from offset must be exactly the tensor.
	if _, err := Decode(externalModel([2]string{"location", "sub/w.bin"}, [2]string{"offset", "4"}), Options{Dir: dir}); err != nil {
		t.Errorf("offset without length: %v", err)
	}

	bad := []struct {
		entries [][2]string
		want    string
	}{
		{[][2]string{{"location", "../secret.bin"}}, "leaves the model folder"},
		{[][2]string{{"location", "sub/../../secret.bin"}}, "leaves the model folder"},
		{[][2]string{{"location", filepath.Join(root, "secret.bin")}}, "absolute path"},
		{[][2]string{{"location", "link.bin"}, {"length", "8"}}, "outside the model folder"},
		{[][2]string{{"location", "sub/w.bin"}, {"offset", "8"}, {"length", "8"}}, "do not fit"},
		{[][2]string{{"location", "sub/w.bin"}, {"length", "12"}}, "want 8"},
		{[][2]string{{"location", "sub/w.bin"}}, "do not fit"}, // 12 bytes for an 8-byte tensor
		{[][2]string{{"location", "sub/w.bin"}, {"offset", "-1"}}, "non-negative"},
		{[][2]string{{"location", "missing.bin"}}, "missing.bin"},
		{[][2]string{{"offset", "0"}}, "no location"},
	}
	for _, b := range bad {
		_, err := Decode(externalModel(b.entries...), Options{Dir: dir})
		wantErr(t, err, `initializer "w"`, b.want)
	}
	_, err = Decode(m, Options{})
	wantErr(t, err, "Options.Dir")
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.onnx")
	data := reluModel()
	if err := os.WriteFile(p, data[:len(data)-2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	wantErr(t, err, p+": truncated protobuf at byte")
}

func TestOpsetImports(t *testing.T) {
	g := msg(nil).bytes(gpNode, mkNode("Relu", "r", []string{"x"}, []string{"y"})).
		bytes(gpInput, vinfo("x", ir.Float32, 1)).bytes(gpOutput, vinfo("y", ir.Float32, 1))
	m := msg(nil).varint(mpIRVersion, 3).bytes(mpOpsetImport, msg(nil).str(1, "ai.onnx").varint(2, 9)).
		bytes(mpOpsetImport, msg(nil).str(1, "com.example").varint(2, 1)).bytes(mpGraph, g)
	gr, err := Decode(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if gr.SourceOpset != 9 || gr.Opsets[""] != ir.CanonicalOpset || gr.Opsets["com.example"] != 1 {
		t.Errorf("opsets %v source %d", gr.Opsets, gr.SourceOpset)
	}
	m = msg(nil).varint(mpIRVersion, 8).bytes(mpGraph, g)
	_, err = Decode(m, Options{})
	wantErr(t, err, `node "r" (Relu): the model imports no ai.onnx opset`)
}
