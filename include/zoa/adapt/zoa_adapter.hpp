// zoa — the ZOA adapter: predict, then one SPSA step on the fused norm parameters, two forward passes per batch
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/knowledge_bank.hpp"
#include "zoa/adapt/model_hooks.hpp"
#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/optimizers.hpp"
#include "zoa/adapt/options.hpp"
#include "zoa/adapt/perturbation.hpp"
#include "zoa/adapt/shift_detector.hpp"
#include "zoa/adapt/spsa.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/core/rng.hpp"

namespace zoa::adapt {

/// Counters and sizes reported by an adapter.
struct adapter_stats {
    std::uint64_t batches = 0;            ///< predict_and_adapt calls
    std::uint64_t forwards = 0;           ///< model forward passes, in total
    std::uint64_t last_forwards = 0;      ///< forward passes of the last batch
    std::uint64_t domain_shifts = 0;      ///< detected shifts
    std::uint64_t skipped_updates = 0;    ///< batches whose update was skipped (non-finite loss or features)
    std::size_t bank_size = 0;            ///< stored domains N
    std::size_t state_bytes = 0;          ///< bytes of adaptation state (bank, ε, α, statistics, buffers)
    loss_terms last_loss;                 ///< loss of the last unperturbed forward
};

/// Which model an adapter state belongs to. A state is deltas relative to one model's source norm parameters, so
/// zoa_adapter::restore refuses a state whose identity differs from its own model's in any field.
struct state_identity {
    std::string family;       ///< "vit" or "resnet"
    std::string precision;    ///< adapt_layout::precision ("fp32", "w6a6", ...)
    std::string layout;       ///< the adapted layout: "<norm>:<channels>,...;features=<g>,...;classes=<C>;embedding=<E>"
    std::string fingerprint;  ///< 16 hex digits: FNV-1a (64-bit) of the source norm parameters' bytes, layout order

    bool operator==(const state_identity& o) const {
        return family == o.family && precision == o.precision && layout == o.layout && fingerprint == o.fingerprint;
    }
    bool operator!=(const state_identity& o) const { return !(*this == o); }
};

/// The identity of a model as an adapter sees it (layout() of the model).
inline state_identity identity_of(const adapt_layout& l) {
    state_identity id;
    id.family = l.family == model_family::resnet ? "resnet" : "vit";
    id.precision = l.precision;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: h = (h XOR byte)·1099511628211 per byte
    const auto hash = [&h](const float* p, std::size_t n) {
        const auto* b = reinterpret_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
    };
    for (std::size_t i = 0; i < l.norms.size(); ++i) {
        const auto& n = l.norms[i];
        id.layout += (i ? "," : "") + n.name + ":" + std::to_string(n.channels);
        if (n.weight) hash(n.weight, n.channels);
        if (n.bias) hash(n.bias, n.channels);
    }
    id.layout += ";features=";
    for (std::size_t i = 0; i < l.feature_groups.size(); ++i)
        id.layout += (i ? "," : "") + std::to_string(l.feature_groups[i]);
    id.layout += ";classes=" + std::to_string(l.num_classes) + ";embedding=" + std::to_string(l.embedding_dim);
    static const char* digits = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) id.fingerprint += digits[(h >> shift) & 0xfu];
    return id;
}

/// Everything mutable in a zoa_adapter (the model itself is never modified).
struct zoa_state {
    state_identity identity;  ///< the model the state belongs to (snapshot() fills it)
    /// The knowledge bank (α, Δ rows, ε, similarity matrix) and the SGD momentum buffer.
    std::vector<float> alpha, deltas, epsilon, similarity, sgd_buffer;
    std::vector<float> hist;                  ///< activation-shift history (empty = none)
    /// Domain-shift detector statistics (empty = no domain yet).
    std::vector<float> domain_mean, domain_var;
    adapter_stats stats;  ///< counters at snapshot time
};

