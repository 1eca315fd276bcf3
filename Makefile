# gometal: build Go programs into bare-metal x86-64 images and boot them in
# QEMU. See README.md. Everything goes through the gometal CLI
# (tools/gometal), built into build/gometal; `go run` is not used because it
# turns the program's exit status into 1.

GO           ?= go
GOMETAL      := build/gometal
PKG          ?= ./examples/demo
OUT          ?= build/$(notdir $(PKG)).img
MEM          ?= 256M
TIMEOUT      ?= 60s
APPEND       ?=
TEST_TIMEOUT ?= 20m

# SMP defaults differ per target; a value given on the command line wins.
run:  SMP ?= 4
boot: SMP ?= 1

# --append '...' with the value shell-quoted, or nothing.
append_flag = $(if $(APPEND),--append '$(subst ','\'',$(APPEND))')
# NET='user,hostfwd=tcp::8080-:80' attaches a virtio-net NIC with that QEMU
# -netdev backend (docs/networking.md).
net_flag    = $(if $(NET),--net '$(NET)')
# FILES='rootfs conf/app.json:/etc/app.json' embeds files into the image
# (gometal build --files, one per word); INITRD=x.cpio passes a boot module
# (gometal run --initrd, or the ISO's module2).
files_flag  = $(foreach f,$(FILES),--files '$(f)')
initrd_flag = $(if $(INITRD),--initrd '$(INITRD)')
# MACHINE=microvm (or pc, or microvm,acpi=off) picks the QEMU machine
# (docs/microvm.md); the default is q35.
machine_flag = $(if $(MACHINE),--machine '$(MACHINE)')

# What gometal iso and its boot tests need (Debian packages).
ISO_PKGS := grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools ovmf

# make conformance: a partial run (RUN=regexp or SHARD=K/N) writes its
# report under build/, the full run the committed docs/conformance.md.
# JSON=FILE also saves the results; MERGE=A.json,B.json runs nothing and
# reports saved results together (the shards of one run).
RUN            ?=
SHARD          ?=
JSON           ?=
MERGE          ?=
# Each configuration boots every program once: CPUS[:KERNEL OPTIONS].
# The default shows the whole set on one CPU as the kernel boots by
# default, and on four with aggressive time slices.
CONFIGS        ?= 1 4:slice=1ms
CONFORMANCE_TIMEOUT ?= 120s
CONFORMANCE_MD ?= $(if $(RUN)$(SHARD),build/conformance.md,docs/conformance.md)

# make stdtest: PKGS='strings os' or SHARD=K/N select a part of the list
# (tools/stdtest/packages.go) and write build/stdtest.md, the full run the
# standard-library section of docs/conformance.md. Event streams are kept
# in build/stdtest-raw/; REUSE=1 reports from them without running again.
PKGS           ?=
STDTEST_MEM    ?= 512M
STDTEST_MD     ?= $(if $(PKGS)$(SHARD),build/stdtest.md,docs/conformance.md)

.PHONY: all run image iso boot boot-usage test race bench-smoke check trapcheck conformance stdtest bench deps deps-iso deps-race cli clean

all: check test

## run: build $(PKG) (the demo) into $(OUT) and boot it, console on stdout.
run: deps image
	$(GOMETAL) run $(OUT) --smp $(SMP) --mem $(MEM) --timeout $(TIMEOUT) $(machine_flag) $(net_flag) $(initrd_flag) $(append_flag)

## image: build PKG into the image OUT and print its size.
image: cli
	@mkdir -p $(dir $(OUT))
	$(GOMETAL) build $(PKG) -o $(OUT) $(files_flag)
	@echo "$(OUT): $$(stat -c %s $(OUT)) bytes"

## iso: build PKG into OUT and OUT into a GRUB hybrid ISO, $(OUT:.img=.iso),
## whose command line is APPEND (docs/hardware.md).
iso: deps-iso image
	$(GOMETAL) iso $(OUT) -o $(OUT:.img=.iso) $(initrd_flag) $(append_flag)

## trapcheck: build PKG into OUT and check its trap-context code
## (docs/trap-context.md); make test runs the same check on examples/hello.
trapcheck: image
	$(GOMETAL) trapcheck $(OUT)

## conformance: build the programs of $(go env GOROOT)/test that Go's test
## driver runs (every directory it walks, every action that runs a
## program) and boot each once per configuration in CONFIGS, print
## PASS/FAIL/SKIP for each and write the report to $(CONFORMANCE_MD).
## RUN='^chan/' and SHARD=1/12 select a part, CONFIGS='4:slice=off' others;
## STRICT=1 makes a failed program fail the make (CI runs a 24th so).
conformance: deps cli
	@mkdir -p build
	$(GOMETAL) conformance $(if $(STRICT),-strict) -o $(CONFORMANCE_MD) -timeout $(CONFORMANCE_TIMEOUT) $(if $(RUN),-run '$(RUN)') $(if $(SHARD),-shard $(SHARD)) $(if $(JSON),-json $(JSON)) $(if $(MERGE),-merge $(MERGE)) $(foreach c,$(CONFIGS),-config '$(c)')

## stdtest: run the standard library's tests of a list of packages with
## go test on the host and gometal test in QEMU (-short, one package at a
## time), compare them test by test and write the report to $(STDTEST_MD).
## PKGS='strings os' and SHARD=1/4 select a part; REUSE=1 reuses the
## event streams kept in build/stdtest-raw/ (CAPTURED='when, how' notes it).
stdtest: deps cli
	@mkdir -p build
	$(GOMETAL) stdtest -o $(STDTEST_MD) -mem $(STDTEST_MEM) -raw build/stdtest-raw $(if $(REUSE),-reuse $(if $(CAPTURED),-captured '$(CAPTURED)')) $(if $(PKGS),-pkgs '$(PKGS)') $(if $(SHARD),-shard $(SHARD))

