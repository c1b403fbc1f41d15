// zoa — quantized ViT: PTQ4ViT calibration on the fixture, W8A8/W6A6/W4A4 top-1 agreement with fp32, integer vs
// simulated (fake-quant) paths for layers and the model, thread-count invariance, calibrated save/load, memory
#include <doctest/doctest.h>

#include "zoa/core/rng.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/models/vit_calibration.hpp"
#include "zoa/models/vit_io.hpp"
#include "zoa/nn/attention.hpp"
#include "zoa/nn/linear.hpp"

#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "vit_fixture.hpp"

namespace zm = zoa::models;
namespace q = zoa::quant;
using vit32 = zm::vit<zoa::policy<zoa::fp32>>;
using vit8 = zm::vit<zoa::ptq4vit<zoa::w8a8>>;

namespace {

std::vector<float> randn(std::size_t n, float s, std::uint64_t seed) {
    zoa::rng r(seed);
    std::vector<float> v(n);
    for (float& x : v) x = s * r.normal();
    return v;
}
float absmax(const std::vector<float>& v, std::size_t b = 0, std::size_t e = 0) {
    if (e == 0) e = v.size();
    float m = 0;
    for (std::size_t i = b; i < e; ++i) m = std::max(m, std::fabs(v[i]));
    return m;
}

/// The calibration every model-level test shares: W8A8 on the first 8 fixture images.
const q::model_quant_params& params8() {
    static const q::model_quant_params p = [] {
        zm::vit_calibration_options o;
        o.max_images = 8;
        return zm::calibrate_ptq4vit<zoa::w8a8>(vit_test::weights(), vit_test::images(0, 8), o);
    }();
    return p;
}

double agreement(const xt::xtensor<float, 2>& a, const xt::xtensor<float, 2>& b) {
    const auto x = vit_test::argmax_rows(a), y = vit_test::argmax_rows(b);
    std::size_t same = 0;
    for (std::size_t i = 0; i < x.size(); ++i) same += x[i] == y[i];
    return double(same) / double(x.size());
}

}  // namespace

TEST_CASE_TEMPLATE("qlinear: integer and simulated paths agree (uniform and post-GELU inputs, 3 granularities)", B,
                   zoa::w8a8, zoa::w6a6, zoa::w4a4) {
    const std::size_t out = 48, in = 40, rows = 13;
    const std::vector<float> w = randn(out * in, 0.2f, 1), bias = randn(out, 0.1f, 2);
    std::vector<float> x = randn(rows * in, 1.0f, 3), g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] / std::sqrt(2.0f)));
    for (int gran = 0; gran < 3; ++gran) {
        std::vector<float> wa;
        q::granularity gr = q::granularity::per_tensor;
        if (gran == 0) wa = {absmax(w)};
        if (gran == 1) {
            gr = q::granularity::per_row_block;
            for (std::size_t b = 0; b < 3; ++b) wa.push_back(absmax(w, b * 16 * in, (b + 1) * 16 * in));
        }
        if (gran == 2) {
            gr = q::granularity::per_channel;
            for (std::size_t o = 0; o < out; ++o) wa.push_back(absmax(w, o * in, (o + 1) * in));
        }
        for (bool twin : {false, true}) {
            q::module_params p;
            p.weight() = q::symmetric_params_from_absmax(B::weight_bits, gr, wa);
            const std::vector<float>& xin = twin ? g : x;
            p.input() =
                twin ? q::make_post_gelu(B::activation_bits, {absmax(g) / 100.0f * 80.0f})
                     : q::make_symmetric(B::activation_bits, q::granularity::per_tensor, {absmax(x) / 120.0f * 100.0f});
            const zoa::nn::qlinear<B> l(w, bias, out, in, p, "test");
            std::vector<std::int8_t> codes(w.size());
            q::encode(p.weight(), w.data(), w.size(), codes.data());
            CHECK(l.codes() == codes);
            const zoa::nn::qlinear<B> from_codes(codes, bias, out, in, p, "test");
            zoa::execution_context ctx(2);
            std::vector<float> yi(rows * out), ys(rows * out), yr(rows * out);
            l.forward(xin.data(), rows, yi.data(), ctx);
            l.forward(xin.data(), rows, ys.data(), ctx, zoa::nn::quant_exec::simulated);
            // simulated path = the reference formula: fake_quant(x)·fake_quant(W)ᵀ + b in double
            const std::vector<float> xq = q::fake_quant(p.input(), xin), wq = l.dequantized_weight();
            CHECK(wq == q::fake_quant(p.weight(), w));
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t o = 0; o < out; ++o) {
                    double s = bias[o];
                    for (std::size_t k = 0; k < in; ++k) s += double(xq[r * in + k]) * double(wq[o * in + k]);
                    yr[r * out + o] = float(s);
                }
            const double scale = vit_test::max_abs(yr.data(), yr.size());
            INFO("bits " << B::weight_bits << ", granularity " << gran << ", twin " << twin);
            CHECK(vit_test::max_diff(yi.data(), yr.data(), yr.size()) <= 1e-5 * scale);
            CHECK(vit_test::max_diff(ys.data(), yr.data(), yr.size()) <= 1e-5 * scale);
            std::vector<float> yc(rows * out);
            from_codes.forward(xin.data(), rows, yc.data(), ctx);
            CHECK(yc == yi);
        }
    }
}

