// Package ortrun runs ONNX models in ONNX Runtime for Node (onnxruntime-node,
// installed into the repository's bench folder by `make bench-deps`) with
// one thread, so tests can check that the models effc writes are models ONNX
// Runtime accepts, and compare its outputs with effc's interpreter.
//
// The work is done by bench/ort-run.mjs, a Node process that reads jobs on
// stdin. Tensors travel through files in a per-run temporary folder: an
// inputs.json/outputs.json list of {name, type, dims} entries, each naming a
// file of raw little-endian elements (string tensors are inline). The
// exchange supports f32, f64, f16, i8–i64, u8–u64, bool and string; other
// dtypes (bf16, the FP8 formats, complex) are an error, because
// onnxruntime-node has no tensor type for them.
//
// # Finding the bench folder
//
// EFFC_BENCH_DIR names the folder holding ort-run.mjs and node_modules. When
// it is unset, the folder is bench/ of the source tree this package was
// compiled from (runtime.Caller), and failing that the first bench/ holding
// ort-run.mjs in the working directory or one of its parents.
package ortrun

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/effc/effc/ir"
)

// BenchDirEnv is the environment variable that overrides the bench folder.
const BenchDirEnv = "EFFC_BENCH_DIR"

// script is the Node program in the bench folder that runs the jobs.
const script = "ort-run.mjs"

// BenchDir returns the bench folder: $EFFC_BENCH_DIR, else the repository's
// bench/ next to this package's source, else a bench/ holding ort-run.mjs in
// the working directory or above.
func BenchDir() (string, error) {
	if d := os.Getenv(BenchDirEnv); d != "" {
		if !exists(filepath.Join(d, script)) {
			return "", fmt.Errorf("%s=%s: no %s there", BenchDirEnv, d, script)
		}
		return filepath.Abs(d)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "..", "bench")
		if exists(filepath.Join(d, script)) {
			return filepath.Abs(d)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the bench folder: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if exists(filepath.Join(d, "bench", script)) {
			return filepath.Join(d, "bench"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no bench/%s in %s or its parents; set %s to the effc repository's bench folder", script, wd, BenchDirEnv)
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Available reports whether Run can work: node is on the PATH and the bench
// folder holds ort-run.mjs and node_modules/onnxruntime-node. The error says
// what is missing and that `make bench-deps` installs ONNX Runtime.
func Available() error {
	_, err := available()
	return err
}

// available returns the bench folder when everything Run needs is present.
func available() (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("ONNX Runtime for Node is not available: node is not on the PATH (install Node.js, then run `make bench-deps`)")
	}
	dir, err := BenchDir()
	if err != nil {
		return "", fmt.Errorf("ONNX Runtime for Node is not available: %w", err)
	}
	if !exists(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")) {
		return "", fmt.Errorf("ONNX Runtime for Node is not installed in %s: run `make bench-deps`", filepath.Join(dir, "node_modules"))
	}
	return dir, nil
}

// Run runs the ONNX model at modelPath in ONNX Runtime with one thread on
// inputs (keyed by graph input name) and returns every output of the model
// keyed by name. It starts a Node process for the one run; use a Runner for
// many models.
func Run(ctx context.Context, modelPath string, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	r := &Runner{}
	defer r.Close()
	return r.Run(ctx, modelPath, inputs)
}

// Runner runs models one after another in one Node process, which saves
// starting Node and loading ONNX Runtime (about 0.3 s) per model. It starts
// the process on the first Run and restarts it after a crash or a canceled
// run. A Runner is safe for concurrent use; runs are serialized. The zero
// value is ready to use; Close stops the process.
type Runner struct {
	mu     sync.Mutex
	proc   *process
	nextID int
}

// process is one running ort-run.mjs.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string   // stdout, one line each; closed at EOF
	exited chan struct{} // closed once cmd.Wait returned
	stderr *tail
	err    error // cmd.Wait's result, set before exited is closed
}

// Run is the package-level Run, in the Runner's Node process.
func (r *Runner) Run(ctx context.Context, modelPath string, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	model, err := filepath.Abs(modelPath)
	if err != nil {
		return nil, fmt.Errorf("ortrun: model path: %w", err)
	}
	dir, err := os.MkdirTemp("", "ortrun-")
	if err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := writeTensors(dir, inputs); err != nil {
		return nil, fmt.Errorf("ortrun: writing inputs of %s: %w", modelPath, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ortrun: %s: %w", modelPath, err)
	}
	if r.proc == nil {
		p, err := start()
		if err != nil {
			return nil, err
		}
		r.proc = p
	}
	r.nextID++
	id := r.nextID
	job, err := json.Marshal(struct {
		ID    int    `json:"id"`
		Model string `json:"model"`
		Dir   string `json:"dir"`
	}{id, model, dir})
	if err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	if _, err := r.proc.stdin.Write(append(job, '\n')); err != nil {
		return nil, r.fail(fmt.Errorf("ortrun: sending the job for %s: %w", modelPath, err))
	}
	for {
		select {
		case <-ctx.Done():
			return nil, r.fail(fmt.Errorf("ortrun: %s: %w", modelPath, ctx.Err()))
		case line, ok := <-r.proc.lines:
			if !ok {
				return nil, r.fail(fmt.Errorf("ortrun: %s: onnxruntime-node exited without answering", modelPath))
			}
			var reply struct {
				ID    int    `json:"id"`
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if json.Unmarshal([]byte(line), &reply) != nil || reply.ID != id {
				continue // not a reply to this job: something the runtime printed
			}
			if !reply.OK {
				return nil, fmt.Errorf("onnxruntime: %s: %s", modelPath, reply.Error)
			}
			out, err := readTensors(dir)
			if err != nil {
				return nil, fmt.Errorf("ortrun: reading the outputs of %s: %w", modelPath, err)
			}
			return out, nil
		}
	}
}

// Close stops the Node process, if one is running.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return nil
	}
	p := r.proc
	r.proc = nil
	p.stdin.Close() // the script ends at EOF
	p.wait()
	if p.err != nil {
		return fmt.Errorf("ortrun: node %s: %w%s", script, p.err, p.stderr.suffix())
	}
	return nil
}

// fail stops the process after a broken run, so the next Run starts a
// fresh one, and returns err with the end of the process's stderr.
func (r *Runner) fail(err error) error {
	p := r.proc
	r.proc = nil
	p.cmd.Process.Kill()
	p.wait()
	return fmt.Errorf("%w%s", err, p.stderr.suffix())
}

// wait drains stdout, so the reader can reach cmd.Wait, and waits for the
// process to exit.
func (p *process) wait() {
	for range p.lines {
	}
	<-p.exited
}

// start launches node ort-run.mjs in the bench folder.
func start() (*process, error) {
	dir, err := available()
	if err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	cmd := exec.Command("node", filepath.Join(dir, script))
	cmd.Dir = dir
	p := &process{cmd: cmd, lines: make(chan string, 1), exited: make(chan struct{}), stderr: &tail{}}
	cmd.Stderr = p.stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ortrun: starting node %s: %w", script, err)
	}
	go func() {
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				p.lines <- strings.TrimSpace(line)
			}
			if err != nil {
				break
			}
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// tail keeps the last tailSize bytes written to it: the end of the Node
// process's stderr, quoted in errors.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailSize:]...)
	}
	return len(b), nil
}

// suffix is "; stderr: ..." or "" when nothing was written.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return "; stderr: " + s
}
