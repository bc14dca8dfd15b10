package prune

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/ir"
)

// Options configures Prune. The zero value removes only channels whose
// producer weights are exactly zero, losslessly.
type Options struct {
	// Ratio in (0,1) also removes the least salient channels of prunable
	// groups until that fraction of the prunable MACs (or parameters, see
	// By) is gone. That changes the outputs; the report says by how much
	// when calibration inputs are given.
	Ratio float64
	// By is what Ratio measures: "macs" (the default) or "params".
	By string
	// Calib, with a Ratio, are inputs to rank channels on: by how much
	// they feed their consumers (activationImportance) instead of by
	// parameter norm.
	Calib []map[string]*ir.Tensor
}

// Result is what Prune did.
type Result struct {
	// Analysis is the group partition of the graph before pruning.
	Analysis *Analysis `json:"analysis"`
	// Removed counts the channels removed, RemovedZero those of them that
	// were exactly zero (Group.Zero) and RemovedDead those whose producer
	// weights alone were zero (their constant was folded into consumers).
	Removed     int `json:"removed"`
	RemovedZero int `json:"removed_zero"`
	RemovedDead int `json:"removed_dead"`
	// Lossless is true when every removed channel was dead and folded
	// exactly: the outputs are unchanged up to rounding.
	Lossless bool `json:"lossless"`
	// PredictedMACs is what the removed channels account for: for every
	// node with a parameter they index, its MACs times the fraction of its
	// work they remove (1 - kept rows · kept columns for a convolution).
	// The measured drop, Before.MACs - After.MACs, also includes the
	// parameter-free ops (activations, joins, pooling) on those channels.
	PredictedMACs int64 `json:"predicted_macs"`
	// Kept lists dead channels that stayed, with the reason.
	Kept   []KeptChannel `json:"kept,omitempty"`
	Layers []Layer       `json:"layers"`
	Before Totals        `json:"before"`
	After  Totals        `json:"after"`
}

// KeptChannel is a dead channel Prune could not remove.
type KeptChannel struct {
	Group   int    `json:"group"`
	Channel int    `json:"channel"`
	Reason  string `json:"reason"`
}

// Layer is one stem's size before and after pruning.
type Layer struct {
	Node           string `json:"node"`
	Op             string `json:"op"`
	ChannelsBefore int64  `json:"channels_before"`
	ChannelsAfter  int64  `json:"channels_after"`
	ParamsBefore   int64  `json:"params_before"`
	ParamsAfter    int64  `json:"params_after"`
	MACsBefore     int64  `json:"macs_before"`
	MACsAfter      int64  `json:"macs_after"`
}

// Totals are whole-model numbers (MACs per sample; symbolic dims count 1).
type Totals struct {
	Params int64 `json:"params"`
	Bytes  int64 `json:"bytes"`
	MACs   int64 `json:"macs"`
}

