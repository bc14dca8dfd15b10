package frontend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hand.onnx")
	g := handGraph()
	if err := Save(g, path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := graphDiff(g, back); d != "" {
		t.Errorf("Load(Save(g)) differs:\n%s", d)
	}
}

// TestSaveFailureLeavesNothing: a graph Encode refuses leaves an existing
// file untouched and no temporary file behind; a missing folder is an error
// naming the path.
func TestSaveFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := handGraph()
	g.Nodes[1].Op, g.Nodes[1].Domain = "FusedConv", "effc"
	err := Save(g, path)
	if err == nil || !strings.HasPrefix(err.Error(), "save "+path+": ") || !strings.Contains(err.Error(), "fuse-epilogue") {
		t.Errorf("Save of an effc op: error %v, want one starting with the path and naming fuse-epilogue", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("failed Save changed %s to %q", path, b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("failed Save left %d files in %s, want only the old model", len(ents), dir)
	}
	missing := filepath.Join(dir, "no-such-dir", "model.onnx")
	if err := Save(handGraph(), missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Save into a missing folder: error %v, want one naming %s", err, missing)
	}
}
