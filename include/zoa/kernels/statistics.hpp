// zoa — per-feature / per-channel batch mean and unbiased variance or std (xsimd, two-pass shifted moments)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"

namespace zoa::kernels {

namespace detail {

/// Columns per task of the column statistics: a multiple of every vector width (so the split of a panel into vectors
/// and a scalar tail depends only on the column count) and 4 cache lines per row read.
inline constexpr std::size_t column_panel = 64;

/// For columns j in [d0, d0 + len) (len ≤ column_panel) of `count` rows row(0..count-1):
///   s1[j] = Σ_i (x_ij − c[j]) and, when s2 is non-null, s2[j] = Σ_i (x_ij − c[j])².
/// Full vectors accumulate in float lanes flushed to double every flush_vectors rows; the < width tail columns
/// accumulate fl(x − c) in double.
template <class Arch, class RowFn>
void column_sums(RowFn&& row, std::size_t count, std::size_t d0, std::size_t len, const float* c, double* s1,
                 double* s2) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    constexpr std::size_t max_vectors = column_panel / w;
    const std::size_t nv = len / w;
    batch vc[max_vectors], a1[max_vectors], a2[max_vectors];
    alignas(64) float tmp[column_panel];
    for (std::size_t k = 0; k < nv; ++k) vc[k] = batch::load_unaligned(c + k * w);
    std::fill(s1, s1 + len, 0.0);
    if (s2) std::fill(s2, s2 + len, 0.0);
    for (std::size_t i = 0; i < count;) {
        const std::size_t end = std::min(count, i + flush_vectors);
        for (std::size_t k = 0; k < nv; ++k) a1[k] = a2[k] = batch(0.0f);
        for (; i < end; ++i) {
            const float* r = row(i) + d0;
            for (std::size_t k = 0; k < nv; ++k) {
                const batch d = batch::load_unaligned(r + k * w) - vc[k];
                a1[k] += d;
                if (s2) a2[k] = mul_add(d, d, a2[k]);
            }
            for (std::size_t j = nv * w; j < len; ++j) {
                const double d = static_cast<double>(r[j] - c[j]);
                s1[j] += d;
                if (s2) s2[j] = mul_add(d, d, s2[j]);
            }
        }
        for (std::size_t k = 0; k < nv; ++k) {
            a1[k].store_aligned(tmp);
            for (std::size_t l = 0; l < w; ++l) s1[k * w + l] += static_cast<double>(tmp[l]);
            if (s2) {
                a2[k].store_aligned(tmp);
                for (std::size_t l = 0; l < w; ++l) s2[k * w + l] += static_cast<double>(tmp[l]);
            }
        }
    }
}

/// Two-pass column moments (the column analogue of segment_moments): c₀ = row 0, μ = c₀ + Σ(x − c₀)/n; then with
/// c = fl(μ): m2 = max(0, Σ(x − c)² − (Σ(x − c))²/n). Writes mean[j], m2[j] for j in [0, len).
template <class Arch, class RowFn>
void column_moments(RowFn&& row, std::size_t count, std::size_t d0, std::size_t len, double* mean,
                    double* m2) noexcept {
    float c[column_panel];
    double s1[column_panel], s2[column_panel];
    std::copy(row(std::size_t{0}) + d0, row(std::size_t{0}) + d0 + len, c);
    column_sums<Arch>(row, count, d0, len, c, s1, nullptr);
    const double n = static_cast<double>(count);
    for (std::size_t j = 0; j < len; ++j) {
        mean[j] = static_cast<double>(c[j]) + s1[j] / n;
        c[j] = static_cast<float>(mean[j]);
    }
    column_sums<Arch>(row, count, d0, len, c, s1, s2);
    for (std::size_t j = 0; j < len; ++j) {
        const double v = s2[j] - s1[j] * s1[j] / n;
        m2[j] = v > 0.0 ? v : (v == v ? 0.0 : v);
    }
}

/// Writes mean[j] = fl(μ_j) and spread[j] = fl(m2_j/(n−1)) (or its sqrt when take_sqrt) for columns [0, dim) of
/// `count` rows; null outputs are skipped. Parallel over column panels.
template <class Arch, class RowFn>
void column_statistics(RowFn&& row, std::size_t count, std::size_t dim, float* mean, float* spread, bool take_sqrt,
                       execution_context& ctx) {
    const std::size_t panels = (dim + column_panel - 1) / column_panel;
    ctx.parallel_for(panels, [&](std::size_t p0, std::size_t p1) {
        double mu[column_panel], m2[column_panel];
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t d0 = p * column_panel, len = std::min(column_panel, dim - d0);
            column_moments<Arch>(row, count, d0, len, mu, m2);
            for (std::size_t j = 0; j < len; ++j) {
                const double v = m2[j] / static_cast<double>(count - 1);
                if (mean) mean[d0 + j] = static_cast<float>(mu[j]);
                if (spread) spread[d0 + j] = static_cast<float>(take_sqrt ? std::sqrt(v) : v);
            }
        }
    });
}

