package llvmgen_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// The tests in the misc_*, gather, quant, resize and rnn test files compile
// small graphs with several of those kernels each, run them on every target
// and compare against the interpreter.

// targetNames are the targets every compiled kernel is checked on.
var targetNames = []string{"x86_64", "arm64", "wasm32"}

// parseGraph parses effir text and infers shapes.
func parseGraph(t *testing.T, src string) *ir.Graph {
	t.Helper()
	g, err := ir.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return g
}

// randomInputs fills every graph input not in fixed: floats from a normal
// distribution, integers uniformly in [lo, hi).
func randomInputs(g *ir.Graph, seed uint64, lo, hi int64, fixed map[string]*ir.Tensor) map[string]*ir.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		if t, ok := fixed[v.Name]; ok {
			m[v.Name] = t
			continue
		}
		n := ir.NumElements(v.Type.Shape.Sizes())
		vals := make([]float64, n)
		for i := range vals {
			if v.Type.DType.IsFloat() {
				vals[i] = rng.NormFloat64()
			} else {
				vals[i] = float64(lo + rng.Int64N(hi-lo))
			}
		}
		m[v.Name] = fromF64(v.Type.DType, v.Type.Shape.Sizes(), vals)
	}
	return m
}

// fromF64 builds a tensor of dt from float64 values.
func fromF64(dt ir.DType, shape []int64, vals []float64) *ir.Tensor {
	t := ir.NewTensor(dt, shape)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range vals {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, vals)
	case []int64:
		for i, v := range vals {
			d[i] = int64(v)
		}
	case []int32:
		for i, v := range vals {
			d[i] = int32(v)
		}
	case []int8:
		for i, v := range vals {
			d[i] = int8(v)
		}
	case []uint8:
		for i, v := range vals {
			d[i] = uint8(v)
		}
	case []bool:
		for i, v := range vals {
			d[i] = v != 0
		}
	default:
		panic("fromF64: dtype " + dt.String())
	}
	return t
}

// checkOnTargets runs g on the interpreter and on every target and compares
// each output: exactly when tol is 0, else within abs-or-rel tol.
func checkOnTargets(t *testing.T, src string, in map[string]*ir.Tensor, tol float64) {
	t.Helper()
	g := parseGraph(t, src)
	want, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range targetNames {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&engine.Engine{Spec: spec}).Run(parseGraph(t, src), in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, w := range want {
			wf, gf := w.Float64s(), got[k].Float64s()
			if len(wf) != len(gf) {
				t.Fatalf("%s: %s has %d elements, want %d", name, k, len(gf), len(wf))
			}
			bad := 0
			for i := range wf {
				if !close(wf[i], gf[i], tol) {
					if bad < 5 {
						t.Errorf("%s: %s[%d] = %v, want %v (tol %g)", name, k, i, gf[i], wf[i], tol)
					}
					bad++
				}
			}
			if bad > 0 {
				t.Fatalf("%s: %s: %d of %d elements differ", name, k, bad, len(wf))
			}
		}
	}
}

// close compares exactly (bit patterns, NaN equal to NaN) when tol is 0.
func close(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if tol == 0 {
		return math.Float64bits(a) == math.Float64bits(b)
	}
	d := math.Abs(a - b)
	return d <= tol || d <= tol*math.Abs(a)
}

func TestLossKernels(t *testing.T) {
	src := `effir 1
graph "loss" opset{ai.onnx=18} {
  input %x : f32[3,5,2]
  input %t : i64[3,2]
  input %w : f32[5]
  %n : f32[3,2] = NegativeLogLikelihoodLoss(%x, %t, %w) {reduction="none", ignore_index=4}  @nll_none
  %m : f32[] = NegativeLogLikelihoodLoss(%x, %t) {reduction="mean"}  @nll_mean
  %s : f32[] = SoftmaxCrossEntropyLoss(%x, %t, %w) {reduction="sum"}  @sce_sum
  %a : f32[] = SoftmaxCrossEntropyLoss(%x, %t, %w) {ignore_index=1}  @sce_mean
  %b : f32[3,2] = SoftmaxCrossEntropyLoss(%x, %t) {reduction="none"}  @sce_none
  %c : f32[], %lp : f32[3,5,2] = SoftmaxCrossEntropyLoss(%x, %t) {reduction="mean"}  @sce_lp
  %sh : i64[3] = Shape(%x)  @shape
  output %n
  output %m
  output %s
  output %a
  output %b
  output %c
  output %lp
  output %sh
}
`
	g := parseGraph(t, src)
	checkOnTargets(t, src, randomInputs(g, 1, 0, 5, nil), 1e-5)
}
