// zoa — tests of kernels::layer_norm* against the double-precision reference twin
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/layer_norm.hpp"
#include "zoa/kernels/reference/layer_norm.hpp"

namespace {

namespace ref = zoa::kernels::reference;

struct ln_case {
    const char* name;
    float mean, sd;  // row data ~ N(mean, sd²) with per-row offsets
};

// Data regimes: ordinary activations, |μ| ≫ σ (cancellation), wide range, tiny values (eps-dominated), huge values.
const ln_case cases[] = {{"normal", 0.0f, 1.0f}, {"offset", 1000.0f, 0.5f}, {"wide", 0.0f, 1e6f},
                         {"tiny", 0.0f, 1e-20f}, {"huge", 1e15f, 1e12f},    {"eps-scale", 0.0f, 1e-3f}};

template <class Arch>
void run_layer_norm_case(zoa::rng& g, std::size_t rows, std::size_t dim, const ln_case& c, bool affine, float eps,
                         zoa::execution_context& ctx1, zoa::execution_context& ctx2) {
    const std::string arch = Arch::name(), regime = c.name;
    CAPTURE(arch);
    CAPTURE(regime);
    CAPTURE(rows);
    CAPTURE(dim);
    std::vector<float> x = zoa_test::normal_vector(g, rows * dim, c.mean, c.sd);
    if (rows * dim > 3) x[rows * dim / 2] = c.mean + 40.0f * c.sd;  // an outlier
    const std::vector<float> w = zoa_test::normal_vector(g, dim, 1.0f, 0.5f),
                             b = zoa_test::normal_vector(g, dim, 0.0f, 2.0f);
    const float* wp = affine ? w.data() : nullptr;
    const float* bp = affine ? b.data() : nullptr;

    std::vector<float> y1(x.size()), xh1(x.size()), mu1(rows), rs1(rows);
    std::vector<float> y2(x.size()), xh2(x.size()), mu2(rows), rs2(rows);
    std::vector<float> yr(x.size()), xhr(x.size()), mur(rows), rsr(rows);
    zoa::kernels::layer_norm_fused<Arch>(x.data(), y1.data(), xh1.data(), mu1.data(), rs1.data(), rows, dim, wp, bp,
                                         eps, ctx1);
    zoa::kernels::layer_norm_fused<Arch>(x.data(), y2.data(), xh2.data(), mu2.data(), rs2.data(), rows, dim, wp, bp,
                                         eps, ctx2);
    ref::layer_norm_fused(x.data(), yr.data(), xhr.data(), mur.data(), rsr.data(), rows, dim, wp, bp, eps, ctx1);

    CHECK(zoa_test::same_bits(y1, y2));
    CHECK(zoa_test::same_bits(xh1, xh2));
    CHECK(zoa_test::same_bits(mu1, mu2));
    CHECK(zoa_test::same_bits(rs1, rs2));
    // x̂ is O(1): its natural unit is 1. y = x̂·w + b: unit |w| + |b|. μ: unit = the row's spread (1/rstd).
    zoa_test::check_close(
        xh1.data(), xhr.data(), x.size(), 1e-5, [](std::size_t) { return 1.0f; }, "x_hat");
    zoa_test::check_close(
        y1.data(), yr.data(), x.size(), 1e-5,
        [&](std::size_t i) { return affine ? std::fabs(w[i % dim]) + std::fabs(b[i % dim]) : 1.0f; }, "y");
    zoa_test::check_close(
        mu1.data(), mur.data(), rows, 1e-5, [&](std::size_t r) { return 1.0f / rsr[r]; }, "mean");
    zoa_test::check_relative(rs1.data(), rsr.data(), rows, 1e-5, "rstd");

    // layer_norm (no statistics) gives the same y; re-applying the affine to x̂ gives y again.
    std::vector<float> y3(x.size()), y4(x.size());
    zoa::kernels::layer_norm<Arch>(x.data(), y3.data(), rows, dim, wp, bp, eps, ctx2);
    CHECK(zoa_test::same_bits(y1, y3));
    zoa::kernels::layer_norm_affine<Arch>(xh1.data(), y4.data(), rows, dim, wp, bp, ctx1);
    CHECK(zoa_test::same_bits(y1, y4));
}

}  // namespace

TEST_CASE_TEMPLATE("layer_norm matches the double reference on random shapes, regimes and thread counts", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx1(1), ctx2(2);
    zoa::rng g(20250801, 1);
    const std::size_t fixed_dims[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 768};
    for (const auto& c : cases) {
        for (std::size_t dim : fixed_dims)
            run_layer_norm_case<Arch>(g, zoa_test::pick(g, 1, 5), dim, c, true, 1e-6f, ctx1, ctx2);
        for (int t = 0; t < 6; ++t)
            run_layer_norm_case<Arch>(g, zoa_test::pick(g, 1, 9), zoa_test::pick(g, 1, 1100), c, t % 2 == 0,
                                      t % 3 == 0 ? 1e-5f : 1e-6f, ctx1, ctx2);
    }
    // A long row exercises several float-lane flush blocks.
    run_layer_norm_case<Arch>(g, 3, 5000, cases[1], true, 1e-6f, ctx1, ctx2);
}

