// zoa — tests for the fp32 GEMM: reference agreement on ragged shapes, layouts, threads, errors
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "zoa/core/rng.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/reference/gemm.hpp"
#include "kernel_archs.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace zk = zoa::kernels;

namespace {

std::vector<float> random_floats(zoa::rng& g, std::size_t n, float scale = 1.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = scale * (2.0f * g.uniform() - 1.0f);
    return v;
}

// |c - ref| <= 1e-5 * (sum_k |a||w| + |bias|): the float-accumulation bound relative to the magnitudes summed.
void check_close(const std::vector<float>& c, const std::vector<float>& ref, const std::vector<float>& a,
                 std::size_t lda, const std::vector<float>& w, std::size_t m, std::size_t n, std::size_t k,
                 const float* bias) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double mag = bias ? std::fabs(bias[j]) : 0.0;
            for (std::size_t kk = 0; kk < k; ++kk) mag += std::fabs(double(a[i * lda + kk]) * w[j * k + kk]);
            INFO("(m, n) = (" << i << ", " << j << ")");
            REQUIRE(std::fabs(double(c[i * n + j]) - ref[i * n + j]) <= 1e-5 * mag + 1e-30);
        }
}

template <class Arch>
void random_shapes(std::uint64_t seed) {
    zoa::rng g(seed);
    zoa::execution_context two(2);
    const std::size_t shapes[][3] = {{1, 1, 1},   {5, 7, 3},     {6, 16, 4},   {7, 17, 33},   {13, 31, 64},
                                     {2, 100, 9}, {40, 40, 300}, {61, 65, 19}, {130, 33, 77}, {3, 200, 513}, {9, 250, 1100}};  // K > 512: K-blocked
    for (const auto& s : shapes) {
        const std::size_t m = s[0], n = s[1], k = s[2], lda = k + m % 2;
        CAPTURE(m);
        CAPTURE(n);
        CAPTURE(k);
        const auto a = random_floats(g, m * lda), w = random_floats(g, n * k), bias = random_floats(g, n);
        zk::packed_f32<Arch> pw(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1);
        std::vector<float> c1(m * n), c2(m * n), ref(m * n);
        const auto ldc = static_cast<std::ptrdiff_t>(n);
        zk::gemm_f32<Arch>(a.data(), m, static_cast<std::ptrdiff_t>(lda), pw,
                           zk::out_f32{c1.data(), zk::row_major(ldc), bias.data()});
        zk::gemm_f32<Arch>(a.data(), m, static_cast<std::ptrdiff_t>(lda), pw,
                           zk::out_f32{c2.data(), zk::row_major(ldc), bias.data()}, &two);
        zk::reference::gemm_f32(a.data(), m, static_cast<std::ptrdiff_t>(lda), w.data(), n, k,
                                static_cast<std::ptrdiff_t>(k), 1, zk::out_f32{ref.data(), zk::row_major(ldc), bias.data()});
        REQUIRE(c1 == c2);  // bit-identical for 1 and 2 threads
        check_close(c1, ref, a, lda, w, m, n, k, bias.data());
    }
}

}  // namespace

TEST_CASE("gemm_f32 agrees with the reference on ragged shapes, 1 and 2 threads (default arch)") {
    random_shapes<zoa::default_arch>(11);
}

TEST_CASE("gemm_f32 second kernel (x86: sse2, AArch64: xsimd's neon kernel) agrees with the reference") {
    random_shapes<zoa_test::second_f32_arch>(12);
}

