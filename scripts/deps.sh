#!/usr/bin/env bash
# Installs what effc needs on a fresh Debian (bookworm) machine: the Debian
# packages below (as root, or through sudo) and the Go modules in go.mod.
# Safe to run again: packages already installed are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages and why effc needs each one:
#   libonnx-testdata        ONNX backend conformance data for tests/onnx
#   python3-torch python3-onnx python3-sklearn python3-numpy
#                           re-training and exporting the bundled digits model (testdata/digits/train.py)
#   llvm-14 lld-14          opt/llc and wasm-ld for the compiler backend
#   qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#                           building and running arm64 artifacts in tests
#   wasi-libc libclang-rt-14-dev-wasm32
#                           libm functions and compiler builtins linked into .wasm artifacts
PKGS=(libonnx-testdata llvm-14 lld-14 qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross wasi-libc libclang-rt-14-dev-wasm32)
if [ "${EFFC_WITH_PYTHON:-0}" = 1 ]; then
  PKGS+=(python3-torch python3-onnx python3-sklearn python3-numpy)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "deps: Go is not on PATH (expected /usr/local/go/bin)"; exit 1; }
go mod download
echo "deps: ok"
