// zoa — Vision Transformer (timm semantics) as models::vit<Policy>: fp32 or PTQ4ViT-quantized from one definition,
// with the adaptation hooks (adapted LayerNorms, per-block CLS features, embedding statistics, FOA prompts)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/kernels/statistics.hpp"
#include "zoa/models/precision.hpp"
#include "zoa/models/vit_config.hpp"
#include "zoa/models/vit_weights.hpp"
#include "zoa/nn/attention.hpp"
#include "zoa/nn/layer_norm.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/mlp.hpp"
#include "zoa/nn/patch_embed.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/presets.hpp"

namespace zoa::models {

/// Bytes a model holds and needs per forward.
struct memory_report {
    std::size_t packed_weight_bytes = 0;  ///< GEMM-ready weights (fp32 panels, or int8/int16 code panels + codes)
    std::size_t float_param_bytes = 0;    ///< fp32 parameters kept: LayerNorms, biases, cls/pos, scales
    std::size_t scratch_bytes = 0;        ///< peak temporary buffers of one forward at the given batch size
    /// Sum of the three.
    std::size_t total() const noexcept { return packed_weight_bytes + float_param_bytes + scratch_bytes; }
};

/// The PTQ4ViT module names of a ViT (the keys of its quant::model_quant_params), in calibration order.
inline std::vector<std::string> vit_quant_modules(std::size_t depth) {
    std::vector<std::string> v = {"patch_embed.proj"};
    for (std::size_t i = 0; i < depth; ++i)
        for (const char* m : {".attn.qkv", ".attn.matmul1", ".attn.matmul2", ".attn.proj", ".mlp.fc1", ".mlp.fc2"})
            v.push_back("blocks." + std::to_string(i) + m);
    v.push_back("head");
    return v;
}

/// A Vision Transformer (timm VisionTransformer, class token, spec §1.1) for Policy = zoa::policy<...>:
/// the bit-width axis selects fp32 (zoa::fp32) or PTQ4ViT quantization (zoa::w8a8 / w6a6 / w4a4 / bits<W,A>, the
/// per-layer table of spec §4.1; LayerNorms, GELU, softmax, residuals, biases, cls/pos stay fp32). Topology is the
/// runtime vit_config. The model is immutable after construction (except the thread context, the adapted-block set
/// and the execution mode); const members may be called from several threads.
///
/// Adaptation (zoa::adapt::is_adaptable_v<vit, xt::xtensor<float, 4>>): layout() lists blocks.{i}.norm1 and norm2
/// of the adapted blocks (default_adapted_blocks); feature group i < depth−1 is the class token after block i passed
/// through blocks[i+1].norm1 (with the request's affine parameters when that norm is adapted), the last group is the
/// final `norm` of the class token; logits = head(last group). Embedding statistics: per-dim mean and unbiased
/// variance over (batch, patch tokens) after the position embedding. FOA prompts (k × D floats) are inserted right
/// after the class token, without position embedding. All of it comes from one forward pass.
template <class Policy>
class vit {
    static_assert(is_policy_v<Policy>, "zoa: models::vit<Policy>: Policy must be a zoa::policy<...>");
    using qconfig = quant::quant_config<Policy>;
    static_assert(!qconfig::quantized || (qconfig::weight_scheme == quant::scheme::symmetric &&
                                          qconfig::activation_scheme == quant::scheme::symmetric),
                  "zoa: models::vit quantizes with PTQ4ViT, which is symmetric: use zoa::ptq4vit<Bits> or "
                  "zoa::policy<Bits>");

public:
    /// The policy, its bit-width option, whether the model is integer-quantized, and the linear layer type
    /// (nn::linear for fp32, nn::qlinear<bits> otherwise).
    using policy_type = Policy;
    /// The adaptation family (ZOA's LayerNorm/ViT loss form and options; zoa_options::paper<vit<P>>() reads it).
    static constexpr adapt::model_family family = adapt::model_family::vit;
    using bits = typename qconfig::bit_width;
    static constexpr bool quantized = bits::quantized;
    using linear_type = nn::linear_for<bits>;

