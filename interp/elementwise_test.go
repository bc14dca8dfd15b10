package interp

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// Test helpers shared by the math-family tests.

// mathNode builds a node with two declared outputs (enough for TopK).
func mathNode(op string, attrs map[string]*ir.Attr) *ir.Node {
	return &ir.Node{Name: "t", Op: op, Attrs: attrs, Outputs: []*ir.Value{{Name: "y"}, {Name: "z"}}}
}

// evalMath runs op on inputs and fails the test on error.
func evalMath(t *testing.T, op string, attrs map[string]*ir.Attr, in ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	out, err := EvalNode(mathNode(op, attrs), in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// evalMathErr runs op and requires an error containing want.
func evalMathErr(t *testing.T, want, op string, attrs map[string]*ir.Attr, in ...*ir.Tensor) {
	t.Helper()
	_, err := EvalNode(mathNode(op, attrs), in)
	if err == nil {
		t.Fatalf("%s: no error, want one containing %q", op, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q, want it to contain %q", op, err, want)
	}
}

func tf32(shape []int64, v ...float32) *ir.Tensor {
	return &ir.Tensor{DType: ir.Float32, Shape: shape, Data: v}
}
func tf64(shape []int64, v ...float64) *ir.Tensor {
	return &ir.Tensor{DType: ir.Float64, Shape: shape, Data: v}
}
func ti64(shape []int64, v ...int64) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int64, Shape: shape, Data: v}
}
func ti32(shape []int64, v ...int32) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int32, Shape: shape, Data: v}
}
func ti8(shape []int64, v ...int8) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int8, Shape: shape, Data: v}
}
func tu8(shape []int64, v ...uint8) *ir.Tensor {
	return &ir.Tensor{DType: ir.Uint8, Shape: shape, Data: v}
}
func tbool(shape []int64, v ...bool) *ir.Tensor {
	return &ir.Tensor{DType: ir.Bool, Shape: shape, Data: v}
}
func sh(d ...int64) []int64 { return d }

// Tolerance for float results compared against values printed by numpy
// (ONNX operator docs): 7 significant digits are given, so 1e-6 relative.
const mathTol = 1e-6

// expectTensor compares got to want: same dtype and shape, floats within
// mathTol (relative, absolute below 1), NaN matching NaN, others exact.
func expectTensor(t *testing.T, label string, got, want *ir.Tensor) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil result", label)
	}
	if got.DType != want.DType || !equalShape(got.Shape, want.Shape) {
		t.Fatalf("%s: got %s%v, want %s%v", label, got.DType, got.Shape, want.DType, want.Shape)
	}
	if !want.DType.IsFloat() || want.DType.IsFP8() || want.DType == ir.Float16 || want.DType == ir.BFloat16 {
		if !reflect.DeepEqual(got.Data, want.Data) {
			t.Fatalf("%s: got %v, want %v", label, got.Data, want.Data)
		}
		return
	}
	g, w := toFloat64(got), toFloat64(want)
	for i := range w {
		if math.IsNaN(w[i]) != math.IsNaN(g[i]) || !math.IsNaN(w[i]) && math.Abs(g[i]-w[i]) > mathTol*math.Max(1, math.Abs(w[i])) {
			t.Fatalf("%s: element %d: got %v, want %v (all: %v)", label, i, g[i], w[i], g)
		}
	}
}

