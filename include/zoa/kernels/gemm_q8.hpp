// zoa — quantized GEMM C = stage(A x W^T) for <= 8-bit operands: packing, tiling, threads, path dispatch
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/avx512_warnings.hpp"
#include "zoa/kernels/operand_range.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/kernels/pack.hpp"
#include "zoa/kernels/arm/gemm_q8_neon.hpp"
#include "zoa/kernels/x86/gemm_q8_amx.hpp"
#include "zoa/kernels/x86/gemm_q8_avx2.hpp"
#include "zoa/kernels/x86/gemm_q8_avx512.hpp"
#include "zoa/kernels/x86/store_avx512.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::kernels {

/// The microkernel family gemm_q8 runs (gemm_q8_run dispatches on it): the portable scalar loops, the x86 AVX2
/// int16 (vpmaddwd) / maddubs / VNNI kernels (AMX is a run-time choice on top of VNNI), the AArch64 NEON kernels
/// SMULL+SADALP (8-bit, depth 1), SMLAL+SADALP (narrower codes, int16 chains of plan::depth quads), MUL+SADALP
/// (products that fit int8: 4-bit codes), SDOT, SMMLA.
enum class q8_kernel { portable, avx2_int16, avx2_maddubs, vnni, neon_smull, neon_smlal, neon_mul8, neon_sdot, neon_smmla };

/// The kernel family for a plan (q8_plan_for<A, W, Arch>) and Arch.
template <class Plan, class Arch>
inline constexpr q8_kernel q8_kernel_of =
    Plan::neon_level == 2   ? q8_kernel::neon_smmla
    : Plan::neon_level == 1 ? q8_kernel::neon_sdot
    : Plan::neon_level == 0 ? (Plan::byte_products ? q8_kernel::neon_mul8
                               : Plan::depth > 1 ? q8_kernel::neon_smlal : q8_kernel::neon_smull)
    : !has_avx2_v<Arch>     ? q8_kernel::portable
    : Plan::vnni            ? q8_kernel::vnni
    : Plan::use_maddubs     ? q8_kernel::avx2_maddubs
                            : q8_kernel::avx2_int16;

/// The kernel gemm_q8 runs for weights packed as packed_q8<ARange, WRange, Arch>.
template <class ARange, class WRange, class Arch = q8_default_arch>
inline constexpr q8_kernel q8_kernel_for = q8_kernel_of<q8_plan_for<ARange, WRange, Arch>, Arch>;

/// Name of a kernel family: "portable", "avx2-madd16", "avx2-maddubs", "vnni", "neon-smull", "neon-smlal",
/// "neon-mul8", "neon-sdot", "neon-smmla".
constexpr const char* q8_kernel_name(q8_kernel k) noexcept {
    switch (k) {
        case q8_kernel::avx2_int16: return "avx2-madd16";
        case q8_kernel::avx2_maddubs: return "avx2-maddubs";
        case q8_kernel::vnni: return "vnni";
        case q8_kernel::neon_smull: return "neon-smull";
        case q8_kernel::neon_smlal: return "neon-smlal";
        case q8_kernel::neon_mul8: return "neon-mul8";
        case q8_kernel::neon_sdot: return "neon-sdot";
        case q8_kernel::neon_smmla: return "neon-smmla";
        case q8_kernel::portable: break;
    }
    return "portable";
}

/// The integer kernels the default gemm_q8 (q8_default_arch) of this translation unit compiles in, for `zoa version`
/// and benchmark headers: "neon", "neon-dotprod", "neon-i8mm" (AArch64), "avx2", "avx-vnni", "avx512-vnni",
/// "avx512-vnni+amx" (x86; AMX still needs the kernel's permission at run time, see amx_active()), "portable".
constexpr const char* q8_kernels_compiled() noexcept {
    using arch = q8_default_arch;
    if constexpr (neon_level_v<arch> == 2) return "neon-i8mm";
    else if constexpr (neon_level_v<arch> == 1) return "neon-dotprod";
    else if constexpr (neon_level_v<arch> == 0) return "neon";
    else if constexpr (is_vnni_arch_v<arch> && x86::amx_compiled) return "avx512-vnni+amx";
    else if constexpr (is_vnni_arch_v<arch> && x86::vnni512_compiled) return "avx512-vnni";
    else if constexpr (is_vnni_arch_v<arch>) return "avx-vnni";
    else if constexpr (has_avx2_v<arch>) return "avx2";
    else return "portable";
}

