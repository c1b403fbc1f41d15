// zoa — reference batch statistics (plain loops, double accumulation): the test oracle of kernels/statistics.hpp
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

namespace statistics_detail {

/// mean = Σ x / n and var = Σ (x − mean)² / (n − 1) over elements at(0..n-1), in double.
template <class At>
void mean_var_double(At&& at, std::size_t n, double& mean, double& var) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(at(i));
    mean = s / static_cast<double>(n);
    double q = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(at(i)) - mean;
        q += d * d;
    }
    var = q / static_cast<double>(n - 1);
}

/// mean[index] and spread[index] (variance, or std when take_sqrt) of at(0..n) in double; null outputs are skipped.
template <class At>
void write_stats(At&& at, std::size_t n, std::size_t index, float* mean, float* spread, bool take_sqrt) {
    double m = 0.0, v = 0.0;
    mean_var_double(at, n, m, v);
    if (mean) mean[index] = static_cast<float>(m);
    if (spread) spread[index] = static_cast<float>(take_sqrt ? std::sqrt(v) : v);
}

/// Argument checks shared by the reference statistics twins (x, dim, at least 2 samples).
inline void check(const char* fn, const float* x, std::size_t count, std::size_t dim) {
    kernels::detail::require_pointer(fn, "x", x);
    kernels::detail::require_extent(fn, "dim", dim);
    require(count >= 2, error_code::argument, fn, ": the unbiased variance needs at least 2 samples, got ", count);
}

/// channel_mean_var / channel_mean_std of NCHW x [n × channels × hw] over N, H, W (take_sqrt: std); checks named fn.
inline void channel_stats(const char* fn, const float* x, std::size_t n, std::size_t channels, std::size_t hw,
                          float* mean, float* spread, bool take_sqrt) {
    kernels::detail::require_extent(fn, "n", n);
    kernels::detail::require_extent(fn, "channels", channels);
    kernels::detail::require_extent(fn, "hw", hw);
    check(fn, x, n * hw, channels);
    for (std::size_t c = 0; c < channels; ++c)
        write_stats([&](std::size_t i) { return x[((i / hw) * channels + c) * hw + i % hw]; }, n * hw, c, mean, spread,
                    take_sqrt);
}

}  // namespace statistics_detail

/// Same contract as zoa::kernels::feature_mean_var (double-precision oracle, serial; ctx ignored).
inline void feature_mean_var(const float* x, std::size_t batch, std::size_t dim, float* mean, float* var,
                             execution_context& /*ctx*/) {
    statistics_detail::check("feature_mean_var", x, batch, dim);
    for (std::size_t d = 0; d < dim; ++d)
        statistics_detail::write_stats([&](std::size_t b) { return x[b * dim + d]; }, batch, d, mean, var, false);
}

/// Same contract as zoa::kernels::feature_mean_std.
inline void feature_mean_std(const float* x, std::size_t batch, std::size_t dim, float* mean, float* std,
                             execution_context& /*ctx*/) {
    statistics_detail::check("feature_mean_std", x, batch, dim);
    for (std::size_t d = 0; d < dim; ++d)
        statistics_detail::write_stats([&](std::size_t b) { return x[b * dim + d]; }, batch, d, mean, std, true);
}

/// Same contract as zoa::kernels::token_mean_var.
inline void token_mean_var(const float* x, std::size_t batch, std::size_t tokens, std::size_t dim,
                           std::size_t skip_tokens, float* mean, float* var, execution_context& /*ctx*/) {
    const char* fn = "token_mean_var";
    require(skip_tokens < tokens, error_code::argument, fn, ": skip_tokens (", skip_tokens, ") must be < tokens (",
            tokens, ")");
    const std::size_t used = tokens - skip_tokens;
    statistics_detail::check(fn, x, batch * used, dim);
    for (std::size_t d = 0; d < dim; ++d)
        statistics_detail::write_stats(
            [&](std::size_t i) { return x[((i / used) * tokens + skip_tokens + i % used) * dim + d]; }, batch * used, d,
            mean, var, false);
}

/// Same contract as zoa::kernels::channel_mean_var (NCHW, over N, H, W).
inline void channel_mean_var(const float* x, std::size_t n, std::size_t channels, std::size_t hw, float* mean,
                             float* var, execution_context& /*ctx*/) {
    statistics_detail::channel_stats("channel_mean_var", x, n, channels, hw, mean, var, false);
}

/// Same contract as zoa::kernels::channel_mean_std.
inline void channel_mean_std(const float* x, std::size_t n, std::size_t channels, std::size_t hw, float* mean,
                             float* std, execution_context& /*ctx*/) {
    statistics_detail::channel_stats("channel_mean_std", x, n, channels, hw, mean, std, true);
}

}  // namespace zoa::kernels::reference
