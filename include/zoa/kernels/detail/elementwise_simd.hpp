// zoa — SIMD building blocks of the element-wise/reduction kernels: shifted block sums, moments, block partition
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/fp_barrier.hpp"
#include "zoa/kernels/detail/avx512_warnings.hpp"


namespace zoa::kernels::detail {

/// Number of vectors summed in float lanes before the partial sum is flushed into a double accumulator. It bounds
/// the float rounding error of any sum to that of a 64-term sum per lane (worst case 64·2^-24 relative), whatever n.
inline constexpr std::size_t flush_vectors = 64;

/// Elements per task of the element-wise kernels: a multiple of every vector width, so which elements take the SIMD
/// body and which the scalar tail depends only on n, never on the thread count.
inline constexpr std::size_t elementwise_block = 16384;

/// a / b lane by lane, one IEEE division each (round to nearest even). xsimd 8.1 divides float batches on neon64 with
/// its ARMv7 kernel, a reciprocal estimate refined by two Newton steps, which can be an ulp off (and moves values
/// across rounding ties: quantization codes change); zoa's kernels divide through this helper (FDIV on AArch64).
template <class Arch>
xsimd::batch<float, Arch> divide(const xsimd::batch<float, Arch>& a, const xsimd::batch<float, Arch>& b) noexcept {
#if XSIMD_WITH_NEON64
    if constexpr (arch_at_least_v<Arch, xsimd::neon64>) return vdivq_f32(a, b);
#endif
    return a / b;
}

/// True when xsimd's fma is one fused instruction for Arch (FMA3 tags, NEON vfmaq).
template <class Arch>
inline constexpr bool xsimd_fma_fused_v =
#if XSIMD_WITH_FMA3_SSE
    arch_at_least_v<Arch, xsimd::fma3<xsimd::sse4_2>> ||
#endif
#if XSIMD_WITH_FMA3_AVX
    arch_at_least_v<Arch, xsimd::fma3<xsimd::avx>> ||
#endif
#if XSIMD_WITH_FMA3_AVX2
    arch_at_least_v<Arch, xsimd::fma3<xsimd::avx2>> ||
#endif
#if XSIMD_WITH_NEON
    arch_at_least_v<Arch, xsimd::neon> ||
#endif
    false;

/// x·y + z rounded once (= std::fma lane by lane) on every ISA: vfmadd for AVX-512 (xsimd 8.1 has no AVX-512 fma:
/// its generic x·y + z is fused or not depending on the optimization level), xsimd's fma where it is one fused
/// instruction, std::fma per lane where the ISA has no FMA (plain SSE2 builds).
template <class Arch>
xsimd::batch<float, Arch> fma_once(const xsimd::batch<float, Arch>& x, const xsimd::batch<float, Arch>& y,
                                   const xsimd::batch<float, Arch>& z) noexcept {
    using batch = xsimd::batch<float, Arch>;
#if XSIMD_WITH_AVX512F
    if constexpr (arch_at_least_v<Arch, xsimd::avx512f>) return batch(_mm512_fmadd_ps(x, y, z));
#endif
    if constexpr (xsimd_fma_fused_v<Arch>) {
        return xsimd::fma(x, y, z);
    } else {
        alignas(64) float a[batch::size], b[batch::size], c[batch::size];
        x.store_aligned(a);
        y.store_aligned(b);
        z.store_aligned(c);
        for (std::size_t l = 0; l < batch::size; ++l) a[l] = std::fma(a[l], b[l], c[l]);
        return batch::load_aligned(a);
    }
}

/// x·y + z where Arch has a fused multiply-add instruction (AVX-512, FMA3, NEON): one rounding (fma_once); elsewhere
/// (SSE2, AVX) fl(x·y) through zoa::detail::fp_barrier, then the add: two roundings. For a given Arch this is one
/// formula whatever the compiler's contraction choices (core/fp_barrier.hpp: GCC's Zen tuning leaves FMA chains of
/// ≤ 256-bit vectors unfused, Intel tuning fuses them), so two kernels accumulating the same products in the same
/// order agree bit for bit (the NCHW and NHWC statistics).
template <class Arch>
xsimd::batch<float, Arch> mul_add(const xsimd::batch<float, Arch>& x, const xsimd::batch<float, Arch>& y,
                                  const xsimd::batch<float, Arch>& z) noexcept {
    using batch = xsimd::batch<float, Arch>;
    if constexpr (arch_at_least_v<Arch, xsimd::avx512f> || xsimd_fma_fused_v<Arch>) {
        return fma_once<Arch>(x, y, z);
    } else {
        return batch(zoa::detail::fp_barrier(static_cast<typename batch::register_type>(x * y))) + z;
    }
}

/// x·y + z in double for the scalar tails of the statistics: one rounding where the target has FMA (std::fma is then
/// one instruction), else the product rounded on its own (no software fma) — as mul_add, one formula per build.
inline double mul_add(double x, double y, double z) noexcept {
#if defined(__FMA__) || defined(__aarch64__)
    return std::fma(x, y, z);
#else
    return zoa::detail::fp_barrier(x * y) + z;
#endif
}

/// s1 = Σ_i (x[i] − c) over n contiguous floats. Differences and lane sums in float, flushed to double every
/// flush_vectors vectors; scalar tail (n mod width) adds fl(x[i] − c) in double.
template <class Arch>
double sum_shifted(const float* x, std::size_t n, float c) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const batch vc(c);
    const std::size_t nv = n - n % w;
    double total = 0.0;
    std::size_t i = 0;
    while (i < nv) {
        const std::size_t end = std::min(nv, i + flush_vectors * w);
        batch acc(0.0f);
        for (; i < end; i += w) acc += batch::load_unaligned(x + i) - vc;
        total += static_cast<double>(xsimd::hadd(acc));
    }
    for (; i < n; ++i) total += static_cast<double>(x[i] - c);
    return total;
}

