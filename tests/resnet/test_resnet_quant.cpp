// zoa — MQBench-quantized ResNet: calibration and fake-quant logits vs the PyTorch reference, integer vs simulated
// path, top-1 agreement with fp32, save/load of calibrated models, policy errors, the batch-statistics convs' Gram route
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "resnet_fixture.hpp"

#include <cstring>

namespace {

template <class Q>
void golden_case(const std::string& name, const char* tag) {
    const rt::golden g(name);
    const auto fp = rt::fp_resnet::load(rt::model_path(name));
    const auto x = g.images("input");
    zoa::models::calibration_options opt;
    opt.images = 8;
    opt.batch_size = 4;  // two observer batches, as the fixture
    auto q = Q::calibrate(fp, g.images("calib.images"), opt);
    const std::string t(tag);

    const auto modules = zoa::models::resnet_conv_modules(fp.config());
    const std::vector<float> scale = g.vec(t + ".input_scale"), zp = g.vec(t + ".input_zero_point"),
                             wsum = g.vec(t + ".weight_scale_sum");
    REQUIRE(scale.size() == modules.size());
    float worst_s = 0, worst_w = 0;
    int zp_mismatch = 0;
    const auto params = q.quant_params();
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const auto& mp = params.modules.at(modules[i].name);
        worst_s = std::max(worst_s, std::fabs(mp.input().scale[0] - scale[i]) / scale[i]);
        zp_mismatch += mp.input().zero_point[0] != static_cast<std::int32_t>(zp[i]);
        double s = 0;
        for (float v : mp.weight().scale) s += v;
        worst_w = std::max(worst_w, static_cast<float>(std::fabs(s - wsum[i]) / wsum[i]));
    }
    MESSAGE(name << " " << t << ": activation scales max rel diff " << worst_s << ", zero-point mismatches "
                 << zp_mismatch << ", sum of weight scales max rel diff " << worst_w);
    CHECK(worst_s <= 1e-5f);  // the fp32 activations differ from torch's by float rounding only
    CHECK(zp_mismatch == 0);
    CHECK(worst_w <= 1e-5f);

    q.set_simulated(true);
    const auto sim = q.predict(x);
    q.set_simulated(false);
    const auto integer = q.predict(x);
    const auto ref = g.mat(t + ".logits");
    MESSAGE(name << " " << t << ": simulated vs torch " << rt::rel_diff(sim, ref) << ", integer vs torch "
                 << rt::rel_diff(integer, ref) << ", integer vs simulated " << rt::rel_diff(integer, sim)
                 << " (relative to max |logit|)");
    CHECK(rt::rel_diff(sim, ref) <= 1e-4f);
    CHECK(rt::rel_diff(integer, ref) <= 1e-4f);
    CHECK(rt::rel_diff(integer, sim) <= 1e-4f);
    zoa::adapt::forward_result r;
    q.forward_adapt(x, zoa::adapt::forward_request{}, r);
    const float fr = rt::rel_diff(r.features, g.mat(t + ".features"));
    MESSAGE(name << " " << t << ": features (after the stage-output / flatten quantizers) vs torch " << fr);
    CHECK(fr <= 1e-4f);
}

}  // namespace

TEST_CASE("resnet MQBench calibration and fake-quant logits vs PyTorch") {
    golden_case<rt::w8_resnet>("basic", "w8a8");
    golden_case<rt::w4_resnet>("basic", "w4a4");
    golden_case<rt::w8_resnet>("bottleneck", "w8a8");
    golden_case<rt::w4_resnet>("bottleneck", "w4a4");
}

