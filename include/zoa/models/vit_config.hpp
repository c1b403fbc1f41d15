// zoa — ViT topology as runtime configuration: vit_config, the timm presets, the "zoa.config" JSON form
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/json.hpp"

namespace zoa::models {

/// Metadata keys of zoa model files (written by tools/reference/train_fmnist.py and zoa's own writers).
inline constexpr const char* arch_metadata_key = "zoa.arch";                ///< "vit" or "resnet"
inline constexpr const char* config_metadata_key = "zoa.config";            ///< the topology as a JSON object
inline constexpr const char* class_names_metadata_key = "zoa.class_names";  ///< JSON array of strings
inline constexpr const char* quant_metadata_key = "zoa.quant";              ///< quantized files: scheme and bit-widths

/// Topology of a timm VisionTransformer with a class token, global_pool = 'token', learned position embedding over
/// [cls, patches], pre-norm blocks, no layer-scale / fc_norm / norm_pre, exact-erf GELU (spec §1.1, ecosystem §2.2).
/// Everything here is runtime data; only the quantization policy is a template parameter of models::vit.
struct vit_config {
    std::size_t img_size = 224;      ///< square input side
    std::size_t patch_size = 16;     ///< square patch side
    std::size_t in_chans = 3;        ///< image channels
    std::size_t embed_dim = 768;     ///< D
    std::size_t depth = 12;          ///< transformer blocks
    std::size_t num_heads = 12;      ///< attention heads (D % heads == 0)
    double mlp_ratio = 4.0;          ///< hidden = int(embed_dim · mlp_ratio), as timm
    std::size_t num_classes = 1000;  ///< head outputs
    bool qkv_bias = true;            ///< the qkv linear has a bias
    double ln_eps = 1e-6;            ///< as written in the config; the LayerNorms use float(ln_eps)

    /// Patches per side (img/patch) and patches N = grid².
    std::size_t grid() const noexcept { return patch_size ? img_size / patch_size : 0; }
    std::size_t num_patches() const noexcept { return grid() * grid(); }
    /// Tokens per image without prompts: 1 (class token) + patches.
    std::size_t tokens() const noexcept { return 1 + num_patches(); }
    /// D / heads.
    std::size_t head_dim() const noexcept { return num_heads ? embed_dim / num_heads : 0; }
    /// MLP hidden width int(D · mlp_ratio).
    template <class = void>
    std::size_t mlp_hidden() const noexcept {
        return static_cast<std::size_t>(static_cast<double>(embed_dim) * mlp_ratio);
    }

    /// Throws: zoa::error(argument) naming the field when the topology is impossible (zero sizes, img_size not a
    /// multiple of patch_size, embed_dim not divisible by num_heads, mlp_ratio or ln_eps out of range).
    template <class = void>
    void validate() const {
        require(img_size > 0 && patch_size > 0 && img_size % patch_size == 0, error_code::argument,
                "vit_config: img_size ", img_size, " must be a positive multiple of patch_size ", patch_size);
        require(in_chans > 0 && embed_dim > 0 && depth > 0 && num_classes > 0, error_code::argument,
                "vit_config: in_chans, embed_dim, depth and num_classes must be > 0, got ", in_chans, ", ", embed_dim,
                ", ", depth, ", ", num_classes);
        require(num_heads > 0 && embed_dim % num_heads == 0, error_code::argument, "vit_config: embed_dim ", embed_dim,
                " is not divisible by num_heads ", num_heads);
        require(std::isfinite(mlp_ratio) && mlp_ratio > 0.0 && mlp_hidden() > 0, error_code::argument,
                "vit_config: mlp_ratio ", mlp_ratio, " gives no hidden units");
        require(std::isfinite(ln_eps) && ln_eps > 0.0 && ln_eps < 1.0, error_code::argument,
                "vit_config: ln_eps must be in (0, 1), got ", ln_eps);
    }

