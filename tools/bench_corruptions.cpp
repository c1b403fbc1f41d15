// zoa — measures µs per image of every corruption × severity and optionally writes a PNG contact sheet
// SPDX-License-Identifier: MIT
//
// Build and run (Release flags, one core):
//   g++ -std=c++17 -O3 -DNDEBUG -I include tools/bench_corruptions.cpp -o build/bench_corruptions
//   build/bench_corruptions [--size N] [--channels 1|3] [--reps R] [--raw FILE] [--grid OUT.png]
//   build/bench_corruptions --frost-stats 1
// --size N      square synthetic test image of side N (default 28: Fashion-MNIST-like, 3 channels)
// --raw FILE    use FILE (N·N·C bytes, HWC uint8) as the test image instead of the synthetic one
// --reps R      images per timing block (default 300 for N ≤ 64, else 3); each cell reports the fastest of 5
//               blocks (µs per image), which filters out other processes on a shared machine
// --grid OUT    write a (1 + 19) × 5 contact sheet: row 0 the clean image, then one row per corruption
// --frost-stats print the procedural frost texture's std and roughness mean|∂x T|/std(T) over 20 seeds for the
//               CIFAR-10-C (32 px) and ImageNet-C (224 px) settings (targets from the photographs: 0.66, 0.40)
// Prints one line per corruption: name, µs/image for severities 1..5, and the mean |y − x| per severity.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "zoa/data/corruptions.hpp"

namespace {

using image3 = xt::xtensor<float, 3>;

/// A Fashion-MNIST-like test image: a bright garment silhouette (ellipse body + sleeves) with texture on black,
/// coloured tints for 3 channels so HSV corruptions have something to act on.
image3 synthetic(std::size_t n, std::size_t c) {
    image3 x = image3::from_shape({n, n, c});
    const double s = static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t q = 0; q < n; ++q) {
            const double y = (static_cast<double>(r) + 0.5) / s - 0.5, xx = (static_cast<double>(q) + 0.5) / s - 0.5;
            const bool body = (xx * xx) / 0.06 + (y * y) / 0.16 < 1.0;
            const bool sleeve = std::fabs(y + 0.25) < 0.08 && std::fabs(xx) < 0.42;
            const double tex = 0.75 + 0.25 * std::sin(40.0 * xx) * std::cos(30.0 * y);
            const double v = (body || sleeve) ? 230.0 * tex : 0.0;
            for (std::size_t k = 0; k < c; ++k)
                x(r, q, k) = static_cast<float>(c == 3 ? v * (k == 0 ? 1.0 : k == 1 ? 0.8 : 0.6) : v);
        }
    return x;
}

/// Standard deviation and roughness (mean |horizontal difference| / std) of the gray image of frost textures.
void frost_stats() {
    for (const std::size_t n : {std::size_t{32}, std::size_t{224}}) {
        const auto setup = zoa::data::corruption_setup::resolve(n, n, {});
        double sd_sum = 0.0, rough_sum = 0.0;
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            zoa::rng g(seed);
            const auto t = zoa::data::corruptions::detail::frost_texture(
                n, n, 3, zoa::data::corruptions::detail::frost_feature_px(setup), g);
            std::vector<double> gray(n * n);
            double mean = 0.0, var = 0.0, diff = 0.0;
            for (std::size_t i = 0; i < n * n; ++i) {
                gray[i] = (t.data()[3 * i] + t.data()[3 * i + 1] + t.data()[3 * i + 2]) / 3.0;
                mean += gray[i] / static_cast<double>(n * n);
            }
            for (std::size_t i = 0; i < n * n; ++i) var += (gray[i] - mean) * (gray[i] - mean);
            for (std::size_t r = 0; r < n; ++r)
                for (std::size_t q = 0; q + 1 < n; ++q) diff += std::fabs(gray[r * n + q + 1] - gray[r * n + q]);
            const double sd = std::sqrt(var / static_cast<double>(n * n));
            sd_sum += sd;
            rough_sum += diff / static_cast<double>(n * (n - 1)) / sd;
        }
        std::printf("frost texture %zux%zu (%s table, crystal length %.1f px): std %.1f, roughness %.3f\n", n, n,
                    setup.cifar ? "CIFAR-10-C" : "ImageNet-C",
                    zoa::data::corruptions::detail::frost_feature_px(setup), sd_sum / 20.0, rough_sum / 20.0);
    }
}