namespace {

/// Runs every adaptation request kind through the integer and the simulated path of q.
template <class Q>
void paths_agree(Q& q, const rt::golden& g) {
    const auto x = g.images("input");
    const std::vector<float> theta = g.vec("adapted.params"), shift = g.vec("shift.vector"),
                             prompt = g.vec("prompt.weight");
    zoa::adapt::forward_request req;
    req.batch_statistics = true;
    req.norm_params = theta.data();
    req.shift = shift.data();
    for (const bool prompted : {true, false}) {  // with the prompt: float stem; without: integer stem moments
        req.prompt = prompted ? prompt.data() : nullptr;
        req.prompt_size = prompted ? prompt.size() : 0;
        zoa::adapt::forward_result ri, rs;
        q.set_simulated(false);
        q.forward_adapt(x, req, ri);
        q.set_simulated(true);
        q.forward_adapt(x, req, rs);
        q.set_simulated(false);
        const float dl = rt::rel_diff(ri.logits, rs.logits), ds = rt::rel_diff(ri.shifted_logits, rs.shifted_logits),
                    df = rt::rel_diff(ri.features, rs.features), dm = rt::rel_diff(ri.embed_mean, rs.embed_mean),
                    dv = rt::rel_diff(ri.embed_var, rs.embed_var);
        MESSAGE("integer vs simulated (batch stats, adapted BNs, shift" << (prompted ? ", prompt" : "") << "): logits "
                                                                          << dl << ", shifted " << ds << ", features "
                                                                          << df << ", embedding mean/var " << dm << "/"
                                                                          << dv);
        CHECK(dl <= 1e-4f);
        CHECK(ds <= 1e-4f);
        CHECK(df <= 1e-4f);
        CHECK(dm <= 1e-4f);
        CHECK(dv <= 1e-4f);
    }
}

template <class Q>
Q calibrated(const std::string& name, std::size_t threads = 1) {
    const rt::golden g(name);
    auto fp = rt::fp_resnet::load(rt::model_path(name));
    fp.set_threads(threads);
    zoa::models::calibration_options opt;
    opt.batch_size = 4;
    return Q::calibrate(fp, g.images("calib.images"), opt);
}

}  // namespace

TEST_CASE("resnet quantized: integer and simulated paths agree on every forward_adapt request") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        auto q8 = calibrated<rt::w8_resnet>(name);
        paths_agree(q8, g);
        auto q4 = calibrated<rt::w4_resnet>(name);
        paths_agree(q4, g);
    }
}

TEST_CASE("resnet W8A8 top-1 agreement with fp32 on the fixture images") {
    std::size_t agree8 = 0, agree4 = 0, total = 0;
    for (const std::string name : {"basic", "bottleneck"}) {
        const rt::golden g(name);
        const auto fp = rt::fp_resnet::load(rt::model_path(name));
        const auto q8 = calibrated<rt::w8_resnet>(name);
        const auto q4 = calibrated<rt::w4_resnet>(name);
        for (const char* k : {"input", "calib.images"}) {
            const auto x = g.images(k);
            const auto t = rt::top1(fp.predict(x)), t8 = rt::top1(q8.predict(x)), t4 = rt::top1(q4.predict(x));
            for (std::size_t i = 0; i < t.size(); ++i) {
                agree8 += t8[i] == t[i];
                agree4 += t4[i] == t[i];
            }
            total += t.size();
        }
    }
    MESSAGE("top-1 agreement with fp32 over " << total << " fixture images (random-weight models): W8A8 " << agree8
                                               << "/" << total << ", W4A4 " << agree4 << "/" << total);
    CHECK(agree8 * 10 >= total * 9);  // 8-bit PTQ of these tiny nets flips at most 1 in 10 predictions
}

