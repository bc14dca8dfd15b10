package interp

import (
	"fmt"
	"math"
	"strings"

	"github.com/effc/effc/ir"
)

// actFunc is one recurrent-cell activation.
type actFunc func(float64) float64

// makeActivation builds the named activation (case-insensitive). Functions
// that take parameters consume alpha/beta from the front of the attribute
// lists, falling back to the ONNX defaults when the lists run out.
func makeActivation(name string, alphas, betas *[]float32) (actFunc, error) {
	next := func(l *[]float32, def float64) float64 {
		if len(*l) == 0 {
			return def
		}
		v := float64((*l)[0])
		*l = (*l)[1:]
		return v
	}
	switch strings.ToLower(name) {
	case "sigmoid":
		return func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, nil
	case "tanh":
		return math.Tanh, nil
	case "relu":
		return func(x float64) float64 { return max(x, 0) }, nil
	case "affine":
		a, b := next(alphas, 1), next(betas, 0)
		return func(x float64) float64 { return a*x + b }, nil
	case "leakyrelu":
		a := next(alphas, 0.01)
		return func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}, nil
	case "thresholdedrelu":
		a := next(alphas, 1)
		return func(x float64) float64 {
			if x >= a {
				return x
			}
			return 0
		}, nil
	case "scaledtanh":
		a, b := next(alphas, 1), next(betas, 1)
		return func(x float64) float64 { return a * math.Tanh(b*x) }, nil
	case "hardsigmoid":
		a, b := next(alphas, 0.2), next(betas, 0.5)
		return func(x float64) float64 { return min(max(a*x+b, 0), 1) }, nil
	case "elu":
		a := next(alphas, 1)
		return func(x float64) float64 {
			if x < 0 {
				return a * (math.Exp(x) - 1)
			}
			return x
		}, nil
	case "softsign":
		return func(x float64) float64 { return x / (1 + math.Abs(x)) }, nil
	case "softplus":
		return func(x float64) float64 { return math.Log1p(math.Exp(x)) }, nil
	}
	return nil, fmt.Errorf("activation %q is not supported", name)
}

// rnnSpec describes one recurrent op: gate count, activations per
// direction and their defaults.
type rnnSpec struct {
	op      string
	gates   int      // gate blocks in W and R (RNN 1, GRU 3, LSTM 4)
	defActs []string // per direction
	hasCell bool     // LSTM: initial_c, P, Y_c
}

var (
	rnnSpecRNN  = rnnSpec{op: "RNN", gates: 1, defActs: []string{"Tanh"}}
	rnnSpecGRU  = rnnSpec{op: "GRU", gates: 3, defActs: []string{"Sigmoid", "Tanh"}}
	rnnSpecLSTM = rnnSpec{op: "LSTM", gates: 4, defActs: []string{"Sigmoid", "Tanh", "Tanh"}, hasCell: true}
)

// rnnSetup is the validated, float64 form of a recurrent node's inputs.
type rnnSetup struct {
	seq, batch, in, hid, nd int
	layout                  int64
	x                       []float64 // [seq, batch, in]
	w, r, b                 []float64 // [nd, G*H, in], [nd, G*H, H], [nd, 2*G*H]
	lens                    []int64   // [batch]
	h0, c0                  []float64 // [nd, batch, H]
	p                       []float64 // [nd, 3*H] (LSTM peepholes)
	acts                    [][]actFunc
	clip                    float64 // 0: none
}

