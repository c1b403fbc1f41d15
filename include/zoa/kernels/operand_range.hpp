// zoa — compile-time value ranges of quantized GEMM operands and the exact kernel path they select
// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "zoa/core/arch.hpp"

namespace zoa::kernels {

/// Arch tag for zoa's integer kernels: Base plus AVX-VNNI (vpdpbusd / vpdpwssd on 256-bit registers, either the
/// VEX AVX-VNNI or the EVEX AVX512-VNNI+VL encoding). Only gemm_q8/conv2d_q8 read it (xsimd has no VNNI tag and
/// batch<T, with_vnni<...>> does not exist); being a distinct type, it keeps VNNI and non-VNNI builds of the
/// same kernel distinct symbols (ODR-safe).
template <class Base>
struct with_vnni : Base {
    static constexpr const char* name() noexcept { return "vnni"; }  ///< arch name for logs and benchmarks
};

/// True for with_vnni<Base> tags.
template <class Arch>
inline constexpr bool is_vnni_arch_v = false;
template <class Base>
inline constexpr bool is_vnni_arch_v<with_vnni<Base>> = true;

/// True when this translation unit is compiled with 256-bit VNNI (-mavxvnni, or -mavx512vnni -mavx512vl).
inline constexpr bool vnni_compiled =
#if defined(__AVX2__) && (defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__)))
    true;
#else
    false;
#endif

/// The Arch gemm_q8 uses by default: zoa::default_arch, plus VNNI when the compile flags enable it.
using q8_default_arch = std::conditional_t<vnni_compiled && has_avx2_v<default_arch>, with_vnni<default_arch>,
                                           default_arch>;

/// A code range type: `storage` (int8_t or uint8_t) and static constexpr `min` < `max` inside storage's range,
/// e.g. zoa::quant::value_range<Lo, Hi>, zoa::quant::signed_range<b> ([-2^(b-1), 2^(b-1)-1], PTQ4ViT) or
/// zoa::quant::unsigned_range<b> ([0, 2^b-1], MQBench). The quantization policy guarantees that every stored code
/// lies in the range; the kernels rely on it for exactness and check it (zoa::error(numeric) otherwise).
template <class R, class = void>
struct is_code_range : std::false_type {};
template <class R>
struct is_code_range<R, std::void_t<typename R::storage, decltype(R::min), decltype(R::max)>>
    : std::bool_constant<(std::is_same_v<typename R::storage, std::int8_t> ||
                          std::is_same_v<typename R::storage, std::uint8_t>) &&
                         int(R::min) < int(R::max) &&
                         int(R::min) >= int(std::numeric_limits<typename R::storage>::min()) &&
                         int(R::max) <= int(std::numeric_limits<typename R::storage>::max())> {};
/// is_code_range<R>::value.
template <class R>
inline constexpr bool is_code_range_v = is_code_range<R>::value;

namespace detail {
/// constexpr |v|, max and min for the plan's bounds.
constexpr long abs_l(long v) { return v < 0 ? -v : v; }
constexpr long max_l(long a, long b) { return a < b ? b : a; }
constexpr long min_l(long a, long b) { return a < b ? a : b; }
}  // namespace detail

/// How gemm_q8 multiplies A (activations, ARange) by W (weights, WRange), chosen at compile time.
///
/// With VNNI (`Vnni`): vpdpbusd multiplies unsigned by signed bytes and sums four products into int32 without any
/// intermediate saturation, so every range uses the byte layout below (a_u, w_s) and the offset algebra: exact.
/// Without VNNI, two exact integer paths exist (x86 names; the portable path computes the same integers):
///
/// * maddubs path (`use_maddubs`): A is stored shifted to unsigned, a_u = a + a_shift in [0, a_umax];
///   W is stored centred to signed, w_s = w - w_offset in [-w_abs, w_abs]. vpmaddubsw computes one int16 lane
///   as u0*s0 + u1*s1 and *saturates*; it is exact iff |u0*s0 + u1*s1| <= 32767, which holds for all operand
///   values iff  pair_bound = 2 * a_umax * w_abs <= 32767.
///   e.g. A6W6: 2*63*32 = 4032; A4W4: 2*15*8 = 240; 7-bit A with 8-bit W: 2*127*128 = 32512 (all exact);
///   A8W8: 2*255*128 = 65280 (would saturate -> this path is not used).
///   `depth` = min(floor(32767 / pair_bound), max_depth) vpmaddubsw results are summed in int16 (|sum| <=
///   depth*pair_bound <= 32767, so vpaddw never wraps) before one vpmaddwd(.,1) widens them to int32.
///   Zero points and the shifts are removed with the standard offset algebra (see gemm_q8.hpp):
///     sum_k (a-za)(w-zw) = sum a_u w_s - zw_s * sum_k a_u - c * sum_k w_s + K * c * zw_s,
///     c = a_shift + za, zw_s = zw - w_offset.
/// * exact int16 path (otherwise, i.e. 8-bit x 8-bit): A is stored as int16 (a - za), W as int16 (w - zw),
///   both in [-255, 255]; vpmaddwd forms (a0 w0 + a1 w1) exactly in int32 (|.| <= 2*255*255 = 130050),
///   so no correction terms are needed.
///
/// Both paths accumulate in int32 with wrap-around; the result is exact when the true value fits in int32,
/// which `max_k` guarantees: K * (Amax-Amin) * (Wmax-Wmin) <= 2^31 - 1 (zero points lie inside the ranges).
template <class ARange, class WRange, bool Vnni = false, int MaxDepth = 64>
struct q8_plan {
    static_assert(is_code_range_v<ARange> && is_code_range_v<WRange>,
                  "zoa::kernels::q8_plan: ARange and WRange must be code ranges (e.g. zoa::quant::signed_range<b>)");
    /// The ranges, their bounds and their 8-bit storage types.
    using a_range = ARange;
    using w_range = WRange;
    static constexpr int a_min = int(ARange::min), a_max = int(ARange::max);
    static constexpr int w_min = int(WRange::min), w_max = int(WRange::max);
    using a_storage = typename ARange::storage;
    using w_storage = typename WRange::storage;

