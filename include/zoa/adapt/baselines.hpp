// zoa — the simple baselines on the adaptation hooks: NoAdapt, BN-adapt, T3A (spec §3)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/adapt/shift_detector.hpp"
#include "zoa/adapt/t3a.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/policy.hpp"

namespace zoa::adapt {

/// The (quantized) model as it is: one forward per batch, eval-mode BatchNorm (running statistics).
template <class Model>
class no_adapt {
public:
    /// Keeps a pointer to model. Requires: model outlives the adapter.
    explicit no_adapt(const Model& model) : model_(&model) {}
    /// Refused at compile time: the adapter keeps a pointer to the model, which a temporary would leave dangling.
    /// Keep the model in a variable that outlives the adapter.
    explicit no_adapt(const Model&&) : model_(nullptr) {
        static_assert(zoa::detail::dependent_false<Model>,
                      "zoa: no_adapt keeps a pointer to the model: construct it from a model variable that outlives "
                      "the adapter, not from a temporary");
    }
    /// One forward pass → logits B × C (valid until the next call). Nothing is adapted.
    /// Throws: whatever the model's forward_adapt throws (zoa::error(shape) for a wrong input shape).
    template <class Batch>
    const xt::xtensor<float, 2>& predict_and_adapt(const Batch& x) {
        forward_request req;
        req.embedding_stats = false;
        req.batch_statistics = batch_statistics_;
        model_->forward_adapt(x, req, r_);
        ++stats_.batches, ++stats_.forwards;
        stats_.last_forwards = 1;
        return r_.logits;
    }
    /// Counters (batches, forwards); state_bytes = 0.
    adapter_stats stats() const { return stats_; }
    /// Clears the counters (there is no other state).
    void reset() { stats_ = {}; }
    /// The counters are the whole state: restore(snapshot()) is the identity.
    adapter_stats snapshot() const { return stats_; }
    void restore(const adapter_stats& s) { stats_ = s; }

protected:
    bool batch_statistics_ = false;

private:
    const Model* model_;
    forward_result r_;
    adapter_stats stats_;
};

/// BN-adapt: BatchNorm normalises with each test batch's own statistics; no parameter changes. Identical to
/// NoAdapt for models without BatchNorm (ViT).
template <class Model>
class bn_adapt : public no_adapt<Model> {
public:
    /// Keeps a pointer to model. Requires: model outlives the adapter.
    explicit bn_adapt(const Model& model) : no_adapt<Model>(model) { this->batch_statistics_ = true; }
    /// Refused at compile time: the adapter keeps a pointer to the model, which a temporary would leave dangling.
    /// Keep the model in a variable that outlives the adapter.
    explicit bn_adapt(const Model&& model) : no_adapt<Model>(model) {
        static_assert(zoa::detail::dependent_false<Model>,
                      "zoa: bn_adapt keeps a pointer to the model: construct it from a model variable that outlives "
                      "the adapter, not from a temporary");
    }
};

/// T3A on a model with classify() and classifier_weight(): features from the forward (BatchNorm on batch
/// statistics, as the reference's configure_model does), outputs from the support-based classifier.
template <class Model>
class t3a_adapter {
public:
    /// Builds the warm-up supports from the model's classifier weight (reset()).
    /// Requires: model outlives the adapter and provides classify() and classifier_weight() (model_hooks.hpp).
    /// Throws: zoa::error(argument) when filter_k == 0, zoa::error(shape) when the classifier weight is not
    /// classes × last-group dim.
    t3a_adapter(const Model& model, t3a_options opt = {}) : model_(&model), opt_(opt) { reset(); }
    /// Refused at compile time: the adapter keeps a pointer to the model, which a temporary would leave dangling.
    /// Keep the model in a variable that outlives the adapter.
    t3a_adapter(const Model&&, t3a_options = {}) : model_(nullptr) {
        static_assert(zoa::detail::dependent_false<Model>,
                      "zoa: t3a_adapter keeps a pointer to the model: construct it from a model variable that outlives "
                      "the adapter, not from a temporary");
    }

    /// One forward (BatchNorm on batch statistics), then t3a::adapt_and_predict on the last feature group: logits B × C
    /// from the support classifier (valid until the next call).
    template <class Batch>
    const xt::xtensor<float, 2>& predict_and_adapt(const Batch& x) {
        forward_request req;
        req.embedding_stats = false;
        req.batch_statistics = true;
        model_->forward_adapt(x, req, r_);
        ++stats_.batches, ++stats_.forwards;
        stats_.last_forwards = 1;
        const std::size_t B = r_.features.shape(0), F = r_.features.shape(1), D = dim_;
        z_.resize(B * D);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t d = 0; d < D; ++d) z_[b * D + d] = r_.features(b, F - D + d);
        const std::vector<float> logits(r_.logits.begin(), r_.logits.end());
        const auto out = t3a_->adapt_and_predict(z_, logits, B);
        out_ = xt::xtensor<float, 2>::from_shape({B, classes_});
        std::copy(out.begin(), out.end(), out_.begin());
        return out_;
    }
    /// Counters, and state_bytes = the support bank's size.
    adapter_stats stats() const {
        adapter_stats s = stats_;
        s.state_bytes = t3a_->state_bytes();
        return s;
    }
    /// Everything mutable: the supports and the counters.
    struct state {
        t3a::supports_state supports;  ///< the supports of every class
        adapter_stats stats;           ///< counters at snapshot time
    };
    /// A copy of all mutable state; restore(snapshot()) continues bitwise.
    state snapshot() const { return {t3a_->snapshot(), stats_}; }
    /// Continues from a snapshot of an adapter on the same model. Throws: as t3a::restore.
    void restore(const state& s) {
        t3a_->restore(s.supports);
        stats_ = s.stats;
    }
    /// Back to the warm-up supports (the classifier's weight rows).
    void reset() {
        const adapt_layout l = model_->layout();
        classes_ = l.num_classes;
        dim_ = l.feature_groups.back();
        const std::vector<float> w = model_->classifier_weight();
        xt::xtensor<float, 2> rows = xt::xtensor<float, 2>::from_shape({classes_, dim_}), warm;
        std::copy(w.begin(), w.end(), rows.begin());
        model_->classify(rows, warm);
        t3a_.emplace(w, std::vector<float>(warm.begin(), warm.end()), classes_, dim_, opt_);
        stats_ = {};
    }

private:
    const Model* model_;
    t3a_options opt_;
    std::optional<t3a> t3a_;
    std::size_t classes_ = 0, dim_ = 0;
    forward_result r_;
    std::vector<float> z_;
    xt::xtensor<float, 2> out_;
    adapter_stats stats_;
};

/// Source statistics of the model's adaptation features over clean batches (spec §1.4), computed with the given
/// request (ViT: defaults; ResNet: batch_statistics = true, as the reference computes them). With `prime`, the
/// embedding statistics of the same passes are folded into that detector (the ResNet reference starts its domain
/// statistics during this pass, spec §6 item 5).
template <class Model, class Batches>
source_statistics compute_source_statistics(const Model& model, const Batches& batches, forward_request req = {},
                                            shift_detector* prime = nullptr) {
    statistics_accumulator acc;
    forward_result r;
    req.embedding_stats = prime != nullptr;
    for (const auto& x : batches) {
        model.forward_adapt(x, req, r);
        acc.add(r.features);
        if (prime) prime->update(r.embed_mean, r.embed_var, r.features.shape(0));
    }
    return acc.finish(model.layout().feature_groups);
}

}  // namespace zoa::adapt
