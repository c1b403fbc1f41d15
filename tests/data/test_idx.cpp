// zoa — tests for the IDX reader and the Fashion-MNIST loader (zoa/data/idx.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "gzip_builder.hpp"
#include "zoa/data/idx.hpp"
#include "../error_of.hpp"

using zoa_test::bytes;

namespace {

/// An IDX buffer: magic 0 0 dtype rank, big-endian dims, then `payload`.
bytes idx_buffer(std::uint8_t dtype, const std::vector<std::uint32_t>& dims, const bytes& payload) {
    bytes b{0, 0, dtype, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

bytes iota_bytes(std::size_t n) {
    bytes b(n);
    std::iota(b.begin(), b.end(), std::uint8_t{1});
    return b;
}

using zoa_test::error_of;

/// A fresh temporary directory removed at scope exit.
struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(const std::string& tag)
        : path(std::filesystem::temp_directory_path() / ("zoa_test_" + tag + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const bytes& content) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(content.data()),
                                                 static_cast<std::streamsize>(content.size()));
        return p.string();
    }
};

}  // namespace

TEST_CASE("IDX images and labels parse with big-endian extents") {
    const bytes img = idx_buffer(0x08, {2, 3, 4}, iota_bytes(24));
    const auto images = zoa::data::parse_idx_images(img, "imgs");
    REQUIRE(images.shape()[0] == 2);
    CHECK(images.shape()[1] == 3);
    CHECK(images.shape()[2] == 4);
    CHECK(images(0, 0, 0) == 1);
    CHECK(images(1, 2, 3) == 24);
    CHECK(images(1, 0, 1) == 14);
    const bytes lbl = idx_buffer(0x08, {3}, bytes{7, 0, 255});
    CHECK(zoa::data::parse_idx_labels(lbl, "lbls") == std::vector<int>{7, 0, 255});
    const bytes big = idx_buffer(0x08, {0x01000000u >> 16, 1, 1}, iota_bytes(256));  // extent 256 spans 2 bytes
    CHECK(zoa::data::parse_idx_images(big, "big").shape()[0] == 256);
    const auto h = zoa::data::parse_idx_header(big.data(), big.size(), "big");
    CHECK(h.data_offset == 16);
    CHECK(h.dims == std::vector<std::size_t>{256, 1, 1});
}

TEST_CASE("malformed IDX buffers are rejected naming the file") {
    const auto img_error = [](const bytes& b) { return error_of([&] { zoa::data::parse_idx_images(b, "x.idx"); }); };
    CHECK(img_error(bytes{0, 0}).find("x.idx: IDX file too short") != std::string::npos);
    CHECK(img_error(bytes{1, 0, 8, 3}).find("not an IDX file") != std::string::npos);
    CHECK(img_error(idx_buffer(0x07, {1, 1, 1}, {0})).find("unknown IDX element type 7") != std::string::npos);
    CHECK(img_error(bytes{0, 0, 8, 0}).find("rank is 0") != std::string::npos);
    CHECK(img_error(bytes{0, 0, 8, 3, 0, 0, 0, 1}).find("header truncated") != std::string::npos);
    CHECK(img_error(idx_buffer(0x08, {2, 3, 4}, iota_bytes(23))).find("data truncated: extents need 24 data bytes, "
                                                                      "file has 23") != std::string::npos);
    CHECK(img_error(idx_buffer(0x08, {2, 3, 4}, iota_bytes(25))).find("1 trailing bytes") != std::string::npos);
    CHECK(img_error(idx_buffer(0x0D, {1, 1, 1}, iota_bytes(4))).find("element type u8 (8), got f32") !=
          std::string::npos);
    CHECK(img_error(idx_buffer(0x08, {4, 6}, iota_bytes(24))).find("rank 3 [N, rows, cols], got rank 2") !=
          std::string::npos);
    CHECK(img_error(idx_buffer(0x08, {2, 0, 4}, {})).find("empty extent") != std::string::npos);
    CHECK(img_error(idx_buffer(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {})).find("overflow") !=
          std::string::npos);
    CHECK(error_of([] { zoa::data::parse_idx_labels(idx_buffer(0x08, {2, 1}, {1, 2}), "l.idx"); })
              .find("rank 1 [N], got rank 2") != std::string::npos);
}

TEST_CASE("IDX files are read raw or gzip-compressed and checked against each other") {
    temp_dir dir("idx");
    const bytes img = idx_buffer(0x08, {3, 2, 2}, iota_bytes(12));
    const bytes lbl = idx_buffer(0x08, {3}, bytes{2, 0, 1});
    const std::string img_raw = dir.write("img.idx", img);
    const std::string img_gz = dir.write("img.idx.gz", zoa_test::stored_gzip(img));
    const std::string lbl_gz = dir.write("lbl.idx.gz", zoa_test::stored_gzip(lbl));
    CHECK(zoa::data::read_idx_images(img_raw) == zoa::data::read_idx_images(img_gz));
    const auto ds = zoa::data::read_idx_dataset(img_gz, lbl_gz, {"a", "b", "c"});
    REQUIRE(ds.size() == 3);
    CHECK(ds.labels == std::vector<int>{2, 0, 1});
    const zoa::data::image gray = ds.get(2, 1), rgb = ds.get(2, 3);
    CHECK(gray.shape() == std::array<std::size_t, 3>{2, 2, 1});
    CHECK(rgb.shape() == std::array<std::size_t, 3>{2, 2, 3});
    CHECK(gray(1, 0, 0) == 11.0f);
    CHECK(rgb(1, 0, 0) == 11.0f);
    CHECK(rgb(1, 0, 2) == 11.0f);
    CHECK_THROWS_AS(ds.get(3), zoa::error);
    CHECK(error_of([&] { zoa::data::read_idx_dataset(img_gz, lbl_gz, {"a", "b"}); })
              .find("label 2 of item 0 is not a class index in [0, 2)") != std::string::npos);
    const std::string lbl4 = dir.write("lbl4.idx", idx_buffer(0x08, {4}, bytes{0, 0, 0, 0}));
    CHECK(error_of([&] { zoa::data::read_idx_dataset(img_raw, lbl4, {"a"}); }).find("4 labels, but") !=
          std::string::npos);
}

