// zoa — PTQ4ViT calibration of a ViT: FP forward on calibration images, cached module inputs, the quant module's
// scale search per module (L2 by default; see the note on the Hessian metric), a calibrated models::vit<Policy>
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/activation.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/pack_f32.hpp"
#include "zoa/kernels/softmax.hpp"
#include "zoa/models/vit.hpp"
#include "zoa/quant/calib_modules.hpp"
#include "zoa/quant/presets.hpp"
#include "zoa/quant/ptq4vit_search.hpp"

namespace zoa::models {

/// Options of calibrate_ptq4vit. Search defaults are PTQ4ViT's (eq_alpha 0.01, eq_beta 1.2, eq_n 100, 3 rounds,
/// split candidates 2^−i, i < 20) except the metric: **L2**. PTQ4ViT's "hessian" metric weights errors by dL/dO of a
/// KL loss between the FP net and itself, which is numerical noise (spec §6 item 15) and zoa computes no gradients;
/// asking for search_metric::hessian here supplies zero gradients, so the quant module's zero-gradient guard switches
/// every module to L2 and the report counts the fallbacks (zero_grad_guard = false reproduces the reference's
/// degenerate "all scales 0.01 × max" outcome).
struct vit_calibration_options {
    std::size_t max_images = 32;  ///< calibration images used (the first ones of the batch); PTQ4ViT uses 32
    quant::search_options search = l2_search();  ///< the PTQ4ViT search options (metric L2 by default)
    quant::ptq4vit_options layers;               ///< the post-GELU / post-softmax twin switches (ablations)

