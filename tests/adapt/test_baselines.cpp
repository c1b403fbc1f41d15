// zoa — tests for the baselines on the adaptation hooks: NoAdapt, BN-adapt, T3A, FOA
#include <doctest/doctest.h>

#include "toy_model.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"

#include <cmath>
#include <vector>

namespace {

zoa::adapt::source_statistics stats_of(const toy::model& m, const toy::stream& s) {
    zoa::rng r(123);
    std::vector<toy::batch> batches;
    for (int i = 0; i < 4; ++i) {
        std::vector<int> y;
        batches.push_back(s.make(64, y, r, 0.5f, {}));
    }
    return zoa::adapt::compute_source_statistics(m, batches);
}

}  // namespace

TEST_CASE("NoAdapt and BN-adapt run one forward per batch and return the model's logits") {
    toy::model m;
    toy::stream s(8, 4);
    zoa::adapt::no_adapt<toy::model> none(m);
    zoa::adapt::bn_adapt<toy::model> bn(m);
    zoa::rng r(1);
    std::vector<int> y;
    const auto x = s.make(16, y, r, 0.5f, {});
    zoa::adapt::forward_result ref;
    m.forward_adapt(x, {}, ref);
    CHECK(none.predict_and_adapt(x) == ref.logits);
    CHECK(bn.predict_and_adapt(x) == ref.logits);  // the toy has no BatchNorm
    CHECK(none.stats().last_forwards == 1);
    CHECK(bn.stats().forwards == 1);
}

TEST_CASE("T3A starts from the classifier and adapts its supports") {
    toy::model m;
    toy::stream s(8, 4);
    zoa::adapt::t3a_adapter<toy::model> t(m, {5});
    zoa::rng r(2);
    std::vector<int> y;
    const auto& out = t.predict_and_adapt(s.make(32, y, r, 0.5f, {}));
    CHECK(out.shape(0) == 32);
    CHECK(out.shape(1) == 4);
    for (float v : out) CHECK(std::isfinite(v));
    CHECK(t.stats().state_bytes > 0);
    CHECK(t.stats().last_forwards == 1);
}

TEST_CASE("FOA evaluates popsize + 1 candidates per batch and keeps the best prompt") {
    toy::model m;
    toy::stream s(8, 4);
    const auto src = stats_of(m, s);
    zoa::adapt::foa_options o;
    o.num_prompts = 1;
    zoa::adapt::foa_adapter<toy::model> foa(m, o, src);
    zoa::rng r(3);
    std::vector<int> y;
    const std::vector<float> offset(8, 1.0f);
    float first = 0, last = 0;
    for (int i = 0; i < 30; ++i) {
        const std::size_t before = m.forwards;
        foa.predict_and_adapt(s.make(64, y, r, 0.5f, offset));
        CHECK(m.forwards - before == 28);
        if (i == 0) first = foa.stats().last_loss.total;
        last = foa.stats().last_loss.total;
    }
    CHECK(foa.stats().last_forwards == 28);
    CHECK(foa.best_prompt().size() == m.D);
    MESSAGE("FOA best-candidate loss: batch 1 " << first << " → batch 30 " << last);
    CHECK(last < first);
}

TEST_CASE("FOA's loss forms follow the reference reductions") {
    xt::xtensor<float, 2> f = {{1, 2}, {3, 4}};
    xt::xtensor<float, 2> z = {{0, 0}, {0, 0}};
    zoa::adapt::source_statistics src;
    src.mean = {0, 0};
    src.std = {0, 0};
    src.groups = {1, 1};
    // batch mean (2, 3), std (√2, √2): Σ_d = 2·2 + 13 = 17; ViT: 0.4·17·2/64 + 2·ln 2
    CHECK(zoa::adapt::foa_loss(f, z, src, 0.4f, zoa::adapt::model_family::vit) ==
          doctest::Approx(0.4 * 17 * 2 / 64.0 + 2 * std::log(2.0)).epsilon(1e-5));
    // ResNet: 0.4·(mean_k σ² + mean_k μ²) + mean entropy = 0.4·(2 + 6.5) + ln 2
    CHECK(zoa::adapt::foa_loss(f, z, src, 0.4f, zoa::adapt::model_family::resnet) ==
          doctest::Approx(0.4 * (2 + 6.5) + std::log(2.0)).epsilon(1e-5));
}
