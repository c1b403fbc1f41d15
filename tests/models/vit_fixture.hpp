// zoa — shared helpers of the ViT tests: the golden fixture (tests/fixtures/models, written by
// tools/reference/gen_vit_fixture.py) and comparisons
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "zoa/io/safetensors_reader.hpp"
#include "zoa/models/vit_weights.hpp"

namespace vit_test {

inline std::string fixture(const std::string& name) {
    return std::string(ZOA_FIXTURES_DIR) + "/models/" + name;
}

/// The golden file (inputs and PyTorch outputs).
inline const zoa::io::safetensors_file& golden() {
    static const zoa::io::safetensors_file f = zoa::io::safetensors_file::open(fixture("vit_golden.safetensors"));
    return f;
}
inline std::vector<float> tensor(const std::string& key) {
    return golden().to_f32(key);
}

/// The golden weights (timm names), loaded once.
inline const zoa::models::vit_weights& weights() {
    static const zoa::models::vit_weights w = zoa::models::load_vit_weights(fixture("vit_tiny_timm.safetensors"));
    return w;
}

/// Images [first, first + n) of the golden input batch.
inline xt::xtensor<float, 4> images(std::size_t first, std::size_t n) {
    const std::vector<float> all = tensor("input");
    const auto& shape = golden().info("input").shape;
    const std::size_t per = shape[1] * shape[2] * shape[3];
    REQUIRE(first + n <= shape[0]);
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({n, shape[1], shape[2], shape[3]});
    std::copy(all.begin() + static_cast<std::ptrdiff_t>(first * per),
              all.begin() + static_cast<std::ptrdiff_t>((first + n) * per), x.begin());
    return x;
}

inline double max_abs(const float* a, std::size_t n) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i])));
    return m;
}
inline double max_diff(const float* a, const float* b, std::size_t n) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

/// Checks |got − want| ≤ tol · max|want| element-wise over the first n values; reports the relative error.
inline void check_close(const std::string& what, const float* got, const std::vector<float>& want, std::size_t n,
                        double tol = 1e-4) {
    REQUIRE(want.size() >= n);
    const double scale = max_abs(want.data(), n), err = max_diff(got, want.data(), n);
    INFO(what << ": max |zoa - torch| = " << err << ", max |torch| = " << scale);
    MESSAGE(what << ": max |zoa - torch| / max |torch| = " << err / scale);
    CHECK(err <= tol * scale);
}

inline std::vector<std::size_t> argmax_rows(const xt::xtensor<float, 2>& l) {
    std::vector<std::size_t> r(l.shape(0));
    for (std::size_t i = 0; i < l.shape(0); ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < l.shape(1); ++j)
            if (l(i, j) > l(i, best)) best = j;
        r[i] = best;
    }
    return r;
}

}  // namespace vit_test
