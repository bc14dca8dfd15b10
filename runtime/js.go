package runtime

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

//go:embed loader.mjs.tmpl
var loaderTmpl string

var loader = template.Must(template.New("model.mjs").Parse(loaderTmpl))

// jsTensor is a tensor as the loader's inputs/outputs arrays list it.
type jsTensor struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Bytes int64   `json:"bytes"`
}

// JSLoader returns model.mjs, an ES module that loads model.wasm (the
// artifact of a model compiled with this name for wasm32) with
// WebAssembly.instantiate and exposes load() -> { inputs, outputs, arenaSize,
// run(inputs) }. It takes the inputs and outputs because JavaScript has no
// header: run checks input byte sizes and returns typed arrays of the right
// kind and length. A tensor without a static byte size is an error.
func JSLoader(name string, ins, outs []TensorInfo) ([]byte, error) {
	return JSLoaderWithWeights(name, ins, outs, nil)
}

// JSLoaderWithWeights is JSLoader for a model compiled with --weights file
// whose weights are wf (nil: embedded, as JSLoader). Its load(source,
// weights) also fetches the weights (by default wf.Name beside model.mjs),
// copies them into the module's memory and calls set_weights.
func JSLoaderWithWeights(name string, ins, outs []TensorInfo, wf *WeightsFile) ([]byte, error) {
	conv := func(kind string, list []TensorInfo) (string, error) {
		out := make([]jsTensor, len(list))
		for i, t := range list {
			if err := t.check(); err != nil {
				return "", fmt.Errorf("runtime: JS loader: %s %d (%q): %w", kind, i, t.Name, err)
			}
			shape := t.Shape
			if shape == nil {
				shape = []int64{}
			}
			out[i] = jsTensor{t.Name, t.DType.String(), shape, t.ByteSize()}
		}
		b, err := json.Marshal(out)
		return string(b), err
	}
	in, err := conv("input", ins)
	if err != nil {
		return nil, err
	}
	out, err := conv("output", outs)
	if err != nil {
		return nil, err
	}
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	data := map[string]string{
		"File":     "model.mjs",
		"Wasm":     "model.wasm",
		"WasmJS":   js("model.wasm"),
		"NameJS":   js(name),
		"PrefixJS": js(Prefix(name)),
		"Inputs":   in,
		"Outputs":  out,
	}
	if wf != nil {
		data["WeightsFile"] = strings.ReplaceAll(wf.Name, "`", "'")
		data["WeightsJS"] = js(wf.Name)
		data["WeightsSize"] = strconv.FormatInt(wf.Size, 10)
	}
	var b bytes.Buffer
	err = loader.Execute(&b, data)
	if err != nil {
		return nil, fmt.Errorf("runtime: generating the JS loader: %w", err)
	}
	return b.Bytes(), nil
}
