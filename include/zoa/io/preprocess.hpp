// zoa — image preprocessing with torchvision tensor semantics: resize, center crop, normalize, NCHW batches
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/data/image.hpp"

namespace zoa::io {

/// zoa::io::image is zoa::data::image (8-bit interleaved pixels, data/image.hpp).
using data::image;

/// Resampling kernels, as torch.nn.functional.interpolate implements them for float tensors
/// (align_corners=False, antialias=False, torchvision's Resize on tensors).
enum class interpolation_mode { nearest, bilinear, bicubic };

/// "nearest", "bilinear" or "bicubic".
template <class = void>
inline const char* to_string(interpolation_mode m) noexcept {
    switch (m) {
        case interpolation_mode::nearest: return "nearest";
        case interpolation_mode::bilinear: return "bilinear";
        case interpolation_mode::bicubic: return "bicubic";
    }
    return "unknown";
}

/// Parses "nearest", "bilinear" or "bicubic" (case-insensitive).
/// Throws: zoa::error(argument) naming the text otherwise.
template <class = void>
inline interpolation_mode parse_interpolation(const std::string& text) {
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (t == "nearest") return interpolation_mode::nearest;
    if (t == "bilinear") return interpolation_mode::bilinear;
    if (t == "bicubic") return interpolation_mode::bicubic;
    fail(error_code::argument, "unknown interpolation '", text, "': expected nearest, bilinear or bicubic");
}

/// Parses a comma-separated list of finite floats ("0.485,0.456,0.406"). `what` names the value in errors.
/// Throws: zoa::error(argument) on an empty list or item, an item that is not a number, or one outside the float
/// range (|x| > 3.4e38, or 0 < |x| < 1.2e-38: each says so, instead of "not a finite number").
template <class = void>
inline std::vector<float> parse_float_list(const std::string& text, const std::string& what) {
    std::vector<float> values;
    std::size_t begin = 0;
    for (;;) {
        const std::size_t end = std::min(text.find(',', begin), text.size());
        const std::string item = text.substr(begin, end - begin);
        const char* b = item.c_str();
        char* stop = nullptr;
        const double v = std::strtod(b, &stop);
        require(stop != nullptr && stop != b && item.find_first_not_of(" \t", std::size_t(stop - b)) == std::string::npos,
                error_code::argument, what, ": '", item, "' in '", text, "' is not a number");
        require(std::isfinite(v) && std::fabs(v) <= double(std::numeric_limits<float>::max()), error_code::argument,
                what, ": '", item, "' in '", text, "' is not a finite float (|x| <= ", std::numeric_limits<float>::max(),
                ")");
        require(v == 0.0 || std::fabs(v) >= double(std::numeric_limits<float>::min()), error_code::argument, what,
                ": '", item, "' in '", text, "' is too small for a float (0, or |x| >= ",
                std::numeric_limits<float>::min(), ")");
        values.push_back(static_cast<float>(v));
        if (end == text.size()) break;
        begin = end + 1;
    }
    return values;
}

namespace detail {
/// Source indices and weights of one output axis: out[i] = Σ_k weight[i·taps + k] · in[index[i·taps + k]].
struct axis_taps {
    std::size_t taps = 1;
    std::vector<std::size_t> index;
    std::vector<float> weight;
};

/// torch's per-axis rules (aten/src/ATen/native/UpSample.h), scale = float(in) / float(out):
///   nearest:  src = min(floor(i·scale), in−1), weight 1.
///   bilinear: r = max(scale·(i+0.5) − 0.5, 0); i0 = floor(r); i1 = i0 + (i0 < in−1); λ1 = clamp(r−i0, 0, 1);
///             weights (1−λ1, λ1).
///   bicubic:  r = scale·(i+0.5) − 0.5 (not clamped); i0 = min(floor(r), in−1); t = clamp(r−i0, 0, 1);
///             taps at clamp(i0−1+k, 0, in−1), k = 0..3, Keys kernel with A = −0.75:
///             w0 = c2(t+1), w1 = c1(t), w2 = c1(1−t), w3 = c2(2−t),
///             c1(x) = ((A+2)x − (A+3))x² + 1,  c2(x) = ((Ax − 5A)x + 8A)x − 4A.
template <class = void>
inline axis_taps make_taps(std::size_t in, std::size_t out, interpolation_mode mode) {
    axis_taps a;
    a.taps = mode == interpolation_mode::nearest ? 1 : mode == interpolation_mode::bilinear ? 2 : 4;
    a.index.resize(out * a.taps);
    a.weight.resize(out * a.taps);
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    const auto last = static_cast<std::ptrdiff_t>(in) - 1;
    for (std::size_t i = 0; i < out; ++i) {
        std::size_t* idx = a.index.data() + i * a.taps;
        float* w = a.weight.data() + i * a.taps;
        if (mode == interpolation_mode::nearest) {
            const auto s = static_cast<std::ptrdiff_t>(std::floor(static_cast<float>(i) * scale));
            idx[0] = static_cast<std::size_t>(std::min(s, last));
            w[0] = 1.0f;
            continue;
        }
        const auto r = static_cast<float>(static_cast<double>(scale) * (static_cast<double>(i) + 0.5) - 0.5);
        if (mode == interpolation_mode::bilinear) {
            const float rc = r < 0.0f ? 0.0f : r;
            const auto i0 = std::min(static_cast<std::ptrdiff_t>(rc), last);
            const float l1 = std::min(std::max(rc - static_cast<float>(i0), 0.0f), 1.0f);
            idx[0] = static_cast<std::size_t>(i0);
            idx[1] = static_cast<std::size_t>(i0 < last ? i0 + 1 : i0);
            w[0] = 1.0f - l1;
            w[1] = l1;
            continue;
        }
        constexpr float A = -0.75f;
        const auto c1 = [](float x) { return ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f; };
        const auto c2 = [](float x) { return ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A; };
        const auto i0 = std::min(static_cast<std::ptrdiff_t>(std::floor(r)), last);
        const float t = std::min(std::max(r - static_cast<float>(i0), 0.0f), 1.0f);
        w[0] = c2(t + 1.0f);
        w[1] = c1(t);
        w[2] = c1(1.0f - t);
        w[3] = c2(2.0f - t);
        for (std::ptrdiff_t k = 0; k < 4; ++k) idx[k] = static_cast<std::size_t>(std::clamp(i0 - 1 + k, std::ptrdiff_t{0}, last));
    }
    return a;
}
}  // namespace detail

/// Resizes to out_h × out_w like torch.nn.functional.interpolate(x, size=(out_h, out_w), mode, align_corners=False,
/// antialias=False) on a float tensor: separable, width first then height, each output = Σ weight · input with the
/// taps of detail::make_taps. Same size ⇒ an exact copy. Bicubic can overshoot [0, 255] (negative kernel lobes),
/// exactly as torch does on floats; call data::clamp_pixels when the invariant matters (prepare_image does).
/// No antialiasing: downscaling by more than 2× aliases (as torchvision tensors, unlike PIL).
/// Throws: zoa::error(shape) on an invalid image; zoa::error(argument) when out_h or out_w is 0.
template <class = void>
inline image resize(const image& img, std::size_t out_h, std::size_t out_w,
                    interpolation_mode mode = interpolation_mode::bilinear) {
    data::check_image(img, "resize");
    require(out_h > 0 && out_w > 0, error_code::argument, "resize: output size must be > 0, got ", out_h, "x", out_w);
    const std::size_t h = data::image_height(img), w = data::image_width(img), c = data::image_channels(img);
    if (h == out_h && w == out_w) return img;
    const detail::axis_taps tx = detail::make_taps(w, out_w, mode), ty = detail::make_taps(h, out_h, mode);
    image tmp = data::make_image(h, out_w, c);
    const float* src = img.data();
    float* t = tmp.data();
    for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < out_w; ++x)
            for (std::size_t ch = 0; ch < c; ++ch) {
                float acc = 0.0f;
                for (std::size_t k = 0; k < tx.taps; ++k)
                    acc += tx.weight[x * tx.taps + k] * src[(y * w + tx.index[x * tx.taps + k]) * c + ch];
                t[(y * out_w + x) * c + ch] = acc;
            }
    image out = data::make_image(out_h, out_w, c);
    float* dst = out.data();
    for (std::size_t y = 0; y < out_h; ++y)
        for (std::size_t i = 0; i < out_w * c; ++i) {
            float acc = 0.0f;
            for (std::size_t k = 0; k < ty.taps; ++k)
                acc += ty.weight[y * ty.taps + k] * t[ty.index[y * ty.taps + k] * out_w * c + i];
            dst[y * out_w * c + i] = acc;
        }
    return out;
}

