package ir

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
)

// MaxElements bounds the element count of any tensor effc will allocate
// (2^31). Decoders and shape functions refuse larger tensors before
// allocating, so a hostile model cannot exhaust memory.
const MaxElements = 1 << 31

// Tensor is a dense constant: an initializer, a Constant's value, or an
// interpreter buffer. Data holds a typed slice whose Go type follows DType:
//
//	Float32 []float32   Float64 []float64   Int8 []int8     Uint8 []uint8
//	Int16  []int16      Uint16 []uint16     Int32 []int32   Uint32 []uint32
//	Int64  []int64      Uint64 []uint64     Bool []bool     String []string
//	Float16, BFloat16: []uint16 (raw bits)  FP8 types: []uint8 (raw bits)
//	Complex64 []complex64                   Complex128 []complex128
//
// Row-major, len(Data) == product(Shape).
type Tensor struct {
	DType DType
	Shape []int64
	Data  any
}

// NumElements returns the product of dims (1 for a scalar).
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// CheckedNumElements is NumElements that refuses negative dims and totals
// above MaxElements, without overflowing on the way.
func CheckedNumElements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("shape %v has more than 2^31 elements; effc refuses tensors this large", shape)
		}
		n *= d
	}
	return n, nil
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return int(NumElements(t.Shape)) }

// NewTensor allocates a zero tensor of the given type and shape.
func NewTensor(dt DType, shape []int64) *Tensor {
	n := int(NumElements(shape))
	return &Tensor{DType: dt, Shape: append([]int64{}, shape...), Data: MakeSlice(dt, n)}
}

// MakeSlice allocates the Go slice that holds n elements of dt.
func MakeSlice(dt DType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Int8:
		return make([]int8, n)
	case Uint8, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ:
		return make([]uint8, n)
	case Int16:
		return make([]int16, n)
	case Uint16, Float16, BFloat16:
		return make([]uint16, n)
	case Int32:
		return make([]int32, n)
	case Uint32:
		return make([]uint32, n)
	case Int64:
		return make([]int64, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	case Complex64:
		return make([]complex64, n)
	case Complex128:
		return make([]complex128, n)
	}
	panic("ir: MakeSlice of " + dt.String())
}

// Scalar returns a rank-0 tensor holding v, whose Go type picks the dtype.
func Scalar(v any) *Tensor {
	switch x := v.(type) {
	case float32:
		return &Tensor{DType: Float32, Shape: []int64{}, Data: []float32{x}}
	case float64:
		return &Tensor{DType: Float64, Shape: []int64{}, Data: []float64{x}}
	case int64:
		return &Tensor{DType: Int64, Shape: []int64{}, Data: []int64{x}}
	case int32:
		return &Tensor{DType: Int32, Shape: []int64{}, Data: []int32{x}}
	case bool:
		return &Tensor{DType: Bool, Shape: []int64{}, Data: []bool{x}}
	}
	panic(fmt.Sprintf("ir: Scalar of %T", v))
}

// FromFloat32 wraps data as a Float32 tensor of the given shape.
func FromFloat32(shape []int64, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, Data: data}
}

// FromInt64 wraps data as an Int64 tensor of the given shape.
func FromInt64(shape []int64, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape, Data: data}
}

// Float64At returns element i converted to float64 (fp16/bf16/fp8 decoded,
// bools as 0/1). Strings and complex values panic.
func (t *Tensor) Float64At(i int) float64 {
	switch d := t.Data.(type) {
	case []float32:
		return float64(d[i])
	case []float64:
		return d[i]
	case []int8:
		return float64(d[i])
	case []uint8:
		if t.DType.IsFP8() {
			return float64(FP8ToFloat32(t.DType, d[i]))
		}
		return float64(d[i])
	case []int16:
		return float64(d[i])
	case []uint16:
		switch t.DType {
		case Float16:
			return float64(Float16ToFloat32(d[i]))
		case BFloat16:
			return float64(BFloat16ToFloat32(d[i]))
		}
		return float64(d[i])
	case []int32:
		return float64(d[i])
	case []uint32:
		return float64(d[i])
	case []int64:
		return float64(d[i])
	case []uint64:
		return float64(d[i])
	case []bool:
		if d[i] {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("ir: Float64At on %s tensor", t.DType))
}

// Int64At returns element i as int64 (floats truncate toward zero).
func (t *Tensor) Int64At(i int) int64 {
	switch d := t.Data.(type) {
	case []int64:
		return d[i]
	case []int32:
		return int64(d[i])
	case []uint64:
		return int64(d[i])
	}
	return int64(t.Float64At(i))
}

// Int64s returns all elements as int64 (shape values, axes, indices).
func (t *Tensor) Int64s() []int64 {
	out := make([]int64, t.Len())
	for i := range out {
		out[i] = t.Int64At(i)
	}
	return out
}

// Float64s returns all elements converted to float64.
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Len())
	for i := range out {
		out[i] = t.Float64At(i)
	}
	return out
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int64{}, t.Shape...)}
	switch d := t.Data.(type) {
	case []float32:
		c.Data = append([]float32{}, d...)
	case []float64:
		c.Data = append([]float64{}, d...)
	case []int8:
		c.Data = append([]int8{}, d...)
	case []uint8:
		c.Data = append([]uint8{}, d...)
	case []int16:
		c.Data = append([]int16{}, d...)
	case []uint16:
		c.Data = append([]uint16{}, d...)
	case []int32:
		c.Data = append([]int32{}, d...)
	case []uint32:
		c.Data = append([]uint32{}, d...)
	case []int64:
		c.Data = append([]int64{}, d...)
	case []uint64:
		c.Data = append([]uint64{}, d...)
	case []bool:
		c.Data = append([]bool{}, d...)
	case []string:
		c.Data = append([]string{}, d...)
	case []complex64:
		c.Data = append([]complex64{}, d...)
	case []complex128:
		c.Data = append([]complex128{}, d...)
	default:
		panic(fmt.Sprintf("ir: Clone of %T", t.Data))
	}
	return c
}

