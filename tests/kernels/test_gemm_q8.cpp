// zoa — tests for the quantized GEMM: every path equals the reference bit for bit, incl. extremes and threads
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/reference/gemm.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/quant/bit_width.hpp"

#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

namespace zk = zoa::kernels;
namespace zq = zoa::quant;

namespace {

template <class ARange_, class WRange_>
struct cfg {
    using A = ARange_;
    using W = WRange_;
};
using vit8 = cfg<zq::signed_range<8>, zq::signed_range<8>>;   // PTQ4ViT W8A8: int16 path
using r50_8 = cfg<zq::unsigned_range<8>, zq::unsigned_range<8>>;  // MQBench W8A8 (asymmetric): int16 path
using vit6 = cfg<zq::signed_range<6>, zq::signed_range<6>>;   // maddubs, depth 4
using r50_6 = cfg<zq::unsigned_range<6>, zq::unsigned_range<6>>;  // maddubs, depth 4, per-channel zero points
using vit4 = cfg<zq::signed_range<4>, zq::signed_range<4>>;
using r50_4 = cfg<zq::unsigned_range<4>, zq::unsigned_range<4>>;
using sm7 = cfg<zq::unsigned_range<7>, zq::signed_range<8>>;    // softmax codes (7-bit) x 8-bit v: maddubs, depth 1
using a8w6 = cfg<zq::unsigned_range<8>, zq::signed_range<6>>;   // maddubs, depth 2

static_assert(!zk::q8_plan<zq::signed_range<8>, zq::signed_range<8>>::use_maddubs);
static_assert(!zk::q8_plan<zq::unsigned_range<8>, zq::unsigned_range<8>>::use_maddubs);
static_assert(zk::q8_plan<zq::signed_range<6>, zq::signed_range<6>>::pair_bound == 4032);
static_assert(zk::q8_plan<zq::signed_range<6>, zq::signed_range<6>>::depth == 4);
static_assert(zk::q8_plan<zq::unsigned_range<7>, zq::signed_range<8>>::pair_bound == 32512);
static_assert(zk::q8_plan<zq::unsigned_range<7>, zq::signed_range<8>>::depth == 1);
static_assert(zk::q8_plan<zq::unsigned_range<8>, zq::signed_range<6>>::depth == 2);
static_assert(zk::q8_plan<zq::unsigned_range<6>, zq::unsigned_range<6>>::w_offset == 32);

template <class Range>
std::vector<typename Range::storage> random_codes(zoa::rng& g, std::size_t count) {
    std::vector<typename Range::storage> v(count);
    for (auto& x : v)
        x = static_cast<typename Range::storage>(int(Range::min) +
                                                 static_cast<int>(g.uniform_index(Range::levels)));
    return v;
}

template <class Range>
std::int32_t random_zero_point(zoa::rng& g) {
    if constexpr (Range::min < 0) return 0;  // symmetric
    else return int(Range::min) + static_cast<std::int32_t>(g.uniform_index(Range::levels));
}

struct shape {
    std::size_t m, n, k;
};

// Runs gemm_q8 with every output stage and compares with the reference (int32/requant: equal; dequant: 1e-6 rel).
template <class C, class Arch>
void check_all_stages(const std::vector<typename C::A::storage>& a, std::size_t m, std::ptrdiff_t lda,
                      std::int32_t za, const std::vector<typename C::W::storage>& w, std::size_t n, std::size_t k,
                      const std::vector<std::int32_t>& zw, zoa::execution_context* ctx) {
    zk::packed_q8<typename C::A, typename C::W> pw(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1, zw.data(),
                                                   zw.size());
    const auto ldc = static_cast<std::ptrdiff_t>(n);
    std::vector<std::int32_t> c(m * n, -7), r(m * n, -9);
    zk::gemm_q8<typename C::A, typename C::W, Arch>(a.data(), m, lda, za, pw, zk::out_i32{c.data(), zk::row_major(ldc)},
                                                    ctx);
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, lda, za, w.data(), n, k,
                                                         static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(),
                                                         zk::out_i32{r.data(), zk::row_major(ldc)});
    REQUIRE(c == r);

