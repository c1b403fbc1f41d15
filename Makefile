# zoa — top-level entry points. `make demo` and `make test` work on a fresh Debian 12 machine as root:
# each installs the Debian packages it needs first (tools/install-deps.sh) and says so.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps deps-bench configure build demo test bench single-include format clean

all: build

deps:
	@tools/install-deps.sh build

deps-bench:
	@tools/install-deps.sh bench

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@echo "zoa demo: the Fashion-MNIST-C adaptation demo is coming (issue 7); for now, the CLI:"
	@$(BUILD)/bin/zoa version
	@$(BUILD)/bin/zoa --help

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps-bench
	@cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DZOA_BUILD_BENCH=ON -DZOA_BUILD_TESTS=OFF -DZOA_NATIVE=ON $(CMAKE_FLAGS)
	@cmake --build $(BUILD)-bench -j $(JOBS)
	@$(BUILD)-bench/bin/zoa_bench

single-include:
	@python3 tools/amalgamate.py

format:
	@find include tests examples bench -name '*.hpp' -o -name '*.cpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(BUILD)-bench $(BUILD).configure.log
