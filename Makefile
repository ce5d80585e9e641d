# vibesync — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       ?= bin
# UNIT_SLOW: the packages whose tests take longest, named first so go test
# starts them first (it starts test binaries in the order given, two at a
# time here): the others then fill the second core around them, instead of
# server/rest starting last and running alone for its final seconds
# (about half a second of `make unit`'s wall time here).
UNIT_SLOW  = ./server/rest ./client ./cmd/vibesync
UNIT_PKGS  = $(UNIT_SLOW) $(filter-out $(patsubst ./%,$(MODULE)/%,$(UNIT_SLOW)),$(shell $(GO) list ./... | grep -v /integration))
MODULE     = github.com/vibesync/vibesync

BUF       ?= $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0

# FUZZTIME: how long `make fuzz` runs each fuzz target.
FUZZTIME  ?= 3s

.PHONY: run build test unit converge fuzz integration lint vet fmt-check bench bench-live generate generate-check buf-lint

## run: serve on 127.0.0.1:8080 with the embedded database under ./data
run:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/vibesyncd ./cmd/vibesyncd
	exec ./$(BIN)/vibesyncd serve

## build: the server and client binaries into ./bin
build:
	mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

## test: unit tests, then the Docker integration suite; without a Docker
## engine the suite says SKIPPED (under CI=true it fails instead)
## The first build of SeaweedFS's weed on a machine (several minutes of
## CPU) starts in the background while lint, unit tests and fuzzing run;
## the integration target's own build-weed waits for it (a lock), and a
## failing step stops it.
test:
	@mkdir -p $(BIN); bg=; \
	if docker info >/dev/null 2>&1 && $(GO) build -o $(BIN)/build-weed ./integration/seaweed/cmd/build-weed; then \
		echo "seaweedfs: weed is built (or found cached) in the background; log: $(BIN)/build-weed.log"; \
		$(BIN)/build-weed >$(BIN)/build-weed.log 2>&1 & bg=$$!; \
	fi; \
	$(MAKE) --no-print-directory lint generate-check unit converge fuzz integration; rc=$$?; \
	if [ -n "$$bg" ]; then kill $$bg 2>/dev/null; wait $$bg 2>/dev/null; fi; \
	exit $$rc

## unit: every package's tests but integration/'s; the client's
## convergence property test runs here at 500 steps (a new random seed
## each time), and at its full size in `make converge`. GOGC=400 (the
## linker's and the tests' garbage collector runs a quarter as often)
## takes about a fifth off server/rest's CPU and an eighth off linking,
## for a few hundred MB more memory at peak; no test depends on it.
## -o $(BIN)/unit/ keeps each package's linked test binary there: go test
## links a package's binary anew only when its build ID changed, so a run
## after a change relinks the binaries that depend on it and the others
## are reused (linking all of them is about 20 s of CPU). The tests still
## all run (-count=1), with go test's vet checks and its output.
## -parallel 4: each binary runs up to four of its parallel tests at once
## (go test's default is GOMAXPROCS, two here). A server-backed test
## spends part of its time waiting (a server's start and stop, loopback
## round trips, the live hub's signals), and four keep both cores busy
## through those waits: about a quarter off server/rest's wall time here;
## eight did no better.
## UNIT_TMPDIR: the tests' temporary folders (t.TempDir: their SQLite
## files, media folders, sockets' data) live in memory where the machine
## has /dev/shm: the same files and the same SQLite code, without the
## disk's syscalls (mkdir, open, pwrite, fsync): about a quarter of
## server/rest's test CPU here. Set it empty to use $$TMPDIR.
UNIT_GOGC ?= 400
UNIT_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm)
unit:
	@mkdir -p $(BIN)/unit
	$(if $(UNIT_TMPDIR),TMPDIR=$(UNIT_TMPDIR) )GOGC=$(UNIT_GOGC) $(GO) test -count=1 -parallel 4 -timeout 10m -o $(BIN)/unit/ $(UNIT_PKGS)

## converge: the client's convergence property test at 1,500 steps over 8
## replicas (its size in `make unit` before it was cut to 500 there);
## larger still: go test ./client -run TestConvergence -converge.large
converge:
	$(GO) test -count=1 -timeout 10m -run '^TestConvergence$$' ./client -converge.steps 1500

## fuzz: run every Fuzz* target outside integration/ for $(FUZZTIME) each,
## one at a time: -fuzz takes one package and its regexp must match exactly
## one target (none: "no fuzz tests to fuzz" and a silent PASS; several: an
## error), hence the anchored ^name$$ per target
fuzz:
	@for f in $$(git grep -l '^func Fuzz' -- '*_test.go' ':!integration'); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "fuzz $$t ($$(dirname "$$f"), $(FUZZTIME))"; \
			$(GO) test "./$$(dirname "$$f")" -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

## integration: build the server image (static binary FROM scratch) and run
## the dockertest suites against its containers; see integration/README.md.
## First, when a Docker engine answers, SeaweedFS's weed (the media suite's
## S3 server) is built from its Go module, once per machine: it is cached
## by version, and its first build is not counted in the tests' timeout
integration:
	@if docker info >/dev/null 2>&1; then $(GO) run ./integration/seaweed/cmd/build-weed >/dev/null; fi
	$(GO) test -count=1 -timeout 12m -v ./integration/...

## bench: measure this machine; prints `metric value unit` lines and writes bench.json
bench:
	$(GO) run ./cmd/vibesync-bench -out bench.json $(BENCHFLAGS)

## bench-live: WebSocket fan-out to 100- and 1,000-member chats (p50/p99) and memory per socket
bench-live:
	$(GO) test ./server/live -run '^$$' -bench . -benchtime 200x -timeout 10m

## lint: formatting, vet and buf lint of the protos
lint: fmt-check vet buf-lint

buf-lint:
	$(BUF) lint

## generate: regenerate the Go code of syncproto/ and the REST client
## restclient/ from docs/openapi.yaml (both committed; a restclient test
## fails when it is stale)
generate:
	$(BUF) generate
	$(GO) tool oapi-codegen -config restclient/oapi-codegen.yaml docs/openapi.yaml

## generate-check: fail when the committed generated code is stale (files
## without a "Code generated" first line, like syncproto's contract.go, are
## written by hand)
generate-check:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate --output "$$tmp" && \
	for f in $$(cd "$$tmp" && find . -name '*.go'); do \
		cmp -s "$$tmp/$$f" "$$f" || { echo "generated code is stale: $$f (run make generate)" >&2; exit 1; }; \
	done; \
	for f in $$(find syncproto -name '*.go'); do \
		head -n 1 "$$f" | grep -q '^// Code generated' || continue; \
		[ -f "$$tmp/$$f" ] || { echo "generated file without a source: $$f" >&2; exit 1; }; \
	done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
