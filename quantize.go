package effc

import (
	"context"
	"fmt"
	"io"

	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
	"github.com/effc/effc/quant"
)

// QuantizeOptions configures Quantize.
type QuantizeOptions struct {
	// Scheme is quant.SchemeInt8 ("" means int8).
	Scheme string
	// Calib are the calibration inputs (--calib); nil quantizes the
	// weights only, since activations have no known range without them.
	Calib []map[string]*ir.Tensor
	// Range says how a calibrated activation's range is derived
	// (--calib-method, --calib-percentile).
	Range quant.RangeOptions
	// KeepFloat names layers to leave in float (--keep-float).
	KeepFloat []string
	// ActDType is ir.Uint8 (the default) or ir.Int8 (--act).
	ActDType ir.DType
}

// QuantizeReport is what Quantize did and what it cost.
type QuantizeReport struct {
	*quant.Report
	// Pipeline is the clean-up pipeline Quantize ran first.
	Pipeline string `json:"pipeline"`
	// Quality compares the quantized model's outputs with the float
	// model's on the calibration inputs; nil without them.
	Quality *Quality `json:"quality,omitempty"`
}

// Quantize cleans g up (the "quant-prep" pipeline: BatchNormalization
// folded), calibrates it on opts.Calib, rewrites it in place into ONNX QDQ
// form (quant.Quantize) and measures every quantized layer's output and the
// model's outputs against the float model on the same inputs. g keeps its
// standard ONNX form, so frontend.Save writes a model ONNX Runtime runs;
// compiling it fuses the QDQ patterns into integer kernels (qdq-fuse).
func Quantize(g *ir.Graph, opts QuantizeOptions) (rep *QuantizeReport, err error) {
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("internal error while quantizing: %v (please report this with the model)", r)
		}
	}()
	p, err := passes.ParsePipeline("quant-prep")
	if err != nil {
		return nil, err
	}
	if err := passes.Run(g, p, passes.Options{}); err != nil {
		return nil, err
	}
	qo := quant.QuantizeOptions{Scheme: opts.Scheme, Range: opts.Range, KeepFloat: opts.KeepFloat, ActDType: opts.ActDType}
	var float *ir.Graph
	if len(opts.Calib) > 0 {
		if float, err = cloneGraph(g); err != nil {
			return nil, err
		}
		if qo.Calib, err = quant.Calibrate(context.Background(), g, &inputSets{sets: opts.Calib}, quant.Options{}); err != nil {
			return nil, err
		}
	}
	qr, err := quant.Quantize(g, qo)
	if err != nil {
		return nil, err
	}
	// The float weights the quantized ones replace are dead now.
	dce, err := passes.ParsePipeline("dce")
	if err != nil {
		return nil, err
	}
	if err := passes.Run(g, dce, passes.Options{}); err != nil {
		return nil, err
	}
	rep = &QuantizeReport{Report: qr, Pipeline: p.String()}
	if float == nil {
		return rep, nil
	}
	if err := qr.Measure(float, g, opts.Calib); err != nil {
		return nil, fmt.Errorf("measuring the quantized layers on the calibration inputs: %w", err)
	}
	if rep.Quality, err = Compare(float, g, opts.Calib); err != nil {
		return nil, fmt.Errorf("measuring the quantized model on the calibration inputs: %w", err)
	}
	return rep, nil
}

// inputSets is a quant.BatchSource over input sets held in memory.
type inputSets struct {
	sets []map[string]*ir.Tensor
	next int
}

// Next returns the next input set, io.EOF after the last.
func (l *inputSets) Next() (map[string]*ir.Tensor, error) {
	if l.next == len(l.sets) {
		return nil, io.EOF
	}
	l.next++
	return l.sets[l.next-1], nil
}
