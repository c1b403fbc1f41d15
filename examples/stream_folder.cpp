// zoa — stream_folder: adapt a ViT with ZOA over a class folder of your own images (<root>/<class>/<image files>)
// SPDX-License-Identifier: MIT
//
// Usage:
//   stream_folder MODEL_FILE FOLDER --source SOURCE [--batch N] [--limit N] [--threads N] [--sorted]
//       MODEL_FILE  a ViT file: fp32, or calibrated W8A8/W6A6 (zoa predict --calib DIR --save FILE); its zoa.preprocess
//                   metadata says how images become inputs (else timm's ViT pipeline: bicubic, mean = std = 0.5)
//       FOLDER      the test stream: <FOLDER>/<class>/**.{png,jpg,jpeg,bmp}; classes sorted by name = the model's
//                   class indices (torchvision ImageFolder order); images are streamed in a seeded random order
//                   (a class-sorted stream is a label shift that entropy minimisation handles badly), or sorted
//                   by path with --sorted
//       SOURCE      clean, in-distribution images for ZOA's source statistics: a class folder (labels unused) or
//                   "fmnist-train" (Fashion-MNIST training images, for the shipped demo models)
//   stream_folder --export-fmnist DIR CORRUPTION N
//       writes N Fashion-MNIST test images, corrupted (severity 5; "none" = clean), as DIR/<k>_<class>/<i>.bmp:
//       a ready-made folder to try the first form with examples/assets/fmnist_vit_w6a6.safetensors
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/zoa_image.hpp"

namespace {

using batch_t = xt::xtensor<float, 4>;

struct args {
    std::string model, folder, source;
    std::size_t batch = 64, limit = 0, threads = 2;
    bool sorted = false;
};

/// Writes an image (1 or 3 channels, values in [0, 255]) as a 24-bit uncompressed BMP (bottom-up rows, each padded
/// to a multiple of 4 bytes, BGR order). Throws: zoa::error(io) when the file cannot be written.
void write_bmp(const zoa::data::image& img, const std::string& path) {
    const std::size_t h = zoa::data::image_height(img), w = zoa::data::image_width(img);
    const std::size_t c = zoa::data::image_channels(img), stride = (3 * w + 3) / 4 * 4;
    const auto size = static_cast<std::uint32_t>(54 + stride * h);
    std::vector<std::uint8_t> f(size, 0);
    auto u32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) f[at + std::size_t(i)] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    f[0] = 'B', f[1] = 'M';
    u32(2, size), u32(10, 54), u32(14, 40), u32(18, std::uint32_t(w)), u32(22, std::uint32_t(h));
    f[26] = 1, f[28] = 24;  // planes, bits per pixel
    u32(34, static_cast<std::uint32_t>(stride * h));
    for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < w; ++x)
            for (std::size_t k = 0; k < 3; ++k) {  // BGR
                const float v = img(y, x, c == 3 ? 2 - k : 0);
                f[54 + (h - 1 - y) * stride + 3 * x + k] = static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
    zoa::require(out.good(), zoa::error_code::io, path, ": cannot write");
}

int export_fmnist(const std::string& dir, const std::string& corruption, std::size_t n) {
    const auto test = zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::test);
    zoa::require(n >= 1 && n <= test.size(), zoa::error_code::argument, "--export-fmnist: N must be in [1, ",
                 test.size(), "], got ", n);
    std::vector<std::string> class_dirs;
    for (std::size_t k = 0; k < test.class_names.size(); ++k) {
        std::string name;  // "T-shirt/top" → "0_t-shirt_top": sorted by name = label order
        for (char ch : test.class_names[k]) name += ch == '/' || ch == ' ' ? '_' : char(std::tolower(ch));
        class_dirs.push_back((std::filesystem::path(dir) / (std::to_string(k) + "_" + name)).string());
        std::filesystem::create_directories(class_dirs.back());
    }
    for (std::size_t i = 0; i < n; ++i) {
        const zoa::data::image img = test.get(i, 1);
        char file[32];
        std::snprintf(file, sizeof file, "%05zu.bmp", i);
        write_bmp(corruption == "none" ? img : zoa::data::corrupt(img, corruption, 5, i),
                  (std::filesystem::path(class_dirs[std::size_t(test.labels[i])]) / file).string());
    }
    std::printf("wrote %zu images (%s) into %zu class folders under %s\n", n, corruption.c_str(), class_dirs.size(),
                dir.c_str());
    return 0;
}

