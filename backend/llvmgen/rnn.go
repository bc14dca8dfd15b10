package llvmgen

import (
	"fmt"
	"strings"

	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Recurrent kernels (RNN, GRU, LSTM) following interp/rnn.go: scalar loops
// in double precision over directions, batch rows (each with its runtime
// sequence length) and time steps; all attributes the interpreter supports
// (layout, direction, activations with alpha/beta, clip, GRU
// linear_before_reset, LSTM peepholes and input_forget). Sequence lengths are
// clamped into [0, seq]; Y is zero past each row's length.
//
// Scratch holds, in doubles: X·Wᵀ+Wb and H·Rᵀ+Rb for all gate units
// (2·G·H), then the state h, cell c, GRU's r and z, and the candidate (5·H).

func init() {
	for op, g := range rnnGates {
		g := g
		scratchNeeds[op] = func(n *ir.Node) int64 {
			if len(n.Inputs) < 3 || n.Inputs[2] == nil || !n.Inputs[2].Type.Ranked || len(n.Inputs[2].Type.Shape) != 3 {
				return 0
			}
			h := n.AttrInt("hidden_size", 0)
			if d := n.Inputs[2].Type.Shape.Sizes(); h == 0 && len(d) == 3 {
				h = d[2]
			}
			return 8 * (2*int64(g)*h + 5*h)
		}
	}
}

// rnnGates is the gate count of each recurrent op.
var rnnGates = map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}

// rnnDefaultActs are the default activations per direction.
var rnnDefaultActs = map[string][]string{"RNN": {"Tanh"}, "GRU": {"Sigmoid", "Tanh"}, "LSTM": {"Sigmoid", "Tanh", "Tanh"}}

// actFn emits one activation on a double.
type actFn func(x value.Value) value.Value

// rnnActivation builds the named activation, consuming alpha/beta values
// from the front of the lists like the interpreter.
func (k *kernel) rnnActivation(name string, alphas, betas *[]float32) (actFn, error) {
	next := func(l *[]float32, def float64) float64 {
		if len(*l) == 0 {
			return def
		}
		v := float64((*l)[0])
		*l = (*l)[1:]
		return v
	}
	one := mxF64c(1)
	zero := mxF64c(0)
	switch strings.ToLower(name) {
	case "sigmoid":
		return func(x value.Value) value.Value {
			return k.b.NewFDiv(one, k.b.NewFAdd(one, k.call("exp", f64, k.b.NewFNeg(x))))
		}, nil
	case "tanh":
		return func(x value.Value) value.Value { return k.call("tanh", f64, x) }, nil
	case "relu":
		return func(x value.Value) value.Value {
			return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, zero), zero, x)
		}, nil
	case "affine":
		a, b := next(alphas, 1), next(betas, 0)
		return func(x value.Value) value.Value { return k.b.NewFAdd(k.b.NewFMul(mxF64c(a), x), mxF64c(b)) }, nil
	case "leakyrelu":
		a := next(alphas, 0.01)
		return func(x value.Value) value.Value {
			return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, zero), k.b.NewFMul(mxF64c(a), x), x)
		}, nil
	case "thresholdedrelu":
		a := next(alphas, 1)
		return func(x value.Value) value.Value {
			return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGE, x, mxF64c(a)), x, zero)
		}, nil
	case "scaledtanh":
		a, b := next(alphas, 1), next(betas, 1)
		return func(x value.Value) value.Value {
			return k.b.NewFMul(mxF64c(a), k.call("tanh", f64, k.b.NewFMul(mxF64c(b), x)))
		}, nil
	case "hardsigmoid":
		a, b := next(alphas, 0.2), next(betas, 0.5)
		return func(x value.Value) value.Value {
			v := k.b.NewFAdd(k.b.NewFMul(mxF64c(a), x), mxF64c(b))
			return k.mxFMin(k.mxFMax(v, zero), one)
		}, nil
	case "elu":
		a := next(alphas, 1)
		return func(x value.Value) value.Value {
			neg := k.b.NewFMul(mxF64c(a), k.b.NewFSub(k.call("exp", f64, x), one))
			return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, zero), neg, x)
		}, nil
	case "softsign":
		return func(x value.Value) value.Value {
			return k.b.NewFDiv(x, k.b.NewFAdd(one, k.call("llvm.fabs.f64", f64, x)))
		}, nil
	case "softplus":
		return func(x value.Value) value.Value { return k.call("log1p", f64, k.call("exp", f64, x)) }, nil
	}
	return nil, fmt.Errorf("activation %q is not supported", name)
}

