// zoa — fp32 ↔ int8/uint8 quantize (round half to even, saturating) and dequantize, per tensor and per channel
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "zoa/core/xsimd.hpp"
#if XSIMD_WITH_AVX
#include <immintrin.h>
#elif XSIMD_WITH_SSE2
#include <emmintrin.h>  // SSE2 only: <immintrin.h> would declare every AVX-512 intrinsic (+90 MB per TU)
#endif
#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::kernels {

namespace detail {

/// Stores the lanes of v (already inside T's range) as T: AVX-512 vpmov[u]sdb, AVX2/SSE2 pack instructions, NEON
/// SQXTN/SQXTUN (saturating, hence exact for in-range lanes), otherwise a scalar loop.
template <class Arch, class T>
void store_narrow(const xsimd::batch<std::int32_t, Arch>& v, T* dst) noexcept {
    constexpr bool is_signed = std::is_same_v<T, std::int8_t>;
#if XSIMD_WITH_AVX512F
    if constexpr (arch_at_least_v<Arch, xsimd::avx512f>) {
        const __m512i r = v;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                         is_signed ? _mm512_cvtsepi32_epi8(r) : _mm512_cvtusepi32_epi8(r));
        return;
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (arch_at_least_v<Arch, xsimd::avx2>) {  // 256-bit registers (AVX-512 tags took the branch above)
        const __m256i r = v;
        const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst),
                         is_signed ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16));
        return;
    }
#endif
#if XSIMD_WITH_SSE2
    if constexpr (arch_at_least_v<Arch, xsimd::sse2>) {
        const __m128i r = v;
        const __m128i w16 = _mm_packs_epi32(r, r);
        const int bytes = _mm_cvtsi128_si32(is_signed ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16));
        std::memcpy(dst, &bytes, 4);  // x86: little-endian, lane 0 → dst[0]
        return;
    }
#endif
#if XSIMD_WITH_NEON64
    if constexpr (arch_at_least_v<Arch, xsimd::neon64>) {
        const int16x4_t w16 = vqmovn_s32(v);
        const int16x8_t w = vcombine_s16(w16, w16);
        const std::int32_t bytes = is_signed ? vget_lane_s32(vreinterpret_s32_s8(vqmovn_s16(w)), 0)
                                             : vget_lane_s32(vreinterpret_s32_u8(vqmovun_s16(w)), 0);
        std::memcpy(dst, &bytes, 4);  // little-endian AArch64: lane 0 → dst[0]
        return;
    }
#endif
    (void)is_signed;
    alignas(64) std::int32_t lanes[xsimd::batch<std::int32_t, Arch>::size];
    v.store_aligned(lanes);
    for (std::size_t l = 0; l < xsimd::batch<std::int32_t, Arch>::size; ++l) dst[l] = static_cast<T>(lanes[l]);
}

/// Loads batch<int32>::size codes from src, sign- or zero-extended to int32: AVX-512 vpmov[sz]xbd, AVX2
/// vpmov[sz]xbd, SSE2 unpack (+ arithmetic shift for int8), NEON SXTL/UXTL, otherwise a scalar loop.
template <class Arch, class T>
xsimd::batch<std::int32_t, Arch> load_widen(const T* src) noexcept {
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr bool is_signed = std::is_same_v<T, std::int8_t>;
#if XSIMD_WITH_AVX512F
    if constexpr (arch_at_least_v<Arch, xsimd::avx512f>) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
        return ibatch(is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b));
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (arch_at_least_v<Arch, xsimd::avx2>) {  // 256-bit registers (AVX-512 tags took the branch above)
        const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
        return ibatch(is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b));
    }
#endif
#if XSIMD_WITH_SSE2
    if constexpr (arch_at_least_v<Arch, xsimd::sse2>) {
        std::int32_t word;
        std::memcpy(&word, src, sizeof(word));
        const __m128i b = _mm_cvtsi32_si128(word);
        if constexpr (is_signed) {  // byte k → 32-bit lane k holding it 4 times, then shift its sign down
            const __m128i w16 = _mm_unpacklo_epi8(b, b);
            return ibatch(_mm_srai_epi32(_mm_unpacklo_epi16(w16, w16), 24));
        } else {
            const __m128i z = _mm_setzero_si128();
            return ibatch(_mm_unpacklo_epi16(_mm_unpacklo_epi8(b, z), z));
        }
    }
