// zoa — tests for the uniform quantizers (symmetric, affine) and the bulk fake-quant / encode / decode paths
#include <doctest/doctest.h>

#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/quantizer.hpp"

#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace q = zoa::quant;

TEST_CASE("round half to even (torch.round), not half away from zero") {
    CHECK(q::round_half_even(0.5f) == 0.0f);
    CHECK(q::round_half_even(1.5f) == 2.0f);
    CHECK(q::round_half_even(2.5f) == 2.0f);
    CHECK(q::round_half_even(-0.5f) == 0.0f);
    CHECK(std::signbit(q::round_half_even(-0.5f)));
    CHECK(q::round_half_even(-1.5f) == -2.0f);
    CHECK(q::round_half_even(-2.5f) == -2.0f);
    CHECK(q::round_half_even(2.5000002f) == 3.0f);
    CHECK(std::round(2.5f) == 3.0f);  // the std::round trap the spec warns about
}

TEST_CASE("symmetric: ties go to the even code (Δ = 0.25 makes x/Δ exact)") {
    // x/Δ = 0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5
    const float xs[] = {0.125f, 0.375f, 0.625f, 0.875f, -0.125f, -0.375f, -0.625f};
    const int codes[] = {0, 2, 2, 4, 0, -2, -2};
    for (int i = 0; i < 7; ++i) {
        CAPTURE(xs[i]);
        CHECK(q::encode_symmetric(xs[i], 0.25f, -128, 127) == codes[i]);
        CHECK(q::fake_quant_symmetric(xs[i], 0.25f, -128, 127) == 0.25f * float(codes[i]));
    }
}

TEST_CASE("symmetric: clamp at the extremes of [-2^(b-1), 2^(b-1)-1]") {
    for (int b = 2; b <= 8; ++b) {
        const int lo = q::signed_min(b), hi = q::signed_max(b);
        CAPTURE(b);
        CHECK(q::encode_symmetric(1e9f, 0.25f, lo, hi) == hi);
        CHECK(q::encode_symmetric(-1e9f, 0.25f, lo, hi) == lo);
        CHECK(q::fake_quant_symmetric(1e9f, 0.25f, lo, hi) == 0.25f * float(hi));
        CHECK(q::fake_quant_symmetric(-std::numeric_limits<float>::infinity(), 0.25f, lo, hi) == 0.25f * float(lo));
        // (hi + 0.5)Δ rounds to hi + 1 (even or not), then clamps to hi; (lo - 0.5)Δ clamps to lo
        CHECK(q::encode_symmetric((float(hi) + 0.5f) * 0.25f, 0.25f, lo, hi) == hi);
        CHECK(q::encode_symmetric((float(lo) - 0.5f) * 0.25f, 0.25f, lo, hi) == lo);
    }
    // 8-bit: 31.875/0.25 = 127.5 -> 128 -> 127; -32.125/0.25 = -128.5 -> -128
    CHECK(q::fake_quant_symmetric(31.875f, 0.25f, -128, 127) == 31.75f);
    CHECK(q::fake_quant_symmetric(-32.125f, 0.25f, -128, 127) == -32.0f);
}

TEST_CASE("affine (MQBench/PyTorch): q = clamp(round(x * (1/s)) + z, 0, 2^b-1), x^ = (q - z) s") {
    // s = 0.25 -> 1/s = 4 exactly; ties at x*4 = k + 0.5
    CHECK(q::encode_affine(0.125f, 0.25f, 10, 0, 255) == 10);  // 0.5 -> 0
    CHECK(q::encode_affine(0.375f, 0.25f, 10, 0, 255) == 12);  // 1.5 -> 2
    CHECK(q::encode_affine(0.625f, 0.25f, 10, 0, 255) == 12);  // 2.5 -> 2
    CHECK(q::encode_affine(-0.375f, 0.25f, 10, 0, 255) == 8);  // -1.5 -> -2
    CHECK(q::fake_quant_affine(0.625f, 0.25f, 10, 0, 255) == 0.5f);
    CHECK(q::encode_affine(-100.0f, 0.25f, 10, 0, 15) == 0);
    CHECK(q::encode_affine(100.0f, 0.25f, 10, 0, 15) == 15);
    CHECK(q::fake_quant_affine(100.0f, 0.25f, 10, 0, 15) == 1.25f);   // (15 - 10) * 0.25
    CHECK(q::fake_quant_affine(-100.0f, 0.25f, 10, 0, 15) == -2.5f);  // (0 - 10) * 0.25
    CHECK(q::decode_affine(200, 0.5f, 128) == 36.0f);
}

