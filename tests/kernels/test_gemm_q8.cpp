// zoa — tests for the quantized GEMM: every path equals the reference bit for bit, incl. extremes and threads
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/gram_q8.hpp"
#include "zoa/kernels/reference/gemm.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/quant/bit_width.hpp"
#include "kernel_archs.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
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
using vit6 = cfg<zq::signed_range<6>, zq::signed_range<6>>;   // maddubs, depth 8
using r50_6 = cfg<zq::unsigned_range<6>, zq::unsigned_range<6>>;  // maddubs, depth 8, per-channel zero points
using vit4 = cfg<zq::signed_range<4>, zq::signed_range<4>>;
using r50_4 = cfg<zq::unsigned_range<4>, zq::unsigned_range<4>>;
using sm7 = cfg<zq::unsigned_range<7>, zq::signed_range<8>>;    // softmax codes (7-bit) x 8-bit v: maddubs, depth 1
using a8w6 = cfg<zq::unsigned_range<8>, zq::signed_range<6>>;   // maddubs, depth 2
// the other pairs a policy bundle can ask for (nn::qlinear<Policy>, nn::quantized_conv2d<Policy>): mixed schemes
using s8u8 = cfg<zq::signed_range<8>, zq::unsigned_range<8>>;    // symmetric inputs, affine weights: int16 path
using u8s8 = cfg<zq::unsigned_range<8>, zq::signed_range<8>>;    // affine inputs, symmetric weights: int16 path
using s4u4 = cfg<zq::signed_range<4>, zq::unsigned_range<4>>;    // maddubs with both zero-point corrections
using u4s4 = cfg<zq::unsigned_range<4>, zq::signed_range<4>>;
using u8u4 = cfg<zq::unsigned_range<8>, zq::unsigned_range<4>>;  // W4A8 affine: maddubs
using s4s8 = cfg<zq::signed_range<4>, zq::signed_range<8>>;      // W8A4 symmetric: maddubs

static_assert(!zk::q8_plan<zq::signed_range<8>, zq::signed_range<8>>::use_maddubs);
static_assert(!zk::q8_plan<zq::unsigned_range<8>, zq::unsigned_range<8>>::use_maddubs);
static_assert(zk::q8_plan<zq::signed_range<6>, zq::signed_range<6>>::pair_bound == 4032);
static_assert(zk::q8_plan<zq::signed_range<6>, zq::signed_range<6>>::depth == 8);   // 8 * 4032 <= 32767
static_assert(zk::q8_plan<zq::signed_range<4>, zq::signed_range<4>>::depth == 64);  // capped (136 * 240 <= 32767)
static_assert(zk::q8_plan<zq::unsigned_range<7>, zq::signed_range<8>>::pair_bound == 32512);
static_assert(zk::q8_plan<zq::unsigned_range<7>, zq::signed_range<8>>::depth == 1);
static_assert(zk::q8_plan<zq::unsigned_range<8>, zq::signed_range<6>>::depth == 2);
static_assert(zk::q8_plan<zq::unsigned_range<6>, zq::unsigned_range<6>>::w_offset == 32);
static_assert(zk::q8_plan<zq::signed_range<8>, zq::signed_range<8>, true>::bytes);  // VNNI: byte layout for 8-bit

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
    zk::packed_q8<typename C::A, typename C::W, Arch> pw(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1, zw.data(),
                                                         zw.size());
    const auto ldc = static_cast<std::ptrdiff_t>(n);
    std::vector<std::int32_t> c(m * n, -7), r(m * n, -9);
    zk::gemm_q8(a.data(), m, lda, za, pw, zk::out_i32{c.data(), zk::row_major(ldc)},
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
    zk::gemm_q8(a.data(), m, lda, za, pw, dq, ctx);
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
    zk::gemm_q8(a.data(), m, lda, za, pw, rq, ctx);
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, lda, za, w.data(), n, k,
                                                         static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(), rqr);
    REQUIRE(q == qr);
    std::vector<std::uint8_t> u(m * n), ur(m * n);
    const zk::out_requant<std::uint8_t> ru{u.data(), zk::row_major(ldc), mult.data(), 1, nullptr, 128, 0, 255};
    auto rur = ru;
    rur.c = ur.data();
    zk::gemm_q8(a.data(), m, lda, za, pw, ru, ctx);
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

#define ZOA_Q8_CONFIGS vit8, r50_8, vit6, r50_6, vit4, r50_4, sm7, a8w6, s8u8, u8s8, s4u4, u4s4, u8u4, s4s8

