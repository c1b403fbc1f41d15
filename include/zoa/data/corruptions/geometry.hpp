// zoa — resampling for the corruptions: PIL BOX resize, scipy-style clipped zoom, bilinear sampling, affine warp
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include "zoa/data/corruptions/common.hpp"
#include "zoa/data/corruptions/filters.hpp"

namespace zoa::data::corruptions::detail {

/// One output sample of a 1-D resampling: y[o] = Σ_k weight[k] · x[first + k].
struct resample_tap {
    std::size_t first = 0;
    std::vector<float> weight;
};

/// Pillow's precompute_coeffs for the BOX filter (support 0.5), full-image box:
/// scale = n_in / n_out, fs = max(scale, 1), support = 0.5·fs, centre = (o + 0.5)·scale,
/// taps x ∈ [⌊centre − support + 0.5⌋, ⌊centre + support + 0.5⌋) ∩ [0, n_in),
/// w(x) = box((x − centre + 0.5) / fs) with box(t) = 1 for −0.5 < t ≤ 0.5 else 0, normalised to sum 1.
inline std::vector<resample_tap> pil_box_taps(std::size_t n_in, std::size_t n_out) {
    const double scale = static_cast<double>(n_in) / static_cast<double>(n_out);
    const double fs = scale < 1.0 ? 1.0 : scale, support = 0.5 * fs;
    std::vector<resample_tap> taps(n_out);
    for (std::size_t o = 0; o < n_out; ++o) {
        const double centre = (static_cast<double>(o) + 0.5) * scale;
        const auto lo = std::max<std::ptrdiff_t>(0, static_cast<std::ptrdiff_t>(centre - support + 0.5));
        const auto hi = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(n_in),
                                                 static_cast<std::ptrdiff_t>(centre + support + 0.5));
        resample_tap& t = taps[o];
        t.first = static_cast<std::size_t>(lo);
        double sum = 0.0;
        std::vector<double> w;
        for (std::ptrdiff_t x = lo; x < hi; ++x) {
            const double u = (static_cast<double>(x) - centre + 0.5) / fs;
            w.push_back(u > -0.5 && u <= 0.5 ? 1.0 : 0.0);
            sum += w.back();
        }
        for (const double v : w) t.weight.push_back(static_cast<float>(sum != 0.0 ? v / sum : 0.0));
    }
    return taps;
}

/// PIL Image.resize((out_w, out_h), BOX) in float: horizontal pass, then vertical pass, each
/// y[o] = Σ_k w_k x[first + k] with pil_box_taps (Pillow rounds each pass to uint8; we do not).
inline image3 pil_box_resize(const image3& x, std::size_t out_h, std::size_t out_w) {
    const std::size_t h = rows(x), w = cols(x), c = chans(x);
    const auto tx = pil_box_taps(w, out_w), ty = pil_box_taps(h, out_h);
    image3 tmp = make(h, out_w, c), out = make(out_h, out_w, c);
    const float* in = x.data();
    float* t = tmp.data();
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < out_w; ++q)
            for (std::size_t ch = 0; ch < c; ++ch) {
                float acc = 0.0f;
                for (std::size_t k = 0; k < tx[q].weight.size(); ++k)
                    acc += tx[q].weight[k] * in[(r * w + tx[q].first + k) * c + ch];
                t[(r * out_w + q) * c + ch] = acc;
            }
    float* o = out.data();
    for (std::size_t r = 0; r < out_h; ++r)
        for (std::size_t q = 0; q < out_w; ++q)
            for (std::size_t ch = 0; ch < c; ++ch) {
                float acc = 0.0f;
                for (std::size_t k = 0; k < ty[r].weight.size(); ++k)
                    acc += ty[r].weight[k] * t[((ty[r].first + k) * out_w + q) * c + ch];
                o[(r * out_w + q) * c + ch] = acc;
            }
    return out;
}