/// ZOA (spec §1.6) for any model satisfying is_adaptable_v<Model, Batch> (ViT, ResNet, a user's network).
/// Per batch: (1) forward with the current parameters → prediction (with activation shift), loss L0, embedding
/// statistics; (2) domain-shift detection, on a shift the knowledge-bank policy acts (fused_bank: save the domain);
/// (3) one SPSA estimate with a perturbed forward: ĝ = (L1 − L0)·weight(u)/c, for α and ε alike;
/// (4) AdamW (state reset every step) on α when N ≥ 1, SGD on ε; (5) shift-history EMA.
/// Predict-then-update: the returned logits come from pass (1). Default: 2 forward passes per batch.
/// Thread safety: one adapter per stream; the model may be shared (it is only read).
template <class Model, class Policy = zoa::policy<>>
class zoa_adapter {
public:
    /// The policy's perturbation distribution and knowledge-bank strategy.
    using perturbation = policy_get_t<Policy, axis::perturbation>;
    using bank_policy = policy_get_t<Policy, axis::knowledge_bank>;
    static_assert(perturb::is_perturbation_v<perturbation>,
                  "zoa: the perturbation option needs `static float sample(zoa::rng&)` and `static float weight(float)`");

    /// Throws: zoa::error(argument) when the source statistics are missing, (shape) when they do not match the
    /// model's feature groups, or when options are invalid.
    zoa_adapter(const Model& model, zoa_options options, source_statistics source)
        : model_(&model), opt_(options), src_(std::move(source)), layout_(model.layout()), identity_(identity_of(layout_)) {
        opt_.validate();
        require(!src_.empty(), error_code::argument,
                "zoa_adapter: source statistics are required (compute them on clean source images first)");
        require(src_.groups == layout_.feature_groups && src_.mean.size() == layout_.feature_width() &&
                    src_.std.size() == src_.mean.size(),
                error_code::shape, "zoa_adapter: source statistics have ", src_.mean.size(), " dims in ",
                src_.groups.size(), " groups, the model produces ", layout_.feature_width(), " in ",
                layout_.feature_groups.size());
        bank_ = norm_bank(layout_, bank_policy::capacity, opt_.alpha_scale, opt_.weight_margin, opt_.alpha_clip,
                          opt_.fixes, initial_alpha());
        reset();
    }

    /// Refused at compile time: the adapter keeps a pointer to the model, which a temporary would leave dangling.
    /// Keep the model in a variable that outlives the adapter.
    zoa_adapter(const Model&&, zoa_options, source_statistics) : model_(nullptr) {
        static_assert(zoa::detail::dependent_false<Model>,
                      "zoa: zoa_adapter keeps a pointer to the model: construct it from a model variable that outlives "
                      "the adapter, not from a temporary");
    }

    /// Predicts the batch (logits B × C) and adapts. The returned reference stays valid until the next call.
    /// A batch the model rejects with an error changes nothing (stats() included).
    template <class Batch>
    const xt::xtensor<float, 2>& predict_and_adapt(const Batch& x) {
        static_assert(is_adaptable_v<Model, Batch>, "zoa: Model must provide layout() and forward_adapt(batch, request, result)");
        rng r(opt_.seed, stats_.batches);
        const std::uint64_t forwards_before = stats_.forwards;
        const std::size_t P = bank_.size();
        theta_.resize(P);
        bank_.effective(theta_.data());
        const bool use_shift = opt_.activation_shift && !hist_.empty();
        if (use_shift) make_shift();
        // A batch the model rejects (wrong shape, non-finite input) throws here, before anything changed: the
        // counters (which seed the perturbations) and the state stay as if the batch had never been offered.
        forward(x, theta_.data(), use_shift ? shift_.data() : nullptr, r0_);
        ++stats_.batches;
        const std::size_t B = r0_.features.shape(0);
        prediction_ = use_shift ? r0_.shifted_logits : r0_.logits;
        if (!finite(r0_)) {
            ++stats_.skipped_updates;
            stats_.last_forwards = stats_.forwards - forwards_before;
            return prediction_;
        }
        // (2) detection on the embedding, then the domain EMA (order of spec §1.9: SAVE → clear → UPDATE)
        bool changed = detector_.check(r0_.embed_mean, r0_.embed_var, B);
        if (changed) {
            ++stats_.domain_shifts;
            bank_policy::on_shift(bank_);
            detector_.clear();
            hist_.clear();
        }
        detector_.update(r0_.embed_mean, r0_.embed_var, B);
        stats_.last_loss = zoa_loss(r0_.features, r0_.logits, src_, opt_.lambda);
        batch_mean_last(r0_.features, bm_last_);

        for (int step = 0; step < opt_.steps; ++step) spsa_step(x, r, step == 0, stats_.last_loss.total);

        // (5) hist = bm if none else 0.9·hist + 0.1·bm
        if (hist_.empty())
            hist_ = bm_last_;
        else
            for (std::size_t i = 0; i < hist_.size(); ++i)
                hist_[i] = opt_.shift_ema * hist_[i] + (1.0f - opt_.shift_ema) * bm_last_[i];
        stats_.last_forwards = stats_.forwards - forwards_before;
        return prediction_;
    }