namespace detail {

/// Row-major A: row m is K contiguous codes at a + m*lda (one segment).
template <class T>
struct a_matrix {
    const T* a;
    std::ptrdiff_t lda;
    std::size_t k;
    template <class F>
    void for_each_segment(std::size_t m, F&& f) const {
        f(a + static_cast<std::ptrdiff_t>(m) * lda, k);
    }
};

struct q8_scratch {
    aligned_buffer<std::uint8_t> a;
    aligned_buffer<std::int32_t> row_sums;
};
inline q8_scratch& thread_q8_scratch() {
    thread_local q8_scratch s;
    return s;
}

template <class Plan, class Arch, class T>
std::int64_t convert_row(const T* src, std::size_t len, std::int32_t za, void* dst, int& mn, int& mx) {
    if constexpr (Plan::neon_level >= 0) {
#if defined(__aarch64__) && defined(__ARM_NEON)
        return arm::convert_s8(src, len, Plan::a_shift, static_cast<std::int8_t*>(dst), mn, mx);
#endif
    } else if constexpr (!Plan::bytes && has_avx2_v<Arch>) {  // AVX2 bytes: pack_a's copy_shift_u8 branch
#if defined(__AVX2__)
        x86::convert_s16(src, len, za, static_cast<std::int16_t*>(dst), mn, mx);
        return 0;
#endif
    }
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < len; ++i) {
        const int v = src[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        if constexpr (Plan::bytes) {
            static_cast<std::uint8_t*>(dst)[i] = static_cast<std::uint8_t>(v + Plan::a_shift);
            sum += v + Plan::a_shift;
        } else {
            static_cast<std::int16_t*>(dst)[i] = static_cast<std::int16_t>(v - za);
        }
    }
    return sum;
}

/// Throws zoa::error(numeric) naming row m and the bounds [mn, mx] of its codes.
template <class Plan>
[[noreturn]] void fail_row_range(std::size_t m, int mn, int mx) {
    fail(error_code::numeric, "gemm_q8: activation row ", m, " has codes in [", mn, ", ", mx, "], outside the range [",
         Plan::a_min, ", ", Plan::a_max, "]");
}

/// Packs rows [m0, m0 + rows) of the source into dst (row-major, kp elements per row, rows rounded up to 4 with
/// zero rows). Byte layouts: byte a + a_shift (uint8 on x86, int8 on AArch64) and row_sums[r] = sum_k (a + a_shift);
/// int16 layout: a - za. A source segment with a null pointer stands for `len` codes equal to za (implicit zero
/// padding of a conv).
/// Throws: zoa::error(numeric) when a code lies outside ARange.
/// Sliced (gemm_q8's depth windows of several slices; kp = k, a multiple of slice): the rows are stored slice by
/// slice, codes [j·slice, (j + 1)·slice) of row r at dst + (j·slice_block + r·slice)·elem. (A template flag: the
/// plain packing, which every GEMM runs, keeps its loop.)
template <class Plan, class Arch, bool Sliced = false, class Source>
void pack_a(const Source& src, std::size_t m0, std::size_t rows, std::size_t k, std::size_t kp, std::int32_t za,
            std::uint8_t* dst, std::int32_t* row_sums, std::size_t slice = 0, std::size_t slice_block = 0) {
    constexpr std::size_t elem = Plan::bytes ? 1 : 2;
    const std::size_t rows4 = (rows + 3) / 4 * 4;
    for (std::size_t r = 0; r < rows4; ++r) {
        std::uint8_t* d = dst + r * (Sliced ? slice : kp) * elem;
        // where the row's code `off` goes (a run never crosses a slice: for_segments cuts them)
        const auto at = [&](std::size_t off) {
            if constexpr (Sliced) return dst + ((off / slice) * slice_block + r * slice + off % slice) * elem;
            else return d + off * elem;
        };
        // the source's runs of row m, cut at the slice boundaries
        const auto for_segments = [&](std::size_t m, auto&& f) {
            if constexpr (!Sliced) {
                src.for_each_segment(m, f);
            } else {
                std::size_t pos = 0;
                src.for_each_segment(m, [&](const auto* p, std::size_t len) {
                    while (len > 0) {
                        const std::size_t piece = std::min(len, slice - pos % slice);
                        f(p, piece);
                        if (p) p += piece;
                        pos += piece;
                        len -= piece;
                    }
                });
            }
        };
        std::int64_t sum = 0;
        if (r < rows) {
            std::size_t off = 0;
            if constexpr (Plan::bytes && has_avx2_v<Arch>) {
#if defined(__AVX2__)
                // AVX2 byte layout: the segments copied shifted to unsigned, the row's sum and unsigned bounds taken
                // on the way. A signed code outside ARange lands above a_umax after the shift.
                const auto fill = static_cast<std::uint8_t>(za + Plan::a_shift);
                // a range whose shifted codes cover every byte (8-bit unsigned or signed) needs no bounds check
                constexpr bool bounds = Plan::a_min + Plan::a_shift != 0 || Plan::a_max + Plan::a_shift != 255;
                x86::u8_row_stats st;
                for_segments(m0 + r, [&](const auto* p, std::size_t len) {
                    if (p) {
                        x86::copy_shift_u8<bounds>(p, len, static_cast<std::uint8_t>(Plan::a_shift), at(off), st);
                    } else {
                        x86::fill_u8(at(off), len, fill);
                        st.add_fill(fill, len);
                    }
                    off += len;
                });
                int umin = 0, umax = 0;
                sum = st.fold(umin, umax);
                if (bounds && (umin < Plan::a_min + Plan::a_shift || umax > Plan::a_max + Plan::a_shift)) {
                    int mn = Plan::a_max, mx = Plan::a_min;  // the bounds in code units, for the message
                    src.for_each_segment(m0 + r, [&](const auto* p, std::size_t len) {
                        for (std::size_t i = 0; p && i < len; ++i) {
                            mn = std::min<int>(mn, p[i]);
                            mx = std::max<int>(mx, p[i]);
                        }
                    });
                    fail_row_range<Plan>(m0 + r, mn, mx);
                }
#endif
            } else {
                int mn = Plan::a_max, mx = Plan::a_min;
                for_segments(m0 + r, [&](const auto* p, std::size_t len) {
                    if (p) {
                        sum += convert_row<Plan, Arch>(p, len, za, at(off), mn, mx);
                    } else if constexpr (Plan::bytes) {
                        std::memset(at(off), static_cast<std::uint8_t>(za + Plan::a_shift), len);
                        sum += static_cast<std::int64_t>(len) * (za + Plan::a_shift);
                    } else {
                        std::memset(at(off), 0, len * elem);  // a - za = 0
                    }
                    off += len;
                });
                if (mn < Plan::a_min || mx > Plan::a_max) fail_row_range<Plan>(m0 + r, mn, mx);
            }
            if (!Sliced) std::memset(d + k * elem, 0, (kp - k) * elem);
        } else if (!Sliced) {
            std::memset(d, 0, kp * elem);
        } else {
            for (std::size_t off = 0; off < kp; off += slice) std::memset(at(off), 0, slice * elem);
        }
        row_sums[r] = static_cast<std::int32_t>(sum);  // sum <= K*255 < 2^31 (K <= max_k)
    }
}

/// The rows [m0, m0 + rows) of a row-major byte A whose rows already are the packed layout (x86 byte plan with
/// a_shift = 0, lda = kp = K): nothing is copied, the microkernels read the rows in place; row_sums[r] = sum_k a[m0 + r,
/// k] as pack_a computes it, with pack_a's range check.
/// Throws: zoa::error(numeric) when a code lies outside ARange.
template <class Plan, class T>
void scan_a_in_place(const T* a, std::size_t lda, std::size_t m0, std::size_t rows, std::size_t k,
                     std::int32_t* row_sums) {
    static_assert(sizeof(T) == 1, "zoa: in-place A holds byte codes");
    static_assert(Plan::bytes && Plan::a_shift == 0 && Plan::neon_level < 0, "zoa: in-place A is the x86 byte layout");
#if defined(__AVX2__)
    // as pack_a: a full byte range needs no check; a_min ≥ 0, so a negative int8 code reads as a byte > 127 ≥ a_max
    constexpr bool bounds = Plan::a_min != 0 || Plan::a_max != 255;
    const __m256i zero = _mm256_setzero_si256();
    __m256i vmin = _mm256_set1_epi8(-1), vmax = zero;  // the block's bounds: a failing row is looked up afterwards
    int smin = 255, smax = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const auto* row = reinterpret_cast<const std::uint8_t*>(a + (m0 + r) * lda);
        __m256i sum = zero;  // 4 lanes of sum_k a over 8-byte groups (vpsadbw against 0)
        std::size_t i = 0;
        for (; i + 32 <= k; i += 32) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
            sum = _mm256_add_epi64(sum, _mm256_sad_epu8(v, zero));
            if constexpr (bounds) vmin = _mm256_min_epu8(vmin, v), vmax = _mm256_max_epu8(vmax, v);
        }
        std::int64_t tail = 0;
        for (; i < k; ++i) {  // < 32 codes
            tail += row[i];
            if constexpr (bounds) smin = std::min<int>(smin, row[i]), smax = std::max<int>(smax, row[i]);
        }
        const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        const std::int64_t total = _mm_cvtsi128_si64(_mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2))) + tail;
        row_sums[r] = static_cast<std::int32_t>(total);  // sum <= K*255 < 2^31 (K <= max_k)
    }
    if constexpr (bounds) {
        alignas(32) std::uint8_t lo[32], hi[32];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lo), vmin);
        _mm256_store_si256(reinterpret_cast<__m256i*>(hi), vmax);
        for (int j = 0; j < 32; ++j) smin = std::min<int>(smin, lo[j]), smax = std::max<int>(smax, hi[j]);
        if (smin < Plan::a_min || smax > Plan::a_max)
            for (std::size_t r = 0; r < rows; ++r) {  // the first row out of range, as pack_a reports it
                const T* row = a + (m0 + r) * lda;
                const auto [mn, mx] = std::minmax_element(row, row + k);
                if (*mn < Plan::a_min || *mx > Plan::a_max) fail_row_range<Plan>(m0 + r, *mn, *mx);
            }
    }
#else
    (void)a, (void)lda, (void)m0, (void)rows, (void)k, (void)row_sums;
#endif
}

