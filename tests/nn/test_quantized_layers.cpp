// zoa — tests for layers quantized by a policy bundle: nn::qlinear<Policy>, nn::quantized_conv2d<Policy>,
// nn::quantize (from a layer_calibrator): integer path == the scalar reference kernels, ≈ the simulated path, codes
// round trip, thread-count determinism, the policy's scheme/granularity/bits enforced with named errors
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/kernels/reference/conv2d.hpp"
#include "zoa/kernels/reference/gemm.hpp"
#include "zoa/nn/quantize_layer.hpp"
#include "zoa/nn/quantized_conv2d.hpp"
#include "zoa/quant/layer_calibrator.hpp"

namespace zq = zoa::quant;
namespace zk = zoa::kernels;
namespace zn = zoa::nn;

namespace {

// The policies under test: every scheme pair, the three weight granularities, 8/6/4 and mixed bits.
using asym_pc_w4a4 =
    zoa::policy<zoa::w4a4, zq::weight_scheme<zq::asymmetric, zq::per_channel>, zq::activation_scheme<zq::asymmetric>>;
using sym_pc_asym_w8a8 =
    zoa::policy<zoa::w8a8, zq::weight_scheme<zq::symmetric, zq::per_channel>, zq::activation_scheme<zq::asymmetric>>;
using asym_pt_sym_w8a8 =
    zoa::policy<zoa::w8a8, zq::weight_scheme<zq::asymmetric, zq::per_tensor>, zq::activation_scheme<zq::symmetric>>;
using sym_rb_w6a6 = zoa::policy<zoa::w6a6, zq::weight_scheme<zq::symmetric, zq::per_row_block<3>>>;
using asym_pc_w8a8 = zoa::mqbench<zoa::w8a8>;
using asym_pc_w4a8 = zoa::policy<zq::bits<4, 8>, zq::weight_scheme<zq::asymmetric, zq::per_channel>,
                                 zq::activation_scheme<zq::asymmetric>>;
using sym_pt_w8a4 = zoa::policy<zq::bits<8, 4>, zq::weight_scheme<zq::symmetric, zq::per_tensor>>;
#define ZOA_POLICIES \
    asym_pc_w4a4, sym_pc_asym_w8a8, asym_pt_sym_w8a8, sym_rb_w6a6, asym_pc_w8a8, asym_pc_w4a8, sym_pt_w8a4

std::vector<float> normal(zoa::rng& r, std::size_t n, float mean = 0.0f, float sd = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = mean + sd * r.normal();
    return v;
}

// Parameters for a layer with `out` outputs: a calibrator with min-max ranges over the given input.
template <class P>
zq::module_params params_for(const std::vector<float>& w, std::size_t out, const std::vector<float>& x) {
    zq::calibration_options o;
    o.weights = o.inputs = zq::range_method::min_max;
    zq::layer_calibrator<P> cal(o);
    cal.observe_input(x.data(), x.size());
    return cal.params(w, out, "layer");
}

// The input codes and zero point the layer must use: quant::encode of the input quantizer (the scalar definition).
template <class ARange>
std::vector<typename ARange::storage> encode_input(const zq::quant_params& p, const std::vector<float>& x,
                                                   std::int32_t& za) {
    std::vector<typename ARange::storage> c(x.size());
    if (p.sch == zq::scheme::asymmetric) {
        std::vector<std::uint8_t> u(x.size());
        zq::encode(p, x.data(), x.size(), u.data());
        for (std::size_t i = 0; i < u.size(); ++i) c[i] = static_cast<typename ARange::storage>(u[i]);
        za = p.zero_point[0];
    } else {
        std::vector<std::int8_t> s(x.size());
        zq::encode(p, x.data(), x.size(), s.data());
        for (std::size_t i = 0; i < s.size(); ++i) c[i] = static_cast<typename ARange::storage>(s[i]);
        za = 0;
    }
    return c;
}

template <class Code>
std::vector<std::int32_t> per_output_zero_points(const zq::quant_params& w, std::size_t out) {
    std::vector<std::int32_t> z;
    if (w.zero_point.empty()) return z;
    for (std::size_t j = 0; j < out; ++j) z.push_back(w.zero_point[j / (out / w.groups())]);
    return z;
}

std::vector<float> per_output_scales(const zq::quant_params& w, std::size_t out) {
    std::vector<float> s;
    for (std::size_t j = 0; j < out; ++j) s.push_back(w.scale[j / (out / w.groups())]);
    return s;
}

float max_rel_gap(const std::vector<float>& a, const std::vector<float>& b) {
    float m = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]) / (1.0f + std::fabs(b[i])));
    return m;
}

}  // namespace

