package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/effc/effc"
)

// versionCmd is `effc version`.
var versionCmd = &command{
	name:    "version",
	summary: "print effc's version",
	usage:   "version",
	about: `Version prints the effc version, the Go version it was built with and,
when built from a git checkout, the commit (with "+dirty" if the tree had
uncommitted changes).`,
	examples: []string{"effc version"},
	flags: func(fs *flag.FlagSet) func(*env, []string) error {
		return func(e *env, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "effc %s %s%s\n", effc.Version, runtime.Version(), vcsRevision())
			return nil
		}
	},
}

// vcsRevision returns " commit <hash>[+dirty]" from the build info, or "".
func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return " commit " + rev
}
