package frontend

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/ir"
	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX protobuf field numbers written by the encoder (onnx.proto3).
const (
	// ModelProto
	mIRVersion    = 1
	mProducerName = 2
	mDocString    = 6
	mGraph        = 7
	mOpsetImport  = 8
	mMetadata     = 14
	// OperatorSetIdProto and StringStringEntryProto
	osDomain  = 1
	osVersion = 2
	ssKey     = 1
	ssValue   = 2
	// GraphProto
	gNode        = 1
	gName        = 2
	gInitializer = 5
	gDocString   = 10
	gInput       = 11
	gOutput      = 12
	gValueInfo   = 13
	// NodeProto
	nInput     = 1
	nOutput    = 2
	nName      = 3
	nOpType    = 4
	nAttribute = 5
	nDocString = 6
	nDomain    = 7
	// AttributeProto
	aName    = 1
	aF       = 2
	aI       = 3
	aS       = 4
	aT       = 5
	aFloats  = 7
	aInts    = 8
	aStrings = 9
	aTensors = 10
	aType    = 20
	// TensorProto
	tDims       = 1
	tDataType   = 2
	tStringData = 6
	tName       = 8
	tRawData    = 9
	// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto(.Dimension)
	viName       = 1
	viType       = 2
	tpTensorType = 1
	ttElemType   = 1
	ttShape      = 2
	shDim        = 1
	dimValue     = 1
	dimParam     = 2
)

// minIRVersion is the lowest ONNX IR version that may import opset 18.
const minIRVersion = 8

// The FP8 element types exist from ONNX IR version 9 and ai.onnx opset 19
// on (Cast, CastLike, QuantizeLinear, DequantizeLinear, Constant, Identity,
// Reshape, Shape, ... accept them from 19): a model at opset 18 holding an
// FP8 tensor is invalid, and ONNX Runtime refuses it ("Type
// 'tensor(float8e4m3fn)' of input parameter ... is invalid"). Every
// opset-19 change is backward compatible with the opset-18 form effc keeps
// (new attributes with the old behaviour as default, new types), so the
// encoder raises the imports of graphs that use FP8.
const (
	fp8IRVersion = 9
	fp8Opset     = 19
)

// Encode serializes g as an ONNX ModelProto: ir_version max(g.IRVersion, 8),
// producer "effc", opset_import from g.Opsets (ai.onnx at least
// ir.CanonicalOpset, other domains used by nodes at least 1; a graph with
// FP8 tensors gets at least ir_version 9 and ai.onnx 19), the graph's
// inputs, outputs, initializers (g.Consts, raw_data or string_data) and
// value_info for every node output with a dtype. Nodes keep their names,
// except that a repeated name gets a suffix (name.1, as the decoder does).
// It fails on what ONNX cannot hold or on malformed IR (an unnamed,
// duplicate or undefined value, a graph input without dtype, a tensor whose
// data does not match its dtype and shape, a quantized value type,
// graph-valued attributes), and on nodes outside the standard ONNX domains
// (effc's own ops, such as effc.FusedConv from the fuse-epilogue pass, or
// another vendor's), naming the node.
func Encode(g *ir.Graph) ([]byte, error) {
	if g == nil {
		return nil, fmt.Errorf("encode: nil graph")
	}
	gb, err := encodeGraph(g)
	if err != nil {
		return nil, fmt.Errorf("encode graph %q: %w", g.Name, err)
	}
	var b []byte
	irv, opset := max(g.IRVersion, minIRVersion), int64(ir.CanonicalOpset)
	if usesFP8(g) {
		irv, opset = max(irv, fp8IRVersion), fp8Opset
	}
	b = protowire.AppendTag(b, mIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(irv))
	b = appendString(b, mProducerName, "effc")
	if g.Doc != "" {
		b = appendString(b, mDocString, g.Doc)
	}
	b = appendBytes(b, mGraph, gb)
	for _, d := range opsetsOf(g, opset) {
		var e []byte
		if d.domain != "" {
			e = appendString(e, osDomain, d.domain)
		}
		e = protowire.AppendTag(e, osVersion, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(d.version))
		b = appendBytes(b, mOpsetImport, e)
	}
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = appendString(e, ssKey, k)
		e = appendString(e, ssValue, g.Metadata[k])
		b = appendBytes(b, mMetadata, e)
	}
	return b, nil
}

