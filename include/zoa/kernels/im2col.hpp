// zoa — conv2d geometry and the im2col row source (NCHW batch -> padded NHWC copy -> GEMM rows, no col buffer)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/kernels/x86/transpose.hpp"

namespace zoa::kernels {

/// Geometry of a 2-D convolution over an NCHW batch (groups = 1, dilation = 1):
///   out_h = (height + 2*pad_h - kernel_h) / stride_h + 1, out_w likewise.
/// As a GEMM: M = batch*out_h*out_w rows (one per output pixel, image-major), N = out_channels,
/// K = kernel_h*kernel_w*in_channels in (kh, kw, c) order (the packers reorder PyTorch's OIHW weights to it).
struct conv2d_shape {
    /// The NCHW input (batch, channels, height, width) and the output channels.
    std::size_t batch = 1, in_channels = 1, height = 1, width = 1, out_channels = 1;
    /// Kernel extent, stride and zero padding per axis.
    std::size_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

    /// Output extent and the GEMM sizes K = kernel_h·kernel_w·in_channels, M = batch·out_h·out_w.
    /// Requires: the kernel fits the padded input (not checked here; the conv kernels check it).
    std::size_t out_h() const noexcept { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
    std::size_t out_w() const noexcept { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
    std::size_t k() const noexcept { return kernel_h * kernel_w * in_channels; }
    std::size_t m() const noexcept { return batch * out_h() * out_w(); }
    /// True for a 1x1, stride-1, unpadded conv: the NHWC copy is the GEMM's A matrix itself.
    bool is_pointwise() const noexcept {
        return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
    }

    /// Throws: zoa::error(shape) naming the offending field.
    void validate() const {
        require(batch > 0 && in_channels > 0 && height > 0 && width > 0 && out_channels > 0, error_code::shape,
                "conv2d_shape: batch, channels and spatial sizes must be > 0 (batch ", batch, ", in ", in_channels,
                ", ", height, "x", width, ", out ", out_channels, ")");
        require(kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0, error_code::shape,
                "conv2d_shape: kernel ", kernel_h, "x", kernel_w, " and stride ", stride_h, "x", stride_w,
                " must be > 0");
        require(kernel_h <= height + 2 * pad_h && kernel_w <= width + 2 * pad_w, error_code::shape,
                "conv2d_shape: kernel ", kernel_h, "x", kernel_w, " larger than the padded input ",
                height + 2 * pad_h, "x", width + 2 * pad_w);
    }
};

namespace detail {

/// Side of the square blocks transposed with SIMD (1 = scalar only).
template <class T>
inline constexpr std::size_t simd_block =
#if defined(__SSE2__)
    sizeof(T) == 1 ? 16 : (std::is_same_v<T, float> ? 4 : 1);
#else
    1;
#endif

/// Transposes one simd_block<T> × simd_block<T> tile (SSE2 byte / float shuffles).
template <class T>
void transpose_block(const T* src, std::size_t src_stride, T* dst, std::size_t dst_stride) noexcept {
#if defined(__SSE2__)
    if constexpr (sizeof(T) == 1) x86::transpose_16x16_bytes(src, src_stride, dst, dst_stride);
    else if constexpr (std::is_same_v<T, float>) x86::transpose_4x4_floats(src, src_stride, dst, dst_stride);
#else
    (void)src, (void)src_stride, (void)dst, (void)dst_stride;
#endif
}

/// The batch copied to NHWC with the padding materialised: xp[b][y][x][c], y < height + 2*pad_h,
/// x < width + 2*pad_w, border = pad_value (0 for float, the input zero point for quantized convs, so padded taps
/// contribute (za - za) * w = 0 exactly as PyTorch's zero padding of the real-valued input).
template <class T>
void to_padded_nhwc(const conv2d_shape& s, const T* x, T pad_value, T* xp, execution_context* ctx) {
    const std::size_t hp = s.height + 2 * s.pad_h, wp = s.width + 2 * s.pad_w, c = s.in_channels;
    const std::size_t hw = s.height * s.width;
    auto rows = [&](std::size_t b0, std::size_t b1) {
        for (std::size_t job = b0; job < b1; ++job) {
            const std::size_t b = job / hp, y = job % hp;
            T* dst = xp + (b * hp + y) * wp * c;
            if (y < s.pad_h || y >= s.pad_h + s.height) {
                std::fill(dst, dst + wp * c, pad_value);
                continue;
            }
            std::fill(dst, dst + s.pad_w * c, pad_value);
            std::fill(dst + (s.pad_w + s.width) * c, dst + wp * c, pad_value);
            const T* src = x + b * c * hw + (y - s.pad_h) * s.width;
            T* d = dst + s.pad_w * c;
            // transpose the C x W slab (rows: channels, stride H*W; columns: pixels) into W x C, in SIMD blocks
            constexpr std::size_t blk = simd_block<T>;
            for (std::size_t c0 = 0; c0 < c; c0 += blk)
                for (std::size_t x0 = 0; x0 < s.width; x0 += blk) {
                    if constexpr (blk > 1) {
                        if (c0 + blk <= c && x0 + blk <= s.width) {
                            transpose_block(src + c0 * hw + x0, hw, d + x0 * c + c0, c);
                            continue;
                        }
                    }
                    for (std::size_t xx = x0; xx < std::min(s.width, x0 + blk); ++xx)
                        for (std::size_t ch = c0; ch < std::min(c, c0 + blk); ++ch) d[xx * c + ch] = src[ch * hw + xx];
                }
        }
    };
    if (ctx && ctx->threads() > 1) ctx->parallel_for(s.batch * hp, rows);
    else rows(0, s.batch * hp);
}

/// GEMM row source over a padded NHWC batch: row m = output pixel (b, oy, ox); its K codes in (kh, kw, c) order
/// are kernel_h contiguous runs of kernel_w*C elements (adjacent taps are adjacent pixels in NHWC).
template <class T>
struct im2col_source {
    const T* xp;
    conv2d_shape s;
    static constexpr bool materialize = true;

    /// Calls f(pointer, length) for the kernel_h contiguous runs of row m's K codes.
    template <class F>
    void for_each_segment(std::size_t m, F&& f) const {
        const std::size_t ohw = s.out_h() * s.out_w(), b = m / ohw, p = m % ohw;
        const std::size_t oy = p / s.out_w(), ox = p % s.out_w();
        const std::size_t hp = s.height + 2 * s.pad_h, wp = s.width + 2 * s.pad_w, c = s.in_channels;
        const T* base = xp + ((b * hp + oy * s.stride_h) * wp + ox * s.stride_w) * c;
        for (std::size_t kh = 0; kh < s.kernel_h; ++kh) f(base + kh * wp * c, s.kernel_w * c);
    }
};

/// The taps [t0, t1) of a kernel axis of `taps` taps that fall inside an image axis of `size` pixels when the first
/// tap reads pixel i0 (= output position · stride − pad): t0 = min(taps, max(0, −i0)), t1 = max(t0, min(taps,
/// size − i0)) (t1 = t0 when i0 ≥ size).
inline std::pair<std::size_t, std::size_t> taps_inside(std::ptrdiff_t i0, std::size_t size, std::size_t taps) noexcept {
    const std::size_t t0 = i0 < 0 ? std::min(taps, static_cast<std::size_t>(-i0)) : 0;
    const std::ptrdiff_t lim = static_cast<std::ptrdiff_t>(size) - i0;
    return {t0, lim <= 0 ? t0 : std::max(t0, std::min(taps, static_cast<std::size_t>(lim)))};
}

/// GEMM row source over an NHWC batch x[b][y][x][c] (no padded copy): row m = output pixel (b, oy, ox), its K codes
/// in (kh, kw, c) order. Taps inside the image are contiguous runs of NHWC memory (adjacent taps of one kernel row
/// are adjacent pixels); taps in the padding are segments with a null pointer, which gemm_q8's packing fills with
/// the input zero point (so they contribute (za − za)·w = 0, real-valued zero padding).
/// A rectangle of output pixels [oy0, oy1) × [ox0, ox1) of every image with kernel rows [kh0, kh1) and kernel
/// columns [kw0, kw1) (conv2d_q8_nhwc's bands; 0 for oy1, ox1, kh1, kw1 = the full range) numbers only those pixels,
/// b-major then row-major (m = (b·(oy1 − oy0) + oy − oy0)·(ox1 − ox0) + ox − ox0), and gives only those taps.
template <class T>
struct nhwc_source {
    const T* x;
    conv2d_shape s;
    std::size_t oy0 = 0, oy1 = 0, kh0 = 0, kh1 = 0, ox0 = 0, ox1 = 0, kw0 = 0, kw1 = 0;
    /// gemm_q8_run compiles its depth-slice code only for sources that say so (conv2d_q8_nhwc's column bands).
    static constexpr bool depth_slices = true;

    /// Calls f(pointer or nullptr, length) for the runs of row m's K codes, in K order. (Inlined into the packing
    /// loop, so its running row sums stay in registers and the shape's fields are loaded once per block.)
    template <class F>
#if defined(__GNUC__)
    __attribute__((always_inline))
#endif
    void for_each_segment(std::size_t m, F&& f) const {
        const std::size_t ow = (ox1 ? ox1 : s.out_w()) - ox0, ohw = ((oy1 ? oy1 : s.out_h()) - oy0) * ow;
        const std::size_t b = m / ohw, p = m % ohw;
        const std::size_t oy = oy0 + p / ow, ox = ox0 + p % ow, c = s.in_channels, kw = s.kernel_w;
        const std::size_t w0 = kw0, w1 = kw1 ? kw1 : kw;  // the kernel columns given
        const std::ptrdiff_t iy0 = std::ptrdiff_t(oy * s.stride_h) - std::ptrdiff_t(s.pad_h);
        const std::ptrdiff_t ix0 = std::ptrdiff_t(ox * s.stride_w) - std::ptrdiff_t(s.pad_w);
        // kernel columns [k0, k1) fall inside the image and the window
        auto [k0, k1] = taps_inside(ix0, s.width, kw);
        k0 = std::min(std::max(k0, w0), w1);
        k1 = std::max(std::min(k1, w1), k0);
        const T* none = nullptr;
        for (std::size_t kh = kh0, khe = kh1 ? kh1 : s.kernel_h; kh < khe; ++kh) {
            const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(kh);
            if (iy < 0 || iy >= std::ptrdiff_t(s.height)) {
                f(none, (w1 - w0) * c);
                continue;
            }
            if (k0 > w0) f(none, (k0 - w0) * c);
            if (k1 > k0) f(x + ((b * s.height + std::size_t(iy)) * s.width + std::size_t(ix0 + std::ptrdiff_t(k0))) * c, (k1 - k0) * c);
            if (k1 < w1) f(none, (w1 - k1) * c);
        }
    }
};

/// Output layout writing GEMM row m = (b, pixel), column n = channel to NCHW y[b][n][pixel].
inline out_layout nchw_layout(const conv2d_shape& s) {
    const std::size_t ohw = s.out_h() * s.out_w();
    return out_layout{1, static_cast<std::ptrdiff_t>(ohw), ohw, static_cast<std::ptrdiff_t>(ohw * s.out_channels)};
}

}  // namespace detail
}  // namespace zoa::kernels
