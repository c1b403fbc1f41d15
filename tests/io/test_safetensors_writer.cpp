// zoa — tests for the safetensors writer: bitwise round trip, deterministic layout, atomic save, argument errors
// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "safetensors_test_util.hpp"
#include "zoa/io/safetensors.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

using zoa::error_code;
using zoa::io::dtype;
using zoa::io::safetensors_file;
using zoa::io::safetensors_writer;

namespace {

std::vector<float> specials() {
    return {0.0f,
            -0.0f,
            1.0f,
            -1.5f,
            65504.0f,
            1e-8f,
            std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity(),
            std::numeric_limits<float>::quiet_NaN(),
            std::numeric_limits<float>::denorm_min(),
            std::numeric_limits<float>::max(),
            3.14159265f};
}

// A writer holding one tensor of each supported element type, with metadata.
safetensors_writer sample_writer() {
    safetensors_writer w;
    const std::vector<float> f = specials();
    w.add("blocks.0.norm1.weight", {3, 4}, f);
    w.add("quant.w_int8", {2, 3}, std::vector<std::int8_t>{-128, -1, 0, 1, 7, 127});
    w.add("quant.zero_point", {5}, std::vector<std::uint8_t>{0, 1, 128, 254, 255});
    w.add("quant.bias_int32", {2}, std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min(), 42});
    w.add("bn1.num_batches_tracked", {}, std::vector<std::int64_t>{123456789012345});
    w.add_f16("half", {12}, f.data(), f.size());
    w.add_bf16("brain", {12}, f.data(), f.size());
    w.add("empty", {0, 3}, std::vector<float>{});
    w.set_metadata("format", "pt");
    w.set_metadata("zoa.arch", "vit_tiny_patch16_224");
    w.set_metadata("note", "ünïcødé ✓");
    return w;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("round trip: every tensor reads back bit-identical, with shapes and metadata") {
    const auto img = sample_writer().to_bytes();
    auto f = safetensors_file::from_bytes("rt", img);
    CHECK(f.size() == 8);
    CHECK(same_bits(f.to_f32("blocks.0.norm1.weight"), specials()));
    CHECK(f.info("blocks.0.norm1.weight").shape == std::vector<std::size_t>{3, 4});
    CHECK(f.read<std::int8_t>("quant.w_int8") == std::vector<std::int8_t>{-128, -1, 0, 1, 7, 127});
    CHECK(f.read<std::uint8_t>("quant.zero_point") == std::vector<std::uint8_t>{0, 1, 128, 254, 255});
    CHECK(f.read<std::int32_t>("quant.bias_int32") ==
          std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min(), 42});
    CHECK(f.read<std::int64_t>("bn1.num_batches_tracked") == std::vector<std::int64_t>{123456789012345});
    CHECK(f.info("bn1.num_batches_tracked").shape.empty());
    CHECK(f.info("empty").elements == 0);
    CHECK(f.metadata().at("zoa.arch") == "vit_tiny_patch16_224");
    CHECK(f.metadata().at("note") == "ünïcødé ✓");
    // F16/BF16: stored values are the rounded ones; reading gives exactly half_to_float(float_to_half(x)).
    const auto h = f.to_f32("half"), b = f.to_f32("brain");
    const auto x = specials();
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float eh = zoa::io::half_to_float(zoa::io::float_to_half(x[i]));
        const float eb = zoa::io::bf16_to_float(zoa::io::float_to_bf16(x[i]));
        CHECK(zoa::io::float_bits(h[i]) == zoa::io::float_bits(eh));
        CHECK(zoa::io::float_bits(b[i]) == zoa::io::float_bits(eb));
    }
}

TEST_CASE("layout: header padded to a multiple of 8, sorted keys, data by alignment then name") {
    const auto img = sample_writer().to_bytes();
    auto f = safetensors_file::from_bytes("rt", img);
    CHECK((8 + f.header_size()) % 8 == 0);
    CHECK(img[8] == '{');
    CHECK(img[8 + f.header_size() - 1] != '\t');
    CHECK(f.keys() == f.keys(zoa::io::key_order::sorted));  // header lists names sorted
    // data order: 8-byte (I64), 4-byte (F32 names sorted, I32), 2-byte (BF16, F16), 1-byte (I8, U8)
    CHECK(f.keys(zoa::io::key_order::data) ==
          std::vector<std::string>{"bn1.num_batches_tracked", "blocks.0.norm1.weight", "empty", "quant.bias_int32",
                                   "brain", "half", "quant.w_int8", "quant.zero_point"});
    for (const auto& t : f.tensors())  // every tensor starts aligned relative to the file start
        CHECK((f.header_size() + 8 + t.begin) % zoa::io::alignment_of(t.dtype) == 0);
    const std::string header(reinterpret_cast<const char*>(img.data()) + 8, f.header_size());
    CHECK(header.rfind("{\"__metadata__\":{\"format\":\"pt\",\"note\":", 0) == 0);  // metadata first, keys sorted
}

