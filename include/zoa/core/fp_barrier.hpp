// zoa — fp_barrier: a value the compiler must round to its type before using it (no FMA contraction across it)
// SPDX-License-Identifier: MIT
#pragma once

namespace zoa::detail {

/// Returns v unchanged but forces it to be rounded to its type first, so the compiler can no longer fuse the product
/// that produced v into a following add or subtract. Why it matters: GNU C++ contracts x·y + z into one FMA whenever
/// the target has FMA (-ffp-contract=fast, its default), but not always — tuned for AMD Zen 2 or 3 (-mtune=znver2 /
/// znver3, which GCC 12's -march=native picks on Zen 2, 3 and 4) it deliberately leaves FMA chains of ≤ 256-bit
/// vectors and scalars unfused (--param avoid-fma-max-bits=256; znver1: scalar chains only), and clang contracts only
/// within one expression. Two kernels computing the same
/// formula would then round differently. Every kernel whose results must equal another's bit for bit (NCHW and NHWC
/// statistics, the simulated and the integer ResNet) writes each product either through this barrier (two roundings)
/// or as an explicit fused instruction (kernels::detail::fma_once, one rounding). T: float, double, or a SIMD register
/// type (__m128/__m256/__m512 on x86, float32x4_t on AArch64).
template <class T>
inline T fp_barrier(T v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE_MATH__)
    __asm__("" : "+v"(v));  // any SSE/AVX register, xmm16–31 included with AVX-512
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(v));
#elif defined(__GNUC__)
    __asm__("" : "+m"(v));
#else
    volatile T t = v;
    v = t;
#endif
    return v;
}

}  // namespace zoa::detail
