// zoa — tests for conv2d (float and quantized): reference agreement over geometries, zero-point padding, threads
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/core/rng.hpp"
#include "zoa/kernels/conv2d.hpp"
#include "zoa/kernels/reference/conv2d.hpp"
#include "zoa/quant/bit_width.hpp"
#include "kernel_archs.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
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
    {2, 3, 11, 10, 16, 7, 7, 2, 2, 3, 3},  // the ResNet stem (7×7/2 pad 3)
    {1, 64, 9, 9, 32, 1, 1, 2, 2, 0, 0},   // a ResNet downsample (1×1/2)
    {1, 32, 7, 7, 48, 3, 3, 2, 2, 1, 1},   // a stride-2 bottleneck 3×3
};

/// NCHW [b, c, h, w] → NHWC [b, h, w, c].
template <class T>
std::vector<T> to_nhwc(const std::vector<T>& x, std::size_t b, std::size_t c, std::size_t hw) {
    std::vector<T> y(x.size());
    for (std::size_t i = 0; i < b; ++i)
        for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t p = 0; p < hw; ++p) y[(i * hw + p) * c + ch] = x[(i * c + ch) * hw + p];
    return y;
}

template <class Range>
std::vector<typename Range::storage> codes(zoa::rng& g, std::size_t n) {
    std::vector<typename Range::storage> v(n);
    for (auto& x : v) x = static_cast<typename Range::storage>(int(Range::min) + int(g.uniform_index(Range::levels)));
    return v;
}

/// Random operands of one quantized convolution of shape s, drawn from g in this order: input codes x (NCHW, or
/// read as NHWC), weights w (OIHW), the input zero point za (0 for a symmetric range), per-channel weight zero points
/// zw (none for a symmetric range); pw = w packed for Arch.
template <class AR, class WR, class Arch>
struct q8_operands {
    std::vector<typename AR::storage> x;
    std::vector<typename WR::storage> w;
    std::int32_t za;
    std::vector<std::int32_t> zw;
    zk::packed_q8<AR, WR, Arch> pw;
};
template <class AR, class WR, class Arch>
q8_operands<AR, WR, Arch> random_operands(zoa::rng& g, const zk::conv2d_shape& s) {
    auto x = codes<AR>(g, s.batch * s.in_channels * s.height * s.width);
    auto w = codes<WR>(g, s.out_channels * s.k());
    const std::int32_t za = int(AR::min) < 0 ? 0 : int(AR::min) + int(g.uniform_index(AR::levels));
    std::vector<std::int32_t> zw;
    if (int(WR::min) >= 0)
        for (std::size_t o = 0; o < s.out_channels; ++o) zw.push_back(int(WR::min) + int(g.uniform_index(WR::levels)));
    auto pw = zk::pack_conv2d_q8<AR, WR, Arch>(w.data(), s, zw.data(), zw.size());
    return {std::move(x), std::move(w), za, std::move(zw), std::move(pw)};
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
        const auto [x, w, za, zw, pw] = random_operands<AR, WR, Arch>(g, s);
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
        // channels-last: the same sums at the NHWC positions, 1 and 2 threads
        const std::size_t ohw = s.out_h() * s.out_w();
        const auto xn = to_nhwc(x, s.batch, s.in_channels, s.height * s.width);
        const auto rn = to_nhwc(r, s.batch, s.out_channels, ohw);
        std::vector<std::int32_t> n1(ny, 4), n2(ny, 5);
        zk::conv2d_q8_nhwc(s, xn.data(), za, pw, zk::out_i32{n1.data()});
        zk::conv2d_q8_nhwc(s, xn.data(), za, pw, zk::out_i32{n2.data()}, &two);
        REQUIRE(n1 == rn);
        REQUIRE(n2 == rn);
    }
}

