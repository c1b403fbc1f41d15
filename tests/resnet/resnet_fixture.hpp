// zoa — test helpers for the ResNet tests: golden fixtures (tools/reference/gen_resnet_fixture.py), file edits
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/rng.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/io/safetensors_writer.hpp"
#include "zoa/models/resnet.hpp"

namespace rt {

using fp_resnet = zoa::models::resnet<zoa::policy<zoa::fp32>>;
using w8_resnet = zoa::models::resnet<zoa::mqbench<zoa::w8a8>>;
using w4_resnet = zoa::models::resnet<zoa::mqbench<zoa::w4a4>>;

inline std::string model_path(const std::string& name) {
    return std::string(ZOA_FIXTURES_DIR) + "/resnet/" + name + ".safetensors";
}

/// The golden outputs of one fixture case.
struct golden {
    zoa::io::safetensors_file f;
    explicit golden(const std::string& name)
        : f(zoa::io::safetensors_file::open(std::string(ZOA_FIXTURES_DIR) + "/resnet/" + name + "_golden.safetensors")) {}
    std::vector<float> vec(const std::string& k) const { return f.to_f32(k); }
    xt::xtensor<float, 2> mat(const std::string& k) const {
        const auto& s = f.info(k).shape;
        xt::xtensor<float, 2> m = xt::xtensor<float, 2>::from_shape({s[0], s[1]});
        f.to_f32(k, m.data(), m.size());
        return m;
    }
    xt::xtensor<float, 4> images(const std::string& k) const {
        const auto& s = f.info(k).shape;
        xt::xtensor<float, 4> m = xt::xtensor<float, 4>::from_shape({s[0], s[1], s[2], s[3]});
        f.to_f32(k, m.data(), m.size());
        return m;
    }
};

template <class A>
float max_abs(const A& a) {
    float m = 0;
    for (auto v : a) m = std::max(m, std::fabs(static_cast<float>(v)));
    return m;
}
template <class A, class B>
float max_diff(const A& a, const B& b) {
    float m = 0;
    auto ib = b.begin();
    for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib) m = std::max(m, std::fabs(static_cast<float>(*ia) - static_cast<float>(*ib)));
    return m;
}
/// max |a − b| relative to max |b| (the "within 1e-4 × max |value|").
template <class A, class B>
float rel_diff(const A& a, const B& b) {
    return max_diff(a, b) / std::max(max_abs(b), 1e-30f);
}

/// argmax per row.
inline std::vector<std::size_t> top1(const xt::xtensor<float, 2>& l) {
    std::vector<std::size_t> r(l.shape(0));
    for (std::size_t i = 0; i < l.shape(0); ++i) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < l.shape(1); ++c)
            if (l(i, c) > l(i, best)) best = c;
        r[i] = best;
    }
    return r;
}

/// A unique path in the temp directory (removed by the guard).
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& stem) {
        static std::atomic<int> n{0};
        path = (std::filesystem::temp_directory_path() /
                ("zoa_resnet_" + stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".safetensors"))
                   .string();
    }
    ~temp_file() { std::remove(path.c_str()); }
};

/// Copies a safetensors file, letting `edit` drop (return false) or keep each tensor, then adds `extra`.
inline void copy_file(const std::string& src, const std::string& dst,
                      const std::function<bool(const std::string&)>& keep,
                      const std::function<void(zoa::io::safetensors_writer&)>& extra = {}, bool metadata = true) {
    const auto f = zoa::io::safetensors_file::open(src);
    zoa::io::safetensors_writer w;
    for (const auto& k : f.keys()) {
        if (!keep(k)) continue;
        const auto& t = f.info(k);
        const auto b = f.bytes(t);
        w.add_raw(k, t.dtype, t.shape, b.data, b.size);
    }
    if (metadata)
        for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
    if (extra) extra(w);
    w.save(dst);
}

/// Random torchvision-shaped tensors for a config (kaiming-like conv weights, BN near identity).
inline zoa::models::resnet_tensors random_tensors(const zoa::models::resnet_config& c, std::uint64_t seed) {
    zoa::rng r(seed);
    zoa::models::resnet_tensors t;
    for (const auto& s : zoa::models::resnet_tensor_specs(c)) {
        std::size_t n = 1;
        for (auto d : s.shape) n *= d;
        std::vector<float> v(n);
        const std::string& k = s.key;
        auto ends = [&](const char* suf) {
            const std::string x(suf);
            return k.size() >= x.size() && k.compare(k.size() - x.size(), x.size(), x) == 0;
        };
        if (ends("running_var")) {
            for (float& x : v) x = 0.5f + r.uniform();
        } else if (s.shape.size() == 1 && ends(".weight")) {
            for (float& x : v) x = 1.0f + 0.2f * r.normal();
        } else if (s.shape.size() == 1) {
            for (float& x : v) x = 0.1f * r.normal();
        } else {
            const float std = std::sqrt(2.0f / float(n / s.shape[0]));
            for (float& x : v) x = std * r.normal();
        }
        t.floats[k] = std::move(v);
    }
    return t;
}

}  // namespace rt
