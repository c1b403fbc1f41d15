// zoa — fully connected layers: fp32 (weights packed once) and quantized (int8 codes packed once, inputs quantized
// per call, dequantized fp32 output), with a simulated (fake-quant) twin of the quantized arithmetic
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/pack.hpp"
#include "zoa/kernels/pack_f32.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"

namespace zoa::nn {

/// How a quantized layer computes: on the integer kernels (exact int32 accumulation, then one float scale per
/// output), or simulated = the reference's fake-quant arithmetic in float (x̂ = Q(x), Ŵ = Q(W), y = x̂·Ŵᵀ + b).
/// The two agree up to float summation order; tests compare them.
enum class quant_exec { integer, simulated };

/// Recovers the row-major float matrix W [n × k] of a packed_f32 through the public GEMM (independent of the packed
/// layout): C = I·Wᵀ with identity rows, exact (every sum is one weight plus zeros). Costs n·k² multiply-adds.
template <class Arch>
std::vector<float> unpack_f32(const kernels::packed_f32<Arch>& p) {
    const std::size_t n = p.n(), k = p.k(), chunk = 64;
    std::vector<float> w(n * k), eye(chunk * k);
    for (std::size_t k0 = 0; k0 < k; k0 += chunk) {
        const std::size_t rows = std::min(chunk, k - k0);
        std::fill(eye.begin(), eye.end(), 0.0f);
        for (std::size_t r = 0; r < rows; ++r) eye[r * k + k0 + r] = 1.0f;
        const kernels::out_layout layout{1, static_cast<std::ptrdiff_t>(k), 0, 0};  // C[m, j] → w[j·k + k0 + m]
        kernels::gemm_f32(eye.data(), rows, static_cast<std::ptrdiff_t>(k), p, kernels::out_f32{w.data() + k0, layout});
    }
    return w;
}

/// Recovers the int8 weight codes W [n × k] of a packed_q8 without zero points through the public GEMM (so it does not
/// depend on the packed layout): C = I·Wᵀ with identity activation rows, exact in int32. Costs n·k² multiply-adds
/// (a one-off: saving a model, the simulated path).
template <class ARange, class WRange>
std::vector<std::int8_t> unpack_q8(const kernels::packed_q8<ARange, WRange>& p) {
    static_assert(std::is_same_v<typename WRange::storage, std::int8_t>, "zoa: unpack_q8: signed weight codes only");
    static_assert(ARange::min <= 0 && ARange::max >= 1, "zoa: unpack_q8: the activation range must hold 0 and 1");
    const std::size_t n = p.n(), k = p.k(), chunk = 64;
    std::vector<std::int32_t> acc(n * k);
    std::vector<typename ARange::storage> eye(chunk * k);
    for (std::size_t k0 = 0; k0 < k; k0 += chunk) {
        const std::size_t rows = std::min(chunk, k - k0);
        std::fill(eye.begin(), eye.end(), typename ARange::storage(0));
        for (std::size_t r = 0; r < rows; ++r) eye[r * k + k0 + r] = 1;
        // C[m, j] = W(j, k0 + m) written to acc[j·k + k0 + m]
        const kernels::out_layout layout{1, static_cast<std::ptrdiff_t>(k), 0, 0};
        kernels::gemm_q8<ARange, WRange>(eye.data(), rows, static_cast<std::ptrdiff_t>(k), 0, p,
                                         kernels::out_i32{acc.data() + k0, layout});
    }
    std::vector<std::int8_t> w(n * k);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int8_t>(acc[i]);
    return w;
}

/// fp32 Linear (PyTorch semantics): y[r, n] = Σ_k x[r, k]·W[n, k] + b[n], W stored [out, in].
/// The weights are packed for kernels::gemm_f32 once at construction; nothing else is kept but the bias.
class linear {
public:
    linear() = default;

