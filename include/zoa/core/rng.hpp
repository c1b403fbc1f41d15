// zoa — counter-based deterministic random numbers (Philox4x32-10) with our own samplers
// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace zoa {

/// Philox4x32-10 (Salmon et al., SC'11): a bijection of a 128-bit counter under a 64-bit key.
/// Round: (hi0,lo0) = M0·c0, (hi1,lo1) = M1·c2 (32×32→64 products);
///        c = {hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0};  k += (W0, W1).
inline std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> c, std::array<std::uint32_t, 2> k) noexcept {
    constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int r = 0; r < 10; ++r) {
        const std::uint64_t p0 = std::uint64_t{M0} * c[0], p1 = std::uint64_t{M1} * c[2];
        const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
        const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
        c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
        k[0] += W0;
        k[1] += W1;
    }
    return c;
}

/// A reproducible random stream: (seed, stream) select the sequence, identical on every platform and compiler.
/// Independent sub-streams come from distinct stream ids (e.g. one per batch or per layer), never from reseeding.
/// Samplers are zoa's own (never std::*_distribution, whose output is implementation-defined).
class rng {
public:
    /// The generator for (seed, stream), positioned at the start of that stream.
    explicit rng(std::uint64_t seed = 0, std::uint64_t stream = 0) noexcept
        : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, stream_(stream) {}

    /// A new generator on another stream with the same seed.
    rng split(std::uint64_t stream) const noexcept {
        rng r(0, stream);
        r.key_ = key_;
        return r;
    }

    /// Next 32 random bits. Block b of the stream = philox({b_lo, b_hi, stream_lo, stream_hi}, seed).
    std::uint32_t next_u32() noexcept {
        if (used_ == 4) {
            block_ = philox4x32({static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32),
                                 static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
                                key_);
            ++counter_;
            used_ = 0;
        }
        return block_[used_++];
    }

    /// Uniform float in [0, 1): (bits >> 8) · 2^-24, every value exactly representable.
    float uniform() noexcept { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }

    /// Uniform double in [0, 1) with 53 random bits.
    double uniform_double() noexcept {
        const std::uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;  // 27 + 26 bits
        return static_cast<double>((hi << 26) | lo) * (1.0 / 9007199254740992.0);
    }

    /// Uniform integer in [0, n) by Lemire's multiply-shift (bias < n / 2^32; n must be > 0).
    std::uint32_t uniform_index(std::uint32_t n) noexcept {
        return static_cast<std::uint32_t>((std::uint64_t{next_u32()} * n) >> 32);
    }

    /// Standard normal by Box–Muller: sqrt(−2 ln u1) · cos(2π u2), u1 ∈ (0,1]; the sine partner is cached.
    float normal() noexcept {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - uniform_double(), u2 = uniform_double();
        const double r = std::sqrt(-2.0 * std::log(u1)), t = 6.283185307179586 * u2;
        spare_ = static_cast<float>(r * std::sin(t));
        has_spare_ = true;
        return static_cast<float>(r * std::cos(t));
    }

    /// Poisson(lambda) sample. lambda < 10: Knuth's product of uniforms (count until Π u < e^{−λ});
    /// lambda ≥ 10: Hörmann's PTRS transformed rejection (the algorithm numpy uses). lambda ≤ 0 gives 0.
    std::int64_t poisson(double lambda) noexcept {
        if (!(lambda > 0.0)) return 0;
        if (lambda < 10.0) {
            const double limit = std::exp(-lambda);
            double prod = uniform_double();
            std::int64_t k = 0;
            while (prod > limit) {
                prod *= uniform_double();
                ++k;
            }
            return k;
        }
        const double slam = std::sqrt(lambda), loglam = std::log(lambda);
        const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
        for (;;) {
            const double u = uniform_double() - 0.5, v = uniform_double();
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(k);
            if (k < 0.0 || (us < 0.013 && v > us)) continue;
            if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
                -lambda + k * loglam - std::lgamma(k + 1.0))
                return static_cast<std::int64_t>(k);
        }
    }

private:
    std::array<std::uint32_t, 2> key_;
    std::uint64_t stream_;
    std::uint64_t counter_ = 0;
    std::array<std::uint32_t, 4> block_{};
    std::size_t used_ = 4;
    float spare_ = 0.0f;
    bool has_spare_ = false;
};

}  // namespace zoa
