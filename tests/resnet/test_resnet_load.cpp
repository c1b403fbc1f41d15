// zoa — ResNet configs, torchvision key map, load report and load errors, adapted-BN selection
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "resnet_fixture.hpp"

using zoa::models::resnet_block;
using zoa::models::resnet_config;
using zoa::models::resnet_stem;

TEST_CASE("resnet_config: presets, JSON round trip, errors") {
    const resnet_config r50 = resnet_config::resnet50();
    CHECK(r50.block == resnet_block::bottleneck);
    CHECK(r50.layers == std::array<std::size_t, 4>{3, 4, 6, 3});
    CHECK(r50.name() == "resnet50");
    CHECK(resnet_config::preset("resnet18").block == resnet_block::basic);
    CHECK(resnet_config::preset("resnet101").layers[2] == 23);
    CHECK(resnet_config::preset("resnet34").name() == "resnet34");
    CHECK_THROWS_WITH_AS(resnet_config::preset("resnet42"), doctest::Contains("resnet18, resnet34, resnet50"),
                         zoa::error);
    for (const auto& c : {r50, resnet_config::resnet18(10)}) CHECK(resnet_config::from_json(c.to_json()) == c);
    // the generator's JSON (tools/reference/models.py, sort_keys)
    const auto small = resnet_config::from_json(
        R"({"block": "basic", "bn_eps": 1e-05, "in_chans": 3, "layers": [2, 2, 2, 2], "num_classes": 10,
            "stem": "small", "widths": [16, 32, 64, 128]})");
    CHECK(small.stem == resnet_stem::small);
    CHECK(small.widths[3] == 128);
    CHECK(small.name() == "resnet");
    CHECK_THROWS_WITH_AS(resnet_config::from_json(R"({"block": "basic", "layers": [2, 2, 2], "widths": [1, 2, 3, 4],
                                                     "num_classes": 3, "stem": "small"})"),
                         doctest::Contains("'layers' must be an array of 4 integers"), zoa::error);
    CHECK_THROWS_WITH_AS(resnet_config::from_json(R"({"block": "dense"})"), doctest::Contains("'block'"), zoa::error);
    CHECK_THROWS_WITH_AS(resnet_config::from_json(R"({"block": "basic", "layers": [1, 1, 1, 1], "widths": [1, 1, 1, 1],
                                                     "num_classes": 3, "stem": "small", "depth": 3})"),
                         doctest::Contains("unknown key 'depth'"), zoa::error);
    CHECK_THROWS_WITH_AS(resnet_config::from_json(R"({"block": "basic", "layers": [1, 0, 1, 1], "widths": [1, 1, 1, 1],
                                                     "num_classes": 3, "stem": "small"})"),
                         doctest::Contains("layers[1]"), zoa::error);
    CHECK_THROWS_WITH_AS(resnet_config::from_json("{"), doctest::Contains("not valid JSON"), zoa::error);
}

TEST_CASE("torchvision key map: state-dict sizes of the presets") {
    // torchvision state dicts: resnet18 122 entries, resnet50 320 (ecosystem notes §2.3), of which one
    // num_batches_tracked per BatchNorm (20 / 53) is not a model tensor
    const auto r18 = zoa::models::resnet_tensor_specs(resnet_config::resnet18());
    const auto r50 = zoa::models::resnet_tensor_specs(resnet_config::resnet50());
    CHECK(r18.size() == 122 - 20);
    CHECK(r50.size() == 320 - 53);
    CHECK(r50.front().key == "conv1.weight");
    CHECK(r50.front().shape == std::vector<std::size_t>{64, 3, 7, 7});
    CHECK(r50.back().key == "fc.bias");
    bool found = false;
    for (const auto& s : r50)
        if (s.key == "layer2.0.conv2.weight") {
            found = true;
            CHECK(s.shape == std::vector<std::size_t>{128, 128, 3, 3});  // v1.5: stride on the 3x3
        }
    CHECK(found);
    const auto mods = zoa::models::resnet_conv_modules(resnet_config::resnet50());
    CHECK(mods.size() == 1 + 16 * 3 + 4 + 1);  // conv1, 16 bottlenecks, 4 downsamples, fc
    CHECK(mods[4].name == "layer1.0.downsample.0");
    CHECK(mods[4].geometry.stride == 1);
}