/// An out_fused stage with its dequantization (a_scale, per-channel w_scale) and BatchNorm (bn_mean, bn_scale,
/// bn_shift) set, the other fields at their defaults.
template <class T, class R>
zk::out_fused<T, R> bn_stage(float a_scale, const std::vector<float>& ws, const std::vector<float>& mean,
                             const std::vector<float>& scale, const std::vector<float>& shift) {
    zk::out_fused<T, R> st;
    st.a_scale = a_scale;
    st.w_scale = ws.data();
    st.w_scale_count = ws.size();
    st.bn_mean = mean.data();
    st.bn_scale = scale.data();
    st.bn_shift = shift.data();
    return st;
}

/// Adds to st a code residual resq (res_scale, res_zp), ReLU, and requantization to AR's full code range.
template <class AR>
void residual_relu_codes(zk::out_fused<typename AR::storage, typename AR::storage>& st,
                         const typename AR::storage* resq, float res_scale, std::int32_t res_zp, float out_scale,
                         std::int32_t out_zp) {
    st.res_q = resq;
    st.res_scale = res_scale;
    st.res_zero_point = res_zp;
    st.relu = true;
    st.out_scale = out_scale;
    st.out_zero_point = out_zp;
    st.out_min = int(AR::min);
    st.out_max = int(AR::max);
}

/// The layer-by-layer definition of out_fused (every intermediate stored, i.e. rounded on its own): BatchNorm
/// fma(fl(y − mean) − residual, scale, shift) on the dequantized y, + residual, ReLU, requantization.
struct fused_ref {
    const float *mean, *mres, *scale, *shift;
    float inv, lo, hi;
    std::int32_t zp;
    float apply(float y, std::size_t n, float res, bool relu) const {
        volatile float t = std::fma((y - mean[n]) - mres[n], scale[n], shift[n]);
        t = t + res;
        float u = t;
        if (relu) u = 0.0f > u ? 0.0f : u;
        return u;
    }
    std::int32_t code(float u) const {
        volatile float v = u * inv;
        float c = v;
        c = c < lo ? lo : (c > hi ? hi : c);
        return static_cast<std::int32_t>(std::nearbyint(c)) + zp;
    }
};

/// conv2d_q8_nhwc with out_fused (codes with a code residual and ReLU; floats with a float residual) equals the
/// dequantized reference convolution followed by fused_ref, bit for bit, 1 and 2 threads.
template <class AR, class WR, class Arch>
void fused_geometries(std::uint64_t seed) {
    using T = typename AR::storage;
    zoa::rng g(seed);
    zoa::execution_context two(2);
    for (const auto& s : geometries) {
        CAPTURE(s.in_channels);
        CAPTURE(s.kernel_h);
        CAPTURE(s.out_channels);
        const auto [x, w, za, zw, pw] = random_operands<AR, WR, Arch>(g, s);
        const std::size_t oc = s.out_channels, ohw = s.out_h() * s.out_w(), ny = s.batch * oc * ohw;
        std::vector<float> ws(oc), mean(oc), mres(oc), scale(oc), shift(oc);
        for (std::size_t o = 0; o < oc; ++o) {
            ws[o] = 1e-4f * (1.0f + 9.0f * g.uniform());
            mean[o] = g.uniform() - 0.5f;
            mres[o] = 1e-8f * (g.uniform() - 0.5f);
            scale[o] = (g.uniform() < 0.2f ? -1.0f : 1.0f) * (0.2f + g.uniform());
            shift[o] = 0.5f * (g.uniform() - 0.5f);
        }
        const float a_scale = 0.03f + 0.01f * g.uniform(), res_scale = 0.02f, out_scale = 0.015f;
        const std::int32_t res_zp = int(AR::min) + 3, out_zp = int(AR::min) + int(g.uniform_index(AR::levels / 4));
        std::vector<float> yd(ny);  // dequantized reference, NCHW
        zk::reference::conv2d_q8<AR, WR>(s, x.data(), za, w.data(), zw.data(), zw.size(),
                                         zk::out_dequant{yd.data(), {}, a_scale, ws.data(), oc, nullptr});
        const auto ydn = to_nhwc(yd, s.batch, oc, ohw);
        const auto xn = to_nhwc(x, s.batch, s.in_channels, s.height * s.width);
        const auto resq = codes<AR>(g, ny);
        std::vector<float> resf(ny);
        for (auto& v : resf) v = 4.0f * (g.uniform() - 0.5f);
        const fused_ref ref{mean.data(), mres.data(), scale.data(), shift.data(), 1.0f / out_scale,
                            float(int(AR::min) - out_zp), float(int(AR::max) - out_zp), out_zp};
        for (int threads = 1; threads <= 2; ++threads) {
            zoa::execution_context* ctx = threads == 2 ? &two : nullptr;
            std::vector<T> q(ny);
            auto st = bn_stage<T, T>(a_scale, ws, mean, scale, shift);
            st.c = q.data();
            st.bn_mean_residual = mres.data();
            residual_relu_codes<AR>(st, resq.data(), res_scale, res_zp, out_scale, out_zp);
            zk::conv2d_q8_nhwc(s, xn.data(), za, pw, st, ctx);
            std::vector<float> f(ny);
            auto sf = bn_stage<float, T>(a_scale, ws, mean, scale, shift);
            sf.c = f.data();
            sf.res_f = resf.data();
            const std::vector<float> zero(oc, 0.0f);
            const fused_ref ref0{mean.data(), zero.data(), scale.data(), shift.data(), 0, 0, 0, 0};
            zk::conv2d_q8_nhwc(s, xn.data(), za, pw, sf, ctx);
            for (std::size_t i = 0; i < ny; ++i) {
                const std::size_t n = i % oc;
                volatile float r = static_cast<float>(std::int32_t{resq[i]} - res_zp) * res_scale;
                REQUIRE(int(q[i]) == ref.code(ref.apply(ydn[i], n, r, true)));
                const float want = ref0.apply(ydn[i], n, resf[i], false);
                REQUIRE(std::memcmp(&f[i], &want, 4) == 0);
            }
        }
    }
}

