// zoa — single_header: ZOA on the shipped fp32 ViT in a program built with nothing but `-I single_include`
// SPDX-License-Identifier: MIT
// xtensor, xsimd and stb come from the system's include path. Build by hand from the repository root:
//   g++ -std=c++17 -O2 -march=native -I single_include examples/single_header/main.cpp -o zoa_single_header
// It adapts the shipped fp32 Fashion-MNIST ViT with ZOA in episodic mode (reset() before every domain).
#include <zoa/zoa_image.hpp>  // single_include/zoa/zoa_image.hpp: the whole library + image data in two files

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
    const std::string path = argc > 1 ? argv[1] : "examples/assets/fmnist_vit.safetensors";
    const std::size_t per_domain = 256, B = 64;
    using model_t = zoa::models::vit<zoa::policy<zoa::fp32>>;
    const model_t vit = model_t::load(path);
    const auto pre = zoa::io::preprocess_from_json(vit.metadata().at(zoa::io::preprocess_metadata_key), path);
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    auto batch = [&](const zoa::data::idx_dataset& ds, std::size_t first, const std::string& corruption) {
        std::vector<zoa::data::image> images;
        for (std::size_t i = first; i < first + B; ++i)
            images.push_back(corruption.empty() ? ds.get(i, 3) : zoa::data::corrupt(ds.get(i, 3), corruption, 5, i));
        return zoa::io::make_batch(images, pre);
    };
    std::vector<xt::xtensor<float, 4>> clean;
    for (std::size_t first = 0; first < 512; first += B) clean.push_back(batch(train, first, ""));
    zoa::adapt::zoa_adapter<model_t> zoa(vit, zoa::adapt::zoa_options::paper<model_t>(),
                                         zoa::adapt::compute_source_statistics(vit, clean));
    std::printf("zoa %s, %s kernels\n", zoa::version_string, zoa::arch_name());
    for (const std::string corruption : {"snow", "frost", "pixelate"}) {
        zoa.reset();  // episodic: every domain starts from the source model (continual: never call reset)
        std::size_t ok_none = 0, ok_zoa = 0;
        for (std::size_t first = 0; first < per_domain; first += B) {
            const auto x = batch(test, first, corruption);
            const xt::xtensor<float, 2> plain = vit.predict(x);
            const auto& adapted = zoa.predict_and_adapt(x);
            for (std::size_t b = 0; b < B; ++b) {
                std::size_t p = 0, q = 0;
                for (std::size_t c = 1; c < plain.shape(1); ++c) {
                    p = plain(b, c) > plain(b, p) ? c : p;
                    q = adapted(b, c) > adapted(b, q) ? c : q;
                }
                ok_none += static_cast<int>(p) == test.labels[first + b];
                ok_zoa += static_cast<int>(q) == test.labels[first + b];
            }
        }
        std::printf("%-9s none %6.2f%%  zoa %6.2f%%\n", corruption.c_str(), 100.0 * double(ok_none) / double(per_domain),
                    100.0 * double(ok_zoa) / double(per_domain));
    }
} catch (const std::exception& e) {
    std::fprintf(stderr, "zoa_single_header: %s\n", e.what());
    return 1;
}
