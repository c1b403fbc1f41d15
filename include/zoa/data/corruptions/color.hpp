// zoa — skimage-compatible RGB ↔ HSV conversion and an HSV-editing helper for brightness and saturate
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#include "zoa/data/corruptions/common.hpp"

namespace zoa::data::corruptions::detail {

/// skimage.color.rgb2hsv for one pixel in [0, 1]: v = max, δ = max − min, s = δ / v (0 when δ = 0),
/// h = ((g − b)/δ if r = v; 2 + (b − r)/δ if g = v; 4 + (r − g)/δ if b = v; later tests win) / 6 mod 1,
/// h = 0 when δ = 0.
inline std::array<double, 3> rgb_to_hsv(double r, double g, double b) noexcept {
    const double v = std::max(r, std::max(g, b));
    const double delta = v - std::min(r, std::min(g, b));
    if (delta == 0.0) return {0.0, 0.0, v};
    double h = 0.0;
    if (r == v) h = (g - b) / delta;
    if (g == v) h = 2.0 + (b - r) / delta;
    if (b == v) h = 4.0 + (r - g) / delta;
    h /= 6.0;
    h -= std::floor(h);  // Python's % 1.0 (result in [0, 1))
    return {h, delta / v, v};
}

/// skimage.color.hsv2rgb for one pixel: i = ⌊6h⌋ mod 6, f = 6h − ⌊6h⌋, p = v(1 − s), q = v(1 − f s),
/// t = v(1 − (1 − f) s); (r, g, b) = (v,t,p), (q,v,p), (p,v,t), (p,q,v), (t,p,v), (v,p,q) for i = 0 … 5.
inline std::array<double, 3> hsv_to_rgb(double h, double s, double v) noexcept {
    const double h6 = h * 6.0, fl = std::floor(h6);
    const double f = h6 - fl;
    int i = static_cast<int>(fl) % 6;
    if (i < 0) i += 6;
    const double p = v * (1.0 - s), q = v * (1.0 - f * s), t = v * (1.0 - (1.0 - f) * s);
    switch (i) {
        case 0: return {v, t, p};
        case 1: return {q, v, p};
        case 2: return {p, v, t};
        case 3: return {p, q, v};
        case 4: return {t, p, v};
        default: return {v, p, q};
    }
}

/// Applies fn(h, s, v) → (h, s, v) to every pixel of x (values in [0, 255], converted to [0, 1] for HSV and
/// back), clips to [0, 255]. A 1-channel image is treated as the gray RGB image (y, y, y) and converted back
/// with the Rec. 601 luma.
template <class Fn>
image3 edit_hsv(const image3& x, Fn&& fn) {
    const std::size_t n = rows(x) * cols(x), c = chans(x);
    image3 out = make(rows(x), cols(x), c);
    const float* in = x.data();
    float* o = out.data();
    for (std::size_t i = 0; i < n; ++i) {
        const float* p = in + i * c;
        const double r = p[0] / 255.0, g = (c == 3 ? p[1] : p[0]) / 255.0, b = (c == 3 ? p[2] : p[0]) / 255.0;
        auto hsv = rgb_to_hsv(r, g, b);
        hsv = fn(hsv);
        const auto rgb = hsv_to_rgb(hsv[0], hsv[1], hsv[2]);
        if (c == 3) {
            for (std::size_t ch = 0; ch < 3; ++ch) o[i * 3 + ch] = clip255(static_cast<float>(rgb[ch] * 255.0));
        } else {
            o[i] = clip255(luma(static_cast<float>(rgb[0]), static_cast<float>(rgb[1]), static_cast<float>(rgb[2])) *
                           255.0f);
        }
    }
    return out;
}

}  // namespace zoa::data::corruptions::detail
