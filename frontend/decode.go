// Package frontend reads and writes ONNX models as effc IR graphs.
//
// The decoder parses the protobuf wire format by field number (no generated
// code), refuses what the IR cannot represent (subgraphs, sequences, sparse
// tensors) with an error naming the node or value and the fix, and upgrades
// every node to the canonical opset (ir.CanonicalOpset).
package frontend

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/effc/effc/ir"
)

// Options controls decoding.
type Options struct {
	// Dir is the folder external tensor data is read from. Empty refuses
	// models with external data.
	Dir string
}

// Load reads the ONNX model at path; external data is read relative to the
// file's folder. Errors start with the path.
func Load(path string) (*ir.Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Decode(data, Options{Dir: filepath.Dir(path)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Decode decodes a serialized ModelProto into a graph in canonical form.
func Decode(data []byte, opts Options) (*ir.Graph, error) {
	d := &decoder{dir: opts.Dir}
	g, err := d.model(data)
	if err != nil {
		var we *wireError
		if errors.As(err, &we) {
			return nil, fmt.Errorf("%w: the file is incomplete or not an ONNX model%s", err, sniff(data))
		}
		return nil, err
	}
	return g, nil
}

// sniff names a few common non-ONNX formats people pass by mistake.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return " (it is a zip archive; a PyTorch checkpoint must be exported with torch.onnx.export first)"
	case bytes.HasPrefix(data, []byte("\x89HDF")):
		return " (it is an HDF5 file, e.g. a Keras model; convert it with tf2onnx first)"
	case bytes.HasPrefix(data, []byte("ir_version")) || bytes.HasPrefix(data, []byte("<")):
		return " (it looks like text; effc reads the binary protobuf form)"
	}
	return ""
}

// decoder holds decoding state.
type decoder struct {
	dir string
	// raw skips canonicalization (upgrade); the differential test compares
	// nodes as the file spells them.
	raw bool
}

// ModelProto field numbers.
const (
	mpIRVersion       = 1
	mpProducerName    = 2
	mpProducerVersion = 3
	mpDocString       = 6
	mpGraph           = 7
	mpOpsetImport     = 8
	mpMetadataProps   = 14
)

func (d *decoder) model(data []byte) (*ir.Graph, error) {
	r := newReader(data, 0, "ModelProto")
	var (
		irVersion           uint64
		producer, prodVer   string
		doc                 string
		graph               *msgReader
		opsets              = map[string]int64{}
		metadata            map[string]string
		producerSet, verSet bool
	)
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch f.num {
		case mpIRVersion:
			if irVersion, err = r.varint(f); err != nil {
				return nil, err
			}
		case mpProducerName:
			producer, err = r.str(f)
			producerSet = true
		case mpProducerVersion:
			prodVer, err = r.str(f)
			verSet = true
		case mpDocString:
			doc, err = r.str(f)
		case mpGraph:
			graph, err = r.sub(f, "GraphProto")
		case mpOpsetImport:
			var s *msgReader
			if s, err = r.sub(f, "OperatorSetIdProto"); err != nil {
				return nil, err
			}
			domain, version, err := opsetID(s)
			if err != nil {
				return nil, err
			}
			if domain == "ai.onnx" {
				domain = ""
			}
			if old, dup := opsets[domain]; dup && old != version {
				return nil, fmt.Errorf("opset_import lists domain %q twice (versions %d and %d); keep one", domain, old, version)
			}
			opsets[domain] = version
		case mpMetadataProps:
			k, v, err := stringPair(r, f)
			if err != nil {
				return nil, err
			}
			if metadata == nil {
				metadata = map[string]string{}
			}
			metadata[k] = v
		}
		if err != nil {
			return nil, err
		}
	}
	if graph == nil {
		return nil, errors.New("model has no graph: the file is not an ONNX model (or an empty one)")
	}
	g, err := d.graph(graph)
	if err != nil {
		return nil, err
	}
	opset, ok := opsets[""]
	switch {
	case !ok && irVersion < 3:
		opset = 1 // IR versions before 3 had no opset_import and meant opset 1
		g.SourceOpset = opset
	case !ok:
		for _, n := range g.Nodes {
			if n.Domain == "" {
				return nil, fmt.Errorf("%s: the model imports no ai.onnx opset (opset_import has no entry for domain \"\"); re-export it with one", n)
			}
		}
		opset = ir.CanonicalOpset // no ai.onnx node: nothing to upgrade
	case opset < 1:
		return nil, fmt.Errorf("model imports ai.onnx opset %d; opsets start at 1", opset)
	default:
		g.SourceOpset = opset
	}
	g.IRVersion = int64(irVersion)
	g.Doc = doc
	g.Metadata = metadata
	switch {
	case producerSet && verSet && prodVer != "":
		g.Producer = producer + " " + prodVer
	case producerSet:
		g.Producer = producer
	}
	if !d.raw {
		if err := upgrade(g, opset); err != nil {
			return nil, err
		}
	}
	g.Opsets = opsets
	g.Opsets[""] = max(opset, ir.CanonicalOpset)
	return g, nil
}

