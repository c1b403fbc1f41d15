// zoa — AVX-512 VNNI kernels of gram_q8: 4-row interleaving of byte rows and the Gram tiles of one interleaved chunk
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "zoa/kernels/x86/gemm_q8_avx512.hpp"

#if defined(__AVX2__) && defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
#include <immintrin.h>

namespace zoa::kernels::x86 {

/// Interleaves 4 rows of k bytes (k a multiple of 16) into k quads: q[4·j + i] = row_i[j] (SSE2 byte/word unpacks).
inline void interleave4_rows(const std::uint8_t* r0, const std::uint8_t* r1, const std::uint8_t* r2,
                             const std::uint8_t* r3, std::size_t k, std::uint8_t* q) noexcept {
    for (std::size_t j = 0; j < k; j += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + j));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + j));
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r2 + j));
        const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r3 + j));
        const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);  // (a0 b0 a1 b1 ...), (a8 b8 ...)
        const __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        __m128i* o = reinterpret_cast<__m128i*>(q + 4 * j);
        _mm_storeu_si128(o + 0, _mm_unpacklo_epi16(ab0, cd0));  // columns j .. j+3
        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab0, cd0));  // j+4 .. j+7
        _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab1, cd1));  // j+8 .. j+11
        _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab1, cd1));  // j+12 .. j+15
    }
}

/// The Gram tiles of one chunk of `groups` interleaved row quads (q[g·4k + 4·j + i] = a[4g + i][j], k a multiple of
/// 32), added to the int64 sums:
///   p[r·k + l] += Σ_m a[m][r]·(a[m][l] − 128)   for the 8 × 32 tiles on or above the diagonal (l0 + 32 > r0),
///   t[l]       += Σ_m (a[m][l] − 128)            (with the tiles of r0 = 0),
/// vpdpbusd taking a[·][r] as u8 and a[·][l] − 128 (the byte xor 0x80) as s8; the caller adds 128·Σ_m a[m][r] back.
/// Exact: a chunk of ≤ 16384 rows keeps every int32 lane below 16384·255·128 < 2^31.
inline void gram_chunk_vnni512(const std::uint8_t* q, std::size_t groups, std::size_t k, std::int64_t* p,
                               std::int64_t* t) noexcept {
    const std::size_t gs = 4 * k;  // bytes per row quad
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i ones = _mm512_set1_epi8(1);
    for (std::size_t r0 = 0; r0 < k; r0 += 8) {
        for (std::size_t l0 = 0; l0 < k; l0 += 32) {
            if (l0 + 32 <= r0) continue;  // below the diagonal: the caller mirrors
            __m512i acc[8][2], ts[2];
#pragma GCC unroll 8
            for (int r = 0; r < 8; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
            ts[0] = ts[1] = _mm512_setzero_si512();
            const std::uint8_t* g = q;
            for (std::size_t i = 0; i < groups; ++i, g += gs) {
                const __m512i b0 = _mm512_xor_si512(_mm512_loadu_si512(static_cast<const void*>(g + 4 * l0)), flip);
                const __m512i b1 =
                    _mm512_xor_si512(_mm512_loadu_si512(static_cast<const void*>(g + 4 * l0 + 64)), flip);
#pragma GCC unroll 8
                for (int r = 0; r < 8; ++r) {
                    std::int32_t x;
                    std::memcpy(&x, g + 4 * (r0 + static_cast<std::size_t>(r)), 4);
                    const __m512i xv = _mm512_set1_epi32(x);
                    acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], xv, b0);
                    acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], xv, b1);
                }
                if (r0 == 0) {
                    ts[0] = _mm512_dpbusd_epi32(ts[0], ones, b0);
                    ts[1] = _mm512_dpbusd_epi32(ts[1], ones, b1);
                }
            }
            auto add64 = [](std::int64_t* dst, __m512i v) noexcept {  // dst[0..16) += the 16 int32 lanes of v
                // through memory: GCC 12's _mm512_extracti64x4_epi64 trips -Wuninitialized (_mm256_undefined_si256)
                alignas(64) std::int32_t lanes[16];
                _mm512_store_si512(static_cast<void*>(lanes), v);
                const __m512i lo = _mm512_cvtepi32_epi64(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)));
                const __m512i hi =
                    _mm512_cvtepi32_epi64(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + 8)));
                _mm512_storeu_si512(static_cast<void*>(dst), _mm512_add_epi64(_mm512_loadu_si512(dst), lo));
                _mm512_storeu_si512(static_cast<void*>(dst + 8), _mm512_add_epi64(_mm512_loadu_si512(dst + 8), hi));
            };
            for (int r = 0; r < 8; ++r) {
                add64(p + (r0 + static_cast<std::size_t>(r)) * k + l0, acc[r][0]);
                add64(p + (r0 + static_cast<std::size_t>(r)) * k + l0 + 16, acc[r][1]);
            }
            if (r0 == 0) {
                add64(t + l0, ts[0]);
                add64(t + l0 + 16, ts[1]);
            }
        }
    }
}

}  // namespace zoa::kernels::x86

#endif
