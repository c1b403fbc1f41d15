// zoa — a Conv2d quantized by a policy bundle (bit-width, weight scheme and granularity, activation scheme) on the
// integer convolution kernel, with its simulated (fake-quant) twin
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/kernels/conv2d.hpp"
#include "zoa/nn/conv2d.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/presets.hpp"

namespace zoa::nn {

/// Conv2d quantized as the policy bundle Policy says (config = quant::quant_config<Policy>), NCHW, square kernel:
///   weights  symmetric:  Wc = clamp(round(W/Δ_g), −2^(W−1), 2^(W−1)−1),               zw_g = 0;
///            asymmetric: Wc = clamp(round(W·fl(1/s_g)) + zw_g, 0, 2^W−1);
///            one (Δ, zw) per tensor or per output channel (any grouping of consecutive filters), packed once;
///   inputs   per tensor, symmetric xc = clamp(round(x/Δx), −2^(A−1), 2^(A−1)−1) with za = 0, or asymmetric
///            xc = clamp(round(x·fl(1/s)) + za, 0, 2^A−1);
///   output   y[b,o,·] = float(Σ_{c,ky,kx} (xc − za)·(Wc − zw_o))·fl(Δx·Δw_o) + bias[o]   (kernels::conv2d_q8:
///            exact int32, zero points removed by the row/column-sum algebra, padded taps read za, i.e. real zero
///            padding; kernels::reference::conv2d_q8 is the scalar twin).
/// The simulated path computes x̂ = fake_quant(x), Ŵ = decode(Wc) and conv(x̂, Ŵ) + bias in float; the two agree up
/// to float summation order. MQBench's academic scheme is Policy = zoa::mqbench<Bits> (the shipped ResNet uses its
/// own nn::qconv2d for that); any other scheme, e.g. symmetric per-channel weights, works the same way.
template <class Policy>
class quantized_conv2d {
    static_assert(is_policy_v<Policy>, "zoa: nn::quantized_conv2d<Policy>: Policy must be a zoa::policy<...>");
    using config = quant::quant_config<Policy>;
    static_assert(config::quantized,
                  "zoa: nn::quantized_conv2d<Policy>: the policy's bit-width must be quantized "
                  "(use nn::conv2d or nn::conv2d_for<Policy> for zoa::fp32)");

public:
    /// The resolved quantization choices, the code ranges and the packed weight type.
    using config_type = config;
    using a_range = typename config::activation_range;
    using w_range = typename config::weight_range;
    using packed_type = kernels::packed_q8<a_range, w_range>;
    /// Weight codes as stored in files and returned by codes(): int8_t (symmetric) or uint8_t (affine, any width).
    using code_type = std::conditional_t<config::weight_scheme == quant::scheme::asymmetric, std::uint8_t, std::int8_t>;

    quantized_conv2d() = default;

    /// Quantizes the OIHW float weights with p.weight() and packs them; p.input() quantizes every input.
    /// Requires: p.weight() uniform with the policy's weight scheme and bits, 1 group or a divisor of out_channels;
    /// p.input() uniform per tensor with the policy's activation scheme and bits.
    /// Throws: zoa::error(shape) / (policy) / (argument) naming `name`; zoa::error(numeric) for non-finite weights.
    quantized_conv2d(const std::vector<float>& weight, std::vector<float> bias, const conv2d_geometry& g,
                     const quant::module_params& p, const std::string& name = "quantized_conv2d")
        : g_(g), bias_(std::move(bias)), params_(p) {
        detail::check_conv_args(g, weight.size(), bias_.size(), name);
        check_params(name);
        std::vector<code_type> codes(weight.size());
        quant::encode(p.weight(), weight.data(), codes.size(), codes.data());
        init(codes, name);
    }

    /// Builds the layer from OIHW weight codes (e.g. read from a file).
    /// Throws: as above, and zoa::error(numeric) naming the element for a code outside the weight range.
    quantized_conv2d(const std::vector<code_type>& codes, std::vector<float> bias, const conv2d_geometry& g,
                     const quant::module_params& p, const std::string& name)
        : g_(g), bias_(std::move(bias)), params_(p) {
        detail::check_conv_args(g, codes.size(), bias_.size(), name);
        check_params(name);
        init(codes, name);
    }

