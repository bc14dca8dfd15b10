package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/ir"
	"github.com/sbinet/npyio"
)

// readTensorFile loads a tensor from a NumPy .npy file or an ONNX
// TensorProto .pb file, chosen by extension. name is the TensorProto's name
// ("" for .npy files).
func readTensorFile(path string) (name string, t *ir.Tensor, err error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		t, err := readNPY(path)
		return "", t, err
	case ".pb":
		data, err := os.ReadFile(path)
		if err != nil {
			return "", nil, err
		}
		name, t, err := frontend.DecodeTensor(data)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %v", path, err)
		}
		return name, t, nil
	}
	return "", nil, fmt.Errorf("%s: unknown tensor file type; want .npy (NumPy) or .pb (ONNX TensorProto)", path)
}

// npyTypes maps NumPy dtype codes (without byte order) to effc dtypes.
var npyTypes = map[string]ir.DType{
	"f4": ir.Float32, "f8": ir.Float64,
	"i1": ir.Int8, "i2": ir.Int16, "i4": ir.Int32, "i8": ir.Int64,
	"u1": ir.Uint8, "u2": ir.Uint16, "u4": ir.Uint32, "u8": ir.Uint64,
	"b1": ir.Bool, "c8": ir.Complex64, "c16": ir.Complex128,
}

// readNPY loads a C-ordered .npy array with github.com/sbinet/npyio.
func readNPY(path string) (*ir.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := npyio.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %v", path, err)
	}
	d := r.Header.Descr
	code := strings.TrimLeft(d.Type, "<>|=")
	if code == "f2" && !strings.HasPrefix(d.Type, ">") && !d.Fortran {
		return readNPYFloat16(path, r.Header)
	}
	dt, ok := npyTypes[code]
	if !ok {
		return nil, fmt.Errorf("%s: NumPy dtype %q is not supported; save the array as float16, float32, float64, a (u)int type or bool", path, d.Type)
	}
	shape := make([]int64, len(d.Shape))
	for i, s := range d.Shape {
		shape[i] = int64(s)
	}
	if d.Fortran && len(shape) > 1 {
		return nil, fmt.Errorf("%s: array is in Fortran order; save it with np.save(path, np.ascontiguousarray(a))", path)
	}
	n, err := ir.CheckedNumElements(shape)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	t := &ir.Tensor{DType: dt, Shape: shape}
	// npyio reads into a pointer to a typed slice and converts byte order.
	var ptr any
	switch dt {
	case ir.Float32:
		ptr = new([]float32)
	case ir.Float64:
		ptr = new([]float64)
	case ir.Int8:
		ptr = new([]int8)
	case ir.Int16:
		ptr = new([]int16)
	case ir.Int32:
		ptr = new([]int32)
	case ir.Int64:
		ptr = new([]int64)
	case ir.Uint8:
		ptr = new([]uint8)
	case ir.Uint16:
		ptr = new([]uint16)
	case ir.Uint32:
		ptr = new([]uint32)
	case ir.Uint64:
		ptr = new([]uint64)
	case ir.Bool:
		ptr = new([]bool)
	case ir.Complex64:
		ptr = new([]complex64)
	case ir.Complex128:
		ptr = new([]complex128)
	}
	if err := r.Read(ptr); err != nil {
		return nil, fmt.Errorf("%s: reading %s%s data: %v", path, dt, ir.ShapeOf(shape...), err)
	}
	switch p := ptr.(type) {
	case *[]float32:
		t.Data = *p
	case *[]float64:
		t.Data = *p
	case *[]int8:
		t.Data = *p
	case *[]int16:
		t.Data = *p
	case *[]int32:
		t.Data = *p
	case *[]int64:
		t.Data = *p
	case *[]uint8:
		t.Data = *p
	case *[]uint16:
		t.Data = *p
	case *[]uint32:
		t.Data = *p
	case *[]uint64:
		t.Data = *p
	case *[]bool:
		t.Data = *p
	case *[]complex64:
		t.Data = *p
	case *[]complex128:
		t.Data = *p
	}
	if int64(t.DataLen()) != n {
		return nil, fmt.Errorf("%s: file holds %d elements, shape %s needs %d", path, t.DataLen(), ir.ShapeOf(shape...), n)
	}
	return t, nil
}

// readNPYFloat16 loads a little-endian float16 .npy file, which npyio does
// not read: the data is the file's last 2*elements bytes, stored as IEEE
// binary16 bits like effc's Float16 tensors.
func readNPYFloat16(path string, h npyio.Header) (*ir.Tensor, error) {
	shape := make([]int64, len(h.Descr.Shape))
	for i, s := range h.Descr.Shape {
		shape[i] = int64(s)
	}
	n, err := ir.CheckedNumElements(shape)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// magic(6) version(2) header length(2, or 4 from version 2) header data
	hlen := 10
	if len(data) >= 10 {
		if data[6] >= 2 {
			hlen = 12 + int(binary.LittleEndian.Uint32(data[8:]))
		} else {
			hlen += int(binary.LittleEndian.Uint16(data[8:]))
		}
	}
	if int64(len(data)-hlen) != 2*n {
		return nil, fmt.Errorf("%s: file holds %d data bytes, float16%s needs %d", path, len(data)-hlen, ir.ShapeOf(shape...), 2*n)
	}
	t, err := ir.TensorFromBytes(ir.Float16, shape, data[hlen:])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return t, nil
}

// npyDescr is the NumPy dtype code effc writes for each dtype.
var npyDescr = map[ir.DType]string{
	ir.Float32: "<f4", ir.Float64: "<f8", ir.Float16: "<f2",
	ir.Int8: "|i1", ir.Int16: "<i2", ir.Int32: "<i4", ir.Int64: "<i8",
	ir.Uint8: "|u1", ir.Uint16: "<u2", ir.Uint32: "<u4", ir.Uint64: "<u8",
	ir.Bool: "|b1", ir.Complex64: "<c8", ir.Complex128: "<c16",
}

// writeNPY saves t as a version 1.0 .npy file. npyio writes only 1-D and
// 2-D arrays, so the header is written here; the data is t's little-endian
// raw form, which is NumPy's layout for the descr chosen. bfloat16 and FP8
// tensors, which NumPy has no dtype for, are widened to float32.
func writeNPY(path string, t *ir.Tensor) error {
	if t.DType == ir.BFloat16 || t.DType.IsFP8() {
		w := ir.NewTensor(ir.Float32, t.Shape)
		d := w.Data.([]float32)
		for i := range d {
			d[i] = float32(t.Float64At(i))
		}
		t = w
	}
	descr, ok := npyDescr[t.DType]
	if !ok {
		return fmt.Errorf("%s: cannot save a %s tensor as .npy", path, t.DType)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = fmt.Sprint(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	// magic(6) + version(2) + header length(2) + header + '\n', padded to 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.WriteByte(byte(len(header)))
	b.WriteByte(byte(len(header) >> 8))
	b.WriteString(header)
	b.Write(t.Bytes())
	return os.WriteFile(path, b.Bytes(), 0o644)
}
