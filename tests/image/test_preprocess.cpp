// zoa — tests for resize / center crop / normalization / batches against torchvision (zoa/io/preprocess.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/core/execution.hpp"
#include "zoa/io/preprocess.hpp"
#include "../error_of.hpp"

using zoa::data::image;

namespace {

const nlohmann::json& golden() {
    static const nlohmann::json j = [] {
        std::ifstream f(std::string(ZOA_FIXTURES_DIR) + "/images/resize_golden.json");
        REQUIRE(f.good());
        return nlohmann::json::parse(f);
    }();
    return j;
}

image image_of(const nlohmann::json& c) {
    const auto shape = c["shape"].get<std::vector<std::size_t>>();
    const auto px = c["input"].get<std::vector<float>>();
    image img(std::array<std::size_t, 3>{shape[0], shape[1], shape[2]});
    REQUIRE(px.size() == img.size());
    std::copy(px.begin(), px.end(), img.begin());
    return img;
}

float max_abs_diff(const float* a, const std::vector<float>& b) {
    float worst = 0.0f;
    for (std::size_t i = 0; i < b.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst;
}

using zoa_test::error_of;

}  // namespace

TEST_CASE("resize matches torch interpolate (nearest, bilinear, bicubic; up, down, one axis)") {
    for (const auto& c : golden()["resize"]) {
        const auto out = c["out"].get<std::vector<std::size_t>>();
        const auto mode = zoa::io::parse_interpolation(c["mode"].get<std::string>());
        CAPTURE(c["mode"].get<std::string>());
        CAPTURE(c["shape"].dump());
        CAPTURE(c["out"].dump());
        const image r = zoa::io::resize(image_of(c), out[0], out[1], mode);
        const auto expected = c["expected"].get<std::vector<float>>();
        REQUIRE(r.size() == expected.size());
        CHECK(r.shape()[0] == out[0]);
        CHECK(r.shape()[1] == out[1]);
        CHECK(max_abs_diff(r.data(), expected) <= 1e-3f);  // values in [0, 255]: ~4e-6 relative
    }
}

TEST_CASE("resize to the same size is an exact copy") {
    const image img = image_of(golden()["resize"][0]);
    for (auto m : {zoa::io::interpolation_mode::nearest, zoa::io::interpolation_mode::bilinear,
                   zoa::io::interpolation_mode::bicubic})
        CHECK(zoa::io::resize(img, img.shape()[0], img.shape()[1], m) == img);
    CHECK_THROWS_AS(zoa::io::resize(img, 0, 3), zoa::error);
}

TEST_CASE("shorter-side sizes and center crops follow torchvision") {
    for (const auto& c : golden()["shorter_side"]) {
        const auto in = c["in"].get<std::vector<std::size_t>>();
        const auto out = c["out"].get<std::vector<std::size_t>>();
        CAPTURE(c.dump());
        const auto hw = zoa::io::shorter_side_size(in[0], in[1], c["size"].get<std::size_t>());
        CHECK(hw[0] == out[0]);
        CHECK(hw[1] == out[1]);
    }
    for (const auto& c : golden()["center_crop"]) {
        const auto crop = c["crop"].get<std::vector<std::size_t>>();
        CAPTURE(c["shape"].dump());
        CAPTURE(c["crop"].dump());
        const image r = zoa::io::center_crop(image_of(c), crop[0], crop[1]);
        const auto expected = c["expected"].get<std::vector<float>>();
        REQUIRE(r.size() == expected.size());
        CHECK(max_abs_diff(r.data(), expected) == 0.0f);
    }
    CHECK(zoa::io::center_crop_offset(257, 224) == 16);  // 16.5 rounds half to even
    CHECK(zoa::io::center_crop_offset(259, 224) == 18);  // 17.5 rounds half to even
    CHECK(zoa::io::center_crop_offset(256, 224) == 16);
    CHECK(zoa::io::center_crop_offset(221, 224) == -1);  // 3 pixels of padding: 1 before, 2 after
}

TEST_CASE("preprocessing pipelines match torchvision Resize + CenterCrop + ToTensor + Normalize") {
    for (const auto& c : golden()["preprocess"]) {
        CAPTURE(c["shape"].dump());
        zoa::io::preprocess_config cfg;
        cfg.mean = c["mean"].get<std::vector<float>>();
        cfg.std_dev = c["std"].get<std::vector<float>>();
        cfg.interpolation = zoa::io::parse_interpolation(c["mode"].get<std::string>());
        cfg.resize = c["resize"].get<std::size_t>();
        cfg.crop = c["crop"].get<std::size_t>();
        cfg.channels = c["channels"].get<std::size_t>();
        const auto batch = zoa::io::make_batch({image_of(c), image_of(c)}, cfg);
        const auto expected = c["expected_chw"].get<std::vector<float>>();
        REQUIRE(batch.shape() == std::array<std::size_t, 4>{2, cfg.channels, cfg.crop, cfg.crop});
        CHECK(max_abs_diff(batch.data(), expected) <= 2e-5f);
        CHECK(max_abs_diff(batch.data() + expected.size(), expected) <= 2e-5f);
    }
}

TEST_CASE("an image already at the input size is not resampled") {
    zoa::io::preprocess_config cfg = zoa::io::preprocess_config::timm_inception(6);
    CHECK(cfg.resize == 6);  // floor(6 / 0.9)
    cfg.resize = 9;
    image img(std::array<std::size_t, 3>{6, 6, 3});
    for (std::size_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>((i * 37) % 256);
    CHECK(zoa::io::prepare_image(img, cfg) == img);
    const auto batch = zoa::io::make_batch({img}, cfg);
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t y = 0; y < 6; ++y)
            for (std::size_t x = 0; x < 6; ++x) CHECK(batch(0, c, y, x) == (img(y, x, c) / 255.0f - 0.5f) / 0.5f);
}

TEST_CASE("batches are identical with and without threads") {
    const auto& cases = golden()["resize"];
    std::vector<image> images;
    for (const auto& c : cases) images.push_back(image_of(c));
    const auto cfg = zoa::io::preprocess_config::torchvision_imagenet(8);
    CHECK(cfg.resize == 9);
    const auto seq = zoa::io::make_batch(images, cfg);
    zoa::execution_context ctx(2);
    const auto par = zoa::io::make_batch(images, cfg, &ctx);
    CHECK(seq == par);
    CHECK(seq.shape() == std::array<std::size_t, 4>{images.size(), 3, 8, 8});
}

TEST_CASE("configuration and batch errors") {
    zoa::io::preprocess_config cfg;
    cfg.channels = 2;
    CHECK(error_of([&] { cfg.validate(); }).find("channels must be 1 or 3, got 2") != std::string::npos);
    cfg.channels = 3;
    cfg.mean = {0.1f, 0.2f};
    CHECK(error_of([&] { cfg.validate(); }).find("mean has 2 values, expected 1 or 3") != std::string::npos);
    cfg.mean = {0.5f};
    cfg.std_dev = {0.0f};
    CHECK(error_of([&] { cfg.validate(); }).find("std 0 must be > 0") != std::string::npos);
    cfg.std_dev = {1.0f};
    CHECK_NOTHROW(cfg.validate());
    CHECK(error_of([&] { zoa::io::make_batch({}, cfg); }).find("no images") != std::string::npos);
    const image a(std::array<std::size_t, 3>{4, 5, 3}, 1.0f), b(std::array<std::size_t, 3>{5, 4, 3}, 1.0f);
    CHECK(error_of([&] { zoa::io::make_batch({a, b}, cfg); }).find("image 1 is 5x4 after preprocessing, image 0 is "
                                                                   "4x5") != std::string::npos);
    cfg.crop = 3;
    CHECK(zoa::io::make_batch({a, b}, cfg).shape() == std::array<std::size_t, 4>{2, 3, 3, 3});
}

TEST_CASE("parsing interpolation names and float lists") {
    CHECK(zoa::io::parse_interpolation("BICUBIC") == zoa::io::interpolation_mode::bicubic);
    CHECK(std::string(zoa::io::to_string(zoa::io::interpolation_mode::bilinear)) == "bilinear");
    CHECK(error_of([] { zoa::io::parse_interpolation("lanczos"); }).find("unknown interpolation 'lanczos'") !=
          std::string::npos);
    CHECK(zoa::io::parse_float_list("0.485,0.456, 0.406", "--mean") == std::vector<float>{0.485f, 0.456f, 0.406f});
    CHECK(zoa::io::parse_float_list("0.5", "--std") == std::vector<float>{0.5f});
    CHECK(error_of([] { zoa::io::parse_float_list("0.5,,0.5", "--std"); }).find("--std: '' in '0.5,,0.5'") !=
          std::string::npos);
    CHECK(error_of([] { zoa::io::parse_float_list("0.5x", "--mean"); }).find("'0.5x' in '0.5x' is not a number") !=
          std::string::npos);
    // out of the float range: said so (issue #16 item 17; 1e-45 used to be "not a finite number")
    CHECK(error_of([] { zoa::io::parse_float_list("1e-45", "--std"); })
              .find("'1e-45' in '1e-45' is too small for a float") != std::string::npos);
    CHECK(error_of([] { zoa::io::parse_float_list("0.5,1e39", "--std"); })
              .find("'1e39' in '0.5,1e39' is not a finite float") != std::string::npos);
    CHECK_THROWS_AS(zoa::io::parse_float_list("nan", "--mean"), zoa::error);
    CHECK_THROWS_AS(zoa::io::parse_float_list("", "--mean"), zoa::error);
}

TEST_CASE("a resize whose longer side explodes with the aspect ratio is refused") {
    // 1 × 20000 resized to shorter side 256: 256 × 5,120,000 pixels
    const zoa::data::image thin = zoa::data::make_image(1, 20000, 3);
    const auto cfg = zoa::io::preprocess_config::torchvision_imagenet(224);
    try {
        (void)zoa::io::prepare_image(thin, cfg);
        FAIL("expected an error");
    } catch (const zoa::error& e) {
        CHECK(std::string(e.what()) == "zoa: shape: prepare_image: resizing a 1x20000 image to shorter side 256 gives "
                                       "256x5120000 pixels, above the budget of 64000000 pixels");
    }
    zoa::io::preprocess_config big;
    big.crop = 5000;
    CHECK_THROWS_AS(big.validate(), zoa::error);
}
