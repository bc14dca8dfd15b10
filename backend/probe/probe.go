// Package probe measures the peak floating-point throughput of a target: a
// generated loop of independent vector fused multiply-adds, compiled with
// llc for the target, linked with a small C timing harness and run natively
// or under the target's emulator. 'effc bench --peak' reports it, and bench
// compares a model's GFLOP/s with it.
//
// The kernel keeps Accumulators independent vector accumulators of
// VectorBits/32 float lanes, so that the FMA units are never waiting for a
// previous result: with 4-cycle FMA latency and two FMA pipes, eight
// accumulators are the minimum, and twelve leave headroom. On a target
// without FMA (HasFMA false) each step is a multiply and an add, which counts
// as the same two FLOPs per lane.
package probe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/effc/effc/backend/target"
	"github.com/effc/effc/backend/toolchain"
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"
)

// Accumulators is the number of independent vector accumulators.
const Accumulators = 12

// rounds is how many times the loop body updates every accumulator per
// iteration, so that the loop counter costs next to nothing.
const rounds = 4

// KernelName is the C symbol of the generated kernel:
// float effc_probe_fma(int64_t iters, float a, float b).
const KernelName = "effc_probe_fma"

// seconds is how long each of the three timed runs of the harness lasts.
const seconds = "0.1"

// harness is the C timing main linked with the kernel. It calibrates the
// iteration count to about SECONDS per run, takes the best of three runs
// and prints "gflops G iters N seconds S sink X".
const harness = `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

float effc_probe_fma(int64_t iters, float a, float b);

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: probe FLOPS_PER_ITER SECONDS\n");
		return 2;
	}
	double per_iter = atof(argv[1]), target = atof(argv[2]);
	if (!(per_iter > 0) || !(target > 0)) {
		fprintf(stderr, "probe: FLOPS_PER_ITER and SECONDS must be positive\n");
		return 2;
	}
	/* volatile: the compiler must not see the values the kernel gets. */
	volatile float a = 0.9999f, b = 1e-4f;
	float sink = 0;
	int64_t n = 256;
	double t;
	for (;;) {
		double t0 = now();
		sink += effc_probe_fma(n, a, b);
		t = now() - t0;
		if (t >= target / 10 || n >= ((int64_t)1 << 40)) break;
		n *= 2;
	}
	double scale = target / (t > 1e-9 ? t : 1e-9);
	if (scale > 1) n = (int64_t)((double)n * scale);
	double best = 1e300;
	for (int r = 0; r < 3; r++) {
		double t0 = now();
		sink += effc_probe_fma(n, a, b);
		double dt = now() - t0;
		if (dt < best) best = dt;
	}
	if (!(best > 0)) {
		fprintf(stderr, "probe: the clock did not advance\n");
		return 1;
	}
	printf("gflops %.6f iters %lld seconds %.6f sink %g\n", per_iter * (double)n / best / 1e9, (long long)n, best, (double)sink);
	return 0;
}
`

