package npy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/effc/effc/ir"
)

const digitsX = "../../testdata/digits/test_x.npy"

// npyFile builds a .npy file from a header dictionary and raw data, with the
// given major version (1: 2-byte header length, 2 and 3: 4-byte).
func npyFile(t *testing.T, major byte, dict string, data []byte) string {
	t.Helper()
	pre := 10
	if major >= 2 {
		pre = 12
	}
	hdr := dict + strings.Repeat(" ", 63-(pre+len(dict))%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.Write([]byte{major, 0})
	if major >= 2 {
		b.Write([]byte{byte(len(hdr)), byte(len(hdr) >> 8), 0, 0})
	} else {
		b.Write([]byte{byte(len(hdr)), byte(len(hdr) >> 8)})
	}
	b.WriteString(hdr)
	b.Write(data)
	path := filepath.Join(t.TempDir(), "a.npy")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadRowsStreamsTheArray(t *testing.T) {
	whole, err := Read(digitsX)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(digitsX)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.DType() != ir.Float32 || !reflect.DeepEqual(r.Shape(), whole.Shape) {
		t.Fatalf("Open: %s%v, Read: %s%v", r.DType(), r.Shape(), whole.DType, whole.Shape)
	}
	// 360 rows in chunks of 7: 51 full chunks and one of 3.
	var got []float32
	chunks := 0
	for {
		c, err := r.ReadRows(7)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Shape[0] < 1 || c.Shape[0] > 7 || !reflect.DeepEqual(c.Shape[1:], whole.Shape[1:]) {
			t.Fatalf("chunk %d has shape %v", chunks, c.Shape)
		}
		got = append(got, c.Data.([]float32)...)
		chunks++
	}
	if chunks != 52 || !reflect.DeepEqual(got, whole.Data) {
		t.Errorf("%d chunks holding %d values; want 52 chunks equal to Read's %d values", chunks, len(got), whole.Len())
	}
	if _, err := r.ReadRows(7); err != io.EOF {
		t.Errorf("ReadRows after the end: %v, want io.EOF", err)
	}
}

func TestReadByteOrderAndVersions(t *testing.T) {
	// 1.5 and -2 as float32, big- and little-endian; versions 1, 2 and 3.
	be := []byte{0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0}
	le := []byte{0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0}
	for _, c := range []struct {
		major byte
		descr string
		data  []byte
	}{
		{1, ">f4", be}, {1, "<f4", le}, {2, "<f4", le}, {3, ">f4", be},
	} {
		path := npyFile(t, c.major, "{'descr': '"+c.descr+"', 'fortran_order': False, 'shape': (2,), }", c.data)
		got, err := Read(path)
		if err != nil {
			t.Fatalf("v%d %s: %v", c.major, c.descr, err)
		}
		if !reflect.DeepEqual(got.Data, []float32{1.5, -2}) {
			t.Errorf("v%d %s: read %v, want [1.5 -2]", c.major, c.descr, got.Data)
		}
	}
	// Complex numbers swap each part: 1+2i as big-endian complex64.
	path := npyFile(t, 1, "{'descr': '>c8', 'fortran_order': False, 'shape': (), }", []byte{0x3f, 0x80, 0, 0, 0x40, 0, 0, 0})
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data, []complex64{1 + 2i}) || len(got.Shape) != 0 {
		t.Errorf("read %v%v, want the scalar 1+2i", got.Shape, got.Data)
	}
}

func TestWriteRead(t *testing.T) {
	for _, tt := range []*ir.Tensor{
		ir.Scalar(float32(2.5)),
		{DType: ir.Int8, Shape: []int64{3}, Data: []int8{-1, 0, 1}},
		{DType: ir.Bool, Shape: []int64{2, 1}, Data: []bool{true, false}},
		{DType: ir.Uint16, Shape: []int64{0, 4}, Data: []uint16{}},
		{DType: ir.Float16, Shape: []int64{2}, Data: []uint16{ir.Float32ToFloat16(1.5), ir.Float32ToFloat16(-2)}},
		ir.FromInt64([]int64{2, 2, 2}, []int64{1, 2, 3, 4, 5, 6, 7, 8}),
	} {
		path := filepath.Join(t.TempDir(), "t.npy")
		if err := Write(path, tt); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatalf("%s%v: %v", tt.DType, tt.Shape, err)
		}
		if got.DType != tt.DType || !reflect.DeepEqual(got.Shape, tt.Shape) || !reflect.DeepEqual(got.Data, tt.Data) {
			t.Errorf("round trip of %s%v %v gave %s%v %v", tt.DType, tt.Shape, tt.Data, got.DType, got.Shape, got.Data)
		}
	}
}

func TestReadErrors(t *testing.T) {
	dict := func(descr, order, shape string) string {
		return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }"
	}
	short := filepath.Join(t.TempDir(), "short.npy")
	if err := os.WriteFile(short, []byte("\x93NUM"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want string
	}{
		{short, "not a NumPy .npy file"},
		{npyFile(t, 1, dict("<f4", "False", "(3,)"), make([]byte, 8)), "file holds 8 data bytes, f32[3] needs 12"},
		{npyFile(t, 1, dict("<f4", "False", "(1,)"), make([]byte, 8)), "file holds 8 data bytes, f32[1] needs 4"},
		{npyFile(t, 1, dict("<f4", "True", "(2, 2)"), make([]byte, 16)), "array is in Fortran order"},
		{npyFile(t, 1, dict("<U3", "False", "(1,)"), make([]byte, 12)), `NumPy dtype "<U3" is not supported`},
		{npyFile(t, 1, "{'descr': }", nil), "not a NumPy .npy file"},
		{npyFile(t, 7, dict("<f4", "False", "(1,)"), make([]byte, 4)), "not a NumPy .npy file"},
	} {
		_, err := Read(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("Read: %v, want an error naming the file and containing %q", err, c.want)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of a missing file: %v, want os.ErrNotExist", err)
	}
}
