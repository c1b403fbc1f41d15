// zoa — packing of quantized GEMM weights into zoa's panel layout (once at load, or per call for attention)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/kernels/operand_range.hpp"
#include "zoa/kernels/arm/pack_q8_neon.hpp"
#include "zoa/kernels/x86/pack_q8_avx2.hpp"

namespace zoa::kernels {

/// Weights W (N x K, W(n,k) = w[n*stride_n + k*stride_k], PyTorch Linear layout is stride_n = K, stride_k = 1)
/// repacked for gemm_q8 with activations in ARange and weights in WRange.
///
/// The layout depends on plan = q8_plan_for<ARange, WRange, Arch> (so gemm_q8 takes Arch from the packed weights).
/// N is split into panels of nr = 16 columns (zero-padded), K is zero-padded to k_padded() (a multiple of
/// plan::k_step). Inside a panel, with g = plan::k_group (4; 8 for the AArch64 i8mm plan):
///   byte layout (plan::bytes):  int8 w_s = w - w_offset at byte     (k/g)*16g + c*g + k%g   (c = column in panel)
///   int16 layout:               int16 (w - zw[n])       at element  (k/2)*32 + c*2 + k%2
/// so one k-quad (k-pair) of 16 columns is 64 contiguous bytes = two 256-bit vectors (x86), four 128-bit SDOT
/// operands of 4 columns (AArch64); one k octet (i8mm) is eight SMMLA operands of 2 columns x 8 k.
/// Column data (padded to panels*16): col_sums()[n] = sum_k w_s[n,k]; centred_zero_points()[n] = zw[n] - w_offset
/// (byte layout; the int16 layout bakes zw into the weights).
/// Packing costs O(N*K) and reuses the storage, so attention can repack K/V per head cheaply.
template <class ARange, class WRange, class Arch = q8_default_arch>
class packed_q8 {
public:
    /// The arithmetic plan (layout, offsets, depth), the ranges, the target arch, the weight storage type and the panel
    /// width nr = 16 columns.
    using plan = q8_plan_for<ARange, WRange, Arch>;
    using a_range = ARange;
    using w_range = WRange;
    using arch = Arch;
    using w_storage = typename WRange::storage;
    static constexpr std::size_t nr = 16;

    packed_q8() = default;

    /// Packs at construction; see pack().
    packed_q8(const w_storage* w, std::size_t n, std::size_t k, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k,
              const std::int32_t* zero_points = nullptr, std::size_t zero_point_count = 0) {
        pack(w, n, k, stride_n, stride_k, zero_points, zero_point_count);
    }

    /// (Re)packs W. zero_points: null/count 0 -> all 0 (symmetric), count 1 -> per tensor, count n -> per channel.
    /// Throws: zoa::error(argument) for empty shapes, K > plan::max_k, bad zero-point count or a zero point
    /// outside WRange; zoa::error(numeric) for a weight outside WRange (message names (n, k) and the value).
    void pack(const w_storage* w, std::size_t n, std::size_t k, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k,
              const std::int32_t* zero_points = nullptr, std::size_t zero_point_count = 0) {
        require(w != nullptr && n > 0 && k > 0, error_code::argument, "packed_q8: empty weights (n = ", n,
                ", k = ", k, ")");
        require(static_cast<long>(k) <= plan::max_k, error_code::argument, "packed_q8: K = ", k,
                " exceeds the exact-int32 bound ", plan::max_k, " for these ranges");
        require(zero_point_count == 0 || zero_point_count == 1 || zero_point_count == n, error_code::argument,
                "packed_q8: expected 0, 1 or N = ", n, " weight zero points, got ", zero_point_count);
        require(zero_point_count == 0 || zero_points != nullptr, error_code::argument,
                "packed_q8: zero_points is null but zero_point_count = ", zero_point_count);
        n_ = n;
        k_ = k;
        slice_len_ = 0;
        kp_ = (k + plan::k_step - 1) / plan::k_step * plan::k_step;
        panels_ = (n + nr - 1) / nr;
        const std::size_t elem = plan::bytes ? 1 : 2;
        data_.ensure(panels_ * kp_ * nr * elem);
        col_sums_.ensure(panels_ * nr);
        zw_.ensure(panels_ * nr);
        has_zero_point_ = false;
        for (std::size_t j = 0; j < panels_ * nr; ++j) {
            std::int32_t zw = 0;
            if (j < n && zero_point_count) {
                zw = zero_points[zero_point_count == 1 ? 0 : j];
                require(zw >= plan::w_min && zw <= plan::w_max, error_code::argument, "packed_q8: weight zero point[",
                        j, "] = ", zw, " outside [", plan::w_min, ", ", plan::w_max, "]");
            }
            zw_[j] = j < n ? zw - plan::w_offset : 0;
            if (zw_[j] != 0) has_zero_point_ = true;
        }
        std::memset(data_.data(), 0, panels_ * kp_ * nr * elem);  // padding (k >= K, n >= N) is zero
        for (std::size_t j = 0; j < panels_ * nr; ++j) col_sums_[j] = 0;
        if (!pack_fast(w, stride_n, stride_k)) {
            int mn = plan::w_min, mx = plan::w_max;
            pack_scalar(w, 0, n, 0, k, stride_n, stride_k, true, mn, mx);
        }
    }

