package ir

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/effc/effc/internal/suggest"
)

// OpDef is the schema of one operator in canonical form (ai.onnx opset
// CanonicalOpset semantics): its inputs and outputs, the dtypes each type
// variable admits, its attributes, and its shape function.
//
// Every OpDef is built from one row of the table in ops_table.go.
type OpDef struct {
	Name   string
	Domain string // "" for ai.onnx
	// Inputs and Outputs in order. Only the last one may be Variadic.
	Inputs  []Param
	Outputs []Param
	// TypeVars maps a type variable ("T") to the dtypes it admits. Params
	// whose type is fixed use a synthetic variable named after the dtype set.
	TypeVars map[string][]DType
	Attrs    map[string]AttrDef
	// Infer computes the output types from the node's input types, constant
	// inputs and attributes. It returns one Type per output slot (the type
	// of an omitted optional output is ignored) and never panics on bad input.
	Infer func(n *Node) ([]Type, error)
}

// Param is one formal input or output of an OpDef.
type Param struct {
	Name     string
	Optional bool   // may be omitted (nil or past the end)
	Variadic bool   // repeats; at least one occurrence unless Optional
	TypeVar  string // key into OpDef.TypeVars
}

// AttrDef is the schema of one attribute.
type AttrDef struct {
	Kind     AttrKind
	Required bool
	Default  *Attr // nil when there is no default
}

// MinInputs is the number of inputs the node must have.
func (d *OpDef) MinInputs() int { return minArity(d.Inputs) }

// MaxInputs is the largest number of inputs, or -1 when variadic.
func (d *OpDef) MaxInputs() int { return maxArity(d.Inputs) }

// MinOutputs is the number of outputs the node must have.
func (d *OpDef) MinOutputs() int { return minArity(d.Outputs) }

// MaxOutputs is the largest number of outputs, or -1 when variadic.
func (d *OpDef) MaxOutputs() int { return maxArity(d.Outputs) }

func minArity(ps []Param) int {
	n := 0
	for i, p := range ps {
		if !p.Optional {
			n = i + 1
		}
	}
	return n
}

func maxArity(ps []Param) int {
	if len(ps) > 0 && ps[len(ps)-1].Variadic {
		return -1
	}
	return len(ps)
}

// param returns the formal parameter at position i (the variadic tail
// covers every later position), or nil.
func param(ps []Param, i int) *Param {
	if i < len(ps) {
		return &ps[i]
	}
	if len(ps) > 0 && ps[len(ps)-1].Variadic {
		return &ps[len(ps)-1]
	}
	return nil
}

// Signature renders the schema in the table's DSL, e.g.
// "X:T W:T B?:T -> Y:T".
func (d *OpDef) Signature() string {
	f := func(ps []Param) string {
		parts := make([]string, len(ps))
		for i, p := range ps {
			s := p.Name
			if p.Optional {
				s += "?"
			}
			s += ":" + p.TypeVar
			if p.Variadic {
				s += "..."
			}
			parts[i] = s
		}
		return strings.Join(parts, " ")
	}
	return f(d.Inputs) + " -> " + f(d.Outputs)
}

// opKey identifies an op by domain and name.
type opKey struct{ domain, name string }

var opTable = map[opKey]*OpDef{}

// LookupOp returns the schema of op in domain ("" or "ai.onnx" for the
// default domain), or nil when effc does not support it.
func LookupOp(domain, op string) *OpDef {
	if domain == "ai.onnx" {
		domain = ""
	}
	return opTable[opKey{domain, op}]
}

// OpNames returns the names of all supported ops, sorted; ops outside the
// default domain are prefixed with their domain ("com.microsoft.Foo").
func OpNames() []string {
	names := make([]string, 0, len(opTable))
	for k := range opTable {
		if k.domain == "" {
			names = append(names, k.name)
		} else {
			names = append(names, k.domain+"."+k.name)
		}
	}
	sort.Strings(names)
	return names
}

// unknownOpError explains that n's op is not in the table, suggesting the
// closest known name when one is near.
func unknownOpError(n *Node) error {
	dom := n.Domain
	if dom == "" {
		dom = "ai.onnx"
	}
	msg := fmt.Sprintf("%s: unknown op %s (domain %s); effc supports: see 'effc ops'", n, n.Op, dom)
	if s := suggestOp(n.Op); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Errorf("%s", msg)
}

// suggestOp returns the supported op name closest to name by
// case-insensitive edit distance, or "" when none is close.
func suggestOp(name string) string {
	best, bestD := "", 1<<30
	lname := strings.ToLower(name)
	for k := range opTable {
		if k.domain != "" || len(k.name) > len(name)+2 || len(k.name) < len(name)-2 {
			continue // the distance is at least the length difference
		}
		d := suggest.Distance(lname, strings.ToLower(k.name))
		if d < bestD || (d == bestD && k.name < best) {
			best, bestD = k.name, d
		}
	}
	if bestD <= 2 && bestD < len(name) {
		return best
	}
	return ""
}

// ---- the table DSL ----

// dtypeGroups names dtype sets usable in type constraints; single dtypes
// are spelled by their short names ("i64", "bool").
var dtypeGroups = map[string][]DType{
	"float": {Float16, Float32, Float64, BFloat16},
	"fp8":   {Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ},
	"sint":  {Int8, Int16, Int32, Int64},
	"uint":  {Uint8, Uint16, Uint32, Uint64},
	"int":   {Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64},
	"num":   {Float16, Float32, Float64, BFloat16, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64},
	"snum":  {Float16, Float32, Float64, BFloat16, Int8, Int16, Int32, Int64},
	"any": {Float16, Float32, Float64, BFloat16, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64,
		Bool, String, Complex64, Complex128, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ},
}

