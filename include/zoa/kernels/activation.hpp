// zoa — element-wise activations: exact-erf GELU and ReLU (xsimd, block-parallel)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"

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
