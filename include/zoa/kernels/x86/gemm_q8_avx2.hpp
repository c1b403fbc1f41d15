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
    __m256i v[4][2];  ///< v[row][half]: columns 0–7 and 8–15
};

/// t += u lane by lane (wrapping int32): the sums of two depth slices of one tile.
inline void add_tile(tile_4x16& t, const tile_4x16& u) noexcept {
    for (int r = 0; r < 4; ++r)
        for (int h = 0; h < 2; ++h) t.v[r][h] = _mm256_add_epi32(t.v[r][h], u.v[r][h]);
}

/// The 4 bytes at p (unaligned) broadcast to every int32 lane.
inline __m256i bcast32(const void* p) noexcept {
    std::int32_t x;
    std::memcpy(&x, p, 4);
    return _mm256_set1_epi32(x);
}

/// maddubs path. a: 4 rows of kp unsigned bytes (row stride kp), b: one packed panel (kp*16 int8).
/// acc[r][c] = sum_k a[r][k] * b(k, c), exact when Plan's pair bound holds: each vpmaddubsw lane u0*s0 + u1*s1
/// stays within int16, and the lanes of up to Depth consecutive k quads are summed in int16 (|sum| <=
/// Depth * pair_bound <= 32767) before one vpmaddwd(., 1) per Depth quads widens adjacent lanes into int32.
template <int Depth>
[[gnu::noinline]] inline tile_4x16 kernel_maddubs(const std::uint8_t* a, const std::int8_t* b,
                                                  std::size_t kp) noexcept {
    const __m256i ones = _mm256_set1_epi16(1), zero = _mm256_setzero_si256();
    // Register budget (16 ymm). Depth ≤ 2: one row at a time, its two int16 sums widened into the row's int32 sums
    // before the next row starts (8 int32 sums + 2·Depth B vectors + broadcast + temporaries fit). Deeper: all 8 int16
    // sums are live through the group, so the int32 sums live in an L1 array touched once per Depth quads (the empty
    // asm hides its address so that they stay there); left to choose, GCC 12 kept everything in registers and spilled
    // and copied inside the quad loop. Not inlined, so that this register plan does not depend on the caller's
    // (inlined into gemm_q8_run's ResNet instantiations, the old kernel spilled where the ViT's did not). Measured in
    // docs/performance.md (sixth round): the ResNet-50 convolutions 1.06–1.29× faster at 6 bits, 1.2–2.0× at 4
    // bits.
    if constexpr (Depth <= 2) {
        __m256i c[4][2];
        const std::size_t nq = kp / 4;
        // rows r of quads [q, q + d): c[r] += vpmaddwd(Σ_quads vpmaddubsw(a_r, b), 1)
        auto rows = [&](std::size_t q, auto d_tag) {
            constexpr int d = decltype(d_tag)::value;
            __m256i bv[2 * d];
            for (int j = 0; j < d; ++j) {
                const __m256i* bq = reinterpret_cast<const __m256i*>(b + (q + static_cast<std::size_t>(j)) * 64);
                bv[2 * j] = _mm256_load_si256(bq), bv[2 * j + 1] = _mm256_load_si256(bq + 1);
            }
#pragma GCC unroll 4
            for (int r = 0; r < 4; ++r) {
                const std::uint8_t* ar = a + static_cast<std::size_t>(r) * kp + 4 * q;
                __m256i x = bcast32(ar);
                __m256i s0 = _mm256_maddubs_epi16(x, bv[0]), s1 = _mm256_maddubs_epi16(x, bv[1]);
                if constexpr (d == 2) {
                    x = bcast32(ar + 4);
                    s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(x, bv[2]));
                    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(x, bv[3]));
                }
                const __m256i w0 = _mm256_madd_epi16(s0, ones), w1 = _mm256_madd_epi16(s1, ones);
                c[r][0] = _mm256_add_epi32(c[r][0], w0), c[r][1] = _mm256_add_epi32(c[r][1], w1);
            }
        };
        for (int r = 0; r < 4; ++r) c[r][0] = c[r][1] = zero;
        std::size_t q = 0;
        for (; q + Depth <= nq; q += Depth) rows(q, std::integral_constant<int, Depth>{});
        if (q < nq) rows(q, std::integral_constant<int, 1>{});
        tile_4x16 t;
        for (int r = 0; r < 4; ++r) t.v[r][0] = c[r][0], t.v[r][1] = c[r][1];
        return t;
    } else {
        alignas(32) __m256i c_mem[8] = {zero, zero, zero, zero, zero, zero, zero, zero};
        __m256i* c = c_mem;
        const std::uint8_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
        const std::size_t nq = kp / 4;
        for (std::size_t q0 = 0; q0 < nq; q0 += Depth) {
            const std::size_t q1 = q0 + Depth < nq ? q0 + Depth : nq;
            // the first quad of the group initialises the int16 sums (one vpaddw fewer per group)
            __m256i s00, s01, s10, s11, s20, s21, s30, s31;
            {
                const __m256i* bq = reinterpret_cast<const __m256i*>(b + q0 * 64);
                const __m256i b0 = _mm256_load_si256(bq), b1 = _mm256_load_si256(bq + 1);
                __m256i x = bcast32(a0 + 4 * q0);
                s00 = _mm256_maddubs_epi16(x, b0), s01 = _mm256_maddubs_epi16(x, b1);
                x = bcast32(a1 + 4 * q0);
                s10 = _mm256_maddubs_epi16(x, b0), s11 = _mm256_maddubs_epi16(x, b1);
                x = bcast32(a2 + 4 * q0);
                s20 = _mm256_maddubs_epi16(x, b0), s21 = _mm256_maddubs_epi16(x, b1);
                x = bcast32(a3 + 4 * q0);
                s30 = _mm256_maddubs_epi16(x, b0), s31 = _mm256_maddubs_epi16(x, b1);
            }
#pragma GCC unroll 4
            for (std::size_t q = q0 + 1; q < q1; ++q) {
                const __m256i* bq = reinterpret_cast<const __m256i*>(b + q * 64);
                const __m256i b0 = _mm256_load_si256(bq), b1 = _mm256_load_si256(bq + 1);
                __m256i x = bcast32(a0 + 4 * q);
                s00 = _mm256_add_epi16(s00, _mm256_maddubs_epi16(x, b0));
                s01 = _mm256_add_epi16(s01, _mm256_maddubs_epi16(x, b1));
                x = bcast32(a1 + 4 * q);
                s10 = _mm256_add_epi16(s10, _mm256_maddubs_epi16(x, b0));
                s11 = _mm256_add_epi16(s11, _mm256_maddubs_epi16(x, b1));
                x = bcast32(a2 + 4 * q);
                s20 = _mm256_add_epi16(s20, _mm256_maddubs_epi16(x, b0));
                s21 = _mm256_add_epi16(s21, _mm256_maddubs_epi16(x, b1));
                x = bcast32(a3 + 4 * q);
                s30 = _mm256_add_epi16(s30, _mm256_maddubs_epi16(x, b0));
                s31 = _mm256_add_epi16(s31, _mm256_maddubs_epi16(x, b1));
            }
#if defined(__GNUC__)
            __asm__("" : "+r"(c));
#endif
            c[0] = _mm256_add_epi32(c[0], _mm256_madd_epi16(s00, ones));
            c[1] = _mm256_add_epi32(c[1], _mm256_madd_epi16(s01, ones));
            c[2] = _mm256_add_epi32(c[2], _mm256_madd_epi16(s10, ones));
            c[3] = _mm256_add_epi32(c[3], _mm256_madd_epi16(s11, ones));
            c[4] = _mm256_add_epi32(c[4], _mm256_madd_epi16(s20, ones));
            c[5] = _mm256_add_epi32(c[5], _mm256_madd_epi16(s21, ones));
            c[6] = _mm256_add_epi32(c[6], _mm256_madd_epi16(s30, ones));
            c[7] = _mm256_add_epi32(c[7], _mm256_madd_epi16(s31, ones));
        }
        tile_4x16 t;
        t.v[0][0] = c[0], t.v[0][1] = c[1], t.v[1][0] = c[2], t.v[1][1] = c[3];
        t.v[2][0] = c[4], t.v[2][1] = c[5], t.v[3][0] = c[6], t.v[3][1] = c[7];
        return t;
    }
}

