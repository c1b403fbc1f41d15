// zoa — ResNet residual blocks (torchvision BasicBlock / Bottleneck v1.5 with downsample.0 conv + downsample.1 BN):
// topology, torchvision tensor names and shapes, and the block forward shared by the fp32 and quantized models
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "zoa/models/resnet_config.hpp"
#include "zoa/nn/batch_norm.hpp"
#include "zoa/nn/conv2d.hpp"

namespace zoa::models {

/// "No such index" marker, e.g. a block position without an activation quantizer site.
inline constexpr std::size_t no_index = static_cast<std::size_t>(-1);

/// One residual block of a config, in module order.
struct resnet_block_desc {
    std::string name;              ///< torchvision prefix, e.g. "layer2.0"
    std::size_t stage = 0;         ///< 0..3 (layer1..layer4)
    std::size_t index = 0;         ///< block index inside its stage
    std::size_t in_channels = 0;   ///< channels entering the block
    std::size_t width = 0;         ///< planes: channels of bn1 and bn2
    std::size_t out_channels = 0;  ///< width · expansion
    std::size_t stride = 1;        ///< 2 in the first block of stages 2..4 (on conv1 for basic, conv2 for bottleneck)
    bool downsample = false;       ///< stride ≠ 1 or in ≠ out: identity = downsample.1(downsample.0(x))
    bool last_in_stage = false;    ///< the stage's last block (its output is a feature group)
    /// ZOA adapts bn1 and bn2 of every block except layer1.0 and all of layer4 (zoa-algorithm.md §1.2).
    bool adapted = false;
};

/// The blocks of config c in module order (layer1.0, layer1.1, ..., layer4.N).
template <class = void>
inline std::vector<resnet_block_desc> resnet_blocks(const resnet_config& c) {
    std::vector<resnet_block_desc> v;
    std::size_t cin = c.widths[0];
    for (std::size_t s = 0; s < 4; ++s)
        for (std::size_t j = 0; j < c.layers[s]; ++j) {
            resnet_block_desc d;
            d.name = "layer" + std::to_string(s + 1) + "." + std::to_string(j);
            d.stage = s;
            d.index = j;
            d.in_channels = cin;
            d.width = c.widths[s];
            d.out_channels = c.stage_channels(s);
            d.stride = (s > 0 && j == 0) ? 2 : 1;
            d.downsample = d.stride != 1 || d.in_channels != d.out_channels;
            d.last_in_stage = j + 1 == c.layers[s];
            d.adapted = s < 3 && !(s == 0 && j == 0);
            v.push_back(d);
            cin = d.out_channels;
        }
    return v;
}

/// Geometry of conv i (0 = conv1, 1 = conv2, 2 = conv3) of a block (torchvision: basic 3×3 stride s, 3×3;
/// bottleneck 1×1, 3×3 stride s, 1×1 to width·4).
template <class = void>
inline nn::conv2d_geometry block_conv_geometry(const resnet_config& c, const resnet_block_desc& d, std::size_t i) {
    if (c.block == resnet_block::basic)
        return i == 0 ? nn::conv2d_geometry{d.in_channels, d.width, 3, d.stride, 1}
                      : nn::conv2d_geometry{d.width, d.width, 3, 1, 1};
    if (i == 0) return {d.in_channels, d.width, 1, 1, 0};
    if (i == 1) return {d.width, d.width, 3, d.stride, 1};
    return {d.width, d.out_channels, 1, 1, 0};
}
/// downsample.0: 1×1 conv with the block's stride.
template <class = void>
inline nn::conv2d_geometry downsample_geometry(const resnet_block_desc& d) {
    return {d.in_channels, d.out_channels, 1, d.stride, 0};
}
/// Stem conv1: 7×7/2 pad 3 (imagenet) or 3×3/1 pad 1 (small).
template <class = void>
inline nn::conv2d_geometry stem_geometry(const resnet_config& c) {
    return c.stem == resnet_stem::imagenet ? nn::conv2d_geometry{c.in_chans, c.widths[0], 7, 2, 3}
                                           : nn::conv2d_geometry{c.in_chans, c.widths[0], 3, 1, 1};
}

/// A tensor the model expects in a weight file.
struct tensor_spec {
    std::string key;                 ///< torchvision/timm tensor name
    std::vector<std::size_t> shape;  ///< expected shape
};

/// A conv/linear module: name (torchvision) and geometry (the fc is a 1×1 conv over the pooled [B, C, 1, 1] map).
struct conv_module {
    std::string name;              ///< torchvision module name, e.g. "layer1.0.conv2"
    nn::conv2d_geometry geometry;  ///< channels, kernel, stride, padding
    bool bias = false;             ///< has a bias (only fc)
};

/// Every conv/linear module in module order: conv1, layerL.j.conv1..3, layerL.j.downsample.0, fc.
template <class = void>
inline std::vector<conv_module> resnet_conv_modules(const resnet_config& c) {
    std::vector<conv_module> v{{"conv1", stem_geometry(c), false}};
    const std::size_t nconv = c.block == resnet_block::basic ? 2 : 3;
    for (const auto& d : resnet_blocks(c)) {
        for (std::size_t i = 0; i < nconv; ++i)
            v.push_back({d.name + ".conv" + std::to_string(i + 1), block_conv_geometry(c, d, i), false});
        if (d.downsample) v.push_back({d.name + ".downsample.0", downsample_geometry(d), false});
    }
    v.push_back({"fc", {c.stage_channels(3), c.num_classes, 1, 1, 0}, true});
    return v;
}

/// Every parameter and BN buffer of a torchvision ResNet in state-dict order (num_batches_tracked excluded):
/// conv weights [out, in, k, k], BN weight/bias/running_mean/running_var [C], fc.weight [classes, C], fc.bias.
template <class = void>
inline std::vector<tensor_spec> resnet_tensor_specs(const resnet_config& c) {
    std::vector<tensor_spec> v;
    auto bn = [&](const std::string& p, std::size_t ch) {
        for (const char* t : {".weight", ".bias", ".running_mean", ".running_var"}) v.push_back({p + t, {ch}});
    };
    v.push_back({"conv1.weight", stem_geometry(c).weight_shape()});
    bn("bn1", c.widths[0]);
    const std::size_t nconv = c.block == resnet_block::basic ? 2 : 3;
    for (const auto& d : resnet_blocks(c)) {
        for (std::size_t i = 0; i < nconv; ++i) {
            const auto g = block_conv_geometry(c, d, i);
            v.push_back({d.name + ".conv" + std::to_string(i + 1) + ".weight", g.weight_shape()});
            bn(d.name + ".bn" + std::to_string(i + 1), g.out_channels);
        }
        if (d.downsample) {
            v.push_back({d.name + ".downsample.0.weight", downsample_geometry(d).weight_shape()});
            bn(d.name + ".downsample.1", d.out_channels);
        }
    }
    v.push_back({"fc.weight", {c.num_classes, c.stage_channels(3)}});
    v.push_back({"fc.bias", {c.num_classes}});
    return v;
}

/// A residual block's layers. Conv = nn::conv2d (fp32) or nn::qconv2d<A, W> (MQBench).
template <class Conv>
struct residual_block {
    resnet_block_desc desc;           ///< position and sizes of the block
    std::vector<Conv> convs;          ///< conv1, conv2 (, conv3)
    std::vector<nn::batch_norm> bns;  ///< bn1, bn2 (, bn3)
    Conv down_conv;                   ///< downsample.0 (valid when desc.downsample)
    nn::batch_norm down_bn;           ///< downsample.1

