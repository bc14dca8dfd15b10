package ir

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// WeightMode selects how Print writes the data of constant tensors.
type WeightMode int

const (
	// WeightsElided (the default) prints constants and tensor attributes of
	// more than MaxInlineElements elements as `elided <bytes>B sha256:<hash>`.
	WeightsElided WeightMode = iota
	// WeightsFull prints every element of every tensor, so that Parse gives
	// back a graph equal to the printed one.
	WeightsFull
)

// MaxInlineElements is the largest element count that WeightsElided still
// prints in full; larger tensors are elided.
const MaxInlineElements = 16

// PrintOptions controls Print and Format.
type PrintOptions struct {
	Weights WeightMode
}

// ElidedData is the Data of a Tensor parsed from an elided constant
// (`elided 1728B sha256:1f2e3d4c5b6a7980`). It records what the text said
// about the data, not the data itself: a graph holding such tensors can be
// printed (giving back the same text) and verified, but not executed or
// encoded. Tensor methods that read elements (Clone, Bytes, Hash,
// Float64At, ...) do not support it; check for it before calling them.
type ElidedData struct {
	Hash  string // content hash as Tensor.Hash prints it, "sha256:" + 16 hex digits
	Bytes int64  // size of the data in bytes (for strings: total string length)
}

// IsElided reports whether t's data was elided in the text it was parsed from.
func (t *Tensor) IsElided() bool {
	_, ok := t.Data.(ElidedData)
	return ok
}

// Format returns the text form of g. If g cannot be printed (see Print), the
// text ends with a line `# error: ...` saying why.
func Format(g *Graph, opts PrintOptions) string {
	var b strings.Builder
	if err := Print(&b, g, opts); err != nil {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return s + "# error: " + err.Error() + "\n"
	}
	return b.String()
}

// Print writes the text form of g to w; docs/ir.md describes it. The output
// is deterministic: constants in g.Consts order, nodes in g.Nodes order,
// attributes and metadata sorted by name. Print fails on graphs it cannot
// represent: attributes of graph, sparse or type kinds, tensors whose Data
// does not match their DType and shape, invalid dtypes, nil graph outputs.
// What it printed before the failure is written to w.
func Print(w io.Writer, g *Graph, opts PrintOptions) error {
	if g == nil {
		return fmt.Errorf("ir.Print: nil graph")
	}
	p := &printer{buf: bufio.NewWriter(w), opts: opts}
	err := p.graph(g)
	if werr := p.buf.Flush(); werr != nil && err == nil {
		err = werr
	}
	return err
}

type printer struct {
	buf  *bufio.Writer
	opts PrintOptions
}

func (p *printer) printf(format string, args ...any) { fmt.Fprintf(p.buf, format, args...) }

func (p *printer) graph(g *Graph) error {
	p.printf("effir 1\ngraph %s", quote(g.Name))
	if g.IRVersion != 0 {
		p.printf(" ir_version=%d", g.IRVersion)
	}
	if len(g.Opsets) > 0 {
		doms := make([]string, 0, len(g.Opsets))
		for d := range g.Opsets {
			doms = append(doms, d)
		}
		sort.Strings(doms)
		parts := make([]string, len(doms))
		for i, d := range doms {
			name := d
			if d == "" {
				name = "ai.onnx"
			}
			parts[i] = fmt.Sprintf("%s=%d", ident(name), g.Opsets[d])
		}
		p.printf(" opset{%s}", strings.Join(parts, ", "))
	}
	if g.SourceOpset != 0 {
		p.printf(" source_opset=%d", g.SourceOpset)
	}
	if g.Producer != "" {
		p.printf(" producer=%s", quote(g.Producer))
	}
	p.printf(" {\n")
	if g.Doc != "" {
		p.printf("  doc %s\n", quote(g.Doc))
	}
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.printf("  metadata %s = %s\n", quote(k), quote(g.Metadata[k]))
	}
	for i, v := range g.Inputs {
		if v == nil {
			return fmt.Errorf("ir.Print: graph input %d is nil", i)
		}
		t, err := typeSuffix(v.Type)
		if err != nil {
			return fmt.Errorf("ir.Print: input %s: %v", valueName(v.Name), err)
		}
		p.printf("  input %s%s\n", valueName(v.Name), t)
	}
	for i, v := range g.Consts {
		if v == nil || v.Const == nil {
			return fmt.Errorf("ir.Print: constant %d has no tensor", i)
		}
		if err := p.constLine(v); err != nil {
			return fmt.Errorf("ir.Print: constant %s: %v", valueName(v.Name), err)
		}
	}
	for _, n := range g.Nodes {
		if n == nil {
			return fmt.Errorf("ir.Print: nil node")
		}
		if err := p.node(n); err != nil {
			return fmt.Errorf("ir.Print: %s: %v", n, err)
		}
	}
	for i, v := range g.Outputs {
		if v == nil {
			return fmt.Errorf("ir.Print: graph output %d is nil", i)
		}
		p.printf("  output %s\n", valueName(v.Name))
	}
	p.printf("}\n")
	return nil
}

