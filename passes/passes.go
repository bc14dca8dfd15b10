// Package passes holds effc's graph passes and the manager that runs them.
//
// Every pass is one row of the table below: a stable kebab-case name used on
// the command line, a function over the graph, and whether the pass is a
// required lowering step. Ordering constraints between passes are data too
// (order), checked against every named pipeline by TestPassOrder. A pipeline
// is a comma-separated list of pass or pipeline names ("default",
// "shape-infer,const-fold,dce") that parses and prints back.
package passes

import "github.com/effc/effc/ir"

// Pass is one named graph transformation.
type Pass struct {
	Name     string                          // stable kebab-case name, e.g. "const-fold"
	Doc      string                          // one line for 'effc passes' and --help
	Run      func(*Context, *ir.Graph) error // user-caused failures are errors, never panics
	Required bool                            // lowering step that later stages rely on
}

// table lists every pass effc has. The same algorithm may fill several
// pipeline slots; the name identifies the algorithm.
var table = [...]Pass{
	{Name: "shape-infer", Run: inferShapes, Required: true,
		Doc: "infer every value's dtype and shape (symbolic dims kept by name)"},
	{Name: "identity-elim", Run: eliminateIdentities,
		Doc: "remove Identity and inference-mode Dropout nodes"},
	{Name: "const-fold", Run: foldConstants,
		Doc: "evaluate nodes whose inputs are all constant (and Shape/Size of static shapes) with the interpreter"},
	{Name: "dce", Run: eliminateDeadCode,
		Doc: "remove nodes and constants that no graph output depends on"},
	{Name: "cse", Run: eliminateCommonSubexpressions,
		Doc: "merge nodes with the same op, inputs and attributes, and identical constants"},
	{Name: "bn-fold", Run: foldBatchNorms,
		Doc: "fold inference BatchNormalization into the preceding Conv or Gemm weights and bias"},
	{Name: "prune-otov2", Run: pruneOTOv2,
		Doc: "remove OTOv2 zero-invariant groups whose producer weights are zero, folding their constants into consumers (lossless); Context.Prune sets a target ratio"},
	{Name: "qdq-fuse", Run: fuseQDQ,
		Doc: "turn DequantizeLinear→Conv/Gemm/MatMul/Add/AveragePool/GlobalAveragePool/MaxPool/Flatten/Reshape(→Relu|Clip)→QuantizeLinear into QLinearConv, QLinearMatMul, effc.QLinearAdd, effc.QLinear(Global)AveragePool and integer MaxPool/Flatten/Reshape"},
	{Name: "requant-fixed", Run: requantFixed,
		Doc: "requantize QLinearConv/QLinearMatMul in integers only: ConvInteger/MatMulInteger then effc.Requantize (Q31 multiplier and shift, gemmlowp rounding); not in default"},
	{Name: "fuse-epilogue", Run: fuseEpilogues,
		Doc: "merge a float32 Conv with the residual Add and the Relu/LeakyRelu/Clip after it into effc.FusedConv"},
}

// constraint says pass a must run before pass b when both are in a pipeline.
type constraint struct{ a, b string }

// order holds the ordering requirements between passes; each has a reason.
var order = [...]constraint{
	// bn-fold matches Conv→BatchNormalization through constant weights, which
	// const-fold materializes (e.g. weights computed by Reshape/Transpose).
	{"const-fold", "bn-fold"},
	// const-fold folds Shape of static shapes, which needs inferred shapes.
	{"shape-infer", "const-fold"},
	// Conv→BatchNormalization→Relu fuses only once the BN is folded away.
	{"bn-fold", "fuse-epilogue"},
	// prune-otov2 traces channels through standard ops and needs shapes;
	// it does not know effc.FusedConv.
	{"shape-infer", "prune-otov2"},
	{"prune-otov2", "fuse-epilogue"},
	// const-fold would evaluate the DequantizeLinear of constant weights
	// into float weights, destroying the patterns qdq-fuse matches.
	{"qdq-fuse", "const-fold"},
	// qdq-fuse matches on value types (8-bit integers behind the QDQ pairs).
	{"shape-infer", "qdq-fuse"},
	// fuse-epilogue would take a float Conv's Relu before qdq-fuse can
	// absorb it into the requantization clamp.
	{"qdq-fuse", "fuse-epilogue"},
	// requant-fixed rewrites the QLinearConv and QLinearMatMul that
	// qdq-fuse makes.
	{"qdq-fuse", "requant-fixed"},
}

// pipelines are the named pipelines, as data.
var pipelines = map[string][]string{
	// default is what 'effc ir' and the compiler run unless told otherwise.
	"default": {"shape-infer", "identity-elim", "qdq-fuse", "const-fold", "dce", "cse", "bn-fold", "fuse-epilogue", "dce", "shape-infer"},
	// prune cleans the graph up and removes zero groups while keeping its
	// standard ONNX form (BatchNormalization nodes stay), for 'effc prune'
	// and as the first stage of 'effc compile --prune'.
	"prune": {"shape-infer", "identity-elim", "const-fold", "dce", "prune-otov2", "dce", "shape-infer"},
	// quant-prep cleans the graph up and folds BatchNormalization, keeping
	// its standard ONNX form, before calibration and quantization
	// ('effc quantize', effc.Quantize).
	"quant-prep": {"shape-infer", "identity-elim", "const-fold", "dce", "bn-fold", "dce", "shape-infer"},
	// O0 runs only what later stages require.
	"O0": {"shape-infer"},
}

// DefaultPipeline is the pipeline effc runs unless told otherwise.
const DefaultPipeline = "default"
