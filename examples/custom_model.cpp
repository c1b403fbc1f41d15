// zoa — custom_model: your own network built from zoa layers, made adaptable (layout + forward_adapt), adapted by ZOA
// SPDX-License-Identifier: MIT
//
// The network (fp32, Fashion-MNIST 28×28 gray images flattened to 784 values):
//
//   e  = fc1(x)                     784 → 256   the "embedding" (its statistics drive domain-shift detection)
//   h1 = GELU(LN1(e))                           LN1 adapted by ZOA
//   h2 = LN2(fc2(h1))               256 → 256   LN2 adapted by ZOA
//   logits = head(h2)               256 → 10
//
// fc1 and fc2 are random projections and the head is a nearest-class-mean classifier fitted on clean training images
// (no backprop anywhere), so the whole program needs no weight file. With trained weights, load them with
// zoa::io::safetensors_file and pass them to the same constructors (docs/tutorials/adapt-your-own-network.md).
//
// Usage: custom_model [images per corruption, default 512]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace {

using batch_t = xt::xtensor<float, 4>;  // [B, 1, 28, 28], normalized: (pixel/255 − 0.5)/0.5

class tiny_mlp {
public:
    static constexpr std::size_t in = 784, dim = 256, classes = 10;

    /// fc1, fc2: N(0, 1/fan_in) weights from a seeded zoa::rng (same network on every machine); LN: w = 1, b = 0.
    explicit tiny_mlp(std::uint64_t seed) {
        zoa::rng r(seed);
        auto gaussian = [&](std::size_t n, std::size_t fan_in) {
            std::vector<float> w(n);
            for (float& v : w) v = r.normal() / std::sqrt(static_cast<float>(fan_in));
            return w;
        };
        fc1_ = zoa::nn::linear(gaussian(dim * in, in), std::vector<float>(dim, 0.0f), dim, in, "fc1");
        fc2_ = zoa::nn::linear(gaussian(dim * dim, dim), std::vector<float>(dim, 0.0f), dim, dim, "fc2");
        ln1_ = zoa::nn::layer_norm(std::vector<float>(dim, 1.0f), std::vector<float>(dim, 0.0f), 1e-6f, "ln1");
        ln2_ = zoa::nn::layer_norm(std::vector<float>(dim, 1.0f), std::vector<float>(dim, 0.0f), 1e-6f, "ln2");
    }

    /// Nearest class mean on h2: logits_c = h2·μ_c − ½‖μ_c‖², μ_c = mean of h2 over the class's images.
    void fit_head(const std::vector<batch_t>& batches, const std::vector<int>& labels) {
        std::vector<double> sum(classes * dim, 0.0);
        std::vector<std::size_t> count(classes, 0);
        zoa::adapt::forward_result r;
        std::size_t k = 0;
        for (const auto& x : batches) {
            forward_adapt(x, {}, r);
            for (std::size_t b = 0; b < r.features.shape(0); ++b, ++k) {
                const auto c = static_cast<std::size_t>(labels[k]);
                ++count[c];
                for (std::size_t d = 0; d < dim; ++d) sum[c * dim + d] += r.features(b, dim + d);
            }
        }
        std::vector<float> w(classes * dim), bias(classes);
        for (std::size_t c = 0; c < classes; ++c) {
            double norm2 = 0;
            for (std::size_t d = 0; d < dim; ++d) {
                w[c * dim + d] = static_cast<float>(sum[c * dim + d] / static_cast<double>(count[c] ? count[c] : 1));
                norm2 += double(w[c * dim + d]) * w[c * dim + d];
            }
            bias[c] = static_cast<float>(-0.5 * norm2);
        }
        head_ = zoa::nn::linear(w, bias, classes, dim, "head");
        has_head_ = true;
    }

    // ---- what ZOA needs: the model type's policy and family, layout() and forward_adapt() -----------------------
    using policy_type = zoa::policy<zoa::fp32>;                       // an fp32 network (zoa_options::paper reads it)
    static constexpr auto family = zoa::adapt::model_family::vit;     // LayerNorm networks take ZOA's ViT loss form

    /// What ZOA may change (the affine parameters of LN1 and LN2, in this order) and what it observes (two feature
    /// groups of 256: h1 and h2; the last one feeds the classifier).
    zoa::adapt::adapt_layout layout() const {
        zoa::adapt::adapt_layout l;
        l.norms = {{"ln1", dim, ln1_.weight().data(), ln1_.bias().data()},
                   {"ln2", dim, ln2_.weight().data(), ln2_.bias().data()}};
        l.feature_groups = {dim, dim};
        l.num_classes = classes;
        l.family = family;
        return l;
    }

