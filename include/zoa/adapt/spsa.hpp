// zoa — the one-sided SPSA gradient estimate (spec §1.7), generic over the perturbation distribution
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "zoa/core/rng.hpp"

namespace zoa::adapt {

/// Adds one SPSA estimate, scaled by `scale`, to grad:
///   u_i ~ Perturbation,  x_r = x0 + c ⊙ u,  ĝ_i = (f(x_r) − f0) / c_i · weight(u_i)
/// (weight(u) = 1/u for the paper's segmented uniform: Spall's form). f0 = f(x0) is reused from the prediction
/// pass, so each call costs one evaluation of f. Returns f(x_r); a non-finite value leaves grad untouched.
/// Requires: x0, c and grad have the same size; c_i > 0.
template <class Perturbation, class F>
float spsa_accumulate(F&& f, const std::vector<float>& x0, const std::vector<float>& c, float f0, rng& r,
                      std::vector<float>& grad, float scale = 1.0f) {
    const std::size_t n = x0.size();
    std::vector<float> u(n), xr(n);
    for (std::size_t i = 0; i < n; ++i) xr[i] = x0[i] + c[i] * (u[i] = Perturbation::sample(r));
    const float f1 = f(std::as_const(xr));
    const float diff = f1 - f0;
    if (!std::isfinite(diff)) return f1;
    for (std::size_t i = 0; i < n; ++i) grad[i] += scale * diff / c[i] * Perturbation::weight(u[i]);
    return f1;
}

}  // namespace zoa::adapt
