// zoa — tests for image decoding (zoa/io/image.hpp) and the image helpers (zoa/data/image.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/data/image.hpp"
#include "zoa/io/image.hpp"
#include "../error_of.hpp"

namespace {

const std::string decode_dir = std::string(ZOA_FIXTURES_DIR) + "/images/decode/";

const nlohmann::json& golden() {
    static const nlohmann::json j = [] {
        std::ifstream f(decode_dir + "decode.json");
        REQUIRE(f.good());
        return nlohmann::json::parse(f);
    }();
    return j;
}

using zoa_test::error_of;

/// Largest |img − PIL's pixels| over all values (a 1-channel reference is compared with every channel of a
/// 3-channel image); -1 when the shapes differ.
float max_diff_to_pil(const zoa::data::image& img, const std::string& name) {
    const auto& g = golden()[name];
    const std::size_t c = g["channels"].get<std::size_t>(), ic = img.shape()[2];
    if (img.shape()[0] != g["height"].get<std::size_t>() || img.shape()[1] != g["width"].get<std::size_t>() ||
        !(ic == c || (c == 1 && ic == 3)))
        return -1.0f;
    const auto px = g["pixels"].get<std::vector<int>>();
    float worst = 0.0f;
    for (std::size_t i = 0; i < img.size(); ++i)
        worst = std::max(worst, std::fabs(img.data()[i] - static_cast<float>(px[i / ic * c + (c == 1 ? 0 : i % ic)])));
    return worst;
}

}  // namespace

TEST_CASE("lossless formats decode exactly as PIL reads them") {
    for (const char* name : {"rgb.png", "gray.png", "rgba.png", "rgb.bmp", "gray.bmp", "gray16.png"}) {
        CAPTURE(name);
        CHECK(max_diff_to_pil(zoa::io::load_image(decode_dir + name), name) == 0.0f);
    }
    // PIL writes mode "L" as an 8-bit palette BMP; stb_image expands palettes to RGB, so it is stored as 3 channels.
    CHECK(zoa::io::load_image(decode_dir + "gray.bmp").shape()[2] == 3);
    CHECK(zoa::io::load_image(decode_dir + "gray.png").shape()[2] == 1);
}

TEST_CASE("JPEG decodes within a few levels of libjpeg (PIL)") {
    const zoa::data::image img = zoa::io::load_image(decode_dir + "smooth.jpg");
    const float diff = max_diff_to_pil(img, "smooth.jpg");
    MESSAGE("max |stb_image - PIL| on smooth.jpg: ", diff);
    CHECK(diff >= 0.0f);
    CHECK(diff <= 4.0f);
    CHECK(zoa::io::load_image(decode_dir + "uppercase.JPG") == img);  // the content decides, not the extension
    const float prog = max_diff_to_pil(zoa::io::load_image(decode_dir + "progressive.jpg"), "progressive.jpg");
    MESSAGE("max |stb_image - PIL| on progressive.jpg: ", prog);
    CHECK(prog >= 0.0f);
    CHECK(prog <= 4.0f);
}

TEST_CASE("a JPEG Huffman table with more than 256 codes is rejected before stb_image reads it") {
    const std::string msg = error_of([] { zoa::io::load_image(decode_dir + "bad_dht.jpg"); });
    CHECK(msg.find("bad_dht.jpg: cannot decode image: Corrupt JPEG (a Huffman table declares 320 codes") !=
          std::string::npos);
    CHECK_THROWS_AS(zoa::io::load_image_info(decode_dir + "bad_dht.jpg"), zoa::error);
}

