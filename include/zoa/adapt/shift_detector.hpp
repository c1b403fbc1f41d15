// zoa — domain-shift detection on embedding statistics (spec §1.9)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa::adapt {

/// Keeps an EMA of the per-dim (mean, unbiased variance) of the embedding and flags a shift when the symmetric
/// KL (Jeffreys) divergence between the EMA and the current batch, averaged over dims, exceeds a threshold:
///   d1 = (v_dom + (m_dom − m_cur)²)/2/(v_cur + 1e−8) − ½,  d2 = (v_cur + (m_dom − m_cur)²)/2/(v_dom + 1e−8) − ½,
///   J = mean_dims(d1 + d2),  shift ⇔ J > threshold.
/// Batches smaller than min_batch neither trigger nor update (the reference's hard-coded 64).
class shift_detector {
public:
    float threshold = 0.1f;      ///< domain_t
    float ema = 0.8f;            ///< v_dom ← ema·v_dom + (1 − ema)·v_cur, same for m
    std::size_t min_batch = 64;  ///< smaller batches neither check nor update

    /// True once domain statistics exist (after the first update() or assign()).
    bool has_domain() const noexcept { return !mean_.empty(); }
    /// The domain EMA of the per-dim mean and unbiased variance (empty without a domain).
    const std::vector<float>& mean() const noexcept { return mean_; }
    const std::vector<float>& var() const noexcept { return var_; }
    /// Forgets the domain (the next update() starts a new EMA).
    void clear() noexcept {
        mean_.clear();
        var_.clear();
    }
    /// Sets the domain statistics. Throws: zoa::error(shape) when mean and var differ in size.
    void assign(std::vector<float> mean, std::vector<float> var) {
        require(mean.size() == var.size(), error_code::shape, "shift_detector: mean has ", mean.size(),
                " dims, var has ", var.size());
        mean_ = std::move(mean);
        var_ = std::move(var);
    }

    /// J between the domain EMA and (mean, var); requires has_domain() and equal sizes.
    /// Throws: zoa::error(shape) when the sizes differ from the domain's.
    double divergence(const std::vector<float>& mean, const std::vector<float>& var) const {
        require(mean.size() == mean_.size() && var.size() == var_.size(), error_code::shape,
                "shift_detector: embedding has ", mean.size(), " dims, domain statistics have ", mean_.size());
        double total = 0;
        for (std::size_t d = 0; d < mean.size(); ++d) {
            const double dm2 = double(mean_[d] - mean[d]) * double(mean_[d] - mean[d]);
            const double d1 = (var_[d] + dm2) / 2.0 / (double(var[d]) + 1e-8) - 0.5;
            const double d2 = (var[d] + dm2) / 2.0 / (double(var_[d]) + 1e-8) - 0.5;
            total += d1 + d2;
        }
        return mean.empty() ? 0.0 : total / static_cast<double>(mean.size());
    }

    /// True when a domain exists, the batch is large enough and J > threshold.
    bool check(const std::vector<float>& mean, const std::vector<float>& var, std::size_t batch) const {
        if (batch < min_batch || !has_domain()) return false;
        return divergence(mean, var) > threshold;
    }

    /// Folds the batch statistics into the EMA (or starts it); no-op for small batches.
    /// Throws: zoa::error(shape) when the size differs from the domain's.
    void update(const std::vector<float>& mean, const std::vector<float>& var, std::size_t batch) {
        if (batch < min_batch) return;
        if (!has_domain()) {
            mean_ = mean;
            var_ = var;
            return;
        }
        require(mean.size() == mean_.size(), error_code::shape, "shift_detector: embedding has ", mean.size(),
                " dims, domain statistics have ", mean_.size());
        for (std::size_t d = 0; d < mean.size(); ++d) {
            mean_[d] = ema * mean_[d] + (1.0f - ema) * mean[d];
            var_[d] = ema * var_[d] + (1.0f - ema) * var[d];
        }
    }

private:
    std::vector<float> mean_, var_;
};

}  // namespace zoa::adapt