// Every integer path this build has: q8_default_arch (AMX when compiled in and granted, then VNNI with AMX
// forbidden), zoa::default_arch (the AVX2 breakout under -mavx2 / -march=native) and the portable path (sse2 tag).
// AArch64: q8_default_arch (SMMLA or SDOT), SDOT again in i8mm builds, neon64 (SMULL/SMLAL) and the portable path.
// Duplicates are skipped.
template <template <class, class> class Check, class C>
void on_every_arch() {
    Check<C, zk::q8_default_arch>::run();
    if (zk::amx_active()) {
        zk::allow_amx(false);
        Check<C, zk::q8_default_arch>::run();
        zk::allow_amx(true);
    }
    if constexpr (!std::is_same_v<zoa::default_arch, zk::q8_default_arch>) Check<C, zoa::default_arch>::run();
    if constexpr (zk::neon_level_compiled == 2) Check<C, zk::with_dotprod<zoa::default_arch>>::run();
    if constexpr (!std::is_same_v<zoa::default_arch, xsimd::sse2>) Check<C, zoa_test::portable_q8_arch>::run();
}
template <class C, class Arch>
struct random_check {
    static void run() { random_shapes<C, Arch>(7); }
};

TEST_CASE_TEMPLATE("gemm_q8 equals the reference on random ragged shapes, every path", C, ZOA_Q8_CONFIGS) {
    const std::string path = std::string("q8 arch ") + zoa::arch_name<zk::q8_default_arch>() + ", AMX " + (zk::amx_active() ? "on" : "off");
    MESSAGE(path);
    on_every_arch<random_check, C>();
}

namespace {

// Every operand at an extreme of its range (all combinations of min/max for A, W and the zero points), with K at
// the exact-int32 bound of the plan (capped to keep the test fast): the accumulators reach +-K*span_a*span_w.
// This is the exactness proof at the extreme values: any saturation in vpmaddubsw, any int16 wrap in the
// depth-summed lanes or any lost carry in the offset algebra would change the int32 results.
template <class C, class Arch>
void extremes() {
    using plan = zk::q8_plan<typename C::A, typename C::W>;
    const std::size_t k = static_cast<std::size_t>(std::min<long>(plan::max_k, 40000));
    const std::size_t m = 5, n = 19;
    const int amin = plan::a_min, amax = plan::a_max, wmin = plan::w_min, wmax = plan::w_max;
    const bool asym_a = amin >= 0, asym_w = wmin >= 0;
    for (int pattern = 0; pattern < 4; ++pattern) {
        std::vector<typename C::A::storage> a(m * k);
        std::vector<typename C::W::storage> w(n * k);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t kk = 0; kk < k; ++kk) {
                const bool hi = pattern == 0 ? true : pattern == 1 ? (i % 2 == 0) : pattern == 2 ? (kk % 2 == 0) : ((i + kk / 3) % 2 == 0);
                a[i * k + kk] = static_cast<typename C::A::storage>(hi ? amax : amin);
            }
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t kk = 0; kk < k; ++kk) {
                const bool hi = pattern == 0 ? (j % 2 == 0) : pattern == 3 ? ((j + kk) % 2 == 0) : (j % 3 != 1);
                w[j * k + kk] = static_cast<typename C::W::storage>(hi ? wmax : wmin);
            }
        for (const std::int32_t za : {asym_a ? amin : 0, asym_a ? amax : 0}) {
            std::vector<std::int32_t> zw;
            if (asym_w) {
                zw.resize(n);
                for (std::size_t j = 0; j < n; ++j) zw[j] = j % 2 ? wmax : wmin;
            }
            zk::packed_q8<typename C::A, typename C::W, Arch> pw(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1,
                                                                 zw.data(), zw.size());
            std::vector<std::int32_t> c(m * n), r(m * n);
            zoa::execution_context two(2);
            zk::gemm_q8(a.data(), m, static_cast<std::ptrdiff_t>(k), za, pw,
                                                            zk::out_i32{c.data(), zk::row_major(std::ptrdiff_t(n))}, &two);
            zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, static_cast<std::ptrdiff_t>(k), za, w.data(), n,
                                                                 k, static_cast<std::ptrdiff_t>(k), 1, zw.data(), zw.size(),
                                                                 zk::out_i32{r.data(), zk::row_major(std::ptrdiff_t(n))});
            CAPTURE(pattern);
            CAPTURE(za);
            REQUIRE(c == r);
        }
    }
}

}  // namespace

template <class C, class Arch>
struct extreme_check {
    static void run() { extremes<C, Arch>(); }
};

TEST_CASE_TEMPLATE("gemm_q8 is exact at the extreme values and at the int32 bound, every path", C, ZOA_Q8_CONFIGS) {
    on_every_arch<extreme_check, C>();
}

TEST_CASE("the 8-bit int32 bound is reached exactly: K = max_k, |a - za| = |w - zw| = 255") {
    using A = zq::unsigned_range<8>;
    using plan = zk::q8_plan<A, A>;
    static_assert(plan::max_k == 33025);  // 33025 * 255 * 255 = 2147450625 <= 2^31 - 1
    const std::size_t k = plan::max_k;
    std::vector<std::uint8_t> a(k, 255), w(2 * k, 0);
    for (std::size_t kk = 0; kk < k; ++kk) w[k + kk] = 255;  // row 1: w - zw = 255 - 0; row 0: 0 - 255
    const std::int32_t zw[2] = {255, 0};
    zk::packed_q8<A, A> pw(w.data(), 2, k, static_cast<std::ptrdiff_t>(k), 1, zw, 2);
    std::int32_t c[2];
    zk::gemm_q8(a.data(), 1, static_cast<std::ptrdiff_t>(k), 0, pw, zk::out_i32{c, zk::row_major(2)});
    CHECK(c[0] == -2147450625);
    CHECK(c[1] == 2147450625);
    CHECK_THROWS_WITH_AS((zk::packed_q8<A, A>(w.data(), 1, k + 1, std::ptrdiff_t(k + 1), 1)),
                         "zoa: argument: packed_q8: K = 33026 exceeds the exact-int32 bound 33025 for these ranges",
                         zoa::error);
}

