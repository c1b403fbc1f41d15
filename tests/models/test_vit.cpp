// zoa — models::vit<fp32>: golden logits / ZOA features / embedding statistics vs PyTorch (timm and torchvision
// names, FOA prompts, adapted LayerNorm parameters, activation shift, PNG input), adaptation layout, key-map
// errors, thread-count invariance, save/load
#include <doctest/doctest.h>

#include "zoa/adapt/baselines.hpp"
#include "zoa/adapt/foa_adapter.hpp"
#include "zoa/adapt/zoa_adapter.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/io/image.hpp"
#include "zoa/io/preprocess.hpp"
#include "zoa/io/preprocess_metadata.hpp"
#include "zoa/io/safetensors_writer.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_io.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "vit_fixture.hpp"
#include "../error_of.hpp"

namespace zm = zoa::models;
using vit32 = zm::vit<zoa::policy<zoa::fp32>>;
using batch4 = xt::xtensor<float, 4>;
using vit_test::check_close;

static_assert(zoa::adapt::is_adaptable_v<vit32, batch4>, "vit<fp32> satisfies the adaptation contract");
static_assert(zoa::adapt::is_adaptable_v<zm::vit<zoa::ptq4vit<zoa::w8a8>>, batch4>, "quantized vit too");

namespace {

const vit32& model() {
    static const vit32 m = vit32::load(vit_test::fixture("vit_tiny_timm.safetensors"));
    return m;
}

/// The timm fixture re-written with `edit` applied to its tensor list (in memory).
zoa::io::safetensors_file edited(
    const std::function<void(zoa::io::safetensors_writer&, const zoa::io::tensor_info&)>& edit,
    const std::function<void(zoa::io::safetensors_writer&)>& extra = {}, bool keep_metadata = true) {
    const auto f = zoa::io::safetensors_file::open(vit_test::fixture("vit_tiny_timm.safetensors"));
    zoa::io::safetensors_writer w;
    if (keep_metadata)
        for (const auto& kv : f.metadata()) w.set_metadata(kv.first, kv.second);
    for (const auto& t : f.tensors()) edit(w, t);
    if (extra) extra(w);
    return zoa::io::safetensors_file::from_bytes("edited.safetensors", w.to_bytes());
}
void copy_tensor(zoa::io::safetensors_writer& w, const zoa::io::tensor_info& t, const std::string& name) {
    const auto f = zoa::io::safetensors_file::open(vit_test::fixture("vit_tiny_timm.safetensors"));
    const auto b = f.bytes(t.name);
    w.add_raw(name, t.dtype, t.shape, b.data, b.size);
}

using zoa_test::error_of;

}  // namespace

TEST_CASE("vit fp32: logits, ZOA features and embedding statistics match PyTorch (timm names)") {
    const auto x = vit_test::images(0, 16);
    zoa::adapt::forward_result r;
    model().forward_adapt(x, {}, r);
    REQUIRE(r.logits.shape(0) == 16);
    REQUIRE(r.features.shape(1) == 4 * 32);
    check_close("logits", r.logits.data(), vit_test::tensor("logits"), r.logits.size());
    check_close("features", r.features.data(), vit_test::tensor("features"), r.features.size());
    check_close("embed mean", r.embed_mean.data(), vit_test::tensor("embed_mean"), 32);
    check_close("embed var", r.embed_var.data(), vit_test::tensor("embed_var"), 32);
    CHECK(r.shifted_logits.size() == 0);
    // predict() and classify(last group) give the same logits
    const auto p = model().predict(x);
    CHECK(vit_test::max_diff(p.data(), r.logits.data(), p.size()) == 0.0);
    xt::xtensor<float, 2> last = xt::xtensor<float, 2>::from_shape({16, 32}), l2;
    for (std::size_t b = 0; b < 16; ++b)
        for (std::size_t d = 0; d < 32; ++d) last(b, d) = r.features(b, 3 * 32 + d);
    model().classify(last, l2);
    CHECK(vit_test::max_diff(l2.data(), r.logits.data(), l2.size()) == 0.0);
}

