// zoa — hostile and degenerate inputs to models and adapters: NaN/Inf weights, constant images, a batch of one,
// NaN batches mid-stream, mismatched source statistics, thread counts of 0 and above the core count
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "reliability_util.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/state_io.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/execution.hpp"

namespace {

const rel::vit32& vit() {
    static const rel::vit32 m = rel::vit32::load(rel::vit_file());
    return m;
}
const rel::resnet32& resnet() {
    static const rel::resnet32 m = rel::resnet32::load(rel::resnet_file());
    return m;
}

template <class Model>
zoa::adapt::source_statistics source_of(const Model& m, std::size_t hw, bool batch_stats) {
    zoa::adapt::forward_request req;
    req.batch_statistics = batch_stats;
    const std::vector<rel::batch4> clean{rel::batch(8, 3, hw, hw, 11), rel::batch(8, 3, hw, hw, 12)};
    return zoa::adapt::compute_source_statistics(m, clean, req);
}

constexpr float nan_v = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_v = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("NaN or Inf weights are refused at load time, naming the file, tensor and element") {
    for (float bad : {nan_v, inf_v, -inf_v}) {
        CAPTURE(bad);
        const auto vf = rel::with_value(rel::vit_file(), "blocks.2.mlp.fc1.weight", 17, bad);
        const std::string ve = rel::error_of([&] { (void)rel::vit32(zoa::models::load_vit_weights(vf)); });
        CHECK(rel::contains(ve, "blocks.2.mlp.fc1.weight"));
        CHECK(rel::contains(ve, "element 17"));
        CHECK(rel::contains(ve, "finite"));
        const auto rf = rel::with_value(rel::resnet_file(), "layer1.0.bn1.running_var", 2, bad);
        const std::string re = rel::error_of([&] { (void)rel::resnet32::from_file(rf); });
        CHECK(rel::contains(re, "layer1.0.bn1.running_var"));
        CHECK(rel::contains(re, "element 2"));
    }
}

TEST_CASE("constant (zero-variance) images give finite logits and finite ZOA updates, ViT and ResNet") {
    for (float level : {0.0f, 1.0f, -3.0f}) {
        CAPTURE(level);
        rel::batch4 flat = rel::batch4::from_shape({4, 3, 16, 16});
        flat.fill(level);
        CHECK(rel::all_finite(vit().predict(flat)));
        CHECK(rel::all_finite(resnet().predict(flat)));
        zoa::adapt::zoa_adapter<rel::vit32> za(
            vit(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32), source_of(vit(), 16, false));
        zoa::adapt::zoa_adapter<rel::resnet32> zr(
            resnet(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::resnet, 32),
            source_of(resnet(), 16, true));
        for (int step = 0; step < 2; ++step) {
            CHECK(rel::all_finite(za.predict_and_adapt(flat)));
            CHECK(rel::all_finite(zr.predict_and_adapt(flat)));
        }
        for (float v : za.effective_parameters()) CHECK(std::isfinite(v));
        for (float v : zr.effective_parameters()) CHECK(std::isfinite(v));
    }
}

TEST_CASE("a batch of one image: ZOA and FOA give finite predictions on the ViT and the ResNet") {
    const rel::batch4 one = rel::batch(1, 3, 16, 16, 5);
    zoa::adapt::zoa_adapter<rel::vit32> za(vit(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32),
                                           source_of(vit(), 16, false));
    zoa::adapt::zoa_adapter<rel::resnet32> zr(
        resnet(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::resnet, 32), source_of(resnet(), 16, true));
    zoa::adapt::foa_options fo;
    fo.popsize = 4;
    zoa::adapt::foa_adapter<rel::vit32> fa(vit(), fo, source_of(vit(), 16, false));
    for (int step = 0; step < 3; ++step) {
        CAPTURE(step);
        const auto& a = za.predict_and_adapt(one);
        CHECK((a.shape(0) == 1 && rel::all_finite(a)));
        const auto& r = zr.predict_and_adapt(one);
        CHECK((r.shape(0) == 1 && rel::all_finite(r)));
        CHECK(rel::all_finite(fa.predict_and_adapt(one)));
    }
    CHECK(za.stats().skipped_updates == 0);
    CHECK(zr.stats().skipped_updates == 0);
}

namespace {
bool same_state(const zoa::adapt::zoa_state& a, const zoa::adapt::zoa_state& b) {
    return a.identity == b.identity && a.alpha == b.alpha && a.deltas == b.deltas && a.epsilon == b.epsilon &&
           a.similarity == b.similarity && a.sgd_buffer == b.sgd_buffer && a.hist == b.hist &&
           a.domain_mean == b.domain_mean && a.domain_var == b.domain_var && a.stats.batches == b.stats.batches &&
           a.stats.forwards == b.stats.forwards && a.stats.skipped_updates == b.stats.skipped_updates &&
           a.stats.domain_shifts == b.stats.domain_shifts;
}
}  // namespace

// Issue #16 item 14: a batch refused with an error (a NaN or Inf pixel, a wrong shape) used to advance the batch
// counter, which seeds the perturbations, so the rest of the stream differed from a run without that batch.
TEST_CASE("a refused batch (NaN/Inf pixel, wrong shape) changes nothing: the stream continues as without it") {
    const rel::batch4 a = rel::batch(4, 3, 16, 16, 21), b = rel::batch(4, 3, 16, 16, 22);
    rel::batch4 nan_batch = a, inf_batch = a;
    nan_batch(2, 1, 3, 4) = nan_v;
    inf_batch(1, 0, 0, 5) = inf_v;
    const rel::batch4 wrong = rel::batch(4, 2, 16, 16, 23);  // 2 channels
    const auto sv = source_of(vit(), 16, false), sr = source_of(resnet(), 16, true);
    const auto ov = zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32);
    const auto orr = zoa::adapt::zoa_options::paper(zoa::adapt::model_family::resnet, 32);

