// zoa — ImageNet-C / CIFAR-10-C corruptions: registry (name → function), benchmark and validation lists, corrupt()
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/blur.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/digital.hpp"
#include "zoa/data/corruptions/frost.hpp"
#include "zoa/data/corruptions/jpeg.hpp"
#include "zoa/data/corruptions/noise.hpp"
#include "zoa/data/corruptions/spatter.hpp"
#include "zoa/data/corruptions/weather.hpp"

namespace zoa::data {

/// Signature shared by every corruption in zoa::data::corruptions.
using corruption_fn = xt::xtensor<float, 3> (*)(const xt::xtensor<float, 3>&, int, zoa::rng&,
                                                const corruption_setup&);

/// One registry entry.
struct corruption_info {
    std::string_view name;  ///< hendrycks' function name, e.g. "gaussian_noise"
    corruption_fn fn;       ///< the implementation
    bool benchmark;         ///< one of the 15 ImageNet-C test corruptions (false: one of the 4 validation ones)
    bool stochastic;        ///< the output depends on the seed
};

/// All 19 corruptions: the 15 benchmark ones in ImageNet-C order, then the 4 validation ones.
/// The position in this table is part of the rng stream id used by corrupt() (append only, never reorder).
inline constexpr std::array<corruption_info, 19> corruption_registry{{
    {"gaussian_noise", &corruptions::gaussian_noise, true, true},
    {"shot_noise", &corruptions::shot_noise, true, true},
    {"impulse_noise", &corruptions::impulse_noise, true, true},
    {"defocus_blur", &corruptions::defocus_blur, true, false},
    {"glass_blur", &corruptions::glass_blur, true, true},
    {"motion_blur", &corruptions::motion_blur, true, true},
    {"zoom_blur", &corruptions::zoom_blur, true, false},
    {"snow", &corruptions::snow, true, true},
    {"frost", &corruptions::frost, true, true},
    {"fog", &corruptions::fog, true, true},
    {"brightness", &corruptions::brightness, true, false},
    {"contrast", &corruptions::contrast, true, false},
    {"elastic_transform", &corruptions::elastic_transform, true, true},
    {"pixelate", &corruptions::pixelate, true, false},
    {"jpeg_compression", &corruptions::jpeg_compression, true, false},
    {"speckle_noise", &corruptions::speckle_noise, false, true},
    {"gaussian_blur", &corruptions::gaussian_blur, false, false},
    {"spatter", &corruptions::spatter, false, true},
    {"saturate", &corruptions::saturate, false, false},
}};

/// The 15 ImageNet-C benchmark corruptions, in the order of hendrycks' make_imagenet_c.py / ZOA's stream.
inline constexpr std::array<std::string_view, 15> benchmark_corruptions{
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur",    "zoom_blur",  "snow",          "frost",        "fog",
    "brightness",     "contrast",   "elastic_transform", "pixelate", "jpeg_compression"};

/// The 4 validation corruptions (hyper-parameters are tuned on these, never on the benchmark ones).
inline constexpr std::array<std::string_view, 4> validation_corruptions{"speckle_noise", "gaussian_blur", "spatter",
                                                                        "saturate"};

/// The registry entry of a name, or nullptr.
inline const corruption_info* find_corruption(std::string_view name) noexcept {
    for (const auto& c : corruption_registry)
        if (c.name == name) return &c;
    return nullptr;
}

/// "gaussian_noise, shot_noise, …" — every valid name, in registry order.
inline std::string corruption_names_list() {
    std::ostringstream os;
    for (std::size_t i = 0; i < corruption_registry.size(); ++i)
        os << (i ? ", " : "") << corruption_registry[i].name;
    return os.str();
}

/// The registry entry of a name.
/// Throws: zoa::error(argument) naming the unknown corruption and listing the valid names.
inline const corruption_info& corruption(std::string_view name) {
    const corruption_info* c = find_corruption(name);
    if (c == nullptr)
        fail(error_code::argument, "unknown corruption '", name, "'; valid names: ", corruption_names_list());
    return *c;
}

/// The rng stream corrupt() uses for a corruption: 0x636F7272'00000000 ("corr") + its registry index, so the
/// same seed gives independent noise to different corruptions and the same noise to all severities of one.
inline std::uint64_t corruption_stream(std::string_view name) {
    const corruption_info& c = corruption(name);
    return 0x636F727200000000ull + static_cast<std::uint64_t>(&c - corruption_registry.data());
}

namespace detail {

/// corrupt() once the name is resolved to the function and its registry index: severity check,
/// rng(seed, 0x636F7272'00000000 + index), the corruption, then floor() when options.quantize.
inline xt::xtensor<float, 3> apply_corruption(corruption_fn fn, std::string_view name, std::size_t index,
                                              const xt::xtensor<float, 3>& img, int severity, std::uint64_t seed,
                                              const corruption_options& options) {
    corruptions::detail::check_severity(severity, name);
    zoa::rng rng(seed, 0x636F727200000000ull + static_cast<std::uint64_t>(index));
    const auto setup = corruption_setup::resolve(img.shape()[0], img.shape()[1], options);
    auto y = fn(img, severity, rng, setup);
    if (options.quantize)
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = std::floor(y.data()[i]);
    return y;
}

/// Registry index of a corruption function (compile time); 19 = not a registry entry.
constexpr std::size_t registry_index(corruption_fn fn) {
    for (std::size_t i = 0; i < corruption_registry.size(); ++i)
        if (corruption_registry[i].fn == fn) return i;
    return corruption_registry.size();
}

}  // namespace detail

/// Applies corruption `name` at `severity` to an HWC image with values in [0, 255] (1 or 3 channels, any size).
/// Parameters come from the CIFAR-10-C table for images with max(H, W) ≤ 64 and the ImageNet-C table otherwise
/// (options.table overrides), pixel-unit parameters scaled by min(H, W)/32 or /224 (docs/corruptions.md).
/// Deterministic: the result depends only on (image, name, severity, seed, options) — random numbers come from
/// zoa::rng(seed, corruption_stream(name)) — and is identical on every platform up to floating-point rounding
/// of libm. Thread-safe (no shared mutable state).
/// Any of the 19 names at run time means a program calling corrupt() compiles all 19; corruption_set below
/// compiles only the ones a program lists.
/// Requires: finite pixel values. Ensures: a new image of the same shape with values in [0, 255] (integers when
/// options.quantize, floor as np.uint8 does).
/// Throws: zoa::error(argument) for an unknown name (listing the valid ones) or severity ∉ 1..5;
///         zoa::error(shape) for an empty image or C ∉ {1, 3}; zoa::error(numeric) for a non-finite pixel.
inline xt::xtensor<float, 3> corrupt(const xt::xtensor<float, 3>& img, std::string_view name, int severity,
                                     std::uint64_t seed, const corruption_options& options = {}) {
    const corruption_info& c = corruption(name);
    return detail::apply_corruption(c.fn, name, std::size_t(&c - corruption_registry.data()), img, severity, seed,
                                    options);
}

/// The corruptions a program uses, chosen at compile time and applied by name at run time with corrupt()'s
/// results (same rng stream, same tables): only these are compiled into the program.
///   using stream_corruptions = zoa::data::corruption_set<zoa::data::corruptions::fog, zoa::data::corruptions::snow>;
///   auto y = stream_corruptions::corrupt(img, "fog", 5, seed);
/// Throws: as corrupt(), and zoa::error(argument) for a name that is not in the set (listing the set's names).
template <corruption_fn... Fns>
struct corruption_set {
    static_assert(sizeof...(Fns) > 0 && ((detail::registry_index(Fns) < corruption_registry.size()) && ...),
                  "zoa::data::corruption_set: list functions of zoa::data::corruptions (the corruption registry)");

    /// The set's names, in the order listed.
    static constexpr std::array<std::string_view, sizeof...(Fns)> names{
        corruption_registry[detail::registry_index(Fns)].name...};

    /// corrupt(img, name, severity, seed, options) for a name of the set.
    static xt::xtensor<float, 3> corrupt(const xt::xtensor<float, 3>& img, std::string_view name, int severity,
                                         std::uint64_t seed, const corruption_options& options = {}) {
        constexpr corruption_fn fns[] = {Fns...};
        constexpr std::size_t index[] = {detail::registry_index(Fns)...};
        for (std::size_t k = 0; k < sizeof...(Fns); ++k)
            if (names[k] == name) return detail::apply_corruption(fns[k], name, index[k], img, severity, seed, options);
        std::string list;
        for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
        fail(error_code::argument, "corruption '", name, "' is not in this corruption_set (", list, ")");
    }
};

}  // namespace zoa::data
