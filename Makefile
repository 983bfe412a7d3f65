# tundra: the two set-up commands are `make demo` and `make test`.
# Both install missing Debian packages (scripts/install-deps.sh), configure and build.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
WERROR ?= OFF

.PHONY: all deps configure build test unit sanitize demo bench format clean

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
	@scripts/demo.sh $(BUILD_DIR)

# Throughput against wireguard-go-modern and Debian's wireguard-go in the lab (root; ../shared).
BENCH_FLAGS ?= -t 5 -r 3
bench: build
	@../shared/lab/bench $(BENCH_FLAGS) wireguard-go-modern tundra=$(CURDIR)/scripts/bench-peer wireguard-go

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
