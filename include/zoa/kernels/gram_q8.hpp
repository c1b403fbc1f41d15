// zoa — exact moments of an 8-bit GEMM's accumulators from the Gram matrix of its activation codes: the batch
// statistics of a shallow 1×1 convolution's output without storing and re-reading its int32 accumulators
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/xsimd.hpp"
#include "zoa/kernels/arm/gram_q8_neon.hpp"
#include "zoa/kernels/operand_range.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/kernels/x86/gram_q8_avx2.hpp"
#include "zoa/kernels/x86/gram_q8_avx512.hpp"

namespace zoa::kernels {

/// Raw sums over `rows` rows of k codes (read as unsigned bytes 0..255):
///   p[i·k + j] = Σ_m a[m][i]·a[m][j]  (k × k, symmetric),   t[i] = Σ_m a[m][i]   (exact int64: rows < 2^47).
struct gram_q8_sums {
    std::size_t rows = 0, k = 0;
    std::vector<std::int64_t> p, t;
    /// Zero sums of k columns.
    void reset(std::size_t cols) {
        rows = 0;
        k = cols;
        p.assign(cols * cols, 0);
        t.assign(cols, 0);
    }
};

/// True when gram_q8 has a SIMD kernel for Arch (k a multiple of 32): AVX-512 VNNI (vpdpbusd tiles), AVX2
/// (vpmaddwd tiles) or AArch64 with the dot product (UDOT tiles; the ARMv8.0 level has none). Elsewhere it runs the
/// scalar reference, which is exact but M·K²/2 scalar multiply-adds: callers that choose the Gram for speed check
/// this.
template <class Arch>
inline constexpr bool gram_q8_simd_v = (is_vnni_arch_v<Arch> && x86::vnni512_compiled) ||
                                       (has_avx2_v<Arch> && x86::gram_avx2_compiled) ||
                                       (neon_level_v<Arch> >= 1 && arm::gram_udot_compiled);

namespace detail {

/// Scalar reference twin of gram_q8: the defining sums, row by row.
template <class Code>
void gram_q8_reference(const Code* a, std::size_t m, std::size_t k, std::ptrdiff_t lda, gram_q8_sums& s) {
    for (std::size_t r = 0; r < m; ++r) {
        const auto* row = reinterpret_cast<const std::uint8_t*>(a + static_cast<std::ptrdiff_t>(r) * lda);
        for (std::size_t i = 0; i < k; ++i) {
            const std::int64_t ai = row[i];
            s.t[i] += ai;
            for (std::size_t j = i; j < k; ++j) s.p[i * k + j] += ai * row[j];
        }
    }
    for (std::size_t i = 0; i < k; ++i)
        for (std::size_t j = 0; j < i; ++j) s.p[i * k + j] = s.p[j * k + i];
}

}  // namespace detail

/// s = the raw Gram sums of m rows of k codes, row r at a + r·lda (Code: uint8_t or int8_t holding codes 0..255 /
/// 0..127, read as unsigned bytes).
/// SIMD paths (gram_q8_simd_v<Arch>; k % 32 == 0 for VNNI, k % 16 == 0 for AVX2 and UDOT): chunks of 4096 rows are
/// interleaved — VNNI: by 4 rows (4 bytes of one column = one vpdpbusd lane), Σ a_i·a_j = Σ a_i·(a_j − 128) +
/// 128·t_i since vpdpbusd is u8 × s8; AVX2: by 2 rows widened to int16 (one vpmaddwd lane); AArch64: by 4 rows
/// (one UDOT lane) — and multiplied tile by tile on and above the diagonal; the other entries are mirrored.
/// Threads: chunks over ctx; integer sums, so the result is the same for any thread count and path.
/// Throws: zoa::error(argument) for a null a with m > 0, k = 0 or |lda| < k.
template <class Arch = q8_default_arch, class Code>
void gram_q8(const Code* a, std::size_t m, std::size_t k, std::ptrdiff_t lda, gram_q8_sums& s,
             execution_context* ctx = nullptr) {
    static_assert(sizeof(Code) == 1, "zoa::kernels::gram_q8: codes are 8-bit");
    require(k > 0 && (a != nullptr || m == 0) && static_cast<std::size_t>(lda < 0 ? -lda : lda) >= k,
            error_code::argument, "gram_q8: need k > 0, codes and a row stride ≥ k, got k = ", k, ", lda = ", lda);
    s.reset(k);
    s.rows = m;
    // The SIMD paths: chunks of `chunk` rows are interleaved by `group` rows (one group = 4k bytes), zero rows
    // padding the last group; tile(q, groups, k, p, t) adds the chunk's sums to a thread's int64 partials, shifted
    // says they are Σ a_i·(a_j − 128) and Σ (a − 128) over every interleaved row (VNNI's u8 × s8).
    [[maybe_unused]] auto chunks = [&](std::size_t group, bool shifted, auto&& interleave, auto&& tile) {
        constexpr std::size_t chunk = 4096;  // rows; every tile kernel is exact up to 16384
        const std::size_t count = (m + chunk - 1) / chunk;
        std::mutex lock;
        auto body = [&](std::size_t c0, std::size_t c1) {
            std::vector<std::int64_t> p(k * k, 0), t(k, 0);
            aligned_buffer<std::uint8_t> q(chunk / group * 4 * k), zeros(k);
            std::fill(zeros.data(), zeros.data() + k, std::uint8_t{0});
            std::size_t padded = 0;  // interleaved rows, zero rows included
            for (std::size_t c = c0; c < c1; ++c) {
                const std::size_t r0 = c * chunk, rows = std::min(chunk, m - r0), groups = (rows + group - 1) / group;
                auto row = [&](std::size_t r) {
                    return r < rows
                               ? reinterpret_cast<const std::uint8_t*>(a + static_cast<std::ptrdiff_t>(r0 + r) * lda)
                               : zeros.data();
                };
                for (std::size_t g = 0; g < groups; ++g) interleave(row, g, q.data() + g * 4 * k);
                tile(q.data(), groups, p.data(), t.data());
                padded += group * groups;
            }
            if (shifted) {  // t: Σ (a − 128) (zero rows: −128 each); p: Σ a_i·(a_j − 128) = Σ a_i·a_j − 128·t_i
                for (std::size_t j = 0; j < k; ++j) t[j] += 128 * static_cast<std::int64_t>(padded);
                for (std::size_t i = 0; i < k; ++i)
                    for (std::size_t j = i; j < k; ++j) p[i * k + j] += 128 * t[i];
            }
            const std::lock_guard<std::mutex> g(lock);
            for (std::size_t i = 0; i < k; ++i)
                for (std::size_t j = i; j < k; ++j) s.p[i * k + j] += p[i * k + j];
            for (std::size_t j = 0; j < k; ++j) s.t[j] += t[j];
        };
        if (ctx)
            ctx->parallel_for(count, body);
        else
            body(0, count);
        for (std::size_t i = 0; i < k; ++i)  // the tiles covered the diagonal and above
            for (std::size_t j = 0; j < i; ++j) s.p[i * k + j] = s.p[j * k + i];
    };
#if defined(__AVX2__) && defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
    if constexpr (is_vnni_arch_v<Arch> && x86::vnni512_compiled) {
        if (k % 32 == 0) {
            chunks(
                4, true,
                [&](auto& row, std::size_t g, std::uint8_t* dst) {
                    x86::interleave4_rows(row(4 * g), row(4 * g + 1), row(4 * g + 2), row(4 * g + 3), k, dst);
                },
                [&](const std::uint8_t* q, std::size_t groups, std::int64_t* p, std::int64_t* t) {
                    x86::gram_chunk_vnni512(q, groups, k, p, t);
                });
            return;
        }
    }
#endif
#if defined(__AVX2__)
    if constexpr (has_avx2_v<Arch> && x86::gram_avx2_compiled) {
        if (k % 16 == 0) {
            chunks(
                2, false,
                [&](auto& row, std::size_t g, std::uint8_t* dst) {
                    x86::interleave2_rows_i16(row(2 * g), row(2 * g + 1), k, reinterpret_cast<std::int16_t*>(dst));
                },
                [&](const std::uint8_t* q, std::size_t groups, std::int64_t* p, std::int64_t* t) {
                    x86::gram_chunk_avx2(reinterpret_cast<const std::int16_t*>(q), groups, k, p, t);
                });
            return;
        }
    }
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__ARM_FEATURE_DOTPROD)
    if constexpr (neon_level_v<Arch> >= 1 && arm::gram_udot_compiled) {
        if (k % 16 == 0) {
            chunks(
                4, false,
                [&](auto& row, std::size_t g, std::uint8_t* dst) {
                    arm::interleave4_rows(row(4 * g), row(4 * g + 1), row(4 * g + 2), row(4 * g + 3), k, dst);
                },
                [&](const std::uint8_t* q, std::size_t groups, std::int64_t* p, std::int64_t* t) {
                    arm::gram_chunk_udot(q, groups, k, p, t);
                });
            return;
        }
    }
#endif
    detail::gram_q8_reference(a, m, k, lda, s);
}

