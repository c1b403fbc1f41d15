// zoa — pooling over NCHW and NHWC batches: max-pool (torchvision's 3×3/2 pad 1 stem) and global average pooling
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"

namespace zoa::nn {

/// Output extent of a pooling window: (in + 2·pad − kernel) / stride + 1 (floor, PyTorch ceil_mode=False).
/// Throws: zoa::error(shape) when the window does not fit or pad > kernel/2 (PyTorch's rule).
template <class = void>
inline std::size_t pool_out_size(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t pad) {
    require(kernel > 0 && stride > 0 && 2 * pad <= kernel && in + 2 * pad >= kernel, error_code::shape,
            "max_pool2d: kernel ", kernel, ", stride ", stride, ", pad ", pad, " do not fit an input of extent ", in);
    return (in + 2 * pad - kernel) / stride + 1;
}

/// torch.nn.MaxPool2d(kernel, stride, pad) on x [n × c × h × w] → y [n × c × oh × ow]:
///   y[p, oy, ox] = max over the in-bounds taps (oy·stride − pad + ky, ox·stride − pad + kx), ky, kx < kernel
/// (padding is −∞, i.e. ignored). NaN propagates as in PyTorch (a NaN tap makes the output NaN).
/// Threads: planes over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers or a zero extent, zoa::error(shape) as pool_out_size.
template <class = void>
inline void max_pool2d(const float* x, float* y, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                       std::size_t kernel, std::size_t stride, std::size_t pad, execution_context& ctx) {
    require(x != nullptr && y != nullptr, error_code::argument, "max_pool2d: input or output is null");
    require(n > 0 && c > 0 && h > 0 && w > 0, error_code::argument, "max_pool2d: zero extent (", n, "x", c, "x", h,
            "x", w, ")");
    const std::size_t oh = pool_out_size(h, kernel, stride, pad), ow = pool_out_size(w, kernel, stride, pad);
    // Separable: hm[y, ox] = max over the in-bounds kx of row y, then y[oy, ox] = max over the in-bounds ky of hm.
    // Taps are visited in the same row-major order as the 2-D loop with the same update rule
    //   m ← (v > m or v is NaN) ? v : m   (m starts at −∞; a NaN m stays NaN),
    // so the result (the first maximal tap, or NaN) is the same; the vertical pass runs on contiguous rows (SIMD).
    // For the ResNet stem window (3, stride 2, pad 1) the row maxima come from the row split into even and odd
    // columns, E[j] = row[2j], O[j] = row[2j + 1]: hm[ox] = update(update(O[ox − 1], E[ox]), O[ox]) over the in-bounds
    // taps, the same taps in the same order (update(−∞, v) = v), on contiguous arrays the compiler vectorizes.
    const auto update = [](float m, float v) { return ((v > m) | (v != v)) ? v : m; };
    const bool stem = kernel == 3 && stride == 2 && pad == 1;
    ctx.parallel_for(n * c, [&](std::size_t p0, std::size_t p1) {
        std::vector<float> hm(h * ow), even((w + 1) / 2), odd(w / 2);
        for (std::size_t p = p0; p < p1; ++p) {
            const float* src = x + p * h * w;
            float* dst = y + p * oh * ow;
            for (std::size_t r = 0; r < h; ++r) {
                const float* row = src + r * w;
                float* hr = hm.data() + r * ow;
                if (stem) {
                    const std::size_t ne = even.size(), no = odd.size();  // ow == ne
                    for (std::size_t j = 0; j < ne; ++j) even[j] = row[2 * j];
                    for (std::size_t j = 0; j < no; ++j) odd[j] = row[2 * j + 1];
                    hr[0] = no > 0 ? update(even[0], odd[0]) : even[0];
                    const std::size_t full = std::max<std::size_t>(1, std::min(ow, no));
                    for (std::size_t ox = 1; ox < full; ++ox) hr[ox] = update(update(odd[ox - 1], even[ox]), odd[ox]);
                    for (std::size_t ox = full; ox < ow; ++ox) hr[ox] = update(odd[ox - 1], even[ox]);
                    continue;
                }
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    const std::size_t x0 = ox * stride;  // padded coordinate of the first tap
                    const std::size_t k0 = x0 < pad ? pad - x0 : 0;
                    const std::size_t k1 = w + pad > x0 ? std::min(kernel, w + pad - x0) : 0;
                    float m = -std::numeric_limits<float>::infinity();
                    for (std::size_t kx = k0; kx < k1; ++kx) m = update(m, row[x0 + kx - pad]);
                    hr[ox] = m;
                }
            }
            for (std::size_t oy = 0; oy < oh; ++oy) {
                const std::size_t y0 = oy * stride;
                const std::size_t k0 = y0 < pad ? pad - y0 : 0;
                const std::size_t k1 = h + pad > y0 ? std::min(kernel, h + pad - y0) : 0;
                float* out = dst + oy * ow;
                for (std::size_t ox = 0; ox < ow; ++ox) out[ox] = -std::numeric_limits<float>::infinity();
                for (std::size_t ky = k0; ky < k1; ++ky) {
                    const float* hr = hm.data() + (y0 + ky - pad) * ow;
                    for (std::size_t ox = 0; ox < ow; ++ox) out[ox] = update(out[ox], hr[ox]);
                }
            }
        }
    });
}

