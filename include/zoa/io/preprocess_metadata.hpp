// zoa — preprocess_config to and from the JSON stored in a model file's "zoa.preprocess" metadata entry
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/io/json.hpp"
#include "zoa/io/preprocess.hpp"

namespace zoa::io {

/// Metadata key under which model files store their preprocessing (value: a JSON object, see below).
inline constexpr const char* preprocess_metadata_key = "zoa.preprocess";

/// Reads preprocessing from the "zoa.preprocess" JSON object (as tools/reference/train_fmnist.py writes it):
///   "mean", "std":      number arrays (1 or C values)
///   "input_size":       [C, H, W] with H == W  → channels = C, crop = H
///   "interpolation":    "nearest" | "bilinear" | "bicubic" | "none" ("none": no resize; images must already be
///                       H × W or are center-cropped/padded to it)
///   "crop_pct":         resize = floor(H / crop_pct) (timm convention; 1.0 ⇒ resize = H)
///   "resize", "crop":   explicit integers, override the two rules above
///   "pixel_scale":      must be "x/255" when present (the only scaling zoa implements)
///   "channels":         an integer sets channels (input_size's C wins); a string ("gray_to_rgb", "rgb") is
///                       informational
/// Keys absent from the object keep the value of `fallback`; unknown keys are ignored. `name` prefixes errors.
/// Throws: zoa::error(format) on invalid JSON or a key of the wrong type/value; errors of validate().
template <class = void>
inline preprocess_config preprocess_from_json(const std::string& text, const std::string& name,
                                              preprocess_config fallback = {}) {
    const json::value j = json::parse(text, name + ": " + preprocess_metadata_key);
    require(j.is_object(), error_code::format, name, ": ", preprocess_metadata_key, " must be a JSON object");
    preprocess_config cfg = std::move(fallback);
    const auto floats = [&](const char* key, std::vector<float>& out) {
        const json::value* p = j.find(key);
        if (p == nullptr) return;
        const auto& v = *p;
        require(v.is_array() && v.size() > 0, error_code::format, name, ": ", preprocess_metadata_key, ".", key,
                " must be a non-empty number array, got ", v.dump());
        out.clear();
        for (const auto& x : v.items()) {
            require(x.is_number(), error_code::format, name, ": ", preprocess_metadata_key, ".", key,
                    " must hold numbers, got ", x.dump());
            out.push_back(static_cast<float>(x.as_double()));
        }
    };
    const auto size_of = [&](const char* key) {
        const auto& v = *j.find(key);
        require(v.is_unsigned(), error_code::format, name, ": ", preprocess_metadata_key, ".", key,
                " must be a non-negative integer, got ", v.dump());
        require(v.as_unsigned() <= max_preprocess_side, error_code::format, name, ": ", preprocess_metadata_key, ".",
                key, " is ", v.dump(), ", expected at most ", max_preprocess_side);
        return static_cast<std::size_t>(v.as_unsigned());
    };
    if (j.find("channels") && j.find("channels")->is_number()) cfg.channels = size_of("channels");
    floats("mean", cfg.mean);
    floats("std", cfg.std_dev);
    bool resample = true;
    if (const json::value* interp = j.find("interpolation")) {
        require(interp->is_string(), error_code::format, name, ": ", preprocess_metadata_key,
                ".interpolation must be a string, got ", interp->dump());
        const std::string& mode = interp->as_string();
        if (mode == "none") {
            resample = false;
            cfg.resize = 0;
        } else {
            require(mode == "nearest" || mode == "bilinear" || mode == "bicubic", error_code::format, name, ": ",
                    preprocess_metadata_key, ".interpolation: unknown interpolation '", mode,
                    "' (expected nearest, bilinear, bicubic or none)");
            cfg.interpolation = parse_interpolation(mode);
        }
    }
    if (const json::value* in = j.find("input_size")) {
        const auto& v = *in;
        require(v.is_array() && v.size() == 3 && v.items()[0].is_unsigned() && v.items()[1].is_unsigned() &&
                    v.items()[2].is_unsigned(),
                error_code::format, name, ": ", preprocess_metadata_key, ".input_size must be [C, H, W], got ",
                v.dump());
        const auto c = static_cast<std::size_t>(v.items()[0].as_unsigned()),
                   h = static_cast<std::size_t>(v.items()[1].as_unsigned()),
                   w = static_cast<std::size_t>(v.items()[2].as_unsigned());
        require(h == w && h > 0, error_code::format, name, ": ", preprocess_metadata_key,
                ".input_size must be square and non-empty, got ", v.dump());
        require(h <= max_preprocess_side, error_code::format, name, ": ", preprocess_metadata_key, ".input_size is ",
                v.dump(), ", expected sides of at most ", max_preprocess_side);
        cfg.channels = c;
        cfg.crop = h;
        if (resample) cfg.resize = h;
    }
    const json::value* crop_pct = j.find("crop_pct");
    if (crop_pct && resample && cfg.crop > 0) {
        require(crop_pct->is_number() && crop_pct->as_double() > 0.0 && crop_pct->as_double() <= 1.0,
                error_code::format, name, ": ", preprocess_metadata_key, ".crop_pct must be in (0, 1], got ",
                crop_pct->dump());
        const double resize = std::floor(static_cast<double>(cfg.crop) / crop_pct->as_double());
        require(resize <= static_cast<double>(max_preprocess_side), error_code::format, name, ": ",
                preprocess_metadata_key, ".crop_pct ", crop_pct->dump(), " resizes to ", resize,
                " pixels, expected at most ", max_preprocess_side);
        cfg.resize = static_cast<std::size_t>(resize);
    }
    if (j.find("resize")) cfg.resize = size_of("resize");
    if (j.find("crop")) cfg.crop = size_of("crop");
    if (const json::value* scale = j.find("pixel_scale"))
        require(scale->equals("x/255"), error_code::format, name, ": ", preprocess_metadata_key,
                ".pixel_scale must be \"x/255\", got ", scale->dump());
    cfg.validate();
    return cfg;
}

/// The JSON object preprocess_from_json reads back into an equal config (explicit resize and crop, no crop_pct).
template <class = void>
inline std::string preprocess_to_json(const preprocess_config& cfg) {
    cfg.validate();
    json::value j = json::value::object();  // keys sorted
    if (cfg.crop == 0) j.set("channels", cfg.channels);
    j.set("crop", cfg.crop);
    if (cfg.crop > 0) j.set("input_size", json::value::array_of(std::vector<std::size_t>{cfg.channels, cfg.crop, cfg.crop}));
    j.set("interpolation", to_string(cfg.interpolation)).set("mean", json::value::array_of(cfg.mean));
    j.set("pixel_scale", "x/255").set("resize", cfg.resize).set("std", json::value::array_of(cfg.std_dev));
    return j.dump();
}

}  // namespace zoa::io
