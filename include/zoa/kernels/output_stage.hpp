// zoa — fused GEMM output stages (raw int32, dequantize to fp32, requantize to 8 bits) and output layouts
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/fp_barrier.hpp"

namespace zoa::kernels {

/// Where output element (m, n) of an M x N result is written:
///   c + (m / group_rows) * group_stride + (m % group_rows) * row_stride + n * col_stride
/// (group_rows == 0 means one group: c + m * row_stride + n * col_stride), and with outer groups (group2_rows > 0)
/// row m is row m % group2_rows of outer group m / group2_rows, which starts group2_stride elements after the last.
/// row_major(ldc) is the usual C[m*ldc + n]; conv2d uses groups (one per image) with col_stride = pixels
/// to write NCHW directly, and outer groups for a rectangle of output pixels of every image (conv2d_q8_nhwc's bands).
struct out_layout {
    std::ptrdiff_t row_stride = 0;     ///< elements between consecutive rows of a group
    std::ptrdiff_t col_stride = 1;     ///< elements between consecutive columns
    std::size_t group_rows = 0;        ///< rows per group (0 = a single group)
    std::ptrdiff_t group_stride = 0;   ///< elements between consecutive groups
    std::size_t group2_rows = 0;       ///< rows per outer group (0 = a single outer group)
    std::ptrdiff_t group2_stride = 0;  ///< elements between consecutive outer groups

    /// Offset of the first element of row m (small, so that every epilogue inlines it: the row-major case first).
    std::ptrdiff_t row_offset(std::size_t m) const noexcept {
        if ((group_rows | group2_rows) == 0) return static_cast<std::ptrdiff_t>(m) * row_stride;
        return grouped_offset(m);
    }
    /// row_offset() of a grouped layout.
    std::ptrdiff_t grouped_offset(std::size_t m) const noexcept {
        std::ptrdiff_t base = 0;
        if (group2_rows != 0) {
            base = static_cast<std::ptrdiff_t>(m / group2_rows) * group2_stride;
            m %= group2_rows;
        }
        if (group_rows == 0) return base + static_cast<std::ptrdiff_t>(m) * row_stride;
        return base + static_cast<std::ptrdiff_t>(m / group_rows) * group_stride +
               static_cast<std::ptrdiff_t>(m % group_rows) * row_stride;
    }
    /// off[i] = row_offset(m0 + i) for i < count: the divisions of grouped_offset once for m0, then one row at a time
    /// (m = q2·group2_rows + m2, m2 = q1·group_rows + r; a step increments r and carries into q1 and q2).
    void row_offsets(std::size_t m0, std::size_t count, std::ptrdiff_t* off) const noexcept {
        if ((group_rows | group2_rows) == 0) {
            for (std::size_t i = 0; i < count; ++i) off[i] = static_cast<std::ptrdiff_t>(m0 + i) * row_stride;
            return;
        }
        std::size_t q2 = 0, m2 = m0;
        if (group2_rows != 0) q2 = m0 / group2_rows, m2 = m0 % group2_rows;
        std::size_t q1 = 0, r = m2;
        if (group_rows != 0) q1 = m2 / group_rows, r = m2 % group_rows;
        for (std::size_t i = 0; i < count; ++i) {
            off[i] = static_cast<std::ptrdiff_t>(q2) * group2_stride + static_cast<std::ptrdiff_t>(q1) * group_stride +
                     static_cast<std::ptrdiff_t>(r) * row_stride;
            ++m2, ++r;
            if (group_rows != 0 && r == group_rows) r = 0, ++q1;
            if (group2_rows != 0 && m2 == group2_rows) m2 = 0, q1 = 0, r = 0, ++q2;
        }
    }
};

/// C[m*ldc + n].
inline out_layout row_major(std::ptrdiff_t ldc) noexcept { return out_layout{ldc, 1, 0, 0}; }

/// Signed / unsigned 128-bit integers (GCC and Clang on every 64-bit target zoa builds for).
__extension__ typedef __int128 int128_t;
__extension__ typedef unsigned __int128 uint128_t;

/// Exact per-column moments of int32 accumulators over rows: count = rows summed, and for every column n
///   s1[n] = Σ_m acc[m,n]   (int128)      s2[n] = Σ_m acc[m,n]²   (uint128)
/// Integer sums, so the result does not depend on the order of the rows (thread count, tiling, ISA). From them, in
/// double (one rounding of each exact integer term, then IEEE operations in this order):
///   mean(n) = double(s1) / double(count)
///   var(n)  = double(count·s2 − s1²) / (double(count)·double(count))     (biased; count·s2 − s1² ≥ 0 exactly)
/// Bounds: |acc| < 2^31 and count < 2^32 keep every term inside 128 bits.
struct acc_moments {
    std::size_t count = 0;
    std::vector<int128_t> s1;
    std::vector<uint128_t> s2;

