// zoa — AArch64 dot-product kernels of gram_q8: 4-row interleaving of byte rows and the Gram tiles of one chunk (UDOT)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

namespace zoa::kernels::arm {

/// True when this translation unit has the UDOT Gram kernel (+dotprod).
inline constexpr bool gram_udot_compiled = true;

/// Interleaves 4 rows of k bytes (k a multiple of 16) into k quads: q[4·j + i] = row_i[j] (ST4 of four rows).
inline void interleave4_rows(const std::uint8_t* r0, const std::uint8_t* r1, const std::uint8_t* r2,
                             const std::uint8_t* r3, std::size_t k, std::uint8_t* q) noexcept {
    for (std::size_t j = 0; j < k; j += 16) {
        uint8x16x4_t v;
        v.val[0] = vld1q_u8(r0 + j);
        v.val[1] = vld1q_u8(r1 + j);
        v.val[2] = vld1q_u8(r2 + j);
        v.val[3] = vld1q_u8(r3 + j);
        vst4q_u8(q + 4 * j, v);
    }
}

/// The Gram tiles of one chunk of `groups` interleaved row quads (q[g·4k + 4·j + i] = a[4g + i][j], k a multiple of
/// 16), added to the int64 sums:
///   p[r·k + l] += Σ_m a[m][r]·a[m][l]   for the 4 × 16 tiles on or above the diagonal (l0 + 16 > r0),
///   t[l]       += Σ_m a[m][l]            (with the tiles of r0 = 0),
/// UDOT (by element) adding four u8 × u8 products per uint32 lane (exact: a chunk of ≤ 16384 rows keeps lanes below
/// 2^32).
inline void gram_chunk_udot(const std::uint8_t* q, std::size_t groups, std::size_t k, std::int64_t* p,
                            std::int64_t* t) noexcept {
    const std::size_t gs = 4 * k;
    const uint8x16_t ones = vdupq_n_u8(1);
    auto add64 = [](std::int64_t* dst, uint32x4_t v) noexcept {  // dst[0..4) += the 4 uint32 lanes of v
        std::uint32_t lanes[4];
        vst1q_u32(lanes, v);
        for (int i = 0; i < 4; ++i) dst[i] += lanes[i];
    };
    for (std::size_t r0 = 0; r0 < k; r0 += 4) {
        for (std::size_t l0 = 0; l0 < k; l0 += 16) {
            if (l0 + 16 <= r0) continue;  // below the diagonal: the caller mirrors
            uint32x4_t acc[4][4], ts[4];
            for (auto& row : acc)
                for (auto& v : row) v = vdupq_n_u32(0);
            for (auto& v : ts) v = vdupq_n_u32(0);
            const std::uint8_t* g = q;
            for (std::size_t i = 0; i < groups; ++i, g += gs) {
                const uint8x16_t x = vld1q_u8(g + 4 * r0);  // the quads of rows r0 .. r0 + 3
                const uint8x16_t b[4] = {vld1q_u8(g + 4 * l0), vld1q_u8(g + 4 * l0 + 16), vld1q_u8(g + 4 * l0 + 32),
                                         vld1q_u8(g + 4 * l0 + 48)};
#pragma GCC unroll 4
                for (int j = 0; j < 4; ++j) {
                    acc[0][j] = vdotq_laneq_u32(acc[0][j], b[j], x, 0);
                    acc[1][j] = vdotq_laneq_u32(acc[1][j], b[j], x, 1);
                    acc[2][j] = vdotq_laneq_u32(acc[2][j], b[j], x, 2);
                    acc[3][j] = vdotq_laneq_u32(acc[3][j], b[j], x, 3);
                }
                if (r0 == 0)
                    for (int j = 0; j < 4; ++j) ts[j] = vdotq_u32(ts[j], b[j], ones);
            }
            for (std::size_t r = 0; r < 4; ++r)
                for (std::size_t j = 0; j < 4; ++j) add64(p + (r0 + r) * k + l0 + 4 * j, acc[r][j]);
            if (r0 == 0)
                for (std::size_t j = 0; j < 4; ++j) add64(t + l0 + 4 * j, ts[j]);
        }
    }
}

}  // namespace zoa::kernels::arm

#else

namespace zoa::kernels::arm {
/// False: no UDOT Gram kernel in this translation unit.
inline constexpr bool gram_udot_compiled = false;
}  // namespace zoa::kernels::arm

#endif
