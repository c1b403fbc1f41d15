// zoa — reference (plain-loop) GEMMs: the oracles for kernels::gemm_q8 and kernels::gemm_f32
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/kernels/operand_range.hpp"
#include "zoa/kernels/output_stage.hpp"

namespace zoa::kernels::reference {

namespace detail {
/// Throws: zoa::error(numeric) when code v at (i, j) lies outside Range.
template <class Range, class T>
void check_in_range(T v, const char* what, std::size_t i, std::size_t j) {
    require(int(v) >= int(Range::min) && int(v) <= int(Range::max), error_code::numeric, "reference: ", what, "(", i,
            ", ", j, ") = ", int(v), " outside [", int(Range::min), ", ", int(Range::max), "]");
}
}  // namespace detail

/// C = stage(acc), acc[m,n] = sum_k (a[m*lda + k] - a_zero_point) * (W(n,k) - zw[n]),
/// W(n,k) = w[n*w_stride_n + k*w_stride_k], zw[n] = w_zero_points[n] (count N), [0] (count 1) or 0 (count 0).
/// Accumulates in int64 and throws zoa::error(numeric) when acc leaves int32 (never happens within q8_plan::max_k).
/// Throws: zoa::error(numeric) for operands outside ARange/WRange.
template <class ARange, class WRange, class Stage>
void gemm_q8(const typename ARange::storage* a, std::size_t m, std::ptrdiff_t lda, std::int32_t a_zero_point,
             const typename WRange::storage* w, std::size_t n, std::size_t k, std::ptrdiff_t w_stride_n,
             std::ptrdiff_t w_stride_k, const std::int32_t* w_zero_points, std::size_t w_zero_point_count,
             const Stage& stage) {
    zoa::kernels::detail::prepared_columns p;
    zoa::kernels::detail::prepare_columns(stage, n, n, p);
    std::vector<std::int64_t> wz(n, 0);
    for (std::size_t j = 0; j < n; ++j)
        if (w_zero_point_count) wz[j] = w_zero_points[w_zero_point_count == 1 ? 0 : j];
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t kk = 0; kk < k; ++kk)
            detail::check_in_range<ARange>(a[static_cast<std::ptrdiff_t>(i) * lda + static_cast<std::ptrdiff_t>(kk)],
                                           "A", i, kk);
        for (std::size_t j = 0; j < n; ++j) {
            std::int64_t acc = 0;
            for (std::size_t kk = 0; kk < k; ++kk) {
                const auto av = a[static_cast<std::ptrdiff_t>(i) * lda + static_cast<std::ptrdiff_t>(kk)];
                const auto wv = w[static_cast<std::ptrdiff_t>(j) * w_stride_n + static_cast<std::ptrdiff_t>(kk) * w_stride_k];
                detail::check_in_range<WRange>(wv, "W", j, kk);
                acc += (std::int64_t{av} - a_zero_point) * (std::int64_t{wv} - wz[j]);
            }
            require(acc >= INT32_MIN && acc <= INT32_MAX, error_code::numeric, "reference::gemm_q8: acc(", i, ", ", j,
                    ") = ", acc, " overflows int32");
            zoa::kernels::detail::store_scalar(stage, p, i, j, static_cast<std::int32_t>(acc));
        }
    }
}

/// C[m,n] = float(sum_k double(a[m*lda + k]) * double(W(n,k))) + bias[n], W(n,k) = w[n*w_stride_n + k*w_stride_k].
/// (double accumulation: the oracle is closer to the exact sum than any float kernel.)
inline void gemm_f32(const float* a, std::size_t m, std::ptrdiff_t lda, const float* w, std::size_t n, std::size_t k,
                     std::ptrdiff_t w_stride_n, std::ptrdiff_t w_stride_k, const out_f32& out) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double acc = 0;
            for (std::size_t kk = 0; kk < k; ++kk)
                acc += double(a[static_cast<std::ptrdiff_t>(i) * lda + static_cast<std::ptrdiff_t>(kk)]) *
                       double(w[static_cast<std::ptrdiff_t>(j) * w_stride_n + static_cast<std::ptrdiff_t>(kk) * w_stride_k]);
            const float y = static_cast<float>(acc) + (out.bias ? out.bias[j] : 0.0f);
            out.c[out.layout.row_offset(i) + static_cast<std::ptrdiff_t>(j) * out.layout.col_stride] = y;
        }
}

}  // namespace zoa::kernels::reference
