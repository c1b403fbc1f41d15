// zoa — golden check of the element-wise/reduction kernels against PyTorch (tests/fixtures/elementwise.json)
// SPDX-License-Identifier: MIT
// The fixture comes from tools/reference/gen_elementwise_fixture.py (Debian python3-torch). For every output it holds
// torch in float64 on the same float32 inputs ("<name>", checked at 1e-5 relative) and torch's float32 result
// ("<name>_f32", whose max abs difference to zoa is printed).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "elementwise_testing.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/activation.hpp"
#include "zoa/kernels/batch_norm.hpp"
#include "zoa/kernels/layer_norm.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/kernels/softmax.hpp"
#include "zoa/kernels/statistics.hpp"

namespace {

using json = nlohmann::json;

const json& fixture() {
    static const json fx = [] {
        const std::string path = std::string(ZOA_FIXTURES_DIR) + "/elementwise.json";
        std::ifstream in(path);
        REQUIRE_MESSAGE(in.good(), "cannot open ", path,
                        " (run /usr/bin/python3 tools/reference/gen_elementwise_fixture.py)");
        return json::parse(in);
    }();
    return fx;
}

std::vector<float> floats(const json& j) {
    std::vector<float> v;
    v.reserve(j.size());
    for (const auto& e : j) v.push_back(static_cast<float>(e.get<double>()));
    return v;
}

std::size_t sz(const json& j) {
    return j.get<std::size_t>();
}

// Checks got against torch-float64 (1e-5 relative to |ref| + unit) and reports the max abs difference to torch's
// float32 output. That one is only sanity-checked (≤ 1e-4·(1 + max|ref|)): torch's float32 kernels carry their own
// rounding (e.g. F.layer_norm loses ~3e-5 on rows with |mean| ≫ std, where zoa's shifted moments do not).
template <class UnitFn>
void against_torch(const std::string& label, const std::vector<float>& got, const json& node, const std::string& name,
                   UnitFn&& unit) {
    const std::vector<float> r64 = floats(node.at(name)), r32 = floats(node.at(name + "_f32"));
    REQUIRE(got.size() == r64.size());
    REQUIRE(got.size() == r32.size());
    const double worst = zoa_test::check_close(got.data(), r64.data(), got.size(), 1e-5, unit, label + " vs torch f64");
    double max_abs = 0.0, max_ref = 0.0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        max_abs = std::max(max_abs, std::fabs(double(got[i]) - double(r32[i])));
        max_ref = std::max(max_ref, std::fabs(double(r32[i])));
    }
    CHECK(max_abs <= 1e-4 * (1.0 + max_ref));
    MESSAGE(label, ": max |zoa - torch_f32| = ", max_abs, ", worst scaled error vs torch_f64 = ", worst);
}

auto unit_zero = [](std::size_t) { return 0.0f; };

}  // namespace

TEST_CASE("golden: layer_norm equals F.layer_norm") {
    zoa::execution_context ctx(2);
    int k = 0;
    for (const auto& c : fixture().at("layer_norm")) {
        const std::size_t rows = sz(c.at("rows")), dim = sz(c.at("dim"));
        const auto x = floats(c.at("x")), w = floats(c.at("weight")), b = floats(c.at("bias"));
        std::vector<float> y(x.size());
        zoa::kernels::layer_norm(x.data(), y.data(), rows, dim, w.data(), b.data(), c.at("eps").get<float>(), ctx);
        against_torch("layer_norm[" + std::to_string(k++) + "] " + std::to_string(rows) + "x" + std::to_string(dim), y,
                      c, "y", [&](std::size_t i) { return std::fabs(w[i % dim]) + std::fabs(b[i % dim]); });
    }
}

TEST_CASE("golden: batch_norm equals F.batch_norm in training (batch statistics) and eval modes") {
    zoa::execution_context ctx(2);
    int k = 0;
    for (const auto& c : fixture().at("batch_norm")) {
        const std::string tag = "batch_norm[" + std::to_string(k++) + "] ";
        const std::size_t n = sz(c.at("n")), ch = sz(c.at("c")), hw = sz(c.at("hw"));
        const float eps = c.at("eps").get<float>();
        const auto x = floats(c.at("x")), w = floats(c.at("weight")), b = floats(c.at("bias"));
        const auto rm = floats(c.at("running_mean")), rv = floats(c.at("running_var"));
        auto unit = [&](std::size_t i) { return std::fabs(w[(i / hw) % ch]) + std::fabs(b[(i / hw) % ch]); };
        std::vector<float> y(x.size()), mean(ch), var(ch);
        zoa::kernels::batch_norm_batch_stats(x.data(), y.data(), mean.data(), var.data(), n, ch, hw, w.data(), b.data(),
                                             eps, ctx);
        against_torch(tag + "train y", y, c, "y_train", unit);
        const auto ref_var = floats(c.at("batch_var"));
        against_torch(tag + "batch mean", mean, c, "batch_mean", [&](std::size_t i) { return std::sqrt(ref_var[i]); });
        against_torch(tag + "batch var (biased)", var, c, "batch_var", unit_zero);
        zoa::kernels::batch_norm_eval(x.data(), y.data(), n, ch, hw, rm.data(), rv.data(), w.data(), b.data(), eps,
                                      ctx);
        against_torch(tag + "eval y", y, c, "y_eval", unit);
    }
}

