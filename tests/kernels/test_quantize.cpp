// zoa — tests of kernels::(de)quantize_per_{tensor,channel}: bit-exact against the literal reference formulas
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/kernels/reference/quantize.hpp"

namespace {

namespace ref = zoa::kernels::reference;

struct qrange {
    std::int32_t lo, hi;
};

// Inputs that stress rounding and saturation for a given scale: exact ties (k + 1/2)·scale, values one ulp either
// side of ties, random values across the range and far outside it, and the special floats (no NaN).
std::vector<float> quant_inputs(zoa::rng& g, std::size_t n, float scale, const qrange& r) {
    std::vector<float> x;
    x.reserve(n + 64);
    for (int k = r.lo - 3; k <= r.hi + 3 && x.size() < n / 2; ++k) {
        const float tie = (static_cast<float>(k) + 0.5f) * scale;
        x.push_back(tie);
        x.push_back(std::nextafter(tie, 1e30f));
        x.push_back(std::nextafter(tie, -1e30f));
    }
    const float span = static_cast<float>(r.hi - r.lo + 8) * scale;
    while (x.size() < n) x.push_back((g.uniform() - 0.5f) * 2.0f * span);
    const float lim = std::numeric_limits<float>::max(), inf = std::numeric_limits<float>::infinity();
    for (float v : {0.0f, -0.0f, 1e30f, -1e30f, lim, -lim, inf, -inf, 1e-40f, -1e-40f, 0.5f * scale, -0.5f * scale})
        x.push_back(v);
    x.push_back(1.0f);  // odd length
    return x;
}

template <class Arch, class T>
void per_tensor_case(zoa::rng& g, const qrange& r, float scale, std::int32_t zp, std::size_t n) {
    const std::string arch = Arch::name();
    CAPTURE(arch);
    CAPTURE(r.lo);
    CAPTURE(r.hi);
    CAPTURE(scale);
    CAPTURE(zp);
    zoa::execution_context ctx1(1), ctx2(2);
    const std::vector<float> x = quant_inputs(g, n, scale, r);
    std::vector<T> q1(x.size()), q2(x.size()), qr(x.size());
    zoa::kernels::quantize_per_tensor<Arch>(x.data(), q1.data(), x.size(), scale, zp, r.lo, r.hi, ctx1);
    zoa::kernels::quantize_per_tensor<Arch>(x.data(), q2.data(), x.size(), scale, zp, r.lo, r.hi, ctx2);
    ref::quantize_per_tensor(x.data(), qr.data(), x.size(), scale, zp, r.lo, r.hi, ctx1);
    CHECK(zoa_test::same_bits(q1, q2));
    CHECK(zoa_test::same_bits(q1, qr));
    bool in_range = true;
    for (T v : q1) in_range = in_range && v >= r.lo && v <= r.hi;
    CHECK(in_range);
    // dequantize the codes back, bit-exact against the reference
    std::vector<float> d1(x.size()), d2(x.size()), dr(x.size());
    zoa::kernels::dequantize_per_tensor<Arch>(q1.data(), d1.data(), q1.size(), scale, zp, ctx1);
    zoa::kernels::dequantize_per_tensor<Arch>(q1.data(), d2.data(), q1.size(), scale, zp, ctx2);
    ref::dequantize_per_tensor(q1.data(), dr.data(), q1.size(), scale, zp, ctx1);
    CHECK(zoa_test::same_bits(d1, d2));
    CHECK(zoa_test::same_bits(d1, dr));
    // inside the representable range the round trip is within half a step (plus float rounding of x/scale, q·scale)
    bool half_step = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double lo = (r.lo - zp) * static_cast<double>(scale), hi = (r.hi - zp) * static_cast<double>(scale);
        if (x[i] >= lo && x[i] <= hi)
            half_step = half_step && std::fabs(d1[i] - x[i]) <= 0.5 * scale + 1e-6 * (std::fabs(x[i]) + scale);
    }
    CHECK(half_step);
}

}  // namespace

