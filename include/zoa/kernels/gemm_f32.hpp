// zoa — fp32 GEMM C = A x W^T + bias with xsimd FMA: packed weight panels, MR x 2-vector register tiles, threads
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/arm/gemm_f32_neon.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/kernels/pack_f32.hpp"

namespace zoa::kernels {
namespace detail {

/// True when gemm_f32<Arch> runs the AArch64 NEON microkernel (arm::kernel_f32_8x8) instead of kernel_f32.
template <class Arch>
inline constexpr bool f32_uses_neon_v = arm::f32_kernel_compiled && std::is_same_v<Arch, xsimd::neon64>;

/// Rows per register tile: 6 rows x 2 vectors = 12 accumulators (16 vector registers on SSE2/AVX2); 8 rows on
/// AArch64 (16 accumulators + 8 A vectors of 32 registers).
template <class Arch>
inline constexpr std::size_t f32_mr = f32_uses_neon_v<Arch> ? 8 : 6;

/// acc[r][v] (+)= sum_k a_r[k] * panel[k*nr + v*L + lane] for k < kc, as a chain of fused multiply-adds in k order
/// (xsimd::fma: one rounding per step with FMA hardware, mul+add without). With init, the chain continues from
/// init[r][v] (a K-blocked product is therefore the same chain as an unblocked one).
template <class Arch>
void kernel_f32(const float* const* a, const float* b, std::size_t kc, const float* init,
                xsimd::batch<float, Arch> (&acc)[6][2]) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t L = batch::size, nr = 2 * L;
    batch c00(0.0f), c01(0.0f), c10(0.0f), c11(0.0f), c20(0.0f), c21(0.0f), c30(0.0f), c31(0.0f), c40(0.0f),
        c41(0.0f), c50(0.0f), c51(0.0f);
    if (init) {
        c00 = batch::load_aligned(init), c01 = batch::load_aligned(init + L);
        c10 = batch::load_aligned(init + nr), c11 = batch::load_aligned(init + nr + L);
        c20 = batch::load_aligned(init + 2 * nr), c21 = batch::load_aligned(init + 2 * nr + L);
        c30 = batch::load_aligned(init + 3 * nr), c31 = batch::load_aligned(init + 3 * nr + L);
        c40 = batch::load_aligned(init + 4 * nr), c41 = batch::load_aligned(init + 4 * nr + L);
        c50 = batch::load_aligned(init + 5 * nr), c51 = batch::load_aligned(init + 5 * nr + L);
    }
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    for (std::size_t kk = 0; kk < kc; ++kk) {
        const batch b0 = batch::load_aligned(b + kk * nr), b1 = batch::load_aligned(b + kk * nr + L);
        batch x(a0[kk]);
        c00 = xsimd::fma(x, b0, c00);
        c01 = xsimd::fma(x, b1, c01);
        x = batch(a1[kk]);
        c10 = xsimd::fma(x, b0, c10);
        c11 = xsimd::fma(x, b1, c11);
        x = batch(a2[kk]);
        c20 = xsimd::fma(x, b0, c20);
        c21 = xsimd::fma(x, b1, c21);
        x = batch(a3[kk]);
        c30 = xsimd::fma(x, b0, c30);
        c31 = xsimd::fma(x, b1, c31);
        x = batch(a4[kk]);
        c40 = xsimd::fma(x, b0, c40);
        c41 = xsimd::fma(x, b1, c41);
        x = batch(a5[kk]);
        c50 = xsimd::fma(x, b0, c50);
        c51 = xsimd::fma(x, b1, c51);
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20, acc[2][1] = c21;
    acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
}

/// Per-thread buffers of gemm_f32 (materialized A rows, partial sums).
struct f32_scratch {
    aligned_buffer<float> a, partial;
};
/// This thread's gemm_f32 scratch.
inline f32_scratch& thread_f32_scratch() {
    thread_local f32_scratch s;
    return s;
}

/// Row-major float A read in place (no packing).
struct f32_matrix {
    const float* a;
    std::ptrdiff_t lda;
    static constexpr bool materialize = false;
    /// Row m of A, in place.
    const float* row(std::size_t m) const noexcept { return a + static_cast<std::ptrdiff_t>(m) * lda; }
};

/// The GEMM body shared by gemm_f32 and conv2d_f32. Source either exposes rows in place (materialize == false) or
/// copies K contiguous floats of row m into a buffer via for_each_segment (im2col).
template <class Arch, class Source>
void gemm_f32_run(const Source& src, std::size_t m, const packed_f32<Arch>& w, const out_f32& out,
                  execution_context* ctx) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t L = batch::size, nr = 2 * L, mr = f32_mr<Arch>;
    require(!w.empty(), error_code::argument, "gemm_f32: the packed weights are empty");
    require(out.c != nullptr, error_code::argument, "gemm_f32: output pointer is null");
    if (m == 0) return;
    const std::size_t n = w.n(), k = w.k(), panels = w.panels();
    aligned_buffer<float> bias(panels * nr);
    if (out.bias)
        for (std::size_t j = 0; j < n; ++j) bias[j] = out.bias[j];
    const std::size_t row_blocks = (m + mr - 1) / mr;
    const std::size_t threads = ctx ? ctx->threads() : 1;
    const bool split_n = threads > 1 && row_blocks < 4 * threads && panels >= 2 * threads;
    // Blocking: K in nkb equal blocks of <= kc_max (a panel slice of kc_max*nr floats is 32 KiB: it stays in L1
    // while the row tiles stream past it); panels in groups of ~1 MiB (L2); A in chunks of mb rows (mb x kc ~256 KiB).
    constexpr std::size_t kc_max = (32 * 1024) / (nr * sizeof(float));
    const std::size_t nkb = (k + kc_max - 1) / kc_max, kc = (k + nkb - 1) / nkb;
    const std::size_t group = std::max<std::size_t>(1, (1u << 20) / (k * nr * sizeof(float)));
    // A chunk height from the K block (not K): only mb x kc floats of A need to stay cached at a time, and a taller
    // chunk means fewer passes over a W that does not fit L2 (ViT fc2: 9.4 MB).
    std::size_t mb = (256 * 1024) / (kc * sizeof(float)) / mr * mr;
    if constexpr (Source::materialize) mb = std::min(mb, (1u << 20) / (k * sizeof(float)) / mr * mr);  // copy <= 1 MiB
    mb = mb < mr ? mr : (mb > 32 * mr ? 32 * mr : mb);