    /// PTQ4ViT's search options with the L2 metric (the default above).
    template <class = void>
    static quant::search_options l2_search() {
        quant::search_options s;
        s.metric = quant::search_metric::l2;
        return s;
    }
};

/// What a calibration did.
struct calibration_report {
    std::size_t images = 0;       ///< calibration images used
    quant::search_report search;  ///< modules searched, Hessian → L2 fallbacks and their names
};

namespace detail {
/// o = a·wᵀ (+ bias) with the packed fp32 kernel (single-threaded: the search parallelises over candidates).
/// The modules call it once per sample with the same (fake-quantized) weights, so the packing is reused while the
/// weight values are unchanged (compared by content, never by address).
template <class = void>
inline void fast_gemm_nt(const float* a, const float* w, const float* bias, std::size_t rows, std::size_t cols,
                         std::size_t k, float* o) {
    thread_local kernels::packed_f32<default_arch> packed;
    thread_local std::vector<float> last;
    if (packed.n() != cols || packed.k() != k || std::memcmp(last.data(), w, cols * k * sizeof(float)) != 0) {
        packed.pack(w, cols, k, static_cast<std::ptrdiff_t>(k), 1);
        last.assign(w, w + cols * k);
    }
    kernels::gemm_f32(a, rows, static_cast<std::ptrdiff_t>(k), packed,
                      kernels::out_f32{o, kernels::row_major(static_cast<std::ptrdiff_t>(cols)), bias});
}

/// The PTQ4ViT quantizer spec of a ViT module for W-bit weights and A-bit activations (ptq4vit_layer at A bits,
/// weights of weighted modules at W bits).
template <class = void>
inline quant::layer_quant_spec vit_spec(quant::vit_layer layer, int weight_bits, int act_bits,
                                        const quant::ptq4vit_options& o) {
    quant::layer_quant_spec s = quant::ptq4vit_layer(layer, act_bits, o);
    if (s.kind == quant::module_kind::weighted) s.operand[0].bits = weight_bits;
    return s;
}
}  // namespace detail

/// PTQ4ViT calibration (spec §4.1, "parallel" mode: every module sees FP inputs) of the ViT with weights `w` on the
/// first min(N, max_images) normalized images [N, C, H, W]: runs the fp32 model once, block by block (memory is
/// bounded by one block's cached inputs), and searches every quantized module's scales with quant::ptq4vit_search
/// (modules: patch_embed.proj, blocks.{i}.attn.{qkv, matmul1, matmul2, proj}, blocks.{i}.mlp.{fc1, fc2}, head).
/// Threads: `threads` for the FP forward and the candidate evaluation; results are identical for any count.
/// Throws: zoa::error(shape) for images of the wrong size, zoa::error(argument) for an empty batch; search errors.
template <class Bits>
quant::model_quant_params calibrate_ptq4vit(const vit_weights& w, const xt::xtensor<float, 4>& images,
                                            const vit_calibration_options& opt = {}, calibration_report* report = nullptr,
                                            std::size_t threads = 1) {
    static_assert(quant::is_bit_width_v<Bits> && Bits::quantized, "zoa: calibrate_ptq4vit<Bits>: quantized Bits");
    require(images.shape(0) >= 1 && opt.max_images >= 1, error_code::argument,
            "calibrate_ptq4vit: no calibration images");
    vit<policy<fp32>> fp(w);
    fp.set_threads(threads);
    execution_context& ctx = fp.context();
    const vit_config& c = w.config;
    const std::size_t S = std::min<std::size_t>(images.shape(0), opt.max_images);
    const std::size_t D = c.embed_dim, N = c.num_patches(), T = c.tokens(), H = c.num_heads, hd = c.head_dim();
    const std::size_t Hd = c.mlp_hidden(), R = S * T, K = fp.patch_embed().patch_values();
    require(images.shape(1) == c.in_chans && images.shape(2) == c.img_size && images.shape(3) == c.img_size,
            error_code::shape, "calibrate_ptq4vit: images have shape [", images.shape(0), ", ", images.shape(1), ", ",
            images.shape(2), ", ", images.shape(3), "], expected [N, ", c.in_chans, ", ", c.img_size, ", ", c.img_size,
            "]");
    const int wb = Bits::weight_bits, ab = Bits::activation_bits;
    quant::search_options sopt = opt.search;
    if (!sopt.context) sopt.context = &ctx;
    const bool hessian = sopt.metric == quant::search_metric::hessian;
    quant::model_quant_params qp;
    calibration_report rep;
    rep.images = S;

    const auto search = [&](const std::string& name, auto& module) {
        module.set_gemm(&detail::fast_gemm_nt<void>);  // the specialization named: clang deduces nothing from a template name
        const quant::search_result r = quant::ptq4vit_search(module, sopt);
        rep.search.record(name, r);
        qp.modules[name] = r.params;
    };
    const auto grads = [&](std::size_t n) { return hessian ? std::vector<float>(n, 0.0f) : std::vector<float>(); };
    const auto vec = [](const float* p, std::size_t n) { return std::vector<float>(p, p + n); };
    const auto linear_search = [&](const std::string& name, const std::vector<float>& wt, const std::vector<float>& b,
                                   std::size_t out, std::size_t in, std::vector<float> x, std::size_t tokens,
                                   std::vector<float> raw, quant::vit_layer layer) {
        const quant::layer_quant_spec s = detail::vit_spec(layer, wb, ab, opt.layers);
        const std::size_t n = raw.size();
        quant::linear_module m(wt, b, out, in, std::move(x), S, tokens, s.operand[0], s.operand[1], std::move(raw),
                               grads(n));
        search(name, m);
    };

    // patch embedding: a linear over unfolded patches, per-channel weights, unquantized input
    std::vector<float> patches(S * N * K);
    fp.patch_embed().unfold(images.data(), S, patches.data(), ctx);
    std::vector<float> x(R * D);
    fp.embed(images.data(), S, nullptr, 0, x.data(), ctx);
    {
        std::vector<float> raw(S * N * D);
        fp.patch_embed().forward(images.data(), S, raw.data(), N * D, ctx);
        linear_search("patch_embed.proj", w.patch_w, w.patch_b, D, K, std::move(patches), N, std::move(raw),
                      quant::vit_layer::patch_embed);
    }

    std::vector<float> h(R * D), qkv(R * 3 * D), merged(R * D), out(R * D);
    for (std::size_t i = 0; i < c.depth; ++i) {
        const auto& blk = fp.blocks()[i];
        const vit_block_weights& bw = w.blocks[i];
        const std::string p = "blocks." + std::to_string(i) + ".";
        blk.norm1.forward(x.data(), R, h.data(), ctx);
        blk.attn.qkv().forward(h.data(), R, qkv.data(), ctx);
        linear_search(p + "attn.qkv", bw.qkv_w, bw.qkv_b, 3 * D, D, h, T, vec(qkv.data(), qkv.size()),
                      quant::vit_layer::qkv);
        // per-head operands [S, H, ...] of the two attention matmuls, and their FP products
        std::vector<float> q(S * H * T * hd), kt(S * H * hd * T), v(S * H * T * hd), s1(S * H * T * T),
            attn(S * H * T * T), s2(S * H * T * hd);
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t hh = 0; hh < H; ++hh)
                    for (std::size_t d = 0; d < hd; ++d) {
                        const float* row = qkv.data() + (s * T + t) * 3 * D + hh * hd + d;
                        const std::size_t sh = s * H + hh;
                        q[(sh * T + t) * hd + d] = row[0];
                        kt[(sh * hd + d) * T + t] = row[D];
                        v[(sh * T + t) * hd + d] = row[2 * D];
                    }
        ctx.parallel_for(S * H, [&](std::size_t i0, std::size_t i1) {
            kernels::packed_f32<default_arch> kp, vp;
            for (std::size_t sh = i0; sh < i1; ++sh) {
                const float* base = qkv.data() + (sh / H) * T * 3 * D + (sh % H) * hd;
                const auto ld = static_cast<std::ptrdiff_t>(3 * D);
                kp.pack(base + D, T, hd, ld, 1);
                kernels::gemm_f32(q.data() + sh * T * hd, T, static_cast<std::ptrdiff_t>(hd), kp,
                                  kernels::out_f32{s1.data() + sh * T * T, kernels::row_major(std::ptrdiff_t(T))});
                float* a = attn.data() + sh * T * T;
                for (std::size_t j = 0; j < T * T; ++j) a[j] = s1[sh * T * T + j] * blk.attn.scale();
                kernels::softmax(a, a, T, T, ctx);
                vp.pack(base + 2 * D, hd, T, 1, ld);
                kernels::gemm_f32(a, T, static_cast<std::ptrdiff_t>(T), vp,
                                  kernels::out_f32{s2.data() + sh * T * hd, kernels::row_major(std::ptrdiff_t(hd))});
            }
        });
        for (std::size_t s = 0; s < S; ++s)
            for (std::size_t hh = 0; hh < H; ++hh)
                for (std::size_t t = 0; t < T; ++t)
                    std::memcpy(merged.data() + (s * T + t) * D + hh * hd, s2.data() + ((s * H + hh) * T + t) * hd,
                                hd * sizeof(float));
        {
            const quant::layer_quant_spec s = detail::vit_spec(quant::vit_layer::matmul1, wb, ab, opt.layers);
            const std::size_t n = s1.size();
            quant::matmul_module m(std::move(q), std::move(kt), S, H, T, hd, T, s.operand[0], s.operand[1],
                                   std::move(s1), grads(n));
            search(p + "attn.matmul1", m);
        }
        {
            const quant::layer_quant_spec s = detail::vit_spec(quant::vit_layer::matmul2, wb, ab, opt.layers);
            const std::size_t n = s2.size();
            quant::matmul_module m(std::move(attn), std::move(v), S, H, T, T, hd, s.operand[0], s.operand[1],
                                   std::move(s2), grads(n));
            search(p + "attn.matmul2", m);
        }
        blk.attn.proj().forward(merged.data(), R, out.data(), ctx);
        linear_search(p + "attn.proj", bw.proj_w, bw.proj_b, D, D, merged, T, out, quant::vit_layer::proj);
        for (std::size_t j = 0; j < x.size(); ++j) x[j] += out[j];
        blk.norm2.forward(x.data(), R, h.data(), ctx);
        std::vector<float> f1(R * Hd);
        blk.mlp.fc1().forward(h.data(), R, f1.data(), ctx);
        linear_search(p + "mlp.fc1", bw.fc1_w, bw.fc1_b, Hd, D, h, T, f1, quant::vit_layer::fc1);
        kernels::gelu(f1.data(), f1.data(), f1.size(), ctx);
        blk.mlp.fc2().forward(f1.data(), R, out.data(), ctx);
        linear_search(p + "mlp.fc2", bw.fc2_w, bw.fc2_b, D, Hd, std::move(f1), T, out, quant::vit_layer::fc2);
        for (std::size_t j = 0; j < x.size(); ++j) x[j] += out[j];
    }
    std::vector<float> cls(S * D), f(S * D), logits(S * c.num_classes);
    for (std::size_t s = 0; s < S; ++s) std::memcpy(cls.data() + s * D, x.data() + s * T * D, D * sizeof(float));
    fp.norm().forward(cls.data(), S, f.data(), ctx);
    fp.head().forward(f.data(), S, logits.data(), ctx);
    linear_search("head", w.head_w, w.head_b, c.num_classes, D, std::move(f), 1, std::move(logits),
                  quant::vit_layer::head);
    if (report) *report = std::move(rep);
    return qp;
}

/// Calibrates (calibrate_ptq4vit) and builds the quantized model in one call: `auto q = calibrate_vit<zoa::ptq4vit<
/// zoa::w8a8>>(load_vit_weights("vit.safetensors"), images);`. The model uses `threads` threads afterwards too.
template <class Policy>
vit<Policy> calibrate_vit(const vit_weights& w, const xt::xtensor<float, 4>& images,
                          const vit_calibration_options& opt = {}, calibration_report* report = nullptr,
                          std::size_t threads = 1) {
    using bits = typename vit<Policy>::bits;
    static_assert(bits::quantized, "zoa: calibrate_vit<Policy>: Policy must have a quantized bit-width");
    const quant::model_quant_params qp = calibrate_ptq4vit<bits>(w, images, opt, report, threads);
    vit<Policy> m(w, &qp);
    m.set_threads(threads);
    return m;
}

}  // namespace zoa::models