TEST_CASE("resnet quantized: save and load a calibrated model") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        const auto x = g.images("input");
        const auto q = calibrated<rt::w8_resnet>(name);
        const rt::temp_file tf("q8");
        q.save(tf.path);
        const auto back = rt::w8_resnet::load(tf.path);
        CHECK(back.report().complete());
        CHECK(back.report().unused.empty());
        CHECK(back.config() == q.config());
        CHECK(back.quant_params().modules == q.quant_params().modules);
        CHECK(back.activation_params() == q.activation_params());
        const auto a = q.predict(x), b = back.predict(x);
        CHECK(rt::max_diff(a, b) == 0.0f);  // same codes, same params: bit-identical
        CHECK(back.classifier_weight() == q.classifier_weight());
        const auto fsize = std::filesystem::file_size(tf.path), fp_size = std::filesystem::file_size(rt::model_path(name));
        MESSAGE(name << ": calibrated W8A8 file " << fsize << " B vs fp32 file " << fp_size << " B (ratio "
                     << double(fsize) / double(fp_size) << "; BN, biases and quantizer parameters stay fp32)");

        // an fp32 file is not a calibrated model and vice versa; other bit-widths are refused
        CHECK_THROWS_WITH_AS(rt::w8_resnet::load(rt::model_path(name)),
                             doctest::Contains(": file is fp32, model type is W8A8: load it as "
                                               "zoa::models::resnet<zoa::policy<zoa::fp32>> and calibrate() it"),
                             zoa::error);
        CHECK_THROWS_WITH_AS(rt::fp_resnet::load(tf.path),
                             doctest::Contains(": file is W8A8, model type is fp32: load it as "
                                               "zoa::models::resnet<zoa::mqbench<zoa::w8a8>>"),
                             zoa::error);
        CHECK_THROWS_WITH_AS(rt::w4_resnet::load(tf.path),
                             doctest::Contains(": file is W8A8, model type is W4A4: load it as "
                                               "zoa::models::resnet<zoa::mqbench<zoa::w8a8>>"),
                             zoa::error);

        // a module's input quantizer must equal the quantizer of the tensor it shares (downsample.0 vs conv1)
        const rt::temp_file bad("q8bad");
        const std::string victim = name == "basic" ? "layer2.0.downsample.0.input_quant.scale"
                                                   : "layer1.0.downsample.0.input_quant.scale";
        rt::copy_file(tf.path, bad.path, [&](const std::string& k) { return k != victim; },
                      [&](zoa::io::safetensors_writer& w) { w.add(victim, {1}, std::vector<float>{0.123f}); });
        CHECK_THROWS_WITH_AS(rt::w8_resnet::load(bad.path), doctest::Contains("differs"), zoa::error);
        // missing quantizer parameters name the module
        rt::copy_file(tf.path, bad.path, [&](const std::string& k) { return k.rfind("layer1.0.conv2.", 0) != 0 || k.find("_quant") == std::string::npos; });
        CHECK_THROWS_WITH_AS(rt::w8_resnet::load(bad.path), doctest::Contains("layer1.0.conv2"), zoa::error);
    }
}

TEST_CASE("resnet: results do not depend on the thread count") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        const auto x = g.images("input");
        const std::vector<float> prompt = g.vec("prompt.weight"), shift = g.vec("shift.vector");
        zoa::adapt::forward_request req;
        req.batch_statistics = true;
        req.prompt = prompt.data();
        req.prompt_size = prompt.size();
        req.shift = shift.data();
        auto fp = rt::fp_resnet::load(rt::model_path(name));
        auto q1 = calibrated<rt::w8_resnet>(name, 1);
        auto q3 = calibrated<rt::w8_resnet>(name, 3);
        CHECK(q1.quant_params().modules == q3.quant_params().modules);  // calibration is thread-count invariant
        zoa::adapt::forward_result a, b;
        fp.forward_adapt(x, req, a);
        fp.set_threads(3);
        fp.forward_adapt(x, req, b);
        CHECK(rt::max_diff(a.logits, b.logits) == 0.0f);
        CHECK(rt::max_diff(a.features, b.features) == 0.0f);
        CHECK(rt::max_diff(a.shifted_logits, b.shifted_logits) == 0.0f);
        CHECK(rt::max_diff(a.embed_var, b.embed_var) == 0.0f);
        q1.forward_adapt(x, req, a);
        q3.forward_adapt(x, req, b);
        CHECK(rt::max_diff(a.logits, b.logits) == 0.0f);
        CHECK(rt::max_diff(a.features, b.features) == 0.0f);
        CHECK(rt::max_diff(a.embed_mean, b.embed_mean) == 0.0f);
    }
}