    /// torchvision forward, written against an executor Exec that knows how to run a conv on an activation and
    /// where the activation quantizers sit (the model's fp32 / integer / simulated / calibration runner):
    ///   identity = downsample ? bn_d(conv_d(x)) : x
    ///   basic:      out = bn2(conv2(Q_mid1(relu(bn1(conv1(x))))))
    ///   bottleneck: out = bn3(conv3(Q_mid2(relu(bn2(conv2(Q_mid1(relu(bn1(conv1(x))))))))))
    ///   y = Q_out(relu(out + identity))
    /// Q_* are the activation-quantizer sites (MQBench quantizes every tensor feeding a conv); `x` and the result
    /// are Exec::act handles. bn_w/bn_b: replacement affine parameters of bn1 and bn2 (nullptr = the layer's).
    template <class Exec, class Act>
    void forward(Exec& ex, const Act& x, Act& y, const float* const (&bn_w)[2], const float* const (&bn_b)[2],
                 std::size_t site_mid1, std::size_t site_mid2, std::size_t site_out) const {
        const std::size_t h = x.h, w = x.w;
        const auto g1 = convs[0].geometry();
        const std::size_t oh = (desc.stride == 1) ? h : convs[convs.size() == 2 ? 0 : 1].geometry().out_size(h);
        const std::size_t ow = (desc.stride == 1) ? w : convs[convs.size() == 2 ? 0 : 1].geometry().out_size(w);
        Act id = x;
        if (desc.downsample) {
            id = ex.take(desc.out_channels, oh, ow);
            ex.conv(down_conv, x, id);
            ex.bn(down_bn, id, nullptr, nullptr);
        }
        Act a = ex.take(g1.out_channels, g1.out_size(h), g1.out_size(w));
        ex.conv(convs[0], x, a);
        ex.bn(bns[0], a, bn_w[0], bn_b[0]);
        ex.relu_site(site_mid1, a);
        Act out = ex.take(desc.out_channels, oh, ow);
        if (convs.size() == 2) {
            ex.conv(convs[1], a, out);
            ex.bn(bns[1], out, bn_w[1], bn_b[1]);
        } else {
            Act b = ex.take(desc.width, oh, ow);
            ex.conv(convs[1], a, b);
            ex.bn(bns[1], b, bn_w[1], bn_b[1]);
            ex.relu_site(site_mid2, b);
            ex.conv(convs[2], b, out);
            ex.bn(bns[2], out, nullptr, nullptr);
            ex.give(b);
        }
        ex.give(a);
        ex.add_relu(out, id);
        if (desc.downsample) ex.give(id);
        ex.site(site_out, out);
        y = out;
    }
};

}  // namespace zoa::models