/// out_i32 with moments: the exact 128-bit column sums of the stored accumulators (1 and 2 threads), and
/// apply_q8_stage(out_fused) on those accumulators writes the same bits as conv2d_q8_nhwc with that stage.
template <class AR, class WR, class Arch>
void moments_and_apply(std::uint64_t seed) {
    using T = typename AR::storage;
    zoa::rng g(seed);
    zoa::execution_context two(2);
    for (const auto& s : geometries) {
        CAPTURE(s.in_channels);
        CAPTURE(s.kernel_h);
        CAPTURE(s.out_channels);
        const auto [xn, w, za, zw, pw] = random_operands<AR, WR, Arch>(g, s);  // codes read as NHWC
        const std::size_t oc = s.out_channels, rows = s.batch * s.out_h() * s.out_w(), ny = rows * oc;
        std::vector<float> ws(oc), mean(oc), scale(oc), shift(oc), bias(oc);
        for (std::size_t o = 0; o < oc; ++o) {
            ws[o] = 1e-4f * (1.0f + 9.0f * g.uniform());
            mean[o] = g.uniform() - 0.5f;
            scale[o] = 0.2f + g.uniform();
            shift[o] = 0.5f * (g.uniform() - 0.5f);
            bias[o] = 0.1f * (g.uniform() - 0.5f);
        }
        const auto resq = codes<AR>(g, ny);
        for (int threads = 1; threads <= 2; ++threads) {
            zoa::execution_context* ctx = threads == 2 ? &two : nullptr;
            std::vector<std::int32_t> acc(ny, 7);
            zk::acc_moments m;
            m.reset(oc);
            zk::conv2d_q8_nhwc(s, xn.data(), za, pw, zk::out_i32{acc.data(), {}, &m}, ctx);
            REQUIRE(m.count == rows);
            for (std::size_t o = 0; o < oc; ++o) {
                zk::int128_t s1 = 0;
                zk::uint128_t s2 = 0;
                for (std::size_t r = 0; r < rows; ++r) {
                    const std::int64_t v = acc[r * oc + o];
                    s1 += v;
                    s2 += static_cast<zk::uint128_t>(v * v);
                }
                REQUIRE(m.s1[o] == s1);
                REQUIRE(m.s2[o] == s2);
            }
            auto st = bn_stage<T, T>(0.03f, ws, mean, scale, shift);
            st.bias = bias.data();
            residual_relu_codes<AR>(st, resq.data(), 0.02f, int(AR::min) + 3, 0.015f, int(AR::min) + 5);
            std::vector<T> direct(ny), applied(ny);
            st.c = direct.data();
            zk::conv2d_q8_nhwc(s, xn.data(), za, pw, st, ctx);
            st.c = applied.data();
            st.layout = zk::row_major(static_cast<std::ptrdiff_t>(oc));
            zk::apply_q8_stage<Arch>(acc.data(), rows, oc, st, ctx);
            REQUIRE(direct == applied);
            auto sf = bn_stage<float, T>(0.03f, ws, mean, scale, shift);
            std::vector<float> fd(ny), fa(ny);
            sf.c = fd.data();
            zk::conv2d_q8_nhwc(s, xn.data(), za, pw, sf, ctx);
            sf.c = fa.data();
            sf.layout = zk::row_major(static_cast<std::ptrdiff_t>(oc));
            zk::apply_q8_stage<Arch>(acc.data(), rows, oc, sf, ctx);
            REQUIRE(std::memcmp(fd.data(), fa.data(), ny * sizeof(float)) == 0);
        }
    }
}

