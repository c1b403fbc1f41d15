// zoa — reading torchvision ResNet weights from safetensors: config resolution (explicit, preset, "zoa.config",
// inference from tensor shapes), key map with missing/unused report, shape/dtype errors naming the key
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/resnet_blocks.hpp"
#include "zoa/models/resnet_config.hpp"
#include "zoa/quant/param_tensors.hpp"

namespace zoa::models {

/// What a load found: expected keys absent from the file, file keys the model does not use, and skipped buffers
/// (BatchNorm num_batches_tracked, I64).
struct load_report {
    std::vector<std::string> missing;  ///< expected keys absent from the file
    std::vector<std::string> unused;   ///< file keys the model does not use
    std::vector<std::string> skipped;  ///< num_batches_tracked buffers skipped
    std::size_t loaded = 0;            ///< tensors read

    /// True when nothing was missing.
    bool complete() const noexcept { return missing.empty(); }
    /// One line: "loaded 320 tensors; skipped 53 num_batches_tracked; missing: ...; unused: ...".
    template <class = void>
    std::string to_string() const {
        std::ostringstream os;
        os << "loaded " << loaded << " tensors; skipped " << skipped.size() << " num_batches_tracked";
        auto list = [&](const char* what, const std::vector<std::string>& v) {
            if (v.empty()) return;
            os << "; " << what << " (" << v.size() << "):";
            for (std::size_t i = 0; i < v.size() && i < 8; ++i) os << ' ' << v[i];
            if (v.size() > 8) os << " ...";
        };
        list("missing", missing);
        list("unused", unused);
        return os.str();
    }
};

/// How a ResNet file is loaded.
struct resnet_load_options {
    /// Topology. Resolution order: `config` if set; else the preset named by `arch` (resnet18/34/50/101); else the
    /// file's "zoa.config" metadata; else inferred from the tensor shapes (infer_resnet_config).
    std::optional<resnet_config> config;
    std::string arch;
    /// true (default): keys the model does not use are an error listing them, as PyTorch's strict load_state_dict
    /// (tensors of another architecture would otherwise be ignored silently); false: they are only reported
    /// (load_report::unused).
    bool strict = true;
    std::size_t threads = 1;  ///< worker threads of the model's execution context
};

/// Infers the config from the tensors: block (layer1.0.conv3 present ⇒ bottleneck), blocks per stage (consecutive
/// layerS.j.conv1.weight), widths (layerS.0.conv1 out channels), in_chans and stem (conv1 kernel 7 ⇒ imagenet,
/// 3 ⇒ small), num_classes (fc.weight rows); bn_eps = 1e-5.
/// Throws: zoa::error(format) naming the file and the tensor that is missing or has an unexpected shape.
template <class = void>
inline resnet_config infer_resnet_config(const io::safetensors_file& f) {
    auto shape = [&](const std::string& k) -> const std::vector<std::size_t>& {
        const io::tensor_info* t = f.find(k);
        require(t != nullptr, error_code::format, f.path(), ": cannot infer a ResNet config: no tensor '", k, "'");
        return t->shape;
    };
    resnet_config c;
    const auto& w1 = shape("conv1.weight");
    require(w1.size() == 4 && w1[2] == w1[3] && (w1[2] == 7 || w1[2] == 3), error_code::format, f.path(),
            ": cannot infer a ResNet config: conv1.weight must be [C, in, 7, 7] or [C, in, 3, 3]");
    c.in_chans = w1[1];
    c.stem = w1[2] == 7 ? resnet_stem::imagenet : resnet_stem::small;
    c.block = f.contains("layer1.0.conv3.weight") ? resnet_block::bottleneck : resnet_block::basic;
    for (std::size_t s = 0; s < 4; ++s) {
        const std::string p = "layer" + std::to_string(s + 1) + ".";
        std::size_t n = 0;
        while (f.contains(p + std::to_string(n) + ".conv1.weight")) ++n;
        require(n > 0, error_code::format, f.path(), ": cannot infer a ResNet config: no tensor '", p,
                "0.conv1.weight'");
        c.layers[s] = n;
        const auto& w = shape(p + "0.conv1.weight");
        require(w.size() == 4, error_code::format, f.path(), ": ", p, "0.conv1.weight is not 4-D");
        c.widths[s] = w[0];
    }
    const auto& fc = shape("fc.weight");
    require(fc.size() == 2, error_code::format, f.path(), ": fc.weight must be 2-D");
    c.num_classes = fc[0];
    c.validate();
    return c;
}

/// The config for `f` under `opt` (see resnet_load_options::config). Also checks "zoa.arch" when present.
/// Throws: zoa::error(format) when "zoa.arch" names another architecture or "zoa.config" is malformed;
/// zoa::error(argument) for an unknown preset name.
template <class = void>
inline resnet_config resolve_resnet_config(const io::safetensors_file& f, const resnet_load_options& opt) {
    const auto& meta = f.metadata();
    const auto arch = meta.find("zoa.arch");
    if (arch != meta.end())
        require(arch->second == "resnet", error_code::format, f.path(), ": metadata zoa.arch is '", arch->second,
                "', expected 'resnet'");
    if (opt.config) {
        opt.config->validate();
        return *opt.config;
    }
    if (!opt.arch.empty()) return resnet_config::preset(opt.arch);
    const auto cfg = meta.find("zoa.config");
    if (cfg != meta.end()) return resnet_config::from_json(cfg->second, f.path() + ": metadata zoa.config");
    return infer_resnet_config(f);
}

/// The tensors of a ResNet file: floats (F32/F16/BF16 → F32) and weight codes (U8, calibrated files).
struct resnet_tensors {
    std::map<std::string, std::vector<float>> floats;        ///< key → values (converted to F32)
    std::map<std::string, std::vector<std::uint8_t>> codes;  ///< key → U8 weight codes

