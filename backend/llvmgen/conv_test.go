package llvmgen_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

// gmConv builds Conv(x, w, b?) with attrs (effir attribute text without
// braces); constW makes the weight (and bias) constants.
func gmConv(rng *rand.Rand, xs, ws []int64, attrs string, bias, constW bool) gmCase {
	return gmConvOp(rng, "Conv", xs, ws, attrs, bias, constW)
}

// gmConvOp is gmConv for Conv or ConvTranspose (whose bias has W's dim 1
// times group entries, given as the bias length in ws for simplicity).
func gmConvOp(rng *rand.Rand, op string, xs, ws []int64, attrs string, bias, constW bool) gmCase {
	x, w := gmRand(rng, xs), gmRand(rng, ws)
	in := map[string]*ir.Tensor{"x": x}
	var sb strings.Builder
	fmt.Fprintf(&sb, "effir 1\ngraph \"g\" opset{ai.onnx=18} {\n  input %%x : %s\n", gmType("f32", xs))
	decl := func(name string, t *ir.Tensor) {
		if constW {
			fmt.Fprintf(&sb, "  const %%%s : %s = %s\n", name, gmType("f32", t.Shape), gmLit(t))
		} else {
			fmt.Fprintf(&sb, "  input %%%s : %s\n", name, gmType("f32", t.Shape))
			in[name] = t
		}
	}
	decl("w", w)
	args := "%x, %w"
	if bias {
		nb := ws[0]
		if op == "ConvTranspose" {
			nb = ws[1] * groupOf(attrs)
		}
		decl("b", gmRand(rng, []int64{nb}))
		args += ", %b"
	}
	if attrs != "" {
		attrs = " {" + attrs + "}"
	}
	fmt.Fprintf(&sb, "  %%y = %s(%s)%s  @conv\n  output %%y\n}\n", op, args, attrs)
	return gmCase{name: fmt.Sprintf(op+"_x%v_w%v_%s_b%v_c%v", xs, ws, strings.NewReplacer(" ", "", ",", "_", "=", "").Replace(attrs), bias, constW), src: sb.String(), inputs: in}
}

func TestConvCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cases := []gmCase{
		// GEMM path: 3x3 pad 1, strides, dilation, asymmetric pads, groups, remainders
		gmConv(rng, []int64{1, 5, 9, 11}, []int64{13, 5, 3, 3}, "pads=[1, 1, 1, 1]", true, true),
		gmConv(rng, []int64{2, 4, 10, 7}, []int64{7, 4, 3, 2}, "strides=[2, 1], pads=[0, 1, 2, 0]", false, true),
		gmConv(rng, []int64{1, 6, 12, 12}, []int64{9, 2, 3, 3}, "group=3, dilations=[2, 2], auto_pad=\"SAME_UPPER\"", true, true),
		gmConv(rng, []int64{1, 3, 23, 23}, []int64{8, 3, 7, 7}, "strides=[2, 2], pads=[3, 3, 3, 3]", true, true),
		gmConv(rng, []int64{1, 8, 5, 5}, []int64{20, 8, 3, 3}, "auto_pad=\"VALID\"", true, true),
		// pointwise (direct GEMM on the input planes) and strided 1x1
		gmConv(rng, []int64{2, 16, 7, 9}, []int64{19, 16, 1, 1}, "", true, true),
		gmConv(rng, []int64{1, 16, 7, 9}, []int64{8, 16, 1, 1}, "strides=[2, 2]", false, true),
		// depthwise, with multiplier, stride 2
		gmConv(rng, []int64{1, 12, 11, 13}, []int64{12, 1, 3, 3}, "group=12, pads=[1, 1, 1, 1]", true, true),
		gmConv(rng, []int64{2, 4, 9, 9}, []int64{8, 1, 3, 3}, "group=4, strides=[2, 2], pads=[1, 0, 1, 2]", true, true),
		gmConv(rng, []int64{1, 5, 8, 8}, []int64{5, 1, 5, 5}, "group=5, dilations=[2, 1], auto_pad=\"SAME_LOWER\"", false, false),
		// depthwise vector strips (stride 1 and 2), a 5x5 kernel, and a
		// stride-3 row wide enough for the per-tap row kernel
		gmConv(rng, []int64{1, 3, 6, 80}, []int64{3, 1, 3, 3}, "group=3, pads=[1, 1, 1, 1]", true, true),
		gmConv(rng, []int64{1, 4, 9, 75}, []int64{4, 1, 3, 3}, "group=4, strides=[2, 2], pads=[1, 1, 1, 1]", true, true),
		gmConv(rng, []int64{1, 2, 9, 41}, []int64{2, 1, 5, 5}, "group=2, pads=[2, 2, 2, 2]", false, true),
		gmConv(rng, []int64{1, 2, 7, 100}, []int64{2, 1, 3, 3}, "group=2, strides=[3, 3]", true, true),
		// 1-D, 3-D and runtime weights: scalar or 2-D mapped paths
		gmConv(rng, []int64{2, 3, 17}, []int64{5, 3, 4}, "strides=[3], pads=[2, 1]", true, true),
		gmConv(rng, []int64{1, 2, 5, 6, 4}, []int64{3, 2, 2, 3, 2}, "pads=[1, 0, 1, 0, 1, 1]", true, true),
		gmConv(rng, []int64{1, 4, 6, 6}, []int64{6, 2, 3, 3}, "group=2", true, false),
		// a K dimension longer than one K block
		gmConv(rng, []int64{1, 64, 6, 6}, []int64{10, 64, 3, 3}, "pads=[1, 1, 1, 1]", true, true),
	}
	gmRun(t, cases, 1e-4)
}

// groupOf reads group=N from effir attribute text (1 when absent).
func groupOf(attrs string) int64 {
	g := int64(1)
	if i := strings.Index(attrs, "group="); i >= 0 {
		fmt.Sscanf(attrs[i+len("group="):], "%d", &g)
	}
	return g
}

func TestConvTransposeCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	cases := []gmCase{
		gmConvOp(rng, "ConvTranspose", []int64{1, 3, 5, 4}, []int64{3, 2, 3, 3}, "", true, true),
		gmConvOp(rng, "ConvTranspose", []int64{2, 4, 3, 5}, []int64{4, 3, 3, 2}, "group=2, strides=[2, 3], pads=[1, 0, 0, 1], output_padding=[1, 2]", true, true),
		gmConvOp(rng, "ConvTranspose", []int64{1, 2, 4, 4}, []int64{2, 2, 2, 2}, "dilations=[2, 2], auto_pad=\"SAME_UPPER\", strides=[2, 2]", false, false),
		gmConvOp(rng, "ConvTranspose", []int64{1, 3, 6}, []int64{3, 2, 4}, "strides=[2], output_shape=[13]", true, true),
	}
	gmRun(t, cases, 1e-4)
}
