// zoa — preprocess_config to and from the JSON stored in a model file's "zoa.preprocess" metadata entry
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "zoa/core/error.hpp"
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
inline preprocess_config preprocess_from_json(const std::string& text, const std::string& name,
                                              preprocess_config fallback = {}) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail(error_code::format, name, ": ", preprocess_metadata_key, " is not valid JSON: ", e.what());
    }
    require(j.is_object(), error_code::format, name, ": ", preprocess_metadata_key, " must be a JSON object");
    preprocess_config cfg = std::move(fallback);
    const auto floats = [&](const char* key, std::vector<float>& out) {
        if (!j.contains(key)) return;
        const auto& v = j[key];
        require(v.is_array() && !v.empty(), error_code::format, name, ": ", preprocess_metadata_key, ".", key,
                " must be a non-empty number array, got ", v.dump());
        out.clear();
        for (const auto& x : v) {
            require(x.is_number(), error_code::format, name, ": ", preprocess_metadata_key, ".", key,
                    " must hold numbers, got ", x.dump());
            out.push_back(x.get<float>());
        }
    };
    const auto size_of = [&](const char* key) {
        const auto& v = j[key];
        require(v.is_number_unsigned() || (v.is_number_integer() && v.get<long long>() >= 0), error_code::format,
                name, ": ", preprocess_metadata_key, ".", key, " must be a non-negative integer, got ", v.dump());
        require(v.get<std::size_t>() <= max_preprocess_side, error_code::format, name, ": ", preprocess_metadata_key,
                ".", key, " is ", v.dump(), ", expected at most ", max_preprocess_side);
        return v.get<std::size_t>();
    };
    if (j.contains("channels") && j["channels"].is_number()) cfg.channels = size_of("channels");
    floats("mean", cfg.mean);
    floats("std", cfg.std_dev);
    bool resample = true;
    if (j.contains("interpolation")) {
        require(j["interpolation"].is_string(), error_code::format, name, ": ", preprocess_metadata_key,
                ".interpolation must be a string, got ", j["interpolation"].dump());
        const std::string mode = j["interpolation"].get<std::string>();
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
    if (j.contains("input_size")) {
        const auto& v = j["input_size"];
        require(v.is_array() && v.size() == 3 && v[0].is_number_unsigned() && v[1].is_number_unsigned() &&
                    v[2].is_number_unsigned(),
                error_code::format, name, ": ", preprocess_metadata_key, ".input_size must be [C, H, W], got ",
                v.dump());
        const auto c = v[0].get<std::size_t>(), h = v[1].get<std::size_t>(), w = v[2].get<std::size_t>();
        require(h == w && h > 0, error_code::format, name, ": ", preprocess_metadata_key,
                ".input_size must be square and non-empty, got ", v.dump());
        require(h <= max_preprocess_side, error_code::format, name, ": ", preprocess_metadata_key, ".input_size is ",
                v.dump(), ", expected sides of at most ", max_preprocess_side);
        cfg.channels = c;
        cfg.crop = h;
        if (resample) cfg.resize = h;
    }
    if (j.contains("crop_pct") && resample && cfg.crop > 0) {
        require(j["crop_pct"].is_number() && j["crop_pct"].get<double>() > 0.0 && j["crop_pct"].get<double>() <= 1.0,
                error_code::format, name, ": ", preprocess_metadata_key, ".crop_pct must be in (0, 1], got ",
                j["crop_pct"].dump());
        const double resize = std::floor(static_cast<double>(cfg.crop) / j["crop_pct"].get<double>());
        require(resize <= static_cast<double>(max_preprocess_side), error_code::format, name, ": ",
                preprocess_metadata_key, ".crop_pct ", j["crop_pct"].dump(), " resizes to ", resize,
                " pixels, expected at most ", max_preprocess_side);
        cfg.resize = static_cast<std::size_t>(resize);
    }
    if (j.contains("resize")) cfg.resize = size_of("resize");
    if (j.contains("crop")) cfg.crop = size_of("crop");
    if (j.contains("pixel_scale"))
        require(j["pixel_scale"] == "x/255", error_code::format, name, ": ", preprocess_metadata_key,
                ".pixel_scale must be \"x/255\", got ", j["pixel_scale"].dump());
    cfg.validate();
    return cfg;
}

/// The JSON object preprocess_from_json reads back into an equal config (explicit resize and crop, no crop_pct).
inline std::string preprocess_to_json(const preprocess_config& cfg) {
    cfg.validate();
    nlohmann::json j;
    j["mean"] = cfg.mean;
    j["std"] = cfg.std_dev;
    j["interpolation"] = to_string(cfg.interpolation);
    j["resize"] = cfg.resize;
    j["crop"] = cfg.crop;
    if (cfg.crop > 0) j["input_size"] = {cfg.channels, cfg.crop, cfg.crop};
    else j["channels"] = cfg.channels;
    j["pixel_scale"] = "x/255";
    return j.dump();
}

}  // namespace zoa::io