#endif
#if XSIMD_WITH_NEON64
    if constexpr (arch_at_least_v<Arch, xsimd::neon64>) {
        std::int32_t word;
        std::memcpy(&word, src, sizeof(word));
        const int32x2_t w = vdup_n_s32(word);
        if constexpr (is_signed) return ibatch(vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_s32(w)))));
        else return ibatch(vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_s32(w))))));
    }
#endif
    alignas(64) std::int32_t lanes[ibatch::size];
    for (std::size_t l = 0; l < ibatch::size; ++l) lanes[l] = static_cast<std::int32_t>(src[l]);
    return ibatch::load_aligned(lanes);
}

/// Scalar twin of the vector step: v = fl(x / s), clamped to [lo, hi] = [qmin − zp, qmax − zp] (exact integers),
/// rounded half to even, plus zp. Equals clamp(nearbyint(x/s) + zp, qmin, qmax) because rounding is monotone and
/// fixes integers. x must not be NaN.
template <class T>
T quantize_one(float x, float s, float lo, float hi, std::int32_t zp) noexcept {
    float v = x / s;
    v = v < lo ? lo : (v > hi ? hi : v);
    return static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + zp);
}

/// Quantizes n contiguous floats with one (scale, zp); throws zoa::error(numeric) after the pass if a NaN was seen.
/// `base` is the index of x[0] in the caller's tensor (for the error message).
template <class Arch, class T>
void quantize_span(const float* x, T* q, std::size_t n, float scale, std::int32_t zp, std::int32_t qmin,
                   std::int32_t qmax, const char* fn, std::size_t base) {
    using fbatch = xsimd::batch<float, Arch>;
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr std::size_t w = fbatch::size;
    const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
    const fbatch vs(scale), vlo(lo), vhi(hi);
    const ibatch vzp(zp);
    auto nan_seen = fbatch(0.0f) != fbatch(0.0f);
    std::size_t i = 0;
    for (; i + w <= n; i += w) {
        const fbatch v = divide(fbatch::load_unaligned(x + i), vs);
        nan_seen = nan_seen | xsimd::isnan(v);
        store_narrow<Arch, T>(xsimd::nearbyint_as_int(xsimd::min(xsimd::max(v, vlo), vhi)) + vzp, q + i);
    }
    bool tail_nan = false;
    for (; i < n; ++i) {
        tail_nan = tail_nan || x[i] != x[i];
        if (x[i] == x[i]) q[i] = quantize_one<T>(x[i], scale, lo, hi, zp);
    }
    if (xsimd::any(nan_seen) || tail_nan) require_no_nan(fn, x, n, base);
}

/// Dequantizes n contiguous codes with one (scale, zp): x = scale · float(q − zp).
template <class Arch, class T>
void dequantize_span(const T* q, float* x, std::size_t n, float scale, std::int32_t zp) noexcept {
    using fbatch = xsimd::batch<float, Arch>;
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr std::size_t w = fbatch::size;
    const fbatch vs(scale);
    const ibatch vzp(zp);
    std::size_t i = 0;
    for (; i + w <= n; i += w) (vs * xsimd::to_float(load_widen<Arch>(q + i) - vzp)).store_unaligned(x + i);
    for (; i < n; ++i) x[i] = scale * static_cast<float>(static_cast<std::int32_t>(q[i]) - zp);
}

/// Throws: zoa::error(argument) naming fn for null pointers, n == 0 or [qmin, qmax] outside T's range.
template <class T>
void check_quantize(const char* fn, const void* in, const void* out, std::size_t n, std::int32_t qmin,
                    std::int32_t qmax) {
    static_assert(is_quantized_storage_v<T>, "zoa: quantize/dequantize store codes as std::int8_t or std::uint8_t");
    require_pointer(fn, "input", in);
    require_pointer(fn, "output", out);
    require_extent(fn, "size", n);
    require_qrange<T>(fn, qmin, qmax);
}

}  // namespace detail

