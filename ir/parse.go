package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads the text form that Print writes (docs/ir.md) and builds the
// graph. Errors carry the position: `line 7:12: expected ':' after value
// name %x, got '='`. Values may be used before the line that defines them;
// every use must be defined somewhere, nothing may be defined twice, and
// the nodes must not form a cycle. Nodes keep their text order when it is
// topological (otherwise they are sorted with Graph.TopoSort). Node
// outputs get Producer set. Elided constants get ElidedData as their data.
func Parse(src []byte) (g *Graph, err error) {
	p := &parser{src: src, line: 1, col: 1}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			g, err = nil, pe
		}
	}()
	p.next()
	return p.file(), nil
}

type parseError struct{ msg string }

func (e parseError) Error() string { return e.msg }

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tIdent  // [A-Za-z_][A-Za-z0-9_.]*
	tNumber // starts with a digit, or a sign and a digit
	tString // "..." with Go escapes; text is the unquoted value
	tValue  // %name; text is the name
	tAt     // @name; text is the name
	tPunct  // ( ) [ ] { } , = : :: ? *  -
)

type token struct {
	kind      tokKind
	text      string
	line, col int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tNewline:
		return "end of line"
	case tIdent:
		return strconv.Quote(t.text)
	case tNumber:
		return "number " + t.text
	case tString:
		return "string " + strconv.Quote(t.text)
	case tValue:
		return valueName(t.text)
	case tAt:
		return "@" + bareOrQuoted(t.text)
	}
	return "'" + t.text + "'"
}

type useSite struct{ line, col int }

type parser struct {
	src       []byte
	pos       int
	line, col int
	tok       token

	g       *Graph
	values  map[string]*Value
	defined map[string]useSite
	pending map[string]useSite // used before defined: first use
}

func (p *parser) failAt(line, col int, format string, args ...any) {
	panic(parseError{fmt.Sprintf("line %d:%d: %s", line, col, fmt.Sprintf(format, args...))})
}

func (p *parser) fail(format string, args ...any) {
	p.failAt(p.tok.line, p.tok.col, format, args...)
}

// expected fails with "expected <what>, got <current token>".
func (p *parser) expected(what string) {
	p.fail("expected %s, got %s", what, p.tok)
}

// ---- lexer ----

func (p *parser) peekByte(off int) byte {
	if p.pos+off < len(p.src) {
		return p.src[p.pos+off]
	}
	return 0
}

func (p *parser) advance(n int) {
	for i := 0; i < n && p.pos < len(p.src); i++ {
		if p.src[p.pos] == '\n' {
			p.line++
			p.col = 1
		} else if p.src[p.pos]&0xc0 != 0x80 { // columns count characters, not UTF-8 continuation bytes
			p.col++
		}
		p.pos++
	}
}

// next lexes the following token into p.tok.
func (p *parser) next() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ' ' || c == '\t' || c == '\r' {
			p.advance(1)
		} else if c == '#' {
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.advance(1)
			}
		} else {
			break
		}
	}
	t := token{line: p.line, col: p.col}
	if p.pos >= len(p.src) {
		t.kind = tEOF
		p.tok = t
		return
	}
	c := p.src[p.pos]
	switch {
	case c == '\n':
		t.kind, t.text = tNewline, "\n"
		p.advance(1)
	case isLetter(c):
		start := p.pos
		for p.pos < len(p.src) && (isLetter(p.src[p.pos]) || isDigit(p.src[p.pos]) || p.src[p.pos] == '.') {
			p.advance(1)
		}
		t.kind, t.text = tIdent, string(p.src[start:p.pos])
	case isDigit(c) || (c == '-' || c == '+') && isDigit(p.peekByte(1)):
		start := p.pos
		p.advance(1)
		for p.pos < len(p.src) {
			b := p.src[p.pos]
			if isLetter(b) || isDigit(b) || b == '.' {
				p.advance(1)
			} else if (b == '-' || b == '+') && strings.ContainsRune("eEpP", rune(p.src[p.pos-1])) &&
				!strings.HasPrefix(strings.TrimLeft(string(p.src[start:p.pos]), "+-"), "0x") {
				p.advance(1)
			} else {
				break
			}
		}
		t.kind, t.text = tNumber, string(p.src[start:p.pos])
	case c == '"':
		t.kind, t.text = tString, p.lexString()
	case c == '%' || c == '@':
		p.advance(1)
		t.kind = tValue
		if c == '@' {
			t.kind = tAt
		}
		if p.peekByte(0) == '"' {
			t.text = p.lexString()
		} else {
			start := p.pos
			for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
				if p.src[p.pos] == ':' && !isNameChar(p.peekByte(1)) {
					break
				}
				p.advance(1)
			}
			if p.pos == start {
				p.failAt(t.line, t.col, "expected a name after '%c'", c)
			}
			t.text = string(p.src[start:p.pos])
		}
	case c == ':' && p.peekByte(1) == ':':
		t.kind, t.text = tPunct, "::"
		p.advance(2)
	case strings.IndexByte("()[]{},=:?*-", c) >= 0:
		t.kind, t.text = tPunct, string(c)
		p.advance(1)
	default:
		p.failAt(t.line, t.col, "unexpected character %s", strconv.Quote(string(p.src[p.pos:p.pos+1])))
	}
	p.tok = t
}

