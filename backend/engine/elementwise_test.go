package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// The elementwise conformance test compiles one graph per input dtype that
// holds every elementwise op the interpreter accepts for that dtype (and a
// Cast to every dtype), runs it on each target and compares every output
// with interp.Run: bit-exact (any NaN matches any NaN) unless the op is in
// ewApprox, which allows a few units in the last place of the output dtype.

// ewShape is the shape of the full-size test inputs; ewBShape broadcasts
// against it over a middle and the inner dim.
var (
	ewShape  = []int64{4, 5, 7}
	ewBShape = []int64{5, 1}
)

// ewApprox is the allowed error in output-dtype ulps of ops that call libm
// (or compose libm calls), by op. Ops not listed must be bit-exact. The
// bounds are the error of glibc/musl single-precision functions (< 1 ulp)
// plus the roundings of the composing arithmetic in float32 (Sigmoid: exp,
// add, divide), with one ulp of slack; double-precision formulas are the
// interpreter's own, so they differ only by the libm's last bit.
var ewApprox = map[string]int64{
	"Exp": 2, "Log": 2, "Erf": 2, "Tanh": 2, "Sin": 2, "Cos": 2, "Tan": 2, "Asin": 2, "Acos": 2,
	"Atan": 2, "Sinh": 2, "Cosh": 2, "Asinh": 2, "Acosh": 2, "Atanh": 2, "Sigmoid": 4,
	"Softplus": 2, "Mish": 2, "Gelu": 2, "Elu": 2, "Selu": 2, "Celu": 2, "Pow": 2,
}

// ewNode is one op in the test graph.
type ewNode struct {
	op    string
	ins   []string // input names without %, "_" for omitted
	attrs string   // "{...}" or ""
	out   ir.DType
	shape []int64
}

// ewFloatValues are the special float inputs every float graph starts with.
var ewFloatValues = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1,
	3, -3, 1e-40, -1e-40, 1e30, -1e30, 100, -100, 6, -6, 1e10, -1e10, 0.25, 4.5, -3.5, 65504, 70000, 1e-6,
	300, -300, 448, 500, -57344, 1e-3, 0.1, 2.9999998, -2.9999998,
}

// ewIntDTypes lists the integer dtypes.
var ewIntDTypes = []ir.DType{ir.Int8, ir.Uint8, ir.Int16, ir.Uint16, ir.Int32, ir.Uint32, ir.Int64, ir.Uint64}

// ewCastTargets lists every dtype Cast compiles to.
var ewCastTargets = append([]ir.DType{ir.Float32, ir.Float64, ir.Float16, ir.BFloat16, ir.Bool,
	ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ}, ewIntDTypes...)

