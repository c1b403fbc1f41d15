// zoa — LayerNorm over the last dimension with runtime affine vectors (xsimd, row-parallel)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"

namespace zoa::kernels {

namespace detail {

/// y[i] = x̂[i]·w[i] + b[i] for i in [0, n), where w (b) may be null = all ones (zeros); x̂ given by xhat_at(i) for a
/// vector index and xhat_scalar(i) for a tail index. Writes x̂ to x_hat when non-null. The affine step is an explicit
/// fma (xsimd::fma / std::fma; xsimd emulates it as mul+add on ISAs without FMA), so the result does not depend on
/// how the compiler contracts the surrounding expression (layer_norm_fused and layer_norm_affine agree bit for bit).
template <class Arch, class VecFn, class ScalarFn>
void layer_norm_store(std::size_t n, VecFn&& xhat_at, ScalarFn&& xhat_scalar, float* y, float* x_hat, const float* w,
                      const float* b) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = batch::size;
    const std::size_t nv = n - n % width;
    std::size_t i = 0;
    for (; i < nv; i += width) {
        const batch xh = xhat_at(i);
        if (x_hat) xh.store_unaligned(x_hat + i);
        batch out = xh;
        if (w && b)
            out = xsimd::fma(xh, batch::load_unaligned(w + i), batch::load_unaligned(b + i));
        else if (w)
            out = xh * batch::load_unaligned(w + i);
        else if (b)
            out = xh + batch::load_unaligned(b + i);
        out.store_unaligned(y + i);
    }
    for (; i < n; ++i) {
        const float xh = xhat_scalar(i);
        if (x_hat) x_hat[i] = xh;
        float out = xh;
        if (w && b)
            out = std::fma(xh, w[i], b[i]);
        else if (w)
            out = xh * w[i];
        else if (b)
            out = xh + b[i];
        y[i] = out;
    }
}

/// Throws: zoa::error(argument) naming fn for null x/y, zero extents, rows·dim overflow or a bad eps.
inline void check_layer_norm(const char* fn, const float* x, const float* y, const float* x_hat, std::size_t rows,
                             std::size_t dim, float eps) {
    require_pointer(fn, "x", x);
    require_pointer(fn, "y", y);
    require_extent(fn, "rows", rows);
    require_extent(fn, "dim", dim);
    checked_mul(fn, rows, dim);
    require_eps(fn, eps);
    require(x_hat == nullptr || x_hat != y, error_code::argument, fn, ": x_hat and y must be different buffers");
}

}  // namespace detail

/// LayerNorm of each row of x [rows × dim] over its dim values, plus optional per-row statistics:
///   μ_r = (1/D) Σ_d x[r,d],   σ²_r = (1/D) Σ_d (x[r,d] − μ_r)²   (biased, as F.layer_norm),
///   rstd_r = 1 / sqrt(σ²_r + eps),   x̂[r,d] = (x[r,d] − μ_r)·rstd_r,   y[r,d] = x̂[r,d]·w[d] + b[d].
/// Implementation: two-pass shifted moments (detail::segment_moments) with float SIMD lanes flushed to double;
/// x − μ is evaluated as fl(fl(x − c) − r) with c = fl(μ), r = fl(μ − c), rstd computed in double.
/// weight/bias are read at call time (they may change on every call: test-time adaptation edits them);
/// null weight = all ones, null bias = all zeros.
/// Outputs: y [rows × dim] (required); x_hat [rows × dim], mean [rows] = fl(μ_r), rstd [rows] = fl(rstd_r) are
/// written when non-null. y and/or x_hat may alias x exactly (in place); x_hat and y must differ; no partial overlap.
/// NaN/±Inf in a row make that row's outputs NaN (propagation); other rows are unaffected. Values must satisfy
/// |x − μ| ≲ 1e19 (float squares).
/// Threads: rows are split over ctx; each row's arithmetic is independent of the split (bit-identical results).
/// Throws: zoa::error(argument) when x or y is null, rows or dim is 0, eps is not finite and > 0, or x_hat == y.
template <class Arch = default_arch>
void layer_norm_fused(const float* x, float* y, float* x_hat, float* mean, float* rstd, std::size_t rows,
                      std::size_t dim, const float* weight, const float* bias, float eps, execution_context& ctx) {
    detail::check_layer_norm("layer_norm", x, y, x_hat, rows, dim, eps);
    using batch = xsimd::batch<float, Arch>;
    ctx.parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* xr = x + r * dim;
            const detail::moments m =
                detail::segment_moments<Arch>([xr](std::size_t) { return xr; }, std::size_t{1}, dim);
            const double var = m.m2 / static_cast<double>(dim);
            const float rs = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
            const float c = m.center, res = m.residual;
            const batch vc(c), vr(res), vs(rs);
            detail::layer_norm_store<Arch>(
                dim, [&](std::size_t i) { return ((batch::load_unaligned(xr + i) - vc) - vr) * vs; },
                [&](std::size_t i) { return ((xr[i] - c) - res) * rs; }, y + r * dim, x_hat ? x_hat + r * dim : nullptr,
                weight, bias);
            if (mean) mean[r] = static_cast<float>(m.mean);
            if (rstd) rstd[r] = rs;
        }
    });
}

/// y = LayerNorm(x)·w + b over the last dim of [rows × dim]; see layer_norm_fused for the formula and contract.
template <class Arch = default_arch>
void layer_norm(const float* x, float* y, std::size_t rows, std::size_t dim, const float* weight, const float* bias,
                float eps, execution_context& ctx) {
    layer_norm_fused<Arch>(x, y, nullptr, nullptr, nullptr, rows, dim, weight, bias, eps, ctx);
}

/// Re-applies new affine parameters to a cached normalized tensor: y[r,d] = x̂[r,d]·w[d] + b[d] (null w = ones,
/// null b = zeros). Given the x_hat written by layer_norm_fused, this yields the same y as a fresh layer_norm_fused
/// with the new w, b (the same per-element expression), without recomputing statistics. y may alias x_hat exactly.
/// Throws: zoa::error(argument) when x_hat or y is null, or rows or dim is 0.
template <class Arch = default_arch>
void layer_norm_affine(const float* x_hat, float* y, std::size_t rows, std::size_t dim, const float* weight,
                       const float* bias, execution_context& ctx) {
    const char* fn = "layer_norm_affine";
    detail::require_pointer(fn, "x_hat", x_hat);
    detail::require_pointer(fn, "y", y);
    detail::require_extent(fn, "rows", rows);
    detail::require_extent(fn, "dim", dim);
    detail::checked_mul(fn, rows, dim);
    using batch = xsimd::batch<float, Arch>;
    ctx.parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* xr = x_hat + r * dim;
            detail::layer_norm_store<Arch>(
                dim, [&](std::size_t i) { return batch::load_unaligned(xr + i); }, [&](std::size_t i) { return xr[i]; },
                y + r * dim, nullptr, weight, bias);
        }
    });
}

}  // namespace zoa::kernels
