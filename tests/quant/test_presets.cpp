// zoa — tests for the per-layer quantization tables of PTQ4ViT (ViT) and MQBench academic (ResNet)
#include <doctest/doctest.h>

#include "zoa/quant/presets.hpp"

namespace q = zoa::quant;
using q::granularity;
using q::quantizer_kind;

TEST_CASE("PTQ4ViT table (spec §4.1): every layer at b bits with the documented granularity") {
    for (int b : {8, 6, 4}) {
        CAPTURE(b);
        const q::layer_quant_spec patch = q::ptq4vit_layer(q::vit_layer::patch_embed, b);
        CHECK(patch.operand[0].gran == granularity::per_channel);
        CHECK(patch.operand[0].bits == b);
        CHECK(patch.operand[1].kind == quantizer_kind::none);  // a_bit = 32
        const q::layer_quant_spec qkv = q::ptq4vit_layer(q::vit_layer::qkv, b);
        CHECK(qkv.operand[0].gran == granularity::per_row_block);
        CHECK(qkv.operand[0].blocks == 3);
        CHECK(qkv.operand[1].gran == granularity::per_tensor);
        const q::layer_quant_spec m1 = q::ptq4vit_layer(q::vit_layer::matmul1, b);
        CHECK(m1.kind == q::module_kind::matmul);
        CHECK(m1.operand[0].gran == granularity::per_head);
        CHECK(m1.operand[1].gran == granularity::per_head);
        const q::layer_quant_spec m2 = q::ptq4vit_layer(q::vit_layer::matmul2, b);
        CHECK(m2.operand[0].kind == quantizer_kind::post_softmax_twin);
        CHECK(m2.operand[1].gran == granularity::per_head);
        const q::layer_quant_spec fc2 = q::ptq4vit_layer(q::vit_layer::fc2, b);
        CHECK(fc2.operand[1].kind == quantizer_kind::post_gelu_twin);
        for (q::vit_layer l : {q::vit_layer::proj, q::vit_layer::fc1, q::vit_layer::head}) {
            const q::layer_quant_spec s = q::ptq4vit_layer(l, b);
            CHECK(s.operand[0].gran == granularity::per_tensor);
            CHECK(s.operand[1].gran == granularity::per_tensor);
            CHECK(s.operand[1].kind == quantizer_kind::uniform);
            CHECK(s.operand[0].sch == q::scheme::symmetric);
        }
    }
    // ablation switches: no twins -> plain uniform quantizers
    const q::ptq4vit_options no_twins{false, false};
    CHECK(q::ptq4vit_layer(q::vit_layer::fc2, 6, no_twins).operand[1].kind == quantizer_kind::uniform);
    CHECK(q::ptq4vit_layer(q::vit_layer::matmul2, 6, no_twins).operand[0].gran == granularity::per_head);
    // policy-driven and fp32
    CHECK(q::ptq4vit_layer<zoa::ptq4vit<zoa::w4a4>>(q::vit_layer::qkv).operand[0].bits == 4);
    CHECK(q::ptq4vit_layer<zoa::policy<zoa::fp32>>(q::vit_layer::qkv).operand[0].kind == quantizer_kind::none);
    CHECK_THROWS_WITH_AS(q::ptq4vit_layer(q::vit_layer::qkv, 9),
                         "zoa: argument: ptq4vit_layer: bits must be in 2..8 or >= 32, got 9", zoa::error);
}

TEST_CASE("MQBench academic table (spec §4.2): first conv and fc at 8 bit, W2 means W2A4") {
    for (int b : {8, 6, 4, 2}) {
        CAPTURE(b);
        const q::layer_quant_spec c = q::mqbench_layer(q::resnet_layer::conv, b);
        CHECK(c.operand[0].sch == q::scheme::asymmetric);
        CHECK(c.operand[0].gran == granularity::per_channel);
        CHECK(c.operand[1].gran == granularity::per_tensor);
        CHECK(c.operand[0].bits == b);
        CHECK(c.operand[1].bits == (b == 2 ? 4 : b));
        for (q::resnet_layer l : {q::resnet_layer::first_conv, q::resnet_layer::fc}) {
            const q::layer_quant_spec s = q::mqbench_layer(l, b);
            CHECK(s.operand[0].bits == 8);
            CHECK(s.operand[1].bits == 8);
        }
    }
    CHECK(q::mqbench_layer<zoa::mqbench<zoa::w6a6>>(q::resnet_layer::conv).operand[0].bits == 6);
    CHECK(q::mqbench_layer(q::resnet_layer::conv, 32).operand[0].kind == quantizer_kind::none);
}