TEST_CASE_TEMPLATE("qlinear<Policy>: integer path equals the scalar reference GEMM, for every scheme and granularity",
                   P, ZOA_POLICIES) {
    using L = zn::qlinear<P>;
    using C = zq::quant_config<P>;
    zoa::rng r(11);
    zoa::execution_context one(1), two(2);
    for (const auto& [rows, out, in] : {std::array<std::size_t, 3>{1, 3, 5}, {7, 48, 37}, {33, 21, 130}}) {
        CAPTURE(rows);
        CAPTURE(out);
        CAPTURE(in);
        const auto w = normal(r, out * in, 0.1f, 0.5f), b = normal(r, out), x = normal(r, rows * in, 0.7f, 1.3f);
        const zq::module_params p = params_for<P>(w, out, x);
        CHECK(p.weight().sch == C::weight_scheme);
        CHECK(p.weight().bits == C::weight_bits);
        CHECK(p.input().sch == C::activation_scheme);
        CHECK(p.input().bits == C::activation_bits);
        const L layer(w, b, out, in, p, "fc");

        // the oracle: the same codes through reference::gemm_q8 (int64 accumulation) and the same output stage
        const std::vector<typename L::code_type> codes = layer.codes();
        std::vector<typename L::code_type> want(out * in);
        zq::encode(p.weight(), w.data(), w.size(), want.data());
        REQUIRE(codes == want);
        std::int32_t za = 0;
        const auto xc = encode_input<typename L::a_range>(p.input(), x, za);
        std::vector<typename L::w_range::storage> wc(codes.begin(), codes.end());
        const auto zw = per_output_zero_points<typename L::code_type>(p.weight(), out);
        const auto ws = per_output_scales(p.weight(), out);
        std::vector<float> ref(rows * out), y1(rows * out), y2(rows * out), sim(rows * out);
        zk::reference::gemm_q8<typename L::a_range, typename L::w_range>(
            xc.data(), rows, std::ptrdiff_t(in), za, wc.data(), out, in, std::ptrdiff_t(in), 1, zw.data(), zw.size(),
            zk::out_dequant{ref.data(), zk::row_major(std::ptrdiff_t(out)), p.input().scale[0], ws.data(), out,
                            b.data()});
        layer.forward(x.data(), rows, y1.data(), one);
        layer.forward(x.data(), rows, y2.data(), two);
        CHECK(y1 == y2);                       // thread-count independent
        CHECK(max_rel_gap(y1, ref) <= 1e-6f);  // the dequant epilogue may fuse a multiply-add (1 ulp)
        // the simulated (fake-quant float) path: same quantized operands, float summation
        layer.forward(x.data(), rows, sim.data(), one, zn::quant_exec::simulated);
        CHECK(max_rel_gap(y1, sim) <= 2e-5f);
        // rebuilt from its codes: identical outputs
        const L again(codes, b, out, in, p, "fc");
        std::vector<float> y3(rows * out);
        again.forward(x.data(), rows, y3.data(), one);
        CHECK(y3 == y1);
    }
}

