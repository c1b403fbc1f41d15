// zoa — CLI model options shared by `zoa predict` and `zoa stream`: --arch and the preprocessing flags (--mean, --std,
// --resize, --crop-pct, --interpolation, --preprocess imagenet) and how they combine with a model file's metadata
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "zoa/core/error.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/vit_config.hpp"

namespace zoa_cli {

/// Usage text of the model options (one line per option, for a command's --help).
inline const char* const model_options_usage =
    "  --arch NAME            vit_tiny_patch16_224 | vit_small_patch16_224 | vit_base_patch16_224 | resnet18 |\n"
    "                         resnet34 | resnet50 | resnet101 (needed for a ViT file without zoa.config metadata)\n"
    "  --preprocess imagenet  torchvision's ImageNet eval transform: resize 256 bilinear, center crop 224,\n"
    "                         ImageNet mean/std (instead of the file's zoa.preprocess or the family default)\n"
    "  --mean a,b,c --std a,b,c   normalization (x/255 - mean) / std, one value or one per channel\n"
    "  --resize N             shorter side before the center crop (0 = no resize)\n"
    "  --crop-pct P           resize = floor(input / P), timm's convention (0 < P <= 1)\n"
    "  --interpolation M      nearest | bilinear | bicubic\n";

/// The model options as given on the command line (empty / 0 = not given).
struct model_flags {
    std::string arch, preprocess, interpolation;
    std::vector<float> mean, std_dev;
    std::size_t resize = 0;
    double crop_pct = 0;
    bool resize_given = false;
};

/// When args[i] is a model option, reads it (and its value, advancing i) into `f` and returns true.
/// `command` prefixes errors ("zoa stream"). Throws: zoa::error(argument) for a missing or malformed value.
inline bool parse_model_flag(const std::vector<std::string>& args, std::size_t& i, model_flags& f,
                             const std::string& command) {
    const std::string& k = args[i];
    if (k != "--arch" && k != "--preprocess" && k != "--mean" && k != "--std" && k != "--resize" &&
        k != "--crop-pct" && k != "--interpolation")
        return false;
    zoa::require(i + 1 < args.size(), zoa::error_code::argument, command, ": ", k, " needs a value");
    const std::string& v = args[++i];
    if (k == "--arch") {
        f.arch = v;
    } else if (k == "--preprocess") {
        zoa::require(v == "imagenet", zoa::error_code::argument, command,
                     ": --preprocess expects 'imagenet' (torchvision's ImageNet eval transform), got '", v, "'");
        f.preprocess = v;
    } else if (k == "--mean") {
        f.mean = zoa::io::parse_float_list(v, command + ": --mean");
    } else if (k == "--std") {
        f.std_dev = zoa::io::parse_float_list(v, command + ": --std");
    } else if (k == "--resize") {
        char* end = nullptr;
        const unsigned long n = std::strtoul(v.c_str(), &end, 10);
        zoa::require(!v.empty() && v[0] != '-' && *end == '\0' && n <= zoa::io::max_preprocess_side,
                     zoa::error_code::argument, command, ": --resize expects an integer in 0..",
                     zoa::io::max_preprocess_side, ", got '", v, "'");
        f.resize = n;
        f.resize_given = true;
    } else if (k == "--crop-pct") {
        const std::vector<float> x = zoa::io::parse_float_list(v, command + ": --crop-pct");
        zoa::require(x.size() == 1 && x[0] > 0.0f && x[0] <= 1.0f, zoa::error_code::argument, command,
                     ": --crop-pct expects one number in (0, 1], got '", v, "'");
        f.crop_pct = x[0];
    } else {
        f.interpolation = zoa::io::to_string(zoa::io::parse_interpolation(v));
    }
    zoa::require(!(f.resize_given && f.crop_pct > 0), zoa::error_code::argument, command,
                 ": --resize and --crop-pct both set the resize; give one");
    return true;
}

/// The model options' names (each takes a value), for zoa_cli::parse_args.
inline const std::vector<std::string> model_option_names = {"--arch",     "--preprocess", "--mean",
                                                            "--std",      "--resize",     "--crop-pct",
                                                            "--interpolation"};

/// The model options found by zoa_cli::parse_args (each given at most once).
/// Throws: zoa::error(argument) for a malformed value, as parse_model_flag.
inline model_flags model_flags_from(const parsed_args& p, const std::string& command) {
    model_flags f;
    for (const auto& name : model_option_names) {
        if (!p.has(name)) continue;
        const std::vector<std::string> pair = {name, p.get(name)};
        std::size_t i = 0;
        parse_model_flag(pair, i, f, command);
    }
    return f;
}

/// How images become this model's input. Precedence, lowest first:
///   1. `fallback`: the family's usual pipeline (timm ViT: resize input/0.9 bicubic, mean = std = 0.5;
///      torchvision ResNet: resize 256 bilinear, ImageNet mean/std);
///   2. the file's zoa.preprocess metadata;
///   3. --preprocess imagenet (torchvision's eval transform for this input size);
///   4. --mean, --std, --resize / --crop-pct, --interpolation.
/// The crop is always the model's input size (`input`, checked against the metadata's), channels the model's.
/// `source` receives where the values came from ("zoa.preprocess metadata", "--preprocess imagenet", "default").
/// Throws: zoa::error(argument) when the metadata crops to another size than the model's input; the errors of
/// preprocess_from_json and validate.
inline zoa::io::preprocess_config resolve_preprocessing(const zoa::io::safetensors_file& f, const model_flags& flags,
                                                        zoa::io::preprocess_config fallback, std::size_t input,
                                                        std::size_t channels, std::string* source = nullptr) {
    zoa::io::preprocess_config cfg = std::move(fallback);
    std::string from = "the family default";
    const auto it = f.metadata().find(zoa::io::preprocess_metadata_key);
    if (it != f.metadata().end()) {
        cfg = zoa::io::preprocess_from_json(it->second, f.path(), cfg);
        zoa::require(cfg.crop == 0 || cfg.crop == input, zoa::error_code::argument, f.path(),
                     ": preprocessing crops to ", cfg.crop, " px but the model's input is ", input, " px");
        from = "zoa.preprocess metadata";
    }
    if (flags.preprocess == "imagenet") {
        cfg = zoa::io::preprocess_config::torchvision_imagenet(input);
        from = "--preprocess imagenet";
    }
    if (!flags.mean.empty()) cfg.mean = flags.mean;
    if (!flags.std_dev.empty()) cfg.std_dev = flags.std_dev;
    if (flags.resize_given) cfg.resize = flags.resize;
    if (flags.crop_pct > 0)
        cfg.resize = static_cast<std::size_t>(std::floor(static_cast<double>(input) / flags.crop_pct));
    if (!flags.interpolation.empty()) cfg.interpolation = zoa::io::parse_interpolation(flags.interpolation);
    if (!flags.mean.empty() || !flags.std_dev.empty() || flags.resize_given || flags.crop_pct > 0 ||
        !flags.interpolation.empty())
        from += " + command-line flags";
    cfg.crop = input;
    cfg.channels = channels;
    cfg.validate();
    if (source != nullptr) *source = from;
    return cfg;
}

/// --arch as a ViT config (nullptr when --arch is not given): the preset's topology with the file's head size (a
/// fine-tuned head keeps the preset's topology but not its 1000 ImageNet classes).
/// Throws: zoa::error(argument) for a name that is not a ViT preset.
inline std::unique_ptr<zoa::models::vit_config> vit_arch_config(const zoa::io::safetensors_file& f,
                                                                const std::string& arch) {
    if (arch.empty()) return nullptr;
    auto c = std::make_unique<zoa::models::vit_config>(zoa::models::vit_preset(arch));
    for (const char* head : {"head.weight", "heads.head.weight"})
        if (f.contains(head) && f.info(head).shape.size() == 2) c->num_classes = f.info(head).shape[0];
    return c;
}

/// A ViT's preprocessing: resolve_preprocessing over timm's default (timm_inception) for its input size.
inline zoa::io::preprocess_config vit_preprocessing(const zoa::io::safetensors_file& f, const model_flags& flags,
                                                    std::size_t img_size, std::size_t in_chans,
                                                    std::string* source = nullptr) {
    return resolve_preprocessing(f, flags, zoa::io::preprocess_config::timm_inception(img_size), img_size, in_chans,
                                 source);
}

/// A ResNet's preprocessing: resolve_preprocessing over torchvision's ImageNet eval transform; the input size is the
/// file's zoa.preprocess crop (ResNets take any size), else 224.
inline zoa::io::preprocess_config resnet_preprocessing(const zoa::io::safetensors_file& f, const model_flags& flags,
                                                       std::size_t in_chans, std::string* source = nullptr) {
    zoa::io::preprocess_config fallback = zoa::io::preprocess_config::torchvision_imagenet(224);
    const auto it = f.metadata().find(zoa::io::preprocess_metadata_key);
    if (it != f.metadata().end()) fallback = zoa::io::preprocess_from_json(it->second, f.path(), fallback);
    const std::size_t input = fallback.crop ? fallback.crop : 224;
    return resolve_preprocessing(f, flags, fallback, input, in_chans, source);
}

/// One line describing a preprocessing ("resize 248 bicubic, crop 224, mean 0.5,0.5,0.5, std 0.5,0.5,0.5").
inline std::string describe(const zoa::io::preprocess_config& c) {
    const auto list = [](const std::vector<float>& v) {
        std::string s;
        char buf[32];
        for (float x : v) {
            std::snprintf(buf, sizeof buf, "%s%g", s.empty() ? "" : ",", static_cast<double>(x));
            s += buf;
        }
        return s;
    };
    std::string s = c.resize ? "resize " + std::to_string(c.resize) + " " + zoa::io::to_string(c.interpolation)
                             : std::string("no resize");
    return s + ", crop " + std::to_string(c.crop) + ", mean " + list(c.mean) + ", std " + list(c.std_dev);
}

}  // namespace zoa_cli