TEST_CASE("vit fp32: torchvision key names load onto the same model") {
    zm::vit_load_report rep;
    const zm::vit_config cfg = model().config();
    const vit32 tv = vit32::load(vit_test::fixture("vit_tiny_torchvision.safetensors"), &cfg, {}, &rep);
    CHECK(rep.naming == zm::vit_naming::torchvision);
    CHECK(rep.missing.empty());
    CHECK(rep.unused.empty());
    const auto x = vit_test::images(0, 16);
    const auto l = tv.predict(x);
    check_close("torchvision-named logits", l.data(), vit_test::tensor("logits"), l.size());
    // the naming can be forced; forcing the wrong one reports every missing key by its file name
    zm::vit_load_options opt;
    opt.naming = zm::vit_naming::timm;
    const std::string e =
        error_of([&] { (void)vit32::load(vit_test::fixture("vit_tiny_torchvision.safetensors"), &cfg, opt); });
    CHECK(e.find("missing") != std::string::npos);
    CHECK(e.find("cls_token") != std::string::npos);
    CHECK(e.find("blocks.0.attn.qkv.weight") != std::string::npos);
}

TEST_CASE("vit fp32: FOA prompts after the class token, no position embedding") {
    const auto x = vit_test::images(0, 4);
    const std::vector<float> prompt = vit_test::tensor("prompt");
    zoa::adapt::forward_request req;
    req.prompt = prompt.data();
    req.prompt_size = prompt.size();
    zoa::adapt::forward_result r;
    model().forward_adapt(x, req, r);
    check_close("prompt logits", r.logits.data(), vit_test::tensor("prompt.logits"), r.logits.size());
    check_close("prompt features", r.features.data(), vit_test::tensor("prompt.features"), r.features.size());
    CHECK(model().layout().prompt_unit == 32);
    req.prompt_size = 31;
    CHECK_THROWS_AS(model().forward_adapt(x, req, r), zoa::error);
    req.prompt = nullptr;
    req.prompt_size = 32;
    CHECK_THROWS_AS(model().forward_adapt(x, req, r), zoa::error);
}

TEST_CASE("vit fp32: adapted LayerNorm parameters per call and the activation shift") {
    const auto adapted = zoa::io::safetensors_file::open(vit_test::fixture("vit_golden.safetensors"))
                             .read<std::int32_t>("adapted_blocks");
    REQUIRE(adapted.size() == model().adapted_blocks().size());
    for (std::size_t i = 0; i < adapted.size(); ++i) CHECK(std::size_t(adapted[i]) == model().adapted_blocks()[i]);
    const auto x = vit_test::images(0, 4);
    const std::vector<float> np = vit_test::tensor("norm_params"), shift = vit_test::tensor("shift");
    REQUIRE(np.size() == model().layout().parameter_count());
    zoa::adapt::forward_request req;
    req.norm_params = np.data();
    req.shift = shift.data();
    zoa::adapt::forward_result r;
    model().forward_adapt(x, req, r);
    check_close("adapted logits", r.logits.data(), vit_test::tensor("norms.logits"), r.logits.size());
    check_close("adapted features", r.features.data(), vit_test::tensor("norms.features"), r.features.size());
    check_close("shifted logits", r.shifted_logits.data(), vit_test::tensor("norms.shifted_logits"),
                r.shifted_logits.size());
    // the source parameters in the flat layout reproduce the unadapted forward exactly
    const auto l = model().layout();
    std::vector<float> src;
    for (const auto& n : l.norms) {
        src.insert(src.end(), n.weight, n.weight + n.channels);
        src.insert(src.end(), n.bias, n.bias + n.channels);
    }
    zoa::adapt::forward_request req0;
    req0.norm_params = src.data();
    zoa::adapt::forward_result r0, r1;
    model().forward_adapt(x, req0, r0);
    model().forward_adapt(x, {}, r1);
    CHECK(vit_test::max_diff(r0.features.data(), r1.features.data(), r0.features.size()) == 0.0);
}

