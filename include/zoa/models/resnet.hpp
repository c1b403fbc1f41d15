// zoa — ResNet<Policy>: torchvision ResNets (BasicBlock/Bottleneck, ImageNet or small stem) in fp32 or MQBench-
// quantized on the integer kernels, torchvision weights from safetensors, and the zoa::adapt model hooks
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/io/safetensors_reader.hpp"
#include "zoa/io/safetensors_writer.hpp"
#include "zoa/kernels/statistics.hpp"
#include "zoa/models/resnet_blocks.hpp"
#include "zoa/models/mqbench_observer.hpp"
#include "zoa/models/resnet_config.hpp"
#include "zoa/models/resnet_exec.hpp"
#include "zoa/models/resnet_integer.hpp"
#include "zoa/models/resnet_sites.hpp"
#include "zoa/models/resnet_weights.hpp"
#include "zoa/nn/batch_norm.hpp"
#include "zoa/nn/conv2d.hpp"
#include "zoa/nn/pool.hpp"
#include "zoa/quant/presets.hpp"

namespace zoa::models {

/// A torchvision ResNet. Topology is runtime configuration (resnet_config); the policy is the only template axis:
///   resnet<zoa::policy<zoa::fp32>>   fp32 (running-stat or batch-stat BatchNorm; loads torchvision weights),
///   resnet<zoa::mqbench<zoa::w8a8>>  MQBench academic PTQ (also w6a6, w4a4, bits<W,A>): per-channel affine W-bit
///                                    weights (MSE observer), per-tensor affine A-bit activations (EMA-MSE observer)
///                                    at every tensor feeding a conv/linear (resnet_sites), conv1 and fc and their
///                                    inputs at 8 bits, BatchNorm kept separate (never folded). Runs on the integer
///                                    kernels, or as the reference's float fake-quant (set_simulated(true)).
///   resnet<zoa::policy<B, quant::weight_scheme<quant::asymmetric, quant::per_tensor>,
///                      quant::activation_scheme<quant::asymmetric>>>   the same with one weight (scale, zero point)
///                                    per conv/fc instead of per channel.
/// Quantized models come from calibrate(fp32 model, images) or from a file written by save().
/// Adaptation hooks: layout(), forward_adapt(), classify(), classifier_weight() (zoa/adapt/model_hooks.hpp).
/// Thread safety: const members may be called from several threads; forwards on one model run one at a time.
template <class Policy>
class resnet {
    using qc = quant::quant_config<Policy>;

public:
    /// True for an integer (MQBench) model, false for fp32.
    static constexpr bool quantized = qc::quantized;
    static_assert(!quantized || (qc::weight_scheme == quant::scheme::asymmetric &&
                                 (qc::weight_granularity == quant::granularity::per_channel ||
                                  qc::weight_granularity == quant::granularity::per_tensor) &&
                                 qc::activation_scheme == quant::scheme::asymmetric &&
                                 qc::activation_granularity == quant::granularity::per_tensor),
                  "zoa: resnet<Policy>: quantized ResNets use MQBench's academic scheme (asymmetric weights per "
                  "channel or per tensor, asymmetric per-tensor activations): use zoa::mqbench<zoa::w8a8> (or w6a6, "
                  "w4a4)");
    /// True when the weights have one (scale, zero point) per output channel (MQBench, the default), false for one
    /// per conv/fc (policy weight_scheme<asymmetric, per_tensor>).
    static constexpr bool per_channel_weights = qc::weight_granularity == quant::granularity::per_channel;
    /// Bit-widths (32 for fp32) and the policy the model was instantiated with.
    static constexpr int weight_bits = quantized ? qc::weight_bits : 32;
    static constexpr int activation_bits = quantized ? qc::activation_bits : 32;
    using policy = Policy;
    using policy_type = Policy;  ///< as every zoa model (zoa_options::paper<resnet<P>>() reads it)
    /// The adaptation family (ZOA's BatchNorm/ResNet loss form and options).
    static constexpr adapt::model_family family = adapt::model_family::resnet;
    using batch_type = xt::xtensor<float, 4>;  ///< NCHW images, already normalized
    /// Code ranges (conv1 and fc are forced to 8 bits, MQBench academic), the conv layer types and the activation code
    /// type.
    using edge_range = quant::unsigned_range<8>;
    using a_range = quant::unsigned_range<quantized ? qc::activation_bits : 8>;
    using w_range = quant::unsigned_range<quantized ? qc::weight_bits : 8>;
    using conv_type = std::conditional_t<quantized, nn::qconv2d<a_range, w_range>, nn::conv2d>;
    using edge_conv_type = std::conditional_t<quantized, nn::qconv2d<edge_range, edge_range>, nn::conv2d>;
    using code_type = typename a_range::storage;