// opsetID decodes an OperatorSetIdProto (domain 1, version 2).
func opsetID(r *msgReader) (domain string, version int64, err error) {
	for {
		f, ok, err := r.next()
		if err != nil {
			return "", 0, err
		}
		if !ok {
			return domain, version, nil
		}
		switch f.num {
		case 1:
			domain, err = r.str(f)
		case 2:
			var v uint64
			v, err = r.varint(f)
			version = int64(v)
		}
		if err != nil {
			return "", 0, err
		}
	}
}

// GraphProto field numbers.
const (
	gpNode              = 1
	gpName              = 2
	gpInitializer       = 5
	gpDocString         = 10
	gpInput             = 11
	gpOutput            = 12
	gpValueInfo         = 13
	gpSparseInitializer = 15
)

// valueInfo is a decoded ValueInfoProto.
type valueInfo struct {
	name string
	typ  ir.Type
}

// rawNode is a decoded NodeProto before its inputs are resolved.
type rawNode struct {
	node    *ir.Node
	inputs  []string
	outputs []string
}

func (d *decoder) graph(r *msgReader) (*ir.Graph, error) {
	g := &ir.Graph{}
	var (
		inputs, outputs []valueInfo
		valueTypes      = map[string]ir.Type{}
		nodes           []*rawNode
		byName          = map[string]*ir.Value{}
	)
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch f.num {
		case gpNode:
			s, err := r.sub(f, "NodeProto")
			if err != nil {
				return nil, err
			}
			n, err := d.node(s, len(nodes))
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		case gpName:
			if g.Name, err = r.str(f); err != nil {
				return nil, err
			}
		case gpDocString:
			if g.Doc, err = r.str(f); err != nil {
				return nil, err
			}
		case gpInitializer:
			s, err := r.sub(f, "TensorProto")
			if err != nil {
				return nil, err
			}
			name, t, err := d.tensor(s)
			if err != nil {
				if name == "" {
					return nil, fmt.Errorf("initializer %d: %w", len(g.Consts), err)
				}
				return nil, fmt.Errorf("initializer %q: %w", name, err)
			}
			if name == "" {
				return nil, fmt.Errorf("initializer %d has no name; every initializer needs one", len(g.Consts))
			}
			if _, dup := byName[name]; dup {
				return nil, fmt.Errorf("initializer %q is defined twice; rename one", name)
			}
			v := constValue(name, t)
			byName[name] = v
			g.Consts = append(g.Consts, v)
		case gpSparseInitializer:
			return nil, errors.New("graph has a sparse_initializer; effc supports dense initializers only (densify it with onnx.numpy_helper first)")
		case gpInput, gpOutput, gpValueInfo:
			s, err := r.sub(f, "ValueInfoProto")
			if err != nil {
				return nil, err
			}
			vi, err := valueInfoOf(s)
			if err != nil {
				return nil, err
			}
			switch f.num {
			case gpInput:
				inputs = append(inputs, vi)
			case gpOutput:
				outputs = append(outputs, vi)
			default:
				valueTypes[vi.name] = vi.typ
			}
		}
	}

	// Graph inputs; those that are also initializers (IR version < 4
	// models list every weight as an input) stay constants.
	for _, in := range inputs {
		if in.name == "" {
			return nil, errors.New("graph input has an empty name")
		}
		if v, ok := byName[in.name]; ok {
			if v.IsConst() {
				continue
			}
			return nil, fmt.Errorf("graph input %q is listed twice", in.name)
		}
		v := &ir.Value{Name: in.name, Type: in.typ}
		byName[in.name] = v
		g.Inputs = append(g.Inputs, v)
	}
	for _, vi := range outputs {
		if _, ok := valueTypes[vi.name]; !ok {
			valueTypes[vi.name] = vi.typ
		}
	}

	// Define every node output (and Constant node) first, so nodes may
	// appear in any order; TopoSort orders them afterwards.
	usedNames := map[string]bool{}
	for _, rn := range nodes {
		if rn.node.Name != "" {
			usedNames[rn.node.Name] = true
		}
	}
	for i, rn := range nodes {
		n := rn.node
		if n.Name == "" {
			n.Name = uniqueName(usedNames, fmt.Sprintf("%s_%d", n.Op, i))
			usedNames[n.Name] = true
		} else if i > 0 && nodeNameTaken(nodes[:i], n.Name) {
			n.Name = uniqueName(usedNames, n.Name)
			usedNames[n.Name] = true
		}
		if n.Op == "Constant" && n.Domain == "" {
			v, err := constantNode(rn)
			if err != nil {
				return nil, err
			}
			if _, dup := byName[v.Name]; dup {
				return nil, fmt.Errorf("%s: output %q is already defined elsewhere; every value must have one producer", n, v.Name)
			}
			byName[v.Name] = v
			g.Consts = append(g.Consts, v)
			continue
		}
		n.Outputs = make([]*ir.Value, len(rn.outputs))
		for j, name := range rn.outputs {
			if name == "" {
				continue
			}
			if _, dup := byName[name]; dup {
				return nil, fmt.Errorf("%s: output %q is already defined elsewhere; every value must have one producer", n, name)
			}
			v := &ir.Value{Name: name, Type: valueTypes[name], Producer: n}
			byName[name] = v
			n.Outputs[j] = v
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, rn := range nodes {
		n := rn.node
		if n.Op == "Constant" && n.Domain == "" {
			continue
		}
		n.Inputs = make([]*ir.Value, len(rn.inputs))
		for j, name := range rn.inputs {
			if name == "" {
				continue // omitted optional input
			}
			v, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("%s: input %d %q is not a graph input, initializer or node output; the model is malformed", n, j, name)
			}
			n.Inputs[j] = v
		}
	}
	for _, vi := range outputs {
		v, ok := byName[vi.name]
		if !ok {
			return nil, fmt.Errorf("graph output %q is not produced by any node, input or initializer; the model is malformed", vi.name)
		}
		if v.Type.DType == ir.Undefined && !v.Type.Ranked {
			v.Type = vi.typ
		}
		g.Outputs = append(g.Outputs, v)
	}
	if err := g.TopoSort(); err != nil {
		return nil, fmt.Errorf("%w; the model is malformed", err)
	}
	return g, nil
}

