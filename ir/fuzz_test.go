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
	for _, c := range goldenCases {
		f.Add([]byte(Format(c.build(), PrintOptions{Weights: WeightsFull})))
	}
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