// usesFP8 reports whether g holds an FP8 tensor anywhere: a value's type, a
// constant, a tensor attribute or the target type of a Cast.
func usesFP8(g *ir.Graph) bool {
	for _, v := range g.Values() {
		if v != nil && (v.Type.DType.IsFP8() || v.Const != nil && v.Const.DType.IsFP8()) {
			return true
		}
	}
	for _, n := range g.Nodes {
		for name, a := range n.Attrs {
			switch {
			case a == nil:
			case a.Kind == ir.AttrTensor && a.Tensor != nil && a.Tensor.DType.IsFP8():
				return true
			case a.Kind == ir.AttrTensors:
				for _, t := range a.Tensors {
					if t != nil && t.DType.IsFP8() {
						return true
					}
				}
			case a.Kind == ir.AttrInt && name == "to" && n.Op == "Cast" && ir.DType(a.Int).IsFP8():
				return true
			}
		}
	}
	return false
}

// EncodeTensor serializes t as an ONNX TensorProto named name (the format of
// the conformance suite's input_N.pb files).
func EncodeTensor(name string, t *ir.Tensor) ([]byte, error) {
	b, err := encodeTensor(name, t)
	if err != nil {
		return nil, fmt.Errorf("encode tensor %q: %w", name, err)
	}
	return b, nil
}

type opsetEntry struct {
	domain  string
	version int64
}

// opsetsOf lists the opsets to import, sorted by domain ("" first): g's
// imports, ai.onnx at least minOpset, and version 1 of any other domain a
// node uses without an import.
func opsetsOf(g *ir.Graph, minOpset int64) []opsetEntry {
	m := map[string]int64{}
	for d, v := range g.Opsets {
		if d == "ai.onnx" {
			d = ""
		}
		m[d] = max(m[d], v)
	}
	m[""] = max(m[""], minOpset)
	for _, n := range g.Nodes {
		d := n.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if _, ok := m[d]; !ok {
			m[d] = 1
		}
	}
	out := make([]opsetEntry, 0, len(m))
	for d, v := range m {
		out = append(out, opsetEntry{d, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].domain < out[j].domain })
	return out
}

func encodeGraph(g *ir.Graph) ([]byte, error) {
	if err := checkValues(g); err != nil {
		return nil, err
	}
	var b []byte
	for i, name := range nodeNames(g) {
		nb, err := encodeNode(g.Nodes[i], name)
		if err != nil {
			return nil, err
		}
		b = appendBytes(b, gNode, nb)
	}
	if g.Name != "" {
		b = appendString(b, gName, g.Name)
	}
	for _, c := range g.Consts {
		tb, err := encodeTensor(c.Name, c.Const)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", c.Name, err)
		}
		b = appendBytes(b, gInitializer, tb)
	}
	if g.Doc != "" {
		b = appendString(b, gDocString, g.Doc)
	}
	for _, v := range g.Inputs {
		if v.Type.DType == ir.Undefined {
			return nil, fmt.Errorf("input %q has no element type; ONNX requires one for every graph input (set it, or run shape-infer)", v.Name)
		}
		vb, err := encodeValueInfo(v)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		b = appendBytes(b, gInput, vb)
	}
	for _, v := range g.Outputs {
		vb, err := encodeValueInfo(v)
		if err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		b = appendBytes(b, gOutput, vb)
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			// A value without an element type has nothing ONNX can record.
			if o == nil || g.IsOutput(o) || o.Type.DType == ir.Undefined {
				continue
			}
			vb, err := encodeValueInfo(o)
			if err != nil {
				return nil, fmt.Errorf("%s: output: %w", n, err)
			}
			b = appendBytes(b, gValueInfo, vb)
		}
	}
	return b, nil
}

// checkValues enforces what ONNX requires of values, which ONNX Runtime
// refuses to load without: every value is named, no two values share a
// name, and every node input and graph output is a graph input, constant or
// node output of g.
func checkValues(g *ir.Graph) error {
	defined := map[string]*ir.Value{}
	define := func(v *ir.Value, what string) error {
		if v.Name == "" {
			return fmt.Errorf("%s has an empty name; name every value before encoding", what)
		}
		if prev, ok := defined[v.Name]; ok && prev != v {
			return fmt.Errorf("%s is named %q like another value; ONNX needs unique value names", what, v.Name)
		}
		defined[v.Name] = v
		return nil
	}
	for i, v := range g.Inputs {
		if v == nil {
			return fmt.Errorf("graph input %d is nil", i)
		}
		if err := define(v, fmt.Sprintf("graph input %d", i)); err != nil {
			return err
		}
	}
	for _, c := range g.Consts {
		if c == nil || c.Const == nil {
			return fmt.Errorf("constant list holds a value without a tensor (%v); passes must keep g.Consts constant", valueName(c))
		}
		if err := define(c, "a constant"); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		for j, o := range n.Outputs {
			if o == nil {
				continue
			}
			if err := define(o, fmt.Sprintf("%s: output %d", n, j)); err != nil {
				return err
			}
		}
	}
	for _, n := range g.Nodes {
		for j, in := range n.Inputs {
			if in != nil && defined[in.Name] != in {
				return fmt.Errorf("%s: input %d %q is not a graph input, constant or node output of the graph", n, j, in.Name)
			}
		}
	}
	for i, o := range g.Outputs {
		if o == nil || defined[o.Name] != o {
			return fmt.Errorf("graph output %d %v is not a graph input, constant or node output of the graph", i, valueName(o))
		}
	}
	return nil
}

