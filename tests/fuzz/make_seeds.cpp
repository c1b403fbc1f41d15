// zoa — writes the adapter_state seed corpus (tests/fuzz/corpus/adapter_state/) from real adapter snapshots
// SPDX-License-Identifier: MIT
// Build and run from the repository root:
//   g++ -std=c++17 -O1 -Iinclude -Itests/fuzz tests/fuzz/make_seeds.cpp -o /tmp/make_seeds && /tmp/make_seeds
#include <cstddef>
#include <string>

#include "fuzz_entries.hpp"

int main() {
    const std::string dir = "tests/fuzz/corpus/adapter_state/";
    zoa_fuzz::toy_model model;
    zoa::adapt::source_statistics src;
    src.groups = {zoa_fuzz::toy_model::D, zoa_fuzz::toy_model::D};
    src.mean.assign(2 * zoa_fuzz::toy_model::D, 0.0f);
    src.std.assign(2 * zoa_fuzz::toy_model::D, 1.0f);
    src.provenance["model"] = "toy";
    zoa::adapt::save_source_statistics(src, dir + "source_statistics.safetensors");
    zoa::adapt::zoa_options opt;
    opt.min_detect_batch = 1;
    zoa::adapt::zoa_adapter<zoa_fuzz::toy_model> adapter(model, opt, src);
    zoa::adapt::save_zoa_state(adapter.snapshot(), dir + "fresh.state");
    // two "domains": inputs around 0, then around 5 with a larger spread (the embedding statistics jump)
    for (int step = 0; step < 8; ++step) {
        xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({4, zoa_fuzz::toy_model::in});
        for (std::size_t i = 0; i < x.size(); ++i)
            x.data()[i] = (step < 4 ? 0.0f : 5.0f) + static_cast<float>((i * 7 + static_cast<std::size_t>(step)) % 5) *
                                                         (step < 4 ? 0.5f : 3.0f);
        adapter.predict_and_adapt(x);
        if (step == 3) zoa::adapt::save_zoa_state(adapter.snapshot(), dir + "one_domain.state");
    }
    zoa::adapt::save_zoa_state(adapter.snapshot(), dir + "two_domains.state");
    return 0;
}
