package effc

import (
	"fmt"

	"github.com/effc/effc/ir"
	"github.com/effc/effc/quant"
)

// SchemeComparison puts quantization schemes side by side on one model and
// one set of calibration inputs: the question of "FP8 versus INT8 for
// inference" answered on the user's own model.
type SchemeComparison struct {
	Schemes []string `json:"schemes"`
	// Layers has one row per layer quantized by any scheme, in the order of
	// the first scheme's report.
	Layers []SchemeLayer `json:"layers"`
	// Quality is each scheme's whole-model error, and WeightBytes its
	// weight bytes after quantization, in Schemes order.
	Quality     []*Quality `json:"quality"`
	WeightBytes []int64    `json:"weight_bytes"`
}

// SchemeLayer is one layer's output SQNR (dB) per scheme, in Schemes
// order; nil where a scheme left the layer in float.
type SchemeLayer struct {
	Node string     `json:"node"`
	Op   string     `json:"op"`
	SQNR []*float64 `json:"sqnr_db"`
}

// CompareSchemes quantizes a copy of g with each scheme (quant.SchemeInt8,
// quant.SchemeFP8E4M3, quant.SchemeFP8E5M2), calibrated on opts.Calib, and
// measures every layer and the outputs against float. g is not changed.
func CompareSchemes(g *ir.Graph, schemes []string, opts QuantizeOptions) (*SchemeComparison, error) {
	if len(opts.Calib) == 0 {
		return nil, fmt.Errorf("comparing schemes needs calibration inputs (--calib): the layer errors are measured on them")
	}
	c := &SchemeComparison{Schemes: schemes}
	row := map[string]int{}
	for si, s := range schemes {
		q, err := cloneGraph(g)
		if err != nil {
			return nil, err
		}
		o := opts
		o.Scheme = s
		rep, err := Quantize(q, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		c.Quality = append(c.Quality, rep.Quality)
		c.WeightBytes = append(c.WeightBytes, rep.WeightBytes.After)
		for _, l := range rep.Layers {
			i, ok := row[l.Node]
			if !ok {
				i = len(c.Layers)
				row[l.Node] = i
				c.Layers = append(c.Layers, SchemeLayer{Node: l.Node, Op: l.Op, SQNR: make([]*float64, len(schemes))})
			}
			if l.Measured {
				v := l.SQNR
				c.Layers[i].SQNR[si] = &v
			}
		}
	}
	return c, nil
}

// AllSchemes lists the schemes CompareSchemes knows, INT8 first.
func AllSchemes() []string {
	return []string{quant.SchemeInt8, quant.SchemeFP8E4M3, quant.SchemeFP8E5M2}
}
