#!/usr/bin/env bash
# zoa — the Fashion-MNIST-C benchmark behind docs/results.md: for each model × precision, one continual round over
# the 15 corruptions at severity 5 with every method, plus the clean test set; every run's raw output is kept in
# $OUT/<model>_<precision>.txt and the Markdown tables are printed to stdout.
# usage: tools/bench_fmnist.sh [MODELS="vit resnet"] [PRECISIONS="fp32 w8a8 w6a6 w4a4"] [LIMIT=2000] [OUT=bench-out]
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-"vit resnet"}
PRECISIONS=${PRECISIONS:-"fp32 w8a8 w6a6 w4a4"}
LIMIT=${LIMIT:-2000}
OUT=${OUT:-bench-out}
THREADS=${THREADS:-$(nproc)}
ZOA=${ZOA:-build/bin/zoa}
mkdir -p "$OUT"
corruptions="gaussian_noise shot_noise impulse_noise defocus_blur glass_blur motion_blur zoom_blur snow frost fog brightness contrast elastic_transform pixelate jpeg_compression"
data=$(for c in $corruptions; do printf 'fmnist-c:%s:5,' "$c"; done)
data=${data%,}
for m in $MODELS; do
  methods="none,t3a,foa,zoa"
  [ "$m" = resnet ] && methods="none,bn,t3a,foa,zoa"
  for p in $PRECISIONS; do
    log="$OUT/${m}_${p}.txt"
    echo "== $m $p (methods $methods, $LIMIT images per domain) -> $log" >&2
    "$ZOA" stream --weights "examples/assets/fmnist_${m}.safetensors" --precision "$p" --method "$methods" \
      --data "$data" --limit "$LIMIT" --threads "$THREADS" > "$log"
    "$ZOA" stream --weights "examples/assets/fmnist_${m}.safetensors" --precision "$p" --method none \
      --data fmnist --limit "$LIMIT" --threads "$THREADS" > "$OUT/${m}_${p}_clean.txt"
  done
done
# one table per model: rows precision × method, columns corruptions, mean, clean, forwards/batch, ms/batch
for m in $MODELS; do
  printf '\n### %s\n\n| precision | method |' "$m"
  for c in $corruptions; do printf ' %s |' "$c"; done
  printf ' mean | clean (no adapt) | fwd/batch | ms/batch |\n|---|---|'
  for _ in $corruptions; do printf -- '---:|'; done
  printf -- '---:|---:|---:|---:|\n'
  for p in $PRECISIONS; do
    clean=$(sed -n 's/^mean_accuracy=//p' "$OUT/${m}_${p}_clean.txt")
    awk -v p="$p" -v clean="$clean" '
      /^# method=/ { split($2, a, "="); method = a[2]; n = 0; fwd = 0; ms = 0; row = "" }
      /^domain=/ { for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                   row = row " " v["accuracy"] " |"; fwd += v["forwards_per_batch"]; ms += v["ms_per_batch"]; ++n }
      /^mean_accuracy=/ { split($0, a, "="); printf "| %s | %s |%s %s | %s | %.1f | %.1f |\n", p, method, row, a[2], clean, fwd / n, ms / n }
    ' "$OUT/${m}_${p}.txt"
  done
done
