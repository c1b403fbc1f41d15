// zoa — tests of kernels::{feature,token,channel}_mean_{var,std} against the double-precision reference twins
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/reference/statistics.hpp"
#include "zoa/kernels/statistics.hpp"

namespace {

namespace ref = zoa::kernels::reference;
using zoa_test::regime;

// |x − μ| must stay within ~[1e-18, 1e18] for float squares to be normal numbers (documented range).
const regime regimes[] = {{"normal", 0.0f, 1.0f},
                          {"offset", 1000.0f, 0.5f},
                          {"wide", 0.0f, 1e6f},
                          {"small", 0.0f, 1e-15f},
                          {"huge", 1e15f, 1e12f}};

// Compares SIMD outputs with the reference: mean within 1e-5 of (|mean| + std), var/std within 1e-5 relative.
void compare_stats(const std::vector<float>& mean, const std::vector<float>& spread, const std::vector<float>& rmean,
                   const std::vector<float>& rspread, bool is_std) {
    const std::size_t n = mean.size();
    zoa_test::check_close(
        mean.data(), rmean.data(), n, 1e-5, [&](std::size_t i) { return is_std ? rspread[i] : std::sqrt(rspread[i]); },
        "mean");
    zoa_test::check_relative(spread.data(), rspread.data(), n, 1e-5, is_std ? "std" : "var");
}

// Runs one SIMD kernel with 1 and 2 threads and its reference; checks bit-identity and closeness.
template <class Simd, class Ref>
void run_both(std::size_t outputs, bool is_std, Simd&& simd, Ref&& reference) {
    zoa::execution_context ctx1(1), ctx2(2);
    std::vector<float> m1(outputs), s1(outputs), m2(outputs), s2(outputs), mr(outputs), sr(outputs);
    simd(m1.data(), s1.data(), ctx1);
    simd(m2.data(), s2.data(), ctx2);
    reference(mr.data(), sr.data(), ctx1);
    CHECK(zoa_test::same_bits(m1, m2));
    CHECK(zoa_test::same_bits(s1, s2));
    compare_stats(m1, s1, mr, sr, is_std);
}

template <class Arch>
void feature_case(zoa::rng& g, std::size_t batch, std::size_t dim, const regime& r) {
    const std::string arch = Arch::name(), name = r.name;
    CAPTURE(arch);
    CAPTURE(name);
    CAPTURE(batch);
    CAPTURE(dim);
    std::vector<float> x = zoa_test::normal_vector(g, batch * dim, r.mean, r.sd);
    x[g.uniform_index(static_cast<std::uint32_t>(x.size()))] = r.mean + 30.0f * r.sd;  // an outlier
    run_both(
        dim, false,
        [&](float* m, float* v, zoa::execution_context& c) {
            zoa::kernels::feature_mean_var<Arch>(x.data(), batch, dim, m, v, c);
        },
        [&](float* m, float* v, zoa::execution_context& c) { ref::feature_mean_var(x.data(), batch, dim, m, v, c); });
    run_both(
        dim, true,
        [&](float* m, float* s, zoa::execution_context& c) {
            zoa::kernels::feature_mean_std<Arch>(x.data(), batch, dim, m, s, c);
        },
        [&](float* m, float* s, zoa::execution_context& c) { ref::feature_mean_std(x.data(), batch, dim, m, s, c); });
}

}  // namespace

TEST_CASE_TEMPLATE("feature_mean_var/std match torch.var_mean/std_mean semantics (reference) on random shapes", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(99, 3);
    const std::size_t dims[] = {1, 3, 7, 8, 9, 16, 17, 63, 64, 65, 129, 768};
    for (const auto& r : regimes) {
        for (std::size_t d : dims) feature_case<Arch>(g, zoa_test::pick(g, 2, 70), d, r);
        for (int t = 0; t < 4; ++t) feature_case<Arch>(g, zoa_test::pick(g, 2, 150), zoa_test::pick(g, 1, 400), r);
    }
    feature_case<Arch>(g, 2, 9216, regimes[0]);   // ViT feature width, smallest batch
    feature_case<Arch>(g, 300, 100, regimes[1]);  // several 64-row flush blocks
}