TEST_CASE("vit fp32: PNG files through the file's zoa.preprocess give PyTorch's logits") {
    const auto cfg = zoa::io::preprocess_from_json(model().metadata().at("zoa.preprocess"), "vit_tiny_timm");
    std::vector<zoa::io::image> imgs;
    for (int i = 0; i < 2; ++i)
        imgs.push_back(zoa::io::load_image(vit_test::fixture("img_" + std::to_string(i) + ".png")));
    const auto l = model().predict(zoa::io::make_batch(imgs, cfg));
    check_close("png logits", l.data(), vit_test::tensor("png.logits"), l.size());
}

TEST_CASE("vit: adaptation layout and adapted blocks") {
    CHECK(zm::default_adapted_blocks(12) == std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(zm::default_adapted_blocks(6) == std::vector<std::size_t>{1, 2, 3});
    CHECK(zm::default_adapted_blocks(4) == std::vector<std::size_t>{1, 2});
    CHECK(zm::default_adapted_blocks(1).empty());
    const auto l = model().layout();
    REQUIRE(l.norms.size() == 4);
    CHECK(l.norms[0].name == "blocks.1.norm1");
    CHECK(l.norms[1].name == "blocks.1.norm2");
    CHECK(l.norms[3].name == "blocks.2.norm2");
    CHECK(l.norms[0].weight == model().blocks()[1].norm1.weight().data());
    CHECK(l.parameter_count() == 4 * 2 * 32);
    CHECK(l.feature_groups == std::vector<std::size_t>(4, 32));
    CHECK(l.num_classes == 10);
    vit32 m = vit32::load(vit_test::fixture("vit_tiny_timm.safetensors"));
    m.set_adapted_blocks({0, 3});
    CHECK(m.layout().norms.front().name == "blocks.0.norm1");
    CHECK(m.layout().norms.back().name == "blocks.3.norm2");
    CHECK_THROWS_AS(m.set_adapted_blocks({2, 1}), zoa::error);
    CHECK_THROWS_AS(m.set_adapted_blocks({4}), zoa::error);
}

TEST_CASE("vit fp32: results are identical for 1, 2 and 3 threads") {
    const auto x = vit_test::images(0, 5);
    vit32 m = vit32::load(vit_test::fixture("vit_tiny_timm.safetensors"));
    zoa::adapt::forward_result r1, r;
    m.forward_adapt(x, {}, r1);
    for (std::size_t t : {2u, 3u}) {
        m.set_threads(t);
        m.forward_adapt(x, {}, r);
        CHECK(vit_test::max_diff(r.features.data(), r1.features.data(), r.features.size()) == 0.0);
        CHECK(vit_test::max_diff(r.logits.data(), r1.logits.data(), r.logits.size()) == 0.0);
        CHECK(r.embed_var == r1.embed_var);
    }
}

TEST_CASE("vit: load errors name the key, expected and actual shapes; missing and unused keys are reported") {
    // missing tensor
    auto f1 = edited([](auto& w, const auto& t) {
        if (t.name != "blocks.1.mlp.fc2.bias") copy_tensor(w, t, t.name);
    });
    std::string e = error_of([&] { (void)zm::load_vit_weights(f1); });
    CHECK(e.find("missing 1 tensor") != std::string::npos);
    CHECK(e.find("blocks.1.mlp.fc2.bias") != std::string::npos);
    // unused tensor: an error listing it (strict, the default, issue #16 item 10), or reported with strict = false
    auto f2 = edited([](auto& w, const auto& t) { copy_tensor(w, t, t.name); },
                     [](auto& w) {
                         w.add("head_dist.weight", {2, 2}, std::vector<float>{1, 2, 3, 4});
                     });
    CHECK(error_of([&] { (void)zm::load_vit_weights(f2); }).find("1 tensor(s) not used by a ViT with 4 blocks, dim 32: "
                                                               "head_dist.weight") != std::string::npos);
    zm::vit_load_options lenient;
    lenient.strict = false;
    zm::vit_load_report rep;
    (void)zm::load_vit_weights(f2, nullptr, lenient, &rep);
    CHECK(rep.unused == std::vector<std::string>{"head_dist.weight"});
    CHECK(rep.summary().find("head_dist.weight") != std::string::npos);
    // zoa.config says one block fewer than the file holds: the last block's 12 tensors are listed, not ignored
    auto f_depth = edited([](auto& w, const auto& t) { copy_tensor(w, t, t.name); },
                          [](auto& w) {
                              zm::vit_config c = model().config();
                              c.depth = 3;
                              w.set_metadata(zm::config_metadata_key, zm::vit_config_to_json(c));
                          });
    e = error_of([&] { (void)zm::load_vit_weights(f_depth); });
    CHECK(e.find("12 tensor(s) not used by a ViT with 3 blocks, dim 32: blocks.3.attn.proj.bias") != std::string::npos);
    // wrong shape
    auto f3 = edited([](auto& w, const auto& t) {
        if (t.name == "blocks.0.attn.qkv.weight")
            w.add(t.name, {96, 31}, std::vector<float>(96 * 31, 0.0f));
        else
            copy_tensor(w, t, t.name);
    });
    e = error_of([&] { (void)zm::load_vit_weights(f3); });
    CHECK(e.find("zoa: shape") != std::string::npos);
    CHECK(e.find("blocks.0.attn.qkv.weight") != std::string::npos);
    CHECK(e.find("[96, 31]") != std::string::npos);
    CHECK(e.find("[96, 32]") != std::string::npos);
    // no config anywhere
    auto f4 = edited([](auto& w, const auto& t) { copy_tensor(w, t, t.name); }, {}, false);
    CHECK(error_of([&] { (void)zm::load_vit_weights(f4); }).find("zoa.config") != std::string::npos);
    const zm::vit_config cfg = model().config();
    CHECK_NOTHROW((void)zm::load_vit_weights(f4, &cfg));
    // a preset that does not match the file: missing blocks are listed first, then shapes are checked
    const zm::vit_config tiny = zm::vit_tiny_patch16_224(10);
    e = error_of([&] { (void)zm::load_vit_weights(f4, &tiny); });
    CHECK(e.find("missing") != std::string::npos);
    CHECK(e.find("blocks.4.norm1.weight") != std::string::npos);
    zm::vit_config wide = cfg;
    wide.embed_dim = 64;
    CHECK(error_of([&] {
              (void)zm::load_vit_weights(f4, &wide);
          }).find("'cls_token': shape [1, 1, 32], expected [1, 1, 64]") != std::string::npos);
    // a failed load leaves the existing model untouched (load returns a new object or throws)
    vit32 m = vit32::load(vit_test::fixture("vit_tiny_timm.safetensors"));
    CHECK_THROWS_AS(m = vit32(zm::load_vit_weights(f3)), zoa::error);
    CHECK(m.config() == model().config());
    const auto x = vit_test::images(0, 2);
    CHECK(vit_test::max_diff(m.predict(x).data(), model().predict(x).data(), 20) == 0.0);
}

TEST_CASE("vit: zoa.config JSON, presets and input checks") {
    const zm::vit_config c = model().config();
    CHECK(zm::vit_config_from_json(zm::vit_config_to_json(c), "roundtrip") == c);
    CHECK(zm::vit_preset("vit_base_patch16_224").embed_dim == 768);
    CHECK(zm::vit_preset("vit_small_patch16_224").num_heads == 6);
    CHECK(zm::vit_preset("vit_tiny_patch16_224").tokens() == 197);
    CHECK_THROWS_AS(zm::vit_preset("vit_huge"), zoa::error);
    CHECK(error_of([] { zm::vit_config_from_json(R"({"img_size": 16, "reg_tokens": 4})", "f"); }).find("reg_tokens") !=
          std::string::npos);
    CHECK(error_of([] { zm::vit_config_from_json("{", "f"); }).find("not valid JSON") != std::string::npos);
    const std::string no_heads =
        R"({"img_size":16,"patch_size":4,"in_chans":3,"num_classes":10,"embed_dim":32,"depth":4,"mlp_ratio":2.0,"qkv_bias":true,"ln_eps":1e-6})";
    CHECK(error_of([&] { zm::vit_config_from_json(no_heads, "f"); }).find("num_heads") != std::string::npos);
    zoa::adapt::forward_result r;
    CHECK(error_of([] {
              (void)model().predict(batch4::from_shape({1, 3, 17, 16}));
          }).find("expected [B >= 1, 3, 16, 16]") != std::string::npos);
}

TEST_CASE("vit fp32: save and reload give bit-identical logits") {
    const std::string path = (std::filesystem::temp_directory_path() / "zoa_vit_fp32_roundtrip.safetensors").string();
    zm::save_vit(model(), path);
    const vit32 m = vit32::load(path);
    std::remove(path.c_str());
    CHECK(m.metadata().at("zoa.preprocess") == model().metadata().at("zoa.preprocess"));
    const auto x = vit_test::images(0, 3);
    CHECK(vit_test::max_diff(m.predict(x).data(), model().predict(x).data(), 30) == 0.0);
}

TEST_CASE("vit: ZOA and FOA adapters run on the ViT (two forwards per ZOA batch, prompts for FOA)") {
    const vit32& m = model();
    std::vector<batch4> clean = {vit_test::images(0, 8), vit_test::images(8, 8)};
    const auto source = zoa::adapt::compute_source_statistics(m, clean);
    CHECK(source.mean.size() == 4 * 32);
    zoa::adapt::zoa_adapter<vit32> zoa(m, zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, 8), source);
    batch4 shifted = vit_test::images(0, 8);
    for (auto& v : shifted) v = 0.7f * v + 0.3f;
    for (int i = 0; i < 3; ++i) {
        const auto& l = zoa.predict_and_adapt(shifted);
        REQUIRE(l.shape(0) == 8);
        CHECK(std::isfinite(l(7, 9)));
    }
    CHECK(zoa.stats().forwards == 6);
    zoa::adapt::foa_options fo;
    fo.popsize = 4;
    zoa::adapt::foa_adapter<vit32> foa(m, fo, source);
    const auto& lf = foa.predict_and_adapt(shifted);
    CHECK(lf.shape(1) == 10);
    CHECK(std::isfinite(lf(0, 0)));
}