// nodeNames returns the names to write for g's nodes: their own, with each
// later repeat renamed name.1, name.2, ... as the decoder does, because
// ONNX Runtime refuses a model with two nodes of one name ("two nodes with
// same node name"). Empty names stay empty; ONNX allows those.
func nodeNames(g *ir.Graph) []string {
	used := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Name != "" {
			used[n.Name] = true
		}
	}
	seen := map[string]bool{}
	out := make([]string, len(g.Nodes))
	for i, n := range g.Nodes {
		name := n.Name
		if name != "" && seen[name] {
			name = uniqueName(used, name)
			used[name] = true
		}
		seen[name] = true
		out[i] = name
	}
	return out
}

func valueName(v *ir.Value) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", v.Name)
}

// standardDomains are the operator domains the ONNX standard defines
// ("ai.onnx" is the long spelling of ""). Encode writes nodes of these
// domains only: a model is for other tools, and no ONNX consumer runs
// effc's own ops or another vendor's.
var standardDomains = map[string]bool{"": true, "ai.onnx": true, "ai.onnx.ml": true, "ai.onnx.preview.training": true}

// checkDomain refuses a node outside the standard ONNX domains.
func checkDomain(n *ir.Node) error {
	switch {
	case standardDomains[n.Domain]:
		return nil
	case n.Domain == "effc":
		return fmt.Errorf("%s: effc.%s is an effc-internal op that no ONNX runtime can execute; export the graph before the pass that created it (effc.FusedConv comes from fuse-epilogue: use a pipeline without it)", n, n.Op)
	}
	return fmt.Errorf("%s: domain %q is not a standard ONNX domain (ai.onnx, ai.onnx.ml, ai.onnx.preview.training); effc writes standard ONNX ops only", n, n.Domain)
}

// encodeNode writes n under the given name (see nodeNames).
func encodeNode(n *ir.Node, name string) ([]byte, error) {
	if err := checkDomain(n); err != nil {
		return nil, err
	}
	var b []byte
	for _, v := range n.Inputs {
		b = appendString(b, nInput, encName(v))
	}
	for _, v := range n.Outputs {
		b = appendString(b, nOutput, encName(v))
	}
	if name != "" {
		b = appendString(b, nName, name)
	}
	b = appendString(b, nOpType, n.Op)
	for _, attr := range n.SortedAttrNames() {
		ab, err := encodeAttr(attr, n.Attrs[attr])
		if err != nil {
			return nil, fmt.Errorf("%s: attribute %q: %w", n, attr, err)
		}
		b = appendBytes(b, nAttribute, ab)
	}
	if n.Doc != "" {
		b = appendString(b, nDocString, n.Doc)
	}
	if n.Domain != "" {
		b = appendString(b, nDomain, n.Domain)
	}
	return b, nil
}

func encName(v *ir.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

func encodeAttr(name string, a *ir.Attr) ([]byte, error) {
	if a == nil {
		return nil, fmt.Errorf("nil attribute value; remove the attribute instead")
	}
	var b []byte
	b = appendString(b, aName, name)
	switch a.Kind {
	case ir.AttrFloat:
		b = protowire.AppendTag(b, aF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.Float))
	case ir.AttrInt:
		b = protowire.AppendTag(b, aI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.Int))
	case ir.AttrString:
		b = appendString(b, aS, a.String)
	case ir.AttrTensor:
		if a.Tensor == nil {
			return nil, fmt.Errorf("tensor attribute holds no tensor")
		}
		tb, err := encodeTensor("", a.Tensor)
		if err != nil {
			return nil, err
		}
		b = appendBytes(b, aT, tb)
	case ir.AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendBytes(b, aFloats, p)
	case ir.AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendBytes(b, aInts, p)
	case ir.AttrStrings:
		for _, s := range a.Strings {
			b = appendString(b, aStrings, s)
		}
	case ir.AttrTensors:
		for i, t := range a.Tensors {
			if t == nil {
				return nil, fmt.Errorf("tensor %d of the list is nil", i)
			}
			tb, err := encodeTensor("", t)
			if err != nil {
				return nil, fmt.Errorf("tensor %d: %w", i, err)
			}
			b = appendBytes(b, aTensors, tb)
		}
	default:
		return nil, fmt.Errorf("kind %s cannot be encoded (effc represents no graph, sparse or type attributes)", a.Kind)
	}
	b = protowire.AppendTag(b, aType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Kind))
	return b, nil
}

