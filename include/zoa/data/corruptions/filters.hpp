// zoa — linear filters for the corruptions: border modes, separable Gaussian, 2-D correlation, motion blur
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "zoa/data/corruptions/common.hpp"

namespace zoa::data::corruptions::detail {

/// How a filter reads outside the image (names of scipy.ndimage / OpenCV).
enum class border {
    reflect,     ///< scipy 'reflect' (half-sample symmetric): d c b a | a b c d | d c b a
    nearest,     ///< scipy 'nearest' / ImageMagick edge pixels: a a a | a b c d | d d d
    reflect101,  ///< scipy 'mirror' / cv2 BORDER_REFLECT_101 (OpenCV's default): d c b | a b c d | c b a
};

/// Index into [0, n) that position i (any integer) reads under border mode b (n ≥ 1).
inline std::ptrdiff_t border_index(std::ptrdiff_t i, std::ptrdiff_t n, border b) noexcept {
    if (i >= 0 && i < n) return i;
    if (b == border::nearest || n == 1) return i < 0 ? 0 : n - 1;
    const std::ptrdiff_t period = b == border::reflect ? 2 * n : 2 * n - 2;
    std::ptrdiff_t j = i % period;
    if (j < 0) j += period;
    if (j >= n) j = (b == border::reflect ? 2 * n - 1 : 2 * n - 2) - j;
    return j;
}

/// Table t[p] = border_index(p − pad, n, b) for p in [0, n + 2·pad): source index of each padded position.
inline std::vector<std::ptrdiff_t> border_table(std::size_t n, std::size_t pad, border b) {
    std::vector<std::ptrdiff_t> t(n + 2 * pad);
    for (std::size_t p = 0; p < t.size(); ++p)
        t[p] = border_index(static_cast<std::ptrdiff_t>(p) - static_cast<std::ptrdiff_t>(pad),
                            static_cast<std::ptrdiff_t>(n), b);
    return t;
}

/// scipy.ndimage's Gaussian kernel: radius r = ⌊truncate·σ + 0.5⌋, w[k] = exp(−k² / (2σ²)) / Σ, k ∈ [−r, r].
/// σ ≤ 1e-15 gives the identity {1} (scipy skips such axes).
inline std::vector<float> gaussian_kernel(double sigma, double truncate) {
    if (!(sigma > 1e-15)) return {1.0f};
    const auto r = static_cast<std::ptrdiff_t>(truncate * sigma + 0.5);
    std::vector<double> w(static_cast<std::size_t>(2 * r + 1));
    double sum = 0.0;
    for (std::ptrdiff_t k = -r; k <= r; ++k) {
        const double v = std::exp(-0.5 * static_cast<double>(k * k) / (sigma * sigma));
        w[static_cast<std::size_t>(k + r)] = v;
        sum += v;
    }
    std::vector<float> out(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i] / sum);
    return out;
}

/// The taps of a 1-D correlation along an axis of length n, with reads outside folded back by the border mode:
/// out[o] = Σ_k k[k] · x[border_index(o + k − ⌊|k|/2⌋)] = Σ_j tap.weight[j] · x[tap.first + j]. Taps that land on
/// the same source pixel are merged, so a kernel longer than the axis (elastic_transform's σ ≈ 0.7·244 on a
/// 224-pixel image) costs n, not |k|, per output.
struct folded_taps {
    std::vector<std::size_t> first;    ///< first source index of each output
    std::vector<std::size_t> offset;   ///< offset[o] … offset[o + 1] index `weight` for output o
    std::vector<float> weight;         ///< dense weights over [first, first + count)
};

/// The folded taps of kernel k over an axis of length n with border mode b (see folded_taps).
inline folded_taps fold_kernel(std::size_t n, const std::vector<float>& k, border b) {
    folded_taps t;
    t.first.resize(n);
    t.offset.resize(n + 1, 0);
    const auto r = static_cast<std::ptrdiff_t>(k.size() / 2);
    std::vector<double> dense(n);
    for (std::size_t o = 0; o < n; ++o) {
        std::fill(dense.begin(), dense.end(), 0.0);
        std::size_t lo = n, hi = 0;
        for (std::size_t j = 0; j < k.size(); ++j) {
            const auto src = static_cast<std::size_t>(border_index(
                static_cast<std::ptrdiff_t>(o) + static_cast<std::ptrdiff_t>(j) - r, static_cast<std::ptrdiff_t>(n), b));
            dense[src] += static_cast<double>(k[j]);
            lo = std::min(lo, src);
            hi = std::max(hi, src);
        }
        t.first[o] = lo;
        for (std::size_t s = lo; s <= hi; ++s) t.weight.push_back(static_cast<float>(dense[s]));
        t.offset[o + 1] = t.weight.size();
    }
    return t;
}

