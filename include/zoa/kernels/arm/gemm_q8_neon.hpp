// zoa — AArch64 breakout for gemm_q8: exact SMULL/SMLAL/MUL+SADALP (ARMv8.0), SDOT (+dotprod) and SMMLA (+i8mm)
// microkernels on the signed byte layout, A-row packing and the fused NEON epilogues
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "zoa/kernels/output_stage.hpp"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

namespace zoa::kernels::arm {

/// Register tile of the q8 microkernels: 4 rows x 16 columns of int32 (16 q registers), v[row][j] = columns
/// 4j..4j+3.
struct tile_4x16 {
    int32x4_t v[4][4];  ///< v[row][column quad]
};

/// The 4 bytes at p (any alignment) in every 32-bit lane.
inline int8x16_t dup_quad(const std::int8_t* p) noexcept {
    std::int32_t x;
    std::memcpy(&x, p, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(x));
}

/// ARMv8.0 NEON, two rows (a0, a1: kp signed bytes each) x one 16-column panel b (byte layout in k quads):
///   c_r[j] = columns 4j..4j+3 of sum_k a_r[k] * b(k, c).
/// SMULL/SMLAL multiply a row's k quad (broadcast) by 4 columns x 4 k of b into int16 lanes, one per (column, k % 4).
/// Depth == 1 (8-bit x 8-bit: one product fits int16, two may not): every product goes straight into int32 pairs
/// (SADALP). Depth > 1: Depth quads are accumulated per int16 lane (SMLAL; |sum| <= Depth * product_bound <= 32767,
/// the plan's bound) before SADDLP/ADDP widen them. Exact; the int32 sums wrap mod 2^32 like the x86 kernels'.
template <int Depth>
inline void kernel_smlal_2x16(const std::int8_t* a0, const std::int8_t* a1, const std::int8_t* b, std::size_t nq,
                              int32x4_t (&c0)[4], int32x4_t (&c1)[4]) noexcept {
    if constexpr (Depth == 1) {
        int32x4_t p0[8], p1[8];
        for (int j = 0; j < 8; ++j) p0[j] = p1[j] = vdupq_n_s32(0);
        for (std::size_t q = 0; q < nq; ++q) {
            const int8x16_t x0 = dup_quad(a0 + 4 * q), x1 = dup_quad(a1 + 4 * q);
            const std::int8_t* bq = b + q * 64;
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) {
                const int8x16_t bj = vld1q_s8(bq + 16 * j);
                p0[2 * j] = vpadalq_s16(p0[2 * j], vmull_s8(vget_low_s8(bj), vget_low_s8(x0)));
                p0[2 * j + 1] = vpadalq_s16(p0[2 * j + 1], vmull_high_s8(bj, x0));
                p1[2 * j] = vpadalq_s16(p1[2 * j], vmull_s8(vget_low_s8(bj), vget_low_s8(x1)));
                p1[2 * j + 1] = vpadalq_s16(p1[2 * j + 1], vmull_high_s8(bj, x1));
            }
        }
        // lanes (column, k pair) -> one lane per column
        for (int j = 0; j < 4; ++j) {
            c0[j] = vpaddq_s32(p0[2 * j], p0[2 * j + 1]);
            c1[j] = vpaddq_s32(p1[2 * j], p1[2 * j + 1]);
        }
    } else {
        for (int j = 0; j < 4; ++j) c0[j] = c1[j] = vdupq_n_s32(0);
        for (std::size_t q0 = 0; q0 < nq; q0 += Depth) {
            const std::size_t q1 = q0 + Depth < nq ? q0 + Depth : nq;
            int16x8_t s0[8], s1[8];
            {  // the group's first quad initialises the int16 sums
                const int8x16_t x0 = dup_quad(a0 + 4 * q0), x1 = dup_quad(a1 + 4 * q0);
                const std::int8_t* bq = b + q0 * 64;
#pragma GCC unroll 4
                for (int j = 0; j < 4; ++j) {
                    const int8x16_t bj = vld1q_s8(bq + 16 * j);
                    s0[2 * j] = vmull_s8(vget_low_s8(bj), vget_low_s8(x0));
                    s0[2 * j + 1] = vmull_high_s8(bj, x0);
                    s1[2 * j] = vmull_s8(vget_low_s8(bj), vget_low_s8(x1));
                    s1[2 * j + 1] = vmull_high_s8(bj, x1);
                }
            }
            for (std::size_t q = q0 + 1; q < q1; ++q) {
                const int8x16_t x0 = dup_quad(a0 + 4 * q), x1 = dup_quad(a1 + 4 * q);
                const std::int8_t* bq = b + q * 64;
#pragma GCC unroll 4
                for (int j = 0; j < 4; ++j) {
                    const int8x16_t bj = vld1q_s8(bq + 16 * j);
                    s0[2 * j] = vmlal_s8(s0[2 * j], vget_low_s8(bj), vget_low_s8(x0));
                    s0[2 * j + 1] = vmlal_high_s8(s0[2 * j + 1], bj, x0);
                    s1[2 * j] = vmlal_s8(s1[2 * j], vget_low_s8(bj), vget_low_s8(x1));
                    s1[2 * j + 1] = vmlal_high_s8(s1[2 * j + 1], bj, x1);
                }
            }
            // int16 lanes (column, k % 4) -> int32 (column, k pair) -> one int32 lane per column
            for (int j = 0; j < 4; ++j) {
                c0[j] = vaddq_s32(c0[j], vpaddq_s32(vpaddlq_s16(s0[2 * j]), vpaddlq_s16(s0[2 * j + 1])));
                c1[j] = vaddq_s32(c1[j], vpaddq_s32(vpaddlq_s16(s1[2 * j]), vpaddlq_s16(s1[2 * j + 1])));
            }
        }
    }
}