TEST_CASE_TEMPLATE("quantized_conv2d<Policy>: integer path equals the scalar reference convolution", P, ZOA_POLICIES) {
    using L = zn::quantized_conv2d<P>;
    zoa::rng r(12);
    zoa::execution_context one(1), two(2);
    // in, out (a multiple of 3 for the row-block policy), kernel, stride, pad; input h = w
    const std::array<std::size_t, 6> cases[] = {{1, 3, 3, 1, 1, 5}, {3, 12, 3, 2, 1, 9}, {5, 18, 1, 1, 0, 4}};
    for (const auto& c : cases) {
        const zn::conv2d_geometry g{c[0], c[1], c[2], c[3], c[4]};
        const std::size_t batch = 2, hw = c[5], oh = g.out_size(hw);
        CAPTURE(g.in_channels);
        CAPTURE(g.kernel);
        const auto w = normal(r, g.weight_count(), -0.05f, 0.4f), b = normal(r, g.out_channels);
        const auto x = normal(r, batch * g.in_channels * hw * hw, 0.3f, 1.0f);
        const zq::module_params p = params_for<P>(w, g.out_channels, x);
        const L layer(w, b, g, p, "conv");
        const auto codes = layer.codes();
        std::vector<typename L::code_type> want(codes.size());
        zq::encode(p.weight(), w.data(), w.size(), want.data());
        REQUIRE(codes == want);
        std::int32_t za = 0;
        const auto xc = encode_input<typename L::a_range>(p.input(), x, za);
        std::vector<typename L::w_range::storage> wc(codes.begin(), codes.end());
        const auto zw = per_output_zero_points<typename L::code_type>(p.weight(), g.out_channels);
        const auto ws = per_output_scales(p.weight(), g.out_channels);
        const std::size_t ny = batch * g.out_channels * oh * oh;
        std::vector<float> ref(ny), y1(ny), y2(ny), sim(ny);
        zk::reference::conv2d_q8<typename L::a_range, typename L::w_range>(
            g.shape(batch, hw, hw), xc.data(), za, wc.data(), zw.data(), zw.size(),
            zk::out_dequant{ref.data(), {}, p.input().scale[0], ws.data(), ws.size(), b.data()});
        layer.forward(x.data(), batch, hw, hw, y1.data(), one);
        layer.forward(x.data(), batch, hw, hw, y2.data(), two);
        CHECK(y1 == y2);
        CHECK(max_rel_gap(y1, ref) <= 1e-6f);
        layer.forward(x.data(), batch, hw, hw, sim.data(), one, zn::quant_exec::simulated);
        CHECK(max_rel_gap(y1, sim) <= 2e-5f);
        const L again(codes, b, g, p, "conv");
        std::vector<float> y3(ny);
        again.forward(x.data(), batch, hw, hw, y3.data(), one);
        CHECK(y3 == y1);
    }
}

TEST_CASE("quantized layers: zero points are exact — a constant input at the zero point gives exactly the bias") {
    // affine inputs whose every code is the zero point contribute Σ (za − za)·(w − zw) = 0; padding reads za too
    using P = asym_pc_w4a4;
    zoa::rng r(3);
    const zn::conv2d_geometry g{2, 4, 3, 1, 2};
    const auto w = normal(r, g.weight_count()), b = normal(r, 4);
    zq::module_params p;
    p.weight() = zq::make_affine(4, zq::granularity::per_channel, {0.1f, 0.2f, 0.3f, 0.4f}, {3, 7, 8, 12});
    p.input() = zq::make_affine(4, zq::granularity::per_tensor, {0.25f}, {6});
    const zn::quantized_conv2d<P> conv(w, b, g, p, "conv");
    const std::vector<float> x(2 * 2 * 5 * 5, 0.0f);  // 0 → code z = 6 exactly
    std::vector<float> y(2 * 4 * 7 * 7);
    zoa::execution_context ctx(1);
    conv.forward(x.data(), 2, 5, 5, y.data(), ctx);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == b[(i / 49) % 4]);
}

