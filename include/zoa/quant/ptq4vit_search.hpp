// zoa — PTQ4ViT scale search (candidate grid, alternating rounds, L2/cosine/Hessian metrics, zero-gradient guard,
// post-softmax split search) over a generic calibration "module"
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/quant/param_tensors.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"

namespace zoa::quant {

/// Similarity between the FP output O and the fake-quant output Ô (larger is better).
enum class search_metric : int {
    l2 = 0,       ///< −mean (O − Ô)²
    cosine = 1,   ///< mean over rows of cos(O_row, Ô_row), eps 1e-8 (torch.nn.functional.cosine_similarity)
    hessian = 2,  ///< −mean (g ⊙ (O − Ô))², g = dL/dO cached during calibration (PTQ4ViT's default)
};

/// Options of the PTQ4ViT search (defaults = quant_library/configs/PTQ4ViT.py).
struct search_options {
    search_metric metric = search_metric::hessian;  ///< similarity used to rank candidates
    double eq_alpha = 0.01;                         ///< candidate ratios eq_alpha + i·(eq_beta − eq_alpha)/eq_n ...
    double eq_beta = 1.2;                           ///< (upper end)
    int eq_n = 100;        ///< ... for i = 0..eq_n−1 (the reference never evaluates i = eq_n)
    int search_round = 3;  ///< rounds of (operand 0, then operand 1)
    int split_count = 20;  ///< post-softmax split candidates 2^−i, i = 0..split_count−1
    /// Spec §6 item 15: when every cached |g| < zero_grad_threshold the Hessian metric cannot rank candidates (all
    /// ties → candidate 0 → scale 0.01·init); the guard switches that module to L2 and reports it. false = reference.
    bool zero_grad_guard = true;
    double zero_grad_threshold = 1e-12;
    execution_context* context = nullptr;  ///< optional: candidates evaluated in parallel (identical results)
};

/// How the per-sample output of a module splits into the scale groups of one operand. A sample's output is viewed
/// as [outer_groups, rows, inner_groups, features] (row-major); group = outer·inner_groups + inner. Examples:
/// linear with per-tensor or per-row-block weights: {1, tokens, blocks, out/blocks}; linear input: {1, tokens, 1, out};
/// attention matmul per head: {heads, rows, 1, cols}; conv per output channel: {channels, 1, 1, H·W}.
struct search_layout {
    std::size_t outer_groups = 1;  ///< e.g. heads or output channels
    std::size_t rows = 1;          ///< e.g. tokens
    std::size_t inner_groups = 1;  ///< e.g. row blocks
    std::size_t features = 1;      ///< the dimension cosine similarity runs over
    /// Scale groups (outer_groups · inner_groups) and outputs per sample (the product of all four).
    std::size_t groups() const noexcept { return outer_groups * inner_groups; }
    std::size_t size() const noexcept { return outer_groups * rows * inner_groups * features; }
};

/// Outcome of one module's search.
struct search_result {
    module_params params;                                ///< the chosen quantizer parameters
    search_metric metric_used = search_metric::hessian;  ///< the metric actually used (l2 after a fallback)
    bool hessian_fallback = false;                       ///< the zero-gradient guard replaced Hessian by L2
    std::array<std::vector<int>, 2> chosen{};  ///< last round: winning candidate index per group (split index for SoS)
};

/// Counts over many modules, for the log of a whole-model calibration.
struct search_report {
    std::size_t modules = 0;                    ///< modules searched
    std::size_t hessian_fallbacks = 0;          ///< modules where the zero-gradient guard switched to L2
    std::vector<std::string> fallback_modules;  ///< their names
    /// Counts one module's result.
    void record(const std::string& name, const search_result& r) {
        ++modules;
        if (r.hessian_fallback) {
            ++hessian_fallbacks;
            fallback_modules.push_back(name);
        }
    }
};

namespace detail {
template <class M, class = void>
struct is_search_module : std::false_type {};
template <class M>
struct is_search_module<M, std::void_t<decltype(std::size_t{std::declval<const M&>().samples()}),
                                       decltype(std::size_t{std::declval<const M&>().sample_size()}),
                                       decltype(static_cast<const float*>(std::declval<const M&>().raw_output())),
                                       decltype(static_cast<const float*>(std::declval<const M&>().output_grad())),
                                       decltype(module_params{std::declval<const M&>().initial_params()}),
                                       decltype(search_layout{std::declval<const M&>().layout(std::size_t{0})}),
                                       decltype(std::declval<const M&>().forward(std::declval<const module_params&>(),
                                                                                 std::declval<float*>()))>>
    : std::true_type {};
}  // namespace detail

/// True when M models a calibration module:
///   std::size_t samples() const;  std::size_t sample_size() const;     cached samples, output elements per sample
///   const float* raw_output() const;  const float* output_grad() const;  FP output O and dL/dO (grad may be null)
///   module_params initial_params() const;                              PTQ4ViT max-based initial parameters
///   search_layout layout(std::size_t operand) const;                   output grouping for operand 0 / 1
///   void forward(const module_params& p, float* out) const;           all samples' outputs under fake-quant p
///                                                                      (called concurrently: must be thread-safe)
template <class M>
inline constexpr bool is_search_module_v = detail::is_search_module<M>::value;

/// Candidate ratio i of the grid: float(eq_alpha + i·(eq_beta − eq_alpha)/eq_n), computed in double like the
/// reference's Python list, then stored as float32 by torch.tensor.
inline float candidate_ratio(const search_options& o, int i) noexcept {
    return static_cast<float>(o.eq_alpha + i * (o.eq_beta - o.eq_alpha) / o.eq_n);
}

namespace detail {
/// Per-group similarity of one sample (double accumulation, fixed order), added into sim[g].
inline void add_similarity(search_metric metric, const search_layout& L, const float* raw, const float* sim_out,
                           const float* grad, double* sim) {
    const std::size_t row_len = L.inner_groups * L.features;
    for (std::size_t go = 0; go < L.outer_groups; ++go)
        for (std::size_t gi = 0; gi < L.inner_groups; ++gi) {
            double acc = 0.0;
            for (std::size_t r = 0; r < L.rows; ++r) {
                const std::size_t base = (go * L.rows + r) * row_len + gi * L.features;
                if (metric == search_metric::cosine) {
                    double w12 = 0, w1 = 0, w2 = 0;
                    for (std::size_t f = 0; f < L.features; ++f) {
                        const double a = raw[base + f], b = sim_out[base + f];
                        w12 += a * b;
                        w1 += a * a;
                        w2 += b * b;
                    }
                    const double n12 = w1 * w2 > 1e-16 ? w1 * w2 : 1e-16;  // clamp_min(eps²), eps = 1e-8
                    acc += w12 / std::sqrt(n12);
                } else {
                    double row = 0.0;
                    for (std::size_t f = 0; f < L.features; ++f) {
                        double d = double(raw[base + f]) - double(sim_out[base + f]);
                        if (metric == search_metric::hessian) d *= double(grad[base + f]);
                        row -= d * d;
                    }
                    acc += row / double(L.features);
                }
            }
            sim[go * L.inner_groups + gi] += acc / double(L.rows);
        }
}

/// Evaluates candidates [0, n): make(i) builds the trial params; returns sims[i·groups + g] summed over samples.
template <class Module, class Make>
std::vector<double> evaluate_candidates(const Module& m, std::size_t operand, std::size_t n, search_metric metric,
                                        execution_context* ctx, Make&& make) {
    const search_layout L = m.layout(operand);
    const std::size_t S = m.samples(), per = m.sample_size();
    require(L.size() == per, error_code::shape, "ptq4vit_search: layout of operand ", operand, " covers ", L.size(),
            " elements but the module outputs ", per, " per sample");
    const std::size_t G = L.groups();
    std::vector<double> sims(n * G, 0.0);
    auto run = [&](std::size_t b, std::size_t e) {
        std::vector<float> out(S * per);
        for (std::size_t i = b; i < e; ++i) {
            const module_params trial = make(i);
            m.forward(trial, out.data());
            for (std::size_t s = 0; s < S; ++s)
                add_similarity(metric, L, m.raw_output() + s * per, out.data() + s * per,
                               metric == search_metric::hessian ? m.output_grad() + s * per : nullptr,
                               sims.data() + i * G);
        }
    };
    if (ctx != nullptr)
        ctx->parallel_for(n, run);
    else
        run(0, n);
    return sims;
}

/// First index of the maximum of sims[i·G + g] over i (torch.argmax keeps the first of equal maxima).
inline int argmax_group(const std::vector<double>& sims, std::size_t n, std::size_t G, std::size_t g) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (sims[i * G + g] > sims[best * G + g]) best = i;
    return static_cast<int>(best);
}
}  // namespace detail