func (p *printer) constLine(v *Value) error {
	t := v.Const
	ty, err := typeSuffix(v.Type)
	if err != nil {
		return err
	}
	data, err := p.tensorData(t)
	if err != nil {
		return err
	}
	if constTypeMatches(v.Type, t) {
		p.printf("  const %s%s = %s\n", valueName(v.Name), ty, data)
		return nil
	}
	p.printf("  const %s%s = %s %s\n", valueName(v.Name), ty, tensorType(t), data)
	return nil
}

// constTypeMatches reports whether a constant's tensor dtype and shape can
// be read off its value's type, so the text need not repeat them.
func constTypeMatches(ty Type, t *Tensor) bool {
	if !ty.Ranked || ty.DType != t.DType || len(ty.Shape) != len(t.Shape) {
		return false
	}
	if ty.Shape == nil && t.Shape != nil || ty.Shape != nil && t.Shape == nil {
		return false
	}
	for i, d := range ty.Shape {
		if d.Param != "" || d.Size != t.Shape[i] || d.Size < 0 {
			return false
		}
	}
	return true
}

func (p *printer) node(n *Node) error {
	if len(n.Outputs) == 0 {
		p.printf("  ()")
	} else {
		p.printf("  ")
		for i, o := range n.Outputs {
			if i > 0 {
				p.printf(", ")
			}
			if o == nil {
				p.printf("_")
				continue
			}
			ty, err := typeSuffix(o.Type)
			if err != nil {
				return fmt.Errorf("output %s: %v", valueName(o.Name), err)
			}
			p.printf("%s%s", valueName(o.Name), ty)
		}
	}
	p.printf(" = ")
	if n.Domain != "" {
		p.printf("%s::", ident(n.Domain))
	}
	p.printf("%s(", ident(n.Op))
	for i, in := range n.Inputs {
		if i > 0 {
			p.printf(", ")
		}
		if in == nil {
			p.printf("_")
		} else {
			p.printf("%s", valueName(in.Name))
		}
	}
	p.printf(")")
	if len(n.Attrs) > 0 {
		p.printf(" {")
		for i, name := range n.SortedAttrNames() {
			if i > 0 {
				p.printf(", ")
			}
			s, err := p.attr(n.Attrs[name])
			if err != nil {
				return fmt.Errorf("attribute %s: %v", name, err)
			}
			p.printf("%s=%s", ident(name), s)
		}
		p.printf("}")
	}
	if n.Name != "" {
		p.printf("  @%s", bareOrQuoted(n.Name))
	}
	if n.Doc != "" {
		p.printf(" doc %s", quote(n.Doc))
	}
	p.printf("\n")
	return nil
}

