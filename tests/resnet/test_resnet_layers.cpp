// zoa — nn layers used by the ResNet: affine activation quantizer, conv2d / qconv2d, batch_norm, pooling
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "resnet_fixture.hpp"
#include "zoa/models/mqbench_observer.hpp"
#include "zoa/nn/affine_quant.hpp"
#include "zoa/nn/batch_norm.hpp"
#include "zoa/nn/conv2d.hpp"
#include "zoa/nn/pool.hpp"
#include "zoa/quant/fake_quant.hpp"

namespace {

std::vector<float> randn(std::size_t n, std::uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
    zoa::rng r(seed);
    std::vector<float> v(n);
    for (float& x : v) x = shift + scale * r.normal();
    return v;
}

// y[b,o,oy,ox] = bias[o] + Σ x[b,c,oy·s+ky−p, ox·s+kx−p]·w[o,c,ky,kx] in double (zero padding)
std::vector<double> conv_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                             const zoa::nn::conv2d_geometry& g, std::size_t batch, std::size_t h, std::size_t wd) {
    const std::size_t oh = g.out_size(h), ow = g.out_size(wd), k = g.kernel;
    std::vector<double> y(batch * g.out_channels * oh * ow);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t o = 0; o < g.out_channels; ++o)
            for (std::size_t oy = 0; oy < oh; ++oy)
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    double s = bias.empty() ? 0.0 : bias[o];
                    for (std::size_t c = 0; c < g.in_channels; ++c)
                        for (std::size_t ky = 0; ky < k; ++ky)
                            for (std::size_t kx = 0; kx < k; ++kx) {
                                const long iy = long(oy * g.stride + ky) - long(g.pad), ix = long(ox * g.stride + kx) - long(g.pad);
                                if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(wd)) continue;
                                s += double(x[((b * g.in_channels + c) * h + std::size_t(iy)) * wd + std::size_t(ix)]) *
                                     double(w[((o * g.in_channels + c) * k + ky) * k + kx]);
                            }
                    y[((b * g.out_channels + o) * oh + oy) * ow + ox] = s;
                }
    return y;
}

template <class A, class W>
void qconv_case(const zoa::nn::conv2d_geometry& g, int bits, std::uint64_t seed) {
    CAPTURE(bits);
    CAPTURE(g.kernel);
    const std::size_t batch = 2, h = 9, w = 7;
    const auto weight = randn(g.weight_count(), seed, 0.3f);
    const auto bias = randn(g.out_channels, seed + 1, 0.1f);
    zoa::quant::mse_observer wo(bits, zoa::quant::granularity::per_channel, g.out_channels);
    wo.observe(weight.data(), weight.size());
    auto x = randn(batch * g.in_channels * h * w, seed + 2, 1.0f, 0.4f);
    zoa::quant::mse_observer xo(bits, zoa::quant::granularity::per_tensor);
    xo.observe(x.data(), x.size());
    zoa::quant::module_params mp;
    mp.weight() = wo.params();
    mp.input() = xo.params();
    zoa::nn::qconv2d<A, W> q(weight, bias, g, mp, "q");
    q.enable_float_twin();

    // the fake-quantized weights are exactly quant::fake_quant's
    const auto wd = q.dequantized_weight();
    std::vector<float> wf(weight.size());
    zoa::quant::fake_quant(mp.weight(), weight.data(), wf.data(), weight.size());
    CHECK(wd == wf);
    // codes round-trip through the packed layout and rebuild the same layer
    const auto codes = q.codes();
    for (auto c : codes) REQUIRE(int(c) <= zoa::quant::unsigned_max(bits));
    zoa::nn::qconv2d<A, W> q2(codes, bias, g, mp, "q2");
    CHECK(q2.codes() == codes);

    zoa::execution_context ctx(2);
    std::vector<float> xhat(x.size());
    std::vector<typename A::storage> xq(x.size());
    zoa::nn::quantize_activation(x.data(), x.size(), mp.input(), xq.data(), xhat.data(), ctx);
    const std::size_t n_out = batch * g.out_channels * g.out_size(h) * g.out_size(w);
    std::vector<float> yi(n_out), yf(n_out), yx(n_out);
    q.forward_codes(xq.data(), batch, h, w, yi.data(), ctx);
    q.forward_float(xhat.data(), batch, h, w, yf.data(), ctx);
    q2.forward(x.data(), batch, h, w, yx.data(), ctx);
    const auto ref = conv_ref(xhat, wf, bias, g, batch, h, w);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < n_out; ++i) {
        worst = std::max({worst, std::fabs(yi[i] - ref[i]), std::fabs(yf[i] - ref[i])});
        scale = std::max(scale, std::fabs(ref[i]));
    }
    CHECK(worst <= 1e-5 * scale);
    CHECK(yx == yi);  // forward() = quantize + forward_codes
}

}  // namespace