/// s1 += Σ_i d_i and s2 += Σ_i d_i² with d_i = fl(x[i] − c), over n contiguous floats (same blocking as
/// sum_shifted; the scalar tail squares d_i in double). Each square is added by mul_add (fused where Arch has FMA).
template <class Arch>
void sums_shifted(const float* x, std::size_t n, float c, double& s1, double& s2) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const batch vc(c);
    const std::size_t nv = n - n % w;
    std::size_t i = 0;
    while (i < nv) {
        const std::size_t end = std::min(nv, i + flush_vectors * w);
        batch a1(0.0f), a2(0.0f);
        for (; i < end; i += w) {
            const batch d = batch::load_unaligned(x + i) - vc;
            a1 += d;
            a2 = mul_add(d, d, a2);
        }
        s1 += static_cast<double>(xsimd::hadd(a1));
        s2 += static_cast<double>(xsimd::hadd(a2));
    }
    for (; i < n; ++i) {
        const double d = static_cast<double>(x[i] - c);
        s1 += d;
        s2 = mul_add(d, d, s2);
    }
}

/// Mean and centred sum of squares of a set of equal-length contiguous segments.
struct moments {
    double mean = 0;   ///< μ
    double m2 = 0;     ///< Σ (x − μ)², clamped at 0
    float center = 0;  ///< c = fl(μ)
    float residual = 0;  ///< r = fl(μ − c); x − μ is evaluated as fl(fl(x − c) − r), accurate relative to the spread
};

/// Two-pass shifted moments of the nseg segments seg(0..nseg-1), each of len floats (nseg·len ≥ 1):
///   pass 1: μ = c₀ + (Σ (x − c₀)) / n with c₀ = seg(0)[0] (shifting by a data value keeps the sum of deviations
///           accurate even when |μ| ≫ σ);
///   pass 2: with c = fl(μ): s1 = Σ (x − c), s2 = Σ (x − c)²;  m2 = max(0, s2 − s1²/n)  (corrected two-pass).
/// NaN or ±Inf anywhere make μ and m2 NaN (or Inf). Float lanes overflow when |x − μ| ≳ 1.8e19.
template <class Arch, class SegFn>
moments segment_moments(SegFn&& seg, std::size_t nseg, std::size_t len) noexcept {
    const double count = static_cast<double>(nseg) * static_cast<double>(len);
    const float c0 = seg(std::size_t{0})[0];
    double s = 0.0;
    for (std::size_t k = 0; k < nseg; ++k) s += sum_shifted<Arch>(seg(k), len, c0);
    moments m;
    m.mean = static_cast<double>(c0) + s / count;
    m.center = static_cast<float>(m.mean);
    m.residual = static_cast<float>(m.mean - static_cast<double>(m.center));
    double s1 = 0.0, s2 = 0.0;
    for (std::size_t k = 0; k < nseg; ++k) sums_shifted<Arch>(seg(k), len, m.center, s1, s2);
    const double m2 = s2 - s1 * s1 / count;
    m.m2 = m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);  // keep NaN, clamp rounding below 0
    return m;
}

/// Calls fn(begin, end) on ctx over [0, n) cut at multiples of `block` (a multiple of every vector width).
template <class Fn>
void parallel_blocks(execution_context& ctx, std::size_t n, std::size_t block, Fn&& fn) {
    const std::size_t nb = (n + block - 1) / block;
    ctx.parallel_for(nb, [&](std::size_t b, std::size_t e) { fn(b * block, std::min(n, e * block)); });
}

}  // namespace zoa::kernels::detail