/// Output size {height, width} of torchvision's Resize(shorter) (_compute_resized_output_size): the shorter side
/// becomes `shorter`, the longer side int(shorter · long / short) (truncated, computed in double).
/// Throws: zoa::error(argument) when a size is 0.
template <class = void>
inline std::array<std::size_t, 2> shorter_side_size(std::size_t height, std::size_t width, std::size_t shorter) {
    require(height > 0 && width > 0 && shorter > 0, error_code::argument, "shorter_side_size: sizes must be > 0, got ",
            height, "x", width, " -> ", shorter);
    const std::size_t s = std::min(height, width), l = std::max(height, width);
    const auto nl = static_cast<std::size_t>(static_cast<double>(shorter) * static_cast<double>(l) / static_cast<double>(s));
    return width <= height ? std::array<std::size_t, 2>{nl, shorter} : std::array<std::size_t, 2>{shorter, nl};
}

/// torchvision Resize(shorter): scales the shorter side to `shorter`, keeping the aspect ratio (see shorter_side_size).
template <class = void>
inline image resize_shorter_side(const image& img, std::size_t shorter, interpolation_mode mode) {
    data::check_image(img, "resize_shorter_side");
    const auto hw = shorter_side_size(data::image_height(img), data::image_width(img), shorter);
    return resize(img, hw[0], hw[1], mode);
}