TEST_CASE("quantize_activation: bit-exact with quant::fake_quant / encode_affine, ties, threads, NaN") {
    for (int bits : {8, 4, 6}) {
        CAPTURE(bits);
        std::vector<float> x = randn(40000, 3, 2.0f, 0.5f);
        zoa::quant::mse_observer o(bits, zoa::quant::granularity::per_tensor);
        o.observe(x.data(), x.size());
        const auto p = o.params();
        // exact ties (k + 0.5)·s and values beyond both ends
        for (int k = -3; k < 300; ++k) x.push_back((float(k) + 0.5f) * p.scale[0]);
        x.push_back(std::numeric_limits<float>::infinity());
        x.push_back(-std::numeric_limits<float>::infinity());
        std::vector<float> want(x.size()), got(x.size()), got3(x.size());
        zoa::quant::fake_quant(p, x.data(), want.data(), x.size());
        std::vector<std::uint8_t> q(x.size()), q3(x.size());
        zoa::execution_context c1(1), c3(3);
        zoa::nn::quantize_activation(x.data(), x.size(), p, q.data(), got.data(), c1);
        zoa::nn::quantize_activation(x.data(), x.size(), p, q3.data(), got3.data(), c3);
        CHECK(got == want);
        CHECK(got3 == got);
        CHECK(q3 == q);
        bool codes_ok = true;
        for (std::size_t i = 0; i < x.size(); ++i)
            codes_ok = codes_ok && int(q[i]) == zoa::quant::encode_affine(x[i], p.scale[0], p.zero_point[0], 0,
                                                                          zoa::quant::unsigned_max(bits));
        CHECK(codes_ok);
        // in place (x̂ over x)
        std::vector<float> inplace = x;
        zoa::nn::quantize_activation(inplace.data(), inplace.size(), p, static_cast<std::uint8_t*>(nullptr),
                                     inplace.data(), c1);
        CHECK(inplace == want);
        // relu_first: exactly relu, then the quantizer (codes and x̂), 1 and 3 threads, codes only
        std::vector<float> rx(x.size()), rwant(x.size()), rgot(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) rx[i] = 0.0f > x[i] ? 0.0f : x[i];
        zoa::quant::fake_quant(p, rx.data(), rwant.data(), rx.size());
        std::vector<std::uint8_t> rq(x.size()), rq3(x.size()), rq_ref(x.size());
        zoa::nn::quantize_activation(rx.data(), rx.size(), p, rq_ref.data(), static_cast<float*>(nullptr), c1);
        zoa::nn::quantize_activation(x.data(), x.size(), p, rq.data(), rgot.data(), c1, true);
        zoa::nn::quantize_activation(x.data(), x.size(), p, rq3.data(), static_cast<float*>(nullptr), c3, true);
        CHECK(rgot == rwant);
        CHECK(rq == rq_ref);
        CHECK(rq3 == rq_ref);
    }
    std::vector<float> x(50000, 1.0f);
    x[40001] = std::nanf("");
    std::vector<std::uint8_t> q(x.size());
    zoa::execution_context ctx(2);
    const auto p = zoa::quant::make_affine(8, zoa::quant::granularity::per_tensor, {0.1f}, {3});
    CHECK_THROWS_WITH_AS(zoa::nn::quantize_activation(x.data(), x.size(), p, q.data(), x.data(), ctx),
                         doctest::Contains("element 40001 is NaN"), zoa::error);
    const auto sym = zoa::quant::make_symmetric(8, zoa::quant::granularity::per_tensor, {0.1f});
    CHECK_THROWS_WITH_AS(zoa::nn::quantize_activation(x.data(), x.size(), sym, q.data(), x.data(), ctx),
                         doctest::Contains("asymmetric"), zoa::error);
    std::vector<std::int8_t> q8(x.size());
    CHECK_THROWS_WITH_AS(zoa::nn::quantize_activation(x.data(), x.size(), p, q8.data(), x.data(), ctx),
                         doctest::Contains("do not fit"), zoa::error);
}

