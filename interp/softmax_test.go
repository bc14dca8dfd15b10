package interp

import (
	"math"
	"testing"

	"github.com/effc/effc/ir"
)

func TestSoftmaxFamily(t *testing.T) {
	// Values from the ONNX operator docs.
	x := tf32(sh(1, 3), -1, 0, 1)
	got := evalMath(t, "Softmax", nil, x)
	expectTensor(t, "softmax", got[0], tf32(sh(1, 3), 0.09003058, 0.24472848, 0.66524094))
	got = evalMath(t, "LogSoftmax", nil, x)
	expectTensor(t, "logsoftmax", got[0], tf32(sh(1, 3), -2.4076061, -1.407606, -0.407606))
	got = evalMath(t, "Softmax", nil, tf32(sh(2), 10000, 10001))
	expectTensor(t, "softmax large", got[0], tf32(sh(2), 0.26894143, 0.7310586))
	got = evalMath(t, "Softmax", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, tf32(sh(2, 2), 0, 1, 0, 1))
	expectTensor(t, "softmax axis 0", got[0], tf32(sh(2, 2), 0.5, 0.5, 0.5, 0.5))
	got = evalMath(t, "Hardmax", nil, tf32(sh(2, 4), 3, 0, 1, 2, 1, 1, 1, 1))
	expectTensor(t, "hardmax", got[0], tf32(sh(2, 4), 1, 0, 0, 0, 1, 0, 0, 0))
	got = evalMath(t, "Hardmax", map[string]*ir.Attr{"axis": ir.IntAttr(0)}, tf32(sh(2, 2), 1, 5, 2, 3))
	expectTensor(t, "hardmax axis 0", got[0], tf32(sh(2, 2), 0, 1, 1, 0))
	got = evalMath(t, "Hardmax", nil, tf32(sh(4), 1, float32(math.NaN()), 5, float32(math.NaN())))
	expectTensor(t, "hardmax NaN", got[0], tf32(sh(4), 0, 1, 0, 0))
	evalMathErr(t, "attribute axis", "Softmax", map[string]*ir.Attr{"axis": ir.IntAttr(2)}, x)
	evalMathErr(t, "want a floating type", "Softmax", nil, ti32(sh(1), 1))
}
