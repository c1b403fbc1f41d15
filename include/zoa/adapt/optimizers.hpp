// zoa — the two optimisers ZOA uses: SGD (momentum, weight decay) for ε and per-step-reset AdamW for α
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace zoa::adapt {

/// torch.optim.SGD semantics (dampening 0, no Nesterov):
///   d = g + wd·p;  buf = d (first step) or momentum·buf + d;  p ← p − lr·(momentum > 0 ? buf : d).
/// The momentum buffer persists across steps (never rebuilt, as in the reference).
struct sgd {
    /// Hyper-parameters (ZOA's ε defaults: lr 0.005, momentum 0, weight decay 0.4).
    float lr = 0.005f, momentum = 0.0f, weight_decay = 0.4f;
    std::vector<float> buffer;  ///< momentum buffer (empty until the first step with momentum > 0)

    /// One update of p[0..n) with gradient g. Requires: n is the same on every call (else the buffer restarts).
    void step(float* p, const float* g, std::size_t n) {
        const bool first = buffer.size() != n;  // no buffer yet: buf = d
        if (momentum != 0.0f && first) buffer.assign(n, 0.0f);
        for (std::size_t i = 0; i < n; ++i) {
            float d = g[i] + weight_decay * p[i];
            if (momentum != 0.0f) {
                buffer[i] = first ? d : momentum * buffer[i] + d;
                d = buffer[i];
            }
            p[i] -= lr * d;
        }
    }
};

/// torch.optim.AdamW whose state is discarded after every step (the reference resets it), so every update is
/// Adam's first step: p ← p·(1 − lr·wd);  m̂ = g, v̂ = g²;  p ← p − lr·m̂/(√v̂ + eps) = p − lr·g/(|g| + eps).
struct adamw_first_step {
    /// Hyper-parameters (ZOA's α defaults: lr 0.01, weight decay 0.1; torch's betas and eps).
    float lr = 0.01f, weight_decay = 0.1f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;

    /// One update of p[0..n) with gradient g (stateless: always Adam's first step).
    void step(float* p, const float* g, std::size_t n) const {
        for (std::size_t i = 0; i < n; ++i) {
            p[i] *= 1.0f - lr * weight_decay;
            const float m = (1.0f - beta1) * g[i], v = (1.0f - beta2) * g[i] * g[i];
            const float m_hat = m / (1.0f - beta1), denom = std::sqrt(v) / std::sqrt(1.0f - beta2) + eps;
            p[i] -= lr * m_hat / denom;
        }
    }
};

}  // namespace zoa::adapt
