// zoa — perturbation distributions for the SPSA gradient estimate (policy axis zoa::axis::perturbation)
// SPDX-License-Identifier: MIT
#pragma once

#include <type_traits>

#include "zoa/core/rng.hpp"

namespace zoa {

namespace perturb {

/// The paper's default: |u| ~ U[0.5, 1), sign ±1 with probability ½ each, i.e. support [−1,−0.5] ∪ [0.5,1).
/// Sample: mag = (U[0,1) + 1)/2, sign from one more uniform. Estimator weight 1/u (Spall's form, |1/u| ≤ 2).
struct segmented_uniform;
/// u = ±1 with probability ½ (classic SPSA). Estimator weight 1/u = u.
struct rademacher;
/// u ~ N(0, 1). Division by a Gaussian has unbounded moments, so the estimator multiplies: weight u
/// (Gaussian-smoothing gradient estimate).
struct gaussian;

}  // namespace perturb

namespace axis {
/// Policy axis: the distribution P of SPSA perturbations. Default: perturb::segmented_uniform.
/// An option provides `static float sample(zoa::rng&)` and `static float weight(float u)`; the gradient estimate of
/// coordinate i is (L(θ + c·u) − L(θ)) / c · weight(u_i).
struct perturbation {
    using default_option = perturb::segmented_uniform;
};
}  // namespace axis

namespace perturb {

/// Definition of perturb::segmented_uniform (declared above).
struct segmented_uniform {
    using axis = zoa::axis::perturbation;
    /// u = ±(U[0,1) + 1)/2, the sign from a second uniform draw.
    static float sample(rng& r) noexcept {
        const float mag = (r.uniform() + 1.0f) * 0.5f;
        return r.uniform() < 0.5f ? mag : -mag;
    }
    static float weight(float u) noexcept { return 1.0f / u; }  ///< 1/u
};

/// Definition of perturb::rademacher (declared above).
struct rademacher {
    using axis = zoa::axis::perturbation;
    /// u = ±1 from the low bit of one draw.
    static float sample(rng& r) noexcept { return (r.next_u32() & 1u) ? 1.0f : -1.0f; }
    static float weight(float u) noexcept { return u; }  ///< 1/u == u for u = ±1
};

/// Definition of perturb::gaussian (declared above).
struct gaussian {
    using axis = zoa::axis::perturbation;
    static float sample(rng& r) noexcept { return r.normal(); }  ///< u ~ N(0, 1)
    static float weight(float u) noexcept { return u; }          ///< u (multiply, do not divide)
};

namespace detail {
template <class P, class = void>
struct is_perturbation : std::false_type {};
template <class P>
struct is_perturbation<P, std::void_t<decltype(P::sample(std::declval<rng&>())), decltype(P::weight(1.0f))>>
    : std::is_same<typename P::axis, zoa::axis::perturbation> {};
}  // namespace detail

/// True when P is a perturbation option (axis, sample, weight).
template <class P>
inline constexpr bool is_perturbation_v = detail::is_perturbation<P>::value;

}  // namespace perturb
}  // namespace zoa