/// Offset of a centered window of `crop` pixels along an axis of `size` pixels, as torchvision's center_crop:
/// crop ≤ size: int(round((size − crop) / 2)) with Python's round-half-to-even (33 / 2 = 16.5 → 16, 35 / 2 → 18);
/// crop > size: −((crop − size) // 2), i.e. zero padding of ⌊·/2⌋ before and ⌈·/2⌉ after.
template <class = void>
inline std::ptrdiff_t center_crop_offset(std::size_t size, std::size_t crop) noexcept {
    if (crop > size) return -static_cast<std::ptrdiff_t>((crop - size) / 2);
    const std::size_t d = size - crop, k = d / 2;
    return static_cast<std::ptrdiff_t>(d % 2 == 0 || k % 2 == 0 ? k : k + 1);
}

/// torchvision CenterCrop((crop_h, crop_w)): out(y, x) = in(y + top, x + left), zero where that falls outside the
/// image (a crop larger than the image pads with 0), top/left from center_crop_offset.
/// Throws: zoa::error(shape) on an invalid image; zoa::error(argument) when a crop size is 0.
template <class = void>
inline image center_crop(const image& img, std::size_t crop_h, std::size_t crop_w) {
    data::check_image(img, "center_crop");
    require(crop_h > 0 && crop_w > 0, error_code::argument, "center_crop: crop size must be > 0, got ", crop_h, "x",
            crop_w);
    const std::size_t h = data::image_height(img), w = data::image_width(img), c = data::image_channels(img);
    const std::ptrdiff_t top = center_crop_offset(h, crop_h), left = center_crop_offset(w, crop_w);
    image out = data::make_image(crop_h, crop_w, c);
    for (std::size_t y = 0; y < crop_h; ++y) {
        const std::ptrdiff_t sy = static_cast<std::ptrdiff_t>(y) + top;
        if (sy < 0 || sy >= static_cast<std::ptrdiff_t>(h)) continue;
        for (std::size_t x = 0; x < crop_w; ++x) {
            const std::ptrdiff_t sx = static_cast<std::ptrdiff_t>(x) + left;
            if (sx < 0 || sx >= static_cast<std::ptrdiff_t>(w)) continue;
            for (std::size_t ch = 0; ch < c; ++ch)
                out(y, x, ch) = img(static_cast<std::size_t>(sy), static_cast<std::size_t>(sx), ch);
        }
    }
    return out;
}

/// Bounds of a preprocessing (a hostile model file's zoa.preprocess must not make every image gigabytes):
/// resize and crop at most max_preprocess_side pixels; an image resized to its shorter side (whose longer side grows
/// with the aspect ratio) at most max_preprocess_pixels.
inline constexpr std::size_t max_preprocess_side = 4096;
inline constexpr std::size_t max_preprocess_pixels = 64000000;

/// ImageNet channel statistics (torchvision / timm IMAGENET_DEFAULT_MEAN / _STD).
template <class = void>
inline const std::vector<float>& imagenet_mean() {
    static const std::vector<float> v{0.485f, 0.456f, 0.406f};
    return v;
}
/// See imagenet_mean().
template <class = void>
inline const std::vector<float>& imagenet_std() {
    static const std::vector<float> v{0.229f, 0.224f, 0.225f};
    return v;
}

