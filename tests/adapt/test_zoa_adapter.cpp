// zoa — tests for the ZOA adapter on a tiny network: pass counts, reset, snapshots, edge cases, and that it adapts
#include <doctest/doctest.h>

#include "toy_model.hpp"
#include "zoa/adapt/zoa_adapter.hpp"

#include <cmath>
#include <vector>

namespace {

// Nearest-class-mean head on clean h2 features: W_c = m_c, b_c = −½‖m_c‖².
void fit_head(toy::model& m, const toy::stream& s) {
    zoa::rng r(99);
    std::vector<int> y;
    const auto x = s.make(512, y, r, 0.5f, {});
    zoa::adapt::forward_result out;
    m.forward_adapt(x, {}, out);
    std::vector<double> sum(m.C * m.D, 0.0), cnt(m.C, 0.0);
    for (std::size_t b = 0; b < x.shape(0); ++b) {
        cnt[std::size_t(y[b])] += 1;
        for (std::size_t d = 0; d < m.D; ++d) sum[std::size_t(y[b]) * m.D + d] += out.features(b, m.D + d);
    }
    for (std::size_t c = 0; c < m.C; ++c) {
        double n2 = 0;
        for (std::size_t d = 0; d < m.D; ++d) {
            const double v = sum[c * m.D + d] / cnt[c];
            m.Wh[c * m.D + d] = static_cast<float>(v);
            n2 += v * v;
        }
        m.bh[c] = static_cast<float>(-0.5 * n2);
    }
}

zoa::adapt::source_statistics source_stats(const toy::model& m, const toy::stream& s) {
    zoa::rng r(123);
    zoa::adapt::statistics_accumulator acc;
    for (int i = 0; i < 8; ++i) {
        std::vector<int> y;
        zoa::adapt::forward_result out;
        m.forward_adapt(s.make(64, y, r, 0.5f, {}), {}, out);
        acc.add(out.features);
    }
    return acc.finish(m.layout().feature_groups);
}

double accuracy(const xt::xtensor<float, 2>& logits, const std::vector<int>& y) {
    int ok = 0;
    for (std::size_t b = 0; b < logits.shape(0); ++b) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(b, c) > logits(b, best)) best = c;
        ok += int(best) == y[b];
    }
    return double(ok) / double(y.size());
}

struct setup {
    toy::model model;
    toy::stream data{8, 4};
    zoa::adapt::source_statistics src;
    setup() {
        fit_head(model, data);
        src = source_stats(model, data);
    }
};

zoa::adapt::zoa_options toy_options() {
    zoa::adapt::zoa_options o;
    o.lr = 0.02f;
    o.spsa_c = 0.02f;
    o.lambda = 1.0f;
    o.min_detect_batch = 32;
    o.domain_t = 0.5f;
    return o;
}

bool same(const std::vector<float>& a, const std::vector<float>& b) { return a == b; }

}  // namespace

TEST_CASE("ZOA runs exactly two forward passes per batch by default") {
    setup s;
    zoa::adapt::zoa_adapter<toy::model> zoa(s.model, toy_options(), s.src);
    zoa::rng r(1);
    for (int i = 0; i < 5; ++i) {
        std::vector<int> y;
        const std::size_t before = s.model.forwards;
        zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, {}));
        CHECK(s.model.forwards - before == 2);
        CHECK(zoa.stats().last_forwards == 2);
    }
    CHECK(zoa.stats().forwards == 10);
}

TEST_CASE("ZOA asks ResNets for batch-statistics BatchNorm in every pass, ViTs not") {
    for (auto family : {zoa::adapt::model_family::vit, zoa::adapt::model_family::resnet}) {
        setup s;
        s.model.family = family;
        zoa::adapt::zoa_adapter<toy::model> zoa(s.model, toy_options(), s.src);
        zoa::rng r(1);
        std::vector<int> y;
        zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, {}));
        CHECK(s.model.last_batch_statistics == (family == zoa::adapt::model_family::resnet));
    }
}

TEST_CASE("forward passes follow 1 + steps*sp_avg + (steps-1)") {
    setup s;
    auto o = toy_options();
    o.steps = 3;
    o.sp_avg = 2;
    zoa::adapt::zoa_adapter<toy::model> zoa(s.model, o, s.src);
    zoa::rng r(1);
    std::vector<int> y;
    zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, {}));
    CHECK(zoa.stats().last_forwards == 1 + 3 * 2 + 2);
}