    auto epilogue = [&](const batch (&acc)[mr][2], std::size_t m0, std::size_t nrows, std::size_t p) {
        const std::size_t n0 = p * nr, ncols = std::min(nr, n - n0);
        const batch bias0 = batch::load_aligned(bias.data() + n0), bias1 = batch::load_aligned(bias.data() + n0 + L);
        const bool direct = nrows == mr && ncols == nr && out.layout.col_stride == 1;
        alignas(64) float tmp[mr][nr];
        for (std::size_t r = 0; r < nrows; ++r) {
            float* dst = direct ? out.c + out.layout.row_offset(m0 + r) + static_cast<std::ptrdiff_t>(n0) : tmp[r];
            (acc[r][0] + bias0).store_unaligned(dst);
            (acc[r][1] + bias1).store_unaligned(dst + L);
        }
        if (!direct)
            for (std::size_t r = 0; r < nrows; ++r) {
                float* row = out.c + out.layout.row_offset(m0 + r);
                for (std::size_t c = 0; c < ncols; ++c)
                    row[static_cast<std::ptrdiff_t>(n0 + c) * out.layout.col_stride] = tmp[r][c];
            }
    };

    auto work = [&](std::size_t rb0, std::size_t rb1, std::size_t p0, std::size_t p1) {
        f32_scratch& scratch = thread_f32_scratch();
        if constexpr (Source::materialize) scratch.a.ensure(mb * k);
        if (nkb > 1) scratch.partial.ensure((mb / mr) * group * mr * nr);
        for (std::size_t r0 = rb0 * mr; r0 < rb1 * mr && r0 < m; r0 += mb) {
            const std::size_t rows = std::min({mb, rb1 * mr - r0, m - r0});
            if constexpr (Source::materialize)
                for (std::size_t r = 0; r < rows; ++r) {
                    float* d = scratch.a.data() + r * k;
                    src.for_each_segment(r0 + r, [&](const float* p, std::size_t len) {
                        std::memcpy(d, p, len * sizeof(float));
                        d += len;
                    });
                }
            for (std::size_t g0 = p0; g0 < p1; g0 += group) {
                const std::size_t g1 = std::min(p1, g0 + group);
                for (std::size_t kb = 0; kb < nkb; ++kb) {
                    const std::size_t k0 = kb * kc, klen = std::min(kc, k - k0);
                    for (std::size_t p = g0; p < g1; ++p)
                        for (std::size_t i = 0; i < rows; i += mr) {
                            const std::size_t nrows = std::min(mr, rows - i);
                            const float* arows[mr];
                            for (std::size_t r = 0; r < mr; ++r) {
                                const std::size_t rr = r < nrows ? i + r : i;  // rows past M reuse a valid row
                                if constexpr (Source::materialize) arows[r] = scratch.a.data() + rr * k + k0;
                                else arows[r] = src.row(r0 + rr) + k0;
                            }
                            float* part = nkb > 1 ? scratch.partial.data() + ((i / mr) * group + (p - g0)) * mr * nr
                                                  : nullptr;
                            batch acc[mr][2];
                            if constexpr (f32_uses_neon_v<Arch>) {
#if defined(__aarch64__) && defined(__ARM_NEON)
                                float32x4_t v[8][2];
                                arm::kernel_f32_8x8(arows, w.panel(p) + k0 * nr, klen, kb > 0 ? part : nullptr, v);
                                for (std::size_t r = 0; r < mr; ++r) acc[r][0] = v[r][0], acc[r][1] = v[r][1];
#endif
                            } else {
                                kernel_f32<Arch>(arows, w.panel(p) + k0 * nr, klen, kb > 0 ? part : nullptr, acc);
                            }
                            if (kb + 1 < nkb) {
                                for (std::size_t r = 0; r < mr; ++r) {
                                    acc[r][0].store_aligned(part + r * nr);
                                    acc[r][1].store_aligned(part + r * nr + L);
                                }
                            } else {
                                epilogue(acc, r0 + i, nrows, p);
                            }
                        }
                }
            }
        }
    };
    if (threads == 1) work(0, row_blocks, 0, panels);
    else if (split_n) ctx->parallel_for(panels, [&](std::size_t b, std::size_t e) { work(0, row_blocks, b, e); });
    else ctx->parallel_for(row_blocks, [&](std::size_t b, std::size_t e) { work(b, e, 0, panels); });
}

}  // namespace detail