func TestUnaryOps(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		op    string
		attrs map[string]*ir.Attr
		in    *ir.Tensor
		want  *ir.Tensor
	}{
		{"Abs", nil, ti8(sh(4), -128, -1, 0, 5), ti8(sh(4), -128, 1, 0, 5)}, // -128 wraps as in numpy
		{"Abs", nil, tf32(sh(2), -1.5, 2), tf32(sh(2), 1.5, 2)},
		{"Neg", nil, ti32(sh(2), 1, -2), ti32(sh(2), -1, 2)},
		{"Sign", nil, tf32(sh(4), -2, 0, 3, nan), tf32(sh(4), -1, 0, 1, nan)},
		{"Sign", nil, ti64(sh(3), -5, 0, 7), ti64(sh(3), -1, 0, 1)},
		{"Relu", nil, ti8(sh(2), -3, 4), ti8(sh(2), 0, 4)},
		{"Round", nil, tf32(sh(6), 0.5, 1.5, 2.5, -0.5, -1.5, 2.3), tf32(sh(6), 0, 2, 2, 0, -2, 2)},
		{"Floor", nil, tf32(sh(3), -1.5, 1.2, 2), tf32(sh(3), -2, 1, 2)},
		{"Ceil", nil, tf32(sh(3), -1.5, 1.2, 2), tf32(sh(3), -1, 2, 2)},
		{"Reciprocal", nil, tf32(sh(2), -4, 2), tf32(sh(2), -0.25, 0.5)},
		{"Sqrt", nil, tf32(sh(2), 1, 4), tf32(sh(2), 1, 2)},
		{"Exp", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), 0.36787945, 1, 2.7182817)},
		{"Log", nil, tf32(sh(2), 1, 10), tf32(sh(2), 0, 2.3025851)},
		{"Erf", nil, tf32(sh(2), 0, 1), tf32(sh(2), 0, 0.8427008)},
		{"Sigmoid", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), 0.26894143, 0.5, 0.7310586)},
		{"Tanh", nil, tf32(sh(2), -1, 1), tf32(sh(2), -0.7615942, 0.7615942)},
		{"Softplus", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), 0.31326166, 0.6931472, 1.3132616)},
		{"Softplus", nil, tf32(sh(1), 1000), tf32(sh(1), 1000)}, // no overflow
		{"Softsign", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.5, 0, 0.5)},
		{"LeakyRelu", map[string]*ir.Attr{"alpha": ir.FloatAttr(0.1)}, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.1, 0, 1)},
		{"Elu", map[string]*ir.Attr{"alpha": ir.FloatAttr(2)}, tf32(sh(3), -1, 0, 1), tf32(sh(3), -1.2642411, 0, 1)},
		{"Selu", map[string]*ir.Attr{"alpha": ir.FloatAttr(2), "gamma": ir.FloatAttr(3)}, tf32(sh(3), -1, 0, 1), tf32(sh(3), -3.7927232, 0, 3)},
		{"Celu", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.63212055, 0, 1)},
		{"HardSigmoid", map[string]*ir.Attr{"alpha": ir.FloatAttr(0.5), "beta": ir.FloatAttr(0.6)}, tf32(sh(3), -1, 0, 1), tf32(sh(3), 0.1, 0.6, 1)},
		{"HardSwish", nil, tf32(sh(5), -4, -1, 0, 1, 4), tf32(sh(5), 0, -0.33333334, 0, 0.6666667, 4)},
		{"ThresholdedRelu", map[string]*ir.Attr{"alpha": ir.FloatAttr(2)}, tf32(sh(3), 1, 2, 3), tf32(sh(3), 0, 0, 3)},
		{"Shrink", map[string]*ir.Attr{"lambd": ir.FloatAttr(1.5), "bias": ir.FloatAttr(1.5)}, tf32(sh(5), -2, -1, 0, 1, 2), tf32(sh(5), -0.5, 0, 0, 0, 0.5)},
		{"Shrink", map[string]*ir.Attr{"lambd": ir.FloatAttr(1.5), "bias": ir.FloatAttr(1)}, ti8(sh(3), -3, 1, 3), ti8(sh(3), -2, 0, 2)},
		{"Gelu", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.15865526, 0, 0.8413447)},
		{"Gelu", map[string]*ir.Attr{"approximate": ir.StringAttr("tanh")}, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.15880796, 0, 0.841192)},
		{"Mish", nil, tf32(sh(3), -1, 0, 1), tf32(sh(3), -0.30340147, 0, 0.86509836)},
		{"Sin", nil, tf32(sh(2), 0, 1), tf32(sh(2), 0, 0.84147096)},
		{"Cos", nil, tf32(sh(2), 0, 1), tf32(sh(2), 1, 0.5403023)},
		{"Tan", nil, tf32(sh(1), 1), tf32(sh(1), 1.5574077)},
		{"Asin", nil, tf32(sh(1), 0.5), tf32(sh(1), 0.5235988)},
		{"Acos", nil, tf32(sh(1), 0.5), tf32(sh(1), 1.0471976)},
		{"Atan", nil, tf32(sh(1), 1), tf32(sh(1), 0.7853982)},
		{"Sinh", nil, tf32(sh(1), 1), tf32(sh(1), 1.1752012)},
		{"Cosh", nil, tf32(sh(1), 1), tf32(sh(1), 1.5430806)},
		{"Asinh", nil, tf32(sh(1), 1), tf32(sh(1), 0.8813736)},
		{"Acosh", nil, tf32(sh(1), 2), tf32(sh(1), 1.316958)},
		{"Atanh", nil, tf32(sh(1), 0.5), tf32(sh(1), 0.54930615)},
		{"IsNaN", nil, tf32(sh(3), nan, 1, inf), tbool(sh(3), true, false, false)},
		{"IsInf", nil, tf32(sh(3), -inf, inf, 0), tbool(sh(3), true, true, false)},
		{"IsInf", map[string]*ir.Attr{"detect_negative": ir.IntAttr(0)}, tf32(sh(3), -inf, inf, 0), tbool(sh(3), false, true, false)},
		{"Not", nil, tbool(sh(2), true, false), tbool(sh(2), false, true)},
		{"BitwiseNot", nil, tu8(sh(2), 0, 255), tu8(sh(2), 255, 0)},
		{"BitwiseNot", nil, ti8(sh(2), 0, -1), ti8(sh(2), -1, 0)},
	}
	for _, c := range cases {
		got := evalMath(t, c.op, c.attrs, c.in)
		expectTensor(t, c.op+" "+c.in.DType.String(), got[0], c.want)
	}
}

