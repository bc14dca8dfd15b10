package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/effc/effc"
	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/ir"
	"github.com/effc/effc/passes"
)

// runCmd is `effc run`.
var runCmd = &command{
	name:    "run",
	summary: "run a model on the reference interpreter, or compiled for a target",
	usage:   "run MODEL.onnx --input FILE [--input NAME=FILE ...] [--output-dir DIR] [--labels FILE.npy] [--target T [--cpu C] [--passes LIST] [--weights embed|file]]",
	about: `Run loads MODEL.onnx and runs it on effc's reference interpreter. Input
files are NumPy .npy arrays or ONNX TensorProto .pb files. --input NAME=FILE
binds input NAME; each --input FILE binds the next graph input, in graph
order, that no NAME=FILE bound. Each input must have its graph
input's dtype and shape; a symbolic dimension such as a batch "N" takes any
size, the same in every input that names it.

For each output, run prints its type, min, max and mean, and the argmax of its
first row. With --output-dir it writes every output to DIR/<output>.npy
(characters other than letters, digits, '.', '-' and '_' in the output name
become '_'). With --labels, a .npy of integer class labels, it prints the top-1
accuracy of the first output (argmax over all but the first dimension) against
the labels.

With --target, run compiles the model for that target instead (symbolic
input dims bound to the sizes of the given inputs, then the --passes
pipeline) and executes the artifact: natively for x86_64, under
qemu-aarch64 for arm64, in-process with wazero for wasm32. It prints the same
summary, preceded by a line naming the target and CPU. --weights file
compiles the weights to weights.bin beside the artifacts, as 'effc compile
--weights file' does, and runs the artifact with that file loaded.`,
	examples: []string{
		"effc run testdata/digits/digits.onnx --input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy",
		"effc run testdata/digits/digits.onnx --input image=testdata/digits/test_x.npy --output-dir out",
		"effc run model.onnx --input test_data_set_0/input_0.pb",
		"effc run testdata/digits/digits.onnx --input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy --target arm64",
		"effc run testdata/digits/digits.onnx --input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy --target x86_64 --weights file",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		var inputs stringList
		fs.Var(&inputs, "input", "input tensor `FILE` (.npy or .pb), or NAME=FILE; repeatable, plain FILEs bind the unnamed graph inputs in order")
		outDir := fs.String("output-dir", "", "write each output to `DIR`/<output>.npy")
		labels := fs.String("labels", "", "integer labels `FILE.npy`: print top-1 accuracy of the first output")
		tf := addTargetFlags(fs)
		pipeline := fs.String("passes", passes.DefaultPipeline, "with --target: comma-separated `LIST` of passes and pipelines to run before compiling")
		weights := addWeightsFlag(fs)
		pr := addPruneFlags(fs)
		qf := addQuantFlags(fs, "")
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			if len(inputs) == 0 {
				return usagef("missing --input FILE")
			}
			if *tf.target == "" && (*tf.cpu != "" || flagSet(fs, "passes") || flagSet(fs, "requant") || flagSet(fs, "weights")) {
				return usagef("--cpu, --passes, --requant and --weights apply to compiled runs; add --target T")
			}
			if err := checkWeights(*weights); err != nil {
				return err
			}
			var spec *target.Spec
			if *tf.target != "" {
				if _, err := passes.ParsePipeline(*pipeline); err != nil {
					return usagef("--passes: %v", err)
				}
				if *pipeline, err = qf.pipeline(*pipeline); err != nil {
					return err
				}
				if spec, err = effc.Target(*tf.target, *tf.cpu); err != nil {
					return err
				}
			}
			if _, _, err := pr.options(); err != nil {
				return err
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			if _, err := pr.apply(e.stdout, g); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if _, err := qf.apply(e.stdout, g); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			feeds, err := bindInputs(g, inputs)
			if err != nil {
				return err
			}
			var lab []int64
			if *labels != "" {
				if lab, err = readLabels(*labels); err != nil {
					return err
				}
			}
			var outs map[string]*ir.Tensor
			if spec != nil {
				outs, err = runCompiled(e.stdout, g, feeds, spec, *pipeline, *weights)
			} else {
				outs, err = effc.Run(g, feeds)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if *outDir != "" {
				if err := os.MkdirAll(*outDir, 0o755); err != nil {
					return err
				}
			}
			for _, o := range g.Outputs {
				t := outs[o.Name]
				printSummary(e.stdout, o.Name, t)
				if *outDir != "" {
					file := filepath.Join(*outDir, fileName(o.Name)+".npy")
					if err := writeNPY(file, t); err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "  wrote %s\n", file)
				}
			}
			if lab != nil && len(g.Outputs) > 0 {
				o := g.Outputs[0]
				correct, n, err := top1(outs[o.Name], lab)
				if err != nil {
					return fmt.Errorf("--labels %s: output %q: %v", *labels, o.Name, err)
				}
				fmt.Fprintf(e.stdout, "accuracy: %d/%d = %.4f (top-1 of %q against %s)\n",
					correct, n, float64(correct)/float64(n), o.Name, *labels)
			}
			return nil
		}
	},
}

