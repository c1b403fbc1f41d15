// zoa — tests for quantizer parameters: selection rules, validation, flat tensor form (save/load round trip)
#include <doctest/doctest.h>

#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace q = zoa::quant;

TEST_CASE("PTQ4ViT init: Δ = max|x| / (2^(b-1) - 0.5)") {
    CHECK(q::symmetric_scale_from_absmax(2.55f, 8, "t") == 2.55f / 127.5f);
    CHECK(q::symmetric_scale_from_absmax(3.0f, 4, "t") == 3.0f / 7.5f);
    CHECK(q::symmetric_scale_from_absmax(3.0f, 2, "t") == 2.0f);
    CHECK(q::symmetric_scale_from_absmax(0.0f, 8, "t") == 1.0f);  // guard: all-zero tensor
    CHECK_THROWS_WITH_AS(q::symmetric_scale_from_absmax(std::numeric_limits<float>::infinity(), 8, "blocks.0.fc1"),
                         "zoa: numeric: blocks.0.fc1: max |x| must be finite and >= 0, got inf", zoa::error);
}

TEST_CASE("affine qparams follow PyTorch _calculate_qparams") {
    // range always includes 0: [min(min,0), max(max,0)]
    q::affine_qparams a = q::affine_from_range(-1.0f, 3.0f, 0, 255);
    CHECK(a.scale == 4.0f / 255.0f);
    CHECK(a.zero_point == int(-std::nearbyint(-1.0f / a.scale)));  // 0 - round(-63.75) = 64
    CHECK(a.zero_point == 64);
    a = q::affine_from_range(0.5f, 2.0f, 0, 15);  // lo clipped to 0 -> z = 0
    CHECK(a.scale == 2.0f / 15.0f);
    CHECK(a.zero_point == 0);
    a = q::affine_from_range(-2.0f, -0.5f, 0, 15);  // hi clipped to 0 -> z = 15
    CHECK(a.zero_point == 15);
    a = q::affine_from_range(0.0f, 0.0f, 0, 255);  // degenerate -> eps scale
    CHECK(a.scale == FLT_EPSILON);
    CHECK(a.zero_point == 0);
    const float inf = std::numeric_limits<float>::infinity();
    a = q::affine_from_range(inf, -inf, 0, 255);  // nothing observed
    CHECK(a.scale == 1.0f);
    CHECK(a.zero_point == 0);
    CHECK_THROWS_AS(q::affine_from_range(1.0f, -1.0f, 0, 255), zoa::error);
    const q::quant_params p = q::affine_params_from_ranges(4, q::granularity::per_channel, {-1, 0}, {1, 3});
    CHECK(p.groups() == 2);
    CHECK(p.qmin() == 0);
    CHECK(p.qmax() == 15);
    // float: -1 / float(2/15) = -7.4999995 -> z = 7 (torch gives [7, 0] too; exact real arithmetic would tie at 7.5)
    CHECK(p.zero_point == std::vector<std::int32_t>{7, 0});
}

TEST_CASE("validate names the object and the problem") {
    q::quant_params p = q::make_symmetric(9, q::granularity::per_tensor, {0.1f});
    CHECK_THROWS_WITH_AS(p.validate("blocks.3.attn.qkv.weight"),
                         "zoa: argument: blocks.3.attn.qkv.weight: bits must be in 2..8, got 9", zoa::error);
    p = q::make_affine(8, q::granularity::per_channel, {0.1f, 0.2f}, {3});
    CHECK_THROWS_WITH_AS(p.validate("conv1"), "zoa: argument: conv1: 2 scales but 1 zero points", zoa::error);
    p = q::make_affine(4, q::granularity::per_tensor, {0.1f}, {16});
    CHECK_THROWS_WITH_AS(p.validate("x"), "zoa: argument: x: zero_point[0] = 16 outside [0, 15]", zoa::error);
    p = q::make_post_softmax(8, 1.5f);
    CHECK_THROWS_WITH_AS(p.validate("m2"), "zoa: argument: m2: split must be in (0, 1], got 1.5", zoa::error);
    p = q::make_post_softmax(8, 0.25f);
    p.scale[0] *= 2.0f;
    CHECK_THROWS_AS(p.validate("m2"), zoa::error);
    CHECK_NOTHROW(q::make_post_gelu(6, {0.02f}).validate("fc2"));
    CHECK_NOTHROW(q::make_none().validate("anything"));
    CHECK(q::make_post_gelu(6, {0.02f}).qmin() == -32);
    CHECK(q::make_post_softmax(6, 0.5f).qmax() == 31);
}

