// zoa — calibration of one user layer for a policy bundle: observers on its inputs (batch by batch) and on its
// weights choose the quantizer parameters the policy asks for (scheme, granularity, bit-widths)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/observer.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/presets.hpp"
#include "zoa/quant/quantizer.hpp"

namespace zoa::quant {

/// How a range is chosen from observed values (observer.hpp):
/// - min_max:    the running minimum and maximum (min_max_observer);
/// - percentile: the mean over batches of the (1 − p, p) quantiles (percentile_observer);
/// - mse:        the clipping factor 1 − 0.01·i minimising the quantization MSE (mse_observer, MQBench's MSEObserver;
///               its EMA variant for inputs, see calibration_options::input_ema).
enum class range_method : int { min_max = 0, percentile = 1, mse = 2 };

/// Name of a range method, e.g. "percentile".
template <class = void>
inline const char* to_string(range_method m) noexcept {
    switch (m) {
        case range_method::min_max:
            return "min_max";
        case range_method::percentile:
            return "percentile";
        case range_method::mse:
            return "mse";
    }
    return "unknown";
}

/// How layer_calibrator chooses ranges. The defaults are MQBench's academic choice (MSE search for weights,
/// EMA-of-MSE-searches with ratio 0.9 for inputs).
struct calibration_options {
    range_method weights = range_method::mse;  ///< weight ranges, one per scale group of the policy's granularity
    range_method inputs = range_method::mse;   ///< input ranges (per tensor), over all observed batches
    double percentile = 0.9999;  ///< range_method::percentile: keep the (1 − p, p) quantiles, p in (0.5, 1]
    double input_ema = 0.9;      ///< range_method::mse inputs: EMA ratio across batches (< 0: min/max over batches)

    /// Throws: zoa::error(argument) naming the field for a percentile outside (0.5, 1] or input_ema >= 1.
    template <class = void>
    void validate() const {
        require(percentile > 0.5 && percentile <= 1.0, error_code::argument,
                "calibration_options: percentile must be in (0.5, 1], got ", percentile);
        require(input_ema < 1.0, error_code::argument, "calibration_options: input_ema must be < 1, got ", input_ema);
    }
};

/// One observer of the kind a range_method names, giving parameters of a scheme.
class range_observer {
public:
    /// Requires: 2 <= bits <= 8; groups >= 1 (1 for per_tensor). ema is used by range_method::mse only.
    /// Throws: zoa::error(argument) as the observers' constructors.
    range_observer(range_method m, int bits, scheme s, granularity g, std::size_t groups, double percentile, double ema)
        : bits_(bits), sch_(s), gran_(g), obs_(make(m, bits, s, g, groups, percentile, ema)) {}

    /// Observes one batch of n values (viewed as [groups, n / groups]).
    /// Throws: zoa::error(numeric) for non-finite values, zoa::error(shape) when n % groups != 0.
    template <class = void>
    void observe(const float* x, std::size_t n) {
        std::visit([&](auto& o) { o.observe(x, n); }, obs_);
        ++batches_;
    }
    /// Batches observed so far.
    std::size_t batches() const noexcept { return batches_; }

    /// The parameters: affine (PyTorch qparams from the range) or symmetric (Δ = max(|lo|, |hi|) / (2^(b−1) − 0.5)).
    /// Throws: zoa::error(argument) naming `what` before the first observe().
    template <class = void>
    quant_params params(const std::string& what) const {
        require(batches_ > 0, error_code::argument, what, ": no values observed yet (observe at least one batch)");
        return std::visit(
            [&](const auto& o) -> quant_params {
                using O = std::decay_t<decltype(o)>;
                if constexpr (std::is_same_v<O, mse_observer>)
                    return o.params();
                else
                    return sch_ == scheme::asymmetric ? o.affine_params(bits_, gran_)
                                                      : o.symmetric_params(bits_, gran_);
            },
            obs_);
    }

private:
    using any_observer = std::variant<min_max_observer, percentile_observer, mse_observer>;
    template <class = void>
    static any_observer make(range_method m, int bits, scheme s, granularity g, std::size_t groups, double p,
                             double ema) {
        switch (m) {
            case range_method::min_max:
                return min_max_observer(groups);
            case range_method::percentile:
                return percentile_observer(p, groups);
            case range_method::mse:
                break;
        }
        return mse_observer(bits, g, groups, ema, s);
    }

