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
// in this TU; zoa/data/corruptions/jpeg.hpp compiles it with the same configuration, so whichever header comes
// first compiles it and the other uses its declarations.
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
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wconversion"
#pragma clang diagnostic ignored "-Wsign-conversion"
#pragma clang diagnostic ignored "-Wshadow"
#pragma clang diagnostic ignored "-Wimplicit-fallthrough"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wcast-qual"
#pragma clang diagnostic ignored "-Wcast-align"
#pragma clang diagnostic ignored "-Wdouble-promotion"
#pragma clang diagnostic ignored "-Wold-style-cast"
#pragma clang diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma clang diagnostic ignored "-Wcomma"
#pragma clang diagnostic ignored "-Wpedantic"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#if __has_include(<stb_image.h>)
#include <stb_image.h>
#else
#include <stb/stb_image.h>
#endif
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#undef STB_IMAGE_IMPLEMENTATION
#endif

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/data/image.hpp"
#include "zoa/data/inflate.hpp"

namespace zoa::io {

/// zoa::io::image is zoa::data::image (8-bit interleaved pixels, data/image.hpp).
using data::image;

/// Size and stored channel count of an encoded image, read from its header only.
struct image_info {
    std::size_t width = 0, height = 0;  ///< pixels
    std::size_t channels = 0;           ///< as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

/// True when the file name ends in .png, .jpg, .jpeg or .bmp (case-insensitive): the formats zoa decodes.
inline bool is_image_file_name(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
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
/// Pre-check of JPEG Huffman tables. stb_image 2.27 (Debian 12) writes past its 257-entry tables when a DHT table
/// declares more than 256 codes (nothings/stb#1289; fixed in stb_image 2.28), so such files are rejected before stb
/// sees them. The scan follows the marker structure as stb_image does: segments are skipped by their declared
/// length, entropy-coded data byte by byte (FF 00 stuffing, FF D0–D7 restarts and FF fill bytes are not markers),
/// and a DHT segment's tables are walked like stb's loop (while bytes of the declared length remain; bytes past the
/// end of the buffer read as 0, as stbi__get8 returns them).
/// Returns the number of codes of the first oversized table, 0 when every table is within bounds.
inline std::size_t jpeg_oversized_huffman_table(const std::uint8_t* p, std::size_t n) noexcept {
    std::size_t i = 0;  // stb accepts fill bytes before SOI: FF FF … FF D8
    while (i < n && p[i] == 0xFF) ++i;
    if (i == 0 || i >= n || p[i] != 0xD8) return 0;  // not a JPEG stream
    ++i;
    while (i + 4 <= n) {
        const std::uint8_t m = p[i + 1];
        if (p[i] != 0xFF || m == 0xFF) {  // entropy-coded data or fill byte
            ++i;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // stuffing, TEM, RSTn: no length field
            i += 2;
            continue;
        }
        if (m == 0xD9) return 0;  // EOI
        const std::size_t len = (std::size_t{p[i + 2]} << 8) | p[i + 3], end = i + 2 + len;
        if (m == 0xC4) {
            for (std::size_t q = i + 4; q < end && q < n;) {  // stb reads bytes past the end as 0
                std::size_t codes = 0;
                for (std::size_t k = 1; k <= 16 && q + k < n; ++k) codes += p[q + k];
                if (codes > 256) return codes;
                q += 17 + codes;
            }
        }
        i = end;
    }
    return 0;
}
/// Throws: zoa::error(format) when a JPEG Huffman table declares more than 256 codes (stb_image 2.27 overflow).
inline void check_jpeg_tables(const std::uint8_t* data, std::size_t size, const std::string& name) {
    const std::size_t codes = jpeg_oversized_huffman_table(data, size);
    if (codes != 0)
        fail(error_code::format, name, ": cannot decode image: Corrupt JPEG (a Huffman table declares ", codes,
             " codes, at most 256 are allowed)");
}
/// What scan_png_chunks found wrong with a PNG stream, before stb_image sees it.
enum class png_defect {
    none,                    ///< nothing: stb_image decides
    idat_past_end,           ///< an IDAT chunk declares more data than the buffer holds
    chunk_past_end,          ///< another chunk's data or CRC runs past the end of the buffer
    unknown_critical_chunk,  ///< a critical chunk type stb_image does not know
    no_iend                  ///< the buffer ends before the IEND chunk (< 8 bytes left for a chunk header)
};
/// Result of scan_png_chunks: the defect, the byte offset of the chunk (or of the end) and its header fields.
struct png_scan {
    png_defect defect = png_defect::none;
    std::size_t at = 0;
    std::uint32_t length = 0, type = 0;
};
/// Pre-check of a PNG's chunk structure, for two stb_image 2.27 weaknesses found by fuzzing:
/// - it grows its IDAT buffer to a chunk's *declared* length (from 4096 bytes, doubling) before it checks that the
///   bytes exist: a 214-byte PNG declaring a 1 GiB IDAT chunk made it allocate 2 GiB, then fail;
/// - every PNG that reaches an unknown critical chunk type, including a truncated one (stb then reads zero bytes,
///   i.e. chunk type 0), makes it write the type into a function-level `static char[]` for its failure reason: a data
///   race when two threads decode such files at once.
/// The scan follows stb_image's chunk walk (8-byte signature; per chunk a 4-byte big-endian length, 4-byte type, data
/// and 4-byte CRC; IHDR, PLTE, tRNS, IDAT and ancillary chunks all consume exactly `length` bytes) up to IEND, or, when
/// `header_only` (stbi_info), up to the first IDAT, where stb_image stops too. Every defect it reports is a file that
/// stb_image fails on as well, so no image stb_image decodes is refused; only the allocation and the racy message are
/// avoided. Not a PNG stream (no signature): png_defect::none.
inline png_scan scan_png_chunks(const std::uint8_t* p, std::size_t n, bool header_only) noexcept {
    static constexpr std::uint8_t signature[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    if (n < 8 || !std::equal(signature, signature + 8, p)) return {};
    const auto be32 = [p](std::size_t at) {
        return (std::uint32_t{p[at]} << 24) | (std::uint32_t{p[at + 1]} << 16) | (std::uint32_t{p[at + 2]} << 8) |
               std::uint32_t{p[at + 3]};
    };
    // "IHDR", "PLTE", "IDAT", "IEND", "CgBI" (Apple's, handled by stb_image); critical = bit 5 of the first byte clear
    constexpr std::uint32_t ihdr = 0x49484452u, plte = 0x504C5445u, idat = 0x49444154u, iend = 0x49454E44u,
                            cgbi = 0x43674249u;
    for (std::size_t i = 8;;) {  // invariant: i <= n
        if (n - i < 8) return {png_defect::no_iend, i, 0, 0};
        const std::uint32_t length = be32(i), type = be32(i + 4);
        const std::size_t left = n - i - 8;  // bytes after this chunk's header
        if (type == iend) return {};
        if (type == idat) {
            if (header_only) return {};
            if (length > left) return {png_defect::idat_past_end, i, length, type};
        } else if ((type & (1u << 29)) == 0 && type != ihdr && type != plte && type != cgbi) {
            return {png_defect::unknown_critical_chunk, i, length, type};
        }
        if (length > left || left - length < 4) return {png_defect::chunk_past_end, i, length, type};
        i += 8 + std::size_t{length} + 4;
    }
}
/// Throws: zoa::error(format) naming `name`, the chunk and its byte offset for any defect scan_png_chunks reports.
inline void check_png_chunks(const std::uint8_t* data, std::size_t size, const std::string& name, bool header_only) {
    const png_scan r = scan_png_chunks(data, size, header_only);
    if (r.defect == png_defect::none) return;
    std::string type(4, '.'), hex(8, '0');  // the type as ASCII (non-printable bytes as '.') and as 8 hex digits
    for (std::size_t k = 0; k < 4; ++k) {
        const auto c = static_cast<unsigned char>(r.type >> (24 - 8 * k));
        if (c >= 0x20 && c < 0x7F) type[k] = static_cast<char>(c);
        hex[2 * k] = "0123456789ABCDEF"[c >> 4];
        hex[2 * k + 1] = "0123456789ABCDEF"[c & 15];
    }
    const std::size_t left = size - r.at - 8;
    switch (r.defect) {
        case png_defect::idat_past_end:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the IDAT chunk at byte ", r.at,
                 " declares ", r.length, " bytes of data, only ", left, " remain in the file)");
        case png_defect::chunk_past_end:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the '", type, "' chunk at byte ", r.at,
                 " declares ", r.length, " bytes of data and a 4-byte CRC, only ", left, " remain in the file)");
        case png_defect::unknown_critical_chunk:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (unknown critical chunk type '", type,
                 "' (0x", hex, ") at byte ", r.at, ")");
        case png_defect::no_iend:
            fail(error_code::format, name, ": cannot decode image: Corrupt PNG (the file ends at byte ", size,
                 " before its IEND chunk)");
        case png_defect::none:
            break;
    }
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
    detail::check_jpeg_tables(data, size, name);
    detail::check_png_chunks(data, size, name, true);
    int w = 0, h = 0, c = 0;
    if (stbi_info_from_memory(data, len, &w, &h, &c) == 0)
        fail(error_code::format, name, ": cannot decode image (PNG, JPEG or BMP expected): ", detail::stb_reason());
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
inline image decode_image(const std::uint8_t* data, std::size_t size, const std::string& name,
                          std::size_t channels = 0) {
    require(channels == 0 || channels == 1 || channels == 3, error_code::argument, name,
            ": requested channel count must be 0 (as stored), 1 or 3, got ", channels);
    const image_info info = decode_image_info(data, size, name);
    const int stored = info.channels <= 2 ? 1 : 3;
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
inline image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name, std::size_t channels = 0) {
    return decode_image(bytes.data(), bytes.size(), name, channels);
}

/// Loads a PNG, JPEG or BMP file (any extension; the content decides) into HWC floats in [0, 255].
/// Throws: zoa::error(io) when the file cannot be read; otherwise as decode_image, with the path as name.
inline image load_image(const std::string& path, std::size_t channels = 0) {
    return decode_image(data::read_file_bytes(path), path, channels);
}

/// Reads the header of an image file. Throws: as read_file_bytes and decode_image_info.
inline image_info load_image_info(const std::string& path) {
    const std::vector<std::uint8_t> bytes = data::read_file_bytes(path);
    return decode_image_info(bytes.data(), bytes.size(), path);
}

}  // namespace zoa::io
