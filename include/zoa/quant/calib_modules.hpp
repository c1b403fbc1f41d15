// zoa — calibration modules for the PTQ4ViT search: cached inputs + FP outputs/gradients of a linear layer or an
// attention matmul, with the fake-quant forward the search evaluates (float "simulated" path)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/observer.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/ptq4vit_search.hpp"

namespace zoa::quant {

namespace detail {
/// o[t][j] = Σ_k a[t][k]·w[j][k] (+ bias[j]); float accumulation in k order (8 interleaved partial sums).
template <class = void>
inline void matmul_nt(const float* a, const float* w, const float* bias, std::size_t rows, std::size_t cols,
                      std::size_t k, float* o) {
    for (std::size_t t = 0; t < rows; ++t)
        for (std::size_t j = 0; j < cols; ++j) {
            const float* x = a + t * k;
            const float* y = w + j * k;
            float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            std::size_t i = 0;
            for (; i + 8 <= k; i += 8)
                for (std::size_t l = 0; l < 8; ++l) acc[l] += x[i + l] * y[i + l];
            for (; i < k; ++i) acc[0] += x[i] * y[i];
            const float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            o[t * cols + j] = s + (bias != nullptr ? bias[j] : 0.0f);
        }
}
}  // namespace detail

/// o[rows×cols] = a[rows×k] · w[cols×k]ᵀ (+ bias[cols] when bias != nullptr), all row-major. The modules below use
/// a simple built-in loop; set_gemm() plugs in a faster kernel. It must be deterministic and safe to call
/// concurrently (the search evaluates candidates on several threads).
using gemm_nt_fn = std::function<void(const float* a, const float* w, const float* bias, std::size_t rows,
                                      std::size_t cols, std::size_t k, float* o)>;

/// A linear layer O = x̂·Ŵᵀ + b over cached calibration inputs (PTQSLBatchingQuantLinear / PostGelu... twin).
/// Operand 0 = weight [out, in] (symmetric; per_tensor, per_row_block(blocks) or per_channel),
/// operand 1 = input [samples, tokens, in] (symmetric per-tensor, post-GELU twin, or none).
class linear_module {
public:
    /// Requires: weight.size() == out·in, bias empty or out, inputs.size() == samples·tokens·in, raw_output empty
    /// (computed here as the FP forward) or samples·tokens·out, grad empty or samples·tokens·out.
    /// Throws: zoa::error(shape) naming the mismatching buffer; zoa::error(argument) for an unsupported spec.
    linear_module(std::vector<float> weight, std::vector<float> bias, std::size_t out_features, std::size_t in_features,
                  std::vector<float> inputs, std::size_t samples, std::size_t tokens, operand_spec weight_spec,
                  operand_spec input_spec, std::vector<float> raw_output = {}, std::vector<float> grad = {})
        : w_(std::move(weight)),
          b_(std::move(bias)),
          out_(out_features),
          in_(in_features),
          x_(std::move(inputs)),
          samples_(samples),
          tokens_(tokens),
          ws_(weight_spec),
          xs_(input_spec),
          raw_(std::move(raw_output)),
          grad_(std::move(grad)) {
        require(out_ >= 1 && in_ >= 1 && samples_ >= 1 && tokens_ >= 1, error_code::shape,
                "linear_module: out, in, samples and tokens must be >= 1");
        require(w_.size() == out_ * in_, error_code::shape, "linear_module: weight has ", w_.size(),
                " values, expected out·in = ", out_ * in_);
        require(b_.empty() || b_.size() == out_, error_code::shape, "linear_module: bias has ", b_.size(),
                " values, expected ", out_);
        require(x_.size() == samples_ * tokens_ * in_, error_code::shape, "linear_module: inputs have ", x_.size(),
                " values, expected samples·tokens·in = ", samples_ * tokens_ * in_);
        require(ws_.sch == scheme::symmetric && xs_.sch == scheme::symmetric, error_code::argument,
                "linear_module: the PTQ4ViT search supports symmetric quantizers only");
        require(ws_.kind == quantizer_kind::uniform &&
                    (ws_.gran == granularity::per_tensor || ws_.gran == granularity::per_row_block ||
                     ws_.gran == granularity::per_channel),
                error_code::argument,
                "linear_module: weights need a uniform per_tensor/per_row_block/per_channel spec");
        require(xs_.gran == granularity::per_tensor &&
                    (xs_.kind == quantizer_kind::uniform || xs_.kind == quantizer_kind::post_gelu_twin ||
                     xs_.kind == quantizer_kind::none),
                error_code::argument, "linear_module: inputs need a per_tensor uniform, post_gelu_twin or none spec");
        groups_ = ws_.gran == granularity::per_tensor ? 1 : ws_.gran == granularity::per_channel ? out_ : ws_.blocks;
        require(groups_ >= 1 && out_ % groups_ == 0, error_code::shape, "linear_module: ", out_,
                " output rows cannot be split into ", groups_, " blocks");
        const std::size_t n_out = samples_ * tokens_ * out_;
        if (raw_.empty()) {
            raw_.resize(n_out);
            for (std::size_t s = 0; s < samples_; ++s)
                detail::matmul_nt(x_.data() + s * tokens_ * in_, w_.data(), b_.empty() ? nullptr : b_.data(), tokens_,
                                  out_, in_, raw_.data() + s * tokens_ * out_);
        }
        require(raw_.size() == n_out, error_code::shape, "linear_module: raw output has ", raw_.size(),
                " values, expected ", n_out);
        require(grad_.empty() || grad_.size() == n_out, error_code::shape, "linear_module: gradient has ", grad_.size(),
                " values, expected ", n_out);
    }

