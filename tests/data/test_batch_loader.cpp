// zoa — tests for the streaming batch pipeline (zoa/data/batch_loader.hpp, zoa/data/stream_sources.hpp): batches
// bit-identical to the whole-domain path (Fashion-MNIST-C, a class folder), any depth and worker count, resume,
// lazy segments, the bounded queue, errors in stream order
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "zoa/core/execution.hpp"
#include "zoa/data/batch_loader.hpp"
#include "zoa/data/stream_sources.hpp"
#include "zoa/io/preprocess.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using zoa::data::batch_loader;
using zoa::data::batch_loader_options;
using zoa::data::stream_batch;

namespace {

/// Every batch of a loader, in order.
std::vector<stream_batch> drain(batch_loader& l) {
    std::vector<stream_batch> out;
    stream_batch b;
    while (l.next(b)) out.push_back(std::move(b));
    return out;
}

/// Bitwise equality of a stream's batches with one whole-domain tensor and label list.
void check_same(const std::vector<stream_batch>& got, const xt::xtensor<float, 4>& all, const std::vector<int>& labels,
                std::size_t batch, std::size_t first_batch = 0) {
    const std::size_t per = all.shape(1) * all.shape(2) * all.shape(3);
    std::size_t at = first_batch * batch;
    for (const auto& b : got) {
        REQUIRE(b.first == at);
        const std::size_t n = b.labels.size();
        REQUIRE(b.images.shape(0) == n);
        REQUIRE(b.images.size() == n * per);
        CHECK(std::memcmp(b.images.data(), all.data() + at * per, n * per * sizeof(float)) == 0);
        CHECK(std::equal(b.labels.begin(), b.labels.end(), labels.begin() + static_cast<std::ptrdiff_t>(at)));
        at += n;
    }
    CHECK(at == labels.size());
}

using zoa_test::temp_dir;

/// A labelled synthetic source: item i is an h × w RGB image whose pixels depend on i; label i % 7.
zoa::data::sample_source synthetic(std::size_t n, std::size_t h = 12, std::size_t w = 10) {
    zoa::data::sample_source s;
    s.size = n;
    s.get = [h, w](std::size_t i) {
        zoa::data::image img = zoa::data::make_image(h, w, 3);
        for (std::size_t k = 0; k < img.size(); ++k) img.data()[k] = static_cast<float>((i * 31 + k * 7) % 256);
        return zoa::data::labeled_image{img, static_cast<int>(i % 7)};
    };
    return s;
}

}  // namespace

TEST_CASE("shuffled_order is the seeded Fisher-Yates permutation") {
    const auto a = zoa::data::shuffled_order(1000, 2020), b = zoa::data::shuffled_order(1000, 2020);
    CHECK(a == b);
    std::vector<std::size_t> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);
    CHECK(a != zoa::data::shuffled_order(1000, 2021));
    // the reference loop the CLI ran before the pipeline existed
    std::vector<std::size_t> ref(1000);
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = i;
    zoa::rng r(2020, 0x5348554646ull);
    for (std::size_t i = ref.size(); i > 1; --i) std::swap(ref[i - 1], ref[r.uniform_index(static_cast<std::uint32_t>(i))]);
    CHECK(a == ref);
}

