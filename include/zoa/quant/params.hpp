// zoa — calibrated quantizer parameters (scales, zero points, twin split/Δ₋, bit-widths) and the rules that pick
// them from ranges (PTQ4ViT max-based init, PyTorch/MQBench affine qparams)
// SPDX-License-Identifier: MIT
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/quant/bit_width.hpp"
#include "zoa/quant/granularity.hpp"
#include "zoa/quant/quantizer.hpp"
#include "zoa/quant/twin.hpp"

namespace zoa::quant {

/// Which formula a quantizer applies (quantizer.hpp / twin.hpp).
enum class quantizer_kind : int {
    none = 0,               ///< pass-through (fp32 operand, e.g. PTQ4ViT's patch-embed input)
    uniform = 1,            ///< symmetric or affine uniform quantizer, one scale (and zero point) per group
    post_gelu_twin = 2,     ///< PTQ4ViT post-GELU twin: Δ₊ per group (scale), fixed Δ₋ (neg_scale)
    post_softmax_twin = 3,  ///< PTQ4ViT post-softmax SoS twin: split (scale = {Δ_low = split/q})
};

/// Name of a quantizer kind, e.g. "post_gelu_twin".
template <class = void>
inline const char* to_string(quantizer_kind k) noexcept {
    switch (k) {
        case quantizer_kind::none:
            return "none";
        case quantizer_kind::uniform:
            return "uniform";
        case quantizer_kind::post_gelu_twin:
            return "post_gelu_twin";
        case quantizer_kind::post_softmax_twin:
            return "post_softmax_twin";
    }
    return "unknown";
}

/// The parameters of one quantizer (one operand of one layer). Plain data: copyable, comparable, serialisable.
struct quant_params {
    quantizer_kind kind = quantizer_kind::none;  ///< the formula applied
    scheme sch = scheme::symmetric;              ///< symmetric (scale only) or asymmetric (scale and zero point)
    granularity gran = granularity::per_tensor;  ///< how scale groups map onto the tensor
    int bits = 8;                                ///< code bit-width b, 2..8
    std::vector<float> scale;  ///< Δ per group (uniform), Δ₊ per group (post-GELU), {Δ_low} (post-softmax)
    std::vector<std::int32_t> zero_point;  ///< one per group for scheme::asymmetric, empty otherwise
    float neg_scale = 0.0f;                ///< post-GELU Δ₋ = 0.16997124254703522 / 2^(b−1)
    float split = 0.0f;                    ///< post-softmax split point (a power of two 2^−i after the search)

    /// Number of scale groups (1 for per-tensor; 0 for kind none).
    std::size_t groups() const noexcept { return scale.size(); }
    /// Smallest integer code: −2^(b−1) (symmetric, post-GELU), 0 (affine, post-softmax).
    template <class = void>
    int qmin() const noexcept {
        if (kind == quantizer_kind::post_softmax_twin) return 0;
        return (kind == quantizer_kind::uniform && sch == scheme::asymmetric) ? 0 : signed_min(bits);
    }
    /// Largest integer code: 2^(b−1)−1 (symmetric, post-GELU, post-softmax), 2^b−1 (affine).
    template <class = void>
    int qmax() const noexcept {
        return (kind == quantizer_kind::uniform && sch == scheme::asymmetric) ? unsigned_max(bits) : signed_max(bits);
    }

