package ir

import "testing"

func TestShapeSignalAndLoss(t *testing.T) {
	sum := map[string]*Attr{"reduction": StringAttr("sum")}
	none := map[string]*Attr{"reduction": StringAttr("none")}
	runShapeCases(t, []shapeCase{
		{op: "HannWindow", in: []any{cs64(10)}, want: []string{"f32[10]"}},
		{name: "dtype", op: "HammingWindow", in: []any{"i64[]"}, attrs: map[string]*Attr{"output_datatype": IntAttr(int64(Float64))}, want: []string{"f64[?]"}},
		{name: "negative", op: "BlackmanWindow", in: []any{cs64(-2)}, err: "want >= 0"},
		{name: "not scalar", op: "HannWindow", in: []any{"i64[3]"}, err: "want a scalar"},
		{op: "DFT", in: []any{"f32[N,10,1]"}, want: []string{"f32[N,10,2]"}},
		{name: "onesided length", op: "DFT", in: []any{"f32[N,10,2]", cs64(9)}, attrs: map[string]*Attr{"onesided": IntAttr(1)}, want: []string{"f32[N,5,2]"}},
		{name: "axis", op: "DFT", in: []any{"f32[2,3,4,1]"}, attrs: map[string]*Attr{"axis": IntAttr(-2)}, want: []string{"f32[2,3,4,2]"}},
		{name: "bad last", op: "DFT", in: []any{"f32[2,3,3]"}, err: "want 1 (real) or 2"},
		{name: "batch axis", op: "DFT", in: []any{"f32[2,3,1]"}, attrs: map[string]*Attr{"axis": IntAttr(0)}, err: "batch or the real/imaginary"},
		{op: "STFT", in: []any{"f32[1,128,1]", cs64(8), nil, cs64(16)}, want: []string{"f32[1,15,9,2]"}},
		{name: "window", op: "STFT", in: []any{"f32[2,128,2]", cs64(8), "f32[16]"}, attrs: map[string]*Attr{"onesided": IntAttr(0)}, want: []string{"f32[2,15,16,2]"}},
		{name: "short", op: "STFT", in: []any{"f32[1,8,1]", cs64(1), nil, cs64(16)}, err: "shorter than frame_length"},
		{op: "MelWeightMatrix", in: []any{cs64(8), cs64(16), cs64(8192), "f32[]", "f32[]"}, want: []string{"f32[9,8]"}},
		{op: "NegativeLogLikelihoodLoss", in: []any{"f32[N,5,6]", "i64[N,6]"}, want: []string{"f32[]"}},
		{name: "none", op: "NegativeLogLikelihoodLoss", in: []any{"f32[N,5,6]", "i64[N,6]", "f32[5]"}, attrs: none, want: []string{"f32[N,6]"}},
		{name: "bad target", op: "NegativeLogLikelihoodLoss", in: []any{"f32[N,5,6]", "i64[N,7]"}, err: "does not match"},
		{name: "bad weight", op: "NegativeLogLikelihoodLoss", in: []any{"f32[N,5]", "i64[N]", "f32[4]"}, err: "classes"},
		{name: "bad reduction", op: "NegativeLogLikelihoodLoss", in: []any{"f32[N,5]", "i64[N]"}, attrs: map[string]*Attr{"reduction": StringAttr("avg")}, err: "want none, sum or mean"},
		{op: "SoftmaxCrossEntropyLoss", in: []any{"f64[3,5,2]", "i32[3,2]"}, attrs: sum, want: []string{"f64[]", "f64[3,5,2]"}},
		{name: "none", op: "SoftmaxCrossEntropyLoss", in: []any{"f32[3,5]", "i64[3]"}, attrs: none, want: []string{"f32[3]", "f32[3,5]"}},
		{name: "rank", op: "SoftmaxCrossEntropyLoss", in: []any{"f32[3]", "i64[3]"}, err: "want >= 2"},
	})
}
