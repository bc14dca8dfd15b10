package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/effc/effc/backend/target"
)

// targetsCmd is `effc targets`.
var targetsCmd = &command{
	name:    "targets",
	summary: "list the compilation targets, or the CPUs of one target",
	usage:   "targets [--cpus TARGET]",
	about: `Targets lists the targets 'effc compile --target' accepts, one per row:
the LLVM triple, the default CPU and the target features added to it, the
vector width kernels use, whether the target has fused multiply-add, its int8
dot-product instructions (vnni, dotprod or none), and how a built executable
is run (natively, under qemu-aarch64, or in-process with wazero). Targets are
JSON files embedded in effc (backend/target/targets); docs/targets.md
describes them.

With --cpus TARGET it lists the CPUs that llc knows for the target, which
'--cpu' accepts, with the vector width, FMA and int8 dot product effc assumes
for each. CPUs marked "baseline" are not in effc's table and get the
architecture's baseline. "native" stands for the machine effc runs on.`,
	examples: []string{
		"effc targets",
		"effc targets --cpus x86_64",
		"effc targets --cpus arm64",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		cpus := fs.String("cpus", "", "list the CPUs that --cpu accepts for `TARGET`")
		return func(e *env, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if *cpus != "" {
				return printCPUs(e.stdout, *cpus)
			}
			return printTargets(e.stdout)
		}
	},
}

// printTargets writes the table of targets.
func printTargets(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tTRIPLE\tCPU\tFEATURES\tVECTOR\tFMA\tINT8 DOT\tRUNNER")
	var about []string
	for _, name := range target.List() {
		s, err := target.Load(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d-bit\t%s\t%s\t%s\n", s.Name, s.Triple, s.CPU, features(s.Features),
			s.VectorBits, yesNo(s.HasFMA), s.Int8Dot, runner(s))
		about = append(about, fmt.Sprintf("  %s\t%s", s.Name, s.Description))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, line := range about {
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// printCPUs writes the CPUs --cpu accepts for one target.
func printCPUs(w io.Writer, name string) error {
	s, err := target.Load(name)
	if err != nil {
		return err
	}
	cpus, err := target.CPUs(s.Triple)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CPU\tVECTOR\tFMA\tINT8 DOT\tFEATURES\tNOTE")
	if n, err := s.WithCPU("native"); err == nil {
		fmt.Fprintf(tw, "native\t%d-bit\t%s\t%s\t%s\tthis machine, as %s\n", n.VectorBits, yesNo(n.HasFMA), n.Int8Dot, features(n.Features), n.CPU)
	}
	for _, cpu := range cpus {
		info, known := s.CPUs[cpu]
		note := ""
		if !known {
			info, note = s.OtherCPUs, "baseline"
		}
		if cpu == s.CPU {
			info = target.CPUInfo{VectorBits: s.VectorBits, HasFMA: s.HasFMA, Int8Dot: s.Int8Dot, Features: s.Features}
			note = "default"
		}
		fmt.Fprintf(tw, "%s\t%d-bit\t%s\t%s\t%s\t%s\n", cpu, info.VectorBits, yesNo(info.HasFMA), info.Int8Dot, features(info.Features), note)
	}
	return tw.Flush()
}

// features formats a feature list for a table cell.
func features(f []string) string {
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

// yesNo formats a boolean for a table cell.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// runner says how a target's executables run.
func runner(s *target.Spec) string {
	switch {
	case s.InProcess():
		return "wazero (in-process)"
	case s.Runner == target.RunnerDirect:
		return "native"
	}
	return s.Runner
}