/// Portable microkernel: the same integers as the x86 kernels, from the same packed layouts (q8_plan, k quads).
template <class Plan>
void kernel_portable(const std::uint8_t* a, const void* b, std::size_t kp, std::int32_t (&acc)[4][16]) {
    for (auto& row : acc)
        for (auto& v : row) v = 0;
    for (std::size_t kk = 0; kk < kp; ++kk)
        for (int r = 0; r < 4; ++r) {
            std::int32_t av;
            const std::int8_t* bb8 = static_cast<const std::int8_t*>(b);
            const std::int16_t* bb16 = static_cast<const std::int16_t*>(b);
            if constexpr (Plan::bytes) av = a[static_cast<std::size_t>(r) * kp + kk];
            else av = reinterpret_cast<const std::int16_t*>(a)[static_cast<std::size_t>(r) * kp + kk];
            if (av == 0) continue;
            for (int c = 0; c < 16; ++c) {
                const std::int32_t bv = Plan::bytes ? std::int32_t{bb8[(kk / 4) * 64 + static_cast<std::size_t>(c) * 4 + kk % 4]}
                                                          : std::int32_t{bb16[(kk / 2) * 32 + static_cast<std::size_t>(c) * 2 + kk % 2]};
                acc[r][c] = wrap_add(acc[r][c], av * bv);
            }
        }
}

/// One thread's share of out_i32::moments: add() sums the stored accumulators of a region (rows [m0, m0 + rows),
/// columns [n0, n1)) into 64-bit column lanes for at most `flush` rows at a time (flush·max|acc|² < 2^64: no wrap),
/// then into 128-bit totals; merge() adds the totals to the shared sums under a lock. Integer sums: the result is the
/// same whatever the regions, their order and the thread count.
class moment_partial {
public:
    /// n columns; |acc| ≤ bound (a bound of the accumulators, < 2^31).
    moment_partial(std::size_t n, std::uint64_t bound)
        : p1_(n), p2_(n), t1_(n, 0), t2_(n, 0), q1_((n + 15) / 16 * 16, 0), q2_((n + 15) / 16 * 16, 0),
          flush_(flush_for(bound)) {}
    /// min(256, ⌊(2^64 − 1) / bound²⌋) (at least 1): rows whose squares a 64-bit lane can sum without wrapping.
    static std::size_t flush_for(std::uint64_t bound) noexcept {
        const uint128_t sq = static_cast<uint128_t>(bound) * bound;
        const uint128_t f = sq == 0 ? 256 : static_cast<uint128_t>(~std::uint64_t{0}) / sq;
        return f > 256 ? 256 : (f < 1 ? 1 : static_cast<std::size_t>(f));
    }
    void add(const out_i32& s, std::size_t m0, std::size_t rows, std::size_t n0, std::size_t n1) noexcept {
        const std::size_t len = n1 - n0;
        std::int64_t* p1 = p1_.data();
        std::uint64_t* p2 = p2_.data();
        for (std::size_t r = 0; r < rows; r += flush_) {
            const std::size_t e = std::min(rows, r + flush_);
            std::fill(p1, p1 + len, std::int64_t{0});
            std::fill(p2, p2 + len, std::uint64_t{0});
            for (std::size_t i = r; i < e; ++i) {
                const std::int32_t* row = s.c + s.layout.row_offset(m0 + i) + static_cast<std::ptrdiff_t>(n0);
                std::size_t j = 0;
#if defined(__aarch64__) && defined(__ARM_NEON)
                // GCC 12 leaves this loop scalar on AArch64 (10 instructions per accumulator): 4 columns per step,
                // p1 += sign-extended v (SADDW), p2 += v·v as exact 64-bit products (SMLAL; mod 2^64 like the scalar)
                for (; j + 4 <= len; j += 4) {
                    const int32x4_t v = vld1q_s32(row + j);
                    vst1q_s64(p1 + j, vaddw_s32(vld1q_s64(p1 + j), vget_low_s32(v)));
                    vst1q_s64(p1 + j + 2, vaddw_high_s32(vld1q_s64(p1 + j + 2), v));
                    auto* q2 = reinterpret_cast<std::int64_t*>(p2 + j);
                    vst1q_s64(q2, vmlal_s32(vld1q_s64(q2), vget_low_s32(v), vget_low_s32(v)));
                    vst1q_s64(q2 + 2, vmlal_high_s32(vld1q_s64(q2 + 2), v, v));
                }
#endif
                for (; j < len; ++j) {  // vectorizes on x86: sign-extend, add, 32x32 -> 64-bit multiply
                    const std::int64_t v = row[j];
                    p1[j] += v;
                    p2[j] += static_cast<std::uint64_t>(v * v);
                }
            }
            for (std::size_t j = 0; j < len; ++j) {
                t1_[n0 + j] += p1[j];
                t2_[n0 + j] += p2[j];
            }
        }
    }
    /// Rows one region may add before its 64-bit lanes must be flushed (flush·max|acc|² < 2^64).
    std::size_t flush_rows() const noexcept { return flush_; }
#if defined(__AVX512F__)
    /// The 512-bit register path (gemm_q8's zmm epilogue, out_i32 with moments): a tile's rows of the 16 columns
    /// n0..n0+15 summed in registers — s1 = Σ acc per column (lo: columns 0..7, hi: 8..15, int64 lanes), s2e / s2o =
    /// Σ acc² of the even / odd columns (vpmuldq: exact 64-bit squares) — are added to this panel's 64-bit partials,
    /// which flush_panels() moves into the 128-bit totals at the end of every region (≤ flush_rows() rows).
    void add_panel512(std::size_t n0, __m512i s1lo, __m512i s1hi, __m512i s2e, __m512i s2o) noexcept {
        std::int64_t* q1 = q1_.data() + n0;
        std::uint64_t* q2 = q2_.data() + n0;  // [0, 8): even columns, [8, 16): odd columns
        _mm512_storeu_si512(static_cast<void*>(q1), _mm512_add_epi64(_mm512_loadu_si512(q1), s1lo));
        _mm512_storeu_si512(static_cast<void*>(q1 + 8), _mm512_add_epi64(_mm512_loadu_si512(q1 + 8), s1hi));
        _mm512_storeu_si512(static_cast<void*>(q2), _mm512_add_epi64(_mm512_loadu_si512(q2), s2e));
        _mm512_storeu_si512(static_cast<void*>(q2 + 8), _mm512_add_epi64(_mm512_loadu_si512(q2 + 8), s2o));
    }
#endif
    /// Moves the register path's partials of columns [n0, n1) (multiples of 16) into the totals and clears them.
    void flush_panels(std::size_t n0, std::size_t n1) noexcept {
        for (std::size_t p = n0; p < n1; p += 16)
            for (std::size_t j = 0; j < 16; ++j) {
                t1_[p + j] += q1_[p + j];
                t2_[p + j] += q2_[p + (j % 2 ? 8 : 0) + j / 2];
            }
        std::fill(q1_.begin() + static_cast<std::ptrdiff_t>(n0), q1_.begin() + static_cast<std::ptrdiff_t>(n1), 0);
        std::fill(q2_.begin() + static_cast<std::ptrdiff_t>(n0), q2_.begin() + static_cast<std::ptrdiff_t>(n1), 0);
    }
    void merge(acc_moments& m, std::mutex& lock) const {
        const std::lock_guard<std::mutex> g(lock);
        for (std::size_t j = 0; j < t1_.size(); ++j) {
            m.s1[j] += t1_[j];
            m.s2[j] += t2_[j];
        }
    }

private:
    std::vector<std::int64_t> p1_;
    std::vector<std::uint64_t> p2_;
    std::vector<int128_t> t1_;
    std::vector<uint128_t> t2_;
    std::vector<std::int64_t> q1_;   // register path: per-column Σ acc of the current region
    std::vector<std::uint64_t> q2_;  // register path: Σ acc², per panel even columns then odd columns
    std::size_t flush_ = 1;
};

/// True for a row source with `static constexpr bool depth_slices = true` (nhwc_source).
template <class S, class = void>
inline constexpr bool has_depth_slices_v = false;
template <class S>
inline constexpr bool has_depth_slices_v<S, std::void_t<decltype(S::depth_slices)>> = S::depth_slices;

