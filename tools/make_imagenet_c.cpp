// zoa — make_imagenet_c: writes an ImageNet-C-shaped JPEG tree ROOT/<corruption>/<severity>/<wnid>/<name>.JPEG,
// from synthetic images (for tests and for measuring time and memory at full size) or from a class folder of real
// images (e.g. ImageNet val: Resize(256) + CenterCrop(224) then the corruption, as ImageNet-C was made)
// SPDX-License-Identifier: MIT
//
// Usage:
//   make_imagenet_c ROOT [--images N] [--classes K] [--corruptions all|validation|NAME[,NAME...]]
//                        [--severity S] [--from DIR] [--size 224] [--quality 85] [--seed 0] [--threads T]
//     --images N        images per domain (default 100), spread over the classes in turn (image i → class i % K;
//                       with --from: the first N images of DIR in sorted order, 50000 for all of ImageNet val)
//     --classes K       synthetic classes, named n00000000, n00000001, ... (default 10; ignored with --from)
//     --corruptions     which domains (default all = the 15 benchmark corruptions in the paper's order;
//                       validation = the 4 validation ones; "clean" = the images uncorrupted, written to
//                       ROOT/clean/<wnid>/ without a severity level: a source / calibration folder)
//     --severity S      1..5 (default 5)
//     --from DIR        real images: DIR/<wnid>/**/<image> (sorted, the first N), resized so the shorter side is
//                       256·size/224 (bilinear), center-cropped to size × size, then corrupted
//     --size P          image side (default 224)
//     --quality Q       JPEG quality (default 85, as hendrycks' make_imagenet_c.py saves)
// Existing files are kept (an interrupted run continues). Prints one line per domain with the time it took.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/core/execution.hpp"
#include "zoa/core/rng.hpp"
#include "zoa/data/corruptions.hpp"
#include "zoa/data/image_folder.hpp"
#include "zoa/io/preprocess.hpp"

namespace {

namespace fs = std::filesystem;

struct options {
    std::string root, from;
    std::size_t images = 100, classes = 10, size = 224, threads = 1;
    int severity = 5, quality = 85;
    std::uint64_t seed = 0;
    std::vector<std::string> corruptions;
};

/// A synthetic size × size RGB image of class k: a class-specific colour and stripe orientation, a few random
/// discs and pixel noise (rng(seed, i)), so images differ and JPEG has texture to encode.
zoa::data::image synthetic(std::size_t i, std::size_t k, std::size_t size, std::uint64_t seed) {
    zoa::rng r(seed, i);
    zoa::data::image img = zoa::data::make_image(size, size, 3);
    const float base[3] = {40.0f + 20.0f * float(k % 7), 60.0f + 25.0f * float(k % 5), 80.0f + 30.0f * float(k % 3)};
    const float angle = 0.6f * float(k), freq = 0.05f + 0.01f * float(k % 4);
    const float c = std::cos(angle), s = std::sin(angle);
    struct disc {
        float x, y, r, v[3];
    } discs[4];
    for (auto& d : discs) {
        d = {r.uniform() * float(size), r.uniform() * float(size), (0.05f + 0.15f * r.uniform()) * float(size),
             {255 * r.uniform(), 255 * r.uniform(), 255 * r.uniform()}};
    }
    for (std::size_t y = 0; y < size; ++y)
        for (std::size_t x = 0; x < size; ++x) {
            const float stripe = 40.0f * std::sin(freq * (c * float(x) + s * float(y)));
            for (std::size_t ch = 0; ch < 3; ++ch) {
                float v = base[ch] + stripe + 20.0f * (r.uniform() - 0.5f);
                for (const auto& d : discs)
                    if ((float(x) - d.x) * (float(x) - d.x) + (float(y) - d.y) * (float(y) - d.y) < d.r * d.r)
                        v = 0.5f * v + 0.5f * d.v[ch];
                img(y, x, ch) = std::min(255.0f, std::max(0.0f, v));
            }
        }
    return img;
}

void write_jpeg(const zoa::data::image& img, int quality, const fs::path& path) {
    const std::size_t h = zoa::data::image_height(img), w = zoa::data::image_width(img), c = zoa::data::image_channels(img);
    std::vector<unsigned char> px(img.size());
    for (std::size_t i = 0; i < px.size(); ++i)
        px[i] = static_cast<unsigned char>(std::lround(std::min(255.0f, std::max(0.0f, img.data()[i]))));
    std::vector<unsigned char> jpg;
    zoa::require(stbi_write_jpg_to_func(zoa::data::corruptions::detail::append_bytes, &jpg, static_cast<int>(w),
                                        static_cast<int>(h), static_cast<int>(c), px.data(), quality) != 0,
                 zoa::error_code::io, path.string(), ": JPEG encoding failed");
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary);
        f.write(reinterpret_cast<const char*>(jpg.data()), static_cast<std::streamsize>(jpg.size()));
        zoa::require(f.good(), zoa::error_code::io, tmp.string(), ": cannot write");
    }
    fs::rename(tmp, path);  // a file either is complete or does not exist (the run can be continued)
}

