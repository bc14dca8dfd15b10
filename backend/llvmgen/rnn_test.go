package llvmgen_test

import (
	"testing"

	"github.com/effc/effc/ir"
)

// TestRecurrentKernels covers LSTM (bidirectional, peepholes, sequence
// lengths, initial states, clip), GRU (both linear_before_reset settings,
// layout 1) and RNN (reverse, parameterised activations).
func TestRecurrentKernels(t *testing.T) {
	src := `effir 1
graph "rnn" opset{ai.onnx=14} {
  input %x : f32[4,2,3]
  input %xb : f32[2,4,3]
  input %lw : f32[2,20,3]
  input %lr : f32[2,20,5]
  input %lb : f32[2,40]
  input %lens : i32[2]
  input %h0 : f32[2,2,5]
  input %c0 : f32[2,2,5]
  input %p : f32[2,15]
  input %gw : f32[1,15,3]
  input %gr : f32[1,15,5]
  input %gb : f32[1,30]
  input %rw : f32[1,5,3]
  input %rr : f32[1,5,5]
  input %lw1 : f32[1,20,3]
  input %lr1 : f32[1,20,5]
  %y : f32[4,2,2,5], %yh : f32[2,2,5], %yc : f32[2,2,5] = LSTM(%x, %lw, %lr, %lb, %lens, %h0, %c0, %p) {hidden_size=5, direction="bidirectional", clip=2.5}  @lstm
  %gy : f32[2,4,1,5], %gh : f32[2,1,5] = GRU(%xb, %gw, %gr, %gb) {hidden_size=5, layout=1}  @gru
  %gy2 : f32[4,1,2,5] = GRU(%x, %gw, %gr, %gb, %lens) {hidden_size=5, linear_before_reset=1}  @gru_lbr
  %ry : f32[4,1,2,5], %rh : f32[1,2,5] = RNN(%x, %rw, %rr) {hidden_size=5, direction="reverse", activations=["LeakyRelu"], activation_alpha=[0.2]}  @rnn
  %ly : f32[4,1,2,5] = LSTM(%x, %lw1, %lr1) {hidden_size=5, input_forget=1, activations=["HardSigmoid", "Tanh", "Softsign"]}  @lstm_coupled
  output %y
  output %yh
  output %yc
  output %gy
  output %gh
  output %gy2
  output %ry
  output %rh
  output %ly
}
`
	g := parseGraph(t, src)
	in := randomInputs(g, 5, 0, 1, map[string]*ir.Tensor{
		"lens": {DType: ir.Int32, Shape: []int64{2}, Data: []int32{3, 4}},
	})
	for _, name := range []string{"lw", "lr", "gw", "gr", "rw", "rr", "lw1", "lr1"} {
		d := in[name].Data.([]float32)
		for i := range d {
			d[i] *= 0.5
		}
	}
	checkOnTargets(t, src, in, 1e-5)
}
