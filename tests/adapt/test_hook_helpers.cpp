// zoa — tests for the adaptation-hook helpers (norm_view, write_features, write_logits, write_embedding_stats,
// write_channel_stats) and zoa_options::paper<Model>()
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "zoa/adapt/hook_helpers.hpp"
#include "zoa/adapt/options.hpp"
#include "zoa/core/rng.hpp"

namespace za = zoa::adapt;

TEST_CASE("norm_view: each layer's requested weight and bias, or null for the layers' own") {
    std::vector<float> flat(2 * 3 + 2 * 5);
    for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = float(i);
    za::forward_request req;
    req.norm_params = flat.data();
    const za::norm_view v(req, {3, 5});
    CHECK(v.weight(0) == flat.data());
    CHECK(v.bias(0) == flat.data() + 3);
    CHECK(v.weight(1) == flat.data() + 6);
    CHECK(v.bias(1) == flat.data() + 11);
    CHECK_THROWS_WITH_AS(v.weight(2), "zoa: argument: norm_view: layer 2 of 2", zoa::error);
    const za::norm_view none(za::forward_request{}, {3, 5});
    CHECK(none.weight(1) == nullptr);
    CHECK(none.bias(0) == nullptr);
}

TEST_CASE("write_features packs groups side by side, with strides") {
    // group 0: 2 floats per sample, packed; group 1: 1 float per sample, every 3 floats (a token stride)
    const std::vector<float> g0 = {1, 2, 3, 4}, g1 = {10, -1, -1, 20, -1, -1};
    za::forward_result out;
    za::write_features(out, 2, {{g0.data(), 2}, {g1.data(), 1, 3}});
    REQUIRE(out.features.shape(0) == 2);
    REQUIRE(out.features.shape(1) == 3);
    CHECK(out.features(0, 0) == 1);
    CHECK(out.features(0, 1) == 2);
    CHECK(out.features(0, 2) == 10);
    CHECK(out.features(1, 0) == 3);
    CHECK(out.features(1, 2) == 20);
}

TEST_CASE("write_logits: head(last) and head(last + shift) only when a shift is requested") {
    // head: logits = [Σx, x0 − x1]
    const auto head = [](const float* x, std::size_t rows, float* y) {
        for (std::size_t r = 0; r < rows; ++r) {
            y[2 * r] = x[2 * r] + x[2 * r + 1];
            y[2 * r + 1] = x[2 * r] - x[2 * r + 1];
        }
    };
    const std::vector<float> last = {1, 2, 3, 5};
    za::forward_result out;
    za::write_logits(out, za::forward_request{}, last.data(), 2, 2, 2, head);
    CHECK(out.logits(1, 0) == 8);
    CHECK(out.logits(1, 1) == -2);
    CHECK(out.shifted_logits.size() == 0);
    const std::vector<float> shift = {0.5f, -1.0f};
    za::forward_request req;
    req.shift = shift.data();
    za::write_logits(out, req, last.data(), 2, 2, 2, head);
    CHECK(out.logits(0, 0) == 3);                   // unshifted: enters the loss
    CHECK(out.shifted_logits(0, 0) == 2.5f);        // [1 + 0.5, 2 − 1] → 1.5 + 1
    CHECK(out.shifted_logits(1, 1) == -0.5f);       // [3 + 0.5, 5 − 1] → 3.5 − 4
    CHECK(last == std::vector<float>{1, 2, 3, 5});  // the caller's buffer is left alone
}

TEST_CASE("write_embedding_stats / write_channel_stats: per-dim mean and unbiased variance, or cleared") {
    zoa::rng r(4);
    const std::size_t rows = 37, dim = 70;
    std::vector<float> e(rows * dim);
    for (float& v : e) v = 2.0f + r.normal();
    zoa::execution_context ctx(2);
    za::forward_result out;
    za::write_embedding_stats(out, za::forward_request{}, e.data(), rows, dim, ctx);
    REQUIRE(out.embed_mean.size() == dim);
    for (std::size_t d = 0; d < dim; ++d) {
        double m = 0, v = 0;
        for (std::size_t i = 0; i < rows; ++i) m += e[i * dim + d];
        m /= double(rows);
        for (std::size_t i = 0; i < rows; ++i) v += (e[i * dim + d] - m) * (e[i * dim + d] - m);
        CHECK(out.embed_mean[d] == doctest::Approx(m).epsilon(1e-6));
        CHECK(out.embed_var[d] == doctest::Approx(v / double(rows - 1)).epsilon(1e-5));
    }
    za::write_embedding_stats(out, za::forward_request{}, e.data(), 1, dim, ctx);  // one sample: var 0
    CHECK(out.embed_mean[3] == e[3]);
    CHECK(out.embed_var[3] == 0.0f);
    za::forward_request off;
    off.embedding_stats = false;
    za::write_embedding_stats(out, off, e.data(), rows, dim, ctx);
    CHECK(out.embed_mean.empty());
    // NCHW [2 × 3 × 4]: channel c over both images' 4 pixels
    std::vector<float> x(2 * 3 * 4);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 12) + (i >= 12 ? 100.0f : 0.0f);
    za::write_channel_stats(out, za::forward_request{}, x.data(), 2, 3, 4, ctx);
    REQUIRE(out.embed_mean.size() == 3);
    CHECK(out.embed_mean[1] == doctest::Approx(5.5 + 50.0));
}

namespace {
struct user_model {
    using policy_type = zoa::policy<zoa::quant::bits<4, 6>>;
    static constexpr auto family = za::model_family::vit;
};
struct runtime_family_model {  // family is not a compile-time constant: paper<M>() does not accept it
    using policy_type = zoa::policy<zoa::w8a8>;
    za::model_family family = za::model_family::vit;
};
bool same(const za::zoa_options& a, const za::zoa_options& b) {
    return a.lr == b.lr && a.spsa_c == b.spsa_c && a.lambda == b.lambda && a.domain_t == b.domain_t;
}
}  // namespace

TEST_CASE("zoa_options::paper<Model>() reads family and bits from the model type") {
    CHECK(same(za::zoa_options::paper<user_model>(), za::zoa_options::paper(za::model_family::vit, 4)));
    CHECK(!same(za::zoa_options::paper<user_model>(), za::zoa_options::paper(za::model_family::vit, 8)));
    static_assert(za::has_model_traits_v<user_model>);
    static_assert(!za::has_model_traits_v<runtime_family_model>);
}