/// PTQ4ViT search for one module (PTQSLBatchingQuantLinear / ChannelwiseBatchingQuantConv2d /
/// PTQSLBatchingQuantMatMul / SoSPTQSLBatchingQuantMatMul .calibration_step2):
///   p = init = m.initial_params()
///   repeat search_round times, for operand 0 (weights / A) then operand 1 (inputs / B), skipping kind none:
///     uniform or post-GELU Δ₊: for i in 0..eq_n−1 set every group's scale to candidate_ratio(i)·init.scale[g]
///       (other operand at its current params), sim_i[g] = Σ_samples similarity over group g's outputs;
///       scale[g] = candidate_ratio(argmax_i sim_i[g])·init.scale[g]   (argmax per row-block / channel / head)
///     post-softmax twin: split_i = 2^−i, operand 1 UNQUANTIZED during this search (reference quirk, §6 item 16);
///       sim_i = Σ_samples mean over groups; split = split_{argmax}
/// Similarity per sample and group: l2 −mean(O−Ô)², hessian −mean(g⊙(O−Ô))², cosine mean over rows of cos.
/// Zero-gradient guard: metric hessian and max|g| < zero_grad_threshold ⇒ l2 (result.hessian_fallback = true).
/// Ensures: deterministic — the same module and options give bitwise the same parameters for any thread count.
/// Throws: zoa::error(argument) for bad options or a hessian metric without gradients, zoa::error(shape) for a
/// layout that does not match the module's output, zoa::error(numeric) unless the rounding mode is FE_TONEAREST.
template <class Module>
search_result ptq4vit_search(const Module& m, const search_options& opt = {}) {
    static_assert(is_search_module_v<Module>,
                  "zoa: ptq4vit_search: Module must provide samples(), sample_size(), raw_output(), output_grad(), "
                  "initial_params(), layout(operand) and forward(params, out); see is_search_module_v");
    require_round_to_nearest("ptq4vit_search");
    require(opt.eq_n >= 1 && opt.search_round >= 1 && opt.split_count >= 1 && opt.split_count <= 126,
            error_code::argument, "ptq4vit_search: need eq_n >= 1, search_round >= 1, 1 <= split_count <= 126; got ",
            opt.eq_n, ", ", opt.search_round, ", ", opt.split_count);
    require(m.samples() >= 1 && m.sample_size() >= 1, error_code::argument, "ptq4vit_search: module has no samples");

    search_result res;
    res.metric_used = opt.metric;
    if (opt.metric == search_metric::hessian) {
        require(m.output_grad() != nullptr, error_code::argument,
                "ptq4vit_search: metric hessian needs cached output gradients, module has none");
        if (opt.zero_grad_guard) {
            const float* g = m.output_grad();
            double gmax = 0.0;
            for (std::size_t i = 0, n = m.samples() * m.sample_size(); i < n; ++i)
                gmax = std::fabs(double(g[i])) > gmax ? std::fabs(double(g[i])) : gmax;
            if (gmax < opt.zero_grad_threshold) {
                res.metric_used = search_metric::l2;
                res.hessian_fallback = true;
            }
        }
    }

    const module_params init = m.initial_params();
    for (std::size_t k = 0; k < 2; ++k)
        init.operand[k].validate(std::string("ptq4vit_search: initial operand ") + init.role(k));
    module_params p = init;
    for (int round = 0; round < opt.search_round; ++round) {
        for (std::size_t op = 0; op < 2; ++op) {
            const quant_params& q0 = init.operand[op];
            if (q0.kind == quantizer_kind::none) continue;
            if (q0.kind == quantizer_kind::post_softmax_twin) {
                const std::size_t n = std::size_t(opt.split_count);
                auto split_of = [](std::size_t i) { return std::ldexp(1.0f, -static_cast<int>(i)); };
                const std::vector<double> sims =
                    detail::evaluate_candidates(m, op, n, res.metric_used, opt.context, [&](std::size_t i) {
                        module_params t = p;
                        t.operand[op] = make_post_softmax(q0.bits, split_of(i));
                        t.operand[1 - op] = make_none();  // B unquantized during the split search (reference)
                        return t;
                    });
                const std::size_t G = m.layout(op).groups();
                std::vector<double> mean(n, 0.0);
                for (std::size_t i = 0; i < n; ++i)
                    for (std::size_t g = 0; g < G; ++g) mean[i] += sims[i * G + g] / double(G);
                const int best = detail::argmax_group(mean, n, 1, 0);
                p.operand[op] = make_post_softmax(q0.bits, split_of(std::size_t(best)));
                res.chosen[op] = {best};
                continue;
            }
            const std::size_t G = q0.groups(), n = std::size_t(opt.eq_n);
            require(m.layout(op).groups() == G, error_code::shape, "ptq4vit_search: operand ", init.role(op), " has ",
                    G, " scale groups but its layout has ", m.layout(op).groups());
            const std::vector<double> sims =
                detail::evaluate_candidates(m, op, n, res.metric_used, opt.context, [&](std::size_t i) {
                    module_params t = p;
                    const float r = candidate_ratio(opt, int(i));
                    for (std::size_t g = 0; g < G; ++g) t.operand[op].scale[g] = r * q0.scale[g];
                    return t;
                });
            res.chosen[op].assign(G, 0);
            for (std::size_t g = 0; g < G; ++g) {
                const int best = detail::argmax_group(sims, n, G, g);
                res.chosen[op][g] = best;
                p.operand[op].scale[g] = candidate_ratio(opt, best) * q0.scale[g];
            }
        }
    }
    res.params = std::move(p);
    return res;
}

}  // namespace zoa::quant
