// zoa — tests for the PTQ4ViT twin quantizers (post-GELU, post-softmax "SoS") at their boundaries
#include <doctest/doctest.h>

#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/twin.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace q = zoa::quant;

TEST_CASE("post-GELU twin: fixed negative step and hand-computed values (8 bit, Δ+ = 0.25)") {
    const float neg = q::post_gelu_neg_scale(8);
    CHECK(neg == static_cast<float>(0.16997124254703522 / 128.0));
    CHECK(q::post_gelu_neg_scale(4) == static_cast<float>(0.16997124254703522 / 8.0));
    const float pos = 0.25f;
    CHECK(q::fake_quant_post_gelu(0.0f, pos, neg, 8) == 0.0f);
    CHECK(q::fake_quant_post_gelu(0.125f, pos, neg, 8) == 0.0f);    // 0.5 -> 0 (even)
    CHECK(q::fake_quant_post_gelu(0.375f, pos, neg, 8) == 0.5f);    // 1.5 -> 2
    CHECK(q::fake_quant_post_gelu(0.625f, pos, neg, 8) == 0.5f);    // 2.5 -> 2
    CHECK(q::fake_quant_post_gelu(31.75f, pos, neg, 8) == 31.75f);  // code 127 = qmax - 1
    CHECK(q::fake_quant_post_gelu(1000.0f, pos, neg, 8) == 31.75f);
    // negative side: step Δ- and clamp at -qmax = -128 (covers GELU's minimum -0.16997...)
    CHECK(q::fake_quant_post_gelu(-0.5f * neg, pos, neg, 8) == 0.0f);         // -0.5 -> -0
    CHECK(q::fake_quant_post_gelu(-1.5f * neg, pos, neg, 8) == -2.0f * neg);  // exact: halving/doubling
    CHECK(q::fake_quant_post_gelu(-0.16997124254703522f, pos, neg, 8) == -128.0f * neg);
    CHECK(q::fake_quant_post_gelu(-5.0f, pos, neg, 8) == -128.0f * neg);
    // one signed code: positive codes use Δ+, negative codes Δ-
    CHECK(q::encode_post_gelu(31.75f, pos, neg, 8) == 127);
    CHECK(q::encode_post_gelu(-5.0f, pos, neg, 8) == -128);
    CHECK(q::decode_post_gelu(3, pos, neg) == 0.75f);
    CHECK(q::decode_post_gelu(-3, pos, neg) == -3.0f * neg);
}

TEST_CASE("post-GELU twin: encode/decode equals the reference sum for every value (all widths)") {
    std::vector<float> x;
    for (int i = -3000; i <= 3000; ++i) x.push_back(float(i) * 0.0137f);
    for (int b = 2; b <= 8; ++b) {
        const q::quant_params p = q::make_post_gelu(b, {0.05f * float(1 << (8 - b))});
        std::vector<std::int8_t> c(x.size());
        std::vector<float> y(x.size());
        q::encode(p, x.data(), x.size(), c.data());
        q::decode(p, c.data(), c.size(), y.data());
        CAPTURE(b);
        CHECK(y == q::fake_quant(p, x));
        bool same = true;
        for (std::size_t i = 0; i < x.size(); ++i)
            same = same && y[i] == q::fake_quant_post_gelu(x[i], p.scale[0], p.neg_scale, b);
        CHECK(same);
    }
}

TEST_CASE("post-softmax twin: the SUM quirk (spec §6 item 16), 8 bit, split = 1/8") {
    const int b = 8;
    const float split = 0.125f, q = 127.0f;
    const float low = q::post_softmax_low_scale(split, b);
    CHECK(low == split / q);
    const float low_sat = q::detail::fp_barrier(q::round_half_even(split / low) * low);  // saturated low term ~ split
    CHECK(std::fabs(low_sat - split) < 1e-6f);
    // x = 0: the coarse term is round(split*q)/q = round(15.875)/127 = 16/127 -- zero is not representable
    CHECK(q::fake_quant_post_softmax(0.0f, split, b) == 16.0f / q);
    // x = 1: the coarse term is 1 and the saturated low term adds ~split
    CHECK(q::fake_quant_post_softmax(1.0f, split, b) == 1.0f + low_sat);
    // exactly at the split both terms are "at the boundary": 16/127 + low_sat
    CHECK(q::fake_quant_post_softmax(split, split, b) == 16.0f / q + low_sat);
    // just below the split: low code 126 (x/Δ_low ~ 126.9 -> 127 would be reached only at >= 126.5 Δ_low)
    const float below = q::detail::fp_barrier(126.0f * low);
    CHECK(q::fake_quant_post_softmax(below, split, b) == 16.0f / q + below);
    // just above the split: the coarse term moves on the 1/127 grid, the low term stays saturated
    CHECK(q::fake_quant_post_softmax(0.2f, split, b) == q::round_half_even(0.2f * q) / q + low_sat);
    // values outside [0, 1] clamp
    CHECK(q::fake_quant_post_softmax(-1.0f, split, b) == 16.0f / q);
    CHECK(q::fake_quant_post_softmax(7.0f, split, b) == 1.0f + low_sat);
}

TEST_CASE("post-softmax twin: the coarse constant vanishes only when split < 1/(2q)") {
    // q = 127: 1/(2q) = 0.0039370...; split 2^-8 = 0.00390625 < it, split 2^-7 = 0.0078125 > it
    CHECK(q::fake_quant_post_softmax(0.0f, 0.00390625f, 8) == 0.0f);
    CHECK(q::fake_quant_post_softmax(0.0f, 0.0078125f, 8) == 1.0f / 127.0f);
    // 4 bit: q = 7, split 1/8: round(0.875) = 1 -> x = 0 maps to 1/7
    CHECK(q::fake_quant_post_softmax(0.0f, 0.125f, 4) == 1.0f / 7.0f);
    // split = 1: the coarse term is constant 1 and the low grid covers [0, 1] with step 1/7 -> x^ = 1 + x~
    CHECK(q::fake_quant_post_softmax(0.5f, 1.0f, 4) ==
          1.0f + q::detail::fp_barrier(q::round_half_even(0.5f / (1.0f / 7.0f)) * (1.0f / 7.0f)));
}

TEST_CASE("post-softmax twin: two code planes reproduce the simulated value exactly") {
    std::vector<float> x;
    for (int i = 0; i <= 2000; ++i) x.push_back(float(i) / 2000.0f);
    for (int b = 2; b <= 8; ++b)
        for (int i = 0; i < 20; ++i) {
            const q::quant_params p = q::make_post_softmax(b, std::ldexp(1.0f, -i));
            std::vector<std::int8_t> hi(x.size()), lo(x.size());
            std::vector<float> y(x.size());
            q::encode_post_softmax(p, x.data(), x.size(), hi.data(), lo.data());
            q::decode_post_softmax(p, hi.data(), lo.data(), x.size(), y.data());
            CAPTURE(b);
            CAPTURE(i);
            CHECK(y == q::fake_quant(p, x));
            bool in_range = true;
            for (std::size_t k = 0; k < x.size(); ++k)
                in_range =
                    in_range && hi[k] >= 0 && lo[k] >= 0 && hi[k] <= (1 << (b - 1)) - 1 && lo[k] <= (1 << (b - 1)) - 1;
            CHECK(in_range);
        }
}