    resnet(resnet&&) noexcept = default;
    resnet& operator=(resnet&&) noexcept = default;

    // ---- construction ------------------------------------------------------------------------------------------

    /// Loads a safetensors file: torchvision names (fp32 policy) or a calibrated file written by save() (quantized
    /// policy). See resnet_load_options for the config resolution. Nothing is built until every tensor was checked.
    /// Throws: zoa::error(io/format/shape) naming the file and key; zoa::error(policy) when the file holds the other
    /// kind of model (fp32 vs calibrated) or other bit-widths.
    static resnet load(const std::string& path, const resnet_load_options& opt = {}) {
        const io::safetensors_file f = io::safetensors_file::open(path);
        return from_file(f, opt);
    }

    /// As load(), from an open file.
    static resnet from_file(const io::safetensors_file& f, const resnet_load_options& opt = {});

    /// Builds an fp32 model from in-memory float tensors with torchvision names and resnet_tensor_specs(c) shapes
    /// (weights from another source, random weights for tests and benchmarks).
    /// Throws: zoa::error(format) naming a missing key, zoa::error(shape) naming a tensor of the wrong size.
    static resnet from_tensors(const resnet_config& c, const resnet_tensors& t, std::size_t threads = 1) {
        static_assert(!quantized, "zoa: resnet<Q>::from_tensors builds fp32 models; calibrate() them to quantize");
        resnet m(c, threads);
        for (const auto& s : resnet_tensor_specs(c)) {
            std::size_t n = 1;
            for (auto d : s.shape) n *= d;
            const std::vector<float>& v = t.f(s.key);
            require(v.size() == n, error_code::shape, "resnet::from_tensors: tensor '", s.key, "' has ", v.size(),
                    " values, expected ", n);
        }
        m.build_fp32(t, resnet_conv_modules(c));
        m.report_.loaded = resnet_tensor_specs(c).size();
        return m;
    }

    /// MQBench academic post-training quantization of an fp32 model (quantized policies only): observers on the
    /// fp32 forward over the first opt.images images (eval-mode BatchNorm, fake-quant off, as MQBench's
    /// enable_calibration), batches of opt.batch_size: activation EMA-MSE observers (ema 0.9, 95 candidates),
    /// per-channel weight MSE observers (80 candidates); then the weights are encoded and packed. AdaRound (the
    /// reference's ≤4-bit reconstruction) is not implemented: W4A4 uses the MSE observers only.
    /// Throws: zoa::error(shape) for images that do not match the model; zoa::error(numeric) for non-finite data.
    template <class FP>
    static resnet calibrate(const resnet<FP>& fp, const batch_type& images, const calibration_options& opt = {});

    // ---- inference ---------------------------------------------------------------------------------------------

    /// Logits [B × num_classes] with BatchNorm on running statistics (PyTorch eval()).
    /// Throws: zoa::error(shape) for a batch that is not [B, in_chans, H, W] or too small for the strides.
    xt::xtensor<float, 2> predict(const batch_type& x) const {
        check_batch(x);
        xt::xtensor<float, 2> logits = xt::xtensor<float, 2>::from_shape({x.shape(0), config_.num_classes});
        run_outputs o;
        o.logits = logits.data();
        run(x.data(), x.shape(0), x.shape(2), x.shape(3), run_args{}, o);
        return logits;
    }

