// zoa — digital corruptions: contrast, elastic_transform, pixelate (benchmark) and saturate (validation)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/color.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/filters.hpp"
#include "zoa/data/corruptions/geometry.hpp"

// Every function here: Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5. Ensures a new image of
// the same shape in [0, 255]. Throws zoa::error(argument | shape | numeric) on bad input. (jpeg_compression is in
// jpeg.hpp.)
namespace zoa::data::corruptions {

/// contrast: per channel, with m = the channel's spatial mean, y = clip((x − m)·c + m).
/// c: CIFAR-10-C .75 .5 .4 .3 .15; ImageNet-C .4 .3 .2 .1 .05.
inline xt::xtensor<float, 3> contrast(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                      const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "contrast");
    static constexpr std::array<double, 5> cifar{.75, .5, .4, .3, .15}, imagenet{.4, .3, .2, .1, .05};
    const double c = detail::pick(setup, cifar, imagenet, level);
    const std::size_t n = detail::rows(x) * detail::cols(x), ch = detail::chans(x);
    std::array<double, 3> mean{};
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < ch; ++k) mean[k] += static_cast<double>(x.data()[i * ch + k]);
    for (std::size_t k = 0; k < ch; ++k) mean[k] /= static_cast<double>(n);
    auto y = detail::make(detail::rows(x), detail::cols(x), ch);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < ch; ++k)
            y.data()[i * ch + k] = detail::clip255(
                static_cast<float>((static_cast<double>(x.data()[i * ch + k]) - mean[k]) * c + mean[k]));
    return y;
}

/// saturate (validation): skimage HSV, S ← clip(S·a + b, 0, 1), back to RGB (a gray pixel, S = 0, H = 0, gets
/// the red hue when b > 0, exactly as skimage does). (a, b): CIFAR-10-C (.3,0) (.1,0) (1.5,0) (2,.1) (2.5,.2);
/// ImageNet-C (.3,0) (.1,0) (2,0) (5,.1) (20,.2).
inline xt::xtensor<float, 3> saturate(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                      const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "saturate");
    using p = std::array<double, 2>;
    static constexpr std::array<p, 5> cifar{p{.3, 0}, p{.1, 0}, p{1.5, 0}, p{2, .1}, p{2.5, .2}};
    static constexpr std::array<p, 5> imagenet{p{.3, 0}, p{.1, 0}, p{2, 0}, p{5, .1}, p{20, .2}};
    const p c = detail::pick(setup, cifar, imagenet, level);
    return detail::edit_hsv(x, [c](std::array<double, 3> hsv) {
        hsv[1] = std::min(1.0, std::max(0.0, hsv[1] * c[0] + c[1]));
        return hsv;
    });
}

/// elastic_transform (hendrycks' version of the erniejunior gist). With (α, σ, a) = table·R·scale
/// (R = 32 for CIFAR-10-C, 244 for ImageNet-C — "244 should have been 224" upstream), centre (cx, cy) = (⌊W/2⌋, ⌊H/2⌋),
/// q = max(1, ⌊min(H, W)/3⌋):
///  1. src = {(cx+q, cy+q), (cx+q, cy−q), (cx−q, cy−q)}, dst = src + U(−a, a) (6 draws, x then y per point);
///     x ← cv2.warpAffine(x, getAffineTransform(src, dst)), bilinear, BORDER_REFLECT_101;
///  2. dx = α·gaussian(U(−1, 1)^{H×W}, σ, 'reflect', truncate 3), then dy likewise;
///  3. y(r, c) = bilinear x at (r + dy, c + dx), scipy map_coordinates(order=1, mode='reflect').
/// (α, σ, a)/R: CIFAR-10-C (0,0,.08) (.05,.2,.07) (.08,.06,.06) (.1,.04,.05) (.1,.03,.03);
/// ImageNet-C (2,.7,.1) (2,.08,.2) (.05,.01,.02) (.07,.01,.02) (.12,.01,.02).
inline xt::xtensor<float, 3> elastic_transform(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                               const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "elastic_transform");
    using p = std::array<double, 3>;
    static constexpr std::array<p, 5> cifar{p{0, 0, .08}, p{.05, .2, .07}, p{.08, .06, .06}, p{.1, .04, .05},
                                            p{.1, .03, .03}};
    static constexpr std::array<p, 5> imagenet{p{2, .7, .1}, p{2, .08, .2}, p{.05, .01, .02}, p{.07, .01, .02},
                                               p{.12, .01, .02}};
    const p& c = detail::pick(setup, cifar, imagenet, level);
    const double unit = (setup.cifar ? 32.0 : 244.0) * setup.scale;
    const double alpha = c[0] * unit, sigma = c[1] * unit, shift = c[2] * unit;
    const std::size_t h = detail::rows(x), w = detail::cols(x), ch = detail::chans(x);
    const auto cx = static_cast<double>(w / 2), cy = static_cast<double>(h / 2);
    const auto q = static_cast<double>(std::max<std::size_t>(1, std::min(h, w) / 3));
    const std::array<std::array<double, 2>, 3> src{{{cx + q, cy + q}, {cx + q, cy - q}, {cx - q, cy - q}}};
    auto dst = src;
    for (auto& pt : dst)
        for (double& v : pt) v += detail::uniform(rng, -shift, shift);
    const auto warped = detail::warp_affine(x, detail::affine_from_points(src, dst), detail::border::reflect101);
    auto field = [&] {
        auto f = detail::make(h, w, 1);
        for (std::size_t i = 0; i < f.size(); ++i) f.data()[i] = static_cast<float>(detail::uniform(rng, -1.0, 1.0));
        f = detail::gaussian_filter(f, sigma, detail::border::reflect, 3.0);
        for (std::size_t i = 0; i < f.size(); ++i) f.data()[i] *= static_cast<float>(alpha);
        return f;
    };
    const auto dx = field();
    const auto dy = field();
    auto y = detail::make(h, w, ch);
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t k = 0; k < w; ++k) {
            const std::size_t i = r * w + k;
            detail::sample_bilinear(warped, static_cast<double>(r) + static_cast<double>(dy.data()[i]),
                                    static_cast<double>(k) + static_cast<double>(dx.data()[i]), detail::border::reflect,
                                    y.data() + i * ch);
        }
    return detail::clipped(std::move(y));
}

/// pixelate: PIL resize to (⌊W·f⌋, ⌊H·f⌋) (at least 1) with BOX, then back to (W, H) with BOX (which, upscaling,
/// is nearest-neighbour on pixel centres). f: CIFAR-10-C .95 .9 .85 .75 .65; ImageNet-C .6 .5 .4 .3 .25. Not scaled.
inline xt::xtensor<float, 3> pixelate(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                      const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "pixelate");
    static constexpr std::array<double, 5> cifar{.95, .9, .85, .75, .65}, imagenet{.6, .5, .4, .3, .25};
    const double f = detail::pick(setup, cifar, imagenet, level);
    const std::size_t h = detail::rows(x), w = detail::cols(x);
    const auto sh = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(h) * f));
    const auto sw = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(w) * f));
    return detail::clipped(detail::pil_box_resize(detail::pil_box_resize(x, sh, sw), h, w));
}

}  // namespace zoa::data::corruptions
