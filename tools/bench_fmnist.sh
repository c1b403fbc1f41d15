#!/usr/bin/env bash
# zoa — the Fashion-MNIST-C benchmark behind docs/results.md: for each model × precision, one continual round over
# the 15 corruptions at severity 5 with every method, the clean test set, and a 3-round continual run with the
# knowledge bank on vs off; every run's raw output is kept in $OUT and the Markdown tables are printed to stdout.
# usage: tools/bench_fmnist.sh   [MODELS="vit resnet"] [PRECISIONS="fp32 w8a8 w6a6 w4a4"] [LIMIT=2000] [OUT=bench-out]
#                                [FOA="vit:w6a6 resnet:w8a8"] [BANK="vit:w6a6 resnet:w8a8"] [ROUNDS=3]
#                                [VIT_LOWBIT_SET=lr=1e-4] [VIT_SET=] [RESNET_SET=]   (--zoa-set per model, below)
# FOA costs 28 forward passes per batch (≈ 10 min per model × precision here), so it runs only for the
# model:precision pairs listed in FOA ("all" = every pair). BANK lists the pairs for the bank on/off run.
# Quantized models are calibrated once (PTQ4ViT / MQBench on 32 / 64 train images) and the calibrated file is reused.
# Every method is its own run with its own log in $OUT: rerunning the script after an interruption redoes only the
# runs without a complete log (the full-size evidence, LIMIT=10000 ROUNDS=10, takes hours).
# TABLES_ONLY=1: run nothing, only print the tables from the logs already in $OUT (a missing log is an error, exit 2;
# nothing is written to $OUT): how tools/check_results.py re-makes the tables of docs/results.md from the raw logs
# kept in docs/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
TABLES_ONLY=${TABLES_ONLY:-0}
MODELS=${MODELS:-"vit resnet"}
PRECISIONS=${PRECISIONS:-"fp32 w8a8 w6a6 w4a4"}
LIMIT=${LIMIT:-2000}
OUT=${OUT:-bench-out}
THREADS=${THREADS:-$(nproc)}
ZOA=${ZOA:-build/bin/zoa}
FOA=${FOA-"vit:w6a6 resnet:w8a8"}  # empty = no FOA run
BANK=${BANK-"vit:w6a6 resnet:w8a8"}  # empty = no bank run
ROUNDS=${ROUNDS:-3}
if [ "$TABLES_ONLY" = 1 ]; then
  CAT=$(mktemp -d)  # the per-model concatenations of the logs, for the tables
  trap 'rm -rf "$CAT"' EXIT
else
  mkdir -p "$OUT"
  CAT=$OUT
fi
corruptions="gaussian_noise shot_noise impulse_noise defocus_blur glass_blur motion_blur zoom_blur snow frost fog brightness contrast elastic_transform pixelate jpeg_compression"
data=$(for c in $corruptions; do printf 'fmnist-c:%s:5,' "$c"; done)
data=${data%,}
# ZOA's options beyond the paper's (zoa_options::paper), chosen by tools/search_hparams.sh on the 4 validation
# corruptions (docs/results.md): VIT_LOWBIT_SET for the ViT at W6A6 and W4A4 (W4A4 inherits W6A6's values, as the
# paper maps it), VIT_SET for the ViT at fp32/W8A8, RESNET_SET for the ResNet; empty = the paper's values.
VIT_LOWBIT_SET=${VIT_LOWBIT_SET-lr=1e-4}
VIT_SET=${VIT_SET-}
RESNET_SET=${RESNET_SET-}
zoa_set_for() {  # $1 model, $2 precision, $3 method: the --zoa-set argument pair, none for methods other than ZOA's
  [[ "$3" == zoa* ]] || return 0
  local set
  case "$1:$2" in vit:w6a6 | vit:w4a4) set=$VIT_LOWBIT_SET ;; vit:*) set=$VIT_SET ;; *) set=$RESNET_SET ;; esac
  [ -z "$set" ] || printf -- '--zoa-set\n%s\n' "$set"
}
# run LOG WHAT ARGS...: `zoa stream ARGS` into LOG unless LOG already ends with the run's mean_accuracy line (an
# interrupted run leaves only LOG.tmp behind, so it is redone).
run() {
  local log=$1 what=$2
  shift 2
  grep -q '^mean_accuracy=' "$log" 2> /dev/null && return 0
  if [ "$TABLES_ONLY" = 1 ]; then echo "bench_fmnist: TABLES_ONLY: $log is missing or incomplete" >&2; exit 2; fi
  echo "== $what -> $log" >&2
  "$ZOA" stream "$@" --threads "$THREADS" > "$log.tmp"
  mv "$log.tmp" "$log"
}
# with_header METHOD PRECISION LOG: a one-method log as a multi-method run prints it ("# method=" line first; a
# one-method `zoa stream` does not print that line), for the tables below.
with_header() {
  echo "# method=$1 precision=$2"
  grep -v '^# method=' "$3"
}
listed() { [ "$1" = all ] || [[ " $1 " == *" $2 "* ]]; }

