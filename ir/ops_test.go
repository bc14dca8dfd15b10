package ir

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// requiredOps is the op list effc promises to support (the project brief).
var requiredOps = strings.Fields(`Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool
BatchNormalization LayerNormalization InstanceNormalization GroupNormalization Gemm MatMul Einsum
Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Floor Ceil Round Sign Erf Tanh Sigmoid Relu LeakyRelu PRelu
Elu Selu Celu HardSigmoid HardSwish Softplus Softsign Gelu Mish Clip Min Max Mean Sum Mod Sin Cos Tan Asin Acos
Atan Sinh Cosh Asinh Acosh Atanh Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Xor Where IsNaN IsInf
BitwiseAnd BitwiseOr BitwiseXor BitwiseNot Softmax LogSoftmax Hardmax Reshape Flatten Squeeze Unsqueeze Transpose
Concat Split Slice Gather GatherElements GatherND ScatterElements ScatterND Expand Tile Pad Shape Size
ConstantOfShape Range Cast CastLike Identity Dropout ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1
ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare ArgMax ArgMin TopK CumSum Resize DepthToSpace SpaceToDepth
Trilu OneHot NonZero EyeLike QuantizeLinear DequantizeLinear QLinearConv QLinearMatMul MatMulInteger ConvInteger
DynamicQuantizeLinear LSTM GRU RNN LRN MeanVarianceNormalization Shrink ThresholdedRelu BitShift Compress
ReverseSequence GridSample NonMaxSuppression RoiAlign MaxUnpool Unique Det Col2Im`)

func TestOpTableComplete(t *testing.T) {
	for _, name := range requiredOps {
		if LookupOp("", name) == nil {
			t.Errorf("op %s is not in the table", name)
		}
	}
	if LookupOp("ai.onnx", "Conv") != LookupOp("", "Conv") {
		t.Error(`LookupOp("ai.onnx", "Conv") differs from LookupOp("", "Conv")`)
	}
	if LookupOp("", "SequenceEmpty") != nil || LookupOp("com.microsoft", "Conv") != nil {
		t.Error("LookupOp found an op effc does not support")
	}
	names := OpNames()
	if !sort.StringsAreSorted(names) || len(names) != len(opTable) {
		t.Errorf("OpNames: got %d names (sorted %v), want %d sorted", len(names), sort.StringsAreSorted(names), len(opTable))
	}
}

func TestOpTableSanity(t *testing.T) {
	for key, d := range opTable {
		if d.Infer == nil {
			t.Errorf("%s: no shape function", key.name)
		}
		if d.Name != key.name || d.Domain != key.domain {
			t.Errorf("%s: registered under %v", d.Name, key)
		}
		for _, p := range append(append([]Param{}, d.Inputs...), d.Outputs...) {
			if len(d.TypeVars[p.TypeVar]) == 0 {
				t.Errorf("%s: param %s has type variable %q with no dtypes", d.Name, p.Name, p.TypeVar)
			}
		}
		for name, a := range d.Attrs {
			if a.Default != nil && a.Default.Kind != a.Kind {
				t.Errorf("%s: attribute %s has kind %s but its default is %s", d.Name, name, a.Kind, a.Default.Kind)
			}
			if a.Required && a.Default != nil {
				t.Errorf("%s: attribute %s is required and has a default", d.Name, name)
			}
		}
		if d.MinOutputs() < 1 && d.Name != "LSTM" && d.Name != "GRU" && d.Name != "RNN" {
			t.Errorf("%s: no required output", d.Name)
		}
	}
	conv := LookupOp("", "Conv")
	if got, want := conv.Signature(), "X:T W:T B?:T -> Y:T"; got != want {
		t.Errorf("Conv signature: got %q, want %q", got, want)
	}
	if conv.MinInputs() != 2 || conv.MaxInputs() != 3 {
		t.Errorf("Conv arity: got %d..%d, want 2..3", conv.MinInputs(), conv.MaxInputs())
	}
	if c := LookupOp("", "Concat"); c.MaxInputs() != -1 || c.MinInputs() != 1 {
		t.Errorf("Concat arity: got %d..%d, want 1..-1", c.MinInputs(), c.MaxInputs())
	}
	if g := conv.Attrs["group"]; g.Kind != AttrInt || g.Default == nil || g.Default.Int != 1 {
		t.Errorf("Conv group attribute: got %+v, want int default 1", g)
	}
	if got := fmt.Sprint(LookupOp("", "MeanVarianceNormalization").Attrs["axes"].Default.Ints); got != "[0 2 3]" {
		t.Errorf("MeanVarianceNormalization axes default: got %s, want [0 2 3]", got)
	}
}

