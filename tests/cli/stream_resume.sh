#!/usr/bin/env bash
# zoa — `zoa stream --checkpoint/--resume` survives SIGKILL: a checkpointed run (T3A, FOA, ZOA on the shipped
# Fashion-MNIST ResNet, W8A8) is killed with kill -9 twice, in the middle of a domain (first during FOA, then during
# ZOA), resumed each time; the finished run's stdout, --log and --out must equal an uninterrupted run's except the
# timing fields (ms_per_batch; ms and wait_ms). Also: a resume with another --seed or --method is refused with exit 2
# and one line naming the option, the checkpoint is byte-identical afterwards, and no temporary file is left.
# Usage: stream_resume.sh <bin/zoa> <fmnist_resnet.safetensors> <work dir>
set -euo pipefail
ZOA=$1 WEIGHTS=$2 WORK=$3
if [ ! -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  echo "SKIP: Debian's dataset-fashion-mnist is not installed"
  exit 0
fi
rm -rf "$WORK" && mkdir -p "$WORK"
args=(stream --weights "$WEIGHTS" --precision w8a8 --calib-images 16 --source-images 128 --method t3a,foa,zoa
      --data fmnist-c:fog:5,fmnist-c:contrast:5 --limit 96 --batch 16 --threads 2 --checkpoint-every 1)
fail() { echo "FAIL: $*" >&2; exit 1; }
no_timing_out() { sed -E 's/ms_per_batch=[0-9.]+//' "$1"; }
no_timing_log() { sed -E 's/"ms":[0-9.eE+-]+,"wait_ms":[0-9.eE+-]+//' "$1"; }

# the uninterrupted run
"$ZOA" "${args[@]}" --checkpoint "$WORK/full.ckpt" --log "$WORK/full.jsonl" --out "$WORK/full.md" > "$WORK/full.txt"
batches=$(wc -l < "$WORK/full.jsonl")
[ "$batches" -eq 36 ] || fail "expected 36 log lines (3 methods x 2 domains x 6 batches), got $batches"

# kill_at N: start (or resume) the run, SIGKILL it once its log holds N lines
kill_at() {
  local n=$1 resume=()
  [ -e "$WORK/run.ckpt" ] && resume=(--resume "$WORK/run.ckpt")
  "$ZOA" "${args[@]}" --checkpoint "$WORK/run.ckpt" --log "$WORK/run.jsonl" --out "$WORK/run.md" "${resume[@]}" \
    > "$WORK/killed.txt" &
  local pid=$!
  for _ in $(seq 1 6000); do
    [ -s "$WORK/run.jsonl" ] && [ "$(wc -l < "$WORK/run.jsonl")" -ge "$n" ] && break
    kill -0 "$pid" 2> /dev/null || fail "the run ended before its log reached $n lines"
    sleep 0.02
  done
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  local got
  got=$(wc -l < "$WORK/run.jsonl")
  [ "$got" -lt 36 ] || fail "the run finished before it was killed"
  echo "killed at log line $got (asked for $n)"
}
kill_at 15   # FOA, first domain (T3A has lines 1-12): 28 forward passes per batch
cp "$WORK/run.ckpt" "$WORK/before_refusal.ckpt"
# resuming with other options is refused, naming the option; the checkpoint stays as it was
for bad in "--seed 7" "--method t3a,zoa" "--limit 80"; do
  set +e
  # shellcheck disable=SC2086
  "$ZOA" "${args[@]}" $bad --checkpoint "$WORK/run.ckpt" --log "$WORK/run.jsonl" --resume "$WORK/run.ckpt" \
    > /dev/null 2> "$WORK/refused.txt"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] && [ "$(wc -l < "$WORK/refused.txt")" -eq 1 ] || fail "resume with $bad: exit $rc, $(cat "$WORK/refused.txt")"
  grep -q -- "${bad%% *}" "$WORK/refused.txt" || fail "resume with $bad: the message does not name ${bad%% *}: $(cat "$WORK/refused.txt")"
  echo "refused: $(cat "$WORK/refused.txt")"
done
cmp -s "$WORK/run.ckpt" "$WORK/before_refusal.ckpt" || fail "a refused resume changed the checkpoint"
kill_at 26   # ZOA, first domain (FOA has lines 13-24)
"$ZOA" "${args[@]}" --checkpoint "$WORK/run.ckpt" --log "$WORK/run.jsonl" --out "$WORK/run.md" \
  --resume "$WORK/run.ckpt" > "$WORK/resumed.txt"

diff <(no_timing_out "$WORK/full.txt") <(no_timing_out "$WORK/resumed.txt") || fail "stdout differs"
diff <(no_timing_log "$WORK/full.jsonl") <(no_timing_log "$WORK/run.jsonl") || fail "--log differs"
diff <(sed "s#$WORK/full#$WORK/run#g" "$WORK/full.md") "$WORK/run.md" || fail "--out differs"
leftovers=$(find "$WORK" \( -name '*.tmp.*' -o -name '.zoa-tmp-*' \) | wc -l)
[ "$leftovers" -eq 0 ] || fail "temporary files left: $(find "$WORK" \( -name '*.tmp.*' -o -name '.zoa-tmp-*' \))"
echo "resumed twice after SIGKILL: stdout, log and report identical to the uninterrupted run (timing fields aside)"
