package llvmgen

import (
	"fmt"
	"math"
	"strings"

	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/effc/effc/ir"
)

// Scalar functions of the one-input elementwise ops. Each mirrors the
// interpreter function named in its comment.

// isDouble reports whether x is a double.
func ewIsDouble(x value.Value) bool {
	ft, ok := x.Type().(*types.FloatType)
	return ok && ft.Kind == types.FloatKindDouble
}

// fc returns v as a constant of x's float type.
func ewFC(x value.Value, v float64) value.Value {
	return constant.NewFloat(x.Type().(*types.FloatType), v)
}

// libm calls the C math function name ("exp") in x's precision: expf for
// float, exp for double.
func (k *kernel) ewLibm(name string, xs ...value.Value) value.Value {
	if !ewIsDouble(xs[0]) {
		name += "f"
	}
	return k.call(name, xs[0].Type(), xs...)
}

// intrinsic calls llvm.<name>.f32 or .f64 on x's float type.
func (k *kernel) ewIntr(name string, xs ...value.Value) value.Value {
	suffix := ".f32"
	if ewIsDouble(xs[0]) {
		suffix = ".f64"
	}
	return k.call("llvm."+name+suffix, xs[0].Type(), xs...)
}

// libmOp is a float-only op that is one libm call.
func libmOp(name string) func(k *kernel, x value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x value.Value, dt ir.DType) value.Value { return k.ewLibm(name, x) }
}

// intrinsicOp is a float-only op that is one LLVM intrinsic (floor, ceil,
// roundeven for Round's half-to-even, sqrt).
func intrinsicOp(name string) func(k *kernel, x value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x value.Value, dt ir.DType) value.Value { return k.ewIntr(name, x) }
}

// acoshOp is acosh, NaN below 1 (musl's acoshf, linked on wasm32, returns
// finite values for some x < 1).
func acoshOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	r := k.ewLibm("acosh", x)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, ewFC(x, 1)), ewFC(x, math.NaN()), r)
}

// roundOp is Round, half to even: llvm.roundeven, except on wasm32, where
// llc 14 crashes on it and llvm.nearbyint (f32.nearest, which rounds half
// to even in the default and only wasm rounding mode) is used instead.
func roundOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	if strings.HasPrefix(k.e.cfg.Triple, "wasm") {
		return k.ewIntr("nearbyint", x)
	}
	return k.ewIntr("roundeven", x)
}

// inDouble evaluates a float function in double precision, as the
// interpreter does, and rounds the result once to the compute type.
func inDouble(f func(k *kernel, x value.Value, dt ir.DType) value.Value) func(k *kernel, x value.Value, dt ir.DType) value.Value {
	return func(k *kernel, x value.Value, dt ir.DType) value.Value {
		if ewIsDouble(x) {
			return f(k, x, dt)
		}
		return k.b.NewFPTrunc(f(k, k.b.NewFPExt(x, types.Double), dt), x.Type())
	}
}

// attrF reads a float attribute as the interpreter does (float32 widened).
func (k *kernel) ewAttrF(name string, def float32) float64 {
	return float64(k.n.AttrFloat(name, def))
}

// absOp is Abs: fabs for floats, wrapping negation of negative signed
// integers (absInt), identity for unsigned.
func absOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	switch {
	case isFloatDT(dt):
		return k.ewIntr("fabs", x)
	case dt.IsUnsigned():
		return x
	}
	neg := k.b.NewICmp(enum.IPredSLT, x, k.zero(dt))
	return k.b.NewSelect(neg, k.b.NewSub(k.zero(dt), x), x)
}

// negOp is Neg (integers wrap).
func negOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	if isFloatDT(dt) {
		return k.b.NewFNeg(x)
	}
	return k.b.NewSub(k.zero(dt), x)
}

// signOp is Sign: -1, 0 or 1; NaN stays NaN and -0 gives +0 (signFloat);
// unsigned values give 0 or 1.
func signOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	one, zero, minus := k.ewConst(dt, 1), k.zero(dt), k.ewConst(dt, -1)
	if isFloatDT(dt) {
		r := k.b.NewSelect(k.b.NewFCmp(enum.FPredOEQ, x, zero), zero, x)
		r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, zero), minus, r)
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, x, zero), one, r)
	}
	if dt.IsUnsigned() {
		return k.b.NewSelect(k.b.NewICmp(enum.IPredNE, x, zero), one, zero)
	}
	r := k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, x, zero), minus, zero)
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSGT, x, zero), one, r)
}

// reluOp is Relu: math.Max(x, 0) for floats (NaN stays NaN, -0 gives +0),
// max(x, 0) for signed integers, identity for unsigned.
func reluOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	zero := k.zero(dt)
	switch {
	case isFloatDT(dt):
		return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLE, x, zero), zero, x)
	case dt.IsUnsigned():
		return x
	}
	return k.b.NewSelect(k.b.NewICmp(enum.IPredSLT, x, zero), zero, x)
}