/// How an image becomes a model input. Pipeline (prepare_image + normalize_chw):
///   1. channels: convert to `channels` (1 or 3; data::to_channels);
///   2. if the image is already crop × crop (the model's input size): nothing else, no resampling;
///   3. else if resize > 0: torchvision Resize(resize) (shorter side) with `interpolation`, bicubic clamped to [0,255];
///   4. if crop > 0: torchvision CenterCrop(crop) (pads with 0 when the image is smaller);
///   5. per channel c: x = (p / 255 − mean[c]) / std_dev[c] (float), written as CHW.
/// mean and std_dev have 1 entry (used for every channel) or `channels` entries.
/// There is no model-independent default: the defaults (mean 0, std 1 ⇒ x = p/255) are rarely right. Use the
/// model's own values (its metadata), torchvision_imagenet() or timm_inception(); see docs/data.md.
struct preprocess_config {
    std::vector<float> mean{0.0f};     ///< subtracted after /255
    std::vector<float> std_dev{1.0f};  ///< divides after the mean (named std in torchvision; `std` is reserved here)
    interpolation_mode interpolation = interpolation_mode::bilinear;  ///< resampling filter for step 3
    std::size_t resize = 0;                                           ///< shorter side before cropping; 0 = no resize
    std::size_t crop = 0;      ///< square center crop = model input size; 0 = no crop (images must then agree in size)
    std::size_t channels = 3;  ///< 1 or 3

    /// torchvision ImageNet eval (ResNet): Resize(input·256/224) bilinear, CenterCrop(input), ImageNet mean/std.
    template <class = void>
    static preprocess_config torchvision_imagenet(std::size_t input = 224) {
        return {imagenet_mean(), imagenet_std(), interpolation_mode::bilinear, input * 256 / 224, input, 3};
    }
    /// timm ViT (augreg) eval: Resize(floor(input / crop_pct)) bicubic, CenterCrop(input), mean = std = 0.5.
    template <class = void>
    static preprocess_config timm_inception(std::size_t input = 224, double crop_pct = 0.9) {
        return {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, interpolation_mode::bicubic,
                static_cast<std::size_t>(std::floor(static_cast<double>(input) / crop_pct)), input, 3};
    }

    /// The reference's transform of the clean source images (ZOA's main.py: Resize(256) + CenterCrop(224) for the
    /// ViT and the ResNet alike — the geometry ImageNet-C itself was made with) for this config's input size:
    /// Resize(⌊crop·256/224⌋) bilinear, CenterCrop(crop), this config's mean, std and channels.
    /// Requires: crop > 0.
    template <class = void>
    preprocess_config reference_source() const {
        preprocess_config c = *this;
        c.interpolation = interpolation_mode::bilinear;
        c.resize = crop * 256 / 224;
        return c;
    }

    /// Throws: zoa::error(argument) when channels is not 1 or 3, mean/std_dev sizes are not 1 or channels, a
    /// std_dev entry is not > 0, a value is not finite, or resize or crop exceeds max_preprocess_side.
    template <class = void>
    void validate() const {
        require(channels == 1 || channels == 3, error_code::argument, "preprocess_config: channels must be 1 or 3, got ",
                channels);
        require(resize <= max_preprocess_side && crop <= max_preprocess_side, error_code::argument,
                "preprocess_config: resize ", resize, " and crop ", crop, " must be at most ", max_preprocess_side,
                " pixels");
        require(mean.size() == 1 || mean.size() == channels, error_code::argument, "preprocess_config: mean has ",
                mean.size(), " values, expected 1 or ", channels);
        require(std_dev.size() == 1 || std_dev.size() == channels, error_code::argument, "preprocess_config: std has ",
                std_dev.size(), " values, expected 1 or ", channels);
        for (float m : mean) require(std::isfinite(m), error_code::argument, "preprocess_config: mean ", m, " is not finite");
        for (float s : std_dev)
            require(std::isfinite(s) && s > 0.0f, error_code::argument, "preprocess_config: std ", s, " must be > 0");
    }
    /// mean and std_dev of channel c (the single entry when there is one). Requires: c < channels.
    float mean_of(std::size_t c) const noexcept { return mean.size() == 1 ? mean[0] : mean[c]; }
    float std_of(std::size_t c) const noexcept { return std_dev.size() == 1 ? std_dev[0] : std_dev[c]; }
};