// runCompiled binds g's symbolic input dims to the sizes of feeds, runs the
// pipeline, compiles g for spec with the weights mode weights and runs it
// with backend/engine.
func runCompiled(w io.Writer, g *ir.Graph, feeds map[string]*ir.Tensor, spec *target.Spec, pipeline, weights string) (map[string]*ir.Tensor, error) {
	if err := effc.CheckInputs(g, feeds); err != nil {
		return nil, err
	}
	bind := map[string][]int64{}
	for _, v := range g.Inputs {
		if !v.Type.Ranked || !v.Type.Shape.Static() {
			bind[v.Name] = feeds[v.Name].Shape
		}
	}
	opts := effc.PrepareOptions{Shapes: bind, Pipeline: pipeline, NoPasses: strings.TrimSpace(pipeline) == ""}
	if _, err := effc.Prepare(g, opts); err != nil {
		return nil, err
	}
	start := time.Now()
	outs, err := (&engine.Engine{Spec: spec, Weights: weights}).Run(g, feeds)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", spec.Name, err)
	}
	fmt.Fprintf(w, "target: %s (cpu %s), compiled and run in %.2fs\n", spec.Name, spec.CPU, time.Since(start).Seconds())
	return outs, nil
}

// bindInputs reads the --input files and maps them to graph input names:
// NAME=FILE binds input NAME, and each plain FILE binds the next graph input,
// in graph order, that no NAME=FILE bound.
func bindInputs(g *ir.Graph, specs []string) (map[string]*ir.Tensor, error) {
	isInput := map[string]bool{}
	for _, v := range g.Inputs {
		isInput[v.Name] = true
	}
	named := map[string]string{} // input name -> file
	var plain []string
	for _, s := range specs {
		if i := strings.Index(s, "="); i > 0 {
			name := s[:i]
			if isInput[name] {
				if _, dup := named[name]; dup {
					return nil, fmt.Errorf("--input %s: input %q is bound twice", s, name)
				}
				named[name] = s[i+1:]
				continue
			}
			if _, err := os.Stat(s); err != nil {
				return nil, fmt.Errorf("--input %s: the graph has no input %q; its inputs are %s", s, name, inputNames(g))
			}
		}
		plain = append(plain, s)
	}
	order := make([]string, 0, len(specs)) // input names in binding order
	files := map[string]string{}
	for _, v := range g.Inputs {
		if f, ok := named[v.Name]; ok {
			files[v.Name] = f
			order = append(order, v.Name)
			continue
		}
		if len(plain) > 0 {
			files[v.Name], plain = plain[0], plain[1:]
			order = append(order, v.Name)
		}
	}
	if len(plain) > 0 {
		return nil, fmt.Errorf("--input %s: every graph input is already bound (%s); remove the extra --input", plain[0], inputNames(g))
	}
	feeds := map[string]*ir.Tensor{}
	for _, name := range order {
		_, t, err := readTensorFile(files[name])
		if err != nil {
			return nil, err
		}
		feeds[name] = t
	}
	return feeds, nil
}

