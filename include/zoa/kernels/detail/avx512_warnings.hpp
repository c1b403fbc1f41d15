// zoa — ZOA_DETAIL_AVX512_WARNINGS_BEGIN / _END: silence GCC 12's false uninitialized warnings from AVX-512 intrinsics
// SPDX-License-Identifier: MIT
#pragma once

// g++ 12 (GCC PR 105593, seen with Debian 12.2): AVX-512 intrinsics built on _mm512_undefined_*() raise a false
// -Wmaybe-uninitialized / -Wuninitialized once inlined into user code (xsimd::exp, erfc, nearbyint on avx512; the
// 512-bit GEMM epilogue's conversions, min/max and narrowing). The kernels that call them are wrapped in these macros
// so strict -Werror builds with -march=native stay clean.
#if defined(__GNUC__) && !defined(__clang__)
#define ZOA_DETAIL_AVX512_WARNINGS_BEGIN                                                                           \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")                    \
        _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define ZOA_DETAIL_AVX512_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define ZOA_DETAIL_AVX512_WARNINGS_BEGIN
#define ZOA_DETAIL_AVX512_WARNINGS_END
#endif