TEST_CASE("attention: per-head q.k^T and attn.v on strided views of a [T x 3D] qkv buffer") {
    using S8 = zq::signed_range<8>;
    using U7 = zq::unsigned_range<7>;  // softmax codes
    const std::size_t t = 23, heads = 3, dh = 20, d = heads * dh;
    zoa::rng g(21);
    const auto qkv = random_codes<S8>(g, t * 3 * d);
    const auto attn = random_codes<U7>(g, t * t);
    const auto ld = static_cast<std::ptrdiff_t>(3 * d);
    zk::packed_q8<S8, S8> kpack;
    zk::packed_q8<U7, S8> vpack;
    std::vector<std::int32_t> scores(t * t), sref(t * t), out(t * d, 0), oref(t * d, 0);
    zoa::execution_context two(2);
    for (std::size_t h = 0; h < heads; ++h) {
        const auto* q = qkv.data() + h * dh;
        const auto* k = qkv.data() + d + h * dh;
        const auto* v = qkv.data() + 2 * d + h * dh;
        kpack.pack(k, t, dh, ld, 1);  // W(n = token, k = channel) = k[token*3D + channel]
        zk::gemm_q8(q, t, ld, 0, kpack, zk::out_i32{scores.data(), zk::row_major(std::ptrdiff_t(t))}, &two);
        zk::reference::gemm_q8<S8, S8>(q, t, ld, 0, k, t, dh, ld, 1, nullptr, 0,
                                       zk::out_i32{sref.data(), zk::row_major(std::ptrdiff_t(t))});
        REQUIRE(scores == sref);
        for (std::size_t i = 0; i < t; ++i)  // independent check of the view arithmetic
            for (std::size_t j = 0; j < t; ++j) {
                std::int32_t s = 0;
                for (std::size_t c = 0; c < dh; ++c) s += std::int32_t{q[std::ptrdiff_t(i) * ld + std::ptrdiff_t(c)]} * k[std::ptrdiff_t(j) * ld + std::ptrdiff_t(c)];
                REQUIRE(scores[i * t + j] == s);
            }
        vpack.pack(v, dh, t, 1, ld);  // W(n = channel, k = token) = v[token*3D + channel]
        const zk::out_i32 o{out.data() + h * dh, zk::row_major(std::ptrdiff_t(d))};
        zk::gemm_q8(attn.data(), t, std::ptrdiff_t(t), 0, vpack, o, &two);
        zk::reference::gemm_q8<U7, S8>(attn.data(), t, std::ptrdiff_t(t), 0, v, dh, t, 1, ld, nullptr, 0,
                                       zk::out_i32{oref.data() + h * dh, zk::row_major(std::ptrdiff_t(d))});
    }
    CHECK(out == oref);
}

