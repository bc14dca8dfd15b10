package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func tkSig(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestRNNHandComputed checks a 1-unit RNN over two steps, and a parameterized
// activation, against values worked out by hand.
func TestRNNHandComputed(t *testing.T) {
	x := tkF32(tkS(2, 1, 1), 1, 2)
	w, r, b := tkF32(tkS(1, 1, 1), 2), tkF32(tkS(1, 1, 1), 0.5), tkF32(tkS(1, 2), 0.1, 0.2)
	outs := tkRun(t, "RNN", 2, map[string]*ir.Attr{"hidden_size": ir.IntAttr(1)}, x, w, r, b)
	h1 := math.Tanh(2 + 0.3)
	h2 := math.Tanh(4 + 0.5*h1 + 0.3)
	tkNear(t, outs[0], tkS(2, 1, 1, 1), []float64{h1, h2}, 1e-6)
	tkNear(t, outs[1], tkS(1, 1, 1), []float64{h2}, 1e-6)

	leaky := map[string]*ir.Attr{"activations": ir.StringsAttr("LeakyRelu"), "activation_alpha": ir.FloatsAttr(0.1)}
	outs = tkRun(t, "RNN", 1, leaky, tkF32(tkS(1, 1, 1), 2), tkF32(tkS(1, 1, 1), -1), r)
	tkNear(t, outs[0], tkS(1, 1, 1, 1), []float64{-0.2}, 1e-6)
	tkErr(t, "activation \"Gelu\" is not supported", "RNN", 1, map[string]*ir.Attr{"activations": ir.StringsAttr("Gelu")}, x, w, r)
	tkErr(t, "input 1 (W) has shape [1 1 2]", "RNN", 1, nil, x, tkF32(tkS(1, 1, 2), 1, 1), r)
}

// TestGRULinearBeforeReset checks one GRU step in both reset modes.
func TestGRULinearBeforeReset(t *testing.T) {
	x := tkF32(tkS(1, 1, 1), 1)
	w := tkF32(tkS(1, 3, 1), 0.5, -0.3, 0.8) // z, r, h
	r := tkF32(tkS(1, 3, 1), 0.2, 0.4, -0.6)
	b := tkF32(tkS(1, 6), 0.1, 0, 0.2, 0, 0.1, 0.3)
	h0 := tkF32(tkS(1, 1, 1), 0.5)
	z := tkSig(0.5 + 0.2*0.5 + 0.1)
	rg := tkSig(-0.3 + 0.4*0.5 + 0.1) // = 0.5
	for _, c := range []struct {
		lbr int64
		hh  float64
	}{
		{0, math.Tanh(0.8 + 0.2 + (rg*0.5)*-0.6 + 0.3)},
		{1, math.Tanh(0.8 + 0.2 + rg*(-0.6*0.5+0.3))},
	} {
		outs := tkRun(t, "GRU", 2, map[string]*ir.Attr{"linear_before_reset": ir.IntAttr(c.lbr)}, x, w, r, b, nil, h0)
		want := (1-z)*c.hh + z*0.5
		tkNear(t, outs[1], tkS(1, 1, 1), []float64{want}, 1e-6)
	}
}

// TestLSTMCellOptions checks one LSTM step with peepholes, then with
// input_forget coupling and with clip.
func TestLSTMCellOptions(t *testing.T) {
	x := tkF32(tkS(1, 1, 1), 1)
	w := tkF32(tkS(1, 4, 1), 1, 2, 3, 4) // i, o, f, c
	r := tkF32(tkS(1, 4, 1), 0, 0, 0, 0)
	c0 := tkF32(tkS(1, 1, 1), 0.5)
	p := tkF32(tkS(1, 3), 0.1, 0.2, 0.3) // i, o, f
	step := func(i, f, ct, opre func(c float64) float64) (h, c float64) {
		c = f(0.5)*0.5 + i(0.5)*ct(0)
		return tkSig(opre(c)) * math.Tanh(c), c
	}
	cases := []struct {
		name  string
		attrs map[string]*ir.Attr
		i, f  func(float64) float64
		ct    float64
		opre  func(float64) float64
	}{
		{"peepholes", nil,
			func(c float64) float64 { return tkSig(1 + 0.1*c) }, func(c float64) float64 { return tkSig(3 + 0.3*c) },
			math.Tanh(4), func(c float64) float64 { return 2 + 0.2*c }},
		{"input_forget", map[string]*ir.Attr{"input_forget": ir.IntAttr(1)},
			func(c float64) float64 { return 1 - tkSig(3+0.3*c) }, func(c float64) float64 { return tkSig(3 + 0.3*c) },
			math.Tanh(4), func(c float64) float64 { return 2 + 0.2*c }},
		{"clip", map[string]*ir.Attr{"clip": ir.FloatAttr(1.5)},
			func(c float64) float64 { return tkSig(1 + 0.1*c) }, func(c float64) float64 { return tkSig(1.5) },
			math.Tanh(1.5), func(c float64) float64 { return 1.5 }},
	}
	for _, c := range cases {
		h, cc := step(c.i, c.f, func(float64) float64 { return c.ct }, c.opre)
		outs := tkRun(t, "LSTM", 3, c.attrs, x, w, r, nil, nil, nil, c0, p)
		tkNear(t, outs[0], tkS(1, 1, 1, 1), []float64{h}, 1e-6)
		tkNear(t, outs[1], tkS(1, 1, 1), []float64{h}, 1e-6)
		tkNear(t, outs[2], tkS(1, 1, 1), []float64{cc}, 1e-6)
	}
}

// tkRamp returns n deterministic values in [-0.5, 0.5).
func tkRamp(n int, seed int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((i*37+seed*11)%23)/23 - 0.5
	}
	return v
}

