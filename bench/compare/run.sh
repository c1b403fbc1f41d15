#!/usr/bin/env bash
# zoa — `make bench-compare`: zoa vs PyTorch (fp32, dynamic int8 on the onednn engine, static int8 on oneDNN for the
# ResNet, reference-style fake-quant) end to end, and the ZOA/FOA step cost and peak RSS, on random-weight ViT-B/16
# and ResNet-50 (docs/performance.md)
# SPDX-License-Identifier: MIT
#
# Environment (all optional):
#   ZOA_COMPARE_BUILD    build directory (default: build-compare in the repository)
#   ZOA_COMPARE_MARCH    -march of the driver (default native; haswell = AVX2-only build)
#   ZOA_COMPARE_ISA      avx2: emulate an AVX2-only machine (no AVX-512, VNNI or AMX) on BOTH sides: zoa built with
#                        -march=haswell (unless ZOA_COMPARE_MARCH says otherwise), PyTorch with
#                        ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and OPENBLAS_CORETYPE=Haswell
#   THREADS              threads for both zoa and PyTorch (default 2)
#   REPS / WARMUP        timed / untimed repetitions per case (default 3 / 1)
#   ROUNDS               ResNet e2e: rounds of (static int8 peer, zoa W8A8, zoa W6A6) processes, one after the other;
#                        each side's line reports its fastest round (default 3; the first round also times the other
#                        PyTorch paths), so that a slow phase of a shared machine does not land on one side only
#   MODELS, BATCHES      default "vit resnet" and "1 8"
#   ADAPT_BATCH          batch of the adapt lines (default 8); SKIP_ADAPT=1, SKIP_STREAM=1, SKIP_TORCH=1 skip parts
#   FOA_WARMUP           untimed FOA steps before the one timed step (default 1; FOA = 28 forwards per step)
#   STREAM_BATCHES       batches of the long-stream memory check (default 1000)
#   PYTHON               Python with torch (default /usr/bin/python3)
# Output: the `e2e`, `adapt` and `stream` lines on stdout (and in $ZOA_COMPARE_BUILD/bench-compare.txt); raw lines
# of both sides (`torch`, `infer`, `adapt ... step_ms`) go to $ZOA_COMPARE_BUILD/bench-compare.raw.txt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${ZOA_COMPARE_BUILD:-$root/build-compare}"
isa="${ZOA_COMPARE_ISA:-native}"
case "$isa" in
    native) march="${ZOA_COMPARE_MARCH:-native}" ;;
    avx2)
        march="${ZOA_COMPARE_MARCH:-haswell}"
        export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell ;;
    *) echo "bench-compare: ZOA_COMPARE_ISA must be native or avx2, got '$isa'" >&2; exit 2 ;;
esac
threads="${THREADS:-2}"
reps="${REPS:-3}"
rounds="${ROUNDS:-3}"
warmup="${WARMUP:-1}"
models="${MODELS:-vit resnet}"
batches="${BATCHES:-1 8}"
adapt_batch="${ADAPT_BATCH:-8}"
stream_batches="${STREAM_BATCHES:-1000}"
python="${PYTHON:-/usr/bin/python3}"
data="$build/compare-models"
out="$build/bench-compare.txt"
raw="$build/bench-compare.raw.txt"

export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

echo "bench-compare: building zoa_compare (-march=$march) in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DZOA_BUILD_BENCH=ON -DZOA_BUILD_TESTS=OFF \
    -DZOA_BUILD_EXAMPLES=OFF -DZOA_COMPARE_MARCH="$march" > "$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target zoa_compare -j "$threads" >&2
bin="$build/bin/zoa_compare"

echo "bench-compare: random-weight models in $data" >&2
mkdir -p "$data"
"$python" "$root/bench/compare/torch_compare.py" export --out-dir "$data"
file_of() { [ "$1" = vit ] && echo "$data/vit_base_patch16_224" || echo "$data/resnet50"; }
for m in $models; do
    for p in w8a8 w6a6; do
        f="$(file_of "$m")"
        if [ ! -f "${f}_$p.safetensors" ]; then
            echo "bench-compare: calibrating $m $p (cheapest calibration, for speed only)" >&2
            "$bin" prepare --model "$m" --precision "$p" --fp32 "$f.safetensors" --out "${f}_$p.safetensors" \
                --threads "$threads" >&2
        fi
    done
done

# field LINE KEY: the value of KEY=value in LINE
field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
minof() { awk -v a="$1" -v b="$2" 'BEGIN { print (b != "" && b + 0 < a + 0 ? b : a) }'; }

: > "$raw"
: > "$out"
emit() { echo "$1" | tee -a "$out"; }
note() { echo "# $1" | tee -a "$out"; }