TEST_CASE("Fashion-MNIST paths, class names and a missing installation") {
    const auto& names = zoa::data::fashion_mnist_class_names();
    REQUIRE(names.size() == 10);
    CHECK(names.front() == "T-shirt/top");
    CHECK(names.back() == "Ankle boot");
    const char* old = std::getenv("ZOA_FASHION_MNIST_DIR");
    const bool had = old != nullptr;
    const std::string saved = had ? old : "";
    temp_dir dir("fmnist_missing");
    ::setenv("ZOA_FASHION_MNIST_DIR", dir.path.c_str(), 1);
    CHECK(zoa::data::fashion_mnist_dir() == dir.path.string());
    CHECK(zoa::data::fashion_mnist_images_path(zoa::data::fashion_mnist_split::test) ==
          (dir.path / "t10k-images-idx3-ubyte.gz").string());
    CHECK_FALSE(zoa::data::fashion_mnist_available(zoa::data::fashion_mnist_split::train));
    CHECK(error_of([] { zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train); })
              .find("install the Debian package dataset-fashion-mnist") != std::string::npos);
    ::unsetenv("ZOA_FASHION_MNIST_DIR");
    CHECK(zoa::data::fashion_mnist_dir() == zoa::data::fashion_mnist_debian_dir);
    if (had) ::setenv("ZOA_FASHION_MNIST_DIR", saved.c_str(), 1);
}

TEST_CASE("Fashion-MNIST paths join and test files as std::filesystem does (without including it in idx.hpp)") {
    namespace fs = std::filesystem;
    for (const std::string dir : {"", "d", "d/", "/a/b", "/a/b/", "/"}) {
        CAPTURE(dir);
        CHECK(zoa::data::fashion_mnist_labels_path(zoa::data::fashion_mnist_split::train, dir) ==
              (fs::path(dir) / "train-labels-idx1-ubyte.gz").string());
    }
    temp_dir dir("fmnist_regular");
    { std::ofstream(dir.path / "t10k-images-idx3-ubyte.gz") << "x"; }
    fs::create_directory(dir.path / "t10k-labels-idx1-ubyte.gz");  // a directory of that name is not the file
    CHECK_FALSE(zoa::data::fashion_mnist_available(zoa::data::fashion_mnist_split::test, dir.path.string()));
    fs::remove(dir.path / "t10k-labels-idx1-ubyte.gz");
    { std::ofstream(dir.path / "t10k-labels-idx1-ubyte.gz") << "x"; }
    CHECK(zoa::data::fashion_mnist_available(zoa::data::fashion_mnist_split::test, dir.path.string()));
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist matches the Python reference") {
    const std::string dir = zoa::data::fashion_mnist_debian_dir;
    if (!zoa::data::fashion_mnist_available(zoa::data::fashion_mnist_split::test, dir)) {
        MESSAGE("skipped: Debian package dataset-fashion-mnist is not installed (", dir, ")");
        return;
    }
    std::ifstream f(std::string(ZOA_FIXTURES_DIR) + "/data/fashion_mnist_golden.json");
    REQUIRE(f.good());
    const auto golden = nlohmann::json::parse(f);
    CHECK(golden["classes"].get<std::vector<std::string>>() == zoa::data::fashion_mnist_class_names());
    for (const auto& [split, key] : {std::pair{zoa::data::fashion_mnist_split::test, "test"},
                                     std::pair{zoa::data::fashion_mnist_split::train, "train"}}) {
        CAPTURE(key);
        const auto& g = golden[key];
        const zoa::data::idx_dataset ds = zoa::data::load_fashion_mnist(split, dir);
        const std::size_t n = g["count"].get<std::size_t>();
        REQUIRE(ds.size() == n);
        CHECK(ds.images.shape() == std::array<std::size_t, 3>{n, 28, 28});
        CHECK(std::vector<int>(ds.labels.begin(), ds.labels.begin() + 20) == g["first_labels"].get<std::vector<int>>());
        CHECK(ds.labels.back() == g["last_label"].get<int>());
        std::vector<int> hist(10, 0);
        for (int l : ds.labels) ++hist[static_cast<std::size_t>(l)];
        CHECK(hist == g["label_histogram"].get<std::vector<int>>());
        for (const auto& [index, sum] : g["pixel_sum"].items()) {
            const zoa::data::image img = ds.get(std::stoul(index), 1);
            double s = 0;
            for (float v : img) s += v;
            CHECK(s == doctest::Approx(sum.get<double>()));
        }
        std::int64_t total = 0;
        for (std::size_t i = 0; i < ds.images.size(); ++i) total += ds.images.data()[i];
        CHECK(total == g["total_pixel_sum"].get<std::int64_t>());
        const zoa::data::image rgb = ds.get(0, 3);
        CHECK(rgb(14, 14, 0) == g["pixels"]["0,14,14"].get<float>());
        CHECK(rgb(14, 14, 2) == g["pixels"]["0,14,14"].get<float>());
        CHECK(ds.get(n - 1)(20, 7, 0) == g["pixels"][std::to_string(n - 1) + ",20,7"].get<float>());
    }
}
