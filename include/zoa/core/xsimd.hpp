// zoa — <xsimd/xsimd.hpp> with its compiler warnings contained: zoa headers include this, never xsimd directly
// SPDX-License-Identifier: MIT
#pragma once

// g++ 12 (GCC PR 105593, fixed in GCC 13): the AVX-512 intrinsics xsimd's exp, erfc and nearbyint are built on
// start from `__m512 __Y = __Y;` and raise a false -Wmaybe-uninitialized at -O2 -march=native on AVX-512 machines,
// also where g++ emits those xsimd functions out of line, far from zoa's code. The warning is silenced for the
// locations of xsimd's headers only: a diagnostic whose inlining chain passes through them is ignored, zoa's own
// code and yours keep every warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