/// Steps 1–4 of preprocess_config: the image at model input size, HWC, values in [0, 255].
/// Throws: as preprocess_config::validate, data::check_image and resize; zoa::error(shape) when the resized image
/// would exceed max_preprocess_pixels (an extreme aspect ratio).
template <class = void>
inline image prepare_image(const image& img, const preprocess_config& cfg) {
    cfg.validate();
    data::check_image(img, "prepare_image");
    image out = data::image_channels(img) == cfg.channels ? img : data::to_channels(img, cfg.channels);
    if (cfg.crop > 0 && data::image_height(out) == cfg.crop && data::image_width(out) == cfg.crop) return out;
    if (cfg.resize > 0) {
        const auto hw = shorter_side_size(data::image_height(out), data::image_width(out), cfg.resize);
        require(hw[0] <= max_preprocess_pixels / hw[1], error_code::shape, "prepare_image: resizing a ",
                data::image_height(out), "x", data::image_width(out), " image to shorter side ", cfg.resize, " gives ",
                hw[0], "x", hw[1], " pixels, above the budget of ", max_preprocess_pixels, " pixels");
        out = resize_shorter_side(out, cfg.resize, cfg.interpolation);
        if (cfg.interpolation == interpolation_mode::bicubic) data::clamp_pixels(out);
    }
    if (cfg.crop > 0) out = center_crop(out, cfg.crop, cfg.crop);
    return out;
}

/// Step 5: writes dst[c·H·W + y·W + x] = (img(y, x, c) / 255 − mean[c]) / std[c] for a prepared image whose channel
/// count equals cfg.channels. `dst` must hold H·W·C floats.
/// Throws: zoa::error(shape) when the image's channels differ from cfg.channels.
template <class = void>
inline void normalize_chw(const image& img, const preprocess_config& cfg, float* dst) {
    const std::size_t h = data::image_height(img), w = data::image_width(img), c = data::image_channels(img);
    require(c == cfg.channels, error_code::shape, "normalize_chw: image has ", c, " channels, config expects ",
            cfg.channels);
    const float* src = img.data();
    for (std::size_t ch = 0; ch < c; ++ch) {
        const float m = cfg.mean_of(ch), s = cfg.std_of(ch);
        float* plane = dst + ch * h * w;
        for (std::size_t i = 0; i < h * w; ++i) plane[i] = (src[i * c + ch] / 255.0f - m) / s;
    }
}

/// Preprocesses images (prepare_image + normalize_chw) into one NCHW batch [N, channels, H, W].
/// With a context, images are processed in parallel (results identical for any thread count).
/// Throws: zoa::error(argument) on an empty list; zoa::error(shape) naming the first image whose prepared size
/// differs from image 0's (set crop, or pass same-size images); errors of prepare_image.
template <class = void>
inline xt::xtensor<float, 4> make_batch(const std::vector<image>& images, const preprocess_config& cfg,
                                        execution_context* ctx = nullptr) {
    require(!images.empty(), error_code::argument, "make_batch: no images");
    cfg.validate();
    std::vector<image> prepared(images.size());
    const auto prepare = [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) prepared[i] = prepare_image(images[i], cfg);
    };
    if (ctx != nullptr) ctx->parallel_for(images.size(), prepare); else prepare(0, images.size());
    const std::size_t h = data::image_height(prepared[0]), w = data::image_width(prepared[0]);
    for (std::size_t i = 1; i < prepared.size(); ++i)
        require(data::image_height(prepared[i]) == h && data::image_width(prepared[i]) == w, error_code::shape,
                "make_batch: image ", i, " is ", data::image_height(prepared[i]), "x", data::image_width(prepared[i]),
                " after preprocessing, image 0 is ", h, "x", w, " (set preprocess_config::crop)");
    xt::xtensor<float, 4> batch(std::array<std::size_t, 4>{images.size(), cfg.channels, h, w});
    const std::size_t per = cfg.channels * h * w;
    const auto normalize = [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) normalize_chw(prepared[i], cfg, batch.data() + i * per);
    };
    if (ctx != nullptr) ctx->parallel_for(images.size(), normalize); else normalize(0, images.size());
    return batch;
}

}  // namespace zoa::io