// bitwiseNotOp is BitwiseNot.
func bitwiseNotOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.b.NewXor(x, k.ewConst(dt, -1))
}

// reciprocalOp is 1/x.
func reciprocalOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.b.NewFDiv(ewFC(x, 1), x)
}

// sigmoidOp is 1/(1+exp(-x)) for x >= 0 and e/(1+e) with e = exp(x)
// otherwise (sigmoid), evaluated as both branches over e = exp(-|x|).
func sigmoidOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.ewSigmoid(x)
}

// sigmoid is the overflow-free logistic function in x's precision.
func (k *kernel) ewSigmoid(x value.Value) value.Value {
	e := k.ewLibm("exp", k.b.NewFNeg(k.ewIntr("fabs", x)))
	d := k.b.NewFAdd(ewFC(x, 1), e)
	pos := k.b.NewFDiv(ewFC(x, 1), d)
	neg := k.b.NewFDiv(e, d)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGE, x, ewFC(x, 0)), pos, neg)
}

// softplus is max(x, 0) + log1p(exp(-|x|)) (softplus).
func (k *kernel) ewSoftplus(x value.Value) value.Value {
	e := k.ewLibm("exp", k.b.NewFNeg(k.ewIntr("fabs", x)))
	return k.b.NewFAdd(k.fminmax(x, ewFC(x, 0), true), k.ewLibm("log1p", e))
}

// softplusOp is Softplus (double precision).
func softplusOp(k *kernel, x value.Value, dt ir.DType) value.Value { return k.ewSoftplus(x) }

// mishOp is x * tanh(ewSoftplus(x)) (double precision).
func mishOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.b.NewFMul(x, k.ewLibm("tanh", k.ewSoftplus(x)))
}

// softsignOp is x / (1 + |x|) (double precision).
func softsignOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.b.NewFDiv(x, k.b.NewFAdd(ewFC(x, 1), k.ewIntr("fabs", x)))
}

// clamp01 is math.Max(0, math.Min(1, v)).
func (k *kernel) ewClamp01(v value.Value) value.Value {
	return k.fminmax(ewFC(v, 0), k.fminmax(ewFC(v, 1), v, false), true)
}

// hardSwishOp is x * max(0, ewMin(1, x/6 + 1/2)) (double precision).
func hardSwishOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	t := k.b.NewFAdd(k.b.NewFDiv(x, ewFC(x, 6)), ewFC(x, 0.5))
	return k.b.NewFMul(x, k.ewClamp01(t))
}

// hardSigmoidOp is max(0, ewMin(1, alpha*x + beta)) (double precision).
func hardSigmoidOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	alpha, beta := k.ewAttrF("alpha", 0.2), k.ewAttrF("beta", 0.5)
	return k.ewClamp01(k.b.NewFAdd(k.b.NewFMul(ewFC(x, alpha), x), ewFC(x, beta)))
}

// eluOp is alpha*(exp(x)-1) for x < 0, else x (double precision).
func eluOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	alpha := k.ewAttrF("alpha", 1)
	neg := k.b.NewFMul(ewFC(x, alpha), k.b.NewFSub(k.ewLibm("exp", x), ewFC(x, 1)))
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, ewFC(x, 0)), neg, x)
}

// seluOp is gamma*(alpha*exp(x) - alpha) for x <= 0, else gamma*x (double
// precision).
func seluOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	alpha := k.ewAttrF("alpha", 1.67326319217681884765625)
	gamma := k.ewAttrF("gamma", 1.05070102214813232421875)
	a := ewFC(x, alpha)
	neg := k.b.NewFMul(ewFC(x, gamma), k.b.NewFSub(k.b.NewFMul(a, k.ewLibm("exp", x)), a))
	pos := k.b.NewFMul(ewFC(x, gamma), x)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLE, x, ewFC(x, 0)), neg, pos)
}

// celuKernel is Celu: max(0,x) + ewMin(0, alpha*(exp(x/alpha)-1)) in double
// precision; alpha must not be 0.
func celuKernel(k *kernel) error {
	alpha := k.ewAttrF("alpha", 1)
	if alpha == 0 {
		return fmt.Errorf("attribute alpha is 0, want non-zero")
	}
	return unaryOp(accFloat, inDouble(func(k *kernel, x value.Value, dt ir.DType) value.Value {
		t := k.b.NewFMul(ewFC(x, alpha), k.b.NewFSub(k.ewLibm("exp", k.b.NewFDiv(x, ewFC(x, alpha))), ewFC(x, 1)))
		return k.b.NewFAdd(k.fminmax(ewFC(x, 0), x, true), k.fminmax(ewFC(x, 0), t, false))
	}))(k)
}