TEST_CASE("Fashion-MNIST-C streamed batches are bit-identical to the whole-domain path") {
    using namespace zoa::data;
    if (!fashion_mnist_available(fashion_mnist_split::test)) {
        MESSAGE("SKIP: Debian's dataset-fashion-mnist is not installed");
        return;
    }
    const auto ds = std::make_shared<const idx_dataset>(load_fashion_mnist(fashion_mnist_split::test));
    const std::uint64_t seed = 2020;
    const std::size_t limit = 300;
    zoa::io::preprocess_config pre;
    pre.channels = 3;
    pre.crop = 32;  // 28 → 32: zero padding (the demo ViT's input), exercises the crop step
    pre.mean = {0.2860f};
    pre.std_dev = {0.3530f};
    for (const char* corruption : {"", "gaussian_noise", "fog"}) {
        CAPTURE(corruption);
        // the whole-domain path of `zoa stream` before the pipeline: order, corrupt per image, then make_batch
        const auto order = shuffled_order(ds->size(), seed);
        std::vector<image> imgs;
        std::vector<int> labels;
        for (std::size_t i = 0; i < limit; ++i) {
            const std::size_t k = order[i];
            image img = ds->get(k, 3);
            if (*corruption) img = corrupt(img, corruption, 5, seed * 1000003ull + k);
            imgs.push_back(img);
            labels.push_back(ds->labels[k]);
        }
        zoa::execution_context ctx(2);
        const auto all = zoa::io::make_batch(imgs, pre, &ctx);

        idx_source_options o;
        o.seed = seed;
        o.limit = limit;
        o.corruption = corruption;
        o.severity = 5;
        for (std::size_t depth : {0, 1, 2, 3})
            for (std::size_t workers : {1, 2}) {
                CAPTURE(depth);
                CAPTURE(workers);
                batch_loader_options lo;
                lo.batch_size = 64;
                lo.depth = depth;
                lo.workers = workers;
                batch_loader l(idx_source(ds, o), pre, lo);
                const auto got = drain(l);
                REQUIRE(got.size() == 5);  // 4 × 64 + 44
                CHECK(got.back().labels.size() == 44);
                CHECK(got.back().last_in_segment());
                check_same(got, all, labels, 64);
            }
        // resume in the middle: the same tail
        batch_loader_options lo;
        lo.start = 3;
        batch_loader l(idx_source(ds, o), pre, lo);
        const auto tail = drain(l);
        REQUIRE(tail.size() == 2);
        CHECK(tail[0].sequence == 3);
        std::vector<int> tail_labels(labels.begin() + 192, labels.end());
        const std::size_t per = 3 * 32 * 32;
        xt::xtensor<float, 4> tail_all = xt::xtensor<float, 4>::from_shape({limit - 192, 3, 32, 32});
        std::copy(all.data() + 192 * per, all.data() + limit * per, tail_all.data());
        std::vector<stream_batch> shifted = tail;
        for (auto& b : shifted) b.first -= 192;
        check_same(shifted, tail_all, tail_labels, 64);
    }
}

TEST_CASE("a class folder streams bit-identically to image_folder::load_range + make_batch") {
    temp_dir dir("batch_loader_folder");
    // 3 classes × 23 images of varying sizes (PNG), so resize and crop both run
    for (int c = 0; c < 3; ++c) {
        const fs::path cls = dir.path / ("class_" + std::to_string(c));
        fs::create_directories(cls);
        for (int i = 0; i < 23; ++i) {
            const int h = 20 + (i * 7) % 19, w = 18 + (i * 5) % 23;
            std::vector<unsigned char> px(static_cast<std::size_t>(h * w * 3));
            for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<unsigned char>((k * 13 + static_cast<std::size_t>(i * 17 + c * 59)) % 256);
            std::vector<unsigned char> png;
            stbi_write_png_to_func(zoa::data::corruptions::detail::append_bytes, &png, w, h, 3, px.data(), w * 3);
            std::ofstream f(cls / (std::to_string(i) + ".png"), std::ios::binary);
            f.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
        }
    }
    zoa::data::image_folder_options fo;
    fo.shuffle = true;
    fo.seed = 7;
    fo.limit = 60;
    const zoa::data::image_folder folder(dir.path.string(), fo);
    zoa::execution_context ctx(2);
    const auto loaded = folder.load_range(0, folder.size(), &ctx);
    for (const auto& pre : {zoa::io::preprocess_config::torchvision_imagenet(16),
                           zoa::io::preprocess_config::timm_inception(16)}) {
        const auto all = zoa::io::make_batch(loaded.images, pre, &ctx);
        for (std::size_t depth : {0, 2}) {
            batch_loader_options lo;
            lo.batch_size = 16;
            lo.depth = depth;
            lo.workers = 2;
            batch_loader l({zoa::data::folder_opener(dir.path.string(), fo)}, pre, lo);
            const auto got = drain(l);
            REQUIRE(got.size() == 4);
            check_same(got, all, loaded.labels, 16);
        }
    }
}

