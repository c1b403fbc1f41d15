// zoa — AVX2 kernels of gram_q8: 2-row interleaving of byte rows into int16 pairs and the Gram tiles of one chunk
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>

namespace zoa::kernels::x86 {

/// True when this translation unit has the AVX2 Gram kernel (-mavx2).
inline constexpr bool gram_avx2_compiled = true;

/// Interleaves 2 rows of k bytes (k a multiple of 16) into k int16 pairs: q[2·j + i] = row_i[j].
inline void interleave2_rows_i16(const std::uint8_t* r0, const std::uint8_t* r1, std::size_t k,
                                 std::int16_t* q) noexcept {
    for (std::size_t j = 0; j < k; j += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + j));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + j));
        __m256i* o = reinterpret_cast<__m256i*>(q + 2 * j);
        _mm256_storeu_si256(o, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b)));      // columns j .. j+7
        _mm256_storeu_si256(o + 1, _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b)));  // j+8 .. j+15
    }
}

/// The Gram tiles of one chunk of `pairs` interleaved row pairs (q[g·2k + 2·j + i] = a[2g + i][j] as int16, k a
/// multiple of 16), added to the int64 sums:
///   p[r·k + l] += Σ_m a[m][r]·a[m][l]   for the 4 × 16 tiles on or above the diagonal (l0 + 16 > r0),
///   t[l]       += Σ_m a[m][l]            (with the tiles of r0 = 0),
/// vpmaddwd adding the two rows' products per int32 lane (exact: a chunk of ≤ 32768 rows keeps lanes < 2^31).
inline void gram_chunk_avx2(const std::int16_t* q, std::size_t pairs, std::size_t k, std::int64_t* p,
                            std::int64_t* t) noexcept {
    const std::size_t gs = 2 * k;  // int16 per row pair
    const __m256i ones = _mm256_set1_epi16(1);
    auto add64 = [](std::int64_t* dst, __m256i v) noexcept {  // dst[0..8) += the 8 int32 lanes of v
        const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v));
        const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1));
        __m256i* d = reinterpret_cast<__m256i*>(dst);
        _mm256_storeu_si256(d, _mm256_add_epi64(_mm256_loadu_si256(d), lo));
        _mm256_storeu_si256(d + 1, _mm256_add_epi64(_mm256_loadu_si256(d + 1), hi));
    };
    for (std::size_t r0 = 0; r0 < k; r0 += 4) {
        for (std::size_t l0 = 0; l0 < k; l0 += 16) {
            if (l0 + 16 <= r0) continue;  // below the diagonal: the caller mirrors
            __m256i acc[4][2];
            for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
            __m256i ts0 = _mm256_setzero_si256(), ts1 = _mm256_setzero_si256();
            const std::int16_t* g = q;
            for (std::size_t i = 0; i < pairs; ++i, g += gs) {
                const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 2 * l0));
                const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 2 * l0 + 16));
#pragma GCC unroll 4
                for (int r = 0; r < 4; ++r) {
                    std::int32_t x;
                    std::memcpy(&x, g + 2 * (r0 + static_cast<std::size_t>(r)), 4);
                    const __m256i xv = _mm256_set1_epi32(x);
                    acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(xv, b0));
                    acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(xv, b1));
                }
                if (r0 == 0) {
                    ts0 = _mm256_add_epi32(ts0, _mm256_madd_epi16(ones, b0));
                    ts1 = _mm256_add_epi32(ts1, _mm256_madd_epi16(ones, b1));
                }
            }
            for (std::size_t r = 0; r < 4; ++r) {
                add64(p + (r0 + r) * k + l0, acc[r][0]);
                add64(p + (r0 + r) * k + l0 + 8, acc[r][1]);
            }
            if (r0 == 0) {
                add64(t + l0, ts0);
                add64(t + l0 + 8, ts1);
            }
        }
    }
}

}  // namespace zoa::kernels::x86

#else

namespace zoa::kernels::x86 {
/// False: no AVX2 Gram kernel in this translation unit.
inline constexpr bool gram_avx2_compiled = false;
}  // namespace zoa::kernels::x86

#endif
