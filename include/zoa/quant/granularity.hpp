// zoa — quantization granularity: per-tensor, per-channel, per-row-block, per-head (tags + runtime enum + groups)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <type_traits>

#include "zoa/core/error.hpp"

namespace zoa::quant {

/// How many scales a quantizer has and which elements share one. In every case the tensor is viewed as
/// [groups, n / groups] in row-major order and group g owns the contiguous slice [g·n/G, (g+1)·n/G):
/// - per_tensor:    1 group;
/// - per_channel:   one group per output channel (dim 0 of a weight [out, ...]);
/// - per_row_block: N blocks of consecutive output rows (PTQ4ViT's qkv: q, k, v ⇒ N = 3, `n_V`);
/// - per_head:      one group per attention head (dim 0 of a per-sample [heads, rows, cols] matmul operand).
enum class granularity : int { per_tensor = 0, per_channel = 1, per_row_block = 2, per_head = 3 };

/// Name of a granularity, e.g. "per_channel".
inline const char* to_string(granularity g) noexcept {
    switch (g) {
        case granularity::per_tensor:
            return "per_tensor";
        case granularity::per_channel:
            return "per_channel";
        case granularity::per_row_block:
            return "per_row_block";
        case granularity::per_head:
            return "per_head";
    }
    return "unknown";
}

/// Granularity tag: one scale for the whole tensor.
struct per_tensor {
    static constexpr granularity value = granularity::per_tensor;  ///< the runtime enum value
};
/// Granularity tag: one scale per output channel (row of a [out, in] weight, filter of a conv weight).
struct per_channel {
    static constexpr granularity value = granularity::per_channel;  ///< the runtime enum value
};
/// Granularity tag: N equal blocks of output rows, one scale each (qkv: N = 3).
template <int N>
struct per_row_block {
    static_assert(N >= 1, "zoa: per_row_block<N>: N must be >= 1");
    static constexpr granularity value = granularity::per_row_block;  ///< the runtime enum value
    static constexpr int blocks = N;                                  ///< row blocks per tensor
};
/// Granularity tag: one scale per attention head.
struct per_head {
    static constexpr granularity value = granularity::per_head;  ///< the runtime enum value
};

namespace detail {
template <class T, class = void>
struct is_granularity : std::false_type {};
template <class T>
struct is_granularity<T, std::void_t<decltype(T::value)>>
    : std::bool_constant<std::is_same_v<std::remove_cv_t<decltype(T::value)>, granularity>> {};
}  // namespace detail

/// True for per_tensor, per_channel, per_row_block<N>, per_head (and any type with `static constexpr granularity
/// value`).
template <class T>
inline constexpr bool is_granularity_v = detail::is_granularity<T>::value;

/// Number of elements of a group when n elements are split into `groups` groups.
/// Throws: zoa::error(shape) when groups == 0 or n is not a multiple of groups; `what` names the tensor.
inline std::size_t group_size(std::size_t n, std::size_t groups, const char* what) {
    require(groups >= 1, error_code::shape, what, ": quantizer has 0 scale groups");
    require(n % groups == 0, error_code::shape, what, ": ", n, " elements cannot be split into ", groups,
            " equal scale groups");
    return n / groups;
}

}  // namespace zoa::quant
