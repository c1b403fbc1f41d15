// zoa — golden test: zoa's simulated quantization vs PyTorch (tests/fixtures/quant_golden.json, written by
// tools/reference/gen_quant_fixture.py with Debian's python3-torch)
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "zoa/quant/calib_modules.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/observer.hpp"
#include "zoa/quant/ptq4vit_search.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

namespace q = zoa::quant;
using json = nlohmann::json;

namespace {
const json& fixture() {
    static const json j = [] {
        std::ifstream f(std::string(ZOA_FIXTURES_DIR) + "/quant_golden.json");
        REQUIRE_MESSAGE(f.good(),
                        "missing tests/fixtures/quant_golden.json (run tools/reference/gen_quant_fixture.py)");
        return json::parse(f);
    }();
    return j;
}
std::vector<float> vec(const json& j) {
    std::vector<float> v;
    for (const auto& x : j) v.push_back(static_cast<float>(x.get<double>()));
    return v;
}
std::vector<std::int32_t> ivec(const json& j) {
    std::vector<std::int32_t> v;
    for (const auto& x : j) v.push_back(x.get<std::int32_t>());
    return v;
}
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}
q::operand_spec spec(q::quantizer_kind k, q::granularity g, int bits, std::size_t blocks = 1) {
    q::operand_spec s;
    s.kind = k;
    s.gran = g;
    s.bits = bits;
    s.blocks = blocks;
    return s;
}
}  // namespace

TEST_CASE("golden: element-wise quantizers are bit-exact with PyTorch") {
    const json& j = fixture();
    double worst = 0;
    std::size_t n = 0;
    for (const auto& c : j["symmetric"]) {
        const int bits = c["bits"];
        const q::quant_params p =
            q::make_symmetric(bits, q::granularity::per_tensor, {float(c["scale"].get<double>())});
        worst = std::max(worst, max_abs_diff(q::fake_quant(p, vec(c["x"])), vec(c["y"])));
        ++n;
    }
    for (const auto& c : j["affine"]) {
        const std::vector<float> s = vec(c["scale"]);
        const q::quant_params p =
            q::make_affine(c["bits"], s.size() == 1 ? q::granularity::per_tensor : q::granularity::per_channel, s,
                           ivec(c["zero_point"]));
        worst = std::max(worst, max_abs_diff(q::fake_quant(p, vec(c["x"])), vec(c["y"])));
        ++n;
    }
    for (const auto& c : j["post_gelu"]) {
        const q::quant_params p = q::make_post_gelu(c["bits"], {float(c["pos_scale"].get<double>())});
        worst = std::max(worst, max_abs_diff(q::fake_quant(p, vec(c["x"])), vec(c["y"])));
        ++n;
    }
    for (const auto& c : j["post_softmax"]) {
        const q::quant_params p = q::make_post_softmax(c["bits"], float(c["split"].get<double>()));
        worst = std::max(worst, max_abs_diff(q::fake_quant(p, vec(c["x"])), vec(c["y"])));
        ++n;
    }
    MESSAGE("element-wise quantizers: " << n << " PyTorch cases, max |zoa - torch| = " << worst);
    CHECK(n == 31);  // 12 symmetric + 4 affine + 3 post-GELU + 12 post-softmax cases
    CHECK(worst == 0.0);
}

TEST_CASE("golden: fake-quant linear and attention matmul outputs match PyTorch") {
    const json& j = fixture();
    const json& L = j["linear"];
    const std::size_t S = L["samples"], T = L["tokens"], IN = L["in"], OUT = L["out"];
    double worst_lin = 0;
    for (const auto& c : L["cases"]) {
        const int bits = c["bits"];
        const bool gelu = c["input"] == "post_gelu";
        const q::linear_module m(vec(L["w"]), vec(L["b"]), OUT, IN, vec(gelu ? L["x_gelu"] : L["x"]), S, T,
                                 spec(q::quantizer_kind::uniform, q::granularity::per_row_block, bits, 3),
                                 spec(gelu ? q::quantizer_kind::post_gelu_twin : q::quantizer_kind::uniform,
                                      q::granularity::per_tensor, bits));
        q::module_params p;
        p.weight() = q::make_symmetric(bits, q::granularity::per_row_block, vec(c["w_scale"]));
        const float xs = float(c["x_scale"].get<double>());
        p.input() = gelu ? q::make_post_gelu(bits, {xs}) : q::make_symmetric(bits, q::granularity::per_tensor, {xs});
        std::vector<float> out(S * T * OUT);
        m.forward(p, out.data());
        worst_lin = std::max(worst_lin, max_abs_diff(out, vec(c["y"])));
    }
    const json& M = j["matmul"];
    const std::size_t MS = M["samples"], H = M["heads"], MM = M["m"], K = M["k"], N = M["n"];
    double worst_mm = 0;
    for (const auto& c : M["cases"]) {
        const int bits = c["bits"];
        const bool sos = c["a_kind"] == "post_softmax";
        const q::matmul_module m(vec(sos ? M["a_softmax"] : M["a"]), vec(M["b"]), MS, H, MM, K, N,
                                 spec(sos ? q::quantizer_kind::post_softmax_twin : q::quantizer_kind::uniform,
                                      sos ? q::granularity::per_tensor : q::granularity::per_head, bits),
                                 spec(q::quantizer_kind::uniform, q::granularity::per_head, bits));
        q::module_params p;
        p.kind = q::module_kind::matmul;
        p.a() = sos ? q::make_post_softmax(bits, float(c["split"].get<double>()))
                    : q::make_symmetric(bits, q::granularity::per_head, vec(c["a_scale"]));
        p.b() = q::make_symmetric(bits, q::granularity::per_head, vec(c["b_scale"]));
        std::vector<float> out(MS * H * MM * N);
        m.forward(p, out.data());
        worst_mm = std::max(worst_mm, max_abs_diff(out, vec(c["y"])));
    }
    MESSAGE("linear (3 row blocks; uniform / post-GELU input; 8/6/4 bit): max |zoa - torch| = " << worst_lin);
    MESSAGE("matmul (per-head / SoS A; 8/6/4 bit): max |zoa - torch| = " << worst_mm);
    CHECK(worst_lin < 1e-5);  // only the float summation order differs from torch's GEMM
    CHECK(worst_mm < 1e-5);
}