func (p *printer) attr(a *Attr) (string, error) {
	if a == nil {
		return "", fmt.Errorf("nil attribute")
	}
	switch a.Kind {
	case AttrInt:
		return strconv.FormatInt(a.Int, 10), nil
	case AttrFloat:
		return floatAttr(a.Float), nil
	case AttrString:
		return quote(a.String), nil
	case AttrTensor:
		return p.tensorLit(a.Tensor)
	case AttrInts:
		if len(a.Ints) == 0 {
			return "ints[]", nil
		}
		parts := make([]string, len(a.Ints))
		for i, v := range a.Ints {
			parts[i] = strconv.FormatInt(v, 10)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case AttrFloats:
		if len(a.Floats) == 0 {
			return "floats[]", nil
		}
		parts := make([]string, len(a.Floats))
		for i, v := range a.Floats {
			parts[i] = floatAttr(v)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case AttrStrings:
		if len(a.Strings) == 0 {
			return "strings[]", nil
		}
		parts := make([]string, len(a.Strings))
		for i, v := range a.Strings {
			parts[i] = quote(v)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case AttrTensors:
		if len(a.Tensors) == 0 {
			return "tensors[]", nil
		}
		parts := make([]string, len(a.Tensors))
		for i, t := range a.Tensors {
			s, err := p.tensorLit(t)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("attributes of kind %s have no text form", a.Kind)
}

// tensorLit prints a self-describing tensor: `f32[2] [1, 2]`.
func (p *printer) tensorLit(t *Tensor) (string, error) {
	if t == nil {
		return "", fmt.Errorf("nil tensor")
	}
	data, err := p.tensorData(t)
	if err != nil {
		return "", err
	}
	return tensorType(t) + " " + data, nil
}

func tensorType(t *Tensor) string {
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return t.DType.String() + "[" + strings.Join(parts, ",") + "]"
}

var hashRe = regexp.MustCompile(`^sha256:[0-9a-f]+$`)

// tensorData prints the data part of a tensor literal: a scalar element, a
// bracketed row-major element list, or `elided <n>B sha256:<hash>`.
func (p *printer) tensorData(t *Tensor) (string, error) {
	if !t.DType.Valid() {
		return "", fmt.Errorf("tensor has invalid dtype %s", t.DType)
	}
	if e, ok := t.Data.(ElidedData); ok {
		if !hashRe.MatchString(e.Hash) || e.Bytes < 0 {
			return "", fmt.Errorf("elided tensor has malformed hash %q or size %d", e.Hash, e.Bytes)
		}
		if _, err := CheckedNumElements(t.Shape); err != nil {
			return "", err
		}
		return fmt.Sprintf("elided %dB %s", e.Bytes, e.Hash), nil
	}
	n, err := checkTensor(t)
	if err != nil {
		return "", err
	}
	if p.opts.Weights != WeightsFull && n > MaxInlineElements {
		size := t.ByteSize()
		if s, ok := t.Data.([]string); ok {
			size = 0
			for _, v := range s {
				size += int64(len(v))
			}
		}
		return fmt.Sprintf("elided %dB %s", size, t.Hash()), nil
	}
	if len(t.Shape) == 0 {
		return formatElem(t, 0), nil
	}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatElem(t, i))
	}
	b.WriteString("]")
	return b.String(), nil
}

// checkTensor verifies that t.Data is the Go slice type its DType calls for,
// with one element per shape position, and returns the element count.
func checkTensor(t *Tensor) (int, error) {
	n, err := CheckedNumElements(t.Shape)
	if err != nil {
		return 0, err
	}
	want := fmt.Sprintf("%T", MakeSlice(t.DType, 0))
	got := fmt.Sprintf("%T", t.Data)
	if got != want {
		return 0, fmt.Errorf("%s tensor holds %s data, want %s", t.DType, got, want)
	}
	if l := t.DataLen(); int64(l) != n {
		return 0, fmt.Errorf("%s tensor has %d elements, shape %v wants %d", t.DType, l, t.Shape, n)
	}
	return int(n), nil
}

// formatElem prints element i of a checked tensor.
func formatElem(t *Tensor, i int) string {
	switch d := t.Data.(type) {
	case []float32:
		return formatF32(d[i])
	case []float64:
		return formatF64(d[i])
	case []int8:
		return strconv.FormatInt(int64(d[i]), 10)
	case []int16:
		return strconv.FormatInt(int64(d[i]), 10)
	case []int32:
		return strconv.FormatInt(int64(d[i]), 10)
	case []int64:
		return strconv.FormatInt(d[i], 10)
	case []uint8:
		if t.DType.IsFP8() {
			return formatSmallFloat(t.DType, uint32(d[i]))
		}
		return strconv.FormatUint(uint64(d[i]), 10)
	case []uint16:
		if t.DType == Float16 || t.DType == BFloat16 {
			return formatSmallFloat(t.DType, uint32(d[i]))
		}
		return strconv.FormatUint(uint64(d[i]), 10)
	case []uint32:
		return strconv.FormatUint(uint64(d[i]), 10)
	case []uint64:
		return strconv.FormatUint(d[i], 10)
	case []bool:
		return strconv.FormatBool(d[i])
	case []string:
		return quote(d[i])
	case []complex64:
		return "(" + formatF32(real(d[i])) + ", " + formatF32(imag(d[i])) + ")"
	case []complex128:
		return "(" + formatF64(real(d[i])) + ", " + formatF64(imag(d[i])) + ")"
	}
	return "?"
}

// Canonical NaN bit patterns: the ones `nan` parses to. Other NaNs print
// with their bits, `nan:0x7fc00001`.
const (
	canonNaN32 = 0x7fc00000
	canonNaN64 = 0x7ff8000000000001 // math.NaN()
)

func formatF32(v float32) string {
	switch {
	case v != v:
		if b := math.Float32bits(v); b != canonNaN32 {
			return fmt.Sprintf("nan:0x%08x", b)
		}
		return "nan"
	case math.IsInf(float64(v), 1):
		return "inf"
	case math.IsInf(float64(v), -1):
		return "-inf"
	}
	return strconv.FormatFloat(float64(v), 'g', -1, 32)
}

func formatF64(v float64) string {
	switch {
	case v != v:
		if b := math.Float64bits(v); b != canonNaN64 {
			return fmt.Sprintf("nan:0x%016x", b)
		}
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// decodeSmall decodes the bits of an f16, bf16 or fp8 element.
func decodeSmall(dt DType, bits uint32) float32 {
	switch dt {
	case Float16:
		return Float16ToFloat32(uint16(bits))
	case BFloat16:
		return BFloat16ToFloat32(uint16(bits))
	}
	return FP8ToFloat32(dt, uint8(bits))
}

// encodeSmall rounds f to the nearest f16, bf16 or fp8 bit pattern.
func encodeSmall(dt DType, f float32) uint32 {
	switch dt {
	case Float16:
		return uint32(Float32ToFloat16(f))
	case BFloat16:
		return uint32(Float32ToBFloat16(f))
	}
	return uint32(Float32ToFP8(dt, f, false))
}

// formatSmallFloat prints an f16, bf16 or fp8 element as its decoded value,
// which parses back to the same bits; NaNs other than the one `nan` encodes
// to print their bits (`nan:0x7e01`).
func formatSmallFloat(dt DType, bits uint32) string {
	f := decodeSmall(dt, bits)
	if f != f {
		if bits == encodeSmall(dt, float32(math.NaN())) {
			return "nan"
		}
		return fmt.Sprintf("nan:0x%0*x", dt.Size()*2, bits)
	}
	return formatF32(f)
}

// floatAttr prints a float attribute so it never reads as an int: `1.0`.
func floatAttr(v float32) string {
	s := formatF32(v)
	if strings.Trim(s, "-0123456789") == "" {
		s += ".0"
	}
	return s
}

// typeSuffix prints ` : f32[N,3]` (with quantization), or "" for Type{}.
func typeSuffix(t Type) (string, error) {
	if t.DType == Undefined && !t.Ranked && t.Quant == nil {
		return "", nil
	}
	s, err := formatType(t)
	if err != nil {
		return "", err
	}
	return " : " + s, nil
}

func formatType(t Type) (string, error) {
	if t.DType != Undefined && !t.DType.Valid() {
		return "", fmt.Errorf("invalid dtype %s", t.DType)
	}
	var b strings.Builder
	b.WriteString(t.DType.String())
	if !t.Ranked {
		b.WriteString("[*]")
	} else {
		b.WriteString("[")
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteString(",")
			}
			switch {
			case d.Size >= 0:
				b.WriteString(strconv.FormatInt(d.Size, 10))
			case d.Param != "":
				b.WriteString(ident(d.Param))
			default:
				b.WriteString("?")
			}
		}
		b.WriteString("]")
	}
	if q := t.Quant; q != nil {
		b.WriteString(" quant(scale=")
		if len(q.Scale) == 1 {
			b.WriteString(formatF32(q.Scale[0]))
		} else {
			parts := make([]string, len(q.Scale))
			for i, v := range q.Scale {
				parts[i] = formatF32(v)
			}
			b.WriteString("[" + strings.Join(parts, ", ") + "]")
		}
		if len(q.ZeroPoint) == 1 {
			b.WriteString(", zp=" + strconv.FormatInt(int64(q.ZeroPoint[0]), 10))
		} else if len(q.ZeroPoint) > 1 {
			parts := make([]string, len(q.ZeroPoint))
			for i, v := range q.ZeroPoint {
				parts[i] = strconv.FormatInt(int64(v), 10)
			}
			b.WriteString(", zp=[" + strings.Join(parts, ", ") + "]")
		}
		if len(q.Scale) > 1 || q.Axis != 0 {
			b.WriteString(", axis=" + strconv.Itoa(q.Axis))
		}
		b.WriteString(")")
	}
	return b.String(), nil
}

func quote(s string) string { return strconv.Quote(s) }

// isIdent reports whether s lexes as one identifier: [A-Za-z_][A-Za-z0-9_.]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || i > 0 && (isDigit(c) || c == '.')) {
			return false
		}
	}
	return true
}

// ident prints s bare when it is an identifier, else quoted.
func ident(s string) string {
	if isIdent(s) {
		return s
	}
	return quote(s)
}

// bareOrQuoted prints a value or node name (after % or @): bare when every
// character is in [A-Za-z0-9_.:/-] and it does not end in ':', else quoted.
func bareOrQuoted(s string) string {
	if s == "" || s[len(s)-1] == ':' {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return quote(s)
		}
	}
	return s
}

func valueName(s string) string { return "%" + bareOrQuoted(s) }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isNameChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '.' || c == ':' || c == '/' || c == '-'
}
