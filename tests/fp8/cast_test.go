package fp8

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/effc/effc/backend/engine"
	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// castInputs are edgeInputs plus a seeded sample of random bit patterns and
// of values spread over every format's range.
func castInputs() []float32 {
	xs := edgeInputs()
	rng := rand.New(rand.NewPCG(8, 8))
	for range 4096 {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
	}
	for range 4096 {
		xs = append(xs, float32(math.Ldexp(rng.NormFloat64(), rng.IntN(40)-22)))
	}
	return xs
}

// sameBits compares float32 results: bit for bit, except that NaNs need
// only agree in sign (payloads are not specified).
func sameBits(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b && math.Signbit(float64(a)) == math.Signbit(float64(b))
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestCodes checks every one of the 256 codes of each format: ir decodes it
// to the reference's value (NaN codes to a NaN of the code's sign, except
// the FNUZ NaN 0x80), and encoding the value gives the code back, with or
// without saturation; a NaN code comes back as the format's NaN of that
// sign (E5M2 has three NaN payloads per sign and keeps S.11111.11).
func TestCodes(t *testing.T) {
	for _, f := range formats {
		nans, infs := 0, 0
		for c := range 256 {
			code := uint8(c)
			want := f.decode(code)
			got := ir.FP8ToFloat32(f.dt, code)
			switch {
			case math.IsNaN(want):
				nans++
				if got == got {
					t.Errorf("%s %#02x decodes to %v, want NaN", f.name, c, got)
				}
				if !f.fnuz && math.Signbit(float64(got)) != (code&0x80 != 0) {
					t.Errorf("%s %#02x decodes to a NaN of the wrong sign (%#08x)", f.name, c, math.Float32bits(got))
				}
			case math.Float64bits(float64(got)) != math.Float64bits(want):
				t.Errorf("%s %#02x decodes to %v, want %v", f.name, c, got, want)
			}
			if math.IsInf(want, 0) {
				infs++
			}
			for _, sat := range []bool{true, false} {
				back := ir.Float32ToFP8(f.dt, got, sat)
				wantBack := code
				switch {
				case f.isNaN(code):
					wantBack = f.nan(code & 0x80)
				case math.IsInf(want, 0) && sat:
					wantBack = code&0x80 | f.maxCode
				}
				if back != wantBack {
					t.Errorf("%s %#02x -> %v -> %#02x (saturate=%v), want %#02x", f.name, c, got, back, sat, wantBack)
				}
			}
		}
		// E4M3FN: 2 NaNs, no Inf; E5M2: 6 NaNs, 2 Inf; FNUZ: 1 NaN.
		want := map[ir.DType][2]int{ir.Float8E4M3FN: {2, 0}, ir.Float8E5M2: {6, 2}, ir.Float8E4M3FNUZ: {1, 0}, ir.Float8E5M2FNUZ: {1, 0}}[f.dt]
		if nans != want[0] || infs != want[1] {
			t.Errorf("%s: %d NaN and %d Inf codes, want %d and %d", f.name, nans, infs, want[0], want[1])
		}
		if got := f.decode(f.maxCode); got != f.maxFinite {
			t.Errorf("%s: max code %#02x is %v, want %v", f.name, f.maxCode, got, f.maxFinite)
		}
	}
}

// TestEncodeEdges checks ir.Float32ToFP8 against the reference on the edge
// inputs and a random sample, for both saturate modes.
func TestEncodeEdges(t *testing.T) {
	xs := castInputs()
	for _, f := range formats {
		for _, sat := range []bool{true, false} {
			bad := 0
			for _, x := range xs {
				got, want := ir.Float32ToFP8(f.dt, x, sat), f.encode(x, sat)
				if got != want {
					if bad++; bad <= 5 {
						t.Errorf("%s saturate=%v: %g (%#08x) encodes to %#02x, want %#02x", f.name, sat, x, math.Float32bits(x), got, want)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s saturate=%v: %d of %d inputs differ", f.name, sat, bad, len(xs))
			}
		}
	}
}

// TestSpecExamples pins the cases the specification and the issue name,
// independently of both implementations.
func TestSpecExamples(t *testing.T) {
	e4, e5 := formats[0], formats[2]
	for _, c := range []struct {
		f    format
		x    float32
		sat  bool
		want uint8
	}{
		{e4, 448, false, 0x7e},
		{e4, 460, false, 0x7e},  // below the midpoint 464
		{e4, 464, false, 0x7e},  // the midpoint: ties to 448's even mantissa
		{e4, 470, false, 0x7f},  // rounds to 480, beyond max: NaN
		{e4, -470, false, 0xff}, // NaN keeps the sign
		{e4, 470, true, 0x7e},
		{e4, float32(math.Inf(-1)), true, 0xfe},
		{e4, float32(math.Inf(1)), false, 0x7f},
		{e4, 0x1p-10, true, 0x00},                   // half the smallest subnormal: ties to 0
		{e4, math.Nextafter32(0x1p-10, 1), true, 1}, // just above: the smallest subnormal
		{e4, -0x1p-10, true, 0x80},                  // -0 kept
		{e4, 0x1.ep-7, true, 0x08},                  // 0.9375*2^-6 between 0.875*2^-6 and 2^-6: tie to even 0x08
		{e4, 1.0625, true, 0x38},                    // 1 + 1/16: tie between 1 (0x38) and 1.125 (0x39), even 0x38
		{e4, 1.1875, true, 0x3a},                    // tie between 1.125 and 1.25: even 0x3a
		{e5, 61440, false, 0x7c},                    // midpoint to 65536: ties up (57344's mantissa is odd): Inf
		{e5, 61439, false, 0x7b},
		{e5, 61440, true, 0x7b},
		{e5, float32(math.Inf(1)), false, 0x7c},
		{e5, float32(math.Inf(-1)), true, 0xfb},
		{e5, 0x1p-17, true, 0x00},          // half the smallest subnormal 2^-16
		{formats[1], -0x1p-12, true, 0x00}, // FNUZ: no -0
		{formats[1], 248, false, 0x80},     // E4M3FNUZ midpoint above 240 (odd): NaN
		{formats[3], float32(math.Inf(1)), true, 0x7f},
		{formats[3], float32(math.Inf(-1)), false, 0x80},
	} {
		if got := c.f.encode(c.x, c.sat); got != c.want {
			t.Errorf("reference %s(%g, saturate=%v) = %#02x, want %#02x", c.f.name, c.x, c.sat, got, c.want)
		}
		if got := ir.Float32ToFP8(c.f.dt, c.x, c.sat); got != c.want {
			t.Errorf("ir %s(%g, saturate=%v) = %#02x, want %#02x", c.f.name, c.x, c.sat, got, c.want)
		}
	}
}

// castGraph is a graph over input %x (f32[n]) and one input of the 256
// codes per format: per format, Cast to it with saturate 1 and 0,
// QuantizeLinear with scale 1 and an fp8 zero point (saturate 1 and 0),
// Cast of the codes to f32, DequantizeLinear of the codes per tensor, and
// per axis on [16,16] along axis 0 and axis 1 (the decoder's two vector
// layouts) and on [8,32] rows.
func castGraph(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "effir 1\ngraph \"fp8cast\" opset{ai.onnx=19} {\n  input %%x : f32[%d]\n", n)
	for _, f := range formats {
		fmt.Fprintf(&b, "  input %%c_%s : %s[256]\n  input %%m_%s : %s[16,16]\n  input %%r_%s : %s[8,32]\n", f.name, f.dt, f.name, f.dt, f.name, f.dt)
	}
	b.WriteString("  const %one : f32[] = 1.0\n")
	b.WriteString("  const %s16 : f32[16] = [1, 0.5, 2, 0.25, 4, 0.125, 8, 1.5, 3, 0.75, 1, 1, 0.0625, 16, 1, 2]\n")
	b.WriteString("  const %s8 : f32[8] = [1, 0.5, 2, 0.25, 4, 0.125, 8, 1.5]\n")
	for _, f := range formats {
		fmt.Fprintf(&b, "  const %%z_%s : %s[] = 0.0\n", f.name, f.dt)
		fmt.Fprintf(&b, "  const %%zp_%s : %s[16] = [%s]\n", f.name, f.dt, zeroPoints)
	}
	for _, f := range formats {
		d, nm := f.dt, f.name
		fmt.Fprintf(&b, "  %%cs1_%s : %s[%d] = Cast(%%x) {saturate=1, to=%d}  @cast1_%s\n", nm, d, n, int(d), nm)
		fmt.Fprintf(&b, "  %%cs0_%s : %s[%d] = Cast(%%x) {saturate=0, to=%d}  @cast0_%s\n", nm, d, n, int(d), nm)
		fmt.Fprintf(&b, "  %%q1_%s : %s[%d] = QuantizeLinear(%%x, %%one, %%z_%s)  @q1_%s\n", nm, d, n, nm, nm)
		fmt.Fprintf(&b, "  %%q0_%s : %s[%d] = QuantizeLinear(%%x, %%one, %%z_%s) {saturate=0}  @q0_%s\n", nm, d, n, nm, nm)
		fmt.Fprintf(&b, "  %%dc_%s : f32[256] = Cast(%%c_%s) {to=1}  @dcast_%s\n", nm, nm, nm)
		fmt.Fprintf(&b, "  %%dq_%s : f32[256] = DequantizeLinear(%%c_%s, %%one, %%z_%s)  @dq_%s\n", nm, nm, nm, nm)
		fmt.Fprintf(&b, "  %%dqa0_%s : f32[16,16] = DequantizeLinear(%%m_%s, %%s16) {axis=0}  @dqa0_%s\n", nm, nm, nm)
		fmt.Fprintf(&b, "  %%dqa1_%s : f32[16,16] = DequantizeLinear(%%m_%s, %%s16) {axis=1}  @dqa1_%s\n", nm, nm, nm)
		fmt.Fprintf(&b, "  %%dqr_%s : f32[8,32] = DequantizeLinear(%%r_%s, %%s8) {axis=0}  @dqr_%s\n", nm, nm, nm)
		fmt.Fprintf(&b, "  %%dqz0_%s : f32[16,16] = DequantizeLinear(%%m_%s, %%s16, %%zp_%s) {axis=0}  @dqz0_%s\n", nm, nm, nm, nm)
		fmt.Fprintf(&b, "  %%dqz1_%s : f32[16,16] = DequantizeLinear(%%m_%s, %%s16, %%zp_%s) {axis=1}  @dqz1_%s\n", nm, nm, nm, nm)
	}
	for _, f := range formats {
		for _, o := range []string{"cs1", "cs0", "q1", "q0", "dc", "dq", "dqa0", "dqa1", "dqr", "dqz0", "dqz1"} {
			fmt.Fprintf(&b, "  output %%%s_%s\n", o, f.name)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// zeroPoints are per-axis zero points (values every format holds exactly)
// for the DequantizeLinear cases with a zero point.
const zeroPoints = "0, 1, -1, 0.5, -0.5, 2, -2, 0.25, 0, 4, -4, 1.5, -1.5, 0.125, 8, -0"

// zeroPointValues are zeroPoints as numbers.
var zeroPointValues = []float64{0, 1, -1, 0.5, -0.5, 2, -2, 0.25, 0, 4, -4, 1.5, -1.5, 0.125, 8, 0}

// castCase builds the graph and its inputs: the cast inputs as %x and the
// 256 codes (in code order, then shuffled for the [8,32] input) per format.
func castCase(t *testing.T) (*ir.Graph, map[string]*ir.Tensor, []float32) {
	t.Helper()
	xs := castInputs()
	g, err := ir.Parse([]byte(castGraph(len(xs))))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{"x": ir.FromFloat32([]int64{int64(len(xs))}, xs)}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range formats {
		codes := make([]uint8, 256)
		for c := range codes {
			codes[c] = uint8(c)
		}
		in["c_"+f.name] = &ir.Tensor{DType: f.dt, Shape: []int64{256}, Data: codes}
		in["m_"+f.name] = &ir.Tensor{DType: f.dt, Shape: []int64{16, 16}, Data: append([]uint8{}, codes...)}
		sh := append([]uint8{}, codes...)
		rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		in["r_"+f.name] = &ir.Tensor{DType: f.dt, Shape: []int64{8, 32}, Data: sh}
	}
	return g, in, xs
}

// checkOutputs compares every output of a run against the reference.
func checkOutputs(t *testing.T, engine string, out map[string]*ir.Tensor, in map[string]*ir.Tensor, xs []float32) {
	t.Helper()
	s16 := []float32{1, 0.5, 2, 0.25, 4, 0.125, 8, 1.5, 3, 0.75, 1, 1, 0.0625, 16, 1, 2}
	for _, f := range formats {
		// QuantizeLinear adds the zero point (+0) to x / 1: -0 becomes +0.
		var zp float32
		codes := func(name string, sat bool, add bool) {
			got, ok := out[name+"_"+f.name]
			if !ok {
				t.Fatalf("%s: no output %s_%s", engine, name, f.name)
			}
			d := got.Data.([]uint8)
			bad := 0
			for i, x := range xs {
				if add {
					x += zp
				}
				if want := f.encode(x, sat); d[i] != want {
					if bad++; bad <= 3 {
						t.Errorf("%s %s_%s: %g (%#08x) gives %#02x, want %#02x", engine, name, f.name, x, math.Float32bits(x), d[i], want)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s %s_%s: %d of %d differ", engine, name, f.name, bad, len(xs))
			}
		}
		codes("cs1", true, false)
		codes("cs0", false, false)
		codes("q1", true, true)
		codes("q0", false, true)
		floats := func(name string, src string, scale func(i int) float32, zp func(i int) float64) {
			got := out[name+"_"+f.name].Data.([]float32)
			c := in[src+"_"+f.name].Data.([]uint8)
			bad := 0
			for i, v := range got {
				want := float32(f.decode(c[i])-zp(i)) * scale(i)
				// Inf - Inf: the NaN's sign is the hardware's choice.
				if !sameBits(v, want) && !(v != v && want != want && zp(i) != 0) {
					if bad++; bad <= 3 {
						t.Errorf("%s %s_%s[%d]: code %#02x gives %v (%#08x), want %v", engine, name, f.name, i, c[i], v, math.Float32bits(v), want)
					}
				}
			}
		}
		one := func(int) float32 { return 1 }
		zero := func(int) float64 { return 0 }
		floats("dc", "c", one, zero)
		floats("dq", "c", one, zero)
		floats("dqa0", "m", func(i int) float32 { return s16[i/16] }, zero)
		floats("dqa1", "m", func(i int) float32 { return s16[i%16] }, zero)
		floats("dqr", "r", func(i int) float32 { return s16[i/32] }, zero)
		floats("dqz0", "m", func(i int) float32 { return s16[i/16] }, func(i int) float64 { return zeroPointValues[i/16] })
		floats("dqz1", "m", func(i int) float32 { return s16[i%16] }, func(i int) float64 { return zeroPointValues[i%16] })
	}
}

// TestInterpreter checks the interpreter's Cast, QuantizeLinear and
// DequantizeLinear against the reference.
func TestInterpreter(t *testing.T) {
	g, in, xs := castCase(t)
	out, err := interp.Run(g, in)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, "interp", out, in, xs)
}

// TestCompiled checks the compiled kernels on every target against the
// reference.
func TestCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles for three targets")
	}
	targets := []string{"x86_64", "arm64", "wasm32"}
	if hostHasAVX512() {
		targets = append(targets, "x86_64-avx512")
	}
	for _, name := range targets {
		t.Run(name, func(t *testing.T) {
			spec, err := target.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			g, in, xs := castCase(t)
			out, err := (&engine.Engine{Spec: spec}).Run(g, in)
			if err != nil {
				t.Fatal(err)
			}
			checkOutputs(t, name, out, in, xs)
		})
	}
}

// hostHasAVX512 reports whether this machine runs x86_64-avx512 artifacts
// (Ice Lake server features: AVX-512 F/BW/DQ/VL and VNNI).
func hostHasAVX512() bool {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || runtime.GOARCH != "amd64" {
		return false
	}
	for _, f := range []string{"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"} {
		if !strings.Contains(string(info), " "+f) {
			return false
		}
	}
	return true
}