/// ARMv8.0 NEON for codes whose products fit int8 (|a * w| <= 127, e.g. 4-bit x 4-bit), two rows x one panel:
/// MUL multiplies a row's k quad (broadcast) by 4 columns x 4 k of b into 16 int8 lanes (exact: no product wraps),
/// SADALP adds each (column, k pair) into an int16 lane for Depth quads (|sum| <= Depth * 2 * product_bound <= 32767),
/// then SADALP adds the (column, k half) int16 lanes into the int32 sums. 16 multiply-accumulates per MUL, against 8
/// per SMULL/SMLAL. Exact; the int32 sums wrap mod 2^32 like the other kernels'.
template <int Depth>
inline void kernel_mul8_2x16(const std::int8_t* a0, const std::int8_t* a1, const std::int8_t* b, std::size_t nq,
                             int32x4_t (&c0)[4], int32x4_t (&c1)[4]) noexcept {
    for (int j = 0; j < 4; ++j) c0[j] = c1[j] = vdupq_n_s32(0);
    for (std::size_t q0 = 0; q0 < nq; q0 += Depth) {
        const std::size_t q1 = q0 + Depth < nq ? q0 + Depth : nq;
        int16x8_t s0[4], s1[4];
        for (int j = 0; j < 4; ++j) s0[j] = s1[j] = vdupq_n_s16(0);
        for (std::size_t q = q0; q < q1; ++q) {
            const int8x16_t x0 = dup_quad(a0 + 4 * q), x1 = dup_quad(a1 + 4 * q);
            const std::int8_t* bq = b + q * 64;
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) {
                const int8x16_t bj = vld1q_s8(bq + 16 * j);
                s0[j] = vpadalq_s8(s0[j], vmulq_s8(bj, x0));
                s1[j] = vpadalq_s8(s1[j], vmulq_s8(bj, x1));
            }
        }
        // int16 lanes (column, k pair) -> int32 lanes (column)
        for (int j = 0; j < 4; ++j) {
            c0[j] = vpadalq_s16(c0[j], s0[j]);
            c1[j] = vpadalq_s16(c1[j], s1[j]);
        }
    }
}