/// Validates a statistics call over `count` samples of `dim` values each.
inline void check_statistics(const char* fn, const float* x, std::size_t count, std::size_t dim) {
    require_pointer(fn, "x", x);
    require_extent(fn, "dim", dim);
    require(count >= 2, error_code::argument, fn, ": the unbiased variance needs at least 2 samples, got ", count);
}

/// NCHW per-channel statistics over (N, H, W); shared with batch_norm_batch_stats.
template <class Arch>
moments channel_moments(const float* x, std::size_t n, std::size_t channels, std::size_t hw, std::size_t c) noexcept {
    return segment_moments<Arch>([=](std::size_t k) { return x + (k * channels + c) * hw; }, n, hw);
}

/// h[j] = xsimd::hadd(batch of the W lanes a[l·cw + j], l < W) for j < cw (a multiple of W), bit for bit: xsimd 8.1's
/// reduction trees (commutative float adds, so only the pairing matters) evaluated on vectors across channels —
///   avx512f: r_j = x_j + x_{j+8}, then the avx tree on r;   avx (avx2, fma3): t_j = x_j + x_{j+4},
///   (t0 + t1) + (t2 + t3);   sse3 and later: (x0 + x1) + (x2 + x3);   sse2: (x0 + x2) + (x1 + x3);
/// any other ISA: xsimd::hadd itself, channel by channel. (The NHWC statistics tests compare every ISA this build
/// has with the NCHW kernels, which call xsimd::hadd.)
template <class Arch>
void lane_hadd(const float* a, std::size_t cw, float* h) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const auto x = [&](std::size_t l, std::size_t j) { return batch::load_aligned(a + l * cw + j); };
    for (std::size_t j = 0; j < cw; j += w) {
        batch r;
        if constexpr (arch_at_least_v<Arch, xsimd::avx512f> && w == 16) {
            batch t[8];
            for (std::size_t l = 0; l < 8; ++l) t[l] = x(l, j) + x(l + 8, j);
            const batch u0 = t[0] + t[4], u1 = t[1] + t[5], u2 = t[2] + t[6], u3 = t[3] + t[7];
            r = (u0 + u1) + (u2 + u3);
        } else if constexpr (arch_at_least_v<Arch, xsimd::avx> && w == 8) {
            const batch t0 = x(0, j) + x(4, j), t1 = x(1, j) + x(5, j), t2 = x(2, j) + x(6, j), t3 = x(3, j) + x(7, j);
            r = (t0 + t1) + (t2 + t3);
        } else if constexpr (arch_at_least_v<Arch, xsimd::sse3> && w == 4) {
            r = (x(0, j) + x(1, j)) + (x(2, j) + x(3, j));
        } else if constexpr (arch_at_least_v<Arch, xsimd::sse2> && w == 4) {
            r = (x(0, j) + x(2, j)) + (x(1, j) + x(3, j));
        } else {
            alignas(64) float lanes[w], out[w];
            for (std::size_t c = 0; c < w; ++c) {
                for (std::size_t l = 0; l < w; ++l) lanes[l] = a[l * cw + j + c];
                out[c] = xsimd::hadd(batch::load_aligned(lanes));
            }
            r = batch::load_aligned(out);
        }
        r.store_unaligned(h + j);
    }
}

