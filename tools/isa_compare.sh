#!/usr/bin/env bash
# zoa — quantized outputs across instruction sets (docs/quantization.md §10): builds tools/isa_logits.cpp once per
# flavour — default flags (x86-64: SSE2, zoa::default_arch = sse2, portable integer kernels), avx2 (-mavx2 -mfma),
# native (-march=native; here AVX-512 + VNNI + AMX) — runs each on the same Fashion-MNIST test images with the shipped
# W6A6 ViT and its fp32 original, and compares the logits of every pair of flavours.
# usage: tools/isa_compare.sh   [IMAGES=1000] [FLAVOURS="default avx2 native"] [OUT=scratch dir, default mktemp -d]
#                               [CXX=g++]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-1000}
FLAVOURS=${FLAVOURS:-"default avx2 native"}
OUT=${OUT:-$(mktemp -d -t zoa-isa.XXXXXX)}
CXX=${CXX:-g++}
mkdir -p "$OUT"
for flavour in $FLAVOURS; do
    case "$flavour" in
        default) extra="" ;;
        avx2) extra="-mavx2 -mfma" ;;
        native) extra="-march=native" ;;
        *) echo "isa_compare.sh: unknown flavour '$flavour' (default, avx2, native)" >&2; exit 2 ;;
    esac
    echo "building isa_logits ($flavour: $CXX -std=c++17 -O2 $extra)"
    # shellcheck disable=SC2086
    $CXX -std=c++17 -O2 -DNDEBUG $extra -Iinclude tools/isa_logits.cpp -o "$OUT/isa_logits_$flavour"
    "$OUT/isa_logits_$flavour" run w6a6 examples/assets/fmnist_vit_w6a6.safetensors "$IMAGES" "$OUT/w6a6_$flavour.f32"
    "$OUT/isa_logits_$flavour" run fp32 examples/assets/fmnist_vit.safetensors "$IMAGES" "$OUT/fp32_$flavour.f32"
done
read -r -a all <<< "$FLAVOURS"
for p in w6a6 fp32; do
    for ((i = 0; i < ${#all[@]}; ++i)); do
        for ((j = i + 1; j < ${#all[@]}; ++j)); do
            echo -n "$p, ${all[i]} vs ${all[j]}: "
            "$OUT/isa_logits_${all[0]}" compare "$OUT/${p}_${all[i]}.f32" "$OUT/${p}_${all[j]}.f32"
        done
    done
done