/// True when moments_from_gram computes exactly for m rows of k codes within za ± a_dev (|a − za| ≤ a_dev) and
/// weight offsets |d| ≤ d_max: every partial sum of its double products is an integer below 2^53, i.e.
/// k·m·a_dev²·d_max < 2^53 (e.g. k = 64 allows m ≈ 8·10^6 rows of 8-bit codes).
inline bool gram_moments_exact(std::size_t m, std::size_t k, std::int64_t a_dev, std::int64_t d_max) noexcept {
    const long double bound = static_cast<long double>(k) * static_cast<long double>(m) *
                              static_cast<long double>(a_dev) * static_cast<long double>(a_dev) *
                              static_cast<long double>(d_max);
    return bound < 9007199254740992.0L;  // 2^53
}

/// Adds the exact moments of acc[m, n] = Σ_j (a[m][j] − za)·d[n·k + j] over the rows of s (d: n × k weight offsets
/// w − zw, row-major) to mo, as gemm_q8's out_i32::moments would from the stored accumulators (mo.count += rows):
///   s1[n] += Σ_m acc[m, n] = Σ_j S_j·d[n, j],                       S_j  = t_j − rows·za,
///   s2[n] += Σ_m acc[m, n]² = Σ_i d[n, i]·Σ_j G_ij·d[n, j],          G_ij = p_ij − za·(t_i + t_j) + rows·za²
/// (G = Σ_m (a_i − za)(a_j − za)). The inner sums v_i = Σ_j G_ij·d[n, j] run in double, exact under
/// gram_moments_exact (all partial sums are integers below 2^53); the outer ones in 128-bit integers.
/// Cost n·k² multiply-adds, against the m·n·k of the GEMM and the 8 bytes per output of storing and re-reading its
/// accumulators; in blocks of 4 output channels over ctx (each block writes only its own channels' sums).
/// Throws: zoa::error(argument) when mo has not n columns or the products would not be exact.
template <class Arch = default_arch>
void moments_from_gram(const gram_q8_sums& s, std::int32_t za, const std::int16_t* d, std::size_t n, acc_moments& mo,
                       execution_context* ctx = nullptr) {
    const std::size_t k = s.k;
    const auto rows = static_cast<std::int64_t>(s.rows);
    require(mo.s1.size() == n && mo.s2.size() == n && d != nullptr, error_code::argument,
            "moments_from_gram: moments of ", mo.s1.size(), " columns and weight offsets, expected N = ", n);
    const std::int64_t a_dev =
        std::max<std::int64_t>(za < 0 ? -za : za, 255 - std::int64_t{za});  // |a − za|, a in 0..255
    std::int64_t d_max = 0;
    for (std::size_t i = 0; i < n * k; ++i) d_max = std::max<std::int64_t>(d_max, d[i] < 0 ? -d[i] : d[i]);
    require(gram_moments_exact(s.rows, k, a_dev, d_max), error_code::argument, "moments_from_gram: ", s.rows,
            " rows of K = ", k, " exceed the exact double products (K·M·255²·", d_max, " ≥ 2^53)");
    using batch = xsimd::batch<double, Arch>;
    constexpr std::size_t w = batch::size;
    const std::int64_t z = za;
    const std::size_t blocks = (n + 3) / 4;  // 4 output channels per block; d's rows past n are zeros
    aligned_buffer<double> g(k * k), dd(blocks * 4 * k);
    std::vector<std::int64_t> sj(k);
    for (std::size_t i = 0; i < k; ++i) {
        sj[i] = s.t[i] - rows * z;
        for (std::size_t j = 0; j < k; ++j)
            g.data()[i * k + j] = static_cast<double>(s.p[i * k + j] - z * (s.t[i] + s.t[j]) + rows * z * z);
    }
    for (std::size_t i = 0; i < blocks * 4 * k; ++i) dd.data()[i] = i < n * k ? static_cast<double>(d[i]) : 0.0;
    auto run = [&](std::size_t b0, std::size_t b1) {
        aligned_buffer<double> v(4 * k);
        for (std::size_t blk = b0; blk < b1; ++blk) {
            const std::size_t n0 = 4 * blk;
            const double* dc[4] = {dd.data() + n0 * k, dd.data() + (n0 + 1) * k, dd.data() + (n0 + 2) * k,
                                   dd.data() + (n0 + 3) * k};
            std::size_t i = 0;
            for (; i + 4 * w <= k; i += 4 * w) {  // v[c][i .. i + 4w) = Σ_j G[j][·]·d_c[j]: 16 vector accumulators
                batch acc[4][4];
                for (auto& row : acc)
                    for (auto& x : row) x = batch(0.0);
                for (std::size_t j = 0; j < k; ++j) {
                    const double* gj = g.data() + j * k + i;
                    const batch g0 = batch::load_unaligned(gj), g1 = batch::load_unaligned(gj + w),
                                g2 = batch::load_unaligned(gj + 2 * w), g3 = batch::load_unaligned(gj + 3 * w);
                    for (std::size_t c = 0; c < 4; ++c) {
                        const batch b(dc[c][j]);
                        acc[c][0] = xsimd::fma(g0, b, acc[c][0]);
                        acc[c][1] = xsimd::fma(g1, b, acc[c][1]);
                        acc[c][2] = xsimd::fma(g2, b, acc[c][2]);
                        acc[c][3] = xsimd::fma(g3, b, acc[c][3]);
                    }
                }
                for (std::size_t c = 0; c < 4; ++c)
                    for (std::size_t q = 0; q < 4; ++q) acc[c][q].store_unaligned(v.data() + c * k + i + q * w);
            }
            for (; i < k; ++i)  // the column tail
                for (std::size_t c = 0; c < 4; ++c) {
                    double t = 0.0;
                    for (std::size_t j = 0; j < k; ++j) t += g.data()[j * k + i] * dc[c][j];
                    v.data()[c * k + i] = t;
                }
            for (std::size_t c = 0; c < 4 && n0 + c < n; ++c) {
                const std::int16_t* dn = d + (n0 + c) * k;
                int128_t s1 = 0, s2 = 0;
                for (std::size_t r = 0; r < k; ++r) {
                    s1 += static_cast<int128_t>(sj[r]) * dn[r];
                    s2 += static_cast<int128_t>(static_cast<std::int64_t>(v.data()[c * k + r])) * dn[r];
                }
                mo.s1[n0 + c] += s1;
                mo.s2[n0 + c] += static_cast<uint128_t>(s2);
            }
        }
    };
    if (ctx)
        ctx->parallel_for(blocks, run);
    else
        run(0, blocks);
    mo.count += s.rows;
}

}  // namespace zoa::kernels