    /// Throws: zoa::error(format) naming the key when it is absent from `floats`.
    template <class = void>
    const std::vector<float>& f(const std::string& key) const {
        const auto it = floats.find(key);
        require(it != floats.end(), error_code::format, "resnet: tensor '", key, "' is not a float tensor");
        return it->second;
    }
};

/// Throws zoa::error(format) listing report.unused (first 12) when it is not empty.
template <class = void>
inline void require_all_used(const io::safetensors_file& f, const load_report& report) {
    if (report.unused.empty()) return;
    std::ostringstream os;
    for (std::size_t i = 0; i < report.unused.size() && i < 12; ++i) os << (i ? ", " : "") << report.unused[i];
    if (report.unused.size() > 12) os << ", ... (" << report.unused.size() << " in all)";
    fail(error_code::format, f.path(), ": ", report.unused.size(), " tensor(s) not used by the model: ", os.str(),
         " (a different architecture? load with strict = false, or --allow-unused, to ignore them)");
}

/// Reads every tensor of resnet_tensor_specs(c) from f, checking names, shapes and dtypes, before anything is built.
/// Float tensors may be F32, F16 or BF16; `.weight` tensors of conv/fc modules may also be U8 codes (calibrated
/// files). Keys ending in num_batches_tracked are skipped; quantizer-parameter keys are left to the caller;
/// anything else the model does not use is reported (or, with strict, rejected).
/// Throws: zoa::error(format) listing every missing key (first 8) and naming a tensor with an unsupported dtype;
/// zoa::error(shape) "<file>: tensor '<key>': shape [..], expected [..]"; zoa::error(format) for unused keys when
/// strict.
template <class = void>
inline resnet_tensors read_resnet_tensors(const io::safetensors_file& f, const resnet_config& c, load_report& report,
                                          bool strict) {
    report = load_report{};
    const std::vector<tensor_spec> specs = resnet_tensor_specs(c);
    std::set<std::string> expected;
    for (const auto& s : specs) {
        expected.insert(s.key);
        if (!f.contains(s.key)) report.missing.push_back(s.key);
    }
    for (const auto& k : f.keys()) {
        if (expected.count(k)) continue;
        const std::string tail = "num_batches_tracked";
        if (k.size() >= tail.size() && k.compare(k.size() - tail.size(), tail.size(), tail) == 0)
            report.skipped.push_back(k);
        else if (!quant::is_param_key(k))
            report.unused.push_back(k);
    }
    if (!report.missing.empty()) {
        std::ostringstream os;
        for (std::size_t i = 0; i < report.missing.size() && i < 8; ++i) os << (i ? ", " : "") << report.missing[i];
        if (report.missing.size() > 8) os << ", ...";
        fail(error_code::format, f.path(), ": ", report.missing.size(), " tensor(s) missing for ", c.name(), " (",
             to_string(c.block), " ", c.layers[0], "-", c.layers[1], "-", c.layers[2], "-", c.layers[3], ", ",
             to_string(c.stem), " stem): ", os.str());
    }
    if (strict) require_all_used(f, report);
    resnet_tensors out;
    for (const auto& s : specs) {
        f.expect_shape(s.key, s.shape);
        const io::tensor_info& t = f.info(s.key);
        const bool weight = s.shape.size() >= 2;
        if (weight && t.dtype == io::dtype::u8) {
            out.codes[s.key] = f.read<std::uint8_t>(s.key);
        } else {
            require(t.dtype == io::dtype::f32 || t.dtype == io::dtype::f16 || t.dtype == io::dtype::bf16,
                    error_code::format, f.path(), ": tensor '", s.key, "' has dtype ", io::to_string(t.dtype),
                    ", expected F32, F16 or BF16", weight ? " (or U8 codes of a calibrated model)" : "");
            std::vector<float> v = f.to_f32(s.key);  // NaN/Inf would poison every prediction: refuse it here
            for (std::size_t i = 0; i < v.size(); ++i)
                require(std::isfinite(v[i]), error_code::format, f.path(), ": tensor '", s.key, "' element ", i, " is ",
                        v[i], ", weights and BatchNorm statistics must be finite");
            out.floats[s.key] = std::move(v);
        }
        ++report.loaded;
    }
    return out;
}

}  // namespace zoa::models
