// Command effc is the command-line interface of the effc model compression
// compiler. It dispatches to subcommands, one per file in this directory:
//
//	effc inspect MODEL.onnx [--json]            summarize a model
//	effc ir MODEL.onnx [--passes LIST] ...      print the IR after a pass pipeline
//	effc prune MODEL.onnx -o OUT.onnx ...       remove zero-invariant groups, write a smaller ONNX model
//	effc quantize MODEL.onnx -o OUT.onnx ...    INT8 post-training quantization, written as QDQ ONNX
//	effc compile MODEL.onnx --target T ...      compile a model for x86_64, arm64 or wasm32
//	effc run MODEL.onnx --input FILE ...        run a model on the interpreter (or --target T compiled)
//	effc bench MODEL.onnx --target T ...        time a compiled model; --peak measures the FMA peak
//	effc ops [--all]                            list the ops the interpreter supports
//	effc version                                print the version
//
// Errors print as `effc: <message>` on stderr and exit with status 1; usage
// errors (bad flags, missing arguments, unknown commands) exit with status 2.
// docs/cli.md documents every command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand: its help text and how to run it.
type command struct {
	name     string
	summary  string // one line for 'effc help'
	usage    string // the synopsis after "Usage: "
	about    string // a paragraph under the synopsis
	examples []string
	// flags declares the command's flags on fs and returns the function
	// that runs it with the parsed flags and positional arguments.
	flags func(fs *flag.FlagSet) func(env *env, args []string) error
}

// env is where a command writes; tests supply buffers.
type env struct {
	stdout, stderr io.Writer
}

// usageError is an error in how effc was called; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// commands lists the subcommands in the order 'effc help' shows them.
var commands = []*command{inspectCmd, irCmd, pruneCmd, quantizeCmd, compileCmd, runCmd, benchCmd, opsCmd, targetsCmd, versionCmd}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes effc with args (without the program name) and returns the
// exit status: 0 success, 1 error, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printMainUsage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			if c := lookup(args[1]); c != nil {
				printCommandHelp(stdout, c)
				return 0
			}
			fmt.Fprintf(stderr, "effc: unknown command %q; run 'effc help' for the list\n", args[1])
			return 2
		}
		printMainUsage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "effc: unknown command %q; run 'effc help' for the list\n", name)
		return 2
	}
	return runCommand(e, c, args[1:])
}

// lookup finds a subcommand by name.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// runCommand parses c's flags from args (flags may follow the positional
// arguments) and runs it.
func runCommand(e *env, c *command, args []string) int {
	fs := flag.NewFlagSet("effc "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	do := c.flags(fs)
	err := fs.Parse(reorderArgs(fs, args))
	switch {
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(e.stdout, c)
		return 0
	case err != nil:
		fmt.Fprintf(e.stderr, "effc %s: %v\nrun 'effc %s --help' for usage\n", c.name, err, c.name)
		return 2
	}
	err = runSafely(do, e, fs.Args())
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "effc %s: %v\nrun 'effc %s --help' for usage\n", c.name, err, c.name)
		return 2
	}
	fmt.Fprintf(e.stderr, "effc: %s\n", oneLine(err.Error()))
	return 1
}

// runSafely runs a command, turning a panic (a bug somewhere in effc) into
// an error so that users get one line rather than a Go stack trace.
func runSafely(do func(*env, []string) error, e *env, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v (please report this with the command line and model)", r)
		}
	}()
	return do(e, args)
}

// oneLine keeps an error message on one line, as effc's errors promise.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// reorderArgs moves flags (and their values) ahead of positional arguments,
// so `effc inspect model.onnx --json` works like `effc inspect --json
// model.onnx`. Everything after "--" stays positional. A flag this FlagSet
// does not define is passed through for fs.Parse to reject.
func reorderArgs(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			// The value is missing: leave the flag last so that fs.Parse
			// reports it instead of taking "--" as the value.
			return flags
		}
		flags = append(flags, args[i+1])
		i++
	}
	return append(append(flags, "--"), pos...)
}

// printMainUsage lists the subcommands.
func printMainUsage(w io.Writer) {
	fmt.Fprintf(w, "effc compresses and compiles ONNX models.\n\nUsage: effc <command> [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'effc <command> --help' for a command's flags and examples.\n")
	fmt.Fprintf(w, "Exit status: 0 success, 1 error, 2 usage error.\n")
}

// printCommandHelp writes c's synopsis, description, flags and examples.
func printCommandHelp(w io.Writer, c *command) {
	fs := flag.NewFlagSet("effc "+c.name, flag.ContinueOnError)
	c.flags(fs)
	fmt.Fprintf(w, "Usage: effc %s\n\n%s\n", c.usage, c.about)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintf(w, "\nFlags:\n")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		fmt.Fprintf(w, "  --%s%s\n        %s", f.Name, arg, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			if fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
				fmt.Fprintf(w, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
		}
		fmt.Fprintln(w)
	})
	if len(c.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

// Set appends one occurrence of the flag.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// oneModel checks that args is exactly one model path and returns it.
func oneModel(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usagef("missing MODEL.onnx argument")
	case 1:
		return args[0], nil
	}
	return "", usagef("want one MODEL.onnx argument, got %d: %s", len(args), strings.Join(args, " "))
}

// noArgs checks that a command taking no positional arguments got none.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}