/// ARMv8.0 NEON tile: rows 0-1 and rows 2-3 of a (4 rows of kp bytes, row stride kp) against panel b, two passes
/// of kernel_mul8_2x16 (BytesOnly: the products fit int8) or kernel_smlal_2x16.
template <bool BytesOnly, int Depth>
inline tile_4x16 kernel_neon(const std::int8_t* a, const std::int8_t* b, std::size_t kp) noexcept {
    tile_4x16 t;
    const std::size_t nq = kp / 4;
    if constexpr (BytesOnly) {
        kernel_mul8_2x16<Depth>(a, a + kp, b, nq, t.v[0], t.v[1]);
        kernel_mul8_2x16<Depth>(a + 2 * kp, a + 3 * kp, b, nq, t.v[2], t.v[3]);
    } else {
        kernel_smlal_2x16<Depth>(a, a + kp, b, nq, t.v[0], t.v[1]);
        kernel_smlal_2x16<Depth>(a + 2 * kp, a + 3 * kp, b, nq, t.v[2], t.v[3]);
    }
    return t;
}

#if defined(__ARM_FEATURE_DOTPROD)
/// One k quad u of the 4-quad A registers x[r] (16 bytes = k quads q..q+3 of row r) times the quad's 4 B registers.
template <int U>
inline void sdot_step(int32x4_t (&c)[4][4], const int8x16_t (&x)[4], const std::int8_t* bq) noexcept {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
        const int8x16_t bj = vld1q_s8(bq + 16 * j);
        c[0][j] = vdotq_laneq_s32(c[0][j], bj, x[0], U);
        c[1][j] = vdotq_laneq_s32(c[1][j], bj, x[1], U);
        c[2][j] = vdotq_laneq_s32(c[2][j], bj, x[2], U);
        c[3][j] = vdotq_laneq_s32(c[3][j], bj, x[3], U);
    }
}

/// ARMv8.2 dot product: acc[r][c] = sum_k a[r][k] * b(k, c) for 4 rows of kp signed bytes (row stride kp) and one
/// 16-column panel in k quads. SDOT (by element) adds the four s8 x s8 products of a (column, k quad) to the
/// column's int32 lane: 16 multiply-accumulates per instruction, no intermediate rounding: exact for every range.
inline tile_4x16 kernel_sdot(const std::int8_t* a, const std::int8_t* b, std::size_t kp) noexcept {
    tile_4x16 t;
    for (auto& row : t.v)
        for (auto& v : row) v = vdupq_n_s32(0);
    const std::size_t nq = kp / 4;
    std::size_t q = 0;
    for (; q + 4 <= nq; q += 4) {
        const int8x16_t x[4] = {vld1q_s8(a + 4 * q), vld1q_s8(a + kp + 4 * q), vld1q_s8(a + 2 * kp + 4 * q),
                                vld1q_s8(a + 3 * kp + 4 * q)};
        const std::int8_t* bq = b + q * 64;
        sdot_step<0>(t.v, x, bq);
        sdot_step<1>(t.v, x, bq + 64);
        sdot_step<2>(t.v, x, bq + 128);
        sdot_step<3>(t.v, x, bq + 192);
    }
    for (; q < nq; ++q) {
        const int8x16_t x[4] = {dup_quad(a + 4 * q), dup_quad(a + kp + 4 * q), dup_quad(a + 2 * kp + 4 * q),
                                dup_quad(a + 3 * kp + 4 * q)};
        sdot_step<0>(t.v, x, b + q * 64);
    }
    return t;
}
#endif

#if defined(__ARM_FEATURE_MATMUL_INT8)
/// One k octet: the row pairs' A operands p01, p23 (rows 0-1 / 2-3, 8 k each) times the octet's 8 B registers
/// (column pairs). c[pair][j] = [r c2j, r c2j+1, r' c2j, r' c2j+1].
inline void smmla_step(int32x4_t (&c)[2][8], int8x16_t p01, int8x16_t p23, const std::int8_t* bo) noexcept {
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
        const int8x16_t bj = vld1q_s8(bo + 16 * j);
        c[0][j] = vmmlaq_s32(c[0][j], p01, bj);
        c[1][j] = vmmlaq_s32(c[1][j], p23, bj);
    }
}