TEST_CASE("reset returns a state bitwise equal to a fresh adapter") {
    setup s;
    using policy = zoa::policy<zoa::bank::fused_bank<4>>;
    zoa::adapt::zoa_adapter<toy::model, policy> used(s.model, toy_options(), s.src);
    zoa::adapt::zoa_adapter<toy::model, policy> fresh(s.model, toy_options(), s.src);
    zoa::rng r(2);
    for (int i = 0; i < 20; ++i) {
        std::vector<int> y;
        used.predict_and_adapt(s.data.make(32, y, r, 0.5f, i < 10 ? std::vector<float>{} : std::vector<float>(8, 3.0f)));
    }
    CHECK(used.stats().domain_shifts >= 1);
    used.reset();
    const auto a = used.snapshot(), b = fresh.snapshot();
    CHECK(same(a.alpha, b.alpha));
    CHECK(same(a.deltas, b.deltas));
    CHECK(same(a.epsilon, b.epsilon));
    CHECK(same(a.similarity, b.similarity));
    CHECK(same(a.hist, b.hist));
    CHECK(same(a.domain_mean, b.domain_mean));
    CHECK(a.stats.batches == b.stats.batches);
    zoa::rng r1(5), r2(5);
    std::vector<int> y;
    const auto la = used.predict_and_adapt(s.data.make(32, y, r1, 0.5f, {}));
    const auto lb = fresh.predict_and_adapt(s.data.make(32, y, r2, 0.5f, {}));
    CHECK(la == lb);
    CHECK(same(used.effective_parameters(), fresh.effective_parameters()));
}

TEST_CASE("snapshot and restore round-trip bitwise and continue identically") {
    setup s;
    zoa::adapt::zoa_adapter<toy::model> a(s.model, toy_options(), s.src);
    zoa::rng r(3);
    std::vector<int> y;
    for (int i = 0; i < 6; ++i) a.predict_and_adapt(s.data.make(32, y, r, 0.5f, std::vector<float>(8, 0.5f * float(i))));
    const auto snap = a.snapshot();
    zoa::adapt::zoa_adapter<toy::model> b(s.model, toy_options(), s.src);
    b.restore(snap);
    CHECK(same(b.effective_parameters(), a.effective_parameters()));
    zoa::rng r1(9), r2(9);
    const auto la = a.predict_and_adapt(s.data.make(32, y, r1, 0.5f, {}));
    const auto lb = b.predict_and_adapt(s.data.make(32, y, r2, 0.5f, {}));
    CHECK(la == lb);
}

TEST_CASE("a batch of one and constant inputs give finite predictions and updates") {
    setup s;
    zoa::adapt::zoa_adapter<toy::model> zoa(s.model, toy_options(), s.src);
    zoa::rng r(4);
    std::vector<int> y;
    for (int i = 0; i < 3; ++i) {
        const auto& l = zoa.predict_and_adapt(s.data.make(1, y, r, 0.5f, {}));
        for (float v : l) CHECK(std::isfinite(v));
    }
    xt::xtensor<float, 2> constant = xt::xtensor<float, 2>::from_shape({4, 8});
    constant.fill(0.25f);
    const auto& l = zoa.predict_and_adapt(constant);
    for (float v : l) CHECK(std::isfinite(v));
    for (float v : zoa.effective_parameters()) CHECK(std::isfinite(v));
    CHECK(zoa.stats().skipped_updates == 0);
}

TEST_CASE("a non-finite batch skips the update, keeps the state and is counted") {
    setup s;
    zoa::adapt::zoa_adapter<toy::model> zoa(s.model, toy_options(), s.src);
    zoa::rng r(6);
    std::vector<int> y;
    zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, {}));
    const auto before = zoa.snapshot();
    auto bad = s.data.make(32, y, r, 0.5f, {});
    bad(3, 2) = NAN;
    zoa.predict_and_adapt(bad);
    CHECK(zoa.stats().skipped_updates == 1);
    CHECK(same(zoa.snapshot().epsilon, before.epsilon));
    CHECK(same(zoa.snapshot().hist, before.hist));
    const auto& l = zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, {}));  // recovers
    for (float v : l) CHECK(std::isfinite(v));
}

TEST_CASE("missing or mismatched source statistics are clear errors") {
    setup s;
    CHECK_THROWS_WITH_AS(zoa::adapt::zoa_adapter<toy::model>(s.model, toy_options(), {}),
                         "zoa: argument: zoa_adapter: source statistics are required (compute them on clean source "
                         "images first)",
                         zoa::error);
    auto bad = s.src;
    bad.groups = {32};
    CHECK_THROWS_AS(zoa::adapt::zoa_adapter<toy::model>(s.model, toy_options(), bad), zoa::error);
    auto o = toy_options();
    o.spsa_c = 0.0f;
    CHECK_THROWS_AS(zoa::adapt::zoa_adapter<toy::model>(s.model, o, s.src), zoa::error);
}