// Prune removes channels from g in place (see Options) and returns what
// it did. g must pass shape inference; it is re-inferred and verified
// afterwards. A channel of a group that is not prunable is never touched,
// and every group keeps at least one channel.
func Prune(g *ir.Graph, opts Options) (*Result, error) {
	if opts.Ratio < 0 || opts.Ratio >= 1 {
		return nil, fmt.Errorf("prune: ratio %g is outside [0,1)", opts.Ratio)
	}
	if opts.By != "" && opts.By != "macs" && opts.By != "params" {
		return nil, fmt.Errorf("prune: by %q: want macs or params", opts.By)
	}
	if err := ir.InferShapes(g); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	before, beforeTotals := measureLayers(g)
	a, err := Analyze(g)
	if err != nil {
		return nil, err
	}
	cand := map[int]bool{}
	for _, gr := range a.Groups {
		if !gr.Prunable {
			continue
		}
		for _, c := range gr.chans {
			if c.dead {
				cand[c.root] = true
			}
		}
	}
	var measured map[*ir.Value]map[int]float64
	if opts.Ratio > 0 {
		var imp map[int]float64
		if len(opts.Calib) > 0 {
			if imp, measured, err = a.activationImportance(g, opts.Calib); err != nil {
				return nil, fmt.Errorf("prune: ranking channels on the calibration inputs: %w", err)
			}
		}
		dead := map[int]bool{}
		for r := range cand {
			dead[r] = true
		}
		a.selectSalient(opts, cand, imp)
		// Mean replacement is for the live channels ratio pruning removes;
		// dead ones keep their exact constants.
		for _, m := range measured {
			for r := range m {
				if dead[r] || !cand[r] {
					delete(m, r)
				}
			}
		}
	}
	s := a.constants(g, cand, measured)
	res := &Result{Analysis: a, Lossless: true}
	remove := map[int]bool{}
	for _, gr := range a.Groups {
		left := gr.Channels
		for _, c := range gr.chans {
			if !cand[c.root] {
				continue
			}
			reason := s.fail[c.root]
			if reason == "" && opts.Ratio == 0 {
				reason = s.inexact[c.root]
			}
			if reason == "" && left == 1 {
				reason = "it is the last channel of its group"
			}
			if reason != "" {
				if c.dead {
					res.Kept = append(res.Kept, KeptChannel{Group: gr.ID, Channel: c.index, Reason: reason})
				}
				continue
			}
			remove[c.root] = true
			left--
			res.Removed++
			if c.zero {
				res.RemovedZero++
			}
			if c.dead {
				res.RemovedDead++
			}
			if !c.dead || s.inexact[c.root] != "" {
				res.Lossless = false
			}
		}
	}
	if res.PredictedMACs, err = a.rewrite(g, s, remove); err != nil {
		return nil, err
	}
	after, afterTotals := measureLayers(g)
	res.Before, res.After = beforeTotals, afterTotals
	for _, n := range g.Nodes {
		b, ok := before[n]
		if !ok {
			continue
		}
		l := after[n]
		res.Layers = append(res.Layers, Layer{Node: n.Name, Op: n.Op,
			ChannelsBefore: b.ChannelsBefore, ChannelsAfter: l.ChannelsBefore,
			ParamsBefore: b.ParamsBefore, ParamsAfter: l.ParamsBefore,
			MACsBefore: b.MACsBefore, MACsAfter: l.MACsBefore})
	}
	return res, nil
}

// cut lists, per axis of one constant operand, the indices to delete.
type cut map[int]map[int64]bool

// rewrite removes the channels in remove from g and returns the MACs they
// account for.
func (a *Analysis) rewrite(g *ir.Graph, s *constState, remove map[int]bool) (int64, error) {
	t := a.t
	users := g.Consumers()
	// 1. Fold removed constant channels into consumer biases, reading the
	// weights before their columns go.
	deltas := map[*ir.Node][]float64{}
	for _, f := range s.folds {
		if !remove[f.root] {
			continue
		}
		d, err := foldDelta(f, t.descs[f.node.Inputs[0]])
		if err != nil {
			return 0, err
		}
		if acc := deltas[f.node]; acc != nil {
			for i := range acc {
				acc[i] += d[i]
			}
		} else {
			deltas[f.node] = d
		}
	}
	// 2. Collect the slices to delete per constant operand and axis.
	cuts := map[paramKey]cut{}
	for r := range remove {
		for _, rf := range a.roots[r].refs {
			k := paramKey{rf.node, rf.input}
			if cuts[k] == nil {
				cuts[k] = cut{}
			}
			if cuts[k][rf.axis] == nil {
				cuts[k][rf.axis] = map[int64]bool{}
			}
			for i := rf.lo; i < rf.hi; i++ {
				cuts[k][rf.axis][i] = true
			}
		}
	}
	predicted := predictMACs(g, cuts)
	keys := make([]paramKey, 0, len(cuts))
	for k := range cuts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].node.Name != keys[j].node.Name {
			return keys[i].node.Name < keys[j].node.Name
		}
		return keys[i].input < keys[j].input
	})
	for _, k := range keys {
		v := k.node.Inputs[k.input]
		nt := v.Const
		axes := make([]int, 0, len(cuts[k]))
		for ax := range cuts[k] {
			axes = append(axes, ax)
		}
		sort.Ints(axes)
		for _, ax := range axes {
			var err error
			if nt, err = deleteAlong(nt, ax, cuts[k][ax]); err != nil {
				return 0, fmt.Errorf("prune: %s: %w", k.node, err)
			}
		}
		setConst(g, k.node, k.input, nt, users)
	}
	// The folds go into the (already cut) biases, without the consumers'
	// own removed outputs.
	var inserted []*ir.Node
	for _, n := range g.Nodes {
		d := deltas[n]
		if d == nil {
			continue
		}
		d = keepOutputs(n, d, cuts)
		add, err := applyDelta(g, n, d, users)
		if err != nil {
			return 0, err
		}
		if add != nil {
			inserted = append(inserted, add)
		}
	}
	// 3. Attributes and shape operands that spell channel counts.
	for _, f := range t.fixups {
		if err := a.applyFixup(g, f, remove, users); err != nil {
			return 0, err
		}
	}
	for _, add := range inserted {
		insertAfter(g, add)
	}
	// 4. Shapes change: forget inferred ones (except graph inputs and
	// outputs, which pruning never touches) and infer again.
	outputs := map[*ir.Value]bool{}
	for _, o := range g.Outputs {
		outputs[o] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && !outputs[o] {
				o.Type = ir.Type{DType: o.Type.DType}
			}
		}
	}
	if err := ir.InferShapes(g); err != nil {
		return 0, fmt.Errorf("prune: the compacted graph does not infer (please report this with the model): %w", err)
	}
	if err := ir.Verify(g); err != nil {
		return 0, fmt.Errorf("prune: the compacted graph does not verify (please report this with the model): %w", err)
	}
	return predicted, nil
}

