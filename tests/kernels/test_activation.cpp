// zoa — tests of kernels::gelu / kernels::relu against the reference twins
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/activation.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/kernels/reference/activation.hpp"

namespace {

namespace ref = zoa::kernels::reference;

// A dense sweep of [-16, 16], random values at many scales and the special values.
std::vector<float> activation_inputs(zoa::rng& g) {
    std::vector<float> x;
    for (int i = -16000; i <= 16000; ++i) x.push_back(static_cast<float>(i) * 1e-3f);
    for (float s : {1e-30f, 1e-6f, 1.0f, 1e3f, 1e30f})
        for (int i = 0; i < 500; ++i) x.push_back(s * g.normal());
    const float lim = std::numeric_limits<float>::max(), den = std::numeric_limits<float>::denorm_min();
    for (float v : {0.0f, -0.0f, lim, -lim, den, -den, 1e-40f, -1e-40f, std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
        x.push_back(v);
    x.push_back(0.5f);  // odd length: a ragged tail for every vector width
    return x;
}

}  // namespace

TEST_CASE_TEMPLATE("gelu matches the exact-erf reference within 1e-5 relative, with 1 and 2 threads", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    const std::string arch = Arch::name();
    CAPTURE(arch);
    zoa::execution_context ctx1(1), ctx2(2);
    zoa::rng g(1, 8);
    const std::vector<float> x = activation_inputs(g);
    std::vector<float> y1(x.size()), y2(x.size()), yr(x.size());
    zoa::kernels::gelu<Arch>(x.data(), y1.data(), x.size(), ctx1);
    zoa::kernels::gelu<Arch>(x.data(), y2.data(), x.size(), ctx2);
    ref::gelu(x.data(), yr.data(), x.size(), ctx1);
    CHECK(zoa_test::same_bits(y1, y2));
    const double worst = zoa_test::check_relative(y1.data(), yr.data(), x.size(), 1e-5, "gelu");
    MESSAGE("gelu<", arch, "> worst relative error vs double reference: ", worst);
    // Special values (documented): +Inf → +Inf, −Inf → NaN (as PyTorch), NaN → NaN, ±0 → ±0.
    const float inf = std::numeric_limits<float>::infinity();
    const float special[] = {inf, -inf, std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f};
    float out[5];
    zoa::kernels::gelu<Arch>(special, out, 5, ctx1);
    CHECK(out[0] == inf);
    CHECK(std::isnan(out[1]));
    CHECK(std::isnan(out[2]));
    CHECK((out[3] == 0.0f && !std::signbit(out[3])));
    CHECK((out[4] == 0.0f && std::signbit(out[4])));
    // Every length 1..40 (pure tails, exact vectors, vector + tail), in place.
    for (std::size_t n = 1; n <= 40; ++n) {
        std::vector<float> v(x.begin() + 15990, x.begin() + 15990 + static_cast<long>(n)), r(n);
        ref::gelu(v.data(), r.data(), n, ctx1);
        zoa::kernels::gelu<Arch>(v.data(), v.data(), n, ctx1);
        zoa_test::check_relative(v.data(), r.data(), n, 1e-5, "gelu in place, n=" + std::to_string(n));
    }
}

TEST_CASE_TEMPLATE("relu equals its reference bit for bit (NaN kept, -0 kept)", Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx1(1), ctx2(2);
    zoa::rng g(2, 9);
    const std::vector<float> x = activation_inputs(g);
    std::vector<float> y1(x.size()), y2(x.size()), yr(x.size());
    zoa::kernels::relu<Arch>(x.data(), y1.data(), x.size(), ctx1);
    zoa::kernels::relu<Arch>(x.data(), y2.data(), x.size(), ctx2);
    ref::relu(x.data(), yr.data(), x.size(), ctx1);
    CHECK(zoa_test::same_bits(y1, y2));
    CHECK(zoa_test::same_bits(y1, yr));
    std::vector<float> in_place = x;
    zoa::kernels::relu<Arch>(in_place.data(), in_place.data(), in_place.size(), ctx2);
    CHECK(zoa_test::same_bits(in_place, yr));
    const float special[] = {-0.0f, std::numeric_limits<float>::quiet_NaN(), -1.0f, 2.0f};
    float out[4];
    zoa::kernels::relu<Arch>(special, out, 4, ctx1);
    CHECK(std::signbit(out[0]));
    CHECK(std::isnan(out[1]));
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 2.0f);
}

TEST_CASE("activations reject bad arguments with zoa::error") {
    zoa::execution_context ctx(1);
    float v[4] = {};
    CHECK_THROWS_WITH_AS(zoa::kernels::gelu(v, v, 0, ctx), "zoa: argument: gelu: n must be > 0, got 0", zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::relu(nullptr, v, 4, ctx), "zoa: argument: relu: x must not be null", zoa::error);
    CHECK_THROWS_AS(ref::gelu(v, nullptr, 4, ctx), zoa::error);
    CHECK_THROWS_AS(ref::relu(v, v, 0, ctx), zoa::error);
}

TEST_CASE_TEMPLATE("gelu_quantize_twin equals gelu then the two per-tensor quantizations, bit for bit", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    const std::string arch = Arch::name();
    CAPTURE(arch);
    zoa::execution_context ctx1(1), ctx2(2);
    zoa::rng g(3, 10);
    // Finite inputs across GELU's range, many exactly on .5 ties of the scales below, length with a ragged tail
    // and more than one 16384-element block (the SIMD/tail split of gelu() must be reproduced).
    std::vector<float> x;
    for (int i = 0; i < 40001; ++i) x.push_back(i % 7 == 0 ? static_cast<float>(i % 200 - 100) * 0.0625f : 3.0f * g.normal());
    for (const int bits : {8, 6, 4}) {
        CAPTURE(bits);
        const int q = 1 << (bits - 1);
        const float sp = 4.0f / static_cast<float>(q - 1), sn = 0.17f / static_cast<float>(q);
        std::vector<float> h(x.size());
        zoa::kernels::gelu<Arch>(x.data(), h.data(), x.size(), ctx1);
        std::vector<std::int8_t> pr(x.size()), nr(x.size()), p1(x.size()), n1(x.size()), p2(x.size()), n2(x.size());
        zoa::kernels::quantize_per_tensor<Arch>(h.data(), pr.data(), h.size(), sp, 0, 0, q - 1, ctx1);
        zoa::kernels::quantize_per_tensor<Arch>(h.data(), nr.data(), h.size(), sn, 0, -q, 0, ctx1);
        zoa::kernels::gelu_quantize_twin<Arch>(x.data(), p1.data(), n1.data(), x.size(), sp, sn, q, ctx1);
        zoa::kernels::gelu_quantize_twin<Arch>(x.data(), p2.data(), n2.data(), x.size(), sp, sn, q, ctx2);
        CHECK(p1 == pr);
        CHECK(n1 == nr);
        CHECK(p2 == pr);
        CHECK(n2 == nr);
        std::size_t both = 0;
        for (std::size_t i = 0; i < x.size(); ++i) both += (pr[i] != 0 && nr[i] != 0);
        CHECK(both == 0);  // the twin split: at most one plane is nonzero per element
    }
    std::vector<float> bad = x;
    bad[20000] = -std::numeric_limits<float>::infinity();  // GELU(−Inf) = NaN
    std::vector<std::int8_t> p(bad.size()), n(bad.size());
    CHECK_THROWS_WITH_AS(zoa::kernels::gelu_quantize_twin<Arch>(bad.data(), p.data(), n.data(), bad.size(), 0.1f, 0.01f,
                                                                128, ctx2),
                         "zoa: numeric: gelu_quantize_twin: GELU of input element 20000 (-inf) is NaN (cannot be "
                         "quantized)",
                         zoa::error);
    CHECK_THROWS_AS(zoa::kernels::gelu_quantize_twin<Arch>(x.data(), p.data(), n.data(), x.size(), 0.1f, 0.01f, 129,
                                                           ctx1),
                    zoa::error);
    CHECK_THROWS_AS(zoa::kernels::gelu_quantize_twin<Arch>(x.data(), p.data(), n.data(), x.size(), 0.0f, 0.01f, 128,
                                                           ctx1),
                    zoa::error);
}