note "$(date -u '+%Y-%m-%d %H:%M:%S UTC') host=$(hostname) threads=$threads reps=$reps warmup=$warmup march=$march isa=$isa"
note "uptime:$(uptime)"
declare -A infer_line
for m in $models; do
    f="$(file_of "$m")"
    for b in $batches; do
        if [ "${SKIP_TORCH:-0}" = 1 ]; then
            t="torch model=$m batch=$b fp32_ms=0 int8_ms=0 fakequant_ms=0 static_int8_ms=0"
        else
            t="$("$python" "$root/bench/compare/torch_compare.py" time --model "$m" --batch "$b" --threads "$threads" \
                --warmup "$warmup" --reps "$reps")"
        fi
        echo "$t" >> "$raw"
        y="$(field "$t" fp32_ms)"
        z="$(field "$t" int8_ms)"
        fq="$(field "$t" fakequant_ms)"
        st="$(field "$t" static_int8_ms)"
        declare -A zoa_ms=()
        nr=1
        [ "$m" = resnet ] && nr="$rounds"
        for ((r = 1; r <= nr; r++)); do
            if ((r > 1)) && [ "${SKIP_TORCH:-0}" != 1 ]; then
                t2="$("$python" "$root/bench/compare/torch_compare.py" time --model "$m" --batch "$b" \
                    --threads "$threads" --warmup "$warmup" --reps "$reps" --static-only)"
                echo "$t2 round=$r" >> "$raw"
                st="$(minof "$st" "$(field "$t2" static_int8_ms)")"
            fi
            for p in w8a8 w6a6; do
                l="$("$bin" infer --model "$m" --precision "$p" --weights "${f}_$p.safetensors" --batch "$b" \
                    --threads "$threads" --warmup "$warmup" --reps "$reps")"
                echo "$l round=$r" >> "$raw"
                [ "$r" = 1 ] && infer_line["$m/$p/$b"]="$l"
                zoa_ms[$p]="$(minof "$(field "$l" ms_per_image)" "${zoa_ms[$p]:-}")"
            done
        done
        for p in w8a8 w6a6; do
            x="${zoa_ms[$p]}"
            if [ "$m" = resnet ]; then  # the int8 peer a ResNet user picks: PyTorch static int8 (oneDNN)
                emit "e2e model=$m batch=$b precision=$p zoa_ms=$x torch_fp32_ms=$y torch_int8_ms=$z torch_static_int8_ms=$st speedup_fp32=$(ratio "$y" "$x") zoa_over_static=$(ratio "$x" "$st") rounds=$rounds"
            else
                emit "e2e model=$m batch=$b precision=$p zoa_ms=$x torch_fp32_ms=$y torch_int8_ms=$z speedup_fp32=$(ratio "$y" "$x")"
            fi
            echo "# e2e-extra model=$m batch=$b precision=$p torch_fakequant_w8a8_ms=$fq speedup_int8=$(ratio "$z" "$x") speedup_fakequant=$(ratio "$fq" "$x")" | tee -a "$out" >&2
        done
    done
done

if [ "${SKIP_ADAPT:-0}" != 1 ]; then
    for m in $models; do
        f="$(file_of "$m")"
        p=w8a8
        l="${infer_line["$m/$p/$adapt_batch"]:-}"
        if [ -z "$l" ]; then
            l="$("$bin" infer --model "$m" --precision "$p" --weights "${f}_$p.safetensors" --batch "$adapt_batch" \
                --threads "$threads" --warmup "$warmup" --reps "$reps")"
            echo "$l" >> "$raw"
        fi
        q="$(field "$l" peak_rss_mb)"
        for method in zoa foa; do
            # FOA evaluates popsize + 1 = 28 forwards per batch: fewer repetitions
            r="$reps" wu=1
            [ "$method" = foa ] && r=1 wu="${FOA_WARMUP:-1}"
            a="$("$bin" adapt --model "$m" --precision "$p" --weights "${f}_$p.safetensors" --batch "$adapt_batch" \
                --method "$method" --threads "$threads" --warmup "$wu" --reps "$r")"
            echo "$a" >> "$raw"
            # step and inference timed in pairs in the same process (zoa_compare adapt): the ratio is the median
            # of the per-pair ratios, immune to the machine's slow and fast phases between processes
            emit "adapt model=$m method=$method step_ms=$(field "$a" paired_step_ms) infer_ms=$(field "$a" paired_infer_ms) ratio=$(field "$a" paired_ratio) cpu_ratio=$(field "$a" paired_cpu_ratio) peak_rss_mb=$(field "$a" peak_rss_mb) infer_peak_rss_mb=$q"
        done
    done
fi

if [ "${SKIP_STREAM:-0}" != 1 ]; then
    l="$("$bin" stream --weights "$root/examples/assets/fmnist_vit_w6a6.safetensors" --batches "$stream_batches" \
        --batch 16 --threads "$threads")"
    echo "$l" >> "$raw"
    emit "$l"
fi
note "uptime:$(uptime)"
echo "bench-compare: wrote $out (raw lines: $raw)" >&2