/// Source statistics of the model's features on clean images (a class folder or Fashion-MNIST's training set),
/// streamed through a batch_loader like the test stream.
template <class Model>
zoa::adapt::source_statistics source_statistics(const Model& model, const args& a,
                                                const zoa::io::preprocess_config& pre) {
    zoa::data::source_opener open;
    if (a.source == "fmnist-train") {
        open = [&] {
            auto train = std::make_shared<const zoa::data::idx_dataset>(
                zoa::data::load_fashion_mnist(zoa::data::fashion_mnist_split::train));
            zoa::data::idx_source_options o;
            o.channels = pre.channels, o.shuffle = false, o.limit = 512;  // the first 512 training images
            return zoa::data::idx_source(train, o);
        };
    } else {
        zoa::data::image_folder_options o;
        o.channels = pre.channels, o.shuffle = true, o.limit = 512;  // a random sample of up to 512 images
        open = zoa::data::folder_opener(a.source, o);
    }
    zoa::data::batch_loader loader({open}, pre, {a.batch, 2, a.threads, 0});
    return zoa::adapt::compute_source_statistics(model, zoa::data::images_of(loader));
}

template <class Policy>
int run(const args& a, int bits) {
    using model_t = zoa::models::vit<Policy>;
    auto ctx = std::make_shared<zoa::execution_context>(a.threads);
    model_t vit = model_t::load(a.model);
    vit.set_context(ctx);
    const auto& meta = vit.metadata();
    const auto it = meta.find(zoa::io::preprocess_metadata_key);
    const zoa::io::preprocess_config pre =
        it != meta.end() ? zoa::io::preprocess_from_json(it->second, a.model)
                         : zoa::io::preprocess_config::timm_inception(vit.config().img_size);

    zoa::data::image_folder_options fo;
    fo.channels = pre.channels;
    fo.limit = a.limit;
    fo.shuffle = !a.sorted;
    fo.seed = 2020;
    const zoa::data::image_folder folder(a.folder, fo);
    std::printf("%s: %zu images in %zu classes; model: %zu classes, %d-bit\n", a.folder.c_str(), folder.size(),
                folder.classes().size(), vit.config().num_classes, bits);
    zoa::require(folder.classes().size() <= vit.config().num_classes, zoa::error_code::argument, a.folder, " has ",
                 folder.classes().size(), " classes, the model only ", vit.config().num_classes);

    const auto source = source_statistics(vit, a, pre);
    zoa::adapt::no_adapt<model_t> none(vit);
    zoa::adapt::zoa_adapter<model_t> zoa(vit, zoa::adapt::zoa_options::paper(zoa::adapt::model_family::vit, bits),
                                         source);
    std::size_t ok_none = 0, ok_zoa = 0, seen = 0;
    double ms_none = 0, ms_zoa = 0;
    // the test stream: batches decoded and preprocessed by 2 loader threads while the model runs (bounded queue)
    zoa::data::batch_loader loader({zoa::data::folder_opener(a.folder, fo)}, pre, {a.batch, 2, a.threads, 0});
    zoa::data::stream_batch part;
    while (loader.next(part)) {
        const batch_t& x = part.images;
        auto count = [&](const xt::xtensor<float, 2>& logits) {
            std::size_t ok = 0;
            for (std::size_t b = 0; b < logits.shape(0); ++b) {
                std::size_t best = 0;
                for (std::size_t c = 1; c < logits.shape(1); ++c)
                    if (logits(b, c) > logits(b, best)) best = c;
                ok += static_cast<int>(best) == part.labels[b];
            }
            return ok;
        };
        const auto t0 = std::chrono::steady_clock::now();
        ok_none += count(none.predict_and_adapt(x));
        const auto t1 = std::chrono::steady_clock::now();
        ok_zoa += count(zoa.predict_and_adapt(x));  // predicts this batch, then adapts (2 forward passes)
        const auto t2 = std::chrono::steady_clock::now();
        ms_none += std::chrono::duration<double, std::milli>(t1 - t0).count();
        ms_zoa += std::chrono::duration<double, std::milli>(t2 - t1).count();
        seen += part.labels.size();
    }
    const double batches = double(zoa.stats().batches);
    std::printf("none: accuracy %.2f%%, %.1f ms per batch\n", 100.0 * double(ok_none) / double(seen),
                ms_none / batches);
    std::printf("zoa:  accuracy %.2f%%, %.1f ms per batch, %.1f forward passes per batch, %zu domains in the bank\n",
                100.0 * double(ok_zoa) / double(seen), ms_zoa / batches, double(zoa.stats().forwards) / batches,
                zoa.stats().bank_size);
    return 0;
}

