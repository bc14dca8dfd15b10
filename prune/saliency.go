package prune

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// activationImportance measures, on the calibration inputs, how much each
// channel feeds its consumers: for every stem reading a traced value x,
// E|x_c| (the mean magnitude of channel c over the inputs and positions)
// times the L2 norm of the stem's weight columns for c, summed over the
// stems. A channel whose values are small, or that its consumers weigh
// lightly, contributes little to what follows and goes first. It also
// returns each channel's mean at those values, for mean replacement (see
// constants). Only running sums per channel are kept.
func (a *Analysis) activationImportance(g *ir.Graph, calib []map[string]*ir.Tensor) (map[int]float64, map[*ir.Value]map[int]float64, error) {
	t := a.t
	type watch struct {
		d        *desc
		sum, abs []float64
		count    float64
	}
	watched := map[*ir.Value]*watch{}
	for _, n := range g.Nodes {
		x := n.Input(0)
		if d := t.descs[x]; d != nil && isStem(n) && watched[x] == nil {
			watched[x] = &watch{d: d, sum: make([]float64, len(d.atoms)), abs: make([]float64, len(d.atoms))}
		}
	}
	for i, in := range calib {
		_, err := interp.RunWith(g, in, interp.RunOptions{Observe: func(v *ir.Value, x *ir.Tensor) error {
			w := watched[v]
			if w == nil {
				return nil
			}
			inner := product(x.Shape[w.d.axis+1:])
			dim := x.Shape[w.d.axis]
			for k, n := 0, x.Len(); k < n; k++ {
				pos := (int64(k) / inner) % dim / w.d.block
				v := x.Float64At(k)
				w.sum[pos] += v
				w.abs[pos] += math.Abs(v)
			}
			w.count += float64(int64(x.Len()) / dim * w.d.block)
			return nil
		}})
		if err != nil {
			return nil, nil, fmt.Errorf("calibration input %d: %w", i, err)
		}
	}
	imp := map[int]float64{}
	means := map[*ir.Value]map[int]float64{}
	for v, w := range watched {
		if w.count == 0 {
			continue
		}
		m := map[int]float64{}
		for pos, at := range w.d.atoms {
			m[t.find(at)] = w.sum[pos] / w.count
		}
		means[v] = m
	}
	for _, n := range g.Nodes {
		w := watched[n.Input(0)]
		if w == nil || !isStem(n) || w.count == 0 {
			continue
		}
		for pos, at := range w.d.atoms {
			for _, r := range t.atoms[at].refs {
				if r.node != n || r.role != roleIn {
					continue
				}
				wt := n.Inputs[r.input].Const
				sq := 0.0
				forSlice(wt, r, func(k int) { sq += wt.Float64At(k) * wt.Float64At(k) })
				imp[t.find(at)] += w.abs[pos] / w.count * math.Sqrt(sq)
			}
		}
	}
	return imp, means, nil
}

// selectSalient adds to cand the least salient live channels of prunable
// groups until opts.Ratio of the prunable cost is removed. Saliency is the
// channel's importance relative to its group's mean, divided by the square
// root of the cost it saves relative to the mean cost: channels that
// matter little for their layer go first, expensive ones sooner (the
// square root keeps cost from outweighing importance). Importance is
// measured on data when imp is given (see activationImportance), else it
// is the channel's parameter norm. A removed live channel is folded like a
// dead one: as if its weight rows were zero, so its bias (through
// BatchNormalization and activations) reaches the consumers.
func (a *Analysis) selectSalient(opts Options, cand map[int]bool, imp map[int]float64) {
	importance := func(c *channel) float64 {
		if imp != nil {
			return imp[c.root]
		}
		return c.norm
	}
	cost := func(c *channel) float64 {
		if opts.By == "params" {
			return float64(c.params)
		}
		return float64(c.macs)
	}
	var all []*channel
	total, removed := 0.0, 0.0
	left := map[*Group]int{}
	for _, gr := range a.Groups {
		if !gr.Prunable {
			continue
		}
		left[gr] = gr.Channels
		for _, c := range gr.chans {
			total += cost(c)
			if cand[c.root] {
				removed += cost(c)
				left[gr]--
				continue
			}
			all = append(all, c)
		}
	}
	if len(all) == 0 || total == 0 {
		return
	}
	meanCost := total / float64(len(all)+len(cand))
	score := map[*channel]float64{}
	for _, c := range all {
		mean := 0.0
		for _, o := range c.group.chans {
			mean += importance(o)
		}
		mean /= float64(len(c.group.chans))
		rel := 1.0
		if mean > 0 {
			rel = importance(c) / mean
		}
		cc := math.Max(cost(c), 1) / math.Max(meanCost, 1)
		score[c] = rel / math.Sqrt(cc)
	}
	sort.SliceStable(all, func(i, j int) bool { return score[all[i]] < score[all[j]] })
	for _, c := range all {
		if removed >= opts.Ratio*total {
			break
		}
		if left[c.group] <= 1 {
			continue
		}
		cand[c.root] = true
		left[c.group]--
		removed += cost(c)
	}
}
