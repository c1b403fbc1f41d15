// zoa — weather corruptions: snow, fog (diamond-square plasma) and brightness (frost is in frost.hpp)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/color.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/filters.hpp"
#include "zoa/data/corruptions/geometry.hpp"

// Every function here: Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5. Ensures a new image of
// the same shape in [0, 255]. Throws zoa::error(argument | shape | numeric) on bad input.
namespace zoa::data::corruptions {

namespace detail {

/// Smallest power of two ≥ max(n, 2).
inline std::size_t next_pow2(std::size_t n) noexcept {
    std::size_t p = 2;
    while (p < n) p *= 2;
    return p;
}

/// hendrycks' plasma_fractal (diamond-square, FLHerne/mapgen) on an m × m torus (m a power of two ≥ 2), row-major:
/// map(0,0) = 0, wibble = 100; for step = m, m/2, …, 2 (half = step/2, n = m/step, indices mod n):
///   squares  map(i·step+half, j·step+half) = ¼Σ 4 corners (i|i+1, j|j+1) + wibble·U(−wibble, wibble);
///   diamonds map(i·step, j·step+half) = ¼(dr(i,j) + dr(i−1,j) + ul(i,j) + ul(i,j+1)) + wibble·U(…),
///            map(i·step+half, j·step) = ¼(dr(i,j) + dr(i,j−1) + ul(i,j) + ul(i+1,j)) + wibble·U(…)
///   (dr = square centres, ul = corners; draws row-major per array, in this order); wibble /= decay.
/// Finally (map − min) / max(map − min) (all zeros if the map is constant).
inline std::vector<double> plasma_fractal(std::size_t m, double decay, zoa::rng& rng) {
    std::vector<double> map(m * m, 0.0);
    auto at = [&](std::size_t r, std::size_t c) -> double& { return map[r * m + c]; };
    double wibble = 100.0;
    for (std::size_t step = m; step >= 2; step /= 2) {
        const std::size_t half = step / 2, n = m / step;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t i1 = (i + 1) % n, j1 = (j + 1) % n;
                const double s = at(i * step, j * step) + at(i1 * step, j * step) + at(i * step, j1 * step) +
                                 at(i1 * step, j1 * step);
                at(i * step + half, j * step + half) = s / 4.0 + wibble * uniform(rng, -wibble, wibble);
            }
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t im = (i + n - 1) % n, j1 = (j + 1) % n;
                const double s = at(i * step + half, j * step + half) + at(im * step + half, j * step + half) +
                                 at(i * step, j * step) + at(i * step, j1 * step);
                at(i * step, j * step + half) = s / 4.0 + wibble * uniform(rng, -wibble, wibble);
            }
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t jm = (j + n - 1) % n, i1 = (i + 1) % n;
                const double s = at(i * step + half, j * step + half) + at(i * step + half, jm * step + half) +
                                 at(i * step, j * step) + at(i1 * step, j * step);
                at(i * step + half, j * step) = s / 4.0 + wibble * uniform(rng, -wibble, wibble);
            }
        wibble /= decay;
    }
    const double lo = *std::min_element(map.begin(), map.end());
    for (double& v : map) v -= lo;
    const double hi = *std::max_element(map.begin(), map.end());
    for (double& v : map) v = hi > 0.0 ? v / hi : 0.0;
    return map;
}

}  // namespace detail

