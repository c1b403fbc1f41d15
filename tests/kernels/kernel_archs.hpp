// zoa — the arch tags the GEMM/conv tests run besides the defaults (portable integer path, a second fp32 kernel)
// SPDX-License-Identifier: MIT
#pragma once

#include <xsimd/xsimd.hpp>

namespace zoa_test {

/// A tag without integer SIMD kernels: gemm_q8 / conv2d_q8 take the portable scalar path with it, on any CPU
/// (packed_q8 and gemm_q8 never instantiate an xsimd batch of their Arch).
using portable_q8_arch = xsimd::sse2;

/// A second fp32 kernel next to zoa::default_arch's: SSE2 on x86 (xsimd's 4-lane kernel), and on AArch64 xsimd's
/// 4-lane NEON kernel (kernel_f32 on xsimd::neon), which must give the same floats as the neon64 microkernel.
#if defined(__aarch64__)
using second_f32_arch = xsimd::neon;
#else
using second_f32_arch = xsimd::sse2;
#endif

}  // namespace zoa_test
