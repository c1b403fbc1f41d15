// zoa — the ResNet through the zoa::adapt adapters (ZOA, FOA, T3A, BN-adapt, NoAdapt), fp32 and W8A8, end to end
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "resnet_fixture.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/zoa_adapter.hpp"

namespace {

bool finite(const xt::xtensor<float, 2>& l) {
    for (float v : l)
        if (!std::isfinite(v)) return false;
    return true;
}

template <class Model>
void run_adapters(const Model& m, const rt::golden& g) {
    using batch = typename Model::batch_type;
    const batch x = g.images("input"), calib = g.images("calib.images");
    zoa::adapt::forward_request src_req;
    src_req.batch_statistics = true;  // the reference computes ResNet source statistics with batch-stat BN
    const std::vector<batch> clean{calib};
    const auto src = zoa::adapt::compute_source_statistics(m, clean, src_req);
    REQUIRE(src.mean.size() == m.layout().feature_width());
    const std::size_t classes = m.config().num_classes;

    zoa::adapt::zoa_adapter<Model> zoa(m, zoa::adapt::zoa_options::paper(zoa::adapt::model_family::resnet, 8), src);
    zoa::adapt::foa_adapter<Model> foa(m, zoa::adapt::foa_options{}, src);
    zoa::adapt::t3a_adapter<Model> t3a(m);
    zoa::adapt::bn_adapt<Model> bn(m);
    zoa::adapt::no_adapt<Model> none(m);
    for (int step = 0; step < 3; ++step) {
        CAPTURE(step);
        const auto& a = zoa.predict_and_adapt(x);
        CHECK((a.shape(0) == x.shape(0) && a.shape(1) == classes && finite(a)));
        const auto& b = foa.predict_and_adapt(x);
        CHECK((b.shape(1) == classes && finite(b)));
        const auto& c = t3a.predict_and_adapt(x);
        CHECK((c.shape(1) == classes && finite(c)));
        CHECK(finite(bn.predict_and_adapt(x)));
        CHECK(rt::max_diff(none.predict_and_adapt(x), m.predict(x)) == 0.0f);
    }
    CHECK(zoa.stats().forwards == 6);  // two forward passes per batch
    // BN-adapt = the model with batch-statistics BatchNorm
    zoa::adapt::forward_request bs;
    bs.batch_statistics = true;
    zoa::adapt::forward_result r;
    m.forward_adapt(x, bs, r);
    CHECK(rt::max_diff(bn.predict_and_adapt(x), r.logits) == 0.0f);
    // T3A's classifier: classify(features) reproduces the logits of the forward
    xt::xtensor<float, 2> f4 = xt::xtensor<float, 2>::from_shape({x.shape(0), m.config().stage_channels(3)});
    for (std::size_t i = 0; i < x.shape(0); ++i)
        for (std::size_t d = 0; d < f4.shape(1); ++d) f4(i, d) = r.features(i, r.features.shape(1) - f4.shape(1) + d);
    xt::xtensor<float, 2> l;
    m.classify(f4, l);
    CHECK(rt::rel_diff(l, r.logits) <= 1e-5f);
    CHECK(m.classifier_weight().size() == classes * f4.shape(1));
}

}  // namespace

// Issue #16 item 18: the reference builds PromptResNet before obtain_origin_stat, so FOA-ResNet's source statistics
// are computed with the random (kaiming) prompt conv active and BatchNorm on batch statistics; zoa computed them
// prompt-free, which changed FOA-ResNet's whole trajectory.
TEST_CASE("resnet: FOA's source statistics are computed with its initial prompt conv active") {
    const rt::golden g("basic");
    const auto m = rt::fp_resnet::load(rt::model_path("basic"));
    const std::vector<rt::fp_resnet::batch_type> clean{g.images("calib.images")};
    zoa::adapt::foa_options fo;
    const auto prompt = zoa::adapt::foa_initial_prompt(m.layout(), fo);
    REQUIRE(prompt.size() == m.layout().prompt_unit);
    zoa::adapt::forward_request with;
    with.batch_statistics = true;
    with.prompt = prompt.data();
    with.prompt_size = prompt.size();
    zoa::adapt::forward_request without;
    without.batch_statistics = true;
    const auto foa = zoa::adapt::compute_foa_source_statistics(m, clean, fo);
    const auto expected = zoa::adapt::compute_source_statistics(m, clean, with);
    const auto prompt_free = zoa::adapt::compute_source_statistics(m, clean, without);
    CHECK(foa.mean == expected.mean);
    CHECK(foa.std == expected.std);
    CHECK(foa.mean != prompt_free.mean);
    // the adapter starts from the same prompt (its first "previous best" and CMA-ES mean)
    zoa::adapt::foa_adapter<rt::fp_resnet> adapter(m, fo, foa);
    CHECK(adapter.best_prompt() == prompt);
}

TEST_CASE("resnet under the adapters (fp32 and W8A8): shapes, finiteness, BN-adapt, T3A classifier") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        const auto fp = rt::fp_resnet::load(rt::model_path(name));
        run_adapters(fp, g);
        zoa::models::calibration_options opt;
        opt.batch_size = 4;
        const auto q = rt::w8_resnet::calibrate(fp, g.images("calib.images"), opt);
        run_adapters(q, g);
    }
}

TEST_CASE("resnet: zoa_options::paper<resnet<P>>() takes the family and bit-width from the model type") {
    using zoa::adapt::model_family;
    using zoa::adapt::zoa_options;
    using q8 = zoa::models::resnet<zoa::mqbench<zoa::w8a8>>;
    static_assert(q8::family == model_family::resnet);
    const zoa_options a = zoa_options::paper<q8>(), b = zoa_options::paper(model_family::resnet, 8);
    CHECK(a.lr == b.lr);
    CHECK(a.lambda == b.lambda);
    CHECK(a.domain_t == b.domain_t);
    CHECK(zoa_options::paper<zoa::models::resnet<zoa::policy<zoa::fp32>>>().lambda == 1.0f);
}