func TestOpDSLRejectsMalformedRows(t *testing.T) {
	rows := []struct {
		name, sig, types, attrs, want string
	}{
		{"BadArrow", "X:T Y:T", "T:float", "", "lacks '->'"},
		{"BadParam", "X -> Y:T", "T:float", "", `param "X" lacks ':'`},
		{"BadDType", "X:T -> Y:T", "T:f33", "", `unknown dtype or group "f33"`},
		{"BadKind", "X:T -> Y:T", "T:float", "a:number", `unknown kind "number"`},
		{"BadDefault", "X:T -> Y:T", "T:float", "a:int=x", `int default "x"`},
		{"BadVariadic", "X:T... Y:T -> Z:T", "T:float", "", "follows a variadic one"},
		{"Relu", "X:T -> Y:T", "T:float", "", "defined twice"},
	}
	for _, r := range rows {
		func() {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), r.want) {
					t.Errorf("row %s: got panic %v, want one containing %q", r.name, p, r.want)
				}
			}()
			op(r.name, r.sig, r.types, r.attrs, inferSameAs0)
		}()
		if r.name != "Relu" && LookupOp("", r.name) != nil {
			t.Errorf("malformed row %s was registered", r.name)
		}
	}
}

func TestSuggestOp(t *testing.T) {
	for in, want := range map[string]string{"ReLU": "Relu", "Conv2": "Conv", "Sofmax": "Softmax", "Completely": ""} {
		if got := suggestOp(in); got != want {
			t.Errorf("suggestOp(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestInferNeverPanics runs every shape function over assorted input
// types, counts and hostile constants; errors are fine, panics are not.
func TestInferNeverPanics(t *testing.T) {
	types := []Type{
		{DType: Float32},
		TensorType(Float32, Shape{}),
		TensorType(Int64, Shape{D(3)}),
		TensorType(Float32, Shape{Sym("N"), D(3), D(8), D(8)}),
		TensorType(Uint8, Shape{D(0), Unknown(), D(1)}),
		TensorType(Float32, Shape{D(1 << 30), D(1 << 30)}),
	}
	consts := []*Tensor{
		FromInt64([]int64{2}, []int64{-1 << 63, 1<<63 - 1}),
		FromInt64([]int64{4}, []int64{-5, 0, 1 << 40, -1}),
		FromInt64([]int64{}, []int64{-3}),
		FromInt64([]int64{0}, []int64{}),
		FromFloat32([]int64{1}, []float32{float32(nanF())}),
		{DType: Int64, Shape: []int64{3}, Data: []int64{1}},
		{DType: Int64, Shape: []int64{-2}, Data: []int64{}},
	}
	keys := make([]opKey, 0, len(opTable))
	for k := range opTable {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].domain+"."+keys[i].name < keys[j].domain+"."+keys[j].name
	})
	for _, key := range keys {
		d, name := opTable[key], key.name
		maxIn := d.MaxInputs()
		if maxIn < 0 {
			maxIn = d.MinInputs() + 2
		}
		nOut := max(d.MaxOutputs(), 2)
		for nIn := d.MinInputs(); nIn <= maxIn; nIn++ {
			for variant := 0; variant < len(types)+len(consts); variant++ {
				n := &Node{Name: "p", Op: name, Attrs: hostileAttrs(d, variant)}
				for i := 0; i < nIn; i++ {
					v := &Value{Name: fmt.Sprint("i", i)}
					k := (variant + i) % (len(types) + len(consts))
					if k < len(types) {
						v.Type = types[k]
					} else {
						v.Const = consts[k-len(types)]
						v.Type = TensorType(v.Const.DType, Shape{})
					}
					if variant%4 == 3 && i%2 == 1 {
						v = nil // omitted, even where the schema requires a value
					}
					n.Inputs = append(n.Inputs, v)
				}
				for i := 0; i < nOut; i++ {
					n.Outputs = append(n.Outputs, &Value{Name: fmt.Sprint("o", i), Producer: n})
				}
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s with %d inputs, variant %d: panic: %v", name, nIn, variant, p)
						}
					}()
					_, _ = d.Infer(n)
				}()
			}
		}
	}
}

// hostileAttrs gives every attribute of d a strange value of its kind.
func hostileAttrs(d *OpDef, variant int) map[string]*Attr {
	m := map[string]*Attr{}
	for name, a := range d.Attrs {
		switch a.Kind {
		case AttrInt:
			m[name] = IntAttr([]int64{-1 << 63, -1, 0, 1 << 40, 2}[variant%5])
		case AttrInts:
			m[name] = IntsAttr([][]int64{nil, {-1, 1 << 62}, {0, 0, 0, 0}, {1 << 40}}[variant%4]...)
		case AttrFloat:
			m[name] = FloatAttr(float32(nanF()))
		case AttrString:
			m[name] = StringAttr([]string{"", "SAME_UPPER", "...->", "a,b->c"}[variant%4])
		case AttrTensor:
			m[name] = TensorAttr(&Tensor{DType: Float32, Shape: []int64{-1}, Data: []float32{}})
		}
	}
	if variant%3 == 0 {
		return nil
	}
	return m
}