TEST_CASE("golden: MQBench MSE / EMA-MSE observers pick the same ranges and qparams as PyTorch") {
    double worst = 0;
    int zp_mismatch = 0;
    for (const auto& c : fixture()["mse_observer"]) {
        const std::string kind = c["kind"];
        const std::size_t ch = c["channels"];
        q::mse_observer obs(c["bits"], ch == 1 ? q::granularity::per_tensor : q::granularity::per_channel, ch,
                            kind == "ema_mse_per_tensor" ? 0.9 : -1.0);
        for (const auto& b : c["batches"]) {
            const std::vector<float> x = vec(b);
            obs.observe(x.data(), x.size());
        }
        const q::quant_params p = obs.params();
        CAPTURE(kind);
        worst = std::max({worst, max_abs_diff(obs.min(), vec(c["min"])), max_abs_diff(obs.max(), vec(c["max"])),
                          max_abs_diff(p.scale, vec(c["scale"]))});
        zp_mismatch += p.zero_point == ivec(c["zero_point"]) ? 0 : 1;
    }
    MESSAGE("MSE observers (per-tensor, EMA, per-channel; 8/4 bit): max |zoa - torch| over min/max/scale = "
            << worst << ", zero-point mismatches = " << zp_mismatch);
    CHECK(worst == 0.0);
    CHECK(zp_mismatch == 0);
}

TEST_CASE("golden: PTQ4ViT search picks the same candidates and scales as the PyTorch reference") {
    const json& S = fixture()["search"];
    q::search_options o;
    int compared = 0;
    double worst = 0;
    {
        const json& c = S["qkv_l2"];
        o.metric = q::search_metric::l2;
        for (const auto& r : c["results"]) {
            const int bits = r["bits"];
            const q::linear_module m(vec(c["w"]), vec(c["b"]), c["out"], c["in"], vec(c["x"]), c["samples"],
                                     c["tokens"],
                                     spec(q::quantizer_kind::uniform, q::granularity::per_row_block, bits, 3),
                                     spec(q::quantizer_kind::uniform, q::granularity::per_tensor, bits), vec(c["raw"]));
            const q::search_result res = q::ptq4vit_search(m, o);
            CAPTURE(bits);
            CHECK(res.chosen[0] == ivec(r["w_index"]));
            CHECK(res.chosen[1] == ivec(r["x_index"]));
            worst = std::max({worst, max_abs_diff(res.params.weight().scale, vec(r["w_scale"])),
                              std::fabs(double(res.params.input().scale[0]) - r["x_scale"].get<double>())});
            ++compared;
        }
    }
    {
        const json& c = S["fc2_hessian"];
        o.metric = q::search_metric::hessian;
        for (const auto& r : c["results"]) {
            const int bits = r["bits"];
            const q::linear_module m(vec(c["w"]), vec(c["b"]), c["out"], c["in"], vec(c["x"]), c["samples"],
                                     c["tokens"], spec(q::quantizer_kind::uniform, q::granularity::per_tensor, bits),
                                     spec(q::quantizer_kind::post_gelu_twin, q::granularity::per_tensor, bits),
                                     vec(c["raw"]), vec(c["grad"]));
            const q::search_result res = q::ptq4vit_search(m, o);
            CHECK_FALSE(res.hessian_fallback);
            CHECK(res.chosen[0] == ivec(r["w_index"]));
            CHECK(res.chosen[1] == ivec(r["x_index"]));
            worst = std::max({worst, max_abs_diff(res.params.weight().scale, vec(r["w_scale"])),
                              std::fabs(double(res.params.input().scale[0]) - r["x_scale"].get<double>())});
            ++compared;
        }
    }
    {
        const json& c = S["sos_l2"];
        o.metric = q::search_metric::l2;
        for (const auto& r : c["results"]) {
            const int bits = r["bits"];
            const q::matmul_module m(vec(c["a"]), vec(c["b"]), c["samples"], c["heads"], c["m"], c["k"], c["n"],
                                     spec(q::quantizer_kind::post_softmax_twin, q::granularity::per_tensor, bits),
                                     spec(q::quantizer_kind::uniform, q::granularity::per_head, bits), vec(c["raw"]));
            const q::search_result res = q::ptq4vit_search(m, o);
            CAPTURE(bits);
            CHECK(res.chosen[0] == ivec(r["split_index"]));
            CHECK(res.chosen[1] == ivec(r["b_index"]));
            worst = std::max({worst, std::fabs(double(res.params.a().split) - r["split"].get<double>()),
                              max_abs_diff(res.params.b().scale, vec(r["b_scale"]))});
            ++compared;
        }
    }
    MESSAGE("PTQ4ViT search (qkv L2 8/4 bit, fc2 post-GELU Hessian 6 bit, SoS matmul L2 8/4 bit): "
            << compared << " searches, max |zoa - torch| over chosen scales = " << worst
            << "; smallest reference argmax margin " << fixture()["search_min_relative_margin"].get<double>());
    CHECK(compared == 5);
    CHECK(worst == 0.0);
}
