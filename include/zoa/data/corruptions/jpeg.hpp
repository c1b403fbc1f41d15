// zoa — jpeg_compression corruption: a real JPEG encode (stb_image_write) and decode (stb_image) in memory
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions/common.hpp"
#include "zoa/io/detail/stb_warnings.hpp"
#include "zoa/io/image.hpp"

// Decoding goes through zoa/io/image.hpp (its stb_image configuration and JPEG hardening). stb_image_write is
// compiled into the including translation unit with internal linkage (STB_IMAGE_WRITE_STATIC; Debian's libstb.so is
// never linked) unless the TU already has it (stb's guard INCLUDE_STB_IMAGE_WRITE_H) or the program compiles it
// itself (ZOA_STB_IMAGE_WRITE_EXTERNAL).
ZOA_DETAIL_STB_WARNINGS_BEGIN
#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#if !defined(ZOA_STB_IMAGE_WRITE_EXTERNAL)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#endif
#if __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#include <stb/stb_image_write.h>
#endif
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif
ZOA_DETAIL_STB_WARNINGS_END

namespace zoa::data::corruptions {

namespace detail {

/// stbi_write_func that appends to a std::vector<unsigned char>.
inline void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<unsigned char>*>(context);
    const auto* p = static_cast<const unsigned char*>(data);
    out->insert(out->end(), p, p + size);
}

/// Decodes the JPEG that jpeg_roundtrip just encoded into HWC floats with `channels` channels: the same pixels as
/// io::decode_image(encoded, "jpeg_compression", channels), which decodes with stb_image's JPEG decoder too.
/// When zoa compiled stb_image into this translation unit (ZOA_STB_IMAGE_INCLUDED), stb's JPEG loader is called
/// directly: decode_image would go through stb's format detection, which makes every translation unit that merely
/// names this corruption (e.g. corrupt() by name) compile the PNG and BMP decoders and the hostile-input checks
/// as well (about 2 s of compile time at -O2), for bytes that are always our own JPEG. Both paths decode with
/// req_comp = 0 (stb: the stored components, 1 or 3), then convert with data::to_channels when they differ.
inline image3 decode_own_jpeg(const std::vector<unsigned char>& encoded, std::size_t channels) {
#if defined(ZOA_STB_IMAGE_INCLUDED)
    stbi__context ctx;
    stbi__start_mem(&ctx, encoded.data(), static_cast<int>(encoded.size()));
    stbi__result_info info{};  // as stbi__load_main: 8 bits, RGB order
    info.bits_per_channel = 8;
    info.channel_order = STBI_ORDER_RGB;
    int w = 0, h = 0, stored = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        static_cast<stbi_uc*>(stbi__jpeg_load(&ctx, &w, &h, &stored, 0, &info)), stbi_image_free);
    require(pixels != nullptr && w > 0 && h > 0, error_code::format, "jpeg_compression: cannot decode image: ",
            io::detail::stb_reason());
    image3 img = data::image_from_u8(pixels.get(), static_cast<std::size_t>(h), static_cast<std::size_t>(w),
                                     static_cast<std::size_t>(stored));
    if (channels != static_cast<std::size_t>(stored)) img = data::to_channels(img, channels);
    return img;
#else  // stb_image compiled elsewhere (ZOA_STB_IMAGE_EXTERNAL): only its public API is declared here
    return io::decode_image(encoded.data(), encoded.size(), "jpeg_compression", channels);
#endif
}

/// Encodes x (values rounded to the nearest integer and clamped to 0…255) as a baseline JPEG of the given quality
/// with stb_image_write (IJG quality scaling: 5000/q for q < 50 else 200 − 2q; 4:2:0 chroma for q ≤ 90; stb always
/// writes 3 YCbCr components, so a 1-channel image comes back as RGB and is reduced to its luma by
/// data::to_channels), decodes it with stb_image (decode_own_jpeg) and returns the decoded samples as float.
/// Throws: zoa::error(format) if stb fails to encode or decode (names stb's reason).
inline image3 jpeg_roundtrip(const image3& x, int quality) {
    const std::size_t h = rows(x), w = cols(x), c = chans(x);
    std::vector<unsigned char> pixels(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) pixels[i] = static_cast<unsigned char>(std::lround(clip255(x.data()[i])));
    std::vector<unsigned char> encoded;
    encoded.reserve(1024 + x.size() / 4);
    const int ok = stbi_write_jpg_to_func(append_bytes, &encoded, static_cast<int>(w), static_cast<int>(h),
                                          static_cast<int>(c), pixels.data(), quality);
    require(ok != 0 && !encoded.empty(), error_code::format, "jpeg_compression: stb_image_write failed to encode a ",
            h, "×", w, "×", c, " image at quality ", quality);
    const image3 decoded = decode_own_jpeg(encoded, c);
    require(rows(decoded) == h && cols(decoded) == w, error_code::format, "jpeg_compression: decoded size ",
            rows(decoded), "×", cols(decoded), " differs from ", h, "×", w);
    return decoded;
}

}  // namespace detail

/// jpeg_compression: JPEG encode at quality q and decode (detail::jpeg_roundtrip; stb's encoder and decoder, not
/// libjpeg as PIL uses, so results are close to but not bit-identical with the released files).
/// q: CIFAR-10-C 80 65 58 50 40; ImageNet-C 25 18 15 10 7.
/// Requires a finite H×W×C image (C = 1 or 3) and 1 ≤ severity ≤ 5; Ensures the same shape, integer values in
/// [0, 255]. Throws zoa::error(argument | shape | numeric | format).
inline xt::xtensor<float, 3> jpeg_compression(const xt::xtensor<float, 3>& x, int severity, zoa::rng& /*rng*/,
                                              const corruption_setup& setup) {
    const std::size_t level = detail::check(x, severity, "jpeg_compression");
    static constexpr std::array<int, 5> cifar{80, 65, 58, 50, 40}, imagenet{25, 18, 15, 10, 7};
    return detail::jpeg_roundtrip(x, detail::pick(setup, cifar, imagenet, level));
}

}  // namespace zoa::data::corruptions
