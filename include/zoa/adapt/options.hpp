// zoa — ZOA's runtime options and the paper's per-architecture/bit-width defaults (spec §1.13)
// SPDX-License-Identifier: MIT
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "zoa/adapt/knowledge_bank.hpp"
#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/policy.hpp"
#include "zoa/quant/bit_width.hpp"

namespace zoa::adapt {

namespace detail {
template <class M, class = void>
struct has_model_traits : std::false_type {};
template <class M>
struct has_model_traits<M, std::void_t<typename M::policy_type, decltype(&M::family)>>
    : std::bool_constant<std::is_convertible_v<decltype(&M::family), const model_family*> &&
                         ::zoa::is_policy_v<typename M::policy_type>> {};
}  // namespace detail

/// True when Model declares what zoa_options::paper<Model>() reads: `using policy_type = zoa::policy<...>;` (its
/// bit-width) and `static constexpr zoa::adapt::model_family family` (models::vit and models::resnet do).
template <class Model>
inline constexpr bool has_model_traits_v = detail::has_model_traits<Model>::value;

/// ZOA's knobs. Defaults are main.py's argparse defaults; use zoa_options::paper<Model>() (or paper(family, bits)) for
/// the released scripts' per-setting values.
struct zoa_options {
    float lr = 0.005f;                 ///< SGD learning rate for ε (--lr)
    float momentum = 0.0f;             ///< SGD momentum (--spsa_momentum)
    float weight_decay = 0.4f;         ///< SGD weight decay for ε (--weight_decay)
    float lr_alpha = 0.01f;            ///< AdamW learning rate for α (--lr_alpha)
    float weight_decay_alpha = 0.1f;   ///< AdamW weight decay for α (--weight_decay_alpha)
    float spsa_c = 0.01f;              ///< perturbation scale c for ε (--spsa_c)
    float spsa_c_alpha = 0.05f;        ///< perturbation scale c_α for α (--spsa_c_alpha)
    int sp_avg = 1;                    ///< SPSA repetitions per step (--sp_avg)
    int steps = 1;                     ///< optimisation steps per batch (--steps)
    float lambda = 30.0f;              ///< weight of the statistics discrepancy (--lambda_bp)
    float alpha_scale = 10.0f;         ///< s in softmax(s·α) (--alpha_scale; never optimised)
    float weight_margin = 0.01f;       ///< target max mean|ε| after a save (hard-coded 0.01)
    float alpha_clip = 10.0f;          ///< α_new ∈ [−clip, clip] (hard-coded 10)
    float domain_t = 0.1f;             ///< shift threshold on the Jeffreys divergence (--domain_t)
    float domain_ema = 0.8f;           ///< domain statistics EMA (hard-coded 0.8/0.2)
    float shift_ema = 0.9f;            ///< activation-shift history EMA (hard-coded 0.9/0.1)
    std::size_t min_detect_batch = 64; ///< batches smaller than this skip detection (hard-coded 64)
    bool activation_shift = true;      ///< FOA's activation shifting of the head input
    std::uint64_t seed = 2020;         ///< perturbation stream seed (--seed)
    reference_fixes fixes;             ///< all false = reference-compatible

    /// The released scripts' values (scripts/zoa.sh, README): ViT W8A8 lr 5e-4, c 0.02; ViT W6A6 lr 2e-4, c 0.02;
    /// ResNet-50 W8A8 lr 1e-4, c 0.01, λ 1, domain_t 0.2. Settings without a script take the nearest one
    /// (ViT fp32 → W8A8, ViT W4A4 → W6A6, ResNet any → W8A8); documented in docs/adaptation.md.
    /// Throws: zoa::error(argument) when bits is neither 32 nor in 2..8.
    template <class = void>
    static zoa_options paper(model_family family, int bits) {
        require(bits == 32 || (bits >= 2 && bits <= 8), error_code::argument, "zoa_options::paper: bits ", bits,
                " not in {2..8, 32}");
        zoa_options o;
        if (family == model_family::vit) {
            o.lr = bits >= 8 ? 5e-4f : 2e-4f;
            o.spsa_c = 0.02f;
            o.lambda = 30.0f;
            o.domain_t = 0.1f;
        } else {
            o.lr = 1e-4f;
            o.spsa_c = 0.01f;
            o.lambda = 1.0f;
            o.domain_t = 0.2f;
        }
        return o;
    }

    /// paper(family, bits) for a model type: the family is Model::family and the bits are those of
    /// Model::policy_type's bit-width (the smaller of weight and activation bits; zoa::fp32 = 32), so the options
    /// cannot disagree with the model: zoa_options::paper<models::vit<zoa::ptq4vit<zoa::w6a6>>>() ==
    /// paper(model_family::vit, 6).
    template <class Model>
    static zoa_options paper() {
        static_assert(has_model_traits_v<Model>,
                      "zoa: zoa_options::paper<Model>(): Model must declare `using policy_type = zoa::policy<...>;` "
                      "and `static constexpr zoa::adapt::model_family family` (or call paper(family, bits))");
        using B = policy_get_t<typename Model::policy_type, axis::bit_width>;
        constexpr int bits = !B::quantized                             ? 32
                             : B::weight_bits < B::activation_bits ? B::weight_bits
                                                                     : B::activation_bits;
        return paper(Model::family, bits);
    }

