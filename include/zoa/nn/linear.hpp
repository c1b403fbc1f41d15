// zoa — fully connected layers: fp32 (weights packed once) and quantized (int8 codes packed once, inputs quantized
// per call, dequantized fp32 output), with a simulated (fake-quant) twin of the quantized arithmetic
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/gemm_f32.hpp"
#include "zoa/kernels/gemm_q8.hpp"
#include "zoa/kernels/pack.hpp"
#include "zoa/kernels/pack_f32.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/nn/affine_quant.hpp"
#include "zoa/nn/scratch.hpp"
#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/fake_quant.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/presets.hpp"

namespace zoa::nn {

/// How a quantized layer computes: on the integer kernels (exact int32 accumulation, then one float scale per
/// output), or simulated = the reference's fake-quant arithmetic in float (x̂ = Q(x), Ŵ = Q(W), y = x̂·Ŵᵀ + b).
/// The two agree up to float summation order; tests compare them.
enum class quant_exec { integer, simulated };

/// Recovers the row-major float matrix W [n × k] of a packed_f32 from its documented panel layout (pack_f32.hpp:
/// panel p holds W(p·nr + c, k) at float index k·nr + c): W(j, k) = panel(j / nr)[k·nr + j % nr]. O(n·k).
template <class Arch>
std::vector<float> unpack_f32(const kernels::packed_f32<Arch>& p) {
    constexpr std::size_t nr = kernels::packed_f32<Arch>::nr;
    const std::size_t n = p.n(), k = p.k();
    std::vector<float> w(n * k);
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t kk = 0; kk < k; ++kk) w[j * k + kk] = p.panel(j / nr)[kk * nr + j % nr];
    return w;
}

/// Recovers the weight codes W [n × k] of a packed_q8 through the public GEMM (so it does not depend on the packed
/// layout): C = I·(W − zw)ᵀ with identity activation rows is exact in int32, and W(j, k) = C[k, j] + zw[j] with zw the
/// per-column zero points (0 for symmetric weights). Costs n·k² multiply-adds (a one-off: saving a model, the
/// simulated path).
template <class ARange, class WRange>
std::vector<typename WRange::storage> unpack_q8(const kernels::packed_q8<ARange, WRange>& p) {
    static_assert(ARange::min <= 0 && ARange::max >= 1, "zoa: unpack_q8: the activation range must hold 0 and 1");
    using plan = typename kernels::packed_q8<ARange, WRange>::plan;
    const std::size_t n = p.n(), k = p.k(), chunk = 64;
    std::vector<std::int32_t> acc(n * k);
    std::vector<typename ARange::storage> eye(chunk * k);
    for (std::size_t k0 = 0; k0 < k; k0 += chunk) {
        const std::size_t rows = std::min(chunk, k - k0);
        std::fill(eye.begin(), eye.end(), typename ARange::storage(0));
        for (std::size_t r = 0; r < rows; ++r) eye[r * k + k0 + r] = 1;
        // C[m, j] = W(j, k0 + m) − zw[j] written to acc[j·k + k0 + m]
        const kernels::out_layout layout{1, static_cast<std::ptrdiff_t>(k), 0, 0};
        kernels::gemm_q8<ARange, WRange>(eye.data(), rows, static_cast<std::ptrdiff_t>(k), 0, p,
                                         kernels::out_i32{acc.data() + k0, layout});
    }
    std::vector<typename WRange::storage> w(n * k);
    for (std::size_t j = 0; j < n; ++j) {
        const std::int32_t zw = p.centred_zero_points()[j] + plan::w_offset;
        for (std::size_t i = j * k; i < (j + 1) * k; ++i) w[i] = static_cast<typename WRange::storage>(acc[i] + zw);
    }
    return w;
}

/// fp32 Linear (PyTorch semantics): y[r, n] = Σ_k x[r, k]·W[n, k] + b[n], W stored [out, in].
/// The weights are packed for kernels::gemm_f32 once at construction; nothing else is kept but the bias.
class linear {
public:
    linear() = default;