    friend bool operator==(const vit_config& a, const vit_config& b) {
        return a.img_size == b.img_size && a.patch_size == b.patch_size && a.in_chans == b.in_chans &&
               a.embed_dim == b.embed_dim && a.depth == b.depth && a.num_heads == b.num_heads &&
               a.mlp_ratio == b.mlp_ratio && a.num_classes == b.num_classes && a.qkv_bias == b.qkv_bias &&
               a.ln_eps == b.ln_eps;
    }
    friend bool operator!=(const vit_config& a, const vit_config& b) { return !(a == b); }
};

/// Blocks whose norm1/norm2 ZOA adapts by default: 1 .. depth − 1 − ⌈depth/4⌉ (block 0, the last ⌈depth/4⌉ blocks
/// and the final norm stay frozen). ViT-B (12): 1..8 as the reference's configure_model; depth 6: 1..3.
template <class = void>
inline std::vector<std::size_t> default_adapted_blocks(std::size_t depth) {
    std::vector<std::size_t> v;
    const std::size_t frozen_tail = (depth + 3) / 4;
    for (std::size_t i = 1; i + 1 + frozen_tail <= depth; ++i) v.push_back(i);
    return v;
}

/// timm vit_tiny_patch16_224: D = 192, 3 heads, depth 12, mlp 4, 224 px, patch 16.
template <class = void>
inline vit_config vit_tiny_patch16_224(std::size_t num_classes = 1000) {
    vit_config c;
    c.embed_dim = 192;
    c.num_heads = 3;
    c.num_classes = num_classes;
    return c;
}
/// timm vit_small_patch16_224: D = 384, 6 heads.
template <class = void>
inline vit_config vit_small_patch16_224(std::size_t num_classes = 1000) {
    vit_config c;
    c.embed_dim = 384;
    c.num_heads = 6;
    c.num_classes = num_classes;
    return c;
}
/// timm vit_base_patch16_224: D = 768, 12 heads (the ZOA paper's ViT).
template <class = void>
inline vit_config vit_base_patch16_224(std::size_t num_classes = 1000) {
    vit_config c;
    c.num_classes = num_classes;
    return c;
}

/// True for the preset names vit_tiny_patch16_224, vit_small_patch16_224, vit_base_patch16_224.
template <class = void>
inline bool is_vit_preset(const std::string& name) {
    return name == "vit_tiny_patch16_224" || name == "vit_small_patch16_224" || name == "vit_base_patch16_224";
}

/// The preset called `name`. Throws: zoa::error(argument) listing the known names otherwise.
template <class = void>
inline vit_config vit_preset(const std::string& name, std::size_t num_classes = 1000) {
    if (name == "vit_tiny_patch16_224") return vit_tiny_patch16_224(num_classes);
    if (name == "vit_small_patch16_224") return vit_small_patch16_224(num_classes);
    if (name == "vit_base_patch16_224") return vit_base_patch16_224(num_classes);
    fail(error_code::argument, "unknown ViT preset '", name,
         "' (expected vit_tiny_patch16_224, vit_small_patch16_224 or vit_base_patch16_224)");
}

/// Reads the "zoa.config" JSON object of a ViT file (tools/reference/models.py `model_config`):
///   img_size, patch_size, in_chans, num_classes, embed_dim, depth, num_heads (integers), mlp_ratio, ln_eps
///   (numbers), qkv_bias (bool), and optionally class_token (must be true) and global_pool (must be "token").
/// Every listed key except class_token/global_pool is required; any other key is rejected (a feature zoa does not
/// implement must not be ignored silently). `name` (the file) prefixes errors.
/// Throws: zoa::error(format) for invalid JSON, a missing/unknown key or a wrong type; errors of validate().
template <class = void>
inline vit_config vit_config_from_json(const std::string& text, const std::string& name) {
    const io::json::value j = io::json::parse(text, name + ": " + config_metadata_key);
    require(j.is_object(), error_code::format, name, ": ", config_metadata_key, " must be a JSON object");
    static const char* const known[] = {"img_size",  "patch_size", "in_chans",    "num_classes",
                                        "embed_dim", "depth",      "num_heads",   "mlp_ratio",
                                        "qkv_bias",  "ln_eps",     "class_token", "global_pool"};
    for (const auto& m : j.members()) {
        bool ok = false;
        for (const char* k : known) ok = ok || m.first == k;
        require(ok, error_code::format, name, ": ", config_metadata_key, " has unsupported key '", m.first,
                "' (zoa's ViT implements: img_size, patch_size, in_chans, num_classes, embed_dim, depth, num_heads, "
                "mlp_ratio, qkv_bias, ln_eps, class_token, global_pool)");
    }
    const auto get = [&](const char* key) -> const io::json::value& {
        const io::json::value* v = j.find(key);
        require(v != nullptr, error_code::format, name, ": ", config_metadata_key, " lacks '", key, "'");
        return *v;
    };
    const auto size = [&](const char* key) {
        const auto& v = get(key);
        require(v.is_unsigned(), error_code::format, name, ": ", config_metadata_key, ".", key,
                " must be a non-negative integer, got ", v.dump());
        return static_cast<std::size_t>(v.as_unsigned());
    };
    const auto number = [&](const char* key) {
        const auto& v = get(key);
        require(v.is_number(), error_code::format, name, ": ", config_metadata_key, ".", key, " must be a number, got ",
                v.dump());
        return v.as_double();
    };
    vit_config c;
    c.img_size = size("img_size");
    c.patch_size = size("patch_size");
    c.in_chans = size("in_chans");
    c.num_classes = size("num_classes");
    c.embed_dim = size("embed_dim");
    c.depth = size("depth");
    c.num_heads = size("num_heads");
    c.mlp_ratio = number("mlp_ratio");
    c.ln_eps = number("ln_eps");
    require(get("qkv_bias").is_bool(), error_code::format, name, ": ", config_metadata_key,
            ".qkv_bias must be true or false, got ", get("qkv_bias").dump());
    c.qkv_bias = get("qkv_bias").as_bool();
    if (const auto* v = j.find("class_token"))
        require(v->is_bool() && v->as_bool(), error_code::format, name, ": ", config_metadata_key,
                ".class_token must be true (zoa's ViT classifies the class token), got ", v->dump());
    if (const auto* v = j.find("global_pool"))
        require(v->equals("token"), error_code::format, name, ": ", config_metadata_key,
                ".global_pool must be \"token\", got ", v->dump());
    c.validate();
    return c;
}

/// The "zoa.config" JSON object of c (vit_config_from_json reads it back into an equal config), keys sorted.
template <class = void>
inline std::string vit_config_to_json(const vit_config& c) {
    io::json::value j = io::json::value::object();
    j.set("class_token", true).set("depth", c.depth).set("embed_dim", c.embed_dim).set("global_pool", "token");
    j.set("img_size", c.img_size).set("in_chans", c.in_chans).set("ln_eps", c.ln_eps).set("mlp_ratio", c.mlp_ratio);
    j.set("num_classes", c.num_classes).set("num_heads", c.num_heads).set("patch_size", c.patch_size);
    j.set("qkv_bias", c.qkv_bias);
    return j.dump();
}

}  // namespace zoa::models