// lexString reads a Go-style double-quoted string at p.pos.
func (p *parser) lexString() string {
	line, col := p.line, p.col
	start := p.pos
	p.advance(1)
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			p.failAt(line, col, "unterminated string")
		}
		c := p.src[p.pos]
		if c == '\\' {
			p.advance(2)
			continue
		}
		p.advance(1)
		if c == '"' {
			break
		}
	}
	s, err := strconv.Unquote(string(p.src[start:p.pos]))
	if err != nil {
		p.failAt(line, col, "malformed string %s: %v", p.src[start:p.pos], err)
	}
	return s
}

// ---- token helpers ----

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }
func (p *parser) isIdent(s string) bool { return p.tok.kind == tIdent && p.tok.text == s }

func (p *parser) expectPunct(s, context string) {
	if !p.isPunct(s) {
		p.expected(fmt.Sprintf("'%s' %s", s, context))
	}
	p.next()
}

func (p *parser) expectKeyword(s string) {
	if !p.isIdent(s) {
		p.expected(fmt.Sprintf("%q", s))
	}
	p.next()
}

func (p *parser) endLine(context string) {
	if p.tok.kind != tNewline {
		p.expected("end of line after " + context)
	}
	p.skipNewlines()
}

func (p *parser) skipNewlines() {
	for p.tok.kind == tNewline {
		p.next()
	}
}

// name reads an identifier or a quoted string.
func (p *parser) name(what string) string {
	if p.tok.kind != tIdent && p.tok.kind != tString {
		p.expected(what)
	}
	s := p.tok.text
	p.next()
	return s
}

func (p *parser) int64Lit(what string) int64 {
	if p.tok.kind != tNumber {
		p.expected(what)
	}
	v, err := strconv.ParseInt(p.tok.text, 10, 64)
	if err != nil {
		p.fail("%s: %s is not a 64-bit integer", what, p.tok.text)
	}
	p.next()
	return v
}

// ---- grammar ----

func (p *parser) file() *Graph {
	p.skipNewlines()
	p.expectKeyword("effir")
	line, col := p.tok.line, p.tok.col
	if v := p.int64Lit("format version after \"effir\""); v != 1 {
		p.failAt(line, col, "unsupported effir version %d (this effc reads version 1)", v)
	}
	p.endLine("the version")
	p.graph()
	p.skipNewlines()
	if p.tok.kind != tEOF {
		p.expected("end of input after the graph's closing '}'")
	}
	return p.g
}

