// zoa — tests for the calibration observers: min-max, percentile, MQBench MSE and EMA-MSE
#include <doctest/doctest.h>

#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/observer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace q = zoa::quant;

namespace {
std::vector<float> ramp(int n, float a, float b) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) v[std::size_t(i)] = a + (b - a) * float(i) / float(n - 1);
    return v;
}
// A skewed activation-like batch: mostly small positives with a few outliers (deterministic).
std::vector<float> skewed(std::size_t n, float outlier) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::fmod(float(i) * 0.6180339f, 1.0f) * 0.8f - 0.05f;
    v[n / 3] = outlier;
    v[n / 2] = -0.3f * outlier;
    return v;
}
double mse_of(const std::vector<float>& x, float lo, float hi, int bits) {
    const q::affine_qparams p = q::affine_from_range(lo, hi, 0, q::unsigned_max(bits));
    double acc = 0;
    for (float v : x) {
        const float d =
            q::detail::fp_barrier(q::fake_quant_affine(v, p.scale, p.zero_point, 0, q::unsigned_max(bits))) - v;
        acc += double(d * d);
    }
    return acc / double(x.size());
}
}  // namespace

TEST_CASE("min-max observer: running extremes per tensor and per channel") {
    q::min_max_observer t;
    const std::vector<float> a = {1, -2, 3}, b = {-5, 0, 2};
    t.observe(a.data(), a.size());
    t.observe(b.data(), b.size());
    CHECK(t.min()[0] == -5.0f);
    CHECK(t.max()[0] == 3.0f);
    const q::quant_params pa = t.affine_params(8, q::granularity::per_tensor);
    CHECK(pa.scale[0] == 8.0f / 255.0f);
    const q::quant_params ps = t.symmetric_params(8, q::granularity::per_tensor);
    CHECK(ps.scale[0] == 5.0f / 127.5f);
    q::min_max_observer c(2);
    const std::vector<float> w = {1, 2, 3, -1, -2, 7};  // channel 0 = {1,2,3}, channel 1 = {-1,-2,7}
    c.observe(w.data(), w.size());
    CHECK(c.min() == std::vector<float>{1, -2});
    CHECK(c.max() == std::vector<float>{3, 7});
    const std::vector<float> bad = {1, std::numeric_limits<float>::quiet_NaN()};
    CHECK_THROWS_WITH_AS(t.observe(bad.data(), bad.size()), "zoa: numeric: min_max_observer: element 1 is nan",
                         zoa::error);
    CHECK_THROWS_AS(c.observe(a.data(), a.size()), zoa::error);  // 3 elements, 2 channels
}