// predictMACs is the work the cuts remove: per node, its MACs times one
// minus the fraction of its most-cut parameter that stays.
func predictMACs(g *ir.Graph, cuts map[paramKey]cut) int64 {
	var total float64
	for _, n := range g.Nodes {
		kept := 1.0
		for i, v := range n.Inputs {
			c := cuts[paramKey{n, i}]
			if c == nil {
				continue
			}
			k := 1.0
			for ax, idx := range c {
				k *= 1 - float64(len(idx))/float64(v.Const.Shape[ax])
			}
			kept = math.Min(kept, k)
		}
		total += float64(ir.MACs(n, nil)) * (1 - kept)
	}
	return int64(math.Round(total))
}

// keepOutputs drops from a consumer's per-output delta the outputs the
// consumer itself loses.
func keepOutputs(n *ir.Node, d []float64, cuts map[paramKey]cut) []float64 {
	axis := 0
	switch {
	case n.Op == "MatMul", n.Op == "Gemm" && n.AttrInt("transB", 0) == 0:
		axis = 1
	}
	gone := cuts[paramKey{n, 1}][axis]
	if len(gone) == 0 {
		return d
	}
	out := make([]float64, 0, len(d)-len(gone))
	for i, x := range d {
		if !gone[int64(i)] {
			out = append(out, x)
		}
	}
	return out
}

// kept counts the channel positions of d that stay.
func (a *Analysis) kept(d *desc, remove map[int]bool) int64 {
	n := int64(0)
	for _, at := range d.atoms {
		if !remove[a.t.find(at)] {
			n++
		}
	}
	return n
}

// applyFixup rewrites the channel counts a node spells out.
func (a *Analysis) applyFixup(g *ir.Graph, f fixup, remove map[int]bool, users map[*ir.Value][]*ir.Node) error {
	n := f.node
	switch n.Op {
	case "Conv": // depthwise
		n.SetAttr("group", ir.IntAttr(a.kept(f.in, remove)))
	case "Split":
		sizes := make([]int64, len(f.outs))
		for i, d := range f.outs {
			sizes[i] = a.kept(d, remove)
		}
		st := ir.FromInt64([]int64{int64(len(sizes))}, sizes)
		if n.Input(1) == nil {
			for len(n.Inputs) < 2 {
				n.Inputs = append(n.Inputs, nil)
			}
			n.Inputs[1] = g.AddConst(n.Name+"_split", st)
			delete(n.Attrs, "num_outputs")
		} else {
			setConst(g, n, 1, st, users)
		}
	case "Slice":
		starts, _ := constInts(n.Input(1))
		ends, _ := constInts(n.Input(2))
		axes, _ := constInts(n.Input(3))
		r := rank(n.Input(0))
		lo := int64(0)
		for i, at := range f.in.atoms {
			if len(f.outs[0].atoms) > 0 && at == f.outs[0].atoms[0] {
				lo = int64(i)
				break
			}
		}
		newLo := a.kept(&desc{atoms: f.in.atoms[:lo]}, remove)
		for j := range starts {
			axis := j
			if axes != nil {
				axis = normAxis(axes[j], r)
			}
			if axis == f.in.axis {
				starts[j], ends[j] = newLo, newLo+a.kept(f.outs[0], remove)
			}
		}
		setConst(g, n, 1, ir.FromInt64([]int64{int64(len(starts))}, starts), users)
		setConst(g, n, 2, ir.FromInt64([]int64{int64(len(ends))}, ends), users)
	case "Reshape":
		shape, ok := constInts(n.Input(1))
		d := f.outs[0]
		if !ok || d.axis >= len(shape) {
			return fmt.Errorf("prune: %s: its shape is not a constant of the output's rank", n)
		}
		if shape[d.axis] != -1 {
			shape[d.axis] = a.kept(d, remove) * d.block
		}
		setConst(g, n, 1, ir.FromInt64([]int64{int64(len(shape))}, shape), users)
	case "Resize":
		sizes, _ := constInts(n.Input(3))
		sizes[f.in.axis] = a.kept(f.in, remove) * f.in.block
		setConst(g, n, 3, ir.FromInt64([]int64{int64(len(sizes))}, sizes), users)
	}
	return nil
}