    int bits_;
    scheme sch_;
    granularity gran_;
    any_observer obs_;
    std::size_t batches_ = 0;
};

/// Calibrates one linear or conv layer for the policy bundle Policy (quant_config<Policy>): feed it the layer's inputs
/// batch by batch (observe_input), then ask for the parameters of its weights (params). The result is the
/// quant::module_params of a weighted layer, ready for nn::qlinear<Policy> / nn::quantized_conv2d<Policy>:
///   weight: uniform, Policy's weight scheme and bits, one group per tensor / output channel / row block
///           (per_row_block<N>: N groups of out/N rows), range from calibration_options::weights over the weights;
///   input:  uniform per tensor, Policy's activation scheme and bits, range from calibration_options::inputs over
///           every observed batch.
/// Weights are [out × per_out] row-major: a Linear's [out, in], a Conv2d's OIHW (per_out = in·k·k).
template <class Policy>
class layer_calibrator {
    static_assert(::zoa::is_policy_v<Policy>, "zoa: layer_calibrator<Policy>: Policy must be a zoa::policy<...>");
    using config = quant_config<Policy>;
    static_assert(config::quantized, "zoa: layer_calibrator<Policy>: the policy's bit-width must be quantized");
    static_assert(config::weight_granularity != granularity::per_head &&
                      config::activation_granularity == granularity::per_tensor,
                  "zoa: layer_calibrator<Policy>: linear/conv layers take per_tensor, per_channel or per_row_block<N> "
                  "weights and per_tensor activations");

public:
    /// The policy's resolved quantization choices.
    using config_type = config;

    /// Throws: zoa::error(argument) from options.validate().
    explicit layer_calibrator(calibration_options options = {})
        : opt_((options.validate(), options)),
          input_(opt_.inputs, config::activation_bits, config::activation_scheme, granularity::per_tensor, 1,
                 opt_.percentile, opt_.input_ema) {}

    /// Observes one batch of the layer's input (n values, any layout: the input quantizer is per tensor).
    /// Throws: zoa::error(numeric) naming the element for a non-finite value; zoa::error(argument) for n == 0.
    void observe_input(const float* x, std::size_t n) { input_.observe(x, n); }
    /// Input batches observed so far.
    std::size_t batches() const noexcept { return input_.batches(); }
    /// The options in use.
    const calibration_options& options() const noexcept { return opt_; }

    /// Number of weight scale groups for `out` output rows: 1 (per_tensor), out (per_channel), N (per_row_block<N>).
    /// Throws: zoa::error(shape) naming `name` when out is not a multiple of N.
    static std::size_t weight_groups(std::size_t out, const std::string& name) {
        if constexpr (config::weight_granularity == granularity::per_channel) {
            return out;
        } else if constexpr (config::weight_granularity == granularity::per_row_block) {
            constexpr std::size_t blocks = static_cast<std::size_t>(config::weight::granularity_tag::blocks);
            require(out % blocks == 0, error_code::shape, name, ": ", out, " outputs cannot be split into ", blocks,
                    " row blocks");
            return blocks;
        } else {
            return 1;
        }
    }

    /// The module parameters of a layer with weights [out × per_out] (see the class comment).
    /// Throws: zoa::error(argument) naming `name` before any observe_input(); zoa::error(shape) for an empty weight
    /// or a row-block count that does not divide out; zoa::error(numeric) for a non-finite weight.
    module_params params(const float* weight, std::size_t out, std::size_t per_out, const std::string& name) const {
        require(weight != nullptr && out > 0 && per_out > 0, error_code::shape, name, ": empty weight (", out, " x ",
                per_out, ")");
        range_observer w(opt_.weights, config::weight_bits, config::weight_scheme, config::weight_granularity,
                         weight_groups(out, name), opt_.percentile, -1.0);
        w.observe(weight, out * per_out);
        module_params m;
        m.kind = module_kind::weighted;
        m.weight() = w.params(name + ".weight_quant");
        m.input() = input_.params(name + ".input_quant");
        return m;
    }
    /// As above for a weight vector of out rows. Throws: zoa::error(shape) when its size is not a multiple of out.
    module_params params(const std::vector<float>& weight, std::size_t out, const std::string& name) const {
        require(out > 0 && !weight.empty() && weight.size() % out == 0, error_code::shape, name, ": weight has ",
                weight.size(), " values, not a multiple of ", out, " outputs");
        return params(weight.data(), out, weight.size() / out, name);
    }

private:
    calibration_options opt_;
    range_observer input_;
};

}  // namespace zoa::quant
