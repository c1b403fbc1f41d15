// zoa — which GEMM kernels a build runs: no integer GEMM of the shipped layers falls back to the portable loops on a
// CPU family that has SIMD kernels (AArch64 at every level, x86 with AVX2), and the names `zoa version` prints
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/nn/conv2d.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/quant/bit_width.hpp"

#include <string>

namespace zk = zoa::kernels;
namespace zq = zoa::quant;

namespace {

/// The kernel gemm_q8 runs for a packed weight type (its ranges and Arch).
template <class Packed>
std::string kernel_of() {
    return zk::q8_kernel_name(zk::q8_kernel_of<typename Packed::plan, typename Packed::arch>);
}

/// The kernel each level must run for a plan: the level's instruction, or (ARMv8.0) SMULL for 8-bit x 8-bit codes,
/// MUL for codes whose products fit int8 (4-bit x 4-bit) and SMLAL chains for the others.
template <class Packed>
std::string expected_kernel() {
    using plan = typename Packed::plan;
    if constexpr (zk::neon_level_compiled == 2) return "neon-smmla";
    else if constexpr (zk::neon_level_compiled == 1) return "neon-sdot";
    else if constexpr (zk::neon_level_compiled == 0)
        return plan::byte_products ? "neon-mul8" : plan::depth > 1 ? "neon-smlal" : "neon-smull";
    else if constexpr (zk::is_vnni_arch_v<zk::q8_default_arch>) return "vnni";
    else if constexpr (zoa::has_avx2_v<zk::q8_default_arch>) return plan::use_maddubs ? "avx2-maddubs" : "avx2-madd16";
    else return "portable";
}

template <class Packed>
void check_layer(const char* what) {
    CAPTURE(what);
    const std::string name = kernel_of<Packed>();
    CHECK(name == expected_kernel<Packed>());
    if (zk::neon_level_compiled >= 0 || zoa::has_avx2_v<zk::q8_default_arch>) CHECK(name != "portable");
}

}  // namespace

TEST_CASE("the quantized layers' GEMMs and convolutions run this build's SIMD kernel, never the portable loops") {
    MESSAGE("int8: " << std::string(zk::q8_kernels_compiled()) << ", fp32: " << std::string(zk::f32_kernel_name()));
    // ViT (PTQ4ViT): signed symmetric codes for linear layers and the attention products (q·kᵀ, softmax codes · v)
    check_layer<zoa::nn::qlinear<zoa::w8a8>::packed_type>("ViT W8A8 linear");
    check_layer<zoa::nn::qlinear<zoa::w6a6>::packed_type>("ViT W6A6 linear");
    check_layer<zoa::nn::qlinear<zoa::w4a4>::packed_type>("ViT W4A4 linear");
    check_layer<zk::packed_q8<zq::signed_range<8>, zq::signed_range<8>>>("ViT W8A8 attention");
    check_layer<zk::packed_q8<zq::signed_range<6>, zq::signed_range<6>>>("ViT W6A6 attention");
    // ResNet (MQBench): unsigned asymmetric codes with per-channel weight zero points; conv1 and fc at 8 bits
    using u8 = zq::unsigned_range<8>;
    using u6 = zq::unsigned_range<6>;
    using u4 = zq::unsigned_range<4>;
    check_layer<zoa::nn::qconv2d<u8, u8>::packed_type>("ResNet W8A8 conv");
    check_layer<zoa::nn::qconv2d<u6, u6>::packed_type>("ResNet W6A6 conv");
    check_layer<zoa::nn::qconv2d<u4, u4>::packed_type>("ResNet W4A4 conv");
    // mixed widths users compose: 7-bit softmax codes x 8-bit values, 8-bit activations x 6-bit weights
    check_layer<zk::packed_q8<zq::unsigned_range<7>, zq::signed_range<8>>>("u7 x s8");
    check_layer<zk::packed_q8<u8, zq::signed_range<6>>>("u8 x s6");
}

