// zoa — AVX-512 output stages for gemm_q8: rows of 16 corrected int32 accumulators through any stage, stored to a
// row-major destination with one vector store per row (the AMX epilogue)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "zoa/kernels/detail/avx512_warnings.hpp"
#include "zoa/kernels/output_stage.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__)
#include <immintrin.h>

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::kernels::x86 {

/// True when this translation unit has the 512-bit epilogue.
inline constexpr bool store512_compiled = true;

/// The residual code type of an out_fused stage (uint8_t for the other stages, unused there).
template <class Stage>
struct residual_code {
    using type = std::uint8_t;
};
template <class T, class R>
struct residual_code<out_fused<T, R>> {
    using type = R;
};
template <class Stage>
using residual_code_t = typename residual_code<Stage>::type;

/// The output stage for the 16 columns n0..n0+15 (all valid) of a row-major destination (layout.col_stride == 1):
/// the per-column constants are loaded once into registers, then row(v, m) applies the stage to the corrected
/// accumulators v of row m and stores them at s.c + layout.row_offset(m) + n0. The formulas and their order are those
/// of detail::store_scalar (and of store_tile), so the results are the same bits.
template <class Stage>
class store_panel16 {
public:
    // always inlined: called per 16 outputs inside the microkernel loops, where the per-column constants can stay
    // in registers (an out-of-line call reloads them from the object every row)
    __attribute__((always_inline)) store_panel16(const Stage& s, const zoa::kernels::detail::prepared_columns& p,
                                                 std::size_t n0) noexcept
        : c_(s.c + n0), row_stride_(s.layout.row_stride), grouped_((s.layout.group_rows | s.layout.group2_rows) != 0),
          lay_(s.layout) {
        if constexpr (is_fused_stage_v<Stage>) {
            res_f_ = s.res_f ? s.res_f + n0 : nullptr;
            res_q_ = s.res_q ? s.res_q + n0 : nullptr;
            relu_ = s.relu;
        }
        if constexpr (std::is_same_v<Stage, out_dequant>) {
            f0_ = _mm512_load_ps(p.f0.data() + n0);
            f1_ = _mm512_load_ps(p.f1.data() + n0);
        } else if constexpr (is_fused_stage_v<Stage>) {
            f0_ = _mm512_load_ps(p.f0.data() + n0);
            f1_ = _mm512_load_ps(p.f1.data() + n0);
            f2_ = _mm512_load_ps(p.f2.data() + n0);
            f3_ = _mm512_load_ps(p.f3.data() + n0);
            f4_ = _mm512_load_ps(p.f4.data() + n0);
            f5_ = _mm512_load_ps(p.f5.data() + n0);
            has_bias_ = p.has_bias;
            has_bn_ = p.has_bn;
            has_mres_ = s.bn_mean_residual != nullptr;
            rs_ = _mm512_set1_ps(p.res_scale);
            rz_ = _mm512_set1_epi32(p.res_zero_point);
            inv_ = _mm512_set1_ps(p.inv);
        } else if constexpr (!std::is_same_v<Stage, out_i32>) {  // out_requant<T>
            f0_ = _mm512_load_ps(p.f0.data() + n0);
            i0_ = _mm512_load_si512(p.i0.data() + n0);
        }
        lo_ = _mm512_set1_ps(p.lo);
        hi_ = _mm512_set1_ps(p.hi);
        zp_ = _mm512_set1_epi32(p.zero_point);
    }

    __attribute__((always_inline)) void row(__m512i v, std::size_t m) const noexcept {
        // row offset as out_layout::row_offset (the stage's pointers and flags are copies in this object: a byte
        // store may alias anything, so reading them through the stage would reload them after every row)
        const std::ptrdiff_t off = grouped_ ? lay_.grouped_offset(m) : static_cast<std::ptrdiff_t>(m) * row_stride_;
        T* dst = c_ + off;
        if constexpr (std::is_same_v<Stage, out_i32>) {
            _mm512_storeu_si512(static_cast<void*>(dst), v);
        } else if constexpr (std::is_same_v<Stage, out_dequant>) {
            _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), f0_), f1_));
        } else {
            __m512i q;
            if constexpr (is_fused_stage_v<Stage>) {
                __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(v), f0_);
                if (has_bias_) t = _mm512_add_ps(t, f1_);
                t = zoa::detail::fp_barrier(t);
                if (has_bn_) {
                    t = _mm512_sub_ps(t, f2_);
                    if (has_mres_) t = _mm512_sub_ps(t, f3_);  // (t − mean) − 0 = t − mean: skipped when absent
                    t = _mm512_fmadd_ps(t, f4_, f5_);
                }
                if (res_f_) {
                    t = _mm512_add_ps(t, _mm512_loadu_ps(res_f_ + off));
                } else if (res_q_) {
                    const __m128i q8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(res_q_ + off));
                    const __m512i r = std::is_same_v<R, std::int8_t> ? _mm512_cvtepi8_epi32(q8) : _mm512_cvtepu8_epi32(q8);
                    __m512 d = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r, rz_)), rs_);
                    d = zoa::detail::fp_barrier(d);
                    t = _mm512_add_ps(t, d);
                }
                // vmaxps(a, b) = (a > b) ? a : b, so max(0, t) = (0 > t) ? 0 : t (−0 and NaN pass as in the scalar)
                if (relu_) t = _mm512_max_ps(_mm512_setzero_ps(), t);
                if constexpr (std::is_same_v<T, float>) {
                    _mm512_storeu_ps(dst, t);
                    return;
                } else {
                    const __m512 f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(t, inv_), lo_), hi_);
                    q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp_);  // MXCSR: half to even
                }
            } else {  // out_requant<T>
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(v, i0_)), f0_);
                f = _mm512_max_ps(_mm512_min_ps(f, hi_), lo_);
                q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp_);
            }
            if constexpr (!std::is_same_v<T, float>) {
                // the codes lie inside T's range, so the saturating narrowing is exact
                const __m128i b = std::is_same_v<T, std::int8_t> ? _mm512_cvtsepi32_epi8(q) : _mm512_cvtusepi32_epi8(q);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b);
            }
        }
    }

private:
    using T = std::remove_pointer_t<decltype(Stage::c)>;
    using R = residual_code_t<Stage>;
    T* c_;
    std::ptrdiff_t row_stride_;  // the row-major offset m·row_stride_ inline; grouped layouts through lay_
    bool grouped_;
    out_layout lay_;
    const float* res_f_ = nullptr;
    const R* res_q_ = nullptr;
    bool relu_ = false;
    __m512 f0_{}, f1_{}, f2_{}, f3_{}, f4_{}, f5_{}, rs_{}, inv_{}, lo_{}, hi_{};
    __m512i i0_{}, rz_{}, zp_{};
    bool has_bias_ = false, has_bn_ = false, has_mres_ = false;
};

}  // namespace zoa::kernels::x86

ZOA_DETAIL_AVX512_WARNINGS_END

#else

namespace zoa::kernels::x86 {
/// False: no 512-bit epilogue in this translation unit.
inline constexpr bool store512_compiled = false;
}  // namespace zoa::kernels::x86

#endif