TEST_CASE("deterministic: insertion order does not matter, and rewriting a read file reproduces it byte for byte") {
    safetensors_writer a, b;
    const std::vector<float> v{1, 2, 3};
    a.add("z", {3}, v);
    a.add("a", {1}, std::vector<std::int8_t>{5});
    a.set_metadata("k", "v");
    b.set_metadata("k", "v");
    b.add("a", {1}, std::vector<std::int8_t>{5});
    b.add("z", {3}, v);
    CHECK(a.to_bytes() == b.to_bytes());

    const auto img = sample_writer().to_bytes();
    auto f = safetensors_file::from_bytes("rt", img);
    safetensors_writer copy;
    for (const auto& t : f.tensors()) {
        const auto span = f.bytes(t);
        copy.add_raw(t.name, t.dtype, t.shape, span.data, span.size);
    }
    for (const auto& kv : f.metadata()) copy.set_metadata(kv.first, kv.second);
    CHECK(copy.to_bytes() == img);
}

TEST_CASE("an empty writer produces a valid empty file") {
    const auto img = safetensors_writer{}.to_bytes();
    CHECK(img.size() == 16);  // 8-byte length + "{}" padded to 8
    auto f = safetensors_file::from_bytes("empty", img);
    CHECK(f.size() == 0);
}

TEST_CASE("save is atomic: the file appears complete, replaces an old one, and no temporary file remains") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("model.safetensors");
    zoa_test::write_file(p, {'o', 'l', 'd'});
    const auto w = sample_writer();
    w.save(p);
    CHECK(zoa_test::read_file(p) == w.to_bytes());
    auto f = safetensors_file::open(p);
    CHECK(f.size() == 8);
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 1);
}

TEST_CASE("save into a missing directory is an io error naming the path and leaves nothing behind") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("no/such/dir/model.safetensors");
    try {
        sample_writer().save(p);
        FAIL("saved into a missing directory");
    } catch (const zoa::error& e) {
        CHECK(e.code() == error_code::io);
        CHECK(std::string(e.what()).find(p) != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(p));
}

TEST_CASE("save onto a directory fails with an io error and removes its temporary file") {
    zoa_test::scratch_dir dir;
    const std::string p = dir.file("sub");
    std::filesystem::create_directory(p);
    CHECK_THROWS_AS(sample_writer().save(p), zoa::error);
    std::size_t entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 1);  // only "sub" itself
}

TEST_CASE("writer argument errors") {
    safetensors_writer w;
    w.add("a", {2}, std::vector<float>{1, 2});
    CHECK_THROWS_WITH_AS(w.add("a", {2}, std::vector<float>{1, 2}),
                         "zoa: argument: safetensors_writer: duplicate tensor 'a'", zoa::error);
    CHECK_THROWS_WITH_AS(w.add("b", {2, 2}, std::vector<float>{1, 2}),
                         "zoa: argument: safetensors_writer: tensor 'b': shape [2, 2] has 4 elements, 2 given",
                         zoa::error);
    CHECK_THROWS_WITH_AS(w.add("__metadata__", {1}, std::vector<float>{1}), doctest::Contains("reserved"), zoa::error);
    CHECK_THROWS_WITH_AS(w.add("bad\xff", {1}, std::vector<float>{1}), doctest::Contains("not valid UTF-8"),
                         zoa::error);
    CHECK_THROWS_WITH_AS(w.set_metadata("k", "\xc0\x80"), doctest::Contains("not valid UTF-8"), zoa::error);
    const unsigned char raw[3] = {1, 2, 3};
    CHECK_THROWS_WITH_AS(w.add_raw("r", dtype::f16, {2}, raw, 3), doctest::Contains("3 bytes given"), zoa::error);
    CHECK_THROWS_WITH_AS(w.add_raw("r", dtype::f4, {3}, raw, 2), doctest::Contains("needs 12 bits"), zoa::error);
    const std::vector<std::size_t> huge{std::size_t{1} << 40, std::size_t{1} << 40};
    CHECK_THROWS_WITH_AS(w.add_raw("r", dtype::u8, huge, raw, 0), doctest::Contains("overflows"), zoa::error);
    CHECK(w.size() == 1);  // failed adds leave nothing behind
    CHECK_FALSE(w.contains("b"));
}