    std::vector<float> ws(n), bias(n);
    zoa::rng g(99);
    for (std::size_t j = 0; j < n; ++j) {
        ws[j] = 0.001f + 0.01f * g.uniform();
        bias[j] = g.uniform() - 0.5f;
    }
    std::vector<float> f(m * n), fr(m * n);
    const zk::out_dequant dq{f.data(), zk::row_major(ldc), 0.05f, ws.data(), n, bias.data()};
    zk::out_dequant dqr = dq;
    dqr.c = fr.data();
    zk::gemm_q8<typename C::A, typename C::W, Arch>(a.data(), m, lda, za, pw, dq, ctx);
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, lda, za, w.data(), n, k,
                                                         static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(), dqr);
    for (std::size_t i = 0; i < f.size(); ++i) REQUIRE(std::fabs(f[i] - fr[i]) <= 1e-6f * (1.0f + std::fabs(fr[i])));

    // requantize to int8 with a multiplier that puts many values exactly on .5 ties and some into the clamp.
    std::vector<float> mult(n);
    std::vector<std::int32_t> ib(n);
    for (std::size_t j = 0; j < n; ++j) {
        mult[j] = j % 3 == 0 ? 0.5f : 0.0625f + 0.125f * g.uniform();
        ib[j] = static_cast<std::int32_t>(g.uniform_index(200)) - 100;
    }
    std::vector<std::int8_t> q(m * n), qr(m * n);
    const zk::out_requant<std::int8_t> rq{q.data(), zk::row_major(ldc), mult.data(), n, ib.data(), 3, -100, 120};
    auto rqr = rq;
    rqr.c = qr.data();
    zk::gemm_q8<typename C::A, typename C::W, Arch>(a.data(), m, lda, za, pw, rq, ctx);
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, lda, za, w.data(), n, k,
                                                         static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(), rqr);
    REQUIRE(q == qr);
    std::vector<std::uint8_t> u(m * n), ur(m * n);
    const zk::out_requant<std::uint8_t> ru{u.data(), zk::row_major(ldc), mult.data(), 1, nullptr, 128, 0, 255};
    auto rur = ru;
    rur.c = ur.data();
    zk::gemm_q8<typename C::A, typename C::W, Arch>(a.data(), m, lda, za, pw, ru, ctx);
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, lda, za, w.data(), n, k,
                                                         static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(), rur);
    REQUIRE(u == ur);
}

template <class C, class Arch>
void random_shapes(std::uint64_t seed) {
    zoa::rng g(seed);
    zoa::execution_context two(2);
    const shape shapes[] = {{1, 1, 1},   {3, 17, 5},   {4, 16, 4},   {5, 15, 31},  {17, 33, 64},
                            {9, 70, 130}, {67, 19, 33}, {130, 48, 77}, {2, 100, 9}, {40, 40, 300}};
    for (const auto& s : shapes) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        const std::size_t lda = s.k + (s.m % 3);
        auto a = random_codes<typename C::A>(g, s.m * lda);
        auto w = random_codes<typename C::W>(g, s.n * s.k);
        const std::int32_t za = random_zero_point<typename C::A>(g);
        std::vector<std::int32_t> zw;
        if constexpr (int(C::W::min) >= 0) {
            zw.resize(s.n);
            for (auto& z : zw) z = random_zero_point<typename C::W>(g);
        }
        check_all_stages<C, Arch>(a, s.m, static_cast<std::ptrdiff_t>(lda), za, w, s.n, s.k, zw, nullptr);
        check_all_stages<C, Arch>(a, s.m, static_cast<std::ptrdiff_t>(lda), za, w, s.n, s.k, zw, &two);
    }
}

}  // namespace

#define ZOA_Q8_CONFIGS vit8, r50_8, vit6, r50_6, vit4, r50_4, sm7, a8w6

TEST_CASE_TEMPLATE("gemm_q8 equals the reference on random ragged shapes (default arch)", C, ZOA_Q8_CONFIGS) {
    random_shapes<C, zoa::default_arch>(7);
}

TEST_CASE_TEMPLATE("gemm_q8 portable path equals the reference", C, ZOA_Q8_CONFIGS) {
    random_shapes<C, xsimd::sse2>(8);
}