/// apply_q8_stage(out_fused) equals detail::store_scalar — the scalar definition — element by element and bit for bit,
/// for every option of the stage (bias; BatchNorm with and without its mean residual; no, float or code residual;
/// ReLU), at the values where a SIMD shortcut would differ: accumulators of 0 with a negative weight scale (t = −0,
/// which ReLU keeps and a float output stores), NaN and ±Inf float residuals (a NaN clamps to the lowest code) and
/// ragged edges (rows and columns that are not multiples of the 4 × 16 / 16-row tiles).
template <class T, class R, class Arch>
void fused_matches_scalar(std::uint64_t seed) {
    zoa::rng g(seed);
    for (const std::size_t rows : {std::size_t{37}, std::size_t{64}})
        for (const std::size_t n : {std::size_t{16}, std::size_t{48}, std::size_t{19}})
            for (int option = 0; option < 48; ++option) {
                CAPTURE(rows);
                CAPTURE(n);
                CAPTURE(option);
                const bool bias = option & 1, bn = option & 2, mres = option & 4, relu = option & 8;
                const int residual = option / 16;  // 0 none, 1 float, 2 codes
                std::vector<float> ws(n), b(n), mean(n), mr(n), scale(n), shift(n), resf(rows * n);
                for (std::size_t o = 0; o < n; ++o) {
                    ws[o] = (o % 3 == 0 ? -1.0f : 1.0f) * 1e-4f * (1.0f + 9.0f * g.uniform());
                    b[o] = 0.1f * (g.uniform() - 0.5f);
                    mean[o] = g.uniform() - 0.5f;
                    mr[o] = 1e-7f * (g.uniform() - 0.5f);
                    scale[o] = (o % 4 == 1 ? -1.0f : 1.0f) * (0.2f + g.uniform());
                    shift[o] = 0.5f * (g.uniform() - 0.5f);
                }
                std::vector<std::int32_t> acc(rows * n);
                std::vector<R> resq(rows * n);
                for (std::size_t i = 0; i < acc.size(); ++i) {
                    acc[i] = i % 7 == 0 ? 0 : static_cast<std::int32_t>(g.uniform_index(1u << 21)) - (1 << 20);
                    resf[i] = 4.0f * (g.uniform() - 0.5f);
                    resq[i] = static_cast<R>(static_cast<int>(g.uniform_index(256)) - (std::is_signed_v<R> ? 128 : 0));
                }
                resf[3] = std::numeric_limits<float>::quiet_NaN();
                resf[n + 5] = std::numeric_limits<float>::infinity();
                resf[2 * n + 1] = -std::numeric_limits<float>::infinity();
                zk::out_fused<T, R> st;
                st.a_scale = 0.03f;
                st.w_scale = ws.data();
                st.w_scale_count = n;
                if (bias) st.bias = b.data();
                if (bn) {
                    st.bn_mean = mean.data();
                    st.bn_scale = scale.data();
                    st.bn_shift = shift.data();
                    if (mres) st.bn_mean_residual = mr.data();
                }
                if (residual == 1) st.res_f = resf.data();
                if (residual == 2) {
                    st.res_q = resq.data();
                    st.res_scale = 0.02f;
                    st.res_zero_point = std::is_signed_v<R> ? -3 : 7;
                }
                st.relu = relu;
                if constexpr (!std::is_same_v<T, float>) {
                    st.out_scale = 0.015f;
                    st.out_min = std::numeric_limits<T>::min();
                    st.out_max = std::numeric_limits<T>::max();
                    st.out_zero_point = st.out_min + 5;
                }
                st.layout = zk::row_major(static_cast<std::ptrdiff_t>(n));
                std::vector<T> want(rows * n), got(rows * n);
                st.c = want.data();
                zk::detail::prepared_columns p;
                zk::detail::prepare_columns(st, n, (n + 15) / 16 * 16, p);
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t c = 0; c < n; ++c) zk::detail::store_scalar(st, p, r, c, acc[r * n + c]);
                st.c = got.data();
                zk::apply_q8_stage<Arch>(acc.data(), rows, n, st);
                REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(T)) == 0);
            }
}