/// The part of the packed depth gemm_q8_run multiplies instead of all of K (len = 0: all of K): `count` slices
/// [k0 + j·stride, k0 + j·stride + len), j < count, in that order (the A rows the source gives hold exactly those
/// count·len codes). k0, len and stride are multiples of the plan's k_step; col_sums (byte layouts) = Σ over the
/// slices of w_s[n, k] for the panels·16 columns. Used by conv2d_q8_nhwc to leave out the taps in the padding (one
/// slice: the kernel rows inside the image; one slice per kernel row: the kernel columns inside it). More than one
/// slice only on x86 and the portable path.
struct q8_k_window {
    std::size_t k0 = 0, len = 0, count = 1, stride = 0;
    const std::int32_t* col_sums = nullptr;
};

/// The GEMM body shared by gemm_q8 and conv2d_q8 (any A source; win: the depth slice the source's rows hold).
template <class ARange, class WRange, class Arch, class Stage, class Source>
void gemm_q8_run(const Source& src, std::size_t m, std::int32_t za, const packed_q8<ARange, WRange, Arch>& w,
                 const Stage& stage, execution_context* ctx, const q8_k_window& win = {}) {
    using plan = typename packed_q8<ARange, WRange, Arch>::plan;
    static_assert(is_q8_stage_v<Stage>, "zoa::kernels::gemm_q8: Stage must be out_i32, out_dequant or out_requant<T>");
#if !defined(__AVX2__)
    static_assert(!has_avx2_v<Arch>, "zoa::kernels::gemm_q8: Arch needs AVX2 but this translation unit is "
                                         "compiled without -mavx2");
#endif
    static_assert(!plan::vnni || (vnni_compiled && has_avx2_v<Arch>),
                  "zoa::kernels::gemm_q8: with_vnni<Arch> needs -mavxvnni (or -mavx512vnni -mavx512vl) and AVX2");
    static_assert(plan::neon_level <= neon_level_compiled,
                  "zoa::kernels::gemm_q8: this AArch64 Arch needs -march=armv8.2-a+dotprod (with_dotprod), "
                  "-march=armv8.6-a+i8mm (with_i8mm) or an AArch64 target (neon64)");
    constexpr q8_kernel kern = q8_kernel_of<plan, Arch>;
    require(!w.empty(), error_code::argument, "gemm_q8: the packed weights are empty");
    require(za >= plan::a_min && za <= plan::a_max, error_code::argument, "gemm_q8: activation zero point ", za,
            " outside [", plan::a_min, ", ", plan::a_max, "]");
    if (m == 0) return;
    const bool windowed = win.len != 0;
    // depth slices (packed A holds one block per slice): only conv2d_q8_nhwc's row source asks for several, so the
    // other sources (the ViT's and the 1×1 convs' GEMMs) compile none of that code
    constexpr bool sliceable = has_depth_slices_v<Source>;
    const std::size_t nrng = sliceable && windowed ? win.count : 1;
    require(!windowed || (win.k0 % plan::k_step == 0 && win.len % plan::k_step == 0 && win.stride % plan::k_step == 0 &&
                          win.count >= 1 &&
                          (win.count == 1 || (sliceable && win.stride >= win.len && plan::neon_level < 0)) &&
                          win.k0 + (win.count - 1) * win.stride + win.len <= w.k() &&
                          (!plan::bytes || win.col_sums != nullptr)),
            error_code::argument, "gemm_q8: depth window (", win.count, " slices of ", win.len, " from ", win.k0,
            ", stride ", win.stride, ") is not a set of k_step-aligned slices of K = ", w.k(), " with column sums");
    const std::size_t n = w.n(), k = windowed ? win.len * nrng : w.k(), kp = windowed ? k : w.k_padded();
    const std::size_t panels = w.panels();
    // slice j of panel p: the layouts keep each panel's depth in order, 16 columns per k (k0 a multiple of the k group)
    const std::size_t kr = windowed ? win.len : kp;  // depth of one slice
    const auto k_at = [&](std::size_t j) { return windowed ? (win.k0 + j * win.stride) * 16 : 0; };
    const auto panel8 = [&](std::size_t p, std::size_t j = 0) { return w.panel_s8(p) + k_at(j); };
    [[maybe_unused]] const auto panel16 = [&](std::size_t p, std::size_t j = 0) { return w.panel_s16(p) + k_at(j); };
    const std::int32_t* col_sums = windowed && plan::bytes ? win.col_sums : w.col_sums();
    prepared_columns cols;
    prepare_columns(stage, n, panels * 16, cols);
    // maddubs offset algebra, c = a_shift + za, zw_s = zw - w_offset (all in wrapping int32):
    //   sum_k (a - za)(w - zw) = acc_raw - zw_s[n] * rowsum[m] - c * (colsum_s[n] - K * zw_s[n])
    aligned_buffer<std::int32_t> col_term;
    const bool row_term = plan::bytes && w.has_zero_point();
    if constexpr (plan::bytes) {
        col_term.reset(panels * 16);
        const std::int64_t c = std::int64_t{plan::a_shift} + za;
        for (std::size_t j = 0; j < panels * 16; ++j) {
            const std::int64_t v = -c * (std::int64_t{col_sums[j]} - std::int64_t(k) * w.centred_zero_points()[j]);
            col_term[j] = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
        }
    }
    constexpr std::size_t elem = plan::bytes ? 1 : 2;
    const std::size_t row_blocks = (m + 3) / 4;
    const std::size_t threads = ctx ? ctx->threads() : 1;
    // AMX (when compiled, granted and allowed) takes the VNNI byte layout in 16-row x 64-deep tiles: packed A rows
    // are then ka = kp rounded up to 64 bytes apart (zeros past K) and blocks hold a multiple of 32 rows.
    const bool amx = plan::vnni && has_avx2_v<Arch> && !windowed && amx_active();
    const std::size_t ka = amx ? (kp + 63) / 64 * 64 : kp;
    // A read in place, not packed: a row-major byte matrix (the ResNet's 1×1 stride-1 convs on NHWC codes) whose
    // rows already are the packed layout (x86 byte plan, bytes as they are: a_shift = 0; lda = kp = K); only the row
    // sums and the range check are computed per block
    using a_code = typename ARange::storage;
    constexpr bool in_place_capable = std::is_same_v<Source, a_matrix<a_code>> && sizeof(a_code) == 1 &&
                                      plan::bytes && plan::a_shift == 0 && plan::neon_level < 0 && has_avx2_v<Arch>;
    [[maybe_unused]] bool in_place = false;
    if constexpr (in_place_capable)
        in_place = !amx && !windowed && k == kp && src.lda == static_cast<std::ptrdiff_t>(kp);
    // Rows per packed A block: ~192 KiB of packed A stays in L2 while every panel streams past it.
    std::size_t mb = (192 * 1024) / (ka * elem) / 8 * 8;
    mb = mb < 8 ? 8 : (mb > 256 ? 256 : mb);
    if (amx) mb = std::max<std::size_t>(32, mb / 32 * 32);
    // packed A: row i at a_blk + i·kp; with several depth slices, slice j of the rows is a block of its own (mb + 4
    // rows of kr codes each, the microkernels' row stride), the blocks rblock codes apart
    const std::size_t rblock = (mb + 4) * kr;
    const auto a_at = [&](const std::uint8_t* a_blk, std::size_t j, std::size_t i) {
        return a_blk + (j * rblock + i * kr) * elem;
    };
    // Threads split the rows (each packs its own rows of A and reads every panel of W), or, when the weights are
    // more than twice the size of A (late ResNet stages, batch 1), the column panels (each thread packs all of A and
    // reads only its share of W).
    const bool split_n = threads > 1 && panels >= 2 * threads && (row_blocks < 4 * threads || n > 2 * m);
    // out_i32 with moments: every region a thread has stored (rows of a block x a panel group, still in L2) is summed
    // right after it is written, into that thread's moment_partial; |acc| ≤ K·(a range)·(w range) bounds the lanes.
    [[maybe_unused]] std::mutex moments_lock;
    bool want_moments = false;
    if constexpr (std::is_same_v<Stage, out_i32>) {
        want_moments = stage.moments != nullptr;
        if (want_moments) {
            require(stage.layout.col_stride == 1 && stage.moments->s1.size() == n && stage.moments->s2.size() == n,
                    error_code::argument, "out_i32: moments need a row-major destination and sums reset for N = ", n,
                    " columns");
            stage.moments->count += m;
        }
    }
    const std::uint64_t acc_bound = std::min<std::uint64_t>(
        (std::uint64_t{1} << 31) - 1, static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(plan::a_max - plan::a_min) *
                                          static_cast<std::uint64_t>(int(WRange::max) - int(WRange::min)));
    // Moments on the register path: 512-bit VNNI zmm epilogue (row-major, every panel full, not AMX); a region
    // (packed-A block × panel group) must fit the 64-bit lanes (rows ≤ flush), else its rows are summed from memory.
    [[maybe_unused]] bool reg_moments = false;
    if constexpr (std::is_same_v<Stage, out_i32> && plan::vnni && has_avx2_v<Arch> && x86::vnni512_compiled &&
                  x86::store512_compiled)
        reg_moments = want_moments && !amx && stage.layout.col_stride == 1 && n % 16 == 0;
    // the register moments sum ≤ 8 rows of a column in int32 when that cannot wrap
    [[maybe_unused]] const bool s1_narrow = acc_bound * 8 < (std::uint64_t{1} << 31);
    // adds rows [r0, r0 + rows) x panels [g0, g1) to part (out_i32 with moments only)
    [[maybe_unused]] auto sum_region = [&](moment_partial* part, std::size_t r0, std::size_t rows, std::size_t g0,
                                           std::size_t g1) {
        if constexpr (std::is_same_v<Stage, out_i32>)
            if (part) part->add(stage, r0, rows, g0 * 16, std::min(n, g1 * 16));
    };

    // One 4 x 16 output tile: rows r0 + i.. (packed A at a_blk), panel p.
    auto tile = [&](const std::uint8_t* a_blk, const std::int32_t* row_sums, std::size_t r0, std::size_t i,
                    std::size_t rows, std::size_t p) {
        const std::size_t n0 = p * 16, ncols = std::min<std::size_t>(16, n - n0), nrows = std::min<std::size_t>(4, rows - i);
        const std::int32_t* rs = row_term ? row_sums + i : nullptr;
        if constexpr (plan::neon_level >= 0) {
#if defined(__aarch64__) && defined(__ARM_NEON)
            const auto* a8 = reinterpret_cast<const std::int8_t*>(a_at(a_blk, 0, i));  // one depth slice on AArch64
            arm::tile_4x16 t;
            if constexpr (kern == q8_kernel::neon_smmla) {
#if defined(__ARM_FEATURE_MATMUL_INT8)
                t = arm::kernel_smmla(a8, panel8(p), kp);
#endif
            } else if constexpr (kern == q8_kernel::neon_sdot) {
#if defined(__ARM_FEATURE_DOTPROD)
                t = arm::kernel_sdot(a8, panel8(p), kp);
#endif
            } else {
                t = arm::kernel_neon<plan::byte_products, plan::depth>(a8, panel8(p), kp);
            }
            arm::correct(t, col_term.data() + n0, w.centred_zero_points() + n0, rs);
            arm::store_tile(stage, cols, t, r0 + i, n0, nrows, ncols);
#endif
        } else if constexpr (kern != q8_kernel::portable) {
#if defined(__AVX2__)
            // the raw sums of depth slice j (the whole depth when nrng = 1), added over the slices
            const auto slice = [&](std::size_t j) {
                x86::tile_4x16 u;
                const std::uint8_t* aj = a_at(a_blk, j, i);
                if constexpr (kern == q8_kernel::vnni) {
#if defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
                    u = x86::kernel_dpbusd(aj, panel8(p, j), kr);
#endif
                } else if constexpr (kern == q8_kernel::avx2_maddubs) {
                    u = x86::kernel_maddubs<plan::depth>(aj, panel8(p, j), kr);
                } else {
                    u = x86::kernel_s16(reinterpret_cast<const std::int16_t*>(aj), panel16(p, j), kr);
                }
                return u;
            };
            x86::tile_4x16 t = slice(0);
            for (std::size_t j = 1; j < nrng; ++j) x86::add_tile(t, slice(j));
            if constexpr (kern != q8_kernel::avx2_int16)
                x86::correct(t, col_term.data() + n0, w.centred_zero_points() + n0, rs);
            x86::store_tile(stage, cols, t, r0 + i, n0, nrows, ncols);
#endif
        } else {
            std::int32_t acc[4][16];
            for (std::size_t j = 0; j < nrng; ++j) {  // the depth slices' sums added (wrapping int32)
                std::int32_t part[4][16];
                kernel_portable<plan>(a_at(a_blk, j, i), plan::bytes ? static_cast<const void*>(panel8(p, j))
                                                                     : static_cast<const void*>(panel16(p, j)),
                                      kr, j == 0 ? acc : part);
                if (j > 0)
                    for (int r = 0; r < 4; ++r)
                        for (int c = 0; c < 16; ++c) acc[r][c] = wrap_add(acc[r][c], part[r][c]);
            }
            for (std::size_t r = 0; r < nrows; ++r)
                for (std::size_t c = 0; c < ncols; ++c) {
                    std::int32_t v = acc[r][c];
                    if constexpr (plan::bytes) {
                        v = wrap_add(v, col_term[n0 + c]);
                        if (rs)  // v -= zw_s[n] * rowsum[m]  (mod 2^32)
                            v = wrap_add(v, static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(w.centred_zero_points()[n0 + c]) *
                                                                          static_cast<std::uint32_t>(rs[r])));
                    }
                    store_scalar(stage, cols, r0 + i + r, n0 + c, v);
                }
        }
    };
    // Two 4-row tiles (rows i..i+7, the second possibly ragged) in one VNNI microkernel call.
    // With 512-bit VNNI compiled in, P (1 or 2) panels at once: panels p..p+P−1, rows i..i+7.
    // rm: out_i32 with moments on the register path (work_blocks decides): the stored rows are also summed into rm.
    [[maybe_unused]] auto tile8_512 = [&](const std::uint8_t* a_blk, const std::int32_t* row_sums, std::size_t r0,
                                          std::size_t i, std::size_t rows, std::size_t p, auto panels_tag,
                                          [[maybe_unused]] moment_partial* rm) {
        [[maybe_unused]] constexpr int P = decltype(panels_tag)::value;  // used only with 512-bit VNNI
#if defined(__AVX2__) && defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512VL__)
        if constexpr (plan::vnni && has_avx2_v<Arch>) {
            const std::int8_t* b[P];
            for (int j = 0; j < P; ++j) b[j] = panel8(p + static_cast<std::size_t>(j));
            // slice j's B pointers (nrng > 1 only)
            const auto b_at = [&](std::size_t sl, const std::int8_t* (&bj)[P]) {
                for (int j = 0; j < P; ++j) bj[j] = panel8(p + static_cast<std::size_t>(j), sl);
            };
            if constexpr (x86::store512_compiled) {
                // row-major destination, full panels: the zmm accumulators straight into the 512-bit epilogue
                const std::size_t last = (p + static_cast<std::size_t>(P)) * 16;
                if (stage.layout.col_stride == 1 && last <= n) {
                    __m512i c[8][P];
                    x86::kernel_vnni512_8x16p_zmm<P>(a_at(a_blk, 0, i), b, kr, c);
                    for (std::size_t sl = 1; sl < nrng; ++sl) {  // further depth slices: their sums added
                        const std::int8_t* bj[P];
                        b_at(sl, bj);
                        __m512i cj[8][P];
                        x86::kernel_vnni512_8x16p_zmm<P>(a_at(a_blk, sl, i), bj, kr, cj);
                        for (int r = 0; r < 8; ++r)
                            for (int j = 0; j < P; ++j) c[r][j] = _mm512_add_epi32(c[r][j], cj[r][j]);
                    }
                    const std::size_t nr = std::min<std::size_t>(8, rows - i);
                    for (int j = 0; j < P; ++j) {
                        const std::size_t n0 = (p + static_cast<std::size_t>(j)) * 16;
                        const __m512i col = _mm512_load_si512(col_term.data() + n0);
                        const __m512i zw = _mm512_load_si512(w.centred_zero_points() + n0);
                        const x86::store_panel16<Stage> out(stage, cols, n0);
                        if constexpr (std::is_same_v<Stage, out_i32>) {
                            if (rm) {  // store, and sum the exact moments of these rows while they are in registers
                                const __m512i zero = _mm512_setzero_si512();
                                __m512i s1 = zero, s1h = zero, s2e = zero, s2o = zero;
                                for (std::size_t r = 0; r < nr; ++r) {
                                    __m512i v = _mm512_add_epi32(c[r][j], col);
                                    if (row_term)
                                        v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw, _mm512_set1_epi32(row_sums[i + r])));
                                    out.row(v, r0 + i + r);
                                    if (s1_narrow) {  // 8·max|acc| < 2^31: the tile's column sums fit int32
                                        s1 = _mm512_add_epi32(s1, v);
                                    } else {
                                        s1 = _mm512_add_epi64(s1, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
                                        s1h = _mm512_add_epi64(s1h, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
                                    }
                                    s2e = _mm512_add_epi64(s2e, _mm512_mul_epi32(v, v));  // even columns, exact int64
                                    const __m512i vo = _mm512_srli_epi64(v, 32);
                                    s2o = _mm512_add_epi64(s2o, _mm512_mul_epi32(vo, vo));  // odd columns
                                }
                                if (s1_narrow) {
                                    s1h = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(s1, 1));
                                    s1 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(s1));
                                }
                                rm->add_panel512(n0, s1, s1h, s2e, s2o);
                                continue;
                            }
                        }
                        for (std::size_t r = 0; r < nr; ++r) {
                            __m512i v = _mm512_add_epi32(c[r][j], col);
                            if (row_term)  // v -= zw_s[n] * rowsum[m]  (mod 2^32)
                                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw, _mm512_set1_epi32(row_sums[i + r])));
                            out.row(v, r0 + i + r);
                        }
                    }
                    return;
                }
            }
            x86::tile_4x16 t[2 * P];
            x86::kernel_vnni512_8x16p<P>(a_at(a_blk, 0, i), b, kr, t);
            for (std::size_t sl = 1; sl < nrng; ++sl) {
                const std::int8_t* bj[P];
                b_at(sl, bj);
                x86::tile_4x16 tj[2 * P];
                x86::kernel_vnni512_8x16p<P>(a_at(a_blk, sl, i), bj, kr, tj);
                for (int j = 0; j < 2 * P; ++j) x86::add_tile(t[j], tj[j]);
            }
            for (int j = 0; j < P; ++j) {
                const std::size_t n0 = (p + static_cast<std::size_t>(j)) * 16, ncols = std::min<std::size_t>(16, n - n0);
                x86::correct(t[2 * j], col_term.data() + n0, w.centred_zero_points() + n0,
                             row_term ? row_sums + i : nullptr);
                x86::correct(t[2 * j + 1], col_term.data() + n0, w.centred_zero_points() + n0,
                             row_term ? row_sums + i + 4 : nullptr);
                x86::store_tile(stage, cols, t[2 * j], r0 + i, n0, 4, ncols);
                x86::store_tile(stage, cols, t[2 * j + 1], r0 + i + 4, n0, std::min<std::size_t>(4, rows - i - 4), ncols);
            }
        }
