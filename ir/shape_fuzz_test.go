package ir

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzInferShapes parses IR text and runs Verify, InferShapes, BindBatch
// and InferShapes again: whatever the input, they return errors, never
// panic, and a graph that verified still verifies after inference.
func FuzzInferShapes(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.effir"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("effir 1\ngraph \"g\" {\n  input %x : f32[N,3,8,8]\n  const %w : f32[4,3,3,3] = elided 432B sha256:0000000000000000\n" +
		"  %y : f32[N,4,6,6] = Conv(%x, %w)\n  %z : i64[4] = Shape(%y)\n  %r : f32[N,144] = Reshape(%y, %s)\n" +
		"  const %s : i64[2] = [0, -1]\n  output %r\n}\n"))
	f.Add([]byte("effir 1\ngraph \"g\" {\n  input %x : f32[N,1048576,1048576]\n  %y : f32[*] = Relu(%x)\n  output %y\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Parse(src)
		if err != nil {
			return
		}
		verified := Verify(g) == nil
		if err := InferShapes(g); err != nil {
			return
		}
		if verified {
			if err := Verify(g); err != nil {
				t.Fatalf("verified before InferShapes, not after: %v", err)
			}
		}
		if BindBatch(g, 2) == nil {
			_ = InferShapes(g)
		}
	})
}