// rnnKernel compiles RNN, GRU and LSTM.
func rnnKernel(k *kernel) error {
	op := k.n.Op
	G := int64(rnnGates[op])
	x, w, r := k.in[0], k.in[1], k.in[2]
	bias, lens, h0 := k.mxInput(3), k.mxInput(4), k.mxInput(5)
	var c0, peep *buf
	if op == "LSTM" {
		c0, peep = k.mxInput(6), k.mxInput(7)
	}
	if len(x.shape) != 3 || len(r.shape) != 3 {
		return fmt.Errorf("X and R must have rank 3")
	}
	layout := k.n.AttrInt("layout", 0)
	var T, B int64
	switch layout {
	case 0:
		T, B = x.shape[0], x.shape[1]
	case 1:
		B, T = x.shape[0], x.shape[1]
	default:
		return fmt.Errorf("layout %d is not 0 or 1", layout)
	}
	I := x.shape[2]
	dir := k.n.AttrString("direction", "forward")
	nd := int64(1)
	switch dir {
	case "forward", "reverse":
	case "bidirectional":
		nd = 2
	default:
		return fmt.Errorf("direction %q is not forward, reverse or bidirectional", dir)
	}
	H := k.n.AttrInt("hidden_size", r.shape[2])
	GH := G * H
	if w.len() != nd*GH*I || r.len() != nd*GH*H {
		return fmt.Errorf("W %v or R %v does not match %d directions, %d gates, hidden size %d, input size %d", w.shape, r.shape, nd, G, H, I)
	}
	names := k.n.AttrStrings("activations", nil)
	per := len(rnnDefaultActs[op])
	switch {
	case names == nil:
		for d := int64(0); d < nd; d++ {
			names = append(names, rnnDefaultActs[op]...)
		}
	case len(names) == per && nd == 2:
		names = append(append([]string{}, names...), names...)
	case int64(len(names)) != int64(per)*nd:
		return fmt.Errorf("activations lists %d functions, want %d per direction", len(names), per)
	}
	alphas := append([]float32{}, k.n.AttrFloats("activation_alpha", nil)...)
	betas := append([]float32{}, k.n.AttrFloats("activation_beta", nil)...)
	var acts [][]actFn
	for d := int64(0); d < nd; d++ {
		var fs []actFn
		for _, name := range names[d*int64(per) : (d+1)*int64(per)] {
			f, err := k.rnnActivation(name, &alphas, &betas)
			if err != nil {
				return err
			}
			fs = append(fs, f)
		}
		acts = append(acts, fs)
	}
	clip := float64(k.n.AttrFloat("clip", 0))
	clipv := func(v value.Value) value.Value {
		if clip > 0 {
			return k.mxFMin(k.mxFMax(v, mxF64c(-clip)), mxF64c(clip))
		}
		return v
	}
	lbr := k.n.AttrInt("linear_before_reset", 0) != 0
	coupled := k.n.AttrInt("input_forget", 0) != 0

	sc := k.b.NewBitCast(k.scratch, types.NewPointer(f64))
	part := func(off int64) *buf {
		return &buf{ptr: k.b.NewGetElementPtr(f64, sc, i64(off)), dt: ir.Float64}
	}
	xw, hr := part(0), part(GH)
	hS, cS, rh, zS, hh := part(2*GH), part(2*GH+H), part(2*GH+2*H), part(2*GH+3*H), part(2*GH+4*H)

	y, yh, yc := k.mxOutput(0), k.mxOutput(1), k.mxOutput(2)
	if y != nil {
		k.loop(y.len(), func(i value.Value) { k.mxStoreF64(y, i, mxF64c(0)) })
	}
	xIdx := func(t, b value.Value) value.Value { // first element of X[t, b, :]
		if layout == 0 {
			return k.b.NewMul(k.b.NewAdd(k.b.NewMul(t, i64(B)), b), i64(I))
		}
		return k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(T)), t), i64(I))
	}
	stateIdx := func(d int64, b value.Value) value.Value { // first element of [d, b, :] state
		if layout == 0 {
			return k.b.NewMul(k.b.NewAdd(i64(d*B), b), i64(H))
		}
		return k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(nd)), i64(d)), i64(H))
	}
	yIdx := func(t value.Value, d int64, b value.Value) value.Value {
		if layout == 0 {
			return k.b.NewMul(k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(t, i64(nd)), i64(d)), i64(B)), b), i64(H))
		}
		return k.b.NewMul(k.b.NewAdd(k.b.NewMul(k.b.NewAdd(k.b.NewMul(b, i64(T)), t), i64(nd)), i64(d)), i64(H))
	}
	for d := int64(0); d < nd; d++ {
		back := dir == "reverse" || d == 1
		f := acts[d]
		k.loop(B, func(b value.Value) {
			st := stateIdx(d, b)
			k.loop(H, func(j value.Value) {
				var hv, cv value.Value = mxF64c(0), mxF64c(0)
				if h0 != nil {
					hv = k.mxLoadF64(h0, k.b.NewAdd(st, j))
				}
				if c0 != nil {
					cv = k.mxLoadF64(c0, k.b.NewAdd(st, j))
				}
				k.store(hS, j, hv)
				k.store(cS, j, cv)
			})
			var L value.Value = i64(T)
			if lens != nil {
				L = k.mxClamp(k.mxLoadInt(lens, b), 0, T)
			}
			k.mxLoopV(L, func(step value.Value) {
				t := step
				if back {
					t = k.b.NewSub(k.b.NewSub(L, i64(1)), step)
				}
				xb := xIdx(t, b)
				// Gate pre-activations, accumulated in the reference's order.
				k.loop(GH, func(u value.Value) {
					var wb, rb value.Value = mxF64c(0), mxF64c(0)
					if bias != nil {
						wb = k.mxLoadF64(bias, k.b.NewAdd(i64(d*2*GH), u))
						rb = k.mxLoadF64(bias, k.b.NewAdd(i64(d*2*GH+GH), u))
					}
					acc := k.mxLocal(f64, wb)
					wRow := k.b.NewAdd(i64(d*GH*I), k.b.NewMul(u, i64(I)))
					k.loop(I, func(i value.Value) {
						p := k.b.NewFMul(k.mxLoadF64(x, k.b.NewAdd(xb, i)), k.mxLoadF64(w, k.b.NewAdd(wRow, i)))
						k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), p))
					})
					k.store(xw, u, k.mxGet(acc))
					k.mxSet(acc, rb)
					rRow := k.b.NewAdd(i64(d*GH*H), k.b.NewMul(u, i64(H)))
					k.loop(H, func(i value.Value) {
						p := k.b.NewFMul(k.load(hS, i), k.mxLoadF64(r, k.b.NewAdd(rRow, i)))
						k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), p))
					})
					k.store(hr, u, k.mxGet(acc))
				})
				pre := func(gate int64, j value.Value) value.Value {
					g := k.b.NewAdd(i64(gate*H), j)
					return k.b.NewFAdd(k.load(xw, g), k.load(hr, g))
				}
				switch op {
				case "RNN":
					k.loop(H, func(j value.Value) { k.store(hS, j, f[0](clipv(pre(0, j)))) })
				case "GRU":
					k.loop(H, func(j value.Value) {
						k.store(zS, j, f[0](clipv(pre(0, j))))
						k.store(rh, j, f[0](clipv(pre(1, j))))
					})
					k.loop(H, func(j value.Value) {
						xh := k.load(xw, k.b.NewAdd(i64(2*H), j))
						if lbr {
							a := k.b.NewFMul(k.load(rh, j), k.load(hr, k.b.NewAdd(i64(2*H), j)))
							k.store(hh, j, f[1](clipv(k.b.NewFAdd(xh, a))))
							return
						}
						var rb value.Value = mxF64c(0)
						if bias != nil {
							rb = k.mxLoadF64(bias, k.b.NewAdd(i64(d*6*H+5*H), j))
						}
						acc := k.mxLocal(f64, rb)
						rRow := k.b.NewAdd(i64((d*3*H+2*H)*H), k.b.NewMul(j, i64(H)))
						k.loop(H, func(i value.Value) {
							p := k.b.NewFMul(k.b.NewFMul(k.load(rh, i), k.load(hS, i)), k.mxLoadF64(r, k.b.NewAdd(rRow, i)))
							k.mxSet(acc, k.b.NewFAdd(k.mxGet(acc), p))
						})
						k.store(hh, j, f[1](clipv(k.b.NewFAdd(xh, k.mxGet(acc)))))
					})
					k.loop(H, func(j value.Value) {
						z := k.load(zS, j)
						a := k.b.NewFMul(k.b.NewFSub(mxF64c(1), z), k.load(hh, j))
						k.store(hS, j, k.b.NewFAdd(a, k.b.NewFMul(z, k.load(hS, j))))
					})
				case "LSTM":
					k.loop(H, func(j value.Value) {
						pv := func(g int64) value.Value {
							if peep == nil {
								return mxF64c(0)
							}
							return k.mxLoadF64(peep, k.b.NewAdd(i64(d*3*H+g*H), j))
						}
						c := k.load(cS, j)
						ft := f[0](clipv(k.b.NewFAdd(pre(2, j), k.b.NewFMul(pv(2), c))))
						var it value.Value
						if coupled {
							it = k.b.NewFSub(mxF64c(1), ft)
						} else {
							it = f[0](clipv(k.b.NewFAdd(pre(0, j), k.b.NewFMul(pv(0), c))))
						}
						ct := f[1](clipv(pre(3, j)))
						cn := k.b.NewFAdd(k.b.NewFMul(ft, c), k.b.NewFMul(it, ct))
						ot := f[0](clipv(k.b.NewFAdd(pre(1, j), k.b.NewFMul(pv(1), cn))))
						k.store(cS, j, cn)
						k.store(hS, j, k.b.NewFMul(ot, f[2](cn)))
					})
				}
				if y != nil {
					yb := yIdx(t, d, b)
					k.loop(H, func(j value.Value) { k.mxStoreF64(y, k.b.NewAdd(yb, j), k.load(hS, j)) })
				}
			})
			k.loop(H, func(j value.Value) {
				if yh != nil {
					k.mxStoreF64(yh, k.b.NewAdd(st, j), k.load(hS, j))
				}
				if yc != nil {
					k.mxStoreF64(yc, k.b.NewAdd(st, j), k.load(cS, j))
				}
			})
		})
	}
	return nil
}
