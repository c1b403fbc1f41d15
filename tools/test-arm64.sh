#!/usr/bin/env bash
# zoa — `make test-arm64`: cross-compile zoa for 64-bit ARM at three instruction-set levels and test each build under
# qemu-aarch64 with a CPU model of that level:
#   level    -march               qemu -cpu    build dir             int8 kernel
#   v8.0     armv8-a              cortex-a53   build-arm64           NEON SMULL/SMLAL + SADALP
#   dotprod  armv8.2-a+dotprod    cortex-a76   build-arm64-dotprod   SDOT
#   i8mm     armv8.6-a+i8mm       max          build-arm64-i8mm      SMMLA
# Each level runs the kernel tests (every GEMM/conv/element-wise kernel against its reference twin: ragged shapes,
# extreme codes, 1 and 2 threads; the test asserting which int8 kernel runs) and a short `zoa stream` (NoAdapt, the
# demo's W6A6 ViT and the ResNet at W8A8) whose accuracies must equal the x86 build's, digit for digit. The i8mm
# level also runs the ViT and ResNet golden/parity tests (PyTorch logits, integer vs simulated quantized paths).
# Needs the Debian packages g++-aarch64-linux-gnu and qemu-user (tools/install-deps.sh arm64).
# Environment: JOBS (parallel compile jobs, default nproc), BUILD (the x86 build dir, default build),
# ZOA_ARM64_LEVELS (default "v8.0 dotprod i8mm").
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
X86=${BUILD:-build}
LEVELS=${ZOA_ARM64_LEVELS:-v8.0 dotprod i8mm}
SYSROOT=/usr/aarch64-linux-gnu
start=$(date +%s)
say() { echo "test-arm64 [$(( $(date +%s) - start )) s]: $*"; }

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

# 1. the x86 reference run (the CLI `make test` builds; configured here when missing)
say "x86 zoa CLI in $X86/"
if [ ! -f "$X86/CMakeCache.txt" ]; then
  cmake -S . -B "$X86" -DCMAKE_BUILD_TYPE=Release > "$X86.configure.log" 2>&1 || { cat "$X86.configure.log"; exit 1; }
fi
cmake --build "$X86" --target zoa_cli -j "$JOBS"
stream "$X86/bin/zoa" > "$X86/stream-x86.txt"
say "x86 NoAdapt accuracies:"
cat "$X86/stream-x86.txt"

# 2. each AArch64 level
for level in $LEVELS; do
  case "$level" in
    v8.0) march=armv8-a; cpu=cortex-a53; dir=build-arm64 ;;
    dotprod) march=armv8.2-a+dotprod; cpu=cortex-a76; dir=build-arm64-dotprod ;;
    i8mm) march=armv8.6-a+i8mm; cpu=max; dir=build-arm64-i8mm ;;
    *) echo "test-arm64: unknown level '$level' (expected v8.0, dotprod, i8mm)" >&2; exit 2 ;;
  esac
  say "$level: -march=$march, qemu -cpu $cpu, $dir/"
  cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DZOA_ARM_MARCH="$march" \
        -DZOA_QEMU_CPU="$cpu" -DCMAKE_BUILD_TYPE=Release -DZOA_CLI_NATIVE=OFF -DZOA_EXAMPLES_NATIVE=OFF \
        > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
  targets=(zoa_cli test_kernels)
  [ "$level" = i8mm ] && targets+=(test_models test_resnet)
  cmake --build "$dir" --target "${targets[@]}" -j "$JOBS"
  run=(qemu-aarch64 -cpu "$cpu" -L "$SYSROOT")
  say "$level: kernel tests"
  "${run[@]}" "$dir/bin/test_kernels"
  if [ "$level" = i8mm ]; then
    say "$level: ViT and ResNet golden/parity tests"
    "${run[@]}" "$dir/bin/test_models" -tc="vit fp32: logits*,qlinear: integer*,attention: integer*,vit W8A8: calibration*,vit W8A8: adaptation*"
    "${run[@]}" "$dir/bin/test_resnet" -tc="resnet fp32 golden*,resnet MQBench calibration*,resnet quantized: integer*,qconv2d: integer*,resnet W8A8 top-1*"
  fi
  say "$level: zoa stream (NoAdapt) vs x86"
  stream "${run[@]}" "$dir/bin/zoa" > "$dir/stream-$level.txt"
  cat "$dir/stream-$level.txt"
  if ! diff -u "$X86/stream-x86.txt" "$dir/stream-$level.txt"; then
    echo "test-arm64: $level NoAdapt accuracies differ from the x86 build's" >&2
    exit 1
  fi
done
say "passed ($LEVELS): $(( $(date +%s) - start )) s"
