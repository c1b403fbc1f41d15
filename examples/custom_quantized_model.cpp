// zoa — custom_quantized_model: your own network, its layers quantized by a policy you choose (here W4A4 with
// asymmetric per-channel weights and asymmetric activations), calibrated from sample inputs, then adapted by ZOA
// SPDX-License-Identifier: MIT
//
// The network (Fashion-MNIST 28×28 gray images, normalized to [−1, 1]):
//
//   c  = conv1(x)                   1 → 16 channels, 3×3, stride 2, pad 1: [16, 14, 14]   (its per-channel
//                                   statistics drive domain-shift detection)
//   h1 = GELU(LN1(fc1(GELU(c))))    3136 → 128                                            LN1 adapted by ZOA
//   h2 = LN2(fc2(h1))               128 → 128                                             LN2 adapted by ZOA
//   logits = head(h2)               128 → 10
//
// One class template, small_cnn<Policy>, is both networks: with zoa::policy<zoa::fp32> its conv/linear layers are
// nn::conv2d / nn::linear, with a quantized policy they are nn::quantized_conv2d<Policy> / nn::qlinear<Policy>.
// conv1, fc1 and fc2 are seeded random projections and the head is a nearest-class-mean classifier fitted on clean
// training images (no backprop, no weight file); with trained weights, read them with zoa::io::safetensors_file and
// pass them to the same constructors (docs/tutorials/quantize-your-own-network.md walks through this program).
//
// Usage: custom_quantized_model [test images per domain, default 512]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace zq = zoa::quant;

/// The policy: 4-bit weights and activations, weights asymmetric with one (scale, zero point) per output channel,
/// activations asymmetric per tensor; ZOA perturbs with Rademacher ±1 and forgets its adaptation on a domain shift.
using policy = zoa::policy<zoa::w4a4, zq::weight_scheme<zq::asymmetric, zq::per_channel>,
                           zq::activation_scheme<zq::asymmetric, zq::per_tensor>, zoa::perturb::rademacher,
                           zoa::bank::reset_on_shift>;
using fp32 = zoa::policy<zoa::fp32>;
using batch_t = xt::xtensor<float, 4>;  // [B, 1, 28, 28]

template <class Policy>
class small_cnn {
public:
    static constexpr std::size_t channels = 16, side = 14, flat = channels * side * side, dim = 128, classes = 10;
    using conv_t = zoa::nn::conv2d_for<Policy>;    // nn::conv2d or nn::quantized_conv2d<Policy>
    using linear_t = zoa::nn::linear_for<Policy>;  // nn::linear or nn::qlinear<Policy>

    // ---- what ZOA needs: the model type's policy and family, layout() and forward_adapt() -----------------------
    using policy_type = Policy;                                    // its bit-width: zoa_options::paper<small_cnn>()
    static constexpr auto family = zoa::adapt::model_family::vit;  // LayerNorm networks take ZOA's ViT loss form

    zoa::adapt::adapt_layout layout() const {
        zoa::adapt::adapt_layout l;
        l.norms = {{"ln1", dim, ln1_.weight().data(), ln1_.bias().data()},
                   {"ln2", dim, ln2_.weight().data(), ln2_.bias().data()}};
        l.feature_groups = {dim, dim};  // h1 and h2; the last group feeds the classifier
        l.num_classes = classes;
        l.family = family;
        return l;
    }
    void forward_adapt(const batch_t& x, const zoa::adapt::forward_request& req,
                       zoa::adapt::forward_result& out) const {
        run(x, req, out, [](std::size_t, const float*, std::size_t) {});
    }

    // ---- building the two networks -------------------------------------------------------------------------------
    /// The fp32 network: N(0, 1/fan_in) conv/fc weights from a seeded zoa::rng (the same on every machine), LN w = 1,
    /// b = 0, a zero head until fit_head().
    explicit small_cnn(std::uint64_t seed) {
        static_assert(!zq::quant_config<Policy>::quantized, "build the quantized network from the fp32 one");
        zoa::rng r(seed);
        auto gaussian = [&](std::size_t n, std::size_t fan_in) {
            std::vector<float> w(n);
            for (float& v : w) v = r.normal() / std::sqrt(static_cast<float>(fan_in));
            return w;
        };
        conv1_ = zoa::nn::conv2d(gaussian(channels * 9, 9), std::vector<float>(channels, 0.0f),
                                 zoa::nn::conv2d_geometry{1, channels, 3, 2, 1}, "conv1");
        fc1_ = zoa::nn::linear(gaussian(dim * flat, flat), std::vector<float>(dim, 0.0f), dim, flat, "fc1");
        fc2_ = zoa::nn::linear(gaussian(dim * dim, dim), std::vector<float>(dim, 0.0f), dim, dim, "fc2");
        ln1_ = zoa::nn::layer_norm(std::vector<float>(dim, 1.0f), std::vector<float>(dim, 0.0f), 1e-6f, "ln1");
        ln2_ = zoa::nn::layer_norm(std::vector<float>(dim, 1.0f), std::vector<float>(dim, 0.0f), 1e-6f, "ln2");
        head_ = zoa::nn::linear(std::vector<float>(classes * dim, 0.0f), {}, classes, dim, "head");
    }

