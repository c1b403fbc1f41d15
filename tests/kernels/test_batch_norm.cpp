// zoa — tests of kernels::batch_norm_{eval,batch_stats} against the double-precision reference twins
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/batch_norm.hpp"
#include "zoa/kernels/reference/batch_norm.hpp"

namespace {

namespace ref = zoa::kernels::reference;
using zoa_test::regime;

const regime regimes[] = {{"normal", 0.0f, 1.0f},
                          {"offset", 1000.0f, 0.5f},
                          {"wide", 0.0f, 1e6f},
                          {"tiny", 0.0f, 1e-20f},
                          {"huge", 1e15f, 1e12f}};

/// "arch regime n=.. c=.. hw=..": names a random case in failure messages (CAPTURE).
template <class Arch>
std::string case_name(const regime& r, std::size_t n, std::size_t c, std::size_t hw) {
    return std::string(Arch::name()) + " " + r.name + " n=" + std::to_string(n) + " c=" + std::to_string(c) +
           " hw=" + std::to_string(hw);
}

template <class Arch>
void bn_case(zoa::rng& g, std::size_t n, std::size_t c, std::size_t hw, const regime& r, bool affine) {
    const std::string name = case_name<Arch>(r, n, c, hw);
    CAPTURE(name);
    zoa::execution_context ctx1(1), ctx2(2);
    const std::size_t total = n * c * hw;
    std::vector<float> x = zoa_test::normal_vector(g, total, r.mean, r.sd);
    x[g.uniform_index(static_cast<std::uint32_t>(total))] = r.mean - 25.0f * r.sd;
    const std::vector<float> w = zoa_test::normal_vector(g, c, 1.0f, 0.3f),
                             b = zoa_test::normal_vector(g, c, 0.0f, 1.0f);
    const float* wp = affine ? w.data() : nullptr;
    const float* bp = affine ? b.data() : nullptr;
    auto unit = [&](std::size_t i) {
        const std::size_t ch = (i / hw) % c;
        return affine ? std::fabs(w[ch]) + std::fabs(b[ch]) : 1.0f;
    };

    // batch-statistics mode
    std::vector<float> y1(total), y2(total), yr(total), m1(c), v1(c), m2(c), v2(c), mr(c), vr(c);
    zoa::kernels::batch_norm_batch_stats<Arch>(x.data(), y1.data(), m1.data(), v1.data(), n, c, hw, wp, bp, 1e-5f,
                                               ctx1);
    zoa::kernels::batch_norm_batch_stats<Arch>(x.data(), y2.data(), m2.data(), v2.data(), n, c, hw, wp, bp, 1e-5f,
                                               ctx2);
    ref::batch_norm_batch_stats(x.data(), yr.data(), mr.data(), vr.data(), n, c, hw, wp, bp, 1e-5f, ctx1);
    CHECK(zoa_test::same_bits(y1, y2));
    CHECK(zoa_test::same_bits(m1, m2));
    CHECK(zoa_test::same_bits(v1, v2));
    zoa_test::check_close(y1.data(), yr.data(), total, 1e-5, unit, "batch-stats y");
    zoa_test::check_close(
        m1.data(), mr.data(), c, 1e-5, [&](std::size_t i) { return std::sqrt(vr[i]); }, "batch mean");
    zoa_test::check_relative(v1.data(), vr.data(), c, 1e-5, "batch var");

    // eval mode with running statistics near (but not equal to) the batch's
    std::vector<float> rm(c), rv(c);
    for (std::size_t i = 0; i < c; ++i) {
        rm[i] = mr[i] + 0.1f * r.sd * g.normal();
        rv[i] = vr[i] * (0.5f + g.uniform());
    }
    zoa::kernels::batch_norm_eval<Arch>(x.data(), y1.data(), n, c, hw, rm.data(), rv.data(), wp, bp, 1e-5f, ctx1);
    zoa::kernels::batch_norm_eval<Arch>(x.data(), y2.data(), n, c, hw, rm.data(), rv.data(), wp, bp, 1e-5f, ctx2);
    ref::batch_norm_eval(x.data(), yr.data(), n, c, hw, rm.data(), rv.data(), wp, bp, 1e-5f, ctx1);
    CHECK(zoa_test::same_bits(y1, y2));
    zoa_test::check_close(y1.data(), yr.data(), total, 1e-5, unit, "eval y");
}

}  // namespace

