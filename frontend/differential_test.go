package frontend

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/effc/effc/ir"

	// onnx-go's generated onnx.proto3 package registers onnx.ModelProto
	// with the protobuf registry; it is internal to onnx-go, so it is
	// reached through the registry rather than imported.
	_ "github.com/owulveryck/onnx-go"
)

// The differential test decodes every libonnx-testdata model twice: with
// this package's hand-written decoder (before canonicalization) and with the
// generated code of github.com/owulveryck/onnx-go, read through protobuf
// reflection. Nodes, attributes and float32/int64 constants must agree.

const backendTestData = "/usr/share/libonnx-testdata/data"

type diffNode struct {
	Op, Name        string
	Inputs, Outputs []string
	Attrs           map[string]string
}

type diffConst struct {
	DType ir.DType
	Dims  []int64
	F32   []float32
	I64   []int64
}

type diffModel struct {
	Nodes  []diffNode
	Consts map[string]diffConst
}

func TestDifferentialOnnxGo(t *testing.T) {
	models, _ := filepath.Glob(filepath.Join(backendTestData, "*", "*", "model.onnx"))
	if len(models) == 0 {
		t.Skip("no libonnx-testdata models")
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName("onnx.ModelProto")
	if err != nil {
		t.Fatalf("onnx-go did not register onnx.ModelProto: %v", err)
	}
	compared, refSkipped, graphAttrs, oursRefused := 0, 0, 0, 0
	for _, path := range models {
		name := strings.TrimPrefix(path, backendTestData+"/")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ref := mt.New().Interface()
		if err := proto.Unmarshal(data, ref); err != nil {
			refSkipped++
			t.Logf("%s: onnx-go cannot decode: %v", name, err)
			continue
		}
		want, ok := refModel(ref.ProtoReflect())
		if !ok {
			graphAttrs++ // subgraph attributes, which effc refuses
			continue
		}
		d := &decoder{dir: filepath.Dir(path), raw: true}
		g, err := d.model(data)
		if err != nil {
			oursRefused++ // sequences, control flow: covered by the error tests
			continue
		}
		compared++
		got := ourModel(g)
		if diff := cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: effc and onnx-go disagree (-onnx-go +effc):\n%s", name, diff)
		}
	}
	t.Logf("compared %d models; onnx-go could not decode %d; %d have subgraph attributes; effc refused %d more (sequence/optional types)",
		compared, refSkipped, graphAttrs, oursRefused)
	if compared < len(models)/2 {
		t.Errorf("only %d of %d models compared", compared, len(models))
	}
}

func ourModel(g *ir.Graph) diffModel {
	m := diffModel{Consts: map[string]diffConst{}}
	for _, c := range g.Consts {
		if dc, ok := constOf(c.Const); ok {
			m.Consts[c.Name] = dc
		}
	}
	for _, n := range g.Nodes {
		dn := diffNode{Op: n.Op, Name: n.Name, Attrs: map[string]string{}}
		for _, v := range n.Inputs {
			dn.Inputs = append(dn.Inputs, nameOf(v))
		}
		for _, v := range n.Outputs {
			dn.Outputs = append(dn.Outputs, nameOf(v))
		}
		for k, a := range n.Attrs {
			dn.Attrs[k] = formatAttr(a)
		}
		m.Nodes = append(m.Nodes, dn)
	}
	return m
}