/// Per-tensor affine quantization, round half to even, saturating:
///   q[i] = clamp(nearbyint(x[i] / scale) + zero_point, qmin, qmax)
/// with x/scale one IEEE float division (as torch's `round(x / scale)`) and nearbyint in the current rounding mode
/// (FE_TONEAREST = ties to even by default; the SIMD path, cvtps2dq, uses the same MXCSR mode, so both agree).
/// ±Inf and out-of-range values saturate to qmin/qmax. T = std::int8_t or std::uint8_t; qmin/qmax may describe any
/// narrower range, e.g. [−8, 7] for 4-bit codes in int8 storage.
/// Threads: fixed blocks of 16384 elements over ctx; results are bit-identical to the reference for any thread count.
/// Throws: zoa::error(argument) for null pointers, n = 0, qmin > qmax, a range outside T, scale not finite and > 0,
///         or zero_point outside [qmin, qmax]; zoa::error(numeric) naming the element when x contains NaN (q is then
///         partially written).
template <class Arch = default_arch, class T>
void quantize_per_tensor(const float* x, T* q, std::size_t n, float scale, std::int32_t zero_point, std::int32_t qmin,
                         std::int32_t qmax, execution_context& ctx) {
    const char* fn = "quantize_per_tensor";
    detail::check_quantize<T>(fn, x, q, n, qmin, qmax);
    detail::require_qparams(fn, scale, zero_point, qmin, qmax);
    detail::parallel_blocks(ctx, n, detail::elementwise_block, [&](std::size_t b, std::size_t e) {
        detail::quantize_span<Arch>(x + b, q + b, e - b, scale, zero_point, qmin, qmax, fn, b);
    });
}

/// Per-channel affine quantization of x viewed as [outer × channels × inner] (channel axis in the middle: weights
/// [N × K] are outer = 1, channels = N, inner = K; NCHW activations are outer = N, inner = H·W; channels-last
/// [M × C] is outer = M, inner = 1):
///   q[o,c,i] = clamp(nearbyint(x[o,c,i] / scale[c]) + zero_point[c], qmin, qmax).
/// zero_point may be null (all zeros: symmetric). Same rounding, saturation, threads and errors as
/// quantize_per_tensor (parameters are checked per channel and named by index).
template <class Arch = default_arch, class T>
void quantize_per_channel(const float* x, T* q, std::size_t outer, std::size_t channels, std::size_t inner,
                          const float* scale, const std::int32_t* zero_point, std::int32_t qmin, std::int32_t qmax,
                          execution_context& ctx) {
    const char* fn = "quantize_per_channel";
    detail::require_extent(fn, "outer", outer);
    detail::require_extent(fn, "channels", channels);
    detail::require_extent(fn, "inner", inner);
    const std::size_t n = detail::checked_mul(fn, detail::checked_mul(fn, outer, channels), inner);
    detail::check_quantize<T>(fn, x, q, n, qmin, qmax);
    detail::require_pointer(fn, "scale", scale);
    for (std::size_t c = 0; c < channels; ++c)
        detail::require_qparams(fn, scale[c], zero_point ? zero_point[c] : 0, qmin, qmax, static_cast<long long>(c));
    if (inner == 1) {  // channels-last rows: vectors run across channels with per-lane parameters
        using fbatch = xsimd::batch<float, Arch>;
        using ibatch = xsimd::batch<std::int32_t, Arch>;
        constexpr std::size_t w = fbatch::size;
        ctx.parallel_for(outer, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const float* xr = x + r * channels;
                T* qr = q + r * channels;
                auto nan_seen = fbatch(0.0f) != fbatch(0.0f);
                std::size_t c = 0;
                for (; c + w <= channels; c += w) {
                    const ibatch zp = zero_point ? ibatch::load_unaligned(zero_point + c) : ibatch(0);
                    const fbatch lo = xsimd::to_float(ibatch(qmin) - zp), hi = xsimd::to_float(ibatch(qmax) - zp);
                    const fbatch v = detail::divide(fbatch::load_unaligned(xr + c), fbatch::load_unaligned(scale + c));
                    nan_seen = nan_seen | xsimd::isnan(v);
                    detail::store_narrow<Arch, T>(xsimd::nearbyint_as_int(xsimd::min(xsimd::max(v, lo), hi)) + zp,
                                                  qr + c);
                }
                bool tail_nan = false;
                for (; c < channels; ++c) {
                    const std::int32_t zp = zero_point ? zero_point[c] : 0;
                    tail_nan = tail_nan || xr[c] != xr[c];
                    if (xr[c] == xr[c])
                        qr[c] = detail::quantize_one<T>(xr[c], scale[c], static_cast<float>(qmin - zp),
                                                        static_cast<float>(qmax - zp), zp);
                }
                if (xsimd::any(nan_seen) || tail_nan) detail::require_no_nan(fn, xr, channels, r * channels);
            }
        });
        return;
    }
    ctx.parallel_for(outer * channels, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c = p % channels;
            detail::quantize_span<Arch>(x + p * inner, q + p * inner, inner, scale[c], zero_point ? zero_point[c] : 0,
                                        qmin, qmax, fn, p * inner);
        }
    });
}

