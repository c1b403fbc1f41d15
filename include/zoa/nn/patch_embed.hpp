// zoa — ViT patch embedding: Conv2d(kernel = stride = patch) as unfold + GEMM, fp32 or with quantized weights
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/pack_f32.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"

namespace zoa::nn {

/// timm PatchEmbed: tokens = Conv2d(C → D, kernel = stride = p)(x).flatten(2).transpose(1, 2), i.e. for image b and
/// patch j = gy·G + gx (row-major over the G × G grid, G = img/p):
///   token[b, j, o] = b_o + Σ_{c,ky,kx} W[o, c, ky, kx] · x[b, c, gy·p + ky, gx·p + kx].
/// Computed as unfold (K = C·p·p values per patch, in W's OIHW order) + one GEMM.
/// Quantized (Bits = bits<W, A>, PTQ4ViT ChannelwiseBatchingQuantConv2d with a_bit = 32): the weights are quantized
/// per output channel, Ŵ = clamp(round(W/Δ_o))·Δ_o, and the input is NOT quantized, so the layer runs the fp32 GEMM
/// on Ŵ (packed once); the int8 codes are kept (C·p·p·D bytes) for saving the model.
template <class Bits>
class patch_embed {
public:
    patch_embed() = default;

    /// weight [D, C, p, p] (flat), bias [D]. For quantized Bits, p must hold a per-channel (or per-tensor) symmetric
    /// Bits::weight_bits weight quantizer and an input quantizer of kind none.
    /// Throws: zoa::error(shape) naming `name` for inconsistent sizes, zoa::error(policy) for unsupported parameters.
    patch_embed(const std::vector<float>& weight, std::vector<float> bias, std::size_t dim, std::size_t in_chans,
                std::size_t patch, std::size_t img_size, const quant::module_params& p = {},
                const std::string& name = "patch_embed.proj")
        : bias_(std::move(bias)), dim_(dim), chans_(in_chans), patch_(patch), img_(img_size), params_(p) {
        require(dim > 0 && in_chans > 0 && patch > 0 && img_size > 0 && img_size % patch == 0, error_code::shape, name,
                ": img_size ", img_size, " must be a positive multiple of patch_size ", patch);
        const std::size_t k = in_chans * patch * patch;
        require(weight.size() == dim * k, error_code::shape, name, ".weight has ", weight.size(), " values, expected [",
                dim, ", ", in_chans, ", ", patch, ", ", patch, "]");
        require(bias_.size() == dim, error_code::shape, name, ".bias has ", bias_.size(), " values, expected ", dim);
        if constexpr (Bits::quantized) {
            const quant::quant_params& w = p.weight();
            require(p.kind == quant::module_kind::weighted && w.kind == quant::quantizer_kind::uniform &&
                        w.sch == quant::scheme::symmetric && (w.groups() == 1 || w.groups() == dim) &&
                        w.bits == Bits::weight_bits && p.input().kind == quant::quantizer_kind::none,
                    error_code::policy, name, ": expected symmetric ", Bits::weight_bits, "-bit weights with 1 or ",
                    dim, " groups and an unquantized input, got weight ", quant::to_string(w.kind), " (", w.groups(),
                    " groups, ", w.bits, " bits), input ", quant::to_string(p.input().kind));
            w.validate(name + ".weight_quant");
            codes_.resize(weight.size());
            quant::encode(w, weight.data(), weight.size(), codes_.data());
            set_codes(name);
        } else {
            w_.pack(weight.data(), dim, k, static_cast<std::ptrdiff_t>(k), 1);
        }
    }

    /// Quantized only: builds the layer from weight codes [D, C·p·p] (e.g. read from a quantized model file).
    /// Throws: zoa::error(policy) for an fp32 Bits, zoa::error(shape) naming `name` when codes is not D × C·p·p, and as
    /// the float-weight constructor.
    patch_embed(std::vector<std::int8_t> codes, std::vector<float> bias, std::size_t dim, std::size_t in_chans,
                std::size_t patch, std::size_t img_size, const quant::module_params& p, const std::string& name)
        : patch_embed(std::vector<float>(codes.size(), 0.0f), std::move(bias), dim, in_chans, patch, img_size, p,
                      name) {
        require(Bits::quantized, error_code::policy, name, ": weight codes need a quantized bit-width policy");
        require(codes.size() == codes_.size(), error_code::shape, name, ": codes have ", codes.size(), " values");
        codes_ = std::move(codes);
        set_codes(name);
    }