    /// The adaptation forward (zoa/adapt/model_hooks.hpp), everything from one pass: features = global-average-
    /// pooled outputs of layer1..layer4 (quantized: after each stage's last block-output quantizer; layer4 after the
    /// flatten quantizer), logits = fc(layer4 features), shifted_logits = fc(features + shift) (fc with the
    /// fake-quantized weights on the unquantized sum, as the reference), embedding statistics = per-channel mean and
    /// unbiased variance over (N, H, W) of conv1's output before bn1. req.norm_params replaces the adapted BNs'
    /// affine parameters (layout() order); req.batch_statistics selects batch-statistics BatchNorm for every BN;
    /// req.prompt (FOA) is the weight of a in_chans→in_chans 7×7 conv (pad 3, no bias) applied as
    /// x ← x + conv(x) after the input quantizer and before conv1.
    /// Throws: zoa::error(shape) for a bad batch, zoa::error(argument) for a prompt of the wrong size.
    void forward_adapt(const batch_type& x, const adapt::forward_request& req, adapt::forward_result& out) const {
        check_batch(x);
        const std::size_t b = x.shape(0);
        if (req.prompt)
            require(req.prompt_size == prompt_unit(), error_code::argument, "resnet::forward_adapt: prompt has ",
                    req.prompt_size, " floats, expected ", prompt_unit(), " (a ", config_.in_chans, "x",
                    config_.in_chans, "x7x7 conv)");
        out.features = xt::xtensor<float, 2>::from_shape({b, feature_width()});
        out.logits = xt::xtensor<float, 2>::from_shape({b, config_.num_classes});
        out.shifted_logits = req.shift ? xt::xtensor<float, 2>::from_shape({b, config_.num_classes})
                                       : xt::xtensor<float, 2>();
        out.embed_mean.assign(req.embedding_stats ? config_.widths[0] : 0, 0.0f);
        out.embed_var.assign(req.embedding_stats ? config_.widths[0] : 0, 0.0f);
        run_args a;
        a.norm_params = req.norm_params;
        a.batch_stats = req.batch_statistics;
        a.prompt = req.prompt;
        a.shift = req.shift;
        run_outputs o;
        o.features = out.features.data();
        o.logits = out.logits.data();
        o.shifted = req.shift ? out.shifted_logits.data() : nullptr;
        o.embed_mean = req.embedding_stats ? out.embed_mean.data() : nullptr;
        o.embed_var = req.embedding_stats ? out.embed_var.data() : nullptr;
        run(x.data(), b, x.shape(2), x.shape(3), a, o);
    }

    /// The adapted BatchNorms (bn1, bn2 of every block except layer1.0 and layer4), feature groups (stage widths),
    /// classes, family resnet with the reference's scalar shift, FOA prompt unit in_chans²·49 and its kaiming-normal
    /// init std sqrt(2/(1 + 0.01²))/sqrt(in_chans·49) (fan_out, leaky_relu). Pointers stay valid while the model
    /// lives at this address (moving the model invalidates them).
    adapt::adapt_layout layout() const {
        adapt::adapt_layout l;
        for (const auto& blk : blocks_)
            if (blk.desc.adapted)
                for (std::size_t k = 0; k < 2; ++k)
                    l.norms.push_back({blk.desc.name + ".bn" + std::to_string(k + 1), blk.bns[k].channels(),
                                       blk.bns[k].weight().data(), blk.bns[k].bias().data()});
        for (std::size_t s = 0; s < 4; ++s) l.feature_groups.push_back(config_.stage_channels(s));
        l.num_classes = config_.num_classes;
        l.reference_scalar_shift = true;
        l.family = family;
        l.prompt_unit = prompt_unit();
        l.prompt_init_scale = static_cast<float>(std::sqrt(2.0 / (1.0 + 0.01 * 0.01)) /
                                                 std::sqrt(static_cast<double>(config_.in_chans * 49)));
        l.embedding_dim = config_.widths[0];
        l.precision = quantized ? "w" + std::to_string(weight_bits) + "a" + std::to_string(activation_bits) : "fp32";
        return l;
    }

    /// logits [B × classes] = features [B × C4] · Wᵀ + b in float (quantized: the fake-quantized fc weights, features
    /// taken as given — T3A's classifier). Throws: zoa::error(shape) for a wrong feature width.
    void classify(const xt::xtensor<float, 2>& features, xt::xtensor<float, 2>& logits) const {
        const std::size_t d = config_.stage_channels(3);
        require(features.dimension() == 2 && features.shape(1) == d, error_code::shape, "resnet::classify: features ",
                "have ", features.shape(1), " columns, expected ", d);
        logits = xt::xtensor<float, 2>::from_shape({features.shape(0), config_.num_classes});
        if (features.shape(0) == 0) return;
        std::lock_guard<std::mutex> lk(*mutex_);
        fc_float(features.data(), features.shape(0), logits.data());
    }