// inputNames lists g's input names, quoted.
func inputNames(g *ir.Graph) string {
	names := make([]string, len(g.Inputs))
	for i, v := range g.Inputs {
		names[i] = fmt.Sprintf("%q", v.Name)
	}
	return strings.Join(names, ", ")
}

// fileName makes an output name safe as a file name.
func fileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || strings.Trim(string(b), ".") == "" {
		return "output"
	}
	return string(b)
}

// numeric reports whether t's elements convert to float64.
func numeric(t *ir.Tensor) bool {
	switch t.DType {
	case ir.String, ir.Complex64, ir.Complex128, ir.Undefined:
		return false
	}
	return t.DataLen() >= 0
}

// printSummary prints one output's type, range, mean and first-row argmax.
func printSummary(w io.Writer, name string, t *ir.Tensor) {
	typ := ir.TensorType(t.DType, ir.ShapeOf(t.Shape...)).String()
	n := t.Len()
	if !numeric(t) || n == 0 {
		fmt.Fprintf(w, "%s: %s\n", name, typ)
		return
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	nan := 0
	for i := 0; i < n; i++ {
		x := t.Float64At(i)
		if math.IsNaN(x) {
			nan++
			continue
		}
		lo, hi, sum = math.Min(lo, x), math.Max(hi, x), sum+x
	}
	fmt.Fprintf(w, "%s: %s min %.6g max %.6g mean %.6g", name, typ, lo, hi, sum/float64(n-nan))
	if nan > 0 {
		fmt.Fprintf(w, " (%d NaN)", nan)
	}
	if len(t.Shape) >= 1 {
		row := n
		if len(t.Shape) >= 2 && t.Shape[0] > 0 {
			row = n / int(t.Shape[0])
		}
		fmt.Fprintf(w, " argmax[0] %d", argmax(t, 0, row))
	}
	fmt.Fprintln(w)
}

// argmax returns the index of the largest of t's elements [off, off+n),
// relative to off; the first wins ties, NaN never wins.
func argmax(t *ir.Tensor, off, n int) int {
	best, bi := math.Inf(-1), 0
	for i := 0; i < n; i++ {
		if x := t.Float64At(off + i); x > best {
			best, bi = x, i
		}
	}
	return bi
}

// readLabels loads integer class labels from a .npy file.
func readLabels(path string) ([]int64, error) {
	if !strings.EqualFold(filepath.Ext(path), ".npy") {
		return nil, fmt.Errorf("--labels %s: want a .npy file of integer labels", path)
	}
	t, err := readNPY(path)
	if err != nil {
		return nil, err
	}
	if !t.DType.IsInt() {
		return nil, fmt.Errorf("--labels %s: labels have dtype %s, want an integer type", path, t.DType)
	}
	return t.Int64s(), nil
}

// top1 counts the rows of out whose argmax equals the label: row i is
// out[i, ...] flattened.
func top1(out *ir.Tensor, labels []int64) (correct, n int, err error) {
	if out == nil || !numeric(out) {
		return 0, 0, fmt.Errorf("is not numeric")
	}
	if len(out.Shape) < 2 {
		return 0, 0, fmt.Errorf("has shape %s; want at least 2 dims [batch, classes]", ir.ShapeOf(out.Shape...))
	}
	rows := int(out.Shape[0])
	if rows != len(labels) {
		return 0, 0, fmt.Errorf("has %d rows but there are %d labels", rows, len(labels))
	}
	if rows == 0 {
		return 0, 0, fmt.Errorf("has no rows")
	}
	per := out.Len() / rows
	for i := 0; i < rows; i++ {
		if int64(argmax(out, i*per, per)) == labels[i] {
			correct++
		}
	}
	return correct, rows, nil
}
