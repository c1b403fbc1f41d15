// zoa — instruction-set tags: which xsimd architecture the kernels are compiled for
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <type_traits>

#include "zoa/core/xsimd.hpp"

namespace zoa {

/// The architecture kernels use unless told otherwise: xsimd's best for the compile flags
/// (sse2 without -m flags, fma3<avx2> with -march=native on an AVX2 machine).
using default_arch = xsimd::default_arch;

/// True when Arch provides at least the instructions of Base. ISA tags inherit (fma3<avx2> : avx2 : ... : sse2),
/// (xsimd 8.1: avx derives from generic, not sse4_2), so this is is_base_of, never is_same (with -march=native the tag is fma3<avx2>, not avx2).
template <class Arch, class Base>
inline constexpr bool arch_at_least_v = std::is_base_of_v<Base, Arch>;

/// True when Arch has the AVX2 instructions (the int8 maddubs/madd breakout kernels). xsimd 8.1's avx512f does not
/// derive from avx2, so AVX-512 tags (-march=native on AVX-512 machines) are listed explicitly.
template <class Arch>
inline constexpr bool has_avx2_v = arch_at_least_v<Arch, xsimd::avx2> || arch_at_least_v<Arch, xsimd::avx512f>;

/// Alignment (bytes) for buffers the kernels read: one cache line, which covers every vector width up to AVX-512.
inline constexpr std::size_t buffer_alignment = 64;

/// Name of an arch tag, e.g. "fma3+avx2".
template <class Arch = default_arch>
constexpr const char* arch_name() noexcept {
    return Arch::name();
}

}  // namespace zoa