    /// Predicts with the current adapted parameters (and activation shift) without updating anything.
    template <class Batch>
    xt::xtensor<float, 2> predict(const Batch& x) {
        theta_.resize(bank_.size());
        bank_.effective(theta_.data());
        const bool use_shift = opt_.activation_shift && !hist_.empty();
        if (use_shift) make_shift();
        forward_result r;
        forward(x, theta_.data(), use_shift ? shift_.data() : nullptr, r);
        return use_shift ? r.shifted_logits : r.logits;
    }

    /// Back to the state of a freshly constructed adapter (bitwise).
    void reset() {
        bank_.reset(initial_alpha());
        sgd_ = sgd{opt_.lr, opt_.momentum, opt_.weight_decay, {}};
        adamw_ = adamw_first_step{opt_.lr_alpha, opt_.weight_decay_alpha};
        detector_ = shift_detector{};
        detector_.threshold = opt_.domain_t;
        detector_.ema = opt_.domain_ema;
        detector_.min_batch = opt_.min_detect_batch;
        hist_.clear();
        stats_ = adapter_stats{};
    }

    /// A copy of all mutable state, with the model's identity; restore(snapshot()) is the identity.
    zoa_state snapshot() const {
        zoa_state s;
        s.identity = identity_;
        s.alpha = bank_.alpha();
        s.deltas = bank_.deltas();
        s.epsilon = bank_.epsilon();
        s.similarity = bank_.similarity();
        s.sgd_buffer = sgd_.buffer;
        s.hist = hist_;
        s.domain_mean = detector_.mean();
        s.domain_var = detector_.var();
        s.stats = stats_;
        return s;
    }

    /// Largest |α| a restored state may hold: α are softmax logits scaled by alpha_scale (10), saturated far below
    /// this; 1e30 would overflow the reference's exp(s·α) in the next save.
    static constexpr float max_abs_alpha = 1e4f;

    /// Replaces all mutable state with `s`, after checking all of it (strong guarantee: on an error nothing changed).
    /// Checks: the identity equals this adapter's model's (family, precision, adapted layout, fingerprint of the
    /// source norm parameters); sizes against the layout and the bank capacity (α: 1..capacity+1, Δ: rows × P with
    /// row 0 zero, ε and the SGD buffer: P, similarity: capacity², history: last feature group, domain statistics:
    /// both empty or both embedding_dim); every value finite, |α| <= max_abs_alpha, similarities in [−1, 1],
    /// domain variances >= 0.
    /// Throws: zoa::error(argument) for another model's state, zoa::error(shape) for sizes, zoa::error(numeric) for
    /// values; each message names the field, the expected and the actual value.
    void restore(const zoa_state& s) {
        validate(s);
        norm_bank bank = bank_;
        bank.assign(s.alpha, s.deltas, s.epsilon, s.similarity);
        std::vector<float> buffer = s.sgd_buffer, hist = s.hist;
        shift_detector detector = detector_;
        if (s.domain_mean.empty())
            detector.clear();
        else
            detector.assign(s.domain_mean, s.domain_var);
        // commit: moves only, nothing can throw from here on
        bank_ = std::move(bank);
        sgd_.buffer = std::move(buffer);
        hist_ = std::move(hist);
        detector_ = std::move(detector);
        stats_ = s.stats;
    }

    /// Starts the domain statistics from given embedding statistics (the ResNet reference computes them during the
    /// source-statistics pass, spec §6 item 5).
    void prime_domain(const std::vector<float>& mean, const std::vector<float>& var) { detector_.assign(mean, var); }

