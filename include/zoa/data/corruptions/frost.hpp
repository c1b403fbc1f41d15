// zoa — frost corruption over a procedural ice texture (no image files): needles + plasma haze, calibrated colours
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/weather.hpp"

namespace zoa::data::corruptions {

namespace detail {

/// Colour statistics of the 5 frost photographs ImageNet-C draws from (frost1.png … frost5.jpg of
/// hendrycks/robustness, measured once; frost2 and frost3 are the same picture): per-channel RGB mean and the
/// standard deviation of the channel-mean gray image (the ×0.2 downscaled CIFAR versions agree within 0.5).
struct frost_style {
    std::array<float, 3> mean;
    float std;
};
inline constexpr std::array<frost_style, 5> frost_styles{{{{77.7f, 149.1f, 165.7f}, 18.0f},
                                                         {{200.8f, 205.4f, 214.5f}, 22.0f},
                                                         {{200.8f, 205.4f, 214.5f}, 22.0f},
                                                         {{137.6f, 152.8f, 165.2f}, 28.9f},
                                                         {{112.4f, 123.4f, 134.8f}, 43.1f}}};

/// Adds a straight anti-aliased line to the H×W field f: for t = 0, ½, 1, … ≤ len, the point
/// (r0 + t sin θ, c0 + t cos θ) receives a·(1 − 0.6 t/len) spread bilinearly over its 4 neighbours (clipped).
inline void splat_line(std::vector<float>& f, std::size_t h, std::size_t w, double r0, double c0, double theta,
                       double len, double a) {
    const double sr = std::sin(theta), sc = std::cos(theta);
    for (double t = 0.0; t <= len; t += 0.5) {
        const double r = r0 + t * sr, c = c0 + t * sc, v = a * (1.0 - 0.6 * t / len);
        const double fr = std::floor(r), fc = std::floor(c);
        const double br = r - fr, bc = c - fc;
        const std::array<double, 4> wt{(1 - br) * (1 - bc), (1 - br) * bc, br * (1 - bc), br * bc};
        for (std::size_t k = 0; k < 4; ++k) {
            const double rr = fr + static_cast<double>(k >> 1), cc = fc + static_cast<double>(k & 1);
            if (rr < 0 || cc < 0 || rr >= static_cast<double>(h) || cc >= static_cast<double>(w)) continue;
            f[static_cast<std::size_t>(rr) * w + static_cast<std::size_t>(cc)] += static_cast<float>(v * wt[k]);
        }
    }
}

/// Procedural frost texture, H×W×C in [0, 255]:
///  1. style k ~ U{0..4} (frost_styles);
///  2. haze = plasma_fractal(next_pow2(max(H, W)), decay 2) cropped, standardised (zero mean, unit std);
///  3. needles: n = ⌈4·H·W / L²⌉ crystals, L = feature_px; each starts at a uniform point with direction
///     θ ~ U[0, 2π), length ℓ = L·(0.4 + 0.6u), brightness a = 0.6 + 0.4u, and sprouts side branches at
///     θ ± 60° from ¼, ½, ¾ of its length (length 0.35ℓ(1.2 − t/ℓ), brightness 0.7a); standardised;
///  4. P = standardise(0.35·haze + needles); texture_ch = clip(mean_k,ch + std_k·P).
/// C = 1 uses the Rec. 601 luma of the style mean.
inline image3 frost_texture(std::size_t h, std::size_t w, std::size_t c, double feature_px, zoa::rng& rng) {
    const frost_style& style = frost_styles[rng.uniform_index(5)];
    const std::size_t m = next_pow2(std::max(h, w));
    const auto plasma = plasma_fractal(m, 2.0, rng);
    std::vector<float> haze(h * w), needles(h * w, 0.0f);
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < w; ++q) haze[r * w + q] = static_cast<float>(plasma[r * m + q]);
    const double big = std::max(1.0, feature_px);
    const auto count = static_cast<std::size_t>(std::ceil(4.0 * static_cast<double>(h * w) / (big * big)));
    constexpr double two_pi = 6.283185307179586, branch = 1.0471975511965976;  // 2π, 60°
    for (std::size_t i = 0; i < count; ++i) {
        const double r0 = uniform(rng, 0.0, static_cast<double>(h)), c0 = uniform(rng, 0.0, static_cast<double>(w));
        const double theta = uniform(rng, 0.0, two_pi), len = big * uniform(rng, 0.4, 1.0);
        const double a = uniform(rng, 0.6, 1.0);
        splat_line(needles, h, w, r0, c0, theta, len, a);
        for (const double f : {0.25, 0.5, 0.75}) {
            const double br = r0 + f * len * std::sin(theta), bc = c0 + f * len * std::cos(theta);
            const double bl = 0.35 * len * (1.2 - f);
            splat_line(needles, h, w, br, bc, theta + branch, bl, 0.7 * a);
            splat_line(needles, h, w, br, bc, theta - branch, bl, 0.7 * a);
        }
    }
    auto standardise = [](std::vector<float>& v) {
        double s = 0.0, s2 = 0.0;
        for (const float e : v) s += e;
        const double mean = s / static_cast<double>(v.size());
        for (const float e : v) s2 += (e - mean) * (e - mean);
        const double sd = std::sqrt(s2 / static_cast<double>(v.size()));
        for (float& e : v) e = sd > 0.0 ? static_cast<float>((e - mean) / sd) : 0.0f;
    };
    standardise(haze);
    standardise(needles);
    for (std::size_t i = 0; i < haze.size(); ++i) needles[i] += 0.35f * haze[i];
    standardise(needles);
    const auto mean = color_for(style.mean, c);
    image3 t = make(h, w, c);
    for (std::size_t i = 0; i < h * w; ++i)
        for (std::size_t k = 0; k < c; ++k) t.data()[i * c + k] = clip255(mean[k] + style.std * needles[i]);
    return t;
}

/// Crystal length of frost_texture for a setup: scale·(5 px for the CIFAR-10-C table, 26 px for ImageNet-C).
inline double frost_feature_px(const corruption_setup& setup) noexcept { return (setup.cifar ? 5.0 : 26.0) * setup.scale; }

}  // namespace detail

