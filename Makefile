# effc — see README.md. Every target works on a fresh Debian machine after `make deps`.
GO ?= go
EFFC := bin/effc
MODEL := testdata/digits/digits.onnx

.PHONY: deps build demo test vet fuzz conformance clean bench-deps

deps:
	bash scripts/deps.sh

build:
	$(GO) build -o $(EFFC) ./cmd/effc

# The main job on the bundled model: inspect it, print its IR after the
# default pipeline, run the held-out test split through the interpreter, then
# compile it for each target and run the split on the artifacts.
demo: build
	$(EFFC) inspect $(MODEL)
	$(EFFC) ir $(MODEL) --batch 1 | head -40
	$(EFFC) run $(MODEL) --input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy --output-dir out/digits
	for t in x86_64 arm64 wasm32; do \
		$(EFFC) run $(MODEL) --target $$t --input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy || exit 1; \
	done
	# Compression: OTOv2 pruning of the OTO-trained model, then INT8 compiled for x86_64.
	$(EFFC) prune testdata/digits_oto/digits_oto.onnx -o out/digits_oto-pruned.onnx
	$(EFFC) run out/digits_oto-pruned.onnx --input testdata/digits_oto/test_x.npy --labels testdata/digits_oto/test_y.npy
	$(EFFC) run $(MODEL) --target x86_64 --quantize int8 --calib testdata/digits/test_x.npy \
		--input testdata/digits/test_x.npy --labels testdata/digits/test_y.npy

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...

# What CI runs (.ci/run): formatting, vet, every test including the ONNX
# conformance runner.
test: vet
	$(GO) test -count=1 -timeout 30m ./...

conformance:
	$(GO) test -count=1 -v -run TestConformance ./tests/onnx | tail -5

fuzz:
	$(GO) test ./frontend -run XXX -fuzz FuzzDecode -fuzztime 60s
	$(GO) test ./ir -run XXX -fuzz FuzzParse -fuzztime 60s

clean:
	rm -rf bin out

# ONNX Runtime for Node, the peer effc benchmarks against. Its install script
# would download GPU files; ONNXRUNTIME_NODE_INSTALL=skip keeps the CPU build
# that ships inside the npm package.
bench-deps:
	cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
