// Package prune implements OTOv2 structured pruning on effc graphs: it
// partitions the channels of every Conv, ConvTranspose, Gemm and MatMul with
// constant weights into zero-invariant groups (ZIGs), finds the channels
// whose producer weights are exactly zero, and rebuilds the graph without
// them, folding any constant such a channel still emits into its consumers'
// biases so the outputs do not change. With a ratio it also removes the
// channels of lowest saliency, which is lossy and reported as such.
//
// Analyze gives the groups (effc inspect --groups); Prune removes channels
// (the prune-otov2 pass, effc prune, effc compile --prune).
package prune

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/effc/effc/ir"
)

// Analysis is the ZIG partition of a graph.
type Analysis struct {
	Groups []*Group `json:"groups"`

	t     *tracer
	roots map[int]*channel // component root atom -> channel
}

// Group is a set of channels that share their structure: the same
// producers (stems), accessories and consumers. Each of its channels is one
// zero-invariant group in the OTOv2 sense: removing it removes one output
// channel from every producer and the matching slice of every member.
type Group struct {
	ID int `json:"id"`
	// Producers are the stem nodes whose output channels the group holds;
	// more than one when an elementwise join (a residual Add) ties them.
	Producers []string `json:"producers"`
	// Members lists every parameter slice one channel touches.
	Members  []Member `json:"members"`
	Channels int      `json:"channels"`
	Prunable bool     `json:"prunable"`
	// Reason says why the group is not prunable.
	Reason string `json:"reason,omitempty"`
	// Zero lists the channels whose parameters (producer rows, biases,
	// normalization scales and shifts) are all exactly zero, OTOv2's zero
	// groups; Dead the channels whose producer weight rows alone are zero,
	// whose value is therefore a per-channel constant.
	Zero []int `json:"zero"`
	Dead []int `json:"dead"`
	// Norms is the L2 norm of each channel's parameters (producer rows,
	// biases, accessory scales and shifts).
	Norms []float64 `json:"norms"`
	// ParamsPerChannel and MACsPerChannel are what removing one channel
	// saves (MACs per sample, symbolic dims counted as 1).
	ParamsPerChannel int64 `json:"params_per_channel"`
	MACsPerChannel   int64 `json:"macs_per_channel"`

	chans []*channel
}

// Member is one parameter a group's channels index.
type Member struct {
	Node  string `json:"node"`
	Op    string `json:"op"`
	Param string `json:"param"`
	// Role is "out" (producer weight rows), "bias", "acc" (per-channel
	// parameter of a BatchNormalization, PRelu, depthwise Conv or constant
	// operand), "stat" (BatchNormalization running statistics) or "in"
	// (a consumer's input columns).
	Role string `json:"role"`
	Axis int    `json:"axis"`
	// Block is how many consecutive elements along Axis one channel owns
	// (the H·W block of a flattened feature map); 1 otherwise.
	Block int64 `json:"block"`
}

// channel is one component of atoms: one ZIG.
type channel struct {
	root   int
	group  *Group
	index  int // position in its group
	refs   []ref
	bad    string
	zero   bool
	dead   bool
	norm   float64
	params int64
	macs   int64
}

// Analyze partitions g's channels into zero-invariant groups. g must have
// inferred shapes (ir.InferShapes).
func Analyze(g *ir.Graph) (*Analysis, error) {
	t := trace(g)
	a := &Analysis{t: t, roots: map[int]*channel{}}
	var order []int
	for i := range t.atoms {
		r := t.find(i)
		c := a.roots[r]
		if c == nil {
			c = &channel{root: r}
			a.roots[r] = c
			order = append(order, r)
		}
		at := &t.atoms[i]
		c.refs = append(c.refs, at.refs...)
		if c.bad == "" {
			c.bad = at.bad
		}
	}
	stems := map[int][]string{}
	for i := range t.atoms {
		r := t.find(i)
		stems[r] = append(stems[r], t.atoms[i].stem.Name)
	}
	macs := map[*ir.Node]int64{}
	for _, n := range g.Nodes {
		macs[n] = ir.MACs(n, nil)
	}
	groups := map[string]*Group{}
	for _, r := range order {
		c := a.roots[r]
		st := stems[r]
		if c.bad == "" && hasDuplicates(st) {
			c.bad = "one channel of " + st[0] + " is tied to another channel of the same node"
		}
		c.measure(macs)
		key := strings.Join(dedupSorted(st), ",") + "|" + memberKey(c)
		gr := groups[key]
		if gr == nil {
			gr = &Group{ID: len(a.Groups), Producers: dedupSorted(st), Members: members(c)}
			groups[key] = gr
			a.Groups = append(a.Groups, gr)
		}
		c.group, c.index = gr, len(gr.chans)
		gr.chans = append(gr.chans, c)
	}
	for _, gr := range a.Groups {
		gr.finish()
	}
	return a, nil
}

