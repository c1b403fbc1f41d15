// zoa — image files: PNG / JPEG / BMP decoding with stb_image compiled privately (static) into the including TU
// SPDX-License-Identifier: MIT
#pragma once

// stb_image is compiled inside this header with STB_IMAGE_STATIC: every function is `static`, so each translation
// unit gets a private copy, nothing is exported, several TUs link together, and no shared library is needed
// (Debian's libstb.so is NOT linked). Only PNG, JPEG and BMP are compiled in; file I/O and HDR/float paths are
// left out (zoa reads files itself and decodes from memory).
//
// Opting out: define ZOA_STB_IMAGE_EXTERNAL before including this header (or include <stb_image.h> before it) when
// your program already compiles stb_image (STB_IMAGE_IMPLEMENTATION in one of your TUs) or links libstb; zoa then
// only includes the declarations and calls stbi_load_from_memory / stbi_info_from_memory / stbi_failure_reason.
// Do not include stb_image.h with STB_IMAGE_IMPLEMENTATION *after* this header in the same TU.
// stb's own guard (STBI_INCLUDE_STB_IMAGE_H) or ZOA_STB_IMAGE_INCLUDED (defined below) means stb_image is already
// in this TU (zoa/data/corruptions/jpeg.hpp includes this header and uses its stb_image).
#include "zoa/io/detail/stb_warnings.hpp"

#if defined(ZOA_STB_IMAGE_EXTERNAL) || defined(STBI_INCLUDE_STB_IMAGE_H) || defined(ZOA_STB_IMAGE_INCLUDED)
#if !defined(STBI_INCLUDE_STB_IMAGE_H)
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>
#endif
#endif
#else
#define ZOA_STB_IMAGE_INCLUDED
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#ifndef STBI_MAX_DIMENSIONS
#define STBI_MAX_DIMENSIONS (1 << 14)  // 16384 px per side bounds the decode memory of a hostile header
#endif
#ifndef STBI_ASSERT
#define STBI_ASSERT(x) ((void)0)  // stb 2.27 asserts on some corrupt JPEGs; bad input must not abort debug builds
#endif
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_NO_GIF
#define STBI_NO_PSD
#define STBI_NO_TGA
#define STBI_NO_PIC
#define STBI_NO_PNM
ZOA_DETAIL_STB_WARNINGS_BEGIN
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>
#endif
ZOA_DETAIL_STB_WARNINGS_END
#undef STB_IMAGE_IMPLEMENTATION
#endif

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "zoa/core/error.hpp"
#include "zoa/data/image.hpp"
#include "zoa/data/inflate.hpp"
#include "zoa/io/image_precheck.hpp"