weights_for() {  # $1 model, $2 precision: the fp32 asset, or a calibrated copy made once in $OUT
  local m=$1 p=$2 w
  [ "$TABLES_ONLY" = 1 ] && return 0  # no run needs it
  if [ "$p" = fp32 ]; then echo "examples/assets/fmnist_${m}.safetensors"; return; fi
  w="$OUT/${m}_${p}.safetensors"
  if [ ! -f "$w" ]; then
    echo "== calibrating $m $p -> $w" >&2
    "$ZOA" stream --weights "examples/assets/fmnist_${m}.safetensors" --precision "$p" --method none \
      --data fmnist-train --limit 64 --threads "$THREADS" --save-calibrated "$w" > /dev/null
  fi
  echo "$w"
}

for m in $MODELS; do
  for p in $PRECISIONS; do
    w=$(weights_for "$m" "$p")
    methods="none t3a"
    [ "$m" = resnet ] && methods="none bn t3a"
    listed "$FOA" "$m:$p" && methods="$methods foa"
    methods="$methods zoa"
    # One process and one log per method (the methods of a run do not share state), so an interrupted benchmark
    # resumes at the first method without a complete log; ${m}_${p}.txt is their concatenation, for the tables.
    log="$CAT/${m}_${p}.txt"
    if [ ! -s "$log" ]; then
      for method in $methods; do
        run "$OUT/${m}_${p}.${method}.txt" "$m $p $method, $LIMIT images per domain" \
          --weights "$w" --method "$method" --data "$data" --limit "$LIMIT" $(zoa_set_for "$m" "$p" "$method")
      done
      for method in $methods; do with_header "$method" "$p" "$OUT/${m}_${p}.${method}.txt"; done > "$log.tmp"
      mv "$log.tmp" "$log"
    fi
    run "$OUT/${m}_${p}_clean.txt" "$m $p clean test set" --weights "$w" --method none --data fmnist --limit 10000
    if listed "$BANK" "$m:$p" && [ ! -s "$CAT/${m}_${p}_bank.txt" ]; then
      for method in zoa zoa_nobank; do
        run "$OUT/${m}_${p}_bank.${method}.txt" "$m $p $method, $ROUNDS rounds" --weights "$w" --method "$method" \
          --rounds "$ROUNDS" --data "$data" --limit "$LIMIT" $(zoa_set_for "$m" "$p" "$method")
      done
      for method in zoa zoa_nobank; do with_header "$method" "$p" "$OUT/${m}_${p}_bank.${method}.txt"; done \
        > "$CAT/${m}_${p}_bank.txt.tmp"
      mv "$CAT/${m}_${p}_bank.txt.tmp" "$CAT/${m}_${p}_bank.txt"
    fi
  done
done

# One table per model: rows precision × method, columns corruptions, mean, clean, forwards/batch, ms/batch.
for m in $MODELS; do
  printf '\n### %s, one continual round, %s images per corruption\n\n| precision | method |' "$m" "$LIMIT"
  for c in $corruptions; do printf ' %s |' "$c"; done
  printf ' mean | clean (no adapt, 10k) | fwd/batch | ms/batch |\n|---|---|'
  for _ in $corruptions; do printf -- '---:|'; done
  printf -- '---:|---:|---:|---:|\n'
  for p in $PRECISIONS; do
    clean=$(sed -n 's/^mean_accuracy=//p' "$OUT/${m}_${p}_clean.txt")
    awk -v p="$p" -v clean="$clean" '
      /^# method=/ { split($2, a, "="); method = a[2]; n = 0; fwd = 0; ms = 0; row = "" }
      /^domain=/ { for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                   row = row " " v["accuracy"] " |"; fwd += v["forwards_per_batch"]; ms += v["ms_per_batch"]; ++n }
      /^mean_accuracy=/ { split($0, a, "="); printf "| %s | %s |%s %s | %s | %.1f | %.1f |\n", p, method, row, a[2], clean, fwd / n, ms / n }
    ' "$CAT/${m}_${p}.txt"
  done
done

# Bank on vs off: the mean over the 15 corruptions in each round of one continual stream.
printf '\n### knowledge bank on (zoa) vs off (zoa_nobank), %s continual rounds, %s images per corruption\n\n' "$ROUNDS" "$LIMIT"
printf '| model | precision | method |'
for r in $(seq 1 "$ROUNDS"); do printf ' round %s |' "$r"; done
printf ' all rounds |\n|---|---|---|'
for _ in $(seq 1 "$ROUNDS"); do printf -- '---:|'; done
printf -- '---:|\n'
for m in $MODELS; do
  for p in $PRECISIONS; do
    [ -s "$CAT/${m}_${p}_bank.txt" ] || continue
    awk -v m="$m" -v p="$p" -v R="$ROUNDS" '
      /^# method=/ { split($2, a, "="); method = a[2]; for (r = 1; r <= R; ++r) { s[r] = 0; c[r] = 0 } }
      /^domain=/ { for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
                   s[v["round"]] += v["accuracy"]; ++c[v["round"]] }
      /^mean_accuracy=/ { split($0, a, "="); printf "| %s | %s | %s |", m, p, method
                          for (r = 1; r <= R; ++r) printf " %.2f |", s[r] / c[r]
                          printf " %s |\n", a[2] }
    ' "$CAT/${m}_${p}_bank.txt"
  done
done
