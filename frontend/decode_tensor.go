package frontend

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/effc/effc/ir"
)

// TensorProto field numbers (onnx.proto).
const (
	tpDims         = 1
	tpDataType     = 2
	tpSegment      = 3
	tpFloatData    = 4
	tpInt32Data    = 5
	tpStringData   = 6
	tpInt64Data    = 7
	tpName         = 8
	tpRawData      = 9
	tpDoubleData   = 10
	tpUint64Data   = 11
	tpExternalData = 13
	tpDataLocation = 14
)

// typedFieldNames names TensorProto's typed data fields for messages.
var typedFieldNames = map[int]string{
	tpFloatData: "float_data", tpInt32Data: "int32_data", tpStringData: "string_data",
	tpInt64Data: "int64_data", tpDoubleData: "double_data", tpUint64Data: "uint64_data",
}

// typedField returns the TensorProto field that holds dt's values when
// raw_data is not used, and how many field elements one tensor element takes.
func typedField(dt ir.DType) (num int, per int64) {
	switch dt {
	case ir.Float32:
		return tpFloatData, 1
	case ir.Complex64:
		return tpFloatData, 2
	case ir.Int32, ir.Int16, ir.Int8, ir.Uint16, ir.Uint8, ir.Bool, ir.Float16, ir.BFloat16,
		ir.Float8E4M3FN, ir.Float8E4M3FNUZ, ir.Float8E5M2, ir.Float8E5M2FNUZ:
		return tpInt32Data, 1
	case ir.String:
		return tpStringData, 1
	case ir.Int64:
		return tpInt64Data, 1
	case ir.Float64:
		return tpDoubleData, 1
	case ir.Complex128:
		return tpDoubleData, 2
	case ir.Uint32, ir.Uint64:
		return tpUint64Data, 1
	}
	return 0, 0
}