// Peak compiles the FMA probe for spec, runs it (natively, or under the
// target's emulator, whose numbers measure the emulator rather than real
// hardware) and returns the measured GFLOP/s of one core.
func Peak(ctx context.Context, spec *target.Spec) (gflops float64, err error) {
	if spec.InProcess() {
		return 0, fmt.Errorf("peak probe: target %s runs in-process under wazero, which the probe does not drive; measure a native target (x86_64 --cpu native) instead", spec.Name)
	}
	dir, err := os.MkdirTemp("", "effc-probe-")
	if err != nil {
		return 0, fmt.Errorf("peak probe: %w", err)
	}
	defer os.RemoveAll(dir)
	m, perIter := Module(spec)
	if err := os.WriteFile(filepath.Join(dir, "probe.ll"), []byte(m.String()), 0o644); err != nil {
		return 0, fmt.Errorf("peak probe: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(harness), 0o644); err != nil {
		return 0, fmt.Errorf("peak probe: %w", err)
	}
	llcArgs := append(spec.LLCArgs(), "-filetype=obj", "-o", "probe.o", "probe.ll")
	if _, err := toolchain.Run(ctx, dir, "llc", llcArgs...); err != nil {
		return 0, fmt.Errorf("peak probe for %s --cpu %s: compiling the kernel: %w", spec.Name, spec.CPU, err)
	}
	if _, err := toolchain.Run(ctx, dir, spec.Link.CC, "-O2", "-o", "probe", "main.c", "probe.o"); err != nil {
		return 0, fmt.Errorf("peak probe for %s: linking the harness: %w", spec.Name, err)
	}
	argv, err := spec.RunArgs(filepath.Join(dir, "probe"))
	if err != nil {
		return 0, fmt.Errorf("peak probe: %w", err)
	}
	argv = append(argv, strconv.FormatInt(perIter, 10), seconds)
	out, err := toolchain.Run(ctx, dir, argv[0], argv[1:]...)
	if err != nil {
		return 0, fmt.Errorf("peak probe for %s --cpu %s: running it failed (if it died of an illegal instruction, this machine lacks that CPU's features: try --cpu native): %w",
			spec.Name, spec.CPU, err)
	}
	return parseOutput(string(out))
}

// parseOutput reads the harness's "gflops G ..." line.
func parseOutput(out string) (float64, error) {
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "gflops" {
		return 0, fmt.Errorf("peak probe: unexpected output %q", strings.TrimSpace(out))
	}
	g, err := strconv.ParseFloat(f[1], 64)
	if err != nil || !(g > 0) {
		return 0, fmt.Errorf("peak probe: bad GFLOP/s %q in output %q", f[1], strings.TrimSpace(out))
	}
	return g, nil
}

// Module generates the probe kernel for spec and returns it with the number
// of floating-point operations one loop iteration performs. The kernel is
//
//	float effc_probe_fma(int64_t iters, float a, float b)
//
// which runs iters iterations of rounds×Accumulators vector updates
// acc = acc*a + b, then returns the sum of every lane so that nothing is
// dead code. Callers pass a just below 1 so that the accumulators converge
// instead of overflowing.
func Module(spec *target.Spec) (m *ir.Module, flopsPerIter int64) {
	lanes := uint64(spec.VectorBits / 32)
	if lanes == 0 {
		lanes = 4
	}
	vt := types.NewVector(lanes, types.Float)
	m = ir.NewModule()
	m.TargetTriple = spec.Triple
	m.DataLayout = spec.DataLayout

	var fma *ir.Func
	if spec.HasFMA {
		name := fmt.Sprintf("llvm.fma.v%df32", lanes)
		fma = m.NewFunc(name, vt, ir.NewParam("", vt), ir.NewParam("", vt), ir.NewParam("", vt))
	}
	iters := ir.NewParam("iters", types.I64)
	pa := ir.NewParam("a", types.Float)
	pb := ir.NewParam("b", types.Float)
	f := m.NewFunc(KernelName, types.Float, iters, pa, pb)
	entry := f.NewBlock("entry")
	loop := f.NewBlock("loop")
	exit := f.NewBlock("exit")

	a := splat(entry, pa, vt)
	b := splat(entry, pb, vt)
	init := make([]value.Value, Accumulators)
	for k := range init {
		elems := make([]constant.Constant, lanes)
		for l := range elems {
			elems[l] = constant.NewFloat(types.Float, float64(k)+float64(l)/float64(lanes))
		}
		init[k] = constant.NewVector(vt, elems...)
	}
	zero := constant.NewInt(types.I64, 0)
	entry.NewCondBr(entry.NewICmp(enum.IPredSGT, iters, zero), loop, exit)

	i := loop.NewPhi(ir.NewIncoming(zero, entry))
	phis := make([]*ir.InstPhi, Accumulators)
	cur := make([]value.Value, Accumulators)
	for k := range phis {
		phis[k] = loop.NewPhi(ir.NewIncoming(init[k], entry))
		cur[k] = phis[k]
	}
	for r := 0; r < rounds; r++ {
		for k := range cur {
			if fma != nil {
				cur[k] = loop.NewCall(fma, cur[k], a, b)
			} else {
				cur[k] = loop.NewFAdd(loop.NewFMul(cur[k], a), b)
			}
		}
	}
	next := loop.NewAdd(i, constant.NewInt(types.I64, 1))
	i.Incs = append(i.Incs, ir.NewIncoming(next, loop))
	for k := range phis {
		phis[k].Incs = append(phis[k].Incs, ir.NewIncoming(cur[k], loop))
	}
	loop.NewCondBr(loop.NewICmp(enum.IPredSLT, next, iters), loop, exit)

	// Phis first: LLVM wants them grouped at the top of the block.
	res := make([]value.Value, Accumulators)
	for k := range res {
		res[k] = exit.NewPhi(ir.NewIncoming(init[k], entry), ir.NewIncoming(cur[k], loop))
	}
	sum := res[0]
	for _, r := range res[1:] {
		sum = exit.NewFAdd(sum, r)
	}
	var total value.Value
	for l := uint64(0); l < lanes; l++ {
		e := exit.NewExtractElement(sum, constant.NewInt(types.I32, int64(l)))
		if total == nil {
			total = e
		} else {
			total = exit.NewFAdd(total, e)
		}
	}
	exit.NewRet(total)
	return m, int64(2 * rounds * Accumulators * lanes)
}

// splat broadcasts the float x to every lane of a vector of type vt.
func splat(b *ir.Block, x value.Value, vt *types.VectorType) value.Value {
	one := b.NewInsertElement(constant.NewUndef(vt), x, constant.NewInt(types.I32, 0))
	mask := constant.NewZeroInitializer(types.NewVector(vt.Len, types.I32))
	return b.NewShuffleVector(one, constant.NewUndef(vt), mask)
}
