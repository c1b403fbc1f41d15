// zoa — BatchNorm over NCHW channels, eval (running stats) and batch-statistics modes, runtime affine (xsimd)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/kernels/statistics.hpp"

namespace zoa::kernels {

namespace detail {

/// y[i] = fma(fl(fl(x[i] − c) − r), a, b) over one contiguous plane of len floats (one rounding, fma_once: the result
/// does not depend on compiler contraction; emulated as mul+add on ISAs without FMA).
template <class Arch>
void batch_norm_plane(const float* x, float* y, std::size_t len, float c, float r, float a, float b) noexcept {
    using batch = xsimd::batch<float, Arch>;
    constexpr std::size_t w = batch::size;
    const batch vc(c), vr(r), va(a), vb(b);
    const std::size_t nv = len - len % w;
    std::size_t i = 0;
    for (; i < nv; i += w) fma_once<Arch>((batch::load_unaligned(x + i) - vc) - vr, va, vb).store_unaligned(y + i);
    for (; i < len; ++i) y[i] = std::fma((x[i] - c) - r, a, b);
}

/// The BatchNorm scale a_c = fl(w_c / sqrt(var_c + eps)), in double (null weight = 1), as both modes compute it.
inline float batch_norm_scale(const float* weight, std::size_t c, double var, float eps) noexcept {
    const double w = weight ? static_cast<double>(weight[c]) : 1.0;
    return static_cast<float>(w / std::sqrt(var + static_cast<double>(eps)));
}

/// Throws: zoa::error(argument) naming fn for null pointers, zero extents, n·channels·hw overflow or a bad eps.
inline void check_batch_norm(const char* fn, const float* x, const float* y, std::size_t n, std::size_t channels,
                             std::size_t hw, float eps) {
    require_pointer(fn, "x", x);
    require_pointer(fn, "y", y);
    require_extent(fn, "n", n);
    require_extent(fn, "channels", channels);
    require_extent(fn, "hw", hw);
    checked_mul(fn, checked_mul(fn, n, channels), hw);
    require_eps(fn, eps);
}

}  // namespace detail

/// BatchNorm with running statistics (F.batch_norm(training=False)) on an NCHW tensor x [n × channels × hw]:
///   a_c = w_c / sqrt(running_var_c + eps)   (double, then float),
///   y[k,c,i] = (x[k,c,i] − running_mean_c)·a_c + b_c   (one fma per element).
/// weight/bias are read at call time (test-time adaptation may change them between calls; nothing is pre-folded);
/// null weight = ones, null bias = zeros. y may alias x exactly. NaN in x propagates to that element only.
/// Threads: channels are split over ctx (bit-identical results for any thread count).
/// Throws: zoa::error(argument) for null x/y/running stats, a zero extent or eps not finite and > 0;
///         zoa::error(numeric) when some running_var_c is negative or NaN.
template <class Arch = default_arch>
void batch_norm_eval(const float* x, float* y, std::size_t n, std::size_t channels, std::size_t hw,
                     const float* running_mean, const float* running_var, const float* weight, const float* bias,
                     float eps, execution_context& ctx) {
    const char* fn = "batch_norm_eval";
    detail::check_batch_norm(fn, x, y, n, channels, hw, eps);
    detail::require_pointer(fn, "running_mean", running_mean);
    detail::require_pointer(fn, "running_var", running_var);
    for (std::size_t c = 0; c < channels; ++c)
        require(running_var[c] >= 0.0f, error_code::numeric, fn, ": running_var[", c, "] must be >= 0, got ",
                running_var[c]);
    ctx.parallel_for(channels, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const float a = detail::batch_norm_scale(weight, c, static_cast<double>(running_var[c]), eps);
            const float b = bias ? bias[c] : 0.0f;
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t off = (k * channels + c) * hw;
                detail::batch_norm_plane<Arch>(x + off, y + off, hw, running_mean[c], 0.0f, a, b);
            }
        }
    });
}

