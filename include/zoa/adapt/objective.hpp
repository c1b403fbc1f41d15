// zoa — the ZOA/FOA adaptation objective: prediction entropy + λ × feature-statistics discrepancy (spec §1.5)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"

namespace zoa::adapt {

/// Per-dim statistics of the model's adaptation features on clean source images (spec §1.4), with provenance.
struct source_statistics {
    std::vector<float> mean;                    ///< μ^S, one per feature dim
    std::vector<float> std;                     ///< σ^S, unbiased
    std::vector<std::size_t> groups;            ///< feature group sizes (as adapt_layout::feature_groups)
    std::map<std::string, std::string> provenance;  ///< model hash, precision, image count, preprocessing, ...

    /// True before any statistics were set.
    bool empty() const noexcept { return mean.empty(); }
};

/// Accumulates feature rows and returns their per-dim mean and unbiased std (torch.std_mean(dim=0)).
/// Sums run in double: μ = Σx/n, σ² = (Σx² − n·μ²)/(n − 1).
class statistics_accumulator {
public:
    /// Adds the rows of a B × F feature batch. Throws: zoa::error(shape) when F differs from the first batch's.
    template <class = void>
    void add(const xt::xtensor<float, 2>& features) {
        const std::size_t B = features.shape(0), F = features.shape(1);
        if (sum_.empty()) sum_.assign(F, 0.0), sq_.assign(F, 0.0);
        require(F == sum_.size(), error_code::shape, "statistics_accumulator: batch has ", F, " features, expected ",
                sum_.size());
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t f = 0; f < F; ++f) {
                const double v = features(b, f);
                sum_[f] += v;
                sq_[f] += v * v;
            }
        count_ += B;
    }
    /// Rows added so far.
    std::size_t count() const noexcept { return count_; }

    /// Throws: zoa::error(argument) with fewer than 2 rows (the unbiased std is undefined).
    template <class = void>
    source_statistics finish(std::vector<std::size_t> groups) const {
        require(count_ >= 2, error_code::argument, "source statistics need at least 2 images, got ", count_);
        source_statistics s;
        s.groups = std::move(groups);
        const double n = static_cast<double>(count_);
        for (std::size_t f = 0; f < sum_.size(); ++f) {
            const double m = sum_[f] / n, v = std::max(0.0, (sq_[f] - n * m * m) / (n - 1.0));
            s.mean.push_back(static_cast<float>(m));
            s.std.push_back(static_cast<float>(std::sqrt(v)));
        }
        return s;
    }

private:
    std::vector<double> sum_, sq_;
    std::size_t count_ = 0;
};

/// The parts of one loss evaluation.
struct loss_terms {
    /// total = entropy + discrepancy (discrepancy already multiplied by λ).
    float total = 0, entropy = 0, discrepancy = 0;
};

/// Mean over the batch of H(softmax(z_b)) = logsumexp(z_b) − Σ_c softmax(z_b)_c·z_{b,c} (natural log).
template <class = void>
inline float mean_entropy(const xt::xtensor<float, 2>& logits) {
    const std::size_t B = logits.shape(0), C = logits.shape(1);
    double total = 0;
    for (std::size_t b = 0; b < B; ++b) {
        float m = logits(b, 0);
        for (std::size_t c = 1; c < C; ++c) m = std::max(m, logits(b, c));
        double z = 0, pz = 0;
        for (std::size_t c = 0; c < C; ++c) {
            const double e = std::exp(double(logits(b, c)) - m);
            z += e;
            pz += e * (double(logits(b, c)) - m);
        }
        total += std::log(z) - pz / z;
    }
    return B ? static_cast<float>(total / static_cast<double>(B)) : 0.0f;
}

/// λ × ( mean_g MSE_g(σ_B, σ^S) + mean_g MSE_g(μ_B, μ^S) ) over the feature groups g, where MSE_g is the mean over
/// the group's dims and σ_B, μ_B are the batch's unbiased std and mean per dim (torch.std_mean(dim=0)).
/// With equal groups (ViT) this is λ·(MSE(σ) + MSE(μ)) over all dims; ResNet's per-stage ¼·Σ_k is the unequal case.
/// A batch of 1 has no std: the σ term is dropped (documented fallback) and only the mean term counts.
/// Throws: zoa::error(shape) when the feature width or the group sizes do not match src, zoa::error(argument) for an
/// empty batch.
template <class = void>
inline float feature_discrepancy(const xt::xtensor<float, 2>& features, const source_statistics& src, float lambda) {
    const std::size_t B = features.shape(0), F = features.shape(1);
    require(F == src.mean.size() && F == src.std.size(), error_code::shape, "feature_discrepancy: features have ", F,
            " dims, source statistics have ", src.mean.size());
    require(B >= 1, error_code::argument, "feature_discrepancy: empty batch");
    double loss_std = 0, loss_mean = 0;
    std::size_t offset = 0;
    for (std::size_t g : src.groups) {
        double se_std = 0, se_mean = 0;
        for (std::size_t f = offset; f < offset + g; ++f) {
            double s = 0, s2 = 0;
            for (std::size_t b = 0; b < B; ++b) s += features(b, f);
            const double m = s / static_cast<double>(B);
            for (std::size_t b = 0; b < B; ++b) s2 += (features(b, f) - m) * (features(b, f) - m);
            se_mean += (m - src.mean[f]) * (m - src.mean[f]);
            if (B > 1) {
                const double sd = std::sqrt(s2 / static_cast<double>(B - 1));
                se_std += (sd - src.std[f]) * (sd - src.std[f]);
            }
        }
        loss_std += se_std / static_cast<double>(g);
        loss_mean += se_mean / static_cast<double>(g);
        offset += g;
    }
    require(offset == F, error_code::shape, "feature_discrepancy: groups cover ", offset, " dims, features have ", F);
    const double G = static_cast<double>(src.groups.size());
    return static_cast<float>(lambda * (loss_std / G + loss_mean / G));
}

/// ZOA's loss: mean entropy + feature_discrepancy.
template <class = void>
inline loss_terms zoa_loss(const xt::xtensor<float, 2>& features, const xt::xtensor<float, 2>& logits,
                           const source_statistics& src, float lambda) {
    loss_terms t;
    t.entropy = mean_entropy(logits);
    t.discrepancy = feature_discrepancy(features, src, lambda);
    t.total = t.entropy + t.discrepancy;
    return t;
}

}  // namespace zoa::adapt
