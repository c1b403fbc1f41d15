// zoa — spatter (validation corruption): water drops (severities 1–3) and mud (4–5), OpenCV steps re-implemented
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/filters.hpp"

namespace zoa::data::corruptions {

namespace detail {

/// cv2.distanceTransform(DIST_L2, maskSize 5) as a two-pass 5×5 chamfer: distance of every pixel to the nearest
/// seed (seed[i] true), steps 1 (edge neighbour), 1.4 (diagonal), 2.1969 (knight move); +∞ without seeds.
inline std::vector<float> chamfer_distance(const std::vector<bool>& seed, std::size_t h, std::size_t w) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    std::vector<float> d(h * w);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = seed[i] ? 0.0f : inf;
    struct step {
        int dr, dc;
        float cost;
    };
    static constexpr std::array<step, 8> fwd{step{-1, -1, 1.4f}, step{-1, 0, 1.0f}, step{-1, 1, 1.4f},
                                             step{0, -1, 1.0f},  step{-2, -1, 2.1969f}, step{-2, 1, 2.1969f},
                                             step{-1, -2, 2.1969f}, step{-1, 2, 2.1969f}};
    const auto hh = static_cast<int>(h), ww = static_cast<int>(w);
    auto relax = [&](int r, int c, int sign) {
        float& v = d[static_cast<std::size_t>(r * ww + c)];
        for (const step& s : fwd) {
            const int rr = r + sign * s.dr, cc = c + sign * s.dc;
            if (rr < 0 || cc < 0 || rr >= hh || cc >= ww) continue;
            v = std::min(v, d[static_cast<std::size_t>(rr * ww + cc)] + s.cost);
        }
    };
    for (int r = 0; r < hh; ++r)
        for (int c = 0; c < ww; ++c) relax(r, c, 1);
    for (int r = hh - 1; r >= 0; --r)
        for (int c = ww - 1; c >= 0; --c) relax(r, c, -1);
    return d;
}

/// cv2.equalizeHist on integer levels 0…255 (in place): with i₀ the lowest occupied level and N pixels,
/// lut[i₀] = 0, lut[i] = round(255·Σ_{i₀<j≤i} hist[j] / (N − hist[i₀])); a single-level image is left unchanged.
inline void equalize_hist(std::vector<float>& v) {
    std::array<std::size_t, 256> hist{};
    for (const float e : v) ++hist[static_cast<std::size_t>(e)];
    std::size_t lo = 0;
    while (hist[lo] == 0) ++lo;
    if (hist[lo] == v.size()) return;
    std::array<float, 256> lut{};
    const double scale = 255.0 / static_cast<double>(v.size() - hist[lo]);
    std::size_t sum = 0;
    for (std::size_t i = lo + 1; i < 256; ++i) {
        sum += hist[i];
        lut[i] = static_cast<float>(std::min(255.0, std::nearbyint(static_cast<double>(sum) * scale)));
    }
    for (float& e : v) e = lut[static_cast<std::size_t>(e)];
}

}  // namespace detail

