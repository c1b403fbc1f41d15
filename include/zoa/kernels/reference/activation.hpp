// zoa — reference activations (plain loops, double arithmetic): the test oracle of kernels/activation.hpp
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

/// Same contract as zoa::kernels::gelu: y = 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2), in double (the erfc form
/// avoids the cancellation of 1 + erf for x ≪ 0), rounded once. Serial; ctx ignored.
inline void gelu(const float* x, float* y, std::size_t n, execution_context& /*ctx*/) {
    kernels::detail::require_pointer("gelu", "x", x);
    kernels::detail::require_pointer("gelu", "y", y);
    kernels::detail::require_extent("gelu", "n", n);
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(x[i]);
        y[i] = static_cast<float>(0.5 * v * std::erfc(-v / std::sqrt(2.0)));
    }
}

/// Same contract as zoa::kernels::relu: y = (0 > x) ? 0 : x.
inline void relu(const float* x, float* y, std::size_t n, execution_context& /*ctx*/) {
    kernels::detail::require_pointer("relu", "x", x);
    kernels::detail::require_pointer("relu", "y", y);
    kernels::detail::require_extent("relu", "n", n);
    for (std::size_t i = 0; i < n; ++i) y[i] = 0.0f > x[i] ? 0.0f : x[i];
}

}  // namespace zoa::kernels::reference