TEST_CASE("gemm_q8 rejects out-of-range codes and bad arguments with named errors") {
    using S6 = zq::signed_range<6>;
    using U6 = zq::unsigned_range<6>;
    std::vector<std::int8_t> w(4 * 8, 1), a(3 * 8, 2);
    std::vector<std::int32_t> c(3 * 4);
    const zk::out_i32 out{c.data(), zk::row_major(4)};
    w[9] = 40;
    CHECK_THROWS_WITH_AS((zk::packed_q8<S6, S6>(w.data(), 4, 8, 8, 1)),
                         "zoa: numeric: packed_q8: weight (1, 1) = 40 outside [-32, 31]", zoa::error);
    w[9] = 1;
    const std::int32_t bad_zp = 64;
    CHECK_THROWS_WITH_AS((zk::packed_q8<U6, U6>(w.data(), 4, 8, 8, 1, &bad_zp, 1)),
                         "zoa: argument: packed_q8: weight zero point[0] = 64 outside [0, 63]", zoa::error);
    CHECK_THROWS_WITH_AS((zk::packed_q8<S6, S6>(w.data(), 4, 8, 8, 1, c.data(), 3)),
                         "zoa: argument: packed_q8: expected 0, 1 or N = 4 weight zero points, got 3", zoa::error);
    zk::packed_q8<S6, S6> pw(w.data(), 4, 8, 8, 1);
    a[13] = -33;
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 0, pw, out)),
                         "zoa: numeric: gemm_q8: activation row 1 has codes in [-33, 2], outside the range [-32, 31]",
                         zoa::error);
    zk::packed_q8<S6, S6, zoa_test::portable_q8_arch> pw_portable(w.data(), 4, 8, 8, 1);
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 0, pw_portable, out)),
                         "zoa: numeric: gemm_q8: activation row 1 has codes in [-33, 2], outside the range [-32, 31]",
                         zoa::error);
    a[13] = 2;
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 40, pw, out)),
                         "zoa: argument: gemm_q8: activation zero point 40 outside [-32, 31]", zoa::error);
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 7, 0, pw, out)), "zoa: argument: gemm_q8: lda = 7 < K = 8",
                         zoa::error);
    const float scales[2] = {1.0f, 1.0f};
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 0, pw,
                                              zk::out_dequant{nullptr, zk::row_major(4), 1.0f, scales, 2, nullptr})),
                         "zoa: argument: out_dequant: output or w_scale pointer is null", zoa::error);
    std::vector<float> f(12);
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 0, pw,
                                              zk::out_dequant{f.data(), zk::row_major(4), 1.0f, scales, 2, nullptr})),
                         "zoa: argument: out_dequant.w_scale: expected 1 or N = 4 entries, got 2", zoa::error);
    std::vector<std::int8_t> q(12);
    CHECK_THROWS_WITH_AS((zk::gemm_q8(
                             a.data(), 3, 8, 0, pw,
                             zk::out_requant<std::int8_t>{q.data(), zk::row_major(4), scales, 1, nullptr, 0, 5, -5})),
                         "zoa: argument: out_requant: clamp range [5, -5] is empty or outside [-128, 127]", zoa::error);
    CHECK_THROWS_WITH_AS((zk::gemm_q8(a.data(), 3, 8, 0, zk::packed_q8<S6, S6>{}, out)),
                         "zoa: argument: gemm_q8: the packed weights are empty", zoa::error);
}

namespace {

// The same W given k-contiguous (SIMD column path), n-contiguous (SIMD panel path) and with general strides (scalar
// path) packs to identical results.
template <class C, class Arch>
void source_layouts() {
    zoa::rng g(77);
    const std::size_t m = 9, n = 37, k = 45;  // two full panels + a 5-column tail; K tails for every k_step
    const auto a = random_codes<typename C::A>(g, m * k);
    const auto w = random_codes<typename C::W>(g, n * k);  // W(n,k) = w[n*k + k]
    std::vector<typename C::W::storage> wt(k * n), wg(n * k * 2);
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t kk = 0; kk < k; ++kk) {
            wt[kk * n + j] = w[j * k + kk];       // n-contiguous
            wg[kk * n * 2 + j * 2] = w[j * k + kk];  // general strides (2, 2n)
        }
    std::vector<std::int32_t> zw;
    if constexpr (int(C::W::min) >= 0)
        for (std::size_t j = 0; j < n; ++j) zw.push_back(random_zero_point<typename C::W>(g));
    using P = zk::packed_q8<typename C::A, typename C::W, Arch>;
    const P p1(w.data(), n, k, std::ptrdiff_t(k), 1, zw.data(), zw.size());
    const P p2(wt.data(), n, k, 1, std::ptrdiff_t(n), zw.data(), zw.size());
    const P p3(wg.data(), n, k, 2, std::ptrdiff_t(2 * n), zw.data(), zw.size());
    std::vector<std::int32_t> c1(m * n), c2(m * n), c3(m * n), r(m * n);
    const auto ldc = zk::row_major(std::ptrdiff_t(n));
    const std::int32_t za = random_zero_point<typename C::A>(g);
    zk::gemm_q8(a.data(), m, std::ptrdiff_t(k), za, p1, zk::out_i32{c1.data(), ldc});
    zk::gemm_q8(a.data(), m, std::ptrdiff_t(k), za, p2, zk::out_i32{c2.data(), ldc});
    zk::gemm_q8(a.data(), m, std::ptrdiff_t(k), za, p3, zk::out_i32{c3.data(), ldc});
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, std::ptrdiff_t(k), za, w.data(), n, k,
                                                         std::ptrdiff_t(k), 1, zw.data(), zw.size(), zk::out_i32{r.data(), ldc});
    REQUIRE(c1 == r);
    REQUIRE(c2 == r);
    REQUIRE(c3 == r);
}
template <class C, class Arch>
struct layout_check {
    static void run() { source_layouts<C, Arch>(); }
};

}  // namespace

TEST_CASE_TEMPLATE("packed_q8 packs k-contiguous, n-contiguous and strided sources identically", C, ZOA_Q8_CONFIGS) {
    on_every_arch<layout_check, C>();
}