TEST_CASE("quantize rounds exact ties half to even and saturates (both implementations)") {
    zoa::execution_context ctx(1);
    // x / scale is exact here (scale a power of two), so these are true ties.
    const float scale = 0.25f;
    const float ties[] = {0.5f,  1.5f,   2.5f,   3.5f,    -0.5f,   -1.5f, -2.5f,
                          -3.5f, 126.5f, 127.5f, -127.5f, -128.5f, 1e9f,  -1e9f};
    const std::int8_t expect[] = {0, 2, 2, 4, 0, -2, -2, -4, 126, 127, -128, -128, 127, -128};
    const std::size_t n = sizeof(ties) / sizeof(ties[0]);
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = ties[i] * scale;
    // repeated so that vector bodies (not only tails) see every tie, at every lane position
    std::vector<float> xs;
    std::vector<std::int8_t> want;
    for (int rep = 0; rep < 17; ++rep)
        for (std::size_t i = 0; i < n; ++i) {
            xs.push_back(x[(i + static_cast<std::size_t>(rep)) % n]);
            want.push_back(expect[(i + static_cast<std::size_t>(rep)) % n]);
        }
    std::vector<std::int8_t> q(xs.size()), qr(xs.size());
    zoa::kernels::quantize_per_tensor(xs.data(), q.data(), xs.size(), scale, 0, -128, 127, ctx);
    ref::quantize_per_tensor(xs.data(), qr.data(), xs.size(), scale, 0, -128, 127, ctx);
    CHECK(q == want);
    CHECK(qr == want);
    for (std::size_t i = 0; i < xs.size(); ++i)  // and nearbyint itself agrees (default FE_TONEAREST)
        CHECK(static_cast<double>(want[i]) == std::fmax(-128.0, std::fmin(127.0, std::nearbyint(xs[i] / scale))));
    // With a zero point the tie is on x/scale, before adding zp: 2.5 + 10 → 12, 3.5 + 10 → 14.
    const float zx[] = {2.5f * scale, 3.5f * scale, -0.5f * scale};
    std::uint8_t zq[3];
    zoa::kernels::quantize_per_tensor(zx, zq, 3, scale, 10, 0, 255, ctx);
    CHECK(zq[0] == 12);
    CHECK(zq[1] == 14);
    CHECK(zq[2] == 10);
}

TEST_CASE_TEMPLATE("quantize_per_tensor / dequantize_per_tensor are bit-exact vs reference, int8 and uint8", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(77, 11);
    const qrange s8{-128, 127}, s8r{-127, 127}, s4{-8, 7}, s6{-32, 31}, u8{0, 255}, u4{0, 15};
    for (float scale : {1.0f, 0.25f, 0.0173f, 3.0e-3f, 1e-30f, 7.5f}) {
        per_tensor_case<Arch, std::int8_t>(g, s8, scale, 0, 2000);
        per_tensor_case<Arch, std::int8_t>(g, s8r, scale, 0, 300);
        per_tensor_case<Arch, std::int8_t>(g, s6, scale, 0, 300);
        per_tensor_case<Arch, std::int8_t>(g, s4, scale, 3, 300);
        per_tensor_case<Arch, std::uint8_t>(g, u8, scale, 128, 2000);
        per_tensor_case<Arch, std::uint8_t>(g, u4, scale, 0, 300);
    }
    per_tensor_case<Arch, std::int8_t>(g, s8, 0.05f, -7, 50000);  // several parallel blocks
    per_tensor_case<Arch, std::uint8_t>(g, u8, 0.05f, 200, 50000);
    for (std::size_t n = 1; n <= 40; ++n) {  // every tail length
        CAPTURE(n);
        const std::vector<float> x = zoa_test::uniform_vector(g, n, -40.0f, 40.0f);
        std::vector<std::int8_t> q(n), qr(n);
        zoa::execution_context ctx(1);
        zoa::kernels::quantize_per_tensor<Arch>(x.data(), q.data(), n, 0.3f, 1, -128, 127, ctx);
        ref::quantize_per_tensor(x.data(), qr.data(), n, 0.3f, 1, -128, 127, ctx);
        CHECK(q == qr);
    }
}

