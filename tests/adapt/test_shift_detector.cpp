// zoa — tests for domain-shift detection (Jeffreys divergence on embedding statistics)
#include <doctest/doctest.h>

#include "zoa/adapt/shift_detector.hpp"

#include <vector>

TEST_CASE("Jeffreys divergence of equal-variance Gaussians is the squared mean gap") {
    zoa::adapt::shift_detector d;
    d.assign(std::vector<float>(16, 0.0f), std::vector<float>(16, 1.0f));
    // d1 + d2 = (1 + δ²)/2 + (1 + δ²)/2 − 1 = δ² per dim (up to the 1e−8 guards)
    CHECK(d.divergence(std::vector<float>(16, 0.5f), std::vector<float>(16, 1.0f)) == doctest::Approx(0.25).epsilon(1e-6));
}

TEST_CASE("the detector fires above domain_t and not below") {
    zoa::adapt::shift_detector d;
    d.threshold = 0.1f;
    d.assign(std::vector<float>(8, 0.0f), std::vector<float>(8, 1.0f));
    const std::vector<float> var(8, 1.0f);
    CHECK_FALSE(d.check(std::vector<float>(8, 0.30f), var, 64));  // J = 0.09
    CHECK(d.check(std::vector<float>(8, 0.35f), var, 64));        // J = 0.1225
    CHECK_FALSE(d.check(std::vector<float>(8, 0.35f), var, 63));  // batch below the minimum
    zoa::adapt::shift_detector empty;
    CHECK_FALSE(empty.check(std::vector<float>(8, 5.0f), var, 64));  // no domain yet
}

TEST_CASE("the domain statistics are an EMA that small batches do not touch") {
    zoa::adapt::shift_detector d;
    d.update({1.0f}, {2.0f}, 64);
    CHECK(d.mean()[0] == 1.0f);
    d.update({2.0f}, {4.0f}, 64);
    CHECK(d.mean()[0] == doctest::Approx(1.2f));
    CHECK(d.var()[0] == doctest::Approx(2.4f));
    d.update({100.0f}, {100.0f}, 10);
    CHECK(d.mean()[0] == doctest::Approx(1.2f));
    CHECK_THROWS_AS(d.update({1.0f, 2.0f}, {1.0f, 1.0f}, 64), zoa::error);
}