TEST_CASE("qconv2d: integer, float-twin and double reference agree; codes round-trip (int16 and byte layouts)") {
    using u8 = zoa::quant::unsigned_range<8>;
    using u4 = zoa::quant::unsigned_range<4>;
    using u6 = zoa::quant::unsigned_range<6>;
    qconv_case<u8, u8>({5, 7, 3, 2, 1}, 8, 10);   // int16 path, strided 3x3
    qconv_case<u8, u8>({6, 18, 1, 1, 0}, 8, 11);  // pointwise, > 16 output channels
    qconv_case<u4, u4>({5, 7, 3, 1, 1}, 4, 12);   // byte layout (maddubs / vnni)
    qconv_case<u6, u6>({4, 9, 7, 2, 3}, 6, 13);   // 7x7 stem-like
}

TEST_CASE("qconv2d: parameter and code errors name the layer") {
    using u8 = zoa::quant::unsigned_range<8>;
    using u4 = zoa::quant::unsigned_range<4>;
    const zoa::nn::conv2d_geometry g{2, 3, 1, 1, 0};
    std::vector<float> w(6, 0.5f);
    zoa::quant::module_params mp;
    mp.weight() = zoa::quant::make_affine(8, zoa::quant::granularity::per_channel, {0.1f, 0.1f, 0.1f}, {0, 0, 0});
    mp.input() = zoa::quant::make_affine(8, zoa::quant::granularity::per_tensor, {0.1f}, {0});
    CHECK_NOTHROW(zoa::nn::qconv2d<u8, u8>(w, {}, g, mp, "ok"));
    CHECK_THROWS_WITH_AS((zoa::nn::qconv2d<u4, u4>(w, {}, g, mp, "layer9")), doctest::Contains("layer9"), zoa::error);
    CHECK_THROWS_WITH_AS((zoa::nn::qconv2d<u8, u8>(std::vector<float>(5), {}, g, mp, "short")),
                         doctest::Contains("short: weight has 5 values"), zoa::error);
    std::vector<std::uint8_t> codes(6, 20);
    CHECK_THROWS_WITH_AS((zoa::nn::qconv2d<u4, u4>(codes, {}, g, mp, "c4")), doctest::Contains("c4"), zoa::error);
    auto mp4 = mp;
    mp4.weight().bits = 4;
    mp4.input().bits = 4;
    CHECK_THROWS_WITH_AS((zoa::nn::qconv2d<u4, u4>(codes, {}, g, mp4, "c4")), doctest::Contains("weight code 20"),
                         zoa::error);
    zoa::nn::qconv2d<u8, u8> q(w, {}, g, mp, "twin");
    std::vector<float> x(2), y(3);
    zoa::execution_context ctx;
    CHECK_THROWS_WITH_AS(q.forward_float(x.data(), 1, 1, 1, y.data(), ctx), doctest::Contains("enable_float_twin"),
                         zoa::error);
}

TEST_CASE("conv2d fp32: OIHW weights round-trip through the packing; forward matches a double reference") {
    const zoa::nn::conv2d_geometry g{3, 20, 3, 2, 1};
    const auto w = randn(g.weight_count(), 21, 0.2f);
    const auto b = randn(g.out_channels, 22);
    const zoa::nn::conv2d c(w, b, g, "c");
    CHECK(c.weight() == w);
    const auto x = randn(2 * 3 * 10 * 11, 23);
    std::vector<float> y(2 * 20 * g.out_size(10) * g.out_size(11));
    zoa::execution_context ctx(2);
    c.forward(x.data(), 2, 10, 11, y.data(), ctx);
    const auto ref = conv_ref(x, w, b, g, 2, 10, 11);
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - ref[i]));
    CHECK(worst < 1e-5);
    CHECK_THROWS_WITH_AS(zoa::nn::conv2d(w, {1.0f}, g, "bad_bias"), doctest::Contains("bad_bias: bias has 1"),
                         zoa::error);
}