func (p *parser) graph() {
	p.expectKeyword("graph")
	if p.tok.kind != tString {
		p.expected("graph name (a quoted string)")
	}
	g := &Graph{Name: p.tok.text}
	p.g = g
	p.values = map[string]*Value{}
	p.defined = map[string]useSite{}
	p.pending = map[string]useSite{}
	p.next()
	seen := map[string]bool{}
	for !p.isPunct("{") {
		if p.tok.kind != tIdent {
			p.expected("graph header field (ir_version, opset, source_opset, producer) or '{'")
		}
		key, kl, kc := p.tok.text, p.tok.line, p.tok.col
		if seen[key] {
			p.fail("graph header field %s given twice", key)
		}
		seen[key] = true
		p.next()
		switch key {
		case "ir_version":
			p.expectPunct("=", "after ir_version")
			g.IRVersion = p.int64Lit("ir_version number")
		case "source_opset":
			p.expectPunct("=", "after source_opset")
			g.SourceOpset = p.int64Lit("source_opset number")
		case "producer":
			p.expectPunct("=", "after producer")
			if p.tok.kind != tString {
				p.expected("producer string")
			}
			g.Producer = p.tok.text
			p.next()
		case "opset":
			p.expectPunct("{", "after opset")
			g.Opsets = map[string]int64{}
			for !p.isPunct("}") {
				if len(g.Opsets) > 0 {
					p.expectPunct(",", "between opset entries")
				}
				line, col := p.tok.line, p.tok.col
				dom := p.name("opset domain")
				if dom == "ai.onnx" {
					dom = ""
				}
				if _, dup := g.Opsets[dom]; dup {
					p.failAt(line, col, "opset for domain %q given twice", dom)
				}
				p.expectPunct("=", "after opset domain")
				g.Opsets[dom] = p.int64Lit("opset version")
			}
			p.next()
		default:
			p.failAt(kl, kc, "unknown graph header field %s (want ir_version, opset, source_opset or producer)", key)
		}
	}
	p.next()
	p.endLine("'{'")
	for !p.isPunct("}") {
		p.statement()
	}
	p.next()
	if p.tok.kind != tEOF {
		p.endLine("the graph's closing '}'")
	}
	// Every use must have a definition.
	if len(p.pending) > 0 {
		first := ""
		for name, s := range p.pending {
			f := p.pending[first]
			if first == "" || s.line < f.line || s.line == f.line && s.col < f.col {
				first = name
			}
		}
		s := p.pending[first]
		p.failAt(s.line, s.col, "value %s is used but never defined", valueName(first))
	}
	sorted := true
	done := map[*Node]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil && in.Producer != nil && !done[in.Producer] {
				sorted = false
			}
		}
		done[n] = true
	}
	if !sorted {
		if err := g.TopoSort(); err != nil {
			panic(parseError{err.Error()})
		}
	}
}

func (p *parser) statement() {
	if p.tok.kind == tEOF {
		p.expected("'}' closing the graph")
	}
	if p.tok.kind == tIdent {
		switch p.tok.text {
		case "doc":
			p.next()
			if p.tok.kind != tString {
				p.expected("doc string")
			}
			if p.g.Doc != "" {
				p.fail("graph doc given twice")
			}
			p.g.Doc = p.tok.text
			p.next()
			p.endLine("doc string")
			return
		case "metadata":
			p.next()
			line, col := p.tok.line, p.tok.col
			if p.tok.kind != tString {
				p.expected("metadata key (a quoted string)")
			}
			key := p.tok.text
			p.next()
			p.expectPunct("=", "after metadata key")
			if p.tok.kind != tString {
				p.expected("metadata value (a quoted string)")
			}
			if p.g.Metadata == nil {
				p.g.Metadata = map[string]string{}
			}
			if _, dup := p.g.Metadata[key]; dup {
				p.failAt(line, col, "metadata key %q given twice", key)
			}
			p.g.Metadata[key] = p.tok.text
			p.next()
			p.endLine("metadata value")
			return
		case "input":
			p.next()
			v := p.define("input")
			if p.isPunct(":") {
				p.next()
				v.Type = p.typ()
			}
			p.g.Inputs = append(p.g.Inputs, v)
			p.endLine("input " + valueName(v.Name))
			return
		case "const":
			p.next()
			v := p.define("const")
			if p.isPunct(":") {
				p.next()
				v.Type = p.typ()
			}
			if !p.isPunct("=") {
				p.expected(fmt.Sprintf("'=' and the data of constant %s", valueName(v.Name)))
			}
			p.next()
			v.Const = p.constData(v)
			p.g.Consts = append(p.g.Consts, v)
			p.endLine("constant " + valueName(v.Name))
			return
		case "output":
			p.next()
			if p.tok.kind != tValue {
				p.expected("output value name (%name)")
			}
			p.g.Outputs = append(p.g.Outputs, p.use())
			p.endLine("output")
			return
		}
	}
	if p.tok.kind == tValue || p.isIdent("_") || p.isPunct("(") {
		p.node()
		return
	}
	p.expected("a statement (input, const, output, doc, metadata, a node, or '}')")
}

