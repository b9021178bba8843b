# The two commands of README.md:
#   make demo   build skiff and run a container from a busybox bundle
#   make test   build skiff and run every test (unit, integration, engines end to end; as root)
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all deps golink layout demo test unit integration lint clean bench bench-nofaultaround e2e e2e-podman e2e-containerd e2e-docker conformance test-vm

all: skiff

deps:
	@hack/deps.sh

# How skiff is built, each for start-up time (bench/README.md has the figures):
# - urfave_cli_no_docs: leave out urfave/cli's man page generator
#   (blackfriday), whose package init alone cost 0.7 ms in every process;
# - static (the C library's and libseccomp's archives): no dynamic loader,
#   no relocations, 1.5 MB less mapped per process; osusergo/netgo keep
#   the C library's NSS out;
# - GOEXPERIMENT=jsonv2: encoding/json on the v2 engine (same API and v1
#   semantics), whose cold decode of a spec is half as long; skiff decodes a
#   spec cold in the CLI and again in the container's init.
# - musl instead of glibc (LIBC=glibc for glibc): a static glibc process
#   spends ~0.5 ms of CPU before its first line of code, most of it reading
#   the CPU's cache geometry with cpuid, which traps to the hypervisor of a
#   VM (an empty static C program: 0.52 ms with glibc, 0.03 ms with musl);
#   every skiff process paid it, the ones that never start Go included.
#   hack/musl-tree.sh makes the headers and libseccomp visible to musl-gcc.
# - the hot functions first (LAYOUT=hot, the default; LAYOUT=stock for the
#   Go linker's own order): the kernel maps a binary's pages 64 KB at a time
#   around each page fault, and the linker orders functions by package, so a
#   create's ~1700 functions were spread over 48 of the 54 64 KB windows of
#   the text. skiff is linked with them first, in the order of their first
#   call (hack/golink/hot-functions.txt, written by `make layout`), by the Go
#   linker with one hook added (hack/golink/build.sh builds it from the
#   installed Go source through `go build -overlay`; GOROOT is not changed):
#   peak RSS of create 6.3 -> 4.0 MiB, fewer page faults. If this Go's linker
#   has no place for the hook, skiff is linked by the stock one, with a
#   warning.
# Tests build with the same settings (GOFLAGS/GOEXPERIMENT/CC are exported).
GOTAGS  := urfave_cli_no_docs,osusergo,netgo
export GOEXPERIMENT := jsonv2
export GOFLAGS := -tags=$(GOTAGS)
LIBC    ?= musl
ifeq ($(LIBC),musl)
export CC := musl-gcc
export CGO_CFLAGS := -O2 -I$(CURDIR)/.build/musl/include
# musl's threads get 128 KB of stack, glibc's 8 MB (RLIMIT_STACK): the Go
# runtime's threads run cgo calls (libseccomp's compiler) on them. The size
# in PT_GNU_STACK is musl's default for threads; 8 MB as glibc, for skiff and
# for the test binaries alike.
export CGO_LDFLAGS := -L$(CURDIR)/.build/musl/lib -Wl,-z,stack-size=8388608
endif
LAYOUT  ?= hot
GOLINK  := .build/golink/link
HOTFUNCS := hack/golink/hot-functions.txt
# Expanded when a recipe runs, after golink: empty if the linker is not built.
LAYOUT_ENV = $(shell test -x $(GOLINK) && echo SKIFF_GOLINK=$(CURDIR)/$(GOLINK) SKIFF_LINK_ORDER=$(CURDIR)/$(HOTFUNCS))
LAYOUT_FLAGS = $(shell test -x $(GOLINK) && echo -toolexec=$(CURDIR)/hack/golink/toolexec)
# In the link flags so that the go command relinks when the order changes.
LAYOUT_X = -X main.layout=$(shell test -x $(GOLINK) && sha256sum $(HOTFUNCS) | cut -c1-12)

skiff: deps golink FORCE
	$(LAYOUT_ENV) $(GO) build -trimpath $(LAYOUT_FLAGS) -ldflags "$(LDFLAGS) $(LAYOUT_X) -linkmode external -extldflags -static" -o skiff .

golink: FORCE
ifeq ($(LAYOUT),hot)
	@hack/golink/build.sh $(GOLINK) || { rm -f $(GOLINK); echo "warning: skiff is linked by the stock Go linker, its hot functions not first (peak RSS ~2 MiB higher)" >&2; }
else
	@rm -f $(GOLINK)
endif

# Rewrites $(HOTFUNCS) from a training run (as root; needs perf). After
# changes that move much of what a container's life calls; a stale list
# costs RSS, never correctness (a function it does not name goes after).
layout: deps golink
	@command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y linux-perf </dev/null || \
		{ apt-get update </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y linux-perf </dev/null; }
	GOTAGS=$(GOTAGS) hack/golink/train.sh $(HOTFUNCS)

FORCE:

# For measurement only (bench/README.md, "What bounds the targets"): skiff
# with its binary mapped page by page instead of 64 KB at a time.
skiff-nofaultaround: deps golink FORCE
	$(LAYOUT_ENV) $(GO) build -trimpath $(LAYOUT_FLAGS) -tags=$(GOTAGS),nofaultaround -ldflags "$(LDFLAGS) $(LAYOUT_X) -linkmode external -extldflags -static" -o .build/skiff-nofaultaround .

demo: skiff
	@hack/demo.sh

lint: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

unit: deps
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/)

integration: skiff skiff-nofaultaround
	SKIFF_BINARY=$(CURDIR)/skiff SKIFF_NOFAULTAROUND_BINARY=$(CURDIR)/.build/skiff-nofaultaround SKIFF_LAYOUT=$(LAYOUT) $(GO) test -count=1 -p 1 -timeout 20m ./tests/integration/...

# The engines' checklists (podman, containerd, docker) take about a minute
# together, so they are part of the test command.
test: skiff lint unit integration e2e

e2e: e2e-podman e2e-containerd e2e-docker

e2e-podman: skiff
	tests/e2e/podman.sh

# containerd 1.6 / Docker 20.10 with skiff as the runc.v2 shim's binary (RUNTIME=runc for runc)
e2e-containerd: skiff
	hack/e2e-deps.sh containerd
	tests/e2e/containerd.sh

e2e-docker: skiff
	hack/e2e-deps.sh docker
	tests/e2e/docker.sh

# skiff, runc and crun side by side (BENCH_QUICK=1 for a ~1 minute smoke run)
bench: skiff
	hack/e2e-deps.sh bench
	SKIFF=$(CURDIR)/skiff bench/run.sh $(BENCH_ARGS)

# the same against crun with skiff-nofaultaround (BENCH_ARGS as above)
bench-nofaultaround: skiff-nofaultaround
	hack/e2e-deps.sh bench
	SKIFF=$(CURDIR)/.build/skiff-nofaultaround bench/run.sh --runtimes "skiff crun" $(BENCH_ARGS)

# runtime-tools validation programs against skiff (RUNTIME=runc for runc)
conformance: skiff
	SKIFF=$(CURDIR)/skiff tests/conformance/run.sh

# cgroup unit + integration tests in the pure cgroup v2 + systemd VM
# (../shared/vm), cgroupfs and --systemd-cgroup drivers, one boot
test-vm:
	hack/test-vm.sh

clean:
	rm -rf skiff .build/skiff-nofaultaround .build/skiff-train .build/golink