template <class A>
struct arch_tag {
    using type = A;
};

/// Calls run(arch_tag<Arch>{}, seed + i), i = 0, 1, ..., for the q8 kernel paths every build tests: the default
/// dispatch, xsimd::sse2, and where compiled AVX2 + FMA (the maddubs / int16 paths with the 256-bit epilogue) and
/// the VNNI tiles (the AMX path forbidden).
template <class Run>
void on_q8_paths(std::uint64_t seed, Run run) {
    run(arch_tag<zk::q8_default_arch>{}, seed);
    run(arch_tag<xsimd::sse2>{}, seed + 1);
#if defined(__AVX2__) && defined(__FMA__)
    run(arch_tag<xsimd::fma3<xsimd::avx2>>{}, seed + 2);
#endif
    if constexpr (zk::vnni_compiled) {
        zk::allow_amx(false);
        run(arch_tag<zk::q8_default_arch>{}, seed + 3);
        zk::allow_amx(true);
    }
}

}  // namespace

TEST_CASE_TEMPLATE("conv2d_q8_nhwc with the fused epilogue (BatchNorm, residual, ReLU, requantization) equals the "
                   "layer-by-layer values bit for bit", R, zq::unsigned_range<8>, zq::unsigned_range<6>,
                   zq::unsigned_range<4>) {
    on_q8_paths(51, [](auto arch, std::uint64_t seed) {
        fused_geometries<R, R, typename decltype(arch)::type>(seed);
    });
    // AArch64: the level's kernel above (SMMLA / SDOT / ARMv8.0); the lower levels' kernels compiled in as well
    if constexpr (zk::neon_level_compiled >= 1) fused_geometries<R, R, zoa::default_arch>(55);  // SMULL/SMLAL/MUL
    if constexpr (zk::neon_level_compiled == 2) fused_geometries<R, R, zk::with_dotprod<zoa::default_arch>>(56);
}

TEST_CASE("out_fused rejects non-finite BatchNorm constants and bad code ranges, naming them") {
    using U8 = zq::unsigned_range<8>;
    const zk::conv2d_shape s{1, 4, 3, 3, 16, 1, 1, 1, 1, 0, 0};
    zoa::rng g(9);
    const auto w = codes<U8>(g, s.out_channels * s.k());
    const auto x = codes<U8>(g, s.batch * s.in_channels * s.height * s.width);
    const auto pw = zk::pack_conv2d_q8<U8, U8>(w.data(), s);
    std::vector<float> ws(16, 0.01f), mean(16, 0.0f), scale(16, 1.0f), shift(16, 0.0f);
    std::vector<std::uint8_t> q(s.m() * 16);
    zk::out_fused<std::uint8_t> st;
    st.c = q.data();
    st.w_scale = ws.data();
    st.w_scale_count = 16;
    st.bn_mean = mean.data();
    st.bn_scale = scale.data();
    st.bn_shift = shift.data();
    scale[5] = std::nanf("");
    CHECK_THROWS_WITH_AS(zk::conv2d_q8_nhwc(s, x.data(), 0, pw, st), doctest::Contains("channel 5"), zoa::error);
    scale[5] = 1.0f;
    st.out_zero_point = 300;
    CHECK_THROWS_WITH_AS(zk::conv2d_q8_nhwc(s, x.data(), 0, pw, st), doctest::Contains("zero point 300"), zoa::error);
    st.out_zero_point = 0;
    st.bn_shift = nullptr;
    CHECK_THROWS_WITH_AS(zk::conv2d_q8_nhwc(s, x.data(), 0, pw, st), doctest::Contains("bn_shift"), zoa::error);
}