    /// One transformer block: x = x + attn(norm1(x)); x = x + mlp(norm2(x)).
    struct block {
        nn::layer_norm norm1;      ///< before attention (adapted in adapted_blocks())
        nn::attention<bits> attn;  ///< multi-head self-attention
        nn::layer_norm norm2;      ///< before the MLP (adapted in adapted_blocks())
        nn::mlp<bits> mlp;         ///< fc1 → GELU → fc2
    };

    /// Builds the model from loaded weights; a quantized model takes its quantizer parameters from `qp` (or, when
    /// qp is null, from w.quant, i.e. the file's calibrated parameters).
    /// Throws: zoa::error(policy) when a quantized model lacks parameters for a module (not calibrated: see
    /// models::calibrate_vit) or they do not fit the policy; zoa::error(shape) for inconsistent weights.
    explicit vit(const vit_weights& w, const quant::model_quant_params* qp = nullptr)
        : cfg_(w.config), metadata_(w.metadata), ctx_(std::make_shared<execution_context>(1)) {
        cfg_.validate();
        const quant::model_quant_params& params = qp ? *qp : w.quant;
        const auto module = [&params](const std::string& name) { return find_module(params, name); };
        const std::size_t D = cfg_.embed_dim, Hd = cfg_.mlp_hidden();
        patch_ = nn::patch_embed<bits>(w.patch_w, w.patch_b, D, cfg_.in_chans, cfg_.patch_size, cfg_.img_size,
                                       module("patch_embed.proj"));
        cls_ = w.cls_token;
        pos_ = w.pos_embed;
        blocks_ = std::vector<block>(cfg_.depth);  // built in place: no block is moved (less code to compile)
        for (std::size_t i = 0; i < cfg_.depth; ++i) {
            const vit_block_weights& b = w.blocks[i];
            const std::string p = "blocks." + std::to_string(i) + ".";
            block& blk = blocks_[i];
            blk.norm1 = nn::layer_norm(b.norm1_w, b.norm1_b, static_cast<float>(cfg_.ln_eps), p + "norm1");
            blk.attn = nn::attention<bits>(make_linear(b.qkv_w, b.qkv_b, 3 * D, D, module, p + "attn.qkv"),
                                           make_linear(b.proj_w, b.proj_b, D, D, module, p + "attn.proj"),
                                           cfg_.num_heads, module(p + "attn.matmul1"), module(p + "attn.matmul2"),
                                           p + "attn");
            blk.norm2 = nn::layer_norm(b.norm2_w, b.norm2_b, static_cast<float>(cfg_.ln_eps), p + "norm2");
            blk.mlp = nn::mlp<bits>(make_linear(b.fc1_w, b.fc1_b, Hd, D, module, p + "mlp.fc1"),
                                    make_linear(b.fc2_w, b.fc2_b, D, Hd, module, p + "mlp.fc2"), p + "mlp");
        }
        norm_ = nn::layer_norm(w.norm_w, w.norm_b, static_cast<float>(cfg_.ln_eps), "norm");
        head_ = make_linear(w.head_w, w.head_b, cfg_.num_classes, D, module, "head");
        adapted_ = default_adapted_blocks(cfg_.depth);
    }

    /// Loads a model file: load_vit_weights (config from `cfg` or the file's metadata, timm or torchvision names)
    /// and, for a quantized policy, the file's calibrated parameters. `report` receives the load report.
    /// Throws: zoa::error(policy) naming both precisions when a quantized model type meets a file of another one,
    /// e.g. "<path>: file is W6A6, model type is W8A8: load it as zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>" or
    /// "<path>: file is fp32, model type is W8A8: ..." (an fp32 model type reads any file: quantized weights are
    /// dequantized); the errors of load_vit_weights.
    static vit load(const std::string& path, const vit_config* cfg = nullptr, const vit_load_options& opt = {},
                    vit_load_report* report = nullptr) {
        const io::safetensors_file f = io::safetensors_file::open(path);
        if constexpr (quantized) {
            int wb = 0, ab = 0;
            const std::string file = file_precision(f, "head", &wb, &ab);
            const std::string type = precision_name(bits::weight_bits, bits::activation_bits);
            bool codes = false;  // int8 weights without parameters: load_vit_weights names the missing tensors
            for (const auto& t : f.tensors()) codes = codes || t.dtype == io::dtype::i8;
            require(wb != 32 || codes, error_code::policy, path, ": file is fp32, model type is ", type,
                    ": calibrate it (zoa::models::calibrate_vit) or load a calibrated ", type, " file");
            require(wb == 0 || wb == 32 || (wb == bits::weight_bits && ab == bits::activation_bits), error_code::policy,
                    path, ": file is ", file, ", model type is ", type, ": load it as zoa::models::vit<zoa::ptq4vit<",
                    bits_option_name(wb, ab), ">>");
        }
        return vit(load_vit_weights(f, cfg, opt, report));
    }

