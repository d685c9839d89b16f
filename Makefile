# Build, test and run the NSQ-compatible broker.
GO       ?= go
BUILDDIR ?= build
# the shared conformance harness, run as well when it is beside the repository
CONFORMANCE ?= ../shared/conformance/run.sh
# what the tests skipped and why, listed at the end of `make test`
SKIPLOG  := $(abspath $(BUILDDIR))/skipped.txt

.PHONY: all build test vet unit conformance interop-deps run run-replicated repl-crashloop repl-partition repl-lostdisk bench clean image dist

all: build

# static binaries, as NSQ's releases and our dist/image: a cgo build maps
# libc and costs an idle nsqd about 2 MB more resident memory
build:
	@mkdir -p $(BUILDDIR)
	CGO_ENABLED=0 $(GO) build -o $(BUILDDIR)/ ./apps/... ./bench/...

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

# go-nsq's own test suite against our nsqd and nsqlookupd on their default
# ports (integration/gonsq), then the shared harness if there is one
conformance: build
	$(GO) run ./integration/gonsq -go $(GO) -bin $(BUILDDIR)
	@if [ -n "$(CONFORMANCE)" ] && [ -x "$(CONFORMANCE)" ]; then \
		echo "$(CONFORMANCE) $(BUILDDIR)/"; $(CONFORMANCE) $(BUILDDIR)/; \
	else \
		echo "no shared conformance harness at $(CONFORMANCE): not run"; \
		[ -z "$$NSQ_SKIP_LOG" ] || printf 'make\tconformance\tno shared harness at %s (only our own machines have ../shared); the go-nsq suite ran from integration/gonsq\n' "$(CONFORMANCE)" >>"$$NSQ_SKIP_LOG"; \
	fi

# every step, then what was skipped and why (also when a step failed)
test:
	@mkdir -p $(BUILDDIR) && rm -f $(SKIPLOG)
	@rc=0; NSQ_SKIP_LOG=$(SKIPLOG) $(MAKE) --no-print-directory vet unit conformance || rc=$$?; \
		./scripts/skipped.sh $(SKIPLOG); exit $$rc

run: build
	./scripts/run-local.sh

# 3 replicated nsqd (factor 3) + nsqlookupd + nsqadmin on loopback (README,
# "Replicated cluster").
run-replicated: build
	./scripts/run-replicated.sh

# The replicated crash loop at full length (CYCLES, default 100).
repl-crashloop:
	nice -n 10 ./scripts/repl-crashloop.sh

# The lost-disk test at length: LOSTDISK_ROUNDS disk losses (default 12,
# nodes 3, 1, 2, ... in turn: generations up to 4), under load.
repl-lostdisk:
	NSQ_REPL_LOSTDISK_ROUNDS=$(or $(LOSTDISK_ROUNDS),12) nice -n 10 $(GO) test -count=1 -timeout 40m -run 'TestReplicatedLostDisk$$' -v ./integration/replication/

# The replicated partition test at full length (CYCLES, default 100; root,
# network namespaces).
repl-partition:
	nice -n 10 ./scripts/repl-partition.sh

# Side by side with NSQ's nsqd through the shared neutral driver when both
# are beside the checkout (ROUNDS, WORKLOADS, DURATION: see compare.sh's
# header); with the driver but no reference, ours against itself (the
# ratios then show the noise); with neither, scripts/bench.sh.
COMPARE ?= ../shared/bench/compare.sh
REF_NSQD ?= ../shared/ref/nsqd
bench: build
	@if [ -x "$(COMPARE)" ] && [ -x "$(REF_NSQD)" ]; then \
		NSQD_A=$(BUILDDIR)/nsqd NSQD_B=$(REF_NSQD) LABEL_A=ours LABEL_B=nsq $(COMPARE); \
	elif [ -x "$(COMPARE)" ]; then \
		echo "no reference nsqd at $(REF_NSQD): ours against itself"; \
		NSQD_A=$(BUILDDIR)/nsqd NSQD_B=$(BUILDDIR)/nsqd LABEL_A=ours LABEL_B=ours-again $(COMPARE); \
	else \
		echo "no $(COMPARE): scripts/bench.sh (bench_writer/bench_reader, default flags)"; \
		./scripts/bench.sh $(BUILDDIR); \
	fi

# Container image (Dockerfile) with podman or docker: static binaries built
# here, COPYed onto scratch. IMAGE, VERSION, IMAGE_ARCH, CONTAINER_RUNTIME:
# see scripts/image.sh.
image:
	GO=$(GO) BUILDDIR=$(BUILDDIR) ./scripts/image.sh

# Release archives and SHA256SUMS in $(BUILDDIR)/dist (VERSION, PLATFORMS:
# see scripts/dist.sh).
dist:
	GO=$(GO) DISTDIR=$(BUILDDIR)/dist ./scripts/dist.sh

clean:
	rm -rf $(BUILDDIR)
