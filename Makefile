# Build, test and run the NSQ-compatible broker.
GO       ?= go
BUILDDIR ?= build
CONFORMANCE ?= ../shared/conformance/run.sh

.PHONY: all build test vet unit conformance interop-deps run bench clean

all: build

build:
	@mkdir -p $(BUILDDIR)
	$(GO) build -o $(BUILDDIR)/ ./apps/... ./bench/...

vet:
	$(GO) vet ./...

unit: interop-deps
	$(GO) test -race -count=1 -timeout 20m ./...

# the nsqjs client used by integration/nsqjs_test.go (pinned in its package-lock.json)
interop-deps:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix integration/nsqjs --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the nsqjs interop test will be skipped"; \
	fi

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