    /// Throws zoa::error(argument) naming `what` when the parameters are inconsistent: bits outside 2..8, no scales,
    /// a scale that is not finite and > 0, zero points missing or outside [qmin, qmax], a twin with several groups or
    /// a split outside (0, 1] or a Δ_low ≠ split/(2^(b−1)−1), a post-GELU Δ₋ that is not finite and > 0.
    template <class = void>
    void validate(const std::string& what) const {
        if (kind == quantizer_kind::none) return;
        require(bits >= 2 && bits <= 8, error_code::argument, what, ": bits must be in 2..8, got ", bits);
        require(!scale.empty(), error_code::argument, what, ": ", to_string(kind), " quantizer has no scale");
        for (std::size_t g = 0; g < scale.size(); ++g)
            require(std::isfinite(scale[g]) && scale[g] > 0.0f, error_code::argument, what, ": scale[", g,
                    "] must be finite and > 0, got ", scale[g]);
        if (kind == quantizer_kind::uniform && sch == scheme::asymmetric) {
            require(zero_point.size() == scale.size(), error_code::argument, what, ": ", scale.size(), " scales but ",
                    zero_point.size(), " zero points");
            for (std::size_t g = 0; g < zero_point.size(); ++g)
                require(zero_point[g] >= qmin() && zero_point[g] <= qmax(), error_code::argument, what, ": zero_point[",
                        g, "] = ", zero_point[g], " outside [", qmin(), ", ", qmax(), "]");
        } else {
            require(zero_point.empty(), error_code::argument, what, ": only asymmetric quantizers have zero points");
        }
        if (kind == quantizer_kind::post_gelu_twin)
            require(std::isfinite(neg_scale) && neg_scale > 0.0f, error_code::argument, what,
                    ": post-GELU twin needs a finite neg_scale > 0, got ", neg_scale);
        if (kind == quantizer_kind::post_softmax_twin) {
            require(scale.size() == 1, error_code::argument, what, ": post-softmax twin has one split, got ",
                    scale.size(), " groups");
            require(split > 0.0f && split <= 1.0f, error_code::argument, what, ": split must be in (0, 1], got ",
                    split);
            require(scale[0] == post_softmax_low_scale(split, bits), error_code::argument, what,
                    ": post-softmax scale must be split/(2^(b-1)-1) = ", post_softmax_low_scale(split, bits), ", got ",
                    scale[0]);
        }
    }

    friend bool operator==(const quant_params& a, const quant_params& b) {
        return a.kind == b.kind && a.sch == b.sch && a.gran == b.gran && a.bits == b.bits && a.scale == b.scale &&
               a.zero_point == b.zero_point && a.neg_scale == b.neg_scale && a.split == b.split;
    }
    friend bool operator!=(const quant_params& a, const quant_params& b) { return !(a == b); }
};

/// Which quantizer an operand gets before the search (the search then tunes its scales / split).
/// The PTQ4ViT search modules (calib_modules.hpp) accept scheme::symmetric only (PTQ4ViT has no zero points);
/// asymmetric specs describe MQBench layers, calibrated with observers (observer.hpp) instead.
struct operand_spec {
    quantizer_kind kind = quantizer_kind::uniform;  ///< uniform, post_gelu_twin, post_softmax_twin or none
    granularity gran = granularity::per_tensor;     ///< per_tensor, per_row_block, per_channel (weights), per_head
    std::size_t blocks = 1;                         ///< number of row blocks for per_row_block (qkv: 3)
    int bits = 8;                                   ///< code bit-width b, 2..8
    scheme sch = scheme::symmetric;                 ///< symmetric or asymmetric (uniform only)

