// zoa — shared helpers of the element-wise/reduction kernel tests (arch list, random data, tolerance checks)
// SPDX-License-Identifier: MIT
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "zoa/core/arch.hpp"
#include "zoa/core/rng.hpp"

// Every arch the test binary can run, best first: the default arch plus the narrower x86 ones it implies, so the
// plain build tests sse2 and the -march=native build tests avx512bw, fma3<avx2>, avx (no integer AVX2: generic
// fallbacks) and sse2.
#if XSIMD_WITH_AVX512BW
#define ZOA_ELEMENTWISE_TEST_ARCHS xsimd::avx512bw, xsimd::fma3<xsimd::avx2>, xsimd::avx, xsimd::sse2
#elif XSIMD_WITH_FMA3_AVX2
#define ZOA_ELEMENTWISE_TEST_ARCHS xsimd::fma3<xsimd::avx2>, xsimd::avx, xsimd::sse2
#elif XSIMD_WITH_AVX2
#define ZOA_ELEMENTWISE_TEST_ARCHS xsimd::avx2, xsimd::sse2
#elif XSIMD_WITH_SSE2
#define ZOA_ELEMENTWISE_TEST_ARCHS xsimd::sse2
#else
#define ZOA_ELEMENTWISE_TEST_ARCHS zoa::default_arch
#endif

namespace zoa_test {

/// n floats uniform in [lo, hi).
inline std::vector<float> uniform_vector(zoa::rng& g, std::size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (auto& x : v) x = lo + (hi - lo) * g.uniform();
    return v;
}

/// A named distribution of test values, N(mean, sd²): each test's table of regimes spans the magnitudes its kernel
/// must handle.
struct regime {
    const char* name;
    float mean, sd;
};

/// n floats ~ N(mean, sd²).
inline std::vector<float> normal_vector(zoa::rng& g, std::size_t n, float mean, float sd) {
    std::vector<float> v(n);
    for (auto& x : v) x = mean + sd * g.normal();
    return v;
}

/// Integer in [lo, hi].
inline std::size_t pick(zoa::rng& g, std::size_t lo, std::size_t hi) {
    return lo + g.uniform_index(static_cast<std::uint32_t>(hi - lo + 1));
}

/// Error model of the float kernels: element i passes when
///   |got − ref| ≤ rel · (|ref| + unit_i) + abs_floor,
/// where unit_i is the magnitude of the terms the result is made of (e.g. |w| + |b| for y = x̂·w + b; 0 for a
/// pure relative check) and abs_floor only absorbs denormal-range differences (1e-30). Both NaN, or equal, passes.
/// Returns the worst |got − ref| / (|ref| + unit_i) over elements whose difference exceeds abs_floor (reported in
/// the output); fails the test on a violation.
template <class UnitFn>
double check_close(const float* got, const float* ref, std::size_t n, double rel, UnitFn&& unit,
                   const std::string& what, double abs_floor = 1e-30) {
    double worst = 0.0;
    std::size_t bad = 0, first_bad = n;
    for (std::size_t i = 0; i < n; ++i) {
        const double g = got[i], r = ref[i];
        if ((std::isnan(g) && std::isnan(r)) || g == r) continue;
        const double scale = std::fabs(r) + static_cast<double>(unit(i));
        const double err = std::fabs(g - r);
        if (!(err <= rel * scale + abs_floor)) {
            if (bad++ == 0) first_bad = i;
        }
        if (std::isnan(err))
            worst = err;
        else if (err > abs_floor && err / scale > worst)
            worst = err / scale;  // ignore denormal-range differences
    }
    INFO(what, ": worst scaled error ", worst, ", violations ", bad, " of ", n,
         (bad ? ", first at " + std::to_string(first_bad) + " got " + std::to_string(got[first_bad]) + " ref " +
                    std::to_string(ref[first_bad])
              : std::string()));
    CHECK(bad == 0);
    return worst;
}

/// Pure relative check (unit = 0).
inline double check_relative(const float* got, const float* ref, std::size_t n, double rel, const std::string& what,
                             double abs_floor = 1e-30) {
    return check_close(
        got, ref, n, rel, [](std::size_t) { return 0.0f; }, what, abs_floor);
}

/// True when the two buffers are bit-identical.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

}  // namespace zoa_test