// ewNodes returns the ops of the graph for input dtype dt.
func ewNodes(dt ir.DType) []ewNode {
	var ns []ewNode
	add := func(op, attrs string, out ir.DType, ins ...string) {
		ns = append(ns, ewNode{op: op, ins: ins, attrs: attrs, out: out, shape: ewShape})
	}
	isF := dt == ir.Float32 || dt == ir.Float64 || dt == ir.Float16 || dt == ir.BFloat16
	signed := dt.IsSigned()
	numeric := dt != ir.Bool
	if isF {
		for _, op := range []string{"Reciprocal", "Floor", "Ceil", "Round", "Sqrt", "Exp", "Log", "Erf", "Tanh",
			"Sigmoid", "Softplus", "Softsign", "HardSwish", "Mish", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
			"Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Elu", "Selu", "Celu", "HardSigmoid", "LeakyRelu",
			"ThresholdedRelu", "Gelu"} {
			add(op, "", dt, "x")
		}
		add("Gelu", `{approximate="tanh"}`, dt, "x")
		add("Elu", "{alpha=0.5}", dt, "x")
		add("Celu", "{alpha=2}", dt, "x")
		add("LeakyRelu", "{alpha=0.3}", dt, "x")
		add("HardSigmoid", "{alpha=0.3, beta=0.6}", dt, "x")
		add("ThresholdedRelu", "{alpha=0.5}", dt, "x")
		add("Selu", "{alpha=1.5, gamma=2}", dt, "x")
		add("IsNaN", "", ir.Bool, "x")
		add("IsInf", "", ir.Bool, "x")
		add("IsInf", "{detect_negative=0}", ir.Bool, "x")
		add("IsInf", "{detect_positive=0}", ir.Bool, "x")
		add("Mean", "", dt, "x", "y", "yb")
		add("Mean", "", dt, "x")
		add("Pow", "", dt, "x", "y")
		add("Pow", "", dt, "x", "e")
		add("Mod", "{fmod=1}", dt, "x", "y")
		add("Mod", "{fmod=0}", dt, "x", "y")
		add("Mod", "{fmod=1}", dt, "x", "yb")
	}
	if numeric {
		add("Abs", "", dt, "x")
		add("Sign", "", dt, "x")
		add("Shrink", "", dt, "x")
		add("Shrink", "{lambd=1.5, bias=0.5}", dt, "x")
		if isF || signed {
			add("Neg", "", dt, "x")
			add("Relu", "", dt, "x")
			add("PRelu", "", dt, "x", "y")
			add("PRelu", "", dt, "x", "yb")
		}
		for _, op := range []string{"Add", "Sub", "Mul"} {
			add(op, "", dt, "x", "y")
			add(op, "", dt, "x", "yb")
		}
		add("Div", "", dt, "x", "d")
		add("Div", "", dt, "x", "db")
		for _, op := range []string{"Max", "Min", "Sum"} {
			add(op, "", dt, "x", "y")
			add(op, "", dt, "x", "y", "yb")
			add(op, "", dt, "yb", "x")
			add(op, "", dt, "x")
		}
		for _, op := range []string{"Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
			add(op, "", ir.Bool, "x", "y")
			add(op, "", ir.Bool, "x", "yb")
		}
		add("Clip", "", dt, "x", "lo", "hi")
		add("Clip", "", dt, "x", "lo")
		add("Clip", "", dt, "x", "_", "hi")
		add("Clip", "", dt, "x")
	}
	if !isF && numeric {
		add("Mod", "{fmod=1}", dt, "x", "d")
		add("Mod", "{fmod=0}", dt, "x", "d")
		add("Mod", "{fmod=0}", dt, "x", "db")
		add("Pow", "", dt, "x", "e")
		add("Pow", "", dt, "s", "pf")
		add("BitwiseNot", "", dt, "x")
		for _, op := range []string{"BitwiseAnd", "BitwiseOr", "BitwiseXor"} {
			add(op, "", dt, "x", "y")
		}
		if dt.IsUnsigned() {
			add("BitShift", `{direction="LEFT"}`, dt, "x", "e")
			add("BitShift", `{direction="RIGHT"}`, dt, "x", "e")
		}
	}
	if dt == ir.Bool {
		add("Not", "", ir.Bool, "x")
		for _, op := range []string{"And", "Or", "Xor"} {
			add(op, "", ir.Bool, "x", "y")
			add(op, "", ir.Bool, "x", "yb")
		}
	}
	add("Equal", "", ir.Bool, "x", "y")
	add("Equal", "", ir.Bool, "x", "yb")
	add("Where", "", dt, "c", "x", "y")
	add("Where", "", dt, "c", "yb", "x")
	for _, to := range ewCastTargets {
		add("Cast", fmt.Sprintf("{to=%d}", int(to)), to, "x")
		if to.IsFP8() {
			add("Cast", fmt.Sprintf("{saturate=0, to=%d}", int(to)), to, "x")
		}
	}
	if re := os.Getenv("EFFC_EW_OPS"); re != "" {
		keep := regexp.MustCompile("^(" + re + ")$")
		var sel []ewNode
		for _, n := range ns {
			if keep.MatchString(n.op) {
				sel = append(sel, n)
			}
		}
		ns = sel
	}
	return ns
}

