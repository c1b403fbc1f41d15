// zoa — saving a ViT to safetensors: fp32 weights in timm names, or a calibrated quantized model (int8 weight codes,
// fp32 norms/biases/embeddings, the PTQ4ViT parameters) that loads back without re-calibrating
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "zoa/io/json.hpp"
#include "zoa/io/safetensors_writer.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_config.hpp"

namespace zoa::models {

/// The safetensors image of m, with timm keys and metadata: the source file's entries (zoa.preprocess,
/// zoa.class_names, ...) plus zoa.arch = "vit" and zoa.config. Quantized models store the weights of
/// patch_embed.proj, every qkv/proj/fc1/fc2 and head as I8 codes under their usual keys, their quantizer parameters
/// as `<module>.<role>_quant.{config,scale}` F32 tensors, and metadata zoa.quant = {"scheme": "ptq4vit",
/// "weight_bits": W, "activation_bits": A}; everything else is F32. `extra` metadata entries are added last.
/// models::vit<P>::load reads either kind back (a W8A8 file is ≈ 0.26× its fp32 size for ViT-B).
/// Write it with .save(path) or .save(io::atomic_file&) (save_vit below).
template <class Policy>
io::safetensors_writer vit_to_safetensors(const vit<Policy>& m, const std::map<std::string, std::string>& extra = {}) {
    using model = vit<Policy>;
    const vit_config& c = m.config();
    const std::size_t D = c.embed_dim, Hd = c.mlp_hidden();
    io::safetensors_writer wr;
    std::map<std::string, std::string> meta = m.metadata();
    meta.erase(quant_metadata_key);
    meta[arch_metadata_key] = "vit";
    meta[config_metadata_key] = vit_config_to_json(c);
    const auto put = [&](const std::string& key, const std::vector<std::size_t>& shape, const std::vector<float>& v) {
        wr.add(key, shape, v);
    };
    const auto put_linear = [&](const std::string& name, const auto& layer, std::size_t out, std::size_t in) {
        if constexpr (model::quantized)
            wr.add(name + ".weight", {out, in}, layer.codes());
        else
            put(name + ".weight", {out, in}, layer.weight());
        if (!layer.bias().empty()) put(name + ".bias", {out}, layer.bias());
    };
    put("cls_token", {1, 1, D}, m.cls_token());
    put("pos_embed", {1, c.tokens(), D}, m.pos_embed());
    const std::vector<std::size_t> pshape = {D, c.in_chans, c.patch_size, c.patch_size};
    if constexpr (model::quantized)
        wr.add("patch_embed.proj.weight", pshape, m.patch_embed().codes());
    else
        put("patch_embed.proj.weight", pshape, m.patch_embed().weight());
    put("patch_embed.proj.bias", {D}, m.patch_embed().bias());
    for (std::size_t i = 0; i < c.depth; ++i) {
        const auto& b = m.blocks()[i];
        const std::string p = "blocks." + std::to_string(i) + ".";
        put(p + "norm1.weight", {D}, b.norm1.weight());
        put(p + "norm1.bias", {D}, b.norm1.bias());
        put_linear(p + "attn.qkv", b.attn.qkv(), 3 * D, D);
        put_linear(p + "attn.proj", b.attn.proj(), D, D);
        put(p + "norm2.weight", {D}, b.norm2.weight());
        put(p + "norm2.bias", {D}, b.norm2.bias());
        put_linear(p + "mlp.fc1", b.mlp.fc1(), Hd, D);
        put_linear(p + "mlp.fc2", b.mlp.fc2(), D, Hd);
    }
    put("norm.weight", {D}, m.norm().weight());
    put("norm.bias", {D}, m.norm().bias());
    put_linear("head", m.head(), c.num_classes, D);
    if constexpr (model::quantized) {
        for (const auto& kv : m.quant_params().to_tensors()) put(kv.first, {kv.second.size()}, kv.second);
        io::json::value q = io::json::value::object();  // keys sorted
        q.set("activation_bits", model::bits::activation_bits).set("scheme", "ptq4vit");
        q.set("weight_bits", model::bits::weight_bits);
        meta[quant_metadata_key] = q.dump();
    }
    for (const auto& kv : extra) meta[kv.first] = kv.second;
    for (const auto& kv : meta) wr.set_metadata(kv.first, kv.second);
    return wr;
}

/// Writes vit_to_safetensors(m, extra) to `path` atomically (io::atomic_file).
/// Throws: zoa::error(io) when the file cannot be written.
template <class Policy>
void save_vit(const vit<Policy>& m, const std::string& path, const std::map<std::string, std::string>& extra = {}) {
    vit_to_safetensors(m, extra).save(path);
}

}  // namespace zoa::models