    friend bool operator==(const operand_spec& x, const operand_spec& y) {
        return x.kind == y.kind && x.gran == y.gran && x.blocks == y.blocks && x.bits == y.bits && x.sch == y.sch;
    }
};

// ---- constructors ---------------------------------------------------------------------------------------------

/// A pass-through quantizer (fp32 operand).
template <class = void>
inline quant_params make_none() {
    return quant_params{};
}

/// Symmetric uniform quantizer with one Δ per group.
template <class = void>
inline quant_params make_symmetric(int bits, granularity g, std::vector<float> scales) {
    quant_params p;
    p.kind = quantizer_kind::uniform;
    p.sch = scheme::symmetric;
    p.gran = g;
    p.bits = bits;
    p.scale = std::move(scales);
    return p;
}

/// Affine (asymmetric) uniform quantizer with one (s, z) per group; codes in [0, 2^b−1].
template <class = void>
inline quant_params make_affine(int bits, granularity g, std::vector<float> scales, std::vector<std::int32_t> zps) {
    quant_params p = make_symmetric(bits, g, std::move(scales));
    p.sch = scheme::asymmetric;
    p.zero_point = std::move(zps);
    return p;
}

/// Post-GELU twin with searched Δ₊ per group and the fixed Δ₋ = 0.16997124254703522 / 2^(b−1).
template <class = void>
inline quant_params make_post_gelu(int bits, std::vector<float> pos_scales) {
    quant_params p = make_symmetric(bits, granularity::per_tensor, std::move(pos_scales));
    p.kind = quantizer_kind::post_gelu_twin;
    p.neg_scale = post_gelu_neg_scale(bits);
    return p;
}

/// Post-softmax twin with the given split; scale = {Δ_low = split / (2^(b−1) − 1)}.
template <class = void>
inline quant_params make_post_softmax(int bits, float split) {
    quant_params p = make_symmetric(bits, granularity::per_tensor, {post_softmax_low_scale(split, bits)});
    p.kind = quantizer_kind::post_softmax_twin;
    p.split = split;
    return p;
}

// ---- choosing parameters from ranges --------------------------------------------------------------------------

/// PTQ4ViT max-based initial interval: Δ = absmax / (2^(b−1) − 0.5) (float division by the Python double, which
/// torch rounds to float). Guard (deviation): absmax == 0 gives Δ = 1 instead of the reference's 0 (which would
/// turn every code into NaN); any Δ represents an all-zero tensor exactly.
/// Throws: zoa::error(numeric) when absmax is negative or not finite; `what` names the tensor.
template <class = void>
inline float symmetric_scale_from_absmax(float absmax, int bits, const char* what) {
    require(std::isfinite(absmax) && absmax >= 0.0f, error_code::numeric, what,
            ": max |x| must be finite and >= 0, got ", absmax);
    if (absmax == 0.0f) return 1.0f;
    return absmax / static_cast<float>(static_cast<double>(1 << (bits - 1)) - 0.5);
}

/// An affine scale and zero point.
struct affine_qparams {
    float scale;              ///< Δ
    std::int32_t zero_point;  ///< z, an integer code
};

/// PyTorch `_ObserverBase._calculate_qparams` for per_{tensor,channel}_affine (what MQBench's observers call):
///   lo = min(min, 0), hi = max(max, 0), s = max((hi − lo) / float(qmax − qmin), FLT_EPSILON),
///   z = clamp(qmin − round(lo / s), qmin, qmax).
/// An empty range (min = +inf or max = −inf, i.e. nothing observed) gives {1, 0} like PyTorch.
/// Throws: zoa::error(numeric) when min > max or either is NaN.
template <class = void>
inline affine_qparams affine_from_range(float min_val, float max_val, int qmin, int qmax) {
    if (std::isinf(min_val) && std::isinf(max_val) && min_val > 0.0f && max_val < 0.0f) return {1.0f, 0};
    require(!std::isnan(min_val) && !std::isnan(max_val) && min_val <= max_val, error_code::numeric,
            "affine_from_range: need min <= max, got min ", min_val, " max ", max_val);
    const float lo = min_val < 0.0f ? min_val : 0.0f;
    const float hi = max_val > 0.0f ? max_val : 0.0f;
    float s = (hi - lo) / static_cast<float>(qmax - qmin);
    if (!(s > FLT_EPSILON)) s = FLT_EPSILON;
    const float zf = static_cast<float>(qmin) - round_half_even(lo / s);
    const float zc = zf < static_cast<float>(qmin) ? static_cast<float>(qmin)
                                                   : (zf > static_cast<float>(qmax) ? static_cast<float>(qmax) : zf);
    return {s, static_cast<std::int32_t>(zc)};
}

/// Affine quant_params from per-group ranges (one (min, max) pair per group), b-bit codes [0, 2^b−1].
/// Throws: zoa::error(shape) when the vectors differ in length or are empty; see affine_from_range.
template <class = void>
inline quant_params affine_params_from_ranges(int bits, granularity g, const std::vector<float>& mins,
                                              const std::vector<float>& maxs) {
    require(!mins.empty() && mins.size() == maxs.size(), error_code::shape,
            "affine_params_from_ranges: need equal non-empty min/max vectors, got ", mins.size(), " and ", maxs.size());
    std::vector<float> s(mins.size());
    std::vector<std::int32_t> z(mins.size());
    for (std::size_t i = 0; i < mins.size(); ++i) {
        const affine_qparams q = affine_from_range(mins[i], maxs[i], 0, unsigned_max(bits));
        s[i] = q.scale;
        z[i] = q.zero_point;
    }
    return make_affine(bits, g, std::move(s), std::move(z));
}

/// Symmetric quant_params from per-group max |x| with the PTQ4ViT rule Δ = absmax / (2^(b−1) − 0.5).
/// Throws: zoa::error(shape) when absmax is empty; as make_symmetric for bad bits or scales.
template <class = void>
inline quant_params symmetric_params_from_absmax(int bits, granularity g, const std::vector<float>& absmax) {
    require(!absmax.empty(), error_code::shape, "symmetric_params_from_absmax: no groups");
    std::vector<float> s(absmax.size());
    for (std::size_t i = 0; i < absmax.size(); ++i) s[i] = symmetric_scale_from_absmax(absmax[i], bits, "absmax");
    return make_symmetric(bits, g, std::move(s));
}

}  // namespace zoa::quant
