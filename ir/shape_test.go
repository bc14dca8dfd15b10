package ir

import (
	"strconv"
	"strings"
	"testing"
)

// ty parses a test type: "f32[N,3,?,4]", "f32[*]" (unknown rank), "i64[]".
func ty(t testing.TB, s string) Type {
	t.Helper()
	i := strings.IndexByte(s, '[')
	if i < 0 || !strings.HasSuffix(s, "]") {
		t.Fatalf("bad type spec %q", s)
	}
	dt, err := ParseDType(s[:i])
	if err != nil {
		t.Fatalf("bad type spec %q: %v", s, err)
	}
	body := s[i+1 : len(s)-1]
	if body == "*" {
		return Type{DType: dt}
	}
	sh := Shape{}
	if body != "" {
		for _, f := range strings.Split(body, ",") {
			switch v, err := strconv.ParseInt(f, 10, 64); {
			case f == "?":
				sh = append(sh, Unknown())
			case err == nil:
				sh = append(sh, Dim{Size: v})
			default:
				sh = append(sh, Sym(f))
			}
		}
	}
	return TensorType(dt, sh)
}

// ci64 is a 1-D int64 constant; cs64 a scalar.
func ci64(v ...int64) *Tensor { return FromInt64([]int64{int64(len(v))}, v) }
func cs64(v int64) *Tensor    { return Scalar(v) }
func cf32(v ...float32) *Tensor {
	return FromFloat32([]int64{int64(len(v))}, v)
}

// testNode builds a node whose inputs are given as type specs (string),
// constants (*Tensor) or nil (omitted), with nOut outputs.
func testNode(t testing.TB, op string, ins []any, attrs map[string]*Attr, nOut int) *Node {
	t.Helper()
	n := &Node{Name: "n", Op: op, Attrs: attrs}
	for i, x := range ins {
		switch x := x.(type) {
		case nil:
			n.Inputs = append(n.Inputs, nil)
		case string:
			n.Inputs = append(n.Inputs, &Value{Name: "in" + strconv.Itoa(i), Type: ty(t, x)})
		case *Tensor:
			s := make(Shape, len(x.Shape))
			for j, d := range x.Shape {
				s[j] = D(d)
			}
			n.Inputs = append(n.Inputs, &Value{Name: "in" + strconv.Itoa(i), Type: TensorType(x.DType, s), Const: x})
		default:
			t.Fatalf("bad input %T", x)
		}
	}
	for i := 0; i < nOut; i++ {
		n.Outputs = append(n.Outputs, &Value{Name: "out" + strconv.Itoa(i), Producer: n})
	}
	return n
}

type shapeCase struct {
	name  string
	op    string
	in    []any
	attrs map[string]*Attr
	want  []string // output types; empty with err set
	err   string   // substring of the expected error
}

