// zoa — blur corruptions: defocus_blur, glass_blur, motion_blur, zoom_blur (benchmark), gaussian_blur (validation)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/filters.hpp"
#include "zoa/data/corruptions/geometry.hpp"

// Every function here: Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5. Ensures a new image of
// the same shape in [0, 255]. Parameters in pixels (σ, radii, shuffle distance) are multiplied by setup.scale.
// Throws zoa::error(argument | shape | numeric) on bad input.
namespace zoa::data::corruptions {

namespace detail {

/// hendrycks' disk(radius, alias_blur): on the grid [−R, R]² with R = 8 if r ≤ 8 else ⌈r⌉,
/// d(i, j) = [i² + j² ≤ r²] / Σ[·], then cv2.GaussianBlur with a k × k kernel (k = 3 if r ≤ 8 else 5),
/// g_t = exp(−(t − (k−1)/2)² / (2·alias²)) / Σ, BORDER_REFLECT_101; weights below 10⁻¹² are set to 0 (for
/// alias = 0.1 the outer ring is ~10⁻²² and its corners are float denormals, which are slow and change nothing);
/// returned cropped to its non-zero support (symmetric, so the centre stays the centre) with its side length.
inline std::vector<float> defocus_kernel(double radius, double alias_blur, std::size_t& side) {
    const auto big = static_cast<std::ptrdiff_t>(radius <= 8.0 ? 8.0 : std::ceil(radius));
    const auto n = static_cast<std::size_t>(2 * big + 1);
    image3 disk = make(n, n, 1);
    float count = 0.0f;
    for (std::ptrdiff_t i = -big; i <= big; ++i)
        for (std::ptrdiff_t j = -big; j <= big; ++j) {
            const bool in = static_cast<double>(i * i + j * j) <= radius * radius;
            disk.data()[static_cast<std::size_t>((i + big) * (2 * big + 1) + (j + big))] = in ? 1.0f : 0.0f;
            count += in ? 1.0f : 0.0f;
        }
    for (std::size_t i = 0; i < disk.size(); ++i) disk.data()[i] /= count;
    const std::ptrdiff_t k = radius <= 8.0 ? 3 : 5;
    std::vector<float> g(static_cast<std::size_t>(k));
    float gs = 0.0f;
    for (std::ptrdiff_t t = 0; t < k; ++t) {
        const double d = static_cast<double>(t) - static_cast<double>(k - 1) / 2.0;
        g[static_cast<std::size_t>(t)] = static_cast<float>(std::exp(-d * d / (2.0 * alias_blur * alias_blur)));
        gs += g[static_cast<std::size_t>(t)];
    }
    for (float& v : g) v /= gs;
    image3 blurred = separable_filter(disk, g, g, border::reflect101);
    for (float& v : blurred)
        if (v < 1e-12f) v = 0.0f;
    std::ptrdiff_t half = 0;
    for (std::ptrdiff_t i = -big; i <= big; ++i)
        for (std::ptrdiff_t j = -big; j <= big; ++j)
            if (blurred.data()[static_cast<std::size_t>((i + big) * (2 * big + 1) + (j + big))] != 0.0f)
                half = std::max(half, std::max(std::abs(i), std::abs(j)));
    side = static_cast<std::size_t>(2 * half + 1);
    std::vector<float> out(side * side);
    for (std::ptrdiff_t i = -half; i <= half; ++i)
        for (std::ptrdiff_t j = -half; j <= half; ++j)
            out[static_cast<std::size_t>((i + half) * (2 * half + 1) + (j + half))] =
                blurred.data()[static_cast<std::size_t>((i + big) * (2 * big + 1) + (j + big))];
    return out;
}

/// Zoom factors of zoom_blur: numpy arange(1, stop, step) = 1 + i·((1 + step) − 1), i < count.
struct zoom_range {
    double step;
    std::size_t count;
};

}  // namespace detail

/// defocus_blur: per-channel cv2.filter2D (BORDER_REFLECT_101) with detail::defocus_kernel(r·scale, alias).
/// (r, alias): CIFAR-10-C (.3,.4) (.4,.5) (.5,.6) (1,.2) (1.5,.1); ImageNet-C (3,.1) (4,.5) (6,.5) (8,.5) (10,.5).
inline xt::xtensor<float, 3> defocus_blur(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                          const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "defocus_blur");
    using p = std::array<double, 2>;
    static constexpr std::array<p, 5> cifar{p{.3, .4}, p{.4, .5}, p{.5, .6}, p{1, .2}, p{1.5, .1}};
    static constexpr std::array<p, 5> imagenet{p{3, .1}, p{4, .5}, p{6, .5}, p{8, .5}, p{10, .5}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    std::size_t side = 0;
    const auto k = detail::defocus_kernel(c[0] * setup.scale, c[1], side);
    return detail::clipped(detail::correlate2d(x, k, side, side, detail::border::reflect101));
}

/// glass_blur: g = ⌊gaussian(x, σ)⌋ (skimage, mode 'nearest', truncate 4; ⌊⌋ is the np.uint8 cast), then
/// `iterations` passes of local shuffling — for r = H−δ down to δ+1, for c = W−δ down to δ+1: draw
/// dx, dy ∈ [−δ, δ) (numpy randint, dx first) and set pixel (r, c) ← pixel (r + dy, c + dx) — then gaussian(σ)
/// again. The upstream line `x[h, w], x[h', w'] = x[h', w'], x[h, w]` reads like a swap, but on an H×W×3 numpy
/// array both right-hand sides are views, so it copies (h', w') into (h, w) and leaves (h', w') unchanged; the
/// released CIFAR-10-C / ImageNet-C files were made that way, and so is this.
/// (σ, δ, iterations): CIFAR-10-C (.05,1,1) (.25,1,1) (.4,1,1) (.25,1,2) (.4,1,2);
/// ImageNet-C (.7,1,2) (.9,2,1) (1,2,3) (1.1,3,2) (1.5,4,2). σ ← σ·scale, δ ← max(1, round(δ·scale)).
inline xt::xtensor<float, 3> glass_blur(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                        const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "glass_blur");
    using p = std::array<double, 3>;
    static constexpr std::array<p, 5> cifar{p{.05, 1, 1}, p{.25, 1, 1}, p{.4, 1, 1}, p{.25, 1, 2}, p{.4, 1, 2}};
    static constexpr std::array<p, 5> imagenet{p{.7, 1, 2}, p{.9, 2, 1}, p{1, 2, 3}, p{1.1, 3, 2}, p{1.5, 4, 2}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const double sigma = c[0] * setup.scale;
    const int delta = std::max(1, static_cast<int>(std::lround(c[1] * setup.scale)));
    auto g = detail::gaussian_filter(x, sigma, detail::border::nearest);
    // ⌊v + 10⁻³⌋: the slack absorbs float32 summation error, so a flat 77 stays 77 instead of 76.99998 → 76.
    for (std::size_t i = 0; i < g.size(); ++i) g.data()[i] = std::floor(detail::clip255(g.data()[i] + 1e-3f));
    const auto h = static_cast<int>(detail::rows(x)), w = static_cast<int>(detail::cols(x));
    const std::size_t ch = detail::chans(x);
    float* d = g.data();
    for (int it = 0; it < static_cast<int>(c[2]); ++it)
        for (int r = h - delta; r > delta; --r)
            for (int q = w - delta; q > delta; --q) {
                const int dx = detail::randint(rng, -delta, delta), dy = detail::randint(rng, -delta, delta);
                float* to = d + static_cast<std::size_t>(r * w + q) * ch;
                const float* from = d + static_cast<std::size_t>((r + dy) * w + (q + dx)) * ch;
                for (std::size_t k = 0; k < ch; ++k) to[k] = from[k];
            }
    return detail::clipped(detail::gaussian_filter(g, sigma, detail::border::nearest));
}

/// motion_blur: ImageMagick MotionBlurImage(radius·scale, σ·scale, angle ~ U(−45°, 45°)), see
/// detail::make_motion_kernel (edge pixels clamp; no uint8 round trip through PNG).
/// (radius, σ): CIFAR-10-C (6,1) (6,1.5) (6,2) (8,2) (9,2.5); ImageNet-C (10,3) (15,5) (15,8) (15,12) (20,15).
inline xt::xtensor<float, 3> motion_blur(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                         const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "motion_blur");
    using p = std::array<double, 2>;
    static constexpr std::array<p, 5> cifar{p{6, 1}, p{6, 1.5}, p{6, 2}, p{8, 2}, p{9, 2.5}};
    static constexpr std::array<p, 5> imagenet{p{10, 3}, p{15, 5}, p{15, 8}, p{15, 12}, p{20, 15}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const double angle = detail::uniform(rng, -45.0, 45.0);
    const auto k = detail::make_motion_kernel(c[0] * setup.scale, c[1] * setup.scale, angle);
    return detail::clipped(detail::motion_blur_apply(x, k));
}

/// zoom_blur: y = (x + Σ_z clipped_zoom(x, z)) / (n + 1) over the n factors z = 1 + i·step (numpy arange);
/// clipped_zoom is scipy zoom(order=1) of the centre crop, computed exactly with separable linear taps.
/// CIFAR-10-C arange(1, 1.06|1.11|1.16|1.21|1.26, .01) (7, 12, 16, 21, 26 factors);
/// ImageNet-C arange(1, 1.11, .01), (1, 1.16, .01), (1, 1.21, .02), (1, 1.26, .02), (1, 1.31, .03). Not scaled.
inline xt::xtensor<float, 3> zoom_blur(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                       const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "zoom_blur");
    using z = detail::zoom_range;
    static constexpr std::array<z, 5> cifar{z{.01, 7}, z{.01, 12}, z{.01, 16}, z{.01, 21}, z{.01, 26}};
    static constexpr std::array<z, 5> imagenet{z{.01, 12}, z{.01, 16}, z{.02, 11}, z{.02, 13}, z{.03, 11}};
    const z& c = detail::pick(setup, cifar, imagenet, level);
    const double delta = (1.0 + c.step) - 1.0;  // numpy arange's increment
    auto acc = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    std::copy(x.data(), x.data() + x.size(), acc.data());
    for (std::size_t i = 0; i < c.count; ++i) {
        const auto zoomed = detail::clipped_zoom(x, 1.0 + static_cast<double>(i) * delta);
        for (std::size_t e = 0; e < acc.size(); ++e) acc.data()[e] += zoomed.data()[e];
    }
    const float inv = 1.0f / static_cast<float>(c.count + 1);
    for (std::size_t e = 0; e < acc.size(); ++e) acc.data()[e] = detail::clip255(acc.data()[e] * inv);
    return acc;
}

/// gaussian_blur (validation): skimage gaussian(x, σ·scale), mode 'nearest', truncate 4, per channel.
/// σ: CIFAR-10-C .4 .6 .7 .8 1; ImageNet-C 1 2 3 4 6.
inline xt::xtensor<float, 3> gaussian_blur(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                           const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "gaussian_blur");
    static constexpr std::array<double, 5> cifar{.4, .6, .7, .8, 1}, imagenet{1, 2, 3, 4, 6};
    const double sigma = detail::pick(setup, cifar, imagenet, level) * setup.scale;
    return detail::clipped(detail::gaussian_filter(x, sigma, detail::border::nearest));
}

}  // namespace zoa::data::corruptions
