// zoa — tests for the adaptation objective and the optimisers
#include <doctest/doctest.h>

#include "zoa/adapt/objective.hpp"
#include "zoa/adapt/optimizers.hpp"

#include <cmath>

TEST_CASE("entropy of uniform logits is log C, of a confident row about 0") {
    xt::xtensor<float, 2> z = xt::xtensor<float, 2>::from_shape({2, 4});
    for (std::size_t c = 0; c < 4; ++c) z(0, c) = 3.0f, z(1, c) = c == 2 ? 100.0f : 0.0f;
    const float h = zoa::adapt::mean_entropy(z);
    CHECK(h == doctest::Approx(std::log(4.0) / 2.0).epsilon(1e-6));
}

TEST_CASE("discrepancy: equal groups equal the global MSE; unequal groups average per group") {
    xt::xtensor<float, 2> f = {{1, 2, 3, 4}, {3, 2, 1, 0}};
    zoa::adapt::source_statistics s;
    s.mean = {0, 0, 0, 0};
    s.std = {1, 1, 1, 1};
    // batch mean (2,2,2,2), unbiased std (√2, 0, √2, 2√2)
    const double se_mean = 4 * 4.0;
    const double sd[4] = {std::sqrt(2.0), 0.0, std::sqrt(2.0), 2 * std::sqrt(2.0)};
    double se_std = 0;
    for (double v : sd) se_std += (v - 1) * (v - 1);
    s.groups = {2, 2};
    CHECK(zoa::adapt::feature_discrepancy(f, s, 2.0f) == doctest::Approx(2.0 * (se_std / 4 + se_mean / 4)).epsilon(1e-6));
    s.groups = {1, 3};
    const double g1 = (sd[0] - 1) * (sd[0] - 1), g2 = se_std - g1;
    CHECK(zoa::adapt::feature_discrepancy(f, s, 1.0f) ==
          doctest::Approx(0.5 * (g1 + g2 / 3) + 0.5 * (4.0 + 12.0 / 3)).epsilon(1e-6));
}

TEST_CASE("a batch of one drops the std term instead of producing NaN") {
    xt::xtensor<float, 2> f = {{1, 2}};
    zoa::adapt::source_statistics s;
    s.mean = {0, 0};
    s.std = {5, 5};
    s.groups = {2};
    const float d = zoa::adapt::feature_discrepancy(f, s, 1.0f);
    CHECK(std::isfinite(d));
    CHECK(d == doctest::Approx(2.5f));
}

TEST_CASE("source statistics are torch.std_mean over all rows") {
    zoa::adapt::statistics_accumulator acc;
    acc.add(xt::xtensor<float, 2>{{1, 10}, {3, 10}});
    acc.add(xt::xtensor<float, 2>{{5, 10}});
    const auto s = acc.finish({2});
    CHECK(s.mean[0] == doctest::Approx(3.0f));
    CHECK(s.std[0] == doctest::Approx(2.0f));
    CHECK(s.std[1] == 0.0f);
    zoa::adapt::statistics_accumulator one;
    one.add(xt::xtensor<float, 2>{{1, 2}});
    CHECK_THROWS_AS(one.finish({2}), zoa::error);
}

TEST_CASE("optimisers follow the PyTorch update rules") {
    zoa::adapt::sgd s{0.1f, 0.0f, 0.4f, {}};
    float p = 1.0f, g = 0.5f;
    s.step(&p, &g, 1);
    CHECK(p == doctest::Approx(1.0f - 0.1f * (0.5f + 0.4f)));
    zoa::adapt::sgd m{0.1f, 0.9f, 0.0f, {}};
    float q = 0.0f;
    m.step(&q, &g, 1);  // buf = 0.5
    m.step(&q, &g, 1);  // buf = 0.95
    CHECK(q == doctest::Approx(-0.1f * (0.5f + 0.95f)));
    zoa::adapt::adamw_first_step a{0.01f, 0.1f};
    float r = 1.0f, ga = 0.5f;
    a.step(&r, &ga, 1);
    CHECK(r == doctest::Approx(0.999f - 0.01f).epsilon(1e-6));
    a.step(&r, &ga, 1);  // state reset: identical step size again
    CHECK(r == doctest::Approx(0.989f * 0.999f - 0.01f).epsilon(1e-6));
}
