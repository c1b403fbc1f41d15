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

/// AArch64 arch tags for zoa's integer kernels (xsimd 8.1 knows only neon64): Base (xsimd::neon64) plus the ARMv8.2
/// dot product (SDOT, -march=armv8.2-a+dotprod), or plus the ARMv8.6 int8 matrix multiply (SMMLA,
/// -march=armv8.6-a+i8mm; implies the dot product). Like with_vnni, read only by gemm_q8/conv2d_q8.
template <class Base>
struct with_dotprod : Base {
    static constexpr const char* name() noexcept { return "arm64+neon+dotprod"; }  ///< arch name for logs
};
template <class Base>
struct with_i8mm : with_dotprod<Base> {
    static constexpr const char* name() noexcept { return "arm64+neon+i8mm"; }  ///< arch name for logs
};

/// AArch64 integer kernel level of Arch: -1 = not a NEON arch, 0 = NEON (SMULL/SMLAL + SADALP), 1 = dot product
/// (SDOT), 2 = int8 matrix multiply (SMMLA).
template <class Arch>
inline constexpr int neon_level_v = arch_at_least_v<Arch, xsimd::neon64> ? 0 : -1;
template <class Base>
inline constexpr int neon_level_v<with_dotprod<Base>> = 1;
template <class Base>
inline constexpr int neon_level_v<with_i8mm<Base>> = 2;

/// True when this translation unit is compiled with 256-bit VNNI (-mavxvnni, or -mavx512vnni -mavx512vl).
inline constexpr bool vnni_compiled =
#if defined(__AVX2__) && (defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__)))
    true;
#else
    false;
#endif

/// The AArch64 integer kernel level this translation unit is compiled for (see neon_level_v; -1 off AArch64):
/// __ARM_FEATURE_MATMUL_INT8 (e.g. -march=armv8.6-a+i8mm) -> 2, __ARM_FEATURE_DOTPROD (-march=armv8.2-a+dotprod)
/// -> 1, plain AArch64 (NEON is part of ARMv8-A) -> 0.
inline constexpr int neon_level_compiled =
#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__ARM_FEATURE_MATMUL_INT8) && defined(__ARM_FEATURE_DOTPROD)
    2;
#elif defined(__aarch64__) && defined(__ARM_NEON) && defined(__ARM_FEATURE_DOTPROD)
    1;
#elif defined(__aarch64__) && defined(__ARM_NEON)
    0;
#else
    -1;
#endif

/// The Arch gemm_q8 uses by default: zoa::default_arch, plus VNNI when the compile flags enable it (x86), or plus
/// the dot product / int8 matrix multiply when they do (AArch64).
using q8_default_arch = std::conditional_t<
    vnni_compiled && has_avx2_v<default_arch>, with_vnni<default_arch>,
    std::conditional_t<neon_level_compiled == 2 && neon_level_v<default_arch> == 0, with_i8mm<default_arch>,
                       std::conditional_t<neon_level_compiled == 1 && neon_level_v<default_arch> == 0,
                                          with_dotprod<default_arch>, default_arch>>>;

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

/// The bounds every plan shares: the ranges, the centred weight codes and the K that keeps int32 exact.
template <class ARange, class WRange>
struct q8_ranges {
    static_assert(is_code_range_v<ARange> && is_code_range_v<WRange>,
                  "zoa::kernels::q8_plan: ARange and WRange must be code ranges (e.g. zoa::quant::signed_range<b>)");
    /// The ranges, their bounds and their 8-bit storage types.
    using a_range = ARange;
    using w_range = WRange;
    static constexpr int a_min = int(ARange::min), a_max = int(ARange::max);
    static constexpr int w_min = int(WRange::min), w_max = int(WRange::max);
    using a_storage = typename ARange::storage;
    using w_storage = typename WRange::storage;

    /// w_s = w - w_offset: unsigned weight codes are centred (u8 [0,255] -> [-128,127], u6 [0,63] -> [-32,31]).
    static constexpr int w_offset = w_min < 0 ? 0 : (w_min + w_max + 1) / 2;
    /// Largest |centred weight code|.
    static constexpr int w_abs = static_cast<int>(
        detail::max_l(detail::abs_l(w_min - w_offset), detail::abs_l(w_max - w_offset)));
    static_assert(w_min - w_offset >= -128 && w_max - w_offset <= 127, "centred weights fit int8");

    /// Largest K for which the int32 result is exact: K * (Amax-Amin) * (Wmax-Wmin) <= 2^31 - 1.
    static constexpr long max_k = 2147483647L / (long(a_max - a_min) * long(w_max - w_min));
};

/// How gemm_q8 multiplies A (activations, ARange) by W (weights, WRange) on x86 and in the portable kernel, chosen
/// at compile time.
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
struct q8_plan : q8_ranges<ARange, WRange> {
    using base = q8_ranges<ARange, WRange>;
    /// a_u = a + a_shift >= 0 (activations made unsigned for vpmaddubsw).
    static constexpr int a_shift = base::a_min < 0 ? -base::a_min : 0;
    /// Largest shifted activation code.
    static constexpr int a_umax = base::a_max + a_shift;

