// zoa — 2-D convolution layers over NCHW batches: fp32 (weights packed once) and MQBench-quantized (per-channel
// affine weight codes packed once, per-tensor affine input codes, dequantized fp32 output) with a float twin
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/conv2d.hpp"
#include "zoa/kernels/gram_q8.hpp"
#include "zoa/nn/affine_quant.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/quantizer.hpp"

namespace zoa::nn {

/// Geometry of a Conv2d with a square kernel, stride and padding (groups 1, dilation 1: every torchvision ResNet conv).
struct conv2d_geometry {
    /// Channels in and out; square kernel side, stride and zero padding (same on both axes).
    std::size_t in_channels = 1, out_channels = 1, kernel = 1, stride = 1, pad = 0;

    /// Output extent (in + 2·pad − kernel) / stride + 1. Throws: zoa::error(shape) when the kernel does not fit.
    template <class = void>
    std::size_t out_size(std::size_t in) const {
        require(kernel <= in + 2 * pad, error_code::shape, "conv2d: kernel ", kernel, " larger than the padded input ",
                in + 2 * pad);
        return (in + 2 * pad - kernel) / stride + 1;
    }
    /// The kernels' shape for a batch × in_channels × h × w input.
    template <class = void>
    kernels::conv2d_shape shape(std::size_t batch, std::size_t h, std::size_t w) const {
        kernels::conv2d_shape s;
        s.batch = batch;
        s.in_channels = in_channels;
        s.height = h;
        s.width = w;
        s.out_channels = out_channels;
        s.kernel_h = s.kernel_w = kernel;
        s.stride_h = s.stride_w = stride;
        s.pad_h = s.pad_w = pad;
        return s;
    }
    /// PyTorch weight shape [out, in, k, k] and its element count.
    std::vector<std::size_t> weight_shape() const { return {out_channels, in_channels, kernel, kernel}; }
    std::size_t weight_count() const noexcept { return out_channels * in_channels * kernel * kernel; }
};

namespace detail {

/// Throws: zoa::error(shape) naming `name` for a zero size, a weight count other than O·I·k·k, or a bias count other
/// than 0 or O.
template <class = void>
inline void check_conv_args(const conv2d_geometry& g, std::size_t weights, std::size_t bias, const std::string& name) {
    require(g.in_channels > 0 && g.out_channels > 0 && g.kernel > 0 && g.stride > 0, error_code::shape, name,
            ": zero channel count, kernel or stride");
    require(weights == g.weight_count(), error_code::shape, name, ": weight has ", weights, " values, expected [",
            g.out_channels, ", ", g.in_channels, ", ", g.kernel, ", ", g.kernel, "] = ", g.weight_count());
    require(bias == 0 || bias == g.out_channels, error_code::shape, name, ": bias has ", bias, " values, expected ",
            g.out_channels);
}

/// packed_f32 (GEMM rows in (kh, kw, c) order, see pack_f32.hpp) back to PyTorch OIHW.
template <class Arch>
std::vector<float> unpack_conv_f32(const kernels::packed_f32<Arch>& p, const conv2d_geometry& g) {
    constexpr std::size_t nr = kernels::packed_f32<Arch>::nr;
    const std::size_t khw = g.kernel * g.kernel;
    std::vector<float> w(g.weight_count());
    for (std::size_t o = 0; o < g.out_channels; ++o)
        for (std::size_t t = 0; t < khw; ++t)
            for (std::size_t c = 0; c < g.in_channels; ++c)
                w[(o * g.in_channels + c) * khw + t] = p.panel(o / nr)[(t * g.in_channels + c) * nr + o % nr];
    return w;
}

/// packed_q8 codes (K in (kh, kw, c) order) back to PyTorch OIHW codes.
template <class ARange, class WRange, class Arch>
std::vector<std::uint8_t> unpack_conv_q8(const kernels::packed_q8<ARange, WRange, Arch>& p, const conv2d_geometry& g) {
    const std::size_t khw = g.kernel * g.kernel;
    std::vector<std::uint8_t> w(g.weight_count());
    for (std::size_t o = 0; o < g.out_channels; ++o)
        for (std::size_t t = 0; t < khw; ++t)
            for (std::size_t c = 0; c < g.in_channels; ++c)
                w[(o * g.in_channels + c) * khw + t] = static_cast<std::uint8_t>(p.weight_code(o, t * g.in_channels + c));
    return w;
}

}  // namespace detail

/// fp32 torch.nn.Conv2d: y[b,o,oy,ox] = bias[o] + Σ_{c,ky,kx} xpad[b,c,oy·s+ky−p,ox·s+kx−p]·w[o,c,ky,kx]
/// (zero padding; kernels::conv2d_f32). Weights are packed once; the OIHW floats are not kept.
class conv2d {
public:
    conv2d() = default;

