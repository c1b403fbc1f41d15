// zoa — pooling over NCHW batches: max-pool (torchvision's 3×3/2 pad 1 stem) and global average pooling
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"

namespace zoa::nn {

/// Output extent of a pooling window: (in + 2·pad − kernel) / stride + 1 (floor, PyTorch ceil_mode=False).
/// Throws: zoa::error(shape) when the window does not fit or pad > kernel/2 (PyTorch's rule).
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
inline void max_pool2d(const float* x, float* y, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                       std::size_t kernel, std::size_t stride, std::size_t pad, execution_context& ctx) {
    require(x != nullptr && y != nullptr, error_code::argument, "max_pool2d: input or output is null");
    require(n > 0 && c > 0 && h > 0 && w > 0, error_code::argument, "max_pool2d: zero extent (", n, "x", c, "x", h,
            "x", w, ")");
    const std::size_t oh = pool_out_size(h, kernel, stride, pad), ow = pool_out_size(w, kernel, stride, pad);
    ctx.parallel_for(n * c, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const float* src = x + p * h * w;
            float* dst = y + p * oh * ow;
            for (std::size_t oy = 0; oy < oh; ++oy) {
                const std::size_t y0 = oy * stride;  // padded coordinates
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    const std::size_t x0 = ox * stride;
                    float m = -std::numeric_limits<float>::infinity();
                    for (std::size_t ky = 0; ky < kernel; ++ky) {
                        if (y0 + ky < pad || y0 + ky - pad >= h) continue;
                        const float* row = src + (y0 + ky - pad) * w;
                        for (std::size_t kx = 0; kx < kernel; ++kx) {
                            if (x0 + kx < pad || x0 + kx - pad >= w) continue;
                            const float v = row[x0 + kx - pad];
                            if (v > m || std::isnan(v)) m = v;
                            if (std::isnan(m)) break;
                        }
                    }
                    dst[oy * ow + ox] = m;
                }
            }
        }
    });
}

/// Global average pooling (AdaptiveAvgPool2d(1) + flatten) on x [n × c × hw] → y [n × c]:
///   y[k, ch] = fl( (Σ_i x[k, ch, i]) / hw ), the sum in double.
/// Threads: planes over ctx (bit-identical for any thread count).
/// Throws: zoa::error(argument) for null pointers or a zero extent.
inline void global_avg_pool(const float* x, float* y, std::size_t n, std::size_t c, std::size_t hw,
                            execution_context& ctx) {
    require(x != nullptr && y != nullptr, error_code::argument, "global_avg_pool: input or output is null");
    require(n > 0 && c > 0 && hw > 0, error_code::argument, "global_avg_pool: zero extent (", n, "x", c, "x", hw, ")");
    ctx.parallel_for(n * c, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const float* src = x + p * hw;
            double s = 0.0;
            for (std::size_t i = 0; i < hw; ++i) s += src[i];
            y[p] = static_cast<float>(s / static_cast<double>(hw));
        }
    });
}

}  // namespace zoa::nn
