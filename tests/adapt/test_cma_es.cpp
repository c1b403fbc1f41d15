// zoa — tests for zoa::adapt::cma_es and the symmetric eigensolver (eigen_sym.hpp)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "zoa/adapt/cma_es.hpp"
#include "zoa/adapt/eigen_sym.hpp"
#include "zoa/core/rng.hpp"

using zoa::adapt::cma_es;
using zoa::adapt::cma_options;

namespace {

using objective = std::function<double(const std::vector<float>&)>;

/// f(x) = Σ_i 10^(6 i/(n−1)) x_i²  (condition 1e6)
double ellipsoid(const std::vector<float>& x) {
    const std::size_t n = x.size();
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i)
        s += std::pow(10.0, 6.0 * static_cast<double>(i) / static_cast<double>(n - 1)) * double{x[i]} * double{x[i]};
    return s;
}
double sphere(const std::vector<float>& x) {
    double s = 0.0;
    for (float v : x) s += double{v} * double{v};
    return s;
}
/// f(x) = Σ_{i<n−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)²
double rosenbrock(const std::vector<float>& x) {
    double s = 0.0;
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
        const double a = x[i], b = x[i + 1];
        s += 100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a);
    }
    return s;
}

/// Plain ask/tell loop until best f < target or max_gen generations; returns generations used.
std::size_t run(cma_es& es, const objective& f, double target, std::size_t max_gen) {
    while (es.generation() < max_gen) {
        const auto& xs = es.ask();
        std::vector<double> fx;
        for (const auto& x : xs) fx.push_back(f(x));
        es.tell(xs, fx);
        if (es.best().f < target) break;
    }
    return es.generation();
}

/// max_k ‖A v_k − λ_k v_k‖ and max |v_kᵀ v_l − δ_kl| for eigenpairs stored as rows.
std::pair<double, double> eigen_errors(std::size_t n, const std::vector<double>& a, const zoa::adapt::eigen_result& r) {
    double res = 0.0, orth = 0.0;
    for (std::size_t k = 0; k < n; ++k) {
        const double* v = &r.vectors[k * n];
        for (std::size_t i = 0; i < n; ++i) {
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += a[i * n + j] * v[j];
            res = std::max(res, std::fabs(s - r.values[k] * v[i]));
        }
        for (std::size_t l = 0; l < n; ++l) {
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += v[j] * r.vectors[l * n + j];
            orth = std::max(orth, std::fabs(s - (k == l ? 1.0 : 0.0)));
        }
    }
    return {res, orth};
}

std::vector<double> random_symmetric(std::size_t n, std::uint64_t seed) {
    zoa::rng r(seed);
    std::vector<double> a(n * n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i; j < n; ++j) a[i * n + j] = a[j * n + i] = r.normal();
    return a;
}

}  // namespace

TEST_CASE("eigen_symmetric: random symmetric matrices, residual and orthogonality at machine precision") {
    for (std::size_t n : {1u, 2u, 3u, 7u, 40u, 123u}) {
        CAPTURE(n);
        const auto a = random_symmetric(n, 7 + n);
        const auto r = zoa::adapt::eigen_symmetric(n, a);
        const auto [res, orth] = eigen_errors(n, a, r);
        CHECK(res < 1e-12 * static_cast<double>(n + 1) * 4.0);
        CHECK(orth < 1e-13 * static_cast<double>(n + 1));
        for (std::size_t k = 0; k + 1 < n; ++k) CHECK(r.values[k] <= r.values[k + 1]);
        double trace = 0.0, sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) trace += a[i * n + i], sum += r.values[i];
        CHECK(sum == doctest::Approx(trace).epsilon(1e-12));
    }
}