/// frost: y = clip(a·x + b·T), T = detail::frost_texture(H, W, C, L, rng) with crystal length
/// L = scale·(5 px for the CIFAR-10-C table, 26 px for ImageNet-C), chosen so that the texture's roughness
/// mean|∂T/∂x| / std(T) matches the photographs' (0.66 at the ×0.2 size CIFAR-10-C uses, 0.40 at full size for
/// ImageNet-C; measured over seeds by tools/bench_corruptions.cpp --frost-stats). (a, b): CIFAR-10-C (1,.2) (1,.3) (.9,.4) (.85,.4) (.75,.45);
/// ImageNet-C (1,.4) (.8,.6) (.7,.7) (.65,.7) (.6,.75).
/// Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5; Ensures the same shape in [0, 255].
inline xt::xtensor<float, 3> frost(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                   const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "frost");
    using p = std::array<float, 2>;
    static constexpr std::array<p, 5> cifar{p{1, .2f}, p{1, .3f}, p{.9f, .4f}, p{.85f, .4f}, p{.75f, .45f}};
    static constexpr std::array<p, 5> imagenet{p{1, .4f}, p{.8f, .6f}, p{.7f, .7f}, p{.65f, .7f}, p{.6f, .75f}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const auto t = detail::frost_texture(detail::rows(x), detail::cols(x), detail::chans(x),
                                        detail::frost_feature_px(setup), rng);
    auto y = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = detail::clip255(c[0] * x.data()[i] + c[1] * t.data()[i]);
    return y;
}

}  // namespace zoa::data::corruptions
