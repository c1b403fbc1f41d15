// zoa — symmetric eigensolver: Householder tridiagonalisation + implicit QL with Wilkinson shift (no LAPACK)
// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "zoa/core/error.hpp"

namespace zoa::adapt {

namespace detail {
/// Σ_i a_i b_i with four interleaved partial sums (s_r = Σ_{i ≡ r mod 4}), added as (s0 + s1) + (s2 + s3):
/// a fixed order, so the result is deterministic, and independent lanes let the compiler vectorise.
inline double dot4(const double* a, const double* b, std::size_t n) noexcept {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}
}  // namespace detail

/// Eigen-decomposition A = Σ_j λ_j v_j v_jᵀ of a real symmetric n×n matrix, in place, in double precision.
///
/// Storage: `a` is row-major n×n. On entry only the upper triangle a[i·n + j], j ≥ i, is read (the strict lower
/// triangle is scratch). On exit row j holds the unit eigenvector v_j: a[j·n + i] = (v_j)_i, i.e. `a` is Vᵀ
/// (rows, not columns, so that every inner loop runs over contiguous memory); `values[j]` = λ_j, ascending.
///
/// Method (Golub & Van Loan §8.3, EISPACK tred2/tql2 lineage, written for row storage):
///  1. For k = 0..n−3, with x = A[k+1:, k] (= row k right of the diagonal, by symmetry):
///       α = −sign(x₀)·‖x‖,  v = x − α e₁,  β = 2/(vᵀv) = 1/(‖x‖(‖x‖ + |x₀|)),  H_k = I − β v vᵀ;
///       on the trailing block A₂₂ (upper triangle only): p = β A₂₂ v,  K = β/2 · vᵀp,  w = p − K v,
///       A₂₂ ← A₂₂ − v wᵀ − w vᵀ  (= H_k A₂₂ H_k).  T = Qᵀ A Q is tridiagonal, Q = H₀ H₁ ⋯ H_{n−3}.
///  2. P = Qᵀ = H_{n−3} ⋯ H₀ is accumulated in place by right products P ← P H_k, k = n−3 … 0.
///  3. Implicit QL on T (diagonal d, off-diagonal e_i = T[i+1][i]) with the shift of the eigenvalue of the
///     leading 2×2 block nearest d_l; each plane rotation R(i, i+1) of T is applied to rows i, i+1 of P, so at
///     the end P = (Q G)ᵀ = Vᵀ.  e_m is negligible when |e_m| ≤ ε·(|d_m| + |d_{m+1}|), ε = 2⁻⁵².
///  4. Eigenpairs are sorted ascending (row swaps).
/// Cost: ≈ 4/3 n³ (1) + 2/3 n³ (2) + ≈ 3 n³ (3) flops; memory n² (the input) + 5n doubles.
/// Requires: a.size() ≥ n², values.size() ≥ n (pointer form: the caller guarantees it).
/// Throws: zoa::error(numeric) if the upper triangle holds NaN/Inf, or QL needs more than 60 sweeps for one
///         eigenvalue (does not happen for finite symmetric input in practice).
inline void eigen_symmetric_inplace(std::size_t n, double* a, double* values) {
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i; j < n; ++j)
            require(std::isfinite(a[i * n + j]), error_code::numeric, "eigen_symmetric: entry (", i, ",", j,
                    ") of the ", n, "x", n, " matrix is not finite: ", a[i * n + j]);

    double* d = values;
    std::vector<double> e(n, 0.0), beta(n, 0.0), p(n, 0.0);
    auto row = [a, n](std::size_t i) { return a + i * n; };

    // ---- 1. Householder tridiagonalisation (upper triangle, row k stores v_k after step k) ----------------
    for (std::size_t k = 0; k + 2 < n; ++k) {
        double* x = row(k) + (k + 1);
        const std::size_t m = n - k - 1;
        d[k] = row(k)[k];
        double scl = 0.0;
        for (std::size_t i = 0; i < m; ++i) scl = std::max(scl, std::fabs(x[i]));
        if (scl == 0.0) {  // column already reduced: H_k = I
            e[k] = 0.0;
            beta[k] = 0.0;
            continue;
        }
        double ss = 0.0;
        for (std::size_t i = 0; i < m; ++i) ss += (x[i] / scl) * (x[i] / scl);
        const double norm = scl * std::sqrt(ss);
        const double alpha = x[0] >= 0.0 ? -norm : norm;
        const double b = 1.0 / (norm * (norm + std::fabs(x[0])));
        x[0] -= alpha;  // x now holds v (v₀ = x₀ − α has no cancellation)
        e[k] = alpha;
        beta[k] = b;
        // p = β A₂₂ v from the upper triangle: p_i += A_ii v_i + Σ_{j>i} A_ij v_j;  p_j += A_ij v_i.
        const std::size_t o = k + 1;
        std::fill(p.begin() + static_cast<std::ptrdiff_t>(o), p.end(), 0.0);
        for (std::size_t i = o; i < n; ++i) {
            const double* ai = row(i);
            const double vi = x[i - o];
            double* pp = p.data();
            for (std::size_t j = i + 1; j < n; ++j) pp[j] += ai[j] * vi;
            p[i] += ai[i] * vi + detail::dot4(ai + i + 1, x + (i + 1 - o), n - i - 1);
        }
        double vp = 0.0;
        for (std::size_t i = o; i < n; ++i) {
            p[i] *= b;
            vp += x[i - o] * p[i];
        }
        const double kk = 0.5 * b * vp;
        for (std::size_t i = o; i < n; ++i) p[i] -= kk * x[i - o];  // p := w
        for (std::size_t i = o; i < n; ++i) {                        // A₂₂ ← A₂₂ − v wᵀ − w vᵀ
            double* ai = row(i);
            const double vi = x[i - o], wi = p[i];
            const double* pw = p.data();
            for (std::size_t j = i; j < n; ++j) ai[j] -= vi * pw[j] + wi * x[j - o];
        }
    }
    if (n >= 2) {
        d[n - 2] = row(n - 2)[n - 2];
        d[n - 1] = row(n - 1)[n - 1];
        e[n - 2] = row(n - 2)[n - 1];
    } else {
        d[0] = a[0];
    }

