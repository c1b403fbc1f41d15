// zoa — T3A (Iwasawa & Matsuo, NeurIPS 2021): test-time classifier adjustment from low-entropy supports
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa::adapt {

/// Options of t3a.
struct t3a_options {
    /// Supports kept per class (the reference's filter_K; ZOA/FOA use 20). t3a_options::unlimited keeps every
    /// support (the T3A paper's −1; note the reference code's −1 path instead drops each class's last support).
    std::size_t filter_k = 20;
    static constexpr std::size_t unlimited = static_cast<std::size_t>(-1);
};

/// T3A on plain row-major float matrices, model-agnostic: the caller runs the featurizer (z, B×d) and the
/// classifier (logits p = classifier(z), B×C); t3a replaces the classifier's output.
///
/// Semantics of the reference ([ZOA]/[FOA] tta_library/t3a.py):
///  warm-up  supports = rows of the classifier weight W (C×d); label = one-hot argmax classifier(W);
///           entropy = H(softmax(classifier(W)))
///  per batch (adapt): append (z_b, one-hot argmax p_b, H(softmax p_b)) for every b; then per class keep the
///           filter_k supports of lowest entropy; out = z · normalize_cols(normalize_rows(S)ᵀ · Y)   (B×C)
///  i.e. column c of the adjusted classifier is u_c = Σ_{s with label c} ŝ, ŝ = s / max(‖s‖, 1e-12), and
///  out_bc = Σ_j z_bj u_cj / max(‖u_c‖, 1e-12)  — no bias, z not normalised; a class with no support gives 0.
///  H(p) = −Σ_i softmax(p)_i · log_softmax(p)_i (computed in double with the max shift).
/// Tie-breaking (documented choice): argmax takes the first maximal logit (as torch); supports of a class are
/// ordered by entropy with a stable rule — on equal entropy the older support (earlier in warm-up/batch order)
/// ranks first, as a stable sort of the reference's concatenation order would (the reference's torch.sort is
/// not guaranteed stable; on CPU it behaves stably in practice).
/// Selection is idempotent, so pruning immediately (at warm-up and after each append) equals the reference's
/// prune-at-forward; predict() therefore changes nothing and is const.
/// Precision: supports stored L2-normalised in float; sums, norms and entropies in double.
/// Memory: ≤ C·filter_k·d floats (+ C·d floats for the adjusted classifier).
class t3a {
public:
    /// Warm-up from W (C×d) and warm_logits = classifier(W) (C×C; row r = logits of W_r), computed by the caller
    /// with the model's real (possibly quantised) classifier.
    /// Throws: zoa::error(argument) for C == 0, d == 0 or filter_k == 0; (shape) for wrong sizes; (numeric) for
    ///         non-finite values.
    template <class = void>
    t3a(const std::vector<float>& weight, const std::vector<float>& warm_logits, std::size_t classes, std::size_t dim,
        t3a_options opt = {})
        : opt_(opt), c_(classes), d_(dim) {
        require(classes > 0 && dim > 0, error_code::argument, "t3a: classes and dim must be > 0, got ", classes, "x",
                dim);
        require(opt.filter_k > 0, error_code::argument, "t3a: filter_k must be > 0 (use t3a_options::unlimited)");
        require(weight.size() == classes * dim, error_code::shape, "t3a: classifier weight has ", weight.size(),
                " entries, expected C*d = ", classes, "*", dim);
        require(warm_logits.size() == classes * classes, error_code::shape, "t3a: warm-up logits have ",
                warm_logits.size(), " entries, expected C*C = ", classes, "*", classes);
        warm_.assign(classes, {});
        append_rows(warm_, weight.data(), warm_logits.data(), classes, "warm-up");
        reset();
    }

    /// Warm-up for a float linear classifier: warm_logits = W Wᵀ + b (b may be empty = no bias).
    /// Throws: as the constructor; zoa::error(shape) if b is neither empty nor of size C.
    template <class = void>
    static t3a from_linear(const std::vector<float>& weight, const std::vector<float>& bias, std::size_t classes,
                           std::size_t dim, t3a_options opt = {}) {
        require(weight.size() == classes * dim, error_code::shape, "t3a: classifier weight has ", weight.size(),
                " entries, expected C*d = ", classes, "*", dim);
        require(bias.empty() || bias.size() == classes, error_code::shape, "t3a: classifier bias has ", bias.size(),
                " entries, expected 0 or C = ", classes);
        std::vector<float> logits(classes * classes);
        for (std::size_t r = 0; r < classes; ++r)
            for (std::size_t c = 0; c < classes; ++c) {
                double s = bias.empty() ? 0.0 : static_cast<double>(bias[c]);
                for (std::size_t j = 0; j < dim; ++j)
                    s += static_cast<double>(weight[r * dim + j]) * static_cast<double>(weight[c * dim + j]);
                logits[r * classes + c] = static_cast<float>(s);
            }
        return t3a(weight, logits, classes, dim, opt);
    }

    /// Adapt on a batch and return the adjusted outputs (batch×C, row-major).
    /// Requires: z has batch·d entries, logits has batch·C entries (logits = classifier(z)), all finite.
    /// Throws: zoa::error(shape|numeric); on error the state is unchanged.
    template <class = void>
    std::vector<float> adapt_and_predict(const std::vector<float>& z, const std::vector<float>& logits,
                                         std::size_t batch) {
        check_batch(z, batch);
        require(logits.size() == batch * c_, error_code::shape, "t3a: logits have ", logits.size(),
                " entries, expected batch*C = ", batch, "*", c_);
        std::vector<bank> next = sup_;  // strong guarantee: validate/append on a copy
        append_rows(next, z.data(), logits.data(), batch, "batch");
        for (std::size_t c = 0; c < c_; ++c)
            if (next[c].seq != sup_[c].seq) dirty_[c] = 1;
        sup_ = std::move(next);
        refresh();
        return apply(z, batch);
    }

    /// Output of the current adjusted classifier without adding supports (batch×C).
    /// Throws: zoa::error(shape|numeric).
    template <class = void>
    std::vector<float> predict(const std::vector<float>& z, std::size_t batch) const {
        check_batch(z, batch);
        return apply(z, batch);
    }

    /// Back to the warm-up supports.
    template <class = void>
    void reset() {
        sup_ = warm_;
        w_.assign(c_ * d_, 0.0f);
        dirty_.assign(c_, 1);
        refresh();
    }

    /// The supports of every class (the whole adaptation state), flattened.
    struct supports_state {
        std::vector<std::size_t> counts;  ///< supports per class (C entries, each ≤ filter_k)
        std::vector<float> rows;          ///< Σ counts × d normalised supports, class by class, ascending entropy
        std::vector<double> entropies;    ///< Σ counts entropies, same order
    };
    /// A copy of the supports; restore(snapshot()) continues bitwise.
    template <class = void>
    supports_state snapshot() const {
        supports_state s;
        for (const auto& k : sup_) {
            s.counts.push_back(k.ent.size());
            s.rows.insert(s.rows.end(), k.rows.begin(), k.rows.end());
            s.entropies.insert(s.entropies.end(), k.ent.begin(), k.ent.end());
        }
        return s;
    }
    /// Continues from a snapshot of a t3a with the same classes, dim and filter_k (the adjusted classifier is
    /// recomputed from the supports, as after every change).
    /// Throws: zoa::error(shape) on sizes that do not match, zoa::error(numeric) on a non-finite value or
    /// entropies out of order; the state is unchanged then.
    template <class = void>
    void restore(const supports_state& s) {
        require(s.counts.size() == c_, error_code::shape, "t3a::restore: ", s.counts.size(), " classes, expected ", c_);
        std::size_t total = 0;
        for (std::size_t c = 0; c < c_; ++c) {
            require(s.counts[c] <= opt_.filter_k, error_code::shape, "t3a::restore: class ", c, " has ", s.counts[c],
                    " supports, filter_k is ", opt_.filter_k);
            total += s.counts[c];
        }
        require(s.rows.size() == total * d_ && s.entropies.size() == total, error_code::shape, "t3a::restore: ",
                s.rows.size(), " row values and ", s.entropies.size(), " entropies for ", total,
                " supports of dim ", d_);
        for (float v : s.rows) require(std::isfinite(v), error_code::numeric, "t3a::restore: a support is not finite");
        std::vector<bank> next(c_);
        for (std::size_t c = 0, at = 0; c < c_; at += s.counts[c], ++c) {
            next[c].ent.assign(s.entropies.begin() + static_cast<std::ptrdiff_t>(at),
                               s.entropies.begin() + static_cast<std::ptrdiff_t>(at + s.counts[c]));
            require(std::is_sorted(next[c].ent.begin(), next[c].ent.end()) &&
                        std::all_of(next[c].ent.begin(), next[c].ent.end(), [](double e) { return std::isfinite(e); }),
                    error_code::numeric, "t3a::restore: entropies of class ", c, " are not finite and ascending");
            next[c].rows.assign(s.rows.begin() + static_cast<std::ptrdiff_t>(at * d_),
                                s.rows.begin() + static_cast<std::ptrdiff_t>((at + s.counts[c]) * d_));
        }
        sup_ = std::move(next);
        dirty_.assign(c_, 1);
        refresh();
    }
    /// Number of classes C, feature dimension d, and the options given at construction.
    std::size_t classes() const noexcept { return c_; }
    std::size_t dim() const noexcept { return d_; }
    const t3a_options& options() const noexcept { return opt_; }
    /// Supports currently held for class c (≤ filter_k).
    template <class = void>
    std::size_t supports(std::size_t c) const { return sup_.at(c).ent.size(); }
    /// Entropies of class c's supports, ascending.
    template <class = void>
    const std::vector<double>& support_entropies(std::size_t c) const { return sup_.at(c).ent; }
    /// The adjusted classifier: row c = u_c/max(‖u_c‖, 1e-12) (C×d, row-major).
    const std::vector<float>& adjusted_weight() const noexcept { return w_; }
    /// Bytes of adaptation state (supports, their entropies, the adjusted classifier).
    template <class = void>
    std::size_t state_bytes() const noexcept {
        std::size_t b = w_.size() * sizeof(float);
        for (const auto& s : sup_) b += s.rows.size() * sizeof(float) + s.ent.size() * sizeof(double);
        return b;
    }

private:
    struct bank {
        std::vector<float> rows;  ///< normalised supports, count×d, ascending entropy
        std::vector<double> ent;
        std::size_t seq = 0;  ///< bumps on every change (to find classes whose column must be recomputed)
    };

    template <class = void>
    void check_batch(const std::vector<float>& z, std::size_t batch) const {
        require(z.size() == batch * d_, error_code::shape, "t3a: features have ", z.size(),
                " entries, expected batch*d = ", batch, "*", d_);
        for (std::size_t i = 0; i < z.size(); ++i)
            require(std::isfinite(z[i]), error_code::numeric, "t3a: feature (", i / d_, ",", i % d_,
                    ") is not finite");
    }

    /// Appends rows (count×d) with their logits (count×C) into `b`, keeping each class sorted and ≤ filter_k.
    /// label = first argmax; entropy H = lse − Σ_i softmax_i p_i,  lse = m + ln Σ_i exp(p_i − m), m = max p.
    template <class = void>
    void append_rows(std::vector<bank>& b, const float* rows, const float* logits, std::size_t count,
                     const char* what) const {
        for (std::size_t r = 0; r < count; ++r) {
            const float* p = logits + r * c_;
            std::size_t arg = 0;
            for (std::size_t c = 0; c < c_; ++c) {
                require(std::isfinite(p[c]), error_code::numeric, "t3a: ", what, " logit (", r, ",", c,
                        ") is not finite");
                if (p[c] > p[arg]) arg = c;
            }
            const double mx = p[arg];
            double se = 0.0, sep = 0.0;
            for (std::size_t c = 0; c < c_; ++c) {
                const double e = std::exp(static_cast<double>(p[c]) - mx);
                se += e;
                sep += e * static_cast<double>(p[c]);
            }
            const double ent = (mx + std::log(se)) - sep / se;
            // normalised row ŝ = s / max(‖s‖, 1e-12)
            const float* s = rows + r * d_;
            double nrm = 0.0;
            for (std::size_t j = 0; j < d_; ++j) {
                require(std::isfinite(s[j]), error_code::numeric, "t3a: ", what, " row ", r, " entry ", j,
                        " is not finite");
                nrm += static_cast<double>(s[j]) * static_cast<double>(s[j]);
            }
            const double inv = 1.0 / std::max(std::sqrt(nrm), 1e-12);
            bank& k = b[arg];
            // stable insertion: after every support with entropy ≤ ent
            const std::size_t pos =
                static_cast<std::size_t>(std::upper_bound(k.ent.begin(), k.ent.end(), ent) - k.ent.begin());
            if (pos >= opt_.filter_k) continue;  // would be dropped immediately
            k.ent.insert(k.ent.begin() + static_cast<std::ptrdiff_t>(pos), ent);
            std::vector<float> row(d_);
            for (std::size_t j = 0; j < d_; ++j) row[j] = static_cast<float>(static_cast<double>(s[j]) * inv);
            k.rows.insert(k.rows.begin() + static_cast<std::ptrdiff_t>(pos * d_), row.begin(), row.end());
            if (k.ent.size() > opt_.filter_k) {
                k.ent.pop_back();
                k.rows.resize(opt_.filter_k * d_);
            }
            ++k.seq;
        }
    }

    /// Recomputes u_c/max(‖u_c‖, 1e-12) for the dirty classes.
    template <class = void>
    void refresh() {
        std::vector<double> u(d_);
        for (std::size_t c = 0; c < c_; ++c) {
            if (!dirty_[c]) continue;
            std::fill(u.begin(), u.end(), 0.0);
            const bank& k = sup_[c];
            for (std::size_t i = 0; i < k.ent.size(); ++i)
                for (std::size_t j = 0; j < d_; ++j) u[j] += static_cast<double>(k.rows[i * d_ + j]);
            double nrm = 0.0;
            for (double v : u) nrm += v * v;
            const double inv = 1.0 / std::max(std::sqrt(nrm), 1e-12);
            for (std::size_t j = 0; j < d_; ++j) w_[c * d_ + j] = static_cast<float>(u[j] * inv);
            dirty_[c] = 0;
        }
    }

    /// out_bc = Σ_j z_bj w_cj (double accumulation).
    template <class = void>
    std::vector<float> apply(const std::vector<float>& z, std::size_t batch) const {
        std::vector<float> out(batch * c_);
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t c = 0; c < c_; ++c) {
                double s = 0.0;
                for (std::size_t j = 0; j < d_; ++j)
                    s += static_cast<double>(z[b * d_ + j]) * static_cast<double>(w_[c * d_ + j]);
                out[b * c_ + c] = static_cast<float>(s);
            }
        return out;
    }

    t3a_options opt_;
    std::size_t c_, d_;
    std::vector<bank> warm_, sup_;
    std::vector<float> w_;
    std::vector<char> dirty_;
};

}  // namespace zoa::adapt