TEST_CASE("batch_norm: running and batch statistics, per-call affine, errors") {
    const std::size_t n = 3, c = 4, hw = 5;
    const auto x = randn(n * c * hw, 31, 2.0f, 1.0f);
    const std::vector<float> w{1.0f, 0.5f, -2.0f, 1.5f}, b{0.0f, 0.1f, 0.2f, -0.3f}, rm{0.1f, -0.2f, 0.3f, 0.0f},
        rv{1.0f, 0.5f, 2.0f, 0.25f}, w2{2.0f, 2.0f, 2.0f, 2.0f}, b2{1.0f, 1.0f, 1.0f, 1.0f};
    const zoa::nn::batch_norm bn(w, b, rm, rv, 1e-5f, "bn");
    zoa::execution_context ctx;
    std::vector<float> y(x.size());
    for (int mode = 0; mode < 2; ++mode)
        for (int over = 0; over < 2; ++over) {
            const auto& ww = over ? w2 : w;
            const auto& bb = over ? b2 : b;
            bn.forward(x.data(), y.data(), n, hw, mode ? zoa::nn::bn_mode::batch : zoa::nn::bn_mode::running, ctx,
                       over ? w2.data() : nullptr, over ? b2.data() : nullptr);
            for (std::size_t ch = 0; ch < c; ++ch) {
                double m = rm[ch], v = rv[ch];
                if (mode) {
                    m = v = 0;
                    for (std::size_t k = 0; k < n; ++k)
                        for (std::size_t i = 0; i < hw; ++i) m += x[(k * c + ch) * hw + i];
                    m /= double(n * hw);
                    for (std::size_t k = 0; k < n; ++k)
                        for (std::size_t i = 0; i < hw; ++i) v += std::pow(x[(k * c + ch) * hw + i] - m, 2);
                    v /= double(n * hw);  // biased, as F.batch_norm(training=True)
                }
                for (std::size_t k = 0; k < n; ++k)
                    for (std::size_t i = 0; i < hw; ++i) {
                        const std::size_t j = (k * c + ch) * hw + i;
                        CHECK(y[j] == doctest::Approx((x[j] - m) / std::sqrt(v + 1e-5) * ww[ch] + bb[ch]).epsilon(1e-5));
                    }
            }
        }
    CHECK_THROWS_WITH_AS(zoa::nn::batch_norm(w, b, rm, {1.0f, -1.0f, 1.0f, 1.0f}, 1e-5f, "layer1.0.bn1"),
                         doctest::Contains("layer1.0.bn1.running_var[1] must be >= 0"), zoa::error);
    CHECK_THROWS_WITH_AS(zoa::nn::batch_norm(w, b, rm, {1.0f}, 1e-5f, "short"), doctest::Contains("short"),
                         zoa::error);
}

TEST_CASE("pooling: max-pool 3x3/2 pad 1 (padding ignored, NaN propagates), global average") {
    // 1 image, 1 channel, 4x4 ramp → 2x2
    std::vector<float> x(16);
    for (std::size_t i = 0; i < 16; ++i) x[i] = float(i) - 8.0f;
    std::vector<float> y(4);
    zoa::execution_context ctx;
    zoa::nn::max_pool2d(x.data(), y.data(), 1, 1, 4, 4, 3, 2, 1, ctx);
    CHECK(y == std::vector<float>{-3.0f, -1.0f, 5.0f, 7.0f});  // windows rows/cols {-1..1}, {1..3}
    x[0] = std::nanf("");
    zoa::nn::max_pool2d(x.data(), y.data(), 1, 1, 4, 4, 3, 2, 1, ctx);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == -1.0f);
    CHECK(zoa::nn::pool_out_size(112, 3, 2, 1) == 56);
    CHECK_THROWS_AS(zoa::nn::pool_out_size(4, 3, 2, 2), zoa::error);  // pad > kernel/2
    std::vector<float> g(2);
    const std::vector<float> planes{1, 2, 3, 4, -1, -1, -1, 5};
    zoa::nn::global_avg_pool(planes.data(), g.data(), 1, 2, 4, ctx);
    CHECK(g == std::vector<float>{2.5f, 0.5f});
}

