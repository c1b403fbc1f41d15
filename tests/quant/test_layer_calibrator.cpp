// zoa — tests for quant::layer_calibrator: the policy's scheme, granularity and bits; each range method equals its
// observer; input batches accumulate; errors name the layer
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "zoa/core/rng.hpp"
#include "zoa/quant/layer_calibrator.hpp"

namespace zq = zoa::quant;

namespace {
using asym_pc_w4a4 =
    zoa::policy<zoa::w4a4, zq::weight_scheme<zq::asymmetric, zq::per_channel>, zq::activation_scheme<zq::asymmetric>>;
using sym_rb_w6a8 = zoa::policy<zq::bits<6, 8>, zq::weight_scheme<zq::symmetric, zq::per_row_block<3>>>;
using asym_pt_sym_w8a8 =
    zoa::policy<zoa::w8a8, zq::weight_scheme<zq::asymmetric, zq::per_tensor>, zq::activation_scheme<zq::symmetric>>;

std::vector<float> normal(zoa::rng& r, std::size_t n, float mean, float sd) {
    std::vector<float> v(n);
    for (float& x : v) x = mean + sd * r.normal();
    return v;
}
}  // namespace

TEST_CASE("layer_calibrator: parameters follow the policy (scheme, granularity, bits)") {
    zoa::rng r(1);
    const auto w = normal(r, 12 * 7, 0.0f, 0.5f), x = normal(r, 64, 1.0f, 2.0f);
    {
        zq::layer_calibrator<asym_pc_w4a4> cal;
        cal.observe_input(x.data(), x.size());
        const zq::module_params p = cal.params(w, 12, "fc");
        CHECK(p.kind == zq::module_kind::weighted);
        CHECK(p.weight().sch == zq::scheme::asymmetric);
        CHECK(p.weight().gran == zq::granularity::per_channel);
        CHECK(p.weight().groups() == 12);
        CHECK(p.weight().bits == 4);
        CHECK(p.input().sch == zq::scheme::asymmetric);
        CHECK(p.input().groups() == 1);
        CHECK(p.input().bits == 4);
    }
    {
        zq::layer_calibrator<sym_rb_w6a8> cal;
        cal.observe_input(x.data(), x.size());
        const zq::module_params p = cal.params(w, 12, "qkv");
        CHECK(p.weight().sch == zq::scheme::symmetric);
        CHECK(p.weight().gran == zq::granularity::per_row_block);
        CHECK(p.weight().groups() == 3);
        CHECK(p.weight().zero_point.empty());
        CHECK(p.weight().bits == 6);
        CHECK(p.input().sch == zq::scheme::symmetric);
        CHECK(p.input().bits == 8);
        CHECK_THROWS_WITH_AS(cal.params(normal(r, 10 * 7, 0.0f, 1.0f), 10, "qkv"),
                             "zoa: shape: qkv: 10 outputs cannot be split into 3 row blocks", zoa::error);
    }
    {
        zq::layer_calibrator<asym_pt_sym_w8a8> cal;
        cal.observe_input(x.data(), x.size());
        const zq::module_params p = cal.params(w, 12, "proj");
        CHECK(p.weight().groups() == 1);
        CHECK(p.weight().sch == zq::scheme::asymmetric);
        CHECK(p.input().sch == zq::scheme::symmetric);
    }
}

TEST_CASE("layer_calibrator: each range method equals its observer, inputs accumulate over batches") {
    zoa::rng r(2);
    const auto w = normal(r, 6 * 10, 0.1f, 0.4f);
    const auto a = normal(r, 200, 0.5f, 1.0f), b = normal(r, 150, -0.2f, 2.5f);
    for (const zq::range_method m : {zq::range_method::min_max, zq::range_method::percentile, zq::range_method::mse}) {
        CAPTURE(zq::to_string(m));
        zq::calibration_options o;
        o.weights = o.inputs = m;
        o.percentile = 0.99;
        zq::layer_calibrator<asym_pc_w4a4> cal(o);
        cal.observe_input(a.data(), a.size());
        cal.observe_input(b.data(), b.size());
        CHECK(cal.batches() == 2);
        const zq::module_params p = cal.params(w, 6, "fc");
        zq::quant_params want_w, want_x;
        if (m == zq::range_method::min_max) {
            zq::min_max_observer ow(6), ox(1);
            ow.observe(w.data(), w.size());
            ox.observe(a.data(), a.size());
            ox.observe(b.data(), b.size());
            want_w = ow.affine_params(4, zq::granularity::per_channel);
            want_x = ox.affine_params(4, zq::granularity::per_tensor);
        } else if (m == zq::range_method::percentile) {
            zq::percentile_observer ow(0.99, 6), ox(0.99, 1);
            ow.observe(w.data(), w.size());
            ox.observe(a.data(), a.size());
            ox.observe(b.data(), b.size());
            want_w = ow.affine_params(4, zq::granularity::per_channel);
            want_x = ox.affine_params(4, zq::granularity::per_tensor);
        } else {
            zq::mse_observer ow(4, zq::granularity::per_channel, 6), ox(4, zq::granularity::per_tensor, 1, 0.9);
            ow.observe(w.data(), w.size());
            ox.observe(a.data(), a.size());
            ox.observe(b.data(), b.size());
            want_w = ow.params();
            want_x = ox.params();
        }
        CHECK(p.weight() == want_w);
        CHECK(p.input() == want_x);
    }
}

TEST_CASE("layer_calibrator: errors name the layer") {
    zq::layer_calibrator<asym_pc_w4a4> cal;
    const std::vector<float> w(8, 0.5f);
    CHECK_THROWS_WITH_AS(cal.params(w, 2, "conv1"),
                         "zoa: argument: conv1.input_quant: no values observed yet (observe at least one batch)",
                         zoa::error);
    const std::vector<float> bad = {1.0f, NAN};
    CHECK_THROWS_WITH_AS(cal.observe_input(bad.data(), bad.size()), "zoa: numeric: mse_observer: element 1 is nan",
                         zoa::error);
    CHECK_THROWS_WITH_AS(cal.params(w, 3, "fc"), "zoa: shape: fc: weight has 8 values, not a multiple of 3 outputs",
                         zoa::error);
    zq::calibration_options o;
    o.percentile = 0.2;
    CHECK_THROWS_WITH_AS(zq::layer_calibrator<asym_pc_w4a4>{o},
                         "zoa: argument: calibration_options: percentile must be in (0.5, 1], got 0.2", zoa::error);
}
