// zoa — the fused norm parametrisation and the bounded domain-knowledge bank (spec §1.3, §1.10–1.12)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/error.hpp"

namespace zoa::adapt {

/// Switches for the reference code's bugs that change results (spec §6); false = reference behaviour.
struct reference_fixes {
    bool resnet_shift_vector = false;   ///< §6.2: use the last feature group's source mean, not a scalar
    bool similarity_reindex = false;    ///< §6.3: re-index the similarity matrix on removal, argmax upper triangle
    bool detect_once_per_batch = false; ///< §6.4: domain detection/EMA once per batch, not in every forward
    bool logsumexp_alpha = false;       ///< §6.8: new α via logsumexp instead of fp32 log(Σ exp) (overflow)
};

/// State of all adapted norm layers (flat layout of adapt_layout):
///   p = softmax(s·α) over j = 0..N,  θ = θ⁰ + Σ_j p_j·Δ_j + ε     (Δ_0 = 0 is the origin entry)
/// Saving a domain appends Δ_{N+1} = θ − θ⁰ and rescales ε so θ is unchanged (continuity);
/// removing entry j deletes Δ_j and α_j and again re-absorbs the change into ε.
class norm_bank {
public:
    norm_bank() = default;

    /// Requires: layout has at least one norm layer. alpha0 is α's initial single entry (irrelevant while N = 0).
    /// Throws: zoa::error(argument) when the layout has no norm layer or a layer without weight/bias;
    /// zoa::error(numeric) when a source parameter is not finite.
    norm_bank(const adapt_layout& layout, std::size_t capacity, float alpha_scale, float weight_margin,
              float alpha_clip, reference_fixes fixes, float alpha0)
        : capacity_(capacity), s_(alpha_scale), margin_(weight_margin), clip_(alpha_clip), fixes_(fixes) {
        require(!layout.norms.empty(), error_code::argument, "norm_bank: the model exposes no adapted norm layer");
        for (const auto& l : layout.norms) {
            require(l.channels > 0 && l.weight && l.bias, error_code::argument, "norm_bank: norm layer '", l.name,
                    "' has no affine parameters");
            for (const float* src : {l.weight, l.bias}) {
                segments_.push_back(origin_.size());
                origin_.insert(origin_.end(), src, src + l.channels);
            }
        }
        segments_.push_back(origin_.size());
        for (float v : origin_)
            require(std::isfinite(v), error_code::numeric, "norm_bank: non-finite source norm parameter");
        reset(alpha0);
    }

    /// Back to the source model: N = 0, α = {alpha0}, ε = 0, empty similarity matrix.
    void reset(float alpha0) {
        const std::size_t P = origin_.size();
        deltas_.assign(P, 0.0f);
        epsilon_.assign(P, 0.0f);
        alpha_.assign(1, alpha0);
        similarity_.clear();
    }

    std::size_t size() const noexcept { return origin_.size(); }          ///< P, adapted scalars
    std::size_t stored() const noexcept { return alpha_.size() - 1; }      ///< N, stored domains
    /// Maximum stored domains (the policy's N; 0 = no bank).
    std::size_t capacity() const noexcept { return capacity_; }
    /// α, the N + 1 mixture logits (index 0 = origin); mutable for the optimiser.
    const std::vector<float>& alpha() const noexcept { return alpha_; }
    std::vector<float>& alpha() noexcept { return alpha_; }
    /// ε, the P free offsets of the current domain; mutable for the optimiser.
    const std::vector<float>& epsilon() const noexcept { return epsilon_; }
    std::vector<float>& epsilon() noexcept { return epsilon_; }
    /// θ⁰, the source affine parameters (P values, flat layout).
    const std::vector<float>& origin() const noexcept { return origin_; }
    /// Δ_j for j = 0..N (row j of an (N+1) × P matrix).
    const float* delta(std::size_t j) const noexcept { return deltas_.data() + j * origin_.size(); }
    const std::vector<float>& similarity() const noexcept { return similarity_; }
    /// Bytes held by the adaptation state (Δ rows, ε, α, similarity; the origin copy included).
    std::size_t bytes() const noexcept {
        return sizeof(float) * (deltas_.size() + epsilon_.size() + origin_.size() + alpha_.size() + similarity_.size());
    }

