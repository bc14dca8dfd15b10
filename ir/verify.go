package ir

import (
	"fmt"
	"sort"
	"strings"
)

// Verify checks that g is well formed:
//
//   - SSA: every node input is defined (a graph input, a constant, or an
//     earlier node's output), every value is defined once, Producer
//     pointers agree with the nodes, nodes are in topological order (and
//     a cycle is named when there is one), graph outputs are defined, and
//     value and node names are unique;
//   - every op is in the op table, with an input and output count its
//     schema allows (omitted optional inputs are nil), attributes of the
//     declared kinds, and every required attribute;
//   - dtypes satisfy the schema's type constraints, and inputs and outputs
//     sharing a type variable agree;
//   - types are sane (dims known >= 0 or -1, at most 2^31 elements) and
//     constant tensors hold as many elements as their shape says. Data
//     that is not a typed slice (e.g. elided weights) is accepted as is;
//   - when all of that holds, each node's output types agree with its
//     shape function (recorded types may be less specific, not different).
//
// It reports every problem it finds, up to 20, joined with errors.Join.
func Verify(g *Graph) error {
	var errs errorList
	verifySSA(g, &errs)
	ssaOK := len(errs.errs) == 0
	for _, v := range g.Values() {
		verifyValueType(v, &errs)
	}
	nodesOK := len(errs.errs) == 0
	for _, n := range g.Nodes {
		verifyNode(n, &errs)
	}
	if ssaOK && nodesOK && len(errs.errs) == 0 {
		verifyShapes(g, &errs)
	}
	return errs.err()
}

// verifyShapes re-runs each node's shape function over its inputs' types
// and reports outputs whose recorded type contradicts the result (a pass
// that rewired a node without retyping it). Less specific recorded types
// are fine. It runs only on graphs that passed the other checks, so it
// does not repeat their errors.
func verifyShapes(g *Graph, errs *errorList) {
	sd := shapeData{}
	for _, n := range g.Nodes {
		types, err := LookupOp(n.Domain, n.Op).Infer(sd.shadow(n))
		if err != nil {
			errs.add(err)
			continue
		}
		for i, o := range n.Outputs {
			if o == nil || i >= len(types) {
				continue
			}
			if _, err := mergeTypes(types[i], o.Type); err != nil {
				errs.add(fmt.Errorf("%s: output %d has type %s, but its shape function gives %s; re-run shape inference after rewriting",
					n, i, o.Type, types[i]))
			}
		}
		sd.propagate(n)
	}
}

// verifySSA checks definitions, uses, producers, order and names.
func verifySSA(g *Graph, errs *errorList) {
	defined := map[*Value]string{} // value -> what defined it
	names := map[string]string{}
	name := func(v *Value, what string) {
		if prev, ok := names[v.Name]; ok {
			errs.add(fmt.Errorf("value name %q is used twice: by %s and by %s; rename one", v.Name, prev, what))
			return
		}
		names[v.Name] = what
	}
	define := func(v *Value, what string) bool {
		if prev, ok := defined[v]; ok {
			errs.add(fmt.Errorf("value %q is defined twice: by %s and by %s", v.Name, prev, what))
			return false
		}
		defined[v] = what
		name(v, what)
		return true
	}
	for i, v := range g.Inputs {
		if v == nil {
			errs.add(fmt.Errorf("graph input %d is nil", i))
			continue
		}
		if define(v, "graph input") && v.Producer != nil {
			errs.add(fmt.Errorf("graph input %q has producer %s, want none", v.Name, v.Producer))
		}
	}
	for i, v := range g.Consts {
		if v == nil {
			errs.add(fmt.Errorf("constant %d is nil", i))
			continue
		}
		if !define(v, "constant") {
			continue
		}
		if v.Const == nil {
			errs.add(fmt.Errorf("constant %q has no tensor", v.Name))
		}
		if v.Producer != nil {
			errs.add(fmt.Errorf("constant %q has producer %s, want none", v.Name, v.Producer))
		}
	}
	inGraph := map[*Node]int{}
	nodeNames := map[string]bool{}
	for i, n := range g.Nodes {
		if n == nil {
			errs.add(fmt.Errorf("node %d is nil", i))
			continue
		}
		inGraph[n] = i
		if n.Name != "" {
			if nodeNames[n.Name] {
				errs.add(fmt.Errorf("%s: node name is used twice; rename one", n))
			}
			nodeNames[n.Name] = true
		}
	}
	misordered := false
	for _, n := range g.Nodes {
		if n == nil {
			continue
		}
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			if _, ok := defined[v]; ok {
				continue
			}
			if p := v.Producer; p != nil {
				if j, ok := inGraph[p]; ok && j > inGraph[n] && producesValue(p, v) {
					misordered = true
					errs.add(fmt.Errorf("%s: input %d %q is produced by later %s; nodes are not in topological order", n, i, v.Name, p))
					continue
				}
			}
			errs.add(fmt.Errorf("%s: input %d %q is not defined (not a graph input, constant, or earlier node output)", n, i, v.Name))
		}
		for i, v := range n.Outputs {
			if v == nil {
				continue
			}
			if !define(v, n.String()) {
				continue
			}
			if v.Producer != n {
				got := "none"
				if v.Producer != nil {
					got = v.Producer.String()
				}
				errs.add(fmt.Errorf("%s: output %d %q has producer %s, want this node", n, i, v.Name, got))
			}
			if v.Const != nil {
				errs.add(fmt.Errorf("%s: output %d %q carries a constant tensor; constants have no producer", n, i, v.Name))
			}
		}
	}
	if misordered {
		c := &Graph{Nodes: append([]*Node{}, g.Nodes...)}
		if err := c.TopoSort(); err != nil {
			errs.add(err)
		}
	}
	for i, v := range g.Outputs {
		switch {
		case v == nil:
			errs.add(fmt.Errorf("graph output %d is nil", i))
		case defined[v] == "":
			errs.add(fmt.Errorf("graph output %d %q is not defined by any input, constant or node", i, v.Name))
		}
	}
}

