// zoa — bit-width policies: compile-time value ranges for W/A quantization (2..8 bits in 8-bit storage), presets
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "zoa/core/policy.hpp"

namespace zoa::axis {
struct bit_width;  // defined below, after its default option
}  // namespace zoa::axis

namespace zoa::quant {

/// A closed integer code range [Lo, Hi] known at compile time, stored in an 8-bit type.
/// `storage` is int8_t when Hi <= 127 (every signed range and unsigned ranges up to 7 bits) and uint8_t otherwise
/// (only the 8-bit unsigned range [0, 255]); the GEMM kernels take their clamp bounds from here.
template <int Lo, int Hi>
struct value_range {
    static_assert(Lo < Hi && Lo >= -128 && Hi <= 255, "zoa: value_range<Lo,Hi>: need -128 <= Lo < Hi <= 255");
    /// The 8-bit code type: int8_t when Hi <= 127, uint8_t otherwise.
    using storage = std::conditional_t<(Hi <= 127), std::int8_t, std::uint8_t>;
    static constexpr storage min = static_cast<storage>(Lo);  ///< smallest code, Lo
    static constexpr storage max = static_cast<storage>(Hi);  ///< largest code, Hi
    /// max(|Lo|, |Hi|): the largest code magnitude.
    static constexpr int max_abs = (-Lo > Hi) ? -Lo : Hi;
    static constexpr int levels = Hi - Lo + 1;
};

namespace detail {
/// True for 2 <= b <= 8.
constexpr bool valid_bits(int b) noexcept {
    return b >= 2 && b <= 8;
}
/// 2^e.
constexpr int pow2(int e) noexcept {
    return 1 << e;
}
/// Clamp an invalid width to 8 so that a failed static_assert does not cascade into more errors.
constexpr int safe_bits(int b) noexcept {
    return valid_bits(b) ? b : 8;
}
}  // namespace detail

/// Signed symmetric codes of a b-bit quantizer: [−2^(b−1), 2^(b−1)−1] (PTQ4ViT's clamp range).
template <int Bits>
using signed_range =
    value_range<-detail::pow2(detail::safe_bits(Bits) - 1), detail::pow2(detail::safe_bits(Bits) - 1) - 1>;

/// Unsigned affine codes of a b-bit quantizer: [0, 2^b−1] (MQBench's academic scheme).
template <int Bits>
using unsigned_range = value_range<0, detail::pow2(detail::safe_bits(Bits)) - 1>;

/// Runtime twins of the ranges above (for per-tensor bit-widths chosen at run time, e.g. MQBench's 8-bit first/last
/// layers). Requires: 2 <= bits <= 8 (not checked here; quant_params::validate checks it).
constexpr int signed_min(int bits) noexcept {
    return -detail::pow2(bits - 1);
}
/// 2^(bits−1) − 1, the largest signed code.
constexpr int signed_max(int bits) noexcept {
    return detail::pow2(bits - 1) - 1;
}
/// 2^bits − 1, the largest unsigned (affine) code.
constexpr int unsigned_max(int bits) noexcept {
    return detail::pow2(bits) - 1;
}

/// True when the AVX2 `maddubs` (u8 × s8 → saturating s16 pair sum) path is exact for W-bit signed weights and A-bit
/// activations made unsigned (signed activations shifted by +2^(A−1), affine ones already in [0, 2^A−1]):
///     max|a| · max|w| · 2 <= 32767,   max|a| = 2^A − 1,   max|w| = 2^(W−1).
/// w8a8: 255·128·2 = 65280 → false (needs the madd_epi16 path); w8a7: 127·128·2 = 32512 → true; w6a6, w4a4 → true.
constexpr bool maddubs_exact(int weight_bits, int activation_bits) noexcept {
    return (detail::pow2(activation_bits) - 1) * detail::pow2(weight_bits - 1) * 2 <= 32767;
}

/// Bit-width policy option: W-bit weights, A-bit activations (each 2..8), all codes stored in 8-bit integers.
/// Requires: 2 <= W <= 8 and 2 <= A <= 8 (one static_assert).
template <int W, int A>
struct bits {
    static_assert(detail::valid_bits(W) && detail::valid_bits(A), "zoa: bits<W,A>: bit-widths must be in 2..8");
    using axis = ::zoa::axis::bit_width;
    static constexpr bool quantized = true;                       ///< integer kernels are used
    static constexpr int weight_bits = detail::safe_bits(W);      ///< W
    static constexpr int activation_bits = detail::safe_bits(A);  ///< A
    using weight_range = signed_range<W>;                         ///< symmetric weights  [−2^(W−1), 2^(W−1)−1]
    using weight_affine_range = unsigned_range<W>;                ///< asymmetric weights [0, 2^W−1]
    using activation_range = signed_range<A>;                     ///< symmetric activations
    using activation_affine_range = unsigned_range<A>;            ///< asymmetric activations
    /// See maddubs_exact(W, A).
    static constexpr bool maddubs_exact = ::zoa::quant::maddubs_exact(weight_bits, activation_bits);
};

/// Bit-width policy option: no quantization at all (fp32 weights and activations).
struct fp32_bits {
    using axis = ::zoa::axis::bit_width;
    static constexpr bool quantized = false;      ///< float kernels, no quantizers
    static constexpr int weight_bits = 32;        ///< nominal, for reports
    static constexpr int activation_bits = 32;    ///< nominal, for reports
    static constexpr bool maddubs_exact = false;  ///< no integer GEMM is used
};

/// Bit-width presets: 8/6/4-bit weights and activations, and the unquantized float model.
using w8a8 = bits<8, 8>;
using w6a6 = bits<6, 6>;
using w4a4 = bits<4, 4>;
using fp32 = fp32_bits;

namespace detail {
template <class T, class = void>
struct is_bit_width : std::false_type {};
template <class T>
struct is_bit_width<T, std::void_t<typename T::axis, decltype(T::quantized), decltype(T::weight_bits),
                                   decltype(T::activation_bits), decltype(T::maddubs_exact)>>
    : std::bool_constant<std::is_same_v<typename T::axis, ::zoa::axis::bit_width>> {};
}  // namespace detail

/// True when T is a bit-width option (axis bit_width, members quantized, weight_bits, activation_bits, maddubs_exact).
template <class T>
inline constexpr bool is_bit_width_v = detail::is_bit_width<T>::value;

/// The precision's name as the CLI and adapter-state files spell it: "fp32", or "w<W>a<A>" (e.g. "w6a6").
template <class Bits>
std::string precision_name() {
    if (!Bits::quantized) return "fp32";
    return "w" + std::to_string(Bits::weight_bits) + "a" + std::to_string(Bits::activation_bits);
}

}  // namespace zoa::quant

namespace zoa {

namespace axis {
/// Policy axis: weight/activation bit-widths. Default: W8A8.
struct bit_width {
    using default_option = quant::bits<8, 8>;
};
}  // namespace axis

/// Bit-width presets: `zoa::policy<zoa::w4a4>`.
using w8a8 = quant::w8a8;
using w6a6 = quant::w6a6;
using w4a4 = quant::w4a4;
using fp32 = quant::fp32;

}  // namespace zoa