    /// Requires: weight holds out·in floats [out, in]; bias holds out floats (empty = no bias).
    /// Throws: zoa::error(shape) on a size mismatch naming `name`; zoa::error(numeric) for a non-finite weight.
    linear(const std::vector<float>& weight, std::vector<float> bias, std::size_t out, std::size_t in,
           const std::string& name = "linear")
        : bias_(std::move(bias)), out_(out), in_(in) {
        require(out > 0 && in > 0 && weight.size() == out * in, error_code::shape, name, ": weight has ", weight.size(),
                " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        w_.pack(weight.data(), out, in, static_cast<std::ptrdiff_t>(in), 1);
    }

    /// y [rows × out] = x [rows × in] · Wᵀ + b (rows contiguous). Bit-identical for any thread count of ctx.
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx) const {
        if (rows == 0) return;
        kernels::gemm_f32(x, rows, static_cast<std::ptrdiff_t>(in_), w_,
                          kernels::out_f32{y, kernels::row_major(static_cast<std::ptrdiff_t>(out_)),
                                           bias_.empty() ? nullptr : bias_.data()},
                          &ctx);
    }

    /// Input and output widths.
    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }
    /// The weights [out, in] (unpacked copy).
    std::vector<float> weight() const { return unpack_f32(w_); }
    const std::vector<float>& bias() const noexcept { return bias_; }
    /// Bytes of packed weights.
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of fp32 parameters kept besides the packed weights (the bias).
    std::size_t float_bytes() const noexcept { return bias_.size() * sizeof(float); }

private:
    kernels::packed_f32<default_arch> w_;
    std::vector<float> bias_;
    std::size_t out_ = 0, in_ = 0;
};

/// Quantized Linear for a bit-width option Bits = zoa::quant::bits<W, A> (PTQ4ViT arithmetic, symmetric codes):
///   weights  Wc = clamp(round(W/Δw_g), −2^(W−1), 2^(W−1)−1), Δw per tensor, per row block (qkv: q/k/v) or per
///            output row; packed once for kernels::gemm_q8, the float weights are not kept;
///   inputs   uniform: xc = clamp(round(x/Δx), −2^(A−1), 2^(A−1)−1), y = float(Σ_k xc·Wc)·fl(Δx·Δw_n) + b_n;
///            post-GELU twin: one signed code c (twin.hpp), split into c⁺ = max(c, 0) and c⁻ = min(c, 0),
///            y = float(Σ c⁺·Wc)·fl(Δ₊·Δw_n) + b_n + float(Σ c⁻·Wc)·fl(Δ₋·Δw_n)   (two integer GEMMs).
/// The simulated path computes x̂ = fake_quant(x), Ŵ = Wc·Δw and y = x̂·Ŵᵀ + b in float.
template <class Bits>
class qlinear {
    static_assert(quant::is_bit_width_v<Bits> && Bits::quantized,
                  "zoa: nn::qlinear<Bits>: Bits must be a quantized bit-width option, e.g. zoa::w8a8");

public:
    /// Signed symmetric code ranges of the activations and weights, and the packed weight type.
    using a_range = quant::signed_range<Bits::activation_bits>;
    using w_range = quant::signed_range<Bits::weight_bits>;
    using packed_type = kernels::packed_q8<a_range, w_range>;

    qlinear() = default;