TEST_CASE_TEMPLATE("batch_norm matches the double reference in both modes, on random NCHW shapes", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(2024, 6);
    for (const auto& r : regimes) {
        bn_case<Arch>(g, 1, 3, 2, r, true);
        bn_case<Arch>(g, 2, 1, 1, r, true);
        for (int t = 0; t < 6; ++t)
            bn_case<Arch>(g, zoa_test::pick(g, 1, 4), zoa_test::pick(g, 1, 17), zoa_test::pick(g, 2, 300), r,
                          t % 3 != 0);
    }
    bn_case<Arch>(g, 2, 8, 56 * 56, regimes[0], true);  // a ResNet-50 layer1 plane size
}

TEST_CASE_TEMPLATE("batch_norm reads affine parameters at call time and works in place", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx(2);
    zoa::rng g(3, 7);
    const std::size_t n = 3, c = 5, hw = 13;
    const std::vector<float> x = zoa_test::normal_vector(g, n * c * hw, 2.0f, 1.5f);
    std::vector<float> w(c, 1.0f), b(c, 0.0f), y(x.size()), yr(x.size());
    for (int step = 0; step < 3; ++step) {
        zoa::kernels::batch_norm_batch_stats<Arch>(x.data(), y.data(), nullptr, nullptr, n, c, hw, w.data(), b.data(),
                                                   1e-5f, ctx);
        ref::batch_norm_batch_stats(x.data(), yr.data(), nullptr, nullptr, n, c, hw, w.data(), b.data(), 1e-5f, ctx);
        zoa_test::check_close(
            y.data(), yr.data(), y.size(), 1e-5,
            [&](std::size_t i) { return std::fabs(w[(i / hw) % c]) + std::fabs(b[(i / hw) % c]); }, "y after edit");
        for (std::size_t i = 0; i < c; ++i) {
            w[i] *= 1.5f;
            b[i] += 0.25f * static_cast<float>(i);
        }
    }
    std::vector<float> in_place = x;
    zoa::kernels::batch_norm_batch_stats<Arch>(x.data(), y.data(), nullptr, nullptr, n, c, hw, w.data(), b.data(),
                                               1e-5f, ctx);
    zoa::kernels::batch_norm_batch_stats<Arch>(in_place.data(), in_place.data(), nullptr, nullptr, n, c, hw, w.data(),
                                               b.data(), 1e-5f, ctx);
    CHECK(zoa_test::same_bits(in_place, y));
}

