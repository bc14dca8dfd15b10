package ir

// The op table: one row per supported operator, in canonical (ai.onnx
// opset 18) form. Row syntax is documented on op in ops.go:
//
//	op(name, "inputs -> outputs", "type constraints", "attributes", shape function)
//
// Schemas follow onnx/defs (docs/Operators.md). Where a later opset added
// an attribute with a backward-compatible default (Cast saturate,
// AveragePool dilations, GroupNormalization stash_type) it is listed too,
// so models exported for newer opsets verify.

// Attribute lists shared by several rows.
const (
	convAttrs = "auto_pad:string=NOTSET dilations:ints group:int=1 kernel_shape:ints pads:ints strides:ints"
	poolAttrs = "auto_pad:string=NOTSET ceil_mode:int=0 dilations:ints kernel_shape:ints! pads:ints strides:ints"
	rnnAttrs  = "activation_alpha:floats activation_beta:floats activations:strings clip:float " +
		"direction:string=forward hidden_size:int layout:int=0"
	reduceAttrs = "keepdims:int=1 noop_with_empty_axes:int=0"
	argAttrs    = "axis:int=0 keepdims:int=1 select_last_index:int=0"
)

// Type constraint strings shared by several rows.
const (
	tFloat   = "T:float"
	tNum     = "T:num"
	tAny     = "T:any"
	tSigned  = "T:snum"
	tMatMul  = "T:float|i32|i64|u32|u64"
	tCompare = "T:num|bool|str; T1:bool"
)

