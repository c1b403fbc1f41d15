// zoa — the ResNet integer forward on channels-last (NHWC) codes: every conv → BatchNorm → [+ identity] → ReLU →
// next quantizer in one fused GEMM epilogue (running statistics) or through NHWC moments (batch statistics)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/batch_norm.hpp"
#include "zoa/kernels/im2col.hpp"
#include "zoa/kernels/output_stage.hpp"
#include "zoa/models/resnet_blocks.hpp"
#include "zoa/models/resnet_exec.hpp"
#include "zoa/nn/batch_norm.hpp"
#include "zoa/nn/pool.hpp"
#include "zoa/quant/params.hpp"

namespace zoa::models::detail {

/// A channels-last activation of the integer path: a pool slot holding batch × h × w × c codes and/or floats.
struct nhwc_act {
    std::size_t slot = no_index, c = 0, h = 0, w = 0;
};

/// The identity added before a block's last ReLU: floats (downsample branch) or the block input's codes, decoded as
/// their quantizer's x̂ = fl(float(q − z)·s).
template <class Code>
struct nhwc_residual {
    const float* f = nullptr;
    const Code* q = nullptr;
    float scale = 1.0f;
    std::int32_t zero_point = 0;
};

/// Runs the integer ResNet layers on NHWC activations held in a resnet_workspace's slots (codes in q, floats in f,
/// each allocated on first use). Every value is computed with the float operations of the NCHW layer-by-layer
/// path (conv → out_dequant, batch_norm_eval / batch_norm_batch_stats, add, relu, quantize_activation), in the same
/// order per element, so codes, features and logits are the same bits; only the memory traffic differs.
template <class Code>
class resnet_nhwc_exec {
public:
    /// batch_stats: BatchNorm on the batch's statistics (else running statistics); sites: the activation quantizers.
    resnet_nhwc_exec(resnet_workspace<Code>& ws, execution_context& ctx, bool batch_stats, std::size_t batch,
                     const std::vector<quant::quant_params>& sites)
        : ws_(ws), ctx_(ctx), batch_stats_(batch_stats), batch_(batch), sites_(sites) {
        ws_.release_all();
    }

    /// A free slot for batch × h × w × c values (buffers are sized on first use by q() / f()).
    nhwc_act take(std::size_t c, std::size_t h, std::size_t w) { return nhwc_act{ws_.acquire(), c, h, w}; }
    void give(const nhwc_act& a) noexcept { ws_.used[a.slot] = 0; }
    std::size_t size(const nhwc_act& a) const noexcept { return batch_ * a.c * a.h * a.w; }
    /// a's codes / floats (NHWC), allocated (or grown) on first use.
    Code* q(const nhwc_act& a) {
        ws_.q[a.slot].ensure(size(a));
        return ws_.q[a.slot].data();
    }
    float* f(const nhwc_act& a) {
        ws_.f[a.slot].ensure(size(a));
        return ws_.f[a.slot].data();
    }
    bool batch_stats() const noexcept { return batch_stats_; }
    std::size_t batch() const noexcept { return batch_; }
    execution_context& ctx() noexcept { return ctx_; }

    /// The stage's BatchNorm: running statistics (w/b replace the layer's affine parameters when non-null), or the
    /// statistics of the NHWC floats y (batch mode). The returned map must outlive the stage.
    kernels::batch_norm_affine affine(const nn::batch_norm& bn, const float* w, const float* b, const float* y,
                                      std::size_t hw) {
        const float* weight = w ? w : bn.weight().data();
        const float* bias = b ? b : bn.bias().data();
        if (!batch_stats_)
            return kernels::batch_norm_running_affine(bn.channels(), bn.running_mean().data(), bn.running_var().data(),
                                                      weight, bias, bn.eps());
        return kernels::batch_norm_batch_affine(y, batch_, hw, bn.channels(), weight, bias, bn.eps(), ctx_);
    }

    /// The tail of an out_fused stage writing out: BatchNorm f, residual, ReLU, and the quantizer `site` (codes into
    /// q(out)) or floats into f(out) when site == no_index.
    template <class T>
    kernels::out_fused<T, Code> stage(const nhwc_act& out, const kernels::batch_norm_affine& f,
                                      const nhwc_residual<Code>& res, bool relu, std::size_t site) {
        kernels::out_fused<T, Code> st;
        if constexpr (std::is_same_v<T, float>) {
            st.c = this->f(out);
        } else {
            st.c = q(out);
            const quant::quant_params& p = sites_[site];
            st.out_scale = p.scale[0];
            st.out_zero_point = p.zero_point[0];
            st.out_min = p.qmin();
            st.out_max = p.qmax();
        }
        st.bn_mean = f.center.data();
        st.bn_mean_residual = batch_stats_ ? f.residual.data() : nullptr;  // running statistics: residual 0
        st.bn_scale = f.scale.data();
        st.bn_shift = f.shift.data();
        st.res_f = res.f;
        st.res_q = res.q;
        st.res_scale = res.scale;
        st.res_zero_point = res.zero_point;
        st.relu = relu;
        return st;
    }

