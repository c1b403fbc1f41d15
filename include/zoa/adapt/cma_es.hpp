// zoa — CMA-ES (full covariance, active update, lazy eigendecomposition) with a pycma-style ask/tell interface
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "zoa/adapt/eigen_sym.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/rng.hpp"

namespace zoa::adapt {

/// Run-time options of cma_es. Defaults reproduce Hansen's tutorial (arXiv:1604.00772) with active CMA.
struct cma_options {
    std::size_t popsize = 0;         ///< λ; 0 → 4 + ⌊3 ln n⌋ (FOA uses 27). Must be ≥ 2.
    std::uint64_t seed = 0;          ///< generation g samples from zoa::rng(seed, stream = g)
    std::size_t eigen_interval = 0;  ///< generations between eigendecompositions; 0 → max(1, ⌊1/(c1+cμ)/n/10⌋)
    bool active = true;              ///< negative recombination weights for the worst ranks (pycma default)
    bool repair_injected = true;     ///< clip ‖C^{-1/2}(x−m)‖/σ of told-but-not-asked points to √n + 2n/(n+2)
    double condition_limit = 1e14;   ///< cond(C) cap: C += δ·I (cond → limit) when exceeded or λmin ≤ 0
};

/// Strategy parameters (Hansen 2016 tutorial, Table 1 and §A; α_cov = 2, c_m = 1):
///   w'_i = ln((λ+1)/2) − ln i;  μ = #{w'_i > 0} = ⌊λ/2⌋;  μ_eff = (Σ⁺w')²/Σ⁺w'²;  μ_eff⁻ = (Σ⁻w')²/Σ⁻w'²
///   c_σ = (μ_eff+2)/(n+μ_eff+5);  d_σ = 1 + 2·max(0, √((μ_eff−1)/(n+1)) − 1) + c_σ
///   c_c = (4 + μ_eff/n)/(n + 4 + 2μ_eff/n);  c_1 = 2/((n+1.3)² + μ_eff)
///   c_μ = min(1 − c_1, 2(1/4 + μ_eff + 1/μ_eff − 2)/((n+2)² + μ_eff))   (1/4 offset as in pycma / tutorial v2)
///   w_i = w'_i/Σ⁺w' (i ≤ μ);  w_i = w'_i·min(1 + c_1/c_μ, 1 + 2μ_eff⁻/(μ_eff+2), (1−c_1−c_μ)/(n c_μ))/Σ|w'⁻|
///   χ_n = E‖N(0,I)‖ ≈ √n (1 − 1/(4n) + 1/(21n²))
struct cma_parameters {
    /// Dimension n, population λ, parents μ, generations between eigendecompositions.
    std::size_t n = 0, lambda = 0, mu = 0, eigen_interval = 1;
    std::vector<double> weights;  ///< λ weights, non-increasing; positive ones sum to 1
    /// The strategy constants of the formulas above.
    double mueff = 0, mueff_minus = 0, cs = 0, damps = 0, cc = 0, c1 = 0, cmu = 0, chi_n = 0;