#if defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
/// acc + Σ of 4 adjacent u8·s8 products per int32 lane (AVX-VNNI or AVX512-VNNI+VL vpdpbusd).
inline __m256i dpbusd(__m256i acc, __m256i u8, __m256i s8) noexcept {
#if defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, u8, s8);
#else
    return _mm256_dpbusd_epi32(acc, u8, s8);
#endif
}

/// VNNI path (byte layout). acc[r][c] = sum_k a[r][k] * b(k, c): vpdpbusd adds the four u8 x s8 products of a lane
/// quad to the int32 lane without intermediate saturation, exact for every code range (int32 wraps mod 2^32).
/// Even and odd k quads go to two accumulator sets (16 named registers) to cover vpdpbusd's latency.
inline tile_4x16 kernel_dpbusd(const std::uint8_t* a, const std::int8_t* b, std::size_t kp) noexcept {
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m256i d00 = c00, d01 = c00, d10 = c00, d11 = c00, d20 = c00, d21 = c00, d30 = c00, d31 = c00;
    const std::uint8_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
    const std::size_t nq = kp / 4;
    std::size_t q = 0;
    for (; q + 2 <= nq; q += 2) {
        const __m256i* bq = reinterpret_cast<const __m256i*>(b + q * 64);
        const __m256i b0 = _mm256_load_si256(bq), b1 = _mm256_load_si256(bq + 1);
        const __m256i b2 = _mm256_load_si256(bq + 2), b3 = _mm256_load_si256(bq + 3);
        __m256i x = bcast32(a0 + 4 * q), y = bcast32(a0 + 4 * q + 4);
        c00 = dpbusd(c00, x, b0), c01 = dpbusd(c01, x, b1), d00 = dpbusd(d00, y, b2), d01 = dpbusd(d01, y, b3);
        x = bcast32(a1 + 4 * q), y = bcast32(a1 + 4 * q + 4);
        c10 = dpbusd(c10, x, b0), c11 = dpbusd(c11, x, b1), d10 = dpbusd(d10, y, b2), d11 = dpbusd(d11, y, b3);
        x = bcast32(a2 + 4 * q), y = bcast32(a2 + 4 * q + 4);
        c20 = dpbusd(c20, x, b0), c21 = dpbusd(c21, x, b1), d20 = dpbusd(d20, y, b2), d21 = dpbusd(d21, y, b3);
        x = bcast32(a3 + 4 * q), y = bcast32(a3 + 4 * q + 4);
        c30 = dpbusd(c30, x, b0), c31 = dpbusd(c31, x, b1), d30 = dpbusd(d30, y, b2), d31 = dpbusd(d31, y, b3);
    }
    if (q < nq) {
        const __m256i* bq = reinterpret_cast<const __m256i*>(b + q * 64);
        const __m256i b0 = _mm256_load_si256(bq), b1 = _mm256_load_si256(bq + 1);
        __m256i x = bcast32(a0 + 4 * q);
        c00 = dpbusd(c00, x, b0), c01 = dpbusd(c01, x, b1);
        x = bcast32(a1 + 4 * q);
        c10 = dpbusd(c10, x, b0), c11 = dpbusd(c11, x, b1);
        x = bcast32(a2 + 4 * q);
        c20 = dpbusd(c20, x, b0), c21 = dpbusd(c21, x, b1);
        x = bcast32(a3 + 4 * q);
        c30 = dpbusd(c30, x, b0), c31 = dpbusd(c31, x, b1);
    }
    tile_4x16 t;
    t.v[0][0] = _mm256_add_epi32(c00, d00), t.v[0][1] = _mm256_add_epi32(c01, d01);
    t.v[1][0] = _mm256_add_epi32(c10, d10), t.v[1][1] = _mm256_add_epi32(c11, d11);
    t.v[2][0] = _mm256_add_epi32(c20, d20), t.v[2][1] = _mm256_add_epi32(c21, d21);
    t.v[3][0] = _mm256_add_epi32(c30, d30), t.v[3][1] = _mm256_add_epi32(c31, d31);
    return t;
}

