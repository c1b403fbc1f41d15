// zoa — bulk quantizer application on buffers: simulated (fake-quant, float → float) and integer encode/decode,
// both built from the scalar formulas in quantizer.hpp / twin.hpp so the two paths share one definition
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"
#include "zoa/quant/twin.hpp"

namespace zoa::quant {

/// Simulated quantization of n elements: y[i] = Q_p(x[i]) with the formula of p.kind (see quantizer.hpp, twin.hpp).
/// Element i belongs to group g = i / (n / p.groups()) (granularity.hpp). kind none copies x. x == y is allowed.
/// Throws: zoa::error(argument) from p.validate, zoa::error(shape) when n is not a multiple of p.groups().
inline void fake_quant(const quant_params& p, const float* x, float* y, std::size_t n) {
    if (p.kind == quantizer_kind::none) {
        if (x != y)
            for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
        return;
    }
    p.validate("fake_quant");
    const std::size_t gs = group_size(n, p.groups(), "fake_quant");
    const int lo = p.qmin(), hi = p.qmax();
    for (std::size_t g = 0; g < p.groups(); ++g) {
        const float s = p.scale[g];
        const std::size_t b = g * gs, e = b + gs;
        switch (p.kind) {
            case quantizer_kind::uniform:
                if (p.sch == scheme::symmetric) {
                    for (std::size_t i = b; i < e; ++i) y[i] = fake_quant_symmetric(x[i], s, lo, hi);
                } else {
                    const std::int32_t z = p.zero_point[g];
                    for (std::size_t i = b; i < e; ++i) y[i] = fake_quant_affine(x[i], s, z, lo, hi);
                }
                break;
            case quantizer_kind::post_gelu_twin:
                for (std::size_t i = b; i < e; ++i) y[i] = fake_quant_post_gelu(x[i], s, p.neg_scale, p.bits);
                break;
            case quantizer_kind::post_softmax_twin:
                for (std::size_t i = b; i < e; ++i) y[i] = fake_quant_post_softmax(x[i], p.split, p.bits);
                break;
            case quantizer_kind::none:
                break;
        }
    }
}

/// Simulated quantization of a vector; returns the fake-quantized copy.
inline std::vector<float> fake_quant(const quant_params& p, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    fake_quant(p, x.data(), y.data(), x.size());
    return y;
}

namespace detail {
/// Throws: zoa::error(numeric) naming the first non-finite element of x[0, n).
inline void require_finite_input(const float* x, std::size_t n, const char* what) {
    for (std::size_t i = 0; i < n; ++i)
        require(std::isfinite(x[i]), error_code::numeric, what, ": input element ", i, " is ", x[i],
                "; only finite values can be encoded");
}
}  // namespace detail

/// Integer encode into signed 8-bit codes: uniform symmetric (q = clamp(round(x/Δ), −2^(b−1), 2^(b−1)−1)) or
/// post-GELU twin (one signed code, see twin.hpp).
/// Throws: zoa::error(policy) for affine / post-softmax / none parameters (use the uint8 or two-buffer overloads),
/// zoa::error(numeric) for a non-finite input, zoa::error(shape)/(argument) as fake_quant.
inline void encode(const quant_params& p, const float* x, std::size_t n, std::int8_t* codes) {
    const bool ok =
        (p.kind == quantizer_kind::uniform && p.sch == scheme::symmetric) || p.kind == quantizer_kind::post_gelu_twin;
    require(ok, error_code::policy, "encode(int8): expects a symmetric uniform or post-GELU twin quantizer, got ",
            to_string(p.kind), "/", to_string(p.sch));
    p.validate("encode");
    detail::require_finite_input(x, n, "encode(int8)");
    const std::size_t gs = group_size(n, p.groups(), "encode");
    const int lo = p.qmin(), hi = p.qmax();
    for (std::size_t i = 0; i < n; ++i) {
        const float s = p.scale[i / gs];
        const std::int32_t q = p.kind == quantizer_kind::uniform ? encode_symmetric(x[i], s, lo, hi)
                                                                 : encode_post_gelu(x[i], s, p.neg_scale, p.bits);
        codes[i] = static_cast<std::int8_t>(q);
    }
}

/// Integer decode of signed 8-bit codes: x̂ = q·Δ (symmetric) or q·Δ₊ / q·Δ₋ (post-GELU).
/// Throws: as encode(int8).
inline void decode(const quant_params& p, const std::int8_t* codes, std::size_t n, float* y) {
    const bool ok =
        (p.kind == quantizer_kind::uniform && p.sch == scheme::symmetric) || p.kind == quantizer_kind::post_gelu_twin;
    require(ok, error_code::policy, "decode(int8): expects a symmetric uniform or post-GELU twin quantizer, got ",
            to_string(p.kind), "/", to_string(p.sch));
    p.validate("decode");
    const std::size_t gs = group_size(n, p.groups(), "decode");
    for (std::size_t i = 0; i < n; ++i) {
        const float s = p.scale[i / gs];
        y[i] = p.kind == quantizer_kind::uniform ? decode_symmetric(codes[i], s)
                                                 : decode_post_gelu(codes[i], s, p.neg_scale);
    }
}

/// Integer encode into unsigned 8-bit affine codes: q = clamp(round(x·(1/s)) + z, 0, 2^b−1).
/// Throws: zoa::error(policy) unless p is an asymmetric uniform quantizer; otherwise as encode(int8).
inline void encode(const quant_params& p, const float* x, std::size_t n, std::uint8_t* codes) {
    require(p.kind == quantizer_kind::uniform && p.sch == scheme::asymmetric, error_code::policy,
            "encode(uint8): expects an asymmetric uniform quantizer, got ", to_string(p.kind), "/", to_string(p.sch));
    p.validate("encode");
    detail::require_finite_input(x, n, "encode(uint8)");
    const std::size_t gs = group_size(n, p.groups(), "encode");
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t g = i / gs;
        codes[i] = static_cast<std::uint8_t>(encode_affine(x[i], p.scale[g], p.zero_point[g], p.qmin(), p.qmax()));
    }
}

