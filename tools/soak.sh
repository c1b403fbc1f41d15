#!/usr/bin/env bash
# zoa — long-run soak (a bench, not a unit test): `zoa stream` with ZOA over ROUNDS rounds of the 15 Fashion-MNIST-C
# corruptions at severity 5, sampling the process's resident memory (VmRSS) every SAMPLE seconds.
# Reports per round: mean accuracy, largest bank size, skipped updates and the RSS at the end of the round; then round 10 vs round 1 and the RSS growth from the end of round 1 to the end.
# usage: tools/soak.sh                     (env: ZOA=build/bin/zoa WEIGHTS=examples/assets/fmnist_vit_w6a6.safetensors
#                                           ROUNDS=10 LIMIT=500 THREADS=2 SAMPLE=1 METHOD=zoa OUT=soak-out)
# Run it on a quiet machine. Exit status: 2 when zoa stream failed (e.g. a non-finite logit ends it), else 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
zoa=${ZOA:-$root/build/bin/zoa}
weights=${WEIGHTS:-$root/examples/assets/fmnist_vit_w6a6.safetensors}
rounds=${ROUNDS:-10}
limit=${LIMIT:-500}
threads=${THREADS:-2}
sample=${SAMPLE:-1}
method=${METHOD:-zoa}
out=${OUT:-soak-out}
mkdir -p "$out"

corruptions=(gaussian_noise shot_noise impulse_noise defocus_blur glass_blur motion_blur zoom_blur snow frost fog
             brightness contrast elastic_transform pixelate jpeg_compression)
data=$(printf 'fmnist-c:%s:5,' "${corruptions[@]}")
data=${data%,}

[ -x "$zoa" ] || { echo "soak.sh: $zoa not found (make build)" >&2; exit 2; }
echo "soak.sh: $method on $(basename "$weights"), $rounds rounds x ${#corruptions[@]} corruptions x $limit images," \
     "$threads threads; RSS every ${sample}s -> $out/"
start=$(date +%s.%N)
# stdout lines get a time stamp (seconds since start) so that RSS samples can be matched to rounds
"$zoa" stream --weights "$weights" --method "$method" --rounds "$rounds" --data "$data" --limit "$limit" \
  --threads "$threads" 2>"$out/stderr.log" | while IFS= read -r line; do
    printf '%.1f\t%s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$line"
  done >"$out/stream.log" &
sleep 0.2
pid=$(pgrep -n -f "stream --weights $weights --method $method --rounds $rounds" || true)
: >"$out/rss.tsv"
while [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && printf '%.1f\t%s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$rss" >>"$out/rss.tsv"
  sleep "$sample"
done
wait
grep -q "mean_accuracy=" "$out/stream.log" || { echo "soak.sh: zoa stream failed: $(tail -1 "$out/stderr.log")" >&2; exit 2; }
wall=$(echo "$(date +%s.%N) - $start" | bc)

awk -v rounds="$rounds" -v wall="$wall" '
  FNR == NR { t[n] = $1; r[n] = $2; n++; if ($2 > peak) peak = $2; next }   # rss.tsv: time, kB
  /domain=/ {
    match($0, /round=[0-9]+/); rd = substr($0, RSTART + 6, RLENGTH - 6)
    match($0, /accuracy=[0-9.]+/); acc[rd] += substr($0, RSTART + 9, RLENGTH - 9); cnt[rd]++
    match($0, /bank=[0-9]+/); b = substr($0, RSTART + 5, RLENGTH - 5); if (b > bank[rd]) bank[rd] = b
    match($0, /skipped=[0-9]+/); skipped = substr($0, RSTART + 8, RLENGTH - 8)
    end[rd] = $1
  }
  END {
    printf "round  mean_acc  max_bank  skipped_total  rss_at_end_MB\n"
    for (k = 1; k <= rounds; k++) {
      m = 0; for (i = 0; i < n; i++) if (t[i] <= end[k]) m = r[i]
      rss_end[k] = m
      printf "%5d  %8.2f  %8d  %13d  %13.1f\n", k, cnt[k] ? acc[k] / cnt[k] : 0, bank[k], skipped, m / 1024
    }
    printf "round %d vs round 1: %.2f vs %.2f (%+.2f points)\n", rounds, acc[rounds] / cnt[rounds], acc[1] / cnt[1],
           acc[rounds] / cnt[rounds] - acc[1] / cnt[1]
    printf "RSS: end of round 1 %.1f MB, end of round %d %.1f MB (%+.1f MB), peak %.1f MB; %d samples; wall %.0f s\n",
           rss_end[1] / 1024, rounds, rss_end[rounds] / 1024, (rss_end[rounds] - rss_end[1]) / 1024, peak / 1024, n, wall
  }' "$out/rss.tsv" "$out/stream.log" | tee "$out/summary.txt"