TEST_CASE("adapted BatchNorms: resnet50 = 24 BNs / 4,352 channels (bn1, bn2 except layer1.0 and layer4)") {
    const auto cfg = resnet_config::resnet50();
    const auto m = rt::fp_resnet::from_tensors(cfg, rt::random_tensors(cfg, 5));
    const auto l = m.layout();
    std::size_t channels = 0;
    for (const auto& n : l.norms) {
        channels += n.channels;
        CHECK(n.name.find("layer4") == std::string::npos);
        CHECK(n.name.rfind("layer1.0.", 0) != 0);
        CHECK((n.name.substr(n.name.size() - 3) == "bn1" || n.name.substr(n.name.size() - 3) == "bn2"));
    }
    CHECK(l.norms.size() == 24);
    CHECK(channels == 4352);
    CHECK(l.parameter_count() == 8704);
    CHECK(l.norms.front().name == "layer1.1.bn1");
    CHECK(l.norms.back().name == "layer3.5.bn2");
    CHECK(l.feature_groups == std::vector<std::size_t>{256, 512, 1024, 2048});
    CHECK(l.feature_width() == 3840);
    CHECK(l.num_classes == 1000);
    CHECK(l.family == zoa::adapt::model_family::resnet);
    CHECK(l.reference_scalar_shift);
    CHECK(l.prompt_unit == 441);
    CHECK(l.prompt_init_scale == doctest::Approx(std::sqrt(2.0 / (1.0 + 1e-4)) / std::sqrt(147.0)).epsilon(1e-6));
    // source affine parameters are the model's
    CHECK(l.norms[0].weight[0] == m.layout().norms[0].weight[0]);
    // resnet18: layer1.1, layer2.*, layer3.* → 5 blocks × 2 BNs
    const auto r18 = rt::fp_resnet::from_tensors(resnet_config::resnet18(), rt::random_tensors(resnet_config::resnet18(), 6));
    CHECK(r18.layout().norms.size() == 10);
    CHECK(r18.layout().parameter_count() == 2 * (2 * 64 + 4 * 128 + 4 * 256));
}

TEST_CASE("torchvision key map: load report, config inference, metadata") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const auto m = rt::fp_resnet::load(rt::model_path(name));
        const auto& r = m.report();
        CHECK(r.complete());
        CHECK(r.unused.empty());
        CHECK(r.loaded == zoa::models::resnet_tensor_specs(m.config()).size());
        std::size_t bns = 0;
        for (const auto& spec : zoa::models::resnet_tensor_specs(m.config()))
            bns += spec.key.find("running_var") != std::string::npos;
        CHECK(r.skipped.size() == bns);  // one num_batches_tracked (I64) per BatchNorm
        for (const auto& k : r.skipped) CHECK(k.find("num_batches_tracked") != std::string::npos);
        MESSAGE(name << ": " << r.to_string());

        // without metadata the config is inferred from the tensor shapes; same network, same logits
        const rt::temp_file tf("nometa");
        rt::copy_file(rt::model_path(name), tf.path, [](const std::string&) { return true; }, {}, false);
        const auto inferred = rt::fp_resnet::load(tf.path);
        CHECK(inferred.config() == m.config());
        const rt::golden g(name);
        CHECK(rt::max_diff(inferred.predict(g.images("input")), m.predict(g.images("input"))) == 0.0f);
        // an explicit config wins
        zoa::models::resnet_load_options opt;
        opt.config = m.config();
        CHECK(rt::fp_resnet::load(tf.path, opt).config() == m.config());
        // a preset that does not match names the first tensor whose shape differs
        opt.config.reset();
        opt.arch = "resnet18";
        CHECK_THROWS_AS(rt::fp_resnet::load(tf.path, opt), zoa::error);

        // fp32 save → torchvision keys again
        const rt::temp_file saved("fp32");
        m.save(saved.path);
        const auto back = rt::fp_resnet::load(saved.path);
        CHECK(back.report().unused.empty());
        CHECK(rt::max_diff(back.predict(g.images("input")), m.predict(g.images("input"))) == 0.0f);
    }
}

