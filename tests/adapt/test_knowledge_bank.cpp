// zoa — tests for the fused norm parametrisation and the bounded knowledge bank
#include <doctest/doctest.h>

#include "zoa/adapt/knowledge_bank.hpp"
#include "zoa/core/rng.hpp"

#include <cmath>
#include <vector>

namespace {

struct fixture {
    std::vector<float> w1 = std::vector<float>(6, 1.0f), b1 = std::vector<float>(6, 0.0f);
    std::vector<float> w2 = std::vector<float>(4, 0.5f), b2 = std::vector<float>(4, 0.1f);
    zoa::adapt::adapt_layout layout() const {
        zoa::adapt::adapt_layout l;
        l.norms = {{"a", 6, w1.data(), b1.data()}, {"b", 4, w2.data(), b2.data()}};
        l.feature_groups = {4};
        return l;
    }
};

void randomize_epsilon(zoa::adapt::norm_bank& bank, zoa::rng& r, float scale) {
    for (float& e : bank.epsilon()) e = scale * r.normal();
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    float m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]));
    return m;
}

std::vector<float> theta(const zoa::adapt::norm_bank& bank) {
    std::vector<float> t(bank.size());
    bank.effective(t.data());
    return t;
}

}  // namespace

TEST_CASE("a fresh bank is the source model") {
    fixture f;
    zoa::adapt::norm_bank bank(f.layout(), 4, 10.0f, 0.01f, 10.0f, {}, 0.3f);
    CHECK(bank.size() == 20);
    CHECK(bank.stored() == 0);
    const auto t = theta(bank);
    CHECK(t[0] == 1.0f);    // w1
    CHECK(t[6] == 0.0f);    // b1
    CHECK(t[12] == 0.5f);   // w2
    CHECK(t[16] == 0.1f);   // b2
}

TEST_CASE("save and remove keep every effective norm weight continuous") {
    fixture f;
    for (bool fixed : {false, true}) {
        zoa::adapt::reference_fixes fx;
        fx.similarity_reindex = fixed;
        fx.logsumexp_alpha = fixed;
        zoa::adapt::norm_bank bank(f.layout(), 3, 10.0f, 0.01f, 10.0f, fx, 0.3f);
        zoa::rng r(11);
        float worst = 0;
        for (int round = 0; round < 12; ++round) {
            randomize_epsilon(bank, r, round % 2 ? 0.05f : 0.002f);  // sf > 1 and sf < 1 cases
            for (float& a : bank.alpha()) a += 0.05f * r.normal();
            const auto before = theta(bank);
            bank.save();
            worst = std::fmax(worst, max_abs_diff(before, theta(bank)));
            CHECK(bank.stored() <= 3);
        }
        const auto before = theta(bank);
        bank.remove(2);
        worst = std::fmax(worst, max_abs_diff(before, theta(bank)));
        MESSAGE("max |Δθ| across saves/removals (fixed=" << fixed << "): " << worst);
        CHECK(worst <= 1e-6f);
    }
}

TEST_CASE("a save with sf >= 2 scales the largest mean|eps| to the weight margin") {
    fixture f;
    zoa::adapt::norm_bank bank(f.layout(), 4, 10.0f, 0.01f, 10.0f, {}, 0.0f);
    for (float& e : bank.epsilon()) e = 0.04f;  // sf = 4
    bank.save();
    CHECK(bank.stored() == 1);
    float biggest = 0;
    for (std::size_t t = 0; t < 4; ++t) {
        const std::size_t b = t < 2 ? t * 6 : 12 + (t - 2) * 4, n = t < 2 ? 6 : 4;
        float s = 0;
        for (std::size_t i = b; i < b + n; ++i) s += std::fabs(bank.epsilon()[i]);
        biggest = std::fmax(biggest, s / float(n));
    }
    CHECK(biggest == doctest::Approx(0.01f).epsilon(1e-4));
    // w_new = 1 − 1/sf: the stored entry carries 3/4 of the mixture
    const auto p = bank.mixture(bank.alpha());
    CHECK(p[1] == doctest::Approx(0.75f).epsilon(1e-4));
}

TEST_CASE("a save with sf <= 1 ties the new logit with the current maximum") {
    fixture f;
    zoa::adapt::norm_bank bank(f.layout(), 4, 10.0f, 0.01f, 10.0f, {}, 0.2f);
    for (float& e : bank.epsilon()) e = 0.005f;  // sf = 0.5
    bank.save();
    CHECK(bank.alpha()[1] == doctest::Approx(bank.alpha()[0]));
}