/// out[o·len + e] = Σ_j t.weight[j] · in[(t.first[o] + j − t.offset[o])·len + e] for o < n, e < len: a 1-D
/// correlation along the outer axis of an n × len array, one contiguous (vectorisable) row update per tap.
inline void filter_outer_axis(const float* in, float* out, std::size_t n, std::size_t len, const folded_taps& t) {
    for (std::size_t o = 0; o < n; ++o) {
        float* row = out + o * len;
        std::fill(row, row + len, 0.0f);
        for (std::size_t j = t.offset[o]; j < t.offset[o + 1]; ++j) {
            const float wj = t.weight[j];
            const float* src = in + (t.first[o] + (j - t.offset[o])) * len;
            for (std::size_t e = 0; e < len; ++e) row[e] += wj * src[e];
        }
    }
}

/// Swaps the first two axes of an a × b × c array.
inline void transpose01(const float* in, float* out, std::size_t a, std::size_t b, std::size_t c) {
    for (std::size_t i = 0; i < a; ++i)
        for (std::size_t j = 0; j < b; ++j)
            for (std::size_t k = 0; k < c; ++k) out[(j * a + i) * c + k] = in[(i * b + j) * c + k];
}

/// Separable correlation of every channel: y = ky ⋆_rows (kx ⋆_cols x), odd-length kernels centred on their
/// middle tap: t(r, c) = Σ_k kx[k] · x(r, c + k − ⌊|kx|/2⌋) with border mode b, then the same along rows with ky
/// (fold_kernel's merged taps; the column pass runs on the transposed image so both passes are row updates).
inline image3 separable_filter(const image3& x, const std::vector<float>& ky, const std::vector<float>& kx,
                               border b) {
    const std::size_t h = rows(x), w = cols(x), c = chans(x);
    image3 tmp = make(h, w, c), out = make(h, w, c);
    if (kx.size() == 1 && kx[0] == 1.0f) {
        std::copy(x.begin(), x.end(), tmp.begin());
    } else {
        std::vector<float> xt(x.size()), yt(x.size());
        transpose01(x.data(), xt.data(), h, w, c);
        filter_outer_axis(xt.data(), yt.data(), w, h * c, fold_kernel(w, kx, b));
        transpose01(yt.data(), tmp.data(), w, h, c);
    }
    if (ky.size() == 1 && ky[0] == 1.0f) return tmp;
    filter_outer_axis(tmp.data(), out.data(), h, w * c, fold_kernel(h, ky, b));
    return out;
}

/// skimage.filters.gaussian / scipy gaussian_filter over the two spatial axes of every channel
/// (σ on rows and columns, 0 on channels), kernel as gaussian_kernel(σ, truncate).
inline image3 gaussian_filter(const image3& x, double sigma, border b, double truncate = 4.0) {
    const auto k = gaussian_kernel(sigma, truncate);
    return separable_filter(x, k, k, b);
}

/// cv2.blur(x, (3, 3)): y(r, c) = (1/9) Σ_{|i|,|j| ≤ 1} x(r + i, c + j), BORDER_REFLECT_101.
inline image3 box3(const image3& x) {
    const std::vector<float> k{1.0f / 3.0f, 1.0f / 3.0f, 1.0f / 3.0f};
    return separable_filter(x, k, k, border::reflect101);
}