TEST_CASE("resnet: a batch-statistics forward on the same input reuses the unadapted prefix, bit for bit") {
    for (const std::string name : {"basic", "bottleneck"}) {
        CAPTURE(name);
        const rt::golden g(name);
        const auto x = g.images("input");
        const std::vector<float> theta = g.vec("adapted.params");
        auto q = calibrated<rt::w8_resnet>(name);
        zoa::adapt::forward_request req;
        req.batch_statistics = true;
        zoa::adapt::forward_result a, b, c;
        q.forward_adapt(x, req, a);  // keeps the prefix
        zoa::adapt::forward_request adapted = req;
        adapted.norm_params = theta.data();
        q.forward_adapt(x, adapted, b);  // same input codes: the prefix is reused
        auto fresh = calibrated<rt::w8_resnet>(name);
        fresh.forward_adapt(x, adapted, c);
        CHECK(rt::max_diff(b.logits, c.logits) == 0.0f);
        CHECK(rt::max_diff(b.features, c.features) == 0.0f);
        CHECK(rt::max_diff(b.embed_mean, c.embed_mean) == 0.0f);
        CHECK(rt::max_diff(b.embed_var, c.embed_var) == 0.0f);
        // one pixel changed: recomputed, not served from the kept prefix
        auto x2 = x;
        x2(0, 0, 0, 0) += 1.0f;
        q.forward_adapt(x2, adapted, b);
        auto fresh2 = calibrated<rt::w8_resnet>(name);
        fresh2.forward_adapt(x2, adapted, c);
        CHECK(rt::max_diff(b.logits, c.logits) == 0.0f);
        CHECK(rt::max_diff(b.features, c.features) == 0.0f);
        CHECK(rt::max_diff(b.embed_mean, c.embed_mean) == 0.0f);
        CHECK(rt::max_diff(a.logits, b.logits) > 0.0f);
    }
}

TEST_CASE("resnet: memory report and adaptability") {
    static_assert(zoa::adapt::is_adaptable_v<rt::fp_resnet, rt::fp_resnet::batch_type>);
    static_assert(zoa::adapt::is_adaptable_v<rt::w8_resnet, rt::w8_resnet::batch_type>);
    static_assert(zoa::adapt::is_adaptable_v<rt::w4_resnet, rt::w4_resnet::batch_type>);
    const auto fp = rt::fp_resnet::load(rt::model_path("bottleneck"));
    const auto q = calibrated<rt::w8_resnet>("bottleneck");
    const auto mf = fp.memory(4, 24, 24), mq = q.memory(4, 24, 24);
    MESSAGE("bottleneck fixture, batch 4 at 24x24: fp32 " << mf.to_string() << "; W8A8 " << mq.to_string());
    CHECK(mq.packed_weight_bytes < mf.packed_weight_bytes);
    CHECK(mf.scratch_bytes > 0);
    CHECK(mq.float_param_bytes > 0);
    MESSAGE(q.summary());
}

