// zoa — shared vocabulary of the image corruptions: options, severity-table choice, spatial scale, checks
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

#include <xtensor/xtensor.hpp>

#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"

namespace zoa::data {

/// Which published severity table a corruption reads its parameters from.
enum class corruption_table {
    automatic,  ///< CIFAR-10-C table when max(H, W) ≤ 64, ImageNet-C table otherwise
    cifar10,    ///< hendrycks/robustness make_cifar_c.py (tables tuned for 32×32 images)
    imagenet,   ///< hendrycks/robustness imagenet_c/corruptions.py (tables tuned for 224×224 images)
};

/// How corrupt() adapts the published corruptions to an image (see docs/corruptions.md).
struct corruption_options {
    corruption_table table = corruption_table::automatic;  ///< severity table
    bool scale_spatial = true;  ///< scale pixel-unit parameters with the image size (corruption_setup::resolve)
    bool quantize = false;      ///< floor the result to integers, like np.uint8() on the clipped result
};

/// The per-image resolution of corruption_options: which table and which spatial scale factor.
struct corruption_setup {
    bool cifar = true;   ///< true: CIFAR-10-C table (reference side 32); false: ImageNet-C table (224)
    double scale = 1.0;  ///< multiplier for parameters measured in pixels (blur σ, radii, elastic α/σ)

    /// Ensures: cifar = (table == cifar10) or (automatic and max(h, w) ≤ 64);
    ///          when scale_spatial, scale = max(1, min(h, w)/32) for the CIFAR-10-C table (its pixel parameters sit at
    ///          the pixel-lattice limit and are never shrunk: 28×28 uses them verbatim) and min(h, w)/224 for the
    ///          ImageNet-C table (224×224 uses it verbatim); scale = 1 otherwise.
    static corruption_setup resolve(std::size_t h, std::size_t w, const corruption_options& o) noexcept {
        corruption_setup s;
        s.cifar = o.table == corruption_table::cifar10 ||
                  (o.table == corruption_table::automatic && std::max(h, w) <= 64);
        const double side = static_cast<double>(std::min(h, w));
        s.scale = !o.scale_spatial ? 1.0 : s.cifar ? std::max(1.0, side / 32.0) : side / 224.0;
        return s;
    }
};

namespace corruptions::detail {

using image3 = xt::xtensor<float, 3>;

/// Height, width, channels of an HWC tensor.
inline std::size_t rows(const image3& x) noexcept { return x.shape()[0]; }
inline std::size_t cols(const image3& x) noexcept { return x.shape()[1]; }
inline std::size_t chans(const image3& x) noexcept { return x.shape()[2]; }

/// An uninitialised h × w × c tensor.
inline image3 make(std::size_t h, std::size_t w, std::size_t c) {
    return image3::from_shape({h, w, c});
}

/// Throws: zoa::error(argument) unless 1 ≤ severity ≤ 5.
inline void check_severity(int severity, std::string_view name) {
    require(severity >= 1 && severity <= 5, error_code::argument, "corruption '", name,
            "': severity must be in 1..5, got ", severity);
}

/// Throws: zoa::error(shape) unless the image is non-empty HWC with 1 or 3 channels;
///         zoa::error(numeric) if a pixel is NaN or infinite (naming its index).
inline void check_image(const image3& x, std::string_view name) {
    require(rows(x) > 0 && cols(x) > 0 && (chans(x) == 1 || chans(x) == 3), error_code::shape, "corruption '",
            name, "': expected an H×W×C image with H, W ≥ 1 and C = 1 or 3, got ", rows(x), "×", cols(x), "×",
            chans(x));
    const float* p = x.data();
    for (std::size_t i = 0; i < x.size(); ++i)
        require(std::isfinite(p[i]), error_code::numeric, "corruption '", name, "': pixel value ", i,
                " of the input is not finite (", p[i], ")");
}

/// Validates both and returns the severity as a 0-based table index.
inline std::size_t check(const image3& x, int severity, std::string_view name) {
    check_severity(severity, name);
    check_image(x, name);
    return static_cast<std::size_t>(severity - 1);
}

/// The severity row of the table the setup selects.
template <class T>
const T& pick(const corruption_setup& s, const std::array<T, 5>& cifar, const std::array<T, 5>& imagenet,
              std::size_t level) noexcept {
    return s.cifar ? cifar[level] : imagenet[level];
}

/// clamp(v, 0, 255), the final clip every corruption applies.
inline float clip255(float v) noexcept { return std::min(255.0f, std::max(0.0f, v)); }
inline float clip01(float v) noexcept { return std::min(1.0f, std::max(0.0f, v)); }

/// Clips every value of x to [0, 255] in place and returns it.
inline image3 clipped(image3 x) {
    float* p = x.data();
    for (std::size_t i = 0; i < x.size(); ++i) p[i] = clip255(p[i]);
    return x;
}

/// Rec. 601 luma, the weights of cv2.COLOR_RGB2GRAY: 0.299 r + 0.587 g + 0.114 b.
inline float luma(float r, float g, float b) noexcept { return 0.299f * r + 0.587f * g + 0.114f * b; }

/// An RGB colour as seen by an image with c channels: itself for c = 3, its luma for c = 1.
inline std::array<float, 3> color_for(std::array<float, 3> rgb, std::size_t c) noexcept {
    if (c == 3) return rgb;
    const float y = luma(rgb[0], rgb[1], rgb[2]);
    return {y, y, y};
}

/// Gray value of pixel p (c channels): the pixel itself when c = 1, the Rec. 601 luma when c = 3.
inline float gray_at(const float* p, std::size_t c) noexcept { return c == 3 ? luma(p[0], p[1], p[2]) : p[0]; }

/// numpy's uniform(lo, hi) = lo + (hi − lo) · u with u ∈ [0, 1) of 53 bits.
inline double uniform(zoa::rng& g, double lo, double hi) noexcept { return lo + (hi - lo) * g.uniform_double(); }

/// numpy's randint(lo, hi): an integer in [lo, hi).
inline int randint(zoa::rng& g, int lo, int hi) noexcept {
    return lo + static_cast<int>(g.uniform_index(static_cast<std::uint32_t>(hi - lo)));
}

}  // namespace corruptions::detail
}  // namespace zoa::data
