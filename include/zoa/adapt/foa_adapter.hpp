// zoa — FOA (Niu et al., ICML 2024): CMA-ES over input prompts with activation shifting (spec §2), 28 forwards/batch
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/cma_es.hpp"
#include "zoa/adapt/model_hooks.hpp"
#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/core/rng.hpp"

namespace zoa::adapt {

/// FOA's knobs (reference defaults).
struct foa_options {
    std::size_t num_prompts = 3;       ///< ViT prompt tokens (--num_prompts); ResNet uses one 3×3×7×7 input conv
    std::size_t popsize = 27;          ///< CMA-ES λ (--popsize); each batch evaluates λ + 1 candidates
    double sigma0 = 1.0;               ///< CMA-ES initial step size
    float lambda = 0.4f;               ///< --fitness_lambda
    float shift_ema = 0.9f;            ///< activation-shift history EMA
    bool activation_shift = true;      ///< FOA's activation shifting of the head input
    bool resnet_shift_vector = false;  ///< fix of spec §6 item 2 (reference: scalar source mean)
    std::uint64_t seed = 2020;         ///< CMA-ES and prompt-initialisation seed
};

/// Everything mutable in a foa_adapter: the CMA-ES state, the previous batch's best prompt, the shift history.
struct foa_state {
    cma_es::state es;                      ///< the CMA-ES distribution
    std::vector<float> best_prompt, hist;  ///< the prompt the next batch starts from; the shift history
    adapter_stats stats;  ///< counters at snapshot time
};

/// FOA fitness (spec §2.1, §2.2):
///   ViT:    λ·(Σ_d (σ_d − σ^S_d)² + Σ_d (μ_d − μ^S_d)²)·B/64 + Σ_b H(softmax(z_b))      (sums)
///   ResNet: λ·(¼Σ_k MSE(σ_k, σ^S_k) + ¼Σ_k MSE(μ_k, μ^S_k)) + mean_b H(softmax(z_b))  (means per stage)
inline float foa_loss(const xt::xtensor<float, 2>& features, const xt::xtensor<float, 2>& logits,
                      const source_statistics& src, float lambda, model_family family) {
    const auto B = static_cast<float>(features.shape(0));
    if (family == model_family::resnet)
        return feature_discrepancy(features, src, lambda) + mean_entropy(logits);
    // equal groups: feature_discrepancy = λ·(Σ_d … + Σ_d …)/F, so multiply back by F
    const auto F = static_cast<float>(features.shape(1));
    return feature_discrepancy(features, src, lambda) * F * B / 64.0f + mean_entropy(logits) * B;
}

/// FOA's initial prompt, a function of the model's layout and the seed only (spec §2.1, §2.2): ViT
/// num_prompts·prompt_unit draws of U(−a, a), a = layout.prompt_init_scale (PromptViT; it seeds the first "previous
/// best", CMA-ES starts at 0); ResNet prompt_unit draws of N(0, a²) (PromptResNet's kaiming conv; CMA-ES starts at it).
inline std::vector<float> foa_initial_prompt(const adapt_layout& l, const foa_options& opt) {
    const bool resnet = l.family == model_family::resnet;
    std::vector<float> p(resnet ? l.prompt_unit : opt.num_prompts * l.prompt_unit);
    rng r(opt.seed, 0x70726f6d7074ull);
    for (float& v : p) v = resnet ? l.prompt_init_scale * r.normal() : l.prompt_init_scale * (2.0f * r.uniform() - 1.0f);
    return p;
}

/// FOA's source statistics over clean batches, as the reference's obtain_origin_stat computes them:
///   ViT: without prompts, identical to compute_source_statistics (spec §2.1);
///   ResNet: BatchNorm on batch statistics and the initial prompt conv active (foa_initial_prompt): main.py wraps the
///           model in PromptResNet, whose conv is random (kaiming) and applied, before the statistics pass (§2.2).
/// Throws: whatever the model's forward throws.
template <class Model, class Batches>
source_statistics compute_foa_source_statistics(const Model& model, const Batches& batches,
                                                const foa_options& opt = {}) {
    const adapt_layout l = model.layout();
    if (l.family != model_family::resnet) return compute_source_statistics(model, batches);
    const std::vector<float> prompt = foa_initial_prompt(l, opt);
    forward_request req;
    req.batch_statistics = true;
    req.prompt = prompt.data();
    req.prompt_size = prompt.size();
    return compute_source_statistics(model, batches, req);
}

/// FOA for any adaptable model with a prompt hook (layout().prompt_unit > 0). Per batch: shift from the history;
/// candidates = CMA-ES ask() (λ) + the previous batch's best prompt; one forward each (so λ + 1 = 28 passes);
/// the prediction is the lowest-loss candidate's output (shifted); tell(all candidates, losses); the history
/// EMA takes the mean over candidates of the last feature group's batch mean.
template <class Model>
class foa_adapter {
public:
    /// Requires: model outlives the adapter. Throws: zoa::error(argument) when the model takes no prompt
    /// (layout().prompt_unit == 0) or popsize < 2; zoa::error(shape) when the source statistics do not match the
    /// features.
    foa_adapter(const Model& model, foa_options opt, source_statistics source)
        : model_(&model), opt_(opt), src_(std::move(source)), layout_(model.layout()) {
        require(layout_.prompt_unit > 0, error_code::argument, "foa_adapter: the model takes no prompt");
        require(!src_.empty() && src_.mean.size() == layout_.feature_width(), error_code::shape,
                "foa_adapter: source statistics have ", src_.mean.size(), " dims, the model produces ",
                layout_.feature_width());
        require(opt_.popsize >= 2, error_code::argument, "foa_adapter: popsize must be >= 2, got ", opt_.popsize);
        reset();
    }
    /// Refused at compile time: the adapter keeps a pointer to the model, which a temporary would leave dangling.
    /// Keep the model in a variable that outlives the adapter.
    foa_adapter(const Model&&, foa_options, source_statistics) : model_(nullptr) {
        static_assert(zoa::detail::dependent_false<Model>,
                      "zoa: foa_adapter keeps a pointer to the model: construct it from a model variable that outlives "
                      "the adapter, not from a temporary");
    }