    /// Requires: weight holds out·in floats [out, in]; bias holds out floats (empty = no bias).
    /// Throws: zoa::error(shape) on a size mismatch naming `name`; zoa::error(numeric) for a non-finite weight.
    linear(const std::vector<float>& weight, std::vector<float> bias, std::size_t out, std::size_t in,
           const std::string& name = "linear")
        : bias_(std::move(bias)), out_(out), in_(in) {
        require(out > 0 && in > 0 && weight.size() == out * in, error_code::shape, name, ": weight has ", weight.size(),
                " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        w_.pack(weight.data(), out, in, static_cast<std::ptrdiff_t>(in), 1);
    }

    /// y [rows × out] = x [rows × in] · Wᵀ + b (rows contiguous). Bit-identical for any thread count of ctx.
    template <class = void>
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx) const {
        if (rows == 0) return;
        kernels::gemm_f32(x, rows, static_cast<std::ptrdiff_t>(in_), w_,
                          kernels::out_f32{y, kernels::row_major(static_cast<std::ptrdiff_t>(out_)),
                                           bias_.empty() ? nullptr : bias_.data()},
                          &ctx);
    }

    /// Input and output widths.
    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }
    /// The weights [out, in] (unpacked copy).
    template <class = void>
    std::vector<float> weight() const { return unpack_f32(w_); }
    const std::vector<float>& bias() const noexcept { return bias_; }
    /// Bytes of packed weights.
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of fp32 parameters kept besides the packed weights (the bias).
    std::size_t float_bytes() const noexcept { return bias_.size() * sizeof(float); }

private:
    kernels::packed_f32<default_arch> w_;
    std::vector<float> bias_;
    std::size_t out_ = 0, in_ = 0;
};