// TestLSTMDirections checks that a bidirectional LSTM equals a forward and a
// reverse run side by side, that reverse equals forward on the time-reversed
// input, and that steps past sequence_lens are zero with Y_h holding the
// last valid state.
func TestLSTMDirections(t *testing.T) {
	const T, B, I, H = 3, 2, 2, 3
	x := tkF32(tkS(T, B, I), tkRamp(T*B*I, 1)...)
	w2 := tkRamp(2*4*H*I, 2)
	r2 := tkRamp(2*4*H*H, 3)
	b2 := tkRamp(2*8*H, 4)
	half := func(v []float32, d int) []float32 { n := len(v) / 2; return v[d*n : (d+1)*n] }
	lens := tkI64(tkS(B), 3, 2)
	run := func(dir string, d int, xs *ir.Tensor) []*ir.Tensor {
		attrs := map[string]*ir.Attr{"direction": ir.StringAttr(dir), "hidden_size": ir.IntAttr(H)}
		if dir == "bidirectional" {
			return tkRun(t, "LSTM", 3, attrs, xs, tkF32(tkS(2, 4*H, I), w2...), tkF32(tkS(2, 4*H, H), r2...), tkF32(tkS(2, 8*H), b2...), lens)
		}
		return tkRun(t, "LSTM", 3, attrs, xs, tkF32(tkS(1, 4*H, I), half(w2, d)...), tkF32(tkS(1, 4*H, H), half(r2, d)...), tkF32(tkS(1, 8*H), half(b2, d)...), lens)
	}
	bi := run("bidirectional", 0, x)
	fw := run("forward", 0, x)
	rv := run("reverse", 1, x)
	by := bi[0].Data.([]float32) // [T, 2, B, H]
	for tt := 0; tt < T; tt++ {
		for d, one := range []*ir.Tensor{fw[0], rv[0]} {
			got := by[(tt*2+d)*B*H:][:B*H]
			want := one.Data.([]float32)[tt*B*H:][:B*H]
			for k := range got {
				if math.Abs(float64(got[k]-want[k])) > 1e-6 {
					t.Fatalf("bidirectional Y[t=%d, dir=%d] = %v, single-direction run gives %v", tt, d, got, want)
				}
			}
		}
	}
	// Batch 1 has length 2: its Y at t=2 is zero in both directions.
	for d := 0; d < 2; d++ {
		for _, v := range by[(2*2+d)*B*H+H:][:H] {
			if v != 0 {
				t.Fatalf("Y past sequence_lens is %v, want 0", by[(2*2+d)*B*H+H:][:H])
			}
		}
	}
	// Forward Y_h of batch 1 is its Y at t=1.
	tkNear(t, &ir.Tensor{DType: ir.Float32, Shape: tkS(H), Data: fw[1].Data.([]float32)[H:]}, tkS(H),
		toFloat64(&ir.Tensor{DType: ir.Float32, Shape: tkS(H), Data: fw[0].Data.([]float32)[(1*B+1)*H:][:H]}), 0)
	// Reverse on x equals forward (with the reverse weights) on x reversed
	// in time, for the full-length batch 0.
	xr := make([]float32, T*B*I)
	xd := x.Data.([]float32)
	for tt := 0; tt < T; tt++ {
		copy(xr[tt*B*I:][:B*I], xd[(T-1-tt)*B*I:][:B*I])
	}
	attrs := map[string]*ir.Attr{"hidden_size": ir.IntAttr(H)}
	fr := tkRun(t, "LSTM", 2, attrs, tkF32(tkS(T, B, I), xr...), tkF32(tkS(1, 4*H, I), half(w2, 1)...), tkF32(tkS(1, 4*H, H), half(r2, 1)...), tkF32(tkS(1, 8*H), half(b2, 1)...))
	tkNear(t, &ir.Tensor{DType: ir.Float32, Shape: tkS(H), Data: fr[1].Data.([]float32)[:H]}, tkS(H),
		toFloat64(&ir.Tensor{DType: ir.Float32, Shape: tkS(H), Data: rv[1].Data.([]float32)[:H]}), 1e-6)
}