/// BatchNorm with the current batch's statistics (F.batch_norm(x, None, None, w, b, training=True), which ZOA uses
/// for ResNets at test time) on an NCHW tensor x [n × channels × hw], m = n·hw values per channel:
///   μ_c = (1/m) Σ_{k,i} x[k,c,i],   σ²_c = (1/m) Σ_{k,i} (x[k,c,i] − μ_c)²   (biased, used for normalization),
///   y[k,c,i] = (x[k,c,i] − μ_c) · (w_c / sqrt(σ²_c + eps)) + b_c.
/// μ, σ² by two-pass shifted moments (see statistics.hpp); x − μ evaluated as fl(fl(x − c) − r), c = fl(μ),
/// r = fl(μ − c); the scale w_c/sqrt(σ²_c + eps) in double, then float; one fma per element.
/// batch_mean[c] = fl(μ_c) and batch_var[c] = fl(σ²_c) (biased; unbiased = σ²·m/(m−1)) are written when non-null.
/// weight/bias are read at call time; null weight = ones, null bias = zeros. y may alias x exactly.
/// NaN/±Inf in a channel make that channel's outputs NaN; other channels are unaffected.
/// Threads: channels are split over ctx (bit-identical results for any thread count).
/// Throws: zoa::error(argument) for null x/y, a zero extent, eps not finite and > 0, or m < 2 (as PyTorch:
///         "expected more than 1 value per channel").
template <class Arch = default_arch>
void batch_norm_batch_stats(const float* x, float* y, float* batch_mean, float* batch_var, std::size_t n,
                            std::size_t channels, std::size_t hw, const float* weight, const float* bias, float eps,
                            execution_context& ctx) {
    const char* fn = "batch_norm_batch_stats";
    detail::check_batch_norm(fn, x, y, n, channels, hw, eps);
    require(n * hw >= 2, error_code::argument, fn,
            ": batch statistics need more than 1 value per channel, got n*hw = ", n * hw);
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    ctx.parallel_for(channels, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const detail::moments m = detail::channel_moments<Arch>(x, n, channels, hw, c);
            const double var = m.m2 / count;
            const float a = detail::batch_norm_scale(weight, c, var, eps);
            const float b = bias ? bias[c] : 0.0f;
            for (std::size_t k = 0; k < n; ++k) {
                const std::size_t off = (k * channels + c) * hw;
                detail::batch_norm_plane<Arch>(x + off, y + off, hw, m.center, m.residual, a, b);
            }
            if (batch_mean) batch_mean[c] = static_cast<float>(m.mean);
            if (batch_var) batch_var[c] = static_cast<float>(var);
        }
    });
}

/// A BatchNorm as the per-channel affine map the kernels apply: y = fma(fl(x − center_c) − residual_c, scale_c, shift_c)
/// (see batch_norm_eval / batch_norm_batch_stats for how each mode defines the four).
struct batch_norm_affine {
    std::vector<float> center, residual, scale, shift;  ///< channels entries each
};

namespace detail {

/// One channel's batch statistics as the batch-statistics affine maps use them: center = fl(μ), residual =
/// fl(μ − center), and μ and the biased σ² in double.
struct batch_stats_channel {
    float center, residual;
    double mean, var;
};

/// The batch-statistics affine map from stats(c) (a batch_stats_channel) for each channel c:
///   center, residual as given, scale = fl(w_c / sqrt(σ²_c + eps)) (double, batch_norm_scale), shift = bias_c
///   (null weight = ones, null bias = zeros); batch_mean[c] = fl(μ_c), batch_var[c] = fl(σ²_c) when non-null.
template <class Stats>
batch_norm_affine batch_stats_affine(std::size_t channels, Stats stats, const float* weight, const float* bias,
                                     float eps, float* batch_mean, float* batch_var) {
    batch_norm_affine f;
    f.center.resize(channels);
    f.residual.resize(channels);
    f.scale.resize(channels);
    f.shift.resize(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        const batch_stats_channel s = stats(c);
        f.center[c] = s.center;
        f.residual[c] = s.residual;
        f.scale[c] = batch_norm_scale(weight, c, s.var, eps);
        f.shift[c] = bias ? bias[c] : 0.0f;
        if (batch_mean) batch_mean[c] = static_cast<float>(s.mean);
        if (batch_var) batch_var[c] = static_cast<float>(s.var);
    }
    return f;
}

}  // namespace detail

