package main

import (
	"flag"
	"fmt"

	"github.com/effc/effc/interp"
	"github.com/effc/effc/ir"
)

// opsCmd is `effc ops`.
var opsCmd = &command{
	name:    "ops",
	summary: "list the ONNX ops effc can run",
	usage:   "ops [--all]",
	about: `Ops lists, one per line, the ops of effc's op table that the reference
interpreter (and so 'effc run' and constant folding) supports. With --all it
lists every op in the table with a second column saying whether the
interpreter runs it.`,
	examples: []string{
		"effc ops",
		"effc ops --all",
	},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		all := fs.Bool("all", false, "list every op in the op table, marking the ones the interpreter runs")
		return func(e *env, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			width := 0
			for _, op := range ir.OpNames() {
				width = max(width, len(op))
			}
			for _, op := range ir.OpNames() {
				ok := interp.Supported(op)
				switch {
				case *all && ok:
					fmt.Fprintf(e.stdout, "%-*s  interp\n", width, op)
				case *all:
					fmt.Fprintf(e.stdout, "%-*s  -\n", width, op)
				case ok:
					fmt.Fprintln(e.stdout, op)
				}
			}
			return nil
		}
	},
}