/// 2-D correlation of every channel with a kh × kw kernel (row-major, centre at (kh/2, kw/2)):
/// y(r, c) = Σ_{i,j} k[i][j] · x(r + i − kh/2, c + j − kw/2) with border mode b (cv2.filter2D semantics).
/// Evaluated tap by tap (zero taps skipped), each tap adding a shifted row: contiguous in the interior, through
/// the border table at the edges.
inline image3 correlate2d(const image3& x, const std::vector<float>& k, std::size_t kh, std::size_t kw, border b) {
    const std::size_t h = rows(x), w = cols(x), c = chans(x);
    const auto tx = border_table(w, kw / 2, b), ty = border_table(h, kh / 2, b);
    image3 out = make(h, w, c);
    std::fill(out.begin(), out.end(), 0.0f);
    const float* in = x.data();
    float* o = out.data();
    const auto wi = static_cast<std::ptrdiff_t>(w);
    for (std::size_t i = 0; i < kh; ++i)
        for (std::size_t j = 0; j < kw; ++j) {
            const float kv = k[i * kw + j];
            if (kv == 0.0f) continue;
            const std::ptrdiff_t d = static_cast<std::ptrdiff_t>(j) - static_cast<std::ptrdiff_t>(kw / 2);
            const auto lo = static_cast<std::size_t>(std::min(wi, std::max<std::ptrdiff_t>(0, -d)));
            const auto hi = static_cast<std::size_t>(std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(lo),
                                                                              std::min(wi, wi - d)));
            for (std::size_t r = 0; r < h; ++r) {
                const float* src = in + static_cast<std::size_t>(ty[r + i]) * w * c;
                float* dst = o + r * w * c;
                for (std::size_t q = 0; q < lo; ++q)
                    for (std::size_t ch = 0; ch < c; ++ch)
                        dst[q * c + ch] += kv * src[static_cast<std::size_t>(tx[q + j]) * c + ch];
                const float* s = src + static_cast<std::size_t>(static_cast<std::ptrdiff_t>(lo) + d) * c;
                for (std::size_t e = lo * c; e < hi * c; ++e) dst[e] += kv * s[e - lo * c];
                for (std::size_t q = hi; q < w; ++q)
                    for (std::size_t ch = 0; ch < c; ++ch)
                        dst[q * c + ch] += kv * src[static_cast<std::size_t>(tx[q + j]) * c + ch];
            }
        }
    return out;
}

/// ImageMagick's motion-blur kernel (MagickCore effect.c, MotionBlurImage + GetMotionBlurKernel):
/// width n = 2⌈radius⌉ + 1 (GetOptimalKernelWidth1D for radius > 0); one-sided Gaussian
/// weight[i] = exp(−i² / (2σ²)) / Σ_j exp(−j² / (2σ²)), i = 0 … n−1;
/// offsets along the angle a (degrees): dx[i] = ⌈i·cos a − 0.5⌉, dy[i] = ⌈i·sin a − 0.5⌉
/// (computed as i·(n cos a)/hypot(n sin a, n cos a), exactly as MagickCore does).
struct motion_kernel {
    std::vector<float> weight;
    std::vector<int> dx, dy;
};

/// Requires: radius > 0, sigma > 0.
inline motion_kernel make_motion_kernel(double radius, double sigma, double angle_degrees) {
    const auto n = static_cast<std::size_t>(2.0 * std::ceil(radius) + 1.0);
    motion_kernel k;
    k.weight.resize(n);
    k.dx.resize(n);
    k.dy.resize(n);
    std::vector<double> w(n);
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto di = static_cast<double>(i);
        w[i] = std::exp(-(di * di) / (2.0 * sigma * sigma));
        sum += w[i];
    }
    const double a = angle_degrees * 3.14159265358979323846 / 180.0;
    const double px = static_cast<double>(n) * std::sin(a), py = static_cast<double>(n) * std::cos(a);
    const double hyp = std::hypot(px, py);
    for (std::size_t i = 0; i < n; ++i) {
        const auto di = static_cast<double>(i);
        k.weight[i] = static_cast<float>(w[i] / sum);
        k.dx[i] = static_cast<int>(std::ceil(di * py / hyp - 0.5));
        k.dy[i] = static_cast<int>(std::ceil(di * px / hyp - 0.5));
    }
    return k;
}

/// Motion blur: y(r, c) = Σ_i weight[i] · x(r + dy[i], c + dx[i]), reads outside the image clamp to the edge
/// (ImageMagick's default 'edge' virtual pixels).
inline image3 motion_blur_apply(const image3& x, const motion_kernel& k) {
    const auto h = static_cast<std::ptrdiff_t>(rows(x)), w = static_cast<std::ptrdiff_t>(cols(x));
    const std::size_t c = chans(x);
    image3 out = make(rows(x), cols(x), c);
    const float* in = x.data();
    float* o = out.data();
    std::vector<float> acc(c);
    for (std::ptrdiff_t r = 0; r < h; ++r)
        for (std::ptrdiff_t q = 0; q < w; ++q) {
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (std::size_t i = 0; i < k.weight.size(); ++i) {
                const std::ptrdiff_t rr = std::min(h - 1, std::max<std::ptrdiff_t>(0, r + k.dy[i]));
                const std::ptrdiff_t qq = std::min(w - 1, std::max<std::ptrdiff_t>(0, q + k.dx[i]));
                const float* p = in + static_cast<std::size_t>(rr * w + qq) * c;
                for (std::size_t ch = 0; ch < c; ++ch) acc[ch] += k.weight[i] * p[ch];
            }
            for (std::size_t ch = 0; ch < c; ++ch) o[static_cast<std::size_t>(r * w + q) * c + ch] = acc[ch];
        }
    return out;
}

}  // namespace zoa::data::corruptions::detail