namespace detail {

/// Throws zoa::error(policy) naming `name` unless p fits a quantized layer of quant_config Config with `out` outputs:
/// weights uniform with Config's weight scheme and bit-width, 1 group or a divisor of `out` (row blocks, channels);
/// inputs uniform per tensor with Config's activation scheme and bit-width, or a post-GELU twin (symmetric
/// activations only); then both quantizers' own validate() (zoa::error(argument)).
template <class Config>
void check_layer_params(const quant::module_params& p, std::size_t out, const std::string& name) {
    constexpr bool affine_inputs = Config::activation_scheme == quant::scheme::asymmetric;
    const quant::quant_params& w = p.weight();
    const quant::quant_params& x = p.input();
    require(p.kind == quant::module_kind::weighted, error_code::policy, name,
            ": expected weight/input quantizers, got a/b (matmul) parameters");
    require(w.kind == quant::quantizer_kind::uniform && w.sch == Config::weight_scheme, error_code::policy, name,
            ": weights need a uniform ", quant::to_string(Config::weight_scheme), " quantizer, got ",
            quant::to_string(w.kind), "/", quant::to_string(w.sch));
    require(w.bits == Config::weight_bits, error_code::policy, name, ": weight quantizer has ", w.bits,
            " bits, the policy has ", Config::weight_bits);
    require(w.groups() == 1 || (w.groups() <= out && out % w.groups() == 0), error_code::policy, name, ": ",
            w.groups(), " weight scale groups do not divide ", out, " outputs");
    const bool uniform = x.kind == quant::quantizer_kind::uniform && x.sch == Config::activation_scheme;
    const bool twin = !affine_inputs && x.kind == quant::quantizer_kind::post_gelu_twin;
    require((uniform && x.groups() == 1) || twin, error_code::policy, name, ": inputs need a per-tensor ",
            quant::to_string(Config::activation_scheme), affine_inputs ? "" : " (or post-GELU twin)",
            " quantizer, got ", quant::to_string(x.kind), "/", quant::to_string(x.sch), " with ", x.groups(),
            " groups");
    require(x.bits == Config::activation_bits, error_code::policy, name, ": input quantizer has ", x.bits,
            " bits, the policy has ", Config::activation_bits);
    w.validate(name + ".weight_quant");
    x.validate(name + ".input_quant");
}

/// Quantizes n inputs with the uniform per-tensor quantizer p of a layer of quant_config Config into codes and
/// returns the input zero point za:
///   symmetric:  c = clamp(round(x/Δ), −2^(A−1), 2^(A−1)−1),   za = 0   (kernels::quantize_per_tensor)
///   asymmetric: c = clamp(round(x·fl(1/s)) + z, 0, 2^A−1),    za = z   (nn::quantize_activation, as PyTorch)
/// both equal to quant::encode / fake_quant element by element. Throws: zoa::error(numeric) for a NaN input.
template <class Config>
std::int32_t quantize_input(const float* x, std::size_t n, const quant::quant_params& p,
                            typename Config::activation_range::storage* codes, execution_context& ctx) {
    using range = typename Config::activation_range;
    if constexpr (Config::activation_scheme == quant::scheme::asymmetric) {
        quantize_activation(x, n, p, codes, static_cast<float*>(nullptr), ctx);
        return p.zero_point[0];
    } else {
        kernels::quantize_per_tensor(x, codes, n, p.scale[0], 0, int(range::min), int(range::max), ctx);
        return 0;
    }
}

/// The per-output weight scales and zero points (empty for symmetric weights) of `out` outputs from quantizer w,
/// whose groups split the outputs into equal consecutive blocks.
template <class = void>
inline void expand_weight_groups(const quant::quant_params& w, std::size_t out, std::vector<float>& scale,
                                 std::vector<std::int32_t>& zero_point) {
    const std::size_t per = out / w.groups();
    scale.resize(out);
    zero_point.resize(w.zero_point.empty() ? 0 : out);
    for (std::size_t j = 0; j < out; ++j) {
        scale[j] = w.scale[j / per];
        if (!w.zero_point.empty()) zero_point[j] = w.zero_point[j / per];
    }
}

/// Codes as the layer stores them, checked against WRange: zoa::error(numeric) naming `name`, the element and the
/// range for a code outside it (`cols` = elements per output, for the (row, column) in the message).
template <class WRange, class Code>
std::vector<typename WRange::storage> checked_codes(const std::vector<Code>& codes, std::size_t cols,
                                                    const std::string& name) {
    std::vector<typename WRange::storage> stored(codes.size());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        require(int(codes[i]) >= int(WRange::min) && int(codes[i]) <= int(WRange::max), error_code::numeric, name,
                ": weight code ", int(codes[i]), " at (", i / cols, ", ", i % cols, ") outside [", int(WRange::min),
                ", ", int(WRange::max), "]");
        stored[i] = static_cast<typename WRange::storage>(codes[i]);
    }
    return stored;
}

/// Ŵ = decode(codes) for weights of `out` rows quantized by w: (c − z_g)·s_g (affine) or c·Δ_g (symmetric).
template <class Code>
std::vector<float> decode_weights(const std::vector<Code>& c, std::size_t out, const quant::quant_params& w) {
    const std::size_t per_out = c.size() / out, per = out / w.groups();
    std::vector<float> r(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
        const std::size_t g = i / per_out / per;
        r[i] = w.zero_point.empty() ? quant::decode_symmetric(c[i], w.scale[g])
                                    : quant::decode_affine(c[i], w.scale[g], w.zero_point[g]);
    }
    return r;
}

}  // namespace detail

