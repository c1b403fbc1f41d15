// zoa — multi-head self-attention (timm semantics), fp32 or PTQ4ViT-quantized (q/k/v per head, post-softmax twin)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/kernels/softmax.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::nn {

/// timm Attention over a batch of token sequences x [B, T, D] (rows contiguous), H heads of hd = D/H:
///   qkv = x·W_qkvᵀ + b_qkv, q/k/v(t, h, d) = qkv[t, s·D + h·hd + d] for s = 0/1/2;
///   per head: S = (q·kᵀ)·hd^−½, P = softmax_rows(S), O_h = P·v;  y = concat_h(O_h)·W_projᵀ + b_proj.
/// Quantized (Bits = bits<W, A>, PTQ4ViT, spec §4.1): qkv and proj are qlinear; q and k are quantized per head
/// BEFORE the hd^−½ scaling (matmul1: A = q, B = k, one Δ per head each), S = float(Σ qc·kc)·fl(Δq_h·Δk_h)·hd^−½
/// in fp32, softmax in fp32; P is quantized with the post-softmax twin (matmul2 A: high/low codes,
/// P̂ = high/q + low·Δ_low) or a uniform per-head quantizer, v per head (matmul2 B):
///   O_h = float(Σ high·vc)·fl(Δv_h/q) + float(Σ low·vc)·fl(Δ_low·Δv_h)   (two integer GEMMs per head).
/// Everything else (softmax, the scaling, biases) is fp32. fp32: a non-finite key or value of a head makes that
/// head's whole output NaN for the image (PyTorch gives NaN there too); NaN queries give NaN rows.
template <class Bits>
class attention {
public:
    /// nn::linear for fp32, nn::qlinear<Bits> when quantized.
    using linear_type = linear_for<Bits>;

    attention() = default;

    /// Requires: qkv maps D → 3D, proj D → D, D % heads == 0. For quantized Bits, matmul1 = {a: q, b: k} and
    /// matmul2 = {a: P, b: v} with 1 or `heads` scale groups (P: post-softmax twin or uniform).
    /// Throws: zoa::error(shape) naming `name` for inconsistent sizes, zoa::error(policy) for unsupported parameters.
    attention(linear_type qkv, linear_type proj, std::size_t heads, quant::module_params matmul1 = {},
              quant::module_params matmul2 = {}, const std::string& name = "attn")
        : qkv_(std::move(qkv)),
          proj_(std::move(proj)),
          heads_(heads),
          mm1_(std::move(matmul1)),
          mm2_(std::move(matmul2)) {
        dim_ = proj_.out_features();
        require(heads > 0 && dim_ % heads == 0, error_code::shape, name, ": embed dim ", dim_, " is not divisible by ",
                heads, " heads");
        require(qkv_.in_features() == dim_ && qkv_.out_features() == 3 * dim_ && proj_.in_features() == dim_,
                error_code::shape, name, ": qkv maps ", qkv_.in_features(), " -> ", qkv_.out_features(), " and proj ",
                proj_.in_features(), " -> ", dim_, ", expected D -> 3D and D -> D with D = ", dim_);
        head_dim_ = dim_ / heads;
        scale_ = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim_)));
        if constexpr (Bits::quantized) init_quant(name);
    }

    /// y [B·T × D] = attention(x [B·T × D]). Threads: the linears use ctx, the per-(image, head) work is split
    /// over ctx; results are bit-identical for any thread count.
    void forward(const float* x, std::size_t batch, std::size_t tokens, float* y, execution_context& ctx,
                 quant_exec mode = quant_exec::integer) const {
        const std::size_t rows = batch * tokens;
        if (rows == 0) return;
        float* const qkv = thread_scratch<float>(scratch_slot::layer_0, rows * 3 * dim_);
        float* const merged = thread_scratch<float>(scratch_slot::layer_1, rows * dim_);
        if constexpr (Bits::quantized) {
            qkv_.forward(x, rows, qkv, ctx, mode);
            const std::size_t n = rows * 3 * dim_;
            std::int8_t* const codes = thread_scratch<std::int8_t>(scratch_slot::layer_2, n);
            kernels::quantize_per_channel(qkv, codes, rows, 3 * heads_, head_dim_, qkv_scale_.data(), nullptr,
                                          int(a_range::min), int(a_range::max), ctx);
            if (mode == quant_exec::simulated) {
                for (std::size_t i = 0; i < n; ++i)
                    qkv[i] = static_cast<float>(codes[i]) * qkv_scale_[(i / head_dim_) % (3 * heads_)];
                core_f32(qkv, merged, batch, tokens, ctx, true);
            } else {
                core_q8(codes, merged, batch, tokens, ctx);
            }
            proj_.forward(merged, rows, y, ctx, mode);
        } else {
            (void)mode;
            qkv_.forward(x, rows, qkv, ctx);
            core_f32(qkv, merged, batch, tokens, ctx, false);
            proj_.forward(merged, rows, y, ctx);
        }
    }

    /// Sizes (D, heads, D/heads), the score scale hd^−½, the sub-layers, the matmul quantizers, and the bytes of
    /// packed integer weights.
    std::size_t dim() const noexcept { return dim_; }
    std::size_t heads() const noexcept { return heads_; }
    std::size_t head_dim() const noexcept { return head_dim_; }
    float scale() const noexcept { return scale_; }
    const linear_type& qkv() const noexcept { return qkv_; }
    const linear_type& proj() const noexcept { return proj_; }
    const quant::module_params& matmul1() const noexcept { return mm1_; }
    const quant::module_params& matmul2() const noexcept { return mm2_; }
    std::size_t packed_bytes() const noexcept { return qkv_.packed_bytes() + proj_.packed_bytes(); }
    /// Bytes of float parameters held (qkv and proj, and the per-head q/k/v code scales).
    std::size_t float_bytes() const noexcept {
        return qkv_.float_bytes() + proj_.float_bytes() + qkv_scale_.size() * sizeof(float);
    }

