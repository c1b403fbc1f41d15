// zoa — SSE2 block transposes for the NCHW -> NHWC copy of conv2d (16x16 bytes, 4x4 floats)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>

namespace zoa::kernels::x86 {

/// dst[j*dst_stride + i] = src[i*src_stride + j] for i, j < 16 (bytes). Interleave rounds: bytes of row pairs,
/// words of row quads, dwords of row octets, qwords of both octets; each round halves the rows per register.
inline void transpose_16x16_bytes(const void* src, std::size_t src_stride, void* dst, std::size_t dst_stride) noexcept {
    const auto* s = static_cast<const unsigned char*>(src);
    auto* d = static_cast<unsigned char*>(dst);
    __m128i x[16];
    for (std::size_t i = 0; i < 16; ++i) x[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i * src_stride));
    __m128i a[8], b[8];  // a[i]: columns 0-7 of rows 2i, 2i+1 as words; b[i]: columns 8-15
    for (int i = 0; i < 8; ++i) {
        a[i] = _mm_unpacklo_epi8(x[2 * i], x[2 * i + 1]);
        b[i] = _mm_unpackhi_epi8(x[2 * i], x[2 * i + 1]);
    }
    __m128i q[4][4];  // q[g][p]: column group g (4 columns, dword j = column 4g + j) of row quad p
    for (int p = 0; p < 4; ++p) {
        q[0][p] = _mm_unpacklo_epi16(a[2 * p], a[2 * p + 1]);
        q[1][p] = _mm_unpackhi_epi16(a[2 * p], a[2 * p + 1]);
        q[2][p] = _mm_unpacklo_epi16(b[2 * p], b[2 * p + 1]);
        q[3][p] = _mm_unpackhi_epi16(b[2 * p], b[2 * p + 1]);
    }
    for (int g = 0; g < 4; ++g) {
        __m128i o[2][2];  // o[h][oct]: columns 4g + 2h + {0,1} (qword j) of row octet oct
        for (int oct = 0; oct < 2; ++oct) {
            o[0][oct] = _mm_unpacklo_epi32(q[g][2 * oct], q[g][2 * oct + 1]);
            o[1][oct] = _mm_unpackhi_epi32(q[g][2 * oct], q[g][2 * oct + 1]);
        }
        for (int h = 0; h < 2; ++h) {
            const std::size_t c = static_cast<std::size_t>(4 * g + 2 * h);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d + c * dst_stride), _mm_unpacklo_epi64(o[h][0], o[h][1]));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (c + 1) * dst_stride), _mm_unpackhi_epi64(o[h][0], o[h][1]));
        }
    }
}

/// dst[j*dst_stride + i] = src[i*src_stride + j] for i, j < 4 (floats; strides in floats).
inline void transpose_4x4_floats(const float* src, std::size_t src_stride, float* dst, std::size_t dst_stride) noexcept {
    __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + src_stride), r2 = _mm_loadu_ps(src + 2 * src_stride),
           r3 = _mm_loadu_ps(src + 3 * src_stride);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst, r0);
    _mm_storeu_ps(dst + dst_stride, r1);
    _mm_storeu_ps(dst + 2 * dst_stride, r2);
    _mm_storeu_ps(dst + 3 * dst_stride, r3);
}

}  // namespace zoa::kernels::x86

#endif  // __SSE2__