// The int16 layout (8-bit × 8-bit without VNNI) checks the activation codes while converting them: signed runs, the
// bounds reduced once per run (x86: phminposuw after 16-lane steps whose last one overlaps; short runs element-wise).
// A range narrower than its storage type makes those bounds observable.
template <class Arch>
void int16_row_bounds(std::size_t k) {
    using A = zq::value_range<-100, 100>;  // int8 storage, 8-bit weights: pair bound 2·228·128 > 32767, int16 layout
    using W = zq::signed_range<8>;
    std::vector<std::int8_t> w(4 * k, 1), a(3 * k, 2);
    std::vector<std::int32_t> c(3 * 4);
    a[k + 1] = -101;      // row 1: below the range early in the row
    a[2 * k - 1] = 101;   // and above it in the last code (the overlapping step of a long run)
    a[2 * k + 3] = -128;  // row 2 is worse, but row 1 fails first
    const zk::packed_q8<A, W, Arch> pw(w.data(), 4, k, std::ptrdiff_t(k), 1);
    CHECK_THROWS_WITH_AS(zk::gemm_q8(a.data(), 3, std::ptrdiff_t(k), 0, pw, zk::out_i32{c.data(), zk::row_major(4)}),
                         "zoa: numeric: gemm_q8: activation row 1 has codes in [-101, 101], outside the range [-100, 100]",
                         zoa::error);
}

namespace {
// Row-major unsigned byte A with lda = K (a multiple of 4): the x86 byte plans read it in place (no packing copy,
// only row sums and the range check per block; gemm_q8.hpp "A read in place"). Shapes: 4-row and 8-row tails, rows
// past one packed block (K = 64: 256 rows per block), K with a < 32-byte tail and K = 4.
template <class C, class Arch>
void in_place_shapes() {
    zoa::rng g(31);
    zoa::execution_context two(2);
    const shape shapes[] = {{1, 5, 4},    {4, 16, 64},  {5, 17, 100}, {8, 32, 256}, {12, 40, 64},
                            {13, 16, 36}, {260, 48, 64}, {300, 33, 68}, {600, 64, 64}};
    for (const auto& s : shapes) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        const auto a = random_codes<typename C::A>(g, s.m * s.k);
        const auto w = random_codes<typename C::W>(g, s.n * s.k);
        const std::int32_t za = random_zero_point<typename C::A>(g);
        std::vector<std::int32_t> zw;
        if constexpr (int(C::W::min) >= 0)
            for (std::size_t j = 0; j < s.n; ++j) zw.push_back(random_zero_point<typename C::W>(g));
        check_all_stages<C, Arch>(a, s.m, static_cast<std::ptrdiff_t>(s.k), za, w, s.n, s.k, zw, nullptr);
        check_all_stages<C, Arch>(a, s.m, static_cast<std::ptrdiff_t>(s.k), za, w, s.n, s.k, zw, &two);
    }
}
template <class C, class Arch>
struct in_place_check {
    static void run() { in_place_shapes<C, Arch>(); }
};
}  // namespace

TEST_CASE_TEMPLATE("gemm_q8 reads a row-major unsigned A in place (lda = K): the reference's bits, every path", C,
                   r50_8, r50_6, r50_4, u8s8, u4s4, u8u4) {
    on_every_arch<in_place_check, C>();
}

TEST_CASE("gemm_q8 in place names the first out-of-range activation row, in the vector body and in the tail") {
    using U6 = zq::unsigned_range<6>;
    const std::size_t n = 16;
    std::vector<std::int8_t> w(n * 100, 3);  // 6-bit codes are stored as int8
    const std::vector<std::int32_t> zw(n, 5);
    std::vector<std::int32_t> c(300 * n);
    const zk::out_i32 out{c.data(), zk::row_major(std::ptrdiff_t(n))};
    for (const std::size_t k : {64, 100}) {  // 100: codes 96..99 are the scalar tail
        CAPTURE(k);
        const zk::packed_q8<U6, U6> pw(w.data(), n, k, std::ptrdiff_t(k), 1, zw.data(), zw.size());
        for (const std::size_t at : {std::size_t{1}, k - 1}) {
            for (const std::size_t row : {std::size_t{1}, std::size_t{270}}) {  // the first block, a later one
                for (const int bad : {64, -1}) {  // -1 reads as byte 255 in the vector check: named as -1
                    std::vector<std::int8_t> a(300 * k, 2);
                    a[row * k + at] = static_cast<std::int8_t>(bad);
                    a[299 * k] = 65;  // a later row also out of range: the first one is named
                    const std::string msg = "zoa: numeric: gemm_q8: activation row " + std::to_string(row) +
                                            " has codes in " + (bad < 0 ? "[-1, 2]" : "[2, 64]") +
                                            ", outside the range [0, 63]";
                    CHECK_THROWS_WITH_AS(zk::gemm_q8(a.data(), 300, std::ptrdiff_t(k), 0, pw, out), msg.c_str(),
                                         zoa::error);
                }
            }
        }
    }
}

TEST_CASE("gemm_q8's int16 layout names the bounds of an out-of-range activation row, short and long runs") {
    static_assert(!zk::q8_plan<zq::value_range<-100, 100>, zq::signed_range<8>>::use_maddubs);
    for (std::size_t k : {std::size_t{8}, std::size_t{16}, std::size_t{40}}) {
        CAPTURE(k);
        int16_row_bounds<zoa::default_arch>(k);  // the AVX2 path where the build has it
        int16_row_bounds<zoa_test::portable_q8_arch>(k);
    }
}