// ewGraph writes the graph text for dtype dt and parses it. Inputs: x, y
// (full shape), yb (broadcast shape), d and db (non-zero divisors), e
// (exponents/shift amounts), s and pf (small base, float exponent), c
// (bool condition), lo and hi (Clip bounds as runtime scalars).
func ewGraph(t *testing.T, dt ir.DType) *ir.Graph {
	t.Helper()
	shape := func(s []int64) string {
		parts := make([]string, len(s))
		for i, v := range s {
			parts[i] = fmt.Sprint(v)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	full, bshape := shape(ewShape), shape(ewBShape)
	eDT := ir.Int32
	if !dt.IsSigned() && dt != ir.Bool && dt != ir.Float32 && dt != ir.Float64 && dt != ir.Float16 && dt != ir.BFloat16 {
		eDT = dt
	}
	if dt.IsSigned() {
		eDT = dt
	}
	var b strings.Builder
	fmt.Fprintf(&b, "effir 1\ngraph \"ew_%s\" opset{ai.onnx=18} {\n", dt)
	for _, in := range []struct {
		name string
		dt   ir.DType
		s    string
	}{{"x", dt, full}, {"y", dt, full}, {"yb", dt, bshape}, {"d", dt, full}, {"db", dt, bshape},
		{"e", eDT, full}, {"s", dt, full}, {"pf", ir.Float32, full}, {"c", ir.Bool, full}, {"lo", dt, "[]"}, {"hi", dt, "[]"}} {
		fmt.Fprintf(&b, "  input %%%s : %s%s\n", in.name, in.dt, in.s)
	}
	for i, n := range ewNodes(dt) {
		ins := make([]string, len(n.ins))
		for j, s := range n.ins {
			if s != "_" {
				s = "%" + s
			}
			ins[j] = s
		}
		fmt.Fprintf(&b, "  %%o%d : %s%s = %s(%s) %s @n%d\n", i, n.out, shape(n.shape), n.op, strings.Join(ins, ", "), n.attrs, i)
	}
	for i := range ewNodes(dt) {
		fmt.Fprintf(&b, "  output %%o%d\n", i)
	}
	b.WriteString("}\n")
	g, err := ir.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// ewIntRange returns dt's minimum and maximum as int64/uint64 bit patterns.
func ewIntRange(dt ir.DType) (lo int64, hi uint64) {
	bits := map[ir.DType]uint{ir.Int8: 8, ir.Uint8: 8, ir.Int16: 16, ir.Uint16: 16, ir.Int32: 32, ir.Uint32: 32, ir.Int64: 64, ir.Uint64: 64}[dt]
	if dt.IsSigned() {
		return -1 << (bits - 1), 1<<(bits-1) - 1
	}
	return 0, 1<<bits - 1
}

// ewFill sets element i of t from v (float dtypes), or from the integer
// bit pattern iv (integer and bool dtypes).
func ewFill(t *ir.Tensor, i int, v float64, iv int64) {
	switch d := t.Data.(type) {
	case []float32:
		d[i] = float32(v)
	case []float64:
		d[i] = v
	case []uint16:
		switch t.DType {
		case ir.Float16:
			d[i] = ir.Float32ToFloat16(float32(v))
		case ir.BFloat16:
			d[i] = ir.Float32ToBFloat16(float32(v))
		default:
			d[i] = uint16(iv)
		}
	case []int8:
		d[i] = int8(iv)
	case []uint8:
		d[i] = uint8(iv)
	case []int16:
		d[i] = int16(iv)
	case []int32:
		d[i] = int32(iv)
	case []uint32:
		d[i] = uint32(iv)
	case []int64:
		d[i] = iv
	case []uint64:
		d[i] = uint64(iv)
	case []bool:
		d[i] = iv&1 == 1
	default:
		panic(fmt.Sprintf("ewFill %T", t.Data))
	}
}

// ewInputs makes the inputs of ewGraph(dt): float specials then random
// values; integer extremes then random full-range and small values.
func ewInputs(g *ir.Graph, dt ir.DType, seed uint64) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		n := int(t.Len())
		lo, hi := int64(0), uint64(1)
		if v.Type.DType != ir.Bool && !v.Type.DType.IsFloat() {
			lo, hi = ewIntRange(v.Type.DType)
		}
		for i := 0; i < n; i++ {
			var f float64
			switch {
			case v.Name == "x" && i < len(ewFloatValues):
				f = ewFloatValues[i]
			case v.Name == "y" && i < len(ewFloatValues):
				f = ewFloatValues[(i*7+3)%len(ewFloatValues)]
			case v.Name == "lo":
				f = -0.75
			case v.Name == "hi":
				f = 2.5
			case v.Name == "pf":
				f = float64(rng.IntN(4))
			case rng.IntN(3) == 0:
				f = rng.Float64()*2 - 1
			default:
				f = rng.NormFloat64() * 4
			}
			var iv int64
			switch k := rng.IntN(6); {
			case v.Name == "lo":
				iv = lo/2 + 3
			case v.Name == "hi":
				iv = int64(hi / 3)
			case v.Name == "e":
				iv = int64(rng.IntN(12))
				if v.Type.DType.IsSigned() {
					iv -= 2
				}
				if v.Type.DType.IsUnsigned() {
					iv = int64(rng.IntN(80)) // shifts past the width
				}
			case v.Name == "s":
				iv = int64(rng.IntN(6))
				if v.Type.DType.IsSigned() {
					iv -= 2
				}
			case i < 4 && v.Name == "x":
				iv = []int64{lo, int64(hi), -1, 1}[i]
			case i < 4 && v.Name == "d":
				iv = []int64{-1, int64(hi), lo, 1}[i] // MinInt / -1 at [0]
			case k == 0:
				iv = int64(rng.IntN(7)) - 3
			case k == 1:
				iv = lo + int64(rng.IntN(3))
			default:
				iv = int64(rng.Uint64())
			}
			if (v.Name == "d" || v.Name == "db") && ewTrunc(iv, v.Type.DType) == 0 {
				iv = 3
			}
			ewFill(t, i, f, iv)
		}
		m[v.Name] = t
	}
	return m
}

// ewTrunc is iv narrowed to dt's width (as ewFill stores it).
func ewTrunc(iv int64, dt ir.DType) int64 {
	t := ir.NewTensor(dt, []int64{1})
	ewFill(t, 0, 0, iv)
	return t.Int64s()[0]
}

// ewULPs returns the distance in ulps of dtype dt between a and b (both
// finite or equal infinities), using the ordered integer view of the bits.
func ewULPs(a, b float64, dt ir.DType) int64 {
	ord := func(x float64) int64 {
		var bits, min int64
		switch dt {
		case ir.Float64:
			bits, min = int64(math.Float64bits(x)), math.MinInt64
		case ir.Float16:
			bits, min = int64(int16(ir.Float32ToFloat16(float32(x)))), math.MinInt16
		case ir.BFloat16:
			bits, min = int64(int16(ir.Float32ToBFloat16(float32(x)))), math.MinInt16
		default:
			bits, min = int64(int32(math.Float32bits(float32(x)))), math.MinInt32
		}
		if bits < 0 {
			bits = min - bits
		}
		return bits
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

// ewCompare checks one output against the interpreter's.
func ewCompare(t *testing.T, name string, n ewNode, got, want *ir.Tensor) {
	t.Helper()
	if got.DType != want.DType || !equalShape(got.Shape, want.Shape) {
		t.Errorf("%s (%s%s): got %s%v, want %s%v", name, n.op, n.attrs, got.DType, got.Shape, want.DType, want.Shape)
		return
	}
	tol := ewApprox[n.op]
	if want.DType == ir.Float64 {
		// The interpreter's Go math functions are not correctly rounded
		// everywhere (math.Sin/Tan at 1e30 are 40 ulps from glibc's
		// correctly rounded result, math.Pow a few ulps), so float64 allows
		// 64 ulps: a relative error of about 1e-14.
		tol *= 32
	}
	bad := 0
	if !want.DType.IsFloat() {
		g, w := got.Int64s(), want.Int64s()
		if want.DType == ir.Uint64 {
			gu, wu := got.Data.([]uint64), want.Data.([]uint64)
			for i := range gu {
				g[i], w[i] = int64(gu[i]), int64(wu[i])
			}
		}
		for i := range w {
			if g[i] != w[i] && bad < 5 {
				bad++
				t.Errorf("%s (%s%s %v): [%d] = %d, want %d", name, n.op, n.attrs, n.ins, i, g[i], w[i])
			}
		}
		return
	}
	gf, wf := got.Float64s(), want.Float64s()
	for i := range wf {
		g, w := gf[i], wf[i]
		if math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		if math.Float64bits(g) == math.Float64bits(w) {
			continue
		}
		if tol > 0 && !math.IsNaN(g) && !math.IsNaN(w) && !math.IsInf(g, 0) && !math.IsInf(w, 0) && ewULPs(g, w, want.DType) <= tol {
			continue
		}
		if bad < 5 {
			bad++
			t.Errorf("%s (%s%s %v): [%d] = %g (%#x), want %g (%#x)", name, n.op, n.attrs, n.ins, i, g, math.Float64bits(g), w, math.Float64bits(w))
		}
	}
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ewTargets is the targets the elementwise test runs on; EFFC_EW_TARGETS
// (comma-separated) narrows it while working on one, as EFFC_EW_OPS (a
// regexp matching whole op names) narrows the ops; -short runs x86_64 only.
// All 13 dtypes on all three targets take about 200 s on two cores.
func ewTargets() []string {
	if s := os.Getenv("EFFC_EW_TARGETS"); s != "" {
		return strings.Split(s, ",")
	}
	if testing.Short() {
		return []string{"x86_64"}
	}
	return []string{"x86_64", "arm64", "wasm32"}
}

func TestElementwiseMatchesInterpreter(t *testing.T) {
	dts := append([]ir.DType{ir.Float32, ir.Float64, ir.Float16, ir.BFloat16, ir.Bool}, ewIntDTypes...)
	for _, dt := range dts {
		t.Run(dt.String(), func(t *testing.T) {
			g := ewGraph(t, dt)
			in := ewInputs(g, dt, uint64(dt))
			want, err := interp.Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			nodes := ewNodes(dt)
			for _, tn := range ewTargets() {
				spec, err := target.Load(tn)
				if err != nil {
					t.Fatal(err)
				}
				got, err := (&Engine{Spec: spec}).Run(g, in)
				if err != nil {
					t.Fatalf("%s: %v", tn, err)
				}
				for i, n := range nodes {
					name := fmt.Sprintf("o%d", i)
					ewCompare(t, tn+" "+name, n, got[name], want[name])
				}
			}
		})
	}
}

// ewVectorPatterns are instructions model.s must contain when the
// elementwise chain of TestElementwiseVectorizes compiles for each target:
// the broadcast Add and the Relu run on full vectors.
var ewVectorPatterns = map[string][]string{
	"x86_64": {`vaddps\s+.*%ymm`, `vmaxps\s+.*%ymm`},
	"arm64":  {`fadd\s+v\d+\.4s`, `fcm\w+\s+v\d+\.4s`},
	"wasm32": {`f32x4\.add`, `f32x4\.(pmax|le|lt)`},
}

// TestElementwiseVectorizes checks that a channel-broadcast Add (the
// merged inner H*W loop of mapIndex), Relu, Max, Clip with a runtime bound
// and HardSwish compile to vector code on every target, so vectorization
// cannot silently vanish.
func TestElementwiseVectorizes(t *testing.T) {
	src := `effir 1
graph "vec" opset{ai.onnx=18} {
  input %x : f32[1,16,9,9]
  input %b : f32[16,1,1]
  input %lo : f32[]
  %a : f32[1,16,9,9] = Add(%x, %b) @add
  %r : f32[1,16,9,9] = Relu(%a) @relu
  %m : f32[1,16,9,9] = Max(%r, %x) @max
  %c : f32[1,16,9,9] = Clip(%m, %lo) @clip
  %h : f32[1,16,9,9] = HardSwish(%c) @hs
  output %h
}
`
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	for _, tn := range ewTargets() {
		spec, err := target.Load(tn)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), tn)
		if _, err := backend.Compile(context.Background(), g, spec, backend.Options{OutDir: dir, Emit: []string{backend.EmitAsm}}); err != nil {
			t.Fatalf("%s: %v", tn, err)
		}
		asm, err := os.ReadFile(filepath.Join(dir, "model.s"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ewVectorPatterns[tn] {
			if !regexp.MustCompile(p).Match(asm) {
				t.Errorf("%s: model.s has no match for %q", tn, p)
			}
		}
	}
}