// Issue #16 item 19: vit::layout() left prompt_init_scale at 0, so FOA's first "previous best" prompt was all zeros
// instead of the reference's U(-a, a), a = sqrt(6 / (in_chans·patch² + embed_dim)).
TEST_CASE("vit: FOA's initial prompt is U(-a, a) with the reference's xavier scale; its statistics are prompt-free") {
    const vit32& m = model();
    const float a = std::sqrt(6.0f / float(3 * 4 * 4 + 32));
    CHECK(m.layout().prompt_init_scale == doctest::Approx(a).epsilon(1e-6));
    zoa::adapt::foa_options fo;
    const auto p = zoa::adapt::foa_initial_prompt(m.layout(), fo);
    REQUIRE(p.size() == 3 * 32);
    float lo = 0, hi = 0;
    for (float v : p) lo = std::min(lo, v), hi = std::max(hi, v);
    CHECK(lo >= -a);
    CHECK(hi <= a);
    CHECK(hi - lo > a);  // spread over the interval, not zeros
    std::vector<batch4> clean = {vit_test::images(0, 8)};
    fo.popsize = 4;
    zoa::adapt::foa_adapter<vit32> foa(m, fo, zoa::adapt::compute_source_statistics(m, clean));
    CHECK(foa.best_prompt() == p);
    // ViT: FOA's source statistics are ZOA's (the reference computes them without prompts)
    const auto s1 = zoa::adapt::compute_foa_source_statistics(m, clean, fo);
    const auto s2 = zoa::adapt::compute_source_statistics(m, clean);
    CHECK(s1.mean == s2.mean);
    CHECK(s1.std == s2.std);
}

