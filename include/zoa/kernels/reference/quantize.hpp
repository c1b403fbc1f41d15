// zoa — reference quantize/dequantize (plain loops, the literal formulas): the oracle of kernels/quantize.hpp
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_checks.hpp"

namespace zoa::kernels::reference {

namespace quantize_detail {

/// q = clamp(nearbyint(x / s) + zp, qmin, qmax), literally: float division, nearbyint (current rounding mode,
/// ties to even by default), integer add and clamp in double (no overflow for any float).
template <class T>
T quantize_one(const char* fn, float x, float s, std::int32_t zp, std::int32_t qmin, std::int32_t qmax,
               std::size_t index) {
    if (std::isnan(x)) fail(error_code::numeric, fn, ": input element ", index, " is NaN (cannot be quantized)");
    const double r = static_cast<double>(std::nearbyint(x / s)) + static_cast<double>(zp);
    const double c = r < qmin ? qmin : (r > qmax ? qmax : r);
    return static_cast<T>(static_cast<std::int32_t>(c));
}

/// Argument checks shared by the reference quantize twins (pointers, size, code range within T).
template <class T>
void check(const char* fn, const void* in, const void* out, std::size_t n, std::int32_t qmin, std::int32_t qmax) {
    static_assert(kernels::detail::is_quantized_storage_v<T>,
                  "zoa: quantize/dequantize store codes as std::int8_t or std::uint8_t");
    kernels::detail::require_pointer(fn, "input", in);
    kernels::detail::require_pointer(fn, "output", out);
    kernels::detail::require_extent(fn, "size", n);
    kernels::detail::require_qrange<T>(fn, qmin, qmax);
}

}  // namespace quantize_detail

/// Same contract as zoa::kernels::quantize_per_tensor. Serial; ctx ignored.
template <class T>
void quantize_per_tensor(const float* x, T* q, std::size_t n, float scale, std::int32_t zero_point, std::int32_t qmin,
                         std::int32_t qmax, execution_context& /*ctx*/) {
    const char* fn = "quantize_per_tensor";
    quantize_detail::check<T>(fn, x, q, n, qmin, qmax);
    kernels::detail::require_qparams(fn, scale, zero_point, qmin, qmax);
    for (std::size_t i = 0; i < n; ++i)
        q[i] = quantize_detail::quantize_one<T>(fn, x[i], scale, zero_point, qmin, qmax, i);
}

/// Same contract as zoa::kernels::quantize_per_channel ([outer × channels × inner], parameters per channel).
template <class T>
void quantize_per_channel(const float* x, T* q, std::size_t outer, std::size_t channels, std::size_t inner,
                          const float* scale, const std::int32_t* zero_point, std::int32_t qmin, std::int32_t qmax,
                          execution_context& /*ctx*/) {
    const char* fn = "quantize_per_channel";
    kernels::detail::require_extent(fn, "outer", outer);
    kernels::detail::require_extent(fn, "channels", channels);
    kernels::detail::require_extent(fn, "inner", inner);
    const std::size_t n = kernels::detail::checked_mul(fn, kernels::detail::checked_mul(fn, outer, channels), inner);
    quantize_detail::check<T>(fn, x, q, n, qmin, qmax);
    kernels::detail::require_pointer(fn, "scale", scale);
    for (std::size_t c = 0; c < channels; ++c)
        kernels::detail::require_qparams(fn, scale[c], zero_point ? zero_point[c] : 0, qmin, qmax,
                                         static_cast<long long>(c));
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = (i / inner) % channels;
        q[i] = quantize_detail::quantize_one<T>(fn, x[i], scale[c], zero_point ? zero_point[c] : 0, qmin, qmax, i);
    }
}

/// Same contract as zoa::kernels::dequantize_per_tensor: x = scale · float(q − zp).
template <class T>
void dequantize_per_tensor(const T* q, float* x, std::size_t n, float scale, std::int32_t zero_point,
                           execution_context& /*ctx*/) {
    const char* fn = "dequantize_per_tensor";
    quantize_detail::check<T>(fn, q, x, n, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    kernels::detail::require_scale(fn, scale);
    for (std::size_t i = 0; i < n; ++i) x[i] = scale * static_cast<float>(static_cast<std::int32_t>(q[i]) - zero_point);
}

/// Same contract as zoa::kernels::dequantize_per_channel.
template <class T>
void dequantize_per_channel(const T* q, float* x, std::size_t outer, std::size_t channels, std::size_t inner,
                            const float* scale, const std::int32_t* zero_point, execution_context& /*ctx*/) {
    const char* fn = "dequantize_per_channel";
    kernels::detail::require_extent(fn, "outer", outer);
    kernels::detail::require_extent(fn, "channels", channels);
    kernels::detail::require_extent(fn, "inner", inner);
    const std::size_t n = kernels::detail::checked_mul(fn, kernels::detail::checked_mul(fn, outer, channels), inner);
    quantize_detail::check<T>(fn, q, x, n, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    kernels::detail::require_pointer(fn, "scale", scale);
    for (std::size_t c = 0; c < channels; ++c) kernels::detail::require_scale(fn, scale[c], static_cast<long long>(c));
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = (i / inner) % channels;
        x[i] = scale[c] * static_cast<float>(static_cast<std::int32_t>(q[i]) - (zero_point ? zero_point[c] : 0));
    }
}

}  // namespace zoa::kernels::reference
