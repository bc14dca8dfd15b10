package passes

import "github.com/effc/effc/ir"

// inferShapes sets every node output's dtype and shape from its inputs,
// keeping symbolic dims by name:
//
//	%y = Conv(%x: f32[N,3,32,32], %w: f32[16,3,3,3])  ->  %y: f32[N,16,32,32]
func inferShapes(_ *Context, g *ir.Graph) error { return ir.InferShapes(g) }
