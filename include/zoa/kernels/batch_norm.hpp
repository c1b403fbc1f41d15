// zoa — BatchNorm over NCHW channels, eval (running stats) and batch-statistics modes, runtime affine (xsimd)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/kernels/statistics.hpp"

namespace zoa::kernels {

namespace detail {

/// y[i] = fma(fl(fl(x[i] − c) − r), a, b) over one contiguous plane of len floats (explicit fma: the result does not
/// depend on compiler contraction; xsimd emulates fma as mul+add on ISAs without FMA).
template <class Arch>
void batch_norm_plane(const float* x, float* y, std::size_t len, float c, float r, float a, float b) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const batch vc(c), vr(r), va(a), vb(b);
    const std::size_t nv = len - len % w;
    std::size_t i = 0;
    for (; i < nv; i += w) xsimd::fma((batch::load_unaligned(x + i) - vc) - vr, va, vb).store_unaligned(y + i);
    for (; i < len; ++i) y[i] = std::fma((x[i] - c) - r, a, b);
}

/// Throws: zoa::error(argument) naming fn for null pointers, zero extents, n·channels·hw overflow or a bad eps.
inline void check_batch_norm(const char* fn, const float* x, const float* y, std::size_t n, std::size_t channels,
                             std::size_t hw, float eps) {
    require_pointer(fn, "x", x);
    require_pointer(fn, "y", y);
    require_extent(fn, "n", n);
    require_extent(fn, "channels", channels);
    require_extent(fn, "hw", hw);
    checked_mul(fn, checked_mul(fn, n, channels), hw);
    require_eps(fn, eps);
}

}  // namespace detail

/// BatchNorm with running statistics (F.batch_norm(training=False)) on an NCHW tensor x [n × channels × hw]:
///   a_c = w_c / sqrt(running_var_c + eps)   (double, then float),
///   y[k,c,i] = (x[k,c,i] − running_mean_c)·a_c + b_c   (one fma per element).
/// weight/bias are read at call time (test-time adaptation may change them between calls; nothing is pre-folded);
/// null weight = ones, null bias = zeros. y may alias x exactly. NaN in x propagates to that element only.
/// Threads: channels are split over ctx (bit-identical results for any thread count).
/// Throws: zoa::error(argument) for null x/y/running stats, a zero extent or eps not finite and > 0;
///         zoa::error(numeric) when some running_var_c is negative or NaN.
template <class Arch = default_arch>
void batch_norm_eval(const float* x, float* y, std::size_t n, std::size_t channels, std::size_t hw,
                     const float* running_mean, const float* running_var, const float* weight, const float* bias,
                     float eps, execution_context& ctx) {
    const char* fn = "batch_norm_eval";
    detail::check_batch_norm(fn, x, y, n, channels, hw, eps);
    detail::require_pointer(fn, "running_mean", running_mean);
    detail::require_pointer(fn, "running_var", running_var);
    for (std::size_t c = 0; c < channels; ++c)
        require(running_var[c] >= 0.0f, error_code::numeric, fn, ": running_var[", c, "] must be >= 0, got ",
                running_var[c]);
    ctx.parallel_for(channels, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const double w = weight ? static_cast<double>(weight[c]) : 1.0;
            const float a = static_cast<float>(w / std::sqrt(static_cast<double>(running_var[c]) + eps));
            const float b = bias ? bias[c] : 0.0f;
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t off = (k * channels + c) * hw;
                detail::batch_norm_plane<Arch>(x + off, y + off, hw, running_mean[c], 0.0f, a, b);
            }
        }
    });
}

/// BatchNorm with the current batch's statistics (F.batch_norm(x, None, None, w, b, training=True), which ZOA uses
/// for ResNets at test time) on an NCHW tensor x [n × channels × hw], m = n·hw values per channel:
///   μ_c = (1/m) Σ_{k,i} x[k,c,i],   σ²_c = (1/m) Σ_{k,i} (x[k,c,i] − μ_c)²   (biased, used for normalization),
///   y[k,c,i] = (x[k,c,i] − μ_c) · (w_c / sqrt(σ²_c + eps)) + b_c.
/// μ, σ² by two-pass shifted moments (see statistics.hpp); x − μ evaluated as fl(fl(x − c) − r), c = fl(μ),
/// r = fl(μ − c); the scale w_c/sqrt(σ²_c + eps) in double, then float; one fma per element.
/// batch_mean[c] = fl(μ_c) and batch_var[c] = fl(σ²_c) (biased; unbiased = σ²·m/(m−1)) are written when non-null.
/// weight/bias are read at call time; null weight = ones, null bias = zeros. y may alias x exactly.
/// NaN/±Inf in a channel make that channel's outputs NaN; other channels are unaffected.
/// Threads: channels are split over ctx (bit-identical results for any thread count).
/// Throws: zoa::error(argument) for null x/y, a zero extent, eps not finite and > 0, or m < 2 (as PyTorch:
///         "expected more than 1 value per channel").
template <class Arch = default_arch>
void batch_norm_batch_stats(const float* x, float* y, float* batch_mean, float* batch_var, std::size_t n,
                            std::size_t channels, std::size_t hw, const float* weight, const float* bias, float eps,
                            execution_context& ctx) {
    const char* fn = "batch_norm_batch_stats";
    detail::check_batch_norm(fn, x, y, n, channels, hw, eps);
    require(n * hw >= 2, error_code::argument, fn,
            ": batch statistics need more than 1 value per channel, got n*hw = ", n * hw);
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    ctx.parallel_for(channels, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const detail::moments m = detail::channel_moments<Arch>(x, n, channels, hw, c);
            const double var = m.m2 / count;
            const double w = weight ? static_cast<double>(weight[c]) : 1.0;
            const float a = static_cast<float>(w / std::sqrt(var + static_cast<double>(eps)));
            const float b = bias ? bias[c] : 0.0f;
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t off = (k * channels + c) * hw;
                detail::batch_norm_plane<Arch>(x + off, y + off, hw, m.center, m.residual, a, b);
            }
            if (batch_mean) batch_mean[c] = static_cast<float>(m.mean);
            if (batch_var) batch_var[c] = static_cast<float>(var);
        }
    });
}

}  // namespace zoa::kernels