TEST_CASE("NHWC pooling: codes max-pooled = codes of the max-pooled floats; global average bit-identical to NCHW") {
    zoa::execution_context one(1), two(2);
    zoa::quant::quant_params qp;
    qp.bits = 6;
    qp.scale = {0.05f};
    qp.zero_point = {7};
    qp.sch = zoa::quant::scheme::asymmetric;
    qp.kind = zoa::quant::quantizer_kind::uniform;
    for (const auto& d : std::vector<std::array<std::size_t, 4>>{{1, 4, 4, 3}, {2, 7, 5, 17}, {3, 112, 112, 2}, {1, 1, 1, 5},
                                                                      {2, 9, 11, 64}, {1, 6, 7, 80}}) {
        const std::size_t n = d[0], h = d[1], w = d[2], c = d[3], hw = h * w;
        CAPTURE(h);
        CAPTURE(w);
        CAPTURE(c);
        const auto x = randn(n * c * hw, 17 + h, 1.5f, 0.2f);  // NCHW
        std::vector<float> xn(x.size());
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t ch = 0; ch < c; ++ch)
                for (std::size_t p = 0; p < hw; ++p) xn[(k * hw + p) * c + ch] = x[(k * c + ch) * hw + p];
        // max-pool 3×3/2 pad 1 on codes (NHWC) vs quantize(max-pool on floats (NCHW))
        const std::size_t oh = zoa::nn::pool_out_size(h, 3, 2, 1), ow = zoa::nn::pool_out_size(w, 3, 2, 1);
        std::vector<float> pooled(n * c * oh * ow);
        zoa::nn::max_pool2d(x.data(), pooled.data(), n, c, h, w, 3, 2, 1, one);
        std::vector<std::int8_t> want(pooled.size()), qn(xn.size()), got(pooled.size());
        zoa::nn::quantize_activation(pooled.data(), pooled.size(), qp, want.data(), static_cast<float*>(nullptr), one);
        zoa::nn::quantize_activation(xn.data(), xn.size(), qp, qn.data(), static_cast<float*>(nullptr), one);
        zoa::nn::max_pool2d_nhwc(qn.data(), got.data(), n, h, w, c, 3, 2, 1, two);
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t ch = 0; ch < c; ++ch)
                for (std::size_t p = 0; p < oh * ow; ++p)
                    REQUIRE(got[(k * oh * ow + p) * c + ch] == want[(k * c + ch) * oh * ow + p]);
        // global average pooling of floats and of codes' x̂, bit for bit
        std::vector<float> g1(n * c), g2(n * c), g3(n * c), xhat(x.size());
        zoa::nn::global_avg_pool(x.data(), g1.data(), n, c, hw, one);
        zoa::nn::global_avg_pool_nhwc(xn.data(), g2.data(), n, hw, c, two);
        CHECK(std::memcmp(g1.data(), g2.data(), g1.size() * 4) == 0);
        std::vector<std::int8_t> qx(x.size());
        zoa::nn::quantize_activation(x.data(), x.size(), qp, qx.data(), xhat.data(), one);
        zoa::nn::global_avg_pool(xhat.data(), g1.data(), n, c, hw, one);
        zoa::nn::global_avg_pool_nhwc_codes(qn.data(), 0.05f, 7, g3.data(), n, hw, c, two);
        CHECK(std::memcmp(g1.data(), g3.data(), g1.size() * 4) == 0);
    }
}

TEST_CASE("fast_mse_observer: bit-identical to quant::mse_observer (MSE / EMA-MSE, per tensor / channel, threads)") {
    for (int bits : {8, 4, 2}) {
        CAPTURE(bits);
        zoa::quant::mse_observer ref(bits, zoa::quant::granularity::per_tensor, 1, 0.9);
        zoa::models::fast_mse_observer f1(bits, zoa::quant::granularity::per_tensor, 1, 0.9),
            f3(bits, zoa::quant::granularity::per_tensor, 1, 0.9);
        zoa::execution_context c1(1), c3(3);
        for (std::uint64_t b = 0; b < 3; ++b) {
            auto x = randn(5003, 40 + b, 1.5f, 0.3f);
            for (float& v : x) v = v < 0 ? 0.1f * v : v;  // ReLU-like skew
            ref.observe(x.data(), x.size());
            f1.observe(x.data(), x.size(), c1);
            f3.observe(x.data(), x.size(), c3);
        }
        CHECK(f1.min() == ref.min());
        CHECK(f1.max() == ref.max());
        CHECK(f3.min() == ref.min());
        CHECK(f3.max() == ref.max());
        CHECK(f3.params() == ref.params());

        const auto w = randn(13 * 37, 50, 0.2f);
        zoa::quant::mse_observer wr(bits, zoa::quant::granularity::per_channel, 13);
        zoa::models::fast_mse_observer wf(bits, zoa::quant::granularity::per_channel, 13);
        wr.observe(w.data(), w.size());
        wf.observe(w.data(), w.size(), c3);
        CHECK(wf.params() == wr.params());
    }
    zoa::models::fast_mse_observer o(8, zoa::quant::granularity::per_tensor);
    std::vector<float> bad{1.0f, std::nanf("")};
    zoa::execution_context ctx;
    CHECK_THROWS_AS(o.observe(bad.data(), bad.size(), ctx), zoa::error);
    CHECK_THROWS_AS(zoa::models::fast_mse_observer(9, zoa::quant::granularity::per_tensor), zoa::error);
}