    // ---- 2. P = H_{n−3} ⋯ H₀, built by right products; block k+1.. is identity-initialised on demand -----
    auto set_unit = [&](std::size_t r) {  // row r and column r (below r) of P become e_r
        double* ar = row(r);
        for (std::size_t j = r; j < n; ++j) ar[j] = (j == r) ? 1.0 : 0.0;
        for (std::size_t i = r + 1; i < n; ++i) row(i)[r] = 0.0;
    };
    if (n >= 2) {
        set_unit(n - 1);
        set_unit(n - 2);
    }
    for (std::size_t kk = n >= 3 ? n - 2 : 0; kk-- > 0;) {  // kk = n−3 … 0
        const std::size_t o = kk + 1;
        set_unit(o);  // row o held v_o (consumed); column o of H_{n−3}⋯H_{o} … is e_o
        const double b = beta[kk];
        if (b == 0.0) continue;
        const double* v = row(kk) + o;
        for (std::size_t i = o; i < n; ++i) {  // row_i(P[:, o:]) ← row_i − β (row_i · v) vᵀ
            double* ai = row(i) + o;
            const double t = b * detail::dot4(ai, v, n - o);
            for (std::size_t j = 0; j + o < n; ++j) ai[j] -= t * v[j];
        }
    }
    {
        double* a0 = row(0);
        a0[0] = 1.0;
        for (std::size_t j = 1; j < n; ++j) a0[j] = 0.0;
        for (std::size_t i = 1; i < n; ++i) row(i)[0] = 0.0;
    }

    // ---- 3. implicit QL with shifts; rotations applied to rows of P ------------------------------------------
    constexpr double eps = std::numeric_limits<double>::epsilon();
    e[n - 1] = 0.0;
    for (std::size_t l = 0; l < n; ++l) {
        int sweeps = 0;
        for (;;) {
            std::size_t m = l;
            for (; m + 1 < n; ++m) {
                const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
                if (std::fabs(e[m]) <= eps * dd) break;
            }
            if (m == l) break;
            require(++sweeps <= 60, error_code::numeric, "eigen_symmetric: QL did not converge for eigenvalue ", l,
                    " of a ", n, "x", n, " matrix after 60 sweeps");
            // shift: eigenvalue of [[d_l, e_l],[e_l, d_{l+1}]] closest to d_l, written as g = d_m − d_l + e_l/(g ± r)
            double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            double r = std::hypot(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + (g >= 0.0 ? r : -r));
            double s = 1.0, c = 1.0, pshift = 0.0;
            bool deflated = false;
            for (std::size_t i = m; i-- > l;) {
                const double f = s * e[i], bb = c * e[i];
                r = std::hypot(f, g);
                e[i + 1] = r;
                if (r == 0.0) {  // underflow: split the matrix here and restart
                    d[i + 1] -= pshift;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - pshift;
                r = (d[i] - g) * s + 2.0 * c * bb;
                pshift = s * r;
                d[i + 1] = g + pshift;
                g = c * r - bb;
                // rows i, i+1 of P:  (v_i, v_{i+1}) ← (c v_i − s v_{i+1},  s v_i + c v_{i+1})
                double* ri = row(i);
                double* rj = row(i + 1);
                for (std::size_t k = 0; k < n; ++k) {
                    const double vi = ri[k], vj = rj[k];
                    rj[k] = s * vi + c * vj;
                    ri[k] = c * vi - s * vj;
                }
            }
            if (deflated) continue;
            d[l] -= pshift;
            e[l] = g;
            e[m] = 0.0;
        }
    }

    // ---- 4. ascending order (selection sort with row swaps: n swaps of n doubles) -----------------------------
    for (std::size_t i = 0; i + 1 < n; ++i) {
        std::size_t k = i;
        for (std::size_t j = i + 1; j < n; ++j)
            if (d[j] < d[k]) k = j;
        if (k != i) {
            std::swap(d[i], d[k]);
            std::swap_ranges(row(i), row(i) + n, row(k));
        }
    }
}

/// Result of eigen_symmetric: values ascending; vectors row-major with row j = unit eigenvector j.
struct eigen_result {
    std::vector<double> values;   ///< n eigenvalues, ascending
    std::vector<double> vectors;  ///< n × n, row j = eigenvector of values[j]
};

/// Copying convenience wrapper around eigen_symmetric_inplace (reads the upper triangle of `a`, n×n row-major).
/// Throws: zoa::error(shape) if a.size() != n², plus the errors of eigen_symmetric_inplace.
inline eigen_result eigen_symmetric(std::size_t n, const std::vector<double>& a) {
    require(a.size() == n * n, error_code::shape, "eigen_symmetric: matrix has ", a.size(), " entries, expected n*n = ",
            n * n, " for n = ", n);
    eigen_result r{std::vector<double>(n), a};
    eigen_symmetric_inplace(n, r.vectors.data(), r.values.data());
    return r;
}

}  // namespace zoa::adapt
