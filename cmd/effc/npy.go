package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/ir"
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

// readNPY loads a whole .npy array (see internal/npy).
func readNPY(path string) (*ir.Tensor, error) { return npy.Read(path) }

// writeNPY saves t as a .npy file (see internal/npy).
func writeNPY(path string, t *ir.Tensor) error { return npy.Write(path, t) }
