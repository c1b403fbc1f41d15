// zoa — tests for conv2d (float and quantized): reference agreement over geometries, zero-point padding, threads
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/core/rng.hpp"
#include "zoa/kernels/conv2d.hpp"
#include "zoa/kernels/reference/conv2d.hpp"
#include "zoa/quant/bit_width.hpp"
#include "kernel_archs.hpp"

#include <cmath>
#include <type_traits>
#include <vector>

namespace zk = zoa::kernels;
namespace zq = zoa::quant;

namespace {

// batch, C, H, W, OC, KH, KW, SH, SW, PH, PW
const zk::conv2d_shape geometries[] = {
    {1, 3, 5, 6, 7, 3, 3, 1, 1, 1, 1},   {2, 5, 7, 7, 17, 3, 3, 2, 2, 1, 1}, {2, 16, 4, 4, 33, 1, 1, 1, 1, 0, 0},
    {1, 9, 6, 5, 16, 1, 1, 2, 2, 0, 0},  {2, 3, 8, 8, 20, 4, 4, 4, 4, 0, 0}, {1, 4, 5, 9, 5, 2, 3, 1, 2, 2, 1},
    {3, 1, 1, 1, 3, 1, 1, 1, 1, 0, 0},   {1, 7, 3, 3, 9, 3, 3, 1, 1, 2, 2},  {2, 20, 7, 7, 18, 3, 3, 1, 1, 1, 1},
    {1, 64, 5, 5, 9, 3, 3, 1, 1, 1, 1},  // K = 576: the fp32 path is K-blocked
};

template <class Range>
std::vector<typename Range::storage> codes(zoa::rng& g, std::size_t n) {
    std::vector<typename Range::storage> v(n);
    for (auto& x : v) x = static_cast<typename Range::storage>(int(Range::min) + int(g.uniform_index(Range::levels)));
    return v;
}

template <class AR, class WR, class Arch>
void quantized_geometries(std::uint64_t seed) {
    zoa::rng g(seed);
    zoa::execution_context two(2);
    for (const auto& s : geometries) {
        CAPTURE(s.in_channels);
        CAPTURE(s.kernel_h);
        CAPTURE(s.stride_h);
        CAPTURE(s.pad_h);
        const auto x = codes<AR>(g, s.batch * s.in_channels * s.height * s.width);
        const auto w = codes<WR>(g, s.out_channels * s.k());
        const std::int32_t za = int(AR::min) < 0 ? 0 : int(AR::min) + int(g.uniform_index(AR::levels));
        std::vector<std::int32_t> zw;
        if (int(WR::min) >= 0)
            for (std::size_t o = 0; o < s.out_channels; ++o) zw.push_back(int(WR::min) + int(g.uniform_index(WR::levels)));
        const auto pw = zk::pack_conv2d_q8<AR, WR, Arch>(w.data(), s, zw.data(), zw.size());
        const std::size_t ny = s.batch * s.out_channels * s.out_h() * s.out_w();
        std::vector<std::int32_t> y1(ny, 1), y2(ny, 2), r(ny, 3);
        zk::conv2d_q8(s, x.data(), za, pw, zk::out_i32{y1.data()});
        zk::conv2d_q8(s, x.data(), za, pw, zk::out_i32{y2.data()}, &two);
        zk::reference::conv2d_q8<AR, WR>(s, x.data(), za, w.data(), zw.data(), zw.size(), zk::out_i32{r.data()});
        REQUIRE(y1 == r);
        REQUIRE(y2 == r);
        std::vector<float> mult(s.out_channels);
        for (auto& v : mult) v = 0.01f + 0.05f * g.uniform();
        std::vector<std::uint8_t> q(ny), qr(ny);
        zk::conv2d_q8(s, x.data(), za, pw,
                                    zk::out_requant<std::uint8_t>{q.data(), {}, mult.data(), mult.size(), nullptr, 7, 0, 255},
                                    &two);
        zk::reference::conv2d_q8<AR, WR>(s, x.data(), za, w.data(), zw.data(), zw.size(),
                                         zk::out_requant<std::uint8_t>{qr.data(), {}, mult.data(), mult.size(), nullptr, 7, 0, 255});
        REQUIRE(q == qr);
    }
}

}  // namespace

TEST_CASE_TEMPLATE("conv2d_q8 equals the reference over geometries (default arches)", R, zq::unsigned_range<8>,
                   zq::unsigned_range<6>, zq::unsigned_range<4>, zq::signed_range<8>, zq::signed_range<6>) {
    quantized_geometries<R, R, zk::q8_default_arch>(31);
    if constexpr (!std::is_same_v<zoa::default_arch, zk::q8_default_arch>) quantized_geometries<R, R, zoa::default_arch>(33);
}