/// Integer decode of unsigned affine codes: x̂ = (q − z)·s.
/// Throws: zoa::error(policy) unless p is an asymmetric uniform quantizer; zoa::error(argument)/(shape) when p is
/// invalid or n is not a multiple of its group count.
inline void decode(const quant_params& p, const std::uint8_t* codes, std::size_t n, float* y) {
    require(p.kind == quantizer_kind::uniform && p.sch == scheme::asymmetric, error_code::policy,
            "decode(uint8): expects an asymmetric uniform quantizer, got ", to_string(p.kind), "/", to_string(p.sch));
    p.validate("decode");
    const std::size_t gs = group_size(n, p.groups(), "decode");
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t g = i / gs;
        y[i] = decode_affine(codes[i], p.scale[g], p.zero_point[g]);
    }
}

/// Integer encode of the post-softmax twin into its two code planes (both in [0, 2^(b−1)−1]).
/// Throws: zoa::error(policy) unless p is a post-softmax twin; zoa::error(numeric) for non-finite input.
inline void encode_post_softmax(const quant_params& p, const float* x, std::size_t n, std::int8_t* high,
                                std::int8_t* low) {
    require(p.kind == quantizer_kind::post_softmax_twin, error_code::policy,
            "encode_post_softmax: expects a post-softmax twin quantizer, got ", to_string(p.kind));
    p.validate("encode_post_softmax");
    detail::require_finite_input(x, n, "encode_post_softmax");
    for (std::size_t i = 0; i < n; ++i) {
        const softmax_twin_codes c = encode_post_softmax(x[i], p.split, p.bits);
        high[i] = static_cast<std::int8_t>(c.high);
        low[i] = static_cast<std::int8_t>(c.low);
    }
}

/// Integer decode of the post-softmax twin: x̂ = high/q + low·Δ_low.
/// Throws: zoa::error(policy) unless p is a post-softmax twin; zoa::error(argument) when p is invalid.
inline void decode_post_softmax(const quant_params& p, const std::int8_t* high, const std::int8_t* low, std::size_t n,
                                float* y) {
    require(p.kind == quantizer_kind::post_softmax_twin, error_code::policy,
            "decode_post_softmax: expects a post-softmax twin quantizer, got ", to_string(p.kind));
    p.validate("decode_post_softmax");
    for (std::size_t i = 0; i < n; ++i)
        y[i] = decode_post_softmax(softmax_twin_codes{high[i], low[i]}, p.split, p.bits);
}

}  // namespace zoa::quant
