// zoa — reference LayerNorm (plain loops, double accumulation): the test oracle of kernels::layer_norm*
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

/// Same contract as zoa::kernels::layer_norm_fused, computed in double and rounded once:
///   μ = Σ x / D,  σ² = Σ (x − μ)² / D,  rstd = 1/sqrt(σ² + eps),  x̂ = (x − μ)·rstd,  y = x̂·w + b.
/// Runs serially (ctx is accepted for signature parity and ignored).
inline void layer_norm_fused(const float* x, float* y, float* x_hat, float* mean, float* rstd, std::size_t rows,
                             std::size_t dim, const float* weight, const float* bias, float eps,
                             execution_context& /*ctx*/) {
    const char* fn = "layer_norm";
    kernels::detail::require_pointer(fn, "x", x);
    kernels::detail::require_pointer(fn, "y", y);
    kernels::detail::require_extent(fn, "rows", rows);
    kernels::detail::require_extent(fn, "dim", dim);
    kernels::detail::checked_mul(fn, rows, dim);
    kernels::detail::require_eps(fn, eps);
    require(x_hat == nullptr || x_hat != y, error_code::argument, fn, ": x_hat and y must be different buffers");
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * dim;
        double mu = 0.0;
        for (std::size_t d = 0; d < dim; ++d) mu += static_cast<double>(xr[d]);
        mu /= static_cast<double>(dim);
        double var = 0.0;
        for (std::size_t d = 0; d < dim; ++d) {
            const double t = static_cast<double>(xr[d]) - mu;
            var += t * t;
        }
        var /= static_cast<double>(dim);
        const double rs = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (std::size_t d = 0; d < dim; ++d) {
            const double xh = (static_cast<double>(xr[d]) - mu) * rs;
            const double w = weight ? static_cast<double>(weight[d]) : 1.0;
            const double b = bias ? static_cast<double>(bias[d]) : 0.0;
            if (x_hat) x_hat[r * dim + d] = static_cast<float>(xh);
            y[r * dim + d] = static_cast<float>(xh * w + b);
        }
        if (mean) mean[r] = static_cast<float>(mu);
        if (rstd) rstd[r] = static_cast<float>(rs);
    }
}

/// Same contract as zoa::kernels::layer_norm (double-precision oracle).
inline void layer_norm(const float* x, float* y, std::size_t rows, std::size_t dim, const float* weight,
                       const float* bias, float eps, execution_context& ctx) {
    layer_norm_fused(x, y, nullptr, nullptr, nullptr, rows, dim, weight, bias, eps, ctx);
}

/// Same contract as zoa::kernels::layer_norm_affine: y = x̂·w + b, product and sum in double, rounded once.
inline void layer_norm_affine(const float* x_hat, float* y, std::size_t rows, std::size_t dim, const float* weight,
                              const float* bias, execution_context& /*ctx*/) {
    const char* fn = "layer_norm_affine";
    kernels::detail::require_pointer(fn, "x_hat", x_hat);
    kernels::detail::require_pointer(fn, "y", y);
    kernels::detail::require_extent(fn, "rows", rows);
    kernels::detail::require_extent(fn, "dim", dim);
    kernels::detail::checked_mul(fn, rows, dim);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t d = 0; d < dim; ++d) {
            const double w = weight ? static_cast<double>(weight[d]) : 1.0;
            const double b = bias ? static_cast<double>(bias[d]) : 0.0;
            y[r * dim + d] = static_cast<float>(static_cast<double>(x_hat[r * dim + d]) * w + b);
        }
}

}  // namespace zoa::kernels::reference