TEST_CASE("torchvision key map: missing, unused, shape, dtype and arch errors name the key") {
    const std::string src = rt::model_path("basic");
    const rt::temp_file tf("bad");

    rt::copy_file(src, tf.path, [](const std::string& k) { return k != "layer2.0.bn1.running_var"; });
    CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path), doctest::Contains("missing"), zoa::error);
    CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path), doctest::Contains("layer2.0.bn1.running_var"), zoa::error);

    rt::copy_file(src, tf.path, [](const std::string&) { return true; },
                  [](zoa::io::safetensors_writer& w) { w.add("head.extra.weight", {2}, std::vector<float>{1, 2}); });
    zoa::models::resnet_load_options lenient;
    lenient.strict = false;
    const auto m = rt::fp_resnet::load(tf.path, lenient);
    REQUIRE(m.report().unused.size() == 1);
    CHECK(m.report().unused[0] == "head.extra.weight");
    // strict is the default (issue #16 item 10): unused tensors are an error listing them
    CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path),
                         doctest::Contains("1 tensor(s) not used by the model: head.extra.weight"), zoa::error);

    rt::copy_file(src, tf.path, [](const std::string& k) { return k != "layer3.1.conv2.weight"; },
                  [](zoa::io::safetensors_writer& w) {
                      w.add("layer3.1.conv2.weight", {8, 8, 1, 1}, std::vector<float>(64, 0.5f));
                  });
    try {
        (void)rt::fp_resnet::load(tf.path);
        FAIL("expected a shape error");
    } catch (const zoa::error& e) {
        const std::string msg = e.what();
        MESSAGE(msg);
        CHECK(e.code() == zoa::error_code::shape);
        CHECK(msg.find("layer3.1.conv2.weight") != std::string::npos);
        CHECK(msg.find("[8, 8, 1, 1]") != std::string::npos);
        CHECK(msg.find("expected [8, 8, 3, 3]") != std::string::npos);
    }

    rt::copy_file(src, tf.path, [](const std::string& k) { return k != "fc.bias"; },
                  [](zoa::io::safetensors_writer& w) { w.add("fc.bias", {10}, std::vector<std::int32_t>(10, 1)); });
    CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path), doctest::Contains("'fc.bias' has dtype I32"), zoa::error);

    const auto f = zoa::io::safetensors_file::open(src);
    zoa::io::safetensors_writer w;
    for (const auto& k : f.keys()) w.add_raw(k, f.info(k).dtype, f.info(k).shape, f.bytes(k).data, f.bytes(k).size);
    w.set_metadata("zoa.arch", "vit");
    w.save(tf.path);
    CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path), doctest::Contains("zoa.arch is 'vit'"), zoa::error);

    CHECK_THROWS_AS(rt::fp_resnet::load(tf.path + ".does-not-exist"), zoa::error);
}

TEST_CASE("resnet: bad batches and prompts are rejected") {
    auto m = rt::fp_resnet::load(rt::model_path("bottleneck"));
    xt::xtensor<float, 4> wrong = xt::xtensor<float, 4>::from_shape({2, 1, 24, 24});
    CHECK_THROWS_WITH_AS(m.predict(wrong), doctest::Contains("expected [B >= 1, 3, H, W]"), zoa::error);
    xt::xtensor<float, 4> tiny = xt::xtensor<float, 4>::from_shape({2, 3, 0, 0});  // 7x7 stem kernel > padded 6x6
    CHECK_THROWS_AS(m.predict(tiny), zoa::error);
    const rt::golden g("bottleneck");
    std::vector<float> prompt(100);
    zoa::adapt::forward_request req;
    req.prompt = prompt.data();
    req.prompt_size = prompt.size();
    zoa::adapt::forward_result r;
    CHECK_THROWS_WITH_AS(m.forward_adapt(g.images("input"), req, r), doctest::Contains("expected 441"), zoa::error);
    CHECK_THROWS_WITH_AS(m.set_simulated(true), doctest::Contains("not quantized"), zoa::error);
    // one image with batch-statistics BatchNorm on layer4's 1x1 map: a single value per channel (PyTorch refuses too)
    const auto x = g.images("input");
    xt::xtensor<float, 4> one = xt::xtensor<float, 4>::from_shape({1, 3, 24, 24});
    std::copy(x.data(), x.data() + one.size(), one.data());
    zoa::adapt::forward_request bs;
    bs.batch_statistics = true;
    CHECK_THROWS_WITH_AS(m.forward_adapt(one, bs, r), doctest::Contains("more than 1 value per channel"), zoa::error);
    CHECK_NOTHROW(m.forward_adapt(one, zoa::adapt::forward_request{}, r));
}
