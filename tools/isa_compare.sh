#!/usr/bin/env bash
# zoa — quantized outputs across instruction sets (docs/quantization.md §10): builds tools/isa_logits.cpp twice,
# with the compiler's default flags (x86-64: SSE2, zoa::default_arch = sse2, portable integer kernels) and with
# -march=native (here AVX-512 + VNNI + AMX), runs both on the same Fashion-MNIST test images with the shipped W6A6
# ViT and compares their logits.
# usage: tools/isa_compare.sh [IMAGES=1000] [OUT=scratch dir, default a fresh mktemp -d] [CXX=g++]
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-1000}
OUT=${OUT:-$(mktemp -d -t zoa-isa.XXXXXX)}
CXX=${CXX:-g++}
MODEL=examples/assets/fmnist_vit_w6a6.safetensors
mkdir -p "$OUT"
for flavour in default native; do
    flags="-std=c++17 -O2 -DNDEBUG"
    [ "$flavour" = native ] && flags="$flags -march=native"
    echo "building isa_logits ($flavour: $CXX $flags)"
    # shellcheck disable=SC2086
    $CXX $flags -Iinclude tools/isa_logits.cpp -o "$OUT/isa_logits_$flavour"
    "$OUT/isa_logits_$flavour" run "$MODEL" "$IMAGES" "$OUT/logits_$flavour.f32"
done
"$OUT/isa_logits_default" compare "$OUT/logits_default.f32" "$OUT/logits_native.f32"
