package quant

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/effc/effc/internal/npy"
	"github.com/effc/effc/ir"
)

// NPYSource streams calibration batches from NumPy .npy files; OpenCalib
// makes one. It holds one batch in memory at a time.
type NPYSource struct {
	inputs  []*ir.Value
	samples int

	// A single file: read batch rows at a time, until left runs out.
	file  *npy.Reader
	batch int
	left  int

	// A directory: files[k][i] is batch k's file for input i.
	files [][]string
	next  int
}

// OpenCalib opens the calibration inputs of g at path, which is either
//
//   - a .npy file, for a model with one input: axis 0 of the array counts
//     the samples and the other axes must match the input's. The file is
//     streamed, batch samples at a time (the model's own batch size if its
//     axis 0 is fixed, and then samples left over at the end are dropped;
//     otherwise batch, and 1 if batch is 0), never read whole.
//   - a directory of .npy files, read in sorted name order (zero-pad
//     numbers: 10.npy sorts before 9.npy), one file per batch. A file with
//     the input's rank is a batch whose axis 0 counts its samples; a file of
//     one rank less is one sample, given an axis 0 of size 1. For a model
//     with one input the files sit in the directory itself or, if it holds
//     none, in a sub-directory named after the input; for several inputs,
//     each input has its sub-directory DIR/NAME, all holding the same number
//     of files, and the k-th files of every sub-directory form batch k.
//     Files are read whole, one batch at a time; batch is not used.
//
// Every file's header is checked against the model (dtype, rank and fixed
// dimensions) here, before any batch runs.
func OpenCalib(path string, g *ir.Graph, batch int) (*NPYSource, error) {
	if len(g.Inputs) == 0 {
		return nil, fmt.Errorf("%s: the model has no inputs to calibrate with", path)
	}
	if batch < 0 {
		return nil, fmt.Errorf("%s: batch size %d; want 0 (default) or more", path, batch)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s := &NPYSource{inputs: g.Inputs}
	if fi.IsDir() {
		if err := s.openDir(path); err != nil {
			return nil, err
		}
		return s, nil
	}
	if len(g.Inputs) > 1 {
		return nil, fmt.Errorf("%s: one .npy file for a model with %d inputs (%s); give a directory with a sub-directory of .npy files per input", path, len(g.Inputs), inputNames(g.Inputs))
	}
	if err := s.openFile(path, batch); err != nil {
		return nil, err
	}
	return s, nil
}

// openFile sets s up to stream the samples of one array.
func (s *NPYSource) openFile(path string, batch int) error {
	r, err := npy.Open(path)
	if err != nil {
		return err
	}
	in := s.inputs[0]
	shape := r.Shape()
	if err := checkFile(path, in, r.DType(), shape, false); err != nil {
		r.Close()
		return err
	}
	if len(shape) == 0 {
		r.Close()
		return fmt.Errorf("%s: a 0-d array has no samples; want axis 0 to count them", path)
	}
	samples := int(shape[0])
	if d := in.Type.Shape; in.Type.Ranked && d[0].Known() {
		fixed := int(d[0].Size)
		if batch != 0 && batch != fixed {
			r.Close()
			return fmt.Errorf("%s: batch size %d, but input %q has a fixed batch size of %d", path, batch, in.Name, fixed)
		}
		if samples < fixed {
			r.Close()
			return fmt.Errorf("%s: %d samples, fewer than input %q's fixed batch size of %d", path, samples, in.Name, fixed)
		}
		batch = fixed
		samples -= samples % fixed // a partial batch cannot run
	}
	s.file, s.batch, s.left, s.samples = r, max(batch, 1), samples, samples
	return nil
}

// openDir lists and checks the files of a directory source.
func (s *NPYSource) openDir(dir string) error {
	var cols [][]string // cols[i]: the files of input i
	if len(s.inputs) == 1 {
		files, err := npyFiles(dir)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			sub := filepath.Join(dir, s.inputs[0].Name)
			if files, err = npyFiles(sub); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		cols = [][]string{files}
	} else {
		for _, in := range s.inputs {
			files, err := npyFiles(filepath.Join(dir, in.Name))
			if err != nil {
				return fmt.Errorf("%s: a model with inputs %s needs a sub-directory of .npy files per input: %w", dir, inputNames(s.inputs), err)
			}
			cols = append(cols, files)
		}
	}
	for i, c := range cols {
		if len(c) != len(cols[0]) {
			return fmt.Errorf("%s: %d files for input %q but %d for %q; every input needs one file per batch",
				dir, len(c), s.inputs[i].Name, len(cols[0]), s.inputs[0].Name)
		}
	}
	if len(cols[0]) == 0 {
		return fmt.Errorf("%s: no .npy files for input %q", dir, s.inputs[0].Name)
	}
	s.files = make([][]string, len(cols[0]))
	for k := range s.files {
		for i, in := range s.inputs {
			path := cols[i][k]
			r, err := npy.Open(path)
			if err != nil {
				return err
			}
			shape := r.Shape()
			err = checkFile(path, in, r.DType(), shape, true)
			r.Close()
			if err != nil {
				return err
			}
			if i == 0 {
				s.samples += fileSamples(in, shape)
			}
			s.files[k] = append(s.files[k], path)
		}
	}
	return nil
}

// npyFiles lists the .npy files of dir in sorted order.
func npyFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".npy") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// checkFile checks an array's dtype and shape against the input it feeds.
// The array has the input's rank, with axis 0 counting samples; when the
// file is a whole batch (batch true), axis 0 must also match a fixed batch
// size, and one rank less is allowed too: a single sample.
func checkFile(path string, in *ir.Value, dt ir.DType, shape []int64, batch bool) error {
	want := in.Type
	if want.DType != ir.Undefined && dt != want.DType {
		return fmt.Errorf("%s: dtype %s, but input %q is %s; convert it, e.g. np.save(path, a.astype(np.float32))", path, dt, in.Name, want)
	}
	if !want.Ranked {
		return nil
	}
	dims, got := want.Shape, shape
	switch {
	case len(got) == len(dims) && !batch && len(dims) > 0:
		dims, got = dims[1:], got[1:] // streamed: any number of samples
	case len(got) == len(dims):
	case batch && len(got) == len(dims)-1:
		dims = dims[1:]
	default:
		return fmt.Errorf("%s: shape %v, but input %q is %s; want axis 0 to count samples and the other axes to match", path, shape, in.Name, want)
	}
	for i, d := range dims {
		if d.Known() && d.Size != got[i] {
			return fmt.Errorf("%s: shape %v does not match input %q, %s", path, shape, in.Name, want)
		}
	}
	return nil
}

