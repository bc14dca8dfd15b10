package interp

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/effc/effc/ir"
)

// castKernel is Cast: attribute `to` names the target dtype; `saturate`
// (default 1) applies to fp8 targets only.
func castKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 1, 1); err != nil {
		return nil, err
	}
	if !n.HasAttr("to") {
		return nil, fmt.Errorf("attribute to is missing")
	}
	to := n.AttrInt("to", 0)
	if to <= 0 || to > 255 || !ir.DType(to).Valid() {
		return nil, fmt.Errorf("attribute to is %d, want an ONNX TensorProto data type", to)
	}
	out, err := castTensor(in[0], ir.DType(to), n.AttrInt("saturate", 1) != 0)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// castLikeKernel is CastLike(input, target_type): casts to input 1's dtype.
func castLikeKernel(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	if err := checkInputs(in, 2, 2); err != nil {
		return nil, err
	}
	out, err := castTensor(in[0], in[1].DType, n.AttrInt("saturate", 1) != 0)
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// castTensor converts x to dtype to following ONNX Cast (numpy astype)
// semantics: floats truncate toward zero into integers, integers wrap,
// anything non-zero is true, strings parse and format as numbers.
func castTensor(x *ir.Tensor, to ir.DType, saturate bool) (*ir.Tensor, error) {
	from := x.DType
	if from == ir.Complex64 || from == ir.Complex128 || from == ir.Undefined {
		return nil, fmt.Errorf("input 0 has dtype %s, which Cast does not convert", from)
	}
	if to == ir.Complex64 || to == ir.Complex128 || to == ir.Undefined {
		return nil, fmt.Errorf("target dtype %s is not supported by Cast", to)
	}
	if from == to {
		return x.Clone(), nil
	}
	shape := x.Shape
	nElem := x.Len()
	if to == ir.String {
		return &ir.Tensor{DType: ir.String, Shape: append([]int64{}, shape...), Data: formatElems(x)}, nil
	}
	if from == ir.String {
		return parseElems(x.Data.([]string), to, shape, saturate)
	}
	src := viewOf(x)
	switch classOf(to) {
	case classFloat:
		f := make([]float64, nElem)
		for k := range f {
			f[k] = src.float64At(k)
		}
		return floatsToDType(to, shape, f, saturate), nil
	case classBool:
		out := make([]bool, nElem)
		for k := range out {
			switch src.class {
			case classFloat:
				out[k] = src.f[k] != 0
			case classUnsigned:
				out[k] = src.u[k] != 0
			default:
				out[k] = src.i[k] != 0
			}
		}
		return &ir.Tensor{DType: ir.Bool, Shape: append([]int64{}, shape...), Data: out}, nil
	case classSigned:
		out := make([]int64, nElem)
		for k := range out {
			switch src.class {
			case classFloat:
				out[k] = floatToInt64(src.f[k])
				if to == ir.Int32 && (out[k] < math.MinInt32 || out[k] > math.MaxInt32) {
					// x86's 32-bit conversion, which numpy uses, gives
					// the "integer indefinite" value for NaN and overflow.
					out[k] = math.MinInt32
				}
			case classUnsigned:
				out[k] = int64(src.u[k])
			default:
				out[k] = src.i[k]
			}
		}
		return fromSigned(to, shape, out), nil
	case classUnsigned:
		out := make([]uint64, nElem)
		for k := range out {
			switch src.class {
			case classFloat:
				out[k] = floatToUint64(src.f[k])
			case classUnsigned:
				out[k] = src.u[k]
			default:
				out[k] = uint64(src.i[k])
			}
		}
		return fromUnsigned(to, shape, out), nil
	}
	return nil, fmt.Errorf("cannot cast %s to %s", from, to)
}

// floatToInt64 truncates toward zero; NaN and out-of-range values give
// math.MinInt64, as the x86 conversion numpy relies on does.
func floatToInt64(f float64) int64 {
	if f != f || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

// floatToUint64 truncates toward zero; negative values wrap through int64.
func floatToUint64(f float64) uint64 {
	if f >= 1<<63 && f < 1<<64 {
		return uint64(f)
	}
	return uint64(floatToInt64(f))
}

// roundToOdd32 rounds x to float32 toward zero and sets the lowest mantissa
// bit when inexact, so a later rounding to a narrower format (f16, bf16,
// fp8) gives the same result as rounding x directly.
func roundToOdd32(x float64) float32 {
	f := float32(x)
	if float64(f) == x || math.IsInf(float64(f), 0) || x != x {
		return f
	}
	if math.Abs(float64(f)) > math.Abs(x) {
		f = math.Nextafter32(f, 0)
	}
	return math.Float32frombits(math.Float32bits(f) | 1)
}

// floatsToDType encodes float64 values as floating dtype to, rounding once.
func floatsToDType(to ir.DType, shape []int64, f []float64, saturate bool) *ir.Tensor {
	t := &ir.Tensor{DType: to, Shape: append([]int64{}, shape...)}
	switch {
	case to == ir.Float16:
		d := make([]uint16, len(f))
		for k, v := range f {
			d[k] = ir.Float32ToFloat16(roundToOdd32(v))
		}
		t.Data = d
	case to == ir.BFloat16:
		d := make([]uint16, len(f))
		for k, v := range f {
			d[k] = ir.Float32ToBFloat16(roundToOdd32(v))
		}
		t.Data = d
	case to.IsFP8():
		d := make([]uint8, len(f))
		for k, v := range f {
			d[k] = ir.Float32ToFP8(to, roundToOdd32(v), saturate)
		}
		t.Data = d
	default:
		return fromFloat64(to, shape, f)
	}
	return t
}

// formatElems renders every element as numpy's str() does: shortest
// round-trip digits for floats ("0.9767611", "1e-05", "nan", "inf").
func formatElems(x *ir.Tensor) []string {
	n := x.Len()
	out := make([]string, n)
	if s, ok := x.Data.([]string); ok {
		copy(out, s)
		return out
	}
	if b, ok := x.Data.([]bool); ok {
		for k, v := range b {
			out[k] = "False"
			if v {
				out[k] = "True"
			}
		}
		return out
	}
	v := viewOf(x)
	for k := range out {
		switch v.class {
		case classFloat:
			out[k] = formatFloatNumpy(v.f[k], x.DType)
		case classUnsigned:
			out[k] = strconv.FormatUint(v.u[k], 10)
		default:
			out[k] = strconv.FormatInt(v.i[k], 10)
		}
	}
	return out
}

// formatFloatNumpy formats f, a value of floating dtype dt, like numpy's
// repr: the shortest digits that round-trip through dt (float16 0.1 prints
// "0.1", not its float32 expansion), positional between 1e-4 and 1e16,
// scientific otherwise.
func formatFloatNumpy(f float64, dt ir.DType) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	bits := 64
	switch dt {
	case ir.Float64:
	case ir.Float32:
		bits = 32
	default:
		// Narrow formats: find the fewest significant digits whose value
		// encodes back to the same bits, then print that decimal.
		enc := floatsToDType(dt, nil, []float64{f}, true)
		for p := 1; p <= 17; p++ {
			d, err := strconv.ParseFloat(strconv.FormatFloat(f, 'e', p-1, 64), 64)
			if err != nil {
				break
			}
			if reflect.DeepEqual(floatsToDType(dt, nil, []float64{d}, true).Data, enc.Data) {
				f = d
				break
			}
		}
	}
	a := math.Abs(f)
	if a == 0 || (a >= 1e-4 && a < 1e16) {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	return strconv.FormatFloat(f, 'e', -1, bits)
}

// parseElems converts strings to dtype to: numbers parse as floats (or
// exactly as integers for integer targets); "NaN", "INF", "-INF" are
// accepted in any case.
func parseElems(s []string, to ir.DType, shape []int64, saturate bool) (*ir.Tensor, error) {
	parseF := func(k int) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s[k]), 64)
		if err != nil && !isRangeErr(err) {
			return 0, fmt.Errorf("element %d: cannot parse %q as a number", k, s[k])
		}
		return v, nil
	}
	switch classOf(to) {
	case classFloat:
		f := make([]float64, len(s))
		for k := range s {
			v, err := parseF(k)
			if err != nil {
				return nil, err
			}
			if to == ir.Float32 {
				// Parse directly at float32 precision for correct rounding.
				v32, err32 := strconv.ParseFloat(strings.TrimSpace(s[k]), 32)
				if err32 == nil || isRangeErr(err32) {
					v = v32
				}
			}
			f[k] = v
		}
		return floatsToDType(to, shape, f, saturate), nil
	case classBool:
		out := make([]bool, len(s))
		for k := range s {
			if b, err := strconv.ParseBool(strings.TrimSpace(s[k])); err == nil {
				out[k] = b
				continue
			}
			v, err := parseF(k)
			if err != nil {
				return nil, err
			}
			out[k] = v != 0
		}
		return &ir.Tensor{DType: ir.Bool, Shape: append([]int64{}, shape...), Data: out}, nil
	case classSigned:
		out := make([]int64, len(s))
		for k := range s {
			if v, err := strconv.ParseInt(strings.TrimSpace(s[k]), 10, 64); err == nil {
				out[k] = v
				continue
			}
			v, err := parseF(k)
			if err != nil {
				return nil, err
			}
			out[k] = floatToInt64(v)
		}
		return fromSigned(to, shape, out), nil
	case classUnsigned:
		out := make([]uint64, len(s))
		for k := range s {
			if v, err := strconv.ParseUint(strings.TrimSpace(s[k]), 10, 64); err == nil {
				out[k] = v
				continue
			}
			v, err := parseF(k)
			if err != nil {
				return nil, err
			}
			out[k] = floatToUint64(v)
		}
		return fromUnsigned(to, shape, out), nil
	}
	return nil, fmt.Errorf("cannot cast str to %s", to)
}

// isRangeErr reports whether a strconv error is only an out-of-range
// value (the parsed result is then ±Inf or 0, as numpy gives).
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
