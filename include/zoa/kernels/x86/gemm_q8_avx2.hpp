// zoa — AVX2 breakout for gemm_q8: exact vpmaddubsw / vpmaddwd microkernels, A-row packing, fused epilogues
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "zoa/kernels/output_stage.hpp"

#if defined(__AVX2__)
#include <immintrin.h>

namespace zoa::kernels::x86 {

/// Register tile of the q8 microkernels: 4 rows x 16 columns of int32 (8 ymm accumulators).
struct tile_4x16 {
    __m256i v[4][2];
};

inline __m256i bcast32(const void* p) noexcept {
    std::int32_t x;
    std::memcpy(&x, p, 4);
    return _mm256_set1_epi32(x);
}

/// maddubs path. a: 4 rows of kp unsigned bytes (row stride kp), b: one packed panel (kp*16 int8).
/// acc[r][c] = sum_k a[r][k] * b(k, c), exact when Plan's pair bound holds: each vpmaddubsw lane
/// u0*s0 + u1*s1 stays within int16 and Depth lanes are summed in int16 (|sum| <= Depth * pair_bound <= 32767)
/// before vpmaddwd(., 1) widens adjacent lanes to int32.
template <int Depth>
inline tile_4x16 kernel_maddubs(const std::uint8_t* a, const std::int8_t* b, std::size_t kp) noexcept {
    const __m256i ones = _mm256_set1_epi16(1);
    tile_4x16 t;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) t.v[r][0] = t.v[r][1] = _mm256_setzero_si256();
    const std::size_t nq = kp / 4;
    for (std::size_t q = 0; q < nq; q += Depth) {
        const std::int8_t* bq = b + q * 64;
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            const std::uint8_t* ar = a + static_cast<std::size_t>(r) * kp + q * 4;
            __m256i x = bcast32(ar);
            __m256i s0 = _mm256_maddubs_epi16(x, _mm256_load_si256(reinterpret_cast<const __m256i*>(bq)));
            __m256i s1 = _mm256_maddubs_epi16(x, _mm256_load_si256(reinterpret_cast<const __m256i*>(bq + 32)));
#pragma GCC unroll 8
            for (int d = 1; d < Depth; ++d) {
                x = bcast32(ar + 4 * d);
                s0 = _mm256_add_epi16(
                    s0, _mm256_maddubs_epi16(x, _mm256_load_si256(reinterpret_cast<const __m256i*>(bq + 64 * d))));
                s1 = _mm256_add_epi16(
                    s1, _mm256_maddubs_epi16(x, _mm256_load_si256(reinterpret_cast<const __m256i*>(bq + 64 * d + 32))));
            }
            t.v[r][0] = _mm256_add_epi32(t.v[r][0], _mm256_madd_epi16(s0, ones));
            t.v[r][1] = _mm256_add_epi32(t.v[r][1], _mm256_madd_epi16(s1, ones));
        }
    }
    return t;
}

/// int16 path. a: 4 rows of kp int16 (row stride kp), b: one packed panel (kp*16 int16).
/// acc[r][c] = sum_k a[r][k] * b(k, c); vpmaddwd forms a0*b0 + a1*b1 exactly in int32 for int16 inputs.
inline tile_4x16 kernel_s16(const std::int16_t* a, const std::int16_t* b, std::size_t kp) noexcept {
    tile_4x16 t;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) t.v[r][0] = t.v[r][1] = _mm256_setzero_si256();
    const std::size_t np = kp / 2;
    for (std::size_t q = 0; q < np; ++q) {
        const std::int16_t* bq = b + q * 32;
        const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bq));
        const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bq + 16));
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            const __m256i x = bcast32(a + static_cast<std::size_t>(r) * kp + q * 2);
            t.v[r][0] = _mm256_add_epi32(t.v[r][0], _mm256_madd_epi16(x, b0));
            t.v[r][1] = _mm256_add_epi32(t.v[r][1], _mm256_madd_epi16(x, b1));
        }
    }
    return t;
}

/// dst[i] = src[i] + shift (as uint8), i < len; returns sum of dst; tracks min/max of src (as int).
/// Signed sources: shift = 2^(b-1) maps [-2^(b-1), 2^(b-1)-1] onto [0, 2^b-1] (epi8 add wraps exactly there).
template <class T>
inline std::int64_t convert_u8(const T* src, std::size_t len, std::uint8_t shift, std::uint8_t* dst, int& mn,
                               int& mx) noexcept {
    const __m256i vs = _mm256_set1_epi8(static_cast<char>(shift));
    const __m256i zero = _mm256_setzero_si256();
    __m256i sum = zero;
    __m256i vmin = _mm256_set1_epi8(static_cast<char>(std::is_signed_v<T> ? 127 : 255));
    __m256i vmax = _mm256_set1_epi8(static_cast<char>(std::is_signed_v<T> ? -128 : 0));
    std::size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
        if constexpr (std::is_signed_v<T>) {
            vmin = _mm256_min_epi8(vmin, v);
            vmax = _mm256_max_epi8(vmax, v);
        } else {
            vmin = _mm256_min_epu8(vmin, v);
            vmax = _mm256_max_epu8(vmax, v);
        }
        const __m256i u = _mm256_add_epi8(v, vs);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), u);
        sum = _mm256_add_epi64(sum, _mm256_sad_epu8(u, zero));
    }
    alignas(32) std::int64_t s4[4];
    alignas(32) T lo[32], hi[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(s4), sum);
    _mm256_store_si256(reinterpret_cast<__m256i*>(lo), vmin);
    _mm256_store_si256(reinterpret_cast<__m256i*>(hi), vmax);
    std::int64_t total = s4[0] + s4[1] + s4[2] + s4[3];
    for (int j = 0; j < 32; ++j) {
        mn = lo[j] < mn ? lo[j] : mn;
        mx = hi[j] > mx ? hi[j] : mx;
    }
    for (; i < len; ++i) {
        const int v = src[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        dst[i] = static_cast<std::uint8_t>(v + shift);
        total += dst[i];
    }
    return total;
}

