// zoa — reference (direct seven-loop) convolutions: the oracles for kernels::conv2d_q8 and kernels::conv2d_f32
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>

#include "zoa/core/error.hpp"
#include "zoa/kernels/im2col.hpp"
#include "zoa/kernels/output_stage.hpp"

namespace zoa::kernels::reference {

/// y[b,o,oy,ox] = stage(sum_{c,kh,kw} (xv - za) * (w[o,c,kh,kw] - zw[o])), xv = x[b,c,iy,ix] inside the image and
/// za outside (iy = oy*sh + kh - ph, ix = ox*sw + kw - pw). Weights OIHW; output NCHW at stage.c (layout ignored).
/// Throws: zoa::error(shape) from s.validate(); zoa::error(argument) from the output stage's checks (null output,
/// wrong scale/multiplier counts). Inputs are trusted: no pointer or code-range checks here.
template <class ARange, class WRange, class Stage>
void conv2d_q8(const conv2d_shape& s, const typename ARange::storage* x, std::int32_t x_zero_point,
               const typename WRange::storage* w, const std::int32_t* w_zero_points, std::size_t w_zero_point_count,
               Stage stage) {
    s.validate();
    stage.layout = zoa::kernels::detail::nchw_layout(s);
    zoa::kernels::detail::prepared_columns p;
    zoa::kernels::detail::prepare_columns(stage, s.out_channels, s.out_channels, p);
    const std::size_t oh = s.out_h(), ow = s.out_w();
    for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t o = 0; o < s.out_channels; ++o) {
            const std::int64_t zw = w_zero_point_count ? w_zero_points[w_zero_point_count == 1 ? 0 : o] : 0;
            for (std::size_t oy = 0; oy < oh; ++oy)
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    std::int64_t acc = 0;
                    for (std::size_t c = 0; c < s.in_channels; ++c)
                        for (std::size_t kh = 0; kh < s.kernel_h; ++kh)
                            for (std::size_t kw = 0; kw < s.kernel_w; ++kw) {
                                const std::ptrdiff_t iy = std::ptrdiff_t(oy * s.stride_h + kh) - std::ptrdiff_t(s.pad_h);
                                const std::ptrdiff_t ix = std::ptrdiff_t(ox * s.stride_w + kw) - std::ptrdiff_t(s.pad_w);
                                const bool inside = iy >= 0 && ix >= 0 && iy < std::ptrdiff_t(s.height) && ix < std::ptrdiff_t(s.width);
                                const std::int64_t xv =
                                    inside ? std::int64_t{x[((b * s.in_channels + c) * s.height + std::size_t(iy)) * s.width + std::size_t(ix)]}
                                           : std::int64_t{x_zero_point};
                                const std::int64_t wv = w[((o * s.in_channels + c) * s.kernel_h + kh) * s.kernel_w + kw];
                                acc += (xv - x_zero_point) * (wv - zw);
                            }
                    require(acc >= INT32_MIN && acc <= INT32_MAX, error_code::numeric, "reference::conv2d_q8: overflow");
                    zoa::kernels::detail::store_scalar(stage, p, b * oh * ow + oy * ow + ox, o, static_cast<std::int32_t>(acc));
                }
        }
}

/// y[b,o,oy,ox] = float(sum (double) x * w) + bias[o] with zero padding; x, y NCHW, w OIHW, bias may be null.
inline void conv2d_f32(const conv2d_shape& s, const float* x, const float* w, const float* bias, float* y) {
    s.validate();
    const std::size_t oh = s.out_h(), ow = s.out_w();
    for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t o = 0; o < s.out_channels; ++o)
            for (std::size_t oy = 0; oy < oh; ++oy)
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    double acc = 0;
                    for (std::size_t c = 0; c < s.in_channels; ++c)
                        for (std::size_t kh = 0; kh < s.kernel_h; ++kh)
                            for (std::size_t kw = 0; kw < s.kernel_w; ++kw) {
                                const std::ptrdiff_t iy = std::ptrdiff_t(oy * s.stride_h + kh) - std::ptrdiff_t(s.pad_h);
                                const std::ptrdiff_t ix = std::ptrdiff_t(ox * s.stride_w + kw) - std::ptrdiff_t(s.pad_w);
                                if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(s.height) || ix >= std::ptrdiff_t(s.width)) continue;
                                acc += double(x[((b * s.in_channels + c) * s.height + std::size_t(iy)) * s.width + std::size_t(ix)]) *
                                       double(w[((o * s.in_channels + c) * s.kernel_h + kh) * s.kernel_w + kw]);
                            }
                    y[((b * s.out_channels + o) * oh + oy) * ow + ox] = static_cast<float>(acc) + (bias ? bias[o] : 0.0f);
                }
}

}  // namespace zoa::kernels::reference
