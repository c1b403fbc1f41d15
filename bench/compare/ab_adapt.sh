#!/usr/bin/env bash
# A/B of the ZOA step ÷ inference ratio of two zoa_compare binaries (e.g. main's build and a branch's): ROUNDS rounds,
# each running A then B as separate processes, so that a slow phase of a shared machine hits both sides. Every line
# is one process: `zoa_compare adapt ... --reps 5`, whose paired_ratio is the median of 5 (inference, step) pairs
# run back to back on the same input, and paired_step_ms / paired_infer_ms their medians; logits_fnv is a hash of the
# last step's logits (the same for A and B when both compute the same bits, e.g. any thread count or ISA).
#
# usage: bench/compare/ab_adapt.sh A_BIN B_BIN WEIGHTS [PRECISION] [THREADS] [ROUNDS]
#   WEIGHTS    a calibrated ResNet-50 file of bench/compare/run.sh, e.g.
#              build-compare/compare-models/resnet50_w8a8.safetensors
#   PRECISION  w8a8 (default) or w6a6, matching WEIGHTS;  THREADS default 1;  ROUNDS default 3
# environment: MODEL (default resnet), BATCH (default 8), METHOD (default zoa)
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bench/compare/ab_adapt.sh A_BIN B_BIN WEIGHTS [PRECISION] [THREADS] [ROUNDS]" >&2
    exit 2
fi
a=$1 b=$2 weights=$3 precision=${4:-w8a8} threads=${5:-1} rounds=${6:-3}
for bin in "$a" "$b"; do
    [ -x "$bin" ] || { echo "bench/compare/ab_adapt.sh: $bin is not an executable" >&2; exit 2; }
done
[ -f "$weights" ] || { echo "bench/compare/ab_adapt.sh: no weights file $weights (run bench/compare/run.sh once)" >&2; exit 2; }
echo "# ab_adapt: A=$a B=$b weights=$weights precision=$precision threads=$threads rounds=$rounds" \
     "load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
for _ in $(seq "$rounds"); do
    for side in A B; do
        bin=$a
        [ "$side" = B ] && bin=$b
        line=$("$bin" adapt --model "${MODEL:-resnet}" --precision "$precision" --weights "$weights" \
               --batch "${BATCH:-8}" --threads "$threads" --warmup 1 --reps 5 --method "${METHOD:-zoa}")
        echo "$side $(grep -o 'paired_step_ms=[0-9.]*\|paired_infer_ms=[0-9.]*\|paired_ratio=[0-9.]*\|logits_fnv=[0-9a-f]*' <<<"$line" | tr '\n' ' ')"
    done
done
