// zoa — PTQ4ViT twin-uniform quantizers: post-GELU (fc2 input) and post-softmax "SoS" (attn·v's A), exactly as
// the reference computes them, including the "sum of two quantizers" quirk (spec §4.1, §6 item 16)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

#include "zoa/quant/quantizer.hpp"

namespace zoa::quant {

// ---- post-GELU twin (PostGeluPTQSLBatchingQuantLinear.quant_input) ----------------------------------------------
// qmax = 2^(b−1), Δ₋ = 0.16997124254703522 / qmax (fixed; ≈ |min GELU(x)| over the reals),
// x̂ = clamp(round(x/Δ₊), 0, qmax−1)·Δ₊ + clamp(round(x/Δ₋), −qmax, 0)·Δ₋
// For x ≥ 0 the second term is exactly 0 and for x ≤ 0 the first one is, so one signed code c ∈ [−qmax, qmax−1]
// with a sign-dependent scale carries the value: x̂ = c·Δ₊ if c ≥ 0, c·Δ₋ if c < 0. The integer path can compute
// x̂·W = Δ₊·(max(c,0)·W) + Δ₋·(min(c,0)·W).

/// The fixed numerator of the negative-side step: Δ₋ = post_gelu_neg_numerator / 2^(b−1) (PTQ4ViT constant).
inline constexpr double post_gelu_neg_numerator = 0.16997124254703522;

/// Δ₋ for a b-bit post-GELU twin: float(0.16997124254703522 / 2^(b−1)) (the Python double, rounded to float when
/// torch divides the float tensor by it).
inline float post_gelu_neg_scale(int bits) noexcept {
    return static_cast<float>(post_gelu_neg_numerator / static_cast<double>(1 << (bits - 1)));
}

/// Simulated post-GELU twin, the literal reference sum:
/// x̂ = clamp(round(x/Δ₊), 0, qmax−1)·Δ₊ + clamp(round(x/Δ₋), −qmax, 0)·Δ₋, qmax = 2^(b−1). NaN propagates.
inline float fake_quant_post_gelu(float x, float pos_scale, float neg_scale, int bits) noexcept {
    const float qmax = static_cast<float>(1 << (bits - 1));
    const float pos = clamp_propagate(round_half_even(x / pos_scale), 0.0f, qmax - 1.0f) * pos_scale;
    const float neg = clamp_propagate(round_half_even(x / neg_scale), -qmax, 0.0f) * neg_scale;
    return pos + neg;  // one term is exactly 0, so an FMA here gives the same result
}

/// Integer encode of the post-GELU twin: c = clamp(round(x/Δ₊), 0, qmax−1) if x > 0, else clamp(round(x/Δ₋), −qmax, 0).
/// Ensures: decode_post_gelu(c) == fake_quant_post_gelu(x) for every non-NaN x. NaN → −qmax.
inline std::int32_t encode_post_gelu(float x, float pos_scale, float neg_scale, int bits) noexcept {
    const int qmax = 1 << (bits - 1);
    if (x > 0.0f) return detail::to_code(clamp_propagate(round_half_even(x / pos_scale), 0.0f, float(qmax - 1)), 0);
    return detail::to_code(clamp_propagate(round_half_even(x / neg_scale), float(-qmax), 0.0f), -qmax);
}

/// Integer decode of the post-GELU twin: x̂ = c·Δ₊ if c ≥ 0, c·Δ₋ if c < 0.
inline float decode_post_gelu(std::int32_t c, float pos_scale, float neg_scale) noexcept {
    return c >= 0 ? static_cast<float>(c) * pos_scale : static_cast<float>(c) * neg_scale;
}

// ---- post-softmax twin, "split of softmax" (SoSPTQSLBatchingQuantMatMul.quant_input_A) ---------------------------
// q = 2^(b−1) − 1 (no sign bit is spent), Δ_low = split / q (float division),
// x̂ = clamp(round(clamp(x, split, 1)·q), 0, q)/q  +  clamp(round(clamp(x, 0, split)/Δ_low), 0, q)·Δ_low
// NB (spec §6 item 16, replicated): a SUM of two quantizers, not the paper's disjoint ranges. For x > split the low
// term saturates at round(split/Δ_low)·Δ_low ≈ split, so split is added to the coarse value; for x < split the coarse
// term is the constant round(split·q)/q, nonzero once split ≥ 1/(2q). The search picks split with this formula.

/// The two codes of the post-softmax twin: x̂ = high/q + low·Δ_low, both in [0, q].
struct softmax_twin_codes {
    std::int32_t high;  ///< clamp(round(clamp(x, split, 1)·q), 0, q)
    std::int32_t low;   ///< clamp(round(clamp(x, 0, split)/Δ_low), 0, q)
};

/// Δ_low = split / q with q = 2^(b−1) − 1, in float (torch divides the float split tensor by the int q).
inline float post_softmax_low_scale(float split, int bits) noexcept {
    return split / static_cast<float>((1 << (bits - 1)) - 1);
}

/// Integer encode: high = clamp(round(clamp(x, split, 1)·q), 0, q), low = clamp(round(clamp(x, 0, split)/Δ_low), 0, q).
/// NaN → {0, 0}.
inline softmax_twin_codes encode_post_softmax(float x, float split, int bits) noexcept {
    const float q = static_cast<float>((1 << (bits - 1)) - 1);
    const float low_scale = post_softmax_low_scale(split, bits);
    const float hi = clamp_propagate(round_half_even(clamp_propagate(x, split, 1.0f) * q), 0.0f, q);
    const float lo = clamp_propagate(round_half_even(clamp_propagate(x, 0.0f, split) / low_scale), 0.0f, q);
    return {detail::to_code(hi, 0), detail::to_code(lo, 0)};
}

/// Integer decode: x̂ = high/q + low·Δ_low (float ops in the reference's order).
inline float decode_post_softmax(softmax_twin_codes c, float split, int bits) noexcept {
    const float q = static_cast<float>((1 << (bits - 1)) - 1);
    const float lo = static_cast<float>(c.low) * post_softmax_low_scale(split, bits);
    return static_cast<float>(c.high) / q + detail::fp_barrier(lo);
}

/// Simulated post-softmax twin (the literal reference sum):
/// x̂ = clamp(round(clamp(x, split, 1)·q), 0, q)/q + clamp(round(clamp(x, 0, split)/Δ_low), 0, q)·Δ_low. NaN propagates.
inline float fake_quant_post_softmax(float x, float split, int bits) noexcept {
    const float q = static_cast<float>((1 << (bits - 1)) - 1);
    const float low_scale = post_softmax_low_scale(split, bits);
    const float hi = clamp_propagate(round_half_even(clamp_propagate(x, split, 1.0f) * q), 0.0f, q) / q;
    const float lo = clamp_propagate(round_half_even(clamp_propagate(x, 0.0f, split) / low_scale), 0.0f, q) * low_scale;
    return hi + detail::fp_barrier(lo);  // two rounded terms, never an FMA
}

}  // namespace zoa::quant