    // the message names the element and says nan or inf (an inf pixel used to be reported as NaN)
    CHECK(rel::contains(rel::error_of([&] { (void)vit().predict(inf_batch); }),
                        "vit: input element 773 (image 1, channel 0, row 0, column 5) is inf; inputs must be finite"));
    CHECK(rel::contains(rel::error_of([&] { (void)resnet().predict(nan_batch); }),
                        "resnet: input element 1844 (image 2, channel 1, row 3, column 4) is nan"));

    zoa::adapt::zoa_adapter<rel::vit32> za(vit(), ov, sv), za_ref(vit(), ov, sv);
    zoa::adapt::zoa_adapter<rel::resnet32> zr(resnet(), orr, sr), zr_ref(resnet(), orr, sr);
    zoa::adapt::foa_options fo;
    fo.popsize = 4;
    zoa::adapt::foa_adapter<rel::vit32> fa(vit(), fo, sv), fa_ref(vit(), fo, sv);
    za.predict_and_adapt(a), za_ref.predict_and_adapt(a);
    zr.predict_and_adapt(a), zr_ref.predict_and_adapt(a);
    fa.predict_and_adapt(a), fa_ref.predict_and_adapt(a);
    const auto before_a = za.snapshot(), before_r = zr.snapshot();
    const auto foa_stats = fa.stats();
    const auto foa_prompt = fa.best_prompt();
    for (const rel::batch4* bad : std::vector<const rel::batch4*>{&nan_batch, &inf_batch, &wrong}) {
        CHECK_THROWS_AS(za.predict_and_adapt(*bad), zoa::error);
        CHECK_THROWS_AS(zr.predict_and_adapt(*bad), zoa::error);
        CHECK_THROWS_AS(fa.predict_and_adapt(*bad), zoa::error);
    }
    CHECK(same_state(za.snapshot(), before_a));
    CHECK(same_state(zr.snapshot(), before_r));
    CHECK(fa.stats().batches == foa_stats.batches);
    CHECK(fa.stats().forwards == foa_stats.forwards);
    CHECK(fa.best_prompt() == foa_prompt);
    for (int step = 0; step < 2; ++step) {  // bit-identical to the runs that never saw the refused batches
        CHECK(za.predict_and_adapt(b) == za_ref.predict_and_adapt(b));
        CHECK(zr.predict_and_adapt(b) == zr_ref.predict_and_adapt(b));
        CHECK(fa.predict_and_adapt(b) == fa_ref.predict_and_adapt(b));
    }
    CHECK(same_state(za.snapshot(), za_ref.snapshot()));
    CHECK(fa.best_prompt() == fa_ref.best_prompt());
}