    /// The fc weight as floats [classes × C4] (quantized: the fake-quantized weights the model computes with).
    std::vector<float> classifier_weight() const {
        if constexpr (quantized) return fc_.dequantized_weight();
        else return fc_.weight();
    }

    // ---- properties --------------------------------------------------------------------------------------------

    /// The architecture, and the load report (missing/unused/skipped keys) of from_file().
    const resnet_config& config() const noexcept { return config_; }
    const load_report& report() const noexcept { return report_; }
    /// Metadata carried over from the file (e.g. "zoa.preprocess", "zoa.class_names").
    const std::map<std::string, std::string>& metadata() const noexcept { return meta_; }
    /// Width of the adaptation features: Σ stage channels (256 + 512 + 1024 + 2048 for ResNet-50).
    std::size_t feature_width() const noexcept {
        std::size_t w = 0;
        for (std::size_t s = 0; s < 4; ++s) w += config_.stage_channels(s);
        return w;
    }
    /// Floats of FOA's input-prompt conv (C × C × 7 × 7), and the thread count of the execution context.
    std::size_t prompt_unit() const noexcept { return config_.in_chans * config_.in_chans * 49; }
    std::size_t threads() const noexcept { return ctx_->threads(); }
    /// A new execution context with n threads (results do not depend on the thread count). Not while a forward runs.
    void set_threads(std::size_t n) { ctx_ = std::make_shared<execution_context>(n); }
    /// Shares an execution context (e.g. one pool for the model, the adapter and the data pipeline).
    /// Throws: zoa::error(argument) for a null context.
    void set_context(std::shared_ptr<execution_context> ctx) {
        require(ctx != nullptr, error_code::argument, "resnet::set_context: null context");
        ctx_ = std::move(ctx);
    }
    /// The execution context forwards run on.
    execution_context& context() const noexcept { return *ctx_; }
    /// Quantized models: true ⇒ run the reference's float fake-quant arithmetic instead of the integer kernels
    /// (keeps every conv's fake-quantized weights as fp32 in addition). fp32 models: throws zoa::error(policy).
    void set_simulated(bool on) {
        require(quantized, error_code::policy, "resnet::set_simulated: the model is not quantized");
        if constexpr (quantized)
            if (on) for_each_conv([](auto& c) { c.enable_float_twin(); });
        simulated_ = on;
        ws_->prefix.valid = false;
    }
    /// True after set_simulated(true).
    bool simulated() const noexcept { return simulated_; }
    /// Calibrated activation quantizers, one per resnet_sites() entry (empty for fp32 models).
    const std::vector<quant::quant_params>& activation_params() const noexcept { return site_params_; }
    const resnet_sites& sites() const noexcept { return sites_; }
    /// Every module's quantizers (torchvision names), e.g. "layer1.0.conv1" → {weight, input}.
    quant::model_quant_params quant_params() const {
        quant::model_quant_params p;
        if constexpr (quantized) {
            for_each_conv_named([&](const auto& c, const std::string& name) { p.modules[name] = c.params(); });
        }
        return p;
    }
    /// Memory held by the weights and needed by one forward of batch × in_chans × h × w.
    resnet_memory memory(std::size_t batch, std::size_t h, std::size_t w) const;
    /// Multi-line summary: config, policy, parameter bytes.
    std::string summary() const;
    /// Writes the model atomically (io::atomic_file): fp32 → torchvision keys (F32) + zoa metadata; quantized → U8
    /// weight codes, F32 biases and BatchNorms, every module's quantizer parameters (quant::model_quant_params keys)
    /// + metadata "zoa.quant". Throws: zoa::error(io) naming the path.
    void save(const std::string& path) const;
    /// The file image save() writes (for io::atomic_file targets created before the work: .save(file)).
    io::safetensors_writer to_safetensors() const;

private:
    template <class>
    friend class resnet;

