// zoa — argument checks shared by the element-wise/reduction kernels and their reference twins
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "zoa/core/error.hpp"

namespace zoa::kernels::detail {

/// Throws zoa::error(argument) "<fn>: <what> must be > 0, got 0" when n == 0 (zero-size inputs are caller bugs).
inline void require_extent(const char* fn, const char* what, std::size_t n) {
    require(n > 0, error_code::argument, fn, ": ", what, " must be > 0, got 0");
}

/// Throws zoa::error(argument) "<fn>: <what> must not be null" when p == nullptr.
template <class T>
void require_pointer(const char* fn, const char* what, const T* p) {
    require(p != nullptr, error_code::argument, fn, ": ", what, " must not be null");
}

/// Throws zoa::error(argument) unless eps is finite and > 0.
inline void require_eps(const char* fn, float eps) {
    require(std::isfinite(eps) && eps > 0.0f, error_code::argument, fn, ": eps must be finite and > 0, got ", eps);
}

/// Throws zoa::error(argument) when a * b overflows size_t; returns a * b.
inline std::size_t checked_mul(const char* fn, std::size_t a, std::size_t b) {
    require(b == 0 || a <= std::numeric_limits<std::size_t>::max() / b, error_code::argument, fn, ": size ", a, " x ",
            b, " overflows size_t");
    return a * b;
}

/// Quantized storage types the quantize kernels support.
template <class T>
inline constexpr bool is_quantized_storage_v = std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>;

/// Checks a quantization range [qmin, qmax] for storage type T: qmin <= qmax, both inside T's range.
template <class T>
void require_qrange(const char* fn, std::int32_t qmin, std::int32_t qmax) {
    constexpr std::int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    require(lo <= qmin && qmin <= qmax && qmax <= hi, error_code::argument, fn, ": quantization range [", qmin, ", ",
            qmax, "] must satisfy ", lo, " <= qmin <= qmax <= ", hi);
}

/// Checks a quantization scale: finite and > 0. `channel` is printed when >= 0 (per-channel parameters).
inline void require_scale(const char* fn, float scale, long long channel = -1) {
    if (!(std::isfinite(scale) && scale > 0.0f)) {
        if (channel >= 0) fail(error_code::argument, fn, ": scale[", channel, "] must be finite and > 0, got ", scale);
        fail(error_code::argument, fn, ": scale must be finite and > 0, got ", scale);
    }
}

/// Checks one (scale, zero point) pair: scale finite and > 0, qmin <= zero_point <= qmax (real 0 representable).
/// `channel` is printed when >= 0 (per-channel parameters).
inline void require_qparams(const char* fn, float scale, std::int32_t zero_point, std::int32_t qmin, std::int32_t qmax,
                            long long channel = -1) {
    require_scale(fn, scale, channel);
    if (zero_point < qmin || zero_point > qmax) {
        if (channel >= 0)
            fail(error_code::argument, fn, ": zero_point[", channel, "] = ", zero_point, " is outside [", qmin, ", ",
                 qmax, "]");
        fail(error_code::argument, fn, ": zero_point = ", zero_point, " is outside [", qmin, ", ", qmax, "]");
    }
}

/// Throws zoa::error(numeric) naming the first NaN element of x[0, n) (index offset by `base`), if there is one.
inline void require_no_nan(const char* fn, const float* x, std::size_t n, std::size_t base = 0) {
    for (std::size_t i = 0; i < n; ++i)
        if (std::isnan(x[i]))
            fail(error_code::numeric, fn, ": input element ", base + i, " is NaN (cannot be quantized)");
}

}  // namespace zoa::kernels::detail
