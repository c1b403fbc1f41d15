#!/usr/bin/env bash
# zoa — `make test-arm64`: cross-compile zoa for 64-bit ARM at three instruction-set levels and test each build under
# qemu-aarch64 with a CPU model of that level:
#   level    -march               qemu -cpu    build dir             int8 kernel
#   v8.0     armv8-a              cortex-a53   build-arm64           NEON SMULL/SMLAL + SADALP
#   dotprod  armv8.2-a+dotprod    cortex-a76   build-arm64-dotprod   SDOT
#   i8mm     armv8.6-a+i8mm       max          build-arm64-i8mm      SMMLA
# Each level runs the int8 kernel tests (test_arm_int8: every GEMM/conv kernel the level compiles and the fused conv
# epilogue against its reference twin: ragged shapes, extreme codes, 1 and 2 threads; the packing; the test asserting
# which int8 kernel each shipped layer runs) and a short `zoa stream` (NoAdapt, the demo's W6A6 ViT and the ResNet at
# W8A8, whose integer path is the NHWC conv with fused epilogues) whose accuracies must equal the x86 build's, digit
# for digit. An i8mm build also contains the SDOT and ARMv8.0 kernels, and its int8 tests run all three against the
# reference twins. The fp32 and element-wise kernels are the same NEON code at every level, so one level (the first of
# ZOA_ARM64_LEVELS that is i8mm, else the last one) runs all of test_kernels instead of test_arm_int8, and the ViT and
# ResNet golden/parity tests (test_arm_models: PyTorch logits, integer vs simulated quantized paths, thread-count
# invariance).
# Compile time is most of the target's time, so: the cross builds use -O2 (GCC's -O3 adds loop transformations that
# change no result, ~30% more compile time), and one `make` job graph (JOBS slots) compiles every level and runs the
# finished levels' qemu tests while the others still compile.
# Needs the Debian packages g++-aarch64-linux-gnu and qemu-user (tools/install-deps.sh arm64).
# Environment: JOBS (parallel jobs, default nproc), BUILD (the x86 build dir, default build),
# ZOA_ARM64_LEVELS (default "v8.0 dotprod i8mm"; CI runs "i8mm", docs/building.md).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
X86=${BUILD:-build}
LEVELS=${ZOA_ARM64_LEVELS:-v8.0 dotprod i8mm}
SYSROOT=/usr/aarch64-linux-gnu
export ZOA_ARM64_START=${ZOA_ARM64_START:-$(date +%s)}
say() { echo "test-arm64 [$(( $(date +%s) - ZOA_ARM64_START )) s]: $*"; }

level_config() {  # sets march, cpu, dir for a level name
  case "$1" in
    v8.0) march=armv8-a; cpu=cortex-a53; dir=build-arm64 ;;
    dotprod) march=armv8.2-a+dotprod; cpu=cortex-a76; dir=build-arm64-dotprod ;;
    i8mm) march=armv8.6-a+i8mm; cpu=max; dir=build-arm64-i8mm ;;
    *) echo "test-arm64: unknown level '$1' (expected v8.0, dotprod, i8mm)" >&2; exit 2 ;;
  esac
}

# The level running test_kernels and test_arm_models: i8mm when listed (its build has every int8 kernel), else the last.
full_level=""
for level in $LEVELS; do level_config "$level"; full_level=$level; done
case " $LEVELS " in *" i8mm "*) full_level=i8mm ;; esac
[ -n "$full_level" ] || { echo "test-arm64: ZOA_ARM64_LEVELS is empty" >&2; exit 2; }

# The stream every level runs (small: qemu runs AArch64 code ~50-250x slower than native).
VIT=examples/assets/fmnist_vit_w6a6.safetensors
RESNET=examples/assets/fmnist_resnet.safetensors
STREAM_DATA=fmnist-c:fog:5,fmnist-c:gaussian_noise:5
STREAM_LIMIT=128
stream() {  # stream <runner...>: NoAdapt accuracy lines of the W6A6 ViT and the W8A8 ResNet
  "$@" stream --weights $VIT --method none --data $STREAM_DATA --limit $STREAM_LIMIT --batch 64 --threads 2 |
    grep -o 'domain=[a-z_]* round=[0-9]* images=[0-9]* accuracy=[0-9.]*' | sed 's/^/vit-w6a6 /'
  "$@" stream --weights $RESNET --precision w8a8 --calib-images 8 --method none --data $STREAM_DATA \
      --limit $STREAM_LIMIT --batch 64 --threads 2 |
    grep -o 'domain=[a-z_]* round=[0-9]* images=[0-9]* accuracy=[0-9.]*' | sed 's/^/resnet-w8a8 /'
}

# run <log> <what> <command...>: one qemu step of the job graph, its output in <log> (printed when it fails)
run() {
  local log=$1 what=$2
  shift 2
  if "$@" > "$log" 2>&1; then
    say "$what: passed ($(grep -Eo 'test cases: *[0-9]+ \| *[0-9]+ passed' "$log" | tr -s ' '))"
  else
    tail -n 60 "$log"
    say "$what: FAILED (full output: $log)" >&2
    exit 1
  fi
}