/// dst[i] = int16(src[i] - zero_point), i < len; tracks min/max of src.
template <class T>
inline void convert_s16(const T* src, std::size_t len, std::int32_t zero_point, std::int16_t* dst, int& mn,
                        int& mx) noexcept {
    const __m256i vz = _mm256_set1_epi16(static_cast<short>(zero_point));
    __m256i vmin = _mm256_set1_epi16(32767), vmax = _mm256_set1_epi16(-32768);
    std::size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m256i v = std::is_signed_v<T> ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
        vmin = _mm256_min_epi16(vmin, v);
        vmax = _mm256_max_epi16(vmax, v);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(v, vz));
    }
    alignas(32) std::int16_t lo[16], hi[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lo), vmin);
    _mm256_store_si256(reinterpret_cast<__m256i*>(hi), vmax);
    for (int j = 0; j < 16; ++j) {
        mn = lo[j] < mn ? lo[j] : mn;
        mx = hi[j] > mx ? hi[j] : mx;
    }
    for (; i < len; ++i) {
        const int v = src[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        dst[i] = static_cast<std::int16_t>(v - zero_point);
    }
}

/// Adds the per-column correction col[n0..n0+15] and, when row_sums is non-null, subtracts zw[n] * row_sums[r]:
/// the offset algebra of the maddubs path (see gemm_q8.hpp).
inline void correct(tile_4x16& t, const std::int32_t* col, const std::int32_t* zw, const std::int32_t* row_sums) noexcept {
    const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(col));
    const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(col + 8));
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
        t.v[r][0] = _mm256_add_epi32(t.v[r][0], c0);
        t.v[r][1] = _mm256_add_epi32(t.v[r][1], c1);
    }
    if (row_sums) {
        const __m256i z0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(zw));
        const __m256i z1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(zw + 8));
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            const __m256i s = _mm256_set1_epi32(row_sums[r]);
            t.v[r][0] = _mm256_sub_epi32(t.v[r][0], _mm256_mullo_epi32(z0, s));
            t.v[r][1] = _mm256_sub_epi32(t.v[r][1], _mm256_mullo_epi32(z1, s));
        }
    }
}

/// Applies the output stage to the tile (rows m0.., columns n0.. of the result; `rows` x `cols` valid) and stores
/// it. Same formulas, in the same order, as detail::store_scalar (requant results are bit-identical).
template <class Stage>
inline void store_tile(const Stage& s, const zoa::kernels::detail::prepared_columns& p, const tile_4x16& t,
                       std::size_t m0, std::size_t n0, std::size_t rows, std::size_t cols) noexcept {
    using T = std::remove_pointer_t<decltype(s.c)>;
    alignas(32) T tmp[4][16];
    const bool direct = rows == 4 && cols == 16 && s.layout.col_stride == 1;
    [[maybe_unused]] __m256 f00, f01, f10, f11;
    [[maybe_unused]] __m256i i00, i01;
    if constexpr (std::is_same_v<Stage, out_dequant>) {
        f00 = _mm256_load_ps(p.f0.data() + n0);
        f01 = _mm256_load_ps(p.f0.data() + n0 + 8);
        f10 = _mm256_load_ps(p.f1.data() + n0);
        f11 = _mm256_load_ps(p.f1.data() + n0 + 8);
    } else if constexpr (!std::is_same_v<Stage, out_i32>) {
        f00 = _mm256_load_ps(p.f0.data() + n0);
        f01 = _mm256_load_ps(p.f0.data() + n0 + 8);
        i00 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.i0.data() + n0));
        i01 = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.i0.data() + n0 + 8));
    }
    for (std::size_t r = 0; r < rows; ++r) {
        T* dst = direct ? s.c + s.layout.row_offset(m0 + r) + static_cast<std::ptrdiff_t>(n0) : tmp[r];
        if constexpr (std::is_same_v<Stage, out_i32>) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), t.v[r][0]);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), t.v[r][1]);
        } else if constexpr (std::is_same_v<Stage, out_dequant>) {
            _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(t.v[r][0]), f00), f10));
            _mm256_storeu_ps(dst + 8, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(t.v[r][1]), f01), f11));
        } else {
            const __m256 lo = _mm256_set1_ps(p.lo), hi = _mm256_set1_ps(p.hi);
            const __m256i zp = _mm256_set1_epi32(p.zero_point);
            __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(t.v[r][0], i00)), f00);
            __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(t.v[r][1], i01)), f01);
            v0 = _mm256_max_ps(_mm256_min_ps(v0, hi), lo);
            v1 = _mm256_max_ps(_mm256_min_ps(v1, hi), lo);
            const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(v0), zp);  // MXCSR default: round half to even
            const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(v1), zp);
            const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
            const __m128i a = _mm256_castsi256_si128(w16), b = _mm256_extracti128_si256(w16, 1);
            const __m128i bytes = std::is_same_v<T, std::int8_t> ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
        }
    }
    if (!direct)
        for (std::size_t r = 0; r < rows; ++r) {
            T* row = s.c + s.layout.row_offset(m0 + r);
            for (std::size_t c = 0; c < cols; ++c)
                row[static_cast<std::ptrdiff_t>(n0 + c) * s.layout.col_stride] = tmp[r][c];
        }
}

}  // namespace zoa::kernels::x86

#endif  // __AVX2__