    /// Weights for a told population of `told` points, as pycma's RecombinationWeights(λ)(told):
    /// told ≥ λ: [w_1..w_μ, 0 × (told−λ), w_{μ+1}..w_λ] (extra ranks get zero weight, μ unchanged);
    /// μ < told < λ: [w_1..w_μ, w_{λ−(told−μ)+1}..w_λ];  told = μ: [w_1..w_μ].
    /// Throws: zoa::error(argument) if told < μ.
    template <class = void>
    std::vector<double> told_weights(std::size_t told) const {
        require(told >= mu, error_code::argument, "cma_es: tell needs at least mu = ", mu, " solutions, got ", told);
        std::vector<double> w(weights.begin(), weights.begin() + static_cast<std::ptrdiff_t>(mu));
        if (told >= lambda) {
            w.insert(w.end(), told - lambda, 0.0);
            w.insert(w.end(), weights.begin() + static_cast<std::ptrdiff_t>(mu), weights.end());
        } else {
            w.insert(w.end(), weights.end() - static_cast<std::ptrdiff_t>(told - mu), weights.end());
        }
        return w;
    }
};

/// Computes cma_parameters for dimension n and population λ (formulas on cma_parameters).
/// Throws: zoa::error(argument) if n == 0 or λ < 2.
template <class = void>
inline cma_parameters make_cma_parameters(std::size_t n, std::size_t lambda, bool active = true,
                                          std::size_t eigen_interval = 0) {
    require(n >= 1, error_code::argument, "cma_es: dimension must be >= 1, got 0");
    require(lambda >= 2, error_code::argument, "cma_es: popsize must be >= 2, got ", lambda);
    cma_parameters p;
    p.n = n;
    p.lambda = lambda;
    const double N = static_cast<double>(n);
    std::vector<double> raw(lambda);
    for (std::size_t i = 0; i < lambda; ++i)
        raw[i] = std::log((static_cast<double>(lambda) + 1.0) / 2.0) - std::log(static_cast<double>(i + 1));
    double spos = 0, spos2 = 0, sneg = 0, sneg2 = 0;
    for (double w : raw) {
        if (w > 0) spos += w, spos2 += w * w, ++p.mu;
        if (w < 0) sneg += w, sneg2 += w * w;
    }
    p.mueff = spos * spos / spos2;
    p.mueff_minus = sneg2 > 0 ? sneg * sneg / sneg2 : 0.0;
    p.cs = (p.mueff + 2.0) / (N + p.mueff + 5.0);
    p.damps = 1.0 + 2.0 * std::max(0.0, std::sqrt((p.mueff - 1.0) / (N + 1.0)) - 1.0) + p.cs;
    p.cc = (4.0 + p.mueff / N) / (N + 4.0 + 2.0 * p.mueff / N);
    p.c1 = 2.0 / ((N + 1.3) * (N + 1.3) + p.mueff);
    p.cmu = std::min(1.0 - p.c1, 2.0 * (0.25 + p.mueff + 1.0 / p.mueff - 2.0) / ((N + 2.0) * (N + 2.0) + p.mueff));
    p.chi_n = std::sqrt(N) * (1.0 - 1.0 / (4.0 * N) + 1.0 / (21.0 * N * N));
    const double neg_sum = std::min({1.0 + p.c1 / p.cmu, 1.0 + 2.0 * p.mueff_minus / (p.mueff + 2.0),
                                     (1.0 - p.c1 - p.cmu) / (N * p.cmu)});
    p.weights.resize(lambda);
    for (std::size_t i = 0; i < lambda; ++i) {
        if (raw[i] > 0) p.weights[i] = raw[i] / spos;
        else if (raw[i] < 0 && active) p.weights[i] = raw[i] * neg_sum / -sneg;
        else p.weights[i] = 0.0;
    }
    if (eigen_interval == 0) {
        const double gap = 1.0 / (p.c1 + p.cmu) / N / 10.0;
        eigen_interval = gap >= 1.0 ? static_cast<std::size_t>(std::floor(gap)) : 1;
    }
    p.eigen_interval = eigen_interval;
    return p;
}

/// CMA-ES minimiser in the pycma ask/tell style, double precision inside, float candidates outside.
///
/// Per generation g (Hansen 2016): ask() samples z_k ~ N(0,I) (zoa::rng(seed, g).normal(), k-major),
/// y_k = B D z_k, x_k = m + σ y_k. tell(X, f) ranks all told points by f (stable: ties keep told order) and
///   ⟨y⟩ = Σ_{i≤μ} w_i y_{i:told};  m ← m + σ⟨y⟩
///   p_σ ← (1−c_σ)p_σ + √(c_σ(2−c_σ)μ_eff) C^{-1/2}⟨y⟩,  C^{-1/2} = B D⁻¹ Bᵀ
///   h_σ = [‖p_σ‖/√(1−(1−c_σ)^{2(g+1)}) < (1.4 + 2/(n+1)) χ_n]
///   p_c ← (1−c_c)p_c + h_σ √(c_c(2−c_c)μ_eff) ⟨y⟩
///   C ← (1 + c_1 δ(h_σ) − c_1 − c_μ Σ_j w_j) C + c_1 p_c p_cᵀ + c_μ Σ_i w°_i y_i y_iᵀ,
///       δ(h_σ) = (1−h_σ) c_c (2−c_c),  w°_i = w_i (w_i ≥ 0) or w_i · n/‖C^{-1/2} y_i‖² (w_i < 0)
///   σ ← σ · exp(clip((c_σ/d_σ)(‖p_σ‖/χ_n − 1), −1, 1))      (the ±1 clip is pycma's)
/// B, D are recomputed from C (eigen_symmetric_inplace) at the first ask() at least `eigen_interval` generations
/// after the previous decomposition; in between the stale B, D are used for sampling and C^{-1/2}.
///
/// Told points that were not asked (FOA's previous best) get y = (x − m)/σ, clipped in Mahalanobis length to
/// √n + 2n/(n+2) (pycma repair_genotype) and take part in ranking, mean and covariance like any other point;
/// the told weights are cma_parameters::told_weights(told) (zero weight for the extra ranks, μ fixed).
/// Asked points are recognised by bitwise equality with the last ask(), and their exact double y is reused.
/// NaN fitness values are replaced by the median of the others (pycma); ±inf rank normally.
///
/// Memory: C packed upper triangle n(n+1)/2 doubles + B n² doubles + O(λn): 1.5 n² doubles (64 MB at n = 2304).
/// Cost per generation: O(λ n²) (sampling + covariance update); every eigen_interval generations O(n³).
/// Not thread-safe; deterministic for a seed (bitwise, any platform with IEEE doubles and the same libm).
class cma_es {
public:
    /// Best told point so far (asked or injected) and its fitness.
    struct best_solution {
        std::vector<float> x;                                ///< the point
        double f = std::numeric_limits<double>::infinity();  ///< its fitness (lower is better)
        std::size_t generation = 0;                          ///< generation whose tell() saw it (0-based)
        bool valid = false;                                  ///< false until the first tell()
    };

