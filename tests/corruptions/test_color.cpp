// zoa — golden tests for the HSV/tone corruptions (brightness, contrast, saturate) on a 2×2 image
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/data/corruptions.hpp"

#include <algorithm>
#include <string>

#include "golden_corruptions.inc"

namespace {

using image3 = xt::xtensor<float, 3>;

image3 small_image() {
    image3 x = image3::from_shape({2, 2, 3});
    std::copy(std::begin(golden_small_image), std::end(golden_small_image), x.data());
    return x;
}

void check_table(const std::string& name, const float (&expected)[5][12], zoa::data::corruption_table table) {
    zoa::data::corruption_options o;
    o.table = table;
    for (int s = 1; s <= 5; ++s) {
        CAPTURE(name);
        CAPTURE(s);
        const image3 y = zoa::data::corrupt(small_image(), name, s, 0, o);
        for (std::size_t i = 0; i < 12; ++i) {
            CAPTURE(i);
            CHECK(y.data()[i] == doctest::Approx(expected[s - 1][i]).epsilon(1e-5).scale(255.0));
        }
    }
}

}  // namespace

TEST_CASE("brightness, contrast and saturate match the upstream formulas (skimage HSV) on a 2×2 image") {
    using zoa::data::corruption_table;
    check_table("brightness", golden_brightness_cifar, corruption_table::cifar10);
    check_table("contrast", golden_contrast_cifar, corruption_table::cifar10);
    check_table("saturate", golden_saturate_cifar, corruption_table::cifar10);
    check_table("brightness", golden_brightness_imagenet, corruption_table::imagenet);
    check_table("contrast", golden_contrast_imagenet, corruption_table::imagenet);
    check_table("saturate", golden_saturate_imagenet, corruption_table::imagenet);
    // A 2×2 image is small, so the automatic choice is the CIFAR-10-C table.
    const image3 y = zoa::data::corrupt(small_image(), "contrast", 3, 0);
    CHECK(y.data()[0] == doctest::Approx(golden_contrast_cifar[2][0]));
}

TEST_CASE("rgb_to_hsv and hsv_to_rgb are inverse and follow skimage's conventions") {
    namespace d = zoa::data::corruptions::detail;
    for (const auto& rgb : {std::array<double, 3>{0.2, 0.7, 0.1}, std::array<double, 3>{0.9, 0.9, 0.3},
                            std::array<double, 3>{0.0, 0.0, 0.0}, std::array<double, 3>{0.5, 0.1, 0.8},
                            std::array<double, 3>{1.0, 0.0, 0.0}, std::array<double, 3>{0.3, 0.3, 0.3}}) {
        const auto hsv = d::rgb_to_hsv(rgb[0], rgb[1], rgb[2]);
        CHECK(hsv[0] >= 0.0);
        CHECK(hsv[0] < 1.0);
        const auto back = d::hsv_to_rgb(hsv[0], hsv[1], hsv[2]);
        for (std::size_t k = 0; k < 3; ++k) CHECK(back[k] == doctest::Approx(rgb[k]).epsilon(1e-12));
    }
    const auto gray = d::rgb_to_hsv(0.3, 0.3, 0.3);
    CHECK(gray[0] == 0.0);
    CHECK(gray[1] == 0.0);
}

TEST_CASE("a 1-channel image is processed as gray RGB and returned as its luma") {
    image3 g = image3::from_shape({1, 2, 1});
    g(0, 0, 0) = 40.0f;
    g(0, 1, 0) = 200.0f;
    image3 rgb = image3::from_shape({1, 2, 3});
    for (std::size_t k = 0; k < 3; ++k) {
        rgb(0, 0, k) = 40.0f;
        rgb(0, 1, k) = 200.0f;
    }
    for (const std::string name : {"brightness", "saturate"})
        for (int s = 1; s <= 5; ++s) {
            const image3 a = zoa::data::corrupt(g, name, s, 0), b = zoa::data::corrupt(rgb, name, s, 0);
            for (std::size_t q = 0; q < 2; ++q)
                CHECK(a(0, q, 0) == doctest::Approx(0.299f * b(0, q, 0) + 0.587f * b(0, q, 1) + 0.114f * b(0, q, 2)));
        }
}