    /// weight: OIHW [out, in, k, k]; bias: out values or empty.
    /// Throws: zoa::error(shape) naming `name` on size mismatches; zoa::error(numeric) for non-finite weights.
    conv2d(const std::vector<float>& weight, std::vector<float> bias, const conv2d_geometry& g,
           const std::string& name = "conv2d")
        : g_(g), bias_(std::move(bias)) {
        detail::check_conv_args(g, weight.size(), bias_.size(), name);
        w_ = kernels::pack_conv2d_f32<default_arch>(weight.data(), g.shape(1, g.kernel, g.kernel));
    }

    /// y [batch × out × oh × ow] from x [batch × in × h × w]. Bit-identical for any thread count of ctx.
    template <class = void>
    void forward(const float* x, std::size_t batch, std::size_t h, std::size_t w, float* y,
                 execution_context& ctx) const {
        kernels::conv2d_f32<default_arch>(g_.shape(batch, h, w), x, w_, bias_ptr(), y, &ctx);
    }

    /// The geometry given at construction.
    const conv2d_geometry& geometry() const noexcept { return g_; }
    /// The weights, OIHW (unpacked copy).
    template <class = void>
    std::vector<float> weight() const { return detail::unpack_conv_f32(w_, g_); }
    const std::vector<float>& bias() const noexcept { return bias_; }
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    std::size_t float_bytes() const noexcept { return bias_.size() * sizeof(float); }

private:
    const float* bias_ptr() const noexcept { return bias_.empty() ? nullptr : bias_.data(); }
    conv2d_geometry g_;
    kernels::packed_f32<default_arch> w_;
    std::vector<float> bias_;
};

/// Quantized Conv2d in MQBench's academic scheme. ARange / WRange = zoa::quant::unsigned_range<b> (affine codes
/// [0, 2^b − 1]; 8-bit codes are uint8_t, narrower ones int8_t):
///   weights  wq[o,·] = clamp(round(w·fl(1/s_o)) + z_o, 0, 2^bw − 1), per output channel (or one group), packed once;
///   inputs   xq = clamp(round(x·fl(1/s)) + z, 0, 2^ba − 1) per tensor (nn::quantize_activation);
///   output   y[b,o,·] = float(Σ (xq − z)(wq − z_o)) · fl(s·s_o) + bias[o]      (kernels::conv2d_q8, exact int32;
///            padded taps read z, i.e. real zero padding).
/// forward_float() is the float twin with the fake-quantized weights Ŵ = (wq − z_o)·s_o on an input taken as given —
/// the reference's fake-quant arithmetic when the input is already x̂ (simulated path), and what the reference does
/// when it adds a float term before the layer without re-quantizing (FOA prompt, activation shift). It needs
/// enable_float_twin() (the dequantized weights, packed as fp32, are not kept otherwise).
template <class ARange, class WRange>
class qconv2d {
    static_assert(int(ARange::min) == 0 && int(WRange::min) == 0,
                  "zoa: nn::qconv2d<ARange, WRange> implements MQBench's affine scheme: both ranges must be "
                  "zoa::quant::unsigned_range<b>");

public:
    /// The code ranges (unsigned affine), their 8-bit storage types and the packed weight type.
    using a_range = ARange;
    using w_range = WRange;
    using a_storage = typename ARange::storage;
    using w_storage = typename WRange::storage;
    using packed_type = kernels::packed_q8<ARange, WRange>;