    /// The quantized network: each conv/linear layer of `fp` quantized for Policy, its ranges calibrated on the
    /// inputs that layer sees while `fp` runs over the calibration batches (LayerNorms stay fp32).
    template <class FP>
    small_cnn(const small_cnn<FP>& fp, const std::vector<batch_t>& calibration, zq::calibration_options opt = {}) {
        std::vector<zq::layer_calibrator<Policy>> cal(4, zq::layer_calibrator<Policy>(opt));  // conv1 fc1 fc2 head
        zoa::adapt::forward_result r;
        for (const batch_t& x : calibration)
            fp.run(x, {}, r, [&](std::size_t i, const float* in, std::size_t n) { cal[i].observe_input(in, n); });
        conv1_ = zoa::nn::quantize(fp.conv1_, cal[0], "conv1");
        fc1_ = zoa::nn::quantize(fp.fc1_, cal[1], "fc1");
        fc2_ = zoa::nn::quantize(fp.fc2_, cal[2], "fc2");
        head_ = zoa::nn::quantize(fp.head_, cal[3], "head");
        ln1_ = fp.ln1_;
        ln2_ = fp.ln2_;
    }

    /// Nearest class mean on h2: logits_c = h2·μ_c − ½‖μ_c‖², μ_c = the mean h2 of class c's images.
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
    }

    /// The quantizer parameters of a layer (0 = conv1, 1 = fc1, 2 = fc2, 3 = head).
    const zq::module_params& params(int layer) const {
        return layer == 0 ? conv1_.params() : layer == 1 ? fc1_.params() : layer == 2 ? fc2_.params() : head_.params();
    }

private:
    template <class>
    friend class small_cnn;

    /// One forward pass; tap(layer, input, n) sees the input of every conv/linear layer (calibration).
    template <class Tap>
    void run(const batch_t& x, const zoa::adapt::forward_request& req, zoa::adapt::forward_result& out,
             Tap&& tap) const {
        zoa::require(x.dimension() == 4 && x.shape(1) == 1 && x.shape(2) == 28 && x.shape(3) == 28,
                     zoa::error_code::shape, "small_cnn: expected a batch [B, 1, 28, 28]");
        const std::size_t B = x.shape(0);
        const zoa::adapt::norm_view theta(req, {dim, dim});  // LN1's and LN2's requested γ, β (null = their own)
        auto& ctx = *ctx_;
        std::vector<float> c(B * flat), h1(B * dim), h2(B * dim);
        tap(0, x.data(), x.size());
        conv1_.forward(x.data(), B, 28, 28, c.data(), ctx);
        zoa::adapt::write_channel_stats(out, req, c.data(), B, channels, side * side, ctx);  // the shift detector's
        zoa::kernels::gelu(c.data(), c.data(), c.size(), ctx);
        tap(1, c.data(), c.size());
        fc1_.forward(c.data(), B, h1.data(), ctx);
        ln1_.forward(h1.data(), B, h1.data(), ctx, theta.weight(0), theta.bias(0));
        zoa::kernels::gelu(h1.data(), h1.data(), h1.size(), ctx);
        tap(2, h1.data(), h1.size());
        fc2_.forward(h1.data(), B, h2.data(), ctx);
        ln2_.forward(h2.data(), B, h2.data(), ctx, theta.weight(1), theta.bias(1));
        tap(3, h2.data(), h2.size());
        zoa::adapt::write_features(out, B, {{h1.data(), dim}, {h2.data(), dim}});
        zoa::adapt::write_logits(out, req, h2.data(), B, dim, classes,
                                 [&](const float* f, std::size_t n, float* y) { head_.forward(f, n, y, ctx); });
    }

    conv_t conv1_;
    linear_t fc1_, fc2_, head_;
    zoa::nn::layer_norm ln1_, ln2_;
    std::shared_ptr<zoa::execution_context> ctx_ = std::make_shared<zoa::execution_context>(1);
};