    /// Requires: x0 non-empty and finite, sigma0 > 0 finite, opt.popsize 0 or ≥ 2, condition_limit > 1.
    /// Throws: zoa::error(argument) otherwise.
    cma_es(std::vector<double> x0, double sigma0, cma_options opt = {}) : opt_(opt), x0_(std::move(x0)), sigma0_(sigma0) {
        require(!x0_.empty(), error_code::argument, "cma_es: x0 must not be empty");
        for (std::size_t i = 0; i < x0_.size(); ++i)
            require(std::isfinite(x0_[i]), error_code::argument, "cma_es: x0[", i, "] is not finite: ", x0_[i]);
        require(std::isfinite(sigma0) && sigma0 > 0, error_code::argument, "cma_es: sigma0 must be finite and > 0, got ",
                sigma0);
        require(opt.condition_limit > 1.0, error_code::argument, "cma_es: condition_limit must be > 1, got ",
                opt.condition_limit);
        const std::size_t n = x0_.size();
        const std::size_t lambda =
            opt.popsize ? opt.popsize : 4 + static_cast<std::size_t>(std::floor(3.0 * std::log(static_cast<double>(n))));
        par_ = make_cma_parameters(n, lambda, opt.active, opt.eigen_interval);
        reset();
    }

    /// Back to the state right after construction (mean x0, σ0, C = I, generation 0, no best); same seed.
    template <class = void>
    void reset() {
        const std::size_t n = par_.n;
        mean_ = x0_;
        sigma_ = sigma0_;
        pc_.assign(n, 0.0);
        ps_.assign(n, 0.0);
        c_.assign(n * (n + 1) / 2, 0.0);
        for (std::size_t i = 0; i < n; ++i) c_[packed(i, i)] = 1.0;
        bt_.assign(n * n, 0.0);
        for (std::size_t i = 0; i < n; ++i) bt_[i * n + i] = 1.0;
        d_.assign(n, 1.0);
        identity_ = true;
        dirty_ = false;
        gen_ = evals_ = last_eigen_gen_ = eigen_count_ = 0;
        asked_x_.clear();
        asked_y_.clear();
        asked_z2_.clear();
        asked_valid_ = false;
        best_ = best_solution{};
    }