    /// Largest |u0*s0 + u1*s1| one vpmaddubsw lane can produce.
    static constexpr long pair_bound = 2L * a_umax * base::w_abs;
    static constexpr bool vnni = Vnni;  ///< the VNNI (vpdpbusd) path
    /// vpmaddubsw is exact for these ranges (used when there is no VNNI).
    static constexpr bool use_maddubs = !Vnni && pair_bound <= 32767;
    /// Byte layout (a_u x w_s with the offset algebra) instead of the int16 layout (a - za) x (w - zw).
    static constexpr bool bytes = Vnni || use_maddubs;
    /// vpmaddubsw results summed in int16 before widening (1 when only a single product pair is exact).
    static constexpr int depth = use_maddubs ? static_cast<int>(detail::min_l(32767 / pair_bound, MaxDepth)) : 0;
    /// K is zero-padded to a multiple of k_step in the packed layouts (4 bytes per lane quad, 2 int16 per pair).
    static constexpr int k_step = bytes ? 4 : 2;
    /// Consecutive k of one column stored together in the byte layout (a lane quad).
    static constexpr int k_group = 4;
    /// Not an AArch64 plan (and no int8-lane products).
    static constexpr int neon_level = -1;
    static constexpr bool byte_products = false;
};

/// How gemm_q8 multiplies A by W on AArch64 (Level = neon_level_v<Arch>: 0 NEON, 1 dot product, 2 i8mm).
///
/// Both operands are signed bytes: A is stored centred, a_s = a - a_offset (a_offset = 0 for signed ranges, the
/// middle of the range for unsigned ones: u8 [0,255] -> [-128,127], u7 softmax codes [0,127] -> [-64,63]); W is
/// stored centred as on x86, w_s = w - w_offset. The offset algebra of q8_plan removes the offsets and zero points
/// with a_shift = -a_offset (c = za - a_offset). So one |product| is at most product_bound = a_abs * w_abs <= 2^14.
/// * Level 2, SMMLA (ARMv8.6 i8mm): a 2 x 8 by 8 x 2 block of s8 x s8 products summed into four int32 lanes, no
///   intermediate rounding or saturation: exact for every range. Byte layout in k octets (k_group = 8).
/// * Level 1, SDOT (ARMv8.2 dot product): four s8 x s8 products summed into one int32 lane: exact for every range.
///   Byte layout in k quads (k_group = 4), the same bytes as the x86 layout's.
/// * Level 0, SMULL/SMLAL + SADALP (ARMv8.0 NEON): s8 x s8 products widened to int16 lanes, one lane per (column,
///   k mod 4). One product fits int16 (|.| <= 16384). `depth` = min(floor(32767 / product_bound), MaxDepth)
///   consecutive k quads are multiply-accumulated in the same int16 lane by SMLAL (|sum| <= depth*product_bound
///   <= 32767: no wrap) before SADALP/SADDLP widen the lanes into int32. Depth 1 (8-bit x 8-bit, 128*128 = 16384)
///   is SMULL + SADALP; s6 x s6 (32*32 = 1024) runs 31 quads per widening.
///   `byte_products` (product_bound <= 127, e.g. 4-bit x 4-bit: 8*8 = 64): one product fits an int8 lane, so MUL
///   (16 products per instruction, exact: no wrap) replaces SMULL/SMLAL (8), and SADALP adds the products' pairs into
///   int16 lanes for `depth` = min(floor(32767 / (2 * product_bound)), MaxDepth) quads before a second SADALP widens
///   them into int32.
/// int32 accumulation wraps exactly as on x86; exact within max_k.
template <class ARange, class WRange, int Level, int MaxDepth = 64>
struct q8_plan_neon : q8_ranges<ARange, WRange> {
    using base = q8_ranges<ARange, WRange>;
    static_assert(Level >= 0 && Level <= 2, "zoa::kernels::q8_plan_neon: Level is 0 (NEON), 1 (dotprod) or 2 (i8mm)");
    /// a_s = a - a_offset in [-128, 127] (activations made signed for SMULL/SDOT/SMMLA).
    static constexpr int a_offset = base::a_min < 0 ? 0 : (base::a_min + base::a_max + 1) / 2;
    /// The offset algebra's shift (a_s = a + a_shift).
    static constexpr int a_shift = -a_offset;
    /// Largest |centred activation code|.
    static constexpr int a_abs = static_cast<int>(
        detail::max_l(detail::abs_l(base::a_min - a_offset), detail::abs_l(base::a_max - a_offset)));
    static_assert(base::a_min - a_offset >= -128 && base::a_max - a_offset <= 127, "centred activations fit int8");
    /// Largest |a_s * w_s|.
    static constexpr long product_bound = long(a_abs) * base::w_abs;
    static constexpr bool vnni = false;         ///< not the x86 VNNI path
    static constexpr bool use_maddubs = false;  ///< not the x86 maddubs path
    static constexpr bool bytes = true;         ///< always the byte layout (a_s x w_s with the offset algebra)
    /// Level 0: products fit int8 lanes (MUL + SADALP instead of SMULL/SMLAL).
    static constexpr bool byte_products = Level == 0 && product_bound <= 127;
    /// Level 0: k quads accumulated per int16 lane before widening to int32 (1 = widen every product).
    static constexpr int depth =
        Level != 0      ? 0
        : byte_products ? static_cast<int>(detail::min_l(32767 / (2 * product_bound), MaxDepth))
                        : static_cast<int>(detail::max_l(1, detail::min_l(32767 / product_bound, MaxDepth)));
    /// Consecutive k of one column stored together (SMMLA reads 8, SDOT and SMLAL 4); K is padded to it.
    static constexpr int k_group = Level == 2 ? 8 : 4;
    static constexpr int k_step = k_group;
    /// The AArch64 level.
    static constexpr int neon_level = Level;
};

/// The plan packed_q8 and gemm_q8 use for Arch: q8_plan_neon on AArch64 tags, q8_plan otherwise.
template <class ARange, class WRange, class Arch>
using q8_plan_for = std::conditional_t<(neon_level_v<Arch> >= 0), q8_plan_neon<ARange, WRange, (neon_level_v<Arch> < 0 ? 0 : neon_level_v<Arch>)>,
                                       q8_plan<ARange, WRange, is_vnni_arch_v<Arch>>>;

}  // namespace zoa::kernels
