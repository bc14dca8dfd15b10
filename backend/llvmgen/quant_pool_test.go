package llvmgen_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/effc/effc/backend"
	"github.com/effc/effc/backend/target"
)

// TestQLinearAveragePoolKernel checks effc.QLinearAveragePool and
// effc.QLinearGlobalAveragePool bit-exactly against the interpreter on
// every target: u8 and i8, 1-D, 2-D (the row path) and 3-D windows, pads,
// count_include_pad 0 and 1, ceil_mode, dilations, auto_pad, equal scales
// (ties that round half to even) and zero points that saturate both ends.
func TestQLinearAveragePoolKernel(t *testing.T) {
	src := `effir 1
graph "qavg" opset{ai.onnx=18, effc=1} {
  input %x : u8[2,3,7,9]
  input %c : i8[2,3,7,9]
  input %x1 : u8[2,3,10]
  input %x3 : i8[1,2,4,5,3]
  input %big : i8[1,2,33,35]
  const %xs : f32[] = 0.05
  const %xz : u8[] = 128
  const %ys : f32[] = 0.02
  const %yz : u8[] = 10
  const %ys2 : f32[] = 0.1
  const %yz2 : u8[] = 128
  const %cs : f32[] = 0.03
  const %cz : i8[] = -128
  const %cz2 : i8[] = 5
  const %ds : f32[] = 0.04
  const %dz : i8[] = 127
  const %dz2 : i8[] = -3
  %a : u8[2,3,4,5] = effc::QLinearAveragePool(%x, %xs, %xz, %ys, %yz) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}  @pad_exclude
  %b : u8[2,3,4,5] = effc::QLinearAveragePool(%x, %xs, %xz, %ys2, %yz2) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1}  @pad_include
  %e : u8[2,3,4,5] = effc::QLinearAveragePool(%x, %xs, %xz, %xs, %xz) {kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 1, 0], ceil_mode=1, count_include_pad=1}  @ceil_ties
  %f : i8[2,3,5,3] = effc::QLinearAveragePool(%c, %cs, %cz, %ds, %dz) {kernel_shape=[2, 2], strides=[1, 3], dilations=[2, 1]}  @dilated
  %h : i8[2,3,4,5] = effc::QLinearAveragePool(%c, %cs, %cz2, %ds, %dz2) {kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1}  @same
  %i : i8[2,3,4,5] = effc::QLinearAveragePool(%c, %cs, %cz2, %cs, %dz2) {kernel_shape=[5, 5], strides=[3, 3], pads=[4, 4, 4, 4]}  @wide_pads
  %j : u8[2,3,5] = effc::QLinearAveragePool(%x1, %xs, %xz, %ys2, %yz2) {kernel_shape=[3], strides=[2], pads=[1, 1], count_include_pad=1}  @one_d
  %k : i8[1,2,3,2,3] = effc::QLinearAveragePool(%x3, %cs, %cz2, %ds, %dz2) {kernel_shape=[2, 2, 2], strides=[2, 2, 1], pads=[1, 0, 1, 1, 0, 0]}  @three_d
  %g1 : u8[2,3,1,1] = effc::QLinearGlobalAveragePool(%x, %xs, %xz, %ys, %yz)  @gap_u8
  %g2 : u8[2,3,1] = effc::QLinearGlobalAveragePool(%x1, %xs, %xz, %xs, %xz)  @gap_1d_ties
  %g3 : i8[1,2,1,1] = effc::QLinearGlobalAveragePool(%big, %cs, %cz2, %ds, %dz2)  @gap_i8
  %g4 : i8[2,3,1,1] = effc::QLinearGlobalAveragePool(%c, %cs, %cz, %ds, %dz)  @gap_saturate
  output %a
  output %b
  output %e
  output %f
  output %h
  output %i
  output %j
  output %k
  output %g1
  output %g2
  output %g3
  output %g4
}
`
	g := parseGraph(t, src)
	for seed := uint64(1); seed <= 2; seed++ {
		in := randomInputs(g, seed, 0, 256, nil)
		for name, tv := range randomInputs(g, seed+10, -128, 128, nil) {
			if tv.DType.String() == "i8" {
				in[name] = tv
			}
		}
		checkOnTargets(t, src, in, 0)
	}
}

// TestQLinearAveragePoolVectorizes checks model.s for vector int32 adds in
// both kernels (the plane reduction of the global pool, the row
// accumulation of the 2-D pool), so the int32 accumulation stays
// vectorized on every target.
func TestQLinearAveragePoolVectorizes(t *testing.T) {
	graphs := map[string]string{
		"global": `  input %x : u8[1,64,14,14]
  const %s : f32[] = 0.05
  const %z : u8[] = 3
  %y = effc::QLinearGlobalAveragePool(%x, %s, %z, %s, %z)
  output %y`,
		"pool": `  input %x : i8[1,16,56,56]
  const %s : f32[] = 0.05
  const %z : i8[] = 3
  %y = effc::QLinearAveragePool(%x, %s, %z, %s, %z) {kernel_shape=[3, 3], pads=[1, 1, 1, 1]}
  output %y`,
	}
	want := map[string]string{"x86_64": `vpaddd\s.*%[xy]mm`, "arm64": `add\s+v\d+\.4s`, "wasm32": `i32x4\.add`}
	for _, name := range targetNames {
		spec, err := target.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for gname, body := range graphs {
			g := parseGraph(t, "effir 1\ngraph \"g\" opset{ai.onnx=18, effc=1} {\n"+body+"\n}\n")
			dir := t.TempDir()
			if _, err := backend.Compile(context.Background(), g, spec, backend.Options{OutDir: filepath.Join(dir, "out"), Emit: []string{backend.EmitAsm}}); err != nil {
				t.Fatalf("%s %s: %v", name, gname, err)
			}
			asm, err := os.ReadFile(filepath.Join(dir, "out", "model.s"))
			if err != nil {
				t.Fatal(err)
			}
			if re := regexp.MustCompile(want[name]); !re.Match(asm) {
				t.Errorf("%s: %s kernel has no %q in model.s: not vectorized", name, gname, re)
			}
		}
	}
}
