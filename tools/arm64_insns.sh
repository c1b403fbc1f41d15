#!/usr/bin/env bash
# zoa — the instructions an AArch64 build executes per forward pass and per ZOA step, counted under qemu-aarch64.
# qemu has no timing model, so on an x86 machine the executed-instruction count is the figure an AArch64 change can be
# compared by (it is not time: a NEON instruction and a scalar one count alike).
#
# usage: tools/arm64_insns.sh LEVEL MODEL PRECISION WEIGHTS [BATCH] [REV]
#   LEVEL      v8.0 | dotprod | i8mm   (-march and qemu -cpu as in make test-arm64)
#   MODEL      resnet | vit;  PRECISION w8a8 | w6a6;  WEIGHTS a file bench/compare/zoa_compare reads, e.g.
#              build-compare/compare-models/resnet50_w8a8.safetensors (written by make bench-compare)
#   BATCH      images per batch (default 1)
#   REV        a git revision whose include/ is measured instead of the working tree's (default: the working tree);
#              the driver, bench/compare/zoa_compare.cpp, is always the working tree's
# Prints one line: arm64_insns level=... model=... precision=... batch=... headers=... infer_insns=N step_insns=N
# ZOA_INSN_TOP=K (environment): before that line, the K functions with the most instructions per forward and per
# ZOA step (the same differences as below, per function of the static binary's symbol table).
# Method: zoa_compare (cross-compiled -O2 -static for the level) runs `infer` with 1 and with 3 timed forwards and
# `adapt --method zoa` with 1 and with 3 repetitions, no warm-up, each under tools/qemu_insn_count.c (single thread).
# infer: the 2 extra forwards' instructions / 2. adapt: the 2 extra repetitions are 2 steps and 2 (inference, step)
# pairs, so a step = (difference − 2 · infer_insns) / 4. Loading the model, the process's setup and the source
# statistics cancel out in both differences. Needs g++-aarch64-linux-gnu and qemu-user (tools/install-deps.sh arm64) and gcc.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '6,14p' "$0" >&2; exit 2; }
LEVEL=$1 MODEL=$2 PRECISION=$3 WEIGHTS=$(realpath -m -- "$4") BATCH=${5:-1} REV=${6:-}
cd "$(dirname "$0")/.."
case "$LEVEL" in
  v8.0) march=armv8-a; cpu=cortex-a53 ;;
  dotprod) march=armv8.2-a+dotprod; cpu=cortex-a76 ;;
  i8mm) march=armv8.6-a+i8mm; cpu=max ;;
  *) echo "arm64_insns: unknown level '$LEVEL' (expected v8.0, dotprod, i8mm)" >&2; exit 2 ;;
esac
[ -f "$WEIGHTS" ] || { echo "arm64_insns: no weights file '$WEIGHTS' (make bench-compare writes build-compare/compare-models/)" >&2; exit 2; }
tools/install-deps.sh arm64 > /dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inc=include
if [ -n "$REV" ]; then
  git archive "$REV" include | tar -x -C "$work"
  inc=$work/include
fi
gcc -O2 -shared -fPIC tools/qemu_insn_count.c -o "$work/insn.so"
aarch64-linux-gnu-g++ -std=c++17 -O2 -DNDEBUG -march=$march -static -no-pie -I"$inc" bench/compare/zoa_compare.cpp \
  -o "$work/zoa_compare" -lpthread
count() {  # count <mode> <reps> [extra args]: the instructions of one zoa_compare run
  local mode=$1 reps=$2 log="$work/run.log"
  shift 2
  if ! ZOA_INSN_BLOCKS="$work/blocks-$mode-$reps.txt" qemu-aarch64 -cpu $cpu -plugin "$work/insn.so" "$work/zoa_compare" $mode --model "$MODEL" \
      --precision "$PRECISION" --weights "$WEIGHTS" --batch "$BATCH" --threads 1 --warmup 0 --reps "$reps" "$@" \
      > /dev/null 2> "$log"; then
    echo "arm64_insns: zoa_compare $mode failed under qemu: $(grep -v '^insns' "$log" | tail -n 1)" >&2
    exit 1
  fi
  sed -n 's/^insns \([0-9]*\)$/\1/p' "$log"
}
i1=$(count infer 1) i3=$(count infer 3)
a1=$(count adapt 1 --method zoa) a3=$(count adapt 3 --method zoa)
infer=$(( (i3 - i1) / 2 ))
if [ -n "${ZOA_INSN_TOP:-}" ]; then
  aarch64-linux-gnu-nm -C --defined-only "$work/zoa_compare" > "$work/symbols.txt"
  python3 - "$work" "$ZOA_INSN_TOP" <<'PY'
import bisect, collections, sys
work, top = sys.argv[1], int(sys.argv[2])
syms = sorted((int(a, 16), name) for a, kind, name in
              (line.rstrip("\n").split(" ", 2) for line in open(f"{work}/symbols.txt") if line.count(" ") >= 2)
              if kind in "tTwW")
starts = [a for a, _ in syms]
def per_function(path):
    c = collections.Counter()
    for line in open(path):
        address, n = line.split()
        i = bisect.bisect_right(starts, int(address, 16)) - 1
        c[syms[i][1] if i >= 0 else "?"] += int(n)
    return c
one, three = per_function(f"{work}/blocks-infer-1.txt"), per_function(f"{work}/blocks-infer-3.txt")
diff = {k: (three[k] - one.get(k, 0)) / 2 for k in three}
def show(title, d):
    total = sum(d.values())
    print(title)
    for name, n in sorted(d.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f} %  {n / 1e6:8.1f} M  {name[:140]}")
show("per forward:", diff)
# a ZOA step as the step count below: (adapt 3 - adapt 1 - 2 forwards) / 4, function by function
a_one, a_three = per_function(f"{work}/blocks-adapt-1.txt"), per_function(f"{work}/blocks-adapt-3.txt")
step = {k: (a_three[k] - a_one.get(k, 0) - 2 * diff.get(k, 0)) / 4 for k in a_three}
show("per ZOA step:", {k: v for k, v in step.items() if v > 0})
PY
fi
step=$(( (a3 - a1 - 2 * infer) / 4 ))
echo "arm64_insns level=$LEVEL model=$MODEL precision=$PRECISION batch=$BATCH headers=${REV:-worktree}" \
  "infer_insns=$infer step_insns=$step"
