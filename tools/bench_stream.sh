#!/usr/bin/env bash
# zoa — `zoa stream` at ImageNet-C size: peak RSS on 224² JPEG domains of 1,000 / 10,000 / 50,000 images, and
# whether decoding overlaps the model (time per batch with the loader's queue at depth 0, 1 and 2).
# Models: torchvision ResNet-18/-50 and timm-layout ViT-B/16 as plain safetensors (random weights, no zoa metadata;
# tools/reference/export_plain_imagenet_models.py), calibrated once to W8A8 and saved; images: synthetic
# ImageNet-C-shaped trees written by make_imagenet_c (1000 classes, gaussian_noise at severity 5).
# usage: tools/bench_stream.sh   [OUT=stream-bench] [ZOA=build/bin/zoa] [TREE=build/bin/make_imagenet_c]
#                                [MODELS="resnet18"] [METHODS="none zoa"] [SIZES="1000 10000"] [INPUT=224]
#                                [OVERLAP_BATCHES=10] [STEPS="base rss overlap"]
# Steps: base = peak RSS of one NoAdapt forward on one batch decoded on the main thread (the model's weights and
# working set at batch 64: the "model" term of the memory bound); rss = each method over one domain of each size,
# peak RSS from /usr/bin/time -v; overlap = time per NoAdapt batch with --prefetch 0 (decoded on the main thread
# between batches), 1 and 2 (2 loader threads), interleaved, twice.
# INPUT=64 runs the model at 64² (the calibrated file gets zoa.preprocess resize 73 / crop 64; the JPEGs are still
# decoded at 224²): ~12x less model time, for a 50,000-image domain on a shared machine. Tags then end in _in64.
# Every result line is appended to $OUT/results.txt; raw outputs, logs and /usr/bin/time -v reports stay in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-stream-bench}
ZOA=${ZOA:-build/bin/zoa}
TREE=${TREE:-build/bin/make_imagenet_c}
MODELS=${MODELS:-resnet18}
METHODS=${METHODS:-"none zoa"}
SIZES=${SIZES:-"1000 10000"}
INPUT=${INPUT:-224}
OVERLAP_BATCHES=${OVERLAP_BATCHES:-10}
STEPS=${STEPS:-"base rss overlap"}
mkdir -p "$OUT/models" "$OUT/trees"
say() { echo "[$(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)] $*" | tee -a "$OUT/results.txt"; }
rss_of() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
wall_of() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1"; }

/usr/bin/python3 tools/reference/export_plain_imagenet_models.py "$OUT/models" --models "${MODELS// /,}" > /dev/null
[ -d "$OUT/trees/clean/clean" ] || "$TREE" "$OUT/trees/clean" --images 2048 --classes 1000 --corruptions clean --seed 1
for n in $SIZES; do
  [ -d "$OUT/trees/n$n/gaussian_noise/5" ] || "$TREE" "$OUT/trees/n$n" --images "$n" --classes 1000 \
    --corruptions gaussian_noise --threads 2
done
clean=$OUT/trees/clean/clean

# W8A8 once per model, MQBench/PTQ4ViT-style calibration on clean images (32 for a ResNet as in the paper; 2 for the
# ViT: PTQ4ViT's search on 32 ViT-B images takes hours and the scales change neither time nor memory).
calibrated() {
  local m=$1 f="$OUT/models/$1_w8a8.safetensors" k=32
  [ "$m" = vit_base_patch16_224 ] && k=2
  if [ ! -f "$f" ]; then
    "$ZOA" stream --weights "$OUT/models/$m.safetensors" --arch "$m" --precision w8a8 --method none \
      --data "$clean" --limit 64 --calib "$clean" --calib-images "$k" --threads 2 --save-calibrated "$f" > /dev/null
  fi
  if [ "$INPUT" != 224 ]; then  # the same file, its input size set by zoa.preprocess (ResNets take any size)
    local g="$OUT/models/$1_w8a8_in$INPUT.safetensors"
    [ -f "$g" ] || /usr/bin/python3 - "$f" "$g" "$INPUT" <<'EOF'
import json, sys
sys.path.insert(0, "tools/reference")
from safetensors_io import read_safetensors, write_safetensors
tensors, meta = read_safetensors(sys.argv[1])[:2]
n = int(sys.argv[3])
meta["zoa.preprocess"] = json.dumps({"resize": n * 256 // 224, "crop": n, "interpolation": "bilinear",
                                     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]})