/// Two stacked 4 x 16 VNNI tiles (rows 0-3 from a, rows 4-7 from a + 4*kp): the B vectors of each k quad are
/// loaded once for 8 rows and the 16 accumulators cover vpdpbusd's latency. Same sums as two kernel_dpbusd calls.
inline void kernel_dpbusd_8x16(const std::uint8_t* a, const std::int8_t* b, std::size_t kp, tile_4x16& top,
                               tile_4x16& bottom) noexcept {
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    __m256i c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const std::uint8_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
    const std::uint8_t *a4 = a + 4 * kp, *a5 = a + 5 * kp, *a6 = a + 6 * kp, *a7 = a + 7 * kp;
    const std::size_t nq = kp / 4;
    for (std::size_t q = 0; q < nq; ++q) {
        const __m256i* bq = reinterpret_cast<const __m256i*>(b + q * 64);
        const __m256i b0 = _mm256_load_si256(bq), b1 = _mm256_load_si256(bq + 1);
        const std::size_t o = 4 * q;
        __m256i x = bcast32(a0 + o), y = bcast32(a1 + o);
        c00 = dpbusd(c00, x, b0), c01 = dpbusd(c01, x, b1), c10 = dpbusd(c10, y, b0), c11 = dpbusd(c11, y, b1);
        x = bcast32(a2 + o), y = bcast32(a3 + o);
        c20 = dpbusd(c20, x, b0), c21 = dpbusd(c21, x, b1), c30 = dpbusd(c30, y, b0), c31 = dpbusd(c31, y, b1);
        x = bcast32(a4 + o), y = bcast32(a5 + o);
        c40 = dpbusd(c40, x, b0), c41 = dpbusd(c41, x, b1), c50 = dpbusd(c50, y, b0), c51 = dpbusd(c51, y, b1);
        x = bcast32(a6 + o), y = bcast32(a7 + o);
        c60 = dpbusd(c60, x, b0), c61 = dpbusd(c61, x, b1), c70 = dpbusd(c70, y, b0), c71 = dpbusd(c71, y, b1);
    }
    top.v[0][0] = c00, top.v[0][1] = c01, top.v[1][0] = c10, top.v[1][1] = c11;
    top.v[2][0] = c20, top.v[2][1] = c21, top.v[3][0] = c30, top.v[3][1] = c31;
    bottom.v[0][0] = c40, bottom.v[0][1] = c41, bottom.v[1][0] = c50, bottom.v[1][1] = c51;
    bottom.v[2][0] = c60, bottom.v[2][1] = c61, bottom.v[3][0] = c70, bottom.v[3][1] = c71;
}
#endif

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