TEST_CASE("quantized layers enforce the policy with named errors") {
    using P = asym_pc_w4a4;
    zoa::rng r(5);
    const auto w = normal(r, 6 * 4);
    zq::module_params p;
    p.weight() =
        zq::make_affine(4, zq::granularity::per_channel, std::vector<float>(6, 0.1f), std::vector<std::int32_t>(6, 8));
    p.input() = zq::make_affine(4, zq::granularity::per_tensor, {0.1f}, {3});
    CHECK_NOTHROW(zn::qlinear<P>(w, {}, 6, 4, p, "fc"));
    auto msg = [&](const zq::module_params& q) {
        try {
            zn::qlinear<P>(w, {}, 6, 4, q, "blocks.0.fc");
        } catch (const zoa::error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    zq::module_params sym = p;
    sym.weight() = zq::make_symmetric(4, zq::granularity::per_channel, std::vector<float>(6, 0.1f));
    CHECK(msg(sym).find("blocks.0.fc: weights need a uniform asymmetric quantizer, got uniform/symmetric") !=
          std::string::npos);
    zq::module_params bits8 = p;
    bits8.input().bits = 8;
    CHECK(msg(bits8).find("blocks.0.fc: input quantizer has 8 bits, the policy has 4") != std::string::npos);
    zq::module_params sym_in = p;
    sym_in.input() = zq::make_symmetric(4, zq::granularity::per_tensor, {0.1f});
    CHECK(msg(sym_in).find("inputs need a per-tensor asymmetric quantizer, got uniform/symmetric") !=
          std::string::npos);
    zq::module_params twin = p;
    twin.input() = zq::make_post_gelu(4, {0.1f});
    CHECK(msg(twin).find("inputs need a per-tensor asymmetric quantizer, got post_gelu_twin") != std::string::npos);
    // codes outside the weight range name the element
    std::vector<std::uint8_t> codes(24, 3);
    codes[9] = 16;
    try {
        zn::qlinear<P>(codes, {}, 6, 4, p, "fc");
        FAIL("no error");
    } catch (const zoa::error& e) {
        CHECK(std::string(e.what()).find("fc: weight code 16 at (2, 1) outside [0, 15]") != std::string::npos);
    }
    // a NaN input on the integer path is refused, naming the element
    const zn::qlinear<P> l(w, {}, 6, 4, p, "fc");
    std::vector<float> x(8, 0.5f), y(12);
    x[5] = std::nanf("");
    zoa::execution_context ctx(1);
    CHECK_THROWS_AS(l.forward(x.data(), 2, y.data(), ctx), zoa::error);
}

TEST_CASE("nn::quantize builds the policy's layer from an fp32 layer and a calibrator that saw its inputs") {
    using P = asym_pc_w4a4;
    zoa::rng r(8);
    const zn::linear fp(normal(r, 10 * 16), normal(r, 10), 10, 16, "fc");
    zq::layer_calibrator<P> cal;
    CHECK_THROWS_WITH_AS(zn::quantize(fp, cal, "fc"),
                         "zoa: argument: fc.input_quant: no values observed yet (observe at least one batch)",
                         zoa::error);
    const auto x = normal(r, 8 * 16);
    cal.observe_input(x.data(), x.size());
    const zn::qlinear<P> q = zn::quantize(fp, cal, "fc");
    CHECK(q.params() == cal.params(fp.weight(), 10, "fc"));
    CHECK(q.params().weight().groups() == 10);  // per_channel
    CHECK(q.bias() == fp.bias());
    // quantized ≈ fp32 on the calibration input (4-bit: coarse, but far closer than the output scale)
    zoa::execution_context ctx(1);
    std::vector<float> yq(8 * 10), yf(8 * 10);
    q.forward(x.data(), 8, yq.data(), ctx);
    fp.forward(x.data(), 8, yf.data(), ctx);
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < yq.size(); ++i) err += (yq[i] - yf[i]) * (yq[i] - yf[i]), ref += yf[i] * yf[i];
    CHECK(err < 0.05 * ref);

    const zn::conv2d fc(normal(r, 6 * 3 * 9), {}, zn::conv2d_geometry{3, 6, 3, 1, 1}, "conv");
    zq::layer_calibrator<P> cc;
    const auto xi = normal(r, 2 * 3 * 8 * 8);
    cc.observe_input(xi.data(), xi.size());
    const zn::quantized_conv2d<P> qc = zn::quantize(fc, cc, "conv");
    CHECK(qc.geometry().out_channels == 6);
    CHECK(qc.params().weight().groups() == 6);
}

TEST_CASE("layer type selection: linear_for / conv2d_for and qlinear<Bits> stays PTQ4ViT's symmetric layer") {
    static_assert(std::is_same_v<zn::linear_for<zoa::policy<zoa::fp32>>, zn::linear>);
    static_assert(std::is_same_v<zn::linear_for<zoa::fp32>, zn::linear>);
    static_assert(std::is_same_v<zn::linear_for<asym_pc_w4a4>, zn::qlinear<asym_pc_w4a4>>);
    static_assert(std::is_same_v<zn::conv2d_for<zoa::policy<zoa::fp32>>, zn::conv2d>);
    static_assert(std::is_same_v<zn::conv2d_for<asym_pc_w4a4>, zn::quantized_conv2d<asym_pc_w4a4>>);
    static_assert(std::is_same_v<zn::quantized_linear<asym_pc_w4a4>, zn::qlinear<asym_pc_w4a4>>);
    // a bare bit-width means PTQ4ViT (signed codes), a policy chooses its ranges
    static_assert(std::is_same_v<zn::qlinear<zoa::w8a8>::w_range, zq::signed_range<8>>);
    static_assert(std::is_same_v<zn::qlinear<zoa::w8a8>::code_type, std::int8_t>);
    static_assert(std::is_same_v<zn::qlinear<asym_pc_w4a4>::a_range, zq::unsigned_range<4>>);
    static_assert(std::is_same_v<zn::qlinear<asym_pc_w4a4>::code_type, std::uint8_t>);
    static_assert(std::is_same_v<zn::qlinear<sym_pc_asym_w8a8>::a_range, zq::unsigned_range<8>>);
    static_assert(std::is_same_v<zn::quantized_conv2d<asym_pt_sym_w8a8>::w_range, zq::unsigned_range<8>>);
    CHECK(true);
}
