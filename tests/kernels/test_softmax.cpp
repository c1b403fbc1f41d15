// zoa — tests of kernels::softmax against the double-precision reference twin
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/reference/softmax.hpp"
#include "zoa/kernels/softmax.hpp"

namespace {

namespace ref = zoa::kernels::reference;
constexpr float inf = std::numeric_limits<float>::infinity();

struct regime {
    const char* name;
    float mean, sd;
    bool mask;  // sprinkle −Inf entries (attention masks)
};
const regime regimes[] = {{"logits", 0.0f, 1.0f, false},
                          {"wide", 0.0f, 30.0f, false},
                          {"offset", 1e4f, 3.0f, false},
                          {"masked", 0.0f, 5.0f, true},
                          {"huge", 0.0f, 1e30f, false}};

template <class Arch>
void softmax_case(zoa::rng& g, std::size_t rows, std::size_t cols, const regime& r) {
    const std::string arch = Arch::name(), name = r.name;
    CAPTURE(arch);
    CAPTURE(name);
    CAPTURE(rows);
    CAPTURE(cols);
    zoa::execution_context ctx1(1), ctx2(2);
    std::vector<float> x = zoa_test::normal_vector(g, rows * cols, r.mean, r.sd);
    if (r.mask)
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 1; j < cols; j += 3) x[i * cols + j] = -inf;  // column 0 stays finite
    std::vector<float> y1(x.size()), y2(x.size()), yr(x.size());
    zoa::kernels::softmax<Arch>(x.data(), y1.data(), rows, cols, ctx1);
    zoa::kernels::softmax<Arch>(x.data(), y2.data(), rows, cols, ctx2);
    ref::softmax(x.data(), yr.data(), rows, cols, ctx1);
    CHECK(zoa_test::same_bits(y1, y2));
    zoa_test::check_relative(y1.data(), yr.data(), x.size(), 1e-5, "softmax");
    for (std::size_t i = 0; i < rows; ++i) {
        double s = 0.0;
        for (std::size_t j = 0; j < cols; ++j) s += y1[i * cols + j];
        CHECK(std::fabs(s - 1.0) <= 1e-5);
        bool masked_zero = true;
        if (r.mask)
            for (std::size_t j = 1; j < cols; j += 3) masked_zero = masked_zero && y1[i * cols + j] == 0.0f;
        CHECK(masked_zero);
    }
    std::vector<float> in_place = x;
    zoa::kernels::softmax<Arch>(in_place.data(), in_place.data(), rows, cols, ctx2);
    CHECK(zoa_test::same_bits(in_place, y1));
}

}  // namespace

TEST_CASE_TEMPLATE("softmax matches the double reference on random shapes and value regimes", Arch,
                   ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::rng g(31337, 10);
    const std::size_t fixed_cols[] = {1, 2, 7, 8, 9, 15, 16, 17, 197, 1000};
    for (const auto& r : regimes) {
        for (std::size_t c : fixed_cols) softmax_case<Arch>(g, zoa_test::pick(g, 1, 4), c, r);
        for (int t = 0; t < 5; ++t) softmax_case<Arch>(g, zoa_test::pick(g, 1, 9), zoa_test::pick(g, 1, 1100), r);
    }
    softmax_case<Arch>(g, 2, 5000, regimes[1]);  // several flush blocks of the sum
}

TEST_CASE_TEMPLATE("softmax special values follow torch.softmax", Arch, ZOA_ELEMENTWISE_TEST_ARCHS) {
    zoa::execution_context ctx(1);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::size_t cols = 19;  // vector body + tail for every width
    for (std::size_t pos : {std::size_t{0}, std::size_t{5}, std::size_t{18}}) {
        CAPTURE(pos);
        std::vector<float> x(4 * cols, 1.0f);
        for (std::size_t j = 0; j < cols; ++j) x[j] = static_cast<float>(j) * 0.1f;
        x[0 * cols + pos] = nan;                                        // row 0: NaN → all NaN
        x[1 * cols + pos] = inf;                                        // row 1: +Inf → all NaN
        for (std::size_t j = 0; j < cols; ++j) x[2 * cols + j] = -inf;  // row 2: all −Inf → all NaN
        x[3 * cols + pos] = -inf;                                       // row 3: one −Inf → exact 0 there
        std::vector<float> y(x.size()), yr(x.size());
        zoa::kernels::softmax<Arch>(x.data(), y.data(), 4, cols, ctx);
        ref::softmax(x.data(), yr.data(), 4, cols, ctx);
        for (std::size_t j = 0; j < cols; ++j) {
            CHECK(std::isnan(y[0 * cols + j]));
            CHECK(std::isnan(y[1 * cols + j]));
            CHECK(std::isnan(y[2 * cols + j]));
            CHECK(std::isnan(yr[0 * cols + j]));
            CHECK(std::isnan(yr[1 * cols + j]));
            CHECK(std::isnan(yr[2 * cols + j]));
            CHECK(std::isnan(y[3 * cols + j]) == false);
        }
        CHECK(y[3 * cols + pos] == 0.0f);
        CHECK(y[3 * cols + (pos + 1) % cols] == doctest::Approx(1.0 / 18.0).epsilon(1e-6));
    }
}

TEST_CASE("softmax rejects bad arguments with zoa::error") {
    zoa::execution_context ctx(1);
    float v[4] = {};
    CHECK_THROWS_WITH_AS(zoa::kernels::softmax(v, v, 2, 0, ctx), "zoa: argument: softmax: cols must be > 0, got 0",
                         zoa::error);
    CHECK_THROWS_AS(zoa::kernels::softmax(v, v, 0, 2, ctx), zoa::error);
    CHECK_THROWS_WITH_AS(zoa::kernels::softmax(v, nullptr, 2, 2, ctx), "zoa: argument: softmax: y must not be null",
                         zoa::error);
    CHECK_THROWS_AS(ref::softmax(v, v, 2, 0, ctx), zoa::error);
}