/// Global average pooling (AdaptiveAvgPool2d(1) + flatten) on x [n × c × hw] → y [n × c]:
///   y[k, ch] = fl( (Σ_i x[k, ch, i]) / hw ), the sum in double: eight partial sums s_j = Σ_{i ≡ j mod 8} x[i]
///   (independent chains, so the adds pipeline), then ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
/// Threads: planes over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers or a zero extent.
template <class = void>
inline void global_avg_pool(const float* x, float* y, std::size_t n, std::size_t c, std::size_t hw,
                            execution_context& ctx) {
    require(x != nullptr && y != nullptr, error_code::argument, "global_avg_pool: input or output is null");
    require(n > 0 && c > 0 && hw > 0, error_code::argument, "global_avg_pool: zero extent (", n, "x", c, "x", hw, ")");
    ctx.parallel_for(n * c, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const float* src = x + p * hw;
            double s[8] = {};
            std::size_t i = 0;
            for (; i + 8 <= hw; i += 8)
                for (std::size_t j = 0; j < 8; ++j) s[j] += static_cast<double>(src[i + j]);
            for (std::size_t j = 0; i < hw; ++i, ++j) s[j] += static_cast<double>(src[i]);
            const double sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            y[p] = static_cast<float>(sum / static_cast<double>(hw));
        }
    });
}

/// max_pool2d on channels-last data x [n × h × w × c] → y [n × oh × ow × c]: y[p, oy, ox, ch] = the largest of the
/// in-bounds taps (padding ignored), for integer codes (the ResNet integer path pools the stem's codes: quantization
/// is monotone, so the codes of the pooled floats are the pooled codes) or floats (NaN wins, as max_pool2d).
/// Threads: output rows over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers or a zero extent, zoa::error(shape) as pool_out_size.
template <class T>
void max_pool2d_nhwc(const T* x, T* y, std::size_t n, std::size_t h, std::size_t w, std::size_t c, std::size_t kernel,
                     std::size_t stride, std::size_t pad, execution_context& ctx) {
    require(x != nullptr && y != nullptr, error_code::argument, "max_pool2d_nhwc: input or output is null");
    require(n > 0 && c > 0 && h > 0 && w > 0, error_code::argument, "max_pool2d_nhwc: zero extent (", n, "x", h, "x",
            w, "x", c, ")");
    const std::size_t oh = pool_out_size(h, kernel, stride, pad), ow = pool_out_size(w, kernel, stride, pad);
    ctx.parallel_for(n * oh, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const std::size_t b = r / oh, oy = r % oh;
            const std::size_t y0 = oy * stride, ky0 = y0 < pad ? pad - y0 : 0;
            const std::size_t ky1 = h + pad > y0 ? std::min(kernel, h + pad - y0) : 0;
            for (std::size_t ox = 0; ox < ow; ++ox) {
                const std::size_t x0 = ox * stride, kx0 = x0 < pad ? pad - x0 : 0;
                const std::size_t kx1 = w + pad > x0 ? std::min(kernel, w + pad - x0) : 0;
                T* out = y + ((b * oh + oy) * ow + ox) * c;
                if constexpr (!std::is_floating_point_v<T>) {
                    // codes: 64-channel chunks maxed in a local array, one store per chunk (the output cannot alias
                    // the input there, so the loops vectorize)
                    for (std::size_t c0 = 0; c0 < c; c0 += 64) {
                        const std::size_t len = std::min<std::size_t>(64, c - c0);
                        T m[64];
                        bool any = false;
                        for (std::size_t ky = ky0; ky < ky1; ++ky)
                            for (std::size_t kx = kx0; kx < kx1; ++kx) {
                                const T* in = x + ((b * h + (y0 + ky - pad)) * w + (x0 + kx - pad)) * c + c0;
                                if (!any) {
                                    std::copy(in, in + len, m);
                                    any = true;
                                } else if (len == 64) {
                                    for (std::size_t j = 0; j < 64; ++j) m[j] = in[j] > m[j] ? in[j] : m[j];
                                } else {
                                    for (std::size_t j = 0; j < len; ++j) m[j] = in[j] > m[j] ? in[j] : m[j];
                                }
                            }
                        if (any) std::copy(m, m + len, out + c0);
                    }
                    continue;
                }
                bool first = true;
                for (std::size_t ky = ky0; ky < ky1; ++ky)
                    for (std::size_t kx = kx0; kx < kx1; ++kx) {
                        const T* in = x + ((b * h + (y0 + ky - pad)) * w + (x0 + kx - pad)) * c;
                        if (first) {
                            std::copy(in, in + c, out);
                            first = false;
                            continue;
                        }
                        for (std::size_t ch = 0; ch < c; ++ch) {
                            const T v = in[ch], m = out[ch];
                            if constexpr (std::is_floating_point_v<T>) out[ch] = ((v > m) | (v != v)) ? v : m;
                            else out[ch] = v > m ? v : m;
                        }
                    }
            }
        }
    });
}