/// spatter (validation). liquid = gaussian(N(μ, s), σ₁·scale) (H×W, skimage: 'nearest', truncate 4),
/// liquid[liquid < t] = 0. Then
///  water (kind 0): L = ⌊255·liquid⌋ clamped to 0…255 (numpy wraps around instead); edges = pixels of {L > 0}
///    with a 4-neighbour outside it (instead of cv2.Canny(L, 50, 150)); d = min(chamfer distance to the edges,
///    20); d = ⌊box3(d)⌋; d = equalizeHist(d); d = round-and-saturate(d ⋆ [[−2,−1,0],[−1,1,1],[0,1,2]]);
///    d = round(box3(d)); m = k·L·d / max(L·d); y = 255·clip(x/255 + m·(175, 238, 238)/255, 0, 1);
///  mud (kind 1): m = gaussian([liquid > t], k·scale); m[m < 0.8] = 0; y = clip(x·(1 − m) + m·(63, 42, 20)).
/// (μ, s, σ₁, t, k, kind): CIFAR-10-C (.62,.1,.7,.7,.5,0) (.65,.1,.8,.7,.5,0) (.65,.3,1,.69,.5,0)
/// (.65,.1,.7,.69,.6,1) (.65,.1,.5,.68,.6,1); ImageNet-C (.65,.3,4,.69,.6,0) (.65,.3,3,.68,.6,0) (.65,.3,2,.68,.5,0)
/// (.65,.3,1,.65,1.5,1) (.67,.4,1,.65,1.5,1). Colours are RGB (luma for C = 1). All 3×3 filters reflect-101.
/// Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5; Ensures the same shape in [0, 255].
inline xt::xtensor<float, 3> spatter(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                     const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "spatter");
    using p = std::array<double, 6>;
    static constexpr std::array<p, 5> cifar{p{.62, .1, .7, .7, .5, 0}, p{.65, .1, .8, .7, .5, 0},
                                            p{.65, .3, 1, .69, .5, 0}, p{.65, .1, .7, .69, .6, 1},
                                            p{.65, .1, .5, .68, .6, 1}};
    static constexpr std::array<p, 5> imagenet{p{.65, .3, 4, .69, .6, 0}, p{.65, .3, 3, .68, .6, 0},
                                               p{.65, .3, 2, .68, .5, 0}, p{.65, .3, 1, .65, 1.5, 1},
                                               p{.67, .4, 1, .65, 1.5, 1}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const std::size_t h = detail::rows(x), w = detail::cols(x), ch = detail::chans(x), n = h * w;
    auto liquid = detail::make(h, w, 1);
    for (std::size_t i = 0; i < n; ++i) liquid.data()[i] = static_cast<float>(c[0] + c[1] * double{rng.normal()});
    liquid = detail::gaussian_filter(liquid, c[2] * setup.scale, detail::border::nearest);
    const auto thresh = static_cast<float>(c[3]);
    for (std::size_t i = 0; i < n; ++i)
        if (liquid.data()[i] < thresh) liquid.data()[i] = 0.0f;
    auto y = detail::make(h, w, ch);
    if (c[5] == 0.0) {  // water
        std::vector<float> level8(n);
        std::vector<bool> edge(n, false);
        for (std::size_t i = 0; i < n; ++i) level8[i] = std::floor(detail::clip255(255.0f * liquid.data()[i]));
        for (std::size_t r = 0; r < h; ++r)
            for (std::size_t q = 0; q < w; ++q) {
                if (level8[r * w + q] <= 0.0f) continue;
                const bool out = (r > 0 && level8[(r - 1) * w + q] <= 0.0f) ||
                                 (r + 1 < h && level8[(r + 1) * w + q] <= 0.0f) ||
                                 (q > 0 && level8[r * w + q - 1] <= 0.0f) || (q + 1 < w && level8[r * w + q + 1] <= 0.0f);
                edge[r * w + q] = out;
            }
        const auto dist = detail::chamfer_distance(edge, h, w);
        auto d = detail::make(h, w, 1);
        for (std::size_t i = 0; i < n; ++i) d.data()[i] = std::min(dist[i], 20.0f);
        d = detail::box3(d);
        std::vector<float> levels(n);
        for (std::size_t i = 0; i < n; ++i) levels[i] = std::floor(d.data()[i]);
        detail::equalize_hist(levels);
        std::copy(levels.begin(), levels.end(), d.data());
        static const std::vector<float> emboss{-2, -1, 0, -1, 1, 1, 0, 1, 2};
        d = detail::correlate2d(d, emboss, 3, 3, detail::border::reflect101);
        for (std::size_t i = 0; i < n; ++i) d.data()[i] = detail::clip255(std::nearbyint(d.data()[i]));
        d = detail::box3(d);
        float top = 0.0f;
        for (std::size_t i = 0; i < n; ++i) {
            d.data()[i] = std::nearbyint(d.data()[i]) * level8[i];
            top = std::max(top, d.data()[i]);
        }
        const auto color = detail::color_for({175.0f, 238.0f, 238.0f}, ch);
        const float gain = top > 0.0f ? static_cast<float>(c[4]) / top : 0.0f;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < ch; ++k)
                y.data()[i * ch + k] = detail::clip255(x.data()[i * ch + k] + gain * d.data()[i] * color[k]);
    } else {  // mud
        auto m = detail::make(h, w, 1);
        for (std::size_t i = 0; i < n; ++i) m.data()[i] = liquid.data()[i] > thresh ? 1.0f : 0.0f;
        m = detail::gaussian_filter(m, c[4] * setup.scale, detail::border::nearest);
        const auto color = detail::color_for({63.0f, 42.0f, 20.0f}, ch);
        for (std::size_t i = 0; i < n; ++i) {
            const float a = m.data()[i] < 0.8f ? 0.0f : m.data()[i];
            for (std::size_t k = 0; k < ch; ++k)
                y.data()[i * ch + k] = detail::clip255(x.data()[i * ch + k] * (1.0f - a) + a * color[k]);
        }
    }
    return y;
}

}  // namespace zoa::data::corruptions
