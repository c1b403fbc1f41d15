// zoa — exact IEEE binary16 (F16) and bfloat16 (BF16) conversions to and from binary32
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace zoa::io {

/// Reinterprets the bits of a float.
inline std::uint32_t float_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

/// The float with the given bits.
inline float bits_float(std::uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

/// binary16 → binary32, exact for every input (the result is representable).
/// h = s|e(5)|m(10):  e = 31: ±inf (m = 0) or NaN with payload m kept in the top mantissa bits (m << 13);
///                    0 < e < 31: (−1)^s · (1 + m/2^10) · 2^(e−15)  → float exponent field e + 112;
///                    e = 0: (−1)^s · m · 2^−24 (subnormal; normalised by shifting m up to its leading 1).
inline float half_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0x1fu) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        std::uint32_t shifts = 0;  // m · 2^−24 = (1 + m'/2^10) · 2^(−14 − shifts)
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            ++shifts;
        }
        bits = sign | ((113u - shifts) << 23) | ((mant & 0x3ffu) << 13);
    }
    return bits_float(bits);
}

/// binary32 → binary16 with round-to-nearest-even (IEEE default).
/// |x| ≥ 65520 (= 65504 + half an ulp) → ±inf; |x| ≤ 2^−25 → ±0 (2^−25 ties to even = 0);
/// subnormal results are multiples of 2^−24; NaN keeps the top 10 payload bits (0x200 if those are all 0),
/// so half_to_float followed by float_to_half is the identity on all 65536 bit patterns.
inline std::uint16_t float_to_half(float f) noexcept {
    const std::uint32_t bits = float_bits(f);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t exp = (bits >> 23) & 0xffu;
    const std::uint32_t mant = bits & 0x7fffffu;
    if (exp == 0xffu) {
        if (mant == 0) return static_cast<std::uint16_t>(sign | 0x7c00u);
        std::uint32_t m = mant >> 13;
        if (m == 0) m = 0x200u;
        return static_cast<std::uint16_t>(sign | 0x7c00u | m);
    }
    if (exp >= 143u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // |x| ≥ 2^16
    if (exp >= 113u) {                                                   // normal half: 2^−14 ≤ |x| < 2^16
        std::uint32_t h = ((exp - 112u) << 10) | (mant >> 13);
        const std::uint32_t rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry may reach the exponent (0x7bff → inf)
        return static_cast<std::uint16_t>(sign | h);
    }
    if (exp < 102u) return sign;  // |x| < 2^−25
    // Subnormal half: value / 2^−24 = M · 2^(exp − 126) with M the 24-bit significand; shift in [14, 24].
    const std::uint32_t full = mant | 0x800000u;
    const std::uint32_t shift = 126u - exp;
    std::uint32_t m = full >> shift;
    const std::uint32_t rem = full & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (m & 1u))) ++m;  // m may become 0x400 = the smallest normal
    return static_cast<std::uint16_t>(sign | m);
}

/// bfloat16 → binary32, exact: the bf16 bits are the upper 16 bits of the float.
inline float bf16_to_float(std::uint16_t b) noexcept {
    return bits_float(static_cast<std::uint32_t>(b) << 16);
}

/// binary32 → bfloat16 with round-to-nearest-even: (bits + 0x7fff + lsb) >> 16, overflow → ±inf;
/// NaN keeps its top payload bits (bit 6 set if they are all 0), so bf16 → float → bf16 is the identity.
inline std::uint16_t float_to_bf16(float f) noexcept {
    const std::uint32_t bits = float_bits(f);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0) {
        auto b = static_cast<std::uint16_t>(bits >> 16);
        if ((b & 0x7fu) == 0) b = static_cast<std::uint16_t>(b | 0x40u);
        return b;
    }
    const std::uint32_t lsb = (bits >> 16) & 1u;
    return static_cast<std::uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

/// Little-endian 16-bit load from possibly unaligned memory.
inline std::uint16_t load_le16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

/// Little-endian 16-bit store to possibly unaligned memory.
inline void store_le16(unsigned char* p, std::uint16_t v) noexcept {
    p[0] = static_cast<unsigned char>(v & 0xffu);
    p[1] = static_cast<unsigned char>(v >> 8);
}

/// dst[i] = half_to_float(le16(src + 2i)) for i < n. Requires: src holds 2n bytes (any alignment).
inline void f16_to_f32(const unsigned char* src, float* dst, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) dst[i] = half_to_float(load_le16(src + 2 * i));
}

/// dst[i] = bf16_to_float(le16(src + 2i)) for i < n. Requires: src holds 2n bytes (any alignment).
inline void bf16_to_f32(const unsigned char* src, float* dst, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load_le16(src + 2 * i));
}

}  // namespace zoa::io
