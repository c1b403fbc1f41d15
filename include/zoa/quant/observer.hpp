// zoa — range observers for calibration: min-max, percentile, MQBench MSE observer and its EMA variant
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"

namespace zoa::quant {

namespace detail {
/// Throws: zoa::error(argument) for n == 0, zoa::error(numeric) naming the first non-finite element.
template <class = void>
inline void require_finite_batch(const float* x, std::size_t n, const char* what) {
    require(n > 0, error_code::argument, what, ": empty batch");
    for (std::size_t i = 0; i < n; ++i)
        require(std::isfinite(x[i]), error_code::numeric, what, ": element ", i, " is ", x[i]);
}
/// Minimum and maximum of x[0, gs). Requires: gs >= 1.
template <class = void>
inline void group_min_max(const float* x, std::size_t gs, float& lo, float& hi) {
    lo = x[0];
    hi = x[0];
    for (std::size_t i = 1; i < gs; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
}
/// torch.quantile(..., interpolation='linear'): v sorted, pos = q·(n−1), v[⌊pos⌋] + (pos − ⌊pos⌋)·(v[⌊pos⌋+1] −
/// v[⌊pos⌋]).
template <class = void>
inline float quantile_linear(std::vector<float>& v, double q) {
    const double pos = q * static_cast<double>(v.size() - 1);
    const std::size_t k = static_cast<std::size_t>(std::floor(pos));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    const float a = v[k];
    if (k + 1 >= v.size()) return a;
    const float b = *std::min_element(v.begin() + std::ptrdiff_t(k) + 1, v.end());
    return static_cast<float>(a + (pos - static_cast<double>(k)) * (static_cast<double>(b) - a));
}
}  // namespace detail

/// Largest |x| over n elements (0 for n == 0). NaN elements are ignored.
template <class = void>
inline float abs_max(const float* x, std::size_t n) noexcept {
    float m = 0.0f;
    for (std::size_t i = 0; i < n; ++i) m = std::fabs(x[i]) > m ? std::fabs(x[i]) : m;
    return m;
}

/// Running min/max per group (PyTorch/MQBench MinMaxObserver): min ← min(min, min_batch), max ← max(max, max_batch).
/// A batch of n elements is viewed as [groups, n/groups] (group 0 = channel 0 for per-channel weights).
class min_max_observer {
public:
    /// Requires: groups >= 1 (1 = per-tensor).
    /// Throws: zoa::error(argument) when groups == 0.
    explicit min_max_observer(std::size_t groups = 1)
        : min_(groups, std::numeric_limits<float>::infinity()), max_(groups, -std::numeric_limits<float>::infinity()) {
        require(groups >= 1, error_code::argument, "min_max_observer: groups must be >= 1");
    }
    /// Throws: zoa::error(numeric) for non-finite input, zoa::error(shape) when n % groups != 0.
    template <class = void>
    void observe(const float* x, std::size_t n) {
        detail::require_finite_batch(x, n, "min_max_observer");
        const std::size_t gs = group_size(n, min_.size(), "min_max_observer");
        for (std::size_t g = 0; g < min_.size(); ++g) {
            float lo, hi;
            detail::group_min_max(x + g * gs, gs, lo, hi);
            min_[g] = std::min(min_[g], lo);
            max_[g] = std::max(max_[g], hi);
        }
    }
    /// Running minimum / maximum per group (+inf / −inf before the first observe()).
    const std::vector<float>& min() const noexcept { return min_; }
    const std::vector<float>& max() const noexcept { return max_; }
    /// Affine b-bit parameters from the ranges (affine_from_range per group).
    template <class = void>
    quant_params affine_params(int bits, granularity g) const { return affine_params_from_ranges(bits, g, min_, max_); }
    /// Symmetric b-bit parameters, Δ = max(|min|, |max|) / (2^(b−1) − 0.5) (PTQ4ViT's max-based rule).
    template <class = void>
    quant_params symmetric_params(int bits, granularity g) const {
        std::vector<float> a(min_.size());
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::max(std::fabs(min_[i]), std::fabs(max_[i]));
        return symmetric_params_from_absmax(bits, g, a);
    }

private:
    std::vector<float> min_, max_;
};

/// Percentile observer: per batch and group, lo = quantile(x, 1 − p), hi = quantile(x, p) with torch.quantile's
/// linear interpolation; the kept range is the mean over observed batches (deterministic, O(batch) memory).
class percentile_observer {
public:
    /// Requires: 0.5 < percentile <= 1, groups >= 1.
    /// Throws: zoa::error(argument) when either requirement fails.
    explicit percentile_observer(double percentile = 0.9999, std::size_t groups = 1)
        : p_(percentile), lo_sum_(groups, 0.0), hi_sum_(groups, 0.0) {
        require(percentile > 0.5 && percentile <= 1.0, error_code::argument,
                "percentile_observer: percentile must be in (0.5, 1], got ", percentile);
        require(groups >= 1, error_code::argument, "percentile_observer: groups must be >= 1");
    }
    /// Observe one batch (x viewed as [groups, n/groups]).
    /// Throws: zoa::error(numeric) for non-finite input, zoa::error(shape) when n % groups != 0.
    template <class = void>
    void observe(const float* x, std::size_t n) {
        detail::require_finite_batch(x, n, "percentile_observer");
        const std::size_t gs = group_size(n, lo_sum_.size(), "percentile_observer");
        std::vector<float> v;
        for (std::size_t g = 0; g < lo_sum_.size(); ++g) {
            v.assign(x + g * gs, x + (g + 1) * gs);
            lo_sum_[g] += detail::quantile_linear(v, 1.0 - p_);
            hi_sum_[g] += detail::quantile_linear(v, p_);
        }
        ++batches_;
    }
    /// Mean lower / upper percentile per group. Throws: zoa::error(argument) before the first observe().
    template <class = void>
    std::vector<float> min() const { return mean(lo_sum_); }
    template <class = void>
    std::vector<float> max() const { return mean(hi_sum_); }
    /// Affine b-bit parameters from the mean percentile ranges. Throws: as min()/max(), and as
    /// affine_params_from_ranges.
    template <class = void>
    quant_params affine_params(int bits, granularity g) const {
        return affine_params_from_ranges(bits, g, min(), max());
    }
    /// Symmetric b-bit parameters from absmax = max(|lo|, |hi|) per group (Δ = absmax / (2^(b−1) − 0.5)).
    /// Throws: as min()/max().
    template <class = void>
    quant_params symmetric_params(int bits, granularity g) const {
        const std::vector<float> lo = min(), hi = max();
        std::vector<float> a(lo.size());
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::max(std::fabs(lo[i]), std::fabs(hi[i]));
        return symmetric_params_from_absmax(bits, g, a);
    }

private:
    template <class = void>
    std::vector<float> mean(const std::vector<double>& s) const {
        require(batches_ > 0, error_code::argument, "percentile_observer: no batch observed yet");
        std::vector<float> r(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) r[i] = static_cast<float>(s[i] / double(batches_));
        return r;
    }
    double p_;
    std::vector<double> lo_sum_, hi_sum_;
    std::size_t batches_ = 0;
};

/// MQBench MSEObserver (weights) and EMAMSEObserver (activations), affine b-bit codes [0, 2^b−1].
/// Per batch and group: for i in [0, iters) (95 per-tensor, 80 per-channel or per-row-block) the candidate range is
///     lo_i = min·float(1 − 0.01·i),  hi_i = max·float(1 − 0.01·i)            (factor computed in double)
/// with (s, z) = affine_from_range(lo_i, hi_i), score_i = mean((fake_quant_affine(x) − x)²) (float differences and
/// squares as torch, no FMA, summed in double); the first strictly smaller score wins (start 1e10). Batches combine as
///     MSE:  min ← min(min, lo*), max ← max(max, hi*);     EMA (ratio r = 0.9): first batch sets, then
///     min ← min·float(r) + lo*·float(1 − r), same for max.
/// With scheme::symmetric (zoa's extension, for policies with symmetric quantizers) the candidates are the clipping
/// magnitudes a_i = max(|min|, |max|)·float(1 − 0.01·i), Δ_i = a_i / (2^(b−1) − 0.5) (PTQ4ViT's rule), scored with
/// fake_quant_symmetric; the kept range is (−a*, a*) and combines across batches as above.
class mse_observer {
public:
    /// granularity per_tensor (95 iterations), per_channel or per_row_block (groups = channels or blocks, 80
    /// iterations); ema_ratio < 0 ⇒ MSEObserver, otherwise EMAMSEObserver with that ratio (MQBench: 0.9);
    /// s = the quantizer scheme searched (MQBench: asymmetric).
    /// Throws: zoa::error(argument) unless 2 <= bits <= 8, groups >= 1, g is per_tensor with 1 group, per_channel or
    /// per_row_block, and ema_ratio < 1.
    mse_observer(int bits, granularity g, std::size_t groups = 1, double ema_ratio = -1.0,
                 scheme s = scheme::asymmetric)
        : bits_(bits),
          gran_(g),
          sch_(s),
          ema_(ema_ratio),
          min_(groups, std::numeric_limits<float>::infinity()),
          max_(groups, -std::numeric_limits<float>::infinity()) {
        require(bits >= 2 && bits <= 8, error_code::argument, "mse_observer: bits must be in 2..8, got ", bits);
        require(groups >= 1, error_code::argument, "mse_observer: groups must be >= 1");
        require(g == granularity::per_tensor ? groups == 1
                                             : (g == granularity::per_channel || g == granularity::per_row_block),
                error_code::argument,
                "mse_observer: granularity must be per_tensor (1 group), per_channel or per_row_block, got ",
                to_string(g), " with ", groups, " groups");
        require(ema_ratio < 0.0 || ema_ratio < 1.0, error_code::argument, "mse_observer: ema ratio must be < 1");
    }
    /// Observe one batch. Throws: zoa::error(numeric) for non-finite input, zoa::error(shape) when n % groups != 0.
    template <class = void>
    void observe(const float* x, std::size_t n) {
        detail::require_finite_batch(x, n, "mse_observer");
        const std::size_t gs = group_size(n, min_.size(), "mse_observer");
        const int iters = gran_ == granularity::per_tensor ? 95 : 80;
        for (std::size_t g = 0; g < min_.size(); ++g) {
            float lo, hi;
            search(x + g * gs, gs, iters, lo, hi);
            if (ema_ < 0.0 || batches_ == 0) {
                min_[g] = (ema_ < 0.0) ? std::min(min_[g], lo) : lo;
                max_[g] = (ema_ < 0.0) ? std::max(max_[g], hi) : hi;
            } else {
                const float r = static_cast<float>(ema_), r1 = static_cast<float>(1.0 - ema_);
                min_[g] = detail::fp_barrier(min_[g] * r) + detail::fp_barrier(lo * r1);
                max_[g] = detail::fp_barrier(max_[g] * r) + detail::fp_barrier(hi * r1);
            }
        }
        ++batches_;
    }
    /// The kept ranges per group (+inf / −inf before the first observe()).
    const std::vector<float>& min() const noexcept { return min_; }
    const std::vector<float>& max() const noexcept { return max_; }
    /// Parameters from the kept ranges: affine (MQBench calculate_qparams) or, for scheme::symmetric,
    /// Δ = max(|min|, |max|) / (2^(b−1) − 0.5) per group.
    template <class = void>
    quant_params params() const {
        if (sch_ == scheme::asymmetric) return affine_params_from_ranges(bits_, gran_, min_, max_);
        std::vector<float> a(min_.size());
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::max(std::fabs(min_[i]), std::fabs(max_[i]));
        return symmetric_params_from_absmax(bits_, gran_, a);
    }

