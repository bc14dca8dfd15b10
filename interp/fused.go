package interp

import (
	"fmt"

	"github.com/effc/effc/ir"
)

// fusedConvKernel is effc.FusedConv: Conv(X, W, B), then Add(R) when R is
// present, then the activation. It runs the same kernels the unfused nodes
// would, so fusing never changes the interpreter's result.
func fusedConvKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("got %d inputs, want X, W[, B[, R]]", len(in))
	}
	y, err := convKernel(n, in[:min(len(in), 3)])
	if err != nil {
		return nil, err
	}
	if len(in) > 3 && in[3] != nil {
		if !equalShape(in[3].Shape, y[0].Shape) {
			return nil, fmt.Errorf("input 3 (R) has shape %v, want the convolution's %v", in[3].Shape, y[0].Shape)
		}
		if y, err = mathKernels["Add"](&ir.Node{Op: "Add"}, []*ir.Tensor{y[0], in[3]}); err != nil {
			return nil, err
		}
	}
	switch act := n.AttrString("activation", ""); act {
	case "":
		return y, nil
	case "Relu":
		return mathKernels["Relu"](&ir.Node{Op: "Relu"}, y)
	case "LeakyRelu":
		a := &ir.Node{Op: "LeakyRelu"}
		a.SetAttr("alpha", ir.FloatAttr(n.AttrFloat("alpha", 0.01)))
		return mathKernels["LeakyRelu"](a, y)
	case "Clip":
		lo := ir.Scalar(n.AttrFloat("min", 0))
		hi := ir.Scalar(n.AttrFloat("max", 0))
		return mathKernels["Clip"](&ir.Node{Op: "Clip"}, []*ir.Tensor{y[0], lo, hi})
	default:
		return nil, fmt.Errorf("activation %q is not one of Relu, LeakyRelu, Clip", act)
	}
}