    /// Quantizes weight [out, in] with p.weight() and packs the codes; p.input() is used on every call.
    /// Requires: p.weight() symmetric uniform with Bits::weight_bits (1, row-block or `out` groups);
    /// p.input() symmetric uniform per tensor or post-GELU twin with Bits::activation_bits.
    /// Throws: zoa::error(shape) naming `name` on size mismatches, zoa::error(policy) when the parameters do not
    /// fit Bits or the layer, zoa::error(argument/numeric) for invalid parameters or non-finite weights.
    qlinear(const std::vector<float>& weight, std::vector<float> bias, std::size_t out, std::size_t in,
            const quant::module_params& p, const std::string& name = "qlinear")
        : bias_(std::move(bias)), out_(out), in_(in), params_(p) {
        require(out > 0 && in > 0 && weight.size() == out * in, error_code::shape, name, ": weight has ", weight.size(),
                " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        check_params(p, out, name);
        std::vector<std::int8_t> codes(out * in);
        quant::encode(p.weight(), weight.data(), codes.size(), codes.data());
        init(codes, name);
    }

    /// Builds the layer from already quantized weight codes [out, in] (e.g. read from a quantized model file).
    /// Throws: zoa::error(shape) naming `name` when codes is not out × in or bias is neither empty nor out long;
    /// zoa::error(policy) as the float-weight constructor when the parameters do not fit Bits.
    qlinear(const std::vector<std::int8_t>& codes, std::vector<float> bias, std::size_t out, std::size_t in,
            const quant::module_params& p, const std::string& name)
        : bias_(std::move(bias)), out_(out), in_(in), params_(p) {
        require(out > 0 && in > 0 && codes.size() == out * in, error_code::shape, name, ": weight codes have ",
                codes.size(), " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        check_params(p, out, name);
        init(codes, name);
    }

    /// y [rows × out] from x [rows × in] (see the class comment). Bit-identical for any thread count of ctx.
    /// ±Inf inputs saturate to the extreme codes (integer path). Throws: zoa::error(numeric) for a NaN input (integer
    /// path: integer codes cannot carry NaN; the simulated path propagates it).
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx,
                 quant_exec mode = quant_exec::integer) const {
        if (rows == 0) return;
        const std::size_t n = rows * in_;
        const quant::quant_params& in = params_.input();
        if (mode == quant_exec::simulated) {
            std::vector<float> xq(n);
            quant::fake_quant(in, x, xq.data(), n);
            const kernels::packed_f32<default_arch> wd(dequantized_weight().data(), out_, in_,
                                                       static_cast<std::ptrdiff_t>(in_), 1);
            kernels::gemm_f32(xq.data(), rows, static_cast<std::ptrdiff_t>(in_), wd,
                              kernels::out_f32{y, kernels::row_major(static_cast<std::ptrdiff_t>(out_)), bias_ptr()},
                              &ctx);
            return;
        }
        std::int8_t* const codes = thread_scratch<std::int8_t>(scratch_slot::linear_codes, n);
        const auto lda = static_cast<std::ptrdiff_t>(in_);
        const auto out_layout = kernels::row_major(static_cast<std::ptrdiff_t>(out_));
        if (in.kind == quant::quantizer_kind::uniform) {
            kernels::quantize_per_tensor(x, codes, n, in.scale[0], 0, int(a_range::min), int(a_range::max), ctx);
            kernels::gemm_q8<a_range, w_range>(
                codes, rows, lda, 0, w_,
                kernels::out_dequant{y, out_layout, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
            return;
        }
        // post-GELU twin: c⁺ = clamp(round(x/Δ₊), 0, qmax−1) and c⁻ = clamp(round(x/Δ₋), −qmax, 0) as two
        // per-tensor quantizations (for x > 0, c⁻ = 0; for x ≤ 0, c⁺ = 0: exactly the twin's single code c split by
        // sign), then one GEMM per plane
        std::int8_t* const neg = thread_scratch<std::int8_t>(scratch_slot::linear_neg, n);
        const int qmax = 1 << (in.bits - 1);
        kernels::quantize_per_tensor(x, codes, n, in.scale[0], 0, 0, qmax - 1, ctx);
        kernels::quantize_per_tensor(x, neg, n, in.neg_scale, 0, -qmax, 0, ctx);
        forward_twin_codes(codes, neg, rows, y, ctx);
    }

    /// The integer path of forward() for a post-GELU twin input given as its two code planes (rows × in each):
    ///   y = float(Σ c⁺·Wc)·fl(Δ₊·Δw_n) + b_n + float(Σ c⁻·Wc)·fl(Δ₋·Δw_n)
    /// (e.g. from kernels::gelu_quantize_twin, which fuses GELU with the split). Bit-identical for any thread count.
    /// Throws: zoa::error(policy) unless the input quantizer is post-GELU twin; zoa::error(numeric) for codes outside
    /// the activation range.
    void forward_twin_codes(const std::int8_t* pos, const std::int8_t* neg, std::size_t rows, float* y,
                            execution_context& ctx) const {
        const quant::quant_params& in = params_.input();
        require(in.kind == quant::quantizer_kind::post_gelu_twin, error_code::policy,
                "qlinear::forward_twin_codes: the input quantizer is ", quant::to_string(in.kind), ", not post-GELU twin");
        if (rows == 0) return;
        const auto lda = static_cast<std::ptrdiff_t>(in_);
        const auto out_layout = kernels::row_major(static_cast<std::ptrdiff_t>(out_));
        kernels::gemm_q8<a_range, w_range>(
            pos, rows, lda, 0, w_,
            kernels::out_dequant{y, out_layout, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
        float* const tmp = thread_scratch<float>(scratch_slot::linear_tmp, rows * out_);
        kernels::gemm_q8<a_range, w_range>(
            neg, rows, lda, 0, w_,
            kernels::out_dequant{tmp, out_layout, in.neg_scale, w_scale_.data(), w_scale_.size(), nullptr},
            &ctx);
        ctx.parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t i = r0 * out_; i < r1 * out_; ++i) y[i] += tmp[i];
        });
    }

    /// Input and output widths, the float bias (empty = none) and the two quantizers (weight, input).
    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }
    const std::vector<float>& bias() const noexcept { return bias_; }
    const quant::module_params& params() const noexcept { return params_; }
    /// The weight codes [out, in] (unpacked copy).
    std::vector<std::int8_t> codes() const { return unpack_q8(w_); }
    /// Ŵ = Wc·Δw [out, in]: exactly the reference's fake-quantized weights.
    std::vector<float> dequantized_weight() const {
        std::vector<std::int8_t> c = codes();
        std::vector<float> w(c.size());
        for (std::size_t j = 0; j < out_; ++j)
            for (std::size_t k = 0; k < in_; ++k) w[j * in_ + k] = quant::decode_symmetric(c[j * in_ + k], w_scale_[j]);
        return w;
    }
    /// Bytes of packed weights (+ per-column data).
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of fp32 parameters kept (bias and per-output weight scales).
    std::size_t float_bytes() const noexcept { return (bias_.size() + w_scale_.size()) * sizeof(float); }

private:
    const float* bias_ptr() const noexcept { return bias_.empty() ? nullptr : bias_.data(); }

    static void check_params(const quant::module_params& p, std::size_t out, const std::string& name) {
        const quant::quant_params& w = p.weight();
        const quant::quant_params& x = p.input();
        require(p.kind == quant::module_kind::weighted, error_code::policy, name,
                ": expected weight/input quantizers, got a/b (matmul) parameters");
        require(w.kind == quant::quantizer_kind::uniform && w.sch == quant::scheme::symmetric, error_code::policy, name,
                ": weights need a symmetric uniform quantizer, got ", quant::to_string(w.kind), "/",
                quant::to_string(w.sch));
        require(w.bits == Bits::weight_bits, error_code::policy, name, ": weight quantizer has ", w.bits,
                " bits, the policy has ", Bits::weight_bits);
        require(w.groups() == 1 || (w.groups() <= out && out % w.groups() == 0), error_code::policy, name, ": ",
                w.groups(), " weight scale groups do not divide ", out, " outputs");
        require((x.kind == quant::quantizer_kind::uniform && x.sch == quant::scheme::symmetric && x.groups() == 1) ||
                    x.kind == quant::quantizer_kind::post_gelu_twin,
                error_code::policy, name, ": inputs need a symmetric per-tensor or post-GELU twin quantizer, got ",
                quant::to_string(x.kind), " with ", x.groups(), " groups");
        require(x.bits == Bits::activation_bits, error_code::policy, name, ": input quantizer has ", x.bits,
                " bits, the policy has ", Bits::activation_bits);
        w.validate(name + ".weight_quant");
        x.validate(name + ".input_quant");
    }

    void init(const std::vector<std::int8_t>& codes, const std::string& name) {
        const quant::quant_params& w = params_.weight();
        const std::size_t per = out_ / w.groups();
        w_scale_.resize(out_);
        for (std::size_t j = 0; j < out_; ++j) w_scale_[j] = w.scale[j / per];
        for (std::size_t i = 0; i < codes.size(); ++i)
            require(codes[i] >= w_range::min && codes[i] <= w_range::max, error_code::numeric, name, ": weight code ",
                    int(codes[i]), " at (", i / in_, ", ", i % in_, ") outside [", int(w_range::min), ", ",
                    int(w_range::max), "]");
        w_.pack(codes.data(), out_, in_, static_cast<std::ptrdiff_t>(in_), 1);
    }

    packed_type w_;
    std::vector<float> bias_, w_scale_;
    std::size_t out_ = 0, in_ = 0;
    quant::module_params params_;
};

/// The Linear layer type for a bit-width option: nn::linear for zoa::fp32, nn::qlinear<Bits> otherwise.
template <class Bits>
using linear_for = std::conditional_t<Bits::quantized, qlinear<Bits>, linear>;

}  // namespace zoa::nn