TEST_CASE("packed_q8 range errors name the element in SIMD blocks and in tails, for both source layouts") {
    using S6 = zq::signed_range<6>;
    const std::size_t n = 20, k = 37;
    for (const auto& [bad_n, bad_k] : {std::pair<std::size_t, std::size_t>{3, 5}, {3, 36}, {18, 7}}) {
        std::vector<std::int8_t> w(n * k, -32), wt(k * n, -32);
        w[bad_n * k + bad_k] = 32;
        wt[bad_k * n + bad_n] = -33;
        const std::string where = "(" + std::to_string(bad_n) + ", " + std::to_string(bad_k) + ")";
        CHECK_THROWS_WITH_AS((zk::packed_q8<S6, S6>(w.data(), n, k, std::ptrdiff_t(k), 1)),
                             ("zoa: numeric: packed_q8: weight " + where + " = 32 outside [-32, 31]").c_str(), zoa::error);
        CHECK_THROWS_WITH_AS((zk::packed_q8<S6, S6>(wt.data(), n, k, 1, std::ptrdiff_t(n))),
                             ("zoa: numeric: packed_q8: weight " + where + " = -33 outside [-32, 31]").c_str(), zoa::error);
    }
}

TEST_CASE_TEMPLATE("gemm_q8 with several packed-A blocks per thread (large K)", C, vit8, r50_6) {
    // K = 3000: the packed A block holds 32 (int16) or 64 (bytes) rows, so M = 75 spans 2-3 blocks per thread.
    zoa::rng g(5);
    const std::size_t m = 75, n = 20, k = 3000;
    const auto a = random_codes<typename C::A>(g, m * k);
    const auto w = random_codes<typename C::W>(g, n * k);
    const std::int32_t za = random_zero_point<typename C::A>(g);
    std::vector<std::int32_t> zw;
    if constexpr (int(C::W::min) >= 0)
        for (std::size_t j = 0; j < n; ++j) zw.push_back(random_zero_point<typename C::W>(g));
    std::vector<std::int32_t> r(m * n);
    const auto ldc = zk::row_major(std::ptrdiff_t(n));
    zk::reference::gemm_q8<typename C::A, typename C::W>(a.data(), m, std::ptrdiff_t(k), za, w.data(), n, k,
                                                         std::ptrdiff_t(k), 1, zw.data(), zw.size(), zk::out_i32{r.data(), ldc});
    zoa::execution_context two(2);
    auto run = [&](auto arch_tag) {
        using Arch = decltype(arch_tag);
        const zk::packed_q8<typename C::A, typename C::W, Arch> pw(w.data(), n, k, std::ptrdiff_t(k), 1, zw.data(), zw.size());
        std::vector<std::int32_t> c1(m * n), c2(m * n);
        zk::gemm_q8(a.data(), m, std::ptrdiff_t(k), za, pw, zk::out_i32{c1.data(), ldc});
        zk::gemm_q8(a.data(), m, std::ptrdiff_t(k), za, pw, zk::out_i32{c2.data(), ldc}, &two);
        CHECK(c1 == r);
        CHECK(c2 == r);
    };
    run(zk::q8_default_arch{});
    if (zk::amx_active()) {
        zk::allow_amx(false);
        run(zk::q8_default_arch{});
        zk::allow_amx(true);
    }
    run(zoa::default_arch{});
    run(zoa_test::portable_q8_arch{});
}