    /// Columns N, depth K, K padded to plan::k_step, 16-column panels, and whether nothing is packed.
    std::size_t n() const noexcept { return n_; }
    std::size_t k() const noexcept { return k_; }
    std::size_t k_padded() const noexcept { return kp_; }
    std::size_t panels() const noexcept { return panels_; }
    bool empty() const noexcept { return n_ == 0; }
    /// True when some column has a nonzero centred zero point (the kernels then need row sums of A).
    bool has_zero_point() const noexcept { return has_zero_point_; }

    /// Panel p (byte layout): kp * 16 int8.
    const std::int8_t* panel_s8(std::size_t p) const noexcept {
        return reinterpret_cast<const std::int8_t*>(data_.data()) + p * kp_ * nr;
    }
    /// Panel p (int16 layout): kp * 16 int16.
    const std::int16_t* panel_s16(std::size_t p) const noexcept {
        return reinterpret_cast<const std::int16_t*>(data_.data()) + p * kp_ * nr;
    }
    /// Per-column data (panels·16 entries): Σ_k w_s[n, k] and the centred zero points zw[n] − w_offset.
    const std::int32_t* col_sums() const noexcept { return col_sums_.data(); }
    const std::int32_t* centred_zero_points() const noexcept { return zw_.data(); }
    /// Column sums of the depth slices [s·len, (s + 1)·len) of the byte layout: slice_col_sums(s)[j] =
    /// Σ_{k in slice s} w_s[j, k] (panels·16 entries per slice; pack_conv2d_q8 indexes one slice per tap, len = C,
    /// for conv2d_q8_nhwc's depth windows). index_slices(len) computes them in O(N·K) (len: a multiple of plan::k_step that divides K; the int16
    /// layout needs no sums and keeps none); slice_len() is 0 before it and after every pack().
    void index_slices(std::size_t len) {
        require(!empty() && len > 0 && len % plan::k_step == 0 && k_ % len == 0, error_code::argument,
                "packed_q8::index_slices: slice length ", len, " is not a multiple of ", plan::k_step,
                " dividing K = ", k_);
        slice_len_ = len;
        if constexpr (plan::bytes) {
            const std::size_t slices = k_ / len;
            constexpr std::size_t g = static_cast<std::size_t>(plan::k_group);
            slice_sums_.ensure(slices * panels_ * nr);
            for (std::size_t sl = 0; sl < slices; ++sl)
                for (std::size_t p = 0; p < panels_; ++p)
                    for (std::size_t c = 0; c < nr; ++c) {
                        std::int32_t sum = 0;
                        for (std::size_t kk = sl * len; kk < (sl + 1) * len; ++kk)
                            sum += panel_s8(p)[(kk / g) * nr * g + c * g + kk % g];
                        slice_sums_[(sl * panels_ + p) * nr + c] = sum;
                    }
        }
    }
    std::size_t slice_len() const noexcept { return slice_len_; }
    const std::int32_t* slice_col_sums(std::size_t s) const noexcept { return slice_sums_.data() + s * panels_ * nr; }
    /// The weight code W(n, k) that was packed (n < n(), k < k()), read back from the layout.
    int weight_code(std::size_t n, std::size_t k) const noexcept {
        const std::size_t p = n / nr, c = n % nr;
        constexpr std::size_t g = static_cast<std::size_t>(plan::k_group);
        if constexpr (plan::bytes) return panel_s8(p)[(k / g) * nr * g + c * g + k % g] + plan::w_offset;
        else return panel_s16(p)[(k / 2) * 32 + c * 2 + k % 2] + zw_[n] + plan::w_offset;
    }
    /// Bytes held (weights + per-column data).
    std::size_t bytes() const noexcept {
        return data_.size() + (col_sums_.size() + zw_.size() + (slice_len_ ? slice_sums_.size() : 0)) * 4;
    }

private:
    static constexpr bool needs_range_check = plan::w_min != int(std::numeric_limits<w_storage>::min()) ||
                                              plan::w_max != int(std::numeric_limits<w_storage>::max());