func TestUnaryF16(t *testing.T) {
	h := func(v ...float32) *ir.Tensor {
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = ir.Float32ToFloat16(x)
		}
		return &ir.Tensor{DType: ir.Float16, Shape: sh(int64(len(v))), Data: d}
	}
	got := evalMath(t, "Sqrt", nil, h(4, 2))
	expectTensor(t, "Sqrt f16", got[0], h(2, float32(math.Sqrt2)))
}

func TestUnaryRejects(t *testing.T) {
	evalMathErr(t, "dtype i32", "Sqrt", nil, ti32(sh(1), 4))
	evalMathErr(t, "want bool", "Not", nil, ti32(sh(1), 4))
	evalMathErr(t, "got 2 inputs, want 1", "Exp", nil, tf32(sh(1), 1), tf32(sh(1), 1))
	evalMathErr(t, "approximate", "Gelu", map[string]*ir.Attr{"approximate": ir.StringAttr("erf")}, tf32(sh(1), 1))
}

func TestBinaryOps(t *testing.T) {
	cases := []struct {
		op    string
		attrs map[string]*ir.Attr
		a, b  *ir.Tensor
		want  *ir.Tensor
	}{
		{"Add", nil, tf32(sh(2, 2), 1, 2, 3, 4), tf32(sh(2), 10, 20), tf32(sh(2, 2), 11, 22, 13, 24)},
		{"Add", nil, tu8(sh(2), 250, 1), tu8(sh(1), 10), tu8(sh(2), 4, 11)}, // wraps
		{"Sub", nil, ti32(sh(2), 1, 2), ti32(sh(), 3), ti32(sh(2), -2, -1)},
		{"Mul", nil, ti8(sh(2), 64, 3), ti8(sh(1), 4), ti8(sh(2), 0, 12)}, // 256 wraps to 0
		{"Div", nil, ti32(sh(4), 7, -7, 7, -7), ti32(sh(4), 2, 2, -2, -2), ti32(sh(4), 3, -3, -3, 3)},
		{"Div", nil, tu8(sh(2), 7, 255), tu8(sh(2), 2, 16), tu8(sh(2), 3, 15)},
		{"Div", nil, tf32(sh(2), 3, 1), tf32(sh(2), 2, 0), tf32(sh(2), 1.5, float32(math.Inf(1)))},
		// Mod examples from the ONNX operator docs.
		{"Mod", nil, ti64(sh(6), -4, 7, 5, 4, -7, 8), ti64(sh(6), 2, -3, 8, -2, 3, 5), ti64(sh(6), 0, -2, 5, 0, 2, 3)},
		{"Mod", map[string]*ir.Attr{"fmod": ir.IntAttr(1)}, ti64(sh(6), -4, 7, 5, 4, -7, 8), ti64(sh(6), 2, -3, 8, -2, 3, 5), ti64(sh(6), 0, 1, 5, 0, -1, 3)},
		{"Mod", map[string]*ir.Attr{"fmod": ir.IntAttr(1)}, tf32(sh(6), -4.3, 7.2, 5.0, 4.3, -7.2, 8.0), tf32(sh(6), 2.1, -3.4, 8.0, -2.1, 3.4, 5.0), tf32(sh(6), -0.1, 0.4, 5, 0.1, -0.4, 3)},
		{"Pow", nil, tf32(sh(3), 1, 2, 3), tf32(sh(3), 4, 5, 6), tf32(sh(3), 1, 32, 729)},
		{"Pow", nil, ti64(sh(3), 1, 2, 3), ti64(sh(3), 4, 5, 6), ti64(sh(3), 1, 32, 729)},
		{"Pow", nil, ti32(sh(3), 1, 2, 3), tf32(sh(3), 4, 5, 6), ti32(sh(3), 1, 32, 729)},
		{"Pow", nil, tf32(sh(3), 1, 2, 3), ti64(sh(1), 2), tf32(sh(3), 1, 4, 9)},
		{"Pow", nil, tf32(sh(1), 4), tf32(sh(1), 0.5), tf32(sh(1), 2)},
		{"PRelu", nil, tf32(sh(2, 2), -2, 3, -4, 5), tf32(sh(2), 0.5, 0.25), tf32(sh(2, 2), -1, 3, -2, 5)},
		{"PRelu", nil, ti32(sh(2), -2, 3), ti32(sh(1), 3), ti32(sh(2), -6, 3)},
		{"BitShift", map[string]*ir.Attr{"direction": ir.StringAttr("LEFT")}, tu8(sh(3), 16, 4, 1), tu8(sh(3), 1, 2, 3), tu8(sh(3), 32, 16, 8)},
		{"BitShift", map[string]*ir.Attr{"direction": ir.StringAttr("RIGHT")}, tu8(sh(3), 16, 4, 1), tu8(sh(3), 1, 2, 3), tu8(sh(3), 8, 1, 0)},
		{"BitwiseAnd", nil, ti32(sh(2), -1, 6), ti32(sh(2), 5, 3), ti32(sh(2), 5, 2)},
		{"BitwiseOr", nil, tu8(sh(2), 1, 6), tu8(sh(2), 4, 3), tu8(sh(2), 5, 7)},
		{"BitwiseXor", nil, ti8(sh(2), -1, 6), ti8(sh(2), 1, 3), ti8(sh(2), -2, 5)},
		{"And", nil, tbool(sh(2, 2), true, true, false, false), tbool(sh(2), true, false), tbool(sh(2, 2), true, false, false, false)},
		{"Or", nil, tbool(sh(2), true, false), tbool(sh(2), false, false), tbool(sh(2), true, false)},
		{"Xor", nil, tbool(sh(2), true, false), tbool(sh(1), true), tbool(sh(2), false, true)},
		{"Equal", nil, ti32(sh(3), 1, 2, 3), ti32(sh(1), 2), tbool(sh(3), false, true, false)},
		{"Equal", nil, tbool(sh(2), true, false), tbool(sh(2), true, true), tbool(sh(2), true, false)},
		{"Less", nil, tf32(sh(3), 1, 2, 3), tf32(sh(1), 2), tbool(sh(3), true, false, false)},
		{"LessOrEqual", nil, tf32(sh(3), 1, 2, 3), tf32(sh(1), 2), tbool(sh(3), true, true, false)},
		{"Greater", nil, tu8(sh(3), 1, 2, 255), tu8(sh(1), 2), tbool(sh(3), false, false, true)},
		{"GreaterOrEqual", nil, ti64(sh(3), 1, 2, 3), ti64(sh(1), 2), tbool(sh(3), false, true, true)},
	}
	for _, c := range cases {
		got := evalMath(t, c.op, c.attrs, c.a, c.b)
		expectTensor(t, c.op+" "+c.a.DType.String(), got[0], c.want)
	}
}

