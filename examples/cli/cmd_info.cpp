// zoa — `zoa info FILE`: tensors, parameter count, detected architecture, config and metadata of a model file
// SPDX-License-Identifier: MIT
#include <cstdio>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "model_files.hpp"
#include "outputs.hpp"
#include "zoa/core/error.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/vit_config.hpp"

namespace {

std::string shape_text(const std::vector<std::size_t>& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

}  // namespace

int cmd_info(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::printf("usage: zoa info [--] FILE\n");
        zoa_cli::flush_stdout();
        return 0;
    }
    const zoa_cli::parsed_args p = zoa_cli::parse_args("zoa info", args, {}, {}, true, "usage: zoa info [--] FILE");
    zoa::require(p.positional.size() == 1, zoa::error_code::argument, "zoa info: expected one FILE, got ",
                 p.positional.size(), " (usage: zoa info [--] FILE)");
    zoa_cli::file_set files("zoa info");
    files.input(p.positional[0]);
    files.check_stdout();
    const auto f = zoa::io::safetensors_file::open(p.positional[0]);
    std::size_t params = 0, quant_tensors = 0, codes = 0;
    for (const auto& t : f.tensors()) {
        const bool qp = t.name.find("_quant.") != std::string::npos;
        if (qp) {
            ++quant_tensors;
            continue;
        }
        if (t.dtype == zoa::io::dtype::i8) codes += t.elements;
        if (t.dtype == zoa::io::dtype::f32 || t.dtype == zoa::io::dtype::f16 || t.dtype == zoa::io::dtype::bf16 ||
            t.dtype == zoa::io::dtype::i8)
            params += t.elements;
    }
    const zoa_cli::arch_info a = zoa_cli::detect_arch(f);
    std::printf("file:         %s\n", zoa_cli::escape_control(f.path()).c_str());
    std::printf("size:         %zu bytes, %zu tensors\n", f.file_size(), f.size());
    std::printf("parameters:   %zu", params);
    if (codes) std::printf(" (%zu stored as int8 codes)", codes);
    std::printf("\n");
    std::printf("architecture: %s (%s%s%s)\n", a.family.empty() ? "unknown" : a.family.c_str(), a.source.c_str(),
                a.naming.empty() ? "" : ", names: ", a.naming.c_str());
    const auto cfg = f.metadata().find(zoa::models::config_metadata_key);
    if (a.family == "vit" && cfg != f.metadata().end()) {
        const zoa::models::vit_config c = zoa::models::vit_config_from_json(cfg->second, f.path());
        std::printf(
            "config:       img %zu, patch %zu, in_chans %zu, dim %zu, depth %zu, heads %zu, mlp %.9g, "
            "classes %zu, qkv_bias %s, ln_eps %g (%zu tokens)\n",
            c.img_size, c.patch_size, c.in_chans, c.embed_dim, c.depth, c.num_heads, c.mlp_ratio, c.num_classes,
            c.qkv_bias ? "true" : "false", double(c.ln_eps), c.tokens());
    }
    const auto q = f.metadata().find(zoa::models::quant_metadata_key);
    if (q != f.metadata().end() && !q->second.empty())
        std::printf("quantized:    %s, %zu quantizer tensors\n", q->second.c_str(), quant_tensors);
    else if (quant_tensors)
        std::printf("quantized:    %zu quantizer tensors\n", quant_tensors);
    else
        std::printf("quantized:    no\n");
    std::printf("metadata:     %zu entries\n", f.metadata().size());
    for (const auto& kv : f.metadata()) {
        std::string v = kv.second;
        if (v.size() > 160) v = v.substr(0, 157) + "...";
        std::printf("  %s = %s\n", zoa_cli::escape_control(kv.first).c_str(), zoa_cli::escape_control(v).c_str());
    }
    std::printf("tensors:\n");
    for (const auto& name : f.keys(zoa::io::key_order::sorted)) {
        const auto& t = f.info(name);
        std::printf("  %s\t%s\t%s\n", zoa_cli::escape_control(name).c_str(),
                    std::string(zoa::io::to_string(t.dtype)).c_str(), shape_text(t.shape).c_str());
    }
    zoa_cli::flush_stdout();
    return 0;
}