// define reads %name at a definition and registers it.
func (p *parser) define(what string) *Value {
	if p.tok.kind != tValue {
		p.expected(what + " value name (%name)")
	}
	name := p.tok.text
	site := useSite{p.tok.line, p.tok.col}
	if d, dup := p.defined[name]; dup {
		p.fail("value %s is defined twice (first at line %d:%d)", valueName(name), d.line, d.col)
	}
	p.defined[name] = site
	v := p.values[name]
	if v == nil {
		v = &Value{Name: name}
		p.values[name] = v
	}
	delete(p.pending, name)
	p.next()
	return v
}

// use reads %name at a use; the definition may come later.
func (p *parser) use() *Value {
	name := p.tok.text
	v := p.values[name]
	if v == nil {
		v = &Value{Name: name}
		p.values[name] = v
		p.pending[name] = useSite{p.tok.line, p.tok.col}
	}
	p.next()
	return v
}

func (p *parser) node() {
	n := &Node{}
	if p.isPunct("(") {
		p.next()
		p.expectPunct(")", "(a node without outputs is written '() = Op(...)')")
	} else {
		for {
			if p.isIdent("_") {
				n.Outputs = append(n.Outputs, nil)
				p.next()
			} else {
				v := p.define("node output")
				if p.isPunct(":") {
					p.next()
					v.Type = p.typ()
				} else if !p.isPunct("=") && !p.isPunct(",") {
					p.expected(fmt.Sprintf("':' after value name %s", valueName(v.Name)))
				}
				v.Producer = n
				n.Outputs = append(n.Outputs, v)
			}
			if !p.isPunct(",") {
				break
			}
			p.next()
			if p.tok.kind != tValue && !p.isIdent("_") {
				p.expected("node output (%name or _) after ','")
			}
		}
	}
	p.expectPunct("=", "before the node's operator")
	op := p.name("operator name")
	if p.isPunct("::") {
		p.next()
		n.Domain = op
		op = p.name("operator name after '::'")
	}
	n.Op = op
	p.expectPunct("(", "after operator "+op)
	for !p.isPunct(")") {
		if len(n.Inputs) > 0 {
			p.expectPunct(",", "between operands")
		}
		switch {
		case p.tok.kind == tValue:
			n.Inputs = append(n.Inputs, p.use())
		case p.isIdent("_"):
			n.Inputs = append(n.Inputs, nil)
			p.next()
		default:
			p.expected("operand (%name or _ for an omitted input) or ')'")
		}
	}
	p.next()
	if p.isPunct("{") {
		p.next()
		n.Attrs = map[string]*Attr{}
		for !p.isPunct("}") {
			if len(n.Attrs) > 0 {
				p.expectPunct(",", "between attributes")
			}
			line, col := p.tok.line, p.tok.col
			name := p.name("attribute name or '}'")
			if _, dup := n.Attrs[name]; dup {
				p.failAt(line, col, "attribute %s given twice", name)
			}
			p.expectPunct("=", "after attribute name "+name)
			n.Attrs[name] = p.attrValue(name)
		}
		p.next()
	}
	if p.tok.kind == tAt {
		n.Name = p.tok.text
		p.next()
	}
	if p.isIdent("doc") {
		p.next()
		if p.tok.kind != tString {
			p.expected("node doc string")
		}
		n.Doc = p.tok.text
		p.next()
	}
	p.endLine("node " + op)
	p.g.Nodes = append(p.g.Nodes, n)
}

// typ reads dtype[dims] [quant(...)].
func (p *parser) typ() Type {
	if p.tok.kind != tIdent {
		p.expected("type (like f32[N,3])")
	}
	dt, err := ParseDType(p.tok.text)
	if err != nil {
		p.fail("unknown dtype %q", p.tok.text)
	}
	p.next()
	t := Type{DType: dt}
	p.expectPunct("[", "after dtype "+dt.String())
	if p.isPunct("*") {
		p.next()
		p.expectPunct("]", "after '*' (unknown rank)")
	} else {
		t.Ranked = true
		t.Shape = Shape{}
		for !p.isPunct("]") {
			if len(t.Shape) > 0 {
				p.expectPunct(",", "between dimensions")
			}
			switch {
			case p.tok.kind == tNumber:
				line, col := p.tok.line, p.tok.col
				n := p.int64Lit("dimension")
				if n < 0 {
					p.failAt(line, col, "negative dimension %d", n)
				}
				t.Shape = append(t.Shape, D(n))
			case p.isPunct("?"):
				t.Shape = append(t.Shape, Unknown())
				p.next()
			case p.tok.kind == tIdent || p.tok.kind == tString:
				t.Shape = append(t.Shape, Sym(p.tok.text))
				p.next()
			default:
				p.expected("dimension (a size, a symbol, or ?) or ']'")
			}
		}
		p.next()
	}
	if p.isIdent("quant") {
		t.Quant = p.quant()
	}
	return t
}