/// channel_moments for every channel of an NHWC (channels-last) tensor x [n × hw × channels]: moments[c] is, bit for
/// bit, channel_moments<Arch> of the NCHW transpose. Each channel's segments (its hw values per image, stride
/// `channels`) go through exactly the arithmetic of segment_moments: W = batch<float, Arch>::size float lanes (lane
/// = pixel index mod W) flushed to double by xsimd::hadd every flush_vectors·W pixels, the hw mod W tail added in
/// double, per image in image order. Here the lanes of W adjacent channels are one vector across those channels:
/// pixel-major loops over up to 256 channels at a time, their W lane accumulators (two arrays of 16 KiB) in L1.
/// Channels past the last full group of W run segment_moments itself on a gathered copy.
/// Threads: channel groups over ctx (bit-identical for any thread count).
template <class Arch>
void channel_moments_nhwc(const float* x, std::size_t n, std::size_t hw, std::size_t channels, moments* out,
                          execution_context& ctx) {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size, chunk = 256 / w;  // groups of w channels per pass
    const std::size_t nv = hw - hw % w, groups = channels / w;
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    // acc[j] += hadd(lanes of channel j) for the cw channels of lane-major accumulators a[l·cw + j]
    const auto flush = [](const float* a, std::size_t cw, double* acc) {
        alignas(64) float h[chunk * w];
        lane_hadd<Arch>(a, cw, h);
        for (std::size_t j = 0; j < cw; ++j) acc[j] += static_cast<double>(h[j]);
    };
    // Σ over one image's pixels of fl(x − c) (and its square), lanes flushed per block, tail in double
    const auto image_sums = [&](const float* img, std::size_t cw, const float* c, float* a1, float* a2, double* s1,
                                double* s2) {
        for (std::size_t i = 0; i < nv;) {
            const std::size_t end = std::min(nv, i + flush_vectors * w);
            std::fill(a1, a1 + w * cw, 0.0f);
            if (a2) std::fill(a2, a2 + w * cw, 0.0f);
            for (; i < end; ++i) {
                const float* row = img + i * channels;
                float* l1 = a1 + (i % w) * cw;
                float* l2 = a2 ? a2 + (i % w) * cw : nullptr;
                for (std::size_t j = 0; j < cw; j += w) {
                    const batch d = batch::load_unaligned(row + j) - batch::load_aligned(c + j);
                    (batch::load_aligned(l1 + j) + d).store_aligned(l1 + j);
                    if (l2) mul_add(d, d, batch::load_aligned(l2 + j)).store_aligned(l2 + j);
                }
            }
            flush(a1, cw, s1);
            if (a2) flush(a2, cw, s2);
        }
        for (std::size_t i = nv; i < hw; ++i)
            for (std::size_t j = 0; j < cw; ++j) {
                const double d = static_cast<double>(img[i * channels + j] - c[j]);
                s1[j] += d;
                if (s2) s2[j] = mul_add(d, d, s2[j]);
            }
    };
    const std::size_t tasks = groups + (channels % w ? 1 : 0);
    ctx.parallel_for(tasks, [&](std::size_t g0, std::size_t g1) {
        alignas(64) float a1[w * chunk * w], a2[w * chunk * w], c[chunk * w];
        double s[chunk * w], total[chunk * w], s1[chunk * w], s2[chunk * w];
        for (std::size_t ga = g0; ga < std::min(g1, groups); ga += chunk) {
            const std::size_t cb = ga * w, cw = (std::min({g1, groups, ga + chunk}) - ga) * w;
            std::copy(x + cb, x + cb + cw, c);  // pass 1: shift by c₀ = each channel's first value
            std::fill(s, s + cw, 0.0);
            for (std::size_t k = 0; k < n; ++k) {
                std::fill(total, total + cw, 0.0);
                image_sums(x + k * hw * channels + cb, cw, c, a1, nullptr, total, nullptr);
                for (std::size_t j = 0; j < cw; ++j) s[j] += total[j];
            }
            for (std::size_t j = 0; j < cw; ++j) {
                moments& m = out[cb + j];
                m.mean = static_cast<double>(c[j]) + s[j] / count;
                m.center = static_cast<float>(m.mean);
                m.residual = static_cast<float>(m.mean - static_cast<double>(m.center));
                c[j] = m.center;
            }
            std::fill(s1, s1 + cw, 0.0);  // pass 2: shift by fl(μ)
            std::fill(s2, s2 + cw, 0.0);
            for (std::size_t k = 0; k < n; ++k) image_sums(x + k * hw * channels + cb, cw, c, a1, a2, s1, s2);
            for (std::size_t j = 0; j < cw; ++j) {
                const double m2 = s2[j] - s1[j] * s1[j] / count;
                out[cb + j].m2 = m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);
            }
        }
        if (g1 > groups) {  // channels past the last full group: gathered planes through segment_moments itself
            std::vector<float> plane(n * hw);
            for (std::size_t ch = groups * w; ch < channels; ++ch) {
                for (std::size_t i = 0; i < n * hw; ++i) plane[i] = x[i * channels + ch];
                out[ch] = segment_moments<Arch>([&](std::size_t k) { return plane.data() + k * hw; }, n, hw);
            }
        }
    });
}