/// Running Σ and unsigned bounds of the bytes of one packed A row: vector lanes plus a scalar part (fills, tails).
struct u8_row_stats {
    __m256i sum = _mm256_setzero_si256(), vmin = _mm256_set1_epi8(-1), vmax = _mm256_setzero_si256();
    std::int64_t scalar_sum = 0;
    int scalar_min = 255, scalar_max = 0;

    /// len bytes equal to v (a padding fill segment).
    void add_fill(std::uint8_t v, std::size_t len) noexcept {
        scalar_sum += static_cast<std::int64_t>(len) * v;
        scalar_min = v < scalar_min ? v : scalar_min;
        scalar_max = v > scalar_max ? v : scalar_max;
    }
    /// The row's Σ, and its unsigned minimum / maximum in umin / umax.
    std::int64_t fold(int& umin, int& umax) const noexcept {
        // 32 lanes to 1: min/max over byte halves, then the 16-bit minpos trick
        __m128i mn = _mm_min_epu8(_mm256_castsi256_si128(vmin), _mm256_extracti128_si256(vmin, 1));
        __m128i mx = _mm_max_epu8(_mm256_castsi256_si128(vmax), _mm256_extracti128_si256(vmax, 1));
        mn = _mm_min_epu8(mn, _mm_srli_epi16(mn, 8));
        mx = _mm_max_epu8(mx, _mm_srli_epi16(mx, 8));
        const __m128i lowbytes = _mm_set1_epi16(0x00FF);
        const int vmn = _mm_cvtsi128_si32(_mm_minpos_epu16(_mm_and_si128(mn, lowbytes))) & 0xFFFF;
        const int vmx = 255 - (_mm_cvtsi128_si32(_mm_minpos_epu16(_mm_andnot_si128(mx, lowbytes))) & 0xFFFF);
        umin = vmn < scalar_min ? vmn : scalar_min;
        umax = vmx > scalar_max ? vmx : scalar_max;
        alignas(32) std::int64_t s4[4];
        _mm256_store_si256(reinterpret_cast<__m256i*>(s4), sum);
        return s4[0] + s4[1] + s4[2] + s4[3] + scalar_sum;
    }
};