func (p *parser) quant() *Quant {
	p.next()
	p.expectPunct("(", "after quant")
	q := &Quant{}
	seen := map[string]bool{}
	for !p.isPunct(")") {
		if len(seen) > 0 {
			p.expectPunct(",", "between quant fields")
		}
		if p.tok.kind != tIdent {
			p.expected("quant field (scale, zp, axis)")
		}
		key := p.tok.text
		if seen[key] {
			p.fail("quant field %s given twice", key)
		}
		seen[key] = true
		p.next()
		p.expectPunct("=", "after quant field "+key)
		switch key {
		case "scale":
			if p.isPunct("[") {
				p.next()
				q.Scale = []float32{}
				for !p.isPunct("]") {
					if len(q.Scale) > 0 {
						p.expectPunct(",", "between scales")
					}
					q.Scale = append(q.Scale, p.f32Elem())
				}
				p.next()
			} else {
				q.Scale = []float32{p.f32Elem()}
			}
		case "zp":
			zp := func() int32 {
				line, col := p.tok.line, p.tok.col
				v := p.int64Lit("zero point")
				if v != int64(int32(v)) {
					p.failAt(line, col, "zero point %d does not fit in 32 bits", v)
				}
				return int32(v)
			}
			if p.isPunct("[") {
				p.next()
				q.ZeroPoint = []int32{}
				for !p.isPunct("]") {
					if len(q.ZeroPoint) > 0 {
						p.expectPunct(",", "between zero points")
					}
					q.ZeroPoint = append(q.ZeroPoint, zp())
				}
				p.next()
			} else {
				q.ZeroPoint = []int32{zp()}
			}
		case "axis":
			line, col := p.tok.line, p.tok.col
			v := p.int64Lit("axis")
			if v != int64(int(int32(v))) {
				p.failAt(line, col, "axis %d out of range", v)
			}
			q.Axis = int(v)
		default:
			p.fail("unknown quant field %s (want scale, zp or axis)", key)
		}
	}
	p.next()
	if !seen["scale"] {
		p.fail("quant(...) needs a scale")
	}
	return q
}

// constData reads a constant's data: either data alone, whose dtype and
// shape come from the value's static type, or a full tensor literal.
func (p *parser) constData(v *Value) *Tensor {
	if p.tok.kind == tIdent {
		if _, err := ParseDType(p.tok.text); err == nil {
			return p.tensorLit()
		}
	}
	ty := v.Type
	if !ty.Ranked || !ty.DType.Valid() || !ty.Shape.Static() {
		p.fail("constant %s has no static type; write its tensor type before the data (like i64[2] [1, 2])", valueName(v.Name))
	}
	shape := make([]int64, len(ty.Shape))
	for i, d := range ty.Shape {
		if d.Param != "" {
			p.fail("constant %s has symbolic dimension %s", valueName(v.Name), d.Param)
		}
		shape[i] = d.Size
	}
	return p.tensorData(ty.DType, shape)
}

// tensorLit reads `dtype[dims] data`.
func (p *parser) tensorLit() *Tensor {
	if p.tok.kind != tIdent {
		p.expected("tensor (like f32[2] [1, 2])")
	}
	dt, err := ParseDType(p.tok.text)
	if err != nil || !dt.Valid() {
		p.fail("expected tensor dtype, got %s", p.tok)
	}
	p.next()
	p.expectPunct("[", "after tensor dtype "+dt.String())
	shape := []int64{}
	for !p.isPunct("]") {
		if len(shape) > 0 {
			p.expectPunct(",", "between tensor dimensions")
		}
		dl, dc := p.tok.line, p.tok.col
		n := p.int64Lit("tensor dimension (a size)")
		if n < 0 {
			p.failAt(dl, dc, "negative tensor dimension %d", n)
		}
		shape = append(shape, n)
	}
	p.next()
	return p.tensorData(dt, shape)
}