func nodeNameTaken(nodes []*rawNode, name string) bool {
	for _, rn := range nodes {
		if rn.node.Name == name {
			return true
		}
	}
	return false
}

// uniqueName returns base, or base.1, base.2, ... whichever is unused.
func uniqueName(used map[string]bool, base string) string {
	if !used[base] {
		return base
	}
	for i := 1; ; i++ {
		s := fmt.Sprintf("%s.%d", base, i)
		if !used[s] {
			return s
		}
	}
}

// constValue wraps a constant tensor as a value.
func constValue(name string, t *ir.Tensor) *ir.Value {
	return &ir.Value{Name: name, Type: ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)), Const: t}
}

// constantNode turns a Constant node into a constant value.
func constantNode(rn *rawNode) (*ir.Value, error) {
	n := rn.node
	if len(rn.outputs) != 1 || rn.outputs[0] == "" {
		return nil, fmt.Errorf("%s: a Constant must have exactly one named output, has %d", n, len(rn.outputs))
	}
	if len(rn.inputs) != 0 {
		return nil, fmt.Errorf("%s: a Constant takes no inputs, has %d", n, len(rn.inputs))
	}
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("%s: a Constant needs exactly one value attribute, has %d", n, len(n.Attrs))
	}
	var t *ir.Tensor
	for name, a := range n.Attrs {
		switch {
		case name == "value" && a.Kind == ir.AttrTensor:
			t = a.Tensor
		case name == "value_float" && a.Kind == ir.AttrFloat:
			t = ir.Scalar(a.Float)
		case name == "value_floats" && a.Kind == ir.AttrFloats:
			t = ir.FromFloat32([]int64{int64(len(a.Floats))}, a.Floats)
		case name == "value_int" && a.Kind == ir.AttrInt:
			t = ir.Scalar(a.Int)
		case name == "value_ints" && a.Kind == ir.AttrInts:
			t = ir.FromInt64([]int64{int64(len(a.Ints))}, a.Ints)
		case name == "value_string" && a.Kind == ir.AttrString:
			t = &ir.Tensor{DType: ir.String, Shape: []int64{}, Data: []string{a.String}}
		case name == "value_strings" && a.Kind == ir.AttrStrings:
			t = &ir.Tensor{DType: ir.String, Shape: []int64{int64(len(a.Strings))}, Data: a.Strings}
		default:
			return nil, fmt.Errorf("%s: unexpected attribute %q of kind %s; want one of value, value_float(s), value_int(s), value_string(s)", n, name, a.Kind)
		}
	}
	return constValue(rn.outputs[0], t), nil
}