std::size_t count_arg(const std::string& flag, const std::string& v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    zoa::require(!v.empty() && v[0] != '-' && *end == '\0', zoa::error_code::argument, flag,
                 " expects a non-negative integer, got '", v, "'");
    return static_cast<std::size_t>(n);
}

int run(int argc, char** argv) {
    options o;
    std::string which = "all";
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        const auto value = [&]() -> std::string {
            zoa::require(i + 1 < argc, zoa::error_code::argument, k, " needs a value");
            return argv[++i];
        };
        if (k == "--images") o.images = count_arg(k, value());
        else if (k == "--classes") o.classes = count_arg(k, value());
        else if (k == "--corruptions") which = value();
        else if (k == "--severity") o.severity = static_cast<int>(count_arg(k, value()));
        else if (k == "--from") o.from = value();
        else if (k == "--size") o.size = count_arg(k, value());
        else if (k == "--quality") o.quality = static_cast<int>(count_arg(k, value()));
        else if (k == "--seed") o.seed = count_arg(k, value());
        else if (k == "--threads") o.threads = count_arg(k, value());
        else if (k.size() > 1 && k[0] == '-') zoa::fail(zoa::error_code::argument, "unknown option '", k, "'");
        else positional.push_back(k);
    }
    zoa::require(positional.size() == 1, zoa::error_code::argument,
                 "usage: make_imagenet_c ROOT [--images N] [--classes K] [--corruptions all|validation|LIST] "
                 "[--severity S] [--from DIR] [--size P] [--quality Q] [--seed S] [--threads T]");
    o.root = positional[0];
    zoa::require(o.images >= 1 && o.classes >= 1 && o.size >= 8 && o.size <= 4096 && o.threads >= 1 &&
                     o.threads <= 256 && o.severity >= 1 && o.severity <= 5 && o.quality >= 1 && o.quality <= 100,
                 zoa::error_code::argument, "make_imagenet_c: an option is out of range (images, classes >= 1; size "
                 "8..4096; severity 1..5; quality 1..100; threads 1..256)");
    if (which == "all" || which == "validation") {
        if (which == "all")
            for (const auto c : zoa::data::benchmark_corruptions) o.corruptions.emplace_back(c);
        else
            for (const auto c : zoa::data::validation_corruptions) o.corruptions.emplace_back(c);
    } else {
        std::size_t b = 0;
        for (std::size_t e; b <= which.size(); b = e + 1) {
            e = std::min(which.find(',', b), which.size());
            o.corruptions.push_back(which.substr(b, e - b));
            if (o.corruptions.back() != "clean") zoa::data::corruption(o.corruptions.back());  // lists valid names
        }
    }

    // the source images: a real class folder, or synthetic classes
    std::unique_ptr<zoa::data::image_folder> folder;
    std::vector<std::string> wnids;
    if (!o.from.empty()) {
        zoa::data::image_folder_options fo;
        fo.limit = o.images;
        folder = std::make_unique<zoa::data::image_folder>(o.from, fo);
        wnids = folder->classes();
        o.images = folder->size();
    } else {
        for (std::size_t k = 0; k < o.classes; ++k) {
            char name[32];
            std::snprintf(name, sizeof name, "n%08zu", k);
            wnids.emplace_back(name);
        }
    }
    zoa::io::preprocess_config pre = zoa::io::preprocess_config::torchvision_imagenet(o.size);
    zoa::execution_context ctx(o.threads);
    for (const auto& c : o.corruptions) {
        const auto t0 = std::chrono::steady_clock::now();
        const bool clean = c == "clean";
        const fs::path dir = clean ? fs::path(o.root) / c : fs::path(o.root) / c / std::to_string(o.severity);
        // class folders are made when an image goes into them: an empty one would be refused by image_folder (with
        // fewer images than classes, the tree holds the first classes, so labels still match the sorted wnids)
        ctx.parallel_for(o.images, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                const std::size_t k = folder ? static_cast<std::size_t>(folder->samples()[i].label) : i % o.classes;
                char name[64];
                std::snprintf(name, sizeof name, "ILSVRC2012_val_%08zu.JPEG", i + 1);
                const fs::path out = dir / wnids[k] / name;
                if (fs::exists(out)) continue;
                std::error_code ec;
                fs::create_directories(out.parent_path(), ec);  // concurrent creation of the same folder is fine
                zoa::require(fs::is_directory(out.parent_path()), zoa::error_code::io, out.parent_path().string(),
                             ": cannot create the folder");
                zoa::data::image img = folder ? zoa::io::prepare_image(folder->load(i), pre) : synthetic(i, k, o.size, o.seed);
                if (!clean) img = zoa::data::corrupt(img, c, o.severity, o.seed * 1000003ull + i);
                write_jpeg(img, o.quality, out);
            }
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s: %zu images in %zu classes, %.1f s\n", dir.string().c_str(), o.images, wnids.size(), s);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    return run(argc, argv);
} catch (const std::exception& e) {
    std::fprintf(stderr, "make_imagenet_c: %s\n", e.what());
    return 2;
}
