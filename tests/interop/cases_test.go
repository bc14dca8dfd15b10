package interop

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/ortrun"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
	onnxconf "github.com/effc/effc/tests/onnx"
)

// encoderCases are graphs in the IR text form, each using an encoder
// feature the conformance models (ONNX 1.12, opsets up to 17) do not reach
// or reach rarely. Each runs in ONNX Runtime and must agree with the
// interpreter exactly.
var encoderCases = []struct {
	name, src string
	inputs    map[string]*ir.Tensor
	edit      func(g *ir.Graph) // what the text form cannot say; nil for none
}{
	{"narrow float constants", `effir 1
graph "narrow" opset{ai.onnx=18} {
  const %bf : bf16[3] = [1, -123.5, 0.0078125]
  const %h : f16[3] = [1, 65504, -0.5]
  const %e4 : f8e4m3fn[3] = [1, 448, 0.001953125]
  const %e4z : f8e4m3fnuz[3] = [1, 240, -0.5]
  const %e5 : f8e5m2[3] = [1, 57344, -2]
  const %e5z : f8e5m2fnuz[3] = [1, -57344, 0.25]
  %bf.f : f32[3] = Cast(%bf) {to=1}  @bf
  %h.f : f32[3] = Cast(%h) {to=1}  @h
  %e4.f : f32[3] = Cast(%e4) {to=1}  @e4
  %e4z.f : f32[3] = Cast(%e4z) {to=1}  @e4z
  %e5.f : f32[3] = Cast(%e5) {to=1}  @e5
  %e5z.f : f32[3] = Cast(%e5z) {to=1}  @e5z
  output %bf.f
  output %h.f
  output %e4.f
  output %e4z.f
  output %e5.f
  output %e5z.f
}
`, nil, nil},
	{"fp8 value types", `effir 1
graph "fp8" opset{ai.onnx=18} {
  input %x : f32[2]
  const %s : f32[] = 0.5
  %q : f8e4m3fn[2] = Cast(%x) {to=17}  @q
  %q2 : f8e5m2[2] = CastLike(%q, %e5) @q2
  const %e5 : f8e5m2[1] = [1]
  %d : f32[2] = Cast(%q2) {to=1}  @d
  %y : f32[2] = Mul(%d, %s)  @y
  output %y
}
`, map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{2}, []float32{3.3, -100})}, nil},
	{"omitted optional inputs and outputs", `effir 1
graph "optional" opset{ai.onnx=18} {
  input %x : f32[1,1,2,2]
  input %v : f32[6]
  const %hi : f32[] = 0.5
  const %scales : f32[4] = [1, 1, 2, 2]
  %c : f32[1,1,2,2] = Clip(%x, _, %hi)  @clip
  %r : f32[1,1,4,4] = Resize(%c, _, %scales) {mode="nearest"}  @resize
  %u, _, _, %n = Unique(%v) {sorted=1}  @unique
  output %r
  output %u
  output %n
}
`, map[string]*ir.Tensor{
		"x": ir.FromFloat32([]int64{1, 1, 2, 2}, []float32{-1, 0.25, 0.75, 2}),
		"v": ir.FromFloat32([]int64{6}, []float32{3, 1, 3, 2, 1, 3}),
	}, nil},
	{"outputs that are inputs and constants", `effir 1
graph "passthrough" opset{ai.onnx=18} {
  input %x : f32[N,2]
  input %unused : i64[3]
  const %k : i64[2] = [7, -7]
  const %dead : f32[1] = [9]
  %y : f32[N,2] = Neg(%x)
  output %x
  output %k
  output %y
}
`, map[string]*ir.Tensor{
		"x":      ir.FromFloat32([]int64{3, 2}, []float32{1, 2, 3, 4, 5, 6}),
		"unused": ir.FromInt64([]int64{3}, []int64{1, 2, 3}),
	}, nil},
	{"names attributes and shapes", `effir 1
graph "attrs" opset{ai.onnx=18} {
  input %"in put/0:x" : f32[batch,?,3]
  input %flag : bool[]
  const %shape : i64[2] = [2, 3]
  const %empty : f32[0,3] = []
  %filled : f32[2,3] = ConstantOfShape(%shape) {value=f32[1] [2.5]}  @"fill/0"
  %t = Transpose(%"in put/0:x") {perm=[0, 2, 1]}
  %cat : f32[2,3] = Concat(%filled, %empty) {axis=0}  @cat
  %not : bool[] = Not(%flag)
  %w : f32[*] = Where(%not, %cat, %filled)
  %lrn : f32[1,2,3] = Unsqueeze(%w, %axes0)
  const %axes0 : i64[1] = [0]
  %sm : f32[1,2,3] = LpNormalization(%lrn) {axis=-1, p=2}
  output %t
  output %sm
}
`, map[string]*ir.Tensor{
		"in put/0:x": ir.FromFloat32([]int64{1, 2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		"flag":       {DType: ir.Bool, Shape: []int64{}, Data: []bool{false}},
	}, nil},
	{"int8 QDQ convolution", `effir 1
graph "qdq" opset{ai.onnx=18} {
  input %x : f32[1,2,3,3]
  const %xs : f32[] = 0.05
  const %xz : u8[] = 128
  const %wq : i8[3,2,1,1] = [10, -20, 30, -40, 50, -60]
  const %ws : f32[3] = [0.01, 0.02, 0.03]
  const %wz : i8[3] = [0, 0, 0]
  const %bq : i32[3] = [100, -100, 0]
  const %bs : f32[3] = [0.0005, 0.001, 0.0015]
  const %ys : f32[] = 0.125
  const %yz : u8[] = 100
  %xq : u8[1,2,3,3] = QuantizeLinear(%x, %xs, %xz)  @xq
  %xd : f32[1,2,3,3] = DequantizeLinear(%xq, %xs, %xz)  @xd
  %wd : f32[3,2,1,1] = DequantizeLinear(%wq, %ws, %wz) {axis=0}  @wd
  %bd : f32[3] = DequantizeLinear(%bq, %bs) {axis=0}  @bd
  %c : f32[1,3,3,3] = Conv(%xd, %wd, %bd)  @conv
  %yq : u8[1,3,3,3] = QuantizeLinear(%c, %ys, %yz)  @yq
  %y : f32[1,3,3,3] = DequantizeLinear(%yq, %ys, %yz)  @y
  output %y
}
`, map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{1, 2, 3, 3}, []float32{
		-3, -2.5, -1, -0.5, 0, 0.5, 1, 2.5, 3,
		6, 5, 4, 3, 2, 1, 0, -1, -2,
	})}, nil},
	{"fp8 QDQ", `effir 1
graph "fp8qdq" opset{ai.onnx=18} {
  input %x : f32[4]
  const %s : f32[] = 0.5
  const %z : f8e4m3fn[] = 0
  %q : f8e4m3fn[4] = QuantizeLinear(%x, %s, %z)  @q
  %y : f32[4] = DequantizeLinear(%q, %s, %z)  @dq
  output %y
}
`, map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{4}, []float32{0.3, -7, 100, 1000})}, nil},
	{"repeated node names and shapes without dtype", `effir 1
graph "repairs" opset{ai.onnx=18} {
  input %x : f32[2]
  %a : f32[2] = Neg(%x)  @n
  %b : f32[2] = Abs(%a)  @n
  %c : f32[2] = Exp(%b)  @n.1
  output %c
  output %a
}
`, map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{2}, []float32{1, -2})}, func(g *ir.Graph) {
		g.Nodes[0].Outputs[0].Type.DType = ir.Undefined // %a: a graph output with a shape, no dtype
		g.Nodes[1].Outputs[0].Type.DType = ir.Undefined // %b: an intermediate value likewise
	}},
}

// TestORTEncoderCases runs encoderCases in ONNX Runtime.
func TestORTEncoderCases(t *testing.T) {
	ortrun.Require(t)
	var r ortrun.Runner
	defer r.Close()
	for _, tc := range encoderCases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			g, err := ir.Parse([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			want, err := interp.Run(g, tc.inputs)
			if tc.edit != nil {
				tc.edit(g)
			}
			if err != nil {
				t.Fatalf("interpreter: %v", err)
			}
			path := filepath.Join(t.TempDir(), "model.onnx")
			if err := frontend.Save(g, path); err != nil {
				t.Fatal(err)
			}
			got, err := r.Run(t.Context(), path, tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if err := compareOutputs(g, got, want, onnxconf.Tolerance{}); err != nil {
				t.Error(err)
			}
		})
	}
}