# The job graph's steps (tools/test-arm64.sh <step> [level]).
case "${1:-}" in
  x86)  # the x86 reference run (the CLI `make test` builds; configured here when missing)
    if [ ! -f "$X86/CMakeCache.txt" ]; then
      cmake -S . -B "$X86" -DCMAKE_BUILD_TYPE=Release > "$X86.configure.log" 2>&1 || { cat "$X86.configure.log"; exit 1; }
    fi
    cmake --build "$X86" --target zoa_cli
    stream "$X86/bin/zoa" > "$X86/stream-x86.txt"
    say "x86 NoAdapt accuracies ($X86/bin/zoa):"
    cat "$X86/stream-x86.txt"
    exit 0 ;;
  build)  # build <level> <target>...
    level_config "$2"
    say "$2: building ${*:3} in $dir/"
    cmake --build "$dir" --target "${@:3}"
    say "$2: built ${*:3}"
    exit 0 ;;
  int8|kernels|models|stream)
    level_config "$2"
    qemu=(qemu-aarch64 -cpu "$cpu" -L "$SYSROOT")
    case "$1" in
      int8) run "$dir/test_arm_int8.log" "$2: int8 kernel tests (test_arm_int8)" "${qemu[@]}" "$dir/bin/test_arm_int8" ;;
      kernels) run "$dir/test_kernels.log" "$2: all kernel tests (test_kernels)" "${qemu[@]}" "$dir/bin/test_kernels" ;;
      models)
        run "$dir/test_arm_models.log" "$2: ViT and ResNet golden/parity tests (test_arm_models)" \
          "${qemu[@]}" "$dir/bin/test_arm_models" -tc="vit fp32: logits*,vit W8A8: calibration*,vit W8A8: adaptation*,resnet fp32 golden*,resnet MQBench calibration*,resnet quantized: integer*,resnet W8A8 top-1*,resnet: results do not depend on the thread count*,qconv2d: integer*,NHWC pooling*" ;;
      stream)
        stream "${qemu[@]}" "$dir/bin/zoa" > "$dir/stream-$2.txt"
        if ! diff -u "$X86/stream-x86.txt" "$dir/stream-$2.txt"; then
          echo "test-arm64: $2 NoAdapt accuracies differ from the x86 build's" >&2
          exit 1
        fi
        say "$2: zoa stream NoAdapt accuracies = x86 ($(wc -l < "$dir/stream-$2.txt") lines)" ;;
    esac
    exit 0 ;;
  "") ;;
  *) echo "test-arm64: unknown step '$1'" >&2; exit 2 ;;
esac

# 1. configure every level (-O2, see above)
for level in $LEVELS; do
  level_config "$level"
  say "$level: -march=$march, qemu -cpu $cpu, $dir/"
  cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DZOA_ARM_MARCH="$march" \
        -DZOA_QEMU_CPU="$cpu" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
        -DZOA_CLI_NATIVE=OFF -DZOA_EXAMPLES_NATIVE=OFF > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
done

# 2. one job graph: the x86 reference stream, each level's builds (one target after the other in its directory), and
# each qemu step as soon as its binary is built, so one level's qemu runs overlap the compiling of the next target.
# The full level comes first (the most to compile), its slowest qemu step's binary first and the CLI (the largest
# compile) before test_kernels; `+` hands make's job slots down to the builds' own makes.
self=tools/test-arm64.sh
jobs=$(mktemp "${TMPDIR:-/tmp}/zoa-test-arm64.XXXXXX.mk")
trap 'rm -f "$jobs"' EXIT
{
  echo ".RECIPEPREFIX = >"
  echo ".PHONY: all x86"
  all="x86"
  echo "x86:"
  echo "> +@$self x86"
  for level in $full_level $LEVELS; do
    case " $all " in *" build-$level-"*) continue ;; esac
    if [ "$level" = "$full_level" ]; then
      binaries=(test_arm_models:models zoa_cli:stream test_kernels:kernels)
    else
      binaries=(test_arm_int8:int8 zoa_cli:stream)
    fi
    previous=""
    for b in "${binaries[@]}"; do
      target=${b%%:*} step=${b#*:}
      echo ".PHONY: build-$level-$target $step-$level"
      echo "build-$level-$target: $previous"
      echo "> +@$self build $level $target"
      deps="build-$level-$target"
      [ "$step" = stream ] && deps+=" x86"
      echo "$step-$level: $deps"
      echo "> @$self $step $level"
      all+=" build-$level-$target $step-$level"
      previous="build-$level-$target"
    done
  done
  echo "all: $all"
} > "$jobs"
make --no-print-directory -j "$JOBS" -f "$jobs" all
say "passed ($LEVELS): $(( $(date +%s) - ZOA_ARM64_START )) s"
