package llvmgen_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// rdTargets are the targets every reduce-family graph is compiled for.
var rdTargets = []string{"x86_64", "arm64", "wasm32"}

// rdGraph parses an effir graph body (inputs, constants, nodes, outputs)
// at opset 18 and infers its shapes.
func rdGraph(t *testing.T, body string) *ir.Graph {
	t.Helper()
	src := "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n" + body + "\n}\n"
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatalf("infer: %v\n%s", err, src)
	}
	return g
}

// rdInputs fills every graph input with random data: normal floats (with
// NaNs and exact ties when special), small integers.
func rdInputs(g *ir.Graph, seed uint64, special bool) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(seed, 99))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		f := func() float64 {
			x := rng.NormFloat64()
			if special {
				switch rng.IntN(8) {
				case 0:
					return math.NaN()
				case 1, 2:
					return float64(rng.IntN(3)) // ties
				}
			}
			return x
		}
		switch d := t.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = float32(f())
			}
		case []float64:
			for i := range d {
				d[i] = f()
			}
		case []uint16: // f16 / bf16 bits
			for i := range d {
				if v.Type.DType == ir.Float16 {
					d[i] = ir.Float32ToFloat16(float32(f()))
				} else {
					d[i] = ir.Float32ToBFloat16(float32(f()))
				}
			}
		case []int32:
			for i := range d {
				d[i] = int32(rng.IntN(11) - 5)
			}
		case []int64:
			for i := range d {
				d[i] = int64(rng.IntN(11) - 5)
			}
		case []uint8:
			for i := range d {
				d[i] = uint8(rng.IntN(256))
			}
		case []int8:
			for i := range d {
				d[i] = int8(rng.IntN(256) - 128)
			}
		default:
			panic(fmt.Sprintf("rdInputs: dtype %s", v.Type.DType))
		}
		m[v.Name] = t
	}
	return m
}

// rdClose is the reduction tolerance: abs-or-rel 1e-4 (tol), NaN matches
// NaN, infinities match exactly.
func rdClose(got, want, tol float64) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	d := math.Abs(got - want)
	return d <= tol || d <= tol*math.Abs(want)
}

// rdCheck compiles g for every target, runs it on in and compares every
// output with the interpreter: floats within tol, integers exactly.
func rdCheck(t *testing.T, g *ir.Graph, in map[string]*ir.Tensor, tol float64) {
	t.Helper()
	rdCheckOn(t, rdTargets, g, in, tol)
}

