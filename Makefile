# Build, test and run the NSQ-compatible broker.
GO       ?= go
BUILDDIR ?= build
CONFORMANCE ?= ../shared/conformance/run.sh

.PHONY: all build test vet unit conformance run bench clean

all: build

build:
	@mkdir -p $(BUILDDIR)
	$(GO) build -o $(BUILDDIR)/ ./apps/... ./bench/...

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

conformance: build
	@test -x $(CONFORMANCE) || { echo "conformance harness not found at $(CONFORMANCE) (set CONFORMANCE=path/to/run.sh)"; exit 2; }
	$(CONFORMANCE) $(BUILDDIR)/

test: vet unit conformance

run: build
	./scripts/run-local.sh

bench: build
	./scripts/bench.sh

clean:
	rm -rf $(BUILDDIR)