    /// Zero sums for n columns.
    void reset(std::size_t n) {
        count = 0;
        s1.assign(n, 0);
        s2.assign(n, 0);
    }
    double mean(std::size_t n) const noexcept { return static_cast<double>(s1[n]) / static_cast<double>(count); }
    double var(std::size_t n) const noexcept {
        const int128_t a = s1[n];
        const uint128_t sq = static_cast<uint128_t>(a < 0 ? -a : a);
        const uint128_t num = static_cast<uint128_t>(count) * s2[n] - sq * sq;
        const double c = static_cast<double>(count);
        return static_cast<double>(num) / (c * c);
    }
};

/// Raw accumulators: C[m,n] = acc[m,n] = sum_k (a[m,k] - za) * (w[n,k] - zw[n])  (exact int32).
/// moments (optional, row-major destinations only: layout.col_stride == 1): gemm_q8 adds every stored row to it
/// (acc_moments: exact, so identical for any thread count and ISA); the caller resets it first.
struct out_i32 {
    /// destination
    std::int32_t* c = nullptr;
    /// where C[m, n] goes
    out_layout layout{};
    /// per-column exact sums of the stored accumulators, or null
    acc_moments* moments = nullptr;
};

/// Dequantize: C[m,n] = float(acc[m,n]) * s[n] + bias[n], with s[n] = a_scale * w_scale[n] rounded to float
/// first (w_scale has 1 entry = per tensor, or N = per output channel / per row block expanded by the caller);
/// bias may be null (then the "+ bias[n]" is omitted). Float results may differ from the reference by the
/// rounding of a fused multiply-add when the compiler contracts (tests use a 1e-6 relative tolerance).
struct out_dequant {
    /// destination
    float* c = nullptr;
    /// where C[m, n] goes
    out_layout layout{};
    float a_scale = 1.0f;            ///< activation scale
    const float* w_scale = nullptr;  ///< weight scales (1 or N)
    std::size_t w_scale_count = 0;   ///< entries of w_scale
    /// N float biases or null
    const float* bias = nullptr;
};

/// Requantize to 8 bits (XNNPACK "fp32" requantization, round half to even):
///   v = float(acc[m,n] + bias[n]) * multiplier[n]         (int32 add wraps; one float rounding each step)
///   C[m,n] = nearbyint(clamp(v, min - zero_point, max - zero_point)) + zero_point
/// nearbyint rounds half to even (default FP environment). Typically multiplier[n] = a_scale*w_scale[n]/out_scale
/// and bias[n] = nearbyint(float_bias[n] / (a_scale*w_scale[n])). bias may be null; multiplier has 1 or N
/// entries; [min, max] must lie inside T's range.
template <class T>
struct out_requant {
    static_assert(std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>,
                  "zoa::kernels::out_requant: T must be int8_t or uint8_t");
    /// destination
    T* c = nullptr;
    /// where C[m, n] goes
    out_layout layout{};
    const float* multiplier = nullptr;                 ///< 1 or N multipliers
    std::size_t multiplier_count = 0;                  ///< entries of multiplier
    const std::int32_t* bias = nullptr;                ///< N int32 biases or null
    std::int32_t zero_point = 0;                       ///< output zero point
    std::int32_t min = std::numeric_limits<T>::min();  ///< output clamp, inside T's range
    std::int32_t max = std::numeric_limits<T>::max();  ///< output clamp, inside T's range
};

/// Float GEMM output: C[m,n] = (sum_k a[m,k] * w[n,k]) + bias[n] (bias may be null).
struct out_f32 {
    /// destination
    float* c = nullptr;
    /// where C[m, n] goes
    out_layout layout{};
    /// N float biases or null
    const float* bias = nullptr;
};

/// Fused convolution epilogue (the ResNet integer path: conv → BatchNorm → [+ identity] → [ReLU] → next quantizer in
/// one pass over the int32 accumulators). Per element, in this order (every step one float rounding, no contraction):
///   t = float(acc)·s[n]                 s[n] = fl(a_scale·w_scale[n]), as out_dequant
///   t = t + bias[n]                     when bias is non-null
///   t = fma(fl(t − mean[n]) − mean_residual[n], bn_scale[n], bn_shift[n])
///                                       when bn_scale is non-null (BatchNorm; mean_residual null = 0, i.e. t − mean)
///   t = t + res_f[m, n]                 float residual (same layout as C), or
///   t = t + fl(float(res_q[m, n] − res_zero_point)·res_scale)   a residual held as codes (decoded exactly as
///                                       nn::quantize_activation's x̂)
///   t = (0 > t) ? 0 : t                 when relu
///   C = t (T = float), or C = nearbyint(clamp(fl(t·inv), qmin − z, qmax − z)) + z with inv = fl(1/out_scale)
///                                       (T = int8_t / uint8_t: the codes of nn::quantize_activation, bit for bit)
/// Every per-column constant must be finite (checked: zoa::error(numeric)), so finite accumulators give finite t.
/// R is the storage type of res_q.
template <class T, class R = std::uint8_t>
struct out_fused {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>,
                  "zoa::kernels::out_fused: T must be float, int8_t or uint8_t");
    static_assert(std::is_same_v<R, std::int8_t> || std::is_same_v<R, std::uint8_t>,
                  "zoa::kernels::out_fused: R (residual codes) must be int8_t or uint8_t");
    /// destination
    T* c = nullptr;
    /// where C[m, n] goes (and where the residual of (m, n) is read)
    out_layout layout{};
    float a_scale = 1.0f;            ///< activation scale
    const float* w_scale = nullptr;  ///< weight scales (1 or N)
    std::size_t w_scale_count = 0;   ///< entries of w_scale
    const float* bias = nullptr;     ///< N float biases or null
    /// BatchNorm as a per-channel affine map (N entries each; bn_scale null = no BatchNorm, mean_residual may be null)
    const float *bn_mean = nullptr, *bn_mean_residual = nullptr, *bn_scale = nullptr, *bn_shift = nullptr;
    const float* res_f = nullptr;  ///< float residual, or null
    const R* res_q = nullptr;      ///< residual codes (used when res_f is null), or null
    float res_scale = 1.0f;        ///< scale of res_q
    std::int32_t res_zero_point = 0;  ///< zero point of res_q
    bool relu = false;                ///< ReLU after the residual
    float out_scale = 1.0f;           ///< quantizer of the codes (T integer)
    std::int32_t out_zero_point = 0;  ///< its zero point
    std::int32_t out_min = 0;         ///< smallest code
    std::int32_t out_max = 255;       ///< largest code
};