// setConst replaces constant input i of n with t, in place when n is its
// only reader, else as a new constant.
func setConst(g *ir.Graph, n *ir.Node, i int, t *ir.Tensor, users map[*ir.Value][]*ir.Node) {
	v := n.Inputs[i]
	if len(users[v]) == 1 && !g.IsOutput(v) {
		v.Const = t
		v.Type = ir.TensorType(t.DType, ir.ShapeOf(t.Shape...))
		return
	}
	nv := g.AddConst(v.Name, t)
	users[nv] = []*ir.Node{n}
	n.Inputs[i] = nv
	// v lost one reader.
	for j, u := range users[v] {
		if u == n {
			users[v] = append(users[v][:j:j], users[v][j+1:]...)
			break
		}
	}
}

// deleteAlong returns t without the given indices along axis.
func deleteAlong(t *ir.Tensor, axis int, del map[int64]bool) (*ir.Tensor, error) {
	raw := t.Bytes()
	es := int64(t.DType.Size())
	outer := product(t.Shape[:axis])
	dim := t.Shape[axis]
	inner := product(t.Shape[axis+1:]) * es
	var out []byte
	for o := int64(0); o < outer; o++ {
		for k := int64(0); k < dim; k++ {
			if del[k] {
				continue
			}
			base := (o*dim + k) * inner
			out = append(out, raw[base:base+inner]...)
		}
	}
	shape := append([]int64(nil), t.Shape...)
	shape[axis] = dim - int64(len(del))
	return ir.TensorFromBytes(t.DType, shape, out)
}