// setupRNN validates X, W, R, B, sequence_lens, initial_h (and for LSTM
// initial_c, P) and the attributes shared by RNN, GRU and LSTM.
func setupRNN(n *ir.Node, in []*ir.Tensor, sp rnnSpec) (*rnnSetup, error) {
	x, w, r := in[0], in[1], in[2]
	for i, t := range in {
		if t != nil && i != 4 && !t.DType.IsFloat() {
			return nil, fmt.Errorf("input %d has dtype %s, want a float type", i, t.DType)
		}
	}
	if len(x.Shape) != 3 {
		return nil, fmt.Errorf("input 0 (X) has rank %d (shape %v), want 3", len(x.Shape), x.Shape)
	}
	s := &rnnSetup{layout: n.AttrInt("layout", 0)}
	switch s.layout {
	case 0:
		s.seq, s.batch = int(x.Shape[0]), int(x.Shape[1])
	case 1:
		s.batch, s.seq = int(x.Shape[0]), int(x.Shape[1])
	default:
		return nil, fmt.Errorf("layout %d is not 0 or 1", s.layout)
	}
	s.in = int(x.Shape[2])
	switch dir := n.AttrString("direction", "forward"); dir {
	case "forward", "reverse":
		s.nd = 1
	case "bidirectional":
		s.nd = 2
	default:
		return nil, fmt.Errorf("direction %q is not forward, reverse or bidirectional", dir)
	}
	if len(r.Shape) != 3 {
		return nil, fmt.Errorf("input 2 (R) has rank %d (shape %v), want 3", len(r.Shape), r.Shape)
	}
	s.hid = int(n.AttrInt("hidden_size", r.Shape[2]))
	G, H, nd := sp.gates, s.hid, s.nd
	if !equalShape(w.Shape, []int64{int64(nd), int64(G * H), int64(s.in)}) {
		return nil, fmt.Errorf("input 1 (W) has shape %v, want [%d,%d,%d] (directions, %d×hidden_size, input size)", w.Shape, nd, G*H, s.in, G)
	}
	if !equalShape(r.Shape, []int64{int64(nd), int64(G * H), int64(H)}) {
		return nil, fmt.Errorf("input 2 (R) has shape %v, want [%d,%d,%d]", r.Shape, nd, G*H, H)
	}
	s.x = x.Float64s()
	if s.layout == 1 { // to [seq, batch, in]
		s.x = permute3(s.x, s.batch, s.seq, s.in)
	}
	s.w, s.r = w.Float64s(), r.Float64s()
	s.b = make([]float64, nd*2*G*H)
	if b := opt(in, 3); b != nil {
		if !equalShape(b.Shape, []int64{int64(nd), int64(2 * G * H)}) {
			return nil, fmt.Errorf("input 3 (B) has shape %v, want [%d,%d]", b.Shape, nd, 2*G*H)
		}
		s.b = b.Float64s()
	}
	s.lens = make([]int64, s.batch)
	for i := range s.lens {
		s.lens[i] = int64(s.seq)
	}
	if l := opt(in, 4); l != nil {
		v, err := ints1D(l, "input 4 (sequence_lens)")
		if err != nil {
			return nil, err
		}
		if len(v) != s.batch {
			return nil, fmt.Errorf("input 4 (sequence_lens) has %d elements, batch size is %d", len(v), s.batch)
		}
		for _, k := range v {
			if k < 0 || k > int64(s.seq) {
				return nil, fmt.Errorf("input 4 (sequence_lens) %v has a length outside [0, %d]", v, s.seq)
			}
		}
		s.lens = v
	}
	state := func(i int, what string) ([]float64, error) {
		t := opt(in, i)
		if t == nil {
			return make([]float64, nd*s.batch*H), nil
		}
		want := []int64{int64(nd), int64(s.batch), int64(H)}
		if s.layout == 1 {
			want = []int64{int64(s.batch), int64(nd), int64(H)}
		}
		if !equalShape(t.Shape, want) {
			return nil, fmt.Errorf("input %d (%s) has shape %v, want %v", i, what, t.Shape, want)
		}
		v := t.Float64s()
		if s.layout == 1 {
			v = permute3(v, s.batch, nd, H)
		}
		return v, nil
	}
	var err error
	if s.h0, err = state(5, "initial_h"); err != nil {
		return nil, err
	}
	if sp.hasCell {
		if s.c0, err = state(6, "initial_c"); err != nil {
			return nil, err
		}
		s.p = make([]float64, nd*3*H)
		if p := opt(in, 7); p != nil {
			if !equalShape(p.Shape, []int64{int64(nd), int64(3 * H)}) {
				return nil, fmt.Errorf("input 7 (P) has shape %v, want [%d,%d]", p.Shape, nd, 3*H)
			}
			s.p = p.Float64s()
		}
	}
	if c := n.AttrFloat("clip", 0); c > 0 {
		s.clip = float64(c)
	}
	names := n.AttrStrings("activations", nil)
	per := len(sp.defActs)
	switch {
	case names == nil:
		for d := 0; d < nd; d++ {
			names = append(names, sp.defActs...)
		}
	case len(names) == per && nd == 2:
		names = append(append([]string{}, names...), names...)
	case len(names) != per*nd:
		return nil, fmt.Errorf("activations lists %d functions, want %d (%d per direction)", len(names), per*nd, per)
	}
	alphas := append([]float32{}, n.AttrFloats("activation_alpha", nil)...)
	betas := append([]float32{}, n.AttrFloats("activation_beta", nil)...)
	for d := 0; d < nd; d++ {
		var fs []actFunc
		for _, name := range names[d*per : (d+1)*per] {
			f, err := makeActivation(name, &alphas, &betas)
			if err != nil {
				return nil, err
			}
			fs = append(fs, f)
		}
		s.acts = append(s.acts, fs)
	}
	return s, nil
}