func runShapeCases(t *testing.T, cases []shapeCase) {
	t.Helper()
	for _, c := range cases {
		name := c.op
		if c.name != "" {
			name += "/" + c.name
		}
		t.Run(name, func(t *testing.T) {
			nOut := max(len(c.want), 1)
			n := testNode(t, c.op, c.in, c.attrs, nOut)
			err := inferNode(n, nil)
			if c.err != "" {
				if err == nil {
					t.Fatalf("got types %v, want error containing %q", outTypes(n), c.err)
				}
				if !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got error %q, want it to contain %q", err, c.err)
				}
				if !strings.HasPrefix(err.Error(), `node "n" (`+c.op+`): `) {
					t.Errorf("error %q does not name the node", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := outTypes(n)
			for i, w := range c.want {
				if got[i] != w {
					t.Errorf("output %d: got %s, want %s", i, got[i], w)
				}
			}
		})
	}
}

func outTypes(n *Node) []string {
	var s []string
	for _, o := range n.Outputs {
		s = append(s, o.Type.String())
	}
	return s
}

func TestShapeElementwise(t *testing.T) {
	runShapeCases(t, []shapeCase{
		{op: "Relu", in: []any{"f32[N,3,224,224]"}, want: []string{"f32[N,3,224,224]"}},
		{name: "unranked", op: "Sigmoid", in: []any{"f32[*]"}, want: []string{"f32[*]"}},
		{name: "scalar", op: "Exp", in: []any{"f64[]"}, want: []string{"f64[]"}},
		{op: "Add", in: []any{"f32[N,4]", "f32[4]"}, want: []string{"f32[N,4]"}},
		{name: "N vs 1", op: "Add", in: []any{"f32[N,1]", "f32[1,5]"}, want: []string{"f32[N,5]"}},
		{name: "N vs N", op: "Mul", in: []any{"f32[N,3]", "f32[N,3]"}, want: []string{"f32[N,3]"}},
		{name: "N vs M", op: "Sub", in: []any{"f32[N,3]", "f32[M,3]"}, want: []string{"f32[?,3]"}},
		{name: "N vs 7", op: "Div", in: []any{"f32[N]", "f32[7]"}, want: []string{"f32[7]"}},
		{name: "mismatch", op: "Add", in: []any{"f32[N,4]", "f32[N,5]"}, err: "input shapes [N,4], [N,5] do not broadcast: dim 1: sizes 4 and 5 do not broadcast"},
		{name: "unranked", op: "Add", in: []any{"f32[N,4]", "f32[*]"}, want: []string{"f32[*]"}},
		{op: "Pow", in: []any{"f32[2,3]", "i64[]"}, want: []string{"f32[2,3]"}},
		{op: "Equal", in: []any{"i64[N,3]", "i64[1]"}, want: []string{"bool[N,3]"}},
		{op: "Less", in: []any{"f32[2,1,4]", "f32[3,1]"}, want: []string{"bool[2,3,4]"}},
		{op: "Where", in: []any{"bool[N,1]", "f16[1,8]", "f16[]"}, want: []string{"f16[N,8]"}},
		{op: "Max", in: []any{"f32[3]", "f32[2,1]", "f32[1,1,3]"}, want: []string{"f32[1,2,3]"}},
		{op: "Sum", in: []any{"f32[N,3]"}, want: []string{"f32[N,3]"}},
		{op: "IsNaN", in: []any{"f16[N,2]"}, want: []string{"bool[N,2]"}},
		{op: "Clip", in: []any{"f32[N,8]", nil, Scalar(float32(6))}, want: []string{"f32[N,8]"}},
		{op: "PRelu", in: []any{"f32[N,16,8,8]", "f32[16,1,1]"}, want: []string{"f32[N,16,8,8]"}},
		{op: "Cast", in: []any{"f32[N,3]"}, attrs: map[string]*Attr{"to": IntAttr(int64(Int8))}, want: []string{"i8[N,3]"}},
		{name: "bad to", op: "Cast", in: []any{"f32[N,3]"}, attrs: map[string]*Attr{"to": IntAttr(99)}, err: `attribute "to" is 99`},
		{op: "CastLike", in: []any{"f32[2]", "f16[7]"}, want: []string{"f16[2]"}},
		{op: "Dropout", in: []any{"f32[N,5]"}, want: []string{"f32[N,5]", "bool[N,5]"}},
		{op: "Softmax", in: []any{"f32[N,10]"}, attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[N,10]"}},
		{name: "bad axis", op: "Softmax", in: []any{"f32[N,10]"}, attrs: map[string]*Attr{"axis": IntAttr(2)}, err: "axis 2 is out of range for rank 2, want in [-2, 1]"},
		{op: "Constant", attrs: map[string]*Attr{"value_ints": IntsAttr(1, 2, 3)}, want: []string{"i64[3]"}},
	})
}

func TestShapeConvPool(t *testing.T) {
	conv := func(kv ...any) map[string]*Attr {
		m := map[string]*Attr{}
		for i := 0; i < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case []int64:
				m[kv[i].(string)] = IntsAttr(v...)
			case int:
				m[kv[i].(string)] = IntAttr(int64(v))
			case string:
				m[kv[i].(string)] = StringAttr(v)
			}
		}
		return m
	}
	runShapeCases(t, []shapeCase{
		{name: "resnet stem", op: "Conv", in: []any{"f32[N,3,224,224]", "f32[64,3,7,7]", "f32[64]"},
			attrs: conv("strides", []int64{2, 2}, "pads", []int64{3, 3, 3, 3}), want: []string{"f32[N,64,112,112]"}},
		{name: "same upper", op: "Conv", in: []any{"f32[1,8,15,15]", "f32[16,8,3,3]"},
			attrs: conv("auto_pad", "SAME_UPPER", "strides", []int64{2, 2}), want: []string{"f32[1,16,8,8]"}},
		{name: "valid dilated", op: "Conv", in: []any{"f32[1,1,10]", "f32[2,1,3]"},
			attrs: conv("auto_pad", "VALID", "dilations", []int64{2}), want: []string{"f32[1,2,6]"}},
		{name: "depthwise", op: "Conv", in: []any{"f32[N,32,H,W]", "f32[32,1,3,3]"},
			attrs: conv("group", 32, "pads", []int64{1, 1, 1, 1}), want: []string{"f32[N,32,?,?]"}},
		{name: "channel mismatch", op: "Conv", in: []any{"f32[1,4,8,8]", "f32[8,3,3,3]"},
			err: "input 0 has 4 channels, want 3 (weight input channels 3 x group 1)"},
		{name: "kernel too big", op: "Conv", in: []any{"f32[1,1,2,2]", "f32[1,1,3,3]"},
			err: "spatial dim 0: input size 2 with pads 0+0 is smaller than the dilated kernel 3"},
		{name: "bad strides", op: "Conv", in: []any{"f32[1,1,8,8]", "f32[1,1,3,3]"}, attrs: conv("strides", []int64{0, 1}),
			err: "attribute strides is [0 1], want every value >= 1"},
		{name: "absurd pads", op: "Conv", in: []any{"f32[1,1,8,8]", "f32[1,1,3,3]"},
			attrs: conv("pads", []int64{1 << 40, 0, 1 << 40, 0}), err: "absurdly large"},
		{name: "rank 2", op: "Conv", in: []any{"f32[1,1]", "f32[1,1]"}, err: "input 0 has rank 2, want >= 3"},
		{name: "unranked X", op: "Conv", in: []any{"f32[*]", "f32[64,3,7,7]"}, want: []string{"f32[?,64,?,?]"}},
		{op: "ConvTranspose", in: []any{"f32[N,16,14,14]", "f32[16,8,4,4]"},
			attrs: conv("strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}), want: []string{"f32[N,8,28,28]"}},
		{name: "output_shape", op: "ConvTranspose", in: []any{"f32[1,1,3,3]", "f32[1,2,3,3]"},
			attrs: conv("strides", []int64{3, 2}, "output_shape", []int64{10, 8}), want: []string{"f32[1,2,10,8]"}},
		{op: "MaxPool", in: []any{"f32[N,64,112,112]"},
			attrs: conv("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1}),
			want:  []string{"f32[N,64,56,56]", "i64[N,64,56,56]"}},
		{name: "ceil", op: "MaxPool", in: []any{"f32[1,1,4,4]"},
			attrs: conv("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "ceil_mode", 1), want: []string{"f32[1,1,2,2]"}},
		{name: "floor", op: "AveragePool", in: []any{"f32[1,1,5,5]"},
			attrs: conv("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}), want: []string{"f32[1,1,2,2]"}},
		{name: "ceil extra", op: "AveragePool", in: []any{"f32[1,1,5,5]"},
			attrs: conv("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}, "ceil_mode", 1), want: []string{"f32[1,1,3,3]"}},
		{name: "no kernel", op: "LpPool", in: []any{"f32[1,1,5,5]"}, want: []string{"f32[1,1,?,?]"}},
		{name: "unranked weight", op: "Conv", in: []any{"f32[N,3,8,8]", "f32[*]"}, want: []string{"f32[N,?,?,?]"}},
		{op: "GlobalAveragePool", in: []any{"f32[N,512,7,7]"}, want: []string{"f32[N,512,1,1]"}},
		{op: "MaxUnpool", in: []any{"f32[1,1,2,2]", "i64[1,1,2,2]"}, attrs: conv("kernel_shape", []int64{2, 2}, "strides", []int64{2, 2}),
			want: []string{"f32[1,1,4,4]"}},
		{op: "QLinearConv", in: []any{"u8[N,3,8,8]", "f32[]", "u8[]", "i8[4,3,3,3]", "f32[]", "i8[]", "f32[]", "i8[]"},
			want: []string{"i8[N,4,6,6]"}},
		{op: "ConvInteger", in: []any{"u8[1,3,8,8]", "u8[4,3,3,3]"}, want: []string{"i32[1,4,6,6]"}},
		{op: "Col2Im", in: []any{"f32[1,5,15]", ci64(5, 5), ci64(1, 5)}, want: []string{"f32[1,1,5,5]"}},
	})
}

func TestShapeNormMatmul(t *testing.T) {
	runShapeCases(t, []shapeCase{
		{op: "BatchNormalization", in: []any{"f32[N,64,56,56]", "f32[64]", "f32[64]", "f32[64]", "f32[64]"}, want: []string{"f32[N,64,56,56]"}},
		{name: "bad stats", op: "BatchNormalization", in: []any{"f32[N,64,56,56]", "f32[32]", "f32[64]", "f32[64]", "f32[64]"},
			err: "input 1 has shape [32], want [64]"},
		{op: "LayerNormalization", in: []any{"f32[N,S,768]", "f32[768]", "f32[768]"}, want: []string{"f32[N,S,768]", "f32[N,S,1]", "f32[N,S,1]"}},
		{op: "GroupNormalization", in: []any{"f32[N,32,8,8]", "f32[32]", "f32[32]"}, attrs: map[string]*Attr{"num_groups": IntAttr(8)}, want: []string{"f32[N,32,8,8]"}},
		{op: "Gemm", in: []any{"f32[N,512]", "f32[1000,512]", "f32[1000]"}, attrs: map[string]*Attr{"transB": IntAttr(1)}, want: []string{"f32[N,1000]"}},
		{name: "K mismatch", op: "Gemm", in: []any{"f32[N,512]", "f32[1000,512]"}, err: "inner dims differ: A gives K=512, B gives K=1000"},
		{name: "bad C", op: "Gemm", in: []any{"f32[2,3]", "f32[3,4]", "f32[5]"}, err: "input 2 (C)"},
		{op: "MatMul", in: []any{"f32[N,S,768]", "f32[768,3072]"}, want: []string{"f32[N,S,3072]"}},
		{name: "vec mat", op: "MatMul", in: []any{"f32[3]", "f32[B,3,4]"}, want: []string{"f32[B,4]"}},
		{name: "mat vec", op: "MatMul", in: []any{"f32[2,5,3]", "f32[3]"}, want: []string{"f32[2,5]"}},
		{name: "vec vec", op: "MatMul", in: []any{"f32[3]", "f32[3]"}, want: []string{"f32[]"}},
		{name: "batch bcast", op: "MatMul", in: []any{"f32[2,1,4,3]", "f32[5,3,6]"}, want: []string{"f32[2,5,4,6]"}},
		{name: "mismatch", op: "MatMul", in: []any{"f32[4,3]", "f32[4,3]"}, err: "inner dims differ: 3 vs 4"},
		{op: "MatMulInteger", in: []any{"u8[N,3]", "i8[3,4]"}, want: []string{"i32[N,4]"}},
		{op: "QLinearMatMul", in: []any{"u8[N,3]", "f32[]", "u8[]", "u8[3,4]", "f32[]", "u8[]", "f32[]", "u8[]"}, want: []string{"u8[N,4]"}},
		{op: "Einsum", in: []any{"f32[B,3,4]", "f32[B,4,5]"}, attrs: map[string]*Attr{"equation": StringAttr("bij,bjk->bik")}, want: []string{"f32[B,3,5]"}},
		{name: "implicit", op: "Einsum", in: []any{"f32[3,4]", "f32[4,5]"}, attrs: map[string]*Attr{"equation": StringAttr("ij,jk")}, want: []string{"f32[3,5]"}},
		{name: "ellipsis", op: "Einsum", in: []any{"f32[2,7,3,4]"}, attrs: map[string]*Attr{"equation": StringAttr("...ij->...ji")}, want: []string{"f32[2,7,4,3]"}},
		{name: "trace", op: "Einsum", in: []any{"f32[5,5]"}, attrs: map[string]*Attr{"equation": StringAttr("ii->")}, want: []string{"f32[]"}},
		{name: "label mismatch", op: "Einsum", in: []any{"f32[3,4]", "f32[5,6]"}, attrs: map[string]*Attr{"equation": StringAttr("ij,jk->ik")}, err: "label j is 4 in one place and 5 in another"},
		{op: "Det", in: []any{"f32[N,3,3]"}, want: []string{"f32[N]"}},
		{op: "LSTM", in: []any{"f32[T,N,10]", "f32[2,80,10]", "f32[2,80,20]"}, attrs: map[string]*Attr{"direction": StringAttr("bidirectional"), "hidden_size": IntAttr(20)},
			want: []string{"f32[T,2,N,20]", "f32[2,N,20]", "f32[2,N,20]"}},
		{name: "layout 1", op: "GRU", in: []any{"f32[N,T,10]", "f32[1,60,10]", "f32[1,60,20]"}, attrs: map[string]*Attr{"layout": IntAttr(1)},
			want: []string{"f32[N,T,1,20]", "f32[N,1,20]"}},
		{op: "RNN", in: []any{"f32[T,N,10]", "f32[1,20,10]", "f32[1,20,20]"}, attrs: map[string]*Attr{"direction": StringAttr("sideways")}, err: "attribute direction is \"sideways\""},
		{op: "GridSample", in: []any{"f32[N,3,32,32]", "f32[N,8,9,2]"}, want: []string{"f32[N,3,8,9]"}},
		{op: "RoiAlign", in: []any{"f32[1,256,50,50]", "f32[R,4]", "i64[R]"}, attrs: map[string]*Attr{"output_height": IntAttr(7), "output_width": IntAttr(7)},
			want: []string{"f32[R,256,7,7]"}},
		{op: "NonMaxSuppression", in: []any{"f32[1,100,4]", "f32[1,1,100]"}, want: []string{"i64[?,3]"}},
	})
}

func TestShapeTensorOps(t *testing.T) {
	runShapeCases(t, []shapeCase{
		{op: "Reshape", in: []any{"f32[N,3,224,224]", ci64(0, -1)}, want: []string{"f32[N,150528]"}},
		{name: "symbol cancels", op: "Reshape", in: []any{"f32[N,3,4]", ci64(-1, 12)}, want: []string{"f32[N,12]"}},
		{name: "known", op: "Reshape", in: []any{"f32[2,3,4]", ci64(4, -1)}, want: []string{"f32[4,6]"}},
		{name: "not const", op: "Reshape", in: []any{"f32[2,3,4]", "i64[3]"}, want: []string{"f32[?,?,?]"}},
		{name: "not const 1-D", op: "Reshape", in: []any{"f32[2,3,4]", "i64[1]"}, want: []string{"f32[24]"}},
		{name: "not const 1-D sym", op: "Reshape", in: []any{"f32[N,1]", "i64[1]"}, want: []string{"f32[N]"}},
		{name: "count mismatch", op: "Reshape", in: []any{"f32[2,3]", ci64(4, 2)}, err: "cannot reshape [2,3] (6 elements) to [4 2] (8 elements)"},
		{name: "indivisible", op: "Reshape", in: []any{"f32[2,3]", ci64(4, -1)}, err: "6 is not a multiple of 4"},
		{name: "two -1", op: "Reshape", in: []any{"f32[2,3]", ci64(-1, -1)}, err: "more than one -1"},
		{name: "negative", op: "Reshape", in: []any{"f32[2,3]", ci64(-7, 2)}, err: "has entry -7, want >= -1"},
		{name: "huge", op: "Reshape", in: []any{"f32[*]", ci64(1<<20, 1<<20)}, err: "more than 2^31"},
		{op: "Flatten", in: []any{"f32[N,512,1,1]"}, want: []string{"f32[N,512]"}},
		{name: "axis 0", op: "Flatten", in: []any{"f32[2,3]"}, attrs: map[string]*Attr{"axis": IntAttr(0)}, want: []string{"f32[1,6]"}},
		{op: "Squeeze", in: []any{"f32[N,1,5,1]", ci64(1, -1)}, want: []string{"f32[N,5]"}},
		{name: "all ones", op: "Squeeze", in: []any{"f32[1,5,1]"}, want: []string{"f32[5]"}},
		{name: "not one", op: "Squeeze", in: []any{"f32[N,2]", ci64(1)}, err: "cannot squeeze axis 1 of shape [N,2]: its size is 2, want 1"},
		{op: "Unsqueeze", in: []any{"f32[N,5]", ci64(1, -1)}, want: []string{"f32[N,1,5,1]"}},
		{name: "dup", op: "Unsqueeze", in: []any{"f32[5]", ci64(0, -3)}, err: "repeat axis 0"},
		{op: "Transpose", in: []any{"f32[N,3,H,W]"}, attrs: map[string]*Attr{"perm": IntsAttr(0, 2, 3, 1)}, want: []string{"f32[N,H,W,3]"}},
		{name: "default", op: "Transpose", in: []any{"f32[2,3,4]"}, want: []string{"f32[4,3,2]"}},
		{name: "bad perm", op: "Transpose", in: []any{"f32[2,3]"}, attrs: map[string]*Attr{"perm": IntsAttr(0, 0)}, err: "is not a permutation"},
		{op: "Concat", in: []any{"f32[N,3,8]", "f32[N,5,8]"}, attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[N,8,8]"}},
		{name: "mismatch", op: "Concat", in: []any{"f32[N,3,8]", "f32[N,5,9]"}, attrs: map[string]*Attr{"axis": IntAttr(1)}, err: "dim 2 is 9, want 8"},
		{op: "Split", in: []any{"f32[N,10]", ci64(3, 7)}, attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[N,3]", "f32[N,7]"}},
		{name: "equal", op: "Split", in: []any{"f32[6,N]"}, want: []string{"f32[3,N]", "f32[3,N]"}},
		{name: "num_outputs", op: "Split", in: []any{"f32[7]"}, attrs: map[string]*Attr{"num_outputs": IntAttr(3)}, want: []string{"f32[3]", "f32[3]", "f32[1]"}},
		{name: "bad sum", op: "Split", in: []any{"f32[10]", ci64(3, 3)}, want: []string{"f32[3]", "f32[3]"}, err: "split [3 3] sums to 6, want 10"},
		{op: "Slice", in: []any{"f32[N,10,20]", ci64(1, -5), ci64(9, 1<<62), ci64(1, 2)}, want: []string{"f32[N,8,5]"}},
		{name: "step", op: "Slice", in: []any{"f32[10]", ci64(-1), ci64(-1 << 62), ci64(0), ci64(-3)}, want: []string{"f32[4]"}},
		{name: "whole sym", op: "Slice", in: []any{"f32[N,4]", ci64(0), ci64(1 << 62), ci64(0)}, want: []string{"f32[N,4]"}},
		{name: "dyn", op: "Slice", in: []any{"f32[N,4]", "i64[1]", "i64[1]", ci64(1)}, want: []string{"f32[N,?]"}},
		{name: "step 0", op: "Slice", in: []any{"f32[10]", ci64(0), ci64(5), ci64(0), ci64(0)}, err: "steps[0] is 0"},
		{op: "Gather", in: []any{"f32[30522,768]", "i64[N,S]"}, want: []string{"f32[N,S,768]"}},
		{name: "axis 1", op: "Gather", in: []any{"f32[N,5,4]", cs64(2)}, attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[N,4]"}},
		{name: "oob", op: "Gather", in: []any{"f32[5,4]", ci64(5)}, err: "index 5 is out of range for axis 0 of size 5"},
		{op: "GatherElements", in: []any{"f32[N,5]", "i64[N,2]"}, attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[N,2]"}},
		{op: "GatherND", in: []any{"f32[2,3,4]", "i64[5,2]"}, want: []string{"f32[5,4]"}},
		{name: "batch", op: "GatherND", in: []any{"f32[B,3,4]", "i64[B,5,1]"}, attrs: map[string]*Attr{"batch_dims": IntAttr(1)}, want: []string{"f32[B,5,4]"}},
		{op: "ScatterND", in: []any{"f32[N,8]", "i64[2,1]", "f32[2,8]"}, want: []string{"f32[N,8]"}},
		{op: "Expand", in: []any{"f32[3,1]", ci64(2, 1, 6)}, want: []string{"f32[2,3,6]"}},
		{name: "bad", op: "Expand", in: []any{"f32[3]", ci64(4)}, err: "cannot expand [3] to [4]"},
		{name: "negative", op: "Expand", in: []any{"f32[3]", ci64(-4)}, err: "shape[0] is -4, want >= 0"},
		{op: "Tile", in: []any{"f32[N,3]", ci64(1, 4)}, want: []string{"f32[N,12]"}},
		{name: "overflow", op: "Tile", in: []any{"f32[1000,1000]", ci64(1<<20, 1<<20)}, err: "more than 2^31"},
		{op: "Pad", in: []any{"f32[N,3,8,8]", ci64(0, 0, 1, 2, 0, 0, 3, 4)}, want: []string{"f32[N,3,12,14]"}},
		{name: "axes", op: "Pad", in: []any{"f32[N,3,8,8]", ci64(1, 1), nil, ci64(-1)}, want: []string{"f32[N,3,8,10]"}},
		{name: "negative", op: "Pad", in: []any{"f32[4]", ci64(-3, -3)}, err: "is -2, want >= 0"},
		{op: "DepthToSpace", in: []any{"f32[N,16,4,4]"}, attrs: map[string]*Attr{"blocksize": IntAttr(2)}, want: []string{"f32[N,4,8,8]"}},
		{op: "SpaceToDepth", in: []any{"f32[N,4,8,8]"}, attrs: map[string]*Attr{"blocksize": IntAttr(2)}, want: []string{"f32[N,16,4,4]"}},
		{op: "Shape", in: []any{"f32[N,3,H,W]"}, want: []string{"i64[4]"}},
		{name: "slice", op: "Shape", in: []any{"f32[N,3,H,W]"}, attrs: map[string]*Attr{"start": IntAttr(-2)}, want: []string{"i64[2]"}},
		{op: "Size", in: []any{"f32[N,3]"}, want: []string{"i64[]"}},
		{op: "ConstantOfShape", in: []any{ci64(2, 3)}, attrs: map[string]*Attr{"value": TensorAttr(&Tensor{DType: Int32, Shape: []int64{1}, Data: []int32{7}})}, want: []string{"i32[2,3]"}},
		{name: "dyn", op: "ConstantOfShape", in: []any{"i64[3]"}, want: []string{"f32[?,?,?]"}},
		{op: "Range", in: []any{cs64(1), cs64(10), cs64(3)}, want: []string{"i64[3]"}},
		{name: "empty", op: "Range", in: []any{cs64(10), cs64(1), cs64(3)}, want: []string{"i64[0]"}},
		{name: "dyn", op: "Range", in: []any{"f32[]", "f32[]", "f32[]"}, want: []string{"f32[?]"}},
		{name: "huge", op: "Range", in: []any{cs64(0), cs64(1 << 40), cs64(1)}, err: "more than 2^31"},
		{op: "OneHot", in: []any{"i64[N,5]", cs64(10), "f32[2]"}, want: []string{"f32[N,5,10]"}},
		{op: "TopK", in: []any{"f32[N,1000]", ci64(5)}, want: []string{"f32[N,5]", "i64[N,5]"}},
		{name: "too big", op: "TopK", in: []any{"f32[N,4]", ci64(5)}, err: "K is 5, larger than axis 1 of size 4"},
		{op: "NonZero", in: []any{"f32[N,3]"}, want: []string{"i64[2,?]"}},
		{op: "Unique", in: []any{"f32[2,3]"}, want: []string{"f32[?]", "i64[?]", "i64[6]", "i64[?]"}},
		{op: "Compress", in: []any{"f32[4,3]", &Tensor{DType: Bool, Shape: []int64{3}, Data: []bool{true, false, true}}},
			attrs: map[string]*Attr{"axis": IntAttr(1)}, want: []string{"f32[4,2]"}},
		{op: "EyeLike", in: []any{"f32[3,4]"}, attrs: map[string]*Attr{"dtype": IntAttr(int64(Int32))}, want: []string{"i32[3,4]"}},
		{op: "Trilu", in: []any{"f32[N,4,4]"}, want: []string{"f32[N,4,4]"}},
	})
}

func TestShapeReduceResizeQuant(t *testing.T) {
	runShapeCases(t, []shapeCase{
		{op: "ReduceMean", in: []any{"f32[N,64,7,7]", ci64(2, 3)}, want: []string{"f32[N,64,1,1]"}},
		{name: "no keep", op: "ReduceSum", in: []any{"f32[N,64,7,7]", ci64(-1)}, attrs: map[string]*Attr{"keepdims": IntAttr(0)}, want: []string{"f32[N,64,7]"}},
		{name: "all", op: "ReduceMax", in: []any{"f32[N,3]"}, attrs: map[string]*Attr{"keepdims": IntAttr(0)}, want: []string{"f32[]"}},
		{name: "noop", op: "ReduceL2", in: []any{"f32[N,3]"}, attrs: map[string]*Attr{"noop_with_empty_axes": IntAttr(1)}, want: []string{"f32[N,3]"}},
		{name: "dyn axes", op: "ReduceMin", in: []any{"f32[N,3]", "i64[1]"}, want: []string{"f32[?,?]"}},
		{name: "bad axis", op: "ReduceProd", in: []any{"f32[N,3]", ci64(2)}, err: "axes 2 is out of range for rank 2"},
		{op: "ArgMax", in: []any{"f32[N,10]"}, attrs: map[string]*Attr{"axis": IntAttr(1), "keepdims": IntAttr(0)}, want: []string{"i64[N]"}},
		{op: "Resize", in: []any{"f32[N,3,16,16]", nil, cf32(1, 1, 2, 2)}, want: []string{"f32[N,3,32,32]"}},
		{name: "sizes", op: "Resize", in: []any{"f32[N,3,16,16]", nil, nil, ci64(1, 3, 20, 24)}, want: []string{"f32[1,3,20,24]"}},
		{name: "axes", op: "Resize", in: []any{"f32[N,3,16,16]", nil, nil, ci64(8, 8)}, attrs: map[string]*Attr{"axes": IntsAttr(2, 3)}, want: []string{"f32[N,3,8,8]"}},
		{name: "not_larger", op: "Resize", in: []any{"f32[1,1,10,20]", nil, nil, ci64(5, 5)},
			attrs: map[string]*Attr{"axes": IntsAttr(2, 3), "keep_aspect_ratio_policy": StringAttr("not_larger")}, want: []string{"f32[1,1,3,5]"}},
		{name: "floor", op: "Resize", in: []any{"f32[1,1,3,3]", nil, cf32(1, 1, 0.6, 0.6)}, want: []string{"f32[1,1,1,1]"}},
		{name: "dyn", op: "Resize", in: []any{"f32[N,3,16,16]", nil, "f32[4]"}, want: []string{"f32[?,?,?,?]"}},
		{name: "neither", op: "Resize", in: []any{"f32[N,3,16,16]"}, err: "has neither scales nor sizes"},
		{op: "QuantizeLinear", in: []any{"f32[N,3]", "f32[]", "i8[]"}, want: []string{"i8[N,3]"}},
		{name: "default u8", op: "QuantizeLinear", in: []any{"f32[N,3]", "f32[]"}, want: []string{"u8[N,3]"}},
		{name: "per axis", op: "QuantizeLinear", in: []any{"f32[N,3]", "f32[4]", "i8[4]"}, err: "input 1 (scale) has shape [4], want [3]"},
		{op: "DequantizeLinear", in: []any{"i8[64,3,3,3]", "f32[64]", "i8[64]"}, attrs: map[string]*Attr{"axis": IntAttr(0)}, want: []string{"f32[64,3,3,3]"}},
		{op: "DynamicQuantizeLinear", in: []any{"f32[N,8]"}, want: []string{"u8[N,8]", "f32[]", "u8[]"}},
	})
}

// TestShapeHostile feeds shapes and values a hostile model could carry.
func TestShapeHostile(t *testing.T) {
	runShapeCases(t, []shapeCase{
		{name: "huge broadcast", op: "Add", in: []any{"f32[65536,1]", "f32[1,65536]"}, err: "more than 2^31 elements"},
		{name: "huge matmul", op: "MatMul", in: []any{"f32[100000,3]", "f32[3,100000]"}, err: "more than 2^31 elements"},
		{name: "huge const shape", op: "ConstantOfShape", in: []any{ci64(1 << 62)}, err: "more than 2^31"},
		{name: "negative const shape", op: "ConstantOfShape", in: []any{ci64(3, -1)}, err: "shape[1] is -1, want >= 0"},
		{name: "huge rank", op: "Reshape", in: []any{"f32[*]", FromInt64([]int64{100}, make([]int64, 100))}, err: "want at most 64"},
		{name: "huge resize", op: "Resize", in: []any{"f32[1,1,1000,1000]", nil, cf32(1, 1, 1e6, 1e6)}, err: "more than 2^31"},
		{name: "nan depth", op: "OneHot", in: []any{"i64[3]", FromFloat32([]int64{}, []float32{float32(nanF())}), "f32[2]"}, err: "depth is NaN"},
		{name: "huge blocksize", op: "DepthToSpace", in: []any{"f32[1,4,2,2]"}, attrs: map[string]*Attr{"blocksize": IntAttr(1 << 40)}, err: "blocksize"},
		{name: "huge unsqueeze", op: "Unsqueeze", in: []any{"f32[2]", FromInt64([]int64{70}, make([]int64, 70))}, err: "exceeds 64"},
		{name: "int64 min slice", op: "Slice", in: []any{"f32[10]", ci64(-1 << 63), ci64(1<<63 - 1)}, want: []string{"f32[10]"}},
		{name: "int64 min step", op: "Slice", in: []any{"f32[10]", ci64(9), ci64(-1 << 63), ci64(0), ci64(-1 << 63)}, want: []string{"f32[1]"}},
		{name: "huge hidden", op: "LSTM", in: []any{"f32[T,N,10]", "f32[1,80,10]", "f32[1,80,20]"}, attrs: map[string]*Attr{"hidden_size": IntAttr(1 << 40)}, err: "hidden_size is 1099511627776"},
		{name: "elided const", op: "Reshape", in: []any{"f32[2,3]", &Tensor{DType: Int64, Shape: []int64{2}, Data: struct{}{}}}, want: []string{"f32[?,?]"}},
		{name: "short const", op: "Reshape", in: []any{"f32[2,3]", &Tensor{DType: Int64, Shape: []int64{2}, Data: []int64{6}}}, want: []string{"f32[?,?]"}},
	})
}

func nanF() float64 { var z float64; return z / z }

func TestInferShapesGraph(t *testing.T) {
	x := &Value{Name: "x", Type: ty(t, "f32[N,3,32,32]")}
	w := &Value{Name: "w", Type: ty(t, "f32[8,3,3,3]"), Const: NewTensor(Float32, []int64{8, 3, 3, 3})}
	conv := &Node{Name: "conv1", Op: "Conv", Inputs: []*Value{x, w}, Attrs: map[string]*Attr{"pads": IntsAttr(1, 1, 1, 1)}}
	c := &Value{Name: "c", Producer: conv}
	conv.Outputs = []*Value{c}
	relu := &Node{Name: "relu1", Op: "Relu", Inputs: []*Value{c}}
	y := &Value{Name: "y", Producer: relu, Type: ty(t, "f32[N,8,?,32]")}
	relu.Outputs = []*Value{y}
	g := &Graph{Inputs: []*Value{x}, Consts: []*Value{w}, Outputs: []*Value{y}, Nodes: []*Node{conv, relu}}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if got := c.Type.String(); got != "f32[N,8,32,32]" {
		t.Errorf("conv output: got %s, want f32[N,8,32,32]", got)
	}
	if got := y.Type.String(); got != "f32[N,8,32,32]" {
		t.Errorf("relu output: got %s, want f32[N,8,32,32]", got)
	}
	// A declared type that contradicts inference.
	y.Type = ty(t, "f32[N,9,32,32]")
	err := InferShapes(g)
	want := `node "relu1" (Relu): output 0 shape [N,8,32,32] conflicts with declared [N,9,32,32]`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	y.Type = ty(t, "i8[*]")
	err = InferShapes(g)
	want = `node "relu1" (Relu): output 0 dtype f32 conflicts with declared i8`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	// Unknown op, with a suggestion.
	relu.Op = "Rellu"
	err = InferShapes(g)
	want = `node "relu1" (Rellu): unknown op Rellu (domain ai.onnx); effc supports: see 'effc ops' (did you mean Relu?)`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
	relu.Op, relu.Domain = "FancyOp", "com.example"
	err = InferShapes(g)
	want = `node "relu1" (FancyOp): unknown op FancyOp (domain com.example); effc supports: see 'effc ops'`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

func TestMergeTypes(t *testing.T) {
	cases := []struct{ inferred, declared, want, err string }{
		{"f32[N,?]", "f32[?,5]", "f32[N,5]", ""},
		{"f32[?,3]", "f32[batch,3]", "f32[batch,3]", ""},
		{"f32[N,3]", "f32[M,3]", "f32[M,3]", ""},
		{"f32[*]", "f32[2,3]", "f32[2,3]", ""},
		{"f32[2,3]", "f32[*]", "f32[2,3]", ""},
		{"f32[2]", "f32[2,1]", "", "rank 1, want 2"},
		{"f32[2]", "f32[3]", "", "shape [2] conflicts with declared [3]"},
	}
	for _, c := range cases {
		got, err := mergeTypes(ty(t, c.inferred), ty(t, c.declared))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("merge(%s, %s): got %v, want error containing %q", c.inferred, c.declared, err, c.err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("merge(%s, %s): got %s, %v; want %s", c.inferred, c.declared, got, err, c.want)
		}
	}
}

// TestShapeValuePropagation: the Shape -> Gather -> Unsqueeze -> Concat
// -> Reshape chain of exported transformers resolves symbolically.
func TestShapeValuePropagation(t *testing.T) {
	g := &Graph{}
	val := func(name string, c *Tensor) *Value {
		v := &Value{Name: name}
		if c != nil {
			v.Const = c
			s := make(Shape, len(c.Shape))
			for i, d := range c.Shape {
				s[i] = D(d)
			}
			v.Type = TensorType(c.DType, s)
			g.Consts = append(g.Consts, v)
		}
		return v
	}
	add := func(op string, ins []*Value, attrs map[string]*Attr) *Value {
		n := &Node{Name: op + strconv.Itoa(len(g.Nodes)), Op: op, Inputs: ins, Attrs: attrs}
		o := &Value{Name: n.Name + ".out", Producer: n}
		n.Outputs = []*Value{o}
		g.Nodes = append(g.Nodes, n)
		return o
	}
	x := &Value{Name: "x", Type: ty(t, "f32[N,S,768]")}
	g.Inputs = []*Value{x}
	shape := add("Shape", []*Value{x}, nil)
	n := add("Gather", []*Value{shape, val("i0", cs64(0))}, nil)
	s := add("Gather", []*Value{shape, val("i1", cs64(1))}, nil)
	hidden := add("Gather", []*Value{shape, val("i2", cs64(2))}, nil)
	heads := val("heads", cs64(12))
	headDim := add("Div", []*Value{hidden, heads}, nil)
	ax := val("ax", ci64(0))
	parts := []*Value{
		add("Unsqueeze", []*Value{n, ax}, nil),
		add("Unsqueeze", []*Value{s, ax}, nil),
		add("Unsqueeze", []*Value{heads, ax}, nil),
		add("Unsqueeze", []*Value{headDim, ax}, nil),
	}
	target := add("Concat", parts, map[string]*Attr{"axis": IntAttr(0)})
	y := add("Reshape", []*Value{x, target}, nil)
	pos := add("Range", []*Value{val("zero", cs64(0)), s, val("one", cs64(1))}, nil)
	mask := add("ConstantOfShape", []*Value{add("Slice", []*Value{shape, val("st", ci64(0)), val("en", ci64(2))}, nil)}, nil)
	flat := add("Reshape", []*Value{x, add("Concat", []*Value{add("Unsqueeze", []*Value{n, ax}, nil), val("m1", ci64(-1))},
		map[string]*Attr{"axis": IntAttr(0)})}, nil)
	g.Outputs = []*Value{y, pos, mask, flat}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v    *Value
		want string
	}{
		{target, "i64[4]"}, {y, "f32[N,S,12,64]"}, {pos, "i64[S]"}, {mask, "f32[N,S]"}, {flat, "f32[N,?]"},
	} {
		if got := c.v.Type.String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.v.Name, got, c.want)
		}
	}
}

func TestInferShapesRefusesHugeInputs(t *testing.T) {
	x := &Value{Name: "x", Type: ty(t, "f32[N,1048576,1048576]")}
	n := &Node{Name: "r", Op: "Relu", Inputs: []*Value{x}}
	n.Outputs = []*Value{{Name: "y", Producer: n}}
	g := &Graph{Inputs: []*Value{x}, Outputs: n.Outputs, Nodes: []*Node{n}}
	err := InferShapes(g)
	want := `value "x" type f32[N,1048576,1048576]: shape [1048576 1048576] has more than 2^31 elements; effc refuses tensors this large`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestPropagateNeverPanics feeds the value-propagating ops hostile
// constants (out-of-range indices, zero steps, division by zero).
func TestPropagateNeverPanics(t *testing.T) {
	consts := []*Tensor{
		ci64(), ci64(-1 << 63), ci64(1<<63 - 1), ci64(0), cs64(0), cs64(-1), ci64(5, -7, 3), cs64(1 << 40),
		{DType: Int64, Shape: []int64{2}, Data: []int64{1}}, {DType: Int64, Shape: []int64{2}, Data: symbolicInts{{param: "N"}}},
	}
	for _, op := range []string{"Shape", "Size", "Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten",
		"Gather", "Slice", "Concat", "Add", "Sub", "Mul", "Div", "Max", "Min"} {
		for a := range consts {
			for b := range consts {
				for nIn := 0; nIn <= 5; nIn++ {
					n := &Node{Name: "p", Op: op}
					for i := 0; i < nIn; i++ {
						c := consts[(a+i*b)%len(consts)]
						n.Inputs = append(n.Inputs, &Value{Name: "c", Const: c, Type: TensorType(Int64, Shape{D(int64(len(c.Shape)))})})
					}
					n.Outputs = []*Value{{Name: "o", Producer: n, Type: TensorType(Int64, Shape{D(1)})}}
					if a%2 == 0 {
						n.Outputs[0].Type = TensorType(Int64, Shape{})
					}
					func() {
						defer func() {
							if p := recover(); p != nil {
								t.Fatalf("%s with inputs %d/%d x%d: panic: %v", op, a, b, nIn, p)
							}
						}()
						shapeData{}.propagate(n)
					}()
				}
			}
		}
	}
}