    /// Predicts the batch (the best candidate's logits B × C, valid until the next call) and runs one CMA-ES
    /// generation: popsize + 1 forward passes. The previous best prompt is evaluated first (it needs no CMA-ES draw),
    /// so a batch the model rejects (wrong shape, non-finite input) throws before anything changes: the CMA-ES
    /// state, the counters and the shift history are exactly as before the call. Candidates are then ranked in the
    /// reference's order (the CMA-ES samples, then the previous best), so results do not depend on this.
    template <class Batch>
    const xt::xtensor<float, 2>& predict_and_adapt(const Batch& x) {
        const std::size_t D = layout_.feature_groups.back(), F = layout_.feature_width();
        const bool use_shift = opt_.activation_shift && !hist_.empty();
        if (use_shift) {
            shift_.resize(D);
            const bool scalar = layout_.family == model_family::resnet && !opt_.resnet_shift_vector;
            for (std::size_t i = 0; i < D; ++i) shift_[i] = (scalar ? src_.mean.back() : src_.mean[F - D + i]) - hist_[i];
        }
        std::vector<double> mean_last(D, 0.0), mean_prev(D, 0.0);
        const double loss_prev = evaluate(x, best_prompt_, use_shift, mean_prev);  // may throw: nothing changed yet
        prev_logits_ = use_shift ? r_.shifted_logits : r_.logits;
        candidates_ = es_->ask();
        candidates_.push_back(best_prompt_);
        losses_.assign(candidates_.size(), std::numeric_limits<double>::quiet_NaN());
        double best = std::numeric_limits<double>::infinity();
        std::size_t best_k = candidates_.size() - 1, finite_count = 0;
        const auto rank = [&](std::size_t k, double loss) {
            if (!std::isfinite(loss)) return false;
            losses_[k] = loss;
            ++finite_count;
            if (loss >= best) return false;
            best = loss;
            best_k = k;
            return true;
        };
        for (std::size_t k = 0; k + 1 < candidates_.size(); ++k) {
            const double loss = evaluate(x, candidates_[k], use_shift, mean_last);
            if (rank(k, loss)) prediction_ = use_shift ? r_.shifted_logits : r_.logits;
        }
        for (std::size_t i = 0; i < D; ++i) mean_last[i] += mean_prev[i];
        if (rank(candidates_.size() - 1, loss_prev)) prediction_ = prev_logits_;
        ++stats_.batches;
        stats_.last_forwards = candidates_.size();
        if (finite_count == 0) {  // nothing to learn from: keep the state, predict with the previous best
            ++stats_.skipped_updates;
            forward_request req;
            req.prompt = best_prompt_.data();
            req.prompt_size = best_prompt_.size();
            req.batch_statistics = layout_.family == model_family::resnet;
            model_->forward_adapt(x, req, r_);
            ++stats_.forwards;
            prediction_ = r_.logits;
            return prediction_;
        }
        stats_.last_loss.total = static_cast<float>(best);
        es_->tell(candidates_, losses_);
        best_prompt_ = candidates_[best_k];
        const bool first = hist_.empty();
        hist_.resize(D);
        for (std::size_t i = 0; i < D; ++i) {
            const auto m = static_cast<float>(mean_last[i] / double(candidates_.size()));
            hist_[i] = first ? m : opt_.shift_ema * hist_[i] + (1.0f - opt_.shift_ema) * m;
        }
        return prediction_;
    }

