// zoa — tests for the PTQ4ViT scale search: grid, alternation, per-group argmax, SoS split search, zero-gradient
// guard, determinism across thread counts, and errors
#include <doctest/doctest.h>

#include "zoa/core/execution.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/quant/calib_modules.hpp"
#include "zoa/quant/ptq4vit_search.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace q = zoa::quant;

namespace {
std::vector<float> normals(std::size_t n, std::uint64_t stream, float scale = 1.0f) {
    zoa::rng r(7, stream);
    std::vector<float> v(n);
    for (float& x : v) x = r.normal() * scale;
    return v;
}

q::operand_spec uniform(q::granularity g, int bits, std::size_t blocks = 1) {
    q::operand_spec s;
    s.kind = q::quantizer_kind::uniform;
    s.gran = g;
    s.bits = bits;
    s.blocks = blocks;
    return s;
}

// qkv-like: 9 outputs in 3 row blocks of different magnitude, 16 inputs, 4 samples x 5 tokens.
q::linear_module qkv_like(int bits, std::vector<float> grad = {}) {
    std::vector<float> w = normals(9 * 16, 1, 0.5f);
    for (std::size_t i = 3 * 16; i < 6 * 16; ++i) w[i] *= 3.0f;
    return q::linear_module(w, normals(9, 2, 0.1f), 9, 16, normals(4 * 5 * 16, 3), 4, 5,
                            uniform(q::granularity::per_row_block, bits, 3), uniform(q::granularity::per_tensor, bits),
                            {}, std::move(grad));
}

q::function_module wrap(const q::linear_module& m, std::vector<q::module_params>* calls) {
    q::function_module f;
    f.sample_count = m.samples();
    f.per_sample = m.sample_size();
    f.raw.assign(m.raw_output(), m.raw_output() + m.samples() * m.sample_size());
    f.init = m.initial_params();
    f.layouts = {m.layout(0), m.layout(1)};
    f.forward_fn = [&m, calls](const q::module_params& p, float* out) {
        calls->push_back(p);
        m.forward(p, out);
    };
    return f;
}
}  // namespace

TEST_CASE("candidate grid: eq_alpha + i (eq_beta - eq_alpha) / eq_n for i < eq_n only, 3 alternating rounds") {
    q::search_options o;
    o.metric = q::search_metric::l2;
    CHECK(q::candidate_ratio(o, 0) == 0.01f);
    CHECK(q::candidate_ratio(o, 99) == static_cast<float>(0.01 + 99 * (1.2 - 0.01) / 100));
    const q::linear_module m = qkv_like(6);
    std::vector<q::module_params> calls;
    const q::function_module f = wrap(m, &calls);
    const q::search_result r = q::ptq4vit_search(f, o);
    REQUIRE(calls.size() == 3u * (100u + 100u));
    const q::module_params init = m.initial_params();
    float max_ratio = 0.0f;
    for (const auto& c : calls)
        for (std::size_t k = 0; k < 2; ++k)
            for (std::size_t g = 0; g < c.operand[k].groups(); ++g)
                max_ratio = std::max(max_ratio, c.operand[k].scale[g] / init.operand[k].scale[g]);
    CHECK(max_ratio < 1.19f);  // the 1.2x candidate (i = eq_n) is never evaluated
    // round 1 searches the weights with the initial input scale, then the input with the new weights
    CHECK(calls[0].input() == init.input());
    CHECK(calls[100].weight().scale != init.weight().scale);
    CHECK(calls[99].input() == init.input());
    for (std::size_t g = 0; g < 3; ++g)
        CHECK(r.params.weight().scale[g] == q::candidate_ratio(o, r.chosen[0][g]) * init.weight().scale[g]);
    CHECK(r.params.input().scale[0] == q::candidate_ratio(o, r.chosen[1][0]) * init.input().scale[0]);
}

TEST_CASE("the weight argmax is taken independently per row block") {
    const q::linear_module m = qkv_like(4);
    q::search_options o;
    o.metric = q::search_metric::l2;
    o.search_round = 1;
    const q::search_result r = q::ptq4vit_search(m, o);
    const q::module_params init = m.initial_params();
    std::vector<float> out(m.samples() * m.sample_size());
    for (std::size_t g = 0; g < 3; ++g) {
        // vary ONLY block g; its outputs (features 3g..3g+2) do not depend on the other blocks
        int best = 0;
        double best_sim = -1e300;
        for (int i = 0; i < 100; ++i) {
            q::module_params p = init;
            p.weight().scale[g] = q::candidate_ratio(o, i) * init.weight().scale[g];
            m.forward(p, out.data());
            double sim = 0;
            for (std::size_t s = 0; s < m.samples(); ++s) {
                double acc = 0;
                for (std::size_t t = 0; t < 5; ++t)
                    for (std::size_t f = 3 * g; f < 3 * g + 3; ++f) {
                        const std::size_t k = s * 45 + t * 9 + f;
                        const double d = double(m.raw_output()[k]) - double(out[k]);
                        acc -= d * d;
                    }
                sim += acc / 15.0;
            }
            if (sim > best_sim) {
                best_sim = sim;
                best = i;
            }
        }
        CAPTURE(g);
        CHECK(r.chosen[0][g] == best);
    }
}

