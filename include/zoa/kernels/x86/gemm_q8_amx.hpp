// zoa — AMX int8 microkernel for gemm_q8's byte layout: up to 32 rows x 32 columns per call with tdpbusd tiles
// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

// Compiled only when the translation unit targets AMX (-mamx-tile -mamx-int8, e.g. -march=native on Sapphire Rapids
// or later) on Linux, which must grant the tile state per process (arch_prctl, Linux >= 5.16).
#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AVX512F__) && defined(__linux__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zoa::kernels::x86 {

/// True when this translation unit has the AMX microkernel.
inline constexpr bool amx_compiled = true;

/// True when the kernel granted this process the AMX tile data state (asked once per process:
/// arch_prctl(ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18)). False on kernels without AMX support.
inline bool amx_granted() noexcept {
    static const bool granted = [] {
        constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
        return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
    }();
    return granted;
}

/// The tile configuration every AMX call uses (palette 1): tiles 0-3 hold 16 x 16 int32 results, tiles 4-5 hold 16
/// rows x 64 u8 of A, tiles 6-7 hold 16 k-quads x 64 s8 of B (one 64-deep slice of a 16-column packed panel).
struct alignas(64) amx_tile_config {
    std::uint8_t palette = 1;        ///< palette 1: 8 tiles of up to 16 rows × 64 bytes
    std::uint8_t start_row = 0;      ///< restart row after an interrupted load/store (0 = none)
    std::uint8_t reserved[14] = {};  ///< must be zero
    std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};  ///< bytes per row of tiles 0-7 (8-15 unused)
    std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};     ///< rows of tiles 0-7
};

/// Loads the tile configuration on the calling thread (tile state is per thread); pair with amx_release().
inline void amx_configure() noexcept {
    static const amx_tile_config config{};
    _tile_loadconfig(&config);
}
/// Returns the calling thread's tiles to the init state (cheap context switches afterwards).
inline void amx_release() noexcept { _tile_release(); }

/// AMX on the byte layout of packed_q8. A: RA·16 rows of u8 codes at a (row stride lda bytes, lda a multiple of
/// 64), zero-padded to nk·64 columns; B: PB panels b[0..PB) (each a sequence of 64-byte k quads, 16 columns x 4 k).
/// For the 64-deep slice s < nk, tdpbusd adds Σ_{k in slice} a[r][k]·b_p(k, c) (u8 × s8 in groups of four, int32
/// accumulation with wrap-around), so
///   c[r·32 + p·16 + col] = Σ_k a[r][k]·b_p(k, col)   for r < RA·16, p < PB, col < 16,
/// the same integers as the VNNI kernels. B slices are read as whole 1 KiB blocks; the last one (s = nk − 1) from
/// b_last[p], which the caller points at b[p] + (nk − 1)·1024 or, where that block would run past the packed data
/// (a K not a multiple of 64 on the last panel), at a zero-padded copy. Bytes past K meet zero columns of A.
template <int RA, int PB>
inline void kernel_amx(const std::uint8_t* a, std::size_t lda, const std::int8_t* const (&b)[2],
                       const std::int8_t* const (&b_last)[2], std::size_t nk, std::int32_t* c) noexcept {
    static_assert((RA == 1 || RA == 2) && (PB == 1 || PB == 2), "zoa: kernel_amx: 1 or 2 row tiles and panels");
    const long sa = static_cast<long>(lda);
    _tile_zero(0);
    if constexpr (PB == 2) _tile_zero(1);
    if constexpr (RA == 2) _tile_zero(2);
    if constexpr (RA == 2 && PB == 2) _tile_zero(3);
    // The tile instructions are asm statements without memory operands: keep ordinary stores to A/B before them.
    __asm__ __volatile__("" ::: "memory");
    for (std::size_t s = 0; s < nk; ++s) {
        const bool last = s + 1 == nk;
        _tile_loadd(6, last ? b_last[0] : b[0] + s * 1024, 64);
        _tile_loadd(4, a + s * 64, sa);
        _tile_dpbusd(0, 4, 6);
        if constexpr (PB == 2) {
            _tile_loadd(7, last ? b_last[1] : b[1] + s * 1024, 64);
            _tile_dpbusd(1, 4, 7);
        }
        if constexpr (RA == 2) {
            _tile_loadd(5, a + 16 * lda + s * 64, sa);
            _tile_dpbusd(2, 5, 6);
            if constexpr (PB == 2) _tile_dpbusd(3, 5, 7);
        }
    }
    _tile_stored(0, c, 128);
    if constexpr (PB == 2) _tile_stored(1, c + 16, 128);
    if constexpr (RA == 2) _tile_stored(2, c + 16 * 32, 128);
    if constexpr (RA == 2 && PB == 2) _tile_stored(3, c + 16 * 32 + 16, 128);
    __asm__ __volatile__("" ::: "memory");  // ... and ordinary loads of c after the tile stores
}

}  // namespace zoa::kernels::x86

#else

namespace zoa::kernels::x86 {
/// False: this translation unit was not compiled for AMX (or not for Linux), so the AMX microkernel is absent.
inline constexpr bool amx_compiled = false;
/// Always false without the AMX microkernel.
inline bool amx_granted() noexcept { return false; }
}  // namespace zoa::kernels::x86

#endif

namespace zoa::kernels {

namespace detail {
inline std::atomic<bool>& amx_switch() noexcept {
    static std::atomic<bool> on{true};
    return on;
}
}  // namespace detail

/// Allows (default) or forbids gemm_q8's AMX path for the whole process, e.g. to compare it with the VNNI path.
/// Results are identical either way (both paths are exact). Thread-safe; affects calls that start afterwards.
inline void allow_amx(bool allowed) noexcept { detail::amx_switch().store(allowed, std::memory_order_relaxed); }

/// True when gemm_q8 uses AMX for VNNI-packed weights: compiled in, granted by the OS and allowed.
inline bool amx_active() noexcept {
    return x86::amx_compiled && detail::amx_switch().load(std::memory_order_relaxed) && x86::amx_granted();
}

}  // namespace zoa::kernels