static_assert(zoa::adapt::is_adaptable_v<small_cnn<policy>, batch_t>, "small_cnn must satisfy the adaptation hooks");

namespace {

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
        const float* row = logits.data() + b * logits.shape(1);
        ok += std::max_element(row, row + logits.shape(1)) - row == labels[first + b];
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::size_t per_domain = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 512, B = 64;
    zoa::require(per_domain >= B && per_domain <= 10000, zoa::error_code::argument,
                 "custom_quantized_model: images per domain must be in [64, 10000], got '", argc > 1 ? argv[1] : "",
                 "'");
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);

    // 1. the fp32 network, its head fitted on 4096 clean training images
    small_cnn<fp32> net(2025);
    std::vector<batch_t> clean;
    for (std::size_t first = 0; first < 4096; first += B) clean.push_back(make_batch(train, first, B, ""));
    net.fit_head(clean, train.labels);

    // 2. its quantized twin: every conv/linear layer calibrated for the policy on 512 clean training images
    const std::vector<batch_t> calibration(clean.begin(), clean.begin() + 8);
    const small_cnn<policy> qnet(net, calibration);
    const char* names[] = {"conv1", "fc1", "fc2", "head"};
    for (int i = 0; i < 4; ++i) {
        const zq::module_params& p = qnet.params(i);
        std::printf("%-5s weights %d-bit %s, %zu scale groups; input %d-bit %s, scale %.4g, zero point %d\n", names[i],
                    p.weight().bits, zq::to_string(p.weight().sch), p.weight().groups(), p.input().bits,
                    zq::to_string(p.input().sch), double(p.input().scale[0]), p.input().zero_point[0]);
    }

    // 3. source statistics of the quantized network (the network ZOA adapts), then a continual stream of corrupted
    //    test images: fp32 and quantized without adaptation, and the quantized network adapted by ZOA with the
    //    policy's perturbation and knowledge-bank strategy
    const zoa::adapt::source_statistics source = zoa::adapt::compute_source_statistics(qnet, clean);
    zoa::adapt::no_adapt<small_cnn<fp32>> fp_none(net);
    zoa::adapt::no_adapt<small_cnn<policy>> q_none(qnet);
    zoa::adapt::zoa_adapter<small_cnn<policy>, policy> q_zoa(qnet, zoa::adapt::zoa_options::paper<small_cnn<policy>>(),
                                                             source);
    const std::vector<std::string> domains{"none", "fog", "brightness", "contrast", "gaussian_noise"};
    std::printf("%-16s %8s %8s %10s\n", "domain", "fp32", "W4A4", "W4A4+ZOA");
    double sums[3] = {0, 0, 0};
    for (const auto& domain : domains) {
        std::size_t ok[3] = {0, 0, 0};
        for (std::size_t first = 0; first + B <= per_domain; first += B) {
            const batch_t x = make_batch(test, first, B, domain == "none" ? "" : domain);
            ok[0] += count_correct(fp_none.predict_and_adapt(x), test.labels, first);
            ok[1] += count_correct(q_none.predict_and_adapt(x), test.labels, first);
            ok[2] += count_correct(q_zoa.predict_and_adapt(x), test.labels, first);
        }
        const double n = double(per_domain / B * B);
        for (int i = 0; i < 3; ++i) sums[i] += 100.0 * double(ok[i]) / n;
        std::printf("%-16s %7.2f%% %7.2f%% %9.2f%%\n", domain == "none" ? "clean" : domain.c_str(),
                    100.0 * double(ok[0]) / n, 100.0 * double(ok[1]) / n, 100.0 * double(ok[2]) / n);
    }
    const double d = double(domains.size());
    std::printf("%-16s %7.2f%% %7.2f%% %9.2f%%\n", "mean", sums[0] / d, sums[1] / d, sums[2] / d);
    const auto s = q_zoa.stats();
    std::printf("zoa: %llu batches, %.1f forward passes per batch, %llu domain shifts\n",
                static_cast<unsigned long long>(s.batches), double(s.forwards) / double(s.batches),
                static_cast<unsigned long long>(s.domain_shifts));
} catch (const std::exception& e) {
    std::fprintf(stderr, "custom_quantized_model: %s\n", e.what());
    return 1;
}