#else
        (void)a_blk, (void)row_sums, (void)r0, (void)i, (void)rows, (void)p;
#endif
    };
    [[maybe_unused]] auto tile8 = [&](const std::uint8_t* a_blk, const std::int32_t* row_sums, std::size_t r0,
                                      std::size_t i, std::size_t rows, std::size_t p, moment_partial* rm) {
#if defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
        if constexpr (plan::vnni && has_avx2_v<Arch> && x86::vnni512_compiled) {
            tile8_512(a_blk, row_sums, r0, i, rows, p, std::integral_constant<int, 1>{}, rm);
            return;
        } else if constexpr (plan::vnni && has_avx2_v<Arch>) {
            if (nrng > 1) {  // depth slices: the 4-row tiles add them
                tile(a_blk, row_sums, r0, i, rows, p);
                if (i + 4 < rows) tile(a_blk, row_sums, r0, i + 4, rows, p);
                return;
            }
            const std::size_t n0 = p * 16, ncols = std::min<std::size_t>(16, n - n0);
            x86::tile_4x16 t0, t1;
            x86::kernel_dpbusd_8x16(a_at(a_blk, 0, i), panel8(p), kp, t0, t1);
            x86::correct(t0, col_term.data() + n0, w.centred_zero_points() + n0, row_term ? row_sums + i : nullptr);
            x86::correct(t1, col_term.data() + n0, w.centred_zero_points() + n0, row_term ? row_sums + i + 4 : nullptr);
            x86::store_tile(stage, cols, t0, r0 + i, n0, 4, ncols);
            x86::store_tile(stage, cols, t1, r0 + i + 4, n0, std::min<std::size_t>(4, rows - i - 4), ncols);
            return;
        }
#endif
        (void)rm;  // the register path exists only with 512-bit VNNI (work_blocks never asks for it otherwise)
        tile(a_blk, row_sums, r0, i, rows, p);
        if (i + 4 < rows) tile(a_blk, row_sums, r0, i + 4, rows, p);
    };
    // 8-row steps for the VNNI kernel (two 4-row tiles per B load), 4-row steps otherwise.
    const std::size_t step = plan::vnni && has_avx2_v<Arch> ? 8 : 4;
    // Rows [rb0*4, rb1*4) x panels [p0, p1): A is packed in blocks of mb rows; panels are visited in groups of
    // ~1 MiB of packed weights with rows outer inside a group, so a group stays in L2 while the 4-row A slice being
    // multiplied stays in L1.
    const std::size_t group = std::max<std::size_t>(1, (1u << 20) / (kp * 16 * elem));
    // The AMX loop: per block of mb rows, 32 x 32 outputs per kernel call (16-row / 1-panel tails), int32 tiles
    // through a 4 KiB buffer into the same correction and output stage as the VNNI tiles.
    [[maybe_unused]] auto work_amx = [&](std::size_t rb0, std::size_t rb1, std::size_t p0, std::size_t p1,
                                         q8_scratch& scratch, moment_partial* part) {
#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AVX512F__) && defined(__linux__)
        if constexpr (plan::vnni && has_avx2_v<Arch>) {
            x86::amx_configure();
            alignas(64) std::int32_t cbuf[32 * 32];
            // The last 64-deep slice of the last panel as a zero-padded 1 KiB block when K is not a multiple of 64
            // (other panels' last blocks run into the next panel, which meets zero columns of A).
            const std::size_t nk = ka / 64, tail_bytes = kp * 16 - (nk - 1) * 1024;
            alignas(64) std::int8_t last_tail[1024];
            std::memcpy(last_tail, panel8(panels - 1) + (nk - 1) * 1024, tail_bytes);
            std::memset(last_tail + tail_bytes, 0, 1024 - tail_bytes);
            const auto last_block = [&](std::size_t panel) {
                return panel + 1 == panels ? static_cast<const std::int8_t*>(last_tail)
                                           : panel8(panel) + (nk - 1) * 1024;
            };
            for (std::size_t r0 = rb0 * 4; r0 < rb1 * 4 && r0 < m; r0 += mb) {
                const std::size_t rows = std::min({mb, rb1 * 4 - r0, m - r0});
                const std::size_t rows4 = (rows + 3) / 4 * 4, rows16 = (rows + 15) / 16 * 16;
                pack_a<plan, Arch>(src, r0, rows, k, ka, za, scratch.a.data(), scratch.row_sums.data());
                std::memset(scratch.a.data() + rows4 * ka, 0, (rows16 - rows4) * ka);
                for (std::size_t g0 = p0; g0 < p1; g0 += group)
                    for (std::size_t i = 0; i < rows; i += 32)
                        for (std::size_t p = g0, pe = std::min(p1, g0 + group); p < pe; p += 2) {
                            const bool two_rows = rows - i > 16, two_panels = p + 1 < pe;
                            const std::size_t p1s = two_panels ? p + 1 : p;
                            const std::int8_t* b[2] = {panel8(p), panel8(p1s)};
                            const std::int8_t* bl[2] = {last_block(p), last_block(p1s)};
                            const std::uint8_t* ai = scratch.a.data() + i * ka;
                            if (two_rows && two_panels) x86::kernel_amx<2, 2>(ai, ka, b, bl, nk, cbuf);
                            else if (two_rows) x86::kernel_amx<2, 1>(ai, ka, b, bl, nk, cbuf);
                            else if (two_panels) x86::kernel_amx<1, 2>(ai, ka, b, bl, nk, cbuf);
                            else x86::kernel_amx<1, 1>(ai, ka, b, bl, nk, cbuf);
                            for (std::size_t j = 0; j < (two_panels ? 2u : 1u); ++j) {
                                const std::size_t n0 = (p + j) * 16, ncols = std::min<std::size_t>(16, n - n0);
                                if constexpr (x86::store512_compiled) {
                                    if (ncols == 16 && stage.layout.col_stride == 1) {  // one zmm per output row
                                        const __m512i col = _mm512_load_si512(col_term.data() + n0);
                                        const __m512i zw = _mm512_load_si512(w.centred_zero_points() + n0);
                                        const x86::store_panel16<Stage> out(stage, cols, n0);
                                        for (std::size_t r = 0; r < (two_rows ? 32u : 16u) && i + r < rows; ++r) {
                                            __m512i v = _mm512_add_epi32(_mm512_load_si512(cbuf + r * 32 + j * 16), col);
                                            if (row_term)  // v -= zw_s[n] * rowsum[m]  (mod 2^32)
                                                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw, _mm512_set1_epi32(scratch.row_sums[i + r])));
                                            out.row(v, r0 + i + r);
                                        }
                                        continue;
                                    }
                                }
                                for (std::size_t r = 0; r < (two_rows ? 32u : 16u) && i + r < rows; r += 4) {
                                    x86::tile_4x16 t;
                                    for (std::size_t q = 0; q < 4; ++q) {
                                        const std::int32_t* row = cbuf + (r + q) * 32 + j * 16;
                                        t.v[q][0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(row));
                                        t.v[q][1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(row + 8));
                                    }
                                    x86::correct(t, col_term.data() + n0, w.centred_zero_points() + n0,
                                                 row_term ? scratch.row_sums.data() + i + r : nullptr);
                                    x86::store_tile(stage, cols, t, r0 + i + r, n0, std::min<std::size_t>(4, rows - i - r),
                                                    ncols);
                                }
                            }
                        }
                for (std::size_t g0 = p0; g0 < p1; g0 += group) sum_region(part, r0, rows, g0, std::min(p1, g0 + group));
            }
            x86::amx_release();
        }
