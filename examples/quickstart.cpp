// zoa — quickstart: the shipped W6A6 Fashion-MNIST ViT on a corrupted stream, without adaptation and with ZOA
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstdio>
#include "zoa/zoa.hpp"
#include "zoa/data/corruptions.hpp"  // the ImageNet-C corruptions
#include "zoa/data/idx.hpp"          // Fashion-MNIST's IDX files

int main(int argc, char** argv) try {
    const std::string path = argc > 1 ? argv[1] : "examples/assets/fmnist_vit_w6a6.safetensors";
    using model_t = zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>;      // PTQ4ViT arithmetic, 6-bit weights/activations
    const model_t vit = model_t::load(path);                        // calibrated file: int8 codes + quantizer scales
    const auto pre = zoa::io::preprocess_from_json(vit.metadata().at("zoa.preprocess"), path);
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    namespace zc = zoa::data::corruptions;                          // the 3 of the 19 this program applies
    using corruptions = zoa::data::corruption_set<zc::fog, zc::brightness, zc::contrast>;
    auto batch = [&](const zoa::data::idx_dataset& ds, std::size_t first, const char* corruption) {
        std::vector<zoa::data::image> images;                       // 64 images, HWC floats in [0, 255]
        for (std::size_t i = first; i < first + 64; ++i)
            images.push_back(corruption ? corruptions::corrupt(ds.get(i, 3), corruption, 5, i) : ds.get(i, 3));
        return zoa::io::make_batch(images, pre);                    // NCHW, normalized as the model was trained
    };
    std::vector<xt::xtensor<float, 4>> clean;                       // source statistics: 512 clean training images
    for (std::size_t b = 0; b < 8; ++b) clean.push_back(batch(train, 64 * b, nullptr));
    const auto source = zoa::adapt::compute_source_statistics(vit, clean);
    auto top1 = [](const auto& z, std::size_t b) { return std::max_element(&z(b, 0), &z(b, 0) + 10) - &z(b, 0); };
    auto run = [&](auto&& method, const char* name) {               // one continual stream: 3 corruptions × 512
        for (const char* corruption : {"fog", "brightness", "contrast"}) {
            std::size_t correct = 0;
            for (std::size_t first = 0; first < 512; first += 64) {
                const auto& logits = method.predict_and_adapt(batch(test, first, corruption));  // 64 × 10
                for (std::size_t b = 0; b < 64; ++b) correct += top1(logits, b) == test.labels[first + b];
            }
            std::printf("%-4s %-10s accuracy %.2f%%\n", name, corruption, 100.0 * double(correct) / 512.0);
        }
    };
    run(zoa::adapt::no_adapt<model_t>(vit), "none");                // the quantized model as it is
    zoa::adapt::zoa_adapter<model_t> zoa(vit, zoa::adapt::zoa_options::paper<model_t>(), source);
    run(zoa, "zoa");                                                // 2 forward passes per batch, no backprop
} catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
}