TEST_CASE("out_i32::moments: exact column sums on every path, at the register path's bounds (int32 tile sums, "
          "64-bit lanes, ragged row tails)") {
    // acc[m, n] = Σ_k (a − za)(w − zw[n]). Extreme codes make |acc| = K·255² (the bound the kernels plan with):
    // K = 4096 keeps 8·|acc| < 2^31 (tile column sums in int32), K = 4160 does not (64-bit per row), K = 24000 makes
    // a packed-A block longer than the 64-bit lanes may take (rows > flush: the sums are read back from memory).
    // Random codes at K = 64 / 576 cover the ResNet shapes; M leaves 4-row and 5..7-row tails of the 8-row tiles.
    using R = zq::unsigned_range<8>;
    zoa::rng g(71);
    zoa::execution_context two(2);
    struct shape {
        std::size_t m, k, n;
        bool extreme;
    };
    for (const shape s : {shape{1003, 4096, 48, true}, shape{517, 4160, 32, true}, shape{45, 24000, 32, true},
                          shape{777, 64, 64, false}, shape{262, 576, 48, false}, shape{300, 64, 40, false}}) {
        CAPTURE(s.m);
        CAPTURE(s.k);
        CAPTURE(s.n);
        std::vector<std::uint8_t> a(s.m * s.k), w(s.n * s.k);
        std::vector<std::int32_t> zw(s.n);
        std::int32_t za = 0;
        if (s.extreme) {  // half of the columns at +K·255², half at −K·255²; a few rows at 0
            for (std::size_t i = 0; i < s.m; ++i)
                for (std::size_t k = 0; k < s.k; ++k) a[i * s.k + k] = i % 13 == 5 ? 0 : 255;
            for (std::size_t j = 0; j < s.n; ++j) {
                zw[j] = j % 2 ? 255 : 0;
                for (std::size_t k = 0; k < s.k; ++k) w[j * s.k + k] = static_cast<std::uint8_t>(j % 2 ? 0 : 255);
            }
        } else {
            a = random_codes<R>(g, a.size());
            w = random_codes<R>(g, w.size());
            za = random_zero_point<R>(g);
            for (auto& z : zw) z = random_zero_point<R>(g);
        }
        const auto ldc = zk::row_major(std::ptrdiff_t(s.n));
        auto run = [&](auto arch_tag, zoa::execution_context* ctx) {
            using Arch = decltype(arch_tag);
            const zk::packed_q8<R, R, Arch> pw(w.data(), s.n, s.k, std::ptrdiff_t(s.k), 1, zw.data(), zw.size());
            std::vector<std::int32_t> c(s.m * s.n);
            zk::acc_moments mo;
            mo.reset(s.n);
            zk::gemm_q8(a.data(), s.m, std::ptrdiff_t(s.k), za, pw, zk::out_i32{c.data(), ldc, &mo}, ctx);
            REQUIRE(mo.count == s.m);
            for (std::size_t j = 0; j < s.n; ++j) {
                zk::int128_t s1 = 0;
                zk::uint128_t s2 = 0;
                for (std::size_t i = 0; i < s.m; ++i) {
                    const std::int64_t v = c[i * s.n + j];
                    s1 += v;
                    s2 += static_cast<zk::uint128_t>(v * v);
                }
                REQUIRE(mo.s1[j] == s1);
                REQUIRE(mo.s2[j] == s2);
            }
            return mo;
        };
        const zk::acc_moments ref = run(zoa_test::portable_q8_arch{}, nullptr);
        if (s.extreme) {  // the extremes were reached: |acc| = K·255² in the non-zero rows
            const std::size_t zero_rows = (s.m + 7) / 13;
            CHECK(static_cast<double>(ref.s1[0]) == doctest::Approx(double(s.m - zero_rows) * double(s.k) * 65025.0));
        }
        for (zoa::execution_context* ctx : {static_cast<zoa::execution_context*>(nullptr), &two}) {
            const zk::acc_moments d = run(zk::q8_default_arch{}, ctx);
            CHECK(d.s1 == ref.s1);
            CHECK(d.s2 == ref.s2);
            const zk::acc_moments x = run(zoa::default_arch{}, ctx);
            CHECK(x.s1 == ref.s1);
            CHECK(x.s2 == ref.s2);
        }
    }
}

