// zoa — one immutable model shared by several threads: concurrent predict() equals single-threaded predict()
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "reliability_util.hpp"

namespace {

// Each of `threads` threads runs predict() on every batch `rounds` times (in a different order per thread); every
// result must equal the single-threaded reference bit for bit.
template <class Model>
void check_shared(const Model& m, std::size_t threads, std::size_t rounds) {
    std::vector<rel::batch4> batches;
    for (std::uint64_t i = 0; i < 4; ++i) batches.push_back(rel::batch(1 + i, 3, 16, 16, 100 + i));
    std::vector<xt::xtensor<float, 2>> want;
    for (const auto& b : batches) want.push_back(m.predict(b));
    std::vector<int> mismatches(threads, 0), errors(threads, 0);
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            try {
                for (std::size_t r = 0; r < rounds; ++r)
                    for (std::size_t k = 0; k < batches.size(); ++k) {
                        const std::size_t i = (k + t) % batches.size();
                        if (!(m.predict(batches[i]) == want[i])) ++mismatches[t];
                    }
            } catch (...) {
                ++errors[t];
            }
        });
    for (auto& th : pool) th.join();
    for (std::size_t t = 0; t < threads; ++t) {
        CAPTURE(t);
        CHECK(mismatches[t] == 0);
        CHECK(errors[t] == 0);
    }
}

}  // namespace

TEST_CASE("a ViT shared by 4 threads predicts exactly as one thread (model context with 1 and 2 threads)") {
    rel::vit32 m = rel::vit32::load(rel::vit_file());
    check_shared(m, 4, 3);
    m.set_threads(2);  // the model's own pool is then shared by the callers (one parallel_for at a time)
    check_shared(m, 4, 3);
}

TEST_CASE("a ResNet shared by 4 threads predicts exactly as one thread (model context with 1 and 2 threads)") {
    rel::resnet32 m = rel::resnet32::load(rel::resnet_file());
    check_shared(m, 4, 3);
    m.set_threads(2);
    check_shared(m, 4, 3);
}
