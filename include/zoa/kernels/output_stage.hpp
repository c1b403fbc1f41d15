// zoa — fused GEMM output stages (raw int32, dequantize to fp32, requantize to 8 bits) and output layouts
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"

namespace zoa::kernels {

/// Where output element (m, n) of an M x N result is written:
///   c + (m / group_rows) * group_stride + (m % group_rows) * row_stride + n * col_stride
/// (group_rows == 0 means one group: c + m * row_stride + n * col_stride).
/// row_major(ldc) is the usual C[m*ldc + n]; conv2d uses groups (one per image) with col_stride = pixels
/// to write NCHW directly.
struct out_layout {
    std::ptrdiff_t row_stride = 0;    ///< elements between consecutive rows of a group
    std::ptrdiff_t col_stride = 1;    ///< elements between consecutive columns
    std::size_t group_rows = 0;       ///< rows per group (0 = a single group)
    std::ptrdiff_t group_stride = 0;  ///< elements between consecutive groups

    /// Offset of the first element of row m.
    std::ptrdiff_t row_offset(std::size_t m) const noexcept {
        if (group_rows == 0) return static_cast<std::ptrdiff_t>(m) * row_stride;
        return static_cast<std::ptrdiff_t>(m / group_rows) * group_stride +
               static_cast<std::ptrdiff_t>(m % group_rows) * row_stride;
    }
};

/// C[m*ldc + n].
inline out_layout row_major(std::ptrdiff_t ldc) noexcept { return out_layout{ldc, 1, 0, 0}; }

/// Raw accumulators: C[m,n] = acc[m,n] = sum_k (a[m,k] - za) * (w[n,k] - zw[n])  (exact int32).
struct out_i32 {
    /// destination
    std::int32_t* c = nullptr;
    /// where C[m, n] goes
    out_layout layout{};
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

/// True for the output stages gemm_q8 accepts (out_i32, out_dequant, out_requant<int8_t / uint8_t>).
template <class S>
inline constexpr bool is_q8_stage_v = std::is_same_v<S, out_i32> || std::is_same_v<S, out_dequant> ||
                                      std::is_same_v<S, out_requant<std::int8_t>> ||
                                      std::is_same_v<S, out_requant<std::uint8_t>>;

namespace detail {

/// Per-call, per-column constants of a stage, padded with zeros to a multiple of the column tile so SIMD
/// epilogues can load whole vectors: dequant -> f0 = s[n], f1 = bias[n]; requant -> f0 = multiplier[n],
/// i0 = bias[n]. Built once per GEMM call (O(N)).
struct prepared_columns {
    aligned_buffer<float> f0, f1;
    aligned_buffer<std::int32_t> i0;
    float lo = 0, hi = 0;  // requant clamp bounds min - zp, max - zp (exact in float: |.| < 2^24)
    std::int32_t zero_point = 0;
};

/// Throws: zoa::error(argument) unless count is 1 or n.
inline void check_count(std::size_t count, std::size_t n, const char* what) {
    require(count == 1 || count == n, error_code::argument, what, ": expected 1 or N = ", n, " entries, got ",
            count);
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

/// Applies the stage formula to one accumulator (the scalar definition every SIMD epilogue must match).
template <class Stage>
void store_scalar(const Stage& s, const prepared_columns& p, std::size_t m, std::size_t n, std::int32_t acc) {
    const std::ptrdiff_t off = s.layout.row_offset(m) + static_cast<std::ptrdiff_t>(n) * s.layout.col_stride;
    if constexpr (std::is_same_v<Stage, out_i32>) {
        s.c[off] = acc;
    } else if constexpr (std::is_same_v<Stage, out_dequant>) {
        const float t = static_cast<float>(acc) * p.f0[n];
        s.c[off] = t + p.f1[n];
    } else {
        using T = std::remove_pointer_t<decltype(s.c)>;
        float v = static_cast<float>(wrap_add(acc, p.i0[n])) * p.f0[n];
        v = v < p.lo ? p.lo : (v > p.hi ? p.hi : v);
        s.c[off] = static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + p.zero_point);
    }
}

}  // namespace detail
}  // namespace zoa::kernels