    /// a_u = a + a_shift >= 0 (activations made unsigned for vpmaddubsw).
    static constexpr int a_shift = a_min < 0 ? -a_min : 0;
    /// Largest shifted activation code.
    static constexpr int a_umax = a_max + a_shift;
    /// w_s = w - w_offset: unsigned weight codes are centred (u8 [0,255] -> [-128,127], u6 [0,63] -> [-32,31]).
    static constexpr int w_offset = w_min < 0 ? 0 : (w_min + w_max + 1) / 2;
    /// Largest |centred weight code|.
    static constexpr int w_abs = static_cast<int>(
        detail::max_l(detail::abs_l(w_min - w_offset), detail::abs_l(w_max - w_offset)));
    static_assert(w_min - w_offset >= -128 && w_max - w_offset <= 127, "centred weights fit int8");

    /// Largest |u0*s0 + u1*s1| one vpmaddubsw lane can produce.
    static constexpr long pair_bound = 2L * a_umax * w_abs;
    static constexpr bool vnni = Vnni;  ///< the VNNI (vpdpbusd) path
    /// vpmaddubsw is exact for these ranges (used when there is no VNNI).
    static constexpr bool use_maddubs = !Vnni && pair_bound <= 32767;
    /// Byte layout (a_u x w_s with the offset algebra) instead of the int16 layout (a - za) x (w - zw).
    static constexpr bool bytes = Vnni || use_maddubs;
    /// vpmaddubsw results summed in int16 before widening (1 when only a single product pair is exact).
    static constexpr int depth = use_maddubs ? static_cast<int>(detail::min_l(32767 / pair_bound, MaxDepth)) : 0;
    /// K is zero-padded to a multiple of k_step in the packed layouts (4 bytes per lane quad, 2 int16 per pair).
    static constexpr int k_step = bytes ? 4 : 2;

    /// Largest K for which the int32 result is exact: K * (Amax-Amin) * (Wmax-Wmin) <= 2^31 - 1.
    static constexpr long max_k = 2147483647L / (long(a_max - a_min) * long(w_max - w_min));
};

}  // namespace zoa::kernels