// DecodeTensor decodes one serialized TensorProto, as stored in the .pb
// files of ONNX test data. External data is refused (there is no folder).
func DecodeTensor(data []byte) (name string, t *ir.Tensor, err error) {
	d := &decoder{}
	name, t, err = d.tensor(newReader(data, 0, "TensorProto"))
	if err != nil {
		if name != "" {
			return name, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		return "", nil, fmt.Errorf("tensor: %w", err)
	}
	return name, t, nil
}

// tensor decodes a TensorProto. It reads the message twice: first the
// header fields and the element counts of the data fields, then, once the
// declared element count is checked against ir.MaxElements and against the
// data actually present, the values themselves. Nothing is allocated from a
// declared size alone.
func (d *decoder) tensor(r *msgReader) (name string, t *ir.Tensor, err error) {
	var (
		dims     []int64
		dtype    int64 = -1
		raw      []byte
		hasRaw   bool
		counts   = map[int]int64{}
		external = map[string]string{}
		location uint64
	)
	for {
		f, ok, err := r.next()
		if err != nil {
			return name, nil, err
		}
		if !ok {
			break
		}
		switch f.num {
		case tpDims:
			if err := r.packedVarints(f, func(v uint64) { dims = append(dims, int64(v)) }); err != nil {
				return name, nil, err
			}
		case tpDataType:
			v, err := r.varint(f)
			if err != nil {
				return name, nil, err
			}
			dtype = int64(int32(v))
		case tpSegment:
			return name, nil, errors.New("segmented tensors (TensorProto.segment) are not supported; re-save the model without segments")
		case tpFloatData:
			n, err := r.countFixed(f, 4)
			if err != nil {
				return name, nil, err
			}
			counts[tpFloatData] += n
		case tpDoubleData:
			n, err := r.countFixed(f, 8)
			if err != nil {
				return name, nil, err
			}
			counts[tpDoubleData] += n
		case tpInt32Data, tpInt64Data, tpUint64Data:
			n, err := r.countVarints(f)
			if err != nil {
				return name, nil, err
			}
			counts[int(f.num)] += n
		case tpStringData:
			if _, err := r.str(f); err != nil {
				return name, nil, err
			}
			counts[tpStringData]++
		case tpName:
			if name, err = r.str(f); err != nil {
				return name, nil, err
			}
		case tpRawData:
			if raw, err = r.bytesField(f); err != nil {
				return name, nil, err
			}
			hasRaw = true
		case tpExternalData:
			k, v, err := stringPair(r, f)
			if err != nil {
				return name, nil, err
			}
			external[k] = v
		case tpDataLocation:
			if location, err = r.varint(f); err != nil {
				return name, nil, err
			}
		}
	}
	if dtype == -1 {
		return name, nil, errors.New("tensor has no data_type")
	}
	dt := ir.DType(dtype)
	if dtype < 0 || dtype > math.MaxUint8 || !dt.Valid() {
		return name, nil, fmt.Errorf("unsupported data_type %d (effc knows ONNX types 1-20)", dtype)
	}
	for _, v := range dims {
		if v < 0 {
			return name, nil, fmt.Errorf("negative dimension %d in dims %v", v, dims)
		}
	}
	n, err := ir.CheckedNumElements(dims)
	if err != nil {
		return name, nil, err
	}
	if dims == nil {
		dims = []int64{}
	}
	if location == 1 {
		if hasRaw || len(counts) > 0 {
			return name, nil, errors.New("tensor has both external data and inline data")
		}
		raw, err = d.readExternal(external, n, dt)
		if err != nil {
			return name, nil, err
		}
		hasRaw = true
	} else if location != 0 {
		return name, nil, fmt.Errorf("unknown data_location %d", location)
	}
	if hasRaw {
		if len(counts) > 0 {
			return name, nil, errors.New("tensor has both raw_data and typed data fields")
		}
		if dt == ir.String {
			return name, nil, errors.New("string tensors cannot use raw_data; use string_data")
		}
		t, err := ir.TensorFromBytes(dt, dims, raw)
		return name, t, err
	}
	want, per := typedField(dt)
	for num, c := range counts {
		if num != want {
			return name, nil, fmt.Errorf("%s given for a %s tensor, whose values belong in %s",
				typedFieldNames[num], dt, typedFieldNames[want])
		}
		if c != n*per {
			return name, nil, fmt.Errorf("%s has %d values, want %d for %s%v", typedFieldNames[num], c, n*per, dt, dims)
		}
	}
	if n > 0 && len(counts) == 0 {
		return name, nil, fmt.Errorf("tensor %s%v has no data (no raw_data, %s or external data)", dt, dims, typedFieldNames[want])
	}
	t = ir.NewTensor(dt, dims)
	if n == 0 {
		return name, t, nil
	}
	// Second pass: fill the allocated slice from the typed field.
	r.pos = 0
	i := 0
	for {
		f, ok, err := r.next()
		if err != nil {
			return name, nil, err
		}
		if !ok {
			break
		}
		if int(f.num) != want {
			continue
		}
		switch data := t.Data.(type) {
		case []float32:
			err = r.packedFixed(f, 4, func(v uint64) { data[i] = math.Float32frombits(uint32(v)); i++ })
		case []complex64:
			err = r.packedFixed(f, 4, func(v uint64) {
				x := float64(math.Float32frombits(uint32(v)))
				if i%2 == 0 {
					data[i/2] = complex64(complex(x, 0))
				} else {
					data[i/2] = complex(real(data[i/2]), float32(x))
				}
				i++
			})
		case []float64:
			err = r.packedFixed(f, 8, func(v uint64) { data[i] = math.Float64frombits(v); i++ })
		case []complex128:
			err = r.packedFixed(f, 8, func(v uint64) {
				x := math.Float64frombits(v)
				if i%2 == 0 {
					data[i/2] = complex(x, 0)
				} else {
					data[i/2] = complex(real(data[i/2]), x)
				}
				i++
			})
		case []int32:
			err = r.packedVarints(f, func(v uint64) { data[i] = int32(v); i++ })
		case []int16:
			err = r.packedVarints(f, func(v uint64) { data[i] = int16(v); i++ })
		case []int8:
			err = r.packedVarints(f, func(v uint64) { data[i] = int8(v); i++ })
		case []uint16: // uint16, float16 and bfloat16 bits
			err = r.packedVarints(f, func(v uint64) { data[i] = uint16(v); i++ })
		case []uint8: // uint8 and fp8 bits
			err = r.packedVarints(f, func(v uint64) { data[i] = uint8(v); i++ })
		case []bool:
			err = r.packedVarints(f, func(v uint64) { data[i] = v != 0; i++ })
		case []int64:
			err = r.packedVarints(f, func(v uint64) { data[i] = int64(v); i++ })
		case []uint32:
			err = r.packedVarints(f, func(v uint64) { data[i] = uint32(v); i++ })
		case []uint64:
			err = r.packedVarints(f, func(v uint64) { data[i] = v; i++ })
		case []string:
			data[i] = string(f.bytes)
			i++
		}
		if err != nil {
			return name, nil, err
		}
	}
	return name, t, nil
}

// bytesField returns a bytes field.
func (r *msgReader) bytesField(f field) ([]byte, error) {
	if f.typ != 2 {
		return nil, r.wrongType(f)
	}
	return f.bytes, nil
}

// stringPair decodes a StringStringEntryProto (key 1, value 2).
func stringPair(r *msgReader, f field) (key, value string, err error) {
	s, err := r.sub(f, "StringStringEntryProto")
	if err != nil {
		return "", "", err
	}
	for {
		g, ok, err := s.next()
		if err != nil {
			return "", "", err
		}
		if !ok {
			return key, value, nil
		}
		switch g.num {
		case 1:
			if key, err = s.str(g); err != nil {
				return "", "", err
			}
		case 2:
			if value, err = s.str(g); err != nil {
				return "", "", err
			}
		}
	}
}

// readExternal reads n elements of dt from the external file the entries
// describe. The file must lie inside d.dir: absolute paths, ".." and
// symlinks leading out of the folder are refused.
func (d *decoder) readExternal(entries map[string]string, n int64, dt ir.DType) ([]byte, error) {
	loc := entries["location"]
	if loc == "" {
		return nil, errors.New("external data has no location")
	}
	if d.dir == "" {
		return nil, fmt.Errorf("tensor data is in external file %q, but the model folder is unknown: use frontend.Load or set Options.Dir", loc)
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("%s tensors cannot use external data", dt)
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.VolumeName(loc) != "" {
		return nil, fmt.Errorf("external data location %q is an absolute path; it must be relative to the model folder", loc)
	}
	for _, part := range strings.FieldsFunc(loc, func(c rune) bool { return c == '/' || c == '\\' }) {
		if part == ".." {
			return nil, fmt.Errorf("external data location %q leaves the model folder; it must stay inside it", loc)
		}
	}
	var offset, length int64 = 0, -1
	for k, v := range entries {
		switch k {
		case "offset", "length":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return nil, fmt.Errorf("external data %s %q is not a non-negative integer", k, v)
			}
			if k == "offset" {
				offset = x
			} else {
				length = x
			}
		}
	}
	want := n * int64(dt.Size())
	if length >= 0 && length != want {
		return nil, fmt.Errorf("external data length is %d bytes, want %d for %d %s elements", length, want, n, dt)
	}
	dir, err := filepath.EvalSymlinks(d.dir)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	path, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(loc)))
	if err != nil {
		return nil, fmt.Errorf("external data file %q: %w", loc, err)
	}
	path, err = filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("external data file %q: %w", loc, err)
	}
	if rel, err := filepath.Rel(dir, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("external data location %q resolves (through a symlink) outside the model folder; copy the data into the folder", loc)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("external data file %q: %w", loc, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data file %q: %w", loc, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("external data file %q is not a regular file", loc)
	}
	if offset > st.Size() || st.Size()-offset < want || (length < 0 && st.Size()-offset != want) {
		return nil, fmt.Errorf("external data file %q is %d bytes; offset %d and %d wanted bytes do not fit", loc, st.Size(), offset, want)
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, fmt.Errorf("external data file %q: %w", loc, err)
	}
	return buf, nil
}