/// The affine map of BatchNorm with running statistics: center = running_mean, residual = 0, scale = a_c as
/// batch_norm_eval, shift = bias (null weight = ones, null bias = zeros).
/// Throws: zoa::error(numeric) for a negative or NaN running_var, zoa::error(argument) for a bad eps.
inline batch_norm_affine batch_norm_running_affine(std::size_t channels, const float* running_mean,
                                                   const float* running_var, const float* weight, const float* bias,
                                                   float eps) {
    detail::require_eps("batch_norm_running_affine", eps);
    batch_norm_affine f;
    f.center.assign(running_mean, running_mean + channels);
    f.residual.assign(channels, 0.0f);
    f.scale.resize(channels);
    f.shift.resize(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        require(running_var[c] >= 0.0f, error_code::numeric, "batch_norm_running_affine: running_var[", c,
                "] must be >= 0, got ", running_var[c]);
        f.scale[c] = detail::batch_norm_scale(weight, c, static_cast<double>(running_var[c]), eps);
        f.shift[c] = bias ? bias[c] : 0.0f;
    }
    return f;
}

/// The affine map of BatchNorm with the statistics of an NHWC batch x [n × hw × channels] (batch_norm_batch_stats's
/// μ, σ² and rounding, bit for bit: detail::channel_moments_nhwc). batch_mean / batch_var (biased) are written when
/// non-null. Throws: zoa::error(argument) for n·hw < 2 or a bad eps.
template <class Arch = default_arch>
batch_norm_affine batch_norm_batch_affine(const float* x, std::size_t n, std::size_t hw, std::size_t channels,
                                          const float* weight, const float* bias, float eps, execution_context& ctx,
                                          float* batch_mean = nullptr, float* batch_var = nullptr) {
    const char* fn = "batch_norm_batch_affine";
    detail::check_batch_norm(fn, x, x, n, channels, hw, eps);
    require(n * hw >= 2, error_code::argument, fn,
            ": batch statistics need more than 1 value per channel, got n*hw = ", n * hw);
    std::vector<detail::moments> m(channels);
    detail::channel_moments_nhwc<Arch>(x, n, hw, channels, m.data(), ctx);
    const double count = static_cast<double>(n) * static_cast<double>(hw);
    return detail::batch_stats_affine(
        channels,
        [&](std::size_t c) {  // σ² = m2 / count (biased)
            return detail::batch_stats_channel{m[c].center, m[c].residual, m[c].mean, m[c].m2 / count};
        },
        weight, bias, eps, batch_mean, batch_var);
}

/// Moments of a dequantized convolution output y[m,c] = s_c·acc[m,c] + b_c from the exact integer moments of its
/// accumulators (out_i32::moments), in double: μ_c = s_c·mean(acc_c) + b_c, σ²_c = s_c²·var(acc_c) (biased;
/// acc_moments states how mean and var are rounded). These are the moments of the exact affine image of the
/// integers; the float outputs fl(fl(float(acc)·s) + b) differ from it by their own rounding (≤ 1 ulp each).
inline void acc_output_moments(const acc_moments& m, std::size_t c, float s, float b, double& mean,
                               double& var) noexcept {
    const double sd = static_cast<double>(s);
    mean = sd * m.mean(c) + static_cast<double>(b);
    var = sd * sd * m.var(c);
}

/// The affine map of BatchNorm with batch statistics for a convolution output known by its accumulators' exact
/// moments (out_i32::moments over all n·h·w rows) and its dequantization s_c = out_scale[c], b_c = conv_bias[c]
/// (null = 0): with μ_c, σ²_c from acc_output_moments,
///   center = fl(μ_c), residual = fl(μ_c − center), scale = fl(w_c / sqrt(σ²_c + eps)) (double), shift = bias_c,
/// the same map batch_norm_batch_affine builds from float moments. Apply it with out_fused (apply_q8_stage) to the
/// stored accumulators. batch_mean / batch_var (biased) are written when non-null. Integer sums: the map is the same
/// for any thread count, tiling and ISA.
/// Throws: zoa::error(argument) for fewer than 2 rows, a bad eps, or moments of another channel count.
inline batch_norm_affine batch_norm_acc_affine(const acc_moments& m, std::size_t channels, const float* out_scale,
                                               const float* conv_bias, const float* weight, const float* bias,
                                               float eps, float* batch_mean = nullptr, float* batch_var = nullptr) {
    const char* fn = "batch_norm_acc_affine";
    detail::require_eps(fn, eps);
    detail::require_pointer(fn, "out_scale", out_scale);
    require(m.s1.size() == channels && m.s2.size() == channels, error_code::argument, fn, ": moments of ",
            m.s1.size(), " channels, expected ", channels);
    require(m.count >= 2, error_code::argument, fn, ": batch statistics need more than 1 value per channel, got n*hw = ",
            m.count);
    return detail::batch_stats_affine(
        channels,
        [&](std::size_t c) {  // center = fl(μ), residual = fl(μ − center)
            detail::batch_stats_channel s{};
            acc_output_moments(m, c, out_scale[c], conv_bias ? conv_bias[c] : 0.0f, s.mean, s.var);
            s.center = static_cast<float>(s.mean);
            s.residual = static_cast<float>(s.mean - static_cast<double>(s.center));
            return s;
        },
        weight, bias, eps, batch_mean, batch_var);
}

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

