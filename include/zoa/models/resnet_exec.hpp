// zoa — the ResNet forward executor: activation buffer pool and the per-mode dispatch of convs, BatchNorm and
// activation-quantizer sites (fp32, integer kernels, simulated fake-quant, calibration observers)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/activation.hpp"
#include "zoa/models/resnet_blocks.hpp"
#include "zoa/nn/affine_quant.hpp"
#include "zoa/nn/batch_norm.hpp"
#include "zoa/nn/conv2d.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/params.hpp"

namespace zoa::models::detail {

/// How a layer-by-layer (NCHW float) forward computes: the fp32 network (also the MQBench calibration pass, observers
/// on, fake-quant off) or the quantized network's simulated (float fake-quant) twin. The quantized network on the
/// integer kernels runs channels-last instead (resnet_integer.hpp).
enum class run_mode { fp32, simulated };

/// Calibration hook: called with every activation-quantizer site's float tensor (fp32 mode).
using site_observer = std::function<void(std::size_t site, const float* x, std::size_t n)>;

/// Inputs of one forward (the adaptation request, plus the calibration observer).
struct run_args {
    const float* norm_params = nullptr;  ///< adapted BN affine params (layout order), nullptr = the model's
    bool batch_stats = false;            ///< batch-statistics BatchNorm everywhere
    const float* prompt = nullptr;       ///< FOA input-prompt conv weight (in_chans² · 49)
    const float* shift = nullptr;        ///< activation shift of the last feature group
    const site_observer* observer = nullptr;
};

/// Outputs of one forward; null pointers are not computed (logits always are).
struct run_outputs {
    float* features = nullptr;  ///< B × Σ stage channels
    float* logits = nullptr;    ///< B × classes
    float* shifted = nullptr;   ///< B × classes, fc(f4 + shift)
    float* embed_mean = nullptr;
    float* embed_var = nullptr;
};

/// An activation held by the executor: a pool slot and its per-image extents (the batch is the executor's).
struct act {
    std::size_t slot = no_index, c = 0, h = 0, w = 0;
    /// Elements per image, c·h·w.
    std::size_t per_image() const noexcept { return c * h * w; }
};

/// Reusable buffers of one forward. Slots grow to the largest activation they ever hold and are kept between calls.
template <class Code>
struct resnet_workspace {
    std::vector<aligned_buffer<float>> f;
    std::vector<aligned_buffer<Code>> q;
    std::vector<char> used;
    aligned_buffer<float> in_f, prompt, gap, tmp;
    aligned_buffer<std::uint8_t> in_q, gap_q;  // integer path: input codes (NHWC, then NCHW), pooled features' codes
    aligned_buffer<std::int32_t> acc;           // integer path, batch statistics: one conv's int32 accumulators
    /// Integer path, batch statistics without prompt: the last call's input codes (NCHW) and the output codes of its
    /// stem + leading unadapted blocks (NHWC), reused by a call on the same input codes (resnet::run_integer).
    struct prefix_cache {
        bool valid = false;
        std::size_t batch = 0, h = 0, w = 0, blocks = 0, c = 0, oh = 0, ow = 0;
        aligned_buffer<std::uint8_t> input;
        aligned_buffer<Code> output;
        std::vector<float> embed_mean, embed_var;
    } prefix;

    /// Marks every slot free (the start of a forward).
    void release_all() noexcept {
        for (auto& u : used) u = 0;
    }
    /// The index of a free slot, now marked used; a new empty slot (float and code buffers) when all are in use.
    std::size_t acquire() {
        std::size_t s = 0;
        while (s < used.size() && used[s]) ++s;
        if (s == used.size()) {
            used.push_back(0);
            f.emplace_back();
            q.emplace_back();
        }
        used[s] = 1;
        return s;
    }

