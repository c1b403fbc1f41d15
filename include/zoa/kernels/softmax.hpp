// zoa — numerically stable row softmax (xsimd exp, row-parallel)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::kernels {

namespace detail {

/// max_j x[j] over n floats (vector max, then the lanes and the tail in order). NaN handling is unspecified here;
/// softmax makes a NaN row all-NaN through the sum anyway.
template <class Arch>
float row_max(const float* x, std::size_t n) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const std::size_t nv = n - n % w;
    float m = -std::numeric_limits<float>::infinity();
    if (nv > 0) {
        batch vm = batch::load_unaligned(x);
        for (std::size_t i = w; i < nv; i += w) vm = xsimd::max(vm, batch::load_unaligned(x + i));
        alignas(64) float lanes[batch::size];
        vm.store_aligned(lanes);
        for (std::size_t l = 0; l < w; ++l) m = lanes[l] > m ? lanes[l] : m;
    }
    for (std::size_t i = nv; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

}  // namespace detail

/// Softmax of each row of x [rows × cols], stabilised by the row maximum:
///   m_r = max_j x[r,j],   e[r,j] = exp(x[r,j] − m_r),   y[r,j] = e[r,j] · fl(1 / Σ_k e[r,k]).
/// exp by xsimd::exp on vectors and std::exp on the tail, in float; the sum in float lanes flushed to double every
/// 64 vectors; 1/Σ in double, rounded once. Outputs whose exact value is below ~1e-38 may flush to 0.
/// Special values (as torch.softmax): a NaN or +Inf in a row, or a row of only −Inf, makes the whole row NaN;
/// −Inf entries of an otherwise finite row give exactly 0.
/// y may alias x exactly. Threads: rows are split over ctx (bit-identical results for any thread count).
/// Throws: zoa::error(argument) when x or y is null or rows or cols is 0.
template <class Arch = default_arch>
void softmax(const float* x, float* y, std::size_t rows, std::size_t cols, execution_context& ctx) {
    const char* fn = "softmax";
    detail::require_pointer(fn, "x", x);
    detail::require_pointer(fn, "y", y);
    detail::require_extent(fn, "rows", rows);
    detail::require_extent(fn, "cols", cols);
    detail::checked_mul(fn, rows, cols);
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const std::size_t nv = cols - cols % w;
    ctx.parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* xr = x + r * cols;
            float* yr = y + r * cols;
            const float m = detail::row_max<Arch>(xr, cols);
            const batch vm(m);
            double sum = 0.0;
            std::size_t i = 0;
            while (i < nv) {
                const std::size_t end = std::min(nv, i + detail::flush_vectors * w);
                batch acc(0.0f);
                for (; i < end; i += w) {
                    const batch e = xsimd::exp(batch::load_unaligned(xr + i) - vm);
                    e.store_unaligned(yr + i);
                    acc += e;
                }
                sum += static_cast<double>(xsimd::hadd(acc));
            }
            for (; i < cols; ++i) {
                yr[i] = std::exp(xr[i] - m);
                sum += static_cast<double>(yr[i]);
            }
            const float inv = static_cast<float>(1.0 / sum);
            const batch vinv(inv);
            for (i = 0; i < nv; i += w) (batch::load_unaligned(yr + i) * vinv).store_unaligned(yr + i);
            for (; i < cols; ++i) yr[i] *= inv;
        }
    });
}

}  // namespace zoa::kernels

ZOA_DETAIL_AVX512_WARNINGS_END
