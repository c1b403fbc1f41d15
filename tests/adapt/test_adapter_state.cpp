// zoa — every adapter's state survives a safetensors round trip and the restored adapter continues bitwise
// (what `zoa stream --checkpoint/--resume` relies on): NoAdapt, T3A, FOA (CMA-ES), ZOA with and without the bank
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "toy_model.hpp"
#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/state_io.hpp"
#include "zoa/adapt/zoa_adapter.hpp"

namespace {

/// A 24-batch stream with a domain shift after batch 10.
std::vector<toy::batch> stream_batches() {
    toy::stream s(8, 4);
    zoa::rng r(77);
    std::vector<toy::batch> out;
    std::vector<int> y;
    for (int i = 0; i < 24; ++i) out.push_back(s.make(32, y, r, 0.5f, std::vector<float>(8, i < 10 ? 0.2f : 2.5f)));
    return out;
}

zoa::adapt::source_statistics clean_stats(const toy::model& m) {
    toy::stream s(8, 4);
    zoa::rng r(5);
    std::vector<toy::batch> batches;
    std::vector<int> y;
    for (int i = 0; i < 4; ++i) batches.push_back(s.make(64, y, r, 0.5f, {}));
    return zoa::adapt::compute_source_statistics(m, batches);
}

/// Runs `a` over the first k batches, checkpoints it through a safetensors image (write, then read back), restores a
/// fresh adapter `b` from it, runs both over the rest: every later output and the final counters must agree bitwise.
template <class Adapter, class Write, class Read>
void check_resume(Adapter& a, Adapter& b, std::size_t k, Write write, Read read) {
    const auto batches = stream_batches();
    for (std::size_t i = 0; i < k; ++i) a.predict_and_adapt(batches[i]);
    zoa::io::safetensors_writer w;
    write(w, a.snapshot());
    const auto f = zoa::io::safetensors_file::from_bytes("checkpoint.safetensors", w.to_bytes());
    b.restore(read(f));
    for (std::size_t i = k; i < batches.size(); ++i) {
        const xt::xtensor<float, 2> ya = a.predict_and_adapt(batches[i]);
        const xt::xtensor<float, 2>& yb = b.predict_and_adapt(batches[i]);
        REQUIRE(ya == yb);
    }
    CHECK(a.stats().batches == b.stats().batches);
    CHECK(a.stats().forwards == b.stats().forwards);
    CHECK(a.stats().domain_shifts == b.stats().domain_shifts);
    CHECK(a.stats().skipped_updates == b.stats().skipped_updates);
    CHECK(a.stats().bank_size == b.stats().bank_size);
}

}  // namespace

TEST_CASE("NoAdapt's counters round-trip") {
    toy::model m;
    zoa::adapt::no_adapt<toy::model> a(m), b(m);
    check_resume(
        a, b, 5, [](auto& w, const auto& s) { zoa::adapt::write_adapter_stats(w, s, "none."); },
        [](const auto& f) { return zoa::adapt::read_adapter_stats(f, "none."); });
    CHECK(b.stats().batches == 24);
}

TEST_CASE("T3A's supports round-trip and the restored adapter continues bitwise") {
    toy::model m;
    zoa::adapt::t3a_adapter<toy::model> a(m, {5}), b(m, {5});
    using state = zoa::adapt::t3a_adapter<toy::model>::state;
    check_resume(
        a, b, 7, [](auto& w, const state& s) { zoa::adapt::write_t3a_state(w, s, "t3a_method."); },
        [](const auto& f) {
            state s;
            zoa::adapt::read_t3a_state(f, s, "t3a_method.");
            return s;
        });
    // a state of another class count is refused, the adapter is unchanged
    auto s = a.snapshot();
    s.supports.counts.pop_back();
    CHECK_THROWS_AS(b.restore(s), zoa::error);
    CHECK(b.snapshot().supports.rows == a.snapshot().supports.rows);
}

TEST_CASE("FOA's CMA-ES state round-trips and the restored adapter continues bitwise") {
    toy::model m;
    const auto src = clean_stats(m);
    zoa::adapt::foa_options o;
    o.num_prompts = 1;
    o.popsize = 9;
    for (std::size_t k : {0, 1, 12}) {  // before the first generation, after one, after the eigen decompositions start
        CAPTURE(k);
        zoa::adapt::foa_adapter<toy::model> a(m, o, src), b(m, o, src);
        check_resume(
            a, b, k, [](auto& w, const auto& s) { zoa::adapt::write_foa_state(w, s, "foa."); },
            [](const auto& f) { return zoa::adapt::read_foa_state(f, "foa."); });
        CHECK(a.best_prompt() == b.best_prompt());
    }
    // wrong prompt size
    zoa::adapt::foa_adapter<toy::model> a(m, o, src);
    auto s = a.snapshot();
    s.best_prompt.push_back(0.0f);
    CHECK_THROWS_AS(a.restore(s), zoa::error);
    s = a.snapshot();
    s.es.c.pop_back();
    CHECK_THROWS_AS(a.restore(s), zoa::error);
}

TEST_CASE("ZOA (bank and no bank) round-trips through write/read_zoa_state with a prefix") {
    toy::model m;
    const auto src = clean_stats(m);
    zoa::adapt::zoa_options o;
    o.lr = 0.02f;
    o.lambda = 1.0f;
    o.min_detect_batch = 32;
    o.domain_t = 0.5f;
    const auto write = [](auto& w, const auto& s) { zoa::adapt::write_zoa_state(w, s, "zoa."); };
    const auto read = [](const auto& f) { return zoa::adapt::read_zoa_state(f, "zoa."); };
    {
        zoa::adapt::zoa_adapter<toy::model> a(m, o, src), b(m, o, src);
        check_resume(a, b, 13, write, read);
        CHECK(a.stats().domain_shifts >= 1);
    }
    {
        using nobank = zoa::policy<zoa::bank::no_bank>;
        zoa::adapt::zoa_adapter<toy::model, nobank> a(m, o, src), b(m, o, src);
        check_resume(a, b, 13, write, read);
    }
}

TEST_CASE("source statistics round-trip under a prefix") {
    toy::model m;
    const auto src = clean_stats(m);
    zoa::io::safetensors_writer w;
    zoa::adapt::write_source_statistics(w, src, "source.");
    const auto f = zoa::io::safetensors_file::from_bytes("c.safetensors", w.to_bytes());
    const auto back = zoa::adapt::read_source_statistics(f, "source.");
    CHECK(back.mean == src.mean);
    CHECK(back.std == src.std);
    CHECK(back.groups == src.groups);
}