/// True for out_fused<T, R>.
template <class S>
inline constexpr bool is_fused_stage_v = false;
template <class T, class R>
inline constexpr bool is_fused_stage_v<out_fused<T, R>> = true;

/// True for the output stages gemm_q8 accepts (out_i32, out_dequant, out_requant<int8_t / uint8_t>, out_fused).
template <class S>
inline constexpr bool is_q8_stage_v = std::is_same_v<S, out_i32> || std::is_same_v<S, out_dequant> ||
                                      std::is_same_v<S, out_requant<std::int8_t>> ||
                                      std::is_same_v<S, out_requant<std::uint8_t>> || is_fused_stage_v<S>;

namespace detail {

/// Per-call, per-column constants of a stage, padded with zeros to a multiple of the column tile so SIMD
/// epilogues can load whole vectors: dequant -> f0 = s[n], f1 = bias[n]; requant -> f0 = multiplier[n],
/// i0 = bias[n]. Built once per GEMM call (O(N)).
struct prepared_columns {
    aligned_buffer<float> f0, f1;
    aligned_buffer<std::int32_t> i0;
    float lo = 0, hi = 0;  // requant clamp bounds min - zp, max - zp (exact in float: |.| < 2^24)
    std::int32_t zero_point = 0;
    // out_fused: f2..f5 = BatchNorm mean, mean residual, scale, shift (0, 0, 1, 0 without BatchNorm); inv = fl(1/s)
    aligned_buffer<float> f2, f3, f4, f5;
    bool has_bias = false, has_bn = false;
    float inv = 1.0f, res_scale = 1.0f;
    std::int32_t res_zero_point = 0;
};

/// Throws: zoa::error(argument) unless count is 1 or n.
inline void check_count(std::size_t count, std::size_t n, const char* what) {
    require(count == 1 || count == n, error_code::argument, what, ": expected 1 or N = ", n, " entries, got ",
            count);
}

/// The part of out_fused's preparation after the dequantization: f1 = bias (0), f2..f5 = BatchNorm (identity), the
/// residual decoding and the output quantizer. f0 is allocated (zeros), not filled.
/// Throws: zoa::error(argument) for inconsistent pointers or a bad code range, zoa::error(numeric) for a non-finite
/// constant.
template <class T, class R>
void prepare_fused_tail(const out_fused<T, R>& s, std::size_t n, std::size_t n_padded, prepared_columns& p) {
    require(s.c != nullptr, error_code::argument, "out_fused: output pointer is null");
    require(s.bn_scale == nullptr || (s.bn_mean != nullptr && s.bn_shift != nullptr), error_code::argument,
            "out_fused: bn_scale is set but bn_mean or bn_shift is null");
    p.has_bias = s.bias != nullptr;
    p.has_bn = s.bn_scale != nullptr;
    for (auto* b : {&p.f0, &p.f1, &p.f2, &p.f3, &p.f4, &p.f5}) b->reset(n_padded);
    for (std::size_t j = 0; j < n; ++j) {
        p.f1[j] = s.bias ? s.bias[j] : 0.0f;
        p.f2[j] = p.has_bn ? s.bn_mean[j] : 0.0f;
        p.f3[j] = p.has_bn && s.bn_mean_residual ? s.bn_mean_residual[j] : 0.0f;
        p.f4[j] = p.has_bn ? s.bn_scale[j] : 1.0f;
        p.f5[j] = p.has_bn ? s.bn_shift[j] : 0.0f;
        require(std::isfinite(p.f2[j]) && std::isfinite(p.f3[j]) && std::isfinite(p.f4[j]) && std::isfinite(p.f5[j]),
                error_code::numeric, "out_fused: the BatchNorm of channel ", j, " is not finite (mean ", p.f2[j],
                " + ", p.f3[j], ", scale ", p.f4[j], ", shift ", p.f5[j], ")");
    }
    require(std::isfinite(s.res_scale), error_code::numeric, "out_fused: res_scale is not finite: ", s.res_scale);
    p.res_scale = s.res_scale;
    p.res_zero_point = s.res_zero_point;
    if constexpr (!std::is_same_v<T, float>) {
        require(std::isfinite(s.out_scale) && s.out_scale > 0.0f, error_code::numeric,
                "out_fused: out_scale must be finite and > 0, got ", s.out_scale);
        require(s.out_min <= s.out_max && s.out_min >= std::numeric_limits<T>::min() &&
                    s.out_max <= std::numeric_limits<T>::max(),
                error_code::argument, "out_fused: code range [", s.out_min, ", ", s.out_max, "] is empty or outside [",
                int(std::numeric_limits<T>::min()), ", ", int(std::numeric_limits<T>::max()), "]");
        require(s.out_zero_point >= s.out_min && s.out_zero_point <= s.out_max, error_code::argument,
                "out_fused: zero point ", s.out_zero_point, " outside [", s.out_min, ", ", s.out_max, "]");
        p.inv = 1.0f / s.out_scale;
        p.lo = static_cast<float>(s.out_min - s.out_zero_point);
        p.hi = static_cast<float>(s.out_max - s.out_zero_point);
        p.zero_point = s.out_zero_point;
    }
}

/// Checks stage s for n columns and fills p (padded to n_padded). Throws: zoa::error(argument) for null pointers or
/// wrong scale/multiplier counts.
template <class Stage>
void prepare_columns(const Stage& s, std::size_t n, std::size_t n_padded, prepared_columns& p) {
    static_assert(is_q8_stage_v<Stage>, "zoa::kernels: unknown output stage");
    if constexpr (std::is_same_v<Stage, out_i32>) {
        require(s.c != nullptr, error_code::argument, "out_i32: output pointer is null");
    } else if constexpr (std::is_same_v<Stage, out_dequant>) {
        require(s.c != nullptr && s.w_scale != nullptr, error_code::argument,
                "out_dequant: output or w_scale pointer is null");
        check_count(s.w_scale_count, n, "out_dequant.w_scale");
        require(std::isfinite(s.a_scale), error_code::numeric, "out_dequant: a_scale is not finite: ", s.a_scale);
        p.f0.reset(n_padded);
        p.f1.reset(n_padded);
        for (std::size_t j = 0; j < n; ++j) {
            const float ws = s.w_scale[s.w_scale_count == 1 ? 0 : j];
            require(std::isfinite(ws), error_code::numeric, "out_dequant: w_scale[", j, "] is not finite: ", ws);
            p.f0[j] = s.a_scale * ws;
            p.f1[j] = s.bias ? s.bias[j] : 0.0f;
        }
    } else if constexpr (is_fused_stage_v<Stage>) {
        require(s.c != nullptr && s.w_scale != nullptr, error_code::argument,
                "out_fused: output or w_scale pointer is null");
        check_count(s.w_scale_count, n, "out_fused.w_scale");
        require(std::isfinite(s.a_scale), error_code::numeric, "out_fused: a_scale is not finite: ", s.a_scale);
        prepare_fused_tail(s, n, n_padded, p);
        for (std::size_t j = 0; j < n; ++j) {
            const float ws = s.w_scale[s.w_scale_count == 1 ? 0 : j];
            require(std::isfinite(ws) && std::isfinite(p.f1[j]), error_code::numeric, "out_fused: w_scale[", j,
                    "] = ", ws, " or bias[", j, "] = ", p.f1[j], " is not finite");
            p.f0[j] = s.a_scale * ws;
        }
    } else {
        using T = std::remove_pointer_t<decltype(s.c)>;
        require(s.c != nullptr && s.multiplier != nullptr, error_code::argument,
                "out_requant: output or multiplier pointer is null");
        check_count(s.multiplier_count, n, "out_requant.multiplier");
        require(s.min <= s.max && s.min >= std::numeric_limits<T>::min() && s.max <= std::numeric_limits<T>::max(),
                error_code::argument, "out_requant: clamp range [", s.min, ", ", s.max, "] is empty or outside [",
                int(std::numeric_limits<T>::min()), ", ", int(std::numeric_limits<T>::max()), "]");
        require(s.zero_point >= -(1 << 20) && s.zero_point <= (1 << 20), error_code::argument,
                "out_requant: zero_point ", s.zero_point, " outside [-2^20, 2^20]");
        p.f0.reset(n_padded);
        p.i0.reset(n_padded);
        for (std::size_t j = 0; j < n; ++j) {
            const float mul = s.multiplier[s.multiplier_count == 1 ? 0 : j];
            require(std::isfinite(mul), error_code::numeric, "out_requant: multiplier[", j, "] is not finite: ", mul);
            p.f0[j] = mul;
            p.i0[j] = s.bias ? s.bias[j] : 0;
        }
        p.lo = static_cast<float>(s.min - s.zero_point);
        p.hi = static_cast<float>(s.max - s.zero_point);
        p.zero_point = s.zero_point;
    }
}

/// int32 addition with two's-complement wrap-around (no signed-overflow UB).
inline std::int32_t wrap_add(std::int32_t a, std::int32_t b) noexcept {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

/// out_fused's steps after the dequantization on one value t of column n, stored at offset off (the scalar
/// definition the SIMD epilogues and batch_norm_act_nhwc match; t and the decoded residual are rounded on their own,
/// see zoa::detail::fp_barrier).
template <class T, class R>
void fused_tail_scalar(const out_fused<T, R>& s, const prepared_columns& p, std::ptrdiff_t off, std::size_t n,
                       float t) {
    t = zoa::detail::fp_barrier(t);
    if (p.has_bn) t = std::fma((t - p.f2[n]) - p.f3[n], p.f4[n], p.f5[n]);
    if (s.res_f) {
        t = t + s.res_f[off];
    } else if (s.res_q) {
        float r = static_cast<float>(std::int32_t{s.res_q[off]} - p.res_zero_point) * p.res_scale;
        r = zoa::detail::fp_barrier(r);
        t = t + r;
    }
    if (s.relu) t = 0.0f > t ? 0.0f : t;
    if constexpr (std::is_same_v<T, float>) {
        s.c[off] = t;
    } else {
        float v = t * p.inv;
        v = v > p.lo ? v : p.lo;  // max, then min (t is finite here: the order is immaterial)
        v = v < p.hi ? v : p.hi;
        s.c[off] = static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + p.zero_point);
    }
}

/// Applies the stage formula to one accumulator (the scalar definition every SIMD epilogue must match).
template <class Stage>
void store_scalar(const Stage& s, const prepared_columns& p, std::size_t m, std::size_t n, std::int32_t acc) {
    const std::ptrdiff_t off = s.layout.row_offset(m) + static_cast<std::ptrdiff_t>(n) * s.layout.col_stride;
    if constexpr (std::is_same_v<Stage, out_i32>) {
        s.c[off] = acc;
    } else if constexpr (std::is_same_v<Stage, out_dequant>) {
        const float t = static_cast<float>(acc) * p.f0[n];
        s.c[off] = t + p.f1[n];
    } else if constexpr (is_fused_stage_v<Stage>) {
        float t = static_cast<float>(acc) * p.f0[n];
        if (p.has_bias) t = t + p.f1[n];
        fused_tail_scalar(s, p, off, n, t);
    } else {
        using T = std::remove_pointer_t<decltype(s.c)>;
        float v = static_cast<float>(wrap_add(acc, p.i0[n])) * p.f0[n];
        v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
        s.c[off] = static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + p.zero_point);
    }
}

}  // namespace detail
}  // namespace zoa::kernels
