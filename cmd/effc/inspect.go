package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/effc/effc"
	"github.com/effc/effc/ir"
)

// inspectCmd is `effc inspect`.
var inspectCmd = &command{
	name:    "inspect",
	summary: "summarize a model: inputs, outputs, per-node shapes, params, MACs, sparsity",
	usage:   "inspect MODEL.onnx [--json] [--groups]",
	about: `Inspect loads MODEL.onnx, infers shapes, verifies the graph and prints a
header (IR version, opsets, producer, inputs and outputs), one row per node
(name, op, output type, weight elements, MACs, fraction of exact zeros in the
weights) and totals. Symbolic dimensions such as a batch "N" count as 1 in
MACs, so MACs are per sample for a symbolic batch. Totals count a weight
shared by several nodes once. With --json it prints the same report as JSON.
With --groups it prints the OTOv2 zero-invariant groups instead (members,
size, norms, prunable or why not) and what removing the exactly-zero ones
would give per layer; with --json too, the groups as JSON for a training
script.`,
	examples: []string{
		"effc inspect testdata/digits/digits.onnx",
		"effc inspect testdata/digits/digits.onnx --json",
		"effc inspect testdata/digits_oto/digits_oto.onnx --groups",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		asJSON := fs.Bool("json", false, "print the report as JSON")
		groups := fs.Bool("groups", false, "print the OTOv2 zero-invariant groups and what pruning the zero ones gives")
		return func(e *env, args []string) error {
			path, err := oneModel(args)
			if err != nil {
				return err
			}
			g, err := effc.Load(path)
			if err != nil {
				return err
			}
			if *groups {
				return inspectGroups(e.stdout, g, *asJSON)
			}
			r := effc.Inspect(g)
			if *asJSON {
				return printJSON(e.stdout, r)
			}
			return printReport(e.stdout, path, g, r)
		}
	},
}

// printReport writes the text form of an inspect report.
func printReport(w io.Writer, path string, g *ir.Graph, r *effc.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file:\t%s\n", path)
	if r.Graph != "" {
		fmt.Fprintf(tw, "graph:\t%s\n", r.Graph)
	}
	fmt.Fprintf(tw, "ir_version:\t%d\n", r.IRVersion)
	fmt.Fprintf(tw, "opset:\t%d (source %d)%s\n", r.Opset, r.SourceOpset, otherOpsets(g))
	if r.Producer != "" {
		fmt.Fprintf(tw, "producer:\t%s\n", r.Producer)
	}
	for i, v := range r.Inputs {
		fmt.Fprintf(tw, "%s\t%s %s\n", label("inputs:", i), v.Name, v.Type)
	}
	for i, v := range r.Outputs {
		fmt.Fprintf(tw, "%s\t%s %s\n", label("outputs:", i), v.Name, v.Type)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	rows := [][]string{{"NAME", "OP", "OUTPUT", "PARAMS", "MACS", "SPARSITY"}}
	for _, n := range r.Nodes {
		op := n.Op
		if n.Domain != "" {
			op = n.Domain + "." + n.Op
		}
		rows = append(rows, []string{n.Name, op, n.Output,
			count(n.Params), count(n.MACs), sparsity(n.Params, n.Sparsity)})
	}
	t := r.Totals
	rows = append(rows, []string{"total", fmt.Sprintf("%d nodes", t.Nodes), bytesString(t.WeightBytes),
		count(t.Params), count(t.MACs), sparsity(t.Params, t.Sparsity)})
	printTable(w, rows, 3)
	if len(r.Symbolic) > 0 {
		fmt.Fprintf(w, "\nMACs count symbolic dims %s as 1 (per sample for a batch dim).\n", strings.Join(r.Symbolic, ", "))
	}
	return nil
}

// printTable writes rows as aligned columns two spaces apart; columns from
// firstRight on are numbers and align right.
func printTable(w io.Writer, rows [][]string, firstRight int) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-len(c))
			if i >= firstRight {
				b.WriteString(pad + c)
			} else if i < len(row)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// label prints a header label on the first line of a list only.
func label(s string, i int) string {
	if i == 0 {
		return s
	}
	return ""
}

// otherOpsets lists imported opsets of domains other than ai.onnx.
func otherOpsets(g *ir.Graph) string {
	var parts []string
	for d, v := range g.Opsets {
		if d != "" && d != "ai.onnx" {
			parts = append(parts, fmt.Sprintf("%s %d", d, v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return ", " + strings.Join(parts, ", ")
}

// count prints n, "-" for zero.
func count(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// sparsity prints a fraction as a percentage, "-" when there are no weights.
func sparsity(params int64, s float64) string {
	if params == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*s)
}

// bytesString prints a byte count with a binary unit.
func bytesString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB weights", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB weights", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B weights", n)
}

// inspectGroups prints the group partition of g, then the report of a
// lossless prune (of g itself, which is not written anywhere).
func inspectGroups(w io.Writer, g *ir.Graph, asJSON bool) error {
	if asJSON {
		a, err := effc.Groups(g)
		if err != nil {
			return err
		}
		return printJSON(w, a)
	}
	// The prune report carries the analysis it started from: one pass
	// finds the groups and says what removing the zero ones gives.
	rep, err := effc.Prune(g, effc.PruneOptions{})
	if err != nil {
		return err
	}
	printGroups(w, rep.Analysis)
	fmt.Fprintf(w, "\nremoving the exactly-zero groups (effc prune) would give:\n")
	printPruneReport(w, rep)
	return nil
}