template <class Arch>
void nhwc_case(zoa::rng& g, std::size_t n, std::size_t c, std::size_t hw, const regime& r) {
    const std::string name = case_name<Arch>(r, n, c, hw);
    CAPTURE(name);
    zoa::execution_context ctx1(1), ctx2(2);
    const std::size_t total = n * c * hw;
    const std::vector<float> x = zoa_test::normal_vector(g, total, r.mean, r.sd);
    const std::vector<float> w = zoa_test::normal_vector(g, c, 1.0f, 0.3f), b = zoa_test::normal_vector(g, c, 0.0f, 1.0f);
    std::vector<float> xn(total), y(total), m(c), v(c);
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t p = 0; p < hw; ++p) xn[(k * hw + p) * c + ch] = x[(k * c + ch) * hw + p];
    const auto nhwc = [&](const zoa::kernels::batch_norm_affine& f, zoa::execution_context& ctx) {
        std::vector<float> out(total), back(total);
        zoa::kernels::out_fused<float> st;
        st.c = out.data();
        st.bn_mean = f.center.data();
        st.bn_mean_residual = f.residual.data();
        st.bn_scale = f.scale.data();
        st.bn_shift = f.shift.data();
        zoa::kernels::batch_norm_act_nhwc<Arch>(xn.data(), n * hw, c, st, ctx);
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t ch = 0; ch < c; ++ch)
                for (std::size_t p = 0; p < hw; ++p) back[(k * c + ch) * hw + p] = out[(k * hw + p) * c + ch];
        return back;
    };
    // batch statistics: the same μ, σ², scale and outputs as the NCHW kernel, bit for bit, any thread count
    zoa::kernels::batch_norm_batch_stats<Arch>(x.data(), y.data(), m.data(), v.data(), n, c, hw, w.data(), b.data(),
                                               1e-5f, ctx1);
    for (auto* ctx : {&ctx1, &ctx2}) {
        std::vector<float> mn(c), vn(c);
        const auto f = zoa::kernels::batch_norm_batch_affine<Arch>(xn.data(), n, hw, c, w.data(), b.data(), 1e-5f, *ctx,
                                                                   mn.data(), vn.data());
        CHECK(zoa_test::same_bits(mn, m));
        CHECK(zoa_test::same_bits(vn, v));
        CHECK(zoa_test::same_bits(nhwc(f, *ctx), y));
    }
    // running statistics
    std::vector<float> rm(c), rv(c);
    for (std::size_t i = 0; i < c; ++i) {
        rm[i] = m[i] + 0.1f * r.sd * g.normal();
        rv[i] = v[i] * (0.5f + g.uniform());
    }
    zoa::kernels::batch_norm_eval<Arch>(x.data(), y.data(), n, c, hw, rm.data(), rv.data(), w.data(), b.data(), 1e-5f,
                                        ctx1);
    const auto f = zoa::kernels::batch_norm_running_affine(c, rm.data(), rv.data(), w.data(), b.data(), 1e-5f);
    CHECK(zoa_test::same_bits(nhwc(f, ctx2), y));
}

TEST_CASE_TEMPLATE("batch_norm on NHWC (batch_norm_*_affine + batch_norm_act_nhwc) equals the NCHW kernels bit for bit",
                   Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(77, 3);
    for (const auto& r : regimes) {
        nhwc_case<Arch>(g, 1, 3, 2, r);
        for (int t = 0; t < 4; ++t)
            nhwc_case<Arch>(g, zoa_test::pick(g, 1, 3), zoa_test::pick(g, 1, 40), zoa_test::pick(g, 2, 300), r);
    }
    nhwc_case<Arch>(g, 2, 35, 33 * 33, regimes[0]);  // several float-lane flushes per plane, a channel tail
    nhwc_case<Arch>(g, 3, 64, 7 * 7, regimes[1]);    // a ResNet-50 layer4 plane
}

TEST_CASE("batch_norm_act_nhwc: residual codes, ReLU and requantization as the fused epilogue's scalar definition") {
    zoa::execution_context ctx(2);
    zoa::rng g(5, 1);
    const std::size_t rows = 37, c = 21;
    const std::vector<float> y = zoa_test::normal_vector(g, rows * c, 0.0f, 2.0f);
    std::vector<std::uint8_t> res(rows * c), q(rows * c);
    for (auto& v : res) v = static_cast<std::uint8_t>(g.uniform_index(256));
    const auto f = zoa::kernels::batch_norm_running_affine(c, zoa_test::normal_vector(g, c, 0.0f, 1.0f).data(),
                                                           zoa_test::uniform_vector(g, c, 0.5f, 2.0f).data(), nullptr,
                                                           nullptr, 1e-5f);
    zoa::kernels::out_fused<std::uint8_t> st;
    st.c = q.data();
    st.bn_mean = f.center.data();
    st.bn_mean_residual = f.residual.data();
    st.bn_scale = f.scale.data();
    st.bn_shift = f.shift.data();
    st.res_q = res.data();
    st.res_scale = 0.01f;
    st.res_zero_point = 128;
    st.relu = true;
    st.out_scale = 0.02f;
    st.out_zero_point = 3;
    zoa::kernels::batch_norm_act_nhwc(y.data(), rows, c, st, ctx);
    for (std::size_t i = 0; i < rows * c; ++i) {
        const std::size_t ch = i % c;
        volatile float t = std::fma(y[i] - f.center[ch], f.scale[ch], f.shift[ch]);
        volatile float d = static_cast<float>(int(res[i]) - 128) * 0.01f;
        float u = t + d;
        u = 0.0f > u ? 0.0f : u;
        volatile float v = u * (1.0f / 0.02f);
        const float cl = std::min(std::max(float(v), -3.0f), 252.0f);
        REQUIRE(int(q[i]) == int(std::nearbyint(cl)) + 3);
    }
}

