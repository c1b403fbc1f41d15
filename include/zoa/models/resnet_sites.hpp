// zoa — MQBench academic activation-quantizer sites of a ResNet (every tensor feeding a conv/linear), calibration
// options and the memory report
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/models/resnet_blocks.hpp"
#include "zoa/models/resnet_config.hpp"

namespace zoa::models {

/// The activation quantizers MQBench's academic backend inserts into a torchvision ResNet: one per tensor that
/// feeds a Conv2d or Linear (AcademicQuantizer._find_act_quants), each named after the first module it feeds:
///   "conv1"              the network input x                                      (8 bit: first layer)
///   "layer1.0.conv1"     the stem output: max-pool output (imagenet stem) / ReLU output (small stem)
///   "layerL.j.conv2"     relu(bn1(conv1(x))) inside block layerL.j                 (fx node layerL_j_relu)
///   "layerL.j.conv3"     relu(bn2(conv2(·))) inside a bottleneck                   (layerL_j_relu_1)
///   "<next>.conv1"       a block output that feeds the next block (and its downsample.0)
///   "fc"                 the flattened pooled features                             (8 bit: last layer)
/// The last block's output feeds only the average pool, so it has no quantizer.
struct resnet_sites {
    std::vector<std::string> names;  ///< one per activation quantizer, in forward order (the module each one feeds)
    std::vector<bool> eight_bit;     ///< forced to 8 bits (input of conv1 and of fc)
    /// Indices of the image-input site (conv1), the stem-output site and the pooled-features site (fc).
    std::size_t input = 0, stem = 1, flatten = 0;
    /// Per block: {in (conv1 and downsample.0 input), mid1 (conv2 input), mid2 (conv3 input), out}; no_index = none.
    std::vector<std::array<std::size_t, 4>> block;

    /// Number of sites.
    std::size_t size() const noexcept { return names.size(); }

    /// The site feeding a conv/linear module ("layer2.0.downsample.0" → the block's "layer2.0.conv1").
    /// Throws: zoa::error(argument) for a name that is not a module of the config.
    template <class = void>
    std::size_t site_of(const std::string& module) const {
        std::string m = module;
        const std::string ds = ".downsample.0";
        if (m.size() > ds.size() && m.compare(m.size() - ds.size(), ds.size(), ds) == 0)
            m = m.substr(0, m.size() - ds.size()) + ".conv1";
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == m) return i;
        fail(error_code::argument, "resnet: '", module, "' is not a quantized module of this network");
    }
};

/// The sites of config c (see resnet_sites).
template <class = void>
inline resnet_sites make_resnet_sites(const resnet_config& c) {
    resnet_sites s;
    auto add = [&](std::string n, bool eight) {
        s.names.push_back(std::move(n));
        s.eight_bit.push_back(eight);
        return s.names.size() - 1;
    };
    s.input = add("conv1", true);
    const auto blocks = resnet_blocks(c);
    s.stem = add(blocks.front().name + ".conv1", false);
    std::size_t in = s.stem;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        std::array<std::size_t, 4> b{in, no_index, no_index, no_index};
        b[1] = add(blocks[i].name + ".conv2", false);
        if (c.block == resnet_block::bottleneck) b[2] = add(blocks[i].name + ".conv3", false);
        if (i + 1 < blocks.size()) b[3] = add(blocks[i + 1].name + ".conv1", false);
        in = b[3];
        s.block.push_back(b);
    }
    s.flatten = add("fc", true);
    return s;
}

/// MQBench PTQ calibration settings (ZOA: 32 ImageNet-train images).
struct calibration_options {
    std::size_t images = 32;      ///< at most this many images of the given set are used
    std::size_t batch_size = 32;  ///< observer batches (EMA-MSE: the first sets the range, later ones update it ×0.9)
};

/// Bytes a model holds and needs (issue 4 item 5).
struct resnet_memory {
    std::size_t packed_weight_bytes = 0;  ///< conv/fc weights as packed for the GEMM (int8 codes or fp32 panels)
    std::size_t float_param_bytes = 0;    ///< fp32 kept: BN weight/bias/running stats, biases, scales, fp32 twins
    std::size_t scratch_bytes = 0;        ///< activation buffers of one forward at the given batch and image size

    /// One line: "packed weights … B, fp32 params … B, scratch … B".
    template <class = void>
    std::string to_string() const {
        std::ostringstream os;
        os << "packed weights " << packed_weight_bytes << " B, fp32 params " << float_param_bytes << " B, scratch "
           << scratch_bytes << " B";
        return os.str();
    }
};

}  // namespace zoa::models