TEST_CASE_TEMPLATE("conv2d_q8 equals the reference over geometries (default arches)", R, zq::unsigned_range<8>,
                   zq::unsigned_range<6>, zq::unsigned_range<4>, zq::signed_range<8>, zq::signed_range<6>) {
    quantized_geometries<R, R, zk::q8_default_arch>(31);
    if constexpr (!std::is_same_v<zoa::default_arch, zk::q8_default_arch>) quantized_geometries<R, R, zoa::default_arch>(33);
}

template <class A_, class W_>
struct ranges {
    using A = A_;
    using W = W_;
};
// mixed schemes a policy bundle can ask for (nn::quantized_conv2d<Policy>): symmetric inputs (za = 0 padding) with
// affine weights, affine inputs with symmetric weights, mixed widths
TEST_CASE_TEMPLATE("conv2d_q8 equals the reference for mixed input/weight schemes, every arch", P,
                   ranges<zq::signed_range<8>, zq::unsigned_range<8>>, ranges<zq::unsigned_range<8>, zq::signed_range<8>>,
                   ranges<zq::signed_range<4>, zq::unsigned_range<4>>, ranges<zq::unsigned_range<4>, zq::signed_range<4>>,
                   ranges<zq::unsigned_range<8>, zq::unsigned_range<4>>) {
    quantized_geometries<typename P::A, typename P::W, zk::q8_default_arch>(34);
    if constexpr (!std::is_same_v<zoa::default_arch, zk::q8_default_arch>)
        quantized_geometries<typename P::A, typename P::W, zoa::default_arch>(35);
    if constexpr (!std::is_same_v<zoa::default_arch, xsimd::sse2>)
        quantized_geometries<typename P::A, typename P::W, xsimd::sse2>(36);
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

TEST_CASE_TEMPLATE("conv2d_q8_nhwc: exact accumulator moments (out_i32::moments) and apply_q8_stage on stored "
                   "accumulators equal the fused epilogue bit for bit", R, zq::unsigned_range<8>, zq::unsigned_range<4>) {
    on_q8_paths(61, [](auto arch, std::uint64_t seed) {
        moments_and_apply<R, R, typename decltype(arch)::type>(seed);
    });
}

TEST_CASE("apply_q8_stage(out_fused) equals the scalar definition element by element: every option, −0, NaN, Inf, "
          "ragged edges, every compiled epilogue") {
    on_q8_paths(71, [](auto arch, std::uint64_t seed) {
        using A = typename decltype(arch)::type;
        fused_matches_scalar<std::uint8_t, std::uint8_t, A>(seed);
        fused_matches_scalar<std::int8_t, std::int8_t, A>(seed + 10);
        fused_matches_scalar<float, std::uint8_t, A>(seed + 20);
        fused_matches_scalar<float, std::int8_t, A>(seed + 30);
    });
}

TEST_CASE("acc_moments: mean and biased variance from the exact sums; moments above 64 bits") {
    zk::acc_moments m;
    m.reset(2);
    const std::int64_t big = 2000000000;  // |acc| close to 2^31: acc² sums need more than 64 bits
    for (int i = 0; i < 8; ++i) {
        const std::int64_t v = (i % 2 ? big : -big + 1);
        m.s1[0] += v;
        m.s2[0] += static_cast<zk::uint128_t>(v * v);
        m.s1[1] += 3;
        m.s2[1] += 9;
    }
    m.count = 8;
    CHECK(m.mean(0) == doctest::Approx(0.5));
    CHECK(m.var(0) == doctest::Approx(4e18 - 2e9 + 0.25).epsilon(1e-12));  // ((2b − 1)/2)² with b = 2e9
    CHECK(m.mean(1) == 3.0);
    CHECK(m.var(1) == 0.0);
}

namespace {

/// conv2d_q8_nhwc's bands (the output pixels next to the padding multiply only the taps inside the image) against
/// one full-depth GEMM over the same rows (padding filled with za): out_i32 with moments and out_fused with a code
/// residual, 1 and 2 threads. Every shape here must take the band path.
template <class AR, class WR, class Arch>
void bands_equal_full_depth(std::uint64_t seed) {
    using T = typename AR::storage;
    // batch, C, H, W, OC, KH, KW, SH, SW, PH, PW
    const zk::conv2d_shape shapes[] = {
        {4, 16, 7, 7, 32, 3, 3, 1, 1, 1, 1},   // ResNet layer4's 3×3 (7 × 7): first / last row, middle rows by column
        {3, 16, 7, 7, 32, 3, 3, 1, 1, 1, 1},   // 3 × 5 middle rows < 16: rows only, padded columns multiplied
        {2, 8, 1, 5, 16, 3, 3, 1, 1, 1, 1},    // one output row: top and bottom padding at once, kernel row 1 only
        {4, 8, 9, 6, 20, 5, 5, 1, 1, 2, 2},    // 5 × 5 pad 2: five row bands, five column bands of 5 slices
        {1, 8, 9, 6, 20, 5, 5, 1, 1, 2, 2},    // the same at batch 1: rows only
        {6, 32, 8, 8, 48, 3, 3, 2, 2, 1, 1},   // stride 2: a top band, the other rows by column (left only)
        {1, 8, 6, 6, 17, 3, 1, 1, 1, 1, 0},    // KW = 1, C = 8: the smallest slice every layout aligns (i8mm: 8)
        {3, 8, 6, 6, 17, 1, 3, 1, 1, 0, 1},    // KH = 1: column bands only (none on AArch64, see below)
    };
    zoa::rng g(seed);
    zoa::execution_context two(2);
    for (const auto& s : shapes) {
        if (zk::packed_q8<AR, WR, Arch>::plan::neon_level >= 0 && s.pad_h == 0) continue;  // column bands: x86 only
        CAPTURE(s.in_channels);
        CAPTURE(s.kernel_h);
        CAPTURE(s.batch);
        CAPTURE(s.height);
        CAPTURE(s.stride_h);
        const auto [xn, w, za, zw, pw] = random_operands<AR, WR, Arch>(g, s);  // codes read as NHWC
        const std::size_t oc = s.out_channels, rows = s.batch * s.out_h() * s.out_w(), ny = rows * oc;
        std::vector<float> ws(oc), mean(oc), scale(oc), shift(oc);
        for (std::size_t o = 0; o < oc; ++o) {
            ws[o] = 1e-4f * (1.0f + 9.0f * g.uniform());
            mean[o] = g.uniform() - 0.5f;
            scale[o] = 0.2f + g.uniform();
            shift[o] = 0.5f * (g.uniform() - 0.5f);
        }
        const auto resq = codes<AR>(g, ny);
        const zk::out_layout lay = zk::row_major(static_cast<std::ptrdiff_t>(oc));
        for (int threads = 1; threads <= 2; ++threads) {
            zoa::execution_context* ctx = threads == 2 ? &two : nullptr;
            std::vector<std::int32_t> band(ny, 7), full(ny, 8);
            zk::acc_moments mb, mf;
            mb.reset(oc);
            mf.reset(oc);
            REQUIRE(zk::detail::conv2d_q8_nhwc_bands<AR, WR, Arch>(s, xn.data(), za, pw,
                                                                   zk::out_i32{band.data(), lay, &mb}, ctx));
            zk::detail::gemm_q8_run<AR, WR, Arch>(zk::detail::nhwc_source<T>{xn.data(), s}, rows, za, pw,
                                                  zk::out_i32{full.data(), lay, &mf}, ctx);
            REQUIRE(band == full);
            REQUIRE(mb.count == rows);
            REQUIRE((mb.s1 == mf.s1 && mb.s2 == mf.s2));
            auto st = bn_stage<T, T>(0.03f, ws, mean, scale, shift);
            residual_relu_codes<AR>(st, resq.data(), 0.02f, int(AR::min) + 3, 0.015f, int(AR::min) + 5);
            st.layout = lay;
            std::vector<T> qb(ny), qf(ny);
            st.c = qb.data();
            REQUIRE(zk::detail::conv2d_q8_nhwc_bands<AR, WR, Arch>(s, xn.data(), za, pw, st, ctx));
            st.c = qf.data();
            zk::detail::gemm_q8_run<AR, WR, Arch>(zk::detail::nhwc_source<T>{xn.data(), s}, rows, za, pw, st, ctx);
            REQUIRE(qb == qf);
        }
    }
    // nothing to skip or no slices: the full-depth path runs instead
    const zk::conv2d_shape none[] = {
        {1, 8, 5, 5, 16, 3, 3, 1, 1, 0, 0},  // no padding
        {1, 8, 5, 5, 16, 3, 3, 1, 1, 0, 1},  // column padding only, 1 × 5 rows: too few to split by column
        {1, 3, 5, 5, 16, 3, 3, 1, 1, 1, 1},  // C = 3: slices not aligned to the packed depth
        {1, 4, 5, 9, 5, 2, 3, 1, 2, 2, 1},   // output row 0 reads padding only
    };
    for (const auto& s : none) {
        const auto [xn, w, za, zw, pw] = random_operands<AR, WR, Arch>(g, s);
        std::vector<std::int32_t> y(s.batch * s.out_h() * s.out_w() * s.out_channels);
        CHECK_FALSE(zk::detail::conv2d_q8_nhwc_bands<AR, WR, Arch>(
            s, xn.data(), za, pw, zk::out_i32{y.data(), zk::row_major(static_cast<std::ptrdiff_t>(s.out_channels))},
            nullptr));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("conv2d_q8_nhwc skips the taps in the padding: the same integers as the full depth, every path", P, std::pair<zq::unsigned_range<8>, zq::unsigned_range<8>>,
                   std::pair<zq::unsigned_range<4>, zq::unsigned_range<4>>,
                   std::pair<zq::signed_range<8>, zq::signed_range<8>>, std::pair<zq::unsigned_range<8>, zq::signed_range<8>>) {
    using AR = typename P::first_type;
    using WR = typename P::second_type;
    on_q8_paths(71, [](auto arch, std::uint64_t seed) {
        if constexpr (zk::vnni_compiled)
            if (zk::amx_active()) return;  // AMX runs the full depth (checked by the conv2d_q8_nhwc tests)
        bands_equal_full_depth<AR, WR, typename decltype(arch)::type>(seed);
    });
}

TEST_CASE("out_layout::row_offsets equals row_offset row by row, across inner and outer group boundaries") {
    // the layouts conv2d and the bands write through: row-major, one group per image (NCHW), outer groups of
    // rectangles (band_stage), and group sizes that do not divide each other
    zk::out_layout lays[5];
    lays[0].row_stride = 64;
    lays[1] = {1, 49, 7, 49 * 64, 0, 0};
    lays[2] = {64, 1, 5, 7 * 64, 0, 0};
    lays[3] = {64, 1, 5, 7 * 64, 15, 49 * 64};
    lays[4] = {64, 1, 0, 0, 6, 1000};
    for (const zk::out_layout& lay : lays)
        for (std::size_t m0 = 0; m0 < 40; ++m0) {
            std::ptrdiff_t off[9];
            lay.row_offsets(m0, 9, off);
            for (std::size_t i = 0; i < 9; ++i) {
                CAPTURE(m0);
                CAPTURE(i);
                REQUIRE(off[i] == lay.row_offset(m0 + i));
            }
        }
}