namespace {
q::model_quant_params sample_model() {
    q::model_quant_params m;
    q::module_params qkv;
    qkv.weight() = q::make_symmetric(6, q::granularity::per_row_block, {0.01f, 0.02f, 0.03f});
    qkv.input() = q::make_symmetric(6, q::granularity::per_tensor, {0.05f});
    m.modules["blocks.0.attn.qkv"] = qkv;
    q::module_params fc2;
    fc2.weight() = q::make_symmetric(4, q::granularity::per_tensor, {0.11f});
    fc2.input() = q::make_post_gelu(4, {0.3f});
    m.modules["blocks.0.mlp.fc2"] = fc2;
    q::module_params mm;
    mm.kind = q::module_kind::matmul;
    mm.a() = q::make_post_softmax(8, 0.0078125f);
    mm.b() = q::make_symmetric(8, q::granularity::per_head, {0.1f, 0.2f});
    m.modules["blocks.0.attn.matmul2"] = mm;
    q::module_params conv;
    conv.weight() = q::make_affine(8, q::granularity::per_channel, {0.01f, 0.02f}, {128, 131});
    conv.input() = q::make_affine(4, q::granularity::per_tensor, {0.2f}, {3});
    m.modules["layer1.0.conv1"] = conv;
    q::module_params patch;
    patch.weight() = q::make_symmetric(8, q::granularity::per_channel, {0.5f, 0.25f});
    patch.input() = q::make_none();
    m.modules["patch_embed.proj"] = patch;
    return m;
}
}  // namespace

TEST_CASE("flat tensor form: keys, values and an exact round trip") {
    const q::model_quant_params m = sample_model();
    const q::tensor_map t = m.to_tensors();
    CHECK(t.at("blocks.0.attn.qkv.weight_quant.scale") == std::vector<float>{0.01f, 0.02f, 0.03f});
    CHECK(t.at("blocks.0.attn.qkv.weight_quant.config") == std::vector<float>{1, 1, 0, 2, 6, 0, 0});
    CHECK(t.at("blocks.0.attn.matmul2.a_quant.config")[6] == 0.0078125f);
    CHECK(t.at("blocks.0.mlp.fc2.input_quant.config")[5] == q::post_gelu_neg_scale(4));
    CHECK(t.at("layer1.0.conv1.weight_quant.zero_point") == std::vector<float>{128, 131});
    CHECK(t.count("patch_embed.proj.input_quant.config") == 1);
    CHECK(t.count("patch_embed.proj.input_quant.scale") == 0);
    CHECK(t.count("blocks.0.attn.qkv.input_quant.zero_point") == 0);
    const q::model_quant_params back = q::model_quant_params::from_tensors(t);
    CHECK(back.modules == m.modules);
    // unrelated keys (weights stored in the same file) are ignored
    q::tensor_map mixed = t;
    mixed["blocks.0.attn.qkv.weight"] = {1, 2, 3};
    CHECK(q::model_quant_params::from_tensors(mixed).modules == m.modules);
}

TEST_CASE("flat tensor form: malformed input is rejected with the key named") {
    const q::tensor_map good = sample_model().to_tensors();
    q::tensor_map t = good;
    t.erase("blocks.0.mlp.fc2.input_quant.scale");
    CHECK_THROWS_WITH_AS(q::model_quant_params::from_tensors(t),
                         "zoa: format: quant params: missing tensor 'blocks.0.mlp.fc2.input_quant.scale'", zoa::error);
    t = good;
    t.erase("blocks.0.mlp.fc2.input_quant.config");
    CHECK_THROWS_WITH_AS(q::model_quant_params::from_tensors(t),
                         "zoa: format: quant params: module 'blocks.0.mlp.fc2' must have exactly the roles {weight, "
                         "input} or {a, b}; found role mask 1",
                         zoa::error);
    t = good;
    t["blocks.0.attn.qkv.weight_quant.config"][4] = 8.5f;
    CHECK_THROWS_WITH_AS(q::model_quant_params::from_tensors(t),
                         "zoa: format: quant params: 'blocks.0.attn.qkv.weight_quant.config' field bits must be an "
                         "integer in [2, 32], got 8.5",
                         zoa::error);
    t = good;
    t["blocks.0.attn.qkv.weight_quant.config"][0] = 2.0f;
    CHECK_THROWS_AS(q::model_quant_params::from_tensors(t), zoa::error);
    t = good;
    t["blocks.0.attn.qkv.weight_quant.scale"] = {0.01f, -0.02f, 0.03f};
    CHECK_THROWS_WITH_AS(q::model_quant_params::from_tensors(t),
                         "zoa: argument: blocks.0.attn.qkv.weight_quant: scale[1] must be finite and > 0, got -0.02",
                         zoa::error);
    t = good;
    t["x.gamma_quant.config"] = {1, 1, 0, 0, 8, 0, 0};
    CHECK_THROWS_AS(q::model_quant_params::from_tensors(t), zoa::error);
}
