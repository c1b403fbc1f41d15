// zoa — replays every fuzz corpus file (seeds and fixed crashes) through the fuzz entry points, compiled with g++
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "../fuzz/fuzz_entries.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files(const std::string& target) {
    const fs::path dir = fs::path(ZOA_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / target;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

template <class Entry>
void replay(const std::string& target, Entry entry) {
    const auto files = corpus_files(target);
    REQUIRE_MESSAGE(!files.empty(), "no corpus for ", target);
    for (const auto& f : files) {
        CAPTURE(f.string());
        const std::vector<std::uint8_t> bytes = zoa::data::read_file_bytes(f.string());
        // zoa::error is handled inside; anything else (a crash under the sanitizer build, an unexpected exception
        // or a zoa_fuzz::violation) fails here.
        CHECK_NOTHROW(entry(bytes.data(), bytes.size()));
    }
}

}  // namespace

TEST_CASE("fuzz corpus replay: safetensors") { replay("safetensors", zoa_fuzz::safetensors); }
TEST_CASE("fuzz corpus replay: idx_gzip") { replay("idx_gzip", zoa_fuzz::idx_gzip); }
TEST_CASE("fuzz corpus replay: image") { replay("image", zoa_fuzz::image); }
TEST_CASE("fuzz corpus replay: adapter_state") { replay("adapter_state", zoa_fuzz::adapter_state); }

TEST_CASE("fuzz entries accept the empty input and single bytes") {
    for (int b = -1; b < 256; ++b) {
        const std::uint8_t byte = static_cast<std::uint8_t>(b < 0 ? 0 : b);
        const std::size_t n = b < 0 ? 0 : 1;
        CHECK_NOTHROW(zoa_fuzz::safetensors(&byte, n));
        CHECK_NOTHROW(zoa_fuzz::idx_gzip(&byte, n));
        CHECK_NOTHROW(zoa_fuzz::image(&byte, n));
        CHECK_NOTHROW(zoa_fuzz::adapter_state(&byte, n));
    }
}

TEST_CASE("fuzz findings stay fixed: IDX extents whose product overflows although N = 0, a BMP of height 0") {
    const auto idx = zoa::data::read_file_bytes(std::string(ZOA_SOURCE_DIR) +
                                                "/tests/fuzz/corpus/idx_gzip/crash-idx-zero-count-stride-overflow");
    // [0, 4206981509, 3347112519] u8: 0 bytes of data, but xtensor's strides rows·cols overflow ptrdiff_t
    CHECK_THROWS_WITH_AS(zoa::data::parse_idx_images(idx, "x.idx"), doctest::Contains("overflow"), zoa::error);
    const auto bmp = zoa::data::read_file_bytes(std::string(ZOA_SOURCE_DIR) +
                                                "/tests/fuzz/corpus/image/crash-bmp-zero-height.bmp");
    CHECK_THROWS_WITH_AS(zoa::io::decode_image_info(bmp.data(), bmp.size(), "x.bmp"),
                         doctest::Contains("expected a positive size"), zoa::error);
}