/// Per-channel mean and unbiased variance (or std when take_sqrt) of NCHW x over (N, H, W); null outputs skipped.
template <class Arch>
void channel_statistics(const char* fn, const float* x, std::size_t n, std::size_t channels, std::size_t hw,
                        float* mean, float* spread, bool take_sqrt, execution_context& ctx) {
    require_extent(fn, "n", n);
    require_extent(fn, "channels", channels);
    require_extent(fn, "hw", hw);
    checked_mul(fn, checked_mul(fn, n, channels), hw);
    check_statistics(fn, x, n * hw, channels);
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    ctx.parallel_for(channels, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const moments m = channel_moments<Arch>(x, n, channels, hw, c);
            const double v = m.m2 / (count - 1.0);
            if (mean) mean[c] = static_cast<float>(m.mean);
            if (spread) spread[c] = static_cast<float>(take_sqrt ? std::sqrt(v) : v);
        }
    });
}

}  // namespace detail

/// Per-feature statistics of a batch of feature vectors x [batch × dim] (torch.var_mean(x, dim=0), unbiased):
///   mean[d] = (1/B) Σ_b x[b,d],   var[d] = 1/(B−1) · Σ_b (x[b,d] − mean[d])².
/// Two-pass shifted moments, float SIMD lanes across features flushed to double every 64 rows. Either output may be
/// null. NaN/±Inf in a column make that column's outputs NaN (or Inf); other columns are unaffected.
/// Threads: columns are split over ctx in fixed 64-column panels (bit-identical for any thread count).
/// Throws: zoa::error(argument) when x is null, dim is 0 or batch < 2 (the unbiased estimate needs 2 samples;
/// torch returns NaN there, zoa refuses: buffer samples first, e.g. FOA-style memory for batch size 1).
template <class Arch = default_arch>
void feature_mean_var(const float* x, std::size_t batch, std::size_t dim, float* mean, float* var,
                      execution_context& ctx) {
    detail::check_statistics("feature_mean_var", x, batch, dim);
    detail::checked_mul("feature_mean_var", batch, dim);
    detail::column_statistics<Arch>([=](std::size_t i) { return x + i * dim; }, batch, dim, mean, var, false, ctx);
}

/// As feature_mean_var but writes the unbiased standard deviation std[d] = sqrt(var[d]) (torch.std_mean(x, dim=0)).
template <class Arch = default_arch>
void feature_mean_std(const float* x, std::size_t batch, std::size_t dim, float* mean, float* std,
                      execution_context& ctx) {
    detail::check_statistics("feature_mean_std", x, batch, dim);
    detail::checked_mul("feature_mean_std", batch, dim);
    detail::column_statistics<Arch>([=](std::size_t i) { return x + i * dim; }, batch, dim, mean, std, true, ctx);
}