    /// The architecture.
    const vit_config& config() const noexcept { return cfg_; }
    /// The __metadata__ of the file the model came from (zoa.preprocess, zoa.class_names, ...).
    const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

    // ---- threads, execution mode, adapted blocks ---------------------------------------------------------------
    /// Uses `threads` threads for every forward (a new pool; 1 = the calling thread only).
    void set_threads(std::size_t threads) { ctx_ = std::make_shared<execution_context>(threads); }
    /// Shares an existing pool. Throws: zoa::error(argument) when null.
    void set_context(std::shared_ptr<execution_context> ctx) {
        require(ctx != nullptr, error_code::argument, "vit::set_context: null context");
        ctx_ = std::move(ctx);
    }
    /// The execution context forwards run on.
    execution_context& context() const noexcept { return *ctx_; }
    /// Quantized models: integer kernels (default) or the simulated fake-quant arithmetic (for comparisons).
    void set_exec(nn::quant_exec mode) noexcept { exec_ = mode; }
    /// The execution mode set by set_exec().
    nn::quant_exec exec() const noexcept { return exec_; }
    /// Blocks whose norm1/norm2 are adapted (strictly increasing, each < depth). Default: default_adapted_blocks.
    /// Throws: zoa::error(argument) naming the offending index.
    void set_adapted_blocks(std::vector<std::size_t> blocks) {
        for (std::size_t i = 0; i < blocks.size(); ++i)
            require(blocks[i] < cfg_.depth && (i == 0 || blocks[i] > blocks[i - 1]), error_code::argument,
                    "vit::set_adapted_blocks: entry ", i, " = ", blocks[i], " must be < depth ", cfg_.depth,
                    " and larger than the previous entry");
        adapted_ = std::move(blocks);
    }
    /// The blocks whose norms are adapted.
    const std::vector<std::size_t>& adapted_blocks() const noexcept { return adapted_; }

    // ---- layers --------------------------------------------------------------------------------------------------
    /// The layers, read-only: patch embedding, cls token [D], position embedding [(1 + N) × D], blocks, final norm,
    /// head.
    const nn::patch_embed<bits>& patch_embed() const noexcept { return patch_; }
    const std::vector<float>& cls_token() const noexcept { return cls_; }
    const std::vector<float>& pos_embed() const noexcept { return pos_; }
    const std::vector<block>& blocks() const noexcept { return blocks_; }
    const nn::layer_norm& norm() const noexcept { return norm_; }
    const linear_type& head() const noexcept { return head_; }

    // ---- adaptation hooks ----------------------------------------------------------------------------------------
    /// The adapted norms (blocks.{i}.norm1, blocks.{i}.norm2 for i in adapted_blocks(), module order), depth feature
    /// groups of embed_dim, the class count, prompt_unit = embed_dim and FOA's prompt initialisation scale
    /// a = sqrt(6 / (in_chans·patch² + embed_dim)) (the reference's PromptViT: U(−a, a); 0.0625 for ViT-B/16).
    adapt::adapt_layout layout() const {
        adapt::adapt_layout l;
        for (std::size_t i : adapted_) {
            const std::string p = "blocks." + std::to_string(i);
            const block& b = blocks_[i];
            l.norms.push_back({p + ".norm1", cfg_.embed_dim, b.norm1.weight().data(), b.norm1.bias().data()});
            l.norms.push_back({p + ".norm2", cfg_.embed_dim, b.norm2.weight().data(), b.norm2.bias().data()});
        }
        l.feature_groups.assign(cfg_.depth, cfg_.embed_dim);
        l.num_classes = cfg_.num_classes;
        l.prompt_unit = cfg_.embed_dim;
        l.family = family;
        l.prompt_init_scale = static_cast<float>(
            std::sqrt(6.0 / static_cast<double>(cfg_.in_chans * cfg_.patch_size * cfg_.patch_size + cfg_.embed_dim)));
        l.embedding_dim = cfg_.embed_dim;
        l.precision = quant::precision_name<bits>();
        return l;
    }