TEST_CASE("eigen_symmetric: known spectra, repeated eigenvalues, lower triangle ignored, errors") {
    // 1-D Laplacian tridiag(−1, 2, −1): λ_k = 2 − 2 cos(kπ/(n+1)), k = 1..n
    const std::size_t n = 25;
    std::vector<double> lap(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        lap[i * n + i] = 2.0;
        if (i + 1 < n) lap[i * n + i + 1] = lap[(i + 1) * n + i] = -1.0;
    }
    const auto r = zoa::adapt::eigen_symmetric(n, lap);
    for (std::size_t k = 0; k < n; ++k)
        CHECK(r.values[k] == doctest::Approx(2.0 - 2.0 * std::cos(static_cast<double>(k + 1) * 3.141592653589793 / (static_cast<double>(n) + 1.0))).epsilon(1e-13));
    // identity (all eigenvalues repeated), zero matrix, diagonal with negatives; garbage below the diagonal
    std::vector<double> id(16, 0.0), zero(16, 0.0), diag(16, 0.0);
    for (std::size_t i = 0; i < 4; ++i) id[i * 4 + i] = 1.0;
    diag[0] = 3.0, diag[5] = -1.0, diag[10] = 0.5, diag[15] = -7.0;
    for (auto* m : {&id, &zero, &diag})
        for (std::size_t i = 1; i < 4; ++i)
            for (std::size_t j = 0; j < i; ++j) (*m)[i * 4 + j] = 1e30;  // must not be read
    auto ri = zoa::adapt::eigen_symmetric(4, id);
    for (double v : ri.values) CHECK(v == 1.0);
    auto rz = zoa::adapt::eigen_symmetric(4, zero);
    for (double v : rz.values) CHECK(v == 0.0);
    auto rd = zoa::adapt::eigen_symmetric(4, diag);
    CHECK(rd.values == std::vector<double>{-7.0, -1.0, 0.5, 3.0});
    CHECK(std::fabs(rd.vectors[0 * 4 + 3]) == 1.0);  // eigenvector of −7 is ±e_3
    std::vector<double> bad = id;
    bad[1] = NAN;
    CHECK_THROWS_AS(zoa::adapt::eigen_symmetric(4, bad), zoa::error);
    CHECK_THROWS_AS(zoa::adapt::eigen_symmetric(3, id), zoa::error);
}