// geluKernel is Gelu with approximate "none" (0.5x(1+erf(x/sqrt2))) or
// "tanh" (0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))), in double precision.
func geluKernel(k *kernel) error {
	switch a := k.n.AttrString("approximate", "none"); a {
	case "none":
		return unaryOp(accFloat, inDouble(func(k *kernel, x value.Value, dt ir.DType) value.Value {
			e := k.ewLibm("erf", k.b.NewFDiv(x, ewFC(x, math.Sqrt2)))
			return k.b.NewFMul(k.b.NewFMul(ewFC(x, 0.5), x), k.b.NewFAdd(ewFC(x, 1), e))
		}))(k)
	case "tanh":
		c := math.Sqrt(2 / math.Pi)
		return unaryOp(accFloat, inDouble(func(k *kernel, x value.Value, dt ir.DType) value.Value {
			x3 := k.b.NewFMul(k.b.NewFMul(k.b.NewFMul(ewFC(x, 0.044715), x), x), x)
			t := k.ewLibm("tanh", k.b.NewFMul(ewFC(x, c), k.b.NewFAdd(x, x3)))
			return k.b.NewFMul(k.b.NewFMul(ewFC(x, 0.5), x), k.b.NewFAdd(ewFC(x, 1), t))
		}))(k)
	default:
		return fmt.Errorf("attribute approximate is %q, want \"none\" or \"tanh\"", a)
	}
}

// leakyReluOp is alpha*x for x < 0, else x. One float32 product rounds
// exactly as the interpreter's double product rounded to float32.
func leakyReluOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	alpha := k.ewAttrF("alpha", 0.01)
	neg := k.b.NewFMul(ewFC(x, alpha), x)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, x, ewFC(x, 0)), neg, x)
}

// thresholdedReluOp is x for x > alpha, else 0.
func thresholdedReluOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	alpha := k.ewAttrF("alpha", 1)
	return k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, x, ewFC(x, alpha)), x, ewFC(x, 0))
}

// shrinkOp is x+bias for x < -lambd, x-bias for x > lambd, else 0; integer
// inputs compute in double and convert back as the interpreter's
// setFromFloat64 does (truncation toward zero).
func shrinkOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	lambd, bias := k.ewAttrF("lambd", 0.5), k.ewAttrF("bias", 0)
	f := x
	if !isFloatDT(dt) {
		f = k.ewIntToDouble(x, dt)
	}
	r := k.b.NewSelect(k.b.NewFCmp(enum.FPredOGT, f, ewFC(f, lambd)), k.b.NewFSub(f, ewFC(f, bias)), ewFC(f, 0))
	r = k.b.NewSelect(k.b.NewFCmp(enum.FPredOLT, f, ewFC(f, -lambd)), k.b.NewFAdd(f, ewFC(f, bias)), r)
	if isFloatDT(dt) {
		return r
	}
	return k.ewDoubleToInt(r, dt)
}

// isNaNOp is IsNaN (bool out).
func isNaNOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.boolByte(k.b.NewFCmp(enum.FPredUNO, x, x))
}

// isInfOp is IsInf with detect_positive and detect_negative (bool out).
func isInfOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	pos, neg := k.n.AttrInt("detect_positive", 1) != 0, k.n.AttrInt("detect_negative", 1) != 0
	var r value.Value = constant.False
	if pos {
		r = k.b.NewFCmp(enum.FPredOEQ, x, ewFC(x, math.Inf(1)))
	}
	if neg {
		r = k.b.NewOr(r, k.b.NewFCmp(enum.FPredOEQ, x, ewFC(x, math.Inf(-1))))
	}
	return k.boolByte(r)
}

// notOp is logical Not on a 0/1 bool byte.
func notOp(k *kernel, x value.Value, dt ir.DType) value.Value {
	return k.b.NewXor(x, constant.NewInt(types.I8, 1))
}

// intToDouble converts an integer or bool compute value to double (the
// interpreter's float64At).
func (k *kernel) ewIntToDouble(x value.Value, dt ir.DType) value.Value {
	if isUnsignedDT(dt) {
		return k.b.NewUIToFP(x, types.Double)
	}
	return k.b.NewSIToFP(x, types.Double)
}

// doubleToInt converts a double to integer dtype dt by truncation toward
// zero, as the interpreter's Go conversions do for in-range values. NaN and
// out-of-range values give what the interpreter's Cast gives (see
// castFloatToInt) instead of LLVM poison.
func (k *kernel) ewDoubleToInt(f value.Value, dt ir.DType) value.Value {
	return k.castFloatToInt(f, dt)
}
