// Package effc is the embedding API of the effc model compression compiler:
// load an ONNX model into the IR, summarize it, and run it on the reference
// interpreter. The stage packages (frontend, ir, passes, interp) hold the
// machinery; this package strings it together the way the effc command does.
//
//	g, err := effc.Load("testdata/digits/digits.onnx")
//	...
//	fmt.Println(effc.Inspect(g).Totals.MACs)
//	outs, err := effc.Run(g, map[string]*ir.Tensor{"image": x})
package effc

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/effc/effc/frontend"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// Version is the effc release this source tree builds.
const Version = "0.1.0-dev"

// Load reads the ONNX model at path (external data relative to its folder),
// infers every value's type and verifies the result. Errors name the file;
// a panic in any of these stages (a bug) is returned as an error too.
func Load(path string) (g *ir.Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("%s: internal error while loading: %v (please report this with the model)", path, r)
		}
	}()
	g, err = frontend.Load(path)
	if err != nil {
		return nil, withFile(path, err)
	}
	if err := ir.InferShapes(g); err != nil {
		return nil, withFile(path, err)
	}
	if err := ir.Verify(g); err != nil {
		return nil, withFile(path, err)
	}
	return g, nil
}

// withFile prefixes err with path unless its message already names it.
func withFile(path string, err error) error {
	if strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Run executes g on the reference interpreter. inputs maps graph input names
// to tensors; each must have the input's dtype and shape, where a symbolic
// dimension accepts any size but must take the same size in every input that
// names it (all inputs with batch "N" share one batch size). It returns every
// graph output by name.
func Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	if err := CheckInputs(g, inputs); err != nil {
		return nil, err
	}
	return interp.Run(g, inputs)
}

// CheckInputs reports the first way inputs fail to match g's inputs: a
// missing or unknown name, a dtype, rank or dimension mismatch, data whose
// length disagrees with its shape, or a symbolic dimension bound to two
// different sizes.
func CheckInputs(g *ir.Graph, inputs map[string]*ir.Tensor) error {
	known := map[string]bool{}
	for _, v := range g.Inputs {
		known[v.Name] = true
	}
	var unknown []string
	for name := range inputs {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown input %q; the graph's inputs are %s", unknown[0], inputList(g))
	}
	bound := map[string]int64{}    // symbol -> size
	boundBy := map[string]string{} // symbol -> input that bound it
	for _, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok || t == nil {
			return fmt.Errorf("missing input %q (%s); the graph's inputs are %s", v.Name, v.Type, inputList(g))
		}
		if v.Type.DType != ir.Undefined && t.DType != v.Type.DType {
			return fmt.Errorf("input %q: dtype %s does not match %s", v.Name, t.DType, v.Type)
		}
		if !t.DType.Valid() {
			return fmt.Errorf("input %q: tensor has no dtype", v.Name)
		}
		if want := reflect.TypeOf(ir.MakeSlice(t.DType, 0)); reflect.TypeOf(t.Data) != want {
			return fmt.Errorf("input %q: %s tensor holds %T data, want %v", v.Name, t.DType, t.Data, want)
		}
		n, err := ir.CheckedNumElements(t.Shape)
		if err != nil {
			return fmt.Errorf("input %q: %v", v.Name, err)
		}
		if got := int64(t.DataLen()); got != n {
			return fmt.Errorf("input %q: data has %d elements, shape %s needs %d", v.Name, got, formatDims(t.Shape), n)
		}
		if !v.Type.Ranked {
			continue
		}
		want := v.Type.Shape
		if len(t.Shape) != len(want) {
			return fmt.Errorf("input %q: shape %s does not match %s (rank %d, want %d)",
				v.Name, formatDims(t.Shape), want, len(t.Shape), len(want))
		}
		for i, d := range want {
			got := t.Shape[i]
			switch {
			case d.Known():
				if got != d.Size {
					return fmt.Errorf("input %q: shape %s does not match %s (dim %d: got %d, want %d)",
						v.Name, formatDims(t.Shape), want, i, got, d.Size)
				}
			case d.Param != "":
				if size, ok := bound[d.Param]; ok && size != got {
					return fmt.Errorf("input %q: shape %s does not match %s (dim %d: got %d, but input %q set %s = %d)",
						v.Name, formatDims(t.Shape), want, i, got, boundBy[d.Param], d.Param, size)
				}
				bound[d.Param], boundBy[d.Param] = got, v.Name
			}
		}
	}
	return nil
}

// inputList names g's inputs with their types: `"image" f32[N,1,8,8]`.
func inputList(g *ir.Graph) string {
	if len(g.Inputs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(g.Inputs))
	for i, v := range g.Inputs {
		parts[i] = fmt.Sprintf("%q %s", v.Name, v.Type)
	}
	return strings.Join(parts, ", ")
}

// formatDims prints a concrete shape the way ir.Shape prints: "[2,1,8,8]".
func formatDims(dims []int64) string {
	return ir.ShapeOf(dims...).String()
}
