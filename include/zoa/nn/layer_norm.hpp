// zoa — LayerNorm layer whose affine parameters can be supplied per call (test-time adaptation swaps them)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/layer_norm.hpp"

namespace zoa::nn {

/// LayerNorm over the last dimension (torch.nn.LayerNorm(dim, eps)):
///   y[r, d] = (x[r, d] − μ_r) / sqrt(σ²_r + eps) · w[d] + b[d],  μ_r, σ²_r (biased) over the row's dim values.
/// The layer owns its source parameters (w, b); forward() can take other affine vectors for one call without
/// touching the layer, so an immutable model can be adapted by many callers at once. Always fp32.
class layer_norm {
public:
    layer_norm() = default;

    /// Throws: zoa::error(shape) naming `name` unless weight and bias hold dim values; zoa::error(argument) for
    /// eps not finite and > 0.
    layer_norm(std::vector<float> weight, std::vector<float> bias, float eps, const std::string& name = "layer_norm")
        : w_(std::move(weight)), b_(std::move(bias)), eps_(eps) {
        require(!w_.empty() && w_.size() == b_.size(), error_code::shape, name, ": weight has ", w_.size(),
                " values and bias ", b_.size(), ", expected the same non-zero dim");
        require(eps > 0.0f && eps < 1.0f, error_code::argument, name, ": eps must be in (0, 1), got ", eps);
    }

    /// y [rows × dim] = LN(x) with the given affine vectors (null = the layer's own). y may alias x.
    template <class = void>
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx, const float* weight = nullptr,
                 const float* bias = nullptr) const {
        if (rows == 0) return;
        kernels::layer_norm(x, y, rows, w_.size(), weight ? weight : w_.data(), bias ? bias : b_.data(), eps_, ctx);
    }

    /// Normalized dimension D and ε.
    std::size_t dim() const noexcept { return w_.size(); }
    float eps() const noexcept { return eps_; }
    /// The source (loaded) parameters.
    const std::vector<float>& weight() const noexcept { return w_; }
    const std::vector<float>& bias() const noexcept { return b_; }
    std::size_t float_bytes() const noexcept { return (w_.size() + b_.size()) * sizeof(float); }

private:
    std::vector<float> w_, b_;
    float eps_ = 1e-6f;
};

}  // namespace zoa::nn
