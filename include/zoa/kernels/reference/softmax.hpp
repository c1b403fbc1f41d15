// zoa — reference row softmax (plain loops, double arithmetic): the test oracle of kernels::softmax
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

/// Same contract as zoa::kernels::softmax: m = max_j x_j, y_j = exp(x_j − m) / Σ_k exp(x_k − m), in double,
/// rounded once. A NaN anywhere in the row makes the row NaN. Serial; ctx ignored.
inline void softmax(const float* x, float* y, std::size_t rows, std::size_t cols, execution_context& /*ctx*/) {
    const char* fn = "softmax";
    kernels::detail::require_pointer(fn, "x", x);
    kernels::detail::require_pointer(fn, "y", y);
    kernels::detail::require_extent(fn, "rows", rows);
    kernels::detail::require_extent(fn, "cols", cols);
    kernels::detail::checked_mul(fn, rows, cols);
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        double m = -std::numeric_limits<double>::infinity();
        bool has_nan = false;
        for (std::size_t j = 0; j < cols; ++j) {
            has_nan = has_nan || std::isnan(xr[j]);
            if (static_cast<double>(xr[j]) > m) m = static_cast<double>(xr[j]);
        }
        double s = 0.0;
        for (std::size_t j = 0; j < cols; ++j) s += std::exp(static_cast<double>(xr[j]) - m);
        if (has_nan) s = std::numeric_limits<double>::quiet_NaN();
        for (std::size_t j = 0; j < cols; ++j)
            y[r * cols + j] = static_cast<float>(std::exp(static_cast<double>(xr[j]) - m) / s);
    }
}

}  // namespace zoa::kernels::reference