/// Combined statistics over dims (0, 1) of token embeddings x [batch × tokens × dim], using tokens
/// [skip_tokens, tokens) of every sample (skip_tokens = 1 drops a ViT's CLS token: `x[:, 1:]`):
///   n = batch·(tokens − skip_tokens),  mean[d] = (1/n) Σ_{b,t} x[b,t,d],  var[d] = 1/(n−1) Σ_{b,t} (x[b,t,d] −
///   mean[d])².
/// Same algorithm, outputs and thread behaviour as feature_mean_var.
/// Throws: zoa::error(argument) when x is null, dim is 0, skip_tokens ≥ tokens, or n < 2.
template <class Arch = default_arch>
void token_mean_var(const float* x, std::size_t batch, std::size_t tokens, std::size_t dim, std::size_t skip_tokens,
                    float* mean, float* var, execution_context& ctx) {
    const char* fn = "token_mean_var";
    require(skip_tokens < tokens, error_code::argument, fn, ": skip_tokens (", skip_tokens, ") must be < tokens (",
            tokens, ")");
    const std::size_t used = tokens - skip_tokens;
    const std::size_t count = detail::checked_mul(fn, batch, used);
    detail::check_statistics(fn, x, count, dim);
    detail::checked_mul(fn, detail::checked_mul(fn, batch, tokens), dim);
    detail::column_statistics<Arch>(
        [=](std::size_t i) { return x + ((i / used) * tokens + skip_tokens + i % used) * dim; }, count, dim, mean, var,
        false, ctx);
}

/// Per-channel statistics of an NCHW tensor x [n × channels × hw] over (N, H, W) (hw = H·W), unbiased:
///   mean[c] = (1/m) Σ_{k,i} x[k,c,i],  var[c] = 1/(m−1) Σ_{k,i} (x[k,c,i] − mean[c])²,  m = n·hw.
/// Two-pass shifted moments per channel (contiguous planes, float lanes flushed to double). Either output may be null.
/// Threads: channels are split over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) when x is null, n, channels or hw is 0, or n·hw < 2.
template <class Arch = default_arch>
void channel_mean_var(const float* x, std::size_t n, std::size_t channels, std::size_t hw, float* mean, float* var,
                      execution_context& ctx) {
    detail::channel_statistics<Arch>("channel_mean_var", x, n, channels, hw, mean, var, false, ctx);
}

/// channel_mean_var of a channels-last tensor x [n × hw × channels] (NHWC): bit for bit the values channel_mean_var
/// gives for the NCHW transpose (detail::channel_moments_nhwc). Either output may be null.
/// Threads: channel groups over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) when x is null, n, channels or hw is 0, or n·hw < 2.
template <class Arch = default_arch>
void channel_mean_var_nhwc(const float* x, std::size_t n, std::size_t hw, std::size_t channels, float* mean,
                           float* var, execution_context& ctx) {
    const char* fn = "channel_mean_var_nhwc";
    detail::require_extent(fn, "n", n);
    detail::require_extent(fn, "channels", channels);
    detail::require_extent(fn, "hw", hw);
    detail::checked_mul(fn, detail::checked_mul(fn, n, channels), hw);
    detail::check_statistics(fn, x, n * hw, channels);
    std::vector<detail::moments> m(channels);
    detail::channel_moments_nhwc<Arch>(x, n, hw, channels, m.data(), ctx);
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    for (std::size_t c = 0; c < channels; ++c) {
        if (mean) mean[c] = static_cast<float>(m[c].mean);
        if (var) var[c] = static_cast<float>(m[c].m2 / (count - 1.0));
    }
}

/// As channel_mean_var but writes the unbiased standard deviation std[c] = sqrt(var[c]).
template <class Arch = default_arch>
void channel_mean_std(const float* x, std::size_t n, std::size_t channels, std::size_t hw, float* mean, float* std,
                      execution_context& ctx) {
    detail::channel_statistics<Arch>("channel_mean_std", x, n, channels, hw, mean, std, true, ctx);
}

}  // namespace zoa::kernels