func nameOf(v *ir.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

func constOf(t *ir.Tensor) (diffConst, bool) {
	switch d := t.Data.(type) {
	case []float32:
		return diffConst{DType: t.DType, Dims: t.Shape, F32: d}, true
	case []int64:
		return diffConst{DType: t.DType, Dims: t.Shape, I64: d}, true
	}
	return diffConst{}, false
}

func formatAttr(a *ir.Attr) string {
	switch a.Kind {
	case ir.AttrFloat:
		return fmt.Sprintf("f:%v", a.Float)
	case ir.AttrInt:
		return fmt.Sprintf("i:%d", a.Int)
	case ir.AttrString:
		return fmt.Sprintf("s:%q", a.String)
	case ir.AttrFloats:
		return fmt.Sprintf("fs:%v", a.Floats)
	case ir.AttrInts:
		return fmt.Sprintf("is:%v", a.Ints)
	case ir.AttrStrings:
		return fmt.Sprintf("ss:%q", a.Strings)
	case ir.AttrTensor:
		return fmt.Sprintf("t:%s%v", a.Tensor.DType, a.Tensor.Shape)
	case ir.AttrTensors:
		var parts []string
		for _, t := range a.Tensors {
			parts = append(parts, fmt.Sprintf("%s%v", t.DType, t.Shape))
		}
		return "ts:" + strings.Join(parts, ",")
	}
	return a.Kind.String()
}

// refModel converts onnx-go's decoded ModelProto to the comparable form,
// applying the same graph rules as the decoder (Constant nodes become
// constants, unnamed nodes get "<Op>_<i>"). ok is false for models the old
// schema cannot represent faithfully.
func refModel(m protoreflect.Message) (diffModel, bool) {
	out := diffModel{Consts: map[string]diffConst{}}
	g := refGet(m, "graph").Message()
	for _, tv := range refList(g, "initializer") {
		tm := tv.Message()
		if dc, ok := refConst(tm); ok {
			out.Consts[refGet(tm, "name").String()] = dc
		}
	}
	for i, nv := range refList(g, "node") {
		n := nv.Message()
		dn := diffNode{Op: refGet(n, "op_type").String(), Name: refGet(n, "name").String(), Attrs: map[string]string{}}
		if dn.Name == "" {
			dn.Name = fmt.Sprintf("%s_%d", dn.Op, i)
		}
		for _, s := range refList(n, "input") {
			dn.Inputs = append(dn.Inputs, s.String())
		}
		for _, s := range refList(n, "output") {
			dn.Outputs = append(dn.Outputs, s.String())
		}
		var constVal protoreflect.Message
		var scalar *diffConst
		for _, av := range refList(n, "attribute") {
			a := av.Message()
			s, ok := refAttr(a)
			if !ok {
				return out, false
			}
			dn.Attrs[refGet(a, "name").String()] = s
			switch refGet(a, "name").String() {
			case "value":
				if refHas(a, "t") {
					constVal = refGet(a, "t").Message()
				}
			case "value_float":
				scalar = &diffConst{DType: ir.Float32, Dims: []int64{}, F32: []float32{float32(refGet(a, "f").Float())}}
			case "value_int":
				scalar = &diffConst{DType: ir.Int64, Dims: []int64{}, I64: []int64{refGet(a, "i").Int()}}
			case "value_floats":
				scalar = &diffConst{DType: ir.Float32}
				for _, v := range refList(a, "floats") {
					scalar.F32 = append(scalar.F32, float32(v.Float()))
				}
				scalar.Dims = []int64{int64(len(scalar.F32))}
			case "value_ints":
				scalar = &diffConst{DType: ir.Int64}
				for _, v := range refList(a, "ints") {
					scalar.I64 = append(scalar.I64, v.Int())
				}
				scalar.Dims = []int64{int64(len(scalar.I64))}
			}
		}
		if dn.Op == "Constant" {
			if scalar != nil && len(dn.Outputs) == 1 {
				out.Consts[dn.Outputs[0]] = *scalar
			}
			if constVal != nil {
				if dc, ok := refConst(constVal); ok && len(dn.Outputs) == 1 {
					out.Consts[dn.Outputs[0]] = dc
				}
			}
			continue
		}
		out.Nodes = append(out.Nodes, dn)
	}
	return out, true
}

func refAttr(a protoreflect.Message) (string, bool) {
	typ := refGet(a, "type").Enum()
	if typ == 0 { // old models: infer from the field that is set
		for _, f := range []struct {
			field string
			kind  protoreflect.EnumNumber
		}{{"f", 1}, {"i", 2}, {"s", 3}, {"t", 4}, {"g", 5}, {"floats", 6}, {"ints", 7}, {"strings", 8}, {"tensors", 9}, {"graphs", 10}} {
			if refHas(a, f.field) {
				typ = f.kind
			}
		}
	}
	switch typ {
	case 1:
		return fmt.Sprintf("f:%v", float32(refGet(a, "f").Float())), true
	case 2:
		return fmt.Sprintf("i:%d", refGet(a, "i").Int()), true
	case 3:
		return fmt.Sprintf("s:%q", string(refGet(a, "s").Bytes())), true
	case 4:
		t := refGet(a, "t").Message()
		return fmt.Sprintf("t:%s%v", ir.DType(refGet(t, "data_type").Int()), refDims(t)), true
	case 6:
		var fs []float32
		for _, v := range refList(a, "floats") {
			fs = append(fs, float32(v.Float()))
		}
		return fmt.Sprintf("fs:%v", fs), true
	case 7:
		var is []int64
		for _, v := range refList(a, "ints") {
			is = append(is, v.Int())
		}
		return fmt.Sprintf("is:%v", is), true
	case 8:
		var ss []string
		for _, v := range refList(a, "strings") {
			ss = append(ss, string(v.Bytes()))
		}
		return fmt.Sprintf("ss:%q", ss), true
	case 9:
		var parts []string
		for _, v := range refList(a, "tensors") {
			parts = append(parts, fmt.Sprintf("%s%v", ir.DType(refGet(v.Message(), "data_type").Int()), refDims(v.Message())))
		}
		return "ts:" + strings.Join(parts, ","), true
	}
	return "", false
}

func refDims(t protoreflect.Message) []int64 {
	dims := []int64{}
	for _, v := range refList(t, "dims") {
		dims = append(dims, v.Int())
	}
	return dims
}

// refConst reads float32 and int64 tensors from onnx-go's fields.
func refConst(t protoreflect.Message) (diffConst, bool) {
	dt := ir.DType(refGet(t, "data_type").Int())
	raw := refGet(t, "raw_data").Bytes()
	dc := diffConst{DType: dt, Dims: refDims(t)}
	switch dt {
	case ir.Float32:
		if len(raw) > 0 {
			for i := 0; i+4 <= len(raw); i += 4 {
				dc.F32 = append(dc.F32, math.Float32frombits(binary.LittleEndian.Uint32(raw[i:])))
			}
		} else {
			for _, v := range refList(t, "float_data") {
				dc.F32 = append(dc.F32, float32(v.Float()))
			}
		}
	case ir.Int64:
		if len(raw) > 0 {
			for i := 0; i+8 <= len(raw); i += 8 {
				dc.I64 = append(dc.I64, int64(binary.LittleEndian.Uint64(raw[i:])))
			}
		} else {
			for _, v := range refList(t, "int64_data") {
				dc.I64 = append(dc.I64, v.Int())
			}
		}
	default:
		return dc, false
	}
	return dc, true
}

func refField(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic("onnx-go schema has no field " + name)
	}
	return fd
}

func refGet(m protoreflect.Message, name string) protoreflect.Value { return m.Get(refField(m, name)) }

func refHas(m protoreflect.Message, name string) bool {
	fd := refField(m, name)
	if fd.IsList() {
		return m.Get(fd).List().Len() > 0
	}
	return m.Has(fd)
}

func refList(m protoreflect.Message, name string) []protoreflect.Value {
	l := m.Get(refField(m, name)).List()
	out := make([]protoreflect.Value, l.Len())
	for i := range out {
		out[i] = l.Get(i)
	}
	return out
}