// rdCheckOn is rdCheck on the named targets.
func rdCheckOn(t *testing.T, targets []string, g *ir.Graph, in map[string]*ir.Tensor, tol float64) {
	t.Helper()
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatalf("interp: %v", err)
	}
	for _, name := range targets {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		e := &engine.Engine{Spec: spec}
		got, err := e.Run(g, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, w := range want {
			gt := got[k]
			if gt == nil || gt.DType != w.DType || fmt.Sprint(gt.Shape) != fmt.Sprint(w.Shape) {
				t.Fatalf("%s: output %s is %v, want %s%v", name, k, gt, w.DType, w.Shape)
			}
			wf, gf := w.Float64s(), gt.Float64s()
			bad := 0
			for i := range wf {
				ok := wf[i] == gf[i] || math.IsNaN(wf[i]) && math.IsNaN(gf[i])
				if w.DType.IsFloat() {
					ok = rdClose(gf[i], wf[i], tol)
				}
				if !ok {
					if bad < 5 {
						t.Errorf("%s: %s[%d] = %v, want %v", name, k, i, gf[i], wf[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%s: %s: %d of %d elements differ", name, k, bad, len(wf))
			}
		}
	}
}

// rdShape picks a random static shape of rank r with sizes 1..7 (mostly odd).
func rdShape(rng *rand.Rand, r int) []int64 {
	s := make([]int64, r)
	for i := range s {
		s[i] = int64(1 + rng.IntN(7))
	}
	return s
}

func rdDims(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, ",")
}

func TestReduceCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 2; trial++ {
		s := rdShape(rng, 3)
		s[2] = int64(5 + 8*trial) // long enough rows to vectorize
		body := fmt.Sprintf(`  input %%x : f32[%s]
  input %%p : f32[%s]
  const %%a1 : i64[1] = [1]
  const %%a02 : i64[2] = [0, 2]
  const %%a2 : i64[1] = [-1]
  const %%a0 : i64[1] = [0]
  const %%a01 : i64[2] = [0, 1]
  const %%none : i64[0] = []
  %%sum = ReduceSum(%%x, %%a1) {keepdims=1}
  %%mean = ReduceMean(%%x, %%a02) {keepdims=0}
  %%max = ReduceMax(%%x, %%a2)
  %%min = ReduceMin(%%x, %%a0) {keepdims=0}
  %%prod = ReduceProd(%%x, %%a2)
  %%l1 = ReduceL1(%%x)
  %%l2 = ReduceL2(%%x, %%a01) {keepdims=0}
  %%ls = ReduceLogSum(%%p, %%a0)
  %%lse = ReduceLogSumExp(%%x, %%a01)
  %%lse2 = ReduceLogSumExp(%%x, %%a2) {keepdims=0}
  %%ssq = ReduceSumSquare(%%x, %%a1) {keepdims=0}
  %%noop = ReduceSum(%%x, %%none) {noop_with_empty_axes=1}
  %%all = ReduceMax(%%x, %%none)
  output %%sum
  output %%mean
  output %%max
  output %%min
  output %%prod
  output %%l1
  output %%l2
  output %%ls
  output %%lse
  output %%lse2
  output %%ssq
  output %%noop
  output %%all`, rdDims(s), rdDims(s))
		g := rdGraph(t, body)
		in := rdInputs(g, uint64(trial), false)
		for i, v := range in["p"].Data.([]float32) {
			in["p"].Data.([]float32)[i] = float32(math.Abs(float64(v))) + 0.1
		}
		rdCheck(t, g, in, 1e-4)
	}
}

func TestReduceCompiledIntAndHalf(t *testing.T) {
	body := `  input %x : i32[3,4,5]
  input %u : u8[2,9]
  input %h : f16[3,7]
  const %a1 : i64[1] = [1]
  const %a0 : i64[1] = [0]
  %sum = ReduceSum(%x, %a1)
  %max = ReduceMax(%x, %a0) {keepdims=0}
  %min = ReduceMin(%x, %a1)
  %prod = ReduceProd(%x, %a0)
  %l1 = ReduceL1(%x, %a1)
  %ssq = ReduceSumSquare(%x)
  %mean = ReduceMean(%x, %a1)
  %umin = ReduceMin(%u, %a1)
  %umax = ReduceMax(%u, %a0)
  %usum = ReduceSum(%u, %a1)
  %hsum = ReduceSum(%h, %a0)
  %hmean = ReduceMean(%h, %a1)
  %hmax = ReduceMax(%h, %a0)
  output %sum
  output %max
  output %min
  output %prod
  output %l1
  output %ssq
  output %mean
  output %umin
  output %umax
  output %usum
  output %hsum
  output %hmean
  output %hmax`
	g := rdGraph(t, body)
	// f16 outputs: within about an f16 ULP (wasm32 decodes half with integer code).
	rdCheckOn(t, []string{"x86_64", "arm64", "wasm32"}, g, rdInputs(g, 5, false), 2e-3)
}

func TestArgTopKCumSumCompiled(t *testing.T) {
	body := `  input %x : f32[4,9,5]
  input %i : i32[3,7]
  const %k : i64[1] = [3]
  const %k9 : i64[1] = [9]
  const %ax1 : i64[] = 1
  const %axm : i32[] = -1
  %am = ArgMax(%x) {axis=1}
  %an = ArgMin(%x) {axis=-1, keepdims=0}
  %aml = ArgMax(%x) {axis=2, select_last_index=1}
  %anl = ArgMin(%x) {axis=0, select_last_index=1, keepdims=0}
  %iam = ArgMax(%i) {axis=1, select_last_index=1}
  %ian = ArgMin(%i) {axis=0}
  %tv, %ti = TopK(%x, %k)
  %sv, %si = TopK(%x, %k9) {axis=1, largest=0}
  %jv, %ji = TopK(%i, %k) {axis=1}
  %cs = CumSum(%x, %ax1)
  %cse = CumSum(%x, %axm) {exclusive=1, reverse=1}
  %ci = CumSum(%i, %ax1) {reverse=1}
  const %a2 : i64[1] = [2]
  const %a12 : i64[2] = [1, 2]
  const %a0 : i64[1] = [0]
  %rmax = ReduceMax(%x, %a2)
  %rmin = ReduceMin(%x, %a12) {keepdims=0}
  %rmax0 = ReduceMax(%x, %a0)
  output %rmax
  output %rmin
  output %rmax0
  output %am
  output %an
  output %aml
  output %anl
  output %iam
  output %ian
  output %tv
  output %ti
  output %sv
  output %si
  output %jv
  output %ji
  output %cs
  output %cse
  output %ci`
	g := rdGraph(t, body)
	in := rdInputs(g, 11, true)
	// CumSum propagates NaN along whole lines; compare it on NaN-free data too.
	rdCheck(t, g, in, 1e-4)
	rdCheck(t, g, rdInputs(g, 12, false), 1e-4)
}

func TestReduceNeedsConstantAxes(t *testing.T) {
	g := rdGraph(t, `  input %x : f32[3,4]
  input %a : i64[1]
  %y = ReduceSum(%x, %a)
  output %y`)
	g.Outputs[0].Type = ir.TensorType(ir.Float32, ir.ShapeOf(1, 1)) // as if --shape bound it
	spec, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	in := rdInputs(g, 1, false)
	_, err = (&engine.Engine{Spec: spec}).Run(g, in)
	if err == nil || !strings.Contains(err.Error(), "constant") {
		t.Fatalf("got %v, want an error saying the axes must be constant", err)
	}
}

// TestReduceCompiledRandomAxes gives every Reduce* op a random rank-4
// shape (sizes 1..7) and a random axes subset and keepdims, so the
// merging of neighbouring kept/reduced dims and both loop orders (row
// accumulation, scalar groups) meet many layouts.
func TestReduceCompiledRandomAxes(t *testing.T) {
	ops := []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
		"ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"}
	rng := rand.New(rand.NewPCG(17, 3))
	for trial := 0; trial < 3; trial++ {
		s := rdShape(rng, 4)
		var b strings.Builder
		fmt.Fprintf(&b, "  input %%x : f32[%s]\n  input %%p : f32[%s]\n", rdDims(s), rdDims(s))
		for i, op := range ops {
			var axes []string
			for a := 0; a < 4; a++ {
				if rng.IntN(2) == 0 {
					axes = append(axes, fmt.Sprint(a-4*rng.IntN(2))) // some negative
				}
			}
			if len(axes) == 0 {
				axes = []string{fmt.Sprint(rng.IntN(4))}
			}
			in := "x"
			if op == "ReduceLogSum" {
				in = "p"
			}
			fmt.Fprintf(&b, "  const %%a%d : i64[%d] = [%s]\n", i, len(axes), strings.Join(axes, ", "))
			fmt.Fprintf(&b, "  %%r%d = %s(%%%s, %%a%d) {keepdims=%d}\n  output %%r%d\n", i, op, in, i, rng.IntN(2), i)
		}
		g := rdGraph(t, b.String())
		in := rdInputs(g, uint64(100+trial), false)
		for i, v := range in["p"].Data.([]float32) {
			in["p"].Data.([]float32)[i] = float32(math.Abs(float64(v))) + 0.1
		}
		for i, v := range in["x"].Data.([]float32) {
			in["x"].Data.([]float32)[i] = v/2 + 1 // keep ReduceProd of up to 7^4 factors in range
		}
		rdCheck(t, g, in, 1e-4)
	}
}

// TestMaxMinSignedZeroExact checks that ReduceMax, ReduceMin and
// GlobalMaxPool are bit-exact on signed zeros (max prefers +0, min -0, as
// the interpreter's math.Max/math.Min), on the vector, scalar and row paths.
func TestMaxMinSignedZeroExact(t *testing.T) {
	g := rdGraph(t, `  input %a : f32[2,3,4,11]
  input %b : f32[2,3,4,11]
  const %last : i64[1] = [-1]
  const %a1 : i64[1] = [1]
  const %a01 : i64[2] = [0, 1]
  %m1 = ReduceMax(%a, %last)
  %m2 = ReduceMax(%a, %a1)
  %n1 = ReduceMin(%b, %last)
  %n2 = ReduceMin(%b, %a01) {keepdims=0}
  %gm = GlobalMaxPool(%a)
  output %m1
  output %m2
  output %n1
  output %n2
  output %gm`)
	rng := rand.New(rand.NewPCG(5, 6))
	in := rdInputs(g, 1, false)
	negZero := float32(math.Copysign(0, -1))
	for name, other := range map[string]float32{"a": -1, "b": 1} {
		for i, d := 0, in[name].Data.([]float32); i < len(d); i++ {
			d[i] = []float32{0, negZero, negZero, other}[rng.IntN(4)]
		}
	}
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rdTargets {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&engine.Engine{Spec: spec}).Run(g, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, w := range want {
			wf, gf := w.Float64s(), got[k].Float64s()
			for i := range wf {
				if math.Float64bits(wf[i]) != math.Float64bits(gf[i]) {
					t.Fatalf("%s: %s[%d] = %v, want %v (bit-exact)", name, k, i, gf[i], wf[i])
				}
			}
		}
	}
}