TEST_CASE("golden: gelu equals F.gelu (exact erf)") {
    zoa::execution_context ctx(2);
    const auto& c = fixture().at("gelu");
    const auto x = floats(c.at("x"));
    std::vector<float> y(x.size());
    zoa::kernels::gelu(x.data(), y.data(), x.size(), ctx);
    against_torch("gelu", y, c, "y", unit_zero);
}

TEST_CASE("golden: softmax equals torch.softmax") {
    zoa::execution_context ctx(2);
    const auto& c = fixture().at("softmax");
    const auto x = floats(c.at("x"));
    std::vector<float> y(x.size());
    zoa::kernels::softmax(x.data(), y.data(), sz(c.at("rows")), sz(c.at("cols")), ctx);
    against_torch("softmax", y, c, "y", unit_zero);
}

TEST_CASE("golden: feature/token/channel statistics equal torch.std_mean / var_mean (unbiased)") {
    zoa::execution_context ctx(2);
    {
        const auto& c = fixture().at("feature_std_mean");
        const std::size_t dim = sz(c.at("dim"));
        const auto x = floats(c.at("x")), ref_std = floats(c.at("std"));
        std::vector<float> mean(dim), sd(dim);
        zoa::kernels::feature_mean_std(x.data(), sz(c.at("batch")), dim, mean.data(), sd.data(), ctx);
        against_torch("feature mean", mean, c, "mean", [&](std::size_t i) { return ref_std[i]; });
        against_torch("feature std", sd, c, "std", unit_zero);
    }
    {
        const auto& c = fixture().at("token_var_mean");
        const std::size_t dim = sz(c.at("dim"));
        const auto x = floats(c.at("x")), ref_var = floats(c.at("var"));
        std::vector<float> mean(dim), var(dim);
        zoa::kernels::token_mean_var(x.data(), sz(c.at("batch")), sz(c.at("tokens")), dim, sz(c.at("skip_tokens")),
                                     mean.data(), var.data(), ctx);
        against_torch("token mean", mean, c, "mean", [&](std::size_t i) { return std::sqrt(ref_var[i]); });
        against_torch("token var", var, c, "var", unit_zero);
    }
    {
        const auto& c = fixture().at("channel_var_mean");
        const std::size_t ch = sz(c.at("c"));
        const auto x = floats(c.at("x")), ref_var = floats(c.at("var"));
        std::vector<float> mean(ch), var(ch);
        zoa::kernels::channel_mean_var(x.data(), sz(c.at("n")), ch, sz(c.at("hw")), mean.data(), var.data(), ctx);
        against_torch("channel mean", mean, c, "mean", [&](std::size_t i) { return std::sqrt(ref_var[i]); });
        against_torch("channel var", var, c, "var", unit_zero);
    }
}

TEST_CASE("golden: quantize equals clamp(torch.round(x / scale) + zp) bit for bit, dequantize too") {
    zoa::execution_context ctx(2);
    {
        const auto& c = fixture().at("quantize_per_tensor");
        const auto x = floats(c.at("x")), deq = floats(c.at("dequantized"));
        const auto want = c.at("q").get<std::vector<int>>();
        std::vector<std::int8_t> q(x.size());
        const float scale = c.at("scale").get<float>();
        const auto zp = c.at("zero_point").get<std::int32_t>();
        zoa::kernels::quantize_per_tensor(x.data(), q.data(), x.size(), scale, zp, c.at("qmin").get<std::int32_t>(),
                                          c.at("qmax").get<std::int32_t>(), ctx);
        CHECK(std::vector<int>(q.begin(), q.end()) == want);
        std::vector<float> d(x.size());
        zoa::kernels::dequantize_per_tensor(q.data(), d.data(), q.size(), scale, zp, ctx);
        CHECK(zoa_test::same_bits(d, deq));
    }
    {
        const auto& c = fixture().at("quantize_per_channel");
        const auto x = floats(c.at("x")), scale = floats(c.at("scale")), deq = floats(c.at("dequantized"));
        const auto zp = c.at("zero_point").get<std::vector<std::int32_t>>();
        const auto want = c.at("q").get<std::vector<int>>();
        const std::size_t outer = sz(c.at("outer")), ch = sz(c.at("channels")), inner = sz(c.at("inner"));
        std::vector<std::uint8_t> q(x.size());
        zoa::kernels::quantize_per_channel(x.data(), q.data(), outer, ch, inner, scale.data(), zp.data(),
                                           c.at("qmin").get<std::int32_t>(), c.at("qmax").get<std::int32_t>(), ctx);
        CHECK(std::vector<int>(q.begin(), q.end()) == want);
        std::vector<float> d(x.size());
        zoa::kernels::dequantize_per_channel(q.data(), d.data(), outer, ch, inner, scale.data(), zp.data(), ctx);
        CHECK(zoa_test::same_bits(d, deq));
    }
}