    /// λ new candidates x_k = m + σ B D z_k (rounded to float). The reference stays valid until the next
    /// ask/tell/reset. Calling ask() twice in one generation returns the same candidates.
    template <class = void>
    const std::vector<std::vector<float>>& ask() {
        const std::size_t n = par_.n, lambda = par_.lambda;
        if (dirty_ && gen_ >= last_eigen_gen_ + par_.eigen_interval) update_eigen();
        rng r(opt_.seed, gen_);
        std::vector<double> z(lambda * n);
        for (double& v : z) v = static_cast<double>(r.normal());
        asked_y_.assign(lambda * n, 0.0);
        asked_z2_.assign(lambda, 0.0);
        for (std::size_t k = 0; k < lambda; ++k)
            for (std::size_t j = 0; j < n; ++j) asked_z2_[k] += z[k * n + j] * z[k * n + j];
        if (identity_) {
            for (std::size_t k = 0; k < lambda; ++k)
                for (std::size_t j = 0; j < n; ++j) asked_y_[k * n + j] = d_[j] * z[k * n + j];
        } else {  // y_k = Σ_j D_j z_kj b_j  (b_j = row j of Bᵀ, contiguous)
            for (std::size_t j = 0; j < n; ++j) {
                const double* bj = &bt_[j * n];
                for (std::size_t k = 0; k < lambda; ++k) {
                    const double a = d_[j] * z[k * n + j];
                    double* yk = &asked_y_[k * n];
                    for (std::size_t i = 0; i < n; ++i) yk[i] += a * bj[i];
                }
            }
        }
        asked_x_.assign(lambda, std::vector<float>(n));
        for (std::size_t k = 0; k < lambda; ++k)
            for (std::size_t i = 0; i < n; ++i)
                asked_x_[k][i] = static_cast<float>(mean_[i] + sigma_ * asked_y_[k * n + i]);
        asked_valid_ = true;
        return asked_x_;
    }

    /// Updates the distribution from told points and their fitness (lower is better).
    /// Requires: candidates.size() == fitness.size() ≥ μ; every candidate has n finite entries; not all NaN.
    /// Throws: zoa::error(argument|shape|numeric) naming the offending index.
    template <class = void>
    void tell(const std::vector<std::vector<float>>& candidates, const std::vector<double>& fitness) {
        const std::size_t n = par_.n, told = candidates.size();
        require(fitness.size() == told, error_code::argument, "cma_es::tell: ", told, " candidates but ", fitness.size(),
                " fitness values");
        const std::vector<double> w = par_.told_weights(told);
        for (std::size_t i = 0; i < told; ++i) {
            require(candidates[i].size() == n, error_code::shape, "cma_es::tell: candidate ", i, " has ",
                    candidates[i].size(), " entries, expected n = ", n);
            for (std::size_t j = 0; j < n; ++j)
                require(std::isfinite(candidates[i][j]), error_code::numeric, "cma_es::tell: candidate ", i, " entry ",
                        j, " is not finite");
        }
        const std::vector<double> f = replace_nan_by_median(fitness);

        // genotypes y_i and squared Mahalanobis lengths ‖C^{-1/2} y_i‖²
        std::vector<double> y(told * n);
        std::vector<double> m2(told);
        std::vector<char> used(asked_valid_ ? par_.lambda : 0, 0);
        for (std::size_t i = 0; i < told; ++i) {
            const std::size_t k = match_asked(candidates[i], i, used);
            if (k != npos) {
                used[k] = 1;
                std::copy_n(&asked_y_[k * n], n, &y[i * n]);
                m2[i] = asked_z2_[k];
                continue;
            }
            double* yi = &y[i * n];
            for (std::size_t j = 0; j < n; ++j) yi[j] = (static_cast<double>(candidates[i][j]) - mean_[j]) / sigma_;
            const double len = std::sqrt(mahalanobis2(yi));
            const double upper = std::sqrt(static_cast<double>(n)) + 2.0 * static_cast<double>(n) / (static_cast<double>(n) + 2.0);
            if (opt_.repair_injected && len > upper) {
                for (std::size_t j = 0; j < n; ++j) yi[j] *= upper / len;
                m2[i] = upper * upper;
            } else {
                m2[i] = len * len;
            }
        }

        std::vector<std::size_t> order(told);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&f](std::size_t a, std::size_t b) { return f[a] < f[b]; });
        if (f[order[0]] < best_.f || !best_.valid) {
            best_.x = candidates[order[0]];
            best_.f = f[order[0]];
            best_.generation = gen_;
            best_.valid = true;
        }

