// zoa — a tiny adaptable network for the adapter tests: embed → LN1(adapted) → tanh → linear → LN2(adapted) → head
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/rng.hpp"

namespace toy {

using batch = xt::xtensor<float, 2>;  // B × in

/// features = [h1 (D), h2 (D)], logits = h2·Whᵀ + bh; embedding e = x·Weᵀ (its per-dim mean/var are reported).
struct model {
    std::size_t in = 8, D = 16, C = 4;
    std::vector<float> We, W2, Wh, bh, ln_w1, ln_b1, ln_w2, ln_b2;
    mutable std::size_t forwards = 0;
    mutable bool last_batch_statistics = false;  // what the last request asked of BatchNorm (the toy has none)
    zoa::adapt::model_family family = zoa::adapt::model_family::vit;

    explicit model(std::uint64_t seed = 1) {
        zoa::rng r(seed);
        auto fill = [&](std::vector<float>& v, std::size_t n, float s) {
            v.resize(n);
            for (float& x : v) x = s * r.normal();
        };
        fill(We, D * in, 0.5f);
        fill(W2, D * D, 0.3f);
        fill(Wh, C * D, 1.0f);
        bh.assign(C, 0.0f);
        ln_w1.assign(D, 1.0f);
        ln_b1.assign(D, 0.0f);
        ln_w2.assign(D, 1.0f);
        ln_b2.assign(D, 0.0f);
    }

    zoa::adapt::adapt_layout layout() const {
        zoa::adapt::adapt_layout l;
        l.norms = {{"ln1", D, ln_w1.data(), ln_b1.data()}, {"ln2", D, ln_w2.data(), ln_b2.data()}};
        l.feature_groups = {D, D};
        l.num_classes = C;
        l.family = family;
        l.prompt_unit = D;  // a prompt is k tokens of D floats; their mean is added to the embedding
        l.prompt_init_scale = 0.1f;
        return l;
    }

    // y = (x − μ)/sqrt(σ² + 1e−6)·w + b over one row of length n
    static void layer_norm(const float* x, const float* w, const float* b, float* y, std::size_t n) {
        double m = 0, v = 0;
        for (std::size_t i = 0; i < n; ++i) m += x[i];
        m /= double(n);
        for (std::size_t i = 0; i < n; ++i) v += (x[i] - m) * (x[i] - m);
        v /= double(n);
        const double inv = 1.0 / std::sqrt(v + 1e-6);
        for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>((x[i] - m) * inv) * w[i] + b[i];
    }

    std::vector<float> classifier_weight() const { return Wh; }
    void classify(const xt::xtensor<float, 2>& f, xt::xtensor<float, 2>& logits) const {
        logits = xt::xtensor<float, 2>::from_shape({f.shape(0), C});
        for (std::size_t b = 0; b < f.shape(0); ++b)
            for (std::size_t c = 0; c < C; ++c) {
                float s = bh[c];
                for (std::size_t d = 0; d < D; ++d) s += Wh[c * D + d] * f(b, d);
                logits(b, c) = s;
            }
    }

    void forward_adapt(const batch& x, const zoa::adapt::forward_request& req, zoa::adapt::forward_result& out) const {
        ++forwards;
        last_batch_statistics = req.batch_statistics;
        const std::size_t B = x.shape(0);
        const float* p = req.norm_params;
        const float *w1 = p ? p : ln_w1.data(), *b1 = p ? p + D : ln_b1.data();
        const float *w2 = p ? p + 2 * D : ln_w2.data(), *b2 = p ? p + 3 * D : ln_b2.data();
        out.features = xt::xtensor<float, 2>::from_shape({B, 2 * D});
        out.logits = xt::xtensor<float, 2>::from_shape({B, C});
        out.shifted_logits = req.shift ? xt::xtensor<float, 2>::from_shape({B, C}) : xt::xtensor<float, 2>();
        std::vector<float> e(B * D), t(D);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t d = 0; d < D; ++d) {
                float s = 0;
                for (std::size_t i = 0; i < in; ++i) s += We[d * in + i] * x(b, i);
                e[b * D + d] = s;
            }
        if (req.prompt) {
            const std::size_t k = req.prompt_size / D;
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t d = 0; d < D; ++d) {
                    float s = 0;
                    for (std::size_t j = 0; j < k; ++j) s += req.prompt[j * D + d];
                    e[b * D + d] += s / float(k);
                }
        }
        out.embed_mean.assign(D, 0.0f);
        out.embed_var.assign(D, 0.0f);
        for (std::size_t d = 0; d < D; ++d) {
            double m = 0, v = 0;
            for (std::size_t b = 0; b < B; ++b) m += e[b * D + d];
            m /= double(B);
            for (std::size_t b = 0; b < B; ++b) v += (e[b * D + d] - m) * (e[b * D + d] - m);
            out.embed_mean[d] = static_cast<float>(m);
            out.embed_var[d] = static_cast<float>(B > 1 ? v / double(B - 1) : 0.0);
        }
        for (std::size_t b = 0; b < B; ++b) {
            float* h1 = &out.features(b, 0);
            float* h2 = &out.features(b, D);
            layer_norm(&e[b * D], w1, b1, h1, D);
            for (std::size_t d = 0; d < D; ++d) h1[d] = std::tanh(h1[d]);
            for (std::size_t d = 0; d < D; ++d) {
                float s = 0;
                for (std::size_t i = 0; i < D; ++i) s += W2[d * D + i] * h1[i];
                t[d] = s;
            }
            layer_norm(t.data(), w2, b2, h2, D);
            for (std::size_t c = 0; c < C; ++c) {
                float s = bh[c], ss = bh[c];
                for (std::size_t d = 0; d < D; ++d) {
                    s += Wh[c * D + d] * h2[d];
                    if (req.shift) ss += Wh[c * D + d] * (h2[d] + req.shift[d]);
                }
                out.logits(b, c) = s;
                if (req.shift) out.shifted_logits(b, c) = ss;
            }
        }
    }
};

/// Gaussian class clusters in input space; `offset` shifts every input (a covariate shift LN cannot undo).
struct stream {
    std::vector<std::vector<float>> centers;
    explicit stream(std::size_t in, std::size_t classes, std::uint64_t seed = 7) {
        zoa::rng r(seed);
        centers.assign(classes, std::vector<float>(in));
        for (auto& c : centers)
            for (float& v : c) v = 2.0f * r.normal();
    }
    batch make(std::size_t B, std::vector<int>& labels, zoa::rng& r, float noise, const std::vector<float>& offset) const {
        const std::size_t in = centers[0].size();
        batch x = xt::xtensor<float, 2>::from_shape({B, in});
        labels.resize(B);
        for (std::size_t b = 0; b < B; ++b) {
            const auto c = r.uniform_index(static_cast<std::uint32_t>(centers.size()));
            labels[b] = static_cast<int>(c);
            for (std::size_t i = 0; i < in; ++i)
                x(b, i) = centers[c][i] + noise * r.normal() + (offset.empty() ? 0.0f : offset[i]);
        }
        return x;
    }
};

}  // namespace toy