TEST_CASE("batch_norm_batch_stats propagates NaN within its channel only") {
    zoa::execution_context ctx(2);
    const std::size_t n = 2, c = 3, hw = 10;
    std::vector<float> x(n * c * hw);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5);
    x[(1 * c + 2) * hw + 3] = std::numeric_limits<float>::quiet_NaN();  // sample 1, channel 2
    std::vector<float> y(x.size()), m(c), v(c);
    zoa::kernels::batch_norm_batch_stats(x.data(), y.data(), m.data(), v.data(), n, c, hw, nullptr, nullptr, 1e-5f,
                                         ctx);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(std::isnan(y[i]) == ((i / hw) % c == 2));
    CHECK(std::isnan(m[2]));
    CHECK(!std::isnan(m[0]));
}

TEST_CASE("batch_norm rejects bad arguments with zoa::error") {
    zoa::execution_context ctx(1);
    std::vector<float> x(12, 1.0f), y(12), rm(3, 0.0f), rv(3, 1.0f);
    using zoa::kernels::batch_norm_batch_stats;
    using zoa::kernels::batch_norm_eval;
    CHECK_THROWS_WITH_AS(
        batch_norm_batch_stats(x.data(), y.data(), nullptr, nullptr, 1, 3, 1, nullptr, nullptr, 1e-5f, ctx),
        "zoa: argument: batch_norm_batch_stats: batch statistics need more than 1 value per channel, "
        "got n*hw = 1",
        zoa::error);
    CHECK_THROWS_AS(
        ref::batch_norm_batch_stats(x.data(), y.data(), nullptr, nullptr, 1, 3, 1, nullptr, nullptr, 1e-5f, ctx),
        zoa::error);
    CHECK_THROWS_WITH_AS(
        batch_norm_batch_stats(x.data(), y.data(), nullptr, nullptr, 2, 3, 2, nullptr, nullptr, 0.0f, ctx),
        "zoa: argument: batch_norm_batch_stats: eps must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_AS(batch_norm_batch_stats(x.data(), y.data(), nullptr, nullptr, 2, 0, 2, nullptr, nullptr, 1e-5f, ctx),
                    zoa::error);
    CHECK_THROWS_AS(batch_norm_batch_stats(x.data(), nullptr, nullptr, nullptr, 2, 3, 2, nullptr, nullptr, 1e-5f, ctx),
                    zoa::error);
    CHECK_THROWS_WITH_AS(batch_norm_eval(x.data(), y.data(), 2, 3, 2, nullptr, rv.data(), nullptr, nullptr, 1e-5f, ctx),
                         "zoa: argument: batch_norm_eval: running_mean must not be null", zoa::error);
    rv[1] = -1.0f;
    CHECK_THROWS_WITH_AS(
        batch_norm_eval(x.data(), y.data(), 2, 3, 2, rm.data(), rv.data(), nullptr, nullptr, 1e-5f, ctx),
        "zoa: numeric: batch_norm_eval: running_var[1] must be >= 0, got -1", zoa::error);
    rv[1] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(batch_norm_eval(x.data(), y.data(), 2, 3, 2, rm.data(), rv.data(), nullptr, nullptr, 1e-5f, ctx),
                    zoa::error);
    CHECK_THROWS_AS(
        ref::batch_norm_eval(x.data(), y.data(), 2, 3, 2, rm.data(), rv.data(), nullptr, nullptr, 1e-5f, ctx),
        zoa::error);
}