        // mean
        std::vector<double> yw(n, 0.0);
        for (std::size_t r = 0; r < par_.mu; ++r) {
            const double* yi = &y[order[r] * n];
            for (std::size_t j = 0; j < n; ++j) yw[j] += w[r] * yi[j];
        }
        for (std::size_t j = 0; j < n; ++j) mean_[j] += sigma_ * yw[j];

        // evolution paths
        const std::vector<double> cinv_yw = inv_sqrt_c(yw);
        const double a_s = std::sqrt(par_.cs * (2.0 - par_.cs) * par_.mueff);
        double ps2 = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            ps_[j] = (1.0 - par_.cs) * ps_[j] + a_s * cinv_yw[j];
            ps2 += ps_[j] * ps_[j];
        }
        const double ps_norm = std::sqrt(ps2);
        const double corr = std::sqrt(1.0 - std::pow(1.0 - par_.cs, 2.0 * static_cast<double>(gen_ + 1)));
        const bool hsig = ps_norm / corr < (1.4 + 2.0 / (static_cast<double>(n) + 1.0)) * par_.chi_n;
        const double a_c = hsig ? std::sqrt(par_.cc * (2.0 - par_.cc) * par_.mueff) : 0.0;
        for (std::size_t j = 0; j < n; ++j) pc_[j] = (1.0 - par_.cc) * pc_[j] + a_c * yw[j];

        // covariance: collect the rank-one terms (coefficient, vector)
        double wsum = 0.0;
        for (double wi : w) wsum += wi;
        const double delta_h = hsig ? 0.0 : par_.cc * (2.0 - par_.cc);
        const double decay = 1.0 + par_.c1 * delta_h - par_.c1 - par_.cmu * wsum;
        std::vector<double> coef;
        std::vector<const double*> vec;
        coef.push_back(par_.c1);
        vec.push_back(pc_.data());
        for (std::size_t r = 0; r < told; ++r) {
            double wr = w[r];
            if (wr == 0.0) continue;
            if (wr < 0.0) {
                const double l2 = m2[order[r]];
                if (!(l2 > 0.0)) continue;  // y = 0 contributes nothing
                wr *= static_cast<double>(n) / l2;
            }
            coef.push_back(par_.cmu * wr);
            vec.push_back(&y[order[r] * n]);
        }
        for (std::size_t i = 0; i < n; ++i) {
            double* ci = &c_[packed(i, i)];  // C_ij for j = i..n−1 is ci[j − i]
            const std::size_t len = n - i;
            for (std::size_t t = 0; t < len; ++t) ci[t] *= decay;
            for (std::size_t q = 0; q < coef.size(); ++q) {
                const double a = coef[q] * vec[q][i];
                const double* v = vec[q] + i;
                for (std::size_t t = 0; t < len; ++t) ci[t] += a * v[t];
            }
        }
        dirty_ = true;

        // step size
        const double s = std::clamp(par_.cs / par_.damps * (ps_norm / par_.chi_n - 1.0), -1.0, 1.0);
        sigma_ *= std::exp(s);

        ++gen_;
        evals_ += told;
        asked_valid_ = false;
    }

    /// Everything ask() and tell() carry from one generation to the next. The last asked population is not part of
    /// it: ask() regenerates it bitwise from (seed, generation) and the restored B, D.
    struct state {
        std::vector<double> mean, pc, ps, c, bt, d;  ///< m, p_c, p_σ, packed C, Bᵀ (n×n), D
        double sigma = 1.0;                   ///< step size σ
        bool identity = true, dirty = false;  ///< B = I still; C changed since the last decomposition
        /// Completed generations, told points, generation of the last decomposition, decompositions so far.
        std::size_t generation = 0, evaluations = 0, last_eigen_generation = 0, eigen_updates = 0;
        best_solution best;                   ///< best told point so far
    };
    /// A copy of the strategy's state; restore(snapshot()) continues bitwise as if nothing happened.
    template <class = void>
    state snapshot() const {
        return {mean_, pc_, ps_, c_, bt_, d_, sigma_, identity_, dirty_, gen_, evals_, last_eigen_gen_, eigen_count_,
                best_};
    }
    /// Continues from a snapshot of a cma_es with the same dimension, popsize and options.
    /// Throws: zoa::error(shape) when a vector's size does not match the dimension n; zoa::error(numeric) when σ
    /// is not finite and > 0; the strategy is unchanged then.
    template <class = void>
    void restore(const state& s) {
        const std::size_t n = par_.n;
        const auto check = [](const std::vector<double>& v, std::size_t want, const char* what) {
            require(v.size() == want, error_code::shape, "cma_es::restore: ", what, " has ", v.size(),
                    " entries, expected ", want);
        };
        check(s.mean, n, "mean");
        check(s.pc, n, "p_c");
        check(s.ps, n, "p_sigma");
        check(s.c, n * (n + 1) / 2, "C (packed)");
        check(s.bt, n * n, "B");
        check(s.d, n, "D");
        require(!s.best.valid || s.best.x.size() == n, error_code::shape, "cma_es::restore: best point has ",
                s.best.x.size(), " entries, expected ", n);
        require(std::isfinite(s.sigma) && s.sigma > 0, error_code::numeric, "cma_es::restore: sigma ", s.sigma,
                " is not finite and > 0");
        mean_ = s.mean, pc_ = s.pc, ps_ = s.ps, c_ = s.c, bt_ = s.bt, d_ = s.d;
        sigma_ = s.sigma;
        identity_ = s.identity, dirty_ = s.dirty;
        gen_ = s.generation, evals_ = s.evaluations, last_eigen_gen_ = s.last_eigen_generation;
        eigen_count_ = s.eigen_updates;
        best_ = s.best;
        asked_x_.clear();
        asked_y_.clear();
        asked_z2_.clear();
        asked_valid_ = false;
    }

    /// Distribution mean m (double precision).
    const std::vector<double>& mean() const noexcept { return mean_; }
    /// Step size σ.
    double sigma() const noexcept { return sigma_; }
    /// Best told point so far.
    const best_solution& best() const noexcept { return best_; }
    /// Completed generations (number of tell calls since construction/reset).
    std::size_t generation() const noexcept { return gen_; }
    /// Told points so far.
    std::size_t evaluations() const noexcept { return evals_; }
    /// Eigendecompositions performed so far.
    std::size_t eigen_updates() const noexcept { return eigen_count_; }
    std::size_t dimension() const noexcept { return par_.n; }
    std::size_t popsize() const noexcept { return par_.lambda; }
    const cma_parameters& parameters() const noexcept { return par_; }
    const cma_options& options() const noexcept { return opt_; }
    /// Evolution paths p_σ and p_c.
    const std::vector<double>& path_sigma() const noexcept { return ps_; }
    const std::vector<double>& path_c() const noexcept { return pc_; }
    /// Square roots of the eigenvalues of C at the last decomposition, ascending (all 1 before the first).
    const std::vector<double>& axis_lengths() const noexcept { return d_; }
    /// max D / min D at the last decomposition (√cond(C)).
    double axis_ratio() const noexcept { return *std::max_element(d_.begin(), d_.end()) / *std::min_element(d_.begin(), d_.end()); }
    /// Covariance entry C_ij (current C, not the decomposed one).
    template <class = void>
    double covariance(std::size_t i, std::size_t j) const { return i <= j ? c_[packed(i, j)] : c_[packed(j, i)]; }
    /// Bytes of the strategy state (C, B, vectors, last asked population).
    template <class = void>
    std::size_t state_bytes() const noexcept {
        std::size_t b = (c_.size() + bt_.size() + d_.size() + mean_.size() + pc_.size() + ps_.size() + x0_.size() +
                         asked_y_.size() + asked_z2_.size()) * sizeof(double);
        for (const auto& x : asked_x_) b += x.size() * sizeof(float);
        return b + best_.x.size() * sizeof(float);
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// Index of C_ij (i ≤ j) in the packed upper triangle: row i starts at i·n − i(i−1)/2.
    std::size_t packed(std::size_t i, std::size_t j) const noexcept { return i * par_.n - i * (i - 1) / 2 + (j - i); }

    /// Which asked point (not yet used) equals x bitwise; tries index `hint` first. npos if none.
    template <class = void>
    std::size_t match_asked(const std::vector<float>& x, std::size_t hint, const std::vector<char>& used) const {
        if (!asked_valid_) return npos;
        auto same = [&](std::size_t k) { return !used[k] && std::equal(x.begin(), x.end(), asked_x_[k].begin()); };
        if (hint < asked_x_.size() && same(hint)) return hint;
        for (std::size_t k = 0; k < asked_x_.size(); ++k)
            if (k != hint && same(k)) return k;
        return npos;
    }

    /// pycma: NaN fitness → median of the non-NaN values (mean of the two middle ones for an even count).
    template <class = void>
    static std::vector<double> replace_nan_by_median(const std::vector<double>& f) {
        std::vector<double> ok;
        for (double v : f)
            if (!std::isnan(v)) ok.push_back(v);
        require(!ok.empty(), error_code::numeric, "cma_es::tell: all ", f.size(), " fitness values are NaN");
        if (ok.size() == f.size()) return f;
        std::sort(ok.begin(), ok.end());
        const std::size_t h = ok.size() / 2;
        const double med = ok.size() % 2 ? ok[h] : 0.5 * (ok[h - 1] + ok[h]);
        std::vector<double> out(f);
        for (double& v : out)
            if (std::isnan(v)) v = med;
        return out;
    }

    /// C^{-1/2} v = B D⁻¹ Bᵀ v with the current (possibly stale) B, D.
    template <class = void>
    std::vector<double> inv_sqrt_c(const std::vector<double>& v) const {
        const std::size_t n = par_.n;
        std::vector<double> out(n, 0.0);
        if (identity_) {
            for (std::size_t j = 0; j < n; ++j) out[j] = v[j] / d_[j];
            return out;
        }
        for (std::size_t j = 0; j < n; ++j) {
            const double* bj = &bt_[j * n];
            double t = 0.0;
            for (std::size_t i = 0; i < n; ++i) t += bj[i] * v[i];
            t /= d_[j];
            for (std::size_t i = 0; i < n; ++i) out[i] += t * bj[i];
        }
        return out;
    }

    /// ‖D⁻¹ Bᵀ y‖² (squared Mahalanobis length of a genotype y under the current B, D).
    template <class = void>
    double mahalanobis2(const double* y) const {
        const std::size_t n = par_.n;
        double s = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            double t = 0.0;
            if (identity_) {
                t = y[j];
            } else {
                const double* bj = &bt_[j * n];
                for (std::size_t i = 0; i < n; ++i) t += bj[i] * y[i];
            }
            t /= d_[j];
            s += t * t;
        }
        return s;
    }

    /// B, D ← eig(C). If λmin ≤ 0 or λmax/λmin > L = condition_limit: C += δI with δ = (λmax − L λmin)/(L − 1),
    /// so that the new condition (λmax + δ)/(λmin + δ) is exactly L (eigenvectors unchanged).
    template <class = void>
    void update_eigen() {
        const std::size_t n = par_.n;
        for (std::size_t i = 0; i < n; ++i) std::copy_n(&c_[packed(i, i)], n - i, &bt_[i * n + i]);
        std::vector<double> ev(n);
        eigen_symmetric_inplace(n, bt_.data(), ev.data());
        const double lo = ev.front(), hi = ev.back();
        require(hi > 0.0 && std::isfinite(hi), error_code::numeric, "cma_es: covariance matrix has no positive eigenvalue",
                " (largest ", hi, ") at generation ", gen_);
        if (lo <= 0.0 || hi > opt_.condition_limit * lo) {
            const double delta = (hi - opt_.condition_limit * lo) / (opt_.condition_limit - 1.0);
            for (double& v : ev) v += delta;
            for (std::size_t i = 0; i < n; ++i) c_[packed(i, i)] += delta;
        }
        for (std::size_t j = 0; j < n; ++j) d_[j] = std::sqrt(ev[j]);
        identity_ = false;
        dirty_ = false;
        last_eigen_gen_ = gen_;
        ++eigen_count_;
    }

    cma_options opt_;
    cma_parameters par_;
    std::vector<double> x0_;
    double sigma0_;
    std::vector<double> mean_, pc_, ps_, c_, bt_, d_;
    double sigma_ = 1.0;
    bool identity_ = true, dirty_ = false;
    std::size_t gen_ = 0, evals_ = 0, last_eigen_gen_ = 0, eigen_count_ = 0;
    std::vector<std::vector<float>> asked_x_;
    std::vector<double> asked_y_, asked_z2_;
    bool asked_valid_ = false;
    best_solution best_;
};

}  // namespace zoa::adapt