// tensorData reads the data of a tensor of known dtype and shape: one
// element for a scalar, a bracketed row-major list, or an elided marker.
func (p *parser) tensorData(dt DType, shape []int64) *Tensor {
	line, col := p.tok.line, p.tok.col
	n, err := CheckedNumElements(shape)
	if err != nil {
		p.fail("%v", err)
	}
	if p.isIdent("elided") {
		p.next()
		if p.tok.kind != tNumber || !strings.HasSuffix(p.tok.text, "B") {
			p.expected("byte size after elided (like 1728B)")
		}
		size, err := strconv.ParseInt(strings.TrimSuffix(p.tok.text, "B"), 10, 64)
		if err != nil || size < 0 {
			p.fail("malformed byte size %s", p.tok.text)
		}
		if dt != String && size != n*int64(dt.Size()) {
			p.fail("elided %s%v data is %dB, not %dB", dt, shape, n*int64(dt.Size()), size)
		}
		p.next()
		if !p.isIdent("sha256") {
			p.expected("content hash (sha256:...) after the elided size")
		}
		p.next()
		p.expectPunct(":", "after sha256")
		h := p.tok.text
		if p.tok.kind != tNumber && p.tok.kind != tIdent || strings.Trim(h, "0123456789abcdef") != "" {
			p.expected("hex digits of the hash")
		}
		p.next()
		return &Tensor{DType: dt, Shape: shape, Data: ElidedData{Hash: "sha256:" + h, Bytes: size}}
	}
	t := &Tensor{DType: dt, Shape: shape}
	if len(shape) == 0 {
		t.Data = MakeSlice(dt, 1)
		p.elem(t, 0)
		return t
	}
	if !p.isPunct("[") {
		p.expected(fmt.Sprintf("'[' starting the %d elements of %s%v, or elided", n, dt, shape))
	}
	p.next()
	// Grow as elements arrive, so a huge shape with short data cannot make
	// us allocate before the mismatch is found.
	t.Data = MakeSlice(dt, 0)
	i := 0
	for !p.isPunct("]") {
		if i > 0 {
			p.expectPunct(",", "between tensor elements")
		}
		if int64(i) >= n {
			p.failAt(line, col, "tensor %s%v has %d elements, the data has more", dt, shape, n)
		}
		t.Data = appendZero(t.Data)
		p.elem(t, i)
		i++
	}
	if int64(i) != n {
		p.failAt(line, col, "tensor %s%v has %d elements, the data has %d", dt, shape, n, i)
	}
	p.next()
	return t
}

func appendZero(d any) any {
	switch d := d.(type) {
	case []float32:
		return append(d, 0)
	case []float64:
		return append(d, 0)
	case []int8:
		return append(d, 0)
	case []uint8:
		return append(d, 0)
	case []int16:
		return append(d, 0)
	case []uint16:
		return append(d, 0)
	case []int32:
		return append(d, 0)
	case []uint32:
		return append(d, 0)
	case []int64:
		return append(d, 0)
	case []uint64:
		return append(d, 0)
	case []bool:
		return append(d, false)
	case []string:
		return append(d, "")
	case []complex64:
		return append(d, 0)
	case []complex128:
		return append(d, 0)
	}
	return d
}

// elem reads element i of t.
func (p *parser) elem(t *Tensor, i int) {
	switch d := t.Data.(type) {
	case []float32:
		d[i] = p.f32Elem()
	case []float64:
		d[i] = p.f64Elem()
	case []int8:
		d[i] = int8(p.intElem(8))
	case []int16:
		d[i] = int16(p.intElem(16))
	case []int32:
		d[i] = int32(p.intElem(32))
	case []int64:
		d[i] = p.intElem(64)
	case []uint8:
		if t.DType.IsFP8() {
			d[i] = uint8(p.smallFloatElem(t.DType))
		} else {
			d[i] = uint8(p.uintElem(8))
		}
	case []uint16:
		if t.DType == Float16 || t.DType == BFloat16 {
			d[i] = uint16(p.smallFloatElem(t.DType))
		} else {
			d[i] = uint16(p.uintElem(16))
		}
	case []uint32:
		d[i] = uint32(p.uintElem(32))
	case []uint64:
		d[i] = p.uintElem(64)
	case []bool:
		switch {
		case p.isIdent("true"):
			d[i] = true
		case p.isIdent("false"):
		default:
			p.expected("true or false")
		}
		p.next()
	case []string:
		if p.tok.kind != tString {
			p.expected("string element")
		}
		d[i] = p.tok.text
		p.next()
	case []complex64:
		p.expectPunct("(", "starting a complex element (re, im)")
		re := p.f32Elem()
		p.expectPunct(",", "between real and imaginary part")
		im := p.f32Elem()
		p.expectPunct(")", "ending a complex element")
		d[i] = complex(re, im)
	case []complex128:
		p.expectPunct("(", "starting a complex element (re, im)")
		re := p.f64Elem()
		p.expectPunct(",", "between real and imaginary part")
		im := p.f64Elem()
		p.expectPunct(")", "ending a complex element")
		d[i] = complex(re, im)
	}
}