TEST_CASE("kernel names") {
    CHECK(std::string(zk::q8_kernel_name(zk::q8_kernel::portable)) == "portable");
    CHECK(std::string(zk::q8_kernel_name(zk::q8_kernel::neon_sdot)) == "neon-sdot");
    CHECK(std::string(zk::q8_kernel_name(zk::q8_kernel::neon_smmla)) == "neon-smmla");
    CHECK(std::string(zk::q8_kernel_name(zk::q8_kernel::vnni)) == "vnni");
    // the portable tag runs the scalar loops on every CPU
    CHECK(zk::q8_kernel_for<zq::signed_range<8>, zq::signed_range<8>, xsimd::sse2> == zk::q8_kernel::portable);
    // AArch64 tags name their level (a type-level choice, so it holds on every build machine)
    using neon = xsimd::neon64;
    CHECK(zk::q8_kernel_for<zq::signed_range<8>, zq::signed_range<8>, neon> == zk::q8_kernel::neon_smull);
    CHECK(zk::q8_kernel_for<zq::signed_range<6>, zq::signed_range<6>, neon> == zk::q8_kernel::neon_smlal);
    CHECK(zk::q8_kernel_for<zq::unsigned_range<4>, zq::unsigned_range<4>, neon> == zk::q8_kernel::neon_mul8);
    CHECK(zk::q8_kernel_for<zq::signed_range<4>, zq::signed_range<5>, neon> == zk::q8_kernel::neon_smlal);  // 8*16
    CHECK(zk::q8_kernel_for<zq::signed_range<8>, zq::signed_range<8>, zk::with_dotprod<neon>> == zk::q8_kernel::neon_sdot);
    CHECK(zk::q8_kernel_for<zq::signed_range<4>, zq::signed_range<4>, zk::with_i8mm<neon>> == zk::q8_kernel::neon_smmla);
    const std::string compiled = zk::q8_kernels_compiled();
    if constexpr (zk::neon_level_compiled == 2) CHECK(compiled == "neon-i8mm");
    else if constexpr (zk::neon_level_compiled == 1) CHECK(compiled == "neon-dotprod");
    else if constexpr (zk::neon_level_compiled == 0) CHECK(compiled == "neon");
    if constexpr (zk::neon_level_compiled >= 0) CHECK(std::string(zk::f32_kernel_name()) == "neon-fma");
}

TEST_CASE("AArch64 plans: signed centred operands and the SMLAL int16 chain depths") {
    using s8 = zq::signed_range<8>;
    using u8 = zq::unsigned_range<8>;
    using p8 = zk::q8_plan_neon<s8, s8, 0>;
    static_assert(p8::a_shift == 0 && p8::product_bound == 128 * 128 && p8::depth == 1);
    using pu8 = zk::q8_plan_neon<u8, u8, 0>;
    static_assert(pu8::a_offset == 128 && pu8::w_offset == 128 && pu8::depth == 1);
    static_assert(zk::q8_plan_neon<zq::signed_range<6>, zq::signed_range<6>, 0>::depth == 31);  // 31 * 1024 <= 32767
    static_assert(zk::q8_plan_neon<zq::unsigned_range<6>, zq::unsigned_range<6>, 0>::depth == 31);
    using p4 = zk::q8_plan_neon<zq::signed_range<4>, zq::signed_range<4>, 0>;
    static_assert(p4::byte_products && p4::product_bound == 64 && p4::depth == 64);  // capped (255 exact: 255*2*64)
    static_assert(zk::q8_plan_neon<zq::unsigned_range<7>, zq::signed_range<8>, 0>::depth == 3);  // 64 * 128 = 8192
    static_assert(zk::q8_plan_neon<u8, zq::signed_range<6>, 0>::depth == 7);                    // 128 * 32 = 4096
    static_assert(zk::q8_plan_neon<s8, s8, 2>::k_group == 8 && zk::q8_plan_neon<s8, s8, 1>::k_group == 4);
    CHECK(p8::max_k == 33025);
}