    /// Geometry: patches per side (img/patch), patches N, embedding D, input channels, patch size, image size, and
    /// values per patch (C·p·p).
    std::size_t grid() const noexcept { return img_ / patch_; }
    std::size_t num_patches() const noexcept { return grid() * grid(); }
    std::size_t dim() const noexcept { return dim_; }
    std::size_t in_chans() const noexcept { return chans_; }
    std::size_t patch_size() const noexcept { return patch_; }
    std::size_t img_size() const noexcept { return img_; }
    std::size_t patch_values() const noexcept { return chans_ * patch_ * patch_; }

    /// Unfolds images x [B, C, img, img] into patches [B·N × C·p·p] (OIHW order within a patch).
    void unfold(const float* x, std::size_t batch, float* patches, execution_context& ctx) const {
        const std::size_t G = grid(), p = patch_, K = patch_values(), hw = img_ * img_;
        ctx.parallel_for(batch * G, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const std::size_t b = r / G, gy = r % G;
                for (std::size_t gx = 0; gx < G; ++gx) {
                    float* dst = patches + ((b * G + gy) * G + gx) * K;
                    for (std::size_t c = 0; c < chans_; ++c)
                        for (std::size_t ky = 0; ky < p; ++ky) {
                            const float* src = x + b * chans_ * hw + c * hw + (gy * p + ky) * img_ + gx * p;
                            for (std::size_t kx = 0; kx < p; ++kx) *dst++ = src[kx];
                        }
                }
            }
        });
    }

    /// Writes token[b, j, :] to out + b·image_stride + j·D for images x [B, C, img, img] (so the caller can leave
    /// room for class/prompt tokens). Bit-identical for any thread count.
    void forward(const float* x, std::size_t batch, float* out, std::size_t image_stride,
                 execution_context& ctx) const {
        if (batch == 0) return;
        const std::size_t N = num_patches(), K = patch_values();
        float* const patches = thread_scratch<float>(scratch_slot::layer_0, batch * N * K);  // reused per thread
        unfold(x, batch, patches, ctx);
        kernels::out_layout layout{static_cast<std::ptrdiff_t>(dim_), 1, N, static_cast<std::ptrdiff_t>(image_stride)};
        kernels::gemm_f32(patches, batch * N, static_cast<std::ptrdiff_t>(K), w_,
                          kernels::out_f32{out, layout, bias_.data()}, &ctx);
    }

    /// The weights the GEMM uses [D, C·p·p]: W (fp32) or Ŵ (quantized).
    std::vector<float> weight() const { return unpack_f32(w_); }
    const std::vector<float>& bias() const noexcept { return bias_; }
    /// Quantized: the weight codes [D, C·p·p]; fp32: empty.
    const std::vector<std::int8_t>& codes() const noexcept { return codes_; }
    const quant::module_params& params() const noexcept { return params_; }
    std::size_t packed_bytes() const noexcept { return w_.bytes() + codes_.size(); }
    std::size_t float_bytes() const noexcept { return bias_.size() * sizeof(float); }

private:
    void set_codes(const std::string& name) {
        const quant::quant_params& w = params_.weight();
        const std::size_t K = patch_values();
        std::vector<float> wd(codes_.size());
        for (std::size_t i = 0; i < codes_.size(); ++i) {
            require(codes_[i] >= w.qmin() && codes_[i] <= w.qmax(), error_code::numeric, name, ": weight code ",
                    int(codes_[i]), " at ", i, " outside [", w.qmin(), ", ", w.qmax(), "]");
            wd[i] = quant::decode_symmetric(codes_[i], w.scale[w.groups() == 1 ? 0 : i / K]);
        }
        w_.pack(wd.data(), dim_, K, static_cast<std::ptrdiff_t>(K), 1);
    }

    kernels::packed_f32<default_arch> w_;
    std::vector<float> bias_;
    std::vector<std::int8_t> codes_;
    std::size_t dim_ = 0, chans_ = 0, patch_ = 1, img_ = 0;
    quant::module_params params_;
};

}  // namespace zoa::nn
