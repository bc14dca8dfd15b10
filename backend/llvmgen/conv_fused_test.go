package llvmgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/backend/plan"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/runtime"
	"github.com/effc/effc/runtime/harness"
)

// TestConvFusedEpilogue compiles Conv kernels built with convKernelWith (an
// activation and a residual input applied in the GEMM tile store, or in the
// depthwise strips) and checks them against the unfused graph
// Conv -> Add(residual) -> activation on the interpreter. The fused node is
// the Conv with the residual appended as input 3, compiled under a test-only
// op name (ONNX has no fused op for the verifier to accept), natively on
// x86_64.
func TestConvFusedEpilogue(t *testing.T) {
	cases := []struct {
		name, attrs, act string
		actAttrs         string
		kern             activation
		xs, ws           []int64
	}{
		{"gemm_relu", "pads=[1, 1, 1, 1]", "Relu", "", activation{kind: "Relu"}, []int64{1, 5, 9, 11}, []int64{13, 5, 3, 3}},
		{"pointwise_leaky", "", "LeakyRelu", " {alpha=0.125}", activation{kind: "LeakyRelu", lo: 0.125}, []int64{1, 8, 7, 5}, []int64{19, 8, 1, 1}},
		{"depthwise_relu", "group=6, pads=[1, 1, 1, 1], strides=[2, 2]", "Relu", "", activation{kind: "Relu"}, []int64{1, 6, 9, 40}, []int64{6, 1, 3, 3}},
	}
	spec, err := target.Load("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			rnd := func(shape []int64) *ir.Tensor {
				x := ir.NewTensor(ir.Float32, shape)
				for i, d := 0, x.Data.([]float32); i < len(d); i++ {
					d[i] = float32(rng.Float64()*2 - 1)
				}
				return x
			}
			x, w, b := rnd(c.xs), rnd(c.ws), rnd([]int64{c.ws[0]})
			attrs := ""
			if c.attrs != "" {
				attrs = " {" + c.attrs + "}"
			}
			// the plain Conv gives the output shape; the unfused reference
			// graph the values
			conv := "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %x : " + tyStr(c.xs) + "\n  input %w : " + tyStr(c.ws) +
				"\n  input %b : " + tyStr([]int64{c.ws[0]}) + "\n  %y = Conv(%x, %w, %b)" + attrs + "  @conv\n  output %y\n}\n"
			g1 := parse(t, conv)
			ys := g1.Outputs[0].Type.Shape.Sizes()
			r := rnd(ys)
			ref := "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %x : " + tyStr(c.xs) + "\n  input %w : " + tyStr(c.ws) +
				"\n  input %b : " + tyStr([]int64{c.ws[0]}) + "\n  input %r : " + tyStr(ys) +
				"\n  %y = Conv(%x, %w, %b)" + attrs + "  @conv\n  %s = Add(%y, %r)  @add\n  %z = " + c.act + "(%s)" + c.actAttrs + "  @act\n  output %z\n}\n"
			in := map[string]*ir.Tensor{"x": x, "w": w, "b": b, "r": r}
			want, err := interp.Run(parse(t, ref), in)
			if err != nil {
				t.Fatal(err)
			}
			// the fused graph: Conv(x, w, b, r) under a test op name
			g := parse(t, conv)
			rv := &ir.Value{Name: "r", Type: ir.TensorType(ir.Float32, ir.ShapeOf(ys...))}
			g.Inputs = append(g.Inputs, rv)
			n := g.Nodes[0]
			n.Inputs = append(n.Inputs, rv)
			op := "EffcTestFusedConv_" + c.name
			n.Op = op
			kernels[op] = convKernelWith(convOptions{act: c.kern, residual: 3})
			scratchNeeds[op] = func(n *ir.Node) int64 {
				m := *n
				m.Op = "Conv"
				return convScratch(&m)
			}
			defer delete(kernels, op)
			defer delete(scratchNeeds, op)
			got := runNative(t, spec, g, []*ir.Tensor{x, w, b, r})
			wf, gf := want["z"].Float64s(), got.Float64s()
			for i := range wf {
				if d := math.Abs(wf[i] - gf[i]); d > 1e-4 && d > 1e-4*math.Abs(wf[i]) {
					t.Fatalf("z[%d] = %v, want %v", i, gf[i], wf[i])
				}
			}
		})
	}
}

// tyStr is an effir f32 tensor type.
func tyStr(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "f32[" + strings.Join(parts, ",") + "]"
}

// parse parses effir text and infers shapes.
func parse(t *testing.T, src string) *ir.Graph {
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

// runNative emits g, compiles it with opt and llc for spec, links the C
// harness and runs it on inputs, returning output 0.
func runNative(t *testing.T, spec *target.Spec, g *ir.Graph, inputs []*ir.Tensor) *ir.Tensor {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := plan.Make(g, ScratchBytes)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Emit(g, p, Config{Name: "model", Triple: spec.Triple, VectorBits: spec.VectorBits, HasFMA: spec.HasFMA})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.ll"), []byte(mod.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := toolchain.Run(ctx, dir, "opt", append(spec.OptArgs(), "model.ll", "-o", "model.bc")...); err != nil {
		t.Fatal(err)
	}
	if _, err := toolchain.Run(ctx, dir, "llc", append(spec.LLCArgs(), "-filetype=obj", "model.bc", "-o", "model.o")...); err != nil {
		t.Fatal(err)
	}
	info := func(vs []*ir.Value) []runtime.TensorInfo {
		var r []runtime.TensorInfo
		for _, v := range vs {
			r = append(r, runtime.TensorInfo{Name: v.Name, DType: v.Type.DType, Shape: v.Type.Shape.Sizes()})
		}
		return r
	}
	outs := info(g.Outputs)
	if err := os.WriteFile(filepath.Join(dir, "model.h"), runtime.Header("model", info(g.Inputs), outs, p.ArenaSize), 0o644); err != nil {
		t.Fatal(err)
	}
	cc, err := toolchain.Find(spec.Link.CC)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := harness.Build(ctx, harness.Options{CC: cc, Dir: dir, Lib: filepath.Join(dir, "model.o"), Header: filepath.Join(dir, "model.h")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := harness.Run(ctx, nil, exe, inputs, outs)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}