    /// One forward pass of batch [B, in_chans, img_size, img_size] (normalized images) computing features, logits,
    /// shifted logits (when req.shift) and embedding statistics (when req.embedding_stats); see the class comment.
    /// Throws: zoa::error(shape) for a batch or prompt of the wrong size, zoa::error(argument) for a prompt without
    /// data, zoa::error(numeric) naming a non-finite input value (checked first) or when a quantized layer meets a
    /// non-finite value.
    void forward_adapt(const xt::xtensor<float, 4>& batch, const adapt::forward_request& req,
                       adapt::forward_result& out) const {
        check_batch(batch);
        require(req.prompt_size == 0 || req.prompt != nullptr, error_code::argument, "vit::forward_adapt: prompt_size ",
                req.prompt_size, " but no prompt data");
        require(req.prompt_size % cfg_.embed_dim == 0, error_code::shape, "vit::forward_adapt: prompt has ",
                req.prompt_size, " floats, expected a multiple of embed_dim ", cfg_.embed_dim);
        execution_context& ctx = *ctx_;
        const std::size_t B = batch.shape(0), D = cfg_.embed_dim, P = req.prompt_size / D, depth = cfg_.depth;
        const std::size_t T = 1 + P + cfg_.num_patches(), rows = B * T, C = cfg_.num_classes;
        reuse(out.features, B, depth * D);
        reuse(out.logits, B, C);
        if (req.shift)
            reuse(out.shifted_logits, B, C);
        else
            out.shifted_logits = xt::xtensor<float, 2>();

        // per-thread buffers reused across forwards (nn/scratch.hpp)
        float* const x = nn::thread_scratch<float>(nn::scratch_slot::model_x, rows * D);
        float* const h = nn::thread_scratch<float>(nn::scratch_slot::model_h, rows * D);
        float* const a = nn::thread_scratch<float>(nn::scratch_slot::model_a, rows * D);
        embed(batch.data(), B, req.prompt, P, x, ctx);
        if (req.embedding_stats) {
            out.embed_mean.resize(D);
            out.embed_var.resize(D);
            kernels::token_mean_var(x, B, T, D, 1 + P, out.embed_mean.data(), out.embed_var.data(), ctx);
        } else {
            out.embed_mean.clear();
            out.embed_var.clear();
        }
        std::vector<const float*> w1(depth, nullptr), b1(depth, nullptr), w2(depth, nullptr), b2(depth, nullptr);
        if (req.norm_params) {
            const float* p = req.norm_params;
            for (std::size_t i : adapted_) {
                w1[i] = p, b1[i] = p + D, w2[i] = p + 2 * D, b2[i] = p + 3 * D;
                p += 4 * D;
            }
        }
        float* feats = out.features.data();
        for (std::size_t i = 0; i < depth; ++i) {
            const block& blk = blocks_[i];
            blk.norm1.forward(x, rows, h, ctx, w1[i], b1[i]);
            if (i > 0)
                for (std::size_t b = 0; b < B; ++b)
                    std::memcpy(feats + b * depth * D + (i - 1) * D, h + b * T * D, D * sizeof(float));
            blk.attn.forward(h, B, T, a, ctx, exec_);
            add_inplace(x, a, rows * D, ctx);
            blk.norm2.forward(x, rows, h, ctx, w2[i], b2[i]);
            blk.mlp.forward(h, rows, a, ctx, exec_);
            add_inplace(x, a, rows * D, ctx);
        }
        // final norm on the class tokens only (the head reads nothing else)
        std::vector<float> cls(B * D), last(B * D);
        for (std::size_t b = 0; b < B; ++b) std::memcpy(cls.data() + b * D, x + b * T * D, D * sizeof(float));
        norm_.forward(cls.data(), B, last.data(), ctx);
        for (std::size_t b = 0; b < B; ++b)
            std::memcpy(feats + b * depth * D + (depth - 1) * D, last.data() + b * D, D * sizeof(float));
        run_head(last.data(), B, out.logits.data(), ctx);
        if (req.shift) {
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t d = 0; d < D; ++d) last[b * D + d] += req.shift[d];
            run_head(last.data(), B, out.shifted_logits.data(), ctx);
        }
    }