    /// Search-module interface (is_search_module_v): calibration samples, outputs per sample, the float outputs
    /// [samples × sample_size] and their gradients (nullptr without gradients).
    std::size_t samples() const noexcept { return samples_; }
    std::size_t sample_size() const noexcept { return tokens_ * out_; }
    const float* raw_output() const noexcept { return raw_.data(); }
    const float* output_grad() const noexcept { return grad_.empty() ? nullptr : grad_.data(); }

    /// PTQ4ViT init: weight Δ_g = max|W_g|/(2^(b−1) − 0.5) per group; input Δ = max|x|/(2^(b−1) − 0.5) over all
    /// samples; post-GELU Δ₊ = max(x)/(2^(b−1) − 0.5) (no abs), Δ₋ fixed.
    template <class = void>
    module_params initial_params() const {
        module_params p;
        p.kind = module_kind::weighted;
        const std::size_t gs = w_.size() / groups_;
        std::vector<float> wa(groups_);
        for (std::size_t g = 0; g < groups_; ++g) wa[g] = abs_max(w_.data() + g * gs, gs);
        p.weight() = symmetric_params_from_absmax(ws_.bits, ws_.gran, wa);
        if (xs_.kind == quantizer_kind::uniform) {
            p.input() =
                symmetric_params_from_absmax(xs_.bits, granularity::per_tensor, {abs_max(x_.data(), x_.size())});
        } else if (xs_.kind == quantizer_kind::post_gelu_twin) {
            float mx = *std::max_element(x_.begin(), x_.end());
            p.input() = make_post_gelu(xs_.bits, {symmetric_scale_from_absmax(mx > 0.0f ? mx : 0.0f, xs_.bits,
                                                                              "linear_module post-GELU max(x)")});
        }
        return p;
    }

    /// Operand 0 (weight): groups are blocks of output features; operand 1 (input): one group over all outputs.
    template <class = void>
    search_layout layout(std::size_t operand) const noexcept {
        if (operand == 0) return {1, tokens_, groups_, out_ / groups_};
        return {1, tokens_, 1, out_};
    }

    /// out[s] = fake_quant(input)[s] · fake_quant(weight)ᵀ + b for every sample.
    template <class = void>
    void forward(const module_params& p, float* out) const {
        std::vector<float> wq(w_.size()), xq(tokens_ * in_);
        fake_quant(p.weight(), w_.data(), wq.data(), w_.size());
        for (std::size_t s = 0; s < samples_; ++s) {
            fake_quant(p.input(), x_.data() + s * tokens_ * in_, xq.data(), xq.size());
            gemm(xq.data(), wq.data(), b_.empty() ? nullptr : b_.data(), tokens_, out_, in_, out + s * tokens_ * out_);
        }
    }

