// Package toolchain finds and runs the external programs the backend drives:
// LLVM's llc and opt, wasm-ld, the system C compiler and archiver, the
// aarch64 cross compiler and qemu-aarch64.
//
// Tools are named by their unversioned name ("llc", "wasm-ld"); Find tries
// the versioned Debian names first (llc-14) so that the LLVM version effc is
// tested with wins over whatever "llc" happens to be on PATH. A missing tool
// is reported with the Debian package that installs it.
package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// LLVMVersion is the LLVM major version effc generates IR for.
const LLVMVersion = "14"

// tool describes how to find one external program.
type tool struct {
	names []string // tried in order on PATH
	pkg   string   // Debian package that installs it
}

// tools is every program the backend may run.
var tools = map[string]tool{
	"llc":                   {[]string{"llc-" + LLVMVersion, "llc"}, "llvm-" + LLVMVersion},
	"opt":                   {[]string{"opt-" + LLVMVersion, "opt"}, "llvm-" + LLVMVersion},
	"wasm-ld":               {[]string{"wasm-ld-" + LLVMVersion, "wasm-ld"}, "lld-" + LLVMVersion},
	"ld.lld":                {[]string{"ld.lld-" + LLVMVersion, "ld.lld"}, "lld-" + LLVMVersion},
	"objcopy":               {[]string{"llvm-objcopy-" + LLVMVersion, "llvm-objcopy"}, "llvm-" + LLVMVersion},
	"cc":                    {[]string{"cc", "gcc"}, "gcc"},
	"ar":                    {[]string{"ar"}, "binutils"},
	"aarch64-linux-gnu-gcc": {[]string{"aarch64-linux-gnu-gcc"}, "gcc-aarch64-linux-gnu"},
	"aarch64-linux-gnu-ar":  {[]string{"aarch64-linux-gnu-ar"}, "binutils-aarch64-linux-gnu"},
	"qemu-aarch64":          {[]string{"qemu-aarch64", "qemu-aarch64-static"}, "qemu-user"},
}

// Tools returns the names Find accepts, sorted.
func Tools() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Package returns the Debian package that installs tool, or "" if tool is
// not one Find knows.
func Package(tool string) string {
	return tools[tool].pkg
}

// Find returns the path of tool ("llc", "opt", "wasm-ld", "cc", "ar",
// "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-ar" or "qemu-aarch64"). The
// error for a missing tool names the Debian package that installs it.
func Find(name string) (string, error) {
	t, ok := tools[name]
	if !ok {
		return "", fmt.Errorf("toolchain: unknown tool %q (known: %s)", name, strings.Join(Tools(), ", "))
	}
	for _, n := range t.names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("toolchain: %s not found on PATH (tried %s); install the Debian package %s (apt-get install %s) or run 'make deps'",
		name, strings.Join(t.names, ", "), t.pkg, t.pkg)
}

// maxStderr bounds how much of a failing tool's stderr goes into an error.
const maxStderr = 2000

// Run runs tool (a name Find accepts, or a path) with args in directory dir
// ("" for the current one) and returns its standard output. If the tool
// fails, the error names it, its exit status and the first lines of its
// standard error. Cancelling ctx kills the tool.
func Run(ctx context.Context, dir string, tool string, args ...string) ([]byte, error) {
	path := tool
	if _, known := tools[tool]; known {
		p, err := Find(tool)
		if err != nil {
			return nil, err
		}
		path = p
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("toolchain: %s interrupted: %w", tool, ctxErr)
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = strings.TrimSpace(stdout.String())
	}
	if len(msg) > maxStderr {
		msg = msg[:maxStderr] + " ..."
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if msg == "" {
			return nil, fmt.Errorf("toolchain: %s %s failed (%v) with no output", tool, summarizeArgs(args), exitErr)
		}
		return nil, fmt.Errorf("toolchain: %s %s failed (%v): %s", tool, summarizeArgs(args), exitErr, msg)
	}
	return nil, fmt.Errorf("toolchain: cannot run %s: %w", tool, err)
}

// summarizeArgs shortens a command line for an error message.
func summarizeArgs(args []string) string {
	const maxArgs = 8
	if len(args) > maxArgs {
		return strings.Join(args[:maxArgs], " ") + " ..."
	}
	return strings.Join(args, " ")
}