func TestBinaryRejects(t *testing.T) {
	evalMathErr(t, "input 1 has dtype i32, want f32", "Add", nil, tf32(sh(1), 1), ti32(sh(1), 1))
	evalMathErr(t, "not broadcastable", "Mul", nil, tf32(sh(2), 1, 2), tf32(sh(3), 1, 2, 3))
	evalMathErr(t, "2^31 elements", "Add", nil, ir.NewTensor(ir.Float32, sh(1<<16, 1)), ir.NewTensor(ir.Float32, sh(1<<16)))
	evalMathErr(t, "zero divisor", "Div", nil, ti32(sh(2), 1, 2), ti32(sh(2), 1, 0))
	evalMathErr(t, "zero divisor", "Mod", nil, tu8(sh(1), 1), tu8(sh(1), 0))
	evalMathErr(t, "direction", "BitShift", nil, tu8(sh(1), 1), tu8(sh(1), 1))
	evalMathErr(t, "does not accept", "BitShift", map[string]*ir.Attr{"direction": ir.StringAttr("LEFT")}, ti32(sh(1), 1), ti32(sh(1), 1))
	evalMathErr(t, "does not broadcast to input 0", "PRelu", nil, tf32(sh(1), 1), tf32(sh(2), 1, 2))
	evalMathErr(t, "want bool", "And", nil, ti32(sh(1), 1), ti32(sh(1), 1))
	evalMathErr(t, "does not accept", "Less", nil, tbool(sh(1), true), tbool(sh(1), true))
}