// producesValue reports whether v is one of n's outputs.
func producesValue(n *Node, v *Value) bool {
	for _, o := range n.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// verifyValueType checks dims and constant data of one value.
func verifyValueType(v *Value, errs *errorList) {
	if v == nil {
		return
	}
	t := v.Type
	if t.DType != Undefined && !t.DType.Valid() {
		errs.add(fmt.Errorf("value %q has dtype %s, not one effc knows", v.Name, t.DType))
	}
	if t.Ranked {
		for i, d := range t.Shape {
			if d.Size < -1 {
				errs.add(fmt.Errorf("value %q dim %d is %d, want >= 0 (or -1 for unknown)", v.Name, i, d.Size))
			}
		}
		if len(t.Shape) > maxRank {
			errs.add(fmt.Errorf("value %q has rank %d, want at most %d", v.Name, len(t.Shape), maxRank))
		} else if _, err := checkedKnownElements(t.Shape); err != nil {
			errs.add(fmt.Errorf("value %q type %s: %v", v.Name, t, err))
		}
	}
	c := v.Const
	if c == nil {
		return
	}
	count, err := CheckedNumElements(c.Shape)
	if err != nil {
		errs.add(fmt.Errorf("constant %q: %v", v.Name, err))
		return
	}
	if l := c.DataLen(); l >= 0 {
		if int64(l) != count {
			errs.add(fmt.Errorf("constant %q has %d elements, want %d for shape %v", v.Name, l, count, c.Shape))
		}
		if want := dataTypeName(c.DType); want != "" && fmt.Sprintf("%T", c.Data) != want {
			errs.add(fmt.Errorf("constant %q holds %T, want %s for dtype %s", v.Name, c.Data, want, c.DType))
		}
	} else if c.Data == nil && count > 0 {
		errs.add(fmt.Errorf("constant %q has no data, want %d elements for shape %v", v.Name, count, c.Shape))
	}
	if t.DType != Undefined && t.DType != c.DType {
		errs.add(fmt.Errorf("constant %q has type %s but its tensor is %s", v.Name, t.DType, c.DType))
	}
	if t.Ranked {
		match := len(t.Shape) == len(c.Shape)
		for i := 0; match && i < len(c.Shape); i++ {
			match = !t.Shape[i].Known() || t.Shape[i].Size == c.Shape[i]
		}
		if !match {
			errs.add(fmt.Errorf("constant %q has type shape %s but its tensor has shape %v", v.Name, t.Shape, c.Shape))
		}
	}
}

// dataTypeName is the Go type of Tensor.Data for dt, as %T prints it.
func dataTypeName(dt DType) string {
	if !dt.Valid() {
		return ""
	}
	return fmt.Sprintf("%T", MakeSlice(dt, 0))
}

// verifyNode checks one node against its schema.
func verifyNode(n *Node, errs *errorList) {
	if n == nil {
		return
	}
	def := LookupOp(n.Domain, n.Op)
	if def == nil {
		if errs.full() {
			errs.dropped++ // skip the edit-distance suggestion
			return
		}
		errs.add(unknownOpError(n))
		return
	}
	verifyArity(n, "input", n.Inputs, def.Inputs, errs)
	verifyArity(n, "output", n.Outputs, def.Outputs, errs)
	verifyAttrs(n, def, errs)
	verifyDTypes(n, def, errs)
}

// verifyArity checks counts and that required slots are present.
func verifyArity(n *Node, what string, vals []*Value, ps []Param, errs *errorList) {
	count := 0
	for i, v := range vals {
		if v != nil {
			count = i + 1
		}
	}
	lo, hi := minArity(ps), maxArity(ps)
	var want string
	switch {
	case hi < 0:
		want = fmt.Sprintf("at least %d", lo)
	case lo == hi:
		want = fmt.Sprint(hi)
	default:
		want = fmt.Sprintf("%d to %d", lo, hi)
	}
	if count < lo || (hi >= 0 && count > hi) {
		errs.add(fmt.Errorf("%s: has %d %ss, want %s", n, count, what, want))
		return
	}
	for i := 0; i < count; i++ {
		p := param(ps, i)
		if vals[i] == nil && !p.Optional {
			errs.add(fmt.Errorf("%s: %s %d (%s) is missing, want a value (it is not optional)", n, what, i, p.Name))
		}
	}
}

// verifyAttrs checks attribute kinds, required attributes, unknown names.
func verifyAttrs(n *Node, def *OpDef, errs *errorList) {
	for _, name := range n.SortedAttrNames() {
		a := n.Attrs[name]
		ad, ok := def.Attrs[name]
		if !ok {
			errs.add(fmt.Errorf("%s: unknown attribute %q; %s has %s", n, name, n.Op, attrList(def)))
			continue
		}
		if a == nil {
			errs.add(fmt.Errorf("%s: attribute %q is nil", n, name))
			continue
		}
		if a.Kind != ad.Kind {
			errs.add(fmt.Errorf("%s: attribute %q has kind %s, want %s", n, name, a.Kind, ad.Kind))
		}
	}
	var names []string
	for name := range def.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if def.Attrs[name].Required && !n.HasAttr(name) {
			errs.add(fmt.Errorf("%s: missing required attribute %q (%s)", n, name, def.Attrs[name].Kind))
		}
	}
}

