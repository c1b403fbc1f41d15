// zoa — quantizing a user's fp32 Linear / Conv2d for a policy bundle from a layer_calibrator that has seen its inputs
// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "zoa/nn/conv2d.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/quantized_conv2d.hpp"
#include "zoa/quant/layer_calibrator.hpp"

namespace zoa::nn {

/// The quantized twin of an fp32 Linear: qlinear<Policy> with the same weights and bias, quantized with
/// cal.params(weight, out, name) (the policy's scheme, granularity and bits; ranges from the inputs cal observed).
/// Throws: zoa::error(argument) when cal has observed no input yet; as qlinear's constructor.
template <class Policy>
qlinear<Policy> quantize(const linear& fp, const quant::layer_calibrator<Policy>& cal, const std::string& name) {
    const std::vector<float> w = fp.weight();
    return qlinear<Policy>(w, fp.bias(), fp.out_features(), fp.in_features(), cal.params(w, fp.out_features(), name),
                           name);
}

/// The quantized twin of an fp32 Conv2d: quantized_conv2d<Policy> with the same geometry, weights and bias.
/// Throws: zoa::error(argument) when cal has observed no input yet; as quantized_conv2d's constructor.
template <class Policy>
quantized_conv2d<Policy> quantize(const conv2d& fp, const quant::layer_calibrator<Policy>& cal,
                                  const std::string& name) {
    const std::vector<float> w = fp.weight();
    const conv2d_geometry& g = fp.geometry();
    return quantized_conv2d<Policy>(w, fp.bias(), g, cal.params(w, g.out_channels, name), name);
}

}  // namespace zoa::nn