    /// T3A's classifier: logits [N × C] = head(features [N × embed_dim]) (the quantized head for quantized models).
    /// Throws: zoa::error(shape) when features do not have embed_dim columns.
    void classify(const xt::xtensor<float, 2>& features, xt::xtensor<float, 2>& logits) const {
        require(features.shape(1) == cfg_.embed_dim, error_code::shape, "vit::classify: features have ",
                features.shape(1), " columns, expected embed_dim ", cfg_.embed_dim);
        reuse(logits, features.shape(0), cfg_.num_classes);
        const xt::xtensor<float, 2> f = features;  // contiguous row-major copy
        run_head(f.data(), f.shape(0), logits.data(), *ctx_);
    }

    /// The head's weight [num_classes × embed_dim], row-major, as floats (T3A's warm-up supports). A quantized model
    /// returns its dequantized codes (the reference keeps the float weight; they differ by ≤ half a step).
    std::vector<float> classifier_weight() const {
        if constexpr (quantized)
            return head_.dequantized_weight();
        else
            return head_.weight();
    }

    /// Plain inference: logits [B × num_classes] of normalized images [B, C, H, W].
    xt::xtensor<float, 2> predict(const xt::xtensor<float, 4>& batch) const {
        adapt::forward_request req;
        req.embedding_stats = false;
        adapt::forward_result r;
        forward_adapt(batch, req, r);
        return std::move(r.logits);
    }

    /// Token embedding: x[b] = [cls + pos_0, prompt_0 .. prompt_{P−1}, patch_j + pos_{1+j} ...] into x [B, T, D].
    void embed(const float* images, std::size_t batch, const float* prompt, std::size_t prompts, float* x,
               execution_context& ctx) const {
        const std::size_t D = cfg_.embed_dim, N = cfg_.num_patches(), T = 1 + prompts + N;
        patch_.forward(images, batch, x + (1 + prompts) * D, T * D, ctx);
        ctx.parallel_for(batch, [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b) {
                float* xb = x + b * T * D;
                for (std::size_t d = 0; d < D; ++d) xb[d] = cls_[d] + pos_[d];
                if (prompts) std::memcpy(xb + D, prompt, prompts * D * sizeof(float));
                float* pt = xb + (1 + prompts) * D;
                for (std::size_t i = 0; i < N * D; ++i) pt[i] += pos_[D + i];
            }
        });
    }

    /// The quantizer parameters of every module (empty for fp32 models), keyed by vit_quant_modules names.
    quant::model_quant_params quant_params() const {
        quant::model_quant_params qp;
        if constexpr (quantized) {
            qp.modules["patch_embed.proj"] = patch_.params();
            for (std::size_t i = 0; i < cfg_.depth; ++i) {
                const std::string p = "blocks." + std::to_string(i) + ".";
                const block& b = blocks_[i];
                qp.modules[p + "attn.qkv"] = b.attn.qkv().params();
                qp.modules[p + "attn.matmul1"] = b.attn.matmul1();
                qp.modules[p + "attn.matmul2"] = b.attn.matmul2();
                qp.modules[p + "attn.proj"] = b.attn.proj().params();
                qp.modules[p + "mlp.fc1"] = b.mlp.fc1().params();
                qp.modules[p + "mlp.fc2"] = b.mlp.fc2().params();
            }
            qp.modules["head"] = head_.params();
        }
        return qp;
    }

    /// Weight storage and the scratch of one forward of `batch` images (without prompts).
    memory_report memory(std::size_t batch = 1) const {
        memory_report m;
        m.packed_weight_bytes = patch_.packed_bytes() + head_.packed_bytes();
        m.float_param_bytes = patch_.float_bytes() + head_.float_bytes() + norm_.float_bytes() +
                              (cls_.size() + pos_.size()) * sizeof(float);
        for (const block& b : blocks_) {
            m.packed_weight_bytes += b.attn.packed_bytes() + b.mlp.packed_bytes();
            m.float_param_bytes +=
                b.attn.float_bytes() + b.mlp.float_bytes() + b.norm1.float_bytes() + b.norm2.float_bytes();
        }
        const std::size_t D = cfg_.embed_dim, T = cfg_.tokens(), R = batch * T, Hd = cfg_.mlp_hidden(), f = 4;
        const std::size_t code = quantized ? 1 : 0;
        const std::size_t base = 3 * R * D * f;  // x, h, a
        const std::size_t attn =
            R * 3 * D * f + R * D * f + R * 3 * D * code + ctx_->threads() * (T * T * (f + 2 * code) + 8 * T * D);
        const std::size_t mlp = R * Hd * f + R * Hd * 2 * code + R * D * f * code;
        const std::size_t embed = batch * cfg_.num_patches() * patch_.patch_values() * f;
        m.scratch_bytes = base + std::max({attn, mlp, embed});
        return m;
    }