/// One output sample of linear interpolation: y = (1 − f)·x[i0] + f·x[i1].
struct linear_tap {
    std::size_t i0 = 0, i1 = 0;
    float f = 0.0f;
};

/// The rows (or columns) of hendrycks' clipped_zoom along an axis of length n for factor z ≥ 1:
/// crop m = ⌈n / z⌉ centred at top = ⌊(n − m)/2⌋, scipy.ndimage.zoom(order=1) to N = round_half_even(m·z)
/// samples (input coordinate of output o = o·(m − 1)/(N − 1)), keep N's centre [t, t + n), t = ⌊(N − n)/2⌋.
inline std::vector<linear_tap> clipped_zoom_taps(std::size_t n, double z) {
    const auto m = static_cast<std::size_t>(std::ceil(static_cast<double>(n) / z));
    const std::size_t top = (n - std::min(n, m)) / 2;
    const auto big = static_cast<std::size_t>(std::nearbyint(static_cast<double>(m) * z));
    const std::size_t trim = big > n ? (big - n) / 2 : 0;
    const double ratio = big > 1 ? static_cast<double>(m - 1) / static_cast<double>(big - 1) : 0.0;
    std::vector<linear_tap> taps(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double pos = static_cast<double>(top) + static_cast<double>(trim + i) * ratio;
        const double fl = std::floor(pos);
        linear_tap& t = taps[i];
        t.i0 = std::min(n - 1, static_cast<std::size_t>(fl));
        t.i1 = std::min(n - 1, t.i0 + 1);
        t.f = static_cast<float>(pos - fl);
    }
    return taps;
}

/// Separable linear resampling y(r, c) = lerp_rows(lerp_cols(x)) with per-axis taps (one per output pixel).
inline image3 resample_linear(const image3& x, const std::vector<linear_tap>& ty, const std::vector<linear_tap>& tx) {
    const std::size_t w = cols(x), c = chans(x);
    image3 out = make(ty.size(), tx.size(), c);
    const float* in = x.data();
    float* o = out.data();
    for (std::size_t r = 0; r < ty.size(); ++r) {
        const float* a = in + ty[r].i0 * w * c;
        const float* b = in + ty[r].i1 * w * c;
        const float fy = ty[r].f;
        for (std::size_t q = 0; q < tx.size(); ++q) {
            const std::size_t j0 = tx[q].i0 * c, j1 = tx[q].i1 * c;
            const float fx = tx[q].f;
            for (std::size_t ch = 0; ch < c; ++ch) {
                const float top = a[j0 + ch] + fx * (a[j1 + ch] - a[j0 + ch]);
                const float bot = b[j0 + ch] + fx * (b[j1 + ch] - b[j0 + ch]);
                o[(r * tx.size() + q) * c + ch] = top + fy * (bot - top);
            }
        }
    }
    return out;
}

/// hendrycks' clipped_zoom(x, z) generalised to H ≠ W (each axis uses its own length): same shape as x.
inline image3 clipped_zoom(const image3& x, double z) {
    return resample_linear(x, clipped_zoom_taps(rows(x), z), clipped_zoom_taps(cols(x), z));
}