namespace zoa::io {

/// zoa::io::image is zoa::data::image (8-bit interleaved pixels, data/image.hpp).
using data::image;

/// Size and stored channel count of an encoded image, read from its header only.
struct image_info {
    std::size_t width = 0, height = 0;  ///< pixels
    std::size_t channels = 0;           ///< as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

/// What a decode may cost, checked before anything large is allocated: the header's width × height against
/// max_pixels (before any pixel buffer exists), a file's size against max_file_bytes (before it is read).
/// Defaults: 64 Mpx (64 · 10^6 pixels, e.g. 8000 × 8000: 768 MB as float RGB) and 256 MiB. 0 = no limit.
struct decode_limits {
    std::size_t max_pixels = 64000000;                    ///< width × height of one image
    std::size_t max_file_bytes = std::size_t{256} << 20;  ///< bytes of one image file
};

/// True when the file name ends in .png, .jpg, .jpeg or .bmp (case-insensitive): the formats zoa decodes.
/// The extension is std::filesystem::path's: from the last '.' of the file name, none for a name like ".png"
/// (<filesystem> is not included here: it costs a translation unit up to ~40 MB of g++ memory).
inline bool is_image_file_name(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    const std::size_t name = slash == std::string::npos ? 0 : slash + 1;
    const std::size_t dot = path.rfind('.');
    if (dot == std::string::npos || dot <= name) return false;
    std::string ext = path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

namespace detail {
/// size as stb_image's int length. Throws: zoa::error(format) for an empty file or one over INT_MAX bytes.
inline int checked_length(std::size_t size, const std::string& name) {
    require(size > 0, error_code::format, name, ": cannot decode image: the file is empty");
    require(size <= static_cast<std::size_t>(INT_MAX), error_code::format, name,
            ": cannot decode image: encoded size ", size, " exceeds stb_image's limit of ", INT_MAX, " bytes");
    return static_cast<int>(size);
}
/// n pixels in Mpx (10^6 pixels) with one decimal, for messages.
inline std::string megapixels(std::size_t n) {
    const std::size_t tenths = (n + 50000) / 100000;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}
/// The largest side stb_image decodes (STBI_MAX_DIMENSIONS; stb's own default when it is compiled elsewhere).
#ifdef STBI_MAX_DIMENSIONS
inline constexpr std::size_t stb_max_side = STBI_MAX_DIMENSIONS;
#else
inline constexpr std::size_t stb_max_side = std::size_t{1} << 24;
#endif
/// The width and height a PNG (IHDR) or JPEG (first SOF0/1/2) header declares, or {0, 0}: what stb_image refuses
/// above STBI_MAX_DIMENSIONS per side without saying so (its reason for a valid 20000-px PNG is "unknown image type").
inline std::pair<std::size_t, std::size_t> declared_size(const std::uint8_t* p, std::size_t n) {
    const auto be = [p](std::size_t at, int bytes) {
        std::size_t v = 0;
        for (int k = 0; k < bytes; ++k) v = v << 8 | p[at + static_cast<std::size_t>(k)];
        return v;
    };
    static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (n >= 24 && std::equal(png, png + 8, p) && std::equal(p + 12, p + 16, "IHDR")) return {be(16, 4), be(20, 4)};
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return {0, 0};
    for (std::size_t i = 2; i + 9 <= n && p[i] == 0xFF;) {  // JPEG segments: FF marker, 16-bit length
        const std::uint8_t m = p[i + 1];
        if (m == 0xFF) {  // fill byte
            ++i;
            continue;
        }
        if (m == 0xC0 || m == 0xC1 || m == 0xC2) return {be(i + 7, 2), be(i + 5, 2)};  // P, Y (height), X (width)
        if (m == 0xDA || m == 0xD9) break;
        i += 2 + be(i + 2, 2);
    }
    return {0, 0};
}
/// stb_image's last failure reason, or "unknown reason".
inline const char* stb_reason() {
    const char* r = stbi_failure_reason();
    return r != nullptr ? r : "unknown reason";
}
}  // namespace detail

/// Reads width, height and stored channels from an encoded PNG/JPEG/BMP header without decoding pixels.
/// Throws: zoa::error(format) naming `name` and stb_image's reason when the header is not a supported image.
inline image_info decode_image_info(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const int len = detail::checked_length(size, name);
    detail::check_jpeg_structure(data, size, name, false);
    detail::check_png_chunks(data, size, name, true);
    int w = 0, h = 0, c = 0;
    if (stbi_info_from_memory(data, len, &w, &h, &c) == 0) {
        const auto [dw, dh] = detail::declared_size(data, size);
        if (dw > detail::stb_max_side || dh > detail::stb_max_side)
            fail(error_code::format, name, ": image is ", dw, "x", dh, " pixels: a side exceeds the decoder's ",
                 detail::stb_max_side, "-px limit");
        fail(error_code::format, name, ": cannot decode image (PNG, JPEG or BMP expected): ", detail::stb_reason());
    }
    // stb_image's BMP header reader accepts a height of 0 (found by fuzzing): an empty image is not an image.
    if (w <= 0 || h <= 0 || c < 1 || c > 4)
        fail(error_code::format, name, ": cannot decode image: header declares ", w, "x", h, " pixels with ", c,
             " channels, expected a positive size and 1 to 4 channels");
    return {static_cast<std::size_t>(w), static_cast<std::size_t>(h), static_cast<std::size_t>(c)};
}

/// Decodes a PNG, JPEG or BMP image held in memory into HWC floats in [0, 255].
/// channels: 0 keeps the stored colour type (gray and gray+alpha → 1 channel, RGB and RGBA → 3), 1 or 3 converts
/// with data::to_channels (gray replicated; RGB → luma 0.2989 R + 0.587 G + 0.114 B). Alpha is dropped, not
/// composited (as PIL's convert("RGB")). 16-bit PNG samples are reduced to 8 bits (v >> 8).
/// Throws: zoa::error(argument) when channels is not 0, 1 or 3; zoa::error(format) naming `name` and stb_image's
/// failure reason ("bad png sig", "unknown image type", "Corrupt JPEG", ...) when decoding fails.
/// Throws also: zoa::error(format) naming `name` and the header's dimensions when width × height exceeds
/// limits.max_pixels (checked on the header, before any pixel buffer is allocated).
inline image decode_image(const std::uint8_t* data, std::size_t size, const std::string& name,
                          std::size_t channels = 0, const decode_limits& limits = {}) {
    require(channels == 0 || channels == 1 || channels == 3, error_code::argument, name,
            ": requested channel count must be 0 (as stored), 1 or 3, got ", channels);
    const image_info info = decode_image_info(data, size, name);
    if (limits.max_pixels != 0 && info.width * info.height > limits.max_pixels)
        fail(error_code::format, name, ": image is ", info.width, "x", info.height, " pixels (",
             detail::megapixels(info.width * info.height), " Mpx), above the pixel budget of ",
             detail::megapixels(limits.max_pixels), " Mpx (decode_limits::max_pixels)");
    const int stored = info.channels <= 2 ? 1 : 3;
    detail::check_jpeg_structure(data, size, name, true);
    detail::check_png_chunks(data, size, name, false);
    int w = 0, h = 0, c = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(data, detail::checked_length(size, name), &w, &h, &c, stored), stbi_image_free);
    if (!pixels) fail(error_code::format, name, ": cannot decode image: ", detail::stb_reason());
    image img = data::image_from_u8(pixels.get(), static_cast<std::size_t>(h), static_cast<std::size_t>(w),
                                    static_cast<std::size_t>(stored));
    if (channels != 0 && channels != static_cast<std::size_t>(stored)) img = data::to_channels(img, channels);
    return img;
}

/// Decodes an in-memory image from a byte vector.
inline image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name, std::size_t channels = 0,
                          const decode_limits& limits = {}) {
    return decode_image(bytes.data(), bytes.size(), name, channels, limits);
}

/// Throws: zoa::error(format) naming the file and its size when it is larger than limits.max_file_bytes (checked
/// before it is read).
inline void check_file_size(const std::string& path, const decode_limits& limits) {
    if (limits.max_file_bytes == 0) return;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;  // read_file_bytes reports it
    const auto bytes = static_cast<std::uintmax_t>(st.st_size);
    if (bytes > limits.max_file_bytes)
        fail(error_code::format, path, ": image file is ", bytes, " bytes, above the size cap of ",
             limits.max_file_bytes, " bytes (decode_limits::max_file_bytes)");
}

/// Loads a PNG, JPEG or BMP file (any extension; the content decides) into HWC floats in [0, 255].
/// Throws: zoa::error(io) when the file cannot be read; zoa::error(format) above the limits (check_file_size,
/// decode_image); otherwise as decode_image, with the path as name.
inline image load_image(const std::string& path, std::size_t channels = 0, const decode_limits& limits = {}) {
    check_file_size(path, limits);
    return decode_image(data::read_file_bytes(path), path, channels, limits);
}

/// Reads the header of an image file. Throws: as read_file_bytes and decode_image_info.
inline image_info load_image_info(const std::string& path) {
    const std::vector<std::uint8_t> bytes = data::read_file_bytes(path);
    return decode_image_info(bytes.data(), bytes.size(), path);
}

}  // namespace zoa::io