    /// One forward pass with the affine parameters ZOA asks for (req.norm_params, or the layers' own), the features
    /// [h1 | h2], the logits with and without req.shift added to h2, and the statistics of the embedding e.
    void forward_adapt(const batch_t& x, const zoa::adapt::forward_request& req,
                       zoa::adapt::forward_result& out) const {
        zoa::require(x.dimension() == 4 && x.shape(1) * x.shape(2) * x.shape(3) == in, zoa::error_code::shape,
                     "tiny_mlp: expected a batch [B, 1, 28, 28], got ", x.shape(1), "x", x.shape(2), "x", x.shape(3));
        const std::size_t B = x.shape(0);
        const zoa::adapt::norm_view theta(req, {dim, dim});  // LN1's and LN2's requested γ, β (null = their own)
        auto& ctx = *ctx_;
        std::vector<float> e(B * dim), h(B * dim), t(B * dim);
        fc1_.forward(x.data(), B, e.data(), ctx);
        ln1_.forward(e.data(), B, h.data(), ctx, theta.weight(0), theta.bias(0));
        zoa::kernels::gelu(h.data(), h.data(), h.size(), ctx);
        fc2_.forward(h.data(), B, t.data(), ctx);
        ln2_.forward(t.data(), B, t.data(), ctx, theta.weight(1), theta.bias(1));
        zoa::adapt::write_features(out, B, {{h.data(), dim}, {t.data(), dim}});
        zoa::adapt::write_logits(out, req, t.data(), B, dim, classes, [&](const float* f, std::size_t n, float* y) {
            if (has_head_)
                head_.forward(f, n, y, ctx);
            else
                std::fill(y, y + n * classes, 0.0f);  // before fit_head: uniform predictions
        });
        zoa::adapt::write_embedding_stats(out, req, e.data(), B, dim, ctx);
    }

private:
    zoa::nn::linear fc1_, fc2_, head_;
    zoa::nn::layer_norm ln1_, ln2_;
    bool has_head_ = false;
    std::shared_ptr<zoa::execution_context> ctx_ = std::make_shared<zoa::execution_context>(1);
};

static_assert(zoa::adapt::is_adaptable_v<tiny_mlp, batch_t>, "tiny_mlp must satisfy the adaptation hooks");

/// Images [first, first + n) of a Fashion-MNIST split, optionally corrupted (severity 5), as one batch.
batch_t make_batch(const zoa::data::idx_dataset& ds, std::size_t first, std::size_t n, const std::string& corruption) {
    zoa::io::preprocess_config pre;
    pre.channels = 1;
    pre.mean = {0.5f};
    pre.std_dev = {0.5f};
    std::vector<zoa::data::image> images;
    for (std::size_t i = first; i < first + n; ++i)
        images.push_back(corruption.empty() ? ds.get(i, 1) : zoa::data::corrupt(ds.get(i, 1), corruption, 5, i));
    return zoa::io::make_batch(images, pre);
}

std::size_t count_correct(const xt::xtensor<float, 2>& logits, const std::vector<int>& labels, std::size_t first) {
    std::size_t ok = 0;
    for (std::size_t b = 0; b < logits.shape(0); ++b) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < logits.shape(1); ++c)
            if (logits(b, c) > logits(b, best)) best = c;
        ok += static_cast<int>(best) == labels[first + b];
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::size_t per_domain = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 512, B = 64;
    zoa::require(per_domain >= B && per_domain <= 10000, zoa::error_code::argument,
                 "custom_model: images per corruption must be in [64, 10000], got '", argc > 1 ? argv[1] : "", "'");
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);

    // 1. the network, its head fitted on 4096 clean training images
    tiny_mlp net(2025);
    std::vector<batch_t> clean;
    for (std::size_t first = 0; first < 4096; first += B) clean.push_back(make_batch(train, first, B, ""));
    net.fit_head(clean, train.labels);

    // 2. source statistics of its features on clean images (the same images here; any clean ones will do)
    const zoa::adapt::source_statistics source = zoa::adapt::compute_source_statistics(net, clean);

    // 3. a continual stream of corrupted test images, without adaptation and with ZOA
    const std::vector<std::string> domains{"none", "fog", "brightness", "contrast", "gaussian_noise"};
    zoa::adapt::no_adapt<tiny_mlp> none(net);
    zoa::adapt::zoa_adapter<tiny_mlp> zoa(net, zoa::adapt::zoa_options::paper<tiny_mlp>(), source);
    std::printf("%-16s %8s %8s\n", "domain", "none", "zoa");
    for (const auto& domain : domains) {
        std::size_t ok_none = 0, ok_zoa = 0;
        for (std::size_t first = 0; first + B <= per_domain; first += B) {
            const batch_t x = make_batch(test, first, B, domain == "none" ? "" : domain);
            ok_none += count_correct(none.predict_and_adapt(x), test.labels, first);
            ok_zoa += count_correct(zoa.predict_and_adapt(x), test.labels, first);
        }
        const double n = double(per_domain / B * B);
        std::printf("%-16s %7.2f%% %7.2f%%\n", domain == "none" ? "clean" : domain.c_str(), 100.0 * double(ok_none) / n,
                    100.0 * double(ok_zoa) / n);
    }
    const auto s = zoa.stats();
    std::printf("zoa: %llu batches, %.1f forward passes per batch, %llu domain shifts, %zu domains in the bank\n",
                static_cast<unsigned long long>(s.batches), double(s.forwards) / double(s.batches),
                static_cast<unsigned long long>(s.domain_shifts), s.bank_size);
} catch (const std::exception& e) {
    std::fprintf(stderr, "custom_model: %s\n", e.what());
    return 1;
}
