// zoa — 2-D convolution over NCHW batches for float and quantized operands: im2col + GEMM (1x1 skips im2col)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/im2col.hpp"
#include "zoa/kernels/output_stage.hpp"

namespace zoa::kernels {

namespace detail {
/// PyTorch OIHW weights w[((o*C + c)*KH + kh)*KW + kw] reordered to GEMM rows W(o, (kh*KW + kw)*C + c).
template <class T>
std::vector<T> conv_weights_to_rows(const T* w, const conv2d_shape& s) {
    const std::size_t k = s.k(), khw = s.kernel_h * s.kernel_w;
    std::vector<T> rows(s.out_channels * k);
    for (std::size_t o = 0; o < s.out_channels; ++o)
        for (std::size_t c = 0; c < s.in_channels; ++c)
            for (std::size_t t = 0; t < khw; ++t) rows[o * k + t * s.in_channels + c] = w[(o * s.in_channels + c) * khw + t];
    return rows;
}

/// Throws: zoa::error(shape) when s is invalid or the packed weights are not out_channels × K.
inline void check_conv_weights(const conv2d_shape& s, std::size_t n, std::size_t k, const char* fn) {
    s.validate();
    require(n == s.out_channels && k == s.k(), error_code::shape, fn, ": packed weights are ", n, " x ", k,
            ", the shape needs out_channels x in_channels*kernel_h*kernel_w = ", s.out_channels, " x ", s.k());
}

/// This thread's conv scratch, grown to at least n elements (contents unspecified).
template <class T>
T* thread_conv_scratch(std::size_t n) {
    thread_local aligned_buffer<T> buf;
    buf.ensure(n);
    return buf.data();
}
}  // namespace detail

/// Packs PyTorch conv weights (OIHW, out_channels x in_channels x kernel_h x kernel_w) for conv2d_q8.
/// zero_points: 0, 1 or out_channels entries (MQBench per-channel affine weights). Throws as packed_q8::pack.
template <class ARange, class WRange, class Arch = q8_default_arch>
packed_q8<ARange, WRange, Arch> pack_conv2d_q8(const typename WRange::storage* w_oihw, const conv2d_shape& s,
                                               const std::int32_t* zero_points = nullptr,
                                               std::size_t zero_point_count = 0) {
    s.validate();
    require(w_oihw != nullptr, error_code::argument, "pack_conv2d_q8: weights are null");
    const auto rows = detail::conv_weights_to_rows(w_oihw, s);
    packed_q8<ARange, WRange, Arch> w(rows.data(), s.out_channels, s.k(), static_cast<std::ptrdiff_t>(s.k()), 1,
                                      zero_points, zero_point_count);
    // per-tap column sums: conv2d_q8_nhwc's bands next to the padding multiply only some taps
    if (s.kernel_h * s.kernel_w > 1 && s.in_channels % static_cast<std::size_t>(decltype(w)::plan::k_step) == 0)
        w.index_slices(s.in_channels);
    return w;
}

/// Packs PyTorch conv weights (OIHW) for conv2d_f32.
/// Throws: zoa::error(shape) from s.validate(), zoa::error(argument) for null weights, zoa::error(numeric) for a
/// NaN/Inf weight.
template <class Arch = default_arch>
packed_f32<Arch> pack_conv2d_f32(const float* w_oihw, const conv2d_shape& s) {
    s.validate();
    require(w_oihw != nullptr, error_code::argument, "pack_conv2d_f32: weights are null");
    const auto rows = detail::conv_weights_to_rows(w_oihw, s);
    return packed_f32<Arch>(rows.data(), s.out_channels, s.k(), static_cast<std::ptrdiff_t>(s.k()), 1);
}

/// Quantized convolution: y[b,o,oy,ox] = stage(acc), acc = sum_{c,kh,kw} (xpad[b,c,oy*sh+kh-ph,ox*sw+kw-pw] - za)
/// * (w[o,c,kh,kw] - zw[o]), where padded taps read za (the input zero point), i.e. real-valued zero padding.
/// x: NCHW codes in ARange; w from pack_conv2d_q8; the output is written NCHW [B, OC, OH, OW] at stage.c
/// (stage.layout is ignored). Exact like gemm_q8 (ranges and Arch come from the packed weights); bit-identical for
/// any thread count.
/// Throws: zoa::error(shape) for inconsistent shapes, and whatever gemm_q8 throws.
template <class ARange, class WRange, class Arch, class Stage>
void conv2d_q8(const conv2d_shape& s, const typename ARange::storage* x, std::int32_t x_zero_point,
               const packed_q8<ARange, WRange, Arch>& w, Stage stage, execution_context* ctx = nullptr) {
    using T = typename ARange::storage;
    detail::check_conv_weights(s, w.n(), w.k(), "conv2d_q8");
    require(x != nullptr, error_code::argument, "conv2d_q8: input is null");
    require(x_zero_point >= int(ARange::min) && x_zero_point <= int(ARange::max), error_code::argument,
            "conv2d_q8: input zero point ", x_zero_point, " outside [", int(ARange::min), ", ", int(ARange::max), "]");
    stage.layout = detail::nchw_layout(s);
    const std::size_t hp = s.height + 2 * s.pad_h, wp = s.width + 2 * s.pad_w;
    T* xp = detail::thread_conv_scratch<T>(s.batch * hp * wp * s.in_channels);
    detail::to_padded_nhwc(s, x, static_cast<T>(x_zero_point), xp, ctx);
    if (s.is_pointwise())
        detail::gemm_q8_run<ARange, WRange, Arch>(detail::a_matrix<T>{xp, static_cast<std::ptrdiff_t>(s.in_channels), s.k()},
                                                  s.m(), x_zero_point, w, stage, ctx);
    else
        detail::gemm_q8_run<ARange, WRange, Arch>(detail::im2col_source<T>{xp, s}, s.m(), x_zero_point, w, stage, ctx);
}

namespace detail {
/// The stage of a rectangle of output pixels [oy0, oy1) × [ox0, ox1) of every image run as its own GEMM (rows
/// numbered as nhwc_source numbers them): the destination (and residual) pointers moved to the rectangle's first
/// pixel, a group of rows per output row, an outer group per image. Requires: st.layout row-major.
template <class Stage>
Stage band_stage(Stage st, const conv2d_shape& s, std::size_t oy0, std::size_t oy1, std::size_t ox0, std::size_t ox1) {
    const std::ptrdiff_t rs = st.layout.row_stride;
    const std::ptrdiff_t off = static_cast<std::ptrdiff_t>(oy0 * s.out_w() + ox0) * rs;
    if (st.c) st.c += off;
    if constexpr (is_fused_stage_v<Stage>) {
        if (st.res_f) st.res_f += off;
        if (st.res_q) st.res_q += off;
    }
    st.layout.group_rows = ox1 - ox0;
    st.layout.group_stride = static_cast<std::ptrdiff_t>(s.out_w()) * rs;
    st.layout.group2_rows = (oy1 - oy0) * (ox1 - ox0);
    st.layout.group2_stride = static_cast<std::ptrdiff_t>(s.out_h() * s.out_w()) * rs;
    return st;
}

/// Skipping the taps in the padding. Output pixel (oy, ox) reads the kernel rows [kh0, kh1) and columns [kw0, kw1)
/// inside the image:
///   kh0 = max(0, −iy0), kh1 = min(KH, H − iy0), iy0 = oy·stride_h − pad_h   (columns alike with ix0 = ox·stride_w −
///   pad_w, W, KW),
/// and K is ordered (kh, kw, c), so its taps are one slice [kh0·KW·C, kh1·KW·C) of the depth when the columns are
/// complete, else one slice of (kw1 − kw0)·C per kernel row. The output rows are cut into bands of equal [kh0, kh1);
/// a band of complete kernel rows with enough rows (batch × band height ≥ 16, so that the column bands fill the
/// 8-row tiles) is cut again into column bands of equal [kw0, kw1) when that skips ≥ 3 % of a row's taps (not on
/// AArch64). Each piece is one gemm_q8 over its slices of the packed weights (column sums: Σ of
/// packed_q8::slice_col_sums over its taps) writing through a two-level output layout (band_stage). A 3 × 3 pad-1 conv runs 5 pieces: first row, last row (their corner taps
/// multiplied), and the middle rows' first column, inner columns and last column. The integers are those of the
/// full depth, where a padded tap adds (za − za)·w = 0. Returns false, having run nothing, when there is nothing to
/// skip or the slices do not apply: no padding, C not a multiple of the layout's k step (the 7×7 stem, C = 3),
/// weights without per-tap sums, a destination that is not row-major, a pixel that reads only padding, or AMX tiles
/// (64-deep blocks over the full depth).
template <class ARange, class WRange, class Arch, class Stage>
bool conv2d_q8_nhwc_bands(const conv2d_shape& s, const typename ARange::storage* x, std::int32_t za,
                          const packed_q8<ARange, WRange, Arch>& w, const Stage& stage, execution_context* ctx) {
    using plan = typename packed_q8<ARange, WRange, Arch>::plan;
    const std::size_t c = s.in_channels, kh_all = s.kernel_h, kw_all = s.kernel_w, oh = s.out_h(), ow = s.out_w();
    if ((s.pad_h == 0 && s.pad_w == 0) || c % static_cast<std::size_t>(plan::k_step) != 0 ||
        stage.layout.group_rows != 0 || stage.layout.group2_rows != 0 || stage.layout.col_stride != 1 ||
        (plan::bytes && w.slice_len() != c))
        return false;
    if (plan::vnni && has_avx2_v<Arch> && amx_active()) return false;
    using range = std::pair<std::size_t, std::size_t>;
    const auto i0 = [](std::size_t o, std::size_t stride, std::size_t pad) {
        return static_cast<std::ptrdiff_t>(o * stride) - static_cast<std::ptrdiff_t>(pad);
    };
    const auto rows_of = [&](std::size_t oy) { return taps_inside(i0(oy, s.stride_h, s.pad_h), s.height, kh_all); };
    const auto cols_of = [&](std::size_t ox) { return taps_inside(i0(ox, s.stride_w, s.pad_w), s.width, kw_all); };
    bool partial_rows = false;
    std::size_t col_taps_skipped = 0;  // over one output row
    for (std::size_t oy = 0; oy < oh; ++oy) {
        const range r = rows_of(oy);
        if (r.first == r.second) return false;  // a row of padding only: left to the full-depth path
        partial_rows = partial_rows || r.second - r.first < kh_all;
    }
    for (std::size_t ox = 0; ox < ow; ++ox) {
        const range r = cols_of(ox);
        if (r.first == r.second) return false;
        col_taps_skipped += kw_all - (r.second - r.first);
    }
    // column bands only where they skip ≥ 3 % of a row's taps (3 × 3 pad 1: 9.5 % at 7 columns, 4.8 % at 14, 2.4 %
    // at 28, 1.2 % at 56; measured: a gain at 7 and 14, none at 28, a 2 % loss at 56 — two more GEMMs per conv)
    const bool split_cols = plan::neon_level < 0 && col_taps_skipped * 100 >= 3 * ow * kw_all;
    if (!partial_rows && !split_cols) return false;
    aligned_buffer<std::int32_t> sums;
    // one GEMM over pixels [y0, y1) × [x0, x1), kernel rows kr and columns kc
    const auto piece = [&](std::size_t y0, std::size_t y1, range kr, std::size_t x0, std::size_t x1, range kc) {
        q8_k_window win;
        const bool all_rows = kr.second - kr.first == kh_all, all_cols = kc.second - kc.first == kw_all;
        if (!all_rows || !all_cols) {
            if (all_cols) {  // one slice: the kernel rows
                win.k0 = kr.first * kw_all * c;
                win.len = (kr.second - kr.first) * kw_all * c;
            } else {  // a slice per kernel row: its columns
                win.k0 = (kr.first * kw_all + kc.first) * c;
                win.len = (kc.second - kc.first) * c;
                win.count = kr.second - kr.first;
                win.stride = kw_all * c;
            }
            if constexpr (plan::bytes) {  // Σ of the taps' column sums
                const std::size_t cols = w.panels() * 16;
                sums.ensure(cols);
                std::int32_t* d = sums.data();
                for (std::size_t j = 0; j < cols; ++j) d[j] = 0;
                for (std::size_t kh = kr.first; kh < kr.second; ++kh)
                    for (std::size_t kw = kc.first; kw < kc.second; ++kw) {
                        const std::int32_t* t = w.slice_col_sums(kh * kw_all + kw);
                        for (std::size_t j = 0; j < cols; ++j) d[j] += t[j];
                    }
                win.col_sums = d;
            }
        }
        gemm_q8_run<ARange, WRange, Arch>(
            nhwc_source<typename ARange::storage>{x, s, y0, y1, kr.first, kr.second, x0, x1, kc.first, kc.second},
            s.batch * (y1 - y0) * (x1 - x0), za, w, band_stage(stage, s, y0, y1, x0, x1), ctx, win);
    };
    struct rect {
        std::size_t y0, y1, x0, x1;
        range kr, kc;
    };
    std::vector<rect> pieces;
    bool skips = false;
    for (std::size_t y0 = 0; y0 < oh;) {
        const range kr = rows_of(y0);
        std::size_t y1 = y0 + 1;
        while (y1 < oh && rows_of(y1) == kr) ++y1;
        if (split_cols && kr.second - kr.first == kh_all && s.batch * (y1 - y0) >= 16) {
            for (std::size_t x0 = 0; x0 < ow;) {
                const range kc = cols_of(x0);
                std::size_t x1 = x0 + 1;
                while (x1 < ow && cols_of(x1) == kc) ++x1;
                pieces.push_back({y0, y1, x0, x1, kr, kc});
                skips = skips || kc.second - kc.first < kw_all;
                x0 = x1;
            }
        } else {  // all columns, the padded ones multiplied
            pieces.push_back({y0, y1, 0, ow, kr, range(0, kw_all)});
            skips = skips || kr.second - kr.first < kh_all;
        }
        y0 = y1;
    }
    if (!skips) return false;
    for (const rect& r : pieces) piece(r.y0, r.y1, r.kr, r.x0, r.x1, r.kc);
    return true;
}
}  // namespace detail

/// Quantized convolution over NHWC (channels-last) codes, the same sums as conv2d_q8:
///   acc[b,oy,ox,o] = Σ_{kh,kw,c} (x[b, oy·sh+kh−ph, ox·sw+kw−pw, c] − za)·(w[o,c,kh,kw] − zw[o])   (padded taps: 0)
/// x: [B, H, W, C] codes in ARange; output element (row m = (b·OH + oy)·OW + ox, column o) goes where stage.layout
/// puts it (row_major(OC) = NHWC [B, OH, OW, OC], the default when stage.layout.row_stride is 0). No padded copy and
/// no col buffer: 1×1 stride-1 convs multiply x itself, every other conv gathers its GEMM rows (im2col) straight into
/// gemm_q8's packed A blocks, padding filled with za; output pixels next to the padding multiply only the taps
/// inside the image where that fits the packed layout (detail::conv2d_q8_nhwc_bands). Exact; bit-identical for any
/// thread count.
/// Throws: zoa::error(shape) for inconsistent shapes, and whatever gemm_q8 throws.
template <class ARange, class WRange, class Arch, class Stage>
void conv2d_q8_nhwc(const conv2d_shape& s, const typename ARange::storage* x, std::int32_t x_zero_point,
                    const packed_q8<ARange, WRange, Arch>& w, Stage stage, execution_context* ctx = nullptr) {
    using T = typename ARange::storage;
    detail::check_conv_weights(s, w.n(), w.k(), "conv2d_q8_nhwc");
    require(x != nullptr, error_code::argument, "conv2d_q8_nhwc: input is null");
    require(x_zero_point >= int(ARange::min) && x_zero_point <= int(ARange::max), error_code::argument,
            "conv2d_q8_nhwc: input zero point ", x_zero_point, " outside [", int(ARange::min), ", ",
            int(ARange::max), "]");
    if (stage.layout.row_stride == 0 && stage.layout.group_rows == 0)
        stage.layout = row_major(static_cast<std::ptrdiff_t>(s.out_channels));
    if (s.is_pointwise())
        detail::gemm_q8_run<ARange, WRange, Arch>(detail::a_matrix<T>{x, static_cast<std::ptrdiff_t>(s.in_channels), s.k()},
                                                  s.m(), x_zero_point, w, stage, ctx);
    else if (!detail::conv2d_q8_nhwc_bands<ARange, WRange, Arch>(s, x, x_zero_point, w, stage, ctx))
        detail::gemm_q8_run<ARange, WRange, Arch>(detail::nhwc_source<T>{x, s}, s.m(), x_zero_point, w, stage, ctx);
}

/// Float convolution: y[b,o,oy,ox] = bias[o] + sum_{c,kh,kw} xpad[b,c,oy*sh+kh-ph,ox*sw+kw-pw] * w[o,c,kh,kw]
/// (zero padding; bias may be null). x, y NCHW; w from pack_conv2d_f32.
/// Throws: zoa::error(shape) when s is invalid or w was packed for another shape, zoa::error(argument) for a null
/// x or y.
template <class Arch = default_arch>
void conv2d_f32(const conv2d_shape& s, const float* x, const packed_f32<Arch>& w, const float* bias, float* y,
                execution_context* ctx = nullptr) {
    detail::check_conv_weights(s, w.n(), w.k(), "conv2d_f32");
    require(x != nullptr && y != nullptr, error_code::argument, "conv2d_f32: input or output is null");
    const std::size_t hp = s.height + 2 * s.pad_h, wp = s.width + 2 * s.pad_w;
    float* xp = detail::thread_conv_scratch<float>(s.batch * hp * wp * s.in_channels);
    detail::to_padded_nhwc(s, x, 0.0f, xp, ctx);
    const out_f32 out{y, detail::nchw_layout(s), bias};
    if (s.is_pointwise())
        detail::gemm_f32_run<Arch>(detail::f32_matrix{xp, static_cast<std::ptrdiff_t>(s.in_channels)}, s.m(), w, out, ctx);
    else
        detail::gemm_f32_run<Arch>(detail::im2col_source<float>{xp, s}, s.m(), w, out, ctx);
}

}  // namespace zoa::kernels
