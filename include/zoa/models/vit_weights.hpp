// zoa — ViT weights in timm naming: loading from safetensors (timm or torchvision keys, F32/F16/BF16 or the I8
// codes of a quantized zoa file), shape checks naming the key, missing/unused key report
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/vit_config.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"

namespace zoa::models {

/// One transformer block's parameters (PyTorch layouts: Linear weights [out, in]).
struct vit_block_weights {
    std::vector<float> norm1_w, norm1_b;  ///< [D], [D]
    std::vector<float> qkv_w, qkv_b;      ///< [3D, D], [3D] (empty when qkv_bias is false)
    std::vector<float> proj_w, proj_b;    ///< [D, D], [D]
    std::vector<float> norm2_w, norm2_b;  ///< [D], [D]
    std::vector<float> fc1_w, fc1_b;      ///< [hidden, D], [hidden]
    std::vector<float> fc2_w, fc2_b;      ///< [D, hidden], [D]
};

/// All parameters of a ViT in fp32, plus its config and the calibrated quantizer parameters found in the file.
struct vit_weights {
    vit_config config;                      ///< the topology the tensors belong to
    std::vector<float> patch_w, patch_b;    ///< [D, C, p, p], [D]
    std::vector<float> cls_token;           ///< [D]
    std::vector<float> pos_embed;           ///< [1 + N, D]
    std::vector<vit_block_weights> blocks;  ///< depth entries
    /// Final LayerNorm [D], [D] and classifier head [classes, D], [classes].
    std::vector<float> norm_w, norm_b, head_w, head_b;
    quant::model_quant_params quant;              ///< `<module>.<role>_quant.*` tensors of the file (empty if none)
    std::map<std::string, std::string> metadata;  ///< the file's __metadata__
};

/// Which state-dict naming a file uses.
enum class vit_naming { automatic, timm, torchvision };

/// What a load found: the naming used, tensors the model needs but the file lacks (a load with missing keys
/// throws), tensors of the file the model does not use, and whether weights were stored as int8 codes.
struct vit_load_report {
    vit_naming naming = vit_naming::timm;  ///< the naming the file used
    /// Tensors the model needs but the file lacks, and file tensors the model does not use.
    std::vector<std::string> missing, unused;
    bool quantized_codes = false;  ///< weights were stored as int8 codes
    /// One line: "timm names, int8 weight codes, 2 unused: a, b".
    template <class = void>
    std::string summary() const {
        std::string s = naming == vit_naming::torchvision ? "torchvision" : "timm";
        s += " names";
        if (quantized_codes) s += ", int8 weight codes";
        s += ", " + std::to_string(unused.size()) + " unused";
        for (std::size_t i = 0; i < unused.size() && i < 8; ++i) s += (i ? ", " : ": ") + unused[i];
        if (unused.size() > 8) s += ", ...";
        return s;
    }
};

/// Options of load_vit_weights.
struct vit_load_options {
    vit_naming naming = vit_naming::automatic;  ///< automatic = detect from the keys
    /// true (default): tensors the ViT does not use are an error listing them, as PyTorch's strict load_state_dict
    /// (a file whose zoa.config says 5 blocks but holds 6 would otherwise load and silently compute other logits);
    /// false: they are only listed in vit_load_report::unused.
    bool strict = true;
};

namespace detail {

/// timm key → the same tensor's key in torchvision's VisionTransformer (torchvision/models/vision_transformer.py).
template <class = void>
inline std::string torchvision_key(const std::string& timm) {
    static const std::pair<const char*, const char*> top[] = {{"patch_embed.proj.weight", "conv_proj.weight"},
                                                              {"patch_embed.proj.bias", "conv_proj.bias"},
                                                              {"cls_token", "class_token"},
                                                              {"pos_embed", "encoder.pos_embedding"},
                                                              {"norm.weight", "encoder.ln.weight"},
                                                              {"norm.bias", "encoder.ln.bias"},
                                                              {"head.weight", "heads.head.weight"},
                                                              {"head.bias", "heads.head.bias"}};
    for (const auto& [a, b] : top)
        if (timm == a) return b;
    // blocks.{i}.<rest>
    const std::size_t dot = timm.find('.', 7);
    const std::string i = timm.substr(7, dot - 7), rest = timm.substr(dot + 1);
    static const std::pair<const char*, const char*> block[] = {{"norm1.weight", "ln_1.weight"},
                                                                {"norm1.bias", "ln_1.bias"},
                                                                {"attn.qkv.weight", "self_attention.in_proj_weight"},
                                                                {"attn.qkv.bias", "self_attention.in_proj_bias"},
                                                                {"attn.proj.weight", "self_attention.out_proj.weight"},
                                                                {"attn.proj.bias", "self_attention.out_proj.bias"},
                                                                {"norm2.weight", "ln_2.weight"},
                                                                {"norm2.bias", "ln_2.bias"},
                                                                {"mlp.fc1.weight", "mlp.0.weight"},
                                                                {"mlp.fc1.bias", "mlp.0.bias"},
                                                                {"mlp.fc2.weight", "mlp.3.weight"},
                                                                {"mlp.fc2.bias", "mlp.3.bias"}};
    for (const auto& [a, b] : block)
        if (rest == a) return "encoder.layers.encoder_layer_" + i + "." + b;
    fail(error_code::argument, "torchvision_key: no torchvision name for '", timm, "'");
}

/// The quantized module (PTQ4ViT name) a weight key belongs to, e.g. "blocks.0.attn.qkv.weight" → "blocks.0.attn.qkv";
/// empty for tensors that are never quantized.
template <class = void>
inline std::string quant_module_of(const std::string& timm_key) {
    const std::string suffix = ".weight";
    if (timm_key.size() <= suffix.size() || timm_key.compare(timm_key.size() - suffix.size(), suffix.size(), suffix))
        return {};
    const std::string m = timm_key.substr(0, timm_key.size() - suffix.size());
    if (m == "patch_embed.proj" || m == "head") return m;
    for (const char* s : {".attn.qkv", ".attn.proj", ".mlp.fc1", ".mlp.fc2"}) {
        const std::string t(s);
        if (m.size() > t.size() && m.compare(m.size() - t.size(), t.size(), t) == 0) return m;
    }
    return {};
}

}  // namespace detail

/// The timm key of every tensor a ViT with this config has, paired with its expected shape, in state-dict order.
template <class = void>
inline std::vector<std::pair<std::string, std::vector<std::size_t>>> vit_tensor_shapes(const vit_config& c) {
    const std::size_t D = c.embed_dim, Hd = c.mlp_hidden();
    struct tensor {  // "<prefix><suffix>", shape d[0, rank)
        const char* suffix;
        std::size_t rank, d[4];
    };
    std::vector<std::pair<std::string, std::vector<std::size_t>>> v;
    v.reserve(8 + 12 * c.depth);
    const auto add = [&v](const std::string& prefix, const tensor& t) {
        v.emplace_back(prefix + t.suffix, std::vector<std::size_t>(t.d, t.d + t.rank));
    };
    // a table, not one call site per tensor: quicker to compile
    const tensor head[] = {{"cls_token", 3, {1, 1, D, 0}},
                           {"pos_embed", 3, {1, c.tokens(), D, 0}},
                           {"patch_embed.proj.weight", 4, {D, c.in_chans, c.patch_size, c.patch_size}},
                           {"patch_embed.proj.bias", 1, {D, 0, 0, 0}}};
    const tensor block[] = {{"norm1.weight", 1, {D, 0, 0, 0}},      {"norm1.bias", 1, {D, 0, 0, 0}},
                            {"attn.qkv.weight", 2, {3 * D, D, 0, 0}}, {"attn.qkv.bias", 1, {3 * D, 0, 0, 0}},
                            {"attn.proj.weight", 2, {D, D, 0, 0}},    {"attn.proj.bias", 1, {D, 0, 0, 0}},
                            {"norm2.weight", 1, {D, 0, 0, 0}},        {"norm2.bias", 1, {D, 0, 0, 0}},
                            {"mlp.fc1.weight", 2, {Hd, D, 0, 0}},     {"mlp.fc1.bias", 1, {Hd, 0, 0, 0}},
                            {"mlp.fc2.weight", 2, {D, Hd, 0, 0}},     {"mlp.fc2.bias", 1, {D, 0, 0, 0}}};
    const tensor tail[] = {{"norm.weight", 1, {D, 0, 0, 0}},
                           {"norm.bias", 1, {D, 0, 0, 0}},
                           {"head.weight", 2, {c.num_classes, D, 0, 0}},
                           {"head.bias", 1, {c.num_classes, 0, 0, 0}}};
    for (const tensor& t : head) add("", t);
    for (std::size_t i = 0; i < c.depth; ++i) {
        const std::string p = "blocks." + std::to_string(i) + ".";
        for (const tensor& t : block)
            if (c.qkv_bias || std::string_view(t.suffix) != "attn.qkv.bias") add(p, t);
    }
    for (const tensor& t : tail) add("", t);
    return v;
}

/// Reads every tensor of a ViT from a validated safetensors file.
///   config:  `cfg` when given, else the file's "zoa.config" metadata, else zoa::error(argument) asking for one.
///   naming:  timm keys or torchvision keys (automatic: torchvision when "class_token" or "conv_proj.weight" exists).
///   dtypes:  F32, F16, BF16 (converted exactly); I8 weight codes of a quantized zoa file, decoded with the file's
///            `<module>.weight_quant.*` parameters (Ŵ = code·Δ, which the quantized model re-encodes exactly).
/// Throws (leaving nothing behind): zoa::error(shape) "<file>: tensor '<key>': shape [..], expected [..]";
/// zoa::error(format) listing the missing keys, or the unused keys unless options.strict is false; dtype errors of
/// the reader.
template <class = void>
inline vit_weights load_vit_weights(const io::safetensors_file& f, const vit_config* cfg = nullptr,
                                    const vit_load_options& opt = {}, vit_load_report* report = nullptr) {
    vit_weights w;
    w.metadata = f.metadata();
    if (cfg) {
        w.config = *cfg;
        w.config.validate();
    } else {
        const auto it = f.metadata().find(config_metadata_key);
        require(it != f.metadata().end(), error_code::argument, f.path(), ": no '", config_metadata_key,
                "' metadata; pass a vit_config (or --arch vit_tiny_patch16_224 / vit_small_patch16_224 / "
                "vit_base_patch16_224)");
        w.config = vit_config_from_json(it->second, f.path());
    }
    const auto arch = f.metadata().find(arch_metadata_key);
    require(arch == f.metadata().end() || arch->second == "vit", error_code::format, f.path(), ": metadata ",
            arch_metadata_key, " is '", arch == f.metadata().end() ? "" : arch->second, "', expected 'vit'");

    vit_load_report rep;
    rep.naming = opt.naming;
    if (rep.naming == vit_naming::automatic)
        rep.naming =
            (f.contains("class_token") || f.contains("conv_proj.weight")) ? vit_naming::torchvision : vit_naming::timm;
    const auto file_key = [&](const std::string& timm) {
        return rep.naming == vit_naming::torchvision ? detail::torchvision_key(timm) : timm;
    };

    // calibrated quantizer parameters stored in the file (F32 tensors named <module>.<role>_quant.*)
    quant::tensor_map qmap;
    for (const auto& t : f.tensors())
        if (quant::is_param_key(t.name)) qmap[t.name] = f.to_f32(t.name);
    w.quant = quant::model_quant_params::from_tensors(qmap);

    const auto shapes = vit_tensor_shapes(w.config);
    std::set<std::string> used;
    for (const auto& kv : qmap) used.insert(kv.first);
    for (const auto& [timm, shape] : shapes)
        if (!f.contains(file_key(timm))) rep.missing.push_back(file_key(timm));
    if (!rep.missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < rep.missing.size() && i < 12; ++i) list += (i ? ", " : "") + rep.missing[i];
        if (rep.missing.size() > 12) list += ", ... (" + std::to_string(rep.missing.size()) + " in all)";
        fail(error_code::format, f.path(), ": missing ", rep.missing.size(), " tensor(s) for a ViT with ",
             w.config.depth, " blocks, dim ", w.config.embed_dim, " (",
             rep.naming == vit_naming::torchvision ? "torchvision" : "timm", " names): ", list);
    }