// valueInfoOf decodes a ValueInfoProto (name 1, type 2).
func valueInfoOf(r *msgReader) (valueInfo, error) {
	var vi valueInfo
	var typ *msgReader
	for {
		f, ok, err := r.next()
		if err != nil {
			return vi, err
		}
		if !ok {
			break
		}
		switch f.num {
		case 1:
			vi.name, err = r.str(f)
		case 2:
			typ, err = r.sub(f, "TypeProto")
		}
		if err != nil {
			return vi, err
		}
	}
	if typ != nil {
		t, err := typeOf(typ)
		if err != nil {
			return vi, fmt.Errorf("value %q: %w", vi.name, err)
		}
		vi.typ = t
	}
	return vi, nil
}

// typeOf decodes a TypeProto; only tensor types are representable.
func typeOf(r *msgReader) (ir.Type, error) {
	var t ir.Type
	for {
		f, ok, err := r.next()
		if err != nil {
			return t, err
		}
		if !ok {
			return t, nil
		}
		switch f.num {
		case 1: // tensor_type
			s, err := r.sub(f, "TypeProto.Tensor")
			if err != nil {
				return t, err
			}
			if t, err = tensorTypeOf(s); err != nil {
				return t, err
			}
		case 4:
			return t, errors.New("sequence types are not supported; effc handles tensor values only")
		case 5:
			return t, errors.New("map types are not supported; effc handles tensor values only")
		case 8:
			return t, errors.New("sparse tensor types are not supported; effc handles dense tensors only")
		case 9:
			return t, errors.New("optional types are not supported; effc handles tensor values only")
		}
	}
}

// tensorTypeOf decodes TypeProto.Tensor (elem_type 1, shape 2).
func tensorTypeOf(r *msgReader) (ir.Type, error) {
	var t ir.Type
	for {
		f, ok, err := r.next()
		if err != nil {
			return t, err
		}
		if !ok {
			return t, nil
		}
		switch f.num {
		case 1:
			v, err := r.varint(f)
			if err != nil {
				return t, err
			}
			dt := ir.DType(v)
			if v > 255 || (v != 0 && !dt.Valid()) {
				return t, fmt.Errorf("unsupported elem_type %d (effc knows ONNX types 1-20)", int64(v))
			}
			t.DType = dt
		case 2:
			s, err := r.sub(f, "TensorShapeProto")
			if err != nil {
				return t, err
			}
			t.Ranked = true
			t.Shape = ir.Shape{}
			for {
				g, ok, err := s.next()
				if err != nil {
					return t, err
				}
				if !ok {
					break
				}
				if g.num != 1 {
					continue
				}
				ds, err := s.sub(g, "TensorShapeProto.Dimension")
				if err != nil {
					return t, err
				}
				dim, err := dimOf(ds)
				if err != nil {
					return t, err
				}
				t.Shape = append(t.Shape, dim)
			}
		}
	}
}

