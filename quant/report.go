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
	// Suggest lists the layers Measure found worst (see SuggestBelowDB),
	// for --keep-float.
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
	// include the error of every quantized layer before this one.
	// InputSQNR is the same for the layer's (dequantized) input, so
	// InputSQNR − SQNR is what the layer itself loses. Measured says
	// whether Measure ran.
	SQNR      float64 `json:"sqnr_db"`
	RelErr    float64 `json:"rel_error"`
	InputSQNR float64 `json:"input_sqnr_db"`
	Measured  bool    `json:"measured"`

	in, out probe // where Measure compares; zero for weights-only layers
}

// probe names a dequantized activation in the quantized graph and the
// float value it stands for in the float graph.
type probe struct{ float, quant string }

// FloatOp is an op left in float.
type FloatOp struct {
	Node   string `json:"node"`
	Op     string `json:"op"`
	Reason string `json:"reason"`
}

// MaxSQNR caps a layer's SQNR when its quantized output equals the float
// one exactly (JSON has no infinity).
const MaxSQNR = 200

// The suggestion rule: among the layers whose output SQNR is below
// SuggestBelowDB (about 10% relative error) and that lose at least
// SuggestMinLossDB themselves (InputSQNR − SQNR; 3 dB doubles the noise),
// those that lose the most, at most SuggestMax of them. A layer that only
// passes on its input's error gains nothing from staying float.
const (
	SuggestBelowDB   = 20
	SuggestMinLossDB = 3
	SuggestMax       = 3
)

// Measure runs the float graph and the quantized graph (the one Quantize
// rewrote, in QDQ form) on every input set with the reference interpreter
// and fills in each layer's SQNR, relative error and input SQNR, then the
// suggested --keep-float list.
func (r *Report) Measure(float, quantized *ir.Graph, inputs []map[string]*ir.Tensor) error {
	var probes []probe // the input and output of layer i are probes 2i and 2i+1
	for _, l := range r.Layers {
		probes = append(probes, l.in, l.out)
	}
	floatIdx, quantIdx := map[string][]int{}, map[string][]int{}
	for i, p := range probes {
		if p.quant != "" {
			floatIdx[p.float] = append(floatIdx[p.float], i)
			quantIdx[p.quant] = append(quantIdx[p.quant], i)
		}
	}
	if len(quantIdx) == 0 || len(inputs) == 0 {
		return nil
	}
	signal, noise := make([]float64, len(probes)), make([]float64, len(probes))
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
			for _, i := range quantIdx[v.Name] {
				f := want[i]
				if len(f) != t.Len() {
					return fmt.Errorf("value %q has %d elements, its float counterpart %q %d", v.Name, t.Len(), probes[i].float, len(f))
				}
				for k, fv := range f {
					d := t.Float64At(k) - fv
					signal[i] += fv * fv
					noise[i] += d * d
				}
			}
			return nil
		}})
		if err != nil {
			return fmt.Errorf("input %d: quantized model: %w", bi, err)
		}
	}
	sqnr := func(i int) float64 {
		if noise[i] == 0 {
			return MaxSQNR
		}
		return min(MaxSQNR, 10*math.Log10(signal[i]/noise[i]))
	}
	r.Suggest = nil
	loss := func(i int) float64 { return r.Layers[i].InputSQNR - r.Layers[i].SQNR }
	var worst []int
	for i := range r.Layers {
		l := &r.Layers[i]
		if l.out.quant == "" {
			continue
		}
		l.Measured = true
		l.InputSQNR, l.SQNR = sqnr(2*i), sqnr(2*i+1)
		if s := signal[2*i+1]; s > 0 {
			l.RelErr = math.Sqrt(noise[2*i+1] / s)
		}
		// --keep-float is the int8 scheme's.
		if r.Scheme == SchemeInt8 && l.SQNR < SuggestBelowDB && loss(i) >= SuggestMinLossDB {
			worst = append(worst, i)
		}
	}
	sort.SliceStable(worst, func(a, b int) bool { return loss(worst[a]) > loss(worst[b]) })
	for _, i := range worst[:min(len(worst), SuggestMax)] {
		r.Suggest = append(r.Suggest, r.Layers[i].Node)
	}
	return nil
}