func init() {
	// Convolution and pooling.
	op("Conv", "X:T W:T B?:T -> Y:T", tFloat, convAttrs, inferConv)
	// effc.FusedConv is Conv followed by Add(R) (R optional, same shape as Y)
	// and an activation, made by the fuse-epilogue pass so the result is
	// written once: activation is "" (none), "Relu", "LeakyRelu" (alpha) or
	// "Clip" (min, max).
	op("effc.FusedConv", "X:T W:T B?:T R?:T -> Y:T", "T:f32", convAttrs+" activation:string= alpha:float=0.01 min:float max:float", inferConv)
	op("ConvTranspose", "X:T W:T B?:T -> Y:T", tFloat, convAttrs+" output_padding:ints output_shape:ints", inferConvTranspose)
	op("MaxPool", "X:T -> Y:T Indices?:i64", "T:float|i8|u8", poolAttrs+" storage_order:int=0", inferPool)
	op("AveragePool", "X:T -> Y:T", tFloat, poolAttrs+" count_include_pad:int=0", inferPool)
	op("LpPool", "X:T -> Y:T", tFloat, poolAttrs+" p:int=2", inferPool)
	op("GlobalAveragePool", "X:T -> Y:T", tFloat, "", inferGlobalPool)
	op("GlobalMaxPool", "X:T -> Y:T", tFloat, "", inferGlobalPool)
	op("GlobalLpPool", "X:T -> Y:T", tFloat, "p:int=2", inferGlobalPool)
	op("MaxUnpool", "X:T1 I:i64 output_shape?:i64 -> output:T1", "T1:float", "kernel_shape:ints! pads:ints strides:ints", inferMaxUnpool)
	op("Col2Im", "input:T image_shape:i64 block_shape:i64 -> output:T", tAny, "dilations:ints pads:ints strides:ints", inferCol2Im)

	// Normalization.
	op("BatchNormalization", "X:T scale:T1 B:T1 input_mean:T2 input_var:T2 -> Y:T running_mean?:T2 running_var?:T2",
		"T:float; T1:float; T2:float", "epsilon:float=1e-05 momentum:float=0.9 training_mode:int=0", inferBatchNorm)
	op("LayerNormalization", "X:T Scale:T B?:T -> Y:T Mean?:U InvStdDev?:U", "T:float; U:f32|bf16",
		"axis:int=-1 epsilon:float=1e-05 stash_type:int=1", inferLayerNorm)
	op("InstanceNormalization", "input:T scale:T B:T -> output:T", tFloat, "epsilon:float=1e-05", inferSameAs0)
	op("GroupNormalization", "X:T scale:T bias:T -> Y:T", tFloat, "epsilon:float=1e-05 num_groups:int! stash_type:int=1", inferSameAs0)
	op("LRN", "X:T -> Y:T", tFloat, "alpha:float=0.0001 beta:float=0.75 bias:float=1 size:int!", inferSameAs0)
	op("MeanVarianceNormalization", "X:T -> Y:T", tFloat, "axes:ints=0,2,3", inferSameAs0)

	// Matrix products.
	op("Gemm", "A:T B:T C?:T -> Y:T", tMatMul, "alpha:float=1 beta:float=1 transA:int=0 transB:int=0", inferGemm)
	op("MatMul", "A:T B:T -> Y:T", tMatMul, "", inferMatMul)
	op("Einsum", "Inputs:T... -> Output:T", tNum, "equation:string!", inferEinsum)
	op("Det", "X:T -> Y:T", tFloat, "", inferDet)

	// Elementwise unary, float.
	for _, name := range []string{"Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Tanh",
		"Sigmoid", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
		"HardSwish", "Softplus", "Softsign", "Mish"} {
		op(name, "X:T -> Y:T", tFloat, "", inferSameAs0)
	}
	op("Abs", "X:T -> Y:T", tNum, "", inferSameAs0)
	op("Erf", "input:T -> output:T", tNum, "", inferSameAs0)
	op("Neg", "X:T -> Y:T", tSigned, "", inferSameAs0)
	op("Sign", "X:T -> Y:T", tNum, "", inferSameAs0)
	op("Relu", "X:T -> Y:T", "T:float|sint", "", inferSameAs0)
	op("LeakyRelu", "X:T -> Y:T", tFloat, "alpha:float=0.01", inferSameAs0)
	op("Elu", "X:T -> Y:T", tFloat, "alpha:float=1", inferSameAs0)
	op("Selu", "X:T -> Y:T", tFloat, "alpha:float=1.6732632 gamma:float=1.050701", inferSameAs0)
	op("Celu", "X:T -> Y:T", tFloat, "alpha:float=1", inferSameAs0)
	op("HardSigmoid", "X:T -> Y:T", tFloat, "alpha:float=0.2 beta:float=0.5", inferSameAs0)
	op("ThresholdedRelu", "X:T -> Y:T", tFloat, "alpha:float=1", inferSameAs0)
	op("Gelu", "X:T -> Y:T", tFloat, "approximate:string=none", inferSameAs0)
	op("Shrink", "input:T -> output:T", tNum, "bias:float=0 lambd:float=0.5", inferSameAs0)
	op("PRelu", "X:T slope:T -> Y:T", "T:float|i32|i64|u32|u64", "", inferBroadcast)
	op("Clip", "input:T min?:T max?:T -> output:T", tNum, "", inferSameAs0)
	op("Not", "X:T -> Y:T", "T:bool", "", inferSameAs0)
	op("BitwiseNot", "X:T -> Y:T", "T:int", "", inferSameAs0)
	op("IsNaN", "X:T1 -> Y:T2", "T1:float|fp8; T2:bool", "", inferBool)
	op("IsInf", "X:T1 -> Y:T2", "T1:float|fp8; T2:bool", "detect_negative:int=1 detect_positive:int=1", inferBool)

	// Elementwise binary and variadic, with multidirectional broadcasting.
	for _, name := range []string{"Add", "Sub", "Mul", "Div"} {
		op(name, "A:T B:T -> C:T", tNum, "", inferBroadcast)
	}
	op("Pow", "X:T Y:T1 -> Z:T", "T:float|i32|i64; T1:num", "", inferBroadcast)
	op("Mod", "A:T B:T -> C:T", tNum, "fmod:int=0", inferBroadcast)
	op("BitShift", "X:T Y:T -> Z:T", "T:uint", "direction:string!", inferBroadcast)
	for _, name := range []string{"BitwiseAnd", "BitwiseOr", "BitwiseXor"} {
		op(name, "A:T B:T -> C:T", "T:int", "", inferBroadcast)
	}
	for _, name := range []string{"And", "Or", "Xor"} {
		op(name, "A:T B:T -> C:T1", "T:bool; T1:bool", "", inferCompare)
	}
	op("Equal", "A:T B:T -> C:T1", tCompare, "", inferCompare)
	for _, name := range []string{"Less", "Greater", "LessOrEqual", "GreaterOrEqual"} {
		op(name, "A:T B:T -> C:T1", "T:num; T1:bool", "", inferCompare)
	}
	for _, name := range []string{"Min", "Max", "Sum", "Mean"} {
		t := tNum
		if name == "Mean" || name == "Sum" {
			t = tFloat
		}
		op(name, "data_0:T... -> out:T", t, "", inferBroadcast)
	}
	op("Where", "condition:B X:T Y:T -> output:T", "B:bool; T:any", "", inferWhere)

	// Softmax family.
	for _, name := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		op(name, "input:T -> output:T", tFloat, "axis:int=-1", inferSoftmax)
	}

	// Shape manipulation.
	op("Reshape", "data:T shape:i64 -> reshaped:T", tAny, "allowzero:int=0", inferReshape)
	op("Flatten", "input:T -> output:T", tAny, "axis:int=1", inferFlatten)
	op("Squeeze", "data:T axes?:i64 -> squeezed:T", tAny, "", inferSqueeze)
	op("Unsqueeze", "data:T axes:i64 -> expanded:T", tAny, "", inferUnsqueeze)
	op("Transpose", "data:T -> transposed:T", tAny, "perm:ints", inferTranspose)
	op("Concat", "inputs:T... -> concat_result:T", tAny, "axis:int!", inferConcat)
	op("Split", "input:T split?:i64 -> outputs:T...", tAny, "axis:int=0 num_outputs:int", inferSplit)
	op("Slice", "data:T starts:Tind ends:Tind axes?:Tind steps?:Tind -> output:T", "T:any; Tind:i32|i64", "", inferSlice)
	op("Expand", "input:T shape:i64 -> output:T", tAny, "", inferExpand)
	op("Tile", "input:T repeats:i64 -> output:T", tAny, "", inferTile)
	op("Pad", "data:T pads:i64 constant_value?:T axes?:Tind -> output:T", "T:any; Tind:i32|i64", "mode:string=constant", inferPad)
	op("DepthToSpace", "input:T -> output:T", tAny, "blocksize:int! mode:string=DCR", inferDepthToSpace)
	op("SpaceToDepth", "input:T -> output:T", tAny, "blocksize:int!", inferSpaceToDepth)
	op("Trilu", "input:T k?:i64 -> output:T", tAny, "upper:int=1", inferSameAs0)
	op("ReverseSequence", "input:T sequence_lens:i64 -> Y:T", tAny, "batch_axis:int=1 time_axis:int=0", inferSameAs0)
	op("Identity", "input:T -> output:T", tAny, "", inferSameAs0)
	op("Dropout", "data:T ratio?:T1 training_mode?:T2 -> output:T mask?:T2", "T:float|fp8; T1:float|fp8; T2:bool", "seed:int", inferDropout)

	// Indexing.
	op("Gather", "data:T indices:Tind -> output:T", "T:any; Tind:i32|i64", "axis:int=0", inferGather)
	op("GatherElements", "data:T indices:Tind -> output:T", "T:any; Tind:i32|i64", "axis:int=0", inferGatherElements)
	op("GatherND", "data:T indices:i64 -> output:T", tAny, "batch_dims:int=0", inferGatherND)
	op("ScatterElements", "data:T indices:Tind updates:T -> output:T", "T:any; Tind:i32|i64", "axis:int=0 reduction:string=none", inferSameAs0)
	op("ScatterND", "data:T indices:i64 updates:T -> output:T", tAny, "reduction:string=none", inferSameAs0)
	op("Compress", "input:T condition:T1 -> output:T", "T:any; T1:bool", "axis:int", inferCompress)
	op("NonZero", "X:T -> Y:i64", tAny, "", inferNonZero)
	op("Unique", "X:T -> Y:T indices?:i64 inverse_indices?:i64 counts?:i64", tAny, "axis:int sorted:int=1", inferUnique)
	op("OneHot", "indices:T1 depth:T2 values:T3 -> output:T3", "T1:num; T2:num; T3:any", "axis:int=-1", inferOneHot)
	op("TopK", "X:T K:i64 -> Values:T Indices:I", "T:num; I:i64", "axis:int=-1 largest:int=1 sorted:int=1", inferTopK)
	op("CumSum", "x:T axis:T2 -> y:T", "T:num; T2:i32|i64", "exclusive:int=0 reverse:int=0", inferSameAs0)

	// Shape-producing and constant-producing ops.
	op("Shape", "data:T -> shape:T1", "T:any; T1:i64", "end:int start:int=0", inferShape)
	op("Size", "data:T -> size:T1", "T:any; T1:i64", "", inferSize)
	op("ConstantOfShape", "input:T1 -> output:T2", "T1:i64; T2:num|bool", "value:tensor", inferConstantOfShape)
	op("Range", "start:T limit:T delta:T -> output:T", "T:f32|f64|i16|i32|i64", "", inferRange)
	op("EyeLike", "input:T1 -> output:T2", "T1:num|bool; T2:num|bool", "dtype:int k:int=0", inferEyeLike)
	op("Constant", " -> output:T", tAny,
		"value:tensor value_float:float value_floats:floats value_int:int value_ints:ints value_string:string value_strings:strings sparse_value:tensor",
		inferConstant)

	// Type conversion.
	op("Cast", "input:T1 -> output:T2", "T1:any; T2:any", "to:int! saturate:int=1", inferCast)
	op("CastLike", "input:T1 target_type:T2 -> output:T2", "T1:any; T2:any", "saturate:int=1", inferCastLike)

	// Reductions.
	for _, name := range []string{"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
		"ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		op(name, "data:T axes?:i64 -> reduced:T", tNum, reduceAttrs, inferReduce)
	}
	op("ArgMax", "data:T -> reduced:i64", tNum, argAttrs, inferArg)
	op("ArgMin", "data:T -> reduced:i64", tNum, argAttrs, inferArg)

	// Resampling and detection.
	op("Resize", "X:T1 roi?:T2 scales?:f32 sizes?:i64 -> Y:T1", "T1:any; T2:float",
		"antialias:int=0 axes:ints coordinate_transformation_mode:string=half_pixel cubic_coeff_a:float=-0.75 "+
			"exclude_outside:int=0 extrapolation_value:float=0 keep_aspect_ratio_policy:string=stretch "+
			"mode:string=nearest nearest_mode:string=round_prefer_floor", inferResize)
	op("GridSample", "X:T1 grid:T2 -> Y:T1", "T1:any; T2:float", "align_corners:int=0 mode:string=bilinear padding_mode:string=zeros", inferGridSample)
	op("RoiAlign", "X:T1 rois:T1 batch_indices:T2 -> Y:T1", "T1:float; T2:i64",
		"coordinate_transformation_mode:string=half_pixel mode:string=avg output_height:int=1 output_width:int=1 "+
			"sampling_ratio:int=0 spatial_scale:float=1", inferRoiAlign)
	op("NonMaxSuppression", "boxes:f32 scores:f32 max_output_boxes_per_class?:i64 iou_threshold?:f32 score_threshold?:f32 -> selected_indices:i64",
		"", "center_point_box:int=0", inferNMS)

	// Quantization.
	op("QuantizeLinear", "x:T1 y_scale:T1 y_zero_point?:T2 -> y:T2", "T1:float|i32; T2:i8|u8|i16|u16|fp8",
		"axis:int=1 block_size:int=0 saturate:int=1", inferQuantize)
	op("DequantizeLinear", "x:T x_scale:T2 x_zero_point?:T -> y:T2", "T:i8|u8|i16|u16|i32|fp8; T2:float",
		"axis:int=1 block_size:int=0", inferDequantize)
	op("DynamicQuantizeLinear", "x:T1 -> y:T2 y_scale:f32 y_zero_point:T2", "T1:f32; T2:u8", "", inferDynamicQuantize)
	op("QLinearConv", "x:T1 x_scale:f32 x_zero_point:T1 w:T2 w_scale:f32 w_zero_point:T2 y_scale:f32 y_zero_point:T3 B?:T4 -> y:T3",
		"T1:i8|u8; T2:i8|u8; T3:i8|u8; T4:i32", convAttrs, inferQLinearConv)
	op("QLinearMatMul", "a:T1 a_scale:TS a_zero_point:T1 b:T2 b_scale:TS b_zero_point:T2 y_scale:TS y_zero_point:T3 -> y:T3",
		"T1:i8|u8|fp8; T2:i8|u8|fp8; T3:i8|u8|fp8; TS:float", "", inferQLinearMatMul)
	op("MatMulInteger", "A:T1 B:T2 a_zero_point?:T1 b_zero_point?:T2 -> Y:T3", "T1:i8|u8; T2:i8|u8; T3:i32", "", inferMatMulInteger)
	op("ConvInteger", "x:T1 w:T2 x_zero_point?:T1 w_zero_point?:T2 -> y:T3", "T1:i8|u8; T2:i8|u8; T3:i32", convAttrs, inferConvInteger)

	// Signal processing.
	for _, name := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		op(name, "size:T1 -> output:T2", "T1:i32|i64; T2:num", "output_datatype:int=1 periodic:int=1", inferWindow)
	}
	op("DFT", "input:T1 dft_length?:T2 -> output:T1", "T1:float; T2:i32|i64", "axis:int=1 inverse:int=0 onesided:int=0", inferDFT)
	op("STFT", "signal:T1 frame_step:T2 window?:T1 frame_length?:T2 -> output:T1", "T1:float; T2:i32|i64", "onesided:int=1", inferSTFT)
	op("MelWeightMatrix", "num_mel_bins:T1 dft_length:T1 sample_rate:T1 lower_edge_hertz:T2 upper_edge_hertz:T2 -> output:T3",
		"T1:i32|i64; T2:float; T3:num", "output_datatype:int=1", inferMelWeightMatrix)

	// Loss functions (inference-evaluable: no state, no gradients).
	op("NegativeLogLikelihoodLoss", "input:T target:Tind weight?:T -> loss:T", "T:float; Tind:i32|i64",
		"ignore_index:int reduction:string=mean", inferNLLLoss)
	op("SoftmaxCrossEntropyLoss", "scores:T labels:Tind weights?:T -> output:T log_prob?:T", "T:float; Tind:i32|i64",
		"ignore_index:int reduction:string=mean", inferSCELoss)

	// Recurrent networks.
	op("LSTM", "X:T W:T R:T B?:T sequence_lens?:T1 initial_h?:T initial_c?:T P?:T -> Y?:T Y_h?:T Y_c?:T",
		"T:float; T1:i32", rnnAttrs+" input_forget:int=0", inferRNN)
	op("GRU", "X:T W:T R:T B?:T sequence_lens?:T1 initial_h?:T -> Y?:T Y_h?:T",
		"T:float; T1:i32", rnnAttrs+" linear_before_reset:int=0", inferRNN)
	op("RNN", "X:T W:T R:T B?:T sequence_lens?:T1 initial_h?:T -> Y?:T Y_h?:T",
		"T:float; T1:i32", rnnAttrs, inferRNN)
}
