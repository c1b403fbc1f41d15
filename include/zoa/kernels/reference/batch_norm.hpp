// zoa — reference BatchNorm (plain loops, double arithmetic): the test oracle of kernels/batch_norm.hpp
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

namespace batch_norm_detail {

/// Argument checks shared by the reference BatchNorm twins (pointers, extents, overflow, eps).
inline void check(const char* fn, const float* x, const float* y, std::size_t n, std::size_t channels, std::size_t hw,
                  float eps) {
    kernels::detail::require_pointer(fn, "x", x);
    kernels::detail::require_pointer(fn, "y", y);
    kernels::detail::require_extent(fn, "n", n);
    kernels::detail::require_extent(fn, "channels", channels);
    kernels::detail::require_extent(fn, "hw", hw);
    kernels::detail::checked_mul(fn, kernels::detail::checked_mul(fn, n, channels), hw);
    kernels::detail::require_eps(fn, eps);
}

/// y = (x − mean)·w/sqrt(var + eps) + b over channel c of NCHW, in double.
inline void normalize_channel(const float* x, float* y, std::size_t n, std::size_t channels, std::size_t hw,
                              std::size_t c, double mean, double var, const float* weight, const float* bias,
                              float eps) {
    const double w = weight ? static_cast<double>(weight[c]) : 1.0;
    const double b = bias ? static_cast<double>(bias[c]) : 0.0;
    const double rstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < hw; ++i) {
            const std::size_t at = (k * channels + c) * hw + i;
            y[at] = static_cast<float>((static_cast<double>(x[at]) - mean) * rstd * w + b);
        }
}

}  // namespace batch_norm_detail

/// Same contract as zoa::kernels::batch_norm_eval (double-precision oracle, serial; ctx ignored).
inline void batch_norm_eval(const float* x, float* y, std::size_t n, std::size_t channels, std::size_t hw,
                            const float* running_mean, const float* running_var, const float* weight, const float* bias,
                            float eps, execution_context& /*ctx*/) {
    const char* fn = "batch_norm_eval";
    batch_norm_detail::check(fn, x, y, n, channels, hw, eps);
    kernels::detail::require_pointer(fn, "running_mean", running_mean);
    kernels::detail::require_pointer(fn, "running_var", running_var);
    for (std::size_t c = 0; c < channels; ++c)
        require(running_var[c] >= 0.0f, error_code::numeric, fn, ": running_var[", c, "] must be >= 0, got ",
                running_var[c]);
    for (std::size_t c = 0; c < channels; ++c)
        batch_norm_detail::normalize_channel(x, y, n, channels, hw, c, static_cast<double>(running_mean[c]),
                                             static_cast<double>(running_var[c]), weight, bias, eps);
}

/// Same contract as zoa::kernels::batch_norm_batch_stats: μ = Σx/m, σ² = Σ(x − μ)²/m (biased), in double.
inline void batch_norm_batch_stats(const float* x, float* y, float* batch_mean, float* batch_var, std::size_t n,
                                   std::size_t channels, std::size_t hw, const float* weight, const float* bias,
                                   float eps, execution_context& /*ctx*/) {
    const char* fn = "batch_norm_batch_stats";
    batch_norm_detail::check(fn, x, y, n, channels, hw, eps);
    require(n * hw >= 2, error_code::argument, fn,
            ": batch statistics need more than 1 value per channel, got n*hw = ", n * hw);
    const double m = static_cast<double>(n * hw);
    for (std::size_t c = 0; c < channels; ++c) {
        double s = 0.0;
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < hw; ++i) s += static_cast<double>(x[(k * channels + c) * hw + i]);
        const double mean = s / m;
        double q = 0.0;
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < hw; ++i) {
                const double d = static_cast<double>(x[(k * channels + c) * hw + i]) - mean;
                q += d * d;
            }
        const double var = q / m;
        if (batch_mean) batch_mean[c] = static_cast<float>(mean);
        if (batch_var) batch_var[c] = static_cast<float>(var);
        batch_norm_detail::normalize_channel(x, y, n, channels, hw, c, mean, var, weight, bias, eps);
    }
}

}  // namespace zoa::kernels::reference