// permute3 swaps the first two axes of a [a, b, c] array.
func permute3(v []float64, a, b, c int) []float64 {
	out := make([]float64, len(v))
	for i := 0; i < a; i++ {
		for j := 0; j < b; j++ {
			copy(out[(j*a+i)*c:][:c], v[(i*b+j)*c:][:c])
		}
	}
	return out
}

// gatePre computes, for direction d, batch row xrow and state h, the
// pre-activations X·W^T + Wb for all G*H gate units into xw, and H·R^T + Rb
// into hr.
func (s *rnnSetup) gatePre(d, G int, xrow, h, xw, hr []float64) {
	GH := G * s.hid
	W := s.w[d*GH*s.in:]
	R := s.r[d*GH*s.hid:]
	Wb := s.b[d*2*GH:]
	Rb := Wb[GH:]
	for u := 0; u < GH; u++ {
		a := Wb[u]
		for i, xv := range xrow {
			a += xv * W[u*s.in+i]
		}
		xw[u] = a
		c := Rb[u]
		for k, hv := range h {
			c += hv * R[u*s.hid+k]
		}
		hr[u] = c
	}
}

// clipv applies the clip attribute to a pre-activation.
func (s *rnnSetup) clipv(v float64) float64 {
	if s.clip > 0 {
		return min(max(v, -s.clip), s.clip)
	}
	return v
}

// stepFunc advances one batch row by one time step in place: h (and c for
// LSTM) hold the previous state and receive the new one.
type stepFunc func(d int, xrow, h, c []float64)

// runRNN runs the directions over the sequence and assembles Y, Y_h and
// (for LSTM) Y_c in the requested layout and X's dtype.
func runRNN(n *ir.Node, s *rnnSetup, dt ir.DType, withCell bool, step stepFunc) []*ir.Tensor {
	H, B, T, nd := s.hid, s.batch, s.seq, s.nd
	y := make([]float64, T*nd*B*H)
	yh := make([]float64, nd*B*H)
	var yc []float64
	if withCell {
		yc = make([]float64, nd*B*H)
	}
	reverse := n.AttrString("direction", "forward") == "reverse"
	for d := 0; d < nd; d++ {
		back := reverse || d == 1
		for b := 0; b < B; b++ {
			off := (d*B + b) * H
			h := append([]float64{}, s.h0[off:off+H]...)
			var c []float64
			if withCell {
				c = append([]float64{}, s.c0[off:off+H]...)
			}
			L := int(s.lens[b])
			for k := 0; k < L; k++ {
				t := k
				if back {
					t = L - 1 - k
				}
				step(d, s.x[(t*B+b)*s.in:][:s.in], h, c)
				copy(y[((t*nd+d)*B+b)*H:][:H], h)
			}
			copy(yh[off:off+H], h)
			if withCell {
				copy(yc[off:off+H], c)
			}
		}
	}
	yShape := []int64{int64(T), int64(nd), int64(B), int64(H)}
	hShape := []int64{int64(nd), int64(B), int64(H)}
	if s.layout == 1 {
		// Y [seq, nd, batch, H] -> [batch, seq, nd, H]; Y_h [nd, batch, H] -> [batch, nd, H].
		// [T*nd, B, H] -> [B, T*nd, H] is exactly [B, T, nd, H].
		y = permute3(y, T*nd, B, H)
		yh = permute3(yh, nd, B, H)
		if withCell {
			yc = permute3(yc, nd, B, H)
		}
		yShape = []int64{int64(B), int64(T), int64(nd), int64(H)}
		hShape = []int64{int64(B), int64(nd), int64(H)}
	}
	outs := []*ir.Tensor{fromFloat64(dt, yShape, y), fromFloat64(dt, hShape, yh)}
	if withCell {
		outs = append(outs, fromFloat64(dt, hShape, yc))
	}
	return numOutputs(n, outs...)
}