private:
    using a_range = quant::signed_range<Bits::quantized ? Bits::activation_bits : 8>;

    static float group_scale(const quant::quant_params& p, std::size_t h) { return p.scale[p.groups() == 1 ? 0 : h]; }

    void init_quant(const std::string& name) {
        const auto check_uniform = [&](const quant::quant_params& p, const char* what) {
            require(p.kind == quant::quantizer_kind::uniform && p.sch == quant::scheme::symmetric &&
                        (p.groups() == 1 || p.groups() == heads_) && p.bits == Bits::activation_bits,
                    error_code::policy, name, ".", what, ": expected a symmetric uniform ", Bits::activation_bits,
                    "-bit quantizer with 1 or ", heads_, " groups, got ", quant::to_string(p.kind), " with ",
                    p.groups(), " groups and ", p.bits, " bits");
            p.validate(name + "." + what);
        };
        require(mm1_.kind == quant::module_kind::matmul && mm2_.kind == quant::module_kind::matmul, error_code::policy,
                name, ": matmul1/matmul2 need a/b (matmul) quantizers");
        check_uniform(mm1_.a(), "matmul1.a_quant");
        check_uniform(mm1_.b(), "matmul1.b_quant");
        check_uniform(mm2_.b(), "matmul2.b_quant");
        if (mm2_.a().kind == quant::quantizer_kind::post_softmax_twin) {
            require(mm2_.a().bits == Bits::activation_bits, error_code::policy, name,
                    ".matmul2.a_quant: ", mm2_.a().bits, " bits, the policy has ", Bits::activation_bits);
            mm2_.a().validate(name + ".matmul2.a_quant");
        } else {
            check_uniform(mm2_.a(), "matmul2.a_quant");
        }
        qkv_scale_.resize(3 * heads_);
        for (std::size_t h = 0; h < heads_; ++h) {
            qkv_scale_[h] = group_scale(mm1_.a(), h);
            qkv_scale_[heads_ + h] = group_scale(mm1_.b(), h);
            qkv_scale_[2 * heads_ + h] = group_scale(mm2_.b(), h);
        }
    }

    // P̂ in place: the reference fake-quant of the probabilities of head h (post-softmax twin or uniform).
    void fake_quant_probs(float* p, std::size_t n, std::size_t h) const {
        const quant::quant_params& a = mm2_.a();
        if (a.kind == quant::quantizer_kind::post_softmax_twin) {
            for (std::size_t i = 0; i < n; ++i) p[i] = quant::fake_quant_post_softmax(p[i], a.split, a.bits);
        } else {
            const float s = group_scale(a, h);
            for (std::size_t i = 0; i < n; ++i) p[i] = quant::fake_quant_symmetric(p[i], s, a.qmin(), a.qmax());
        }
    }

    // True when the keys and values of one (image, head) are finite (k at base + D, v at base + 2D, row stride ld).
    bool finite_kv(const float* base, std::size_t T, std::size_t ld) const {
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t d = 0; d < head_dim_; ++d)
                if (!std::isfinite(base[t * ld + dim_ + d]) || !std::isfinite(base[t * ld + 2 * dim_ + d]))
                    return false;
        return true;
    }

    // Float attention core on qkv [B·T × 3D] → merged [B·T × D]; `quantized_probs` applies the matmul2 A
    // fake-quant (simulated path; qkv already holds fake-quantized q/k/v).
    void core_f32(const float* qkv, float* merged, std::size_t batch, std::size_t tokens, execution_context& ctx,
                  bool quantized_probs) const {
        const std::size_t T = tokens, hd = head_dim_, D = dim_;
        const auto ld = static_cast<std::ptrdiff_t>(3 * D);
        ctx.parallel_for(batch * heads_, [&](std::size_t i0, std::size_t i1) {
            kernels::packed_f32<default_arch> kp, vp;
            aligned_buffer<float> s(T * T);
            for (std::size_t i = i0; i < i1; ++i) {
                const std::size_t b = i / heads_, h = i % heads_;
                const float* base = qkv + b * T * 3 * D + h * hd;
                if (!finite_kv(base, T, 3 * D)) {  // as PyTorch: a NaN/Inf key or value poisons every output row
                    for (std::size_t t = 0; t < T; ++t)
                        for (std::size_t d = 0; d < hd; ++d)
                            merged[(b * T + t) * D + h * hd + d] = std::numeric_limits<float>::quiet_NaN();
                    continue;
                }
                kp.pack(base + D, T, hd, ld, 1);
                kernels::gemm_f32(base, T, ld, kp, kernels::out_f32{s.data(), kernels::row_major(std::ptrdiff_t(T))});
                for (std::size_t j = 0; j < T * T; ++j) s[j] *= scale_;
                kernels::softmax(s.data(), s.data(), T, T, ctx);
                if (quantized_probs) fake_quant_probs(s.data(), T * T, h);
                vp.pack(base + 2 * D, hd, T, 1, ld);
                kernels::gemm_f32(
                    s.data(), T, static_cast<std::ptrdiff_t>(T), vp,
                    kernels::out_f32{merged + b * T * D + h * hd, kernels::row_major(static_cast<std::ptrdiff_t>(D))});
            }
        });
    }

    // The post-softmax twin codes of n probabilities (no NaN): exactly quant::encode_post_softmax per element,
    //   high = clamp(round(clamp(p, split, 1)·q), 0, q),  low = clamp(round(clamp(p, 0, split) / Δ_low), 0, q),
    // with q = 2^(b−1) − 1 and round = round-half-even (nearbyint in the default rounding mode), on SIMD vectors
    // (clamping to the integer bounds before or after rounding gives the same integer).
    static void encode_softmax_twin(const float* p, std::size_t n, float split, int bits, std::int8_t* hi,
                                    std::int8_t* lo) {
        using fb = xsimd::batch<float, default_arch>;
        constexpr std::size_t w = fb::size;
        const float q = static_cast<float>((1 << (bits - 1)) - 1), low_scale = quant::post_softmax_low_scale(split, bits);
        const fb vs(split), v1(1.0f), v0(0.0f), vq(q), vl(low_scale);
        std::size_t j = 0;
        for (; j + w <= n; j += w) {
            const fb x = fb::load_unaligned(p + j);
            const fb h = xsimd::min(xsimd::max(xsimd::min(xsimd::max(x, vs), v1) * vq, v0), vq);
            const fb l =
                xsimd::min(xsimd::max(kernels::detail::divide(xsimd::min(xsimd::max(x, v0), vs), vl), v0), vq);
            kernels::detail::store_narrow<default_arch, std::int8_t>(xsimd::nearbyint_as_int(h), hi + j);
            kernels::detail::store_narrow<default_arch, std::int8_t>(xsimd::nearbyint_as_int(l), lo + j);
        }
        for (; j < n; ++j) {
            const quant::softmax_twin_codes c = quant::encode_post_softmax(p[j], split, bits);
            hi[j] = static_cast<std::int8_t>(c.high);
            lo[j] = static_cast<std::int8_t>(c.low);
        }
    }

    // True when some p[i], i < n, is NaN (SIMD).
    static bool any_nan(const float* p, std::size_t n) {
        using fb = xsimd::batch<float, default_arch>;
        constexpr std::size_t w = fb::size;
        auto seen = fb(0.0f) != fb(0.0f);
        std::size_t j = 0;
        for (; j + w <= n; j += w) seen = seen | xsimd::isnan(fb::load_unaligned(p + j));
        bool tail = false;
        for (; j < n; ++j) tail = tail || std::isnan(p[j]);
        return tail || xsimd::any(seen);
    }

    // Integer attention core on the per-head codes of q/k/v (qkv layout) → merged [B·T × D].
    void core_q8(const std::int8_t* codes, float* merged, std::size_t batch, std::size_t tokens,
                 execution_context& ctx) const {
        const std::size_t T = tokens, hd = head_dim_, D = dim_, H = heads_;
        const auto ld = static_cast<std::ptrdiff_t>(3 * D);
        const quant::quant_params& a = mm2_.a();
        const bool twin = a.kind == quant::quantizer_kind::post_softmax_twin;
        ctx.parallel_for(batch * H, [&](std::size_t i0, std::size_t i1) {
            thread_local kernels::packed_q8<a_range, a_range> kp, vp;  // repacked per head, storage reused
            float* const s = thread_scratch<float>(scratch_slot::head_0, T * T);
            std::int8_t* const hi = thread_scratch<std::int8_t>(scratch_slot::head_1, T * T);
            std::int8_t* const lo = thread_scratch<std::int8_t>(scratch_slot::head_2, T * T);
            std::int32_t* const acc_hi = thread_scratch<std::int32_t>(scratch_slot::head_3, T * hd);
            std::int32_t* const acc_lo = thread_scratch<std::int32_t>(scratch_slot::head_4, T * hd);
            for (std::size_t i = i0; i < i1; ++i) {
                const std::size_t b = i / H, h = i % H;
                const std::int8_t* base = codes + b * T * 3 * D + h * hd;
                const float dq = qkv_scale_[h], dk = qkv_scale_[H + h], dv = qkv_scale_[2 * H + h];
                kp.pack(base + D, T, hd, ld, 1);
                kernels::gemm_q8<a_range, a_range>(
                    base, T, ld, 0, kp,
                    kernels::out_dequant{s, kernels::row_major(std::ptrdiff_t(T)), dq, &dk, 1});
                for (std::size_t j = 0; j < T * T; ++j) s[j] *= scale_;
                kernels::softmax(s, s, T, T, ctx);
                require(!any_nan(s, T * T), error_code::numeric, "attention: NaN attention probability (image ", b, ", head ", h,
                        "); integer codes cannot carry NaN");
                vp.pack(base + 2 * D, hd, T, 1, ld);
                float* out = merged + b * T * D + h * hd;
                const auto out_layout = kernels::row_major(static_cast<std::ptrdiff_t>(D));
                if (!twin) {
                    const float da = group_scale(a, h);
                    for (std::size_t j = 0; j < T * T; ++j)
                        hi[j] = static_cast<std::int8_t>(quant::encode_symmetric(s[j], da, a.qmin(), a.qmax()));
                    kernels::gemm_q8<a_range, a_range>(hi, T, std::ptrdiff_t(T), 0, vp,
                                                       kernels::out_dequant{out, out_layout, da, &dv, 1});
                    continue;
                }
                encode_softmax_twin(s, T * T, a.split, a.bits, hi, lo);
                const auto acc_layout = kernels::row_major(static_cast<std::ptrdiff_t>(hd));
                kernels::gemm_q8<a_range, a_range>(hi, T, std::ptrdiff_t(T), 0, vp,
                                                   kernels::out_i32{acc_hi, acc_layout});
                kernels::gemm_q8<a_range, a_range>(lo, T, std::ptrdiff_t(T), 0, vp,
                                                   kernels::out_i32{acc_lo, acc_layout});
                const float q = static_cast<float>((1 << (a.bits - 1)) - 1);
                const float s_hi = dv / q, s_lo = a.scale[0] * dv;
                for (std::size_t t = 0; t < T; ++t)
                    for (std::size_t d = 0; d < hd; ++d) {
                        const float u = static_cast<float>(acc_hi[t * hd + d]) * s_hi;
                        const float w = static_cast<float>(acc_lo[t * hd + d]) * s_lo;
                        out[t * D + d] = u + w;
                    }
            }
        });
    }

    linear_type qkv_, proj_;
    std::size_t heads_ = 1, dim_ = 0, head_dim_ = 0;
    float scale_ = 1.0f;
    quant::module_params mm1_, mm2_;
    std::vector<float> qkv_scale_;  // quantized: [Δq_h..., Δk_h..., Δv_h...]
};

}  // namespace zoa::nn

ZOA_DETAIL_AVX512_WARNINGS_END