// checkTensor verifies that t's Data has the Go type its DType calls for and
// product(Shape) elements, so Bytes cannot panic.
func checkTensor(t *ir.Tensor) error {
	if t == nil {
		return fmt.Errorf("nil tensor")
	}
	if !t.DType.Valid() {
		return fmt.Errorf("invalid dtype %d", uint8(t.DType))
	}
	n, err := ir.CheckedNumElements(t.Shape)
	if err != nil {
		return err
	}
	var got int
	ok := false
	switch d := t.Data.(type) {
	case []float32:
		got, ok = len(d), t.DType == ir.Float32
	case []float64:
		got, ok = len(d), t.DType == ir.Float64
	case []int8:
		got, ok = len(d), t.DType == ir.Int8
	case []uint8:
		got, ok = len(d), t.DType == ir.Uint8 || t.DType.IsFP8()
	case []int16:
		got, ok = len(d), t.DType == ir.Int16
	case []uint16:
		got, ok = len(d), t.DType == ir.Uint16 || t.DType == ir.Float16 || t.DType == ir.BFloat16
	case []int32:
		got, ok = len(d), t.DType == ir.Int32
	case []uint32:
		got, ok = len(d), t.DType == ir.Uint32
	case []int64:
		got, ok = len(d), t.DType == ir.Int64
	case []uint64:
		got, ok = len(d), t.DType == ir.Uint64
	case []bool:
		got, ok = len(d), t.DType == ir.Bool
	case []string:
		got, ok = len(d), t.DType == ir.String
	case []complex64:
		got, ok = len(d), t.DType == ir.Complex64
	case []complex128:
		got, ok = len(d), t.DType == ir.Complex128
	}
	if !ok {
		return fmt.Errorf("data of Go type %T does not hold dtype %s", t.Data, t.DType)
	}
	if int64(got) != n {
		return fmt.Errorf("data has %d elements, shape %v needs %d", got, t.Shape, n)
	}
	return nil
}

func encodeTensor(name string, t *ir.Tensor) ([]byte, error) {
	if err := checkTensor(t); err != nil {
		return nil, err
	}
	var b []byte
	if len(t.Shape) > 0 {
		var p []byte
		for _, d := range t.Shape {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendBytes(b, tDims, p)
	}
	b = protowire.AppendTag(b, tDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DType))
	if t.DType == ir.String {
		for _, s := range t.Data.([]string) {
			b = appendString(b, tStringData, s)
		}
	}
	if name != "" {
		b = appendString(b, tName, name)
	}
	if t.DType != ir.String {
		b = appendBytes(b, tRawData, t.Bytes())
	}
	return b, nil
}

// encodeValueInfo writes v's name and type; checkValues has made sure v is
// a named value.
func encodeValueInfo(v *ir.Value) ([]byte, error) {
	var b []byte
	b = appendString(b, viName, v.Name)
	t := v.Type
	if t.DType == ir.Undefined {
		// ONNX allows a ValueInfoProto without a type, but not a tensor
		// type without an element type (ONNX Runtime: "Invalid tensor
		// data type 0"), so a shape without a dtype is dropped.
		return b, nil
	}
	if t.Quant != nil {
		return nil, fmt.Errorf("value %q has a quantized type; ONNX has no quantized tensor types, lower it to QuantizeLinear/DequantizeLinear first", v.Name)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, ttElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(t.DType))
	if t.Ranked {
		var sh []byte
		for _, d := range t.Shape {
			var db []byte
			switch {
			case d.Size >= 0:
				db = protowire.AppendTag(db, dimValue, protowire.VarintType)
				db = protowire.AppendVarint(db, uint64(d.Size))
			case d.Param != "":
				db = appendString(db, dimParam, d.Param)
			}
			sh = appendBytes(sh, shDim, db)
		}
		tt = appendBytes(tt, ttShape, sh)
	}
	var tp []byte
	tp = appendBytes(tp, tpTensorType, tt)
	b = appendBytes(b, viType, tp)
	return b, nil
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}
