// zoa — quantize_and_eval: fp32 ViT file → PTQ4ViT-calibrated W8A8/W6A6 model → clean and corrupted accuracy → file
// SPDX-License-Identifier: MIT
//
// Usage: quantize_and_eval [--precision w8a8|w6a6] [--images N] [--quick] FP32_FILE OUT_FILE
//   FP32_FILE  a zoa/timm ViT file with zoa.config and zoa.preprocess metadata (examples/assets/fmnist_vit.safetensors)
//   OUT_FILE   the calibrated model, loadable with vit<ptq4vit<w8a8>>::load (or w6a6) and by `zoa stream` / `zoa predict`
//   --images   test images per domain (default 1000)
//   --quick    a coarse calibration search (8 images, 20 candidates, 1 round) for smoke tests; the default is
//              PTQ4ViT's (32 images, 100 candidates, 3 rounds), ≈ 30 s of CPU for the Fashion-MNIST ViT
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace {

struct args {
    std::string precision = "w8a8", in, out;
    std::size_t images = 1000;
    bool quick = false;
};

/// Images [first, first + n) of a Fashion-MNIST split (optionally corrupted at severity 5), preprocessed.
xt::xtensor<float, 4> load_images(const zoa::data::idx_dataset& ds, std::size_t first, std::size_t n,
                                  const std::string& corruption, const zoa::io::preprocess_config& pre) {
    std::vector<zoa::data::image> images;
    for (std::size_t i = first; i < first + n; ++i) {
        zoa::data::image img = ds.get(i, pre.channels);
        images.push_back(corruption.empty() ? img : zoa::data::corrupt(img, corruption, 5, i));
    }
    return zoa::io::make_batch(images, pre);
}

/// Top-1 accuracy (%) of model.predict over the first n test images, in batches of 100.
template <class Model>
double accuracy(const Model& model, const zoa::data::idx_dataset& test, std::size_t n, const std::string& corruption,
                const zoa::io::preprocess_config& pre) {
    std::size_t ok = 0;
    for (std::size_t first = 0; first < n; first += 100) {
        const std::size_t count = std::min<std::size_t>(100, n - first);
        const xt::xtensor<float, 2> logits = model.predict(load_images(test, first, count, corruption, pre));
        for (std::size_t b = 0; b < count; ++b) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < logits.shape(1); ++c)
                if (logits(b, c) > logits(b, best)) best = c;
            ok += static_cast<int>(best) == test.labels[first + b];
        }
    }
    return 100.0 * double(ok) / double(n);
}

template <class Policy>
int run(const args& a) {
    namespace zm = zoa::models;
    const zm::vit_weights weights = zm::load_vit_weights(a.in);  // config and metadata come from the file
    const auto meta = weights.metadata.find("zoa.preprocess");
    zoa::require(meta != weights.metadata.end(), zoa::error_code::format, a.in,
                 ": no zoa.preprocess metadata (how images become model inputs)");
    const zoa::io::preprocess_config pre = zoa::io::preprocess_from_json(meta->second, a.in);
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);

    // 1. calibrate on clean training images (PTQ4ViT: 32 images, L2 search), build the integer model
    zm::vit_calibration_options opt;
    if (a.quick) {
        opt.max_images = 8;
        opt.search.eq_n = 20;
        opt.search.search_round = 1;
    }
    zm::calibration_report report;
    const auto t0 = std::chrono::steady_clock::now();
    const auto calib = load_images(train, 0, opt.max_images, "", pre);
    const zm::vit<Policy> q = zm::calibrate_vit<Policy>(weights, calib, opt, &report, /*threads=*/2);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("calibrated %s on %zu images in %.1f s (%zu modules searched)\n", a.precision.c_str(), report.images,
                seconds, report.search.modules);

    // 2. accuracy of the fp32 and the quantized model, clean and under three corruptions (no adaptation)
    zm::vit<zoa::policy<zoa::fp32>> fp(weights);
    fp.set_threads(2);
    std::printf("%-18s %8s %8s\n", "domain", "fp32", a.precision.c_str());
    for (const std::string corruption : {"", "gaussian_noise", "fog", "contrast"})
        std::printf("%-18s %7.2f%% %7.2f%%\n", corruption.empty() ? "clean" : corruption.c_str(),
                    accuracy(fp, test, a.images, corruption, pre), accuracy(q, test, a.images, corruption, pre));

    // 3. save the calibrated model; loading it needs no calibration and gives the same outputs
    zm::save_vit(q, a.out);
    auto reloaded = zm::vit<Policy>::load(a.out);
    const auto x = load_images(test, 0, 16, "", pre);
    const bool same = q.predict(x) == reloaded.predict(x);
    std::printf("wrote %s; reloaded model gives %s outputs\n", a.out.c_str(), same ? "identical" : "DIFFERENT");
    return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    args a;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (k == "--precision" && i + 1 < argc)
            a.precision = argv[++i];
        else if (k == "--images" && i + 1 < argc)
            a.images = std::strtoul(argv[++i], nullptr, 10);
        else if (k == "--quick")
            a.quick = true;
        else if (!k.empty() && k[0] != '-')
            files.push_back(k);
        else
            zoa::fail(zoa::error_code::argument, "unknown option '", k, "'");
    }
    zoa::require(files.size() == 2, zoa::error_code::argument,
                 "usage: quantize_and_eval [--precision w8a8|w6a6] [--images N] [--quick] FP32_FILE OUT_FILE");
    zoa::require(a.images >= 1 && a.images <= 10000, zoa::error_code::argument, "--images must be in [1, 10000]");
    a.in = files[0], a.out = files[1];
    if (a.precision == "w8a8") return run<zoa::ptq4vit<zoa::w8a8>>(a);
    if (a.precision == "w6a6") return run<zoa::ptq4vit<zoa::w6a6>>(a);
    zoa::fail(zoa::error_code::argument, "--precision must be w8a8 or w6a6, got '", a.precision, "'");
} catch (const std::exception& e) {
    std::fprintf(stderr, "quantize_and_eval: %s\n", e.what());
    return 1;
}