    /// p = softmax(s·α) with the given α (size N+1): p_j = exp(s·α_j − m) / Σ_k exp(s·α_k − m), m = max_k s·α_k.
    std::vector<float> mixture(const std::vector<float>& alpha) const {
        std::vector<float> p(alpha.size());
        float m = -std::numeric_limits<float>::infinity();
        for (float a : alpha) m = std::max(m, s_ * a);
        float sum = 0.0f;
        for (std::size_t j = 0; j < p.size(); ++j) sum += (p[j] = std::exp(s_ * alpha[j] - m));
        for (float& v : p) v /= sum;
        return p;
    }

    /// θ = θ⁰ + Σ_j p_j·Δ_j + ε for the given α (size N+1) and ε (size P), written to out (size P).
    void effective(const std::vector<float>& alpha, const float* epsilon, float* out) const {
        const std::size_t P = origin_.size();
        const auto p = mixture(alpha);
        for (std::size_t i = 0; i < P; ++i) out[i] = origin_[i];
        for (std::size_t j = 1; j < p.size(); ++j) {  // Δ_0 = 0 contributes nothing
            const float* d = delta(j);
            for (std::size_t i = 0; i < P; ++i) out[i] += p[j] * d[i];
        }
        for (std::size_t i = 0; i < P; ++i) out[i] += epsilon[i];
    }
    /// θ with the bank's own α and ε.
    void effective(float* out) const { effective(alpha_, epsilon_.data(), out); }

    /// Save the current domain (spec §1.10). If the bank is full, first removes the older member of the most
    /// similar pair. sf = max over the 2L tensors of mean|ε| / weight_margin; z = log(Σ_j exp(s·α_j)·(sf − 1)) if
    /// sf > 1 else −∞; α_new = clip(max(max_j s·α_j, z)/s, −clip, clip). θ is unchanged.
    /// Ensures: stored() grows by one (or stays at capacity after a removal); a no-op when capacity is 0.
    /// Throws: zoa::error(numeric) when the scale factor sf is not finite (ε holds a non-finite value).
    void save() {
        if (capacity_ == 0) return;
        if (stored() >= capacity_) remove(select_victim() + 1);
        float sf = 0.0f;
        for (std::size_t t = 0; t + 1 < segments_.size(); ++t) {
            float acc = 0.0f;
            for (std::size_t i = segments_[t]; i < segments_[t + 1]; ++i) acc += std::fabs(epsilon_[i]);
            sf = std::max(sf, acc / static_cast<float>(segments_[t + 1] - segments_[t]));
        }
        sf /= margin_;
        require(std::isfinite(sf), error_code::numeric, "norm_bank::save: non-finite scale factor");
        float max_logit = -std::numeric_limits<float>::infinity();
        for (float a : alpha_) max_logit = std::max(max_logit, s_ * a);
        float z = -std::numeric_limits<float>::infinity();
        if (sf > 1.0f) {
            if (fixes_.logsumexp_alpha) {
                float sum = 0.0f;
                for (float a : alpha_) sum += std::exp(s_ * a - max_logit);
                z = max_logit + std::log(sum) + std::log(sf - 1.0f);
            } else {  // reference: fp32 exp may overflow to +inf, then the clip makes α_new = clip
                float sum = 0.0f;
                for (float a : alpha_) sum += std::exp(s_ * a);
                z = std::log(sum * (sf - 1.0f));
            }
        }
        const float a_new = std::clamp(std::max(max_logit, z) / s_, -clip_, clip_);
        std::vector<float> cur(size());
        effective(cur.data());
        const std::size_t P = size();
        deltas_.resize(deltas_.size() + P);
        float* d_new = deltas_.data() + (alpha_.size()) * P;
        for (std::size_t i = 0; i < P; ++i) d_new[i] = cur[i] - origin_[i];
        alpha_.push_back(a_new);
        reabsorb(cur);
        add_similarity_column();
    }