    /// Replaces the float GEMM used by forward() (the raw output was already computed or given). Empty = built-in.
    template <class = void>
    void set_gemm(gemm_nt_fn f) { gemm_ = std::move(f); }

private:
    template <class = void>
    void gemm(const float* a, const float* w, const float* bias, std::size_t rows, std::size_t cols, std::size_t k,
              float* o) const {
        if (gemm_)
            gemm_(a, w, bias, rows, cols, k, o);
        else
            detail::matmul_nt(a, w, bias, rows, cols, k, o);
    }
    std::vector<float> w_, b_;
    std::size_t out_, in_;
    std::vector<float> x_;
    std::size_t samples_, tokens_;
    operand_spec ws_, xs_;
    std::vector<float> raw_, grad_;
    std::size_t groups_ = 1;
    gemm_nt_fn gemm_;
};

/// An attention matmul O = Â·B̂ per head over cached operands (PTQSLBatchingQuantMatMul, SoS... for attn·v).
/// A: [samples, heads, m, k]; B: [samples, heads, k, n]; O: [samples, heads, m, n].
/// Operand 0 = A (uniform per_head / per_tensor, or post_softmax_twin), operand 1 = B (uniform per_head / per_tensor).
class matmul_module {
public:
    /// Throws: zoa::error(shape) naming the mismatching buffer; zoa::error(argument) for an unsupported spec.
    matmul_module(std::vector<float> a, std::vector<float> b, std::size_t samples, std::size_t heads, std::size_t m,
                  std::size_t k, std::size_t n, operand_spec a_spec, operand_spec b_spec,
                  std::vector<float> raw_output = {}, std::vector<float> grad = {})
        : a_(std::move(a)),
          b_(std::move(b)),
          samples_(samples),
          heads_(heads),
          m_(m),
          k_(k),
          n_(n),
          as_(a_spec),
          bs_(b_spec),
          raw_(std::move(raw_output)),
          grad_(std::move(grad)) {
        require(samples_ >= 1 && heads_ >= 1 && m_ >= 1 && k_ >= 1 && n_ >= 1, error_code::shape,
                "matmul_module: samples, heads, m, k, n must be >= 1");
        require(a_.size() == samples_ * heads_ * m_ * k_, error_code::shape, "matmul_module: A has ", a_.size(),
                " values, expected samples·heads·m·k = ", samples_ * heads_ * m_ * k_);
        require(b_.size() == samples_ * heads_ * k_ * n_, error_code::shape, "matmul_module: B has ", b_.size(),
                " values, expected samples·heads·k·n = ", samples_ * heads_ * k_ * n_);
        auto ok_uniform = [](const operand_spec& s) {
            return s.kind == quantizer_kind::uniform &&
                   (s.gran == granularity::per_head || s.gran == granularity::per_tensor);
        };
        require(as_.sch == scheme::symmetric && bs_.sch == scheme::symmetric, error_code::argument,
                "matmul_module: the PTQ4ViT search supports symmetric quantizers only");
        require(ok_uniform(as_) || as_.kind == quantizer_kind::post_softmax_twin, error_code::argument,
                "matmul_module: A needs a uniform per_head/per_tensor or post_softmax_twin spec");
        require(ok_uniform(bs_), error_code::argument, "matmul_module: B needs a uniform per_head/per_tensor spec");
        const std::size_t n_out = samples_ * heads_ * m_ * n_;
        if (raw_.empty()) {
            raw_.resize(n_out);
            forward_raw(a_.data(), b_.data(), raw_.data());
        }
        require(raw_.size() == n_out, error_code::shape, "matmul_module: raw output has ", raw_.size(),
                " values, expected ", n_out);
        require(grad_.empty() || grad_.size() == n_out, error_code::shape, "matmul_module: gradient has ", grad_.size(),
                " values, expected ", n_out);
    }

    /// Search-module interface (is_search_module_v): calibration samples, outputs per sample, the float outputs
    /// [samples × sample_size] and their gradients (nullptr without gradients).
    std::size_t samples() const noexcept { return samples_; }
    std::size_t sample_size() const noexcept { return heads_ * m_ * n_; }
    const float* raw_output() const noexcept { return raw_.data(); }
    const float* output_grad() const noexcept { return grad_.empty() ? nullptr : grad_.data(); }

    /// PTQ4ViT init: per head (or tensor) Δ = max|·| over all samples / (2^(b−1) − 0.5); SoS split 0.01 (the
    /// reference's placeholder, always overwritten by the split search).
    template <class = void>
    module_params initial_params() const {
        module_params p;
        p.kind = module_kind::matmul;
        p.a() = as_.kind == quantizer_kind::post_softmax_twin ? make_post_softmax(as_.bits, 0.01f)
                                                              : per_head_init(a_, m_ * k_, as_);
        p.b() = per_head_init(b_, k_ * n_, bs_);
        return p;
    }

    /// Both operands group by head ({heads, m, 1, n}) or not at all ({1, heads·m, 1, n}).
    template <class = void>
    search_layout layout(std::size_t operand) const noexcept {
        const operand_spec& s = operand == 0 ? as_ : bs_;
        if (s.gran == granularity::per_head) return {heads_, m_, 1, n_};
        return {1, heads_ * m_, 1, n_};
    }

