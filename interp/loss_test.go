package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

// TestNLLLoss checks NegativeLogLikelihoodLoss on a 2×3 input with values
// worked out by hand: targets [2, 0] pick -3 and -4.
func TestNLLLoss(t *testing.T) {
	x := tf32(sh(2, 3), -1, -2, -3, -4, -5, -6)
	tg := ti64(sh(2), 2, 0)
	w := tf32(sh(3), 1, 2, 3)
	red := func(r string) map[string]*ir.Attr { return map[string]*ir.Attr{"reduction": ir.StringAttr(r)} }
	nnClose(t, "none", evalMath(t, "NegativeLogLikelihoodLoss", red("none"), x, tg)[0], sh(2), []float64{3, 4}, 1e-6)
	nnClose(t, "sum", evalMath(t, "NegativeLogLikelihoodLoss", red("sum"), x, tg)[0], sh(), []float64{7}, 1e-6)
	nnClose(t, "mean", evalMath(t, "NegativeLogLikelihoodLoss", nil, x, tg)[0], sh(), []float64{3.5}, 1e-6)
	nnClose(t, "weighted none", evalMath(t, "NegativeLogLikelihoodLoss", red("none"), x, tg, w)[0], sh(2), []float64{9, 4}, 1e-6)
	// The weighted mean divides by the weights used: (9 + 4) / (3 + 1).
	nnClose(t, "weighted mean", evalMath(t, "NegativeLogLikelihoodLoss", nil, x, tg, w)[0], sh(), []float64{3.25}, 1e-6)

	ii := map[string]*ir.Attr{"reduction": ir.StringAttr("mean"), "ignore_index": ir.IntAttr(2)}
	nnClose(t, "ignored mean", evalMath(t, "NegativeLogLikelihoodLoss", ii, x, tg)[0], sh(), []float64{4}, 1e-6)
	neg := map[string]*ir.Attr{"reduction": ir.StringAttr("none"), "ignore_index": ir.IntAttr(-1)}
	nnClose(t, "negative ignore_index", evalMath(t, "NegativeLogLikelihoodLoss", neg, x, ti32(sh(2), -1, 1))[0], sh(2), []float64{0, 5}, 1e-6)

	// N-d: (1, 2, 2) input, (1, 2) target.
	nd := evalMath(t, "NegativeLogLikelihoodLoss", red("none"), tf32(sh(1, 2, 2), 1, 2, 3, 4), ti64(sh(1, 2), 1, 0))[0]
	nnClose(t, "N-d", nd, sh(1, 2), []float64{-3, -2}, 1e-6)

	evalMathErr(t, "outside [0, 3)", "NegativeLogLikelihoodLoss", nil, x, ti64(sh(2), 3, 0))
	evalMathErr(t, "want [2]", "NegativeLogLikelihoodLoss", nil, x, ti64(sh(3), 0, 0, 0))
	evalMathErr(t, "want f32[3]", "NegativeLogLikelihoodLoss", nil, x, tg, tf32(sh(2), 1, 1))
	evalMathErr(t, "want none, sum or mean", "NegativeLogLikelihoodLoss", red("max"), x, tg)
}

// TestSCELoss checks SoftmaxCrossEntropyLoss: with equal scores over three
// classes every log-probability is -log 3.
func TestSCELoss(t *testing.T) {
	out := evalMath(t, "SoftmaxCrossEntropyLoss", nil, tf32(sh(1, 3), 0, 0, 0), ti64(sh(1), 1))
	l3 := math.Log(3)
	nnClose(t, "loss", out[0], sh(), []float64{l3}, 1e-6)
	nnClose(t, "log_prob", out[1], sh(1, 3), []float64{-l3, -l3, -l3}, 1e-6)

	// Scores [0, ln 3] along the class axis of a (1, 2, 1) input:
	// log-probabilities log(1/4) and log(3/4); target 0 costs log 4.
	out = evalMath(t, "SoftmaxCrossEntropyLoss", map[string]*ir.Attr{"reduction": ir.StringAttr("none")},
		tf64(sh(1, 2, 1), 0, l3), ti64(sh(1, 1), 0))
	nnClose(t, "N-d loss", out[0], sh(1, 1), []float64{math.Log(4)}, 1e-9)
	nnClose(t, "N-d log_prob", out[1], sh(1, 2, 1), []float64{math.Log(0.25), math.Log(0.75)}, 1e-9)
}
