# tundra: the two set-up commands are `make demo` and `make test`.
# Both install missing Debian packages (scripts/install-deps.sh), configure and build.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
WERROR ?= OFF

.PHONY: all deps configure build test unit sanitize demo bench flood-bench lab-bench microbench fuzz format clean install deb package-test

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DTUNDRA_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit, in-process integration, and the real-device/netns system tests (root).
test: build
	@scripts/run-tests.sh $(BUILD_DIR)

# Unit tests only (no root needed).
unit: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j $(JOBS)

# Unit and in-process tests under ASan+UBSan, the threaded suites under TSan (own build dirs).
sanitize: deps
	@JOBS=$(JOBS) WERROR=$(WERROR) scripts/sanitize-tests.sh

demo: build
	@$(BUILD_DIR)/tundra/cli/tundra demo

# Binary, man pages, systemd unit and bash completion below PREFIX (DESTDIR is honoured).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The Debian package (CPack, prefix /usr, tests not built): DEB_BUILD_DIR/tundra_*.deb.
DEB_BUILD_DIR ?= build-deb
deb: deps
	@cmake -S . -B $(DEB_BUILD_DIR) -DCMAKE_INSTALL_PREFIX=/usr -DTUNDRA_BUILD_TESTS=OFF \
	  -DTUNDRA_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(DEB_BUILD_DIR) -j $(JOBS) --target tundra
	@cd $(DEB_BUILD_DIR) && cpack -G DEB >/dev/null && ls -1 $(CURDIR)/$(DEB_BUILD_DIR)/tundra_*.deb

# Build the package, install it, run `tundra demo` from the installed binary, purge it (root).
package-test:
	@DEB_BUILD_DIR=$(DEB_BUILD_DIR) scripts/package-test.sh

# tundra against Debian's wireguard-go, the bare veth and TUNDRA_PEER2 (when it names a second
# implementation) in the same run: single-stream TCP both ways, 4 streams, UDP packet rate,
# ping RTT, CPU s/GB, RSS; BENCH_ROUNDS rounds of BENCH_SECONDS s per system and metric,
# medians, spreads and ratios (root; tests/netns/bench.sh).
BENCH_ROUNDS ?= 5
BENCH_SECONDS ?= 5
bench: build
	@TUNDRA_BIN=$(CURDIR)/$(BUILD_DIR)/tundra/cli/tundra ROUNDS=$(BENCH_ROUNDS) \
	  ROUND_SECONDS=$(BENCH_SECONDS) tests/netns/bench.sh

# How much of its throughput a session keeps while its peer is flooded with handshake
# initiations (50,000/s by default): BENCH_ROUNDS interleaved rounds (root; tests/netns/flood_bench.sh).
flood-bench: build
	@TUNDRA_BIN=$(CURDIR)/$(BUILD_DIR)/tundra/cli/tundra ROUNDS=$(BENCH_ROUNDS) \
	  ROUND_SECONDS=$(BENCH_SECONDS) HANDSHAKE_FLOOD=$(CURDIR)/$(BUILD_DIR)/tests/netns/handshake_flood \
	  tests/netns/flood_bench.sh

# The same comparison in the lab beside the clone (../shared/lab: also OpenVPN, tinc, VTun).
BENCH_FLAGS ?= -t 5 -r 3
lab-bench: build
	@[ -x ../shared/lab/bench ] || { echo "make lab-bench: needs the lab at ../shared/lab beside the clone" >&2; exit 1; }
	@../shared/lab/bench $(BENCH_FLAGS) wireguard-go-modern tundra=$(CURDIR)/scripts/bench-peer wireguard-go

# Google Benchmark micro-benchmarks (AEAD per packet, allowed-IPs lookup at 100k prefixes,
# handshake, replay window, GSO split / GRO coalesce), CPU time, medians of MICROBENCH_REPS:
# docs/performance.md.
MICROBENCH_REPS ?= 5
microbench: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target microbench
	@for b in tundra/crypto/aead_bench tundra/routing/allowed_ips_bench tundra/proto/proto_bench tundra/tun/offload_bench; do \
	  [ -x $(BUILD_DIR)/$$b ] || { echo "microbench: $$b not built (libbenchmark-dev missing?)" >&2; exit 1; }; \
	  $(BUILD_DIR)/$$b --benchmark_repetitions=$(MICROBENCH_REPS) --benchmark_report_aggregates_only=true || exit 1; \
	done

# libFuzzer targets (clang, ASan + UBSan) in FUZZ_BUILD_DIR, FUZZ_SECONDS each; any crash fails.
# The corpus replay runs under `make unit`/`make test` (ctest fuzz_*_replay). docs/security.md.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@scripts/install-deps.sh fuzz
	@JOBS=$(JOBS) scripts/run-fuzz.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