private:
    static quant::module_params find_module(const quant::model_quant_params& params, const std::string& name) {
        quant::module_params m;
        if (!quantized) return m;
        const auto it = params.modules.find(name);
        if (it == params.modules.end())
            fail(error_code::policy, "vit: no calibrated quantizer parameters for '", name,
                 "' (the model is not calibrated: use zoa::models::calibrate_vit, or load a calibrated file)");
        return it->second;
    }

    template <class Module>
    static linear_type make_linear(const std::vector<float>& w, const std::vector<float>& b, std::size_t out,
                                   std::size_t in, Module&& module, const std::string& name) {
        if constexpr (quantized)
            return linear_type(w, b, out, in, module(name), name);
        else
            return linear_type(w, b, out, in, name);
    }

    void run_head(const float* f, std::size_t rows, float* logits, execution_context& ctx) const {
        if constexpr (quantized)
            head_.forward(f, rows, logits, ctx, exec_);
        else
            head_.forward(f, rows, logits, ctx);
    }

    static void add_inplace(float* x, const float* a, std::size_t n, execution_context& ctx) {
        ctx.parallel_for((n + 4095) / 4096, [&](std::size_t c0, std::size_t c1) {
            const std::size_t e = std::min(n, c1 * 4096);
            for (std::size_t i = c0 * 4096; i < e; ++i) x[i] += a[i];
        });
    }

    static void reuse(xt::xtensor<float, 2>& t, std::size_t r, std::size_t c) {
        if (t.dimension() != 2 || t.shape(0) != r || t.shape(1) != c) t = xt::xtensor<float, 2>::from_shape({r, c});
    }

    void check_batch(const xt::xtensor<float, 4>& x) const {
        require(x.shape(0) >= 1 && x.shape(1) == cfg_.in_chans && x.shape(2) == cfg_.img_size &&
                    x.shape(3) == cfg_.img_size,
                error_code::shape, "vit: input batch has shape [", x.shape(0), ", ", x.shape(1), ", ", x.shape(2), ", ",
                x.shape(3), "], expected [B >= 1, ", cfg_.in_chans, ", ", cfg_.img_size, ", ", cfg_.img_size, "]");
        adapt::require_finite_input(x.data(), x.size(), x.shape(1), x.shape(2), x.shape(3), "vit");
    }

    vit_config cfg_;
    std::map<std::string, std::string> metadata_;
    std::shared_ptr<execution_context> ctx_;
    nn::patch_embed<bits> patch_;
    std::vector<float> cls_, pos_;
    std::vector<block> blocks_;
    nn::layer_norm norm_;
    linear_type head_;
    std::vector<std::size_t> adapted_;
    nn::quant_exec exec_ = nn::quant_exec::integer;
};

}  // namespace zoa::models
