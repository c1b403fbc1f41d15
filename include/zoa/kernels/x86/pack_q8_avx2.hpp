// zoa — AVX2 fast paths of packed_q8::pack for the two common source layouts (k-contiguous, n-contiguous)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>

namespace zoa::kernels::x86 {

/// Running min/max of 16 codes (as int) for the range check.
template <class T>
struct code_bounds {
    /// Lane-wise running minimum and maximum (start at T's max / min).
    __m128i lo = _mm_set1_epi8(static_cast<char>(std::is_signed_v<T> ? 127 : -1));
    __m128i hi = _mm_set1_epi8(static_cast<char>(std::is_signed_v<T> ? -128 : 0));
    /// Folds 16 codes into the bounds.
    void add(__m128i v) noexcept {
        if constexpr (std::is_signed_v<T>) {
            lo = _mm_min_epi8(lo, v);
            hi = _mm_max_epi8(hi, v);
        } else {
            lo = _mm_min_epu8(lo, v);
            hi = _mm_max_epu8(hi, v);
        }
    }
    /// True when every code seen lies in [mn, mx].
    bool inside(int mn, int mx) const noexcept {
        alignas(16) T a[16], b[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(a), lo);
        _mm_store_si128(reinterpret_cast<__m128i*>(b), hi);
        for (int i = 0; i < 16; ++i)
            if (int(a[i]) < mn || int(b[i]) > mx) return false;
        return true;
    }
};

/// Byte layout, one column whose k codes are contiguous: dst_col[(k/4)*64 + k%4] = int8(src[k] - off) for
/// k < kfull (a multiple of 16); returns sum_k (src[k] - off). dst_col = panel + c*4.
template <class T>
std::int64_t bytes_column(const T* src, std::size_t kfull, int off, std::int8_t* dst_col, code_bounds<T>& b) noexcept {
    const __m128i voff = _mm_set1_epi8(static_cast<char>(off)), flip = _mm_set1_epi8(static_cast<char>(0x80));
    __m128i sum = _mm_setzero_si128();
    for (std::size_t k0 = 0; k0 < kfull; k0 += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k0));
        b.add(v);
        const __m128i ws = _mm_sub_epi8(v, voff);
        sum = _mm_add_epi64(sum, _mm_sad_epu8(_mm_xor_si128(ws, flip), _mm_setzero_si128()));  // sum of ws + 128
        std::int8_t* d = dst_col + (k0 / 4) * 64;
        const std::int32_t w0 = _mm_cvtsi128_si32(ws), w1 = _mm_cvtsi128_si32(_mm_srli_si128(ws, 4)),
                           w2 = _mm_cvtsi128_si32(_mm_srli_si128(ws, 8)), w3 = _mm_cvtsi128_si32(_mm_srli_si128(ws, 12));
        std::memcpy(d, &w0, 4);
        std::memcpy(d + 64, &w1, 4);
        std::memcpy(d + 128, &w2, 4);
        std::memcpy(d + 192, &w3, 4);
    }
    alignas(16) std::int64_t s2[2];
    _mm_store_si128(reinterpret_cast<__m128i*>(s2), sum);
    return s2[0] + s2[1] - 128 * static_cast<std::int64_t>(kfull);
}

/// Byte layout, one full panel whose 16 columns are contiguous (W(n,k) = src[n + k*stride_k]): for every k quad,
/// interleave 4 rows of 16 codes into [c][4 k] (64 bytes). kfull is a multiple of 4; sums[c] += sum_k (w - off).
template <class T>
void bytes_panel(const T* src, std::ptrdiff_t stride_k, std::size_t kfull, int off, std::int8_t* dst,
                 std::int32_t* sums, code_bounds<T>& b) noexcept {
    const __m128i voff = _mm_set1_epi8(static_cast<char>(off));
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (std::size_t k0 = 0; k0 < kfull; k0 += 4) {
        __m128i r[4];
        for (int i = 0; i < 4; ++i) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + static_cast<std::ptrdiff_t>(k0 + static_cast<std::size_t>(i)) * stride_k));
            b.add(v);
            r[i] = _mm_sub_epi8(v, voff);
            s0 = _mm256_add_epi32(s0, _mm256_cvtepi8_epi32(r[i]));
            s1 = _mm256_add_epi32(s1, _mm256_cvtepi8_epi32(_mm_srli_si128(r[i], 8)));
        }
        const __m128i a = _mm_unpacklo_epi8(r[0], r[1]), c = _mm_unpacklo_epi8(r[2], r[3]);
        const __m128i a2 = _mm_unpackhi_epi8(r[0], r[1]), c2 = _mm_unpackhi_epi8(r[2], r[3]);
        std::int8_t* d = dst + (k0 / 4) * 64;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi16(a, c));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), _mm_unpackhi_epi16(a, c));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 32), _mm_unpacklo_epi16(a2, c2));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 48), _mm_unpackhi_epi16(a2, c2));
    }
    alignas(32) std::int32_t t[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), s0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), s1);
    for (int c = 0; c < 16; ++c) sums[c] += t[c];
}

/// int16 layout, one column with contiguous k: dst_col[(k/2)*32 + k%2] = int16(src[k] - z), k < kfull (multiple of
/// 16). dst_col = panel + c*2 (int16 units).
template <class T>
void s16_column(const T* src, std::size_t kfull, int z, std::int16_t* dst_col, code_bounds<T>& b) noexcept {
    const __m256i vz = _mm256_set1_epi16(static_cast<short>(z));
    for (std::size_t k0 = 0; k0 < kfull; k0 += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k0));
        b.add(v);
        const __m256i w = _mm256_sub_epi16(std::is_signed_v<T> ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), vz);
        alignas(32) std::int32_t pairs[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(pairs), w);
        std::int16_t* d = dst_col + (k0 / 2) * 32;
        for (std::size_t i = 0; i < 8; ++i) std::memcpy(d + i * 32, &pairs[i], 4);
    }
}

/// int16 layout, one full panel with contiguous columns: for every k pair, int16 (w - z[c]) interleaved [c][2 k].
template <class T>
void s16_panel(const T* src, std::ptrdiff_t stride_k, std::size_t kfull, const std::int32_t* z, std::int16_t* dst,
               code_bounds<T>& b) noexcept {
    const __m256i vz = _mm256_packs_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(z)),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(z + 8)));
    const __m256i zord = _mm256_permute4x64_epi64(vz, 0xD8);  // z[0..15] as int16 in column order
    for (std::size_t k0 = 0; k0 < kfull; k0 += 2) {
        __m256i r[2];
        for (int i = 0; i < 2; ++i) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + static_cast<std::ptrdiff_t>(k0 + static_cast<std::size_t>(i)) * stride_k));
            b.add(v);
            r[i] = _mm256_sub_epi16(std::is_signed_v<T> ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), zord);
        }
        const __m256i lo = _mm256_unpacklo_epi16(r[0], r[1]), hi = _mm256_unpackhi_epi16(r[0], r[1]);
        std::int16_t* d = dst + (k0 / 2) * 32;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

}  // namespace zoa::kernels::x86

#endif  // __AVX2__