/// Quantized Linear. Q is a zoa::policy<...> bundle (bit-width, weight scheme, activation scheme) or a bare bit-width
/// option Bits = zoa::quant::bits<W, A>, which means PTQ4ViT's symmetric scheme (the ViT's layers). With
/// config = quant::config_of_t<Q>:
///   weights  symmetric:  Wc = clamp(round(W/Δw_g), −2^(W−1), 2^(W−1)−1),                         zw_g = 0;
///            asymmetric: Wc = clamp(round(W·fl(1/s_g)) + zw_g, 0, 2^W−1)  (affine, as PyTorch/MQBench);
///            one (Δ, zw) per tensor, per row block (qkv: q/k/v) or per output row; packed once for kernels::gemm_q8
///            (which carries the per-column zero points), the float weights are not kept;
///   inputs   symmetric uniform:  xc = clamp(round(x/Δx), −2^(A−1), 2^(A−1)−1),                  za = 0;
///            asymmetric uniform: xc = clamp(round(x·fl(1/s)) + za, 0, 2^A−1) (nn::quantize_activation);
///            y = float(Σ_k (xc − za)·(Wc − zw_n))·fl(Δx·Δw_n) + b_n   (exact int32 sum: gemm_q8 removes both zero
///            points with the row/column-sum algebra of kernels/operand_range.hpp, kernels::reference::gemm_q8 is the
///            scalar twin);
///            post-GELU twin (symmetric activations only): one signed code c (twin.hpp), split into c⁺ = max(c, 0)
///            and c⁻ = min(c, 0), y = float(Σ c⁺·Wc)·fl(Δ₊·Δw_n) + b_n + float(Σ c⁻·Wc)·fl(Δ₋·Δw_n).
/// The simulated path computes x̂ = fake_quant(x), Ŵ = decode(Wc) and y = x̂·Ŵᵀ + b in float; the two paths agree up
/// to float summation order (tests compare them).
template <class Q>
class qlinear {
    using config = quant::config_of_t<Q>;
    static_assert(config::quantized,
                  "zoa: nn::qlinear<Q>: Q must be a quantized policy or bit-width option, e.g. zoa::w8a8");

public:
    /// The resolved quantization choices, the code ranges of the activations and weights, and the packed weight type.
    using config_type = config;
    using a_range = typename config::activation_range;
    using w_range = typename config::weight_range;
    using packed_type = kernels::packed_q8<a_range, w_range>;
    /// True when the weights / inputs carry zero points (asymmetric scheme).
    static constexpr bool affine_weights = config::weight_scheme == quant::scheme::asymmetric;
    static constexpr bool affine_inputs = config::activation_scheme == quant::scheme::asymmetric;
    /// Weight codes as stored in files and returned by codes(): int8_t (signed) or uint8_t (affine, any width).
    using code_type = std::conditional_t<affine_weights, std::uint8_t, std::int8_t>;

    qlinear() = default;