TEST_CASE("mismatched source statistics are refused: other model, wrong groups, NaN or negative std in a file") {
    const auto sv = source_of(vit(), 16, false), sr = source_of(resnet(), 16, true);
    const auto opt = zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32);
    const std::string e1 = rel::error_of([&] { zoa::adapt::zoa_adapter<rel::vit32> z(vit(), opt, sr); });
    CHECK(rel::contains(e1, "source statistics have"));
    zoa::adapt::source_statistics empty;
    CHECK(rel::contains(rel::error_of([&] { zoa::adapt::zoa_adapter<rel::vit32> z(vit(), opt, empty); }),
                        "source statistics are required"));
    CHECK_THROWS_AS((zoa::adapt::foa_adapter<rel::vit32>(vit(), zoa::adapt::foa_options{}, sr)), zoa::error);
    for (float bad : {nan_v, inf_v, -1.0f}) {
        CAPTURE(bad);
        zoa::io::safetensors_writer w;
        std::vector<float> std_v = sv.std;
        std_v[3] = bad;
        w.add("mean", {sv.mean.size()}, sv.mean);
        w.add("std", {std_v.size()}, std_v);
        const std::vector<std::int64_t> groups(sv.groups.begin(), sv.groups.end());
        w.add("groups", {groups.size()}, groups);
        w.set_metadata("zoa.kind", "source_statistics");
        const auto f = zoa::io::safetensors_file::from_bytes("stats.safetensors", w.to_bytes());
        const std::string e = rel::error_of([&] { (void)zoa::adapt::load_source_statistics(f); });
        CHECK(rel::contains(e, "stats.safetensors"));
        CHECK(rel::contains(e, "entry 3"));
    }
}

TEST_CASE("adapter state with a NaN or from another model is refused") {
    zoa::adapt::zoa_adapter<rel::vit32> za(vit(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32),
                                           source_of(vit(), 16, false));
    za.predict_and_adapt(rel::batch(4, 3, 16, 16, 31));
    auto s = za.snapshot();
    s.epsilon[5] = nan_v;
    zoa::io::safetensors_writer w;
    for (const auto& [name, v] : {std::pair<const char*, const std::vector<float>*>{"alpha", &s.alpha},
                                  {"deltas", &s.deltas}, {"epsilon", &s.epsilon}, {"similarity", &s.similarity},
                                  {"sgd_buffer", &s.sgd_buffer}, {"hist", &s.hist}, {"domain_mean", &s.domain_mean},
                                  {"domain_var", &s.domain_var}})
        w.add(name, {v->size()}, *v);
    w.add("counters", {4}, std::vector<std::int64_t>{1, 2, 0, 0});
    w.set_metadata("zoa.kind", "zoa_state");
    const auto no_identity = zoa::io::safetensors_file::from_bytes("state.safetensors", w.to_bytes());
    CHECK(rel::contains(rel::error_of([&] { (void)zoa::adapt::load_zoa_state(no_identity); }),
                        "state.safetensors: adapter state without metadata 'zoa.model_family'"));
    w.set_metadata("zoa.model_family", s.identity.family);
    w.set_metadata("zoa.precision", s.identity.precision);
    w.set_metadata("zoa.adapted_layout", s.identity.layout);
    w.set_metadata("zoa.weights_fingerprint", s.identity.fingerprint);
    const auto f = zoa::io::safetensors_file::from_bytes("state.safetensors", w.to_bytes());
    const std::string e = rel::error_of([&] { (void)zoa::adapt::load_zoa_state(f); });
    CHECK(rel::contains(e, "'epsilon' entry 5"));
    // a ResNet adapter's state does not fit the ViT adapter
    zoa::adapt::zoa_adapter<rel::resnet32> zr(
        resnet(), zoa::adapt::zoa_options::paper(zoa::adapt::model_family::resnet, 32), source_of(resnet(), 16, true));
    zr.predict_and_adapt(rel::batch(4, 3, 16, 16, 32));
    CHECK(rel::contains(rel::error_of([&] { za.restore(zr.snapshot()); }),
                        "the state belongs to a resnet model, this adapter's model is a vit"));
}