/// Two rows' 16 bytes (k octets o, o+1) -> the SMMLA operands [r k0..7 | r' k0..7] of each octet.
inline void zip_rows(int8x16_t r, int8x16_t r2, int8x16_t& lo, int8x16_t& hi) noexcept {
    lo = vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(r), vreinterpretq_s64_s8(r2)));
    hi = vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(r), vreinterpretq_s64_s8(r2)));
}

/// ARMv8.6 int8 matrix multiply: acc[r][c] = sum_k a[r][k] * b(k, c) for 4 rows of kp signed bytes (kp a multiple
/// of 8, row stride kp) and one 16-column panel in k octets (column c's 8 k at c*8). SMMLA multiplies a 2 x 8 block
/// of A (a row pair) by an 8 x 2 block of B (a column pair) into 2 x 2 int32 lanes: 32 multiply-accumulates per
/// instruction, no intermediate rounding: exact for every range.
inline tile_4x16 kernel_smmla(const std::int8_t* a, const std::int8_t* b, std::size_t kp) noexcept {
    int32x4_t c[2][8];
    for (auto& pair : c)
        for (auto& v : pair) v = vdupq_n_s32(0);
    const std::int8_t *a0 = a, *a1 = a + kp, *a2 = a + 2 * kp, *a3 = a + 3 * kp;
    const std::size_t no = kp / 8;
    std::size_t o = 0;
    for (; o + 2 <= no; o += 2) {
        int8x16_t p01[2], p23[2];
        zip_rows(vld1q_s8(a0 + 8 * o), vld1q_s8(a1 + 8 * o), p01[0], p01[1]);
        zip_rows(vld1q_s8(a2 + 8 * o), vld1q_s8(a3 + 8 * o), p23[0], p23[1]);
        smmla_step(c, p01[0], p23[0], b + o * 128);
        smmla_step(c, p01[1], p23[1], b + o * 128 + 128);
    }
    if (o < no)
        smmla_step(c, vcombine_s8(vld1_s8(a0 + 8 * o), vld1_s8(a1 + 8 * o)),
                   vcombine_s8(vld1_s8(a2 + 8 * o), vld1_s8(a3 + 8 * o)), b + o * 128);
    tile_4x16 t;
    for (int p = 0; p < 2; ++p)
        for (int j = 0; j < 4; ++j) {
            const int64x2_t lo = vreinterpretq_s64_s32(c[p][2 * j]), hi = vreinterpretq_s64_s32(c[p][2 * j + 1]);
            t.v[2 * p][j] = vreinterpretq_s32_s64(vzip1q_s64(lo, hi));
            t.v[2 * p + 1][j] = vreinterpretq_s32_s64(vzip2q_s64(lo, hi));
        }
    return t;
}
#endif