func hasDuplicates(s []string) bool {
	seen := map[string]bool{}
	for _, x := range s {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}

func dedupSorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	j := 0
	for i, x := range out {
		if i == 0 || x != out[j-1] {
			out[j] = x
			j++
		}
	}
	return out[:j]
}

// memberKey identifies the parameters a channel touches, without indices.
func memberKey(c *channel) string {
	var b strings.Builder
	for _, m := range members(c) {
		fmt.Fprintf(&b, "%s/%s/%s/%d/%d;", m.Node, m.Param, m.Role, m.Axis, m.Block)
	}
	return b.String()
}

// members lists c's parameters once each, in the order refs were recorded.
func members(c *channel) []Member {
	var out []Member
	seen := map[string]bool{}
	for _, r := range c.refs {
		m := Member{Node: r.node.Name, Op: r.node.Op, Param: r.node.Inputs[r.input].Name, Role: r.role.String(), Axis: r.axis, Block: r.hi - r.lo}
		k := fmt.Sprintf("%s/%d/%d", m.Node, r.input, r.axis)
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

// measure computes c's zero and dead flags, norm and savings.
func (c *channel) measure(macs map[*ir.Node]int64) {
	c.zero, c.dead = true, true
	var sq float64
	for _, r := range c.refs {
		t := r.node.Inputs[r.input].Const
		allZero := true
		forSlice(t, r, func(i int) {
			x := t.Float64At(i)
			if x != 0 {
				allZero = false
			}
			if r.role != roleStat && r.role != roleIn {
				sq += x * x
			}
		})
		switch r.role {
		case roleOut:
			c.dead = c.dead && allZero
			c.zero = c.zero && allZero
		case roleBias, roleAcc:
			c.zero = c.zero && allZero
		}
		n := sliceLen(t, r)
		c.params += n
		if m := macs[r.node]; m > 0 && r.role != roleStat && r.role != roleBias {
			c.macs += m * n / int64(t.Len())
		}
	}
	c.norm = math.Sqrt(sq)
}

// sliceLen is the number of elements of t in r's slice.
func sliceLen(t *ir.Tensor, r ref) int64 {
	if t.Shape[r.axis] == 0 {
		return 0
	}
	return int64(t.Len()) / t.Shape[r.axis] * (r.hi - r.lo)
}

// forSlice calls f with the flat index of every element of t in r's slice.
func forSlice(t *ir.Tensor, r ref, f func(i int)) {
	outer := product(t.Shape[:r.axis])
	dim := t.Shape[r.axis]
	inner := product(t.Shape[r.axis+1:])
	for o := int64(0); o < outer; o++ {
		for k := r.lo; k < r.hi; k++ {
			base := (o*dim + k) * inner
			for i := int64(0); i < inner; i++ {
				f(int(base + i))
			}
		}
	}
}

func (gr *Group) finish() {
	gr.Channels = len(gr.chans)
	gr.Prunable = true
	gr.Zero, gr.Dead, gr.Norms = []int{}, []int{}, make([]float64, len(gr.chans))
	for i, c := range gr.chans {
		if c.bad != "" && gr.Prunable {
			gr.Prunable, gr.Reason = false, c.bad
		}
		if c.zero {
			gr.Zero = append(gr.Zero, i)
		}
		if c.dead {
			gr.Dead = append(gr.Dead, i)
		}
		gr.Norms[i] = c.norm
		gr.ParamsPerChannel = max(gr.ParamsPerChannel, c.params)
		gr.MACsPerChannel = max(gr.MACsPerChannel, c.macs)
	}
}

// PrunableChannels counts the channels of prunable groups.
func (a *Analysis) PrunableChannels() int {
	n := 0
	for _, gr := range a.Groups {
		if gr.Prunable {
			n += gr.Channels
		}
	}
	return n
}

// ZeroChannel sets every parameter that makes channel ch of gr nonzero
// (producer weight rows, biases, accessory scales and shifts) to exactly
// zero in place, turning it into an OTOv2 zero group that Prune removes
// losslessly. It is how a training script's group selection, or a test,
// marks channels; Analyze again afterwards to see the new zero lists.
func (a *Analysis) ZeroChannel(gr *Group, ch int) error {
	if ch < 0 || ch >= len(gr.chans) {
		return fmt.Errorf("prune: group %d has %d channels, not %d", gr.ID, gr.Channels, ch)
	}
	for _, r := range gr.chans[ch].refs {
		if r.role == roleStat || r.role == roleIn {
			continue
		}
		t := r.node.Inputs[r.input].Const
		if t.DType != ir.Float32 && t.DType != ir.Float64 {
			return fmt.Errorf("prune: %s: parameter %q is %s; only f32 and f64 parameters can be zeroed", r.node, r.node.Inputs[r.input].Name, t.DType)
		}
		forSlice(t, r, func(i int) { setFloat(t, i, 0) })
	}
	return nil
}
