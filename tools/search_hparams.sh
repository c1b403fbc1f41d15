#!/usr/bin/env bash
# zoa — ZOA hyper-parameter search on the 4 VALIDATION corruptions only (speckle_noise, gaussian_blur, spatter,
# saturate at severity 5; never the 15 test corruptions): a coordinate search that starts from the paper's values
# (zoa_options::paper), tries each value of one knob with the others fixed, keeps the best mean accuracy (a tie or
# a gain below MIN_GAIN points keeps the current value), then moves to the next knob.
# usage: MODEL=vit PRECISION=w6a6 tools/search_hparams.sh       [LIMIT=2000] [OUT=hp-out] [ZOA=build/bin/zoa]
#        MODEL=resnet PRECISION=w8a8 tools/search_hparams.sh
# Prints one Markdown row per tried setting and the chosen `--zoa-set` string; raw outputs are kept in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-vit}
PRECISION=${PRECISION:-w6a6}
LIMIT=${LIMIT:-2000}
OUT=${OUT:-hp-out}
THREADS=${THREADS:-$(nproc)}
ZOA=${ZOA:-build/bin/zoa}
MIN_GAIN=${MIN_GAIN:-0.10}
mkdir -p "$OUT"
data="fmnist-c:speckle_noise:5,fmnist-c:gaussian_blur:5,fmnist-c:spatter:5,fmnist-c:saturate:5"

# The model file: a calibrated file if one was given (CALIBRATED=...), otherwise calibrate once and keep it.
weights=${CALIBRATED:-}
if [ -z "$weights" ]; then
  weights="$OUT/${MODEL}_${PRECISION}.safetensors"
  [ -f "$weights" ] || [ "$PRECISION" = fp32 ] || "$ZOA" stream --weights "examples/assets/fmnist_${MODEL}.safetensors" \
    --precision "$PRECISION" --method none --data fmnist-train --limit 64 --threads "$THREADS" \
    --save-calibrated "$weights" > /dev/null
  [ "$PRECISION" = fp32 ] && weights="examples/assets/fmnist_${MODEL}.safetensors"
fi

# Knobs and candidate values; the first value of each list is the paper's (the starting point).
if [ "$MODEL" = vit ]; then
  if [ "$PRECISION" = w8a8 ] || [ "$PRECISION" = fp32 ]; then lr0=5e-4; else lr0=2e-4; fi
  knobs=("lr:$lr0 1e-4 5e-4 1e-3 2e-3 5e-3" "spsa_c:0.02 0.01 0.05" "lambda:30 10 100" "domain_t:0.1 0.05 0.2")
else
  knobs=("lr:1e-4 5e-5 2e-4 5e-4 1e-3" "spsa_c:0.01 0.005 0.02" "lambda:1 0.3 3 10" "domain_t:0.2 0.1 0.4")
fi

declare -A chosen
for k in "${knobs[@]}"; do chosen[${k%%:*}]=$(echo "${k#*:}" | cut -d' ' -f1); done
setting() { local s="" k; for k in "${knobs[@]}"; do s="$s${k%%:*}=${chosen[${k%%:*}]},"; done; echo "${s%,}"; }
declare -A seen
run() {  # $1 = --zoa-set string; echoes the mean accuracy
  local tag=${1//[=,]/_} log
  log="$OUT/${MODEL}_${PRECISION}_${tag}.txt"
  [ -s "$log" ] || "$ZOA" stream --weights "$weights" --method zoa --data "$data" --limit "$LIMIT" \
    --threads "$THREADS" --zoa-set "$1" > "$log" 2> /dev/null
  if [ -z "${seen[$1]:-}" ]; then
    seen[$1]=1
    printf '| %s |' "$1" >&2
    sed -n 's/^domain=[^ ]* round=[0-9]* images=[0-9]* accuracy=\([0-9.]*\).*/ \1 |/p' "$log" | tr -d '\n' >&2
    printf ' %s |\n' "$(sed -n 's/^mean_accuracy=//p' "$log")" >&2
  fi
  sed -n 's/^mean_accuracy=//p' "$log"
}

echo "model=$MODEL precision=$PRECISION limit=$LIMIT weights=$weights" >&2
echo "| --zoa-set | speckle_noise | gaussian_blur | spatter | saturate | mean |" >&2
echo "|---|---:|---:|---:|---:|---:|" >&2
best=$(run "$(setting)")
for k in "${knobs[@]}"; do
  name=${k%%:*}
  for v in ${k#*:}; do
    [ "$v" = "${chosen[$name]}" ] && continue
    old=${chosen[$name]}
    chosen[$name]=$v
    acc=$(run "$(setting)")
    if awk -v a="$acc" -v b="$best" -v g="$MIN_GAIN" 'BEGIN { exit !(a >= b + g) }'; then
      best=$acc
    else
      chosen[$name]=$old
    fi
  done
done
echo "chosen: --zoa-set $(setting)  (validation mean $best)"
