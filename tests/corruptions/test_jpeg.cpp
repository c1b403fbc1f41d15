// zoa — jpeg_compression: stb coexists with zoa/io/image.hpp in one TU, and the round trip is a real JPEG codec
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

// Deliberately included first: jpeg.hpp must then reuse io/image.hpp's stb_image instead of compiling a second one.
#include "zoa/io/image.hpp"
#include "zoa/data/corruptions.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace detail = zoa::data::corruptions::detail;
using image3 = xt::xtensor<float, 3>;

namespace {

image3 pattern(std::size_t h, std::size_t w, std::size_t c) {
    image3 x = image3::from_shape({h, w, c});
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < w; ++q)
            for (std::size_t k = 0; k < c; ++k)
                x(r, q, k) = static_cast<float>(
                    128.0 + 100.0 * std::sin(0.7 * static_cast<double>(r) + 0.3 * static_cast<double>(q * (k + 1))));
    return x;
}

}  // namespace

TEST_CASE("jpeg_roundtrip writes a JPEG and decodes it to exactly the pixels zoa::io::decode_image gives") {
    for (const std::size_t c : {std::size_t{1}, std::size_t{3}}) {
        const image3 x = pattern(28, 20, c);
        std::vector<unsigned char> bytes(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) bytes[i] = static_cast<unsigned char>(std::lround(x.data()[i]));
        std::vector<unsigned char> encoded;
        REQUIRE(stbi_write_jpg_to_func(detail::append_bytes, &encoded, 20, 28, static_cast<int>(c), bytes.data(), 50) !=
                0);
        REQUIRE(encoded.size() > 2);
        CHECK(encoded[0] == 0xFF);  // SOI marker
        CHECK(encoded[1] == 0xD8);
        const std::vector<std::uint8_t> file(encoded.begin(), encoded.end());
        // stb writes gray as a 3-component YCbCr JPEG: both decode RGB, and 1 channel is its luma (to_channels).
        const auto decoded = zoa::io::decode_image(file, "roundtrip.jpg", c);
        const image3 direct = detail::decode_own_jpeg(encoded, c);  // stb's JPEG loader without format detection
        const image3 ours = detail::jpeg_roundtrip(x, 50);
        REQUIRE(decoded.shape() == ours.shape());
        REQUIRE(direct.shape() == ours.shape());
        CHECK(std::equal(decoded.begin(), decoded.end(), ours.begin()));
        CHECK(std::equal(decoded.begin(), decoded.end(), direct.begin()));
    }
}

TEST_CASE("higher JPEG quality is closer to the input") {
    const image3 x = pattern(32, 32, 3);
    auto err = [&](int q) {
        const image3 y = detail::jpeg_roundtrip(x, q);
        double d = 0.0;
        for (std::size_t i = 0; i < y.size(); ++i) d += std::fabs(static_cast<double>(y.data()[i] - x.data()[i]));
        return d / static_cast<double>(y.size());
    };
    CHECK(err(95) < err(50));
    CHECK(err(50) < err(10));
}