// Issue #16 item 13: a W6A6 state loaded into an fp32 adapter; a 5-dim domain_mean with an empty history was
// accepted and then every batch threw; a restore failing half-way had already replaced the bank; negative
// variances and alpha = 1e30 passed.
TEST_CASE("restore checks the model identity and every size and range first, then swaps (strong guarantee)") {
    auto opt = zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 32);
    opt.min_detect_batch = 4;  // domain statistics from batches of 4
    zoa::adapt::zoa_adapter<rel::vit32> za(vit(), opt, source_of(vit(), 16, false));
    for (std::uint64_t seed : {51, 52}) za.predict_and_adapt(rel::batch(4, 3, 16, 16, seed));
    const auto good = za.snapshot();
    REQUIRE(good.domain_var.size() == 32);
    REQUIRE(good.hist.size() == 32);
    CHECK(good.identity.precision == "fp32");
    CHECK(good.identity.fingerprint.size() == 16);
    const auto refused = [&](auto edit, const std::string& part) {
        auto s = good;
        edit(s);
        CHECK(rel::contains(rel::error_of([&] { za.restore(s); }), part));
        CHECK(same_state(za.snapshot(), good));  // nothing changed
    };
    refused([](auto& s) { s.identity.precision = "w6a6"; },
            "the state was adapted on a w6a6 model, this adapter's model is fp32");
    refused([](auto& s) { s.identity.fingerprint = "0123456789abcdef"; }, "(other weights)");
    refused([](auto& s) { s.identity.layout += ",x"; }, "adapted layout");
    refused([](auto& s) { s.identity = {}; }, "the state belongs to a <unnamed> model");
    refused([](auto& s) { s.domain_mean.assign(5, 0.0f), s.domain_var.assign(5, 1.0f), s.hist.clear(); },
            "domain statistics have 5 means and 5 variances, expected both 0 or both 32");
    refused([](auto& s) { s.domain_var[3] = -1.0f; }, "domain_var entry 3 is -1, expected a finite value in [0, ");
    refused([](auto& s) { s.alpha[0] = 1e30f; }, "alpha entry 0 is 1e+30, expected a finite value in [-10000, 10000]");
    refused([](auto& s) { s.similarity.assign(32 * 32, 0.0f), s.similarity[7] = 2.0f; }, "similarity entry 7 is 2");
    refused([](auto& s) { s.deltas[0] = 0.5f; }, "deltas row 0 (the source entry) has 0.5");
    refused([](auto& s) { s.hist.resize(3); }, "shift history has 3 dims");
    za.restore(good);  // and a valid state still restores
    CHECK(same_state(za.snapshot(), good));
}

TEST_CASE("thread counts: 0 is refused, more threads than cores give bit-identical results") {
    CHECK(rel::contains(rel::error_of([] { zoa::execution_context c(0); }), "thread count must be in 1..1024"));
    rel::vit32 v = rel::vit32::load(rel::vit_file());
    rel::resnet32 r = rel::resnet32::load(rel::resnet_file());
    CHECK_THROWS_AS(v.set_threads(0), zoa::error);
    CHECK_THROWS_AS(r.set_threads(0), zoa::error);
    const rel::batch4 x = rel::batch(5, 3, 16, 16, 41);
    const auto v1 = v.predict(x), r1 = r.predict(x);
    const std::size_t many = 4 * std::max(1u, std::thread::hardware_concurrency()) + 3;
    v.set_threads(many);
    r.set_threads(many);
    CHECK(v.predict(x) == v1);
    CHECK(r.predict(x) == r1);
}