TEST_CASE("deterministic: identical parameters for repeated runs and any thread count") {
    const q::linear_module m = qkv_like(6, normals(4 * 5 * 9, 9, 1e-3f));
    for (q::search_metric metric : {q::search_metric::l2, q::search_metric::hessian, q::search_metric::cosine}) {
        q::search_options o;
        o.metric = metric;
        const q::search_result ref = q::ptq4vit_search(m, o);
        CHECK(q::ptq4vit_search(m, o).params == ref.params);
        for (std::size_t threads : {1u, 2u, 3u}) {
            zoa::execution_context ctx(threads);
            o.context = &ctx;
            const q::search_result r = q::ptq4vit_search(m, o);
            CAPTURE(threads);
            CHECK(r.params == ref.params);
            CHECK(r.chosen == ref.chosen);
        }
    }
}

TEST_CASE("zero-gradient guard (spec §6 item 15): Hessian falls back to L2 and is counted") {
    q::search_options l2;
    l2.metric = q::search_metric::l2;
    const q::search_result by_l2 = q::ptq4vit_search(qkv_like(6), l2);
    q::search_options h;  // default metric: hessian, guard on
    q::search_report report;
    const q::search_result zero = q::ptq4vit_search(qkv_like(6, std::vector<float>(180, 0.0f)), h);
    report.record("blocks.0.attn.qkv", zero);
    CHECK(zero.hessian_fallback);
    CHECK(zero.metric_used == q::search_metric::l2);
    CHECK(zero.params == by_l2.params);
    const q::search_result tiny = q::ptq4vit_search(qkv_like(6, std::vector<float>(180, 1e-13f)), h);
    report.record("blocks.1.attn.qkv", tiny);
    CHECK(tiny.hessian_fallback);
    const q::search_result real = q::ptq4vit_search(qkv_like(6, normals(180, 9, 1e-3f)), h);
    report.record("blocks.2.attn.qkv", real);
    CHECK_FALSE(real.hessian_fallback);
    CHECK(real.metric_used == q::search_metric::hessian);
    CHECK(report.modules == 3);
    CHECK(report.hessian_fallbacks == 2);
    CHECK(report.fallback_modules == std::vector<std::string>{"blocks.0.attn.qkv", "blocks.1.attn.qkv"});
    // guard off = the reference: every similarity ties at 0, argmax -> candidate 0 -> 0.01 x init
    h.zero_grad_guard = false;
    const q::linear_module m = qkv_like(6, std::vector<float>(180, 0.0f));
    const q::search_result ref = q::ptq4vit_search(m, h);
    CHECK_FALSE(ref.hessian_fallback);
    CHECK(ref.chosen[0] == std::vector<int>{0, 0, 0});
    CHECK(ref.chosen[1] == std::vector<int>{0});
    CHECK(ref.params.input().scale[0] == 0.01f * m.initial_params().input().scale[0]);
}

TEST_CASE("post-softmax split search: candidates 2^-i and B unquantized while searching the split") {
    const std::size_t S = 3, H = 2, M = 6, N = 4;
    std::vector<float> a = normals(S * H * M * M, 4, 3.0f);
    for (std::size_t r = 0; r < S * H * M; ++r) {  // softmax rows
        float mx = -1e30f, sum = 0;
        for (std::size_t j = 0; j < M; ++j) mx = std::max(mx, a[r * M + j]);
        for (std::size_t j = 0; j < M; ++j) sum += (a[r * M + j] = std::exp(a[r * M + j] - mx));
        for (std::size_t j = 0; j < M; ++j) a[r * M + j] /= sum;
    }
    q::operand_spec sos;
    sos.kind = q::quantizer_kind::post_softmax_twin;
    sos.bits = 4;
    const q::matmul_module m(a, normals(S * H * M * N, 5), S, H, M, M, N, sos, uniform(q::granularity::per_head, 4));
    std::vector<q::module_params> calls;
    q::function_module f;
    f.sample_count = m.samples();
    f.per_sample = m.sample_size();
    f.raw.assign(m.raw_output(), m.raw_output() + S * m.sample_size());
    f.init = m.initial_params();
    f.layouts = {m.layout(0), m.layout(1)};
    f.forward_fn = [&](const q::module_params& p, float* out) {
        calls.push_back(p);
        m.forward(p, out);
    };
    q::search_options o;
    o.metric = q::search_metric::l2;
    const q::search_result r = q::ptq4vit_search(f, o);
    REQUIRE(calls.size() == 3u * (20u + 100u));
    std::set<float> splits;
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(calls[i].b().kind == q::quantizer_kind::none);
        CHECK(calls[i].a().kind == q::quantizer_kind::post_softmax_twin);
        splits.insert(calls[i].a().split);
        CHECK(calls[i].a().split == std::ldexp(1.0f, -int(i)));
    }
    CHECK(splits.size() == 20);
    for (std::size_t i = 20; i < 120; ++i) {
        CHECK(calls[i].b().kind == q::quantizer_kind::uniform);
        CHECK(calls[i].a().split == calls[119].a().split);
    }
    CHECK(r.params.a().split == std::ldexp(1.0f, -r.chosen[0][0]));
    CHECK(r.params.a().scale[0] == q::post_softmax_low_scale(r.params.a().split, 4));
    CHECK(r.params.b().groups() == H);
    CHECK(r.chosen[1].size() == H);
}