TEST_CASE_TEMPLATE("conv2d_q8 portable path equals the reference", R, zq::unsigned_range<8>, zq::unsigned_range<4>) {
    quantized_geometries<R, R, zoa_test::portable_q8_arch>(32);
}

TEST_CASE("conv2d_q8 pads with the input zero point: an all-zero-point input gives exactly zero") {
    using U8 = zq::unsigned_range<8>;
    const zk::conv2d_shape s{2, 5, 6, 6, 19, 3, 3, 1, 1, 2, 2};
    zoa::rng g(3);
    const auto w = codes<U8>(g, s.out_channels * s.k());
    const std::int32_t za = 201, zw = 17;
    std::vector<std::uint8_t> x(s.batch * s.in_channels * s.height * s.width, std::uint8_t(za));
    const auto pw = zk::pack_conv2d_q8<U8, U8>(w.data(), s, &zw, 1);
    std::vector<std::int32_t> y(s.batch * s.out_channels * s.out_h() * s.out_w(), -1);
    zk::conv2d_q8(s, x.data(), za, pw, zk::out_i32{y.data()});
    for (const auto v : y) REQUIRE(v == 0);
}

TEST_CASE("conv2d_f32 agrees with the reference over geometries, 1 and 2 threads") {
    zoa::rng g(41);
    zoa::execution_context two(2);
    for (const auto& s : geometries) {
        std::vector<float> x(s.batch * s.in_channels * s.height * s.width), w(s.out_channels * s.k()), bias(s.out_channels);
        for (auto& v : x) v = 2.0f * g.uniform() - 1.0f;
        for (auto& v : w) v = 2.0f * g.uniform() - 1.0f;
        for (auto& v : bias) v = g.uniform();
        const auto pw = zk::pack_conv2d_f32(w.data(), s);
        const auto pw_sse = zk::pack_conv2d_f32<zoa_test::second_f32_arch>(w.data(), s);
        const std::size_t ny = s.batch * s.out_channels * s.out_h() * s.out_w();
        std::vector<float> y1(ny), y2(ny), y3(ny), r(ny);
        zk::conv2d_f32(s, x.data(), pw, bias.data(), y1.data());
        zk::conv2d_f32(s, x.data(), pw, bias.data(), y2.data(), &two);
        zk::conv2d_f32<zoa_test::second_f32_arch>(s, x.data(), pw_sse, bias.data(), y3.data(), &two);
        zk::reference::conv2d_f32(s, x.data(), w.data(), bias.data(), r.data());
        REQUIRE(y1 == y2);
        for (std::size_t i = 0; i < ny; ++i) {
            // |x|, |w| <= 1: the summed magnitude is at most K + |bias|
            REQUIRE(std::fabs(y1[i] - r[i]) <= 1e-5f * float(s.k() + 1));
            REQUIRE(std::fabs(y3[i] - r[i]) <= 1e-5f * float(s.k() + 1));
        }
    }
}

TEST_CASE("conv2d rejects inconsistent shapes with named errors") {
    const zk::conv2d_shape s{1, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1};
    std::vector<float> w(4 * 27, 0.5f), x(75), y(100);
    const auto pw = zk::pack_conv2d_f32(w.data(), s);
    zk::conv2d_shape other = s;
    other.in_channels = 2;
    CHECK_THROWS_WITH_AS(zk::conv2d_f32(other, x.data(), pw, nullptr, y.data()),
                         "zoa: shape: conv2d_f32: packed weights are 4 x 27, the shape needs out_channels x "
                         "in_channels*kernel_h*kernel_w = 4 x 18",
                         zoa::error);
    other = s;
    other.kernel_h = 9;
    CHECK_THROWS_WITH_AS(other.validate(), "zoa: shape: conv2d_shape: kernel 9x3 larger than the padded input 7x7",
                         zoa::error);
    other = s;
    other.stride_w = 0;
    CHECK_THROWS_WITH_AS(other.validate(), "zoa: shape: conv2d_shape: kernel 3x3 and stride 1x0 must be > 0", zoa::error);
    using U8 = zq::unsigned_range<8>;
    std::vector<std::uint8_t> wq(4 * 27, 3), xq(75, 1);
    const auto pq = zk::pack_conv2d_q8<U8, U8>(wq.data(), s);
    std::vector<std::int32_t> yq(100);
    CHECK_THROWS_WITH_AS((zk::conv2d_q8(s, xq.data(), 300, pq, zk::out_i32{yq.data()})),
                         "zoa: argument: conv2d_q8: input zero point 300 outside [0, 255]", zoa::error);
}
