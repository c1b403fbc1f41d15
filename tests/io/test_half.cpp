// zoa — tests for F16/BF16 ↔ F32 conversion: exhaustive against independent oracles, plus IEEE edge values
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/io/half.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using zoa::io::bf16_to_float;
using zoa::io::bits_float;
using zoa::io::float_bits;
using zoa::io::float_to_bf16;
using zoa::io::float_to_half;
using zoa::io::half_to_float;

// Oracle: the binary16 value from the IEEE 754 definition, computed in double.
double half_value(std::uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const double mag = e == 0 ? std::ldexp(m, -24) : e == 31 ? HUGE_VAL : std::ldexp(1024 + m, e - 25);
    return s ? -mag : mag;
}

// Oracle: the bfloat16 value from its definition (8-bit exponent, 7-bit mantissa), computed in double.
double bf16_value(std::uint16_t b) {
    const int s = b >> 15, e = (b >> 7) & 255, m = b & 127;
    const double mag = e == 0 ? std::ldexp(m, -133) : e == 255 ? HUGE_VAL : std::ldexp(128 + m, e - 134);
    return s ? -mag : mag;
}

bool is_nan16(std::uint16_t h) {
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}
bool is_nan_bf16(std::uint16_t b) {
    return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0;
}

// Oracle for rounding: nearest among the finite non-negative codes 0..max_code of a format (values increase with the
// code), ties to the even code; beyond max + half an ulp → inf_code. Sign handled by the caller.
std::uint16_t round_oracle(double x, std::uint16_t max_code, std::uint16_t inf_code, double (*value)(std::uint16_t)) {
    const double top = value(max_code), ulp = top - value(static_cast<std::uint16_t>(max_code - 1));
    if (x >= top + ulp / 2) return inf_code;  // IEEE: overflow threshold is max + ulp/2 (ties go to inf = "even")
    std::uint16_t lo = 0, hi = max_code;      // largest code with value <= x
    while (lo < hi) {
        const auto mid = static_cast<std::uint16_t>((lo + hi + 1) / 2);
        if (value(mid) <= x)
            lo = mid;
        else
            hi = static_cast<std::uint16_t>(mid - 1);
    }
    if (lo == max_code) return max_code;
    const double a = value(lo), b = value(static_cast<std::uint16_t>(lo + 1));
    if (x - a < b - x) return lo;
    if (x - a > b - x) return static_cast<std::uint16_t>(lo + 1);
    return (lo & 1) ? static_cast<std::uint16_t>(lo + 1) : lo;
}

std::uint16_t half_oracle(float f) {
    const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    return static_cast<std::uint16_t>(sign | round_oracle(std::fabs(double{f}), 0x7bff, 0x7c00, half_value));
}

std::uint16_t bf16_oracle(float f) {
    const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    return static_cast<std::uint16_t>(sign | round_oracle(std::fabs(double{f}), 0x7f7f, 0x7f80, bf16_value));
}

}  // namespace

TEST_CASE("half_to_float is exact on all 65536 binary16 codes") {
    for (std::uint32_t c = 0; c < 65536; ++c) {
        const auto h = static_cast<std::uint16_t>(c);
        const float f = half_to_float(h);
        if (is_nan16(h)) {
            REQUIRE(std::isnan(f));
            CHECK((float_bits(f) >> 31) == (c >> 15));              // sign kept
            CHECK(((float_bits(f) >> 13) & 0x3ff) == (c & 0x3ff));  // payload kept in the top mantissa bits
        } else {
            REQUIRE(double{f} == half_value(h));
            CHECK(std::signbit(f) == ((c >> 15) != 0));  // also for ±0
        }
    }
}

TEST_CASE("float_to_half inverts half_to_float on all 65536 codes, NaN payloads included") {
    for (std::uint32_t c = 0; c < 65536; ++c) {
        const auto h = static_cast<std::uint16_t>(c);
        REQUIRE(float_to_half(half_to_float(h)) == h);
    }
}

