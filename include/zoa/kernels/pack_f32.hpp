// zoa — packing of fp32 GEMM weights into panels of 2 SIMD vectors (once at load)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"

namespace zoa::kernels {

/// Weights W (N x K, W(n,k) = w[n*stride_n + k*stride_k]; PyTorch Linear: stride_n = K, stride_k = 1) packed for
/// gemm_f32<Arch>: panels of nr = 2 * batch<float, Arch>::size columns (zero-padded), panel p holds
/// W(p*nr + c, k) at float index k*nr + c (K rows of nr contiguous floats).
/// Throws: zoa::error(argument) for empty shapes, zoa::error(numeric) for NaN/Inf weights.
template <class Arch = default_arch>
class packed_f32 {
public:
    /// Panel width: two SIMD registers of floats.
    static constexpr std::size_t nr = 2 * xsimd::batch<float, Arch>::size;

    packed_f32() = default;
    /// Packs W at construction (see pack()).
    packed_f32(const float* w, std::size_t n, std::size_t k, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k) {
        pack(w, n, k, stride_n, stride_k);
    }

    /// (Re)packs W, reusing the storage. Throws: zoa::error(argument) for a null w or n, k == 0; zoa::error(numeric)
    /// naming (n, k) for a NaN/Inf weight.
    void pack(const float* w, std::size_t n, std::size_t k, std::ptrdiff_t stride_n, std::ptrdiff_t stride_k) {
        require(w != nullptr && n > 0 && k > 0, error_code::argument, "packed_f32: empty weights (n = ", n, ", k = ", k,
                ")");
        n_ = n;
        k_ = k;
        panels_ = (n + nr - 1) / nr;
        data_.ensure(panels_ * k * nr);
        for (std::size_t p = 0; p < panels_; ++p) {
            float* dst = data_.data() + p * k * nr;
            for (std::size_t c = 0; c < nr; ++c) {
                const std::size_t j = p * nr + c;
                for (std::size_t kk = 0; kk < k; ++kk) {
                    float v = 0.0f;
                    if (j < n) {
                        v = w[static_cast<std::ptrdiff_t>(j) * stride_n + static_cast<std::ptrdiff_t>(kk) * stride_k];
                        if (!std::isfinite(v))
                            fail(error_code::numeric, "packed_f32: weight (", j, ", ", kk, ") is not finite: ", v);
                    }
                    dst[kk * nr + c] = v;
                }
            }
        }
    }

    /// Columns N, depth K, panels, emptiness, panel p's K·nr floats, and the bytes held.
    std::size_t n() const noexcept { return n_; }
    std::size_t k() const noexcept { return k_; }
    std::size_t panels() const noexcept { return panels_; }
    bool empty() const noexcept { return n_ == 0; }
    const float* panel(std::size_t p) const noexcept { return data_.data() + p * k_ * nr; }
    std::size_t bytes() const noexcept { return data_.size() * sizeof(float); }

private:
    aligned_buffer<float> data_;
    std::size_t n_ = 0, k_ = 0, panels_ = 0;
};

}  // namespace zoa::kernels
