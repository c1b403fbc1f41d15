// zoa — tests for the corruption filters: border modes, Gaussian kernels, ImageMagick motion blur (golden)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/data/corruptions/filters.hpp"

#include <cmath>
#include <numeric>
#include <vector>

#include "golden_corruptions.inc"

namespace detail = zoa::data::corruptions::detail;

TEST_CASE("border_index implements scipy 'reflect', 'nearest' and OpenCV reflect-101") {
    using detail::border;
    // n = 4: a b c d at 0..3.
    const std::vector<std::ptrdiff_t> reflect{1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0};     // positions −2 … 8
    const std::vector<std::ptrdiff_t> nearest{0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3};
    const std::vector<std::ptrdiff_t> reflect101{2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2};
    for (std::ptrdiff_t i = -2; i <= 8; ++i) {
        CAPTURE(i);
        const auto k = static_cast<std::size_t>(i + 2);
        CHECK(detail::border_index(i, 4, border::reflect) == reflect[k]);
        CHECK(detail::border_index(i, 4, border::nearest) == nearest[k]);
        CHECK(detail::border_index(i, 4, border::reflect101) == reflect101[k]);
    }
    for (const auto b : {border::reflect, border::nearest, border::reflect101})
        for (std::ptrdiff_t i = -5; i <= 5; ++i) CHECK(detail::border_index(i, 1, b) == 0);
    // Far outside (kernels wider than the image) the reflections repeat with period 2n (2n − 2 for reflect-101).
    CHECK(detail::border_index(-9, 4, border::reflect) == detail::border_index(-1, 4, border::reflect));
    CHECK(detail::border_index(13, 4, border::reflect101) == detail::border_index(7, 4, border::reflect101));
}

TEST_CASE("gaussian_kernel has scipy's radius ⌊truncate·σ + 0.5⌋, is symmetric, sums to 1, and σ = 0 is identity") {
    for (const double sigma : {0.4, 1.0, 2.3, 6.0}) {
        const auto k = detail::gaussian_kernel(sigma, 4.0);
        CHECK(k.size() == 2 * static_cast<std::size_t>(4.0 * sigma + 0.5) + 1);
        CHECK(std::accumulate(k.begin(), k.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-6));
        for (std::size_t i = 0; i < k.size(); ++i) CHECK(k[i] == k[k.size() - 1 - i]);
        const std::size_t r = k.size() / 2;
        CHECK(k[r + 1] / k[r] == doctest::Approx(std::exp(-0.5 / (sigma * sigma))).epsilon(1e-5));
    }
    CHECK(detail::gaussian_kernel(0.0, 4.0) == std::vector<float>{1.0f});
    CHECK(detail::gaussian_kernel(2.0, 3.0).size() == 13);  // elastic_transform's truncate = 3
}

TEST_CASE("the motion-blur kernel matches MagickCore's GetMotionBlurKernel and offset table (golden)") {
    for (const auto& g : golden_motion) {
        CAPTURE(g.radius);
        CAPTURE(g.angle);
        const auto k = detail::make_motion_kernel(g.radius, g.sigma, g.angle);
        REQUIRE(k.weight.size() == static_cast<std::size_t>(g.width));
        for (std::size_t i = 0; i < k.weight.size(); ++i) {
            CHECK(k.weight[i] == doctest::Approx(g.weight[i]).epsilon(1e-6));
            CHECK(k.dx[i] == g.dx[i]);
            CHECK(k.dy[i] == g.dy[i]);
        }
    }
}

TEST_CASE("motion_blur_apply sums weight[i]·x(r + dy[i], c + dx[i]) with edge clamping (golden)") {
    detail::image3 x = detail::make(4, 5, 1);
    std::copy(std::begin(golden_motion_input), std::end(golden_motion_input), x.data());
    const auto y = detail::motion_blur_apply(x, detail::make_motion_kernel(2.0, 1.0, 45.0));
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y.data()[i] == doctest::Approx(golden_motion_output[i]).epsilon(1e-5));
}

TEST_CASE("separable and 2-D filters agree and keep constants") {
    detail::image3 x = detail::make(9, 11, 3);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 37) % 101);
    const auto k = detail::gaussian_kernel(1.3, 4.0);
    const auto sep = detail::separable_filter(x, k, k, detail::border::reflect101);
    std::vector<float> k2(k.size() * k.size());
    for (std::size_t i = 0; i < k.size(); ++i)
        for (std::size_t j = 0; j < k.size(); ++j) k2[i * k.size() + j] = k[i] * k[j];
    const auto full = detail::correlate2d(x, k2, k.size(), k.size(), detail::border::reflect101);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(sep.data()[i] == doctest::Approx(full.data()[i]).epsilon(1e-4));
    detail::image3 c = detail::make(5, 3, 1);
    std::fill(c.begin(), c.end(), 42.0f);
    for (const auto b : {detail::border::reflect, detail::border::nearest, detail::border::reflect101})
        for (const float v : detail::gaussian_filter(c, 3.0, b)) CHECK(v == doctest::Approx(42.0f).epsilon(1e-5));
    for (const float v : detail::box3(c)) CHECK(v == doctest::Approx(42.0f).epsilon(1e-5));
}
