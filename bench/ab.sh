#!/usr/bin/env bash
# A/B of two zoa_bench binaries (e.g. main's and a branch's build): ROUNDS rounds, each running A then B on the same
# rows, so that a slow phase of a shared machine hits both sides; per row the fastest round of each side (ms, the
# median of zoa_bench's own repeats) and A ÷ B (> 1: B is faster).
#
# usage: bench/ab.sh A_BIN B_BIN FILTER [ROUNDS]
#   FILTER   zoa_bench --benchmark_filter regex, e.g. 'zoa/r50.*/(6|4)/'
#   ROUNDS   default 3
# environment: ZOA_BENCH_THREADS (default 1: the CPU time is the work), ZOA_BENCH_ISA (default native)
#
# An AVX2-only machine is measured with a build for it, not with ZOA_BENCH_ISA=avx2 in a native build (there the
# AVX2 kernels are compiled with AVX-512's 32 vector registers):
#   cmake -S . -B build-bench-hsw -DCMAKE_BUILD_TYPE=Release -DZOA_BUILD_BENCH=ON -DZOA_BUILD_TESTS=OFF \
#       -DZOA_BUILD_EXAMPLES=OFF -DZOA_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=haswell
#   cmake --build build-bench-hsw --target zoa_bench
#   ZOA_BENCH_ISA=avx2 bench/ab.sh OLD/build-bench-hsw/bin/zoa_bench build-bench-hsw/bin/zoa_bench 'zoa/r50.*/6/'
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bench/ab.sh A_BIN B_BIN FILTER [ROUNDS]" >&2
    exit 2
fi
a=$1 b=$2 filter=$3 rounds=${4:-3}
for bin in "$a" "$b"; do
    [ -x "$bin" ] || { echo "bench/ab.sh: $bin is not an executable" >&2; exit 2; }
done
export ZOA_BENCH_THREADS="${ZOA_BENCH_THREADS:-1}" ZOA_BENCH_ISA="${ZOA_BENCH_ISA:-native}"
echo "# bench/ab.sh: A=$a B=$b filter='$filter' rounds=$rounds threads=$ZOA_BENCH_THREADS isa=$ZOA_BENCH_ISA" \
     "load=$(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
    for side in A B; do
        bin=$a
        [ "$side" = B ] && bin=$b
        # google-benchmark's aggregate line: "<name>_median <time> ms <cpu> ms <iterations> ..."
        "$bin" --benchmark_filter="$filter" 2>/dev/null | awk -v s="$side" '/_median / {
            split($1, n, "/"); t = $2; if ($3 == "us") t /= 1000; else if ($3 == "s") t *= 1000; print s, n[2] "/" n[3], t }'
    done
done | awk '{ k = $2; if (!(k in a)) a[k] = 1e300; if (!(k in b)) b[k] = 1e300
              if ($1 == "A" && $3 < a[k]) a[k] = $3; if ($1 == "B" && $3 < b[k]) b[k] = $3 }
            END { for (k in a) printf "%-24s A %8.3f ms  B %8.3f ms  A/B %.2f\n", k, a[k], b[k], a[k] / b[k] }' | sort
