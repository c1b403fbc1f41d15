// zoa — AArch64 fp32 GEMM microkernel: 8 rows x 8 columns of NEON FMA (FMLA by element) per k step
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

namespace zoa::kernels::arm {

/// True when this translation unit has the NEON fp32 microkernel (AArch64).
inline constexpr bool f32_kernel_compiled = true;

/// One k step: c[r][v] = fma(x[r][U], bk[4v..4v+3], c[r][v]) for the 8 rows (lane U of the rows' A vectors).
template <int U>
inline void fma_step(float32x4_t (&c)[8][2], const float32x4_t (&x)[8], const float* bk) noexcept {
    const float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
        c[r][0] = vfmaq_laneq_f32(c[r][0], b0, x[r], U);
        c[r][1] = vfmaq_laneq_f32(c[r][1], b1, x[r], U);
    }
}

/// acc[r][v] (+)= sum_k a_r[k] * panel[k*8 + 4v + lane] for r < 8, k < kc: one chain of fused multiply-adds per
/// element in k order, acc = fma(a_r[k], b(k, c), acc) (FMLA by element: the a_r[k] of four consecutive k come from
/// one 128-bit load of row r). With init, the chains continue from init[r*8 + c] (a K-blocked product is the same
/// chain as an unblocked one). The same roundings, in the same order, as the xsimd kernel (kernel_f32 with 4-lane
/// FMA), so both give identical floats; this one needs 10 loads per 64 FMAs instead of 8 per 12.
/// Registers: 16 accumulators, 8 A vectors, 2 B vectors.
inline void kernel_f32_8x8(const float* const* a, const float* b, std::size_t kc, const float* init,
                           float32x4_t (&acc)[8][2]) noexcept {
    float32x4_t c[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
        c[r][0] = init ? vld1q_f32(init + 8 * r) : vdupq_n_f32(0.0f);
        c[r][1] = init ? vld1q_f32(init + 8 * r + 4) : vdupq_n_f32(0.0f);
    }
    std::size_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        float32x4_t x[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) x[r] = vld1q_f32(a[r] + k);
        const float* bk = b + k * 8;
        fma_step<0>(c, x, bk);
        fma_step<1>(c, x, bk + 8);
        fma_step<2>(c, x, bk + 16);
        fma_step<3>(c, x, bk + 24);
    }
    for (; k < kc; ++k) {
        const float32x4_t b0 = vld1q_f32(b + k * 8), b1 = vld1q_f32(b + k * 8 + 4);
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
            const float32x4_t x = vdupq_n_f32(a[r][k]);
            c[r][0] = vfmaq_f32(c[r][0], b0, x);
            c[r][1] = vfmaq_f32(c[r][1], b1, x);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) acc[r][0] = c[r][0], acc[r][1] = c[r][1];
}

}  // namespace zoa::kernels::arm

#else

namespace zoa::kernels::arm {
/// False: not an AArch64 translation unit (no NEON fp32 microkernel).
inline constexpr bool f32_kernel_compiled = false;
}  // namespace zoa::kernels::arm

#endif