TEST_CASE("gram_q8 + moments_from_gram: the same exact moments as out_i32::moments, every path and thread count") {
    // acc[m, n] = Σ_k (a − za)(w − zw[n]); the Gram route never forms acc. Shapes: the ResNet convs it serves
    // (K = 64 → 256, 128 → 512), several 4096-row chunks with a ragged last quad, K = 32 (one column tile), K = 96
    // (tiles across the diagonal), K = 48 (no 32-column VNNI tile: the AVX2 / UDOT tiles take it), 6-bit codes in
    // int8_t storage, and the extreme codes (|a − za| = |w − zw| = 255 everywhere: the largest sums the products must
    // hold exactly). Each against the scalar twin (the portable arch) and out_i32's moments.
    zoa::rng g(97);
    zoa::execution_context two(2);
    struct shape {
        std::size_t m, k, n;
        int bits;
        bool extreme;
    };
    for (const shape s : {shape{777, 64, 256, 8, false}, shape{9003, 128, 64, 8, false}, shape{4099, 32, 32, 8, false},
                          shape{1001, 96, 48, 8, false}, shape{333, 48, 42, 8, false}, shape{2050, 64, 96, 6, false},
                          shape{8193, 64, 32, 8, true}, shape{3, 32, 16, 8, true}}) {
        CAPTURE(s.m);
        CAPTURE(s.k);
        CAPTURE(s.n);
        CAPTURE(s.bits);
        const std::int32_t top = (1 << s.bits) - 1;
        std::vector<std::uint8_t> a(s.m * s.k), w(s.n * s.k);
        std::vector<std::int32_t> zw(s.n);
        std::int32_t za = 0;
        if (s.extreme) {  // a = 255, za = 0; w = 0 with zw = 255 or w = 255 with zw = 0
            std::fill(a.begin(), a.end(), std::uint8_t{255});
            for (std::size_t j = 0; j < s.n; ++j) {
                zw[j] = j % 2 ? 255 : 0;
                for (std::size_t k = 0; k < s.k; ++k) w[j * s.k + k] = static_cast<std::uint8_t>(j % 2 ? 0 : 255);
            }
        } else {
            for (auto& v : a) v = static_cast<std::uint8_t>(g.uniform_index(std::uint32_t(top) + 1));
            for (auto& v : w) v = static_cast<std::uint8_t>(g.uniform_index(std::uint32_t(top) + 1));
            za = static_cast<std::int32_t>(g.uniform_index(std::uint32_t(top) + 1));
            for (auto& z : zw) z = static_cast<std::int32_t>(g.uniform_index(std::uint32_t(top) + 1));
        }
        // the reference: out_i32's exact moments of the stored accumulators (portable path)
        using R = zq::unsigned_range<8>;
        const zk::packed_q8<R, R, zoa_test::portable_q8_arch> pw(w.data(), s.n, s.k, std::ptrdiff_t(s.k), 1,
                                                                 zw.data(), zw.size());
        std::vector<std::int32_t> c(s.m * s.n);
        zk::acc_moments ref;
        ref.reset(s.n);
        zk::gemm_q8(a.data(), s.m, std::ptrdiff_t(s.k), za, pw, zk::out_i32{c.data(), zk::row_major(std::ptrdiff_t(s.n)), &ref});
        std::vector<std::int16_t> d(s.n * s.k);
        std::int64_t d_max = 0;
        for (std::size_t j = 0; j < s.n; ++j)
            for (std::size_t k = 0; k < s.k; ++k) {
                d[j * s.k + k] = static_cast<std::int16_t>(w[j * s.k + k] - zw[j]);
                d_max = std::max<std::int64_t>(d_max, std::abs(d[j * s.k + k]));
            }
        REQUIRE(zk::gram_moments_exact(s.m, s.k, 255, d_max));
        zk::gram_q8_sums sref;
        sref.reset(s.k);
        zk::detail::gram_q8_reference(a.data(), s.m, s.k, std::ptrdiff_t(s.k), sref);
        sref.rows = s.m;
        auto check = [&](const zk::gram_q8_sums& gs, zoa::execution_context* ctx) {
            CHECK(gs.rows == s.m);
            CHECK(gs.t == sref.t);
            CHECK(gs.p == sref.p);
            zk::acc_moments mo;
            mo.reset(s.n);
            zk::moments_from_gram(gs, za, d.data(), s.n, mo, ctx);
            CHECK(mo.count == ref.count);
            CHECK(mo.s1 == ref.s1);
            CHECK(mo.s2 == ref.s2);
        };
        for (zoa::execution_context* ctx : {static_cast<zoa::execution_context*>(nullptr), &two}) {
            zk::gram_q8_sums gs;
            zk::gram_q8<zk::q8_default_arch>(a.data(), s.m, s.k, std::ptrdiff_t(s.k), gs, ctx);
            check(gs, ctx);
            zk::gram_q8_sums gp;
            zk::gram_q8<zoa_test::portable_q8_arch>(a.data(), s.m, s.k, std::ptrdiff_t(s.k), gp, ctx);
            check(gp, ctx);
#if defined(__AVX2__)
            zk::gram_q8_sums g2;  // the AVX2 tiles (also on AVX-512 machines)
            zk::gram_q8<xsimd::avx2>(a.data(), s.m, s.k, std::ptrdiff_t(s.k), g2, ctx);
            check(g2, ctx);
#endif
            if (s.bits == 6) {  // 6-bit activations are stored as int8_t codes 0..63: the same bytes
                std::vector<std::int8_t> a6(a.begin(), a.end());
                zk::gram_q8_sums g6;
                zk::gram_q8<zk::q8_default_arch>(a6.data(), s.m, s.k, std::ptrdiff_t(s.k), g6, ctx);
                check(g6, ctx);
            }
        }
    }
    // a strided source (rows of a wider buffer) and the exactness guard
    std::vector<std::uint8_t> wide(101 * 80);
    for (auto& v : wide) v = static_cast<std::uint8_t>(g.uniform_index(256));
    zk::gram_q8_sums st, sr;
    zk::gram_q8<zk::q8_default_arch>(wide.data(), 100, 64, 80, st, &two);
    sr.reset(64);
    zk::detail::gram_q8_reference(wide.data(), 100, 64, 80, sr);
    CHECK(st.p == sr.p);
    CHECK(st.t == sr.t);
#if defined(__AVX2__)
    zk::gram_q8_sums s2;
    zk::gram_q8<xsimd::avx2>(wide.data(), 101, 64, 80, s2, &two);
    sr.reset(64);
    zk::detail::gram_q8_reference(wide.data(), 101, 64, 80, sr);
    CHECK(s2.p == sr.p);
    CHECK(s2.t == sr.t);
#endif
    CHECK_FALSE(zk::gram_moments_exact(std::size_t{1} << 30, 64, 255, 255));
    zk::gram_q8_sums big;
    big.reset(64);
    big.rows = std::size_t{1} << 30;
    std::vector<std::int16_t> d(64 * 16, 255);
    zk::acc_moments mo;
    mo.reset(16);
    CHECK_THROWS_WITH_AS(zk::moments_from_gram(big, 0, d.data(), 16, mo),
                         doctest::Contains("exceed the exact double products"), zoa::error);
}