    /// W(n,k) for n in [n0, n1), k in [k0, k1) element by element, tracking the codes' min/max; with `check`, a
    /// code outside WRange throws zoa::error(numeric) naming (n, k).
    void pack_scalar(const w_storage* w, std::size_t n0, std::size_t n1, std::size_t k0, std::size_t k1,
                     std::ptrdiff_t stride_n, std::ptrdiff_t stride_k, bool check, int& mn, int& mx) {
        for (std::size_t j = n0; j < n1; ++j) {
            const std::size_t p = j / nr, c = j % nr;
            for (std::size_t kk = k0; kk < k1; ++kk) {
                const int v = w[static_cast<std::ptrdiff_t>(j) * stride_n + static_cast<std::ptrdiff_t>(kk) * stride_k];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
                if (needs_range_check && check && (v < plan::w_min || v > plan::w_max))
                    fail(error_code::numeric, "packed_q8: weight (", j, ", ", kk, ") = ", v, " outside [", plan::w_min,
                         ", ", plan::w_max, "]");
                if constexpr (plan::bytes) {
                    const int ws = v - plan::w_offset;
                    col_sums_[j] += ws;
                    constexpr std::size_t g = static_cast<std::size_t>(plan::k_group);
                    reinterpret_cast<std::int8_t*>(data_.data())[p * kp_ * nr + (kk / g) * nr * g + c * g + kk % g] =
                        static_cast<std::int8_t>(ws);
                } else {
                    reinterpret_cast<std::int16_t*>(data_.data())[p * kp_ * nr + (kk / 2) * 32 + c * 2 + kk % 2] =
                        static_cast<std::int16_t>(v - (zw_[j] + plan::w_offset));
                }
            }
        }
    }