/// Applies out_fused's steps after its dequantization (BatchNorm from the stage's bn_* arrays, residual, ReLU,
/// quantization or float output) to float values y [rows × channels] (row-major, e.g. NHWC pixels × channels), the
/// stage's destination and residual being row-major [rows × channels] too (stage.layout, a_scale, w_scale and bias
/// are not used). Bit-identical to the fused GEMM epilogue on the same floats: vectors across channels, one
/// detail::fused_tail_scalar per element of the channel tail.
/// Threads: rows in fixed blocks over ctx (bit-identical for any thread count).
/// Throws: as detail::prepare_fused_tail (non-finite BatchNorm constants: zoa::error(numeric)).
template <class Arch = default_arch, class T, class R>
void batch_norm_act_nhwc(const float* y, std::size_t rows, std::size_t channels, const out_fused<T, R>& s,
                         execution_context& ctx) {
    detail::require_pointer("batch_norm_act_nhwc", "y", y);
    detail::prepared_columns p;
    detail::prepare_fused_tail(s, channels, channels, p);
    using fbatch = xsimd::batch<float, Arch>;
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr std::size_t w = fbatch::size;
    const std::size_t cv = channels - channels % w;
    const std::size_t block = std::max<std::size_t>(1, detail::elementwise_block / channels);
    ctx.parallel_for((rows + block - 1) / block, [&](std::size_t b0, std::size_t b1) {
        const fbatch zero(0.0f), inv(p.inv), lo(p.lo), hi(p.hi), rs(p.res_scale);
        const ibatch zp(p.zero_point), rz(p.res_zero_point);
        for (std::size_t m = b0 * block; m < std::min(rows, b1 * block); ++m) {
            const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(m * channels);
            for (std::size_t j = 0; j < cv; j += w) {
                const std::ptrdiff_t off = row + static_cast<std::ptrdiff_t>(j);
                fbatch t = fbatch::load_unaligned(y + off);
                if (p.has_bn)
                    t = detail::fma_once<Arch>((t - fbatch::load_aligned(p.f2.data() + j)) - fbatch::load_aligned(p.f3.data() + j),
                                               fbatch::load_aligned(p.f4.data() + j), fbatch::load_aligned(p.f5.data() + j));
                if (s.res_f) {
                    t = t + fbatch::load_unaligned(s.res_f + off);
                } else if (s.res_q) {
                    auto r = (xsimd::to_float(detail::load_widen<Arch>(s.res_q + off) - rz) * rs).data;
                    r = zoa::detail::fp_barrier(r);
                    t = t + fbatch(r);
                }
                if (s.relu) t = xsimd::select(zero > t, zero, t);
                if constexpr (std::is_same_v<T, float>)
                    t.store_unaligned(s.c + off);
                else
                    detail::store_narrow<Arch, T>(xsimd::nearbyint_as_int(xsimd::min(xsimd::max(t * inv, lo), hi)) + zp,
                                                  s.c + off);
            }
            for (std::size_t j = cv; j < channels; ++j)
                detail::fused_tail_scalar(s, p, row + static_cast<std::ptrdiff_t>(j), j, y[row + static_cast<std::ptrdiff_t>(j)]);
        }
    });
}

ZOA_DETAIL_AVX512_WARNINGS_END

}  // namespace zoa::kernels
