# zoa — top-level entry points. `make demo` and `make test` work on a fresh Debian 12 machine as root:
# each installs the Debian packages it needs first (tools/install-deps.sh) and says so.
MAKEFLAGS += --no-print-directory  # no "Entering directory" noise from the CMake-generated makefiles
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps deps-compilers deps-bench deps-format deps-fuzz deps-arm64 configure build demo test test-sanitize test-sanitize-ci test-compilers check-docs test-arm64 bench bench-compare fuzz single-include format clean

all: build

deps:
	@tools/install-deps.sh build

deps-compilers:
	@tools/install-deps.sh compilers

deps-bench:
	@tools/install-deps.sh bench

deps-format:
	@tools/install-deps.sh format

deps-fuzz:
	@tools/install-deps.sh fuzz

deps-arm64:
	@tools/install-deps.sh arm64

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The 15 ImageNet-C corruptions at severity 5, in the benchmark order, as one continual stream.
CORRUPTIONS := gaussian_noise shot_noise impulse_noise defocus_blur glass_blur motion_blur zoom_blur snow frost fog \
               brightness contrast elastic_transform pixelate jpeg_compression
comma := ,
DEMO_DATA := $(subst $(eval) ,$(comma),$(foreach c,$(CORRUPTIONS),fmnist-c:$(c):5))
DEMO_LIMIT ?= 2000

demo: configure
	@cmake --build $(BUILD) --target zoa_cli -j $(JOBS)
	@echo "zoa demo: the W6A6 ViT (examples/assets/fmnist_vit_w6a6.safetensors, PTQ4ViT-calibrated from"
	@echo "fmnist_vit.safetensors) on Fashion-MNIST-C: 15 corruptions at severity 5 as one continual stream,"
	@echo "$(DEMO_LIMIT) test images each; no adaptation vs ZOA (source statistics from 2048 clean train images;"
	@echo "ZOA lr 1e-4, chosen on the 4 validation corruptions: docs/results.md)"
	@$(BUILD)/bin/zoa stream --weights examples/assets/fmnist_vit_w6a6.safetensors --method none,zoa --zoa-set lr=1e-4 \
	    --data $(DEMO_DATA) --limit $(DEMO_LIMIT) --threads $(JOBS) --out demo-results.md --svg demo-results.svg
	@echo "wrote demo-results.md and demo-results.svg"

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps-bench
	@cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DZOA_BUILD_BENCH=ON -DZOA_BUILD_TESTS=OFF -DZOA_NATIVE=ON $(CMAKE_FLAGS)
	@cmake --build $(BUILD)-bench -j $(JOBS)
	@$(BUILD)-bench/bin/zoa_bench

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer (own build directory), at -O1 -g1: -O1 as ASan's
# documentation advises, -g1 = line tables (file:line in every report). RelWithDebInfo's -O2 -g compiles twice as
# long: examples/cli/cmd_stream.cpp took 601 s CPU at -O2 -g, 420 s at -O1 -g, 292 s at -O1 -g1 (g++ 12).
SANITIZE_CONFIG := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DZOA_SANITIZE=ON
test-sanitize: deps
	@cmake -S . -B $(BUILD)-sanitize $(SANITIZE_CONFIG) $(CMAKE_FLAGS) > $(BUILD)-sanitize.configure.log 2>&1 || { cat $(BUILD)-sanitize.configure.log; exit 1; }
	@cmake --build $(BUILD)-sanitize -j $(JOBS)
	@cd $(BUILD)-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The CI subset under ASan + UBSan (.ci/run): every parser and the fuzz-corpus replay (reliability, io, data, image),
# the adapters, and the CLI on hostile inputs (docs/reliability.md has its time from scratch).
test-sanitize-ci: deps
	@cmake -S . -B $(BUILD)-sanitize $(SANITIZE_CONFIG) $(CMAKE_FLAGS) > $(BUILD)-sanitize.configure.log 2>&1 || { cat $(BUILD)-sanitize.configure.log; exit 1; }
	@cmake --build $(BUILD)-sanitize --target sanitize_ci_tests -j $(JOBS)  # tests/CMakeLists.txt
	@cd $(BUILD)-sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) -R '^(unit_(reliability|io|data|image|adapt)|cli_hostile_(inputs|user))$$'

# The compiler matrix (docs/building.md#compilers-and-standard): every header alone and every example program
# (-fsyntax-only) with clang++ (g++: make test), and examples/quickstart.cpp against single_include/ with g++ and
# clang++ x (no -m flags, -mavx2 -mfma, -march=native) x (C++17, C++20) at -O2 with -Wall -Wextra -Wpedantic -Wshadow
# -Wconversion -Werror; C++17 and C++20 runs compared, and -mavx2 -mfma with and without -mtune=znver3.
test-compilers: deps-compilers
	@python3 tools/check_compilers.py selfcontained --cxx clang++ --jobs $(JOBS)  # g++: ctest headers_selfcontained
	@python3 tools/check_compilers.py examples --cxx clang++ --jobs $(JOBS)  # g++: make test builds every example
	@python3 tools/check_compilers.py matrix --jobs $(JOBS)

# The tutorials' commands re-run and their printed numbers compared with the pages (also the ctest docs_tutorials).
check-docs: build
	@python3 tools/check_docs.py --links
	@python3 tools/check_docs.py --build $(BUILD)

# Cross-compiled for 64-bit ARM (ARMv8.0 NEON, +dotprod, +i8mm) and tested under qemu-aarch64: kernel tests, model
# golden/parity tests, and NoAdapt stream accuracies equal to the x86 build's (tools/test-arm64.sh, docs/building.md).
# ZOA_ARM64_LEVELS picks the levels (default "v8.0 dotprod i8mm"; CI runs "i8mm").
test-arm64: deps-arm64
	@BUILD=$(BUILD) JOBS=$(JOBS) ZOA_ARM64_LEVELS="$(ZOA_ARM64_LEVELS)" tools/test-arm64.sh

# zoa vs PyTorch (fp32, dynamic int8, fake-quant) end to end, and the adaptation step cost (docs/performance.md).
bench-compare: deps-bench
	@bench/compare/run.sh

# libFuzzer targets (clang), each for FUZZ_SECONDS (default 600) on its corpus in tests/fuzz/corpus/.
fuzz: deps-fuzz
	@tools/fuzz.sh

single-include: deps
	@python3 tools/amalgamate.py

format:
	@tools/install-deps.sh format
	@find include tests examples bench -name '*.hpp' -o -name '*.cpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(BUILD)-bench $(BUILD)-sanitize $(BUILD)-fuzz $(BUILD).configure.log $(BUILD)-sanitize.configure.log \
	    build-arm64 build-arm64-dotprod build-arm64-i8mm build-arm64*.configure.log