    /// Removes stored entry j ∈ [1, N] (α/Δ indexing; the origin 0 is never removed); θ is unchanged.
    /// Throws: zoa::error(argument) when j is 0 or greater than N.
    void remove(std::size_t j) {
        require(j >= 1 && j <= stored(), error_code::argument, "norm_bank::remove: index ", j, " not in [1, ",
                stored(), "]");
        std::vector<float> cur(size());
        effective(cur.data());
        const std::size_t P = size();
        deltas_.erase(deltas_.begin() + static_cast<std::ptrdiff_t>(j * P),
                      deltas_.begin() + static_cast<std::ptrdiff_t>((j + 1) * P));
        alpha_.erase(alpha_.begin() + static_cast<std::ptrdiff_t>(j));
        reabsorb(cur);
        if (fixes_.similarity_reindex && !similarity_.empty()) {
            const std::size_t r = j - 1, C = capacity_;
            std::vector<float> s(C * C, 0.0f);
            for (std::size_t a = 0, na = 0; a < C; ++a) {
                if (a == r) continue;
                for (std::size_t b = 0, nb = 0; b < C; ++b) {
                    if (b == r) continue;
                    s[na * C + nb] = similarity_[a * C + b];
                    ++nb;
                }
                ++na;
            }
            similarity_ = std::move(s);
        }
    }

    /// The stored index (0-based among stored) to drop when full: the older member min(k, p) of the most similar
    /// pair. Reference: first maximum of the whole capacity × capacity matrix (zeros and diagonal included, stale
    /// entries after removals kept). Fixed: maximum over the strict upper triangle of the filled block.
    std::size_t select_victim() const {
        const std::size_t C = capacity_;
        if (similarity_.empty() || C < 2) return 0;
        std::size_t best_k = 0, best_p = 0;
        float best = -std::numeric_limits<float>::infinity();
        if (fixes_.similarity_reindex) {
            for (std::size_t k = 0; k < stored(); ++k)
                for (std::size_t p = k + 1; p < stored(); ++p)
                    if (similarity_[k * C + p] > best) best = similarity_[k * C + p], best_k = k, best_p = p;
        } else {
            for (std::size_t idx = 0; idx < C * C; ++idx)
                if (similarity_[idx] > best) best = similarity_[idx], best_k = idx / C, best_p = idx % C;
        }
        return std::min(best_k, best_p);
    }

    /// cos(Δ_a, Δ_b) for stored entries a, b (1-based α/Δ indexing): the unweighted mean over the 2L tensors of
    /// x·y / (max(‖x‖, 1e−8)·max(‖y‖, 1e−8)).
    float cosine(std::size_t a, std::size_t b) const {
        const float *x = delta(a), *y = delta(b);
        float total = 0.0f;
        const std::size_t T = segments_.size() - 1;
        for (std::size_t t = 0; t < T; ++t) {
            double xy = 0, xx = 0, yy = 0;
            for (std::size_t i = segments_[t]; i < segments_[t + 1]; ++i) {
                xy += double(x[i]) * y[i];
                xx += double(x[i]) * x[i];
                yy += double(y[i]) * y[i];
            }
            total += static_cast<float>(xy / (std::max(std::sqrt(xx), 1e-8) * std::max(std::sqrt(yy), 1e-8)));
        }
        return total / static_cast<float>(T);
    }

