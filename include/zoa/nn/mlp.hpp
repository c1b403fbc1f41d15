// zoa — transformer MLP: fc1 → exact GELU → fc2, fp32 or PTQ4ViT-quantized (post-GELU twin on fc2's input)
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "zoa/core/aligned_buffer.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/activation.hpp"
#include "zoa/nn/linear.hpp"
#include "zoa/nn/scratch.hpp"

namespace zoa::nn {

/// timm Mlp on rows x [rows × D]: y = fc2(GELU(fc1(x))), GELU(x) = 0.5·x·(1 + erf(x/√2)) in fp32.
/// Quantized (Bits = bits<W, A>): fc1 and fc2 are qlinear; fc1's input per tensor, fc2's input with the
/// post-GELU twin quantizer (spec §4.1) — both given by the layers' parameters.
template <class Bits>
class mlp {
public:
    /// nn::linear for fp32, nn::qlinear<Bits> when quantized.
    using linear_type = linear_for<Bits>;

    mlp() = default;

    /// Throws: zoa::error(shape) naming `name` unless fc1 maps D → hidden and fc2 hidden → D.
    mlp(linear_type fc1, linear_type fc2, const std::string& name = "mlp")
        : fc1_(std::move(fc1)), fc2_(std::move(fc2)) {
        require(fc2_.in_features() == fc1_.out_features() && fc2_.out_features() == fc1_.in_features(),
                error_code::shape, name, ": fc1 maps ", fc1_.in_features(), " -> ", fc1_.out_features(), ", fc2 ",
                fc2_.in_features(), " -> ", fc2_.out_features(), "; expected D -> hidden -> D");
    }

    /// y [rows × D] = mlp(x [rows × D]); bit-identical for any thread count of ctx.
    void forward(const float* x, std::size_t rows, float* y, execution_context& ctx,
                 quant_exec mode = quant_exec::integer) const {
        if (rows == 0) return;
        const std::size_t n = rows * hidden();
        float* const h = thread_scratch<float>(scratch_slot::layer_0, n);
        if constexpr (Bits::quantized)
            fc1_.forward(x, rows, h, ctx, mode);
        else
            fc1_.forward(x, rows, h, ctx);
        if constexpr (Bits::quantized) {
            const quant::quant_params& in = fc2_.params().input();
            if (mode == quant_exec::integer && in.kind == quant::quantizer_kind::post_gelu_twin) {
                // GELU and the twin split in one pass (the same codes as gelu() then fc2's own quantization)
                std::int8_t* const pos = thread_scratch<std::int8_t>(scratch_slot::linear_codes, n);
                std::int8_t* const neg = thread_scratch<std::int8_t>(scratch_slot::linear_neg, n);
                kernels::gelu_quantize_twin(h, pos, neg, n, in.scale[0], in.neg_scale, 1 << (in.bits - 1), ctx);
                fc2_.forward_twin_codes(pos, neg, rows, y, ctx);
                return;
            }
        }
        kernels::gelu(h, h, n, ctx);
        if constexpr (Bits::quantized)
            fc2_.forward(h, rows, y, ctx, mode);
        else
            (void)mode, fc2_.forward(h, rows, y, ctx);
    }

    /// Input width D, hidden width, the two layers and the bytes held (packed integer weights / float parameters).
    std::size_t dim() const noexcept { return fc1_.in_features(); }
    std::size_t hidden() const noexcept { return fc1_.out_features(); }
    const linear_type& fc1() const noexcept { return fc1_; }
    const linear_type& fc2() const noexcept { return fc2_; }
    std::size_t packed_bytes() const noexcept { return fc1_.packed_bytes() + fc2_.packed_bytes(); }
    std::size_t float_bytes() const noexcept { return fc1_.float_bytes() + fc2_.float_bytes(); }

private:
    linear_type fc1_, fc2_;
};

}  // namespace zoa::nn