TEST_CASE("float_to_half rounds to nearest even, against an oracle") {
    std::vector<float> xs;
    // Midpoints and their float neighbours between every pair of adjacent finite halves (ties and near-ties).
    for (std::uint16_t c = 0; c < 0x7bff; ++c) {
        const double mid = (half_value(c) + half_value(static_cast<std::uint16_t>(c + 1))) / 2;
        const auto m = static_cast<float>(mid);
        xs.insert(xs.end(), {m, std::nextafter(m, 0.0f), std::nextafter(m, 1e9f)});
    }
    // Overflow threshold 65520 = 65504 + ulp/2, the underflow threshold 2^-25, float subnormals, specials.
    xs.insert(xs.end(), {65504.0f, 65519.99f, 65520.0f, 65536.0f, 1e30f, std::ldexp(1.0f, -25),
                         std::nextafter(std::ldexp(1.0f, -25), 1.0f), std::ldexp(3.0f, -26), std::ldexp(1.0f, -26),
                         std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(), 0.0f,
                         std::numeric_limits<float>::infinity()});
    std::mt19937 rng(12345);
    for (int i = 0; i < 200000; ++i) {
        const float f = bits_float(static_cast<std::uint32_t>(rng()));
        if (!std::isnan(f)) xs.push_back(f);
    }
    for (float x : xs)
        for (float s : {x, -x}) REQUIRE_MESSAGE(float_to_half(s) == half_oracle(s), "x = " << s);
}

TEST_CASE("float_to_half edge values follow IEEE 754") {
    CHECK(float_to_half(65504.0f) == 0x7bff);  // largest finite
    CHECK(float_to_half(65520.0f) == 0x7c00);  // max + ulp/2 ties to inf
    CHECK(float_to_half(-65520.0f) == 0xfc00);
    CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);     // smallest subnormal
    CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);     // half of it ties to even = 0
    CHECK(float_to_half(std::ldexp(3.0f, -26)) == 0x0001);     // 0.75 ulp rounds up
    CHECK(float_to_half(std::ldexp(1023.0f, -24)) == 0x03ff);  // largest subnormal
    CHECK(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);     // smallest normal
    CHECK(float_to_half(-0.0f) == 0x8000);
    CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie → even (1.0)
    CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie → even (1 + 2^-9)
    const float qnan = std::numeric_limits<float>::quiet_NaN();
    CHECK(is_nan16(float_to_half(qnan)));
    CHECK(is_nan16(float_to_half(bits_float(0x7f800001u))));  // payload only in dropped bits stays a NaN
}

TEST_CASE("bf16_to_float is exact and float_to_bf16 inverts it on all 65536 codes") {
    for (std::uint32_t c = 0; c < 65536; ++c) {
        const auto b = static_cast<std::uint16_t>(c);
        const float f = bf16_to_float(b);
        if (is_nan_bf16(b)) {
            REQUIRE(std::isnan(f));
        } else {
            REQUIRE(double{f} == bf16_value(b));
        }
        REQUIRE(float_to_bf16(f) == b);
    }
}

TEST_CASE("float_to_bf16 rounds to nearest even, against an oracle") {
    std::mt19937 rng(777);
    std::vector<float> xs = {std::numeric_limits<float>::max(),
                             std::numeric_limits<float>::denorm_min(),
                             0.0f,
                             1.0f + std::ldexp(1.0f, -8),
                             1.0f + 3 * std::ldexp(1.0f, -8),
                             bits_float(0x7f7f8000u) /* max bf16 + ulp/2 → inf */};
    for (int i = 0; i < 200000; ++i) {
        const float f = bits_float(static_cast<std::uint32_t>(rng()));
        if (!std::isnan(f)) xs.push_back(f);
    }
    for (float x : xs)
        for (float s : {x, -x}) REQUIRE_MESSAGE(float_to_bf16(s) == bf16_oracle(s), "x = " << s);
    CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // tie → even
    CHECK(float_to_bf16(bits_float(0x7f7f8000u)) == 0x7f80);      // overflow → inf
    CHECK(is_nan_bf16(float_to_bf16(bits_float(0x7f800001u))));   // NaN never becomes inf
}

TEST_CASE("bulk converters read unaligned little-endian bytes") {
    const std::uint16_t codes[] = {0x3c00, 0xc000, 0x0001, 0x7c00, 0x7bff};
    unsigned char buf[1 + 2 * 5];
    for (int i = 0; i < 5; ++i) zoa::io::store_le16(buf + 1 + 2 * i, codes[i]);  // odd address on purpose
    float out[5];
    zoa::io::f16_to_f32(buf + 1, out, 5);
    for (int i = 0; i < 5; ++i) CHECK(double{out[i]} == half_value(codes[i]));
    zoa::io::bf16_to_f32(buf + 1, out, 5);
    for (int i = 0; i < 5; ++i) CHECK(double{out[i]} == bf16_value(codes[i]));
    CHECK(buf[1] == 0x00);  // little-endian: low byte first
    CHECK(buf[2] == 0x3c);
}
