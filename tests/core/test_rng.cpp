// zoa — tests for the counter-based RNG and its samplers
#include <doctest/doctest.h>

#include "zoa/core/rng.hpp"

#include <cmath>
#include <vector>

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
    const auto z = zoa::philox4x32({0, 0, 0, 0}, {0, 0});
    CHECK(z[0] == 0x6627e8d5u);
    CHECK(z[1] == 0xe169c58du);
    CHECK(z[2] == 0xbc57ac4cu);
    CHECK(z[3] == 0x9b00dbd8u);
    const auto f = zoa::philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
    CHECK(f[0] == 0x408f276du);
    CHECK(f[1] == 0x41c83b0eu);
    CHECK(f[2] == 0xa20bc7c6u);
    CHECK(f[3] == 0x6d5451fdu);
    const auto p = zoa::philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
    CHECK(p[0] == 0xd16cfe09u);
    CHECK(p[1] == 0x94fdccebu);
    CHECK(p[2] == 0x5001e420u);
    CHECK(p[3] == 0x24126ea1u);
}

TEST_CASE("streams are reproducible and distinct") {
    zoa::rng a(2020, 5), b(2020, 5), c(2020, 6), d(2021, 5);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; ++i) {
        const auto x = a.next_u32();
        CHECK(x == b.next_u32());
        same_c += x == c.next_u32();
        same_d += x == d.next_u32();
    }
    CHECK(same_c < 3);
    CHECK(same_d < 3);
    zoa::rng s = zoa::rng(2020).split(5);
    zoa::rng t(2020, 5);
    for (int i = 0; i < 10; ++i) CHECK(s.next_u32() == t.next_u32());
}

TEST_CASE("uniform, normal and poisson have the right moments") {
    zoa::rng r(1);
    const int n = 200000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0;
    float umin = 1, umax = 0;
    for (int i = 0; i < n; ++i) {
        const float u = r.uniform();
        umin = std::fmin(umin, u);
        umax = std::fmax(umax, u);
        su += u;
        su2 += double(u) * u;
        const float g = r.normal();
        sn += g;
        sn2 += double(g) * g;
    }
    CHECK(umin >= 0.0f);
    CHECK(umax < 1.0f);
    CHECK(su / n == doctest::Approx(0.5).epsilon(0.01));
    CHECK(su2 / n - (su / n) * (su / n) == doctest::Approx(1.0 / 12).epsilon(0.02));
    CHECK(std::fabs(sn / n) < 0.01);
    CHECK(sn2 / n == doctest::Approx(1.0).epsilon(0.02));
    for (double lam : {0.5, 3.0, 25.0, 600.0}) {
        double s = 0, s2 = 0;
        const int m = 50000;
        for (int i = 0; i < m; ++i) {
            const double k = static_cast<double>(r.poisson(lam));
            CHECK_MESSAGE(k >= 0, "negative Poisson sample");
            s += k;
            s2 += k * k;
        }
        const double mean = s / m, var = s2 / m - mean * mean;
        CHECK(mean == doctest::Approx(lam).epsilon(0.03));
        CHECK(var == doctest::Approx(lam).epsilon(0.06));
    }
    CHECK(r.poisson(0.0) == 0);
    CHECK(r.poisson(-1.0) == 0);
}

TEST_CASE("uniform_index stays in range and covers it") {
    zoa::rng r(9);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 7000; ++i) {
        const auto k = r.uniform_index(7);
        REQUIRE(k < 7u);
        ++hits[k];
    }
    for (int h : hits) CHECK(h > 800);
}