// attrList names an op's attributes for messages.
func attrList(def *OpDef) string {
	if len(def.Attrs) == 0 {
		return "no attributes"
	}
	names := make([]string, 0, len(def.Attrs))
	for k := range def.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	return "attributes " + strings.Join(names, ", ")
}

// verifyDTypes checks type constraints and same-variable agreement.
func verifyDTypes(n *Node, def *OpDef, errs *errorList) {
	type binding struct {
		dt    DType
		where string
	}
	bound := map[string]binding{}
	check := func(what string, i int, v *Value, p *Param) {
		if v == nil || p == nil || v.Type.DType == Undefined {
			return
		}
		dt := v.Type.DType
		if b, ok := bound[p.TypeVar]; ok {
			if b.dt != dt {
				errs.add(fmt.Errorf("%s: %s %d has dtype %s, want %s (same as %s)", n, what, i, dt, b.dt, b.where))
			}
			return
		}
		allowed := def.TypeVars[p.TypeVar]
		if !containsDType(allowed, dt) {
			errs.add(fmt.Errorf("%s: %s %d has dtype %s, want %s", n, what, i, dt, dtypeSetString(allowed)))
			return
		}
		bound[p.TypeVar] = binding{dt, fmt.Sprintf("%s %d", what, i)}
	}
	for i, v := range n.Inputs {
		check("input", i, v, param(def.Inputs, i))
	}
	for i, v := range n.Outputs {
		check("output", i, v, param(def.Outputs, i))
	}
}

func containsDType(set []DType, d DType) bool {
	for _, x := range set {
		if x == d {
			return true
		}
	}
	return false
}

// dtypeSetString prints "f32" or "one of f16, f32, f64".
func dtypeSetString(set []DType) string {
	if len(set) == 1 {
		return set[0].String()
	}
	parts := make([]string, len(set))
	for i, d := range set {
		parts[i] = d.String()
	}
	return "one of " + strings.Join(parts, ", ")
}