// rnnKernel: RNN(X, W, R, B?, sequence_lens?, initial_h?):
// H = f(X·Wᵀ + H·Rᵀ + Wb + Rb).
func rnnKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	s, err := setupRNN(n, in, rnnSpecRNN)
	if err != nil {
		return nil, err
	}
	H := s.hid
	xw, hr := make([]float64, H), make([]float64, H)
	return runRNN(n, s, in[0].DType, false, func(d int, xrow, h, _ []float64) {
		s.gatePre(d, 1, xrow, h, xw, hr)
		f := s.acts[d][0]
		for j := 0; j < H; j++ {
			h[j] = f(s.clipv(xw[j] + hr[j]))
		}
	}), nil
}

// gruKernel: GRU(X, W, R, B?, sequence_lens?, initial_h?) with gates
// z, r, h (in that order in W, R, B) and linear_before_reset.
func gruKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	s, err := setupRNN(n, in, rnnSpecGRU)
	if err != nil {
		return nil, err
	}
	H := s.hid
	lbr := n.AttrInt("linear_before_reset", 0) != 0
	xw, hr := make([]float64, 3*H), make([]float64, 3*H)
	rh := make([]float64, H)
	return runRNN(n, s, in[0].DType, false, func(d int, xrow, h, _ []float64) {
		s.gatePre(d, 3, xrow, h, xw, hr)
		f, g := s.acts[d][0], s.acts[d][1]
		z := make([]float64, H)
		for j := 0; j < H; j++ {
			z[j] = f(s.clipv(xw[j] + hr[j]))
			r := f(s.clipv(xw[H+j] + hr[H+j]))
			rh[j] = r
		}
		hh := make([]float64, H)
		if lbr {
			for j := 0; j < H; j++ {
				hh[j] = g(s.clipv(xw[2*H+j] + rh[j]*hr[2*H+j]))
			}
		} else {
			// (r ⊙ H)·Rhᵀ + Rbh
			R := s.r[(d*3*H+2*H)*H:]
			Rb := s.b[d*6*H+3*H+2*H:]
			for j := 0; j < H; j++ {
				a := Rb[j]
				for k := 0; k < H; k++ {
					a += rh[k] * h[k] * R[j*H+k]
				}
				hh[j] = g(s.clipv(xw[2*H+j] + a))
			}
		}
		for j := 0; j < H; j++ {
			h[j] = (1-z[j])*hh[j] + z[j]*h[j]
		}
	}), nil
}

// lstmKernel: LSTM(X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?)
// with gates i, o, f, c (in that order in W, R, B), peepholes P (i, o, f),
// input_forget coupling and outputs Y, Y_h, Y_c.
func lstmKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	s, err := setupRNN(n, in, rnnSpecLSTM)
	if err != nil {
		return nil, err
	}
	H := s.hid
	coupled := n.AttrInt("input_forget", 0) != 0
	xw, hr := make([]float64, 4*H), make([]float64, 4*H)
	return runRNN(n, s, in[0].DType, true, func(d int, xrow, h, c []float64) {
		s.gatePre(d, 4, xrow, h, xw, hr)
		f, g, hf := s.acts[d][0], s.acts[d][1], s.acts[d][2]
		P := s.p[d*3*H:]
		for j := 0; j < H; j++ {
			pre := func(gate int) float64 { return xw[gate*H+j] + hr[gate*H+j] }
			ft := f(s.clipv(pre(2) + P[2*H+j]*c[j]))
			it := f(s.clipv(pre(0) + P[j]*c[j]))
			if coupled {
				it = 1 - ft
			}
			ct := g(s.clipv(pre(3)))
			cn := ft*c[j] + it*ct
			ot := f(s.clipv(pre(1) + P[H+j]*cn))
			c[j] = cn
			h[j] = ot * hf(cn)
		}
	}), nil
}