    /// New CMA-ES, new initial prompt, no shift history (the reference's reset()).
    void reset() {
        best_prompt_ = foa_initial_prompt(layout_, opt_);
        std::vector<double> x0(best_prompt_.size(), 0.0);
        if (layout_.family == model_family::resnet) x0.assign(best_prompt_.begin(), best_prompt_.end());
        cma_options co;
        co.popsize = opt_.popsize;
        co.seed = opt_.seed;
        es_.emplace(std::move(x0), opt_.sigma0, co);
        hist_.clear();
        stats_ = {};
    }

    /// A copy of all mutable state; restore(snapshot()) continues bitwise.
    foa_state snapshot() const { return {es_->snapshot(), best_prompt_, hist_, stats_}; }
    /// Continues from a snapshot of an adapter on the same model with the same options.
    /// Throws: zoa::error(shape) when the prompt or history size does not match the model, errors of
    /// cma_es::restore; the adapter is unchanged then.
    void restore(const foa_state& s) {
        require(s.best_prompt.size() == best_prompt_.size(), error_code::shape, "foa_adapter::restore: prompt has ",
                s.best_prompt.size(), " entries, expected ", best_prompt_.size());
        require(s.hist.empty() || s.hist.size() == layout_.feature_groups.back(), error_code::shape,
                "foa_adapter::restore: shift history has ", s.hist.size(), " dims, expected ",
                layout_.feature_groups.back());
        es_->restore(s.es);
        best_prompt_ = s.best_prompt;
        hist_ = s.hist;
        stats_ = s.stats;
    }

    /// Counters; state_bytes = CMA-ES state + best prompt + shift history.
    adapter_stats stats() const {
        adapter_stats s = stats_;
        s.state_bytes = es_->state_bytes() + sizeof(float) * (best_prompt_.size() + hist_.size());
        return s;
    }
    /// The prompt the next batch starts from (the last batch's best).
    const std::vector<float>& best_prompt() const noexcept { return best_prompt_; }

private:
    // One candidate's forward (counted); returns its FOA loss and adds its last-group batch mean to mean_last.
    template <class Batch>
    double evaluate(const Batch& x, const std::vector<float>& prompt, bool use_shift, std::vector<double>& mean_last) {
        forward_request req;
        req.prompt = prompt.data();
        req.prompt_size = prompt.size();
        req.shift = use_shift ? shift_.data() : nullptr;
        req.embedding_stats = false;
        req.batch_statistics = layout_.family == model_family::resnet;
        model_->forward_adapt(x, req, r_);
        ++stats_.forwards;
        const std::size_t B = r_.features.shape(0), D = mean_last.size(), F = layout_.feature_width();
        for (std::size_t i = 0; i < D; ++i) {
            double s = 0;
            for (std::size_t b = 0; b < B; ++b) s += r_.features(b, F - D + i);
            mean_last[i] += s / double(B);
        }
        return foa_loss(r_.features, r_.logits, src_, opt_.lambda, layout_.family);
    }

    const Model* model_;
    foa_options opt_;
    source_statistics src_;
    adapt_layout layout_;
    std::optional<cma_es> es_;
    std::vector<std::vector<float>> candidates_;
    std::vector<double> losses_;
    std::vector<float> best_prompt_, hist_, shift_;
    forward_result r_;
    xt::xtensor<float, 2> prediction_, prev_logits_;
    adapter_stats stats_;
};

}  // namespace zoa::adapt