TEST_CASE("vit: qkv_bias = false and one input channel (save/load round trip)") {
    zm::vit_config c;
    c.img_size = 8;
    c.patch_size = 4;
    c.in_chans = 1;
    c.embed_dim = 8;
    c.depth = 2;
    c.num_heads = 2;
    c.mlp_ratio = 1.5;
    c.num_classes = 3;
    c.qkv_bias = false;
    zoa::rng r(5);
    const auto rnd = [&](std::size_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = 0.3f * r.normal();
        return v;
    };
    zm::vit_weights w;
    w.config = c;
    const std::size_t D = 8, H = c.mlp_hidden();
    CHECK(H == 12);
    w.patch_w = rnd(D * 16), w.patch_b = rnd(D), w.cls_token = rnd(D), w.pos_embed = rnd(c.tokens() * D);
    for (std::size_t i = 0; i < c.depth; ++i) {
        zm::vit_block_weights b;
        b.norm1_w = rnd(D), b.norm1_b = rnd(D), b.norm2_w = rnd(D), b.norm2_b = rnd(D);
        b.qkv_w = rnd(3 * D * D), b.proj_w = rnd(D * D), b.proj_b = rnd(D);
        b.fc1_w = rnd(H * D), b.fc1_b = rnd(H), b.fc2_w = rnd(D * H), b.fc2_b = rnd(D);
        w.blocks.push_back(b);
    }
    w.norm_w = rnd(D), w.norm_b = rnd(D), w.head_w = rnd(3 * D), w.head_b = rnd(3);
    const vit32 m(w);
    batch4 x = batch4::from_shape({2, 1, 8, 8});
    for (auto& v : x) v = r.normal();
    const std::string path = (std::filesystem::temp_directory_path() / "zoa_vit_nobias.safetensors").string();
    zm::save_vit(m, path);
    zm::vit_load_report rep;
    const vit32 back = vit32::load(path, nullptr, {}, &rep);
    std::remove(path.c_str());
    CHECK(rep.unused.empty());
    CHECK(back.config() == c);
    CHECK(vit_test::max_diff(back.predict(x).data(), m.predict(x).data(), 6) == 0.0);
    CHECK(std::isfinite(m.predict(x)(1, 2)));
}

TEST_CASE("vit: zoa_options::paper<vit<P>>() takes the family and bit-width from the model type") {
    const auto same = [](const zoa::adapt::zoa_options& a, const zoa::adapt::zoa_options& b) {
        return a.lr == b.lr && a.spsa_c == b.spsa_c && a.lambda == b.lambda && a.domain_t == b.domain_t;
    };
    using zoa::adapt::model_family;
    using zoa::adapt::zoa_options;
    static_assert(zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>::family == model_family::vit);
    CHECK(same(zoa_options::paper<zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>>(), zoa_options::paper(model_family::vit, 6)));
    CHECK(same(zoa_options::paper<zoa::models::vit<zoa::ptq4vit<zoa::w8a8>>>(), zoa_options::paper(model_family::vit, 8)));
    CHECK(same(zoa_options::paper<vit32>(), zoa_options::paper(model_family::vit, 32)));
    CHECK(!same(zoa_options::paper<zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>>(), zoa_options::paper(model_family::vit, 8)));
    CHECK(model().layout().family == vit32::family);
}