    /// out = Q_site(relu?(bn(conv(in)) + res)) on in's codes: running statistics in the conv's GEMM epilogue; batch
    /// statistics: the conv stores its int32 accumulators (workspace acc) and sums their exact per-channel moments
    /// while each stored block is still in cache (out_i32::moments), the BatchNorm map follows from them
    /// (kernels::batch_norm_acc_affine), then one pass applies the same fused epilogue to the stored accumulators.
    /// site == no_index: out holds the floats (no quantizer).
    template <class Conv>
    void conv_bn(const Conv& conv, const nhwc_act& in, const nhwc_act& out, const nn::batch_norm& bn, const float* w,
                 const float* b, const nhwc_residual<Code>& res, bool relu, std::size_t site) {
        if (site == no_index) run<float>(conv, in, out, bn, w, b, res, relu, site);
        else run<Code>(conv, in, out, bn, w, b, res, relu, site);
    }

private:
    template <class T, class Conv>
    void run(const Conv& conv, const nhwc_act& in, const nhwc_act& out, const nn::batch_norm& bn, const float* w,
             const float* b, const nhwc_residual<Code>& res, bool relu, std::size_t site) {
        const typename Conv::a_storage* x = q(in);
        const std::size_t hw = out.h * out.w;
        if (!batch_stats_) {
            const kernels::batch_norm_affine f = affine(bn, w, b, nullptr, hw);
            conv.forward_fused_nhwc(x, batch_, in.h, in.w, stage<T>(out, f, res, relu, site), ctx_);
            return;
        }
        if (conv.gram_moments(batch_ * hw)) {  // shallow 1×1 convs: the moments from the input's Gram, one pass
            kernels::acc_moments m;
            conv.moments_nhwc(x, batch_, in.h, in.w, m, ctx_);
            const kernels::batch_norm_affine f = acc_affine(conv, bn, w, b, m);
            conv.forward_fused_nhwc(x, batch_, in.h, in.w, stage<T>(out, f, res, relu, site), ctx_);
            return;
        }
        std::int32_t* acc = this->acc(out);
        kernels::acc_moments m;
        conv.forward_acc_nhwc(x, batch_, in.h, in.w, acc, &m, ctx_);
        const kernels::batch_norm_affine f = acc_affine(conv, bn, w, b, m);
        conv.apply_fused_nhwc(acc, batch_ * hw, stage<T>(out, f, res, relu, site), ctx_);
    }

public:
    /// The workspace's accumulator buffer, sized for out (one conv at a time uses it).
    std::int32_t* acc(const nhwc_act& out) {
        ws_.acc.ensure(size(out));
        return ws_.acc.data();
    }
    /// The batch-statistics BatchNorm map of conv's output from its accumulators' moments (w/b: replacement affine
    /// parameters, null = the layer's).
    template <class Conv>
    kernels::batch_norm_affine acc_affine(const Conv& conv, const nn::batch_norm& bn, const float* w, const float* b,
                                          const kernels::acc_moments& m, float* batch_mean = nullptr,
                                          float* batch_var = nullptr) const {
        const std::vector<float> s = conv.output_scales();
        return kernels::batch_norm_acc_affine(m, bn.channels(), s.data(), conv.bias().empty() ? nullptr : conv.bias().data(),
                                              w ? w : bn.weight().data(), b ? b : bn.bias().data(), bn.eps(), batch_mean,
                                              batch_var);
    }

private:

    resnet_workspace<Code>& ws_;
    execution_context& ctx_;
    bool batch_stats_;
    std::size_t batch_;
    const std::vector<quant::quant_params>& sites_;
};

/// torchvision's block forward (residual_block::forward) on the integer NHWC path, x = the block input's codes
/// (quantized by site_in), result y = its output: codes of site_out, or floats when site_out == no_index.
///   identity = downsample ? bn_d(conv_d(x)) : x̂;  a = Q_mid1(relu(bn1(conv1(x))));
///   basic: y = Q_out(relu(bn2(conv2(a)) + identity));  bottleneck: b = Q_mid2(relu(bn2(conv2(a)))),
///   y = Q_out(relu(bn3(conv3(b)) + identity)).
template <class Code, class Conv>
void block_forward_nhwc(resnet_nhwc_exec<Code>& ex, const residual_block<Conv>& blk, const nhwc_act& x, nhwc_act& y,
                        const float* const (&bn_w)[2], const float* const (&bn_b)[2],
                        const std::vector<quant::quant_params>& sites, std::size_t site_in, std::size_t site_mid1,
                        std::size_t site_mid2, std::size_t site_out) {
    const auto& d = blk.desc;
    const auto g1 = blk.convs[0].geometry();
    const auto gs = blk.convs[blk.convs.size() == 2 ? 0 : 1].geometry();  // the conv with the block's stride
    const std::size_t oh = d.stride == 1 ? x.h : gs.out_size(x.h), ow = d.stride == 1 ? x.w : gs.out_size(x.w);
    nhwc_residual<Code> res;
    nhwc_act id;
    if (d.downsample) {
        id = ex.take(d.out_channels, oh, ow);
        ex.conv_bn(blk.down_conv, x, id, blk.down_bn, nullptr, nullptr, {}, false, no_index);
        res.f = ex.f(id);
    } else {
        const quant::quant_params& p = sites[site_in];
        res.q = ex.q(x);
        res.scale = p.scale[0];
        res.zero_point = p.zero_point[0];
    }
    const nhwc_act a = ex.take(g1.out_channels, g1.out_size(x.h), g1.out_size(x.w));
    ex.conv_bn(blk.convs[0], x, a, blk.bns[0], bn_w[0], bn_b[0], {}, true, site_mid1);
    y = ex.take(d.out_channels, oh, ow);
    if (blk.convs.size() == 2) {
        ex.conv_bn(blk.convs[1], a, y, blk.bns[1], bn_w[1], bn_b[1], res, true, site_out);
    } else {
        const nhwc_act b = ex.take(d.width, oh, ow);
        ex.conv_bn(blk.convs[1], a, b, blk.bns[1], bn_w[1], bn_b[1], {}, true, site_mid2);
        ex.conv_bn(blk.convs[2], b, y, blk.bns[2], nullptr, nullptr, res, true, site_out);
        ex.give(b);
    }
    ex.give(a);
    if (d.downsample) ex.give(id);
}

}  // namespace zoa::models::detail