TEST_CASE("NaN propagates through the simulated path and encodes as qmin") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(q::fake_quant_symmetric(nan, 0.1f, -8, 7)));
    CHECK(std::isnan(q::fake_quant_affine(nan, 0.1f, 3, 0, 15)));
    CHECK(q::encode_symmetric(nan, 0.1f, -8, 7) == -8);
    CHECK(q::encode_affine(nan, 0.1f, 3, 0, 15) == 0);
}

TEST_CASE("encode/decode and fake-quant share one definition (sweep, every bit-width)") {
    std::vector<float> x;
    for (int i = -4000; i <= 4000; ++i) x.push_back(float(i) * 0.00731f);
    for (int b = 2; b <= 8; ++b) {
        const q::quant_params ps = q::make_symmetric(b, q::granularity::per_tensor, {0.0371f});
        std::vector<std::int8_t> codes(x.size());
        std::vector<float> dec(x.size());
        q::encode(ps, x.data(), x.size(), codes.data());
        q::decode(ps, codes.data(), codes.size(), dec.data());
        CHECK(dec == q::fake_quant(ps, x));
        const q::quant_params pa = q::make_affine(b, q::granularity::per_tensor, {0.0293f}, {(1 << b) / 3});
        std::vector<std::uint8_t> ucodes(x.size());
        q::encode(pa, x.data(), x.size(), ucodes.data());
        q::decode(pa, ucodes.data(), ucodes.size(), dec.data());
        CHECK(dec == q::fake_quant(pa, x));
        bool in_range = true;
        for (std::uint8_t c : ucodes) in_range = in_range && int(c) <= (1 << b) - 1;
        CHECK(in_range);
    }
}

TEST_CASE("granularity: group g owns the slice [g n/G, (g+1) n/G)") {
    // 3 row blocks of a [6, 2] weight: rows {0,1}, {2,3}, {4,5}
    const std::vector<float> w = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const q::quant_params p = q::make_symmetric(8, q::granularity::per_row_block, {0.5f, 0.3f, 0.7f});
    const std::vector<float> y = q::fake_quant(p, w);
    for (std::size_t i = 0; i < 4; ++i) CHECK(y[i] == 1.0f);
    for (std::size_t i = 4; i < 8; ++i) CHECK(y[i] == 3.0f * 0.3f);  // round(1/0.3) = 3
    for (std::size_t i = 8; i < 12; ++i) CHECK(y[i] == 0.7f);        // round(1/0.7) = 1
    const q::quant_params bad = q::make_symmetric(8, q::granularity::per_channel, {1, 1, 1, 1, 1});
    CHECK_THROWS_WITH_AS(q::fake_quant(bad, w),
                         "zoa: shape: fake_quant: 12 elements cannot be split into 5 equal "
                         "scale groups",
                         zoa::error);
}

TEST_CASE("bulk encoders reject wrong kinds and non-finite inputs") {
    const std::vector<float> x = {0.1f, std::numeric_limits<float>::infinity()};
    std::vector<std::int8_t> c(2);
    std::vector<std::uint8_t> u(2);
    const q::quant_params ps = q::make_symmetric(8, q::granularity::per_tensor, {0.1f});
    const q::quant_params pa = q::make_affine(8, q::granularity::per_tensor, {0.1f}, {128});
    CHECK_THROWS_WITH_AS(q::encode(ps, x.data(), 2, c.data()),
                         "zoa: numeric: encode(int8): input element 1 is inf; only finite values can be encoded",
                         zoa::error);
    CHECK_THROWS_AS(q::encode(pa, x.data(), 1, c.data()), zoa::error);
    CHECK_THROWS_AS(q::encode(ps, x.data(), 1, u.data()), zoa::error);
    q::quant_params zero = ps;
    zero.scale[0] = 0.0f;
    CHECK_THROWS_WITH_AS(q::fake_quant(zero, x), "zoa: argument: fake_quant: scale[0] must be finite and > 0, got 0",
                         zoa::error);
    // kind none is a pass-through copy
    const std::vector<float> same = q::fake_quant(q::make_none(), x);
    CHECK(same == x);
}

TEST_CASE("rounding-mode guard") {
    CHECK_NOTHROW(q::require_round_to_nearest("test"));
    std::fesetround(FE_UPWARD);
    CHECK_THROWS_AS(q::require_round_to_nearest("test"), zoa::error);
    std::fesetround(FE_TONEAREST);
}