std::size_t count_arg(const std::string& flag, const char* v) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(v, &end, 10);
    zoa::require(end != v && *end == '\0' && n >= 1, zoa::error_code::argument, flag, " expects a positive integer, got '",
                 v, "'");
    return n;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string usage =
        "usage: stream_folder MODEL_FILE FOLDER --source DIR|fmnist-train [--batch N] [--limit N] [--threads N] "
        "[--sorted]\n"
        "       stream_folder --export-fmnist DIR CORRUPTION|none N";
    if (argc == 5 && std::string(argv[1]) == "--export-fmnist")
        return export_fmnist(argv[2], argv[3], count_arg("N", argv[4]));
    args a;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        const bool has_value = i + 1 < argc;
        if (k == "--source" && has_value)
            a.source = argv[++i];
        else if (k == "--batch" && has_value)
            a.batch = count_arg(k, argv[++i]);
        else if (k == "--limit" && has_value)
            a.limit = count_arg(k, argv[++i]);
        else if (k == "--threads" && has_value)
            a.threads = count_arg(k, argv[++i]);
        else if (k == "--sorted")
            a.sorted = true;
        else if (!k.empty() && k[0] != '-')
            positional.push_back(k);
        else
            zoa::fail(zoa::error_code::argument, "unknown or incomplete option '", k, "'\n", usage);
    }
    zoa::require(positional.size() == 2 && !a.source.empty(), zoa::error_code::argument, usage);
    a.model = positional[0], a.folder = positional[1];

    // the precision of a calibrated file is in its zoa.quant metadata; fp32 files have none
    const auto file = zoa::io::safetensors_file::open(a.model);
    const auto q = file.metadata().find(zoa::models::quant_metadata_key);
    int bits = 32;
    if (q != file.metadata().end()) {
        const auto quant = zoa::io::json::parse(q->second, a.model + ": zoa.quant");
        const auto* w = quant.find("weight_bits");
        zoa::require(w && w->is_unsigned(), zoa::error_code::format, a.model, ": zoa.quant lacks weight_bits");
        bits = static_cast<int>(w->as_unsigned());
    }
    if (bits == 32) return run<zoa::policy<zoa::fp32>>(a, bits);
    if (bits == 8) return run<zoa::ptq4vit<zoa::w8a8>>(a, bits);
    if (bits == 6) return run<zoa::ptq4vit<zoa::w6a6>>(a, bits);
    if (bits == 4) return run<zoa::ptq4vit<zoa::w4a4>>(a, bits);
    zoa::fail(zoa::error_code::argument, a.model, ": unsupported precision (", bits, "-bit weights)");
} catch (const std::exception& e) {
    std::fprintf(stderr, "stream_folder: %s\n", e.what());
    return 1;
}