/// dst[i] = v, i < len: pack_a's padding runs, inline (a call to memset inside the segment loop made GCC keep the
/// row's running sums in memory for the whole loop: the x86-64 calling convention saves no vector register).
inline void fill_u8(std::uint8_t* dst, std::size_t len, std::uint8_t v) noexcept {
    const __m256i vv = _mm256_set1_epi8(static_cast<char>(v));
    std::size_t i = 0;
    for (; i + 32 <= len; i += 32) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), vv);
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    if (i < len) _mm256_mask_storeu_epi8(dst + i, static_cast<__mmask32>((1u << (len - i)) - 1u), vv);  // len − i < 32
#else
    // the < 32-byte tail in 16/8/4/1-byte stores (a byte loop would be turned back into a memset call)
    if (len - i >= 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(vv)), i += 16;
    if (len - i >= 8) _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(vv)), i += 8;
    if (len - i >= 4) {
        const std::int32_t w = _mm256_cvtsi256_si32(vv);
        std::memcpy(dst + i, &w, 4);
        i += 4;
    }
    if (len - i >= 1) dst[i++] = v;
    if (len - i >= 1) dst[i++] = v;
    if (len - i >= 1) dst[i] = v;
#endif
}

/// dst[i] = src[i] + shift (as uint8, wrapping), i < len, with the copied bytes added to st — taken from the
/// registers, not re-read from dst (conv rows are gathered from short runs: reading the packed row back right after
/// its 21-byte stem runs / 3·C runs were stored stalls on store forwarding). The < 32-byte tail is one masked
/// load/store with AVX-512BW (masked-off bytes are neither read nor written), else bytewise.
/// Bounds = false: the unsigned bounds are not tracked (codes of a range that covers every byte cannot be out of it).
template <bool Bounds = true, class T>
inline void copy_shift_u8(const T* src, std::size_t len, std::uint8_t shift, std::uint8_t* dst, u8_row_stats& st) noexcept {
    const __m256i vs = _mm256_set1_epi8(static_cast<char>(shift)), zero = _mm256_setzero_si256();
    // the running lanes in locals whose address is never taken: a store through dst (__m256i may alias anything)
    // would otherwise keep st's fields in memory, a store-to-load chain per 32 bytes
    __m256i sum = st.sum, vmin = st.vmin, vmax = st.vmax;
    std::size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        const __m256i v = _mm256_add_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)), vs);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), v);
        sum = _mm256_add_epi64(sum, _mm256_sad_epu8(v, zero));
        if constexpr (Bounds) {
            vmin = _mm256_min_epu8(vmin, v);
            vmax = _mm256_max_epu8(vmax, v);
        }
    }
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    if (i < len) {
        const __mmask32 m = static_cast<__mmask32>((1u << (len - i)) - 1u);  // len − i < 32
        const __m256i v = _mm256_maskz_mov_epi8(m, _mm256_add_epi8(_mm256_maskz_loadu_epi8(m, src + i), vs));
        _mm256_mask_storeu_epi8(dst + i, m, v);
        sum = _mm256_add_epi64(sum, _mm256_sad_epu8(v, zero));  // masked-off lanes are 0
        if constexpr (Bounds) {
            vmin = _mm256_min_epu8(vmin, _mm256_mask_blend_epi8(m, _mm256_set1_epi8(-1), v));
            vmax = _mm256_max_epu8(vmax, v);
        }
    }
    st.sum = sum, st.vmin = vmin, st.vmax = vmax;