    qconv2d() = default;

    /// Quantizes the OIHW float weights with p.weight() and packs them; p.input() quantizes every input.
    /// Requires: p.weight() affine uniform per channel (out groups) or per tensor with 2^b − 1 == WRange::max;
    /// p.input() affine uniform per tensor with 2^b − 1 == ARange::max.
    /// Throws: zoa::error(shape) / (policy) / (argument) naming `name`; zoa::error(numeric) for non-finite weights.
    qconv2d(const std::vector<float>& weight, std::vector<float> bias, const conv2d_geometry& g,
            const quant::module_params& p, const std::string& name = "qconv2d")
        : g_(g), bias_(std::move(bias)), params_(p) {
        detail::check_conv_args(g, weight.size(), bias_.size(), name);
        check_params(name);
        const quant::quant_params& wq = params_.weight();
        const std::size_t per = weight.size() / g.out_channels;
        std::vector<w_storage> codes(weight.size());
        for (std::size_t o = 0; o < g.out_channels; ++o) {
            const std::size_t grp = wq.groups() == 1 ? 0 : o;
            for (std::size_t i = o * per; i < (o + 1) * per; ++i) {
                require(std::isfinite(weight[i]), error_code::numeric, name, ": weight element ", i, " is ",
                        weight[i]);
                codes[i] = static_cast<w_storage>(
                    quant::encode_affine(weight[i], wq.scale[grp], wq.zero_point[grp], 0, int(WRange::max)));
            }
        }
        init(codes.data(), name);
    }

    /// Builds the layer from OIHW weight codes (e.g. a calibrated model file; U8 whatever the bit-width).
    /// Throws: as above, and zoa::error(numeric) naming the element for a code outside [0, 2^b − 1].
    qconv2d(const std::vector<std::uint8_t>& codes, std::vector<float> bias, const conv2d_geometry& g,
            const quant::module_params& p, const std::string& name)
        : g_(g), bias_(std::move(bias)), params_(p) {
        detail::check_conv_args(g, codes.size(), bias_.size(), name);
        check_params(name);
        std::vector<w_storage> c(codes.size());
        for (std::size_t i = 0; i < codes.size(); ++i) {
            require(int(codes[i]) <= int(WRange::max), error_code::numeric, name, ": weight code ", int(codes[i]),
                    " at element ", i, " outside [0, ", int(WRange::max), "]");
            c[i] = static_cast<w_storage>(codes[i]);
        }
        init(c.data(), name);
    }

