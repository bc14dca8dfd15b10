package ir

import "fmt"

// AttrKind is an attribute's kind; values match ONNX AttributeProto.AttributeType.
type AttrKind uint8

// Attribute kinds. Graph-valued attributes (If/Loop/Scan bodies) are not
// representable: the frontend refuses them with an error naming the node.
const (
	AttrUndefined  AttrKind = 0
	AttrFloat      AttrKind = 1
	AttrInt        AttrKind = 2
	AttrString     AttrKind = 3
	AttrTensor     AttrKind = 4
	AttrGraph      AttrKind = 5
	AttrFloats     AttrKind = 6
	AttrInts       AttrKind = 7
	AttrStrings    AttrKind = 8
	AttrTensors    AttrKind = 9
	AttrGraphs     AttrKind = 10
	AttrSparse     AttrKind = 11
	AttrSparses    AttrKind = 12
	AttrTypeProto  AttrKind = 13
	AttrTypeProtos AttrKind = 14
)

// Attr is one attribute value; the field that Kind names is set.
type Attr struct {
	Kind    AttrKind
	Float   float32
	Int     int64
	String  string // bytes; ONNX strings are byte strings
	Tensor  *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
	Tensors []*Tensor
}

// Attribute constructors.
func IntAttr(v int64) *Attr         { return &Attr{Kind: AttrInt, Int: v} }
func FloatAttr(v float32) *Attr     { return &Attr{Kind: AttrFloat, Float: v} }
func StringAttr(v string) *Attr     { return &Attr{Kind: AttrString, String: v} }
func IntsAttr(v ...int64) *Attr     { return &Attr{Kind: AttrInts, Ints: v} }
func FloatsAttr(v ...float32) *Attr { return &Attr{Kind: AttrFloats, Floats: v} }
func StringsAttr(v ...string) *Attr { return &Attr{Kind: AttrStrings, Strings: v} }
func TensorAttr(v *Tensor) *Attr    { return &Attr{Kind: AttrTensor, Tensor: v} }

// AttrInt returns the int attribute name, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInt {
		return a.Int
	}
	return def
}

// AttrFloat returns the float attribute name, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloat {
		return a.Float
	}
	return def
}

// AttrString returns the string attribute name, or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrString {
		return a.String
	}
	return def
}

// AttrInts returns the ints attribute name, or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInts {
		return a.Ints
	}
	return def
}

// AttrFloats returns the floats attribute name, or def when absent.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloats {
		return a.Floats
	}
	return def
}

// AttrStrings returns the strings attribute name, or def when absent.
func (n *Node) AttrStrings(name string, def []string) []string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrStrings {
		return a.Strings
	}
	return def
}

// AttrTensor returns the tensor attribute name, or nil when absent.
func (n *Node) AttrTensor(name string) *Tensor {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrTensor {
		return a.Tensor
	}
	return nil
}

// HasAttr reports whether the node carries attribute name.
func (n *Node) HasAttr(name string) bool { _, ok := n.Attrs[name]; return ok }

// SetAttr sets attribute name, allocating the map when needed.
func (n *Node) SetAttr(name string, a *Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[name] = a
}

var attrKindNames = map[AttrKind]string{
	AttrFloat: "float", AttrInt: "int", AttrString: "string", AttrTensor: "tensor", AttrGraph: "graph",
	AttrFloats: "floats", AttrInts: "ints", AttrStrings: "strings", AttrTensors: "tensors", AttrGraphs: "graphs",
	AttrSparse: "sparse_tensor", AttrSparses: "sparse_tensors", AttrTypeProto: "type_proto", AttrTypeProtos: "type_protos",
}

// String names the kind as ONNX does ("ints", "float").
func (k AttrKind) String() string {
	if s, ok := attrKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("attrkind(%d)", uint8(k))
}