// dimOf decodes a TensorShapeProto.Dimension (dim_value 1, dim_param 2).
func dimOf(r *msgReader) (ir.Dim, error) {
	dim := ir.Unknown()
	for {
		f, ok, err := r.next()
		if err != nil {
			return dim, err
		}
		if !ok {
			return dim, nil
		}
		switch f.num {
		case 1:
			v, err := r.varint(f)
			if err != nil {
				return dim, err
			}
			if int64(v) < 0 {
				return dim, fmt.Errorf("negative dimension %d in shape", int64(v))
			}
			dim = ir.D(int64(v))
		case 2:
			p, err := r.str(f)
			if err != nil {
				return dim, err
			}
			if p != "" {
				dim = ir.Sym(p)
			}
		}
	}
}

// NodeProto field numbers.
const (
	npInput     = 1
	npOutput    = 2
	npName      = 3
	npOpType    = 4
	npAttribute = 5
	npDocString = 6
	npDomain    = 7
)

// node decodes a NodeProto; i is its index in the graph, used to name it in
// errors when it has no name.
func (d *decoder) node(r *msgReader, i int) (*rawNode, error) {
	n := &ir.Node{}
	rn := &rawNode{node: n}
	var attrs []*msgReader
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var s string
		switch f.num {
		case npInput:
			s, err = r.str(f)
			rn.inputs = append(rn.inputs, s)
		case npOutput:
			s, err = r.str(f)
			rn.outputs = append(rn.outputs, s)
		case npName:
			n.Name, err = r.str(f)
		case npOpType:
			n.Op, err = r.str(f)
		case npDomain:
			n.Domain, err = r.str(f)
		case npDocString:
			n.Doc, err = r.str(f)
		case npAttribute:
			var a *msgReader
			a, err = r.sub(f, "AttributeProto")
			attrs = append(attrs, a)
		}
		if err != nil {
			return nil, err
		}
	}
	if n.Domain == "ai.onnx" {
		n.Domain = ""
	}
	label := n.String()
	if n.Name == "" {
		label = fmt.Sprintf("node %q (%s)", fmt.Sprintf("%s_%d", n.Op, i), n.Op)
	}
	if n.Op == "" {
		return nil, fmt.Errorf("%s has no op_type; the model is malformed", label)
	}
	for _, a := range attrs {
		name, attr, err := d.attribute(a)
		if errors.Is(err, errSubgraph) {
			return nil, fmt.Errorf("%s: %w (attribute %q)", label, err, name)
		}
		if err != nil {
			if name != "" {
				return nil, fmt.Errorf("%s: attribute %q: %w", label, name, err)
			}
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		if n.HasAttr(name) {
			return nil, fmt.Errorf("%s: attribute %q is given twice; keep one", label, name)
		}
		n.SetAttr(name, attr)
	}
	return rn, nil
}

// AttributeProto field numbers.
const (
	apName        = 1
	apF           = 2
	apI           = 3
	apS           = 4
	apT           = 5
	apG           = 6
	apFloats      = 7
	apInts        = 8
	apStrings     = 9
	apTensors     = 10
	apGraphs      = 11
	apTP          = 14
	apTypeProtos  = 15
	apType        = 20
	apRefAttrName = 21
	apSparse      = 22
	apSparses     = 23
)

// kindOfField maps an attribute value field to its kind, for old models
// that leave AttributeProto.type unset.
var kindOfField = map[int]ir.AttrKind{
	apF: ir.AttrFloat, apI: ir.AttrInt, apS: ir.AttrString, apT: ir.AttrTensor, apG: ir.AttrGraph,
	apFloats: ir.AttrFloats, apInts: ir.AttrInts, apStrings: ir.AttrStrings, apTensors: ir.AttrTensors,
	apGraphs: ir.AttrGraphs, apTP: ir.AttrTypeProto, apTypeProtos: ir.AttrTypeProtos,
	apSparse: ir.AttrSparse, apSparses: ir.AttrSparses,
}