write_safetensors(sys.argv[2], tensors, meta)
EOF
    f=$g
  fi
  echo "$f"
}

sfx=""
[ "$INPUT" != 224 ] && sfx="_in$INPUT"
for m in $MODELS; do
  w=$(calibrated "$m")
  first=$(echo "$SIZES" | cut -d' ' -f1)
  if [[ " $STEPS " == *" base "* ]]; then
    tag="${m}_base$sfx"
    if [ ! -s "$OUT/$tag.time" ]; then
      /usr/bin/time -v -o "$OUT/$tag.time" "$ZOA" stream --weights "$w" --method none --batch 64 --threads 2 \
        --prefetch 0 --limit 64 --data "imagenet-c:$OUT/trees/n$first:gaussian_noise:5" > "$OUT/$tag.txt"
      say "$m W8A8 input $INPUT: one NoAdapt batch of 64 (no prefetch): peak RSS $(rss_of "$OUT/$tag.time") KB"
    fi
  fi
  if [[ " $STEPS " == *" rss "* ]]; then
    for method in $METHODS; do
      for n in $SIZES; do
        tag="${m}_${method}_n$n$sfx"
        [ -s "$OUT/$tag.time" ] && continue
        say "rss $m W8A8 input $INPUT, $method, batch 64, $n images"
        src=()
        [ "$method" = none ] || src=(--source "$clean" --source-images 256)
        /usr/bin/time -v -o "$OUT/$tag.time" "$ZOA" stream --weights "$w" --method "$method" --batch 64 --threads 2 \
          --data "imagenet-c:$OUT/trees/n$n:gaussian_noise:5" "${src[@]}" --log "$OUT/$tag.jsonl" > "$OUT/$tag.txt"
        say "$tag: peak RSS $(rss_of "$OUT/$tag.time") KB, wall $(wall_of "$OUT/$tag.time"), $(head -1 "$OUT/$tag.txt")"
      done
    done
  fi
  if [[ " $STEPS " == *" overlap "* ]]; then
    limit=$((64 * OVERLAP_BATCHES))
    for rep in 1 2; do  # interleaved: queue depth 0 (decoded on the main thread between batches), 1, 2
      for depth in 0 1 2; do
        tag="${m}_overlap_depth${depth}_$rep$sfx"
        "$ZOA" stream --weights "$w" --method none --batch 64 --threads 2 --prefetch "$depth" --loader-threads 2 \
          --limit "$limit" --data "imagenet-c:$OUT/trees/n$first:gaussian_noise:5" --log "$OUT/$tag.jsonl" \
          > "$OUT/$tag.txt"
        # per batch after the first: model ms, time waiting for the batch, and their sum (wall per batch)
        awk -v tag="$tag" -v load="$(cut -d' ' -f1 /proc/loadavg)" -F'[:,}]' '
             { for (i = 1; i < NF; ++i) { if ($i == "\"ms\"") ms = $(i + 1); if ($i == "\"wait_ms\"") w = $(i + 1) }
               if (NR > 1) { n++; sm += ms; sw += w } }
             END { printf "%s: %d batches, model %.1f ms/batch, waiting %.1f ms/batch, wall %.1f ms/batch (load %s)\n",
                          tag, n, sm / n, sw / n, (sm + sw) / n, load }' \
          "$OUT/$tag.jsonl" | tee -a "$OUT/results.txt"
      done
    done
  fi
done