#else
    st.sum = sum, st.vmin = vmin, st.vmax = vmax;
    std::int64_t ssum = st.scalar_sum;
    int smin = st.scalar_min, smax = st.scalar_max;
    for (; i < len; ++i) {
        const int v = static_cast<std::uint8_t>(src[i] + shift);
        dst[i] = static_cast<std::uint8_t>(v);
        ssum += v;
        smin = v < smin ? v : smin;
        smax = v > smax ? v : smax;
    }
    st.scalar_sum = ssum, st.scalar_min = smin, st.scalar_max = smax;
#endif
}

/// dst[i] = int16(src[i] − zero_point), i < len; lowers mn / raises mx to the bounds of src. Runs of ≥ 16 codes take
/// 16-lane steps, the last one overlapping the one before (it rewrites the same values), so there is no element-wise
/// tail; the bounds are reduced once per run with phminposuw (a stem row is 7 runs of 21 codes: a lane-by-lane
/// reduction and tail after each run cost more than the copy). Shorter runs go element by element.
template <class T>
inline void convert_s16(const T* src, std::size_t len, std::int32_t zero_point, std::int16_t* dst, int& mn,
                        int& mx) noexcept {
    if (len < 16) {
        for (std::size_t i = 0; i < len; ++i) {
            const int v = src[i];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            dst[i] = static_cast<std::int16_t>(v - zero_point);
        }
        return;
    }
    const __m256i vz = _mm256_set1_epi16(static_cast<short>(zero_point));
    __m256i vmin = _mm256_set1_epi16(32767), vmax = _mm256_set1_epi16(-32768);
    for (std::size_t i = 0;; i += 16) {
        if (i + 16 > len) i = len - 16;  // the last step overlaps the previous one
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m256i v = std::is_signed_v<T> ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
        vmin = _mm256_min_epi16(vmin, v);
        vmax = _mm256_max_epi16(vmax, v);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(v, vz));
        if (i + 16 == len) break;
    }
    // 16 signed lanes → 1: phminposuw finds the unsigned minimum, so min on v ^ 0x8000 (the order-preserving map to
    // unsigned) and max as ~min(~(v ^ 0x8000)) = min(v ^ 0x7FFF) ^ 0x7FFF
    const __m128i lo = _mm_min_epi16(_mm256_castsi256_si128(vmin), _mm256_extracti128_si256(vmin, 1));
    const __m128i hi = _mm_max_epi16(_mm256_castsi256_si128(vmax), _mm256_extracti128_si256(vmax, 1));
    const int rmin = static_cast<std::int16_t>(
        (_mm_cvtsi128_si32(_mm_minpos_epu16(_mm_xor_si128(lo, _mm_set1_epi16(static_cast<short>(0x8000))))) & 0xFFFF) ^
        0x8000);
    const int rmax = static_cast<std::int16_t>(
        (_mm_cvtsi128_si32(_mm_minpos_epu16(_mm_xor_si128(hi, _mm_set1_epi16(0x7FFF)))) & 0xFFFF) ^ 0x7FFF);
    mn = rmin < mn ? rmin : mn;
    mx = rmax > mx ? rmax : mx;
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

/// 4 rows x 8 int32 columns -> u[j] holds column j (low 128 bits) and column j+4 (high 128 bits), 4 rows each.
inline void transpose_4x8(const __m256i (&r)[4], __m256i (&u)[4]) noexcept {
    const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    u[0] = _mm256_unpacklo_epi64(t0, t2);
    u[1] = _mm256_unpackhi_epi64(t0, t2);
    u[2] = _mm256_unpacklo_epi64(t1, t3);
    u[3] = _mm256_unpackhi_epi64(t1, t3);
}

/// Applies the output stage to the tile (rows m0.., columns n0.. of the result; `rows` x `cols` valid) and stores
/// it. Same formulas, in the same order, as detail::store_scalar (requant results are bit-identical).
/// Layouts: row-major tiles are stored with vector stores; column-major tiles whose 4 rows are adjacent in memory
/// (conv2d's NCHW output: row_stride 1 inside one image) are transposed in registers and stored as 4-element runs;
/// anything else goes through a scalar scatter.
/// True when this translation unit has FMA (-mfma; every AVX2 CPU has it): the vector out_fused epilogue needs it
/// for the BatchNorm step (without it the fused stage runs per element, with std::fma).
inline constexpr bool fma_compiled =
#if defined(__FMA__)
    true;
