package ortrun

import (
	"os"
	"testing"
)

// Require skips the test when ONNX Runtime for Node is not installed, unless
// the environment variable CI is set (to anything but ""): in CI the
// test fails instead, so a broken `make bench-deps` cannot turn the tests
// that need ONNX Runtime into silent skips.
func Require(tb testing.TB) {
	tb.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "" {
		tb.Skip(err)
		return
	}
	tb.Fatalf("CI is set, so this test may not skip: %v", err)
}