/// The fp32 kernel gemm_f32<Arch> runs, for `zoa version` and benchmark headers: "neon-fma" (AArch64 microkernel),
/// "avx512-fma", "avx2-fma", "avx2", "sse2" (xsimd kernel on that arch; without FMA hardware the chain is
/// multiply then add), or the xsimd arch name.
template <class Arch = default_arch>
constexpr const char* f32_kernel_name() noexcept {
    if constexpr (detail::f32_uses_neon_v<Arch>) return "neon-fma";
    else if constexpr (arch_at_least_v<Arch, xsimd::avx512f>) return "avx512-fma";
    else if constexpr (arch_at_least_v<Arch, xsimd::fma3<xsimd::avx2>>) return "avx2-fma";
    else if constexpr (arch_at_least_v<Arch, xsimd::avx2>) return "avx2";
    else if constexpr (std::is_same_v<Arch, xsimd::sse2>) return "sse2";
    else return Arch::name();
}

/// C[m,n] = (sum_k a[m*lda + k] * w(n,k)) + bias[n] for m < M, n < w.n() (out.layout places C; bias may be null).
/// The k-sum is a chain of xsimd::fma in k order (exactly one rounding per step with FMA hardware); results agree
/// with reference::gemm_f32 to float accuracy and are bit-identical for any thread count.
/// Throws: zoa::error(argument) for empty weights, a null output or lda < K.
template <class Arch = default_arch>
void gemm_f32(const float* a, std::size_t m, std::ptrdiff_t lda, const packed_f32<Arch>& w, const out_f32& out,
              execution_context* ctx = nullptr) {
    require(a != nullptr || m == 0, error_code::argument, "gemm_f32: A is null");
    require(m == 0 || lda >= static_cast<std::ptrdiff_t>(w.k()), error_code::argument, "gemm_f32: lda = ", lda,
            " < K = ", w.k());
    detail::gemm_f32_run<Arch>(detail::f32_matrix{a, lda}, m, w, out, ctx);
}

}  // namespace zoa::kernels