    const auto read = [&](const std::string& timm, const std::vector<std::size_t>& shape) {
        const std::string key = file_key(timm);
        f.expect_shape(key, shape);
        used.insert(key);
        const io::tensor_info& t = f.info(key);
        if (t.dtype != io::dtype::i8) {  // a NaN/Inf weight would turn every prediction into NaN: refuse it here
            std::vector<float> v = f.to_f32(key);
            for (std::size_t i = 0; i < v.size(); ++i)
                require(std::isfinite(v[i]), error_code::format, f.path(), ": tensor '", key, "' element ", i, " is ",
                        v[i], ", weights must be finite");
            return v;
        }
        const std::string module = detail::quant_module_of(timm);
        const auto m = w.quant.modules.find(module);
        require(!module.empty() && m != w.quant.modules.end(), error_code::format, f.path(), ": tensor '", key,
                "' holds int8 codes but the file has no '", module.empty() ? timm : module,
                ".weight_quant' parameters to decode them");
        rep.quantized_codes = true;
        const std::vector<std::int8_t> codes = f.read<std::int8_t>(key);
        std::vector<float> out(codes.size());
        quant::decode(m->second.weight(), codes.data(), codes.size(), out.data());
        return out;
    };

    // every tensor in vit_tensor_shapes' order (the state-dict order), read into its field of w
    std::vector<std::vector<float>*> dst = {&w.cls_token, &w.pos_embed, &w.patch_w, &w.patch_b};
    w.blocks.resize(w.config.depth);
    for (vit_block_weights& b : w.blocks)
        for (std::vector<float>* t : {&b.norm1_w, &b.norm1_b, &b.qkv_w, &b.qkv_b, &b.proj_w, &b.proj_b, &b.norm2_w,
                                      &b.norm2_b, &b.fc1_w, &b.fc1_b, &b.fc2_w, &b.fc2_b})
            if (w.config.qkv_bias || t != &b.qkv_b) dst.push_back(t);
    for (std::vector<float>* t : {&w.norm_w, &w.norm_b, &w.head_w, &w.head_b}) dst.push_back(t);
    for (std::size_t k = 0; k < shapes.size(); ++k) *dst[k] = read(shapes[k].first, shapes[k].second);

    for (const auto& key : f.keys(io::key_order::sorted))
        if (!used.count(key)) rep.unused.push_back(key);
    if (opt.strict && !rep.unused.empty()) {
        std::string list;
        for (std::size_t i = 0; i < rep.unused.size() && i < 12; ++i) list += (i ? ", " : "") + rep.unused[i];
        if (rep.unused.size() > 12) list += ", ... (" + std::to_string(rep.unused.size()) + " in all)";
        fail(error_code::format, f.path(), ": ", rep.unused.size(), " tensor(s) not used by a ViT with ",
             w.config.depth, " blocks, dim ", w.config.embed_dim, ": ", list,
             " (a different architecture? load with strict = false, or --allow-unused, to ignore them)");
    }
    if (report) *report = std::move(rep);
    return w;
}

/// Opens `path` and loads it (see the overload above).
template <class = void>
inline vit_weights load_vit_weights(const std::string& path, const vit_config* cfg = nullptr,
                                    const vit_load_options& opt = {}, vit_load_report* report = nullptr) {
    const io::safetensors_file f = io::safetensors_file::open(path);
    return load_vit_weights(f, cfg, opt, report);
}

}  // namespace zoa::models