    /// Quantizes weight [out, in] with p.weight() and packs the codes; p.input() is used on every call.
    /// Requires: p.weight() uniform with the policy's weight scheme and bit-width (1, row-block or `out` groups);
    /// p.input() uniform per tensor with the policy's activation scheme and bit-width, or (symmetric activations)
    /// a post-GELU twin.
    /// Throws: zoa::error(shape) naming `name` on size mismatches, zoa::error(policy) when the parameters do not
    /// fit the policy or the layer, zoa::error(argument/numeric) for invalid parameters or non-finite weights.
    qlinear(const std::vector<float>& weight, std::vector<float> bias, std::size_t out, std::size_t in,
            const quant::module_params& p, const std::string& name = "qlinear")
        : bias_(std::move(bias)), out_(out), in_(in), params_(p) {
        require(out > 0 && in > 0 && weight.size() == out * in, error_code::shape, name, ": weight has ", weight.size(),
                " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        detail::check_layer_params<config>(p, out, name);
        std::vector<code_type> codes(out * in);
        quant::encode(p.weight(), weight.data(), codes.size(), codes.data());
        init(codes, name);
    }

    /// Builds the layer from already quantized weight codes [out, in] (e.g. read from a quantized model file).
    /// Throws: zoa::error(shape) naming `name` when codes is not out × in or bias is neither empty nor out long;
    /// zoa::error(policy) as the float-weight constructor when the parameters do not fit the policy;
    /// zoa::error(numeric) naming the element for a code outside the weight range.
    qlinear(const std::vector<code_type>& codes, std::vector<float> bias, std::size_t out, std::size_t in,
            const quant::module_params& p, const std::string& name)
        : bias_(std::move(bias)), out_(out), in_(in), params_(p) {
        require(out > 0 && in > 0 && codes.size() == out * in, error_code::shape, name, ": weight codes have ",
                codes.size(), " values, expected ", out, " x ", in);
        require(bias_.empty() || bias_.size() == out, error_code::shape, name, ": bias has ", bias_.size(),
                " values, expected ", out);
        detail::check_layer_params<config>(p, out, name);
        init(codes, name);
    }

    /// y [rows × out] from x [rows × in] (see the class comment). Bit-identical for any thread count of ctx.
    /// ±Inf inputs saturate to the extreme codes (integer path). Throws: zoa::error(numeric) for a NaN input (integer
    /// path: integer codes cannot carry NaN; the simulated path propagates it).
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx,
                 quant_exec mode = quant_exec::integer) const {
        if (rows == 0) return;
        const std::size_t n = rows * in_;
        const quant::quant_params& in = params_.input();
        if (mode == quant_exec::simulated) {
            std::vector<float> xq(n);
            quant::fake_quant(in, x, xq.data(), n);
            const kernels::packed_f32<default_arch> wd(dequantized_weight().data(), out_, in_,
                                                       static_cast<std::ptrdiff_t>(in_), 1);
            kernels::gemm_f32(xq.data(), rows, static_cast<std::ptrdiff_t>(in_), wd,
                              kernels::out_f32{y, kernels::row_major(static_cast<std::ptrdiff_t>(out_)), bias_ptr()},
                              &ctx);
            return;
        }
        a_storage* const codes = thread_scratch<a_storage>(scratch_slot::linear_codes, n);
        const auto lda = static_cast<std::ptrdiff_t>(in_);
        const auto out_layout = kernels::row_major(static_cast<std::ptrdiff_t>(out_));
        if (in.kind == quant::quantizer_kind::uniform) {
            const std::int32_t za = detail::quantize_input<config>(x, n, in, codes, ctx);
            kernels::gemm_q8<a_range, w_range>(
                codes, rows, lda, za, w_,
                kernels::out_dequant{y, out_layout, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
            return;
        }
        if constexpr (!affine_inputs) {
            // post-GELU twin: c⁺ = clamp(round(x/Δ₊), 0, qmax−1) and c⁻ = clamp(round(x/Δ₋), −qmax, 0) as two
            // per-tensor quantizations (for x > 0, c⁻ = 0; for x ≤ 0, c⁺ = 0: exactly the twin's single code c split
            // by sign), then one GEMM per plane
            std::int8_t* const neg = thread_scratch<std::int8_t>(scratch_slot::linear_neg, n);
            const int qmax = 1 << (in.bits - 1);
            kernels::quantize_per_tensor(x, codes, n, in.scale[0], 0, 0, qmax - 1, ctx);
            kernels::quantize_per_tensor(x, neg, n, in.neg_scale, 0, -qmax, 0, ctx);
            forward_twin_codes(codes, neg, rows, y, ctx);
        }
    }

    /// The integer path of forward() for a post-GELU twin input given as its two code planes (rows × in each):
    ///   y = float(Σ c⁺·Wc)·fl(Δ₊·Δw_n) + b_n + float(Σ c⁻·Wc)·fl(Δ₋·Δw_n)
    /// (e.g. from kernels::gelu_quantize_twin, which fuses GELU with the split). Bit-identical for any thread count.
    /// Requires: symmetric activations (the twin's codes are signed).
    /// Throws: zoa::error(policy) unless the input quantizer is post-GELU twin; zoa::error(numeric) for codes outside
    /// the activation range.
    void forward_twin_codes(const std::int8_t* pos, const std::int8_t* neg, std::size_t rows, float* y,
                            execution_context& ctx) const {
        static_assert(!affine_inputs, "zoa: qlinear::forward_twin_codes: the post-GELU twin needs symmetric inputs");
        const quant::quant_params& in = params_.input();
        require(in.kind == quant::quantizer_kind::post_gelu_twin, error_code::policy,
                "qlinear::forward_twin_codes: the input quantizer is ", quant::to_string(in.kind), ", not post-GELU twin");
        if (rows == 0) return;
        const auto lda = static_cast<std::ptrdiff_t>(in_);
        const auto out_layout = kernels::row_major(static_cast<std::ptrdiff_t>(out_));
        kernels::gemm_q8<a_range, w_range>(
            pos, rows, lda, 0, w_,
            kernels::out_dequant{y, out_layout, in.scale[0], w_scale_.data(), w_scale_.size(), bias_ptr()}, &ctx);
        float* const tmp = thread_scratch<float>(scratch_slot::linear_tmp, rows * out_);
        kernels::gemm_q8<a_range, w_range>(
            neg, rows, lda, 0, w_,
            kernels::out_dequant{tmp, out_layout, in.neg_scale, w_scale_.data(), w_scale_.size(), nullptr},
            &ctx);
        ctx.parallel_for(rows, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t i = r0 * out_; i < r1 * out_; ++i) y[i] += tmp[i];
        });
    }