/// global_avg_pool on channels-last data: y[k, ch] = the same double sums as global_avg_pool of the NCHW transpose
/// (eight partial sums s_j over the pixels i ≡ j mod 8, combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)),
/// then fl(sum / hw)), bit for bit, with value(i) = the float of element i = pixel·c + ch of image k: x[i] for
/// floats, or the codes' x̂ = fl(float(q − z)·s) (global_avg_pool_nhwc_codes).
/// Threads: (image, 64-channel group) tasks over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers or a zero extent.
template <class Value>
void global_avg_pool_nhwc_values(Value&& value, float* y, std::size_t n, std::size_t hw, std::size_t c,
                                 execution_context& ctx) {
    require(y != nullptr, error_code::argument, "global_avg_pool_nhwc: output is null");
    require(n > 0 && c > 0 && hw > 0, error_code::argument, "global_avg_pool_nhwc: zero extent (", n, "x", hw, "x", c,
            ")");
    constexpr std::size_t group = 64;
    const std::size_t groups = (c + group - 1) / group;
    ctx.parallel_for(n * groups, [&](std::size_t t0, std::size_t t1) {
        double s[8][group];
        for (std::size_t t = t0; t < t1; ++t) {
            const std::size_t k = t / groups, c0 = (t % groups) * group, len = std::min(group, c - c0);
            for (auto& row : s) std::fill(row, row + group, 0.0);
            for (std::size_t i = 0; i < hw; ++i) {
                const std::size_t base = (k * hw + i) * c + c0;
                double* acc = s[i % 8];
                for (std::size_t j = 0; j < len; ++j) acc[j] += static_cast<double>(value(base + j));
            }
            for (std::size_t j = 0; j < len; ++j) {
                const double sum = ((s[0][j] + s[1][j]) + (s[2][j] + s[3][j])) + ((s[4][j] + s[5][j]) + (s[6][j] + s[7][j]));
                y[k * c + c0 + j] = static_cast<float>(sum / static_cast<double>(hw));
            }
        }
    });
}

/// global_avg_pool of channels-last floats x [n × hw × c] → y [n × c] (see global_avg_pool_nhwc_values).
template <class = void>
inline void global_avg_pool_nhwc(const float* x, float* y, std::size_t n, std::size_t hw, std::size_t c,
                                 execution_context& ctx) {
    require(x != nullptr, error_code::argument, "global_avg_pool_nhwc: input is null");
    global_avg_pool_nhwc_values([x](std::size_t i) { return x[i]; }, y, n, hw, c, ctx);
}

/// global_avg_pool of the dequantized codes x̂ = fl(float(q − zero_point)·scale) of channels-last q [n × hw × c].
template <class T>
void global_avg_pool_nhwc_codes(const T* q, float scale, std::int32_t zero_point, float* y, std::size_t n,
                                std::size_t hw, std::size_t c, execution_context& ctx) {
    require(q != nullptr, error_code::argument, "global_avg_pool_nhwc: input is null");
    global_avg_pool_nhwc_values(
        [=](std::size_t i) { return static_cast<float>(std::int32_t{q[i]} - zero_point) * scale; }, y, n, hw, c, ctx);
}

}  // namespace zoa::nn