// parseDTypeSet parses "float|i32|i64" into a sorted, deduplicated set.
func parseDTypeSet(s string) []DType {
	seen := map[DType]bool{}
	for _, part := range strings.Split(s, "|") {
		if g, ok := dtypeGroups[part]; ok {
			for _, d := range g {
				seen[d] = true
			}
			continue
		}
		d, err := ParseDType(part)
		if err != nil || d == Undefined {
			panic(fmt.Sprintf("ir: op table: unknown dtype or group %q", part))
		}
		seen[d] = true
	}
	out := make([]DType, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// attrKindByName maps the DSL's attribute kind names to kinds.
var attrKindByName = map[string]AttrKind{
	"int": AttrInt, "float": AttrFloat, "string": AttrString, "tensor": AttrTensor,
	"ints": AttrInts, "floats": AttrFloats, "strings": AttrStrings, "graph": AttrGraph,
}

// op builds one table row. sig is "in1:T in2?:T ins:T... -> out:T";
// types is "T:float|i32; I:i64" (a param may name a dtype set directly,
// e.g. "shape:i64"); attrs is "name:kind[!|=default] ..." where ! marks a
// required attribute, list defaults are comma separated, and "=" alone
// gives an empty string default. A malformed row panics at init: the table
// is our own data and a test builds it.
func op(name, sig, types, attrs string, infer func(*Node) ([]Type, error)) {
	d := &OpDef{Name: name, TypeVars: map[string][]DType{}, Attrs: map[string]AttrDef{}, Infer: infer}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		d.Domain, d.Name = name[:i], name[i+1:]
	}
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("ir: op table row %s: %s", name, fmt.Sprintf(format, args...)))
	}
	if infer == nil {
		bad("no shape function")
	}
	for _, c := range strings.Split(types, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		v, set, ok := strings.Cut(c, ":")
		if !ok {
			bad("type constraint %q lacks ':'", c)
		}
		d.TypeVars[strings.TrimSpace(v)] = parseDTypeSet(strings.TrimSpace(set))
	}
	ins, outs, ok := strings.Cut(sig, "->")
	if !ok {
		bad("signature %q lacks '->'", sig)
	}
	parse := func(s string) []Param {
		var ps []Param
		for _, f := range strings.Fields(s) {
			pn, tv, ok := strings.Cut(f, ":")
			if !ok {
				bad("param %q lacks ':'", f)
			}
			p := Param{Name: pn, TypeVar: tv}
			if strings.HasSuffix(p.TypeVar, "...") {
				p.Variadic, p.TypeVar = true, strings.TrimSuffix(p.TypeVar, "...")
			}
			if strings.HasSuffix(p.Name, "?") {
				p.Optional, p.Name = true, strings.TrimSuffix(p.Name, "?")
			}
			if _, ok := d.TypeVars[p.TypeVar]; !ok {
				d.TypeVars[p.TypeVar] = parseDTypeSet(p.TypeVar)
			}
			if len(ps) > 0 && ps[len(ps)-1].Variadic {
				bad("param %q follows a variadic one", f)
			}
			ps = append(ps, p)
		}
		return ps
	}
	d.Inputs, d.Outputs = parse(ins), parse(outs)
	if len(d.Outputs) == 0 {
		bad("no outputs")
	}
	for _, f := range strings.Fields(attrs) {
		an, rest, ok := strings.Cut(f, ":")
		if !ok {
			bad("attribute %q lacks ':'", f)
		}
		var ad AttrDef
		kind, def, hasDef := strings.Cut(rest, "=")
		if strings.HasSuffix(kind, "!") {
			ad.Required, kind = true, strings.TrimSuffix(kind, "!")
		}
		k, ok := attrKindByName[kind]
		if !ok {
			bad("attribute %q has unknown kind %q", an, kind)
		}
		ad.Kind = k
		if hasDef {
			ad.Default = parseAttrDefault(k, def, bad)
		}
		d.Attrs[an] = ad
	}
	key := opKey{d.Domain, d.Name}
	if _, dup := opTable[key]; dup {
		bad("defined twice")
	}
	opTable[key] = d
}

func parseAttrDefault(k AttrKind, s string, bad func(string, ...any)) *Attr {
	var list []string
	if s != "" {
		list = strings.Split(s, ",")
	}
	switch k {
	case AttrInt:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			bad("int default %q: %v", s, err)
		}
		return IntAttr(v)
	case AttrFloat:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			bad("float default %q: %v", s, err)
		}
		return FloatAttr(float32(v))
	case AttrString:
		return StringAttr(s)
	case AttrInts:
		vs := make([]int64, len(list))
		for i, e := range list {
			v, err := strconv.ParseInt(e, 10, 64)
			if err != nil {
				bad("ints default %q: %v", s, err)
			}
			vs[i] = v
		}
		return IntsAttr(vs...)
	case AttrFloats:
		vs := make([]float32, len(list))
		for i, e := range list {
			v, err := strconv.ParseFloat(e, 32)
			if err != nil {
				bad("floats default %q: %v", s, err)
			}
			vs[i] = float32(v)
		}
		return FloatsAttr(vs...)
	case AttrStrings:
		return StringsAttr(list...)
	}
	bad("kind %s cannot have a default", k)
	return nil
}