TEST_CASE_TEMPLATE("per-channel quantize / dequantize are bit-exact vs reference for every layout", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(78, 12);
    zoa::execution_context ctx1(1), ctx2(2);
    for (int t = 0; t < 24; ++t) {
        const std::size_t outer = zoa_test::pick(g, 1, 5), channels = zoa_test::pick(g, 1, 40);
        const std::size_t inner = t % 3 == 0 ? 1 : zoa_test::pick(g, 1, 70);
        const bool unsigned_codes = t % 2 == 1, with_zp = t % 4 != 0;
        CAPTURE(outer);
        CAPTURE(channels);
        CAPTURE(inner);
        CAPTURE(unsigned_codes);
        const std::int32_t qmin = unsigned_codes ? 0 : -128, qmax = unsigned_codes ? 255 : 127;
        std::vector<float> scale(channels);
        std::vector<std::int32_t> zp(channels);
        for (std::size_t c = 0; c < channels; ++c) {
            scale[c] = std::ldexp(0.5f + g.uniform(), static_cast<int>(g.uniform_index(12)) - 8);
            zp[c] = with_zp
                        ? qmin + static_cast<std::int32_t>(g.uniform_index(static_cast<std::uint32_t>(qmax - qmin + 1)))
                        : 0;
        }
        const std::size_t n = outer * channels * inner;
        std::vector<float> x(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t c = (i / inner) % channels;
            const float k = std::floor((g.uniform() - 0.5f) * 600.0f);
            x[i] = (i % 5 == 0 ? k + 0.5f : k + g.uniform()) * scale[c];  // every 5th value an exact tie
        }
        x[0] = std::numeric_limits<float>::infinity();
        const std::int32_t* zpp = with_zp ? zp.data() : nullptr;
        auto run = [&](auto tag) {
            using T = decltype(tag);
            std::vector<T> q1(n), q2(n), qr(n);
            zoa::kernels::quantize_per_channel<Arch>(x.data(), q1.data(), outer, channels, inner, scale.data(), zpp,
                                                     qmin, qmax, ctx1);
            zoa::kernels::quantize_per_channel<Arch>(x.data(), q2.data(), outer, channels, inner, scale.data(), zpp,
                                                     qmin, qmax, ctx2);
            ref::quantize_per_channel(x.data(), qr.data(), outer, channels, inner, scale.data(), zpp, qmin, qmax, ctx1);
            CHECK(zoa_test::same_bits(q1, q2));
            CHECK(zoa_test::same_bits(q1, qr));
            std::vector<float> d1(n), d2(n), dr(n);
            zoa::kernels::dequantize_per_channel<Arch>(q1.data(), d1.data(), outer, channels, inner, scale.data(), zpp,
                                                       ctx1);
            zoa::kernels::dequantize_per_channel<Arch>(q1.data(), d2.data(), outer, channels, inner, scale.data(), zpp,
                                                       ctx2);
            ref::dequantize_per_channel(q1.data(), dr.data(), outer, channels, inner, scale.data(), zpp, ctx1);
            CHECK(zoa_test::same_bits(d1, d2));
            CHECK(zoa_test::same_bits(d1, dr));
        };
        if (unsigned_codes)
            run(std::uint8_t{});
        else
            run(std::int8_t{});
    }
}

