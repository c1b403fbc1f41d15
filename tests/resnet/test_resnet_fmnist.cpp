// zoa — opt-in: the Fashion-MNIST demo ResNet (examples/assets/fmnist_resnet.safetensors) on the 10 000 test images:
// fp32 accuracy vs the accuracy PyTorch stored in the file, MQBench W8A8 / W6A6 / W4A4 accuracy and top-1 agreement.
//   build-resnet/bin/test_resnet --no-skip -tc="*Fashion-MNIST*"
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "resnet_fixture.hpp"
#include "zoa/data/idx.hpp"

namespace {

// x = (v/255 − 0.5)/0.5 replicated to 3 channels (the file's zoa.preprocess: gray_to_rgb, mean = std = 0.5)
xt::xtensor<float, 4> to_batch(const zoa::data::idx_dataset& d, std::size_t begin, std::size_t end) {
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({end - begin, 3, 28, 28});
    for (std::size_t i = begin; i < end; ++i)
        for (std::size_t p = 0; p < 28 * 28; ++p) {
            const float v = (static_cast<float>(d.images.data()[i * 784 + p]) / 255.0f - 0.5f) / 0.5f;
            for (std::size_t c = 0; c < 3; ++c) x.data()[((i - begin) * 3 + c) * 784 + p] = v;
        }
    return x;
}

template <class M>
std::vector<std::size_t> predict_all(const M& m, const zoa::data::idx_dataset& d) {
    std::vector<std::size_t> out;
    for (std::size_t b = 0; b < d.size(); b += 500) {
        const auto t = rt::top1(m.predict(to_batch(d, b, std::min(d.size(), b + 500))));
        out.insert(out.end(), t.begin(), t.end());
    }
    return out;
}

double accuracy(const std::vector<std::size_t>& p, const std::vector<int>& labels) {
    std::size_t k = 0;
    for (std::size_t i = 0; i < p.size(); ++i) k += p[i] == static_cast<std::size_t>(labels[i]);
    return 100.0 * double(k) / double(p.size());
}

template <class Q>
void quantized(const rt::fp_resnet& fp, const xt::xtensor<float, 4>& calib, const zoa::data::idx_dataset& test,
               const std::vector<std::size_t>& ref, const char* tag) {
    auto t0 = std::chrono::steady_clock::now();
    const auto q = Q::calibrate(fp, calib);
    const double tc = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    const auto p = predict_all(q, test);
    const double tp = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t agree = 0;
    for (std::size_t i = 0; i < p.size(); ++i) agree += p[i] == ref[i];
    MESSAGE(std::string(tag) << ": accuracy " << accuracy(p, test.labels) << " %, top-1 agreement with fp32 "
                << 100.0 * double(agree) / double(p.size()) << " %; calibration (32 images) " << tc
                << " s, 10 000 images " << tp << " s");
}

}  // namespace

TEST_CASE("Fashion-MNIST demo ResNet: fp32 accuracy vs PyTorch, W8A8 / W6A6 / W4A4" * doctest::skip()) {
    const std::string path = std::string(ZOA_SOURCE_DIR) + "/examples/assets/fmnist_resnet.safetensors";
    REQUIRE_MESSAGE(std::filesystem::exists(path), "train it with tools/reference/train_fmnist.py --arch resnet");
    REQUIRE_MESSAGE(zoa::data::fashion_mnist_available(zoa::data::fashion_mnist_split::test),
                    "install Debian's dataset-fashion-mnist or set ZOA_FASHION_MNIST_DIR");
    zoa::models::resnet_load_options opt;
    opt.threads = 2;
    const auto fp = rt::fp_resnet::load(path, opt);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    auto t0 = std::chrono::steady_clock::now();
    const auto ref = predict_all(fp, test);
    const double tp = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double acc = accuracy(ref, test.labels);
    const double stored =
        nlohmann::json::parse(fp.metadata().at("zoa.train")).at("clean_test_accuracy").get<double>();
    MESSAGE(fp.summary());
    MESSAGE("fp32: accuracy " << acc << " % (PyTorch, stored in the file: " << stored << " %); 10 000 images " << tp
                              << " s");
    CHECK(std::fabs(acc - stored) <= 0.05);  // the same network; at most a few float near-ties may differ
    const auto calib = to_batch(train, 0, 32);
    quantized<rt::w8_resnet>(fp, calib, test, ref, "W8A8");
    quantized<zoa::models::resnet<zoa::mqbench<zoa::w6a6>>>(fp, calib, test, ref, "W6A6");
    quantized<rt::w4_resnet>(fp, calib, test, ref, "W4A4");
}
