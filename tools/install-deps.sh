#!/usr/bin/env bash
# zoa — install the Debian 12 packages a make target needs (idempotent; apt-get update only when something is missing)
# usage: tools/install-deps.sh [build|compilers|bench|fuzz|arm64|format]...   (default: build)
set -euo pipefail

# python3-numpy: ctest cli_vit_predict (tools/reference/check_vit_predict.py, `zoa predict` vs a numpy reference of the
# ViT) skips itself without numpy, so a fresh machine's `make test` would pass without running it
build_pkgs=(g++ cmake make python3 python3-numpy libxtensor-dev libxsimd-dev doctest-dev libstb-dev nlohmann-json3-dev
            dataset-fashion-mnist)
# libdnnl-dev's CMake config (dnnl-config.cmake) calls find_package(OpenCL): without the OpenCL loader and headers
# `make bench` fails at configure time ("Could NOT find OpenCL"), although zoa_bench only uses oneDNN's CPU engine.
bench_pkgs=(libbenchmark-dev libdnnl-dev ocl-icd-opencl-dev opencl-c-headers python3-torch python3-torchvision
            libopenblas0-pthread)
compilers_pkgs=(clang)  # make test-compilers (tools/check_compilers.py) builds with clang++ too
fuzz_pkgs=(clang libclang-rt-14-dev)
format_pkgs=(clang-format)  # make format
# make test-arm64: the AArch64 cross compiler (pulls in the arm64 libc/libstdc++ cross packages) and qemu-aarch64
arm64_pkgs=(g++-aarch64-linux-gnu qemu-user)

want=()
for target in "${@:-build}"; do
  case "$target" in
    build) want+=("${build_pkgs[@]}") ;;
    compilers) want+=("${build_pkgs[@]}" "${compilers_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    fuzz) want+=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
    arm64) want+=("${build_pkgs[@]}" "${arm64_pkgs[@]}") ;;
    format) want+=("${format_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown target '$target' (expected build, compilers, bench, fuzz, arm64 or format)" >&2; exit 2 ;;
  esac
done

mapfile -t want < <(printf '%s\n' "${want[@]}" | awk '!seen[$0]++')
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} Debian packages for '${*:-build}' are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 2
fi
echo "install-deps: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