TEST_CASE("gemm_f32 reads transposed weight views and writes transposed / grouped outputs") {
    zoa::rng g(5);
    const std::size_t m = 23, n = 37, k = 29;
    const auto a = random_floats(g, m * k), wt = random_floats(g, k * n);  // wt is K x N: W(n,k) = wt[k*n + n]
    zk::packed_f32<> pw(wt.data(), n, k, 1, static_cast<std::ptrdiff_t>(n));
    // grouped NCHW-style output: rows are (image, pixel) with 5 pixels per image, columns are channels
    const std::size_t pix = 5, images = (m + pix - 1) / pix;
    std::vector<float> c(images * n * pix, -1.0f), ref(images * n * pix, -2.0f);
    const zk::out_layout nchw{1, static_cast<std::ptrdiff_t>(pix), pix, static_cast<std::ptrdiff_t>(n * pix)};
    zoa::execution_context two(2);
    zk::gemm_f32(a.data(), m, static_cast<std::ptrdiff_t>(k), pw, zk::out_f32{c.data(), nchw, nullptr}, &two);
    zk::reference::gemm_f32(a.data(), m, static_cast<std::ptrdiff_t>(k), wt.data(), n, k, 1,
                            static_cast<std::ptrdiff_t>(n), zk::out_f32{ref.data(), nchw, nullptr});
    for (std::size_t i = 0; i < c.size(); ++i) {
        const bool written = (i / (n * pix)) * pix + i % pix < m;  // the last image has only m % pix rows
        if (!written) {
            CHECK(c[i] == -1.0f);
            continue;
        }
        REQUIRE(std::fabs(c[i] - ref[i]) <= 1e-5f * (1.0f + std::fabs(ref[i])) * float(k));
    }
}

TEST_CASE("gemm_f32 rejects bad arguments with named errors") {
    std::vector<float> w(12, 1.0f), a(12, 1.0f), c(16);
    CHECK_THROWS_WITH_AS(zk::packed_f32<>(w.data(), 0, 3, 3, 1), "zoa: argument: packed_f32: empty weights (n = 0, k = 3)",
                         zoa::error);
    w[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(zk::packed_f32<>(w.data(), 4, 3, 3, 1), "zoa: numeric: packed_f32: weight (1, 2) is not finite: nan",
                         zoa::error);
    w[5] = 0.0f;
    zk::packed_f32<> pw(w.data(), 4, 3, 3, 1);
    CHECK_THROWS_WITH_AS(zk::gemm_f32(a.data(), 4, 2, pw, zk::out_f32{c.data(), zk::row_major(4), nullptr}),
                         "zoa: argument: gemm_f32: lda = 2 < K = 3", zoa::error);
    CHECK_THROWS_WITH_AS(zk::gemm_f32(a.data(), 4, 3, pw, zk::out_f32{nullptr, zk::row_major(4), nullptr}),
                         "zoa: argument: gemm_f32: output pointer is null", zoa::error);
    CHECK_THROWS_WITH_AS(zk::gemm_f32(a.data(), 4, 3, zk::packed_f32<>{}, zk::out_f32{c.data(), zk::row_major(4), nullptr}),
                         "zoa: argument: gemm_f32: the packed weights are empty", zoa::error);
}

TEST_CASE("gemm_f32: the AArch64 NEON microkernel gives the same floats as xsimd's kernel (same FMA chains)") {
    if constexpr (zk::detail::f32_uses_neon_v<zoa::default_arch>) {
        zoa::rng g(17);
        zoa::execution_context two(2);
        const std::size_t shapes[][3] = {{1, 1, 1}, {7, 9, 3}, {8, 8, 4}, {17, 23, 37}, {9, 40, 1100}, {30, 17, 2100}};
        for (const auto& s : shapes) {
            const std::size_t m = s[0], n = s[1], k = s[2];
            CAPTURE(m);
            CAPTURE(n);
            CAPTURE(k);
            const auto a = random_floats(g, m * k), w = random_floats(g, n * k), bias = random_floats(g, n);
            const zk::packed_f32<zoa::default_arch> pn(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1);
            const zk::packed_f32<zoa_test::second_f32_arch> px(w.data(), n, k, static_cast<std::ptrdiff_t>(k), 1);
            std::vector<float> c1(m * n), c2(m * n);
            const auto ldc = zk::row_major(static_cast<std::ptrdiff_t>(n));
            zk::gemm_f32(a.data(), m, static_cast<std::ptrdiff_t>(k), pn, zk::out_f32{c1.data(), ldc, bias.data()}, &two);
            zk::gemm_f32(a.data(), m, static_cast<std::ptrdiff_t>(k), px, zk::out_f32{c2.data(), ldc, bias.data()});
            REQUIRE(c1 == c2);
        }
    } else {
        MESSAGE("not an AArch64 build: fp32 kernel " << zk::f32_kernel_name());
    }
}
