// zoa — tests for bit-width policies, quantizer policy axes, policy resolution and presets
#include <doctest/doctest.h>

#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/presets.hpp"
#include "zoa/quant/quantizer.hpp"

#include <cstdint>
#include <string>
#include <type_traits>

namespace q = zoa::quant;

TEST_CASE("bits<W,A>: signed and unsigned value ranges in 8-bit storage") {
    static_assert(std::is_same_v<zoa::w8a8, q::bits<8, 8>>);
    static_assert(std::is_same_v<zoa::w4a4::weight_range::storage, std::int8_t>);
    CHECK(int(zoa::w8a8::weight_range::min) == -128);
    CHECK(int(zoa::w8a8::weight_range::max) == 127);
    CHECK(int(zoa::w6a6::activation_range::min) == -32);
    CHECK(int(zoa::w6a6::activation_range::max) == 31);
    CHECK(int(zoa::w4a4::weight_range::min) == -8);
    CHECK(int(zoa::w4a4::weight_range::max) == 7);
    CHECK(int(q::bits<2, 3>::weight_range::min) == -2);
    CHECK(int(q::bits<2, 3>::activation_range::max) == 3);
    // unsigned affine ranges: [0, 2^b - 1]; only the 8-bit one needs uint8 storage
    static_assert(std::is_same_v<zoa::w8a8::activation_affine_range::storage, std::uint8_t>);
    static_assert(std::is_same_v<zoa::w6a6::activation_affine_range::storage, std::int8_t>);
    CHECK(int(zoa::w8a8::activation_affine_range::max) == 255);
    CHECK(int(zoa::w4a4::weight_affine_range::max) == 15);
    CHECK(zoa::w8a8::weight_range::levels == 256);
    CHECK(zoa::w4a4::weight_range::max_abs == 8);
    // runtime twins agree
    for (int b = 2; b <= 8; ++b) {
        CHECK(q::signed_min(b) == -(1 << (b - 1)));
        CHECK(q::signed_max(b) == (1 << (b - 1)) - 1);
        CHECK(q::unsigned_max(b) == (1 << b) - 1);
    }
}

TEST_CASE("maddubs exactness flag: 2 * (2^A - 1) * 2^(W-1) <= 32767") {
    static_assert(!zoa::w8a8::maddubs_exact);     // 255*128*2 = 65280
    static_assert(q::bits<8, 7>::maddubs_exact);  // 127*128*2 = 32512
    static_assert(q::bits<7, 8>::maddubs_exact);  // 255*64*2 = 32640
    static_assert(zoa::w6a6::maddubs_exact && zoa::w4a4::maddubs_exact);
    static_assert(!zoa::fp32::maddubs_exact && !zoa::fp32::quantized);
    for (int w = 2; w <= 8; ++w)
        for (int a = 2; a <= 8; ++a) CHECK(q::maddubs_exact(w, a) == (2 * ((1 << a) - 1) * (1 << (w - 1)) <= 32767));
}

TEST_CASE("policy defaults: W8A8, symmetric per-channel weights, symmetric per-tensor activations") {
    using C = q::quant_config<zoa::policy<>>;
    static_assert(std::is_same_v<C::bit_width, zoa::w8a8>);
    static_assert(std::is_same_v<C::weight, q::weight_scheme<q::symmetric, q::per_channel>>);
    static_assert(std::is_same_v<C::activation, q::activation_scheme<q::symmetric, q::per_tensor>>);
    CHECK(C::quantized);
    CHECK(C::weight_bits == 8);
    CHECK(C::activation_bits == 8);
    CHECK(C::weight_scheme == q::scheme::symmetric);
    CHECK(C::weight_granularity == q::granularity::per_channel);
    CHECK(C::activation_scheme == q::scheme::symmetric);
    CHECK(C::activation_granularity == q::granularity::per_tensor);
}

TEST_CASE("policy options are order-free and each axis is resolved independently") {
    using A = zoa::policy<zoa::w4a4, q::activation_scheme<q::asymmetric>,
                          q::weight_scheme<q::asymmetric, q::per_row_block<3>>>;
    using B = zoa::policy<q::weight_scheme<q::asymmetric, q::per_row_block<3>>, zoa::w4a4,
                          q::activation_scheme<q::asymmetric>>;
    static_assert(std::is_same_v<q::quant_config<A>::weight, q::quant_config<B>::weight>);
    static_assert(std::is_same_v<q::quant_config<A>::activation, q::quant_config<B>::activation>);
    static_assert(std::is_same_v<q::quant_config<A>::bit_width, q::quant_config<B>::bit_width>);
    CHECK(q::quant_config<A>::weight_bits == 4);
    CHECK(q::quant_config<B>::activation_scheme == q::scheme::asymmetric);
    CHECK(q::quant_config<B>::weight_granularity == q::granularity::per_row_block);
    CHECK(q::quant_config<A>::weight::granularity_tag::blocks == 3);
    // only one axis set: the others keep their defaults
    using W6 = q::quant_config<zoa::policy<q::bits<6, 4>>>;
    CHECK(W6::weight_bits == 6);
    CHECK(W6::activation_bits == 4);
    CHECK(W6::weight_granularity == q::granularity::per_channel);
    using F = q::quant_config<zoa::policy<zoa::fp32>>;
    CHECK_FALSE(F::quantized);
}

TEST_CASE("concept traits accept the options and reject look-alikes") {
    static_assert(q::is_bit_width_v<zoa::w6a6> && q::is_bit_width_v<zoa::fp32>);
    static_assert(!q::is_bit_width_v<q::per_tensor> && !q::is_bit_width_v<int>);
    static_assert(q::is_scheme_v<q::symmetric> && q::is_scheme_v<q::asymmetric> && !q::is_scheme_v<q::per_head>);
    static_assert(q::is_granularity_v<q::per_head> && q::is_granularity_v<q::per_row_block<3>>);
    static_assert(!q::is_granularity_v<q::symmetric>);
    static_assert(q::is_weight_quantizer_v<q::weight_scheme<>> && !q::is_weight_quantizer_v<q::activation_scheme<>>);
    static_assert(q::is_activation_quantizer_v<q::activation_scheme<q::asymmetric, q::per_head>>);
    static_assert(!q::is_activation_quantizer_v<zoa::w8a8>);
    CHECK(q::to_string(q::granularity::per_row_block) == std::string("per_row_block"));
    CHECK(q::to_string(q::scheme::asymmetric) == std::string("asymmetric"));
}

TEST_CASE("presets: PTQ4ViT and MQBench policy bundles") {
    using P = q::quant_config<zoa::ptq4vit<zoa::w6a6>>;
    CHECK(P::weight_bits == 6);
    CHECK(P::weight_scheme == q::scheme::symmetric);
    CHECK(P::weight_granularity == q::granularity::per_tensor);
    using M = q::quant_config<zoa::mqbench<zoa::w4a4>>;
    CHECK(M::weight_scheme == q::scheme::asymmetric);
    CHECK(M::weight_granularity == q::granularity::per_channel);
    CHECK(M::activation_scheme == q::scheme::asymmetric);
    CHECK(M::activation_granularity == q::granularity::per_tensor);
}
