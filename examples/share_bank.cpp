// zoa — share_bank: adapt on "device A", save its knowledge bank and adapter state, continue on "device B"
// SPDX-License-Identifier: MIT
//
// Device A streams three corrupted domains through the W6A6 ViT with ZOA, then writes two small files:
//   source_stats.safetensors  the source feature statistics (computed once per model, with provenance)
//   zoa_state.safetensors     the adapter state: stored domains Δ_j, mixing logits α, current ε, shift history, ...
// Device B loads the same model file and both files, restores the adapter and continues on new images of a domain
// A has seen, next to a fresh adapter that starts from scratch.
//
// Usage: share_bank [MODEL_FILE] [IMAGES_PER_DOMAIN (default 512)]; files are written to the current directory.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace {

using model_t = zoa::models::vit<zoa::ptq4vit<zoa::w6a6>>;
using batch_t = xt::xtensor<float, 4>;
constexpr std::size_t batch_size = 64;

/// The stream of one domain: test images [first, first + n), corrupted at severity 5, preprocessed, 64 per batch.
std::vector<batch_t> domain_batches(const zoa::data::idx_dataset& ds, const zoa::io::preprocess_config& pre,
                                    const std::string& corruption, std::size_t first, std::size_t n) {
    std::vector<batch_t> out;
    for (std::size_t b = first; b + batch_size <= first + n; b += batch_size) {
        std::vector<zoa::data::image> images;
        for (std::size_t i = b; i < b + batch_size; ++i) {
            zoa::data::image img = ds.get(i, pre.channels);
            images.push_back(corruption.empty() ? img : zoa::data::corrupt(img, corruption, 5, i));
        }
        out.push_back(zoa::io::make_batch(images, pre));
    }
    return out;
}

/// Streams the batches through an adapter; returns top-1 accuracy in % (labels of test images from `first` on).
template <class Adapter>
double stream(Adapter& adapter, const std::vector<batch_t>& batches, const std::vector<int>& labels,
              std::size_t first) {
    std::size_t ok = 0, k = first;
    for (const auto& x : batches) {
        const auto& logits = adapter.predict_and_adapt(x);
        for (std::size_t b = 0; b < logits.shape(0); ++b, ++k) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < logits.shape(1); ++c)
                if (logits(b, c) > logits(b, best)) best = c;
            ok += static_cast<int>(best) == labels[k];
        }
    }
    return 100.0 * double(ok) / double(batches.size() * batch_size);
}

/// What must match between the device that computed the statistics and the one that uses them.
std::map<std::string, std::string> provenance(const std::string& model_file) {
    return {{"model", std::filesystem::path(model_file).filename().string()}, {"precision", "w6a6"}};
}

void device_a(const std::string& model_file, std::size_t n, const zoa::data::idx_dataset& train,
              const zoa::data::idx_dataset& test) {
    const model_t vit = model_t::load(model_file);
    const auto pre = zoa::io::preprocess_from_json(vit.metadata().at("zoa.preprocess"), model_file);
    zoa::adapt::source_statistics source =
        zoa::adapt::compute_source_statistics(vit, domain_batches(train, pre, "", 0, 512));
    source.provenance = provenance(model_file);
    zoa::adapt::save_source_statistics(source, "source_stats.safetensors");

    zoa::adapt::zoa_adapter<model_t> zoa(vit, zoa::adapt::zoa_options::paper<model_t>(), source);
    for (const char* corruption : {"fog", "brightness", "contrast"})
        std::printf("device A  %-10s zoa %.2f%%\n", corruption, stream(zoa, domain_batches(test, pre, corruption, 0, n),
                                                                       test.labels, 0));
    zoa::adapt::save_zoa_state(zoa.snapshot(), "zoa_state.safetensors");
    const auto s = zoa.stats();
    std::printf("device A  saved zoa_state.safetensors: %zu stored domains, %llu shifts detected, %ju bytes on disk\n",
                s.bank_size, static_cast<unsigned long long>(s.domain_shifts),
                static_cast<std::uintmax_t>(std::filesystem::file_size("zoa_state.safetensors")));
}

void device_b(const std::string& model_file, std::size_t n, const zoa::data::idx_dataset& test) {
    const model_t vit = model_t::load(model_file);  // the same model file as device A
    const auto pre = zoa::io::preprocess_from_json(vit.metadata().at("zoa.preprocess"), model_file);
    const zoa::adapt::source_statistics source = zoa::adapt::load_source_statistics("source_stats.safetensors");
    zoa::adapt::check_provenance(source, provenance(model_file));  // throws if they belong to another model
    const auto options = zoa::adapt::zoa_options::paper<model_t>();

    zoa::adapt::zoa_adapter<model_t> shared(vit, options, source);
    shared.restore(zoa::adapt::load_zoa_state("zoa_state.safetensors"));  // checks sizes against the model
    zoa::adapt::zoa_adapter<model_t> fresh(vit, options, source);
    zoa::adapt::no_adapt<model_t> none(vit);

    const auto batches = domain_batches(test, pre, "contrast", 5000, n);  // images device A never saw
    const double acc_none = stream(none, batches, test.labels, 5000);
    const double acc_fresh = stream(fresh, batches, test.labels, 5000);
    const double acc_shared = stream(shared, batches, test.labels, 5000);
    std::printf("device B  contrast   none %.2f%%  zoa from scratch %.2f%%  zoa with A's bank %.2f%%\n", acc_none,
                acc_fresh, acc_shared);
    std::printf("device B  restored adapter: %zu stored domains\n", shared.stats().bank_size);
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string model_file = argc > 1 ? argv[1] : "examples/assets/fmnist_vit_w6a6.safetensors";
    const std::size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 512;
    zoa::require(n >= batch_size && n <= 5000, zoa::error_code::argument,
                 "share_bank: images per domain must be in [64, 5000], got ", argc > 2 ? argv[2] : "");
    const auto train = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train);
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    device_a(model_file, n, train, test);
    device_b(model_file, n, test);
} catch (const std::exception& e) {
    std::fprintf(stderr, "share_bank: %s\n", e.what());
    return 1;
}