#else
        (void)rb0, (void)rb1, (void)p0, (void)p1, (void)scratch, (void)part;
#endif
    };
    // the VNNI / AVX2 / portable loop: A packed in blocks of mb rows, panel groups, 8- or 4-row steps
    auto work_blocks = [&](std::size_t rb0, std::size_t rb1, std::size_t p0, std::size_t p1, q8_scratch& scratch,
                           moment_partial* part) {
        for (std::size_t r0 = rb0 * 4; r0 < rb1 * 4 && r0 < m; r0 += mb) {
            const std::size_t rows = std::min({mb, rb1 * 4 - r0, m - r0});
            // the register path takes every row through 8-row tiles (a 1..4-row tail reads 4 zero rows past the
            // packed rows, which the scratch buffer has room for)
            moment_partial* rm = reg_moments && part && rows <= part->flush_rows() ? part : nullptr;
            // rows read in place: every tile reads only rows of this block (whole 8-row tiles, or a last 4-row tile
            // off the register path)
            const std::uint8_t* a_blk = scratch.a.data();
            if (in_place && rows % 4 == 0 && (rows % 8 == 0 || !rm)) {
                if constexpr (in_place_capable) {
                    a_blk = reinterpret_cast<const std::uint8_t*>(src.a + r0 * kp);
                    scan_a_in_place<plan>(src.a, kp, r0, rows, k, scratch.row_sums.data());
                }
            } else if constexpr (sliceable) {
                if (nrng > 1)
                    pack_a<plan, Arch, true>(src, r0, rows, k, kp, za, scratch.a.data(), scratch.row_sums.data(), kr,
                                             rblock);
                else
                    pack_a<plan, Arch>(src, r0, rows, k, kp, za, scratch.a.data(), scratch.row_sums.data());
            } else {
                pack_a<plan, Arch>(src, r0, rows, k, kp, za, scratch.a.data(), scratch.row_sums.data());
            }
            if (rm && rows % 8 != 0 && rows % 8 <= 4)
                for (std::size_t j = 0; j < nrng; ++j)
                    std::memset(const_cast<std::uint8_t*>(a_at(scratch.a.data(), j, (rows + 3) / 4 * 4)), 0, 4 * kr * elem);
            for (std::size_t g0 = p0; g0 < p1; g0 += group) {
                for (std::size_t i = 0; i < rows; i += step)
                    for (std::size_t p = g0, pe = std::min(p1, g0 + group); p < pe; ++p) {
                        if (step == 8 && (i + 4 < rows || rm)) {
                            if constexpr (plan::vnni && has_avx2_v<Arch> && x86::vnni512_compiled) {
                                if (p + 1 < pe) {  // two panels per call: 16 zmm accumulators
                                    tile8_512(a_blk, scratch.row_sums.data(), r0, i, rows, p,
                                              std::integral_constant<int, 2>{}, rm);
                                    ++p;
                                    continue;
                                }
                            }
                            tile8(a_blk, scratch.row_sums.data(), r0, i, rows, p, rm);
                        } else {
                            tile(a_blk, scratch.row_sums.data(), r0, i, rows, p);
                        }
                    }
                const std::size_t g1 = std::min(p1, g0 + group);
                if (rm) rm->flush_panels(g0 * 16, g1 * 16);
                else sum_region(part, r0, rows, g0, g1);
            }
        }
    };
    auto work = [&](std::size_t rb0, std::size_t rb1, std::size_t p0, std::size_t p1) {
        q8_scratch& scratch = thread_q8_scratch();
        scratch.a.ensure((mb + 4) * ka * elem + 64);  // + 4 rows: the register path's 8-row tiles over a 4-row tail
        scratch.row_sums.ensure(mb);
        std::vector<moment_partial> partial;  // this call's moment sums (out_i32 with moments only)
        if (want_moments) partial.emplace_back(n, acc_bound);
        moment_partial* part = want_moments ? &partial[0] : nullptr;
        if (amx) work_amx(rb0, rb1, p0, p1, scratch, part);
        else work_blocks(rb0, rb1, p0, p1, scratch, part);
        if constexpr (std::is_same_v<Stage, out_i32>)
            if (part) part->merge(*stage.moments, moments_lock);
    };
    if (threads == 1) {
        work(0, row_blocks, 0, panels);
    } else if (split_n) {
        ctx->parallel_for(panels, [&](std::size_t b, std::size_t e) { work(0, row_blocks, b, e); });
    } else {
        ctx->parallel_for(row_blocks, [&](std::size_t b, std::size_t e) { work(b, e, 0, panels); });
    }
}

}  // namespace detail

