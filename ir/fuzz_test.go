package ir

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to Parse. Parse must not panic, and
// whatever it accepts must print, parse again, and print the same text in
// both weight modes.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.effir"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	// Full-mode text of the small graphs (resnet_block's weights would make
	// a 50KB seed, too big to mutate usefully), and short hand-written seeds.
	f.Add([]byte(Format(dtypes(), PrintOptions{Weights: WeightsFull})))
	f.Add([]byte(Format(quantized(), PrintOptions{Weights: WeightsFull})))
	f.Add([]byte("effir 1\ngraph \"g\" {\n  input %x : f32[2]\n  %z : f32[2] = Neg(%y) @b\n  %y : f32[2] = Relu(%x) @a\n  output %z\n}\n"))
	f.Add([]byte("effir 1\ngraph \"g\" {\n  const %c : f16[2] = [nan:0x7e01, -0]\n  () = X(%c) {f=[1.0, nan], t=bf16[] 1.5, s=strings[]}\n  output %c\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Parse(src)
		if err != nil {
			return
		}
		for _, mode := range []WeightMode{WeightsElided, WeightsFull} {
			opts := PrintOptions{Weights: mode}
			text := Format(g, opts)
			g2, err := Parse([]byte(text))
			if err != nil {
				t.Fatalf("mode %d: Parse(Format(Parse(src))) failed: %v\n%s", mode, err, text)
			}
			if text2 := Format(g2, opts); text2 != text {
				t.Fatalf("mode %d: printing is not stable:\n%s\n---\n%s", mode, text, text2)
			}
			if mode == WeightsFull {
				if d := graphDiff(g, g2); d != "" {
					t.Fatalf("Parse(Format(g, full)) != g:\n%s", d)
				}
			}
		}
	})
}