    explicit resnet(const resnet_config& c, std::size_t threads)
        : config_(c),
          sites_(make_resnet_sites(c)),
          ctx_(std::make_shared<execution_context>(threads)),
          mutex_(std::make_unique<std::mutex>()),
          ws_(std::make_unique<detail::resnet_workspace<code_type>>()) {
        c.validate();
    }

    using run_args = detail::run_args;
    using run_outputs = detail::run_outputs;

    void check_batch(const batch_type& x) const {
        require(x.shape(0) >= 1 && x.shape(1) == config_.in_chans, error_code::shape, "resnet: batch is [",
                x.shape(0), ", ", x.shape(1), ", ", x.shape(2), ", ", x.shape(3), "], expected [B >= 1, ",
                config_.in_chans, ", H, W]");
        std::size_t h = x.shape(2), w = x.shape(3);
        const auto g = stem_geometry(config_);
        h = g.out_size(h);
        w = g.out_size(w);
        if (config_.stem == resnet_stem::imagenet) {
            h = nn::pool_out_size(h, 3, 2, 1);
            w = nn::pool_out_size(w, 3, 2, 1);
        }
        require(h >= 1 && w >= 1, error_code::shape, "resnet: image ", x.shape(2), "x", x.shape(3), " is too small");
        adapt::require_finite_input(x.data(), x.size(), x.shape(1), x.shape(2), x.shape(3), "resnet");
    }

    template <class F>
    void for_each_conv(F&& f) {
        ws_->prefix.valid = false;  // the convs may change: no reuse of a cached prefix
        f(stem_conv_);
        for (auto& b : blocks_) {
            for (auto& c : b.convs) f(c);
            if (b.desc.downsample) f(b.down_conv);
        }
        f(fc_);
    }
    template <class F>
    void for_each_conv(F&& f) const {
        f(stem_conv_);
        for (const auto& b : blocks_) {
            for (const auto& c : b.convs) f(c);
            if (b.desc.downsample) f(b.down_conv);
        }
        f(fc_);
    }
    /// Elements of the zero-padded NHWC copy the conv kernels make of a conv's h × w input.
    static std::size_t cin_padded(const nn::conv2d_geometry& g, std::size_t h, std::size_t w) {
        return (h + 2 * g.pad) * (w + 2 * g.pad) * g.in_channels;
    }
    template <class F>
    void for_each_conv_named(F&& f) const {
        f(stem_conv_, std::string("conv1"));
        for (const auto& b : blocks_) {
            for (std::size_t i = 0; i < b.convs.size(); ++i) f(b.convs[i], b.desc.name + ".conv" + std::to_string(i + 1));
            if (b.desc.downsample) f(b.down_conv, b.desc.name + ".downsample.0");
        }
        f(fc_, std::string("fc"));
    }

    /// Float OIHW weight / bias of module i (resnet_conv_modules order) of an fp32 model.
    std::vector<float> conv_weight(std::size_t i) const {
        std::vector<float> w;
        std::size_t k = 0;
        for_each_conv_named([&](const auto& c, const std::string&) {
            if constexpr (!quantized)
                if (k == i) w = c.weight();
            ++k;
        });
        return w;
    }
    std::vector<float> conv_bias(std::size_t i) const {
        return i + 1 == resnet_conv_modules(config_).size() ? fc_.bias() : std::vector<float>{};
    }

    /// Builds stem conv, block convs and fc from make(i, type_tag<Conv>) in resnet_conv_modules order.
    template <class T>
    struct type_tag {
        using type = T;
    };
    template <class Make>
    void build_layers(const std::vector<conv_module>& modules, Make&& make) {
        std::size_t i = 0;
        stem_conv_ = make(i++, type_tag<edge_conv_type>{});
        blocks_.clear();
        for (const auto& d : resnet_blocks(config_)) {
            residual_block<conv_type> b;
            b.desc = d;
            const std::size_t nconv = config_.block == resnet_block::basic ? 2 : 3;
            for (std::size_t k = 0; k < nconv; ++k) b.convs.push_back(make(i++, type_tag<conv_type>{}));
            if (d.downsample) b.down_conv = make(i++, type_tag<conv_type>{});
            blocks_.push_back(std::move(b));
        }
        fc_ = make(i++, type_tag<edge_conv_type>{});
        require(i == modules.size(), error_code::argument, "resnet: internal module count mismatch");
        if constexpr (quantized) {
            stem_conv_.enable_float_twin();  // FOA prompt term
            fc_.enable_float_twin();         // shifted logits, classify()
        }
    }