/// dst[i] = int8(src[i] + shift) (shift = the plan's a_shift: 0, or -a_offset for unsigned codes), i < len; returns
/// sum_i dst[i]; tracks min/max of src (as int). Byte additions wrap, exact for codes inside the range.
template <class T>
inline std::int64_t convert_s8(const T* src, std::size_t len, int shift, std::int8_t* dst, int& mn, int& mx) noexcept {
    const uint8x16_t vs = vdupq_n_u8(static_cast<std::uint8_t>(shift));
    int32x4_t sum = vdupq_n_s32(0);
    std::size_t i = 0;
    if (len >= 16) {
        using vec = std::conditional_t<std::is_signed_v<T>, int8x16_t, uint8x16_t>;
        vec lo, hi;
        if constexpr (std::is_signed_v<T>) lo = vdupq_n_s8(127), hi = vdupq_n_s8(-128);
        else lo = vdupq_n_u8(255), hi = vdupq_n_u8(0);
        for (; i + 16 <= len; i += 16) {
            uint8x16_t u;
            if constexpr (std::is_signed_v<T>) {
                const int8x16_t v = vld1q_s8(reinterpret_cast<const std::int8_t*>(src + i));
                lo = vminq_s8(lo, v), hi = vmaxq_s8(hi, v);
                u = vreinterpretq_u8_s8(v);
            } else {
                u = vld1q_u8(reinterpret_cast<const std::uint8_t*>(src + i));
                lo = vminq_u8(lo, u), hi = vmaxq_u8(hi, u);
            }
            const int8x16_t d = vreinterpretq_s8_u8(vaddq_u8(u, vs));
            vst1q_s8(dst + i, d);
            sum = vpadalq_s16(sum, vpaddlq_s8(d));
        }
        int l, h;
        if constexpr (std::is_signed_v<T>) l = vminvq_s8(lo), h = vmaxvq_s8(hi);
        else l = vminvq_u8(lo), h = vmaxvq_u8(hi);
        mn = l < mn ? l : mn;
        mx = h > mx ? h : mx;
    }
    std::int64_t total = vaddlvq_s32(sum);
    for (; i < len; ++i) {
        const int v = src[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        dst[i] = static_cast<std::int8_t>(static_cast<std::uint8_t>(v + shift));
        total += dst[i];
    }
    return total;
}

/// Adds the per-column correction col[n0..n0+15] and, when row_sums is non-null, subtracts zw[n] * row_sums[r]
/// (wrapping int32): the offset algebra (see gemm_q8.hpp).
inline void correct(tile_4x16& t, const std::int32_t* col, const std::int32_t* zw, const std::int32_t* row_sums) noexcept {
    int32x4_t c[4];
    for (int j = 0; j < 4; ++j) c[j] = vld1q_s32(col + 4 * j);
    for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 4; ++j) t.v[r][j] = vaddq_s32(t.v[r][j], c[j]);
    if (row_sums) {
        int32x4_t z[4];
        for (int j = 0; j < 4; ++j) z[j] = vld1q_s32(zw + 4 * j);
        for (int r = 0; r < 4; ++r)
            for (int j = 0; j < 4; ++j) t.v[r][j] = vmlsq_n_s32(t.v[r][j], z[j], row_sums[r]);
    }
}

/// dst[0..15] = the 16 int32 codes v[0..3] narrowed to T (int8_t / uint8_t) with saturation — exact for codes inside
/// T's range, which the stages' clamps guarantee.
template <class T>
inline void store_codes16(T* dst, const int32x4_t (&v)[4]) noexcept {
    const int16x8_t lo16 = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
    const int16x8_t hi16 = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
    if constexpr (std::is_same_v<T, std::int8_t>)
        vst1q_s8(dst, vcombine_s8(vqmovn_s16(lo16), vqmovn_s16(hi16)));
    else
        vst1q_u8(dst, vcombine_u8(vqmovun_s16(lo16), vqmovun_s16(hi16)));
}