    /// Counters, bank size N and state bytes.
    adapter_stats stats() const {
        adapter_stats s = stats_;
        s.bank_size = bank_.stored();
        s.state_bytes = bank_.bytes() + sizeof(float) * (sgd_.buffer.size() + hist_.size() + detector_.mean().size() +
                                                         detector_.var().size() + src_.mean.size() + src_.std.size());
        return s;
    }
    /// The knowledge bank, the options (validated) and the source statistics in use.
    const norm_bank& bank() const noexcept { return bank_; }
    const zoa_options& options() const noexcept { return opt_; }
    const source_statistics& source() const noexcept { return src_; }
    /// The effective norm parameters θ now (flat layout of adapt_layout).
    std::vector<float> effective_parameters() const {
        std::vector<float> t(bank_.size());
        bank_.effective(t.data());
        return t;
    }

private:
    void validate(const zoa_state& s) const {
        const char* who = "zoa_adapter::restore: ";
        const state_identity& a = s.identity;
        const state_identity& b = identity_;
        require(a.family == b.family, error_code::argument, who, "the state belongs to a ",
                a.family.empty() ? "<unnamed>" : a.family, " model, this adapter's model is a ", b.family);
        require(a.precision == b.precision, error_code::argument, who, "the state was adapted on a ",
                a.precision.empty() ? "<unstated>" : a.precision, " model, this adapter's model is ",
                b.precision.empty() ? "<unstated>" : b.precision);
        require(a.layout == b.layout, error_code::argument, who, "the state's adapted layout '", a.layout,
                "' differs from this model's '", b.layout, "'");
        require(a.fingerprint == b.fingerprint, error_code::argument, who, "the state belongs to a model whose source ",
                "norm parameters have fingerprint ", a.fingerprint.empty() ? "<none>" : a.fingerprint,
                ", this adapter's model has ", b.fingerprint, " (other weights)");
        const std::size_t P = bank_.size(), C = bank_.capacity(), D = layout_.feature_groups.back();
        require(!s.alpha.empty() && s.alpha.size() <= C + 1, error_code::shape, who, "alpha has ", s.alpha.size(),
                " entries, expected 1..", C + 1, " (bank capacity ", C, ")");
        require(s.deltas.size() == s.alpha.size() * P, error_code::shape, who, "deltas has ", s.deltas.size(),
                " entries, expected ", s.alpha.size(), " rows of ", P);
        require(s.epsilon.size() == P, error_code::shape, who, "epsilon has ", s.epsilon.size(), " entries, expected ",
                P);
        require(s.similarity.empty() || s.similarity.size() == C * C, error_code::shape, who, "similarity has ",
                s.similarity.size(), " entries, expected 0 or ", C * C);
        require(s.sgd_buffer.empty() || s.sgd_buffer.size() == P, error_code::shape, who, "sgd_buffer has ",
                s.sgd_buffer.size(), " entries, expected 0 or ", P);
        require(s.hist.empty() || s.hist.size() == D, error_code::shape, who, "shift history has ", s.hist.size(),
                " dims, expected 0 or ", D);
        const std::size_t E = layout_.embedding_dim;
        require(s.domain_mean.size() == s.domain_var.size() &&
                    (s.domain_mean.empty() || E == 0 || s.domain_mean.size() == E),
                error_code::shape, who, "domain statistics have ", s.domain_mean.size(), " means and ",
                s.domain_var.size(), " variances, expected both 0 or both ", E);
        const auto finite = [&](const char* name, const std::vector<float>& v, float lo, float hi) {
            for (std::size_t i = 0; i < v.size(); ++i)
                require(std::isfinite(v[i]) && v[i] >= lo && v[i] <= hi, error_code::numeric, who, name, " entry ", i,
                        " is ", v[i], ", expected a finite value in [", lo, ", ", hi, "]");
        };
        const float inf = std::numeric_limits<float>::max();
        finite("alpha", s.alpha, -max_abs_alpha, max_abs_alpha);
        finite("deltas", s.deltas, -inf, inf);
        for (std::size_t i = 0; i < P; ++i)
            require(s.deltas[i] == 0.0f, error_code::numeric, who, "deltas row 0 (the source entry) has ", s.deltas[i],
                    " at ", i, ", expected 0");
        finite("epsilon", s.epsilon, -inf, inf);
        finite("similarity", s.similarity, -1.0f - 1e-4f, 1.0f + 1e-4f);
        finite("sgd_buffer", s.sgd_buffer, -inf, inf);
        finite("hist", s.hist, -inf, inf);
        finite("domain_mean", s.domain_mean, -inf, inf);
        finite("domain_var", s.domain_var, 0.0f, inf);
    }

    float initial_alpha() const { return rng(opt_.seed, ~std::uint64_t{0}).normal(); }