    void build_bns(const resnet_tensors& t) {
        auto bn = [&](const std::string& p) {
            return nn::batch_norm(t.f(p + ".weight"), t.f(p + ".bias"), t.f(p + ".running_mean"),
                                  t.f(p + ".running_var"), config_.bn_eps, p);
        };
        stem_bn_ = bn("bn1");
        for (auto& b : blocks_) {
            b.bns.clear();
            for (std::size_t k = 0; k < b.convs.size(); ++k) b.bns.push_back(bn(b.desc.name + ".bn" + std::to_string(k + 1)));
            if (b.desc.downsample) b.down_bn = bn(b.desc.name + ".downsample.1");
        }
    }

    template <class FP>
    void copy_bns(const resnet<FP>& fp) {
        stem_bn_ = fp.stem_bn_;
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            blocks_[i].bns = fp.blocks_[i].bns;
            blocks_[i].down_bn = fp.blocks_[i].down_bn;
        }
    }

    void build_fp32(const resnet_tensors& t, const std::vector<conv_module>& modules) {
        build_layers(modules, [&](std::size_t i, auto tag) {
            using C = typename decltype(tag)::type;
            const conv_module& m = modules[i];
            return C(t.f(m.name + ".weight"), m.bias ? t.f(m.name + ".bias") : std::vector<float>{}, m.geometry,
                     m.name);
        });
        build_bns(t);
    }

    void build_quantized(const io::safetensors_file& f, const resnet_tensors& t, const std::vector<conv_module>& modules);

    void run(const float* x, std::size_t batch, std::size_t h, std::size_t w, const run_args& a,
             const run_outputs& o) const;
    void run_integer(const float* x, std::size_t batch, std::size_t h, std::size_t w, const run_args& a,
                     const run_outputs& o) const;
    /// ws_->prompt = P(x̂): FOA's in_chans → in_chans 7×7 prompt conv (pad 3, no bias) of the input x̂ (NCHW floats).
    void prompt_forward(const float* prompt, const float* xhat, std::size_t batch, std::size_t h, std::size_t w) const;
    /// The replacement affine parameters of block i's bn1 / bn2 inside norm_params (layout() order), if adapted.
    void adapted_params(std::size_t block, const float* norm_params, const float* (&bw)[2], const float* (&bb)[2]) const;
    /// The buffer a stage's pooled output goes to (stages 0-2: ws tmp, layer4: ws gap), n floats.
    float* stage_pool_buffer(std::size_t stage, std::size_t n) const;
    /// Copies stage 0-2 pooled outputs [batch × c] into o.features at column feat_off (advanced by c).
    void copy_features(std::size_t stage, const float* pooled, std::size_t batch, std::size_t c, const run_outputs& o,
                       std::size_t& feat_off) const;
    /// Layer4 features (the flatten quantizer's x̂ f4) into o.features, and the shifted logits fc_float(f4 + shift).
    void finish(const float* f4, std::size_t batch, const run_args& a, const run_outputs& o, std::size_t feat_off) const;

    /// logits = fc(x) in float (fp32 fc, or the quantized fc's fake-quantized weights), x [rows × C4].
    void fc_float(const float* x, std::size_t rows, float* logits) const {
        if constexpr (quantized) fc_.forward_float(x, rows, 1, 1, logits, *ctx_);
        else fc_.forward(x, rows, 1, 1, logits, *ctx_);
    }

    resnet_config config_;
    resnet_sites sites_;
    std::vector<quant::quant_params> site_params_;
    edge_conv_type stem_conv_;
    nn::batch_norm stem_bn_;
    std::vector<residual_block<conv_type>> blocks_;
    edge_conv_type fc_;
    std::map<std::string, std::string> meta_;
    load_report report_;
    bool simulated_ = false;
    std::shared_ptr<execution_context> ctx_;
    std::unique_ptr<std::mutex> mutex_;
    std::unique_ptr<detail::resnet_workspace<code_type>> ws_;
};

}  // namespace zoa::models

#include "zoa/models/resnet_impl.hpp"
