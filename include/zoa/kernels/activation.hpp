// zoa — element-wise activations: exact-erf GELU and ReLU (xsimd, block-parallel)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/kernels/quantize.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::kernels {

namespace detail {

/// fl(−1/√2).
inline constexpr float minus_inv_sqrt2 = -0.70710678118654752440f;

/// Applies vec_op to the full vectors of [begin, end) and scalar_op to the tail, for fixed blocks of
/// elementwise_block elements split over ctx (the SIMD/tail split depends only on n).
template <class Arch, class VecOp, class ScalarOp>
void map_elements(const float* x, float* y, std::size_t n, execution_context& ctx, VecOp&& vec_op,
                  ScalarOp&& scalar_op) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    parallel_blocks(ctx, n, elementwise_block, [&](std::size_t begin, std::size_t end) {
        std::size_t i = begin;
        for (; i + w <= end; i += w) vec_op(batch::load_unaligned(x + i)).store_unaligned(y + i);
        for (; i < end; ++i) y[i] = scalar_op(x[i]);
    });
}

/// Throws: zoa::error(argument) naming fn for a null x or y, or n == 0.
inline void check_elementwise(const char* fn, const float* x, const float* y, std::size_t n) {
    require_pointer(fn, "x", x);
    require_pointer(fn, "y", y);
    require_extent(fn, "n", n);
}

}  // namespace detail

/// GELU with the exact erf (PyTorch nn.GELU() default, approximate='none'):
///   y = 0.5·x·(1 + erf(x/√2)), evaluated as y = (0.5·x)·erfc(−x·fl(1/√2)),
/// which is the same function without the cancellation of 1 + erf(·) for x ≪ 0 (PyTorch's float path loses all
/// digits there: it returns 0 for x ≤ −10 and ~4 % error at x = −5; zoa keeps full relative accuracy until erfc
/// underflows near x ≈ −13). xsimd::erfc on the vectors, std::erfc on the tail.
/// Special values: gelu(+Inf) = +Inf, gelu(−Inf) = NaN (−Inf·0, as PyTorch), NaN propagates, gelu(±0) = ±0.
/// y may alias x exactly. Threads: fixed blocks of 16384 elements over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) when x or y is null or n is 0.
template <class Arch = default_arch>
void gelu(const float* x, float* y, std::size_t n, execution_context& ctx) {
    detail::check_elementwise("gelu", x, y, n);
    using batch = xsimd::batch<float, Arch>;
    const batch half(0.5f), k(detail::minus_inv_sqrt2);
    detail::map_elements<Arch>(
        x, y, n, ctx, [&](const batch& v) { return (half * v) * xsimd::erfc(v * k); },
        [](float v) { return (0.5f * v) * std::erfc(v * detail::minus_inv_sqrt2); });
}

/// GELU fused with the post-GELU twin quantization of the next layer's input (PTQ4ViT, spec §4.1), without writing
/// GELU's floats. With g = gelu(x[i]) (the same arithmetic as gelu(), vectors and tail alike) and q = qmax:
///   pos[i] = clamp(nearbyint(g / scale_pos), 0, q − 1),   neg[i] = clamp(nearbyint(g / scale_neg), −q, 0),
/// i.e. exactly quantize_per_tensor(gelu(x), pos, n, scale_pos, 0, 0, q − 1) and
/// quantize_per_tensor(gelu(x), neg, n, scale_neg, 0, −q, 0) (for g > 0 neg is 0, for g ≤ 0 pos is 0).
/// Threads: fixed blocks of 16384 elements over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers, n = 0, a scale that is not finite and > 0, or q outside
/// [1, 128]; zoa::error(numeric) naming the element when gelu(x) is NaN (x NaN or −Inf); pos/neg are then partially
/// written.
template <class Arch = default_arch>
void gelu_quantize_twin(const float* x, std::int8_t* pos, std::int8_t* neg, std::size_t n, float scale_pos,
                        float scale_neg, std::int32_t qmax, execution_context& ctx) {
    const char* fn = "gelu_quantize_twin";
    detail::require_pointer(fn, "x", x);
    detail::require_pointer(fn, "pos", pos);
    detail::require_pointer(fn, "neg", neg);
    detail::require_extent(fn, "n", n);
    require(qmax >= 1 && qmax <= 128, error_code::argument, fn, ": qmax = ", qmax, " is outside [1, 128]");
    detail::require_qparams(fn, scale_pos, 0, 0, qmax - 1);
    detail::require_qparams(fn, scale_neg, 0, -qmax, 0);
    using fb = xsimd::batch<float, Arch>;
    constexpr std::size_t w = fb::size;
    const fb half(0.5f), k(detail::minus_inv_sqrt2), sp(scale_pos), sn(scale_neg), zero(0.0f);
    const fb pos_hi(static_cast<float>(qmax - 1)), neg_lo(static_cast<float>(-qmax));
    detail::parallel_blocks(ctx, n, detail::elementwise_block, [&](std::size_t b, std::size_t e) {
        auto nan_seen = fb(0.0f) != fb(0.0f);
        std::size_t i = b;
        for (; i + w <= e; i += w) {
            const fb v = fb::load_unaligned(x + i);
            const fb g = (half * v) * xsimd::erfc(v * k);
            nan_seen = nan_seen | xsimd::isnan(g);
            const fb gp = xsimd::min(xsimd::max(detail::divide(g, sp), zero), pos_hi);
            const fb gn = xsimd::min(xsimd::max(detail::divide(g, sn), neg_lo), zero);
            detail::store_narrow<Arch, std::int8_t>(xsimd::nearbyint_as_int(gp), pos + i);
            detail::store_narrow<Arch, std::int8_t>(xsimd::nearbyint_as_int(gn), neg + i);
        }
        bool tail_nan = false;
        for (; i < e; ++i) {
            const float g = (0.5f * x[i]) * std::erfc(x[i] * detail::minus_inv_sqrt2);
            if (std::isnan(g)) {
                tail_nan = true;
                continue;
            }
            pos[i] = detail::quantize_one<std::int8_t>(g, scale_pos, 0.0f, static_cast<float>(qmax - 1), 0);
            neg[i] = detail::quantize_one<std::int8_t>(g, scale_neg, static_cast<float>(-qmax), 0.0f, 0);
        }
        if (xsimd::any(nan_seen) || tail_nan)
            for (std::size_t j = b; j < e; ++j)
                require(!std::isnan((0.5f * x[j]) * std::erfc(x[j] * detail::minus_inv_sqrt2)), error_code::numeric,
                        fn, ": GELU of input element ", j, " (", x[j], ") is NaN (cannot be quantized)");
    });
}

/// ReLU: y = (0 > x) ? 0 : x, so NaN propagates and relu(−0) = −0 (as torch.relu). y may alias x exactly.
/// Threads: fixed blocks over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) when x or y is null or n is 0.
template <class Arch = default_arch>
void relu(const float* x, float* y, std::size_t n, execution_context& ctx) {
    detail::check_elementwise("relu", x, y, n);
    using batch = xsimd::batch<float, Arch>;
    const batch zero(0.0f);
    detail::map_elements<Arch>(
        x, y, n, ctx, [&](const batch& v) { return xsimd::select(zero > v, zero, v); },
        [](float v) { return 0.0f > v ? 0.0f : v; });
}

}  // namespace zoa::kernels

ZOA_DETAIL_AVX512_WARNINGS_END