TEST_CASE_TEMPLATE("layer_norm reads the affine vectors at call time and works in place", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx(2);
    zoa::rng g(7, 2);
    const std::size_t rows = 5, dim = 37;
    const std::vector<float> x = zoa_test::normal_vector(g, rows * dim, 0.5f, 3.0f);
    std::vector<float> w = zoa_test::normal_vector(g, dim, 1.0f, 0.1f), b = zoa_test::normal_vector(g, dim, 0.0f, 0.1f);
    std::vector<float> y(x.size()), yr(x.size());
    for (int step = 0; step < 3; ++step) {
        zoa::kernels::layer_norm<Arch>(x.data(), y.data(), rows, dim, w.data(), b.data(), 1e-6f, ctx);
        ref::layer_norm(x.data(), yr.data(), rows, dim, w.data(), b.data(), 1e-6f, ctx);
        zoa_test::check_close(
            y.data(), yr.data(), y.size(), 1e-5,
            [&](std::size_t i) { return std::fabs(w[i % dim]) + std::fabs(b[i % dim]); }, "y after parameter edit");
        for (std::size_t d = 0; d < dim; ++d) {  // an adaptation step edits w, b in place
            w[d] += 0.25f * static_cast<float>(step + 1);
            b[d] -= 0.5f;
        }
    }
    std::vector<float> inplace = x, out(x.size());
    zoa::kernels::layer_norm<Arch>(x.data(), out.data(), rows, dim, w.data(), b.data(), 1e-6f, ctx);
    zoa::kernels::layer_norm<Arch>(inplace.data(), inplace.data(), rows, dim, w.data(), b.data(), 1e-6f, ctx);
    CHECK(zoa_test::same_bits(inplace, out));
}

TEST_CASE("layer_norm propagates NaN within a row only") {
    zoa::execution_context ctx(2);
    const std::size_t rows = 3, dim = 19;
    std::vector<float> x(rows * dim);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
    x[dim + 4] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> y(x.size()), yr(x.size());
    zoa::kernels::layer_norm(x.data(), y.data(), rows, dim, nullptr, nullptr, 1e-6f, ctx);
    ref::layer_norm(x.data(), yr.data(), rows, dim, nullptr, nullptr, 1e-6f, ctx);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const bool nan_row = i / dim == 1;
        CHECK(std::isnan(y[i]) == nan_row);
        CHECK(std::isnan(yr[i]) == nan_row);
    }
}

TEST_CASE("layer_norm rejects bad arguments with zoa::error") {
    zoa::execution_context ctx(1);
    std::vector<float> x(8, 1.0f), y(8), xh(8);
    using zoa::kernels::layer_norm;
    CHECK_THROWS_WITH_AS(layer_norm(x.data(), y.data(), 2, 4, nullptr, nullptr, 0.0f, ctx),
                         "zoa: argument: layer_norm: eps must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_AS(layer_norm(x.data(), y.data(), 2, 4, nullptr, nullptr, -1e-6f, ctx), zoa::error);
    CHECK_THROWS_AS(layer_norm(x.data(), y.data(), 2, 4, nullptr, nullptr, std::nanf(""), ctx), zoa::error);
    CHECK_THROWS_WITH_AS(layer_norm(x.data(), y.data(), 0, 4, nullptr, nullptr, 1e-6f, ctx),
                         "zoa: argument: layer_norm: rows must be > 0, got 0", zoa::error);
    CHECK_THROWS_WITH_AS(layer_norm(x.data(), y.data(), 2, 0, nullptr, nullptr, 1e-6f, ctx),
                         "zoa: argument: layer_norm: dim must be > 0, got 0", zoa::error);
    CHECK_THROWS_WITH_AS(layer_norm(nullptr, y.data(), 2, 4, nullptr, nullptr, 1e-6f, ctx),
                         "zoa: argument: layer_norm: x must not be null", zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::layer_norm_fused(x.data(), y.data(), y.data(), nullptr, nullptr, 2, 4, nullptr,
                                                        nullptr, 1e-6f, ctx),
                         "zoa: argument: layer_norm: x_hat and y must be different buffers", zoa::error);
    CHECK_THROWS_AS(zoa::kernels::layer_norm_affine(x.data(), nullptr, 2, 4, nullptr, nullptr, ctx), zoa::error);
    // The reference twin enforces the same contract.
    CHECK_THROWS_WITH_AS(ref::layer_norm(x.data(), y.data(), 2, 4, nullptr, nullptr, 0.0f, ctx),
                         "zoa: argument: layer_norm: eps must be finite and > 0, got 0", zoa::error);
    CHECK_THROWS_AS(ref::layer_norm(x.data(), y.data(), 2, 0, nullptr, nullptr, 1e-6f, ctx), zoa::error);
}
