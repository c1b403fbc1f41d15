// zoa — quantization presets: policy resolution (quant_config), the PTQ4ViT (ViT) and MQBench academic (ResNet)
// policy bundles, and their per-layer tables (spec §4.1 / §4.2)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <type_traits>

#include "zoa/core/error.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"

namespace zoa::quant {

/// The quantization choices of a policy bundle, each axis resolved (or defaulted) and checked by one static_assert:
///   using B = quant_config<zoa::policy<zoa::w4a4>>;  B::weight_bits == 4, B::weight_scheme == scheme::symmetric
template <class Policy>
struct quant_config {
    static_assert(::zoa::is_policy_v<Policy>, "zoa: quant_config<P>: P must be a zoa::policy<...>");
    /// The chosen options (bit_width, weight_quantizer, activation_quantizer axes).
    using bit_width = ::zoa::policy_get_t<Policy, ::zoa::axis::bit_width>;
    using weight = ::zoa::policy_get_t<Policy, ::zoa::axis::weight_quantizer>;
    using activation = ::zoa::policy_get_t<Policy, ::zoa::axis::activation_quantizer>;
    static_assert(is_bit_width_v<bit_width>,
                  "zoa: the bit_width option must be zoa::quant::bits<W,A> or zoa::fp32 (or provide quantized, "
                  "weight_bits, activation_bits, maddubs_exact)");
    static_assert(is_weight_quantizer_v<weight>,
                  "zoa: the weight_quantizer option must be zoa::quant::weight_scheme<Scheme, Granularity>");
    static_assert(is_activation_quantizer_v<activation>,
                  "zoa: the activation_quantizer option must be zoa::quant::activation_scheme<Scheme, Granularity>");

    /// Their values flattened for runtime use (scheme and granularity enums, bit-widths).
    static constexpr bool quantized = bit_width::quantized;
    static constexpr int weight_bits = bit_width::weight_bits;
    static constexpr int activation_bits = bit_width::activation_bits;
    static constexpr scheme weight_scheme = weight::scheme_value;
    static constexpr granularity weight_granularity = weight::granularity_value;
    static constexpr scheme activation_scheme = activation::scheme_value;
    static constexpr granularity activation_granularity = activation::granularity_value;

