// zoa — tests for preprocess_config <-> "zoa.preprocess" JSON (zoa/io/preprocess_metadata.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <string>

#include "zoa/io/preprocess_metadata.hpp"
#include "../error_of.hpp"

namespace {
using zoa_test::error_of;
}  // namespace

TEST_CASE("the Fashion-MNIST demo models' metadata (tools/reference/train_fmnist.py)") {
    const std::string text = R"({"channels": "gray_to_rgb", "crop_pct": 1.0, "input_size": [3, 28, 28],
        "interpolation": "none", "mean": [0.5, 0.5, 0.5], "pixel_scale": "x/255", "std": [0.5, 0.5, 0.5]})";
    const auto cfg = zoa::io::preprocess_from_json(text, "fmnist_vit.safetensors");
    CHECK(cfg.channels == 3);
    CHECK(cfg.crop == 28);
    CHECK(cfg.resize == 0);
    CHECK(cfg.mean == std::vector<float>{0.5f, 0.5f, 0.5f});
    CHECK(cfg.std_dev == std::vector<float>{0.5f, 0.5f, 0.5f});
}

TEST_CASE("timm-style metadata: crop_pct gives the resize") {
    const auto cfg = zoa::io::preprocess_from_json(
        R"({"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.9, "mean": [0.5], "std": [0.5]})",
        "vit.safetensors");
    CHECK(cfg.resize == 248);
    CHECK(cfg.crop == 224);
    CHECK(cfg.interpolation == zoa::io::interpolation_mode::bicubic);
}

TEST_CASE("round trip and fallback") {
    for (const auto& cfg : {zoa::io::preprocess_config::torchvision_imagenet(), zoa::io::preprocess_config::timm_inception(),
                            zoa::io::preprocess_config{{0.2f}, {0.3f}, zoa::io::interpolation_mode::nearest, 0, 0, 1}}) {
        const auto back = zoa::io::preprocess_from_json(zoa::io::preprocess_to_json(cfg), "rt");
        CHECK(back.mean == cfg.mean);
        CHECK(back.std_dev == cfg.std_dev);
        CHECK(back.interpolation == cfg.interpolation);
        CHECK(back.resize == cfg.resize);
        CHECK(back.crop == cfg.crop);
        CHECK(back.channels == cfg.channels);
    }
    const auto fb = zoa::io::preprocess_config::torchvision_imagenet();
    const auto cfg = zoa::io::preprocess_from_json(R"({"mean": [0.1, 0.2, 0.3]})", "partial", fb);
    CHECK(cfg.mean == std::vector<float>{0.1f, 0.2f, 0.3f});
    CHECK(cfg.std_dev == fb.std_dev);
    CHECK(cfg.resize == 256);
}

TEST_CASE("invalid preprocessing metadata is rejected naming the file and key") {
    const auto err = [](const std::string& t) { return error_of([&] { zoa::io::preprocess_from_json(t, "m.st"); }); };
    CHECK(err("{").find("m.st: zoa.preprocess is not valid JSON") != std::string::npos);
    CHECK(err("[1]").find("must be a JSON object") != std::string::npos);
    CHECK(err(R"({"mean": "0.5"})").find("zoa.preprocess.mean must be a non-empty number array") != std::string::npos);
    CHECK(err(R"({"std": [0.5, "x"]})").find("zoa.preprocess.std must hold numbers") != std::string::npos);
    CHECK(err(R"({"input_size": [3, 28, 27]})").find("must be square") != std::string::npos);
    CHECK(err(R"({"input_size": [3, 28]})").find("must be [C, H, W]") != std::string::npos);
    CHECK(err(R"({"input_size": [3, 28, 28], "crop_pct": 1.5})").find("crop_pct must be in (0, 1]") !=
          std::string::npos);
    CHECK(err(R"({"pixel_scale": "x/127.5-1"})").find("pixel_scale must be \"x/255\"") != std::string::npos);
    CHECK(err(R"({"interpolation": "lanczos"})").find("m.st: zoa.preprocess.interpolation: unknown interpolation 'lanczos'") != std::string::npos);
    CHECK(err(R"({"resize": -3})").find("resize must be a non-negative integer") != std::string::npos);
    CHECK(err(R"({"std": [0]})").find("std 0 must be > 0") != std::string::npos);
    CHECK(err(R"({"input_size": [2, 8, 8]})").find("channels must be 1 or 3, got 2") != std::string::npos);
}

TEST_CASE("zoa.preprocess sizes are bounded (a hostile file cannot make every image gigabytes)") {
    CHECK(error_of([] { zoa::io::preprocess_from_json(R"({"input_size": [3, 100000, 100000]})", "m.safetensors"); }) ==
          "zoa: format: m.safetensors: zoa.preprocess.input_size is [3,100000,100000], expected sides of at most 4096");
    CHECK(error_of([] { zoa::io::preprocess_from_json(R"({"resize": 5000000})", "m.safetensors"); }) ==
          "zoa: format: m.safetensors: zoa.preprocess.resize is 5000000, expected at most 4096");
    CHECK(error_of([] { zoa::io::preprocess_from_json(R"({"crop": 9000})", "m.safetensors"); })
              .find("zoa.preprocess.crop is 9000") != std::string::npos);
    CHECK(error_of([] {
              zoa::io::preprocess_from_json(R"({"input_size": [3, 224, 224], "crop_pct": 1e-6})", "m.safetensors");
          }).find("zoa.preprocess.crop_pct 1e-06 resizes to") != std::string::npos);
    CHECK_NOTHROW(zoa::io::preprocess_from_json(R"({"input_size": [3, 4096, 4096]})", "m.safetensors"));
}