    /// y [batch × out × oh × ow] from x [batch × in × h × w] (see the class comment). Bit-identical for any thread
    /// count of ctx. Throws: zoa::error(numeric) for a NaN input on the integer path (the simulated path propagates
    /// it); zoa::error(shape) when the kernel does not fit the input.
    void forward(const float* x, std::size_t batch, std::size_t h, std::size_t w, float* y, execution_context& ctx,
                 quant_exec mode = quant_exec::integer) const {
        const kernels::conv2d_shape s = g_.shape(batch, h, w);
        const std::size_t n = batch * g_.in_channels * h * w;
        if (n == 0) return;
        const quant::quant_params& in = params_.input();
        if (mode == quant_exec::simulated) {
            std::vector<float> xq(n);
            quant::fake_quant(in, x, xq.data(), n);
            const std::vector<float> wd = dequantized_weight();
            const auto wf = kernels::pack_conv2d_f32<default_arch>(wd.data(), g_.shape(1, g_.kernel, g_.kernel));
            kernels::conv2d_f32<default_arch>(s, xq.data(), wf, bias_ptr(), y, &ctx);
            return;
        }
        auto* const codes = thread_scratch<typename a_range::storage>(scratch_slot::linear_codes, n);
        const std::int32_t za = detail::quantize_input<config>(x, n, in, codes, ctx);
        kernels::conv2d_q8(s, codes, za, w_,
                           kernels::out_dequant{y, {}, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()},
                           &ctx);
    }

    /// The geometry, the quantizers (weight, input) and the float bias (empty = none).
    const conv2d_geometry& geometry() const noexcept { return g_; }
    const quant::module_params& params() const noexcept { return params_; }
    const std::vector<float>& bias() const noexcept { return bias_; }
    /// The weight codes, OIHW (unpacked copy, read back through the GEMM: independent of the packed layout).
    std::vector<code_type> codes() const {
        const auto rows = unpack_q8(w_);  // [out, (kh, kw, c)]
        const std::size_t khw = g_.kernel * g_.kernel, k = khw * g_.in_channels;
        std::vector<code_type> c(rows.size());
        for (std::size_t o = 0; o < g_.out_channels; ++o)
            for (std::size_t t = 0; t < khw; ++t)
                for (std::size_t ch = 0; ch < g_.in_channels; ++ch)
                    c[(o * g_.in_channels + ch) * khw + t] =
                        static_cast<code_type>(rows[o * k + t * g_.in_channels + ch]);
        return c;
    }
    /// Ŵ = decode(Wc), OIHW: exactly the reference's fake-quantized weights.
    std::vector<float> dequantized_weight() const {
        return detail::decode_weights(codes(), g_.out_channels, params_.weight());
    }
    /// Bytes of packed integer weights (+ per-column sums and zero points).
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of fp32 parameters kept besides the packed weights (bias, per-channel scales).
    std::size_t float_bytes() const noexcept { return (bias_.size() + w_scale_.size()) * sizeof(float); }

private:
    const float* bias_ptr() const noexcept { return bias_.empty() ? nullptr : bias_.data(); }

    void check_params(const std::string& name) const {
        detail::check_layer_params<config>(params_, g_.out_channels, name);
        require(params_.input().kind == quant::quantizer_kind::uniform, error_code::policy, name,
                ": inputs need a uniform per-tensor quantizer, got ", quant::to_string(params_.input().kind));
    }

    void init(const std::vector<code_type>& codes, const std::string& name) {
        std::vector<std::int32_t> zp;
        detail::expand_weight_groups(params_.weight(), g_.out_channels, w_scale_, zp);
        const auto stored = detail::checked_codes<w_range>(codes, codes.size() / g_.out_channels, name);
        w_ = kernels::pack_conv2d_q8<a_range, w_range>(stored.data(), g_.shape(1, g_.kernel, g_.kernel), zp.data(),
                                                       zp.size());
    }

    conv2d_geometry g_;
    packed_type w_;
    std::vector<float> bias_, w_scale_;
    quant::module_params params_;
};

namespace detail {
template <class Q, bool IsPolicy = is_policy_v<Q>>
struct conv2d_for_impl {
    static_assert(IsPolicy, "zoa: nn::conv2d_for<Policy>: Policy must be a zoa::policy<...>");
    using type = conv2d;
};
template <class Q>
struct conv2d_for_impl<Q, true> {
    using type = std::conditional_t<quant::quant_config<Q>::quantized, quantized_conv2d<Q>, conv2d>;
};
}  // namespace detail

/// The Conv2d layer type for a policy bundle: nn::conv2d when its bit-width is zoa::fp32, nn::quantized_conv2d<Policy>
/// otherwise.
template <class Policy>
using conv2d_for = typename detail::conv2d_for_impl<Policy>::type;

}  // namespace zoa::nn
