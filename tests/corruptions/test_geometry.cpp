// zoa — tests for the corruption resampling: PIL BOX pixelate (golden from Pillow), clipped zoom, affine warp
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/data/corruptions.hpp"

#include <algorithm>
#include <cmath>

#include "golden_corruptions.inc"

namespace detail = zoa::data::corruptions::detail;
using image3 = xt::xtensor<float, 3>;

TEST_CASE("pixelate matches Pillow's resize(BOX) down and up within Pillow's uint8 rounding (golden)") {
    image3 x = image3::from_shape({28, 28, 1});
    std::copy(std::begin(golden_pixelate_input), std::end(golden_pixelate_input), x.data());
    for (int s = 1; s <= 5; ++s) {
        CAPTURE(s);
        const image3 y = zoa::data::corrupt(x, "pixelate", s, 0);
        float worst = 0.0f;
        for (std::size_t i = 0; i < y.size(); ++i)
            worst = std::max(worst, std::fabs(y.data()[i] - golden_pixelate_cifar[s - 1][i]));
        CHECK(worst <= 1.0f);
    }
}

TEST_CASE("pil_box_taps: box averages when shrinking, nearest pixel centre when enlarging") {
    const auto down = detail::pil_box_taps(6, 3);
    for (std::size_t o = 0; o < 3; ++o) {
        CHECK(down[o].first == 2 * o);
        CHECK(down[o].weight == std::vector<float>{0.5f, 0.5f});
    }
    const auto up = detail::pil_box_taps(3, 7);
    for (std::size_t o = 0; o < 7; ++o) {
        const double centre = (static_cast<double>(o) + 0.5) * 3.0 / 7.0;
        CHECK(up[o].first == static_cast<std::size_t>(centre));
        CHECK(up[o].weight == std::vector<float>{1.0f});
    }
}

TEST_CASE("clipped_zoom: factor 1 is the identity; factor 2 magnifies the centre") {
    image3 x = image3::from_shape({6, 6, 1});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
    const image3 same = detail::clipped_zoom(x, 1.0);
    CHECK(std::equal(same.begin(), same.end(), x.begin()));
    // z = 2: crop m = 3 rows/cols starting at 1, zoomed to N = 6 samples at o·(3−1)/(6−1), no trim.
    const auto taps = detail::clipped_zoom_taps(6, 2.0);
    for (std::size_t o = 0; o < 6; ++o) {
        const double pos = 1.0 + static_cast<double>(o) * 2.0 / 5.0;
        CHECK(static_cast<double>(taps[o].i0) + static_cast<double>(taps[o].f) == doctest::Approx(pos));
    }
}

TEST_CASE("affine_from_points solves getAffineTransform and warp_affine inverts it") {
    const std::array<std::array<double, 2>, 3> src{{{14, 14}, {14, 4}, {4, 4}}};
    const std::array<std::array<double, 2>, 3> dst{{{15.5, 13.0}, {13.0, 5.25}, {4.5, 3.0}}};
    const auto m = detail::affine_from_points(src, dst);
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(m[0] * src[k][0] + m[1] * src[k][1] + m[2] == doctest::Approx(dst[k][0]));
        CHECK(m[3] * src[k][0] + m[4] * src[k][1] + m[5] == doctest::Approx(dst[k][1]));
    }
    CHECK_THROWS_AS(detail::affine_from_points({{{0, 0}, {1, 1}, {2, 2}}}, dst), zoa::error);
    // A pure translation by (+1 column, 0 rows): y(r, c) = x(r, c − 1), reflect-101 at the left edge.
    image3 x = image3::from_shape({3, 4, 1});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
    const image3 y = detail::warp_affine(x, {1, 0, 1, 0, 1, 0}, detail::border::reflect101);
    for (std::size_t r = 0; r < 3; ++r) {
        CHECK(y(r, 0, 0) == x(r, 1, 0));
        for (std::size_t c = 1; c < 4; ++c) CHECK(y(r, c, 0) == x(r, c - 1, 0));
    }
}