TEST_CASE("resnet: the policy's weight granularity is a real choice (per tensor next to MQBench's per channel)") {
    using per_tensor = zoa::models::resnet<zoa::policy<zoa::w8a8, zoa::quant::weight_scheme<zoa::quant::asymmetric,
                                                                                             zoa::quant::per_tensor>,
                                                       zoa::quant::activation_scheme<zoa::quant::asymmetric>>>;
    static_assert(!per_tensor::per_channel_weights && rt::w8_resnet::per_channel_weights);
    const std::string name = "basic";
    const rt::golden g(name);
    const auto fp = rt::fp_resnet::load(rt::model_path(name));
    const auto pt = calibrated<per_tensor>(name);
    const auto pc = calibrated<rt::w8_resnet>(name);
    for (const auto& entry : pt.quant_params().modules) {  // not a structured binding: CAPTURE's lambda needs a variable
        const std::string& module = entry.first;
        const auto& mp = entry.second;
        CAPTURE(module);
        CHECK(mp.weight().groups() == 1);
        CHECK(mp.weight().gran == zoa::quant::granularity::per_tensor);
        CHECK(mp.input() == pc.quant_params().modules.at(module).input());  // activations: the same observers
    }
    const auto x = g.images("calib.images");
    const auto t = rt::top1(fp.predict(x)), tt = rt::top1(pt.predict(x)), tc = rt::top1(pc.predict(x));
    std::size_t agree_t = 0, agree_c = 0;
    for (std::size_t i = 0; i < t.size(); ++i) agree_t += tt[i] == t[i], agree_c += tc[i] == t[i];
    MESSAGE("W8A8 top-1 agreement with fp32 on " << t.size() << " images: per-tensor weights " << agree_t
                                                 << ", per-channel weights " << agree_c);
    CHECK(agree_t * 10 >= t.size() * 8);
    // a calibrated file keeps its granularity, and the other granularity's type refuses it by name
    const rt::temp_file tf("q8pt");
    pt.save(tf.path);
    const auto back = per_tensor::load(tf.path);
    CHECK(rt::max_diff(back.predict(x), pt.predict(x)) == 0.0f);
    CHECK_THROWS_WITH_AS(rt::w8_resnet::load(tf.path),
                         doctest::Contains("file has per-tensor weights (module 'conv1'), model type has per-channel"),
                         zoa::error);
}

