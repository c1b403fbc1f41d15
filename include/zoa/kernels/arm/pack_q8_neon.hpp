// zoa — NEON fast paths of packed_q8::pack on AArch64 for the two common source layouts (k-contiguous, n-contiguous)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

namespace zoa::kernels::arm {

/// Running min/max of 16 codes per lane (in T's signedness) for the range check.
template <class T>
struct code_bounds {
    using vec = std::conditional_t<std::is_signed_v<T>, int8x16_t, uint8x16_t>;
    /// Lane-wise running minimum and maximum (start at T's max / min).
    vec lo = std::is_signed_v<T> ? vec(vdupq_n_s8(127)) : vec(vdupq_n_u8(255));
    vec hi = std::is_signed_v<T> ? vec(vdupq_n_s8(-128)) : vec(vdupq_n_u8(0));
    /// Folds 16 codes (their raw bytes) into the bounds.
    void add(uint8x16_t raw) noexcept {
        if constexpr (std::is_signed_v<T>) {
            lo = vminq_s8(lo, vreinterpretq_s8_u8(raw));
            hi = vmaxq_s8(hi, vreinterpretq_s8_u8(raw));
        } else {
            lo = vminq_u8(lo, raw);
            hi = vmaxq_u8(hi, raw);
        }
    }
    /// True when every code seen lies in [mn, mx].
    bool inside(int mn, int mx) const noexcept {
        if constexpr (std::is_signed_v<T>) return vminvq_s8(lo) >= mn && vmaxvq_s8(hi) <= mx;
        else return int(vminvq_u8(lo)) >= mn && int(vmaxvq_u8(hi)) <= mx;
    }
};

/// Byte layout with k groups of G (4 or 8), one column whose k codes are contiguous:
/// dst_col[(k/G)*16G + k%G] = int8(src[k] - off) for k < kfull (a multiple of 16); returns sum_k (src[k] - off).
/// dst_col = panel + c*G.
template <int G, class T>
std::int64_t bytes_column(const T* src, std::size_t kfull, int off, std::int8_t* dst_col, code_bounds<T>& b) noexcept {
    static_assert(G == 4 || G == 8, "zoa: arm::bytes_column: k groups of 4 or 8");
    const uint8x16_t voff = vdupq_n_u8(static_cast<std::uint8_t>(off));
    int32x4_t sum = vdupq_n_s32(0);
    for (std::size_t k0 = 0; k0 < kfull; k0 += 16) {
        const uint8x16_t raw = vld1q_u8(reinterpret_cast<const std::uint8_t*>(src + k0));
        b.add(raw);
        const int8x16_t ws = vreinterpretq_s8_u8(vsubq_u8(raw, voff));  // exact for codes inside the range
        sum = vpadalq_s16(sum, vpaddlq_s8(ws));
        std::int8_t* d = dst_col + (k0 / G) * 16 * G;
        if constexpr (G == 4) {
            const int32x4_t w = vreinterpretq_s32_s8(ws);
            std::int32_t q[4] = {vgetq_lane_s32(w, 0), vgetq_lane_s32(w, 1), vgetq_lane_s32(w, 2), vgetq_lane_s32(w, 3)};
            for (int i = 0; i < 4; ++i) std::memcpy(d + i * 64, &q[i], 4);
        } else {
            const int64x2_t w = vreinterpretq_s64_s8(ws);
            const std::int64_t o[2] = {vgetq_lane_s64(w, 0), vgetq_lane_s64(w, 1)};
            std::memcpy(d, &o[0], 8);
            std::memcpy(d + 128, &o[1], 8);
        }
    }
    return vaddlvq_s32(sum);
}

/// Byte layout with k groups of G (4 or 8), one full panel whose 16 columns are contiguous (W(n,k) =
/// src[n + k*stride_k]): for every k group, G rows of 16 codes are transposed into [c][G k] (16G bytes: ZIP1/ZIP2 on
/// 8-, 16- and, for G = 8, 32-bit elements). kfull is a multiple of G; sums[c] += sum_k (w - off).
template <int G, class T>
void bytes_panel(const T* src, std::ptrdiff_t stride_k, std::size_t kfull, int off, std::int8_t* dst,
                 std::int32_t* sums, code_bounds<T>& b) noexcept {
    static_assert(G == 4 || G == 8, "zoa: arm::bytes_panel: k groups of 4 or 8");
    const uint8x16_t voff = vdupq_n_u8(static_cast<std::uint8_t>(off));
    int16x8_t s16[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};  // columns 0-7, 8-15; flushed before int16 can wrap
    int32x4_t s32[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    std::size_t rows_in_s16 = 0;
    auto flush = [&]() {
        s32[0] = vaddw_s16(s32[0], vget_low_s16(s16[0]));
        s32[1] = vaddw_high_s16(s32[1], s16[0]);
        s32[2] = vaddw_s16(s32[2], vget_low_s16(s16[1]));
        s32[3] = vaddw_high_s16(s32[3], s16[1]);
        s16[0] = s16[1] = vdupq_n_s16(0);
        rows_in_s16 = 0;
    };
    for (std::size_t k0 = 0; k0 < kfull; k0 += G) {
        int8x16_t r[G];
        for (int i = 0; i < G; ++i) {
            const uint8x16_t raw = vld1q_u8(reinterpret_cast<const std::uint8_t*>(
                src + static_cast<std::ptrdiff_t>(k0 + static_cast<std::size_t>(i)) * stride_k));
            b.add(raw);
            r[i] = vreinterpretq_s8_u8(vsubq_u8(raw, voff));
            s16[0] = vaddw_s8(s16[0], vget_low_s8(r[i]));  // |row code| <= 128: 255 rows fit int16
            s16[1] = vaddw_high_s8(s16[1], r[i]);
        }
        rows_in_s16 += G;
        if (rows_in_s16 + G > 255) flush();
        std::int8_t* d = dst + (k0 / G) * 16 * G;
        if constexpr (G == 4) {
            // (k0,k1) and (k2,k3) byte pairs per column, then the pairs' halves -> [c][k0 k1 k2 k3]
            const int8x16_t p01l = vzip1q_s8(r[0], r[1]), p01h = vzip2q_s8(r[0], r[1]);
            const int8x16_t p23l = vzip1q_s8(r[2], r[3]), p23h = vzip2q_s8(r[2], r[3]);
            const int16x8_t a = vreinterpretq_s16_s8(p01l), c = vreinterpretq_s16_s8(p23l);
            const int16x8_t a2 = vreinterpretq_s16_s8(p01h), c2 = vreinterpretq_s16_s8(p23h);
            vst1q_s8(d, vreinterpretq_s8_s16(vzip1q_s16(a, c)));
            vst1q_s8(d + 16, vreinterpretq_s8_s16(vzip2q_s16(a, c)));
            vst1q_s8(d + 32, vreinterpretq_s8_s16(vzip1q_s16(a2, c2)));
            vst1q_s8(d + 48, vreinterpretq_s8_s16(vzip2q_s16(a2, c2)));
        } else {
            // byte pairs (k0,k1), (k2,k3), (k4,k5), (k6,k7); then quads; then octets -> [c][k0..k7]
            int16x8_t p[4][2];
            for (int i = 0; i < 4; ++i) {
                p[i][0] = vreinterpretq_s16_s8(vzip1q_s8(r[2 * i], r[2 * i + 1]));  // columns 0-7
                p[i][1] = vreinterpretq_s16_s8(vzip2q_s8(r[2 * i], r[2 * i + 1]));  // columns 8-15
            }
            for (int h = 0; h < 2; ++h) {
                const int32x4_t q0l = vreinterpretq_s32_s16(vzip1q_s16(p[0][h], p[1][h]));  // columns 8h+0..3, k0-3
                const int32x4_t q0h = vreinterpretq_s32_s16(vzip2q_s16(p[0][h], p[1][h]));  // columns 8h+4..7, k0-3
                const int32x4_t q1l = vreinterpretq_s32_s16(vzip1q_s16(p[2][h], p[3][h]));  // k4-7
                const int32x4_t q1h = vreinterpretq_s32_s16(vzip2q_s16(p[2][h], p[3][h]));
                std::int8_t* dh = d + h * 64;
                vst1q_s8(dh, vreinterpretq_s8_s32(vzip1q_s32(q0l, q1l)));
                vst1q_s8(dh + 16, vreinterpretq_s8_s32(vzip2q_s32(q0l, q1l)));
                vst1q_s8(dh + 32, vreinterpretq_s8_s32(vzip1q_s32(q0h, q1h)));
                vst1q_s8(dh + 48, vreinterpretq_s8_s32(vzip2q_s32(q0h, q1h)));
            }
        }
    }
    flush();
    alignas(16) std::int32_t t[16];
    for (int j = 0; j < 4; ++j) vst1q_s32(t + 4 * j, s32[j]);
    for (int c = 0; c < 16; ++c) sums[c] += t[c];
}

}  // namespace zoa::kernels::arm

#endif  // __aarch64__ && __ARM_NEON