/// snow: layer ~ N(loc, scale) (H×W, one channel), clipped_zoom(layer, zoom), layer[layer < thresh] = 0,
/// layer ← ⌊255·clip(layer, 0, 1)⌋ (PIL 'L'), ImageMagick motion blur (radius·scale, σ·scale,
/// angle ~ U(−135°, −45°)) rounded to integers (8-bit PNG), /255;
/// x ← blend·x + (1 − blend)·max(x, 1.5·gray(x) + 0.5) (x in [0, 1], gray = Rec. 601 luma);
/// y = 255·clip(x + layer + rot180(layer), 0, 1).
/// (loc, scale, zoom, thresh, radius, σ, blend): CIFAR-10-C (.1,.2,1,.6,8,3,.95) (.1,.2,1,.5,10,4,.9)
/// (.15,.3,1.75,.55,10,4,.9) (.25,.3,2.25,.6,12,6,.85) (.3,.3,1.25,.65,14,12,.8); ImageNet-C (.1,.3,3,.5,10,4,.8)
/// (.2,.3,2,.5,12,4,.7) (.55,.3,4,.9,12,8,.7) (.55,.3,4.5,.85,12,8,.65) (.55,.3,2.5,.85,12,12,.55).
inline xt::xtensor<float, 3> snow(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                  const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "snow");
    using p = std::array<double, 7>;
    static constexpr std::array<p, 5> cifar{p{.1, .2, 1, .6, 8, 3, .95}, p{.1, .2, 1, .5, 10, 4, .9},
                                            p{.15, .3, 1.75, .55, 10, 4, .9}, p{.25, .3, 2.25, .6, 12, 6, .85},
                                            p{.3, .3, 1.25, .65, 14, 12, .8}};
    static constexpr std::array<p, 5> imagenet{p{.1, .3, 3, .5, 10, 4, .8}, p{.2, .3, 2, .5, 12, 4, .7},
                                               p{.55, .3, 4, .9, 12, 8, .7}, p{.55, .3, 4.5, .85, 12, 8, .65},
                                               p{.55, .3, 2.5, .85, 12, 12, .55}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const std::size_t h = detail::rows(x), w = detail::cols(x), ch = detail::chans(x);
    auto layer = detail::make(h, w, 1);
    for (std::size_t i = 0; i < layer.size(); ++i)
        layer.data()[i] = static_cast<float>(c[0] + c[1] * static_cast<double>(rng.normal()));
    layer = detail::clipped_zoom(layer, c[2]);
    for (std::size_t i = 0; i < layer.size(); ++i) {
        const float v = layer.data()[i] < static_cast<float>(c[3]) ? 0.0f : layer.data()[i];
        layer.data()[i] = std::floor(255.0f * detail::clip01(v));
    }
    const double angle = detail::uniform(rng, -135.0, -45.0);
    layer = detail::motion_blur_apply(layer, detail::make_motion_kernel(c[4] * setup.scale, c[5] * setup.scale, angle));
    for (float& v : layer) v = std::nearbyint(v);  // ImageMagick writes an 8-bit PNG
    auto y = detail::make(h, w, ch);
    const auto blend = static_cast<float>(c[6]);
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < w; ++q) {
            const float* px = x.data() + (r * w + q) * ch;
            float* py = y.data() + (r * w + q) * ch;
            const float gray = detail::gray_at(px, ch) / 255.0f;
            const float flakes = (layer.data()[r * w + q] + layer.data()[(h - 1 - r) * w + (w - 1 - q)]) / 255.0f;
            for (std::size_t k = 0; k < ch; ++k) {
                const float v = px[k] / 255.0f;
                const float lit = blend * v + (1.0f - blend) * std::max(v, 1.5f * gray + 0.5f);
                py[k] = 255.0f * detail::clip01(lit + flakes);
            }
        }
    return y;
}

/// fog: P = plasma_fractal(m = next_pow2(max(H, W)), decay) cropped to H×W; with x in [0, 1] and M = max(x),
/// y = 255·clip((x + s·P)·M / (M + s), 0, 1) (a black image stays black, as in the original).
/// (s, decay): CIFAR-10-C (.2,3) (.5,3) (.75,2.5) (1,2) (1.5,1.75); ImageNet-C (1.5,2) (2,2) (2.5,1.7) (2.5,1.5) (3,1.4).
inline xt::xtensor<float, 3> fog(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                 const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "fog");
    using p = std::array<double, 2>;
    static constexpr std::array<p, 5> cifar{p{.2, 3}, p{.5, 3}, p{.75, 2.5}, p{1, 2}, p{1.5, 1.75}};
    static constexpr std::array<p, 5> imagenet{p{1.5, 2}, p{2, 2}, p{2.5, 1.7}, p{2.5, 1.5}, p{3, 1.4}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const std::size_t h = detail::rows(x), w = detail::cols(x), ch = detail::chans(x);
    const std::size_t m = detail::next_pow2(std::max(h, w));
    const auto plasma = detail::plasma_fractal(m, c[1], rng);
    const double top = static_cast<double>(*std::max_element(x.data(), x.data() + x.size())) / 255.0;
    const double gain = top / (top + c[0]);
    auto y = detail::make(h, w, ch);
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < w; ++q)
            for (std::size_t k = 0; k < ch; ++k) {
                const double v = static_cast<double>(x.data()[(r * w + q) * ch + k]) / 255.0 + c[0] * plasma[r * m + q];
                y.data()[(r * w + q) * ch + k] = 255.0f * detail::clip01(static_cast<float>(v * gain));
            }
    return y;
}

/// brightness: skimage HSV, V ← clip(V + c, 0, 1), back to RGB.
/// c: CIFAR-10-C .05 .1 .15 .2 .3; ImageNet-C .1 .2 .3 .4 .5.
inline xt::xtensor<float, 3> brightness(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                        const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "brightness");
    static constexpr std::array<double, 5> cifar{.05, .1, .15, .2, .3}, imagenet{.1, .2, .3, .4, .5};
    const double c = detail::pick(setup, cifar, imagenet, level);
    return detail::edit_hsv(x, [c](std::array<double, 3> hsv) {
        hsv[2] = std::min(1.0, std::max(0.0, hsv[2] + c));
        return hsv;
    });
}

}  // namespace zoa::data::corruptions