TEST_CASE("segments: batches never span two, empty ones give none, openers run when the stream reaches them") {
    std::atomic<int> opened[3] = {0, 0, 0};
    std::vector<zoa::data::source_opener> segs = {
        [&] { ++opened[0]; return synthetic(10); },
        [&] { ++opened[1]; return zoa::data::sample_source{}; },  // empty
        [&] { ++opened[2]; return synthetic(5); }};
    zoa::io::preprocess_config pre;
    batch_loader_options lo;
    lo.batch_size = 4;
    lo.depth = 1;
    batch_loader l(segs, pre, lo);
    stream_batch b;
    REQUIRE(l.next(b));
    CHECK(b.segment == 0);
    CHECK(b.segment_batches == 3);
    CHECK(opened[2] == 0);  // depth 1: at most one batch ahead, so segment 2 is not reached yet
    std::vector<std::size_t> sizes{b.labels.size()}, segment{b.segment};
    while (l.next(b)) sizes.push_back(b.labels.size()), segment.push_back(b.segment);
    CHECK(sizes == std::vector<std::size_t>{4, 4, 2, 4, 1});
    CHECK(segment == std::vector<std::size_t>{0, 0, 0, 2, 2});
    CHECK(opened[0] == 1);
    CHECK(opened[1] == 1);
    CHECK(opened[2] == 1);
    CHECK_FALSE(l.next(b));  // stays at the end

    // start = 4 skips segment 0 entirely (opened only to learn its size) and begins at segment 2's second batch
    batch_loader r(segs, pre, {4, 2, 2, 4});
    const auto tail = drain(r);
    REQUIRE(tail.size() == 1);
    CHECK(tail[0].sequence == 4);
    CHECK(tail[0].segment == 2);
    CHECK(tail[0].index == 1);
    CHECK(tail[0].labels == std::vector<int>{4});
}

TEST_CASE("the queue is bounded: no item beyond depth batches ahead of the consumer is read") {
    constexpr std::size_t B = 8, depth = 2, n = 200;
    std::atomic<std::size_t> max_item{0};
    zoa::data::sample_source s = synthetic(n);
    auto inner = s.get;
    s.get = [&, inner](std::size_t i) {
        std::size_t m = max_item.load();
        while (i > m && !max_item.compare_exchange_weak(m, i)) {}
        return inner(i);
    };
    batch_loader l(s, zoa::io::preprocess_config{}, {B, depth, 3, 0});
    stream_batch b;
    for (std::size_t taken = 0; l.next(b); ++taken) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // give the workers time to run ahead
        // taken + 1 batches consumed: the workers may have read up to `depth` more batches
        CHECK(max_item.load() < (taken + 1 + depth) * B);
    }
    CHECK(max_item.load() == n - 1);
}

TEST_CASE("errors reach next() in stream order") {
    zoa::io::preprocess_config pre;
    SUBCASE("an item that fails: the batches before it are delivered") {
        zoa::data::sample_source s = synthetic(40);
        auto inner = s.get;
        s.get = [inner](std::size_t i) {
            if (i == 21) zoa::fail(zoa::error_code::format, "item21.png: cannot decode image: bad");
            return inner(i);
        };
        for (std::size_t depth : {0, 2}) {
            batch_loader l(s, pre, {8, depth, 2, 0});
            stream_batch b;
            REQUIRE(l.next(b));
            REQUIRE(l.next(b));
            CHECK_THROWS_WITH_AS(l.next(b), doctest::Contains("item21.png"), zoa::error);
            CHECK_THROWS_AS(l.next(b), zoa::error);  // stays failed
        }
    }
    SUBCASE("an opener that fails") {
        std::vector<zoa::data::source_opener> segs = {
            [] { return synthetic(9); },
            []() -> zoa::data::sample_source { zoa::fail(zoa::error_code::io, "/data/missing: not a directory"); }};
        for (std::size_t depth : {0, 3}) {
            batch_loader l(segs, pre, {8, depth, 1, 0});
            stream_batch b;
            REQUIRE(l.next(b));
            REQUIRE(l.next(b));
            CHECK(b.labels.size() == 1);
            CHECK_THROWS_WITH_AS(l.next(b), doctest::Contains("/data/missing"), zoa::error);
        }
    }
    SUBCASE("images of different sizes without a crop") {
        std::vector<zoa::data::source_opener> segs = {[] {
            zoa::data::sample_source s = synthetic(4);
            auto inner = s.get;
            s.get = [inner](std::size_t i) { return i == 2 ? synthetic(1, 5, 5).get(0) : inner(i); };
            return s;
        }};
        batch_loader l(segs, pre, {4, 2, 1, 0});
        stream_batch b;
        CHECK_THROWS_WITH_AS(l.next(b), doctest::Contains("item 2 of segment 0 is 5x5"), zoa::error);
    }
    SUBCASE("bad options") {
        CHECK_THROWS_AS(batch_loader(synthetic(3), pre, {0, 2, 1, 0}), zoa::error);
        CHECK_THROWS_AS(batch_loader(synthetic(3), pre, {4, 2, 0, 0}), zoa::error);
    }
    SUBCASE("destroying a loader that is still working joins its workers") {
        batch_loader l(synthetic(1000), pre, {4, 3, 3, 0});
        stream_batch b;
        REQUIRE(l.next(b));
    }
}
