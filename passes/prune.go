package passes

import (
	"github.com/effc/effc/ir"
	"github.com/effc/effc/prune"
)

// pruneOTOv2 removes OTOv2 zero-invariant groups (package prune): channels
// whose producer weights are exactly zero leave every producer, accessory
// and consumer, and the constant such a channel may still carry (a bias or
// a BatchNormalization shift through an activation) is folded into the
// consumers' biases:
//
//	%h = Relu(Conv(%x, %w[8,3,3,3], %b[8]))   (rows 1 and 4 of %w are zero)
//	%y = Conv(%h, %v[6,8,1,1], %c[6])
//	  ->  %h = Relu(Conv(%x, %w'[6,3,3,3], %b'[6]))
//	      %y = Conv(%h, %v'[6,6,1,1], %c + relu(%b[1])·Σ%v[:,1] + relu(%b[4])·Σ%v[:,4])
//
// Context.Prune selects lossless mode (the zero value) or a target ratio;
// the report lands in Context.Pruned.
func pruneOTOv2(ctx *Context, g *ir.Graph) error {
	res, err := prune.Prune(g, ctx.Prune)
	if err != nil {
		return err
	}
	ctx.Pruned = res
	return nil
}
