// zoa — noise corruptions: gaussian_noise, shot_noise, impulse_noise (benchmark) and speckle_noise (validation)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/common.hpp"

// Every function here: Requires a finite H×W×C image (C = 1 or 3, values nominally in [0, 255]) and
// 1 ≤ severity ≤ 5. Ensures a new image of the same shape with values in [0, 255]; the random draws come from
// `rng` in row-major element order, one (or two) per element whatever the severity, so severities of one seed
// share the noise pattern. Throws zoa::error(argument | shape | numeric) on bad input.
namespace zoa::data::corruptions {

/// gaussian_noise: y = clip(x + 255·σ·n), n ~ N(0, 1) per element.
/// σ: CIFAR-10-C .04 .06 .08 .09 .10; ImageNet-C .08 .12 .18 .26 .38.
inline xt::xtensor<float, 3> gaussian_noise(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                            const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "gaussian_noise");
    static constexpr std::array<float, 5> cifar{.04f, .06f, .08f, .09f, .10f}, imagenet{.08f, .12f, .18f, .26f, .38f};
    const float sigma = 255.0f * detail::pick(setup, cifar, imagenet, level);
    auto y = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = detail::clip255(x.data()[i] + sigma * rng.normal());
    return y;
}

/// shot_noise: y = clip(255 · Poisson(λ·x/255) / λ) per element.
/// λ: CIFAR-10-C 500 250 100 75 50; ImageNet-C 60 25 12 5 3.
inline xt::xtensor<float, 3> shot_noise(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                        const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "shot_noise");
    static constexpr std::array<double, 5> cifar{500, 250, 100, 75, 50}, imagenet{60, 25, 12, 5, 3};
    const double lambda = detail::pick(setup, cifar, imagenet, level);
    auto y = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double mean = lambda * std::max(0.0, static_cast<double>(x.data()[i])) / 255.0;
        y.data()[i] = detail::clip255(static_cast<float>(255.0 * static_cast<double>(rng.poisson(mean)) / lambda));
    }
    return y;
}

/// impulse_noise (skimage random_noise 's&p', salt_vs_pepper 0.5, per element): draw u, v ~ U[0, 1);
/// y = (u < amount) ? (v < 0.5 ? 255 : 0) : x. amount: CIFAR-10-C .01 .02 .03 .05 .07; ImageNet-C .03 .06 .09 .17 .27.
inline xt::xtensor<float, 3> impulse_noise(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                           const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "impulse_noise");
    static constexpr std::array<float, 5> cifar{.01f, .02f, .03f, .05f, .07f}, imagenet{.03f, .06f, .09f, .17f, .27f};
    const float amount = detail::pick(setup, cifar, imagenet, level);
    auto y = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float u = rng.uniform(), v = rng.uniform();
        y.data()[i] = u < amount ? (v < 0.5f ? 255.0f : 0.0f) : detail::clip255(x.data()[i]);
    }
    return y;
}

/// speckle_noise (validation): y = clip(x + x·c·n), n ~ N(0, 1) per element.
/// c: CIFAR-10-C .06 .1 .12 .16 .2; ImageNet-C .15 .2 .35 .45 .6.
inline xt::xtensor<float, 3> speckle_noise(const xt::xtensor<float, 3>& x, int severity, zoa::rng& rng,
                                           const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "speckle_noise");
    static constexpr std::array<float, 5> cifar{.06f, .1f, .12f, .16f, .2f}, imagenet{.15f, .2f, .35f, .45f, .6f};
    const float c = detail::pick(setup, cifar, imagenet, level);
    auto y = detail::make(detail::rows(x), detail::cols(x), detail::chans(x));
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float v = x.data()[i];
        y.data()[i] = detail::clip255(v + v * c * rng.normal());
    }
    return y;
}

}  // namespace zoa::data::corruptions
