// Package npy reads and writes NumPy .npy files as ir tensors.
//
// Reading parses the header dictionary with github.com/sbinet/npyio and
// decodes the data itself, as raw bytes (big-endian arrays are byte-swapped
// first), so every dtype NumPy and effc share is read by one code path,
// float16 included. Read loads a whole array; a Reader streams one along its
// first axis, a few rows at a time, so a caller such as calibration can walk
// an array larger than memory.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/effc/effc/ir"
	"github.com/sbinet/npyio"
)

// npyTypes maps NumPy dtype codes (without byte order) to effc dtypes.
var npyTypes = map[string]ir.DType{
	"f2": ir.Float16, "f4": ir.Float32, "f8": ir.Float64,
	"i1": ir.Int8, "i2": ir.Int16, "i4": ir.Int32, "i8": ir.Int64,
	"u1": ir.Uint8, "u2": ir.Uint16, "u4": ir.Uint32, "u8": ir.Uint64,
	"b1": ir.Bool, "c8": ir.Complex64, "c16": ir.Complex128,
}

// Reader streams the data of one .npy file. Open reads the header; ReadRows
// returns consecutive slices of the array along axis 0.
type Reader struct {
	path   string
	f      *os.File
	r      *bufio.Reader
	dtype  ir.DType
	shape  []int64
	swap   int   // byte-swap unit for big-endian data; 0 when none is needed
	rowLen int64 // elements per row: the product of shape[1:]
	next   int64 // rows already returned
}

// Open opens the .npy file at path and reads its header. The array must be
// C-ordered (Fortran order is accepted for 0-d and 1-d arrays, where the two
// agree) and the file must hold exactly the data its header announces.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := open(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func open(path string, f *os.File) (*Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	// magic(6) version(2) header length(2 in version 1, 4 from version 2)
	pre := make([]byte, 10, 12)
	if _, err := io.ReadFull(br, pre); err != nil || string(pre[:6]) != string(npyio.Magic[:]) {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, npyio.ErrInvalidNumPyFormat)
	}
	hlen := int64(binary.LittleEndian.Uint16(pre[8:]))
	if pre[6] >= 2 {
		pre = pre[:12]
		if _, err := io.ReadFull(br, pre[10:]); err != nil {
			return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, err)
		}
		hlen = int64(binary.LittleEndian.Uint32(pre[8:]))
		if pre[6] == 3 {
			pre[6] = 2 // version 3 differs from 2 only in allowing UTF-8 in the header
		}
	}
	offset := int64(len(pre)) + hlen
	if offset > fi.Size() {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: header of %d bytes in a %d-byte file", path, hlen, fi.Size())
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, err)
	}
	h, err := parseHeader(pre, hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy .npy file: %w", path, err)
	}
	d := h.Descr
	dt, ok := npyTypes[strings.TrimLeft(d.Type, "<>|=")]
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
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if data := fi.Size() - offset; data != n*int64(dt.Size()) {
		return nil, fmt.Errorf("%s: file holds %d data bytes, %s%s needs %d", path, data, dt, ir.ShapeOf(shape...), n*int64(dt.Size()))
	}
	r := &Reader{path: path, f: f, r: br, dtype: dt, shape: shape, rowLen: 1}
	if strings.HasPrefix(d.Type, ">") && dt.Size() > 1 {
		r.swap = dt.Size()
		if dt == ir.Complex64 || dt == ir.Complex128 {
			r.swap /= 2 // real and imaginary parts are swapped separately
		}
	}
	if len(shape) > 0 {
		r.rowLen = ir.NumElements(shape[1:])
	}
	return r, nil
}

// parseHeader parses the header dictionary with npyio. pre is the magic,
// version and length prefix, hdr the dictionary; npyio's parser slices the
// dictionary without bounds checks, so a malformed one is an error here, not
// a panic.
func parseHeader(pre, hdr []byte) (h npyio.Header, err error) {
	if !bytes.Contains(hdr, []byte("\n")) {
		return h, fmt.Errorf("header does not end in a newline")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed header %q", bytes.TrimSpace(hdr))
		}
	}()
	nr, err := npyio.NewReader(io.MultiReader(bytes.NewReader(pre), bytes.NewReader(hdr)))
	if err != nil {
		return h, err
	}
	return nr.Header, nil
}

// DType is the element type of the array.
func (r *Reader) DType() ir.DType { return r.dtype }

// Shape is the shape of the whole array.
func (r *Reader) Shape() []int64 { return append([]int64(nil), r.shape...) }

// ReadRows returns the next up to n rows of the array along axis 0, as a
// tensor of shape [k, shape[1:]...] with 1 <= k <= n, and io.EOF once every
// row has been returned. Only those rows are held in memory.
func (r *Reader) ReadRows(n int) (*ir.Tensor, error) {
	if len(r.shape) == 0 {
		return nil, fmt.Errorf("%s: a 0-d array has no rows", r.path)
	}
	if n < 1 {
		return nil, fmt.Errorf("%s: ReadRows(%d): want at least 1 row", r.path, n)
	}
	k := min(int64(n), r.shape[0]-r.next)
	if k <= 0 {
		return nil, io.EOF
	}
	shape := append([]int64{k}, r.shape[1:]...)
	t, err := r.read(shape, k*r.rowLen)
	if err != nil {
		return nil, err
	}
	r.next += k
	return t, nil
}

// read decodes the next n elements from the file as a tensor of shape.
func (r *Reader) read(shape []int64, n int64) (*ir.Tensor, error) {
	raw := make([]byte, n*int64(r.dtype.Size()))
	if _, err := io.ReadFull(r.r, raw); err != nil {
		return nil, fmt.Errorf("%s: reading %s%s data: %w", r.path, r.dtype, ir.ShapeOf(shape...), err)
	}
	if r.swap > 1 {
		for i := 0; i < len(raw); i += r.swap {
			w := raw[i : i+r.swap]
			for a, b := 0, len(w)-1; a < b; a, b = a+1, b-1 {
				w[a], w[b] = w[b], w[a]
			}
		}
	}
	t, err := ir.TensorFromBytes(r.dtype, shape, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
	}
	return t, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Read loads the whole array in the .npy file at path.
func Read(path string) (*ir.Tensor, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.read(r.shape, ir.NumElements(r.shape))
}

// npyDescr is the NumPy dtype code effc writes for each dtype.
var npyDescr = map[ir.DType]string{
	ir.Float32: "<f4", ir.Float64: "<f8", ir.Float16: "<f2",
	ir.Int8: "|i1", ir.Int16: "<i2", ir.Int32: "<i4", ir.Int64: "<i8",
	ir.Uint8: "|u1", ir.Uint16: "<u2", ir.Uint32: "<u4", ir.Uint64: "<u8",
	ir.Bool: "|b1", ir.Complex64: "<c8", ir.Complex128: "<c16",
}

// Write saves t as a version 1.0 .npy file. npyio writes only 1-D and 2-D
// arrays, so the header is written here; the data is t's little-endian raw
// form, which is NumPy's layout for the descr chosen. bfloat16 and FP8
// tensors, which NumPy has no dtype for, are widened to float32.
func Write(path string, t *ir.Tensor) error {
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
