package quant

import (
	"fmt"
	"math"
	"sort"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// Report is what Quantize did: per quantized layer its parameters and,
// after Measure, its error against float; the ops left in float and why;
// and the constant bytes before and after.
type Report struct {
	Scheme      string `json:"scheme"`
	WeightsOnly bool   `json:"weights_only"`
	// Activations is the activation type, "u8" or "i8" (asymmetric per
	// tensor); weights are always symmetric int8 per output channel.
	Activations string    `json:"activations"`
	Method      string    `json:"calibration_method,omitempty"`
	Samples     int       `json:"calibration_samples,omitempty"`
	Layers      []Layer   `json:"layers"`
	Float       []FloatOp `json:"float_ops"`
	// WeightBytes counts the weight tensors of the quantized layers (float
	// before, int8 after); ConstBytes every constant the graph reads,
	// scales, zero points and int32 biases included.
	WeightBytes Bytes `json:"weight_bytes"`
	ConstBytes  Bytes `json:"const_bytes"`
	// Suggest lists the layers Measure found worst (output SQNR below
	// SuggestBelowDB, worst first, at most SuggestMax), for --keep-float.
	Suggest []string `json:"suggest_keep_float,omitempty"`
}

// Bytes is a size before and after quantization.
type Bytes struct {
	Before int64 `json:"before"`
	After  int64 `json:"after"`
}

// Layer is one quantized op.
type Layer struct {
	Node string `json:"node"`
	Op   string `json:"op"`
	// Activation is the Relu or Clip the output's range absorbs (qdq-fuse
	// folds it into the requantization clamp).
	Activation string `json:"activation,omitempty"`
	// Input and Output are the activations' parameters; nil for
	// weights-only quantization.
	Input  *Affine `json:"input,omitempty"`
	Output *Affine `json:"output,omitempty"`
	// WeightScaleMin and WeightScaleMax bound the per-channel weight scales
	// (0 for ops without weights).
	WeightScaleMin float32 `json:"weight_scale_min,omitempty"`
	WeightScaleMax float32 `json:"weight_scale_max,omitempty"`
	// SQNR is 10·log10(Σf² / Σ(q−f)²) in dB of the dequantized output q
	// against the float model's f over the calibration inputs, capped at
	// MaxSQNR (no error at all); RelErr is sqrt(Σ(q−f)² / Σf²). Both
	// include the error of every quantized layer before this one. Measured
	// says whether Measure ran.
	SQNR     float64 `json:"sqnr_db"`
	RelErr   float64 `json:"rel_error"`
	Measured bool    `json:"measured"`
	// FloatValue names the output in the float graph, QuantValue the
	// dequantized output in the quantized graph.
	FloatValue string `json:"-"`
	QuantValue string `json:"-"`
}

// FloatOp is an op left in float.
type FloatOp struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Reason string `json:"reason"`
}

// MaxSQNR caps a layer's SQNR when its quantized output equals the float
// one exactly (JSON has no infinity).
const MaxSQNR = 200

// The suggestion rule: the layers whose output SQNR is below SuggestBelowDB
// (about 10% relative error), worst first, at most SuggestMax of them.
const (
	SuggestBelowDB = 20
	SuggestMax     = 3
)

// Measure runs the float graph and the quantized graph (the one Quantize
// rewrote, in QDQ form) on every input set with the reference interpreter
// and fills in each layer's SQNR and relative error, then the suggested
// --keep-float list.
func (r *Report) Measure(float, quantized *ir.Graph, inputs []map[string]*ir.Tensor) error {
	type acc struct{ signal, noise float64 }
	floatIdx := map[string][]int{} // float value name -> layers
	quantIdx := map[string]int{}
	for i, l := range r.Layers {
		if l.FloatValue != "" {
			floatIdx[l.FloatValue] = append(floatIdx[l.FloatValue], i)
			quantIdx[l.QuantValue] = i
		}
	}
	if len(quantIdx) == 0 || len(inputs) == 0 {
		return nil
	}
	sums := make([]acc, len(r.Layers))
	for bi, in := range inputs {
		want := map[int][]float64{}
		_, err := interp.RunWith(float, in, interp.RunOptions{Observe: func(v *ir.Value, t *ir.Tensor) error {
			for _, i := range floatIdx[v.Name] {
				want[i] = t.Float64s()
			}
			return nil
		}})
		if err != nil {
			return fmt.Errorf("input %d: float model: %w", bi, err)
		}
		_, err = interp.RunWith(quantized, in, interp.RunOptions{Observe: func(v *ir.Value, t *ir.Tensor) error {
			i, ok := quantIdx[v.Name]
			if !ok {
				return nil
			}
			f := want[i]
			if len(f) != t.Len() {
				return fmt.Errorf("layer %q: output has %d elements, the float model's %d", r.Layers[i].Node, t.Len(), len(f))
			}
			for k, fv := range f {
				d := t.Float64At(k) - fv
				sums[i].signal += fv * fv
				sums[i].noise += d * d
			}
			return nil
		}})
		if err != nil {
			return fmt.Errorf("input %d: quantized model: %w", bi, err)
		}
	}
	var worst []int
	for i := range r.Layers {
		l := &r.Layers[i]
		if l.FloatValue == "" {
			continue
		}
		s := sums[i]
		l.Measured = true
		l.SQNR = MaxSQNR
		if s.noise > 0 {
			l.SQNR = min(MaxSQNR, 10*math.Log10(s.signal/s.noise))
		}
		if s.signal > 0 {
			l.RelErr = math.Sqrt(s.noise / s.signal)
		}
		if l.SQNR < SuggestBelowDB {
			worst = append(worst, i)
		}
	}
	sort.SliceStable(worst, func(a, b int) bool { return r.Layers[worst[a]].SQNR < r.Layers[worst[b]].SQNR })
	r.Suggest = nil
	for _, i := range worst[:min(len(worst), SuggestMax)] {
		r.Suggest = append(r.Suggest, r.Layers[i].Node)
	}
	return nil
}
