// zoa — the image type shared by readers, corruptions and preprocessing: HWC float in [0, 255]
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"

namespace zoa::data {

/// An image: height × width × channels (HWC, row-major), channels 1 (grayscale) or 3 (RGB, in that order),
/// pixel values in [0, 255] as float (an 8-bit file value v is stored as float(v), no scaling).
/// Readers (IDX, image files), corruptions and preprocessing all exchange this type.
using image = xt::xtensor<float, 3>;

/// Height, width and channel count of an image.
inline std::size_t image_height(const image& img) noexcept { return img.shape()[0]; }
inline std::size_t image_width(const image& img) noexcept { return img.shape()[1]; }
inline std::size_t image_channels(const image& img) noexcept { return img.shape()[2]; }

/// A zero-filled image of the given size.
/// Throws: zoa::error(argument) when height or width is 0 or channels is not 1 or 3.
inline image make_image(std::size_t height, std::size_t width, std::size_t channels) {
    require(height > 0 && width > 0, error_code::argument, "make_image: height and width must be > 0, got ", height,
            "x", width);
    require(channels == 1 || channels == 3, error_code::argument, "make_image: channels must be 1 or 3, got ",
            channels);
    return image(std::array<std::size_t, 3>{height, width, channels}, 0.0f);
}

/// Checks the image invariants that every zoa routine relies on (non-empty, 1 or 3 channels).
/// `what` names the image in the message (a file path, "batch[3]", ...).
/// Throws: zoa::error(shape) when the image is empty or has a channel count other than 1 or 3.
inline void check_image(const image& img, const std::string& what) {
    require(image_height(img) > 0 && image_width(img) > 0, error_code::shape, what, ": image is empty (",
            image_height(img), "x", image_width(img), ")");
    require(image_channels(img) == 1 || image_channels(img) == 3, error_code::shape, what,
            ": expected 1 or 3 channels, got ", image_channels(img));
}

/// Copies 8-bit interleaved pixels (row-major HWC, as stb_image and IDX files store them) into an image.
/// Ensures: result(y, x, c) == float(pixels[(y * width + x) * channels + c]).
/// Throws: zoa::error(argument) on a zero size or a channel count other than 1 or 3.
inline image image_from_u8(const std::uint8_t* pixels, std::size_t height, std::size_t width, std::size_t channels) {
    image img = make_image(height, width, channels);
    const std::size_t n = height * width * channels;
    float* dst = img.data();
    for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(pixels[i]);
    return img;
}

/// Converts an image to `channels` channels.
/// 1 → 3: the gray value is replicated into R, G and B.
/// 3 → 1: luma with torchvision's rgb_to_grayscale weights, L = 0.2989·R + 0.587·G + 0.114·B (float).
/// Same count: a copy.
/// Throws: zoa::error(argument) when channels is not 1 or 3; zoa::error(shape) on an invalid input image.
inline image to_channels(const image& img, std::size_t channels) {
    check_image(img, "to_channels");
    require(channels == 1 || channels == 3, error_code::argument, "to_channels: channels must be 1 or 3, got ",
            channels);
    const std::size_t c_in = image_channels(img);
    if (c_in == channels) return img;
    const std::size_t hw = image_height(img) * image_width(img);
    image out = make_image(image_height(img), image_width(img), channels);
    const float* src = img.data();
    float* dst = out.data();
    if (channels == 3) {
        for (std::size_t i = 0; i < hw; ++i) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
    } else {
        for (std::size_t i = 0; i < hw; ++i)
            dst[i] = 0.2989f * src[3 * i] + 0.587f * src[3 * i + 1] + 0.114f * src[3 * i + 2];
    }
    return out;
}

/// Clamps every pixel into [0, 255] in place (NaN becomes 0): p = min(max(p, 0), 255).
inline void clamp_pixels(image& img) noexcept {
    float* p = img.data();
    const std::size_t n = img.size();
    for (std::size_t i = 0; i < n; ++i) p[i] = p[i] > 0.0f ? std::min(p[i], 255.0f) : 0.0f;
}

}  // namespace zoa::data