// Bytes returns the little-endian raw encoding of the data, as ONNX raw_data
// stores it (bools one byte each). Strings are not representable and panic.
func (t *Tensor) Bytes() []byte {
	n := t.Len()
	sz := t.DType.Size()
	out := make([]byte, n*sz)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range d {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
	case []int8:
		for i, v := range d {
			out[i] = byte(v)
		}
	case []uint8:
		copy(out, d)
	case []int16:
		for i, v := range d {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
	case []uint16:
		for i, v := range d {
			binary.LittleEndian.PutUint16(out[2*i:], v)
		}
	case []int32:
		for i, v := range d {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
	case []uint32:
		for i, v := range d {
			binary.LittleEndian.PutUint32(out[4*i:], v)
		}
	case []int64:
		for i, v := range d {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
	case []uint64:
		for i, v := range d {
			binary.LittleEndian.PutUint64(out[8*i:], v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	case []complex64:
		for i, v := range d {
			binary.LittleEndian.PutUint32(out[8*i:], math.Float32bits(real(v)))
			binary.LittleEndian.PutUint32(out[8*i+4:], math.Float32bits(imag(v)))
		}
	case []complex128:
		for i, v := range d {
			binary.LittleEndian.PutUint64(out[16*i:], math.Float64bits(real(v)))
			binary.LittleEndian.PutUint64(out[16*i+8:], math.Float64bits(imag(v)))
		}
	default:
		panic(fmt.Sprintf("ir: Bytes of %s tensor", t.DType))
	}
	return out
}

// TensorFromBytes decodes little-endian raw data (ONNX raw_data layout).
func TensorFromBytes(dt DType, shape []int64, raw []byte) (*Tensor, error) {
	n, err := CheckedNumElements(shape)
	if err != nil {
		return nil, err
	}
	sz := dt.Size()
	if sz == 0 {
		return nil, fmt.Errorf("dtype %s has no raw encoding", dt)
	}
	if int64(len(raw)) != n*int64(sz) {
		return nil, fmt.Errorf("raw data is %d bytes, want %d for %s%v", len(raw), n*int64(sz), dt, shape)
	}
	t := NewTensor(dt, shape)
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case []int8:
		for i := range d {
			d[i] = int8(raw[i])
		}
	case []uint8:
		copy(d, raw)
	case []int16:
		for i := range d {
			d[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case []uint16:
		for i := range d {
			d[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
	case []int32:
		for i := range d {
			d[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case []uint32:
		for i := range d {
			d[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
	case []int64:
		for i := range d {
			d[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case []uint64:
		for i := range d {
			d[i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
	case []bool:
		for i := range d {
			d[i] = raw[i] != 0
		}
	case []complex64:
		for i := range d {
			d[i] = complex(math.Float32frombits(binary.LittleEndian.Uint32(raw[8*i:])),
				math.Float32frombits(binary.LittleEndian.Uint32(raw[8*i+4:])))
		}
	case []complex128:
		for i := range d {
			d[i] = complex(math.Float64frombits(binary.LittleEndian.Uint64(raw[16*i:])),
				math.Float64frombits(binary.LittleEndian.Uint64(raw[16*i+8:])))
		}
	}
	return t, nil
}

// Hash returns a short content hash ("sha256:" + 16 hex digits) of dtype,
// shape and data; the text form prints it for elided weights.
func (t *Tensor) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s%v", t.DType, t.Shape)
	if s, ok := t.Data.([]string); ok {
		for _, v := range s {
			fmt.Fprintf(h, "%d:%s", len(v), v)
		}
	} else {
		h.Write(t.Bytes())
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:8])
}

// ByteSize is the storage size of the data in bytes.
func (t *Tensor) ByteSize() int64 { return NumElements(t.Shape) * int64(t.DType.Size()) }

// DataLen is len(t.Data), or -1 when Data is not an element slice (for
// example elided weights parsed from the text form, which cannot execute).
func (t *Tensor) DataLen() int {
	switch d := t.Data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int8:
		return len(d)
	case []uint8:
		return len(d)
	case []int16:
		return len(d)
	case []uint16:
		return len(d)
	case []int32:
		return len(d)
	case []uint32:
		return len(d)
	case []int64:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	case []complex64:
		return len(d)
	case []complex128:
		return len(d)
	}
	return -1
}