TEST_CASE("qlinear: parameters must fit the policy and the layer") {
    const std::vector<float> w = randn(6 * 4, 1.0f, 4);
    q::module_params p;
    p.weight() = q::make_symmetric(6, q::granularity::per_tensor, {0.1f});
    p.input() = q::make_symmetric(8, q::granularity::per_tensor, {0.1f});
    CHECK_THROWS_AS(zoa::nn::qlinear<zoa::w8a8>(w, {}, 6, 4, p, "blocks.0.mlp.fc1"), zoa::error);
    p.weight().bits = 8;
    p.input() = q::make_none();
    CHECK_THROWS_AS(zoa::nn::qlinear<zoa::w8a8>(w, {}, 6, 4, p, "x"), zoa::error);
    p.input() = q::make_symmetric(8, q::granularity::per_tensor, {0.1f});
    CHECK_NOTHROW(zoa::nn::qlinear<zoa::w8a8>(w, {}, 6, 4, p, "x"));
    CHECK_THROWS_AS(zoa::nn::qlinear<zoa::w8a8>(w, {}, 5, 4, p, "x"), zoa::error);
}

TEST_CASE_TEMPLATE("attention: integer and simulated paths agree (post-softmax twin and uniform probabilities)", B,
                   zoa::w8a8, zoa::w4a4) {
    const std::size_t D = 24, H = 3, T = 11, batch = 2;
    const std::vector<float> wqkv = randn(3 * D * D, 0.3f, 5), bqkv = randn(3 * D, 0.1f, 6);
    const std::vector<float> wp = randn(D * D, 0.2f, 7), bp = randn(D, 0.1f, 8), x = randn(batch * T * D, 1.0f, 9);
    const int b = B::activation_bits;
    q::module_params lin;
    lin.weight() = q::symmetric_params_from_absmax(B::weight_bits, q::granularity::per_tensor, {absmax(wqkv)});
    lin.input() = q::make_symmetric(b, q::granularity::per_tensor, {absmax(x) / float((1 << (b - 1)) - 1)});
    q::module_params lp = lin;
    lp.weight() = q::symmetric_params_from_absmax(B::weight_bits, q::granularity::per_tensor, {absmax(wp)});
    const std::vector<float> head_scales(H, 4.0f / float((1 << (b - 1)) - 1));
    q::module_params m1, m2;
    m1.kind = m2.kind = q::module_kind::matmul;
    m1.a() = m1.b() = m2.b() = q::make_symmetric(b, q::granularity::per_head, head_scales);
    for (bool twin : {true, false}) {
        m2.a() = twin ? q::make_post_softmax(b, 1.0f / 64.0f)
                      : q::make_symmetric(b, q::granularity::per_head,
                                          std::vector<float>(H, 1.0f / float((1 << (b - 1)) - 1)));
        const zoa::nn::attention<B> a(zoa::nn::qlinear<B>(wqkv, bqkv, 3 * D, D, lin, "qkv"),
                                      zoa::nn::qlinear<B>(wp, bp, D, D, lp, "proj"), H, m1, m2);
        zoa::execution_context ctx(2);
        std::vector<float> yi(x.size()), ys(x.size());
        a.forward(x.data(), batch, T, yi.data(), ctx);
        a.forward(x.data(), batch, T, ys.data(), ctx, zoa::nn::quant_exec::simulated);
        const double err = vit_test::max_diff(yi.data(), ys.data(), x.size()),
                     scale = vit_test::max_abs(ys.data(), ys.size());
        MESSAGE("attention " << b << "-bit, twin " << twin << ": max |integer - simulated| / max|y| = " << err / scale);
        // the paths differ only by float summation order, which can move a value across a rounding boundary of
        // the proj input quantizer: allow one proj-input step times the largest proj column sum
        CHECK(err <= 1e-4 * scale + lp.input().scale[0] * absmax(wp) * float(D));
    }
}

