// zoa — tests for zoa::adapt::t3a: PyTorch golden case, tie-breaking, pruning, reset, errors
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zoa/adapt/t3a.hpp"

using zoa::adapt::t3a;
using zoa::adapt::t3a_options;

namespace {

nlohmann::json load_t3a_golden() {
    const std::string path = std::string(ZOA_FIXTURES_DIR) + "/t3a_golden.json";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "missing fixture " << path << " (run tools/reference/gen_t3a_fixture.py)");
    return nlohmann::json::parse(in);
}

std::vector<float> floats(const nlohmann::json& j) { return j.get<std::vector<float>>(); }

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
    return m;
}

}  // namespace

TEST_CASE("t3a matches the PyTorch port of the reference (tests/fixtures/t3a_golden.json)") {
    const auto g = load_t3a_golden();
    const auto d = g["d"].get<std::size_t>(), c = g["C"].get<std::size_t>(), batch = g["batch"].get<std::size_t>();
    const auto weight = floats(g["weight"]), bias = floats(g["bias"]), warm = floats(g["warm_logits"]);
    for (const auto& cs : g["cases"]) {
        t3a_options opt;
        opt.filter_k = cs["filter_k"].get<std::size_t>();
        CAPTURE(opt.filter_k);
        t3a model(weight, warm, c, d, opt);
        t3a from_lin = t3a::from_linear(weight, bias, c, d, opt);  // warm-up logits computed by zoa itself
        double worst = 0.0, worst_lin = 0.0;
        for (const auto& st : cs["steps"]) {
            const auto b = st["batch"].get<std::size_t>();
            const auto z = floats(g["batches"][b]["z"]), logits = floats(g["batches"][b]["logits"]);
            const auto expect = floats(st["out"]);
            if (st.value("after_reset", false)) {
                for (std::size_t k = 0; k < c; ++k) CHECK(model.supports(k) == cs["final_support_counts"][k].get<std::size_t>());
                model.reset();
                from_lin.reset();
            }
            const bool adapt = st["adapt"].get<bool>();
            const auto out = adapt ? model.adapt_and_predict(z, logits, batch) : model.predict(z, batch);
            const auto out_lin = adapt ? from_lin.adapt_and_predict(z, logits, batch) : from_lin.predict(z, batch);
            REQUIRE(out.size() == batch * c);
            worst = std::max(worst, max_abs_diff(out, expect));
            worst_lin = std::max(worst_lin, max_abs_diff(out_lin, expect));
        }
        MESSAGE("t3a golden filter_k=" << opt.filter_k << ": max |zoa - torch| = " << worst
                                       << " (from_linear: " << worst_lin << ")");
        CHECK(worst < 2e-6);
        CHECK(worst_lin < 2e-6);
    }
}

TEST_CASE("t3a keeps the filter_k lowest-entropy supports per class, ascending") {
    // d = 2, C = 2, W = I: warm-up supports are e0 (class 0) and e1 (class 1).
    const std::vector<float> w{1, 0, 0, 1};
    t3a_options opt;
    opt.filter_k = 2;
    t3a m = t3a::from_linear(w, {}, 2, 2, opt);
    CHECK(m.supports(0) == 1);
    CHECK(m.supports(1) == 1);
    // logits for class 0 with decreasing margin → increasing entropy; the most confident ones survive
    const std::vector<float> z{1, 0.1f, 1, 0.2f, 1, 0.3f};
    const std::vector<float> p{9, 0, 5, 0, 1, 0};
    m.adapt_and_predict(z, p, 3);
    REQUIRE(m.supports(0) == 2);
    CHECK(m.supports(1) == 1);
    const auto& e = m.support_entropies(0);
    CHECK(e[0] <= e[1]);
    // entropy of logits (9, 0): H = ln(1 + e^-9) + 9 e^-9/(1 + e^-9)
    const double q = std::exp(-9.0);
    CHECK(e[0] == doctest::Approx(std::log1p(q) + 9.0 * q / (1.0 + q)).epsilon(1e-9));
    // warm-up W row 0 has logits (1, 0): entropy above (9,0) and (5,0) → it was pruned
    const double h50 = std::log1p(std::exp(-5.0)) + 5.0 * std::exp(-5.0) / (1.0 + std::exp(-5.0));
    CHECK(e[1] == doctest::Approx(h50).epsilon(1e-9));
}