// fileSamples is the number of samples in a batch file checked by
// checkFile: axis 0 if the file has the input's rank, else one.
func fileSamples(in *ir.Value, shape []int64) int {
	if len(shape) > 0 && (!in.Type.Ranked || len(shape) == len(in.Type.Shape)) {
		return int(shape[0])
	}
	return 1
}

// Samples is the number of samples the source yields.
func (s *NPYSource) Samples() int { return s.samples }

// Next reads the next batch; io.EOF after the last.
func (s *NPYSource) Next() (map[string]*ir.Tensor, error) {
	if s.file != nil {
		if s.left == 0 {
			return nil, io.EOF
		}
		t, err := s.file.ReadRows(s.batch)
		if err != nil {
			return nil, err
		}
		s.left -= int(t.Shape[0])
		return map[string]*ir.Tensor{s.inputs[0].Name: t}, nil
	}
	if s.next >= len(s.files) {
		return nil, io.EOF
	}
	batch := map[string]*ir.Tensor{}
	for i, in := range s.inputs {
		t, err := npy.Read(s.files[s.next][i])
		if err != nil {
			return nil, err
		}
		if in.Type.Ranked && len(t.Shape) == len(in.Type.Shape)-1 {
			t.Shape = append([]int64{1}, t.Shape...)
		}
		batch[in.Name] = t
	}
	s.next++
	return batch, nil
}

// Close releases the open file, if any.
func (s *NPYSource) Close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

// inputNames lists the inputs' names for messages: "a", "b".
func inputNames(ins []*ir.Value) string {
	q := make([]string, len(ins))
	for i, v := range ins {
		q[i] = fmt.Sprintf("%q", v.Name)
	}
	return strings.Join(q, ", ")
}