TEST_CASE("cma parameters follow the tutorial; extra told ranks get zero weight (pycma)") {
    const auto p = zoa::adapt::make_cma_parameters(50, 15);
    CHECK(p.mu == 7);
    double spos = 0.0, sall = 0.0;
    for (std::size_t i = 0; i < p.lambda; ++i) {
        if (i < p.mu) CHECK(p.weights[i] > 0.0);
        if (i == p.mu) CHECK(p.weights[i] == 0.0);  // λ odd: w'_{(λ+1)/2} = 0
        if (i > p.mu) CHECK(p.weights[i] < 0.0);
        if (i + 1 < p.lambda) CHECK(p.weights[i] >= p.weights[i + 1]);
        if (p.weights[i] > 0) spos += p.weights[i];
        sall += p.weights[i];
    }
    CHECK(spos == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(p.c1 + p.cmu * sall == doctest::Approx(0.0).scale(1e-3).epsilon(1e-12));  // zero decay: α_μ⁻ binds
    CHECK(p.cs == doctest::Approx((p.mueff + 2) / (50 + p.mueff + 5)));
    CHECK(p.eigen_interval == 1);

    // FOA: n = 2304, λ = 27, 28 told
    const auto f = zoa::adapt::make_cma_parameters(2304, 27);
    CHECK(f.mu == 13);
    CHECK(f.weights[13] == 0.0);  // w'_14 = ln 14 − ln 14
    CHECK(f.eigen_interval == static_cast<std::size_t>(std::floor(1.0 / (f.c1 + f.cmu) / 2304.0 / 10.0)));
    const auto w28 = f.told_weights(28);
    REQUIRE(w28.size() == 28);
    for (std::size_t i = 0; i < 13; ++i) CHECK(w28[i] == f.weights[i]);
    CHECK(w28[13] == 0.0);
    for (std::size_t i = 14; i < 28; ++i) CHECK(w28[i] == f.weights[i - 1]);
    const auto w20 = f.told_weights(20);  // μ < told < λ: the most negative weights are kept
    CHECK(w20.size() == 20);
    CHECK(w20.back() == f.weights.back());
    CHECK(w20[12] == f.weights[12]);
    CHECK(f.told_weights(13).size() == 13);
    CHECK_THROWS_AS(f.told_weights(12), zoa::error);
    CHECK_THROWS_AS(zoa::adapt::make_cma_parameters(5, 1), zoa::error);
}

TEST_CASE("cma_es minimises the 50-D ellipsoid (cond 1e6) to < 1e-8 within 6000 generations") {
    // x0 = (1,…,1), σ0 = 1, λ = 4 + ⌊3 ln 50⌋ = 15, seed 1. Measured: 4994 generations (docs/baselines.md).
    cma_options o;
    o.seed = 1;
    cma_es es(std::vector<double>(50, 1.0), 1.0, o);
    const std::size_t gens = run(es, ellipsoid, 1e-8, 6000);
    MESSAGE("ellipsoid 50-D: " << gens << " generations, " << es.evaluations() << " evaluations, f = " << es.best().f
                               << ", axis ratio " << es.axis_ratio() << ", eigendecompositions " << es.eigen_updates());
    CHECK(es.best().f < 1e-8);
    CHECK(gens <= 6000);
    CHECK(es.axis_ratio() > 300.0);  // learned the 1e3 axis ratio of the ellipsoid
    CHECK(ellipsoid(es.best().x) == doctest::Approx(es.best().f));
}

TEST_CASE("cma_es minimises 10-D sphere and Rosenbrock to < 1e-8 within stated bounds") {
    cma_options o;
    o.seed = 1;
    cma_es s(std::vector<double>(10, 1.0), 1.0, o);
    const auto gs = run(s, sphere, 1e-8, 300);
    cma_es r(std::vector<double>(10, 0.0), 0.5, o);
    const auto gr = run(r, rosenbrock, 1e-8, 1000);
    MESSAGE("sphere 10-D: " << gs << " generations; rosenbrock 10-D: " << gr << " generations");
    CHECK(s.best().f < 1e-8);
    CHECK(r.best().f < 1e-8);
    for (float v : r.best().x) CHECK(v == doctest::Approx(1.0).epsilon(1e-3));
}

TEST_CASE("cma_es is bitwise deterministic for a seed, and reset() equals a fresh instance") {
    cma_options o;
    o.seed = 42;
    auto go = [&](cma_es& es) { run(es, ellipsoid, 1e-8, 400); };
    cma_es a(std::vector<double>(10, 1.0), 1.0, o), b(std::vector<double>(10, 1.0), 1.0, o);
    go(a);
    go(b);
    CHECK(a.generation() == b.generation());
    CHECK(a.mean() == b.mean());
    CHECK(a.sigma() == b.sigma());
    CHECK(a.best().x == b.best().x);
    CHECK(a.path_c() == b.path_c());
    a.reset();
    go(a);
    CHECK(a.mean() == b.mean());
    CHECK(a.sigma() == b.sigma());
    CHECK(a.axis_lengths() == b.axis_lengths());
    o.seed = 43;
    cma_es c(std::vector<double>(10, 1.0), 1.0, o);
    go(c);
    CHECK(c.mean() != b.mean());
    // ask() twice in a generation returns the same population
    cma_es d(std::vector<double>(10, 1.0), 1.0, o);
    const auto first = d.ask();
    CHECK(d.ask() == first);
}

TEST_CASE("cma_es recognises asked points in any order and handles NaN fitness like pycma") {
    cma_options o;
    o.seed = 5;
    cma_es a(std::vector<double>(8, 0.5), 0.3, o), b(std::vector<double>(8, 0.5), 0.3, o), c(std::vector<double>(8, 0.5), 0.3, o);
    for (int g = 0; g < 20; ++g) {
        const auto xs = a.ask();
        std::vector<double> f;
        for (const auto& x : xs) f.push_back(sphere(x));
        a.tell(xs, f);
        auto rx = b.ask();  // same population, told reversed
        std::vector<std::vector<float>> rev(rx.rbegin(), rx.rend());
        std::vector<double> rf(f.rbegin(), f.rend());
        b.tell(rev, rf);
        // NaN for the last point equals telling the median of the others
        auto cx = c.ask();
        std::vector<double> cf;
        for (const auto& x : cx) cf.push_back(sphere(x));
        cf.back() = NAN;
        c.tell(cx, cf);
    }
    CHECK(a.mean() == b.mean());
    CHECK(a.sigma() == b.sigma());
    CHECK(std::isfinite(c.sigma()));
    cma_es d(std::vector<double>(8, 0.5), 0.3, o), e(std::vector<double>(8, 0.5), 0.3, o);
    auto dx = d.ask();
    std::vector<double> df;
    for (const auto& x : dx) df.push_back(sphere(x));
    std::vector<double> sorted(df.begin(), df.end() - 1);
    std::sort(sorted.begin(), sorted.end());
    const std::size_t h = sorted.size() / 2;
    const double med = sorted.size() % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
    auto ef = df;
    df.back() = NAN;
    ef.back() = med;
    d.tell(dx, df);
    e.tell(e.ask(), ef);
    CHECK(d.mean() == e.mean());
    CHECK(d.covariance(0, 1) == e.covariance(0, 1));
}

TEST_CASE("cma_es: injected (told, not asked) solutions are clipped in Mahalanobis length and ranked normally") {
    const std::size_t n = 10;
    cma_options o;
    o.seed = 3;
    o.popsize = 12;
    auto tell_with = [&](float far, bool repair) {
        o.repair_injected = repair;
        cma_es es(std::vector<double>(n, 0.0), 1.0, o);
        auto xs = es.ask();
        std::vector<double> f;
        for (const auto& x : xs) f.push_back(sphere(x));
        std::vector<float> inj(n, 0.0f);
        inj[0] = far;
        xs.push_back(inj);
        f.push_back(-1.0);  // the injected point ranks first
        es.tell(xs, f);
        return es.mean();
    };
    const auto m_far = tell_with(1000.0f, true), m_mid = tell_with(50.0f, true);
    const auto m_raw = tell_with(1000.0f, false);
    // both far points are clipped to length √n + 2n/(n+2) along e_0: same new mean
    for (std::size_t j = 0; j < n; ++j) CHECK(m_far[j] == doctest::Approx(m_mid[j]).epsilon(1e-12));
    const double upper = std::sqrt(10.0) + 20.0 / 12.0;
    const double w1 = zoa::adapt::make_cma_parameters(n, 12).weights[0];
    CHECK(m_far[0] < w1 * upper + 3.0);
    CHECK(m_raw[0] > w1 * 900.0);

    // FOA pattern on a sphere: λ = 27 asked + the previous best told every generation
    o.repair_injected = true;
    o.popsize = 27;
    cma_es es(std::vector<double>(20, 1.0), 1.0, o);
    std::vector<float> prev;
    double prev_f = 0.0;
    while (es.generation() < 400 && es.best().f >= 1e-8) {
        auto xs = es.ask();
        std::vector<double> f;
        for (const auto& x : xs) f.push_back(sphere(x));
        if (!prev.empty()) xs.push_back(prev), f.push_back(prev_f);
        const auto k = static_cast<std::size_t>(std::min_element(f.begin(), f.end()) - f.begin());
        prev = xs[k];
        prev_f = f[k];
        es.tell(xs, f);
    }
    MESSAGE("sphere 20-D with 27 asked + previous best: " << es.generation() << " generations");
    CHECK(es.best().f < 1e-8);
    CHECK(es.evaluations() == 28 * es.generation() - 1);
}

TEST_CASE("cma_es: lazy eigendecomposition schedule and condition limit") {
    cma_options o;
    o.seed = 9;
    o.eigen_interval = 5;
    cma_es es(std::vector<double>(6, 1.0), 1.0, o);
    run(es, ellipsoid, 0.0, 23);  // asks at generations 0..22: decompositions at 5, 10, 15, 20
    CHECK(es.eigen_updates() == 4);
    o.eigen_interval = 0;
    o.condition_limit = 100.0;
    cma_es lim(std::vector<double>(10, 1.0), 1.0, o);
    run(lim, ellipsoid, 0.0, 300);
    CHECK(lim.axis_ratio() <= 10.0 * (1.0 + 1e-9));  // √cond ≤ √limit
    CHECK(lim.axis_ratio() > 9.0);
}

TEST_CASE("cma_es at FOA size: n = 2304, λ = 27, 28 told, O(n²) state") {
    cma_options o;
    o.seed = 2020;
    o.popsize = 27;
    cma_es es(std::vector<double>(2304, 0.0), 1.0, o);
    const std::size_t n = 2304;
    CHECK(es.state_bytes() >= (n * (n + 1) / 2 + n * n) * sizeof(double));
    CHECK(es.state_bytes() < (n * (n + 1) / 2 + n * n) * sizeof(double) + 2'000'000);
    std::vector<float> prev;
    double prev_f = 0.0;
    for (int g = 0; g < 3; ++g) {
        auto xs = es.ask();
        REQUIRE(xs.size() == 27);
        std::vector<double> f;
        for (const auto& x : xs) {
            double s = 0.0;
            for (std::size_t i = 0; i < n; ++i) s += (x[i] - 0.25) * (x[i] - 0.25);
            f.push_back(s);
        }
        if (!prev.empty()) xs.push_back(prev), f.push_back(prev_f);
        const auto k = static_cast<std::size_t>(std::min_element(f.begin(), f.end()) - f.begin());
        prev = xs[k];
        prev_f = f[k];
        es.tell(xs, f);
    }
    CHECK(es.generation() == 3);
    CHECK(es.eigen_updates() == 0);  // interval 16 at this size
    double m = 0.0;
    for (double v : es.mean()) m += v;
    CHECK(m / 2304.0 > 0.0);  // the mean moves toward 0.25
}

TEST_CASE("cma_es rejects invalid input with zoa::error") {
    CHECK_THROWS_AS(cma_es(std::vector<double>{}, 1.0), zoa::error);
    CHECK_THROWS_AS(cma_es(std::vector<double>{0.0}, 0.0), zoa::error);
    CHECK_THROWS_AS(cma_es(std::vector<double>{NAN}, 1.0), zoa::error);
    cma_options o;
    o.popsize = 1;
    CHECK_THROWS_AS(cma_es(std::vector<double>{0.0, 0.0}, 1.0, o), zoa::error);
    cma_es es(std::vector<double>(4, 0.0), 1.0);
    auto xs = es.ask();
    std::vector<double> f(xs.size(), 1.0);
    CHECK_THROWS_AS(es.tell(xs, std::vector<double>(xs.size() - 1, 1.0)), zoa::error);
    CHECK_THROWS_AS(es.tell({xs[0]}, {1.0}), zoa::error);  // fewer than μ
    auto bad = xs;
    bad[1].push_back(0.0f);
    CHECK_THROWS_AS(es.tell(bad, f), zoa::error);
    bad = xs;
    bad[2][0] = INFINITY;
    CHECK_THROWS_AS(es.tell(bad, f), zoa::error);
    CHECK_THROWS_AS(es.tell(xs, std::vector<double>(xs.size(), NAN)), zoa::error);
    CHECK(es.generation() == 0);
    es.tell(xs, f);  // still usable
    CHECK(es.generation() == 1);
}

TEST_CASE("eigen_symmetric at n = 2304 (FOA-ViT prompt size): timing, run with --no-skip" * doctest::skip()) {
    const std::size_t n = 2304;
    auto a = random_symmetric(n, 1);
    std::vector<double> work(a), values(n);
    const auto t0 = std::chrono::steady_clock::now();
    zoa::adapt::eigen_symmetric_inplace(n, work.data(), values.data());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double res = 0.0;  // residual on every 64th eigenpair
    for (std::size_t k = 0; k < n; k += 64)
        for (std::size_t i = 0; i < n; ++i) {
            double s = 0.0;
            for (std::size_t j = 0; j < n; ++j) s += a[i * n + j] * work[k * n + j];
            res = std::max(res, std::fabs(s - values[k] * work[k * n + i]));
        }
    MESSAGE("eigen_symmetric n=2304: " << secs << " s, max residual " << res);
    CHECK(res < 1e-10);
}
