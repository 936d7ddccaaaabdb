# kubepulse build, test and benchmark entry points. `make test` is what CI runs
# (through .ci/run); it builds the real components the test tiers need first.
GO      ?= go
BIN     ?= kubepulse
PKG     := github.com/kubepulse/kubepulse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REV     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# STABLE_LDFLAGS do not change between runs, so a rebuild on a warm cache
# is a no-op (make demo); LDFLAGS add the build date for released binaries.
STABLE_LDFLAGS := -X github.com/prometheus/common/version.Version=$(VERSION) \
           -X github.com/prometheus/common/version.Revision=$(REV) \
           -X github.com/prometheus/common/version.Branch=$(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
LDFLAGS := $(STABLE_LDFLAGS) \
           -X github.com/prometheus/common/version.BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)
export KUBEPULSE_BIN ?= $(CURDIR)/.cache/bin

DEMO_ARGS ?=

.PHONY: all build demo test test-unit test-integration test-e2e bench lint generate image tools fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

## demo: build, then run the self-contained demo (page, /metrics and query API on :9850).
demo:
	$(GO) build -trimpath -ldflags "$(STABLE_LDFLAGS)" -o $(BIN) .
	./$(BIN) demo $(DEMO_ARGS)

## test: lint, then every tier (unit, integration on a real apiserver, e2e on a real Prometheus).
test: lint tools build
	$(GO) test -race -count=1 -timeout 30m ./...

## test-unit: everything but the tiers that start real components.
test-unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e /test/ -e /internal/testenv)

test-integration: tools
	$(GO) test -race -count=1 -timeout 20m ./test/integration/...

test-e2e: tools build
	$(GO) test -count=1 -timeout 20m ./test/e2e/...

## bench: Go benchmarks plus side-by-side runs against peers; figures go to docs/benchmarks.md.
bench: tools build
	@set -e; for f in hack/bench/*.sh; do echo "== $$f"; bash $$f; done

## fuzz: a short run of every fuzz target (go test -fuzz takes one target per run).
fuzz:
	bash hack/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## generate: the example output, and the copy deploy/overlays/kube-prometheus-stack
## applies (kustomize reads no file outside an overlay; a test checks both).
generate:
	$(GO) run . generate --output-dir examples/generated
	$(GO) run . generate --output-dir deploy/overlays/kube-prometheus-stack/generated

## image: the container image, with a Docker engine that can pull golang and
## distroless (CI cannot, so it never builds it). Release: make image VERSION=v0.1.0
IMAGE ?= ghcr.io/kubepulse/kubepulse
image:
	@command -v docker >/dev/null || { echo "make image: needs docker with BuildKit (buildx), able to pull golang and gcr.io/distroless"; exit 1; }
	DOCKER_BUILDKIT=1 docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REV) -t $(IMAGE):$(VERSION) .

tools:
	bash hack/tools.sh

clean:
	rm -f $(BIN)
