// zoa — isa_logits: the logits of a quantized model on Fashion-MNIST test images, written as raw floats, and the
// comparison of two such files (the same program built for two instruction sets; tools/isa_compare.sh)
// SPDX-License-Identifier: MIT
//
// Usage: isa_logits run w6a6|fp32 MODEL.safetensors IMAGES OUT.f32   ViT logits of the first IMAGES test images
//        isa_logits compare A.f32 B.f32                             max |Δ|, differing logits and top-1 changes
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace {

std::vector<float> read_floats(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    zoa::require(in.good(), zoa::error_code::io, "isa_logits: cannot read ", path);
    const auto bytes = static_cast<std::size_t>(in.tellg());
    std::vector<float> v(bytes / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    return v;
}

template <class Policy>
int run(const std::string& path, std::size_t images, const std::string& out) {
    using model_t = zoa::models::vit<Policy>;
    const model_t vit = model_t::load(path);
    const auto pre = zoa::io::preprocess_from_json(vit.metadata().at("zoa.preprocess"), path);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    std::vector<float> logits;
    for (std::size_t first = 0; first < images; first += 64) {
        std::vector<zoa::data::image> batch;
        for (std::size_t i = first; i < std::min(images, first + 64); ++i) batch.push_back(test.get(i, 3));
        const auto z = vit.predict(zoa::io::make_batch(batch, pre));
        logits.insert(logits.end(), z.begin(), z.end());
    }
    std::ofstream o(out, std::ios::binary);
    o.write(reinterpret_cast<const char*>(logits.data()), static_cast<std::streamsize>(logits.size() * sizeof(float)));
    zoa::require(o.good(), zoa::error_code::io, "isa_logits: cannot write ", out);
    std::printf("%s: %zu images, %zu logits, arch %s\n", out.c_str(), images, logits.size(),
                zoa::arch_name<zoa::default_arch>());
    return 0;
}

int compare(const std::string& a_path, const std::string& b_path) {
    const std::vector<float> a = read_floats(a_path), b = read_floats(b_path);
    zoa::require(a.size() == b.size() && a.size() % 10 == 0, zoa::error_code::shape, "isa_logits: ", a_path, " has ",
                 a.size(), " logits, ", b_path, " has ", b.size());
    double max_diff = 0;
    std::size_t differ = 0, top1 = 0, rows_differ = 0;
    std::vector<double> nonzero;
    for (std::size_t r = 0; r < a.size() / 10; ++r) {
        const float* x = a.data() + 10 * r;
        const float* y = b.data() + 10 * r;
        bool row = false;
        for (std::size_t c = 0; c < 10; ++c) {
            max_diff = std::max(max_diff, double(std::fabs(x[c] - y[c])));
            differ += x[c] != y[c];
            if (x[c] != y[c]) nonzero.push_back(std::fabs(double(x[c]) - double(y[c])));
            row = row || x[c] != y[c];
        }
        rows_differ += row;
        top1 += (std::max_element(x, x + 10) - x) != (std::max_element(y, y + 10) - y);
    }
    std::sort(nonzero.begin(), nonzero.end());
    const auto pct = [&](double q) {
        return nonzero.empty() ? 0.0 : nonzero[std::size_t(q * double(nonzero.size() - 1))];
    };
    std::printf(
        "%zu images: %zu of %zu logits differ (%zu images), max |difference| %.4g (median %.2g, 90th percentile "
        "%.2g of those that differ), top-1 changes %zu\n",
        a.size() / 10, differ, a.size(), rows_differ, max_diff, pct(0.5), pct(0.9), top1);
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 5 && a[0] == "run" && (a[1] == "w6a6" || a[1] == "fp32")) {
        const std::size_t images = std::strtoul(a[3].c_str(), nullptr, 10);
        return a[1] == "w6a6" ? run<zoa::ptq4vit<zoa::w6a6>>(a[2], images, a[4])
                              : run<zoa::policy<zoa::fp32>>(a[2], images, a[4]);
    }
    if (a.size() == 3 && a[0] == "compare") return compare(a[1], a[2]);
    std::fprintf(stderr, "usage: isa_logits run w6a6|fp32 MODEL IMAGES OUT.f32 | isa_logits compare A.f32 B.f32\n");
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "isa_logits: %s\n", e.what());
    return 2;
}