## boot: boot IMAGE; the CLI exits with the program's status (make itself
## then stops with "Error N", N being that status, and exits 2).
boot: boot-usage deps cli
	$(GOMETAL) run $(IMAGE) --smp $(SMP) --mem $(MEM) --timeout $(TIMEOUT) $(machine_flag) $(net_flag) $(initrd_flag) $(append_flag)

boot-usage:
	@test -n "$(IMAGE)" || { echo "usage: make boot IMAGE=build/x.img [SMP=1] [MEM=256M] [APPEND='...'] [NET='user,hostfwd=tcp::8080-:80'] [INITRD=x.cpio] [MACHINE=microvm] [TIMEOUT=60s]" >&2; exit 2; }

## test: vet and test everything, boot tests included (they need QEMU, and
## the ISO boot tests GRUB, xorriso, mtools and OVMF), after make race. tools/testprogress
## runs go test -json and prints each package's line as it finishes, and
## every 30 s the packages still running. Nothing is downloaded but Go
## modules missing from the module cache (go.sum); the benchmark smoke
## test, which fetches Debian's kernel, is make bench-smoke. -count=1:
## the boot tests build images from the kernel's sources with go build,
## which go test's result cache cannot see, so a cached "ok" could be
## stale.
test: deps deps-iso race
	$(GO) vet ./...
	$(GO) run ./tools/testprogress -timeout $(TEST_TIMEOUT) -count=1 ./...

## race: the tests of the code that runs on several CPUs at once without
## the kernel's big locks (the file layer's shared holds, the data and
## offset locks, the descriptor claims, the spinlocks) under Go's race
## detector, which needs cgo and so a C compiler (deps-race); of
## kernel/fdcalls, whose other tests take minutes under the detector,
## kernel/socket and kernel/console, the tests of calls beside each other
## (names with Beside or Concurrent).
## About a minute on a 2-core machine.
RACE_PKGS := ./kernel/fs ./kernel/vfs ./kernel/fsys ./kernel/fdtab ./kernel/spin ./kernel/klock ./kernel/devices
race: deps-race
	CGO_ENABLED=1 $(GO) test -race -count=1 $(RACE_PKGS)
	CGO_ENABLED=1 $(GO) test -race -count=1 -run 'Beside|Concurrent' ./kernel/fdcalls ./kernel/socket ./kernel/console

## bench-smoke: the benchmark's end-to-end smoke tests (tools/bench,
## -tags benchsmoke: TestSmokeBothSides, TestSmokeNetwork): they download Debian's linux-image package (~70 MB,
## apt-get download into build/bench/debian, kept for later runs) and
## boot it and gometal. CI runs them after make test.
bench-smoke: deps
	$(GO) test -tags benchsmoke -run TestSmoke -count=1 -timeout 10m -v ./tools/bench

## bench: boot bench/workload on gometal and on Debian's Linux kernel in the
## same QEMU machine, side by side with repeats; print the table and write
## bench/results/bench.{md,csv,svg} (docs/performance.md). Flags go in
## BENCH_FLAGS, e.g. BENCH_FLAGS='-repeats 5 -cpus 1,2,4,8 -heap 1024'.
bench: deps
	$(GO) run ./tools/bench/cmd/bench $(BENCH_FLAGS)

## check: formatting and vet.
check:
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "gofmt -l is not empty:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

## deps: install QEMU on Debian when it is missing (as root).
deps:
	@if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing QEMU: apt-get update && apt-get install -y qemu-system-x86"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y qemu-system-x86; \
		else \
			echo "qemu-system-x86_64 is missing; install it as root with:" >&2; \
			echo "  apt-get update && apt-get install -y qemu-system-x86" >&2; \
			exit 1; \
		fi; \
	fi

## deps-race: install a C compiler for the race detector (cgo) on Debian
## as root; otherwise print the apt-get command and stop.
deps-race:
	@if ! command -v gcc >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing gcc for go test -race: apt-get update && apt-get install -y gcc libc6-dev"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y gcc libc6-dev; \
		else \
			echo "gcc is missing (go test -race needs cgo); install it as root with:" >&2; \
			echo "  apt-get update && apt-get install -y gcc libc6-dev" >&2; \
			exit 1; \
		fi; \
	fi

## deps-iso: install what gometal iso and the ISO boot tests need, on Debian
## as root; otherwise print the apt-get command and stop.
deps-iso:
	@missing=0; \
	for c in grub-mkrescue xorriso mformat; do command -v $$c >/dev/null 2>&1 || missing=1; done; \
	for f in /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi /usr/share/ovmf/OVMF.fd; do test -e $$f || missing=1; done; \
	if [ $$missing = 1 ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing: apt-get update && apt-get install -y --no-install-recommends $(ISO_PKGS)"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(ISO_PKGS); \
		else \
			echo "GRUB, xorriso, mtools or OVMF is missing; install them as root with:" >&2; \
			echo "  apt-get update && apt-get install -y --no-install-recommends $(ISO_PKGS)" >&2; \
			exit 1; \
		fi; \
	fi

## cli: build the gometal CLI (cheap when nothing changed).
cli:
	@mkdir -p build
	$(GO) build -o $(GOMETAL) ./tools/gometal

clean:
	rm -rf build
