// zoa — the precision of a model file and of a model type as users write them ("W6A6", "fp32"), for the message when
// the two disagree
// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "zoa/io/safetensors_reader.hpp"
#include "zoa/quant/param_tensors.hpp"

namespace zoa::models {

/// "W<w>A<a>" (e.g. "W6A6") for quantized bit-widths, "fp32" when either is 32 or more.
template <class = void>
inline std::string precision_name(int weight_bits, int activation_bits) {
    if (weight_bits >= 32 || activation_bits >= 32) return "fp32";
    return "W" + std::to_string(weight_bits) + "A" + std::to_string(activation_bits);
}

/// The bit-width option of a precision as C++ source: "zoa::w6a6" for the presets (8/6/4 bits, equal widths),
/// "zoa::quant::bits<6, 4>" otherwise, "zoa::fp32" for 32 bits.
template <class = void>
inline std::string bits_option_name(int weight_bits, int activation_bits) {
    if (weight_bits >= 32 || activation_bits >= 32) return "zoa::fp32";
    if (weight_bits == activation_bits && (weight_bits == 8 || weight_bits == 6 || weight_bits == 4))
        return "zoa::w" + std::to_string(weight_bits) + "a" + std::to_string(activation_bits);
    return "zoa::quant::bits<" + std::to_string(weight_bits) + ", " + std::to_string(activation_bits) + ">";
}

/// A model file's precision: "fp32" when it holds no quantizer parameters, else the bit-widths of the weight and
/// input quantizers of `probe` (a module calibrated at the model's own widths, e.g. "head" for a ViT,
/// "layer1.0.conv1" for a ResNet, whose first conv and fc are forced to 8 bits), or "calibrated (no '<probe>')" when
/// the file lacks that module. weight_bits / activation_bits receive the widths (32 for fp32, 0 when unknown).
/// Throws: zoa::error(format) for malformed quantizer tensors (quant::model_quant_params::from_tensors).
template <class = void>
inline std::string file_precision(const io::safetensors_file& f, const std::string& probe, int* weight_bits = nullptr,
                                  int* activation_bits = nullptr) {
    quant::tensor_map qm;
    for (const auto& k : f.keys())
        if (quant::is_param_key(k)) qm[k] = f.to_f32(k);
    const quant::model_quant_params q = quant::model_quant_params::from_tensors(qm);
    int w = 32, a = 32;
    std::string name = "fp32";
    if (!q.modules.empty()) {
        const auto it = q.modules.find(probe);
        w = a = 0;
        name = "calibrated (no '" + probe + "')";
        if (it != q.modules.end()) {
            w = it->second.weight().bits;
            a = it->second.input().bits;
            name = precision_name(w, a);
        }
    }
    if (weight_bits) *weight_bits = w;
    if (activation_bits) *activation_bits = a;
    return name;
}

}  // namespace zoa::models
