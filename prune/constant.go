package prune

import (
	"fmt"
	"math"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// A channel whose producer weight rows are all zero is not necessarily zero:
// its value is the producer's bias, passed through BatchNormalization,
// activations and joins. It is the same at every position, so removing the
// channel is exact when each consumer adds that constant's contribution to
// its own bias instead (algorithms.md 1.8). constants computes, for every
// candidate channel, its constant at every traced value, and the folds the
// consumers need; a channel whose constant cannot be computed, or whose fold
// would not be exact (a zero-padded k×k convolution sees fewer taps at the
// border), is reported.

// fold is one consumer input channel that reads a nonzero constant.
type fold struct {
	node *ir.Node
	pos  int // channel position in the consumer's traced input
	root int
	k    float64
}

// constState is the result of constant propagation.
type constState struct {
	t       *tracer
	axisOf  map[paramKey]int // channel axis of each per-channel constant operand
	kv      map[*ir.Value]map[int]float64
	folds   []fold
	fail    map[int]string // root -> why its constant is unusable
	inexact map[int]string // root -> why folding it is approximate
}

func (s *constState) failf(r int, format string, args ...any) {
	if _, ok := s.fail[r]; !ok {
		s.fail[r] = fmt.Sprintf(format, args...)
	}
}

func (s *constState) inexactf(r int, format string, args ...any) {
	if _, ok := s.inexact[r]; !ok {
		s.inexact[r] = fmt.Sprintf(format, args...)
	}
}

// get returns the constant of root r at v (NaN when unknown).
func (s *constState) get(v *ir.Value, r int) float64 {
	if m := s.kv[v]; m != nil {
		if k, ok := m[r]; ok {
			return k
		}
	}
	return math.NaN()
}

func (s *constState) set(v *ir.Value, r int, k float64) {
	m := s.kv[v]
	if m == nil {
		m = map[int]float64{}
		s.kv[v] = m
	}
	m[r] = k
}

// constants propagates the constant value of every candidate channel.
//
// measured, when not nil, holds channel means observed on calibration data
// at the stems' inputs for channels ratio pruning removes while they are
// live: folding a channel's mean ("mean replacement") keeps its average
// contribution, which its bias alone does not.
func (a *Analysis) constants(g *ir.Graph, cand map[int]bool, measured map[*ir.Value]map[int]float64) *constState {
	t := a.t
	s := &constState{t: t, axisOf: map[paramKey]int{}, kv: map[*ir.Value]map[int]float64{}, fail: map[int]string{}, inexact: map[int]string{}}
	for v, m := range measured {
		for r, k := range m {
			s.set(v, r, k)
		}
	}
	for _, at := range t.atoms {
		for _, r := range at.refs {
			s.axisOf[paramKey{r.node, r.input}] = r.axis
		}
	}
	for _, n := range g.Nodes {
		x := n.Input(0)
		in := t.descs[x]
		// Stems consume their traced input: record the folds.
		if isStem(n) && in != nil {
			for i, at := range in.atoms {
				r := t.find(at)
				if !cand[r] {
					continue
				}
				k := s.get(x, r)
				switch {
				case math.IsNaN(k):
					s.failf(r, "%s reads it, and its constant value there is unknown", n)
				case k == 0:
				case n.Op == "ConvTranspose":
					s.failf(r, "%s reads it as a nonzero constant, which a transposed convolution does not spread evenly", n)
				default:
					if n.Op == "Conv" && padded(n) {
						s.inexactf(r, "%s zero-pads a nonzero constant channel, so border outputs would change", n)
					}
					s.folds = append(s.folds, fold{node: n, pos: i, root: r, k: k})
				}
			}
		}
		for oi, o := range n.Outputs {
			d := t.descs[o]
			if d == nil || o == nil {
				continue
			}
			for i, at := range d.atoms {
				r := t.find(at)
				if !cand[r] {
					continue
				}
				if _, known := measured[o][r]; known {
					continue
				}
				if k, ok := s.value(n, oi, i, r, in); ok {
					s.set(o, r, k)
				}
			}
		}
	}
	return s
}

// isStem reports whether n creates new channels from its traced input.
func isStem(n *ir.Node) bool {
	switch n.Op {
	case "Conv":
		w := n.Input(1)
		return w.IsConst() && n.AttrInt("group", 1) == 1
	case "ConvTranspose", "Gemm", "MatMul":
		return n.Input(1).IsConst()
	}
	return false
}

// padded reports whether a Conv pads its input.
func padded(n *ir.Node) bool {
	if p := n.AttrString("auto_pad", "NOTSET"); p != "NOTSET" && p != "VALID" {
		return true
	}
	for _, p := range n.AttrInts("pads", nil) {
		if p != 0 {
			return true
		}
	}
	return false
}

// value computes root r's constant at output oi, position i of n; in is
// n's traced first input (nil when none).
func (s *constState) value(n *ir.Node, oi, i, r int, in *desc) (float64, bool) {
	x := n.Input(0)
	kin := s.get(x, r)
	switch {
	case n.Op == "Conv" && n.AttrInt("group", 1) != 1:
		// Depthwise: k·ΣW[c] + B[c].
		w := n.Inputs[1].Const
		b := 0.0
		if bv := n.Input(2); bv != nil {
			b = bv.Const.Float64At(i)
		}
		if kin == 0 {
			return b, true
		}
		if padded(n) {
			s.inexactf(r, "%s zero-pads a nonzero constant channel", n)
		}
		return kin*sumSlice(w, ref{axis: 0, lo: int64(i), hi: int64(i) + 1}) + b, true
	case n.Op == "Conv" || n.Op == "ConvTranspose":
		if b := n.Input(2); b != nil {
			return b.Const.Float64At(i), true
		}
		return 0, true
	case n.Op == "Gemm":
		c := n.Input(2)
		if c == nil {
			return 0, true
		}
		beta := float64(n.AttrFloat("beta", 1))
		if c.Const.Len() == 1 {
			return beta * c.Const.Float64At(0), true
		}
		return beta * c.Const.Float64At(i), true
	case n.Op == "MatMul":
		return 0, true
	case n.Op == "BatchNormalization":
		p := func(j int) float64 { return n.Inputs[j].Const.Float64At(i) }
		eps := float64(n.AttrFloat("epsilon", 1e-5))
		return p(1)*(kin-p(3))/math.Sqrt(p(4)+eps) + p(2), true
	case n.Op == "InstanceNormalization":
		// A constant channel has zero deviation from its mean.
		return n.Inputs[2].Const.Float64At(i), true
	case n.Op == "AveragePool":
		if kin != 0 && n.AttrInt("count_include_pad", 0) != 0 && padded(n) {
			s.inexactf(r, "%s averages zero padding into a nonzero constant channel", n)
		}
		return kin, true
	case n.Op == "MaxPool" || n.Op == "GlobalMaxPool" || n.Op == "GlobalAveragePool":
		return kin, true
	case n.Op == "LpPool" || n.Op == "GlobalLpPool" || n.Op == "ReduceSum" || n.Op == "ReduceL1" ||
		n.Op == "ReduceL2" || n.Op == "ReduceSumSquare":
		if kin == 0 {
			return 0, true
		}
		return math.NaN(), false
	case n.Op == "ReduceMean" || n.Op == "ReduceMax" || n.Op == "ReduceMin":
		return kin, true
	case n.Op == "Pad":
		pv := 0.0
		if v := n.Input(2); v != nil && v.IsConst() {
			pv = v.Const.Float64At(0)
		}
		if n.AttrString("mode", "constant") == "constant" && kin != pv {
			s.inexactf(r, "%s pads a constant channel with another value", n)
		}
		return kin, true
	case unaryOps[n.Op] || binaryOps[n.Op] || n.Op == "PRelu":
		return s.eval(n, i, r)
	}
	// Data movement: the value of each channel travels unchanged.
	for _, v := range n.Inputs {
		if k := s.get(v, r); !math.IsNaN(k) {
			return k, true
		}
	}
	return math.NaN(), false
}

// eval runs an elementwise node on one-element tensors holding root r's
// constants (and the per-channel slices of its constant operands).
func (s *constState) eval(n *ir.Node, i, r int) (float64, bool) {
	args := make([]*ir.Tensor, len(n.Inputs))
	zeroMul := false
	for j, v := range n.Inputs {
		if v == nil {
			continue
		}
		if k := s.get(v, r); !math.IsNaN(k) {
			args[j] = scalarLike(v.Type.DType, k)
			if args[j] == nil {
				return math.NaN(), false
			}
			zeroMul = zeroMul || (n.Op == "Mul" && k == 0)
			continue
		}
		if !v.IsConst() {
			if !binaryOps[n.Op] && n.Op != "PRelu" {
				return math.NaN(), false
			}
			args[j] = nil // a shared non-constant operand: only 0·x is known
			continue
		}
		args[j] = s.constArg(n, j, v, i)
	}
	for j, v := range n.Inputs {
		if v != nil && args[j] == nil {
			if zeroMul {
				return 0, true
			}
			return math.NaN(), false
		}
	}
	out, err := interp.EvalNode(n, args)
	if err != nil || len(out) == 0 || out[0].Len() != 1 {
		return math.NaN(), false
	}
	return out[0].Float64At(0), true
}

// constArg is constant input j of n as seen by channel position i: the
// constant itself when it is shared by every channel, else the channel's
// element (nil when the channel's slice is not uniform).
func (s *constState) constArg(n *ir.Node, j int, v *ir.Value, i int) *ir.Tensor {
	if v.Const.Len() == 1 {
		return v.Const
	}
	axis, ok := s.axisOf[paramKey{n, j}]
	d := s.t.descs[n.Outputs[0]]
	if !ok || d == nil {
		return nil
	}
	lo := int64(i) * d.block
	first := math.NaN()
	uniform := true
	forSlice(v.Const, ref{axis: axis, lo: lo, hi: lo + d.block}, func(k int) {
		x := v.Const.Float64At(k)
		if math.IsNaN(first) {
			first = x
		} else if x != first {
			uniform = false
		}
	})
	if !uniform {
		return nil
	}
	return scalarLike(v.Const.DType, first)
}

// paramKey names input `input` of node.
type paramKey struct {
	node  *ir.Node
	input int
}

// sumSlice sums t's elements in r's slice.
func sumSlice(t *ir.Tensor, r ref) float64 {
	sum := 0.0
	forSlice(t, r, func(i int) { sum += t.Float64At(i) })
	return sum
}

// scalarLike makes a one-element tensor of dtype dt holding k, or nil for
// dtypes effc does not fold.
func scalarLike(dt ir.DType, k float64) *ir.Tensor {
	switch dt {
	case ir.Float32:
		return ir.FromFloat32([]int64{1}, []float32{float32(k)})
	case ir.Float64:
		t := ir.NewTensor(ir.Float64, []int64{1})
		t.Data.([]float64)[0] = k
		return t
	}
	return nil
}