TEST_CASE("vit W8A8: calibration, top-1 agreement with fp32, integer vs simulated") {
    const vit32 fp(vit_test::weights());
    vit8 m(vit_test::weights(), &params8());
    const auto x = vit_test::images(0, 16);
    const auto l32 = fp.predict(x), l8 = m.predict(x);
    const double agree = agreement(l32, l8);
    const double err = vit_test::max_diff(l32.data(), l8.data(), l8.size()) / vit_test::max_abs(l32.data(), l32.size());
    MESSAGE("W8A8 (PTQ4ViT, 8 calibration images): top-1 agreement with fp32 on the 16 fixture images = "
            << agree * 100 << " %, max |logit diff| / max |logit| = " << err);
    CHECK(agree >= 0.85);
    m.set_exec(zoa::nn::quant_exec::simulated);
    const auto ls = m.predict(x);
    const double sim = vit_test::max_diff(ls.data(), l8.data(), l8.size()) / vit_test::max_abs(ls.data(), ls.size());
    MESSAGE("W8A8 integer vs simulated: max |diff| / max |logit| = " << sim << ", top-1 agreement "
                                                                     << agreement(ls, l8) * 100 << " %");
    CHECK(sim <= 1e-3);  // float summation order only (a rare code flip would show as ~1e-2)
    CHECK(agreement(ls, l8) >= 0.9);
    // every module was searched with L2, none fell back
    CHECK(params8().modules.size() == zm::vit_quant_modules(4).size());
    for (const auto& name : zm::vit_quant_modules(4)) CHECK(params8().modules.count(name) == 1);
    CHECK(params8().modules.at("blocks.0.attn.qkv").weight().groups() == 3);
    CHECK(params8().modules.at("blocks.0.attn.matmul1").a().groups() == 2);
    CHECK(params8().modules.at("blocks.0.attn.matmul2").a().kind == q::quantizer_kind::post_softmax_twin);
    CHECK(params8().modules.at("blocks.0.mlp.fc2").input().kind == q::quantizer_kind::post_gelu_twin);
    CHECK(params8().modules.at("patch_embed.proj").weight().groups() == 32);
    CHECK(params8().modules.at("patch_embed.proj").input().kind == q::quantizer_kind::none);
}

TEST_CASE("vit W8A8: adaptation hooks, thread-count invariance, deterministic calibration") {
    vit8 m(vit_test::weights(), &params8());
    const auto x = vit_test::images(0, 5);
    const std::vector<float> np = vit_test::tensor("norm_params");
    zoa::adapt::forward_request req;
    req.norm_params = np.data();
    zoa::adapt::forward_result r1, r;
    m.forward_adapt(x, req, r1);
    CHECK(r1.features.shape(1) == 4 * 32);
    for (std::size_t t : {2u, 3u}) {
        m.set_threads(t);
        m.forward_adapt(x, req, r);
        CHECK(vit_test::max_diff(r.features.data(), r1.features.data(), r.features.size()) == 0.0);
        CHECK(vit_test::max_diff(r.logits.data(), r1.logits.data(), r.logits.size()) == 0.0);
    }
    xt::xtensor<float, 2> last = xt::xtensor<float, 2>::from_shape({5, 32}), l;
    for (std::size_t b = 0; b < 5; ++b)
        for (std::size_t d = 0; d < 32; ++d) last(b, d) = r1.features(b, 96 + d);
    m.classify(last, l);
    CHECK(vit_test::max_diff(l.data(), r1.logits.data(), l.size()) == 0.0);
    zm::vit_calibration_options o;
    o.max_images = 8;
    o.search.eq_n = 20;
    const auto p1 = zm::calibrate_ptq4vit<zoa::w8a8>(vit_test::weights(), vit_test::images(0, 8), o, nullptr, 1);
    const auto p3 = zm::calibrate_ptq4vit<zoa::w8a8>(vit_test::weights(), vit_test::images(0, 8), o, nullptr, 3);
    CHECK(p1.to_tensors() == p3.to_tensors());
}

TEST_CASE("vit: the Hessian metric falls back to L2 (zoa computes no gradients) and says so") {
    zm::vit_calibration_options o;
    o.max_images = 4;
    o.search.metric = q::search_metric::hessian;
    o.search.eq_n = 10;
    o.search.search_round = 1;
    zm::calibration_report rep;
    (void)zm::calibrate_ptq4vit<zoa::w8a8>(vit_test::weights(), vit_test::images(0, 4), o, &rep);
    CHECK(rep.images == 4);
    CHECK(rep.search.modules == zm::vit_quant_modules(4).size());
    CHECK(rep.search.hessian_fallbacks == rep.search.modules);
}