    template <class Batch>
    void forward(const Batch& x, const float* theta, const float* shift, forward_result& out) {
        forward_request req;
        req.norm_params = theta;
        req.shift = shift;
        req.batch_statistics = layout_.family == model_family::resnet;  // spec §1.2: every BN on batch statistics
        model_->forward_adapt(x, req, out);
        require(out.features.dimension() == 2 && out.features.shape(1) == layout_.feature_width() &&
                    out.logits.shape(0) == out.features.shape(0),
                error_code::shape, "zoa_adapter: the model returned features of width ", out.features.shape(1),
                ", expected ", layout_.feature_width());
        require(out.features.shape(0) >= 1, error_code::argument, "zoa_adapter: empty batch");
        ++stats_.forwards;  // counted once accepted
    }

    static bool finite(const forward_result& r) {
        for (float v : r.features)
            if (!std::isfinite(v)) return false;
        for (float v : r.logits)
            if (!std::isfinite(v)) return false;
        return true;
    }

    // shift = μ^S_last − hist (reference ResNet: the scalar μ^S[−1] − hist, spec §6 item 2)
    void make_shift() {
        const std::size_t D = layout_.feature_groups.back(), off = src_.mean.size() - D;
        shift_.resize(D);
        const bool scalar = layout_.reference_scalar_shift && !opt_.fixes.resnet_shift_vector;
        for (std::size_t i = 0; i < D; ++i) shift_[i] = (scalar ? src_.mean.back() : src_.mean[off + i]) - hist_[i];
    }

    void batch_mean_last(const xt::xtensor<float, 2>& f, std::vector<float>& out) const {
        const std::size_t B = f.shape(0), F = f.shape(1), D = layout_.feature_groups.back();
        out.assign(D, 0.0f);
        for (std::size_t i = 0; i < D; ++i) {
            double s = 0;
            for (std::size_t b = 0; b < B; ++b) s += f(b, F - D + i);
            out[i] = static_cast<float>(s / static_cast<double>(B));
        }
    }

    // One SPSA step (spec §1.7–1.8) on x = [α; ε] with scales c = [c_α…; c…]. has_loss0 = false recomputes the
    // unperturbed loss first (steps > 1: one extra forward).
    template <class Batch>
    void spsa_step(const Batch& x, rng& r, bool has_loss0, float loss0) {
        const std::size_t A = bank_.alpha().size(), P = bank_.size(), B = r0_.features.shape(0);
        if (!has_loss0) {
            bank_.effective(theta_.data());
            forward(x, theta_.data(), nullptr, r1_);
            loss0 = zoa_loss(r1_.features, r1_.logits, src_, opt_.lambda).total;
        }
        x0_.assign(bank_.alpha().begin(), bank_.alpha().end());
        x0_.insert(x0_.end(), bank_.epsilon().begin(), bank_.epsilon().end());
        c_.assign(A, opt_.spsa_c_alpha);
        c_.resize(A + P, opt_.spsa_c);
        grad_.assign(A + P, 0.0f);
        auto loss_at = [&](const std::vector<float>& xr) {
            a_r_.assign(xr.begin(), xr.begin() + static_cast<std::ptrdiff_t>(A));
            bank_.effective(a_r_, xr.data() + A, theta_.data());
            forward(x, theta_.data(), nullptr, r1_);
            // Reference: the perturbed forward also folds the batch into the domain EMA (spec §6 item 4). Its check
            // cannot fire there: the EMA has just absorbed this very batch.
            if (!opt_.fixes.detect_once_per_batch && finite(r1_)) detector_.update(r1_.embed_mean, r1_.embed_var, B);
            return zoa_loss(r1_.features, r1_.logits, src_, opt_.lambda).total;
        };
        const float inv = 1.0f / static_cast<float>(opt_.sp_avg);
        for (int rep = 0; rep < opt_.sp_avg; ++rep) {
            const float loss1 = spsa_accumulate<perturbation>(loss_at, x0_, c_, loss0, r, grad_, inv);
            if (!std::isfinite(loss1 - loss0)) {
                ++stats_.skipped_updates;
                return;
            }
        }
        if (bank_.stored() >= 1) adamw_.step(bank_.alpha().data(), grad_.data(), A);
        sgd_.step(bank_.epsilon().data(), grad_.data() + A, P);
    }

    const Model* model_;
    zoa_options opt_;
    source_statistics src_;
    adapt_layout layout_;
    state_identity identity_;
    norm_bank bank_;
    sgd sgd_;
    adamw_first_step adamw_;
    shift_detector detector_;
    adapter_stats stats_;
    std::vector<float> hist_, shift_, bm_last_, theta_, x0_, c_, grad_, a_r_;
    forward_result r0_, r1_;
    xt::xtensor<float, 2> prediction_;
};

}  // namespace zoa::adapt