void write_png(const std::string& path, const std::vector<unsigned char>& rgb, int w, int h) {
    std::vector<unsigned char> bytes;
    stbi_write_png_to_func(zoa::data::corruptions::detail::append_bytes, &bytes, w, h, 3, rgb.data(), w * 3);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 28, c = 3;
    int reps = 0;
    std::string raw, grid;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--size") n = std::stoul(v);
        else if (a == "--channels") c = std::stoul(v);
        else if (a == "--reps") reps = std::stoi(v);
        else if (a == "--raw") raw = v;
        else if (a == "--grid") grid = v;
        else if (a == "--frost-stats") {
            frost_stats();
            return 0;
        }
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    image3 x = synthetic(n, c);
    if (!raw.empty()) {
        std::ifstream in(raw, std::ios::binary);
        std::vector<unsigned char> b(n * n * c);
        if (!in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()))) {
            std::fprintf(stderr, "cannot read %zu bytes from %s\n", b.size(), raw.c_str());
            return 1;
        }
        for (std::size_t i = 0; i < b.size(); ++i) x.data()[i] = b[i];
    }
    if (reps <= 0) reps = n <= 64 ? 300 : 3;
    std::printf("image %zux%zux%zu, %d reps per cell; columns: us/image at severity 1..5 | mean |y-x| 1..5\n", n, n, c,
                reps);
    std::vector<unsigned char> sheet;
    const std::size_t cols = 5, rows_ = 1 + zoa::data::corruption_registry.size();
    if (!grid.empty()) sheet.assign(rows_ * n * cols * n * 3, 0);
    auto paste = [&](const image3& img, std::size_t row, std::size_t col) {
        for (std::size_t r = 0; r < n; ++r)
            for (std::size_t q = 0; q < n; ++q)
                for (std::size_t k = 0; k < 3; ++k)
                    sheet[((row * n + r) * cols * n + col * n + q) * 3 + k] =
                        static_cast<unsigned char>(std::lround(img(r, q, c == 3 ? k : 0)));
    };
    if (!grid.empty()) paste(x, 0, 0);
    double total = 0.0;
    for (std::size_t ci = 0; ci < zoa::data::corruption_registry.size(); ++ci) {
        const auto name = zoa::data::corruption_registry[ci].name;
        std::printf("%-18s", std::string(name).c_str());
        std::vector<double> mad;
        for (int s = 1; s <= 5; ++s) {
            image3 y;
            double us = 1e300;
            for (int block = 0; block < 5; ++block) {
                const auto t0 = std::chrono::steady_clock::now();
                for (int r = 0; r < reps; ++r) y = zoa::data::corrupt(x, name, s, static_cast<std::uint64_t>(r));
                const auto t1 = std::chrono::steady_clock::now();
                us = std::min(us, std::chrono::duration<double, std::micro>(t1 - t0).count() / reps);
            }
            if (s == 5) total += us;
            std::printf(" %8.1f", us);
            double d = 0.0;
            for (std::size_t i = 0; i < x.size(); ++i) d += std::fabs(y.data()[i] - x.data()[i]);
            mad.push_back(d / static_cast<double>(x.size()));
            if (!grid.empty()) paste(y, ci + 1, static_cast<std::size_t>(s - 1));
        }
        std::printf("  |");
        for (const double d : mad) std::printf(" %6.1f", d);
        std::printf("\n");
    }
    std::printf("sum over the 19 corruptions at severity 5: %.1f us/image\n", total);
    if (!grid.empty()) write_png(grid, sheet, static_cast<int>(cols * n), static_cast<int>(rows_ * n));
    return 0;
}