TEST_CASE("channel conversion on load") {
    const zoa::data::image gray = zoa::io::load_image(decode_dir + "gray.png");
    const zoa::data::image gray3 = zoa::io::load_image(decode_dir + "gray.png", 3);
    REQUIRE(gray3.shape() == std::array<std::size_t, 3>{gray.shape()[0], gray.shape()[1], 3});
    for (std::size_t y = 0; y < gray.shape()[0]; ++y)
        for (std::size_t x = 0; x < gray.shape()[1]; ++x)
            for (std::size_t c = 0; c < 3; ++c) CHECK(gray3(y, x, c) == gray(y, x, 0));
    CHECK(zoa::io::load_image(decode_dir + "gray.png", 1) == gray);
    const zoa::data::image luma = zoa::io::load_image(decode_dir + "rgb.png", 1);
    const auto expected = golden()["rgb.png:gray"]["pixels"].get<std::vector<float>>();
    REQUIRE(luma.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(luma.data()[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    CHECK(zoa::io::load_image(decode_dir + "rgba.png", 0).shape()[2] == 3);
}

TEST_CASE("image headers are read without decoding") {
    const zoa::io::image_info rgba = zoa::io::load_image_info(decode_dir + "rgba.png");
    CHECK(rgba.width == 6);
    CHECK(rgba.height == 5);
    CHECK(rgba.channels == 4);
    CHECK(zoa::io::load_image_info(decode_dir + "gray.png").channels == 1);
    CHECK(zoa::io::load_image_info(decode_dir + "gray.bmp").channels == 3);  // palette BMP
}

TEST_CASE("decode failures name the file and stb_image's reason") {
    const std::string trunc = error_of([] { zoa::io::load_image(decode_dir + "truncated.png"); });
    CHECK(trunc.rfind("zoa: format: ", 0) == 0);
    CHECK(trunc.find("truncated.png: cannot decode image") != std::string::npos);
    MESSAGE("truncated PNG: ", trunc);
    const std::string text = error_of([] { zoa::io::load_image(decode_dir + "not_an_image.png"); });
    CHECK(text.find("not_an_image.png: cannot decode image (PNG, JPEG or BMP expected): unknown image type") !=
          std::string::npos);
    CHECK(error_of([] { zoa::io::load_image(decode_dir + "empty.png"); }).find("empty.png: cannot decode image: the "
                                                                              "file is empty") != std::string::npos);
    const std::string missing = error_of([] { zoa::io::load_image(decode_dir + "missing.png"); });
    CHECK(missing.rfind("zoa: io: ", 0) == 0);
    CHECK(missing.find("missing.png") != std::string::npos);
    CHECK(error_of([] { zoa::io::load_image(decode_dir + "rgb.png", 2); }).find("must be 0 (as stored), 1 or 3") !=
          std::string::npos);
    const std::vector<std::uint8_t> junk{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
    CHECK(error_of([&] { zoa::io::decode_image(junk, "memory"); }).find("memory: cannot decode image") !=
          std::string::npos);
}

TEST_CASE("image file names zoa decodes") {
    CHECK(zoa::io::is_image_file_name("a/b.png"));
    CHECK(zoa::io::is_image_file_name("B.JPEG"));
    CHECK(zoa::io::is_image_file_name("c.Jpg"));
    CHECK(zoa::io::is_image_file_name("d.bmp"));
    CHECK_FALSE(zoa::io::is_image_file_name("e.gif"));
    CHECK_FALSE(zoa::io::is_image_file_name("png"));
    CHECK_FALSE(zoa::io::is_image_file_name("f.png.txt"));
    // std::filesystem::path::extension's rules: a leading dot starts a name, not an extension
    CHECK_FALSE(zoa::io::is_image_file_name(".png"));
    CHECK_FALSE(zoa::io::is_image_file_name("dir/.jpg"));
    CHECK_FALSE(zoa::io::is_image_file_name("dir.png/file"));
    CHECK(zoa::io::is_image_file_name("dir.d/..png"));
    CHECK(zoa::io::is_image_file_name(std::filesystem::path("x") / "y.BMP"));
}

TEST_CASE("data::image helpers") {
    CHECK_THROWS_AS(zoa::data::make_image(0, 3, 3), zoa::error);
    CHECK_THROWS_AS(zoa::data::make_image(2, 3, 2), zoa::error);
    const std::uint8_t px[] = {0, 10, 20, 30, 40, 50};
    const zoa::data::image rgb = zoa::data::image_from_u8(px, 1, 2, 3);
    CHECK(rgb(0, 1, 2) == 50.0f);
    const zoa::data::image g = zoa::data::to_channels(rgb, 1);
    CHECK(g(0, 0, 0) == doctest::Approx(0.2989f * 0 + 0.587f * 10 + 0.114f * 20));
    CHECK(zoa::data::to_channels(g, 3)(0, 1, 1) == g(0, 1, 0));
    zoa::data::image wild = zoa::data::make_image(1, 3, 1);
    wild(0, 0, 0) = -4.0f;
    wild(0, 1, 0) = 300.0f;
    wild(0, 2, 0) = std::nanf("");
    zoa::data::clamp_pixels(wild);
    CHECK(wild(0, 0, 0) == 0.0f);
    CHECK(wild(0, 1, 0) == 255.0f);
    CHECK(wild(0, 2, 0) == 0.0f);
    const zoa::data::image two(std::array<std::size_t, 3>{2, 2, 2});
    CHECK(error_of([&] { zoa::data::check_image(two, "x"); }).find("x: expected 1 or 3 channels, got 2") !=
          std::string::npos);
}

namespace {
/// A PNG holding only a signature, an IHDR declaring width × height RGB 8-bit, an empty IDAT and IEND (valid CRCs):
/// what a tiny hostile file claiming a huge image looks like to the header reader.
std::vector<std::uint8_t> png_header_only(std::uint32_t width, std::uint32_t height) {
    std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    const auto chunk = [&](const char* type, const std::vector<std::uint8_t>& data) {
        const auto be32 = [&](std::uint32_t v) {
            for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
        };
        be32(static_cast<std::uint32_t>(data.size()));
        std::vector<std::uint8_t> td(type, type + 4);
        td.insert(td.end(), data.begin(), data.end());
        out.insert(out.end(), td.begin(), td.end());
        be32(zoa::data::crc32(td.data(), td.size()));
    };
    std::vector<std::uint8_t> ihdr;
    for (std::uint32_t v : {width, height})
        for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<std::uint8_t>(v >> s));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, filter 0, no interlace
    chunk("IHDR", ihdr);
    chunk("IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
    chunk("IEND", {});
    return out;
}
}  // namespace

TEST_CASE("the pixel budget is checked on the header, before any pixel buffer is allocated") {
    // 16384 × 16384 RGB: 805 MB of 8-bit pixels and 3.2 GB as float, declared by a 60-byte file
    const auto huge = png_header_only(16384, 16384);
    const auto info = zoa::io::decode_image_info(huge.data(), huge.size(), "huge.png");
    CHECK(info.width == 16384);
    const std::string e = error_of([&] { (void)zoa::io::decode_image(huge, "huge.png"); });
    CHECK(e == "zoa: format: huge.png: image is 16384x16384 pixels (268.4 Mpx), above the pixel budget of 64.0 Mpx "
               "(decode_limits::max_pixels)");
    // a side over stb_image's 16384-px limit is named as such (stb_image's own reason was "unknown image type"),
    // whatever the pixel budget (issue #16 item 17)
    const auto wide = png_header_only(16385, 8);
    zoa::io::decode_limits unlimited;
    unlimited.max_pixels = 0;
    for (const std::string& m : {error_of([&] { (void)zoa::io::decode_image_info(wide.data(), wide.size(), "w.png"); }),
                                 error_of([&] { (void)zoa::io::decode_image(wide, "w.png", 0, unlimited); })})
        CHECK(m == "zoa: format: w.png: image is 16385x8 pixels: a side exceeds the decoder's 16384-px limit");
    // a smaller budget refuses a smaller image; 0 turns the check off (stb_image then fails on the empty IDAT)
    zoa::io::decode_limits small;
    small.max_pixels = 1000;
    const auto img = png_header_only(40, 30);
    CHECK(error_of([&] { (void)zoa::io::decode_image(img, "a.png", 0, small); }).find("40x30 pixels") !=
          std::string::npos);
    zoa::io::decode_limits none;
    none.max_pixels = 0;
    CHECK(error_of([&] { (void)zoa::io::decode_image(img, "a.png", 0, none); }).find("pixel budget") ==
          std::string::npos);
    // a real image within the budget decodes as before
    CHECK_NOTHROW((void)zoa::io::load_image(decode_dir + "rgb.png", 3, small));
}

TEST_CASE("a file above the size cap is refused before it is read") {
    zoa::io::decode_limits cap;
    cap.max_file_bytes = 16;
    const std::string path = decode_dir + "rgb.png";
    const std::string e = error_of([&] { (void)zoa::io::load_image(path, 0, cap); });
    CHECK(e.find(path + ": image file is ") != std::string::npos);
    CHECK(e.find("bytes, above the size cap of 16 bytes (decode_limits::max_file_bytes)") != std::string::npos);
}
