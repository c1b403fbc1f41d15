// zoa — the SPSA estimate agrees with central finite differences on a smooth objective
#include <doctest/doctest.h>

#include "zoa/adapt/perturbation.hpp"
#include "zoa/adapt/spsa.hpp"

#include <cmath>
#include <vector>

namespace {

// f(x) = Σ_i a_i x_i² + sin(x_0 + x_1) + 0.1·Σ_i x_i x_{i+1}
float objective(const std::vector<float>& x) {
    double f = std::sin(double(x[0]) + x[1]);
    for (std::size_t i = 0; i < x.size(); ++i) f += (0.5 + 0.1 * double(i)) * x[i] * x[i];
    for (std::size_t i = 0; i + 1 < x.size(); ++i) f += 0.1 * x[i] * x[i + 1];
    return static_cast<float>(f);
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
    ma /= double(a.size());
    mb /= double(b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

template <class P>
double spsa_vs_fd(int draws) {
    const std::size_t n = 20;
    std::vector<float> x0(n), c(n, 0.01f), fd(n), g(n, 0.0f);
    zoa::rng r(3);
    for (float& v : x0) v = r.normal();
    for (std::size_t i = 0; i < n; ++i) {  // central differences, h = 1e−3
        auto xp = x0, xm = x0;
        xp[i] += 1e-3f;
        xm[i] -= 1e-3f;
        fd[i] = (objective(xp) - objective(xm)) / 2e-3f;
    }
    const float f0 = objective(x0);
    for (int k = 0; k < draws; ++k)
        zoa::adapt::spsa_accumulate<P>(objective, x0, c, f0, r, g, 1.0f / static_cast<float>(draws));
    return correlation(g, fd);
}

}  // namespace

TEST_CASE_TEMPLATE("averaged SPSA estimates correlate with the true gradient", P, zoa::perturb::segmented_uniform,
                   zoa::perturb::rademacher, zoa::perturb::gaussian) {
    const double corr = spsa_vs_fd<P>(2000);
    MESSAGE("correlation with central differences over 2000 draws: " << corr);
    CHECK(corr > 0.9);
}

TEST_CASE("the segmented uniform support is [-1,-0.5] U [0.5,1)") {
    zoa::rng r(1);
    int neg = 0;
    for (int i = 0; i < 10000; ++i) {
        const float u = zoa::perturb::segmented_uniform::sample(r);
        CHECK(std::fabs(u) >= 0.5f);
        CHECK(std::fabs(u) <= 1.0f);
        neg += u < 0;
    }
    CHECK(neg > 4700);
    CHECK(neg < 5300);
    static_assert(zoa::perturb::is_perturbation_v<zoa::perturb::segmented_uniform>);
    static_assert(!zoa::perturb::is_perturbation_v<int>);
}

TEST_CASE("a non-finite evaluation leaves the gradient untouched") {
    std::vector<float> x0{1, 2}, c{0.1f, 0.1f}, g{0, 0};
    zoa::rng r(1);
    zoa::adapt::spsa_accumulate<zoa::perturb::rademacher>([](const std::vector<float>&) { return NAN; }, x0, c, 0.0f,
                                                          r, g);
    CHECK(g[0] == 0.0f);
    CHECK(g[1] == 0.0f);
}
