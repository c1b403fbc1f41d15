// zoa — uniform quantizers (symmetric PTQ4ViT, affine MQBench/PyTorch): the scalar formulas shared by the
// simulated (fake-quant) and integer paths, scheme tags, and the weight/activation quantizer policy axes
// SPDX-License-Identifier: MIT
#pragma once

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "zoa/core/error.hpp"
#include "zoa/core/fp_barrier.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/quant/granularity.hpp"

namespace zoa::quant {

/// Symmetric = signed codes, scale only (PTQ4ViT); asymmetric = affine codes with a zero point (MQBench academic).
enum class scheme : int { symmetric = 0, asymmetric = 1 };

/// Name of a scheme, e.g. "asymmetric".
inline const char* to_string(scheme s) noexcept {
    return s == scheme::symmetric ? "symmetric" : "asymmetric";
}

/// Round half to even (torch.round / std::nearbyint under FE_TONEAREST): 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0.
/// Requires: the floating-point rounding mode is FE_TONEAREST (the C default; see require_round_to_nearest()).
inline float round_half_even(float v) noexcept {
    return std::nearbyint(v);
}

/// Throws zoa::error(numeric) unless the current rounding mode is FE_TONEAREST, the mode every quantizer assumes.
/// `what` names the caller. Calibration entry points call this once.
inline void require_round_to_nearest(const char* what) {
    require(std::fegetround() == FE_TONEAREST, error_code::numeric, what,
            ": floating-point rounding mode must be FE_TONEAREST (round half to even), got mode ", std::fegetround());
}

/// clamp(v, lo, hi) that propagates NaN like torch.clamp (comparisons with NaN are false).
inline float clamp_propagate(float v, float lo, float hi) noexcept {
    return v < lo ? lo : (v > hi ? hi : v);
}

namespace detail {
using zoa::detail::fp_barrier;  // core/fp_barrier.hpp (the post-softmax twin, the observers: no FMA)

/// float code → int code; NaN maps to lo (integer codes cannot hold NaN; bulk encoders reject non-finite input).
inline std::int32_t to_code(float c, int lo) noexcept {
    return c == c ? static_cast<std::int32_t>(c) : static_cast<std::int32_t>(lo);
}
}  // namespace detail

// ---- symmetric uniform (PTQ4ViT) --------------------------------------------------------------------------------
// Q(x; Δ, b) = clamp(round(x/Δ), −2^(b−1), 2^(b−1)−1) · Δ      (x/Δ is a float division, as torch's x / interval)

/// The code of x as a float: clamp(round(x / Δ), qmin, qmax). NaN stays NaN.
inline float symmetric_code_f(float x, float delta, int qmin, int qmax) noexcept {
    return clamp_propagate(round_half_even(x / delta), static_cast<float>(qmin), static_cast<float>(qmax));
}
/// Integer encode: q = clamp(round(x / Δ), qmin, qmax). NaN → qmin.
inline std::int32_t encode_symmetric(float x, float delta, int qmin, int qmax) noexcept {
    return detail::to_code(symmetric_code_f(x, delta, qmin, qmax), qmin);
}
/// Integer decode: x̂ = q · Δ.
inline float decode_symmetric(std::int32_t q, float delta) noexcept {
    return static_cast<float>(q) * delta;
}
/// Simulated: x̂ = clamp(round(x / Δ), qmin, qmax) · Δ  (== decode(encode(x)) for non-NaN x; NaN propagates).
inline float fake_quant_symmetric(float x, float delta, int qmin, int qmax) noexcept {
    return symmetric_code_f(x, delta, qmin, qmax) * delta;
}

// ---- asymmetric affine (MQBench FixedFakeQuantize = torch.fake_quantize_per_{tensor,channel}_affine) --------------
// q = clamp(round(x · inv) + z, qmin, qmax),  inv = 1.0f / s  (float reciprocal, exactly as PyTorch's CPU kernel;
// differs from round(x / s) in ~1 of 10^6 ties), x̂ = (q − z) · s

/// The code of x as a float: clamp(round(x · (1/s)) + z, qmin, qmax). NaN stays NaN.
inline float affine_code_f(float x, float scale, std::int32_t zero_point, int qmin, int qmax) noexcept {
    const float inv = 1.0f / scale;
    return clamp_propagate(round_half_even(x * inv) + static_cast<float>(zero_point), static_cast<float>(qmin),
                           static_cast<float>(qmax));
}
/// Integer encode: q = clamp(round(x · (1/s)) + z, qmin, qmax). NaN → qmin.
inline std::int32_t encode_affine(float x, float scale, std::int32_t zero_point, int qmin, int qmax) noexcept {
    return detail::to_code(affine_code_f(x, scale, zero_point, qmin, qmax), qmin);
}
/// Integer decode: x̂ = (q − z) · s.
inline float decode_affine(std::int32_t q, float scale, std::int32_t zero_point) noexcept {
    return static_cast<float>(q - zero_point) * scale;
}
/// Simulated: x̂ = (clamp(round(x · (1/s)) + z, qmin, qmax) − z) · s. NaN propagates.
inline float fake_quant_affine(float x, float scale, std::int32_t zero_point, int qmin, int qmax) noexcept {
    return (affine_code_f(x, scale, zero_point, qmin, qmax) - static_cast<float>(zero_point)) * scale;
}

// ---- policy vocabulary --------------------------------------------------------------------------------------------

/// Scheme tag: signed symmetric codes, scale only.
struct symmetric {
    static constexpr scheme value = scheme::symmetric;  ///< the runtime enum value
};
/// Scheme tag: unsigned affine codes [0, 2^b−1] with a zero point.
struct asymmetric {
    static constexpr scheme value = scheme::asymmetric;  ///< the runtime enum value
};

namespace detail {
template <class T, class = void>
struct is_scheme : std::false_type {};
template <class T>
struct is_scheme<T, std::void_t<decltype(T::value)>>
    : std::bool_constant<std::is_same_v<std::remove_cv_t<decltype(T::value)>, scheme>> {};
}  // namespace detail

/// True for quant::symmetric and quant::asymmetric.
template <class T>
inline constexpr bool is_scheme_v = detail::is_scheme<T>::value;

}  // namespace zoa::quant