TEST_CASE("the full bank prunes the older member of the most similar pair") {
    fixture f;
    zoa::adapt::norm_bank bank(f.layout(), 3, 10.0f, 0.01f, 10.0f, {}, 0.0f);
    const std::size_t P = bank.size();
    // stored deltas: d1 and d3 nearly parallel, d2 orthogonal-ish
    std::vector<float> d1(P), d2(P), d3(P);
    zoa::rng r(5);
    for (std::size_t i = 0; i < P; ++i) {
        d1[i] = r.normal();
        d2[i] = r.normal();
        d3[i] = d1[i] + 0.01f * r.normal();
    }
    auto store = [&](const std::vector<float>& d) {
        // make θ − θ⁰ = d with the current mixture: set ε so that Σ p Δ + ε = d
        std::vector<float> t = theta(bank);
        for (std::size_t i = 0; i < P; ++i) bank.epsilon()[i] += (bank.origin()[i] + d[i]) - t[i];
        bank.save();
    };
    store(d1);
    store(d2);
    store(d3);
    REQUIRE(bank.stored() == 3);
    CHECK(bank.cosine(1, 3) > 0.99f);
    CHECK(bank.select_victim() == 0);  // pair (0,2) among stored, older member 0
    const std::vector<float> kept2(bank.delta(2), bank.delta(2) + P), kept3(bank.delta(3), bank.delta(3) + P);
    store(d2);  // full: removes stored 0 first
    CHECK(bank.stored() == 3);
    CHECK(max_abs_diff(std::vector<float>(bank.delta(1), bank.delta(1) + P), kept2) == 0.0f);
    CHECK(max_abs_diff(std::vector<float>(bank.delta(2), bank.delta(2) + P), kept3) == 0.0f);
}

TEST_CASE("fixed similarity bookkeeping re-indexes after a removal") {
    fixture f;
    zoa::adapt::reference_fixes fx;
    fx.similarity_reindex = true;
    zoa::adapt::norm_bank bank(f.layout(), 3, 10.0f, 0.01f, 10.0f, fx, 0.0f);
    zoa::rng r(8);
    for (int i = 0; i < 7; ++i) {
        randomize_epsilon(bank, r, 0.03f);
        bank.save();
        // every filled upper-triangle entry equals the recomputed cosine
        const std::size_t C = 3;
        for (std::size_t a = 0; a < bank.stored(); ++a)
            for (std::size_t b = a + 1; b < bank.stored(); ++b)
                CHECK(bank.similarity()[a * C + b] == doctest::Approx(bank.cosine(a + 1, b + 1)).epsilon(1e-5));
    }
}

TEST_CASE("reference new-alpha overflow clips to the bound; logsumexp does not overflow") {
    fixture f;
    for (bool fixed : {false, true}) {
        zoa::adapt::reference_fixes fx;
        fx.logsumexp_alpha = fixed;
        zoa::adapt::norm_bank bank(f.layout(), 4, 10.0f, 0.01f, 10.0f, fx, 9.5f);  // s·α = 95 > 88.7
        for (float& e : bank.epsilon()) e = 0.05f;                               // sf = 5
        bank.save();
        if (fixed)
            CHECK(bank.alpha()[1] == doctest::Approx(9.5f + std::log(4.0f) / 10.0f));
        else
            CHECK(bank.alpha()[1] == 10.0f);
    }
}

TEST_CASE("bank errors name what is wrong") {
    fixture f;
    zoa::adapt::norm_bank bank(f.layout(), 2, 10.0f, 0.01f, 10.0f, {}, 0.0f);
    CHECK_THROWS_WITH_AS(bank.remove(1), "zoa: argument: norm_bank::remove: index 1 not in [1, 0]", zoa::error);
    zoa::adapt::adapt_layout empty;
    CHECK_THROWS_AS(zoa::adapt::norm_bank(empty, 2, 10.0f, 0.01f, 10.0f, {}, 0.0f), zoa::error);
    CHECK_THROWS_AS(bank.assign({0, 0, 0, 0}, {}, {}, {}), zoa::error);
}

TEST_CASE("a full 32-domain bank for vit_base_patch16_224 is under 5% of its W8A8 weight bytes") {
    // ViT-B adapts blocks 1..8 norm1/norm2: 16 LayerNorms of 768 channels (spec §1.2)
    const std::vector<float> ones(768, 1.0f), zeros(768, 0.0f);
    zoa::adapt::adapt_layout l;
    for (int i = 0; i < 16; ++i) l.norms.push_back({"ln" + std::to_string(i), 768, ones.data(), zeros.data()});
    l.feature_groups = {768};
    zoa::adapt::norm_bank bank(l, 32, 10.0f, 0.01f, 10.0f, {}, 0.0f);
    zoa::rng r(4);
    for (int i = 0; i < 40; ++i) {
        for (float& e : bank.epsilon()) e = 0.02f * r.normal();
        bank.save();
    }
    CHECK(bank.stored() == 32);
    CHECK(bank.size() == 24576);
    // W8A8 ViT-B/16 stores one int8 byte per weight of its conv/linear layers:
    // patch embed 768·3·16·16, per block qkv 768·2304 + proj 768·768 + fc1 768·3072 + fc2 3072·768, head 768·1000
    const double weight_bytes = 768.0 * 3 * 16 * 16 + 12.0 * (768.0 * 2304 + 768.0 * 768 + 2.0 * 768 * 3072) + 768.0 * 1000;
    const double ratio = double(bank.bytes()) / weight_bytes;
    MESSAGE("bank with 32 domains: " << bank.bytes() << " bytes = " << 100.0 * ratio << "% of W8A8 ViT-B weight bytes");
    CHECK(ratio < 0.05);
}
