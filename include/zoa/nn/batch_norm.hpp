// zoa — BatchNorm2d layer: running or batch statistics, affine parameters replaceable on every call (never folded)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/batch_norm.hpp"

namespace zoa::nn {

/// Which statistics a BatchNorm normalises with.
enum class bn_mode {
    running,  ///< running_mean / running_var (PyTorch eval(); NoAdapt)
    batch,    ///< the current batch's mean and biased variance over (N, H, W) (train() / track_running_stats=False:
              ///< what ZOA, BN-adapt, T3A and FOA use for ResNets)
};

/// torch.nn.BatchNorm2d over NCHW tensors. The affine parameters are kept separately from the convolution (nothing is
/// folded), and forward() accepts replacement weight/bias pointers so test-time adaptation can change them on every
/// batch without touching the layer:
///   running: y = (x − running_mean_c)·(w_c / sqrt(running_var_c + eps)) + b_c
///   batch:   y = (x − μ_c)·(w_c / sqrt(σ²_c + eps)) + b_c,  μ, σ² (biased) over the n·hw values of channel c
/// (exact formulas and rounding: kernels/batch_norm.hpp).
class batch_norm {
public:
    batch_norm() = default;

    /// Requires: the four vectors have the same nonzero length; running_var ≥ 0; every value finite; eps > 0.
    /// Throws: zoa::error(shape) / zoa::error(numeric) naming `name`, the tensor and the offending index.
    batch_norm(std::vector<float> weight, std::vector<float> bias, std::vector<float> running_mean,
               std::vector<float> running_var, float eps, const std::string& name = "batch_norm")
        : weight_(std::move(weight)),
          bias_(std::move(bias)),
          mean_(std::move(running_mean)),
          var_(std::move(running_var)),
          eps_(eps) {
        const std::size_t c = weight_.size();
        require(c > 0 && bias_.size() == c && mean_.size() == c && var_.size() == c, error_code::shape, name,
                ": weight/bias/running_mean/running_var have ", weight_.size(), "/", bias_.size(), "/", mean_.size(),
                "/", var_.size(), " values, expected the same nonzero channel count");
        require(std::isfinite(eps) && eps > 0.0f, error_code::argument, name, ": eps must be finite and > 0, got ",
                eps);
        const std::vector<float>* all[4] = {&weight_, &bias_, &mean_, &var_};
        const char* what[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int t = 0; t < 4; ++t)
            for (std::size_t i = 0; i < c; ++i)
                require(std::isfinite((*all[t])[i]), error_code::numeric, name, ".", what[t], "[", i,
                        "] is not finite: ", (*all[t])[i]);
        for (std::size_t i = 0; i < c; ++i)
            require(var_[i] >= 0.0f, error_code::numeric, name, ".running_var[", i, "] must be >= 0, got ", var_[i]);
    }

    /// y = BN(x) for x [n × channels() × hw] (NCHW); y may alias x. weight/bias: channels() floats replacing the
    /// layer's own affine parameters for this call (nullptr = the layer's). Threads: channels over ctx,
    /// bit-identical for any thread count.
    /// Throws: zoa::error(argument) for a null x/y, a zero extent, or batch mode with n·hw < 2.
    template <class = void>
    void forward(const float* x, float* y, std::size_t n, std::size_t hw, bn_mode mode, execution_context& ctx,
                 const float* weight = nullptr, const float* bias = nullptr) const {
        const float* w = weight ? weight : weight_.data();
        const float* b = bias ? bias : bias_.data();
        if (mode == bn_mode::running)
            kernels::batch_norm_eval(x, y, n, channels(), hw, mean_.data(), var_.data(), w, b, eps_, ctx);
        else
            kernels::batch_norm_batch_stats(x, y, nullptr, nullptr, n, channels(), hw, w, b, eps_, ctx);
    }

    /// Channels C, ε, and the source parameters and running statistics (C floats each).
    std::size_t channels() const noexcept { return weight_.size(); }
    float eps() const noexcept { return eps_; }
    const std::vector<float>& weight() const noexcept { return weight_; }
    const std::vector<float>& bias() const noexcept { return bias_; }
    const std::vector<float>& running_mean() const noexcept { return mean_; }
    const std::vector<float>& running_var() const noexcept { return var_; }
    /// Bytes of fp32 parameters and buffers held (4 · channels floats).
    std::size_t float_bytes() const noexcept { return 4 * channels() * sizeof(float); }

private:
    std::vector<float> weight_, bias_, mean_, var_;
    float eps_ = 1e-5f;
};

}  // namespace zoa::nn