TEST_CASE("vit W8A8: a calibrated file ships without re-calibrating; uncalibrated files are refused") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string qpath = (dir / "zoa_vit_w8a8.safetensors").string(),
                      fpath = (dir / "zoa_vit_fp32.safetensors").string();
    const vit8 m(vit_test::weights(), &params8());
    zm::save_vit(m, qpath);
    zm::save_vit(vit32(vit_test::weights()), fpath);
    const auto qsize = std::filesystem::file_size(qpath), fsize = std::filesystem::file_size(fpath);
    zm::vit_load_report rep;
    const vit8 back = vit8::load(qpath, nullptr, {}, &rep);
    CHECK(rep.quantized_codes);
    CHECK(rep.unused.empty());
    CHECK(back.quant_params().to_tensors() == m.quant_params().to_tensors());
    const auto x = vit_test::images(0, 6);
    CHECK(vit_test::max_diff(back.predict(x).data(), m.predict(x).data(), 60) == 0.0);
    MESSAGE("W8A8 file "
            << qsize << " bytes vs fp32 " << fsize << " bytes: ratio " << double(qsize) / double(fsize)
            << " (tiny fixture: fp32 biases, norms, pos-embed and quantizer tensors weigh more than in ViT-B)");
    CHECK(qsize < fsize / 2);
    // the fp32 model reads the quantized file too (dequantized weights Ŵ)
    const vit32 deq = vit32::load(qpath);
    CHECK(deq.blocks()[0].attn.qkv().weight() == m.blocks()[0].attn.qkv().dequantized_weight());
    // a W6A6 model refuses W8A8 parameters, and a quantized model refuses a file without parameters
    std::string e;
    try {
        (void)zm::vit<zoa::ptq4vit<zoa::w6a6>>::load(qpath);
    } catch (const zoa::error& err) {
        e = err.what();
    }
    CHECK(e == "zoa: policy: " + qpath +
                   ": file is W8A8, model type is W6A6: load it as zoa::models::vit<zoa::ptq4vit<zoa::w8a8>>");
    e.clear();
    try {
        (void)vit8::load(fpath);
    } catch (const zoa::error& err) {
        e = err.what();
    }
    CHECK(e == "zoa: policy: " + fpath +
                   ": file is fp32, model type is W8A8: calibrate it (zoa::models::calibrate_vit) or load a "
                   "calibrated W8A8 file");
    std::remove(qpath.c_str());
    std::remove(fpath.c_str());
}

TEST_CASE_TEMPLATE("vit W6A6 / W4A4: calibration and top-1 agreement with fp32 (reported)", B, zoa::w6a6, zoa::w4a4) {
    zm::vit_calibration_options o;
    o.max_images = 8;
    o.search.eq_n = 50;
    const auto m = zm::calibrate_vit<zoa::ptq4vit<B>>(vit_test::weights(), vit_test::images(0, 8), o);
    const auto x = vit_test::images(0, 16);
    const auto l32 = vit32(vit_test::weights()).predict(x), lq = m.predict(x);
    MESSAGE("W" << B::weight_bits << "A" << B::activation_bits
                << ": top-1 agreement with fp32 on 16 images = " << agreement(l32, lq) * 100 << " %");
    CHECK(agreement(l32, lq) >= (B::weight_bits == 6 ? 0.6 : 0.2));
}

TEST_CASE("vit: non-finite inputs are refused by name, fp32 and integer alike; patch_embed from codes") {
    auto x = vit_test::images(0, 2);
    x(1, 0, 3, 3) = std::numeric_limits<float>::quiet_NaN();
    const vit8 m(vit_test::weights(), &params8());
    for (int quantized = 0; quantized < 2; ++quantized) {  // fp32 used to propagate the NaN into the logits
        std::string e;
        try {
            if (quantized)
                (void)m.predict(x);
            else
                (void)vit32(vit_test::weights()).predict(x);
        } catch (const zoa::error& err) {
            e = err.what();
        }
        CHECK(e == "zoa: numeric: vit: input element 819 (image 1, channel 0, row 3, column 3) is nan; inputs must be "
                   "finite");
    }
    const auto& pe = m.patch_embed();
    const zoa::nn::patch_embed<zoa::w8a8> pc(pe.codes(), pe.bias(), 32, 3, 4, 16, pe.params(), "patch_embed.proj");
    CHECK(pc.weight() == pe.weight());
}

TEST_CASE("vit: memory report") {
    const vit32 fp(vit_test::weights());
    const vit8 m(vit_test::weights(), &params8());
    const auto a = fp.memory(8), b = m.memory(8);
    MESSAGE("fp32: packed " << a.packed_weight_bytes << " B, fp32 params " << a.float_param_bytes << " B, scratch(8) "
                            << a.scratch_bytes << " B; W8A8: packed " << b.packed_weight_bytes << " B, fp32 params "
                            << b.float_param_bytes << " B, scratch(8) " << b.scratch_bytes << " B");
    CHECK(b.packed_weight_bytes < a.packed_weight_bytes);
    CHECK(a.float_param_bytes > 0);
    CHECK(a.scratch_bytes > fp.memory(1).scratch_bytes);
}