    /// y [batch × out × oh × ow] from input codes xq [batch × in × h × w] quantized with params().input().
    /// Exact integer accumulation; bit-identical for any thread count of ctx.
    /// Throws: zoa::error(numeric) for a code outside ARange.
    void forward_codes(const a_storage* xq, std::size_t batch, std::size_t h, std::size_t w, float* y,
                       execution_context& ctx) const {
        const quant::quant_params& in = params_.input();
        kernels::conv2d_q8(
            g_.shape(batch, h, w), xq, in.zero_point[0], w_,
            kernels::out_dequant{y, {}, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
    }

    /// forward_codes() on channels-last data: xq [batch × h × w × in] codes, y [batch × oh × ow × out] floats
    /// (the same values as forward_codes(), transposed). 1×1 convs multiply xq itself, others gather im2col rows from
    /// it (kernels::conv2d_q8_nhwc). Throws: as forward_codes().
    void forward_codes_nhwc(const a_storage* xq, std::size_t batch, std::size_t h, std::size_t w, float* y,
                            execution_context& ctx) const {
        const quant::quant_params& in = params_.input();
        kernels::conv2d_q8_nhwc(
            g_.shape(batch, h, w), xq, in.zero_point[0], w_,
            kernels::out_dequant{y, {}, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
    }

    /// The convolution on channels-last codes xq [batch × h × w × in] through a fused output stage
    /// (kernels::out_fused: BatchNorm, residual, ReLU, next quantizer); the layer fills the stage's dequantization
    /// (a_scale = the input scale, w_scale = the per-channel weight scales, bias). The destination defaults to NHWC
    /// [batch × oh × ow × out]. Throws: as forward_codes(), and the stage's checks.
    template <class T, class R>
    void forward_fused_nhwc(const a_storage* xq, std::size_t batch, std::size_t h, std::size_t w,
                            kernels::out_fused<T, R> stage, execution_context& ctx) const {
        const quant::quant_params& in = params_.input();
        stage.a_scale = in.scale[0];
        stage.w_scale = w_scale_.data();
        stage.w_scale_count = w_scale_.size();
        stage.bias = bias_ptr();
        kernels::conv2d_q8_nhwc(g_.shape(batch, h, w), xq, in.zero_point[0], w_, stage, &ctx);
    }

    /// The exact int32 accumulators of the convolution on channels-last codes xq [batch × h × w × in] into acc
    /// [batch·oh·ow × out] (row-major, NHWC), and, when moments is non-null, their exact per-channel sums over all
    /// rows (kernels::acc_moments, reset here). Finish with apply_fused_nhwc(). Throws: as forward_codes().
    void forward_acc_nhwc(const a_storage* xq, std::size_t batch, std::size_t h, std::size_t w, std::int32_t* acc,
                          kernels::acc_moments* moments, execution_context& ctx) const {
        if (moments) moments->reset(g_.out_channels);
        kernels::conv2d_q8_nhwc(g_.shape(batch, h, w), xq, params_.input().zero_point[0], w_,
                                kernels::out_i32{acc, {}, moments}, &ctx);
    }

    /// True when moments_nhwc() computes the batch statistics of this conv's output for `rows` = batch·h·w input
    /// pixels (and forward_fused_nhwc() then applies them in one pass, no int32 accumulators stored): a 1×1, stride 1,
    /// unpadded conv whose Gram matrix is cheaper than storing and re-reading its output — K a multiple of 32,
    /// K² ≤ 32·N (the Gram's M·K²/2 multiply-adds against the M·N accumulators; ResNet: the 64 → 256 and
    /// 128 → 512 convs), rows ≥ 8·K (the n·K² products stay small) — on a CPU with the SIMD Gram kernel
    /// (kernels::gram_q8_simd_v), within its exact range (kernels::gram_moments_exact).
    bool gram_moments(std::size_t rows) const noexcept {
        return !wd_.empty() && rows >= 8 * g_.in_channels &&
               kernels::gram_moments_exact(rows, g_.in_channels, 255, wd_max_);
    }

    /// The exact per-channel moments of this conv's int32 accumulators on channels-last codes xq
    /// [batch × h × w × in] (m is reset; the same integers forward_acc_nhwc() sums), computed from the Gram matrix
    /// of the input codes (kernels::gram_q8, kernels::moments_from_gram) without forming the accumulators.
    /// Requires: gram_moments(batch·h·w). Throws: zoa::error(argument) otherwise.
    void moments_nhwc(const a_storage* xq, std::size_t batch, std::size_t h, std::size_t w, kernels::acc_moments& m,
                      execution_context& ctx) const {
        const std::size_t rows = batch * h * w;
        require(gram_moments(rows), error_code::argument, "qconv2d::moments_nhwc: not a Gram-moments conv for ",
                rows, " rows (see gram_moments())");
        kernels::gram_q8_sums s;
        kernels::gram_q8<typename packed_type::arch>(xq, rows, g_.in_channels,
                                                     static_cast<std::ptrdiff_t>(g_.in_channels), s, &ctx);
        m.reset(g_.out_channels);
        kernels::moments_from_gram(s, params_.input().zero_point[0], wd_.data(), g_.out_channels, m, &ctx);
    }

    /// forward_fused_nhwc()'s output stage applied to accumulators stored by forward_acc_nhwc() (rows = batch·oh·ow):
    /// the same bits forward_fused_nhwc() writes with this stage (kernels::apply_q8_stage).
    template <class T, class R>
    void apply_fused_nhwc(const std::int32_t* acc, std::size_t rows, kernels::out_fused<T, R> stage,
                          execution_context& ctx) const {
        stage.a_scale = params_.input().scale[0];
        stage.w_scale = w_scale_.data();
        stage.w_scale_count = w_scale_.size();
        stage.bias = bias_ptr();
        if (stage.layout.row_stride == 0 && stage.layout.group_rows == 0)
            stage.layout = kernels::row_major(static_cast<std::ptrdiff_t>(g_.out_channels));
        kernels::apply_q8_stage(acc, rows, g_.out_channels, stage, &ctx);
    }

    /// The dequantization scale of every output channel, s_o = fl(s·s_o) (as the output stages compute it).
    std::vector<float> output_scales() const {
        std::vector<float> s(g_.out_channels);
        for (std::size_t o = 0; o < s.size(); ++o) s[o] = params_.input().scale[0] * w_scale_[o];
        return s;
    }

    /// Quantizes the float input x with params().input(), then forward_codes().
    /// Throws: zoa::error(numeric) when x contains NaN.
    void forward(const float* x, std::size_t batch, std::size_t h, std::size_t w, float* y,
                 execution_context& ctx) const {
        const std::size_t n = batch * g_.in_channels * h * w;
        aligned_buffer<a_storage> codes(n);
        quantize_activation(x, n, params_.input(), codes.data(), static_cast<float*>(nullptr), ctx);
        forward_codes(codes.data(), batch, h, w, y, ctx);
    }

    /// Keeps the fake-quantized weights Ŵ packed as fp32 for forward_float() (costs 4 bytes per weight).
    void enable_float_twin() {
        if (!wf_.empty()) return;
        const std::vector<float> wd = dequantized_weight();
        wf_ = kernels::pack_conv2d_f32<default_arch>(wd.data(), g_.shape(1, g_.kernel, g_.kernel));
    }
    /// True after enable_float_twin().
    bool has_float_twin() const noexcept { return !wf_.empty(); }

    /// y = conv(x, Ŵ) + bias in float, x used as given (no input quantization). Requires: enable_float_twin().
    /// Throws: zoa::error(argument) when enable_float_twin() was not called.
    void forward_float(const float* x, std::size_t batch, std::size_t h, std::size_t w, float* y,
                       execution_context& ctx) const {
        require(!wf_.empty(), error_code::argument, "qconv2d::forward_float: call enable_float_twin() first");
        kernels::conv2d_f32<default_arch>(g_.shape(batch, h, w), x, wf_, bias_ptr(), y, &ctx);
    }

    /// The geometry, the quantizers (weight per channel or per tensor, input per tensor) and the float bias
    /// (empty = none).
    const conv2d_geometry& geometry() const noexcept { return g_; }
    const quant::module_params& params() const noexcept { return params_; }
    const std::vector<float>& bias() const noexcept { return bias_; }
    /// The weight codes, OIHW (unpacked copy).
    std::vector<std::uint8_t> codes() const { return detail::unpack_conv_q8(w_, g_); }
    /// Ŵ[o,·] = (wq − z_o)·s_o, OIHW: exactly the reference's fake-quantized weights.
    std::vector<float> dequantized_weight() const {
        const std::vector<std::uint8_t> c = codes();
        const quant::quant_params& wq = params_.weight();
        const std::size_t per = c.size() / g_.out_channels;
        std::vector<float> w(c.size());
        for (std::size_t i = 0; i < c.size(); ++i) {
            const std::size_t grp = wq.groups() == 1 ? 0 : i / per;
            w[i] = quant::decode_affine(c[i], wq.scale[grp], wq.zero_point[grp]);
        }
        return w;
    }
    /// Bytes of packed integer weights (+ per-column sums and zero points).
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of the fp32 twin (0 unless enable_float_twin()).
    std::size_t float_twin_bytes() const noexcept { return wf_.bytes(); }
    /// Bytes of fp32 parameters kept besides the packed weights (bias, per-channel scales).
    std::size_t float_bytes() const noexcept { return (bias_.size() + w_scale_.size()) * sizeof(float); }

private:
    const float* bias_ptr() const noexcept { return bias_.empty() ? nullptr : bias_.data(); }

    void check_params(const std::string& name) const {
        const quant::quant_params& wq = params_.weight();
        const quant::quant_params& xq = params_.input();
        require(params_.kind == quant::module_kind::weighted, error_code::policy, name,
                ": expected weight/input quantizers, got a/b (matmul) parameters");
        require(wq.kind == quant::quantizer_kind::uniform && wq.sch == quant::scheme::asymmetric, error_code::policy,
                name, ": weights need an asymmetric uniform quantizer, got ", quant::to_string(wq.kind), "/",
                quant::to_string(wq.sch));
        require(wq.groups() == 1 || wq.groups() == g_.out_channels, error_code::policy, name, ": ", wq.groups(),
                " weight groups, expected 1 or ", g_.out_channels, " (per output channel)");
        require(wq.qmax() == int(WRange::max), error_code::policy, name, ": weight quantizer has ", wq.bits,
                " bits, the layer stores codes [0, ", int(WRange::max), "]");
        wq.validate(name + ".weight_quant");
        require_affine_per_tensor<a_storage>(xq, name + ".input_quant");
        require(xq.qmax() == int(ARange::max), error_code::policy, name, ": input quantizer has ", xq.bits,
                " bits, the layer takes codes [0, ", int(ARange::max), "]");
    }

    void init(const w_storage* codes, const std::string& name) {
        (void)name;
        const quant::quant_params& wq = params_.weight();
        w_scale_.resize(g_.out_channels);
        std::vector<std::int32_t> zp(g_.out_channels);
        for (std::size_t o = 0; o < g_.out_channels; ++o) {
            const std::size_t grp = wq.groups() == 1 ? 0 : o;
            w_scale_[o] = wq.scale[grp];
            zp[o] = wq.zero_point[grp];
        }
        w_ = kernels::pack_conv2d_q8<ARange, WRange>(codes, g_.shape(1, g_.kernel, g_.kernel), zp.data(), zp.size());
        const std::size_t k = g_.in_channels, n = g_.out_channels;
        if (kernels::gram_q8_simd_v<typename packed_type::arch> && g_.kernel == 1 && g_.stride == 1 && g_.pad == 0 &&
            k % 32 == 0 && k * k <= 32 * n) {  // gram_moments(): the offsets w − zw the moments need
            wd_.resize(n * k);
            for (std::size_t o = 0; o < n; ++o)
                for (std::size_t c = 0; c < k; ++c) {
                    const std::int32_t d = std::int32_t{codes[o * k + c]} - zp[o];
                    wd_[o * k + c] = static_cast<std::int16_t>(d);
                    wd_max_ = std::max<std::int64_t>(wd_max_, d < 0 ? -d : d);
                }
        }
    }

    conv2d_geometry g_;
    packed_type w_;
    kernels::packed_f32<default_arch> wf_;
    std::vector<float> bias_, w_scale_;
    quant::module_params params_;
    std::vector<std::int16_t> wd_;  // gram_moments() convs: weight offsets w − zw, [out × in]; empty otherwise
    std::int64_t wd_max_ = 0;       // max |w − zw|
};

}  // namespace zoa::nn