TEST_CASE("percentile observer: torch.quantile linear interpolation, mean over batches") {
    q::percentile_observer p(0.99);
    const std::vector<float> x = ramp(101, 0.0f, 100.0f);
    p.observe(x.data(), x.size());
    CHECK(p.min()[0] == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(p.max()[0] == doctest::Approx(99.0).epsilon(1e-6));
    const std::vector<float> y = ramp(101, -100.0f, 0.0f);
    p.observe(y.data(), y.size());
    CHECK(p.min()[0] == doctest::Approx((1.0 - 99.0) / 2).epsilon(1e-6));
    CHECK(p.max()[0] == doctest::Approx((99.0 - 1.0) / 2).epsilon(1e-6));
    const std::vector<float> z = {0, 10};  // pos = 0.99 -> 9.9
    q::percentile_observer p2(0.99);
    p2.observe(z.data(), z.size());
    CHECK(p2.max()[0] == doctest::Approx(9.9).epsilon(1e-6));
    CHECK_THROWS_AS(q::percentile_observer(0.3), zoa::error);
    CHECK_THROWS_AS(q::percentile_observer().min(), zoa::error);
}

TEST_CASE("MSE observer: the chosen range is the best candidate of the MQBench grid") {
    const std::vector<float> x = skewed(600, 9.0f);
    for (int bits : {8, 6, 4, 2}) {
        q::mse_observer obs(bits, q::granularity::per_tensor);
        obs.observe(x.data(), x.size());
        float mn = x[0], mx = x[0];
        for (float v : x) {
            mn = std::min(mn, v);
            mx = std::max(mx, v);
        }
        // brute force over the same 95 candidates (first strict minimum wins)
        double best = 1e10;
        float blo = mn, bhi = mx;
        for (int i = 0; i < 95; ++i) {
            const float f = static_cast<float>(1.0 - q::detail::fp_barrier(i * 0.01));
            const double s = mse_of(x, mn * f, mx * f, bits);
            if (s < best) {
                best = s;
                blo = mn * f;
                bhi = mx * f;
            }
        }
        CAPTURE(bits);
        CHECK(obs.min()[0] == blo);
        CHECK(obs.max()[0] == bhi);
        const q::quant_params p = obs.params();
        CHECK(p.sch == q::scheme::asymmetric);
        CHECK(p.qmax() == q::unsigned_max(bits));
    }
}

TEST_CASE("MSE observer: per-channel (80 candidates) and batch combination") {
    std::vector<float> w = skewed(64, 4.0f);
    const std::vector<float> w2 = skewed(64, 0.5f);
    w.insert(w.end(), w2.begin(), w2.end());  // two channels of 64
    q::mse_observer obs(8, q::granularity::per_channel, 2);
    obs.observe(w.data(), w.size());
    for (std::size_t c = 0; c < 2; ++c) {
        float lo, hi;
        obs.search(w.data() + 64 * c, 64, 80, lo, hi);
        CHECK(obs.min()[c] == lo);
        CHECK(obs.max()[c] == hi);
    }
    // MSEObserver keeps min of mins / max of maxes across batches
    q::mse_observer t(8, q::granularity::per_tensor);
    const std::vector<float> a = skewed(200, 3.0f), b = skewed(200, 6.0f);
    float alo, ahi, blo, bhi;
    t.search(a.data(), a.size(), 95, alo, ahi);
    t.search(b.data(), b.size(), 95, blo, bhi);
    t.observe(a.data(), a.size());
    t.observe(b.data(), b.size());
    CHECK(t.min()[0] == std::min(alo, blo));
    CHECK(t.max()[0] == std::max(ahi, bhi));
    CHECK_THROWS_AS(q::mse_observer(8, q::granularity::per_tensor, 3), zoa::error);
    CHECK_THROWS_AS(q::mse_observer(9, q::granularity::per_tensor), zoa::error);
}

TEST_CASE("MSE observer, symmetric scheme: the best clipping magnitude of the grid, PTQ4ViT's Δ rule") {
    const std::vector<float> x = skewed(600, 9.0f);
    for (int bits : {8, 4}) {
        q::mse_observer obs(bits, q::granularity::per_tensor, 1, -1.0, q::scheme::symmetric);
        obs.observe(x.data(), x.size());
        float amax = 0.0f;
        for (float v : x) amax = std::max(amax, std::fabs(v));
        double best = 1e10;
        float ba = amax;
        for (int i = 0; i < 95; ++i) {  // brute force: a_i = amax·f_i, Δ_i = a_i / (2^(b−1) − 0.5)
            const float a = amax * static_cast<float>(1.0 - q::detail::fp_barrier(i * 0.01));
            const float d = a / static_cast<float>((1 << (bits - 1)) - 0.5);
            double acc = 0;
            for (float v : x) {
                const float e =
                    q::detail::fp_barrier(q::fake_quant_symmetric(v, d, q::signed_min(bits), q::signed_max(bits))) - v;
                acc += double(e * e);
            }
            if (acc / double(x.size()) < best) best = acc / double(x.size()), ba = a;
        }
        CAPTURE(bits);
        CHECK(obs.min()[0] == -ba);
        CHECK(obs.max()[0] == ba);
        if (bits == 4) CHECK(ba < amax);  // at 4 bits clipping the outlier pays off
        const q::quant_params p = obs.params();
        CHECK(p.sch == q::scheme::symmetric);
        CHECK(p.zero_point.empty());
        CHECK(p.scale[0] == q::symmetric_scale_from_absmax(ba, bits, "x"));
    }
    // per-row-block groups search independently (80 candidates each)
    std::vector<float> w = skewed(60, 4.0f);
    const std::vector<float> w2 = skewed(60, 0.5f);
    w.insert(w.end(), w2.begin(), w2.end());
    q::mse_observer rb(6, q::granularity::per_row_block, 2, -1.0, q::scheme::symmetric);
    rb.observe(w.data(), w.size());
    for (std::size_t g = 0; g < 2; ++g) {
        float lo, hi;
        rb.search(w.data() + 60 * g, 60, 80, lo, hi);
        CHECK(rb.max()[g] == hi);
        CHECK(lo == -hi);
    }
    CHECK(rb.params().gran == q::granularity::per_row_block);
    CHECK_THROWS_AS(q::mse_observer(8, q::granularity::per_head, 2), zoa::error);
}

TEST_CASE("EMA-MSE observer: first batch sets, then min = min*0.9 + cur*0.1") {
    q::mse_observer ema(8, q::granularity::per_tensor, 1, 0.9);
    const std::vector<float> a = skewed(300, 3.0f), b = skewed(300, 7.0f);
    float alo, ahi, blo, bhi;
    ema.search(a.data(), a.size(), 95, alo, ahi);
    ema.search(b.data(), b.size(), 95, blo, bhi);
    ema.observe(a.data(), a.size());
    CHECK(ema.min()[0] == alo);
    CHECK(ema.max()[0] == ahi);
    ema.observe(b.data(), b.size());
    const float r1 = static_cast<float>(1.0 - 0.9);
    CHECK(ema.min()[0] == q::detail::fp_barrier(alo * 0.9f) + q::detail::fp_barrier(blo * r1));
    CHECK(ema.max()[0] == q::detail::fp_barrier(ahi * 0.9f) + q::detail::fp_barrier(bhi * r1));
}

TEST_CASE("observers are deterministic") {
    const std::vector<float> x = skewed(999, 5.0f);
    q::mse_observer a(4, q::granularity::per_tensor), b(4, q::granularity::per_tensor);
    a.observe(x.data(), x.size());
    b.observe(x.data(), x.size());
    CHECK(a.params() == b.params());
}