/// Applies the output stage to the tile (rows m0.., columns n0.. of the result; `rows` x `cols` valid) and stores it.
/// Same formulas, in the same order, as detail::store_scalar (requantized codes are bit-identical; FCVTNS rounds half
/// to even like nearbyint). Row-major full tiles: vector stores; column-major tiles whose 4 rows are adjacent
/// (conv2d's NCHW output) are transposed in registers and stored as 4-element runs; anything else: scalar scatter.
template <class Stage>
inline void store_tile_linear(const Stage& s, const zoa::kernels::detail::prepared_columns& p, const tile_4x16& t,
                              std::size_t m0, std::size_t n0, std::size_t rows, std::size_t cols) noexcept {
    using T = std::remove_pointer_t<decltype(s.c)>;
    // 1. the stage formula on all 64 lanes, as int32 (i32/requant codes) or float bit patterns (dequant)
    int32x4_t v[4][4];
    if constexpr (std::is_same_v<Stage, out_i32>) {
        for (int r = 0; r < 4; ++r)
            for (int j = 0; j < 4; ++j) v[r][j] = t.v[r][j];
    } else if constexpr (std::is_same_v<Stage, out_dequant>) {
        for (int j = 0; j < 4; ++j) {
            const float32x4_t sc = vld1q_f32(p.f0.data() + n0 + 4 * j), bi = vld1q_f32(p.f1.data() + n0 + 4 * j);
            for (int r = 0; r < 4; ++r)
                v[r][j] = vreinterpretq_s32_f32(vaddq_f32(vmulq_f32(vcvtq_f32_s32(t.v[r][j]), sc), bi));
        }
    } else {
        const float32x4_t lo = vdupq_n_f32(p.lo), hi = vdupq_n_f32(p.hi);
        const int32x4_t zp = vdupq_n_s32(p.zero_point);
        for (int j = 0; j < 4; ++j) {
            const float32x4_t mul = vld1q_f32(p.f0.data() + n0 + 4 * j);
            const int32x4_t bias = vld1q_s32(p.i0.data() + n0 + 4 * j);
            for (int r = 0; r < 4; ++r) {
                float32x4_t f = vmulq_f32(vcvtq_f32_s32(vaddq_s32(t.v[r][j], bias)), mul);
                f = vmaxq_f32(vminq_f32(f, hi), lo);
                v[r][j] = vaddq_s32(vcvtnq_s32_f32(f), zp);  // round to nearest, ties to even
            }
        }
    }
    const out_layout& lay = s.layout;
    // 2a. row-major full tile
    if (rows == 4 && cols == 16 && lay.col_stride == 1) {
        for (std::size_t r = 0; r < 4; ++r) {
            T* dst = s.c + lay.row_offset(m0 + r) + static_cast<std::ptrdiff_t>(n0);
            if constexpr (sizeof(T) == 4) {
                for (int j = 0; j < 4; ++j) vst1q_s32(reinterpret_cast<std::int32_t*>(dst) + 4 * j, v[r][j]);
            } else {
                store_codes16(dst, v[r]);
            }
        }
        return;
    }
    // 2b. column-major: 4 adjacent rows (same group) per column
    const bool same_group =
        lay.group2_rows == 0 && (lay.group_rows == 0 || (m0 % lay.group_rows) + 4 <= lay.group_rows);
    if (rows == 4 && lay.row_stride == 1 && same_group) {
        T* base = s.c + lay.row_offset(m0);
        for (int j = 0; j < 4; ++j) {
            // 4 rows x 4 columns -> u[c] = column 4j + c, rows 0..3
            const int32x4_t t0 = vtrn1q_s32(v[0][j], v[1][j]), t1 = vtrn2q_s32(v[0][j], v[1][j]);
            const int32x4_t t2 = vtrn1q_s32(v[2][j], v[3][j]), t3 = vtrn2q_s32(v[2][j], v[3][j]);
            int32x4_t u[4];
            u[0] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
            u[1] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
            u[2] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
            u[3] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
            for (std::size_t c = 0; c < 4; ++c) {
                const std::size_t col = 4 * static_cast<std::size_t>(j) + c;
                if (col >= cols) break;
                T* dst = base + static_cast<std::ptrdiff_t>(n0 + col) * lay.col_stride;
                if constexpr (sizeof(T) == 4) {
                    vst1q_s32(reinterpret_cast<std::int32_t*>(dst), u[c]);
                } else {
                    const int16x4_t w16 = vqmovn_s32(u[c]);
                    const int16x8_t w = vcombine_s16(w16, w16);
                    std::int32_t four;
                    if constexpr (std::is_same_v<T, std::int8_t>) four = vget_lane_s32(vreinterpret_s32_s8(vqmovn_s16(w)), 0);
                    else four = vget_lane_s32(vreinterpret_s32_u8(vqmovun_s16(w)), 0);
                    std::memcpy(dst, &four, 4);
                }
            }
        }
        return;
    }
    // 2c. anything else (ragged tiles, tiles across groups): scalar scatter of the computed lanes
    alignas(16) std::int32_t tmp[4][16];
    for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 4; ++j) vst1q_s32(tmp[r] + 4 * j, v[r][j]);
    for (std::size_t r = 0; r < rows; ++r) {
        T* row = s.c + lay.row_offset(m0 + r);
        for (std::size_t c = 0; c < cols; ++c) {
            T& dst = row[static_cast<std::ptrdiff_t>(n0 + c) * lay.col_stride];
            if constexpr (std::is_same_v<T, float>) std::memcpy(&dst, &tmp[r][c], 4);
            else dst = static_cast<T>(tmp[r][c]);
        }
    }
}

