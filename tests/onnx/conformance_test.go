package onnxconf

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// testdataRoot is where Debian's libonnx-testdata package installs the ONNX
// backend test data; EFFC_ONNX_TESTDATA overrides it.
func testdataRoot() string {
	if r := os.Getenv("EFFC_ONNX_TESTDATA"); r != "" {
		return r
	}
	return "/usr/share/libonnx-testdata/data"
}

// interpEngine runs graphs on the reference interpreter.
type interpEngine struct{}

func (interpEngine) Name() string { return "interp" }

func (interpEngine) Run(g *ir.Graph, inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return interp.Run(g, inputs)
}

// TestConformance runs every ONNX backend test on the interpreter, one
// subtest per test folder: go test ./tests/onnx -run TestConformance/node/test_abs.
// EFFC_CONFORMANCE_REPORT=path writes the per-test report there.
func TestConformance(t *testing.T) {
	root := testdataRoot()
	tests, err := Tests(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Skipf("no ONNX test data under %s (install libonnx-testdata or set EFFC_ONNX_TESTDATA)", root)
	}
	rep := Report{Engine: interpEngine{}.Name()}
	for _, name := range tests {
		var res Result
		t.Run(name, func(t *testing.T) {
			res = RunTest(root, name, interpEngine{}, Skips, ToleranceFor)
			switch res.Status {
			case Skipped:
				t.Skip(res.Detail)
			case Failed:
				t.Error(res.Detail)
			}
		})
		if res.Test != "" { // empty when -run filtered the subtest out
			rep.Results = append(rep.Results, res)
		}
	}
	if path := os.Getenv("EFFC_CONFORMANCE_REPORT"); path != "" {
		if err := writeReport(path, rep); err != nil {
			t.Errorf("writing conformance report: %v", err)
		}
	}
	t.Log(rep.Summary())
	fmt.Println(rep.Summary())
}

// writeReport writes the per-test lines, the summary, then the failures
// grouped by cause, largest group first.
func writeReport(path string, rep Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := rep.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	groups := Group(rep)
	causes := make([]string, 0, len(groups))
	for c := range groups {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(groups[causes[i]]) != len(groups[causes[j]]) {
			return len(groups[causes[i]]) > len(groups[causes[j]])
		}
		return causes[i] < causes[j]
	})
	fmt.Fprintln(f, "\nfailures by cause:")
	for _, c := range causes {
		fmt.Fprintf(f, "%4d  %s\n      %s\n", len(groups[c]), c, strings.Join(groups[c], " "))
	}
	return f.Close()
}

// TestSkipsExist keeps the skip table honest: every entry names a real test.
func TestSkipsExist(t *testing.T) {
	tests, err := Tests(testdataRoot())
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) == 0 {
		t.Skip("no ONNX test data")
	}
	have := map[string]bool{}
	for _, n := range tests {
		have[n] = true
	}
	for n := range Skips {
		if !have[n] {
			t.Errorf("Skips lists %q, which is not a test under %s", n, testdataRoot())
		}
	}
}