    /// One MSE range search on n values (exposed for tests): writes the winning (lo, hi).
    template <class = void>
    void search(const float* x, std::size_t n, int iters, float& best_lo, float& best_hi) const {
        float mn, mx;
        detail::group_min_max(x, n, mn, mx);
        const bool sym = sch_ == scheme::symmetric;
        const float amax = std::max(std::fabs(mn), std::fabs(mx));
        best_lo = sym ? -amax : mn;
        best_hi = sym ? amax : mx;
        double best = 1e10;
        const int qmax = unsigned_max(bits_);
        for (int i = 0; i < iters; ++i) {
            const float f = static_cast<float>(1.0 - detail::fp_barrier(i * 0.01));  // as Python: no FMA
            const float lo = sym ? -(amax * f) : mn * f, hi = sym ? amax * f : mx * f;
            double acc = 0.0;
            if (sym) {
                const float d = symmetric_scale_from_absmax(hi, bits_, "mse_observer");
                for (std::size_t k = 0; k < n; ++k) {
                    const float e =
                        detail::fp_barrier(fake_quant_symmetric(x[k], d, signed_min(bits_), signed_max(bits_))) - x[k];
                    acc += static_cast<double>(e * e);
                }
            } else {
                const affine_qparams q = affine_from_range(lo, hi, 0, qmax);
                for (std::size_t k = 0; k < n; ++k) {
                    const float e = detail::fp_barrier(fake_quant_affine(x[k], q.scale, q.zero_point, 0, qmax)) - x[k];
                    acc += static_cast<double>(e * e);
                }
            }
            const double score = acc / double(n);
            if (score < best) {
                best = score;
                best_lo = lo;
                best_hi = hi;
            }
        }
    }

private:
    int bits_;
    granularity gran_;
    scheme sch_;
    double ema_;
    std::vector<float> min_, max_;
    std::size_t batches_ = 0;
};

}  // namespace zoa::quant