/// out_fused (conv -> BatchNorm -> [+ residual] -> [ReLU] -> quantizer) on 4 columns of one row, in NEON registers:
/// detail::fused_tail_scalar's chain operation for operation (its formulas in output_stage.hpp), so every lane is
/// the scalar definition's value bit for bit:
///   t = fl(float(acc)·f0) [+ f1]            rounded on its own (fp_barrier: no FMA contraction into the add)
///   t = fma((t − f2) − f3, f4, f5)          BatchNorm (FMLA: one rounding, as std::fma)
///   t = t + res_f  |  t + fl(float(res_q − z_r)·s_r)
///   t = (0 > t) ? 0 : t                     ReLU as a compare and select (FMAX would turn −0 into +0)
///   code = cvtn(min(max(fl(t·inv), lo), hi)) + z   FMAXNM/FMINNM: a NaN t gives lo as the scalar's comparisons do;
///                                           FCVTNS rounds half to even like nearbyint
/// Returns the float t (T = float) or the int32 codes.
template <class T, class R>
struct fused_quad {
    float32x4_t f0, f1, f2, f3, f4, f5;

    fused_quad(const zoa::kernels::detail::prepared_columns& p, std::size_t c) noexcept
        : f0(vld1q_f32(p.f0.data() + c)), f1(vld1q_f32(p.f1.data() + c)), f2(vld1q_f32(p.f2.data() + c)),
          f3(vld1q_f32(p.f3.data() + c)), f4(vld1q_f32(p.f4.data() + c)), f5(vld1q_f32(p.f5.data() + c)) {}

    /// A tile's scalars, read once (GCC reloaded the residual's inside the per-quad branch): the stage's switches and
    /// pointers, the residual decoding and the output quantizer as vectors.
    struct tile_constants {
        bool bias, bn, mres, relu;
        const float* res_f;
        const R* res_q;
        int32x4_t rz, zp;
        float32x4_t rs, inv, lo, hi;
        tile_constants(const out_fused<T, R>& s, const zoa::kernels::detail::prepared_columns& p) noexcept
            : bias(p.has_bias), bn(p.has_bn), mres(s.bn_mean_residual != nullptr), relu(s.relu), res_f(s.res_f),
              res_q(s.res_q), rz(vdupq_n_s32(p.res_zero_point)), zp(vdupq_n_s32(p.zero_point)),
              rs(vdupq_n_f32(p.res_scale)), inv(vdupq_n_f32(p.inv)), lo(vdupq_n_f32(p.lo)), hi(vdupq_n_f32(p.hi)) {}
    };

    /// Relu and Res (0: no residual, 1: float residual, 2: code residual) are the tile's k.relu / k.res_f / k.res_q,
    /// fixed per tile so that the quads do not branch on them.
    template <bool Relu, int Res>
    float32x4_t value(const tile_constants& k, int32x4_t acc, std::ptrdiff_t off) const noexcept {
        float32x4_t t = zoa::detail::fp_barrier(vmulq_f32(vcvtq_f32_s32(acc), f0));
        if (k.bias) t = vaddq_f32(t, f1);
        t = zoa::detail::fp_barrier(t);
        if (k.bn) {
            t = vsubq_f32(t, f2);
            if (k.mres) t = vsubq_f32(t, f3);  // without a mean residual f3 = +0 and t − (+0) = t, −0 and NaN included
            t = vfmaq_f32(f5, t, f4);
        }
        if constexpr (Res == 1) {
            t = vaddq_f32(t, vld1q_f32(k.res_f + off));
        } else if constexpr (Res == 2) {
            std::uint32_t four;
            std::memcpy(&four, k.res_q + off, 4);
            const uint8x8_t b = vreinterpret_u8_u32(vdup_n_u32(four));
            int32x4_t q;
            if constexpr (std::is_same_v<R, std::int8_t>)
                q = vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u8(b))));
            else
                q = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(b))));
            const float32x4_t r = vmulq_f32(vcvtq_f32_s32(vsubq_s32(q, k.rz)), k.rs);
            t = vaddq_f32(t, zoa::detail::fp_barrier(r));
        }
        if constexpr (Relu) {
            const float32x4_t zero = vdupq_n_f32(0.0f);
            t = vbslq_f32(vcgtq_f32(zero, t), zero, t);
        }
        return t;
    }

    static int32x4_t codes(float32x4_t t, const tile_constants& k) noexcept {
        const float32x4_t v = vminnmq_f32(vmaxnmq_f32(vmulq_f32(t, k.inv), k.lo), k.hi);
        return vaddq_s32(vcvtnq_s32_f32(v), k.zp);
    }
};

