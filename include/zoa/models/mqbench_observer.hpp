// zoa — MQBench MSE / EMA-MSE range observer, bit-identical to quant::mse_observer but SIMD and multi-threaded
// (candidates or channels split over an execution context): the calibration hot loop of resnet<mqbench<...>>
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/observer.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::models {

namespace detail {

/// Forces a vector to be materialised (rounded) before its next use, so `x̂ − x` is never contracted into an FMA with
/// the product that produced x̂ (as quant::detail::fp_barrier does for scalars).
template <class B>
B vector_barrier(B v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__SSE__)
    typename B::register_type r = v;
#if defined(__AVX512F__)
    __asm__("" : "+v"(r));
#else
    __asm__("" : "+x"(r));
#endif
    return B(r);
#else
    return v;
#endif
}

/// MQBench's score of one candidate range: mean over x of (fake_quant_affine(x; s, z, 0, qmax) − x)², the squares in
/// float, summed in double in element order — the exact arithmetic of quant::mse_observer::search (x̂ computed as
/// fl(clamp(round(x·fl(1/s)), −z, qmax − z))·s, which equals (clamp(round(x·fl(1/s)) + z, 0, qmax) − z)·s).
template <class Arch>
double mse_score(const float* x, std::size_t n, float s, std::int32_t z, int qmax) noexcept {
    using fb = xsimd::batch<float, Arch>;
    constexpr std::size_t w = fb::size;
    const float inv = 1.0f / s;
    const fb vinv(inv), vs(s), vlo(static_cast<float>(-z)), vhi(static_cast<float>(qmax - z));
    alignas(64) float d2[w];
    double acc = 0.0;
    std::size_t i = 0;
    for (; i + w <= n; i += w) {
        const fb v = fb::load_unaligned(x + i);
        const fb xh = vector_barrier(xsimd::to_float(xsimd::nearbyint_as_int(xsimd::min(xsimd::max(v * vinv, vlo), vhi))) * vs);
        const fb d = xh - v;
        (d * d).store_aligned(d2);
        for (std::size_t l = 0; l < w; ++l) acc += static_cast<double>(d2[l]);
    }
    for (; i < n; ++i) {
        const float d = quant::detail::fp_barrier(quant::fake_quant_affine(x[i], s, z, 0, qmax)) - x[i];
        acc += static_cast<double>(d * d);
    }
    return acc / static_cast<double>(n);
}

}  // namespace detail

/// MQBench MSEObserver (ema_ratio < 0) / EMAMSEObserver (ema_ratio = 0.9) with the formulas of quant::mse_observer
/// (see observer.hpp): per group, candidates lo_i = min·f_i, hi_i = max·f_i, f_i = float(1 − 0.01·i), i < 95
/// (per tensor) / 80 (per channel), the first strictly smallest MSE wins; batches combine as min-of-mins /
/// max-of-maxes or by the EMA. Results are bit-identical to quant::mse_observer for any thread count (each candidate's
/// score is one sequential double sum; per-tensor observers split candidates over ctx, per-channel ones channels).
class fast_mse_observer {
public:
    /// Same arguments and checks as quant::mse_observer.
    fast_mse_observer(int bits, quant::granularity g, std::size_t groups = 1, double ema_ratio = -1.0)
        : reference_(bits, g, groups, ema_ratio),
          bits_(bits),
          gran_(g),
          ema_(ema_ratio),
          min_(groups, std::numeric_limits<float>::infinity()),
          max_(groups, -std::numeric_limits<float>::infinity()) {}

    /// Observe one batch of n values viewed as [groups, n/groups].
    /// Throws: zoa::error(numeric) for non-finite input, zoa::error(shape) when n % groups != 0.
    template <class = void>
    void observe(const float* x, std::size_t n, execution_context& ctx) {
        quant::detail::require_finite_batch(x, n, "fast_mse_observer");
        const std::size_t gs = quant::group_size(n, min_.size(), "fast_mse_observer");
        const int iters = gran_ == quant::granularity::per_tensor ? 95 : 80;
        std::vector<float> lo(min_.size()), hi(min_.size());
        if (min_.size() == 1) {
            search(x, gs, iters, lo[0], hi[0], &ctx);
        } else {
            ctx.parallel_for(min_.size(), [&](std::size_t g0, std::size_t g1) {
                for (std::size_t g = g0; g < g1; ++g) search(x + g * gs, gs, iters, lo[g], hi[g], nullptr);
            });
        }
        for (std::size_t g = 0; g < min_.size(); ++g) {
            if (ema_ < 0.0 || batches_ == 0) {
                min_[g] = (ema_ < 0.0) ? std::min(min_[g], lo[g]) : lo[g];
                max_[g] = (ema_ < 0.0) ? std::max(max_[g], hi[g]) : hi[g];
            } else {
                const float r = static_cast<float>(ema_), r1 = static_cast<float>(1.0 - ema_);
                min_[g] = quant::detail::fp_barrier(min_[g] * r) + quant::detail::fp_barrier(lo[g] * r1);
                max_[g] = quant::detail::fp_barrier(max_[g] * r) + quant::detail::fp_barrier(hi[g] * r1);
            }
        }
        ++batches_;
    }
    /// The kept ranges per group (+inf / −inf before the first observe()).
    const std::vector<float>& min() const noexcept { return min_; }
    const std::vector<float>& max() const noexcept { return max_; }
    /// Affine parameters from the kept ranges (MQBench calculate_qparams).
    template <class = void>
    quant::quant_params params() const { return quant::affine_params_from_ranges(bits_, gran_, min_, max_); }

    /// One range search over n values (quant::mse_observer::search); candidates split over ctx when non-null.
    template <class = void>
    void search(const float* x, std::size_t n, int iters, float& best_lo, float& best_hi, execution_context* ctx) const {
        float mn = x[0], mx = x[0];
        for (std::size_t k = 1; k < n; ++k) {
            mn = x[k] < mn ? x[k] : mn;
            mx = x[k] > mx ? x[k] : mx;
        }
        const int qmax = quant::unsigned_max(bits_);
        std::vector<double> score(static_cast<std::size_t>(iters));
        std::vector<float> clo(score.size()), chi(score.size());
        auto run = [&](std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i) {
                const float f = static_cast<float>(1.0 - quant::detail::fp_barrier(static_cast<int>(i) * 0.01));
                clo[i] = mn * f;
                chi[i] = mx * f;
                const quant::affine_qparams q = quant::affine_from_range(clo[i], chi[i], 0, qmax);
                score[i] = detail::mse_score<default_arch>(x, n, q.scale, q.zero_point, qmax);
            }
        };
        if (ctx) ctx->parallel_for(score.size(), run);
        else run(0, score.size());
        best_lo = mn;
        best_hi = mx;
        double best = 1e10;
        for (std::size_t i = 0; i < score.size(); ++i)
            if (score[i] < best) {
                best = score[i];
                best_lo = clo[i];
                best_hi = chi[i];
            }
    }

private:
    quant::mse_observer reference_;  // validates the arguments exactly as the reference observer
    int bits_;
    quant::granularity gran_;
    double ema_;
    std::vector<float> min_, max_;
    std::size_t batches_ = 0;
};

}  // namespace zoa::models

ZOA_DETAIL_AVX512_WARNINGS_END
