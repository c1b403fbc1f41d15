// zoa — AVX-512 VNNI microkernel for gemm_q8's byte layout: 8 rows x 16·P columns per call with 512-bit vpdpbusd
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "zoa/kernels/x86/gemm_q8_avx2.hpp"

#if defined(__AVX2__) && defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
#include <immintrin.h>

namespace zoa::kernels::x86 {

/// True when this translation unit has the 512-bit VNNI microkernel (-mavx512f -mavx512vnni -mavx512vl).
inline constexpr bool vnni512_compiled = true;

/// VNNI with 512-bit vectors on the byte layout of packed_q8 (one k quad of a 16-column panel = 64 bytes = one
/// zmm). For P panels b[0..P) and 8 rows of packed A (row stride kp):
///   acc[r][p·16 + c] = Σ_k a[r][k]·b_p(k, c)  (vpdpbusd: four u8 × s8 products per int32 lane, wrapping int32),
/// the same integers as kernel_dpbusd (integer sums are exact, only the instruction width differs).
/// Results: c[r][p] = row r of panel p (16 int32 lanes).
/// Requires: a holds 8 rows of kp bytes (kp a multiple of 4); every panel holds kp·16 bytes.
template <int P>
inline void kernel_vnni512_8x16p_zmm(const std::uint8_t* a, const std::int8_t* const (&b)[P], std::size_t kp,
                                     __m512i (&c)[8][P]) noexcept {
    static_assert(P == 1 || P == 2, "zoa: kernel_vnni512_8x16p: 1 or 2 panels");
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r)
#pragma GCC unroll 2
        for (int p = 0; p < P; ++p) c[r][p] = _mm512_setzero_si512();
    const std::size_t nq = kp / 4;
    for (std::size_t q = 0; q < nq; ++q) {
        __m512i bv[P];
#pragma GCC unroll 2
        for (int p = 0; p < P; ++p) bv[p] = _mm512_loadu_si512(static_cast<const void*>(b[p] + q * 64));
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
            std::int32_t x;
            std::memcpy(&x, a + static_cast<std::size_t>(r) * kp + 4 * q, 4);
            const __m512i xv = _mm512_set1_epi32(x);
#pragma GCC unroll 2
            for (int p = 0; p < P; ++p) c[r][p] = _mm512_dpbusd_epi32(c[r][p], xv, bv[p]);
        }
    }
}

/// kernel_vnni512_8x16p_zmm with the results as the 256-bit tiles store_tile takes.
template <int P>
inline void kernel_vnni512_8x16p(const std::uint8_t* a, const std::int8_t* const (&b)[P], std::size_t kp,
                                 tile_4x16 (&t)[2 * P]) noexcept {
    __m512i c[8][P];
    kernel_vnni512_8x16p_zmm<P>(a, b, kp, c);
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
            // through memory: GCC 12's _mm512_extracti64x4_epi64 trips -Wuninitialized (_mm256_undefined_si256)
            alignas(64) std::int32_t lanes[16];
            _mm512_store_si512(static_cast<void*>(lanes), c[r][p]);
            tile_4x16& d = t[2 * p + r / 4];
            d.v[r % 4][0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
            d.v[r % 4][1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + 8));
        }
}

}  // namespace zoa::kernels::x86

#else

namespace zoa::kernels::x86 {
/// False: this translation unit was not compiled with AVX512-VNNI, so the 512-bit microkernel is absent.
inline constexpr bool vnni512_compiled = false;
}  // namespace zoa::kernels::x86

#endif