#else
    false;
#endif

#if defined(__FMA__)
/// out_fused on 8 accumulator lanes (columns n..n+7 of one row whose residual, if any, starts at res_off): the chain
/// of detail::store_scalar, lane by lane the same float operations. Returns the codes as int32 lanes (T integer) or
/// the float bit patterns (T = float).
template <class T, class R>
inline __m256i fused_lanes(const out_fused<T, R>& s, const zoa::kernels::detail::prepared_columns& p, __m256i acc,
                           std::size_t n, std::ptrdiff_t res_off) noexcept {
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_load_ps(p.f0.data() + n));
    if (p.has_bias) t = _mm256_add_ps(t, _mm256_load_ps(p.f1.data() + n));
    t = zoa::detail::fp_barrier(t);
    if (p.has_bn)
        t = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_sub_ps(t, _mm256_load_ps(p.f2.data() + n)), _mm256_load_ps(p.f3.data() + n)),
                            _mm256_load_ps(p.f4.data() + n), _mm256_load_ps(p.f5.data() + n));
    if (s.res_f) {
        t = _mm256_add_ps(t, _mm256_loadu_ps(s.res_f + res_off));
    } else if (s.res_q) {
        const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s.res_q + res_off));
        const __m256i q = std::is_same_v<R, std::int8_t> ? _mm256_cvtepi8_epi32(q8) : _mm256_cvtepu8_epi32(q8);
        __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_set1_epi32(p.res_zero_point))),
                                 _mm256_set1_ps(p.res_scale));
        r = zoa::detail::fp_barrier(r);
        t = _mm256_add_ps(t, r);
    }
    if (s.relu) t = _mm256_max_ps(_mm256_setzero_ps(), t);  // vmaxps(0, t) = (0 > t) ? 0 : t, as the scalar
    if constexpr (std::is_same_v<T, float>) {
        return _mm256_castps_si256(t);
    } else {
        __m256 v = _mm256_mul_ps(t, _mm256_set1_ps(p.inv));
        v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(p.lo)), _mm256_set1_ps(p.hi));
        return _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(p.zero_point));  // MXCSR: half to even
    }
}
#endif

template <class Stage>
inline void store_tile(const Stage& s, const zoa::kernels::detail::prepared_columns& p, const tile_4x16& t,
                       std::size_t m0, std::size_t n0, std::size_t rows, std::size_t cols) noexcept {
    using T = std::remove_pointer_t<decltype(s.c)>;
    if constexpr (is_fused_stage_v<Stage>) {
        // full row-major tiles on vectors (the residual sits at the output's positions), anything else per element
        const out_layout& lay = s.layout;
#if defined(__FMA__)
        if (rows == 4 && cols == 16 && lay.col_stride == 1) {
            for (std::size_t r = 0; r < 4; ++r) {
                const std::ptrdiff_t off = lay.row_offset(m0 + r) + static_cast<std::ptrdiff_t>(n0);
                const __m256i lo = fused_lanes(s, p, t.v[r][0], n0, off), hi = fused_lanes(s, p, t.v[r][1], n0 + 8, off + 8);
                T* dst = s.c + off;
                if constexpr (std::is_same_v<T, float>) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), lo);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), hi);
                } else {
                    const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
                    const __m128i a = _mm256_castsi256_si128(w16), b = _mm256_extracti128_si256(w16, 1);
                    const __m128i bytes = std::is_same_v<T, std::int8_t> ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
                }
            }
            return;
        }