    /// Bytes currently held by every buffer of the workspace.
    std::size_t bytes() const noexcept {
        std::size_t b = (in_f.size() + prompt.size() + gap.size() + tmp.size()) * sizeof(float) + in_q.size() +
                        gap_q.size() + acc.size() * sizeof(std::int32_t) + prefix.input.size() +
                        prefix.output.size() * sizeof(Code);
        for (const auto& s : f) b += s.size() * sizeof(float);
        for (const auto& s : q) b += s.size() * sizeof(Code);
        return b;
    }
};

/// Executes layers on pooled NCHW float activations for a batch of `batch` images (fp32 and simulated modes).
template <class Code>
class resnet_exec {
public:
    /// Runs on ws's buffers (every slot marked free) with ctx; sites/observer are the activation quantizers /
    /// calibration observer (may be null in fp32 mode).
    resnet_exec(resnet_workspace<Code>& ws, execution_context& ctx, run_mode mode, nn::bn_mode bn, std::size_t batch,
                const std::vector<quant::quant_params>* sites, const site_observer* observer)
        : ws_(ws), ctx_(ctx), mode_(mode), bn_(bn), batch_(batch), sites_(sites), observer_(observer) {
        ws_.release_all();
    }

    /// The context, the execution mode and the batch size of this run.
    execution_context& ctx() noexcept { return ctx_; }
    run_mode mode() const noexcept { return mode_; }
    std::size_t batch() const noexcept { return batch_; }

    /// A free slot sized for batch × c × h × w floats.
    act take(std::size_t c, std::size_t h, std::size_t w) {
        const std::size_t s = ws_.acquire();
        ws_.f[s].ensure(batch_ * c * h * w);
        return act{s, c, h, w};
    }
    /// Returns a's slot to the pool; f is a's float buffer; size = batch·c·h·w.
    void give(const act& a) noexcept { ws_.used[a.slot] = 0; }
    float* f(const act& a) noexcept { return ws_.f[a.slot].data(); }
    std::size_t size(const act& a) const noexcept { return batch_ * a.per_image(); }

    /// out = conv(in): fp32 conv on floats; quantized conv (simulated) on the input's x̂ with the fake-quantized weights.
    template <class Conv>
    void conv(const Conv& c, const act& in, const act& out) {
        if constexpr (std::is_same_v<Conv, nn::conv2d>) c.forward(f(in), batch_, in.h, in.w, f(out), ctx_);
        else c.forward_float(f(in), batch_, in.h, in.w, f(out), ctx_);
    }

    /// a = BN(a) in the executor's statistics mode; w/b replace the layer's affine parameters when non-null.
    void bn(const nn::batch_norm& layer, const act& a, const float* w, const float* b) {
        layer.forward(f(a), f(a), batch_, a.h * a.w, bn_, ctx_, w, b);
    }

    /// In place: x = max(x, 0).
    void relu(const act& a) { kernels::relu(f(a), f(a), size(a), ctx_); }

    /// out = relu(out + id), elementwise: v = out + id; out = (0 > v) ? 0 : v.
    void add_relu(const act& out, const act& id) {
        float* y = f(out);
        const float* r = f(id);
        const std::size_t n = size(out);
        ctx_.parallel_for((n + 16383) / 16384, [&](std::size_t b0, std::size_t b1) {
            const std::size_t e = b1 * 16384 < n ? b1 * 16384 : n;
            for (std::size_t i = b0 * 16384; i < e; ++i) {
                const float v = y[i] + r[i];
                y[i] = 0.0f > v ? 0.0f : v;
            }
        });
    }

    /// relu(a), then site(idx, a).
    void relu_site(std::size_t idx, const act& a) {
        relu(a);
        site(idx, a);
    }

    /// The activation quantizer at site `idx` (no_index: none) applied to a in place: simulated → x̂
    /// (quant::fake_quant); fp32 → the calibration observer (if any) sees the float tensor.
    void site(std::size_t idx, const act& a) { site(idx, f(a), size(a)); }

    /// The same on a raw buffer of n floats.
    void site(std::size_t idx, float* x, std::size_t n) {
        if (idx == no_index) return;
        if (mode_ == run_mode::fp32) {
            if (observer_ && *observer_) (*observer_)(idx, x, n);
        } else {
            quant::fake_quant((*sites_)[idx], x, x, n);
        }
    }

private:
    resnet_workspace<Code>& ws_;
    execution_context& ctx_;
    run_mode mode_;
    nn::bn_mode bn_;
    std::size_t batch_;
    const std::vector<quant::quant_params>* sites_;
    const site_observer* observer_;
};

}  // namespace zoa::models::detail