    /// Every field's accepted range (the reference's defaults lie well inside; values outside are typos or
    /// experiments that wreck the stream, e.g. lr = 1e30 or momentum = 5):
    ///   lr, lr_alpha ∈ [0, 1]; momentum ∈ [0, 1); weight_decay, weight_decay_alpha ∈ [0, 10];
    ///   spsa_c, spsa_c_alpha ∈ [1e-6, 1]; sp_avg ∈ [1, 64]; steps ∈ [0, 64]; lambda ∈ [0, 1e4];
    ///   alpha_scale, alpha_clip ∈ (0, 1e3]; weight_margin ∈ (0, 1]; domain_t ∈ [0, 1e6];
    ///   domain_ema, shift_ema ∈ [0, 1].
    /// Throws: zoa::error(argument) naming the first invalid field, its value and its range.
    template <class = void>
    void validate() const {
        for (const auto& f : fields()) check(f, f.get(*this));
    }

    /// Sets the field named `key` (any name listed in validate(), and min_detect_batch ≥ 1) from a number, checked
    /// against its range before it is converted (sp_avg = 3e9 is refused, not wrapped to a negative int); integer
    /// fields take whole numbers only.
    /// Throws: zoa::error(argument) naming the key, the value and the range, or listing the known keys.
    template <class = void>
    void set(const std::string& key, double value) {
        for (const auto& f : fields())
            if (key == f.name) {
                check(f, value);
                f.set(*this, value);
                return;
            }
        std::string names;
        for (const auto& f : fields()) names += std::string(names.empty() ? "" : ", ") + f.name;
        fail(error_code::argument, "zoa_options: unknown key '", key, "' (expected one of ", names, ")");
    }

private:
    struct field {
        const char* name;
        double lo, hi;
        bool lo_open, hi_open, integer;
        double (*get)(const zoa_options&);
        void (*set)(zoa_options&, double);
    };

    template <class = void>
    static const std::vector<field>& fields() {
#define ZOA_OPTION_FIELD(member, lo, hi, lo_open, hi_open, integer)                                          \
    field {                                                                                                   \
        #member, lo, hi, lo_open, hi_open, integer, [](const zoa_options& o) { return double(o.member); },   \
            [](zoa_options& o, double v) { o.member = static_cast<decltype(o.member)>(v); }                 \
    }
        static const std::vector<field> f = {
            ZOA_OPTION_FIELD(lr, 0.0, 1.0, false, false, false),
            ZOA_OPTION_FIELD(momentum, 0.0, 1.0, false, true, false),
            ZOA_OPTION_FIELD(weight_decay, 0.0, 10.0, false, false, false),
            ZOA_OPTION_FIELD(lr_alpha, 0.0, 1.0, false, false, false),
            ZOA_OPTION_FIELD(weight_decay_alpha, 0.0, 10.0, false, false, false),
            ZOA_OPTION_FIELD(spsa_c, 1e-6, 1.0, false, false, false),
            ZOA_OPTION_FIELD(spsa_c_alpha, 1e-6, 1.0, false, false, false),
            ZOA_OPTION_FIELD(sp_avg, 1.0, 64.0, false, false, true),
            ZOA_OPTION_FIELD(steps, 0.0, 64.0, false, false, true),
            ZOA_OPTION_FIELD(lambda, 0.0, 1e4, false, false, false),
            ZOA_OPTION_FIELD(alpha_scale, 0.0, 1e3, true, false, false),
            ZOA_OPTION_FIELD(weight_margin, 0.0, 1.0, true, false, false),
            ZOA_OPTION_FIELD(alpha_clip, 0.0, 1e3, true, false, false),
            ZOA_OPTION_FIELD(domain_t, 0.0, 1e6, false, false, false),
            ZOA_OPTION_FIELD(domain_ema, 0.0, 1.0, false, false, false),
            ZOA_OPTION_FIELD(shift_ema, 0.0, 1.0, false, false, false),
            ZOA_OPTION_FIELD(min_detect_batch, 1.0, 1e9, false, false, true),
        };
#undef ZOA_OPTION_FIELD
        return f;
    }

    template <class = void>
    static void check(const field& f, double v) {
        const bool ok = std::isfinite(v) && (f.lo_open ? v > f.lo : v >= f.lo) && (f.hi_open ? v < f.hi : v <= f.hi) &&
                        (!f.integer || v == std::floor(v));
        require(ok, error_code::argument, "zoa_options: ", f.name, " = ", v, " is outside ", f.lo_open ? "(" : "[",
                f.lo, ", ", f.hi, f.hi_open ? ")" : "]", f.integer ? " (a whole number)" : "");
    }
};

}  // namespace zoa::adapt
