// zoa — ResNet topology as runtime config: block type, stage depths/widths, stem, presets, "zoa.config" JSON
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <string>


#include "zoa/core/error.hpp"
#include "zoa/io/json.hpp"

namespace zoa::models {

/// Residual block type (torchvision): BasicBlock (two 3×3 convs, expansion 1) or Bottleneck v1.5 (1×1, 3×3 with the
/// stride, 1×1; expansion 4).
enum class resnet_block { basic, bottleneck };

/// Stem: torchvision's ImageNet stem (7×7/2 pad 3 conv, BN, ReLU, 3×3/2 pad 1 max-pool) or the small-image stem
/// (3×3/1 pad 1 conv, BN, ReLU, no max-pool; for 28×28 / 32×32 inputs).
enum class resnet_stem { imagenet, small };

/// Names: "basic" / "bottleneck" and "imagenet" / "small".
inline const char* to_string(resnet_block b) noexcept { return b == resnet_block::basic ? "basic" : "bottleneck"; }
inline const char* to_string(resnet_stem s) noexcept { return s == resnet_stem::imagenet ? "imagenet" : "small"; }

/// A ResNet's hyper-parameters (tools/reference/models.py::ResNet): 4 stages, stage s has layers[s] blocks of
/// width widths[s] (output channels widths[s]·expansion), stride 2 in the first block of stages 2..4, a
/// downsample (1×1 conv with the stride + BN) wherever the stride or the channel count changes, global average
/// pooling and the fc classifier. BatchNorm eps bn_eps. Default: resnet50.
struct resnet_config {
    resnet_block block = resnet_block::bottleneck;         ///< block type
    std::array<std::size_t, 4> layers{3, 4, 6, 3};         ///< blocks per stage
    std::array<std::size_t, 4> widths{64, 128, 256, 512};  ///< planes per stage
    std::size_t in_chans = 3;                              ///< image channels
    std::size_t num_classes = 1000;                        ///< classifier outputs
    resnet_stem stem = resnet_stem::imagenet;              ///< stem type
    float bn_eps = 1e-5f;                                  ///< BatchNorm ε

    /// 1 (basic) or 4 (bottleneck).
    std::size_t expansion() const noexcept { return block == resnet_block::basic ? 1 : 4; }
    /// Output channels of stage s (0..3): widths[s]·expansion.
    std::size_t stage_channels(std::size_t s) const noexcept { return widths[s] * expansion(); }
    /// Total number of residual blocks.
    std::size_t blocks() const noexcept { return layers[0] + layers[1] + layers[2] + layers[3]; }

    /// Throws: zoa::error(argument) naming the field for zero depths/widths/channels/classes or eps not > 0.
    template <class = void>
    void validate() const {
        for (std::size_t s = 0; s < 4; ++s) {
            require(layers[s] >= 1, error_code::argument, "resnet_config: layers[", s, "] must be >= 1, got ",
                    layers[s]);
            require(widths[s] >= 1, error_code::argument, "resnet_config: widths[", s, "] must be >= 1, got ",
                    widths[s]);
        }
        require(in_chans >= 1, error_code::argument, "resnet_config: in_chans must be >= 1");
        require(num_classes >= 1, error_code::argument, "resnet_config: num_classes must be >= 1");
        require(std::isfinite(bn_eps) && bn_eps > 0.0f, error_code::argument,
                "resnet_config: bn_eps must be finite and > 0, got ", bn_eps);
    }

    /// torchvision presets (ImageNet stem, 3 input channels).
    template <class = void>
    static resnet_config resnet18(std::size_t classes = 1000) { return make(resnet_block::basic, {2, 2, 2, 2}, classes); }
    template <class = void>
    static resnet_config resnet34(std::size_t classes = 1000) { return make(resnet_block::basic, {3, 4, 6, 3}, classes); }
    /// ResNet-50: bottleneck blocks {3, 4, 6, 3}.
    template <class = void>
    static resnet_config resnet50(std::size_t classes = 1000) {
        return make(resnet_block::bottleneck, {3, 4, 6, 3}, classes);
    }
    /// ResNet-101: bottleneck blocks {3, 4, 23, 3}.
    template <class = void>
    static resnet_config resnet101(std::size_t classes = 1000) {
        return make(resnet_block::bottleneck, {3, 4, 23, 3}, classes);
    }
    /// Preset by name: resnet18, resnet34, resnet50, resnet101.
    /// Throws: zoa::error(argument) listing the known names.
    template <class = void>
    static resnet_config preset(const std::string& name) {
        if (name == "resnet18") return resnet18();
        if (name == "resnet34") return resnet34();
        if (name == "resnet50") return resnet50();
        if (name == "resnet101") return resnet101();
        fail(error_code::argument, "unknown ResNet preset '", name, "', expected resnet18, resnet34, resnet50 or resnet101");
    }
    /// The preset name this config equals ("resnet50"), or "resnet" for any other topology.
    template <class = void>
    std::string name() const {
        for (const char* n : {"resnet18", "resnet34", "resnet50", "resnet101"})
            if (*this == preset(n)) return n;
        return "resnet";
    }