/// C = stage(acc), acc[m,n] = sum_k (a[m*lda + k] - a_zero_point) * (w(n,k) - zw[n]) for m < M, n < w.n(), exact
/// in int32 (see q8_plan for the path and its bound). ARange, WRange and Arch come from the packed weights.
/// a: M x K codes in ARange (K = w.k(), row stride lda); a_zero_point in ARange (0 for symmetric activations).
/// Threads: ctx (null = the calling thread); results are bit-identical for any thread count (every output element
/// is computed by the same instruction sequence), and identical across Arch (all paths are exact).
/// Throws: zoa::error(argument) for empty weights / bad stage data, zoa::error(numeric) for codes outside ARange.
template <class ARange, class WRange, class Arch, class Stage>
void gemm_q8(const typename ARange::storage* a, std::size_t m, std::ptrdiff_t lda, std::int32_t a_zero_point,
             const packed_q8<ARange, WRange, Arch>& w, const Stage& stage, execution_context* ctx = nullptr) {
    require(a != nullptr || m == 0, error_code::argument, "gemm_q8: A is null");
    require(m == 0 || lda >= static_cast<std::ptrdiff_t>(w.k()), error_code::argument, "gemm_q8: lda = ", lda,
            " < K = ", w.k());
    detail::gemm_q8_run<ARange, WRange, Arch>(detail::a_matrix<typename ARange::storage>{a, lda, w.k()}, m,
                                              a_zero_point, w, stage, ctx);
}