    /// Input and output widths, the float bias (empty = none) and the two quantizers (weight, input).
    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }
    const std::vector<float>& bias() const noexcept { return bias_; }
    const quant::module_params& params() const noexcept { return params_; }
    /// The weight codes [out, in] (unpacked copy).
    std::vector<code_type> codes() const {
        const auto w = unpack_q8(w_);
        return std::vector<code_type>(w.begin(), w.end());
    }
    /// Ŵ = decode(Wc) [out, in] (Wc·Δw, or (Wc − zw)·s for affine weights): exactly the reference's fake-quantized
    /// weights.
    std::vector<float> dequantized_weight() const { return detail::decode_weights(codes(), out_, params_.weight()); }
    /// Bytes of packed weights (+ per-column data).
    std::size_t packed_bytes() const noexcept { return w_.bytes(); }
    /// Bytes of fp32 parameters kept (bias and per-output weight scales).
    std::size_t float_bytes() const noexcept { return (bias_.size() + w_scale_.size()) * sizeof(float); }

private:
    using a_storage = typename a_range::storage;

    const float* bias_ptr() const noexcept { return bias_.empty() ? nullptr : bias_.data(); }

    void init(const std::vector<code_type>& codes, const std::string& name) {
        std::vector<std::int32_t> zp;
        detail::expand_weight_groups(params_.weight(), out_, w_scale_, zp);
        const auto stored = detail::checked_codes<w_range>(codes, in_, name);
        w_.pack(stored.data(), out_, in_, static_cast<std::ptrdiff_t>(in_), 1, zp.data(), zp.size());
    }

    packed_type w_;
    std::vector<float> bias_, w_scale_;
    std::size_t out_ = 0, in_ = 0;
    quant::module_params params_;
};

/// A user layer quantized by a policy bundle: quantized_linear<zoa::policy<zoa::w4a4,
/// quant::weight_scheme<quant::asymmetric, quant::per_channel>, quant::activation_scheme<quant::asymmetric>>>.
template <class Policy>
using quantized_linear = qlinear<Policy>;

namespace detail {
template <class Q, bool IsPolicy = is_policy_v<Q>>
struct quantized_of {
    static constexpr bool value = Q::quantized;  // a bit-width option
};
template <class Q>
struct quantized_of<Q, true> {
    static constexpr bool value = quant::quant_config<Q>::quantized;
};
}  // namespace detail

/// The Linear layer type for a bit-width option or a policy bundle Q: nn::linear when Q's bit-width is zoa::fp32,
/// nn::qlinear<Q> otherwise.
template <class Q>
using linear_for = std::conditional_t<detail::quantized_of<Q>::value, qlinear<Q>, linear>;

}  // namespace zoa::nn