TEST_CASE_TEMPLATE("token_mean_var reduces over (batch, tokens) and can skip the CLS token", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(5, 4);
    for (const auto& r : regimes)
        for (int t = 0; t < 6; ++t) {
            const std::size_t b = zoa_test::pick(g, 1, 4), tok = zoa_test::pick(g, 2, 40),
                              d = zoa_test::pick(g, 1, 200);
            const std::size_t skip = static_cast<std::size_t>(t % 2);
            CAPTURE(b);
            CAPTURE(tok);
            CAPTURE(d);
            CAPTURE(skip);
            std::vector<float> x = zoa_test::normal_vector(g, b * tok * d, r.mean, r.sd);
            if (skip == 1)  // a wild CLS token must not influence the statistics
                for (std::size_t i = 0; i < b; ++i)
                    for (std::size_t j = 0; j < d; ++j) x[i * tok * d + j] = 1e30f;
            run_both(
                d, false,
                [&](float* m, float* v, zoa::execution_context& c) {
                    zoa::kernels::token_mean_var<Arch>(x.data(), b, tok, d, skip, m, v, c);
                },
                [&](float* m, float* v, zoa::execution_context& c) {
                    ref::token_mean_var(x.data(), b, tok, d, skip, m, v, c);
                });
            if (skip == 0) {  // without skipping, token statistics equal feature statistics over b·tok rows
                zoa::execution_context ctx(1);
                std::vector<float> m1(d), v1(d), m2(d), v2(d);
                zoa::kernels::token_mean_var<Arch>(x.data(), b, tok, d, 0, m1.data(), v1.data(), ctx);
                zoa::kernels::feature_mean_var<Arch>(x.data(), b * tok, d, m2.data(), v2.data(), ctx);
                CHECK(zoa_test::same_bits(m1, m2));
                CHECK(zoa_test::same_bits(v1, v2));
            }
        }
}

TEST_CASE_TEMPLATE("channel_mean_var/std reduce NCHW over (N, H, W)", Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(11, 5);
    for (const auto& r : regimes)
        for (int t = 0; t < 8; ++t) {
            const std::size_t n = zoa_test::pick(g, 1, 5), c = zoa_test::pick(g, 1, 12),
                              hw = t == 0 ? 2 : zoa_test::pick(g, 1, 700);
            if (n * hw < 2) continue;
            CAPTURE(n);
            CAPTURE(c);
            CAPTURE(hw);
            const std::vector<float> x = zoa_test::normal_vector(g, n * c * hw, r.mean, r.sd);
            run_both(
                c, false,
                [&](float* m, float* v, zoa::execution_context& ctx) {
                    zoa::kernels::channel_mean_var<Arch>(x.data(), n, c, hw, m, v, ctx);
                },
                [&](float* m, float* v, zoa::execution_context& ctx) {
                    ref::channel_mean_var(x.data(), n, c, hw, m, v, ctx);
                });
            run_both(
                c, true,
                [&](float* m, float* s, zoa::execution_context& ctx) {
                    zoa::kernels::channel_mean_std<Arch>(x.data(), n, c, hw, m, s, ctx);
                },
                [&](float* m, float* s, zoa::execution_context& ctx) {
                    ref::channel_mean_std(x.data(), n, c, hw, m, s, ctx);
                });
        }
}