TEST_CASE("t3a tie-breaking: on equal entropy the older support ranks first; argmax takes the first maximum") {
    const std::vector<float> w{1, 0, 0, 1};
    t3a_options opt;
    opt.filter_k = 1;
    t3a m = t3a::from_linear(w, {}, 2, 2, opt);
    // two different features with identical logits (3, 0): the first one is kept (stable order)
    const std::vector<float> z{1, 2, 1, -2};
    const std::vector<float> p{3, 0, 3, 0};
    m.adapt_and_predict(z, p, 2);
    REQUIRE(m.supports(0) == 1);
    const auto& u = m.adjusted_weight();
    CHECK(u[0] == doctest::Approx(1.0 / std::sqrt(5.0)));
    CHECK(u[1] == doctest::Approx(2.0 / std::sqrt(5.0)));
    // equal logits (2, 2): argmax → class 0 (first); entropy ln 2 is above (3,0)'s → not kept in class 0
    t3a m2 = t3a::from_linear(w, {}, 2, 2, opt);
    m2.adapt_and_predict({0, 1}, {2, 2}, 1);
    CHECK(m2.supports(0) == 1);
    CHECK(m2.supports(1) == 1);
    CHECK(m2.adjusted_weight()[0] == 1.0f);  // class 0 still holds the warm-up row (1, 0)
    CHECK(m2.adjusted_weight()[1] == 0.0f);
}

TEST_CASE("t3a output formula, classes without supports, predict does not adapt, reset") {
    // C = 3 classes but W rows all argmax to class 0 or 1: class 2 has no support → output column 0
    const std::vector<float> w{2, 0, 0, 3, 0, 0};  // C = 3, d = 2
    const std::vector<float> warm{4, 0, 0, 0, 9, 0, 0, 0, 0};  // row 2 (all zero) → argmax 0
    t3a m(w, warm, 3, 2);
    CHECK(m.supports(0) == 2);
    CHECK(m.supports(1) == 1);
    CHECK(m.supports(2) == 0);
    const std::vector<float> z{0.5f, -2.0f};
    const auto out = m.predict(z, 1);
    // class 0: ŝ = (1,0) + (0,0) → u = (1,0); class 1: (0,1); class 2: 0
    CHECK(out[0] == doctest::Approx(0.5));
    CHECK(out[1] == doctest::Approx(-2.0));
    CHECK(out[2] == 0.0f);
    const auto before = m.adjusted_weight();
    (void)m.predict(z, 1);
    CHECK(m.adjusted_weight() == before);
    m.adapt_and_predict({0.0f, 0.0f, 1.0f, 1.0f}, {0, 0, 5, 0, 0, 4}, 2);
    CHECK(m.supports(2) == 2);
    CHECK(m.state_bytes() > 0);
    m.reset();
    CHECK(m.supports(2) == 0);
    CHECK(m.adjusted_weight() == before);
}

TEST_CASE("t3a rejects bad input with zoa::error and keeps its state") {
    const std::vector<float> w{1, 0, 0, 1};
    CHECK_THROWS_AS(t3a(w, {0, 0, 0}, 2, 2), zoa::error);
    CHECK_THROWS_AS(t3a::from_linear(w, {1, 2, 3}, 2, 2), zoa::error);
    CHECK_THROWS_AS(t3a::from_linear({1, 2, 3}, {}, 2, 2), zoa::error);
    t3a_options bad;
    bad.filter_k = 0;
    CHECK_THROWS_AS(t3a::from_linear(w, {}, 2, 2, bad), zoa::error);
    t3a m = t3a::from_linear(w, {}, 2, 2);
    const auto before = m.adjusted_weight();
    CHECK_THROWS_AS(m.adapt_and_predict({1, 2, 3}, {1, 2}, 1), zoa::error);
    CHECK_THROWS_AS(m.adapt_and_predict({1, 2, 3, 4}, {1, 2, 3, NAN}, 2), zoa::error);
    CHECK_THROWS_AS(m.adapt_and_predict({1, NAN}, {1, 2}, 1), zoa::error);
    CHECK(m.supports(0) == 1);
    CHECK(m.supports(1) == 1);
    CHECK(m.adjusted_weight() == before);
    t3a_options unl;
    unl.filter_k = t3a_options::unlimited;
    t3a all = t3a::from_linear(w, {}, 2, 2, unl);
    for (int i = 0; i < 30; ++i) all.adapt_and_predict({1, 0}, {1, 0}, 1);
    CHECK(all.supports(0) == 31);
}