    /// out[s][h] = fake_quant(A)[s][h] · fake_quant(B)[s][h].
    template <class = void>
    void forward(const module_params& p, float* out) const {
        std::vector<float> aq(heads_ * m_ * k_), bq(heads_ * k_ * n_);
        for (std::size_t s = 0; s < samples_; ++s) {
            quantize_sample(p.a(), a_.data() + s * aq.size(), aq.data(), m_ * k_);
            quantize_sample(p.b(), b_.data() + s * bq.size(), bq.data(), k_ * n_);
            forward_one(aq.data(), bq.data(), out + s * sample_size());
        }
    }

    /// Replaces the float GEMM used by forward() (the raw output was already computed or given). Empty = built-in.
    template <class = void>
    void set_gemm(gemm_nt_fn f) { gemm_ = std::move(f); }

private:
    template <class = void>
    void gemm(const float* a, const float* w, const float* bias, std::size_t rows, std::size_t cols, std::size_t k,
              float* o) const {
        if (gemm_)
            gemm_(a, w, bias, rows, cols, k, o);
        else
            detail::matmul_nt(a, w, bias, rows, cols, k, o);
    }
    // One sample [heads, rows·cols]: a per-head quantizer has `heads` groups, i.e. one per contiguous head slice.
    template <class = void>
    void quantize_sample(const quant_params& q, const float* x, float* y, std::size_t per_head) const {
        fake_quant(q, x, y, heads_ * per_head);
    }
    template <class = void>
    quant_params per_head_init(const std::vector<float>& x, std::size_t per_head, const operand_spec& s) const {
        const std::size_t groups = s.gran == granularity::per_head ? heads_ : 1;
        std::vector<float> amax(groups, 0.0f);
        const std::size_t per_sample = heads_ * per_head;
        for (std::size_t smp = 0; smp < samples_; ++smp)
            for (std::size_t h = 0; h < heads_; ++h) {
                const float v = abs_max(x.data() + smp * per_sample + h * per_head, per_head);
                float& slot = amax[groups == 1 ? 0 : h];
                slot = v > slot ? v : slot;
            }
        return symmetric_params_from_absmax(s.bits, s.gran, amax);
    }
    template <class = void>
    void forward_one(const float* a, const float* b, float* o) const {
        std::vector<float> bt(k_ * n_);
        for (std::size_t h = 0; h < heads_; ++h) {
            const float* bh = b + h * k_ * n_;
            for (std::size_t i = 0; i < k_; ++i)
                for (std::size_t j = 0; j < n_; ++j) bt[j * k_ + i] = bh[i * n_ + j];
            gemm(a + h * m_ * k_, bt.data(), nullptr, m_, n_, k_, o + h * m_ * n_);
        }
    }
    template <class = void>
    void forward_raw(const float* a, const float* b, float* o) const {
        for (std::size_t s = 0; s < samples_; ++s)
            forward_one(a + s * heads_ * m_ * k_, b + s * heads_ * k_ * n_, o + s * sample_size());
    }

    std::vector<float> a_, b_;
    std::size_t samples_, heads_, m_, k_, n_;
    operand_spec as_, bs_;
    std::vector<float> raw_, grad_;
    gemm_nt_fn gemm_;
};

/// Adapter for any other layer (e.g. the patch-embed conv): the caller supplies the cached FP output, optional
/// gradients, the initial parameters, the two layouts and a thread-safe fake-quant forward.
struct function_module {
    std::size_t sample_count = 0, per_sample = 0;  ///< samples and outputs per sample
    std::vector<float> raw, grad;                  ///< sample_count·per_sample each (grad may be empty)
    module_params init;                            ///< the parameters the search starts from
    std::array<search_layout, 2> layouts{};        ///< output layout for operand 0 and operand 1
    std::function<void(const module_params&, float*)> forward_fn;  ///< fake-quant forward of all samples

    /// Search-module interface (is_search_module_v) over the fields above.
    std::size_t samples() const noexcept { return sample_count; }
    std::size_t sample_size() const noexcept { return per_sample; }
    const float* raw_output() const noexcept { return raw.data(); }
    const float* output_grad() const noexcept { return grad.empty() ? nullptr : grad.data(); }
    module_params initial_params() const { return init; }
    search_layout layout(std::size_t operand) const noexcept { return layouts[operand < 2 ? operand : 1]; }
    /// Calls forward_fn(p, out). Throws: zoa::error(argument) when forward_fn is empty.
    template <class = void>
    void forward(const module_params& p, float* out) const {
        require(static_cast<bool>(forward_fn), error_code::argument, "function_module: no forward function set");
        forward_fn(p, out);
    }
};

}  // namespace zoa::quant
