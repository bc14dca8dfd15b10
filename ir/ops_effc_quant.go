package ir

import "fmt"

// effc-domain quantized ops, made by the qdq-fuse and requant-fixed
// passes.

func init() {
	// effc.QLinearAdd is com.microsoft QLinearAdd without broadcasting: A
	// and B have the same shape, every scale and zero point is a scalar,
	// and C = saturate(round_half_even((A−A_zp)·(A_scale/C_scale) +
	// (B−B_zp)·(B_scale/C_scale)) + C_zp), each ratio taken in float32 and
	// the rest in float64, which is exact for 8-bit inputs.
	op("effc.QLinearAdd", "A:T A_scale:f32 A_zero_point:T B:T B_scale:f32 B_zero_point:T C_scale:f32 C_zero_point:T -> C:T",
		"T:i8|u8", "", inferQLinearAdd)
	// effc.Requantize is gemmlowp/TFLite's integer-only requantization of
	// the int32 accumulators of ConvInteger or MatMulInteger, per channel
	// c of axis (bias, multiplier and shift have one element or one per
	// channel; multiplier is Q31, shift in [−31, 31]):
	//
	//	v = acc + bias[c]                       (int32, wrapping)
	//	v = v · 2^max(−shift[c], 0)             (int32, wrapping, as TFLite's x·(1<<left))
	//	v = SRDHM(v, multiplier[c])             (v·M + 2^30 (1−2^30 if negative)) / 2^31 truncated; INT32_MIN·INT32_MIN → INT32_MAX
	//	v = RDBPOT(v, max(shift[c], 0))         rounding right shift, ties away from zero
	//	y = clamp(v + y_zero_point, min, max)   (min, max default to y's dtype range)
	//
	// so y ≈ acc·multiplier·2^(−31−shift) + y_zero_point. min and max let
	// a ReLU or Clip fold into the clamp.
	op("effc.Requantize", "acc:i32 bias?:i32 multiplier:i32 shift:T2 y_zero_point:T -> y:T",
		"T:i8|u8; T2:i8|i32", "axis:int=1 min:int max:int", inferRequantize)
	// effc.QLinearAveragePool and effc.QLinearGlobalAveragePool are
	// com.microsoft's ops of the same names on NCHW tensors (channels_last
	// 0), with AveragePool's window attributes. Each window's sum is exact
	// in int32 (wrapping), and with m = x_scale/y_scale taken in float32
	// and the rest in float64:
	//
	//	s = Σ (x − x_zero_point)                 over the window's elements inside X
	//	n = the element count: inside X, or inside the padded X when count_include_pad (1 if 0)
	//	y = saturate(round_half_even(s / n · m) + y_zero_point)
	//
	// GlobalAveragePool's window is the whole spatial plane.
	op("effc.QLinearAveragePool", "X:T x_scale:f32 x_zero_point:T y_scale:f32 y_zero_point:T -> Y:T",
		"T:i8|u8", poolAttrs+" count_include_pad:int=0 channels_last:int=0", inferQLinearPool(inferPool))
	op("effc.QLinearGlobalAveragePool", "X:T x_scale:f32 x_zero_point:T y_scale:f32 y_zero_point:T -> Y:T",
		"T:i8|u8", "channels_last:int=0", inferQLinearPool(inferGlobalPool))
}

// inferQLinearPool types an effc quantized pool as its float counterpart
// infer does; only channels_last 0 (NCHW) is supported.
func inferQLinearPool(infer func(*Node) ([]Type, error)) func(*Node) ([]Type, error) {
	return func(n *Node) ([]Type, error) {
		if n.AttrInt("channels_last", 0) != 0 {
			return nil, errf(n, "channels_last = %d, want 0 (NCHW)", n.AttrInt("channels_last", 0))
		}
		ts, err := infer(n)
		if err != nil {
			return nil, err
		}
		return ts[:1], nil
	}
}

// inferRequantize: acc's shape with y_zero_point's dtype; bias must have
// one element per channel of axis, multiplier and shift one or one per
// channel.
func inferRequantize(n *Node) ([]Type, error) {
	acc, dt := in0(n), firstDType(n, 4)
	if !acc.Ranked {
		return []Type{unranked(dt)}, nil
	}
	axis, err := normAxis(n, "axis", n.AttrInt("axis", 1), len(acc.Shape))
	if err != nil {
		return nil, err
	}
	c := acc.Shape[axis]
	for i, name := range [...]string{1: "bias", 2: "multiplier", 3: "shift"} {
		t, ok := in(n, i)
		if i == 0 || !ok || !t.Ranked {
			continue
		}
		want := fmt.Sprintf("[], [1] or [%s]", c)
		if i == 1 {
			want = fmt.Sprintf("[%s]", c)
		}
		perTensor := i > 1 && (len(t.Shape) == 0 || len(t.Shape) == 1 && t.Shape[0].Size == 1)
		if !perTensor && (len(t.Shape) != 1 || !sameOrUnknown(t.Shape[0], c)) {
			return nil, errf(n, "input %d (%s) has shape %s, want %s", i, name, t.Shape, want)
		}
	}
	return one(ranked(dt, cloneShape(acc.Shape)))
}

// inferQLinearAdd: A's shape, which B must have too; C_zero_point's dtype.
func inferQLinearAdd(n *Node) ([]Type, error) {
	a, b := in0(n), Type{}
	if t, ok := in(n, 3); ok {
		b = t
	}
	dt := firstDType(n, 7, 0)
	if !a.Ranked {
		return []Type{unranked(dt)}, nil
	}
	if b.Ranked && len(a.Shape) != len(b.Shape) {
		return nil, errf(n, "input 3 (B) has shape %s, want A's %s", b.Shape, a.Shape)
	}
	if b.Ranked {
		for i, d := range a.Shape {
			if !sameOrUnknown(d, b.Shape[i]) {
				return nil, errf(n, "input 3 (B) has shape %s, want A's %s", b.Shape, a.Shape)
			}
		}
	}
	return one(ranked(dt, cloneShape(a.Shape)))
}
