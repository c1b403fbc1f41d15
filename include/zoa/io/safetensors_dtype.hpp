// zoa — the safetensors element types: names, bit sizes, alignment
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zoa::io {

/// Every element type of the safetensors format (huggingface/safetensors `Dtype`), little-endian.
/// Reading accepts all of them (a file is valid whatever its dtypes); conversion to fp32 supports
/// f32/f16/bf16, typed raw access supports the integer types and f32/f64 (see safetensors_file).
enum class dtype : std::uint8_t {
    boolean,      ///< "BOOL": one byte, 0 or 1
    f4,           ///< "F4": 4-bit float (E2M1), sub-byte
    f6_e2m3,      ///< "F6_E2M3": 6-bit float, sub-byte
    f6_e3m2,      ///< "F6_E3M2": 6-bit float, sub-byte
    u8,           ///< "U8"
    i8,           ///< "I8"
    f8_e5m2,      ///< "F8_E5M2"
    f8_e4m3,      ///< "F8_E4M3"
    f8_e8m0,      ///< "F8_E8M0"
    f8_e4m3fnuz,  ///< "F8_E4M3FNUZ"
    f8_e5m2fnuz,  ///< "F8_E5M2FNUZ"
    i16,          ///< "I16"
    u16,          ///< "U16"
    f16,          ///< "F16": IEEE 754 binary16
    bf16,         ///< "BF16": bfloat16 (upper half of an IEEE binary32)
    i32,          ///< "I32"
    u32,          ///< "U32"
    f32,          ///< "F32": IEEE 754 binary32
    c64,          ///< "C64": complex of two binary32
    f64,          ///< "F64": IEEE 754 binary64
    i64,          ///< "I64" (e.g. BatchNorm num_batches_tracked)
    u64,          ///< "U64"
};

namespace detail {
struct dtype_row {
    dtype type;
    std::string_view name;
    unsigned bits;
};
inline constexpr dtype_row dtype_table[] = {
    {dtype::boolean, "BOOL", 8},
    {dtype::f4, "F4", 4},
    {dtype::f6_e2m3, "F6_E2M3", 6},
    {dtype::f6_e3m2, "F6_E3M2", 6},
    {dtype::u8, "U8", 8},
    {dtype::i8, "I8", 8},
    {dtype::f8_e5m2, "F8_E5M2", 8},
    {dtype::f8_e4m3, "F8_E4M3", 8},
    {dtype::f8_e8m0, "F8_E8M0", 8},
    {dtype::f8_e4m3fnuz, "F8_E4M3FNUZ", 8},
    {dtype::f8_e5m2fnuz, "F8_E5M2FNUZ", 8},
    {dtype::i16, "I16", 16},
    {dtype::u16, "U16", 16},
    {dtype::f16, "F16", 16},
    {dtype::bf16, "BF16", 16},
    {dtype::i32, "I32", 32},
    {dtype::u32, "U32", 32},
    {dtype::f32, "F32", 32},
    {dtype::c64, "C64", 64},
    {dtype::f64, "F64", 64},
    {dtype::i64, "I64", 64},
    {dtype::u64, "U64", 64},
};
/// True when dtype_table[i].type == i for every row (checked at compile time below).
constexpr bool dtype_table_in_enum_order() {
    for (std::size_t i = 0; i < sizeof(dtype_table) / sizeof(dtype_table[0]); ++i)
        if (static_cast<std::size_t>(dtype_table[i].type) != i) return false;
    return true;
}
static_assert(dtype_table_in_enum_order(), "zoa::io: dtype_table must list dtypes in enum order");
}  // namespace detail

/// Number of dtypes.
inline constexpr std::size_t dtype_count = sizeof(detail::dtype_table) / sizeof(detail::dtype_table[0]);

/// The format's spelling of a dtype, e.g. "BF16".
inline constexpr std::string_view to_string(dtype t) noexcept {
    return detail::dtype_table[static_cast<std::size_t>(t)].name;
}

/// Bits per element: 4 (F4), 6 (F6_*), 8, 16, 32 or 64.
inline constexpr unsigned bit_size(dtype t) noexcept {
    return detail::dtype_table[static_cast<std::size_t>(t)].bits;
}

/// Natural alignment in bytes (1 for sub-byte and byte types); the writer orders tensors by it.
inline constexpr std::size_t alignment_of(dtype t) noexcept {
    const unsigned b = bit_size(t);
    return b <= 8 ? 1 : b / 8;
}

/// Parses a dtype name. Ensures: returns false (and leaves out untouched) for an unknown name.
inline bool parse_dtype(std::string_view name, dtype& out) noexcept {
    for (const auto& row : detail::dtype_table) {
        if (row.name == name) {
            out = row.type;
            return true;
        }
    }
    return false;
}

/// The dtype stored for a C++ element type (typed raw access and the writer); void for none.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
    static constexpr dtype value = dtype::f32;
};
template <>
struct dtype_of<double> {
    static constexpr dtype value = dtype::f64;
};
template <>
struct dtype_of<std::int8_t> {
    static constexpr dtype value = dtype::i8;
};
template <>
struct dtype_of<std::uint8_t> {
    static constexpr dtype value = dtype::u8;
};
template <>
struct dtype_of<std::int16_t> {
    static constexpr dtype value = dtype::i16;
};
template <>
struct dtype_of<std::uint16_t> {
    static constexpr dtype value = dtype::u16;
};
template <>
struct dtype_of<std::int32_t> {
    static constexpr dtype value = dtype::i32;
};
template <>
struct dtype_of<std::uint32_t> {
    static constexpr dtype value = dtype::u32;
};
template <>
struct dtype_of<std::int64_t> {
    static constexpr dtype value = dtype::i64;
};
template <>
struct dtype_of<std::uint64_t> {
    static constexpr dtype value = dtype::u64;
};

/// dtype_of<T>::value.
template <class T>
inline constexpr dtype dtype_of_v = dtype_of<T>::value;

}  // namespace zoa::io
