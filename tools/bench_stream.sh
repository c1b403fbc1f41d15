#!/usr/bin/env bash
# zoa — `zoa stream` at ImageNet-C size: peak RSS on 224² JPEG domains of 1,000 vs 10,000 (and 50,000) images, and
# whether decoding overlaps the model (time per batch streamed vs decoded on the main thread between batches).
# Models: torchvision ResNet-50 and timm-layout ViT-B/16 as plain safetensors (random weights, no zoa metadata;
# tools/reference/export_plain_imagenet_models.py), calibrated once to W8A8 and saved; images: synthetic
# ImageNet-C-shaped trees written by make_imagenet_c (1000 classes, gaussian_noise at severity 5).
# usage: tools/bench_stream.sh   [OUT=stream-bench] [ZOA=build/bin/zoa] [TREE=build/bin/make_imagenet_c]
#                                [MODELS="resnet50 vit_base_patch16_224"] [SIZES="1000 10000"] [OVERLAP_BATCHES=20]
#                                [STEPS="base rss overlap"]
# Steps: base = peak RSS of one NoAdapt forward on one batch decoded on the main thread (the model's weights and
# working set at batch 64: the "model" term of the memory bound); rss = ZOA over one domain of each size; overlap =
# time per batch with decoding on loader threads vs on the main thread (interleaved A/B, twice).
# Every result line is appended to $OUT/results.txt; raw outputs, logs and /usr/bin/time -v reports stay in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-stream-bench}
ZOA=${ZOA:-build/bin/zoa}
TREE=${TREE:-build/bin/make_imagenet_c}
MODELS=${MODELS:-"resnet50 vit_base_patch16_224"}
SIZES=${SIZES:-"1000 10000"}
OVERLAP_BATCHES=${OVERLAP_BATCHES:-20}
STEPS=${STEPS:-"base rss overlap"}
mkdir -p "$OUT/models" "$OUT/trees"
say() { echo "[$(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)] $*" | tee -a "$OUT/results.txt"; }

/usr/bin/python3 tools/reference/export_plain_imagenet_models.py "$OUT/models" > /dev/null
[ -d "$OUT/trees/clean/clean" ] || "$TREE" "$OUT/trees/clean" --images 2048 --classes 1000 --corruptions clean --seed 1
for n in $SIZES; do
  [ -d "$OUT/trees/n$n/gaussian_noise/5" ] || "$TREE" "$OUT/trees/n$n" --images "$n" --classes 1000 \
    --corruptions gaussian_noise
done
clean=$OUT/trees/clean/clean

# W8A8 once per model (calibration images: the clean tree). The ViT uses 2 calibration images: PTQ4ViT's search on
# 32 ViT-B images takes hours and the scales do not change time or memory.
calibrated() {
  local m=$1 f="$OUT/models/$1_w8a8.safetensors" arch=resnet50 k=64
  [ "$m" = vit_base_patch16_224 ] && arch=vit_base_patch16_224 && k=2
  if [ ! -f "$f" ]; then
    "$ZOA" stream --weights "$OUT/models/$m.safetensors" --arch "$arch" --precision w8a8 --method none \
      --data "$clean" --limit 64 --calib "$clean" --calib-images "$k" --threads 2 --save-calibrated "$f" > /dev/null
  fi
  echo "$f"
}

for m in $MODELS; do
  w=$(calibrated "$m")
  if [[ " $STEPS " == *" base "* ]]; then
    n=$(echo "$SIZES" | cut -d' ' -f1)
    tag="${m}_base"
    if [ ! -s "$OUT/$tag.time" ]; then
      /usr/bin/time -v -o "$OUT/$tag.time" "$ZOA" stream --weights "$w" --method none --batch 64 --threads 2 \
        --prefetch 0 --limit 64 --data "imagenet-c:$OUT/trees/n$n:gaussian_noise:5" > "$OUT/$tag.txt"
      say "$m one NoAdapt batch of 64 (no prefetch): peak RSS" \
          "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$tag.time") KB"
    fi
  fi
  if [[ " $STEPS " == *" rss "* ]]; then
    for n in $SIZES; do
      tag="${m}_n$n"
      [ -s "$OUT/$tag.time" ] && continue
      say "rss $m W8A8, zoa, batch 64, $n images"
      /usr/bin/time -v -o "$OUT/$tag.time" "$ZOA" stream --weights "$w" --method zoa --batch 64 --threads 2 \
        --data "imagenet-c:$OUT/trees/n$n:gaussian_noise:5" --source "$clean" --source-images 256 \
        --log "$OUT/$tag.jsonl" > "$OUT/$tag.txt"
      say "$m $n images: peak RSS $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$tag.time") KB," \
          "wall $(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$tag.time"), $(cat "$OUT/$tag.txt" | head -1)"
    done
  fi
  if [[ " $STEPS " == *" overlap "* ]]; then
    n=$(echo "$SIZES" | cut -d' ' -f1)
    limit=$((64 * OVERLAP_BATCHES))
    for rep in 1 2; do  # A/B interleaved: streamed (2 loader threads, queue of 2), then decoded between batches
      for mode in "streamed:--prefetch 2 --loader-threads 2" "main-thread:--prefetch 0"; do
        name=${mode%%:*}
        tag="${m}_overlap_${name}_$rep"
        # shellcheck disable=SC2086
        "$ZOA" stream --weights "$w" --method zoa --batch 64 --threads 2 ${mode#*:} --limit "$limit" \
          --data "imagenet-c:$OUT/trees/n$n:gaussian_noise:5" --source "$clean" --source-images 64 \
          --log "$OUT/$tag.jsonl" > "$OUT/$tag.txt"
        # per batch after the first: model ms, time waiting for the batch, and their sum (wall per batch)
        awk -v tag="$tag" -F'[:,}]' '{ for (i = 1; i < NF; ++i) { if ($i == "\"ms\"") ms = $(i + 1); if ($i == "\"wait_ms\"") w = $(i + 1) }
             if (NR > 1) { n++; sm += ms; sw += w } }
             END { printf "%s: %d batches, model %.1f ms/batch, waiting %.1f ms/batch, wall %.1f ms/batch\n", tag, n, sm / n, sw / n, (sm + sw) / n }' \
          "$OUT/$tag.jsonl" | tee -a "$OUT/results.txt"
      done
    done
  fi
done