func (p *parser) intElem(bits int) int64 {
	if p.tok.kind != tNumber {
		p.expected(fmt.Sprintf("i%d element", bits))
	}
	v, err := strconv.ParseInt(p.tok.text, 10, bits)
	if err != nil {
		p.fail("%s is not an i%d", p.tok.text, bits)
	}
	p.next()
	return v
}

func (p *parser) uintElem(bits int) uint64 {
	if p.tok.kind != tNumber {
		p.expected(fmt.Sprintf("u%d element", bits))
	}
	v, err := strconv.ParseUint(p.tok.text, 10, bits)
	if err != nil {
		p.fail("%s is not a u%d", p.tok.text, bits)
	}
	p.next()
	return v
}

// nanBits reads the `:0x...` after nan, if present, as a bit pattern of the
// given width in bits.
func (p *parser) nanBits(bits int) (uint64, bool) {
	if !p.isPunct(":") {
		return 0, false
	}
	p.next()
	if p.tok.kind != tNumber || !strings.HasPrefix(p.tok.text, "0x") {
		p.expected("NaN bits (like 0x7fc00001) after 'nan:'")
	}
	v, err := strconv.ParseUint(p.tok.text[2:], 16, bits)
	if err != nil {
		p.fail("NaN bits %s do not fit in %d bits", p.tok.text, bits)
	}
	p.next()
	return v, true
}

// f32Elem reads a float32 element: a number, inf, -inf, nan, or
// nan:0x<bits> (kept bit for bit, signaling NaNs included).
func (p *parser) f32Elem() float32 {
	f, nan, ok := p.floatSpecial(32)
	if ok {
		if nan {
			return math.Float32frombits(uint32(f))
		}
		return float32(math.Float64frombits(f))
	}
	v, err := strconv.ParseFloat(p.tok.text, 32)
	if err != nil {
		p.fail("%s is not a valid f32", p.tok.text)
	}
	p.next()
	return float32(v)
}

// f64Elem reads a float64 element, like f32Elem.
func (p *parser) f64Elem() float64 {
	f, _, ok := p.floatSpecial(64)
	if ok {
		return math.Float64frombits(f)
	}
	v, err := strconv.ParseFloat(p.tok.text, 64)
	if err != nil {
		p.fail("%s is not a valid f64", p.tok.text)
	}
	p.next()
	return v
}

// floatSpecial reads inf, -inf, nan or nan:0x<bits>. It returns float64
// bits for infinities and raw bits of the given width for NaNs; ok is false
// (and nothing is consumed) when the token is a number.
func (p *parser) floatSpecial(bits int) (b uint64, nan, ok bool) {
	neg := false
	if p.isPunct("-") {
		neg = true
		p.next()
		if !p.isIdent("inf") {
			p.expected("inf after '-'")
		}
	}
	switch {
	case p.isIdent("inf"):
		p.next()
		if neg {
			return math.Float64bits(math.Inf(-1)), false, true
		}
		return math.Float64bits(math.Inf(1)), false, true
	case p.isIdent("nan"):
		line, col := p.tok.line, p.tok.col
		p.next()
		b, ok := p.nanBits(bits)
		if bits == 32 {
			if !ok {
				b = canonNaN32
			}
			if f := math.Float32frombits(uint32(b)); f == f {
				p.failAt(line, col, "nan:0x%08x is not a NaN", b)
			}
			return b, true, true
		}
		if !ok {
			b = canonNaN64
		}
		if f := math.Float64frombits(b); f == f {
			p.failAt(line, col, "nan:0x%016x is not a NaN", b)
		}
		return b, true, true
	case p.tok.kind == tNumber:
		return 0, false, false
	}
	p.expected(fmt.Sprintf("f%d element (a number, inf, -inf or nan)", bits))
	return 0, false, false
}