    /// Replaces the whole state (used by snapshot/restore and state files). Sizes are validated.
    /// Throws: zoa::error(shape) unless 1 <= alpha.size() <= capacity + 1, deltas.size() == alpha.size()·P,
    /// epsilon.size() == P and similarity is empty or capacity².
    void assign(std::vector<float> alpha, std::vector<float> deltas, std::vector<float> epsilon,
                std::vector<float> similarity) {
        require(!alpha.empty() && alpha.size() <= capacity_ + 1, error_code::shape, "norm_bank: alpha has ",
                alpha.size(), " entries, expected 1..", capacity_ + 1);
        require(deltas.size() == alpha.size() * size() && epsilon.size() == size(), error_code::shape,
                "norm_bank: delta/epsilon sizes ", deltas.size(), "/", epsilon.size(), " do not match ",
                alpha.size(), " entries of ", size(), " parameters");
        require(similarity.empty() || similarity.size() == capacity_ * capacity_, error_code::shape,
                "norm_bank: similarity has ", similarity.size(), " entries, expected ", capacity_ * capacity_);
        alpha_ = std::move(alpha);
        deltas_ = std::move(deltas);
        epsilon_ = std::move(epsilon);
        similarity_ = std::move(similarity);
    }
    /// All Δ rows, (N + 1) × P row-major (row 0 = 0).
    const std::vector<float>& deltas() const noexcept { return deltas_; }

private:
    // ε ← ε + (cur − θ(new α, Δ, ε)): keeps θ equal to cur after α/Δ changed.
    void reabsorb(const std::vector<float>& cur) {
        std::vector<float> now(size());
        effective(now.data());
        for (std::size_t i = 0; i < size(); ++i) epsilon_[i] += cur[i] - now[i];
    }

    // After appending stored entry k (0-based): S[j,k] = cos(Δ_j, Δ_k) for j < k, S[k,k] = 0.
    void add_similarity_column() {
        const std::size_t C = capacity_, k = stored() - 1;
        if (similarity_.empty()) similarity_.assign(C * C, 0.0f);
        for (std::size_t j = 0; j < k; ++j) similarity_[j * C + k] = cosine(j + 1, k + 1);
        similarity_[k * C + k] = 0.0f;
    }

    std::size_t capacity_ = 0;
    float s_ = 10.0f, margin_ = 0.01f, clip_ = 10.0f;
    reference_fixes fixes_;
    std::vector<std::size_t> segments_;  // 2L + 1 offsets of the w/b tensors in the flat layout
    std::vector<float> origin_, deltas_, epsilon_, alpha_, similarity_;
};

}  // namespace zoa::adapt

namespace zoa {
namespace bank {
/// A single ε, no stored domains; a detected shift only resets the activation-shift history.
struct no_bank;
/// A single ε that is zeroed (back to the source model) on every detected shift.
struct reset_on_shift;
/// The paper's softmax-mixed bank of N stored domains with cosine-similarity pruning (default N = 32).
template <std::size_t N = 32>
struct fused_bank;
}  // namespace bank

namespace axis {
/// Policy axis: what happens to adapted knowledge on a domain shift. Default: bank::fused_bank<32>.
/// An option provides `static constexpr std::size_t capacity` and `static void on_shift(adapt::norm_bank&)`.
struct knowledge_bank {
    using default_option = bank::fused_bank<32>;
};
}  // namespace axis

namespace bank {
/// bank::no_bank: capacity 0, on_shift does nothing.
struct no_bank {
    using axis = zoa::axis::knowledge_bank;
    static constexpr std::size_t capacity = 0;           ///< no stored domains
    static void on_shift(adapt::norm_bank&) noexcept {}  ///< nothing to do
};
/// bank::reset_on_shift: capacity 0, on_shift zeroes ε.
struct reset_on_shift {
    using axis = zoa::axis::knowledge_bank;
    static constexpr std::size_t capacity = 0;  ///< no stored domains
    static void on_shift(adapt::norm_bank& b) { std::fill(b.epsilon().begin(), b.epsilon().end(), 0.0f); }  ///< ε ← 0
};
/// bank::fused_bank<N>: capacity N, on_shift saves the domain (norm_bank::save).
template <std::size_t N>
struct fused_bank {
    using axis = zoa::axis::knowledge_bank;
    static constexpr std::size_t capacity = N;               ///< stored domains kept
    static void on_shift(adapt::norm_bank& b) { b.save(); }  ///< store θ − θ⁰
};
}  // namespace bank
}  // namespace zoa