namespace zoa::axis {
struct weight_quantizer;
struct activation_quantizer;
}  // namespace zoa::axis

namespace zoa::quant {

/// Weight-quantizer policy option: scheme + granularity. Default (axis default): symmetric per-channel.
/// Requires: Scheme is symmetric/asymmetric; Granularity is per_tensor, per_channel, per_row_block<N> or per_head.
template <class Scheme = symmetric, class Granularity = per_channel>
struct weight_scheme {
    static_assert(is_scheme_v<Scheme> && is_granularity_v<Granularity>,
                  "zoa: weight_scheme<Scheme, Granularity>: Scheme must be quant::symmetric or quant::asymmetric and "
                  "Granularity one of quant::per_tensor, per_channel, per_row_block<N>, per_head");
    using axis = ::zoa::axis::weight_quantizer;
    /// The tags and their runtime values.
    using scheme_tag = Scheme;
    using granularity_tag = Granularity;
    static constexpr scheme scheme_value = Scheme::value;
    static constexpr granularity granularity_value = Granularity::value;
};

/// Activation-quantizer policy option: scheme + granularity (per_tensor, or per_head for attention matmul inputs).
/// Default (axis default): symmetric per-tensor (PTQ4ViT); MQBench/ResNet uses activation_scheme<asymmetric>.
template <class Scheme = symmetric, class Granularity = per_tensor>
struct activation_scheme {
    static_assert(is_scheme_v<Scheme> &&
                      (std::is_same_v<Granularity, per_tensor> || std::is_same_v<Granularity, per_head>),
                  "zoa: activation_scheme<Scheme, Granularity>: Scheme must be quant::symmetric or quant::asymmetric "
                  "and Granularity quant::per_tensor or quant::per_head");
    using axis = ::zoa::axis::activation_quantizer;
    /// The tags and their runtime values.
    using scheme_tag = Scheme;
    using granularity_tag = Granularity;
    static constexpr scheme scheme_value = Scheme::value;
    static constexpr granularity granularity_value = Granularity::value;
};

namespace detail {
template <class T, class Axis, class = void>
struct is_quantizer_option : std::false_type {};
template <class T, class Axis>
struct is_quantizer_option<T, Axis,
                           std::void_t<typename T::axis, decltype(T::scheme_value), decltype(T::granularity_value)>>
    : std::bool_constant<std::is_same_v<typename T::axis, Axis> &&
                         std::is_same_v<std::remove_cv_t<decltype(T::scheme_value)>, scheme> &&
                         std::is_same_v<std::remove_cv_t<decltype(T::granularity_value)>, granularity>> {};
}  // namespace detail

/// True when T is an option of the weight_quantizer axis with scheme_value and granularity_value.
template <class T>
inline constexpr bool is_weight_quantizer_v = detail::is_quantizer_option<T, ::zoa::axis::weight_quantizer>::value;
/// True when T is an option of the activation_quantizer axis with scheme_value and granularity_value.
template <class T>
inline constexpr bool is_activation_quantizer_v =
    detail::is_quantizer_option<T, ::zoa::axis::activation_quantizer>::value;

}  // namespace zoa::quant

namespace zoa::axis {
/// Policy axis: how weights are quantized. Default: symmetric per-channel.
struct weight_quantizer {
    using default_option = quant::weight_scheme<quant::symmetric, quant::per_channel>;
};
/// Policy axis: how activations (layer inputs, matmul operands) are quantized. Default: symmetric per-tensor.
struct activation_quantizer {
    using default_option = quant::activation_scheme<quant::symmetric, quant::per_tensor>;
};
}  // namespace zoa::axis