TEST_CASE("max-pool equals the 2-D loop (row-major taps, first maximum, NaN wins) on every small shape") {
    // Reference: m = −∞; for ky, kx in row-major order over in-bounds taps: m = (v > m or v is NaN) ? v : m.
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const float specials[] = {0.0f, -0.0f, inf, -inf, nan, 1.0f, -1.0f};
    zoa::execution_context ctx1(1), ctx2(2);
    std::size_t shapes = 0;
    for (const auto& win : {std::array<std::size_t, 3>{3, 2, 1}, {2, 2, 0}, {3, 1, 1}, {3, 3, 0}, {5, 2, 2}})
        for (std::size_t h = win[0] - 2 * win[2] > 0 ? win[0] - 2 * win[2] : 1; h <= 13; ++h)
            for (std::size_t w = h > 2 ? h - 2 : 1; w <= h + 2; ++w) {
                if (h + 2 * win[2] < win[0] || w + 2 * win[2] < win[0]) continue;
                const std::size_t n = 2, c = 3, k = win[0], s = win[1], pad = win[2];
                // mostly negative values, every other element a zero of either sign (so which of +0/−0 wins a window
                // shows the tap order), and the special values
                std::vector<float> x = randn(n * c * h * w, h * 31 + w, 1.0f, -1.5f);
                for (std::size_t i = 0; i < x.size(); i += 2) x[i] = (i / 2 + h) % 3 == 0 ? -0.0f : 0.0f;
                for (std::size_t i = 1; i < x.size(); i += 7) x[i] = specials[(i / 7 + h + w) % 7];
                const std::size_t oh = zoa::nn::pool_out_size(h, k, s, pad), ow = zoa::nn::pool_out_size(w, k, s, pad);
                std::vector<float> y1(n * c * oh * ow), y2(y1.size()), r(y1.size());
                for (std::size_t p = 0; p < n * c; ++p)
                    for (std::size_t oy = 0; oy < oh; ++oy)
                        for (std::size_t ox = 0; ox < ow; ++ox) {
                            float m = -inf;
                            for (std::size_t ky = 0; ky < k; ++ky)
                                for (std::size_t kx = 0; kx < k; ++kx) {
                                    const long iy = long(oy * s + ky) - long(pad), ix = long(ox * s + kx) - long(pad);
                                    if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
                                    const float v = x[p * h * w + std::size_t(iy) * w + std::size_t(ix)];
                                    m = (v > m || v != v) ? v : m;
                                }
                            r[(p * oh + oy) * ow + ox] = m;
                        }
                zoa::nn::max_pool2d(x.data(), y1.data(), n, c, h, w, k, s, pad, ctx1);
                zoa::nn::max_pool2d(x.data(), y2.data(), n, c, h, w, k, s, pad, ctx2);
                CAPTURE(k);
                CAPTURE(s);
                CAPTURE(pad);
                CAPTURE(h);
                CAPTURE(w);
                REQUIRE(std::memcmp(y1.data(), r.data(), r.size() * sizeof(float)) == 0);  // bits: ±0 and NaN too
                REQUIRE(std::memcmp(y2.data(), r.data(), r.size() * sizeof(float)) == 0);
                ++shapes;
            }
    MESSAGE("max-pool checked on ", shapes, " shapes");
    CHECK(shapes > 100);
}