/// Applies an output stage to stored int32 accumulators acc [m × n] (row-major, leading dimension n): C = stage(acc),
/// element by element, through the epilogues gemm_q8 runs after its microkernels (store_panel16 rows on AVX-512 when
/// N is a multiple of 16, 4 × 16 tiles on AVX2 and on AArch64, detail::store_scalar otherwise; all the same bits, as
/// gemm_q8's paths are), so C is exactly what gemm_q8 with this stage writes for these accumulators. Used to finish a convolution whose BatchNorm needed the statistics of its
/// whole output first (out_i32 with moments, then this with out_fused).
/// Threads: fixed 64-row blocks over ctx (elementwise: identical for any thread count).
/// Throws: zoa::error(argument) for a null acc, and the stage's checks (as gemm_q8).
template <class Arch = q8_default_arch, class Stage>
void apply_q8_stage(const std::int32_t* acc, std::size_t m, std::size_t n, const Stage& stage,
                    execution_context* ctx = nullptr) {
    static_assert(is_q8_stage_v<Stage>, "zoa::kernels::apply_q8_stage: unknown output stage");
    require(acc != nullptr || m == 0, error_code::argument, "apply_q8_stage: accumulators are null");
    if (m == 0 || n == 0) return;
    const std::size_t panels = (n + 15) / 16, blocks = (m + 63) / 64;
    detail::prepared_columns cols;
    detail::prepare_columns(stage, n, panels * 16, cols);
    const auto body = [&](std::size_t b0, std::size_t b1) {
        const std::size_t r0 = b0 * 64, r1 = std::min(m, b1 * 64);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__)
        if constexpr (x86::store512_compiled && arch_at_least_v<Arch, xsimd::avx512f>) {
            if (n % 16 == 0 && stage.layout.col_stride == 1) {
                // groups of 16 rows, panels outer inside a group: the panel's constants are loaded once per 16 rows,
                // and each row's line of the next group is prefetched while this group runs
                for (std::size_t g = r0; g < r1; g += 16) {
                    const std::size_t ge = std::min(r1, g + 16);
                    for (std::size_t n0 = 0; n0 < n; n0 += 16) {
                        const x86::store_panel16<Stage> out(stage, cols, n0);
                        for (std::size_t r = g; r < ge; ++r) {
                            const std::int32_t* src = acc + r * n + n0;
                            _mm_prefetch(reinterpret_cast<const char*>(src + 16 * n), _MM_HINT_T0);
                            out.row(_mm512_loadu_si512(static_cast<const void*>(src)), r);
                        }
                    }
                }
                return;
            }
        }
#endif
#if defined(__AVX2__)
        if constexpr (has_avx2_v<Arch>) {  // 4-row groups, panels inner: four sequential row streams
            for (std::size_t r = r0; r < r1; r += 4) {
                const std::size_t nrows = std::min<std::size_t>(4, r1 - r);
                for (std::size_t p = 0; p < panels; ++p) {
                    const std::size_t n0 = p * 16, ncols = std::min<std::size_t>(16, n - n0);
                    x86::tile_4x16 t;
                    if (nrows == 4 && ncols == 16) {
                        for (std::size_t q = 0; q < 4; ++q) {
                            const std::int32_t* src = acc + (r + q) * n + n0;
                            t.v[q][0] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
                            t.v[q][1] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 8));
                        }
                    } else {  // ragged tile: through a zero-padded copy (no read past the rows)
                        alignas(32) std::int32_t buf[4][16] = {};
                        for (std::size_t q = 0; q < nrows; ++q) std::memcpy(buf[q], acc + (r + q) * n + n0, ncols * 4);
                        for (std::size_t q = 0; q < 4; ++q) {
                            t.v[q][0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf[q]));
                            t.v[q][1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf[q] + 8));
                        }
                    }
                    x86::store_tile(stage, cols, t, r, n0, nrows, ncols);
                }
            }
            return;
        }
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
        if constexpr (neon_level_v<Arch> >= 0) {  // 4 × 16 tiles through the NEON epilogues, as gemm_q8 stores them
            for (std::size_t r = r0; r < r1; r += 4) {
                const std::size_t nrows = std::min<std::size_t>(4, r1 - r);
                for (std::size_t n0 = 0; n0 < n; n0 += 16) {
                    const std::size_t ncols = std::min<std::size_t>(16, n - n0);
                    arm::tile_4x16 t;
                    alignas(16) std::int32_t buf[4][16];  // a ragged tile: a zero-padded copy (no read past)
                    const bool full = nrows == 4 && ncols == 16;
                    if (!full) {
                        std::memset(buf, 0, sizeof buf);
                        for (std::size_t q = 0; q < nrows; ++q) std::memcpy(buf[q], acc + (r + q) * n + n0, ncols * 4);
                    }
                    for (std::size_t q = 0; q < 4; ++q) {
                        const std::int32_t* src = full ? acc + (r + q) * n + n0 : buf[q];
                        for (std::size_t j = 0; j < 4; ++j) t.v[q][j] = vld1q_s32(src + 4 * j);
                    }
                    arm::store_tile(stage, cols, t, r, n0, nrows, ncols);
                }
            }
            return;
        }
#endif
        for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t c = 0; c < n; ++c) detail::store_scalar(stage, cols, r, c, acc[r * n + c]);
    };
    if (ctx && ctx->threads() > 1) ctx->parallel_for(blocks, body);
    else body(0, blocks);
}

}  // namespace zoa::kernels

ZOA_DETAIL_AVX512_WARNINGS_END