    /// The "zoa.config" JSON (keys sorted as tools/reference/models.py writes them with sort_keys=True).
    template <class = void>
    std::string to_json() const {
        io::json::value j = io::json::value::object();
        j.set("block", to_string(block)).set("bn_eps", static_cast<double>(bn_eps)).set("in_chans", in_chans);
        j.set("layers", io::json::value::array_of(layers)).set("num_classes", num_classes);
        j.set("stem", to_string(stem)).set("widths", io::json::value::array_of(widths));
        return j.dump();
    }

    /// Parses the "zoa.config" JSON object: block ("basic"|"bottleneck"), layers and widths (4 integers each),
    /// in_chans, num_classes, stem ("imagenet"|"small"), optional bn_eps (default 1e-5). `what` names the source in
    /// messages. Throws: zoa::error(format) naming the key for malformed JSON, a missing/unknown key or a bad value;
    /// zoa::error(argument) from validate().
    template <class = void>
    static resnet_config from_json(const std::string& text, const std::string& what = "zoa.config") {
        const io::json::value j = io::json::parse(text, what);
        require(j.is_object(), error_code::format, what, ": expected a JSON object");
        resnet_config c;
        for (const auto& [k, v] : j.members()) {
            if (k == "block" || k == "stem") {
                require(v.is_string(), error_code::format, what, ": '", k, "' must be a string");
                const std::string& s = v.as_string();
                if (k == "block") {
                    require(s == "basic" || s == "bottleneck", error_code::format, what,
                            ": 'block' must be \"basic\" or \"bottleneck\", got \"", s, "\"");
                    c.block = s == "basic" ? resnet_block::basic : resnet_block::bottleneck;
                } else {
                    require(s == "imagenet" || s == "small", error_code::format, what,
                            ": 'stem' must be \"imagenet\" or \"small\", got \"", s, "\"");
                    c.stem = s == "imagenet" ? resnet_stem::imagenet : resnet_stem::small;
                }
            } else if (k == "layers" || k == "widths") {
                require(v.is_array() && v.size() == 4, error_code::format, what, ": '", k,
                        "' must be an array of 4 integers, got ", v.dump());
                auto& dst = k == "layers" ? c.layers : c.widths;
                for (std::size_t s = 0; s < 4; ++s) dst[s] = count(v.items()[s], what, k);
            } else if (k == "in_chans") {
                c.in_chans = count(v, what, k);
            } else if (k == "num_classes") {
                c.num_classes = count(v, what, k);
            } else if (k == "bn_eps") {
                require(v.is_number(), error_code::format, what, ": 'bn_eps' must be a number");
                c.bn_eps = static_cast<float>(v.as_double());
            } else {
                fail(error_code::format, what, ": unknown key '", k,
                     "' (expected block, layers, widths, in_chans, num_classes, stem, bn_eps)");
            }
        }
        for (const char* k : {"block", "layers", "widths", "num_classes", "stem"})
            require(j.find(k) != nullptr, error_code::format, what, ": missing key '", k, "'");
        c.validate();
        return c;
    }

    friend bool operator==(const resnet_config& a, const resnet_config& b) {
        return a.block == b.block && a.layers == b.layers && a.widths == b.widths && a.in_chans == b.in_chans &&
               a.num_classes == b.num_classes && a.stem == b.stem && a.bn_eps == b.bn_eps;
    }
    friend bool operator!=(const resnet_config& a, const resnet_config& b) { return !(a == b); }

private:
    template <class = void>
    static resnet_config make(resnet_block b, std::array<std::size_t, 4> l, std::size_t classes) {
        resnet_config c;
        c.block = b;
        c.layers = l;
        c.num_classes = classes;
        return c;
    }
    template <class = void>
    static std::size_t count(const io::json::value& v, const std::string& what, const std::string& key) {
        require(v.is_unsigned(), error_code::format, what, ": '", key, "' must hold non-negative integers, got ",
                v.dump());
        return static_cast<std::size_t>(v.as_unsigned());
    }
};

}  // namespace zoa::models