// errSubgraph refuses graph-valued attributes (If/Loop/Scan bodies).
var errSubgraph = errors.New("subgraph attributes are not supported (control flow); effc compiles straight-line graphs only: " +
	"export the model without If/Loop/Scan or fold them with onnx-simplifier")

// fixedFloat converts fixed32 bits to a float32.
func fixedFloat(u uint64) float32 { return math.Float32frombits(uint32(u)) }

// attribute decodes an AttributeProto.
func (d *decoder) attribute(r *msgReader) (name string, a *ir.Attr, err error) {
	a = &ir.Attr{}
	var (
		kind    ir.AttrKind
		present = map[int]bool{}
		tensors []*msgReader
		ref     string
	)
	for {
		f, ok, err := r.next()
		if err != nil {
			return name, nil, err
		}
		if !ok {
			break
		}
		num := int(f.num)
		if _, isValue := kindOfField[num]; isValue {
			present[num] = true
		}
		switch num {
		case apName:
			name, err = r.str(f)
		case apType:
			var v uint64
			v, err = r.varint(f)
			kind = ir.AttrKind(v)
			if v > 14 {
				err = fmt.Errorf("unknown attribute type %d", v)
			}
		case apRefAttrName:
			ref, err = r.str(f)
		case apF:
			if f.typ != 5 {
				err = r.wrongType(f)
			}
			a.Float = fixedFloat(f.u)
		case apI:
			var v uint64
			v, err = r.varint(f)
			a.Int = int64(v)
		case apS:
			a.String, err = r.str(f)
		case apT, apTensors:
			var s *msgReader
			s, err = r.sub(f, "TensorProto")
			if num == apT {
				tensors = []*msgReader{s}
			} else {
				tensors = append(tensors, s)
			}
		case apFloats:
			err = r.packedFixed(f, 4, func(v uint64) { a.Floats = append(a.Floats, fixedFloat(v)) })
		case apInts:
			err = r.packedVarints(f, func(v uint64) { a.Ints = append(a.Ints, int64(v)) })
		case apStrings:
			var s string
			s, err = r.str(f)
			a.Strings = append(a.Strings, s)
		}
		if err != nil {
			return name, nil, err
		}
	}
	if name == "" {
		return "", nil, errors.New("an attribute has no name; the model is malformed")
	}
	if ref != "" {
		return name, nil, fmt.Errorf("refers to function attribute %q (ref_attr_name), which is only valid inside a FunctionProto; inline the function first", ref)
	}
	if kind == ir.AttrUndefined {
		// Old models omit the type: infer it from the one value field set.
		for num := range present {
			if kind != ir.AttrUndefined {
				return name, nil, errors.New("has no type and several value fields; set AttributeProto.type")
			}
			kind = kindOfField[num]
		}
		if kind == ir.AttrUndefined {
			return name, nil, errors.New("has no type and no value; set AttributeProto.type")
		}
	}
	a.Kind = kind
	switch kind {
	case ir.AttrGraph, ir.AttrGraphs:
		return name, nil, errSubgraph
	case ir.AttrSparse, ir.AttrSparses:
		return name, nil, errors.New("sparse tensor attributes are not supported; store the value densely")
	case ir.AttrTypeProto, ir.AttrTypeProtos:
		return name, nil, errors.New("type attributes are not supported")
	case ir.AttrTensor, ir.AttrTensors:
		for _, s := range tensors {
			tname, t, err := d.tensor(s)
			if err != nil {
				if tname != "" {
					return name, nil, fmt.Errorf("tensor %q: %w", tname, err)
				}
				return name, nil, err
			}
			a.Tensors = append(a.Tensors, t)
		}
		if kind == ir.AttrTensor {
			if len(a.Tensors) != 1 {
				return name, nil, errors.New("tensor attribute has no tensor value")
			}
			a.Tensor, a.Tensors = a.Tensors[0], nil
		}
	}
	return name, a, nil
}