// smallFloatElem reads an f16, bf16 or fp8 element and returns its bits.
func (p *parser) smallFloatElem(dt DType) uint32 {
	line, col := p.tok.line, p.tok.col
	if p.isIdent("nan") {
		p.next()
		b, ok := p.nanBits(dt.Size() * 8)
		if !ok {
			return encodeSmall(dt, float32(math.NaN()))
		}
		if f := decodeSmall(dt, uint32(b)); f == f {
			p.failAt(line, col, "nan:0x%x is not a NaN in %s", b, dt)
		}
		return uint32(b)
	}
	f := p.f32Elem()
	if math.IsInf(float64(f), 0) && !math.IsInf(float64(decodeSmall(dt, encodeSmall(dt, f))), 0) {
		p.failAt(line, col, "%s has no infinity", dt)
	}
	return encodeSmall(dt, f)
}

// ---- attributes ----

// isFloatTok reports whether the current token starts a float (rather than
// an int) attribute value.
func (p *parser) isFloatTok() bool {
	switch {
	case p.isIdent("nan"), p.isIdent("inf"), p.isPunct("-"):
		return true
	case p.tok.kind == tNumber:
		return strings.ContainsAny(p.tok.text, ".eE")
	}
	return false
}

func (p *parser) attrValue(name string) *Attr {
	switch {
	case p.tok.kind == tString:
		a := StringAttr(p.tok.text)
		p.next()
		return a
	case p.isFloatTok():
		return FloatAttr(p.f32Elem())
	case p.tok.kind == tNumber:
		return IntAttr(p.int64Lit("int attribute " + name))
	case p.isPunct("["):
		return p.attrList(name)
	case p.tok.kind == tIdent:
		switch p.tok.text {
		case "ints", "floats", "strings", "tensors":
			kind := p.tok.text
			p.next()
			p.expectPunct("[", "after "+kind)
			p.expectPunct("]", "(typed lists are only written for empty lists: "+kind+"[])")
			return map[string]*Attr{
				"ints": {Kind: AttrInts, Ints: []int64{}}, "floats": {Kind: AttrFloats, Floats: []float32{}},
				"strings": {Kind: AttrStrings, Strings: []string{}}, "tensors": {Kind: AttrTensors, Tensors: []*Tensor{}},
			}[kind]
		}
		if dt, err := ParseDType(p.tok.text); err == nil && dt.Valid() {
			return TensorAttr(p.tensorLit())
		}
	}
	p.expected("attribute value (int, float, string, list, or tensor like f32[2] [1, 2])")
	return nil
}

func (p *parser) attrList(name string) *Attr {
	p.next()
	var a *Attr
	switch {
	case p.isPunct("]"):
		p.fail("empty list attribute %s needs its kind: write ints[], floats[], strings[] or tensors[]", name)
	case p.tok.kind == tString:
		a = &Attr{Kind: AttrStrings}
	case p.isFloatTok():
		a = &Attr{Kind: AttrFloats}
	case p.tok.kind == tNumber:
		a = &Attr{Kind: AttrInts}
	case p.tok.kind == tIdent:
		a = &Attr{Kind: AttrTensors}
	default:
		p.expected("list element")
	}
	for i := 0; !p.isPunct("]"); i++ {
		if i > 0 {
			p.expectPunct(",", "between list elements")
		}
		switch a.Kind {
		case AttrStrings:
			if p.tok.kind != tString {
				p.expected("string (the list holds strings)")
			}
			a.Strings = append(a.Strings, p.tok.text)
			p.next()
		case AttrFloats:
			a.Floats = append(a.Floats, p.f32Elem())
		case AttrInts:
			if p.isFloatTok() {
				p.expected("integer (the list holds ints)")
			}
			a.Ints = append(a.Ints, p.int64Lit("integer (the list holds ints)"))
		case AttrTensors:
			a.Tensors = append(a.Tensors, p.tensorLit())
		}
	}
	p.next()
	return a
}
