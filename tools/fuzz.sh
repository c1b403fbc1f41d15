#!/usr/bin/env bash
# zoa — build the libFuzzer targets with clang (tests/fuzz) and run each for FUZZ_SECONDS on a copy of its corpus
# usage: tools/fuzz.sh [target...]          (default: every tests/fuzz/fuzz_<target>.cpp; `make fuzz` runs this)
# env:   FUZZ_SECONDS=600   time per target (one process, -jobs 1; targets run one after another)
#        FUZZ_BUILD=build-fuzz   build directory (relative to the repository root or absolute)
#        FUZZ_JOBS=2        parallel compile jobs
#        FUZZ_FLAGS=        extra libFuzzer flags (e.g. -max_len=65536)
# Per target it prints executions, coverage (cov: edges, ft: features from libFuzzer's last status line) and
# whether a crash/leak/timeout/OOM was found; artifacts go to <build>/fuzz-artifacts/<target>/, logs to
# <build>/fuzz-logs/<target>.log. The committed corpus tests/fuzz/corpus/<target>/ is never modified.
# tests/fuzz/known/<target>/ holds inputs that hit third-party undefined behaviour which only the clang ignore list
# (tests/fuzz/ubsan_ignorelist.txt) excludes, so they cannot be in the corpus that test_reliability replays under
# g++'s sanitizers; they are added to the seeds here, so every campaign first re-runs them (a report = a finding).
# Exit status: 0 when no target found anything, 1 when one did, 2 on a usage/build error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-600}
build=${FUZZ_BUILD:-build-fuzz}
[[ "$build" = /* ]] || build="$root/$build"
jobs=${FUZZ_JOBS:-2}
cxx=${FUZZ_CXX:-clang++}

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found (Debian: apt-get install clang libclang-rt-14-dev, or run make fuzz as root)" >&2
  exit 2
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do
    n=$(basename "$f" .cpp)
    targets+=("${n#fuzz_}")
  done
fi

echo "fuzz.sh: configuring $build with $cxx"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DZOA_BUILD_FUZZ=ON -DZOA_BUILD_TESTS=OFF -DZOA_BUILD_EXAMPLES=OFF -DZOA_INSTALL=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 2; }
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$build" -j "$jobs" "${build_targets[@]}" || exit 2

mkdir -p "$build/fuzz-logs"
summary=()
found=0
for t in "${targets[@]}"; do
  exe="$build/bin/fuzz_$t"
  seeds="$root/tests/fuzz/corpus/$t"
  work="$build/fuzz-corpus/$t"     # a copy: new units land here, never in the committed corpus
  art="$build/fuzz-artifacts/$t"
  log="$build/fuzz-logs/$t.log"
  rm -rf "$work" "$art"
  mkdir -p "$work" "$art"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  known="$root/tests/fuzz/known/$t"
  nknown=0
  if [ -d "$known" ]; then
    cp -r "$known"/. "$work"/
    nknown=$(find "$known" -type f | wc -l)
  fi
  dict=()
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "fuzz.sh: fuzz_$t for ${seconds}s ($(find "$work" -type f | wc -l) seed files, incl. $nknown known)"
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  "$exe" "$work" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$art/" ${FUZZ_FLAGS:-} >"$log" 2>&1
  rc=$?
  set -e
  wall=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  # crash-, leak-, timeout-, oom- files are findings; slow-unit- files only mark inputs slower than 10 s (on a
  # loaded machine often a scheduling pause: re-run them with `fuzz_<target> <file>` to check)
  artifacts=$(find "$art" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$art" -type f -name 'slow-unit-*' | wc -l)
  if [ "$rc" -ne 0 ] || [ "$artifacts" -ne 0 ]; then
    status="FOUND (exit $rc): $(find "$art" -type f ! -name 'slow-unit-*' | head -3 | tr '\n' ' ')"
    found=1
    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer)|runtime error|terminate called|uncaught|==ERROR' "$log" || true
  else
    status="no crash"
    [ "$slow" -ne 0 ] && status="no crash ($slow slow-unit file(s), see $art)"
  fi
  line=$(printf '%-14s %6ss %12s execs %8s/s  cov %6s  ft %7s  corpus %-12s rss %5sMB  %s' "$t" "$wall" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$status")
  echo "$line"
  summary+=("$line")
done

echo
echo "fuzz.sh summary (FUZZ_SECONDS=$seconds, $("$cxx" --version | head -1)):"
printf '%s\n' "${summary[@]}"
exit $found