func TestVariadicWhereClip(t *testing.T) {
	got := evalMath(t, "Max", nil, ti32(sh(2, 2), 1, 5, 3, 2), ti32(sh(1), 4))
	expectTensor(t, "Max", got[0], ti32(sh(2, 2), 4, 5, 4, 4))
	got = evalMath(t, "Min", nil, tf32(sh(3), 3, 2, 1), tf32(sh(3), 1, 3, 4), tf32(sh(3), 2, 5, 0))
	expectTensor(t, "Min", got[0], tf32(sh(3), 1, 2, 0))
	got = evalMath(t, "Max", nil, tf32(sh(2), float32(math.NaN()), 1), tf32(sh(2), 0, 2))
	expectTensor(t, "Max NaN", got[0], tf32(sh(2), float32(math.NaN()), 2))
	got = evalMath(t, "Mean", nil, tf32(sh(3), 3, 0, 2), tf32(sh(3), 1, 3, 4), tf32(sh(3), 2, 6, 6))
	expectTensor(t, "Mean", got[0], tf32(sh(3), 2, 3, 4))
	got = evalMath(t, "Sum", nil, tu8(sh(2), 1, 2))
	expectTensor(t, "Sum one input", got[0], tu8(sh(2), 1, 2))
	got = evalMath(t, "Sum", nil, ti64(sh(2), 1, 2), ti64(sh(2, 1), 10, 20), ti64(sh(), 100))
	expectTensor(t, "Sum broadcast", got[0], ti64(sh(2, 2), 111, 112, 121, 122))
	evalMathErr(t, "want a floating type", "Mean", nil, ti32(sh(1), 1), ti32(sh(1), 1))

	// Where example from the ONNX docs.
	got = evalMath(t, "Where", nil, tbool(sh(2, 2), true, false, true, true), tf32(sh(2, 2), 1, 2, 3, 4), tf32(sh(2, 2), 9, 8, 7, 6))
	expectTensor(t, "Where", got[0], tf32(sh(2, 2), 1, 8, 3, 4))
	got = evalMath(t, "Where", nil, tbool(sh(2), true, false), ti64(sh(2, 1), 1, 2), ti64(sh(), 0))
	expectTensor(t, "Where broadcast", got[0], ti64(sh(2, 2), 1, 0, 2, 0))
	evalMathErr(t, "want bool", "Where", nil, ti32(sh(1), 1), tf32(sh(1), 1), tf32(sh(1), 1))

	got = evalMath(t, "Clip", nil, ti8(sh(3), -5, 0, 5), ti8(sh(), -1), ti8(sh(), 1))
	expectTensor(t, "Clip int8", got[0], ti8(sh(3), -1, 0, 1))
	got = evalMath(t, "Clip", nil, tf32(sh(3), -5, 0, 5), nil, tf32(sh(), 1))
	expectTensor(t, "Clip max only", got[0], tf32(sh(3), -5, 0, 1))
	got = evalMath(t, "Clip", nil, tf32(sh(3), -5, 0, 5))
	expectTensor(t, "Clip no bounds", got[0], tf32(sh(3), -5, 0, 5))
	evalMathErr(t, "want a scalar", "Clip", nil, tf32(sh(3), -5, 0, 5), tf32(sh(2), 0, 1))
}

// TestBroadcastRuns checks forBroadcastRuns against broadcastIndex on
// random broadcastable shape pairs (seeded, so failures reproduce).
func TestBroadcastRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 500; iter++ {
		rank := rng.IntN(5)
		out := make([]int64, rank)
		for i := range out {
			out[i] = int64(rng.IntN(4) + 1)
		}
		pick := func() []int64 {
			r := rng.IntN(rank + 1)
			s := append([]int64{}, out[rank-r:]...)
			for i := range s {
				if rng.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		a, b := pick(), pick()
		shape, err := broadcastShapes(a, b)
		if err != nil {
			t.Fatal(err)
		}
		ia, ib := broadcastIndex(shape, a), broadcastIndex(shape, b)
		seen := make([]bool, len(ia))
		forBroadcastRuns(shape, a, b, func(o, xa, xb, n, sa, sb int) {
			for j := 0; j < n; j++ {
				if seen[o+j] {
					t.Fatalf("%v %v: output %d visited twice", a, b, o+j)
				}
				seen[o+j] = true
				if xa+j*sa != ia[o+j] || xb+j*sb != ib[o+j] {
					t.Fatalf("%v %v -> %v: output %d reads a[%d] b[%d], want a[%d] b[%d]", a, b, shape, o+j, xa+j*sa, xb+j*sb, ia[o+j], ib[o+j])
				}
			}
		})
		for k, v := range seen {
			if !v {
				t.Fatalf("%v %v: output %d not visited", a, b, k)
			}
		}
	}
}
