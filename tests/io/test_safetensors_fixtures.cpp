// zoa — cross-checks against files written by PyTorch + Python writers (tests/fixtures/safetensors/make_fixtures.py)
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "safetensors_test_util.hpp"
#include "zoa/io/safetensors.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using zoa::io::safetensors_file;

namespace {

std::string fixture(const std::string& name) { return std::string(ZOA_FIXTURES_DIR) + "/safetensors/" + name; }

// Bitwise equality; NaNs only need to be NaN on both sides (PyTorch may quiet signalling NaNs when converting).
void check_same(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
            CHECK_MESSAGE(std::isnan(got[i]), what << "[" << i << "]");
        } else {
            CHECK_MESSAGE(zoa::io::float_bits(got[i]) == zoa::io::float_bits(want[i]),
                          what << "[" << i << "] = " << got[i] << ", PyTorch " << want[i]);
        }
    }
}

void check_reference_content(const safetensors_file& f) {
    CHECK(f.size() == 14);
    CHECK(f.metadata().at("format") == "pt");
    for (const char* name : {"f16.values", "bf16.values", "f16.codes", "bf16.codes"})
        check_same(f.to_f32(name), f.to_f32(std::string(name) + ".as_f32"), name);  // ours vs PyTorch's .float()
    const auto ramp = f.to_f32("f32.ramp");
    f.expect_shape("f32.ramp", {2, 3, 4});
    for (std::size_t i = 0; i < ramp.size(); ++i) CHECK(ramp[i] == static_cast<float>(i));  // row-major
    const auto i8 = f.read<std::int8_t>("i8.ramp");
    for (std::size_t i = 0; i < i8.size(); ++i) CHECK(int{i8[i]} == static_cast<int>(i) - 128);
    const auto u8 = f.read<std::uint8_t>("u8.ramp");
    for (std::size_t i = 0; i < u8.size(); ++i) CHECK(std::size_t{u8[i]} == i);
    const auto i32 = f.read<std::int32_t>("i32.ramp");
    for (std::size_t i = 0; i < i32.size(); ++i) CHECK(i32[i] == (static_cast<std::int32_t>(i) - 5) * 100000);
    CHECK(f.info("bn1.num_batches_tracked").shape.empty());
    CHECK(f.read<std::int64_t>("bn1.num_batches_tracked") == std::vector<std::int64_t>{1234567890123});
}

}  // namespace

TEST_CASE("PyTorch tensors written by tools/reference/safetensors_io.py: F16/BF16 conversion matches torch") {
    check_reference_content(safetensors_file::open(fixture("torch_reference.safetensors")));
}

TEST_CASE("the docs/io.md stdlib+torch snippet writes files the reader accepts, with the same tensors") {
    const auto a = safetensors_file::open(fixture("snippet.safetensors"));
    check_reference_content(a);
    const auto b = safetensors_file::open(fixture("torch_reference.safetensors"));
    for (const auto& t : b.tensors()) {
        const auto x = a.bytes(t.name), y = b.bytes(t);
        REQUIRE(x.size == y.size);
        CHECK(std::memcmp(x.data, y.data, x.size) == 0);
    }
}

TEST_CASE("our writer reproduces the Python reference writer's file byte for byte") {
    const std::string p = fixture("torch_reference.safetensors");
    const auto f = safetensors_file::open(p);
    zoa::io::safetensors_writer w;
    for (const auto& t : f.tensors()) {
        const auto span = f.bytes(t);
        w.add_raw(t.name, t.dtype, t.shape, span.data, span.size);
    }
    for (const auto& kv : f.metadata()) w.set_metadata(kv.first, kv.second);
    CHECK(w.to_bytes() == zoa_test::read_file(p));
}

TEST_CASE("every fuzz seed is a valid file") {
    const std::filesystem::path dir = std::filesystem::path(ZOA_SOURCE_DIR) / "tests/fuzz/corpus/safetensors";
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        CHECK_NOTHROW(safetensors_file::open(e.path().string()));
        ++n;
    }
    CHECK(n >= 4);
}