    /// SIMD packing of k-contiguous (stride_k == 1) or n-contiguous (stride_n == 1) sources (AVX2 on x86, NEON on
    /// AArch64); false when not applicable or when a code is outside WRange (the caller then repacks element by
    /// element and throws).
    bool pack_fast(const w_storage* w, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k) {
#if defined(__AVX2__)
        if constexpr (plan::k_group == 4) {
            using bounds = x86::code_bounds<w_storage>;
            return pack_fast_with<bounds>(
                w, stride_n, stride_k,
                [&](const w_storage* col, std::size_t kfull, std::size_t j, bounds& b) {
                    std::uint8_t* panel = data_.data() + (j / nr) * kp_ * nr * (plan::bytes ? 1 : 2);
                    if constexpr (plan::bytes)
                        col_sums_[j] = static_cast<std::int32_t>(x86::bytes_column(
                            col, kfull, plan::w_offset, reinterpret_cast<std::int8_t*>(panel) + (j % nr) * 4, b));
                    else
                        x86::s16_column(col, kfull, zw_[j] + plan::w_offset,
                                        reinterpret_cast<std::int16_t*>(panel) + (j % nr) * 2, b);
                },
                [&](const w_storage* src, std::size_t kfull, std::size_t p, bounds& b) {
                    if constexpr (plan::bytes) {
                        x86::bytes_panel(src, stride_k, kfull, plan::w_offset,
                                         reinterpret_cast<std::int8_t*>(data_.data()) + p * kp_ * nr,
                                         col_sums_.data() + p * nr, b);
                    } else {
                        std::int32_t z[nr];
                        for (std::size_t c = 0; c < nr; ++c) z[c] = zw_[p * nr + c] + plan::w_offset;
                        x86::s16_panel(src, stride_k, kfull, z,
                                       reinterpret_cast<std::int16_t*>(data_.data()) + p * kp_ * nr, b);
                    }
                });
        }
#elif defined(__aarch64__) && defined(__ARM_NEON)
        if constexpr (plan::neon_level >= 0) {
            using bounds = arm::code_bounds<w_storage>;
            constexpr int g = plan::k_group;
            return pack_fast_with<bounds>(
                w, stride_n, stride_k,
                [&](const w_storage* col, std::size_t kfull, std::size_t j, bounds& b) {
                    std::int8_t* panel = reinterpret_cast<std::int8_t*>(data_.data()) + (j / nr) * kp_ * nr;
                    col_sums_[j] = static_cast<std::int32_t>(
                        arm::bytes_column<g>(col, kfull, plan::w_offset, panel + (j % nr) * g, b));
                },
                [&](const w_storage* src, std::size_t kfull, std::size_t p, bounds& b) {
                    arm::bytes_panel<g>(src, stride_k, kfull, plan::w_offset,
                                        reinterpret_cast<std::int8_t*>(data_.data()) + p * kp_ * nr,
                                        col_sums_.data() + p * nr, b);
                });
        }
#endif
        (void)w, (void)stride_n, (void)stride_k;
        return false;
    }

    /// The loops of pack_fast around an ISA's column and panel packers: k-contiguous columns take column(src, kfull,
    /// j, bounds) for the first kfull = K rounded down to 16 codes, n-contiguous full panels take panel(src, kfull, p,
    /// bounds) for kfull = K rounded down to a k group; pack_scalar does the rest. Checks the codes' range at the end.
    template <class Bounds, class Column, class Panel>
    bool pack_fast_with(const w_storage* w, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k, Column&& column,
                        Panel&& panel) {
        Bounds b;
        int mn = plan::w_min, mx = plan::w_max;  // bounds of the codes packed by the scalar remainders
        if (stride_k == 1) {
            const std::size_t kfull = k_ / 16 * 16;
            for (std::size_t j = 0; j < n_; ++j) column(w + static_cast<std::ptrdiff_t>(j) * stride_n, kfull, j, b);
            pack_scalar(w, 0, n_, kfull, k_, stride_n, 1, false, mn, mx);
        } else if (stride_n == 1) {
            constexpr std::size_t group = plan::bytes ? static_cast<std::size_t>(plan::k_group) : 2;
            const std::size_t full = n_ / nr, kfull = k_ / group * group;
            for (std::size_t p = 0; p < full; ++p) panel(w + p * nr, kfull, p, b);
            pack_scalar(w, 0, full * nr, kfull, k_, 1, stride_k, false, mn, mx);
            pack_scalar(w, full * nr, n_, 0, k_, 1, stride_k, false, mn, mx);
        } else {
            return false;
        }
        if (needs_range_check) {
            if (!b.inside(plan::w_min, plan::w_max) || mn < plan::w_min || mx > plan::w_max) {
                std::memset(data_.data(), 0, panels_ * kp_ * nr * (plan::bytes ? 1 : 2));
                for (std::size_t j = 0; j < panels_ * nr; ++j) col_sums_[j] = 0;
                return false;
            }
        }
        return true;
    }

    aligned_buffer<std::uint8_t> data_;
    aligned_buffer<std::int32_t> col_sums_, zw_, slice_sums_;
    std::size_t n_ = 0, k_ = 0, kp_ = 0, panels_ = 0, slice_len_ = 0;
    bool has_zero_point_ = false;
};

}  // namespace zoa::kernels
