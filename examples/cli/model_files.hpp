// zoa — CLI helpers shared by `info` and `predict`: which architecture a model file holds
// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/vit_config.hpp"
#include "zoa/models/vit_io.hpp"

namespace zoa_cli {

/// A model family and how it was found.
struct arch_info {
    std::string family;  ///< "vit", "resnet" or "" (unknown)
    std::string naming;  ///< "timm", "torchvision" or ""
    std::string source;  ///< "--arch", "metadata" (zoa.arch) or "tensor names"
};

/// The family of a preset name given with --arch: vit_* presets → "vit", resnet18/34/50/101 → "resnet".
/// Throws: zoa::error(argument) listing the known names.
inline std::string family_of_arch(const std::string& name) {
    if (zoa::models::is_vit_preset(name)) return "vit";
    if (name == "resnet18" || name == "resnet34" || name == "resnet50" || name == "resnet101") return "resnet";
    zoa::fail(zoa::error_code::argument, "unknown --arch '", name,
              "' (expected vit_tiny_patch16_224, vit_small_patch16_224, vit_base_patch16_224, resnet18, resnet34, "
              "resnet50 or resnet101)");
}

/// Detects the architecture: --arch (when non-empty), else the file's zoa.arch metadata, else its tensor names
/// (timm ViT: cls_token / patch_embed.proj.weight; torchvision ViT: class_token / conv_proj.weight; torchvision
/// ResNet: conv1.weight + layer1.0.conv1.weight).
inline arch_info detect_arch(const zoa::io::safetensors_file& f, const std::string& arch_flag = "") {
    arch_info a;
    if (f.contains("cls_token") || f.contains("patch_embed.proj.weight"))
        a.naming = "timm";
    else if (f.contains("class_token") || f.contains("conv_proj.weight"))
        a.naming = "torchvision";
    else if (f.contains("conv1.weight") && f.contains("layer1.0.conv1.weight"))
        a.naming = "torchvision";
    if (!arch_flag.empty()) {
        a.family = family_of_arch(arch_flag);
        a.source = "--arch";
        return a;
    }
    const auto it = f.metadata().find(zoa::models::arch_metadata_key);
    if (it != f.metadata().end()) {
        a.family = it->second;
        a.source = "metadata";
        return a;
    }
    if (f.contains("cls_token") || f.contains("class_token") || f.contains("patch_embed.proj.weight") ||
        f.contains("conv_proj.weight"))
        a.family = "vit";
    else if (f.contains("conv1.weight") && f.contains("layer1.0.conv1.weight"))
        a.family = "resnet";
    a.source = "tensor names";
    return a;
}

/// The precision of a calibrated zoa file ("w8a8", ...) from its zoa.quant metadata, or "" for fp32 files.
inline std::string file_precision(const zoa::io::safetensors_file& f) {
    const auto it = f.metadata().find(zoa::models::quant_metadata_key);
    if (it == f.metadata().end() || it->second.empty()) return "";
    const auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_object() || !j.contains("weight_bits") || !j.contains("activation_bits")) return "";
    return "w" + j["weight_bits"].dump() + "a" + j["activation_bits"].dump();
}

}  // namespace zoa_cli
