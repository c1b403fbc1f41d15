// zoa — the contract between a model and the adapters: adapted norm layers, features, logits, embedding stats
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"

namespace zoa::adapt {

/// Model family: selects the reference's per-architecture loss forms and quirks (ZOA/FOA on ViT vs ResNet).
enum class model_family { vit, resnet };

/// One adapted normalization layer (LayerNorm or BatchNorm): its source affine parameters.
/// The pointers stay owned by the (immutable) model and must outlive the adapter.
struct norm_layer_info {
    std::string name;               ///< e.g. "blocks.1.norm1" or "layer2.0.bn1"
    std::size_t channels = 0;       ///< length of weight and of bias
    const float* weight = nullptr;  ///< source γ (channels floats, owned by the model)
    const float* bias = nullptr;    ///< source β (channels floats, owned by the model)
};

/// What a model exposes for adaptation. Flat parameter layout used everywhere in zoa::adapt:
/// [w_0 (channels_0), b_0 (channels_0), w_1, b_1, ...] in the order of `norms` (the reference's e0 order).
struct adapt_layout {
    std::vector<norm_layer_info> norms;  ///< adapted norm layers, in flat-layout order
    /// Sizes of the feature groups in forward_result::features, in order; the last group feeds the classifier
    /// (ViT: one group per block, the CLS token after the next norm; ResNet: pooled stage outputs).
    std::vector<std::size_t> feature_groups;
    std::size_t num_classes = 0;
    /// Reference quirk (spec §6 item 2): ResNet's shift uses the scalar mean of the last source channel.
    bool reference_scalar_shift = false;
    model_family family = model_family::vit;
    /// FOA prompt granularity: a prompt is a whole number of units of this many floats (ViT: embed_dim per prompt
    /// token; ResNet: the 3×3×7×7 input-prompt conv = 441); 0 = the model takes no prompt.
    std::size_t prompt_unit = 0;
    /// FOA's initial prompt: ViT draws U(−scale, scale) with scale = sqrt(6/(in_chans·patch² + embed_dim)) and starts
    /// CMA-ES at 0; ResNet draws N(0, scale²) (kaiming fan_out) and starts CMA-ES at that draw.
    float prompt_init_scale = 0.0f;
    /// Dims of forward_result::embed_mean/embed_var (domain-shift statistics; 0 = not stated, then unchecked).
    std::size_t embedding_dim = 0;
    /// The model's numeric precision ("fp32", "w8a8", "w6a6", ...; "" = not stated). Part of an adapter state's
    /// identity: a state adapted on one precision is refused by an adapter of another.
    std::string precision;

    /// Total number of adapted scalars (Σ 2·channels).
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (const auto& l : norms) n += 2 * l.channels;
        return n;
    }
    /// Total feature width (Σ feature_groups).
    std::size_t feature_width() const {
        std::size_t n = 0;
        for (auto g : feature_groups) n += g;
        return n;
    }
};

/// Inputs of one adapted forward pass.
struct forward_request {
    const float* norm_params = nullptr;  ///< effective flat affine params (layout above); nullptr = source params
    const float* shift = nullptr;        ///< activation shift added to the last feature group before the head
    bool embedding_stats = true;         ///< compute embed_mean/embed_var (domain-shift detection)
    const float* prompt = nullptr;       ///< FOA prompt (ViT: tokens inserted after CLS; ResNet: input conv weights)
    std::size_t prompt_size = 0;         ///< floats in prompt, a multiple of adapt_layout::prompt_unit
    bool batch_statistics = false;       ///< BatchNorm normalises with the batch's statistics (ResNet ZOA/BN-adapt)
};

/// Outputs of one adapted forward pass; buffers are reused between calls.
struct forward_result {
    xt::xtensor<float, 2> features;        ///< B × Σ feature_groups
    xt::xtensor<float, 2> logits;          ///< B × C: head(last group), unshifted (enters the loss)
    xt::xtensor<float, 2> shifted_logits;  ///< B × C: head(last group + shift); empty when no shift was given
    std::vector<float> embed_mean;         ///< per embedding dim, over batch and tokens/pixels
    std::vector<float> embed_var;          ///< unbiased variance, same reduction
};

namespace detail {
template <class M, class Batch, class = void>
struct is_adaptable : std::false_type {};
template <class M, class Batch>
struct is_adaptable<M, Batch,
                    std::void_t<decltype(std::declval<const M&>().layout()),
                                decltype(std::declval<const M&>().forward_adapt(
                                    std::declval<const Batch&>(), std::declval<const forward_request&>(),
                                    std::declval<forward_result&>()))>>
    : std::is_convertible<decltype(std::declval<const M&>().layout()), adapt_layout> {};
}  // namespace detail

/// Throws zoa::error(numeric) naming the first non-finite value of an N × C × H × W batch (n = N·C·H·W floats):
/// "<who>: input element 17 (image 0, channel 0, row 0, column 17) is inf; inputs must be finite". Models call it
/// before anything else, so a NaN/Inf pixel is refused as such (not reported later as a NaN inside some layer) and
/// an adapter that forwards it first changes nothing.
inline void require_finite_input(const float* x, std::size_t n, std::size_t C, std::size_t H, std::size_t W,
                                 const char* who) {
    std::size_t i = 0;
    while (i < n && std::isfinite(x[i])) ++i;
    if (i == n) return;
    const std::size_t hw = H * W, chw = C * hw;
    fail(error_code::numeric, who, ": input element ", i, " (image ", i / chw, ", channel ", i % chw / hw, ", row ",
         i % hw / W, ", column ", i % W, ") is ", x[i], "; inputs must be finite");
}

/// Optional, for T3A: `void classify(const xt::xtensor<float, 2>& features, xt::xtensor<float, 2>& logits) const`
/// applies the (possibly quantized) classifier head to rows of last-group features, and
/// `std::vector<float> classifier_weight() const` returns the head's float weight (C × last-group dim, row-major).

/// True when M is an adaptable model for batches of type Batch:
///   adapt_layout layout() const;
///   void forward_adapt(const Batch&, const forward_request&, forward_result&) const;
template <class M, class Batch>
inline constexpr bool is_adaptable_v = detail::is_adaptable<M, Batch>::value;

}  // namespace zoa::adapt