    /// The integer code ranges the schemes select (meaningful when quantized): symmetric → signed_range<b>,
    /// asymmetric → unsigned_range<b> (8-bit affine codes are uint8_t, narrower ones int8_t).
    using weight_range = std::conditional_t<weight_scheme == scheme::asymmetric, unsigned_range<weight_bits>,
                                            signed_range<weight_bits>>;
    /// The activation code range (see weight_range).
    using activation_range = std::conditional_t<activation_scheme == scheme::asymmetric,
                                                unsigned_range<activation_bits>, signed_range<activation_bits>>;
};

/// PTQ4ViT policy bundle: b-bit symmetric weights and activations (layer overrides in ptq4vit_layer()).
template <class Bits = w8a8>
using ptq4vit_policy =
    ::zoa::policy<Bits, weight_scheme<symmetric, per_tensor>, activation_scheme<symmetric, per_tensor>>;

namespace detail {
template <class Q, bool IsPolicy = ::zoa::is_policy_v<Q>>
struct config_of {
    using type = quant_config<Q>;
};
template <class Q>
struct config_of<Q, false> {
    using type = quant_config<ptq4vit_policy<Q>>;
};
}  // namespace detail

/// quant_config of Q, where Q is a policy bundle or a bare bit-width option (which means PTQ4ViT's symmetric
/// scheme, e.g. nn::qlinear<zoa::w8a8>): config_of_t<zoa::w6a6> == quant_config<ptq4vit_policy<zoa::w6a6>>.
template <class Q>
using config_of_t = typename detail::config_of<Q>::type;

/// MQBench academic policy bundle: per-channel asymmetric weights, per-tensor asymmetric activations.
template <class Bits = w8a8>
using mqbench_policy =
    ::zoa::policy<Bits, weight_scheme<asymmetric, per_channel>, activation_scheme<asymmetric, per_tensor>>;

/// The quantizers of one module: operand 0 = weight / A, operand 1 = input / B (module_params order).
struct layer_quant_spec {
    module_kind kind = module_kind::weighted;  ///< weighted (linear/conv) or matmul
    operand_spec operand[2];                   ///< operand 0 = weight / A, operand 1 = input / B
};

// ---- PTQ4ViT (spec §4.1) --------------------------------------------------------------------------------------

/// Quantized module types of a timm ViT as PTQ4ViT wraps them.
enum class vit_layer : int { patch_embed, qkv, matmul1, matmul2, proj, fc1, fc2, head };

/// The ablation switches of PTQ4ViT's config (`no_postgelu`, `no_softmax` inverted).
struct ptq4vit_options {
    bool post_gelu_twin = true;     ///< fc2 input: post-GELU twin (else a plain symmetric per-tensor quantizer)
    bool post_softmax_twin = true;  ///< matmul2 A: post-softmax twin (else symmetric per-head)
};

/// PTQ4ViT's per-layer table (every bit-width = b; `bits` 32 or more = fp32, nothing quantized):
/// | module            | weight                  | input                          |
/// | patch_embed conv  | per output channel      | not quantized                  |
/// | attn.qkv          | 3 row blocks (q, k, v)  | per tensor                     |
/// | attn.matmul1 q·kᵀ | A = q per head          | B = kᵀ per head                |
/// | attn.matmul2 a·v  | A = post-softmax twin   | B = v per head                 |
/// | attn.proj, fc1    | per tensor              | per tensor                     |
/// | mlp.fc2           | per tensor              | post-GELU twin                 |
/// | head              | per tensor              | per tensor                     |
/// Throws: zoa::error(argument) for bits outside 2..8 (other than >= 32).
inline layer_quant_spec ptq4vit_layer(vit_layer layer, int bits, const ptq4vit_options& opt = {}) {
    layer_quant_spec s;
    if (bits >= 32) {
        s.kind =
            (layer == vit_layer::matmul1 || layer == vit_layer::matmul2) ? module_kind::matmul : module_kind::weighted;
        s.operand[0].kind = s.operand[1].kind = quantizer_kind::none;
        return s;
    }
    require(bits >= 2 && bits <= 8, error_code::argument, "ptq4vit_layer: bits must be in 2..8 or >= 32, got ", bits);
    const operand_spec tensor{quantizer_kind::uniform, granularity::per_tensor, 1, bits, scheme::symmetric};
    const operand_spec head{quantizer_kind::uniform, granularity::per_head, 1, bits, scheme::symmetric};
    s.operand[0] = s.operand[1] = tensor;
    switch (layer) {
        case vit_layer::patch_embed:
            s.operand[0].gran = granularity::per_channel;
            s.operand[1].kind = quantizer_kind::none;
            break;
        case vit_layer::qkv:
            s.operand[0].gran = granularity::per_row_block;
            s.operand[0].blocks = 3;
            break;
        case vit_layer::matmul1:
            s.kind = module_kind::matmul;
            s.operand[0] = s.operand[1] = head;
            break;
        case vit_layer::matmul2:
            s.kind = module_kind::matmul;
            s.operand[0] = s.operand[1] = head;
            if (opt.post_softmax_twin) {
                s.operand[0].kind = quantizer_kind::post_softmax_twin;
                s.operand[0].gran = granularity::per_tensor;
            }
            break;
        case vit_layer::fc2:
            if (opt.post_gelu_twin) s.operand[1].kind = quantizer_kind::post_gelu_twin;
            break;
        case vit_layer::proj:
        case vit_layer::fc1:
        case vit_layer::head:
            break;
    }
    return s;
}

/// ptq4vit_layer with the bit-width of a policy bundle (activations and weights share PTQ4ViT's single b).
template <class Policy>
layer_quant_spec ptq4vit_layer(vit_layer layer, const ptq4vit_options& opt = {}) {
    using C = quant_config<Policy>;
    static_assert(!C::quantized || C::weight_bits == C::activation_bits,
                  "zoa: ptq4vit_layer: PTQ4ViT uses one bit-width for weights and activations (bits<B,B>)");
    return ptq4vit_layer(layer, C::quantized ? C::weight_bits : 32, opt);
}

// ---- MQBench academic (spec §4.2) -----------------------------------------------------------------------------

/// Quantized module types of a torchvision ResNet under MQBench's academic backend.
enum class resnet_layer : int {
    first_conv,  ///< conv1 (stem): weights and its input quantizer forced to 8 bits
    conv,        ///< every other Conv2d (incl. downsample.0)
    fc,          ///< the classifier: weights and its input (flatten/reshape) quantizer forced to 8 bits
};

/// MQBench academic per-layer table: weights per-channel asymmetric (MSEObserver), inputs per-tensor asymmetric
/// (EMAMSEObserver, ema 0.9); first conv and fc at 8/8 bits; `--bit 2` means W2A4. BatchNorm is not folded.
/// Throws: zoa::error(argument) for bits outside 2..8 (other than >= 32 = fp32).
inline layer_quant_spec mqbench_layer(resnet_layer layer, int bits) {
    layer_quant_spec s;
    if (bits >= 32) {
        s.operand[0].kind = s.operand[1].kind = quantizer_kind::none;
        return s;
    }
    require(bits >= 2 && bits <= 8, error_code::argument, "mqbench_layer: bits must be in 2..8 or >= 32, got ", bits);
    const bool forced8 = layer == resnet_layer::first_conv || layer == resnet_layer::fc;
    s.operand[0] = {quantizer_kind::uniform, granularity::per_channel, 1, forced8 ? 8 : bits, scheme::asymmetric};
    s.operand[1] = {quantizer_kind::uniform, granularity::per_tensor, 1, forced8 ? 8 : (bits == 2 ? 4 : bits),
                    scheme::asymmetric};
    return s;
}

/// mqbench_layer with the weight bit-width of a policy bundle.
template <class Policy>
layer_quant_spec mqbench_layer(resnet_layer layer) {
    using C = quant_config<Policy>;
    return mqbench_layer(layer, C::quantized ? C::weight_bits : 32);
}

}  // namespace zoa::quant

namespace zoa {
/// Policy bundle presets: zoa::ptq4vit<zoa::w6a6>, zoa::mqbench<zoa::w4a4>.
template <class Bits = w8a8>
using ptq4vit = quant::ptq4vit_policy<Bits>;
/// MQBench preset, see mqbench_policy.
template <class Bits = w8a8>
using mqbench = quant::mqbench_policy<Bits>;
}  // namespace zoa
