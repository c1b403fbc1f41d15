// zoa — helpers of the reliability tests: fixture models, edited copies of model files, error messages
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/io/safetensors.hpp"
#include "zoa/models/resnet.hpp"
#include "zoa/models/vit.hpp"
#include "../error_of.hpp"

namespace rel {

using vit32 = zoa::models::vit<zoa::policy<zoa::fp32>>;
using resnet32 = zoa::models::resnet<zoa::policy<zoa::fp32>>;
using batch4 = xt::xtensor<float, 4>;

inline std::string fixture(const std::string& rel_path) { return std::string(ZOA_FIXTURES_DIR) + "/" + rel_path; }
inline std::string vit_file() { return fixture("models/vit_tiny_timm.safetensors"); }
inline std::string resnet_file() { return fixture("resnet/basic.safetensors"); }

/// The message of the zoa::error fn throws ("" when it throws nothing).
using zoa_test::error_of;

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// A copy of `path` (in memory) in which tensor `key`, an F32 tensor, has element `index` replaced by `value`.
inline zoa::io::safetensors_file with_value(const std::string& path, const std::string& key, std::size_t index,
                                            float value) {
    const auto f = zoa::io::safetensors_file::open(path);
    zoa::io::safetensors_writer w;
    for (const auto& kv : f.metadata()) w.set_metadata(kv.first, kv.second);
    for (const auto& t : f.tensors()) {
        const auto b = f.bytes(t);
        if (t.name != key) {
            w.add_raw(t.name, t.dtype, t.shape, b.data, b.size);
            continue;
        }
        std::vector<float> v = f.to_f32(key);
        v.at(index) = value;
        w.add(t.name, t.shape, v);
    }
    return zoa::io::safetensors_file::from_bytes(path + " (edited)", w.to_bytes());
}

/// A deterministic batch [B, C, H, W] of values in [-1, 1].
inline batch4 batch(std::size_t b, std::size_t c, std::size_t h, std::size_t w, std::uint64_t seed) {
    batch4 x = batch4::from_shape({b, c, h, w});
    zoa::rng r(seed);
    for (auto& v : x) v = 2.0f * r.uniform() - 1.0f;
    return x;
}

inline bool all_finite(const xt::xtensor<float, 2>& l) {
    for (float v : l)
        if (!std::isfinite(v)) return false;
    return true;
}

}  // namespace rel