TEST_CASE("post-GELU input: Δ+ starts from max(x) (no abs), Δ- stays fixed; unquantized inputs are skipped") {
    std::vector<float> x = normals(4 * 5 * 16, 6);
    for (float& v : x) v = v > 0 ? v : -3.0f * v * v;  // |min| > max
    float mx = 0;
    for (float v : x) mx = std::max(mx, v);
    q::operand_spec gelu;
    gelu.kind = q::quantizer_kind::post_gelu_twin;
    gelu.bits = 6;
    const q::linear_module m(normals(6 * 16, 7), {}, 6, 16, x, 4, 5, uniform(q::granularity::per_tensor, 6), gelu);
    CHECK(m.initial_params().input().scale[0] == mx / 31.5f);
    q::search_options o;
    o.metric = q::search_metric::cosine;
    const q::search_result r = q::ptq4vit_search(m, o);
    CHECK(r.params.input().kind == q::quantizer_kind::post_gelu_twin);
    CHECK(r.params.input().neg_scale == q::post_gelu_neg_scale(6));
    q::operand_spec none;
    none.kind = q::quantizer_kind::none;
    const q::linear_module patch(normals(6 * 16, 7), {}, 6, 16, x, 4, 5, uniform(q::granularity::per_channel, 8), none);
    std::vector<q::module_params> calls;
    const q::search_result pr = q::ptq4vit_search(wrap(patch, &calls), o);
    CHECK(calls.size() == 300u);
    CHECK(pr.params.input().kind == q::quantizer_kind::none);
    CHECK(pr.params.weight().groups() == 6);
}

TEST_CASE("errors: missing gradients, layout mismatch, bad options, bad module shapes") {
    const q::linear_module m = qkv_like(8);
    CHECK_THROWS_WITH_AS(q::ptq4vit_search(m),
                         "zoa: argument: ptq4vit_search: metric hessian needs cached output "
                         "gradients, module has none",
                         zoa::error);
    q::search_options o;
    o.metric = q::search_metric::l2;
    o.eq_n = 0;
    CHECK_THROWS_AS(q::ptq4vit_search(m, o), zoa::error);
    std::vector<q::module_params> calls;
    q::function_module f = wrap(m, &calls);
    f.layouts[1].features = 8;
    o.eq_n = 100;
    CHECK_THROWS_WITH_AS(q::ptq4vit_search(f, o),
                         "zoa: shape: ptq4vit_search: layout of operand 1 covers 40 elements "
                         "but the module outputs 45 per sample",
                         zoa::error);
    CHECK_THROWS_WITH_AS(q::linear_module({1, 2, 3}, {}, 2, 2, {1, 2}, 1, 1, uniform(q::granularity::per_tensor, 8),
                                          uniform(q::granularity::per_tensor, 8)),
                         "zoa: shape: linear_module: weight has 3 values, expected out·in = 4", zoa::error);
    CHECK_THROWS_AS(
        q::linear_module(std::vector<float>(12, 1.0f), {}, 4, 3, std::vector<float>(3, 1.0f), 1, 1,
                         uniform(q::granularity::per_row_block, 8, 3), uniform(q::granularity::per_tensor, 8)),
        zoa::error);  // 4 rows in 3 blocks
}

TEST_CASE("a plugged-in GEMM replaces the built-in loop in forward()") {
    q::linear_module m = qkv_like(8);
    std::vector<float> ref(m.samples() * m.sample_size()), out(ref.size());
    const q::module_params p = m.initial_params();
    m.forward(p, ref.data());
    std::size_t calls = 0;
    m.set_gemm([&calls](const float* a, const float* w, const float* bias, std::size_t rows, std::size_t cols,
                        std::size_t k, float* o) {
        ++calls;
        for (std::size_t t = 0; t < rows; ++t)
            for (std::size_t j = 0; j < cols; ++j) {
                double acc = bias != nullptr ? bias[j] : 0.0;
                for (std::size_t i = 0; i < k; ++i) acc += double(a[t * k + i]) * double(w[j * k + i]);
                o[t * cols + j] = static_cast<float>(acc);
            }
    });
    m.forward(p, out.data());
    CHECK(calls == m.samples());
    double worst = 0;
    for (std::size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(double(out[i]) - double(ref[i])));
    CHECK(worst < 1e-5);
}
