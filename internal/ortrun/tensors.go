package ortrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"github.com/effc/effc/ir"
)

// ortTypes maps the dtypes the exchange carries to onnxruntime-common's
// tensor type names. onnxruntime-node has no bfloat16, FP8 or complex
// tensors, so those dtypes are missing.
var ortTypes = map[ir.DType]string{
	ir.Float32: "float32",
	ir.Float64: "float64",
	ir.Float16: "float16",
	ir.Int8:    "int8",
	ir.Int16:   "int16",
	ir.Int32:   "int32",
	ir.Int64:   "int64",
	ir.Uint8:   "uint8",
	ir.Uint16:  "uint16",
	ir.Uint32:  "uint32",
	ir.Uint64:  "uint64",
	ir.Bool:    "bool",
	ir.String:  "string",
}

// errUnsupported marks dtypes the exchange with onnxruntime-node cannot carry.
var errUnsupported = errors.New("onnxruntime-node has no tensor type for it")

// dtypeOf is the inverse of ortTypes.
func dtypeOf(ortType string) (ir.DType, bool) {
	for dt, s := range ortTypes {
		if s == ortType {
			return dt, true
		}
	}
	return ir.Undefined, false
}

// tensorSpec is one entry of inputs.json and outputs.json (see
// bench/ort-run.mjs).
type tensorSpec struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Dims    []int64  `json:"dims"`
	File    string   `json:"file,omitempty"`
	Strings []string `json:"strings,omitempty"`
}

// writeTensors writes inputs to dir as inputs.json plus one raw file per
// non-string tensor, in name order.
func writeTensors(dir string, inputs map[string]*ir.Tensor) error {
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	specs := make([]tensorSpec, 0, len(names))
	for i, name := range names {
		t := inputs[name]
		if err := checkTensor(t); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		s := tensorSpec{Name: name, Type: ortTypes[t.DType], Dims: append([]int64{}, t.Shape...)}
		if t.DType == ir.String {
			s.Strings = t.Data.([]string)
		} else {
			s.File = fmt.Sprintf("in%d.bin", i)
			if err := os.WriteFile(filepath.Join(dir, s.File), t.Bytes(), 0o644); err != nil {
				return fmt.Errorf("input %q: %w", name, err)
			}
		}
		specs = append(specs, s)
	}
	b, err := json.Marshal(specs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "inputs.json"), b, 0o644)
}

// checkTensor refuses tensors the exchange cannot carry: nil, a dtype
// onnxruntime-node has no type for, or Data that does not match the dtype
// and shape.
func checkTensor(t *ir.Tensor) error {
	if t == nil {
		return fmt.Errorf("nil tensor")
	}
	if _, ok := ortTypes[t.DType]; !ok {
		return fmt.Errorf("dtype %s: %w", t.DType, errUnsupported)
	}
	n, err := ir.CheckedNumElements(t.Shape)
	if err != nil {
		return err
	}
	if want := reflect.TypeOf(ir.MakeSlice(t.DType, 0)); reflect.TypeOf(t.Data) != want {
		return fmt.Errorf("data of Go type %T does not hold dtype %s (want %s)", t.Data, t.DType, want)
	}
	if got := int64(reflect.ValueOf(t.Data).Len()); got != n {
		return fmt.Errorf("data has %d elements, shape %v needs %d", got, t.Shape, n)
	}
	return nil
}

// readTensors reads outputs.json and the files it names from dir.
func readTensors(dir string) (map[string]*ir.Tensor, error) {
	b, err := os.ReadFile(filepath.Join(dir, "outputs.json"))
	if err != nil {
		return nil, err
	}
	var specs []tensorSpec
	if err := json.Unmarshal(b, &specs); err != nil {
		return nil, fmt.Errorf("outputs.json: %w", err)
	}
	out := make(map[string]*ir.Tensor, len(specs))
	for _, s := range specs {
		dt, ok := dtypeOf(s.Type)
		if !ok {
			return nil, fmt.Errorf("output %q: unknown tensor type %q", s.Name, s.Type)
		}
		if dt == ir.String {
			if n, err := ir.CheckedNumElements(s.Dims); err != nil || n != int64(len(s.Strings)) {
				return nil, fmt.Errorf("output %q: %d strings for shape %v", s.Name, len(s.Strings), s.Dims)
			}
			out[s.Name] = &ir.Tensor{DType: ir.String, Shape: s.Dims, Data: append([]string{}, s.Strings...)}
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, filepath.Base(s.File)))
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.Name, err)
		}
		t, err := ir.TensorFromBytes(dt, s.Dims, raw)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.Name, err)
		}
		out[s.Name] = t
	}
	return out, nil
}