/// Bilinear sample of every channel at (row fr, column fc) on the border-extended grid:
/// i = ⌊fr⌋, j = ⌊fc⌋, a = fr − i, b = fc − j,
/// out = (1−a)(1−b) x[i, j] + (1−a) b x[i, j+1] + a (1−b) x[i+1, j] + a b x[i+1, j+1], indices via border_index.
inline void sample_bilinear(const image3& x, double fr, double fc, border bd, float* out) noexcept {
    const auto h = static_cast<std::ptrdiff_t>(rows(x)), w = static_cast<std::ptrdiff_t>(cols(x));
    const std::size_t c = chans(x);
    const double flr = std::floor(fr), flc = std::floor(fc);
    const auto i = static_cast<std::ptrdiff_t>(flr), j = static_cast<std::ptrdiff_t>(flc);
    const auto a = static_cast<float>(fr - flr), b = static_cast<float>(fc - flc);
    const auto i0 = border_index(i, h, bd), i1 = border_index(i + 1, h, bd);
    const auto j0 = border_index(j, w, bd), j1 = border_index(j + 1, w, bd);
    const float* p = x.data();
    const float* p00 = p + static_cast<std::size_t>(i0 * w + j0) * c;
    const float* p01 = p + static_cast<std::size_t>(i0 * w + j1) * c;
    const float* p10 = p + static_cast<std::size_t>(i1 * w + j0) * c;
    const float* p11 = p + static_cast<std::size_t>(i1 * w + j1) * c;
    for (std::size_t ch = 0; ch < c; ++ch) {
        const float top = p00[ch] + b * (p01[ch] - p00[ch]);
        const float bot = p10[ch] + b * (p11[ch] - p10[ch]);
        out[ch] = top + a * (bot - top);
    }
}

/// cv2.getAffineTransform: the 2×3 matrix M = [m0 m1 m2; m3 m4 m5] with M·(x_k, y_k, 1) = (u_k, v_k), k = 0, 1, 2,
/// solved by Cramer's rule. Points are (x, y) = (column, row). Throws zoa::error(numeric) on collinear points.
inline std::array<double, 6> affine_from_points(const std::array<std::array<double, 2>, 3>& src,
                                                const std::array<std::array<double, 2>, 3>& dst) {
    const double det = src[0][0] * (src[1][1] - src[2][1]) - src[0][1] * (src[1][0] - src[2][0]) +
                       (src[1][0] * src[2][1] - src[2][0] * src[1][1]);
    require(std::fabs(det) > 1e-12, error_code::numeric, "affine_from_points: the 3 source points are collinear");
    std::array<double, 6> m{};
    for (std::size_t row = 0; row < 2; ++row) {
        const double u0 = dst[0][row], u1 = dst[1][row], u2 = dst[2][row];
        // Solve [x_k y_k 1]·(a, b, c) = u_k.
        m[row * 3 + 0] = (u0 * (src[1][1] - src[2][1]) - src[0][1] * (u1 - u2) + (u1 * src[2][1] - u2 * src[1][1])) / det;
        m[row * 3 + 1] = (src[0][0] * (u1 - u2) - u0 * (src[1][0] - src[2][0]) + (src[1][0] * u2 - src[2][0] * u1)) / det;
        m[row * 3 + 2] = (src[0][0] * (src[1][1] * u2 - src[2][1] * u1) - src[0][1] * (src[1][0] * u2 - src[2][0] * u1) +
                          u0 * (src[1][0] * src[2][1] - src[2][0] * src[1][1])) /
                         det;
    }
    return m;
}

/// cv2.warpAffine(x, M, (W, H), INTER_LINEAR, border): y(r, c) = bilinear x at M⁻¹·(c, r) (exact bilinear; OpenCV
/// quantises the sample position to 1/32 pixel).
inline image3 warp_affine(const image3& x, const std::array<double, 6>& m, border bd) {
    const double det = m[0] * m[4] - m[1] * m[3];
    require(std::fabs(det) > 1e-12, error_code::numeric, "warp_affine: the affine matrix is singular");
    const double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
    const double cx = -(a * m[2] + b * m[5]), cy = -(d * m[2] + e * m[5]);
    const std::size_t h = rows(x), w = cols(x), c = chans(x);
    image3 out = make(h, w, c);
    for (std::size_t r = 0; r < h; ++r)
        for (std::size_t q = 0; q < w; ++q) {
            const auto u = static_cast<double>(q), v = static_cast<double>(r);
            sample_bilinear(x, d * u + e * v + cy, a * u + b * v + cx, bd, out.data() + (r * w + q) * c);
        }
    return out;
}

}  // namespace zoa::data::corruptions::detail