TEST_CASE_TEMPLATE("dequantize covers every code exactly", Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx(1);
    std::vector<std::int8_t> qs(256);
    std::vector<std::uint8_t> qu(256);
    for (int i = 0; i < 256; ++i) {
        qs[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(i - 128);
        qu[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    }
    std::vector<float> a(256), b(256);
    zoa::kernels::dequantize_per_tensor<Arch>(qs.data(), a.data(), 256, 0.0371f, -3, ctx);
    ref::dequantize_per_tensor(qs.data(), b.data(), 256, 0.0371f, -3, ctx);
    CHECK(zoa_test::same_bits(a, b));
    zoa::kernels::dequantize_per_tensor<Arch>(qu.data(), a.data(), 256, 0.0371f, 131, ctx);
    ref::dequantize_per_tensor(qu.data(), b.data(), 256, 0.0371f, 131, ctx);
    CHECK(zoa_test::same_bits(a, b));
    CHECK(a[131] == 0.0f);
}

TEST_CASE_TEMPLATE("quantize refuses NaN with a numeric error naming the element", Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx(2);
    for (std::size_t pos : {std::size_t{0}, std::size_t{9}, std::size_t{36}}) {
        std::vector<float> x(37, 1.0f);
        x[pos] = std::numeric_limits<float>::quiet_NaN();
        std::vector<std::int8_t> q(37);
        const std::string msg =
            "zoa: numeric: quantize_per_tensor: input element " + std::to_string(pos) + " is NaN (cannot be quantized)";
        CHECK_THROWS_WITH_AS(zoa::kernels::quantize_per_tensor<Arch>(x.data(), q.data(), 37, 0.1f, 0, -128, 127, ctx),
                             msg.c_str(), zoa::error);
        CHECK_THROWS_WITH_AS(ref::quantize_per_tensor(x.data(), q.data(), 37, 0.1f, 0, -128, 127, ctx), msg.c_str(),
                             zoa::error);
        const float scale[1] = {0.1f};
        CHECK_THROWS_AS(
            zoa::kernels::quantize_per_channel<Arch>(x.data(), q.data(), 37, 1, 1, scale, nullptr, -128, 127, ctx),
            zoa::error);
        CHECK_THROWS_AS(
            zoa::kernels::quantize_per_channel<Arch>(x.data(), q.data(), 1, 1, 37, scale, nullptr, -128, 127, ctx),
            zoa::error);
    }
}

TEST_CASE("quantize/dequantize reject bad parameters with zoa::error") {
    zoa::execution_context ctx(1);
    float x[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    std::int8_t q[4];
    std::uint8_t u[4];
    using zoa::kernels::quantize_per_tensor;
    CHECK_THROWS_WITH_AS(quantize_per_tensor(x, q, 4, 0.0f, 0, -128, 127, ctx),
                         "zoa: argument: quantize_per_tensor: scale must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, q, 4, -1.0f, 0, -128, 127, ctx), zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, q, 4, std::numeric_limits<float>::infinity(), 0, -128, 127, ctx),
                    zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, q, 4, std::nanf(""), 0, -128, 127, ctx), zoa::error);
    CHECK_THROWS_WITH_AS(quantize_per_tensor(x, q, 4, 1.0f, 200, -128, 127, ctx),
                         "zoa: argument: quantize_per_tensor: zero_point = 200 is outside [-128, 127]", zoa::error);
    CHECK_THROWS_WITH_AS(quantize_per_tensor(x, u, 4, 1.0f, 0, -1, 255, ctx),
                         "zoa: argument: quantize_per_tensor: quantization range [-1, 255] must satisfy 0 <= qmin <= "
                         "qmax <= 255",
                         zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, q, 4, 1.0f, 0, 5, -5, ctx), zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, q, 0, 1.0f, 0, -128, 127, ctx), zoa::error);
    CHECK_THROWS_AS(quantize_per_tensor(x, static_cast<std::int8_t*>(nullptr), 4, 1.0f, 0, -128, 127, ctx), zoa::error);
    const float scales[2] = {1.0f, 0.0f};
    const std::int32_t zps[2] = {0, 0};
    CHECK_THROWS_WITH_AS(zoa::kernels::quantize_per_channel(x, q, 1, 2, 2, scales, zps, -128, 127, ctx),
                         "zoa: argument: quantize_per_channel: scale[1] must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::dequantize_per_channel(q, x, 1, 2, 2, scales, zps, ctx),
                         "zoa: argument: dequantize_per_channel: scale[1] must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_AS(zoa::kernels::dequantize_per_tensor(q, x, 4, -2.0f, 0, ctx), zoa::error);
    CHECK_THROWS_AS(ref::quantize_per_tensor(x, q, 4, 1.0f, 200, -128, 127, ctx), zoa::error);
    CHECK_THROWS_AS(ref::quantize_per_channel(x, q, 1, 2, 2, scales, zps, -128, 127, ctx), zoa::error);
}
