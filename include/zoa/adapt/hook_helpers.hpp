// zoa — helpers for writing a model's adaptation hooks (model_hooks.hpp): the requested norm parameters per layer,
// feature packing, logits with and without the activation shift, embedding statistics
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/adapt/model_hooks.hpp"
#include "zoa/core/error.hpp"
#include "zoa/core/execution.hpp"
#include "zoa/kernels/statistics.hpp"

namespace zoa::adapt {

/// The affine parameters a forward_request asks for, per adapted norm layer: in the flat layout
/// [w_0 (c_0), b_0 (c_0), w_1 (c_1), b_1 (c_1), ...] layer i's weight starts at Σ_{j<i} 2·c_j and its bias c_i later.
/// weight(i) / bias(i) are null when the request carries no parameters (nn::layer_norm / nn::batch_norm then use their
/// own), so one forward serves both cases:
///     const zoa::adapt::norm_view theta(req, {256, 256});        // the widths of layout().norms, in order
///     ln1.forward(x, rows, y, ctx, theta.weight(0), theta.bias(0));
class norm_view {
public:
    /// channels: the widths of the adapted layers in layout().norms order.
    norm_view(const forward_request& req, std::initializer_list<std::size_t> channels)
        : p_(req.norm_params), offset_(channels.size() + 1, 0), width_(channels) {
        std::size_t i = 0;
        for (std::size_t c : channels) offset_[i + 1] = offset_[i] + 2 * c, ++i;
    }
    /// Layer i's requested weight γ (channels_i floats) or null. Throws: zoa::error(argument) for i out of range.
    template <class = void>
    const float* weight(std::size_t i) const { return p_ ? p_ + at(i) : nullptr; }
    /// Layer i's requested bias β (channels_i floats) or null. Throws: zoa::error(argument) for i out of range.
    template <class = void>
    const float* bias(std::size_t i) const { return p_ ? p_ + at(i) + width_[i] : nullptr; }

private:
    template <class = void>
    std::size_t at(std::size_t i) const {
        require(i < width_.size(), error_code::argument, "norm_view: layer ", i, " of ", width_.size());
        return offset_[i];
    }
    const float* p_;
    std::vector<std::size_t> offset_, width_;
};

/// One feature group of write_features: `width` floats per sample, sample b's at data + b·stride (stride 0 = width,
/// i.e. rows packed one after the other; a ViT's class token is every T·D floats: stride T·D).
struct feature_group {
    const float* data = nullptr;  ///< sample 0's features
    std::size_t width = 0;        ///< floats per sample
    std::size_t stride = 0;       ///< floats between samples (0 = width)
};

/// out.features [batch × Σ width] = the groups side by side, in the order of layout().feature_groups.
/// Throws: zoa::error(argument) for a group without data.
template <class = void>
inline void write_features(forward_result& out, std::size_t batch, std::initializer_list<feature_group> groups) {
    std::size_t total = 0;
    for (const feature_group& g : groups) {
        require(g.data != nullptr || batch == 0, error_code::argument, "write_features: a feature group has no data");
        total += g.width;
    }
    if (out.features.dimension() != 2 || out.features.shape(0) != batch || out.features.shape(1) != total)
        out.features = xt::xtensor<float, 2>::from_shape({batch, total});
    float* f = out.features.data();
    for (std::size_t b = 0; b < batch; ++b)
        for (const feature_group& g : groups) {
            std::memcpy(f, g.data + b * (g.stride ? g.stride : g.width), g.width * sizeof(float));
            f += g.width;
        }
}

/// out.logits = head(last) and, when req.shift is set, out.shifted_logits = head(last + shift) (the activation shift
/// added to every sample's classifier input; empty otherwise). last: batch × dim floats, contiguous; head is any
/// callable head(const float* x, std::size_t rows, float* logits) writing rows × classes floats, e.g.
///     [&](const float* x, std::size_t rows, float* y) { head_.forward(x, rows, y, ctx); }
template <class Head>
void write_logits(forward_result& out, const forward_request& req, const float* last, std::size_t batch,
                  std::size_t dim, std::size_t classes, Head&& head) {
    out.logits = xt::xtensor<float, 2>::from_shape({batch, classes});
    head(last, batch, out.logits.data());
    if (!req.shift) {
        out.shifted_logits = xt::xtensor<float, 2>();
        return;
    }
    std::vector<float> shifted(last, last + batch * dim);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t d = 0; d < dim; ++d) shifted[b * dim + d] += req.shift[d];
    out.shifted_logits = xt::xtensor<float, 2>::from_shape({batch, classes});
    head(shifted.data(), batch, out.shifted_logits.data());
}

/// When req.embedding_stats: out.embed_mean / embed_var = the per-dim mean and unbiased variance of the embedding e
/// [rows × dim] over its rows (kernels::feature_mean_var: mean_d = (1/n) Σ e[r,d], var_d = 1/(n−1) Σ (e[r,d] −
/// mean_d)²; one row: mean = the row, var = 0); otherwise both are cleared. For token embeddings pass
/// rows = batch·tokens.
template <class = void>
inline void write_embedding_stats(forward_result& out, const forward_request& req, const float* e, std::size_t rows,
                                  std::size_t dim, execution_context& ctx) {
    if (!req.embedding_stats) {
        out.embed_mean.clear();
        out.embed_var.clear();
        return;
    }
    out.embed_mean.resize(dim);
    out.embed_var.resize(dim);
    if (rows >= 2) {
        kernels::feature_mean_var(e, rows, dim, out.embed_mean.data(), out.embed_var.data(), ctx);
    } else {
        require(rows == 1 && e != nullptr, error_code::argument, "write_embedding_stats: no embedding rows");
        out.embed_mean.assign(e, e + dim);
        out.embed_var.assign(dim, 0.0f);
    }
}

/// As write_embedding_stats for an NCHW activation x [batch × channels × hw]: per-channel mean and unbiased variance
/// over (N, H, W) (kernels::channel_mean_var; a single value per channel gives var 0).
template <class = void>
inline void write_channel_stats(forward_result& out, const forward_request& req, const float* x, std::size_t batch,
                                std::size_t channels, std::size_t hw, execution_context& ctx) {
    if (!req.embedding_stats) {
        out.embed_mean.clear();
        out.embed_var.clear();
        return;
    }
    out.embed_mean.resize(channels);
    out.embed_var.resize(channels);
    if (batch * hw >= 2) {
        kernels::channel_mean_var(x, batch, channels, hw, out.embed_mean.data(), out.embed_var.data(), ctx);
    } else {
        require(batch * hw == 1 && x != nullptr, error_code::argument, "write_channel_stats: empty activation");
        out.embed_mean.assign(x, x + channels);
        out.embed_var.assign(channels, 0.0f);
    }
}

}  // namespace zoa::adapt
