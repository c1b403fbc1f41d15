// zoa — tests for the class-folder dataset and stream (zoa/data/image_folder.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "zoa/core/execution.hpp"
#include "zoa/data/image_folder.hpp"
#include "temp_dir.hpp"
#include "../error_of.hpp"

namespace fs = std::filesystem;

namespace {

const std::string images_dir = std::string(ZOA_FIXTURES_DIR) + "/images/";
const std::string folder = images_dir + "folder";

nlohmann::json folder_golden() {
    std::ifstream f(images_dir + "folder_order.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
}

std::string relative(const std::string& path) { return fs::relative(path, folder).generic_string(); }

using zoa_test::error_of;

using zoa_test::temp_dir;

}  // namespace

TEST_CASE("image_folder lists classes and files in torchvision ImageFolder order") {
    const auto golden = folder_golden();
    const zoa::data::image_folder ds(folder);
    CHECK(ds.classes() == golden["classes"].get<std::vector<std::string>>());
    const auto& expected = golden["samples"];
    REQUIRE(ds.size() == expected.size());
    for (std::size_t i = 0; i < ds.size(); ++i) {
        CAPTURE(i);
        CHECK(relative(ds.samples()[i].path) == expected[i]["path"].get<std::string>());
        CHECK(ds.samples()[i].label == expected[i]["label"].get<int>());
        const zoa::data::image img = ds.load(i);
        CHECK(img.shape() == std::array<std::size_t, 3>{3, 4, 3});
        CHECK(img(1, 2, 0) == expected[i]["red"].get<float>());  // the pixel value encodes (class, file)
        CHECK(img(0, 0, 1) == 255.0f - expected[i]["red"].get<float>());
    }
    CHECK_THROWS_AS(ds.load(ds.size()), zoa::error);
}

TEST_CASE("image_folder loads gray when asked and in parallel identically") {
    zoa::data::image_folder_options opt;
    opt.channels = 1;
    const zoa::data::image_folder gray(folder, opt);
    CHECK(gray.load(0).shape()[2] == 1);
    const zoa::data::image_folder ds(folder);
    zoa::execution_context ctx(2);
    const auto seq = ds.load_range(1, 10);
    const auto par = ds.load_range(1, 10, &ctx);
    REQUIRE(seq.images.size() == ds.size() - 1);
    CHECK(seq.labels == par.labels);
    for (std::size_t i = 0; i < seq.images.size(); ++i) CHECK(seq.images[i] == par.images[i]);
    CHECK(ds.load_range(ds.size(), 4).images.empty());
    CHECK_THROWS_AS(ds.load_range(ds.size() + 1, 1), zoa::error);
}

TEST_CASE("shuffling is a seeded permutation; limit keeps a prefix") {
    const zoa::data::image_folder sorted(folder);
    zoa::data::image_folder_options opt;
    opt.shuffle = true;
    opt.seed = 2020;
    const zoa::data::image_folder a(folder, opt), b(folder, opt);
    opt.seed = 7;
    const zoa::data::image_folder c(folder, opt);
    const auto paths = [](const zoa::data::image_folder& f) {
        std::vector<std::string> p;
        for (const auto& s : f.samples()) p.push_back(s.path + "#" + std::to_string(s.label));
        return p;
    };
    CHECK(paths(a) == paths(b));
    CHECK(paths(a) != paths(c));
    CHECK(paths(a) != paths(sorted));
    auto pa = paths(a), ps = paths(sorted);
    std::sort(pa.begin(), pa.end());
    std::sort(ps.begin(), ps.end());
    CHECK(pa == ps);
    opt.limit = 3;
    const zoa::data::image_folder limited(folder, opt);
    REQUIRE(limited.size() == 3);
    const auto pl = paths(limited), pc = paths(c);
    CHECK(std::equal(pl.begin(), pl.end(), pc.begin()));
}

TEST_CASE("image_folder_stream yields consecutive batches") {
    const zoa::data::image_folder ds(folder);
    zoa::data::image_folder_stream stream(ds, 3);
    zoa::data::labeled_images batch;
    std::vector<std::size_t> sizes;
    std::vector<int> labels;
    while (stream.next(batch)) {
        sizes.push_back(batch.images.size());
        labels.insert(labels.end(), batch.labels.begin(), batch.labels.end());
    }
    CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
    CHECK(stream.position() == ds.size());
    std::vector<int> expected;
    for (const auto& s : ds.samples()) expected.push_back(s.label);
    CHECK(labels == expected);
    stream.reset();
    REQUIRE(stream.next(batch));
    CHECK(batch.labels == std::vector<int>(expected.begin(), expected.begin() + 3));
    CHECK_THROWS_AS(zoa::data::image_folder_stream(ds, 0), zoa::error);
}

TEST_CASE("bad folders are rejected with a message") {
    CHECK(error_of([] { zoa::data::image_folder(folder + "/ant/img1.PNG"); }).find("is not a directory") !=
          std::string::npos);
    CHECK(error_of([] { zoa::data::image_folder(folder + "/missing"); }).find("is not a directory") !=
          std::string::npos);
    temp_dir dir("image_folder");
    CHECK(error_of([&] { zoa::data::image_folder(dir.path.string()); }).find("no class subdirectories") !=
          std::string::npos);
    fs::create_directories(dir.path / "cat");
    fs::create_directories(dir.path / "dog");
    fs::copy_file(folder + "/bee/a.png", dir.path / "cat" / "x.png");
    std::ofstream(dir.path / "dog" / "notes.txt") << "no images here\n";
    CHECK(error_of([&] { zoa::data::image_folder(dir.path.string()); }).find("class 'dog' has no image files") !=
          std::string::npos);
    std::ofstream(dir.path / "dog" / "broken.jpg") << "not a jpeg";
    const zoa::data::image_folder ds(dir.path.string());
    REQUIRE(ds.size() == 2);
    CHECK(ds.load(0).shape()[0] == 3);
    const std::string msg = error_of([&] { ds.load(1); });
    CHECK(msg.find("broken.jpg: cannot decode image") != std::string::npos);
    zoa::data::image_folder_options opt;
    opt.channels = 2;
    CHECK_THROWS_AS(zoa::data::image_folder(folder, opt), zoa::error);
}