TEST_CASE_TEMPLATE("channel_mean_var_nhwc equals channel_mean_var of the NCHW transpose bit for bit", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(12, 5);
    zoa::execution_context one(1), two(2);
    for (const auto& r : regimes)
        for (int t = 0; t < 6; ++t) {
            const std::size_t n = zoa_test::pick(g, 1, 4), c = t == 0 ? 64 : zoa_test::pick(g, 1, 40),
                              hw = t == 1 ? 1100 : zoa_test::pick(g, 1, 300);
            if (n * hw < 2) continue;
            CAPTURE(n);
            CAPTURE(c);
            CAPTURE(hw);
            const std::vector<float> x = zoa_test::normal_vector(g, n * c * hw, r.mean, r.sd);
            std::vector<float> xn(x.size()), m(c), v(c), mn(c), vn(c);
            for (std::size_t k = 0; k < n; ++k)
                for (std::size_t ch = 0; ch < c; ++ch)
                    for (std::size_t p = 0; p < hw; ++p) xn[(k * hw + p) * c + ch] = x[(k * c + ch) * hw + p];
            zoa::kernels::channel_mean_var<Arch>(x.data(), n, c, hw, m.data(), v.data(), one);
            for (auto* ctx : {&one, &two}) {
                zoa::kernels::channel_mean_var_nhwc<Arch>(xn.data(), n, hw, c, mn.data(), vn.data(), *ctx);
                CHECK(zoa_test::same_bits(m, mn));
                CHECK(zoa_test::same_bits(v, vn));
            }
        }
}

TEST_CASE("statistics: constant features give zero variance, NaN stays in its column, null outputs are skipped") {
    zoa::execution_context ctx(2);
    const std::size_t b = 5, d = 11;
    std::vector<float> x(b * d, 3.25f);
    x[2 * d + 4] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> m(d), v(d), s(d);
    zoa::kernels::feature_mean_var(x.data(), b, d, m.data(), v.data(), ctx);
    zoa::kernels::feature_mean_std(x.data(), b, d, nullptr, s.data(), ctx);
    for (std::size_t j = 0; j < d; ++j) {
        CHECK(std::isnan(m[j]) == (j == 4));
        CHECK(std::isnan(v[j]) == (j == 4));
        CHECK(std::isnan(s[j]) == (j == 4));
        if (j != 4) {
            CHECK(m[j] == 3.25f);
            CHECK(v[j] == 0.0f);
        }
    }
}

TEST_CASE("statistics reject bad arguments with zoa::error") {
    zoa::execution_context ctx(1);
    std::vector<float> x(16, 1.0f), m(16), v(16);
    CHECK_THROWS_WITH_AS(zoa::kernels::feature_mean_var(x.data(), 1, 4, m.data(), v.data(), ctx),
                         "zoa: argument: feature_mean_var: the unbiased variance needs at least 2 samples, got 1",
                         zoa::error);
    CHECK_THROWS_WITH_AS(ref::feature_mean_var(x.data(), 1, 4, m.data(), v.data(), ctx),
                         "zoa: argument: feature_mean_var: the unbiased variance needs at least 2 samples, got 1",
                         zoa::error);
    CHECK_THROWS_AS(zoa::kernels::feature_mean_std(x.data(), 4, 0, m.data(), v.data(), ctx), zoa::error);
    CHECK_THROWS_AS(zoa::kernels::feature_mean_std(nullptr, 4, 2, m.data(), v.data(), ctx), zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::token_mean_var(x.data(), 2, 1, 4, 1, m.data(), v.data(), ctx),
                         "zoa: argument: token_mean_var: skip_tokens (1) must be < tokens (1)", zoa::error);
    CHECK_THROWS_AS(zoa::kernels::token_mean_var(x.data(), 1, 2, 4, 1, m.data(), v.data(), ctx), zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::channel_mean_var(x.data(), 1, 4, 1, m.data(), v.data(), ctx),
                         "zoa: argument: channel_mean_var: the unbiased variance needs at least 2 samples, got 1",
                         zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::channel_mean_std(x.data(), 2, 0, 2, m.data(), v.data(), ctx),
                         "zoa: argument: channel_mean_std: channels must be > 0, got 0", zoa::error);
    CHECK_THROWS_AS(ref::channel_mean_std(x.data(), 2, 0, 2, m.data(), v.data(), ctx), zoa::error);
}