/// Per-tensor dequantization: x[i] = scale · (q[i] − zero_point), the difference exact in int32, then one float
/// multiply (bit-identical to the reference). T = std::int8_t or std::uint8_t.
/// Throws: zoa::error(argument) for null pointers, n = 0 or scale not finite and > 0.
template <class Arch = default_arch, class T>
void dequantize_per_tensor(const T* q, float* x, std::size_t n, float scale, std::int32_t zero_point,
                           execution_context& ctx) {
    const char* fn = "dequantize_per_tensor";
    detail::check_quantize<T>(fn, q, x, n, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    detail::require_scale(fn, scale);
    detail::parallel_blocks(ctx, n, detail::elementwise_block, [&](std::size_t b, std::size_t e) {
        detail::dequantize_span<Arch>(q + b, x + b, e - b, scale, zero_point);
    });
}

/// Per-channel dequantization of [outer × channels × inner]: x[o,c,i] = scale[c] · (q[o,c,i] − zero_point[c]);
/// zero_point may be null (zeros). Throws as dequantize_per_tensor (scales checked per channel).
template <class Arch = default_arch, class T>
void dequantize_per_channel(const T* q, float* x, std::size_t outer, std::size_t channels, std::size_t inner,
                            const float* scale, const std::int32_t* zero_point, execution_context& ctx) {
    const char* fn = "dequantize_per_channel";
    detail::require_extent(fn, "outer", outer);
    detail::require_extent(fn, "channels", channels);
    detail::require_extent(fn, "inner", inner);
    const std::size_t n = detail::checked_mul(fn, detail::checked_mul(fn, outer, channels), inner);
    detail::check_quantize<T>(fn, q, x, n, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    detail::require_pointer(fn, "scale", scale);
    for (std::size_t c = 0; c < channels; ++c) detail::require_scale(fn, scale[c], static_cast<long long>(c));
    if (inner == 1) {
        using fbatch = xsimd::batch<float, Arch>;
        using ibatch = xsimd::batch<std::int32_t, Arch>;
        constexpr std::size_t w = fbatch::size;
        ctx.parallel_for(outer, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const T* qr = q + r * channels;
                float* xr = x + r * channels;
                std::size_t c = 0;
                for (; c + w <= channels; c += w) {
                    const ibatch zp = zero_point ? ibatch::load_unaligned(zero_point + c) : ibatch(0);
                    (fbatch::load_unaligned(scale + c) * xsimd::to_float(detail::load_widen<Arch>(qr + c) - zp))
                        .store_unaligned(xr + c);
                }
                for (; c < channels; ++c)
                    xr[c] = scale[c] *
                            static_cast<float>(static_cast<std::int32_t>(qr[c]) - (zero_point ? zero_point[c] : 0));
            }
        });
        return;
    }
    ctx.parallel_for(outer * channels, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c = p % channels;
            detail::dequantize_span<Arch>(q + p * inner, x + p * inner, inner, scale[c],
                                          zero_point ? zero_point[c] : 0);
        }
    });
}

}  // namespace zoa::kernels

ZOA_DETAIL_AVX512_WARNINGS_END
