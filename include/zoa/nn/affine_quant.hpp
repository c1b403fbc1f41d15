// zoa — per-tensor affine activation quantizer (MQBench FixedFakeQuantize) on the integer path: codes and x̂ in one pass
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>

#include "zoa/core/xsimd.hpp"

#include "zoa/core/arch.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/detail/elementwise_simd.hpp"
#include "zoa/kernels/quantize.hpp"
#include "zoa/quant/params.hpp"
#include "zoa/quant/quantizer.hpp"

ZOA_DETAIL_AVX512_WARNINGS_BEGIN

namespace zoa::nn {

/// Throws zoa::error(policy) naming `what` unless p is a valid per-tensor asymmetric (affine) uniform quantizer whose
/// codes fit T (MQBench activations; 8-bit codes need uint8_t).
template <class T>
void require_affine_per_tensor(const quant::quant_params& p, const std::string& what) {
    require(p.kind == quant::quantizer_kind::uniform && p.sch == quant::scheme::asymmetric && p.groups() == 1,
            error_code::policy, what, ": expected a per-tensor asymmetric uniform quantizer, got ",
            quant::to_string(p.kind), "/", quant::to_string(p.sch), " with ", p.groups(), " groups");
    p.validate(what);
    require(p.qmax() <= int(std::numeric_limits<T>::max()), error_code::policy, what, ": ", p.bits,
            "-bit codes do not fit the storage type");
}

/// MQBench's per-tensor affine quantizer applied to n activations, producing the integer codes and their
/// dequantized values in one pass (either output may be null; xhat may alias x):
///   q[i] = clamp(nearbyint(x[i]·inv) + z, 0, 2^b − 1),  inv = fl(1/s)       (= quant::encode_affine; the product,
///                                                                          not x/s, as torch's fake_quantize)
///   x̂[i] = fl(q[i] − z)·s                                                    (= quant::decode_affine)
/// so x̂ == quant::fake_quant(p, x) bit for bit. Rounding: cvtps2dq / nearbyint in FE_TONEAREST (ties to even).
/// relu_first: quantize relu(x[i]) = (0 > x[i]) ? 0 : x[i] instead (kernels::relu then this, in one pass).
/// Threads: fixed 16384-element blocks over ctx (bit-identical for any thread count).
/// Throws: zoa::error(policy) when p is not per-tensor affine or its codes do not fit T; zoa::error(numeric) naming
/// the first NaN element (outputs are then partially written; ±Inf saturate like PyTorch).
template <class Arch = default_arch, class T>
void quantize_activation(const float* x, std::size_t n, const quant::quant_params& p, T* codes, float* xhat,
                         execution_context& ctx, bool relu_first = false) {
    static_assert(std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>,
                  "zoa: quantize_activation stores codes as int8_t or uint8_t");
    require_affine_per_tensor<T>(p, "quantize_activation");
    require(x != nullptr, error_code::argument, "quantize_activation: input is null");
    if (n == 0) return;
    using fbatch = xsimd::batch<float, Arch>;
    using ibatch = xsimd::batch<std::int32_t, Arch>;
    constexpr std::size_t w = fbatch::size;
    const float s = p.scale[0], inv = 1.0f / s;
    const std::int32_t z = p.zero_point[0];
    const float lo = static_cast<float>(p.qmin() - z), hi = static_cast<float>(p.qmax() - z);
    std::size_t first_nan = n;  // smallest NaN index over all blocks
    std::mutex m;
    kernels::detail::parallel_blocks(ctx, n, kernels::detail::elementwise_block, [&](std::size_t b, std::size_t e) {
        const fbatch vinv(inv), vs(s), vlo(lo), vhi(hi);
        const ibatch vz(z);
        std::size_t nan_at = n;
        std::size_t i = b;
        for (; i + w <= e; i += w) {
            fbatch xv = fbatch::load_unaligned(x + i);
            if (relu_first) xv = xsimd::select(fbatch(0.0f) > xv, fbatch(0.0f), xv);
            const fbatch v = xv * vinv;
            if (nan_at == n && xsimd::any(xsimd::isnan(v)))
                for (std::size_t l = 0; l < w && nan_at == n; ++l)
                    if (x[i + l] != x[i + l]) nan_at = i + l;
            const ibatch r = xsimd::nearbyint_as_int(xsimd::min(xsimd::max(v, vlo), vhi));  // q − z
            if (codes) kernels::detail::store_narrow<Arch, T>(r + vz, codes + i);
            if (xhat) (xsimd::to_float(r) * vs).store_unaligned(xhat + i);
        }
        for (; i < e; ++i) {
            const float v = relu_first && 0.0f > x[i] ? 0.0f : x[i];
            if (nan_at == n && v != v) nan_at = i;
            const std::int32_t q = quant::encode_affine(v, s, z, p.qmin(), p.qmax());
            if (codes) codes[i] = static_cast<T>(q);
            if (xhat) xhat[i] = quant::decode_affine(q, s, z);
        }
        if (nan_at < n) {
            std::lock_guard<std::mutex> lk(m);
            first_nan = nan_at < first_nan ? nan_at : first_nan;
        }
    });
    require(first_nan == n, error_code::numeric, "quantize_activation: element ", first_nan, " is NaN");
}

}  // namespace zoa::nn

ZOA_DETAIL_AVX512_WARNINGS_END