#endif
        alignas(32) std::int32_t acc[4][16];
        for (int r = 0; r < 4; ++r) {
            _mm256_store_si256(reinterpret_cast<__m256i*>(acc[r]), t.v[r][0]);
            _mm256_store_si256(reinterpret_cast<__m256i*>(acc[r] + 8), t.v[r][1]);
        }
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) zoa::kernels::detail::store_scalar(s, p, m0 + r, n0 + c, acc[r][c]);
        return;
    } else {
    // 1. the stage formula on all 64 lanes, as int32 (i32/requant codes) or float bit patterns (dequant)
    __m256i v[2][4];
    if constexpr (std::is_same_v<Stage, out_i32>) {
        for (int r = 0; r < 4; ++r) v[0][r] = t.v[r][0], v[1][r] = t.v[r][1];
    } else if constexpr (std::is_same_v<Stage, out_dequant>) {
        for (int h = 0; h < 2; ++h) {
            const __m256 sc = _mm256_load_ps(p.f0.data() + n0 + 8 * h), bi = _mm256_load_ps(p.f1.data() + n0 + 8 * h);
            for (int r = 0; r < 4; ++r)
                v[h][r] = _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(t.v[r][h]), sc), bi));
        }
    } else {
        const __m256 lo = _mm256_set1_ps(p.lo), hi = _mm256_set1_ps(p.hi);
        const __m256i zp = _mm256_set1_epi32(p.zero_point);
        for (int h = 0; h < 2; ++h) {
            const __m256 mul = _mm256_load_ps(p.f0.data() + n0 + 8 * h);
            const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.i0.data() + n0 + 8 * h));
            for (int r = 0; r < 4; ++r) {
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(t.v[r][h], bias)), mul);
                f = _mm256_max_ps(_mm256_min_ps(f, hi), lo);
                v[h][r] = _mm256_add_epi32(_mm256_cvtps_epi32(f), zp);  // MXCSR default: round half to even
            }
        }
    }
    const out_layout& lay = s.layout;
    // 2a. row-major full tile
    if (rows == 4 && cols == 16 && lay.col_stride == 1) {
        for (std::size_t r = 0; r < 4; ++r) {
            T* dst = s.c + lay.row_offset(m0 + r) + static_cast<std::ptrdiff_t>(n0);
            if constexpr (sizeof(T) == 4) {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v[0][r]);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8), v[1][r]);
            } else {
                const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v[0][r], v[1][r]), 0xD8);
                const __m128i a = _mm256_castsi256_si128(w16), b = _mm256_extracti128_si256(w16, 1);
                const __m128i bytes = std::is_same_v<T, std::int8_t> ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
            }
        }
        return;
    }
    // 2b. column-major: 4 adjacent rows (same group) per column
    const bool same_group =
        lay.group2_rows == 0 && (lay.group_rows == 0 || (m0 % lay.group_rows) + 4 <= lay.group_rows);
    if (rows == 4 && lay.row_stride == 1 && same_group) {
        T* base = s.c + lay.row_offset(m0);
        for (int h = 0; h < 2; ++h) {
            __m256i u[4];
            transpose_4x8(v[h], u);
            for (std::size_t j = 0; j < 8; ++j) {
                const std::size_t col = static_cast<std::size_t>(8 * h) + (j & 3) + (j >= 4 ? 4 : 0);
                if (col >= cols) continue;
                const __m128i q = j < 4 ? _mm256_castsi256_si128(u[j]) : _mm256_extracti128_si256(u[j & 3], 1);
                T* dst = base + static_cast<std::ptrdiff_t>(n0 + col) * lay.col_stride;
                if constexpr (sizeof(T) == 4) {
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), q);
                } else {
                    const __m128i w16 = _mm_packs_epi32(q, q);
                    const __m128i b8 = std::is_same_v<T, std::int8_t> ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16);
                    const std::int32_t four = _mm_cvtsi128_si32(b8);
                    std::memcpy(dst, &four, 4);
                }
            }
        }
        return;
    }
    // 2c. anything else (ragged tiles, tiles across groups): scalar scatter of the computed lanes
    alignas(32) std::int32_t tmp[4][16];
    for (int r = 0; r < 4; ++r) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp[r]), v[0][r]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp[r] + 8), v[1][r]);
    }
    for (std::size_t r = 0; r < rows; ++r) {
        T* row = s.c + lay.row_offset(m0 + r);
        for (std::size_t c = 0; c < cols; ++c) {
            T& dst = row[static_cast<std::ptrdiff_t>(n0 + c) * lay.col_stride];
            if constexpr (std::is_same_v<T, float>) std::memcpy(&dst, &tmp[r][c], 4);
            else dst = static_cast<T>(tmp[r][c]);
        }
    }
    }
}

}  // namespace zoa::kernels::x86

#endif  // __AVX2__