// TestRNNLayoutBatchFirst checks that layout=1 is layout=0 with batch and
// time (and, for states, batch and direction) swapped.
func TestRNNLayoutBatchFirst(t *testing.T) {
	const T, B, I, H = 2, 3, 2, 2
	x0 := tkRamp(T*B*I, 5)
	x1 := make([]float32, len(x0))
	for tt := 0; tt < T; tt++ {
		for b := 0; b < B; b++ {
			copy(x1[(b*T+tt)*I:][:I], x0[(tt*B+b)*I:][:I])
		}
	}
	w, r := tkF32(tkS(2, 3*H, I), tkRamp(2*3*H*I, 6)...), tkF32(tkS(2, 3*H, H), tkRamp(2*3*H*H, 7)...)
	h0 := tkRamp(2*B*H, 8)
	h1 := make([]float32, len(h0))
	for d := 0; d < 2; d++ {
		for b := 0; b < B; b++ {
			copy(h1[(b*2+d)*H:][:H], h0[(d*B+b)*H:][:H])
		}
	}
	dir := ir.StringAttr("bidirectional")
	a := tkRun(t, "GRU", 2, map[string]*ir.Attr{"direction": dir}, tkF32(tkS(T, B, I), x0...), w, r, nil, nil, tkF32(tkS(2, B, H), h0...))
	c := tkRun(t, "GRU", 2, map[string]*ir.Attr{"direction": dir, "layout": ir.IntAttr(1)}, tkF32(tkS(B, T, I), x1...), w, r, nil, nil, tkF32(tkS(B, 2, H), h1...))
	if !equalShape(c[0].Shape, tkS(B, T, 2, H)) || !equalShape(c[1].Shape, tkS(B, 2, H)) {
		t.Fatalf("layout 1 shapes %v %v, want [%d %d 2 %d] [%d 2 %d]", c[0].Shape, c[1].Shape, B, T, H, B, H)
	}
	ya, yc := a[0].Data.([]float32), c[0].Data.([]float32)
	for tt := 0; tt < T; tt++ {
		for d := 0; d < 2; d++ {
			for b := 0; b < B; b++ {
				for j := 0; j < H; j++ {
					if ya[((tt*2+d)*B+b)*H+j] != yc[((b*T+tt)*2+d)*H+j] {
						t.Fatalf("Y differs at t=%d dir=%d b=%d j=%d", tt, d, b, j)
					}
				}
			}
		}
	}
}