/// out_fused: full row-major tiles (4 × 16, col_stride 1: the ResNet's NHWC convolutions) through fused_quad and one
/// 16-byte store per row; other tiles (ragged edges, strided destinations) element by element through
/// detail::store_scalar, the same bits.
template <class T, class R>
inline void store_tile_fused(const out_fused<T, R>& s, const zoa::kernels::detail::prepared_columns& p,
                             const tile_4x16& t, std::size_t m0, std::size_t n0, std::size_t rows,
                             std::size_t cols) noexcept {
    const out_layout& lay = s.layout;
    if (rows == 4 && cols == 16 && lay.col_stride == 1) {
        std::ptrdiff_t off[4];
        lay.row_offsets(m0, 4, off);
        for (std::ptrdiff_t& o : off) o += static_cast<std::ptrdiff_t>(n0);
        const typename fused_quad<T, R>::tile_constants k(s, p);
        const auto quads = [&](auto relu, auto res) {
            int32x4_t q[4][4];
            for (int j = 0; j < 4; ++j) {
                const fused_quad<T, R> fq(p, n0 + 4 * static_cast<std::size_t>(j));
                for (int r = 0; r < 4; ++r) {
                    const float32x4_t v =
                        fq.template value<decltype(relu)::value, decltype(res)::value>(k, t.v[r][j], off[r] + 4 * j);
                    if constexpr (std::is_same_v<T, float>) vst1q_f32(s.c + off[r] + 4 * j, v);
                    else q[r][j] = fused_quad<T, R>::codes(v, k);
                }
            }
            if constexpr (!std::is_same_v<T, float>)
                for (int r = 0; r < 4; ++r) store_codes16(s.c + off[r], q[r]);
        };
        const auto with_residual = [&](auto relu) {
            if (k.res_f) quads(relu, std::integral_constant<int, 1>{});
            else if (k.res_q) quads(relu, std::integral_constant<int, 2>{});
            else quads(relu, std::integral_constant<int, 0>{});
        };
        if (k.relu) with_residual(std::true_type{});
        else with_residual(std::false_type{});
        return;
    }
    alignas(16) std::int32_t acc[4][16];
    for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 4; ++j) vst1q_s32(acc[r] + 4 * j, t.v[r][j]);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) zoa::kernels::detail::store_scalar(s, p, m0 + r, n0 + c, acc[r][c]);
}

/// store_tile_linear for out_i32 / out_dequant / out_requant, store_tile_fused for out_fused.
template <class Stage>
inline void store_tile(const Stage& s, const zoa::kernels::detail::prepared_columns& p, const tile_4x16& t,
                       std::size_t m0, std::size_t n0, std::size_t rows, std::size_t cols) noexcept {
    if constexpr (is_fused_stage_v<Stage>) store_tile_fused(s, p, t, m0, n0, rows, cols);
    else store_tile_linear(s, p, t, m0, n0, rows, cols);
}

}  // namespace zoa::kernels::arm

#endif  // __aarch64__ && __ARM_NEON