// foldDelta is what one removed constant input channel adds to each
// output of its consumer.
func foldDelta(f fold, in *desc) ([]float64, error) {
	n := f.node
	w := n.Inputs[1].Const
	switch n.Op {
	case "Conv":
		cout := w.Shape[0]
		d := make([]float64, cout)
		inner := product(w.Shape[2:])
		for o := int64(0); o < cout; o++ {
			base := (o*w.Shape[1] + int64(f.pos)) * inner
			s := 0.0
			for i := int64(0); i < inner; i++ {
				s += w.Float64At(int(base + i))
			}
			d[o] = f.k * s
		}
		return d, nil
	case "Gemm", "MatMul":
		transB := n.Op == "Gemm" && n.AttrInt("transB", 0) != 0
		alpha := 1.0
		if n.Op == "Gemm" {
			alpha = float64(n.AttrFloat("alpha", 1))
		}
		K, N := w.Shape[0], w.Shape[1]
		if transB {
			K, N = N, K
		}
		d := make([]float64, N)
		lo := int64(f.pos) * in.block
		for j := lo; j < lo+in.block && j < K; j++ {
			for c := int64(0); c < N; c++ {
				idx := j*N + c
				if transB {
					idx = c*K + j
				}
				d[c] += alpha * f.k * w.Float64At(int(idx))
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("prune: %s cannot absorb a constant channel", n)
}

// applyDelta adds d to n's bias (creating it when absent). For a MatMul,
// which has no bias, it returns a new Add node to insert after n.
func applyDelta(g *ir.Graph, n *ir.Node, d []float64, users map[*ir.Value][]*ir.Node) (*ir.Node, error) {
	dt := n.Inputs[1].Const.DType
	if dt != ir.Float32 && dt != ir.Float64 {
		return nil, fmt.Errorf("prune: %s: cannot fold into %s weights", n, dt)
	}
	vec := func(base *ir.Tensor, scale float64) *ir.Tensor {
		t := ir.NewTensor(dt, []int64{int64(len(d))})
		for i := range d {
			x := d[i] / scale
			if base != nil {
				if base.Len() == 1 {
					x += base.Float64At(0)
				} else {
					x += base.Float64At(i)
				}
			}
			setFloat(t, i, x)
		}
		return t
	}
	switch n.Op {
	case "Conv":
		var base *ir.Tensor
		if b := n.Input(2); b != nil {
			base = b.Const
		}
		setInput(g, n, 2, vec(base, 1), users)
	case "Gemm":
		beta := float64(n.AttrFloat("beta", 1))
		var base *ir.Tensor
		if c := n.Input(2); c != nil && beta != 0 {
			base = c.Const
		}
		if beta == 0 {
			beta = 1
			n.SetAttr("beta", ir.FloatAttr(1))
		}
		t := vec(base, beta)
		if c := n.Input(2); c != nil && len(c.Const.Shape) == 2 {
			t.Shape = []int64{1, int64(len(d))}
		}
		setInput(g, n, 2, t, users)
	case "MatMul":
		y := n.Outputs[0]
		// A following bias Add absorbs the fold.
		if u := users[y]; len(u) == 1 && u[0].Op == "Add" && !g.IsOutput(y) {
			add := u[0]
			for j, b := range add.Inputs {
				if b != y && b.IsConst() && b.Const.DType == dt && b.Const.Len() == len(d) &&
					b.Const.Shape[len(b.Const.Shape)-1] == int64(len(d)) {
					t := vec(b.Const, 1)
					t.Shape = append([]int64(nil), b.Const.Shape...)
					setConst(g, add, j, t, users)
					return nil, nil
				}
			}
		}
		out := &ir.Value{Name: g.UniqueName(y.Name + "_folded"), Type: ir.Type{DType: y.Type.DType}}
		if g.IsOutput(y) {
			// The graph output keeps its name.
			y.Name, out.Name = out.Name, y.Name
		}
		g.ReplaceUses(y, out)
		add := &ir.Node{Name: g.UniqueName(n.Name + "_fold"), Op: "Add",
			Inputs: []*ir.Value{y, g.AddConst(n.Name+"_fold_bias", vec(nil, 1))}, Outputs: []*ir.Value{out}}
		out.Producer = add
		return add, nil
	}
	return nil, nil
}

// setInput sets input i of n to constant t, replacing or creating it.
func setInput(g *ir.Graph, n *ir.Node, i int, t *ir.Tensor, users map[*ir.Value][]*ir.Node) {
	if n.Input(i) != nil {
		setConst(g, n, i, t, users)
		return
	}
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	v := g.AddConst(n.Name+"_bias", t)
	users[v] = []*ir.Node{n}
	n.Inputs[i] = v
}

func setFloat(t *ir.Tensor, i int, x float64) {
	switch d := t.Data.(type) {
	case []float32:
		d[i] = float32(x)
	case []float64:
		d[i] = x
	}
}

// insertAfter places add right after the producer of its first input.
func insertAfter(g *ir.Graph, add *ir.Node) {
	p := add.Inputs[0].Producer
	for i, n := range g.Nodes {
		if n == p {
			g.Nodes = append(g.Nodes[:i+1], append([]*ir.Node{add}, g.Nodes[i+1:]...)...)
			return
		}
	}
	g.Nodes = append(g.Nodes, add)
}

// measureLayers counts, per stem node, its output channels, parameters
// and MACs, and the whole graph's totals.
func measureLayers(g *ir.Graph) (map[*ir.Node]Layer, Totals) {
	out := map[*ir.Node]Layer{}
	var tot Totals
	seen := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		macs := ir.MACs(n, nil)
		tot.MACs += macs
		var params int64
		for _, in := range n.Inputs {
			if in.IsConst() && in.Const.DType.IsFloat() {
				params += int64(in.Const.Len())
				if !seen[in] {
					seen[in] = true
					tot.Params += int64(in.Const.Len())
					tot.Bytes += in.Const.ByteSize()
				}
			}
		}
		w := n.Input(1)
		if !w.IsConst() || len(w.Const.Shape) < 2 {
			continue
		}
		var ch int64
		switch n.Op {
		case "Conv":
			ch = w.Const.Shape[0]
		case "ConvTranspose":
			ch = w.Const.Shape[1] * n.AttrInt("group", 1)
		case "Gemm":
			ch = w.Const.Shape[1]
			if n.AttrInt("transB", 0) != 0 {
				ch = w.Const.Shape[0]
			}
		case "MatMul":
			ch = w.Const.Shape[len(w.Const.Shape)-1]
		default:
			continue
		}
		out[n] = Layer{Node: n.Name, Op: n.Op, ChannelsBefore: ch, ParamsBefore: params, MACsBefore: macs}
	}
	return out, tot
}