TEST_CASE("the bank policy decides what a detected shift does") {
    setup s;
    auto run = [&](auto policy_tag) {
        using P = decltype(policy_tag);
        zoa::adapt::zoa_adapter<toy::model, P> zoa(s.model, toy_options(), s.src);
        zoa::rng r(10);
        std::vector<int> y;
        for (int i = 0; i < 24; ++i)
            zoa.predict_and_adapt(s.data.make(32, y, r, 0.5f, std::vector<float>(8, i < 8 ? 0.0f : i < 16 ? 3.0f : -3.0f)));
        return zoa.stats();
    };
    const auto bank = run(zoa::policy<zoa::bank::fused_bank<8>>{});
    const auto none = run(zoa::policy<zoa::bank::no_bank>{});
    const auto reset = run(zoa::policy<zoa::bank::reset_on_shift>{});
    CHECK(bank.domain_shifts >= 2);
    CHECK(bank.bank_size == bank.domain_shifts);
    CHECK(none.bank_size == 0);
    CHECK(reset.bank_size == 0);
    CHECK(none.domain_shifts >= 2);
}

TEST_CASE("ZOA lowers the loss and beats no adaptation on a shifted stream") {
    setup s;
    auto o = toy_options();
    zoa::adapt::zoa_adapter<toy::model> zoa(s.model, o, s.src);
    const std::vector<float> offset{1.5f, -1.0f, 2.0f, 0.5f, -1.5f, 1.0f, 0.0f, 2.0f};
    zoa::rng r(21);
    double acc_zoa = 0, acc_none = 0, first_loss = 0, last_loss = 0;
    const int batches = 150;
    for (int i = 0; i < batches; ++i) {
        std::vector<int> y;
        const auto x = s.data.make(64, y, r, 0.5f, offset);
        zoa::adapt::forward_result plain;
        s.model.forward_adapt(x, {}, plain);
        const auto& l = zoa.predict_and_adapt(x);
        if (i >= batches / 2) {
            acc_zoa += accuracy(l, y);
            acc_none += accuracy(plain.logits, y);
        }
        if (i < 10) first_loss += zoa.stats().last_loss.total;
        if (i >= batches - 10) last_loss += zoa.stats().last_loss.total;
    }
    acc_zoa /= batches / 2;
    acc_none /= batches / 2;
    MESSAGE("second-half accuracy: ZOA " << acc_zoa << " vs no adaptation " << acc_none << "; loss first 10 batches "
                                         << first_loss / 10 << " → last 10 " << last_loss / 10);
    CHECK(last_loss < 0.8 * first_loss);
    CHECK(acc_zoa >= acc_none + 0.03);
}

#include "zoa/adapt/state_io.hpp"

#include <cstdio>

TEST_CASE("adapter state and source statistics round-trip through safetensors bitwise") {
    setup s;
    using policy = zoa::policy<zoa::bank::fused_bank<4>>;
    zoa::adapt::zoa_adapter<toy::model, policy> a(s.model, toy_options(), s.src);
    zoa::rng r(31);
    std::vector<int> y;
    for (int i = 0; i < 16; ++i)
        a.predict_and_adapt(s.data.make(32, y, r, 0.5f, std::vector<float>(8, i < 8 ? 0.0f : 3.0f)));
    REQUIRE(a.stats().bank_size >= 1);
    const std::string state_path = "zoa_test_state.safetensors", stats_path = "zoa_test_stats.safetensors";
    zoa::adapt::save_zoa_state(a.snapshot(), state_path);
    zoa::adapt::zoa_adapter<toy::model, policy> b(s.model, toy_options(), s.src);
    b.restore(zoa::adapt::load_zoa_state(state_path));
    const auto sa = a.snapshot(), sb = b.snapshot();
    CHECK(sa.alpha == sb.alpha);
    CHECK(sa.deltas == sb.deltas);
    CHECK(sa.epsilon == sb.epsilon);
    CHECK(sa.similarity == sb.similarity);
    CHECK(sa.hist == sb.hist);
    CHECK(sa.domain_var == sb.domain_var);
    CHECK(sb.stats.batches == 16);

    auto src = s.src;
    src.provenance = {{"model.sha256", "abc"}, {"precision", "w6a6"}, {"images", "512"}};
    zoa::adapt::save_source_statistics(src, stats_path);
    const auto back = zoa::adapt::load_source_statistics(stats_path);
    CHECK(back.mean == src.mean);
    CHECK(back.std == src.std);
    CHECK(back.groups == src.groups);
    CHECK(back.provenance == src.provenance);
    CHECK_NOTHROW(zoa::adapt::check_provenance(back, {{"precision", "w6a6"}}));
    CHECK_THROWS_WITH_AS(zoa::adapt::check_provenance(back, {{"precision", "w8a8"}}),
                         "zoa: argument: source statistics were computed for precision = 'w6a6', but the model has 'w8a8'",
                         zoa::error);
    CHECK_THROWS_AS(zoa::adapt::load_zoa_state(stats_path), zoa::error);  // wrong kind of file
    // a state from another layout is rejected by restore
    auto wrong = sa;
    wrong.epsilon.pop_back();
    CHECK_THROWS_AS(b.restore(wrong), zoa::error);
    std::remove(state_path.c_str());
    std::remove(stats_path.c_str());
}