namespace {

/// One conv + batch-statistics BatchNorm (+ residual codes, ReLU, output codes; or floats) both ways: through the
/// stored int32 accumulators (forward_acc_nhwc → moments → apply_fused_nhwc) and, where gram_moments() selects it,
/// from the input's Gram moments with one fused pass (moments_nhwc → forward_fused_nhwc). The bytes must agree.
template <class A>
void gram_vs_acc(std::size_t in, std::size_t out, std::size_t batch, std::size_t hw, bool expect_gram,
                 std::uint64_t seed) {
    CAPTURE(in);
    CAPTURE(out);
    CAPTURE(batch);
    using conv_t = zoa::nn::qconv2d<A, A>;
    constexpr int bits = A::max == 255 ? 8 : 6;
    zoa::rng r(seed);
    zoa::nn::conv2d_geometry g;
    g.in_channels = in;
    g.out_channels = out;
    std::vector<float> weight(in * out), bias(out), bn_w(out), bn_b(out);
    for (float& v : weight) v = 0.2f * r.normal();
    for (float& v : bias) v = 0.1f * r.normal();
    for (float& v : bn_w) v = 1.0f + 0.2f * r.normal();
    for (float& v : bn_b) v = 0.1f * r.normal();
    zoa::quant::mse_observer wo(bits, zoa::quant::granularity::per_channel, out);
    wo.observe(weight.data(), weight.size());
    zoa::quant::module_params mp;
    mp.weight() = wo.params();
    mp.input() = zoa::quant::make_affine(bits, zoa::quant::granularity::per_tensor, {0.05f}, {17});
    const conv_t conv(weight, bias, g, mp, "gram_conv");
    const std::size_t rows = batch * hw * hw;
    CHECK(conv.gram_moments(rows) ==
          (expect_gram && zoa::kernels::gram_q8_simd_v<typename conv_t::packed_type::arch>));
    std::vector<typename A::storage> x(rows * in), res(rows * out);
    for (auto& v : x) v = static_cast<typename A::storage>(r.uniform_index(A::max + 1));
    for (auto& v : res) v = static_cast<typename A::storage>(r.uniform_index(A::max + 1));
    const std::vector<float> s = conv.output_scales();
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        zoa::execution_context ctx(threads);
        std::vector<std::int32_t> acc(rows * out);
        zoa::kernels::acc_moments m_acc;
        conv.forward_acc_nhwc(x.data(), batch, hw, hw, acc.data(), &m_acc, ctx);
        const auto f = zoa::kernels::batch_norm_acc_affine(m_acc, out, s.data(), bias.data(), bn_w.data(),
                                                           bn_b.data(), 1e-5f);
        auto codes_stage = [&](std::vector<typename A::storage>& dst) {
            zoa::kernels::out_fused<typename A::storage, typename A::storage> st;
            st.c = dst.data();
            st.out_scale = 0.03f;
            st.out_zero_point = 5;
            st.out_min = 0;
            st.out_max = A::max;
            st.bn_mean = f.center.data();
            st.bn_mean_residual = f.residual.data();
            st.bn_scale = f.scale.data();
            st.bn_shift = f.shift.data();
            st.res_q = res.data();
            st.res_scale = 0.04f;
            st.res_zero_point = 9;
            st.relu = true;
            return st;
        };
        auto float_stage = [&](std::vector<float>& dst) {
            zoa::kernels::out_fused<float, typename A::storage> st;
            st.c = dst.data();
            st.bn_mean = f.center.data();
            st.bn_mean_residual = f.residual.data();
            st.bn_scale = f.scale.data();
            st.bn_shift = f.shift.data();
            return st;
        };
        std::vector<typename A::storage> qa(rows * out), qb(rows * out);
        std::vector<float> fa(rows * out), fb(rows * out);
        conv.apply_fused_nhwc(acc.data(), rows, codes_stage(qa), ctx);
        conv.apply_fused_nhwc(acc.data(), rows, float_stage(fa), ctx);
        if (!conv.gram_moments(rows)) {
            zoa::kernels::acc_moments m;
            CHECK_THROWS_WITH_AS(conv.moments_nhwc(x.data(), batch, hw, hw, m, ctx),
                                 doctest::Contains("not a Gram-moments conv"), zoa::error);
            continue;
        }
        zoa::kernels::acc_moments m_gram;
        conv.moments_nhwc(x.data(), batch, hw, hw, m_gram, ctx);
        CHECK(m_gram.count == m_acc.count);
        CHECK(m_gram.s1 == m_acc.s1);
        CHECK(m_gram.s2 == m_acc.s2);
        conv.forward_fused_nhwc(x.data(), batch, hw, hw, codes_stage(qb), ctx);
        conv.forward_fused_nhwc(x.data(), batch, hw, hw, float_stage(fb), ctx);
        CHECK(qa == qb);
        CHECK(std::memcmp(fa.data(), fb.data(), fa.size() * sizeof(float)) == 0);
    }
}

}  // namespace

TEST_CASE("qconv2d batch statistics: the Gram moments + one fused pass write the bytes of the stored-accumulator path") {
    using u8 = zoa::quant::unsigned_range<8>;
    using u6 = zoa::quant::unsigned_range<6>;
    gram_vs_acc<u8>(64, 256, 2, 16, true, 1);   // ResNet-50 layer1 conv3 / downsample (rows = 8·K)
    gram_vs_acc<u8>(128, 512, 4, 16, true, 2);  // layer2 conv3
    gram_vs_acc<u6>(64, 256, 4, 12, true, 3);    // 6-bit codes in int8_t storage
    gram_vs_acc<u8>(64, 256, 1, 15, false, 4);  // 225 rows < 8·K: through the accumulators
    gram_vs_acc<u8>(256, 64, 2, 16, false, 5);  // K² > 32·N (layer1 conv1): through the accumulators
    gram_vs_acc<u8>(48, 256, 2, 16, false, 6);  // K not a multiple of 32
}
